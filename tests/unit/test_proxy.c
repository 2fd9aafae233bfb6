// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Proxy URLs, and the SOCKS5 and HTTP CONNECT messages of lib/proxy.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include "netfil.h"
#include "proxy.h"
#include "unit.h"

/* ---- URLs ---- */

struct url_case {
	const char *url;
	int err;
	/* parsed */
	enum netfil_proxy_kind kind;
	const char *host;
	unsigned int port;
	const char *user, *pass;
	/* formatted back, with and without the secret; or, for a bad
	 * URL, the token its error must name */
	const char *again, *listing;
};

#define S5 NETFIL_PROXY_SOCKS5
#define HT NETFIL_PROXY_HTTP

static const struct url_case urls[] = {
	{ "socks5://127.0.0.1:1080", 0, S5, "127.0.0.1", 1080, "", "",
	  "socks5://127.0.0.1:1080", "socks5://127.0.0.1:1080" },
	{ "http://10.0.0.1:3128", 0, HT, "10.0.0.1", 3128, "", "",
	  "http://10.0.0.1:3128", "http://10.0.0.1:3128" },
	{ "http://proxy.example.com:8080/", 0, HT, "proxy.example.com", 8080, "", "",
	  "http://proxy.example.com:8080", "http://proxy.example.com:8080" },
	{ "socks5://[::1]:1080", 0, S5, "::1", 1080, "", "",
	  "socks5://[::1]:1080", "socks5://[::1]:1080" },
	{ "http://[fd00::1:2]:65535", 0, HT, "fd00::1:2", 65535, "", "",
	  "http://[fd00::1:2]:65535", "http://[fd00::1:2]:65535" },
	{ "socks5://alice:s3cret@10.1.2.3:1", 0, S5, "10.1.2.3", 1, "alice", "s3cret",
	  "socks5://alice:s3cret@10.1.2.3:1", "socks5://alice:***@10.1.2.3:1" },
	{ "SOCKS5://a:b@[fe80::1]:1080", 0, S5, "fe80::1", 1080, "a", "b",
	  "socks5://a:b@[fe80::1]:1080", "socks5://a:***@[fe80::1]:1080" },
	{ "socks5://bob@h:9", 0, S5, "h", 9, "bob", "", "socks5://bob@h:9", "socks5://bob@h:9" },
	{ "socks5://bob:@h:9", 0, S5, "h", 9, "bob", "", "socks5://bob@h:9", "socks5://bob@h:9" },
	/* the last '@' ends the password; percent escapes decode */
	{ "socks5://u:p@ss@h:9", 0, S5, "h", 9, "u", "p@ss",
	  "socks5://u:p%40ss@h:9", "socks5://u:***@h:9" },
	{ "socks5://u%3Ax:a%2fb%25@h:9", 0, S5, "h", 9, "u:x", "a/b%",
	  "socks5://u%3Ax:a%2Fb%25@h:9", "socks5://u%3Ax:***@h:9" },
	{ "socks5://u:a:b@h:9", 0, S5, "h", 9, "u", "a:b",
	  "socks5://u:a%3Ab@h:9", "socks5://u:***@h:9" },
	{ "socks5://h:00080", 0, S5, "h", 80, "", "", "socks5://h:80", "socks5://h:80" },
	{ "http://my_proxy-1.lan:8", 0, HT, "my_proxy-1.lan", 8, "", "",
	  "http://my_proxy-1.lan:8", "http://my_proxy-1.lan:8" },

	/* bad: the error names the token */
	{ "ftp://h:21", -EINVAL, .again = "ftp" },
	{ "socks4://h:1080", -EINVAL, .again = "socks4" },
	{ "socks5h://h:1080", -EINVAL, .again = "socks5h" },
	{ "://h:1", -EINVAL, .again = "''" },
	{ "h:1080", -EINVAL, .again = "h:1080" },
	{ "", -EINVAL, .again = "''" },
	{ "socks5://h", -EINVAL, .again = "'h'" },
	{ "socks5://h:", -EINVAL, .again = "''" },
	{ "socks5://h:0", -EINVAL, .again = "'0'" },
	{ "socks5://h:65536", -EINVAL, .again = "65536" },
	{ "socks5://h:123456", -EINVAL, .again = "123456" },
	{ "socks5://h:-1", -EINVAL, .again = "-1" },
	{ "socks5://h:80x", -EINVAL, .again = "80x" },
	{ "socks5://h:+80", -EINVAL, .again = "+80" },
	{ "socks5://h:80//", -EINVAL, .again = "80/" },
	{ "socks5://h:80/path", -EINVAL, .again = "80/path" },
	{ "socks5://:1080", -EINVAL, .again = ":1080" },
	{ "socks5://[]:1080", -EINVAL, .again = "[]:1080" },
	{ "socks5://u:p@:1080", -EINVAL, .again = ":1080" },
	{ "socks5://fd00::1:1080", -EINVAL, .again = "fd00::1" },
	{ "socks5://[fd00::1]", -EINVAL, .again = "[fd00::1]" },
	{ "socks5://[fd00::1]1080", -EINVAL, .again = "[fd00::1]1080" },
	{ "socks5://[fd00::1:1080", -EINVAL, .again = "[fd00::1:1080" },
	{ "socks5://[1.2.3.4]:1080", -EINVAL, .again = "1.2.3.4" },
	{ "socks5://[zz::1]:1080", -EINVAL, .again = "zz::1" },
	{ "socks5://h st:1080", -EINVAL, .again = "h st" },
	{ "socks5://h/x:1080", -EINVAL, .again = "h/x" },
	{ "http://alice:pw@h:3128", -EINVAL, .again = "alice" },
	{ "http://alice@h:3128", -EINVAL, .again = "alice" },
	{ "socks5://:pw@h:1", -EINVAL, .again = "h:1" },
	{ "socks5://u%zz:p@h:1", -EINVAL, .again = "u%zz" },
	{ "socks5://u%4:p@h:1", -EINVAL, .again = "u%4" },
	{ "socks5://u%00:p@h:1", -EINVAL, .again = "u%00" },
	{ "socks5://u:p%0@h:1", -EINVAL, .again = "'u'" },
	{ "socks5://u\x01:p@h:1", -EINVAL, .again = "u\x01" },
};

