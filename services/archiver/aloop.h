/* aloop — the archiver's service loop: the spool's descriptor wakes it
 * (intake_arrival has spooled something), and before every sleep
 * intake_step() does the due work (read, store, commit, retention) and
 * repair_step() asks for missing messages when no batch is open; the loop
 * wakes at the earliest time either wants. While the arrival hook waits
 * for spool space it holds Paho's client mutex, so the loop then leaves
 * MQTT alone (no metrics publish, no repair request).
 *
 * Ownership: everything is borrowed for the run. */
#ifndef ANOMESH_ALOOP_H
#define ANOMESH_ALOOP_H

#include "intake.h"
#include "repair.h"
#include "spool.h"
#include "svc.h"

/* Run until a stop signal. rp may be NULL (no repair). Returns 0, or -1
 * after logging why it could not run. */
int aloop_run(svc *sv, intake *in, spool *sp, repair *rp);

#endif
