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

bool json_output, pretty_output, human_output;
FILE *json_out;
const char *fail_context;
static bool verbose;
struct netfil_opts nf_opts;
/* -j batch: every command's document goes into one array */
static bool batch_json;
static int batch_docs;

int fail(const char *fmt, ...)
{
	char msg[1024];
	int n = 0;
	va_list ap;

	if (fail_context)
		n = snprintf(msg, sizeof(msg), "%s: ", fail_context);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (json_output)
		json_print(json_pack("{s:s}", "error", msg));
	else
		fprintf(stderr, "netfil: %s\n", msg);
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

/* Optimal string alignment distance: a swap of two neighbours ("fliter")
 * is one edit, as a typo is. */
static int distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b), d[33][33], i, j, v;

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* Close: one edit in a word of up to 4 letters, two in a longer one, or
 * the start of the name ("fil" for "filter"), which ranks after those.
 * A suggestion only: nothing runs on a guess. */
const char *suggest(const char *word, const char *const *words, int n)
{
	int len = (int)strlen(word), i, d, score, best = 99;
	const char *pick = NULL;

	for (i = 0; i < n; i++) {
		d = distance(word, words[i]);
		if (d <= (len <= 4 ? 1 : 2))
			score = 2 * d;
		else if (len >= 2 && is_prefix(word, words[i]))
			score = 5;
		else
			continue;
		if (score < best) {
			best = score;
			pick = words[i];
		}
	}
	return pick;
}

int fail_unknown(const char *what, const char *word, const char *const *words, int n)
{
	const char *s = suggest(word, words, n);

	if (s)
		return fail("unknown %s '%s' (did you mean '%s'?)", what, word, s);
	return fail("unknown %s '%s'", what, word);
}

int cmd_select(const struct cmd *cmds, const char *topic, int argc, char **argv)
{
	const char *names[64], *s;
	int i, j, n = 0;

	if (argc < 1)
		return fail("missing command (try 'netfil %s%shelp')", topic ? topic : "",
			    topic ? " " : "");
	for (i = 0; cmds[i].name; i++) {
		if (strcmp(argv[0], cmds[i].name)) {
			for (j = 0; j < i && cmds[j].func != cmds[i].func; j++)
				;
			if (j == i && n < 64)
				names[n++] = cmds[i].name;
			continue;
		}
		/* "OBJECT help", "OBJECT COMMAND help", as bpftool and ip */
		if (argc == 2 && !strcmp(argv[1], "help")) {
			usage(topic ? topic : cmds[i].name, stdout);
			return 0;
		}
		return cmds[i].func(argc - 1, argv + 1);
	}
	s = suggest(argv[0], names, n);
	if (s)
		return fail("unknown command '%s' (did you mean '%s'?)", argv[0], s);
	return fail("unknown command '%s' (try 'netfil %s%shelp')", argv[0],
		    topic ? topic : "", topic ? " " : "");
}

const char *size_str(uint64_t bytes, const char *unit, char *buf, size_t len)
{
	if (human_output && bytes >= 1024)
		netfil_format_size_human(bytes, buf, len);
	else
		snprintf(buf, len, "%llu%s", (unsigned long long)bytes, unit);
	return buf;
}

size_t json_flags(void)
{
	return JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
	       (pretty_output ? JSON_INDENT(2) : JSON_COMPACT);
}

void json_doc_begin(void)
{
	if (batch_json && batch_docs++)
		fputs(pretty_output ? ",\n" : ",", json_out);
}

void json_doc_end(void)
{
	if (!batch_json)
		fputc('\n', json_out);
}

