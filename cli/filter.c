// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfil filter { add | list | show | set | reset | del } */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

static const char *const limit_names[3] = { "ibyte", "obyte", "iobyte" };

int parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (*end || errno || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

int parse_pid(const char *s, int *pid)
{
	uint64_t start;
	uint32_t v;

	if (parse_u32(s, &v) || !v || v > INT32_MAX)
		return fail("invalid pid '%s'", s);
	if (netfil_proc_start((int)v, &start))
		return fail("no process with pid '%s'", s);
	*pid = (int)v;
	return 0;
}

const char *size_str(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static int parse_size_arg(const char *key, const char *val, uint64_t *out)
{
	int err;

	if (!val)
		return fail("missing SIZE after '%s'", key);
	err = netfil_parse_size(val, out);
	if (err == -ERANGE)
		return fail("size '%s' for %s overflows 64 bits", val, key);
	if (err)
		return fail("invalid size '%s' for %s", val, key);
	return 0;
}

static const char *const every_names[] = { "none", "hourly", "daily", "weekly", "monthly" };
static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* "HH:MM" (or ":MM" / "MM" for hourly) */
static int parse_at(const char *s, struct netfil_period *p)
{
	unsigned int h = 0, m;
	char c;

	if (p->every == NETFIL_HOURLY) {
		if (sscanf(s, ":%u%c", &m, &c) != 1 && sscanf(s, "%u%c", &m, &c) != 1)
			return fail("invalid minute '%s' (:MM)", s);
	} else if (sscanf(s, "%u:%u%c", &h, &m, &c) != 2) {
		return fail("invalid time '%s' (HH:MM)", s);
	}
	if (h > 23 || m > 59)
		return fail("invalid time '%s'", s);
	p->hour = (int)h;
	p->minute = (int)m;
	return 0;
}

/* period { none | hourly [at :MM] | daily [at HH:MM] | weekly [DAY] [at HH:MM] |
 *          monthly [day N] [at HH:MM] }; returns the words used after "period". */
static int parse_period(int argc, char **argv, struct netfil_period *p)
{
	int i = 1, k;
	uint32_t d;

	if (argc < 1)
		return fail("missing value after 'period'");
	memset(p, 0, sizeof(*p));
	for (k = 0; k < 5 && strcmp(argv[0], every_names[k]); k++)
		;
	if (k == 5)
		return fail("unknown period '%s' (hourly, daily, weekly, monthly or none)", argv[0]);
	p->every = (enum netfil_every)k;
	p->wday = 1;	/* Monday */
	p->mday = 1;
	if (p->every == NETFIL_WEEKLY && i < argc) {
		for (k = 0; k < 7 && strncmp(argv[i], day_names[k], 3); k++)
			;
		if (k < 7) {
			p->wday = k;
			i++;
		}
	}
	if (p->every == NETFIL_MONTHLY && i < argc && !strcmp(argv[i], "day")) {
		if (i + 1 >= argc || parse_u32(argv[i + 1], &d) || d < 1 || d > 31)
			return fail("invalid day '%s' (1 to 31)", i + 1 < argc ? argv[i + 1] : "day");
		p->mday = (int)d;
		i += 2;
	}
	if (p->every != NETFIL_PERIOD_NONE && i < argc && !strcmp(argv[i], "at")) {
		if (i + 1 >= argc)
			return fail("missing time after 'at'");
		if (parse_at(argv[i + 1], p))
			return -1;
		i += 2;
	}
	return i;
}

void period_str(const struct netfil_period *p, char *buf, size_t len)
{
	switch (p->every) {
	case NETFIL_HOURLY:
		snprintf(buf, len, "hourly at :%02d", p->minute);
		return;
	case NETFIL_DAILY:
		snprintf(buf, len, "daily at %02d:%02d", p->hour, p->minute);
		return;
	case NETFIL_WEEKLY:
		snprintf(buf, len, "weekly %s at %02d:%02d", day_names[p->wday % 7], p->hour, p->minute);
		return;
	case NETFIL_MONTHLY:
		snprintf(buf, len, "monthly day %d at %02d:%02d", p->mday, p->hour, p->minute);
		return;
	default:
		snprintf(buf, len, "none");
	}
}

int parse_filter_opts(int argc, char **argv, struct netfil_filter *f,
		      bool allow_action, bool allow_state)
{
	int i, j, n;

	for (i = 0; i < argc; i++) {
		for (j = 0; j < 3; j++)
			if (!strcmp(argv[i], limit_names[j]))
				break;
		if (j < 3) {
			if (parse_size_arg(argv[i], i + 1 < argc ? argv[i + 1] : NULL,
					   &f->limit[j]))
				return -1;
			i++;
		} else if (allow_action && !strcmp(argv[i], "action")) {
			if (i + 1 >= argc)
				return fail("missing value after 'action'");
			i++;
			if (!strcmp(argv[i], "reject"))
				f->action = NETFIL_REJECT;
			else if (!strcmp(argv[i], "drop"))
				f->action = NETFIL_DROP;
			else
				return fail("unknown action '%s' (reject or drop)", argv[i]);
		} else if (allow_state && !strcmp(argv[i], "period")) {
			n = parse_period(argc - i - 1, argv + i + 1, &f->period);
			if (n < 0)
				return -1;
			i += n;
		} else if (allow_state && !strcmp(argv[i], "on")) {
			f->on = true;
		} else if (allow_state && !strcmp(argv[i], "off")) {
			f->on = false;
		} else if (!strcmp(argv[i], "--")) {
			return i;
		} else {
			return fail("unknown argument '%s'", argv[i]);
		}
	}
	return i;
}

bool match_conflict(const struct netfil_match *a, const struct netfil_match *b)
{
	int i, j;

	if (a->kind != b->kind)
		return false;
	if (a->kind == NETFIL_SOCKET)
		return a->pid == b->pid && a->tree == b->tree;
	if (a->kind == NETFIL_IP)
		return a->family == b->family && a->prefixlen == b->prefixlen &&
		       !memcmp(a->addr, b->addr, 16);
	for (i = 0; i < a->n_ifaces; i++)
		for (j = 0; j < b->n_ifaces; j++)
			if (!strcmp(a->ifaces[i], b->ifaces[j]))
				return true;
	return false;
}

static void match_str(const struct netfil_match *m, char *buf, size_t len)
{
	size_t off;
	int i;

	switch (m->kind) {
	case NETFIL_SOCKET:
		snprintf(buf, len, "%s %d", m->tree ? "tree" : "pid", m->pid);
		return;
	case NETFIL_IP:
		netfil_format_prefix(m, buf, len);
		return;
	case NETFIL_IFACE:
		buf[0] = '\0';
		for (i = 0, off = 0; i < m->n_ifaces && off < len; i++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						i ? "," : "", m->ifaces[i]);
		return;
	}
	snprintf(buf, len, "?");
}

json_t *filter_json(const struct netfil_filter *f)
{
	const struct netfil_match *m = &f->match;
	char buf[256];
	json_t *o, *arr;
	int i;

	o = json_pack("{s:I,s:s}", "id", (json_int_t)f->id, "kind", netfil_kind_name(m->kind));
	switch (m->kind) {
	case NETFIL_SOCKET:
		json_object_set_new(o, m->tree ? "tree" : "pid", json_integer(m->pid));
		json_object_set_new(o, "start", json_integer((json_int_t)m->start));
		break;
	case NETFIL_IP:
		match_str(m, buf, sizeof(buf));
		json_object_set_new(o, "prefix", json_string(buf));
		break;
	case NETFIL_IFACE:
		arr = json_array();
		for (i = 0; i < m->n_ifaces; i++)
			json_array_append_new(arr, json_string(m->ifaces[i]));
		json_object_set_new(o, "interfaces", arr);
		break;
	}
	json_object_set_new(o, "status", json_string(f->on ? "on" : "off"));
	json_object_set_new(o, "action", json_string(f->action == NETFIL_DROP ? "drop" : "reject"));
	json_object_set_new(o, "limits", json_pack("{s:I,s:I,s:I}",
		"ibyte", (json_int_t)f->limit[0], "obyte", (json_int_t)f->limit[1],
		"iobyte", (json_int_t)f->limit[2]));
	json_object_set_new(o, "bytes", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->bytes[0], "out", (json_int_t)f->bytes[1]));
	json_object_set_new(o, "packets", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->packets[0], "out", (json_int_t)f->packets[1]));
	json_object_set_new(o, "dropped", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->dropped[0], "out", (json_int_t)f->dropped[1]));
	json_object_set_new(o, "exceeded", json_pack("{s:b,s:b}",
		"in", f->exceeded[0], "out", f->exceeded[1]));
	json_object_set_new(o, "exceeded_at", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->exceeded_at[0], "out", (json_int_t)f->exceeded_at[1]));
	if (f->period.every != NETFIL_PERIOD_NONE) {
		char p[64];

		period_str(&f->period, p, sizeof(p));
		json_object_set_new(o, "period", json_pack("{s:s,s:I}", "every", p,
			"last", (json_int_t)f->period.last));
	}
	return o;
}

