// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The text of netfil: the words of a filter, as the command line, a
 * restore file and netfild's state file all write them, and save/restore.
 *
 *   filter add id 3 ip 10.0.0.0/8 ibyte 1048576 obyte 0 iobyte 0 action reject on
 *   filter add ip 192.168.0.0/16 obyte 1G     (by hand: netfil picks the id)
 *   filter add id 4 socket pid 812 start 5521 obyte 10485760 ... on
 *   filter add id 5 interface usb0 ... --allow-missing period monthly day 14 at 00:00 on
 *   counters 3 bytes-in 1234 bytes-out 99 packets-in 3 ... period-last 1763074800
 *
 * One parser serves every front end, so a line netfil save wrote always
 * reads back, and an error names the bad word the same way everywhere:
 * parsers fill a struct netfil_err and return -EINVAL, and the front end
 * decides how to show it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"

static const char *const limit_names[3] = { "ibyte", "obyte", "iobyte" };
static const char *const every_names[] = { "none", "hourly", "daily", "weekly", "monthly" };
static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

__attribute__((format(printf, 2, 3)))
static int bad(struct netfil_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int netfil_parse_u32(const char *s, uint32_t *v)
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

static int parse_u64(const char *key, const char *val, uint64_t *out,
		     struct netfil_err *e)
{
	char *end;

	if (!val)
		return bad(e, "missing value after '%s'", key);
	errno = 0;
	*out = strtoull(val, &end, 10);
	if (*val < '0' || *val > '9' || *end || errno)
		return bad(e, "invalid number '%s' for %s", val, key);
	return 0;
}

int netfil_parse_pid(const char *s, int *pid, struct netfil_err *e)
{
	uint64_t start;
	uint32_t v;

	if (netfil_parse_u32(s, &v) || !v || v > INT32_MAX)
		return bad(e, "invalid pid '%s'", s);
	if (netfil_proc_start((int)v, &start))
		return bad(e, "no process with pid '%s'", s);
	*pid = (int)v;
	return 0;
}

int netfil_parse_time(const char *s, int64_t *t)
{
	struct tm tm = {};
	char *end;

	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && !*end) {
		tm.tm_isdst = -1;
		*t = (int64_t)mktime(&tm);
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*t = strtoll(s, &end, 10);
	return *end || errno ? -EINVAL : 0;
}

static int parse_size_arg(const char *key, const char *val, uint64_t *out,
			  struct netfil_err *e)
{
	int err;

	if (!val)
		return bad(e, "missing SIZE after '%s'", key);
	err = netfil_parse_size(val, out);
	if (err == -ERANGE)
		return bad(e, "size '%s' for %s overflows 64 bits", val, key);
	if (err)
		return bad(e, "invalid size '%s' for %s", val, key);
	return 0;
}

/* "HH:MM" (or ":MM" / "MM" for hourly) */
static int parse_at(const char *s, struct netfil_period *p, struct netfil_err *e)
{
	unsigned int h = 0, m;
	char c;

	if (p->every == NETFIL_HOURLY) {
		if (sscanf(s, ":%u%c", &m, &c) != 1 && sscanf(s, "%u%c", &m, &c) != 1)
			return bad(e, "invalid minute '%s' (:MM)", s);
	} else if (sscanf(s, "%u:%u%c", &h, &m, &c) != 2) {
		return bad(e, "invalid time '%s' (HH:MM)", s);
	}
	if (h > 23 || m > 59)
		return bad(e, "invalid time '%s'", s);
	p->hour = (int)h;
	p->minute = (int)m;
	return 0;
}

/* period { none | hourly [at :MM] | daily [at HH:MM] | weekly [DAY] [at HH:MM] |
 *          monthly [day N] [at HH:MM] }; returns the words used after "period". */
static int parse_period(int argc, char **argv, struct netfil_period *p,
			struct netfil_err *e)
{
	int i = 1, k;
	uint32_t d;

	if (argc < 1)
		return bad(e, "missing value after 'period'");
	memset(p, 0, sizeof(*p));
	for (k = 0; k < 5 && strcmp(argv[0], every_names[k]); k++)
		;
	if (k == 5)
		return bad(e, "unknown period '%s' (hourly, daily, weekly, monthly or none)", argv[0]);
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
		if (i + 1 >= argc || netfil_parse_u32(argv[i + 1], &d) || d < 1 || d > 31)
			return bad(e, "invalid day '%s' (1 to 31)", i + 1 < argc ? argv[i + 1] : "day");
		p->mday = (int)d;
		i += 2;
	}
	if (p->every != NETFIL_PERIOD_NONE && i < argc && !strcmp(argv[i], "at")) {
		if (i + 1 >= argc)
			return bad(e, "missing time after 'at'");
		if (parse_at(argv[i + 1], p, e))
			return -EINVAL;
		i += 2;
	}
	return i;
}

