// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * origin.c - what a relay needs of the kernel side: where a redirected
 * socket was going (nf_odst, and its filter's proxy), and nf_relay, the
 * SOCKMAP whose entries tell connect() that a relay lives.  The kernel
 * removes a socket from it when the socket closes, so a relay that dies,
 * even by kill -9, is noticed at the next connect() with no heartbeat.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "internal.h"

static int map_fd(struct netfil *nf, int *fd, const char *name)
{
	return nf_pin_fd(nf, fd, NULL, name);
}

/* A filter's slot, remembered per id: the relay asks once per connection. */
static int slot_of(struct netfil *nf, __u32 id, __u32 *slot)
{
	__u32 *hint = &nf->slot_hint[id % NF_SLOT_HINTS], i;

	if (*hint < NF_MAX_FILTERS && nf->cfg[*hint].id == id) {
		*slot = *hint;
		return 0;
	}
	for (i = 0; i < NF_MAX_FILTERS; i++) {
		if (nf->cfg[i].id == id) {
			*slot = *hint = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* addr (IPv4: 4 bytes) and port (host order) as a sockaddr */
static void to_sockaddr(int family, const __u8 *addr, __u16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, 16);
	}
}

/* nf_odst's addresses: IPv4 v4-mapped */
static void mapped_sockaddr(const __u8 *mapped, __u16 port, struct sockaddr_storage *ss)
{
	static const __u8 v4[12] = { [10] = 0xff, [11] = 0xff };
	bool is4 = !memcmp(mapped, v4, sizeof(v4));

	to_sockaddr(is4 ? AF_INET : AF_INET6, is4 ? mapped + 12 : mapped, port, ss);
}

int netfil_origin_get(struct netfil *nf, int proto, const struct sockaddr *client,
		      socklen_t len, struct netfil_origin *o)
{
	struct nf_odst_key k = { .proto = (__u8)proto };
	struct nf_filter_meta meta;
	struct nf_odst_val v;
	struct nf_filter_cfg cfg;
	struct netfil_err e;
	int fd = map_fd(nf, &nf->odst_fd, "nf_odst");
	__u32 slot;

	if (fd < 0)
		return fd;
	if (client->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)client;

		k.addr[10] = k.addr[11] = 0xff;
		memcpy(&k.addr[12], &in->sin_addr, 4);
		k.port = ntohs(in->sin_port);
	} else if (client->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)client;

		memcpy(k.addr, &in6->sin6_addr, 16);
		k.port = ntohs(in6->sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}
	if (bpf_map_lookup_elem(fd, &k, &v))
		return -ENOENT;
	memset(o, 0, sizeof(*o));
	o->proto = proto;
	memcpy(&o->client, client, len < sizeof(o->client) ? len : sizeof(o->client));
	mapped_sockaddr(v.addr, v.port, &o->orig);
	o->filter = v.filter;
	if (slot_of(nf, v.filter, &slot))
		return -ENOENT;	/* its filter is gone */
	cfg = nf->cfg[slot];
	if (!cfg.rd_family || bpf_map_lookup_elem(nf->meta_fd, &slot, &meta))
		return -ENOENT;
	if (cfg.rd_proxy) {
		meta.proxy[sizeof(meta.proxy) - 1] = '\0';
		if (netfil_proxy_parse(meta.proxy, &o->proxy, &e))
			return -EINVAL;
	}
	to_sockaddr(cfg.rd_family, cfg.rd_addr, cfg.rd_port, &o->proxy_addr);
	return 0;
}

int nf_relay_register(struct netfil *nf, int family, int tcp_fd, int udp_fd)
{
	__u32 k = family == AF_INET6 ? NF_RELAY_TCP6 : NF_RELAY_TCP4;
	int i = family == AF_INET6, fd = map_fd(nf, &nf->relay_fd, "nf_relay");
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	__u64 v = (__u64)tcp_fd;

	if (fd < 0)
		return fd;
	if (getsockname(tcp_fd, (struct sockaddr *)&ss, &len))
		return -errno;
	/* NOEXIST: a live relay keeps its place; a dead one left none */
	if (bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST))
		return errno == EEXIST ? -EBUSY : -errno;
	k++;
	v = (__u64)udp_fd;
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
		int err = -errno;

		k--;
		bpf_map_delete_elem(fd, &k);
		return err;
	}
	memset(nf->g->relay_addr[i], 0, sizeof(nf->g->relay_addr[i]));
	if (family == AF_INET6) {
		memcpy(nf->g->relay_addr[i], &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		nf->g->relay_port[i] = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		memcpy(nf->g->relay_addr[i], &((struct sockaddr_in *)&ss)->sin_addr, 4);
		nf->g->relay_port[i] = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return 0;
}

bool netfil_relay_live(struct netfil *nf)
{
	int fd = map_fd(nf, &nf->relay_fd, "nf_relay");
	__u32 k;
	__u64 v;

	for (k = NF_RELAY_TCP4; fd >= 0 && k <= NF_RELAY_TCP6; k += 2)
		if (!bpf_map_lookup_elem(fd, &k, &v))
			return true;
	return false;
}

int netfil_redirect_check(struct netfil *nf, const struct netfil_redirect *r,
			  struct netfil_err *e)
{
	char a[64];
	int i = r->family == AF_INET6;

	if (!r->family || r->proxy.kind || !netfil_relay_live(nf) ||
	    nf->g->relay_port[i] != r->port ||
	    memcmp(nf->g->relay_addr[i], r->addr, i ? 16 : 4))
		return 0;
	netfil_format_addr_port(r->family, r->addr, r->port, a, sizeof(a));
	return nf_bad(e, "'%s' is the relay's own address (use '%s URL')", a,
		      nf_rd_word(NF_RD_PROXY));
}

int netfil_proxy_filters(struct netfil *nf)
{
	int i, n = 0;

	for (i = 0; i < NF_MAX_FILTERS; i++)
		n += nf->cfg[i].id && nf->cfg[i].rd_family && nf->cfg[i].rd_proxy;
	return n;
}

void nf_relay_addr_text(struct netfil *nf, char *buf, size_t len)
{
	int fd = map_fd(nf, &nf->relay_fd, "nf_relay"), i;
	size_t n = 0;
	__u32 k;
	__u64 v;

	buf[0] = '\0';
	for (i = 0; i < 2 && fd >= 0; i++) {
		char a[64];

		k = i ? NF_RELAY_TCP6 : NF_RELAY_TCP4;
		if (bpf_map_lookup_elem(fd, &k, &v) || n >= len)
			continue;
		netfil_format_addr_port(i ? AF_INET6 : AF_INET, nf->g->relay_addr[i],
					nf->g->relay_port[i], a, sizeof(a));
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "", a);
	}
}
