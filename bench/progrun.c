// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * progrun - cost of netfil's packet programs with warm caches, measured by
 * BPF_PROG_TEST_RUN: the kernel runs a program on one crafted packet
 * --repeat times and reports the mean time per run, without the clock reads
 * that kernel.bpf_stats_enabled adds to every run.
 *
 *   progrun N...     (NETFIL_PIN_DIR and NETFIL_CGROUP name test-only places)
 *
 * For each N it loads netfil with an IP filter and an interface filter that
 * match the packet, plus N - 2 IP prefixes that do not (so at least 2
 * filters), and prints
 * "progrun N PROGRAM NS" for nf_cg_egress, nf_cg_ingress and nf_tc_egress.
 * It works in a network namespace of its own; test runs carry no socket,
 * so the socket-filter path is not part of these figures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "netfil.h"

#define REPEAT 1000000

static struct netfil_opts opts;

static int prog_fd(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/prog/%s", opts.pin_dir, name);
	return bpf_obj_get(path);
}

/* Ethernet + IPv4 + UDP, 100 bytes of payload, between us and 10.77.0.2. */
static int build(unsigned char *buf, int out)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);

	memset(buf, 0, 256);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*udp) + 100);
	inet_pton(AF_INET, out ? "10.77.0.1" : "10.77.0.2", &ip->saddr);
	inet_pton(AF_INET, out ? "10.77.0.2" : "10.77.0.1", &ip->daddr);
	udp->len = htons(sizeof(*udp) + 100);
	return ETH_HLEN + (int)(sizeof(*ip) + sizeof(*udp)) + 100;
}

static double run(const char *name, int out)
{
	unsigned char buf[256];
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = buf, .repeat = REPEAT);
	int fd = prog_fd(name), err;

	t.data_size_in = (__u32)build(buf, out);
	if (!strncmp(name, "nf_tc", 5)) {
		t.ctx_in = &ctx;
		t.ctx_size_in = sizeof(ctx);
	}
	err = fd < 0 ? -1 : bpf_prog_test_run_opts(fd, &t);
	if (fd >= 0)
		close(fd);
	return err ? -1 : (double)t.duration;
}

static int add(struct netfil *nf, const char *what)
{
	struct netfil_filter f = { .on = true, .limit = { 0, 0, 1ULL << 50 } };
	uint32_t id;

	if (!strcmp(what, "lo")) {
		f.match.kind = NETFIL_IFACE;
		f.match.n_ifaces = 1;
		strcpy(f.match.ifaces[0], "lo");
	} else if (netfil_parse_prefix(what, &f.match)) {
		return -1;
	}
	return netfil_filter_add(nf, &f, &id);
}

static int measure(int n)
{
	static const char *const progs[] = { "nf_cg_egress", "nf_cg_ingress", "nf_tc_egress" };
	struct netfil *nf;
	char pfx[64];
	int i, err;

	err = netfil_load(&opts);
	if (!err)
		err = netfil_open(&opts, &nf);
	if (err)
		return err;
	err = add(nf, "10.77.0.2") ?: add(nf, "lo");
	for (i = 0; i < n - 2 && !err; i++) {
		snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", 100 + i / 256, i % 256);
		err = add(nf, pfx);
	}
	for (i = 0; i < 3 && !err; i++)
		printf("progrun %d %s %.1f\n", n < 2 ? 2 : n, progs[i], run(progs[i], i != 1));
	netfil_close(nf);
	netfil_unload(&opts);
	return err;
}

int main(int argc, char **argv)
{
	int i;

	opts.pin_dir = getenv("NETFIL_PIN_DIR");
	opts.cgroup = getenv("NETFIL_CGROUP");
	if (!opts.pin_dir || !opts.cgroup || argc < 2) {
		fprintf(stderr, "usage: NETFIL_PIN_DIR=... NETFIL_CGROUP=... progrun N...\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET) || system("ip link set lo up")) {
		perror("progrun: own network namespace");
		return 1;
	}
	for (i = 1; i < argc; i++)
		if (measure(atoi(argv[i]))) {
			fprintf(stderr, "progrun: measuring %s filters failed\n", argv[i]);
			return 1;
		}
	return 0;
}
