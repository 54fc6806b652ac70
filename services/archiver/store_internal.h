/* store_internal — what the three parts of the store share, and nobody
 * else may use: the store object, its prepared statements and the error
 * and transaction helpers. The public API is store.h; the parts are
 *   store.c            open/close, the batched writes, commit/rollback;
 *   store_ids.c        the in-memory caches of ids and run positions;
 *   store_retention.c  retention by age and by size, store_bytes();
 *   store_export.c     a time range of one sensor as CSV (store_export).
 *
 * Ownership: as store.h. Threads: one, as store.h. */
#ifndef ANOMESH_STORE_INTERNAL_H
#define ANOMESH_STORE_INTERNAL_H

#include "store.h"
#include "table.h"

#include <sqlite3.h>

/* The prepared statements, made once at store_open (store__sql in
 * store.c). */
enum {
	Q_SENSOR_GET,
	Q_SENSOR_ADD,
	Q_RUN_GET,
	Q_RUN_ADD,
	Q_RUN_UPD,
	Q_CS_GET,
	Q_CS_ADD,
	Q_MSG_ADD,
	Q_GAP_ADD,
	Q_GAP_FIND,
	Q_GAP_DEL,
	Q_PRED_ADD,
	Q_ALERT_ADD,
	Q_META_SET,
	Q_META_GET,
	Q_N
};

/* A run's row id and its highest seq so far (-1: none yet), with the end
 * time of that message (NAN: unknown); dirty: changed in the open batch,
 * to be written back at commit (it is then on the store's dirty list). */
typedef struct store_run {
	int64_t id;
	int64_t max_seq;
	double max_t1;
	int dirty;
	struct store_run *next_dirty;
} store_run;

/* A sensor's row id and its runs. */
typedef struct store_sensor {
	int64_t id;
	table runs; /* run id -> store_run */
} store_sensor;

struct store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_N];
	store_options o;
	int in_txn;
	int pending;
	store_stats st, pend; /* committed totals; counts of the open batch */
	double max_span, pend_span;
	/* caches of rows that exist (committed or in the open batch); thrown
	 * away at every rollback, bounded by STORE_CACHE_MAX entries */
	table sensors;    /* name -> store_sensor, which holds its runs */
	table chansets;   /* "a,b,c" -> store_chanset */
	size_t n_cached;  /* entries in all of them */
	store_run *dirty; /* runs whose max_seq changed in the open batch */
	float *blob;
	size_t blob_cap;
};

/* Map the database's last error to an AM_E* code (AM_EFULL, AM_EIO,
 * AM_ENOMEM or AM_EDB), describe it in err as "what: message" and count
 * it. */
int store__fail(store *s, const char *what, char *err, size_t errlen);

/* store__fail, then roll the open batch back; returns the code. */
int store__abort(store *s, const char *what, char *err, size_t errlen);

/* sqlite3_exec(sql); 0 or store__fail's code (no rollback). */
int store__exec(store *s, const char *sql, const char *what, char *err, size_t errlen);

/* Open a write transaction unless one is open. 0 or store__abort's code. */
int store__begin(store *s, char *err, size_t errlen);

/* ---- store_ids.c: the caches. Entries are owned by the store; a pointer
 * handed out stays valid until the next store__trim or store__forget
 * (store_rollback forgets). Lookups that miss read the database, inserting
 * the row when new, inside the open batch. */

/* The sensor called name. Returns 0, AM_EDB (SQLite's error stands) or
 * AM_ENOMEM. */
int store__sensor(store *s, const char *name, store_sensor **out);
/* The run `run` of sensor sn. Returns 0, AM_EDB or AM_ENOMEM. */
int store__run(store *s, store_sensor *sn, const char *run, store_run **out);
/* The id of m's channel set. Returns 0, AM_EDB or AM_ENOMEM. */
int store__chanset_id(store *s, const msg_raw *m, int64_t *id);
/* Put r on the dirty list (its max_seq changed). */
void store__run_dirty(store *s, store_run *r);
/* Write every dirty run back. Returns 0 or AM_EDB (the list is then left
 * for the rollback that follows). */
int store__flush_runs(store *s);
/* Past STORE_CACHE_MAX entries: write the dirty runs back and forget
 * everything. Call before the lookups of a put, never between them.
 * Returns 0 or AM_EDB. */
int store__trim(store *s);
/* Drop every cached entry (after a rollback the rows may not exist). */
void store__forget(store *s);

#endif
