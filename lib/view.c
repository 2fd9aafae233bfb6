// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live view: one model of what netfil is doing, computed here once for
 * every front end (netfil top, netfild's page and /view).
 *
 * Sources, and why each:
 *   - filters: netfil_filter_list() at each sample, rates from the change
 *     since the previous sample, a short history for graphs;
 *   - sockets: nf_dump_tcp/nf_dump_udp (bpf/iter.bpf.c) walk every
 *     governed socket with the counters the kernel keeps for its close
 *     event, so live rates cost nothing on the packet path;
 *   - nf_proc_bytes: while a view subscribes (NF_WANT_PROCS), the kernel
 *     side adds each socket's final counts to its process's there, once,
 *     at close: a socket that opened and closed between two samples, of
 *     a process that is gone, still counts, and no close event has to
 *     cross to user space (at 20,000 connections a second, that would
 *     cost a core);
 *   - filter and exceeded events, the only ones asked for: the caller
 *     samples at once.
 * A process's totals are its closed sockets' counts plus its live
 * sockets', and are kept after it exits until netfil_view_clear().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <bpf/bpf.h>
#include "internal.h"

#define DEF_HISTORY	300
#define DEF_MAX_PROCS	1024
#define RATE_MIN_NS	500000000ULL	/* a shorter gap gives noise, not a rate */
#define TICKS_NS	(1000000000ULL / NF_USER_HZ)

/* ---- sockets ------------------------------------------------------------ */

struct sock_walk {
	int link_fd[2];
	struct netfil_socket *out;
	int n, cap;
};

static int read_rows(struct sock_walk *w, int link_fd)
{
	struct nf_sock_row row;
	int fd, err = 0;
	ssize_t r;

	fd = bpf_iter_create(link_fd);
	if (fd < 0)
		return -errno;
	while ((r = read(fd, &row, sizeof(row))) == (ssize_t)sizeof(row)) {
		struct netfil_socket *s;

		if (w->n == w->cap) {
			int cap = w->cap ? 2 * w->cap : 256;
			void *p = realloc(w->out, (size_t)cap * sizeof(*w->out));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			w->out = p;
			w->cap = cap;
		}
		s = &w->out[w->n++];
		memset(s, 0, sizeof(*s));
		s->sock_id = row.cookie;
		s->netns = row.netns;
		s->pid = row.pid;
		s->tgid = row.tgid;
		s->uid = row.uid;
		s->start_ns = row.start_ns;
		memcpy(s->comm, row.comm, sizeof(s->comm));
		s->comm[sizeof(s->comm) - 1] = '\0';
		s->family = row.family;
		s->proto = row.proto;
		memcpy(s->laddr, row.laddr, 16);
		memcpy(s->raddr, row.raddr, 16);
		s->lport = row.lport;
		s->rport = row.rport;
		s->state = row.state;
		s->redirect = row.rd_filter;
		memcpy(s->bytes, row.bytes, sizeof(s->bytes));
		memcpy(s->packets, row.packets, sizeof(s->packets));
		s->created_ns = row.created_ns;
	}
	if (r < 0 && !err)
		err = -errno;
	close(fd);
	return err;
}

/* In one namespace: iter/tcp and iter/udp walk the creator's. */
static int walk_netns(struct netfil *nf, void *arg)
{
	struct sock_walk *w = arg;
	int i, err = 0;

	(void)nf;
	for (i = 0; i < 2 && !err; i++)
		err = read_rows(w, w->link_fd[i]);
	return err;
}

int netfil_socket_list(struct netfil *nf, struct netfil_socket **out)
{
	static const char *const progs[2] = { "nf_dump_tcp", "nf_dump_udp" };
	struct sock_walk w = { .link_fd = { -1, -1 } };
	int prog_fd[2] = { -1, -1 };
	char path[PATH_MAX];
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++) {
		err = nf_pin_path(nf, path, "prog", progs[i]);
		if (!err && (prog_fd[i] = bpf_obj_get(path)) < 0)
			err = -errno;	/* -ENOENT: loaded by a netfil without them */
		if (!err && (w.link_fd[i] = bpf_link_create(prog_fd[i], 0, BPF_TRACE_ITER,
							     NULL)) < 0)
			err = -errno;
	}
	if (!err)
		err = nf_for_each_netns(nf, walk_netns, &w);
	for (i = 0; i < 2; i++) {
		if (w.link_fd[i] >= 0)
			close(w.link_fd[i]);
		if (prog_fd[i] >= 0)
			close(prog_fd[i]);
	}
	if (err) {
		free(w.out);
		return err;
	}
	*out = w.out;
	return w.n;
}

/* ---- an index from a 64-bit key to an array position --------------------- */

struct idx {
	uint64_t *key;
	int *pos;		/* -1: empty */
	unsigned int cap;	/* a power of two, at least twice the entries */
};

static unsigned int idx_slot(const struct idx *x, uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (unsigned int)k & (x->cap - 1);
}

static int idx_find(const struct idx *x, uint64_t k)
{
	unsigned int i;

	if (!x->cap)
		return -1;
	for (i = idx_slot(x, k); x->pos[i] >= 0; i = (i + 1) & (x->cap - 1))
		if (x->key[i] == k)
			return x->pos[i];
	return -1;
}

static void idx_put(struct idx *x, uint64_t k, int pos)
{
	unsigned int i;

	for (i = idx_slot(x, k); x->pos[i] >= 0; i = (i + 1) & (x->cap - 1))
		;
	x->key[i] = k;
	x->pos[i] = pos;
}

