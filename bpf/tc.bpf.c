// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nf_tc_egress, nf_tc_ingress: count and limit packets for interface
 * filters, at tc clsact. */
#include "maps.h"
#include "charge.h"
#include "events.h"

#define TC_ACT_UNSPEC	(-1)
#define TC_ACT_SHOT	2

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* The link-layer header is not counted, so that an interface filter counts
 * the same L3 bytes as socket and IP filters do. */
static __always_inline int tc_skb(struct __sk_buff *skb, int dir)
{
	/* The device's namespace: bpf_get_netns_cookie() in tc answers for
	 * the socket, and a packet arriving from another namespace has none. */
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct nf_if_key key = {
		.netns = kskb->dev->nd_net.net->net_cookie,
		.ifindex = skb->ifindex,
	};
	struct nf_ref refs[NF_REFS] = {};
	struct nf_verdict v;
	struct nf_if_val *iv;
	__u32 len;

	iv = bpf_map_lookup_elem(&nf_ifaces, &key);
	if (!iv)
		return TC_ACT_UNSPEC;
	len = skb->len > iv->hlen ? skb->len - iv->hlen : 0;
	refs[0] = iv->ref;
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
