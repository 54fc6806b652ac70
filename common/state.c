/* state — hysteresis over a sliding time window of window labels (see
 * state.h). Labels live in a fixed ring sized at init, with a running count
 * of anomalous ones, so each push costs O(labels expired), never a scan. */
#include "state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state__names[STATE_N] = {
    [STATE_OK] = "OK", [STATE_FAILURE] = "FAILURE", [STATE_STALE] = "STALE"};

const char *state_name(state_kind s)
{
	return (unsigned)s < STATE_N ? state__names[s] : "?";
}

int state_parse(const char *s, state_kind *out)
{
	if (!s)
		return -1;
	for (unsigned i = 0; i < STATE_N; i++)
		if (strcmp(s, state__names[i]) == 0) {
			if (out)
				*out = (state_kind)i;
			return 0;
		}
	return -1;
}

void state_defaults(state_params *p)
{
	p->window_s = 10.0;
	p->enter_rate = 0.5;
	p->exit_rate = 0.2;
	p->min_windows = 10;
	p->min_span = 0.8;
	p->capacity = 4096;
}

int state_init(state_machine *m, const state_params *p, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (p)
		m->p = *p;
	else
		state_defaults(&m->p);
	const state_params *q = &m->p;
	const char *bad = NULL;
	if (!(q->window_s > 0.0) || !isfinite(q->window_s))
		bad = "window_s must be > 0";
	else if (!(q->enter_rate > 0.0 && q->enter_rate <= 1.0))
		bad = "enter_rate must be in (0, 1]";
	else if (!(q->exit_rate >= 0.0 && q->exit_rate < q->enter_rate))
		bad = "exit_rate must be in [0, enter_rate)";
	else if (q->min_windows < 1)
		bad = "min_windows must be >= 1";
	else if (!(q->min_span > 0.0 && q->min_span <= 1.0))
		bad = "min_span must be in (0, 1]";
	else if (q->capacity < q->min_windows || q->capacity > (1u << 24))
		bad = "capacity must be in [min_windows, 2^24]";
	if (bad) {
		snprintf(err, errlen, "state: %s", bad);
		return AM_EINVAL;
	}
	m->cap = q->capacity < STATE_RING_MIN ? q->capacity : STATE_RING_MIN;
	m->t = malloc(m->cap * sizeof *m->t);
	m->a = malloc(m->cap);
	if (!m->t || !m->a) {
		state_cleanup(m);
		snprintf(err, errlen, "state: out of memory");
		return AM_ENOMEM;
	}
	m->cur = STATE_OK;
	return 0;
}

void state_cleanup(state_machine *m)
{
	if (!m)
		return;
	free(m->t);
	free(m->a);
	m->t = NULL;
	m->a = NULL;
	m->cap = m->n = m->head = m->n_anom = 0;
}

static void state__drop_oldest(state_machine *m)
{
	m->n_anom -= m->a[m->head];
	m->head = (m->head + 1) % m->cap;
	m->n--;
}

double state_rate(const state_machine *m)
{
	return m->n ? (double)m->n_anom / (double)m->n : 0.0;
}

size_t state_count(const state_machine *m) { return m->n; }

int state_has_evidence(const state_machine *m)
{
	double span;
	if (m->n < m->p.min_windows || m->n == 0)
		return 0;
	span = m->t[(m->head + m->n - 1) % m->cap] - m->t[m->head];
	return span >= m->p.min_span * m->p.window_s;
}

state_kind state_get(const state_machine *m) { return m->cur; }

static int state__move(state_machine *m, state_kind to, double t, state_transition *tr)
{
	if (tr) {
		tr->from = m->cur;
		tr->to = to;
		tr->t = t;
		tr->rate = state_rate(m);
	}
	m->cur = to;
	m->since = t;
	return 1;
}

/* Twice the room (at most capacity), the labels moved to its start in
 * order. 0 or AM_ENOMEM (the ring unchanged). */
static int state__grow(state_machine *m)
{
	size_t cap = m->cap * 2 < m->p.capacity ? m->cap * 2 : m->p.capacity;
	double *t = malloc(cap * sizeof *t);
	unsigned char *a = malloc(cap);
	if (!t || !a) {
		free(t);
		free(a);
		return AM_ENOMEM;
	}
	for (size_t k = 0; k < m->n; k++) {
		t[k] = m->t[(m->head + k) % m->cap];
		a[k] = m->a[(m->head + k) % m->cap];
	}
	free(m->t);
	free(m->a);
	m->t = t;
	m->a = a;
	m->cap = cap;
	m->head = 0;
	return 0;
}

int state_push(state_machine *m, double t, int anomaly, state_transition *tr)
{
	if (!isfinite(t))
		return AM_EINVAL;
	if (m->n > 0) {
		double last = m->t[(m->head + m->n - 1) % m->cap];
		if (t < last)
			return AM_EORDER;
	}
	/* labels that left the window go first, so they make room before the
	 * ring grows (the new label itself is always inside the window) */
	while (m->n > 0 && m->t[m->head] <= t - m->p.window_s)
		state__drop_oldest(m);
	if (m->n == m->cap && m->cap < m->p.capacity && state__grow(m))
		return AM_ENOMEM;
	if (m->n == m->p.capacity)
		state__drop_oldest(m);
	size_t i = (m->head + m->n) % m->cap;
	m->t[i] = t;
	m->a[i] = anomaly ? 1 : 0;
	m->n++;
	m->n_anom += m->a[i];

	if (m->cur == STATE_STALE || !state_has_evidence(m))
		return 0;
	double rate = state_rate(m);
	if (m->cur == STATE_OK && rate >= m->p.enter_rate)
		return state__move(m, STATE_FAILURE, t, tr);
	if (m->cur == STATE_FAILURE && rate <= m->p.exit_rate)
		return state__move(m, STATE_OK, t, tr);
	return 0;
}

int state_set(state_machine *m, state_kind to, double t, state_transition *tr)
{
	if (m->cur == to)
		return 0;
	int r = state__move(m, to, t, tr);
	if (to == STATE_STALE)
		m->n = m->head = m->n_anom = 0;
	return r;
}
