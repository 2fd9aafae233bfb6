// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relay.c - netfil's relay: one thread, one epoll fd, no blocking call.
 *
 * TCP: a connection the kernel redirected to a listener is accepted, its
 * origin read (where it was going, through which proxy), and a second
 * connection made to the proxy, which is asked for the origin (SOCKS5
 * CONNECT or HTTP CONNECT).  Then bytes move both ways: by splice()
 * through a pipe per direction, or on the chunk path through a buffer
 * that on_data sees.  At most one of a direction's pipe and buffer
 * holds bytes at a time, so a switch of path never reorders them.
 *
 * UDP: datagrams from one client address share a session: a SOCKS5 UDP
 * ASSOCIATE control connection and a UDP socket connected to the relay
 * address the proxy gave.  Each datagram goes out with the header that
 * names its origin; replies come back to the client from the listener.
 *
 * The relay's own sockets carry NF_RELAY_MARK: the kernel side never
 * redirects them.  Objects that close during a dispatch are freed at its
 * end, so an event later in the same batch never sees freed memory.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"
#include "proxy.h"

#define DEF_MAX_CONNS	4096
#define DEF_CONNECT_MS	10000
#define DEF_UDP_IDLE_MS	60000
#define PIPE_SIZE	(1 << 20)	/* asked for; the default 64 KiB if refused */
#define CHUNK_READ	(32 << 10)	/* read at once on the chunk path ... */
#define CHUNK_CAP	(64 << 10)	/* ... with room for on_data to grow it */
#ifndef PUMP_ROUNDS
#define PUMP_ROUNDS	16		/* per direction and event: others get a turn */
#endif
#define ACCEPT_BATCH	64
#define UDP_BATCH	64
#define UDP_QUEUE	16		/* datagrams held while a session's handshake runs */
#define UDP_QUEUE_BYTES	(256 << 10)
#define UDP_MAX		65535
#define CONN_BUCKETS	1024
#define SESS_BUCKETS	256
#define MAX_EVENTS	64
#define ACCEPT_PAUSE_MS	100		/* out of fds: listen again after this */
#define BIND_TRIES	16		/* for a port free for TCP, UDP, v4 and v6 */

struct list {
	struct list *next, *prev;
};

static void list_init(struct list *l) { l->next = l->prev = l; }
static bool list_empty(const struct list *h) { return h->next == h; }

