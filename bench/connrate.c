// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * connrate: rate of short TCP connections (connect, send a little, close).
 *
 *   connrate server ADDR PORT [--ready FILE] [--seconds S]
 *   connrate client ADDR PORT [--seconds S] [--workers W] [--max N] [--bytes B]
 *                                [--rate R]   (R connections per second at most)
 *
 * Start the server first; it creates FILE once it listens, so a script can
 * wait for that, and it exits by itself after S seconds (default 60) or on
 * SIGTERM/SIGINT, printing "accepted=N".  The client then runs W threads
 * (default 2) for S seconds (default 3) or N connections in all, whichever
 * comes first, and prints
 *
 *   connections=N failed=F seconds=T rate=R
 *
 * where R is completed connections per second over T.  ADDR is an IPv4 or
 * IPv6 literal.  Exit status is 0 on success, 2 on usage or setup error.
 *
 * One connection goes like this:
 *
 *   client: connect, send B bytes, the last one '\n'
 *   server: read up to the '\n', close                  -> FIN
 *   client: read returns 0, close                       -> FIN
 *
 * The newline is how the server knows the request is complete, and the
 * client waits for the server's close so that every connection it counts
 * is a full round trip the server has taken part in, not a SYN left in a
 * backlog.
 *
 * The server closes first on purpose: TIME_WAIT lands on the side that
 * sends the first FIN.  Were it the client, each connection would park one
 * of its ephemeral ports for 60 s, and the run would soon measure the
 * search for a free port (or fail with EADDRNOTAVAIL) instead of the cost
 * of a connection.  --max counts attempts, failed ones included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC	1000000000ULL
#define BACKLOG		4096
#define SERVER_THREADS	2
#define REQ_MAX		64	/* the server reads the request in chunks of this */
#define ACCEPT_BATCH	64	/* accepts per wakeup, so both threads get a turn */
#define MAX_WORKERS	1024
#define MAX_BYTES	65536
#define MAX_SECONDS	1e6	/* keeps seconds * 1e9 well inside a uint64_t */

static const char usage_line[] =
	"usage: connrate server ADDR PORT [--ready FILE] [--seconds S] | "
	"connrate client ADDR PORT [--seconds S] [--workers W] [--max N] [--bytes B] [--rate R]";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
	fputs("connrate: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void die_errno(const char *what)
{
	fprintf(stderr, "connrate: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "%s\n", usage_line);
	exit(2);
}

static uint64_t parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v <= 0 ||
	    v > MAX_SECONDS)
		die("bad number of seconds '%s'", s);
	return (uint64_t)(v * NSEC_PER_SEC);
}

static uint64_t parse_u64(const char *s, uint64_t min, uint64_t max,
			  const char *what)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		die(what, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v < min || v > max)
		die(what, s);
	return v;
}

/* ADDR must be a literal and PORT a number: nothing here does DNS. */
static struct addrinfo *resolve(const char *addr, const char *port, int passive)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
			    (passive ? AI_PASSIVE : 0),
	};
	struct addrinfo *ai;
	int err;

	parse_u64(port, 1, 65535, "bad port '%s'");
	err = getaddrinfo(addr, port, &hints, &ai);
	if (err)
		die("bad address '%s' (want an IPv4 or IPv6 literal)", addr);
	return ai;
}

/*
 * Server.  Each thread has its own epoll set holding the listening socket
 * with EPOLLEXCLUSIVE, so a new connection wakes one thread, not both, and
 * the connections it accepts stay with it.  Signals are blocked everywhere
 * and taken synchronously by the main thread, which then wakes the workers
 * through an eventfd.
 */
struct server_worker {
	pthread_t tid;
	int lfd;
	int stopfd;
	uint64_t accepted;
};

/* Read what the peer sent; close on EOF or error.  Returns 1 if closed. */
static int server_drain(int fd)
{
	char buf[REQ_MAX];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0 && !memchr(buf, '\n', (size_t)n))
			continue;
		if (n > 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		break;
	}
	close(fd);
	return 1;
}

static void server_accept(struct server_worker *w, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* EAGAIN, or out of fds: wait for the next wakeup. */
			return;
		}
		w->accepted++;
		/*
		 * On a fast path the request and the FIN are often queued
		 * already: read them now and skip epoll for this one.
		 */
		if (server_drain(fd))
			continue;
		ev.data.fd = fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
			close(fd);
	}
}

