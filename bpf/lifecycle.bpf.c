// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A socket's life: nf_sock_create stamps each new TCP/UDP socket with who
 * created it; nf_bind4/6, nf_sockops (listen, accept, TCP close) and
 * nf_sock_release (every other close) make its events, once per socket
 * event: the packet path only adds to the socket's counters.
 */
#include "sock.h"
#include "match.h"
#include "events.h"
#include "redirect.h"
#include "queue.h"

SEC("cgroup/sock_create")
int nf_sock_create(struct bpf_sock *ctx)
{
	struct nf_globals *g;
	struct nf_sock *rec;

	if (!inet_l4(ctx->family, ctx->type, ctx->protocol))
		return 1;
	rec = bpf_sk_storage_get(&nf_socks, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rec)
		return 1;
	stamp(rec, bpf_get_current_task_btf());
	rec->family = (__u8)ctx->family;
	rec->proto = (__u8)ctx->protocol;
	rec->created_ns = bpf_ktime_get_ns();
	/* Resolve its filters now, once: the packet path then reads the
	 * cached answer until a socket filter changes. */
	nf_sock_refs(rec);
	rec->cookie = bpf_get_socket_cookie(ctx);
	/* a socket filter's queue: nftables finds it by this mark */
	g = globals();
	if (g && g->q_sockets) {
		struct bpf_sock *sk = ctx;
		__u32 mark = ctx->mark;

		barrier_var(mark);
		mark = q_sock_mark(g, rec, mark);
		barrier_var(sk);	/* one store at a fixed offset of the context */
		sk->mark = mark;
	}
	if (subscribed(NF_EV_SOCKET)) {
		struct nf_event *ev = ev_new(NF_EV_SOCKET, rec);

		if (ev) {
			ev->cookie = rec->cookie;
			emit(ev);
		}
	}
	return 1;
}

static __always_inline int bind_event(struct bpf_sock_addr *ctx, bool v6)
{
	struct nf_globals *g = globals();
	struct nf_sock *rec = NULL;
	struct nf_event *ev;

	if (ctx->sk)
		rec = bpf_sk_storage_get(&nf_socks, ctx->sk, 0, 0);
	/* a server made before its filter got a queue: mark it now */
	if (rec && g && g->q_sockets && ctx->sk) {
		__u32 mark = ctx->sk->mark, want = q_sock_mark(g, rec, mark);

		if (want != mark)
			bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &want, sizeof(want));
	}
	if (!subscribed(NF_EV_BIND))
		return 1;
	if (!rec || !(ev = ev_new(NF_EV_BIND, rec)))
		return 1;
	ev->cookie = bpf_get_socket_cookie(ctx);
	ev->lport = user_addr(ctx, v6, ev->laddr);
	emit(ev);
	return 1;
}

SEC("cgroup/bind4")
int nf_bind4(struct bpf_sock_addr *ctx)
{
	return bind_event(ctx, false);
}

SEC("cgroup/bind6")
int nf_bind6(struct bpf_sock_addr *ctx)
{
	return bind_event(ctx, true);
}

static __always_inline void ev_ops_addrs(struct nf_event *ev, struct bpf_sock_ops *ops)
{
	if (ops->family == AF_INET6) {
		__u32 *l = (__u32 *)ev->laddr, *r = (__u32 *)ev->raddr;

		l[0] = ops->local_ip6[0]; l[1] = ops->local_ip6[1];
		l[2] = ops->local_ip6[2]; l[3] = ops->local_ip6[3];
		r[0] = ops->remote_ip6[0]; r[1] = ops->remote_ip6[1];
		r[2] = ops->remote_ip6[2]; r[3] = ops->remote_ip6[3];
	} else {
		*(__u32 *)ev->laddr = ops->local_ip4;
		*(__u32 *)ev->raddr = ops->remote_ip4;
	}
	/* local_port is in host order; remote_port is the network-order
	 * port in the upper half of the word (sock_ops shifts it there) */
	ev->lport = (__u16)ops->local_port;
	ev->rport = (__u16)bpf_ntohl(ops->remote_port);
}

