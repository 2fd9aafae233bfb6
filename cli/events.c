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
#include <netinet/in.h>
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

/* What an event does not know is zero: no address and no port. */
static bool known(int family, const uint8_t *a, uint16_t port)
{
	static const uint8_t zero[16];

	return port || memcmp(a, zero, family == AF_INET6 ? 16 : 4);
}

static void addr_str(int family, const uint8_t *a, uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, a, ip, sizeof(ip));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
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

static json_t *in_out(uint64_t in, uint64_t out)
{
	return json_pack("{s:I,s:I}", netfil_dir_name(NETFIL_IN), (json_int_t)in,
			 netfil_dir_name(NETFIL_OUT), (json_int_t)out);
}

static void set_addr(json_t *o, const char *akey, const char *pkey, int family,
		     const uint8_t *a, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN] = "?";

	if (!known(family, a, port))
		return;
	inet_ntop(family, a, buf, sizeof(buf));
	json_object_set_new(o, akey, json_string(buf));
	json_object_set_new(o, pkey, json_integer(port));
}

/* Only the fields the event has: a filter event has no process or socket,
 * a socket before bind or connect no addresses. */
static json_t *event_json(const struct netfil_event *ev)
{
	json_t *o, *arr;
	char t[64];
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
		if (ev->sock_id)
			json_object_set_new(o, "sock", json_integer((json_int_t)ev->sock_id));
		json_object_set_new(o, "family", json_string(netfil_family_name(ev->family)));
		json_object_set_new(o, "proto", json_string(netfil_proto_name(ev->proto)));
		set_addr(o, "laddr", "lport", ev->family, ev->laddr, ev->lport);
		set_addr(o, "raddr", "rport", ev->family, ev->raddr, ev->rport);
	}
	switch (ev->type) {
	case NETFIL_EV_CONNECT:
		json_object_set_new(o, "verdict", json_string(netfil_verdict_name(ev->connect.refused)));
		if (ev->connect.refused)
			json_object_set_new(o, "filter", json_integer(ev->connect.filter));
		if (ev->connect.redirect) {
			json_object_set_new(o, "redirect", json_integer(ev->connect.redirect));
			set_addr(o, "to", "to_port", ev->family, ev->connect.to, ev->connect.to_port);
		}
		break;
	case NETFIL_EV_CLOSE:
		json_object_set_new(o, "bytes", in_out(ev->close.bytes[0], ev->close.bytes[1]));
		json_object_set_new(o, "packets", in_out(ev->close.packets[0], ev->close.packets[1]));
		if (ev->proto == IPPROTO_TCP)
			json_object_set_new(o, "payload", in_out(ev->close.payload[0],
								 ev->close.payload[1]));
		json_object_set_new(o, "created_ns", json_integer((json_int_t)ev->close.created_ns));
		json_object_set_new(o, "setup_ns", json_integer((json_int_t)ev->close.setup_ns));
		json_object_set_new(o, "duration_ns", json_integer((json_int_t)ev->close.duration_ns));
		if (ev->close.redirect) {
			json_object_set_new(o, "redirect", json_integer(ev->close.redirect));
			set_addr(o, "to", "to_port", ev->family, ev->close.to, ev->close.to_port);
		}
		arr = json_array();
		for (i = 0; i < ev->close.n_filters; i++)
			json_array_append_new(arr, json_integer(ev->close.filters[i]));
		json_object_set_new(o, "filters", arr);
		break;
	case NETFIL_EV_EXCEEDED:
		json_object_set_new(o, "filter", json_integer(ev->exceeded.filter));
		json_object_set_new(o, "dir", json_string(netfil_dir_name(ev->exceeded.dir)));
		json_object_set_new(o, "limit", json_string(netfil_limit_name(ev->exceeded.limit)));
		json_object_set_new(o, "limit_bytes", json_integer((json_int_t)ev->exceeded.limit_bytes));
		json_object_set_new(o, "admitted", json_integer((json_int_t)ev->exceeded.admitted));
		break;
	case NETFIL_EV_FILTER:
		json_object_set_new(o, "op", json_string(netfil_filter_op_name(ev->filter.op)));
		json_object_set_new(o, "filter", json_integer(ev->filter.id));
		break;
	default:
		break;
	}
	return o;
}

