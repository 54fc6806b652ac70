/* iloop — ingest-bt's service loop: the sensors' descriptors and timers,
 * the MQTT inbox (repair requests, when a journal is kept), the journal's
 * fsync deadline and the pacing of republished messages. Before every
 * sleep the sensors' timers run, each says what to poll and when to wake,
 * the journal syncs what is due and resend.c sends what its pacing
 * allows; the loop wakes at the earliest of their deadlines (a second at
 * most).
 *
 * Ownership: everything in iloop_parts is borrowed for the run. */
#ifndef ANOMESH_ILOOP_H
#define ANOMESH_ILOOP_H

#include "journal.h"
#include "resend.h"
#include "sensor.h"
#include "svc.h"

#include <stddef.h>

typedef struct iloop_parts {
	sensor *sensors;
	size_t n;           /* at most ILOOP_MAX_SOURCES */
	int exit_when_done; /* stop once every source is a CSV replayed to its end */
	journal *jr;        /* NULL: no journal */
	resend *rs;         /* NULL: no repair requests served */
} iloop_parts;

#define ILOOP_MAX_SOURCES 64

/* Run until a stop signal (or, with exit_when_done, the end of the CSV
 * sources). Returns 0, or -1 after logging why it could not run. */
int iloop_run(svc *sv, const iloop_parts *p);

#endif