void filter_print(const struct netfil_filter *f)
{
	char m[256];

	match_str(&f->match, m, sizeof(m));
	printf("%u: %s %s %s action %s ibyte %llu obyte %llu iobyte %llu\n",
	       f->id, netfil_kind_name(f->match.kind), m, f->on ? "on" : "off",
	       f->action == NETFIL_DROP ? "drop" : "reject",
	       (unsigned long long)f->limit[0], (unsigned long long)f->limit[1],
	       (unsigned long long)f->limit[2]);
	if (f->period.every != NETFIL_PERIOD_NONE) {
		char p[64];

		period_str(&f->period, p, sizeof(p));
		printf("    period %s\n", p);
	}
	printf("    bytes in %llu out %llu dropped in %llu out %llu exceeded %s\n",
	       (unsigned long long)f->bytes[0], (unsigned long long)f->bytes[1],
	       (unsigned long long)f->dropped[0], (unsigned long long)f->dropped[1],
	       f->exceeded[0] && f->exceeded[1] ? "in,out" :
	       f->exceeded[0] ? "in" : f->exceeded[1] ? "out" : "no");
}

static int print_filter(struct netfil *nf, uint32_t id)
{
	struct netfil_filter f;
	int err = netfil_filter_get(nf, id, &f);

	if (err)
		return fail_errno(err, "reading filter");
	if (json_output)
		json_print(filter_json(&f));
	else
		filter_print(&f);
	return 0;
}