static void check_url(const void *arg)
{
	const struct url_case *c = arg;
	struct netfil_proxy p, q;
	struct netfil_err e = {};
	char buf[NETFIL_URL_LEN * 4];
	int err;

	memset(&p, 0x5a, sizeof(p));
	err = netfil_proxy_parse(c->url, &p, &e);
	ASSERT_EQ(err, c->err, "error");
	if (err) {
		ASSERT_CONTAINS(e.msg, c->again, "message");
		ASSERT_TRUE(!strchr(e.msg, '\n'), "one line: '%s'", e.msg);
		ASSERT_EQ(p.kind, 0x5a5a5a5a, "output untouched on error");
		return;
	}
	ASSERT_EQ(p.kind, c->kind, "kind");
	ASSERT_STREQ(p.host, c->host, "host");
	ASSERT_EQ(p.port, c->port, "port");
	ASSERT_STREQ(p.user, c->user, "user");
	ASSERT_STREQ(p.pass, c->pass, "pass");
	netfil_proxy_format(&p, true, buf, sizeof(buf));
	ASSERT_STREQ(buf, c->again, "formatted");
	netfil_proxy_format(&p, false, buf, sizeof(buf));
	ASSERT_STREQ(buf, c->listing, "listed");
	/* the formatted URL reads back as the same proxy */
	netfil_proxy_format(&p, true, buf, sizeof(buf));
	ASSERT_OK(netfil_proxy_parse(buf, &q, &e), "parse again");
	ASSERT_TRUE(!memcmp(&p, &q, sizeof(p)) || (p.kind == q.kind && !strcmp(p.host, q.host) &&
		    p.port == q.port && !strcmp(p.user, q.user) && !strcmp(p.pass, q.pass)),
		    "again: '%s'", buf);
}

static void test_url_too_long(void)
{
	char url[NETFIL_URL_LEN + 16];
	struct netfil_proxy p;
	struct netfil_err e = {};
	size_t n;

	/* 255 bytes: the most there is room for */
	n = (size_t)snprintf(url, sizeof(url), "socks5://");
	memset(url + n, 'a', NETFIL_URL_LEN - 1 - n - 5);
	strcpy(url + NETFIL_URL_LEN - 1 - 5, ":1080");
	ASSERT_EQ(strlen(url), NETFIL_URL_LEN - 1, "length");
	ASSERT_OK(netfil_proxy_parse(url, &p, &e), "255 bytes");
	ASSERT_EQ(strlen(p.host), NETFIL_URL_LEN - 1 - 9 - 5, "host");
	memmove(url + 10, url + 9, strlen(url + 9) + 1);
	url[9] = 'b';
	ASSERT_EQ(netfil_proxy_parse(url, &p, &e), -EINVAL, "256 bytes");
	ASSERT_CONTAINS(e.msg, "socks5://baaa", "message names the URL");
	ASSERT_CONTAINS(e.msg, "too long", "message says why");
}

