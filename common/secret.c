/* secret — a password from a 0600 file, or wiped from argv (secret.h). The
 * mode check is on the open file (fstat), so the file judged is the file
 * read. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_read_file(const char *path, char **out, char *err, size_t errlen)
{
	char buf[SECRET_MAX + 2];
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return am_fail(err, errlen, AM_EIO, "password file %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = am_fail(err, errlen, AM_EIO, "password file %s: %s", path,
			     strerror(errno));
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = am_fail(err, errlen, AM_EINVAL,
			     "password file %s is open to group or others (mode %03o): "
			     "chmod 600 %s",
			     path, (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = am_fail(err, errlen, AM_EIO, "password file %s: %s", path,
				     strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	n = strcspn(buf, "\r\n");
	if (n == 0 || n > SECRET_MAX) {
		rc =
		    am_fail(err, errlen, AM_EINVAL, "password file %s: %s", path,
			    n ? "first line longer than 1024 bytes" : "empty first line");
		goto out;
	}
	buf[n] = '\0';
	*out = strdup(buf);
	if (!*out)
		rc = am_fail(err, errlen, AM_ENOMEM, "out of memory");
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int secret_scrub_argv(int argc, char **argv, const char *name)
{
	size_t nl = strlen(name);
	int found = 0;

	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *v = NULL;
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] != '-' || strncmp(a + 2, name, nl) != 0)
			continue;
		if (a[2 + nl] == '=')
			v = a + 3 + nl;
		else if (a[2 + nl] == '\0' && i + 1 < argc)
			v = argv[++i];
		else
			continue;
		memset(v, 'x', strlen(v));
		found = 1;
	}
	return found;
}
