// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Filters by program, user and service: what an exe, cgroup or unit
 * filter's path denotes, and following it when that changes.
 *
 * The kernel side matches identities, not names: an executable by the
 * device and inode of the file the process runs (so a link or a rename is
 * the same program), a cgroup by its id.  Names are for people and change
 * under them: a package upgrade writes a new file (new inode) at the same
 * path, a restarted service gets a new cgroup directory (new id).
 * netfil_owner_sync() moves each filter's nf_owners entry to what its
 * path denotes now; until something does, the filter lists as stale.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "internal.h"

/* Unit search: systemd puts a unit's cgroup a few levels below the root
 * (system.slice/foo.service, user.slice/user-1000.slice/...). */
#define UNIT_DEPTH 8
#define UNIT_DIRS  20000

/* The kernel's dev_t (what the BPF side reads from the superblock) from
 * the one stat(2) gives. */
static __u64 kdev(dev_t d)
{
	return ((__u64)major(d) << 20) | minor(d);
}

static dev_t udev(__u64 k)
{
	return makedev((unsigned int)(k >> 20), (unsigned int)(k & 0xfffff));
}

int netfil_exe_identity(const char *path, uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (path[0] != '/')
		return -EINVAL;
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return -EACCES;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

static bool on_cgroup2(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int put_dir(const char *real, char *dir, size_t len, uint64_t *id)
{
	struct stat st;

	if (stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (strlen(real) >= len)
		return -ENAMETOOLONG;
	strcpy(dir, real);
	*id = st.st_ino;	/* a cgroup v2 directory's inode is the cgroup id */
	return 0;
}

int netfil_cgroup_resolve(const char *path, char *dir, size_t len, uint64_t *id)
{
	char root[PATH_MAX], buf[PATH_MAX * 2], real[PATH_MAX];

	if (!path[0])
		return -EINVAL;
	if (realpath(path, real) && on_cgroup2(real))
		return put_dir(real, dir, len, id);
	/* a path below the mount, as /proc/PID/cgroup and systemd show it */
	if (nf_cgroup2_root(root, sizeof(root)))
		return -ENOENT;
	snprintf(buf, sizeof(buf), "%s/%s", root, path[0] == '/' ? path + 1 : path);
	if (!realpath(buf, real) || !on_cgroup2(real))
		return -ENOENT;
	return put_dir(real, dir, len, id);
}

struct unit_walk {
	const char *name;
	char best[PATH_MAX];
	int best_depth;
	int budget;
};

/* The shallowest directory named w->name below dir: the system
 * manager's unit, not a user manager's of the same name. */
static void walk(struct unit_walk *w, const char *dir, int depth)
{
	char sub[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (depth >= UNIT_DEPTH || depth + 1 >= w->best_depth || --w->budget < 0)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) && w->budget > 0) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= sizeof(sub))
			continue;
		if (!strcmp(e->d_name, w->name)) {
			snprintf(w->best, sizeof(w->best), "%s", sub);
			w->best_depth = depth + 1;
			continue;
		}
		walk(w, sub, depth + 1);
	}
	closedir(d);
}

int netfil_unit_resolve(const char *name, char *dir, size_t len, uint64_t *id)
{
	struct unit_walk w = { .name = name, .best_depth = UNIT_DEPTH + 1, .budget = UNIT_DIRS };
	char root[PATH_MAX];

	if (!name[0] || strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	if (nf_cgroup2_root(root, sizeof(root)))
		return -ENOENT;
	walk(&w, root, 0);
	if (w.best_depth > UNIT_DEPTH)
		return -ENOENT;
	return put_dir(w.best, dir, len, id);
}

/* A path is dir or below it (both canonical). */
bool nf_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (!path[n] || path[n] == '/');
}

/* A cgroup filter on a cgroup whose sockets never meet netfil's programs
 * would never count: -EXDEV. */
static int check_within(struct netfil *nf, const char *dir)
{
	char attach[PATH_MAX];

	if (!realpath(nf->g->cgroup, attach))
		return 0;	/* no view to compare: let it be */
	return nf_path_within(dir, attach) ? 0 : -EXDEV;
}

/* A cgroup path that does not exist yet is inside the attach cgroup, by
 * its words alone (it cannot be resolved). */
static bool lexically_within(struct netfil *nf, const char *path)
{
	char root[PATH_MAX], attach[PATH_MAX], full[PATH_MAX * 2];
	size_t n;

	if (!realpath(nf->g->cgroup, attach) || nf_cgroup2_root(root, sizeof(root)))
		return true;	/* no view to compare: let it be */
	if (nf_path_within(path, root))
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", root, path[0] == '/' ? path + 1 : path);
	n = strlen(full);
	while (n > 1 && full[n - 1] == '/')
		full[--n] = '\0';
	return !strstr(full, "/../") && nf_path_within(full, attach);
}

/* What meta's path denotes now, as an nf_owners key (and, for cgroups and
 * units, the canonical directory into dir). */
