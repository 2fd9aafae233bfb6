/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * charge.h - where a limit is decided: charge() one filter, admit() a
 * packet to all the filters that apply, take_back() what a refused packet
 * was counted; blocked() reads the same latch for new traffic.  Most
 * packets spend credit their CPU took ahead (nf_credit), so that they
 * write no line that the other CPUs write.
 */
#ifndef NF_CHARGE_H
#define NF_CHARGE_H

#include "match.h"

enum { CHARGE_SKIP, CHARGE_OK, CHARGE_DROP, CHARGE_CROSSED };

/* What admit() decided.  A refusal names the filter; a crossing (this
 * packet latched the direction: once per crossing) also says what was
 * crossed, for the caller's exceeded event and reaper kick. */
struct nf_verdict {
	bool refused;
	bool crossed;
	__u8 action;		/* the refusing filter's enum nf_action */
	__u32 filter;		/* its id */
	struct nf_ref ref;	/* ... and slot */
	__u32 dir;		/* enum nf_dir */
	__u32 limit_kind;	/* crossed: the enum nf_limit */
	__u64 limit;		/* crossed: that limit ... */
	__u64 admitted;		/* ... and the counter it bounds */
};

/* c -= len, never below zero (a reset may have zeroed c meanwhile), by
 * compare-and-swap: other CPUs add to c at the same time.  Should the
 * line stay that busy, the bytes stay counted: a count too high only
 * refuses early, one too low could pass the limit. */
static __always_inline void sub_floor(__u64 *c, __u64 len)
{
	__u64 old, new;
	int i;

#pragma clang loop unroll(disable)	/* a loop the verifier walks, not 8 copies */
	for (i = 0; i < 8; i++) {
		old = *(volatile __u64 *)c;
		new = old > len ? old - len : 0;
		if (__sync_val_compare_and_swap(c, old, new) == old)
			return;
	}
}

/* Is the credit entry c this filter's, taken from these counters (sgen)? */
static __always_inline bool credit_of(const struct nf_credit *c, __u32 id, __u32 sgen)
{
	return c->id == id && c->sgen == sgen;
}

/* ... and taken under these limits (epoch)? */
static __always_inline bool credit_is(const struct nf_credit *c, __u32 id, __u32 sgen,
				      __u32 epoch)
{
	return credit_of(c, id, sgen) && c->epoch == epoch;
}

/* Bring n bytes of credit of counters sgen back into them: only while
 * those are still the counters (user space bumps sgen before and after
 * it replaces them), else they went with the old ones. */
static __always_inline void credit_back(struct nf_filter_state *st,
					const struct nf_filter_cfg *cfg, __u32 sgen, int d,
					__u64 n)
{
	if (n && *(volatile __u32 *)&cfg->sgen == sgen)
		sub_floor(&st->bytes[d], n);
}

/* Make this CPU's entry c current (the caller holds it busy): an entry of
 * another filter, or of counters user space has since replaced, is void
 * (its credit was counted in what was replaced); credit taken under other
 * limits goes back to the counters, to be taken again under these. */
static __always_inline void credit_renew(struct nf_credit *c, struct nf_filter_state *st,
					 const struct nf_filter_cfg *cfg, __u32 id, __u32 sgen,
					 __u32 epoch)
{
	bool same = credit_of(c, id, sgen);
	int d;

	if (credit_is(c, id, sgen, epoch))
		return;
	for (d = 0; d < 2; d++) {
		/* an exchange: a reclaim on another CPU may take it too */
		__u64 n = __sync_lock_test_and_set(&c->left[d], 0);

		if (same)
			credit_back(st, cfg, sgen, d, n);
		else
			c->packets[d] = 0;
	}
	c->id = id;
	c->sgen = sgen;
	c->epoch = epoch;
}

/* Spend len of this CPU's credit: no line another CPU writes.  Atomic
 * all the same: a reclaim on another CPU may take it meanwhile. */
static __always_inline bool spend(struct nf_credit *c, int d, __u32 len)
{
	__u64 old;
	int i;

	for (i = 0; i < 4; i++) {
		old = *(volatile __u64 *)&c->left[d];
		if (old < len)
			return false;
		if (__sync_val_compare_and_swap(&c->left[d], old, old - len) == old) {
			__sync_fetch_and_add(&c->packets[d], 1);
			return true;
		}
	}
	return false;
}

/* Every CPU's unspent credit for the filter at slot back into its
 * counters: before a packet is refused, so that credit held elsewhere
 * never makes a filter refuse below its limit. */
#ifdef NF_CHARGE_DEFINE
/* A global function: the verifier walks its loop once, not in every
 * caller's every state. */
