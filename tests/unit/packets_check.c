/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * packets_check: lib/packets.c against the kernel's NFQUEUE, with real
 * traffic on loopback in a network namespace of its own.  Root only.
 *
 * This kernel lacks nft's native queue expression, so the queue rule is
 * the xt NFQUEUE target (v3) through nft_compat, written here as a raw
 * nf_tables batch; nft(8) adds the rest.  lib/queue.c is stubbed.
 *
 * gcc -O2 -g -Wall -Wextra -Werror -I lib -I . tests/unit/packets_check.c \
 *     lib/packets.c -lmnl -lnetfilter_queue -o /tmp/packets_check
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include "netfil_abi.h"
#include "queue.h"

#define QNUM		20001
#define FILTER		7
#define UDP_PORT	9999
#define TCP_PORT	9998
#define FLOW_MASK	0x0f000000u
#define PRE_MARK	0x10u		/* set by the rule before the queue */
#define NMAX		256

static int passed, failed;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- stubs for lib/queue.c ---- */
static enum netfil_queue_mode g_mode = NETFIL_QUEUE_ALL;
static enum netfil_fail g_fail = NETFIL_FAIL_CLOSED;
static uint32_t g_timeout = 5000;
/* nf_qbeat's slot, as the kernel reads it: shared, as the kernel's map is
 * with the library's watchdog */
static struct nf_qbeat *g_beat;

int nf_queue_client(struct netfil *nf, uint32_t filter_id, struct nf_queue_info *qi, int *live_fd)
{
	(void)nf;
	if (filter_id != FILTER)
		return -ENOENT;
	*qi = (struct nf_queue_info){ .qnum = QNUM, .mode = g_mode, .fail = g_fail,
				      .timeout_ms = g_timeout, .flow_mask = FLOW_MASK,
				      .beat = g_beat };
	g_beat->beat_ns = mono_ns();
	*live_fd = -1;
	return 0;
}

int nf_queue_attr(struct netfil *nf, struct netfil_packet *p)
{
	(void)nf;
	p->has_sock = true;
	p->pid = p->tgid = (uint32_t)getpid();
	strcpy(p->comm, "stub");
	return 0;
}

/* ---- what the handler saw ---- */
static struct {
	enum netfil_verdict v;		/* its answer */
	int proto, dport;		/* expected */
	uint16_t sport;			/* expected for UDP; 0: any */
	int n, bad, flow_new, err;
	uint32_t ids[NMAX], max_len;
	struct netfil_packet last;
} S;

static enum netfil_verdict handler(const struct netfil_packet *p, void *ctx)
{
	const uint8_t *d = p->data;
	uint32_t tot = d[0] >> 4 == 4 ? (uint32_t)(d[2] << 8 | d[3]) : 40u + (uint32_t)(d[4] << 8 | d[5]);

	(void)ctx;
	if (S.n < NMAX)
		S.ids[S.n] = p->id;
	S.n++;
	S.flow_new += p->flow_new;
	if (p->len > S.max_len)
		S.max_len = p->len;
	S.bad += p->filter != FILTER || p->dir != NETFIL_OUT || strcmp(p->ifname, "lo") ||
		 p->ifindex != if_nametoindex("lo") || p->proto != S.proto ||
		 p->dport != S.dport || (S.sport && p->sport != S.sport) || p->len != tot ||
		 p->caplen > p->len || !p->has_sock || strcmp(p->comm, "stub");
	S.last = *p;
	S.last.data = NULL;
	return S.v;
}

static struct netfil *const NF = (struct netfil *)&S;	/* opaque: never looked into */

/* ---- set up ---- */
static int sh(const char *cmd)
{
	int r = system(cmd);

	if (r)
		fprintf(stderr, "# failed (%d): %s\n", r, cmd);
	return r;
}

static struct nlmsghdr *nfmsg(char *buf, uint16_t type, uint16_t flags, uint8_t family,
			      uint16_t res_id, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return nlh;
}

