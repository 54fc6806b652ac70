/* csvsink — one CSV file per sensor per UTC day (see csvsink.h).
 *
 * The open files live in the keyed table (common/table.h), one entry per
 * sensor with an open file; the entry remembers the day and the header of
 * its file so that the common case (same sensor, same day, same channels)
 * costs one lookup before the rows are written through stdio (csvrow).
 * At most CSVSINK_OPEN_MAX files are open: the least recently used one is
 * closed (and its entry dropped: reopening finds the file by its header)
 * when another is needed, so a plant of thousands of sensors costs file
 * opens, never file descriptors. */
#include "csvsink.h"

#include "csvrow.h"
#include "table.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CSVSINK_OPEN_MAX 256

typedef struct csvsink_file {
	char sensor[MSG_SENSOR_MAX + 1];
	int64_t day; /* days since the epoch (UTC) */
	char header[CSVROW_HEADER_MAX];
	FILE *f;
	struct csvsink_file *newer, *older; /* the use order of open files */
} csvsink_file;

struct csvsink {
	char dir[PATH_MAX / 2];
	table files;                   /* sensor -> csvsink_file, each with f open */
	csvsink_file *newest, *oldest; /* most and least recently used */
};

static int csvsink__err(int e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "csv: %s: %s", what, strerror(e));
	return e == ENOSPC || e == EDQUOT ? AM_EFULL : AM_EIO;
}

int csvsink_open(csvsink **out, const char *dir, char *err, size_t errlen)
{
	csvsink *k;
	*out = NULL;
	if (!dir || !*dir || strlen(dir) >= sizeof(k->dir)) {
		snprintf(err, errlen, "csv: bad directory");
		return AM_EINVAL;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return csvsink__err(errno, dir, err, errlen);
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "csv: out of memory");
		return AM_ENOMEM;
	}
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	table_init(&k->files);
	*out = k;
	return 0;
}

/* Unlink cf from the use order. */
static void csvsink__unlink(csvsink *k, csvsink_file *cf)
{
	if (cf->newer)
		cf->newer->older = cf->older;
	else
		k->newest = cf->older;
	if (cf->older)
		cf->older->newer = cf->newer;
	else
		k->oldest = cf->newer;
	cf->newer = cf->older = NULL;
}

/* Make cf the most recently used. */
static void csvsink__touch(csvsink *k, csvsink_file *cf)
{
	if (k->newest == cf)
		return;
	if (cf->newer) /* in the list (a new entry is not) */
		csvsink__unlink(k, cf);
	cf->older = k->newest;
	if (k->newest)
		k->newest->newer = cf;
	k->newest = cf;
	if (!k->oldest)
		k->oldest = cf;
}

/* Close cf's file, drop it from the table and free it. Returns 0, or -1
 * when fclose failed (errno set; the entry is gone all the same). */
static int csvsink__drop(csvsink *k, csvsink_file *cf)
{
	int rc = 0;
	csvsink__unlink(k, cf);
	table_del(&k->files, cf->sensor);
	if (cf->f && fclose(cf->f) != 0)
		rc = -1;
	free(cf);
	return rc;
}

void csvsink_close(csvsink *k)
{
	if (!k)
		return;
	while (k->oldest)
		csvsink__drop(k, k->oldest);
	table_cleanup(&k->files, NULL);
	free(k);
}

/* Open the file for (sensor, day, header) into cf->f: the first of
 * <date>.csv, <date>.1.csv, ... that is new or starts with the same
 * header. */
