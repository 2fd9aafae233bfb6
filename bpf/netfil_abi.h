/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * netfil_abi.h - the kernel/user ABI: the layout shared by the BPF programs
 * and libnetfil (lib/abi.h checks the values libnetfil copies).
 *
 * Everything netfil enforces lives in pinned maps described here, so that
 * limits hold while no netfil process runs.  A filter occupies one "slot":
 * the same index in nf_cfg (what user space asked for), nf_state (what the
 * packet path counted, under a spin lock) and nf_meta (what the filter
 * matches, for listing).  Lookup maps (nf_procs, nf_ip4, nf_ip6, nf_ifaces)
 * point at a slot through a struct nf_ref, which also carries the filter id:
 * ids are never reused while netfil is loaded, so a stale reference to a
 * deleted filter is recognised and ignored instead of charging its
 * successor in the same slot.
 */
#ifndef NETFIL_ABI_H
#define NETFIL_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h>
#endif

#define NF_MAX_FILTERS   12288	/* slots shared by all kinds: the real cap on ip filters */
#define NF_MAX_SOCKET    1024
#define NF_MAX_IP        10240	/* per address family */
#define NF_MAX_IFACES    64	/* interfaces attached, over all filters */
#define NF_IF_PER_FILTER 16	/* interfaces named by one interface filter */
#define NF_ANC_MAX       16	/* process ancestry levels recorded per socket */
#define NF_SOCK_MATCH    8	/* socket filters one socket can be charged to */
#define NF_CG_DEPTH      8	/* cgroup levels a socket records, from its own up */
#define NF_PATH_LEN      256	/* an exe or cgroup filter's path */
#define NF_COMM_LEN      16
#define NF_IFNAME_LEN    16
#define NF_USER_HZ       100	/* /proc/PID/stat start time unit */
#define NF_MAX_SUBS      8	/* event subscribers at once */
#define NF_SUB_RB_BYTES  (4 << 20)	/* each subscriber's ring buffer */
#define NF_ODST_MAX      65536	/* redirected connections whose origin is kept */
/* SO_MARK of netfil's relay's own sockets: never redirected (no loops) */
#define NF_RELAY_MARK    0x6e660001
#define NF_URL_LEN       256	/* a proxy URL, kept in nf_meta */
/* Per-packet verdicts: filter slot S's packets go to NFQUEUE
 * NF_QUEUE_BASE + S.  A socket filter's packets carry its q_index in the
 * socket mark's queue field (nf_globals.q_mark: contiguous bits, ORed
 * into whatever mark the socket has); the field's top bit is the flow bit,
 * set in a flow's ct mark once a client allowed the whole flow.  A client
 * keeps a socket in nf_qlive[S] while it lives. */
#define NF_QUEUE_BASE    20000
#define NF_QUEUE_MARK    0xff000000u	/* the default queue field */
/* nf_relay, the SOCKMAP of the relay's listening sockets: while one is
 * there, the relay lives (the kernel drops it when it closes). */
/* nf_filter_cfg.rd_proxy: the same values as enum netfil_proxy_kind */
enum nf_proxy { NF_PROXY_NONE = 0, NF_PROXY_SOCKS5, NF_PROXY_HTTP };
enum nf_relay_slot { NF_RELAY_TCP4 = 0, NF_RELAY_UDP4, NF_RELAY_TCP6, NF_RELAY_UDP6,
		     NF_RELAY_SLOTS };

enum nf_dir { NF_IN = 0, NF_OUT = 1 };
enum nf_limit { NF_LIM_IN = 0, NF_LIM_OUT = 1, NF_LIM_IO = 2, NF_LIM_MAX };
enum nf_kind { NF_KIND_NONE = 0, NF_KIND_SOCKET, NF_KIND_IP, NF_KIND_IFACE };
enum nf_action { NF_ACT_REJECT = 0, NF_ACT_DROP = 1 };
/* A redirect whose local target has no listener: refuse, or go direct. */
enum nf_fail { NF_FAIL_CLOSED = 0, NF_FAIL_OPEN = 1 };
/* What a socket filter matches of the socket's creator (nf_meta.proc_match). */
enum nf_proc_match { NF_PROC_PID = 0, NF_PROC_TREE = 1, NF_PROC_EXE = 2,
		     NF_PROC_USER = 3, NF_PROC_CGROUP = 4, NF_PROC_UNIT = 5 };

