/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * nft_check.c - lib/nft.c against the real kernel: the program moves to a
 * network namespace of its own, adds netfil's queue rules there and sends
 * UDP over lo.  No queue client runs, so a queued packet is dropped unless
 * the rule bypasses.  Run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "queue.h"
#include "../bpf/netfil_abi.h"

#define TABLE	"nfcheck"
#define FLOW	0x00f00000u	/* the ct mark field ALLOW_FLOW sets */
#define WAIT_MS	300

static int passed, failed;

#define CHECK(cond, ...) do {							\
	bool ___ok = (cond);							\
	___ok ? passed++ : failed++;						\
	printf("%s - ", ___ok ? "ok" : "not ok");				\
	printf(__VA_ARGS__);							\
	putchar('\n');								\
} while (0)
#define CHECK_EQ(got, want, what) do {						\
	long ___g = (got), ___w = (want);					\
	CHECK(___g == ___w, "%s (got %ld, want %ld)", what, ___g, ___w);	\
} while (0)

/* A sender connected to a receiver, each with its own SO_MARK. */
struct pair {
	int s, r;
};

static int sock_at(int family, const char *addr, uint32_t mark, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET)
		inet_pton(AF_INET, addr, &((struct sockaddr_in *)ss)->sin_addr);
	else
		inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)ss)->sin6_addr);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) ||
	    bind(fd, (struct sockaddr *)ss, len) || getsockname(fd, (struct sockaddr *)ss, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int pair_open(struct pair *p, int family, const char *src, const char *dst,
		     uint32_t smark, uint32_t rmark)
{
	struct sockaddr_storage ss;

	p->s = sock_at(family, src, smark, &ss);
	p->r = sock_at(family, dst, rmark, &ss);
	if (p->s < 0 || p->r < 0 || connect(p->s, (struct sockaddr *)&ss, sizeof(ss)))
		return -1;
	return 0;
}

static void pair_close(struct pair *p)
{
	close(p->s);
	close(p->r);
}

/* true when a datagram sent on from arrives at to within WAIT_MS */
static bool hop(int from, int to, struct sockaddr_storage *peer)
{
	struct pollfd pfd = { .fd = to, .events = POLLIN };
	socklen_t len = sizeof(*peer);
	char c;

	if (peer && peer->ss_family)
		sendto(from, "x", 1, 0, (struct sockaddr *)peer, sizeof(*peer));
	else
		send(from, "x", 1, 0);	/* EPERM when dropped on output: ignored */
	return poll(&pfd, 1, WAIT_MS) == 1 &&
	       recvfrom(to, &c, 1, 0, (struct sockaddr *)peer, peer ? &len : NULL) == 1;
}

static bool pair_send(struct pair *p)
{
	return hop(p->s, p->r, NULL);
}

/* One datagram on a fresh pair (so a fresh conntrack entry). */
static int udp(int family, const char *src, const char *dst, uint32_t smark, uint32_t rmark)
{
	struct pair p;
	int ret = -1;

	if (!pair_open(&p, family, src, dst, smark, rmark))
		ret = pair_send(&p);
	pair_close(&p);
	return ret;
}

static void lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		exit(2);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		exit(2);
	close(fd);
}

/* How often needle occurs in cmd's output; -1 if it could not run. */
static int occurs(const char *cmd, const char *needle)
{
	static char buf[1 << 20];
	FILE *f = popen(cmd, "r");
	size_t n;
	int count = 0;
	char *s;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	if (pclose(f))
		return -1;
	for (s = buf; (s = strstr(s, needle)); s += strlen(needle))
		count++;
	return count;
}

static struct nf_nft_rule ip_rule(uint32_t id, int family, const char *addr, int plen, bool bypass)
{
	struct nf_nft_rule r = { .id = id, .qnum = 20001, .bypass = bypass, .kind = NF_KIND_IP,
				 .family = family, .prefixlen = (uint8_t)plen };

	inet_pton(family, addr, r.addr);
	return r;
}

