/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * charge.h - where a limit is decided: charge() one filter, admit() a
 * packet to all the filters that apply, take_back() what a refused packet
 * was counted; blocked() reads the same latch for new traffic.
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
	__u8 who;		/* its index in refs[] */
	__u32 filter;		/* its id */
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

	for (i = 0; i < 8; i++) {
		old = *(volatile __u64 *)c;
		new = old > len ? old - len : 0;
		if (__sync_val_compare_and_swap(c, old, new) == old)
			return;
	}
}

/*
 * charge() is where a limit is decided, without a lock: the packet's
 * bytes are added to its direction's counter first (one atomic add, which
 * returns the counter as it was), and the packet is admitted only if that
 * sum stays within the direction's limit and, with the other direction's
 * counter read after the add, within iobyte.  Otherwise the bytes are
 * taken back and the direction latches as exceeded.  Every admission
 * checked a sum that held all the bytes admitted before it, so the
 * admitted count never passes the limit, whatever the other CPU is doing;
 * bytes on their way back only make a concurrent packet see the limit a
 * little early, as if it had come after the crossing.  A latched
 * direction drops everything.  Fills v's action and, for a crossing, what
 * was crossed.
 */
static __always_inline int charge(const struct nf_ref *ref, int dir, __u32 len,
				  struct nf_verdict *v)
{
	struct nf_filter_state *st;
	struct nf_filter_cfg *cfg;
	__u32 slot = ref->slot, d = dir & 1;
	__u64 lim, io, mine, used = 0;
	__u32 epoch, seen;
	__u8 action;

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
	barrier();	/* the limits are read after the epoch */
	lim = cfg->limit[d];
	io = cfg->limit[NF_LIM_IO];
	action = cfg->action;

	seen = *(volatile __u32 *)&st->latched[d];
	if (seen != epoch) {
		mine = __sync_fetch_and_add(&st->bytes[d], len) + len;
		if (io)
			used = mine + *(volatile __u64 *)&st->bytes[!d];
		if ((!lim || mine <= lim) && (!io || used <= io)) {
			__sync_fetch_and_add(&st->packets[d], 1);
			return CHARGE_OK;
		}
		sub_floor(&st->bytes[d], len);
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

/* Take back what charge() counted: an admission when a later filter
 * refused the packet, or a drop when the packet went out uncounted after
 * all. */
static __always_inline void take_back(const struct nf_ref *ref, int dir, __u32 len,
				      bool admitted)
{
	struct nf_filter_state *st;
	__u32 slot = ref->slot;

	st = bpf_map_lookup_elem(&nf_state, &slot);
	if (!st)
		return;
	if (!admitted) {
		sub_floor(&st->dropped[dir & 1], len);
		return;
	}
	sub_floor(&st->bytes[dir & 1], len);
	sub_floor(&st->packets[dir & 1], 1);
}

/* Charge a packet to the first n filters in refs[]; all must admit it.
 * On a refusal the filters before the refusing one get their bytes back,
 * so a filter only counts what actually got through.  References that
 * charge nothing (stale, off) are cleared in refs[]. */
static __always_inline struct nf_verdict admit(struct nf_ref *refs, int n, int dir,
						__u32 len)
{
	struct nf_verdict v = {};
	int i, j, r;

	for (i = 0; i < NF_REFS; i++) {
		if (i >= n)
			break;
		r = charge(&refs[i], dir, len, &v);
		if (r == CHARGE_SKIP)
			refs[i].id = 0;
		if (r == CHARGE_OK || r == CHARGE_SKIP)
			continue;
		for (j = 0; j < NF_REFS; j++) {
			if (j >= i)
				break;
			if (refs[j].id)
				take_back(&refs[j], dir, len, true);
		}
		v.refused = true;
		v.crossed = r == CHARGE_CROSSED;
		v.who = i;
		v.filter = refs[i].id;
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
