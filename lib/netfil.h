/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libnetfil - load netfil into the kernel and manage its filters.
 *
 * This is the only public header.  Every netfil tool goes through it.
 *
 * Conventions: functions return 0 or a negative errno.  The library never
 * prints on its own; diagnostics go to the print callback of struct
 * netfil_opts (or nowhere).  State lives in pinned BPF objects under the pin
 * directory, so a struct netfil is only a set of open file descriptors:
 * any number of processes may open netfil at once, and closing or crashing
 * never changes what the kernel enforces.
 */
#ifndef LIBNETFIL_H
#define LIBNETFIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NETFIL_DEFAULT_PIN_DIR "/sys/fs/bpf/netfil"
#define NETFIL_MAX_IFACES_PER_FILTER 16
#define NETFIL_IFNAME_LEN 16

enum netfil_print_level { NETFIL_WARN, NETFIL_INFO, NETFIL_DEBUG };
typedef void (*netfil_print_fn)(enum netfil_print_level level,
				const char *fmt, va_list ap);

struct netfil_opts {
	const char *pin_dir;	/* NULL: $NETFIL_PIN_DIR, else the default */
	const char *cgroup;	/* NULL: $NETFIL_CGROUP, else the cgroup v2 root */
	netfil_print_fn print;	/* NULL: silent */
	/* netfil_load(): the socket mark bits per-packet verdicts use,
	 * contiguous, ORed into other users' marks (0: $NETFIL_QUEUE_MARK,
	 * else 0xff000000) */
	uint32_t queue_mark;
};

struct netfil;

enum netfil_kind { NETFIL_SOCKET = 1, NETFIL_IP = 2, NETFIL_IFACE = 3 };
enum netfil_action { NETFIL_REJECT = 0, NETFIL_DROP = 1 };
enum netfil_dir { NETFIL_IN = 0, NETFIL_OUT = 1 };
enum netfil_limit { NETFIL_IBYTE = 0, NETFIL_OBYTE = 1, NETFIL_IOBYTE = 2 };

/* What a socket filter matches of the process that created a socket. */
enum netfil_by {
	NETFIL_BY_PID = 0,	/* one process */
	NETFIL_BY_TREE,		/* a process and all its descendants */
	NETFIL_BY_EXE,		/* every process running an executable file */
	NETFIL_BY_USER,		/* every process of a (real) uid */
	NETFIL_BY_CGROUP,	/* every process in a cgroup v2 directory or below */
	NETFIL_BY_UNIT,		/* the same, for a systemd unit's cgroup */
};
#define NETFIL_PATH_LEN 256

/* What a filter matches. */
struct netfil_match {
	enum netfil_kind kind;
	/* NETFIL_SOCKET: by says what of the creating process.  pid, tree:
	 * the process; start is its start time in clock ticks, 0 lets the
	 * library read it. */
	enum netfil_by by;
	int pid;
	uint64_t start;
	/* exe: the file (absolute; a symlink is followed); cgroup: the
	 * directory (absolute, or below the cgroup v2 mount); unit: the
	 * unit's name ("foo.service"). */
	char path[NETFIL_PATH_LEN];
	uint32_t uid;		/* user */
	/* read-only, filled by netfil_filter_get(): what path resolved to
	 * when the filter was last linked (exe: dev and ino as stat(2)
	 * gives them; cgroup, unit: the cgroup's id and, for a unit, its
	 * directory), and stale when path resolves to something else now,
	 * or to nothing (until netfil_owner_sync() follows it). */
	uint64_t dev, ino, cgroup_id;
	char cgroup_dir[NETFIL_PATH_LEN];
	bool resolved;
	bool stale;
	/* NETFIL_IP: the remote address, AF_INET or AF_INET6. */
	int family;
	uint8_t addr[16];
	int prefixlen;
	/* NETFIL_IFACE: interfaces of the caller's network namespace, by
	 * name.  allow_missing: names that do not exist (yet) are taken, and
	 * netfil_iface_sync() attaches to them when they appear.  The same
	 * for exe, cgroup and unit paths, and netfil_owner_sync(). */
	int n_ifaces;
	char ifaces[NETFIL_MAX_IFACES_PER_FILTER][NETFIL_IFNAME_LEN];
	bool allow_missing;
};

/* A period after which a filter's counters and exceeded state reset, at a
 * boundary in local time: hourly at :MM, daily at HH:MM, weekly on a day
 * at HH:MM, monthly on a day (the month's last day when it has fewer) at
 * HH:MM. */
enum netfil_every { NETFIL_PERIOD_NONE = 0, NETFIL_HOURLY, NETFIL_DAILY,
		    NETFIL_WEEKLY, NETFIL_MONTHLY };
struct netfil_period {
	enum netfil_every every;
	int minute, hour;
	int wday;		/* weekly: 0 = Sunday ... 6 */
	int mday;		/* monthly: 1-31 */
	int64_t last;		/* the last boundary applied (seconds since the
				 * epoch); 0 when adding: the current one */
};

/* Where a socket filter sends its processes' new TCP connections, and
 * what happens when a local target has no listener.  Transparent: the
 * application's getpeername() shows the original destination, and the
 * program at the target reads it with getsockopt(SOL_IP, SO_ORIGINAL_DST)
 * (SOL_IPV6, IP6T_SO_ORIGINAL_DST), as behind iptables REDIRECT. */
enum netfil_fail { NETFIL_FAIL_CLOSED = 0, NETFIL_FAIL_OPEN = 1 };

/* An upstream proxy that netfil's relay speaks to (lib/proxy.c):
 * "socks5://[USER:PASS@]HOST:PORT" (CONNECT; UDP ASSOCIATE for UDP) or
 * "http://HOST:PORT" (CONNECT, TCP only).  IPv6 hosts in brackets. */
enum netfil_proxy_kind { NETFIL_PROXY_NONE = 0, NETFIL_PROXY_SOCKS5, NETFIL_PROXY_HTTP };
#define NETFIL_URL_LEN 256	/* a proxy URL, its NUL included */
struct netfil_proxy {
	enum netfil_proxy_kind kind;
	char host[256];		/* as written, without brackets */
	uint16_t port;		/* 1-65535 */
	char user[256];		/* SOCKS5 username/password (RFC 1929); "": none */
	char pass[256];
};

