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
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

/* What follows each socket match word, for error messages. */
static const char *const by_arg[] = {
	[NETFIL_BY_PID] = "PID", [NETFIL_BY_TREE] = "PID", [NETFIL_BY_EXE] = "PATH",
	[NETFIL_BY_USER] = "USER", [NETFIL_BY_CGROUP] = "PATH", [NETFIL_BY_UNIT] = "NAME",
};


int nf_bad(struct netfil_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int netfil_parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;
	int err = netfil_parse_number(s, UINT32_MAX, &x);

	if (err)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

static int parse_u64(const char *key, const char *val, uint64_t *out,
		     struct netfil_err *e)
{
	int err;

	if (!val)
		return nf_bad(e, "missing value after '%s'", key);
	err = netfil_parse_number(val, UINT64_MAX, out);
	if (err == -ERANGE)
		return nf_bad(e, "number '%s' for %s overflows 64 bits", val, key);
	if (err)
		return nf_bad(e, "invalid number '%s' for %s", val, key);
	return 0;
}

int netfil_parse_pid(const char *s, int *pid, struct netfil_err *e)
{
	uint64_t start;
	uint32_t v;

	if (netfil_parse_u32(s, &v) || !v || v > INT32_MAX)
		return nf_bad(e, "invalid pid '%s'", s);
	if (netfil_proc_start((int)v, &start))
		return nf_bad(e, "no process with pid '%s'", s);
	*pid = (int)v;
	return 0;
}

int netfil_parse_time(const char *s, int64_t *t)
{
	struct tm tm = {};
	uint64_t v;
	char *end;

	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && !*end) {
		tm.tm_isdst = -1;
		*t = (int64_t)mktime(&tm);
		return 0;
	}
	if (netfil_parse_number(s, INT64_MAX, &v))
		return -EINVAL;
	*t = (int64_t)v;
	return 0;
}

static int parse_size_arg(const char *key, const char *val, uint64_t *out,
			  struct netfil_err *e)
{
	int err;

	if (!val)
		return nf_bad(e, "missing SIZE after '%s'", key);
	err = netfil_parse_size(val, out);
	if (err == -ERANGE)
		return nf_bad(e, "size '%s' for %s overflows 64 bits", val, key);
	if (err)
		return nf_bad(e, "invalid size '%s' for %s", val, key);
	return 0;
}

/* "HH:MM" (or ":MM" / "MM" for hourly); each part through the checked
 * number parser, so "-4294967290" or "4294967297:5" cannot wrap into a
 * valid time. */
static int parse_at(const char *s, struct netfil_period *p, struct netfil_err *e)
{
	char hh[8] = "";
	const char *colon = strchr(s, ':'), *mm = s;
	uint64_t h = 0, m;

	if (p->every == NETFIL_HOURLY) {
		if (colon == s)
			mm = s + 1;
		if ((colon && colon != s) || netfil_parse_number(mm, 59, &m))
			return nf_bad(e, "invalid minute '%s' (:MM, 00 to 59)", s);
	} else {
		if (!colon || colon == s || colon - s > 2)
			return nf_bad(e, "invalid time '%s' (HH:MM)", s);
		memcpy(hh, s, (size_t)(colon - s));
		if (netfil_parse_number(hh, 23, &h) || netfil_parse_number(colon + 1, 59, &m) ||
		    strlen(colon + 1) > 2)
			return nf_bad(e, "invalid time '%s' (HH:MM, 00:00 to 23:59)", s);
	}
	if (strlen(mm) > 2 && p->every == NETFIL_HOURLY)
		return nf_bad(e, "invalid minute '%s' (:MM, 00 to 59)", s);
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
		return nf_bad(e, "missing value after 'period'");
	memset(p, 0, sizeof(*p));
	k = netfil_every_parse(argv[0]);
	if (k < 0)
		return nf_bad(e, "unknown period '%s' (hourly, daily, weekly, monthly or none)", argv[0]);
	p->every = (enum netfil_every)k;
	if (p->every == NETFIL_PERIOD_NONE)
		return 1;	/* no schedule: all zero, as a filter without one */
	p->wday = 1;	/* Monday */
	p->mday = 1;
	if (p->every == NETFIL_WEEKLY && i < argc) {
		k = netfil_day_parse(argv[i]);
		if (k >= 0) {
			p->wday = k;
			i++;
		}
	}
	if (p->every == NETFIL_MONTHLY && i < argc && !strcmp(argv[i], "day")) {
		if (i + 1 >= argc || netfil_parse_u32(argv[i + 1], &d) || d < 1 || d > 31)
			return nf_bad(e, "invalid day '%s' (1 to 31)", i + 1 < argc ? argv[i + 1] : "day");
		p->mday = (int)d;
		i += 2;
	}
	if (p->every != NETFIL_PERIOD_NONE && i < argc && !strcmp(argv[i], "at")) {
		if (i + 1 >= argc)
			return nf_bad(e, "missing time after 'at'");
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
		snprintf(buf, len, "weekly %s at %02d:%02d", netfil_day_name(p->wday % 7), p->hour, p->minute);
		return;
	case NETFIL_MONTHLY:
		snprintf(buf, len, "monthly day %d at %02d:%02d", p->mday, p->hour, p->minute);
		return;
	default:
		snprintf(buf, len, "none");
	}
}

int netfil_parse_addr_port(const char *s, int *family, uint8_t addr[16], uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *p;
	bool v6 = s[0] == '[';
	uint64_t v;
	size_t n;
	int err;

	if (v6) {
		p = strchr(s, ']');
		if (!p || p[1] != ':')
			return -EINVAL;
		n = (size_t)(p - s - 1);
		colon = p + 1;
		s++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (!n || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(addr, 0, 16);
	*family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(*family, host, addr) != 1)
		return -EINVAL;
	/* ::ffff:a.b.c.d is the IPv4 host: it serves AF_INET sockets too */
	if (*family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)addr)) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	}
	err = netfil_parse_number(colon + 1, 65535, &v);
	if (err)
		return err;
	if (!v)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

