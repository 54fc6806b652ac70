/* state — a sensor's machine state (OK / FAILURE / STALE) from its stream
 * of window labels, shared by the alerter and the offline evaluations so
 * both say FAILURE at exactly the same moments.
 *
 * Each scored window arrives as (t, anomaly 0/1). The machine keeps the
 * labels of the last window_s seconds (t_now - window_s < t <= t_now) and
 * their anomaly rate. With at least min_windows labels in that span, and
 * those labels spanning at least min_span * window_s seconds (evidence):
 *   OK      -> FAILURE  when rate >= enter_rate
 *   FAILURE -> OK       when rate <= exit_rate   (exit_rate < enter_rate)
 * The gap between the two rates is the hysteresis; the time window plus
 * min_windows is why an isolated anomalous window (or a few) never flips
 * the state: one glitch among min_windows labels is a rate of
 * 1/min_windows, below any sensible enter_rate. The span rule is why a
 * short burst at the start of a stream (or after a gap) cannot either: a
 * count alone would let the first min_windows labels — 2 s at 5 windows/s —
 * decide, and a machine's start-up movement would read as FAILURE.
 *
 * Defaults (state_defaults): window_s 10, enter_rate 0.5, exit_rate 0.2,
 * min_windows 10, min_span 0.8, capacity 4096 labels. At the LPMS-B2's
 * 50 Hz with a hop of 10 samples that is 50 windows per span: no verdict
 * before 8 s of windows, FAILURE needs 5 s of mostly anomalous windows,
 * and leaves after the rate falls to a fifth.
 *
 * STALE belongs to the alerter (it notices silence); it marks the machine
 * with state_set(STALE), which drops the evidence (it is old by then).
 * Labels pushed while STALE are kept but cause no transition, until the
 * alerter restores the machine with state_set(OK); the next push then
 * evaluates as usual.
 *
 * Memory: the label ring starts at STATE_RING_MIN labels and doubles, up
 * to capacity, only when the window holds more labels than it has room
 * for: it follows the labels a window holds (50 at the defaults), not
 * the capacity. Measured: a ring allocated at its 4,096-label capacity
 * (37 KiB per sensor) made the alerter's RSS climb ~1 MiB a minute for
 * 14 minutes under 500 sensors (scripts/soak-mesh.sh) as the ring's
 * untouched pages were written for the first time.
 *
 * Ownership: state_machine is caller-embedded; state_init allocates the
 * label ring, state_cleanup frees it (NULL-safe, idempotent). Nothing here
 * logs or reads a clock: time is what the caller passes. */
#ifndef ANOMESH_STATE_H
#define ANOMESH_STATE_H

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL  bad parameters, or t not finite
 *   AM_ENOMEM
 *   AM_EORDER  t earlier than the latest label: dropped
 */
#include "error.h"

/* The one enum of a machine's state: the state machine here, the alerter's
 * tracker and the state/alert messages (msg.h) all use it. */
typedef enum state_kind { STATE_OK = 0, STATE_FAILURE = 1, STATE_STALE = 2 } state_kind;
#define STATE_N 3 /* values of state_kind: 0..STATE_N-1 */

/* "OK", "FAILURE", "STALE" (contract spelling); "?" otherwise. */
const char *state_name(state_kind s);

/* The state a contract name spells (case-sensitive): returns 0 and sets
 * *out (if not NULL), or -1 for anything else (NULL included). */
int state_parse(const char *s, state_kind *out);

typedef struct state_params {
	double window_s;   /* span of the sliding window, seconds, > 0 */
	double enter_rate; /* 0 < exit_rate < enter_rate <= 1 */
	double exit_rate;
	size_t min_windows; /* labels needed in the span before any transition, >= 1 */
	double min_span;    /* and the time they must span, as a fraction of
			       window_s, in (0, 1]: a verdict rests on most of a
			       window of history, not on its first seconds */
	size_t capacity; /* labels kept at most (oldest dropped beyond), >= min_windows */
} state_params;

void state_defaults(state_params *p);

typedef struct state_transition {
	state_kind from, to;
	double t;    /* time of the label (or state_set call) that caused it */
	double rate; /* anomaly rate over the span at that moment */
} state_transition;

#define STATE_RING_MIN 64 /* labels the ring starts with (capacity if less) */

typedef struct state_machine {
	state_params p;
	double *t;        /* ring of label times */
	unsigned char *a; /* ring of labels */
	size_t cap;       /* the ring's room now: STATE_RING_MIN .. p.capacity */
	size_t head, n;   /* oldest index, count */
	size_t n_anom;    /* anomalous labels in the ring */
	state_kind cur;
	double since; /* time of the last transition (0: none yet) */
} state_machine;

/* Returns 0, AM_EINVAL (err says which parameter) or AM_ENOMEM.
 * p NULL: defaults. The machine starts OK with no evidence. */
int state_init(state_machine *m, const state_params *p, char *err, size_t errlen);
void state_cleanup(state_machine *m);

/* Record a window label at time t (seconds, non-decreasing) and evaluate.
 * Returns 1 and fills *tr (if not NULL) on a transition, 0 without one,
 * AM_EINVAL for a non-finite t, AM_EORDER if t goes back in time,
 * AM_ENOMEM when the ring had to grow and could not (label not kept). */
int state_push(state_machine *m, double t, int anomaly, state_transition *tr);

/* Force the state (STALE, or back to OK from STALE) at time t. Returns 1
 * and fills *tr if the state changed, 0 if it already was `to`. */
int state_set(state_machine *m, state_kind to, double t, state_transition *tr);

state_kind state_get(const state_machine *m);
/* 1 when the span holds enough evidence for a verdict: min_windows labels
 * covering at least min_span * window_s seconds (newest minus oldest). */
int state_has_evidence(const state_machine *m);

/* Anomaly rate over the labels in the span (0 with none), and their count. */
double state_rate(const state_machine *m);
size_t state_count(const state_machine *m);

#endif
