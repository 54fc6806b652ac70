/* csvsink — one CSV file per sensor per UTC day (see csvsink.h).
 *
 * A small table of open files, one per sensor, keyed by sensor name; the
 * entry remembers the day and the header of its file so that the common
 * case (same sensor, same day, same channels) costs one comparison before
 * the rows are written through stdio. */
#include "csvsink.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CSVSINK_OPEN_MAX 32
#define CSVSINK_HDR_MAX (2 + MSG_MAX_CHANNELS * (MSG_CHANNEL_MAX + 1) + 2)

typedef struct csvsink_file {
	char sensor[MSG_SENSOR_MAX + 1];
	int64_t day; /* days since the epoch (UTC) */
	char header[CSVSINK_HDR_MAX];
	FILE *f;
	int64_t last_use;
} csvsink_file;

struct csvsink {
	char dir[PATH_MAX / 2];
	csvsink_file files[CSVSINK_OPEN_MAX];
	int64_t tick;
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
	*out = k;
	return 0;
}

static int csvsink__close_file(csvsink_file *cf)
{
	int rc = 0;
	if (cf->f && fclose(cf->f) != 0)
		rc = -1;
	memset(cf, 0, sizeof(*cf));
	return rc;
}

void csvsink_close(csvsink *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < CSVSINK_OPEN_MAX; i++)
		csvsink__close_file(&k->files[i]);
	free(k);
}

/* Open the file for (sensor, day, header): the first of <date>.csv,
 * <date>.1.csv, ... that is new or starts with the same header. */
static int csvsink__open_file(csvsink *k, csvsink_file *cf, const char *sensor,
			      int64_t day, const char *header, char *err, size_t errlen)
{
	char sdir[PATH_MAX], path[PATH_MAX + 160], date[16], first[CSVSINK_HDR_MAX];
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
		snprintf(cf->sensor, sizeof(cf->sensor), "%s", sensor);
		cf->day = day;
		snprintf(cf->header, sizeof(cf->header), "%s", header);
		cf->f = f;
		return 0;
	}
	snprintf(err, errlen, "csv: too many channel sets for %s on %s", sensor, date);
	return AM_EIO;
}

static int csvsink__file(csvsink *k, const char *sensor, int64_t day, const char *header,
			 csvsink_file **out, char *err, size_t errlen)
{
	csvsink_file *cf = NULL, *lru = &k->files[0];
	int rc;

	for (size_t i = 0; i < CSVSINK_OPEN_MAX; i++) {
		csvsink_file *c = &k->files[i];
		if (c->f && !strcmp(c->sensor, sensor)) {
			cf = c;
			break;
		}
		if (!c->f || (lru->f && c->last_use < lru->last_use))
			lru = c;
	}
	if (cf && (cf->day != day || strcmp(cf->header, header))) {
		if (csvsink__close_file(cf))
			return csvsink__err(errno, "close", err, errlen);
	} else if (cf) {
		goto done;
	}
	if (!cf) {
		cf = lru;
		if (cf->f && csvsink__close_file(cf))
			return csvsink__err(errno, "close", err, errlen);
	}
	rc = csvsink__open_file(k, cf, sensor, day, header, err, errlen);
	if (rc)
		return rc;
done:
	cf->last_use = ++k->tick;
	*out = cf;
	return 0;
}

int csvsink_put(csvsink *k, const msg_raw *m, char *err, size_t errlen)
{
	char header[CSVSINK_HDR_MAX];
	size_t hl = 0, nc = m->n_channels;
	csvsink_file *cf = NULL;
	int rc;

	if (!nc || !m->n_samples || !(m->rate_hz > 0)) {
		snprintf(err, errlen, "csv: empty or invalid message");
		return AM_EINVAL;
	}
	hl += (size_t)snprintf(header, sizeof(header), "t");
	for (size_t c = 0; c < nc && hl < sizeof(header); c++)
		hl += (size_t)snprintf(header + hl, sizeof(header) - hl, ",%s",
				       m->channels[c]);
	if (hl + 1 >= sizeof(header)) {
		snprintf(err, errlen, "csv: header too long");
		return AM_EINVAL;
	}
	header[hl++] = '\n';
	header[hl] = 0;
	for (size_t i = 0; i < m->n_samples; i++) {
		double t = m->t0 + (double)i / m->rate_hz;
		int64_t day = (int64_t)floor(t / 86400.0);
		if (!cf || cf->day != day) {
			rc = csvsink__file(k, m->sensor, day, header, &cf, err, errlen);
			if (rc)
				return rc;
		}
		fprintf(cf->f, "%.6f", t);
		for (size_t c = 0; c < nc; c++)
			fprintf(cf->f, ",%.9g", (double)m->samples[i * nc + c]);
		if (fputc('\n', cf->f) == EOF)
			return csvsink__err(errno, cf->sensor, err, errlen);
	}
	return 0;
}

int csvsink_flush(csvsink *k, char *err, size_t errlen)
{
	for (size_t i = 0; i < CSVSINK_OPEN_MAX; i++) {
		csvsink_file *cf = &k->files[i];
		if (cf->f && (fflush(cf->f) != 0 || ferror(cf->f))) {
			int e = errno;
			clearerr(cf->f);
			return csvsink__err(e, cf->sensor, err, errlen);
		}
	}
	return 0;
}
