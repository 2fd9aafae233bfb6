// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil - command line front end of libnetfil.
 *
 *   netfil [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * Objects are dispatched through tables of struct cmd, as in bpftool; every
 * command returns 0 or -1 and main() turns that into exit status 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "cli.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool json_output, pretty_output;
const char *fail_context;
static bool verbose;
struct netfil_opts nf_opts;

int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netfil: ");
	if (fail_context)
		fprintf(stderr, "%s: ", fail_context);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

int fail_errno(int err, const char *what)
{
	return fail("%s: %s", what, strerror(err < 0 ? -err : err));
}

/* Errors are reported by the command itself, in one line; what the library
 * and libbpf have to say (verifier logs included) only with -d. */
static void lib_print(enum netfil_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!verbose)
		return;
	fprintf(stderr, "netfil: ");
	vfprintf(stderr, fmt, ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

bool is_prefix(const char *pfx, const char *str)
{
	return pfx && *pfx && !strncmp(pfx, str, strlen(pfx));
}

int cmd_select(const struct cmd *cmds, int argc, char **argv)
{
	int i;

	if (argc < 1)
		return fail("missing command (try 'netfil help')");
	for (i = 0; cmds[i].name; i++)
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].func(argc - 1, argv + 1);
	return fail("unknown command '%s' (try 'netfil help')", argv[0]);
}

size_t json_flags(void)
{
	return JSON_PRESERVE_ORDER | (pretty_output ? JSON_INDENT(2) : JSON_COMPACT);
}

void json_print(json_t *doc)
{
	json_dumpf(doc, stdout, json_flags());
	fputc('\n', stdout);
	json_decref(doc);
}

/* CAP_NET_ADMIN and CAP_BPF in the effective set.  The original let any
 * user change its limits; netfil refuses before touching anything. */
int require_priv(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return fail_errno(errno, "capget");
	if (!(data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32))) ||
	    !(data[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32))))
		return fail("permission denied: netfil needs CAP_NET_ADMIN and CAP_BPF (run it as root)");
	return 0;
}

int open_netfil(struct netfil **nf)
{
	int err;

	if (require_priv())
		return -1;
	err = netfil_open(&nf_opts, nf);
	if (err == -ENOENT)
		return fail("netfil is not loaded (run 'netfil load')");
	if (err)
		return fail_errno(err, "opening netfil");
	return 0;
}

/* netfil_load() said -EBUSY: loaded, on another cgroup. */
static int loaded_elsewhere(void)
{
	struct netfil_status st = {};
	struct netfil *nf;

	if (!netfil_open(&nf_opts, &nf)) {
		netfil_status(nf, &st);
		netfil_close(nf);
	}
	return fail("netfil is already loaded on cgroup '%s' (run 'netfil unload' first)",
		    st.cgroup);
}

/* What "netfil load" does, with the same options and environment. */
static int load_netfil(void)
{
	const char *cg;
	struct stat st;
	int err;

	cg = nf_opts.cgroup ? nf_opts.cgroup : getenv("NETFIL_CGROUP");
	if (cg && *cg && (stat(cg, &st) || !S_ISDIR(st.st_mode)))
		return fail("no cgroup directory '%s'", cg);
	err = netfil_load(&nf_opts);
	if (err == -EBUSY)
		return loaded_elsewhere();
	if (!err)
		err = netfil_reaper_spawn(&nf_opts);
	return err ? fail_errno(err, "load") : 0;
}

/* For commands that change the configuration: load netfil first if it is
 * not loaded, as nft -f and ip never ask for a separate step. */
int open_netfil_loading(struct netfil **nf)
{
	int err;

	if (require_priv())
		return -1;
	err = netfil_open(&nf_opts, nf);
	if (err == -ENOENT) {
		if (load_netfil())
			return -1;
		err = netfil_open(&nf_opts, nf);
	}
	return err ? fail_errno(err, "opening netfil") : 0;
}

static int do_load(int argc, char **argv)
{
	(void)argv;
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (require_priv())
		return -1;
	return load_netfil();
}

static int do_unload(int argc, char **argv)
{
	int err;

	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (require_priv())
		return -1;
	err = netfil_unload(&nf_opts);
	return err ? fail_errno(err, "unload") : 0;
}

static int do_status(int argc, char **argv)
{
	struct netfil_status st = {};
	struct netfil *nf;
	json_t *o;
	int err;

	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (require_priv())
		return -1;
	err = netfil_open(&nf_opts, &nf);
	if (err && err != -ENOENT)
		return fail_errno(err, "opening netfil");
	if (!err) {
		netfil_status(nf, &st);
		netfil_close(nf);
	}
	if (json_output) {
		o = netfil_status_json(&st);
		json_print(o);
		return st.loaded ? 0 : EXIT_NOT_LOADED;
	}
	if (!st.loaded) {
		printf("loaded: no\n");
		return EXIT_NOT_LOADED;
	}
	printf("loaded: yes\npin dir: %s\ncgroup: %s\n", st.pin_dir, st.cgroup);
	if (st.reaper_pid)
		printf("reaper: pid %d\n", st.reaper_pid);
	else
		printf("reaper: not running (run 'netfil load' to start it)\n");
	printf("filters: socket %u, ip %u, interface %u\n", st.n_filters[NETFIL_SOCKET],
	       st.n_filters[NETFIL_IP], st.n_filters[NETFIL_IFACE]);
	printf("events: %u subscriber(s), %llu lost\n", st.subscribers,
	       (unsigned long long)st.events_lost);
	if (st.match_overflow)
		printf("sockets matched by more than 8 socket filters: %llu\n",
		       (unsigned long long)st.match_overflow);
	return 0;
}

