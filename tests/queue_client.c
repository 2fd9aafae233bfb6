// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * queue_client - a per-packet verdict client for netfil's tests, on
 * libnetfil's packets API (what netfil packets cannot do by itself):
 *
 *   queue_client ID delay MS       hold every packet MS ms, then answer
 *                                  the held ones newest first (out of order)
 *   queue_client ID drop-port PORT drop packets from or to PORT, allow others
 *   queue_client ID flow           allow each packet's whole flow
 *   options: --ready FILE (created once the queue is bound)
 *
 * Runs until SIGTERM or SIGINT, then prints one line of key=value pairs:
 * its counters, and reordered=N, the answers given before an older
 * packet's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "netfil.h"

#define HELD_MAX 65536

static volatile sig_atomic_t stop;
static enum { DELAY, DROP_PORT, FLOW } mode;
static long arg;
static struct { uint32_t id; long t; } held[HELD_MAX];
static unsigned int n_held;
static unsigned long long reordered;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum netfil_verdict on_packet(const struct netfil_packet *p, void *ctx)
{
	(void)ctx;
	switch (mode) {
	case DROP_PORT:
		return p->sport == arg || p->dport == arg ? NETFIL_V_DROP : NETFIL_V_ALLOW;
	case FLOW:
		return NETFIL_V_ALLOW_FLOW;
	default:
		if (n_held >= HELD_MAX)
			return NETFIL_V_ALLOW;
		held[n_held].id = p->id;
		held[n_held++].t = now_ms();
		return NETFIL_V_DELAY;
	}
}

/* Answer every held packet at least MS old, newest first. */
static void release(struct netfil_packets *pq)
{
	long now = now_ms();
	unsigned int n = 0, i;

	while (n < n_held && now - held[n].t >= arg)
		n++;
	for (i = n; i-- > 0;) {
		netfil_packets_verdict(pq, held[i].id, NETFIL_V_ALLOW);
		reordered += i > 0;
	}
	memmove(held, held + n, (n_held - n) * sizeof(held[0]));
	n_held -= n;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct netfil_packets_stats st;
	struct netfil_packets *pq;
	const char *ready = NULL;
	struct netfil *nf;
	int err, i;

	if (argc < 3)
		goto usage;
	if (!strcmp(argv[2], "delay") && argc > 3)
		mode = DELAY;
	else if (!strcmp(argv[2], "drop-port") && argc > 3)
		mode = DROP_PORT;
	else if (!strcmp(argv[2], "flow"))
		mode = FLOW;
	else
		goto usage;
	arg = mode == FLOW ? 0 : atol(argv[3]);
	for (i = mode == FLOW ? 3 : 4; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--ready"))
			ready = argv[i + 1];
	err = netfil_open(NULL, &nf);
	if (!err)
		err = netfil_packets_open(nf, (uint32_t)atoi(argv[1]), on_packet, NULL, &pq);
	if (err) {
		fprintf(stderr, "queue_client: %s\n", strerror(-err));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ready)
		fclose(fopen(ready, "w"));
	while (!stop) {
		struct pollfd pfd = { .fd = netfil_packets_fd(pq), .events = POLLIN };

		poll(&pfd, 1, mode == DELAY ? 5 : 200);
		err = netfil_packets_dispatch(pq);
		if (err < 0 && err != -EINTR && err != -EAGAIN) {
			fprintf(stderr, "queue_client: dispatch: %s\n", strerror(-err));
			break;
		}
		if (mode == DELAY)
			release(pq);
	}
	netfil_packets_stats(pq, &st);
	printf("packets=%llu allowed=%llu dropped=%llu delayed=%llu held=%llu timed_out=%llu "
	       "lost=%llu cached=%llu reordered=%llu\n", (unsigned long long)st.packets,
	       (unsigned long long)st.allowed, (unsigned long long)st.dropped,
	       (unsigned long long)st.delayed, (unsigned long long)st.held,
	       (unsigned long long)st.timed_out, (unsigned long long)st.lost,
	       (unsigned long long)st.cached, reordered);
	netfil_packets_close(pq);
	netfil_close(nf);
	return 0;
usage:
	fprintf(stderr, "usage: queue_client ID { delay MS | drop-port PORT | flow } [--ready FILE]\n");
	return 1;
}