static void *server_thread(void *arg)
{
	struct server_worker *w = arg;
	struct epoll_event evs[64];
	struct epoll_event ev;
	int epfd, n, i;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die_errno("epoll_create1");
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = w->lfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->lfd, &ev))
		die_errno("epoll_ctl");
	ev.events = EPOLLIN;
	ev.data.fd = w->stopfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->stopfd, &ev))
		die_errno("epoll_ctl");

	for (;;) {
		n = epoll_wait(epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == w->stopfd)
				goto out;
			if (evs[i].data.fd == w->lfd)
				server_accept(w, epfd);
			else
				server_drain(evs[i].data.fd);
		}
	}
out:
	/* Connections still open go away with the process. */
	close(epfd);
	return NULL;
}

static int server_main(int argc, char **argv)
{
	struct server_worker workers[SERVER_THREADS];
	uint64_t run_ns = 60 * NSEC_PER_SEC, deadline, now, left, total = 0;
	const char *ready = NULL;
	struct addrinfo *ai;
	struct timespec ts;
	sigset_t sigs;
	int lfd, stopfd, one = 1, i, fd;

	if (argc < 2)
		usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			run_ns = parse_seconds(argv[++i]);
		else
			usage();
	}
	deadline = now_ns() + run_ns;

	/* Block before any thread exists, so all of them inherit it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ai = resolve(argv[0], argv[1], 1);
	lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		     0);
	if (lfd < 0)
		die_errno("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die_errno("setsockopt SO_REUSEADDR");
	if (bind(lfd, ai->ai_addr, ai->ai_addrlen))
		die_errno("bind");
	if (listen(lfd, BACKLOG))
		die_errno("listen");
	freeaddrinfo(ai);

	stopfd = eventfd(0, EFD_CLOEXEC);
	if (stopfd < 0)
		die_errno("eventfd");
	for (i = 0; i < SERVER_THREADS; i++) {
		workers[i] = (struct server_worker){
			.lfd = lfd,
			.stopfd = stopfd,
		};
		errno = pthread_create(&workers[i].tid, NULL, server_thread,
				       &workers[i]);
		if (errno)
			die_errno("pthread_create");
	}

	/* Listening is what matters: the backlog holds early connections. */
	if (ready) {
		fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd < 0)
			die_errno(ready);
		close(fd);
	}

	for (;;) {
		now = now_ns();
		if (now >= deadline)
			break;
		left = deadline - now;
		ts.tv_sec = left / NSEC_PER_SEC;
		ts.tv_nsec = left % NSEC_PER_SEC;
		if (sigtimedwait(&sigs, NULL, &ts) >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			die_errno("sigtimedwait");
	}

	if (eventfd_write(stopfd, 1))
		die_errno("eventfd_write");
	for (i = 0; i < SERVER_THREADS; i++) {
		pthread_join(workers[i].tid, NULL);
		total += workers[i].accepted;
	}
	printf("accepted=%llu\n", (unsigned long long)total);
	return 0;
}

/*
 * Client.  Workers share one ticket counter for --max, so the total is
 * exact however the work is spread.  Every blocking call carries a socket
 * timeout of the time left plus a second's grace, so no worker can outlive
 * the deadline by much even if the server stops answering; a connection in
 * flight at the deadline is allowed to finish and is counted, and T runs
 * until the last worker is done, so the rate stays honest.
 */
static struct {
	const struct addrinfo *ai;
	uint64_t deadline;
	uint64_t max;
	size_t bytes;
	uint64_t start;
	uint64_t gap_ns;	/* --rate: connection k starts at start + k * gap */
	atomic_uint_fast64_t tickets;
} cl;

static char payload[MAX_BYTES];

struct client_worker {
	pthread_t tid;
	uint64_t ok;
	uint64_t failed;
	const char *first_what;	/* first failure, for the stderr hint */
	int first_errno;
};