/* Make room for n entries and forget every one (callers put them back). */
static int idx_reset(struct idx *x, unsigned int n)
{
	unsigned int cap = 64;

	while (cap < 2 * n + 2)
		cap *= 2;
	if (cap != x->cap) {
		uint64_t *k = realloc(x->key, cap * sizeof(*k));
		int *p;

		if (!k)
			return -ENOMEM;
		x->key = k;
		p = realloc(x->pos, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		x->pos = p;
		x->cap = cap;
	}
	memset(x->pos, 0xff, cap * sizeof(*x->pos));
	return 0;
}

/* ---- the model ------------------------------------------------------------ */

/* A filter's own state, beside its netfil_view_filter (same index). */
struct vfilter {
	uint32_t id;
	uint64_t base[2];		/* bytes at the last rate sample */
	struct netfil_period period;	/* what next_reset was computed for */
	/* the history, twice over: [head, head + n) is always contiguous */
	float *ring[2];
	unsigned int head, n;
};

struct vproc {
	struct netfil_view_proc pub;
	uint64_t start;		/* clock ticks since boot, against pid reuse */
	uint64_t closed[2];	/* closed sockets' counts (nf_proc_bytes) */
	uint64_t base[2];
	uint64_t exited_at;	/* update number */
};

struct vconn {
	struct netfil_view_conn pub;
	uint64_t base[2];
	uint64_t seen;		/* the last update whose walk had it */
};

struct netfil_view {
	struct netfil_opts opts;
	struct netfil_view_opts vo;
	char pin_dir[PATH_MAX], cgroup[PATH_MAX];
	struct netfil *nf;
	struct netfil_events *ev;
	int procs_fd;		/* nf_proc_bytes; -1: not open */
	bool sockets, changed;
	uint64_t updates;
	uint64_t rate_ns;	/* CLOCK_MONOTONIC of the last rate sample */
	bool rate_step;		/* this update takes a rate sample */
	struct netfil_view_data data;
	/* filters by id: the ones shown, and spares the next sample fills
	 * (kept, not freed: thousands of filters are megabytes a second) */
	struct vfilter *f, *f2;
	struct netfil_view_filter *fpub, *fpub2;
	struct netfil_filter *list;
	int nfil, f_cap, f2_cap, fpub_cap, fpub2_cap, list_cap;
	struct vproc *p;
	int np, p_cap;
	struct idx pidx;
	struct netfil_view_proc *ppub;
	struct vconn *c;
	int nc, c_cap;
	struct idx cidx;
	struct netfil_view_conn *cpub;
};

/* The indexes again after the arrays moved, with room for extra more. */
static int reindex_procs(struct netfil_view *v, unsigned int extra)
{
	int i, err = idx_reset(&v->pidx, (unsigned int)v->np + extra);

	for (i = 0; !err && i < v->np; i++)
		idx_put(&v->pidx, v->p[i].pub.tgid, i);
	return err;
}

static int reindex_conns(struct netfil_view *v, unsigned int extra)
{
	int i, err = idx_reset(&v->cidx, (unsigned int)v->nc + extra);

	for (i = 0; !err && i < v->nc; i++)
		idx_put(&v->cidx, v->c[i].pub.s.sock_id, i);
	return err;
}

static int grow(void **arr, int *cap, int want, size_t size)
{
	int c = *cap ? *cap : 16;
	void *p;

	if (want <= *cap)
		return 0;
	while (c < want)
		c *= 2;
	p = realloc(*arr, (size_t)c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static void rate_of(const uint64_t cur[2], uint64_t base[2], double rate[2], bool step,
		    double dt)
{
	int d;

	if (!step)
		return;
	for (d = 0; d < 2; d++) {
		/* a reset counter gives no negative rate */
		rate[d] = cur[d] >= base[d] && dt > 0 ? (double)(cur[d] - base[d]) / dt : 0;
		base[d] = cur[d];
	}
}

/* A process by tgid, made on first sight. */
static struct vproc *proc_get(struct netfil_view *v, uint32_t tgid, uint32_t uid,
			      const char *comm, uint64_t start_ns)
{
	struct vproc *p;
	char path[64];
	ssize_t n;
	int i = idx_find(&v->pidx, tgid);

	if (i >= 0)
		return &v->p[i];
	if (grow((void **)&v->p, &v->p_cap, v->np + 1, sizeof(*v->p)))
		return NULL;
	if (v->pidx.cap < 2 * (unsigned int)(v->np + 1) + 2 && reindex_procs(v, 64))
		return NULL;	/* (rebuilt larger) */
	p = &v->p[v->np];
	memset(p, 0, sizeof(*p));
	p->pub.tgid = tgid;
	p->pub.uid = uid;
	netfil_user_name(uid, p->pub.user, sizeof(p->pub.user));
	snprintf(p->pub.comm, sizeof(p->pub.comm), "%s", comm);
	snprintf(path, sizeof(path), "/proc/%u/exe", tgid);
	n = readlink(path, p->pub.exe, sizeof(p->pub.exe) - 1);
	p->pub.exe[n > 0 ? n : 0] = '\0';
	if (start_ns)
		p->start = start_ns / TICKS_NS;
	else if (netfil_proc_start((int)tgid, &p->start))
		p->exited_at = v->updates + 1;	/* gone already: a short life */
	p->pub.exited = p->exited_at != 0;
	idx_put(&v->pidx, tgid, v->np);
	return &v->p[v->np++];
}

static int on_event(const struct netfil_event *ev, void *ctx)
{
	struct netfil_view *v = ctx;
	switch (ev->type) {
	case NETFIL_EV_FILTER:
	case NETFIL_EV_EXCEEDED:
		v->changed = true;
		break;
	case NETFIL_EV_LOST:
		v->data.lost += ev->lost.count;
		break;
	default:
		break;
	}
	return 0;
}

static void unsubscribe(struct netfil_view *v)
{
	netfil_events_close(v->ev);
	v->ev = NULL;
	v->data.events = false;
}

static void drop_netfil(struct netfil_view *v)
{
	unsubscribe(v);
	if (v->procs_fd >= 0)
		close(v->procs_fd);
	v->procs_fd = -1;
	netfil_close(v->nf);
	v->nf = NULL;
}

int netfil_view_open(const struct netfil_opts *opts, const struct netfil_view_opts *vo,
		     struct netfil_view **out)
{
	struct netfil_view *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (opts)
		v->opts = *opts;
	/* the caller's strings may not outlive this call */
	if (v->opts.pin_dir) {
		snprintf(v->pin_dir, sizeof(v->pin_dir), "%s", v->opts.pin_dir);
		v->opts.pin_dir = v->pin_dir;
	}
	if (v->opts.cgroup) {
		snprintf(v->cgroup, sizeof(v->cgroup), "%s", v->opts.cgroup);
		v->opts.cgroup = v->cgroup;
	}
	if (vo)
		v->vo = *vo;
	if (!v->vo.history)
		v->vo.history = DEF_HISTORY;
	if (!v->vo.max_procs)
		v->vo.max_procs = DEF_MAX_PROCS;
	v->sockets = !v->vo.no_sockets;
	v->data.state = NETFIL_VIEW_DOWN;
	v->procs_fd = -1;
	*out = v;
	return 0;
}

struct netfil *netfil_view_netfil(struct netfil_view *v)
{
	return v->nf;
}

int netfil_view_fd(const struct netfil_view *v)
{
	return v->ev ? netfil_events_fd(v->ev) : -1;
}

int netfil_view_events(struct netfil_view *v)
{
	int n;

	if (!v->ev)
		return 0;
	n = netfil_events_poll(v->ev, 0);
	if (n < 0)
		return n;
	n = v->changed;
	v->changed = false;
	return n;
}

static void forget_sockets(struct netfil_view *v)
{
	v->np = v->nc = 0;
	v->data.n_procs = v->data.n_conns = 0;
	idx_reset(&v->pidx, 0);
	idx_reset(&v->cidx, 0);
}

int netfil_view_set_sockets(struct netfil_view *v, bool on)
{
	if (on == v->sockets)
		return 0;
	v->sockets = on;
	if (!on) {	/* totals with gaps would mislead: start afresh later */
		unsubscribe(v);
		forget_sockets(v);
	}
	return 0;
}

void netfil_view_clear(struct netfil_view *v)
{
	int i, k = 0;

	for (i = 0; i < v->np; i++) {
		struct nf_proc_key key = { .tgid = v->p[i].pub.tgid, .start = v->p[i].start };

		if (!v->p[i].pub.exited)
			v->p[k++] = v->p[i];
		else if (v->procs_fd >= 0)	/* or the next read brings it back */
			bpf_map_delete_elem(v->procs_fd, &key);
	}
	v->np = k;
	reindex_procs(v, 0);
}

static void clear_map(int fd)
{
	struct nf_proc_key k;
	int i;

	for (i = 0; i < NF_PROC_BYTES_MAX && !bpf_map_get_next_key(fd, NULL, &k); i++)
		bpf_map_delete_elem(fd, &k);
}

/* Open netfil when it is there, drop it when it went away. */
static int connect_netfil(struct netfil_view *v)
{
	int err;

	if (!v->nf) {
		err = netfil_open(&v->opts, &v->nf);
		if (err) {
			v->nf = NULL;
			return err;
		}
	}
	err = netfil_status(v->nf, &v->data.status);
	if (!err && !v->data.status.loaded)
		err = -ENOENT;
	if (err) {
		drop_netfil(v);
		return err;
	}
	if (v->sockets && !v->ev) {
		char path[PATH_MAX];

		if (v->procs_fd < 0 && !nf_pin_path(v->nf, path, NULL, "nf_proc_bytes"))
			v->procs_fd = bpf_obj_get(path);
		/* the first view: totals from before are not this one's */
		if (v->procs_fd >= 0 && !(v->nf->g->want & NF_WANT_PROCS))
			clear_map(v->procs_fd);
		/* all slots taken: sockets are still walked, but the totals
		 * of sockets closed between samples are missed */
		if (nf_events_open(v->nf, NETFIL_EVENT_BIT(NETFIL_EV_FILTER) |
				   NETFIL_EVENT_BIT(NETFIL_EV_EXCEEDED) | NF_WANT_PROCS,
				   on_event, v, &v->ev))
			v->ev = NULL;
		v->data.events = v->ev != NULL;
	}
	return 0;
}

static int vfilter_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct vfilter *)a)->id;
	uint32_t y = ((const struct vfilter *)b)->id;

	return x < y ? -1 : x > y;
}

