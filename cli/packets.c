// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfil packets: the client of a filter's queue that prints each packet
 * and answers it with one verdict (allow, or drop), until stopped or
 * until it has answered count packets. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct pk {
	enum netfil_verdict v;
	uint32_t count, seen;
};

static enum netfil_verdict on_packet(const struct netfil_packet *p, void *ctx)
{
	struct pk *k = ctx;
	char line[256];

	if (json_output) {
		json_print(netfil_packet_json(p, k->v));
	} else {
		netfil_format_packet(p, line, sizeof(line));
		printf("%u: %s %s\n", p->id, line, netfil_packet_verdict_name(k->v));
	}
	if (k->count && ++k->seen >= k->count)
		stop = 1;
	return k->v;
}

/* A stall the client just came back from, in words: its fail policy
 * applied while it was away (the kernel's counts since it started).
 * false: no new stall. */
bool stall_text(const struct netfil_packets *pq, uint32_t id, uint64_t *seen, char *buf,
		size_t len)
{
	struct netfil_packets_stats st;

	netfil_packets_stats(pq, &st);
	if (st.stalls == *seen)
		return false;
	*seen = st.stalls;
	snprintf(buf, len,
		 "filter %u's client stalled, its fail policy applied meanwhile: "
		 "%llu stalls, %llu ms in all; %llu refused, %llu passed",
		 id, (unsigned long long)st.stalls, (unsigned long long)st.stalled_ms,
		 (unsigned long long)st.refused, (unsigned long long)st.passed);
	return true;
}

/* The library's errors for a client, in the words of this command. */
int queue_open_error(int err, uint32_t id)
{
	switch (err) {
	case -ENOENT:
		return fail("no filter %u", id);
	case -EINVAL:
		return fail("filter %u has no queue (add one: netfil filter set %u queue)", id, id);
	case -EBUSY:
		return fail("filter %u's queue already has a client", id);
	case -EXDEV:
		return fail("filter %u's queue is in another network namespace", id);
	}
	return fail_errno(err, "opening the queue");
}

int do_packets(int argc, char **argv)
{
	static const char *const words[] = { "allow", "drop", "count" };
	struct sigaction sa = { .sa_handler = on_signal };
	struct pk k = { .v = NETFIL_V_ALLOW };
	struct netfil_packets *pq;
	struct netfil *nf;
	uint64_t stalls = 0;
	char note[192];
	uint32_t id;
	int i, err = 0;

	if (argc < 1)
		return fail("missing filter ID");
	if (parse_u32(argv[0], &id) || !id)
		return fail("invalid filter id '%s'", argv[0]);
	for (i = 1; i < argc; i++) {
		int v = netfil_packet_verdict_parse(argv[i]);

		if (v == NETFIL_V_ALLOW || v == NETFIL_V_DROP) {
			k.v = (enum netfil_verdict)v;
		} else if (!strcmp(argv[i], "count")) {
			if (i + 1 >= argc)
				return fail("missing value after 'count'");
			if (parse_u32(argv[++i], &k.count) || !k.count)
				return fail("invalid count '%s'", argv[i]);
		} else {
			return fail_unknown("argument", argv[i], words, 3);
		}
	}
	if (open_netfil(&nf))
		return -1;
	err = netfil_packets_open(nf, id, on_packet, &k, &pq);
	if (err) {
		netfil_close(nf);
		return queue_open_error(err, id);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* ready: a script may start its traffic once this line is out */
	fprintf(stderr, "netfil: answering filter %u's packets: %s\n", id,
		netfil_packet_verdict_name(k.v));
	while (!stop) {
		struct pollfd pfd = { .fd = netfil_packets_fd(pq), .events = POLLIN };

		if (poll(&pfd, 1, 200) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		err = netfil_packets_dispatch(pq);
		fflush(stdout);
		if (stall_text(pq, id, &stalls, note, sizeof(note)))
			fprintf(stderr, "netfil: %s\n", note);
		if (err < 0 && err != -EINTR && err != -EAGAIN)
			break;
		err = 0;
	}
	netfil_packets_close(pq);
	netfil_close(nf);
	return err ? fail_errno(err, "answering packets") : 0;
}