int main(void)
{
	struct nf_nft_rule r;
	struct pair p;
	int i, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET)) {
		perror("unshare");
		return 2;
	}
	lo_up();

	CHECK_EQ(nf_nft_count(TABLE, 0), -ENOENT, "count: no table");
	CHECK_EQ(nf_nft_drop(TABLE), 0, "drop: no table");
	CHECK_EQ(nf_nft_del(TABLE, 1), 0, "del: no table");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 1, "no rules: datagram arrives");

	r = ip_rule(1, AF_INET, "127.0.0.0", 8, false);
	r.kind = 7;
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), -EINVAL, "add: bad kind");
	r = ip_rule(1, AF_INET, "127.0.0.0", 8, false);
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add ip 127.0.0.0/8");
	CHECK_EQ(nf_nft_count(TABLE, 1), 2, "count id 1");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 0, "ip: queued, no client: dropped");
	CHECK_EQ(occurs("nft -j list ruleset", "\"comment\": \"netfil:1\""), 2,
		 "nft -j shows the rules' comment");
	CHECK_EQ(occurs("nft -j list ruleset", "\"comment\": \"netfil:flow\""), 5,
		 "nft -j shows the flow rules and the pass rule");
	CHECK_EQ(occurs("nft --debug=netlink list ruleset 2>&1", "[ target name NFQUEUE rev 3 ]"), 2,
		 "the NFQUEUE target");
	CHECK_EQ(nf_nft_del(TABLE, 1), 0, "del id 1");
	CHECK_EQ(nf_nft_count(TABLE, 1), 0, "count id 1 after del");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 1, "after del: arrives");

	r = ip_rule(2, AF_INET, "127.0.0.2", 32, false);
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add ip 127.0.0.2/32");
	CHECK_EQ(occurs("nft -j list ruleset", "\"comment\": \"netfil:flow\""), 5,
		 "second add: no second set of flow rules");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.2", 0, 0), 0, "ip out: daddr matched");
	CHECK_EQ(udp(AF_INET, "127.0.0.2", "127.0.0.1", 0, 0), 0, "ip in: saddr matched");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.3", 0, 0), 1, "ip: other address arrives");
	CHECK_EQ(nf_nft_del(TABLE, 2), 0, "del id 2");

	r = ip_rule(3, AF_INET, "127.0.0.0", 8, true);
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add ip bypass");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 1, "bypass: arrives");
	CHECK_EQ(nf_nft_del(TABLE, 3), 0, "del id 3");

	r = ip_rule(4, AF_INET6, "::1", 128, false);
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add ip6 ::1/128");
	CHECK_EQ(udp(AF_INET6, "::1", "::1", 0, 0), 0, "ip6: dropped");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 1, "ip6 rule: ipv4 arrives");
	CHECK_EQ(nf_nft_del(TABLE, 4), 0, "del id 4");
	CHECK_EQ(udp(AF_INET6, "::1", "::1", 0, 0), 1, "ip6 after del: arrives");

	r = (struct nf_nft_rule){ .id = 5, .qnum = 20001, .kind = NF_KIND_SOCKET,
				  .mark = 0x03000000, .mask = 0x0f000000 };
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add socket");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0x03000000, 0), 0,
		 "socket out: sender's mark matched");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0x13000000), 0,
		 "socket in: receiver's socket mark matched");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0x05000000, 0x05000000), 1,
		 "socket: other field value arrives");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 1, "socket: mark 0 arrives");
	CHECK_EQ(nf_nft_del(TABLE, 5), 0, "del id 5");

	r = (struct nf_nft_rule){ .id = 6, .qnum = 20001, .kind = NF_KIND_IFACE, .n_ifaces = 2,
				  .ifaces = { "eth9", "lo" } };
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add iface eth9, lo");
	CHECK_EQ(nf_nft_count(TABLE, 6), 4, "count id 6: a rule per name and chain");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 0, "iface lo: dropped");
	CHECK_EQ(nf_nft_del(TABLE, 6), 0, "del id 6");
	r = (struct nf_nft_rule){ .id = 7, .qnum = 20001, .kind = NF_KIND_IFACE, .n_ifaces = 1,
				  .ifaces = { "lo0" } };
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add iface lo0");
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 1, "iface lo0: lo arrives");

	/* new_only: a flow that saw a reply before the rule is not queued */
	CHECK(!pair_open(&p, AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), "new_only: pair");
	{
		struct sockaddr_storage peer = { 0 };

		CHECK(hop(p.s, p.r, &peer) && hop(p.r, p.s, &peer), "new_only: a reply");
	}
	r = ip_rule(8, AF_INET, "127.0.0.0", 8, false);
	r.new_only = true;
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add ip new_only");
	CHECK(pair_send(&p), "new_only: established flow arrives");
	pair_close(&p);
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 0, "new_only: new flow dropped");
	CHECK_EQ(nf_nft_del(TABLE, 8), 0, "del id 8");

	/* flow: a packet with the flow field all-ones (as ALLOW_FLOW's
	 * verdict leaves it) marks its conntrack entry; later packets of
	 * that flow skip the queue, other flows do not */
	CHECK(!pair_open(&p, AF_INET, "127.0.0.1", "127.0.0.1", FLOW | 0x5, 0), "flow: pair");
	CHECK(pair_send(&p), "flow: marked packet arrives");
	r = ip_rule(9, AF_INET, "127.0.0.0", 8, false);
	CHECK_EQ(nf_nft_add(TABLE, FLOW, &r), 0, "add ip 127.0.0.0/8 again");
	CHECK(!setsockopt(p.s, SOL_SOCKET, SO_MARK, &(uint32_t){ 0 }, sizeof(uint32_t)) &&
	      pair_send(&p), "flow: remembered flow arrives unmarked");
	pair_close(&p);
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", 0, 0), 0, "flow: another flow dropped");
	/* pass: a socket whose mark has the flow bit (a stalled client's fail
	 * open, bpf/queue.h) goes past every queue rule */
	CHECK_EQ(udp(AF_INET, "127.0.0.1", "127.0.0.1", FLOW | 0x3, 0), 1,
		 "pass: a socket marked with the flow bit passes");

	CHECK_EQ(nf_nft_count(TABLE, 0), 4, "count all: ids 7 and 9");
	/* a dump longer than one read */
	r = (struct nf_nft_rule){ .qnum = 20001, .kind = NF_KIND_IFACE, .n_ifaces = 16 };
	for (i = 0; i < 16; i++)
		snprintf(r.ifaces[i], sizeof(r.ifaces[i]), "veth%d", i);
	for (r.id = 100, err = 0; r.id < 110 && !err; r.id++)
		err = nf_nft_add(TABLE, FLOW, &r);
	CHECK_EQ(err, 0, "add ten filters of 16 interfaces");
	CHECK_EQ(nf_nft_count(TABLE, 0), 4 + 320, "count all: 324");
	CHECK_EQ(nf_nft_count(TABLE, 109), 32, "count id 109");
	CHECK_EQ(nf_nft_del(TABLE, 109), 0, "del id 109");
	CHECK_EQ(nf_nft_count(TABLE, 0), 4 + 288, "count all: 292");
	CHECK_EQ(nf_nft_del(TABLE, 9), 0, "del id 9");
	CHECK_EQ(nf_nft_count(TABLE, 9), 0, "id 9 gone");
	CHECK_EQ(nf_nft_count(TABLE, 7), 2, "id 7 stays");
	CHECK_EQ(nf_nft_del(TABLE, 999), 0, "del of an id without rules");
	CHECK_EQ(nf_nft_drop(TABLE), 0, "drop");
	CHECK_EQ(occurs("nft list tables", TABLE), 0, "the table is gone");
	CHECK_EQ(nf_nft_count(TABLE, 0), -ENOENT, "count after drop");
	CHECK_EQ(nf_nft_drop(TABLE), 0, "drop again");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
