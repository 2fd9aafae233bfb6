// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading, pinning and unloading netfil, and the reaper.
 *
 * Layout of the pin directory (default /sys/fs/bpf/netfil):
 *   <map>          every map of netfil.bpf.c, e.g. nf_cfg, nf_state
 *   prog/<prog>    every program
 *   link/<prog>    the cgroup attachments; removing a pin detaches
 * tc attachments are netlink filters (handle NF_TC_HANDLE, priority
 * NF_TC_PRIO) recorded in nf_ifaces.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "netfil.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static const char *const cgroup_progs[] = {
	"nf_sock_create", "nf_cg_egress", "nf_cg_ingress", "nf_connect4",
	"nf_connect6", "nf_sendmsg4", "nf_sendmsg6", "nf_bind4", "nf_bind6",
	"nf_sockops", "nf_sock_release",
};

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

static void resolve_opts(struct netfil *nf, const struct netfil_opts *opts)
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
}

/* The cgroup v2 mount, from /proc/mounts: on hybrid systems it is not at
 * /sys/fs/cgroup. */
static int cgroup2_root(char *buf, size_t len)
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

	if (cgroup2_root(root, sizeof(root)) || !realpath(path, real))
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
	return cgroup2_root(buf, len);
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

int nf_lock(struct netfil *nf)
{
	if (nf->dir_fd < 0) {
		nf->dir_fd = open(nf->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (nf->dir_fd < 0)
			return -errno;
	}
	return flock(nf->dir_fd, LOCK_EX) ? -errno : 0;
}

void nf_unlock(struct netfil *nf)
{
	if (nf->dir_fd >= 0)
		flock(nf->dir_fd, LOCK_UN);
}

int nf_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

/* ------------------------------------------------------------------ */
/* open / close                                                        */

static void *map_mmap(int fd, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	size = (size + page - 1) / page * page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

#define CFG_BYTES (sizeof(struct nf_filter_cfg) * NF_MAX_FILTERS)

int netfil_open(const struct netfil_opts *opts, struct netfil **out)
{
	char path[PATH_MAX];
	struct netfil *nf;
	int err = 0;

	nf = calloc(1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	resolve_opts(nf, opts);
	nf->emit_fd = -1;
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
	if (err)
		goto fail;
	nf->cfg = map_mmap(nf->cfg_fd, CFG_BYTES);
	nf->g = map_mmap(nf->globals_fd, sizeof(struct nf_globals));
	if (!nf->cfg || !nf->g) {
		err = -errno;
		goto fail;
	}
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
	if (nf->emit_fd >= 0)
		close(nf->emit_fd);
	free(nf);
}

/* ------------------------------------------------------------------ */
/* load                                                                */

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

static bool is_loaded(struct netfil *nf)
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
	__u32 zero = 0;
	int cg_fd = -1, err;
	size_t i;

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
			err = run_iter(skel->progs.nf_stamp_existing);
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

static int remove_pins(struct netfil *nf);

int netfil_load(const struct netfil_opts *opts)
{
	char path[PATH_MAX];
	struct netfil nf0 = {}, *nf = &nf0;
	int err;

	resolve_opts(nf, opts);
	err = ensure_bpffs(nf);
	if (err)
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
	if (is_loaded(nf)) {
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

/* ------------------------------------------------------------------ */
/* unload                                                              */

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

static bool reaper_alive(struct nf_globals *g)
{
	uint64_t start;

	if (!g->reaper_pid)
		return false;
	if (netfil_proc_start((int)g->reaper_pid, &start))
		return false;
	return start == g->reaper_start;
}

static void stop_reaper(struct netfil *nf)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	if (!reaper_alive(nf->g))
		return;
	kill((pid_t)nf->g->reaper_pid, SIGTERM);
	for (i = 0; i < 300 && reaper_alive(nf->g); i++)
		nanosleep(&ts, NULL);
	if (reaper_alive(nf->g))
		kill((pid_t)nf->g->reaper_pid, SIGKILL);
}

int netfil_unload(const struct netfil_opts *opts)
{
	struct netfil *nf = NULL;
	struct netfil tmp = {};
	int err;

	err = netfil_open(opts, &nf);
	if (err == -ENOENT) {
		/* Not loaded, or partly: remove whatever pins remain. */
		resolve_opts(&tmp, opts);
		return remove_pins(&tmp);
	}
	if (err)
		return err;
	err = nf_lock(nf);
	if (err)
		goto out;
	stop_reaper(nf);
	err = nf_for_each_netns(nf, nf_tc_detach_netns, NULL);
	if (err)
		pr_warn(nf, "detaching tc filters: %s\n", strerror(-err));
	err = remove_pins(nf);
out:
	netfil_close(nf);
	return err;
}

int netfil_status(struct netfil *nf, struct netfil_status *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	st->loaded = is_loaded(nf);
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%.*s",
		 (int)sizeof(st->pin_dir) - 1, nf->pin_dir);
	snprintf(st->cgroup, sizeof(st->cgroup), "%s", nf->g->cgroup);
	st->cgroup_id = nf->g->cgroup_id;
	st->reaper_pid = reaper_alive(nf->g) ? (int)nf->g->reaper_pid : 0;
	st->match_overflow = nf->g->match_overflow;
	st->rst_passed = nf->g->rst_passed;
	for (i = 0; i < NF_MAX_SUBS; i++) {
		st->events_lost += nf->g->sub_lost[i];
		st->subscribers += !!(nf->g->subs_mask & (1u << i));
	}
	for (i = 0; i < NF_MAX_FILTERS; i++)
		if (nf->cfg[i].id && nf->cfg[i].kind < 4)
			st->n_filters[nf->cfg[i].kind]++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Network namespaces and tc                                           */

static int add_ns(ino_t *seen, int *n, int max, ino_t ino)
{
	int i;

	for (i = 0; i < *n; i++)
		if (seen[i] == ino)
			return 0;
	if (*n < max)
		seen[(*n)++] = ino;
	return 1;
}

static int visit_ns(struct netfil *nf, const char *path, ino_t *seen, int *n,
		    int max, int (*fn)(struct netfil *, void *), void *arg)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* the process is gone: nothing to do there */
	if (fstat(fd, &st) || !add_ns(seen, n, max, st.st_ino)) {
		close(fd);
		return 0;
	}
	err = setns(fd, CLONE_NEWNET) ? -errno : fn(nf, arg);
	close(fd);
	return err;
}

int nf_for_each_netns(struct netfil *nf, int (*fn)(struct netfil *, void *),
		      void *arg)
{
	enum { MAX_NS = 4096 };
	char path[PATH_MAX];
	struct dirent *de;
	int self, n = 0, err = 0, e;
	ino_t *seen;
	DIR *d;

	seen = calloc(MAX_NS, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		free(seen);
		return -errno;
	}
	err = visit_ns(nf, "/proc/self/ns/net", seen, &n, MAX_NS, fn, arg);
	const char *dirs[] = { "/run/netns", "/proc" };
	for (size_t k = 0; k < 2; k++) {
		d = opendir(dirs[k]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (k == 1) {
				if (de->d_name[0] < '1' || de->d_name[0] > '9')
					continue;
				snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
			} else {
				snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
			}
			e = visit_ns(nf, path, seen, &n, MAX_NS, fn, arg);
			err = err ?: e;
		}
		closedir(d);
	}
	if (setns(self, CLONE_NEWNET))
		err = err ?: -errno;
	close(self);
	free(seen);
	return err;
}

static int tc_prog_fd(struct netfil *nf, const char *name)
{
	char path[PATH_MAX];

	int fd;

	if (nf_pin_path(nf, path, "prog", name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int nf_tc_attach(struct netfil *nf, int ifindex, bool *own_qdisc)
{
	static const char *const progs[2] = { "nf_tc_ingress", "nf_tc_egress" };
	static const enum bpf_tc_attach_point pts[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err, i, fd;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	*own_qdisc = !err;
	for (i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = NF_TC_HANDLE,
				    .priority = NF_TC_PRIO, .flags = BPF_TC_F_REPLACE);

		fd = tc_prog_fd(nf, progs[i]);
		if (fd < 0) {
			err = fd;
			break;
		}
		o.prog_fd = fd;
		hook.attach_point = pts[i];
		err = bpf_tc_attach(&hook, &o);
		close(fd);
		if (err)
			break;
	}
	if (err)
		nf_tc_detach(nf, ifindex, *own_qdisc);
	return err;
}

bool nf_tc_attached(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = NF_TC_HANDLE, .priority = NF_TC_PRIO);

	return !bpf_tc_query(&hook, &o);
}

int nf_tc_detach(struct netfil *nf, int ifindex, bool own_qdisc)
{
	static const enum bpf_tc_attach_point pts[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex);
	int i, err = 0, e;

	(void)nf;
	for (i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = NF_TC_HANDLE,
				    .priority = NF_TC_PRIO);

		hook.attach_point = pts[i];
		e = bpf_tc_detach(&hook, &o);
		if (e && e != -ENOENT && e != -EINVAL && e != -ENODEV)
			err = err ?: e;
	}
	if (own_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		e = bpf_tc_hook_destroy(&hook);
		if (e && e != -ENOENT && e != -EINVAL && e != -ENODEV)
			err = err ?: e;
	}
	return err;
}

int nf_tc_detach_netns(struct netfil *nf, void *arg)
{
	struct nf_if_key key, next, *prev = NULL;
	struct nf_if_val v;
	uint64_t cookie;
	int err = 0, e;

	(void)arg;
	e = nf_netns_cookie(&cookie);
	if (e)
		return e;
	while (!bpf_map_get_next_key(nf->ifaces_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.netns != cookie ||
		    bpf_map_lookup_elem(nf->ifaces_fd, &key, &v))
			continue;
		e = nf_tc_detach(nf, (int)key.ifindex, v.own_qdisc);
		err = err ?: e;
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* The reaper                                                          */

static int reap_netns(struct netfil *nf, void *arg)
{
	int link_fd = *(int *)arg, fd;
	char buf[64];

	(void)nf;
	fd = bpf_iter_create(link_fd);
	if (fd < 0)
		return -errno;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}

int netfil_reap(struct netfil *nf)
{
	char path[PATH_MAX];
	int prog_fd, link_fd, err;

	err = nf_pin_path(nf, path, "prog", "nf_reap_tcp");
	if (err)
		return err;
	prog_fd = bpf_obj_get(path);
	if (prog_fd < 0)
		return -errno;
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, NULL);
	if (link_fd < 0) {
		err = -errno;
		close(prog_fd);
		return err;
	}
	/* iter/tcp walks the namespace of whoever creates the iterator. */
	err = nf_for_each_netns(nf, reap_netns, &link_fd);
	close(link_fd);
	close(prog_fd);
	return err;
}

static int on_kick(void *ctx, void *data, size_t len)
{
	(void)data;
	(void)len;
	*(int *)ctx = 1;
	return 0;
}

static void register_reaper(struct nf_globals *g, pid_t pid)
{
	uint64_t start;

	if (netfil_proc_start(pid, &start))
		return;
	g->reaper_start = start;
	__atomic_store_n(&g->reaper_pid, (uint32_t)pid, __ATOMIC_RELEASE);
}

static volatile int reaper_stop;

static void on_term(int sig)
{
	(void)sig;
	reaper_stop = 1;
}

int netfil_reaper_serve(const struct netfil_opts *opts)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct netfil *nf;
	int err;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	err = netfil_open(opts, &nf);
	if (err)
		return err;
	err = netfil_reaper_run(nf, &reaper_stop);
	netfil_close(nf);
	return err;
}

/* The reaper is detached from the caller's session and from its stdio, so
 * that "$(netfil load)" returns at once. */
int netfil_reaper_spawn(const struct netfil_opts *opts)
{
	struct netfil *nf;
	pid_t pid;
	int fd, err;

	err = netfil_open(opts, &nf);
	if (err)
		return err;
	if (reaper_alive(nf->g))
		goto out;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		sigset_t none;

		/* the caller's blocked signals (a daemon's signalfd) would
		 * keep the reaper's SIGTERM handler from ever running */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		prctl(PR_SET_NAME, "netfil-reaper");
		netfil_close(nf);
		_exit(netfil_reaper_serve(opts) ? 1 : 0);
	}
	/* Registered by the parent: no window in which an unload could
	 * miss the child. */
	register_reaper(nf->g, pid);
out:
	netfil_close(nf);
	return err;
}

int netfil_reaper_run(struct netfil *nf, volatile int *stop)
{
	struct ring_buffer *rb;
	int kicked = 1, err = 0;

	/* One reaper per pin directory: unload stops the registered one. */
	if (reaper_alive(nf->g) && nf->g->reaper_pid != (uint32_t)getpid())
		return -EALREADY;
	register_reaper(nf->g, getpid());
	rb = ring_buffer__new(nf->kick_fd, on_kick, &kicked, NULL);
	if (!rb)
		return -errno;
	while (!*stop && is_loaded(nf)) {
		if (kicked) {
			kicked = 0;
			err = netfil_reap(nf);
			if (err)
				pr_warn(nf, "reaping blocked connections: %s\n",
					strerror(-err));
		}
		err = ring_buffer__poll(rb, 1000);
		if (err < 0 && err != -EINTR)
			break;
		err = 0;
	}
	ring_buffer__free(rb);
	return err;
}