struct netfil_redirect {
	int family;		/* 0: none; AF_INET, AF_INET6 */
	uint8_t addr[16];	/* IPv4: the first 4 bytes */
	uint16_t port;		/* 1-65535 */
	enum netfil_fail fail;	/* closed: ECONNREFUSED; open: go direct */
	/* kind NONE: transparent, to addr:port.  Else through netfil's
	 * relay to this proxy, whose address is addr:port (resolved when
	 * the filter is set); the URL is kept as written. */
	struct netfil_proxy proxy;
	/* ip filters: only these connections (0/0: any port; 0: any proto) */
	uint16_t dport_lo, dport_hi;
	int proto;		/* 0, IPPROTO_TCP, IPPROTO_UDP */
};

/* Per-packet verdicts (lib/queue.c): the filter's packets go to its
 * NFQUEUE in the network namespace where it was added, where a client
 * (netfil_packets_open) answers for each.  NEW: only the packets that
 * open a flow (TCP SYN, a UDP flow's first datagram); ALL: every one.
 * With no client, fail open lets them pass; fail closed drops them and
 * refuses the covered processes' new connections at connect(). */
enum netfil_queue_mode { NETFIL_QUEUE_NONE = 0, NETFIL_QUEUE_NEW, NETFIL_QUEUE_ALL };
#define NETFIL_QUEUE_TIMEOUT_MS 1000	/* a held packet's default wait */
#define NETFIL_QUEUE_TIMEOUT_MAX 60000
struct netfil_queue {
	enum netfil_queue_mode mode;	/* NONE: no queue */
	enum netfil_fail fail;		/* with no client or no answer in time */
	uint32_t timeout_ms;		/* a delayed packet's wait; 0: the default */
	uint16_t qnum;			/* read-only: its NFQUEUE number */
};

struct netfil_filter {
	uint32_t id;
	struct netfil_match match;
	bool on;
	enum netfil_action action;
	uint64_t limit[3];	/* enum netfil_limit; bytes, 0 = unlimited */
	struct netfil_period period;
	struct netfil_redirect redirect;	/* socket filters only */
	struct netfil_queue queue;		/* any kind */
	/* read-only, filled by netfil_filter_get() */
	uint64_t bytes[2];	/* admitted L3 bytes, enum netfil_dir */
	uint64_t packets[2];
	uint64_t dropped[2];	/* bytes this filter refused */
	bool exceeded[2];
	uint64_t exceeded_at[2];	/* CLOCK_MONOTONIC ns of the crossing */
	uint64_t exceeded_wall[2];	/* the same, ns since the epoch; 0: none */
	/* interface filters: the namespace their names belong to (its
	 * cookie, and whether it is the caller's), and the index each name
	 * is attached to (0: waiting for the interface to appear); a filter
	 * with a queue: the namespace of its nftables rules */
	uint64_t netns;
	bool netns_here;
	uint32_t ifindex[NETFIL_MAX_IFACES_PER_FILTER];
};

/* The event stream.  Every event carries the time and, for socket events,
 * the socket's id (its cookie: never reused while the system is up), the
 * process that created the socket and the socket's addresses. */
enum netfil_event_type {
	NETFIL_EV_SOCKET = 1,	/* a TCP or UDP socket was created */
	NETFIL_EV_CONNECT,	/* connect(): allowed, or refused by a filter */
	NETFIL_EV_ACCEPT,	/* an incoming TCP connection was established */
	NETFIL_EV_BIND,
	NETFIL_EV_LISTEN,
	NETFIL_EV_CLOSE,	/* the summary of a socket's life */
	NETFIL_EV_EXCEEDED,	/* a filter crossed a limit: once per crossing */
	NETFIL_EV_FILTER,	/* a filter was added, changed, reset, deleted */
	NETFIL_EV_LOST,		/* this many events did not fit: loss is never silent */
};
enum netfil_filter_op { NETFIL_OP_ADD = 1, NETFIL_OP_CHANGE, NETFIL_OP_RESET,
			NETFIL_OP_DEL };

struct netfil_event {
	enum netfil_event_type type;
	uint64_t mono_ns;	/* CLOCK_MONOTONIC */
	uint64_t wall_ns;	/* CLOCK_REALTIME, ns since the epoch */
	uint64_t sock_id;	/* 0: no socket */
	uint32_t pid, tgid, uid, gid;
	char comm[16];
	char exe[256];		/* /proc/TGID/exe while the process lives, else "" */
	int family;		/* AF_INET, AF_INET6; 0: no socket */
	int proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t laddr[16], raddr[16];	/* IPv4: the first 4 bytes */
	uint16_t lport, rport;
	union {
		struct {
			bool refused;
			uint32_t filter;	/* the filter that refused it */
			/* redirected: raddr/rport are the original
			 * destination, to/to_port where it went */
			uint32_t redirect;	/* the redirecting filter; 0: none */
			uint8_t to[16];
			uint16_t to_port;
		} connect;
		struct {
			uint64_t bytes[2];	/* L3 admitted, enum netfil_dir */
			uint64_t packets[2];
			uint64_t payload[2];	/* TCP: payload received / acked */
			uint64_t created_ns;	/* CLOCK_MONOTONIC */
			uint64_t setup_ns;	/* connected or accepted; 0: never */
			uint64_t duration_ns;	/* created to closed */
			int n_filters;
			uint32_t filters[9];	/* the filters it was counted against */
			/* redirected: raddr/rport are the original
			 * destination, to/to_port where it went */
			uint32_t redirect;
			uint8_t to[16];
			uint16_t to_port;
		} close;
		struct {
			uint32_t filter;
			enum netfil_dir dir;
			enum netfil_limit limit;	/* which limit was crossed */
			uint64_t limit_bytes;
			uint64_t admitted;	/* the counter that limit bounds */
		} exceeded;
		struct {
			enum netfil_filter_op op;
			uint32_t id;
		} filter;
		struct {
			uint64_t count;
		} lost;
	};
};

/* Called for each event; a negative return stops netfil_events_poll(),
 * which then returns it. */
typedef int (*netfil_event_fn)(const struct netfil_event *ev, void *ctx);
struct netfil_events;