void netfil_format_addr_port(int family, const uint8_t addr[16], uint16_t port,
			     char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

/* A proxy's host, resolved now (the kernel side needs an address to
 * keep the proxy's own connections out of the redirect). */
static int proxy_addr(struct netfil_redirect *r, struct netfil_err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int err;

	if (inet_pton(AF_INET, r->proxy.host, r->addr) == 1) {
		r->family = AF_INET;
	} else if (inet_pton(AF_INET6, r->proxy.host, r->addr) == 1) {
		r->family = AF_INET6;
	} else {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		return nf_bad(e, "cannot resolve proxy host '%s': not while fuzzing", r->proxy.host);
#endif
		err = getaddrinfo(r->proxy.host, NULL, &hints, &ai);
		if (err)
			return nf_bad(e, "cannot resolve proxy host '%s': %s", r->proxy.host,
				      gai_strerror(err));
		r->family = ai->ai_family;
		if (ai->ai_family == AF_INET)
			memcpy(r->addr, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		else
			memcpy(r->addr, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		freeaddrinfo(ai);
	}
	r->port = r->proxy.port;
	return 0;
}

/* After "redirect" ("to ADDR:PORT" or "none") or "proxy" ("URL" or
 * "none"), then [fail open|closed]; returns the words used.  An IP
 * filter's ports and protocol stay (they may come first). */
static int parse_redirect(int argc, char **argv, struct netfil_filter *f, bool proxy,
			  struct netfil_err *e)
{
	struct netfil_redirect *r = &f->redirect, was = *r;
	const char *kw = nf_rd_word(proxy ? NF_RD_PROXY : NF_RD_REDIRECT);
	int err, k, n;

	if (f->match.kind == NETFIL_IFACE)
		return nf_bad(e, "'%s' is not for interface filters", kw);
	if (argc < 1 && proxy)
		return nf_bad(e, "missing URL or '%s' after '%s'", nf_rd_word(NF_RD_NONE), kw);
	if (argc < 1)
		return nf_bad(e, "missing '%s ADDR:PORT' or '%s' after '%s'", nf_rd_word(NF_RD_TO),
			      nf_rd_word(NF_RD_NONE), kw);
	memset(r, 0, sizeof(*r));
	if (!strcmp(argv[0], nf_rd_word(NF_RD_NONE)))
		return 1;
	r->dport_lo = was.dport_lo;
	r->dport_hi = was.dport_hi;
	r->proto = was.proto;
	if (proxy) {
		char url[4 * NETFIL_URL_LEN];

		if (netfil_proxy_parse(argv[0], &r->proxy, e))
			return -EINVAL;
		/* as kept in nf_meta, escapes and all */
		netfil_proxy_format(&r->proxy, true, url, sizeof(url));
		if (strlen(url) >= NETFIL_URL_LEN)
			return nf_bad(e, "proxy URL '%s' is too long (%d bytes at most, escaped)",
				      argv[0], NETFIL_URL_LEN - 1);
		if (proxy_addr(r, e))
			return -EINVAL;
		n = 1;
	} else {
		if (strcmp(argv[0], nf_rd_word(NF_RD_TO)))
			return nf_bad(e, "unknown argument '%s' after '%s' ('%s ADDR:PORT' or '%s')",
				      argv[0], kw, nf_rd_word(NF_RD_TO), nf_rd_word(NF_RD_NONE));
		if (argc < 2)
			return nf_bad(e, "missing ADDR:PORT after '%s'", nf_rd_word(NF_RD_TO));
		err = netfil_parse_addr_port(argv[1], &r->family, r->addr, &r->port);
		if (err == -ERANGE)
			return nf_bad(e, "port out of range in '%s' (1 to 65535)", argv[1]);
		if (err)
			return nf_bad(e, "invalid ADDR:PORT '%s' (1.2.3.4:1080 or [::1]:1080)",
				      argv[1]);
		n = 2;
	}
	if (argc < n + 1 || strcmp(argv[n], nf_rd_word(NF_RD_FAIL)))
		return n;
	if (argc < n + 2)
		return nf_bad(e, "missing '%s' or '%s' after '%s'", netfil_fail_name(NETFIL_FAIL_OPEN),
			      netfil_fail_name(NETFIL_FAIL_CLOSED), nf_rd_word(NF_RD_FAIL));
	k = netfil_fail_parse(argv[n + 1]);
	if (k < 0)
		return nf_bad(e, "unknown fail policy '%s' (%s or %s)", argv[n + 1],
			      netfil_fail_name(NETFIL_FAIL_OPEN), netfil_fail_name(NETFIL_FAIL_CLOSED));
	r->fail = (enum netfil_fail)k;
	return n + 2;
}

/* An IP filter's "port N[-M]" or "proto tcp|udp" (what its redirect
 * applies to): the words used. */
static int parse_narrow(int argc, char **argv, struct netfil_filter *f, struct netfil_err *e)
{
	struct netfil_redirect *r = &f->redirect;
	bool port = !strcmp(argv[0], nf_rd_word(NF_RD_PORT));
	unsigned long lo, hi;
	char *end;
	int k;

	if (f->match.kind != NETFIL_IP)
		return nf_bad(e, "'%s' is only for ip filters", argv[0]);
	if (argc < 2)
		return nf_bad(e, "missing value after '%s'", argv[0]);
	if (!port) {
		k = netfil_proto_parse(argv[1]);
		if (k < 0)
			return nf_bad(e, "unknown protocol '%s' (%s or %s)", argv[1],
				      netfil_proto_name(IPPROTO_TCP), netfil_proto_name(IPPROTO_UDP));
		r->proto = k;
		return 2;
	}
	errno = 0;
	lo = hi = strtoul(argv[1], &end, 10);
	if (*end == '-' && end > argv[1] && end[1] >= '0' && end[1] <= '9')
		hi = strtoul(end + 1, &end, 10);
	if (errno || *end || argv[1][0] < '0' || argv[1][0] > '9' || !lo || hi > 65535 || lo > hi)
		return nf_bad(e, "invalid port or port range '%s' (1 to 65535, N or N-M)", argv[1]);
	r->dport_lo = (uint16_t)lo;
	r->dport_hi = (uint16_t)hi;
	return 2;
}

/* After "queue": "none", or [new|all] [fail open|closed] [timeout MS] in
 * any order (new, closed and the default timeout when left out); returns
 * the words used. */
static int parse_queue(int argc, char **argv, struct netfil_filter *f, struct netfil_err *e)
{
	struct netfil_queue *q = &f->queue;
	const char *fail = nf_rd_word(NF_RD_FAIL), *tmo = nf_q_word(NF_Q_TIMEOUT);
	unsigned long ms;
	char *end;
	int i = 0, k;

	memset(q, 0, sizeof(*q));
	if (argc > 0 && !strcmp(argv[0], netfil_queue_mode_name(NETFIL_QUEUE_NONE)))
		return 1;
	q->mode = NETFIL_QUEUE_NEW;
	q->timeout_ms = NETFIL_QUEUE_TIMEOUT_MS;
	while (i < argc) {
		k = nf_queue_mode_parse(argv[i]);
		if (k > NETFIL_QUEUE_NONE) {
			q->mode = (enum netfil_queue_mode)k;
			i++;
		} else if (!strcmp(argv[i], fail)) {
			if (i + 1 >= argc)
				return nf_bad(e, "missing '%s' or '%s' after '%s'",
					      netfil_fail_name(NETFIL_FAIL_OPEN),
					      netfil_fail_name(NETFIL_FAIL_CLOSED), fail);
			k = netfil_fail_parse(argv[i + 1]);
			if (k < 0)
				return nf_bad(e, "unknown fail policy '%s' (%s or %s)", argv[i + 1],
					      netfil_fail_name(NETFIL_FAIL_OPEN),
					      netfil_fail_name(NETFIL_FAIL_CLOSED));
			q->fail = (enum netfil_fail)k;
			i += 2;
		} else if (!strcmp(argv[i], tmo)) {
			if (i + 1 >= argc)
				return nf_bad(e, "missing milliseconds after '%s'", tmo);
			errno = 0;
			ms = strtoul(argv[i + 1], &end, 10);
			if (errno || *end || argv[i + 1][0] < '0' || argv[i + 1][0] > '9' || !ms ||
			    ms > NETFIL_QUEUE_TIMEOUT_MAX)
				return nf_bad(e, "invalid timeout '%s' (1 to %d ms)", argv[i + 1],
					      NETFIL_QUEUE_TIMEOUT_MAX);
			q->timeout_ms = (uint32_t)ms;
			i += 2;
		} else {
			break;
		}
	}
	return i;
}

void netfil_format_queue(const struct netfil_queue *q, char *buf, size_t len)
{
	if (q->mode == NETFIL_QUEUE_NONE) {
		snprintf(buf, len, "%s %s", nf_q_word(NF_Q_QUEUE),
			 netfil_queue_mode_name(NETFIL_QUEUE_NONE));
		return;
	}
	snprintf(buf, len, "%s %s %s %s %s %u", nf_q_word(NF_Q_QUEUE), netfil_queue_mode_name(q->mode),
		 nf_rd_word(NF_RD_FAIL), netfil_fail_name(q->fail), nf_q_word(NF_Q_TIMEOUT),
		 q->timeout_ms);
}

void netfil_format_redirect(const struct netfil_redirect *r, bool secret, char *buf, size_t len)
{
	char to[NETFIL_URL_LEN], narrow[48] = "";
	size_t n = 0;

	if (!r->family) {
		snprintf(buf, len, "%s %s", nf_rd_word(NF_RD_REDIRECT), nf_rd_word(NF_RD_NONE));
		return;
	}
	if (r->dport_hi)
		n += (size_t)snprintf(narrow, sizeof(narrow), r->dport_lo == r->dport_hi ?
				      "%s %u " : "%s %u-%u ", nf_rd_word(NF_RD_PORT),
				      r->dport_lo, r->dport_hi);
	if (r->proto)
		snprintf(narrow + n, sizeof(narrow) - n, "%s %s ", nf_rd_word(NF_RD_PROTO),
			 netfil_proto_name(r->proto));
	if (r->proxy.kind) {
		netfil_proxy_format(&r->proxy, secret, to, sizeof(to));
		snprintf(buf, len, "%s%s %s %s %s", narrow, nf_rd_word(NF_RD_PROXY), to,
			 nf_rd_word(NF_RD_FAIL), netfil_fail_name(r->fail));
		return;
	}
	netfil_format_addr_port(r->family, r->addr, r->port, to, sizeof(to));
	snprintf(buf, len, "%s%s %s %s %s %s", narrow, nf_rd_word(NF_RD_REDIRECT),
		 nf_rd_word(NF_RD_TO), to, nf_rd_word(NF_RD_FAIL), netfil_fail_name(r->fail));
}

int netfil_parse_filter_opts(int argc, char **argv, struct netfil_filter *f,
			     unsigned int flags, struct netfil_err *e)
{
	unsigned int what;

	return netfil_parse_filter_change(argc, argv, f, flags, &what, e);
}

int netfil_parse_filter_change(int argc, char **argv, struct netfil_filter *f,
			       unsigned int flags, unsigned int *what, struct netfil_err *e)
{
	bool iface = f->match.kind == NETFIL_IFACE;
	/* --allow-missing: kinds that name something that may not exist yet */
	bool may_miss = iface || (f->match.kind == NETFIL_SOCKET && f->match.by >= NETFIL_BY_EXE &&
				  f->match.by != NETFIL_BY_USER);
	int i, j, n;

	*what = 0;
	for (i = 0; i < argc; i++) {
		j = netfil_limit_parse(argv[i]);
		if (j >= 0) {
			if (parse_size_arg(argv[i], i + 1 < argc ? argv[i + 1] : NULL,
					   &f->limit[j], e))
				return -EINVAL;
			*what |= NETFIL_SET_LIMIT(j);
			i++;
		} else if (!iface && !strcmp(argv[i], "action")) {
			if (i + 1 >= argc)
				return nf_bad(e, "missing value after 'action'");
			i++;
			j = netfil_action_parse(argv[i]);
			if (j < 0)
				return nf_bad(e, "unknown action '%s' (reject or drop)", argv[i]);
			f->action = (enum netfil_action)j;
			*what |= NETFIL_SET_ACTION;
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], "period")) {
			n = parse_period(argc - i - 1, argv + i + 1, &f->period, e);
			if (n < 0)
				return -EINVAL;
			*what |= NETFIL_SET_PERIOD;
			i += n;
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], netfil_onoff_name(true))) {
			f->on = true;
			*what |= NETFIL_SET_ON;
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], netfil_onoff_name(false))) {
			f->on = false;
			*what |= NETFIL_SET_ON;
		} else if ((flags & NETFIL_OPT_STATE) &&
			   (!strcmp(argv[i], nf_rd_word(NF_RD_REDIRECT)) ||
			    !strcmp(argv[i], nf_rd_word(NF_RD_PROXY)))) {
			n = parse_redirect(argc - i - 1, argv + i + 1, f,
					   !strcmp(argv[i], nf_rd_word(NF_RD_PROXY)), e);
			if (n < 0)
				return -EINVAL;
			*what |= NETFIL_SET_REDIRECT;
			i += n;
		} else if ((flags & NETFIL_OPT_STATE) && !strcmp(argv[i], nf_q_word(NF_Q_QUEUE))) {
			n = parse_queue(argc - i - 1, argv + i + 1, f, e);
			if (n < 0)
				return -EINVAL;
			*what |= NETFIL_SET_QUEUE;
			i += n;
		} else if ((flags & NETFIL_OPT_STATE) &&
			   (!strcmp(argv[i], nf_rd_word(NF_RD_PORT)) ||
			    !strcmp(argv[i], nf_rd_word(NF_RD_PROTO)))) {
			n = parse_narrow(argc - i, argv + i, f, e);
			if (n < 0)
				return -EINVAL;
			*what |= NETFIL_SET_REDIRECT;
			i += n - 1;
		} else if ((flags & NETFIL_OPT_STATE) && may_miss &&
			   !strcmp(argv[i], "--allow-missing")) {
			f->match.allow_missing = true;
			*what |= NETFIL_SET_ALLOW_MISSING;
		} else if (!strcmp(argv[i], "--")) {
			break;
		} else {
			return nf_bad(e, "unknown argument '%s'", argv[i]);
		}
	}
	if (!f->redirect.family && (f->redirect.dport_hi || f->redirect.proto))
		return nf_bad(e, "'%s' needs '%s %s ADDR:PORT' or '%s URL'",
			      nf_rd_word(f->redirect.dport_hi ? NF_RD_PORT : NF_RD_PROTO),
			      nf_rd_word(NF_RD_REDIRECT), nf_rd_word(NF_RD_TO), nf_rd_word(NF_RD_PROXY));
	return i;
}

