/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * redirect.h - transparent redirect of TCP connect()s to a socket
 * filter's target: which filter redirects, whether a local target
 * listens (the fail policy), and the original destination kept in the
 * socket's record (getpeername) and in nf_odst (SO_ORIGINAL_DST).
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

/* Something listens at the target (a in the socket's family). */
static __always_inline bool listening(struct bpf_sock_addr *ctx, bool v6, const __u32 *a,
				      __u16 port)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;

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
	sk = bpf_sk_lookup_tcp(ctx, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

static __always_inline bool local_target(bool v6, const __u32 *a)
{
	if (loopback(v6, a))
		return true;
	if (v6 && v4mapped(a))
		return local_addr(false, &a[3]);
	return local_addr(v6, a);
}

/*
 * A TCP connect() that the verdict allowed, to dst (the socket's family):
 * rewritten to the target of the first of the socket's filters (nearest
 * first) that redirects.  Never for loopback destinations, connections
 * to the target itself, or sockets with the relay's mark; an IPv6
 * target cannot serve an AF_INET socket.  A local target with no
 * listener: fail closed refuses (RD_REFUSE, ECONNREFUSED), fail open goes
 * direct.  *id and to/to_port name what was done, for the event.
 */
static __always_inline int redirect(struct bpf_sock_addr *ctx, bool v6, struct nf_sock *rec,
				    const struct nf_ref *refs, const __u32 *dst, __u16 dport,
				    __u32 *id, __u32 *to, __u16 *to_port)
{
	struct nf_filter_cfg *cfg = NULL;
	struct bpf_sock *sk = ctx->sk;
	__u32 tgt[4] = {}, slot;
	__u16 port;
	int i;

	if (!rec || !sk || ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return RD_NONE;
	for (i = 0; i < NF_SOCK_MATCH; i++) {
		struct nf_filter_cfg *c;

		if (!refs[i].id)
			continue;
		slot = refs[i].slot;
		c = bpf_map_lookup_elem(&nf_cfg, &slot);
		if (c && c->id == refs[i].id && c->on && c->kind == NF_KIND_SOCKET &&
		    c->rd_family) {
			cfg = c;
			*id = c->id;
			break;
		}
	}
	if (!cfg || sk->mark == NF_RELAY_MARK || loopback(v6, dst))
		return RD_NONE;
	port = cfg->rd_port;
	if (cfg->rd_family == AF_INET) {
		__builtin_memcpy(&tgt[v6 ? 3 : 0], cfg->rd_addr, 4);
		if (v6)
			tgt[2] = bpf_htonl(0xffff);
	} else if (cfg->rd_family == AF_INET6 && v6) {
		__builtin_memcpy(tgt, cfg->rd_addr, 16);
	} else {
		return RD_NONE;	/* an IPv6 target for an AF_INET socket */
	}
	if (port == dport && tgt[0] == dst[0] && tgt[1] == dst[1] && tgt[2] == dst[2] &&
	    tgt[3] == dst[3])
		return RD_NONE;	/* to the proxy itself */
	if (!listening(ctx, v6, tgt, port) && local_target(v6, tgt)) {
		if (cfg->rd_fail == NF_FAIL_OPEN)
			return RD_NONE;
		bpf_set_retval(-ECONNREFUSED);
		return RD_REFUSE;
	}
	__builtin_memcpy(rec->orig, dst, 16);
	rec->orig_port = dport;
	rec->redirected = 1;
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

#endif /* NF_REDIRECT_H */
