// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wall clock offset (nf_wall_offset(), lib/events.c): CLOCK_REALTIME
 * minus CLOCK_MONOTONIC, by which a limit crossing's time and every event's
 * time are shown.  It must come out the same in every process: "filter
 * list" before a save and after a restore show the same crossing time, and
 * an event's time is compared with times taken elsewhere.
 *
 * This program defines clock_gettime() itself, so the library's reads come
 * here: a simulated clock whose reads each take 15 to 35 ns, on which a
 * preemption (a stall of milliseconds between two reads) or a step of the
 * wall clock is put exactly where wanted.  The last test reads the real
 * clocks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "internal.h"
#include "unit.h"

#define OFF   1796070226830801442LL	/* the simulated REALTIME - MONOTONIC */
#define STALL 7000000LL			/* 7 ms */

static struct {
	bool on;
	int64_t mono;		/* the simulated CLOCK_MONOTONIC */
	int64_t off;		/* what CLOCK_REALTIME is ahead of it */
	uint64_t rnd;
	long reads;
	/* stall(read number): ns the caller loses just before that read */
	int64_t (*stall)(long read);
	long step_at;		/* the wall clock jumps by step before this read */
	int64_t step;
} sim;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int64_t v;

	if (!sim.on) {
		if (!real)
			real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
		return real(id, ts);
	}
	if (sim.stall)
		sim.mono += sim.stall(sim.reads);
	if (sim.step && sim.reads == sim.step_at)
		sim.off += sim.step;
	sim.mono += 15 + (int64_t)(unit_rand(&sim.rnd) % 21);
	sim.reads++;
	v = id == CLOCK_REALTIME ? sim.mono + sim.off : sim.mono;
	ts->tv_sec = v / 1000000000LL;
	ts->tv_nsec = v % 1000000000LL;
	return 0;
}

static void sim_start(int64_t (*stall)(long read), long step_at, int64_t step)
{
	sim.on = true;
	sim.mono = 5000000000000LL;	/* some 83 minutes after boot */
	sim.off = OFF;
	sim.rnd = 0x9e3779b97f4a7c15ULL;
	sim.reads = 0;
	sim.stall = stall;
	sim.step_at = step_at;
	sim.step = step;
}

/* The offset measured; within 20 ns of want (a read takes 15 to 35). */
static void expect(int64_t want, const char *what)
{
	int64_t got = nf_wall_offset();

	sim.on = false;
	ASSERT_TRUE(llabs(got - want) <= 20, "%s: got %lld, want %lld (%+lld ns)", what,
		    (long long)got, (long long)want, (long long)(got - want));
}

/* Reads come three by three: monotonic, wall, monotonic. */
static int64_t no_stall(long read) { (void)read; return 0; }
/* the very first pair only, as a preemption at the start would */
static int64_t stall_first(long read) { return read == 1 ? STALL : 0; }
/* Every triple of the first 200 stretched (more than are read at least):
 * between the wall read and the monotonic one after it, where the old
 * code's pair (wall, then monotonic) would have come out 7 ms short; or
 * before the wall read; or before every read. */
static int64_t stall_before_mono(long read) { return read < 600 && read % 3 == 2 ? STALL : 0; }
static int64_t stall_before_wall(long read) { return read < 600 && read % 3 == 1 ? STALL : 0; }
static int64_t stall_every_read(long read) { return read < 600 ? STALL : 0; }
/* every triple stretched, forever */
static int64_t stall_always(long read) { return read % 3 == 2 ? STALL : 0; }

static void test_quiet(void)
{
	sim_start(no_stall, 0, 0);
	expect(OFF, "no stall");
}

static void test_stalled_pairs(void)
{
	int64_t got;

	sim_start(stall_first, 0, 0);
	expect(OFF, "7 ms between the first wall and monotonic reads");
	sim_start(stall_before_mono, 0, 0);
	expect(OFF, "7 ms before the second monotonic read of 200 triples");
	sim_start(stall_before_wall, 0, 0);
	expect(OFF, "7 ms before the wall read of 200 triples");
	sim_start(stall_every_read, 0, 0);
	expect(OFF, "7 ms before every read of 200 triples");
	/* never a narrow bracket: it still ends, within the stall */
	sim_start(stall_always, 0, 0);
	got = nf_wall_offset();
	sim.on = false;
	ASSERT_TRUE(llabs(got - OFF) <= STALL && sim.reads <= 3 * 4096,
		    "always stalled: %+lld ns after %ld reads", (long long)(got - OFF), sim.reads);
}

/* A step of the wall clock while it is measured: the new offset, not a
 * mixture and not the old one. */
static void test_step(void)
{
	sim_start(no_stall, 40, 1000000000LL);
	expect(OFF + 1000000000LL, "stepped 1 s forward midway");
	sim_start(no_stall, 40, -1000000000LL);
	expect(OFF - 1000000000LL, "stepped 1 s back midway");
	sim_start(stall_before_mono, 41, -3000000LL);
	expect(OFF - 3000000LL, "stepped 3 ms back midway, among 7 ms stalls");
	/* as the stalls end: the wide brackets before it are no help */
	sim_start(stall_before_mono, 600, 3000000LL);
	expect(OFF + 3000000LL, "stepped 3 ms forward after 200 stalled triples");
	sim_start(stall_before_mono, 600, -3000000LL);
	expect(OFF - 3000000LL, "stepped 3 ms back after 200 stalled triples");
}

/* The real clocks: every process gets the same offset (nothing steps the
 * clock in a few milliseconds), to well within a millisecond. */
static void test_real(void)
{
	int64_t o, lo = INT64_MAX, hi = INT64_MIN;
	int i;

	sim.on = false;
	for (i = 0; i < 2000; i++) {
		o = nf_wall_offset();
		lo = o < lo ? o : lo;
		hi = o > hi ? o : hi;
	}
	ASSERT_TRUE(hi - lo <= 1000, "2000 reads spread over %lld ns", (long long)(hi - lo));
}

int main(void)
{
	RUN_TEST(test_quiet);
	RUN_TEST(test_stalled_pairs);
	RUN_TEST(test_step);
	RUN_TEST(test_real);
	return TEST_SUMMARY();
}
