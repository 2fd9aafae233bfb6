// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Period boundaries (lib/period.c) in real time zones: the days the clocks
 * change, short months, a year's end.  Each zone is tried by its tzdata
 * name and as a POSIX TZ rule (which needs no tzdata), with the same
 * expectations.  Expected times come from mktime() of unambiguous local
 * times, never from the code under test; a few are literal epoch values
 * checked with date(1).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "netfil.h"
#include "unit.h"

static const char *zone;

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
	zone = tz;
}

/* Local y-m-d h:m; isdst -1 (let mktime decide), 0 or 1. */
static int64_t mk(int y, int mo, int d, int h, int mi, int isdst)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_isdst = isdst };

	return (int64_t)mktime(&tm);
}

static struct netfil_period per(enum netfil_every every, int wday, int mday, int h, int mi)
{
	struct netfil_period p = { .every = every, .wday = wday, .mday = mday,
				   .hour = h, .minute = mi };
	return p;
}

static void expect(const struct netfil_period *p, int64_t now, int64_t want, const char *what)
{
	int64_t got = netfil_period_boundary(p, now);

	ASSERT_TRUE(got == want, "%s (%s): boundary at %lld: got %lld, want %lld",
		    what, zone, (long long)now, (long long)got, (long long)want);
}

/* The days DST starts and ends in the zone under test (2025), and the
 * time of day that is skipped / repeated on them. */
struct zone_case {
	const char *tz;
	bool tzdata;			/* a name in /usr/share/zoneinfo */
	int spring_mon, spring_day, fall_mon, fall_day;
	int gap_hour, rep_hour;		/* a skipped and a repeated hour */
};

static const struct zone_case zones[] = {
	{ "Europe/Berlin", true, 3, 30, 10, 26, 2, 2 },
	{ "CET-1CEST,M3.5.0,M10.5.0/3", false, 3, 30, 10, 26, 2, 2 },
	{ "America/New_York", true, 3, 9, 11, 2, 2, 1 },
	{ "EST5EDT,M3.2.0,M11.1.0", false, 3, 9, 11, 2, 2, 1 },
};
static const struct zone_case *zc;

static void test_daily_plain(void)
{
	struct netfil_period p = per(NETFIL_DAILY, 1, 1, 2, 30);

	expect(&p, mk(2025, 6, 10, 12, 0, -1), mk(2025, 6, 10, 2, 30, -1), "after today's");
	expect(&p, mk(2025, 6, 10, 2, 30, -1), mk(2025, 6, 10, 2, 30, -1), "exactly at it");
	expect(&p, mk(2025, 6, 10, 2, 30, -1) - 1, mk(2025, 6, 9, 2, 30, -1), "a second before");
	expect(&p, mk(2025, 1, 1, 0, 0, -1), mk(2024, 12, 31, 2, 30, -1), "new year's midnight");
	p = per(NETFIL_DAILY, 1, 1, 0, 0);
	expect(&p, mk(2025, 6, 10, 0, 0, -1), mk(2025, 6, 10, 0, 0, -1), "midnight");
	p = per(NETFIL_DAILY, 1, 1, 23, 59);
	expect(&p, mk(2025, 6, 10, 23, 58, -1), mk(2025, 6, 9, 23, 59, -1), "23:59");
}

/* Every minute from 2 days before to 2 days after day d: each boundary
 * is at or before now, they never go back, and the ones seen are want[]. */
static void sweep(const struct netfil_period *p, int mon, int day, const int64_t *want,
		  int n_want, const int64_t *alt, const char *what)
{
	int64_t from = mk(2025, mon, day - 1, 0, 0, -1), to = mk(2025, mon, day + 1, 23, 59, -1);
	int64_t t, b, prev = 0;
	int k = 0, bad = 0;

	for (t = from; t <= to && !bad; t += 60) {
		b = netfil_period_boundary(p, t);
		if (b > t) {
			ASSERT_TRUE(0, "%s (%s): boundary %lld after now %lld", what, zone,
				    (long long)b, (long long)t);
			bad++;
			continue;
		}
		if (b == prev)
			continue;
		if (b < prev) {
			ASSERT_TRUE(0, "%s (%s): boundary went back from %lld to %lld at %lld",
				    what, zone, (long long)prev, (long long)b, (long long)t);
			bad++;
		} else if (k >= n_want || (b != want[k] && !(alt && b == alt[k]))) {
			ASSERT_TRUE(0, "%s (%s): boundary #%d is %lld (at now %lld), want %lld",
				    what, zone, k, (long long)b, (long long)t,
				    k < n_want ? (long long)want[k] : -1LL);
			bad++;
		}
		k++;
		prev = b;
	}
	ASSERT_TRUE(bad || k == n_want, "%s (%s): %d boundaries, want %d", what, zone, k, n_want);
}

