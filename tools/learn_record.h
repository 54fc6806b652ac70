/* learn_record — `anomesh-learn`'s live mode: record --minutes of one
 * sensor's data from {root}/{sensor}/raw into learn_data.
 *
 * The minutes are minutes of samples at the sensor's rate (the first
 * message says it), whatever the wall clock does; progress goes to stderr
 * every 5 s; a stream silent for timeout_s ends the recording. Messages of
 * other sensors on the topic (there are none by the contract) are ignored.
 *
 * Ownership: the svc is the caller's, initialised with defer_mqtt: this
 * connects it, runs its loop until the data are in (or SIGTERM/SIGINT), and
 * disconnects it. The data are the caller's (learn_data_init before).
 *
 * Codes it returns (tree-wide, error.h), each with a reason in err:
 *   AM_EBROKER   cannot connect or subscribe
 *   AM_ETIMEOUT  no data for timeout_s
 *   AM_ESTOPPED  stopped before the data were in
 *   and learn_data_add's */
#ifndef ANOMESH_LEARN_RECORD_H
#define ANOMESH_LEARN_RECORD_H

#include <stddef.h>

#include "learn_data.h"
#include "svc.h"

int learn_record(svc *s, const svc_params *p, const char *sensor, double minutes,
		 double timeout_s, learn_data *d, char *err, size_t errlen);

#endif
