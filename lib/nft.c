/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * nft.c - netfil's nftables table "inet <table>": the rules that send a
 * filter's packets to its NFQUEUE, tagged "netfil:<id>", and the flow
 * rules that keep an ALLOW_FLOW verdict in the conntrack mark.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include "queue.h"
#include "../bpf/netfil_abi.h"

#define NFT_RBUF	32768		/* one dump message fits */
#define NFT_BATCH	65536		/* a filter's 2 * 16 rules, or their deletes */
#define NFT_MSG_MAX	2048		/* one rule message, at most */
#define NFT_TAG		"netfil:"
#define NFT_FLOW_TAG	NFT_TAG "flow"

enum { OUT, IN };
static const char *const chain_name[4] = { "queue_out", "queue_in", "flow_out", "flow_in" };

struct nl {
	struct mnl_socket *sk;
	uint32_t portid, seq;
	unsigned int acks;	/* messages in the batch, each asking for one */
	struct mnl_nlmsg_batch *b;
	char *bbuf, *rbuf;
};

static int nl_open(struct nl *nl)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->seq = 1;
	nl->sk = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl->sk || mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	/* errors without the request's payload: the acks stay small */
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->rbuf = calloc(1, NFT_RBUF);
	nl->bbuf = calloc(1, NFT_BATCH + NFT_MSG_MAX);	/* no stray bytes in padding */
	if (nl->rbuf && nl->bbuf)
		nl->b = mnl_nlmsg_batch_start(nl->bbuf, NFT_BATCH);
	return nl->b ? 0 : -ENOMEM;
}

static void nl_close(struct nl *nl)
{
	mnl_nlmsg_batch_stop(nl->b);		/* free(): NULL is fine */
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->bbuf);
	free(nl->rbuf);
}

static void nl_begin(struct nl *nl)
{
	mnl_nlmsg_batch_reset(nl->b);
	nl->acks = 0;
	nftnl_batch_begin(mnl_nlmsg_batch_current(nl->b), nl->seq++);
	mnl_nlmsg_batch_next(nl->b);
}

/* A message at the batch's tail, for the caller's payload. */
static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(nl->b), type, NFPROTO_INET,
				     flags | NLM_F_ACK, nl->seq++);
}

static int nl_next(struct nl *nl)
{
	nl->acks++;
	return mnl_nlmsg_batch_next(nl->b) ? 0 : -E2BIG;
}

/* Sends the batch and reads every ack: the kernel handles the batch
 * inside sendto, so all replies are queued once it returns. */
static int nl_commit(struct nl *nl)
{
	unsigned int acks = 0;
	ssize_t n;
	int err = 0;

	nftnl_batch_end(mnl_nlmsg_batch_current(nl->b), nl->seq++);
	if (!mnl_nlmsg_batch_next(nl->b))
		return -E2BIG;
	if (mnl_socket_sendto(nl->sk, mnl_nlmsg_batch_head(nl->b),
			      mnl_nlmsg_batch_size(nl->b)) < 0)
		return -errno;
	while ((n = recv(mnl_socket_get_fd(nl->sk), nl->rbuf, NFT_RBUF, MSG_DONTWAIT)) > 0) {
		acks++;
		if (mnl_cb_run(nl->rbuf, n, 0, nl->portid, NULL, NULL) < 0 && !err)
			err = -errno;
	}
	if (n < 0 && errno != EAGAIN && !err)
		err = -errno;
	return err ? err : acks < nl->acks ? -EIO : 0;
}

/* One request outside the batch; its replies go to cb until done. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	bool dump = nlh->nlmsg_flags & NLM_F_DUMP;	/* nlh is in rbuf */
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sk, nl->rbuf, NFT_RBUF);
		ret = n < 0 ? -1 : mnl_cb_run(nl->rbuf, n, seq, nl->portid, cb, data);
		if (ret < 0)
			return -errno;
	} while (ret > 0 && dump);
	return 0;
}

/* A table message: into the batch, or sent alone (GETTABLE). */
static int table_msg(struct nl *nl, const char *table, uint16_t type, uint16_t flags)
{
	bool get = type == NFT_MSG_GETTABLE;
	struct nlmsghdr *nlh = get ? nftnl_nlmsg_build_hdr(nl->rbuf, type, NFPROTO_INET, 0, nl->seq++) :
				     nl_msg(nl, type, flags);

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	return get ? nl_talk(nl, nlh, NULL, NULL) : nl_next(nl);
}