/* An exe, cgroup or unit filter's path: exe paths are made absolute
 * (not resolved: a symlink such as an alternatives link is followed
 * afresh at each resolution), a unit name gets ".service" if it has no
 * suffix, as systemctl does. */
static int parse_path(struct netfil_match *m, const char *arg, struct netfil_err *e)
{
	char cwd[PATH_MAX];
	const char *bad;
	size_t n;

	for (bad = arg; *bad && *bad != '#' && (unsigned char)*bad > ' '; bad++)
		;
	if (*bad || !*arg)
		return nf_bad(e, "%s '%s' has a blank, '#' or control character", by_arg[m->by], arg);
	n = strlen(arg);
	if (m->by == NETFIL_BY_UNIT) {
		if (strchr(arg, '/') || arg[0] == '.')
			return nf_bad(e, "invalid unit name '%s'", arg);
		snprintf(m->path, sizeof(m->path), "%s%s", arg, strchr(arg, '.') ? "" : ".service");
		if (n + 8 >= sizeof(m->path))
			return nf_bad(e, "unit name '%s' is too long", arg);
		return 0;
	}
	if (m->by == NETFIL_BY_EXE && arg[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(m->path, sizeof(m->path), "%s/%s", cwd, arg) >= sizeof(m->path))
			return nf_bad(e, "path '%s' is too long", arg);
		return 0;
	}
	if (n >= sizeof(m->path))
		return nf_bad(e, "path '%s' is too long", arg);
	strcpy(m->path, arg);
	return 0;
}

