// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Watching the directories of exe filters' files, so that a program
 * replaced by an upgrade (a new file, a new inode, at the same path) is
 * followed at once rather than at the next tick.  The directory, not the
 * file: an upgrade renames a new file over the old one, and a watch on
 * the old inode would see nothing but its deletion.
 *
 * The set is rebuilt only when socket filters change (netfil_status's
 * socket_gen), with a fresh inotify descriptor: simpler than keeping
 * watch descriptors in step with the filters, and rare.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <syslog.h>
#include <unistd.h>
#include "netfild.h"

#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | \
		    IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static void add_dir(int fd, const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	/* an existing directory only: a missing one is caught by the tick */
	inotify_add_watch(fd, dirname(buf), WATCH_MASK);
}

int watch_rebuild(struct watch *w, struct netfil *nf)
{
	struct netfil_filter *f = NULL;
	struct netfil_status st;
	char real[PATH_MAX];
	int n, i, fd;

	if (netfil_status(nf, &st))
		return -1;
	if (w->fd >= 0 && st.socket_gen == w->gen)
		return 0;
	n = netfil_filter_list(nf, NULL, 0);
	if (n > 0 && !(f = calloc((size_t)n, sizeof(*f))))
		return -ENOMEM;
	if (n > 0)
		n = netfil_filter_list(nf, f, n);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		free(f);
		return -errno;
	}
	for (i = 0; i < n; i++) {
		if (f[i].match.kind != NETFIL_SOCKET || f[i].match.by != NETFIL_BY_EXE)
			continue;
		add_dir(fd, f[i].match.path);
		/* a symlink's target may live elsewhere (alternatives) */
		if (realpath(f[i].match.path, real) && strcmp(real, f[i].match.path))
			add_dir(fd, real);
	}
	free(f);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->gen = st.socket_gen;
	return 1;
}

bool watch_changed(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	while (read(w->fd, buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

void watch_close(struct watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