void netfil_format_period(const struct netfil_period *p, char *buf, size_t len)
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

int netfil_parse_filter_opts(int argc, char **argv, struct netfil_filter *f,
			     unsigned int flags, struct netfil_err *e)
{
	bool iface = f->match.kind == NETFIL_IFACE;
	int i, j, n;

	for (i = 0; i < argc; i++) {
		for (j = 0; j < 3; j++)
			if (!strcmp(argv[i], limit_names[j]))
				break;
		if (j < 3) {
			if (parse_size_arg(argv[i], i + 1 < argc ? argv[i + 1] : NULL,
					   &f->limit[j], e))
				return -EINVAL;
			i++;
		} else if (!iface && !strcmp(argv[i], "action")) {
			if (i + 1 >= argc)
				return bad(e, "missing value after 'action'");
			i++;
			if (!strcmp(argv[i], "reject"))
				f->action = NETFIL_REJECT;
			else if (!strcmp(argv[i], "drop"))
				f->action = NETFIL_DROP;
			else
				return bad(e, "unknown action '%s' (reject or drop)", argv[i]);
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], "period")) {
			n = parse_period(argc - i - 1, argv + i + 1, &f->period, e);
			if (n < 0)
				return -EINVAL;
			i += n;
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], "on")) {
			f->on = true;
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], "off")) {
			f->on = false;
		} else if ((flags & NETFIL_OPT_STATE) && iface &&
			   !strcmp(argv[i], "--allow-missing")) {
			f->match.allow_missing = true;
		} else if (!strcmp(argv[i], "--")) {
			return i;
		} else {
			return bad(e, "unknown argument '%s'", argv[i]);
		}
	}
	return i;
}

bool netfil_match_conflict(const struct netfil_match *a, const struct netfil_match *b)
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

void netfil_format_match(const struct netfil_match *m, char *buf, size_t len)
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

int netfil_parse_match(int argc, char **argv, struct netfil_match *m,
		       struct netfil_err *e)
{
	char list[NETFIL_MAX_IFACES_PER_FILTER * (NETFIL_IFNAME_LEN + 1)], *tok, *save;
	int err;

