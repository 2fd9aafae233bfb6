// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Filters: adding, changing, reading and deleting them.
 *
 * A filter is written in this order: nf_meta and a zeroed nf_state, then
 * nf_cfg (which gives the slot its id), then the lookup map entry that lets
 * the packet path find it ("link").  Deleting goes the other way.  So the
 * packet path never finds a filter that is half written, and a socket that
 * cached a deleted filter's reference sees the id mismatch in nf_cfg.
 *
 * Every change is one journalled step (txn.c): the public functions take
 * the lock, begin, call the _locked variant and commit, so that a process
 * killed halfway leaves the filter as it was.
 */
#include <errno.h>
#include <netinet/in.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

static int find_slot(struct netfil *nf, uint32_t id, __u32 *slot)
{
	__u32 i;

	if (!id)
		return -ENOENT;
	for (i = 0; i < NF_MAX_FILTERS; i++) {
		if (nf->cfg[i].id == id) {
			*slot = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* Take the change lock and begin a journalled change; on failure nothing
 * stays locked. */
int nf_change_begin(struct netfil *nf)
{
	int err = nf_lock(nf);

	if (err)
		return err;
	err = nf_txn_begin(nf);
	if (err)
		nf_unlock(nf);
	return err;
}

/* Commit (or, after an error, undo) and unlock. */
int nf_change_end(struct netfil *nf, int err)
{
	if (err)
		nf_txn_rollback(nf);
	else
		err = nf_txn_commit(nf);
	nf_unlock(nf);
	return err;
}

/* Is a slot still named by an nf_ifaces entry?  An entry stays while its
 * tc filter could not be detached, and that filter's classid names the
 * slot (tc.bpf.c): the slot is not given to another filter meanwhile. */
static bool iface_holds(struct netfil *nf, __u32 slot)
{
	struct nf_if_key key, next, *prev = NULL;
	struct nf_if_val v;
	int n = 0;

	while (n++ < NF_MAX_IFACES && !bpf_map_get_next_key(nf->ifaces_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(nf->ifaces_fd, &key, &v) && v.ref.slot == slot)
			return true;
	}
	return false;
}

static int free_slot(struct netfil *nf, __u32 *slot)
{
	__u32 i;

	for (i = 0; i < NF_MAX_FILTERS; i++) {
		if (!nf->cfg[i].id && !iface_holds(nf, i)) {
			*slot = i;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Link-layer header length of an interface: what tc sees before the IP
 * header.  Ethernet-like devices (and loopback) have 14 bytes, tun and
 * other L3 devices none. */
static int if_hlen(const char *name, __u32 *hlen)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		*hlen = (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ||
			 ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK) ? 14 : 0;
	close(fd);
	return err;
}

/* A pid filter on a process outside the attach cgroup could never count:
 * its sockets never meet netfil's programs.  -EXDEV for those.  (A tree
 * filter may still cover descendants that live inside, so it is not
 * checked.) */
static int check_cgroup(struct netfil *nf, int pid)
{
	char path[64], line[PATH_MAX + 8], mine[PATH_MAX], attach[PATH_MAX];
	const char *rel = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (!rel && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			rel = line + 3;
		}
	fclose(f);
	if (!rel || nf_cgroup2_root(mine, sizeof(mine)) ||
	    strlen(mine) + strlen(rel) + 1 >= sizeof(mine) ||
	    !realpath(nf->g->cgroup, attach))
		return 0;	/* no cgroup v2 view to compare: let it be */
	strcat(mine, strcmp(rel, "/") ? rel : "");
	return nf_path_within(mine, attach) ? 0 : -EXDEV;
}

/* Validate a match and turn it into what the kernel side stores.
 * lenient: exe, cgroup and unit paths may resolve to nothing yet. */
static int build_meta(struct netfil *nf, const struct netfil_match *m, bool lenient,
		      struct nf_filter_meta *meta)
{
	int i, j, err;

	memset(meta, 0, sizeof(*meta));
	meta->kind = (__u8)m->kind;
	switch (m->kind) {
	case NETFIL_SOCKET:
		if (m->by < NETFIL_BY_PID || m->by > NETFIL_BY_UNIT)
			return -EINVAL;
		meta->proc_match = (__u8)m->by;
		if (nf_by_owner(meta->proc_match)) {
			meta->flags = m->allow_missing ? NF_META_ALLOW_MISSING : 0;
			return nf_owner_meta(nf, m, lenient || m->allow_missing, meta);
		}
		meta->proc.tgid = (__u32)m->pid;
		meta->proc.start = m->start;
		if (!m->start) {
			uint64_t start;

			err = netfil_proc_start(m->pid, &start);
			if (err)
				return err;
			meta->proc.start = start;
		}
		return m->by == NETFIL_BY_TREE ? 0 : check_cgroup(nf, m->pid);
	case NETFIL_IP:
		if ((m->family != AF_INET && m->family != AF_INET6) ||
		    m->prefixlen < 0 ||
		    m->prefixlen > (m->family == AF_INET ? 32 : 128))
			return -EINVAL;
		meta->family = (__u8)m->family;
		meta->prefixlen = (__u8)m->prefixlen;
		memcpy(meta->addr, m->addr, 16);
		return 0;
	case NETFIL_IFACE:
		if (m->n_ifaces < 1 || m->n_ifaces > NF_IF_PER_FILTER)
			return -EINVAL;
		{
			uint64_t cookie;

			err = nf_netns_cookie(&cookie);
			if (err)
				return err;
			meta->netns = cookie;
		}
		meta->n_ifaces = (__u32)m->n_ifaces;
		meta->flags = m->allow_missing ? NF_META_ALLOW_MISSING : 0;
		for (i = 0; i < m->n_ifaces; i++) {
			for (j = 0; j < i; j++)
				if (!strcmp(m->ifaces[i], m->ifaces[j]))
					return -EINVAL;
			snprintf(meta->ifaces[i], NF_IFNAME_LEN, "%s", m->ifaces[i]);
			meta->ifindex[i] = if_nametoindex(m->ifaces[i]);
			if (!meta->ifindex[i] && !m->allow_missing) {
				pr_warn(nf, "no interface %s\n", m->ifaces[i]);
				return -ENODEV;
			}
		}
		return 0;
	}
	return -EINVAL;
}

static void ip_key(const struct nf_filter_meta *meta, void *key)
{
	struct nf_ip6_key *k = key;	/* nf_ip4_key is its prefix */

	k->prefixlen = meta->prefixlen;
	memcpy(k->addr, meta->addr, meta->family == AF_INET ? 4 : 16);
}

static int ip_fd(struct netfil *nf, const struct nf_filter_meta *meta)
{
	return meta->family == AF_INET ? nf->ip4_fd : nf->ip6_fd;
}

/* An unlinked exe, cgroup or unit filter's duplicate: the same kind and
 * path (a linked one is found by its nf_owners key). */
static uint32_t find_path_dup(struct netfil *nf, const struct nf_filter_meta *meta)
{
	struct nf_filter_meta other;
	__u32 i;

	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (nf->cfg[i].id && nf->cfg[i].kind == NF_KIND_SOCKET &&
		    !bpf_map_lookup_elem(nf->meta_fd, &i, &other) &&
		    other.proc_match == meta->proc_match &&
		    !strncmp(other.path, meta->path, NF_PATH_LEN))
			return nf->cfg[i].id;
	return 0;
}

/* The id of a filter other than self that matches what meta matches (for
 * interfaces: any of them), or 0. */
static uint32_t find_dup(struct netfil *nf, const struct nf_filter_meta *meta,
			 uint32_t self)
{
	uint32_t id = 0;
	struct nf_ip6_key k6 = {};
	struct nf_proc_val pv;
	struct nf_ref ref;
	__u32 i;

	switch (meta->kind) {
	case NF_KIND_SOCKET:
		if (nf_by_owner(meta->proc_match)) {
			id = meta->owner.kind ? nf_owner_holder(nf, &meta->owner) :
			     find_path_dup(nf, meta);
			return id == self ? 0 : id;
		}
		if (!bpf_map_lookup_elem(nf->procs_fd, &meta->proc, &pv))
			id = meta->proc_match == NF_PROC_TREE ? pv.tree.id : pv.pid.id;
		return id == self ? 0 : id;
	case NF_KIND_IP: {
		struct nf_filter_meta other;

		/* An LPM lookup of the prefix itself finds the longest stored
		 * prefix that covers it: a duplicate only if equally long. */
		ip_key(meta, &k6);
		if (bpf_map_lookup_elem(ip_fd(nf, meta), &k6, &ref) ||
		    bpf_map_lookup_elem(nf->meta_fd, &ref.slot, &other))
			return 0;
		id = other.prefixlen == meta->prefixlen ? ref.id : 0;
		return id == self ? 0 : id;
	}
	case NF_KIND_IFACE:
		/* by name, since a name may have no interface yet */
		for (i = 0; i < NF_MAX_FILTERS; i++) {
			struct nf_filter_meta other;
			__u32 a, b;

			if (!nf->cfg[i].id || nf->cfg[i].id == self ||
			    nf->cfg[i].kind != NF_KIND_IFACE ||
			    bpf_map_lookup_elem(nf->meta_fd, &i, &other) ||
			    other.netns != meta->netns)
				continue;
			for (a = 0; a < meta->n_ifaces && a < NF_IF_PER_FILTER; a++)
				for (b = 0; b < other.n_ifaces && b < NF_IF_PER_FILTER; b++)
					if (!strncmp(meta->ifaces[a], other.ifaces[b], NF_IFNAME_LEN))
						return nf->cfg[i].id;
		}
		return 0;
	}
	return 0;
}

/* Detach an interface filter's tc programs; its map entries go only once
 * that worked, so that a later unload can still find what is left. */
static int unlink_ifaces(struct netfil *nf, const struct nf_filter_meta *meta)
{
	__u32 i;
	int err = 0, e;

	for (i = 0; i < meta->n_ifaces && i < NF_IF_PER_FILTER; i++) {
		struct nf_if_key key = { .netns = meta->netns, .ifindex = meta->ifindex[i] };
		struct nf_if_val iv;

		if (!key.ifindex || bpf_map_lookup_elem(nf->ifaces_fd, &key, &iv))
			continue;
		e = nf_tc_detach(nf, (int)key.ifindex, iv.own_qdisc);
		if (!e)
			bpf_map_delete_elem(nf->ifaces_fd, &key);
		err = err ?: e;
	}
	return err;
}

static int unlink_ifaces_in(struct netfil *nf, void *arg)
{
	const struct nf_filter_meta *meta = arg;
	uint64_t cookie;

	if (nf_netns_cookie(&cookie) || cookie != meta->netns)
		return 0;
	return unlink_ifaces(nf, meta);
}

int nf_unlink_match(struct netfil *nf, const struct nf_filter_meta *meta)
{
	struct nf_ip6_key k6 = {};
	struct nf_proc_val pv;
	uint64_t cookie;
	int err = 0;

	switch (meta->kind) {
	case NF_KIND_SOCKET:
		if (nf_by_owner(meta->proc_match)) {
			err = nf_owner_unlink(nf, meta);
			nf_bump_sock_gen(nf);
			return err;
		}
		if (bpf_map_lookup_elem(nf->procs_fd, &meta->proc, &pv))
			return 0;
		if (meta->proc_match == NF_PROC_TREE)
			memset(&pv.tree, 0, sizeof(pv.tree));
		else
			memset(&pv.pid, 0, sizeof(pv.pid));
		if (!pv.pid.id && !pv.tree.id) {
			err = bpf_map_delete_elem(nf->procs_fd, &meta->proc);
			nf->owner_bits_stale = true;	/* nf_unlock() rebuilds them */
		} else {
			err = bpf_map_update_elem(nf->procs_fd, &meta->proc, &pv, 0);
		}
		nf_bump_sock_gen(nf);
		return err ? -errno : 0;
	case NF_KIND_IP:
		ip_key(meta, &k6);
		if (bpf_map_delete_elem(ip_fd(nf, meta), &k6) && errno != ENOENT)
			return -errno;
		return 0;
	case NF_KIND_IFACE:
		/* tc filters live in the interfaces' own namespace */
		if (nf_netns_cookie(&cookie) || cookie != meta->netns)
			return nf_for_each_netns(nf, unlink_ifaces_in, (void *)meta);
		return unlink_ifaces(nf, meta);
	}
	return -EINVAL;
}

/* What netfil's tc filter tells its program (netfil_abi.h): the slot, and
 * the link-layer header's length when it is one of the two it can say. */
static __u32 tc_classid(__u32 slot, __u32 hlen)
{
	__u32 how = hlen == 14 ? NF_TC_HLEN_ETH : hlen == 0 ? NF_TC_HLEN_NONE : 0;

	if (!how || slot + 1 > NF_TC_SLOT_MASK)
		return 0;	/* the program looks it up */
	return NF_TC_CLASS_MAJOR | how | (slot + 1);
}

static int link_match(struct netfil *nf, __u32 slot, __u32 id,
		      const struct nf_filter_meta *meta)
{
	struct nf_ref ref = { .slot = slot, .id = id };
	struct nf_ip6_key k6 = {};
	struct nf_proc_val pv = {};
	__u32 i;
	int err = 0;

	switch (meta->kind) {
	case NF_KIND_SOCKET:
		if (nf_by_owner(meta->proc_match)) {
			err = nf_owner_link(nf, slot, id, meta);
			if (!err)
				nf_bump_sock_gen(nf);
			return err;
		}
		/* before the link: a socket resolved in between still looks */
		__atomic_or_fetch(&nf->g->match_kinds, meta->proc_match == NF_PROC_TREE ?
				  NF_MK_TREE : NF_MK_PID, __ATOMIC_SEQ_CST);
		nf_proc_bit(nf, &meta->proc);
		bpf_map_lookup_elem(nf->procs_fd, &meta->proc, &pv);
		if (meta->proc_match == NF_PROC_TREE)
			pv.tree = ref;
		else
			pv.pid = ref;
		if (bpf_map_update_elem(nf->procs_fd, &meta->proc, &pv, 0))
			return -errno;
		nf_bump_sock_gen(nf);
		return 0;
	case NF_KIND_IP:
		ip_key(meta, &k6);
		return bpf_map_update_elem(ip_fd(nf, meta), &k6, &ref, BPF_NOEXIST) ?
		       -errno : 0;
	case NF_KIND_IFACE:
		for (i = 0; i < meta->n_ifaces && !err; i++) {
			struct nf_if_key key = { .netns = meta->netns,
						 .ifindex = meta->ifindex[i] };
			struct nf_if_val iv = { .ref = ref };
			bool own = false;

			if (!key.ifindex)	/* absent: netfil_iface_sync() */
				continue;
			err = if_hlen(meta->ifaces[i], &iv.hlen);
			if (err)
				break;
			/* The map entry first, so the program counts from
			 * its first packet. */
			if (bpf_map_update_elem(nf->ifaces_fd, &key, &iv, BPF_NOEXIST)) {
				err = -errno;
				break;
			}
			err = nf_tc_attach(nf, (int)key.ifindex, tc_classid(slot, iv.hlen), &own);
			if (err) {
				/* the entry goes only with its tc filters */
				if (!nf_tc_detach(nf, (int)key.ifindex, own))
					bpf_map_delete_elem(nf->ifaces_fd, &key);
				break;
			}
			iv.own_qdisc = own;
			bpf_map_update_elem(nf->ifaces_fd, &key, &iv, BPF_EXIST);
		}
		if (err) {
			struct nf_filter_meta done = *meta;

			done.n_ifaces = i;
			nf_unlink_match(nf, &done);
		}
		return err;
	}
	return -EINVAL;
}

struct relink_arg {
	__u32 slot, id;
	const struct nf_filter_meta *meta;
	int err;
};

static int relink_in(struct netfil *nf, void *arg)
{
	struct relink_arg *a = arg;
	uint64_t cookie;

	if (nf_netns_cookie(&cookie) || cookie != a->meta->netns)
		return 0;
	a->err = link_match(nf, a->slot, a->id, a->meta);
	return 0;
}

/* Link a filter again as it was recorded: an interface filter in the
 * namespace its interfaces belong to, wherever the caller runs. */
int nf_relink(struct netfil *nf, __u32 slot, __u32 id, const struct nf_filter_meta *meta)
{
	struct relink_arg a = { slot, id, meta, -ENOENT };
	uint64_t cookie;

	if (meta->kind != NF_KIND_IFACE || (!nf_netns_cookie(&cookie) && cookie == meta->netns))
		return link_match(nf, slot, id, meta);
	nf_for_each_netns(nf, relink_in, &a);
	return a.err;
}

static bool period_valid(const struct netfil_period *p)
{
	return p->every >= NETFIL_PERIOD_NONE && p->every <= NETFIL_MONTHLY &&
	       p->minute >= 0 && p->minute < 60 && p->hour >= 0 && p->hour < 24 &&
	       p->wday >= 0 && p->wday < 7 && p->mday >= 0 && p->mday <= 31 &&
	       (p->every != NETFIL_MONTHLY || p->mday >= 1);
}

/* Socket and IP filters redirect; a target needs a port; ports and a
 * protocol narrow an IP filter's redirect; never to the relay itself. */
static bool redirect_valid(struct netfil *nf, const struct netfil_redirect *r, __u8 kind)
{
	struct netfil_err e;

	if (!r->family)
		return !r->dport_lo && !r->dport_hi && !r->proto && !r->proxy.kind;
	if ((kind != NF_KIND_SOCKET && kind != NF_KIND_IP) ||
	    (r->family != AF_INET && r->family != AF_INET6) || !r->port ||
	    (r->fail != NETFIL_FAIL_CLOSED && r->fail != NETFIL_FAIL_OPEN) ||
	    (unsigned int)r->proxy.kind > NETFIL_PROXY_HTTP || r->dport_lo > r->dport_hi ||
	    (r->proto && r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP) ||
	    (kind != NF_KIND_IP && (r->dport_hi || r->proto)))
		return false;
	return !netfil_redirect_check(nf, r, &e);
}

/* A redirect into cfg, all but rd_family (the switch, set last), and
 * its URL into meta. */
static void redirect_cfg(const struct netfil_redirect *r, struct nf_filter_cfg *cfg,
			 struct nf_filter_meta *meta)
{
	cfg->rd_fail = (__u8)r->fail;
	cfg->rd_port = r->port;
	cfg->rd_proxy = (__u8)r->proxy.kind;
	cfg->rd_proto = (__u8)r->proto;
	cfg->rd_dport_lo = r->dport_lo;
	cfg->rd_dport_hi = r->dport_hi;
	memcpy(cfg->rd_addr, r->addr, sizeof(cfg->rd_addr));
	memset(meta->proxy, 0, sizeof(meta->proxy));
	if (r->family && r->proxy.kind)
		netfil_proxy_format(&r->proxy, true, meta->proxy, sizeof(meta->proxy));
}

static int count_kind(struct netfil *nf, const struct nf_filter_meta *meta)
{
	int i, n = 0;

	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (nf->cfg[i].id && nf->cfg[i].kind == meta->kind)
			n++;
	return n;
}

static int check_room(struct netfil *nf, const struct nf_filter_meta *meta)
{
	struct nf_if_key k, *prev = NULL;
	int n = 0;

	switch (meta->kind) {
	case NF_KIND_SOCKET:
		return count_kind(nf, meta) >= NF_MAX_SOCKET ? -ENOSPC : 0;
	case NF_KIND_IFACE:
		while (!bpf_map_get_next_key(nf->ifaces_fd, prev, &k)) {
			prev = &k;
			n++;
		}
		return n + (int)meta->n_ifaces > NF_MAX_IFACES ? -ENOSPC : 0;
	}
	return 0;	/* ip: the LPM map itself refuses when full */
}

int nf_filter_add_locked(struct netfil *nf, const struct netfil_filter *f, uint32_t *id)
{
	struct nf_filter_state st = {};
	struct nf_filter_meta meta;
	struct nf_filter_cfg cfg = {};
	__u32 slot, dup;
	int err, i;

	err = build_meta(nf, &f->match, false, &meta);
	if (err)
		return err;
	if (!period_valid(&f->period) || !redirect_valid(nf, &f->redirect, meta.kind) ||
	    nf_queue_valid(nf, &f->queue))
		return -EINVAL;
	nf_period_meta(&f->period, time(NULL), &meta);
	dup = find_dup(nf, &meta, 0);
	if (dup) {
		*id = dup;
		return -EEXIST;
	}
	err = check_room(nf, &meta);
	if (!err)
		err = free_slot(nf, &slot);
	if (err)
		return err;

	if (f->id) {
		/* a restore: keep the id, and hand out only larger ones */
		if (!find_slot(nf, f->id, &dup)) {
			*id = f->id;
			return -EEXIST;
		}
		cfg.id = f->id;
		if (nf->g->next_id < f->id)
			nf->g->next_id = f->id;
	} else {
		cfg.id = __atomic_add_fetch(&nf->g->next_id, 1, __ATOMIC_SEQ_CST);
	}
	cfg.kind = meta.kind;
	cfg.on = f->on;
	cfg.action = meta.kind == NF_KIND_IFACE ? NF_ACT_DROP : (__u8)f->action;
	cfg.epoch = 1;
	/* past every sgen the slot had: credit a CPU still holds for an
	 * earlier filter of this id here (a restore) is void */
	cfg.sgen = nf->cfg[slot].sgen + 1;
	for (i = 0; i < NF_LIM_MAX; i++)
		cfg.limit[i] = f->limit[i];
	redirect_cfg(&f->redirect, &cfg, &meta);
	cfg.rd_family = (__u8)f->redirect.family;
	err = nf_txn_keep(nf, slot);
	if (err)
		return err;
	if (bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0) ||
	    bpf_map_update_elem(nf->state_fd, &slot, &st, BPF_F_LOCK) ||
	    bpf_map_update_elem(nf->cfg_fd, &slot, &cfg, 0))
		return -errno;
	err = link_match(nf, slot, cfg.id, &meta);
	if (!err && f->queue.mode)
		err = nf_queue_set(nf, slot, &f->queue);
	if (err)
		return err;
	*id = cfg.id;
	nf_emit_filter(nf, NETFIL_OP_ADD, cfg.id);
	return 0;
}

int netfil_filter_add(struct netfil *nf, const struct netfil_filter *f,
		      uint32_t *id)
{
	int err = nf_change_begin(nf);

	return err ?: nf_change_end(nf, nf_filter_add_locked(nf, f, id));
}

static void to_match(const struct nf_filter_meta *meta, struct netfil_match *m)
{
	__u32 i;

	memset(m, 0, sizeof(*m));
	m->kind = (enum netfil_kind)meta->kind;
	m->by = (enum netfil_by)meta->proc_match;
	if (meta->kind == NF_KIND_SOCKET && nf_by_owner(meta->proc_match)) {
		nf_owner_match(meta, m);
	} else {
		m->pid = (int)meta->proc.tgid;
		m->start = meta->proc.start;
	}
	m->family = meta->family;
	m->prefixlen = meta->prefixlen;
	memcpy(m->addr, meta->addr, 16);
	m->allow_missing = meta->flags & NF_META_ALLOW_MISSING;
	if (meta->kind != NF_KIND_IFACE)
		return;
	m->n_ifaces = (int)meta->n_ifaces;
	for (i = 0; i < meta->n_ifaces && i < NF_IF_PER_FILTER; i++)
		memcpy(m->ifaces[i], meta->ifaces[i], NF_IFNAME_LEN);
}

/* A get_slot() caller's wall offset, not read yet: it is read at the first
 * latch met and kept, so that one listing has one offset. */
#define WALL_UNREAD INT64_MIN

static int get_slot(struct netfil *nf, __u32 slot, struct netfil_filter *f, int64_t *wall_off)
{
	struct nf_filter_cfg cfg = nf->cfg[slot];
	struct nf_filter_state st;
	struct nf_filter_meta meta;
	int i, err;

	if (bpf_map_lookup_elem(nf->meta_fd, &slot, &meta))
		return -errno;
	err = nf_state_get(nf, slot, &st);
	if (err)
		return err;
	memset(f, 0, sizeof(*f));
	f->id = cfg.id;
	to_match(&meta, &f->match);
	if (meta.kind == NF_KIND_SOCKET)
		f->match.stale = nf_owner_stale(&meta);
	nf_meta_period(&meta, &f->period);
	f->on = cfg.on;
	f->action = (enum netfil_action)cfg.action;
	for (i = 0; i < NF_LIM_MAX; i++)
		f->limit[i] = cfg.limit[i];
	if (cfg.rd_family) {
		struct netfil_err e;

		f->redirect.family = cfg.rd_family;
		f->redirect.fail = (enum netfil_fail)cfg.rd_fail;
		f->redirect.port = cfg.rd_port;
		f->redirect.proto = cfg.rd_proto;
		f->redirect.dport_lo = cfg.rd_dport_lo;
		f->redirect.dport_hi = cfg.rd_dport_hi;
		memcpy(f->redirect.addr, cfg.rd_addr, sizeof(f->redirect.addr));
		meta.proxy[sizeof(meta.proxy) - 1] = '\0';
		if (cfg.rd_proxy && netfil_proxy_parse(meta.proxy, &f->redirect.proxy, &e))
			f->redirect.proxy.kind = (enum netfil_proxy_kind)cfg.rd_proxy;
	}
	for (i = 0; i < 2; i++) {
		f->bytes[i] = st.bytes[i];
		f->packets[i] = st.packets[i];
		f->dropped[i] = st.dropped[i];
		f->exceeded[i] = st.latched[i] == cfg.epoch;
		f->exceeded_at[i] = f->exceeded[i] ? st.latched_ns[i] : 0;
		if (!f->exceeded_at[i])
			continue;
		if (*wall_off == WALL_UNREAD)
			*wall_off = nf_wall_offset();
		f->exceeded_wall[i] = f->exceeded_at[i] + (uint64_t)*wall_off;
	}
	nf_queue_get(nf, slot, &f->queue);
	if (meta.kind == NF_KIND_IFACE || cfg.q_mode) {
		uint64_t here;

		f->netns = meta.kind == NF_KIND_IFACE ? meta.netns : cfg.q_netns;
		f->netns_here = !nf_netns_cookie(&here) && here == f->netns;
		for (i = 0; i < (int)meta.n_ifaces && i < NF_IF_PER_FILTER; i++)
			f->ifindex[i] = meta.ifindex[i];
	}
	return cfg.id ? 0 : -ENOENT;
}

int netfil_filter_get(struct netfil *nf, uint32_t id, struct netfil_filter *f)
{
	int64_t wall_off = WALL_UNREAD;
	__u32 slot;
	int err = find_slot(nf, id, &slot);

	return err ?: get_slot(nf, slot, f, &wall_off);
}

static int cmp_filter(const void *a, const void *b)
{
	const struct netfil_filter *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int netfil_filter_list(struct netfil *nf, struct netfil_filter *out, int max)
{
	int64_t wall_off = WALL_UNREAD;
	struct netfil_filter f;
	int n = 0;
	__u32 i;

	for (i = 0; i < NF_MAX_FILTERS; i++) {
		if (!nf->cfg[i].id || get_slot(nf, i, &f, &wall_off))
			continue;
		if (n < max)
			out[n] = f;
		n++;
	}
	if (!out)
		return n;
	n = n < max ? n : max;
	qsort(out, (size_t)n, sizeof(*out), cmp_filter);
	return n;
}

/* The fields of v named by what, merged into the filter as it is now. */
int nf_filter_change_locked(struct netfil *nf, const struct netfil_filter *v, unsigned int what)
{
	struct netfil_filter cur, *f = &cur;
	int64_t wall_off = WALL_UNREAD;
	struct nf_filter_meta meta;
	struct nf_filter_cfg *cfg;
	bool changed = false;
	__u32 slot;
	int err, i;

	err = find_slot(nf, v->id, &slot) ?: get_slot(nf, slot, &cur, &wall_off);
	if (err)
		return err;
	for (i = 0; i < NF_LIM_MAX; i++)
		if (what & NETFIL_SET_LIMIT(i))
			cur.limit[i] = v->limit[i];
	if (what & NETFIL_SET_ON)
		cur.on = v->on;
	if (what & NETFIL_SET_ACTION)
		cur.action = v->action;
	if (what & NETFIL_SET_PERIOD)
		cur.period = v->period;
	if (what & NETFIL_SET_REDIRECT)
		cur.redirect = v->redirect;
	if (what & NETFIL_SET_QUEUE)
		cur.queue = v->queue;
	if (!period_valid(&f->period) || !redirect_valid(nf, &f->redirect, nf->cfg[slot].kind) ||
	    nf_queue_valid(nf, &f->queue))
		return -EINVAL;
	err = nf_txn_keep(nf, slot);	/* only now: a refused change touches nothing */
	if (err)
		return err;
	/* Written in place, in this order: the limits, then the epoch that
	 * releases the exceeded latch (charge() reads the epoch first), so
	 * a packet never pairs the new epoch with an old limit. */
	cfg = &nf->cfg[slot];
	for (i = 0; i < NF_LIM_MAX; i++) {
		changed |= cfg->limit[i] != f->limit[i];
		__atomic_store_n(&cfg->limit[i], f->limit[i], __ATOMIC_RELAXED);
	}
	__atomic_store_n(&cfg->on, f->on, __ATOMIC_RELAXED);
	if (cfg->kind != NF_KIND_IFACE)
		__atomic_store_n(&cfg->action, (__u8)f->action, __ATOMIC_RELAXED);
	if (changed)
		__atomic_store_n(&cfg->epoch, cfg->epoch + 1, __ATOMIC_RELEASE);
	if (what & NETFIL_SET_REDIRECT) {
		/* off while the target changes: a connect() never pairs the
		 * new address with the old port */
		__atomic_store_n(&cfg->rd_family, 0, __ATOMIC_RELEASE);
		if (bpf_map_lookup_elem(nf->meta_fd, &slot, &meta))
			return -errno;
		redirect_cfg(&f->redirect, cfg, &meta);
		if (bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0))
			return -errno;
		__atomic_store_n(&cfg->rd_family, (__u8)f->redirect.family, __ATOMIC_RELEASE);
	}
	if (what & NETFIL_SET_QUEUE) {
		err = nf_queue_set(nf, slot, &f->queue);
		if (err)
			return err;
	}
	if (!bpf_map_lookup_elem(nf->meta_fd, &slot, &meta)) {
		struct netfil_period was;

		nf_meta_period(&meta, &was);
		/* the schedule, field by field (padding is not ours to compare,
		 * and the last boundary is the kernel's business) */
		if (was.every != f->period.every || was.minute != f->period.minute ||
		    was.hour != f->period.hour || was.wday != f->period.wday ||
		    was.mday != f->period.mday) {
			/* a new period counts from its current boundary */
			struct netfil_period p = f->period;

			if (p.every != (enum netfil_every)meta.period || p.minute != meta.p_minute ||
			    p.hour != meta.p_hour || p.wday != meta.p_wday || p.mday != meta.p_mday)
				p.last = 0;
			nf_period_meta(&p, time(NULL), &meta);
			bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0);
		}
		if ((what & NETFIL_SET_ALLOW_MISSING) &&
		    (meta.kind == NF_KIND_IFACE || nf_by_owner(meta.proc_match)) &&
		    !(meta.flags & NF_META_ALLOW_MISSING) != !v->match.allow_missing) {
			meta.flags ^= NF_META_ALLOW_MISSING;
			bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0);
		}
	}
	nf_emit_filter(nf, NETFIL_OP_CHANGE, f->id);
	return 0;
}

int netfil_filter_change(struct netfil *nf, const struct netfil_filter *v, unsigned int what)
{
	int err = nf_change_begin(nf);

	return err ?: nf_change_end(nf, nf_filter_change_locked(nf, v, what));
}

int netfil_filter_set(struct netfil *nf, const struct netfil_filter *f)
{
	return netfil_filter_change(nf, f, NETFIL_SET_ALL);
}

int netfil_filter_rematch(struct netfil *nf, uint32_t id,
			  const struct netfil_match *m)
{
	int err = nf_change_begin(nf);

	return err ?: nf_change_end(nf, nf_filter_rematch_locked(nf, id, m));
}

int nf_filter_rematch_locked(struct netfil *nf, uint32_t id, const struct netfil_match *m)
{
	struct nf_filter_meta old, meta;
	__u32 slot, dup;
	int err;

	err = build_meta(nf, m, false, &meta);
	if (err)
		return err;
	err = find_slot(nf, id, &slot);
	if (err)
		return err;
	if (bpf_map_lookup_elem(nf->meta_fd, &slot, &old))
		return -errno;
	if (old.kind != meta.kind)
		return -EINVAL;
	dup = find_dup(nf, &meta, id);
	if (dup)
		return -EEXIST;
	/* recorded only now: a refused change touches nothing */
	err = nf_txn_keep(nf, slot);
	if (err)
		return err;
	/* The new match into nf_meta first: whatever instant this dies at,
	 * the journal's copy and nf_meta name every link there may be. */
	if (bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0))
		return -errno;
	err = nf_unlink_match(nf, &old) ?: link_match(nf, slot, id, &meta);
	if (!err && nf->cfg[slot].q_mode) {
		struct netfil_queue q;

		nf_queue_get(nf, slot, &q);	/* its rules match anew */
		err = nf_queue_set(nf, slot, &q);
	}
	if (!err)
		nf_emit_filter(nf, NETFIL_OP_CHANGE, id);
	return err;
}

/* Overwrite a slot's counters whole (reset, restore, a new period).
 * charge() takes no lock, so a packet may latch a direction from the old
 * counters while they are being replaced: the new ones come with the next
 * epoch, given to the directions st latches and published afterwards,
 * which leaves any such latch stale.  The CPUs' credit, taken from the old
 * counters, is void from the next sgen on.  sgen is bumped before the
 * write, so that credit given back after it does not leave the new
 * counters, and after it, so that credit taken from the old counters in
 * between is void too.  Credit given back in the instant between
 * charge()'s sgen check and its subtraction may still leave the new
 * counters (at most one packet's slice per CPU). */
int nf_state_put(struct netfil *nf, __u32 slot, struct nf_filter_state *st)
{
	struct nf_filter_cfg *cfg = &nf->cfg[slot];
	__u32 epoch = cfg->epoch + 1;
	int i;

	for (i = 0; i < 2; i++)
		st->latched[i] = st->latched[i] ? epoch : 0;
	__atomic_store_n(&cfg->sgen, cfg->sgen + 1, __ATOMIC_RELEASE);
	if (bpf_map_update_elem(nf->state_fd, &slot, st, BPF_F_LOCK))
		return -errno;
	__atomic_store_n(&cfg->sgen, cfg->sgen + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&cfg->epoch, epoch, __ATOMIC_RELEASE);
	return 0;
}

/* A slot's counters as users see them: nf_state less the bytes the CPUs
 * took ahead and have not spent, plus the packets they admitted. */
int nf_state_get(struct netfil *nf, __u32 slot, struct nf_filter_state *st)
{
	const struct nf_filter_cfg *cfg = &nf->cfg[slot];
	int ncpu = libbpf_num_possible_cpus(), i, d;
	struct nf_credit *c;

	if (ncpu < 1)
		return ncpu < 0 ? ncpu : -EINVAL;
	c = calloc((size_t)ncpu, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (bpf_map_lookup_elem_flags(nf->state_fd, &slot, st, BPF_F_LOCK) ||
	    bpf_map_lookup_elem(nf->credit_fd, &slot, c)) {
		free(c);
		return -errno;
	}
	for (i = 0; i < ncpu; i++) {
		if (!cfg->id || c[i].id != cfg->id || c[i].sgen != cfg->sgen)
			continue;
		for (d = 0; d < 2; d++) {
			st->bytes[d] -= c[i].left[d] < st->bytes[d] ? c[i].left[d] : st->bytes[d];
			st->packets[d] += c[i].packets[d];
		}
	}
	free(c);
	return 0;
}

int nf_filter_set_counters_locked(struct netfil *nf, const struct netfil_filter *f)
{
	struct nf_filter_state st = {};
	__u32 slot;
	int err, i;

	err = find_slot(nf, f->id, &slot);
	if (err)
		return err;
	for (i = 0; i < 2; i++) {
		st.bytes[i] = f->bytes[i];
		st.packets[i] = f->packets[i];
		st.dropped[i] = f->dropped[i];
		st.latched[i] = f->exceeded[i];
		st.latched_ns[i] = f->exceeded[i] ? f->exceeded_at[i] : 0;
	}
	return nf_state_put(nf, slot, &st);
}

/* One map update: atomic without a journal. */
int netfil_filter_set_counters(struct netfil *nf, const struct netfil_filter *f)
{
	int err = nf_lock(nf);

	if (err)
		return err;
	err = nf_filter_set_counters_locked(nf, f);
	nf_unlock(nf);
	return err;
}

int netfil_filter_reset(struct netfil *nf, uint32_t id)
{
	struct nf_filter_state zero = {};
	__u32 slot;
	int err;

	err = nf_lock(nf);
	if (err)
		return err;
	err = find_slot(nf, id, &slot);
	if (!err)
		err = nf_state_put(nf, slot, &zero);
	if (!err)
		nf_emit_filter(nf, NETFIL_OP_RESET, id);
	nf_unlock(nf);
	return err;
}

int nf_filter_del_locked(struct netfil *nf, uint32_t id)
{
	struct nf_filter_meta meta, zmeta = {};
	struct nf_filter_cfg zcfg = {};
	__u32 slot;
	int err, i;

	err = find_slot(nf, id, &slot) ?: nf_txn_keep(nf, slot);
	if (err)
		return err;
	zcfg.sgen = nf->cfg[slot].sgen;	/* a slot's sgen only grows */
	if (bpf_map_lookup_elem(nf->meta_fd, &slot, &meta))
		return -errno;
	err = nf_unlink_match(nf, &meta);
	err = nf_queue_clear(nf, slot) ?: err;
	if (bpf_map_update_elem(nf->cfg_fd, &slot, &zcfg, 0) ||
	    bpf_map_update_elem(nf->meta_fd, &slot, &zmeta, 0))
		err = err ?: -errno;
	for (i = 0; i < 4; i++)
		if (nf->g->sysctl_id[i] == id)
			nf->g->sysctl_id[i] = 0;
	__atomic_add_fetch(&nf->g->deleted, 1, __ATOMIC_SEQ_CST);
	nf_emit_filter(nf, NETFIL_OP_DEL, id);
	return err;
}

int netfil_filter_del(struct netfil *nf, uint32_t id)
{
	int err = nf_change_begin(nf);

	return err ?: nf_change_end(nf, nf_filter_del_locked(nf, id));
}

/* The original's socket filter matched one pid: tree filters (and so the
 * ones "netfil run" makes) are never the sysctl filter. */
static bool sysctl_candidate(struct netfil *nf, __u32 slot, enum netfil_kind kind)
{
	struct nf_filter_meta meta;

	if (!nf->cfg[slot].id || nf->cfg[slot].kind != kind)
		return false;
	if (kind != NETFIL_SOCKET)
		return true;
	return !bpf_map_lookup_elem(nf->meta_fd, &slot, &meta) &&
	       meta.proc_match == NF_PROC_PID;	/* nor exe, user, cgroup, unit */
}

/* net.netfil.<kind>.* act on one filter per kind, as the original did: the
 * one they created, else the oldest of that kind. */
int netfil_sysctl_filter(struct netfil *nf, enum netfil_kind kind, uint32_t *id)
{
	__u32 slot, i, best = 0;

	if (kind < NETFIL_SOCKET || kind > NETFIL_IFACE)
		return -EINVAL;
	if (!find_slot(nf, nf->g->sysctl_id[kind], &slot) &&
	    sysctl_candidate(nf, slot, kind)) {
		*id = nf->g->sysctl_id[kind];
		return 0;
	}
	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (sysctl_candidate(nf, i, kind) && (!best || nf->cfg[i].id < best))
			best = nf->cfg[i].id;
	*id = best;
	return 0;
}

int netfil_sysctl_set_filter(struct netfil *nf, enum netfil_kind kind, uint32_t id)
{
	if (kind < NETFIL_SOCKET || kind > NETFIL_IFACE)
		return -EINVAL;
	nf->g->sysctl_id[kind] = id;
	return 0;
}

/*
 * Interfaces come and go: a phone's tethering interface appears at each
 * plug-in with a new index.  A filter keeps the names; this moves each
 * name's map entry and tc programs to the index the name now has.  The
 * counters live in the filter's slot, so they carry over untouched.
 */
int netfil_iface_sync(struct netfil *nf)
{
	uint64_t cookie;
	int err, e, changed = 0;
	__u32 slot, i;

	err = nf_netns_cookie(&cookie);
	if (err)
		return err;
	err = nf_lock(nf);
	if (err)
		return err;
	for (slot = 0; slot < NF_MAX_FILTERS; slot++) {
		struct nf_filter_meta meta;
		bool dirty = false;

		if (!nf->cfg[slot].id || nf->cfg[slot].kind != NF_KIND_IFACE ||
		    bpf_map_lookup_elem(nf->meta_fd, &slot, &meta) || meta.netns != cookie)
			continue;
		for (i = 0; i < meta.n_ifaces && i < NF_IF_PER_FILTER; i++) {
			struct nf_if_key key = { .netns = cookie, .ifindex = meta.ifindex[i] };
			struct nf_filter_meta one = meta;
			__u32 now = if_nametoindex(meta.ifaces[i]);
			struct nf_if_val iv;

			if (now == meta.ifindex[i] && (!now || nf_tc_attached((int)now)))
				continue;
			/* One name at a time: off its old index (a deleted
			 * device took its tc filters along; a reused index
			 * may be another filter's by now), then onto the new. */
			one.n_ifaces = 1;
			memcpy(one.ifaces[0], meta.ifaces[i], NF_IFNAME_LEN);
			one.ifindex[0] = meta.ifindex[i];
			if (key.ifindex && !bpf_map_lookup_elem(nf->ifaces_fd, &key, &iv) &&
			    iv.ref.id == nf->cfg[slot].id)
				unlink_ifaces(nf, &one);
			one.ifindex[0] = now;
			e = link_match(nf, slot, nf->cfg[slot].id, &one);
			if (e)
				pr_warn(nf, "attaching to %s: %s\n", meta.ifaces[i], strerror(-e));
			err = err ?: e;
			meta.ifindex[i] = e ? 0 : now;
			dirty = true;
			changed++;
		}
		if (dirty && bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0))
			err = err ?: -errno;
	}
	nf_unlock(nf);
	return err ?: changed;
}
