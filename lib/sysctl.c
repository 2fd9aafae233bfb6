// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The original's net.netfil.<kind>.<key>[=VALUE] arguments: key lookup,
 * value parsing and the values shown, for any front end.  Values go
 * through the library's own parsers, so "1M" or "10.0.0.0/8" mean here
 * what they mean in "filter add", and the words are lib/names.c's.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

static const char *const match_keys[4] = { NULL, "pid", "addr", "list" };


static bool valid_kind(enum netfil_kind kind)
{
	return kind == NETFIL_SOCKET || kind == NETFIL_IP || kind == NETFIL_IFACE;
}

/* The part after "net.netfil.<kind>.": sysctl's own words for the match,
 * status and id; the limit and counter names everything else uses. */
static void key_suffix(enum netfil_kind kind, enum netfil_sysctl_key key, char *buf, size_t len)
{
	switch (key) {
	case NETFIL_SYSCTL_MATCH:
		snprintf(buf, len, "%s", match_keys[kind]);
		return;
	case NETFIL_SYSCTL_IBYTE: case NETFIL_SYSCTL_OBYTE: case NETFIL_SYSCTL_IOBYTE:
		snprintf(buf, len, "%s", netfil_limit_name((enum netfil_limit)(key - NETFIL_SYSCTL_IBYTE)));
		return;
	case NETFIL_SYSCTL_STATUS:
		snprintf(buf, len, "status");
		return;
	case NETFIL_SYSCTL_ID:
		snprintf(buf, len, "id");
		return;
	case NETFIL_SYSCTL_BYTES_IN: case NETFIL_SYSCTL_BYTES_OUT:
		netfil_counter_key(NETFIL_C_BYTES, key - NETFIL_SYSCTL_BYTES_IN, '_', buf, len);
		return;
	case NETFIL_SYSCTL_DROPPED_IN: case NETFIL_SYSCTL_DROPPED_OUT:
		netfil_counter_key(NETFIL_C_DROPPED, key - NETFIL_SYSCTL_DROPPED_IN, '_', buf, len);
		return;
	default:
		netfil_counter_key(NETFIL_C_EXCEEDED, key - NETFIL_SYSCTL_EXCEEDED_IN, '_', buf, len);
		return;
	}
}

