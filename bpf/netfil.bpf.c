// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil.bpf.c - every netfil program that runs in the kernel.
 *
 * Where things happen:
 *   nf_sock_create     stamps each new TCP/UDP socket with who created it
 *   nf_stamp_existing  stamps sockets that already existed at load time
 *   nf_cg_egress/
 *   nf_cg_ingress      count and limit packets for socket and IP filters
 *   nf_tc_egress/
 *   nf_tc_ingress      count and limit packets for interface filters
 *   nf_connect4/6,
 *   nf_sendmsg4/6      refuse new traffic to exceeded "reject" filters
 *   nf_reap_tcp        aborts established connections such filters block
 *   nf_bind4/6, nf_sockops, nf_sock_release, nf_emit
 *                      the event stream: socket, connect, bind, listen,
 *                      accept and close events, emitted per socket (the
 *                      packet path only adds to the socket's counters)
 *
 * The one place a limit is decided is charge() below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netfil.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET		2
#define AF_INET6	10
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define TCP_FIN_WAIT2	5
#define TCP_TIME_WAIT	6
#define TCP_CLOSE	7
#define TCP_LAST_ACK	9
#define TCP_LISTEN	10
#define TCP_CLOSING	11
#define TC_ACT_UNSPEC	(-1)
#define TC_ACT_SHOT	2

/* cgroup_skb egress verdicts: 0 drops and makes the sender see EPERM, 2
 * drops but reports only congestion, i.e. a silent drop. */
#define CG_PASS		1
#define CG_REJECT	0
#define CG_DROP_SILENT	2

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nf_filter_cfg);
} nf_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct nf_filter_state);
} nf_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct nf_filter_meta);
} nf_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_MAX_SOCKET);
	__type(key, struct nf_proc_key);
	__type(value, struct nf_proc_val);
} nf_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NF_MAX_IP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nf_ip4_key);
	__type(value, struct nf_ref);
} nf_ip4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NF_MAX_IP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nf_ip6_key);
	__type(value, struct nf_ref);
} nf_ip6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_MAX_IFACES);
	__type(key, struct nf_if_key);
	__type(value, struct nf_if_val);
} nf_ifaces SEC(".maps");

/* BPF_F_CLONE: a socket accepted from a listener inherits its record. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct nf_sock);
} nf_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nf_globals);
} nf_globals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} nf_kick SEC(".maps");

/* Each event subscriber brings its own ring buffer and puts it in a slot
 * here, so that every subscriber sees every event and a slow one loses
 * only its own (counted in nf_globals.sub_lost). */
struct nf_sub_rb {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NF_SUB_RB_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NF_MAX_SUBS);
	__type(key, __u32);
	__array(values, struct nf_sub_rb);
} nf_subs SEC(".maps");

/* Events are built here, not on the stack (512 bytes, already busy). */
struct nf_scratch {
	__u32 busy;
	__u32 pad;
	struct nf_event ev;
};

/* Two per CPU: a softirq program (ingress, sockops) may interrupt one in
 * process context (sock_release, connect, egress) halfway through. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct nf_scratch);
} nf_scratch SEC(".maps");

/* ------------------------------------------------------------------ */
/* Socket identity                                                     */

static __always_inline struct nf_globals *globals(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nf_globals, &zero);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static __always_inline bool subscribed(void)
{
	struct nf_globals *g = globals();

	return g && g->subs_mask;
}

/* A per-CPU buffer that no program this one interrupted is using. */
static __always_inline struct nf_scratch *scratch(void)
{
	__u32 k;

	for (k = 0; k < 2; k++) {
		__u32 key = k;
		struct nf_scratch *s = bpf_map_lookup_elem(&nf_scratch, &key);

		if (s && !__sync_fetch_and_add(&s->busy, 1))
			return s;
		if (s)
			__sync_fetch_and_add(&s->busy, -1);
	}
	return NULL;
}

/* A zeroed event of this type, carrying the socket owner's identity.  With
 * no free buffer (nesting deeper than softirq over process context) the
 * event is lost, and counted. */
