// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfild - keeps netfil's quotas across restarts, billing periods and
 * interfaces that come and go.
 *
 * The daemon is not in the packet path: the kernel enforces every limit
 * from pinned maps whether netfild runs or not.  What netfild adds:
 *
 *   - persistence: every filter and its counters saved to a state file
 *     every --interval seconds and on SIGTERM (atomically, checksummed:
 *     state.c), and restored at start when the kernel has lost them;
 *   - periods: counters reset at each billing boundary, and a boundary
 *     missed while nothing ran is applied at start;
 *   - interfaces: on each netlink link notification, interface filters are
 *     re-attached to the interfaces their names now denote;
 *   - programs and services: exe filters follow their file when it is
 *     replaced (inotify on its directory), cgroup and unit filters their
 *     cgroup when it is made anew (each second);
 *   - /metrics and /status for Prometheus and for a read-only group, and
 *     a live page beside them (web.c), read-only too.
 *
 * Start-up decides where the filters come from, in this order:
 *   1. netfil is already loaded: the kernel's counters are the newest, keep
 *      them (netfild was restarted, or crashed);
 *   2. else the state file (or its previous copy when it is damaged);
 *   3. else the configuration file, in "netfil restore" format.
 *
 * One thread, one poll loop: signals (signalfd), link notifications,
 * the HTTP server, exe filters' directories (inotify), the relay (while
 * proxy filters exist), the live view's events and a one-second timer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "netfild.h"

#define DEFAULT_STATE	"/var/lib/netfil/state"
#define DEFAULT_CONFIG	"/etc/netfil/netfil.conf"
#define DEFAULT_PORT	9479

uint64_t saves_total, save_errors_total;
int64_t last_save_time;

static bool to_stderr, debug;
static const char *clock_file;

static void lib_log(enum netfil_print_level level, const char *fmt, va_list ap)
{
	if (level == NETFIL_DEBUG && !debug)
		return;
	vsyslog(level == NETFIL_WARN ? LOG_WARNING : level == NETFIL_INFO ? LOG_INFO :
		LOG_DEBUG, fmt, ap);
}

/* The time periods are measured by; --clock FILE lets tests move it. */
static int64_t now(void)
{
	static bool warned;
	char buf[64] = "";
	int64_t t;
	FILE *f;

	if (!clock_file)
		return (int64_t)time(NULL);
	f = fopen(clock_file, "re");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (!netfil_parse_time(buf, &t)) {
		warned = false;
		return t;
	}
	if (!warned)
		logmsg(LOG_WARNING, "clock file %s holds no time; using the system clock",
		       clock_file);
	warned = true;
	return (int64_t)time(NULL);
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: netfild [OPTIONS]\n"
"  -s, --state FILE        state file (default " DEFAULT_STATE ")\n"
"  -c, --config FILE       filters to restore when there is no state\n"
"                          (default " DEFAULT_CONFIG ", netfil restore format)\n"
"  -i, --interval SECONDS  how often the state is saved (default 60)\n"
"  -p, --metrics-port PORT /metrics, /status and the live page (/) on\n"
"                          127.0.0.1:PORT (default %d; 0: none)\n"
"  -g, --read-group GROUP  members may read them (default: root only)\n"
"  -e, --stderr            log to stderr as well as syslog\n"
"  -d, --debug             log libnetfil's debug messages too\n"
"      --pin-dir DIR       as netfil's (or $NETFIL_PIN_DIR)\n"
"      --cgroup PATH       as netfil's (or $NETFIL_CGROUP)\n"
"      --clock FILE        read the time from FILE (for tests)\n"
"  -h, --help\n", DEFAULT_PORT);
}

struct config {
	const char *state, *conf;
	unsigned int interval;
	uint16_t port;
	gid_t read_gid;
	struct netfil_opts opts;
};