static void test_format_small(void)
{
	struct netfil_proxy p = { .kind = NETFIL_PROXY_HTTP, .host = "10.0.0.1", .port = 3128 };
	char buf[10];

	netfil_proxy_format(&p, true, buf, sizeof(buf));
	ASSERT_STREQ(buf, "http://10", "truncated, terminated");
	memset(buf, 'x', sizeof(buf));
	netfil_proxy_format(&p, true, buf, 0);
	ASSERT_EQ(buf[0], 'x', "no room: untouched");
}

static void test_kind_names(void)
{
	ASSERT_STREQ(netfil_proxy_kind_name(NETFIL_PROXY_SOCKS5), "socks5", "socks5");
	ASSERT_STREQ(netfil_proxy_kind_name(NETFIL_PROXY_HTTP), "http", "http");
}

/* ---- addresses ---- */

static struct sockaddr_storage sa4(const char *a, uint16_t port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage sa6(const char *a, uint16_t port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, a, &s->sin6_addr);
	return ss;
}

static const char *fmt(const struct sockaddr_storage *ss)
{
	static char buf[64];

	nf_sockaddr_fmt((const struct sockaddr *)ss, buf, sizeof(buf));
	return buf;
}

static void test_unmap(void)
{
	struct sockaddr_storage a = sa6("::ffff:10.1.2.3", 80), b = sa6("fd00::1", 80);
	struct sockaddr_storage c = sa4("10.1.2.3", 80);

	nf_sockaddr_unmap(&a);
	ASSERT_EQ(a.ss_family, AF_INET, "mapped: IPv4");
	ASSERT_STREQ(fmt(&a), "10.1.2.3:80", "mapped");
	nf_sockaddr_unmap(&b);
	ASSERT_STREQ(fmt(&b), "[fd00::1]:80", "v6 stays");
	nf_sockaddr_unmap(&c);
	ASSERT_STREQ(fmt(&c), "10.1.2.3:80", "v4 stays");
}

/* ---- SOCKS5 ---- */

static void test_socks_greeting(void)
{
	uint8_t b[8];

	ASSERT_EQ(nf_socks_greeting(b, sizeof(b), false), 3, "no auth: length");
	ASSERT_TRUE(!memcmp(b, "\x05\x01\x00", 3), "no auth: bytes");
	ASSERT_EQ(nf_socks_greeting(b, sizeof(b), true), 4, "auth: length");
	ASSERT_TRUE(!memcmp(b, "\x05\x02\x00\x02", 4), "auth: bytes");
	ASSERT_EQ(nf_socks_greeting(b, 3, true), -ENOSPC, "no room");
}

static void test_socks_method_reply(void)
{
	int m = -1;

	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"", 0, &m), 0, "empty: more");
	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"\x05", 1, &m), 0, "one byte: more");
	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"\x04", 1, &m), -EPROTO, "version 4");
	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"\x05\x00", 2, &m), 2, "no auth");
	ASSERT_EQ(m, 0, "method 0");
	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"\x05\x02xx", 4, &m), 2, "user/pass, more after");
	ASSERT_EQ(m, 2, "method 2");
	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"\x05\xff", 2, &m), -EACCES, "no method");
	ASSERT_EQ(nf_socks_method_reply((const uint8_t *)"HTTP/1.1", 8, &m), -EPROTO, "not SOCKS");
}

