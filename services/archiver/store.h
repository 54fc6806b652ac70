/* store — the archiver's SQLite database: every raw sample (one row per
 * message, samples as a columnar float32 blob), the gaps in each run's
 * sequence numbers, predictions and alerts; retention by age and by size;
 * export of a time range as CSV for retraining. Layout and the measurements
 * that chose it: services/archiver/SCHEMA.md.
 *
 * Writes are batched: store_put_*() open a transaction when none is open
 * and the caller decides when to store_commit() (every N messages or T ms).
 * A failed statement or commit rolls the whole open batch back, clears
 * every in-memory cache that could describe rolled-back rows, and returns
 * AM_EFULL (disk or max size full), AM_EIO (I/O error) or AM_EDB;
 * the caller re-feeds the batch from its own durable copy later. The
 * database is never left half-written (SQLite's WAL guarantees that).
 *
 * Duplicates (same sensor, run, seq) are dropped and counted. A sequence
 * number above the highest seen for its (sensor, run) + 1 records a gap; a
 * late message inside a recorded gap shrinks or splits it. A message
 * marked as a replay (republished by ingest-bt on the archiver's request)
 * is stored the same way and flagged: "repaired". A gap the repair could
 * not fill in time is marked lost for good (store_gaps.c).
 *
 * The store keeps the ids of sensors, runs and channel sets and each run's
 * highest seq in memory (common/table.h: any number of sensors, bounded
 * memory); they never outlive a rollback.
 *
 * One API, files by job: store.c (open/close, writes, commit), store_ids.c
 * (the caches), store_retention.c (retention, store_bytes),
 * store_export.c (store_export) and store_gaps.c (the gaps' repair state);
 * store_internal.h is theirs alone.
 *
 * Threads: a store belongs to one thread. Ownership: store_open() allocates
 * the store, store_close() rolls back what is uncommitted and frees it
 * (NULL-safe). Nothing handed to store_put_*() is kept after the call. */
#ifndef ANOMESH_STORE_H
#define ANOMESH_STORE_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL     bad argument
 *   AM_ENOMEM
 *   AM_EDB        SQLite error (err says which)
 *   AM_EFULL      disk full or max_page_count reached
 *   AM_EIO        I/O error
 *   AM_ENOTFOUND
 */
#include "error.h"

typedef struct store_options {
	const char *path;       /* database file (required) */
	double retention_days;  /* 0: keep by age forever */
	int64_t max_bytes;      /* 0: no size cap; else retention deletes oldest */
	int64_t max_page_count; /* 0: none; test hook to simulate a full disk */
	int retention_batch;    /* messages deleted per retention step (500) */
	int busy_timeout_ms;    /* 0: 5000 */
} store_options;

void store_options_default(store_options *o);

typedef struct store_stats {
	int64_t messages;          /* raw messages stored (committed or pending) */
	int64_t samples;           /* samples in them */
	int64_t duplicates;        /* raw messages dropped as already stored */
	int64_t gaps;              /* missing messages recorded in gaps (net of fills) */
	int64_t repaired;          /* replays stored (each was missing) */
	int64_t replay_duplicates; /* replays dropped as already stored */
	int64_t lost;              /* missing messages given up for good */
	int64_t predictions, alerts;
	int64_t deleted; /* messages removed by retention */
	int64_t commits;
	int64_t errors; /* failed statements/commits */
} store_stats;

typedef struct store store;

/* Open (creating if needed) the database at o->path in WAL mode,
 * synchronous=NORMAL, auto_vacuum=INCREMENTAL. Returns 0 and *out, or a
 * negative AM_E* with err filled. */
int store_open(store **out, const store_options *o, char *err, size_t errlen);
void store_close(store *s);

/* Add one raw message to the open batch. *dup (may be NULL) is set to 1
 * when the message was already stored and dropped. Returns 0 or AM_E*
 * (after which the batch is rolled back). */
int store_put_raw(store *s, const msg_raw *m, double now, int *dup, char *err,
		  size_t errlen);
