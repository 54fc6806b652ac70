/* file — whole-file reads with a cap, atomic whole-file writes (see file.h). The
 * temporary name carries the pid so that two processes writing the same target never
 * share a temporary file; rename(2) within one directory is atomic. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int file_read_capped(int fd, size_t cap, char **out, size_t *len)
{
	size_t alloc = 1 << 16, n = 0;
	char *buf;

	*out = NULL;
	*len = 0;
	if (cap < SIZE_MAX - 2 && alloc > cap + 2)
		alloc = cap + 2; /* cap + 1 bytes and the NUL */
	buf = malloc(alloc);
	if (!buf)
		return AM_ENOMEM;
	for (;;) {
		ssize_t got;
		if (alloc - n < 2) {
			size_t na;
			char *nb;
			if (n > cap)
				break;
			na = alloc * 2 > cap + 2 ? cap + 2 : alloc * 2;
			nb = realloc(buf, na);
			if (!nb) {
				free(buf);
				return AM_ENOMEM;
			}
			buf = nb;
			alloc = na;
		}
		got = read(fd, buf + n, alloc - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return AM_EIO;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, int durable,
		      char *err, size_t errlen)
{
	char tmp[4096];
	const char *p = data;
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
	    sizeof tmp)
		return am_fail(err, errlen, AM_EINVAL, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno;
		am_errf(err, errlen, "%s: %s", tmp, strerror(e));
		errno = e;
		return AM_EIO;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (durable && fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	am_errf(err, errlen, "%s: %s", path, strerror(e));
	errno = e;
	return AM_EIO;
}