static int csvsink__open_file(csvsink *k, csvsink_file *cf, const char *sensor,
			      int64_t day, const char *header, char *err, size_t errlen)
{
	char sdir[PATH_MAX], path[PATH_MAX + 160], date[16], first[CSVROW_HEADER_MAX];
	time_t tt = (time_t)(day * 86400);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(sdir, sizeof(sdir), "%s/%s", k->dir, sensor);
	if (mkdir(sdir, 0755) != 0 && errno != EEXIST)
		return csvsink__err(errno, sdir, err, errlen);
	for (int n = 0; n < 100; n++) {
		FILE *f;
		if (n)
			snprintf(path, sizeof(path), "%s/%s_%s.%d.csv", sdir, sensor,
				 date, n);
		else
			snprintf(path, sizeof(path), "%s/%s_%s.csv", sdir, sensor, date);
		f = fopen(path, "a+");
		if (!f)
			return csvsink__err(errno, path, err, errlen);
		rewind(f);
		if (!fgets(first, sizeof(first), f)) {
			/* empty: ours; write the header */
			fseek(f, 0, SEEK_END);
			if (fputs(header, f) == EOF) {
				int e = errno;
				fclose(f);
				return csvsink__err(e, path, err, errlen);
			}
		} else if (strcmp(first, header) != 0) {
			fclose(f);
			continue; /* other channels: try the next name */
		}
		fseek(f, 0, SEEK_END);
		cf->day = day;
		snprintf(cf->header, sizeof(cf->header), "%s", header);
		cf->f = f;
		return 0;
	}
	snprintf(err, errlen, "csv: too many channel sets for %s on %s", sensor, date);
	return AM_EIO;
}

/* The open file of sensor for (day, header): the sensor's entry when it
 * matches, else its file closed and the right one opened (after closing
 * the least recently used file when CSVSINK_OPEN_MAX are open). */
static int csvsink__file(csvsink *k, const char *sensor, int64_t day, const char *header,
			 csvsink_file **out, char *err, size_t errlen)
{
	csvsink_file *cf = table_get(&k->files, sensor);
	int rc;

	if (cf && cf->day == day && !strcmp(cf->header, header))
		goto done;
	if (cf && csvsink__drop(k, cf))
		return csvsink__err(errno, "close", err, errlen);
	if (table_count(&k->files) >= CSVSINK_OPEN_MAX && csvsink__drop(k, k->oldest))
		return csvsink__err(errno, "close", err, errlen);
	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		snprintf(err, errlen, "csv: out of memory");
		return AM_ENOMEM;
	}
	snprintf(cf->sensor, sizeof(cf->sensor), "%s", sensor);
	rc = csvsink__open_file(k, cf, sensor, day, header, err, errlen);
	if (!rc && table_put(&k->files, cf->sensor, cf)) {
		fclose(cf->f);
		snprintf(err, errlen, "csv: out of memory");
		rc = AM_ENOMEM;
	}
	if (rc) {
		free(cf);
		return rc;
	}
done:
	csvsink__touch(k, cf);
	*out = cf;
	return 0;
}

int csvsink_put(csvsink *k, const msg_raw *m, char *err, size_t errlen)
{
	char header[CSVROW_HEADER_MAX];
	size_t nc = m->n_channels;
	csvsink_file *cf = NULL;
	int rc;

	if (!nc || !m->n_samples || !(m->rate_hz > 0)) {
		snprintf(err, errlen, "csv: empty or invalid message");
		return AM_EINVAL;
	}
	if (csvrow_header(header, sizeof(header), m->channels, nc) < 0) {
		snprintf(err, errlen, "csv: header too long");
		return AM_EINVAL;
	}
	for (size_t i = 0; i < m->n_samples; i++) {
		double t = m->t0 + (double)i / m->rate_hz;
		int64_t day = (int64_t)floor(t / 86400.0);
		if (!cf || cf->day != day) {
			rc = csvsink__file(k, m->sensor, day, header, &cf, err, errlen);
			if (rc)
				return rc;
		}
		if (csvrow_write(cf->f, t, m->samples + i * nc, nc))
			return csvsink__err(errno, cf->sensor, err, errlen);
	}
	return 0;
}

int csvsink_flush(csvsink *k, char *err, size_t errlen)
{
	for (csvsink_file *cf = k->newest; cf; cf = cf->older) {
		if (fflush(cf->f) != 0 || ferror(cf->f)) {
			int e = errno;
			clearerr(cf->f);
			return csvsink__err(e, cf->sensor, err, errlen);
		}
	}
	return 0;
}
