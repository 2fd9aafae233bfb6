// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * proxy.c - proxy URLs, and the messages of the two protocols the relay
 * speaks upstream: SOCKS5 (RFC 1928, with RFC 1929 username/password)
 * and HTTP CONNECT.  Everything here works on buffers only, so the relay
 * does the I/O and the tests and the fuzzer see every byte.
 *
 *   socks5://[USER:PASS@]HOST:PORT    http://HOST:PORT
 *
 * HOST is a name or an address, IPv6 in brackets; USER and PASS may be
 * percent-encoded (the only way to write a NUL-free byte the URL syntax
 * would take for itself).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"
#include "proxy.h"

/* ---- URLs ---------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) percent-decoded into out (cap bytes, NUL included); -EINVAL for
 * a bad escape or %00, -ENAMETOOLONG when it does not fit. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			if (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -EINVAL;
			c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
			if (!c)
				return -EINVAL;
			i += 2;
		} else if (c <= 0x20 || c == 0x7f) {
			return -EINVAL;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The bytes a URL's userinfo writes as they are. */
static bool pct_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr(":@%/[]?#", c);
}

static size_t pct_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 <= cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (pct_plain(c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* The port: 1-65535, digits only. */
static int parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (!n || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int netfil_proxy_parse(const char *url, struct netfil_proxy *out, struct netfil_err *err)
{
	struct netfil_proxy p = {};
	const char *sep, *auth, *at, *hp, *end, *colon, *host;
	size_t slen, hlen, n;
	int k;

	n = strlen(url);
	if (n >= NETFIL_URL_LEN)
		return nf_bad(err, "proxy URL '%.40s...' is too long (%zu bytes, at most %d)",
			      url, n, NETFIL_URL_LEN - 1);
	sep = strstr(url, "://");
	if (!sep)
		return nf_bad(err, "'%s' is not a proxy URL (SCHEME://HOST:PORT)", url);
	slen = (size_t)(sep - url);
	for (k = NETFIL_PROXY_SOCKS5; k <= NETFIL_PROXY_HTTP; k++) {
		const char *name = netfil_proxy_kind_name((enum netfil_proxy_kind)k);

		if (strlen(name) == slen && !strncasecmp(url, name, slen))
			break;
	}
	if (k > NETFIL_PROXY_HTTP)
		return nf_bad(err, "unsupported proxy scheme '%.*s' (%s or %s)", (int)slen, url,
			      netfil_proxy_kind_name(NETFIL_PROXY_SOCKS5),
			      netfil_proxy_kind_name(NETFIL_PROXY_HTTP));
	p.kind = (enum netfil_proxy_kind)k;
	auth = sep + 3;
	end = auth + strlen(auth);
	if (end > auth && end[-1] == '/')	/* "http://proxy:3128/" as browsers write it */
		end--;
	/* the last '@': a password may hold one */
	at = NULL;
	for (hp = auth; hp < end; hp++)
		if (*hp == '@')
			at = hp;
	if (at) {
		const char *c = memchr(auth, ':', (size_t)(at - auth));
		size_t ulen = c ? (size_t)(c - auth) : (size_t)(at - auth);

		if (p.kind != NETFIL_PROXY_SOCKS5)
			return nf_bad(err, "user '%.*s': only %s proxies take USER:PASS@", (int)ulen,
				      auth, netfil_proxy_kind_name(NETFIL_PROXY_SOCKS5));
		if (!ulen)
			return nf_bad(err, "empty user in proxy URL '%.*s'", (int)(end - at - 1), at + 1);
		if (pct_decode(auth, ulen, p.user, sizeof(p.user)))
			return nf_bad(err, "bad user '%.*s' (percent-encode odd bytes)", (int)ulen, auth);
		if (c && pct_decode(c + 1, (size_t)(at - c - 1), p.pass, sizeof(p.pass)))
			return nf_bad(err, "bad password for user '%.*s' (percent-encode odd bytes)",
				      (int)ulen, auth);
		hp = at + 1;
	} else {
		hp = auth;
	}
	/* HOST:PORT, [V6]:PORT */
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));
		struct in6_addr a6;

		if (!rb || rb + 1 >= end || rb[1] != ':')
			return nf_bad(err, "bad proxy address '%.*s' ([IPV6]:PORT)", (int)(end - hp), hp);
		host = hp + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
		if (!hlen)
			return nf_bad(err, "empty host in '%.*s'", (int)(end - hp), hp);
		memcpy(p.host, host, hlen);
		p.host[hlen] = '\0';
		if (inet_pton(AF_INET6, p.host, &a6) != 1)
			return nf_bad(err, "bad IPv6 address '%s'", p.host);
	} else {
		colon = NULL;
		for (host = hp; host < end; host++)
			if (*host == ':')
				colon = host;
		host = hp;
		if (!colon)
			return nf_bad(err, "no port in proxy address '%.*s' (HOST:PORT)",
				      (int)(end - hp), hp);
		hlen = (size_t)(colon - host);
		if (!hlen)
			return nf_bad(err, "empty host in '%.*s'", (int)(end - hp), hp);
		if (memchr(host, ':', hlen))
			return nf_bad(err, "IPv6 host '%.*s' needs brackets ([%.*s]:PORT)",
				      (int)hlen, host, (int)hlen, host);
		for (n = 0; n < hlen; n++)
			if (!host_char(host[n]))
				return nf_bad(err, "bad host '%.*s'", (int)hlen, host);
		memcpy(p.host, host, hlen);
		p.host[hlen] = '\0';
	}
	if (parse_port(colon + 1, (size_t)(end - colon - 1), &p.port))
		return nf_bad(err, "bad port '%.*s' (1-65535)", (int)(end - colon - 1), colon + 1);
	*out = p;
	return 0;
}