/* "inet pc <chain>": xt NFQUEUE --queue-num QNUM, through nft_compat */
static int nft_queue_rule(const char *chain)
{
	static char buf[8192];
	struct xt_NFQ_info_v3 info = { .queuenum = QNUM, .queues_total = 1 };
	char tg[8] = { 0 };	/* XT_ALIGN(sizeof(info)) */
	struct nlattr *l, *e, *d;
	struct nlmsghdr *nlh;
	struct mnl_socket *nl;
	size_t off;
	ssize_t n;
	int r = -1;

	memcpy(tg, &info, sizeof(info));
	nlh = nfmsg(buf, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, 1);
	off = nlh->nlmsg_len;
	nlh = nfmsg(buf + off, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
		    NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, NFPROTO_INET, 0, 2);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "pc");
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	l = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "target");
	d = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_TARGET_NAME, "NFQUEUE");
	mnl_attr_put_u32(nlh, NFTA_TARGET_REV, htonl(3));
	mnl_attr_put(nlh, NFTA_TARGET_INFO, sizeof(tg), tg);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, e);
	mnl_attr_nest_end(nlh, l);
	off += nlh->nlmsg_len;
	nlh = nfmsg(buf + off, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, 3);
	off += nlh->nlmsg_len;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (nl && !mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) &&
	    mnl_socket_sendto(nl, buf, off) == (ssize_t)off &&
	    (n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		r = mnl_cb_run(buf, (size_t)n, 2, mnl_socket_get_portid(nl), NULL, NULL);
	if (r < 0)
		fprintf(stderr, "# nf_tables NFQUEUE rule: %s\n", strerror(errno));
	if (nl)
		mnl_socket_close(nl);
	return r < 0 ? -1 : 0;
}

static int setup(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	cpu_set_t cpus;
	int fd, r;

	/* one CPU: reinjected packets keep the order of their verdicts */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	if (unshare(CLONE_NEWNET)) {
		perror("# unshare");
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	r = r ?: ioctl(fd, SIOCSIFFLAGS, &ifr);
	/* a small MTU, so TCP sends GSO packets bigger than it */
	ifr.ifr_mtu = 1500;
	r = r ?: ioctl(fd, SIOCSIFMTU, &ifr);
	close(fd);
	if (r) {
		perror("# lo");
		return -1;
	}
	return sh("nft add table inet pc") ?: sh("nft add chain inet pc q") ?:
	       sh("nft add chain inet pc out '{ type filter hook output priority 10; }'") ?:
	       sh("nft add rule inet pc out oif lo udp dport 9999 meta mark set 0x10 jump q") ?:
	       sh("nft add rule inet pc out oif lo tcp dport 9998 jump q") ?:
	       sh("nft add chain inet pc mk '{ type filter hook output priority 20; }'") ?:
	       sh("nft add rule inet pc mk oif lo meta mark 0x0f000010 counter") ?:
	       nft_queue_rule("q");
}

/* packets counted by chain mk's rule */
static long mark_counter(void)
{
	char line[512];
	long n = -1;
	FILE *f = popen("nft list chain inet pc mk", "r");
	char *s;

	while (f && fgets(line, sizeof(line), f))
		if ((s = strstr(line, "counter packets ")))
			n = strtol(s + 16, NULL, 10);
	if (f)
		pclose(f);
	return n;
}

/* ---- UDP traffic ---- */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t dgram(int i, uint8_t *b)
{
	size_t len = 16 + (size_t)(i * 37) % 1200, k;

	memcpy(b, &i, sizeof(i));
	for (k = sizeof(i); k < len; k++)
		b[k] = (uint8_t)(i + k * 7);
	return len;
}

static struct {
	int n, bad, idx[NMAX];
} R;

static void drain(int fd)
{
	uint8_t b[2048], want[2048];
	ssize_t r;
	int i;

	while ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0) {
		memcpy(&i, b, sizeof(i));
		if (r < (ssize_t)sizeof(i) || i < 0 || i >= NMAX ||
		    (size_t)r != dgram(i, want) || memcmp(b, want, (size_t)r))
			R.bad++;
		else if (R.n < NMAX)
			R.idx[R.n] = i;
		R.n++;
	}
}

static int udp_socket(int family, uint16_t port)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0), size = 8 << 20;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	/* held datagrams stay charged to the sender */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4)) :
				bind(fd, (struct sockaddr *)&a6, sizeof(a6))) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin6_port);	/* the same offset in sockaddr_in */
}