/* A process, immune to pid reuse: tgid plus its start time in clock ticks
 * since boot, the same value as field 22 of /proc/PID/stat. */
struct nf_proc_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};

/* nf_owners: exe, user and cgroup (and unit) filters, by what they match.
 * One hash map for the three, so that resolving a socket costs one lookup
 * per kind (and per cgroup level). */
enum nf_owner_kind { NF_OWN_EXE = 1, NF_OWN_USER = 2, NF_OWN_CGROUP = 3 };
/* owner_bits also covers nf_procs' keys (pid and tree filters): their bit
 * is nf_owner_hash(NF_OWN_PROC, tgid, start) */
#define NF_OWN_PROC 4
struct nf_owner_key {
	__u32 kind;		/* enum nf_owner_kind */
	__u32 pad;
	__u64 a;		/* exe: the file's device (kernel dev_t); user: uid;
				 * cgroup: its id (the directory's inode) */
	__u64 b;		/* exe: the file's inode number */
};

#define NF_OWNER_BITS 4096

/* The bit of nf_globals.owner_bits a key sets (a 64-bit mix). */
static __inline __u32 nf_owner_hash(__u32 kind, __u64 a, __u64 b)
{
	__u64 h = a * 0x9e3779b97f4a7c15ULL ^ b * 0xc2b2ae3d27d4eb4fULL ^ kind;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (__u32)h & (NF_OWNER_BITS - 1);
}

/* A reference from a lookup map (or a socket's cache) to a filter. */
struct nf_ref {
	__u32 slot;
	__u32 id;		/* 0: no filter */
};

/* nf_cfg[slot]: written only by user space. */
struct nf_filter_cfg {
	__u32 id;		/* 0: slot free */
	__u8 kind;		/* enum nf_kind */
	__u8 on;
	__u8 action;		/* enum nf_action */
	__u8 pad;
	__u32 epoch;		/* bumped when limits change; starts at 1 */
	__u32 sgen;		/* bumped when user space replaces nf_state */
	__u64 limit[NF_LIM_MAX];	/* bytes, 0 = unlimited */
	/* Redirect (redirect.h): new connections go to this address
	 * instead, or through the relay to the proxy at this address.
	 * rd_family 0: no redirect; AF_INET or AF_INET6.  rd_family is
	 * written last and cleared first by user space. */
	__u8 rd_family;
	__u8 rd_fail;		/* enum nf_fail */
	__u16 rd_port;		/* host order */
	__u8 rd_proxy;		/* 0: transparent; else enum netfil_proxy_kind */
	__u8 rd_proto;		/* ip filters: 0 any, IPPROTO_TCP, IPPROTO_UDP */
	__u16 rd_dport_lo;	/* ip filters: destination ports, host order; */
	__u16 rd_dport_hi;	/* 0-0: any */
	__u16 pad3;
	__u8 rd_addr[16];	/* IPv4 in the first 4 bytes */
	/* Per-packet verdicts (queue.h): nftables sends the filter's packets
	 * to NFQUEUE NF_QUEUE_BASE + slot in the namespace q_netns.  q_mode
	 * 0: no queue; it is written last and cleared first by user space. */
	__u8 q_mode;		/* enum netfil_queue_mode */
	__u8 q_fail;		/* enum nf_fail: no client, or no answer in time */
	__u16 q_index;		/* socket filters: its value in the mark's queue field */
	__u32 q_timeout_ms;	/* a held packet's wait */
	__u64 q_netns;		/* netns cookie of the rules and the client */
};

/* nf_state[slot]: written by the packet path with atomic operations, no lock
 * (charge.h).  User space only reads it or overwrites it whole (reset,
 * restore), under the lock, which orders user space's own writers.  A
 * direction is exceeded while latched[dir] equals the cfg epoch, so raising
 * a limit (which bumps the epoch) or a reset clears the latch without user
 * space ever doing a read-modify-write against the packet path. */
struct nf_filter_state {
	struct bpf_spin_lock lock;
	__u32 latched[2];
	__u32 pad;
	__u64 bytes[2];		/* admitted, L3, and the CPUs' credit (below) */
	__u64 packets[2];	/* admitted, less what nf_credit holds */
	__u64 dropped[2];	/* bytes refused by this filter */
	__u64 latched_ns[2];	/* CLOCK_MONOTONIC of the crossing; 0: none */
};

