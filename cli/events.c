// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil events [pid PID] [type TYPE[,TYPE...]] [filter ID]
 *
 * Streams events, one line each (a JSON object per line with -j), until
 * interrupted.  Lost events show up as "lost" lines: loss is never silent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

struct sel {
	uint32_t pid;		/* 0: any */
	unsigned int types;	/* bit per enum netfil_event_type; 0: any */
	uint32_t filter;	/* 0: any */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *const dir_names[2] = { "in", "out" };
static const char *const limit_names[3] = { "ibyte", "obyte", "iobyte" };
static const char *const op_names[] = { "", "add", "change", "reset", "del" };

static bool names_filter(const struct netfil_event *ev, uint32_t id)
{
	int i;

	switch (ev->type) {
	case NETFIL_EV_CONNECT:
		return ev->connect.filter == id;
	case NETFIL_EV_EXCEEDED:
		return ev->exceeded.filter == id;
	case NETFIL_EV_FILTER:
		return ev->filter.id == id;
	case NETFIL_EV_CLOSE:
		for (i = 0; i < ev->close.n_filters; i++)
			if (ev->close.filters[i] == id)
				return true;
		return false;
	default:
		return false;
	}
}

static bool selected(const struct netfil_event *ev, const struct sel *s)
{
	if (ev->type == NETFIL_EV_LOST)
		return true;	/* whatever was lost may have matched */
	if (s->pid && ev->pid != s->pid && ev->tgid != s->pid)
		return false;
	if (s->types && !(s->types & (1u << ev->type)))
		return false;
	return !s->filter || names_filter(ev, s->filter);
}

static void addr_str(int family, const uint8_t *a, uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, a, ip, sizeof(ip));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static const char *proto_name(int proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "-";
}

static void time_str(uint64_t wall_ns, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ns / 1000000000ULL);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lluZ", s, (unsigned long long)(wall_ns % 1000000000ULL) / 1000);
}

static json_t *event_json(const struct netfil_event *ev)
{
	char t[64], a[64];
	json_t *o, *arr;
	int i;

	time_str(ev->wall_ns, t, sizeof(t));
	o = json_pack("{s:s,s:s,s:I}", "type", netfil_event_type_name(ev->type),
		      "time", t, "mono_ns", (json_int_t)ev->mono_ns);
	if (ev->type == NETFIL_EV_LOST) {
		json_object_set_new(o, "count", json_integer((json_int_t)ev->lost.count));
		return o;
	}
	if (ev->tgid) {
		json_object_set_new(o, "pid", json_integer(ev->pid));
		json_object_set_new(o, "tgid", json_integer(ev->tgid));
		json_object_set_new(o, "uid", json_integer(ev->uid));
		json_object_set_new(o, "gid", json_integer(ev->gid));
		json_object_set_new(o, "comm", json_string(ev->comm));
		if (ev->exe[0])
			json_object_set_new(o, "exe", json_string(ev->exe));
	}
	if (ev->family) {
		json_object_set_new(o, "sock", json_integer((json_int_t)ev->sock_id));
		json_object_set_new(o, "family", json_string(ev->family == AF_INET6 ? "ipv6" : "ipv4"));
		json_object_set_new(o, "proto", json_string(proto_name(ev->proto)));
		inet_ntop(ev->family, ev->laddr, a, sizeof(a));
		json_object_set_new(o, "laddr", json_string(a));
		json_object_set_new(o, "lport", json_integer(ev->lport));
		inet_ntop(ev->family, ev->raddr, a, sizeof(a));
		json_object_set_new(o, "raddr", json_string(a));
		json_object_set_new(o, "rport", json_integer(ev->rport));
	}
	switch (ev->type) {
	case NETFIL_EV_CONNECT:
		json_object_set_new(o, "verdict", json_string(ev->connect.refused ? "refused" : "allowed"));
		if (ev->connect.refused)
			json_object_set_new(o, "filter", json_integer(ev->connect.filter));
		break;
	case NETFIL_EV_CLOSE:
		json_object_set_new(o, "bytes", json_pack("{s:I,s:I}", "in", (json_int_t)ev->close.bytes[0],
							  "out", (json_int_t)ev->close.bytes[1]));
		json_object_set_new(o, "packets", json_pack("{s:I,s:I}", "in", (json_int_t)ev->close.packets[0],
							    "out", (json_int_t)ev->close.packets[1]));
		if (ev->proto == 6)
			json_object_set_new(o, "payload", json_pack("{s:I,s:I}",
				"in", (json_int_t)ev->close.payload[0], "out", (json_int_t)ev->close.payload[1]));
		json_object_set_new(o, "created_ns", json_integer((json_int_t)ev->close.created_ns));
		json_object_set_new(o, "setup_ns", json_integer((json_int_t)ev->close.setup_ns));
		json_object_set_new(o, "duration_ns", json_integer((json_int_t)ev->close.duration_ns));
		arr = json_array();
		for (i = 0; i < ev->close.n_filters; i++)
			json_array_append_new(arr, json_integer(ev->close.filters[i]));
		json_object_set_new(o, "filters", arr);
		break;
	case NETFIL_EV_EXCEEDED:
		json_object_set_new(o, "filter", json_integer(ev->exceeded.filter));
		json_object_set_new(o, "dir", json_string(dir_names[ev->exceeded.dir & 1]));
		json_object_set_new(o, "limit", json_string(limit_names[ev->exceeded.limit % 3]));
		json_object_set_new(o, "limit_bytes", json_integer((json_int_t)ev->exceeded.limit_bytes));
		json_object_set_new(o, "admitted", json_integer((json_int_t)ev->exceeded.admitted));
		break;
	case NETFIL_EV_FILTER:
		json_object_set_new(o, "op", json_string(op_names[ev->filter.op % 5]));
		json_object_set_new(o, "filter", json_integer(ev->filter.id));
		break;
	default:
		break;
	}
	return o;
}