/* Datagrams from..to-1 to the receiver's port (tx and rx of one family). */
static void send_range(int tx, int rx, int from, int to)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);
	uint8_t b[2048];
	int i;

	getsockname(rx, (struct sockaddr *)&a, &len);
	for (i = from; i < to; i++)
		if (sendto(tx, b, dgram(i, b), 0, (struct sockaddr *)&a, len) < 0)
			R.bad++;
}

/* Dispatch and receive until the handler saw seen packets and rx got
 * nrx datagrams, or ms passed. */
static bool pump(struct netfil_packets *pq, int rx, int seen, int nrx, int ms)
{
	struct pollfd pfd[2] = { { .fd = netfil_packets_fd(pq), .events = POLLIN },
				 { .fd = rx, .events = POLLIN } };
	uint64_t end = now_ms() + (uint64_t)ms;
	int r;

	while (S.n < seen || R.n < nrx) {
		uint64_t now = now_ms();

		if (now >= end)
			return false;
		poll(pfd, 2, (int)(end - now));
		if (pfd[0].revents && (r = netfil_packets_dispatch(pq)) < 0)
			S.err = r;
		if (pfd[1].revents)
			drain(rx);
	}
	return true;
}

struct ctx {
	struct netfil_packets *pq;
	int tx, rx;
	uint16_t sport;
};

/* A fresh client and sockets with the handler answering v. */
static int start(struct ctx *c, int family, enum netfil_verdict v)
{
	int r;

	memset(&S, 0, sizeof(S));
	memset(&R, 0, sizeof(R));
	c->tx = udp_socket(family, 0);
	c->rx = udp_socket(family, UDP_PORT);
	c->sport = local_port(c->tx);
	S.v = v;
	S.proto = IPPROTO_UDP;
	S.dport = UDP_PORT;
	S.sport = c->sport;
	r = netfil_packets_open(NF, FILTER, handler, NULL, &c->pq);
	if (r || c->tx < 0 || c->rx < 0)
		check(false, "open: %s", strerror(-r));
	return r ?: c->tx < 0 || c->rx < 0 ? -1 : 0;
}

static struct netfil_packets_stats stop(struct ctx *c)
{
	struct netfil_packets_stats st;

	netfil_packets_stats(c->pq, &st);
	netfil_packets_close(c->pq);
	close(c->tx);
	close(c->rx);
	/* every packet got one answer or is held */
	if (st.allowed + st.dropped + st.held != st.packets)
		check(false, "stats: %llu allowed + %llu dropped + %llu held != %llu packets",
		      (unsigned long long)st.allowed, (unsigned long long)st.dropped,
		      (unsigned long long)st.held, (unsigned long long)st.packets);
	return st;
}

static void test_allow(void)
{
	struct netfil_packets_stats st;
	struct ctx c;
	int i, dup = 0;
	bool seen[100] = { false };

	g_mode = NETFIL_QUEUE_ALL;
	if (start(&c, AF_INET, NETFIL_V_ALLOW))
		return;
	send_range(c.tx, c.rx, 0, 100);
	pump(c.pq, c.rx, 100, 100, 5000);
	for (i = 0; i < R.n && i < NMAX; i++) {
		dup += seen[R.idx[i] % 100];
		seen[R.idx[i] % 100] = true;
	}
	st = stop(&c);
	check(R.n == 100 && !R.bad && !dup, "allow: 100 datagrams arrive byte-exact (got %d, %d bad, %d twice)",
	      R.n, R.bad, dup);
	check(S.n == 100 && !S.bad && !S.err,
	      "allow: the handler saw 100 packets out lo, UDP, ports, len, socket (%d, %d wrong, err %d)",
	      S.n, S.bad, S.err);
	check(S.last.family == AF_INET && !memcmp(S.last.daddr, "\x7f\0\0\1", 4) && !S.flow_new,
	      "allow: IPv4 addresses, no flow_new for UDP in mode all");
	check(st.packets == 100 && st.allowed == 100 && !st.dropped && !st.held && !st.lost,
	      "allow: stats packets 100 allowed 100 (lost %llu)", (unsigned long long)st.lost);

	/* IPv6 without extension headers */
	if (start(&c, AF_INET6, NETFIL_V_ALLOW))
		return;
	send_range(c.tx, c.rx, 0, 3);
	pump(c.pq, c.rx, 3, 3, 5000);
	stop(&c);
	check(R.n == 3 && !R.bad && S.n == 3 && !S.bad && S.last.family == AF_INET6 &&
	      !memcmp(S.last.saddr, &in6addr_loopback, 16),
	      "ipv6: 3 datagrams over ::1 parsed and arrive (%d seen, %d bad; %d arrived)",
	      S.n, S.bad, R.n);
}

