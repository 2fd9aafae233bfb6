// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The JSON shapes of netfil, built once for every front end: a filter
 * and the status, as "netfil -j" prints them and netfild's /status
 * serves them.  Keys are the words of names.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include "internal.h"

/* {"in": a, "out": b} */
json_t *nf_json_in_out(uint64_t a, uint64_t b)
{
	return json_pack("{s:I,s:I}", netfil_dir_name(NETFIL_IN), (json_int_t)a,
			 netfil_dir_name(NETFIL_OUT), (json_int_t)b);
}

static void set_counter(json_t *o, enum netfil_counter c, json_t *v)
{
	char key[32];

	netfil_counter_key(c, -1, '_', key, sizeof(key));
	json_object_set_new(o, key, v);
}

/* A wall-clock time as RFC 3339 UTC with milliseconds, or null. */
json_t *nf_json_wall(uint64_t ns)
{
	char buf[64];

	if (!ns)
		return json_null();
	netfil_format_wall(ns, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *id_or_null(bool known, uint64_t v)
{
	return known ? json_integer((json_int_t)v) : json_null();
}

/* A socket filter's match: {"pid": N, "start": N}, {"exe": PATH, "dev":
 * "MAJ:MIN", "inode": N, "stale": B}, {"user": NAME, "uid": N},
 * {"cgroup": DIR, "cgroup_id": N, "stale": B}, {"unit": NAME, "cgroup":
 * DIR, ...}; an unresolved path has null dev, inode, cgroup and id. */
static void socket_json(json_t *o, const struct netfil_match *m)
{
	const char *key = netfil_by_name(m->by);
	char buf[64];

	switch (m->by) {
	case NETFIL_BY_PID:
	case NETFIL_BY_TREE:
		json_object_set_new(o, key, json_integer(m->pid));
		json_object_set_new(o, "start", json_integer((json_int_t)m->start));
		return;
	case NETFIL_BY_USER:
		netfil_user_name(m->uid, buf, sizeof(buf));
		json_object_set_new(o, key, json_string(buf));
		json_object_set_new(o, "uid", json_integer(m->uid));
		return;
	case NETFIL_BY_EXE:
		json_object_set_new(o, key, json_string(m->path));
		snprintf(buf, sizeof(buf), "%u:%u", major(m->dev), minor(m->dev));
		json_object_set_new(o, "dev", m->resolved ? json_string(buf) : json_null());
		json_object_set_new(o, "inode", id_or_null(m->resolved, m->ino));
		break;
	case NETFIL_BY_CGROUP:
	case NETFIL_BY_UNIT:
		json_object_set_new(o, key, json_string(m->path));
		if (m->by == NETFIL_BY_UNIT)
			json_object_set_new(o, netfil_by_name(NETFIL_BY_CGROUP),
					    m->resolved ? json_string(m->cgroup_dir) : json_null());
		json_object_set_new(o, "cgroup_id", id_or_null(m->resolved, m->cgroup_id));
		break;
	}
	json_object_set_new(o, "stale", json_boolean(m->stale));
	json_object_set_new(o, "allow_missing", json_boolean(m->allow_missing));
}

json_t *netfil_filter_json(const struct netfil_filter *f)
{
	const struct netfil_match *m = &f->match;
	json_t *o, *arr, *lim;
	char buf[256];
	int i;

	o = json_pack("{s:I,s:s}", "id", (json_int_t)f->id, "kind", netfil_kind_name(m->kind));
	if (!o)
		return NULL;
	switch (m->kind) {
	case NETFIL_SOCKET:
		socket_json(o, m);
		break;
	case NETFIL_IP:
		netfil_format_match(m, buf, sizeof(buf));
		json_object_set_new(o, "prefix", json_string(buf));
		break;
	case NETFIL_IFACE:
		arr = json_array();
		for (i = 0; i < m->n_ifaces; i++)
			json_array_append_new(arr, json_string(m->ifaces[i]));
		json_object_set_new(o, "interfaces", arr);
		json_object_set_new(o, "allow_missing", json_boolean(m->allow_missing));
		arr = json_array();
		for (i = 0; i < m->n_ifaces; i++)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "interface",
				m->ifaces[i], "state", netfil_attach_name(f->ifindex[i]),
				"ifindex", (json_int_t)f->ifindex[i]));
		json_object_set_new(o, "attachment", arr);
		json_object_set_new(o, "netns", json_integer((json_int_t)f->netns));
		json_object_set_new(o, "netns_here", json_boolean(f->netns_here));
		break;
	}
	json_object_set_new(o, "status", json_string(netfil_onoff_name(f->on)));
	json_object_set_new(o, "action", json_string(netfil_action_name(f->action)));
	lim = json_object();
	for (i = NETFIL_IBYTE; i <= NETFIL_IOBYTE; i++)
		json_object_set_new(lim, netfil_limit_name((enum netfil_limit)i),
				    json_integer((json_int_t)f->limit[i]));
	json_object_set_new(o, "limits", lim);
	set_counter(o, NETFIL_C_BYTES, nf_json_in_out(f->bytes[0], f->bytes[1]));
	set_counter(o, NETFIL_C_PACKETS, nf_json_in_out(f->packets[0], f->packets[1]));
	set_counter(o, NETFIL_C_DROPPED, nf_json_in_out(f->dropped[0], f->dropped[1]));
	set_counter(o, NETFIL_C_EXCEEDED, json_pack("{s:b,s:b}", netfil_dir_name(NETFIL_IN),
		    f->exceeded[0], netfil_dir_name(NETFIL_OUT), f->exceeded[1]));
	set_counter(o, NETFIL_C_EXCEEDED_AT, nf_json_in_out(f->exceeded_at[0], f->exceeded_at[1]));
	set_counter(o, NETFIL_C_EXCEEDED_TIME, json_pack("{s:o,s:o}",
		    netfil_dir_name(NETFIL_IN), nf_json_wall(f->exceeded_wall[0]),
		    netfil_dir_name(NETFIL_OUT), nf_json_wall(f->exceeded_wall[1])));
	if (f->redirect.family) {
		const struct netfil_redirect *r = &f->redirect;
		char url[NETFIL_URL_LEN];
		json_t *rd;

		/* a proxy's "to" is the proxy's address, as resolved */
		netfil_format_addr_port(r->family, r->addr, r->port, buf, sizeof(buf));
		rd = json_pack("{s:s,s:s}", "to", buf, "fail", netfil_fail_name(r->fail));
		if (r->proxy.kind) {
			netfil_proxy_format(&r->proxy, false, url, sizeof(url));
			json_object_set_new(rd, "proxy", json_string(url));
		}
		if (r->dport_hi)
			json_object_set_new(rd, "ports", json_pack("[i,i]", r->dport_lo, r->dport_hi));
		if (r->proto)
			json_object_set_new(rd, "proto", json_string(netfil_proto_name(r->proto)));
		json_object_set_new(o, "redirect", rd);
	} else {
		json_object_set_new(o, "redirect", json_null());
	}
	if (f->queue.mode) {
		json_object_set_new(o, "queue", json_pack("{s:s,s:s,s:I,s:i}",
			"mode", netfil_queue_mode_name(f->queue.mode),
			"fail", netfil_fail_name(f->queue.fail),
			"timeout_ms", (json_int_t)f->queue.timeout_ms, "queue_num", f->queue.qnum));
		if (f->match.kind != NETFIL_IFACE) {
			json_object_set_new(o, "netns", json_integer((json_int_t)f->netns));
			json_object_set_new(o, "netns_here", json_boolean(f->netns_here));
		}
	} else {
		json_object_set_new(o, "queue", json_null());
	}
	if (f->period.every != NETFIL_PERIOD_NONE) {
		netfil_format_period(&f->period, buf, sizeof(buf));
		json_object_set_new(o, "period", json_pack("{s:s,s:I}", "every", buf,
				    "last", (json_int_t)f->period.last));
	}
	return o;
}