/* nf_credit[slot], per CPU: bytes this CPU has taken from nf_state.bytes
 * ahead of its packets, so that most packets write only this CPU's line
 * (a line that both CPUs write costs a transfer per packet).  Admitted
 * bytes are nf_state.bytes less every CPU's left; packets are
 * nf_state.packets plus every CPU's.  An entry counts only while id and
 * sgen are its filter's; it is spent only under the same epoch too, and
 * given back when the limits changed (charge.h). */
struct nf_credit {
	__u32 id;
	__u32 sgen;
	__u32 epoch;
	__u32 busy;		/* being renewed or refilled on this CPU */
	__u64 left[2];		/* taken, not spent yet */
	__u64 packets[2];	/* admitted on this CPU */
};
#define NF_CREDIT_SLICE	(4U << 20)	/* the most a CPU takes ahead */
#define NF_MAX_CPUS	256		/* the CPUs a reclaim visits */

/* nf_meta[slot]: what the filter matches, kept for listing only. */
/* nf_filter_meta.flags */
#define NF_META_ALLOW_MISSING 1	/* interfaces may be absent (ifindex 0) */

struct nf_filter_meta {
	__u8 kind;
	__u8 proc_match;	/* enum nf_proc_match */
	__u8 family;		/* AF_INET / AF_INET6 for ip filters */
	__u8 prefixlen;
	__u32 n_ifaces;
	struct nf_proc_key proc;
	__u8 addr[16];
	__u64 netns;		/* interface filters: netns cookie */
	__u32 ifindex[NF_IF_PER_FILTER];	/* 0: absent now (allow-missing) */
	union {
		char ifaces[NF_IF_PER_FILTER][NF_IFNAME_LEN];
		/* exe: the path as given (a symlink is followed at each
		 * resolution); cgroup: the directory; unit: its cgroup
		 * directory once found, else the unit's name */
		char path[NF_PATH_LEN];
	};
	/* exe, user, cgroup, unit: the nf_owners key linked now; a.kind 0
	 * while the path resolves to nothing (allow-missing, or a restore) */
	struct nf_owner_key owner;
	/* A billing period: counters reset at each boundary (user space's
	 * job; the kernel side never reads these). */
	__u8 period;		/* enum netfil_every */
	__u8 p_minute;
	__u8 p_hour;
	__u8 p_wday;		/* 0 = Sunday */
	__u8 p_mday;		/* 1-31 */
	__u8 flags;		/* NF_META_* */
	__u8 pad[2];
	__s64 period_last;	/* the last boundary applied, seconds since the epoch */
	char proxy[NF_URL_LEN];	/* a proxy redirect's URL, as given; "" none */
};

/* nf_procs: a process that has a pid filter, a tree filter, or both. */
struct nf_proc_val {
	struct nf_ref pid;
	struct nf_ref tree;
};

struct nf_ip4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct nf_ip6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* nf_ifaces: interfaces are named per network namespace. */
struct nf_if_key {
	__u64 netns;		/* netns cookie */
	__u32 ifindex;
	__u32 pad;
};

/* The classid of netfil's tc filter on an interface, of which the program
 * sees the low 16 bits (skb->tc_classid): the interface filter's slot + 1
 * and the link-layer bytes to strip, so that a packet finds its filter
 * without a hash lookup, which cost about 70 ns of a packet's 300 here
 * (BENCHMARKS.md section 12).  Neither hlen bit: look it up (nf_ifaces). */
#define NF_TC_CLASS_MAJOR	0x6e660000
#define NF_TC_SLOT_MASK		0x3fff
#define NF_TC_HLEN_ETH		0x4000	/* strip 14 bytes */
#define NF_TC_HLEN_NONE		0x8000	/* strip none */

struct nf_if_val {
	struct nf_ref ref;
	__u32 hlen;		/* link-layer header bytes to strip: 14 on Ethernet */
	__u32 own_qdisc;	/* netfil created the clsact qdisc: remove it too */
};

/* nf_odst: where redirected sockets were going, for the target's
 * getsockopt(SO_ORIGINAL_DST) and for the relay.  Keyed by the client's
 * local address, port and protocol (what the target sees as the peer);
 * IPv4 as v4-mapped. */
struct nf_odst_key {
	__u8 addr[16];
	__u16 port;		/* host order */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u8 pad;
};

struct nf_odst_val {
	__u8 addr[16];		/* IPv4 as v4-mapped */
	__u16 port;		/* host order */
	__u16 pad;
	__u32 filter;		/* the redirecting filter: the relay reads its proxy */
};

