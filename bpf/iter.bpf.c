// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Iterators, run from user space: nf_stamp_existing, nf_stamp_tcp and
 * nf_stamp_udp (once, by "netfil load") and nf_reap_tcp (by the reaper, after a kick). */
#include "sock.h"
#include "match.h"
#include "charge.h"

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* Sockets opened before netfil was loaded get the record of (the first
 * process found) holding them: kept by address here, moved to the
 * socket by nf_stamp_tcp and nf_stamp_udp. */
SEC("iter/task_file")
int nf_stamp_existing(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct nf_sock *rec, *zero;
	struct socket *sock;
	struct sock *sk;
	__u32 z = 0;
	__u64 key;

	if (!file || !task)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = sock->sk;
	if (!sk)
		return 0;
	if (!inet_l4(sk->__sk_common.skc_family, sk->sk_type, sk->sk_protocol))
		return 0;
	key = (__u64)sk;
	if (bpf_map_lookup_elem(&nf_stamp_tmp, &key))
		return 0;
	zero = bpf_map_lookup_elem(&nf_stamp_zero, &z);
	if (!zero || bpf_map_update_elem(&nf_stamp_tmp, &key, zero, BPF_NOEXIST))
		return 0;
	rec = bpf_map_lookup_elem(&nf_stamp_tmp, &key);
	if (!rec)
		return 0;
	stamp(rec, task);
	rec->created_ns = bpf_ktime_get_ns();	/* unknown: from load on */
	rec->family = (__u8)sk->__sk_common.skc_family;
	rec->proto = (__u8)sk->sk_protocol;
	return 0;
}

static __always_inline int stamp_moved(struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct nf_sock *src, *rec;

	src = bpf_map_lookup_elem(&nf_stamp_tmp, &key);
	if (!src)
		return 0;
	if (governed(sk) && !bpf_sk_storage_get(&nf_socks, sk, 0, 0)) {
		rec = bpf_sk_storage_get(&nf_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (rec) {
			__builtin_memcpy(rec, src, sizeof(*rec));
			rec->cookie = bpf_get_socket_cookie(sk);
		}
	}
	bpf_map_delete_elem(&nf_stamp_tmp, &key);
	return 0;
}

SEC("iter/tcp")
int nf_stamp_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	return tp ? stamp_moved((struct sock *)tp) : 0;
}

SEC("iter/udp")
int nf_stamp_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *up = ctx->udp_sk;

	return up ? stamp_moved((struct sock *)up) : 0;
}

/* Abort every established TCP connection that a reject filter now blocks,
 * so that the application gets an error and the peer a reset instead of
 * minutes of retransmission. */
SEC("iter/tcp")
int nf_reap_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct nf_ref refs[NF_REFS];
	__u32 raddr[4] = {};
	struct tcp_sock *tp;
	struct nf_sock *rec;
	struct sock *sk;
	bool v6;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	if (sk->__sk_common.skc_state == TCP_LISTEN || !governed(sk))
		return 0;
	rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	v6 = sk->__sk_common.skc_family == AF_INET6;
	if (v6)
		BPF_CORE_READ_INTO(&raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
	else
		raddr[0] = sk->__sk_common.skc_daddr;
	match_refs(rec, v6, raddr, refs);
	if (blocked(refs))
		bpf_sock_destroy(skc);
	return 0;
}

/* A governed socket as one nf_sock_row, for live views (netfil top,
 * netfild's page).  Nothing is added to the packet path: the counters
 * are the ones close events report. */
static __always_inline void dump_row(struct seq_file *seq, struct sock *sk)
{
	struct nf_sock *rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	struct nf_sock_row row = {};

	if (!rec || rec->closed)
		return;
	row.cookie = bpf_get_socket_cookie(sk);
	row.start_ns = rec->start_ns;
	row.bytes[NF_IN] = rec->in.bytes;
	row.bytes[NF_OUT] = rec->out.bytes;
	row.packets[NF_IN] = rec->in.packets;
	row.packets[NF_OUT] = rec->out.packets;
	row.created_ns = rec->created_ns;
	row.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);
	row.tgid = rec->tgid;
	row.pid = rec->pid;
	row.uid = rec->uid;
	__builtin_memcpy(row.comm, rec->comm, sizeof(row.comm));
	row.family = (__u8)sk->__sk_common.skc_family;
	row.proto = (__u8)sk->sk_protocol;
	row.state = sk->__sk_common.skc_state;
	row.active = rec->active;
	if (row.family == AF_INET6) {
		BPF_CORE_READ_INTO(&row.laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&row.raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		__builtin_memcpy(row.laddr, &sk->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(row.raddr, &sk->__sk_common.skc_daddr, 4);
	}
	row.lport = sk->__sk_common.skc_num;
	row.rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (!row.rport && rec->addr_known) {	/* unconnected UDP: its first peer */
		__builtin_memcpy(row.raddr, rec->raddr, sizeof(row.raddr));
		row.rport = rec->rport;
	}
	if (rec->redirected) {
		__builtin_memcpy(row.raddr, rec->orig, sizeof(row.raddr));
		row.rport = rec->orig_port;
		row.rd_filter = rec->rd_filter;
	}
	bpf_seq_write(seq, &row, sizeof(row));
}

/* Like nf_reap_tcp, these walk the namespace of whoever creates the
 * iterator (an iterator over nf_socks itself, which would see every
 * namespace at once, is refused on the kernels netfil targets). */
SEC("iter/tcp")
int nf_dump_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);	/* no time-wait or request socks */
	if (tp)
		dump_row(ctx->meta->seq, (struct sock *)tp);
	return 0;
}

SEC("iter/udp")
int nf_dump_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;

	if (udp)
		dump_row(ctx->meta->seq, (struct sock *)udp);
	return 0;
}