__noinline int nf_reclaim(__u32 slot, __u32 id, __u32 sgen)
{
	struct nf_filter_state *st = bpf_map_lookup_elem(&nf_state, &slot);
	struct nf_filter_cfg *cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	__u64 back[2] = {};
	__u32 cpu;

	if (!st || !cfg)
		return 0;
	for (cpu = 0; cpu < NF_MAX_CPUS; cpu++) {
		struct nf_credit *c = bpf_map_lookup_percpu_elem(&nf_credit, &slot, cpu);

		if (!c)
			break;
		if (!credit_of(c, id, sgen))
			continue;
		back[0] += __sync_lock_test_and_set(&c->left[0], 0);
		back[1] += __sync_lock_test_and_set(&c->left[1], 0);
	}
	credit_back(st, cfg, sgen, 0, back[0]);
	credit_back(st, cfg, sgen, 1, back[1]);
	return 0;
}
#else
extern int nf_reclaim(__u32 slot, __u32 id, __u32 sgen);
#endif

/* Add take bytes to direction d's counter (one atomic add, which returns
 * the counter as it was) and keep them only if the sum stays within d's
 * limit and, with the other direction's counter read after the add,
 * within iobyte.  *mine and *used: the sums checked. */
static __always_inline bool take(struct nf_filter_state *st, int d, __u64 take, __u64 lim,
				 __u64 io, __u64 *mine, __u64 *used)
{
	*mine = __sync_fetch_and_add(&st->bytes[d], take) + take;
	*used = io ? *mine + *(volatile __u64 *)&st->bytes[!d] : 0;
	if ((!lim || *mine <= lim) && (!io || *used <= io))
		return true;
	sub_floor(&st->bytes[d], take);
	return false;
}

/* What a CPU takes ahead beside a packet: a quarter of the room left
 * under the tighter limit, at most NF_CREDIT_SLICE, so that credit
 * shrinks as the limit nears and the last bytes go packet by packet. */
static __always_inline __u64 slice(const struct nf_filter_state *st, int d, __u32 len,
				   __u64 lim, __u64 io)
{
	__u64 b = *(volatile __u64 *)&st->bytes[d], o = *(volatile __u64 *)&st->bytes[!d];
	__u64 room = NF_CREDIT_SLICE * 4ULL + len;

	if (lim)
		room = lim > b ? (lim - b < room ? lim - b : room) : 0;
	if (io)
		room = io > b + o ? (io - b - o < room ? io - b - o : room) : 0;
	return room > len ? (room - len) / 4 : 0;
}

/*
 * charge() is where a limit is decided, without a lock.  Bytes are taken
 * from the filter's counters before they are admitted: a packet first
 * spends this CPU's credit (bytes it took ahead, already in the
 * counters); when that is short, it takes its own length plus a slice
 * ahead (take(): one atomic add, then the check against the limits).
 * Every admission is covered by bytes that a check against the limits
 * let into the counters, so the admitted count never passes a limit,
 * whatever the other CPUs do.  A packet that does not fit first brings
 * every CPU's unspent credit back (nf_reclaim()) and tries once more with
 * its own length only; then it is refused and the direction latches as
 * exceeded.  A latched direction drops everything.  Fills v's action and,
 * for a crossing, what was crossed.
 *
 * The entry is held busy while it is renewed or refilled: a program that
 * interrupts this one on the same CPU then charges the counters directly
 * rather than retag an entry under a refill.
 */
#ifdef NF_CHARGE_DEFINE
/* A global function, like nf_sock_refs(): verified once, not once for
 * each of the NF_REFS filters admit() charges. */
__noinline int nf_charge(__u32 slot, __u32 id, __u32 dir, __u32 len, struct nf_verdict *v)
{
	struct nf_filter_state *st;
	struct nf_filter_cfg *cfg;
	struct nf_credit *c;
	__u32 d = dir & 1;
	__u64 lim, io, ahead = 0, mine = 0, used = 0;
	__u32 epoch, sgen, seen;
	bool ok = false;
	__u8 action;

	if (!id || !v)
		return CHARGE_SKIP;
	cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	if (!cfg || cfg->id != id || !cfg->on)
		return CHARGE_SKIP;
	st = bpf_map_lookup_elem(&nf_state, &slot);
	c = bpf_map_lookup_elem(&nf_credit, &slot);
	if (!st || !c)
		return CHARGE_SKIP;
	/* the epoch first: user space stores the limits, then the epoch */
	epoch = cfg->epoch;
	barrier();	/* the limits are read after the epoch */
	sgen = cfg->sgen;
	lim = cfg->limit[d];
	io = cfg->limit[NF_LIM_IO];
	action = cfg->action;

	seen = *(volatile __u32 *)&st->latched[d];
	if (seen != epoch) {
		if (credit_is(c, id, sgen, epoch) && spend(c, d, len))
			return CHARGE_OK;
		if (__sync_lock_test_and_set(&c->busy, 1))
			c = NULL;	/* busy under us: charge the counters only */
		if (c) {
			credit_renew(c, st, cfg, id, sgen, epoch);
			ahead = slice(st, d, len, lim, io);
		}
		ok = take(st, d, len + ahead, lim, io, &mine, &used);
		if (!ok) {
			ahead = 0;
			nf_reclaim(slot, id, sgen);
			ok = take(st, d, len, lim, io, &mine, &used);
		}
		if (ok && c) {
			__sync_fetch_and_add(&c->left[d], ahead);
			__sync_fetch_and_add(&c->packets[d], 1);
		} else if (ok) {
			__sync_fetch_and_add(&st->packets[d], 1);
		}
		if (c) {
			barrier();
			*(volatile __u32 *)&c->busy = 0;
		}
		if (ok)
			return CHARGE_OK;
	}
	__sync_fetch_and_add(&st->dropped[d], len);
	v->action = action;
	/* one latch per crossing: whoever swaps the epoch in */
	if (seen == epoch || __sync_val_compare_and_swap(&st->latched[d], seen, epoch) != seen)
		return CHARGE_DROP;
	st->latched_ns[d] = bpf_ktime_get_ns();
	if (lim && mine > lim) {
		v->limit_kind = d;
		v->limit = lim;
		v->admitted = mine - len;
	} else {
		v->limit_kind = NF_LIM_IO;
		v->limit = io;
		v->admitted = used - len;
	}
	/* the sum may hold bytes on their way back from other CPUs */
	if (v->admitted > v->limit)
		v->admitted = v->limit;
	return CHARGE_CROSSED;
}
#else
extern int nf_charge(__u32 slot, __u32 id, __u32 dir, __u32 len, struct nf_verdict *v);
#endif