static void test_daily_spring_forward(void)
{
	int d = zc->spring_day, m = zc->spring_mon, h = zc->gap_hour;
	struct netfil_period p = per(NETFIL_DAILY, 1, 1, h, 30);
	/* h:30 does not exist that day: the reset comes when the clock
	 * passes it, at (h+1):00, or an hour on, at (h+1):30 */
	int64_t want[4] = { mk(2025, m, d - 2, h, 30, -1), mk(2025, m, d - 1, h, 30, -1),
			    mk(2025, m, d, h + 1, 0, -1), mk(2025, m, d + 1, h, 30, -1) };
	int64_t alt[4] = { want[0], want[1], mk(2025, m, d, h + 1, 30, -1), want[3] };

	sweep(&p, m, d, want, 4, alt, "daily in the skipped hour");
	/* an unaffected time the same day */
	p = per(NETFIL_DAILY, 1, 1, 12, 0);
	expect(&p, mk(2025, m, d, 12, 0, -1), mk(2025, m, d, 12, 0, -1), "noon on the short day");
	expect(&p, mk(2025, m, d, 11, 59, -1), mk(2025, m, d - 1, 12, 0, -1), "before noon on the short day");
}

static void test_daily_fall_back(void)
{
	int d = zc->fall_day, m = zc->fall_mon, h = zc->rep_hour;
	struct netfil_period p = per(NETFIL_DAILY, 1, 1, h, 30);
	/* h:30 happens twice that day: one reset, at the first (or the
	 * second), and the same one whenever asked */
	int64_t want[4] = { mk(2025, m, d - 2, h, 30, -1), mk(2025, m, d - 1, h, 30, -1),
			    mk(2025, m, d, h, 30, 1), mk(2025, m, d + 1, h, 30, -1) };
	int64_t alt[4] = { want[0], want[1], mk(2025, m, d, h, 30, 0), want[3] };

	ASSERT_EQ(want[2] + 3600, alt[2], "the repeated time is an hour apart");
	sweep(&p, m, d, want, 4, alt, "daily in the repeated hour");
}

/* An hour is an hour, whatever the clocks do: every zone here is a whole
 * number of hours from UTC, so hourly at :15 is every 3600 s. */
static void test_hourly_dst(void)
{
	struct netfil_period p = per(NETFIL_HOURLY, 1, 1, 0, 15);
	int pass, bad;

	for (pass = 0; pass < 2; pass++) {
		int m = pass ? zc->fall_mon : zc->spring_mon;
		int d = pass ? zc->fall_day : zc->spring_day;
		int64_t t, from = mk(2025, m, d, 0, 0, -1), to = from + 6 * 3600;

		for (t = from, bad = 0; t <= to && bad < 2; t += 60) {
			int64_t want = t - ((t - 15 * 60) % 3600 + 3600) % 3600;
			int64_t got = netfil_period_boundary(&p, t);

			if (got != want) {
				ASSERT_TRUE(0, "hourly :15 (%s, %s): at %lld got %lld, want %lld",
					    zone, pass ? "fall back" : "spring forward",
					    (long long)t, (long long)got, (long long)want);
				bad++;
			}
		}
	}
}