/* Subscribe: up to 8 subscribers at once each receive every event.
 * -EBUSY: all slots taken by live subscribers. */
int netfil_events_open(struct netfil *nf, netfil_event_fn fn, void *ctx,
		       struct netfil_events **out);
/* The same for the types in mask only (NETFIL_EVENT_BIT(type) ORed; 0:
 * every type): the kernel side builds no event that nobody wants, so a
 * subscriber to filter events costs nothing per connection.  Loss is
 * reported whatever the mask. */
#define NETFIL_EVENT_BIT(type) (1u << (type))
int netfil_events_open_types(struct netfil *nf, uint32_t mask, netfil_event_fn fn,
			     void *ctx, struct netfil_events **out);
/* A file descriptor that polls readable when events wait, for the
 * caller's own event loop; then call netfil_events_poll(ev, 0). */
int netfil_events_fd(const struct netfil_events *ev);
/* Deliver waiting events, waiting up to timeout_ms (-1: forever) for the
 * first.  Returns the number delivered, or -errno. */
int netfil_events_poll(struct netfil_events *ev, int timeout_ms);
void netfil_events_close(struct netfil_events *ev);
const char *netfil_event_type_name(enum netfil_event_type type);
/* "close" -> NETFIL_EV_CLOSE; -EINVAL for anything else. */
int netfil_event_type_parse(const char *name);

struct netfil_status {
	bool loaded;
	char pin_dir[256];
	char cgroup[256];
	uint64_t cgroup_id;
	int reaper_pid;		/* 0: not running */
	unsigned int n_filters[4];	/* by enum netfil_kind */
	uint64_t match_overflow;
	uint64_t rst_passed;
	unsigned int subscribers;
	uint64_t events_lost;	/* over every subscriber slot */
	uint64_t deleted;	/* filters deleted on request since load */
	uint32_t socket_gen;	/* changes with every socket filter change */
	bool relay;		/* a relay is registered and alive */
	char relay_addr[128];	/* where it listens: "127.0.0.1:41234 [::1]:41234" */
};

/* Load the programs, pin them and their maps, attach them to the cgroup and
 * stamp existing sockets.  Loading what is already loaded is not an error. */
int netfil_load(const struct netfil_opts *opts);
/* Detach and remove everything netfil created: links, programs, maps,
 * pins, tc filters (and the clsact qdiscs netfil added), the reaper. */
int netfil_unload(const struct netfil_opts *opts);

/* Open the loaded netfil. -ENOENT: not loaded. */
int netfil_open(const struct netfil_opts *opts, struct netfil **nf);
void netfil_close(struct netfil *nf);
int netfil_status(struct netfil *nf, struct netfil_status *st);

/* Filters.  Changes are serialised between processes by a lock on the pin
 * directory.  -EEXIST: an equal filter exists (its id in *id);
 * -ESRCH: no such process; -ENODEV: no such interface; -ENOSPC: full. */
int netfil_filter_add(struct netfil *nf, const struct netfil_filter *f,
		      uint32_t *id);
/* (netfil_filter_add: f->id 0 lets the library choose the id; a non-zero
 * one, as a restore brings, is used as it is unless taken: -EEXIST.) */
/* Set a filter's counters and exceeded state to f's (a restore). */
int netfil_filter_set_counters(struct netfil *nf, const struct netfil_filter *f);
int netfil_filter_get(struct netfil *nf, uint32_t id, struct netfil_filter *f);
/* With out NULL, returns how many filters exist; else fills up to max in
 * id order and returns how many it filled. */
int netfil_filter_list(struct netfil *nf, struct netfil_filter *out, int max);
/* Change on/off, action and limits (not the match).  Changing a limit clears
 * the exceeded state; the counters are kept. */
int netfil_filter_set(struct netfil *nf, const struct netfil_filter *f);
/* Change only the fields in what (NETFIL_SET_*) to v's, reading and
 * writing under the change lock: two concurrent changes of different
 * fields both hold.  v->id names the filter. */
int netfil_filter_change(struct netfil *nf, const struct netfil_filter *v, unsigned int what);
/* Replace what a filter matches, keeping its id and counters. */
int netfil_filter_rematch(struct netfil *nf, uint32_t id,
			  const struct netfil_match *m);
int netfil_filter_reset(struct netfil *nf, uint32_t id);
int netfil_filter_del(struct netfil *nf, uint32_t id);

/* The latest boundary of p at or before now (seconds since the epoch). */
int64_t netfil_period_boundary(const struct netfil_period *p, int64_t now);
/* Apply every period boundary passed since a filter's last one, up to now
 * (normally time(NULL); tests pass another): reset its counters and
 * exceeded state, with a filter "reset" event.  A boundary passed while
 * nothing ran is applied at the next call.  Returns how many filters
 * were reset. */
int netfil_roll(struct netfil *nf, int64_t now);

/* Follow interfaces that come and go: attach every interface filter of
 * the caller's network namespace to the interfaces its names now denote,
 * and forget the ones deleted.  Counters stay with the filter.  Returns
 * how many interfaces were attached or forgotten, or -errno. */
int netfil_iface_sync(struct netfil *nf);

/* Follow exe, cgroup and unit filters to what their paths denote now: a
 * package upgrade replaces a program with a new file (a new inode), a
 * restarted service gets a new cgroup.  Counters stay with the filter.
 * Returns how many filters moved, or -errno. */
int netfil_owner_sync(struct netfil *nf);
/* The identity an exe filter on path would match now: -ENOENT, -EACCES
 * (not an executable regular file), or 0 with the kernel's (dev, ino). */
int netfil_exe_identity(const char *path, uint64_t *dev, uint64_t *ino);
/* A cgroup v2 directory by absolute path or path below the mount, and a
 * systemd unit by name, to its canonical directory and id: -ENOENT. */
int netfil_cgroup_resolve(const char *path, char *dir, size_t len, uint64_t *id);
int netfil_unit_resolve(const char *name, char *dir, size_t len, uint64_t *id);

/* The filter net.netfil.<kind>.* keys act on (0: none yet), and setting it. */
int netfil_sysctl_filter(struct netfil *nf, enum netfil_kind kind, uint32_t *id);
int netfil_sysctl_set_filter(struct netfil *nf, enum netfil_kind kind, uint32_t id);

