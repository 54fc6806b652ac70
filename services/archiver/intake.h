/* intake — the archiver's pipeline from arrival to commit:
 *
 *   Paho thread:  intake_arrival()  -> spool_append()  (then Paho forgets it)
 *   service loop: intake_step()     -> spool_next() -> msg_*_decode()
 *                                   -> store_put_*() / csvsink_put()
 *                                   -> commit every commit_max or commit_ms,
 *                                      with the spool cursor in the same
 *                                      transaction; retention between commits
 *
 * A failed commit (disk full, I/O error) rolls the batch back, moves the
 * spool reader back to the committed cursor and pauses for retry_ms before
 * trying again: nothing is skipped and nothing is stored twice. While the
 * spool itself cannot be written (disk full), intake_arrival() retries on
 * Paho's thread instead of returning: Paho then stops reading from the
 * socket, the broker's in-flight window fills up and the broker keeps the
 * rest for our persistent session -- that is "stop acknowledging".
 *
 * Bad payloads are counted (mqtt malformed_dropped), logged once per
 * interval, and skipped.
 *
 * Ownership: intake_init() borrows store/csv/spool/metrics (the caller
 * closes them after intake_cleanup()); NULL store or csv disables that
 * sink (at least one required). */
#ifndef ANOMESH_INTAKE_H
#define ANOMESH_INTAKE_H

#include "csvsink.h"
#include "metrics.h"
#include "mqtt.h"
#include "spool.h"
#include "store.h"

#include <stdatomic.h>
#include <stdint.h>

/* The archiver's read_ms: at most this much between a message's spooling
 * (its PUBACK) and the loop reading it, when the loop is idle. */
#define INTAKE_READ_MS 10

typedef struct intake_options {
	const char *root;        /* topic root */
	int commit_max;          /* messages per transaction (1000) */
	int commit_ms;           /* max age of an open batch (200) */
	int retry_ms;            /* pause after a failed commit (2000) */
	int retention_ms;        /* min interval between retention steps (1000) */
	int read_ms;             /* after the spool ran dry, read it again no
				  * sooner than this (0: at once): one wake-up of
				  * the loop per batch of arrivals, not per
				  * message; the PUBACK does not wait for it */
	const char *cursor_file; /* CSV-only mode: where the cursor is kept */
} intake_options;

typedef struct intake {
	intake_options o;
	store *st;
	csvsink *csv;
	spool *sp;
	mqtt_client *mq; /* for mqtt_count_malformed (may be NULL) */
	spool_pos committed;
	int64_t batch_start_ms; /* monotonic ms when the open batch began */
	int pending;            /* messages read into the open batch */
	int failed;             /* last commit failed: paused until retry_at */
	int64_t retry_at_ms;
	int64_t retention_at_ms;
	int64_t read_at_ms; /* the spool ran dry: next read no sooner */
	int retention_busy; /* last step deleted something: step again soon */
	atomic_int spool_blocked;
	struct {
		metrics_slot *samples, *messages, *duplicates, *gaps, *predictions,
		    *alerts;
		metrics_slot *commit_us, *commit_us_max, *db_errors, *csv_errors,
		    *backlog;
		metrics_slot *spool_errors, *spool_blocked, *spool_torn, *deleted,
		    *db_bytes;
		metrics_slot *malformed, *repaired, *replay_dups;
	} m;
} intake;

/* Prepare the pipeline; reads the committed cursor (from the store or the
 * cursor file) into *from for spool_open(). Call intake_attach() once the
 * spool is open. Returns 0 or -1 with err. */
int intake_init(intake *in, const intake_options *o, store *st, csvsink *csv, metrics *m,
		spool_pos *from, char *err, size_t errlen);
void intake_attach(intake *in, spool *sp, mqtt_client *mq);

/* mqtt arrival hook (Paho's thread): spool the message and return 0
 * (consumed). While the spool cannot be written it retries, blocking Paho's
 * thread, and so never lets Paho acknowledge a message that is not on
 * disk. ud: the intake. */
int intake_arrival(void *ud, const mqtt_message *msg);

/* Do the due work: read spooled messages into the batch, commit when due,
 * a retention step when idle. Returns the milliseconds until it wants to
 * run again at the latest. */
int intake_step(intake *in);

/* Read everything spooled and commit (shutdown). 0 ok, -1 if a commit failed
 * (what was not committed stays in the spool for the next start). */
int intake_flush(intake *in);

void intake_cleanup(intake *in);

#endif
