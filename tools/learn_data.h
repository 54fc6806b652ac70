/* learn_data — the data `anomesh-learn` learns a machine from: one sensor's
 * rows of chosen channels at one rate, with an account of what is missing.
 * Fed live, message by message, from {root}/{sensor}/raw (learn_data_add),
 * or from a CSV file (learn_data_csv: an `archiver export`, an LpmsControl
 * log, the emulator's --dump-csv).
 *
 * Gaps. Rows are appended in arrival order; what is missing between them is
 * counted, not filled: a raw message that does not continue the previous
 * one (a skipped seq, a frame counter that jumped, a new run) is a gap, and
 * the samples lost in it (from the frame counter, else seq x the message
 * size) add to `lost`. A duplicate (QoS 1 redelivery) is dropped. In a CSV
 * file a step of the time column over 1.5 sample periods is a gap. The
 * learner refuses data with too much missing (learn.h); the rest is joined.
 *
 * Ownership: learn_data is embedded by the caller; learn_data_init zeroes
 * it, learn_data_cleanup frees the rows (NULL-safe, idempotent). Nothing
 * here logs.
 *
 * Codes it returns (tree-wide, error.h):
 *   AM_EFORMAT  a message or file that cannot join the data (a channel
 *               missing, the rate changed); err says which
 *   AM_ENOMEM
 *   and csv_read_file's codes */
#ifndef ANOMESH_LEARN_DATA_H
#define ANOMESH_LEARN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "error.h"
#include "msg.h"

typedef struct learn_data {
	size_t n_channels;
	char channels[AE_MAX_CHANNELS][AE_NAME_MAX];
	float *rows; /* n x n_channels */
	size_t n, cap;
	double rate_hz; /* of the first message (or the file's time column) */
	size_t n_gaps;
	uint64_t lost; /* samples known to be missing in the gaps */
	size_t duplicates;
	/* continuity of the live stream */
	int started;
	char run[MSG_RUN_MAX + 1];
	uint64_t next_seq;
	int has_frame;
	int64_t next_frame;
} learn_data;

/* Empty data of the given channels (names copied). */
void learn_data_init(learn_data *d, const char *const *channels, size_t n_channels);
void learn_data_cleanup(learn_data *d);

/* Append a raw message's rows of d's channels. Returns 0 (also for a
 * duplicate, dropped and counted), AM_EFORMAT (a channel missing, or a
 * rate other than the first message's) or AM_ENOMEM. */
int learn_data_add(learn_data *d, const msg_raw *r, char *err, size_t errlen);

/* Replace d's rows by a CSV file's (first max_rows rows; 0: all). The rate
 * is rate_hz if > 0, else found from the "timestamp" or "t" column
 * (ae_rate_from_times); gaps from that column's steps. */
int learn_data_csv(learn_data *d, const char *path, double rate_hz, size_t max_rows,
		   char *err, size_t errlen);

/* Seconds of data held: n / rate_hz (0 without a rate). */
double learn_data_seconds(const learn_data *d);

#endif
