/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * queue.h - per-packet verdicts, inside libnetfil: the nftables rules that
 * send a filter's packets to its NFQUEUE (nft.c), the client that answers
 * them (packets.c), and the glue to the pinned maps (queue.c).
 */
#ifndef LIBNETFIL_QUEUE_H
#define LIBNETFIL_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include "netfil.h"

/* One filter's queue rules in netfil's inet table.  Every rule carries
 * the comment "netfil:<id>", so a filter's rules are found and removed
 * by its id alone. */
struct nf_nft_rule {
	uint32_t id;
	uint16_t qnum;		/* the NFQUEUE number */
	bool bypass;		/* fail open: no client, the packet passes */
	bool new_only;		/* queue only packets of ct state new */
	int kind;		/* NF_KIND_SOCKET, NF_KIND_IP, NF_KIND_IFACE */
	/* socket: the socket mark's queue field, (mark & mask) == mark */
	uint32_t mark, mask;
	/* ip: the remote address (daddr out, saddr in) */
	int family;		/* AF_INET, AF_INET6 */
	uint8_t prefixlen;
	uint8_t addr[16];
	/* interface: oifname out, iifname in */
	unsigned int n_ifaces;
	char ifaces[16][16];
};

/*
 * The table "inet <table>" in the caller's network namespace, created
 * with its chains on first use.  flow_mask is the ct mark field that
 * ALLOW_FLOW sets all-ones: packets of such a flow are never queued.
 * One netlink batch per call, so a change is all or nothing.
 */
int nf_nft_add(const char *table, uint32_t flow_mask, const struct nf_nft_rule *r);
/* Remove filter id's rules; 0 when it had none. */
int nf_nft_del(const char *table, uint32_t id);
/* Remove the table; 0 when there is none. */
int nf_nft_drop(const char *table);
/* How many rules filter id has (id 0: all of them), or -errno;
 * -ENOENT: no table. */
int nf_nft_count(const char *table, uint32_t id);

/* What a client needs to know of its filter's queue. */
struct nf_queue_info {
	uint16_t qnum;
	enum netfil_queue_mode mode;
	enum netfil_fail fail;
	uint32_t timeout_ms;
	/* ALLOW_FLOW: the verdict sets (mark & ~flow_mask) | flow_mask */
	uint32_t flow_mask;
	/* the client's heartbeat and its fail policy's counts (nf_qbeat,
	 * mapped: beat_map, beat_len) */
	struct nf_qbeat *beat;
	void *beat_map;
	size_t beat_len;
};

/* queue.c: filter_id's queue, if it has one in the caller's network
 * namespace.  *live_fd (or -1) is a socket to keep open while the client
 * lives: the kernel side sees the client go with it.  qi->beat is its
 * heartbeat, beaten once already; munmap(beat_map, beat_len) at the end. */
int nf_queue_client(struct netfil *nf, uint32_t filter_id, struct nf_queue_info *qi,
		    int *live_fd);
/* queue.c: the local socket of p's addresses and ports: fills has_sock,
 * pid, tgid, uid, comm and sock_id.  0, or -ENOENT when none. */
int nf_queue_attr(struct netfil *nf, struct netfil_packet *p);

/* packets.c: family, protocol, addresses, ports and flow_new from the
 * caplen bytes at data (an IP packet); what is not there stays 0. */
void nf_packet_parse(struct netfil_packet *p);

#endif /* LIBNETFIL_QUEUE_H */