bool netfil_match_conflict(const struct netfil_match *a, const struct netfil_match *b)
{
	int i, j;

	if (a->kind != b->kind)
		return false;
	if (a->kind == NETFIL_SOCKET) {
		if (a->by != b->by)
			return false;
		if (a->by == NETFIL_BY_PID || a->by == NETFIL_BY_TREE)
			return a->pid == b->pid;
		if (a->by == NETFIL_BY_USER)
			return a->uid == b->uid;
		return !strcmp(a->path, b->path);
	}
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
		switch (m->by) {
		case NETFIL_BY_PID:
		case NETFIL_BY_TREE:
			snprintf(buf, len, "%s %d", netfil_by_name(m->by), m->pid);
			return;
		case NETFIL_BY_USER: {
			char name[64];

			netfil_user_name(m->uid, name, sizeof(name));
			snprintf(buf, len, "%s %s", netfil_by_name(m->by), name);
			return;
		}
		default:
			snprintf(buf, len, "%s %s", netfil_by_name(m->by), m->path);
			return;
		}
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
	char list[NETFIL_MAX_IFACES_PER_FILTER * (NETFIL_IFNAME_LEN + 1)], *tok, *next;
	int err, kind;

	memset(m, 0, sizeof(*m));
	if (argc < 1)
		return nf_bad(e, "missing filter kind (socket, ip or interface)");
	kind = netfil_kind_parse(argv[0]);
	if (kind == NETFIL_SOCKET) {
		m->kind = NETFIL_SOCKET;
		if (argc < 2)
			return nf_bad(e, "missing 'pid', 'tree', 'exe', 'user', 'cgroup' or 'unit' after 'socket'");
		err = netfil_by_parse(argv[1]);
		if (err < 0)
			return nf_bad(e, "unknown socket match '%s' (pid, tree, exe, user, cgroup or unit)",
				   argv[1]);
		m->by = (enum netfil_by)err;
		if (argc < 3)
			return nf_bad(e, "missing %s after '%s'", by_arg[m->by], argv[1]);
		if (m->by == NETFIL_BY_PID || m->by == NETFIL_BY_TREE)
			return netfil_parse_pid(argv[2], &m->pid, e) ? -EINVAL : 3;
		if (m->by == NETFIL_BY_USER)
			return netfil_parse_user(argv[2], &m->uid) ?
			       nf_bad(e, "unknown user '%s'", argv[2]) : 3;
		return parse_path(m, argv[2], e) ?: 3;
	}
	if (kind == NETFIL_IP) {
		if (argc < 2)
			return nf_bad(e, "missing PREFIX after 'ip'");
		err = netfil_parse_prefix(argv[1], m);
		if (err == -ERANGE)
			return nf_bad(e, "prefix length out of range in '%s'", argv[1]);
		if (err)
			return nf_bad(e, "invalid address or prefix '%s'", argv[1]);
		return 2;
	}
	if (kind == NETFIL_IFACE) {
		m->kind = NETFIL_IFACE;
		if (argc < 2)
			return nf_bad(e, "missing interface list after 'interface'");
		if (strlen(argv[1]) >= sizeof(list))
			return nf_bad(e, "interface list '%s' is too long", argv[1]);
		strcpy(list, argv[1]);
		/* split by hand: strtok would pass over the empty name in
		 * "lo,,eth0" or ",lo" without a word */
		for (tok = list; tok; tok = next) {
			int i;

			next = strchr(tok, ',');
			if (next)
				*next++ = '\0';
			if (!*tok)
				return nf_bad(e, "empty interface name in '%s'", argv[1]);

			if (m->n_ifaces == NETFIL_MAX_IFACES_PER_FILTER)
				return nf_bad(e, "more than %d interfaces in '%s'",
					   NETFIL_MAX_IFACES_PER_FILTER, argv[1]);
			if (strlen(tok) >= NETFIL_IFNAME_LEN)
				return nf_bad(e, "interface name '%s' is too long", tok);
			/* '#' starts a comment in saved files: such a name
			 * would not read back */
			if (strchr(tok, '#'))
				return nf_bad(e, "interface name '%s' has a '#'", tok);
			for (i = 0; i < m->n_ifaces; i++)
				if (!strcmp(m->ifaces[i], tok))
					return nf_bad(e, "interface '%s' listed twice", tok);
			strcpy(m->ifaces[m->n_ifaces++], tok);
		}
		if (!m->n_ifaces)
			return nf_bad(e, "empty interface list '%s'", argv[1]);
		return 2;
	}
	return nf_bad(e, "unknown filter kind '%s' (socket, ip or interface)", argv[0]);
}

