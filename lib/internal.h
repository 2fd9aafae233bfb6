/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* libnetfil internals: shared between the library's own files only. */
#ifndef LIBNETFIL_INTERNAL_H
#define LIBNETFIL_INTERNAL_H

#include <limits.h>
#include "netfil.h"
#include "../bpf/netfil.h"

/* The tc filter netfil owns on each interface it limits. */
#define NF_TC_HANDLE 0x6e66
#define NF_TC_PRIO   1

struct netfil {
	struct netfil_opts opts;
	char pin_dir[PATH_MAX];
	int dir_fd;		/* the pin directory, also the change lock */
	int cfg_fd, state_fd, meta_fd, procs_fd, ip4_fd, ip6_fd, ifaces_fd;
	int globals_fd, kick_fd, subs_fd;
	int emit_fd;		/* prog/nf_emit, opened on first use */
	struct nf_filter_cfg *cfg;	/* mmap of nf_cfg */
	struct nf_globals *g;		/* mmap of nf_globals */
};

/* The pinned maps, in the order of the fds in struct netfil. */
#define NF_MAPS(X) X(cfg) X(state) X(meta) X(procs) X(ip4) X(ip6) X(ifaces) \
		   X(globals) X(kick) X(subs)

void nf_log(const struct netfil_opts *o, enum netfil_print_level lvl,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define pr_warn(nf, ...)  nf_log(&(nf)->opts, NETFIL_WARN, __VA_ARGS__)
#define pr_info(nf, ...)  nf_log(&(nf)->opts, NETFIL_INFO, __VA_ARGS__)
#define pr_debug(nf, ...) nf_log(&(nf)->opts, NETFIL_DEBUG, __VA_ARGS__)

int nf_lock(struct netfil *nf);
void nf_unlock(struct netfil *nf);
int nf_pin_path(const struct netfil *nf, char *buf, const char *sub,
		const char *name);
int nf_netns_cookie(uint64_t *cookie);
/* Run fn in every network namespace that has a process or a name in
 * /run/netns, then return to the caller's. */
int nf_for_each_netns(struct netfil *nf, int (*fn)(struct netfil *nf, void *arg),
		      void *arg);

/* The period kept in a filter's nf_meta, and back. */
void nf_meta_period(const struct nf_filter_meta *meta, struct netfil_period *p);
void nf_period_meta(const struct netfil_period *p, int64_t now, struct nf_filter_meta *meta);

/* A filter event for the subscribers, if there are any. */
void nf_emit_filter(struct netfil *nf, enum netfil_filter_op op, uint32_t id);

int nf_tc_attach(struct netfil *nf, int ifindex, bool *own_qdisc);
int nf_tc_detach(struct netfil *nf, int ifindex, bool own_qdisc);
/* netfil's tc filter is on the interface (its ingress side). */
bool nf_tc_attached(int ifindex);
/* Detach the tc filters of every interface netfil attached to in the current
 * namespace. */
int nf_tc_detach_netns(struct netfil *nf, void *arg);

#endif