static __always_inline struct nf_event *ev_new(__u16 type, const struct nf_sock *rec)
{
	struct nf_scratch *s = scratch();
	struct nf_event *ev;

	if (!s) {
		struct nf_globals *g = globals();

		if (g)
			__sync_fetch_and_add(&g->sub_lost[0], 1);
		return NULL;
	}
	ev = &s->ev;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->ts_ns = bpf_ktime_get_ns();
	if (rec) {
		ev->pid = rec->pid;
		ev->tgid = rec->tgid;
		ev->uid = rec->uid;
		ev->gid = rec->gid;
		ev->family = rec->family;
		ev->proto = rec->proto;
		__builtin_memcpy(ev->comm, rec->comm, sizeof(ev->comm));
	}
	return ev;
}

static __always_inline void emit(struct nf_event *ev)
{
	struct nf_globals *g = globals();
	struct nf_scratch *s = container_of(ev, struct nf_scratch, ev);
	int i;

	if (!g)
		goto out;
#pragma unroll
	for (i = 0; i < NF_MAX_SUBS; i++) {
		__u32 key = i;
		void *rb;

		if (!(g->subs_mask & (1u << i)))
			continue;
		rb = bpf_map_lookup_elem(&nf_subs, &key);
		if (rb && bpf_ringbuf_output(rb, ev, sizeof(*ev), 0))
			__sync_fetch_and_add(&g->sub_lost[i], 1);
	}
out:
	__sync_fetch_and_add(&s->busy, -1);
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
	int i;

	rec->tgid = task->tgid;
	rec->pid = task->pid;
	rec->uid = cred->uid.val;
	rec->gid = cred->gid.val;
	rec->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	rec->start_ns = p->start_boottime;
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

/* The socket filters that apply to a socket: a pid filter on its creator
 * and every tree filter on the creator or one of its ancestors.  They are
 * all charged (nested quotas), each once, so overlapping filters neither
 * double-count nor hide each other.  The answer is cached in the record
 * and recomputed only after a socket filter change bumps sock_gen. */
static __always_inline __u32 sock_refs(struct nf_sock *rec)
{
	struct nf_globals *g = globals();
	bool overflow = false;
	__u32 n = 0, gen;
	int i;

	if (!g)
		return 0;
	/* Read the generation once, before the lookups: a filter linked
	 * while we look bumps it again and the next packet looks again. */
	gen = g->sock_gen;
	if (rec->gen == gen)
		return rec->n_match;

	for (i = 0; i < NF_ANC_MAX; i++) {
		struct nf_proc_val *v;

		if (i >= (int)rec->n_anc)
			break;
		v = bpf_map_lookup_elem(&nf_procs, &rec->anc[i]);
		if (!v)
			continue;
		if (i == 0)
			add_ref(rec, &n, &v->pid, &overflow);
		add_ref(rec, &n, &v->tree, &overflow);
	}
	if (overflow)
		__sync_fetch_and_add(&g->match_overflow, 1);
	rec->n_match = n;
	rec->gen = gen;
	return n;
}

/* ------------------------------------------------------------------ */
/* Admission                                                           */

enum { CHARGE_SKIP, CHARGE_OK, CHARGE_DROP, CHARGE_CROSSED };

/*
 * charge() is where a limit is decided.  Under the filter's lock: a
 * direction that is already exceeded drops everything; otherwise the packet
 * is admitted only if admitted-bytes-plus-this-packet stays within the
 * direction's limit and within iobyte.  The counter therefore never passes
 * the limit, whatever the other CPU is doing, and the first packet that
 * would have crossed it latches the direction as exceeded.
 */
/* What a crossing looked like, for the exceeded event. */
struct cross {
	__u32 limit_kind;
	__u64 limit;
	__u64 admitted;
};

static __always_inline int charge(const struct nf_ref *ref, int dir, __u32 len,
				  __u8 *action, struct cross *x)
{
	struct nf_filter_state *st;
	struct nf_filter_cfg *cfg;
	__u32 slot = ref->slot;
	__u64 lim, io, used, mine;
	__u32 epoch;
	int ret = CHARGE_OK;

	if (!ref->id)
		return CHARGE_SKIP;
	cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	if (!cfg || cfg->id != ref->id || !cfg->on)
		return CHARGE_SKIP;
	st = bpf_map_lookup_elem(&nf_state, &slot);
	if (!st)
		return CHARGE_SKIP;
	/* the epoch first: user space stores the limits, then the epoch */
	epoch = cfg->epoch;
	lim = cfg->limit[dir & 1];
	io = cfg->limit[NF_LIM_IO];
	*action = cfg->action;

	bpf_spin_lock(&st->lock);
	used = st->bytes[0] + st->bytes[1];
	mine = st->bytes[dir & 1];
	if (st->latched[dir & 1] == epoch) {
		ret = CHARGE_DROP;
	} else if ((lim && mine + len > lim) || (io && used + len > io)) {
		st->latched[dir & 1] = epoch;
		ret = CHARGE_CROSSED;
	}
	if (ret == CHARGE_OK) {
		st->bytes[dir & 1] += len;
		st->packets[dir & 1]++;
	} else {
		st->dropped[dir & 1] += len;
	}
	bpf_spin_unlock(&st->lock);
	/* no helper may run under the lock; one store per crossing */
	if (ret == CHARGE_CROSSED) {
		st->latched_ns[dir & 1] = bpf_ktime_get_ns();
		if (lim && mine + len > lim) {
			x->limit_kind = dir & 1;
			x->limit = lim;
			x->admitted = mine;
		} else {
			x->limit_kind = NF_LIM_IO;
			x->limit = io;
			x->admitted = used;
		}
	}
	return ret;
}

/* Take back what charge() counted: an admission when a later filter
 * refused the packet, or a drop when the packet went out uncounted after
 * all.  A reset may have zeroed the counters meanwhile: never wrap. */
static __always_inline void take_back(const struct nf_ref *ref, int dir, __u32 len,
				      bool admitted)
{
	struct nf_filter_state *st;
	__u32 slot = ref->slot;
	__u64 *c;

	st = bpf_map_lookup_elem(&nf_state, &slot);
	if (!st)
		return;
	c = admitted ? &st->bytes[dir & 1] : &st->dropped[dir & 1];
	bpf_spin_lock(&st->lock);
	*c -= *c < len ? *c : len;
	if (admitted && st->packets[dir & 1])
		st->packets[dir & 1]--;
	bpf_spin_unlock(&st->lock);
}

static __always_inline void kick(const struct nf_ref *ref, int dir)
{
	struct nf_kick k = { .id = ref->id, .dir = dir };

	bpf_ringbuf_output(&nf_kick, &k, sizeof(k), 0);
}

#define NF_REFS (NF_SOCK_MATCH + 1)

/* Charge a packet to the first n filters in refs[]; all must admit it.
 * Returns 0 when admitted, else 1 + the action of the filter that refused
 * it, whose index goes to *who. */
/* Exactly one exceeded event per crossing: only the packet that latched a
 * direction gets here, and the latch holds until a reset or a new limit. */
static __always_inline void ev_exceeded(const struct nf_ref *ref, int dir,
					const struct cross *x, const struct nf_sock *rec,
					struct __sk_buff *skb)
{
	struct nf_event *ev;

	if (!subscribed() || !(ev = ev_new(NF_EV_EXCEEDED, rec)))
		return;
	ev->cookie = rec ? bpf_get_socket_cookie(skb) : 0;
	ev->exceeded.filter = ref->id;
	ev->exceeded.dir = dir;
	ev->exceeded.limit_kind = x->limit_kind;
	ev->exceeded.limit = x->limit;
	ev->exceeded.admitted = x->admitted;
	emit(ev);
}

static __always_inline int admit(struct nf_ref *refs, int n, int dir, __u32 len,
				 int *who, const struct nf_sock *rec, struct __sk_buff *skb)
{
	int i, j, r;

	for (i = 0; i < NF_REFS; i++) {
		__u8 action = NF_ACT_REJECT;
		struct cross x = {};

		if (i >= n)
			break;
		r = charge(&refs[i], dir, len, &action, &x);
		if (r == CHARGE_OK || r == CHARGE_SKIP) {
			if (r == CHARGE_SKIP)
				refs[i].id = 0;
			continue;
		}
		if (r == CHARGE_CROSSED) {
			ev_exceeded(&refs[i], dir, &x, rec, skb);
			if (action == NF_ACT_REJECT)
				kick(&refs[i], dir);
		}
		for (j = 0; j < NF_REFS; j++) {
			if (j >= i)
				break;
			if (refs[j].id)
				take_back(&refs[j], dir, len, true);
		}
		*who = i;
		return 1 + action;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

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

/* Copy a socket's filters into refs[0..NF_SOCK_MATCH). */
static __always_inline void sock_match(struct nf_sock *rec, struct nf_ref *refs)
{
	__u32 n;
	int i;

	if (!rec)
		return;
	n = sock_refs(rec);
	for (i = 0; i < NF_SOCK_MATCH; i++) {
		if (i >= (int)n)
			break;
		refs[i].slot = rec->match[i].slot;
		refs[i].id = rec->match[i].id;
	}
}

/* A socket is blocked when a "reject" filter that covers it is exceeded in
 * either direction: a TCP connection cannot work one way only.  Returns
 * that filter's id, or 0. */
static __always_inline __u32 blocked(const struct nf_ref *refs)
{
	int i;

	for (i = 0; i < NF_REFS; i++) {
		struct nf_filter_state *st;
		struct nf_filter_cfg *cfg;
		__u32 slot = refs[i].slot;

		if (!refs[i].id)
			continue;
		cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
		st = bpf_map_lookup_elem(&nf_state, &slot);
		if (!cfg || !st || cfg->id != refs[i].id || !cfg->on ||
		    cfg->action != NF_ACT_REJECT)
			continue;
		if (st->latched[0] == cfg->epoch || st->latched[1] == cfg->epoch)
			return refs[i].id;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stamping sockets                                                    */

static __always_inline bool inet_l4(__u16 family, __u16 type, __u16 proto)
{
	if (family != AF_INET && family != AF_INET6)
		return false;
	return (type == SOCK_STREAM && proto == IPPROTO_TCP) ||
	       (type == SOCK_DGRAM && proto == IPPROTO_UDP);
}

SEC("cgroup/sock_create")
int nf_sock_create(struct bpf_sock *ctx)
{
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
	if (subscribed()) {
		struct nf_event *ev = ev_new(NF_EV_SOCKET, rec);

		if (ev) {
			ev->cookie = bpf_get_socket_cookie(ctx);
			emit(ev);
		}
	}
	return 1;
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

/* Walked once by "netfil load": sockets opened before netfil was loaded get
 * the record of (the first process found) holding them. */
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
	rec->stamped_late = 1;
	rec->created_ns = bpf_ktime_get_ns();	/* unknown: from load on */
	rec->family = (__u8)sk->__sk_common.skc_family;
	rec->proto = (__u8)sk->sk_protocol;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Socket and IP filters: cgroup_skb                                   */

struct pkt {
	bool v6;
	__u8 l4;
	__u32 thoff;		/* where the L4 header starts */
	__u32 plen;		/* the IP datagram's own idea of its length */
	__u32 remote4;
	__u32 remote6[4];
};

/* The IP header, read in place when the head is linear (it nearly always
 * is at these hooks) and copied out otherwise. */
static __always_inline int parse(struct __sk_buff *skb, int dir, struct pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data, copy;

		if ((void *)(ip + 1) > end) {
			if (bpf_skb_load_bytes(skb, 0, &copy, sizeof(copy)))
				return -1;
			ip = &copy;
		}
		p->l4 = ip->protocol;
		p->remote4 = dir == NF_OUT ? ip->daddr : ip->saddr;
		p->thoff = ip->ihl * 4;
		p->plen = bpf_ntohs(ip->tot_len);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data, copy;

		if ((void *)(ip6 + 1) > end) {
			if (bpf_skb_load_bytes(skb, 0, &copy, sizeof(copy)))
				return -1;
			ip6 = &copy;
		}
		p->v6 = true;
		p->l4 = ip6->nexthdr;
		__builtin_memcpy(p->remote6, dir == NF_OUT ? &ip6->daddr : &ip6->saddr, 16);
		p->thoff = sizeof(*ip6);
		p->plen = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	} else {
		return -1;
	}
	return 0;
}

/* A TCP RST without payload.  Only asked about packets already refused,
 * so the TCP header is never read on the common path. */
static __always_inline bool rst_only(struct __sk_buff *skb, const struct pkt *p)
{
	struct tcphdr th;

	if (p->l4 != IPPROTO_TCP || bpf_skb_load_bytes(skb, p->thoff, &th, sizeof(th)))
		return false;
	return (((__u8 *)&th)[13] & 0x04) && p->plen == p->thoff + th.doff * 4;
}

static __always_inline int cg_skb(struct __sk_buff *skb, int dir)
{
	struct nf_ref refs[NF_REFS] = {};
	struct nf_sock *rec = NULL;
	struct bpf_sock *sk = skb->sk;
	struct pkt p = {};
	int verdict, who;

	if (parse(skb, dir, &p))
		return CG_PASS;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	sock_match(rec, refs);
	if (p.v6)
		ip6_ref(p.remote6, &refs[NF_SOCK_MATCH]);
	else
		ip4_ref(p.remote4, &refs[NF_SOCK_MATCH]);

	verdict = admit(refs, NF_REFS, dir, skb->len, &who, rec, skb);
	if (!verdict) {
		/* the socket's own tally for its close event: plain adds on
		 * a line already in cache; no event is sent from here */
		if (rec) {
			rec->bytes[dir & 1] += skb->len;
			rec->packets[dir & 1]++;
			if (!rec->addr_known)
				rec_addrs(rec, sk);
		}
		return CG_PASS;
	}

	/* The RST that aborts a connection blocked by a reject filter must
	 * reach the peer; it carries no data and is not counted. */
	if (dir == NF_OUT && verdict == 1 + NF_ACT_REJECT && rst_only(skb, &p)) {
		struct nf_globals *g = globals();

		if ((unsigned int)who < NF_REFS)
			take_back(&refs[who], dir, skb->len, false);
		if (g)
			__sync_fetch_and_add(&g->rst_passed, 1);
		return CG_PASS;
	}
	if (dir == NF_OUT && verdict == 1 + NF_ACT_DROP)
		return CG_DROP_SILENT;
	return CG_REJECT;
}

SEC("cgroup_skb/egress")
int nf_cg_egress(struct __sk_buff *skb)
{
	return cg_skb(skb, NF_OUT);
}

SEC("cgroup_skb/ingress")
int nf_cg_ingress(struct __sk_buff *skb)
{
	return cg_skb(skb, NF_IN);
}

/* ------------------------------------------------------------------ */
/* Fail fast: refuse new traffic to exceeded reject filters            */

/* The address a connect() or bind() names; returns its port. */
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

static __always_inline int sock_addr_verdict(struct bpf_sock_addr *ctx, bool v6,
					     __u16 ev_type)
{
	struct nf_ref refs[NF_REFS] = {};
	struct nf_sock *rec = NULL;
	struct nf_event *ev;
	__u32 refused;

	if (ctx->sk)
		rec = bpf_sk_storage_get(&nf_socks, ctx->sk, 0, 0);
	sock_match(rec, refs);
	if (v6) {
		__u32 a[4] = { ctx->user_ip6[0], ctx->user_ip6[1],
			       ctx->user_ip6[2], ctx->user_ip6[3] };

		ip6_ref(a, &refs[NF_SOCK_MATCH]);
	} else {
		ip4_ref(ctx->user_ip4, &refs[NF_SOCK_MATCH]);
	}
	refused = blocked(refs);
	if (ev_type && subscribed() && (ev = ev_new(ev_type, rec))) {
		ev->cookie = bpf_get_socket_cookie(ctx);
		ev->family = v6 ? AF_INET6 : AF_INET;
		ev->proto = (__u8)ctx->protocol;
		ev->rport = user_addr(ctx, v6, ev->raddr);
		ev->connect.refused = !!refused;
		ev->connect.filter = refused;
		emit(ev);
	}
	return refused ? 0 : 1;	/* 0: the caller gets EPERM */
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

/* Run by the reaper after a kick: abort every established TCP connection
 * that a reject filter now blocks, so that the application gets an error
 * and the peer a reset instead of minutes of retransmission. */
SEC("iter/tcp")
int nf_reap_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct nf_ref refs[NF_REFS] = {};
	struct tcp_sock *tp;
	struct nf_sock *rec;
	struct sock *sk;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	if (sk->__sk_common.skc_state == TCP_LISTEN || !governed(sk))
		return 0;
	rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	sock_match(rec, refs);
	if (sk->__sk_common.skc_family == AF_INET6) {
		__u32 a[4];

		BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
		ip6_ref(a, &refs[NF_SOCK_MATCH]);
	} else {
		ip4_ref(sk->__sk_common.skc_daddr, &refs[NF_SOCK_MATCH]);
	}
	if (blocked(refs))
		bpf_sock_destroy(skc);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The event stream: bind, listen, accept, close; filter changes       */

static __always_inline int bind_event(struct bpf_sock_addr *ctx, bool v6)
{
	struct nf_sock *rec = NULL;
	struct nf_event *ev;

	if (!subscribed())
		return 1;
	if (ctx->sk)
		rec = bpf_sk_storage_get(&nf_socks, ctx->sk, 0, 0);
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
	struct nf_ref refs[NF_REFS] = {};
	__u32 i, n = 0;

	ev->close.bytes[0] = rec->bytes[0];
	ev->close.bytes[1] = rec->bytes[1];
	ev->close.packets[0] = rec->packets[0];
	ev->close.packets[1] = rec->packets[1];
	ev->close.created_ns = rec->created_ns;
	ev->close.setup_ns = rec->setup_ns;
	sock_match(rec, refs);
	if (ev->family == AF_INET6)
		ip6_ref((__u32 *)ev->raddr, &refs[NF_SOCK_MATCH]);
	else
		ip4_ref(*(__u32 *)ev->raddr, &refs[NF_SOCK_MATCH]);
	for (i = 0; i < NF_REFS; i++)
		if (refs[i].id && n < NF_REFS)
			ev->close.filters[n++] = refs[i].id;
	ev->close.n_filters = n;
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
SEC("sockops")
int nf_sockops(struct bpf_sock_ops *ops)
{
	struct nf_sock *rec = NULL;
	struct nf_event *ev;
	struct bpf_sock *sk = ops->sk;

	if (sk)
		rec = bpf_sk_storage_get(&nf_socks, sk, 0, 0);
	if (!rec)
		return 1;
	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
			/* cloned from the listener: start its own tally */
			rec->bytes[0] = rec->bytes[1] = 0;
			rec->packets[0] = rec->packets[1] = 0;
			rec->created_ns = bpf_ktime_get_ns();
			rec->closed = 0;
		}
		rec->setup_ns = bpf_ktime_get_ns();
		rec->tcp_close_cb = 1;
		rec->active = ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB;
		bpf_sock_ops_cb_flags_set(ops, ops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_STATE_CB_FLAG);
		if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && subscribed() &&
		    (ev = ev_new(NF_EV_ACCEPT, rec))) {
			ev->cookie = bpf_get_socket_cookie(ops);
			ev_ops_addrs(ev, ops);
			emit(ev);
		}
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		if (subscribed() && (ev = ev_new(NF_EV_LISTEN, rec))) {
			ev->cookie = bpf_get_socket_cookie(ops);
			ev_ops_addrs(ev, ops);
			emit(ev);
		}
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (ops->args[1] != TCP_CLOSE || rec->closed)
			break;
		if (!subscribed() || !(ev = ev_new(NF_EV_CLOSE, rec))) {
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

/* close() of every other socket: UDP, and TCP that never connected. */
SEC("cgroup/sock_release")
int nf_sock_release(struct bpf_sock *ctx)
{
	struct nf_sock *rec;
	struct nf_event *ev;

	rec = bpf_sk_storage_get(&nf_socks, ctx, 0, 0);
	if (!rec || rec->closed || rec->tcp_close_cb)
		return 1;
	if (!subscribed() || !(ev = ev_new(NF_EV_CLOSE, rec))) {
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

/* Filter events come from user space: libnetfil runs this program with
 * the event as its context, so they reach every subscriber in order with
 * the kernel's own events. */
SEC("syscall")
int nf_emit(struct nf_event *ctx)
{
	struct nf_event *ev = ev_new(NF_EV_FILTER, NULL);

	if (!ev)
		return 0;
	ev->filter.op = ctx->filter.op;
	ev->filter.id = ctx->filter.id;
	emit(ev);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Interface filters: tc clsact                                        */

/* The link-layer header is not counted, so that an interface filter counts
 * the same L3 bytes as socket and IP filters do. */
static __always_inline int tc_skb(struct __sk_buff *skb, int dir)
{
	/* The device's namespace: bpf_get_netns_cookie() in tc answers for
	 * the socket, and a packet arriving from another namespace has none. */
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct nf_if_key key = {
		.netns = kskb->dev->nd_net.net->net_cookie,
		.ifindex = skb->ifindex,
	};
	struct nf_ref refs[NF_REFS] = {};
	struct nf_if_val *v;
	__u32 len;
	int who;

	v = bpf_map_lookup_elem(&nf_ifaces, &key);
	if (!v)
		return TC_ACT_UNSPEC;
	len = skb->len > v->hlen ? skb->len - v->hlen : 0;
	refs[0] = v->ref;
	return admit(refs, 1, dir, len, &who, NULL, skb) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("tc")
int nf_tc_egress(struct __sk_buff *skb)
{
	return tc_skb(skb, NF_OUT);
}

SEC("tc")
int nf_tc_ingress(struct __sk_buff *skb)
{
	return tc_skb(skb, NF_IN);
}
