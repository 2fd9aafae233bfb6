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
#include <stdlib.h>
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

/* What one kind's filter is to become, from its KEY=VALUE arguments. */
struct want {
	bool any, set_match;
	unsigned int what;	/* NETFIL_SET_* of the limits and status named */
	struct netfil_match m;
	uint64_t lim[3];
	bool on;
};

static int add_want(const struct netfil_sysctl_arg *a, struct want *w, struct netfil_err *e)
{
	char name[64];
	int l;

	netfil_sysctl_key_name(a->kind, a->key, name, sizeof(name));
	w->any = true;
	switch (a->key) {
	case NETFIL_SYSCTL_MATCH:
		if (a->match.kind != a->kind)
			return nf_bad(e, "invalid value for %s", name);
		w->set_match = true;
		w->m = a->match;
		return 0;
	case NETFIL_SYSCTL_IBYTE: case NETFIL_SYSCTL_OBYTE: case NETFIL_SYSCTL_IOBYTE:
		l = a->key - NETFIL_SYSCTL_IBYTE;
		w->lim[l] = a->size;
		w->what |= NETFIL_SET_LIMIT(l);
		return 0;
	case NETFIL_SYSCTL_STATUS:
		w->on = a->on;
		w->what |= NETFIL_SET_ON;
		return 0;
	default:
		return nf_bad(e, "key '%s' is read-only", name);
	}
}

/* e->msg from fmt, and err returned as it is. */
static int refuse(struct netfil_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct netfil_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

/* Another filter of the kind with a match that m would share. */
static int check_conflict(struct netfil *nf, enum netfil_kind kind, uint32_t self,
			  const struct netfil_match *m, struct netfil_err *e)
{
	struct netfil_filter *all;
	int i, n, err = 0;

	n = netfil_filter_list(nf, NULL, 0);
	if (n < 0)
		return refuse(e, n, "listing filters: %s", strerror(-n));
	all = calloc((size_t)n + 1, sizeof(*all));
	if (!all)
		return refuse(e, -ENOMEM, "listing filters: %s", strerror(ENOMEM));
	n = netfil_filter_list(nf, all, n);
	for (i = 0; i < n && !err; i++)
		if (all[i].id != self && all[i].match.kind == kind &&
		    netfil_match_conflict(&all[i].match, m))
			err = refuse(e, -EEXIST, "another %s filter (id %u) already has that match",
				     netfil_kind_name(kind), all[i].id);
	free(all);
	return err;
}

static int step_error(struct netfil_err *e, int err, const char *step, enum netfil_kind kind,
		      const struct netfil_match *m, uint32_t dup)
{
	char buf[256];

	netfil_format_match(m, buf, sizeof(buf));
	switch (err) {
	case -EEXIST:
		return refuse(e, err, "another %s filter (id %u) already has that match",
			      netfil_kind_name(kind), dup);
	case -ESRCH:
		return refuse(e, err, "no process with pid '%d'", m->pid);
	case -EXDEV:
		return refuse(e, err, "process '%d' is outside netfil's cgroup: its sockets are never counted",
			      m->pid);
	case -ENODEV:
		return refuse(e, err, "unknown interface in '%s'", buf);
	case -ENOSPC:
		return refuse(e, err, "no room for another filter like '%s'", buf);
	}
	return refuse(e, err, "%s filter: %s", step, strerror(-err));
}

/* One kind's step of the change, the lock held. */
static int apply_kind(struct netfil *nf, enum netfil_kind kind, const struct want *w,
		      uint32_t *id, struct netfil_err *e)
{
	struct netfil_filter f = { .on = false, .action = NETFIL_REJECT };
	uint32_t dup = 0;
	char name[64];
	int err, i;

	netfil_sysctl_filter(nf, kind, id);
	if (!*id && !w->set_match) {
		netfil_sysctl_key_name(kind, NETFIL_SYSCTL_MATCH, name, sizeof(name));
		return nf_bad(e, "there is no %s filter yet: set %s first",
			      netfil_kind_name(kind), name);
	}
	if (w->set_match) {
		err = check_conflict(nf, kind, *id, &w->m, e);
		if (err)
			return err;
	}
	for (i = 0; i < 3; i++)
		f.limit[i] = w->lim[i];
	f.on = (w->what & NETFIL_SET_ON) && w->on;
	if (!*id) {
		/* switched off unless status=1 came with it, as the original */
		f.match = w->m;
		err = nf_filter_add_locked(nf, &f, &dup);
		if (!err)
			*id = dup;
		return err ? step_error(e, err, "creating", kind, &w->m, dup) : 0;
	}
	if (w->set_match) {
		err = nf_filter_rematch_locked(nf, *id, &w->m);
		if (err)
			return step_error(e, err, "changing", kind, &w->m, 0);
	}
	if (!w->what)
		return 0;
	f.id = *id;
	err = nf_filter_change_locked(nf, &f, w->what);
	return err ? refuse(e, err, "changing filter: %s", strerror(-err)) : 0;
}

int netfil_sysctl_apply(struct netfil *nf, const struct netfil_sysctl_arg *args, int n,
			struct netfil_err *e)
{
	struct want want[4] = {};
	uint32_t id[4] = {};
	int i, k, err = 0, end;
	bool any = false;

	for (i = 0; i < n; i++) {
		if (!args[i].has_value)
			continue;
		if (!valid_kind(args[i].kind))
			return nf_bad(e, "unknown kind %d", (int)args[i].kind);
		err = add_want(&args[i], &want[args[i].kind], e);
		if (err)
			return err;
		any = true;
	}
	if (!any)
		return 0;
	/* One change: a later kind's step that fails undoes the earlier ones. */
	err = nf_change_begin(nf);
	if (err)
		return refuse(e, err, "taking the change lock: %s", strerror(-err));
	for (k = NETFIL_SOCKET; k <= NETFIL_IFACE && !err; k++)
		if (want[k].any)
			err = apply_kind(nf, (enum netfil_kind)k, &want[k], &id[k], e);
	for (k = NETFIL_SOCKET; k <= NETFIL_IFACE && !err; k++)
		if (want[k].any)
			netfil_sysctl_set_filter(nf, (enum netfil_kind)k, id[k]);
	end = nf_change_end(nf, err);
	if (!err && end)
		refuse(e, end, "committing: %s", strerror(-end));
	return err ?: end;
}