/* Parse "socket pid PID", "ip PREFIX" or "interface IF,IF"; returns the
 * number of arguments used or -1. */
int parse_match(int argc, char **argv, struct netfil_match *m)
{
	char list[NETFIL_MAX_IFACES_PER_FILTER * (NETFIL_IFNAME_LEN + 1)], *tok, *save;
	int err;

	memset(m, 0, sizeof(*m));
	if (argc < 1)
		return fail("missing filter kind (socket, ip or interface)");
	if (!strcmp(argv[0], "socket")) {
		m->kind = NETFIL_SOCKET;
		if (argc < 2)
			return fail("missing 'pid' or 'tree' after 'socket'");
		if (!strcmp(argv[1], "tree"))
			m->tree = true;
		else if (strcmp(argv[1], "pid"))
			return fail("unknown socket match '%s' (pid or tree)", argv[1]);
		if (argc < 3)
			return fail("missing PID after '%s'", argv[1]);
		if (parse_pid(argv[2], &m->pid))
			return -1;
		return 3;
	}
	if (!strcmp(argv[0], "ip")) {
		if (argc < 2)
			return fail("missing PREFIX after 'ip'");
		err = netfil_parse_prefix(argv[1], m);
		if (err == -ERANGE)
			return fail("prefix length out of range in '%s'", argv[1]);
		if (err)
			return fail("invalid address or prefix '%s'", argv[1]);
		return 2;
	}
	if (!strcmp(argv[0], "interface")) {
		m->kind = NETFIL_IFACE;
		if (argc < 2)
			return fail("missing interface list after 'interface'");
		if (strlen(argv[1]) >= sizeof(list))
			return fail("interface list '%s' is too long", argv[1]);
		strcpy(list, argv[1]);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int i;

			if (m->n_ifaces == NETFIL_MAX_IFACES_PER_FILTER)
				return fail("more than %d interfaces in '%s'",
					    NETFIL_MAX_IFACES_PER_FILTER, argv[1]);
			if (strlen(tok) >= NETFIL_IFNAME_LEN || !if_nametoindex(tok))
				return fail("unknown interface '%s'", tok);
			for (i = 0; i < m->n_ifaces; i++)
				if (!strcmp(m->ifaces[i], tok))
					return fail("interface '%s' listed twice", tok);
			strcpy(m->ifaces[m->n_ifaces++], tok);
		}
		if (!m->n_ifaces)
			return fail("empty interface list '%s'", argv[1]);
		return 2;
	}
	return fail("unknown filter kind '%s' (socket, ip or interface)", argv[0]);
}

