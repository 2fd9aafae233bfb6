/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Two filters field by field, for the round-trip tests and fuzzers. */
#ifndef NETFIL_FILTER_CMP_H
#define NETFIL_FILTER_CMP_H

#include <string.h>
#include "netfil.h"

/* NULL when equal, else the name of the first field that differs. */
static inline const char *filter_diff(const struct netfil_filter *a,
				      const struct netfil_filter *b)
{
	const struct netfil_match *x = &a->match, *y = &b->match;
	int i;

	if (a->id != b->id)
		return "id";
	if (x->kind != y->kind)
		return "match.kind";
	if (x->pid != y->pid || x->by != y->by || x->start != y->start)
		return "match by/pid/start";
	if (x->uid != y->uid || strncmp(x->path, y->path, NETFIL_PATH_LEN))
		return "match uid/path";
	if (x->kind == NETFIL_IP &&
	    (x->family != y->family || x->prefixlen != y->prefixlen ||
	     memcmp(x->addr, y->addr, sizeof(x->addr))))
		return "match prefix";
	if (x->kind != NETFIL_IP && (x->family || y->family || x->prefixlen || y->prefixlen))
		return "match prefix (not ip)";
	if (x->n_ifaces != y->n_ifaces || x->allow_missing != y->allow_missing)
		return "match n_ifaces/allow_missing";
	for (i = 0; i < x->n_ifaces && i < NETFIL_MAX_IFACES_PER_FILTER; i++)
		if (strncmp(x->ifaces[i], y->ifaces[i], NETFIL_IFNAME_LEN))
			return "match ifaces";
	if (a->on != b->on)
		return "on";
	if (a->action != b->action)
		return "action";
	for (i = 0; i < 3; i++)
		if (a->limit[i] != b->limit[i])
			return "limit";
	if (a->period.every != b->period.every || a->period.minute != b->period.minute ||
	    a->period.hour != b->period.hour || a->period.wday != b->period.wday ||
	    a->period.mday != b->period.mday)
		return "period";
	if (a->period.last != b->period.last)
		return "period.last";
	if (a->redirect.family != b->redirect.family || a->redirect.port != b->redirect.port ||
	    a->redirect.fail != b->redirect.fail ||
	    memcmp(a->redirect.addr, b->redirect.addr, sizeof(a->redirect.addr)) ||
	    a->redirect.dport_lo != b->redirect.dport_lo ||
	    a->redirect.dport_hi != b->redirect.dport_hi || a->redirect.proto != b->redirect.proto)
		return "redirect";
	if (a->redirect.proxy.kind != b->redirect.proxy.kind ||
	    a->redirect.proxy.port != b->redirect.proxy.port ||
	    strcmp(a->redirect.proxy.host, b->redirect.proxy.host) ||
	    strcmp(a->redirect.proxy.user, b->redirect.proxy.user) ||
	    strcmp(a->redirect.proxy.pass, b->redirect.proxy.pass))
		return "proxy";
	if (a->queue.mode != b->queue.mode || a->queue.fail != b->queue.fail ||
	    a->queue.timeout_ms != b->queue.timeout_ms)
		return "queue";
	for (i = 0; i < 2; i++) {
		if (a->bytes[i] != b->bytes[i] || a->packets[i] != b->packets[i] ||
		    a->dropped[i] != b->dropped[i])
			return "counters";
		if (a->exceeded[i] != b->exceeded[i] || a->exceeded_at[i] != b->exceeded_at[i])
			return "exceeded";
	}
	return NULL;
}

#endif