/* Predictions are unique on (sensor, t, model), alerts on id: replays are
 * dropped silently. */
int store_put_prediction(store *s, const msg_prediction *p, char *err, size_t errlen);
int store_put_alert(store *s, const msg_alert *a, char *err, size_t errlen);

/* A caller's cursor (e.g. an offset in its spool) saved in the same
 * transaction as the data: after a crash store_get_cursor() says exactly
 * how far the committed data goes. */
int store_set_cursor(store *s, int64_t gen, int64_t off, char *err, size_t errlen);
int store_get_cursor(store *s, int64_t *gen, int64_t *off, char *err, size_t errlen);

/* Messages added since the last commit (0: no batch open). */
int store_pending(const store *s);
/* Commit the open batch (no-op when none). On failure rolls back. */
int store_commit(store *s, char *err, size_t errlen);
/* Roll the open batch back (no-op when none). */
void store_rollback(store *s);

/* Counts since store_open (an open batch's only once it commits). */
void store_get_stats(const store *s, store_stats *st);

/* ---- retention (store_retention.c) ---- */

/* One small retention step, in its own transaction (call between commits,
 * never with a batch open): deletes at most retention_batch of the oldest
 * messages older than retention_days or while the database is above
 * max_bytes, older predictions/alerts/gaps, then frees pages with an
 * incremental vacuum. *deleted gets the messages removed (0: nothing left
 * to do). Returns 0 or AM_E*. */
int store_retention_step(store *s, double now, int *deleted, char *err, size_t errlen);

/* Bytes the database uses (pages in use, free pages excluded). */
int64_t store_bytes(store *s);

/* ---- the repair of gaps (store_gaps.c) ----
 * Each call is its own short transaction: call between commits, never
 * with a batch open (AM_EINVAL). */

/* An open gap to ask for: seq_from..seq_to of (sensor, run), and how many
 * times it was asked for already. */
typedef struct store_gap {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	int64_t run_id, seq_from, seq_to, requests;
} store_gap;

/* Up to max open gaps, found at least grace_s before now and due to be
 * asked for by now, the longest due first, into out; *n gets how many.
 * Returns 0 or AM_E*. */
int store_gaps_due(store *s, double now, double grace_s, store_gap *out, size_t max,
		   size_t *n, char *err, size_t errlen);

/* The n gaps were asked for: count it, and make each due again at
 * next[i]. Returns 0 or AM_E*. */
int store_gaps_requested(store *s, const store_gap *g, const double *next, size_t n,
			 char *err, size_t errlen);

/* Give up every open gap found before `before`: it stays in the table,
 * marked lost at now; *lost gets the messages in them (also counted in
 * store_stats.lost). Returns 0 or AM_E*. */
int store_gaps_expire(store *s, double before, double now, int64_t *lost, char *err,
		      size_t errlen);

/* Messages in the gaps still open (not lost); -1 on error. */
int64_t store_gaps_open(store *s);

/* ---- export (store_export.c) ---- */

/* Export samples of sensor with from <= t < to as CSV in csvrow.h's format
 * ("t,<channels>", one row per sample, t in UNIX seconds) to out.
 * channels: names to export (NULL or n_channels 0: the channel set of the
 * first message found); messages lacking one of them are skipped and
 * counted in *skipped. Gaps (recorded missing seqs) of the runs in the
 * range are written to gaps_out (may be NULL) as lines
 * "gap,<run>,<seq_from>,<seq_to>,<t_before>,<t_after>". *rows (may be
 * NULL) gets the sample rows written. Returns 0, AM_ENOTFOUND when nothing
 * matched, or AM_E*. */
int store_export(store *s, const char *sensor, double from, double to,
		 const char (*channels)[MSG_CHANNEL_MAX + 1], size_t n_channels,
		 FILE *out, FILE *gaps_out, int64_t *rows, int64_t *skipped, char *err,
		 size_t errlen);

#endif