void json_print(json_t *doc)
{
	json_doc_begin();
	json_dumpf(doc, json_out, json_flags());
	json_doc_end();
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

/* netfil_open() or netfil_load() said -EPROTO. */
static int loaded_by_another(void)
{
	return fail("netfil was loaded by another version, whose maps differ (save its filters "
		    "with that version, then run 'netfil unload')");
}

int open_netfil(struct netfil **nf)
{
	int err;

	if (require_priv())
		return -1;
	err = netfil_open(&nf_opts, nf);
	if (err == -ENOENT)
		return fail("netfil is not loaded (run 'netfil load')");
	if (err == -EPROTO)
		return loaded_by_another();
	if (err)
		return fail_errno(err, "opening netfil");
	return 0;
}

/* The status of the loaded netfil, or a zeroed one ("not loaded"). */
static void read_status(struct netfil_status *st)
{
	struct netfil *nf;

	memset(st, 0, sizeof(*st));
	if (!netfil_open(&nf_opts, &nf)) {
		netfil_status(nf, st);
		netfil_close(nf);
	}
}

/* netfil_load() said -EBUSY: loaded, on another cgroup. */
static int loaded_elsewhere(void)
{
	struct netfil_status st;

	read_status(&st);
	return fail("netfil is already loaded on cgroup '%s' (run 'netfil unload' first)",
		    st.cgroup);
}

/* What "netfil load" does, with the same options and environment. */
static int load_netfil(void)
{
	const char *cg;
	struct stat st;
	int err;

	uint32_t mark;

	cg = nf_opts.cgroup ? nf_opts.cgroup : getenv("NETFIL_CGROUP");
	if (cg && *cg && (stat(cg, &st) || !S_ISDIR(st.st_mode)))
		return fail("no cgroup directory '%s'", cg);
	if (netfil_queue_mark_resolve(&nf_opts, &mark))
		return fail("invalid queue mark '%s' in NETFIL_QUEUE_MARK (2 to 16 contiguous bits, "
			    "the highest not in the relay's mark 0x6e660001)",
			    getenv("NETFIL_QUEUE_MARK"));
	err = netfil_load(&nf_opts);
	if (err == -EBUSY)
		return loaded_elsewhere();
	if (err == -EPROTO)
		return loaded_by_another();
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
	if (err == -EPROTO)
		return loaded_by_another();
	return err ? fail_errno(err, "opening netfil") : 0;
}

/* -j: the status as "netfil -j status" prints it. */
static void print_status_json(void)
{
	struct netfil_status st;

	read_status(&st);
	json_print(netfil_status_json(&st));
}

static int do_load(int argc, char **argv)
{
	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (require_priv() || load_netfil())
		return -1;
	if (json_output)
		print_status_json();
	return 0;
}

static int do_unload(int argc, char **argv)
{
	int err;

	if (argc)
		return fail("unexpected argument '%s'", argv[0]);
	if (require_priv())
		return -1;
	err = netfil_unload(&nf_opts);
	if (err)
		return fail_errno(err, "unload");
	if (json_output)
		print_status_json();
	return 0;
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
	if (err == -EPROTO)
		return loaded_by_another();
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
	printf("relay: %s%s\n", st.relay ? "listening on " : "none",
	       st.relay ? st.relay_addr : "");
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
	if (err)
		return fail_errno(err, "reaper");
	if (json_output)
		json_print(json_null());	/* nothing to say, as bpftool -j */
	return 0;
}

static const struct cmd cmds[];

/* netfil batch FILE: one command per line, as bpftool -b does; stops at
 * the first failing line, which it names.  Lines are split on blanks;
 * '#' starts a comment.  With -j, one array of every line's document. */
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
	if (json_output) {
		fputc('[', json_out);
		batch_json = true;
	}
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
		if (!strcmp(args[0], "batch") || !strcmp(args[0], "run") || !strcmp(args[0], "relay") ||
		    !strcmp(args[0], "events") || !strcmp(args[0], "top") ||
		    !strcmp(args[0], "packets") || !strcmp(args[0], "ask"))
			err = fail("'%s' is not allowed in a batch", args[0]);
		else
			err = cmd_select(cmds, NULL, n, args);
		fail_context = NULL;
	}
	if (batch_json) {
		batch_json = false;
		fputs("]\n", json_out);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return err;
}

/* The usage, by object; "netfil help" prints them all.  defs[] are the
 * words the lines use, printed after them for the objects that use them. */