	memset(m, 0, sizeof(*m));
	if (argc < 1)
		return bad(e, "missing filter kind (socket, ip or interface)");
	if (!strcmp(argv[0], "socket")) {
		m->kind = NETFIL_SOCKET;
		if (argc < 2)
			return bad(e, "missing 'pid' or 'tree' after 'socket'");
		if (!strcmp(argv[1], "tree"))
			m->tree = true;
		else if (strcmp(argv[1], "pid"))
			return bad(e, "unknown socket match '%s' (pid or tree)", argv[1]);
		if (argc < 3)
			return bad(e, "missing PID after '%s'", argv[1]);
		if (netfil_parse_pid(argv[2], &m->pid, e))
			return -EINVAL;
		return 3;
	}
	if (!strcmp(argv[0], "ip")) {
		if (argc < 2)
			return bad(e, "missing PREFIX after 'ip'");
		err = netfil_parse_prefix(argv[1], m);
		if (err == -ERANGE)
			return bad(e, "prefix length out of range in '%s'", argv[1]);
		if (err)
			return bad(e, "invalid address or prefix '%s'", argv[1]);
		return 2;
	}
	if (!strcmp(argv[0], "interface")) {
		m->kind = NETFIL_IFACE;
		if (argc < 2)
			return bad(e, "missing interface list after 'interface'");
		if (strlen(argv[1]) >= sizeof(list))
			return bad(e, "interface list '%s' is too long", argv[1]);
		strcpy(list, argv[1]);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int i;

			if (m->n_ifaces == NETFIL_MAX_IFACES_PER_FILTER)
				return bad(e, "more than %d interfaces in '%s'",
					   NETFIL_MAX_IFACES_PER_FILTER, argv[1]);
			if (strlen(tok) >= NETFIL_IFNAME_LEN)
				return bad(e, "interface name '%s' is too long", tok);
			for (i = 0; i < m->n_ifaces; i++)
				if (!strcmp(m->ifaces[i], tok))
					return bad(e, "interface '%s' listed twice", tok);
			strcpy(m->ifaces[m->n_ifaces++], tok);
		}
		if (!m->n_ifaces)
			return bad(e, "empty interface list '%s'", argv[1]);
		return 2;
	}
	return bad(e, "unknown filter kind '%s' (socket, ip or interface)", argv[0]);
}

/* An interface filter may name interfaces that do not exist yet only
 * when asked to: a typo should not wait silently for an "eht0". */
static int check_ifaces(const struct netfil_match *m, struct netfil_err *e)
{
	int i;

	if (m->kind != NETFIL_IFACE || m->allow_missing)
		return 0;
	for (i = 0; i < m->n_ifaces; i++)
		if (!if_nametoindex(m->ifaces[i]))
			return bad(e, "unknown interface '%s' (--allow-missing adds it anyway)",
				   m->ifaces[i]);
	return 0;
}

int netfil_parse_filter(int argc, char **argv, struct netfil_filter *f,
			struct netfil_err *e)
{
	int n, r;

	memset(f, 0, sizeof(*f));
	f->on = true;
	n = netfil_parse_match(argc, argv, &f->match, e);
	if (n < 0)
		return -EINVAL;
	r = netfil_parse_filter_opts(argc - n, argv + n, f, NETFIL_OPT_STATE, e);
	if (r < 0)
		return -EINVAL;
	if (r != argc - n)
		return bad(e, "unexpected argument '%s'", argv[n + r]);
	return check_ifaces(&f->match, e);
}

/* ---- save ---------------------------------------------------------------- */

static const char *exceeded_str(const bool *x)
{
	return x[0] && x[1] ? "in,out" : x[0] ? "in" : x[1] ? "out" : "none";
}

static void save_one(FILE *out, const struct netfil_filter *f, unsigned int flags)
{
	const struct netfil_match *m = &f->match;
	char buf[256];

	fprintf(out, "filter add id %u", f->id);
	switch (m->kind) {
	case NETFIL_SOCKET:
		fprintf(out, " socket %s %d start %llu", m->tree ? "tree" : "pid", m->pid,
			(unsigned long long)m->start);
		break;
	case NETFIL_IP:
	case NETFIL_IFACE:
		netfil_format_match(m, buf, sizeof(buf));
		fprintf(out, " %s %s", m->kind == NETFIL_IP ? "ip" : "interface", buf);
		break;
	}
	fprintf(out, " ibyte %llu obyte %llu iobyte %llu", (unsigned long long)f->limit[0],
		(unsigned long long)f->limit[1], (unsigned long long)f->limit[2]);
	if (m->kind != NETFIL_IFACE)
		fprintf(out, " action %s", f->action == NETFIL_DROP ? "drop" : "reject");
	if (m->allow_missing)
		fprintf(out, " --allow-missing");
	if (f->period.every != NETFIL_PERIOD_NONE) {
		netfil_format_period(&f->period, buf, sizeof(buf));
		fprintf(out, " period %s", buf);
	}
	fprintf(out, " %s\n", f->on ? "on" : "off");
	if (flags & NETFIL_SAVE_COUNTERS)
		fprintf(out, "counters %u bytes-in %llu bytes-out %llu packets-in %llu "
			"packets-out %llu dropped-in %llu dropped-out %llu exceeded %s "
			"exceeded-at-in %llu exceeded-at-out %llu period-last %lld\n",
			f->id, (unsigned long long)f->bytes[0], (unsigned long long)f->bytes[1],
			(unsigned long long)f->packets[0], (unsigned long long)f->packets[1],
			(unsigned long long)f->dropped[0], (unsigned long long)f->dropped[1],
			exceeded_str(f->exceeded), (unsigned long long)f->exceeded_at[0],
			(unsigned long long)f->exceeded_at[1], (long long)f->period.last);
}