static void hist_push(struct vfilter *f, const double rate[2], unsigned int h)
{
	int d;

	for (d = 0; d < 2; d++) {
		unsigned int at = (f->head + f->n) % h;

		if (!f->ring[d])
			return;
		/* both copies, so that any h consecutive slots are in order */
		f->ring[d][at] = f->ring[d][at + h] = (float)rate[d];
	}
	if (f->n < h)
		f->n++;
	else
		f->head = (f->head + 1) % h;
}

static bool same_period(const struct netfil_period *a, const struct netfil_period *b)
{
	return a->every == b->every && a->minute == b->minute && a->hour == b->hour &&
	       a->wday == b->wday && a->mday == b->mday;
}

static void free_rings(struct vfilter *f, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(f[i].ring[0]);
		free(f[i].ring[1]);
		f[i].ring[0] = f[i].ring[1] = NULL;
	}
}

static int update_filters(struct netfil_view *v, double dt)
{
	unsigned int h = v->vo.history;
	int64_t now = (int64_t)time(NULL);
	int n, i, d, on = 1;
	void *swap;

	n = netfil_filter_list(v->nf, NULL, 0);
	if (n < 0)
		return n;
	if (grow((void **)&v->list, &v->list_cap, n + 1, sizeof(*v->list)) ||
	    grow((void **)&v->f2, &v->f2_cap, n + 1, sizeof(*v->f2)) ||
	    grow((void **)&v->fpub2, &v->fpub2_cap, n + 1, sizeof(*v->fpub2)))
		return -ENOMEM;
	n = netfil_filter_list(v->nf, v->list, n);
	if (n < 0)
		return n;
	/* carry each filter's history, rate and next reset over by id */
	for (i = 0; i < n; i++) {
		const struct netfil_filter *lf = &v->list[i];
		struct vfilter key = { .id = lf->id }, *f = &v->f2[i];
		struct vfilter *old = v->nfil ? bsearch(&key, v->f, (size_t)v->nfil,
							sizeof(*v->f), vfilter_cmp) : NULL;
		struct netfil_view_filter *p = &v->fpub2[i];

		if (old) {
			const struct netfil_view_filter *op = &v->fpub[old - v->f];

			*f = *old;
			old->ring[0] = old->ring[1] = NULL;
			memcpy(p->rate, op->rate, sizeof(p->rate));
			p->next_reset = op->next_reset;
		} else {
			memset(f, 0, sizeof(*f));
			f->id = lf->id;
			memcpy(f->base, lf->bytes, sizeof(f->base));
			for (d = 0; d < 2; d++)
				f->ring[d] = calloc(2 * (size_t)h, sizeof(float));
			p->rate[0] = p->rate[1] = 0;
			p->next_reset = 0;
		}
		p->f = *lf;
		rate_of(lf->bytes, f->base, p->rate, v->rate_step && old, dt);
		if (v->rate_step)
			hist_push(f, p->rate, h);
		if (!old || !same_period(&f->period, &lf->period) || now >= p->next_reset) {
			f->period = lf->period;
			p->next_reset = netfil_period_next(&lf->period, now);
		}
		netfil_format_match(&lf->match, p->match, sizeof(p->match));
		netfil_format_period(&lf->period, p->period, sizeof(p->period));
		p->n_hist = f->ring[0] && f->ring[1] ? f->n : 0;
		for (d = 0; d < 2; d++)
			p->hist[d] = f->ring[d] ? f->ring[d] + f->head : NULL;
		on &= lf->on;
	}
	free_rings(v->f, v->nfil);	/* the filters gone */
	swap = v->f, v->f = v->f2, v->f2 = swap;
	swap = v->fpub, v->fpub = v->fpub2, v->fpub2 = swap;
	d = v->f_cap, v->f_cap = v->f2_cap, v->f2_cap = d;
	d = v->fpub_cap, v->fpub_cap = v->fpub2_cap, v->fpub2_cap = d;
	v->nfil = n;
	v->data.n_filters = n;
	v->data.filters = v->fpub;
	v->data.state = on ? NETFIL_VIEW_ON : NETFIL_VIEW_OFF;
	return 0;
}

