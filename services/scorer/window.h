/* window — one sensor's live stream cut into the model's windows.
 *
 * A win_stream takes the sensor's raw messages in arrival order, checks
 * that each continues the previous one (same run, next seq, expected frame
 * counter, time moving forward, same rate, the model's channels present),
 * standardises the model's channels of every sample and keeps the last
 * `window` rows in a ring. Every time the ring holds a full window whose end
 * falls on the hop grid (window, window+hop, ... samples after the stream
 * (re)started), it hands the window to an emit callback. The windows are
 * therefore exactly those ae_make_windows() cuts from the same rows offline.
 *
 * When a message does not continue the stream (gap, new run, time going
 * back, rate change, model change) the ring is emptied and the message
 * starts a fresh window: nothing is ever padded or interpolated, so no
 * invented sample is scored.
 *
 * Rates. A model's windows are `window` samples at the rate it was trained
 * at. ae_rate_plan() (ae.h) says how a stream feeds it: at about the
 * model's rate (within AE_RATE_TOL: sensor clocks and logs drift, the
 * LPMS-B2 recordings run at 45-49 Hz of a nominal 50) every sample is
 * taken; at
 * about a whole multiple k of it (a sensor set to 100 Hz, a 50 Hz model)
 * every k-th sample is (the caller sets `step`), which is the stream the
 * sensor itself sends at the lower rate: the LPMS-B2 and the synthetic arm
 * emit point samples of their state at the set rate, not averages, so
 * keeping every k-th sample reproduces the lower rate's samples, noise and
 * all, where an averaging filter would hand the model smoother windows
 * than it was trained on. Slower streams, or ratios not near a whole
 * number, cannot be fed faithfully (interpolating would invent samples)
 * and are refused by the caller. Duplicates (QoS 1 redelivery: same run, seq
 * already seen) and messages lacking a model channel are dropped whole.
 *
 * The ring stores every row twice (at i and i + window) so that the latest
 * window is always one contiguous block: emitting costs no copy here, the
 * callback copies it straight into the batch.
 *
 * Ownership: win_stream is embedded by the caller; win_stream_init() zeroes
 * it, the ring is allocated on the first message and freed by
 * win_stream_cleanup() (NULL-safe, idempotent). Nothing here logs. */
#ifndef ANOMESH_SCORER_WINDOW_H
#define ANOMESH_SCORER_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "msg.h"

/* Events of win_feed(), a bit mask. The first group restarts the window;
 * the second drops the message. */
#define WIN_EV_SEQ_GAP 0x01u   /* seq jumped forward */
#define WIN_EV_FRAME_GAP 0x02u /* frame0 differs from the expected counter */
#define WIN_EV_RUN 0x04u       /* new run id (ingest restarted) */
#define WIN_EV_ORDER 0x08u     /* t0 not after the previous message's t0 */
#define WIN_EV_RATE 0x10u      /* rate_hz changed */
#define WIN_EV_MODEL 0x20u     /* the model changed since the last message */
#define WIN_EV_TIME_GAP 0x40u  /* t0 later than expected by over max_gap_s */
#define WIN_EV_RESTART_MASK 0x7fu
#define WIN_EV_DUP 0x100u      /* seq already seen in this run: dropped */
#define WIN_EV_CHANNELS 0x200u /* a model channel is missing: dropped */
#define WIN_EV_NOMEM 0x400u    /* ring allocation failed: dropped */
#define WIN_EV_DROP_MASK 0x700u

/* Called for each complete window: `window` is ae_input_size(m) floats of
 * standardised samples (valid only during the call), t_start and t_end the
 * times of its first and last sample (t0 + i / rate_hz). */
typedef void (*win_emit_fn)(void *ud, const float *window, double t_start, double t_end);

typedef struct win_stream {
	/* continuity of the message stream */
	int started;
	char run[MSG_RUN_MAX + 1];
	uint64_t next_seq;
	int has_frame;
	int64_t next_frame;
	double last_t0;
	double next_t0; /* last_t0 + n_samples / rate_hz */
	double rate_hz;
	double max_gap_s;  /* set by the caller; 0: no time-gap check */
	size_t step;       /* set by the caller: keep every step-th sample (0, 1: all) */
	size_t bound_step; /* the step the ring holds samples at */
	size_t skip;       /* samples to drop before the next one kept */
	/* model binding: the ring is laid out for this model */
	uint64_t model_gen;
	size_t window, n_channels;
	/* ring: 2 * window rows of n_channels floats, and their times */
	float *rows;
	double *times;
	size_t head;    /* next row to write, 0 .. window-1 */
	size_t filled;  /* rows held, <= window */
	size_t to_next; /* samples until the next window ends */
	size_t hop;
} win_stream;

void win_stream_init(win_stream *s);
void win_stream_cleanup(win_stream *s);

/* Forget the buffered rows and continuity (e.g. the sensor moved to
 * another scorer); the ring memory is freed too, max_gap_s and step kept. */
void win_stream_reset(win_stream *s);

/* Feed one decoded raw message (already validated by msg_raw_decode: finite
 * values, rows of n_channels). m is the sensor's model and model_gen its
 * load generation (a new generation restarts the window, as does a new
 * s->step). Calls emit for each window the message completes, oldest
 * first; with a step k, every k-th sample of the stream goes into the
 * window, counted from the first sample after a restart. Returns the WIN_EV_*
 * mask of what happened (0: the message simply continued the stream). */
unsigned win_feed(win_stream *s, const ae_model *m, uint64_t model_gen, const msg_raw *r,
		  win_emit_fn emit, void *ud);

/* Indices of m's channels in r's channel list into idx[m->n_channels].
 * Returns 0, or -1 when one is missing. */
int win_channel_map(const ae_model *m, const msg_raw *r, size_t *idx);

#endif
