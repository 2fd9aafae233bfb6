// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfil filter { add | list | show | set | reset | del } */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/sysmacros.h>
#include "cli.h"

int parse_u32(const char *s, uint32_t *v)
{
	return netfil_parse_u32(s, v);
}

int parse_pid(const char *s, int *pid)
{
	struct netfil_err e;

	return netfil_parse_pid(s, pid, &e) ? fail("%s", e.msg) : 0;
}

int parse_filter_opts(int argc, char **argv, struct netfil_filter *f, unsigned int flags)
{
	struct netfil_err e;
	int n = netfil_parse_filter_opts(argc, argv, f, flags, &e);

	return n < 0 ? fail("%s", e.msg) : n;
}

int parse_match(int argc, char **argv, struct netfil_match *m)
{
	struct netfil_err e;
	int n = netfil_parse_match(argc, argv, m, &e);

	return n < 0 ? fail("%s", e.msg) : n;
}

/* What an exe, cgroup or unit filter matches now, and whether its path
 * still denotes that. */
static void owner_print(const struct netfil_match *m)
{
	const char *stale = m->stale ? " (stale: the path denotes something else now)" : "";

	if (m->kind != NETFIL_SOCKET || m->by < NETFIL_BY_EXE || m->by == NETFIL_BY_USER)
		return;
	if (!m->resolved)
		printf("    matches nothing yet (%s not found)\n", netfil_by_name(m->by));
	else if (m->by == NETFIL_BY_EXE)
		printf("    matches dev %u:%u inode %llu%s\n", major(m->dev), minor(m->dev),
		       (unsigned long long)m->ino, stale);
	else
		printf("    matches cgroup %s (id %llu)%s\n", m->cgroup_dir,
		       (unsigned long long)m->cgroup_id, stale);
}

/* Where an interface filter's names, or a queue's rules, live. */
static const char *netns_words(const struct netfil_filter *f, char *buf, size_t len)
{
	if (f->netns_here)
		return "in this network namespace";
	snprintf(buf, len, "in another network namespace (cookie %llu)",
		 (unsigned long long)f->netns);
	return buf;
}

void filter_print(const struct netfil_filter *f)
{
	char m[256], b[4][32], n[96];
	int i;

	netfil_format_match(&f->match, m, sizeof(m));
	printf("%u: %s %s %s action %s", f->id, netfil_kind_name(f->match.kind), m,
	       netfil_onoff_name(f->on), netfil_action_name(f->action));
	for (i = NETFIL_IBYTE; i <= NETFIL_IOBYTE; i++)
		printf(" %s %s", netfil_limit_name((enum netfil_limit)i),
		       size_str(f->limit[i], "", b[0], sizeof(b[0])));
	printf(f->match.allow_missing ? " --allow-missing\n" : "\n");
	owner_print(&f->match);
	if (f->redirect.family) {
		char r[NETFIL_URL_LEN + 96];

		netfil_format_redirect(&f->redirect, false, r, sizeof(r));
		printf("    %s\n", r);
	}
	if (f->period.every != NETFIL_PERIOD_NONE) {
		char p[64];

		netfil_format_period(&f->period, p, sizeof(p));
		printf("    period %s\n", p);
	}
	if (f->queue.mode) {
		char q[96];

		netfil_format_queue(&f->queue, q, sizeof(q));
		printf("    %s (nfqueue %u) %s\n", q, f->queue.qnum, netns_words(f, n, sizeof(n)));
	}
	if (f->match.kind == NETFIL_IFACE) {
		printf("   ");
		for (i = 0; i < f->match.n_ifaces; i++) {
			printf(" %s %s", f->match.ifaces[i], netfil_attach_name(f->ifindex[i]));
			if (f->ifindex[i])
				printf(" (index %u)", f->ifindex[i]);
			printf(i + 1 < f->match.n_ifaces ? "," : "");
		}
		printf(" %s\n", netns_words(f, n, sizeof(n)));
	}
	printf("    bytes in %s out %s dropped in %s out %s exceeded %s",
	       size_str(f->bytes[0], "", b[0], sizeof(b[0])),
	       size_str(f->bytes[1], "", b[1], sizeof(b[1])),
	       size_str(f->dropped[0], "", b[2], sizeof(b[2])),
	       size_str(f->dropped[1], "", b[3], sizeof(b[3])),
	       netfil_exceeded_name(f->exceeded));
	for (i = 0; i < 2; i++)
		if (f->exceeded_wall[i]) {
			char t[64];

			netfil_format_wall(f->exceeded_wall[i], t, sizeof(t));
			printf(" %s at %s", netfil_dir_name((enum netfil_dir)i), t);
		}
	printf("\n");
}

