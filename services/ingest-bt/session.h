/* session — the host side of an LPMS-B2 session, as LP's host libraries
 * run it (OpenZen/LpSensor): enter command mode, read the firmware version,
 * the config register and the six calibration blocks, set stream rate,
 * output mask and data mode, read the config back to verify, go to stream
 * mode; then decode data frames, apply the calibration and watch for
 * silence. Each command step waits for its reply with a timeout and is
 * re-sent a few times before the session gives up.
 *
 * No I/O and no clock of its own: the caller feeds received bytes and the
 * monotonic time, sends what the session queues in out/out_len, and on a
 * failure closes the link and starts a new session after a backoff. That
 * keeps the protocol testable against the emulator core in memory.
 *
 * Ownership: session is embedded by the caller and holds no heap memory. */
#ifndef ANOMESH_SESSION_H
#define ANOMESH_SESSION_H

#include "lpbus.h"
#include "lpms.h"

#include <stddef.h>
#include <stdint.h>

#define SESS_OUT_MAX 512
#define SESS_MAX_STEPS 16
#define SESS_ERR_MAX 200

typedef struct sess_cfg {
	unsigned rate_hz;    /* 5..400 */
	uint32_t mask;       /* LPMS_OUT_* */
	int int16;           /* request 16-bit data mode */
	int apply_calib;     /* read and apply the sensor's calibration */
	int step_timeout_ms; /* per command reply (default 500) */
	int step_tries;      /* sends per command before failing (default 3) */
	int silence_ms;      /* streaming with no valid data frame this long fails */
} sess_cfg;

void sess_cfg_default(sess_cfg *c);

enum sess_state { SESS_INIT, SESS_STREAMING, SESS_FAILED };

typedef struct sess_step {
	uint16_t fn;
	int has_arg;
	uint32_t arg;
	uint16_t expect; /* LPMS_ACK, or the function code of the reply */
	int verify;      /* GET_CONFIG that must show what was set */
} sess_step;

typedef struct sess_stats {
	uint64_t samples;       /* data frames decoded and delivered */
	uint64_t decode_errors; /* data frames with a length/value that does not fit */
	uint64_t stray;         /* frames that answered nothing we asked */
	uint64_t resends;       /* command re-sent after a timeout */
} sess_stats;

/* Called for each decoded sample; frame is ticks / (400 / rate). */
typedef void (*sess_sample_fn)(void *ud, const lpms_sample *s, int64_t frame);

typedef struct session {
	sess_cfg cfg;
	enum sess_state state;
	sess_step steps[SESS_MAX_STEPS];
	int n_steps, step, tries;
	int64_t deadline_ms;
	int64_t last_data_ms;
	lpbus_parser parser;
	lpms_format fmt;
	lpms_calib calib;
	unsigned rate_hz;
	uint32_t fw[3];   /* major, minor, build */
	uint32_t config0; /* config register as found */
	uint8_t out[SESS_OUT_MAX];
	size_t out_len;
	char err[SESS_ERR_MAX];
	sess_stats stats;
} session;

void session_init(session *s, const sess_cfg *c);

/* Start a new session on a fresh link at monotonic time now_ms: resets the
 * parser (stats kept) and queues the first command. */
void session_begin(session *s, int64_t now_ms);

/* Feed bytes read from the link. Samples go to fn. Returns 0, or -1 when
 * the session failed (s->err says why; state SESS_FAILED). */
int session_input(session *s, const uint8_t *d, size_t n, int64_t now_ms,
		  sess_sample_fn fn, void *ud);

/* Timeouts: re-send or fail a command step, detect silence while
 * streaming. Returns 0 or -1 (failed, s->err). */
int session_tick(session *s, int64_t now_ms);

/* Monotonic ms at which session_tick() next has something to do. */
int64_t session_deadline(const session *s);

/* The caller wrote n bytes of s->out to the link. */
void session_sent(session *s, size_t n);

#endif
