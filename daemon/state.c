// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfild's state file: written so that a crash or a power cut at any
 * moment leaves a good copy behind.
 *
 * The text is built in memory, its CRC-32 appended, then written to
 * FILE.tmp, fsync'd, and renamed over FILE after the old FILE was linked
 * to FILE.prev; the directory is fsync'd last.  Whatever step a crash
 * interrupts, FILE is complete and says so by its checksum (and so is
 * FILE.prev).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <zlib.h>
#include "netfild.h"

#define TRAILER "# netfild crc32 %08lx length %zu\n"
#define SUSPECT "# netfild: a suspect save; the previous copy is the last clean one (deleted-base "

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, err = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/*
 * FILE.prev is the copy to fall back on, so a save that looks like an
 * accident never pushes a good one out.  Filters leave only by a "filter
 * del" or a restore, and nf_globals.deleted counts both.  A save is
 * suspect when more filters of the last clean save are missing (by id)
 * than were deleted since: something other than a command took them.  A
 * suspect save still becomes FILE, since it is what the kernel enforces,
 * but FILE becomes FILE.prev only while FILE is a clean save, so FILE.prev
 * keeps the last clean one until the loss is explained.
 */
static struct {
	bool known;		/* a clean save was made */
	bool file_clean;	/* FILE holds a clean save */
	uint32_t *ids;		/* the ids of the last clean save, ascending */
	unsigned int n;
	uint64_t deleted;	/* nf_globals.deleted at that save */
} kept = { .file_clean = true };

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The ids of the "filter add id N" lines netfil_save() wrote. */
static int saved_ids(const char *text, uint32_t **out, unsigned int *n)
{
	const char *p = text;
	uint32_t *ids = NULL;
	unsigned int k = 0, cap = 0;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "filter add id ", 14))
			continue;
		if (k == cap) {
			uint32_t *m = realloc(ids, sizeof(*ids) * (cap = cap * 2 + 64));

			if (!m) {
				free(ids);
				return -ENOMEM;
			}
			ids = m;
		}
		ids[k++] = (uint32_t)strtoul(p + 14, NULL, 10);	/* netfil's own output */
	}
	if (k)
		qsort(ids, k, sizeof(*ids), cmp_id);
	*out = ids;
	*n = k;
	return 0;
}

static unsigned int missing(const uint32_t *ids, unsigned int n)
{
	unsigned int i, lost = 0;

	for (i = 0; i < kept.n; i++)
		lost += !n || !bsearch(&kept.ids[i], ids, n, sizeof(*ids), cmp_id);
	return lost;
}

/* FILE's content becomes FILE.prev while FILE stays in place (a hard
 * link, renamed over FILE.prev), so that no instant has no FILE. */
static int rotate(const char *path, const char *prev)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", prev) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(tmp);
	if (link(path, tmp))
		return errno == ENOENT ? 0 : -1;
	return rename(tmp, prev);
}

int state_save(struct netfil *nf, const char *path)
{
	char tmp[PATH_MAX], prev[PATH_MAX], trailer[64];
	struct netfil_status st;
	char *text = NULL;
	bool suspect = false;
	unsigned int n = 0, lost;
	char *text2 = NULL;
	size_t len2 = 0;
	uint64_t before;
	int i;
	uint32_t *ids = NULL;
	size_t len = 0;
	FILE *mem;
	int fd = -1, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    snprintf(prev, sizeof(prev), "%s.prev", path) >= (int)sizeof(prev))
		return -ENAMETOOLONG;
	mem = open_memstream(&text, &len);
	if (!mem)
		return -errno;
	/* the deletion count that goes with this very snapshot: read on
	 * both sides of it, and again if a deletion slipped in between */
	for (i = 0; i < 5; i++) {
		err = netfil_status(nf, &st);
		if (err)
			break;
		before = st.deleted;
		if (i) {
			fflush(mem);
			rewind(mem);
		}
		err = netfil_save(nf, mem, NETFIL_SAVE_COUNTERS) ?: netfil_status(nf, &st);
		if (err || st.deleted == before)
			break;
	}
	if (fclose(mem) && !err)
		err = -errno;
	if (err)
		goto out;
	err = saved_ids(text, &ids, &n);
	if (err)
		goto out;
	lost = kept.known ? missing(ids, n) : 0;
	suspect = lost > st.deleted - kept.deleted;
	if (suspect && kept.file_clean)
		logmsg(LOG_WARNING, "%u filters of the last clean save are gone but only %llu "
		       "were deleted: %s.prev stays the last clean save", lost,
		       (unsigned long long)(st.deleted - kept.deleted), path);
	if (suspect) {
		/* said in the file itself, so that a restarted netfild keeps
		 * FILE.prev as the last clean save too (state_resume()) */
		mem = open_memstream(&text2, &len2);
		if (!mem) {
			err = -errno;
			goto out;
		}
		fwrite(text, 1, len, mem);
		fprintf(mem, SUSPECT "%llu)\n", (unsigned long long)kept.deleted);
		if (fclose(mem)) {
			err = -errno;
			goto out;
		}
		free(text);
		text = text2;
		text2 = NULL;
		len = len2;
	}
	snprintf(trailer, sizeof(trailer), TRAILER,
		 crc32(0, (const Bytef *)text, (uInt)len), len);

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, text, len);
	if (!err)
		err = write_all(fd, trailer, strlen(trailer));
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		goto out;
	/* FILE becomes FILE.prev only now that FILE.tmp is whole, and only
	 * if FILE is a good save */
	if (kept.file_clean && rotate(path, prev)) {
		err = -errno;
		goto out;
	}
	if (rename(tmp, path))
		err = -errno;
	else
		err = fsync_dir(path);
	if (!err) {
		kept.file_clean = !suspect;
		if (!suspect) {
			free(kept.ids);
			kept.ids = ids;
			ids = NULL;
			kept.known = true;
			kept.n = n;
			kept.deleted = st.deleted;
		}
	}