static void test_socks_auth(void)
{
	uint8_t b[NF_SOCKS_MSG_MAX];
	char long_s[300];

	ASSERT_EQ(nf_socks_auth_request(b, sizeof(b), "bob", "pw"), 8, "length");
	ASSERT_TRUE(!memcmp(b, "\x01\x03" "bob" "\x02" "pw", 8), "bytes");
	ASSERT_EQ(nf_socks_auth_request(b, 7, "bob", "pw"), -ENOSPC, "no room");
	ASSERT_EQ(nf_socks_auth_request(b, sizeof(b), "", "pw"), -EINVAL, "empty user");
	memset(long_s, 'x', 255);
	long_s[255] = '\0';
	ASSERT_EQ(nf_socks_auth_request(b, sizeof(b), long_s, long_s), NF_SOCKS_MSG_MAX, "255+255");
	long_s[255] = 'x';
	long_s[256] = '\0';
	ASSERT_EQ(nf_socks_auth_request(b, sizeof(b), long_s, "p"), -EINVAL, "256-byte user");
	ASSERT_EQ(nf_socks_auth_request(b, sizeof(b), "u", long_s), -EINVAL, "256-byte password");

	ASSERT_EQ(nf_socks_auth_reply((const uint8_t *)"", 0), 0, "empty: more");
	ASSERT_EQ(nf_socks_auth_reply((const uint8_t *)"\x01", 1), 0, "one byte: more");
	ASSERT_EQ(nf_socks_auth_reply((const uint8_t *)"\x01\x00", 2), 2, "success");
	ASSERT_EQ(nf_socks_auth_reply((const uint8_t *)"\x01\x01", 2), -EACCES, "refused");
	ASSERT_EQ(nf_socks_auth_reply((const uint8_t *)"\x05\x00", 2), -EPROTO, "wrong version");
}

static void test_socks_request(void)
{
	struct sockaddr_storage a = sa4("10.1.2.3", 80), b = sa6("fd00::1", 443);
	struct sockaddr_storage m = sa6("::ffff:192.168.0.1", 53), u = { .ss_family = AF_UNIX };
	uint8_t buf[64];

	ASSERT_EQ(nf_socks_request(buf, sizeof(buf), NF_SOCKS_CONNECT, (struct sockaddr *)&a), 10,
		  "v4 length");
	ASSERT_TRUE(!memcmp(buf, "\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x50", 10), "v4 bytes");
	ASSERT_EQ(nf_socks_request(buf, sizeof(buf), NF_SOCKS_CONNECT, (struct sockaddr *)&b), 22,
		  "v6 length");
	ASSERT_TRUE(!memcmp(buf, "\x05\x01\x00\x04\xfd\x00", 6) && buf[19] == 1 &&
		    buf[20] == 0x01 && buf[21] == 0xbb, "v6 bytes");
	ASSERT_EQ(nf_socks_request(buf, sizeof(buf), NF_SOCKS_UDP_ASSOCIATE, (struct sockaddr *)&m),
		  10, "v4-mapped: as IPv4");
	ASSERT_TRUE(!memcmp(buf, "\x05\x03\x00\x01\xc0\xa8\x00\x01\x00\x35", 10), "mapped bytes");
	ASSERT_EQ(nf_socks_request(buf, 21, NF_SOCKS_CONNECT, (struct sockaddr *)&b), -ENOSPC,
		  "v6: no room");
	ASSERT_EQ(nf_socks_request(buf, 9, NF_SOCKS_CONNECT, (struct sockaddr *)&a), -ENOSPC,
		  "v4: no room");
	ASSERT_EQ(nf_socks_request(buf, sizeof(buf), NF_SOCKS_CONNECT, (struct sockaddr *)&u),
		  -EAFNOSUPPORT, "AF_UNIX");
	ASSERT_EQ(nf_socks_request(buf, sizeof(buf), 2, (struct sockaddr *)&a), -EINVAL, "BIND");
}

struct reply_case {
	const char *name;
	const char *bytes;
	size_t len;
	long want;
	const char *bound;
};

