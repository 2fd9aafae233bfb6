/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared by the libFuzzer harnesses: a failed property prints what it
 * saw and aborts, which libFuzzer reports as a crash with the input. */
#ifndef NETFIL_FUZZ_H
#define NETFIL_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROPERTY(cond, ...) do {						\
	if (!(cond)) {								\
		fprintf(stderr, "property failed: %s: ", #cond);		\
		fprintf(stderr, __VA_ARGS__);					\
		fputc('\n', stderr);						\
		abort();							\
	}									\
} while (0)

/* An error message is one NUL-terminated line (but for a newline the
 * input itself holds, which a message quoting it shows). */
#define PROPERTY_MSG(msg, input) PROPERTY(memchr((msg), 0, sizeof(msg)) && (msg)[0] &&	\
					  (!strchr((msg), '\n') || strchr((input), '\n')),	\
					  "bad message '%.256s'", (msg))

/* data as a C string; NULL for an input holding a NUL, which no
 * front end can pass as one argument. */
static inline char *fuzz_str(const unsigned char *data, size_t size)
{
	char *s;

	if (memchr(data, 0, size))
		return NULL;
	s = malloc(size + 1);
	if (!s)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
