/* tracker — the alerter's per-sensor bookkeeping: turns decoded
 * predictions, acks, retained states and the passage of time into the
 * state messages and alerts to publish. No I/O, no clock reads, no logging:
 * the service passes times in and publishes what the emit callback hands
 * out, which is what makes restart and staleness testable without a broker.
 *
 * Per sensor:
 *  - OK / FAILURE come from common/state.h (sliding time window of window
 *    labels, separate enter/exit rates, min_windows of evidence); the
 *    tracker owns no state logic of its own.
 *  - STALE is an overlay kept here: a sensor with no prediction for
 *    stale_s (monotonic clock of arrival) is published STALE and alerted.
 *    The state.h machine keeps its OK/FAILURE (its labels age out by label
 *    time), so when predictions return and the span again holds
 *    min_windows labels, the sensor is published with the machine's
 *    verdict — hysteresis included (a machine that went silent in FAILURE
 *    must see the rate fall to exit_rate to come back OK).
 *  - A new sensor publishes nothing until it has min_windows labels in the
 *    span; its first verdict is then published (an alert only if that
 *    verdict is FAILURE: a new machine is presumed OK). A new sensor that
 *    goes silent before its first verdict is published STALE without an
 *    alert.
 *  - Alerts: one per change of the published state, id
 *    "{sensor}-{unix seconds}-{counter}" (counter per tracker, from 1).
 *    An alert into FAILURE names the channels that drove it ("top"): the
 *    shares that the anomalous predictions' "top" gave each channel,
 *    summed with a decay of e^(-dt/window_s), as shares of their total.
 *  - Acks: an ack naming the sensor's current alert id sets acked/acked_by
 *    and republishes the state (no alert); they clear on the next change.
 *    Any other id is ignored and counted.
 *
 * Start-up: the tracker begins in a restoring phase. tracker_restore()
 * feeds it the retained {root}/{sensor}/state messages; predictions are
 * taken in but nothing is emitted. tracker_start() ends the phase and
 * emits only what differs from the restored states, so a restart neither
 * repeats alerts nor forgets a FAILURE (a restored FAILURE is forced into
 * the machine and stays until the evidence says OK).
 *
 * Ownership: tracker_new() copies the params; the emit callback receives
 * messages owned by the tracker, valid only during the call; it may not
 * call back into the tracker. tracker_free() is NULL-safe. Single-threaded. */
#ifndef ANOMESH_TRACKER_H
#define ANOMESH_TRACKER_H

#include "msg.h"
#include "state.h"

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL
 *   AM_ENOMEM
 *   AM_EFULL   max_sensors reached: new sensor refused
 *   AM_EORDER  duplicate or out-of-order prediction: dropped
 */
#include "error.h"

/* A prediction more than this far behind the sensor's newest one is not a
 * reordering but a clock that went back (or a new replay): the evidence is
 * reset and the prediction taken. */
#define TRACKER_REWIND_S 60.0

typedef struct tracker_params {
	state_params sp;    /* the state logic (window_s, rates, min_windows) */
	double stale_s;     /* silence before STALE, > 0; default 30 */
	size_t max_sensors; /* default 1024 */
} tracker_params;

/* sp from state_defaults(), stale_s 30, max_sensors 1024. */
void tracker_params_default(tracker_params *p);

/* Called for every state message to publish (retained). alert is non-NULL
 * when the published state changed: publish it and notify people. */
typedef void (*tracker_emit_fn)(void *ud, const msg_state *st, const msg_alert *alert);

typedef struct tracker tracker;

typedef struct tracker_stats {
	uint64_t predictions;  /* taken into a state machine */
	uint64_t out_of_order; /* dropped as duplicate / out of order */
	uint64_t rewinds;      /* evidence reset after the clock went back */
	uint64_t refused;      /* new sensors over max_sensors */
	uint64_t transitions;  /* changes of published state (= alerts) */
	uint64_t acks;         /* accepted */
	uint64_t acks_ignored; /* unknown sensor, stale or unknown id */
	uint64_t restored;     /* retained states taken at start-up */
} tracker_stats;

/* Returns NULL with a reason in err for invalid params or no memory. */
tracker *tracker_new(const tracker_params *p, tracker_emit_fn emit, void *ud, char *err,
		     size_t errlen);
void tracker_free(tracker *t);

/* Start-up only (before tracker_start): take a retained state message.
 * Returns 0, AM_EINVAL after start or for a bad message, AM_EFULL. */
int tracker_restore(tracker *t, const msg_state *st, int64_t now_ms);

/* End the restoring phase and emit what changed meanwhile. Idempotent. */
void tracker_start(tracker *t, int64_t now_ms);
int tracker_started(const tracker *t);

/* Take one prediction (now_ms: monotonic arrival time). Returns 0,
 * AM_EORDER, AM_EFULL or AM_EINVAL. */
int tracker_prediction(tracker *t, const msg_prediction *p, int64_t now_ms);

/* An ack arrived on {root}/{sensor}/ack. Returns 1 accepted (state
 * re-emitted with acked), 0 ignored. */
int tracker_ack(tracker *t, const char *sensor, const msg_ack *a);

/* Look for silent sensors: any not STALE whose last prediction (or start)
 * is stale_s old at now_ms goes STALE, stamped now_wall (UNIX seconds).
 * Returns the number that went STALE. Does nothing while restoring. */
int tracker_tick(tracker *t, int64_t now_ms, double now_wall);

/* The state last emitted (or restored) for sensor, NULL if none. */
const msg_state *tracker_get(const tracker *t, const char *sensor);
size_t tracker_sensors(const tracker *t);
void tracker_get_stats(const tracker *t, tracker_stats *out);

#endif
