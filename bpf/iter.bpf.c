// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Iterators, run from user space: nf_stamp_existing (once, by "netfil
 * load") and nf_reap_tcp (by the reaper, after a kick). */
#include "sock.h"
#include "match.h"
#include "charge.h"

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* Sockets opened before netfil was loaded get the record of (the first
 * process found) holding them. */
SEC("iter/task_file")
int nf_stamp_existing(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct nf_sock *rec;
	struct socket *sock;
	struct sock *sk;

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
	if (!governed(sk) || bpf_sk_storage_get(&nf_socks, sk, 0, 0))
		return 0;
	rec = bpf_sk_storage_get(&nf_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rec)
		return 0;
	stamp(rec, task);
	rec->created_ns = bpf_ktime_get_ns();	/* unknown: from load on */
	rec->family = (__u8)sk->__sk_common.skc_family;
	rec->proto = (__u8)sk->sk_protocol;
	return 0;
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
