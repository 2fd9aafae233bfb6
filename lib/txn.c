// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Crash-atomic changes: the undo journal in the pinned map nf_txn.
 *
 * A change (one filter add, del or rematch, or a whole restore) runs under
 * the change lock between nf_txn_begin() and nf_txn_commit().  Before it
 * touches a slot it calls nf_txn_keep(), which copies the slot as it is
 * into the journal once per change.  The commit is one map update that
 * clears the header's active flag.  If the process dies in between (kill
 * -9, OOM), the lock goes with it, and the next process that takes the
 * lock finds the header still active and puts every recorded slot back
 * (nf_txn_recover()): the configuration is the old one, with the counters
 * each filter had when the change reached it.  Recovery only undoes and
 * can itself be interrupted and run again.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "internal.h"

static int head_get(struct netfil *nf, struct nf_txn_rec *head)
{
	__u32 key = NF_TXN_HEAD;

	if (!bpf_map_lookup_elem(nf->txn_fd, &key, head))
		return 0;
	memset(head, 0, sizeof(*head));
	return errno == ENOENT ? 0 : -errno;
}

static int head_put(struct netfil *nf, const struct nf_txn_rec *head)
{
	__u32 key = NF_TXN_HEAD;

	return bpf_map_update_elem(nf->txn_fd, &key, head, 0) ? -errno : 0;
}

/* Drop every slot record; the header stays.  Deleting restarts the
 * walk, so it always asks for the first key (or the one after the
 * header). */
static void forget_slots(struct netfil *nf)
{
	__u32 head = NF_TXN_HEAD, key;
	int i;

	for (i = 0; i <= NF_MAX_FILTERS; i++) {
		if (bpf_map_get_next_key(nf->txn_fd, NULL, &key))
			return;
		if (key == NF_TXN_HEAD && bpf_map_get_next_key(nf->txn_fd, &head, &key))
			return;
		bpf_map_delete_elem(nf->txn_fd, &key);
	}
}

int nf_txn_begin(struct netfil *nf)
{
	struct nf_txn_rec head;
	int err;

	if (nf->txn_fd < 0) {	/* loaded by a netfil without the journal */
		nf->txn_seq = 1;
		return 0;
	}
	err = head_get(nf, &head);
	if (err)
		return err;
	forget_slots(nf);
	head.seq++;
	head.active = 1;
	memcpy(head.sysctl_id, nf->g->sysctl_id, sizeof(head.sysctl_id));
	head.deleted = nf->g->deleted;
	err = head_put(nf, &head);
	if (!err)
		nf->txn_seq = head.seq;
	return err;
}

int nf_txn_keep(struct netfil *nf, __u32 slot)
{
	struct nf_txn_rec rec = {};
	struct nf_filter_state st;
	int i, err;

	if (!nf->txn_seq)
		return -EINVAL;	/* a change outside nf_txn_begin(): a bug */
	if (nf->txn_fd < 0)
		return 0;
	if (!bpf_map_lookup_elem(nf->txn_fd, &slot, &rec) && rec.seq == nf->txn_seq)
		return 0;	/* the first copy is the one to go back to */
	memset(&rec, 0, sizeof(rec));
	rec.seq = nf->txn_seq;
	rec.cfg = nf->cfg[slot];
	if (bpf_map_lookup_elem(nf->meta_fd, &slot, &rec.meta))
		return -errno;
	err = nf_state_get(nf, slot, &st);
	if (err)
		return err;
	for (i = 0; i < 2; i++) {
		rec.latched[i] = st.latched[i];
		rec.bytes[i] = st.bytes[i];
		rec.packets[i] = st.packets[i];
		rec.dropped[i] = st.dropped[i];
		rec.latched_ns[i] = st.latched_ns[i];
	}
	return bpf_map_update_elem(nf->txn_fd, &slot, &rec, 0) ? -errno : 0;
}

int nf_txn_commit(struct netfil *nf)
{
	struct nf_txn_rec head;
	int err;

	if (nf->txn_fd < 0) {
		nf->txn_seq = 0;
		return 0;
	}
	err = head_get(nf, &head);
	if (!err) {
		head.active = 0;
		err = head_put(nf, &head);	/* the commit point */
	}
	nf->txn_seq = 0;
	if (!err)
		forget_slots(nf);
	return err;
}

/* Take a slot's present content out of the lookup maps and free it.  The
 * recorded match is unlinked too: a rematch may have linked one and
 * recorded the other when it died. */
