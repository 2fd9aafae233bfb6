// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The reaper: a small process that waits for reject filters to be
 * exceeded (nf_kick) and aborts the established TCP connections they
 * block, in every network namespace (iter/tcp with bpf_sock_destroy).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
bool nf_reaper_alive(struct nf_globals *g)
{
	uint64_t start;

	if (!g->reaper_pid)
		return false;
	if (netfil_proc_start((int)g->reaper_pid, &start))
		return false;
	return start == g->reaper_start;
}

void nf_stop_reaper(struct netfil *nf)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	if (!nf_reaper_alive(nf->g))
		return;
	kill((pid_t)nf->g->reaper_pid, SIGTERM);
	for (i = 0; i < 300 && nf_reaper_alive(nf->g); i++)
		nanosleep(&ts, NULL);
	if (nf_reaper_alive(nf->g))
		kill((pid_t)nf->g->reaper_pid, SIGKILL);
}

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
	if (nf_reaper_alive(nf->g))
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
		/* nothing of the caller's: an inherited pin-directory fd would
		 * hold its flock (the change lock) for as long as the reaper
		 * lives, after the caller died holding it */
		close_range(3, ~0U, 0);
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
	if (nf_reaper_alive(nf->g) && nf->g->reaper_pid != (uint32_t)getpid())
		return -EALREADY;
	register_reaper(nf->g, getpid());
	rb = ring_buffer__new(nf->kick_fd, on_kick, &kicked, NULL);
	if (!rb)
		return -errno;
	while (!*stop && nf_is_loaded(nf)) {
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
