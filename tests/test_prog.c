// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the packet programs with BPF_PROG_TEST_RUN: crafted IPv4
 * and IPv6 packets go through the real, loaded programs, and filters are
 * set through libnetfil.  Runs in a private network namespace (the tc
 * tests attach to its loopback) and needs NETFIL_PIN_DIR and NETFIL_CGROUP
 * pointing at test-only places; tests/run.sh sets both.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "netfil.h"
#include "test.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

static struct netfil_opts opts;
static struct netfil *nf;
static int prog_egress, prog_ingress, prog_tc_ingress, prog_tc_egress;

static int prog_fd(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/prog/%s", opts.pin_dir, name);
	return bpf_obj_get(path);
}

/* An Ethernet frame carrying UDP with payload bytes; returns its length.
 * The L3 length the programs must count is that minus ETH_HLEN. */
static int build_pkt(unsigned char *buf, const char *src, const char *dst, int payload)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct udphdr *udp;
	int l3;

	memset(buf, 0, 2048);
	if (strchr(dst, ':')) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 64;
		ip6->payload_len = htons((uint16_t)(sizeof(*udp) + payload));
		inet_pton(AF_INET6, src, &ip6->saddr);
		inet_pton(AF_INET6, dst, &ip6->daddr);
		udp = (struct udphdr *)(ip6 + 1);
		l3 = (int)(sizeof(*ip6) + sizeof(*udp)) + payload;
	} else {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons((uint16_t)(sizeof(*ip) + sizeof(*udp) + payload));
		inet_pton(AF_INET, src, &ip->saddr);
		inet_pton(AF_INET, dst, &ip->daddr);
		udp = (struct udphdr *)(ip + 1);
		l3 = (int)(sizeof(*ip) + sizeof(*udp)) + payload;
	}
	udp->source = htons(40000);
	udp->dest = htons(9);
	udp->len = htons((uint16_t)(sizeof(*udp) + payload));
	return ETH_HLEN + l3;
}

/* Run one packet through a program and return its verdict. */
static int run(int prog, const char *src, const char *dst, int payload)
{
	unsigned char buf[2048];
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = buf, .repeat = 1);
	int err;

	t.data_size_in = (__u32)build_pkt(buf, src, dst, payload);
	if (prog == prog_tc_ingress || prog == prog_tc_egress) {
		t.ctx_in = &ctx;
		t.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog, &t);
	if (!ASSERT_OK(err, "BPF_PROG_TEST_RUN"))
		return -1000;
	return (int)t.retval;
}

/* The L3 length of a UDP packet with this payload. */
static int l3len(const char *dst, int payload)
{
	return (strchr(dst, ':') ? 40 : 20) + 8 + payload;
}

static uint32_t add(const char *what, uint64_t ibyte, uint64_t obyte,
		    uint64_t iobyte, enum netfil_action action)
{
	struct netfil_filter f = { .on = true, .action = action,
				   .limit = { ibyte, obyte, iobyte } };
	uint32_t id = 0;
	int err;

	if (!strncmp(what, "if:", 3)) {
		f.match.kind = NETFIL_IFACE;
		f.match.n_ifaces = 1;
		snprintf(f.match.ifaces[0], sizeof(f.match.ifaces[0]), "%s", what + 3);
	} else {
		err = netfil_parse_prefix(what, &f.match);
		ASSERT_OK(err, what);
	}
	err = netfil_filter_add(nf, &f, &id);
	ASSERT_OK(err, what);
	return id;
}

static struct netfil_filter get(uint32_t id)
{
	struct netfil_filter f = {};

	ASSERT_OK(netfil_filter_get(nf, id, &f), "filter get");
	return f;
}

static void del_all(void)
{
	int i, n = netfil_filter_list(nf, NULL, 0);
	struct netfil_filter *all = calloc((size_t)n + 1, sizeof(*all));

	n = netfil_filter_list(nf, all, n);
	for (i = 0; i < n; i++)
		netfil_filter_del(nf, all[i].id);
	free(all);
}

static void test_ipv4_prefix_match(void)
{
	uint32_t id = add("10.1.0.0/16", 0, 0, 0, NETFIL_REJECT);

	ASSERT_EQ(run(prog_egress, "192.0.2.1", "10.1.2.3", 100), 1, "egress verdict");
	ASSERT_EQ(run(prog_egress, "192.0.2.1", "10.2.0.1", 100), 1, "outside verdict");
	ASSERT_EQ(run(prog_ingress, "10.1.200.7", "192.0.2.1", 50), 1, "ingress verdict");
	/* ingress matches the source: a packet *to* the prefix is not ours */
	ASSERT_EQ(run(prog_ingress, "192.0.2.9", "10.1.0.1", 50), 1, "ingress other");
	ASSERT_EQ(get(id).bytes[NETFIL_OUT], l3len("10.1.2.3", 100), "out bytes");
	ASSERT_EQ(get(id).bytes[NETFIL_IN], l3len("10.1.2.3", 50), "in bytes");
	ASSERT_EQ(get(id).packets[NETFIL_OUT], 1, "out packets");
	del_all();
}

