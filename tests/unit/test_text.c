// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The text of netfil: save -> restore round trips of generated filter sets
 * (seeded, so every run is the same), and every refused line naming its
 * bad word and "NAME:LINE".  Nothing here needs a loaded netfil.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "netfil.h"
#include "unit.h"
#include "filter_cmp.h"

static uint64_t seed = 0x6e657466696cULL;
static uint64_t self_start;

static uint64_t rnd(uint64_t n)
{
	return unit_rand(&seed) % n;
}

/* Edges more often than chance would give them. */
static uint64_t rnd_u64(void)
{
	static const uint64_t edges[] = { 0, 1, 1023, 1024, 1000000, UINT64_MAX,
					  UINT64_MAX - 1, 1ULL << 63, (1ULL << 63) - 1 };

	switch (rnd(3)) {
	case 0:
		return edges[rnd(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rnd(1ULL << 32);
	default:
		return unit_rand(&seed);
	}
}

static void gen_match(struct netfil_match *m, int kind)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
	int i, j, len, bits;

	memset(m, 0, sizeof(*m));
	m->kind = (enum netfil_kind)kind;
	switch (kind) {
	case NETFIL_SOCKET:
		m->by = (enum netfil_by)rnd(NETFIL_BY_UNIT + 1);
		if (m->by == NETFIL_BY_PID || m->by == NETFIL_BY_TREE) {
			m->pid = getpid();
			m->start = self_start;
		} else if (m->by == NETFIL_BY_USER) {
			m->uid = (uint32_t)rnd(70000);
		} else {
			/* paths that need not exist: --allow-missing */
			static const char *const pfx[] = { [NETFIL_BY_EXE] = "/opt/netfil-unit/",
				[NETFIL_BY_CGROUP] = "/netfil-unit/", [NETFIL_BY_UNIT] = "u" };

			len = 1 + (int)rnd(40);
			j = snprintf(m->path, sizeof(m->path), "%s", pfx[m->by]);
			for (i = 0; i < len; i++)
				m->path[j + i] = chars[rnd(sizeof(chars) - 1)];
			if (m->by == NETFIL_BY_UNIT)
				strcat(m->path, ".service");
			m->allow_missing = true;
		}
		break;
	case NETFIL_IP:
		m->family = rnd(2) ? AF_INET : AF_INET6;
		m->prefixlen = (int)rnd(m->family == AF_INET ? 33 : 129);
		for (i = 0; i < (m->family == AF_INET ? 4 : 16); i++) {
			bits = m->prefixlen - i * 8;
			m->addr[i] = bits <= 0 ? 0 : (uint8_t)(rnd(256) & (0xff00 >> (bits < 8 ? bits : 8)));
		}
		break;
	case NETFIL_IFACE:
		m->n_ifaces = 1 + (int)rnd(NETFIL_MAX_IFACES_PER_FILTER);
		m->allow_missing = true;
		for (i = 0; i < m->n_ifaces; i++) {
			len = 1 + (int)rnd(NETFIL_IFNAME_LEN - 1);
			for (j = 0; j < len; j++)
				m->ifaces[i][j] = chars[rnd(sizeof(chars) - 1)];
			for (j = 0; j < i; j++)
				if (!strcmp(m->ifaces[i], m->ifaces[j])) {
					memset(m->ifaces[i], 0, NETFIL_IFNAME_LEN);
					i--;	/* again */
					break;
				}
		}
		break;
	}
}

/* A period as the parser leaves it: the fields its words do not give
 * keep the parser's defaults (wday 1, mday 1, hour 0). */
static void gen_period(struct netfil_period *p)
{
	memset(p, 0, sizeof(*p));
	p->every = (enum netfil_every)rnd(5);
	if (p->every == NETFIL_PERIOD_NONE)
		return;
	p->wday = 1;
	p->mday = 1;
	p->minute = (int)rnd(60);
	if (p->every != NETFIL_HOURLY)
		p->hour = (int)rnd(24);
	if (p->every == NETFIL_WEEKLY)
		p->wday = (int)rnd(7);
	if (p->every == NETFIL_MONTHLY)
		p->mday = 1 + (int)rnd(31);
}

/* A redirect target: IPv4, or IPv6 that is not v4-mapped (which the
 * parser turns into IPv4), any port but 0, either policy. */
static void gen_redirect(struct netfil_redirect *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->family = rnd(2) ? AF_INET : AF_INET6;
	for (i = 0; i < (r->family == AF_INET ? 4 : 16); i++)
		r->addr[i] = (uint8_t)rnd(256);
	if (r->family == AF_INET6)
		r->addr[0] |= 0x20;	/* never ::ffff:0:0/96 */
	r->port = (uint16_t)(1 + rnd(65535));
	r->fail = rnd(2) ? NETFIL_FAIL_OPEN : NETFIL_FAIL_CLOSED;
	if (rnd(2)) {
		/* a proxy at that address, written as a numeric host */
		r->proxy.kind = rnd(2) ? NETFIL_PROXY_SOCKS5 : NETFIL_PROXY_HTTP;
		r->proxy.port = r->port;
		inet_ntop(r->family, r->addr, r->proxy.host, sizeof(r->proxy.host));
		if (r->proxy.kind == NETFIL_PROXY_SOCKS5 && rnd(2)) {
			snprintf(r->proxy.user, sizeof(r->proxy.user), "u%u", (unsigned)rnd(1000));
			snprintf(r->proxy.pass, sizeof(r->proxy.pass), "p:@/%u", (unsigned)rnd(1000));
		}
	}
}

/* An IP filter's redirect may be narrowed to ports and a protocol. */
static void gen_narrow(struct netfil_redirect *r)
{
	if (rnd(2)) {
		r->dport_lo = (uint16_t)(1 + rnd(65535));
		r->dport_hi = (uint16_t)(r->dport_lo + rnd(65536 - r->dport_lo));
	}
	if (rnd(2))
		r->proto = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
}

/* n filters no two of which conflict, with unique ids. */
static void gen_set(struct netfil_filter *f, int n, bool counters)
{
	int i, j, k;

	for (i = 0; i < n; i++) {
		struct netfil_filter *x = &f[i];

		memset(x, 0, sizeof(*x));
		do {
			x->id = rnd(4) ? 1 + (uint32_t)rnd(100000) : UINT32_MAX - (uint32_t)rnd(3);
			for (j = 0; j < i && f[j].id != x->id; j++)
				;
		} while (j < i);
		do {
			k = 1 + (int)rnd(3);
			gen_match(&x->match, k);
			for (j = 0; j < i && !netfil_match_conflict(&f[j].match, &x->match); j++)
				;
		} while (j < i);
		x->on = rnd(2);
		if (k != NETFIL_IFACE)
			x->action = rnd(2) ? NETFIL_DROP : NETFIL_REJECT;
		for (j = 0; j < 3; j++)
			x->limit[j] = rnd(3) ? rnd_u64() : 0;
		gen_period(&x->period);
		if (k != NETFIL_IFACE && rnd(2))
			gen_redirect(&x->redirect);
		if (k == NETFIL_IP && x->redirect.family)
			gen_narrow(&x->redirect);
		if (!counters)
			continue;
		x->period.last = (int64_t)(rnd_u64() >> 1);
		for (j = 0; j < 2; j++) {
			x->bytes[j] = rnd_u64();
			x->packets[j] = rnd_u64();
			x->dropped[j] = rnd_u64();
			x->exceeded[j] = rnd(2);
			x->exceeded_at[j] = rnd_u64();
		}
	}
}

/* Write f with netfil_config_write, read it back with netfil_config_parse. */
static int round_trip(const struct netfil_filter *f, int n, unsigned int flags,
		      struct netfil_filter **out, char **text, struct netfil_err *e)
{
	size_t len = 0;
	FILE *w = open_memstream(text, &len), *r;
	int k;

	if (!w || netfil_config_write(w, f, n, flags) || fclose(w))
		return -EIO;
	r = fmemopen(*text, len ? len : 1, "r");
	if (!r)
		return -errno;
	if (!len)
		fgetc(r);	/* fmemopen cannot open 0 bytes: read its 1 */
	k = netfil_config_parse(r, "rt", 0, out, e);
	fclose(r);
	return k;
}

static void check_set(int n, bool counters)
{
	struct netfil_filter *f = calloc((size_t)n + 1, sizeof(*f)), *back = NULL;
	struct netfil_err e = {};
	char *text = NULL;
	const char *d;
	int i, k;

	gen_set(f, n, counters);
	k = round_trip(f, n, counters ? NETFIL_SAVE_COUNTERS : 0, &back, &text, &e);
	if (!ASSERT_EQ(k, n, "filters read back")) {
		fprintf(stderr, "  error: %s\n", k < 0 ? e.msg : "");
		goto out;
	}
	for (i = 0; i < n; i++) {
		d = filter_diff(&f[i], &back[i]);
		if (!ASSERT_TRUE(!d, "filter %d (id %u): %s differs", i, f[i].id, d ? d : ""))
			break;
	}
out:
	if (test_cur_failed && text)
		fprintf(stderr, "  text:\n%s", text);
	free(text);
	free(back);
	free(f);
}

static void test_round_trip_counters(void)
{
	int i;

	for (i = 0; i < 300 && !test_cur_failed; i++)
		check_set((int)rnd(i < 10 ? 3 : 40), true);
}

static void test_round_trip_plain(void)
{
	int i;

	for (i = 0; i < 100 && !test_cur_failed; i++)
		check_set((int)rnd(40), false);
}

/* The largest of everything, and every period kind, in one set. */
static void test_round_trip_edges(void)
{
	struct netfil_filter f[6] = {}, *back = NULL;
	struct netfil_err e = {};
	char *text = NULL;
	const char *d;
	int i, k;

	for (i = 0; i < 6; i++) {
		f[i].id = UINT32_MAX - (uint32_t)i;
		f[i].on = i & 1;
		f[i].limit[0] = f[i].limit[1] = f[i].limit[2] = UINT64_MAX;
		f[i].bytes[0] = f[i].packets[1] = f[i].dropped[0] = UINT64_MAX;
		f[i].exceeded[0] = f[i].exceeded[1] = true;
		f[i].exceeded_at[0] = f[i].exceeded_at[1] = UINT64_MAX;
		f[i].period.last = INT64_MAX;
	}
	f[0].match.kind = NETFIL_IP;
	netfil_parse_prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &f[0].match);
	f[0].action = NETFIL_DROP;
	f[0].period = (struct netfil_period){ NETFIL_MONTHLY, 59, 23, 1, 31, INT64_MAX };
	netfil_parse_prefix("0.0.0.0/0", &f[1].match);
	f[1].period = (struct netfil_period){ NETFIL_WEEKLY, 0, 0, 6, 1, 0 };
	f[2].match.kind = NETFIL_IFACE;
	f[2].match.allow_missing = true;
	for (i = 0; i < NETFIL_MAX_IFACES_PER_FILTER; i++) {
		memset(f[2].match.ifaces[i], 'a' + i, NETFIL_IFNAME_LEN - 1);
		f[2].match.n_ifaces++;
	}
	f[2].period = (struct netfil_period){ NETFIL_HOURLY, 59, 0, 1, 1, 1 };
	f[3].match = (struct netfil_match){ .kind = NETFIL_SOCKET, .pid = getpid(), .by = NETFIL_BY_TREE,
					    .start = self_start };
	f[3].period = (struct netfil_period){ NETFIL_DAILY, 0, 23, 1, 1, 0 };
	f[4].match = (struct netfil_match){ .kind = NETFIL_SOCKET, .pid = getpid(),
					    .start = self_start };
	netfil_parse_prefix("::ffff:1.2.3.4", &f[5].match);
	k = round_trip(f, 6, NETFIL_SAVE_COUNTERS, &back, &text, &e);
	if (ASSERT_EQ(k, 6, "filters read back"))
		for (i = 0; i < 6; i++) {
			d = filter_diff(&f[i], &back[i]);
			ASSERT_TRUE(!d, "filter %d: %s differs", i, d ? d : "");
		}
	else
		fprintf(stderr, "  error: %s\n  text:\n%s", e.msg, text);
	free(text);
	free(back);
}

