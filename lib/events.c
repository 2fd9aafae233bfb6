// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The event stream: subscribing, reading and the filter events libnetfil
 * itself emits.
 *
 * A subscriber creates its own ring buffer and puts it into a free slot of
 * nf_subs; the kernel side writes every event into every slot whose bit is
 * set in nf_globals.subs_mask.  So each subscriber receives everything,
 * one that stops reading only fills (and loses) its own buffer, and with no
 * subscriber the kernel side builds no event at all.  A slot whose owner
 * died without closing is taken back by the next subscriber.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

struct netfil_events {
	struct netfil *nf;
	int slot;
	int rb_fd;
	struct ring_buffer *rb;
	netfil_event_fn fn;
	void *ctx;
	int64_t wall_off;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t lost_seen;
	uint32_t exe_tgid;	/* a one-entry cache of /proc/TGID/exe */
	char exe[256];
};

static const char *const type_names[] = {
	[NETFIL_EV_SOCKET] = "socket", [NETFIL_EV_CONNECT] = "connect",
	[NETFIL_EV_ACCEPT] = "accept", [NETFIL_EV_BIND] = "bind",
	[NETFIL_EV_LISTEN] = "listen", [NETFIL_EV_CLOSE] = "close",
	[NETFIL_EV_EXCEEDED] = "exceeded", [NETFIL_EV_FILTER] = "filter",
	[NETFIL_EV_LOST] = "lost",
};

const char *netfil_event_type_name(enum netfil_event_type type)
{
	if ((unsigned int)type < sizeof(type_names) / sizeof(type_names[0]) &&
	    type_names[type])
		return type_names[type];
	return "unknown";
}

int netfil_event_type_parse(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i] && !strcmp(name, type_names[i]))
			return (int)i;
	return -EINVAL;
}

uint64_t nf_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns: latches and events are
 * stamped on the monotonic clock, people read the wall clock.
 *
 * The kernel keeps the two clocks a fixed distance apart (NTP slews both
 * alike; only a step of the wall clock moves them apart), but no call
 * reads both at one instant.  Two reads in a row are some 25 ns apart,
 * yet an interrupt, a preemption or the hypervisor can come between them,
 * and an offset taken from one pair is then short by as long as that
 * lasted: milliseconds on a busy machine, every time derived from it as
 * much off, and no two processes agreeing on a crossing time.  So the wall
 * clock is read between two monotonic reads m1 <= m2, which puts the
 * offset within [r - m2, r - m1]; the intersection of such brackets is no
 * wider than the narrowest (a bracket stretched by a preemption merely
 * fails to narrow it), and its middle comes out the same to a few ns in
 * every process.  Reading goes on, within a bound, until the intersection
 * is narrow: a pause of the whole machine may stretch every bracket of a
 * few in a row.  A step of the wall clock between two brackets leaves
 * them disjoint: the offset is then the new one, measured again from the
 * bracket after the step.
 */
#define WALL_READS	32	/* brackets at least */
#define WALL_MAX_READS	1024	/* at most (some 80 us with the vDSO) */
#define WALL_NARROW	1000	/* ns: narrow enough to stop */

int64_t nf_wall_offset(void)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX, m1, r, m2;
	int i;

	for (i = 0; i < WALL_MAX_READS && (i < WALL_READS || hi - lo > WALL_NARROW); i++) {
		m1 = (int64_t)nf_clock_ns(CLOCK_MONOTONIC);
		r = (int64_t)nf_clock_ns(CLOCK_REALTIME);
		m2 = (int64_t)nf_clock_ns(CLOCK_MONOTONIC);
		if (r - m2 > hi || r - m1 < lo) {	/* stepped */
			lo = r - m2;
			hi = r - m1;
			continue;
		}
		if (r - m2 > lo)
			lo = r - m2;
		if (r - m1 < hi)
			hi = r - m1;
	}
	return lo + (hi - lo) / 2;
}

static bool owner_alive(struct nf_globals *g, int i)
{
	uint64_t start;

	return g->sub_pid[i] && !netfil_proc_start((int)g->sub_pid[i], &start) &&
	       start == g->sub_start[i];
}

static void exe_of(struct netfil_events *es, uint32_t tgid, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	if (tgid != es->exe_tgid) {
		snprintf(path, sizeof(path), "/proc/%u/exe", tgid);
		n = readlink(path, es->exe, sizeof(es->exe) - 1);
		es->exe[n > 0 ? n : 0] = '\0';
		es->exe_tgid = tgid;
	}
	snprintf(out, len, "%s", es->exe);
}

int nf_event_decode(const void *data, size_t size, int64_t wall_off,
		    struct netfil_event *ev)
{
	const struct nf_event *e = data;
	int i;

