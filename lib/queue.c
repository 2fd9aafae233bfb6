// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * queue.c - per-packet verdicts, tied to filters: a filter's queue setting
 * in its cfg (read by the kernel half, bpf/queue.h), its nftables rules
 * (nft.c) in the namespace where it was set, and what a client
 * (packets.c) needs: its queue, its liveness socket, and who owns each
 * packet's socket (nf_sk_lookup, run by BPF_PROG_TEST_RUN).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include "internal.h"
#include "queue.h"

/* The queue field's top bit: a flow a client allowed whole. */
static uint32_t flow_bit(uint32_t m)
{
	return m & ~(m >> 1);
}

static uint32_t index_bits(uint32_t m)
{
	return m & ~flow_bit(m);
}

/* One table per pin directory, named after it ("netfil" for the default
 * one): a second netfil (a test's) never touches the system's rules. */
static void table_name(const struct netfil *nf, char *buf, size_t len)
{
	const char *b = strrchr(nf->pin_dir, '/');
	size_t i;

	b = b && b[1] ? b + 1 : nf->pin_dir;
	snprintf(buf, len, strncmp(b, "netfil", 6) ? "netfil_%.64s" : "%.64s", b);
	for (i = 0; buf[i]; i++)
		if (!isalnum((unsigned char)buf[i]))
			buf[i] = '_';
}

int netfil_queue_mark_resolve(const struct netfil_opts *opts, uint32_t *mark)
{
	const char *env = getenv("NETFIL_QUEUE_MARK");
	uint32_t m = opts ? opts->queue_mark : 0;
	unsigned long v;
	char *end;

	if (!m && env && *env) {
		errno = 0;
		v = strtoul(env, &end, 0);
		if (errno || *end || v > UINT32_MAX)
			return -EINVAL;
		m = (uint32_t)v;
	}
	if (!m)
		m = NF_QUEUE_MARK;
	/* contiguous, 2 to 16 bits, and a flow bit the relay's mark lacks
	 * (its sockets would mark their flows allowed) */
	if (((m + (m & -m)) & m) || __builtin_popcount(m) < 2 || __builtin_popcount(m) > 16 ||
	    (flow_bit(m) & NF_RELAY_MARK))
		return -EINVAL;
	*mark = m;
	return 0;
}

uint32_t netfil_queue_mark(struct netfil *nf)
{
	return nf->g->q_mark;
}

/* ---- marks already in use: ip rules that select on the queue field ---- */

struct rule_walk {
	uint32_t mark;
	uint32_t hit;
};

static int rule_attr(const struct nlattr *a, void *data)
{
	struct rule_walk *w = data;

	if (mnl_attr_get_type(a) == FRA_FWMARK && !mnl_attr_validate(a, MNL_TYPE_U32) &&
	    (mnl_attr_get_u32(a) & w->mark))
		w->hit = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int rule_msg(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct fib_rule_hdr), rule_attr, data);
	return MNL_CB_OK;
}

int netfil_queue_mark_taken(struct netfil *nf, uint32_t *hit)
{
	uint32_t mark = nf->g->q_mark;
	static const int fams[] = { AF_INET, AF_INET6 };
	struct rule_walk w = { mark, 0 };
	struct mnl_socket *nl;
	char *buf;
	int err = 0;
	size_t i;

	buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!buf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = buf ? -errno : -ENOMEM;
		goto out;
	}
	for (i = 0; i < 2 && !err && !w.hit; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct fib_rule_hdr *h;
		unsigned int seq = (unsigned int)i + 1, portid = mnl_socket_get_portid(nl);
		ssize_t n;

		nlh->nlmsg_type = RTM_GETRULE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = seq;
		h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
		h->family = (uint8_t)fams[i];
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
			err = -errno;
			break;
		}
		while ((n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE)) > 0) {
			int r = mnl_cb_run(buf, (size_t)n, seq, portid, rule_msg, &w);

			if (r <= MNL_CB_STOP) {
				if (r < 0)
					err = -errno;
				break;
			}
		}
	}
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	if (!err && w.hit) {
		*hit = w.hit;
		return -EADDRINUSE;
	}
	return err;
}