/* Abort established TCP connections that exceeded reject filters block,
 * in every network namespace.  Returns 0 or -errno. */
int netfil_reap(struct netfil *nf);
/* Wait for exceeded reject filters and reap, until *stop becomes true or
 * netfil is unloaded.  -EALREADY: another reaper serves this pin dir. */
int netfil_reaper_run(struct netfil *nf, volatile int *stop);
/* Run the reaper in this process until SIGTERM or SIGINT (it installs
 * handlers for both) or until netfil is unloaded. */
int netfil_reaper_serve(const struct netfil_opts *opts);
/* Start a detached reaper process unless one runs; on return it is
 * registered, so netfil_unload() will stop it. */
int netfil_reaper_spawn(const struct netfil_opts *opts);

/* Parsing shared by every front end; all return -EINVAL on bad input and
 * -ERANGE on overflow. */
int netfil_parse_size(const char *s, uint64_t *bytes);
int netfil_parse_prefix(const char *s, struct netfil_match *m);
int netfil_format_prefix(const struct netfil_match *m, char *buf, size_t len);
/* A user name or a uid (digits) to a uid: -ENOENT for an unknown name. */
int netfil_parse_user(const char *s, uint32_t *uid);
/* A uid's name, else its number. */
void netfil_user_name(uint32_t uid, char *buf, size_t len);
/* Start time of a process in clock ticks since boot; -ESRCH if none. */
int netfil_proc_start(int pid, uint64_t *start);

/* The words of netfil (lib/names.c): every name a user sees comes from
 * these.  The parsers return the enum value, or -EINVAL. */
enum netfil_counter { NETFIL_C_BYTES, NETFIL_C_PACKETS, NETFIL_C_DROPPED,
		      NETFIL_C_EXCEEDED, NETFIL_C_EXCEEDED_AT, NETFIL_C_EXCEEDED_TIME };
const char *netfil_kind_name(enum netfil_kind kind);		/* socket, ip, interface */
const char *netfil_by_name(enum netfil_by by);			/* pid, tree, exe, user, cgroup, unit */
const char *netfil_action_name(enum netfil_action action);	/* reject, drop */
const char *netfil_dir_name(enum netfil_dir dir);		/* in, out */
const char *netfil_limit_name(enum netfil_limit limit);	/* ibyte, obyte, iobyte */
const char *netfil_every_name(enum netfil_every every);	/* none, hourly, ... */
const char *netfil_day_name(int wday);				/* sun ... sat */
const char *netfil_onoff_name(bool on);			/* on, off */
const char *netfil_exceeded_name(const bool exceeded[2]);	/* none, in, out, in,out */
const char *netfil_attach_name(uint32_t ifindex);		/* attached, waiting */
const char *netfil_filter_op_name(enum netfil_filter_op op);	/* add, change, reset, del */
const char *netfil_family_name(int family);			/* ipv4, ipv6 */
const char *netfil_proto_name(int proto);			/* tcp, udp */
int netfil_proto_parse(const char *s);				/* IPPROTO_*, -EINVAL */
const char *netfil_verdict_name(bool refused);			/* allowed, refused */
const char *netfil_fail_name(enum netfil_fail fail);		/* closed, open */
int netfil_fail_parse(const char *s);
/* A byte count for people (-h): "1.5MiB", binary units and one decimal;
 * below 1 KiB the plain count, "512". */
void netfil_format_size_human(uint64_t bytes, char *buf, size_t len);
/* A wall-clock time (ns since the epoch) as "2026-11-30T20:01:02.345Z". */
void netfil_format_wall(uint64_t ns, char *buf, size_t len);
int netfil_exceeded_parse(const char *s, bool exceeded[2]);
int netfil_kind_parse(const char *s);
int netfil_by_parse(const char *s);
int netfil_action_parse(const char *s);
int netfil_limit_parse(const char *s);
int netfil_every_parse(const char *s);
int netfil_day_parse(const char *s);
/* A counter's key: "bytes-in" with sep '-' (restore files), "bytes_in"
 * with '_' (sysctl, JSON); dir -1 for the bare "bytes". */
void netfil_counter_key(enum netfil_counter c, int dir, char sep, char *buf, size_t len);

/* Text: the words of a filter, shared by the command line, restore files
 * and netfild.  On bad input the parsers return -EINVAL with one line in
 * err->msg that names the bad word. */
struct netfil_err {
	char msg[640];	/* room for a whole path and the words around it */
};
int netfil_parse_u32(const char *s, uint32_t *v);
/* A live process's pid. */
int netfil_parse_pid(const char *s, int *pid, struct netfil_err *err);
/* Seconds since the epoch, or local YYYY-MM-DDTHH:MM:SS. */
int netfil_parse_time(const char *s, int64_t *t);
/* "socket {pid|tree} PID", "socket exe PATH", "socket user USER|UID",
 * "socket cgroup PATH", "socket unit NAME", "ip PREFIX",
 * "interface IF[,IF...]": returns the words used.  A user name is looked
 * up here; paths are only read (netfil_parse_filter checks them). */
int netfil_parse_match(int argc, char **argv, struct netfil_match *m,
		       struct netfil_err *err);
/* [ibyte SIZE] [obyte SIZE] [iobyte SIZE] [action reject|drop] (not for
 * interfaces), and with NETFIL_OPT_STATE also [period ...] [on|off]
 * [--allow-missing] (interfaces) and, for socket and IP filters,
 * [redirect to ADDR:PORT | proxy URL] [fail open|closed], "redirect none"
 * (or "proxy none"), and for IP filters [port N[-M]] [proto tcp|udp];
 * stops at "--".  A proxy's host name is resolved here.  Returns the
 * words used. */
#define NETFIL_OPT_STATE 1u
int netfil_parse_filter_opts(int argc, char **argv, struct netfil_filter *f,
			     unsigned int flags, struct netfil_err *err);
/* The same, telling which fields the words set (NETFIL_SET_*), for
 * netfil_filter_change(). */
