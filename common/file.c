/* file — atomic whole-file writes (see file.h). The temporary name carries
 * the pid so that two processes writing the same target never share a
 * temporary file; rename(2) within one directory is atomic. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