static int do_reaper(int argc, char **argv)
{
	int err;

	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (require_priv())
		return -1;
	/* the same reaper as "load" starts, in the foreground */
	err = netfil_reaper_serve(&nf_opts);
	if (err == -EALREADY)
		return fail("a reaper is already running for this pin directory");
	return err ? fail_errno(err, "reaper") : 0;
}

static const struct cmd cmds[];

/* netfil batch FILE: one command per line, as bpftool -b does; stops at
 * the first failing line, which it names.  Lines are split on blanks;
 * '#' starts a comment. */
static int do_batch(int argc, char **argv)
{
	char *line = NULL, *args[64], ctx[512];
	struct netfil_err e;
	size_t cap = 0;
	int n, r, lineno = 0, err = 0;
	FILE *f;

	if (argc != 1)
		return fail(argc ? "unexpected argument '%s'" : "missing FILE after 'batch'",
			    argc ? argv[1] : "");
	f = strcmp(argv[0], "-") ? fopen(argv[0], "re") : stdin;
	if (!f)
		return fail("cannot open '%s': %s", argv[0], strerror(errno));
	while (!err) {
		lineno++;
		snprintf(ctx, sizeof(ctx), "%s:%d", argv[0], lineno);
		r = netfil_text_line(f, &line, &cap, args, 64, &n, &e);
		if (r <= 0) {
			fail_context = ctx;
			err = r ? fail("%s", e.msg) : 0;
			fail_context = NULL;
			break;
		}
		if (!n)
			continue;
		fail_context = ctx;
		if (!strcmp(args[0], "batch") || !strcmp(args[0], "run") ||
		    !strcmp(args[0], "events"))
			err = fail("'%s' is not allowed in a batch", args[0]);
		else
			err = cmd_select(cmds, n, args);
		fail_context = NULL;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return err;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: netfil [OPTIONS] OBJECT { COMMAND | help }\n"
		"       netfil load | unload | status\n"
		"       netfil filter add socket { pid | tree } PID [LIMITS] [action { reject | drop }] [PERIOD] [on | off]\n"
		"       netfil filter add ip PREFIX [LIMITS] [action { reject | drop }] [on | off]\n"
		"       netfil filter add interface IF[,IF...] [LIMITS] [on | off]\n"
		"       netfil filter { list | show ID | set ID [LIMITS] [action A] [on | off] | reset ID | del ID }\n"
		"       netfil sysctl { -a | KEY ... | KEY=VALUE ... }\n"
		"       netfil run [LIMITS] [action { reject | drop }] -- CMD [ARG...]\n"
		"       netfil events [pid PID] [type TYPE[,TYPE...]] [filter ID]\n"
		"       netfil reaper\n"
		"       netfil batch { FILE | - }\n"
		"       netfil save [counters] | restore { FILE | - }\n"
		"       netfil roll [now TIME]\n"
		"       LIMITS := [ibyte SIZE] [obyte SIZE] [iobyte SIZE]   (0 = unlimited)\n"
		"       PERIOD := period { none | hourly [at :MM] | daily [at HH:MM] |\n"
		"                 weekly [DAY] [at HH:MM] | monthly [day N] [at HH:MM] }\n"
		"       SIZE := BYTES[K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB]\n"
		"       TYPE := { socket | connect | accept | bind | listen | close | exceeded | filter }\n"
		"       OPTIONS := { -j | --json } | { -p | --pretty } | --pin-dir DIR |\n"
		"                  --cgroup PATH | { -d | --debug } | { -V | --version }\n");
	return 0;
}

static const struct cmd cmds[] = {
	{ "load", do_load },
	{ "unload", do_unload },
	{ "status", do_status },
	{ "filter", do_filter },
	{ "sysctl", do_sysctl },
	{ "run", do_run },
	{ "events", do_events },
	{ "save", do_save },
	{ "roll", do_roll },
	{ "restore", do_restore },
	{ "reaper", do_reaper },
	{ "batch", do_batch },
	{ "help", do_help },
	{ 0 }
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ 0 }
	};
	int opt;

	nf_opts.print = lib_print;
	libbpf_set_print(libbpf_print);
	opterr = 0;	/* one message, ours */
	/* '+': stop at the first non-option, so "sysctl -a" and
	 * "run -- CMD -x" keep their arguments. */
	while ((opt = getopt_long(argc, argv, "+jpdhV", options, NULL)) >= 0) {
		switch (opt) {
		case 'j':
			json_output = true;
			break;
		case 'p':
			json_output = pretty_output = true;
			break;
		case 'd':
			verbose = true;
			break;
		case 'h':
			do_help(0, NULL);
			return 0;
		case 'V':
			printf("netfil 0.1\n");
			return 0;
		case 'P':
			nf_opts.pin_dir = optarg;
			break;
		case 'C':
			nf_opts.cgroup = optarg;
			break;
		default:
			fprintf(stderr, "netfil: unknown option '%s'\n", argv[optind - 1]);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		do_help(0, NULL);
		return 1;
	}
	opt = cmd_select(cmds, argc, argv);
	return opt == EXIT_NOT_LOADED ? EXIT_NOT_LOADED : opt ? 1 : 0;
}