/* Parse text; 0 or -errno, the filters in *out. */
static int parse_text(const char *text, size_t len, struct netfil_filter **out,
		      struct netfil_err *e)
{
	FILE *r = fmemopen((void *)text, len, "r");
	int k;

	if (!r)
		return -errno;
	*out = NULL;
	k = netfil_config_parse(r, "t.conf", 0, out, e);
	fclose(r);
	return k;
}

/* What a person writes: no ids, defaults, comments, blank lines, tabs. */
static void test_hand_written(void)
{
	static const char text[] =
		"# my limits\n"
		"\n"
		"filter add ip 10.1.2.3/8 obyte 1G\t# the lab\n"
		"  filter   add\tinterface lo,usb0 iobyte 20GB --allow-missing period monthly day 31\n"
		"filter add ip 2001:db8::/32 action drop off period weekly sun at 23:05\n"
		"filter add id 7 ip 192.0.2.1 period hourly at :07\n"
		"counters 7 bytes-in 5 exceeded out period-last 1700000000\n";
	struct netfil_filter *f = NULL;
	struct netfil_err e = {};
	int k = parse_text(text, sizeof(text) - 1, &f, &e);

	if (!ASSERT_EQ(k, 4, "filters")) {
		fprintf(stderr, "  error: %s\n", e.msg);
		free(f);
		return;
	}
	ASSERT_EQ(f[0].id, 0, "no id given");
	ASSERT_EQ(f[0].match.prefixlen, 8, "prefix");
	ASSERT_EQ(f[0].match.addr[1], 0, "host bits cleared");
	ASSERT_EQ_U64(f[0].limit[NETFIL_OBYTE], 1ULL << 30, "obyte 1G");
	ASSERT_EQ(f[0].on, true, "on by default");
	ASSERT_EQ(f[0].action, NETFIL_REJECT, "reject by default");
	ASSERT_EQ(f[1].match.n_ifaces, 2, "two interfaces");
	ASSERT_STREQ(f[1].match.ifaces[1], "usb0", "second interface");
	ASSERT_EQ(f[1].match.allow_missing, true, "--allow-missing");
	ASSERT_EQ_U64(f[1].limit[NETFIL_IOBYTE], 20000000000ULL, "iobyte 20GB");
	ASSERT_EQ(f[1].period.every, NETFIL_MONTHLY, "monthly");
	ASSERT_EQ(f[1].period.mday, 31, "day 31");
	ASSERT_EQ(f[1].period.hour * 60 + f[1].period.minute, 0, "at 00:00 by default");
	ASSERT_EQ(f[2].on, false, "off");
	ASSERT_EQ(f[2].action, NETFIL_DROP, "drop");
	ASSERT_EQ(f[2].period.wday, 0, "sunday");
	ASSERT_EQ(f[2].period.hour, 23, "hour");
	ASSERT_EQ(f[2].period.minute, 5, "minute");
	ASSERT_EQ(f[3].id, 7, "id 7");
	ASSERT_EQ(f[3].period.every, NETFIL_HOURLY, "hourly");
	ASSERT_EQ(f[3].period.minute, 7, "at :07");
	ASSERT_EQ_U64(f[3].bytes[NETFIL_IN], 5, "bytes-in");
	ASSERT_EQ(f[3].exceeded[NETFIL_OUT], true, "exceeded out");
	ASSERT_EQ(f[3].exceeded[NETFIL_IN], false, "not exceeded in");
	ASSERT_EQ(f[3].period.last, 1700000000, "period-last");
	free(f);
}

