// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* nf_emit: filter events come from user space.  libnetfil runs this
 * program with the event as its context, so they reach every subscriber in
 * order with the kernel's own events. */
#include "events.h"

SEC("syscall")
int nf_emit(struct nf_event *ctx)
{
	struct nf_event *ev = ev_new(NF_EV_FILTER, NULL);

	if (!ev)
		return 0;
	ev->filter.op = ctx->filter.op;
	ev->filter.id = ctx->filter.id;
	emit(ev);
	return 0;
}