static void list_add_tail(struct list *n, struct list *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static void list_del(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

#define list_entry(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

enum ev_kind { EV_TCP_LISTEN, EV_UDP_LISTEN, EV_CLIENT, EV_UPSTREAM, EV_CTRL, EV_DGRAM };

/* What an epoll event points at: a socket and its owner. */
struct ev {
	enum ev_kind kind;
	int fd;
	uint32_t mask;		/* epoll's interest now; 0: not in the set */
	void *obj;
};

struct listener {
	struct ev tcp, udp;
	struct sockaddr_storage addr;
};

/* A handshake with the proxy (or a plain connect) under way. */
enum hs_state { HS_CONNECT, HS_METHOD, HS_AUTH, HS_REPLY, HS_HTTP, HS_DONE };
struct hs {
	enum hs_state state;
	int cmd;			/* NF_SOCKS_CONNECT, NF_SOCKS_UDP_ASSOCIATE */
	bool udp;			/* owner: a struct usess, else a struct conn */
	void *owner;
	uint64_t deadline;		/* CLOCK_MONOTONIC ms */
	struct list link;		/* r->handshakes: the timeout is one, so in deadline order */
	struct netfil_origin o;
	struct sockaddr_storage dst;	/* what the request names */
	struct sockaddr_storage bound;	/* what the reply named */
	uint8_t out[NF_SOCKS_MSG_MAX + 128];
	size_t out_len, out_off;
	uint8_t in[NF_HTTP_HDR_MAX];	/* the reply; after it, the tunnel's first bytes */
	size_t in_len;
};

/* One direction of a connection. */
struct dir {
	int pipe[2];			/* splice path; -1 until needed */
	size_t in_pipe, pipe_cap;
	bool pipe_full;			/* splice in said EAGAIN with bytes in the pipe */
	uint8_t *buf;			/* chunk path, and the bytes after a proxy's reply */
	size_t off, len;		/* buf[off..len) waits for the sink */
	bool eof;			/* the source is done ... */
	bool shut;			/* ... and the sink was shut down for writing */
};

struct conn {
	uint64_t id;
	struct conn *hnext;		/* r->conns[id % CONN_BUCKETS] */
	struct list link;		/* r->live or r->dead_conns */
	struct ev cli, up;
	struct hs *hs;			/* while the handshake runs */
	enum netfil_relay_path path;
	struct dir d[2];		/* enum netfil_dir: OUT client->proxy, IN back */
	bool dead;
};

struct dgram {
	struct list link;
	struct sockaddr_storage dst;
	size_t len;
	uint8_t data[];
};

/* The UDP traffic of one client address. */
struct usess {
	struct usess *hnext;		/* r->sess[hash(client)] */
	struct list link;		/* r->sessions (least recently used first), r->dead_sess */
	struct listener *l;		/* replies leave from its socket */
	struct sockaddr_storage client;
	socklen_t clen;
	struct ev ctrl, udp;
	struct hs *hs;
	struct netfil_proxy proxy;	/* the one it was made for */
	struct sockaddr_storage proxy_addr;
	struct list queue;		/* struct dgram, until the proxy answered */
	unsigned int qn;
	size_t qbytes;
	uint64_t last;			/* the last datagram either way, ms */
	bool dead;
};

struct netfil_relay {
	struct netfil *nf;
	struct netfil_relay_opts o;
	int epfd;
	struct listener l[2];
	int nl;
	uint64_t next_id;
	struct conn *conns[CONN_BUCKETS];
	struct list live, dead_conns, handshakes;
	struct usess *sess[SESS_BUCKETS];
	struct list sessions, dead_sess;
	unsigned int nsess;
	uint64_t accept_resume;		/* ms; 0: accepting */
	bool sigpipe;			/* a splice this dispatch raised SIGPIPE */
	struct netfil_relay_stats st;
	uint8_t dgram[NF_SOCKS_UDP_HDR_MAX + UDP_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int ev_set(struct netfil_relay *r, struct ev *e, uint32_t mask)
{
	struct epoll_event ee = { .events = mask, .data.ptr = e };
	int op;

	if (e->fd < 0 || e->mask == mask)
		return 0;
	/* out of the set while nothing is wanted: no EPOLLHUP storms */
	op = !mask ? EPOLL_CTL_DEL : e->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(r->epfd, op, e->fd, &ee))
		return -errno;
	e->mask = mask;
	return 0;
}

static void close_fd(int *fd, bool rst)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	if (rst)
		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(*fd);
	*fd = -1;
}

/* A socket of the relay's own, connecting or bound: never redirected. */
static int relay_socket(int family, int type)
{
	unsigned int mark = NF_RELAY_MARK;
	int one = 1, fd, err;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		goto fail;
	/* the relay passes on what it gets at once: no Nagle delay added */
	if (type == SOCK_STREAM && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int relay_resolve(struct netfil_relay *r, int proto, const struct sockaddr_storage *peer,
			 socklen_t len, struct netfil_origin *o)
{
	memset(o, 0, sizeof(*o));
	if (r->o.resolve)
		return r->o.resolve(r->o.ctx, proto, (const struct sockaddr *)peer, len, o);
	return netfil_origin_get(r->nf, proto, (const struct sockaddr *)peer, len, o);
}

/* ---- the handshake -------------------------------------------------------- */

static struct hs *hs_new(struct netfil_relay *r, const struct netfil_origin *o, int cmd,
			 bool udp, void *owner)
{
	struct hs *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->o = *o;
	h->cmd = cmd;
	h->udp = udp;
	h->owner = owner;
	h->state = HS_CONNECT;
	h->deadline = now_ms() + (uint64_t)r->o.connect_timeout_ms;
	list_add_tail(&h->link, &r->handshakes);
	return h;
}

static void hs_free(struct hs *h)
{
	if (!h)
		return;
	list_del(&h->link);
	free(h);
}

static int hs_put_request(struct hs *h)
{
	ssize_t n = nf_socks_request(h->out, sizeof(h->out), h->cmd, (struct sockaddr *)&h->dst);

	if (n < 0)
		return (int)n;
	h->out_len = (size_t)n;
	h->out_off = 0;
	h->state = HS_REPLY;
	return 0;
}

/* The message after the connect: the method selection, a CONNECT request,
 * or nothing (a transparent connection). */
static int hs_connected(struct hs *h)
{
	ssize_t n;

	switch (h->o.proxy.kind) {
	case NETFIL_PROXY_NONE:
		h->state = HS_DONE;
		return 0;
	case NETFIL_PROXY_SOCKS5:
		n = nf_socks_greeting(h->out, sizeof(h->out), h->o.proxy.user[0]);
		h->state = HS_METHOD;
		break;
	case NETFIL_PROXY_HTTP:
		n = nf_http_connect_request((char *)h->out, sizeof(h->out), (struct sockaddr *)&h->dst);
		h->state = HS_HTTP;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (n < 0)
		return (int)n;
	h->out_len = (size_t)n;
	h->out_off = 0;
	return 0;
}

/* The reply in h->in, if whole: what it takes (> 0, and the next state is
 * set), 0 while short, or -errno. */
static ssize_t hs_parse(struct hs *h)
{
	ssize_t n;
	int v;

	switch (h->state) {
	case HS_METHOD:
		n = nf_socks_method_reply(h->in, h->in_len, &v);
		if (n <= 0)
			return n;
		if (v == NF_SOCKS_USERPASS && h->o.proxy.user[0]) {
			ssize_t m = nf_socks_auth_request(h->out, sizeof(h->out), h->o.proxy.user,
							  h->o.proxy.pass);
			if (m < 0)
				return m;
			h->out_len = (size_t)m;
			h->out_off = 0;
			h->state = HS_AUTH;
			return n;
		}
		if (v != NF_SOCKS_NOAUTH)
			return -EACCES;	/* a method we did not offer */
		v = hs_put_request(h);
		return v ? v : n;
	case HS_AUTH:
		n = nf_socks_auth_reply(h->in, h->in_len);
		if (n <= 0)
			return n;
		v = hs_put_request(h);
		return v ? v : n;
	case HS_REPLY:
		n = nf_socks_reply(h->in, h->in_len, &h->bound);
		if (n > 0)
			h->state = HS_DONE;
		return n;
	case HS_HTTP:
		n = nf_http_connect_response((const char *)h->in, h->in_len, &v);
		if (n > 0)
			h->state = HS_DONE;
		return n;
	default:
		return -EPROTO;
	}
}

/* Advance h on fd: 1 done (h->in holds the tunnel's first bytes), 0
 * waiting for *mask, or -errno. */
static int hs_step(struct hs *h, int fd, uint32_t *mask)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	ssize_t n;
	int err;

	if (h->state == HS_CONNECT) {
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			return -errno;
		if (err)
			return -err;
		len = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &len)) {
			if (errno != ENOTCONN)
				return -errno;
			*mask = EPOLLOUT;
			return 0;
		}
		err = hs_connected(h);
		if (err)
			return err;
	}
	for (;;) {
		if (h->state == HS_DONE)
			return 1;
		if (h->out_off < h->out_len) {
			n = send(fd, h->out + h->out_off, h->out_len - h->out_off, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					return -errno;
				*mask = EPOLLOUT;
				return 0;
			}
			h->out_off += (size_t)n;
			continue;
		}
		n = hs_parse(h);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			memmove(h->in, h->in + n, h->in_len - (size_t)n);
			h->in_len -= (size_t)n;
			continue;
		}
		if (h->in_len == sizeof(h->in))
			return -EMSGSIZE;
		n = recv(fd, h->in + h->in_len, sizeof(h->in) - h->in_len, 0);
		if (!n)
			return -ECONNRESET;
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			*mask = EPOLLIN;
			return 0;
		}
		h->in_len += (size_t)n;
	}
}

