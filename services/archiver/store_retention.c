/* store_retention — the archive's retention (see store.h): by age and by
 * size, in small steps. Each step walks the oldest rows by rowid, at most
 * retention_batch of them, in its own transaction, so that its cost is
 * bounded however large the table is and the archiver's writes wait for
 * one step at most; freed pages go back to the file system a bounded
 * number at a time (incremental vacuum). */
#include "store_internal.h"

static int64_t store__pragma_int(store *s, const char *sql)
{
	sqlite3_stmt *q;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

int64_t store_bytes(store *s)
{
	int64_t pages = store__pragma_int(s, "PRAGMA page_count");
	int64_t freep = store__pragma_int(s, "PRAGMA freelist_count");
	int64_t psize = store__pragma_int(s, "PRAGMA page_size");
	if (pages < 0 || freep < 0 || psize < 0)
		return -1;
	return (pages - freep) * psize;
}

/* Run a DELETE with ?1 = cutoff (or unused) and ?2 = batch; returns rows
 * deleted or -1. */
static int store__delete(store *s, const char *sql, double cutoff, int batch)
{
	sqlite3_stmt *q;
	int rc;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_double(q, 1, cutoff);
	sqlite3_bind_int(q, 2, batch);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? sqlite3_changes(s->db) : -1;
}

int store_retention_step(store *s, double now, int *deleted, char *err, size_t errlen)
{
	int batch = s->o.retention_batch, n = 0, k;
	int rc;

	*deleted = 0;
	if (s->in_txn) {
		snprintf(err, errlen, "store: retention with a batch open");
		return AM_EINVAL;
	}
	if (s->o.retention_days <= 0 && s->o.max_bytes <= 0)
		return 0;
	rc = store__begin(s, err, errlen);
	if (rc)
		return rc;
	if (s->o.retention_days > 0) {
		double cutoff = now - s->o.retention_days * 86400.0;
		/* only the oldest `batch` rows by rowid are looked at: bounded work */
		k = store__delete(
		    s,
		    "DELETE FROM messages WHERE id IN (SELECT id FROM (SELECT"
		    " id, t1 FROM messages ORDER BY id LIMIT ?2) WHERE t1 < ?1)",
		    cutoff, batch);
		if (k < 0)
			return store__abort(s, "retention", err, errlen);
		n += k;
		if (store__delete(
			s,
			"DELETE FROM predictions WHERE id IN (SELECT id FROM (SELECT"
			" id, t FROM predictions ORDER BY id LIMIT ?2) WHERE t < ?1)",
			cutoff, batch) < 0 ||
		    store__delete(
			s,
			"DELETE FROM alerts WHERE id IN (SELECT id FROM (SELECT"
			" id, t FROM alerts ORDER BY id LIMIT ?2) WHERE t < ?1)",
			cutoff, batch) < 0 ||
		    store__delete(s,
				  "DELETE FROM gaps WHERE (run_id, seq_from) IN"
				  " (SELECT run_id, seq_from FROM gaps WHERE t_after < ?1"
				  " LIMIT ?2)",
				  cutoff, batch) < 0)
			return store__abort(s, "retention", err, errlen);
	}
	if (s->o.max_bytes > 0 && n == 0 && store_bytes(s) > s->o.max_bytes) {
		k = store__delete(
		    s,
		    "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
		    " ORDER BY id LIMIT ?2)",
		    0, batch);
		if (k < 0)
			return store__abort(s, "size retention", err, errlen);
		n += k;
	}
	s->pending = 1;
	rc = store_commit(s, err, errlen);
	if (rc)
		return rc;
	/* give the freed pages back to the file system, a bounded number */
	rc = store__exec(s, "PRAGMA incremental_vacuum(2000)", "incremental_vacuum", err,
			 errlen);
	if (rc)
		return rc;
	s->st.deleted += n;
	*deleted = n;
	return 0;
}