/* Whatever netfil_config_parse() accepts, netfil_config_write() writes
 * so that it reads back the same: also filters with no id yet, a socket
 * filter with no start time, a period-last past 2^63. */
static void check_reparse(const char *text)
{
	struct netfil_filter *f = NULL, *back = NULL;
	struct netfil_err e = {};
	char *out = NULL;
	const char *d;
	int k, k2, i;

	k = parse_text(text, strlen(text), &f, &e);
	if (!ASSERT_TRUE(k >= 0, "first parse: %s", e.msg) || k < 0)
		goto done;
	k2 = round_trip(f, k, NETFIL_SAVE_COUNTERS, &back, &out, &e);
	if (ASSERT_EQ(k2, k, "filters read back after writing")) {
		for (i = 0; i < k; i++) {
			d = filter_diff(&f[i], &back[i]);
			ASSERT_TRUE(!d, "filter %d: %s differs", i, d ? d : "");
		}
	} else {
		fprintf(stderr, "  error: %s\n  text:\n%s", e.msg, out);
	}
done:
	free(out);
	free(back);
	free(f);
}

static const char *const reparse_rows[] = {
	"filter add ip 1.2.3.4\n",
	"filter add id 1 interface lo --allow-missing\nfilter add id 2 ip ::1 obyte 1M\n",
	"filter add id 3 ip 1.2.3.4\ncounters 3 period-last 9223372036854775808\n",
	"filter add id 3 ip 1.2.3.4\ncounters 3 period-last 18446744073709551615\n",
	"filter add socket user 0 redirect to 127.0.0.1:1080\n",
	"filter add socket user 0 redirect to [::ffff:10.1.2.3]:65535 fail open\n",
	"filter add socket user 0 obyte 1M redirect to [2001:db8::1]:1 fail closed redirect none\n",
	"filter add ip 10.0.0.1 redirect to 1.2.3.4:80\n",
	"filter add ip 10.0.0.1 redirect none\n",
	"filter add ip 10.0.0.0/8 port 80-90 proto tcp proxy socks5://u:p@1.2.3.4:1080 fail open\n",
	"filter add ip ::/0 proto udp port 53 proxy socks5://[::1]:1080\n",
	"filter add socket user 0 proxy http://[2001:db8::1]:3128 proxy none\n",
	NULL,	/* a socket filter for this process, with no start time */
};

