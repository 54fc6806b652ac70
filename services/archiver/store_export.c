/* store_export — a time range of one sensor's samples out of the archive
 * as CSV (see store.h), in the format of csvrow.h. Messages are read in
 * (t0, rowid) order through the (sensor, t0) index, starting max_span
 * before the range so that a message that began before it but reaches
 * into it is not missed; rows are cut to the range sample by sample. The
 * channel set is matched once per change of chanset id, not per row. */
#include "store_internal.h"

#include "csvrow.h"

#include <errno.h>
#include <string.h>

/* Split "a,b,c" into names; returns the count. */
static size_t store__split(const char *names, char (*out)[MSG_CHANNEL_MAX + 1])
{
	size_t n = 0;
	const char *p = names;
	while (*p && n < MSG_MAX_CHANNELS) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > MSG_CHANNEL_MAX)
			len = MSG_CHANNEL_MAX;
		memcpy(out[n], p, len);
		out[n++][len] = 0;
		if (!e)
			break;
		p = e + 1;
	}
	return n;
}

static int store__export_gaps(store *s, int64_t sensor_id, double from, double to,
			      FILE *gaps_out)
{
	sqlite3_stmt *q;
	int rc;
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT r.run, g.seq_from, g.seq_to, g.t_before, g.t_after"
		" FROM gaps g JOIN runs r ON r.id=g.run_id"
		" WHERE g.sensor_id=?1 AND (g.t_after IS NULL OR g.t_after >= ?2)"
		" AND (g.t_before IS NULL OR g.t_before < ?3)"
		" ORDER BY g.t_after",
		-1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, sensor_id);
	sqlite3_bind_double(q, 2, from);
	sqlite3_bind_double(q, 3, to);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fprintf(gaps_out, "gap,%s,%lld,%lld,%.6f,%.6f\n",
			sqlite3_column_text(q, 0), (long long)sqlite3_column_int64(q, 1),
			(long long)sqlite3_column_int64(q, 2),
			sqlite3_column_double(q, 3), sqlite3_column_double(q, 4));
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_export(store *s, const char *sensor, double from, double to,
		 const char (*channels)[MSG_CHANNEL_MAX + 1], size_t n_channels,
		 FILE *out, FILE *gaps_out, int64_t *rows, int64_t *skipped, char *err,
		 size_t errlen)
{
	char want[MSG_MAX_CHANNELS][MSG_CHANNEL_MAX + 1];
	char have[MSG_MAX_CHANNELS][MSG_CHANNEL_MAX + 1];
	size_t idx[MSG_MAX_CHANNELS];
	float v[MSG_MAX_CHANNELS];
	size_t n_want = 0, n_have = 0;
	int64_t cur_cs = -1, sensor_id = -1, nrows = 0, nskip = 0;
	sqlite3_stmt *q = NULL;
	int rc, ok_cs = 0, header = 0;

	if (rows)
		*rows = 0;
	if (skipped)
		*skipped = 0;
	if (n_channels > MSG_MAX_CHANNELS) {
		snprintf(err, errlen, "export: too many channels");
		return AM_EINVAL;
	}
	for (size_t i = 0; i < n_channels; i++)
		snprintf(want[n_want++], sizeof(want[0]), "%s", channels[i]);
	{
		sqlite3_stmt *g = s->q[Q_SENSOR_GET];
		sqlite3_bind_text(g, 1, sensor, -1, SQLITE_STATIC);
		if (sqlite3_step(g) == SQLITE_ROW)
			sensor_id = sqlite3_column_int64(g, 0);
		sqlite3_reset(g);
	}
	if (sensor_id < 0) {
		snprintf(err, errlen, "export: no data for sensor '%s'", sensor);
		return AM_ENOTFOUND;
	}
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT m.t0, m.rate_hz, m.n, m.chanset_id, c.names, m.samples"
		" FROM messages m JOIN chansets c ON c.id=m.chanset_id"
		" WHERE m.sensor_id=?1 AND m.t0 < ?3 AND m.t0 >= ?2 - ?4"
		" ORDER BY m.t0, m.id",
		-1, &q, NULL) != SQLITE_OK)
		return store__fail(s, "export", err, errlen);
	sqlite3_bind_int64(q, 1, sensor_id);
	sqlite3_bind_double(q, 2, from);
	sqlite3_bind_double(q, 3, to);
	sqlite3_bind_double(q, 4, s->max_span + 1.0);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		double t0 = sqlite3_column_double(q, 0),
		       rate = sqlite3_column_double(q, 1);
		int64_t n = sqlite3_column_int64(q, 2), cs = sqlite3_column_int64(q, 3);
		const float *blob = sqlite3_column_blob(q, 5);
		size_t bytes = (size_t)sqlite3_column_bytes(q, 5);

		if (cs != cur_cs) {
			cur_cs = cs;
			n_have =
			    store__split((const char *)sqlite3_column_text(q, 4), have);
			if (!n_want) {
				memcpy(want, have, sizeof(have[0]) * n_have);
				n_want = n_have;
			}
			ok_cs = 1;
			for (size_t w = 0; w < n_want && ok_cs; w++) {
				ok_cs = 0;
				for (size_t h = 0; h < n_have; h++)
					if (!strcmp(want[w], have[h])) {
						idx[w] = h;
						ok_cs = 1;
						break;
					}
			}
			if (!header && ok_cs) {
				char line[CSVROW_HEADER_MAX];
				header = 1;
				if (csvrow_header(line, sizeof(line), want, n_want) > 0)
					fputs(line,
					      out); /* always fits: n_want is capped */
			}
		}
		if (!ok_cs || n <= 0 || bytes != (size_t)n * n_have * sizeof(float) ||
		    !blob) {
			nskip++;
			continue;
		}
		for (int64_t i = 0; i < n; i++) {
			double t = t0 + (double)i / rate;
			if (t < from || t >= to)
				continue;
			for (size_t w = 0; w < n_want; w++)
				memcpy(&v[w], blob + idx[w] * (size_t)n + (size_t)i,
				       sizeof(v[w]));
			/* a write error stays in ferror(out), checked at the end */
			(void)csvrow_write(out, t, v, n_want);
			nrows++;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store__fail(s, "export", err, errlen);
	if (gaps_out && store__export_gaps(s, sensor_id, from, to, gaps_out))
		return store__fail(s, "export gaps", err, errlen);
	if (rows)
		*rows = nrows;
	if (skipped)
		*skipped = nskip;
	if (!nrows) {
		snprintf(err, errlen, "export: no samples of '%s' in [%.3f, %.3f)%s",
			 sensor, from, to, nskip ? " with the requested channels" : "");
		return AM_ENOTFOUND;
	}
	if (ferror(out)) {
		snprintf(err, errlen, "export: write error: %s", strerror(errno));
		return AM_EIO;
	}
	return 0;
}
