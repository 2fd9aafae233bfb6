// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil run [proxy URL] [LIMITS] [action A] -- CMD [ARG...]
 *
 * The child waits on a pipe until its tree filter exists, so that not one
 * socket of CMD escapes the limit; then it execs CMD.  With a proxy, every
 * connection of CMD's tree goes through it: by the relay that runs (as
 * netfild's), or by one that netfil runs here for CMD's lifetime.  When
 * CMD ends the filter's counters are summarised on stderr, the filter is
 * deleted and netfil exits with CMD's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* What the filter counted, on stderr: a line, or with -j the filter as
 * "filter show" has it with the command and its exit status. */
static void summary(const struct netfil_filter *f, const char *cmd, int rc, int sig)
{
	char b[4][32];
	json_t *o, *fj;

	if (json_output) {
		o = json_pack("{s:s,s:i}", "command", cmd, "exit_status", rc);
		if (sig)
			json_object_set_new(o, "signal", json_integer(sig));
		fj = netfil_filter_json(f);
		if (fj)
			json_object_update(o, fj);
		json_decref(fj);
		json_print(o);
		return;
	}
	fprintf(stderr, "netfil: %s: in %s, out %s, dropped in %s, out %s, exceeded %s\n", cmd,
		size_str(f->bytes[0], " B", b[0], sizeof(b[0])),
		size_str(f->bytes[1], " B", b[1], sizeof(b[1])),
		size_str(f->dropped[0], " B", b[2], sizeof(b[2])),
		size_str(f->dropped[1], " B", b[3], sizeof(b[3])),
		netfil_exceeded_name(f->exceeded));
}

int do_run(int argc, char **argv)
{
	struct netfil_filter f = { .on = true, .action = NETFIL_REJECT };
	struct sigaction sa = { .sa_handler = forward };
	struct netfil_relay *relay = NULL;
	struct netfil *nf;
	int n, fds[2], status = 0, err, rc, p = 0;
	uint32_t id = 0;
	char go = 1;
	pid_t pid;

	json_out = stderr;	/* stdout is CMD's: errors and the summary go here */
	if (argc && !strcmp(argv[0], "proxy")) {
		/* "proxy URL" and nothing else of a filter's state */
		if (argc < 2 || !strcmp(argv[1], "--"))
			return fail("missing URL after 'proxy'");
		if (parse_filter_opts(2, argv, &f, NETFIL_OPT_STATE) < 0)
			return -1;
		p = 2;
	}
	n = parse_filter_opts(argc - p, argv + p, &f, 0);
	if (n < 0)
		return -1;
	n += p;
	if (n >= argc || strcmp(argv[n], "--"))
		return fail("missing '--' before the command");
	if (n + 1 >= argc)
		return fail("missing command after '--'");
	if (open_netfil_loading(&nf))
		return -1;
	/* a relay that runs already serves every proxy filter */
	if (f.redirect.proxy.kind && !netfil_relay_live(nf) && relay_start(nf, NULL, &relay)) {
		netfil_close(nf);
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC)) {
		netfil_relay_close(relay);
		netfil_close(nf);
		return fail_errno(errno, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		netfil_relay_close(relay);
		netfil_close(nf);
		return fail_errno(errno, "fork");
	}
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &go, 1) != 1)
			_exit(127);	/* netfil could not set the filter */
		execvp(argv[n + 1], argv + n + 1);
		fail("cannot run '%s': %s", argv[n + 1], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	child = pid;
	signal(SIGPIPE, SIG_IGN);	/* a child gone early must not take us with it */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	f.match.kind = NETFIL_SOCKET;
	f.match.pid = pid;
	f.match.by = NETFIL_BY_TREE;
	err = netfil_filter_add(nf, &f, &id);
	if (!err && write(fds[1], &go, 1) != 1)
		err = -errno;
	close(fds[1]);	/* on error the child reads EOF and exits 127 */
	if (relay && !err)
		err = relay_serve(relay, pid, &status) ? -EIO : 0;
	else
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	netfil_relay_close(relay);
	if (err == -EIO) {
		netfil_filter_del(nf, id);
		netfil_close(nf);
		return -1;
	}
	if (err) {
		netfil_close(nf);
		return fail_errno(err, "setting the filter");
	}
	rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (!netfil_filter_get(nf, id, &f))
		summary(&f, argv[n + 1], rc, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	netfil_filter_del(nf, id);
	netfil_close(nf);
	fflush(stdout);
	exit(rc);
}
