// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Every word netfil shows a user, in one place: the text output, restore
 * files, JSON, /status, /metrics labels, sysctl keys and events all take
 * their words from here, so that one thing has one name everywhere.
 * Only the joining differs by syntax: "bytes-in" in restore files,
 * "bytes_in" in sysctl keys (sysctl's own style), {"bytes": {"in": N}} in
 * JSON and "bytes in N" in the text output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "internal.h"

static const char *const kind_names[] = {
	[NETFIL_SOCKET] = "socket", [NETFIL_IP] = "ip", [NETFIL_IFACE] = "interface",
};
static const char *const by_names[] = {
	[NETFIL_BY_PID] = "pid", [NETFIL_BY_TREE] = "tree", [NETFIL_BY_EXE] = "exe",
	[NETFIL_BY_USER] = "user", [NETFIL_BY_CGROUP] = "cgroup", [NETFIL_BY_UNIT] = "unit",
};
static const char *const action_names[] = {
	[NETFIL_REJECT] = "reject", [NETFIL_DROP] = "drop",
};
static const char *const dir_names[] = { [NETFIL_IN] = "in", [NETFIL_OUT] = "out" };
static const char *const limit_names[] = {
	[NETFIL_IBYTE] = "ibyte", [NETFIL_OBYTE] = "obyte", [NETFIL_IOBYTE] = "iobyte",
};
static const char *const every_names[] = {
	[NETFIL_PERIOD_NONE] = "none", [NETFIL_HOURLY] = "hourly", [NETFIL_DAILY] = "daily",
	[NETFIL_WEEKLY] = "weekly", [NETFIL_MONTHLY] = "monthly",
};
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
/* The per-direction counters, as restore files and sysctl spell them
 * ('-' becomes '_' in sysctl keys and JSON). */
static const char *const counter_names[] = {
	[NETFIL_C_BYTES] = "bytes", [NETFIL_C_PACKETS] = "packets",
	[NETFIL_C_DROPPED] = "dropped", [NETFIL_C_EXCEEDED] = "exceeded",
	[NETFIL_C_EXCEEDED_AT] = "exceeded-at", [NETFIL_C_EXCEEDED_TIME] = "exceeded-time",
};

#define NAME(tab, i) ((unsigned int)(i) < sizeof(tab) / sizeof(tab[0]) && tab[i] ? tab[i] : "?")

const char *netfil_kind_name(enum netfil_kind kind) { return NAME(kind_names, kind); }
const char *netfil_by_name(enum netfil_by by) { return NAME(by_names, by); }
const char *netfil_action_name(enum netfil_action a) { return NAME(action_names, a); }
const char *netfil_dir_name(enum netfil_dir d) { return NAME(dir_names, d); }
const char *netfil_limit_name(enum netfil_limit l) { return NAME(limit_names, l); }
const char *netfil_every_name(enum netfil_every e) { return NAME(every_names, e); }
const char *netfil_day_name(int wday) { return NAME(day_names, wday); }
const char *netfil_onoff_name(bool on) { return on ? "on" : "off"; }

const char *netfil_exceeded_name(const bool exceeded[2])
{
	return exceeded[0] && exceeded[1] ? "in,out" : exceeded[0] ? "in" :
	       exceeded[1] ? "out" : "none";
}

int netfil_exceeded_parse(const char *s, bool exceeded[2])
{
	static const bool v[4][2] = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, netfil_exceeded_name(v[i]))) {
			exceeded[0] = v[i][0];
			exceeded[1] = v[i][1];
			return 0;
		}
	return -EINVAL;
}

/* "bytes-in" (sep '-'), "bytes_in" (sep '_'), "bytes" (dir < 0). */
void netfil_counter_key(enum netfil_counter c, int dir, char sep, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "%s", NAME(counter_names, c));
	if (dir >= 0)
		snprintf(buf + strlen(buf), len - strlen(buf), "-%s", NAME(dir_names, dir));
	for (p = buf; *p; p++)
		if (*p == '-')
			*p = sep;
}

/* Look a word up in a name table: its index, or -EINVAL. */
static int lookup(const char *const *tab, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (tab[i] && !strcmp(tab[i], s))
			return i;
	return -EINVAL;
}

int netfil_kind_parse(const char *s)
{
	return lookup(kind_names, (int)(sizeof(kind_names) / sizeof(kind_names[0])), s);
}

int netfil_by_parse(const char *s)
{
	return lookup(by_names, (int)(sizeof(by_names) / sizeof(by_names[0])), s);
}

int netfil_action_parse(const char *s)
{
	return lookup(action_names, (int)(sizeof(action_names) / sizeof(action_names[0])), s);
}

int netfil_limit_parse(const char *s)
{
	return lookup(limit_names, (int)(sizeof(limit_names) / sizeof(limit_names[0])), s);
}

int netfil_every_parse(const char *s)
{
	return lookup(every_names, (int)(sizeof(every_names) / sizeof(every_names[0])), s);
}

/* "mon" or "monday", nothing else ("monkey" is no day). */
int netfil_day_parse(const char *s)
{
	static const char *const full[7] = { "sunday", "monday", "tuesday", "wednesday",
					     "thursday", "friday", "saturday" };
	int i;

	for (i = 0; i < 7; i++)
		if (!strcmp(s, day_names[i]) || !strcmp(s, full[i]))
			return i;
	return -EINVAL;
}

/* An interface of an interface filter: attached to an index, or waiting
 * for the interface to appear. */
const char *netfil_attach_name(uint32_t ifindex)
{
	return ifindex ? "attached" : "waiting";
}

