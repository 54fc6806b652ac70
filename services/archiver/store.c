/* store — the archiver's SQLite archive: opening it, the batched writes
 * of raw samples, gaps, predictions and alerts, commit and rollback (see
 * store.h for the API, SCHEMA.md for the layout and why; the id caches,
 * retention and export are store_ids.c, store_retention.c and
 * store_export.c).
 *
 * Design: one row per raw message with its samples as a columnar float32
 * blob (measured ~6x faster and ~4x smaller than a row per sample); ids for
 * sensors, runs and channel sets so that the hot INSERT binds integers
 * only, and each run's highest seq in memory so that a gap is seen without
 * a query. Every failure rolls the whole batch back and forgets the
 * caches, so that they never describe rows that do not exist. */
#include "store_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SCHEMA_VERSION 2

static const char *const store__ddl =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sensors(id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL, run TEXT NOT NULL, max_seq INTEGER NOT NULL,"
    " max_t1 REAL, UNIQUE(sensor_id, run));"
    "CREATE TABLE IF NOT EXISTS chansets(id INTEGER PRIMARY KEY,"
    " names TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS messages(id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL, run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " t0 REAL NOT NULL, t1 REAL NOT NULL, rate_hz REAL NOT NULL, frame0 INTEGER,"
    " chanset_id INTEGER NOT NULL, n INTEGER NOT NULL, received REAL NOT NULL,"
    " samples BLOB NOT NULL, replay INTEGER);"
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_key ON messages(run_id, seq);"
    "CREATE INDEX IF NOT EXISTS messages_time ON messages(sensor_id, t0);"
    "CREATE TABLE IF NOT EXISTS gaps(run_id INTEGER NOT NULL,"
    " seq_from INTEGER NOT NULL, seq_to INTEGER NOT NULL,"
    " sensor_id INTEGER NOT NULL, t_before REAL, t_after REAL,"
    " detected REAL NOT NULL, requests INTEGER NOT NULL DEFAULT 0,"
    " next_request REAL NOT NULL DEFAULT 0, lost REAL,"
    " PRIMARY KEY(run_id, seq_from)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS gaps_time ON gaps(sensor_id, t_after);"
    "CREATE TABLE IF NOT EXISTS predictions(id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL, t REAL NOT NULL, t_start REAL NOT NULL,"
    " n INTEGER NOT NULL, score REAL NOT NULL, threshold REAL NOT NULL,"
    " anomaly INTEGER NOT NULL, model TEXT NOT NULL, latency_ms REAL,"
    " UNIQUE(sensor_id, t, model));"
    "CREATE TABLE IF NOT EXISTS alerts(id INTEGER PRIMARY KEY,"
    " alert_id TEXT NOT NULL UNIQUE, sensor_id INTEGER NOT NULL, t REAL NOT NULL,"
    " from_state TEXT NOT NULL, to_state TEXT NOT NULL, severity TEXT NOT NULL,"
    " anomaly_rate REAL NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES('schema_version', 2);"
    "INSERT OR IGNORE INTO meta VALUES('cursor_gen', 0);"
    "INSERT OR IGNORE INTO meta VALUES('cursor_off', 0);"
    "INSERT OR IGNORE INTO meta VALUES('max_span', 0);";

/* Version 1 to 2: the repair's columns (an ALTER TABLE ADD COLUMN only
 * writes the schema: no row is rewritten). */
static const char *const store__v2 =
    "ALTER TABLE messages ADD COLUMN replay INTEGER;"
    "ALTER TABLE gaps ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE gaps ADD COLUMN next_request REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE gaps ADD COLUMN lost REAL;"
    "UPDATE gaps SET next_request = detected;"
    "UPDATE meta SET value = 2 WHERE key = 'schema_version';";

/* After any migration: the open gaps by when they are due to be asked
 * for (store_gaps.c). */
static const char *const store__index =
    "CREATE INDEX IF NOT EXISTS gaps_due ON gaps(next_request) WHERE lost IS NULL;";

static const char *const store__sql[Q_N] = {
    [Q_SENSOR_GET] = "SELECT id FROM sensors WHERE name=?1",
    [Q_SENSOR_ADD] = "INSERT INTO sensors(name) VALUES(?1)",
    [Q_RUN_GET] = "SELECT id, max_seq, max_t1 FROM runs WHERE sensor_id=?1 AND run=?2",
    [Q_RUN_ADD] = "INSERT INTO runs(sensor_id, run, max_seq) VALUES(?1, ?2, -1)",
    [Q_RUN_UPD] = "UPDATE runs SET max_seq=?2, max_t1=?3 WHERE id=?1",
    [Q_CS_GET] = "SELECT id FROM chansets WHERE names=?1",
    [Q_CS_ADD] = "INSERT INTO chansets(names) VALUES(?1)",
    [Q_MSG_ADD] = "INSERT OR IGNORE INTO messages(sensor_id, run_id, seq, t0, t1,"
		  " rate_hz, frame0, chanset_id, n, received, samples, replay)"
		  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [Q_GAP_ADD] = "INSERT OR REPLACE INTO gaps(run_id, seq_from, seq_to, sensor_id,"
		  " t_before, t_after, detected, requests, next_request, lost)"
		  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [Q_GAP_FIND] = "SELECT seq_from, seq_to, t_before, t_after, detected, requests,"
		   " next_request, lost FROM gaps"
		   " WHERE run_id=?1 AND seq_from<=?2 ORDER BY seq_from DESC LIMIT 1",
    [Q_GAP_DEL] = "DELETE FROM gaps WHERE run_id=?1 AND seq_from=?2",
    [Q_PRED_ADD] = "INSERT OR IGNORE INTO predictions(sensor_id, t, t_start, n, score,"
		   " threshold, anomaly, model, latency_ms)"
		   " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [Q_ALERT_ADD] = "INSERT OR IGNORE INTO alerts(alert_id, sensor_id, t, from_state,"
		    " to_state, severity, anomaly_rate) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [Q_META_SET] = "UPDATE meta SET value=?2 WHERE key=?1",
    [Q_META_GET] = "SELECT value FROM meta WHERE key=?1",
};

void store_options_default(store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->retention_batch = 500;
	o->busy_timeout_ms = 5000;
}

/* Disk full shows up as SQLITE_FULL or as an I/O error whose errno is
 * ENOSPC. */
int store__fail(store *s, const char *what, char *err, size_t errlen)
{
	int code = sqlite3_extended_errcode(s->db);
	int sys = sqlite3_system_errno(s->db);
	int rc;

	if ((code & 0xff) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT)
		rc = AM_EFULL;
	else if ((code & 0xff) == SQLITE_IOERR)
		rc = AM_EIO;
	else if ((code & 0xff) == SQLITE_NOMEM)
		rc = AM_ENOMEM;
	else
		rc = AM_EDB;
	if (err && errlen)
		snprintf(err, errlen, "%s: %s%s%s", what, sqlite3_errmsg(s->db),
			 sys ? ": " : "", sys ? strerror(sys) : "");
	s->st.errors++;
	return rc;
}

int store__exec(store *s, const char *sql, const char *what, char *err, size_t errlen)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store__fail(s, what, err, errlen);
	return 0;
}

void store_rollback(store *s)
{
	if (!s)
		return;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = 0;
	s->pending = 0;
	memset(&s->pend, 0, sizeof(s->pend));
	s->pend_span = s->max_span;
	/* rows behind cached ids or max_seq may just have vanished */
	store__forget(s);
}

int store__abort(store *s, const char *what, char *err, size_t errlen)
{
	int rc = store__fail(s, what, err, errlen);
	store_rollback(s);
	return rc;
}

int store__begin(store *s, char *err, size_t errlen)
{
	if (s->in_txn)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store__abort(s, "begin", err, errlen);
	s->in_txn = 1;
	return 0;
}

static double store__meta_double(store *s, const char *key)
{
	sqlite3_stmt *q = s->q[Q_META_GET];
	double v = 0;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_double(q, 0);
	sqlite3_reset(q);
	return v;
}

static int store__meta_set(store *s, const char *key, sqlite3_int64 iv, double dv,
			   int is_int)
{
	sqlite3_stmt *q = s->q[Q_META_SET];
	int rc;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (is_int)
		sqlite3_bind_int64(q, 2, iv);
	else
		sqlite3_bind_double(q, 2, dv);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The schema version, before the statements are prepared (-1: none). */
static double store__version(store *s)
{
	sqlite3_stmt *q;
	double v = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='schema_version'",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	return v;
}

int store_open(store **out, const store_options *o, char *err, size_t errlen)
{
	store *s;
	char pragma[96];
	int rc = 0;

	*out = NULL;
	if (!o || !o->path || !*o->path) {
		snprintf(err, errlen, "store: no database path");
		return AM_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "store: out of memory");
		return AM_ENOMEM;
	}
	s->o = *o;
	if (s->o.retention_batch <= 0)
		s->o.retention_batch = 500;
	if (s->o.busy_timeout_ms <= 0)
		s->o.busy_timeout_ms = 5000;
	if (sqlite3_open_v2(o->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		rc = s->db ? store__fail(s, o->path, err, errlen) : AM_ENOMEM;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, s->o.busy_timeout_ms);
	/* auto_vacuum must be set before the first table exists; WAL and
	 * NORMAL sync: a commit is an append to the WAL, fsync at checkpoint. */
	rc = store__exec(s,
			 "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;"
			 " PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=67108864;"
			 " PRAGMA foreign_keys=OFF;",
			 "pragmas", err, errlen);
	if (rc)
		goto out;
	if (o->max_page_count > 0) {
		snprintf(pragma, sizeof(pragma), "PRAGMA max_page_count=%lld",
			 (long long)o->max_page_count);
		rc = store__exec(s, pragma, "max_page_count", err, errlen);
		if (rc)
			goto out;
	}
	rc = store__exec(s, "BEGIN IMMEDIATE", "schema", err, errlen);
	if (!rc)
		rc = store__exec(s, store__ddl, "schema", err, errlen);
	if (!rc)
		rc = store__exec(s, "COMMIT", "schema", err, errlen);
	if (rc) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (store__version(s) == 1) {
		rc = store__exec(s, "BEGIN IMMEDIATE", "schema v2", err, errlen);
		if (!rc)
			rc = store__exec(s, store__v2, "schema v2", err, errlen);
		if (!rc)
			rc = store__exec(s, "COMMIT", "schema v2", err, errlen);
		if (rc) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	if ((rc = store__exec(s, store__index, "schema", err, errlen)))
		goto out;
	for (int i = 0; i < Q_N; i++) {
		if (sqlite3_prepare_v3(s->db, store__sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s->q[i],
				       NULL) != SQLITE_OK) {
			rc = store__fail(s, "prepare", err, errlen);
			goto out;
		}
	}
	if (store__meta_double(s, "schema_version") != STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %g, this archiver reads %d",
			 o->path, store__meta_double(s, "schema_version"),
			 STORE_SCHEMA_VERSION);
		rc = AM_EDB;
		goto out;
	}
	s->max_span = s->pend_span = store__meta_double(s, "max_span");
out:
	if (rc) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void store_close(store *s)
{
	if (!s)
		return;
	if (s->db)
		store_rollback(s);
	store__forget(s);
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s->blob);
	free(s);
}

/* A helper's failure as the put's result: the batch rolled back, and
 * either SQLite's error (what) or "out of memory". */
static int store__put_fail(store *s, int rc, const char *what, char *err, size_t errlen)
{
	if (rc != AM_ENOMEM)
		return store__abort(s, what, err, errlen);
	store_rollback(s);
	snprintf(err, errlen, "store: out of memory");
	return AM_ENOMEM;
}

/* A gap's repair state (store_gaps.c): requests sent, when the next is
 * due, when it was given up (NAN: open). A new gap is due at detection. */
typedef struct store__gstate {
	int64_t requests;
	double next_request, lost;
} store__gstate;

static int store__gap_add(store *s, const store_run *r, int64_t sensor_id, int64_t from,
			  int64_t to, double t_before, double t_after, double detected,
			  const store__gstate *g)
{
	sqlite3_stmt *q = s->q[Q_GAP_ADD];
	int rc;
	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	sqlite3_bind_int64(q, 4, sensor_id);
	if (isnan(t_before))
		sqlite3_bind_null(q, 5);
	else
		sqlite3_bind_double(q, 5, t_before);
	if (isnan(t_after))
		sqlite3_bind_null(q, 6);
	else
		sqlite3_bind_double(q, 6, t_after);
	sqlite3_bind_double(q, 7, detected);
	sqlite3_bind_int64(q, 8, g ? g->requests : 0);
	sqlite3_bind_double(q, 9, g ? g->next_request : detected);
	if (g && !isnan(g->lost))
		sqlite3_bind_double(q, 10, g->lost);
	else
		sqlite3_bind_null(q, 10);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A late message (seq below the run's max) fills part of a recorded gap:
 * replace the gap by what is left on either side of seq. */
static int store__gap_fill(store *s, const store_run *r, int64_t sensor_id, int64_t seq,
			   double t0, double t1)
{
	sqlite3_stmt *q = s->q[Q_GAP_FIND];
	int64_t from, to;
	double tb, ta, det;
	store__gstate g;
	int rc;

	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_int64(q, 2, seq);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	from = sqlite3_column_int64(q, 0);
	to = sqlite3_column_int64(q, 1);
	tb = sqlite3_column_type(q, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 2);
	ta = sqlite3_column_type(q, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 3);
	det = sqlite3_column_double(q, 4);
	g.requests = sqlite3_column_int64(q, 5);
	g.next_request = sqlite3_column_double(q, 6);
	g.lost =
	    sqlite3_column_type(q, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(q, 7);
	sqlite3_reset(q);
	if (seq > to)
		return 0; /* not inside a gap */
	q = s->q[Q_GAP_DEL];
	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_int64(q, 2, from);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return -1;
	if (from < seq && store__gap_add(s, r, sensor_id, from, seq - 1, tb, t0, det, &g))
		return -1;
	if (seq < to && store__gap_add(s, r, sensor_id, seq + 1, to, t1, ta, det, &g))
		return -1;
	s->pend.gaps--;
	return 0;
}

int store_put_raw(store *s, const msg_raw *m, double now, int *dup, char *err,
		  size_t errlen)
{
	sqlite3_stmt *q = s->q[Q_MSG_ADD];
	int64_t sensor_id, cs_id;
	store_sensor *sn;
	store_run *r;
	size_t n = m->n_samples, nc = m->n_channels;
	double t1, span;
	int rc;

	if (dup)
		*dup = 0;
	if (!n || !nc || !(m->rate_hz > 0) || !m->samples || m->seq > INT64_MAX) {
		snprintf(err, errlen, "store: empty or invalid raw message");
		return AM_EINVAL;
	}
	rc = store__begin(s, err, errlen);
	if (rc)
		return rc;
	if ((rc = store__trim(s)) || (rc = store__sensor(s, m->sensor, &sn)) ||
	    (rc = store__run(s, sn, m->run, &r)) ||
	    (rc = store__chanset_id(s, m, &cs_id)))
		return store__put_fail(s, rc, "ids", err, errlen);
	sensor_id = sn->id;
	if (s->blob_cap < n * nc) {
		float *b = realloc(s->blob, n * nc * sizeof(float));
		if (!b) {
			store_rollback(s);
			snprintf(err, errlen, "store: out of memory");
			return AM_ENOMEM;
		}
		s->blob = b;
		s->blob_cap = n * nc;
	}
	/* columnar: channel c occupies blob[c*n .. c*n+n-1] */
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < nc; c++)
			s->blob[c * n + i] = m->samples[i * nc + c];
	span = (double)(n - 1) / m->rate_hz;
	t1 = m->t0 + span;
	sqlite3_bind_int64(q, 1, sensor_id);
	sqlite3_bind_int64(q, 2, r->id);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)m->seq);
	sqlite3_bind_double(q, 4, m->t0);
	sqlite3_bind_double(q, 5, t1);
	sqlite3_bind_double(q, 6, m->rate_hz);
	if (m->has_frame0)
		sqlite3_bind_int64(q, 7, m->frame0);
	else
		sqlite3_bind_null(q, 7);
	sqlite3_bind_int64(q, 8, cs_id);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)n);
	sqlite3_bind_double(q, 10, now);
	sqlite3_bind_blob(q, 11, s->blob, (int)(n * nc * sizeof(float)), SQLITE_STATIC);
	if (m->replay)
		sqlite3_bind_int(q, 12, 1);
	else
		sqlite3_bind_null(q, 12);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store__abort(s, "insert message", err, errlen);
	if (sqlite3_changes(s->db) == 0) {
		if (m->replay)
			s->pend.replay_duplicates++;
		else
			s->pend.duplicates++;
		if (dup)
			*dup = 1;
		return 0;
	}
	s->pending++;
	s->pend.messages++;
	s->pend.repaired += m->replay != 0;
	s->pend.samples += (int64_t)n;
	if (span > s->pend_span)
		s->pend_span = span;
	if ((int64_t)m->seq > r->max_seq + 1) {
		if (store__gap_add(s, r, sensor_id, r->max_seq + 1, (int64_t)m->seq - 1,
				   r->max_t1, m->t0, now, NULL))
			return store__abort(s, "insert gap", err, errlen);
		s->pend.gaps += (int64_t)m->seq - 1 - r->max_seq;
	} else if ((int64_t)m->seq < r->max_seq) {
		if (store__gap_fill(s, r, sensor_id, (int64_t)m->seq, m->t0, t1))
			return store__abort(s, "fill gap", err, errlen);
		return 0;
	}
	if ((int64_t)m->seq > r->max_seq) {
		r->max_seq = (int64_t)m->seq;
		r->max_t1 = t1;
		store__run_dirty(s, r);
	}
	return 0;
}

