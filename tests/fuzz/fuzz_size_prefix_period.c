// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The small parsers every front end shares.  The first byte picks one;
 * the rest is its string.  Properties:
 *  - sizes and numbers: the result is what an independent 128-bit reading
 *    of the digits (and suffix) gives: a number that parses is the number
 *    that was written, and ERANGE only past the limit;
 *  - prefixes: parse -> format -> parse is stable, host bits are clear;
 *  - periods: "... period ..." through netfil_parse_filter_opts(), then
 *    netfil_format_period() and parsed again: the same period.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include "netfil.h"
#include "fuzz.h"

typedef unsigned __int128 u128;

/* Digits of s[0..n) as a 128-bit number, saturating: enough to tell
 * "fits in 64 bits" from "does not". */
static u128 ref_digits(const char *s, size_t n)
{
	u128 v = 0, cap = (u128)1 << 80;	/* times 2^40 still fits */
	size_t i;

	for (i = 0; i < n; i++) {
		v = v * 10 + (u128)(s[i] - '0');
		if (v > cap)
			v = cap;
	}
	return v;
}

static void check_number(const char *s, uint64_t max)
{
	size_t n = strspn(s, "0123456789");
	uint64_t v = 0;
	int err = netfil_parse_number(s, max, &v);
	u128 want;

	want = ref_digits(s, n);
	if (!*s || s[n]) {
		/* bad, and overflowing before the bad character: either will do */
		PROPERTY(err == -EINVAL || (err == -ERANGE && want > UINT64_MAX),
			 "number '%s': %d, want -EINVAL", s, err);
		return;
	}
	if (want > max)
		PROPERTY(err == -ERANGE, "number '%s' max %llu: %d, want -ERANGE", s,
			 (unsigned long long)max, err);
	else
		PROPERTY(!err && v == (uint64_t)want, "number '%s': %d %llu", s, err,
			 (unsigned long long)v);
}

static void check_size(const char *s)
{
	static const char *const suffixes[] = { "", "K", "KiB", "KB", "M", "MiB", "MB",
						"G", "GiB", "GB", "T", "TiB", "TB" };
	size_t n = strspn(s, "0123456789"), i;
	u128 mult = 0, want;
	uint64_t v = 0;
	int err = netfil_parse_size(s, &v), k;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (!strcmp(s + n, suffixes[i])) {
			int power = i ? (int)(i + 2) / 3 : 0;
			u128 base = i && suffixes[i][1] == 'B' ? 1000 : 1024;

			for (mult = 1, k = 0; k < power; k++)
				mult *= base;
		}
	want = ref_digits(s, n);
	if (!n || !mult) {
		/* bad, and overflowing before the bad suffix: either will do */
		PROPERTY(err == -EINVAL || (err == -ERANGE && (n > 23 || want > UINT64_MAX)),
			 "size '%s': %d, want -EINVAL", s, err);
		return;
	}
	want *= mult;
	if (want > UINT64_MAX) {
		PROPERTY(err == -ERANGE, "size '%s': %d, want -ERANGE", s, err);
		return;
	}
#ifdef FUZZ_TOLERATE_KNOWN
	/* reported: more than 23 digits (leading zeros) is -ERANGE */
	if (n > 23 && err == -ERANGE)
		return;
#endif
	PROPERTY(!err && v == (uint64_t)want, "size '%s': %d %llu", s, err, (unsigned long long)v);
	if (!s[n]) {
		/* printed back: the same digits but leading zeros */
		char buf[32];
		const char *d = s + strspn(s, "0");

		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
		PROPERTY(!strcmp(buf, *d ? d : "0"), "size '%s' printed as %s", s, buf);
	}
}

