/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * events.h - the event stream: an event is built in a per-CPU scratch
 * buffer (ev_new()) and written into every subscriber's ring buffer
 * (emit()).  Nothing is built while nobody subscribes.
 */
#ifndef NF_EVENTS_H
#define NF_EVENTS_H

#include "charge.h"

/* Someone wants events of this type (enum nf_ev_type). */
static __always_inline bool subscribed(__u32 type)
{
	struct nf_globals *g = globals();

	return g && g->subs_mask && (g->want & (1u << type));
}

/* A socket's life, added to its process's totals while a live view
 * wants them.  Called once per socket, where its close event is built. */
static __always_inline void proc_tally(const struct nf_sock *rec)
{
	struct nf_globals *g = globals();
	struct nf_proc_bytes *t, init = {};

	if (!g || !(g->want & NF_WANT_PROCS))
		return;
	t = bpf_map_lookup_elem(&nf_proc_bytes, &rec->anc[0]);
	if (!t) {
		init.uid = rec->uid;
		__builtin_memcpy(init.comm, rec->comm, sizeof(init.comm));
		bpf_map_update_elem(&nf_proc_bytes, &rec->anc[0], &init, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&nf_proc_bytes, &rec->anc[0]);
		if (!t)
			return;
	}
	__sync_fetch_and_add(&t->bytes[NF_IN], rec->in.bytes);
	__sync_fetch_and_add(&t->bytes[NF_OUT], rec->out.bytes);
	__sync_fetch_and_add(&t->packets[NF_IN], rec->in.packets);
	__sync_fetch_and_add(&t->packets[NF_OUT], rec->out.packets);
	__sync_fetch_and_add(&t->sockets, 1);
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

/* Send an event from ev_new() and free its buffer. */
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

		if (!(g->subs_mask & (1u << i)) ||
		    (g->sub_types[i] && !(g->sub_types[i] & (1u << ev->type))))
			continue;
		rb = bpf_map_lookup_elem(&nf_subs, &key);
		if (rb && bpf_ringbuf_output(rb, ev, sizeof(*ev), 0))
			__sync_fetch_and_add(&g->sub_lost[i], 1);
	}
out:
	__sync_fetch_and_add(&s->busy, -1);
}

/* Exactly one exceeded event per crossing: only the packet that latched a
 * direction has v->crossed, and the latch holds until a reset or a new
 * limit.  rec: the packet's socket, if known. */
static __always_inline void ev_exceeded(const struct nf_verdict *v, const struct nf_sock *rec,
					struct __sk_buff *skb)
{
	struct nf_event *ev;

	if (!v->crossed || !subscribed(NF_EV_EXCEEDED) || !(ev = ev_new(NF_EV_EXCEEDED, rec)))
		return;
	ev->cookie = rec ? bpf_get_socket_cookie(skb) : 0;
	ev->exceeded.filter = v->filter;
	ev->exceeded.dir = v->dir;
	ev->exceeded.limit_kind = v->limit_kind;
	ev->exceeded.limit = v->limit;
	ev->exceeded.admitted = v->admitted;
	emit(ev);
}

#endif /* NF_EVENTS_H */
