// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfild's live page, on the /metrics server (metrics.c checks who may
 * read before anything here runs):
 *
 *   /          one self-contained page (page.html, built in): no asset,
 *              nothing fetched from anywhere, its script and style allowed
 *              by a nonce fresh for each reply
 *   /view      the view model as JSON, with each filter's rate history
 *   /events    the same model as a Server-Sent Events stream: "view" (with
 *              history) first, then an "update" (without) each second the
 *              model changed, and a keep-alive comment after 15 s of
 *              silence
 *
 * Read-only, by decision: nothing on the web side changes netfil, not even
 * for root with a CSRF token.  A page in a browser is a confused deputy (any
 * site the browser visits can send requests to 127.0.0.1 with the user's
 * identity as sock_diag sees it), and what would be gained is what the root
 * CLI already does.  Changes stay with the root CLI.
 *
 * One view (lib/view.c) serves every client: it is updated each second,
 * so the graphs have minutes of history whenever a page opens, and at once
 * when its event stream says a filter changed.  Socket tracking (which
 * takes one of the event stream's few subscriber slots, and CPU) is on only
 * while a stream is open or /view was read in the last VIEW_HOLD seconds.
 *
 * Streams never make netfild wait: each has its own buffer, filled here and
 * drained by libmicrohttpd's content reader, which suspends the connection
 * when nothing is pending; a new message resumes it.  A client that lets
 * more than STREAM_BACKLOG bytes pile up (a stalled or vanished browser) is
 * dropped, never waited for.  Streams are capped per uid and in all, and
 * counted apart from metrics.c's request shares, so open pages never take
 * the connections a /metrics scrape needs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/random.h>
#include <microhttpd.h>
#include "netfild.h"
#include "page.h"

#define STREAMS_PER_UID	8
#define STREAM_BACKLOG	(1u << 20)	/* bytes unsent before a stream is dropped */
#define STREAM_TIMEOUT	30u	/* seconds a stream may fail to send (> KEEPALIVE_MS) */
#define KEEPALIVE_MS	15000
#define PUSH_GAP_MS	250	/* event-driven updates, at most 4 a second */
#define VIEW_HOLD_MS	30000	/* sockets tracked this long after a /view */
#define NONCE_MARK	"@NONCE@"

struct stream {
	struct stream *next, **pprev;
	struct web *w;
	struct MHD_Connection *c;
	uid_t uid;
	char *buf;		/* [off, len) is pending */
	size_t off, len, size;
	int64_t last_ms;	/* when something was last queued */
	bool suspended, dead;
};

struct web {
	struct netfil_view *v;
	struct stream *streams;
	unsigned int n_streams;
	bool sockets;
	int64_t view_ms;	/* the last /view; 0: never */
	int64_t push_ms;	/* the last update pushed */
	char *last;		/* the last model pushed, "time" left out */
	uint64_t refused, dropped;
	time_t refused_logged, dropped_logged, error_logged;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Once a minute at most: a stuck condition is not logged each second. */
static bool log_due(time_t *last)
{
	time_t t = time(NULL);

	if (*last && t - *last < 60)
		return false;
	*last = t;
	return true;
}

/* Model text: compact, rates with 7 digits (history floats in full
 * would triple the size). */
static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(7));
}

static int append(struct stream *s, const char *data, size_t n)
{
	size_t want;
	char *p;

	if (s->off == s->len)
		s->off = s->len = 0;
	if (s->off && s->len + n > s->size) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len + n > s->size) {
		want = s->size ? s->size : 4096;
		while (want < s->len + n)
			want *= 2;
		p = realloc(s->buf, want);
		if (!p)
			return -ENOMEM;
		s->buf = p;
		s->size = want;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->last_ms = mono_ms();
	return 0;
}

static void wake(struct stream *s)
{
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->c);
	}
}

/* Closed by libmicrohttpd as soon as it touches the connection again (the
 * reader says "error"), or after a second of not getting anywhere. */
static void drop(struct stream *s)
{
	s->dead = true;
	free(s->buf);
	s->buf = NULL;
	s->off = s->len = s->size = 0;
	wake(s);
	MHD_set_connection_option(s->c, MHD_CONNECTION_OPTION_TIMEOUT, 1u);
}

/* libmicrohttpd asks for the next bytes of a stream. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n;

	(void)pos;
	if (s->dead)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (s->off == s->len) {
		/* nothing pending: out of the loop until a message comes */
		s->off = s->len = 0;
		s->suspended = true;
		MHD_suspend_connection(s->c);
		return 0;
	}
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* The response is gone, and the connection with it. */
static void stream_free(void *cls)
{
	struct stream *s = cls;

	if (s->pprev) {
		*s->pprev = s->next;
		if (s->next)
			s->next->pprev = s->pprev;
		s->w->n_streams--;
	}
	free(s->buf);
	free(s);
}

/* One SSE message: "event: NAME" and the model as one data line (compact
 * JSON has no newline).  body is the model without "time", which goes
 * first: a second that changed nothing else sends nothing. */