/* What exe, cgroup and unit filters name must exist, unless
 * --allow-missing: a typo should not wait silently. */
static int check_owner(const struct netfil_match *m, struct netfil_err *e)
{
	char dir[NETFIL_PATH_LEN];
	uint64_t a, b;
	int err;

	if (m->kind != NETFIL_SOCKET || m->allow_missing)
		return 0;
	switch (m->by) {
	case NETFIL_BY_EXE:
		err = netfil_exe_identity(m->path, &a, &b);
		if (err == -EACCES)
			return nf_bad(e, "'%s' is not an executable file", m->path);
		if (err)
			return nf_bad(e, "no file '%s' (--allow-missing adds it anyway)", m->path);
		return 0;
	case NETFIL_BY_CGROUP:
		if (netfil_cgroup_resolve(m->path, dir, sizeof(dir), &a))
			return nf_bad(e, "no cgroup '%s' (--allow-missing adds it anyway)", m->path);
		return 0;
	case NETFIL_BY_UNIT:
		if (netfil_unit_resolve(m->path, dir, sizeof(dir), &a))
			return nf_bad(e, "unknown unit '%s': no cgroup of that name (not running?"
				      " --allow-missing adds it anyway)", m->path);
		return 0;
	default:
		return 0;
	}
}

/* An interface filter may name interfaces that do not exist yet only
 * when asked to: a typo should not wait silently for an "eht0". */