int store_put_prediction(store *s, const msg_prediction *p, char *err, size_t errlen)
{
	sqlite3_stmt *q = s->q[Q_PRED_ADD];
	store_sensor *sn;
	int rc = store__begin(s, err, errlen);
	if (rc)
		return rc;
	if ((rc = store__trim(s)) || (rc = store__sensor(s, p->sensor, &sn)))
		return store__put_fail(s, rc, "sensor id", err, errlen);
	sqlite3_bind_int64(q, 1, sn->id);
	sqlite3_bind_double(q, 2, p->t);
	sqlite3_bind_double(q, 3, p->t_start);
	sqlite3_bind_int64(q, 4, p->n);
	sqlite3_bind_double(q, 5, p->score);
	sqlite3_bind_double(q, 6, p->threshold);
	sqlite3_bind_int(q, 7, p->anomaly ? 1 : 0);
	sqlite3_bind_text(q, 8, p->model, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 9, p->latency_ms);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store__abort(s, "insert prediction", err, errlen);
	s->pending++;
	s->pend.predictions += sqlite3_changes(s->db);
	return 0;
}

/* State names as the contract writes them (kept here so that the store does
 * not need the codec). */
static const char *store__state(state_kind k)
{
	return k == STATE_OK ? "OK" : k == STATE_FAILURE ? "FAILURE" : "STALE";
}