/* ---- a filter's queue ---------------------------------------------------- */

int nf_queue_valid(struct netfil *nf, const struct netfil_queue *q)
{
	if (q->mode == NETFIL_QUEUE_NONE)
		return 0;
	if ((unsigned int)q->mode > NETFIL_QUEUE_ALL ||
	    (q->fail != NETFIL_FAIL_CLOSED && q->fail != NETFIL_FAIL_OPEN) ||
	    q->timeout_ms > NETFIL_QUEUE_TIMEOUT_MAX || !nf->g->q_mark)
		return -EINVAL;
	return 0;
}

void nf_queue_get(struct netfil *nf, __u32 slot, struct netfil_queue *q)
{
	const struct nf_filter_cfg *c = &nf->cfg[slot];

	memset(q, 0, sizeof(*q));
	if (!c->q_mode)
		return;
	q->mode = (enum netfil_queue_mode)c->q_mode;
	q->fail = (enum netfil_fail)c->q_fail;
	q->timeout_ms = c->q_timeout_ms;
	q->qnum = (uint16_t)(NF_QUEUE_BASE + slot);
}

/* What the kernel side reads to skip the queue work when nobody queues. */
static void recount(struct netfil *nf)
{
	__u32 n = 0, s = 0, all = 0, i;

	for (i = 0; i < NF_MAX_FILTERS; i++) {
		if (!nf->cfg[i].id || !nf->cfg[i].q_mode)
			continue;
		n++;
		s += nf->cfg[i].kind == NF_KIND_SOCKET;
		all += nf->cfg[i].q_mode == NETFIL_QUEUE_ALL;
	}
	__atomic_store_n(&nf->g->q_all, all, __ATOMIC_RELEASE);
	__atomic_store_n(&nf->g->q_filters, n, __ATOMIC_RELEASE);
	__atomic_store_n(&nf->g->q_sockets, s, __ATOMIC_RELEASE);
}

/* A socket filter's value in the queue field: the lowest free one, never
 * the one the relay's mark shows there. */
static int free_index(struct netfil *nf, __u32 self, __u16 *out)
{
	uint32_t bits = index_bits(nf->g->q_mark), shift = nf->g->q_shift;
	uint32_t max = bits >> shift, relay = (NF_RELAY_MARK & bits) >> shift, v, i;
	uint8_t *used = calloc((1u << 16) / 8, 1);
	int err = -ENOSPC;

	if (!used)
		return -ENOMEM;
	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (i != self && nf->cfg[i].id && nf->cfg[i].q_mode && nf->cfg[i].q_index)
			used[nf->cfg[i].q_index / 8] |= (uint8_t)(1u << (nf->cfg[i].q_index % 8));
	for (v = 1; v <= max && v < (1u << 16); v++) {
		if (v == relay || (used[v / 8] & (1u << (v % 8))))
			continue;
		*out = (__u16)v;
		err = 0;
		break;
	}
	free(used);
	return err;
}

struct ns_job {
	uint64_t netns;		/* 0: every namespace */
	const char *table;
	uint32_t id;		/* 0: drop the table */
};

static int ns_job(struct netfil *nf, void *arg)
{
	struct ns_job *j = arg;
	uint64_t here;

	(void)nf;
	if (j->netns && (nf_netns_cookie(&here) || here != j->netns))
		return 0;
	if (j->id)
		nf_nft_del(j->table, j->id);
	else
		nf_nft_drop(j->table);
	return 0;
}

/* Filter id's rules (id 0: the table), wherever they are. */
static int del_rules(struct netfil *nf, const char *table, uint32_t id, uint64_t netns)
{
	struct ns_job j = { netns, table, id };
	uint64_t here;

	if (!nf_netns_cookie(&here) && here == netns)
		return id ? nf_nft_del(table, id) : nf_nft_drop(table);
	return nf_for_each_netns(nf, ns_job, &j);
}

