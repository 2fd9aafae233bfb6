// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfild's read-only HTTP endpoints, on 127.0.0.1 only:
 *
 *   /metrics   Prometheus text format: every filter's bytes, packets,
 *              dropped bytes, limits, exceeded state, plus lost events
 *   /status    the same as JSON, in the shapes of "netfil -j"
 *   /, /view, /events   the live page, its model and its event stream
 *              (web.c), read-only
 *
 * libmicrohttpd does the HTTP; it runs in netfild's own poll loop, so the
 * daemon stays one thread.
 *
 * Who may read: a TCP port has no file mode, so the peer is identified by
 * asking the kernel who owns the connecting socket (sock_diag, the query
 * ss(8) makes), and let in when that is root or a member of the group
 * named by --read-group.  Everyone else gets 403.
 *
 * Fairness: one local user must not starve the others (a flood of
 * half-sent requests once kept root's /metrics unanswered for minutes).
 * The same lookup is made at accept, and every connection is charged to
 * its peer's uid: a uid holding PER_UID connections is refused there and
 * then, root's share is kept free of everyone else's, and libmicrohttpd's
 * own limit is never reached, so it never stops accepting and the listen
 * queue drains at once instead of serving a flood ahead of root.  A
 * connection idle for HEADER_TIMEOUT before its request is in is closed;
 * the reply, sent once per connection, gets REPLY_TIMEOUT.  A connection
 * that becomes an /events stream leaves its uid's share: web.c caps
 * streams apart, so open pages never hold what a scrape needs.
 *
 * Browsers: a page of another site must not read netfil through a reader's
 * browser.  Same-origin rules keep its scripts from reading our replies,
 * and a request whose Host is not a loopback name (DNS rebinding: another
 * site's name pointed at 127.0.0.1) or whose Origin is not ours gets 403.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <microhttpd.h>
#include "netfild.h"

#define CONN_LIMIT	256	/* all clients together */
#define PER_UID		16	/* one uid's share, root's included */
#define HEADER_TIMEOUT	3u	/* seconds idle before the request is in */
#define REPLY_TIMEOUT	10u	/* seconds idle while the reply is sent */
#define NO_UID		((uid_t)-1)	/* the peers sock_diag could not name: one share */
/* libmicrohttpd's own limit, one above what can be open (requests and
 * streams): it stops accepting at its limit, and the queue would wait */
#define MAX_CONNS	(CONN_LIMIT + WEB_STREAMS_MAX + 1)

/* The connections one uid holds; a connection's socket context. */
struct peer {
	uid_t uid;
	unsigned int conns;
};

/* A connection's socket context: whose it is, and the share it is
 * charged to (none once it is an event stream). */
struct conn {
	uid_t uid;
	struct peer *peer;
	bool used;
};

struct metrics {
	struct netfil *nf;
	struct web *web;
	struct MHD_Daemon *d;
	uint16_t port;
	gid_t read_gid;
	/* one slot per uid with connections: never more than CONN_LIMIT */
	struct peer peers[CONN_LIMIT];
	struct conn conns[MAX_CONNS];
	unsigned int others;	/* connections not root's */
	/* the uid accept_cb found, for conn_cb, which libmicrohttpd calls
	 * next for the same connection */
	struct sockaddr_in accepted;
	uid_t accepted_uid;
	uint64_t refused;
	time_t refused_logged;
};

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY)
		*(uid_t *)data = msg->idiag_uid;
	return MNL_CB_OK;
}

/* The owner of the client's end of a loopback connection to our port. */
static int peer_uid(const struct metrics *m, const struct sockaddr *peer, uid_t *uid)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)peer;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct inet_diag_req_v2 *req;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	unsigned int seq = (unsigned int)time(NULL);
	ssize_t n;
	int err = 0;

	if (peer->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = AF_INET;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0u;
	req->id.idiag_sport = sin->sin_port;
	req->id.idiag_dport = htons(m->port);
	req->id.idiag_src[0] = sin->sin_addr.s_addr;
	req->id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	*uid = (uid_t)-1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl),
				diag_cb, uid) < 0)
		err = -errno;
	else if (*uid == (uid_t)-1)
		err = -ENOENT;
out:
	mnl_socket_close(nl);
	return err;
}

static bool may_read(const struct metrics *m, uid_t uid)
{
	gid_t groups[256];
	struct passwd *pw;
	int n = 256, i;

	if (uid == 0)
		return true;
	if (m->read_gid == (gid_t)-1 || !(pw = getpwuid(uid)))
		return false;
	if (pw->pw_gid == m->read_gid)
		return true;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == m->read_gid)
			return true;
	return false;
}