static int check_ifaces(const struct netfil_match *m, struct netfil_err *e)
{
	int i;

	if (check_owner(m, e))
		return -EINVAL;

	if (m->kind != NETFIL_IFACE || m->allow_missing)
		return 0;
	for (i = 0; i < m->n_ifaces; i++)
		if (!if_nametoindex(m->ifaces[i]))
			return nf_bad(e, "unknown interface '%s' (--allow-missing adds it anyway)",
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
		return nf_bad(e, "unexpected argument '%s'", argv[n + r]);
	return check_ifaces(&f->match, e);
}

/* ---- save ---------------------------------------------------------------- */

/* The numbers of a "counters" line: bytes, packets, dropped and
 * exceeded-at in and out, then the period's last boundary. */
#define N_COUNTER_KEYS 9
static void counter_key(int k, char *buf, size_t len)
{
	static const enum netfil_counter c[4] = { NETFIL_C_BYTES, NETFIL_C_PACKETS,
						   NETFIL_C_DROPPED, NETFIL_C_EXCEEDED_AT };

	if (k == 8)
		snprintf(buf, len, "period-last");
	else
		netfil_counter_key(c[k / 2], k % 2, '-', buf, len);
}

static uint64_t *counter_ptr(struct netfil_filter *f, int k)
{
	uint64_t *v[N_COUNTER_KEYS] = { &f->bytes[0], &f->bytes[1], &f->packets[0],
		&f->packets[1], &f->dropped[0], &f->dropped[1], &f->exceeded_at[0],
		&f->exceeded_at[1], (uint64_t *)&f->period.last };

	return v[k];
}

static void save_one(FILE *out, const struct netfil_filter *f, unsigned int flags)
{
	const struct netfil_match *m = &f->match;
	char buf[256];
	int i;

	/* id 0 and start 0 mean "netfil picks" and "read it from /proc":
	 * written as nothing, which reads back as that */
	fprintf(out, "filter add");
	if (f->id)
		fprintf(out, " id %u", f->id);
	fprintf(out, " %s", netfil_kind_name(m->kind));
	if (m->kind == NETFIL_SOCKET && m->by == NETFIL_BY_USER) {
		/* the number: a saved state must come back even if the
		 * name is gone from the passwd database */
		fprintf(out, " %s %u", netfil_by_name(m->by), m->uid);
	} else if (m->kind == NETFIL_SOCKET && m->by > NETFIL_BY_TREE) {
		fprintf(out, " %s %s", netfil_by_name(m->by), m->path);
	} else if (m->kind == NETFIL_SOCKET) {
		fprintf(out, " %s %d", netfil_by_name(m->by), m->pid);
		if (m->start)
			fprintf(out, " start %llu", (unsigned long long)m->start);
	} else {
		netfil_format_match(m, buf, sizeof(buf));
		fprintf(out, " %s", buf);
	}
	for (i = NETFIL_IBYTE; i <= NETFIL_IOBYTE; i++)
		fprintf(out, " %s %llu", netfil_limit_name((enum netfil_limit)i),
			(unsigned long long)f->limit[i]);
	if (m->kind != NETFIL_IFACE)
		fprintf(out, " action %s", netfil_action_name(f->action));
	if (f->redirect.family) {
		char rd[NETFIL_URL_LEN + 96];

		netfil_format_redirect(&f->redirect, true, rd, sizeof(rd));
		fprintf(out, " %s", rd);
	}
	if (f->queue.mode) {
		char qs[96];

		netfil_format_queue(&f->queue, qs, sizeof(qs));
		fprintf(out, " %s", qs);
	}
	if (m->allow_missing)
		fprintf(out, " --allow-missing");
	if (f->period.every != NETFIL_PERIOD_NONE) {
		netfil_format_period(&f->period, buf, sizeof(buf));
		fprintf(out, " period %s", buf);
	}
	fprintf(out, " %s\n", netfil_onoff_name(f->on));
	if (!(flags & NETFIL_SAVE_COUNTERS) || !f->id)
		return;	/* a counters line names its filter by id */
	fprintf(out, "counters %u", f->id);
	for (i = 0; i < N_COUNTER_KEYS; i++) {
		if (i == 6) {	/* in the order netfil has always written them */
			netfil_counter_key(NETFIL_C_EXCEEDED, -1, '-', buf, sizeof(buf));
			fprintf(out, " %s %s", buf, netfil_exceeded_name(f->exceeded));
		}
		counter_key(i, buf, sizeof(buf));
		fprintf(out, " %s %llu", buf, (unsigned long long)*counter_ptr((struct netfil_filter *)f, i));
	}
	fprintf(out, "\n");
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

int netfil_config_write(FILE *out, const struct netfil_filter *f, int n, unsigned int flags)
{
	time_t t = time(NULL);
	char now[32];
	int i;

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(out, "# netfil configuration, saved %s%s\n", now,
		flags & NETFIL_SAVE_COUNTERS ? " with counters" : "");
	for (i = 0; i < n; i++)
		save_one(out, &f[i], flags);
	return ferror(out) ? -EIO : 0;
}

int netfil_save(struct netfil *nf, FILE *out, unsigned int flags)
{
	struct netfil_filter *all = NULL;
	int n, err;

	n = snapshot(nf, &all);
	if (n < 0)
		return n;
	err = netfil_config_write(out, all, n, flags);
	free(all);
	return err;
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
			return nf_bad(e, "invalid filter id '%s'", argc > 3 ? argv[3] : "");
		argc -= 2;
		argv += 2;
	}
	argc -= 2;
	argv += 2;
	f->on = true;
	n = netfil_parse_match(argc, argv, &f->match, e);
	if (n < 0 && (flags & NETFIL_RESTORE_LENIENT) && argc >= 3 &&
	    netfil_kind_parse(argv[0]) == NETFIL_SOCKET && netfil_parse_u32(argv[2], (uint32_t *)&f->match.pid) == 0) {
		it->line = -it->line;	/* its process is gone: skip it */
		return 0;
	}
	if (n < 0)
		return -EINVAL;
	if (f->match.kind == NETFIL_SOCKET && f->match.by <= NETFIL_BY_TREE && n < argc &&
	    !strcmp(argv[n], "start")) {
		if (parse_u64("start", n + 1 < argc ? argv[n + 1] : NULL, &f->match.start, e))
			return -EINVAL;
		if (netfil_proc_start(f->match.pid, &start) || start != f->match.start) {
			if (flags & NETFIL_RESTORE_LENIENT) {
				it->line = -it->line;
				return 0;
			}
			return nf_bad(e, "process %d started at %llu is gone", f->match.pid,
				   (unsigned long long)f->match.start);
		}
		n += 2;
	}
	r = netfil_parse_filter_opts(argc - n, argv + n, f, NETFIL_OPT_STATE, e);
	if (r < 0)
		return -EINVAL;
	if (r != argc - n)
		return nf_bad(e, "unexpected argument '%s'", argv[n + r]);
	if (flags & NETFIL_RESTORE_LENIENT && (f->match.kind == NETFIL_IFACE ||
	    (f->match.kind == NETFIL_SOCKET && f->match.by >= NETFIL_BY_EXE &&
	     f->match.by != NETFIL_BY_USER)))
		f->match.allow_missing = true;
	return check_ifaces(&f->match, e);
}

/* "counters ID bytes-in N ... exceeded none|in|out|in,out" */
static int parse_counters_line(int argc, char **argv, struct item *items, int n,
			       struct netfil_err *e)
{
	struct item *it = NULL;
	char key[32], xkey[32];
	uint32_t id;
	int i, k;

	if (argc < 2 || netfil_parse_u32(argv[1], &id) || !id)
		return nf_bad(e, "expected 'counters ID ...', got '%s'", argc > 1 ? argv[1] : argv[0]);
	for (i = 0; i < n; i++)
		if (items[i].f.id == id)
			it = &items[i];
	if (!it)
		return nf_bad(e, "counters for filter '%s', which no earlier line adds", argv[1]);
	netfil_counter_key(NETFIL_C_EXCEEDED, -1, '-', xkey, sizeof(xkey));
	for (i = 2; i < argc; i += 2) {
		for (k = 0; k < N_COUNTER_KEYS; k++) {
			counter_key(k, key, sizeof(key));
			if (!strcmp(argv[i], key))
				break;
		}
		if (k < N_COUNTER_KEYS) {
			if (parse_u64(argv[i], i + 1 < argc ? argv[i + 1] : NULL,
				      counter_ptr(&it->f, k), e))
				return -EINVAL;
		} else if (!strcmp(argv[i], xkey) && i + 1 < argc) {
			if (netfil_exceeded_parse(argv[i + 1], it->f.exceeded))
				return nf_bad(e, "invalid value '%s' for %s", argv[i + 1], xkey);
		} else {
			return nf_bad(e, "unknown argument '%s'", argv[i]);
		}
	}
	it->counters = true;
	return 0;
}

/*
 * One line of a netfil text file (restore, batch, netfil.conf), split
 * into words; '#' starts a comment.  A NUL or any control character but
 * tab is an error: C string functions would stop at a NUL and read
 * "obyte 1\0M" as "obyte 1", so the line is refused whole instead.
 * Returns 1 with the words in argv/argc, 0 at the end, or -EINVAL.
 */
int netfil_text_line(FILE *in, char **buf, size_t *cap, char **argv, int max,
		     int *argc, struct netfil_err *e)
{
	ssize_t len = getline(buf, cap, in);
	char *line = *buf, *save, *tok;
	ssize_t i;
	int k = 0;

	if (len <= 0)
		return 0;
	if (line[len - 1] == '\n')
		line[--len] = '\0';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\0')
			return nf_bad(e, "NUL byte at column %zd", i + 1);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return nf_bad(e, "control character 0x%02x at column %zd", c, i + 1);
	}
	if (strchr(line, '#'))
		*strchr(line, '#') = '\0';
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (k == max)
			return nf_bad(e, "too many words, from '%s'", tok);
		argv[k++] = tok;
	}
	*argc = k;
	return 1;
}