static int resolve(struct netfil *nf, const struct nf_filter_meta *meta, const char *path,
		   struct nf_owner_key *key, char *dir)
{
	uint64_t a, b;
	int err;

	memset(key, 0, sizeof(*key));
	switch (meta->proc_match) {
	case NF_PROC_EXE:
		err = netfil_exe_identity(path, &a, &b);
		if (err)
			return err;
		*key = (struct nf_owner_key){ .kind = NF_OWN_EXE, .a = kdev((dev_t)a), .b = b };
		snprintf(dir, NF_PATH_LEN, "%s", path);
		return 0;
	case NF_PROC_CGROUP:
		err = netfil_cgroup_resolve(path, dir, NF_PATH_LEN, &a);
		break;
	case NF_PROC_UNIT: {
		const char *slash = strrchr(path, '/');

		/* the directory it had, if it still stands; else search */
		err = slash && on_cgroup2(path) ? put_dir(path, dir, NF_PATH_LEN, &a) : -ENOENT;
		if (err)
			err = netfil_unit_resolve(slash ? slash + 1 : path, dir, NF_PATH_LEN, &a);
		break;
	}
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	*key = (struct nf_owner_key){ .kind = NF_OWN_CGROUP, .a = a };
	return check_within(nf, dir);
}

/* The nf_meta of a new exe, user, cgroup or unit filter.  lenient: a
 * path that resolves to nothing is taken unlinked (owner.kind 0), for
 * netfil_owner_sync() to link when it appears. */
int nf_owner_meta(struct netfil *nf, const struct netfil_match *m, bool lenient,
		  struct nf_filter_meta *meta)
{
	char dir[NF_PATH_LEN];
	int err;