static void test_reparse(void)
{
	char socket_row[96], name[320];
	size_t i;

	snprintf(socket_row, sizeof(socket_row), "filter add id 5 socket pid %d\n", getpid());
	for (i = 0; i < sizeof(reparse_rows) / sizeof(reparse_rows[0]); i++) {
		const char *t = reparse_rows[i] ? reparse_rows[i] : socket_row;

		snprintf(name, sizeof(name), "reparse '%s'", unit_visible(t));
		RUN_ROW(name, check_reparse, t);
	}
}

struct bad_row {
	const char *text;
	size_t len;		/* with NULs in the text */
	int line;		/* expected in "t.conf:LINE: " */
	const char *tokens[2];	/* what the message must name (and, if set, this) */
};
#define BAD(t, l, ...) { .text = t, .len = sizeof(t) - 1, .line = l, .tokens = { __VA_ARGS__ } }

static const struct bad_row bad_rows[] = {
	/* redirects */
	BAD("filter add socket user 0 redirect to 1.2.3.4\n", 1, "'1.2.3.4'"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:0\n", 1, "'1.2.3.4:0'", "65535"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:65536\n", 1, "'1.2.3.4:65536'", "65535"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:18446744073709551616\n", 1,
	    "'1.2.3.4:18446744073709551616'"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:+80\n", 1, "'1.2.3.4:+80'"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:\n", 1, "'1.2.3.4:'"),
	BAD("filter add socket user 0 redirect to :80\n", 1, "':80'"),
	BAD("filter add socket user 0 redirect to 1.2.3:80\n", 1, "'1.2.3:80'"),
	BAD("filter add socket user 0 redirect to ::1:80\n", 1, "'::1:80'"),
	BAD("filter add socket user 0 redirect to [::1]\n", 1, "'[::1]'"),
	BAD("filter add socket user 0 redirect to []:80\n", 1, "'[]:80'"),
	BAD("filter add socket user 0 redirect to [::1]:80x\n", 1, "'[::1]:80x'"),
	BAD("filter add socket user 0 redirect to [10.0.0.1]:80\n", 1, "'[10.0.0.1]:80'"),
	BAD("filter add socket user 0 redirect to host.example:80\n", 1, "'host.example:80'"),
	BAD("filter add socket user 0 redirect\n", 1, "'redirect'"),
	BAD("filter add socket user 0 redirect to\n", 1, "'to'"),
	BAD("filter add socket user 0 redirect at 1.2.3.4:80\n", 1, "'at'"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:80 fail\n", 1, "'fail'"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:80 fail shut\n", 1, "'shut'"),
	BAD("filter add socket user 0 redirect to 1.2.3.4:80 open\n", 1, "'open'"),
	BAD("filter add interface lo redirect to 1.2.3.4:80\n", 1, "'redirect'", "interface"),
	BAD("filter add interface lo proxy socks5://1.2.3.4:80\n", 1, "'proxy'", "interface"),
	BAD("filter add ip 10.0.0.1 port 80\n", 1, "'port' needs"),
	BAD("filter add ip 10.0.0.1 proto udp\n", 1, "'proto' needs"),
	BAD("filter add socket user 0 port 80 redirect to 1.2.3.4:80\n", 1, "'port'", "ip filters"),
	BAD("filter add ip 10.0.0.1 port 0 redirect to 1.2.3.4:80\n", 1, "'0'"),
	BAD("filter add ip 10.0.0.1 port 9-8 redirect to 1.2.3.4:80\n", 1, "'9-8'"),
	BAD("filter add ip 10.0.0.1 port 65536 redirect to 1.2.3.4:80\n", 1, "'65536'"),
	BAD("filter add ip 10.0.0.1 port 1- redirect to 1.2.3.4:80\n", 1, "'1-'"),
	BAD("filter add ip 10.0.0.1 port -1 redirect to 1.2.3.4:80\n", 1, "'-1'"),
	BAD("filter add ip 10.0.0.1 port\n", 1, "'port'"),
	BAD("filter add ip 10.0.0.1 proto icmp redirect to 1.2.3.4:80\n", 1, "'icmp'"),
	BAD("filter add socket user 0 proxy\n", 1, "URL", "'proxy'"),
	BAD("filter add socket user 0 proxy ftp://1.2.3.4:21\n", 1, "ftp"),
	BAD("filter add socket user 0 proxy socks5://1.2.3.4:0\n", 1, "0"),
	BAD("filter add socket user 0 proxy socks5://1.2.3.4:1080 fail\n", 1, "'fail'"),
	BAD("filter add socket user 0 proxy socks5://1.2.3.4:1080 fail maybe\n", 1, "'maybe'"),
	/* filters by program, user and service */
	BAD("filter add socket exe\n", 1, "PATH", "exe"),
	BAD("filter add socket exe /nonexistent-netfil/x\n", 1, "/nonexistent-netfil/x"),
	BAD("filter add socket exe /etc/passwd\n", 1, "'/etc/passwd' is not an executable"),
	BAD("filter add socket exe /\n", 1, "'/' is not an executable"),
	BAD("filter add socket user no-such-user-netfil\n", 1, "no-such-user-netfil"),
	BAD("filter add socket user 4294967295\n", 1, "4294967295"),
	BAD("filter add socket cgroup /nonexistent-netfil-cg\n", 1, "/nonexistent-netfil-cg"),
	BAD("filter add socket unit no-such-unit-netfil\n", 1, "no-such-unit-netfil.service"),
	BAD("filter add socket unit a/b.service\n", 1, "a/b.service"),
	BAD("filter add socket exe /a#b --allow-missing\n", 1, "'/a'"),
	BAD("filter add socket program 1\n", 1, "'program'"),
	BAD("filter add socket user 0 --allow-missing\n", 1, "--allow-missing"),
	BAD("filter add ip 10.0.0.0/33\n", 1, "10.0.0.0/33"),
	BAD("filter add ip 10.0.0.0/4294967304\n", 1, "10.0.0.0/4294967304"),
	BAD("filter add ip 10.9.0.1 obyte 1\0M\n", 1, "NUL", "column 31"),
	BAD("filter add ip 10.9.0.1\x01\n", 1, "0x01", "column 23"),
	BAD("filter add ip 10.9.0.1\x7f\n", 1, "0x7f", "column 23"),
	BAD("filter add ip 10.9.0.1\r\n", 1, "0x0d", "column 23"),
	BAD("filter add ip 1.2.3.4 period hourly at -4294967290\n", 1, "-4294967290"),
	BAD("filter add ip 1.2.3.4 period hourly at 4294967357\n", 1, "4294967357"),
	BAD("filter add ip 1.2.3.4 period hourly at 60\n", 1, "'60'"),
	BAD("filter add ip 1.2.3.4 period hourly at 5:00\n", 1, "5:00"),
	BAD("filter add ip 1.2.3.4 period hourly at :005\n", 1, ":005"),
	BAD("filter add ip 1.2.3.4 period daily at 4294967297:5\n", 1, "4294967297:5"),
	BAD("filter add ip 1.2.3.4 period daily at 25:00\n", 1, "25:00"),
	BAD("filter add ip 1.2.3.4 period daily at 12:60\n", 1, "12:60"),
	BAD("filter add ip 1.2.3.4 period daily at 12:-1\n", 1, "12:-1"),
	BAD("filter add ip 1.2.3.4 period daily at 1:2:3\n", 1, "1:2:3"),
	BAD("filter add ip 1.2.3.4 period daily at 12\n", 1, "'12'"),
	BAD("filter add ip 1.2.3.4 period daily at\n", 1, "'at'"),
	BAD("filter add ip 1.2.3.4 period monthly day 32\n", 1, "'32'"),
	BAD("filter add ip 1.2.3.4 period monthly day 0\n", 1, "'0'"),
	BAD("filter add ip 1.2.3.4 period monthly day 4294967297\n", 1, "4294967297"),
	BAD("filter add ip 1.2.3.4 period fortnightly\n", 1, "fortnightly"),
	BAD("filter add ip 1.2.3.4 period weekly monkey\n", 1, "monkey"),
	BAD("filter add ip 1.2.3.4 period\n", 1, "period"),
	BAD("filter add interface lo,,eth0 --allow-missing\n", 1, "empty interface name", "lo,,eth0"),
	BAD("filter add interface ,lo --allow-missing\n", 1, "empty interface name", ",lo"),
	BAD("filter add interface lo, --allow-missing\n", 1, "empty interface name", "lo,"),
	BAD("filter add interface lo,lo --allow-missing\n", 1, "twice", "'lo'"),
	BAD("filter add interface abcdefghijklmnop --allow-missing\n", 1, "abcdefghijklmnop"),
	BAD("filter add interface a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q --allow-missing\n", 1,
	    "more than 16", "a,b,c"),
	BAD("filter add interface nosuchif0\n", 1, "nosuchif0", "--allow-missing"),
	BAD("filter add interface lo action drop\n", 1, "'action'"),
	BAD("filter add interface\n", 1, "interface"),
	BAD("filter add ip 1.2.3.4 --allow-missing\n", 1, "--allow-missing"),
	BAD("filter del 1\n", 1, "del"),
	BAD("filter\n", 1, "filter"),
	BAD("filter add ip 1.2.3.4 obyte 1Q\n", 1, "1Q"),
	BAD("filter add ip 1.2.3.4 obyte -5\n", 1, "-5"),
	BAD("filter add ip 1.2.3.4 obyte 1.5M\n", 1, "1.5M"),
	BAD("filter add ip 1.2.3.4 obyte 99999999999999999999\n", 1, "99999999999999999999", "overflows"),
	BAD("filter add ip 1.2.3.4 iobyte 20000000T\n", 1, "20000000T"),
	BAD("filter add ip 1.2.3.4 obyte\n", 1, "obyte"),
	BAD("filter add ip 1.2.3.4 action maybe\n", 1, "maybe"),
	BAD("filter add ip 1.2.3.4 action\n", 1, "action"),
	BAD("filter add ip 1.2.3.4 colour red\n", 1, "colour"),
	BAD("filter add ip 1.2.3.4 on -- x\n", 1, "--"),
	BAD("filter add ip\n", 1, "PREFIX"),
	BAD("filter add mac 00:11\n", 1, "mac"),
	BAD("filter add\n", 1, "kind"),
	BAD("filter add id 0 ip 1.2.3.4\n", 1, "'0'"),
	BAD("filter add id x1 ip 1.2.3.4\n", 1, "x1"),
	BAD("filter add id 4294967296 ip 1.2.3.4\n", 1, "4294967296"),
	BAD("filter add socket pid 0\n", 1, "'0'"),
	BAD("filter add socket pid -1\n", 1, "'-1'"),
	BAD("filter add socket pid 4294967297\n", 1, "4294967297"),
	BAD("filter add socket pid 999999999\n", 1, "999999999"),
	BAD("filter add socket frob 1\n", 1, "frob"),
	BAD("filter add socket\n", 1, "socket"),
	BAD("counters 99 bytes-in 5\n", 1, "'99'"),
	BAD("counters x\n", 1, "'x'"),
	BAD("counters 0\n", 1, "'0'"),
	BAD("counters\n", 1, "counters"),
	BAD("filter add id 9 ip 1.2.3.4\ncounters 9 bytes-in x\n", 2, "'x'"),
	BAD("filter add id 9 ip 1.2.3.4\ncounters 9 bytes-in -1\n", 2, "'-1'"),
	BAD("filter add id 9 ip 1.2.3.4\ncounters 9 bytes-in 18446744073709551616\n", 2,
	    "18446744073709551616"),
	BAD("filter add id 9 ip 1.2.3.4\ncounters 9 exceeded maybe\n", 2, "maybe"),
	BAD("filter add id 9 ip 1.2.3.4\ncounters 9 frob 3\n", 2, "frob"),
	BAD("filter add id 9 ip 1.2.3.4\ncounters 9 bytes-in\n", 2, "bytes-in"),
	BAD("frobnicate\n", 1, "frobnicate"),
	BAD("# c\n\n\t\nfilter add ip 1.2.3.4\nfilter add ip 5.6.7.8/33\n", 5, "5.6.7.8/33"),
	BAD("filter add id 3 ip 1.1.1.1\nfilter add id 3 ip 2.2.2.2\n", 2, "id 3", "line 1"),
	BAD("filter add ip 1.1.1.1\nfilter add ip 1.1.1.1/32\n", 2, "line 1"),
	BAD("filter add interface a,b --allow-missing\nfilter add interface c,b --allow-missing\n",
	    2, "line 1"),
	BAD("filter add ip 1.2.3.4 period daily at 1:00 "
	    "x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x "
	    "x x x x x x x x x x x x x x x y z\n", 1, "too many words", "'z'"),
};

