// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil top: the live view (lib/view.c) in the terminal, with ncurses.
 *
 * It samples once a second, and at once when a filter changes or crosses
 * a limit (the event stream wakes it).  Everything it shows comes from
 * the view model; this file only draws it and turns keys into the same
 * library calls as "netfil filter set/reset".  The terminal is given back
 * as it was on q, Ctrl-C and SIGTERM.
 *
 * A user who may not read the kernel's maps (they need CAP_BPF) gets the
 * same model from netfild's /view, if netfild lets them read (root and
 * its --read-group): a read-only view, refreshed once a second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ncurses.h>
#include <curl/curl.h>
#include "cli.h"

#define NETFILD_PORT 9479	/* netfild's default --metrics-port */

enum pane { P_FILTERS, P_PROCS, P_CONNS, P_COUNT };
enum { C_ON = 1, C_OFF, C_DOWN, C_BAR, C_NEAR, C_TITLE };

struct top {
	struct netfil_view *v;
	enum pane focus;
	int sel[P_COUNT], first[P_COUNT];	/* selected row, first row shown */
	uint32_t sel_filter, sel_pid;		/* kept across re-sorts */
	bool paused, color;
	char msg[400];
	/* the model from netfild instead of the kernel */
	uint16_t port;		/* 0: not tried */
	bool remote;
	CURL *curl;
	char url[64], source[64];
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* "1.5M" for rates and totals in narrow columns */
static const char *human(double v, char *buf, size_t len)
{
	netfil_format_size_human((uint64_t)(v + 0.5), buf, len);
	return buf;
}

static const char *state_word(const struct netfil_view_data *d)
{
	static char buf[200];

	switch (d->state) {
	case NETFIL_VIEW_ON:
		return "on: loaded, every filter on";
	case NETFIL_VIEW_OFF:
		return "off: some filter is off";
	case NETFIL_VIEW_DOWN:
		return "not loaded";
	default:
		snprintf(buf, sizeof(buf), "error: %s", d->error);
		return buf;
	}
}

static void title(struct top *t, int y, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void title(struct top *t, int y, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attron(A_BOLD | (t->color ? COLOR_PAIR(C_TITLE) : A_REVERSE));
	mvhline(y, 0, ' ', COLS);
	mvaddnstr(y, 0, buf, COLS);
	attroff(A_BOLD | (t->color ? COLOR_PAIR(C_TITLE) : A_REVERSE));
}

static void header(struct top *t, const struct netfil_view_data *d)
{
	int pair = d->state == NETFIL_VIEW_ON ? C_ON : d->state == NETFIL_VIEW_OFF ? C_OFF : C_DOWN;
	bool up = d->state == NETFIL_VIEW_ON || d->state == NETFIL_VIEW_OFF;
	char when[64], line[512];
	time_t now = (time_t)(d->wall_ns / 1000000000ULL);
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	attron(A_BOLD | (t->color ? COLOR_PAIR(pair) : A_REVERSE));
	mvprintw(0, 0, " netfil %s ", state_word(d));
	attroff(A_BOLD | (t->color ? COLOR_PAIR(pair) : A_REVERSE));
	if (up)
		snprintf(line, sizeof(line), "  reaper %s  subscribers %u  lost %llu%s  sort %s  %s%s%s%s",
			 d->status.reaper_pid ? "running" : "stopped", d->status.subscribers,
			 (unsigned long long)(d->status.events_lost + d->lost),
			 d->events ? "" : " (no event slot)", netfil_view_sort_name(d->sort),
			 when, t->paused ? "  PAUSED" : "", d->source[0] ? "  from " : "", d->source);
	else
		snprintf(line, sizeof(line), "  %s%s", when, t->paused ? "  PAUSED" : "");
	addnstr(line, COLS - getcurx(stdscr) > 0 ? COLS - getcurx(stdscr) : 0);
	mvaddnstr(1, 0, t->msg, COLS);
}

/* "ibyte [#####.....]  512K/1.0M" */
static void bar(struct top *t, const char *name, uint64_t used, uint64_t limit)
{
	const int w = 10;
	double frac = limit ? (double)used / (double)limit : 0;
	int fill = frac >= 1 ? w : (int)(frac * w), i;
	char a[32], b[32];

	printw(" %s [", name);
	attron(t->color ? COLOR_PAIR(frac >= 0.9 ? C_NEAR : C_BAR) : A_BOLD);
	for (i = 0; i < fill; i++)
		addch('#');
	attroff(t->color ? COLOR_PAIR(frac >= 0.9 ? C_NEAR : C_BAR) : A_BOLD);
	for (; i < w; i++)
		addch('.');
	netfil_format_size_human(used, a, sizeof(a));
	netfil_format_size_human(limit, b, sizeof(b));
	printw("] %3.0f%% %s/%s", frac * 100, a, b);
}

static void until(int64_t t, char *buf, size_t len)
{
	int64_t s = t - (int64_t)time(NULL);

	if (!t)
		snprintf(buf, len, "-");
	else if (s >= 86400)
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else
		snprintf(buf, len, "%02lld:%02lld:%02lld", (long long)(s / 3600),
			 (long long)(s % 3600 / 60), (long long)(s % 60));
}

/* Keep the selection inside n rows and visible in h of them. */
static void clamp(struct top *t, enum pane p, int n, int h)
{
	if (t->sel[p] >= n)
		t->sel[p] = n - 1;
	if (t->sel[p] < 0)
		t->sel[p] = 0;
	if (t->sel[p] < t->first[p])
		t->first[p] = t->sel[p];
	if (h > 0 && t->sel[p] >= t->first[p] + h)
		t->first[p] = t->sel[p] - h + 1;
}

static void row_start(struct top *t, enum pane p, int i, int y)
{
	move(y, 0);
	if (t->focus == p && t->sel[p] == i)
		attron(A_REVERSE);
}

static void row_end(void)
{
	attroff(A_REVERSE);
	clrtoeol();
}

static void filters(struct top *t, const struct netfil_view_data *d, int y, int h)
{
	char m[64], in[32], out[32], dr[32], next[32];
	int i, l;

	snprintf(m, sizeof(m), "Filters (%d)", d->n_filters);
	title(t, y++, " %-15s %-4s %-3s %-26s %9s %9s %9s %-8s %-22s %-9s USAGE", m, "ID", "ST",
	      "MATCH", "IN/s", "OUT/s", "DROPPED", "EXCEEDED", "PERIOD", "RESET IN");
	h--;
	clamp(t, P_FILTERS, d->n_filters, h);
	for (i = t->first[P_FILTERS]; i < d->n_filters && i < t->first[P_FILTERS] + h; i++, y++) {
		const struct netfil_view_filter *vf = &d->filters[i];
		const struct netfil_filter *f = &vf->f;

		until(vf->next_reset, next, sizeof(next));
		row_start(t, P_FILTERS, i, y);
		printw(" %-15s %-4u %-3s %-26.26s %9s %9s %9s %-8s %-22.22s %-9s", netfil_kind_name(f->match.kind),
		       f->id, netfil_onoff_name(f->on), vf->match, human(vf->rate[0], in, sizeof(in)),
		       human(vf->rate[1], out, sizeof(out)),
		       human((double)(f->dropped[0] + f->dropped[1]), dr, sizeof(dr)),
		       netfil_exceeded_name(f->exceeded), vf->period, next);
		for (l = NETFIL_IBYTE; l <= NETFIL_IOBYTE; l++)
			if (f->limit[l])
				bar(t, netfil_limit_name((enum netfil_limit)l),
				    l == NETFIL_IBYTE ? f->bytes[0] : l == NETFIL_OBYTE ? f->bytes[1] :
				    f->bytes[0] + f->bytes[1], f->limit[l]);
		row_end();
	}
}

static void procs(struct top *t, const struct netfil_view_data *d, int y, int h)
{
	char a[32], b[32], c[32], e[32];
	int i;

	snprintf(a, sizeof(a), "Processes (%d)", d->n_procs);
	title(t, y++, " %-15s %7s %-15s %9s %9s %9s %9s %5s %s", a, "PID", "COMM", "IN/s", "OUT/s",
	      "IN", "OUT", "CONNS", "EXE");
	h--;
	clamp(t, P_PROCS, d->n_procs, h);
	for (i = t->first[P_PROCS]; i < d->n_procs && i < t->first[P_PROCS] + h; i++, y++) {
		const struct netfil_view_proc *p = &d->procs[i];

		row_start(t, P_PROCS, i, y);
		printw(" %-15s %7u %-15s %9s %9s %9s %9s %5u %s", p->exited ? "exited" : "",
		       p->tgid, p->comm, human(p->rate[0], a, sizeof(a)), human(p->rate[1], b, sizeof(b)),
		       human((double)p->bytes[0], c, sizeof(c)), human((double)p->bytes[1], e, sizeof(e)),
		       p->conns, p->exe);
		row_end();
	}
}

static void conns(struct top *t, const struct netfil_view_data *d, int y, int h)
{
	char a[32], b[32], c[32], e[32];
	int i, n = 0;

	snprintf(a, sizeof(a), "Conns of %u", t->sel_pid);
	title(t, y++, " %-15s %-5s %-26s %-26s %-12s %9s %9s %9s %9s", a, "PROTO", "LOCAL",
	      "REMOTE", "STATE", "IN", "OUT", "IN/s", "OUT/s");
	h--;
	for (i = 0; i < d->n_conns; i++)
		n += d->conns[i].s.tgid == t->sel_pid;
	clamp(t, P_CONNS, n, h);
	for (i = 0, n = 0; i < d->n_conns; i++) {
		const struct netfil_view_conn *k = &d->conns[i];
		const struct netfil_socket *s = &k->s;

		if (s->tgid != t->sel_pid)
			continue;
		if (n >= t->first[P_CONNS] && n < t->first[P_CONNS] + h) {
			row_start(t, P_CONNS, n, y++);
			printw(" %-15s %-5s %-26s %-26s %-12s %9s %9s %9s %9s", "",
			       netfil_proto_name(s->proto), k->local, k->remote, k->state,
			       human((double)s->bytes[0], a, sizeof(a)),
			       human((double)s->bytes[1], b, sizeof(b)),
			       human(k->rate[0], c, sizeof(c)), human(k->rate[1], e, sizeof(e)));
			row_end();
		}
		n++;
	}
}

/* Follow the selected filter and process by identity, not by row. */
static void follow(struct top *t, const struct netfil_view_data *d)
{
	int i;

	for (i = 0; i < d->n_filters; i++)
		if (d->filters[i].f.id == t->sel_filter)
			t->sel[P_FILTERS] = i;
	for (i = 0; i < d->n_procs; i++)
		if (d->procs[i].tgid == t->sel_pid)
			t->sel[P_PROCS] = i;
}

static void draw(struct top *t)
{
	const struct netfil_view_data *d = netfil_view_data(t->v);
	int body = LINES - 3, hf, hp;

	erase();
	header(t, d);
	hf = d->n_filters + 1 < body * 2 / 5 ? d->n_filters + 1 : body * 2 / 5;
	if (hf < 2)
		hf = 2;
	hp = (body - hf) / 2;
	filters(t, d, 2, hf);
	procs(t, d, 2 + hf, hp);
	if (t->sel[P_PROCS] < d->n_procs)
		t->sel_pid = d->procs[t->sel[P_PROCS]].tgid;
	if (t->sel[P_FILTERS] < d->n_filters)
		t->sel_filter = d->filters[t->sel[P_FILTERS]].f.id;
	conns(t, d, 2 + hf + hp, body - hf - hp);
	mvaddnstr(LINES - 1, 0, " q quit  Tab/arrows move  space on/off  r reset  +/- limit"
		  "  s sort  p pause  c clear exited", COLS);
	refresh();
}

/* The 1-2-5 ladder of limits: 1K 2K 5K 10K ... 500K 1M 2M ..., binary
 * units: the next one above v (up) or below it. */
static uint64_t ladder(uint64_t v, bool up)
{
	static const uint64_t m[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500 };
	uint64_t prev = 0, x;
	int u, i;

	for (u = 10; u <= 50; u += 10)
		for (i = 0; i < (int)(sizeof(m) / sizeof(m[0])); i++) {
			x = m[i] << u;
			if (up ? x > v : x >= v)
				return up ? x : prev;
			prev = x;
		}
	return up ? v : prev;
}

static void act(struct top *t, int key)
{
	const struct netfil_view_data *d = netfil_view_data(t->v);
	struct netfil *nf = netfil_view_netfil(t->v);
	struct netfil_filter v = {};
	unsigned int what = 0;
	int err, l;

	if (t->sel[P_FILTERS] >= d->n_filters || !nf) {
		snprintf(t->msg, sizeof(t->msg), "no filter selected");
		return;
	}
	v = d->filters[t->sel[P_FILTERS]].f;
	if (key == 'r') {
		err = netfil_filter_reset(nf, v.id);
	} else {
		if (key == ' ') {
			v.on = !v.on;
			what = NETFIL_SET_ON;
		}
		for (l = NETFIL_IBYTE; key != ' ' && l <= NETFIL_IOBYTE; l++)
			if (v.limit[l]) {
				v.limit[l] = ladder(v.limit[l], key == '+');
				if (!v.limit[l])	/* 0 would mean unlimited */
					v.limit[l] = 1024;
				what |= NETFIL_SET_LIMIT(l);
			}
		if (!what) {
			snprintf(t->msg, sizeof(t->msg), "filter %u has no limit to change", v.id);
			return;
		}
		err = netfil_filter_change(nf, &v, what);
	}
	if (err == -EPERM || err == -EACCES)
		snprintf(t->msg, sizeof(t->msg), "read-only: changing filters needs root");
	else if (err)
		snprintf(t->msg, sizeof(t->msg), "filter %u: %s", v.id, strerror(-err));
	else
		snprintf(t->msg, sizeof(t->msg), "filter %u: %s", v.id, key == 'r' ? "reset" :
			 key == ' ' ? (v.on ? "on" : "off") : "limit changed");
}

/* Returns true when the model must be sampled again at once. */
static bool key(struct top *t, int ch)
{
	const struct netfil_view_data *d = netfil_view_data(t->v);
	int page = LINES / 4 > 1 ? LINES / 4 : 1;

	switch (ch) {
	case 'q':
	case 'Q':
		stop = 1;
		return false;
	case '\t':
		t->focus = (enum pane)((t->focus + 1) % P_COUNT);
		break;
	case KEY_BTAB:
		t->focus = (enum pane)((t->focus + P_COUNT - 1) % P_COUNT);
		break;
	case KEY_UP:
		t->sel[t->focus]--;
		break;
	case KEY_DOWN:
		t->sel[t->focus]++;
		break;
	case KEY_PPAGE:
		t->sel[t->focus] -= page;
		break;
	case KEY_NPAGE:
		t->sel[t->focus] += page;
		break;
	case ' ':
	case 'r':
	case '+':
	case '-':
		if (geteuid() != 0 || t->remote) {
			snprintf(t->msg, sizeof(t->msg), "read-only: changing filters needs root");
			break;
		}
		act(t, ch);
		return true;
	case 's':
		netfil_view_sort(t->v, (enum netfil_view_sort)((d->sort + 1) % NETFIL_SORT_COUNT));
		snprintf(t->msg, sizeof(t->msg), "sorted by %s", netfil_view_sort_name(d->sort));
		t->sel[P_PROCS] = 0;
		break;
	case 'p':
		t->paused = !t->paused;
		snprintf(t->msg, sizeof(t->msg), "%s", t->paused ? "paused: p resumes" : "");
		return !t->paused;
	case 'c':
		netfil_view_clear(t->v);
		snprintf(t->msg, sizeof(t->msg), "exited processes cleared");
		return true;
	case KEY_RESIZE:
		break;
	default:
		return false;
	}
	if (t->sel[t->focus] < 0)
		t->sel[t->focus] = 0;
	if (t->focus == P_FILTERS && t->sel[P_FILTERS] < d->n_filters)
		t->sel_filter = d->filters[t->sel[P_FILTERS]].f.id;
	if (t->focus == P_PROCS && t->sel[P_PROCS] < d->n_procs) {
		t->sel_pid = d->procs[t->sel[P_PROCS]].tgid;
		t->sel[P_CONNS] = t->first[P_CONNS] = 0;
	}
	return false;
}

static size_t gather(char *data, size_t size, size_t n, void *arg)
{
	FILE *out = arg;

	return fwrite(data, size, n, out) * size;
}

/* The model from netfild's /view: 0, or -1 with t->msg saying why. */
static int fetch(struct top *t)
{
	char *body = NULL;
	size_t len = 0;
	long code = 0;
	json_error_t je;
	json_t *doc = NULL;
	FILE *out;
	CURLcode rc;
	int err = -1;

	if (!t->curl && !(t->curl = curl_easy_init()))
		return -1;
	out = open_memstream(&body, &len);
	if (!out)
		return -1;
	curl_easy_setopt(t->curl, CURLOPT_URL, t->url);
	curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, 900L);
	curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(t->curl);
	fclose(out);
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		snprintf(t->msg, sizeof(t->msg), "no access to the kernel's maps (%s), nor to %s: %s",
			 netfil_view_data(t->v)->error, t->source, curl_easy_strerror(rc));
	else if (code != 200)	/* netfild says why in one line */
		snprintf(t->msg, sizeof(t->msg), "%s: %.*s", t->source,
			 (int)strcspn(body ? body : "", "\n"), body ? body : "");
	else if (!(doc = json_loadb(body, len, 0, &je)) ||
		 netfil_view_set_json(t->v, doc, t->source))
		snprintf(t->msg, sizeof(t->msg), "%s: not a view model", t->source);
	else
		err = 0;
	json_decref(doc);
	free(body);
	return err;
}

/* One sample: the kernel's, else (not privileged) netfild's. */
static void sample(struct top *t)
{
	const struct netfil_view_data *d;

	if (!t->remote) {
		netfil_view_update(t->v);
		d = netfil_view_data(t->v);
		if (d->state != NETFIL_VIEW_ERROR || (d->err != -EPERM && d->err != -EACCES))
			return;
		if (!t->port)
			t->port = NETFILD_PORT;
		snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%u/view", t->port);
		snprintf(t->source, sizeof(t->source), "netfild 127.0.0.1:%u", t->port);
	}
	t->remote = !fetch(t);
	if (t->remote)
		snprintf(t->msg, sizeof(t->msg), "read-only: changing filters needs root");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_screen(struct top *t)
{
	struct sigaction sa = { .sa_handler = on_stop };
	int64_t next = 0;
	struct pollfd p[2];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setlocale(LC_ALL, "");
	if (!initscr())
		return fail("cannot start the terminal view (TERM=%s)", getenv("TERM") ?: "");
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	t->color = has_colors();
	if (t->color) {
		start_color();
		use_default_colors();
		init_pair(C_ON, COLOR_BLACK, COLOR_GREEN);
		init_pair(C_OFF, COLOR_WHITE, COLOR_RED);
		/* grey: the 256-colour one when there is one */
		init_pair(C_DOWN, COLOR_BLACK, COLORS >= 256 ? 244 : COLOR_WHITE);
		init_pair(C_BAR, COLOR_GREEN, -1);
		init_pair(C_NEAR, COLOR_RED, -1);
		init_pair(C_TITLE, COLOR_BLACK, COLOR_CYAN);
	}
	if (geteuid() != 0 && !t->msg[0])
		snprintf(t->msg, sizeof(t->msg), "read-only: changing filters needs root");
	while (!stop) {
		bool now = false;
		int n, ch, timeout;

		if (now_ms() >= next && !t->paused) {
			sample(t);
			follow(t, netfil_view_data(t->v));
			next = now_ms() + 1000;
			draw(t);
		}
		p[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = netfil_view_fd(t->v), .events = POLLIN };
		timeout = t->paused ? 1000 : (int)(next - now_ms());
		n = poll(p, 2, timeout < 0 ? 0 : timeout);
		if (n < 0 && errno != EINTR)
			break;
		/* a resize interrupts poll; ncurses has the KEY_RESIZE */
		while ((ch = (nodelay(stdscr, TRUE), getch())) != ERR)
			now |= key(t, ch);
		if (n > 0 && p[1].revents && netfil_view_events(t->v) > 0)
			now = true;	/* a filter changed or crossed a limit */
		if (now && !t->paused)
			next = 0;
		else if (!stop)
			draw(t);
	}
	endwin();
	return 0;
}

/* --once without -j: the model as plain lines */
static void print_text(const struct netfil_view_data *d)
{
	char a[32], b[32], c[32], e[32];
	int i;

	printf("netfil %s%s%s\n", state_word(d), d->source[0] ? " from " : "", d->source);
	for (i = 0; i < d->n_filters; i++) {
		const struct netfil_view_filter *vf = &d->filters[i];

		printf("filter %u %s %s %s in %s/s out %s/s\n", vf->f.id,
		       netfil_kind_name(vf->f.match.kind), vf->match, netfil_onoff_name(vf->f.on),
		       human(vf->rate[0], a, sizeof(a)), human(vf->rate[1], b, sizeof(b)));
	}
	for (i = 0; i < d->n_procs; i++) {
		const struct netfil_view_proc *p = &d->procs[i];

		printf("process %u %s in %s out %s rate in %s/s out %s/s connections %u%s\n",
		       p->tgid, p->comm, human((double)p->bytes[0], a, sizeof(a)),
		       human((double)p->bytes[1], b, sizeof(b)), human(p->rate[0], c, sizeof(c)),
		       human(p->rate[1], e, sizeof(e)), p->conns, p->exited ? " exited" : "");
	}
}

int do_top(int argc, char **argv)
{
	struct netfil_view_opts vo = {};
	struct top t = {};
	bool once = false;
	int err, s = NETFIL_SORT_RATE;

	for (; argc > 0; argc--, argv++) {
		if (!strcmp(argv[0], "--once")) {
			once = true;
		} else if (!strcmp(argv[0], "port")) {
			uint32_t p;

			if (argc < 2)
				return fail("missing netfild's port after 'port'");
			if (netfil_parse_u32(argv[1], &p) || !p || p > 65535)
				return fail("bad port '%s' (1-65535)", argv[1]);
			t.port = (uint16_t)p;
			snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%u/view", t.port);
			snprintf(t.source, sizeof(t.source), "netfild 127.0.0.1:%u", t.port);
			t.remote = true;	/* asked for: never the kernel */
			argc--;
			argv++;
		} else if (!strcmp(argv[0], "sort")) {
			if (argc < 2)
				return fail("missing rate, total, pid or name after 'sort'");
			s = netfil_view_sort_parse(argv[1]);
			if (s < 0)
				return fail("unknown sort '%s' (rate, total, pid or name)", argv[1]);
			argc--;
			argv++;
		} else {
			return fail("unexpected argument '%s'", argv[0]);
		}
	}
	if (!once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return fail("netfil top needs a terminal (or --once)");
	err = netfil_view_open(&nf_opts, &vo, &t.v);
	if (err)
		return fail_errno(err, "opening the view");
	netfil_view_sort(t.v, (enum netfil_view_sort)s);
	if (once) {
		const struct timespec second = { 1, 0 };

		/* two samples a second apart: rates need both */
		sample(&t);
		if (!t.remote)
			nanosleep(&second, NULL);
		sample(&t);
		if (t.msg[0] && !t.remote && netfil_view_data(t.v)->state == NETFIL_VIEW_ERROR)
			fprintf(stderr, "netfil: %s\n", t.msg);
		if (json_output)
			json_print(netfil_view_json(t.v, 0));
		else
			print_text(netfil_view_data(t.v));
		err = netfil_view_data(t.v)->state == NETFIL_VIEW_ERROR ? -1 : 0;
	} else {
		err = run_screen(&t);
	}
	netfil_view_close(t.v);
	if (t.curl)
		curl_easy_cleanup(t.curl);
	return err;
}