/* Expression builders: each loads into, or reads, register 1. */
static struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name,
				   const uint32_t *kv, size_t n)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	size_t i;

	if (!e)
		return NULL;
	for (i = 0; i + 1 < n; i += 2)
		nftnl_expr_set_u32(e, (uint16_t)kv[i], kv[i + 1]);
	nftnl_rule_add_expr(r, e);
	return e;
}
#define EXPR(r, name, ...) add_expr(r, name, (const uint32_t[]){ __VA_ARGS__ },	\
				    sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t))
#define ADD(r, name, ...) (EXPR(r, name, __VA_ARGS__) ? 0 : -ENOMEM)

#define add_meta(r, key) ADD(r, "meta", NFTNL_EXPR_META_KEY, key, NFTNL_EXPR_META_DREG, NFT_REG_1)
#define add_ct(r, key) ADD(r, "ct", NFTNL_EXPR_CT_KEY, key, NFTNL_EXPR_CT_DREG, NFT_REG_1)

static int set_data(struct nftnl_expr *e, uint16_t attr, const void *data, uint32_t len)
{
	if (!e)
		return -ENOMEM;
	nftnl_expr_set(e, attr, data, len);
	return 0;
}

/* reg1 = (reg1 & mask) ^ xor; xor NULL: 0 */
static int add_bitwise(struct nftnl_rule *r, const void *mask, const void *xor, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = EXPR(r, "bitwise", NFTNL_EXPR_BITWISE_SREG, NFT_REG_1,
				    NFTNL_EXPR_BITWISE_DREG, NFT_REG_1, NFTNL_EXPR_BITWISE_LEN, len);

	return set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, len) ?:
	       set_data(e, NFTNL_EXPR_BITWISE_XOR, xor ? xor : zero, len);
}

#define add_cmp(r, op, data, len) set_data(EXPR(r, "cmp", NFTNL_EXPR_CMP_SREG, NFT_REG_1,	\
						NFTNL_EXPR_CMP_OP, op), NFTNL_EXPR_CMP_DATA, data, len)

/* reg1 & mask == val, of a 32-bit mark */
static int add_masked(struct nftnl_rule *r, uint32_t mask, uint32_t val)
{
	return add_bitwise(r, &mask, NULL, 4) ?: add_cmp(r, NFT_CMP_EQ, &val, 4);
}

/* The comment as nft writes it, so nft lists it. */
static int add_tag(struct nftnl_rule *r, const char *tag)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	int err = -ENOMEM;

	if (u && nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, tag) &&
	    !nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				 nftnl_udata_buf_len(u)))
		err = 0;
	nftnl_udata_buf_free(u);
	return err;
}

static struct nftnl_rule *rule_new(const char *table, const char *chain, const char *tag)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	if (tag && add_tag(r, tag)) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

/* Appends r to the batch, unless err; frees it either way. */
static int put_rule(struct nl *nl, struct nftnl_rule *r, int err)
{
	if (!err) {
		nftnl_rule_nlmsg_build_payload(nl_msg(nl, NFT_MSG_NEWRULE,
						      NLM_F_CREATE | NLM_F_APPEND), r);
		err = nl_next(nl);
	}
	nftnl_rule_free(r);
	return err;
}

