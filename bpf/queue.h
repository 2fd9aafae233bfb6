/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * queue.h - per-packet verdicts, the kernel half: the socket mark by which
 * netfil's nftables rules find a socket filter's queue, and fail closed at
 * connect() and sendmsg() while a queue has no client.  The rules and the
 * client are user space's (lib/nft.c, lib/packets.c, lib/queue.c).
 */
#ifndef NF_QUEUE_H
#define NF_QUEUE_H

#include "redirect.h"

#define SOL_SOCKET	1
#define SO_MARK		36

/* The queue field's bits that hold a filter's index (the top bit is the
 * flow bit, not ours to set on a socket). */
static __always_inline __u32 q_index_bits(const struct nf_globals *g)
{
	__u32 m = g->q_mark;

	return m & ~(m & ~(m >> 1));	/* all but the field's highest bit */
}

/* The mark a socket of rec should carry: mark with its queue index
 * field set to the first of its socket filters that has a queue (or
 * cleared).  The relay's own sockets keep theirs. */
static __always_inline __u32 q_sock_mark(const struct nf_globals *g, struct nf_sock *rec,
					 __u32 mark)
{
	__u32 bits = q_index_bits(g), want = 0, n;
	int i;

	if (mark == NF_RELAY_MARK || !bits)
		return mark;
	n = nf_sock_refs(rec);
	for (i = 0; i < NF_SOCK_MATCH && g->q_sockets; i++) {
		struct nf_filter_cfg *cfg;
		__u32 slot;

		if (i >= (int)n)
			break;
		slot = rec->match[i].slot;
		cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
		if (cfg && cfg->id == rec->match[i].id && cfg->q_mode && cfg->q_index) {
			want = ((__u32)cfg->q_index << g->q_shift) & bits;
			break;
		}
	}
	return (mark & ~bits) | want;
}

/* A queue's client has stalled (or is gone): its heartbeat is older
 * than the filter's timeout.  A beat from the future is fresh. */
static __always_inline bool q_stale(__u32 slot, const struct nf_filter_cfg *cfg)
{
	struct nf_qbeat *b = bpf_map_lookup_elem(&nf_qbeat, &slot);
	__u64 beat = b ? *(volatile __u64 *)&b->beat_ns : 0;

	return (__s64)(bpf_ktime_get_ns() - beat) > (__s64)cfg->q_timeout_ms * 1000000;
}

static __always_inline void q_count(__u32 slot, bool refused)
{
	struct nf_qbeat *b = bpf_map_lookup_elem(&nf_qbeat, &slot);

	if (b)
		__sync_fetch_and_add(refused ? &b->refused : &b->passed, 1);
}

/* The fail policy at connect() and sendmsg(), by the first of refs with a
 * queue in this namespace (where its rules are, and its packets would
 * wait).  With no client, or one that has stalled, fail closed refuses:
 * that filter's id.  Fail open with a stalled client sets *pass: the
 * socket goes past the queue (with no client at all the kernel's bypass
 * does that).  rec remembers the queue for its RTO callback. */
static __always_inline __u32 q_policy(struct bpf_sock_addr *ctx, struct nf_sock *rec,
				      const struct nf_ref *refs, bool *pass)
{
	__u64 netns = 0;
	int i;

	if (rec)
		rec->q_id = 0;
	for (i = 0; i < NF_REFS; i++) {
		struct nf_filter_cfg *cfg;
		struct bpf_sock *live;
		__u32 slot = refs[i].slot;

		if (!refs[i].id)
			continue;
		cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
		if (!cfg || cfg->id != refs[i].id || !cfg->q_mode)
			continue;
		if (!netns)
			netns = bpf_get_netns_cookie(ctx);
		if (cfg->q_netns != netns)
			continue;
		if (rec) {
			rec->q_id = refs[i].id;
			rec->q_slot = slot;
		}
		live = bpf_map_lookup_elem(&nf_qlive, &slot);
		if (live)
			bpf_sk_release(live);
		if (live && !q_stale(slot, cfg))
			return 0;
		if (cfg->q_fail == NF_FAIL_CLOSED) {
			q_count(slot, true);
			return refs[i].id;
		}
		if (live) {
			q_count(slot, false);
			*pass = true;
		}
		return 0;
	}
	return 0;
}

/* The mark a socket of rec should carry: its queue index (q_sock_mark),
 * or with pass the queue field all-ones, which netfil's rules let by (and
 * remember for the flow, as an ALLOW_FLOW verdict). */