/* One line's words into items[*n]. */
static int parse_line(int k, char **args, struct item *items, int *n,
		      int lineno, unsigned int flags, struct netfil_err *e)
{
	int i, err;

	if (!k)
		return 0;
	if (!strcmp(args[0], "counters"))
		return parse_counters_line(k, args, items, *n, e);
	if (strcmp(args[0], "filter"))
		return nf_bad(e, "unknown line '%s' (filter add or counters)", args[0]);
	if (k < 2 || strcmp(args[1], "add"))
		return nf_bad(e, "unknown command '%s' (only 'filter add' restores)",
			   k < 2 ? "filter" : args[1]);
	memset(&items[*n], 0, sizeof(items[*n]));
	items[*n].line = lineno;
	err = parse_filter_line(k, args, &items[*n], flags, e);
	for (i = 0; i < *n && !err; i++) {
		if (items[i].f.id && items[i].f.id == items[*n].f.id)
			return nf_bad(e, "filter id %u is already added on line %d",
				   items[*n].f.id, abs(items[i].line));
		if (items[i].line > 0 && items[*n].line > 0 &&
		    netfil_match_conflict(&items[i].f.match, &items[*n].f.match))
			return nf_bad(e, "filter %u matches what line %d already matches",
				   items[*n].f.id, items[i].line);
	}
	*n += !err;
	return err;
}

