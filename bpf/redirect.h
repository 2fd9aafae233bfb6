/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * redirect.h - redirect of new TCP connections and UDP datagrams, at
 * connect() and sendmsg(): to a socket or IP filter's transparent target,
 * or to netfil's relay (found in nf_relay) for a proxy.  Which filter
 * redirects, whether the target lives (the fail policy), and the
 * original destination kept in the socket's record (getpeername,
 * recvmsg) and in nf_odst (SO_ORIGINAL_DST, the relay).
 */
#ifndef NF_REDIRECT_H
#define NF_REDIRECT_H

#include "match.h"

#define ECONNREFUSED	111
#define SOL_IP		0
#define SOL_IPV6	41
#define SO_ORIGINAL_DST	80	/* also IP6T_SO_ORIGINAL_DST */
#define NF_ADDR_BUCKETS	256	/* IN4_ADDR_HSIZE and IN6_ADDR_HSIZE */
#define NF_ADDR_CHAIN	8

enum { RD_NONE, RD_DONE, RD_REFUSE };

static __always_inline bool v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* 127/8, ::1, ::ffff:127.0.0.0/104 */
static __always_inline bool loopback(bool v6, const __u32 *a)
{
	if (!v6 || v4mapped(a))
		return (bpf_ntohl(a[v6 ? 3 : 0]) >> 24) == 127;
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1);
}

/* Any address in IPv6 form, IPv4 v4-mapped: the one shape of nf_odst. */
static __always_inline void to_mapped(bool v6, const __u32 *a, __u32 *out)
{
	if (v6) {
		out[0] = a[0]; out[1] = a[1]; out[2] = a[2]; out[3] = a[3];
	} else {
		out[0] = 0; out[1] = 0; out[2] = bpf_htonl(0xffff); out[3] = a[0];
	}
}

/* A context's address (IPv6: ip6[0..3], IPv4: ip4) into out (16 bytes,
 * zeroed), IPv4 as v4-mapped.  One read per field, each pinned by
 * barrier_var: clang would merge the branches' reads into one read at a
 * computed offset, which the verifier refuses for context pointers. */
#define READ_MAPPED(is6, ip6, ip4, out) do {				\
	__u32 *o_ = (__u32 *)(out), x0_, x1_, x2_, x3_;			\
									\
	if (is6) {							\
		x0_ = ip6[0];						\
		barrier_var(x0_);					\
		x1_ = ip6[1];						\
		barrier_var(x1_);					\
		x2_ = ip6[2];						\
		barrier_var(x2_);					\
		x3_ = ip6[3];						\
		barrier_var(x3_);					\
		o_[0] = x0_; o_[1] = x1_; o_[2] = x2_; o_[3] = x3_;	\
	} else {							\
		x3_ = ip4;						\
		barrier_var(x3_);					\
		o_[2] = bpf_htonl(0xffff);				\
		o_[3] = x3_;						\
	}								\
} while (0)

/* Does the caller's network namespace own this address?  A walk of the
 * namespace's address hash table, every bucket (the hash function is not
 * ABI); only run when no listener was found. */
static __always_inline bool local_addr(bool v6, const __u32 *a)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct net *net = t->nsproxy->net_ns;
	unsigned long node_off, addr_off;
	struct hlist_head *tab;
	int i, j;

	if (v6) {
		tab = BPF_CORE_READ(net, ipv6.inet6_addr_lst);
		node_off = bpf_core_field_offset(struct inet6_ifaddr, addr_lst);
		addr_off = bpf_core_field_offset(struct inet6_ifaddr, addr);
	} else {
		tab = BPF_CORE_READ(net, ipv4.inet_addr_lst);
		node_off = bpf_core_field_offset(struct in_ifaddr, addr_lst);
		addr_off = bpf_core_field_offset(struct in_ifaddr, ifa_local);
	}
	if (!tab)
		return false;
	for (i = 0; i < NF_ADDR_BUCKETS; i++) {
		struct hlist_node *n = NULL;

		bpf_probe_read_kernel(&n, sizeof(n), &tab[i].first);
		for (j = 0; j < NF_ADDR_CHAIN && n; j++) {
			__u32 x[4] = {};

			bpf_probe_read_kernel(x, v6 ? 16 : 4, (void *)n - node_off + addr_off);
			if (x[0] == a[0] && (!v6 || (x[1] == a[1] && x[2] == a[2] && x[3] == a[3])))
				return true;
			bpf_probe_read_kernel(&n, sizeof(n), &n->next);
		}
	}
	return false;
}

/* Who listens at a (the socket's family) for TCP or UDP: 0 nobody, else
 * the owner's tgid from its record (~0u: a listener netfil never saw). */