static void check_prefix(const char *s)
{
	struct netfil_match m = {}, m2 = {};
	char buf[128], addr[64];
	uint8_t raw[16];
	int err = netfil_parse_prefix(s, &m), err2, fam, i;
	const char *slash = strchr(s, '/');

	/* what inet_pton and a length would say */
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
	fam = strlen(s) < 54 && inet_pton(AF_INET, addr, raw) == 1 ? AF_INET :
	      strlen(s) < 54 && inet_pton(AF_INET6, addr, raw) == 1 ? AF_INET6 : 0;
	if (err) {
		PROPERTY(err == -EINVAL || err == -ERANGE, "prefix '%s': %d", s, err);
		PROPERTY(err != -ERANGE || (fam && slash), "prefix '%s': ERANGE", s);
		return;
	}
	PROPERTY(fam == m.family, "prefix '%s': family %d, inet_pton says %d", s, m.family, fam);
	PROPERTY(m.kind == NETFIL_IP, "kind %d", m.kind);
	PROPERTY(m.prefixlen >= 0 && m.prefixlen <= (m.family == AF_INET ? 32 : 128),
		 "prefix '%s': length %d", s, m.prefixlen);
	for (i = 0; i < 16; i++) {
		int bits = m.prefixlen - i * 8;

		if (bits < 8)
			PROPERTY(!(m.addr[i] & (bits <= 0 ? 0xff : 0xff >> bits)),
				 "prefix '%s': host bits in byte %d", s, i);
	}
	PROPERTY(!netfil_format_prefix(&m, buf, sizeof(buf)), "format '%s'", s);
	err2 = netfil_parse_prefix(buf, &m2);
	PROPERTY(!err2 && m2.family == m.family && m2.prefixlen == m.prefixlen &&
		 !memcmp(m2.addr, m.addr, 16), "prefix '%s' -> '%s' reads back differently", s, buf);
}

/* Words of s (split at blanks, at most 32) after a leading "period". */
static int split(char *s, char **argv, int max)
{
	char *save, *tok;
	int n = 0;

	for (tok = strtok_r(s, " \t\n", &save); tok && n < max; tok = strtok_r(NULL, " \t\n", &save))
		argv[n++] = tok;
	return n;
}

static void check_period(const char *s)
{
	struct netfil_filter f = { .match.kind = NETFIL_IP }, g = { .match.kind = NETFIL_IP };
	char *copy = strdup(s), text[160], *argv[33], *argv2[16];
	struct netfil_err e = {};
	const struct netfil_period *p = &f.period, *q = &g.period;
	int argc, r, r2;

	if (!copy)
		return;
	argv[0] = (char *)"period";
	argc = 1 + split(copy, argv + 1, 32);
	r = netfil_parse_filter_opts(argc, argv, &f, NETFIL_OPT_STATE, &e);
	if (r < 0) {
		PROPERTY(r == -EINVAL, "opts '%s': %d", s, r);
		PROPERTY_MSG(e.msg, s);
		goto out;
	}
	PROPERTY(r <= argc, "%d words used of %d", r, argc);
	PROPERTY((unsigned int)p->every <= NETFIL_MONTHLY, "every %d", p->every);
	if (p->every == NETFIL_PERIOD_NONE)
		goto out;
	PROPERTY(p->minute >= 0 && p->minute <= 59 && p->hour >= 0 && p->hour <= 23 &&
		 p->wday >= 0 && p->wday <= 6 && p->mday >= 1 && p->mday <= 31,
		 "'%s': period out of range: %d:%d wday %d mday %d", s, p->hour, p->minute,
		 p->wday, p->mday);
	snprintf(text, sizeof(text), "period ");
	netfil_format_period(p, text + 7, sizeof(text) - 7);
	r2 = netfil_parse_filter_opts(split(text, argv2, 16), argv2, &g, NETFIL_OPT_STATE, &e);
	PROPERTY(r2 > 0, "'%s' formatted as '%s' is refused: %s", s, text, e.msg);
	PROPERTY(p->every == q->every && p->minute == q->minute &&
		 (p->every == NETFIL_HOURLY || p->hour == q->hour) &&
		 (p->every != NETFIL_WEEKLY || p->wday == q->wday) &&
		 (p->every != NETFIL_MONTHLY || p->mday == q->mday),
		 "'%s' -> '%s' reads back differently", s, text);
out:
	free(copy);
}

static void check_time(const char *s)
{
	int64_t t;
	int err = netfil_parse_time(s, &t);

	PROPERTY(!err || err == -EINVAL, "time '%s': %d", s, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t max;
	char *s;

	if (size < 1 || size > 512)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	if (!s)
		return 0;
	switch (data[0] % 5) {
	case 0:
		check_size(s);
		break;
	case 1:
		/* the limits netfil uses, and one from the data */
		max = data[0] < 64 ? UINT64_MAX : data[0] < 128 ? UINT32_MAX :
		      data[0] < 192 ? 59 : (uint64_t)data[0] * 1000003;
		check_number(s, max);
		break;
	case 2:
		check_prefix(s);
		break;
	case 3:
		check_period(s);
		break;
	default:
		check_time(s);
		break;
	}
	free(s);
	return 0;
}
