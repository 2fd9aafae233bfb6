// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil save [counters]     print the configuration as netfil commands
 * netfil restore { FILE | - } make the configuration exactly that
 *
 * The format is the command line's own, one filter per line, as
 * "nft list ruleset" / "nft -f" and iptables-save / iptables-restore do:
 *
 *   filter add id 3 ip 10.0.0.0/8 ibyte 1048576 obyte 0 iobyte 0 action reject on
 *   filter add id 4 socket pid 812 start 5521 obyte 10485760 ... on
 *   counters 3 bytes-in 1234 bytes-out 99 packets-in 3 packets-out 2 dropped-in 0
 *            dropped-out 0 exceeded none exceeded-at-in 0 exceeded-at-out 0   (one line)
 *
 * A socket filter names its process by pid and start time, so a restore
 * never lands on another process that got the same pid.  Restore is
 * atomic: every line is checked first (an error names FILE:LINE), and if
 * applying fails halfway the previous configuration is put back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

struct item {
	struct netfil_filter f;
	bool counters;
	int line;
};

static void print_match(const struct netfil_match *m)
{
	char buf[128];
	int i;

	switch (m->kind) {
	case NETFIL_SOCKET:
		printf(" socket %s %d start %llu", m->tree ? "tree" : "pid", m->pid,
		       (unsigned long long)m->start);
		break;
	case NETFIL_IP:
		netfil_format_prefix(m, buf, sizeof(buf));
		printf(" ip %s", buf);
		break;
	case NETFIL_IFACE:
		for (i = 0; i < m->n_ifaces; i++)
			printf("%s%s", i ? "," : " interface ", m->ifaces[i]);
		break;
	}
}

static const char *exceeded_str(const bool *e)
{
	return e[0] && e[1] ? "in,out" : e[0] ? "in" : e[1] ? "out" : "none";
}

int do_save(int argc, char **argv)
{
	struct netfil_filter *all;
	struct netfil *nf;
	char now[32];
	time_t t = time(NULL);
	bool counters = false;
	int n, i;

	if (argc == 1 && !strcmp(argv[0], "counters"))
		counters = true;
	else if (argc)
		return fail("unknown argument '%s' (only 'counters')", argv[0]);
	if (open_netfil(&nf))
		return -1;
	n = netfil_filter_list(nf, NULL, 0);
	all = calloc((size_t)n + 1, sizeof(*all));
	n = all ? netfil_filter_list(nf, all, n) : 0;
	netfil_close(nf);
	if (!all)
		return fail_errno(ENOMEM, "save");
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	printf("# netfil configuration, saved %s%s\n", now, counters ? " with counters" : "");
	for (i = 0; i < n; i++) {
		const struct netfil_filter *f = &all[i];

		printf("filter add id %u", f->id);
		print_match(&f->match);
		printf(" ibyte %llu obyte %llu iobyte %llu", (unsigned long long)f->limit[0],
		       (unsigned long long)f->limit[1], (unsigned long long)f->limit[2]);
		if (f->match.kind != NETFIL_IFACE)
			printf(" action %s", f->action == NETFIL_DROP ? "drop" : "reject");
		if (f->period.every != NETFIL_PERIOD_NONE) {
			char p[64];

			period_str(&f->period, p, sizeof(p));
			printf(" period %s", p);
		}
		printf(" %s\n", f->on ? "on" : "off");
		if (counters)
			printf("counters %u bytes-in %llu bytes-out %llu packets-in %llu "
			       "packets-out %llu dropped-in %llu dropped-out %llu exceeded %s "
			       "exceeded-at-in %llu exceeded-at-out %llu period-last %lld\n",
			       f->id, (unsigned long long)f->bytes[0], (unsigned long long)f->bytes[1],
			       (unsigned long long)f->packets[0], (unsigned long long)f->packets[1],
			       (unsigned long long)f->dropped[0], (unsigned long long)f->dropped[1],
			       exceeded_str(f->exceeded), (unsigned long long)f->exceeded_at[0],
			       (unsigned long long)f->exceeded_at[1], (long long)f->period.last);
	}
	free(all);
	return 0;
}

