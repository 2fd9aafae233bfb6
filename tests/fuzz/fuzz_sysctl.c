// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfil_sysctl_parse() on any string.  Properties: a key read names
 * exactly one key; a group (-ENOENT) has no '='; every refusal has a
 * message; a KEY=VALUE that parses, shown again as sysctl shows it
 * (netfil_sysctl_value), parses to the same value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include "netfil.h"
#include "fuzz.h"
#include "../unit/filter_cmp.h"

static void check(const char *s)
{
	struct netfil_sysctl_arg a, b;
	struct netfil_filter f = {}, g = {};
	struct netfil_err e = {};
	char name[64], val[512], again[600];
	const char *d;
	int r = netfil_sysctl_parse(s, &a, &e);

	if (r == -ENOENT) {
		PROPERTY(!strchr(s, '=') && *s, "group '%s'", s);
		return;
	}
	if (r) {
		PROPERTY(r == -EINVAL, "'%s': %d", s, r);
		PROPERTY_MSG(e.msg, s);
		return;
	}
	PROPERTY(a.kind >= NETFIL_SOCKET && a.kind <= NETFIL_IFACE && a.key < NETFIL_SYSCTL_NKEYS,
		 "'%s': kind %d key %d", s, a.kind, a.key);
	PROPERTY(!netfil_sysctl_key_name(a.kind, a.key, name, sizeof(name)), "name");
	PROPERTY(!strncmp(s, name, strlen(name)) && s[strlen(name)] == (a.has_value ? '=' : '\0'),
		 "'%s' parsed as key %s", s, name);
	if (!a.has_value)
		return;
	PROPERTY(a.key < NETFIL_SYSCTL_ID, "'%s': a value for a read-only key", s);
	/* the filter this value would make, shown and read back */
	f.match = a.match;
	f.limit[0] = f.limit[1] = f.limit[2] = a.size;
	f.on = a.on;
	if (a.key == NETFIL_SYSCTL_MATCH)
		PROPERTY(a.match.kind == a.kind, "'%s': match kind %d", s, a.match.kind);
	PROPERTY(!netfil_sysctl_value(&f, a.key, val, sizeof(val)), "value");
	snprintf(again, sizeof(again), "%s=%s", name, val);
	r = netfil_sysctl_parse(again, &b, &e);
	PROPERTY(!r, "'%s' shown as '%s' is refused: %s", s, again, e.msg);
	PROPERTY(b.kind == a.kind && b.key == a.key && b.has_value, "'%s' -> '%s'", s, again);
	g.match = b.match;
	g.limit[0] = g.limit[1] = g.limit[2] = b.size;
	g.on = b.on;
	d = filter_diff(&f, &g);
	PROPERTY(!d, "'%s' -> '%s': %s differs", s, again, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 1024)
		return 0;
	s = fuzz_str(data, size);
	if (s)
		check(s);
	free(s);
	return 0;
}
