// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Sizes, numbers and prefixes at their edges. */
#include <arpa/inet.h>
#include <errno.h>
#include "netfil.h"
#include "unit.h"

struct num_case {
	const char *s;
	int err;
	uint64_t v;
};

static void check_size(const void *arg)
{
	const struct num_case *c = arg;
	uint64_t v = 0xdeadbeef;
	int err = netfil_parse_size(c->s, &v);

	ASSERT_EQ(err, c->err, "error");
	if (!c->err)
		ASSERT_EQ_U64(v, c->v, "bytes");
	else
		ASSERT_EQ_U64(v, 0xdeadbeef, "output untouched on error");
}

static const struct num_case sizes[] = {
	{ "0", 0, 0 },
	{ "1", 0, 1 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "99999999999999999999", -ERANGE, 0 },
	{ "184467440737095516150", -ERANGE, 0 },
	{ "18446744073709551615K", -ERANGE, 0 },
	{ "18014398509481983K", 0, 18014398509481983ULL * 1024 },
	{ "18014398509481984K", -ERANGE, 0 },
	{ "16777215T", 0, 16777215ULL << 40 },
	{ "16777216T", -ERANGE, 0 },
	{ "18446744TB", 0, 18446744ULL * 1000000000000ULL },
	{ "18446745TB", -ERANGE, 0 },
	{ "1K", 0, 1024 }, { "1KiB", 0, 1024 }, { "1KB", 0, 1000 },
	{ "1M", 0, 1048576 }, { "1MiB", 0, 1048576 }, { "1MB", 0, 1000000 },
	{ "1G", 0, 1ULL << 30 }, { "1GB", 0, 1000000000 },
	{ "1T", 0, 1ULL << 40 }, { "1TiB", 0, 1ULL << 40 }, { "1TB", 0, 1000000000000ULL },
	{ "0K", 0, 0 }, { "0T", 0, 0 },
	{ "007", 0, 7 },
	/* leading zeros do not change the number, here as in every number */
	{ "0000000000000000000000001", 0, 1 },
	{ "1k", -EINVAL, 0 }, { "1m", -EINVAL, 0 }, { "1kb", -EINVAL, 0 },
	{ "1Kib", -EINVAL, 0 }, { "1KIB", -EINVAL, 0 }, { "1Kb", -EINVAL, 0 },
	{ "1P", -EINVAL, 0 }, { "1B", -EINVAL, 0 }, { "1KK", -EINVAL, 0 },
	{ "1KiBB", -EINVAL, 0 },
	{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "-0", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 }, { "1 K", -EINVAL, 0 },
	{ "\t1", -EINVAL, 0 }, { "1\n", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 }, { "1.5M", -EINVAL, 0 }, { "1e3", -EINVAL, 0 },
	{ "1,000", -EINVAL, 0 }, { "1_000", -EINVAL, 0 },
	{ "12parsecs", -EINVAL, 0 },
};

static void check_number(const void *arg)
{
	const struct num_case *c = arg;
	uint64_t v = 0xdeadbeef;
	int err = netfil_parse_number(c->s, UINT64_MAX, &v);

	ASSERT_EQ(err, c->err, "error");
	if (!c->err)
		ASSERT_EQ_U64(v, c->v, "value");
}

