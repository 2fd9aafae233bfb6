// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tc attachments for interface filters: netfil's clsact filters, with a
 * fixed handle and priority, on each interface a filter names.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
static int tc_prog_fd(struct netfil *nf, const char *name)
{
	char path[PATH_MAX];

	int fd;

	if (nf_pin_path(nf, path, "prog", name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* netfil's cls_bpf filter at one clsact hook, made or replaced, in direct
 * action, with a classid: libbpf's bpf_tc_attach() sets none, so this is
 * the same request with TCA_BPF_CLASSID added. */
static int tc_filter_put(int ifindex, __u32 parent, int prog_fd, const char *name,
			 __u32 classid)
{
	char buf[4096];		/* the request, and its ACK: a few hundred bytes */
	unsigned int seq = (unsigned int)time(NULL);
	struct mnl_socket *sk;
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	struct tcmsg *t;
	int err = 0;
	ssize_t n;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	t->tcm_handle = NF_TC_HANDLE;
	t->tcm_parent = parent;
	t->tcm_info = TC_H_MAKE((__u32)NF_TC_PRIO << 16, htons(ETH_P_ALL));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u32(nlh, TCA_BPF_FD, (__u32)prog_fd);
	mnl_attr_put_strz(nlh, TCA_BPF_NAME, name);
	mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_put_u32(nlh, TCA_BPF_CLASSID, classid);
	mnl_attr_nest_end(nlh, opts);

	sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sk)
		return -errno;
	if (mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
	} else {
		n = mnl_socket_recvfrom(sk, buf, sizeof(buf));
		if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(sk),
					NULL, NULL) < 0)
			err = -errno;
	}
	mnl_socket_close(sk);
	return err;
}

int nf_tc_attach(struct netfil *nf, int ifindex, __u32 classid, bool *own_qdisc)
{
	static const char *const progs[2] = { "nf_tc_ingress", "nf_tc_egress" };
	static const __u32 parents[2] = { TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
					  TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS) };
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err, i, fd;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	*own_qdisc = !err;
	for (i = 0; i < 2; i++) {
		fd = tc_prog_fd(nf, progs[i]);
		if (fd < 0) {
			err = fd;
			break;
		}
		err = tc_filter_put(ifindex, parents[i], fd, progs[i], classid);
		close(fd);
		if (err)
			break;
	}
	return err;	/* the caller detaches what went on, and knows if it could */
}

bool nf_tc_attached(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = NF_TC_HANDLE, .priority = NF_TC_PRIO);

	return !bpf_tc_query(&hook, &o);
}

int nf_tc_detach(struct netfil *nf, int ifindex, bool own_qdisc)
{
	static const enum bpf_tc_attach_point pts[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex);
	int i, err = 0, e;

	(void)nf;
	for (i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = NF_TC_HANDLE,
				    .priority = NF_TC_PRIO);

		hook.attach_point = pts[i];
		e = bpf_tc_detach(&hook, &o);
		if (e && e != -ENOENT && e != -EINVAL && e != -ENODEV)
			err = err ?: e;
	}
	if (own_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		e = bpf_tc_hook_destroy(&hook);
		if (e && e != -ENOENT && e != -EINVAL && e != -ENODEV)
			err = err ?: e;
	}
	return err;
}

int nf_tc_detach_netns(struct netfil *nf, void *arg)
{
	struct nf_if_key key, next, *prev = NULL;
	struct nf_if_val v;
	uint64_t cookie;
	int err = 0, e;

	(void)arg;
	e = nf_netns_cookie(&cookie);
	if (e)
		return e;
	while (!bpf_map_get_next_key(nf->ifaces_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.netns != cookie ||
		    bpf_map_lookup_elem(nf->ifaces_fd, &key, &v))
			continue;
		e = nf_tc_detach(nf, (int)key.ifindex, v.own_qdisc);
		err = err ?: e;
	}
	return err;
}
