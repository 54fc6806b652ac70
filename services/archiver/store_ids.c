/* store_ids — the store's caches of row ids (sensors, channel sets, runs)
 * and of each run's highest seq, so that the hot INSERT of store_put_raw
 * binds integers only and a gap is found without a query (see
 * store_internal.h for the contract).
 *
 * Each cache is a keyed table (common/table.h): one hash per lookup
 * however many sensors there are (the 256-entry arrays this replaced
 * started overwriting at sensor 257). A sensor's runs hang off its entry,
 * so a run is found by its own string without building a composite key.
 * Runs whose max_seq changed are on a dirty list, written back at commit
 * in O(changed). Memory is bounded: past STORE_CACHE_MAX entries the dirty
 * runs are written back and everything is read again from the database
 * as it is used. */
#include "store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORE_CACHE_MAX 32768 /* sensors + runs + channel sets cached */
#define STORE_CHANSET_MAX (MSG_MAX_CHANNELS * (MSG_CHANNEL_MAX + 1) + 1)

typedef struct store_chanset {
	int64_t id;
} store_chanset;

static void store__sensor_free(void *v)
{
	store_sensor *sn = v;
	table_cleanup(&sn->runs, free);
	free(sn);
}

/* Drop every cached id and run position (they are read again from the
 * database on their next use). */
void store__forget(store *s)
{
	table_cleanup(&s->sensors, store__sensor_free);
	table_cleanup(&s->chansets, free);
	s->n_cached = 0;
	s->dirty = NULL;
}

/* Id of a row keyed by one text value, from the database, inserted when
 * new. get/add: the two statements. Returns 0 or AM_EDB (SQLite's error
 * stands). */
static int store__text_id(store *s, int get, int add, const char *text, int64_t *id)
{
	sqlite3_stmt *q = s->q[get];
	int rc;

	sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return AM_EDB;
	q = s->q[add];
	sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return AM_EDB;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* The cached sensor of name (its id and runs), from the database when not
 * cached. Returns 0, AM_EDB or AM_ENOMEM. */
int store__sensor(store *s, const char *name, store_sensor **out)
{
	store_sensor *sn = table_get(&s->sensors, name);
	int64_t id;
	int rc;

	if (sn) {
		*out = sn;
		return 0;
	}
	rc = store__text_id(s, Q_SENSOR_GET, Q_SENSOR_ADD, name, &id);
	if (rc)
		return rc;
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return AM_ENOMEM;
	sn->id = id;
	table_init(&sn->runs);
	if (table_put(&s->sensors, name, sn)) {
		free(sn);
		return AM_ENOMEM;
	}
	s->n_cached++;
	*out = sn;
	return 0;
}

/* Id of m's channel set ("a,b,c"). Returns 0, AM_EDB or AM_ENOMEM. */
int store__chanset_id(store *s, const msg_raw *m, int64_t *id)
{
	char names[STORE_CHANSET_MAX];
	size_t len = 0;
	store_chanset *cs;
	int rc;

	names[0] = 0;
	for (size_t c = 0; c < m->n_channels; c++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
					c ? "," : "", m->channels[c]);
	cs = table_get(&s->chansets, names);
	if (cs) {
		*id = cs->id;
		return 0;
	}
	rc = store__text_id(s, Q_CS_GET, Q_CS_ADD, names, id);
	if (rc)
		return rc;
	cs = malloc(sizeof(*cs));
	if (!cs)
		return AM_ENOMEM;
	cs->id = *id;
	if (table_put(&s->chansets, names, cs)) {
		free(cs);
		return AM_ENOMEM;
	}
	s->n_cached++;
	return 0;
}

/* Write a dirty run's max_seq back. Returns 0 or AM_EDB. */
static int store__run_flush(store *s, store_run *r)
{
	sqlite3_stmt *q = s->q[Q_RUN_UPD];
	int rc;
	if (!r->dirty)
		return 0;
	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_int64(q, 2, r->max_seq);
	if (isnan(r->max_t1))
		sqlite3_bind_null(q, 3);
	else
		sqlite3_bind_double(q, 3, r->max_t1);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return AM_EDB;
	r->dirty = 0;
	return 0;
}

/* Write back every run on the dirty list (at commit, and before the caches
 * are dropped by store__trim). Returns 0 or AM_EDB; on failure the list is
 * left for the rollback that follows. */
int store__flush_runs(store *s)
{
	while (s->dirty) {
		store_run *r = s->dirty;
		if (store__run_flush(s, r))
			return AM_EDB;
		s->dirty = r->next_dirty;
		r->next_dirty = NULL;
	}
	return 0;
}

/* Keep the caches bounded (thousands of sensors, each starting a new run
 * at every ingest restart, for months): past STORE_CACHE_MAX entries,
 * write the dirty runs back and start again. Called before any lookup of
 * a put, so that no entry in use is freed. Returns 0 or AM_EDB. */
int store__trim(store *s)
{
	if (s->n_cached < STORE_CACHE_MAX)
		return 0;
	if (store__flush_runs(s))
		return AM_EDB;
	store__forget(s);
	return 0;
}

/* The cached run `run` of sensor sn, from the database (created there
 * when new) when not cached. Returns 0, AM_EDB or AM_ENOMEM. */
int store__run(store *s, store_sensor *sn, const char *run, store_run **out)
{
	sqlite3_stmt *q = s->q[Q_RUN_GET];
	store_run *r = table_get(&sn->runs, run);
	int rc;

	if (r) {
		*out = r;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return AM_ENOMEM;
	r->max_seq = -1;
	r->max_t1 = NAN;
	sqlite3_bind_int64(q, 1, sn->id);
	sqlite3_bind_text(q, 2, run, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(q, 0);
		r->max_seq = sqlite3_column_int64(q, 1);
		if (sqlite3_column_type(q, 2) != SQLITE_NULL)
			r->max_t1 = sqlite3_column_double(q, 2);
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE) {
		q = s->q[Q_RUN_ADD];
		sqlite3_bind_int64(q, 1, sn->id);
		sqlite3_bind_text(q, 2, run, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			r->id = sqlite3_last_insert_rowid(s->db);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(r);
		return AM_EDB;
	}
	if (table_put(&sn->runs, run, r)) {
		free(r);
		return AM_ENOMEM;
	}
	s->n_cached++;
	*out = r;
	return 0;
}

void store__run_dirty(store *s, store_run *r)
{
	if (r->dirty)
		return;
	r->dirty = 1;
	r->next_dirty = s->dirty;
	s->dirty = r;
}
