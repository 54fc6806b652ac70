/* store_internal — what the three parts of the store share, and nobody
 * else may use: the store object, its prepared statements and the error
 * and transaction helpers. The public API is store.h; the parts are
 *   store.c            open/close, the batched writes, commit/rollback
 *                      and the in-memory caches of ids and run positions;
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

typedef struct store_run store_run;

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

#endif
