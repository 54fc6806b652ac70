/* pub — batching of one sensor's samples into {root}/{sensor}/raw messages
 * (contract.md): a message holds consecutive samples of one channel layout
 * and is due when it has max_samples rows or its first row is max_ms old,
 * whichever comes first. A gap in the sensor's frame counter, a new channel
 * layout or a new rate closes the batch first, so frame0 + row index is
 * always the frame of a row. seq counts 0, 1, 2, ... per (sensor, run).
 *
 * Ownership: pub_batch is embedded by the caller; it owns its msg_raw and
 * its JSON buffer, released by pub_cleanup() (NULL-safe, idempotent).
 * The message pub_take() hands out borrows the batch's storage. */
#ifndef ANOMESH_PUB_H
#define ANOMESH_PUB_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_ENOMEM
 *   AM_EINVAL   layout over MSG_MAX_CHANNELS, bad names
 *   AM_EENCODE  the encoder refused the batch (err says why)
 */
#include "error.h"

typedef struct pub_batch {
	msg_raw m;
	size_t max_samples;
	int64_t max_ms;
	int64_t started_ms; /* monotonic ms of the first row */
	uint32_t layout;    /* caller's id of the channel layout */
	int64_t next_frame; /* frame the next row must have; -1: no frames */
	msg_raw taken;      /* the last message taken: a view of m's storage */
	char *json;
	size_t json_cap;
} pub_batch;

/* sensor and run are copied. max_samples 1..MSG_MAX_SAMPLES, max_ms >= 1. */
int pub_init(pub_batch *b, const char *sensor, const char *run, size_t max_samples,
	     int64_t max_ms);
void pub_cleanup(pub_batch *b);

/* 1 if a row with this layout, rate and frame (-1: none) continues the
 * open batch (or the batch is empty), else 0: the caller flushes first. */
int pub_continues(const pub_batch *b, uint32_t layout, double rate_hz, int64_t frame);

/* Append one row. An empty batch takes the layout: names (n_ch of them),
 * rate and t0 = wall (UNIX seconds) of this row. Returns 0, AM_EINVAL or
 * AM_ENOMEM. The caller has checked pub_continues(). */
int pub_add(pub_batch *b, uint32_t layout, const char *const *names, size_t n_ch,
	    double rate_hz, int64_t frame, const float *vals, double wall,
	    int64_t now_ms);

/* 1 when the batch is full or old enough to go out at now_ms. */
int pub_due(const pub_batch *b, int64_t now_ms);
/* Monotonic ms at which a non-empty batch falls due; INT64_MAX if empty. */
int64_t pub_deadline(const pub_batch *b);
size_t pub_rows(const pub_batch *b);

/* Encode the batch as JSON into *json and *len (owned by b, valid until the
 * next call), take the next seq and empty the batch. *m (may be NULL) gets
 * the message taken, rows and seq as encoded (for the journal), valid
 * until the next pub_add(). Returns 0, or AM_EENCODE (the batch is
 * dropped; seq not consumed). */
int pub_take(pub_batch *b, const char **json, size_t *len, const msg_raw **m, char *err,
	     size_t errlen);

#endif