void netfil_proxy_format(const struct netfil_proxy *p, bool secret, char *buf, size_t len)
{
	char user[3 * sizeof(p->user)], pass[3 * sizeof(p->pass)];
	bool v6 = strchr(p->host, ':');

	if (!len)
		return;
	user[0] = pass[0] = '\0';
	if (p->user[0]) {
		pct_encode(p->user, user, sizeof(user));
		if (!secret && p->pass[0])
			strcpy(pass, "***");
		else
			pct_encode(p->pass, pass, sizeof(pass));
	}
	snprintf(buf, len, "%s://%s%s%s%s%s%s%s:%u", netfil_proxy_kind_name(p->kind),
		 user, pass[0] ? ":" : "", pass, user[0] ? "@" : "",
		 v6 ? "[" : "", p->host, v6 ? "]" : "", p->port);
}

/* ---- addresses ------------------------------------------------------------ */

void nf_sockaddr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

void nf_sockaddr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

/* ATYP, address and port of sa (v4-mapped as IPv4) into buf. */
static ssize_t put_addr(uint8_t *buf, size_t cap, const struct sockaddr *sa)
{
	struct sockaddr_storage ss = {};

	if (sa->sa_family == AF_INET)
		memcpy(&ss, sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(&ss, sa, sizeof(struct sockaddr_in6));
	else
		return -EAFNOSUPPORT;
	nf_sockaddr_unmap(&ss);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&ss;

		if (cap < 7)
			return -ENOSPC;
		buf[0] = NF_SOCKS_ATYP_IPV4;
		memcpy(buf + 1, &s->sin_addr, 4);
		memcpy(buf + 5, &s->sin_port, 2);
		return 7;
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&ss;

		if (cap < 19)
			return -ENOSPC;
		buf[0] = NF_SOCKS_ATYP_IPV6;
		memcpy(buf + 1, &s->sin6_addr, 16);
		memcpy(buf + 17, &s->sin6_port, 2);
		return 19;
	}
}

