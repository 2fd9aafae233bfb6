// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The packet parser of the verdict client (nf_packet_parse, lib/packets.c)
 * on any bytes, in a buffer of exactly their size.  Properties:
 *  - it reads only the bytes it was given (ASan);
 *  - a family is set only for a header of that version and length, and
 *    the addresses are the header's bytes;
 *  - ports and flow_new only for TCP and UDP with their header there,
 *    flow_new only for TCP.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdint.h>
#include "netfil.h"
#include "queue.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netfil_packet p = { 0 };
	uint8_t *d = malloc(size ? size : 1);

	if (!d)
		return 0;
	memcpy(d, data, size);
	p.data = d;
	p.caplen = (uint32_t)size;
	nf_packet_parse(&p);
	if (p.family == AF_INET) {
		PROPERTY(size >= 20 && d[0] >> 4 == 4, "ipv4 from %zu bytes", size);
		PROPERTY(!memcmp(p.saddr, d + 12, 4) && !memcmp(p.daddr, d + 16, 4), "ipv4 addrs");
		PROPERTY(p.proto == d[9], "ipv4 proto");
	} else if (p.family == AF_INET6) {
		PROPERTY(size >= 40 && d[0] >> 4 == 6, "ipv6 from %zu bytes", size);
		PROPERTY(!memcmp(p.saddr, d + 8, 16) && !memcmp(p.daddr, d + 24, 16), "ipv6 addrs");
		PROPERTY(p.proto == d[6], "ipv6 proto");
	} else {
		PROPERTY(!p.proto && !p.sport && !p.dport && !p.flow_new, "no family, yet fields");
	}
	PROPERTY(p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP ||
		 (!p.sport && !p.dport && !p.flow_new), "ports for proto %d", p.proto);
	PROPERTY(!p.flow_new || p.proto == IPPROTO_TCP, "flow_new for proto %d", p.proto);
	free(d);
	return 0;
}