/* ---- TCP connections ------------------------------------------------------ */

static struct conn *conn_find(const struct netfil_relay *r, uint64_t id)
{
	struct conn *c;

	for (c = r->conns[id % CONN_BUCKETS]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_close(struct netfil_relay *r, struct conn *c, bool rst)
{
	struct conn **pp;
	int i;

	if (c->dead)
		return;
	c->dead = true;
	for (pp = &r->conns[c->id % CONN_BUCKETS]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	list_del(&c->link);
	list_add_tail(&c->link, &r->dead_conns);
	hs_free(c->hs);
	c->hs = NULL;
	close_fd(&c->cli.fd, rst);
	close_fd(&c->up.fd, rst);
	for (i = 0; i < 2; i++) {
		close_fd(&c->d[i].pipe[0], false);
		close_fd(&c->d[i].pipe[1], false);
		free(c->d[i].buf);
		c->d[i].buf = NULL;
	}
	r->st.active--;
	if (r->o.on_close)
		r->o.on_close(r->o.ctx, c->id);
}

static int pipes_open(struct conn *c)
{
	int i, sz;

	for (i = 0; i < 2; i++) {
		struct dir *d = &c->d[i];

		if (d->pipe[0] >= 0)
			continue;
		if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC))
			return -errno;
		sz = fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
		if (sz < 0)
			sz = fcntl(d->pipe[1], F_GETPIPE_SZ);
		d->pipe_cap = sz > 0 ? (size_t)sz : 65536;
	}
	return 0;
}

static bool want_read(const struct conn *c, const struct dir *d)
{
	if (d->eof || d->off < d->len)
		return false;
	if (c->path == NETFIL_RELAY_SPLICE)
		return !d->pipe_full && d->in_pipe < d->pipe_cap;
	return !d->in_pipe;
}

static bool want_write(const struct dir *d)
{
	return !d->shut && (d->off < d->len || d->in_pipe);
}

static int conn_interest(struct netfil_relay *r, struct conn *c)
{
	struct dir *out = &c->d[NETFIL_OUT], *in = &c->d[NETFIL_IN];
	int err;

	err = ev_set(r, &c->cli, (want_read(c, out) ? EPOLLIN : 0) | (want_write(in) ? EPOLLOUT : 0));
	if (!err)
		err = ev_set(r, &c->up, (want_read(c, in) ? EPOLLIN : 0) | (want_write(out) ? EPOLLOUT : 0));
	return err;
}

/* buf[0..n) just read, through on_data: the length to forward, or -1. */
static long chunk_filter(struct netfil_relay *r, struct conn *c, enum netfil_dir i, size_t n)
{
	long m;

	if (!r->o.on_data)
		return (long)n;
	m = r->o.on_data(r->o.ctx, c->id, i, c->d[i].buf, n, CHUNK_CAP);
	return m < 0 || m > CHUNK_CAP ? -1 : m;
}

/* Move what can move in direction i: 0, or -errno to close. */
static int dir_pump(struct netfil_relay *r, struct conn *c, enum netfil_dir i)
{
	struct dir *d = &c->d[i];
	int src = i == NETFIL_OUT ? c->cli.fd : c->up.fd;
	int dst = i == NETFIL_OUT ? c->up.fd : c->cli.fd;
	int round;
	ssize_t n;

	for (round = 0; round < PUMP_ROUNDS && !d->shut; round++) {
		bool moved = false;

		/* what waits first: the buffer, else the pipe (never both) */
		if (d->off < d->len) {
			n = send(dst, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (n > 0) {
				d->off += (size_t)n;
				r->st.bytes[i] += (uint64_t)n;
				if (d->off == d->len)
					d->off = d->len = 0;
				moved = true;
			}
		} else if (d->in_pipe) {
			n = splice(d->pipe[0], NULL, dst, NULL, d->in_pipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EPIPE)
				r->sigpipe = true;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (n > 0) {
				d->in_pipe -= (size_t)n;
				r->st.bytes[i] += (uint64_t)n;
				d->pipe_full = false;
				moved = true;
			}
		}
		if (c->path == NETFIL_RELAY_SPLICE) {
			if (d->buf && d->off == d->len) {	/* the chunk path's, no longer used */
				free(d->buf);
				d->buf = NULL;
			}
			if (want_read(c, d)) {
				n = splice(src, NULL, d->pipe[1], NULL, d->pipe_cap - d->in_pipe,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					d->in_pipe += (size_t)n;
					moved = true;
				} else if (!n) {
					d->eof = true;
					moved = true;
				} else if (errno == EAGAIN) {
					/* the socket is empty, or the pipe full: the sink decides */
					d->pipe_full = d->in_pipe > 0;
				} else if (errno != EINTR) {
					return -errno;
				}
			}
		} else if (want_read(c, d)) {
			if (!d->buf && !(d->buf = malloc(CHUNK_CAP)))
				return -ENOMEM;
			n = recv(src, d->buf, CHUNK_READ, 0);
			if (n > 0) {
				long m = chunk_filter(r, c, i, (size_t)n);

				if (m < 0)
					return -ECANCELED;
				d->off = 0;
				d->len = (size_t)m;
				moved = true;
			} else if (!n) {
				d->eof = true;
				moved = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		/* in the round that read the end: a direction left at eof with
		 * nothing to send has no event to come back to it */
		if (d->eof && d->off == d->len && !d->in_pipe) {
			shutdown(dst, SHUT_WR);
			d->shut = true;
			break;
		}
		if (!moved)
			break;
	}
	return 0;
}

static void conn_pump(struct netfil_relay *r, struct conn *c)
{
	int err = dir_pump(r, c, NETFIL_OUT);

	if (!err)
		err = dir_pump(r, c, NETFIL_IN);
	if (err) {
		conn_close(r, c, true);
		return;
	}
	if (c->d[0].shut && c->d[1].shut) {
		conn_close(r, c, false);
		return;
	}
	if (conn_interest(r, c))
		conn_close(r, c, true);
}

/* The proxy said yes: the tunnel is open. */
static void conn_open(struct netfil_relay *r, struct conn *c)
{
	struct hs *h = c->hs;
	struct dir *in = &c->d[NETFIL_IN];
	int err = 0;

	if (h->in_len) {
		/* the tunnel's first bytes came with the reply: the client's */
		in->buf = malloc(CHUNK_CAP);
		if (!in->buf) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(in->buf, h->in, h->in_len);
		in->off = 0;
		in->len = h->in_len;
		if (c->path == NETFIL_RELAY_CHUNK) {
			long m = chunk_filter(r, c, NETFIL_IN, h->in_len);

			if (m < 0) {
				err = -ECANCELED;
				goto out;
			}
			in->len = (size_t)m;
		}
	}
	hs_free(h);
	c->hs = NULL;
	if (c->path == NETFIL_RELAY_SPLICE)
		err = pipes_open(c);
out:
	if (err)
		conn_close(r, c, true);
	else
		conn_pump(r, c);
}

static void conn_handshake(struct netfil_relay *r, struct conn *c)
{
	uint32_t mask = 0;
	int err = hs_step(c->hs, c->up.fd, &mask);

	if (err > 0) {
		conn_open(r, c);
		return;
	}
	if (!err)
		err = ev_set(r, &c->up, mask);
	if (err) {
		r->st.proxy_errors++;
		conn_close(r, c, true);
	}
}

static void conn_new(struct netfil_relay *r, int fd, const struct sockaddr_storage *peer,
		     socklen_t plen)
{
	struct netfil_origin o;
	const struct sockaddr_storage *to;
	struct conn *c;
	int err, i;

	if (r->st.active >= r->o.max_conns || relay_resolve(r, IPPROTO_TCP, peer, plen, &o))
		goto refuse;
	to = o.proxy.kind == NETFIL_PROXY_NONE ? &o.orig : &o.proxy_addr;
	if ((to->ss_family != AF_INET && to->ss_family != AF_INET6) ||
	    (o.orig.ss_family != AF_INET && o.orig.ss_family != AF_INET6))
		goto refuse;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto refuse;
	c->id = ++r->next_id;
	c->hnext = r->conns[c->id % CONN_BUCKETS];
	r->conns[c->id % CONN_BUCKETS] = c;
	list_add_tail(&c->link, &r->live);
	c->cli = (struct ev){ .kind = EV_CLIENT, .fd = fd, .obj = c };
	c->up = (struct ev){ .kind = EV_UPSTREAM, .fd = -1, .obj = c };
	for (i = 0; i < 2; i++)
		c->d[i].pipe[0] = c->d[i].pipe[1] = -1;
	r->st.accepted++;
	r->st.active++;
	c->hs = hs_new(r, &o, NF_SOCKS_CONNECT, false, c);
	if (!c->hs) {
		conn_close(r, c, true);
		return;
	}
	c->hs->dst = o.orig;
	nf_sockaddr_unmap(&c->hs->dst);
	if (r->o.on_open)
		c->path = r->o.on_open(r->o.ctx, c->id, &o) == NETFIL_RELAY_CHUNK ?
			  NETFIL_RELAY_CHUNK : NETFIL_RELAY_SPLICE;
	if (c->dead)	/* on_open may not close it, but be sure */
		return;
	err = relay_socket(to->ss_family, SOCK_STREAM);
	if (err >= 0) {
		c->up.fd = err;
		err = connect(c->up.fd, (const struct sockaddr *)to, sa_len(to)) && errno != EINPROGRESS ?
		      -errno : 0;
	}
	if (!err)
		err = ev_set(r, &c->up, EPOLLOUT);
	if (err) {
		r->st.proxy_errors++;
		conn_close(r, c, true);
	}
	return;
refuse:
	r->st.refused++;
	close_fd(&fd, true);
}

static void accept_pause(struct netfil_relay *r, bool pause)
{
	int i;

	for (i = 0; i < r->nl; i++)
		ev_set(r, &r->l[i].tcp, pause ? 0 : EPOLLIN);
	r->accept_resume = pause ? now_ms() + ACCEPT_PAUSE_MS : 0;
}

static void on_accept(struct netfil_relay *r, struct listener *l)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		plen = sizeof(peer);
		fd = accept4(l->tcp.fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			/* out of fds or memory: the backlog waits, not a busy loop */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(r, true);
			return;
		}
		conn_new(r, fd, &peer, plen);
	}
}

/* ---- UDP sessions --------------------------------------------------------- */

static unsigned int sa_hash(const struct sockaddr_storage *ss)
{
	const uint8_t *p = (const uint8_t *)ss;
	size_t i, n = sa_len(ss);
	uint32_t h = 2166136261u;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % SESS_BUCKETS;
}

/* The address (and port) of two sockaddrs, compared. */
static bool sa_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

static struct usess *sess_find(const struct netfil_relay *r, const struct sockaddr_storage *client)
{
	struct usess *s;

	for (s = r->sess[sa_hash(client)]; s; s = s->hnext)
		if (sa_same(&s->client, client))
			return s;
	return NULL;
}

static void sess_close(struct netfil_relay *r, struct usess *s)
{
	struct usess **pp;

	if (s->dead)
		return;
	s->dead = true;
	for (pp = &r->sess[sa_hash(&s->client)]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	list_del(&s->link);
	list_add_tail(&s->link, &r->dead_sess);
	hs_free(s->hs);
	s->hs = NULL;
	close_fd(&s->ctrl.fd, false);
	close_fd(&s->udp.fd, false);
	while (!list_empty(&s->queue)) {
		struct dgram *g = list_entry(s->queue.next, struct dgram, link);

		list_del(&g->link);
		free(g);
		r->st.udp_dropped++;
	}
	r->nsess--;
	r->st.udp_sessions--;
}

static void sess_touch(struct netfil_relay *r, struct usess *s)
{
	s->last = now_ms();
	list_del(&s->link);
	list_add_tail(&s->link, &r->sessions);
}

/* Wrap payload (at r->dgram + NF_SOCKS_UDP_HDR_MAX) for dst, and send. */
static void sess_send(struct netfil_relay *r, struct usess *s, const struct sockaddr_storage *dst,
		      size_t len)
{
	uint8_t hdr[NF_SOCKS_UDP_HDR_MAX], *p = r->dgram + NF_SOCKS_UDP_HDR_MAX;
	ssize_t h = nf_socks_udp_header(hdr, sizeof(hdr), (const struct sockaddr *)dst);

	if (h > 0)
		memcpy(p - h, hdr, (size_t)h);
	if (h < 0 || send(s->udp.fd, p - h, (size_t)h + len, 0) < 0) {
		r->st.udp_dropped++;
		return;
	}
	r->st.datagrams[NETFIL_OUT]++;
	r->st.bytes[NETFIL_OUT] += len;
}

static struct usess *sess_new(struct netfil_relay *r, struct listener *l,
			      const struct sockaddr_storage *client, socklen_t clen,
			      const struct netfil_origin *o)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	const struct sockaddr_storage *pa = &o->proxy_addr;
	struct usess *s;
	unsigned int hb;
	int fd;

	if (r->nsess >= r->o.max_conns || (pa->ss_family != AF_INET && pa->ss_family != AF_INET6))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->l = l;
	s->client = *client;
	s->clen = clen;
	s->proxy = o->proxy;
	s->proxy_addr = o->proxy_addr;
	s->ctrl = (struct ev){ .kind = EV_CTRL, .fd = -1, .obj = s };
	s->udp = (struct ev){ .kind = EV_DGRAM, .fd = -1, .obj = s };
	list_init(&s->queue);
	hb = sa_hash(client);
	s->hnext = r->sess[hb];
	r->sess[hb] = s;
	list_add_tail(&s->link, &r->sessions);
	s->last = now_ms();
	r->nsess++;
	r->st.udp_sessions++;
	s->hs = hs_new(r, o, NF_SOCKS_UDP_ASSOCIATE, true, s);
	if (!s->hs)
		goto fail;
	fd = relay_socket(pa->ss_family, SOCK_STREAM);
	if (fd < 0)
		goto fail;
	s->ctrl.fd = fd;
	if (connect(fd, (const struct sockaddr *)pa, sa_len(pa)) && errno != EINPROGRESS)
		goto fail;
	/* the UDP socket on the control connection's address: the request
	 * names it, so the proxy knows whose datagrams to take */
	if (getsockname(fd, (struct sockaddr *)&local, &len))
		goto fail;
	if (local.ss_family == AF_INET)
		((struct sockaddr_in *)&local)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&local)->sin6_port = 0;
	fd = relay_socket(pa->ss_family, SOCK_DGRAM);
	if (fd < 0)
		goto fail;
	s->udp.fd = fd;
	len = sizeof(s->hs->dst);
	if (bind(fd, (struct sockaddr *)&local, sa_len(&local)) ||
	    getsockname(fd, (struct sockaddr *)&s->hs->dst, &len))
		goto fail;
	if (ev_set(r, &s->ctrl, EPOLLOUT))
		goto fail;
	return s;
fail:
	r->st.proxy_errors++;
	sess_close(r, s);
	return NULL;
}

/* The relay address the proxy gave: its own address for "any". */
static int sess_relay_addr(const struct usess *s, struct sockaddr_storage *to)
{
	struct sockaddr_storage b = s->hs->bound;
	bool any;

	nf_sockaddr_unmap(&b);
	if (b.ss_family == AF_INET)
		any = !((struct sockaddr_in *)&b)->sin_addr.s_addr;
	else if (b.ss_family == AF_INET6)
		any = IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&b)->sin6_addr);
	else
		return -EPROTO;	/* a domain name: not resolved here */
	if (any) {
		uint16_t port = b.ss_family == AF_INET ? ((struct sockaddr_in *)&b)->sin_port :
			       ((struct sockaddr_in6 *)&b)->sin6_port;

		b = s->proxy_addr;
		if (b.ss_family == AF_INET)
			((struct sockaddr_in *)&b)->sin_port = port;
		else
			((struct sockaddr_in6 *)&b)->sin6_port = port;
	}
	if (b.ss_family == s->proxy_addr.ss_family) {
		*to = b;
		return 0;
	}
	if (b.ss_family == AF_INET && s->proxy_addr.ss_family == AF_INET6) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&b;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)to;

		memset(to, 0, sizeof(*to));
		v6->sin6_family = AF_INET6;
		v6->sin6_port = v4->sin_port;
		v6->sin6_addr.s6_addr[10] = v6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static void sess_ctrl(struct netfil_relay *r, struct usess *s)
{
	struct sockaddr_storage to;
	uint32_t mask = 0;
	uint8_t junk[512];
	int err;

	if (!s->hs) {
		/* the association lives as long as its control connection */
		ssize_t n = recv(s->ctrl.fd, junk, sizeof(junk), 0);

		if (!n || (n < 0 && errno != EAGAIN && errno != EINTR))
			sess_close(r, s);
		return;
	}
	err = hs_step(s->hs, s->ctrl.fd, &mask);
	if (!err) {
		err = ev_set(r, &s->ctrl, mask);
		if (!err)
			return;
	}
	if (err > 0)
		err = sess_relay_addr(s, &to);
	if (!err && connect(s->udp.fd, (struct sockaddr *)&to, sa_len(&to)))
		err = -errno;
	if (!err)
		err = ev_set(r, &s->udp, EPOLLIN);
	if (!err)
		err = ev_set(r, &s->ctrl, EPOLLIN);
	if (err) {
		r->st.proxy_errors++;
		sess_close(r, s);
		return;
	}
	hs_free(s->hs);
	s->hs = NULL;
	while (!list_empty(&s->queue)) {
		struct dgram *g = list_entry(s->queue.next, struct dgram, link);

		list_del(&g->link);
		memcpy(r->dgram + NF_SOCKS_UDP_HDR_MAX, g->data, g->len);
		sess_send(r, s, &g->dst, g->len);
		free(g);
	}
	s->qn = 0;
	s->qbytes = 0;
}

