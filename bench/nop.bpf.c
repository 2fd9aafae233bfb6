// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nop.bpf.c - the benchmark's floor: programs at netfil's hooks that do
 * nothing, so that netfil's cost per packet (and, at sock_create, per
 * socket: bench/owners.sh) can be read against what running any BPF
 * program there costs (bpf_stats included).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup_skb/egress")
int nop_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/ingress")
int nop_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("tc")
int nop_tc(struct __sk_buff *skb)
{
	return -1;	/* TC_ACT_UNSPEC */
}

/* the same for tc ingress: a program of its own, so that bpf_stats tells
 * the two directions apart (bench/floor.sh) */
SEC("tc")
int nop_tc_in(struct __sk_buff *skb)
{
	return -1;
}

SEC("cgroup/sock_create")
int nop_sock_create(struct bpf_sock *ctx)
{
	return 1;
}