	if (m->by == NETFIL_BY_USER) {
		meta->owner = (struct nf_owner_key){ .kind = NF_OWN_USER, .a = m->uid };
		return 0;
	}
	if (!m->path[0] || strnlen(m->path, sizeof(m->path)) >= NF_PATH_LEN)
		return -EINVAL;
	if (m->by == NETFIL_BY_EXE && m->path[0] != '/')
		return -EINVAL;
	snprintf(meta->path, sizeof(meta->path), "%s", m->path);
	err = resolve(nf, meta, m->path, &meta->owner, dir);
	if (err == -EXDEV || (err && !lenient))
		return err;
	if (err && m->by == NETFIL_BY_CGROUP && !lexically_within(nf, m->path))
		return -EXDEV;	/* it could never count, whenever it appears */
	if (!err)
		memcpy(meta->path, dir, sizeof(meta->path));
	return 0;
}

/* The unit name of a unit filter's nf_meta path (a directory once found). */
static const char *unit_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void nf_owner_match(const struct nf_filter_meta *meta, struct netfil_match *m)
{
	m->resolved = meta->owner.kind != 0;
	switch (meta->proc_match) {
	case NF_PROC_USER:
		m->uid = (uint32_t)meta->owner.a;
		return;
	case NF_PROC_EXE:
		snprintf(m->path, sizeof(m->path), "%.*s", NF_PATH_LEN - 1, meta->path);
		if (m->resolved) {
			m->dev = udev(meta->owner.a);
			m->ino = meta->owner.b;
		}
		return;
	case NF_PROC_CGROUP:
	case NF_PROC_UNIT:
		if (meta->proc_match == NF_PROC_UNIT)
			snprintf(m->path, sizeof(m->path), "%s", unit_name(meta->path));
		else
			snprintf(m->path, sizeof(m->path), "%.*s", NF_PATH_LEN - 1, meta->path);
		if (m->resolved) {
			snprintf(m->cgroup_dir, sizeof(m->cgroup_dir), "%.*s", NF_PATH_LEN - 1,
				 meta->path);
			m->cgroup_id = meta->owner.a;
		}
		return;
	}
}

/* The filter matches something other than what its path denotes now (or
 * nothing).  Read-only: no search, one stat. */
bool nf_owner_stale(const struct nf_filter_meta *meta)
{
	struct stat st;
	uint64_t dev, ino;

	switch (meta->proc_match) {
	case NF_PROC_EXE:
		return !meta->owner.kind || netfil_exe_identity(meta->path, &dev, &ino) ||
		       kdev((dev_t)dev) != meta->owner.a || ino != meta->owner.b;
	case NF_PROC_CGROUP:
	case NF_PROC_UNIT:
		return !meta->owner.kind || stat(meta->path, &st) || st.st_ino != meta->owner.a ||
		       !on_cgroup2(meta->path);
	}
	return false;
}

int nf_owner_link(struct netfil *nf, __u32 slot, __u32 id, const struct nf_filter_meta *meta)
{
	struct nf_ref ref = { .slot = slot, .id = id };

	const struct nf_owner_key *k = &meta->owner;
	__u32 h;

	if (!k->kind)
		return 0;	/* nothing to match yet */
	h = nf_owner_hash(k->kind, k->a, k->b);
	__atomic_or_fetch(&nf->g->owner_bits[h / 64], 1ULL << (h % 64), __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(nf->owners_fd, k, &ref, BPF_NOEXIST))
		return -errno;
	return 0;
}

int nf_owner_unlink(struct netfil *nf, const struct nf_filter_meta *meta)
{
	if (!meta->owner.kind)
		return 0;
	if (bpf_map_delete_elem(nf->owners_fd, &meta->owner) && errno != ENOENT)
		return -errno;
	nf->owner_bits_stale = true;	/* nf_unlock() rebuilds them */
	return 0;
}

/* A pid or tree filter's key in owner_bits: before its link. */
void nf_proc_bit(struct netfil *nf, const struct nf_proc_key *k)
{
	__u32 h = nf_owner_hash(NF_OWN_PROC, k->tgid, k->start);

	__atomic_or_fetch(&nf->g->owner_bits[h / 64], 1ULL << (h % 64), __ATOMIC_SEQ_CST);
}

/* owner_bits from the keys in nf_owners and nf_procs, under the change
 * lock: only the bits of keys gone are cleared, so no socket ever misses a
 * filter. */
void nf_owner_bits_rebuild(struct netfil *nf)
{
	__u64 bits[NF_OWNER_BITS / 64] = {};
	struct nf_owner_key k, *prev = NULL;
	struct nf_proc_key pk, *pprev = NULL;
	__u32 h, i;

	while (!bpf_map_get_next_key(nf->owners_fd, prev, &k)) {
		h = nf_owner_hash(k.kind, k.a, k.b);
		bits[h / 64] |= 1ULL << (h % 64);
		prev = &k;
	}
	while (!bpf_map_get_next_key(nf->procs_fd, pprev, &pk)) {
		h = nf_owner_hash(NF_OWN_PROC, pk.tgid, pk.start);
		bits[h / 64] |= 1ULL << (h % 64);
		pprev = &pk;
	}
	for (i = 0; i < NF_OWNER_BITS / 64; i++)
		__atomic_store_n(&nf->g->owner_bits[i], bits[i], __ATOMIC_SEQ_CST);
	nf->owner_bits_stale = false;
}

/* The id of the filter on key, or 0. */
uint32_t nf_owner_holder(struct netfil *nf, const struct nf_owner_key *key)
{
	struct nf_ref ref;

	if (!key->kind || bpf_map_lookup_elem(nf->owners_fd, key, &ref))
		return 0;
	return ref.id;
}

/* Move one filter to what its path denotes now: 1 if it moved (or, with
 * dry, would move). */
static int follow(struct netfil *nf, __u32 slot, bool dry)
{
	struct nf_filter_meta meta, now;
	struct nf_owner_key key;
	char dir[NF_PATH_LEN];
	__u32 id = nf->cfg[slot].id;
	int err;

	if (bpf_map_lookup_elem(nf->meta_fd, &slot, &meta))
		return -errno;
	if (meta.proc_match < NF_PROC_EXE || meta.proc_match == NF_PROC_USER)
		return 0;
	/* A path that resolves to nothing (a file between delete and
	 * create, a stopped service) keeps the old link: processes that
	 * still run the old file stay matched. */
	if (resolve(nf, &meta, meta.path, &key, dir) ||
	    !memcmp(&key, &meta.owner, sizeof(key)))
		return 0;
	if (nf_owner_holder(nf, &key))
		return 0;	/* another filter has it: leave this one stale */
	if (dry)
		return 1;
	err = nf_txn_keep(nf, slot);
	if (err)
		return err;
	now = meta;
	now.owner = key;
	memcpy(now.path, dir, sizeof(now.path));
	/* nf_meta first, as in a rematch: the journal and nf_meta between
	 * them name every link there may be */
	if (bpf_map_update_elem(nf->meta_fd, &slot, &now, 0))
		return -errno;
	err = nf_owner_unlink(nf, &meta) ?: nf_owner_link(nf, slot, id, &now);
	if (err)
		return err;
	nf_bump_sock_gen(nf);
	nf_emit_filter(nf, NETFIL_OP_CHANGE, id);
	return 1;
}

static bool any_to_follow(struct netfil *nf)
{
	__u32 slot;

	for (slot = 0; slot < NF_MAX_FILTERS; slot++)
		if (nf->cfg[slot].id && nf->cfg[slot].kind == NF_KIND_SOCKET &&
		    follow(nf, slot, true) > 0)
			return true;
	return false;
}

int netfil_owner_sync(struct netfil *nf)
{
	int err, n = 0, r;
	__u32 slot;

	/* netfild calls this every second: look first, lock only to move */
	if (!any_to_follow(nf))
		return 0;
	err = nf_change_begin(nf);
	if (err)
		return err;
	for (slot = 0; slot < NF_MAX_FILTERS && !err; slot++) {
		if (!nf->cfg[slot].id || nf->cfg[slot].kind != NF_KIND_SOCKET)
			continue;
		r = follow(nf, slot, false);
		if (r < 0)
			err = r;
		else
			n += r;
	}
	err = nf_change_end(nf, err);
	return err ?: n;
}
