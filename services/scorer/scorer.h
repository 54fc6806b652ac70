/* scorer — the service's core, free of any MQTT client so that tests can
 * drive it with payloads and collect what it publishes.
 *
 * It takes every message of {root}/+/raw and of the scorer membership
 * topics ({root}/_svc/scorer/+/status and .../group: the heartbeats, see
 * partition.h and SCALING.md), keeps one window
 * stream per sensor it owns (partition.h decides), queues each complete
 * window into its model's batch, and on scorer_flush() scores each batch
 * with one ae_score_batch() (one sgemm per layer for all sensors) and
 * publishes one prediction per window through the publish callback.
 * A batch that reaches batch_max windows is flushed at once.
 *
 * Latency: each window remembers the monotonic time at which the message
 * that completed it was handed to scorer_handle(); latency_ms is taken just
 * before the prediction is published.
 *
 * Rates: each sensor's stream is matched to its model's rate (ae.h:
 * ae_rate_plan) when its rate or its model changes: decimated when it is a
 * whole multiple, refused (one log line, raw_rate_refused per message)
 * when it cannot be fed faithfully.
 *
 * Models: the map's epoch tells when a models-directory file came or went;
 * each sensor then looks up its model again (its window restarts on the
 * new one).
 *
 * Metrics (in the registry given, next to the mqtt module's): raw_in,
 * raw_not_owned, raw_no_model, raw_rate_refused, raw_resampled,
 * malformed_dropped (shared with mqtt),
 * oversized_dropped, duplicates, gaps_seq, gaps_frame, gaps_time,
 * run_changes, out_of_order, rate_changes, channel_mismatch,
 * window_restarts, windows_scored, batches, predictions_out,
 * publish_failed, score_nonfinite, stale_skipped, sensors_known,
 * sensors_over_cap, sensors_active, sensors_owned, members, members_ghost,
 * members_expired, handovers_in, handovers_out, model_reloads_ok,
 * model_reloads_failed, latency_p50_us, latency_p99_us, latency_max_us.
 * It logs (once each) the ghosts of its group: members that retained
 * messages name but that do not heartbeat, with the topics to clear.
 *
 * Ownership: scorer_new() copies the options' strings and borrows the model
 * map and the metrics registry (both must outlive the scorer);
 * scorer_free() releases the rest (NULL-safe). Single-threaded: call
 * everything from the service loop. */
#ifndef ANOMESH_SCORER_SCORER_H
#define ANOMESH_SCORER_SCORER_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "models.h"

typedef struct scorer_opts {
	const char *root;   /* topic root */
	const char *self;   /* this scorer's instance id */
	const char *group;  /* scorer group: members split the sensors */
	double max_age_s;   /* skip windows older than this (0: never) */
	double max_gap_s;   /* restart on a time gap over this (0: off) */
	size_t batch_max;   /* windows per batch before a forced flush */
	size_t max_sensors; /* sensors tracked at most */
	size_t max_payload; /* raw payload bytes at most */
	/* group heartbeat period, and how long a silent member still counts
	 * (at least 3 heartbeats); 0: 1000 ms and 4 heartbeats */
	int64_t heartbeat_ms, member_timeout_ms;
} scorer_opts;

/* Publish one prediction payload for sensor. Returns 0 or negative; the
 * publisher counts its own refusals (the mqtt module does: overflow_dropped
 * or publish_failed), the scorer does not count them again. */
typedef int (*scorer_publish_fn)(void *ud, const char *sensor, const char *payload,
				 size_t len);

typedef struct scorer scorer;

/* NULL on failure with err (bad options, no memory). */
scorer *scorer_new(const scorer_opts *o, model_map *mm, metrics *m, scorer_publish_fn pub,
		   void *ud, char *err, size_t errlen);
void scorer_free(scorer *sc);

/* One arriving message: raw data or membership; anything else is ignored.
 * arrival_ns: clock_mono_ns() when it was taken from the inbox. */
void scorer_handle(scorer *sc, const char *topic, const void *payload, size_t len,
		   int64_t arrival_ns);
/* The same for a message that arrived with the retain flag set (a retained
 * copy delivered on subscribing): what a member once said, which never
 * makes it live. */
void scorer_handle_retained(scorer *sc, const char *topic, const void *payload,
			    size_t len, int64_t arrival_ns);

/* Apply the membership deadline at now_ns (drop silent members, find
 * ghosts). Returns the milliseconds until it has something to do again
 * (INT64_MAX: nothing pending; call it at least every heartbeat anyway). */
int64_t scorer_tick(scorer *sc, int64_t now_ns);

/* Score every queued window and publish. Returns predictions published. */
size_t scorer_flush(scorer *sc);

/* Windows queued, and the arrival time of the oldest (0 when none). */
size_t scorer_pending(const scorer *sc);
int64_t scorer_oldest_ns(const scorer *sc);

/* Flush, then reload changed model files (force: all, as on SIGHUP);
 * report (may be NULL) hears each result and the reload counters are
 * bumped. Sensors of a changed model restart their windows. Returns the
 * number of models that changed. */
int scorer_reload(scorer *sc, int force, models_report_fn report, void *ud);

/* Refresh the gauges: latency percentiles over the windows published since
 * the last call, sensors active (data within active_s) and owned, members. */
void scorer_update_gauges(scorer *sc, int64_t now_ns, double active_s);

/* Live members of the group as this scorer sees them (self included). */
size_t scorer_members(const scorer *sc);

#endif