/* "2026-11-30T20:01:02.345Z" */
void netfil_format_wall(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned int)(ns / 1000000ULL % 1000));
}

static const char *const op_names[] = {
	[NETFIL_OP_ADD] = "add", [NETFIL_OP_CHANGE] = "change",
	[NETFIL_OP_RESET] = "reset", [NETFIL_OP_DEL] = "del",
};

const char *netfil_filter_op_name(enum netfil_filter_op op) { return NAME(op_names, op); }

const char *netfil_family_name(int family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "?";
}

const char *netfil_proto_name(int proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

int netfil_proto_parse(const char *s)
{
	return !strcmp(s, netfil_proto_name(IPPROTO_TCP)) ? IPPROTO_TCP :
	       !strcmp(s, netfil_proto_name(IPPROTO_UDP)) ? IPPROTO_UDP : -EINVAL;
}

const char *netfil_verdict_name(bool refused) { return refused ? "refused" : "allowed"; }

static const char *const fail_names[] = {
	[NETFIL_FAIL_CLOSED] = "closed", [NETFIL_FAIL_OPEN] = "open",
};

const char *netfil_fail_name(enum netfil_fail fail) { return NAME(fail_names, fail); }

/* URL schemes of the proxies the relay speaks to */
static const char *const proxy_names[] = {
	[NETFIL_PROXY_SOCKS5] = "socks5", [NETFIL_PROXY_HTTP] = "http",
};

const char *netfil_proxy_kind_name(enum netfil_proxy_kind k) { return NAME(proxy_names, k); }

/* "redirect to ADDR:PORT fail open", "redirect none" */
static const char *const rd_words[] = {
	[NF_RD_REDIRECT] = "redirect", [NF_RD_TO] = "to", [NF_RD_FAIL] = "fail",
	[NF_RD_NONE] = "none", [NF_RD_PROXY] = "proxy", [NF_RD_PORT] = "port",
	[NF_RD_PROTO] = "proto",
};

const char *nf_rd_word(enum nf_rd_word w) { return NAME(rd_words, w); }

int netfil_fail_parse(const char *s)
{
	return lookup(fail_names, (int)(sizeof(fail_names) / sizeof(fail_names[0])), s);
}

/* "1.5MiB": binary units, one decimal; below 1 KiB the plain count. */
void netfil_format_size_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double x = (double)bytes;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	for (x /= 1024; x >= 1024 && u < 5; u++)
		x /= 1024;
	/* 1023.96KiB would print as "1024.0KiB" */
	if (x >= 1023.95 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%s", x, units[u]);
}

/* The kernel's TCP_* states, as ss(8) spells them, lower case */
static const char *const tcp_state_names[] = {
	[1] = "established", [2] = "syn-sent", [3] = "syn-recv", [4] = "fin-wait-1",
	[5] = "fin-wait-2", [6] = "time-wait", [7] = "closed", [8] = "close-wait",
	[9] = "last-ack", [10] = "listen", [11] = "closing", [12] = "new-syn-recv",
};

const char *netfil_sock_state_name(int proto, int state)
{
	if (proto == IPPROTO_UDP)	/* the kernel marks a connected one established */
		return state == 1 ? "connected" : "open";
	return NAME(tcp_state_names, state);
}

/* The live view's status: the words beside its colours */
static const char *const view_state_names[] = {
	[NETFIL_VIEW_ON] = "on", [NETFIL_VIEW_OFF] = "off",
	[NETFIL_VIEW_DOWN] = "not loaded", [NETFIL_VIEW_ERROR] = "error",
};
static const char *const sort_names[] = {
	[NETFIL_SORT_RATE] = "rate", [NETFIL_SORT_TOTAL] = "total",
	[NETFIL_SORT_PID] = "pid", [NETFIL_SORT_NAME] = "name",
};

const char *netfil_view_state_name(enum netfil_view_state s) { return NAME(view_state_names, s); }
const char *netfil_view_sort_name(enum netfil_view_sort s) { return NAME(sort_names, s); }

int netfil_view_sort_parse(const char *s)
{
	return lookup(sort_names, NETFIL_SORT_COUNT, s);
}

int netfil_view_state_parse(const char *s)
{
	return lookup(view_state_names, NETFIL_VIEW_ERROR + 1, s);
}

/* Per-packet verdicts: "queue new fail closed timeout 1000" */
static const char *const queue_mode_names[] = {
	[NETFIL_QUEUE_NONE] = "none", [NETFIL_QUEUE_NEW] = "new", [NETFIL_QUEUE_ALL] = "all",
};
static const char *const packet_verdict_names[] = {
	[NETFIL_V_ALLOW] = "allow", [NETFIL_V_DROP] = "drop", [NETFIL_V_DELAY] = "delay",
	[NETFIL_V_ALLOW_FLOW] = "allow-flow",
};
static const char *const queue_words[] = {
	[NF_Q_QUEUE] = "queue", [NF_Q_TIMEOUT] = "timeout",
};

const char *netfil_queue_mode_name(enum netfil_queue_mode m) { return NAME(queue_mode_names, m); }
const char *netfil_packet_verdict_name(enum netfil_verdict v)
{
	return NAME(packet_verdict_names, v);
}
const char *nf_q_word(enum nf_q_word w) { return NAME(queue_words, w); }

int nf_queue_mode_parse(const char *s)
{
	return lookup(queue_mode_names, NETFIL_QUEUE_ALL + 1, s);
}

int netfil_packet_verdict_parse(const char *s)
{
	return lookup(packet_verdict_names, NETFIL_V_ALLOW_FLOW + 1, s);
}