static void test_weekly_year_end(void)
{
	struct netfil_period p = per(NETFIL_WEEKLY, 1, 1, 0, 0);

	/* 2025-01-01 is a Wednesday */
	expect(&p, mk(2025, 1, 1, 12, 0, -1), mk(2024, 12, 30, 0, 0, -1), "mon 00:00 from wed");
	expect(&p, mk(2024, 12, 30, 0, 0, -1), mk(2024, 12, 30, 0, 0, -1), "mon 00:00 at it");
	expect(&p, mk(2024, 12, 29, 23, 59, -1), mk(2024, 12, 23, 0, 0, -1), "mon 00:00 from sun");
	p = per(NETFIL_WEEKLY, 3, 1, 18, 0);
	expect(&p, mk(2025, 1, 1, 17, 59, -1), mk(2024, 12, 25, 18, 0, -1), "wed 18:00 a minute early");
	expect(&p, mk(2025, 1, 1, 18, 0, -1), mk(2025, 1, 1, 18, 0, -1), "wed 18:00 at it");
	p = per(NETFIL_WEEKLY, 5, 1, 9, 0);
	expect(&p, mk(2025, 1, 3, 8, 0, -1), mk(2024, 12, 27, 9, 0, -1), "fri 09:00");
	p = per(NETFIL_WEEKLY, 0, 1, 23, 59);
	expect(&p, mk(2025, 1, 4, 0, 0, -1), mk(2024, 12, 29, 23, 59, -1), "sun 23:59");
	expect(&p, mk(2021, 1, 2, 12, 0, -1), mk(2020, 12, 27, 23, 59, -1), "sun 23:59 after a leap year");
}

static void test_monthly_short(void)
{
	struct netfil_period p = per(NETFIL_MONTHLY, 1, 31, 0, 0);

	/* day 31 is the last day of shorter months */
	expect(&p, mk(2024, 2, 29, 12, 0, -1), mk(2024, 2, 29, 0, 0, -1), "leap february");
	expect(&p, mk(2024, 2, 28, 23, 59, -1), mk(2024, 1, 31, 0, 0, -1), "leap february, the 28th");
	expect(&p, mk(2025, 2, 28, 0, 0, -1), mk(2025, 2, 28, 0, 0, -1), "february");
	expect(&p, mk(2025, 2, 27, 23, 59, -1), mk(2025, 1, 31, 0, 0, -1), "february, the 27th");
	expect(&p, mk(2025, 3, 15, 0, 0, -1), mk(2025, 2, 28, 0, 0, -1), "march from february");
	expect(&p, mk(2025, 3, 31, 0, 0, -1), mk(2025, 3, 31, 0, 0, -1), "march 31st");
	expect(&p, mk(2025, 5, 1, 0, 0, -1), mk(2025, 4, 30, 0, 0, -1), "april");
	expect(&p, mk(2100, 3, 1, 0, 0, -1), mk(2100, 2, 28, 0, 0, -1), "2100 is not leap");
	expect(&p, mk(2000, 3, 1, 0, 0, -1), mk(2000, 2, 29, 0, 0, -1), "2000 is leap");
	p = per(NETFIL_MONTHLY, 1, 30, 0, 0);
	expect(&p, mk(2024, 3, 29, 0, 0, -1), mk(2024, 2, 29, 0, 0, -1), "day 30 in leap february");
	p = per(NETFIL_MONTHLY, 1, 14, 0, 0);
	expect(&p, mk(2025, 1, 10, 0, 0, -1), mk(2024, 12, 14, 0, 0, -1), "across the year");
	expect(&p, mk(2025, 1, 14, 0, 0, -1), mk(2025, 1, 14, 0, 0, -1), "at it");
	p = per(NETFIL_MONTHLY, 1, 1, 0, 0);
	expect(&p, mk(2025, 1, 1, 0, 0, -1), mk(2025, 1, 1, 0, 0, -1), "new year");
	expect(&p, mk(2025, 1, 1, 0, 0, -1) - 1, mk(2024, 12, 1, 0, 0, -1), "new year's eve");
}

/* The same, as epoch values checked with date(1). */
static void test_literal(void)
{
	struct netfil_period p;

	if (strcmp(zone, "Europe/Berlin") && strcmp(zone, "CET-1CEST,M3.5.0,M10.5.0/3"))
		return;
	p = per(NETFIL_MONTHLY, 1, 31, 0, 0);
	expect(&p, 1709204400 /* 2024-02-29 12:00 CET */, 1709161200, "literal leap day");
	p = per(NETFIL_WEEKLY, 1, 1, 0, 0);
	expect(&p, 1735729200 /* 2025-01-01 12:00 CET */, 1735513200, "literal week");
	p = per(NETFIL_MONTHLY, 1, 14, 0, 0);
	expect(&p, 1736463600 /* 2025-01-10 00:00 CET */, 1734130800, "literal month");
}