static void test_drop(void)
{
	struct netfil_packets_stats st;
	struct ctx c;

	g_mode = NETFIL_QUEUE_NEW;
	if (start(&c, AF_INET, NETFIL_V_DROP))
		return;
	send_range(c.tx, c.rx, 0, 10);
	pump(c.pq, c.rx, 10, 0, 5000);
	pump(c.pq, c.rx, 10, 1, 300);	/* nothing may arrive */
	st = stop(&c);
	g_mode = NETFIL_QUEUE_ALL;
	check(S.n == 10 && R.n == 0, "drop: 10 seen, none arrive (%d arrived)", R.n);
	check(st.dropped == 10 && !st.allowed, "drop: stats dropped %llu",
	      (unsigned long long)st.dropped);
	check(S.flow_new == 10, "mode new: every packet opens a flow (%d)", S.flow_new);
}

static void test_delay(void)
{
	struct netfil_packets_stats st;
	struct ctx c;
	int i, r = 0, order = 0;

	g_timeout = 5000;
	if (start(&c, AF_INET, NETFIL_V_DELAY))
		return;
	send_range(c.tx, c.rx, 0, 20);
	pump(c.pq, c.rx, 20, 0, 5000);
	netfil_packets_stats(c.pq, &st);
	check(S.n == 20 && st.held == 20 && st.delayed == 20 && R.n == 0,
	      "delay: 20 held, none arrive yet (held %llu, arrived %d)",
	      (unsigned long long)st.held, R.n);
	for (i = S.n - 1; i >= 0 && i < NMAX; i--)
		r = netfil_packets_verdict(c.pq, S.ids[i], NETFIL_V_ALLOW) ?: r;
	check(!r, "delay: 20 verdicts in reverse order (%s)", strerror(-r));
	check(netfil_packets_verdict(c.pq, S.ids[0], NETFIL_V_ALLOW) == -ENOENT &&
	      netfil_packets_verdict(c.pq, S.ids[0], NETFIL_V_DELAY) == -EINVAL,
	      "delay: an answered id is -ENOENT, DELAY as a verdict -EINVAL");
	pump(c.pq, c.rx, 20, 20, 5000);
	for (i = 0; i < R.n && i < 20; i++)
		order += R.idx[i] == 19 - i;
	st = stop(&c);
	check(R.n == 20 && !R.bad && order == 20,
	      "delay: all 20 arrive, in reverse order (%d arrived, %d in place)", R.n, order);
	check(st.allowed == 20 && !st.held && !st.timed_out, "delay: stats allowed 20, none held");
}

static void test_timeout(enum netfil_fail fail)
{
	const char *name = fail == NETFIL_FAIL_OPEN ? "open" : "closed";
	struct netfil_packets_stats st;
	struct ctx c;
	uint64_t t0, dt;

	g_timeout = 200;
	g_fail = fail;
	if (start(&c, AF_INET, NETFIL_V_DELAY))
		return;
	t0 = now_ms();
	send_range(c.tx, c.rx, 0, 1);
	pump(c.pq, c.rx, 1, 1, fail == NETFIL_FAIL_OPEN ? 2000 : 700);
	dt = now_ms() - t0;
	st = stop(&c);
	g_fail = NETFIL_FAIL_CLOSED;
	g_timeout = 5000;
	if (fail == NETFIL_FAIL_OPEN)
		check(R.n == 1 && dt >= 180 && dt < 1000 && st.allowed == 1,
		      "timeout, fail open: the held datagram arrives after %llu ms",
		      (unsigned long long)dt);
	else
		check(S.n == 1 && R.n == 0 && st.dropped == 1, "timeout, fail closed: dropped");
	check(st.timed_out == 1 && !st.held && !S.err, "timeout, fail %s: timed_out %llu", name,
	      (unsigned long long)st.timed_out);
}

