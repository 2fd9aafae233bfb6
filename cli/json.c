// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A filter as JSON: the one shape for "netfil -j" and netfild's /status. */
#include "json.h"

json_t *filter_json(const struct netfil_filter *f)
{
	const struct netfil_match *m = &f->match;
	char buf[256];
	json_t *o, *arr;
	int i;

	o = json_pack("{s:I,s:s}", "id", (json_int_t)f->id, "kind", netfil_kind_name(m->kind));
	switch (m->kind) {
	case NETFIL_SOCKET:
		json_object_set_new(o, m->tree ? "tree" : "pid", json_integer(m->pid));
		json_object_set_new(o, "start", json_integer((json_int_t)m->start));
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
		break;
	}
	json_object_set_new(o, "status", json_string(f->on ? "on" : "off"));
	json_object_set_new(o, "action", json_string(f->action == NETFIL_DROP ? "drop" : "reject"));
	json_object_set_new(o, "limits", json_pack("{s:I,s:I,s:I}",
		"ibyte", (json_int_t)f->limit[0], "obyte", (json_int_t)f->limit[1],
		"iobyte", (json_int_t)f->limit[2]));
	json_object_set_new(o, "bytes", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->bytes[0], "out", (json_int_t)f->bytes[1]));
	json_object_set_new(o, "packets", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->packets[0], "out", (json_int_t)f->packets[1]));
	json_object_set_new(o, "dropped", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->dropped[0], "out", (json_int_t)f->dropped[1]));
	json_object_set_new(o, "exceeded", json_pack("{s:b,s:b}",
		"in", f->exceeded[0], "out", f->exceeded[1]));
	json_object_set_new(o, "exceeded_at", json_pack("{s:I,s:I}",
		"in", (json_int_t)f->exceeded_at[0], "out", (json_int_t)f->exceeded_at[1]));
	if (f->period.every != NETFIL_PERIOD_NONE) {
		char p[64];

		netfil_format_period(&f->period, p, sizeof(p));
		json_object_set_new(o, "period", json_pack("{s:s,s:I}", "every", p,
			"last", (json_int_t)f->period.last));
	}
	return o;
}
