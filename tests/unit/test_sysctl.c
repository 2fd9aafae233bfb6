// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sysctl keys (lib/sysctl.c): names, values, and refusals that name
 * the bad key or value.  The interface tests use "lo", which every
 * network namespace has. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "netfil.h"
#include "unit.h"

static void test_key_names(void)
{
	static const char *const kinds[4] = { NULL, "socket", "ip", "interface" };
	char name[64], seen[3 * NETFIL_SYSCTL_NKEYS][64];
	struct netfil_sysctl_arg a;
	struct netfil_err e;
	int kind, k, i, n = 0;

	for (kind = NETFIL_SOCKET; kind <= NETFIL_IFACE; kind++)
		for (k = 0; k < NETFIL_SYSCTL_NKEYS; k++) {
			if (!ASSERT_OK(netfil_sysctl_key_name((enum netfil_kind)kind,
							      (enum netfil_sysctl_key)k,
							      name, sizeof(name)), "key name"))
				continue;
			ASSERT_TRUE(!strncmp(name, "net.netfil.", 11) &&
				    !strncmp(name + 11, kinds[kind], strlen(kinds[kind])),
				    "'%s' is net.netfil.%s.*", name, kinds[kind]);
			for (i = 0; i < n; i++)
				ASSERT_TRUE(strcmp(seen[i], name), "'%s' twice", name);
			strcpy(seen[n++], name);
			/* each name reads back as itself */
			if (ASSERT_OK(netfil_sysctl_parse(name, &a, &e), name)) {
				ASSERT_EQ(a.kind, kind, "kind");
				ASSERT_EQ(a.key, k, "key");
				ASSERT_EQ(a.has_value, false, "no value");
			}
		}
	/* sysctl -a shows 36 keys (tests/e2e.sh) */
	ASSERT_EQ(n, 36, "keys");
	netfil_sysctl_key_name(NETFIL_IP, NETFIL_SYSCTL_MATCH, name, sizeof(name));
	ASSERT_STREQ(name, "net.netfil.ip.addr", "ip match");
	netfil_sysctl_key_name(NETFIL_SOCKET, NETFIL_SYSCTL_MATCH, name, sizeof(name));
	ASSERT_STREQ(name, "net.netfil.socket.pid", "socket match");
	netfil_sysctl_key_name(NETFIL_IFACE, NETFIL_SYSCTL_MATCH, name, sizeof(name));
	ASSERT_STREQ(name, "net.netfil.interface.list", "interface match");
	netfil_sysctl_key_name(NETFIL_IFACE, NETFIL_SYSCTL_EXCEEDED_OUT, name, sizeof(name));
	ASSERT_STREQ(name, "net.netfil.interface.exceeded_out", "last key");
	ASSERT_EQ(netfil_sysctl_key_name((enum netfil_kind)0, NETFIL_SYSCTL_ID, name, sizeof(name)),
		  -EINVAL, "no kind 0");
	ASSERT_EQ(netfil_sysctl_key_name((enum netfil_kind)4, NETFIL_SYSCTL_ID, name, sizeof(name)),
		  -EINVAL, "no kind 4");
	ASSERT_EQ(netfil_sysctl_key_name(NETFIL_IP, NETFIL_SYSCTL_NKEYS, name, sizeof(name)),
		  -EINVAL, "no such key");
	ASSERT_EQ(netfil_sysctl_key_name(NETFIL_IP, NETFIL_SYSCTL_ID, name, 10), -ENOSPC, "cut");
}

