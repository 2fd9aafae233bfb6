// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil sysctl: the original's net.netfil.* keys, one filter per kind.
 *
 *   net.netfil.{socket.pid | ip.addr | interface.list}   what it matches
 *   net.netfil.<kind>.{ibyte,obyte,iobyte,status}         read-write
 *   net.netfil.<kind>.{id,bytes_in,bytes_out,dropped_in,
 *                      dropped_out,exceeded_in,exceeded_out}  read-only
 *
 * As in the original, setting the match creates the filter switched off;
 * "status=1" turns it on.  Every KEY=VALUE is checked before anything
 * changes, so a bad one leaves all filters as they were.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

enum key { K_MATCH, K_IBYTE, K_OBYTE, K_IOBYTE, K_STATUS, K_ID, K_BYTES_IN,
	   K_BYTES_OUT, K_DROPPED_IN, K_DROPPED_OUT, K_EXCEEDED_IN,
	   K_EXCEEDED_OUT, K_MAX };

static const char *const key_names[K_MAX] = {
	NULL, "ibyte", "obyte", "iobyte", "status", "id", "bytes_in",
	"bytes_out", "dropped_in", "dropped_out", "exceeded_in", "exceeded_out",
};
static const char *const kinds[4] = { NULL, "socket", "ip", "interface" };
static const char *const match_keys[4] = { NULL, "pid", "addr", "list" };

struct want {
	bool any, set_match, set_lim[3], set_status;
	struct netfil_match m;
	uint64_t lim[3];
	bool on;
	uint32_t id;	/* the filter acted on, 0: to be created */
};

static const char *key_suffix(enum key k, int kind)
{
	return k == K_MATCH ? match_keys[kind] : key_names[k];
}

static void key_name(char *buf, size_t len, int kind, enum key k)
{
	snprintf(buf, len, "net.netfil.%s.%s", kinds[kind], key_suffix(k, kind));
}

