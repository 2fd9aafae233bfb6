// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * relay_engine: libnetfil's relay on its public API alone, for
 * tests/relay_engine.sh.  No kernel side: every connection and datagram
 * has the one origin and proxy of the command line.
 *
 *   relay_engine --origin ADDR:PORT --proxy URL|none [--listen ADDR:PORT]
 *                [--chunk count|upper|double] [--switch MS] [--stats FILE]
 *                [--timeout MS] [--udp-idle MS] [--max-conns N]
 *
 * The proxy URL's host must be an address (the relay never resolves);
 * "none" connects to the origin itself.  --chunk puts connections on the
 * chunk path, whose callback counts the bytes (count), uppercases what
 * the client sends (upper) or doubles every byte the client gets
 * (double).  --switch starts them on the chunk path (count) and moves
 * every open connection to the other path every MS ms.  Prints the
 * listening addresses (one line), then runs until SIGTERM or SIGINT;
 * --stats FILE holds "key=value ..." of the relay and the callbacks,
 * rewritten when they change.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "netfil.h"

#define MAX_OPEN 256

enum chunk_mode { CH_NONE, CH_COUNT, CH_UPPER, CH_DOUBLE };

struct engine {
	struct sockaddr_storage origin, proxy_addr;
	struct netfil_proxy proxy;
	enum chunk_mode mode;
	int switch_ms;
	struct netfil_relay *r;
	uint64_t open_ids[MAX_OPEN];
	enum netfil_relay_path open_path[MAX_OPEN];
	int nopen;
	uint64_t chunk_bytes[2], opened, closed, switches, switch_errors;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	int port;

	memset(ss, 0, sizeof(*ss));
	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (*s == '[') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	port = atoi(colon + 1);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

static int resolve(void *ctx, int proto, const struct sockaddr *client, socklen_t len,
		   struct netfil_origin *o)
{
	struct engine *e = ctx;

	o->proto = proto;
	memcpy(&o->client, client, len);
	o->orig = e->origin;
	o->proxy = e->proxy;
	o->proxy_addr = e->proxy_addr;
	o->filter = 1;
	return 0;
}

static enum netfil_relay_path on_open(void *ctx, uint64_t conn, const struct netfil_origin *o)
{
	struct engine *e = ctx;
	enum netfil_relay_path p = e->mode != CH_NONE ? NETFIL_RELAY_CHUNK : NETFIL_RELAY_SPLICE;

	(void)o;
	e->opened++;
	if (e->nopen < MAX_OPEN) {
		e->open_ids[e->nopen] = conn;
		e->open_path[e->nopen++] = p;
	}
	return p;
}

static void on_close(void *ctx, uint64_t conn)
{
	struct engine *e = ctx;
	int i;

	e->closed++;
	for (i = 0; i < e->nopen; i++)
		if (e->open_ids[i] == conn) {
			e->open_ids[i] = e->open_ids[--e->nopen];
			e->open_path[i] = e->open_path[e->nopen];
			break;
		}
}

static long on_data(void *ctx, uint64_t conn, enum netfil_dir dir, uint8_t *buf, size_t len,
		    size_t cap)
{
	struct engine *e = ctx;
	size_t i;

	(void)conn;
	e->chunk_bytes[dir] += len;
	if (e->mode == CH_UPPER && dir == NETFIL_OUT)
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)toupper(buf[i]);
	if (e->mode == CH_DOUBLE && dir == NETFIL_IN) {
		if (2 * len > cap)
			return -1;
		for (i = len; i-- > 0;)
			buf[2 * i] = buf[2 * i + 1] = buf[i];
		return (long)(2 * len);
	}
	return (long)len;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void write_stats(const struct engine *e, const char *path)
{
	struct netfil_relay_stats s;
	char tmp[4096];
	FILE *f;

	netfil_relay_stats(e->r, &s);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "accepted=%" PRIu64 " refused=%" PRIu64 " active=%" PRIu64
		" proxy_errors=%" PRIu64 " bytes_out=%" PRIu64 " bytes_in=%" PRIu64
		" dgram_out=%" PRIu64 " dgram_in=%" PRIu64 " udp_sessions=%" PRIu64
		" udp_dropped=%" PRIu64 " chunk_out=%" PRIu64 " chunk_in=%" PRIu64
		" opened=%" PRIu64 " closed=%" PRIu64 " switches=%" PRIu64
		" switch_errors=%" PRIu64 "\n",
		s.accepted, s.refused, s.active, s.proxy_errors, s.bytes[NETFIL_OUT],
		s.bytes[NETFIL_IN], s.datagrams[NETFIL_OUT], s.datagrams[NETFIL_IN],
		s.udp_sessions, s.udp_dropped, e->chunk_bytes[NETFIL_OUT],
		e->chunk_bytes[NETFIL_IN], e->opened, e->closed, e->switches, e->switch_errors);
	fclose(f);
	rename(tmp, path);
}