/* ATYP, address and port at buf[0..len): their length, 0 while short,
 * -EPROTO for an unknown ATYP.  A domain name leaves *ss AF_UNSPEC. */
static ssize_t get_addr(const uint8_t *buf, size_t len, struct sockaddr_storage *ss)
{
	size_t need;

	if (len < 1)
		return 0;
	memset(ss, 0, sizeof(*ss));
	switch (buf[0]) {
	case NF_SOCKS_ATYP_IPV4: {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		need = 1 + 4 + 2;
		if (len < need)
			return 0;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, buf + 1, 4);
		memcpy(&s->sin_port, buf + 5, 2);
		return (ssize_t)need;
	}
	case NF_SOCKS_ATYP_IPV6: {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		need = 1 + 16 + 2;
		if (len < need)
			return 0;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, buf + 1, 16);
		memcpy(&s->sin6_port, buf + 17, 2);
		return (ssize_t)need;
	}
	case NF_SOCKS_ATYP_DOMAIN:
		if (len < 2)
			return 0;
		if (!buf[1])
			return -EPROTO;
		need = 2 + (size_t)buf[1] + 2;
		return len < need ? 0 : (ssize_t)need;
	default:
		return -EPROTO;
	}
}

/* ---- SOCKS5 --------------------------------------------------------------- */

ssize_t nf_socks_greeting(uint8_t *buf, size_t cap, bool auth)
{
	size_t n = auth ? 4 : 3;

	if (cap < n)
		return -ENOSPC;
	buf[0] = NF_SOCKS_VER;
	buf[1] = auth ? 2 : 1;
	buf[2] = NF_SOCKS_NOAUTH;
	if (auth)
		buf[3] = NF_SOCKS_USERPASS;
	return (ssize_t)n;
}

ssize_t nf_socks_method_reply(const uint8_t *buf, size_t len, int *method)
{
	if (len < 2)
		return len && buf[0] != NF_SOCKS_VER ? -EPROTO : 0;
	if (buf[0] != NF_SOCKS_VER)
		return -EPROTO;
	*method = buf[1];
	if (buf[1] == NF_SOCKS_NOMETHOD)
		return -EACCES;
	return 2;
}

ssize_t nf_socks_auth_request(uint8_t *buf, size_t cap, const char *user, const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass);

	if (!ul || ul > 255 || pl > 255)
		return -EINVAL;
	if (cap < 3 + ul + pl)
		return -ENOSPC;
	buf[0] = 1;	/* the subnegotiation's version */
	buf[1] = (uint8_t)ul;
	memcpy(buf + 2, user, ul);
	buf[2 + ul] = (uint8_t)pl;
	memcpy(buf + 3 + ul, pass, pl);
	return (ssize_t)(3 + ul + pl);
}

ssize_t nf_socks_auth_reply(const uint8_t *buf, size_t len)
{
	if (len && buf[0] != 1)
		return -EPROTO;
	if (len < 2)
		return 0;
	return buf[1] ? -EACCES : 2;
}

ssize_t nf_socks_request(uint8_t *buf, size_t cap, int cmd, const struct sockaddr *dst)
{
	ssize_t n;

	if (cmd != NF_SOCKS_CONNECT && cmd != NF_SOCKS_UDP_ASSOCIATE)
		return -EINVAL;
	if (cap < 3)
		return -ENOSPC;
	buf[0] = NF_SOCKS_VER;
	buf[1] = (uint8_t)cmd;
	buf[2] = 0;
	n = put_addr(buf + 3, cap - 3, dst);
	return n < 0 ? n : n + 3;
}

int nf_socks_rep_errno(int rep)
{
	switch (rep) {
	case 0: return 0;
	case 2: return -EACCES;		/* not allowed by ruleset */
	case 3: return -ENETUNREACH;
	case 4: return -EHOSTUNREACH;
	case 5: return -ECONNREFUSED;
	case 6: return -ETIMEDOUT;	/* TTL expired */
	case 7: case 8: return -EOPNOTSUPP;	/* command, address type */
	default: return -ECONNABORTED;
	}
}

