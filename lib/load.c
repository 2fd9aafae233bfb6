// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading netfil into the kernel (programs, maps and links pinned, the
 * cgroup programs attached, sockets that predate it stamped) and
 * unloading it (everything netfil created removed).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "netfil.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const cgroup_progs[] = {
	"nf_sock_create", "nf_cg_egress", "nf_cg_ingress", "nf_connect4",
	"nf_connect6", "nf_sendmsg4", "nf_sendmsg6", "nf_bind4", "nf_bind6",
	"nf_sockops", "nf_sock_release", "nf_getpeername4", "nf_getpeername6",
	"nf_getsockopt", "nf_recvmsg4", "nf_recvmsg6",
};

/* The cgroup v2 mount, from /proc/mounts: on hybrid systems it is not at
 * /sys/fs/cgroup. */
int nf_cgroup2_root(char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/mounts", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			err = 0;
			break;
		}
	}
	endmntent(f);
	return err;
}

/* Depth of a cgroup below the cgroup v2 root: the number of path
 * components past the mount point. */
static __u32 cgroup_level(const char *path)
{
	char root[PATH_MAX], real[PATH_MAX];
	const char *p;
	__u32 n = 0;

	if (nf_cgroup2_root(root, sizeof(root)) || !realpath(path, real))
		return 0;
	p = real + strlen(root);
	if (strncmp(real, root, strlen(root)))
		return 0;
	for (; *p; p++)
		n += *p == '/' && p[1] && p[1] != '/';
	return n;
}

static int resolve_cgroup(const struct netfil_opts *opts, char *buf, size_t len)
{
	const char *cg = opts ? opts->cgroup : NULL;

	if (!cg || !*cg)
		cg = getenv("NETFIL_CGROUP");
	if (cg && *cg) {
		snprintf(buf, len, "%s", cg);
		return 0;
	}
	return nf_cgroup2_root(buf, len);
}

/* Pins must live on a bpffs; mount one at /sys/fs/bpf if nothing is there. */
static int ensure_bpffs(struct netfil *nf)
{
	char parent[PATH_MAX], *slash;
	struct statfs sfs;

	snprintf(parent, sizeof(parent), "%s", nf->pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!statfs(parent, &sfs) && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (strncmp(parent, "/sys/fs/bpf", 11)) {
		pr_warn(nf, "%s is not on a bpf filesystem\n", parent);
		return -EINVAL;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		pr_warn(nf, "cannot mount bpffs on /sys/fs/bpf: %s\n", strerror(errno));
		return -errno;
	}
	if (!statfs(parent, &sfs) && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	return -EINVAL;
}

static int run_iter(struct bpf_program *prog)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	char buf[256];
	int fd, err = 0;
	ssize_t n;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

/* The second pass of the walk of existing sockets, in one namespace. */
static int stamp_in(struct netfil *nf, void *arg)
{
	struct netfil_bpf *skel = arg;
	int err;

	(void)nf;
	err = run_iter(skel->progs.nf_stamp_tcp);
	return err ? err : run_iter(skel->progs.nf_stamp_udp);
}

/* Sockets opened before load: the task walk finds who holds them, the
 * tcp and udp walks of every namespace give them their records; what is
 * left (sockets closed in between) is cleared. */
static int stamp_existing(struct netfil *nf, struct netfil_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.nf_stamp_tmp);
	__u64 key;
	int err;

	err = run_iter(skel->progs.nf_stamp_existing);
	if (!err)
		err = nf_for_each_netns(nf, stamp_in, skel);
	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
	return err;
}

bool nf_is_loaded(struct netfil *nf)
{
	char path[PATH_MAX];

	if (nf_pin_path(nf, path, "link", "nf_cg_egress"))
		return false;
	return access(path, F_OK) == 0;
}

static int load_locked(struct netfil *nf, const struct netfil_opts *opts)
{
	struct bpf_link *links[sizeof(cgroup_progs) / sizeof(cgroup_progs[0])] = {};
	char path[PATH_MAX], cgroup[PATH_MAX];
	struct netfil_bpf *skel = NULL;
	struct bpf_program *prog;
	struct bpf_map *map;
	struct nf_globals g;
	struct stat st;
	__u32 zero = 0, qmark;
	int cg_fd = -1, err;
	size_t i;

	if (netfil_queue_mark_resolve(opts, &g.q_mark)) {
		pr_warn(nf, "the queue mark must be 2 to 16 contiguous bits whose highest is "
			"not in netfil's relay mark 0x%08x\n", NF_RELAY_MARK);
		return -EINVAL;
	}
	qmark = g.q_mark;
	err = resolve_cgroup(opts, cgroup, sizeof(cgroup));
	if (err) {
		pr_warn(nf, "no cgroup v2 mount found in /proc/mounts\n");
		return err;
	}
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		err = -errno;
		pr_warn(nf, "cannot open cgroup %s: %s\n", cgroup, strerror(errno));
		goto out;
	}

	skel = netfil_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	bpf_object__for_each_map(map, skel->obj) {
		err = nf_pin_path(nf, path, NULL, bpf_map__name(map));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			goto out;
	}
	err = netfil_bpf__load(skel);
	if (err) {
		pr_warn(nf, "loading the BPF programs failed: %s\n", strerror(-err));
		goto out;
	}

	bpf_object__for_each_program(prog, skel->obj) {
		err = nf_pin_path(nf, path, "prog", bpf_program__name(prog));
		if (!err)
			err = bpf_program__pin(prog, path);
		if (err)
			goto out;
	}

	err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.nf_globals), &zero, &g);
	if (err)
		goto out;
	if (!g.sock_gen)
		g.sock_gen = 1;
	if (strlen(cgroup) >= sizeof(g.cgroup)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	memcpy(g.cgroup, cgroup, strlen(cgroup) + 1);
	g.cgroup_level = cgroup_level(cgroup);
	g.cgroup_id = st.st_ino;
	g.q_mark = qmark;
	g.q_shift = (__u32)__builtin_ctz(qmark);
	err = bpf_map_update_elem(bpf_map__fd(skel->maps.nf_globals), &zero, &g, 0);
	if (err)
		goto out;

	/* sock_create first: a socket opened from here on is stamped at
	 * birth, one opened before is found by the walk below. */
	for (i = 0; i < sizeof(cgroup_progs) / sizeof(cgroup_progs[0]); i++) {
		prog = bpf_object__find_program_by_name(skel->obj, cgroup_progs[i]);
		links[i] = bpf_program__attach_cgroup(prog, cg_fd);
		if (!links[i]) {
			err = -errno;
			pr_warn(nf, "attaching %s to %s failed: %s\n", cgroup_progs[i],
				cgroup, strerror(errno));
			goto out;
		}
		if (i == 0) {
			err = stamp_existing(nf, skel);
			if (err) {
				pr_warn(nf, "stamping existing sockets failed: %s\n",
					strerror(-err));
				goto out;
			}
		}
	}
	for (i = 0; i < sizeof(cgroup_progs) / sizeof(cgroup_progs[0]); i++) {
		err = nf_pin_path(nf, path, "link", cgroup_progs[i]);
		if (!err)
			err = bpf_link__pin(links[i], path);
		if (err)
			goto out;
	}
	pr_info(nf, "netfil loaded: pins in %s, attached to %s\n", nf->pin_dir, cgroup);
out:
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		bpf_link__destroy(links[i]);
	netfil_bpf__destroy(skel);
	if (cg_fd >= 0)
		close(cg_fd);
	return err;
}

