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
 * changes, and all of them are applied as one change (a failing step
 * undoes the others), so a bad one leaves all filters as they were.  The
 * keys, values and the change itself are libnetfil's (lib/sysctl.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

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
	struct netfil_sysctl_arg *args;
	struct netfil *nf = NULL;
	struct netfil_err e;
	json_t *obj = NULL;
	int i, *res, err = 0;
	bool change = false;

	if (argc < 1)
		return fail("missing -a, KEY or KEY=VALUE");
	args = calloc((size_t)argc, sizeof(*args));
	res = calloc((size_t)argc, sizeof(*res));
	if (!args || !res) {
		err = fail_errno(ENOMEM, "sysctl");
		goto out;
	}
	/* Pass 1: every argument parsed before anything is opened, let
	 * alone loaded: a bad one changes nothing. */
	for (i = 0; i < argc && !err; i++) {
		if (!strcmp(argv[i], "-a"))
			continue;
		res[i] = netfil_sysctl_parse(argv[i], &args[i], &e);
		if (res[i] && res[i] != -ENOENT)
			err = fail("%s", e.msg);
		change |= !res[i] && args[i].has_value;
	}
	/* a change loads netfil, as "filter add" does; a read only reports */
	if (err || (change ? open_netfil_loading(&nf) : open_netfil(&nf))) {
		err = -1;
		goto out;
	}
	/* Pass 2: every KEY=VALUE as one change (lib/sysctl.c). */
	if (change && netfil_sysctl_apply(nf, args, argc, &e)) {
		err = fail("%s", e.msg);
		goto out;
	}
	/* Pass 3: print what was asked for or set, as sysctl does. */
	if (json_output)
		obj = json_object();
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-a") || res[i] == -ENOENT)
			print_group(nf, argv[i], obj);
		else
			print_key(nf, args[i].kind, args[i].key, obj);
	}
	if (obj)
		json_print(obj);
out:
	free(args);
	free(res);
	if (nf)
		netfil_close(nf);
	return err;
}
