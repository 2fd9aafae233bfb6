// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What keeps a redirect transparent (connect.bpf.c does the rewrite):
 * nf_getpeername4/6 show the application the destination it asked for,
 * nf_recvmsg4/6 make UDP replies come from it, and nf_getsockopt answers
 * SO_ORIGINAL_DST at the target, as iptables REDIRECT would, so that
 * transparent proxies work unchanged.
 */
#include "sock.h"
#include "redirect.h"

static __always_inline int peer(struct bpf_sock_addr *ctx, bool v6)
{
	struct nf_sock *rec = NULL;
	__u32 *o;

	if (ctx->sk)
		rec = bpf_sk_storage_get(&nf_socks, ctx->sk, 0, 0);
	if (!rec || !rec->redirected)
		return 1;
	o = (__u32 *)rec->orig;
	if (v6) {
		ctx->user_ip6[0] = o[0]; ctx->user_ip6[1] = o[1];
		ctx->user_ip6[2] = o[2]; ctx->user_ip6[3] = o[3];
	} else {
		ctx->user_ip4 = o[0];
	}
	ctx->user_port = bpf_htons(rec->orig_port);
	return 1;
}

/* A UDP reply from where the socket's datagrams were sent instead. */
static __always_inline int from(struct bpf_sock_addr *ctx, bool v6)
{
	struct nf_sock *rec = NULL;
	__u32 *o, *t;

	if (ctx->sk)
		rec = bpf_sk_storage_get(&nf_socks, ctx->sk, 0, 0);
	if (!rec || !rec->redirected || rec->proto != IPPROTO_UDP ||
	    bpf_ntohs((__u16)ctx->user_port) != rec->to_port)
		return 1;
	o = (__u32 *)rec->orig;
	t = (__u32 *)rec->to;
	if (v6) {
		if (ctx->user_ip6[0] != t[0] || ctx->user_ip6[1] != t[1] ||
		    ctx->user_ip6[2] != t[2] || ctx->user_ip6[3] != t[3])
			return 1;
		ctx->user_ip6[0] = o[0]; ctx->user_ip6[1] = o[1];
		ctx->user_ip6[2] = o[2]; ctx->user_ip6[3] = o[3];
	} else {
		if (ctx->user_ip4 != t[0])
			return 1;
		ctx->user_ip4 = o[0];
	}
	ctx->user_port = bpf_htons(rec->orig_port);
	return 1;
}

SEC("cgroup/recvmsg4")
int nf_recvmsg4(struct bpf_sock_addr *ctx)
{
	return from(ctx, false);
}

SEC("cgroup/recvmsg6")
int nf_recvmsg6(struct bpf_sock_addr *ctx)
{
	return from(ctx, true);
}

SEC("cgroup/getpeername4")
int nf_getpeername4(struct bpf_sock_addr *ctx)
{
	return peer(ctx, false);
}

SEC("cgroup/getpeername6")
int nf_getpeername6(struct bpf_sock_addr *ctx)
{
	return peer(ctx, true);
}

/* Every getsockopt() of the cgroup comes here: anything but
 * SO_ORIGINAL_DST passes untouched after two compares.  ctx->sk is the
 * accepted socket; its peer is the client's local address and port. */
SEC("cgroup/getsockopt")
int nf_getsockopt(struct bpf_sockopt *ctx)
{
	struct nf_odst_key k = {};
	struct bpf_sock *sk;
	struct nf_odst_val *v;

	if (ctx->optname != SO_ORIGINAL_DST || (ctx->level != SOL_IP && ctx->level != SOL_IPV6))
		return 1;
	sk = ctx->sk;
	if (!sk)
		return 1;
	READ_MAPPED(sk->family == AF_INET6, sk->dst_ip6, sk->dst_ip4, k.addr);
	k.port = bpf_ntohs((__u16)sk->dst_port);
	k.proto = IPPROTO_TCP;
	v = bpf_map_lookup_elem(&nf_odst, &k);
	if (!v)
		return 1;
	if (ctx->level == SOL_IP) {
		struct sockaddr_in *sin = ctx->optval;

		if (!v4mapped((__u32 *)v->addr) || (void *)(sin + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = bpf_htons(v->port);
		__builtin_memcpy(&sin->sin_addr, &v->addr[12], 4);
		ctx->optlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = ctx->optval;

		if ((void *)(sin6 + 1) > ctx->optval_end)
			return 1;
		__builtin_memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = bpf_htons(v->port);
		__builtin_memcpy(&sin6->sin6_addr, v->addr, 16);
		ctx->optlen = sizeof(*sin6);
	}
	ctx->retval = 0;
	return 1;
}
