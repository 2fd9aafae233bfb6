// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nftraffic - the traffic generator of netfil's tests and demo.
 *
 *   nftraffic sink   tcp|udp ADDR PORT [--idle MS] [--done FILE]  count what arrives
 *   nftraffic source tcp ADDR PORT BYTES [--idle MS]      serve BYTES per client
 *            [--clients N]  N clients one after the other (default 1)
 *   nftraffic send   tcp|udp ADDR PORT BYTES [options]    upload BYTES
 *   nftraffic fetch  tcp ADDR PORT [options]              download until EOF
 *   options: --from ADDR (send, fetch: the local address)  --chunk N  --rate BYTES_PER_S (send)  --timeout MS  --wait FILE (connect, then wait until
 *            FILE can be read before moving data)  --ready FILE (created
 *            once listening or connected)  --done FILE (sink: the idle
 *            clock starts only once FILE exists, i.e. the sender is done,
 *            so a slow step before the sender starts cannot end the sink)
 *
 * Each prints one line of key=value pairs: bytes moved, the error that ended
 * the transfer (err=none, err=timeout or an errno name), elapsed_ms, the
 * time from the first byte to the end, and end_ns, when it ended.  Every run is bounded in bytes and
 * time, and addresses are whatever the caller gives: netfil's tests give
 * loopback or addresses of their own namespaces.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long chunk = 16384, timeout_ms = 5000, idle_ms = 2000;
static long rate;	/* send: bytes per second, 0: as fast as it goes */
static const char *wait_file, *ready_file, *done_file, *from_addr;
static long clients = 1;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	fprintf(stderr, "nftraffic: %s: %s\n", what, strerror(errno));
	exit(2);
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "none";
	case ETIMEDOUT: return "timeout";
	case EPERM: return "EPERM";
	case ECONNRESET: return "ECONNRESET";
	case ECONNABORTED: return "ECONNABORTED";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EPIPE: return "EPIPE";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	}
	return strerrorname_np(e) ? strerrorname_np(e) : "EUNKNOWN";
}

static void touch(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void resolve(const char *addr, const char *port, int type,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = type, .ai_flags = AI_NUMERICHOST },
			*ai;

	if (getaddrinfo(addr, port, &hints, &ai)) {
		fprintf(stderr, "nftraffic: bad address %s port %s\n", addr, port);
		exit(2);
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static int wait_fd(int fd, short ev, long ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, (int)ms);

	return r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
}

/* Say ready, then block until the test says go (60 s at most).  The FIFO
 * is opened before saying ready, non-blocking as it has no writer yet: a
 * reader that opened it only after the test had written "go" and closed
 * it would wait for a writer forever.  The write, or the close once the
 * other readers took the bytes, wakes every reader. */
static void ready_then_go(void)
{
	int fd = -1;
	char c;

	if (wait_file) {
		fd = open(wait_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			die(wait_file);
	}
	touch(ready_file);
	if (fd < 0)
		return;
	errno = -wait_fd(fd, POLLIN, 60000);
	if (errno)
		die("wait go");
	if (read(fd, &c, 1) < 0 && errno != EAGAIN)
		die("read go");
	close(fd);
}

static int listen_on(int type, const char *addr, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, rcvbuf = 8 << 20;

	resolve(addr, port, type, &ss, &len);
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* a UDP sink must not lose datagrams to its own buffer: the tests
	 * count what netfil let through */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 16))
		die("listen");
	touch(ready_file);
	return fd;
}

static int connect_to(int type, const char *addr, const char *port, int *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	resolve(addr, port, type, &ss, &len);
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	if (from_addr) {
		struct sockaddr_storage me;
		socklen_t mlen;

		resolve(from_addr, "0", type, &me, &mlen);
		if (bind(fd, (struct sockaddr *)&me, mlen))
			die("bind --from");
	}
	/* Non-blocking, so that a connect whose SYN is dropped ends after
	 * timeout_ms instead of the kernel's two minutes of retries. */
	*err = connect(fd, (struct sockaddr *)&ss, len) ? errno : 0;
	if (*err == EINPROGRESS) {
		socklen_t l = sizeof(*err);

		*err = -wait_fd(fd, POLLOUT, timeout_ms);
		if (!*err && getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &l))
			*err = errno;
	}
	return fd;
}

/* end_ns is CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns(): the
 * benchmark compares it with the moment netfil latched a limit. */
static void report(const char *what, long long bytes, int err, long start)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%s=%lld err=%s elapsed_ms=%ld end_ns=%lld\n", what, bytes, err_name(err),
	       start ? now_ms() - start : 0, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fflush(stdout);
}

/* Count bytes until EOF, an error, or idle_ms without data; with
 * --done, idle_ms counts from the later of the last data and the moment
 * FILE appeared.  Bounded by 60 s in any case. */
static int drain(int fd, long long *got, long *start)
{
	char *buf = malloc((size_t)chunk);
	long last = now_ms(), done_at = done_file ? 0 : last, hard = last + 60000;
	ssize_t n;
	int err = 0;

	for (;;) {
		long now = now_ms(), from, wait = 100;

		if (!done_at && !access(done_file, F_OK))
			done_at = now;
		if (done_at) {
			from = last > done_at ? last : done_at;
			if (now - from >= idle_ms) {
				err = ETIMEDOUT;
				break;
			}
			wait = from + idle_ms - now;
		}
		if (now >= hard) {
			err = ETIMEDOUT;
			break;
		}
		err = -wait_fd(fd, POLLIN, wait < 100 || !done_file ? wait : 100);
		if (err == ETIMEDOUT)
			continue;
		if (err)
			break;
		n = recv(fd, buf, (size_t)chunk, 0);
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		if (!*start)
			*start = now_ms();
		*got += n;
		last = now_ms();
	}
	free(buf);
	return err == ETIMEDOUT && *got ? 0 : err;
}

