/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sock.h - socket identity: the nf_sock record stamped on each TCP/UDP
 * socket with the process that created it and its ancestry, and the
 * socket filters that record resolves to (nf_sock_refs()).
 */
#ifndef NF_SOCK_H
#define NF_SOCK_H

#include "maps.h"

/* The socket's tally of direction d (enum nf_dir). */
static __always_inline struct nf_tally *rec_tally(struct nf_sock *rec, int d)
{
	return d == NF_OUT ? &rec->out : &rec->in;
}

static __always_inline bool inet_l4(__u16 family, __u16 type, __u16 proto)
{
	if (family != AF_INET && family != AF_INET6)
		return false;
	return (type == SOCK_STREAM && proto == IPPROTO_TCP) ||
	       (type == SOCK_DGRAM && proto == IPPROTO_UDP);
}

/* Fill a socket's record from the process that owns it.  The ancestry
 * (tgid and start time of each parent up the tree) is what lets a "tree"
 * filter cover children born after the filter was added. */
/* The task pointer is a BTF pointer in both callers, so fields are read
 * with plain loads (CO-RE relocated), not one helper call per field: this
 * runs for every socket the machine creates. */
static __always_inline void stamp(struct nf_sock *rec, struct task_struct *task)
{
	struct task_struct *p = task->group_leader;
	const struct cred *cred = task->cred;
	struct cgroup *cg = task->cgroups->dfl_cgrp;
	struct inode *exe = task->mm->exe_file->f_inode;	/* NULL-safe loads */
	struct nf_globals *g = globals();
	int i, lvl;

	rec->tgid = task->tgid;
	rec->pid = task->pid;
	rec->uid = cred->uid.val;
	rec->gid = cred->gid.val;
	rec->cgroup_id = cg->kn->id;
	rec->start_ns = p->start_boottime;
	/* The executable's identity, not its name: a link or a rename of
	 * the file is the same program (exe filters). */
	rec->exe_dev = exe->i_sb->s_dev;
	rec->exe_ino = exe->i_ino;

	/* The cgroup and its ancestors down to the attach cgroup (cgroup
	 * filters may name any of them, never one above). */
	rec->n_cg = 0;
	lvl = cg->level;
	for (i = 0; i < NF_CG_DEPTH && g; i++) {
		struct cgroup *a = NULL;

		if (lvl - i < (int)g->cgroup_level || lvl - i < 0)
			break;
		bpf_probe_read_kernel(&a, sizeof(a), &cg->ancestors[(lvl - i) & 0xff]);
		if (!a)
			break;
		rec->cg[i] = BPF_CORE_READ(a, kn, id);
		rec->n_cg = i + 1;
	}
	__builtin_memcpy(rec->comm, task->comm, sizeof(rec->comm));

	rec->n_anc = 0;
	for (i = 0; i < NF_ANC_MAX; i++) {
		__u32 tgid = p->tgid;

		if (!tgid)
			break;
		rec->anc[i].tgid = tgid;
		rec->anc[i].start = p->start_boottime / (1000000000ULL / NF_USER_HZ);
		rec->n_anc = i + 1;
		p = p->real_parent->group_leader;
		if (!p)
			break;
	}
	rec->gen = 0;	/* not resolved yet: sock_gen starts at 1 */
}

/* Is the socket in netfil's attach cgroup or below it?  Only such sockets
 * are netfil's: the load-time walk and the reaper see every socket of the
 * machine, and must leave the others alone. */
static __always_inline bool governed(struct sock *sk)
{
	struct nf_globals *g = globals();
	struct cgroup *c, *a = NULL;
	__u32 lvl;

	if (!g)
		return false;
	lvl = g->cgroup_level;
	c = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	if (!c || (__u32)BPF_CORE_READ(c, level) < lvl)
		return false;
	bpf_probe_read_kernel(&a, sizeof(a), &c->ancestors[lvl & 0xff]);
	return a && BPF_CORE_READ(a, kn, id) == g->cgroup_id;
}

/* Keep a socket's addresses, as a full struct bpf_sock shows them, for its
 * close event: once per socket, at its first packet. */
static __always_inline void rec_addrs(struct nf_sock *rec, struct bpf_sock *sk)
{
	__u32 *l = (__u32 *)rec->laddr, *r = (__u32 *)rec->raddr;

	if (sk->family == AF_INET6) {
		l[0] = sk->src_ip6[0]; l[1] = sk->src_ip6[1];
		l[2] = sk->src_ip6[2]; l[3] = sk->src_ip6[3];
		r[0] = sk->dst_ip6[0]; r[1] = sk->dst_ip6[1];
		r[2] = sk->dst_ip6[2]; r[3] = sk->dst_ip6[3];
	} else {
		l[0] = sk->src_ip4;
		r[0] = sk->dst_ip4;
	}
	rec->lport = (__u16)sk->src_port;
	rec->rport = bpf_ntohs((__u16)sk->dst_port);
	rec->addr_known = 1;
}