/* Label values are quoted: backslash, quote and newline escaped. */
static void label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void labels(FILE *out, const struct netfil_filter *f, const char *extra)
{
	char m[512];

	netfil_format_match(&f->match, m, sizeof(m));
	fprintf(out, "{id=\"%u\",kind=\"%s\",match=\"", f->id, netfil_kind_name(f->match.kind));
	label(out, m);
	fprintf(out, "\"%s}", extra);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t get_bytes(const struct netfil_filter *f, int i) { return f->bytes[i]; }
static uint64_t get_packets(const struct netfil_filter *f, int i) { return f->packets[i]; }
static uint64_t get_dropped(const struct netfil_filter *f, int i) { return f->dropped[i]; }
static uint64_t get_exceeded(const struct netfil_filter *f, int i) { return f->exceeded[i]; }
static uint64_t get_limit(const struct netfil_filter *f, int i) { return f->limit[i]; }
static uint64_t get_on(const struct netfil_filter *f, int i) { (void)i; return f->on; }

/* The extra label of a family, its values the words of lib/names.c. */
enum by { BY_NONE, BY_DIR, BY_LIMIT };

static int by_count(enum by b)
{
	return b == BY_DIR ? 2 : b == BY_LIMIT ? 3 : 1;
}

static void by_label(enum by b, int i, char *buf, size_t len)
{
	if (b == BY_DIR)
		snprintf(buf, len, ",direction=\"%s\"", netfil_dir_name((enum netfil_dir)i));
	else if (b == BY_LIMIT)
		snprintf(buf, len, ",limit=\"%s\"", netfil_limit_name((enum netfil_limit)i));
	else
		buf[0] = '\0';
}

/* The per-filter families: one sample per filter and extra label. */
static const struct {
	const char *name, *type, *help;
	uint64_t (*get)(const struct netfil_filter *f, int i);
	enum by extra;
} families[] = {
	{ "netfil_filter_bytes_total", "counter", "Bytes a filter admitted (L3).",
	  get_bytes, BY_DIR },
	{ "netfil_filter_packets_total", "counter", "Packets a filter admitted.",
	  get_packets, BY_DIR },
	{ "netfil_filter_dropped_bytes_total", "counter", "Bytes a filter refused.",
	  get_dropped, BY_DIR },
	{ "netfil_filter_exceeded", "gauge", "1 while a filter's limit is reached.",
	  get_exceeded, BY_DIR },
	{ "netfil_filter_limit_bytes", "gauge", "A filter's byte limit (0: unlimited).",
	  get_limit, BY_LIMIT },
	{ "netfil_filter_on", "gauge", "1 when a filter is switched on.", get_on, BY_NONE },
};

/* The status and every filter, for one response. */
static int snapshot(struct metrics *m, struct netfil_status *st, struct netfil_filter **all)
{
	int n, err;

	err = netfil_status(m->nf, st);
	if (err)
		return err;
	n = netfil_filter_list(m->nf, NULL, 0);
	*all = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(**all));
	if (!*all)
		return -ENOMEM;
	n = n > 0 ? netfil_filter_list(m->nf, *all, n) : 0;
	if (n < 0) {
		free(*all);
		*all = NULL;
	}
	return n;
}

static int render_metrics(struct metrics *m, FILE *out)
{
	struct netfil_filter *all = NULL;
	struct netfil_status st;
	size_t k;
	int n, i, x;

	n = snapshot(m, &st, &all);
	if (n < 0)
		return n;
	for (k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		family(out, families[k].name, families[k].type, families[k].help);
		for (i = 0; i < n; i++)
			for (x = 0; x < by_count(families[k].extra); x++) {
				char extra[64];

				by_label(families[k].extra, x, extra, sizeof(extra));
				fputs(families[k].name, out);
				labels(out, &all[i], extra);
				fprintf(out, " %llu\n",
					(unsigned long long)families[k].get(&all[i], x));
			}
	}
	free(all);

	struct web_stats ws;

	web_stats(m->web, &ws);
	const struct { const char *name, *type, *help; uint64_t v; } globals[] = {
		{ "netfil_events_lost_total", "counter", "Events no subscriber had room for.",
		  st.events_lost },
		{ "netfil_event_subscribers", "gauge", "Event stream subscribers.", st.subscribers },
		{ "netfild_saves_total", "counter", "State file saves.", saves_total },
		{ "netfild_save_errors_total", "counter", "State file saves that failed.",
		  save_errors_total },
		{ "netfild_last_save_timestamp_seconds", "gauge", "When the state was last saved.",
		  (uint64_t)last_save_time },
		{ "netfild_web_streams", "gauge", "Open /events streams.", ws.streams },
		{ "netfild_web_streams_refused_total", "counter",
		  "/events streams refused: too many open.", ws.refused },
		{ "netfild_web_streams_dropped_total", "counter",
		  "/events streams dropped: the client did not keep up.", ws.dropped },
	};
	for (k = 0; k < sizeof(globals) / sizeof(globals[0]); k++) {
		family(out, globals[k].name, globals[k].type, globals[k].help);
		fprintf(out, "%s %llu\n", globals[k].name, (unsigned long long)globals[k].v);
	}
	return 0;
}