static const struct num_case numbers[] = {
	{ "0", 0, 0 }, { "00", 0, 0 }, { "007", 0, 7 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "018446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "18446744073709551620", -ERANGE, 0 },
	{ "36893488147419103232", -ERANGE, 0 },	/* 2^65: no wrap to 0 */
	{ "", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 },
	{ "-0", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 }, { "1K", -EINVAL, 0 }, { "1.0", -EINVAL, 0 },
	{ "٣", -EINVAL, 0 },	/* a digit, but not an ASCII one */
};

static void test_number_max(void)
{
	uint64_t v;
	uint32_t u;

	ASSERT_EQ(netfil_parse_number(NULL, 10, &v), -EINVAL, "NULL");
	ASSERT_EQ(netfil_parse_number("4", 4, &v), 0, "at max");
	ASSERT_EQ(v, 4, "value at max");
	ASSERT_EQ(netfil_parse_number("5", 4, &v), -ERANGE, "past max");
	ASSERT_EQ(netfil_parse_number("0", 0, &v), 0, "max 0");
	ASSERT_EQ(netfil_parse_number("1", 0, &v), -ERANGE, "past max 0");
	ASSERT_EQ(netfil_parse_number("4294967295", UINT32_MAX, &v), 0, "u32 max");
	ASSERT_EQ(netfil_parse_number("4294967296", UINT32_MAX, &v), -ERANGE, "u32 max + 1");

	ASSERT_EQ(netfil_parse_u32("0", &u), 0, "u32 0");
	ASSERT_EQ(u, 0, "u32 0 value");
	ASSERT_EQ(netfil_parse_u32("4294967295", &u), 0, "u32 max");
	ASSERT_EQ_U64(u, UINT32_MAX, "u32 max value");
	/* never wrapped: 2^32 + 1 is not 1 */
	ASSERT_EQ(netfil_parse_u32("4294967296", &u), -EINVAL, "u32 2^32");
	ASSERT_EQ(netfil_parse_u32("4294967297", &u), -EINVAL, "u32 2^32 + 1");
	ASSERT_EQ(netfil_parse_u32("18446744073709551617", &u), -EINVAL, "u32 2^64 + 1");
	ASSERT_EQ(netfil_parse_u32("-1", &u), -EINVAL, "u32 -1");
	ASSERT_EQ(netfil_parse_u32(" 1", &u), -EINVAL, "u32 blank");
	ASSERT_EQ(netfil_parse_u32("", &u), -EINVAL, "u32 empty");
	ASSERT_EQ(netfil_parse_u32("0x10", &u), -EINVAL, "u32 hex");
}

struct prefix_case {
	const char *s;
	int err;
	int family, len;
	const char *fmt;	/* netfil_format_prefix() of the result */
};

static void check_prefix(const void *arg)
{
	const struct prefix_case *c = arg;
	struct netfil_match m = {}, m2 = {};
	uint8_t want[16] = {};
	char buf[64] = "";
	int err = netfil_parse_prefix(c->s, &m);

	ASSERT_EQ(err, c->err, "error");
	if (c->err)
		return;
	ASSERT_EQ(m.kind, NETFIL_IP, "kind");
	ASSERT_EQ(m.family, c->family, "family");
	ASSERT_EQ(m.prefixlen, c->len, "prefix length");
	ASSERT_OK(netfil_format_prefix(&m, buf, sizeof(buf)), "format");
	ASSERT_STREQ(buf, c->fmt, "formatted");
	/* the formatted text reads back to the same prefix */
	ASSERT_OK(netfil_parse_prefix(buf, &m2), "reparse");
	ASSERT_TRUE(m2.family == m.family && m2.prefixlen == m.prefixlen &&
		    !memcmp(m2.addr, m.addr, 16), "'%s' reads back differently", buf);
	/* host bits cleared, and nothing past the address family's bytes */
	snprintf(buf, sizeof(buf), "%s", c->fmt);
	if (strchr(buf, '/'))
		*strchr(buf, '/') = '\0';
	inet_pton(c->family, buf, want);
	ASSERT_TRUE(!memcmp(m.addr, want, 16), "address bytes of '%s'", c->s);
}

static const struct prefix_case prefixes[] = {
	{ "10.0.0.0/8", 0, AF_INET, 8, "10.0.0.0/8" },
	{ "10.1.2.3/8", 0, AF_INET, 8, "10.0.0.0/8" },
	{ "10.255.255.255/9", 0, AF_INET, 9, "10.128.0.0/9" },
	{ "255.255.255.255/31", 0, AF_INET, 31, "255.255.255.254/31" },
	{ "1.2.3.4", 0, AF_INET, 32, "1.2.3.4" },
	{ "1.2.3.4/32", 0, AF_INET, 32, "1.2.3.4" },
	{ "1.2.3.4/0", 0, AF_INET, 0, "0.0.0.0/0" },
	{ "0.0.0.0/0", 0, AF_INET, 0, "0.0.0.0/0" },
	{ "10.0.0.0/08", 0, AF_INET, 8, "10.0.0.0/8" },
	{ "10.0.0.0/33", -ERANGE, 0, 0, NULL },
	{ "10.0.0.0/4294967304", -ERANGE, 0, 0, NULL },	/* not 8 */
	{ "10.0.0.0/18446744073709551624", -ERANGE, 0, 0, NULL },
	{ "::", 0, AF_INET6, 128, "::" },
	{ "::/0", 0, AF_INET6, 0, "::/0" },
	{ "2001:db8::1", 0, AF_INET6, 128, "2001:db8::1" },
	{ "2001:db8::1/128", 0, AF_INET6, 128, "2001:db8::1" },
	{ "2001:db8::1/64", 0, AF_INET6, 64, "2001:db8::/64" },
	{ "2001:db8:ffff::/33", 0, AF_INET6, 33, "2001:db8:8000::/33" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127", 0, AF_INET6, 127,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127" },
	{ "::ffff:1.2.3.4", 0, AF_INET6, 128, "::ffff:1.2.3.4" },
	{ "2001:db8::/129", -ERANGE, 0, 0, NULL },
	{ "", -EINVAL, 0, 0, NULL },
	{ "/8", -EINVAL, 0, 0, NULL },
	{ "1.2.3", -EINVAL, 0, 0, NULL },
	{ "1.2.3.4.5", -EINVAL, 0, 0, NULL },
	{ "1.2.3.256", -EINVAL, 0, 0, NULL },
	{ "01.2.3.4", -EINVAL, 0, 0, NULL },
	{ " 1.2.3.4", -EINVAL, 0, 0, NULL },
	{ "1.2.3.4 ", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/-1", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/+8", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/ 8", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/0x8", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/8/8", -EINVAL, 0, 0, NULL },
	{ "10.0.0.0/8 ", -EINVAL, 0, 0, NULL },
	{ "fe80::1%lo", -EINVAL, 0, 0, NULL },
	{ "2001:db8::1/64/", -EINVAL, 0, 0, NULL },
	{ "0000:0000:0000:0000:0000:0000:0000:0000:0000/1", -EINVAL, 0, 0, NULL },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 and then some more text", -EINVAL, 0, 0, NULL },
};

static void test_format_prefix_errors(void)
{
	struct netfil_match m = { .kind = NETFIL_IP, .family = 12345 };
	char buf[64];

	ASSERT_TRUE(netfil_format_prefix(&m, buf, sizeof(buf)) < 0, "unknown family refused");
	ASSERT_EQ(netfil_parse_prefix(NULL, &m), -EINVAL, "NULL");
}

int main(void)
{
	char name[320];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "size '%s'", unit_visible(sizes[i].s));
		RUN_ROW(name, check_size, &sizes[i]);
	}
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		snprintf(name, sizeof(name), "number '%s'", unit_visible(numbers[i].s));
		RUN_ROW(name, check_number, &numbers[i]);
	}
	RUN_TEST(test_number_max);
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(name, sizeof(name), "prefix '%s'", prefixes[i].s);
		RUN_ROW(name, check_prefix, &prefixes[i]);
	}
	RUN_TEST(test_format_prefix_errors);
	return TEST_SUMMARY();
}
