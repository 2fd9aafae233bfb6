// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nf_tc_egress, nf_tc_ingress: count and limit packets for interface
 * filters, at tc clsact. */
#include "maps.h"
#include "charge.h"
#include "events.h"

#define TC_ACT_UNSPEC	(-1)
#define TC_ACT_SHOT	2

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* The filter of the packet's device, by its namespace and index. */
static __always_inline bool iface_lookup(struct __sk_buff *skb, struct nf_ref *ref,
					 __u32 *hlen)
{
	/* The device's namespace: bpf_get_netns_cookie() in tc answers for
	 * the socket, and a packet arriving from another namespace has none. */
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct nf_if_key key = {
		.netns = kskb->dev->nd_net.net->net_cookie,
		.ifindex = skb->ifindex,
	};
	struct nf_if_val *iv = bpf_map_lookup_elem(&nf_ifaces, &key);

	if (!iv)
		return false;
	*ref = iv->ref;
	*hlen = iv->hlen;
	return true;
}

/* The interface filter this packet's device has, and the link-layer bytes
 * to strip: from the classid netfil gave its tc filter (lib/tc.c), else
 * by lookup.  A slot is not given to another filter while a tc filter
 * may still name it (lib/filter.c, iface_holds()); a freed one has kind 0. */
static __always_inline bool iface_ref(struct __sk_buff *skb, struct nf_ref *ref, __u32 *hlen)
{
	__u32 c = skb->tc_classid, slot = (c & NF_TC_SLOT_MASK) - 1;
	struct nf_filter_cfg *cfg;

	if (!(c & (NF_TC_HLEN_ETH | NF_TC_HLEN_NONE)))
		return iface_lookup(skb, ref, hlen);
	cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	if (!cfg || cfg->kind != NF_KIND_IFACE)
		return false;
	ref->slot = slot;
	ref->id = cfg->id;
	*hlen = c & NF_TC_HLEN_ETH ? 14 : 0;
	return true;
}

/* The link-layer header is not counted, so that an interface filter counts
 * the same L3 bytes as socket and IP filters do. */
static __always_inline int tc_skb(struct __sk_buff *skb, int dir)
{
	struct nf_ref refs[NF_REFS] = {};
	struct nf_verdict v;
	__u32 len, hlen;

	if (!iface_ref(skb, &refs[0], &hlen))
		return TC_ACT_UNSPEC;
	len = skb->len > hlen ? skb->len - hlen : 0;
	v = admit(refs, 1, dir, len);
	if (!v.refused)
		return TC_ACT_UNSPEC;
	ev_exceeded(&v, NULL, skb);
	kick_reaper(&v);
	return TC_ACT_SHOT;
}

SEC("tc")
int nf_tc_egress(struct __sk_buff *skb)
{
	return tc_skb(skb, NF_OUT);
}

SEC("tc")
int nf_tc_ingress(struct __sk_buff *skb)
{
	return tc_skb(skb, NF_IN);
}