out:
	if (err)
		unlink(tmp);
	free(ids);
	free(text);
	free(text2);
	return err;
}

/* The text of one copy if its trailer vouches for it. */
static int read_good(const char *path, char **text, size_t *len)
{
	unsigned long crc;
	size_t n = 0, cap = 0, body, want;
	char *buf = NULL, *last;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (;;) {
		if (n == cap) {
			char *b = realloc(buf, (cap = cap * 2 + 65536) + 1);

			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (!got)
			break;
	}
	if (ferror(f)) {	/* unread is not damaged: leave the file be */
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[n] = '\0';
	/* the trailer is the last line, and the only thing after the body */
	if (n < 2 || buf[n - 1] != '\n')
		goto bad;
	buf[n - 1] = '\0';
	last = strrchr(buf, '\n');
	body = last ? (size_t)(last - buf) + 1 : 0;
	if (sscanf(buf + body, "# netfild crc32 %lx length %zu", &crc, &want) != 2 ||
	    want != body || crc != crc32(0, (const Bytef *)buf, (uInt)body))
		goto bad;
	buf[body] = '\0';
	*text = buf;
	*len = body;
	return 0;
bad:
	free(buf);
	return -EBADMSG;
}

void state_resume(const char *path)
{
	char prev[PATH_MAX], *text = NULL, *ptext = NULL, *mark;
	size_t len, plen;
	uint64_t base;

	snprintf(prev, sizeof(prev), "%s.prev", path);
	if (read_good(path, &text, &len) || !(mark = strstr(text, SUSPECT)) ||
	    read_good(prev, &ptext, &plen))
		goto out;
	base = strtoull(mark + strlen(SUSPECT), NULL, 10);
	free(kept.ids);
	kept.ids = NULL;
	if (saved_ids(ptext, &kept.ids, &kept.n))
		goto out;
	kept.known = true;
	kept.file_clean = false;
	kept.deleted = base;
	logmsg(LOG_WARNING, "%s is a suspect save: %s stays the last clean one", path, prev);
out:
	free(text);
	free(ptext);
}

int state_read(const char *path, char **text, size_t *len, const char **which)
{
	static char prev[PATH_MAX];
	int err, e2;

	err = read_good(path, text, len);
	if (!err) {
		*which = path;
		return 0;
	}
	snprintf(prev, sizeof(prev), "%s.prev", path);
	if (err == -EBADMSG) {
		char bad[PATH_MAX];

		/* kept aside for a look, and out of the way of the next save,
		 * which would otherwise turn it into FILE.prev */
		snprintf(bad, sizeof(bad), "%s.damaged", path);
		logmsg(LOG_ERR, "state file %s is damaged (checksum or length wrong), "
		       "moved to %s; trying %s", path, bad, prev);
		rename(path, bad);
	}
	e2 = read_good(prev, text, len);
	if (!e2) {
		*which = prev;
		return 0;
	}
	if (e2 == -EBADMSG)
		logmsg(LOG_ERR, "state file %s is damaged too", prev);
	return err == -ENOENT && e2 == -ENOENT ? -ENOENT : -EBADMSG;
}