#define NETFIL_SET_LIMIT(l)	(1u << (l))	/* enum netfil_limit */
#define NETFIL_SET_ON		(1u << 3)
#define NETFIL_SET_ACTION	(1u << 4)
#define NETFIL_SET_PERIOD	(1u << 5)
#define NETFIL_SET_ALLOW_MISSING	(1u << 6)	/* interface filters */
#define NETFIL_SET_REDIRECT	(1u << 7)	/* socket and IP filters */
#define NETFIL_SET_QUEUE	(1u << 8)
#define NETFIL_SET_ALL		0x1ffu
int netfil_parse_filter_change(int argc, char **argv, struct netfil_filter *f,
			       unsigned int flags, unsigned int *what, struct netfil_err *err);
/* A whole "MATCH OPTIONS" (as after "filter add"): every word used, and
 * every named interface, exe file, cgroup and unit exists unless
 * --allow-missing. */
int netfil_parse_filter(int argc, char **argv, struct netfil_filter *f,
			struct netfil_err *err);
/* Two matches no two filters may share: the same process (pid, or tree),
 * the same exe path, user, cgroup or unit, the same prefix, or an
 * interface in common. */
bool netfil_match_conflict(const struct netfil_match *a, const struct netfil_match *b);
/* "pid 812", "tree 812", "exe /usr/bin/curl", "user nobody", "cgroup
 * /sys/fs/cgroup/x", "unit foo.service", "10.0.0.0/8", "eth0,usb0" */
void netfil_format_match(const struct netfil_match *m, char *buf, size_t len);
/* "monthly day 14 at 00:00" */
void netfil_format_period(const struct netfil_period *p, char *buf, size_t len);
/* "1.2.3.4:1080" or "[::1]:1080", port 1-65535: -EINVAL, or -ERANGE for
 * the port; and back. */
int netfil_parse_addr_port(const char *s, int *family, uint8_t addr[16], uint16_t *port);
void netfil_format_addr_port(int family, const uint8_t addr[16], uint16_t port,
			     char *buf, size_t len);
/* "redirect to 127.0.0.1:12345 fail closed", "proxy socks5://h:1080 fail
 * open", with "port 80-90 proto tcp " before for an IP filter; "redirect
 * none".  secret false writes a proxy's password as "***". */
void netfil_format_redirect(const struct netfil_redirect *r, bool secret, char *buf, size_t len);

/* JSON (lib/json.c): the one shape of a filter and of the status, for
 * every front end.  The caller owns the returned reference. */
json_t *netfil_filter_json(const struct netfil_filter *f);
json_t *netfil_status_json(const struct netfil_status *st);

/* f[0..n) as one JSON array, built one filter at a time (json_dumpf
 * flags).  Returns 0 or -errno. */
int netfil_filters_json_write(const struct netfil_filter *f, int n, FILE *out, size_t flags);

/* Save and restore, like nft list ruleset / nft -f: netfil_save() writes
 * one "filter add" line per filter, in the words above, and with
 * NETFIL_SAVE_COUNTERS a "counters" line after each. */
#define NETFIL_SAVE_COUNTERS 1u
int netfil_save(struct netfil *nf, FILE *out, unsigned int flags);
/* netfil_save()'s text for f[0..n), with no kernel involved. */
int netfil_config_write(FILE *out, const struct netfil_filter *f, int n, unsigned int flags);
/* Read a restore file without changing anything: the filters it adds, in
 * file order, with the counters its counters lines give, in a calloc'd
 * *out.  Returns how many, or -EINVAL with err naming "NAME:LINE". */
int netfil_config_parse(FILE *in, const char *name, unsigned int flags,
			struct netfil_filter **out, struct netfil_err *err);
/* One line of a netfil text file split into at most max words ('#' starts
 * a comment): 1, 0 at the end of in, or -EINVAL for a NUL byte or a
 * control character other than tab.  *buf and *cap as for getline(). */
int netfil_text_line(FILE *in, char **buf, size_t *cap, char **argv, int max,
		     int *argc, struct netfil_err *err);
/* Every number netfil reads: decimal digits only (no sign, blank or
 * suffix), at most max.  -EINVAL, or -ERANGE past max. */
int netfil_parse_number(const char *s, uint64_t max, uint64_t *v);
/* Make the configuration exactly what in says, or change nothing: every
 * line is checked first, and the change is applied under the lock as one
 * journalled step: a failure, or the process dying at any instant, leaves
 * the previous configuration with its counters (DESIGN.md).  err names "NAME:LINE".  NETFIL_RESTORE_LENIENT
 * (netfild after a reboot) skips socket filters whose process is gone,
 * with a warning, and lets interface filters wait for their interfaces. */
#define NETFIL_RESTORE_LENIENT 1u
int netfil_restore(struct netfil *nf, FILE *in, const char *name, unsigned int flags,
		   struct netfil_err *err);

/* ---- sysctl: the original's net.netfil.<kind>.<key>[=VALUE] ------------ */

/* The keys of each kind.  The ones before NETFIL_SYSCTL_ID are writable. */
enum netfil_sysctl_key {
	NETFIL_SYSCTL_MATCH,	/* socket.pid, ip.addr, interface.list */
	NETFIL_SYSCTL_IBYTE, NETFIL_SYSCTL_OBYTE, NETFIL_SYSCTL_IOBYTE,
	NETFIL_SYSCTL_STATUS,	/* 1|on, 0|off */
	NETFIL_SYSCTL_ID, NETFIL_SYSCTL_BYTES_IN, NETFIL_SYSCTL_BYTES_OUT,
	NETFIL_SYSCTL_DROPPED_IN, NETFIL_SYSCTL_DROPPED_OUT,
	NETFIL_SYSCTL_EXCEEDED_IN, NETFIL_SYSCTL_EXCEEDED_OUT,
	NETFIL_SYSCTL_NKEYS
};
struct netfil_sysctl_arg {
	enum netfil_kind kind;
	enum netfil_sysctl_key key;
	bool has_value;			/* KEY=VALUE; else a read of KEY */
	struct netfil_match match;	/* NETFIL_SYSCTL_MATCH */
	uint64_t size;			/* NETFIL_SYSCTL_{I,O,IO}BYTE */
	bool on;			/* NETFIL_SYSCTL_STATUS */
};
/* "net.netfil.ip.ibyte=1M" or "net.netfil.ip.ibyte": 0.  -EINVAL with err
 * naming the bad key or value (a value for a read-only key is bad; a
 * pid must be a live process, an interface must exist); -ENOENT for a
 * leading part of "net.netfil.<kind>" with no '=' (e.g. "net.netfil.ip"),
 * which stands for a group of keys. */
