// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event-client - a small netfil event subscriber, the counterpart of the
 * reference socket filter's user-mode client: it prints each socket event
 * as it comes.  It runs its own poll() loop over the descriptor libnetfil
 * hands out, as a program with other descriptors to watch would.
 *
 *   event-client [COUNT]    stop after COUNT events (default: on SIGINT)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netfil.h"

static volatile sig_atomic_t stop;
static long left = -1;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int print_event(const struct netfil_event *ev, void *ctx)
{
	char l[INET6_ADDRSTRLEN] = "", r[INET6_ADDRSTRLEN] = "";

	(void)ctx;
	if (ev->family) {
		inet_ntop(ev->family, ev->laddr, l, sizeof(l));
		inet_ntop(ev->family, ev->raddr, r, sizeof(r));
	}
	printf("%-8s sock=%llu pid=%u comm=%s local=%s:%u remote=%s:%u",
	       netfil_event_type_name(ev->type), (unsigned long long)ev->sock_id,
	       ev->pid, ev->comm, l, ev->lport, r, ev->rport);
	if (ev->type == NETFIL_EV_CLOSE)
		printf(" in=%llu out=%llu", (unsigned long long)ev->close.bytes[NETFIL_IN],
		       (unsigned long long)ev->close.bytes[NETFIL_OUT]);
	if (ev->type == NETFIL_EV_LOST)
		printf(" count=%llu", (unsigned long long)ev->lost.count);
	printf("\n");
	fflush(stdout);
	if (left > 0)
		left--;
	return 0;
}

int main(int argc, char **argv)
{
	struct netfil_events *es;
	struct netfil *nf;
	struct pollfd p;
	int err;

	if (argc > 1)
		left = atol(argv[1]);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	err = netfil_open(NULL, &nf);
	if (err) {
		fprintf(stderr, "event-client: netfil: %s\n", strerror(-err));
		return 1;
	}
	err = netfil_events_open(nf, print_event, NULL, &es);
	if (err) {
		fprintf(stderr, "event-client: subscribe: %s\n", strerror(-err));
		netfil_close(nf);
		return 1;
	}
	printf("subscribed\n");
	fflush(stdout);
	p.fd = netfil_events_fd(es);
	p.events = POLLIN;
	while (!stop && left != 0) {
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		err = netfil_events_poll(es, 0);	/* deliver what is there */
		if (err < 0 && err != -EINTR)
			break;
		err = 0;
	}
	netfil_events_close(es);
	netfil_close(nf);
	return err ? 1 : 0;
}