/* Any period, and any time from 2020 to 2030. */
static struct netfil_period any_period(uint64_t *seed, int64_t *now)
{
	struct netfil_period p = per((enum netfil_every)(1 + unit_rand(seed) % 4),
				     (int)(unit_rand(seed) % 7), (int)(1 + unit_rand(seed) % 31),
				     (int)(unit_rand(seed) % 24), (int)(unit_rand(seed) % 60));

	*now = 1577836800 + (int64_t)(unit_rand(seed) % (10ULL * 365 * 86400));
	return p;
}

/* What holds for any period at any time: the boundary is at or before
 * now, is itself a boundary, and is not older than one period. */
static void test_random(void)
{
	static const int64_t longest[] = { 0, 3600, 25 * 3600, 7 * 86400 + 3600, 31 * 86400 + 3600 };
	uint64_t seed = 0x5eed;
	int i, bad = 0;

	for (i = 0; i < 4000 && bad < 5; i++) {
		int64_t now;
		struct netfil_period p = any_period(&seed, &now);
		int64_t b = netfil_period_boundary(&p, now);

		if (p.every == NETFIL_HOURLY)
			p.hour = 0;
		if (b > now || b <= now - longest[p.every] || netfil_period_boundary(&p, b) != b) {
			ASSERT_TRUE(0, "(%s) every %d wday %d mday %d %02d:%02d at %lld: %lld "
				    "(itself a boundary: %lld)", zone, p.every, p.wday, p.mday,
				    p.hour, p.minute, (long long)now, (long long)b,
				    (long long)netfil_period_boundary(&p, b));
			bad++;
		}
	}
}

/* The next boundary: after now, itself a boundary, and nothing between:
 * the boundary of the instant before it is the current one. */
static void test_next(void)
{
	uint64_t seed = 0x7e47;
	int i, bad = 0;

	for (i = 0; i < 4000 && bad < 5; i++) {
		int64_t now;
		struct netfil_period p = any_period(&seed, &now);
		int64_t n = netfil_period_next(&p, now);

		if (n <= now || netfil_period_boundary(&p, n) != n ||
		    netfil_period_boundary(&p, n - 1) != netfil_period_boundary(&p, now)) {
			ASSERT_TRUE(0, "(%s) every %d wday %d mday %d %02d:%02d at %lld: next %lld",
				    zone, p.every, p.wday, p.mday, p.hour, p.minute,
				    (long long)now, (long long)n);
			bad++;
		}
	}
}

static void test_none(void)
{
	struct netfil_period p = {};

	ASSERT_EQ(netfil_period_boundary(&p, 1700000000), 0, "no period");
	ASSERT_EQ(netfil_period_next(&p, 1700000000), 0, "no next");
}

int main(void)
{
	char name[128];
	size_t z;

	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		zc = &zones[z];
		if (zc->tzdata) {
			char path[128];

			snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zc->tz);
			if (access(path, R_OK)) {
				printf("skip %s: no tzdata\n", zc->tz);
				continue;
			}
		}
		set_tz(zc->tz);
#define ZONE_TEST(fn) do {							\
		snprintf(name, sizeof(name), "%s [%s]", #fn, zc->tz);		\
		RUN_NAMED(name, fn());						\
	} while (0)
		ZONE_TEST(test_daily_plain);
		ZONE_TEST(test_daily_spring_forward);
		ZONE_TEST(test_daily_fall_back);
		ZONE_TEST(test_hourly_dst);
		ZONE_TEST(test_weekly_year_end);
		ZONE_TEST(test_monthly_short);
		ZONE_TEST(test_literal);
		ZONE_TEST(test_random);
		ZONE_TEST(test_next);
	}
	RUN_TEST(test_none);
	return TEST_SUMMARY();
}