static int set_timeouts(int fd, uint64_t now)
{
	uint64_t t = (cl.deadline > now ? cl.deadline - now : 0) + NSEC_PER_SEC;
	struct timeval tv = {
		.tv_sec = t / NSEC_PER_SEC,
		.tv_usec = t % NSEC_PER_SEC / 1000,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	return 0;
}

/* One connection.  Returns NULL on success, else the step that failed. */
static const char *client_once(uint64_t now)
{
	const struct addrinfo *ai = cl.ai;
	const char *what;
	char buf[REQ_MAX];
	size_t sent = 0;
	ssize_t n;
	int fd;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return "socket";
	what = "setsockopt";
	if (set_timeouts(fd, now))
		goto fail;
	what = "connect";
	if (connect(fd, ai->ai_addr, ai->ai_addrlen))
		goto fail;
	what = "send";
	while (sent < cl.bytes) {
		n = send(fd, payload + sent, cl.bytes - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		sent += n;
	}
	/* The server sends nothing back: wait for its close. */
	what = "read";
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			goto fail;
	}
	close(fd);
	return NULL;
fail:
	n = errno;
	close(fd);
	errno = n;
	return what;
}

static void *client_thread(void *arg)
{
	struct client_worker *w = arg;
	const char *what;
	uint64_t now;

	for (;;) {
		uint64_t t;

		now = now_ns();
		if (now >= cl.deadline)
			break;
		t = atomic_fetch_add(&cl.tickets, 1);
		if (t >= cl.max)
			break;
		if (cl.gap_ns) {
			uint64_t at = cl.start + t * cl.gap_ns;
			struct timespec ts = { (time_t)(at / NSEC_PER_SEC),
					       (long)(at % NSEC_PER_SEC) };

			if (at >= cl.deadline)
				break;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			now = now_ns();
		}
		what = client_once(now);
		if (!what) {
			w->ok++;
			continue;
		}
		if (!w->failed++) {
			w->first_what = what;
			w->first_errno = errno;
		}
	}
	return NULL;
}

static int client_main(int argc, char **argv)
{
	uint64_t run_ns = 3 * NSEC_PER_SEC, start, elapsed, ok = 0, failed = 0;
	struct client_worker *workers, *hint = NULL;
	unsigned int nworkers = 2, i;
	struct addrinfo *ai;
	double secs;
	int err;

	if (argc < 2)
		usage();
	cl.max = 10000000;
	cl.bytes = 32;
	for (i = 2; i < (unsigned int)argc; i++) {
		if (i + 1 >= (unsigned int)argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			run_ns = parse_seconds(argv[++i]);
		else if (!strcmp(argv[i], "--workers"))
			nworkers = parse_u64(argv[++i], 1, MAX_WORKERS,
					     "bad number of workers '%s'");
		else if (!strcmp(argv[i], "--max"))
			cl.max = parse_u64(argv[++i], 1, UINT64_MAX / 2,
					   "bad --max '%s'");
		else if (!strcmp(argv[i], "--rate"))
			cl.gap_ns = NSEC_PER_SEC / parse_u64(argv[++i], 1, 10000000,
							     "bad --rate '%s' (1 to 10000000)");
		else if (!strcmp(argv[i], "--bytes"))
			cl.bytes = parse_u64(argv[++i], 1, MAX_BYTES,
					     "bad --bytes '%s' (1 to 65536)");
		else
			usage();
	}

	ai = resolve(argv[0], argv[1], 0);
	cl.ai = ai;
	memset(payload, 'x', sizeof(payload));
	payload[cl.bytes - 1] = '\n';	/* the end of the request */
	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		die_errno("calloc");

	start = now_ns();
	cl.start = start;
	cl.deadline = start + run_ns;
	for (i = 0; i < nworkers; i++) {
		err = pthread_create(&workers[i].tid, NULL, client_thread,
				     &workers[i]);
		if (err) {
			/* Stop the ones already running, then give up. */
			atomic_store(&cl.tickets, cl.max);
			while (i--)
				pthread_join(workers[i].tid, NULL);
			errno = err;
			die_errno("pthread_create");
		}
	}
	for (i = 0; i < nworkers; i++) {
		pthread_join(workers[i].tid, NULL);
		ok += workers[i].ok;
		failed += workers[i].failed;
		if (workers[i].failed && !hint)
			hint = &workers[i];
	}
	elapsed = now_ns() - start;
	secs = (double)elapsed / NSEC_PER_SEC;

	printf("connections=%llu failed=%llu seconds=%.3f rate=%.1f\n",
	       (unsigned long long)ok, (unsigned long long)failed, secs,
	       secs > 0 ? ok / secs : 0.0);
	if (hint)
		fprintf(stderr, "connrate: first failure: %s: %s\n",
			hint->first_what, strerror(hint->first_errno));
	freeaddrinfo(ai);
	free(workers);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		return server_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "client"))
		return client_main(argc - 2, argv + 2);
	usage();
	return 2;
}
