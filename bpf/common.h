/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * common.h - what every netfil BPF object includes first.
 *
 * The kernel half is one BPF object, linked by "bpftool gen object" from
 * thin program files, one per hook (cgroup_skb.bpf.c, connect.bpf.c,
 * tc.bpf.c, lifecycle.bpf.c, iter.bpf.c, syscall.bpf.c), and headers by
 * concern: maps.h (every map; maps.bpf.c defines them), sock.h (socket
 * identity), match.h (which filters apply), charge.h (where a limit is
 * decided), events.h (the event stream).  A new hook or capability is a
 * new X.bpf.c that includes the headers it uses, named in BPF_SRC in the
 * Makefile.  A kfunc may be declared (extern ... __ksym) in one object
 * only: libbpf 1.1's linker rejects the second declaration.
 */
#ifndef NF_COMMON_H
#define NF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "netfil_abi.h"

/* uapi macros, which vmlinux.h cannot carry */
#define AF_INET		2
#define AF_INET6	10
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define TCP_FIN_WAIT2	5
#define TCP_TIME_WAIT	6
#define TCP_CLOSE	7
#define TCP_LAST_ACK	9
#define TCP_LISTEN	10
#define TCP_CLOSING	11

#endif /* NF_COMMON_H */
