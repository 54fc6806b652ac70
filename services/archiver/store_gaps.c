/* store_gaps — the repair state of the archive's gaps (see store.h): which
 * open gaps are due to be asked for, when they were, and which are given
 * up. A gap row keeps its missing seqs exactly as before (store.c splits
 * and shrinks it as messages arrive); the repair adds requests,
 * next_request and lost. The open ones are found through the partial
 * index gaps_due(next_request) WHERE lost IS NULL, so the lost ones that
 * retention has not removed yet cost nothing (the queries that do not
 * range over next_request add "next_request >= -1e300", true of every
 * row, so that the planner may take that index). Statements here run a
 * few times a second at most: prepared per call. */
#include "store_internal.h"

#include <string.h>

/* Prepare sql; 0 or store__fail's code. */
static int store__prep(store *s, const char *sql, sqlite3_stmt **q, char *err,
		       size_t errlen)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK)
		return store__fail(s, "gaps", err, errlen);
	return 0;
}

static int store__no_batch(const store *s, char *err, size_t errlen)
{
	if (!s->in_txn)
		return 0;
	snprintf(err, errlen, "store: gap bookkeeping with a batch open");
	return AM_EINVAL;
}

int store_gaps_due(store *s, double now, double grace_s, store_gap *out, size_t max,
		   size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc;

	*n = 0;
	if ((rc = store__no_batch(s, err, errlen)) ||
	    (rc = store__prep(s,
			      "SELECT s.name, r.run, g.run_id, g.seq_from, g.seq_to,"
			      " g.requests FROM gaps g JOIN runs r ON r.id = g.run_id"
			      " JOIN sensors s ON s.id = g.sensor_id"
			      " WHERE g.lost IS NULL AND g.next_request <= ?1"
			      " AND g.detected <= ?2 ORDER BY g.next_request LIMIT ?3",
			      &q, err, errlen)))
		return rc;
	sqlite3_bind_double(q, 1, now);
	sqlite3_bind_double(q, 2, now - grace_s);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < max) {
		store_gap *g = &out[(*n)++];
		snprintf(g->sensor, sizeof(g->sensor), "%s",
			 (const char *)sqlite3_column_text(q, 0));
		snprintf(g->run, sizeof(g->run), "%s",
			 (const char *)sqlite3_column_text(q, 1));
		g->run_id = sqlite3_column_int64(q, 2);
		g->seq_from = sqlite3_column_int64(q, 3);
		g->seq_to = sqlite3_column_int64(q, 4);
		g->requests = sqlite3_column_int64(q, 5);
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW
		 ? 0
		 : store__fail(s, "gaps due", err, errlen);
	sqlite3_finalize(q);
	return rc;
}

int store_gaps_requested(store *s, const store_gap *g, const double *next, size_t n,
			 char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = store__no_batch(s, err, errlen)) || (rc = store__begin(s, err, errlen)))
		return rc;
	if ((rc = store__prep(s,
			      "UPDATE gaps SET requests = requests + 1, next_request = ?3"
			      " WHERE run_id = ?1 AND seq_from = ?2",
			      &q, err, errlen))) {
		store_rollback(s);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(q, 1, g[i].run_id);
		sqlite3_bind_int64(q, 2, g[i].seq_from);
		sqlite3_bind_double(q, 3, next[i]);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(q);
			return store__abort(s, "gap requested", err, errlen);
		}
	}
	sqlite3_finalize(q);
	s->pending = 1;
	return store_commit(s, err, errlen);
}

int store_gaps_expire(store *s, double before, double now, int64_t *lost, char *err,
		      size_t errlen)
{
	sqlite3_stmt *q;
	int rc;

	*lost = 0;
	if ((rc = store__no_batch(s, err, errlen)) || (rc = store__begin(s, err, errlen)))
		return rc;
	if ((rc = store__prep(s,
			      "SELECT coalesce(sum(seq_to - seq_from + 1), 0) FROM gaps"
			      " WHERE lost IS NULL AND next_request >= -1e300 AND"
			      " detected < ?1",
			      &q, err, errlen))) {
		store_rollback(s);
		return rc;
	}
	sqlite3_bind_double(q, 1, before);
	if (sqlite3_step(q) == SQLITE_ROW)
		*lost = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (*lost == 0) {
		store_rollback(s);
		return 0;
	}
	if ((rc = store__prep(s,
			      "UPDATE gaps SET lost = ?2 WHERE lost IS NULL AND"
			      " next_request >= -1e300 AND detected < ?1",
			      &q, err, errlen))) {
		store_rollback(s);
		return rc;
	}
	sqlite3_bind_double(q, 1, before);
	sqlite3_bind_double(q, 2, now);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store__abort(s, "gaps lost", err, errlen);
	s->pending = 1;
	s->pend.lost += *lost;
	rc = store_commit(s, err, errlen);
	if (rc)
		*lost = 0;
	return rc;
}

int64_t store_gaps_open(store *s)
{
	sqlite3_stmt *q;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT coalesce(sum(seq_to - seq_from + 1), 0) FROM gaps"
			       " WHERE lost IS NULL AND next_request >= -1e300",
			       -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}
