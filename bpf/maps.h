/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * maps.h - every map of netfil, as one declaration for all objects.
 * maps.bpf.c defines them (NF_MAPS_DEFINE); every other object declares
 * them extern, and the BPF linker binds those to the one definition and
 * refuses one that does not match it.  Their layout: netfil_abi.h.
 */
#ifndef NF_MAPS_H
#define NF_MAPS_H

#include "common.h"

#ifdef NF_MAPS_DEFINE
#define NF_MAP
#else
#define NF_MAP extern
#endif

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nf_filter_cfg);
} nf_cfg SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct nf_filter_state);
} nf_state SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct nf_credit);
} nf_credit SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct nf_filter_meta);
} nf_meta SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_MAX_SOCKET);
	__type(key, struct nf_proc_key);
	__type(value, struct nf_proc_val);
} nf_procs SEC(".maps");

/* exe, user and cgroup filters (netfil_abi.h, struct nf_owner_key) */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_MAX_SOCKET);
	__type(key, struct nf_owner_key);
	__type(value, struct nf_ref);
} nf_owners SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NF_MAX_IP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nf_ip4_key);
	__type(value, struct nf_ref);
} nf_ip4 SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NF_MAX_IP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nf_ip6_key);
	__type(value, struct nf_ref);
} nf_ip6 SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_MAX_IFACES);
	__type(key, struct nf_if_key);
	__type(value, struct nf_if_val);
} nf_ifaces SEC(".maps");

/* BPF_F_CLONE: a socket accepted from a listener inherits its record. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct nf_sock);
} nf_socks SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nf_globals);
} nf_globals SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} nf_kick SEC(".maps");

/* The undo journal of user space's changes (netfil_abi.h); never read here. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NF_MAX_FILTERS + 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct nf_txn_rec);
} nf_txn SEC(".maps");

/* Each event subscriber brings its own ring buffer and puts it in a slot
 * here, so that every subscriber sees every event and a slow one loses
 * only its own (counted in nf_globals.sub_lost). */
struct nf_sub_rb {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NF_SUB_RB_BYTES);
};

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NF_MAX_SUBS);
	__type(key, __u32);
	__array(values, struct nf_sub_rb);
} nf_subs SEC(".maps");

/* Redirected connections' original destinations, for SO_ORIGINAL_DST:
 * LRU, so a lost delete (no close callback) only ages out. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NF_ODST_MAX);
	__type(key, struct nf_odst_key);
	__type(value, struct nf_odst_val);
} nf_odst SEC(".maps");

/* The relay's listening sockets (enum nf_relay_slot): the kernel takes
 * one out when it closes, so a dead relay is seen at the next connect(). */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, NF_RELAY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} nf_relay SEC(".maps");

/* Per-packet verdicts: a queue's client keeps a socket at its filter's
 * slot while it lives (the kernel takes it out when it closes), so that
 * fail closed refuses connect() at once when none is there. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, __u64);
} nf_qlive SEC(".maps");

/* ... and a heartbeat there, which the kernel reads to tell a live client
 * from a stalled one (struct nf_qbeat). */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, NF_MAX_FILTERS);
	__type(key, __u32);
	__type(value, struct nf_qbeat);
} nf_qbeat SEC(".maps");

NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NF_QGONE_MAX);
	__type(key, struct nf_qgone_key);
	__type(value, struct nf_qowner);
} nf_qgone SEC(".maps");

/* Closed sockets' totals per process, for live views (NF_WANT_PROCS). */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NF_PROC_BYTES_MAX);
	__type(key, struct nf_proc_key);
	__type(value, struct nf_proc_bytes);
} nf_proc_bytes SEC(".maps");

/* Load's walk of existing sockets, in two passes: the task walk keeps
 * each socket's record here by its address (sock->sk is untrusted there
 * on some kernels, so sk storage can't take it), and the tcp and udp
 * walks, whose sockets it takes, move the records into nf_socks. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct nf_sock);
} nf_stamp_tmp SEC(".maps");

/* A record of zeros to start each of nf_stamp_tmp's with. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nf_sock);
} nf_stamp_zero SEC(".maps");

/* Events are built here, not on the stack (512 bytes, already busy). */
struct nf_scratch {
	__u32 busy;
	__u32 pad;
	struct nf_event ev;
};

/* Two per CPU: a softirq program (ingress, sockops) may interrupt one in
 * process context (sock_release, connect, egress) halfway through. */
NF_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct nf_scratch);
} nf_scratch SEC(".maps");

static __always_inline struct nf_globals *globals(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nf_globals, &zero);
}

#endif /* NF_MAPS_H */