/* The address a connect(), sendmsg() or bind() names; returns its port. */
static __always_inline __u16 user_addr(struct bpf_sock_addr *ctx, bool v6, __u8 *out)
{
	__u32 *a = (__u32 *)out;

	if (v6) {
		a[0] = ctx->user_ip6[0]; a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2]; a[3] = ctx->user_ip6[3];
	} else {
		a[0] = ctx->user_ip4;
	}
	return bpf_ntohs((__u16)ctx->user_port);
}

static __always_inline void add_ref(struct nf_sock *rec, __u32 *n,
				    const struct nf_ref *ref, bool *overflow)
{
	if (!ref->id)
		return;
	if (*n >= NF_SOCK_MATCH) {
		*overflow = true;
		return;
	}
	rec->match[*n & (NF_SOCK_MATCH - 1)] = *ref;
	(*n)++;
}

static __always_inline void owner_ref(struct nf_globals *g, struct nf_sock *rec, __u32 *n,
				      __u32 kind, __u64 a, __u64 b, bool *overflow)
{
	struct nf_owner_key k = { .kind = kind, .a = a, .b = b };
	__u32 h = nf_owner_hash(kind, a, b);
	struct nf_ref *r;

	if (!(g->owner_bits[(h >> 6) & (NF_OWNER_BITS / 64 - 1)] & (1ULL << (h & 63))))
		return;	/* certainly no filter: no lookup */
	r = bpf_map_lookup_elem(&nf_owners, &k);
	if (r)
		add_ref(rec, n, r, overflow);
}

/* The socket filters that apply to a socket: a pid filter on its creator,
 * every tree filter on the creator or one of its ancestors, the exe filter
 * on its executable, the user filter on its uid, and every cgroup filter
 * on its cgroup or an ancestor.  They are all charged (nested quotas),
 * each once, so overlapping filters neither double-count nor hide each
 * other.  The answer is cached in the record when the socket is created
 * and recomputed only after a socket filter change bumps sock_gen. */
#ifdef NF_SOCK_REFS_DEFINE
/* A global function, defined once (maps.bpf.c): the verifier checks it
 * once per program, not again at every call site with every state of the
 * caller; inlined into sockops, its loops took past the 1M-instruction
 * limit. */
__noinline __u32 nf_sock_refs(struct nf_sock *rec)
{
	struct nf_globals *g = globals();
	bool overflow = false;
	__u32 n = 0, gen, kinds, h;
	int i;

	if (!g || !rec)
		return 0;
	/* Read the generation once, before the lookups: a filter linked
	 * while we look bumps it again and the next packet looks again. */
	gen = g->sock_gen;
	if (rec->gen == gen)
		return rec->n_match;
	kinds = g->match_kinds;

	/* the creator's pid filter, and tree filters on it and its ancestors */
	for (i = 0; i < NF_ANC_MAX && (kinds & (NF_MK_PID | NF_MK_TREE)); i++) {
		struct nf_proc_val *v;

		if (i >= (int)rec->n_anc || (i && !(kinds & NF_MK_TREE)))
			break;
		h = nf_owner_hash(NF_OWN_PROC, rec->anc[i].tgid, rec->anc[i].start);
		if (!(g->owner_bits[(h >> 6) & (NF_OWNER_BITS / 64 - 1)] & (1ULL << (h & 63))))
			continue;	/* certainly no filter on this one */
		v = bpf_map_lookup_elem(&nf_procs, &rec->anc[i]);
		if (!v)
			continue;
		if (i == 0)
			add_ref(rec, &n, &v->pid, &overflow);
		add_ref(rec, &n, &v->tree, &overflow);
	}
	if (rec->exe_ino)
		owner_ref(g, rec, &n, NF_OWN_EXE, rec->exe_dev, rec->exe_ino, &overflow);
	owner_ref(g, rec, &n, NF_OWN_USER, rec->uid, 0, &overflow);
	for (i = 0; i < NF_CG_DEPTH; i++) {
		if (i >= (int)rec->n_cg)
			break;
		owner_ref(g, rec, &n, NF_OWN_CGROUP, rec->cg[i], 0, &overflow);
	}
	if (overflow)
		__sync_fetch_and_add(&g->match_overflow, 1);
	rec->n_match = n;
	rec->gen = gen;
	return n;
}
#else
extern __u32 nf_sock_refs(struct nf_sock *rec);
#endif

#endif /* NF_SOCK_H */