ssize_t nf_socks_reply(const uint8_t *buf, size_t len, struct sockaddr_storage *bound)
{
	ssize_t n;

	if (len && buf[0] != NF_SOCKS_VER)
		return -EPROTO;
	if (len < 2)
		return 0;
	/* a failure needs no more bytes: some servers close right after */
	if (buf[1])
		return nf_socks_rep_errno(buf[1]);
	if (len < 4)
		return 0;
	if (buf[2])
		return -EPROTO;
	n = get_addr(buf + 3, len - 3, bound);
	return n <= 0 ? n : n + 3;
}

ssize_t nf_socks_udp_header(uint8_t *buf, size_t cap, const struct sockaddr *dst)
{
	ssize_t n;

	if (cap < 3)
		return -ENOSPC;
	buf[0] = buf[1] = 0;	/* RSV */
	buf[2] = 0;		/* FRAG: whole datagrams only */
	n = put_addr(buf + 3, cap - 3, dst);
	return n < 0 ? n : n + 3;
}

ssize_t nf_socks_udp_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *from)
{
	ssize_t n;

	if (len < 4)
		return -EPROTO;
	if (buf[2])
		return -EOPNOTSUPP;
	n = get_addr(buf + 3, len - 3, from);
	/* a datagram is all there is: short is malformed */
	return n <= 0 ? -EPROTO : n + 3;
}

/* ---- HTTP CONNECT --------------------------------------------------------- */

ssize_t nf_http_connect_request(char *buf, size_t cap, const struct sockaddr *dst)
{
	struct sockaddr_storage ss = {};
	char hp[INET6_ADDRSTRLEN + 8];
	int n;

	if (dst->sa_family == AF_INET)
		memcpy(&ss, dst, sizeof(struct sockaddr_in));
	else if (dst->sa_family == AF_INET6)
		memcpy(&ss, dst, sizeof(struct sockaddr_in6));
	else
		return -EAFNOSUPPORT;
	nf_sockaddr_unmap(&ss);
	nf_sockaddr_fmt((struct sockaddr *)&ss, hp, sizeof(hp));
	n = snprintf(buf, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hp, hp);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

ssize_t nf_http_connect_response(const char *buf, size_t len, int *status)
{
	static const char ver[] = "HTTP/1.";
	size_t i, vl = sizeof(ver) - 1, end = 0;
	int st;

	/* what is there already must be the start of a status line */
	for (i = 0; i < len && i < vl; i++)
		if (buf[i] != ver[i])
			return -EPROTO;
	if (len > vl && !isdigit((unsigned char)buf[vl]))
		return -EPROTO;
	if (len > vl + 1 && buf[vl + 1] != ' ')
		return -EPROTO;
	for (i = vl + 2; i < len && i < vl + 5; i++)
		if (!isdigit((unsigned char)buf[i]))
			return -EPROTO;
	if (len > vl + 5 && buf[vl + 5] != ' ' && buf[vl + 5] != '\r')
		return -EPROTO;
	for (i = 3; i < len; i++)
		if (!memcmp(buf + i - 3, "\r\n\r\n", 4)) {
			end = i + 1;
			break;
		}
	if (!end)
		return len >= NF_HTTP_HDR_MAX ? -EMSGSIZE : 0;
	if (end > NF_HTTP_HDR_MAX)
		return -EMSGSIZE;
	/* complete: "HTTP/1.x SSS" is at least 12 bytes, and the header is longer */
	st = (buf[vl + 2] - '0') * 100 + (buf[vl + 3] - '0') * 10 + (buf[vl + 4] - '0');
	*status = st;
	if (st < 200 || st > 299)
		return -ECONNREFUSED;
	return (ssize_t)end;
}
