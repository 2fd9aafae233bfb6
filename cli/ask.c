// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil ask FILTER_ID
 *
 * An interactive firewall on a filter's queue: the client of its NFQUEUE
 * (netfil_packets_open) that holds each new connection (NETFIL_V_DELAY)
 * and asks, one connection at a time in arrival order:
 *
 *   a  allow once    the flow passes in the kernel from then on (ALLOW_FLOW)
 *   A  allow always  a "socket exe PATH" filter with no limits, then allow
 *   d  deny once     drop
 *   D  deny always   a "socket exe PATH iobyte 1" reject filter, then drop
 *   q  quit
 *
 * The "always" answers are ordinary filters, so they outlive this process;
 * later connections of a program that has one are answered without a
 * question (and a deny filter stops them in the kernel, ask running or
 * not).  A held packet not answered within the filter's timeout gets its
 * fail policy from the library; the question then moves on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli.h"

#define SLACK_MS	100		/* let the library time a packet out first */
#define TICK_MS		200
#define RECENT		256		/* answered flows remembered ... */
#define RECENT_MS	130000		/* ... over TCP's SYN retries (6: 127 s) */
#define MENU "[a] allow once  [A] allow always  [d] deny once  [D] deny always  [q] quit"

/* A flow's 5-tuple, zero-padded so that memcmp compares it. */
struct flow {
	int family, proto;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
};

/* One connection waiting for an answer, and the packets it holds. */
struct question {
	struct question *next;
	struct flow fl;
	enum netfil_dir dir;
	bool has_sock, asked;
	uint32_t pid, uid;
	char comm[16];
	char exe[PATH_MAX];		/* "?": unknown or gone */
	uint64_t dev, ino;		/* of exe, 0: unknown */
	uint32_t *ids;
	int n_ids, cap;
	int64_t deadline;		/* ms: its first packet's */
};

struct recent {
	struct flow fl;
	enum netfil_verdict v;
	int64_t until;
};

