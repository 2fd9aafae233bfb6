// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * netfild's state file: written so that a crash or a power cut at any
 * moment leaves a good copy behind.
 *
 * The text is built in memory, its CRC-32 appended, then written to
 * FILE.tmp, fsync'd, and renamed over FILE after the old FILE became
 * FILE.prev; the directory is fsync'd last.  Whatever step a crash
 * interrupts, FILE or FILE.prev is complete and says so by its checksum.
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

int state_save(struct netfil *nf, const char *path)
{
	char tmp[PATH_MAX], prev[PATH_MAX], trailer[64];
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int fd = -1, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    snprintf(prev, sizeof(prev), "%s.prev", path) >= (int)sizeof(prev))
		return -ENAMETOOLONG;
	mem = open_memstream(&text, &len);
	if (!mem)
		return -errno;
	err = netfil_save(nf, mem, NETFIL_SAVE_COUNTERS);
	if (fclose(mem) && !err)
		err = -errno;
	if (err)
		goto out;
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
	/* FILE becomes FILE.prev only now that FILE.tmp is whole */
	if (rename(path, prev) && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	if (rename(tmp, path))
		err = -errno;
	else
		err = fsync_dir(path);
out:
	if (err)
		unlink(tmp);
	free(text);
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
