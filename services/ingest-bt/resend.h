/* resend — ingest-bt's side of the repair (issue 17): what a consumer
 * lost is republished from the journal (journal.h), marked "replay":true
 * so that the scorer does not score stale windows (docs/contract.md).
 *
 *  - Requests arrive on {root}/+/repair (msg_repair: sensor, run,
 *    seq_from..seq_to) through the MQTT inbox; the part the journal holds
 *    waits in a queue, one entry per (sensor, run), later requests merged
 *    into it; seqs it does not hold are counted (replay_missing).
 *  - Beacons: every beacon_ms, the last journalled message of each (sensor,
 *    run) with nothing newer for beacon_ms is republished too. A consumer
 *    finds gaps only between messages it has, so this is how it learns
 *    where a run ended: a tail lost with a broker, or a run it never saw
 *    (ingest restarted while the broker or the consumer was down).
 *  - Pacing: at most `rate` messages a second, and only while the MQTT
 *    client's outbound queue (gauge outbound_queued) is below max_queued,
 *    so that a large repair never crowds live data out of the offline
 *    buffer; the entries are served in turn, a few messages each.
 *
 * Metrics: repair_requests, repair_malformed (also malformed_dropped),
 * repair_dropped (queue full), replayed, replay_missing, beacons,
 * replay_queued (gauge: messages waiting).
 *
 * Threads: the service loop's. Ownership: resend_new allocates,
 * resend_free frees (NULL-safe); the journal, client and metrics are
 * borrowed and must outlive it. */
#ifndef ANOMESH_RESEND_H
#define ANOMESH_RESEND_H

#include "journal.h"
#include "metrics.h"
#include "mqtt.h"

#include <stdint.h>

/* Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM. */
#include "error.h"

typedef struct resend_options {
	double rate;        /* messages per second at most (> 0) */
	int64_t beacon_ms;  /* 0: no beacons */
	int64_t max_queued; /* publish while the outbound queue is below this */
	size_t max_pending; /* (sensor, run) entries waiting; 0: 4096 */
} resend_options;

typedef struct resend resend;

int resend_new(resend **out, const resend_options *o, journal *jr, mqtt_client *mq,
	       metrics *m, char *err, size_t errlen);
void resend_free(resend *r);

/* Queue what the journal holds of q. Returns 0, or AM_EOVERFLOW when the
 * queue is full (counted in repair_dropped; the consumer asks again). */
int resend_request(resend *r, const msg_repair *q);

/* mqtt_handler for the service's inbox: a repair request, checked
 * (topic and payload; refusals counted and logged once per interval) and
 * queued. ud: the resend. Returns 0. */
int resend_on_message(void *ud, const mqtt_message *msg);

/* Publish what the pacing allows now, and queue the beacons when due. */
void resend_step(resend *r, int64_t now_ms);

/* Monotonic ms by which resend_step wants to run: the next message the
 * pacing allows while some are queued, else the next beacon (INT64_MAX
 * without beacons). */
int64_t resend_deadline(const resend *r);

#endif
