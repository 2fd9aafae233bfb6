// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Network namespaces: netfil's identity for one (its cookie), and a walk
 * over every namespace that has a process or a name in /run/netns, for
 * the jobs that must act where an interface or a socket lives.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

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