json_t *netfil_status_json(const struct netfil_status *st)
{
	json_t *o = json_pack("{s:b}", "loaded", st->loaded), *n;
	int k;

	if (!o || !st->loaded)
		return o;
	json_object_set_new(o, "pin_dir", json_string(st->pin_dir));
	json_object_set_new(o, "cgroup", json_string(st->cgroup));
	json_object_set_new(o, "reaper_pid", json_integer(st->reaper_pid));
	n = json_object();
	for (k = NETFIL_SOCKET; k <= NETFIL_IFACE; k++)
		json_object_set_new(n, netfil_kind_name((enum netfil_kind)k),
				    json_integer(st->n_filters[k]));
	json_object_set_new(o, "filter_counts", n);
	json_object_set_new(o, "match_overflow", json_integer((json_int_t)st->match_overflow));
	json_object_set_new(o, "rst_passed", json_integer((json_int_t)st->rst_passed));
	json_object_set_new(o, "subscribers", json_integer(st->subscribers));
	json_object_set_new(o, "events_lost", json_integer((json_int_t)st->events_lost));
	json_object_set_new(o, "deleted", json_integer((json_int_t)st->deleted));
	json_object_set_new(o, "relay", json_boolean(st->relay));
	if (st->relay)
		json_object_set_new(o, "relay_listen", json_string(st->relay_addr));
	return o;
}