/* The heartbeat: an idle client's fd fires by a quarter of the timeout,
 * and its dispatch beats; a client that stays away longer than the
 * timeout counts a stall when it comes back. */
static void test_heartbeat(void)
{
	struct netfil_packets_stats st;
	struct netfil_packets *pq;
	struct pollfd pfd;
	uint64_t t0, beat0, late;
	int r, n;

	g_timeout = 400;
	r = netfil_packets_open(NF, FILTER, handler, NULL, &pq);
	if (r) {
		check(false, "heartbeat: open: %s", strerror(-r));
		g_timeout = 5000;
		return;
	}
	beat0 = g_beat->beat_ns;
	t0 = mono_ns();
	pfd = (struct pollfd){ .fd = netfil_packets_fd(pq), .events = POLLIN };
	n = poll(&pfd, 1, 2000);
	late = (mono_ns() - t0) / 1000000;
	netfil_packets_dispatch(pq);
	check(n == 1 && late <= 300 && g_beat->beat_ns > beat0,
	      "heartbeat: an idle client wakes after %llu ms (timeout 400) and beats",
	      (unsigned long long)late);
	netfil_packets_stats(pq, &st);
	check(st.stalls == 0, "heartbeat: no stall while it beats");
	t0 = mono_ns();
	while (mono_ns() - t0 < 600 * 1000000ull)
		poll(NULL, 0, 650 - (int)((mono_ns() - t0) / 1000000));
	netfil_packets_dispatch(pq);
	netfil_packets_stats(pq, &st);
	check(st.stalls == 1 && st.stalled_ms >= 600 && st.stalled_ms < 5000,
	      "heartbeat: 600 ms away counts one stall of %llu ms",
	      (unsigned long long)st.stalled_ms);
	netfil_packets_close(pq);
	g_timeout = 5000;
}

/* The watchdog: a client that stops dispatching, with a packet waiting
 * unread, has it answered with the fail policy once its beat is stale. */
static void test_watchdog(enum netfil_fail fail)
{
	const char *name = fail == NETFIL_FAIL_OPEN ? "open" : "closed";
	struct pollfd pfd;
	struct ctx c;
	uint64_t t0, dt;
	int n;

	g_timeout = 300;
	g_fail = fail;
	if (start(&c, AF_INET, NETFIL_V_ALLOW))
		goto out;
	t0 = mono_ns();
	send_range(c.tx, c.rx, 0, 1);
	pfd = (struct pollfd){ .fd = c.rx, .events = POLLIN };
	n = poll(&pfd, 1, fail == NETFIL_FAIL_OPEN ? 3000 : 1500);	/* no dispatch */
	dt = (mono_ns() - t0) / 1000000;
	if (fail == NETFIL_FAIL_OPEN)
		check(n == 1 && dt >= 250 && dt < 1500,
		      "watchdog, fail open: a stalled client's packet passes after %llu ms "
		      "(timeout 300)", (unsigned long long)dt);
	else
		check(n == 0, "watchdog, fail closed: a stalled client's packet never arrives");
	netfil_packets_dispatch(c.pq);
	netfil_packets_close(c.pq);
	close(c.tx);
	close(c.rx);
	check(S.n <= 1, "watchdog, fail %s: the late client may still see it (%d)", name, S.n);
out:
	g_fail = NETFIL_FAIL_CLOSED;
	g_timeout = 5000;
}

static void test_allow_flow(void)
{
	struct ctx c;
	long before = mark_counter(), after;

	if (start(&c, AF_INET, NETFIL_V_ALLOW_FLOW))
		return;
	send_range(c.tx, c.rx, 0, 1);
	pump(c.pq, c.rx, 1, 1, 5000);
	stop(&c);
	after = mark_counter();
	check(R.n == 1 && !S.err, "allow-flow: the datagram arrives");
	check(before == 0 && after == 1,
	      "allow-flow: a later chain sees mark 0x%x | 0x%x (counter %ld -> %ld)", FLOW_MASK,
	      PRE_MARK, before, after);
}