/* What a socket moved one way that netfil admitted, for its close event:
 * counted on the packet path, reported once, at close. */
struct nf_tally {
	__u64 bytes;		/* L3 */
	__u64 packets;
};

/* nf_socks: the per-socket record (bpf_sk_storage), set once at creation.
 * What each packet reads comes first, together.  The two tallies, which
 * packets write, are more than a cache line away from it and from each
 * other: a line that one CPU writes and another reads or writes moves
 * between them, and a socket's two directions are often handled on
 * different CPUs (docs/BENCHMARKS.md, 12.3). */
struct nf_sock {
	/* Cache of the socket filters that apply, valid for one sock_gen. */
	__u32 gen;
	__u32 n_match;
	__u8 family;
	__u8 proto;
	__u8 tcp_close_cb;	/* TCP: the close event comes at TCP_CLOSE */
	__u8 closed;		/* its close event is out */
	__u8 addr_known;	/* the addresses below are set */
	__u8 active;		/* TCP: we connected (not accepted) */
	__u8 redirected;	/* connect() or sendmsg() was redirected: orig below */
	__u8 odst_pub;		/* its nf_odst entry is published */
	struct nf_ref match[NF_SOCK_MATCH];
	/* Who created it, for socket filters and events. */
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	__u64 start_ns;		/* process start, ns since boot */
	char comm[NF_COMM_LEN];
	__u32 n_anc;
	__u32 exe_dev;		/* the creator's executable: device (kernel dev_t) */
	__u64 exe_ino;		/* ... and inode number; 0: none (a kernel thread) */
	struct nf_tally in;
	struct nf_proc_key anc[NF_ANC_MAX];	/* [0] is the creating process */
	struct nf_tally out;
	/* The socket's cgroup and its ancestors down to netfil's attach
	 * cgroup, nearest first: what cgroup filters match. */
	__u32 n_cg;
	__u32 pad;
	__u64 cg[NF_CG_DEPTH];
	__u64 created_ns;	/* CLOCK_MONOTONIC */
	__u64 setup_ns;		/* connected or accepted; 0: never */
	/* Addresses for the close event, from the socket's first packet:
	 * close() hooks cannot read them any more. */
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u32 pad3;
	/* A redirected connection's destination as the application asked,
	 * in the socket's family (AF_INET6: maybe v4-mapped). */
	__u8 orig[16];
	__u16 orig_port;	/* host order */
	__u16 to_port;		/* where it went (socket's family), host order */
	__u32 rd_filter;	/* the redirecting filter */
	__u8 to[16];
	__u64 cookie;		/* the socket's cookie, for per-packet verdicts */
	/* The first filter with a queue that its last connect() or sendmsg()
	 * matched here: its RTO callback looks at that queue's client. */
	__u32 q_id;
	__u32 q_slot;
};
_Static_assert(__builtin_offsetof(struct nf_sock, in) >=
	       __builtin_offsetof(struct nf_sock, match[NF_SOCK_MATCH]) + 64 &&
	       __builtin_offsetof(struct nf_sock, out) >=
	       __builtin_offsetof(struct nf_sock, in) + sizeof(struct nf_tally) + 64,
	       "nf_sock: a tally within a cache line of what else packets touch");

/* nf_sk_lookup (queue.bpf.c) runs on this, after an Ethernet header, by
 * BPF_PROG_TEST_RUN: the socket of a queued packet, and its owner. */
struct nf_qlookup {
	__u8 family;		/* AF_INET, AF_INET6 */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u8 found;		/* out: a socket with a record */
	__u8 pad;
	__u16 lport, rport;	/* network order: local, remote */
	__u8 laddr[16];		/* IPv4 in the first 4 bytes */
	__u8 raddr[16];
	__u32 tgid, pid, uid;	/* out */
	__u32 pad2;
	__u64 cookie;		/* out */
	char comm[NF_COMM_LEN];	/* out */
};

/* nf_qgone: the owners of sockets closed while a queue exists, by local
 * address and port (IPv4 in the first 4 bytes; 0: bound to any), so that
 * a packet that is still queued when its process has closed the socket
 * (and exited) is still named.  LRU: an entry only ages out. */
struct nf_qgone_key {
	__u8 family;
	__u8 proto;
	__u16 lport;		/* host order */
	__u8 laddr[16];
};

struct nf_qowner {
	__u32 tgid, pid, uid, pad;
	__u64 cookie;
	char comm[NF_COMM_LEN];
};
#define NF_QGONE_MAX 16384