/* "net.netfil.ip.ibyte" -> kind 2, K_IBYTE. */
static int lookup_key(const char *name, size_t len, int *kind, enum key *k)
{
	char buf[128];
	int i, j;

	for (i = 1; i < 4; i++) {
		for (j = 0; j < K_MAX; j++) {
			key_name(buf, sizeof(buf), i, (enum key)j);
			if (strlen(buf) == len && !strncmp(buf, name, len)) {
				*kind = i;
				*k = (enum key)j;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static void value_str(const struct netfil_filter *f, enum key k, char *buf, size_t len)
{
	int i;
	size_t off = 0;

	buf[0] = '\0';
	switch (k) {
	case K_MATCH:
		if (!f)
			return;
		if (f->match.kind == NETFIL_SOCKET) {
			snprintf(buf, len, "%d", f->match.pid);
		} else if (f->match.kind == NETFIL_IP) {
			netfil_format_prefix(&f->match, buf, len);
		} else {
			for (i = 0; i < f->match.n_ifaces && off < len; i++)
				off += (size_t)snprintf(buf + off, len - off, "%s%s",
							i ? "," : "", f->match.ifaces[i]);
		}
		return;
	case K_IBYTE: case K_OBYTE: case K_IOBYTE:
		snprintf(buf, len, "%llu", f ? (unsigned long long)f->limit[k - K_IBYTE] : 0ULL);
		return;
	case K_STATUS:
		snprintf(buf, len, "%d", f ? f->on : 0);
		return;
	case K_ID:
		snprintf(buf, len, "%u", f ? f->id : 0);
		return;
	case K_BYTES_IN: case K_BYTES_OUT:
		snprintf(buf, len, "%llu", f ? (unsigned long long)f->bytes[k - K_BYTES_IN] : 0ULL);
		return;
	case K_DROPPED_IN: case K_DROPPED_OUT:
		snprintf(buf, len, "%llu", f ? (unsigned long long)f->dropped[k - K_DROPPED_IN] : 0ULL);
		return;
	case K_EXCEEDED_IN: case K_EXCEEDED_OUT:
		snprintf(buf, len, "%d", f ? f->exceeded[k - K_EXCEEDED_IN] : 0);
		return;
	default:
		return;
	}
}

static int kind_filter(struct netfil *nf, int kind, struct netfil_filter *f)
{
	uint32_t id = 0;

	netfil_sysctl_filter(nf, (enum netfil_kind)kind, &id);
	return id && !netfil_filter_get(nf, id, f) ? 1 : 0;
}

static void print_key(struct netfil *nf, int kind, enum key k, json_t *obj)
{
	struct netfil_filter f;
	char name[128], val[512];
	int have = kind_filter(nf, kind, &f);

	key_name(name, sizeof(name), kind, k);
	value_str(have ? &f : NULL, k, val, sizeof(val));
	if (obj)
		json_object_set_new(obj, name, json_string(val));
	else
		printf("%s = %s\n", name, val);
}

static int parse_value(int kind, enum key k, const char *key, const char *val,
		       struct want *w)
{
	char *argv[2] = { (char *)"interface", (char *)val };
	int err;

	w->any = true;
	switch (k) {
	case K_MATCH:
		w->set_match = true;
		w->m.kind = (enum netfil_kind)kind;
		if (kind == NETFIL_SOCKET)
			return parse_pid(val, &w->m.pid);
		if (kind == NETFIL_IP) {
			err = netfil_parse_prefix(val, &w->m);
			return err ? fail("invalid address '%s' for %s", val, key) : 0;
		}
		if (parse_match(2, argv, &w->m) < 0)
			return -1;
		for (err = 0; err < w->m.n_ifaces; err++)
			if (!if_nametoindex(w->m.ifaces[err]))
				return fail("unknown interface '%s' for %s", w->m.ifaces[err], key);
		return 0;
	case K_IBYTE: case K_OBYTE: case K_IOBYTE:
		w->set_lim[k - K_IBYTE] = true;
		err = netfil_parse_size(val, &w->lim[k - K_IBYTE]);
		if (err == -ERANGE)
			return fail("size '%s' for %s overflows 64 bits", val, key);
		return err ? fail("invalid size '%s' for %s", val, key) : 0;
	case K_STATUS:
		w->set_status = true;
		if (!strcmp(val, "1") || !strcmp(val, "on"))
			w->on = true;
		else if (!strcmp(val, "0") || !strcmp(val, "off"))
			w->on = false;
		else
			return fail("invalid value '%s' for %s (0 or 1)", val, key);
		return 0;
	default:
		return fail("key '%s' is read-only", key);
	}
}

/* Everything that could refuse a change is checked here, before any. */
static int check_want(struct netfil *nf, int kind, struct want *w,
		      const struct netfil_filter *all, int n)
{
	char name[128];
	int i;

	netfil_sysctl_filter(nf, (enum netfil_kind)kind, &w->id);
	if (!w->id && !w->set_match) {
		key_name(name, sizeof(name), kind, K_MATCH);
		return fail("there is no %s filter yet: set %s first", kinds[kind], name);
	}
	if (!w->set_match)
		return 0;
	for (i = 0; i < n; i++) {
		if (all[i].id == w->id || (int)all[i].match.kind != kind)
			continue;
		if (netfil_match_conflict(&all[i].match, &w->m))
			return fail("a %s filter for that match already exists (id %u)",
				    kinds[kind], all[i].id);
	}
	return 0;
}

static int apply_want(struct netfil *nf, int kind, struct want *w)
{
	struct netfil_filter f = { .on = false, .action = NETFIL_REJECT };
	int err, i;

	if (!w->id) {
		f.match = w->m;
		for (i = 0; i < 3; i++)
			f.limit[i] = w->lim[i];
		f.on = w->set_status && w->on;
		err = netfil_filter_add(nf, &f, &w->id);
		if (err)
			return fail_errno(err, "creating filter");
		return netfil_sysctl_set_filter(nf, (enum netfil_kind)kind, w->id);
	}
	if (w->set_match) {
		err = netfil_filter_rematch(nf, w->id, &w->m);
		if (err)
			return fail_errno(err, "changing filter");
	}
	err = netfil_filter_get(nf, w->id, &f);
	if (err)
		return fail_errno(err, "reading filter");
	for (i = 0; i < 3; i++)
		if (w->set_lim[i])
			f.limit[i] = w->lim[i];
	if (w->set_status)
		f.on = w->on;
	err = netfil_filter_set(nf, &f);
	if (err)
		return fail_errno(err, "changing filter");
	return netfil_sysctl_set_filter(nf, (enum netfil_kind)kind, w->id);
}

int do_sysctl(int argc, char **argv)
{
	struct want want[4] = {};
	struct netfil_filter *all = NULL;
	struct netfil *nf;
	json_t *obj = NULL;
	int i, j, kind, n, err = 0;
	enum key k;

	if (argc < 1)
		return fail("missing -a, KEY or KEY=VALUE");
	if (open_netfil(&nf))
		return -1;
	if (json_output)
		obj = json_object();

	/* Pass 1: parse and validate every argument. */
	for (i = 0; i < argc && !err; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (!strcmp(argv[i], "-a"))
			continue;
		if (lookup_key(argv[i], len, &kind, &k)) {
			char pfx[128];
			bool found = false;

			for (j = 1; j < 4 && !eq; j++) {
				snprintf(pfx, sizeof(pfx), "net.netfil.%s", kinds[j]);
				found |= is_prefix(argv[i], pfx) || !strcmp(argv[i], "net.netfil");
			}
			if (!found)
				err = fail("unknown key '%.*s'", (int)len, argv[i]);
			continue;
		}
		if (eq) {
			char key[128];

			snprintf(key, sizeof(key), "%.*s", (int)len, argv[i]);
			err = parse_value(kind, k, key, eq + 1, &want[kind]);
		}
	}
	if (!err && (want[1].any || want[2].any || want[3].any)) {
		n = netfil_filter_list(nf, NULL, 0);
		all = calloc((size_t)n + 1, sizeof(*all));
		n = all ? netfil_filter_list(nf, all, n) : 0;
		for (kind = 1; kind < 4 && !err; kind++)
			if (want[kind].any)
				err = check_want(nf, kind, &want[kind], all, n);
		/* Pass 2: apply. */
		for (kind = 1; kind < 4 && !err; kind++)
			if (want[kind].any)
				err = apply_want(nf, kind, &want[kind]);
	}

	/* Pass 3: print what was asked for or set, as sysctl does. */
	for (i = 0; i < argc && !err; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (!strcmp(argv[i], "-a") || lookup_key(argv[i], len, &kind, &k)) {
			for (kind = 1; kind < 4; kind++)
				for (j = 0; j < K_MAX; j++) {
					char name[128];

					key_name(name, sizeof(name), kind, (enum key)j);
					if (!strcmp(argv[i], "-a") || is_prefix(argv[i], name))
						print_key(nf, kind, (enum key)j, obj);
				}
			continue;
		}
		print_key(nf, kind, k, obj);
	}
	if (obj) {
		if (!err)
			json_print(obj);
		else
			json_decref(obj);
	}
	free(all);
	netfil_close(nf);
	return err;
}