/* Pass 1 of a restore: every line parsed and checked, nothing changed. */
static int parse_items(FILE *in, const char *name, unsigned int flags,
		       struct item **out, int *count, struct netfil_err *e)
{
	struct item *items = NULL;
	int n = 0, cap = 0, lineno = 0, err = 0, k, r;
	char *line = NULL, *args[64];
	size_t lcap = 0;

	while (!err) {
		if (n == cap) {
			struct item *m = realloc(items, sizeof(*items) * (size_t)(cap = cap * 2 + 16));

			if (!m) {
				err = nf_bad(e, "%s:%d: out of memory", name, lineno);
				break;
			}
			items = m;
		}
		lineno++;
		r = netfil_text_line(in, &line, &lcap, args, 64, &k, e);
		if (r == 0)
			break;
		err = r < 0 ? r : parse_line(k, args, items, &n, lineno, flags, e);
		if (err) {
			char msg[sizeof(e->msg)];

			memcpy(msg, e->msg, sizeof(msg));
			nf_bad(e, "%s:%d: %.200s", name, lineno, msg);
		}
	}
	free(line);
	if (!err && ferror(in))
		err = nf_bad(e, "%s: read error", name);
	if (err) {
		free(items);
		return err;
	}
	*out = items;
	*count = n;
	return 0;
}

int netfil_config_parse(FILE *in, const char *name, unsigned int flags,
			struct netfil_filter **out, struct netfil_err *e)
{
	struct netfil_filter *f;
	struct item *items;
	int n, i, k = 0, err;

	err = parse_items(in, name, flags, &items, &n, e);
	if (err)
		return err;
	f = calloc((size_t)n + 1, sizeof(*f));
	if (!f) {
		free(items);
		return nf_bad(e, "%s: out of memory", name);
	}
	for (i = 0; i < n; i++)
		if (items[i].line > 0)
			f[k++] = items[i].f;
	free(items);
	*out = f;
	return k;
}

/* Make the configuration exactly items[0..n), as one journalled change:
 * every current filter deleted, these added (the ones with ids first, so
 * that an id netfil picks for the others cannot take one the file
 * names).  On failure *at is the item that failed. */
static int apply(struct netfil *nf, struct item *items, int n, unsigned int flags, int *at)
{
	struct netfil_filter *cur = NULL;
	int i, pass, ncur, err = 0;
	uint32_t id;

	ncur = netfil_filter_list(nf, NULL, 0);
	cur = calloc((size_t)(ncur > 0 ? ncur : 0) + 1, sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	ncur = netfil_filter_list(nf, cur, ncur);
	for (i = 0; i < ncur && !err; i++)
		err = nf_filter_del_locked(nf, cur[i].id);
	free(cur);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n && !err; i++) {
			if (items[i].line < 0 || (items[i].f.id == 0) != (pass == 1))
				continue;
			*at = i;
			err = nf_filter_add_locked(nf, &items[i].f, &id);
			if (err == -EXDEV && (flags & NETFIL_RESTORE_LENIENT)) {
				/* after a reboot the pid may be another
				 * process's, outside the cgroup (or the
				 * cgroup moved): skip it */
				char what[NETFIL_PATH_LEN + 16];

				netfil_format_match(&items[i].f.match, what, sizeof(what));
				pr_warn(nf, "%s is outside netfil's cgroup; its filter %u "
					"is not restored\n", what, items[i].f.id);
				items[i].line = -items[i].line;
				err = 0;
				continue;
			}
			if (!err)
				items[i].f.id = id;
			if (!err && items[i].counters)
				err = nf_filter_set_counters_locked(nf, &items[i].f);
		}
	return err;
}

int netfil_restore(struct netfil *nf, FILE *in, const char *name, unsigned int flags,
		   struct netfil_err *e)
{
	struct item *items = NULL;
	int n = 0, i, at = -1, err;

	err = parse_items(in, name, flags, &items, &n, e);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		if (items[i].line < 0)
			pr_warn(nf, "%s:%d: process %d is gone; its filter %u is not restored\n",
				name, -items[i].line, items[i].f.match.pid, items[i].f.id);

	/* Pass 2: one change under the lock; the journal undoes it whole if
	 * it fails here or the process dies before the commit. */
	err = nf_lock(nf);
	if (err) {
		nf_bad(e, "%s: %s", name, strerror(-err));
		goto out;
	}
	err = nf_txn_begin(nf);
	if (!err)
		err = apply(nf, items, n, flags, &at);
	if (err) {
		int line = at >= 0 ? abs(items[at].line) : 0;
		int re = nf_txn_rollback(nf);

		nf_bad(e, "%s:%d: %s; %s", name, line, strerror(-err),
		    re ? "the previous configuration is only partly back" : "nothing changed");
	} else {
		err = nf_txn_commit(nf);
		if (err)
			nf_bad(e, "%s: committing: %s", name, strerror(-err));
	}
	nf_unlock(nf);
out:
	free(items);
	return err;
}

void netfil_format_packet(const struct netfil_packet *p, char *buf, size_t len)
{
	char src[64], dst[64];
	int n;

	netfil_format_addr_port(p->family, p->saddr, p->sport, src, sizeof(src));
	netfil_format_addr_port(p->family, p->daddr, p->dport, dst, sizeof(dst));
	n = snprintf(buf, len, "%s %s %s %s > %s len %u%s", netfil_dir_name(p->dir),
		     p->ifname[0] ? p->ifname : "-", netfil_proto_name(p->proto), src, dst,
		     p->len, p->flow_new ? " new" : "");
	if (p->has_sock && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " pid %u (%s) uid %u sock %llu", p->tgid,
			 p->comm, p->uid, (unsigned long long)p->sock_id);
}
