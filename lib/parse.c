// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Parsing and formatting shared by every netfil front end. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/*
 * Every number netfil reads goes through here: decimal digits only, no
 * sign, no blanks, no trailing junk, and no more than max.  strtoull()
 * alone takes "-1" as 2^64 - 1 and " 7" as 7, which is how numbers used
 * to wrap into something else without a word.
 */
int netfil_parse_number(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (d > 9)
			return -EINVAL;
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (x > max)
		return -ERANGE;
	*v = x;
	return 0;
}

/* The number at the start of s and where it ends: the digits of a size. */
static size_t digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/*
 * A SIZE is a plain byte count or a number with a coreutils suffix:
 * K and KiB are 1024, KB is 1000, and likewise M, G and T.  Anything else,
 * a sign, a fraction or a value past 2^64 - 1, is refused rather than
 * guessed at.
 */
int netfil_parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	char num[24];
	uint64_t v, mult = 1;
	const char *u, *end;
	size_t n;
	int i, err;

	if (!s)
		return -EINVAL;
	n = digits(s);
	if (!n)
		return -EINVAL;
	end = s + n;
	while (n > 1 && *s == '0') {	/* leading zeros add no digits */
		s++;
		n--;
	}
	if (n >= sizeof(num))
		return -ERANGE;
	memcpy(num, s, n);
	num[n] = '\0';
	err = netfil_parse_number(num, UINT64_MAX, &v);
	if (err)
		return err;
	if (*end) {
		u = strchr(units, end[0]);
		if (!u)
			return -EINVAL;
		if (!strcmp(end + 1, "") || !strcmp(end + 1, "iB")) {
			for (i = 0; i <= u - units; i++)
				mult *= 1024;
		} else if (!strcmp(end + 1, "B")) {
			for (i = 0; i <= u - units; i++)
				mult *= 1000;
		} else {
			return -EINVAL;
		}
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*bytes = v * mult;
	return 0;
}

/* An IPv4 or IPv6 address, with an optional /len.  Host bits past the
 * prefix are cleared, so 10.1.2.3/8 means 10.0.0.0/8. */
int netfil_parse_prefix(const char *s, struct netfil_match *m)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	int max, i;
	long len;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(m->addr, 0, sizeof(m->addr));
	if (inet_pton(AF_INET, buf, m->addr) == 1) {
		m->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, m->addr) == 1) {
		m->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	len = max;
	if (slash) {
		uint64_t v;
		int err = netfil_parse_number(slash + 1, (uint64_t)max, &v);

		if (err)
			return err;
		len = (long)v;
	}
	m->kind = NETFIL_IP;
	m->prefixlen = (int)len;
	for (i = 0; i < 16; i++) {
		int bits = (int)len - i * 8;

		if (bits <= 0)
			m->addr[i] = 0;
		else if (bits < 8)
			m->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
	return 0;
}

int netfil_format_prefix(const struct netfil_match *m, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int max = m->family == AF_INET ? 32 : 128;

	if (!inet_ntop(m->family, m->addr, a, sizeof(a))) {
		int err = -errno;

		if (len)	/* callers print buf whatever happened */
			buf[0] = '\0';
		return err;
	}
	if (m->prefixlen == max)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%d", a, m->prefixlen);
	return 0;
}

/* A thread id has a /proc entry too; netfil's processes are thread groups,
 * named by their leader's id. */
static bool is_tgid(int pid)
{
	char path[64], line[128];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Tgid:", 5)) {
			ok = atoi(line + 5) == pid;
			break;
		}
	fclose(f);
	return ok;
}

/* Field 22 of /proc/PID/stat.  The command name (field 2) may hold spaces
 * and parentheses, so fields are counted from its last ')'. */
int netfil_parse_user(const char *s, uint32_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uint64_t v;

	/* a number is a uid, with or without a passwd entry (containers) */
	if (!netfil_parse_number(s, 0xfffffffeu, &v)) {
		*uid = (uint32_t)v;
		return 0;
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	*uid = res->pw_uid;
	return 0;
}

void netfil_user_name(uint32_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (!getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", uid);
}

int netfil_proc_start(int pid, uint64_t *start)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	size_t n;
	FILE *f;
	int i;

	if (pid <= 0 || !is_tgid(pid))
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2])
		return -EIO;
	if (p[2] == 'Z' || p[2] == 'X')
		return -ESRCH;	/* a zombie opens no sockets and runs nothing */
	/* after ')': field 3 (state) ... field 22 (starttime) */
	for (i = 3; i <= 22; i++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	if (sscanf(p, " %llu", &v) != 1)
		return -EIO;
	*start = v;
	return 0;
}
