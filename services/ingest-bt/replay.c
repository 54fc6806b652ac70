/* replay — a CSV log played back as a sample stream (see replay.h).
 *
 * The whole file is read at open (common/csv, capped at CSV_MAX_BYTES), so
 * a replay never blocks the service loop on I/O; the due time of row k is
 * computed from the start as start + k / (rate x speed) rather than added
 * up step by step, so pacing does not drift over a long log. */
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int replay_open(replay *r, const char *path, double rate_hz, double speed, char *err,
		size_t errlen)
{
	char e[256];
	int ts, rc;

	memset(r, 0, sizeof(*r));
	r->speed = speed;
	r->start_ms = -1;
	rc = csv_read_file(path, &r->tab, e, sizeof(e));
	if (rc) {
		snprintf(err, errlen, "csv %s: %s", path, e);
		return rc;
	}
	for (size_t c = 0; c < r->tab.n_cols; c++) {
		const char *n = r->tab.names[c];
		if (r->tab.is_text[c] || !strcmp(n, "timestamp") || !strcmp(n, "frame") ||
		    !strcmp(n, "sensor_id"))
			continue;
		if (r->n_ch == MSG_MAX_CHANNELS || strlen(n) > MSG_CHANNEL_MAX) {
			snprintf(err, errlen,
				 "csv %s: column '%s': over %d channels or name too long",
				 path, n, MSG_MAX_CHANNELS);
			return AM_EINVAL;
		}
		snprintf(r->names[r->n_ch], sizeof(r->names[0]), "%s", n);
		r->cols[r->n_ch++] = (int)c;
	}
	if (r->n_ch == 0 || r->tab.n_rows == 0) {
		snprintf(err, errlen, "csv %s: no numeric columns or no rows", path);
		return AM_EINVAL;
	}
	r->frame_col = csv_col(&r->tab, "frame");
	if (r->frame_col >= 0 && r->tab.is_text[r->frame_col])
		r->frame_col = -1;
	r->rate_hz = rate_hz;
	ts = csv_col(&r->tab, "timestamp");
	if (ts >= 0 && !r->tab.is_text[ts] && r->tab.n_rows > 1) {
		/* mean step of the log's own clock */
		double t0 = r->tab.values[ts],
		       t1 = r->tab
				.values[(r->tab.n_rows - 1) * r->tab.n_cols + (size_t)ts];
		double dt = (t1 - t0) / (double)(r->tab.n_rows - 1);
		if (isfinite(dt) && dt > 0)
			r->rate_hz = round(1.0 / dt * 1000.0) / 1000.0;
	}
	return 0;
}

void replay_cleanup(replay *r)
{
	if (!r)
		return;
	csv_free(&r->tab);
}

void replay_start(replay *r, int64_t now_ms) { r->start_ms = now_ms; }

int replay_started(const replay *r) { return r->start_ms >= 0; }

enum replay_step replay_next(replay *r, int64_t now_ms, float *vals, int64_t *frame)
{
	const double *row;
	double due;
	int ok = 1;

	if (r->row >= r->tab.n_rows)
		return REPLAY_END;
	due = (double)r->start_ms + (double)r->row * 1000.0 / (r->rate_hz * r->speed);
	if ((double)now_ms < due)
		return REPLAY_WAIT;
	row = r->tab.values + r->row * r->tab.n_cols;
	*frame = (int64_t)r->row;
	if (r->frame_col >= 0) {
		double f = row[r->frame_col];
		*frame = (isfinite(f) && f >= 0 && f < 9e15) ? (int64_t)f : -1;
	}
	for (size_t c = 0; c < r->n_ch; c++) {
		vals[c] = (float)row[r->cols[c]];
		ok &= isfinite(vals[c]) != 0;
	}
	r->row++;
	return ok ? REPLAY_ROW : REPLAY_BAD;
}

int64_t replay_deadline(const replay *r)
{
	if (r->start_ms < 0)
		return 0;
	return r->start_ms +
	       (int64_t)ceil((double)r->row * 1000.0 / (r->rate_hz * r->speed));
}
