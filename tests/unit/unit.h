/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the unit tests add to tests/test.h: table rows counted as tests of
 * their own, so that a failing row is named in the output. */
#ifndef NETFIL_UNIT_H
#define NETFIL_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "../test.h"

#define RUN_ROW(name, fn, arg) RUN_NAMED(name, fn(arg))

#define ASSERT_STREQ(a, b, what) ({						\
	const char *___a = (a), *___b = (b);					\
	ASSERT_TRUE(___a && ___b && !strcmp(___a, ___b),			\
		    "%s: got '%s', want '%s'", what, ___a ? ___a : "(null)",	\
		    ___b ? ___b : "(null)");					\
})
#define ASSERT_CONTAINS(hay, needle, what) ({					\
	const char *___h = (hay), *___n = (needle);				\
	ASSERT_TRUE(strstr(___h, ___n), "%s: '%s' does not name '%s'",		\
		    what, ___h, ___n);						\
})
/* ASSERT_EQ compares as long long: 64-bit unsigned values need their own. */
#define ASSERT_EQ_U64(a, b, what) ({						\
	unsigned long long ___a = (a), ___b = (b);				\
	ASSERT_TRUE(___a == ___b, "%s: got %llu, want %llu", what, ___a, ___b);	\
})

/* xorshift64*: the same pseudo-random sequence on every run. */
static inline uint64_t unit_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* s[0..n) with control characters (NUL too) as \xNN, for a row's name;
 * a static buffer. */
static inline const char *unit_visible_n(const char *s, size_t n)
{
	static char buf[256];
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? "\\x%02x" : "%c",
				      (unsigned char)s[i]);
	buf[o] = '\0';
	return buf;
}
#define unit_visible(s) unit_visible_n((s), strlen(s))

#endif