/* Replies from the proxy's relay, unwrapped, to the client. */
static void sess_dgram(struct netfil_relay *r, struct usess *s)
{
	struct sockaddr_storage from;
	int i;

	for (i = 0; i < UDP_BATCH && !s->dead; i++) {
		ssize_t n = recv(s->udp.fd, r->dgram, sizeof(r->dgram), 0);
		ssize_t h;

		if (n < 0) {
			/* ICMP errors of earlier datagrams: not this session's end */
			if (errno == EAGAIN || errno == EINTR)
				return;
			continue;
		}
		h = nf_socks_udp_parse(r->dgram, (size_t)n, &from);
		if (h < 0) {
			r->st.udp_dropped++;
			continue;
		}
		if (sendto(s->l->udp.fd, r->dgram + h, (size_t)(n - h), 0,
			   (struct sockaddr *)&s->client, s->clen) < 0) {
			r->st.udp_dropped++;
			continue;
		}
		r->st.datagrams[NETFIL_IN]++;
		r->st.bytes[NETFIL_IN] += (uint64_t)(n - h);
		sess_touch(r, s);
	}
}

static bool same_proxy(const struct usess *s, const struct netfil_origin *o)
{
	return sa_same(&s->proxy_addr, &o->proxy_addr) && !strcmp(s->proxy.user, o->proxy.user) &&
	       !strcmp(s->proxy.pass, o->proxy.pass);
}