static int do_sink(int type, const char *addr, const char *port)
{
	long long got = 0;
	long start = 0;
	int lfd, fd, err;

	lfd = listen_on(type, addr, port);
	if (type == SOCK_DGRAM) {
		err = drain(lfd, &got, &start);
	} else {
		err = -wait_fd(lfd, POLLIN, timeout_ms);
		if (!err) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			err = fd < 0 ? errno : drain(fd, &got, &start);
		}
	}
	report("received", got, err, start);
	return 0;
}

/* Wait up to wait_ms for room, then one send() of what is left of bytes,
 * at most a chunk; <0: *err says why. */
static ssize_t send_chunk(int fd, const char *buf, long long bytes, long long sent,
			  long wait_ms, int *err)
{
	ssize_t n;

	*err = -wait_fd(fd, POLLOUT, wait_ms);
	if (*err)
		return -1;
	n = send(fd, buf, (size_t)(bytes - sent < chunk ? bytes - sent : chunk), MSG_NOSIGNAL);
	if (n < 0)
		*err = errno;
	return n;
}

static int do_source(const char *addr, const char *port, long long bytes)
{
	char *buf = calloc(1, (size_t)chunk);
	long long sent;
	long start, c;
	int lfd, fd, err;
	ssize_t n;

	lfd = listen_on(SOCK_STREAM, addr, port);
	for (c = 0; c < clients; c++) {
		err = -wait_fd(lfd, POLLIN, timeout_ms);
		if (err) {
			report("sent", 0, err, 0);
			break;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept");
		start = now_ms();
		sent = 0;
		while (sent < bytes) {
			n = send_chunk(fd, buf, bytes, sent, idle_ms, &err);
			if (n < 0)
				break;
			sent += n;
		}
		shutdown(fd, SHUT_WR);
		close(fd);
		report("sent", sent, err, start);
	}
	free(buf);
	return 0;
}

static int do_send(int type, const char *addr, const char *port, long long bytes)
{
	char *buf = calloc(1, (size_t)chunk);
	long long sent = 0;
	long start, deadline;
	int fd, err;
	ssize_t n;

	fd = connect_to(type, addr, port, &err);
	ready_then_go();
	start = now_ms();
	deadline = start + timeout_ms;
	while (!err && sent < bytes) {
		n = send_chunk(fd, buf, bytes, sent, deadline - now_ms(), &err);
		if (n < 0)
			break;
		sent += n;
		/* paced: never ahead of rate, so a live view sees a steady flow */
		while (rate && sent * 1000 / rate > now_ms() - start && now_ms() < deadline)
			poll(NULL, 0, 10);
	}
	/* TCP: the data is only delivered once the peer has acknowledged it;
	 * wait for that (bounded) so "sent" means "left this host". */
	if (!err && type == SOCK_STREAM) {
		shutdown(fd, SHUT_WR);
		char c;

		err = -wait_fd(fd, POLLIN, deadline - now_ms());
		if (!err && recv(fd, &c, 1, 0) < 0)
			err = errno;
	}
	report("sent", sent, err, start);
	free(buf);
	return 0;
}

static int do_fetch(const char *addr, const char *port)
{
	long long got = 0;
	long start = 0;
	int fd, err;

	fd = connect_to(SOCK_STREAM, addr, port, &err);
	ready_then_go();
	if (!err)
		err = drain(fd, &got, &start);
	report("received", got, err, start);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode, *proto;
	long long bytes = 0;
	int type, i, pos = 0;
	char *args[5];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
			chunk = atol(argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = atol(argv[++i]);
		else if (!strcmp(argv[i], "--idle") && i + 1 < argc)
			idle_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--done") && i + 1 < argc)
			done_file = argv[++i];
		else if (!strcmp(argv[i], "--wait") && i + 1 < argc)
			wait_file = argv[++i];
		else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready_file = argv[++i];
		else if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from_addr = argv[++i];
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			clients = atol(argv[++i]);
		else if (pos < 5)
			args[pos++] = argv[i];
	}
	if (pos < 4 || chunk <= 0 || chunk > (1 << 20) || clients < 1 || clients > 64) {
		fprintf(stderr, "usage: nftraffic sink|source|send|fetch tcp|udp ADDR PORT [BYTES] [options]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	mode = args[0];
	proto = args[1];
	type = !strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM;
	if (pos > 4)
		bytes = atoll(args[4]);
	if (bytes < 0 || bytes > (1LL << 40))
		return 2;
	if (!strcmp(mode, "sink"))
		return do_sink(type, args[2], args[3]);
	if (!strcmp(mode, "source"))
		return do_source(args[2], args[3], bytes);
	if (!strcmp(mode, "send"))
		return do_send(type, args[2], args[3], bytes);
	if (!strcmp(mode, "fetch"))
		return do_fetch(args[2], args[3]);
	fprintf(stderr, "nftraffic: unknown mode '%s'\n", mode);
	return 2;
}