#define R(name, s, want, bound) { name, s, sizeof(s) - 1, want, bound }
static const struct reply_case replies[] = {
	R("v4", "\x05\x00\x00\x01\x0a\x00\x00\x01\x04\x38", 10, "10.0.0.1:1080"),
	R("v4 and tunnel bytes", "\x05\x00\x00\x01\x0a\x00\x00\x01\x04\x38" "220 hi", 10,
	  "10.0.0.1:1080"),
	R("v6", "\x05\x00\x00\x04\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
		"\x00\x35", 22, "[fd00::2]:53"),
	R("domain", "\x05\x00\x00\x03\x05proxy\x00\x50", 12, "?"),
	R("v4 short by one", "\x05\x00\x00\x01\x0a\x00\x00\x01\x04", 0, NULL),
	R("v6 short", "\x05\x00\x00\x04\xfd\x00", 0, NULL),
	R("domain short", "\x05\x00\x00\x03\x05pro", 0, NULL),
	R("domain length only", "\x05\x00\x00\x03", 0, NULL),
	R("header only", "\x05\x00\x00", 0, NULL),
	R("one byte", "\x05", 0, NULL),
	R("empty", "", 0, NULL),
	R("empty domain", "\x05\x00\x00\x03\x00\x00\x50", -EPROTO, NULL),
	R("bad ATYP", "\x05\x00\x00\x02\x0a\x00\x00\x01\x04\x38", -EPROTO, NULL),
	R("bad RSV", "\x05\x00\x01\x01\x0a\x00\x00\x01\x04\x38", -EPROTO, NULL),
	R("bad version", "\x04\x00\x00\x01\x0a\x00\x00\x01\x04\x38", -EPROTO, NULL),
	R("general failure", "\x05\x01", -ECONNABORTED, NULL),
	R("not allowed", "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", -EACCES, NULL),
	R("net unreachable", "\x05\x03", -ENETUNREACH, NULL),
	R("host unreachable", "\x05\x04", -EHOSTUNREACH, NULL),
	R("refused", "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", -ECONNREFUSED, NULL),
	R("TTL expired", "\x05\x06", -ETIMEDOUT, NULL),
	R("command not supported", "\x05\x07", -EOPNOTSUPP, NULL),
	R("address type not supported", "\x05\x08", -EOPNOTSUPP, NULL),
	R("unknown code", "\x05\x09", -ECONNABORTED, NULL),
};

static void check_reply(const void *arg)
{
	const struct reply_case *c = arg;
	struct sockaddr_storage b;
	ssize_t n = nf_socks_reply((const uint8_t *)c->bytes, c->len, &b);

	ASSERT_EQ(n, c->want, "result");
	if (n > 0 && c->bound)
		ASSERT_STREQ(fmt(&b), c->bound, "bound");
}

static const struct reply_case udp_hdrs[] = {
	R("v4", "\x00\x00\x00\x01\x0a\x00\x00\x01\x00\x35" "payload", 10, "10.0.0.1:53"),
	R("v4, empty payload", "\x00\x00\x00\x01\x0a\x00\x00\x01\x00\x35", 10, "10.0.0.1:53"),
	R("v6", "\x00\x00\x00\x04\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
		"\x00\x35" "x", 22, "[fd00::2]:53"),
	R("domain", "\x00\x00\x00\x03\x01" "a\x00\x35" "x", 8, "?"),
	R("fragment", "\x00\x00\x01\x01\x0a\x00\x00\x01\x00\x35" "x", -EOPNOTSUPP, NULL),
	R("v4 short", "\x00\x00\x00\x01\x0a\x00\x00\x01\x00", -EPROTO, NULL),
	R("v6 short", "\x00\x00\x00\x04\xfd", -EPROTO, NULL),
	R("domain short", "\x00\x00\x00\x03\x05" "ab", -EPROTO, NULL),
	R("empty domain", "\x00\x00\x00\x03\x00\x00\x35", -EPROTO, NULL),
	R("bad ATYP", "\x00\x00\x00\x07\x0a\x00\x00\x01\x00\x35", -EPROTO, NULL),
	R("header only", "\x00\x00\x00", -EPROTO, NULL),
	R("empty", "", -EPROTO, NULL),
};

static void check_udp_parse(const void *arg)
{
	const struct reply_case *c = arg;
	struct sockaddr_storage b;
	ssize_t n = nf_socks_udp_parse((const uint8_t *)c->bytes, c->len, &b);

	ASSERT_EQ(n, c->want, "result");
	if (n > 0 && c->bound)
		ASSERT_STREQ(fmt(&b), c->bound, "from");
}