/* Rule i of a new table: the flow rule of chain i. */
static int flow_rule(struct nftnl_rule *r, int i, uint32_t flow_mask)
{
	uint32_t keep = ~flow_mask;

	/* in a queue chain: a remembered flow is never queued */
	if (i < 2)
		return add_ct(r, NFT_CT_MARK) ?: add_masked(r, flow_mask, flow_mask) ?:
		       ADD(r, "immediate", NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT,
			   NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	/* after it: ALLOW_FLOW's verdict set the packet's field all-ones */
	return add_meta(r, NFT_META_MARK) ?: add_masked(r, flow_mask, flow_mask) ?:
	       add_ct(r, NFT_CT_MARK) ?: add_bitwise(r, &keep, &flow_mask, 4) ?:
	       ADD(r, "ct", NFTNL_EXPR_CT_KEY, NFT_CT_MARK, NFTNL_EXPR_CT_SREG, NFT_REG_1);
}

/* The table, its chains and their flow rules.  flow_mask 0: no
 * ALLOW_FLOW, and no flow rules (they would match every packet). */
static int put_table(struct nl *nl, const char *table, uint32_t flow_mask)
{
	struct nftnl_rule *r;
	int i, err;

	/* EXCL: a racing creator makes the batch fail, and the caller retry */
	err = table_msg(nl, table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	for (i = 0; i < 4 && !err; i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (!c)
			return -ENOMEM;
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
		nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain_name[i]);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, i % 2 == OUT ? NF_INET_LOCAL_OUT :
				    NF_INET_LOCAL_IN);
		/* flow chains after the queue chains: they see the verdict's mark */
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, i < 2 ? 10 : 11);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_nlmsg_build_payload(nl_msg(nl, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
		nftnl_chain_free(c);
		err = nl_next(nl);
	}
	for (i = 0; i < 4 && flow_mask && !err; i++) {
		r = rule_new(table, chain_name[i], NFT_FLOW_TAG);
		if (!r)
			return -ENOMEM;
		err = put_rule(nl, r, flow_rule(r, i, flow_mask));
	}
	/* a socket marked with the flow bit passes: fail open while a client
	 * has stalled (bpf/queue.h); the flow chain then remembers its flow,
	 * so the replies pass too */
	if (flow_mask && !err) {
		r = rule_new(table, chain_name[OUT], NFT_FLOW_TAG);
		if (!r)
			return -ENOMEM;
		err = put_rule(nl, r, add_meta(r, NFT_META_MARK) ?:
				      add_masked(r, flow_mask, flow_mask) ?:
				      ADD(r, "immediate", NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT,
					  NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT));
	}
	return err;
}

/* What filter f matches in chain dir; ifi: which interface. */
static int add_match(struct nftnl_rule *r, const struct nf_nft_rule *f, int dir, unsigned int ifi)
{
	uint8_t mask[16], addr[16], nfproto = f->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	char name[NF_IFNAME_LEN] = { 0 };
	uint32_t len = f->family == AF_INET ? 4 : 16, i, bits;

	switch (f->kind) {
	case NF_KIND_SOCKET:
		/* incoming: the receiving socket's own mark, which the socket
		 * expression looks up (it works here, no ct mark needed) */
		return (dir == OUT ? add_meta(r, NFT_META_MARK) :
			ADD(r, "socket", NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_MARK,
			    NFTNL_EXPR_SOCKET_DREG, NFT_REG_1)) ?: add_masked(r, f->mask, f->mark);
	case NF_KIND_IP:
		if ((f->family != AF_INET && f->family != AF_INET6) || f->prefixlen > len * 8)
			return -EINVAL;
		for (i = 0; i < len; i++) {
			bits = f->prefixlen > i * 8 ? f->prefixlen - i * 8 : 0;
			mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
			addr[i] = f->addr[i] & mask[i];
		}
		/* an inet chain sees both families: check before loading */
		return add_meta(r, NFT_META_NFPROTO) ?: add_cmp(r, NFT_CMP_EQ, &nfproto, 1) ?:
		       ADD(r, "payload", NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER,
			   NFTNL_EXPR_PAYLOAD_OFFSET, (len == 4 ? 12 : 8) + (dir == OUT ? len : 0),
			   NFTNL_EXPR_PAYLOAD_LEN, len, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1) ?:
		       (f->prefixlen < len * 8 ? add_bitwise(r, mask, NULL, len) : 0) ?:
		       add_cmp(r, NFT_CMP_EQ, addr, len);
	case NF_KIND_IFACE:
		strncpy(name, f->ifaces[ifi], sizeof(name) - 1);
		return add_meta(r, dir == OUT ? NFT_META_OIFNAME : NFT_META_IIFNAME) ?:
		       add_cmp(r, NFT_CMP_EQ, name, sizeof(name));
	}
	return -EINVAL;
}

/* The kernel has no nft queue expression: the xt target, via compat. */
static int add_queue(struct nftnl_rule *r, const struct nf_nft_rule *f)
{
	struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info));
	struct nftnl_expr *e = info ? EXPR(r, "target", NFTNL_EXPR_TG_REV, 3) : NULL;

	if (!e) {
		free(info);
		return -ENOMEM;
	}
	info->queuenum = f->qnum;
	info->queues_total = 1;
	info->flags = f->bypass ? NFQ_FLAG_BYPASS : 0;
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));	/* e owns info */
	return 0;
}