int netfil_sysctl_parse(const char *arg, struct netfil_sysctl_arg *out,
			struct netfil_err *err);
/* "net.netfil.ip.ibyte"; -EINVAL for no such key, -ENOSPC if it is cut. */
int netfil_sysctl_key_name(enum netfil_kind kind, enum netfil_sysctl_key key,
			   char *buf, size_t len);
/* key's value in f as sysctl shows it, which netfil_sysctl_parse() reads
 * back for the writable keys; f NULL (no filter yet): "0", or "" for the
 * match. */
int netfil_sysctl_value(const struct netfil_filter *f, enum netfil_sysctl_key key,
			char *buf, size_t len);
/* Apply the KEY=VALUE arguments of args[0..n) (reads are skipped) as one
 * journalled change under the change lock: for each kind named, its
 * sysctl filter is created (off unless status=1 is given, action reject)
 * or re-matched and changed, and becomes that kind's sysctl filter.  A
 * failure at any step, or the process dying, undoes them all.  Returns 0
 * or -errno with err naming the key, value or filter in the way
 * (-EINVAL: no filter of that kind yet and no match given; -EEXIST:
 * another filter has that match). */
int netfil_sysctl_apply(struct netfil *nf, const struct netfil_sysctl_arg *args, int n,
			struct netfil_err *err);

/* ---- proxies and the relay (lib/proxy.c, lib/relay.c) ------------------- */
/* Parse a proxy URL (above): 0, or -EINVAL with err naming the bad part
 * (scheme, host, port, user). */
int netfil_proxy_parse(const char *url, struct netfil_proxy *p, struct netfil_err *err);
/* Back to a URL; secret false writes the password as "***" (listings). */
void netfil_proxy_format(const struct netfil_proxy *p, bool secret, char *buf, size_t len);
const char *netfil_proxy_kind_name(enum netfil_proxy_kind k);	/* socks5, http */

/* A connection (TCP) or a client socket (UDP) the relay serves: where
 * it was going, and through which proxy. */
struct netfil_origin {
	int proto;			/* IPPROTO_TCP, IPPROTO_UDP */
	struct sockaddr_storage client;	/* the application's socket */
	struct sockaddr_storage orig;	/* the destination it asked for */
	uint32_t filter;		/* the redirecting filter */
	struct netfil_proxy proxy;	/* kind NONE: a transparent redirect */
	struct sockaddr_storage proxy_addr;	/* resolved when the filter was set */
};
/* What the kernel side kept for a redirected socket whose local address
 * (what the relay or target sees as the peer) is client: 0, or -ENOENT. */
int netfil_origin_get(struct netfil *nf, int proto, const struct sockaddr *client,
		      socklen_t len, struct netfil_origin *o);

/*
 * The relay: a single-threaded engine on one epoll fd that accepts the
 * connections the kernel redirects to it, reads their origin, and
 * carries each through its filter's proxy.  Data moves with splice()
 * (no copy) unless a connection is switched to the chunk path, where
 * on_data sees, and may rewrite, every chunk before it is forwarded:
 * the hook of connection inspection.  Its own sockets carry
 * NF_RELAY_MARK, so they are never redirected.
 */
struct netfil_relay;
enum netfil_relay_path { NETFIL_RELAY_SPLICE = 0, NETFIL_RELAY_CHUNK };
struct netfil_relay_stats {
	uint64_t accepted, refused, active;	/* TCP connections */
	uint64_t proxy_errors;			/* upstream unreachable or said no */
	uint64_t bytes[2];			/* payload, enum netfil_dir (out: to the proxy) */
	uint64_t datagrams[2];			/* UDP */
	uint64_t udp_sessions;			/* UDP ASSOCIATE sessions open now */
	uint64_t udp_dropped;			/* datagrams not carried: no origin, not
						 * SOCKS5, queue full, session failed */
};
struct netfil_relay_opts {
	/* "ADDR:PORT" ("[v6]:PORT"); NULL: 127.0.0.1 and ::1 on one free port */
	const char *listen;
	/* Where a client was going; NULL: netfil_origin_get() on nf. */
	int (*resolve)(void *ctx, int proto, const struct sockaddr *client,
		       socklen_t len, struct netfil_origin *o);
	/* A new TCP connection: return its path (default SPLICE). */
	enum netfil_relay_path (*on_open)(void *ctx, uint64_t conn,
					  const struct netfil_origin *o);
	/* Chunk path: buf[0..len) going dir (NETFIL_OUT: client to proxy),
	 * cap bytes of room; return the length to forward (0: nothing now),
	 * or -1 to close the connection. */
	long (*on_data)(void *ctx, uint64_t conn, enum netfil_dir dir,
			uint8_t *buf, size_t len, size_t cap);
	void (*on_close)(void *ctx, uint64_t conn);
	void *ctx;
	unsigned int max_conns;		/* 0: 4096 */
	int connect_timeout_ms;		/* to the proxy, handshake included; 0: 10000 */
	int udp_idle_ms;		/* a UDP session's life without traffic; 0: 60000 */
};
/* Open the listeners (TCP and UDP, same port) and, with nf, register
 * them with the kernel side, which redirects to them while they live
 * and applies the filters' fail policy once they are gone.  -EADDRINUSE,
 * -EADDRNOTAVAIL for a listen address not on this host, -EBUSY: another
 * relay is registered. */
int netfil_relay_open(struct netfil *nf, const struct netfil_relay_opts *o,
		      struct netfil_relay **out);
