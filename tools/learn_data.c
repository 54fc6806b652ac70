/* learn_data — collecting one sensor's rows for anomesh-learn (see
 * learn_data.h): continuity of the raw stream by run, seq and frame
 * counter, the same rules the scorer's window applies, but counting what
 * is lost instead of restarting. */
#include "learn_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae_data.h"
#include "csv.h"

void learn_data_init(learn_data *d, const char *const *channels, size_t n_channels)
{
	memset(d, 0, sizeof(*d));
	if (n_channels > AE_MAX_CHANNELS)
		n_channels = AE_MAX_CHANNELS;
	d->n_channels = n_channels;
	for (size_t c = 0; c < n_channels; c++)
		snprintf(d->channels[c], AE_NAME_MAX, "%s", channels[c]);
}

void learn_data_cleanup(learn_data *d)
{
	if (!d)
		return;
	free(d->rows);
	d->rows = NULL;
	d->n = d->cap = 0;
}

double learn_data_seconds(const learn_data *d)
{
	return d->rate_hz > 0 ? (double)d->n / d->rate_hz : 0.0;
}

/* Room for n more rows. */
static int learn_data__reserve(learn_data *d, size_t more)
{
	size_t cap = d->cap ? d->cap : 1024;
	float *nr;
	if (d->n + more <= d->cap)
		return 0;
	while (cap < d->n + more)
		cap *= 2;
	nr = realloc(d->rows, cap * d->n_channels * sizeof(*nr));
	if (!nr)
		return AM_ENOMEM;
	d->rows = nr;
	d->cap = cap;
	return 0;
}

int learn_data_add(learn_data *d, const msg_raw *r, char *err, size_t errlen)
{
	size_t idx[AE_MAX_CHANNELS];
	for (size_t c = 0; c < d->n_channels; c++) {
		size_t j = 0;
		while (j < r->n_channels && strcmp(r->channels[j], d->channels[c]) != 0)
			j++;
		if (j == r->n_channels)
			return am_fail(err, errlen, AM_EFORMAT,
				       "%s: its raw messages have no channel %s",
				       r->sensor, d->channels[c]);
		idx[c] = j;
	}
	if (!d->started) {
		d->rate_hz = r->rate_hz;
	} else if (r->rate_hz != d->rate_hz) {
		return am_fail(err, errlen, AM_EFORMAT,
			       "%s: the rate changed from %g to %g Hz while recording",
			       r->sensor, d->rate_hz, r->rate_hz);
	} else if (strcmp(r->run, d->run) != 0) {
		d->n_gaps++; /* ingest restarted: how much was lost is unknown */
	} else if (r->seq < d->next_seq) {
		d->duplicates++;
		return 0;
	} else if (r->has_frame0 && d->has_frame && r->frame0 != d->next_frame) {
		d->n_gaps++;
		if (r->frame0 > d->next_frame)
			d->lost += (uint64_t)(r->frame0 - d->next_frame);
	} else if (r->seq > d->next_seq) {
		d->n_gaps++;
		d->lost += (r->seq - d->next_seq) * r->n_samples;
	}
	if (learn_data__reserve(d, r->n_samples))
		return am_fail(err, errlen, AM_ENOMEM, "out of memory for %zu rows",
			       d->n + r->n_samples);
	for (size_t i = 0; i < r->n_samples; i++)
		for (size_t c = 0; c < d->n_channels; c++)
			d->rows[(d->n + i) * d->n_channels + c] =
			    r->samples[i * r->n_channels + idx[c]];
	d->n += r->n_samples;
	d->started = 1;
	snprintf(d->run, sizeof(d->run), "%s", r->run);
	d->next_seq = r->seq + 1;
	d->has_frame = r->has_frame0;
	d->next_frame = r->frame0 + (int64_t)r->n_samples;
	return 0;
}

int learn_data_csv(learn_data *d, const char *path, double rate_hz, size_t max_rows,
		   char *err, size_t errlen)
{
	csv_table t;
	ae_model shape;
	float *rows = NULL;
	size_t n = 0;
	int rc = csv_read_file(path, &t, err, errlen);
	if (rc)
		return rc;
	/* ae_rows_from_table picks channels by name through a model's list */
	memset(&shape, 0, sizeof(shape));
	shape.n_channels = d->n_channels;
	memcpy(shape.channels, d->channels, sizeof(shape.channels));
	rc = ae_rows_from_table(&shape, &t, max_rows, &rows, &n, err, errlen);
	if (rc) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		rc = am_fail(err, errlen, AM_EFORMAT, "%s: %s", path, why);
		goto out;
	}
	int ct = csv_col(&t, "timestamp");
	if (ct < 0 || t.is_text[ct])
		ct = csv_col(&t, "t");
	if (ct >= 0 && t.is_text[ct])
		ct = -1;
	learn_data_cleanup(d);
	d->rows = rows;
	d->n = d->cap = n;
	rows = NULL;
	d->n_gaps = 0;
	d->lost = 0;
	d->rate_hz = rate_hz;
	if (ct >= 0 && n > 1) {
		double *ts = malloc(n * sizeof(*ts));
		if (!ts) {
			rc = am_fail(err, errlen, AM_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			ts[i] = t.values[i * t.n_cols + (size_t)ct];
		if (!(d->rate_hz > 0))
			d->rate_hz = ae_rate_from_times(ts, n);
		for (size_t i = 1; d->rate_hz > 0 && i < n; i++) {
			double k = (ts[i] - ts[i - 1]) * d->rate_hz;
			if (k > 1.5) {
				d->n_gaps++;
				d->lost += (uint64_t)llround(k) - 1;
			}
		}
		free(ts);
	}
	if (!(d->rate_hz > 0))
		rc = am_fail(err, errlen, AM_EFORMAT,
			     "%s: no timestamp or t column to find the rate from: give "
			     "--rate",
			     path);
out:
	free(rows);
	csv_free(&t);
	return rc;
}
