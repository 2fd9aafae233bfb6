/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proxy.h - the proxy protocols the relay speaks, as pure functions on
 * buffers (no I/O), so that the unit tests and the fuzzer reach every
 * parser.  Internal: lib/relay.c, tests/unit/test_proxy.c and
 * tests/fuzz/fuzz_proxy.c include it.
 *
 * Builders return the message's length, or -ENOSPC (cap too small),
 * -EAFNOSUPPORT (not an IPv4/IPv6 address), -EINVAL (bad argument).
 * Parsers return the bytes a complete message takes (> 0), 0 while
 * the message is still incomplete, or a negative errno: -EPROTO for
 * bytes that are no such message, or what the proxy's answer means.
 */
#ifndef LIBNETFIL_PROXY_H
#define LIBNETFIL_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* SOCKS5 (RFC 1928) and its username/password method (RFC 1929) */
#define NF_SOCKS_VER		5
#define NF_SOCKS_NOAUTH		0x00
#define NF_SOCKS_USERPASS	0x02
#define NF_SOCKS_NOMETHOD	0xff
#define NF_SOCKS_CONNECT	0x01
#define NF_SOCKS_UDP_ASSOCIATE	0x03
#define NF_SOCKS_ATYP_IPV4	0x01
#define NF_SOCKS_ATYP_DOMAIN	0x03
#define NF_SOCKS_ATYP_IPV6	0x04
/* The longest message the relay builds: an auth request (3 + 2 * 255). */
#define NF_SOCKS_MSG_MAX	513
/* The longest SOCKS5 UDP header: a 255-byte domain name. */
#define NF_SOCKS_UDP_HDR_MAX	(4 + 1 + 255 + 2)
/* An HTTP CONNECT response's header may be this long, no longer. */
#define NF_HTTP_HDR_MAX		4096

/* A v4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it is. */
void nf_sockaddr_unmap(struct sockaddr_storage *ss);
/* "1.2.3.4:80", "[::1]:80"; "?" for another family. */
void nf_sockaddr_fmt(const struct sockaddr *sa, char *buf, size_t len);

/* The method selection: NO AUTH, and USERNAME/PASSWORD when auth. */
ssize_t nf_socks_greeting(uint8_t *buf, size_t cap, bool auth);
/* The method the server chose, in *method: -EACCES for "none of them". */
ssize_t nf_socks_method_reply(const uint8_t *buf, size_t len, int *method);
/* RFC 1929: -EINVAL for a user or password empty or over 255 bytes. */
ssize_t nf_socks_auth_request(uint8_t *buf, size_t cap, const char *user, const char *pass);
/* -EACCES: the server refused the credentials. */
ssize_t nf_socks_auth_reply(const uint8_t *buf, size_t len);
/* CONNECT or UDP ASSOCIATE (cmd) to dst, ATYP 1 or 4 (v4-mapped: 1). */
ssize_t nf_socks_request(uint8_t *buf, size_t cap, int cmd, const struct sockaddr *dst);
/* The reply to a request: its bound address in *bound (AF_UNSPEC for a
 * domain name), or what a failure code means: -ECONNREFUSED,
 * -ENETUNREACH, -EHOSTUNREACH, -EACCES, -ETIMEDOUT, -EOPNOTSUPP,
 * -ECONNABORTED (general failure, or a code RFC 1928 does not know). */
ssize_t nf_socks_reply(const uint8_t *buf, size_t len, struct sockaddr_storage *bound);
/* The UDP request header (RSV, FRAG 0, the address) for dst. */
ssize_t nf_socks_udp_header(uint8_t *buf, size_t cap, const struct sockaddr *dst);
/* A whole datagram from the relay server: the header's length (the
 * payload follows), the sender in *from (AF_UNSPEC: a domain name).
 * -EPROTO for a short or malformed header, -EOPNOTSUPP for a fragment. */
ssize_t nf_socks_udp_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *from);

/* "CONNECT 1.2.3.4:80 HTTP/1.1", Host, and the blank line. */
ssize_t nf_http_connect_request(char *buf, size_t cap, const struct sockaddr *dst);
/* The response to CONNECT: the length of its header (what follows
 * belongs to the tunnel), status in *status.  -ECONNREFUSED for a
 * status other than 2xx, -EMSGSIZE for a header longer than
 * NF_HTTP_HDR_MAX, -EPROTO for something else than HTTP/1.x. */
ssize_t nf_http_connect_response(const char *buf, size_t len, int *status);

/* A SOCKS5 failure code as a negative errno (0 for success). */
int nf_socks_rep_errno(int rep);

#endif