/* Every filter, read under the change lock so that the copy is one
 * moment's configuration. */
static int snapshot(struct netfil *nf, struct netfil_filter **out)
{
	struct netfil_filter *all;
	int n, err;

	err = nf_lock(nf);
	if (err)
		return err;
	n = netfil_filter_list(nf, NULL, 0);
	all = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(*all));
	if (!all)
		n = -ENOMEM;
	else if (n > 0)
		n = netfil_filter_list(nf, all, n);
	nf_unlock(nf);
	if (n < 0) {
		free(all);
		return n;
	}
	*out = all;
	return n;
}

int netfil_save(struct netfil *nf, FILE *out, unsigned int flags)
{
	struct netfil_filter *all;
	time_t t = time(NULL);
	char now[32];
	int n, i;

	n = snapshot(nf, &all);
	if (n < 0)
		return n;
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(out, "# netfil configuration, saved %s%s\n", now,
		flags & NETFIL_SAVE_COUNTERS ? " with counters" : "");
	for (i = 0; i < n; i++)
		save_one(out, &all[i], flags);
	free(all);
	return ferror(out) ? -EIO : 0;
}

/* ---- restore ------------------------------------------------------------- */

struct item {
	struct netfil_filter f;
	bool counters;
	int line;
};

/* "filter add id N MATCH [start T] OPTIONS" */
static int parse_filter_line(int argc, char **argv, struct item *it, unsigned int flags,
			     struct netfil_err *e)
{
	struct netfil_filter *f = &it->f;
	uint64_t start;
	int n, r;

	/* "id ID" is what netfil save writes; a hand-written file may leave
	 * the choice of ids to netfil */
	if (argc > 2 && !strcmp(argv[2], "id")) {
		if (argc < 4 || netfil_parse_u32(argv[3], &f->id) || !f->id)
			return bad(e, "invalid filter id '%s'", argc > 3 ? argv[3] : "");
		argc -= 2;
		argv += 2;
	}
	argc -= 2;
	argv += 2;
	f->on = true;
	n = netfil_parse_match(argc, argv, &f->match, e);
	if (n < 0 && (flags & NETFIL_RESTORE_LENIENT) && argc >= 3 &&
	    !strcmp(argv[0], "socket") && netfil_parse_u32(argv[2], (uint32_t *)&f->match.pid) == 0) {
		it->line = -it->line;	/* its process is gone: skip it */
		return 0;
	}
	if (n < 0)
		return -EINVAL;
	if (f->match.kind == NETFIL_SOCKET && n < argc && !strcmp(argv[n], "start")) {
		if (parse_u64("start", n + 1 < argc ? argv[n + 1] : NULL, &f->match.start, e))
			return -EINVAL;
		if (netfil_proc_start(f->match.pid, &start) || start != f->match.start) {
			if (flags & NETFIL_RESTORE_LENIENT) {
				it->line = -it->line;
				return 0;
			}
			return bad(e, "process %d started at %llu is gone", f->match.pid,
				   (unsigned long long)f->match.start);
		}
		n += 2;
	}
	r = netfil_parse_filter_opts(argc - n, argv + n, f, NETFIL_OPT_STATE, e);
	if (r < 0)
		return -EINVAL;
	if (r != argc - n)
		return bad(e, "unexpected argument '%s'", argv[n + r]);
	if (flags & NETFIL_RESTORE_LENIENT && f->match.kind == NETFIL_IFACE)
		f->match.allow_missing = true;
	return check_ifaces(&f->match, e);
}

