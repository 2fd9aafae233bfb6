// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nop.bpf.c - the benchmark's floor: programs at netfil's hooks that do
 * nothing, so that netfil's cost per packet (and, at sock_create, per
 * socket: bench/owners.sh) can be read against what running any BPF
 * program there costs (bpf_stats included).
 *
 * The least_* programs are the other bound (bench/floor.sh's "least"):
 * the least that limiting by socket and by filter can do at each hook,
 * one counter each, kept where netfil keeps its own (a socket's storage,
 * one slot of an array as large as netfil's filter table).
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

/* One counter per socket, made when the socket is (as nf_sock_create makes
 * netfil's record). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} least_socks SEC(".maps");

/* A filter's counters: one slot of a table the size of netfil's nf_state
 * (12288 filters), so that it is allocated the same way. */
struct least_slot {
	__u64 bytes[2];
	__u64 rest[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 12288);
	__type(key, __u32);
	__type(value, struct least_slot);
} least_state SEC(".maps");

SEC("cgroup/sock_create")
int least_sock_create(struct bpf_sock *ctx)
{
	bpf_sk_storage_get(&least_socks, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return 1;
}

/* a socket's packet: find its counter and add */
static __always_inline int least_cg(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u64 *n;

	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	n = bpf_sk_storage_get(&least_socks, sk, 0, 0);
	if (n)
		*n += skb->len;
	return 1;
}

SEC("cgroup_skb/egress")
int least_egress(struct __sk_buff *skb)
{
	return least_cg(skb);
}

SEC("cgroup_skb/ingress")
int least_ingress(struct __sk_buff *skb)
{
	return least_cg(skb);
}

/* an interface's packet: one filter's counter, added to atomically (the
 * other CPU adds to it too) */
static __always_inline int least_slot_add(struct __sk_buff *skb, int dir)
{
	__u32 slot = 12000;	/* near the end, as a late-added filter's */
	struct least_slot *s = bpf_map_lookup_elem(&least_state, &slot);

	if (s)
		__sync_fetch_and_add(&s->bytes[dir], skb->len);
	return -1;
}

SEC("tc")
int least_tc(struct __sk_buff *skb)
{
	return least_slot_add(skb, 0);
}

SEC("tc")
int least_tc_in(struct __sk_buff *skb)
{
	return least_slot_add(skb, 1);
}