int netfil_relay_fd(const struct netfil_relay *r);	/* pollable: call dispatch */
/* Every listening address, "127.0.0.1:41234 [::1]:41234". */
void netfil_relay_addr(const struct netfil_relay *r, char *buf, size_t len);
/* Handle what is ready, waiting up to timeout_ms (0: none). */
int netfil_relay_dispatch(struct netfil_relay *r, int timeout_ms);
int netfil_relay_set_path(struct netfil_relay *r, uint64_t conn, enum netfil_relay_path p);
void netfil_relay_stats(const struct netfil_relay *r, struct netfil_relay_stats *s);
void netfil_relay_close(struct netfil_relay *r);
/* A relay is registered and alive (its listening socket is open). */
bool netfil_relay_live(struct netfil *nf);
/* How many filters send connections through a proxy (need a relay). */
int netfil_proxy_filters(struct netfil *nf);
/* -EINVAL, err naming it, for a redirect that would send connections to
 * the live relay's own address (a loop); else 0. */
int netfil_redirect_check(struct netfil *nf, const struct netfil_redirect *r,
			  struct netfil_err *err);

/* ---- sockets and the live view (lib/view.c) ------------------------------ */

/* A socket netfil governs, live: what it moved so far (the counters its
 * close event will report).  Read from every network namespace. */
struct netfil_socket {
	uint64_t sock_id;	/* its cookie, as in events */
	uint64_t netns;		/* the cookie of its network namespace */
	uint32_t pid, tgid, uid;
	uint64_t start_ns;	/* the owner's start, ns since boot */
	char comm[16];
	int family, proto;
	uint8_t laddr[16], raddr[16];	/* raddr: a redirected socket's original destination */
	uint16_t lport, rport;
	int state;		/* the kernel's TCP_* (UDP: 7 unconnected, 1 connected) */
	uint32_t redirect;	/* the redirecting filter; 0: none */
	uint64_t bytes[2], packets[2];	/* enum netfil_dir */
	uint64_t created_ns;	/* CLOCK_MONOTONIC */
};
/* Every governed socket, in a malloc'd *out: how many, or -errno. */
int netfil_socket_list(struct netfil *nf, struct netfil_socket **out);
/* "established", "listen", ...; UDP: "open", "connected" */
const char *netfil_sock_state_name(int proto, int state);

/* The first period boundary after now (0: no period). */
int64_t netfil_period_next(const struct netfil_period *p, int64_t now);

/*
 * The live view: one model of what netfil is doing, for netfil top and
 * netfild's page alike.  It owns its handle on netfil (opened again when
 * netfil is loaded later, dropped when it is unloaded), samples the
 * filters and every governed socket at each netfil_view_update(), and
 * keeps per-process totals from the sockets and their close events, so
 * that a process's totals outlive it until netfil_view_clear().
 */
enum netfil_view_state {
	NETFIL_VIEW_ON = 0,	/* loaded, every filter on: green */
	NETFIL_VIEW_OFF,	/* loaded, some filter off: red */
	NETFIL_VIEW_DOWN,	/* not loaded: grey */
	NETFIL_VIEW_ERROR,	/* cannot be read (err says why): grey */
};
enum netfil_view_sort { NETFIL_SORT_RATE = 0, NETFIL_SORT_TOTAL, NETFIL_SORT_PID,
			NETFIL_SORT_NAME, NETFIL_SORT_COUNT };

struct netfil_view_filter {
	struct netfil_filter f;
	char match[512];	/* netfil_format_match() */
	char period[64];	/* netfil_format_period() */
	double rate[2];		/* admitted bytes/s, enum netfil_dir */
	int64_t next_reset;	/* seconds since the epoch; 0: no period */
	/* the last n_hist rates, oldest first, one per second */
	unsigned int n_hist;
	const float *hist[2];
};
struct netfil_view_proc {
	uint32_t tgid, uid;
	char user[32];		/* the uid's name, else its number */
	char comm[16];
	char exe[256];		/* "" when it could not be read */
	uint64_t bytes[2];	/* every socket's, closed ones included */
	double rate[2];
	unsigned int conns;	/* open sockets (listeners not counted) */
	bool exited;
};
struct netfil_view_conn {
	struct netfil_socket s;
	char local[64], remote[64];	/* "10.0.0.1:80", "[::1]:80" */
	char state[16];		/* netfil_sock_state_name(), or "closed" */
	double rate[2];
	bool closed;		/* shown for a while after it closed */
};
struct netfil_view_data {
	enum netfil_view_state state;
	int err;		/* NETFIL_VIEW_ERROR: the -errno */
	char error[128];	/* ... and in words */
	struct netfil_status status;	/* valid unless DOWN or ERROR */
	bool events;		/* subscribed to the event stream */
	uint64_t lost;		/* events this view lost */
	uint64_t wall_ns;	/* when sampled */
	enum netfil_view_sort sort;
	char source[128];	/* "": this host's kernel; else where the model came from */
	int n_filters, n_procs, n_conns;
	const struct netfil_view_filter *filters;	/* id order */
	const struct netfil_view_proc *procs;		/* in sort order */
	const struct netfil_view_conn *conns;		/* by process, then id */
};
struct netfil_view_opts {
	unsigned int history;	/* seconds of rates kept per filter; 0: 300 */
	unsigned int max_procs;	/* processes kept (exited ones go first); 0: 1024 */
	bool no_sockets;	/* filters only: no socket walk, no subscription */
};
struct netfil_view;
/* Never fails for want of netfil: the view is then DOWN or ERROR. */
int netfil_view_open(const struct netfil_opts *opts, const struct netfil_view_opts *vo,
		     struct netfil_view **out);
/* netfil's handle while it is loaded and readable, else NULL. */
struct netfil *netfil_view_netfil(struct netfil_view *v);
/* Polls readable when events wait (-1: none; it may change at each
 * netfil_view_update()); then call netfil_view_events(): 1 when a filter
 * changed or crossed a limit (update at once), else 0, or -errno. */
int netfil_view_fd(const struct netfil_view *v);
int netfil_view_events(struct netfil_view *v);
/* Take a sample now (at least once a second; rates are over the time
 * since the last sample at least half a second old). */
int netfil_view_update(struct netfil_view *v);
void netfil_view_sort(struct netfil_view *v, enum netfil_view_sort s);
/* Processing only sockets when wanted (netfild: while a page is open). */
int netfil_view_set_sockets(struct netfil_view *v, bool on);
/* Forget exited processes and their totals. */
void netfil_view_clear(struct netfil_view *v);
const struct netfil_view_data *netfil_view_data(const struct netfil_view *v);
/* The model as JSON (netfil top --once -j, netfild's /view and /events):
 * filters in the shape of netfil_filter_json() plus rate, usage,
 * next_reset and, with NETFIL_VIEW_HISTORY, history. */
