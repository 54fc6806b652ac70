/* fstores — a keyed set of the archiver's stores, one per (plant, gateway,
 * partition). It adds no format of its own: everything below a file is
 * services/archiver/store.c, so the central archive keeps the gateway
 * archive's guarantees (one row per message, duplicates dropped, gaps
 * recorded) and its tools. What it adds is the all-or-nothing batch across
 * files that the consumer's "acknowledge only once stored" needs. */
#include "fstores.h"

#include "table.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fstores {
	char dir[PATH_MAX];
	store_options tmpl;
	table files; /* "plant/gateway/NN" -> store */
};

int fstores_open(fstores **out, const char *dir, const store_options *tmpl, char *err,
		 size_t errlen)
{
	fstores *fs;
	*out = NULL;
	if (!dir || !*dir || !tmpl)
		return am_fail(err, errlen, AM_EINVAL, "fstores: no directory");
	if (strlen(dir) >= sizeof(fs->dir) - 128)
		return am_fail(err, errlen, AM_ETOOBIG,
			       "fstores: directory name too long");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return am_fail(err, errlen, AM_EIO, "cannot create %s: %s", dir,
			       strerror(errno));
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return am_fail(err, errlen, AM_ENOMEM, "fstores: out of memory");
	snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
	fs->tmpl = *tmpl;
	table_init(&fs->files);
	*out = fs;
	return 0;
}

static void close_store(void *v) { store_close(v); }

void fstores_close(fstores *fs)
{
	if (!fs)
		return;
	table_cleanup(&fs->files, close_store);
	free(fs);
}

/* mkdir <dir>/<plant> and <dir>/<plant>/<gateway>. */
static int make_dirs(const fstores *fs, const fsubject *s, char *err, size_t errlen)
{
	char d[PATH_MAX + 2 * FSUBJECT_ID_MAX + 4]; /* fs->dir is shorter by 128 */
	snprintf(d, sizeof(d), "%s/%s", fs->dir, s->plant);
	if (mkdir(d, 0755) != 0 && errno != EEXIST)
		return am_fail(err, errlen, AM_EIO, "cannot create %s: %s", d,
			       strerror(errno));
	snprintf(d, sizeof(d), "%s/%s/%s", fs->dir, s->plant, s->gateway);
	if (mkdir(d, 0755) != 0 && errno != EEXIST)
		return am_fail(err, errlen, AM_EIO, "cannot create %s: %s", d,
			       strerror(errno));
	return 0;
}

/* The store of s's file, opened (and created) on first use. */
static int file_of(fstores *fs, const fsubject *s, store **out, char *err, size_t errlen)
{
	char key[2 * FSUBJECT_ID_MAX + 16], path[PATH_MAX];
	store_options o = fs->tmpl;
	store *st;
	int rc;
	snprintf(key, sizeof(key), "%s/%s/%d", s->plant, s->gateway, s->partition);
	*out = table_get(&fs->files, key);
	if (*out)
		return 0;
	if (fsubject_db_path(fs->dir, s, path, sizeof(path)))
		return am_fail(err, errlen, AM_ETOOBIG, "archive path too long");
	rc = make_dirs(fs, s, err, errlen);
	if (rc)
		return rc;
	o.path = path;
	rc = store_open(&st, &o, err, errlen);
	if (rc)
		return rc;
	if (table_put(&fs->files, key, st)) {
		store_close(st);
		return am_fail(err, errlen, AM_ENOMEM, "fstores: out of memory");
	}
	*out = st;
	return 0;
}

int fstores_put(fstores *fs, const fsubject *s, const msg_raw *m, double now, int *dup,
		char *err, size_t errlen)
{
	store *st;
	int rc = file_of(fs, s, &st, err, errlen);
	if (!rc)
		rc = store_put_raw(st, m, now, dup, err, errlen);
	if (rc)
		fstores_rollback(fs);
	return rc;
}

int fstores_commit(fstores *fs, char *err, size_t errlen)
{
	size_t pos = 0;
	void *v;
	/* Each file commits on its own: a failure after the first commit leaves
	 * the earlier files committed. That is safe: nothing is acknowledged
	 * yet, the redelivered messages are duplicates there and dropped. */
	while (table_next(&fs->files, &pos, NULL, &v)) {
		int rc = store_commit(v, err, errlen);
		if (rc) {
			fstores_rollback(fs);
			return rc;
		}
	}
	return 0;
}

void fstores_rollback(fstores *fs)
{
	size_t pos = 0;
	void *v;
	while (table_next(&fs->files, &pos, NULL, &v))
		store_rollback(v);
}

int fstores_retention(fstores *fs, double now, int *deleted, char *err, size_t errlen)
{
	size_t pos = 0;
	void *v;
	*deleted = 0;
	while (table_next(&fs->files, &pos, NULL, &v)) {
		int d = 0, rc = store_retention_step(v, now, &d, err, errlen);
		if (rc)
			return rc;
		*deleted += d;
	}
	return 0;
}

void fstores_stats(const fstores *fs, store_stats *st, size_t *files)
{
	size_t pos = 0;
	void *v;
	memset(st, 0, sizeof(*st));
	while (table_next(&fs->files, &pos, NULL, &v)) {
		store_stats one;
		store_get_stats(v, &one);
		st->messages += one.messages;
		st->samples += one.samples;
		st->duplicates += one.duplicates;
		st->gaps += one.gaps;
		st->deleted += one.deleted;
		st->commits += one.commits;
		st->errors += one.errors;
	}
	if (files)
		*files = table_count(&fs->files);
}