static void udp_one(struct netfil_relay *r, struct listener *l, const struct sockaddr_storage *from,
		    socklen_t flen, size_t len)
{
	struct netfil_origin o;
	struct usess *s;
	struct dgram *g;

	/* per datagram: an unconnected socket may send anywhere */
	if (relay_resolve(r, IPPROTO_UDP, from, flen, &o) || o.proxy.kind != NETFIL_PROXY_SOCKS5 ||
	    (o.orig.ss_family != AF_INET && o.orig.ss_family != AF_INET6)) {
		r->st.udp_dropped++;
		return;
	}
	nf_sockaddr_unmap(&o.orig);
	s = sess_find(r, from);
	if (s && !same_proxy(s, &o)) {
		sess_close(r, s);
		s = NULL;
	}
	if (!s)
		s = sess_new(r, l, from, flen, &o);
	if (!s) {
		r->st.udp_dropped++;
		return;
	}
	sess_touch(r, s);
	if (!s->hs) {
		sess_send(r, s, &o.orig, len);
		return;
	}
	if (s->qn >= UDP_QUEUE || s->qbytes + len > UDP_QUEUE_BYTES ||
	    !(g = malloc(sizeof(*g) + len))) {
		r->st.udp_dropped++;
		return;
	}
	g->dst = o.orig;
	g->len = len;
	memcpy(g->data, r->dgram + NF_SOCKS_UDP_HDR_MAX, len);
	list_add_tail(&g->link, &s->queue);
	s->qn++;
	s->qbytes += len;
}