/* "counters ID bytes-in N ... exceeded none|in|out|in,out" */
static int parse_counters_line(int argc, char **argv, struct item *items, int n,
			       struct netfil_err *e)
{
	static const char *const keys[9] = { "bytes-in", "bytes-out", "packets-in",
					     "packets-out", "dropped-in", "dropped-out",
					     "exceeded-at-in", "exceeded-at-out", "period-last" };
	struct item *it = NULL;
	struct netfil_filter *f;
	uint64_t *dst[9];
	uint32_t id;
	int i, k;

	if (argc < 2 || netfil_parse_u32(argv[1], &id) || !id)
		return bad(e, "expected 'counters ID ...', got '%s'", argc > 1 ? argv[1] : argv[0]);
	for (i = 0; i < n; i++)
		if (items[i].f.id == id)
			it = &items[i];
	if (!it)
		return bad(e, "counters for filter '%s', which no earlier line adds", argv[1]);
	f = &it->f;
	dst[0] = &f->bytes[0]; dst[1] = &f->bytes[1];
	dst[2] = &f->packets[0]; dst[3] = &f->packets[1];
	dst[4] = &f->dropped[0]; dst[5] = &f->dropped[1];
	dst[6] = &f->exceeded_at[0]; dst[7] = &f->exceeded_at[1];
	dst[8] = (uint64_t *)&f->period.last;
	for (i = 2; i < argc; i += 2) {
		for (k = 0; k < 9 && strcmp(argv[i], keys[k]); k++)
			;
		if (k < 9) {
			if (parse_u64(argv[i], i + 1 < argc ? argv[i + 1] : NULL, dst[k], e))
				return -EINVAL;
		} else if (!strcmp(argv[i], "exceeded") && i + 1 < argc) {
			const char *v = argv[i + 1];

			if (strcmp(v, "none") && strcmp(v, "in") && strcmp(v, "out") &&
			    strcmp(v, "in,out"))
				return bad(e, "invalid value '%s' for exceeded", v);
			f->exceeded[0] = !strcmp(v, "in") || !strcmp(v, "in,out");
			f->exceeded[1] = !strcmp(v, "out") || !strcmp(v, "in,out");
		} else {
			return bad(e, "unknown argument '%s'", argv[i]);
		}
	}
	it->counters = true;
	return 0;
}

/* One line into items[*n]; 0 also for blank lines and comments. */
static int parse_line(char *line, struct item *items, int *n, int lineno,
		      unsigned int flags, struct netfil_err *e)
{
	char *args[64], *save, *tok;
	int k = 0, i, err;

	if (strchr(line, '#'))
		*strchr(line, '#') = '\0';
	for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (k == 64)
			return bad(e, "too many words, from '%s'", tok);
		args[k++] = tok;
	}
	if (!k)
		return 0;
	if (!strcmp(args[0], "counters"))
		return parse_counters_line(k, args, items, *n, e);
	if (k < 2 || strcmp(args[0], "filter") || strcmp(args[1], "add"))
		return bad(e, "unknown line '%s' (filter add or counters)", args[0]);
	memset(&items[*n], 0, sizeof(items[*n]));
	items[*n].line = lineno;
	err = parse_filter_line(k, args, &items[*n], flags, e);
	for (i = 0; i < *n && !err; i++) {
		if (items[i].f.id && items[i].f.id == items[*n].f.id)
			return bad(e, "filter id %u is already added on line %d",
				   items[*n].f.id, abs(items[i].line));
		if (items[i].line > 0 && items[*n].line > 0 &&
		    netfil_match_conflict(&items[i].f.match, &items[*n].f.match))
			return bad(e, "filter %u matches what line %d already matches",
				   items[*n].f.id, items[i].line);
	}
	*n += !err;
	return err;
}