static __always_inline int charge(const struct nf_ref *ref, int dir, __u32 len,
				  struct nf_verdict *v)
{
	return nf_charge(ref->slot, ref->id, dir, len, v);
}

/* What take_back() gives back: nothing (the filter did not admit the
 * packet), an admission when a later filter refused the packet (into this
 * CPU's credit, where charge() left it counted), or a drop when the packet
 * went out uncounted after all. */
enum { TAKE_NONE, TAKE_ADMITTED, TAKE_DROPPED };

#ifdef NF_CHARGE_DEFINE
__noinline int nf_take_back(__u32 slot, __u32 id, __u32 dir, __u32 len, __u32 what)
{
	struct nf_filter_state *st;
	struct nf_filter_cfg *cfg;
	struct nf_credit *c;
	__u32 d = dir & 1;

	if (!id || what == TAKE_NONE)
		return 0;
	st = bpf_map_lookup_elem(&nf_state, &slot);
	cfg = bpf_map_lookup_elem(&nf_cfg, &slot);
	if (!st || !cfg || cfg->id != id)
		return 0;
	if (what == TAKE_DROPPED) {
		sub_floor(&st->dropped[d], len);
		return 0;
	}
	c = bpf_map_lookup_elem(&nf_credit, &slot);
	if (c && credit_of(c, id, cfg->sgen)) {
		__sync_fetch_and_add(&c->left[d], len);
		sub_floor(&c->packets[d], 1);
		return 0;
	}
	sub_floor(&st->bytes[d], len);
	sub_floor(&st->packets[d], 1);
	return 0;
}
#else
extern int nf_take_back(__u32 slot, __u32 id, __u32 dir, __u32 len, __u32 what);
#endif

static __always_inline void take_back(const struct nf_ref *ref, int dir, __u32 len,
				      __u32 what)
{
	nf_take_back(ref->slot, ref->id, dir, len, what);
}

/* Charge a packet to the first n filters in refs[]; all must admit it.
 * On a refusal the filters before the refusing one that admitted it get
 * their bytes back, so a filter only counts what actually got through. */
static __always_inline struct nf_verdict admit(struct nf_ref *refs, int n, int dir,
						__u32 len)
{
	struct nf_verdict v = {};
	__u32 admitted = 0;	/* bit i: refs[i] admitted the packet */
	int i, j, r;

	for (i = 0; i < NF_REFS; i++) {
		struct nf_ref *ref = &refs[i];

		if (i >= n)
			break;
		barrier_var(ref);	/* else clang may form &ref->id as ref | 4 */
		r = charge(ref, dir, len, &v);
		if (r == CHARGE_OK)
			admitted |= 1U << i;
		if (r == CHARGE_OK || r == CHARGE_SKIP)
			continue;
		/* no branch on the mask: the verifier need not tell its
		 * values apart */
		for (j = 0; j < NF_REFS; j++) {
			if (j >= i)
				break;
			take_back(&refs[j], dir, len, (admitted >> j) & 1 ? TAKE_ADMITTED : TAKE_NONE);
		}
		v.refused = true;
		v.crossed = r == CHARGE_CROSSED;
		v.filter = ref->id;
		v.ref = *ref;
		v.dir = dir;
		break;
	}
	return v;
}

/* A reject filter has just latched: the reaper aborts the established TCP
 * connections it blocks.  After the exceeded event, which it may cause. */
static __always_inline void kick_reaper(const struct nf_verdict *v)
{
	struct nf_kick k = { .id = v->filter, .dir = v->dir };

	if (v->crossed && v->action == NF_ACT_REJECT)
		bpf_ringbuf_output(&nf_kick, &k, sizeof(k), 0);
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

#endif /* NF_CHARGE_H */