static void test_values(void)
{
	struct netfil_sysctl_arg a;
	struct netfil_err e = {};
	char arg[64];

	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.ibyte=1M", &a, &e), e.msg)) {
		ASSERT_EQ(a.kind, NETFIL_IP, "kind");
		ASSERT_EQ(a.key, NETFIL_SYSCTL_IBYTE, "key");
		ASSERT_EQ(a.has_value, true, "value");
		ASSERT_EQ_U64(a.size, 1048576, "size");
	}
	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.interface.iobyte=18446744073709551615", &a, &e), e.msg))
		ASSERT_EQ_U64(a.size, UINT64_MAX, "largest size");
	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.socket.obyte=0", &a, &e), e.msg))
		ASSERT_EQ(a.key, NETFIL_SYSCTL_OBYTE, "obyte");
	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.addr=10.1.2.3/8", &a, &e), e.msg)) {
		ASSERT_EQ(a.key, NETFIL_SYSCTL_MATCH, "match key");
		ASSERT_EQ(a.match.kind, NETFIL_IP, "match kind");
		ASSERT_EQ(a.match.family, AF_INET, "family");
		ASSERT_EQ(a.match.prefixlen, 8, "prefix");
		ASSERT_EQ(a.match.addr[1], 0, "host bits cleared");
	}
	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.addr=fd77::2", &a, &e), e.msg))
		ASSERT_EQ(a.match.family, AF_INET6, "ipv6");
	snprintf(arg, sizeof(arg), "net.netfil.socket.pid=%d", getpid());
	if (ASSERT_OK(netfil_sysctl_parse(arg, &a, &e), e.msg)) {
		ASSERT_EQ(a.match.kind, NETFIL_SOCKET, "socket");
		ASSERT_EQ(a.match.pid, getpid(), "pid");
		ASSERT_EQ(a.match.by, NETFIL_BY_PID, "not a tree");
	}
	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.interface.list=lo", &a, &e), e.msg)) {
		ASSERT_EQ(a.match.kind, NETFIL_IFACE, "interface");
		ASSERT_EQ(a.match.n_ifaces, 1, "one interface");
		ASSERT_STREQ(a.match.ifaces[0], "lo", "lo");
		ASSERT_EQ(a.match.allow_missing, false, "no --allow-missing");
	}
	ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.status=1", &a, &e), "status=1");
	ASSERT_EQ(a.on, true, "1 is on");
	ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.status=on", &a, &e), "status=on");
	ASSERT_EQ(a.on, true, "on");
	ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.status=0", &a, &e), "status=0");
	ASSERT_EQ(a.on, false, "0 is off");
	ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.status=off", &a, &e), "status=off");
	ASSERT_EQ(a.on, false, "off");
	/* a read of a read-only key is fine */
	if (ASSERT_OK(netfil_sysctl_parse("net.netfil.ip.bytes_in", &a, &e), "read-only read"))
		ASSERT_EQ(a.key, NETFIL_SYSCTL_BYTES_IN, "bytes_in");
}

static void test_groups(void)
{
	static const char *const groups[] = { "net", "net.netfil", "net.netfil.",
					      "net.netfil.i", "net.netfil.ip",
					      "net.netfil.socket", "net.netfil.interface" };
	struct netfil_sysctl_arg a;
	struct netfil_err e;
	size_t i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		ASSERT_TRUE(netfil_sysctl_parse(groups[i], &a, &e) == -ENOENT,
			    "'%s' is a group", groups[i]);
	/* a group with a value, or past a kind, is no key */
	ASSERT_EQ(netfil_sysctl_parse("net.netfil.ip=1", &a, &e), -EINVAL, "group=value");
	ASSERT_CONTAINS(e.msg, "net.netfil.ip", "message");
	ASSERT_EQ(netfil_sysctl_parse("net.netfil.ip.", &a, &e), -EINVAL, "kind.");
	ASSERT_EQ(netfil_sysctl_parse("", &a, &e), -EINVAL, "empty");
	ASSERT_EQ(netfil_sysctl_parse("-a", &a, &e), -EINVAL, "-a is the front end's");
}

struct bad_arg {
	const char *arg;
	const char *tokens[2];
};

