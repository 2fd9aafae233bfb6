// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The restore/batch parser on whole files.  Properties:
 *  - netfil_text_line() never returns a word with a control character;
 *  - whatever netfil_config_parse() accepts, netfil_config_write() writes
 *    so that it parses again to equal filters (what netfil save, netfild's
 *    state file and netfil restore rely on).
 * With -DFUZZ_TOLERATE_KNOWN the round trip steps around defects already
 * reported (see the comments), so that a long run can find new ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include "netfil.h"
#include "fuzz.h"
#include "../unit/filter_cmp.h"

static FILE *open_data(const uint8_t *data, size_t size)
{
	/* fmemopen() refuses 0 bytes; one newline reads the same */
	return size ? fmemopen((void *)data, size, "r") : fmemopen((void *)"\n", 1, "r");
}

static void check_words(const uint8_t *data, size_t size)
{
	FILE *in = open_data(data, size);
	char *buf = NULL, *argv[64];
	struct netfil_err e;
	size_t cap = 0;
	int r, i, argc, lines = 0;

	if (!in)
		return;
	while ((r = netfil_text_line(in, &buf, &cap, argv, 64, &argc, &e)) != 0 && lines++ < 100000) {
		if (r < 0) {
			PROPERTY(r == -EINVAL, "text_line returned %d", r);
			PROPERTY_MSG(e.msg, "");
			continue;	/* the bad line is consumed */
		}
		PROPERTY(argc >= 0 && argc <= 64, "argc %d", argc);
		for (i = 0; i < argc; i++) {
			const unsigned char *p;

			PROPERTY(argv[i][0], "empty word %d", i);
			for (p = (const unsigned char *)argv[i]; *p; p++)
				PROPERTY(*p >= 0x20 && *p != 0x7f && *p != '#',
					 "word '%s' holds 0x%02x", argv[i], *p);
		}
	}
	free(buf);
	fclose(in);
}

#ifdef FUZZ_TOLERATE_KNOWN
/* Reported: config_write writes "id 0" (and no counters can name it) and
 * "start 0" for what a hand-written file leaves to netfil; neither reads
 * back. */
static void step_around_known(struct netfil_filter *f, int n)
{
	uint32_t next = 0;
	int i;

	for (i = 0; i < n; i++)
		next = f[i].id > next ? f[i].id : next;
	for (i = 0; i < n; i++) {
		if (!f[i].id && next < UINT32_MAX)
			f[i].id = ++next;
		if (f[i].match.kind == NETFIL_SOCKET && !f[i].match.start)
			netfil_proc_start(f[i].match.pid, &f[i].match.start);
	}
}
#endif

static void check_round_trip(const uint8_t *data, size_t size)
{
	struct netfil_filter *f = NULL, *g = NULL;
	struct netfil_err e = {}, e2 = {};
	char *text = NULL;
	size_t len = 0;
	FILE *in = open_data(data, size), *w, *r;
	const char *d;
	int n, n2, i;

	if (!in)
		return;
	n = netfil_config_parse(in, "fuzz", 0, &f, &e);
	fclose(in);
	if (n < 0) {
		PROPERTY(n == -EINVAL, "parse returned %d", n);
		PROPERTY_MSG(e.msg, "");
		PROPERTY(!strncmp(e.msg, "fuzz:", 5), "'%s' names no file", e.msg);
		return;
	}
#ifdef FUZZ_TOLERATE_KNOWN
	step_around_known(f, n);
#endif
	w = open_memstream(&text, &len);
	PROPERTY(w && !netfil_config_write(w, f, n, NETFIL_SAVE_COUNTERS), "write");
	fclose(w);
	r = fmemopen(text, len, "r");
	n2 = netfil_config_parse(r, "fuzz-again", 0, &g, &e2);
	fclose(r);
	PROPERTY(n2 == n, "%d filters read back as %d (%s); the text:\n%s", n, n2,
		 n2 < 0 ? e2.msg : "", text);
	for (i = 0; i < n; i++) {
		d = filter_diff(&f[i], &g[i]);
		PROPERTY(!d, "filter %d: %s differs; the text:\n%s", i, d, text);
	}
	free(text);
	free(f);
	free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	check_words(data, size);
	check_round_trip(data, size);
	return 0;
}