static void check_bad(const void *arg)
{
	const struct bad_row *r = arg;
	struct netfil_filter *f = NULL;
	struct netfil_err e = {};
	char pfx[32];
	int k = parse_text(r->text, r->len, &f, &e);

	free(f);
	if (!ASSERT_EQ(k, -EINVAL, "refused with -EINVAL"))
		return;
	snprintf(pfx, sizeof(pfx), "t.conf:%d: ", r->line);
	ASSERT_TRUE(!strncmp(e.msg, pfx, strlen(pfx)), "'%s' starts with '%s'", e.msg, pfx);
	ASSERT_CONTAINS(e.msg, r->tokens[0], "message");
	if (r->tokens[1])
		ASSERT_CONTAINS(e.msg, r->tokens[1], "message");
}

/* The start time of a socket filter must be the live process's. */
static void test_socket_start(void)
{
	struct netfil_filter *f = NULL;
	struct netfil_err e = {};
	char text[128];
	int k;

	snprintf(text, sizeof(text), "filter add socket pid %d start %llu\n", getpid(),
		 (unsigned long long)self_start + 1);
	k = parse_text(text, strlen(text), &f, &e);
	free(f);
	if (ASSERT_EQ(k, -EINVAL, "a start time not the process's"))
		ASSERT_CONTAINS(e.msg, "gone", "message");
	snprintf(text, sizeof(text), "filter add socket tree %d start %llu obyte 1K\n",
		 getpid(), (unsigned long long)self_start);
	k = parse_text(text, strlen(text), &f, &e);
	if (ASSERT_EQ(k, 1, "its own start time")) {
		ASSERT_EQ(f[0].match.by, NETFIL_BY_TREE, "tree");
		ASSERT_EQ_U64(f[0].match.start, self_start, "start");
		ASSERT_EQ(f[0].match.pid, getpid(), "pid");
	}
	free(f);
}

