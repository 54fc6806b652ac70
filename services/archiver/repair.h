/* repair — the archiver asks for what it is missing (issue 17). The gaps
 * table knows every missing (sensor, run, seq) range; every interval_ms
 * this module asks ingest-bt, on {root}/{sensor}/repair (msg_repair), for
 * each open gap that is due: first once it is grace_s old (a late
 * redelivery may still fill it), then again retry_s later, the wait
 * doubling up to retry_max_s while the gap stays open. ingest-bt
 * republishes what its journal holds, marked as replays; they arrive like
 * any raw message, fill the gap and are counted as repaired (store.c,
 * intake.c's gaps_repaired). A gap still open max_age_s after it was found
 * is given up: it stays in the table, marked lost, and is counted.
 *
 * Metrics: repair_requests (requests sent), gaps_lost (messages given up
 * for good), gaps_open (gauge: messages in open gaps).
 *
 * Threads: the service loop's; repair_step only between commits (the
 * store's gap bookkeeping is its own transaction). Ownership: repair is
 * embedded by the caller; repair_init allocates its buffers,
 * repair_cleanup frees them (NULL-safe, idempotent); store, client and
 * metrics are borrowed. */
#ifndef ANOMESH_REPAIR_H
#define ANOMESH_REPAIR_H

#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "store.h"

#include <stdint.h>

/* Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM. */
#include "error.h"

typedef struct repair_options {
	double grace_s;     /* ask once a gap is this old */
	double retry_s;     /* then again after this, doubling ... */
	double retry_max_s; /* ... up to this */
	double max_age_s;   /* give up a gap this long after it was found */
	int interval_ms;    /* how often to look (0: 1000) */
	size_t batch;       /* requests per look at most (0: 256) */
} repair_options;

typedef struct repair {
	repair_options o;
	store *st;
	mqtt_client *mq;
	int64_t next_ms;
	store_gap *due;
	double *again;
	struct {
		metrics_slot *requests, *lost, *open;
	} m;
	log_every le;
} repair;

/* Returns 0, AM_EINVAL (bad options, err) or AM_ENOMEM. */
int repair_init(repair *rp, const repair_options *o, store *st, metrics *m, char *err,
		size_t errlen);
/* The client requests go out on (connected after the spool exists). */
void repair_attach(repair *rp, mqtt_client *mq);
/* If interval_ms has passed: give up the gaps past max_age_s, ask for the
 * due ones (while the client is connected), set the gauge. Call with no
 * batch open. Returns the ms until it wants to run again. */
int repair_step(repair *rp, int64_t now_ms);
void repair_cleanup(repair *rp);

#endif