int store_put_alert(store *s, const msg_alert *a, char *err, size_t errlen)
{
	sqlite3_stmt *q = s->q[Q_ALERT_ADD];
	store_sensor *sn;
	int rc = store__begin(s, err, errlen);
	if (rc)
		return rc;
	if ((rc = store__trim(s)) || (rc = store__sensor(s, a->sensor, &sn)))
		return store__put_fail(s, rc, "sensor id", err, errlen);
	sqlite3_bind_text(q, 1, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, sn->id);
	sqlite3_bind_double(q, 3, a->t);
	sqlite3_bind_text(q, 4, store__state(a->from), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, store__state(a->to), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, a->severity, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 7, a->anomaly_rate);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return store__abort(s, "insert alert", err, errlen);
	s->pending++;
	s->pend.alerts += sqlite3_changes(s->db);
	return 0;
}

int store_set_cursor(store *s, int64_t gen, int64_t off, char *err, size_t errlen)
{
	int rc = store__begin(s, err, errlen);
	if (rc)
		return rc;
	if (store__meta_set(s, "cursor_gen", gen, 0, 1) ||
	    store__meta_set(s, "cursor_off", off, 0, 1))
		return store__abort(s, "save cursor", err, errlen);
	return 0;
}

int store_get_cursor(store *s, int64_t *gen, int64_t *off, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*gen = (int64_t)store__meta_double(s, "cursor_gen");
	*off = (int64_t)store__meta_double(s, "cursor_off");
	return 0;
}

int store_pending(const store *s)
{
	return s->in_txn ? (s->pending ? s->pending : 1) : 0;
}

int store_commit(store *s, char *err, size_t errlen)
{
	if (!s->in_txn)
		return 0;
	if (store__flush_runs(s))
		return store__abort(s, "update run", err, errlen);
	if (s->pend_span > s->max_span &&
	    store__meta_set(s, "max_span", 0, s->pend_span, 0))
		return store__abort(s, "update max_span", err, errlen);
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return store__abort(s, "commit", err, errlen);
	s->in_txn = 0;
	s->pending = 0;
	s->max_span = s->pend_span;
	s->st.messages += s->pend.messages;
	s->st.samples += s->pend.samples;
	s->st.duplicates += s->pend.duplicates;
	s->st.replay_duplicates += s->pend.replay_duplicates;
	s->st.repaired += s->pend.repaired;
	s->st.lost += s->pend.lost;
	s->st.gaps += s->pend.gaps;
	s->st.predictions += s->pend.predictions;
	s->st.alerts += s->pend.alerts;
	s->st.commits++;
	memset(&s->pend, 0, sizeof(s->pend));
	return 0;
}

void store_get_stats(const store *s, store_stats *st) { *st = s->st; }