static const struct {
	const char *topic, *line;
} lines[] = {
	{ "load", "netfil load" },
	{ "unload", "netfil unload" },
	{ "status", "netfil status" },
	{ "filter", "netfil filter add socket MATCH [LIMITS] [action ACTION] [PERIOD] [on | off]" },
	{ "filter", "        [REDIRECT] [QUEUE] [--allow-missing]   (exe, cgroup, unit: add it before the path exists)" },
	{ "filter", "netfil filter add ip PREFIX [LIMITS] [action ACTION] [PERIOD] [on | off]" },
	{ "filter", "        [[port N[-M]] [proto { tcp | udp }] REDIRECT] [QUEUE]" },
	{ "filter", "netfil filter add interface IF[,IF...] [LIMITS] [PERIOD] [QUEUE] [on | off] [--allow-missing]" },
	{ "filter", "netfil filter { list | show ID | reset ID | del ID }" },
	{ "filter", "netfil filter set ID [LIMITS] [action ACTION] [PERIOD] [REDIRECT | redirect none]" },
	{ "filter", "        [QUEUE | queue none] [on | off]" },
	{ "filter", "        (aliases: ls = list, delete = rm = del)" },
	{ "sysctl", "netfil sysctl { -a | KEY | GROUP | KEY=VALUE } ..." },
	{ "run", "netfil run [proxy URL] [LIMITS] [action ACTION] -- CMD [ARG...]" },
	{ "relay", "netfil relay [--listen ADDR:PORT]   (carry proxy filters' connections; foreground)" },
	{ "events", "netfil events [pid PID] [type TYPE[,TYPE...]] [filter ID]" },
	{ "top", "netfil top [sort { rate | total | pid | name }] [port PORT] [--once]" },
	{ "top", "        (live view; port: netfild's, read-only; --once -j: the model as JSON)" },
	{ "packets", "netfil packets ID [allow | drop] [count N]   (the queue's client: each packet, answered)" },
	{ "ask", "netfil ask ID   (the queue's client: asks for each new connection)" },
	{ "save", "netfil save [counters]" },
	{ "restore", "netfil restore { FILE | - }" },
	{ "roll", "netfil roll [now TIME]" },
	{ "sync", "netfil sync   (follow exe, cgroup, unit and interface filters now)" },
	{ "batch", "netfil batch { FILE | - }" },
	{ "reaper", "netfil reaper" },
	{ "help", "netfil [OBJECT [COMMAND]] help | netfil help [OBJECT]" },
};
static const struct {
	const char *topics, *text;
} defs[] = {
	{ " filter run ", "LIMITS := [ibyte SIZE] [obyte SIZE] [iobyte SIZE]   (0 = unlimited)" },
	{ " filter ", "MATCH := { pid PID | tree PID | exe PATH | user { USER | UID } |\n"
		      "                 cgroup PATH | unit NAME }" },
	{ " filter run ", "ACTION := { reject | drop }   (not for interface filters)" },
	{ " filter ", "REDIRECT := { redirect to ADDR:PORT | proxy URL } [fail { open | closed }]\n"
		      "                 (TCP and UDP; ADDR:PORT is 1.2.3.4:1080 or [::1]:1080)" },
	{ " filter ", "QUEUE := queue [new | all] [fail { open | closed }] [timeout MS]\n"
		      "                 (each packet, or each flow's first, to a client: netfil packets,\n"
		      "                 netfil ask; its rules live in this network namespace)" },
	{ " filter run ", "URL := { socks5://[USER:PASS@]HOST:PORT | http://HOST:PORT }   (http: TCP only)" },
	{ " filter ", "PERIOD := period { none | hourly [at :MM] | daily [at HH:MM] |\n"
		      "                 weekly [DAY] [at HH:MM] | monthly [day N] [at HH:MM] }" },
	{ " filter ", "DAY := { sun | mon | tue | wed | thu | fri | sat }   (or the whole name)" },
	{ " filter run sysctl ", "SIZE := BYTES[K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB]" },
	{ " filter sysctl ", "PREFIX := { IPV4[/LEN] | IPV6[/LEN] }" },
	{ " sysctl ", "KEY := net.netfil.KIND.NAME   GROUP := a leading part of one, as net.netfil.ip" },
	{ " sysctl ", "KIND := { socket | ip | interface }" },
	{ " sysctl ", "NAME := { pid (socket) | addr (ip) | list (interface) | ibyte | obyte | iobyte |\n"
		      "                 status } (read-write) | { id | bytes_in | bytes_out | dropped_in |\n"
		      "                 dropped_out | exceeded_in | exceeded_out } (read-only)" },
	{ " events ", "TYPE := { socket | connect | accept | bind | listen | close | exceeded | filter }" },
	{ " roll ", "TIME := { SECONDS | YYYY-MM-DDTHH:MM:SS }   (local time, not ahead of the clock)" },
	{ " batch restore ", "FILE := a path (a file named help: ./help), or - for stdin" },
	{ " help ", "OBJECT := { load | unload | status | filter | sysctl | run | relay | events | top |\n"
		    "                 packets | ask | save | restore | roll | sync | batch | reaper | help }" },
	{ " help ", "OPTIONS := { -j | --json } | { -p | --pretty } | { -h | --human } |\n"
		    "                 --pin-dir DIR | --cgroup PATH | { -d | --debug } |\n"
		    "                 { -V | --version } | --help" },
};