static char *message(const char *event, const char *time_json, const char *body, size_t *len)
{
	char *m = NULL;
	int n;

	n = asprintf(&m, "event: %s\ndata: {\"time\":%s%s%s\n\n", event, time_json,
		     body[1] == '}' ? "" : ",", body + 1);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return m;
}

/* The model as text: body without "time", and time as JSON. */
static int model(struct web *w, unsigned int flags, char **body, char **time_json)
{
	json_t *j = netfil_view_json(w->v, flags), *t;

	*body = *time_json = NULL;
	if (!j)
		return -ENOMEM;
	t = json_object_get(j, "time");
	*time_json = t ? json_dumps(t, JSON_ENCODE_ANY) : strdup("null");
	json_object_del(j, "time");
	*body = dump(j);
	json_decref(j);
	if (!*body || !*time_json) {
		free(*body);
		free(*time_json);
		*body = *time_json = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Send the model to every stream, if it changed since the last push. */
static void push(struct web *w)
{
	struct stream *s, *next;
	char *body, *tj, *msg;
	size_t len;

	if (!w->n_streams || model(w, 0, &body, &tj))
		return;
	if (w->last && !strcmp(w->last, body)) {
		free(body);
		free(tj);
		return;
	}
	msg = message("update", tj, body, &len);
	free(tj);
	free(w->last);
	w->last = body;
	w->push_ms = mono_ms();
	if (!msg)
		return;
	for (s = w->streams; s; s = next) {
		next = s->next;
		if (s->dead)
			continue;
		if (s->len - s->off > STREAM_BACKLOG || append(s, msg, len)) {
			w->dropped++;
			if (log_due(&w->dropped_logged))
				logmsg(LOG_WARNING, "/events: dropping a client of uid %u that "
				       "does not keep up (%zu bytes unsent; %llu dropped)", s->uid,
				       s->len - s->off, (unsigned long long)w->dropped);
			drop(s);
			continue;
		}
		wake(s);
	}
	free(msg);
}

static void keepalive(struct web *w)
{
	static const char ka[] = ": keep-alive\n\n";
	int64_t now = mono_ms();
	struct stream *s;

	for (s = w->streams; s; s = s->next)
		if (!s->dead && now - s->last_ms >= KEEPALIVE_MS && !append(s, ka, sizeof(ka) - 1))
			wake(s);
}

/* Sockets tracked while someone looks. */
static void want_sockets(struct web *w)
{
	bool want = w->n_streams || (w->view_ms && mono_ms() - w->view_ms < VIEW_HOLD_MS);
	int err;

	if (want == w->sockets)
		return;
	err = netfil_view_set_sockets(w->v, want);
	if (err) {
		if (log_due(&w->error_logged))
			logmsg(LOG_WARNING, "live view: socket tracking %s: %s",
			       want ? "on" : "off", strerror(-err));
		return;
	}
	w->sockets = want;
	if (want) {	/* the first reply shows them already */
		err = netfil_view_update(w->v);
		if (err && log_due(&w->error_logged))
			logmsg(LOG_WARNING, "live view: %s", strerror(-err));
	}
}

int web_open(const struct netfil_opts *opts, struct web **out)
{
	/* history always: a page opened later still draws minutes of it */
	struct netfil_view_opts vo = { 0 };
	struct web *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	err = netfil_view_open(opts, &vo, &w->v);
	if (!err)
		err = netfil_view_set_sockets(w->v, false);
	if (!err)
		err = netfil_view_update(w->v);
	if (err) {
		netfil_view_close(w->v);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

int web_fd(const struct web *w)
{
	return w ? netfil_view_fd(w->v) : -1;
}

void web_events(struct web *w)
{
	int n = netfil_view_events(w->v), err;

	if (n < 0) {
		if (log_due(&w->error_logged))
			logmsg(LOG_WARNING, "live view: events: %s", strerror(-n));
		return;
	}
	/* a filter changed or crossed a limit: shown now, not at the tick,
	 * unless the last push was a moment ago (the tick catches up) */
	if (n > 0 && w->n_streams && mono_ms() - w->push_ms >= PUSH_GAP_MS) {
		err = netfil_view_update(w->v);
		if (err && log_due(&w->error_logged))
			logmsg(LOG_WARNING, "live view: %s", strerror(-err));
		push(w);
	}
}

void web_tick(struct web *w)
{
	int err;

	if (!w)
		return;
	err = netfil_view_update(w->v);
	if (err && log_due(&w->error_logged))
		logmsg(LOG_WARNING, "live view: %s", strerror(-err));
	want_sockets(w);
	push(w);
	keepalive(w);
}

/* Before libmicrohttpd stops: it must find no connection suspended. */
void web_stop(struct web *w)
{
	struct stream *s;

	for (s = w ? w->streams : NULL; s; s = s->next)
		if (!s->dead)
			drop(s);
}

void web_close(struct web *w)
{
	struct stream *s;

	if (!w)
		return;
	/* (none left once libmicrohttpd stopped; unlinked all the same) */
	for (s = w->streams; s; s = s->next)
		s->pprev = NULL;
	netfil_view_close(w->v);
	free(w->last);
	free(w);
}

void web_stats(const struct web *w, struct web_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!w)
		return;
	st->streams = w->n_streams;
	st->refused = w->refused;
	st->dropped = w->dropped;
}

/* A reply with the headers every web reply has: never cached, never
 * framed, never sniffed, and no referrer leaves the page. */
int http_reply(struct MHD_Connection *c, unsigned int code, const char *type,
	       char *body, size_t len, const char *csp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (csp)
		MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "Connection", "close");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static int text(struct MHD_Connection *c, unsigned int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int text(struct MHD_Connection *c, unsigned int code, const char *fmt, ...)
{
	char *body = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return http_reply(c, code, "text/plain; charset=utf-8", body, (size_t)n, NULL);
}

/* The page, its nonce marks replaced by a fresh nonce. */
static int page(struct MHD_Connection *c)
{
	const char *src = (const char *)page_html, *end = src + page_html_len, *p;
	unsigned char raw[16];
	char nonce[33], csp[512], *body = NULL;
	size_t len = 0;
	FILE *out;
	int i;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return text(c, 500, "error: no random nonce: %s\n", strerror(errno));
	for (i = 0; i < 16; i++)
		snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	while ((p = memmem(src, (size_t)(end - src), NONCE_MARK, strlen(NONCE_MARK)))) {
		fwrite(src, 1, (size_t)(p - src), out);
		fputs(nonce, out);
		src = p + strlen(NONCE_MARK);
	}
	fwrite(src, 1, (size_t)(end - src), out);
	if (fclose(out)) {
		free(body);
		return MHD_NO;
	}
	/* nothing from anywhere but this page and its own /events */
	snprintf(csp, sizeof(csp), "default-src 'none'; script-src 'nonce-%s'; "
		 "style-src 'nonce-%s'; connect-src 'self'; img-src data:; base-uri 'none'; "
		 "form-action 'none'; frame-ancestors 'none'", nonce, nonce);
	return http_reply(c, 200, "text/html; charset=utf-8", body, len, csp);
}

static int view(struct web *w, struct MHD_Connection *c)
{
	json_t *j;
	char *body;

	w->view_ms = mono_ms();
	want_sockets(w);
	j = netfil_view_json(w->v, NETFIL_VIEW_HISTORY);
	body = j ? dump(j) : NULL;
	json_decref(j);
	if (!body)
		return text(c, 500, "error: %s\n", strerror(ENOMEM));
	return http_reply(c, 200, "application/json", body, strlen(body), NULL);
}

static unsigned int streams_of(const struct web *w, uid_t uid)
{
	const struct stream *s;
	unsigned int n = 0;

	for (s = w->streams; s; s = s->next)
		n += s->uid == uid;
	return n;
}

static int events(struct web *w, struct MHD_Connection *c, uid_t uid, bool *stream)
{
	struct MHD_Response *r;
	struct stream *s;
	char *body, *tj, *msg;
	size_t len;
	enum MHD_Result ret;
	int err;

	if (w->n_streams >= WEB_STREAMS_MAX || streams_of(w, uid) >= STREAMS_PER_UID) {
		w->refused++;
		if (log_due(&w->refused_logged))
			logmsg(LOG_WARNING, "/events: refusing uid %u: %u streams open, %u of them "
			       "its own (at most %d and %d; %llu refused)", uid, w->n_streams,
			       streams_of(w, uid), WEB_STREAMS_MAX, STREAMS_PER_UID,
			       (unsigned long long)w->refused);
		return text(c, 503, "busy: too many event streams open (at most %d, %d per user)\n",
			    WEB_STREAMS_MAX, STREAMS_PER_UID);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->w = w;
	s->c = c;
	s->uid = uid;
	s->next = w->streams;
	if (s->next)
		s->next->pprev = &s->next;
	s->pprev = &w->streams;
	w->streams = s;
	w->n_streams++;
	want_sockets(w);
	/* the first message: the whole model, with history */
	err = model(w, NETFIL_VIEW_HISTORY, &body, &tj);
	msg = err ? NULL : message("view", tj, body, &len);
	free(body);
	free(tj);
	if (msg) {
		static const char retry[] = "retry: 3000\n";

		err = append(s, retry, sizeof(retry) - 1) ?: append(s, msg, len);
		free(msg);
	} else {
		err = -ENOMEM;
	}
	r = err ? NULL : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
							   stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return text(c, 500, "error: %s\n", strerror(ENOMEM));
	}
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, STREAM_TIMEOUT);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);	/* s goes with it when it was not queued */
	*stream = ret == MHD_YES;
	return ret;
}

int web_request(struct web *w, struct MHD_Connection *c, const char *url, const char *method,
		uid_t uid, bool *stream)
{
	*stream = false;
	if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
		return page(c);
	if (!strcmp(url, "/view"))
		return view(w, c);
	if (!strcmp(url, "/events")) {
		if (strcmp(method, "GET"))
			return text(c, 405, "only GET\n");
		return events(w, c, uid, stream);
	}
	return -ENOENT;
}