static void event_print(const struct netfil_event *ev)
{
	char t[64], a[80], b[4][32];
	int i;

	time_str(ev->wall_ns, t, sizeof(t));
	printf("%s %s", t, netfil_event_type_name(ev->type));
	if (ev->type == NETFIL_EV_LOST) {
		printf(" %llu events\n", (unsigned long long)ev->lost.count);
		return;
	}
	if (ev->family) {
		printf(" %s", netfil_proto_name(ev->proto));
		if (known(ev->family, ev->laddr, ev->lport)) {
			addr_str(ev->family, ev->laddr, ev->lport, a, sizeof(a));
			printf(" %s", a);
		}
		if (known(ev->family, ev->raddr, ev->rport)) {
			addr_str(ev->family, ev->raddr, ev->rport, a, sizeof(a));
			printf(" -> %s", a);
		}
		if (ev->sock_id)
			printf(" sock %llu", (unsigned long long)ev->sock_id);
	}
	if (ev->tgid)
		printf(" pid %u tgid %u uid %u comm %s", ev->pid, ev->tgid, ev->uid, ev->comm);
	switch (ev->type) {
	case NETFIL_EV_CONNECT:
		if (ev->connect.refused)
			printf(" %s by filter %u", netfil_verdict_name(true), ev->connect.filter);
		else
			printf(" %s", netfil_verdict_name(false));
		if (ev->connect.redirect) {
			addr_str(ev->family, ev->connect.to, ev->connect.to_port, a, sizeof(a));
			printf(" redirect to %s by filter %u", a, ev->connect.redirect);
		}
		break;
	case NETFIL_EV_CLOSE:
		printf(" in %s/%llup out %s/%llup",
		       size_str(ev->close.bytes[0], "B", b[0], sizeof(b[0])),
		       (unsigned long long)ev->close.packets[0],
		       size_str(ev->close.bytes[1], "B", b[1], sizeof(b[1])),
		       (unsigned long long)ev->close.packets[1]);
		if (ev->proto == IPPROTO_TCP)
			printf(" payload in %s out %s",
			       size_str(ev->close.payload[0], "", b[2], sizeof(b[2])),
			       size_str(ev->close.payload[1], "", b[3], sizeof(b[3])));
		printf(" duration %.6fs", (double)ev->close.duration_ns / 1e9);
		for (i = 0; i < ev->close.n_filters; i++)
			printf("%s%u", i ? "," : " filters ", ev->close.filters[i]);
		if (ev->close.redirect) {
			addr_str(ev->family, ev->close.to, ev->close.to_port, a, sizeof(a));
			printf(" redirect to %s by filter %u", a, ev->close.redirect);
		}
		break;
	case NETFIL_EV_EXCEEDED:
		printf(" filter %u %s %s %s admitted %s", ev->exceeded.filter,
		       netfil_dir_name(ev->exceeded.dir), netfil_limit_name(ev->exceeded.limit),
		       size_str(ev->exceeded.limit_bytes, "", b[0], sizeof(b[0])),
		       size_str(ev->exceeded.admitted, "", b[1], sizeof(b[1])));
		break;
	case NETFIL_EV_FILTER:
		printf(" %s filter %u", netfil_filter_op_name(ev->filter.op), ev->filter.id);
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
		json_dumpf(o, json_out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', json_out);
		json_decref(o);
	} else {
		event_print(ev);
	}
	return 0;	/* flushed once per batch, in do_events() */
}

static int parse_sel(int argc, char **argv, struct sel *s)
{
	static const char *const words[] = { "pid", "type", "filter" };
	const char *types[NETFIL_EV_LOST];
	char buf[256], *tok, *save;
	int i, t;

	for (t = NETFIL_EV_SOCKET; t < NETFIL_EV_LOST; t++)
		types[t - 1] = netfil_event_type_name((enum netfil_event_type)t);
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "pid") && strcmp(argv[i], "type") && strcmp(argv[i], "filter"))
			return fail_unknown("argument", argv[i], words, 3);
		if (i + 1 >= argc)
			return fail("missing value after '%s'", argv[i]);
		if (!strcmp(argv[i], "pid")) {
			if (parse_u32(argv[++i], &s->pid) || !s->pid)
				return fail("invalid pid '%s'", argv[i]);
		} else if (!strcmp(argv[i], "filter")) {
			if (parse_u32(argv[++i], &s->filter) || !s->filter)
				return fail("invalid filter id '%s'", argv[i]);
		} else {
			snprintf(buf, sizeof(buf), "%s", argv[++i]);
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				t = netfil_event_type_parse(tok);
				if (t < 0 || t == NETFIL_EV_LOST)
					return fail_unknown("event type", tok, types, NETFIL_EV_LOST - 1);
				s->types |= 1u << t;
			}
			if (!s->types)
				return fail("empty event type list '%s'", argv[i]);
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