static __always_inline __u32 q_want(const struct nf_globals *g, struct nf_sock *rec, __u32 mark,
				    bool pass)
{
	if ((mark & g->q_mark) == g->q_mark)
		mark &= ~g->q_mark;
	return pass ? mark | g->q_mark : q_sock_mark(g, rec, mark);
}

static __always_inline void q_owner(const struct nf_sock *rec, struct nf_qowner *o)
{
	o->tgid = rec->tgid;
	o->pid = rec->pid;
	o->uid = rec->uid;
	o->cookie = rec->cookie;
	__builtin_memcpy(o->comm, rec->comm, sizeof(o->comm));
}

/* A socket closes that may have left packets in a queue (some queue takes
 * every packet, or one covered its connect() or sendmsg() and it never
 * got connected: its SYN or first datagram may still wait): its owner
 * stays findable by its local address.  The address is the one its first
 * packet or datagram showed, or what sock_release read. */
static __always_inline void q_gone(const struct nf_sock *rec)
{
	struct nf_globals *g = globals();
	struct nf_qgone_key k = {};
	struct nf_qowner o = {};
	const __u32 *a = (const __u32 *)rec->laddr;
	__u32 *ka = (__u32 *)k.laddr;

	if (!g || !g->q_filters || !rec->lport || !(g->q_all || (rec->q_id && !rec->setup_ns)))
		return;
	k.family = rec->family;
	k.proto = rec->proto;
	k.lport = rec->lport;
	if (rec->family == AF_INET6 && v4mapped(a)) {
		ka[0] = a[3];
		k.family = AF_INET;	/* a dual-stack socket's IPv4 packets */
	} else {
		ka[0] = a[0]; ka[1] = a[1]; ka[2] = a[2]; ka[3] = a[3];
	}
	q_owner(rec, &o);
	bpf_map_update_elem(&nf_qgone, &k, &o, BPF_ANY);
}

/* sendmsg() of unconnected UDP: its local address, bound by now, kept for
 * q_gone() before the datagram has left (it may wait in a queue). */
static __always_inline void q_local(struct bpf_sock *sk, struct nf_sock *rec)
{
	__u32 *l = (__u32 *)rec->laddr, p = sk->src_port;

	barrier_var(p);
	if (rec->lport || rec->addr_known)
		return;
	if (rec->family == AF_INET6)
		READ_MAPPED(true, sk->src_ip6, 0, l);
	else
		l[0] = sk->src_ip4;
	rec->lport = (__u16)p;
}

/* connect() and sendmsg(): the fail policy, then the socket's queue mark
 * (or pass).  Returns the refusing filter's id, or 0. */
static __always_inline __u32 q_connect(struct bpf_sock_addr *ctx, struct nf_sock *rec,
				       const struct nf_ref *refs, bool send)
{
	struct nf_globals *g = globals();
	struct bpf_sock *sk = ctx->sk;
	__u32 mark, want, id = 0;
	bool pass = false;

	barrier_var(sk);	/* one read: see redirect() */
	if (!g || !g->q_mark || !sk)
		return 0;
	if (g->q_filters) {
		if (send && rec)
			q_local(sk, rec);
		id = q_policy(ctx, rec, refs, &pass);
	}
	mark = sk->mark;
	if (rec && !id && mark != NF_RELAY_MARK &&
	    (g->q_sockets || pass || (mark & g->q_mark))) {
		want = q_want(g, rec, mark, pass);
		if (want != mark)
			bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &want, sizeof(want));
	}
	if (id)
		bpf_set_retval(-ECONNREFUSED);
	return id;
}

/* TCP's retransmission timer, on a socket that a queue covered at
 * connect(): while that queue's client has stalled under fail open, the
 * socket passes, so a held flow resumes by retransmitting; once the
 * client is back, new flows are queued again. */
static __always_inline void q_rto(struct bpf_sock_ops *ops, struct bpf_sock *sk,
				  struct nf_sock *rec)
{
	struct nf_globals *g = globals();
	struct nf_filter_cfg *cfg;
	__u32 slot = rec->q_slot, mark, want;
	bool pass;

	if (!g || !g->q_mark || !rec->q_id)
		return;
	cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	if (!cfg || cfg->id != rec->q_id || !cfg->q_mode || cfg->q_fail != NF_FAIL_OPEN)
		return;
	mark = sk->mark;
	if (mark == NF_RELAY_MARK)
		return;
	pass = q_stale(slot, cfg);
	want = q_want(g, rec, mark, pass);
	if (want == mark)
		return;
	if (pass)
		q_count(slot, false);
	bpf_setsockopt(ops, SOL_SOCKET, SO_MARK, &want, sizeof(want));
}

#endif /* NF_QUEUE_H */
