// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nf_event_decode() on any bytes, as if from the ring buffer (a kernel
 * side of another version, or a bug there).  Properties: no read past
 * the record; a decoded event has a known type, a NUL-terminated comm and
 * every enum and count within its range; a refusal is -EINVAL.
 */
#include <errno.h>
#include <stdint.h>
#include "internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netfil_event ev;
	int64_t wall_off = 0;
	void *copy;
	int r;

	/* the first 8 bytes are the clock offset, the rest the record, in
	 * a buffer of exactly its size so that ASan sees any over-read */
	if (size >= 8) {
		memcpy(&wall_off, data, 8);
		data += 8;
		size -= 8;
	}
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = nf_event_decode(copy, size, wall_off, &ev);
	free(copy);
	if (r) {
		PROPERTY(r == -EINVAL, "decode returned %d", r);
		return 0;
	}
	PROPERTY(ev.type >= NETFIL_EV_SOCKET && ev.type <= NETFIL_EV_LOST, "type %d", ev.type);
	PROPERTY(memchr(ev.comm, 0, sizeof(ev.comm)), "comm not terminated");
	PROPERTY(!ev.exe[0], "exe '%.16s' from a record", ev.exe);
	PROPERTY(strcmp(netfil_event_type_name(ev.type), "unknown"), "type %d has no name", ev.type);
	switch (ev.type) {
	case NETFIL_EV_CLOSE:
		PROPERTY(ev.close.n_filters >= 0 && ev.close.n_filters <= 9,
			 "n_filters %d", ev.close.n_filters);
		PROPERTY(ev.close.duration_ns <= ev.mono_ns, "duration past the event's time");
		break;
	case NETFIL_EV_EXCEEDED:
		PROPERTY(ev.exceeded.dir == NETFIL_IN || ev.exceeded.dir == NETFIL_OUT,
			 "dir %d", ev.exceeded.dir);
		PROPERTY(ev.exceeded.limit >= NETFIL_IBYTE && ev.exceeded.limit <= NETFIL_IOBYTE,
			 "limit %d", ev.exceeded.limit);
		break;
	case NETFIL_EV_FILTER:
		PROPERTY(ev.filter.op >= NETFIL_OP_ADD && ev.filter.op <= NETFIL_OP_DEL,
			 "op %d", ev.filter.op);
		break;
	default:
		break;
	}
	return 0;
}