static const struct bad_arg bad_args[] = {
	{ "net.netfil.ip.nosuch=1", { "net.netfil.ip.nosuch" } },
	{ "net.netfil.ip.nosuch", { "net.netfil.ip.nosuch" } },
	{ "net.netfil.ipx.ibyte=1", { "net.netfil.ipx.ibyte" } },
	{ "net.netfil.ip.IBYTE=1", { "net.netfil.ip.IBYTE" } },
	{ "net.netfil.ip.ibyte =1", { "net.netfil.ip.ibyte " } },
	{ "=1", { "''" } },
	{ "net.netfil.ip.ibyte=12parsecs", { "12parsecs", "net.netfil.ip.ibyte" } },
	{ "net.netfil.ip.ibyte=", { "''", "net.netfil.ip.ibyte" } },
	{ "net.netfil.ip.ibyte=-1", { "'-1'" } },
	{ "net.netfil.ip.ibyte= 1", { "' 1'" } },
	{ "net.netfil.ip.obyte=18446744073709551616", { "18446744073709551616", "overflows" } },
	{ "net.netfil.ip.iobyte=18446744073709551615K", { "18446744073709551615K", "overflows" } },
	{ "net.netfil.ip.ibyte=1Q", { "1Q" } },
	{ "net.netfil.ip.ibyte=1==", { "1==" } },
	{ "net.netfil.ip.status=2", { "'2'", "net.netfil.ip.status" } },
	{ "net.netfil.ip.status=maybe", { "maybe" } },
	{ "net.netfil.ip.status=", { "''" } },
	{ "net.netfil.ip.status=ON", { "ON" } },
	{ "net.netfil.ip.bytes_in=5", { "net.netfil.ip.bytes_in", "read-only" } },
	{ "net.netfil.socket.id=1", { "net.netfil.socket.id", "read-only" } },
	{ "net.netfil.interface.exceeded_out=0", { "net.netfil.interface.exceeded_out" } },
	{ "net.netfil.ip.addr=1.2.3", { "1.2.3", "net.netfil.ip.addr" } },
	{ "net.netfil.ip.addr=10.0.0.0/33", { "10.0.0.0/33" } },
	{ "net.netfil.ip.addr=10.0.0.0/4294967304", { "10.0.0.0/4294967304" } },
	{ "net.netfil.ip.addr=", { "''" } },
	{ "net.netfil.socket.pid=999999999", { "999999999" } },
	{ "net.netfil.socket.pid=0", { "'0'" } },
	{ "net.netfil.socket.pid=-1", { "'-1'" } },
	{ "net.netfil.socket.pid=4294967297", { "4294967297" } },
	{ "net.netfil.socket.pid=x", { "'x'" } },
	{ "net.netfil.interface.list=nosuchif2", { "nosuchif2", "net.netfil.interface.list" } },
	{ "net.netfil.interface.list=lo,nosuchif3", { "nosuchif3" } },
	{ "net.netfil.interface.list=lo,,eth0", { "empty interface name", "lo,,eth0" } },
	{ "net.netfil.interface.list=,lo", { "empty interface name", ",lo" } },
	{ "net.netfil.interface.list=lo,lo", { "twice", "'lo'" } },
	{ "net.netfil.interface.list=abcdefghijklmnop", { "abcdefghijklmnop" } },
	{ "net.netfil.interface.list=", { "''" } },
};

static void check_bad(const void *arg)
{
	const struct bad_arg *b = arg;
	struct netfil_sysctl_arg a;
	struct netfil_err e = {};

	if (!ASSERT_EQ(netfil_sysctl_parse(b->arg, &a, &e), -EINVAL, "refused"))
		return;
	ASSERT_CONTAINS(e.msg, b->tokens[0], "message");
	if (b->tokens[1])
		ASSERT_CONTAINS(e.msg, b->tokens[1], "message");
}