static int parse_u64_arg(const char *key, const char *val, uint64_t *out)
{
	char *end;

	if (!val)
		return fail("missing value after '%s'", key);
	errno = 0;
	*out = strtoull(val, &end, 10);
	if (*val < '0' || *val > '9' || *end || errno)
		return fail("invalid number '%s' for %s", val, key);
	return 0;
}

/* "filter add id N MATCH [start T] OPTIONS" */
static int parse_filter_line(int argc, char **argv, struct item *it)
{
	struct netfil_filter *f = &it->f;
	uint64_t start;
	int n, r;

	if (argc < 4 || strcmp(argv[2], "id") || parse_u32(argv[3], &f->id) || !f->id)
		return fail("expected 'filter add id ID ...', got '%s'", argc > 3 ? argv[3] : argv[argc - 1]);
	argc -= 4;
	argv += 4;
	f->on = true;
	n = parse_match(argc, argv, &f->match);
	if (n < 0)
		return -1;
	if (f->match.kind == NETFIL_SOCKET && n < argc && !strcmp(argv[n], "start")) {
		if (parse_u64_arg("start", n + 1 < argc ? argv[n + 1] : NULL, &f->match.start))
			return -1;
		if (netfil_proc_start(f->match.pid, &start) || start != f->match.start)
			return fail("process %d started at %llu is gone", f->match.pid,
				    (unsigned long long)f->match.start);
		n += 2;
	}
	r = parse_filter_opts(argc - n, argv + n, f, f->match.kind != NETFIL_IFACE, true);
	if (r < 0)
		return -1;
	if (r != argc - n)
		return fail("unexpected argument '%s'", argv[n + r]);
	return 0;
}

/* "counters ID bytes-in N ... exceeded none|in|out|in,out" */
static int parse_counters_line(int argc, char **argv, struct item *items, int n)
{
	static const char *const keys[9] = { "bytes-in", "bytes-out", "packets-in",
					     "packets-out", "dropped-in", "dropped-out",
					     "exceeded-at-in", "exceeded-at-out", "period-last" };
	struct netfil_filter *f = NULL;
	uint64_t *dst[9];
	uint32_t id;
	int i, k;

	if (argc < 2 || parse_u32(argv[1], &id))
		return fail("expected 'counters ID ...', got '%s'", argc > 1 ? argv[1] : argv[0]);
	for (i = 0; i < n; i++)
		if (items[i].f.id == id)
			f = &items[i].f;
	if (!f)
		return fail("counters for filter '%s', which no earlier line adds", argv[1]);
	dst[0] = &f->bytes[0]; dst[1] = &f->bytes[1];
	dst[2] = &f->packets[0]; dst[3] = &f->packets[1];
	dst[4] = &f->dropped[0]; dst[5] = &f->dropped[1];
	dst[6] = &f->exceeded_at[0]; dst[7] = &f->exceeded_at[1];
	dst[8] = (uint64_t *)&f->period.last;
	for (i = 2; i < argc; i += 2) {
		for (k = 0; k < 9 && strcmp(argv[i], keys[k]); k++)
			;
		if (k < 9) {
			if (parse_u64_arg(argv[i], i + 1 < argc ? argv[i + 1] : NULL, dst[k]))
				return -1;
		} else if (!strcmp(argv[i], "exceeded") && i + 1 < argc) {
			const char *v = argv[i + 1];

			if (strcmp(v, "none") && strcmp(v, "in") && strcmp(v, "out") &&
			    strcmp(v, "in,out"))
				return fail("invalid value '%s' for exceeded", v);
			f->exceeded[0] = !strcmp(v, "in") || !strcmp(v, "in,out");
			f->exceeded[1] = !strcmp(v, "out") || !strcmp(v, "in,out");
		} else {
			return fail("unknown argument '%s'", argv[i]);
		}
	}
	for (i = 0; i < n; i++)
		if (items[i].f.id == id)
			items[i].counters = true;
	return 0;
}