int netfil_sysctl_key_name(enum netfil_kind kind, enum netfil_sysctl_key key,
			   char *buf, size_t len)
{
	char suffix[32];
	int n;

	if (!valid_kind(kind) || (unsigned int)key >= NETFIL_SYSCTL_NKEYS)
		return -EINVAL;
	key_suffix(kind, key, suffix, sizeof(suffix));
	n = snprintf(buf, len, "net.netfil.%s.%s", netfil_kind_name(kind), suffix);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* name[0..len) is exactly one key's full name. */
static int lookup(const char *name, size_t len, enum netfil_kind *kind,
		  enum netfil_sysctl_key *key)
{
	char buf[64];
	int i, j;

	for (i = NETFIL_SOCKET; i <= NETFIL_IFACE; i++)
		for (j = 0; j < NETFIL_SYSCTL_NKEYS; j++) {
			netfil_sysctl_key_name((enum netfil_kind)i, (enum netfil_sysctl_key)j,
					       buf, sizeof(buf));
			if (strlen(buf) == len && !strncmp(buf, name, len)) {
				*kind = (enum netfil_kind)i;
				*key = (enum netfil_sysctl_key)j;
				return 0;
			}
		}
	return -ENOENT;
}

/* "net", "net.netfil", "net.netfil.i", "net.netfil.ip": a leading part of
 * some "net.netfil.<kind>", which stands for all of its keys. */
static bool is_group(const char *arg)
{
	char buf[32];
	int i;

	if (!*arg)
		return false;
	for (i = NETFIL_SOCKET; i <= NETFIL_IFACE; i++) {
		snprintf(buf, sizeof(buf), "net.netfil.%s", netfil_kind_name((enum netfil_kind)i));
		if (!strncmp(buf, arg, strlen(arg)))
			return true;
	}
	return false;
}

static int parse_match(enum netfil_kind kind, const char *key, const char *val,
		       struct netfil_match *m, struct netfil_err *e)
{
	char *argv[2] = { (char *)"interface", (char *)val };
	int i;

	m->kind = kind;
	if (kind == NETFIL_SOCKET)
		return netfil_parse_pid(val, &m->pid, e) ? -EINVAL : 0;
	if (kind == NETFIL_IP)
		return netfil_parse_prefix(val, m) ?
		       nf_bad(e, "invalid address '%s' for %s", val, key) : 0;
	if (netfil_parse_match(2, argv, m, e) < 0)
		return -EINVAL;
	/* no --allow-missing here: a typo would wait silently */
	for (i = 0; i < m->n_ifaces; i++)
		if (!if_nametoindex(m->ifaces[i]))
			return nf_bad(e, "unknown interface '%s' for %s", m->ifaces[i], key);
	return 0;
}

int netfil_sysctl_parse(const char *arg, struct netfil_sysctl_arg *out,
			struct netfil_err *e)
{
	const char *eq, *val;
	char key[64];
	size_t len;
	int err;

	memset(out, 0, sizeof(*out));
	if (!arg)
		return nf_bad(e, "missing key");
	eq = strchr(arg, '=');
	len = eq ? (size_t)(eq - arg) : strlen(arg);
	if (lookup(arg, len, &out->kind, &out->key)) {
		if (!eq && is_group(arg)) {
			snprintf(e->msg, sizeof(e->msg), "'%s' names a group of keys", arg);
			return -ENOENT;
		}
		return nf_bad(e, "unknown key '%.*s'", len > 200 ? 200 : (int)len, arg);
	}
	if (!eq)
		return 0;
	/* a key found is at most sizeof(key) - 1 long */
	snprintf(key, sizeof(key), "%.*s", (int)len, arg);
	val = eq + 1;
	out->has_value = true;
	switch (out->key) {
	case NETFIL_SYSCTL_MATCH:
		return parse_match(out->kind, key, val, &out->match, e);
	case NETFIL_SYSCTL_IBYTE: case NETFIL_SYSCTL_OBYTE: case NETFIL_SYSCTL_IOBYTE:
		err = netfil_parse_size(val, &out->size);
		if (err == -ERANGE)
			return nf_bad(e, "size '%s' for %s overflows 64 bits", val, key);
		return err ? nf_bad(e, "invalid size '%s' for %s", val, key) : 0;
	case NETFIL_SYSCTL_STATUS:
		if (!strcmp(val, "1") || !strcmp(val, "on"))
			out->on = true;
		else if (!strcmp(val, "0") || !strcmp(val, "off"))
			out->on = false;
		else
			return nf_bad(e, "invalid value '%s' for %s (0 or 1)", val, key);
		return 0;
	default:
		return nf_bad(e, "key '%s' is read-only", key);
	}
}

int netfil_sysctl_value(const struct netfil_filter *f, enum netfil_sysctl_key key,
			char *buf, size_t len)
{
	unsigned long long v = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	switch (key) {
	case NETFIL_SYSCTL_MATCH:
		if (f && f->match.kind == NETFIL_SOCKET)
			snprintf(buf, len, "%d", f->match.pid);
		else if (f)
			netfil_format_match(&f->match, buf, len);
		return 0;
	case NETFIL_SYSCTL_IBYTE: case NETFIL_SYSCTL_OBYTE: case NETFIL_SYSCTL_IOBYTE:
		v = f ? f->limit[key - NETFIL_SYSCTL_IBYTE] : 0;
		break;
	case NETFIL_SYSCTL_STATUS:
		v = f && f->on;
		break;
	case NETFIL_SYSCTL_ID:
		v = f ? f->id : 0;
		break;
	case NETFIL_SYSCTL_BYTES_IN: case NETFIL_SYSCTL_BYTES_OUT:
		v = f ? f->bytes[key - NETFIL_SYSCTL_BYTES_IN] : 0;
		break;
	case NETFIL_SYSCTL_DROPPED_IN: case NETFIL_SYSCTL_DROPPED_OUT:
		v = f ? f->dropped[key - NETFIL_SYSCTL_DROPPED_IN] : 0;
		break;
	case NETFIL_SYSCTL_EXCEEDED_IN: case NETFIL_SYSCTL_EXCEEDED_OUT:
		v = f && f->exceeded[key - NETFIL_SYSCTL_EXCEEDED_IN];
		break;
	default:
		return -EINVAL;
	}
	snprintf(buf, len, "%llu", v);
	return 0;
}