/* A queue's client, per filter slot (nf_qbeat, mmapped by the client):
 * its heartbeat, and what its fail policy did while it had none.  A
 * client whose beat is older than the filter's timeout has stalled. */
struct nf_qbeat {
	__u64 beat_ns;		/* CLOCK_MONOTONIC, written by the client */
	__u64 refused;		/* connect()/sendmsg() refused: fail closed */
	__u64 passed;		/* sockets let past the queue: fail open */
	__u64 pad;
};

/* One governed socket as nf_dump_socks (iter.bpf.c) writes it, for live
 * views: who owns it, where it talks and what it moved so far. */
struct nf_sock_row {
	__u64 cookie;		/* the socket's id, as in events */
	__u64 start_ns;		/* the owner's start, ns since boot */
	__u64 bytes[2];		/* L3 admitted, enum nf_dir */
	__u64 packets[2];
	__u64 created_ns;	/* CLOCK_MONOTONIC */
	__u64 netns;		/* its network namespace's cookie */
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 rd_filter;	/* redirected by this filter; 0: not */
	char comm[NF_COMM_LEN];
	__u8 laddr[16];		/* IPv4 in the first 4 bytes */
	__u8 raddr[16];		/* redirected: the original destination */
	__u16 lport;		/* host order */
	__u16 rport;
	__u8 family;
	__u8 proto;
	__u8 state;		/* the kernel's TCP_* (UDP: TCP_CLOSE unconnected,
				 * TCP_ESTABLISHED connected) */
	__u8 active;		/* TCP: we connected */
};

/* What a process's closed sockets moved, by nf_proc_key, kept while a
 * live view wants it (NF_WANT_PROCS): a process that opens, uses and
 * closes a socket between two samples, and exits, still has its totals. */
struct nf_proc_bytes {
	__u64 bytes[2];		/* L3 admitted, enum nf_dir */
	__u64 packets[2];
	__u64 sockets;		/* how many closed */
	__u32 uid;
	__u32 pad;
	char comm[NF_COMM_LEN];
};
#define NF_PROC_BYTES_MAX 8192

/* Events, one struct for all kinds; the union's member is named by type.
 * Written by the kernel side into every subscriber's ring buffer. */
enum nf_ev_type {
	NF_EV_SOCKET = 1, NF_EV_CONNECT, NF_EV_ACCEPT, NF_EV_BIND, NF_EV_LISTEN,
	NF_EV_CLOSE, NF_EV_EXCEEDED, NF_EV_FILTER, NF_EV_MAX
};

struct nf_event {
	__u16 type;		/* enum nf_ev_type */
	__u8 family;		/* AF_INET, AF_INET6; 0: no socket */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u64 cookie;		/* the socket's id, never reused while up */
	char comm[NF_COMM_LEN];
	__u8 laddr[16];		/* IPv4 in the first 4 bytes */
	__u8 raddr[16];
	__u16 lport;		/* host order */
	__u16 rport;
	__u32 gid;
	union {
		struct {
			__u32 refused;	/* 0: allowed */
			__u32 filter;	/* the filter that refused it */
			/* redirected: raddr/rport stay the original
			 * destination, to/to_port where it went */
			__u32 redirect;	/* the redirecting filter; 0: none */
			__u16 to_port;
			__u16 pad;
			__u8 to[16];
		} connect;
		struct {
			__u64 bytes[2];		/* L3, admitted */
			__u64 packets[2];
			__u64 payload[2];	/* TCP: bytes_received, bytes_acked */
			__u64 created_ns;
			__u64 setup_ns;
			__u32 n_filters;
			__u32 filters[NF_SOCK_MATCH + 1];
			/* as connect: raddr/rport the original destination */
			__u32 redirect;
			__u16 to_port;
			__u16 pad;
			__u8 to[16];
		} close;
		struct {
			__u32 filter;
			__u32 dir;		/* enum nf_dir */
			__u32 limit_kind;	/* enum nf_limit that was crossed */
			__u32 pad;
			__u64 limit;
			__u64 admitted;		/* the counter that limit bounds */
		} exceeded;
		struct {
			__u32 op;		/* enum netfil_filter_op, passed through */
			__u32 id;
		} filter;
	};
};