/* netfil_text_line() on its own: words, comments, what it refuses. */
static void test_text_line(void)
{
	static const char text[] = "a\tb  c # d e\n\n#x\n   \nw\0x\nlast";
	FILE *in = fmemopen((void *)text, sizeof(text) - 1, "r");
	char *buf = NULL, *argv[4];
	struct netfil_err e = {};
	size_t cap = 0;
	int argc = -1;

	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), 1, "line 1");
	if (ASSERT_EQ(argc, 3, "words of line 1")) {
		ASSERT_STREQ(argv[0], "a", "word 1");
		ASSERT_STREQ(argv[1], "b", "word 2");
		ASSERT_STREQ(argv[2], "c", "word 3");
	}
	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), 1, "empty line");
	ASSERT_EQ(argc, 0, "no words");
	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), 1, "comment line");
	ASSERT_EQ(argc, 0, "no words in a comment");
	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), 1, "blank line");
	ASSERT_EQ(argc, 0, "no words in blanks");
	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), -EINVAL, "NUL");
	ASSERT_CONTAINS(e.msg, "column 2", "NUL message");
	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), 1, "no newline at the end");
	if (ASSERT_EQ(argc, 1, "words of the last line"))
		ASSERT_STREQ(argv[0], "last", "last word");
	ASSERT_EQ(netfil_text_line(in, &buf, &cap, argv, 4, &argc, &e), 0, "end");
	fclose(in);
	free(buf);
}