static void on_udp(struct netfil_relay *r, struct listener *l)
{
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t n;
	int i;

	for (i = 0; i < UDP_BATCH; i++) {
		flen = sizeof(from);
		n = recvfrom(l->udp.fd, r->dgram + NF_SOCKS_UDP_HDR_MAX, UDP_MAX, 0,
			     (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			continue;
		}
		udp_one(r, l, &from, flen, (size_t)n);
	}
}

/* ---- the engine ----------------------------------------------------------- */

static void reap(struct netfil_relay *r)
{
	while (!list_empty(&r->dead_conns)) {
		struct conn *c = list_entry(r->dead_conns.next, struct conn, link);

		list_del(&c->link);
		free(c);
	}
	while (!list_empty(&r->dead_sess)) {
		struct usess *s = list_entry(r->dead_sess.next, struct usess, link);

		list_del(&s->link);
		free(s);
	}
}

static void timers(struct netfil_relay *r)
{
	uint64_t now = now_ms();

	while (!list_empty(&r->handshakes)) {
		struct hs *h = list_entry(r->handshakes.next, struct hs, link);

		if (h->deadline > now)
			break;
		r->st.proxy_errors++;
		if (h->udp)
			sess_close(r, h->owner);
		else
			conn_close(r, h->owner, true);
	}
	while (!list_empty(&r->sessions)) {
		struct usess *s = list_entry(r->sessions.next, struct usess, link);

		if (s->last + (uint64_t)r->o.udp_idle_ms > now)
			break;
		sess_close(r, s);
	}
	if (r->accept_resume && r->accept_resume <= now)
		accept_pause(r, false);
}

/* The wait: timeout_ms, or less when a timer comes first. */
static int next_wait(const struct netfil_relay *r, int timeout_ms)
{
	uint64_t now = now_ms(), when = UINT64_MAX;

	if (!list_empty(&r->handshakes))
		when = list_entry(r->handshakes.next, struct hs, link)->deadline;
	if (!list_empty(&r->sessions)) {
		uint64_t t = list_entry(r->sessions.next, struct usess, link)->last +
			     (uint64_t)r->o.udp_idle_ms;

		if (t < when)
			when = t;
	}
	if (r->accept_resume && r->accept_resume < when)
		when = r->accept_resume;
	if (when == UINT64_MAX)
		return timeout_ms;
	when = when > now ? when - now + 1 : 0;
	if (timeout_ms < 0 || when < (uint64_t)timeout_ms)
		return (int)(when > INT32_MAX ? INT32_MAX : when);
	return timeout_ms;
}

static void handle(struct netfil_relay *r, struct ev *e)
{
	switch (e->kind) {
	case EV_TCP_LISTEN:
		on_accept(r, e->obj);
		break;
	case EV_UDP_LISTEN:
		on_udp(r, e->obj);
		break;
	case EV_CLIENT:
	case EV_UPSTREAM: {
		struct conn *c = e->obj;

		if (c->dead)
			break;
		if (c->hs)
			conn_handshake(r, c);
		else
			conn_pump(r, c);
		break;
	}
	case EV_CTRL:
	case EV_DGRAM: {
		struct usess *s = e->obj;

		if (s->dead)
			break;
		if (e->kind == EV_CTRL)
			sess_ctrl(r, s);
		else
			sess_dgram(r, s);
		break;
	}
	}
}

int netfil_relay_dispatch(struct netfil_relay *r, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int n, i;

	n = epoll_wait(r->epfd, evs, MAX_EVENTS, next_wait(r, timeout_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	/* splice() into a socket the peer closed raises SIGPIPE (it has no
	 * MSG_NOSIGNAL): held here, and taken back if it was ours */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	r->sigpipe = false;
	for (i = 0; i < n; i++)
		handle(r, evs[i].data.ptr);
	timers(r);
	reap(r);
	if (r->sigpipe && !was_pending) {
		struct timespec zero = {};

		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int netfil_relay_set_path(struct netfil_relay *r, uint64_t id, enum netfil_relay_path p)
{
	struct conn *c = conn_find(r, id);
	int err;

	if (!c || c->dead)
		return -ENOENT;
	if (p != NETFIL_RELAY_SPLICE && p != NETFIL_RELAY_CHUNK)
		return -EINVAL;
	if (p == c->path)
		return 0;
	if (!c->hs && p == NETFIL_RELAY_SPLICE) {
		err = pipes_open(c);
		if (err)
			return err;
	}
	c->path = p;
	c->d[0].pipe_full = c->d[1].pipe_full = false;
	/* what the path reads from now on; level-triggered epoll does the rest */
	return c->hs ? 0 : conn_interest(r, c);
}

/* ---- listeners ------------------------------------------------------------ */

static void listener_close(struct listener *l)
{
	close_fd(&l->tcp.fd, false);
	close_fd(&l->udp.fd, false);
}

static int sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
		     ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void sa_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* TCP and UDP on addr (its port 0: a free one, the same for both). */
static int listener_open(struct netfil_relay *r, struct listener *l,
			 const struct sockaddr_storage *addr)
{
	socklen_t len = sizeof(l->addr);
	int one = 1, fd, err;

	l->tcp = (struct ev){ .kind = EV_TCP_LISTEN, .fd = -1, .obj = l };
	l->udp = (struct ev){ .kind = EV_UDP_LISTEN, .fd = -1, .obj = l };
	l->addr = *addr;
	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	l->tcp.fd = fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (addr->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)addr, sa_len(addr)) || listen(fd, SOMAXCONN) ||
	    getsockname(fd, (struct sockaddr *)&l->addr, &len))
		goto fail;
	fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	l->udp.fd = fd;
	if ((addr->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)&l->addr, sa_len(&l->addr)))
		goto fail;
	err = ev_set(r, &l->tcp, EPOLLIN);
	if (!err)
		err = ev_set(r, &l->udp, EPOLLIN);
	if (err) {
		listener_close(l);
		return err;
	}
	return 0;
fail:
	err = -errno;
	listener_close(l);
	return err;
}

/* "1.2.3.4:80", "[::1]:80" */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *h = s;
	size_t hl;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (*s == '[') {
		if (hl < 2 || colon[-1] != ']')
			return -EINVAL;
		h = s + 1;
		hl -= 2;
	}
	if (hl >= sizeof(host) || !colon[1])
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1 && *s != '[')
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1 && *s == '[')
		ss->ss_family = AF_INET6;
	else
		return -EINVAL;
	sa_set_port(ss, (int)port);
	return 0;
}

