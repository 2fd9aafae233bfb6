/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* libnetfil internals: shared between the library's own files only. */
#ifndef LIBNETFIL_INTERNAL_H
#define LIBNETFIL_INTERNAL_H

#include <limits.h>
#include <time.h>
#include "netfil.h"
#include "../bpf/netfil_abi.h"
#include "abi.h"

/* The tc filter netfil owns on each interface it limits. */
#define NF_TC_HANDLE 0x6e66
#define NF_TC_PRIO   1

struct netfil {
	struct netfil_opts opts;
	char pin_dir[PATH_MAX];
	int dir_fd;		/* the pin directory, also the change lock */
	int cfg_fd, state_fd, credit_fd, meta_fd, procs_fd, owners_fd, ip4_fd, ip6_fd, ifaces_fd;
	int globals_fd, kick_fd, subs_fd, txn_fd;
	__u32 txn_seq;		/* the change under way (lib/txn.c), 0: none */
	bool owner_bits_stale;	/* an nf_owners key went: rebuild at unlock */
	int emit_fd;		/* prog/nf_emit, opened on first use */
	int relay_fd, odst_fd;	/* nf_relay, nf_odst: opened on first use (origin.c) */
	int qlive_fd, qlookup_fd;	/* nf_qlive, prog/nf_sk_lookup: first use (queue.c) */
#define NF_SLOT_HINTS 64
	__u32 slot_hint[NF_SLOT_HINTS];	/* origin.c: a filter id's slot, maybe */
	struct nf_filter_cfg *cfg;	/* mmap of nf_cfg */
	struct nf_globals *g;		/* mmap of nf_globals */
};

/* The pinned maps, in the order of the fds in struct netfil. */
#define NF_MAPS(X) X(cfg) X(state) X(credit) X(meta) X(procs) X(owners) X(ip4) X(ip6) X(ifaces) \
		   X(globals) X(kick) X(subs)