/* What sysctl shows for the writable keys reads back as what was set. */
static void test_value_round_trip(void)
{
	struct netfil_filter f = { .id = 7, .on = true, .limit = { 1, UINT64_MAX, 0 },
				   .bytes = { 5, 6 }, .dropped = { 7, 8 },
				   .exceeded = { false, true } };
	struct netfil_sysctl_arg a;
	struct netfil_err e = {};
	char val[512], arg[600];
	int k;

	netfil_parse_prefix("2001:db8::/32", &f.match);
	for (k = 0; k < NETFIL_SYSCTL_NKEYS; k++) {
		char name[64];

		netfil_sysctl_key_name(NETFIL_IP, (enum netfil_sysctl_key)k, name, sizeof(name));
		ASSERT_OK(netfil_sysctl_value(&f, (enum netfil_sysctl_key)k, val, sizeof(val)), name);
		if (k >= NETFIL_SYSCTL_ID)
			continue;
		snprintf(arg, sizeof(arg), "%s=%s", name, val);
		if (!ASSERT_OK(netfil_sysctl_parse(arg, &a, &e), e.msg))
			continue;
		if (k == NETFIL_SYSCTL_MATCH)
			ASSERT_TRUE(a.match.family == f.match.family &&
				    a.match.prefixlen == f.match.prefixlen &&
				    !memcmp(a.match.addr, f.match.addr, 16), "%s", arg);
		else if (k == NETFIL_SYSCTL_STATUS)
			ASSERT_EQ(a.on, f.on, arg);
		else
			ASSERT_EQ_U64(a.size, f.limit[k - NETFIL_SYSCTL_IBYTE], arg);
	}
	netfil_sysctl_value(&f, NETFIL_SYSCTL_MATCH, val, sizeof(val));
	ASSERT_STREQ(val, "2001:db8::/32", "ip value");
	netfil_sysctl_value(&f, NETFIL_SYSCTL_OBYTE, val, sizeof(val));
	ASSERT_STREQ(val, "18446744073709551615", "obyte value");
	netfil_sysctl_value(&f, NETFIL_SYSCTL_ID, val, sizeof(val));
	ASSERT_STREQ(val, "7", "id value");
	netfil_sysctl_value(&f, NETFIL_SYSCTL_DROPPED_OUT, val, sizeof(val));
	ASSERT_STREQ(val, "8", "dropped_out value");
	netfil_sysctl_value(&f, NETFIL_SYSCTL_EXCEEDED_OUT, val, sizeof(val));
	ASSERT_STREQ(val, "1", "exceeded_out value");
	netfil_sysctl_value(&f, NETFIL_SYSCTL_EXCEEDED_IN, val, sizeof(val));
	ASSERT_STREQ(val, "0", "exceeded_in value");

	f.match = (struct netfil_match){ .kind = NETFIL_SOCKET, .pid = 4242, .by = NETFIL_BY_TREE };
	netfil_sysctl_value(&f, NETFIL_SYSCTL_MATCH, val, sizeof(val));
	ASSERT_STREQ(val, "4242", "socket value");
	f.match = (struct netfil_match){ .kind = NETFIL_IFACE, .n_ifaces = 2,
					 .ifaces = { "vba", "lo" } };
	netfil_sysctl_value(&f, NETFIL_SYSCTL_MATCH, val, sizeof(val));
	ASSERT_STREQ(val, "vba,lo", "interface value");
	/* no filter yet */
	netfil_sysctl_value(NULL, NETFIL_SYSCTL_MATCH, val, sizeof(val));
	ASSERT_STREQ(val, "", "no match");
	netfil_sysctl_value(NULL, NETFIL_SYSCTL_IBYTE, val, sizeof(val));
	ASSERT_STREQ(val, "0", "no limit");
	netfil_sysctl_value(NULL, NETFIL_SYSCTL_STATUS, val, sizeof(val));
	ASSERT_STREQ(val, "0", "no status");
	ASSERT_EQ(netfil_sysctl_value(NULL, NETFIL_SYSCTL_NKEYS, val, sizeof(val)), -EINVAL, "bad key");
}

int main(void)
{
	char name[320];
	size_t i;

	RUN_TEST(test_key_names);
	RUN_TEST(test_values);
	RUN_TEST(test_groups);
	for (i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		snprintf(name, sizeof(name), "sysctl refuses '%s'", unit_visible(bad_args[i].arg));
		RUN_ROW(name, check_bad, &bad_args[i]);
	}
	RUN_TEST(test_value_round_trip);
	return TEST_SUMMARY();
}
