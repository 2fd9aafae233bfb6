// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil save [counters]      print the configuration as netfil commands
 * netfil restore { FILE | - } make the configuration exactly that
 *
 * The format and the all-or-nothing restore are libnetfil's (lib/text.c),
 * shared with netfild's state file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

int do_save(int argc, char **argv)
{
	struct netfil *nf;
	unsigned int flags = 0;
	int err;

	if (argc == 1 && !strcmp(argv[0], "counters"))
		flags = NETFIL_SAVE_COUNTERS;
	else if (argc)
		return fail("unknown argument '%s' (only 'counters')", argv[0]);
	if (open_netfil(&nf))
		return -1;
	err = netfil_save(nf, stdout, flags);
	netfil_close(nf);
	return err ? fail_errno(err, "save") : 0;
}

int do_restore(int argc, char **argv)
{
	struct netfil_err e;
	struct netfil *nf;
	FILE *f;
	int err;

	if (argc != 1)
		return fail(argc ? "unexpected argument '%s'" : "missing FILE (or -) after 'restore'",
			    argc ? argv[1] : "");
	if (open_netfil(&nf))
		return -1;
	f = strcmp(argv[0], "-") ? fopen(argv[0], "re") : stdin;
	if (!f) {
		netfil_close(nf);
		return fail("cannot open '%s': %s", argv[0], strerror(errno));
	}
	err = netfil_restore(nf, f, argv[0], 0, &e);
	if (f != stdin)
		fclose(f);
	netfil_close(nf);
	return err ? fail("%s", e.msg) : 0;
}