/* Make the configuration exactly items[0..n): remove every filter in
 * cur, add these, the ones with ids first (so that an id netfil picks
 * for the others cannot take one the file names).  Each item's f.id is
 * the filter's id once added.  On failure *at is the item that failed;
 * with keep_going (putting things back) the rest is still tried. */
static int apply(struct netfil *nf, struct item *items, int n,
		 const struct netfil_filter *cur, int ncur, int *at, bool keep_going)
{
	int i, pass, err = 0, e;
	uint32_t id;

	for (i = 0; i < ncur && !err; i++)
		err = netfil_filter_del(nf, cur[i].id);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n && (!err || keep_going); i++) {
			if (items[i].line < 0 || (items[i].f.id == 0) != (pass == 1))
				continue;
			e = netfil_filter_add(nf, &items[i].f, &id);
			if (!e)
				items[i].f.id = id;
			if (!e && items[i].counters)
				e = netfil_filter_set_counters(nf, &items[i].f);
			if (e && !err)
				*at = i;
			err = err ?: e;
		}
	return err;
}

int netfil_restore(struct netfil *nf, FILE *in, const char *name, unsigned int flags,
		   struct netfil_err *e)
{
	struct netfil_filter *cur = NULL;
	struct item *items = NULL, *back = NULL;
	int n = 0, cap = 0, lineno = 0, ncur = 0, i, at = 0, err = 0;
	char *line = NULL;
	size_t lcap = 0;

	/* Pass 1: every line parsed and checked; nothing changes yet. */
	while (!err && getline(&line, &lcap, in) > 0) {
		lineno++;
		if (n == cap) {
			struct item *m = realloc(items, sizeof(*items) * (size_t)(cap = cap * 2 + 16));

			if (!m) {
				err = bad(e, "%s:%d: out of memory", name, lineno);
				break;
			}
			items = m;
		}
		err = parse_line(line, items, &n, lineno, flags, e);
		if (err) {
			char msg[sizeof(e->msg)];

			memcpy(msg, e->msg, sizeof(msg));
			bad(e, "%s:%d: %.200s", name, lineno, msg);
		}
	}
	free(line);
	if (!err && ferror(in))
		err = bad(e, "%s: read error", name);
	if (err)
		goto out;
	for (i = 0; i < n; i++)
		if (items[i].line < 0)
			pr_warn(nf, "%s:%d: process %d is gone; its filter %u is not restored\n",
				name, -items[i].line, items[i].f.match.pid, items[i].f.id);

	/* Pass 2: apply; on failure, put the previous configuration back. */
	ncur = snapshot(nf, &cur);
	back = ncur < 0 ? NULL : calloc((size_t)ncur + 1, sizeof(*back));
	if (ncur < 0 || !back) {
		err = bad(e, "%s: reading the current configuration: %s", name,
			  strerror(ncur < 0 ? -ncur : ENOMEM));
		goto out;
	}
	for (i = 0; i < ncur; i++) {
		back[i].f = cur[i];
		back[i].counters = true;
		back[i].line = 1;
	}
	err = apply(nf, items, n, cur, ncur, &at, false);
	if (err) {
		int ae = err, line = n ? abs(items[at].line) : 0;

		for (i = 0; i < n; i++)	/* whatever of the file got in */
			if (items[i].line > 0 && items[i].f.id)
				netfil_filter_del(nf, items[i].f.id);
		err = apply(nf, back, ncur, NULL, 0, &at, true);
		bad(e, "%s:%d: %s; %s", name, line, strerror(-ae),
		    err ? "the previous configuration is only partly back" : "nothing changed");
		err = ae;
	}
out:
	free(items);
	free(back);
	free(cur);
	return err;
}