static void test_ipv4_most_specific(void)
{
	uint32_t wide = add("10.1.0.0/16", 0, 0, 0, NETFIL_REJECT);
	uint32_t narrow = add("10.1.2.0/24", 0, 0, 0, NETFIL_REJECT);
	uint32_t host = add("10.1.2.3", 0, 0, 0, NETFIL_REJECT);

	run(prog_egress, "192.0.2.1", "10.1.2.3", 10);
	run(prog_egress, "192.0.2.1", "10.1.2.4", 20);
	run(prog_egress, "192.0.2.1", "10.1.3.4", 30);
	ASSERT_EQ(get(host).bytes[NETFIL_OUT], l3len("x", 10), "/32 bytes");
	ASSERT_EQ(get(narrow).bytes[NETFIL_OUT], l3len("x", 20), "/24 bytes");
	ASSERT_EQ(get(wide).bytes[NETFIL_OUT], l3len("x", 30), "/16 bytes");
	del_all();
}

static void test_ipv6_prefix_match(void)
{
	uint32_t wide = add("fd00::/16", 0, 0, 0, NETFIL_REJECT);
	uint32_t narrow = add("fd00:1::/32", 0, 0, 0, NETFIL_REJECT);

	run(prog_egress, "2001:db8::1", "fd00:1::5", 100);
	run(prog_egress, "2001:db8::1", "fd00:2::5", 200);
	run(prog_egress, "2001:db8::1", "2001:db8::2", 300);
	run(prog_ingress, "fd00:1:ffff::1", "2001:db8::1", 400);
	ASSERT_EQ(get(narrow).bytes[NETFIL_OUT], l3len(":", 100), "/32 out");
	ASSERT_EQ(get(narrow).bytes[NETFIL_IN], l3len(":", 400), "/32 in");
	ASSERT_EQ(get(wide).bytes[NETFIL_OUT], l3len(":", 200), "/16 out");
	ASSERT_EQ(get(wide).bytes[NETFIL_IN], 0, "/16 in");
	del_all();
}

/* A limit of exactly two packets: both pass, the counter lands exactly on
 * the limit, one byte more is refused and latches. */
static void limit_exact(const char *prefix, const char *local, const char *remote,
			int prog, int dir)
{
	int L = l3len(remote, 100), reject = 0;	/* CG_REJECT, both ways */
	uint64_t lim[3] = {};
	const char *s = dir == NETFIL_OUT ? local : remote;
	const char *d = dir == NETFIL_OUT ? remote : local;
	struct netfil_filter f;
	uint32_t id;

	lim[dir] = (uint64_t)(2 * L);
	id = add(prefix, lim[0], lim[1], 0, NETFIL_REJECT);
	ASSERT_EQ(run(prog, s, d, 100), 1, "first packet");
	ASSERT_EQ(run(prog, s, d, 100), 1, "packet reaching the limit exactly");
	f = get(id);
	ASSERT_EQ(f.bytes[dir], 2 * L, "admitted == limit");
	ASSERT_TRUE(!f.exceeded[dir], "not exceeded at the limit");

	ASSERT_EQ(run(prog, s, d, 0), reject, "one packet over");
	f = get(id);
	ASSERT_EQ(f.bytes[dir], 2 * L, "admitted unchanged");
	ASSERT_EQ(f.dropped[dir], l3len(remote, 0), "dropped bytes");
	ASSERT_TRUE(f.exceeded[dir], "exceeded latched");
	ASSERT_TRUE(!f.exceeded[!dir], "other direction not exceeded");

	/* latched: even nothing more than what already passed is refused */
	ASSERT_EQ(run(prog, s, d, 0), reject, "latched drop");

	/* raising the limit releases the latch */
	f.limit[dir] = (uint64_t)(3 * L);
	ASSERT_OK(netfil_filter_set(nf, &f), "raise limit");
	ASSERT_EQ(run(prog, s, d, 100), 1, "admitted after raise");
	ASSERT_EQ(get(id).bytes[dir], 3 * L, "admitted == new limit");

	/* the action decides what the sender sees on egress */
	f = get(id);
	f.action = NETFIL_DROP;
	ASSERT_OK(netfil_filter_set(nf, &f), "action drop");
	ASSERT_EQ(run(prog, s, d, 1), dir == NETFIL_OUT ? 2 : 0, "drop verdict");

	ASSERT_OK(netfil_filter_reset(nf, id), "reset");
	f = get(id);
	ASSERT_EQ(f.bytes[dir] + f.dropped[dir], 0, "counters after reset");
	ASSERT_TRUE(!f.exceeded[dir], "latch cleared by reset");
	ASSERT_EQ(run(prog, s, d, 100), 1, "admitted after reset");

	/* off counts nothing and blocks nothing */
	f = get(id);
	f.on = false;
	f.limit[dir] = 1;
	ASSERT_OK(netfil_filter_set(nf, &f), "off");
	ASSERT_EQ(run(prog, s, d, 100), 1, "off passes");
	ASSERT_EQ(get(id).bytes[dir], L, "off counts nothing");
	del_all();
}

