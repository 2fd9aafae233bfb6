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

/* The live view and its page (web.c): /, /view and /events on the
 * metrics server, read-only.  web_fd() may change after any call: poll
 * the fd it gives now, and call web_events() when it is readable;
 * web_tick() once a second. */
#define WEB_STREAMS_MAX 32	/* /events streams open at once, all users */
struct web;
struct MHD_Connection;
int web_open(const struct netfil_opts *opts, struct web **out);
int web_fd(const struct web *w);
void web_events(struct web *w);
void web_tick(struct web *w);
/* For metrics.c, once it has let the reader uid in: the reply to url
 * queued (MHD_YES or MHD_NO), or -ENOENT when url is none of web's;
 * *stream when the connection became an event stream. */
int web_request(struct web *w, struct MHD_Connection *c, const char *url, const char *method,
		uid_t uid, bool *stream);
struct web_stats {
	unsigned int streams;	/* open now */
	uint64_t refused;	/* over a cap (503) */
	uint64_t dropped;	/* fell STREAM_BACKLOG behind */
};
void web_stats(const struct web *w, struct web_stats *st);
/* Queue a reply that takes body (malloc'd), with the headers every reply
 * has (never cached, framed or sniffed; no referrer; no keep-alive) and,
 * if csp, a Content-Security-Policy.  MHD_YES or MHD_NO. */
int http_reply(struct MHD_Connection *c, unsigned int code, const char *type,
	       char *body, size_t len, const char *csp);
/* Ends every stream: before the server stops. */
void web_stop(struct web *w);
void web_close(struct web *w);

/* /metrics (Prometheus text format) and /status (JSON) on 127.0.0.1:port,
 * readable by root and by members of read_gid (-1: root only); w (may be
 * NULL) adds the page. */
struct metrics;
int metrics_start(struct netfil *nf, struct web *w, uint16_t port, gid_t read_gid,
		  struct metrics **out);
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
