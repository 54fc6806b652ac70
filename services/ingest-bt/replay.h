/* replay — a CSV log (an LpmsControl recording, an archiver export, any
 * plain CSV of numbers) played back as a sensor's sample stream: the csv:
 * sources of ingest-bt. Every numeric column but timestamp, frame and
 * sensor_id is a channel, named as common/csv normalises it. Rows are due
 * at the log's own rate (the mean step of its timestamp column; else the
 * configured rate) times the source's speed, from the moment the replay
 * starts; the frame column, when there is one, is the frame counter, else
 * the row number.
 *
 * Leaf code: no logging, no MQTT; the sensor (sensor.c) paces it from its
 * timers, counts bad rows and publishes. Ownership: replay is embedded by
 * the caller and owns the table read from the file; replay_cleanup()
 * releases it (NULL-safe, idempotent). */
#ifndef ANOMESH_REPLAY_H
#define ANOMESH_REPLAY_H

#include "csv.h"
#include "msg.h"

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EIO, AM_EFORMAT, AM_ENOMEM, AM_ETOOBIG  reading the file (csv.h)
 *   AM_EINVAL   no numeric column or no row; over MSG_MAX_CHANNELS
 *               channels or a name over MSG_CHANNEL_MAX
 */
#include "error.h"

typedef struct replay {
	csv_table tab;
	size_t n_ch;
	char names[MSG_MAX_CHANNELS][MSG_CHANNEL_MAX + 1]; /* the channels */
	int cols[MSG_MAX_CHANNELS];                        /* their columns */
	int frame_col;    /* -1: the row number is the frame */
	double rate_hz;   /* rows per second of the log */
	double speed;     /* times real time */
	size_t row;       /* next row */
	int64_t start_ms; /* monotonic ms of row 0 (-1: not started) */
} replay;

/* Read the CSV file at path and find its channels and rate (rate_hz: the
 * rate when the file has no numeric timestamp column). Returns 0, or a
 * code above with err saying "csv <path>: <why>". */
int replay_open(replay *r, const char *path, double rate_hz, double speed, char *err,
		size_t errlen);
void replay_cleanup(replay *r);

/* Row 0 is due at now_ms (the replay's first turn). */
void replay_start(replay *r, int64_t now_ms);
/* 1 once replay_start() was called. */
int replay_started(const replay *r);

enum replay_step {
	REPLAY_ROW,  /* vals[0..n_ch-1] and *frame filled */
	REPLAY_BAD,  /* a row with a value that is not a finite number: skipped */
	REPLAY_WAIT, /* the next row is not due yet */
	REPLAY_END,  /* every row was handed out */
};

/* The next row due at now_ms (vals has room for n_ch floats; *frame: the
 * row's frame, -1 for a frame cell that is not a valid counter). */
enum replay_step replay_next(replay *r, int64_t now_ms, float *vals, int64_t *frame);

/* Monotonic ms at which the next row is due (rounded up: replay_next()
 * hands it out once now >= the exact due time); 0 before the start. */
int64_t replay_deadline(const replay *r);

#endif
