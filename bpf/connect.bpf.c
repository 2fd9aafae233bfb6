// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nf_connect4/6, nf_sendmsg4/6: fail fast, refusing new traffic to
 * exceeded reject filters; queue marks and fail closed (queue.h); redirect
 * (redirect.h); connect() makes a
 * connect event. */
#include "sock.h"
#include "match.h"
#include "charge.h"
#include "events.h"
#include "redirect.h"
#include "queue.h"

static __always_inline int sock_addr_verdict(struct bpf_sock_addr *ctx, bool v6,
					     __u16 ev_type)
{
	struct nf_ref refs[NF_REFS];
	struct nf_sock *rec = NULL;
	struct nf_event *ev;
	__u32 raddr[4] = {}, to[4] = {}, rd_id = 0;
	__u16 rport, to_port = 0;
	__u32 refused;
	int rd = RD_NONE;

	if (ctx->sk)
		rec = bpf_sk_storage_get(&nf_socks, ctx->sk, 0, 0);
	/* a new connect() (after a failed one) is judged by its own address */
	/* judged by where it asks to go, not where an earlier connect() or
	 * datagram went; a new connect() publishes its origin afresh */
	if (rec) {
		rec->redirected = 0;
		if (ev_type == NF_EV_CONNECT)
			rec->odst_pub = 0;
	}
	rport = user_addr(ctx, v6, (__u8 *)raddr);
	match_refs(rec, v6, raddr, refs);
	refused = blocked(refs);
	if (!refused)
		refused = q_connect(ctx, rec, refs, !ev_type);
	if (!refused)
		rd = redirect(ctx, v6, rec, refs, raddr, rport, &rd_id, to, &to_port);
	if (rd == RD_REFUSE)
		refused = rd_id;
	/* unconnected UDP: the local port is bound by now */
	if (rd == RD_DONE && !ev_type && ctx->sk) {
		struct nf_odst_key k = {};

		udp_okey(ctx->sk, rec, &k);
		odst_publish(rec, &k);
	}
	if (ev_type && subscribed(ev_type) && (ev = ev_new(ev_type, rec))) {
		ev->cookie = bpf_get_socket_cookie(ctx);
		ev->family = v6 ? AF_INET6 : AF_INET;
		ev->proto = (__u8)ctx->protocol;
		__builtin_memcpy(ev->raddr, raddr, 16);
		ev->rport = rport;
		ev->connect.refused = !!refused;
		ev->connect.filter = refused;
		if (rd == RD_DONE) {
			ev->connect.redirect = rd_id;
			ev->connect.to_port = to_port;
			__builtin_memcpy(ev->connect.to, to, 16);
		}
		emit(ev);
	}
	/* 0: the caller gets EPERM, or what redirect() set (ECONNREFUSED) */
	return refused ? 0 : 1;
}

SEC("cgroup/connect4")
int nf_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr_verdict(ctx, false, NF_EV_CONNECT);
}

SEC("cgroup/connect6")
int nf_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr_verdict(ctx, true, NF_EV_CONNECT);
}

SEC("cgroup/sendmsg4")
int nf_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr_verdict(ctx, false, 0);
}

SEC("cgroup/sendmsg6")
int nf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr_verdict(ctx, true, 0);
}
