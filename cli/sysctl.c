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
 * changes, so a bad one leaves all filters as they were.  The keys and
 * values themselves are libnetfil's (lib/sysctl.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

struct want {
	bool any, set_match, set_lim[3], set_status;
	struct netfil_match m;
	uint64_t lim[3];
	bool on;
	uint32_t id;	/* the filter acted on, 0: to be created */
};

static int kind_filter(struct netfil *nf, enum netfil_kind kind, struct netfil_filter *f)
{
	uint32_t id = 0;

	netfil_sysctl_filter(nf, kind, &id);
	return id && !netfil_filter_get(nf, id, f) ? 1 : 0;
}

static void print_key(struct netfil *nf, enum netfil_kind kind, enum netfil_sysctl_key k,
		      json_t *obj)
{
	struct netfil_filter f;
	char name[128], val[512];
	int have = kind_filter(nf, kind, &f);

	netfil_sysctl_key_name(kind, k, name, sizeof(name));
	netfil_sysctl_value(have ? &f : NULL, k, val, sizeof(val));
	if (obj)
		json_object_set_new(obj, name, json_string(val));
	else
		printf("%s = %s\n", name, val);
}

/* A parsed KEY=VALUE into what its kind's filter should become. */
static void add_want(const struct netfil_sysctl_arg *a, struct want *w)
{
	w->any = true;
	switch (a->key) {
	case NETFIL_SYSCTL_MATCH:
		w->set_match = true;
		w->m = a->match;
		break;
	case NETFIL_SYSCTL_IBYTE: case NETFIL_SYSCTL_OBYTE: case NETFIL_SYSCTL_IOBYTE:
		w->set_lim[a->key - NETFIL_SYSCTL_IBYTE] = true;
		w->lim[a->key - NETFIL_SYSCTL_IBYTE] = a->size;
		break;
	case NETFIL_SYSCTL_STATUS:
		w->set_status = true;
		w->on = a->on;
		break;
	default:
		break;	/* read-only: the library refused a value */
	}
}

/* Everything that could refuse a change is checked here, before any. */
static int check_want(struct netfil *nf, enum netfil_kind kind, struct want *w,
		      const struct netfil_filter *all, int n)
{
	char name[128];
	int i;

	netfil_sysctl_filter(nf, kind, &w->id);
	if (!w->id && !w->set_match) {
		netfil_sysctl_key_name(kind, NETFIL_SYSCTL_MATCH, name, sizeof(name));
		return fail("there is no %s filter yet: set %s first",
			    netfil_kind_name(kind), name);
	}
	if (!w->set_match)
		return 0;
	for (i = 0; i < n; i++) {
		if (all[i].id == w->id || all[i].match.kind != kind)
			continue;
		if (netfil_match_conflict(&all[i].match, &w->m))
			return fail("a %s filter for that match already exists (id %u)",
				    netfil_kind_name(kind), all[i].id);
	}
	return 0;
}

static int apply_want(struct netfil *nf, enum netfil_kind kind, struct want *w)
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
		return netfil_sysctl_set_filter(nf, kind, w->id);
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
	return netfil_sysctl_set_filter(nf, kind, w->id);
}

/* Every key whose name starts with pfx ("-a": every key). */
static void print_group(struct netfil *nf, const char *pfx, json_t *obj)
{
	char name[128];
	int kind, k;

	for (kind = NETFIL_SOCKET; kind <= NETFIL_IFACE; kind++)
		for (k = 0; k < NETFIL_SYSCTL_NKEYS; k++) {
			netfil_sysctl_key_name((enum netfil_kind)kind, (enum netfil_sysctl_key)k,
					       name, sizeof(name));
			if (!strcmp(pfx, "-a") || is_prefix(pfx, name))
				print_key(nf, (enum netfil_kind)kind, (enum netfil_sysctl_key)k, obj);
		}
}

int do_sysctl(int argc, char **argv)
{
	struct want want[4] = {};
	struct netfil_filter *all = NULL;
	struct netfil_sysctl_arg *args;
	struct netfil_err e;
	struct netfil *nf;
	json_t *obj = NULL;
	int i, kind, n, *res, err = 0;

	if (argc < 1)
		return fail("missing -a, KEY or KEY=VALUE");
	if (open_netfil(&nf))
		return -1;
	args = calloc((size_t)argc, sizeof(*args));
	res = calloc((size_t)argc, sizeof(*res));
	if (!args || !res) {
		err = fail_errno(ENOMEM, "sysctl");
		goto out;
	}
	if (json_output)
		obj = json_object();

	/* Pass 1: parse and validate every argument. */
	for (i = 0; i < argc && !err; i++) {
		if (!strcmp(argv[i], "-a"))
			continue;
		res[i] = netfil_sysctl_parse(argv[i], &args[i], &e);
		if (res[i] && res[i] != -ENOENT)
			err = fail("%s", e.msg);
		else if (!res[i] && args[i].has_value)
			add_want(&args[i], &want[args[i].kind]);
	}
	if (!err && (want[1].any || want[2].any || want[3].any)) {
		n = netfil_filter_list(nf, NULL, 0);
		all = calloc((size_t)n + 1, sizeof(*all));
		n = all ? netfil_filter_list(nf, all, n) : 0;
		for (kind = 1; kind < 4 && !err; kind++)
			if (want[kind].any)
				err = check_want(nf, (enum netfil_kind)kind, &want[kind], all, n);
		/* Pass 2: apply. */
		for (kind = 1; kind < 4 && !err; kind++)
			if (want[kind].any)
				err = apply_want(nf, (enum netfil_kind)kind, &want[kind]);
	}

	/* Pass 3: print what was asked for or set, as sysctl does. */
	for (i = 0; i < argc && !err; i++) {
		if (!strcmp(argv[i], "-a") || res[i] == -ENOENT)
			print_group(nf, argv[i], obj);
		else
			print_key(nf, args[i].kind, args[i].key, obj);
	}
	if (obj) {
		if (!err)
			json_print(obj);
		else
			json_decref(obj);
	}
out:
	free(args);
	free(res);
	free(all);
	netfil_close(nf);
	return err;
}