__attribute__((format(printf, 1, 2)))
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netfild: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_args(int argc, char **argv, struct config *c)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "metrics-port", required_argument, NULL, 'p' },
		{ "read-group", required_argument, NULL, 'g' },
		{ "stderr", no_argument, NULL, 'e' },
		{ "debug", no_argument, NULL, 'd' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ "clock", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct group *gr;
	uint32_t v;
	int o;

	c->state = DEFAULT_STATE;
	c->conf = DEFAULT_CONFIG;
	c->interval = 60;
	c->port = DEFAULT_PORT;
	c->read_gid = (gid_t)-1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":s:c:i:p:g:edh", longopts, NULL)) != -1) {
		switch (o) {
		case 's': c->state = optarg; break;
		case 'c': c->conf = optarg; break;
		case 'e': to_stderr = true; break;
		case 'd': debug = true; break;
		case 'P': c->opts.pin_dir = optarg; break;
		case 'C': c->opts.cgroup = optarg; break;
		case 'K': clock_file = optarg; break;
		case 'i':
			if (netfil_parse_u32(optarg, &v) || !v || v > 86400)
				return bad_usage("invalid interval '%s' (1 to 86400 seconds)", optarg);
			c->interval = v;
			break;
		case 'p':
			if (netfil_parse_u32(optarg, &v) || v > 65535)
				return bad_usage("invalid port '%s'", optarg);
			c->port = (uint16_t)v;
			break;
		case 'g':
			gr = getgrnam(optarg);
			if (gr)
				c->read_gid = gr->gr_gid;
			else if (!netfil_parse_u32(optarg, &v))
				c->read_gid = (gid_t)v;
			else
				return bad_usage("unknown group '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_usage("missing value after '%s'", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int restore_text(struct netfil *nf, const char *text, size_t len, const char *name)
{
	struct netfil_err e;
	FILE *f = fmemopen((void *)text, len, "r");
	int err;

	if (!f)
		return -errno;
	err = netfil_restore(nf, f, name, NETFIL_RESTORE_LENIENT, &e);
	fclose(f);
	if (err)
		logmsg(LOG_ERR, "restore: %s", e.msg);
	return err;
}

/* netfil was not loaded: bring back what the state file, else the
 * configuration file, holds. */
static int restore_saved(struct netfil *nf, const struct config *c)
{
	struct netfil_err e;
	const char *which;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	err = state_read(c->state, &text, &len, &which);
	if (!err) {
		err = restore_text(nf, text, len, which);
		free(text);
		if (!err) {
			logmsg(LOG_INFO, "restored %d filters with their counters from %s",
			       netfil_filter_list(nf, NULL, 0), which);
			return 0;
		}
	} else if (err == -EBADMSG) {
		logmsg(LOG_ERR, "no good copy of the state file %s", c->state);
	}
	f = fopen(c->conf, "re");
	if (!f) {
		logmsg(LOG_INFO, "no state and no configuration (%s): starting with no filters",
		       c->conf);
		return 0;
	}
	err = netfil_restore(nf, f, c->conf, NETFIL_RESTORE_LENIENT, &e);
	fclose(f);
	if (err) {
		logmsg(LOG_ERR, "configuration: %s", e.msg);
		return err;
	}
	logmsg(LOG_INFO, "restored %d filters from %s", netfil_filter_list(nf, NULL, 0), c->conf);
	return 0;
}

static int start(struct config *c, struct netfil **nf)
{
	int err;

	err = netfil_open(&c->opts, nf);
	if (!err) {
		logmsg(LOG_INFO, "netfil is loaded with %d filters: keeping their counters",
		       netfil_filter_list(*nf, NULL, 0));
	} else if (err == -ENOENT) {
		err = netfil_load(&c->opts);
		if (!err) {
			err = netfil_open(&c->opts, nf);
			if (err)
				netfil_unload(&c->opts);
		}
		if (err) {
			logmsg(LOG_ERR, "loading netfil: %s", strerror(-err));
			return err;
		}
		err = restore_saved(*nf, c);
		if (err) {
			/* unloaded again: a restart must not take a half-set-up
			 * netfil for the newest state */
			netfil_close(*nf);
			netfil_unload(&c->opts);
			return err;
		}
	} else {
		logmsg(LOG_ERR, "opening netfil: %s", strerror(-err));
		return err;
	}
	err = netfil_reaper_spawn(&c->opts);
	if (err)
		logmsg(LOG_WARNING, "starting the reaper: %s", strerror(-err));
	return 0;
}

/* One netfild per pin directory: two would save over each other and
 * restore twice.  The lock is a file in /run/netfil (the pin directory is
 * on bpffs, which holds no files). */
static int only_one(const struct config *c)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	const char *pin = c->opts.pin_dir;
	char path[PATH_MAX], *p;
	int fd;

	if (!pin || !*pin)
		pin = getenv("NETFIL_PIN_DIR");
	if (!pin || !*pin)
		pin = NETFIL_DEFAULT_PIN_DIR;
	if (mkdir("/run/netfil", 0700) && errno != EEXIST) {
		logmsg(LOG_ERR, "creating /run/netfil: %s", strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "/run/netfil/netfild%s.lock", pin);
	for (p = path + strlen("/run/netfil/netfild"); *p; p++)
		if (*p == '/')
			*p = '_';
	/* a POSIX record lock: a forked reaper does not inherit it, so it
	 * goes when netfild goes (a flock would live on in the reaper) */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fcntl(fd, F_SETLK, &lk)) {
		logmsg(LOG_ERR, "%s: another netfild serves %s (lock %s)",
		       fd >= 0 && (errno == EAGAIN || errno == EACCES) ? "refused" :
		       strerror(errno), pin, path);
		return -1;
	}
	return 0;	/* fd stays open, and locked, while netfild runs */
}

static void save(struct netfil *nf, const struct config *c)
{
	int err = state_save(nf, c->state);

	if (err) {
		/* once per failure streak, not once a minute */
		if (!save_errors_total || last_save_time)
			logmsg(LOG_ERR, "saving %s: %s", c->state, strerror(-err));
		save_errors_total++;
		last_save_time = 0;
		return;
	}
	saves_total++;
	last_save_time = (int64_t)time(NULL);
}

static void roll(struct netfil *nf, int64_t t)
{
	int n = netfil_roll(nf, t);

	if (n > 0)
		logmsg(LOG_INFO, "period boundary: %d filters reset", n);
	else if (n < 0)
		logmsg(LOG_ERR, "applying periods: %s", strerror(-n));
}

/* Returns false when it should be tried again (on the next tick). */
static bool sync_ifaces(struct netfil *nf)
{
	int n = netfil_iface_sync(nf);

	if (n > 0)
		logmsg(LOG_INFO, "interfaces: %d attached or detached", n);
	else if (n < 0)
		logmsg(LOG_ERR, "following interfaces: %s", strerror(-n));
	return n >= 0;
}

/* exe, cgroup and unit filters to what their paths denote now; the
 * watched directories follow the filters. */
static void follow_owners(struct netfil *nf, struct watch *w, struct pollfd *p)
{
	int n;

	if (watch_rebuild(w, nf) > 0)
		p->fd = w->fd;
	n = netfil_owner_sync(nf);
	if (n > 0)
		logmsg(LOG_INFO, "programs and services: %d filters followed", n);
	else if (n < 0)
		logmsg(LOG_ERR, "following exe, cgroup and unit filters: %s", strerror(-n));
}

/* netfil's relay, while proxy filters exist and no other relay runs:
 * their connections are refused (or go direct) without one. */
static void keep_relay(struct netfil *nf, struct netfil_relay **r, struct pollfd *p)
{
	char addr[256];
	int err;

	if (*r || netfil_proxy_filters(nf) <= 0 || netfil_relay_live(nf))
		return;
	err = netfil_relay_open(nf, &(struct netfil_relay_opts){ 0 }, r);
	if (err) {
		if (err != -EBUSY)	/* lost a race with another relay: fine */
			logmsg(LOG_ERR, "starting the relay: %s", strerror(-err));
		return;
	}
	netfil_relay_addr(*r, addr, sizeof(addr));
	logmsg(LOG_INFO, "relay listening on %s", addr);
	p->fd = netfil_relay_fd(*r);
}

/* Link notifications: anything about links means "look again". */
static struct mnl_socket *links_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (nl && mnl_socket_bind(nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		nl = NULL;
	}
	return nl;
}

static bool links_changed(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool any = false;
	ssize_t n;

	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0 || (n < 0 && errno == ENOBUFS))
		any = true;	/* ENOBUFS: some were lost, so look anyway */
	return any;
}

int main(int argc, char **argv)
{
	struct config c = {};
	struct netfil *nf = NULL;
	struct metrics *m = NULL;
	struct web *web = NULL;
	struct mnl_socket *nl;
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct netfil_status st;
	struct watch w = { .fd = -1 };
	struct netfil_relay *relay = NULL;
	struct pollfd p[7];
	sigset_t sigs;
	int64_t next_save;
	int sfd, tfd, err, n, rc = 1;
	bool running = true, synced;

	if (parse_args(argc, argv, &c))
		return 1;
	openlog("netfild", LOG_PID | (to_stderr ? LOG_PERROR : 0), LOG_DAEMON);
	if (geteuid() != 0) {
		logmsg(LOG_ERR, "netfild must run as root");
		return 1;
	}
	c.opts.print = lib_log;
	umask(077);
	if (only_one(&c))
		return 1;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	nl = links_open();
	if (sfd < 0 || tfd < 0 || !nl || timerfd_settime(tfd, 0, &tick, NULL)) {
		logmsg(LOG_ERR, "setting up: %s", strerror(errno));
		return 1;
	}
	if (start(&c, &nf))
		return 1;
	/* a boundary passed while nothing ran, an interface that came while
	 * nothing watched: both are caught up before anything else */
	roll(nf, now());
	synced = sync_ifaces(nf);
	state_resume(c.state);
	save(nf, &c);
	next_save = (int64_t)time(NULL) + c.interval;
	if (c.port) {
		/* the page's view; without it, /metrics goes on alone */
		err = web_open(&c.opts, &web);
		if (err)
			logmsg(LOG_ERR, "the live view: %s; serving /metrics without the page",
			       strerror(-err));
		err = metrics_start(nf, web, c.port, c.read_gid, &m);
		if (err) {
			logmsg(LOG_ERR, "cannot serve /metrics on 127.0.0.1:%u: %s%s", c.port,
			       strerror(-err), err == -EADDRINUSE ?
			       " (another program has the port: choose one with --metrics-port)" : "");
			goto out;
		}
	}
	logmsg(LOG_INFO, "running: state %s every %us, metrics %s%u", c.state, c.interval,
	       c.port ? "127.0.0.1:" : "off ", c.port);

	p[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = mnl_socket_get_fd(nl), .events = POLLIN };
	p[3] = (struct pollfd){ .fd = m ? metrics_fd(m) : -1, .events = POLLIN };
	p[4] = (struct pollfd){ .fd = -1, .events = POLLIN };
	p[5] = (struct pollfd){ .fd = -1, .events = POLLIN };
	p[6] = (struct pollfd){ .fd = -1, .events = POLLIN };
	follow_owners(nf, &w, &p[4]);
	keep_relay(nf, &relay, &p[5]);
	while (running) {
		/* libmicrohttpd's idle timeouts, and work it holds already read,
		 * wake no fd: its timeout bounds the wait */
		p[6].fd = web_fd(web);	/* it changes with socket tracking */
		n = poll(p, 7, metrics_timeout(m));
		if (n < 0 && errno != EINTR) {
			logmsg(LOG_ERR, "poll: %s", strerror(errno));
			goto out;
		}
		if (m)
			metrics_run(m);
		if (n <= 0)
			continue;
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					save(nf, &c);
				} else {
					logmsg(LOG_INFO, "stopping on signal %u", si.ssi_signo);
					running = false;
				}
			}
		}
		if (p[2].revents && links_changed(nl))
			synced = sync_ifaces(nf);
		if (p[4].revents && watch_changed(&w))
			follow_owners(nf, &w, &p[4]);
		if (p[6].revents && web)
			web_events(web);
		if (p[5].revents && relay) {
			err = netfil_relay_dispatch(relay, 0);
			if (err < 0 && err != -EINTR && err != -EAGAIN)
				logmsg(LOG_ERR, "relay: %s", strerror(-err));
		}
		if (p[1].revents) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0)
				ticks = 0;
			/* "netfil unload" took everything away: saving now
			 * would write an empty state over the good one */
			if (netfil_status(nf, &st) || !st.loaded) {
				logmsg(LOG_WARNING, "netfil was unloaded; netfild stops");
				rc = 0;
				goto out;
			}
			roll(nf, now());
			follow_owners(nf, &w, &p[4]);
			keep_relay(nf, &relay, &p[5]);
			if (relay)	/* its timeouts wake no fd */
				netfil_relay_dispatch(relay, 0);
			if (!synced)	/* e.g. a rename that freed a name later in the walk */
				synced = sync_ifaces(nf);
			if ((int64_t)time(NULL) >= next_save) {
				save(nf, &c);
				next_save = (int64_t)time(NULL) + c.interval;
			}
			web_tick(web);
		}
		/* streams resumed above are sent now, not after the next wake */
		if (m && (p[1].revents || p[6].revents))
			metrics_run(m);
	}
	save(nf, &c);
	rc = save_errors_total && !last_save_time ? 1 : 0;
out:
	netfil_relay_close(relay);
	metrics_stop(m);
	web_close(web);
	watch_close(&w);
	mnl_socket_close(nl);
	netfil_close(nf);
	closelog();
	return rc;
}