static void test_limit_exact_ipv4_out(void)
{
	limit_exact("10.9.0.0/16", "192.0.2.1", "10.9.1.1", prog_egress, NETFIL_OUT);
}

static void test_limit_exact_ipv6_in(void)
{
	limit_exact("fd00:9::/32", "2001:db8::1", "fd00:9::1", prog_ingress, NETFIL_IN);
}

static void test_iobyte_counts_both(void)
{
	int L = l3len("x", 100);
	uint32_t id = add("10.7.0.0/16", 0, 0, (uint64_t)(3 * L), NETFIL_REJECT);

	ASSERT_EQ(run(prog_ingress, "10.7.0.1", "192.0.2.1", 100), 1, "in 1");
	ASSERT_EQ(run(prog_egress, "192.0.2.1", "10.7.0.1", 100), 1, "out 1");
	ASSERT_EQ(run(prog_ingress, "10.7.0.1", "192.0.2.1", 100), 1, "in 2");
	ASSERT_EQ(run(prog_egress, "192.0.2.1", "10.7.0.1", 0), 0, "out over iobyte");
	ASSERT_TRUE(get(id).exceeded[NETFIL_OUT], "out exceeded");
	ASSERT_TRUE(!get(id).exceeded[NETFIL_IN], "in not latched");
	ASSERT_EQ(get(id).bytes[NETFIL_IN] + get(id).bytes[NETFIL_OUT], 3 * L, "total");
	del_all();
}

/* tc sees the Ethernet header; the interface filter must count L3 bytes,
 * the same as the socket and IP filters. */
static void test_interface_counts_l3(void)
{
	int L = l3len("x", 200);
	uint32_t id = add("if:lo", (uint64_t)L, 0, 0, NETFIL_DROP);

	ASSERT_EQ(run(prog_tc_ingress, "10.0.0.1", "10.0.0.2", 200), TC_ACT_UNSPEC,
		  "first packet passes");
	ASSERT_EQ(get(id).bytes[NETFIL_IN], L, "L3 bytes counted");
	ASSERT_EQ(run(prog_tc_ingress, "10.0.0.1", "10.0.0.2", 0), TC_ACT_SHOT,
		  "one packet over is dropped");
	ASSERT_EQ(run(prog_tc_egress, "fd00::1", "fd00::2", 10), TC_ACT_UNSPEC,
		  "egress has its own limit (none)");
	ASSERT_EQ(get(id).bytes[NETFIL_OUT], l3len(":", 10), "IPv6 L3 bytes");
	del_all();
}

/* A pid filter names a process by pid *and* start time: a filter made for
 * an earlier process with our pid must not count our traffic.  Real UDP
 * datagrams on this namespace's loopback, from a socket of this process
 * inside the test cgroup. */
static void test_pid_reuse(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct netfil_filter f = { .on = true };
	uint32_t old_id = 0, id = 0;
	uint64_t start = 0;
	char buf[100] = {};
	int fd;

	ASSERT_OK(netfil_proc_start(getpid(), &start), "own start time");
	f.match.kind = NETFIL_SOCKET;
	f.match.pid = getpid();
	f.match.start = start - 1;	/* an earlier process with this pid */
	ASSERT_OK(netfil_filter_add(nf, &f, &old_id), "filter on the old process");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(fd >= 0, "socket");
	ASSERT_EQ(sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
		  sizeof(buf), "send");
	ASSERT_EQ(get(old_id).bytes[NETFIL_OUT], 0, "old process's filter counts nothing");

	f.match.start = 0;	/* the library reads ours */
	ASSERT_OK(netfil_filter_add(nf, &f, &id), "filter on this process");
	ASSERT_EQ(sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&to, sizeof(to)),
		  sizeof(buf), "send");
	ASSERT_EQ(get(id).bytes[NETFIL_OUT], 28 + sizeof(buf), "this process counted");
	ASSERT_EQ(get(old_id).bytes[NETFIL_OUT], 0, "still nothing for the old one");
	close(fd);
	del_all();
}

