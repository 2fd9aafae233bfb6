/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* netfild: shared between the daemon's own files. */
#ifndef NETFILD_H
#define NETFILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "../lib/netfil.h"

/* Logging: syslog (the journal under systemd), and stderr with -f. */
void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The state file: "netfil save counters" text followed by a last line
 *
 *   # netfild crc32 1a2b3c4d length 5678
 *
 * that covers every byte before it, so a torn or damaged file is told from
 * a good one.  The previous good copy is kept beside it as FILE.prev.
 */
int state_save(struct netfil *nf, const char *path);
/* At start, before the first save: if FILE says it is a suspect save,
 * FILE.prev stays the last clean one (see state.c). */
void state_resume(const char *path);
/* The newest good copy's text (FILE, else FILE.prev), malloc'd, in *text;
 * -ENOENT when neither exists, -EBADMSG when neither is good.  *which
 * names the file used. */
int state_read(const char *path, char **text, size_t *len, const char **which);

/* /metrics (Prometheus text format) and /status (JSON) on 127.0.0.1:port,
 * readable by root and by members of read_gid (-1: root only). */
struct metrics;
int metrics_start(struct netfil *nf, uint16_t port, gid_t read_gid, struct metrics **out);
/* External polling: poll metrics_fd() for POLLIN for at most
 * metrics_timeout() ms (-1: no limit; m may be NULL), then call
 * metrics_run() after every poll, whatever it returned. */
int metrics_fd(const struct metrics *m);
int metrics_timeout(struct metrics *m);
void metrics_run(struct metrics *m);
void metrics_stop(struct metrics *m);
/* The directories of exe filters' files (watch.c). */
struct watch {
	int fd;			/* inotify; -1: not built yet */
	uint32_t gen;		/* netfil_status.socket_gen it was built for */
};
/* Rebuild when socket filters changed: 1 if rebuilt (w->fd is new), 0
 * if not needed, -errno. */
int watch_rebuild(struct watch *w, struct netfil *nf);
/* Drain w->fd: true if anything happened there. */
bool watch_changed(struct watch *w);
void watch_close(struct watch *w);

/* Counted by the main loop, shown in /metrics. */
extern uint64_t saves_total, save_errors_total;
extern int64_t last_save_time;

#endif