static int add_error(int err, uint32_t id, const char *what)
{
	switch (err) {
	case -EEXIST:
		return fail("a filter for '%s' already exists (id %u)", what, id);
	case -ESRCH:
		return fail("no process with pid '%s'", what);
	case -ENODEV:
		return fail("unknown interface in '%s'", what);
	case -ENOSPC:
		return fail("no room for another filter like '%s'", what);
	}
	return fail_errno(err, "adding filter");
}

static int filter_add(int argc, char **argv)
{
	struct netfil_filter f = { .on = true };
	struct netfil *nf;
	uint32_t id = 0;
	int n, r, err;

	n = parse_match(argc, argv, &f.match);
	if (n < 0)
		return -1;
	r = parse_filter_opts(argc - n, argv + n, &f, f.match.kind != NETFIL_IFACE, true);
	if (r < 0)
		return -1;
	if (r != argc - n)
		return fail("unexpected argument '%s'", argv[n + r]);
	if (open_netfil(&nf))
		return -1;
	err = netfil_filter_add(nf, &f, &id);
	if (err) {
		netfil_close(nf);
		return add_error(err, id, argv[n - 1]);
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
	json_t *arr;
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
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, filter_json(&all[i]));
		json_print(arr);
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
	int r, err;

	if (!argc)
		return fail("missing LIMITS, action, on or off after the filter id");
	r = parse_filter_opts(argc, argv, f, f->match.kind != NETFIL_IFACE, true);
	if (r < 0)
		return -1;
	if (r != argc)
		return fail("unexpected argument '%s'", argv[r]);
	err = netfil_filter_set(nf, f);
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
	return err ? fail_errno(err, "resetting filter") : 0;
}

static int del_fn(struct netfil *nf, uint32_t id, struct netfil_filter *f,
		  int argc, char **argv)
{
	int err;

	(void)f;
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	err = netfil_filter_del(nf, id);
	return err ? fail_errno(err, "deleting filter") : 0;
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
	struct tm tm = {};
	char *end;
	int n;

	if (argc == 2 && !strcmp(argv[0], "now")) {
		end = strptime(argv[1], "%Y-%m-%dT%H:%M:%S", &tm);
		if (end && !*end) {
			tm.tm_isdst = -1;
			now = (int64_t)mktime(&tm);
		} else {
			now = strtoll(argv[1], &end, 10);
			if (*end || argv[1][0] < '0' || argv[1][0] > '9')
				return fail("invalid time '%s'", argv[1]);
		}
	} else if (argc) {
		return fail(argc == 1 && !strcmp(argv[0], "now") ? "missing TIME after '%s'" :
			    "unknown argument '%s'", argv[0]);
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

static const struct cmd filter_cmds[] = {
	{ "add", filter_add },
	{ "list", filter_list },
	{ "show", filter_show },
	{ "set", filter_set },
	{ "reset", filter_reset },
	{ "del", filter_del },
	{ 0 }
};

int do_filter(int argc, char **argv)
{
	return cmd_select(filter_cmds, argc, argv);
}
