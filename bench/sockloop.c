// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sockloop - what creating a socket costs each BPF program attached at a
 * cgroup's sock_create hook, from the kernel's run-time statistics.
 *
 *   sockloop CGROUP N [WARMUP [BATCH]]
 *
 * Moves itself into the cgroup v2 directory CGROUP, creates WARMUP
 * sockets untimed (default 1000), then, with run-time statistics on,
 * creates and closes N sockets, TCP and UDP over IPv4 in turn, and prints
 *
 *   sockets=N ancestors=K
 *   prog NAME ID RUN_CNT RUN_TIME_NS NS_PER_RUN BATCH_MEDIAN
 *
 * one "prog" line per program attached to CGROUP at sock_create, with the
 * counts of this loop alone (after minus before): NS_PER_RUN is
 * RUN_TIME_NS / RUN_CNT; BATCH_MEDIAN is the median of the same ratio over
 * batches of BATCH sockets (default 1000), which a burst of other work on
 * the machine (an interrupt, a preemption inside a program) moves less.
 * K is the number of
 * processes from this one up to init, both included: what the BPF side
 * records as the socket's ancestry.  Statistics are turned on with
 * BPF_ENABLE_STATS, which holds only while this process keeps the file
 * descriptor: they go off when it exits, however it exits, and
 * kernel.bpf_stats_enabled is never written.
 *
 * Run it from the executable whose cost is measured (a copy of this
 * binary named by an exe filter, say): the exe the BPF side sees is
 * this process's.  Exit status 0, 1 on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#define MAX_PROGS 16

struct prog {
	__u32 id;
	char name[BPF_OBJ_NAME_LEN];
	__u64 cnt, ns;
};

static int join(const char *cgroup)
{
	char path[4096], pid[32];
	int fd, n, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	ok = write(fd, pid, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* This process and its parents up to init (pid 1), both included. */
static int ancestors(void)
{
	char path[64], buf[512], *p;
	int pid = getpid(), n = 0;
	FILE *f;

	while (pid > 0 && n < 1000) {
		n++;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			break;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* ") S PPID ..." */
		if (!p || sscanf(p, ") %*c %d", &pid) != 1)
			break;
	}
	return n;
}

/* The programs attached to the cgroup at sock_create, and their counts. */
static int snapshot(int cg_fd, struct prog *progs, int *n)
{
	__u32 ids[MAX_PROGS], cnt = MAX_PROGS, flags = 0, i;

	if (bpf_prog_query(cg_fd, BPF_CGROUP_INET_SOCK_CREATE, 0, &flags, ids, &cnt))
		return -1;
	for (i = 0; i < cnt; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		progs[i].id = ids[i];
		memcpy(progs[i].name, info.name, sizeof(progs[i].name));
		progs[i].name[sizeof(progs[i].name) - 1] = 0;
		progs[i].cnt = info.run_cnt;
		progs[i].ns = info.run_time_ns;
	}
	*n = (int)cnt;
	return 0;
}

static int sockets(long n)
{
	long i;

	for (i = 0; i < n; i++) {
		int s = socket(AF_INET, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0);

		if (s < 0)
			return -1;
		close(s);
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct prog first[MAX_PROGS], prev[MAX_PROGS], cur[MAX_PROGS];
	int n0, n, i, cg_fd, stats_fd;
	long total, warmup = 1000, batch = 1000, nb = 0, done;
	double *ratio[MAX_PROGS];

	if (argc < 3 || argc > 5 || (total = atol(argv[2])) <= 0 ||
	    (argc >= 4 && (warmup = atol(argv[3])) < 0) ||
	    (argc == 5 && (batch = atol(argv[4])) <= 0)) {
		fprintf(stderr, "usage: sockloop CGROUP N [WARMUP [BATCH]]\n");
		return 1;
	}
	cg_fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (cg_fd < 0 || join(argv[1])) {
		fprintf(stderr, "sockloop: joining %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < MAX_PROGS; i++) {
		ratio[i] = calloc((size_t)(total / batch + 1), sizeof(double));
		if (!ratio[i])
			return 1;
	}
	if (sockets(warmup)) {
		perror("sockloop: socket");
		return 1;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "sockloop: BPF_ENABLE_STATS: %s\n", strerror(-stats_fd));
		return 1;
	}
	if (snapshot(cg_fd, first, &n0)) {
		perror("sockloop: reading the programs' statistics");
		return 1;
	}
	memcpy(prev, first, sizeof(prev));
	for (done = 0; done < total; done += batch) {
		long k = total - done < batch ? total - done : batch;

		if (sockets(k)) {
			perror("sockloop: socket");
			return 1;
		}
		if (snapshot(cg_fd, cur, &n) || n != n0) {
			fprintf(stderr, "sockloop: the programs changed under the loop\n");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (cur[i].id != prev[i].id) {
				fprintf(stderr, "sockloop: the programs changed under the loop\n");
				return 1;
			}
			ratio[i][nb] = cur[i].cnt > prev[i].cnt ?
				(double)(cur[i].ns - prev[i].ns) / (double)(cur[i].cnt - prev[i].cnt) : 0;
		}
		nb++;
		memcpy(prev, cur, sizeof(prev));
	}
	close(stats_fd);
	printf("sockets=%ld ancestors=%d\n", total, ancestors());
	for (i = 0; i < n0; i++) {
		__u64 cnt = cur[i].cnt - first[i].cnt, ns = cur[i].ns - first[i].ns;

		qsort(ratio[i], (size_t)nb, sizeof(double), cmp);
		printf("prog %s %u %llu %llu %.1f %.1f\n", cur[i].name, cur[i].id,
		       (unsigned long long)cnt, (unsigned long long)ns,
		       cnt ? (double)ns / (double)cnt : 0.0,
		       nb % 2 ? ratio[i][nb / 2] : (ratio[i][nb / 2 - 1] + ratio[i][nb / 2]) / 2);
	}
	return 0;
}