	memset(ev, 0, sizeof(*ev));
	if (size < sizeof(*e) || e->type < NF_EV_SOCKET || e->type >= NF_EV_MAX)
		return -EINVAL;
	ev->type = (enum netfil_event_type)e->type;
	ev->mono_ns = e->ts_ns;
	ev->wall_ns = (uint64_t)e->ts_ns + (uint64_t)wall_off;
	ev->sock_id = e->cookie;
	ev->pid = e->pid;
	ev->tgid = e->tgid;
	ev->uid = e->uid;
	ev->gid = e->gid;
	memcpy(ev->comm, e->comm, sizeof(ev->comm));
	ev->comm[sizeof(ev->comm) - 1] = '\0';
	ev->family = e->family;
	ev->proto = e->proto;
	memcpy(ev->laddr, e->laddr, 16);
	memcpy(ev->raddr, e->raddr, 16);
	ev->lport = e->lport;
	ev->rport = e->rport;
	switch (ev->type) {
	case NETFIL_EV_CONNECT:
		ev->connect.refused = e->connect.refused;
		ev->connect.filter = e->connect.filter;
		ev->connect.redirect = e->connect.redirect;
		ev->connect.to_port = e->connect.to_port;
		memcpy(ev->connect.to, e->connect.to, 16);
		break;
	case NETFIL_EV_CLOSE:
		for (i = 0; i < 2; i++) {
			ev->close.bytes[i] = e->close.bytes[i];
			ev->close.packets[i] = e->close.packets[i];
			ev->close.payload[i] = e->close.payload[i];
		}
		ev->close.created_ns = e->close.created_ns;
		ev->close.setup_ns = e->close.setup_ns;
		/* a created time after the event's own is not the kernel's */
		ev->close.duration_ns = e->ts_ns >= e->close.created_ns ?
					e->ts_ns - e->close.created_ns : 0;
		ev->close.n_filters = (int)(e->close.n_filters < 9 ? e->close.n_filters : 9);
		for (i = 0; i < ev->close.n_filters; i++)
			ev->close.filters[i] = e->close.filters[i];
		ev->close.redirect = e->close.redirect;
		ev->close.to_port = e->close.to_port;
		memcpy(ev->close.to, e->close.to, 16);
		break;
	case NETFIL_EV_EXCEEDED:
		ev->exceeded.filter = e->exceeded.filter;
		ev->exceeded.dir = e->exceeded.dir ? NETFIL_OUT : NETFIL_IN;
		ev->exceeded.limit = e->exceeded.limit_kind <= NETFIL_IOBYTE ?
				     (enum netfil_limit)e->exceeded.limit_kind : NETFIL_IOBYTE;
		ev->exceeded.limit_bytes = e->exceeded.limit;
		ev->exceeded.admitted = e->exceeded.admitted;
		break;
	case NETFIL_EV_FILTER:
		if (e->filter.op < NETFIL_OP_ADD || e->filter.op > NETFIL_OP_DEL)
			return -EINVAL;
		ev->filter.op = (enum netfil_filter_op)e->filter.op;
		ev->filter.id = e->filter.id;
		break;
	default:
		break;
	}
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct netfil_events *es = ctx;
	struct netfil_event ev;

	if (nf_event_decode(data, size, es->wall_off, &ev))
		return 0;	/* not of this version's kernel side: skipped */
	if (ev.tgid)
		exe_of(es, ev.tgid, ev.exe, sizeof(ev.exe));
	return es->fn(&ev, es->ctx);
}

/* Every event type's bit */
#define ALL_TYPES (((1u << NF_EV_MAX) - 1) & ~1u)

/* The union of what live subscribers want, for the kernel side's
 * subscribed(): under the lock. */
static void recompute_want(struct nf_globals *g)
{
	__u32 want = 0;
	int i;

	for (i = 0; i < NF_MAX_SUBS; i++)
		if ((g->subs_mask & (1u << i)) && owner_alive(g, i))
			want |= g->sub_types[i] ?: ALL_TYPES;
	__atomic_store_n(&g->want, want, __ATOMIC_SEQ_CST);
}

int netfil_events_open(struct netfil *nf, netfil_event_fn fn, void *ctx,
		       struct netfil_events **out)
{
	return nf_events_open(nf, ALL_TYPES, fn, ctx, out);
}

int netfil_events_open_types(struct netfil *nf, uint32_t types, netfil_event_fn fn,
			     void *ctx, struct netfil_events **out)
{
	types &= ALL_TYPES;
	return nf_events_open(nf, types ?: ALL_TYPES, fn, ctx, out);
}

int nf_events_open(struct netfil *nf, uint32_t types, netfil_event_fn fn, void *ctx,
		   struct netfil_events **out)
{
	struct netfil_events *es;
	uint64_t start = 0;
	__u32 i, slot = NF_MAX_SUBS;
	int err;