static int listeners_open(struct netfil_relay *r)
{
	struct sockaddr_storage a4 = { .ss_family = AF_INET }, a6 = { .ss_family = AF_INET6 };
	int tries, err = 0;

	if (r->o.listen) {
		err = parse_listen(r->o.listen, &a4);
		if (err)
			return err;
		for (tries = 0; tries < BIND_TRIES; tries++) {
			err = listener_open(r, &r->l[0], &a4);
			/* a free TCP port may be taken for UDP: try another */
			if (err != -EADDRINUSE || sa_port(&a4))
				break;
		}
		if (!err)
			r->nl = 1;
		return err;
	}
	((struct sockaddr_in *)&a4)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	((struct sockaddr_in6 *)&a6)->sin6_addr = in6addr_loopback;
	for (tries = 0; tries < BIND_TRIES; tries++) {
		sa_set_port(&a4, 0);
		err = listener_open(r, &r->l[0], &a4);
		if (err == -EADDRINUSE)
			continue;
		if (err)
			return err;
		r->nl = 1;
		sa_set_port(&a6, sa_port(&r->l[0].addr));
		err = listener_open(r, &r->l[1], &a6);
		if (!err) {
			r->nl = 2;
			return 0;
		}
		if (err != -EADDRINUSE)
			return 0;	/* no IPv6 here: IPv4 alone */
		listener_close(&r->l[0]);
		r->nl = 0;
	}
	return err;
}

