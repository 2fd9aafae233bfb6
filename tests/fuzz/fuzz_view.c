// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The view model read back from JSON (netfil_view_set_json(): what
 * "netfil top" takes from netfild's /view, where the bytes come over a
 * socket).  Properties:
 *  - any input is taken or refused with -EINVAL (no crash, no leak);
 *  - a model taken is written out and read back to the same document:
 *    nothing is lost or changed in a round trip, and every count the
 *    model claims matches what it holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include "netfil.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netfil_view_opts vo = { .history = 16, .no_sockets = true };
	struct netfil_view *v = NULL, *w = NULL;
	const struct netfil_view_data *d;
	json_t *doc, *a = NULL, *b = NULL;
	int r, i;

	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!doc || netfil_view_open(NULL, &vo, &v) || netfil_view_open(NULL, &vo, &w))
		goto out;
	r = netfil_view_set_json(v, doc, "fuzz");
	PROPERTY(r == 0 || r == -EINVAL, "set_json: %d", r);
	if (r)
		goto out;
	d = netfil_view_data(v);
	PROPERTY(d->n_filters == (int)json_array_size(json_object_get(doc, "filters")),
		 "%d filters", d->n_filters);
	for (i = 0; i < d->n_filters; i++)
		PROPERTY(d->filters[i].n_hist <= 16, "history of %u", d->filters[i].n_hist);
	a = netfil_view_json(v, NETFIL_VIEW_HISTORY);
	PROPERTY(a && !netfil_view_set_json(w, a, "fuzz"), "its own JSON refused");
	b = netfil_view_json(w, NETFIL_VIEW_HISTORY);
	PROPERTY(b && json_equal(a, b), "round trip changed the model");
out:
	json_decref(doc);
	json_decref(a);
	json_decref(b);
	netfil_view_close(v);
	netfil_view_close(w);
	return 0;
}
