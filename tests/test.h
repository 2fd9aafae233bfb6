/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Minimal test harness in the style of the kernel's selftests/bpf. */
#ifndef NETFIL_TEST_H
#define NETFIL_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed;
static const char *test_name;

#define ASSERT_TRUE(cond, fmt, ...) ({						\
	int ___ok = !!(cond);							\
	if (!___ok) {								\
		test_cur_failed++;						\
		fprintf(stderr, "  FAIL %s:%d %s: " fmt "\n", __FILE__,	\
			__LINE__, #cond, ##__VA_ARGS__);			\
	}									\
	___ok;									\
})
#define ASSERT_EQ(a, b, what) ({						\
	long long ___a = (long long)(a), ___b = (long long)(b);			\
	ASSERT_TRUE(___a == ___b, "%s: got %lld, want %lld", what, ___a, ___b);	\
})
#define ASSERT_OK(err, what) ASSERT_EQ(err, 0, what)

/* One test under a name of the caller's (a table row, say). */
#define RUN_NAMED(name, call) do {						\
	test_name = (name);							\
	test_cur_failed = 0;							\
	call;									\
	if (test_cur_failed) {							\
		test_failed++;							\
		printf("FAIL %s\n", test_name);					\
	} else {								\
		test_passed++;							\
		printf("ok   %s\n", test_name);					\
	}									\
} while (0)
#define RUN_TEST(fn) RUN_NAMED(#fn, fn())

#define TEST_SUMMARY() ({							\
	printf("%d passed, %d failed\n", test_passed, test_failed);		\
	test_failed ? 1 : 0;							\
})

#endif