static int render_status(struct metrics *m, FILE *out)
{
	struct netfil_filter *all = NULL;
	struct netfil_status st;
	json_t *doc, *arr;
	int n, i, err;

	n = snapshot(m, &st, &all);
	if (n < 0)
		return n;
	/* netfil -j status, plus what only netfild knows, plus the filters */
	doc = netfil_status_json(&st);
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, netfil_filter_json(&all[i]));
	if (doc) {
		json_object_set_new(doc, "last_save", json_integer((json_int_t)last_save_time));
		json_object_set_new(doc, "filters", arr);
	}
	err = doc && !json_dumpf(doc, out, JSON_COMPACT) ? 0 : -ENOMEM;
	fputc('\n', out);
	json_decref(doc);
	free(all);
	return err;
}

/* A connection leaves its uid's share (closed, or now an event stream,
 * which web.c counts apart). */
static void uncharge(struct metrics *m, struct conn *k)
{
	if (!k || !k->peer)
		return;
	k->peer->conns--;
	if (k->uid != 0)
		m->others--;
	k->peer = NULL;
}

/* Host names this server answers to: loopback, by name or address, with
 * any port.  A page from elsewhere that a DNS name was rebound to
 * 127.0.0.1 names its own host.  No Host at all (HTTP/1.0) is let in. */
static bool loopback_host(const char *host)
{
	static const char *const names[] = { "127.0.0.1", "localhost", "[::1]" };
	size_t i, n;

	if (!host)
		return true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (!strncasecmp(host, names[i], n) &&
		    (!host[n] || (host[n] == ':' && host[n + 1] &&
				  strspn(host + n + 1, "0123456789") == strlen(host + n + 1))))
			return true;
	}
	return false;
}

/* A browser's request from another site's page carries that Origin. */
static bool same_origin(const char *origin, const char *host)
{
	return !origin || (host && !strncmp(origin, "http://", 7) && !strcmp(origin + 7, host));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *k;
	struct metrics *m = cls;
	const char *type = "text/plain; charset=utf-8", *host, *origin;
	unsigned int code = 200;
	char *body = NULL;
	size_t len = 0;
	uid_t uid = (uid_t)-1;
	bool stream;
	FILE *out;
	int err, ret;

	(void)version; (void)upload; (void)upload_len; (void)con_cls;
	/* the request is in: from here on the client only reads */
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, REPLY_TIMEOUT);
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	k = ci ? ci->socket_context : NULL;
	if (k && k->uid != NO_UID) {
		uid = k->uid;
		err = 0;
	} else {	/* asked again, for the reason */
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		err = ci ? peer_uid(m, ci->client_addr, &uid) : -ENOENT;
	}
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = 405;
		fprintf(out, "only GET: netfild's pages are read-only "
			"(changes: the netfil command, as root)\n");
	} else if (err || !may_read(m, uid)) {
		code = 403;
		if (err)
			fprintf(out, "forbidden: the client could not be identified (%s)\n",
				strerror(-err));
		else if (m->read_gid == (gid_t)-1)
			fprintf(out, "forbidden: uid %u may not read netfil (only root may)\n", uid);
		else {
			struct group *gr = getgrgid(m->read_gid);

			fprintf(out, "forbidden: uid %u may not read netfil (root and group %s may)\n",
				uid, gr ? gr->gr_name : "?");
		}
	} else if (!loopback_host(host) || !same_origin(origin, host)) {
		code = 403;
		fprintf(out, "forbidden: only requests to 127.0.0.1, localhost or [::1] from this "
			"server's own pages (Host %s, Origin %s)\n", host ? host : "none",
			origin ? origin : "none");
	} else if (!strcmp(url, "/metrics")) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		err = render_metrics(m, out);
	} else if (!strcmp(url, "/status")) {
		type = "application/json";
		err = render_status(m, out);
	} else if (m->web && (ret = web_request(m->web, c, url, method, uid, &stream)) != -ENOENT) {
		fclose(out);
		free(body);
		if (stream)
			uncharge(m, k);
		return ret == MHD_YES ? MHD_YES : MHD_NO;
	} else {
		code = 404;
		fprintf(out, "not found: %s (%s/metrics or /status)\n", url,
			m->web ? "/, /view, /events, " : "");
	}
	if (code == 200 && err) {
		code = 500;
		fprintf(out, "\nerror: %s\n", strerror(-err));
	}
	if (fclose(out)) {
		free(body);
		return MHD_NO;
	}
	return (enum MHD_Result)http_reply(c, code, type, body, len, NULL);
}

