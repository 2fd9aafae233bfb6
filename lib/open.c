// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Opening the loaded netfil: the pin directory, its change lock, the
 * pinned maps (nf_cfg and nf_globals memory-mapped), and status.
 *
 * Layout of the pin directory (default /sys/fs/bpf/netfil):
 *   <map>          every map of the BPF object, e.g. nf_cfg, nf_state
 *   prog/<prog>    every program
 *   link/<prog>    the cgroup attachments; removing a pin detaches
 * tc attachments are netlink filters (handle NF_TC_HANDLE, priority
 * NF_TC_PRIO) recorded in nf_ifaces (tc.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "internal.h"
void nf_log(const struct netfil_opts *o, enum netfil_print_level lvl,
	    const char *fmt, ...)
{
	va_list ap;

	if (!o->print)
		return;
	va_start(ap, fmt);
	o->print(lvl, fmt, ap);
	va_end(ap);
}

int nf_pin_path(const struct netfil *nf, char *buf, const char *sub,
		const char *name)
{
	int n;

	if (sub)
		n = snprintf(buf, PATH_MAX, "%s/%s/%s", nf->pin_dir, sub, name);
	else
		n = snprintf(buf, PATH_MAX, "%s/%s", nf->pin_dir, name);
	return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

void nf_resolve_opts(struct netfil *nf, const struct netfil_opts *opts)
{
	const char *dir = opts ? opts->pin_dir : NULL;

	if (opts)
		nf->opts = *opts;
	if (!dir || !*dir)
		dir = getenv("NETFIL_PIN_DIR");
	if (!dir || !*dir)
		dir = NETFIL_DEFAULT_PIN_DIR;
	snprintf(nf->pin_dir, sizeof(nf->pin_dir), "%s", dir);
	nf->dir_fd = -1;
	nf->txn_fd = -1;
}

int nf_lock(struct netfil *nf)
{
	if (nf->dir_fd < 0) {
		nf->dir_fd = open(nf->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (nf->dir_fd < 0)
			return -errno;
	}
	if (flock(nf->dir_fd, LOCK_EX))
		return -errno;
	nf_txn_recover(nf);
	return 0;
}

void nf_unlock(struct netfil *nf)
{
	if (nf->owner_bits_stale)	/* still ours: no change can run */
		nf_owner_bits_rebuild(nf);
	if (nf->dir_fd >= 0)
		flock(nf->dir_fd, LOCK_UN);
}

static void *map_mmap(int fd, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	size = (size + page - 1) / page * page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

#define CFG_BYTES (sizeof(struct nf_filter_cfg) * NF_MAX_FILTERS)

/* Maps of another layout (netfil loaded by another version): read with
 * this one's, every slot would be misread, and written, spoiled. */
static int check_layout(const struct netfil *nf)
{
	const struct { int fd; __u32 size; } m[] = {
		{ nf->cfg_fd, sizeof(struct nf_filter_cfg) },
		{ nf->state_fd, sizeof(struct nf_filter_state) },
		{ nf->credit_fd, sizeof(struct nf_credit) },
		{ nf->meta_fd, sizeof(struct nf_filter_meta) },
		{ nf->globals_fd, sizeof(struct nf_globals) },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(m[i].fd, &info, &len))
			return -errno;
		if (info.value_size != m[i].size)
			return -EPROTO;
	}
	return 0;
}

int nf_pin_fd(struct netfil *nf, int *fd, const char *sub, const char *name)
{
	char path[PATH_MAX];

	if (*fd >= 0)
		return *fd;
	if (nf_pin_path(nf, path, sub, name))
		return -ENAMETOOLONG;
	*fd = bpf_obj_get(path);
	return *fd >= 0 ? *fd : -errno;
}

int netfil_open(const struct netfil_opts *opts, struct netfil **out)
{
	char path[PATH_MAX];
	struct netfil *nf;
	int err = 0;

	nf = calloc(1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	nf_resolve_opts(nf, opts);
	nf->emit_fd = -1;
	nf->relay_fd = nf->odst_fd = -1;
	nf->qlive_fd = nf->qlookup_fd = -1;
	nf->txn_fd = -1;
#define OPEN_MAP(n) nf->n##_fd = -1;
	NF_MAPS(OPEN_MAP)
#undef OPEN_MAP
#define OPEN_MAP(n)						\
	if (!err) {						\
		err = nf_pin_path(nf, path, NULL, "nf_" #n);	\
		if (!err) {					\
			nf->n##_fd = bpf_obj_get(path);		\
			if (nf->n##_fd < 0)			\
				err = -errno;			\
		}						\
	}
	NF_MAPS(OPEN_MAP)
#undef OPEN_MAP
	/* counters without credit: a version from before nf_credit */
	if (err == -ENOENT && nf->state_fd >= 0 && nf->credit_fd < 0)
		err = -EPROTO;
	if (!err)
		err = check_layout(nf);
	if (err)
		goto fail;
	/* the undo journal; a netfil loaded by a version without it still
	 * opens (and unloads), its changes merely not crash-atomic */
	if (!nf_pin_path(nf, path, NULL, "nf_txn"))
		nf->txn_fd = bpf_obj_get(path);
	nf->cfg = map_mmap(nf->cfg_fd, CFG_BYTES);
	nf->g = map_mmap(nf->globals_fd, sizeof(struct nf_globals));
	if (!nf->cfg || !nf->g) {
		err = -errno;
		goto fail;
	}
	/* A change that died halfway is undone before anyone reads: taking
	 * the lock does it (and waits for a change still running). */
	if (nf_txn_pending(nf) && !nf_lock(nf))
		nf_unlock(nf);
	*out = nf;
	return 0;
fail:
	netfil_close(nf);
	return err;
}

void netfil_close(struct netfil *nf)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!nf)
		return;
	if (nf->cfg)
		munmap(nf->cfg, (CFG_BYTES + page - 1) / page * page);
	if (nf->g)
		munmap(nf->g, page);
#define CLOSE_MAP(n) if (nf->n##_fd >= 0) close(nf->n##_fd);
	NF_MAPS(CLOSE_MAP)
#undef CLOSE_MAP
	if (nf->dir_fd >= 0)
		close(nf->dir_fd);
	if (nf->txn_fd >= 0)
		close(nf->txn_fd);
	if (nf->emit_fd >= 0)
		close(nf->emit_fd);
	if (nf->relay_fd >= 0)
		close(nf->relay_fd);
	if (nf->odst_fd >= 0)
		close(nf->odst_fd);
	if (nf->qlive_fd >= 0)
		close(nf->qlive_fd);
	if (nf->qlookup_fd >= 0)
		close(nf->qlookup_fd);
	free(nf);
}

int netfil_status(struct netfil *nf, struct netfil_status *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	st->loaded = nf_is_loaded(nf);
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%.*s",
		 (int)sizeof(st->pin_dir) - 1, nf->pin_dir);
	snprintf(st->cgroup, sizeof(st->cgroup), "%s", nf->g->cgroup);
	st->cgroup_id = nf->g->cgroup_id;
	st->reaper_pid = nf_reaper_alive(nf->g) ? (int)nf->g->reaper_pid : 0;
	st->match_overflow = nf->g->match_overflow;
	st->rst_passed = nf->g->rst_passed;
	st->deleted = nf->g->deleted;
	st->socket_gen = __atomic_load_n(&nf->g->sock_gen, __ATOMIC_RELAXED);
	st->relay = netfil_relay_live(nf);
	if (st->relay)
		nf_relay_addr_text(nf, st->relay_addr, sizeof(st->relay_addr));
	for (i = 0; i < NF_MAX_SUBS; i++) {
		st->events_lost += nf->g->sub_lost[i];
		st->subscribers += !!(nf->g->subs_mask & (1u << i));
	}
	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (nf->cfg[i].id && nf->cfg[i].kind < 4)
			st->n_filters[nf->cfg[i].kind]++;
	return 0;
}