	es = calloc(1, sizeof(*es));
	if (!es)
		return -ENOMEM;
	es->nf = nf;
	es->fn = fn;
	es->ctx = ctx;
	es->rb_fd = -1;
	es->wall_off = nf_wall_offset();
	netfil_proc_start(getpid(), &start);
	es->rb_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nf_sub", 0, 0,
				   NF_SUB_RB_BYTES, NULL);
	if (es->rb_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = nf_lock(nf);
	if (err)
		goto fail;
	for (i = 0; i < NF_MAX_SUBS && slot == NF_MAX_SUBS; i++) {
		if ((nf->g->subs_mask & (1u << i)) && owner_alive(nf->g, (int)i))
			continue;
		/* free, or left by a subscriber that died: take it */
		__atomic_and_fetch(&nf->g->subs_mask, ~(1u << i), __ATOMIC_SEQ_CST);
		if (bpf_map_update_elem(nf->subs_fd, &i, &es->rb_fd, 0)) {
			err = -errno;
			break;
		}
		nf->g->sub_pid[i] = (__u32)getpid();
		nf->g->sub_start[i] = start;
		nf->g->sub_lost[i] = 0;
		nf->g->sub_types[i] = types;
		__atomic_or_fetch(&nf->g->subs_mask, 1u << i, __ATOMIC_SEQ_CST);
		slot = i;
	}
	recompute_want(nf->g);
	nf_unlock(nf);
	if (slot == NF_MAX_SUBS) {
		err = err ?: -EBUSY;
		goto fail;
	}
	es->slot = (int)slot;
	es->rb = ring_buffer__new(es->rb_fd, on_sample, es, NULL);
	if (!es->rb) {
		err = -errno;
		netfil_events_close(es);
		return err;
	}
	*out = es;
	return 0;
fail:
	if (es->rb_fd >= 0)
		close(es->rb_fd);
	free(es);
	return err;
}

int netfil_events_fd(const struct netfil_events *es)
{
	return ring_buffer__epoll_fd(es->rb);
}

int netfil_events_poll(struct netfil_events *es, int timeout_ms)
{
	uint64_t lost;
	int n;

	n = ring_buffer__poll(es->rb, timeout_ms);
	if (n < 0)
		return n;
	/* Loss is counted by the kernel side per slot; it is reported in
	 * the stream where it happened, after the events that did fit. */
	lost = __atomic_load_n(&es->nf->g->sub_lost[es->slot], __ATOMIC_RELAXED);
	if (lost > es->lost_seen) {
		struct netfil_event ev = { .type = NETFIL_EV_LOST };
		int err;

		ev.mono_ns = nf_clock_ns(CLOCK_MONOTONIC);
		ev.wall_ns = ev.mono_ns + (uint64_t)es->wall_off;	/* as the others' */
		ev.lost.count = lost - es->lost_seen;
		es->lost_seen = lost;
		err = es->fn(&ev, es->ctx);
		if (err)
			return err;
		n++;
	}
	return n;
}

void netfil_events_close(struct netfil_events *es)
{
	__u32 slot;

	if (!es)
		return;
	slot = (__u32)es->slot;
	if (!nf_lock(es->nf)) {
		if (es->nf->g->sub_pid[slot] == (__u32)getpid()) {
			__atomic_and_fetch(&es->nf->g->subs_mask, ~(1u << slot),
					   __ATOMIC_SEQ_CST);
			bpf_map_delete_elem(es->nf->subs_fd, &slot);
			es->nf->g->sub_pid[slot] = 0;
			recompute_want(es->nf->g);
		}
		nf_unlock(es->nf);
	}
	ring_buffer__free(es->rb);
	close(es->rb_fd);
	free(es);
}

/* Filter changes reach subscribers through the kernel side, in order with
 * its events: run nf_emit with the event as its context.  Nothing to do,
 * and no syscall, when nobody listens. */
void nf_emit_filter(struct netfil *nf, enum netfil_filter_op op, uint32_t id)
{
	struct nf_event ev = { .type = NF_EV_FILTER };
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &ev, .ctx_size_in = sizeof(ev));
	char path[PATH_MAX];

	if (!__atomic_load_n(&nf->g->subs_mask, __ATOMIC_RELAXED))
		return;
	if (nf->emit_fd < 0 && !nf_pin_path(nf, path, "prog", "nf_emit"))
		nf->emit_fd = bpf_obj_get(path);
	if (nf->emit_fd < 0)
		return;
	ev.filter.op = op;
	ev.filter.id = id;
	bpf_prog_test_run_opts(nf->emit_fd, &t);
}