static void teardown(struct netfil *nf, __u32 slot, const struct nf_txn_rec *rec)
{
	struct nf_filter_cfg zcfg = {};
	struct nf_filter_meta meta, zmeta = {};

	if (!bpf_map_lookup_elem(nf->meta_fd, &slot, &meta) && meta.kind)
		nf_unlink_match(nf, &meta);
	if (rec->meta.kind)
		nf_unlink_match(nf, &rec->meta);
	zcfg.sgen = nf->cfg[slot].sgen;	/* a slot's sgen only grows */
	bpf_map_update_elem(nf->cfg_fd, &slot, &zcfg, 0);
	bpf_map_update_elem(nf->meta_fd, &slot, &zmeta, 0);
}

/* Put a recorded slot back: meta and counters, then cfg, then the links,
 * in the order a filter is added. */
static int put_back(struct netfil *nf, __u32 slot, const struct nf_txn_rec *rec)
{
	struct nf_filter_state st = {};
	struct nf_filter_cfg cfg = rec->cfg;
	int i;

	if (!rec->cfg.id)
		return 0;	/* the slot was free */
	/* the CPUs' credit is counted in what was recorded: void it */
	cfg.sgen = (cfg.sgen > nf->cfg[slot].sgen ? cfg.sgen : nf->cfg[slot].sgen) + 1;
	for (i = 0; i < 2; i++) {
		st.latched[i] = rec->latched[i];
		st.bytes[i] = rec->bytes[i];
		st.packets[i] = rec->packets[i];
		st.dropped[i] = rec->dropped[i];
		st.latched_ns[i] = rec->latched_ns[i];
	}
	if (bpf_map_update_elem(nf->meta_fd, &slot, &rec->meta, 0) ||
	    bpf_map_update_elem(nf->state_fd, &slot, &st, BPF_F_LOCK) ||
	    bpf_map_update_elem(nf->cfg_fd, &slot, &cfg, 0))
		return -errno;
	return nf_relink(nf, slot, rec->cfg.id, &rec->meta);
}

/* Each pass walks the records of one change; a pass never deletes, so the
 * walk is stable. */
static int for_each_rec(struct netfil *nf, __u32 seq,
			int (*fn)(struct netfil *nf, __u32 slot, const struct nf_txn_rec *rec))
{
	struct nf_txn_rec rec;
	__u32 key, *prev = NULL;
	int err = 0, e;

	while (!bpf_map_get_next_key(nf->txn_fd, prev, &key)) {
		prev = &key;
		if (key == NF_TXN_HEAD || key >= NF_MAX_FILTERS ||
		    bpf_map_lookup_elem(nf->txn_fd, &key, &rec) || rec.seq != seq)
			continue;
		e = fn(nf, key, &rec);
		err = err ?: e;
	}
	return err;
}

static int teardown_fn(struct netfil *nf, __u32 slot, const struct nf_txn_rec *rec)
{
	teardown(nf, slot, rec);
	return 0;
}

int nf_txn_rollback(struct netfil *nf)
{
	struct nf_txn_rec head;
	int err;

	if (nf->txn_fd < 0) {
		nf->txn_seq = 0;
		return -ENOTSUP;	/* no journal: what was done stays done */
	}
	err = head_get(nf, &head);
	if (err || !head.active)
		return err;
	for_each_rec(nf, head.seq, teardown_fn);
	err = for_each_rec(nf, head.seq, put_back);
	memcpy(nf->g->sysctl_id, head.sysctl_id, sizeof(head.sysctl_id));
	nf->g->deleted = head.deleted;	/* nothing was deleted after all */
	__atomic_add_fetch(&nf->g->sock_gen, 1, __ATOMIC_SEQ_CST);
	nf->txn_seq = head.seq;
	return nf_txn_commit(nf) ?: err;
}

bool nf_txn_pending(struct netfil *nf)
{
	struct nf_txn_rec head;

	return nf->txn_fd >= 0 && !head_get(nf, &head) && head.active;
}

int nf_txn_recover(struct netfil *nf)
{
	struct nf_txn_rec head;
	int err;

	if (nf->txn_seq || nf->txn_fd < 0)
		return 0;	/* our own change is the one under way, or no journal */
	err = head_get(nf, &head);
	if (err || !head.active)
		return err;
	pr_warn(nf, "a change was interrupted; putting the previous configuration back\n");
	return nf_txn_rollback(nf);
}
