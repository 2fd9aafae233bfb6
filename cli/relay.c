// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil relay [--listen ADDR:PORT]
 *
 * netfil's relay in the foreground: it carries the connections of
 * "proxy" filters to their proxies until SIGINT or SIGTERM.  The kernel
 * side notices when it is gone (its listening sockets leave nf_relay),
 * and applies each filter's fail policy from then on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

int relay_start(struct netfil *nf, const char *listen, struct netfil_relay **r)
{
	struct netfil_relay_opts o = { .listen = listen };
	int err = netfil_relay_open(nf, &o, r);

	if (err == -EBUSY)
		return fail("a relay is already running (netfil relay, netfild or netfil run proxy)");
	if (err == -EADDRNOTAVAIL || err == -EADDRINUSE || err == -EINVAL)
		return fail("cannot listen on '%s': %s", listen ? listen : "127.0.0.1:0",
			    strerror(-err));
	return err ? fail_errno(err, "starting the relay") : 0;
}

/* Serve r until pid ends (pid > 0; *status its wait status) or, pid 0,
 * until SIGINT or SIGTERM. */
int relay_serve(struct netfil_relay *r, pid_t pid, int *status)
{
	struct pollfd p[2] = { { .fd = netfil_relay_fd(r), .events = POLLIN },
			       { .fd = -1, .events = POLLIN } };
	int err;

	if (pid > 0) {
		p[1].fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (p[1].fd < 0)
			return fail_errno(errno, "pidfd_open");
	}
	for (;;) {
		if (pid > 0 && waitpid(pid, status, WNOHANG) == pid)
			break;
		if (!pid && stop)
			break;
		if (poll(p, 2, 1000) < 0 && errno != EINTR) {
			err = fail_errno(errno, "poll");
			goto out;
		}
		err = netfil_relay_dispatch(r, 0);
		if (err < 0 && err != -EINTR && err != -EAGAIN) {
			err = fail_errno(err, "relay");
			goto out;
		}
	}
	err = 0;
out:
	if (p[1].fd >= 0)
		close(p[1].fd);
	return err;
}

int do_relay(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct netfil_relay_stats st;
	const char *listen = NULL;
	struct netfil_relay *r;
	struct netfil *nf;
	char addr[256];
	int err;

	if (argc >= 1 && !strcmp(argv[0], "--listen")) {
		if (argc < 2)
			return fail("missing ADDR:PORT after '--listen'");
		listen = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (open_netfil(&nf))
		return -1;
	if (relay_start(nf, listen, &r)) {
		netfil_close(nf);
		return -1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	netfil_relay_addr(r, addr, sizeof(addr));
	if (json_output)
		json_print(json_pack("{s:s}", "listen", addr));
	else
		printf("relay listening on %s\n", addr);
	fflush(stdout);
	err = relay_serve(r, 0, NULL);
	netfil_relay_stats(r, &st);
	if (!err && json_output)
		json_print(json_pack("{s:I,s:I,s:I,s:{s:I,s:I},s:{s:I,s:I}}",
				     "accepted", (json_int_t)st.accepted,
				     "refused", (json_int_t)st.refused,
				     "proxy_errors", (json_int_t)st.proxy_errors,
				     "bytes", "in", (json_int_t)st.bytes[NETFIL_IN],
				     "out", (json_int_t)st.bytes[NETFIL_OUT],
				     "datagrams", "in", (json_int_t)st.datagrams[NETFIL_IN],
				     "out", (json_int_t)st.datagrams[NETFIL_OUT]));
	netfil_relay_close(r);
	netfil_close(nf);
	return err;
}
