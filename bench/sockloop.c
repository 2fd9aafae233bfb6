// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sockloop - what creating a socket costs each BPF program attached at the
 * sock_create hook of one or more cgroups, from the kernel's run-time
 * statistics, with the cgroups interleaved so that they share the
 * machine's ups and downs.
 *
 *   sockloop N BATCH CGROUP...
 *
 * Creates and closes sockets, TCP and UDP over IPv4 in turn, BATCH at a
 * time, moving itself from one cgroup v2 directory to the next between
 * batches (the order rotated at each pass) until each cgroup has had N;
 * one untimed batch per cgroup comes first, to warm up.  Then it prints
 *
 *   sockets=N batch=BATCH ancestors=K
 *   prog CGROUP NAME ID RUN_CNT RUN_TIME_NS NS_PER_RUN BATCH_MEDIAN
 *
 * one "prog" line per program attached to each CGROUP at sock_create,
 * with its counts over that cgroup's batches alone: NS_PER_RUN is
 * RUN_TIME_NS / RUN_CNT; BATCH_MEDIAN is the median of the same ratio over
 * the batches, which a burst of other work on the machine (an interrupt, a
 * preemption inside a program) moves less.  A program attached to several
 * of the cgroups gets a line for each.  K is the number of processes from
 * this one up to init, both included: the ancestry the BPF side records.
 *
 * Statistics are turned on with BPF_ENABLE_STATS, which holds only while
 * this process keeps the file descriptor: they go off when it exits,
 * however it exits, and kernel.bpf_stats_enabled is never written.
 *
 * Run it from the executable whose cost is measured (a copy of this
 * binary named by an exe filter, say): the exe the BPF side sees is this
 * process's.  Exit status 0, 1 on any error.
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

#define MAX_CG    8
#define MAX_PROGS 16

struct prog {
	__u32 id;
	char name[BPF_OBJ_NAME_LEN];
	__u64 cnt, ns;
};

struct cg {
	const char *path;
	int fd, procs;
	int n;				/* programs attached */
	struct prog total[MAX_PROGS];	/* summed over the batches */
	double *ratio[MAX_PROGS];	/* ns per run, per batch */
	long batches;
};

static int join(struct cg *c)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", getpid());

	return write(c->procs, pid, (size_t)n) == n ? 0 : -1;
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

/* The programs attached to a cgroup at sock_create, and their counts. */
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

/* One timed batch in cgroup c. */
static int batch(struct cg *c, long n)
{
	struct prog before[MAX_PROGS], after[MAX_PROGS];
	int nb, na, i;

	if (join(c) || snapshot(c->fd, before, &nb) || sockets(n) ||
	    snapshot(c->fd, after, &na))
		return -1;
	if (na != nb || (c->batches && na != c->n))
		goto changed;
	c->n = na;
	for (i = 0; i < na; i++) {
		__u64 cnt = after[i].cnt - before[i].cnt, ns = after[i].ns - before[i].ns;

		if (after[i].id != before[i].id || (c->batches && after[i].id != c->total[i].id))
			goto changed;
		if (!c->batches) {
			c->total[i] = after[i];
			c->total[i].cnt = c->total[i].ns = 0;
		}
		c->total[i].cnt += cnt;
		c->total[i].ns += ns;
		c->ratio[i][c->batches] = cnt ? (double)ns / (double)cnt : 0;
	}
	c->batches++;
	return 0;
changed:
	fprintf(stderr, "sockloop: the programs of %s changed under the loop\n", c->path);
	errno = EAGAIN;
	return -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct cg cgs[MAX_CG];
	long total, size, done, pass;
	int ncg = argc - 3, i, j, stats_fd;
	char path[4096];

	if (argc < 4 || ncg > MAX_CG || (total = atol(argv[1])) <= 0 ||
	    (size = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: sockloop N BATCH CGROUP...   (at most %d cgroups)\n", MAX_CG);
		return 1;
	}
	memset(cgs, 0, sizeof(cgs));
	for (i = 0; i < ncg; i++) {
		struct cg *c = &cgs[i];

		c->path = argv[3 + i];
		snprintf(path, sizeof(path), "%s/cgroup.procs", c->path);
		c->fd = open(c->path, O_RDONLY | O_DIRECTORY);
		c->procs = open(path, O_WRONLY);
		if (c->fd < 0 || c->procs < 0) {
			fprintf(stderr, "sockloop: %s: %s\n", c->path, strerror(errno));
			return 1;
		}
		for (j = 0; j < MAX_PROGS; j++) {
			c->ratio[j] = calloc((size_t)(total / size + 1), sizeof(double));
			if (!c->ratio[j])
				return 1;
		}
		if (join(c) || sockets(size)) {
			fprintf(stderr, "sockloop: warming up in %s: %s\n", c->path, strerror(errno));
			return 1;
		}
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "sockloop: BPF_ENABLE_STATS: %s\n", strerror(-stats_fd));
		return 1;
	}
	for (done = 0, pass = 0; done < total; done += size, pass++) {
		long n = total - done < size ? total - done : size;

		for (i = 0; i < ncg; i++) {
			struct cg *c = &cgs[(i + pass) % ncg];

			if (batch(c, n)) {
				fprintf(stderr, "sockloop: %s: %s\n", c->path, strerror(errno));
				return 1;
			}
		}
	}
	close(stats_fd);
	printf("sockets=%ld batch=%ld ancestors=%d\n", total, size, ancestors());
	for (i = 0; i < ncg; i++) {
		struct cg *c = &cgs[i];

		for (j = 0; j < c->n; j++) {
			double *r = c->ratio[j];
			long nb = c->batches;

			qsort(r, (size_t)nb, sizeof(double), cmp);
			printf("prog %s %s %u %llu %llu %.1f %.1f\n", c->path, c->total[j].name,
			       c->total[j].id, (unsigned long long)c->total[j].cnt,
			       (unsigned long long)c->total[j].ns,
			       c->total[j].cnt ? (double)c->total[j].ns / (double)c->total[j].cnt : 0.0,
			       nb % 2 ? r[nb / 2] : (r[nb / 2 - 1] + r[nb / 2]) / 2);
		}
	}
	return 0;
}