static int print_filter(struct netfil *nf, uint32_t id)
{
	struct netfil_filter f;
	int err = netfil_filter_get(nf, id, &f);

	if (err)
		return fail_errno(err, "reading filter");
	if (json_output)
		json_print(netfil_filter_json(&f));
	else
		filter_print(&f);
	return 0;
}

/* A queue's mark field that a fwmark of this namespace already uses. */
static int mark_error(struct netfil *nf)
{
	uint32_t taken = 0;

	netfil_queue_mark_taken(nf, &taken);
	return fail("the queue mark 0x%08x collides with fwmark 0x%x of an ip rule here "
		    "(load netfil with another NETFIL_QUEUE_MARK)", netfil_queue_mark(nf), taken);
}

static int add_error(struct netfil *nf, int err, uint32_t id, const struct netfil_match *m,
		     const char *what)
{
	bool path = m->kind == NETFIL_SOCKET && m->by >= NETFIL_BY_EXE;

	switch (err) {
	case -EADDRINUSE:
		return mark_error(nf);
	case -EEXIST:
		return fail("a filter for '%s' already exists (id %u)", what, id);
	case -ESRCH:
		return fail("no process with pid '%s'", what);
	case -ENODEV:
		return fail("unknown interface in '%s'", what);
	case -ENOSPC:
		return fail("no room for another filter like '%s'", what);
	case -EXDEV:
		return fail("%s '%s' is outside netfil's cgroup: its sockets are never counted",
			    path ? netfil_by_name(m->by) : "process", what);
	case -ENOENT:
	case -ENOTDIR:
	case -EACCES:
		if (path)
			return fail("cannot resolve %s '%s'", netfil_by_name(m->by), what);
		break;
	}
	return fail_errno(err, "adding filter");
}

static int filter_add(int argc, char **argv)
{
	struct netfil_filter f;
	struct netfil_err e;
	struct netfil *nf;
	uint32_t id = 0;
	int err;

	if (netfil_parse_filter(argc, argv, &f, &e))
		return fail("%s", e.msg);
	if (open_netfil_loading(&nf))
		return -1;
	if (netfil_redirect_check(nf, &f.redirect, &e)) {
		netfil_close(nf);
		return fail("%s", e.msg);
	}
	err = netfil_filter_add(nf, &f, &id);
	if (err) {
		err = add_error(nf, err, id, &f.match, argv[f.match.kind == NETFIL_SOCKET ? 2 : 1]);
		netfil_close(nf);
		return err;
	}
	if (json_output)
		err = print_filter(nf, id);
	else
		printf("%u\n", id);
	netfil_close(nf);
	return err;
}

static int filter_list(int argc, char **argv)
{
	struct netfil_filter *all;
	struct netfil *nf;
	int n, i;

	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (open_netfil(&nf))
		return -1;
	n = netfil_filter_list(nf, NULL, 0);
	all = calloc((size_t)n + 1, sizeof(*all));
	if (!all) {
		netfil_close(nf);
		return fail_errno(ENOMEM, "list");
	}
	n = netfil_filter_list(nf, all, n);
	netfil_close(nf);
	if (json_output) {
		json_doc_begin();
		netfil_filters_json_write(all, n, json_out, json_flags());
		json_doc_end();
	} else {
		for (i = 0; i < n; i++)
			filter_print(&all[i]);
	}
	free(all);
	return 0;
}

/* "ID" for show/set/reset/del: checked to exist before anything changes. */
static int parse_id(struct netfil *nf, int argc, char **argv, uint32_t *id,
		    struct netfil_filter *f)
{
	if (argc < 1)
		return fail("missing filter ID");
	if (parse_u32(argv[0], id) || !*id)
		return fail("invalid filter id '%s'", argv[0]);
	if (netfil_filter_get(nf, *id, f))
		return fail("no filter with id '%s'", argv[0]);
	return 0;
}

static int with_filter(int argc, char **argv,
		       int (*fn)(struct netfil *, uint32_t, struct netfil_filter *,
				 int, char **))
{
	struct netfil_filter f;
	struct netfil *nf;
	uint32_t id;
	int err;

	if (argc < 1)
		return fail("missing filter ID");
	if (open_netfil(&nf))
		return -1;
	err = parse_id(nf, argc, argv, &id, &f);
	if (!err)
		err = fn(nf, id, &f, argc - 1, argv + 1);
	netfil_close(nf);
	return err;
}

static int show_fn(struct netfil *nf, uint32_t id, struct netfil_filter *f,
		   int argc, char **argv)
{
	(void)f;
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	return print_filter(nf, id);
}

