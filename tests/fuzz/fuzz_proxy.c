// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The proxy URL parser and every parser of what a proxy sends back
 * (lib/proxy.h).  The first byte picks one; the rest is its input.
 * Properties:
 *  - URLs: a refusal is -EINVAL with a one-line message; a URL that
 *    parses is formatted and parsed again to the same proxy, and its
 *    listing hides the password;
 *  - replies and responses: a parser never claims more bytes than it
 *    was given, and what it claims, given alone, parses the same (a
 *    message's end never depends on the bytes after it); an incomplete
 *    message stays incomplete, never an error, for every prefix;
 *  - addresses read back are the bytes they were read from (rebuilt
 *    with the builders).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include "netfil.h"
#include "proxy.h"
#include "fuzz.h"

static void check_url(const char *s)
{
	struct netfil_proxy p, q;
	struct netfil_err e = {};
	char buf[4 * NETFIL_URL_LEN];
	int r = netfil_proxy_parse(s, &p, &e);

	if (r) {
		PROPERTY(r == -EINVAL, "'%s': %d", s, r);
		PROPERTY_MSG(e.msg, s);
		return;
	}
	PROPERTY(p.kind == NETFIL_PROXY_SOCKS5 || p.kind == NETFIL_PROXY_HTTP, "'%s': kind", s);
	PROPERTY(p.host[0] && p.port, "'%s': host '%s' port %u", s, p.host, p.port);
	PROPERTY(p.kind == NETFIL_PROXY_SOCKS5 || !p.user[0], "'%s': user on http", s);
	netfil_proxy_format(&p, true, buf, sizeof(buf));
	if (strlen(buf) < NETFIL_URL_LEN) {
		r = netfil_proxy_parse(buf, &q, &e);
		PROPERTY(!r, "'%s' formatted as '%s' is refused: %s", s, buf, e.msg);
		PROPERTY(q.kind == p.kind && !strcmp(q.host, p.host) && q.port == p.port &&
			 !strcmp(q.user, p.user) && !strcmp(q.pass, p.pass),
			 "'%s' -> '%s' reads back otherwise", s, buf);
	}
	netfil_proxy_format(&p, false, buf, sizeof(buf));
	if (p.pass[0])
		PROPERTY(strstr(buf, ":***@"), "'%s': listing '%s' shows the password", s, buf);
}


/* An IPv6 address that the builders write as IPv4 (ATYP 1). */
static bool mapped(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static void check_socks(const uint8_t *d, size_t len)
{
	struct sockaddr_storage b, b2;
	uint8_t again[64];
	ssize_t n, m, k;
	size_t i;
	int meth;

	n = nf_socks_method_reply(d, len, &meth);
	PROPERTY(n <= (ssize_t)len && (n <= 0 || n == 2), "method reply %zd of %zu", n, len);
	n = nf_socks_auth_reply(d, len);
	PROPERTY(n <= (ssize_t)len && (n <= 0 || n == 2), "auth reply %zd of %zu", n, len);

	n = nf_socks_reply(d, len, &b);
	PROPERTY(n <= (ssize_t)len, "reply claims %zd of %zu", n, len);
	if (n > 0) {
		PROPERTY(nf_socks_reply(d, (size_t)n, &b2) == n, "reply: alone, otherwise");
		for (i = 0; i < (size_t)n; i++) {
			k = nf_socks_reply(d, i, &b2);
			PROPERTY(k == 0, "reply prefix %zu of %zd: %zd", i, n, k);
		}
		if (b.ss_family != AF_UNSPEC && !mapped(&b)) {
			/* a CONNECT to the bound address writes the same address bytes */
			m = nf_socks_request(again, sizeof(again), NF_SOCKS_CONNECT, (struct sockaddr *)&b);
			PROPERTY(m == n && !memcmp(again + 3, d + 3, (size_t)n - 3),
				 "reply address rebuilt differs");
		}
	} else if (!n) {
		for (i = 0; i < len; i++)
			PROPERTY(nf_socks_reply(d, i, &b2) == 0, "short reply: prefix %zu not short", i);
	}
}

static void check_udp(const uint8_t *d, size_t len)
{
	struct sockaddr_storage f;
	uint8_t again[NF_SOCKS_UDP_HDR_MAX];
	ssize_t n = nf_socks_udp_parse(d, len, &f), m;

	PROPERTY(n <= (ssize_t)len, "udp header claims %zd of %zu", n, len);
	PROPERTY(n > 0 || n == -EPROTO || n == -EOPNOTSUPP, "udp header: %zd", n);
	if (n <= 0)
		return;
	PROPERTY(nf_socks_udp_parse(d, (size_t)n, &f) == n, "udp header alone, otherwise");
	if (f.ss_family != AF_UNSPEC && !mapped(&f) && !d[0] && !d[1]) {
		m = nf_socks_udp_header(again, sizeof(again), (struct sockaddr *)&f);
		PROPERTY(m == n && !memcmp(again, d, (size_t)n), "udp header rebuilt differs");
	}
}

static void check_http(const uint8_t *d, size_t len)
{
	const char *s = (const char *)d;
	ssize_t n, k;
	int st = -1, st2;
	size_t i;

	n = nf_http_connect_response(s, len, &st);
	PROPERTY(n <= (ssize_t)len, "response claims %zd of %zu", n, len);
	PROPERTY(n >= 0 || n == -EPROTO || n == -EMSGSIZE || n == -ECONNREFUSED, "response: %zd", n);
	if (n == -ECONNREFUSED)
		PROPERTY(st >= 0 && st <= 999 && (st < 200 || st > 299), "refused with %d", st);
	if (n <= 0)
		return;
	PROPERTY(st >= 200 && st <= 299, "accepted with %d", st);
	PROPERTY(n >= 4 && !memcmp(s + n - 4, "\r\n\r\n", 4) && n <= NF_HTTP_HDR_MAX,
		 "header of %zd bytes", n);
	PROPERTY(nf_http_connect_response(s, (size_t)n, &st2) == n, "response alone, otherwise");
	for (i = 0; i < (size_t)n; i += 1 + i / 64) {
		k = nf_http_connect_response(s, i, &st2);
		PROPERTY(k == 0, "response prefix %zu of %zd: %zd", i, n, k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (!size || size > 8192)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (size > 1024)
			return 0;
		s = fuzz_str(data + 1, size - 1);
		if (s)
			check_url(s);
		free(s);
		break;
	case 1:
		check_socks(data + 1, size - 1);
		break;
	case 2:
		check_udp(data + 1, size - 1);
		break;
	case 3:
		check_http(data + 1, size - 1);
		break;
	}
	return 0;
}