static struct vconn *conn_get(struct netfil_view *v, const struct netfil_socket *s)
{
	struct vconn *c;
	int i = idx_find(&v->cidx, s->sock_id);

	if (i >= 0)
		return &v->c[i];
	if (grow((void **)&v->c, &v->c_cap, v->nc + 1, sizeof(*v->c)))
		return NULL;
	if (v->cidx.cap < 2 * (unsigned int)(v->nc + 1) + 2 && reindex_conns(v, 256))
		return NULL;
	c = &v->c[v->nc];
	memset(c, 0, sizeof(*c));
	c->pub.s = *s;
	memcpy(c->base, s->bytes, sizeof(c->base));	/* a rate from the next sample */
	idx_put(&v->cidx, s->sock_id, v->nc);
	return &v->c[v->nc++];
}

static int proc_cmp(const void *a, const void *b, void *arg)
{
	const struct netfil_view_proc *x = a, *y = b;
	enum netfil_view_sort sort_key = *(const enum netfil_view_sort *)arg;
	double rx, ry;
	uint64_t tx, ty;
	int r = 0;

	switch (sort_key) {
	case NETFIL_SORT_RATE:
		rx = x->rate[0] + x->rate[1];
		ry = y->rate[0] + y->rate[1];
		r = rx > ry ? -1 : rx < ry;
		if (r)
			break;
		/* idle ones by total */
		__attribute__((fallthrough));
	case NETFIL_SORT_TOTAL:
		tx = x->bytes[0] + x->bytes[1];
		ty = y->bytes[0] + y->bytes[1];
		r = tx > ty ? -1 : tx < ty;
		break;
	case NETFIL_SORT_NAME:
		r = strcmp(x->comm, y->comm);
		break;
	default:
		break;
	}
	/* ties by pid: the order never flickers */
	return r ? r : x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

static int conn_cmp(const void *a, const void *b)
{
	const struct netfil_view_conn *x = a, *y = b;

	if (x->s.tgid != y->s.tgid)
		return x->s.tgid < y->s.tgid ? -1 : 1;
	return x->s.sock_id < y->s.sock_id ? -1 : x->s.sock_id > y->s.sock_id;
}

static int publish_procs(struct netfil_view *v)
{
	int i;

	free(v->ppub);
	free(v->cpub);
	v->ppub = calloc((size_t)v->np + 1, sizeof(*v->ppub));
	v->cpub = calloc((size_t)v->nc + 1, sizeof(*v->cpub));
	v->data.n_procs = v->data.n_conns = 0;
	v->data.procs = v->ppub;
	v->data.conns = v->cpub;
	if (!v->ppub || !v->cpub)
		return -ENOMEM;
	for (i = 0; i < v->np; i++)
		v->ppub[i] = v->p[i].pub;
	for (i = 0; i < v->nc; i++)
		v->cpub[i] = v->c[i].pub;
	qsort_r(v->ppub, (size_t)v->np, sizeof(*v->ppub), proc_cmp, &v->data.sort);
	qsort(v->cpub, (size_t)v->nc, sizeof(*v->cpub), conn_cmp);
	v->data.n_procs = v->np;
	v->data.n_conns = v->nc;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Keep at most max_procs: the ones that exited first go first. */
static void trim_procs(struct netfil_view *v)
{
	int i, k, n = 0, excess = v->np - (int)v->vo.max_procs;
	uint64_t *at, upto;

	if (excess <= 0 || !(at = calloc((size_t)v->np, sizeof(*at))))
		return;
	for (i = 0; i < v->np; i++)
		if (v->p[i].pub.exited)
			at[n++] = v->p[i].exited_at;
	if (n) {
		qsort(at, (size_t)n, sizeof(*at), u64_cmp);
		upto = at[(excess < n ? excess : n) - 1];
		for (i = 0, k = 0; i < v->np; i++)
			if (excess > 0 && v->p[i].pub.exited && v->p[i].exited_at <= upto)
				excess--;
			else
				v->p[k++] = v->p[i];
		v->np = k;
		reindex_procs(v, 0);
	}
	free(at);
}

/* The kernel's per-process totals of closed sockets into the processes:
 * read before the walk, so that a socket closing in between is counted
 * in neither for one sample (then in the next), never in both. */
static int read_proc_bytes(struct netfil_view *v)
{
	static const uint32_t batch = 1024;
	struct nf_proc_key *keys = calloc(batch, sizeof(*keys));
	struct nf_proc_bytes *vals = calloc(batch, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	struct nf_proc_key next;
	void *in = NULL;
	int err = 0, i, d;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		uint32_t n = batch;

		err = bpf_map_lookup_batch(v->procs_fd, in, &next, keys, vals, &n, &o);
		if (err)
			err = -errno;
		for (i = 0; i < (int)n; i++) {
			struct vproc *p = proc_get(v, keys[i].tgid, vals[i].uid, vals[i].comm,
						   keys[i].start * TICKS_NS);

			if (!p || p->start != keys[i].start)
				continue;	/* the tgid is another process's now */
			for (d = 0; d < 2; d++)
				if (vals[i].bytes[d] > p->closed[d])
					p->closed[d] = vals[i].bytes[d];
		}
		if (err)
			break;
		in = &next;
	}
	if (err == -ENOENT)	/* the end */
		err = 0;
out:
	free(keys);
	free(vals);
	return err;
}

static int update_sockets(struct netfil_view *v, double dt)
{
	struct netfil_socket *s = NULL;
	uint64_t *live;
	int n, i, k, d, err;

	if (v->procs_fd >= 0 && v->ev) {
		err = read_proc_bytes(v);
		if (err)
			return err;
	}
	n = netfil_socket_list(v->nf, &s);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		struct vconn *c = conn_get(v, &s[i]);

		if (!c || !proc_get(v, s[i].tgid, s[i].uid, s[i].comm, s[i].start_ns))
			continue;
		c->pub.s = s[i];
		c->pub.closed = false;
		c->seen = v->updates;
		netfil_format_addr_port(s[i].family, s[i].laddr, s[i].lport, c->pub.local,
					sizeof(c->pub.local));
		netfil_format_addr_port(s[i].family, s[i].raddr, s[i].rport, c->pub.remote,
					sizeof(c->pub.remote));
		snprintf(c->pub.state, sizeof(c->pub.state), "%s",
			 netfil_sock_state_name(s[i].proto, s[i].state));
		rate_of(s[i].bytes, c->base, c->pub.rate, v->rate_step, dt);
	}
	free(s);
	live = calloc((size_t)v->np + 1, 2 * sizeof(*live));
	if (!live)
		return -ENOMEM;
	for (i = 0; i < v->np; i++)
		v->p[i].pub.conns = 0;
	/* a socket the walk no longer finds closed: shown once so, then gone */
	for (i = 0, k = 0; i < v->nc; i++) {
		struct vconn *c = &v->c[i];
		int pi = idx_find(&v->pidx, c->pub.s.tgid);

		if (c->seen + 1 < v->updates)
			continue;
		if (c->seen < v->updates) {
			c->pub.closed = true;
			snprintf(c->pub.state, sizeof(c->pub.state), "closed");
			c->pub.rate[0] = c->pub.rate[1] = 0;
		} else if (pi >= 0) {
			for (d = 0; d < 2; d++)
				live[2 * pi + d] += c->pub.s.bytes[d];
			if (!(c->pub.s.proto == IPPROTO_TCP && c->pub.s.state == TCP_LISTEN))
				v->p[pi].pub.conns++;	/* a listener is no connection */
		}
		v->c[k++] = *c;
	}
	v->nc = k;
	reindex_conns(v, 0);
	for (i = 0; i < v->np; i++) {
		struct vproc *p = &v->p[i];
		uint64_t start;

		/* never backwards: a socket between its close and the next
		 * read of nf_proc_bytes is briefly in neither */
		for (d = 0; d < 2; d++)
			if (p->closed[d] + live[2 * i + d] > p->pub.bytes[d])
				p->pub.bytes[d] = p->closed[d] + live[2 * i + d];
		rate_of(p->pub.bytes, p->base, p->pub.rate, v->rate_step, dt);
		if (!p->exited_at && !p->pub.conns && !live[2 * i] && !live[2 * i + 1] &&
		    (netfil_proc_start((int)p->pub.tgid, &start) || start != p->start))
			p->exited_at = v->updates;
		p->pub.exited = p->exited_at != 0;
		if (p->pub.exited)
			p->pub.rate[0] = p->pub.rate[1] = 0;
	}
	free(live);
	trim_procs(v);
	return publish_procs(v);
}

int netfil_view_update(struct netfil_view *v)
{
	struct timespec ts;
	uint64_t now = nf_clock_ns(CLOCK_MONOTONIC);
	double dt;
	int err;

	v->updates++;
	clock_gettime(CLOCK_REALTIME, &ts);
	v->data.wall_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	v->rate_step = !v->rate_ns || now - v->rate_ns >= RATE_MIN_NS;
	dt = v->rate_ns ? (double)(now - v->rate_ns) / 1e9 : 0;
	if (v->rate_step)
		v->rate_ns = now;
	err = connect_netfil(v);
	if (err) {
		v->data.state = err == -ENOENT ? NETFIL_VIEW_DOWN : NETFIL_VIEW_ERROR;
		v->data.err = err;
		snprintf(v->data.error, sizeof(v->data.error), "%s", strerror(-err));
		v->data.n_filters = 0;
		forget_sockets(v);
		return 0;
	}
	v->data.err = 0;
	v->data.error[0] = v->data.source[0] = '\0';
	err = update_filters(v, dt);
	if (!err && v->sockets)
		err = update_sockets(v, dt);
	if (err && err != -ENOENT) {
		v->data.state = NETFIL_VIEW_ERROR;
		v->data.err = err;
		snprintf(v->data.error, sizeof(v->data.error), "%s", strerror(-err));
	}
	return 0;
}

void netfil_view_sort(struct netfil_view *v, enum netfil_view_sort s)
{
	v->data.sort = s;
	if (v->ppub)
		qsort_r(v->ppub, (size_t)v->data.n_procs, sizeof(*v->ppub), proc_cmp,
			&v->data.sort);
}

const struct netfil_view_data *netfil_view_data(const struct netfil_view *v)
{
	return &v->data;
}

void netfil_view_close(struct netfil_view *v)
{
	if (!v)
		return;
	drop_netfil(v);
	free_rings(v->f, v->nfil);
	free(v->f);
	free(v->f2);
	free(v->fpub);
	free(v->fpub2);
	free(v->list);
	free(v->p);
	free(v->ppub);
	free(v->c);
	free(v->cpub);
	free(v->pidx.key);
	free(v->pidx.pos);
	free(v->cidx.key);
	free(v->cidx.pos);
	free(v);
}

/* ---- JSON ------------------------------------------------------------------ */

/* A name from the system (a command, a path) as a JSON string: they may
 * hold any bytes, JSON only UTF-8, so a name that is not UTF-8 shows '?'
 * for each byte past ASCII rather than going missing. */
static json_t *text_json(const char *s)
{
	json_t *j = json_string(s);
	char buf[512];
	size_t i;

	if (j)
		return j;
	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	buf[i] = '\0';
	return json_string(buf);
}

static json_t *rates_json(const double r[2])
{
	return json_pack("{s:f,s:f}", netfil_dir_name(NETFIL_IN), r[0],
			 netfil_dir_name(NETFIL_OUT), r[1]);
}

static json_t *bytes_json(const uint64_t b[2])
{
	return nf_json_in_out(b[0], b[1]);
}

static json_t *filter_json(const struct netfil_view_filter *vf, unsigned int flags)
{
	const struct netfil_filter *f = &vf->f;
	json_t *o = netfil_filter_json(f), *usage = json_array();
	int l, d;

	for (l = NETFIL_IBYTE; l <= NETFIL_IOBYTE; l++) {
		uint64_t a = l == NETFIL_IBYTE ? f->bytes[0] : l == NETFIL_OBYTE ? f->bytes[1] :
			     f->bytes[0] + f->bytes[1];

		if (!f->limit[l])
			continue;
		json_array_append_new(usage, json_pack("{s:s,s:I,s:I,s:f}", "limit",
			netfil_limit_name((enum netfil_limit)l), "admitted", (json_int_t)a,
			"bytes", (json_int_t)f->limit[l], "fraction",
			(double)a / (double)f->limit[l]));
	}
	json_object_set_new(o, "match_text", text_json(vf->match));
	json_object_set_new(o, "period_text", json_string(vf->period));
	json_object_set_new(o, "rate", rates_json(vf->rate));
	json_object_set_new(o, "usage", usage);
	json_object_set_new(o, "next_reset",
			    nf_json_wall((uint64_t)vf->next_reset * 1000000000ULL));
	if (flags & NETFIL_VIEW_HISTORY) {
		json_t *h = json_object();

		for (d = 0; d < 2; d++) {
			json_t *a = json_array();
			unsigned int i;

			for (i = 0; i < vf->n_hist; i++)
				json_array_append_new(a, json_real(vf->hist[d][i]));
			json_object_set_new(h, netfil_dir_name((enum netfil_dir)d), a);
		}
		json_object_set_new(o, "history", h);
	}
	return o;
}

static json_t *proc_json(const struct netfil_view_proc *p)
{
	return json_pack("{s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:I,s:b}", "pid", (json_int_t)p->tgid,
			 "comm", text_json(p->comm), "exe", text_json(p->exe), "uid",
			 (json_int_t)p->uid, "user", text_json(p->user),
			 "bytes", bytes_json(p->bytes), "rate", rates_json(p->rate),
			 "connections", (json_int_t)p->conns, "exited", p->exited);
}

static json_t *conn_json(const struct netfil_view_conn *c)
{
	const struct netfil_socket *s = &c->s;

	return json_pack("{s:I,s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
			 "id", (json_int_t)s->sock_id, "pid", (json_int_t)s->tgid,
			 "family", netfil_family_name(s->family),
			 "proto", netfil_proto_name(s->proto), "local", text_json(c->local),
			 "remote", text_json(c->remote), "state", text_json(c->state),
			 "bytes", bytes_json(s->bytes), "rate", rates_json(c->rate),
			 "redirect", s->redirect ? json_integer(s->redirect) : json_null(),
			 "closed", c->closed);
}

json_t *netfil_view_json(const struct netfil_view *v, unsigned int flags)
{
	const struct netfil_view_data *d = &v->data;
	bool up = d->state == NETFIL_VIEW_ON || d->state == NETFIL_VIEW_OFF;
	json_t *o = json_object(), *a;
	int i;

	if (!o)
		return NULL;
	json_object_set_new(o, "state", json_string(netfil_view_state_name(d->state)));
	json_object_set_new(o, "error", d->state == NETFIL_VIEW_ERROR ?
			    text_json(d->error) : json_null());
	json_object_set_new(o, "time", nf_json_wall(d->wall_ns));
	json_object_set_new(o, "status", up ? netfil_status_json(&d->status) : json_null());
	json_object_set_new(o, "events", json_pack("{s:b,s:I}", "subscribed", d->events,
						   "lost", (json_int_t)d->lost));
	json_object_set_new(o, "sort", json_string(netfil_view_sort_name(d->sort)));
	if (d->source[0])
		json_object_set_new(o, "source", text_json(d->source));
	a = json_array();
	for (i = 0; up && i < d->n_filters; i++)
		json_array_append_new(a, filter_json(&d->filters[i], flags));
	json_object_set_new(o, "filters", a);
	a = json_array();
	for (i = 0; i < d->n_procs; i++)
		json_array_append_new(a, proc_json(&d->procs[i]));
	json_object_set_new(o, "processes", a);
	a = json_array();
	for (i = 0; i < d->n_conns; i++)
		json_array_append_new(a, conn_json(&d->conns[i]));
	json_object_set_new(o, "connections", a);
	return o;
}

/* ---- a model read back (netfild's /view) ---------------------------------- */

static uint64_t u64_at(const json_t *o, const char *k1, const char *k2)
{
	const json_t *x = json_object_get(o, k1);

	if (k2)
		x = json_object_get(x, k2);
	return json_is_integer(x) && json_integer_value(x) > 0 ?
	       (uint64_t)json_integer_value(x) : 0;
}

static double real_at(const json_t *o, const char *k1, const char *k2)
{
	const json_t *x = json_object_get(json_object_get(o, k1), k2);

	return json_is_number(x) ? json_number_value(x) : 0;
}

static const char *str_at(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* "2026-12-02T03:00:00.000Z" back to seconds since the epoch; 0: none */
static int64_t time_at(const json_t *o, const char *k)
{
	struct tm tm = {};
	int64_t t;
	const char *s = str_at(o, k);

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (int64_t)timegm(&tm);
	/* what ns since the epoch can hold (until 2262) */
	return t > 0 && t < INT64_MAX / 1000000000 ? t : 0;
}

static void in_out_at(const json_t *o, const char *k, uint64_t v[2])
{
	v[0] = u64_at(o, k, netfil_dir_name(NETFIL_IN));
	v[1] = u64_at(o, k, netfil_dir_name(NETFIL_OUT));
}

static void rate_at(const json_t *o, double r[2])
{
	r[0] = real_at(o, "rate", netfil_dir_name(NETFIL_IN));
	r[1] = real_at(o, "rate", netfil_dir_name(NETFIL_OUT));
}

static int filter_from(struct vfilter *vf, struct netfil_view_filter *p, const json_t *o,
		       unsigned int h)
{
	struct netfil_filter *f = &p->f;
	const json_t *ex = json_object_get(o, "exceeded");
	int l, d, k = netfil_kind_parse(str_at(o, "kind"));

	if (!json_is_object(o) || k < 0)
		return -EINVAL;
	f->id = (uint32_t)u64_at(o, "id", NULL);
	f->match.kind = (enum netfil_kind)k;
	f->on = !strcmp(str_at(o, "status"), netfil_onoff_name(true));
	for (l = NETFIL_IBYTE; l <= NETFIL_IOBYTE; l++)
		f->limit[l] = u64_at(o, "limits", netfil_limit_name((enum netfil_limit)l));
	in_out_at(o, "bytes", f->bytes);
	in_out_at(o, "packets", f->packets);
	in_out_at(o, "dropped", f->dropped);
	for (d = 0; d < 2; d++)
		f->exceeded[d] = json_is_true(json_object_get(ex, netfil_dir_name((enum netfil_dir)d)));
	vf->id = f->id;
	snprintf(p->match, sizeof(p->match), "%s", str_at(o, "match_text"));
	snprintf(p->period, sizeof(p->period), "%s", str_at(o, "period_text"));
	rate_at(o, p->rate);
	p->next_reset = time_at(o, "next_reset");
	{
		const json_t *hist = json_object_get(o, "history");
		const json_t *a[2] = { json_object_get(hist, netfil_dir_name(NETFIL_IN)),
				       json_object_get(hist, netfil_dir_name(NETFIL_OUT)) };
		size_t n = json_array_size(a[0]) < json_array_size(a[1]) ?
			   json_array_size(a[0]) : json_array_size(a[1]);
		size_t skip = n > h ? n - h : 0, j;	/* the newest h */

		for (d = 0; d < 2; d++) {
			if (!(vf->ring[d] = calloc(2 * (size_t)h, sizeof(float))))
				return -ENOMEM;
			for (j = 0; j + skip < n; j++)
				vf->ring[d][j] = (float)json_number_value(json_array_get(a[d], skip + j));
			p->hist[d] = vf->ring[d];
		}
		p->n_hist = (unsigned int)(n - skip);
	}
	return 0;
}

static void proc_from(struct netfil_view_proc *p, const json_t *o)
{
	p->tgid = (uint32_t)u64_at(o, "pid", NULL);
	p->uid = (uint32_t)u64_at(o, "uid", NULL);
	snprintf(p->user, sizeof(p->user), "%s", str_at(o, "user"));
	snprintf(p->comm, sizeof(p->comm), "%s", str_at(o, "comm"));
	snprintf(p->exe, sizeof(p->exe), "%s", str_at(o, "exe"));
	in_out_at(o, "bytes", p->bytes);
	rate_at(o, p->rate);
	p->conns = (unsigned int)u64_at(o, "connections", NULL);
	p->exited = json_is_true(json_object_get(o, "exited"));
}

static void conn_from(struct netfil_view_conn *c, const json_t *o)
{
	int proto = netfil_proto_parse(str_at(o, "proto"));

	c->s.sock_id = u64_at(o, "id", NULL);
	c->s.tgid = c->s.pid = (uint32_t)u64_at(o, "pid", NULL);
	c->s.proto = proto > 0 ? proto : 0;
	c->s.family = !strcmp(str_at(o, "family"), netfil_family_name(AF_INET6)) ? AF_INET6 :
		      AF_INET;
	c->s.redirect = (uint32_t)u64_at(o, "redirect", NULL);
	in_out_at(o, "bytes", c->s.bytes);
	rate_at(o, c->rate);
	snprintf(c->local, sizeof(c->local), "%s", str_at(o, "local"));
	snprintf(c->remote, sizeof(c->remote), "%s", str_at(o, "remote"));
	snprintf(c->state, sizeof(c->state), "%s", str_at(o, "state"));
	c->closed = json_is_true(json_object_get(o, "closed"));
}

int netfil_view_set_json(struct netfil_view *v, const json_t *doc, const char *source)
{
	const json_t *fa = json_object_get(doc, "filters");
	const json_t *pa = json_object_get(doc, "processes");
	const json_t *ca = json_object_get(doc, "connections");
	const json_t *st = json_object_get(doc, "status");
	int state = netfil_view_state_parse(str_at(doc, "state"));
	int sort = netfil_view_sort_parse(str_at(doc, "sort"));
	size_t nf, np, nc, i;
	struct netfil_view_filter *fp;
	struct vfilter *f;
	int err = 0;

	if (!json_is_object(doc) || state < 0 || !json_is_array(fa) || !json_is_array(pa) ||
	    !json_is_array(ca))
		return -EINVAL;
	nf = json_array_size(fa);
	np = json_array_size(pa);
	nc = json_array_size(ca);
	f = calloc(nf + 1, sizeof(*f));
	fp = calloc(nf + 1, sizeof(*fp));
	if (!f || !fp)
		err = -ENOMEM;
	for (i = 0; i < nf && !err; i++)
		err = filter_from(&f[i], &fp[i], json_array_get(fa, i), v->vo.history);
	if (!err) {
		free(v->ppub);
		free(v->cpub);
		v->ppub = calloc(np + 1, sizeof(*v->ppub));
		v->cpub = calloc(nc + 1, sizeof(*v->cpub));
		if (!v->ppub || !v->cpub)
			err = -ENOMEM;
	}
	if (err) {
		if (f)
			free_rings(f, (int)nf);
		free(f);
		free(fp);
		v->data.n_filters = v->data.n_procs = v->data.n_conns = 0;
		return err;
	}
	free_rings(v->f, v->nfil);
	free(v->f);
	free(v->fpub);
	v->f = f;
	v->fpub = fp;
	v->nfil = (int)nf;
	v->f_cap = v->fpub_cap = (int)nf + 1;
	for (i = 0; i < np; i++)
		proc_from(&v->ppub[i], json_array_get(pa, i));
	for (i = 0; i < nc; i++)
		conn_from(&v->cpub[i], json_array_get(ca, i));
	v->data.state = (enum netfil_view_state)state;
	v->data.err = state == NETFIL_VIEW_ERROR ? -EIO : 0;
	snprintf(v->data.error, sizeof(v->data.error), "%s", str_at(doc, "error"));
	memset(&v->data.status, 0, sizeof(v->data.status));
	v->data.status.loaded = json_is_true(json_object_get(st, "loaded"));
	v->data.status.reaper_pid = (int)u64_at(st, "reaper_pid", NULL);
	v->data.status.subscribers = (unsigned int)u64_at(st, "subscribers", NULL);
	v->data.status.events_lost = u64_at(st, "events_lost", NULL);
	v->data.events = json_is_true(json_object_get(json_object_get(doc, "events"), "subscribed"));
	v->data.lost = u64_at(doc, "events", "lost");
	v->data.wall_ns = (uint64_t)time_at(doc, "time") * 1000000000ULL;
	if (sort >= 0)
		v->data.sort = (enum netfil_view_sort)sort;
	snprintf(v->data.source, sizeof(v->data.source), "%s", source ? source : "");
	v->data.filters = v->fpub;
	v->data.procs = v->ppub;
	v->data.conns = v->cpub;
	v->data.n_filters = (int)nf;
	v->data.n_procs = (int)np;
	v->data.n_conns = (int)nc;
	return 0;
}
