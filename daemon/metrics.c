// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfild's read-only HTTP endpoints, on 127.0.0.1 only:
 *
 *   /metrics   Prometheus text format: every filter's bytes, packets,
 *              dropped bytes, limits, exceeded state, plus lost events
 *   /status    the same as JSON, in the shapes of "netfil -j"
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
 * the reply, sent once per connection, gets REPLY_TIMEOUT.
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

/* The connections one uid holds; a connection's socket context. */
struct peer {
	uid_t uid;
	unsigned int conns;
};

struct metrics {
	struct netfil *nf;
	struct MHD_Daemon *d;
	uint16_t port;
	gid_t read_gid;
	/* one slot per uid with connections: never more than CONN_LIMIT */
	struct peer peers[CONN_LIMIT];
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

	const struct { const char *name, *type, *help; uint64_t v; } globals[] = {
		{ "netfil_events_lost_total", "counter", "Events no subscriber had room for.",
		  st.events_lost },
		{ "netfil_event_subscribers", "gauge", "Event stream subscribers.", st.subscribers },
		{ "netfild_saves_total", "counter", "State file saves.", saves_total },
		{ "netfild_save_errors_total", "counter", "State file saves that failed.",
		  save_errors_total },
		{ "netfild_last_save_timestamp_seconds", "gauge", "When the state was last saved.",
		  (uint64_t)last_save_time },
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

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	/* no keep-alive: waiting for a next request would hold a slot */
	MHD_add_response_header(r, "Connection", "close");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	const union MHD_ConnectionInfo *ci;
	const struct peer *p;
	struct metrics *m = cls;
	const char *type = "text/plain; charset=utf-8";
	unsigned int code = 200;
	char *body = NULL;
	size_t len = 0;
	uid_t uid = (uid_t)-1;
	FILE *out;
	int err;

	(void)version; (void)upload; (void)upload_len; (void)con_cls;
	/* the request is in: from here on the client only reads */
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, REPLY_TIMEOUT);
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	p = ci ? ci->socket_context : NULL;
	if (p && p->uid != NO_UID) {
		uid = p->uid;
		err = 0;
	} else {	/* asked again, for the reason */
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		err = ci ? peer_uid(m, ci->client_addr, &uid) : -ENOENT;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = 405;
		fprintf(out, "only GET\n");
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
	} else if (!strcmp(url, "/metrics")) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		err = render_metrics(m, out);
	} else if (!strcmp(url, "/status")) {
		type = "application/json";
		err = render_status(m, out);
	} else {
		code = 404;
		fprintf(out, "not found: %s (/metrics or /status)\n", url);
	}
	if (code == 200 && err) {
		code = 500;
		fprintf(out, "\nerror: %s\n", strerror(-err));
	}
	if (fclose(out)) {
		free(body);
		return MHD_NO;
	}
	return reply(c, code, type, body, len);
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
	struct peer *p = *ctx;
	uid_t uid = NO_UID;
	int i;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (p) {
			p->conns--;
			if (p->uid != 0)
				m->others--;
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
	p = find_peer(m, uid);
	for (i = 0; !p && i < CONN_LIMIT; i++)
		if (!m->peers[i].conns)
			p = &m->peers[i];
	if (p) {	/* always: there are as many slots as connections */
		p->uid = uid;
		p->conns++;
		if (uid != 0)
			m->others++;
	}
	*ctx = p;
}

int metrics_start(struct netfil *nf, uint16_t port, gid_t read_gid, struct metrics **out)
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
	m->port = port;
	m->read_gid = read_gid;
	/* one above what accept_cb lets in: libmicrohttpd stops accepting at
	 * its limit, and the queue behind it would wait */
	m->d = MHD_start_daemon(MHD_USE_EPOLL, port, accept_cb, m, handle, m,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_TIMEOUT, HEADER_TIMEOUT,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT + 1,
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
	MHD_stop_daemon(m->d);
	free(m);
}