static void test_udp_header(void)
{
	struct sockaddr_storage a = sa4("10.1.2.3", 53), b = sa6("fd00::9", 5353), f;
	struct sockaddr_storage m = sa6("::ffff:10.1.2.3", 53);
	uint8_t buf[NF_SOCKS_UDP_HDR_MAX];

	ASSERT_EQ(nf_socks_udp_header(buf, sizeof(buf), (struct sockaddr *)&a), 10, "v4");
	ASSERT_TRUE(!memcmp(buf, "\x00\x00\x00\x01\x0a\x01\x02\x03\x00\x35", 10), "v4 bytes");
	ASSERT_EQ(nf_socks_udp_parse(buf, 10, &f), 10, "v4 back");
	ASSERT_STREQ(fmt(&f), "10.1.2.3:53", "v4 address back");
	ASSERT_EQ(nf_socks_udp_header(buf, sizeof(buf), (struct sockaddr *)&m), 10, "mapped: IPv4");
	ASSERT_EQ(nf_socks_udp_header(buf, sizeof(buf), (struct sockaddr *)&b), 22, "v6");
	ASSERT_EQ(nf_socks_udp_parse(buf, 22, &f), 22, "v6 back");
	ASSERT_STREQ(fmt(&f), "[fd00::9]:5353", "v6 address back");
	ASSERT_EQ(nf_socks_udp_header(buf, 21, (struct sockaddr *)&b), -ENOSPC, "no room");
	ASSERT_EQ(nf_socks_udp_header(buf, 2, (struct sockaddr *)&a), -ENOSPC, "no room for RSV");
}

/* ---- HTTP CONNECT ---- */

static void test_http_request(void)
{
	struct sockaddr_storage a = sa4("10.1.2.3", 8080), b = sa6("fd00::1", 443);
	struct sockaddr_storage m = sa6("::ffff:10.1.2.3", 80);
	char buf[256];

	ASSERT_EQ(nf_http_connect_request(buf, sizeof(buf), (struct sockaddr *)&a),
		  (long)strlen("CONNECT 10.1.2.3:8080 HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n\r\n"), "v4 length");
	ASSERT_STREQ(buf, "CONNECT 10.1.2.3:8080 HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n\r\n", "v4");
	nf_http_connect_request(buf, sizeof(buf), (struct sockaddr *)&b);
	ASSERT_STREQ(buf, "CONNECT [fd00::1]:443 HTTP/1.1\r\nHost: [fd00::1]:443\r\n\r\n", "v6");
	nf_http_connect_request(buf, sizeof(buf), (struct sockaddr *)&m);
	ASSERT_STREQ(buf, "CONNECT 10.1.2.3:80 HTTP/1.1\r\nHost: 10.1.2.3:80\r\n\r\n", "mapped");
	ASSERT_EQ(nf_http_connect_request(buf, 20, (struct sockaddr *)&a), -ENOSPC, "no room");
}

struct http_case {
	const char *name, *bytes;
	long want;
	int status;
};