void usage(const char *topic, FILE *out)
{
	char t[32];
	bool first = true;
	size_t i;

	if (!topic)
		fprintf(out, "Usage: netfil [OPTIONS] OBJECT { COMMAND | help }\n");
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (!topic || !strcmp(topic, lines[i].topic)) {
			fprintf(out, "%s%s\n", topic && first ? "Usage: " : "       ", lines[i].line);
			first = false;
		}
	snprintf(t, sizeof(t), " %s ", topic ? topic : "");
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (!topic || strstr(defs[i].topics, t))
			fprintf(out, "       %s\n", defs[i].text);
}

static int do_help(int argc, char **argv)
{
	const char *names[32];
	int i, n = 0;

	if (argc > 1)
		return fail("unexpected argument '%s'", argv[1]);
	if (!argc) {
		usage(NULL, stdout);
		return 0;
	}
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[0], cmds[i].name)) {
			usage(argv[0], stdout);
			return 0;
		}
		names[n++] = cmds[i].name;
	}
	return fail_unknown("object", argv[0], names, n);
}

static const struct cmd cmds[] = {
	{ "load", do_load },
	{ "unload", do_unload },
	{ "status", do_status },
	{ "filter", do_filter },
	{ "sysctl", do_sysctl },
	{ "run", do_run },
	{ "relay", do_relay },
	{ "events", do_events },
	{ "top", do_top },
	{ "packets", do_packets },
	{ "ask", do_ask },
	{ "save", do_save },
	{ "roll", do_roll },
	{ "sync", do_sync },
	{ "restore", do_restore },
	{ "reaper", do_reaper },
	{ "batch", do_batch },
	{ "help", do_help },
	{ 0 }
};

/* getopt_long() takes any unambiguous start of a long option ("--pre");
 * netfil takes whole words only, as it does for commands. */
static bool long_exact(const char *word, const char *name)
{
	size_t n = strcspn(word, "=");

	return n == strlen(name) + 2 && !strncmp(word + 2, name, n - 2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "human", no_argument, NULL, 'h' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'H' },
		{ "version", no_argument, NULL, 'V' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ 0 }
	};
	static const char *const long_names[] = { "--json", "--pretty", "--human", "--debug",
						  "--help", "--version", "--pin-dir", "--cgroup" };
	int opt, idx, at;

	json_out = stdout;
	nf_opts.print = lib_print;
	libbpf_set_print(libbpf_print);
	opterr = 0;	/* one message, ours */
	/* '+': stop at the first non-option, so "sysctl -a" and
	 * "run -- CMD -x" keep their arguments; ':' tells a missing
	 * argument apart. */
	for (;;) {
		idx = -1;
		at = optind;
		opt = getopt_long(argc, argv, "+:jphdV", options, &idx);
		if (opt < 0)
			break;
		if (idx >= 0 && !long_exact(argv[at], options[idx].name)) {
			fail_unknown("option", argv[at], long_names, 8);
			return 1;
		}
		switch (opt) {
		case 'j':
			json_output = true;
			break;
		case 'p':
			json_output = pretty_output = true;
			break;
		case 'h':
			human_output = true;
			break;
		case 'd':
			verbose = true;
			break;
		case 'H':
			usage(NULL, stdout);
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
		case ':':
			fail("missing argument after '%s'", argv[optind - 1]);
			return 1;
		default:
			if (optopt)
				fail("unknown option '-%c'", optopt);
			else
				fail_unknown("option", argv[optind - 1], long_names, 8);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		if (json_output)
			fail("missing OBJECT (try 'netfil help')");
		else
			usage(NULL, stderr);
		return 1;
	}
	opt = cmd_select(cmds, NULL, argc, argv);
	return opt == EXIT_NOT_LOADED ? EXIT_NOT_LOADED : opt ? 1 : 0;
}