static int unlink_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	closedir(d);
	return err;
}

/* Links first: removing a link's last reference detaches it. */
static int remove_pins(struct netfil *nf)
{
	char path[PATH_MAX];
	int err = 0, e;

	nf_pin_path(nf, path, NULL, "link");
	err = unlink_dir(path);
	rmdir(path);
	nf_pin_path(nf, path, NULL, "prog");
	e = unlink_dir(path);
	err = err ?: e;
	rmdir(path);
	e = unlink_dir(nf->pin_dir);
	err = err ?: e;
	if (rmdir(nf->pin_dir) && errno != ENOENT)
		err = err ?: -errno;
	return err;
}

/* Loading again is a no-op only for the same attach cgroup: another one
 * would silently keep the first (-EBUSY, with the cgroup in use named). */
static int same_cgroup(struct netfil *nf, const struct netfil_opts *opts)
{
	char want[PATH_MAX], a[PATH_MAX], b[PATH_MAX], path[PATH_MAX];
	struct nf_globals g;
	__u32 zero = 0;
	int fd, err;

	err = resolve_cgroup(opts, want, sizeof(want)) ?:
	      nf_pin_path(nf, path, NULL, "nf_globals");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(fd, &zero, &g) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	g.cgroup[sizeof(g.cgroup) - 1] = '\0';
	if (!realpath(want, a) || !realpath(g.cgroup, b) || strcmp(a, b)) {
		pr_warn(nf, "netfil is already loaded on cgroup %s; unload it first to attach to %s\n",
			g.cgroup, want);
		return -EBUSY;
	}
	return 0;
}

int netfil_load(const struct netfil_opts *opts)
{
	char path[PATH_MAX];
	struct netfil nf0 = {}, *nf = &nf0, *other;
	int err;

	nf_resolve_opts(nf, opts);
	err = ensure_bpffs(nf);
	if (err)
		return err;
	/* loaded already, by a version whose maps differ: not ours to use */
	err = netfil_open(opts, &other);
	if (!err)
		netfil_close(other);
	else if (err == -EPROTO)
		return err;
	if (mkdir(nf->pin_dir, 0700) && errno != EEXIST)
		return -errno;
	if (!nf_pin_path(nf, path, "prog", "") && mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	if (!nf_pin_path(nf, path, "link", "") && mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	err = nf_lock(nf);
	if (err)
		goto out;
	if (nf_is_loaded(nf)) {
		err = same_cgroup(nf, opts);
		if (!err)
			pr_info(nf, "netfil is already loaded (%s)\n", nf->pin_dir);
		goto out;
	}
	err = load_locked(nf, opts);
	if (err)
		remove_pins(nf);
out:
	if (nf->dir_fd >= 0)
		close(nf->dir_fd);
	return err;
}

int netfil_unload(const struct netfil_opts *opts)
{
	struct netfil *nf = NULL;
	struct netfil tmp = {};
	int err;

	err = netfil_open(opts, &nf);
	if (err == -ENOENT || err == -EPROTO) {
		/* Not loaded, partly, or by a version whose maps differ:
		 * remove whatever pins remain (the cgroup links with them). */
		nf_resolve_opts(&tmp, opts);
		if (err == -EPROTO)
			pr_warn(&tmp, "netfil was loaded by another version: its pins go; its "
				"reaper and tc filters, if any, stay until it is stopped\n");
		return remove_pins(&tmp);
	}
	if (err)
		return err;
	err = nf_lock(nf);
	if (err)
		goto out;
	nf_stop_reaper(nf);
	nf_queue_drop_all(nf);
	err = nf_for_each_netns(nf, nf_tc_detach_netns, NULL);
	if (err)
		pr_warn(nf, "detaching tc filters: %s\n", strerror(-err));
	err = remove_pins(nf);
out:
	netfil_close(nf);
	return err;
}