static void test_busy(void)
{
	struct netfil_packets *pq, *pq2;
	int r, status = -1;
	pid_t pid;

	r = netfil_packets_open(NF, FILTER, handler, NULL, &pq);
	if (r) {
		check(false, "busy: open: %s", strerror(-r));
		return;
	}
	pid = fork();
	if (!pid) {
		r = netfil_packets_open(NF, FILTER, handler, NULL, &pq2);
		_exit(r == -EBUSY ? 0 : r < 0 ? -r : 255);
	}
	waitpid(pid, &status, 0);
	netfil_packets_close(pq);
	check(WIFEXITED(status) && !WEXITSTATUS(status),
	      "busy: a second client of the queue (another process) gets -EBUSY (exit %d)",
	      WEXITSTATUS(status));
	check(netfil_packets_open(NF, FILTER + 1, handler, NULL, &pq2) == -ENOENT && !pq2,
	      "open: nf_queue_client's error comes back");
}

/* 4 MiB over TCP through the queue: GSO packets arrive whole */
static void test_gso(void)
{
	enum { TOTAL = 4 << 20 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct netfil_packets_stats st = { 0 };
	struct netfil_packets *pq = NULL;
	static uint8_t out[TOTAL], in[1 << 16];
	size_t sent = 0, got = 0, k;
	int one = 1, ls, cs, ss = -1, r, bad = 0;
	uint64_t end = now_ms() + 20000;

	memset(&S, 0, sizeof(S));
	S.proto = IPPROTO_TCP;
	S.dport = TCP_PORT;
	for (k = 0; k < TOTAL; k++)
		out[k] = (uint8_t)(k % 251);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cs = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	r = bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ? -errno :
	    netfil_packets_open(NF, FILTER, handler, NULL, &pq);
	if (!r && connect(cs, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)
		r = -errno;
	while (!r && got < TOTAL && now_ms() < end) {
		struct pollfd pfd[3] = {
			{ .fd = netfil_packets_fd(pq), .events = POLLIN },
			{ .fd = ss >= 0 ? ss : ls, .events = POLLIN },
			{ .fd = cs, .events = sent < TOTAL ? POLLOUT : 0 },
		};
		ssize_t n;

		poll(pfd, 3, 100);
		if (pfd[0].revents && (n = netfil_packets_dispatch(pq)) < 0)
			S.err = (int)n;
		if (pfd[1].revents && ss < 0)
			ss = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
		else if (pfd[1].revents)
			while ((n = recv(ss, in, sizeof(in), 0)) > 0) {
				bad += memcmp(in, out + got, (size_t)n) != 0;
				got += (size_t)n;
			}
		if (pfd[2].revents & POLLOUT && (n = send(cs, out + sent, TOTAL - sent, 0)) > 0)
			sent += (size_t)n;
	}
	if (pq) {
		netfil_packets_stats(pq, &st);
		netfil_packets_close(pq);
	}
	close(cs);
	close(ls);
	if (ss >= 0)
		close(ss);
	check(!r && got == TOTAL && !bad && !S.err,
	      "gso: 4 MiB over TCP through the queue arrive complete (%zu bytes, %s)", got,
	      strerror(-r));
	check(S.max_len > 1500 && !S.bad,
	      "gso: packets come whole (largest %u bytes, MTU 1500; %d packets, %d wrong)",
	      S.max_len, S.n, S.bad);
	check(S.flow_new == 1, "gso: one packet (the SYN) opens the flow (%d)", S.flow_new);
	check(!st.lost && st.packets == (uint64_t)S.n, "gso: nothing lost (%llu)",
	      (unsigned long long)st.lost);
}

int main(void)
{
	if (geteuid()) {
		printf("not ok - packets_check needs root\n0 passed, 1 failed\n");
		return 1;
	}
	g_beat = mmap(NULL, sizeof(*g_beat), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (g_beat == MAP_FAILED || setup()) {
		check(false, "setup: namespace, lo and the queue rules");
	} else {
		test_allow();
		test_drop();
		test_delay();
		test_timeout(NETFIL_FAIL_OPEN);
		test_timeout(NETFIL_FAIL_CLOSED);
		test_allow_flow();
		test_heartbeat();
		test_watchdog(NETFIL_FAIL_OPEN);
		test_watchdog(NETFIL_FAIL_CLOSED);
		test_busy();
		test_gso();
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