static __always_inline __u32 listener(void *ctx, bool v6, const __u32 *a, __u16 port, bool udp)
{
	struct bpf_sock_tuple t = {};
	struct nf_sock *rec;
	struct bpf_sock *sk;
	__u32 len, owner = ~0u;

	if (!v6 || v4mapped(a)) {
		t.ipv4.daddr = a[v6 ? 3 : 0];
		t.ipv4.dport = bpf_htons(port);
		len = sizeof(t.ipv4);
	} else {
		t.ipv6.daddr[0] = a[0]; t.ipv6.daddr[1] = a[1];
		t.ipv6.daddr[2] = a[2]; t.ipv6.daddr[3] = a[3];
		t.ipv6.dport = bpf_htons(port);
		len = sizeof(t.ipv6);
	}
	if (udp)
		sk = bpf_sk_lookup_udp(ctx, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_tcp(ctx, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	if (rec)
		owner = rec->tgid;
	bpf_sk_release(sk);
	return owner;
}

static __always_inline bool local_target(bool v6, const __u32 *a)
{
	if (loopback(v6, a))
		return true;
	if (v6 && v4mapped(a))
		return local_addr(false, &a[3]);
	return local_addr(v6, a);
}

/* The first of the socket's filters (nearest first, then its IP filter)
 * that redirects this traffic; an IP filter may narrow it to a protocol
 * and destination ports. */
static __always_inline struct nf_filter_cfg *rd_filter(const struct nf_ref *refs, __u8 proto,
							__u16 dport)
{
	int i;

	for (i = 0; i < NF_REFS; i++) {
		struct nf_filter_cfg *c;
		__u32 slot;

		if (!refs[i].id)
			continue;
		slot = refs[i].slot;
		c = bpf_map_lookup_elem(&nf_cfg, &slot);
		if (!c || c->id != refs[i].id || !c->on || !c->rd_family)
			continue;
		if (c->kind == NF_KIND_IP &&
		    ((c->rd_proto && c->rd_proto != proto) ||
		     (c->rd_dport_hi && (dport < c->rd_dport_lo || dport > c->rd_dport_hi))))
			continue;
		return c;
	}
	return NULL;
}

/* The relay's listening address for this socket (its family; an IPv6
 * socket may reach an IPv4 relay v4-mapped) into tgt/port; false: no
 * relay lives. */
static __always_inline bool relay_addr(bool v6, bool udp, __u32 *tgt, __u16 *port)
{
	__u32 k = (v6 ? NF_RELAY_TCP6 : NF_RELAY_TCP4) + udp;
	struct bpf_sock *rs = bpf_map_lookup_elem(&nf_relay, &k);
	bool mapped = false;
	__u32 p;

	if (!rs && v6) {
		k = NF_RELAY_TCP4 + udp;
		rs = bpf_map_lookup_elem(&nf_relay, &k);
		mapped = true;
	}
	if (!rs)
		return false;
	p = rs->src_port;
	barrier_var(p);
	*port = (__u16)p;
	if (v6 && !mapped) {
		__u32 a[4];

		READ_MAPPED(true, rs->src_ip6, 0, a);
		if (!(a[0] | a[1] | a[2] | a[3]))
			a[3] = bpf_htonl(1);			/* [::] -> ::1 */
		tgt[0] = a[0]; tgt[1] = a[1]; tgt[2] = a[2]; tgt[3] = a[3];
	} else {
		__u32 a = rs->src_ip4;

		barrier_var(a);
		if (!a)
			a = bpf_htonl(0x7f000001);		/* 0.0.0.0 -> 127.0.0.1 */
		tgt[v6 ? 3 : 0] = a;
		if (v6)
			tgt[2] = bpf_htonl(0xffff);
	}
	bpf_sk_release(rs);
	return true;
}

/* The filter's fail policy: go direct (RD_NONE) or refuse. */
static __always_inline int rd_fail(const struct nf_filter_cfg *cfg)
{
	if (cfg->rd_fail == NF_FAIL_OPEN)
		return RD_NONE;
	bpf_set_retval(-ECONNREFUSED);
	return RD_REFUSE;
}

/*
 * A TCP connect(), or a UDP connect() or sendmsg(), that the verdict
 * allowed, to dst:dport (the socket's family): rewritten to the target of
 * the first filter that redirects it, or to the relay for a proxy.
 * Never for sockets with the relay's mark, traffic to the target (or
 * proxy) itself, or from the process that serves it (no loops); never
 * to loopback unless an IP filter names it.  A target or relay that is
 * not there: the fail policy.  *id and to/to_port name what was done.
 */
static __always_inline int redirect(struct bpf_sock_addr *ctx, bool v6, struct nf_sock *rec,
				    const struct nf_ref *refs, const __u32 *dst, __u16 dport,
				    __u32 *id, __u32 *to, __u16 *to_port)
{
	struct nf_filter_cfg *cfg;
	struct bpf_sock *sk = ctx->sk;
	__u32 tgt[4] = {}, owner;
	__u32 type = ctx->type, proto = ctx->protocol;
	__u16 port;
	bool udp;

	/* one read each: clang would turn a second into a computed offset */
	barrier_var(type);
	barrier_var(proto);
	barrier_var(sk);
	if (!rec || !sk)
		return RD_NONE;
	if (type == SOCK_STREAM && proto == IPPROTO_TCP)
		udp = false;
	else if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
		udp = true;
	else
		return RD_NONE;
	cfg = rd_filter(refs, (__u8)proto, dport);
	if (!cfg || sk->mark == NF_RELAY_MARK)
		return RD_NONE;
	if (cfg->kind != NF_KIND_IP && loopback(v6, dst))
		return RD_NONE;
	*id = cfg->id;
	port = cfg->rd_port;
	if (cfg->rd_family == AF_INET) {
		__builtin_memcpy(&tgt[v6 ? 3 : 0], cfg->rd_addr, 4);
		if (v6)
			tgt[2] = bpf_htonl(0xffff);
	} else if (v6) {
		__builtin_memcpy(tgt, cfg->rd_addr, 16);
	} else if (!cfg->rd_proxy) {
		return RD_NONE;	/* an IPv6 target for an AF_INET socket */
	}
	if (port == dport && tgt[0] == dst[0] && tgt[1] == dst[1] && tgt[2] == dst[2] &&
	    tgt[3] == dst[3])
		return RD_NONE;	/* to the target or proxy itself */
	/* the program at the target (or proxy) makes connections of its own */
	owner = listener(ctx, v6, tgt, port, udp && !cfg->rd_proxy);
	if (owner && owner == bpf_get_current_pid_tgid() >> 32)
		return RD_NONE;
	if (cfg->rd_proxy) {
		/* UDP goes through SOCKS5 only */
		if ((udp && cfg->rd_proxy != NF_PROXY_SOCKS5) ||
		    !relay_addr(v6, udp, tgt, &port))
			return rd_fail(cfg);
	} else if (!owner && local_target(v6, tgt)) {
		return rd_fail(cfg);
	}
	__builtin_memcpy(rec->orig, dst, 16);
	rec->orig_port = dport;
	rec->redirected = 1;
	rec->rd_filter = cfg->id;
	__builtin_memcpy(rec->to, tgt, 16);
	rec->to_port = port;
	if (v6) {
		ctx->user_ip6[0] = tgt[0]; ctx->user_ip6[1] = tgt[1];
		ctx->user_ip6[2] = tgt[2]; ctx->user_ip6[3] = tgt[3];
	} else {
		ctx->user_ip4 = tgt[0];
	}
	ctx->user_port = bpf_htons(port);
	__builtin_memcpy(to, tgt, 16);
	*to_port = port;
	return RD_DONE;
}

/* Publish where a redirected socket was going under its local address
 * (key, which the target or relay sees as the peer's), once the local
 * port is known: at TCP_CONNECT_CB, a UDP sendmsg(), or a connected UDP
 * socket's first datagram.  Never removed at close: the target may
 * accept after the client is gone; the map is LRU and a new socket on
 * the same port overwrites. */
static __always_inline void odst_publish(struct nf_sock *rec, struct nf_odst_key *k)
{
	struct nf_odst_val v = {};

	to_mapped(rec->family == AF_INET6, (__u32 *)rec->orig, (__u32 *)v.addr);
	v.port = rec->orig_port;
	v.filter = rec->rd_filter;
	k->proto = rec->proto;
	bpf_map_update_elem(&nf_odst, k, &v, BPF_ANY);
	rec->odst_pub = 1;
}

/* A UDP socket's key: its bound address, or, bound to the wildcard, the
 * target's (a local target is reached from its own address). */
static __always_inline void udp_okey(struct bpf_sock *sk, const struct nf_sock *rec,
				     struct nf_odst_key *k)
{
	__u32 *a = (__u32 *)k->addr;

	READ_MAPPED(sk->family == AF_INET6, sk->src_ip6, sk->src_ip4, k->addr);
	if (!a[3] && (a[2] == bpf_htonl(0xffff) || !(a[0] | a[1] | a[2])))
		to_mapped(rec->family == AF_INET6, (const __u32 *)rec->to, a);
	k->port = (__u16)sk->src_port;
}

#endif /* NF_REDIRECT_H */
