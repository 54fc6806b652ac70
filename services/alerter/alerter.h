/* alerter — the service's loop: MQTT in (predictions, acks, retained
 * states at start-up, service status), the tracker in the middle, MQTT out
 * ({root}/{sensor}/state retained, {root}/{sensor}/alert) and the notify
 * sinks (webhook, command). main.c only parses options and calls this.
 *
 * Start-up: subscribe, wait for the broker, then collect retained
 * {root}/+/state messages for restore_ms before anything is published
 * (tracker restoring phase); then run until a stop signal, ticking the
 * tracker for STALE every loop (at most tick_ms apart).
 *
 * Every state change is also printed as one line in the log, e.g.
 *   STATE arm1-lpms OK -> FAILURE (anomaly rate 0.62 over 10 s) alert
 * arm1-lpms-1764151190-1
 *
 * Metrics (besides mqtt's and notify's): predictions_in, predictions_bad
 * (malformed predictions; every malformed message, of any kind, is in the
 * mqtt module's malformed_dropped),
 * predictions_out_of_order, sensors, sensors_refused, transitions, alerts,
 * acks, acks_ignored, states_restored, publish_failed, ready (1 once the
 * retained states are collected and states are being published),
 * broker_dropped (the broker's own count of the messages it dropped since it
 * started, from $SYS/broker/publish/messages/dropped: a subscriber's queue
 * full; each rise is logged as a warning).
 *
 * Ownership: alerter_new() borrows the svc (its mqtt client and metrics
 * must outlive the alerter) and copies the options; alerter_free() waits up
 * to drain_ms for notifications in flight, then stops the sinks; NULL-safe. */
#ifndef ANOMESH_ALERTER_H
#define ANOMESH_ALERTER_H

#include "notify.h"
#include "svc.h"
#include "tracker.h"

typedef struct alerter_options {
	tracker_params tp;
	notify_options no;
	long restore_ms; /* retained-state collection at start-up; default 1500 */
	long tick_ms;    /* STALE check period; default 200 */
	long drain_ms;   /* wait for notifications at exit; default 2000 */
} alerter_options;

void alerter_options_default(alerter_options *o);

typedef struct alerter alerter;

/* NULL with a reason in err on bad options or no memory. */
alerter *alerter_new(svc *s, const alerter_options *o, char *err, size_t errlen);
void alerter_free(alerter *a);

/* Subscribe, restore, run the svc's loop until a stop signal. Returns 0,
 * or -1 (logged). */
int alerter_run(alerter *a);

#endif