static struct peer *find_peer(struct metrics *m, uid_t uid)
{
	int i;

	for (i = 0; i < CONN_LIMIT; i++)
		if (m->peers[i].conns && m->peers[i].uid == uid)
			return &m->peers[i];
	return NULL;
}

static void log_refusal(struct metrics *m, uid_t uid, unsigned int held)
{
	time_t t = time(NULL);

	m->refused++;
	if (m->refused_logged && t - m->refused_logged < 60)
		return;		/* a flood is not logged line by line */
	m->refused_logged = t;
	if (uid == NO_UID)
		logmsg(LOG_WARNING, "/metrics: refusing clients that cannot be identified: "
		       "%u connections held (%llu refused)", held,
		       (unsigned long long)m->refused);
	else
		logmsg(LOG_WARNING, "/metrics: refusing uid %u: %u of its connections held, "
		       "%u by all but root (at most %d and %d; %llu refused)", uid, held,
		       m->others, PER_UID, CONN_LIMIT - PER_UID, (unsigned long long)m->refused);
}

/* At accept, before libmicrohttpd takes the connection. */
static enum MHD_Result accept_cb(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct metrics *m = cls;
	const struct peer *p;
	uid_t uid;

	if (peer_uid(m, addr, &uid))	/* AF_INET only: we listen on 127.0.0.1 */
		uid = NO_UID;
	p = find_peer(m, uid);
	if ((p && p->conns >= PER_UID) || (uid != 0 && m->others >= CONN_LIMIT - PER_UID)) {
		log_refusal(m, uid, p ? p->conns : 0);
		return MHD_NO;
	}
	if (addr->sa_family == AF_INET && len >= sizeof(m->accepted))
		memcpy(&m->accepted, addr, sizeof(m->accepted));
	m->accepted_uid = uid;
	return MHD_YES;
}

static void conn_cb(void *cls, struct MHD_Connection *c, void **ctx,
		    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct metrics *m = cls;
	const struct sockaddr_in *sin;
	struct conn *k = *ctx;
	struct peer *p;
	uid_t uid = NO_UID;
	int i;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (k) {
			uncharge(m, k);
			k->used = false;
		}
		*ctx = NULL;
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sin = ci ? (const struct sockaddr_in *)ci->client_addr : NULL;
	if (sin && sin->sin_family == AF_INET && sin->sin_port == m->accepted.sin_port &&
	    sin->sin_addr.s_addr == m->accepted.sin_addr.s_addr)
		uid = m->accepted_uid;
	else if (sin && peer_uid(m, ci->client_addr, &uid))	/* not from accept_cb */
		uid = NO_UID;
	m->accepted.sin_port = 0;
	/* always a free slot: libmicrohttpd holds at most MAX_CONNS */
	for (i = 0, k = NULL; !k && i < MAX_CONNS; i++)
		if (!m->conns[i].used)
			k = &m->conns[i];
	*ctx = k;
	if (!k)
		return;
	p = find_peer(m, uid);
	for (i = 0; !p && i < CONN_LIMIT; i++)
		if (!m->peers[i].conns)
			p = &m->peers[i];
	k->used = true;
	k->uid = uid;
	k->peer = p;	/* always: there are as many slots as connections */
	if (p) {
		p->uid = uid;
		p->conns++;
		if (uid != 0)
			m->others++;
	}
}

int metrics_start(struct netfil *nf, struct web *w, uint16_t port, gid_t read_gid,
		  struct metrics **out)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct metrics *m;
	int fd, one = 1;

	/* our own listening socket, so that a port in use or a privileged
	 * port is reported with its reason (libmicrohttpd says only "no") */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 4096)) {
		int err = -errno;

		close(fd);
		return err;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	m->nf = nf;
	m->web = w;
	m->port = port;
	m->read_gid = read_gid;
	/* suspend and resume: event streams wait for their next message
	 * outside the loop (web.c) */
	m->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, port, accept_cb, m,
				handle, m,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_TIMEOUT, HEADER_TIMEOUT,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNS,
				MHD_OPTION_NOTIFY_CONNECTION, conn_cb, m,
				MHD_OPTION_END);
	if (!m->d) {
		close(fd);
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

int metrics_fd(const struct metrics *m)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

int metrics_timeout(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!m || MHD_get_timeout(m->d, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void metrics_run(struct metrics *m)
{
	MHD_run(m->d);
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	/* no connection may be suspended when it stops: streams are ended,
	 * and a run takes them off its suspended list */
	web_stop(m->web);
	MHD_run(m->d);
	MHD_stop_daemon(m->d);
	free(m);
}