static int put_filter(struct nl *nl, const char *table, const struct nf_nft_rule *f)
{
	static const uint32_t new_bit = NF_CT_STATE_BIT(IP_CT_NEW), zero;
	unsigned int n = f->kind == NF_KIND_IFACE ? f->n_ifaces : 1, i;
	struct nftnl_rule *r;
	char tag[32];
	int dir, err = 0;

	if (!n || n > NF_IF_PER_FILTER)
		return -EINVAL;
	snprintf(tag, sizeof(tag), NFT_TAG "%u", f->id);
	for (dir = OUT; dir <= IN && !err; dir++) {
		for (i = 0; i < n && !err; i++) {
			r = rule_new(table, chain_name[dir], tag);
			if (!r)
				return -ENOMEM;
			if (f->new_only)
				err = add_ct(r, NFT_CT_STATE) ?: add_bitwise(r, &new_bit, NULL, 4) ?:
				      add_cmp(r, NFT_CMP_NEQ, &zero, 4);
			err = put_rule(nl, r, err ?: add_match(r, f, dir, i) ?: add_queue(r, f));
		}
	}
	return err;
}

int nf_nft_add(const char *table, uint32_t flow_mask, const struct nf_nft_rule *r)
{
	struct nl nl;
	int err, missing, try;

	if (!table || !r)
		return -EINVAL;
	err = nl_open(&nl);
	for (try = 0; !err; try++) {
		missing = table_msg(&nl, table, NFT_MSG_GETTABLE, 0);
		if (missing && missing != -ENOENT) {
			err = missing;
			goto out;
		}
		/* an invalid filter fails here, before anything is sent */
		nl_begin(&nl);
		err = (missing ? put_table(&nl, table, flow_mask) : 0) ?: put_filter(&nl, table, r) ?:
		      nl_commit(&nl);
		/* EEXIST: another creator came between the get and the batch */
		if (err != -EEXIST || !missing || try)
			break;
		err = 0;
	}
out:
	nl_close(&nl);
	return err;
}

/* A rule dump's matches: counted, and with nl, their deletes batched. */
struct scan {
	struct nl *nl;
	const char *table;
	char tag[32];		/* "": every netfil rule but the flow rules */
	int count, err;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	char *s = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len && !s[len - 1])
		*(const char **)data = s;
	return MNL_CB_OK;
}

static int scan_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct scan *s = data;
	struct nlmsghdr *del;
	const char *c = NULL;
	const void *u;
	uint32_t len;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		if (r)
			nftnl_rule_free(r);
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	u = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (u)
		nftnl_udata_parse(u, len, comment_cb, &c);
	if (c && (s->tag[0] ? !strcmp(c, s->tag) :
		  !strncmp(c, NFT_TAG, strlen(NFT_TAG)) && strcmp(c, NFT_FLOW_TAG))) {
		s->count++;
		if (s->nl && !s->err) {
			del = nl_msg(s->nl, NFT_MSG_DELRULE, 0);
			mnl_attr_put_strz(del, NFTA_RULE_TABLE, s->table);
			mnl_attr_put_strz(del, NFTA_RULE_CHAIN, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			mnl_attr_put_u64(del, NFTA_RULE_HANDLE,
					 htobe64(nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE)));
			s->err = nl_next(s->nl);
		}
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* Counts id's rules, in every chain; del: deletes them in one batch. */
static int scan(const char *table, uint32_t id, bool del)
{
	struct scan s = { .table = table };
	struct nlmsghdr *nlh;
	struct nl nl;
	int err;

	/* a rule dump of a missing table is just empty: ask for the table */
	err = nl_open(&nl) ?: table_msg(&nl, table, NFT_MSG_GETTABLE, 0);
	if (err)
		goto out;
	nl_begin(&nl);
	s.nl = del ? &nl : NULL;
	if (id)
		snprintf(s.tag, sizeof(s.tag), NFT_TAG "%u", id);
	nlh = nftnl_nlmsg_build_hdr(nl.rbuf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, nl.seq++);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);		/* every chain */
	err = nl_talk(&nl, nlh, scan_cb, &s) ?: s.err;
	if (!err && del && s.count)
		err = nl_commit(&nl);
out:
	nl_close(&nl);
	return err ?: s.count;
}

int nf_nft_del(const char *table, uint32_t id)
{
	int ret = table && id ? scan(table, id, true) : -EINVAL;

	return ret == -ENOENT || ret > 0 ? 0 : ret;
}

int nf_nft_drop(const char *table)
{
	struct nl nl;
	int err;

	if (!table)
		return -EINVAL;
	err = nl_open(&nl);
	if (!err) {
		nl_begin(&nl);
		err = table_msg(&nl, table, NFT_MSG_DELTABLE, 0) ?: nl_commit(&nl);
	}
	nl_close(&nl);
	return err == -ENOENT ? 0 : err;
}

int nf_nft_count(const char *table, uint32_t id)
{
	return table ? scan(table, id, false) : -EINVAL;
}
