/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * match.h - which socket and IP filters apply to traffic: match_refs() is
 * the one answer, for packets (cgroup_skb), new traffic (connect,
 * sendmsg), the reaper and close events alike.  Interface filters are
 * found by device, in tc.bpf.c.
 */
#ifndef NF_MATCH_H
#define NF_MATCH_H

#include "sock.h"

/* refs[]: a socket's filters, nearest first, then its IP filter */
#define NF_REFS (NF_SOCK_MATCH + 1)

static __always_inline void ip4_ref(__u32 addr, struct nf_ref *out)
{
	struct nf_ip4_key k = { .prefixlen = 32 };
	struct nf_ref *r;

	__builtin_memcpy(k.addr, &addr, 4);
	r = bpf_map_lookup_elem(&nf_ip4, &k);
	if (r)
		*out = *r;
}

static __always_inline void ip6_ref(const __u32 *addr, struct nf_ref *out)
{
	struct nf_ip6_key k = { .prefixlen = 128 };
	struct nf_ref *r;

	/* An IPv4-mapped address is the IPv4 host it maps. */
	if (addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0xffff)) {
		ip4_ref(addr[3], out);
		return;
	}
	__builtin_memcpy(k.addr, addr, 16);
	r = bpf_map_lookup_elem(&nf_ip6, &k);
	if (r)
		*out = *r;
}

/* The filters that apply to traffic of socket rec (NULL: none known) with
 * the remote address raddr (IPv4: raddr[0]; a redirected socket's original
 * destination instead): refs[0..NF_SOCK_MATCH) its
 * socket filters, refs[NF_SOCK_MATCH] the most specific IP filter.
 * Unused entries have id 0. */
static __always_inline void match_refs(struct nf_sock *rec, bool v6, const __u32 *raddr,
				       struct nf_ref *refs)
{
	__u32 n;
	int i;

	__builtin_memset(refs, 0, NF_REFS * sizeof(*refs));
	/* a redirected connection counts against where it was going */
	if (rec && rec->redirected) {
		v6 = rec->family == AF_INET6;
		raddr = (const __u32 *)rec->orig;
	}
	if (rec) {
		n = nf_sock_refs(rec);
		for (i = 0; i < NF_SOCK_MATCH; i++) {
			if (i >= (int)n)
				break;
			refs[i].slot = rec->match[i].slot;
			refs[i].id = rec->match[i].id;
		}
	}
	if (v6)
		ip6_ref(raddr, &refs[NF_SOCK_MATCH]);
	else
		ip4_ref(raddr[0], &refs[NF_SOCK_MATCH]);
}

#endif /* NF_MATCH_H */