/* Make the configuration exactly items[0..n): remove every filter in
 * cur, add these.  On failure *at is the item that failed. */
static int apply(struct netfil *nf, const struct item *items, int n,
		 const struct netfil_filter *cur, int ncur, int *at)
{
	uint32_t id;
	int i, err = 0;

	for (i = 0; i < ncur && !err; i++)
		err = netfil_filter_del(nf, cur[i].id);
	for (i = 0; i < n && !err; i++) {
		*at = i;
		err = netfil_filter_add(nf, &items[i].f, &id);
		if (!err && items[i].counters)
			err = netfil_filter_set_counters(nf, &items[i].f);
	}
	return err;
}

int do_restore(int argc, char **argv)
{
	struct netfil_filter *cur = NULL;
	struct item *items = NULL, *back = NULL;
	char *line = NULL, *args[64], *save, *tok;
	int n = 0, cap = 0, lineno = 0, ncur, i, k, at = 0, err = 0;
	struct netfil *nf;
	size_t lcap = 0;
	FILE *f;

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
	/* Pass 1: every line parsed and checked; nothing changes yet. */
	while (!err && getline(&line, &lcap, f) > 0) {
		char ctx[512];

		lineno++;
		if (strchr(line, '#'))
			*strchr(line, '#') = '\0';
		for (k = 0, tok = strtok_r(line, " \t\n", &save); tok && k < 64;
		     tok = strtok_r(NULL, " \t\n", &save))
			args[k++] = tok;
		if (!k)
			continue;
		snprintf(ctx, sizeof(ctx), "%s:%d", argv[0], lineno);
		fail_context = ctx;
		if (n == cap) {
			struct item *m = realloc(items, sizeof(*items) * (size_t)(cap = cap * 2 + 16));

			if (!m) {
				err = fail_errno(ENOMEM, "restore");
				break;
			}
			items = m;
		}
		if (k >= 2 && !strcmp(args[0], "filter") && !strcmp(args[1], "add")) {
			memset(&items[n], 0, sizeof(items[n]));
			items[n].line = lineno;
			err = parse_filter_line(k, args, &items[n]);
			for (i = 0; i < n && !err; i++) {
				if (items[i].f.id == items[n].f.id)
					err = fail("filter id %u is already added on line %d",
						   items[n].f.id, items[i].line);
				else if (match_conflict(&items[i].f.match, &items[n].f.match))
					err = fail("filter %u matches what line %d already matches",
						   items[n].f.id, items[i].line);
			}
			n += !err;
		} else if (!strcmp(args[0], "counters")) {
			err = parse_counters_line(k, args, items, n);
		} else {
			err = fail("unknown line '%s' (filter add or counters)", args[0]);
		}
		fail_context = NULL;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (err)
		goto out;

	/* Pass 2: apply; on failure, put the previous configuration back. */
	ncur = netfil_filter_list(nf, NULL, 0);
	cur = calloc((size_t)ncur + 1, sizeof(*cur));
	back = calloc((size_t)ncur + 1, sizeof(*back));
	if (!cur || !back) {
		err = fail_errno(ENOMEM, "restore");
		goto out;
	}
	ncur = netfil_filter_list(nf, cur, ncur);
	for (i = 0; i < ncur; i++) {
		back[i].f = cur[i];
		back[i].counters = true;
	}
	err = apply(nf, items, n, cur, ncur, &at);
	if (err) {
		int e = err, line = n ? items[at].line : 0;

		for (i = 0; i < n; i++)	/* whatever of the file got in */
			netfil_filter_del(nf, items[i].f.id);
		err = apply(nf, back, ncur, NULL, 0, &at);
		err = fail("%s:%d: %s; %s", argv[0], line, strerror(-e),
			   err ? "the previous configuration is only partly back"
			       : "nothing changed");
	}
out:
	free(items);
	free(back);
	free(cur);
	netfil_close(nf);
	return err ? -1 : 0;
}
