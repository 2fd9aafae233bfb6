/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The netfil command line: shared between its object files. */
#ifndef NETFIL_CLI_H
#define NETFIL_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include "../lib/netfil.h"

/* "netfil status" when netfil is not loaded, as "systemctl is-active"
 * says 3 for a unit that is not running; every other failure is 1. */
#define EXIT_NOT_LOADED 3

/* An entry with the func of an earlier one is an alias of it ("ls"):
 * it runs, but is never suggested. */
struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

extern bool json_output, pretty_output, human_output;
/* Where JSON documents and -j errors go: stdout, but stderr for "run",
 * whose stdout belongs to the command it runs. */
extern FILE *json_out;
/* When set ("FILE:LINE"), fail() names it before its message. */
extern const char *fail_context;
extern struct netfil_opts nf_opts;

/* One-line error on stderr, or {"error": "..."} on json_out with -j;
 * always returns -1 so callers can "return fail(...)".  Commands return
 * 0 or -1; main() exits 0 or 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_errno(int err, const char *what);
/* Run the command argv[0] of cmds (exact names only); "CMD help" prints
 * the help of topic (the object, or CMD itself at the top level).  An
 * unknown word is refused with the closest name, if one is close. */
int cmd_select(const struct cmd *cmds, const char *topic, int argc, char **argv);
/* The word of words[0..n) closest to word, or NULL if none is close. */
const char *suggest(const char *word, const char *const *words, int n);
/* "unknown argument 'X'", with " (did you mean 'Y'?)" when one is close. */
int fail_unknown(const char *what, const char *word, const char *const *words, int n);
/* The usage of one object (topic) on out; NULL: of every object. */
void usage(const char *topic, FILE *out);
bool is_prefix(const char *pfx, const char *str);

/* Open the loaded netfil (for commands that need it), with a clear error
 * when it is not loaded or the caller lacks privilege. */
int open_netfil(struct netfil **nf);
/* The same, loading netfil first (as "netfil load") if it is not loaded:
 * for the commands that change the configuration. */
int open_netfil_loading(struct netfil **nf);
int require_priv(void);

/* JSON output: json_print() takes ownership and prints one document.
 * Output written some other way goes between json_doc_begin() and
 * json_doc_end(), so that a -j batch can make one array of them all. */
void json_print(json_t *doc);
void json_doc_begin(void);
void json_doc_end(void);
/* json_dumpf flags for -j / -p */
size_t json_flags(void);
/* A byte count in text output: with -h "1.5MiB", else the number followed
 * by unit ("" or "B"); below 1 KiB always the number and unit. */
const char *size_str(uint64_t bytes, const char *unit, char *buf, size_t len);
void filter_print(const struct netfil_filter *f);
int parse_u32(const char *s, uint32_t *v);
int parse_pid(const char *s, int *pid);
/* The library's parsers, with the error printed: the number of
 * arguments used, or -1. */
int parse_filter_opts(int argc, char **argv, struct netfil_filter *f, unsigned int flags);
/* relay.c: open the relay (errors said), and serve it until pid ends
 * (*status: its wait status) or, pid 0, until SIGINT or SIGTERM. */
int relay_start(struct netfil *nf, const char *listen, struct netfil_relay **r);
int relay_serve(struct netfil_relay *r, pid_t pid, int *status);
int parse_match(int argc, char **argv, struct netfil_match *m);

int do_filter(int argc, char **argv);
int do_sysctl(int argc, char **argv);
int do_run(int argc, char **argv);
int do_relay(int argc, char **argv);
int do_events(int argc, char **argv);
int do_top(int argc, char **argv);
int do_save(int argc, char **argv);
int do_roll(int argc, char **argv);
int do_sync(int argc, char **argv);
int do_restore(int argc, char **argv);
int do_packets(int argc, char **argv);
/* packets.c: netfil_packets_open()'s error, said for filter id */
int queue_open_error(int err, uint32_t id);
bool stall_text(const struct netfil_packets *pq, uint32_t id, uint64_t *seen, char *buf,
		size_t len);
int do_ask(int argc, char **argv);

#endif
