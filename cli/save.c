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
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* -j: the configuration as "filter list" shows it (counters included);
 * restore reads the text form only. */
static int save_json(struct netfil *nf)
{
	struct netfil_filter *all;
	int n, err;

	n = netfil_filter_list(nf, NULL, 0);
	if (n < 0)
		return n;
	all = calloc((size_t)n + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = netfil_filter_list(nf, all, n);
	json_doc_begin();
	err = netfil_filters_json_write(all, n, json_out, json_flags());
	json_doc_end();
	free(all);
	return err;
}

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
	err = json_output ? save_json(nf) : netfil_save(nf, stdout, flags);
	netfil_close(nf);
	return err ? fail_errno(err, "save") : 0;
}

/* A stream over what was read (fmemopen takes no empty buffer). */
static FILE *text_file(char *text, size_t len)
{
	return len ? fmemopen(text, len, "r") : fopen("/dev/null", "re");
}

/* The whole input is read and checked before netfil is loaded (if it is
 * not): a bad file changes nothing, not even that. */
int do_restore(int argc, char **argv)
{
	struct netfil_filter *parsed = NULL;
	struct netfil_err e;
	struct netfil *nf;
	char *text = NULL, buf[65536];
	size_t len = 0, n;
	FILE *f, *mem;
	int err, count;

	if (argc != 1)
		return fail(argc ? "unexpected argument '%s'" : "missing FILE (or -) after 'restore'",
			    argc ? argv[1] : "");
	f = strcmp(argv[0], "-") ? fopen(argv[0], "re") : stdin;
	if (!f)
		return fail("cannot open '%s': %s", argv[0], strerror(errno));
	mem = open_memstream(&text, &len);
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	err = !mem || ferror(f);
	if (f != stdin)
		fclose(f);
	if (mem && fclose(mem))
		err = 1;
	if (err) {
		free(text);
		return fail("cannot read '%s'", argv[0]);
	}
	f = text_file(text, len);
	err = f ? netfil_config_parse(f, argv[0], 0, &parsed, &e) : -ENOMEM;
	if (f)
		fclose(f);
	free(parsed);
	if (err < 0) {
		free(text);
		return err == -ENOMEM ? fail_errno(err, "restore") : fail("%s", e.msg);
	}
	if (open_netfil_loading(&nf)) {
		free(text);
		return -1;
	}
	f = text_file(text, len);
	err = f ? netfil_restore(nf, f, argv[0], 0, &e) : -ENOMEM;
	if (f)
		fclose(f);
	count = netfil_filter_list(nf, NULL, 0);
	netfil_close(nf);
	free(text);
	if (err)
		return err == -ENOMEM && !f ? fail_errno(err, "restore") : fail("%s", e.msg);
	if (json_output)
		json_print(json_pack("{s:i}", "filters", count));
	return 0;
}