static const struct http_case http[] = {
	{ "200", "HTTP/1.1 200 Connection established\r\n\r\n", 39, 200 },
	{ "200, 1.0, headers", "HTTP/1.0 200 OK\r\nProxy-agent: tinyproxy\r\n\r\n", 43, 200 },
	{ "200 and tunnel bytes", "HTTP/1.1 200 OK\r\n\r\nSSH-2.0-x\r\n", 19, 200 },
	{ "204, no reason", "HTTP/1.1 204\r\n\r\n", 16, 204 },
	{ "299", "HTTP/1.1 299 X\r\n\r\n", 18, 299 },
	{ "403", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", -ECONNREFUSED, 403 },
	{ "407", "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", -ECONNREFUSED, 407 },
	{ "502", "HTTP/1.0 502 Bad Gateway\r\n\r\n", -ECONNREFUSED, 502 },
	{ "199", "HTTP/1.1 199 X\r\n\r\n", -ECONNREFUSED, 199 },
	{ "300", "HTTP/1.1 300 X\r\n\r\n", -ECONNREFUSED, 300 },
	{ "no blank line yet", "HTTP/1.1 200 OK\r\nVia: x\r\n", 0, 0 },
	{ "half the blank line", "HTTP/1.1 200 OK\r\n\r", 0, 0 },
	{ "status line cut", "HTTP/1.1 20", 0, 0 },
	{ "version only", "HTTP/1.", 0, 0 },
	{ "empty", "", 0, 0 },
	{ "HTTP/2", "HTTP/2 200 OK\r\n\r\n", -EPROTO, 0 },
	{ "lower case", "http/1.1 200 OK\r\n\r\n", -EPROTO, 0 },
	{ "no space", "HTTP/1.1200 OK\r\n\r\n", -EPROTO, 0 },
	{ "two digits", "HTTP/1.1 20 OK\r\n\r\n", -EPROTO, 0 },
	{ "four digits", "HTTP/1.1 2000 OK\r\n\r\n", -EPROTO, 0 },
	{ "letters", "HTTP/1.1 2x0 OK\r\n\r\n", -EPROTO, 0 },
	{ "SOCKS bytes", "\x05\x00", -EPROTO, 0 },
	{ "LF only", "HTTP/1.1 200 OK\n\n", 0, 0 },
};

static void check_http(const void *arg)
{
	const struct http_case *c = arg;
	int status = -1;
	ssize_t n = nf_http_connect_response(c->bytes, strlen(c->bytes), &status);

	ASSERT_EQ(n, c->want, "result");
	if (c->status)
		ASSERT_EQ(status, c->status, "status");
}

static void test_http_long(void)
{
	static char buf[NF_HTTP_HDR_MAX + 64];
	size_t n;
	int status;

	n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX: ");
	memset(buf + n, 'a', NF_HTTP_HDR_MAX - n - 4);
	memcpy(buf + NF_HTTP_HDR_MAX - 4, "\r\n\r\n", 4);
	ASSERT_EQ(nf_http_connect_response(buf, NF_HTTP_HDR_MAX, &status), NF_HTTP_HDR_MAX,
		  "the longest header");
	memcpy(buf + NF_HTTP_HDR_MAX - 4, "aaaa", 4);
	ASSERT_EQ(nf_http_connect_response(buf, NF_HTTP_HDR_MAX - 1, &status), 0, "short of it: more");
	ASSERT_EQ(nf_http_connect_response(buf, NF_HTTP_HDR_MAX, &status), -EMSGSIZE, "too long");
	memcpy(buf + NF_HTTP_HDR_MAX, "\r\n\r\n", 4);
	ASSERT_EQ(nf_http_connect_response(buf, NF_HTTP_HDR_MAX + 4, &status), -EMSGSIZE,
		  "too long, whole");
}

/* Every prefix of a whole message is "more", never an error. */
static void test_prefixes(void)
{
	struct sockaddr_storage b;
	const char *v6 = "\x05\x00\x00\x04\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			 "\x00\x02\x00\x35";
	const char *h = "HTTP/1.1 200 Connection established\r\nVia: 1.1 x\r\n\r\n";
	size_t i;
	int st;

	for (i = 0; i < 22; i++)
		ASSERT_EQ(nf_socks_reply((const uint8_t *)v6, i, &b), 0, "reply prefix");
	ASSERT_EQ(nf_socks_reply((const uint8_t *)v6, 22, &b), 22, "whole reply");
	for (i = 0; i < strlen(h); i++)
		ASSERT_EQ(nf_http_connect_response(h, i, &st), 0, "response prefix");
	ASSERT_EQ(nf_http_connect_response(h, strlen(h), &st), (long)strlen(h), "whole response");
}

int main(void)
{
	char name[320];
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(name, sizeof(name), "proxy URL '%s'", unit_visible(urls[i].url));
		RUN_ROW(name, check_url, &urls[i]);
	}
	RUN_TEST(test_url_too_long);
	RUN_TEST(test_format_small);
	RUN_TEST(test_kind_names);
	RUN_TEST(test_unmap);
	RUN_TEST(test_socks_greeting);
	RUN_TEST(test_socks_method_reply);
	RUN_TEST(test_socks_auth);
	RUN_TEST(test_socks_request);
	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		snprintf(name, sizeof(name), "SOCKS5 reply: %s", replies[i].name);
		RUN_ROW(name, check_reply, &replies[i]);
	}
	RUN_TEST(test_udp_header);
	for (i = 0; i < sizeof(udp_hdrs) / sizeof(udp_hdrs[0]); i++) {
		snprintf(name, sizeof(name), "SOCKS5 UDP header: %s", udp_hdrs[i].name);
		RUN_ROW(name, check_udp_parse, &udp_hdrs[i]);
	}
	RUN_TEST(test_http_request);
	for (i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
		snprintf(name, sizeof(name), "HTTP CONNECT response: %s", http[i].name);
		RUN_ROW(name, check_http, &http[i]);
	}
	RUN_TEST(test_http_long);
	RUN_TEST(test_prefixes);
	return TEST_SUMMARY();
}
