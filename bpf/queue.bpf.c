// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nf_sk_lookup: who a queued packet belongs to.  libnetfil runs it by
 * BPF_PROG_TEST_RUN in the client's network namespace, on a struct
 * nf_qlookup after an Ethernet header: the packet's local socket, found
 * as the kernel's own lookup finds it, and the owner stamped in its record
 * when it was created; a socket closed since is found in nf_qgone.  Exact
 * for processes that have exited since. */
#include "queue.h"

#define NF_QL_OFF 14	/* after the Ethernet header */

SEC("tc")
int nf_sk_lookup(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct nf_qowner o = {};
	struct nf_qlookup q;
	struct bpf_sock *sk;
	struct nf_sock *rec;
	__u32 len;

	if (bpf_skb_load_bytes(skb, NF_QL_OFF, &q, sizeof(q)))
		return 0;
	/* the tuple as a packet arriving at the socket sees it */
	if (q.family == AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, q.raddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, q.laddr, 4);
		t.ipv4.sport = q.rport;
		t.ipv4.dport = q.lport;
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, q.raddr, 16);
		__builtin_memcpy(t.ipv6.daddr, q.laddr, 16);
		t.ipv6.sport = q.rport;
		t.ipv6.dport = q.lport;
		len = sizeof(t.ipv6);
	}
	if (q.proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	q.found = 0;
	if (sk) {
		rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
		if (rec) {
			q.found = 1;
			q_owner(rec, &o);
		}
		bpf_sk_release(sk);
	}
	if (!q.found) {
		struct nf_qgone_key k = { .family = q.family, .proto = q.proto,
					  .lport = bpf_ntohs(q.lport) };
		struct nf_qowner *g;

		__builtin_memcpy(k.laddr, q.laddr, 16);
		g = bpf_map_lookup_elem(&nf_qgone, &k);
		if (!g) {
			__builtin_memset(k.laddr, 0, 16);	/* bound to any */
			g = bpf_map_lookup_elem(&nf_qgone, &k);
		}
		if (g) {
			q.found = 1;
			o = *g;
		}
	}
	if (q.found) {
		q.tgid = o.tgid;
		q.pid = o.pid;
		q.uid = o.uid;
		q.cookie = o.cookie;
		__builtin_memcpy(q.comm, o.comm, sizeof(q.comm));
	}
	bpf_skb_store_bytes(skb, NF_QL_OFF, &q, sizeof(q), 0);
	return 0;
}
