// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nf_cg_egress, nf_cg_ingress: count and limit packets for socket and IP
 * filters, at the cgroup hooks. */
#include "sock.h"
#include "match.h"
#include "charge.h"
#include "events.h"
#include "redirect.h"

/* cgroup_skb egress verdicts: 0 drops and makes the sender see EPERM, 2
 * drops but reports only congestion, i.e. a silent drop. */
#define CG_PASS		1
#define CG_REJECT	0
#define CG_DROP_SILENT	2

struct pkt {
	bool v6;
	__u8 l4;
	__u32 thoff;		/* where the L4 header starts */
	__u32 plen;		/* the IP datagram's own idea of its length */
	__u32 remote[4];	/* IPv4: remote[0] */
};

/* The IP header, read in place when the head is linear (it nearly always
 * is at these hooks) and copied out otherwise. */
static __always_inline int parse(struct __sk_buff *skb, int dir, struct pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data, copy;

		if ((void *)(ip + 1) > end) {
			if (bpf_skb_load_bytes(skb, 0, &copy, sizeof(copy)))
				return -1;
			ip = &copy;
		}
		p->l4 = ip->protocol;
		p->remote[0] = dir == NF_OUT ? ip->daddr : ip->saddr;
		p->thoff = ip->ihl * 4;
		p->plen = bpf_ntohs(ip->tot_len);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data, copy;

		if ((void *)(ip6 + 1) > end) {
			if (bpf_skb_load_bytes(skb, 0, &copy, sizeof(copy)))
				return -1;
			ip6 = &copy;
		}
		p->v6 = true;
		p->l4 = ip6->nexthdr;
		__builtin_memcpy(p->remote, dir == NF_OUT ? &ip6->daddr : &ip6->saddr, 16);
		p->thoff = sizeof(*ip6);
		p->plen = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	} else {
		return -1;
	}
	return 0;
}

/* A TCP RST without payload.  Only asked about packets already refused,
 * so the TCP header is never read on the common path. */
static __always_inline bool rst_only(struct __sk_buff *skb, const struct pkt *p)
{
	struct tcphdr th;

	if (p->l4 != IPPROTO_TCP || bpf_skb_load_bytes(skb, p->thoff, &th, sizeof(th)))
		return false;
	return (((__u8 *)&th)[13] & 0x04) && p->plen == p->thoff + th.doff * 4;
}

static __always_inline int cg_skb(struct __sk_buff *skb, int dir)
{
	struct nf_ref refs[NF_REFS];
	struct nf_sock *rec = NULL;
	struct bpf_sock *sk = skb->sk;
	struct nf_verdict v;
	struct pkt p = {};

	if (parse(skb, dir, &p))
		return CG_PASS;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	match_refs(rec, p.v6, p.remote, refs);

	v = admit(refs, NF_REFS, dir, skb->len);
	if (!v.refused) {
		/* the socket's own tally for its close event: plain adds on
		 * a line of this direction's own; no event is sent from here */
		if (rec) {
			struct nf_tally *t = rec_tally(rec, dir);

			t->bytes += skb->len;
			t->packets++;
			if (!rec->addr_known)
				rec_addrs(rec, sk);
			/* connected UDP: its port is bound now */
			if (rec->redirected && !rec->odst_pub && dir == NF_OUT &&
			    rec->proto == IPPROTO_UDP) {
				struct nf_odst_key k = {};

				udp_okey(sk, rec, &k);
				odst_publish(rec, &k);
			}
		}
		return CG_PASS;
	}
	ev_exceeded(&v, rec, skb);
	kick_reaper(&v);

	/* The RST that aborts a connection blocked by a reject filter must
	 * reach the peer; it carries no data and is not counted. */
	if (dir == NF_OUT && v.action == NF_ACT_REJECT && rst_only(skb, &p)) {
		struct nf_globals *g = globals();

		take_back(&v.ref, dir, skb->len, TAKE_DROPPED);
		if (g)
			__sync_fetch_and_add(&g->rst_passed, 1);
		return CG_PASS;
	}
	if (dir == NF_OUT && v.action == NF_ACT_DROP)
		return CG_DROP_SILENT;
	return CG_REJECT;
}

SEC("cgroup_skb/egress")
int nf_cg_egress(struct __sk_buff *skb)
{
	return cg_skb(skb, NF_OUT);
}

SEC("cgroup_skb/ingress")
int nf_cg_ingress(struct __sk_buff *skb)
{
	return cg_skb(skb, NF_IN);
}