#define NETFIL_VIEW_HISTORY 1u
json_t *netfil_view_json(const struct netfil_view *v, unsigned int flags);
/* Take the model from doc, netfil_view_json()'s shape (netfild's /view:
 * a read-only view for users who may not read the kernel's maps), and
 * say it came from source.  -EINVAL for a document of another shape. */
int netfil_view_set_json(struct netfil_view *v, const json_t *doc, const char *source);
void netfil_view_close(struct netfil_view *v);
const char *netfil_view_state_name(enum netfil_view_state s);	/* on, off, not loaded, error */
const char *netfil_view_sort_name(enum netfil_view_sort s);	/* rate, total, pid, name */
int netfil_view_sort_parse(const char *s);
int netfil_view_state_parse(const char *s);

/* ---- per-packet verdicts (lib/packets.c, lib/queue.c, lib/nft.c) ------- */
/* What a handler answers.  DELAY holds the packet until
 * netfil_packets_verdict() (or the filter's timeout, which applies its
 * fail policy).  ALLOW_FLOW allows it and every later packet of its flow
 * in the kernel, without asking again. */
enum netfil_verdict { NETFIL_V_ALLOW = 0, NETFIL_V_DROP, NETFIL_V_DELAY, NETFIL_V_ALLOW_FLOW };
struct netfil_packet {
	uint32_t id;		/* for netfil_packets_verdict() */
	uint32_t filter;	/* the filter whose queue it came through */
	enum netfil_dir dir;	/* out: sent by this host; in: received */
	uint32_t ifindex;	/* out: the outgoing interface; in: incoming */
	char ifname[16];
	int family;		/* AF_INET, AF_INET6 */
	int proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... */
	uint8_t saddr[16], daddr[16];	/* IPv4: the first 4 bytes */
	uint16_t sport, dport;	/* host order; 0: no ports */
	bool flow_new;		/* opens a flow: a TCP SYN, a UDP flow's first */
	/* the local socket's owner, when the packet has one (has_sock) */
	bool has_sock;
	uint32_t pid, tgid, uid;
	char comm[16];
	uint64_t sock_id;	/* the socket's cookie, as in events */
	uint32_t len;		/* the whole packet at L3 (GSO: all segments) */
	uint32_t caplen;	/* bytes in data */
	const uint8_t *data;	/* from the IP header; valid in the handler only */
};
typedef enum netfil_verdict (*netfil_packet_fn)(const struct netfil_packet *p, void *ctx);
struct netfil_packets;
struct netfil_packets_stats {
	uint64_t packets, allowed, dropped, delayed;
	uint64_t held;		/* delayed and still waiting */
	uint64_t timed_out;	/* held past the timeout: the fail policy answered */
	uint64_t lost;		/* the kernel could not queue them (full, no room) */
	uint64_t cached;	/* owners from the client's cache (TCP, after the SYN) */
	/* Stalls: this client went longer than the timeout between two
	 * dispatches (stopped, or stuck in a handler), and the kernel applied
	 * the fail policy meanwhile.  refused and passed count what it did
	 * since the open: connect()/sendmsg() refused under fail closed, with
	 * no client or a stalled one; sockets let past the queue under fail
	 * open while this client had stalled. */
	uint64_t stalls, stalled_ms;
	uint64_t refused, passed;
};
/* Become the client of filter_id's queue in the caller's network
 * namespace.  -ENOENT: no such filter; -EINVAL: it has no queue;
 * -EBUSY: another client holds it; -EXDEV: its rules are in another
 * namespace. */
int netfil_packets_open(struct netfil *nf, uint32_t filter_id, netfil_packet_fn fn, void *ctx,
			struct netfil_packets **pq);
/* Polls readable when packets wait, a held packet's time is up, or the
 * heartbeat is due (a quarter of the timeout): dispatch whenever it is
 * readable, or the kernel takes the client for stalled. */
int netfil_packets_fd(const struct netfil_packets *pq);
/* Handle what waits, without blocking: packets handled, or -errno.
 * Verdicts are sent in batches, when the socket runs dry. */
int netfil_packets_dispatch(struct netfil_packets *pq);
/* A delayed packet's answer (ALLOW, DROP or ALLOW_FLOW), in any order.
 * -ENOENT: not held (answered, or timed out). */
int netfil_packets_verdict(struct netfil_packets *pq, uint32_t id, enum netfil_verdict v);
void netfil_packets_stats(const struct netfil_packets *pq, struct netfil_packets_stats *st);
/* Held packets get the fail policy's answer. */
void netfil_packets_close(struct netfil_packets *pq);
const char *netfil_queue_mode_name(enum netfil_queue_mode m);	/* none, new, all */
const char *netfil_packet_verdict_name(enum netfil_verdict v);	/* allow, drop, delay, allow-flow */
int netfil_packet_verdict_parse(const char *s);
/* The field netfil_load() takes from opts, $NETFIL_QUEUE_MARK or the
 * default; -EINVAL unless 2 to 16 contiguous bits whose highest is not
 * in the relay's mark (0x6e660001). */
int netfil_queue_mark_resolve(const struct netfil_opts *opts, uint32_t *mark);
/* The socket mark field in use (0: not loaded), its flow bit its top. */
uint32_t netfil_queue_mark(struct netfil *nf);
/* -EADDRINUSE when an ip rule of the caller's namespace selects on bits
 * of that field (its fwmark in *taken): a queue is refused there. */
int netfil_queue_mark_taken(struct netfil *nf, uint32_t *taken);
/* A queued packet and the verdict it got (its bytes are not included). */
json_t *netfil_packet_json(const struct netfil_packet *p, enum netfil_verdict v);
/* "out lo tcp 10.0.0.1:40000 > 10.0.0.2:80 len 60 new pid 12 (curl) uid 0 sock 9" */
void netfil_format_packet(const struct netfil_packet *p, char *buf, size_t len);
/* "queue new fail closed timeout 1000", "queue none" */
void netfil_format_queue(const struct netfil_queue *q, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBNETFIL_H */