/* Two writes of the same filters are the same text but for the time. */
static void test_write_stable(void)
{
	struct netfil_filter f[5];
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	FILE *w;

	gen_set(f, 5, true);
	w = open_memstream(&a, &la);
	netfil_config_write(w, f, 5, NETFIL_SAVE_COUNTERS);
	fclose(w);
	w = open_memstream(&b, &lb);
	netfil_config_write(w, f, 5, NETFIL_SAVE_COUNTERS);
	fclose(w);
	ASSERT_TRUE(la > 0 && a[0] == '#', "a comment first");
	ASSERT_TRUE(strchr(a, '\n') && strchr(b, '\n') &&
		    !strcmp(strchr(a, '\n'), strchr(b, '\n')), "same lines");
	ASSERT_EQ(strstr(a, "\ncounters ") != NULL, 1, "counters lines");
	free(a);
	free(b);
}

int main(void)
{
	char name[320];
	size_t i;

	if (netfil_proc_start(getpid(), &self_start)) {
		fprintf(stderr, "cannot read this process's start time\n");
		return 1;
	}
	RUN_TEST(test_round_trip_counters);
	RUN_TEST(test_round_trip_plain);
	RUN_TEST(test_round_trip_edges);
	RUN_TEST(test_hand_written);
	test_reparse();
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		snprintf(name, sizeof(name), "refused '%s'", unit_visible_n(bad_rows[i].text, bad_rows[i].len));
		RUN_ROW(name, check_bad, &bad_rows[i]);
	}
	RUN_TEST(test_socket_start);
	RUN_TEST(test_text_line);
	RUN_TEST(test_write_stable);
	return TEST_SUMMARY();
}
