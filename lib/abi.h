/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel/user ABI, checked at compile time: every value libnetfil
 * copies or casts between its public enums (netfil.h) and the kernel's
 * (bpf/netfil_abi.h), and every array copied between the two, must agree.
 */
#ifndef LIBNETFIL_ABI_H
#define LIBNETFIL_ABI_H

#include "netfil.h"
#include "../bpf/netfil_abi.h"

#define NF_ABI_SAME(a, b) _Static_assert((long long)(a) == (long long)(b), #a " != " #b)
#define NF_ABI_LEN(arr) (sizeof(arr) / sizeof((arr)[0]))

/* filter kinds: nf_filter_cfg.kind, nf_filter_meta.kind */
NF_ABI_SAME(NETFIL_SOCKET, NF_KIND_SOCKET);
NF_ABI_SAME(NETFIL_IP, NF_KIND_IP);
NF_ABI_SAME(NETFIL_IFACE, NF_KIND_IFACE);

/* socket matches: nf_filter_meta.proc_match */
NF_ABI_SAME(NETFIL_BY_PID, NF_PROC_PID);
NF_ABI_SAME(NETFIL_BY_TREE, NF_PROC_TREE);
NF_ABI_SAME(NETFIL_BY_EXE, NF_PROC_EXE);
NF_ABI_SAME(NETFIL_BY_USER, NF_PROC_USER);
NF_ABI_SAME(NETFIL_BY_CGROUP, NF_PROC_CGROUP);
NF_ABI_SAME(NETFIL_BY_UNIT, NF_PROC_UNIT);
NF_ABI_SAME(NETFIL_PATH_LEN, NF_PATH_LEN);

/* actions: nf_filter_cfg.action */
NF_ABI_SAME(NETFIL_REJECT, NF_ACT_REJECT);
NF_ABI_SAME(NETFIL_DROP, NF_ACT_DROP);

/* redirects: nf_filter_cfg.rd_fail, .rd_addr */
NF_ABI_SAME(NETFIL_FAIL_CLOSED, NF_FAIL_CLOSED);
NF_ABI_SAME(NETFIL_FAIL_OPEN, NF_FAIL_OPEN);
NF_ABI_SAME(sizeof(((struct netfil_redirect *)0)->addr), sizeof(((struct nf_filter_cfg *)0)->rd_addr));
NF_ABI_SAME(sizeof(((struct netfil_event *)0)->connect.to), sizeof(((struct nf_event *)0)->connect.to));

/* directions: the index of every [2] counter and latch */
NF_ABI_SAME(NETFIL_IN, NF_IN);
NF_ABI_SAME(NETFIL_OUT, NF_OUT);

/* limits: the index of nf_filter_cfg.limit[], nf_event.exceeded.limit_kind */
NF_ABI_SAME(NETFIL_IBYTE, NF_LIM_IN);
NF_ABI_SAME(NETFIL_OBYTE, NF_LIM_OUT);
NF_ABI_SAME(NETFIL_IOBYTE, NF_LIM_IO);
NF_ABI_SAME(NF_ABI_LEN(((struct netfil_filter *)0)->limit), NF_LIM_MAX);
NF_ABI_SAME(NF_ABI_LEN(((struct nf_filter_cfg *)0)->limit), NF_LIM_MAX);

/* event types: nf_event.type; NETFIL_EV_LOST is libnetfil's own */
NF_ABI_SAME(NETFIL_EV_SOCKET, NF_EV_SOCKET);
NF_ABI_SAME(NETFIL_EV_CONNECT, NF_EV_CONNECT);
NF_ABI_SAME(NETFIL_EV_ACCEPT, NF_EV_ACCEPT);
NF_ABI_SAME(NETFIL_EV_BIND, NF_EV_BIND);
NF_ABI_SAME(NETFIL_EV_LISTEN, NF_EV_LISTEN);
NF_ABI_SAME(NETFIL_EV_CLOSE, NF_EV_CLOSE);
NF_ABI_SAME(NETFIL_EV_EXCEEDED, NF_EV_EXCEEDED);
NF_ABI_SAME(NETFIL_EV_FILTER, NF_EV_FILTER);
NF_ABI_SAME(NETFIL_EV_LOST, NF_EV_MAX);
NF_ABI_SAME(NETFIL_PROXY_NONE, NF_PROXY_NONE);
NF_ABI_SAME(NETFIL_PROXY_SOCKS5, NF_PROXY_SOCKS5);
NF_ABI_SAME(NETFIL_PROXY_HTTP, NF_PROXY_HTTP);
NF_ABI_SAME(NETFIL_URL_LEN, NF_URL_LEN);

/* per-packet verdicts: nf_filter_cfg.q_mode and .q_fail (as rd_fail),
 * a packet's comm from nf_qlookup, a queue number from NF_QUEUE_BASE +
 * slot in 16 bits, a socket filter's index in q_index */
_Static_assert(NETFIL_QUEUE_ALL <= 0xff, "enum netfil_queue_mode fits nf_filter_cfg.q_mode");
NF_ABI_SAME(sizeof(((struct netfil_packet *)0)->comm), NF_COMM_LEN);
NF_ABI_SAME(sizeof(((struct netfil_packet *)0)->saddr), sizeof(((struct nf_qlookup *)0)->laddr));
_Static_assert(NF_QUEUE_BASE + NF_MAX_FILTERS <= 0xffff, "queue numbers fit 16 bits");
_Static_assert(NETFIL_QUEUE_TIMEOUT_MAX <= 0xffffffffu, "q_timeout_ms");

/* nf_event.filter.op is enum netfil_filter_op, which the kernel passes
 * through; nf_filter_meta.period is enum netfil_every, in a byte */
_Static_assert(NETFIL_MONTHLY <= 0xff, "enum netfil_every fits nf_filter_meta.period");

/* arrays copied whole or indexed by a kernel value */
NF_ABI_SAME(NETFIL_MAX_IFACES_PER_FILTER, NF_IF_PER_FILTER);
NF_ABI_SAME(NETFIL_IFNAME_LEN, NF_IFNAME_LEN);
NF_ABI_SAME(sizeof(((struct netfil_event *)0)->comm), NF_COMM_LEN);
NF_ABI_SAME(sizeof(((struct netfil_event *)0)->laddr), sizeof(((struct nf_event *)0)->laddr));
NF_ABI_SAME(sizeof(((struct netfil_event *)0)->raddr), sizeof(((struct nf_event *)0)->raddr));
NF_ABI_SAME(NF_ABI_LEN(((struct netfil_event *)0)->close.filters),
	    NF_ABI_LEN(((struct nf_event *)0)->close.filters));
NF_ABI_SAME(NF_ABI_LEN(((struct netfil_status *)0)->n_filters), NF_KIND_IFACE + 1);
NF_ABI_SAME(NF_ABI_LEN(((struct nf_globals *)0)->sysctl_id), NF_KIND_IFACE + 1);
NF_ABI_SAME(NF_ABI_LEN(((struct nf_txn_rec *)0)->sysctl_id), NF_KIND_IFACE + 1);

#undef NF_ABI_LEN
#undef NF_ABI_SAME

#endif /* LIBNETFIL_ABI_H */