/* netfil must hold 10,000 IP prefixes, 1,024 socket filters and 64
 * interfaces at once, and refuse the next one of each with ENOSPC. */
static void test_capacity(void)
{
	struct netfil_filter f = { .on = true };
	char pfx[64], cmd[128];
	uint32_t id, probe = 0;
	int i, err, fails = 0;

	for (i = 0; i < 10000; i++) {
		if (i < 5000)
			snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", i / 250, i % 250);
		else
			snprintf(pfx, sizeof(pfx), "fd00:%x:%x::/48", (i - 5000) / 250, (i - 5000) % 250);
		memset(&f.match, 0, sizeof(f.match));
		netfil_parse_prefix(pfx, &f.match);
		err = netfil_filter_add(nf, &f, &id);
		fails += err != 0;
		if (i == 1757)
			probe = id;	/* 10.7.7.0/24 */
	}
	ASSERT_EQ(fails, 0, "10,000 ip filters added");
	ASSERT_EQ(run(prog_egress, "192.0.2.1", "10.7.7.9", 10), 1, "packet at scale");
	ASSERT_EQ(get(probe).bytes[NETFIL_OUT], l3len("x", 10), "right prefix at scale");

	memset(&f.match, 0, sizeof(f.match));
	f.match.kind = NETFIL_SOCKET;
	f.match.pid = getpid();
	for (i = 1, fails = 0; i <= 1024; i++) {
		f.match.start = (uint64_t)i;	/* 1,024 distinct processes */
		fails += netfil_filter_add(nf, &f, &id) != 0;
	}
	ASSERT_EQ(fails, 0, "1,024 socket filters added");
	f.match.start = 5000;
	ASSERT_EQ(netfil_filter_add(nf, &f, &id), -ENOSPC, "socket filter 1,025");

	for (i = 0; i < 33; i++) {
		snprintf(cmd, sizeof(cmd), "ip link add cap%da type veth peer name cap%db", i, i);
		ASSERT_OK(system(cmd), cmd);
	}
	memset(&f.match, 0, sizeof(f.match));
	f.match.kind = NETFIL_IFACE;
	f.match.n_ifaces = 16;
	for (i = 0; i < 64; i++) {
		snprintf(f.match.ifaces[i % 16], NETFIL_IFNAME_LEN, "cap%d%c", i / 2,
			 i % 2 ? 'b' : 'a');
		if (i % 16 == 15)
			ASSERT_OK(netfil_filter_add(nf, &f, &id), "16 interfaces");
	}
	f.match.n_ifaces = 1;
	snprintf(f.match.ifaces[0], NETFIL_IFNAME_LEN, "cap32a");
	ASSERT_EQ(netfil_filter_add(nf, &f, &id), -ENOSPC, "interface 65");
	del_all();
	ASSERT_EQ(netfil_filter_list(nf, NULL, 0), 0, "all deleted");
}

int main(void)
{
	char path[4096];
	int err, fd;

	opts.pin_dir = getenv("NETFIL_PIN_DIR");
	opts.cgroup = getenv("NETFIL_CGROUP");
	if (!opts.pin_dir || !opts.cgroup) {
		fprintf(stderr, "test_prog: set NETFIL_PIN_DIR and NETFIL_CGROUP to test-only paths\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("unshare");
		return 1;
	}
	/* our own traffic goes through netfil's cgroup programs, on the
	 * loopback of our own namespace */
	snprintf(path, sizeof(path), "%s/cgroup.procs", opts.cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0 || system("ip link set lo up")) {
		perror("joining the test cgroup");
		return 1;
	}
	close(fd);
	err = netfil_load(&opts);
	if (err || netfil_open(&opts, &nf)) {
		fprintf(stderr, "test_prog: load failed: %s\n", strerror(-err));
		return 1;
	}
	prog_egress = prog_fd("nf_cg_egress");
	prog_ingress = prog_fd("nf_cg_ingress");
	prog_tc_ingress = prog_fd("nf_tc_ingress");
	prog_tc_egress = prog_fd("nf_tc_egress");

	RUN_TEST(test_ipv4_prefix_match);
	RUN_TEST(test_ipv4_most_specific);
	RUN_TEST(test_ipv6_prefix_match);
	RUN_TEST(test_limit_exact_ipv4_out);
	RUN_TEST(test_limit_exact_ipv6_in);
	RUN_TEST(test_iobyte_counts_both);
	RUN_TEST(test_interface_counts_l3);
	RUN_TEST(test_pid_reuse);
	RUN_TEST(test_capacity);

	netfil_close(nf);
	err = netfil_unload(&opts);
	if (err)
		fprintf(stderr, "test_prog: unload: %s\n", strerror(-err));
	return TEST_SUMMARY() || err ? 1 : 0;
}