/* nf_globals[0]: shared state that is not per filter. */
struct nf_globals {
	__u32 sock_gen;		/* bumped on every socket filter change */
	__u32 next_id;		/* last filter id handed out */
	__u32 reaper_pid;
	__u32 pad;
	__u64 reaper_start;	/* start ticks of reaper_pid */
	__u64 match_overflow;	/* resolutions that found more than NF_SOCK_MATCH */
	__u64 rst_passed;	/* RSTs let out of exceeded reject filters */
	__u64 deleted;		/* filters deleted on request, ever: netfild
				 * tells a deliberate loss from an accident */
	__u32 sysctl_id[4];	/* per kind: the filter net.netfil.* acts on */
	__u64 cgroup_id;	/* where the cgroup programs are attached */
	__u32 cgroup_level;	/* its depth below the cgroup v2 root */
	__u32 pad4;
	char cgroup[256];
	/* Event subscribers: slot i of nf_subs is taken while bit i is set. */
	__u32 subs_mask;
	__u32 pad3;
	__u32 sub_pid[NF_MAX_SUBS];	/* who holds each slot ... */
	__u64 sub_start[NF_MAX_SUBS];	/* ... and its start time, against pid reuse */
	__u64 sub_lost[NF_MAX_SUBS];	/* events that did not fit, per slot */
	/* NF_MK_* of the process match kinds (pid, tree) linked since load
	 * (set before the link, never cleared): resolving a socket skips
	 * the nf_procs lookups when no filter ever needed them.  (exe, user
	 * and cgroup keys have owner_bits.) */
	__u32 match_kinds;
	__u32 pad5;
	/* A one-hash filter in front of nf_owners and nf_procs: bit
	 * nf_owner_hash(key) is set for every key linked (before the link).  A socket whose
	 * keys hit no set bit, most sockets, skips the lookups and their
	 * cache misses.  Rebuilt from the map after changes that unlink. */
	__u64 owner_bits[NF_OWNER_BITS / 64];
	/* The relay's listening addresses ([0] IPv4, [1] IPv6; port 0:
	 * none), set when it registers; valid while nf_relay holds it. */
	__u8 relay_addr[2][16];
	__u16 relay_port[2];
	__u32 pad6;
	/* What each subscriber wants: a bit per enum nf_ev_type, and
	 * NF_WANT_PROCS (0: everything).  want is the union over the
	 * subscribers: an event nobody wants is never built. */
	__u32 sub_types[NF_MAX_SUBS];
	__u32 want;
	__u32 pad7;
	/* Per-packet verdicts: the socket mark's queue field (its top bit
	 * the flow bit), its shift, and how many filters have a queue
	 * (0: connect() and sock_create skip the queue work). */
	__u32 q_mark;
	__u32 q_shift;
	__u32 q_filters;
	__u32 q_sockets;	/* of them socket filters: sockets get marks */
	__u32 q_all;		/* of them queue all: any socket may leave
				 * packets in a queue when it closes */
	__u32 pad8;
};
#define NF_WANT_PROCS	(1u << 31)	/* per-process totals in nf_proc_bytes */

#define NF_MK_PID	(1u << 0)
#define NF_MK_TREE	(1u << 1)

/*
 * nf_txn: the undo journal that makes every change crash-atomic (user
 * space only; the packet path never reads it).  Key NF_TXN_HEAD holds the
 * header; key S holds slot S as it was before the change that is under
 * way.  A change writes a slot's record before it touches the slot, and
 * commits by clearing head.active, one map update.  Whoever takes the
 * change lock next and finds head.active set puts every recorded slot of
 * head.seq back: a kill -9 at any instant leaves the old configuration
 * or the new one, never a mix.
 */
#define NF_TXN_HEAD 0xffffffffu

struct nf_txn_rec {
	__u32 seq;		/* the change this record belongs to */
	__u32 active;		/* header only: a change is under way */
	__u32 sysctl_id[4];	/* header only: nf_globals.sysctl_id before it */
	__u64 deleted;		/* header only: nf_globals.deleted before it */
	struct nf_filter_cfg cfg;
	struct nf_filter_meta meta;
	/* nf_filter_state without its lock */
	__u32 latched[2];
	__u64 bytes[2];
	__u64 packets[2];
	__u64 dropped[2];
	__u64 latched_ns[2];
};

/* nf_kick ring buffer: the packet path tells the reaper that a reject
 * filter has just been exceeded, so established TCP connections it blocks
 * can be aborted. */
struct nf_kick {
	__u32 id;
	__u32 dir;
};

#endif /* NETFIL_ABI_H */
