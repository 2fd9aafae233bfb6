// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcparts.bpf.c - nf_tc's work taken apart (bench/tcparts.sh): tc programs
 * that each do one more part of it, over maps of netfil's own layout
 * (this object defines its own copies), so that what each part costs on
 * real traffic can be read against a floor that does nothing.
 */
#define NF_MAPS_DEFINE
#define NF_SOCK_REFS_DEFINE
#define NF_CHARGE_DEFINE
#include "sock.h"
#include "charge.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* tcparts.sh fills slots ALIGNED (whose counters sit in one cache line)
 * and SPLIT (over two) as interface filters of id FID */
#define ALIGNED	9996
#define SPLIT	9999
#define FID	7

static __always_inline void slot_add(__u32 slot, int dir, __u32 len)
{
	struct nf_filter_state *st = bpf_map_lookup_elem(&nf_state, &slot);

	if (st)
		__sync_fetch_and_add(&st->bytes[dir], len);
}

static __always_inline __u64 netns_cookie(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);

	return kskb->dev->nd_net.net->net_cookie;
}

static __always_inline struct nf_if_val *lookup(struct __sk_buff *skb)
{
	struct nf_if_key key = { .netns = netns_cookie(skb), .ifindex = skb->ifindex };

	return bpf_map_lookup_elem(&nf_ifaces, &key);
}

static __always_inline int charged(__u32 slot, int dir, __u32 len)
{
	struct nf_ref ref = { .slot = slot, .id = FID };
	struct nf_verdict v = {};

	return charge(&ref, dir, len, &v) == CHARGE_DROP ? 2 : -1;
}

/* one atomic add to a filter's counters */
static __always_inline int p_add(struct __sk_buff *skb, int dir)
{
	slot_add(ALIGNED, dir, skb->len);
	return -1;
}

/* ... after reading the device's netns cookie */
static __always_inline int p_cookie(struct __sk_buff *skb, int dir)
{
	slot_add(ALIGNED, dir, skb->len + (__u32)(netns_cookie(skb) & 1));
	return -1;
}

/* the interface lookup alone */
static __always_inline int p_lookup(struct __sk_buff *skb, int dir)
{
	struct nf_if_val *iv = lookup(skb);

	return iv && iv->hlen == 99 ? 2 : -1;
}

/* the lookup, the filter's cfg and one atomic add */
static __always_inline int p_add_looked(struct __sk_buff *skb, int dir)
{
	struct nf_if_val *iv = lookup(skb);
	struct nf_filter_cfg *cfg;
	__u32 slot;

	if (!iv)
		return -1;
	slot = iv->ref.slot;
	cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	if (cfg && cfg->id == iv->ref.id)
		slot_add(slot, dir, skb->len);
	return -1;
}

/* the lookup and charge(), counters in one line or over two */
static __always_inline int p_charge(struct __sk_buff *skb, int dir)
{
	return lookup(skb) ? charged(ALIGNED, dir, skb->len) : -1;
}

static __always_inline int p_charge_split(struct __sk_buff *skb, int dir)
{
	return lookup(skb) ? charged(SPLIT, dir, skb->len) : -1;
}

/* charge() with the slot from the tc filter's classid: nf_tc's way */
static __always_inline int p_classid(struct __sk_buff *skb, int dir)
{
	return charged((skb->tc_classid & NF_TC_SLOT_MASK) - 1, dir, skb->len);
}

#define PART(name) \
SEC("tc") int name##_e(struct __sk_buff *skb) { return p_##name(skb, 0); } \
SEC("tc") int name##_i(struct __sk_buff *skb) { return p_##name(skb, 1); }

PART(add)
PART(cookie)
PART(lookup)
PART(add_looked)
PART(charge)
PART(charge_split)
PART(classid)

SEC("tc") int floor_e(struct __sk_buff *skb) { return -1; }
SEC("tc") int floor_i(struct __sk_buff *skb) { return -1; }