/* The close summary: what the socket moved, when it started, and the
 * filters it was counted against (its socket filters and its IP filter). */
static __always_inline void ev_close(struct nf_event *ev, struct nf_sock *rec)
{
	struct nf_ref refs[NF_REFS];
	__u32 i, n = 0;

	ev->close.bytes[NF_IN] = rec->in.bytes;
	ev->close.bytes[NF_OUT] = rec->out.bytes;
	ev->close.packets[NF_IN] = rec->in.packets;
	ev->close.packets[NF_OUT] = rec->out.packets;
	ev->close.created_ns = rec->created_ns;
	ev->close.setup_ns = rec->setup_ns;
	match_refs(rec, ev->family == AF_INET6, (__u32 *)ev->raddr, refs);
	for (i = 0; i < NF_REFS; i++)
		if (refs[i].id && n < NF_REFS)
			ev->close.filters[n++] = refs[i].id;
	ev->close.n_filters = n;
	if (rec->redirected) {
		__builtin_memcpy(ev->close.to, ev->raddr, 16);
		ev->close.to_port = ev->rport;
		__builtin_memcpy(ev->raddr, rec->orig, 16);
		ev->rport = rec->orig_port;
		ev->close.redirect = rec->rd_filter;
	}
	rec->closed = 1;
}

/* Payload bytes: the kernel's counts of acknowledged sequence space, less
 * our SYN (counted on the connecting side only) and, when the connection
 * closed by the FIN handshake, the FIN each way. */
static __always_inline void ev_payload(struct nf_event *ev, struct bpf_sock_ops *ops,
				       const struct nf_sock *rec)
{
	__u32 old = ops->args[0];
	__u64 in = ops->bytes_received, out = ops->bytes_acked;
	bool fins = old == TCP_FIN_WAIT2 || old == TCP_CLOSING ||
		    old == TCP_LAST_ACK || old == TCP_TIME_WAIT;

	if (rec->active && out)
		out--;	/* our SYN; an accepted socket starts past its SYN-ACK */
	if (fins && out)
		out--;
	if (fins && in)
		in--;
	ev->close.payload[0] = in;
	ev->close.payload[1] = out;
}


/* TCP's life cycle: listen, the handshake's end (connect done, or an
 * accepted connection) and, for connections, the final close, where the
 * kernel still knows the payload bytes. */
/* Who reads a TCP socket's move to CLOSE: close events, the live views'
 * per-process totals, and a queue of every packet, which the socket may
 * leave packets in (q_gone; under queue new only its SYN is queued, and
 * sock_release covers a socket closed before that is answered). */
static __always_inline bool close_cb_wanted(void)
{
	struct nf_globals *g = globals();

	return g && (subscribed(NF_EV_CLOSE) || (g->want & NF_WANT_PROCS) ||
		     (g->q_filters && g->q_all));
}