struct ask {
	struct netfil *nf;
	struct netfil_packets *pq;
	uint32_t filter, timeout_ms;
	enum netfil_verdict fail;	/* the filter's fail policy */
	struct question *head, **tail;
	struct netfil_filter *exes;	/* the socket exe filters that are on */
	int n_exes;
	struct recent recent[RECENT];
	unsigned int n_recent;
	bool tty;			/* stdin is a terminal, in raw mode */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line at once: stdout may be a pipe. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* "curl (pid 123) -> 10.0.0.2:80 tcp" */
static void describe(const struct question *q, char *buf, size_t len)
{
	const struct flow *f = &q->fl;
	char who[64], a[64];

	if (q->has_sock)
		snprintf(who, sizeof(who), "%s (pid %u)", q->comm, q->pid);
	else
		snprintf(who, sizeof(who), "unknown process");
	if (q->dir == NETFIL_OUT)
		netfil_format_addr_port(f->family, f->daddr, f->dport, a, sizeof(a));
	else
		netfil_format_addr_port(f->family, f->saddr, f->sport, a, sizeof(a));
	snprintf(buf, len, "%s %s %s %s", who, q->dir == NETFIL_OUT ? "->" : "<-", a,
		 netfil_proto_name(f->proto));
}

/* The exe filters, at start and after each add: what "always" said. */
static int load_exes(struct ask *a)
{
	struct netfil_filter *all;
	int n, i;

	n = netfil_filter_list(a->nf, NULL, 0);
	if (n < 0)
		return n;
	all = calloc((size_t)n + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = netfil_filter_list(a->nf, all, n);
	if (n < 0) {
		free(all);
		return n;
	}
	a->n_exes = 0;
	for (i = 0; i < n; i++)
		if (all[i].match.kind == NETFIL_SOCKET && all[i].match.by == NETFIL_BY_EXE &&
		    all[i].on)
			all[a->n_exes++] = all[i];
	free(a->exes);
	a->exes = all;
	return 0;
}

/* An "always" answer for q's program: 1 and *v, *id; else 0. */
static int decided(const struct ask *a, const struct question *q, enum netfil_verdict *v,
		   uint32_t *id)
{
	int i;

	if (!strcmp(q->exe, "?"))
		return 0;
	for (i = 0; i < a->n_exes; i++) {
		const struct netfil_filter *f = &a->exes[i];
		bool same = strcmp(f->match.path, q->exe) == 0 ||
			    (q->ino && f->match.dev == q->dev && f->match.ino == q->ino);

		if (!same)
			continue;
		*id = f->id;
		if (f->limit[NETFIL_IOBYTE] == 1) {
			*v = NETFIL_V_DROP;
			return 1;
		}
		if (!f->limit[0] && !f->limit[1] && !f->limit[2]) {
			*v = NETFIL_V_ALLOW_FLOW;
			return 1;
		}
	}
	return 0;
}

static struct question *find(struct ask *a, const struct flow *fl)
{
	struct question *q;

	for (q = a->head; q; q = q->next)
		if (!memcmp(&q->fl, fl, sizeof(*fl)))
			return q;
	return NULL;
}

static int hold(struct question *q, uint32_t id)
{
	if (q->n_ids == q->cap) {
		int cap = q->cap ? q->cap * 2 : 4;
		uint32_t *ids = realloc(q->ids, (size_t)cap * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		q->ids = ids;
		q->cap = cap;
	}
	q->ids[q->n_ids++] = id;
	return 0;
}

static void remember(struct ask *a, const struct flow *fl, enum netfil_verdict v)
{
	struct recent *r = &a->recent[a->n_recent++ % RECENT];

	r->fl = *fl;
	r->v = v;
	r->until = now_ms() + RECENT_MS;
}

/* An answered flow's retransmitted SYNs get the same answer, not a new
 * question. */
static bool recalled(const struct ask *a, const struct flow *fl, enum netfil_verdict *v)
{
	int64_t now = now_ms();
	unsigned int i;

	for (i = 0; i < RECENT && i < a->n_recent; i++) {
		const struct recent *r = &a->recent[i];

		if (r->until > now && !memcmp(&r->fl, fl, sizeof(*fl))) {
			*v = r->v;
			return true;
		}
	}
	return false;
}

static void drop_question(struct ask *a)
{
	struct question *q = a->head;

	a->head = q->next;
	if (!a->head)
		a->tail = &a->head;
	free(q->ids);
	free(q);
}

static struct question *new_question(const struct netfil_packet *p, const struct flow *fl)
{
	struct question *q = calloc(1, sizeof(*q));
	char link[64];
	struct stat st;
	ssize_t n;

	if (!q)
		return NULL;
	q->fl = *fl;
	q->dir = p->dir;
	q->has_sock = p->has_sock;
	q->pid = p->tgid;
	q->uid = p->uid;
	memcpy(q->comm, p->comm, sizeof(q->comm));
	q->comm[sizeof(q->comm) - 1] = '\0';
	strcpy(q->exe, "?");
	if (!p->has_sock)
		return q;
	/* read now: the process may be gone by the time it is asked about */
	snprintf(link, sizeof(link), "/proc/%u/exe", p->tgid);
	n = readlink(link, q->exe, sizeof(q->exe) - 1);
	if (n <= 0) {
		strcpy(q->exe, "?");
		return q;
	}
	q->exe[n] = '\0';
	if (!stat(link, &st)) {
		q->dev = st.st_dev;
		q->ino = st.st_ino;
	}
	return q;
}

/* Answer every packet q holds; how many were still held (0: timed out).
 * The answer is remembered for the flow's later packets. */
static int answer(struct ask *a, struct question *q, enum netfil_verdict v, bool keep)
{
	int i, err, n = 0;

	for (i = 0; i < q->n_ids; i++) {
		err = netfil_packets_verdict(a->pq, q->ids[i], v);
		if (!err)
			n++;
		else if (err != -ENOENT)
			fail_errno(err, "sending a verdict");
	}
	if (keep)
		remember(a, &q->fl, v);
	return n;
}

static enum netfil_verdict on_packet(const struct netfil_packet *p, void *ctx)
{
	struct ask *a = ctx;
	struct question *q;
	enum netfil_verdict v;
	struct flow fl = { .family = p->family, .proto = p->proto,
			   .sport = p->sport, .dport = p->dport };
	char d[200];
	uint32_t id;

	memcpy(fl.saddr, p->saddr, sizeof(fl.saddr));
	memcpy(fl.daddr, p->daddr, sizeof(fl.daddr));
	q = find(a, &fl);
	if (q)	/* the flow's question is pending: its answer goes to all */
		return hold(q, p->id) ? NETFIL_V_DROP : NETFIL_V_DELAY;
	if (recalled(a, &fl, &v))
		return v;
	if (!p->flow_new)
		return NETFIL_V_ALLOW;
	q = new_question(p, &fl);
	if (!q)
		return NETFIL_V_DROP;
	if (decided(a, q, &v, &id)) {
		describe(q, d, sizeof(d));
		say("%s by filter %u: %s", v == NETFIL_V_DROP ? "denied" : "allowed", id, d);
		remember(a, &fl, v);
		free(q);
		return v;
	}
	q->deadline = now_ms() + a->timeout_ms;
	if (hold(q, p->id)) {
		free(q);
		return NETFIL_V_DROP;
	}
	*a->tail = q;
	a->tail = &q->next;
	return NETFIL_V_DELAY;
}

/* Settle the head: timed out, or decided by a filter added meanwhile;
 * else ask about it (once). */
static void advance(struct ask *a)
{
	struct question *q;
	enum netfil_verdict v;
	char d[200], more[32];
	uint32_t id;
	int n;

	while ((q = a->head)) {
		describe(q, d, sizeof(d));
		if (now_ms() > q->deadline + SLACK_MS) {
			/* the packet asked about got the fail policy: so do
			 * its followers, and the flow's next SYN asks again */
			answer(a, q, a->fail, false);
			say("timed out: %s", d);
			drop_question(a);
			/* keys typed for it must not answer the next one */
			if (a->tty)
				tcflush(STDIN_FILENO, TCIFLUSH);
		} else if (!q->asked && decided(a, q, &v, &id)) {
			if (answer(a, q, v, true))
				say("%s by filter %u: %s", v == NETFIL_V_DROP ? "denied" : "allowed",
				    id, d);
			else
				say("timed out: %s", d);
			drop_question(a);
		} else {
			break;
		}
	}
	if (!q || q->asked)
		return;
	for (n = -1; q; q = q->next)
		n++;
	q = a->head;
	q->asked = true;
	more[0] = '\0';
	if (n)
		snprintf(more, sizeof(more), " (%d more waiting)", n);
	say("? %s (uid %u, exe %s)%s  " MENU, d, q->uid, q->exe, more);
}

/* allow or deny always: a filter on the program, then the answer */
static void add_exe_filter(struct ask *a, const struct question *q, bool allow)
{
	struct netfil_filter f = { .on = true, .action = NETFIL_REJECT };
	char m[NETFIL_PATH_LEN + 16];
	uint32_t id = 0;
	int err;

	if (!strcmp(q->exe, "?") || strlen(q->exe) >= NETFIL_PATH_LEN) {
		say("no filter added: the program is not known (answered once)");
		return;
	}
	f.match.kind = NETFIL_SOCKET;
	f.match.by = NETFIL_BY_EXE;
	strcpy(f.match.path, q->exe);
	if (!allow)
		f.limit[NETFIL_IOBYTE] = 1;	/* nothing passes: refused in the kernel */
	err = netfil_filter_add(a->nf, &f, &id);
	netfil_format_match(&f.match, m, sizeof(m));
	if (err && err != -EEXIST) {
		fail("cannot add a filter on %s: %s (answered once)", q->exe, strerror(-err));
		return;
	}
	say("filter %u %s: %s %s (%s always)", id, err ? "exists, used as it is" : "added",
	    netfil_kind_name(NETFIL_SOCKET), m, allow ? "allowed" : "denied");
	err = load_exes(a);
	if (err)
		fail_errno(err, "listing filters");
}

static void key(struct ask *a, char c)
{
	struct question *q = a->head;
	enum netfil_verdict v;
	const char *what;
	char d[200];

	if (c == 'q') {
		stop = 1;
		return;
	}
	if (!q || !q->asked || !c || !strchr("aAdD", c))
		return;
	if (c == 'A' || c == 'D')
		add_exe_filter(a, q, c == 'A');
	v = c == 'a' || c == 'A' ? NETFIL_V_ALLOW_FLOW : NETFIL_V_DROP;
	what = c == 'a' ? "allowed once" : c == 'A' ? "allowed always" :
	       c == 'd' ? "denied once" : "denied always";
	describe(q, d, sizeof(d));
	/* too late for the packets held, but their flow's retries get it */
	if (answer(a, q, v, true))
		say("%s: %s", what, d);
	else
		say("timed out: %s", d);
	drop_question(a);
}

static int serve(struct ask *a)
{
	uint64_t stalls = 0;
	char buf[64], note[192];
	int i, n, err, timeout;

	while (!stop) {
		struct pollfd p[2] = {
			{ .fd = netfil_packets_fd(a->pq), .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};

		advance(a);
		timeout = TICK_MS;
		if (a->head && a->head->deadline + SLACK_MS + 1 - now_ms() < timeout)
			timeout = (int)(a->head->deadline + SLACK_MS + 1 - now_ms());
		n = poll(p, 2, timeout < 0 ? 0 : timeout);
		if (n < 0 && errno != EINTR)
			return fail_errno(errno, "poll");
		if (n >= 0 && (!n || p[0].revents)) {
			err = netfil_packets_dispatch(a->pq);
			if (err < 0 && err != -EINTR)
				return fail_errno(err, "reading packets");
			if (stall_text(a->pq, a->filter, &stalls, note, sizeof(note)))
				say("%s", note);
		}
		if (n > 0 && p[1].revents) {
			n = (int)read(STDIN_FILENO, buf, sizeof(buf));
			/* end of input, or the terminal gone: nobody left to answer */
			if (!n || (n < 0 && errno != EINTR && errno != EAGAIN))
				stop = 1;
			for (i = 0; i < n && !stop; i++)
				key(a, buf[i]);
		}
	}
	return 0;
}

int do_ask(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ask a = { .tail = &a.head };
	struct termios old, raw;
	struct netfil_filter f = {};
	char m[512], qs[128];
	int err, ret = 0;

	if (argc < 1)
		return fail("missing FILTER_ID (netfil ask ID)");
	if (parse_u32(argv[0], &a.filter) || !a.filter)
		return fail("invalid filter id '%s'", argv[0]);
	if (argc > 1)
		return fail("unexpected argument '%s'", argv[1]);
	if (open_netfil(&a.nf))
		return -1;
	/* the timeout first: packets may come while the queue is opened */
	err = netfil_filter_get(a.nf, a.filter, &f);
	a.timeout_ms = f.queue.timeout_ms ?: NETFIL_QUEUE_TIMEOUT_MS;
	a.fail = f.queue.fail == NETFIL_FAIL_OPEN ? NETFIL_V_ALLOW : NETFIL_V_DROP;
	if (!err)
		err = netfil_packets_open(a.nf, a.filter, on_packet, &a, &a.pq);
	if (!err)
		err = load_exes(&a);
	if (err) {
		ret = a.pq ? fail_errno(err, "listing filters") : queue_open_error(err, a.filter);
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* single keys, unechoed; Ctrl-C still signals (ISIG kept) */
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &old)) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		a.tty = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	netfil_format_match(&f.match, m, sizeof(m));
	netfil_format_queue(&f.queue, qs, sizeof(qs));
	say("asking for filter %u (%s %s, %s); q quits", a.filter,
	    netfil_kind_name(f.match.kind), m, qs);
	ret = serve(&a);
	if (a.tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	for (err = 0; a.head; err++)
		drop_question(&a);
	if (err)
		say("quit: %d connection%s left to the fail policy", err, err == 1 ? "" : "s");
out:
	if (a.pq)
		netfil_packets_close(a.pq);
	free(a.exes);
	netfil_close(a.nf);
	return ret;
}
