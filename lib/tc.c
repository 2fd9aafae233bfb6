// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tc attachments for interface filters: netfil's clsact filters, with a
 * fixed handle and priority, on each interface a filter names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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

int nf_tc_attach(struct netfil *nf, int ifindex, bool *own_qdisc)
{
	static const char *const progs[2] = { "nf_tc_ingress", "nf_tc_egress" };
	static const enum bpf_tc_attach_point pts[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err, i, fd;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	*own_qdisc = !err;
	for (i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = NF_TC_HANDLE,
				    .priority = NF_TC_PRIO, .flags = BPF_TC_F_REPLACE);

		fd = tc_prog_fd(nf, progs[i]);
		if (fd < 0) {
			err = fd;
			break;
		}
		o.prog_fd = fd;
		hook.attach_point = pts[i];
		err = bpf_tc_attach(&hook, &o);
		close(fd);
		if (err)
			break;
	}
	if (err)
		nf_tc_detach(nf, ifindex, *own_qdisc);
	return err;
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
