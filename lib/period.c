// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Billing periods: when a filter's counters start again.
 *
 * Boundaries are in local time (TZ), as a data plan's are: "monthly on the
 * 14th at 00:00" means midnight where the user is, daylight saving
 * included.  Nothing here runs on the packet path; netfil_roll() is called
 * by whoever keeps time (netfild, or "netfil roll").
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "internal.h"

static int days_in_month(int year, int mon)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 1 && leap ? 29 : d[mon];
}

/*
 * A local date and time as an instant, the same whatever mktime() was
 * asked before (with tm_isdst -1 it guesses from its last call).  A time
 * that happens twice (the hour the clocks go back) is its first
 * occurrence; a time that never happens (the hour they skip) is as late
 * as the jump: 02:30 on the skipping night is 03:30.
 */
static int64_t local_instant(const struct tm *want)
{
	int64_t best = -1, late = -1;
	int dst;

	for (dst = 0; dst <= 1; dst++) {
		struct tm t = *want, back;
		time_t x;

		t.tm_isdst = dst;
		x = mktime(&t);
		if (x == (time_t)-1)
			continue;
		late = late < 0 || x > late ? x : late;
		if (!localtime_r(&x, &back))
			continue;
		/* mktime normalised want's fields into t: it is real if the
		 * instant reads back as those fields */
		if (back.tm_hour == t.tm_hour && back.tm_min == t.tm_min &&
		    back.tm_mday == t.tm_mday && back.tm_isdst == dst &&
		    (best < 0 || x < best))
			best = x;
	}
	return best >= 0 ? best : late;
}

/* The boundary of p in the day/week/month that holds tm; "back" steps
 * that many days/weeks/months earlier. */
static int64_t boundary_at(const struct netfil_period *p, const struct tm *now, int back)
{
	struct tm t = *now;
	int mday;

	t.tm_sec = 0;
	t.tm_min = p->minute;
	t.tm_isdst = -1;
	switch (p->every) {
	case NETFIL_DAILY:
		t.tm_hour = p->hour;
		t.tm_mday -= back;
		break;
	case NETFIL_WEEKLY:
		t.tm_hour = p->hour;
		t.tm_mday -= (now->tm_wday - p->wday + 7) % 7 + 7 * back;
		break;
	case NETFIL_MONTHLY:
		t.tm_hour = p->hour;
		t.tm_mon -= back;
		t.tm_mday = 1;
		if (mktime(&t) == (time_t)-1)	/* normalises year and month */
			return -1;
		mday = days_in_month(t.tm_year + 1900, t.tm_mon);
		t.tm_mday = p->mday < mday ? p->mday : mday;
		t.tm_hour = p->hour;
		t.tm_min = p->minute;
		t.tm_isdst = -1;
		break;
	default:
		return -1;
	}
	/* the calendar fields first (day -1 is the last of the month
	 * before), then the clock time resolved on that day */
	{
		struct tm day = t;
		int h = t.tm_hour, m = t.tm_min;

		day.tm_hour = 12;
		day.tm_min = 0;
		day.tm_isdst = -1;
		if (mktime(&day) == (time_t)-1)
			return -1;
		day.tm_hour = h;
		day.tm_min = m;
		day.tm_sec = 0;
		return local_instant(&day);
	}
}

/* Hourly boundaries are every hour at :MM: step back from now to the
 * last instant whose local minute is MM, in absolute time, so that the
 * hour the clocks skip or repeat changes nothing. */
static int64_t hourly_boundary(const struct netfil_period *p, int64_t now, const struct tm *tm)
{
	return now - tm->tm_sec - (int64_t)((tm->tm_min - p->minute + 60) % 60) * 60;
}

void nf_meta_period(const struct nf_filter_meta *meta, struct netfil_period *p)
{
	p->every = (enum netfil_every)meta->period;
	p->minute = meta->p_minute;
	p->hour = meta->p_hour;
	p->wday = meta->p_wday;
	p->mday = meta->p_mday;
	p->last = meta->period_last;
}

/* A new period starts counting from its current boundary, unless a last
 * one is given (a restore). */
void nf_period_meta(const struct netfil_period *p, int64_t now, struct nf_filter_meta *meta)
{
	meta->period = (__u8)p->every;
	meta->p_minute = (__u8)p->minute;
	meta->p_hour = (__u8)p->hour;
	meta->p_wday = (__u8)p->wday;
	meta->p_mday = (__u8)p->mday;
	meta->period_last = p->last ? p->last : netfil_period_boundary(p, now);
}

/* The boundary at or before now, or (next) the first one after it. */
static int64_t boundary(const struct netfil_period *p, int64_t now, bool next)
{
	time_t t = (time_t)now;
	struct tm tm;
	int64_t b;

	if (p->every == NETFIL_PERIOD_NONE || !localtime_r(&t, &tm))
		return 0;
	if (p->every == NETFIL_HOURLY)
		return hourly_boundary(p, now, &tm) + (next ? 3600 : 0);
	b = boundary_at(p, &tm, 0);
	/* this hour's/day's/... boundary may still be ahead: then it is the
	 * next one, and the current one the previous; back -1 is the
	 * day/week/month after */
	if (next)
		return b > now ? b : boundary_at(p, &tm, -1);
	return b > now ? boundary_at(p, &tm, 1) : b;
}

int64_t netfil_period_boundary(const struct netfil_period *p, int64_t now)
{
	return boundary(p, now, false);
}

int64_t netfil_period_next(const struct netfil_period *p, int64_t now)
{
	return boundary(p, now, true);
}

int netfil_roll(struct netfil *nf, int64_t now)
{
	struct nf_filter_state zero = {};
	struct nf_filter_meta meta;
	struct netfil_period p;
	int n = 0, err;
	__u32 slot;
	int64_t b;

	err = nf_lock(nf);
	if (err)
		return err;
	for (slot = 0; slot < NF_MAX_FILTERS; slot++) {
		if (!nf->cfg[slot].id || bpf_map_lookup_elem(nf->meta_fd, &slot, &meta) ||
		    !meta.period)
			continue;
		nf_meta_period(&meta, &p);
		b = netfil_period_boundary(&p, now);
		if (b <= meta.period_last)
			continue;
		meta.period_last = b;
		memset(&zero, 0, sizeof(zero));
		err = nf_state_put(nf, slot, &zero);
		if (err)
			break;
		if (bpf_map_update_elem(nf->meta_fd, &slot, &meta, 0)) {
			err = -errno;
			break;
		}
		nf_emit_filter(nf, NETFIL_OP_RESET, nf->cfg[slot].id);
		n++;
	}
	nf_unlock(nf);
	return err ? err : n;
}