static void usage(void)
{
	fprintf(stderr, "usage: relay_engine --origin ADDR:PORT --proxy URL|none [--listen ADDR:PORT]\n"
			"       [--chunk count|upper|double] [--switch MS] [--stats FILE]\n"
			"       [--timeout MS] [--udp-idle MS] [--max-conns N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ "proxy", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "switch", required_argument, NULL, 's' },
		{ "stats", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "udp-idle", required_argument, NULL, 'u' },
		{ "max-conns", required_argument, NULL, 'm' },
		{}
	};
	struct netfil_relay_opts ro = {};
	struct netfil_relay_stats last = {}, now;
	struct engine e = {};
	struct sigaction sa = { .sa_handler = on_signal };
	const char *stats = NULL, *proxy = NULL;
	struct netfil_err err;
	uint64_t next_switch = 0, last_chunk[2] = {}, last_sw = 0, last_write = 0;
	char addr[256];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_addr(optarg, &e.origin))
				usage();
			break;
		case 'p':
			proxy = optarg;
			break;
		case 'l':
			ro.listen = optarg;
			break;
		case 'c':
			e.mode = !strcmp(optarg, "count") ? CH_COUNT : !strcmp(optarg, "upper") ? CH_UPPER :
				 !strcmp(optarg, "double") ? CH_DOUBLE : CH_NONE;
			if (e.mode == CH_NONE)
				usage();
			break;
		case 's':
			e.switch_ms = atoi(optarg);
			break;
		case 'S':
			stats = optarg;
			break;
		case 't':
			ro.connect_timeout_ms = atoi(optarg);
			break;
		case 'u':
			ro.udp_idle_ms = atoi(optarg);
			break;
		case 'm':
			ro.max_conns = (unsigned int)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!e.origin.ss_family || !proxy)
		usage();
	if (strcmp(proxy, "none")) {
		char hp[300];

		if (netfil_proxy_parse(proxy, &e.proxy, &err)) {
			fprintf(stderr, "relay_engine: %s\n", err.msg);
			return 2;
		}
		snprintf(hp, sizeof(hp), strchr(e.proxy.host, ':') ? "[%s]:%u" : "%s:%u",
			 e.proxy.host, e.proxy.port);
		if (parse_addr(hp, &e.proxy_addr)) {
			fprintf(stderr, "relay_engine: the proxy's host must be an address\n");
			return 2;
		}
	}
	if (e.switch_ms > 0 && e.mode == CH_NONE)
		e.mode = CH_COUNT;
	ro.resolve = resolve;
	ro.on_open = on_open;
	ro.on_data = on_data;
	ro.on_close = on_close;
	ro.ctx = &e;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = netfil_relay_open(NULL, &ro, &e.r);
	if (rc) {
		fprintf(stderr, "relay_engine: netfil_relay_open: %s\n", strerror(-rc));
		return 1;
	}
	netfil_relay_addr(e.r, addr, sizeof(addr));
	printf("%s\n", addr);
	fflush(stdout);
	if (stats)
		write_stats(&e, stats);
	if (e.switch_ms > 0)
		next_switch = now_ms() + (uint64_t)e.switch_ms;
	while (!stop) {
		rc = netfil_relay_dispatch(e.r, 50);
		if (rc) {
			fprintf(stderr, "relay_engine: dispatch: %s\n", strerror(-rc));
			break;
		}
		if (next_switch && now_ms() >= next_switch) {
			int i;

			for (i = 0; i < e.nopen; i++) {
				enum netfil_relay_path p = e.open_path[i] == NETFIL_RELAY_SPLICE ?
							   NETFIL_RELAY_CHUNK : NETFIL_RELAY_SPLICE;

				if (netfil_relay_set_path(e.r, e.open_ids[i], p)) {
					e.switch_errors++;
					continue;
				}
				e.open_path[i] = p;
				e.switches++;
			}
			next_switch = now_ms() + (uint64_t)e.switch_ms;
		}
		netfil_relay_stats(e.r, &now);
		/* at most every 20 ms: the file is no load on a measurement */
		if (stats && now_ms() >= last_write + 20 && (memcmp(&now, &last, sizeof(now)) || e.switches != last_sw ||
			      memcmp(last_chunk, e.chunk_bytes, sizeof(last_chunk)))) {
			write_stats(&e, stats);
			last = now;
			last_sw = e.switches;
			memcpy(last_chunk, e.chunk_bytes, sizeof(last_chunk));
			last_write = now_ms();
		}
	}
	if (stats)
		write_stats(&e, stats);
	netfil_relay_close(e.r);
	e.r = NULL;
	if (stats) {
		/* the closing counts: every connection closed */
		FILE *f = fopen(stats, "a");

		if (f) {
			fprintf(f, "exit opened=%" PRIu64 " closed=%" PRIu64 "\n", e.opened, e.closed);
			fclose(f);
		}
	}
	return rc ? 1 : 0;
}