void nf_log(const struct netfil_opts *o, enum netfil_print_level lvl,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define pr_warn(nf, ...)  nf_log(&(nf)->opts, NETFIL_WARN, __VA_ARGS__)
#define pr_info(nf, ...)  nf_log(&(nf)->opts, NETFIL_INFO, __VA_ARGS__)

/* Take the change lock; a change that died holding it is undone first. */
/* Fill e->msg and return -EINVAL: how the text parsers refuse a word. */
int nf_bad(struct netfil_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The keywords of a redirect (names.c). */
enum nf_rd_word { NF_RD_REDIRECT, NF_RD_TO, NF_RD_FAIL, NF_RD_NONE, NF_RD_PROXY, NF_RD_PORT,
		  NF_RD_PROTO };
const char *nf_rd_word(enum nf_rd_word w);
/* ... and of a queue: "queue [new|all] [fail open|closed] [timeout MS]" */
enum nf_q_word { NF_Q_QUEUE, NF_Q_TIMEOUT };
const char *nf_q_word(enum nf_q_word w);
int nf_queue_mode_parse(const char *s);

int nf_lock(struct netfil *nf);
/* open.c: the pin directory from opts, else $NETFIL_PIN_DIR, else the default */
void nf_resolve_opts(struct netfil *nf, const struct netfil_opts *opts);
/* load.c: the cgroup links are pinned */
bool nf_is_loaded(struct netfil *nf);
/* load.c: the cgroup v2 mount point, from /proc/mounts */
int nf_cgroup2_root(char *buf, size_t len);
/* reaper.c */
bool nf_reaper_alive(struct nf_globals *g);
void nf_stop_reaper(struct netfil *nf);
void nf_unlock(struct netfil *nf);
int nf_pin_path(const struct netfil *nf, char *buf, const char *sub,
		const char *name);
/* A pinned object (sub: NULL for maps, "prog"), opened once into *fd. */
int nf_pin_fd(struct netfil *nf, int *fd, const char *sub, const char *name);
int nf_netns_cookie(uint64_t *cookie);
/* Run fn in every network namespace that has a process or a name in
 * /run/netns, then return to the caller's. */
int nf_for_each_netns(struct netfil *nf, int (*fn)(struct netfil *nf, void *arg),
		      void *arg);

/* The undo journal (txn.c): every change runs under the lock between
 * begin and commit, and calls keep before it touches a slot. */
int nf_txn_begin(struct netfil *nf);
int nf_txn_keep(struct netfil *nf, __u32 slot);
int nf_txn_commit(struct netfil *nf);
/* Undo the change under way (ours, or one that died), then commit. */
int nf_txn_rollback(struct netfil *nf);
/* A change is under way, or died: read without the lock. */
bool nf_txn_pending(struct netfil *nf);
/* nf_txn_rollback() if a change that died left the journal active. */
int nf_txn_recover(struct netfil *nf);

/* Filter changes with the lock (and a journal) already held: a restore
 * makes many of them as one change. */
int nf_filter_add_locked(struct netfil *nf, const struct netfil_filter *f, uint32_t *id);
int nf_filter_del_locked(struct netfil *nf, uint32_t id);
int nf_filter_set_counters_locked(struct netfil *nf, const struct netfil_filter *f);
int nf_filter_change_locked(struct netfil *nf, const struct netfil_filter *v, unsigned int what);
int nf_filter_rematch_locked(struct netfil *nf, uint32_t id, const struct netfil_match *m);
/* filter.c: take the change lock and begin a journalled change; end it
 * (commit, or undo after an error) and unlock.  For changes made of
 * several _locked steps (restore, a multi-key sysctl). */
int nf_change_begin(struct netfil *nf);
int nf_change_end(struct netfil *nf, int err);
/* A filter's lookup entries (unlink), or back in its own namespace (relink). */
int nf_unlink_match(struct netfil *nf, const struct nf_filter_meta *meta);
int nf_relink(struct netfil *nf, __u32 slot, __u32 id, const struct nf_filter_meta *meta);

/* owner.c: exe, user, cgroup and unit filters */
int nf_owner_meta(struct netfil *nf, const struct netfil_match *m, bool lenient,
		  struct nf_filter_meta *meta);
void nf_owner_match(const struct nf_filter_meta *meta, struct netfil_match *m);
bool nf_owner_stale(const struct nf_filter_meta *meta);
int nf_owner_link(struct netfil *nf, __u32 slot, __u32 id, const struct nf_filter_meta *meta);
int nf_owner_unlink(struct netfil *nf, const struct nf_filter_meta *meta);
uint32_t nf_owner_holder(struct netfil *nf, const struct nf_owner_key *key);
bool nf_path_within(const char *path, const char *dir);
void nf_owner_bits_rebuild(struct netfil *nf);
void nf_proc_bit(struct netfil *nf, const struct nf_proc_key *k);
int nf_state_put(struct netfil *nf, __u32 slot, struct nf_filter_state *st);
int nf_state_get(struct netfil *nf, __u32 slot, struct nf_filter_state *st);
/* Sockets resolve their socket filters again at their next packet. */
static inline void nf_bump_sock_gen(struct netfil *nf)
{
	__atomic_add_fetch(&nf->g->sock_gen, 1, __ATOMIC_SEQ_CST);
}

static inline bool nf_by_owner(__u8 proc_match)
{
	return proc_match >= NF_PROC_EXE;
}

/* The period kept in a filter's nf_meta, and back. */
void nf_meta_period(const struct nf_filter_meta *meta, struct netfil_period *p);
void nf_period_meta(const struct netfil_period *p, int64_t now, struct nf_filter_meta *meta);

/* One ring buffer record into an event (exe left empty); -EINVAL for a
 * record too short or of an unknown type.  wall_off: CLOCK_REALTIME minus
 * CLOCK_MONOTONIC. */
int nf_event_decode(const void *data, size_t size, int64_t wall_off,
		    struct netfil_event *ev);
/* CLOCK_REALTIME minus CLOCK_MONOTONIC in ns, the same to a few ns in
 * every process while the wall clock is not stepped (lib/events.c). */
int64_t nf_wall_offset(void);
/* A clock's reading in ns (events.c). */
uint64_t nf_clock_ns(clockid_t id);

/* Subscribe to the event types in types (bits of enum nf_ev_type, and
 * NF_WANT_PROCS: the kernel side keeps nf_proc_bytes). */
int nf_events_open(struct netfil *nf, uint32_t types, netfil_event_fn fn, void *ctx,
		   struct netfil_events **out);

/* json.c: {"in": a, "out": b}; a wall-clock time (ns) as RFC 3339, or null */
json_t *nf_json_in_out(uint64_t a, uint64_t b);
json_t *nf_json_wall(uint64_t ns);

/* A filter event for the subscribers, if there are any. */
void nf_emit_filter(struct netfil *nf, enum netfil_filter_op op, uint32_t id);

/* On failure, what went on stays: the caller detaches (nf_tc_detach). */
int nf_tc_attach(struct netfil *nf, int ifindex, __u32 classid, bool *own_qdisc);
int nf_tc_detach(struct netfil *nf, int ifindex, bool own_qdisc);
/* netfil's tc filter is on the interface (its ingress side). */
bool nf_tc_attached(int ifindex);
/* Detach the tc filters of every interface netfil attached to in the current
 * namespace. */
int nf_tc_detach_netns(struct netfil *nf, void *arg);

/* origin.c: put the relay's listening sockets (family AF_INET or
 * AF_INET6) into nf_relay; -EBUSY if a live relay holds the slots.  They
 * leave it by themselves when they close. */
int nf_relay_register(struct netfil *nf, int family, int tcp_fd, int udp_fd);
/* The registered relay's addresses, as netfil_relay_addr() writes them. */
void nf_relay_addr_text(struct netfil *nf, char *buf, size_t len);

/* queue.c: a filter's queue, under the change lock.  set writes q into
 * slot's cfg and its nftables rules (in the caller's namespace; rules
 * left in another one go); clear removes them; drop_all, at unload,
 * removes netfil's table from every namespace. */
int nf_queue_valid(struct netfil *nf, const struct netfil_queue *q);
int nf_queue_set(struct netfil *nf, __u32 slot, const struct netfil_queue *q);
int nf_queue_clear(struct netfil *nf, __u32 slot);
void nf_queue_get(struct netfil *nf, __u32 slot, struct netfil_queue *q);
void nf_queue_drop_all(struct netfil *nf);

#endif