void nf_queue_drop_all(struct netfil *nf)
{
	char table[80];
	struct ns_job j = { 0, table, 0 };

	table_name(nf, table, sizeof(table));
	nf_for_each_netns(nf, ns_job, &j);
}

int nf_queue_clear(struct netfil *nf, __u32 slot)
{
	struct nf_filter_cfg *c = &nf->cfg[slot];
	char table[80];
	int err;

	__u64 netns = c->q_netns;
	__u32 i;

	if (!c->q_mode)
		return 0;
	__atomic_store_n(&c->q_mode, 0, __ATOMIC_RELEASE);
	c->q_index = 0;
	c->q_netns = 0;
	recount(nf);
	table_name(nf, table, sizeof(table));
	/* the last queue of its namespace takes the table with it */
	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (nf->cfg[i].id && nf->cfg[i].q_mode && nf->cfg[i].q_netns == netns)
			break;
	err = del_rules(nf, table, i < NF_MAX_FILTERS ? c->id : 0, netns);
	return err;
}

static int build_rule(struct netfil *nf, __u32 slot, enum netfil_queue_mode mode,
		      struct nf_nft_rule *r)
{
	const struct nf_filter_cfg *c = &nf->cfg[slot];
	struct nf_filter_meta meta;
	__u32 i;

	if (bpf_map_lookup_elem(nf->meta_fd, &slot, &meta))
		return -errno;
	memset(r, 0, sizeof(*r));
	r->id = c->id;
	r->qnum = (uint16_t)(NF_QUEUE_BASE + slot);
	r->bypass = c->q_fail == NF_FAIL_OPEN;
	r->new_only = mode == NETFIL_QUEUE_NEW;
	r->kind = c->kind;
	switch (c->kind) {
	case NF_KIND_SOCKET:
		r->mask = index_bits(nf->g->q_mark);
		r->mark = ((uint32_t)c->q_index << nf->g->q_shift) & r->mask;
		break;
	case NF_KIND_IP:
		r->family = meta.family;
		r->prefixlen = meta.prefixlen;
		memcpy(r->addr, meta.addr, sizeof(r->addr));
		break;
	default:
		r->n_ifaces = meta.n_ifaces < NF_IF_PER_FILTER ? meta.n_ifaces : NF_IF_PER_FILTER;
		for (i = 0; i < r->n_ifaces; i++)
			memcpy(r->ifaces[i], meta.ifaces[i], NF_IFNAME_LEN);
	}
	return 0;
}

int nf_queue_set(struct netfil *nf, __u32 slot, const struct netfil_queue *q)
{
	struct nf_filter_cfg *c = &nf->cfg[slot];
	struct nf_nft_rule r;
	char table[80];
	uint64_t here;
	uint32_t hit = 0;
	__u16 index = 0;
	int err;

	if (q->mode == NETFIL_QUEUE_NONE)
		return nf_queue_clear(nf, slot);
	err = nf_queue_valid(nf, q) ?: nf_netns_cookie(&here);
	if (err)
		return err;
	err = netfil_queue_mark_taken(nf, &hit);
	if (err)
		return err;
	if (c->kind == NF_KIND_SOCKET) {
		index = c->q_mode && c->q_index ? c->q_index : 0;
		if (!index && (err = free_index(nf, slot, &index)))
			return err;
	}
	table_name(nf, table, sizeof(table));
	/* off while it changes; its old rules go, wherever they were */
	if (c->q_mode) {
		__atomic_store_n(&c->q_mode, 0, __ATOMIC_RELEASE);
		err = del_rules(nf, table, c->id, c->q_netns);
		if (err)
			return err;
	}
	c->q_fail = (__u8)q->fail;
	c->q_index = index;
	c->q_timeout_ms = q->timeout_ms ? q->timeout_ms : NETFIL_QUEUE_TIMEOUT_MS;
	c->q_netns = here;
	err = build_rule(nf, slot, q->mode, &r);
	if (!err)
		err = nf_nft_add(table, flow_bit(nf->g->q_mark), &r);
	if (err)
		return err;
	__atomic_store_n(&c->q_mode, (__u8)q->mode, __ATOMIC_RELEASE);
	recount(nf);
	return 0;
}