SEC("sockops")
int nf_sockops(struct bpf_sock_ops *ops)
{
	struct nf_sock *rec = NULL;
	struct nf_event *ev;
	struct bpf_sock *sk = ops->sk;
	__u32 state;

	if (sk)
		rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	if (!rec)
		return 1;
	switch (ops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* a queue covers it: its RTO callback applies fail open */
		if (rec->q_id)
			bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags |
						  BPF_SOCK_OPS_RTO_CB_FLAG);
		if (rec->redirected) {
			struct nf_odst_key k = {};

			READ_MAPPED(ops->family == AF_INET6, ops->local_ip6, ops->local_ip4,
				    k.addr);
			k.port = (__u16)ops->local_port;
			odst_publish(rec, &k);
		}
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
			/* cloned from the listener: start its own tally */
			rec->in = rec->out = (struct nf_tally){};
			rec->created_ns = bpf_ktime_get_ns();
			rec->closed = 0;
		}
		rec->setup_ns = bpf_ktime_get_ns();
		rec->active = ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB;
		/* the state callback costs 8 calls a connection: only for
		 * someone who reads TCP's CLOSE (else sock_release closes) */
		rec->tcp_close_cb = close_cb_wanted();
		if (rec->tcp_close_cb)
			bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags |
						  BPF_SOCK_OPS_STATE_CB_FLAG);
		if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && subscribed(NF_EV_ACCEPT) &&
		    (ev = ev_new(NF_EV_ACCEPT, rec))) {
			ev->cookie = bpf_get_socket_cookie(ops);
			ev_ops_addrs(ev, ops);
			emit(ev);
		}
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		if (subscribed(NF_EV_LISTEN) && (ev = ev_new(NF_EV_LISTEN, rec))) {
			ev->cookie = bpf_get_socket_cookie(ops);
			ev_ops_addrs(ev, ops);
			emit(ev);
		}
		break;
	case BPF_SOCK_OPS_RTO_CB:
		q_rto(ops, sk, rec);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		state = ops->args[1];
		barrier_var(state);
		if (state != TCP_CLOSE || rec->closed)
			break;
		/* a time-wait socket has no record: its last ACK may still
		 * wait in a queue */
		q_gone(rec);
		proc_tally(rec);
		if (!subscribed(NF_EV_CLOSE) || !(ev = ev_new(NF_EV_CLOSE, rec))) {
			rec->closed = 1;
			break;
		}
		ev->cookie = bpf_get_socket_cookie(ops);
		ev_ops_addrs(ev, ops);
		ev_close(ev, rec);
		ev_payload(ev, ops, rec);
		emit(ev);
		break;
	}
	return 1;
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* A socket that sent nothing netfil saw yet (a connected UDP socket's
 * datagrams may all still wait in a queue) has no local address in its
 * record: read it off the socket, for q_gone().  The hook's context
 * fields cannot give it, the kernel's struct sock can (read only). */
static __always_inline void release_local(struct bpf_sock *ctx, struct nf_sock *rec)
{
	struct sock *sk = bpf_rdonly_cast(ctx, bpf_core_type_id_kernel(struct sock));
	struct nf_globals *g = globals();
	__u32 *l = (__u32 *)rec->laddr;
	__u16 port;

	if (!g || !g->q_filters || rec->lport)
		return;
	port = sk->__sk_common.skc_num;
	if (!port)
		return;
	if (rec->family == AF_INET6) {
		l[0] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[0];
		l[1] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[1];
		l[2] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[2];
		l[3] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[3];
	} else {
		l[0] = sk->__sk_common.skc_rcv_saddr;
	}
	rec->lport = port;
}

/* close() of every other socket: UDP, and TCP that never connected. */
SEC("cgroup/sock_release")
int nf_sock_release(struct bpf_sock *ctx)
{
	struct nf_sock *rec;
	struct nf_event *ev;

	rec = bpf_sk_storage_get(&nf_socks, ctx, 0, 0);
	/* TCP that reaches CLOSE leaves its queue owner there, later */
	if (rec && !rec->tcp_close_cb) {
		release_local(ctx, rec);
		q_gone(rec);
	}
	if (!rec || rec->closed || rec->tcp_close_cb)
		return 1;
	proc_tally(rec);
	if (!subscribed(NF_EV_CLOSE) || !(ev = ev_new(NF_EV_CLOSE, rec))) {
		rec->closed = 1;
		return 1;
	}
	ev->cookie = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(ev->laddr, rec->laddr, 16);
	__builtin_memcpy(ev->raddr, rec->raddr, 16);
	ev->lport = rec->lport;
	ev->rport = rec->rport;
	ev_close(ev, rec);
	emit(ev);
	return 1;
}