static void event_print(const struct netfil_event *ev)
{
	char t[64], l[80], r[80];
	int i;

	time_str(ev->wall_ns, t, sizeof(t));
	printf("%s %s", t, netfil_event_type_name(ev->type));
	if (ev->type == NETFIL_EV_LOST) {
		printf(" %llu events\n", (unsigned long long)ev->lost.count);
		return;
	}
	if (ev->family) {
		addr_str(ev->family, ev->laddr, ev->lport, l, sizeof(l));
		addr_str(ev->family, ev->raddr, ev->rport, r, sizeof(r));
		printf(" %s %s -> %s sock %llu", proto_name(ev->proto), l, r,
		       (unsigned long long)ev->sock_id);
	}
	if (ev->tgid)
		printf(" pid %u tgid %u uid %u comm %s", ev->pid, ev->tgid, ev->uid, ev->comm);
	switch (ev->type) {
	case NETFIL_EV_CONNECT:
		if (ev->connect.refused)
			printf(" refused by filter %u", ev->connect.filter);
		else
			printf(" allowed");
		break;
	case NETFIL_EV_CLOSE:
		printf(" in %lluB/%llup out %lluB/%llup",
		       (unsigned long long)ev->close.bytes[0], (unsigned long long)ev->close.packets[0],
		       (unsigned long long)ev->close.bytes[1], (unsigned long long)ev->close.packets[1]);
		if (ev->proto == 6)
			printf(" payload in %llu out %llu", (unsigned long long)ev->close.payload[0],
			       (unsigned long long)ev->close.payload[1]);
		printf(" duration %.6fs", (double)ev->close.duration_ns / 1e9);
		for (i = 0; i < ev->close.n_filters; i++)
			printf("%s%u", i ? "," : " filters ", ev->close.filters[i]);
		break;
	case NETFIL_EV_EXCEEDED:
		printf(" filter %u %s %s %llu admitted %llu", ev->exceeded.filter,
		       dir_names[ev->exceeded.dir & 1], limit_names[ev->exceeded.limit % 3],
		       (unsigned long long)ev->exceeded.limit_bytes,
		       (unsigned long long)ev->exceeded.admitted);
		break;
	case NETFIL_EV_FILTER:
		printf(" %s filter %u", op_names[ev->filter.op % 5], ev->filter.id);
		break;
	default:
		break;
	}
	putchar('\n');
}

static int on_event(const struct netfil_event *ev, void *ctx)
{
	if (!selected(ev, ctx))
		return 0;
	if (json_output) {
		json_t *o = event_json(ev);

		/* one object per line, whatever -p says: a stream of lines */
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		event_print(ev);
	}
	return 0;	/* flushed once per batch, in do_events() */
}

static int parse_sel(int argc, char **argv, struct sel *s)
{
	char buf[256], *tok, *save;
	int i, t;

	for (i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			return fail("missing value after '%s'", argv[i]);
		if (!strcmp(argv[i], "pid")) {
			if (parse_u32(argv[++i], &s->pid) || !s->pid)
				return fail("invalid pid '%s'", argv[i]);
		} else if (!strcmp(argv[i], "filter")) {
			if (parse_u32(argv[++i], &s->filter) || !s->filter)
				return fail("invalid filter id '%s'", argv[i]);
		} else if (!strcmp(argv[i], "type")) {
			snprintf(buf, sizeof(buf), "%s", argv[++i]);
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				t = netfil_event_type_parse(tok);
				if (t < 0 || t == NETFIL_EV_LOST)
					return fail("unknown event type '%s'", tok);
				s->types |= 1u << t;
			}
			if (!s->types)
				return fail("empty event type list '%s'", argv[i]);
		} else {
			return fail("unknown argument '%s'", argv[i]);
		}
	}
	return 0;
}

int do_events(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct netfil_events *es;
	struct sel s = {};
	struct netfil *nf;
	int err;

	if (parse_sel(argc, argv, &s) || open_netfil(&nf))
		return -1;
	err = netfil_events_open(nf, on_event, &s, &es);
	if (err) {
		netfil_close(nf);
		return err == -EBUSY ? fail("all %d event subscriber slots are taken", 8) :
		       fail_errno(err, "subscribing to events");
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		err = netfil_events_poll(es, 200);
		fflush(stdout);
		if (err < 0 && err != -EINTR)
			break;
		err = 0;
	}
	if (!err)
		netfil_events_poll(es, 0);	/* what arrived meanwhile */
	netfil_events_close(es);
	netfil_close(nf);
	return err ? fail_errno(err, "reading events") : 0;
}