/* ---- the client's side ----------------------------------------------------- */

/* The page of nf_qbeat that holds slot's beat, mapped, and a first beat:
 * the kernel must not find the new client stalled. */
static int map_beat(struct netfil *nf, __u32 slot, struct nf_queue_info *qi)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), at = slot * sizeof(struct nf_qbeat);
	size_t off = at & ~(page - 1);
	struct timespec ts;
	int fd, err = 0;

	fd = nf_pin_fd(nf, &(int){ -1 }, NULL, "nf_qbeat");
	if (fd < 0)
		return fd;
	qi->beat_map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (qi->beat_map == MAP_FAILED) {
		err = -errno;
		qi->beat_map = NULL;
	}
	close(fd);
	if (err)
		return err;
	qi->beat_len = page;
	qi->beat = (struct nf_qbeat *)((char *)qi->beat_map + (at - off));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	__atomic_store_n(&qi->beat->beat_ns, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
			 __ATOMIC_RELEASE);
	return 0;
}

int nf_queue_client(struct netfil *nf, uint32_t filter_id, struct nf_queue_info *qi,
		    int *live_fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const struct nf_filter_cfg *c = NULL;
	uint64_t here, v;
	__u32 slot;
	int fd, map, err;

	*live_fd = -1;
	for (slot = 0; slot < NF_MAX_FILTERS; slot++)
		if (filter_id && nf->cfg[slot].id == filter_id) {
			c = &nf->cfg[slot];
			break;
		}
	if (!c)
		return -ENOENT;
	if (!c->q_mode)
		return -EINVAL;
	err = nf_netns_cookie(&here);
	if (err)
		return err;
	if (here != c->q_netns)
		return -EXDEV;
	qi->qnum = (uint16_t)(NF_QUEUE_BASE + slot);
	qi->mode = (enum netfil_queue_mode)c->q_mode;
	qi->fail = (enum netfil_fail)c->q_fail;
	qi->timeout_ms = c->q_timeout_ms;
	qi->flow_mask = flow_bit(nf->g->q_mark);

	err = map_beat(nf, slot, qi);
	if (err)
		return err;
	/* while this socket is in nf_qlive, connect() knows a client lives */
	map = nf_pin_fd(nf, &nf->qlive_fd, NULL, "nf_qlive");
	if (map < 0)
		return map;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		err = -errno;
		close(fd);
		return err;
	}
	v = (uint64_t)fd;
	if (bpf_map_update_elem(map, &slot, &v, BPF_NOEXIST)) {
		err = errno == EEXIST ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	*live_fd = fd;
	return 0;
}

int nf_queue_attr(struct netfil *nf, struct netfil_packet *p)
{
	unsigned char in[14 + sizeof(struct nf_qlookup)] = { 0 }, out[sizeof(in)];
	struct nf_qlookup q = { 0 };
	bool o = p->dir == NETFIL_OUT;
	int fd = nf_pin_fd(nf, &nf->qlookup_fd, "prog", "nf_sk_lookup");
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = sizeof(in),
		    .data_out = out, .data_size_out = sizeof(out));

	p->has_sock = false;
	if (fd < 0)
		return fd;
	q.family = (uint8_t)p->family;
	q.proto = (uint8_t)p->proto;
	memcpy(q.laddr, o ? p->saddr : p->daddr, 16);
	memcpy(q.raddr, o ? p->daddr : p->saddr, 16);
	q.lport = htons(o ? p->sport : p->dport);
	q.rport = htons(o ? p->dport : p->sport);
	memcpy(in + 14, &q, sizeof(q));
	if (bpf_prog_test_run_opts(fd, &t))
		return -errno;
	if (t.data_size_out < sizeof(out))
		return -EIO;
	memcpy(&q, out + 14, sizeof(q));
	if (!q.found)
		return -ENOENT;
	p->has_sock = true;
	p->tgid = q.tgid;
	p->pid = q.pid;
	p->uid = q.uid;
	p->sock_id = q.cookie;
	memcpy(p->comm, q.comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	return 0;
}