int netfil_relay_open(struct netfil *nf, const struct netfil_relay_opts *o,
		      struct netfil_relay **out)
{
	struct netfil_relay *r;
	int err, i;

	if (!o || (!nf && !o->resolve) || o->connect_timeout_ms < 0 || o->udp_idle_ms < 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->nf = nf;
	r->o = *o;
	if (!r->o.max_conns)
		r->o.max_conns = DEF_MAX_CONNS;
	if (!r->o.connect_timeout_ms)
		r->o.connect_timeout_ms = DEF_CONNECT_MS;
	if (!r->o.udp_idle_ms)
		r->o.udp_idle_ms = DEF_UDP_IDLE_MS;
	list_init(&r->live);
	list_init(&r->dead_conns);
	list_init(&r->handshakes);
	list_init(&r->sessions);
	list_init(&r->dead_sess);
	r->l[0].tcp.fd = r->l[0].udp.fd = r->l[1].tcp.fd = r->l[1].udp.fd = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		err = -errno;
		goto out;
	}
	err = listeners_open(r);
	for (i = 0; !err && nf && i < r->nl; i++)
		err = nf_relay_register(nf, r->l[i].addr.ss_family, r->l[i].tcp.fd, r->l[i].udp.fd);
out:
	if (err) {
		netfil_relay_close(r);
		return err;
	}
	*out = r;
	return 0;
}

int netfil_relay_fd(const struct netfil_relay *r)
{
	return r->epfd;
}

void netfil_relay_addr(const struct netfil_relay *r, char *buf, size_t len)
{
	size_t o = 0;
	int i;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < r->nl && o < len; i++) {
		char a[INET6_ADDRSTRLEN + 10];

		nf_sockaddr_fmt((const struct sockaddr *)&r->l[i].addr, a, sizeof(a));
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", a);
	}
}

void netfil_relay_stats(const struct netfil_relay *r, struct netfil_relay_stats *s)
{
	*s = r->st;
}

void netfil_relay_close(struct netfil_relay *r)
{
	int i;

	if (!r)
		return;
	while (!list_empty(&r->live))
		conn_close(r, list_entry(r->live.next, struct conn, link), true);
	while (!list_empty(&r->sessions))
		sess_close(r, list_entry(r->sessions.next, struct usess, link));
	reap(r);
	for (i = 0; i < 2; i++)
		listener_close(&r->l[i]);
	if (r->epfd >= 0)
		close(r->epfd);
	free(r);
}