static int set_fn(struct netfil *nf, uint32_t id, struct netfil_filter *f,
		  int argc, char **argv)
{
	struct netfil_err e;
	unsigned int what;
	int r, err;

	if (!argc)
		return fail("missing LIMITS, action, redirect, on or off after the filter id");
	r = netfil_parse_filter_change(argc, argv, f, NETFIL_OPT_STATE, &what, &e);
	if (r < 0)
		return fail("%s", e.msg);
	if (r != argc)
		return fail("unexpected argument '%s'", argv[r]);
	if (netfil_redirect_check(nf, &f->redirect, &e))
		return fail("%s", e.msg);
	/* only what was named, merged under the lock with what is there now */
	err = netfil_filter_change(nf, f, what);
	if (err == -EADDRINUSE)
		return mark_error(nf);
	if (err)
		return fail_errno(err, "changing filter");
	return json_output ? print_filter(nf, id) : 0;
}

static int reset_fn(struct netfil *nf, uint32_t id, struct netfil_filter *f,
		    int argc, char **argv)
{
	int err;

	(void)f;
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	err = netfil_filter_reset(nf, id);
	if (err)
		return fail_errno(err, "resetting filter");
	return json_output ? print_filter(nf, id) : 0;
}

static int del_fn(struct netfil *nf, uint32_t id, struct netfil_filter *f,
		  int argc, char **argv)
{
	int err;

	(void)f;
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	err = netfil_filter_del(nf, id);
	if (err)
		return fail_errno(err, "deleting filter");
	if (json_output)
		json_print(json_pack("{s:I}", "id", (json_int_t)id));
	return 0;
}

static int filter_show(int argc, char **argv) { return with_filter(argc, argv, show_fn); }
static int filter_set(int argc, char **argv) { return with_filter(argc, argv, set_fn); }
static int filter_reset(int argc, char **argv) { return with_filter(argc, argv, reset_fn); }
static int filter_del(int argc, char **argv) { return with_filter(argc, argv, del_fn); }

/* netfil roll [now TIME]: apply the period boundaries passed since each
 * filter's last one; TIME (seconds since the epoch, or local
 * YYYY-MM-DDTHH:MM:SS) stands in for the clock. */
int do_roll(int argc, char **argv)
{
	struct netfil *nf;
	int64_t now = time(NULL);
	int n;

	if (argc == 2 && !strcmp(argv[0], "now")) {
		if (netfil_parse_time(argv[1], &now))
			return fail("invalid time '%s'", argv[1]);
		/* a last boundary in the future would stop every reset until
		 * the clock caught up: times ahead of it are refused */
		if (now > time(NULL))
			return fail("time '%s' is ahead of the clock", argv[1]);
	} else if (argc == 1 && !strcmp(argv[0], "now")) {
		return fail("missing TIME after 'now'");
	} else if (argc) {
		static const char *const words[] = { "now" };

		return strcmp(argv[0], "now") ? fail_unknown("argument", argv[0], words, 1) :
		       fail("unexpected argument '%s'", argv[2]);
	}
	if (open_netfil(&nf))
		return -1;
	n = netfil_roll(nf, now);
	netfil_close(nf);
	if (n < 0)
		return fail_errno(n, "roll");
	if (json_output)
		json_print(json_pack("{s:i}", "reset", n));
	else
		printf("%d\n", n);
	return 0;
}

/* netfil sync: what netfild does on each change it sees, on demand. */
int do_sync(int argc, char **argv)
{
	struct netfil *nf;
	int a, b;

	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (open_netfil(&nf))
		return -1;
	a = netfil_iface_sync(nf);
	b = netfil_owner_sync(nf);
	netfil_close(nf);
	if (a < 0)
		return fail_errno(a, "following interfaces");
	if (b < 0)
		return fail_errno(b, "following exe, cgroup and unit filters");
	if (json_output)
		json_print(json_pack("{s:i,s:i}", "interfaces", a, "filters", b));
	else
		printf("%d\n", a + b);
	return 0;
}

static int filter_help(int argc, char **argv)
{
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	usage("filter", stdout);
	return 0;
}

static const struct cmd filter_cmds[] = {
	{ "add", filter_add },
	{ "list", filter_list },
	{ "ls", filter_list },
	{ "show", filter_show },
	{ "set", filter_set },
	{ "reset", filter_reset },
	{ "del", filter_del },
	{ "delete", filter_del },
	{ "rm", filter_del },
	{ "help", filter_help },
	{ 0 }
};

int do_filter(int argc, char **argv)
{
	return cmd_select(filter_cmds, "filter", argc, argv);
}