/* One filter built, written and freed at a time: 10,000 filters as one
 * jansson tree took 48 MiB. */
int netfil_filters_json_write(const struct netfil_filter *f, int n, FILE *out, size_t flags)
{
	bool pretty = flags & JSON_INDENT(0x1f);
	json_t *o;
	int i, err = 0;

	fputc('[', out);
	for (i = 0; i < n && !err; i++) {
		o = netfil_filter_json(&f[i]);
		if (!o)
			return -ENOMEM;
		fputs(i ? "," : "", out);
		if (pretty)
			fputs("\n  ", out);
		/* a nested document indents from column 0: good enough, and
		 * still one valid document */
		err = json_dumpf(o, out, flags) ? -EIO : 0;
		json_decref(o);
	}
	fputs(pretty && n ? "\n]" : "]", out);
	return err ?: ferror(out) ? -EIO : 0;
}

json_t *netfil_packet_json(const struct netfil_packet *p, enum netfil_verdict v)
{
	char src[64], dst[64];
	json_t *o;

	netfil_format_addr_port(p->family, p->saddr, p->sport, src, sizeof(src));
	netfil_format_addr_port(p->family, p->daddr, p->dport, dst, sizeof(dst));
	o = json_pack("{s:I,s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:b,s:I}",
		      "id", (json_int_t)p->id, "filter", (json_int_t)p->filter,
		      "dir", netfil_dir_name(p->dir), "ifindex", (json_int_t)p->ifindex,
		      "interface", p->ifname, "family", netfil_family_name(p->family),
		      "proto", netfil_proto_name(p->proto), "src", src, "dst", dst,
		      "new", p->flow_new, "len", (json_int_t)p->len);
	if (!o)
		return NULL;
	if (p->has_sock)
		json_object_set_new(o, "process", json_pack("{s:I,s:I,s:I,s:s,s:I}",
				    "pid", (json_int_t)p->pid, "tgid", (json_int_t)p->tgid,
				    "uid", (json_int_t)p->uid, "comm", p->comm,
				    "sock_id", (json_int_t)p->sock_id));
	else
		json_object_set_new(o, "process", json_null());
	json_object_set_new(o, "verdict", json_string(netfil_packet_verdict_name(v)));
	return o;
}
