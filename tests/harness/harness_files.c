/* harness_files — paths and files for the tests (see harness.h): where the
 * binaries and the shared data are, the per-process temp dir and fresh
 * directories inside it, and the small file reads tests poll on (a port
 * file's first line, a log line).
 *
 * Strings handed out for the life of the process are kept on one list and
 * freed at exit, together with the temp dir (unless ANOMESH_KEEP_TMP is
 * set, so a failed run can be inspected). */
#include "harness.h"
#include "harness_internal.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct interned {
	struct interned *next;
	char s[];
} interned;
static interned *interned_list;
static pthread_mutex_t interned_lock = PTHREAD_MUTEX_INITIALIZER;
static char tmpdir_path[PATH_MAX];
static pid_t tmpdir_owner;
static int atexit_done;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void harness_rm_tree(const char *dir)
{
	if (dir && dir[0] && !getenv("ANOMESH_KEEP_TMP"))
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void harness_atexit(void)
{
	interned *i, *n;
	if (tmpdir_path[0] && tmpdir_owner == getpid())
		harness_rm_tree(tmpdir_path);
	for (i = interned_list; i; i = n) {
		n = i->next;
		free(i);
	}
	interned_list = NULL;
}

/* Called with interned_lock held. */
static void register_atexit(void)
{
	if (!atexit_done) {
		atexit(harness_atexit);
		atexit_done = 1;
	}
}

const char *harness__intern(const char *fmt, ...)
{
	va_list ap;
	int n;
	interned *i;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	i = malloc(sizeof(*i) + (size_t)n + 1);
	if (!i)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(i->s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&interned_lock);
	register_atexit();
	i->next = interned_list;
	interned_list = i;
	pthread_mutex_unlock(&interned_lock);
	return i->s;
}

const char *harness_bin(const char *name)
{
	const char *d = getenv("ANOMESH_BIN");
	return harness__intern("%s/%s", d && *d ? d : "bin", name);
}

const char *harness_shared(const char *rel)
{
	const char *d = getenv("ANOMESH_SHARED");
	return harness__intern("%s/%s", d && *d ? d : "../shared", rel);
}

int harness_shared_missing(const char *rel)
{
	const char *path = harness_shared(rel);
	if (path && access(path, R_OK) == 0)
		return 0;
	printf("SKIP: %s not found: optional data (put the shared folder beside the "
	       "repository as ../shared, or set ANOMESH_SHARED=dir); the synthetic "
	       "twin of this case runs without it\n",
	       path ? path : rel);
	fflush(stdout);
	return 1;
}

const char *harness_tmpdir(void)
{
	pthread_mutex_lock(&interned_lock);
	if (!tmpdir_path[0] || tmpdir_owner != getpid()) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/anomesh-test-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir_path)) {
			harness__fail("mkdtemp %s: %s", tmpdir_path, strerror(errno));
			tmpdir_path[0] = '\0';
			pthread_mutex_unlock(&interned_lock);
			return NULL;
		}
		tmpdir_owner = getpid();
		register_atexit();
	}
	pthread_mutex_unlock(&interned_lock);
	return tmpdir_path;
}

int harness_tmpdir_new(const char *name, char *out, size_t len)
{
	const char *base = harness_tmpdir();
	if (!base || (size_t)snprintf(out, len, "%s/%s.XXXXXX", base, name) >= len) {
		harness__fail("no room for a temp dir named %s", name);
		return -1;
	}
	if (!mkdtemp(out)) {
		harness__fail("mkdtemp %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

int harness_read_first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;
	if (!f)
		return -1;
	ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -1;
}

int harness_wait_first_line(const char *path, char *out, size_t len, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	while (harness_read_first_line(path, out, len) != 0) {
		if (harness_now_ms() >= deadline) {
			harness__fail("%s: no line after %d ms", path, timeout_ms);
			return -1;
		}
		harness_nap_ms(20);
	}
	return 0;
}

int harness_file_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	if (!f)
		return 0;
	while (getline(&line, &cap, f) >= 0)
		n += strstr(line, needle) != NULL;
	free(line);
	fclose(f);
	return n;
}

int harness_wait_file_count(const char *path, const char *needle, int count,
			    int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	while (harness_file_count(path, needle) < count) {
		if (harness_now_ms() >= deadline)
			return -1;
		harness_nap_ms(50);
	}
	return 0;
}
