/* tracker — per-sensor states for the alerter (see tracker.h). Sensors live
 * in an array of heap records, in the order they were first seen (the
 * order start-up and STALE ticks emit in), found by name through the keyed
 * table of common/table.h (no deletion: a sensor, once seen, is tracked
 * until exit, and max_sensors bounds the memory). Every path that may
 * change what is published ends in tracker__settle(), the one place that
 * compares the wanted state with the published one and emits state +
 * alert. */
#include "tracker.h"

#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Channels named by recent anomalous predictions, each with its shares
 * summed and decayed by time (e^(-dt/window_s)): what the alert names. */
#define TRACKER_WHY_KEEP 8
typedef struct tracker_why {
	char channel[MSG_CHANNEL_MAX + 1];
	double w;
} tracker_why;

typedef struct tracker_sensor {
	char name[MSG_SENSOR_MAX + 1];
	tracker_why why[TRACKER_WHY_KEEP];
	size_t n_why;
	double why_t; /* time the weights are decayed to */
	state_machine m;
	int stale;     /* STALE overlay: no prediction for stale_s */
	int evidence;  /* a verdict is known: min_windows labels, or restored */
	int published; /* pub is (or is about to be) the retained state */
	int dirty;     /* pub changed while restoring (an ack): emit at start */
	msg_state pub;
	int has_t;
	double last_t;      /* newest prediction time taken */
	int64_t last_rx_ms; /* monotonic arrival of it (or start) */
} tracker_sensor;

struct tracker {
	tracker_params p;
	tracker_emit_fn emit;
	void *ud;
	tracker_sensor **s; /* max_sensors slots, n used, in arrival order */
	size_t n;
	table idx; /* name -> tracker_sensor */
	int started;
	uint64_t seq;
	tracker_stats st;
};

void tracker_params_default(tracker_params *p)
{
	state_defaults(&p->sp);
	p->stale_s = 30.0;
	p->max_sensors = 1024;
}

static const char *tracker__severity(state_kind k)
{
	switch (k) {
	case STATE_FAILURE:
		return "critical";
	case STATE_STALE:
		return "warning";
	case STATE_OK:
		break;
	}
	return "info";
}

tracker *tracker_new(const tracker_params *p, tracker_emit_fn emit, void *ud, char *err,
		     size_t errlen)
{
	tracker *t;
	state_machine probe;

	if (!p || !emit || !(p->stale_s > 0.0) || !isfinite(p->stale_s) ||
	    p->max_sensors == 0 || p->max_sensors > (1u << 20)) {
		snprintf(err, errlen,
			 "tracker: stale_s must be > 0, max_sensors in 1..2^20");
		return NULL;
	}
	if (state_init(&probe, &p->sp, err, errlen))
		return NULL;
	state_cleanup(&probe);
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->p = *p;
	t->emit = emit;
	t->ud = ud;
	table_init(&t->idx);
	t->s = calloc(p->max_sensors, sizeof(*t->s));
	if (!t->s)
		goto nomem;
	return t;
nomem:
	snprintf(err, errlen, "tracker: out of memory");
	tracker_free(t);
	return NULL;
}

void tracker_free(tracker *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		state_cleanup(&t->s[i]->m);
		free(t->s[i]);
	}
	free(t->s);
	table_cleanup(&t->idx, NULL);
	free(t);
}

static tracker_sensor *tracker__find(const tracker *t, const char *name)
{
	return table_get(&t->idx, name);
}

/* Find or create. *rc gets AM_EFULL / AM_ENOMEM on NULL. */
static tracker_sensor *tracker__get(tracker *t, const char *name, int64_t now_ms, int *rc)
{
	tracker_sensor *s;
	char err[128];

	if (!name[0] || strlen(name) > MSG_SENSOR_MAX) { /* callers pass decoded ids */
		*rc = AM_EINVAL;
		return NULL;
	}
	s = tracker__find(t, name);
	if (s)
		return s;
	if (t->n == t->p.max_sensors) {
		t->st.refused++;
		*rc = AM_EFULL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || state_init(&s->m, &t->p.sp, err, sizeof(err))) {
		free(s);
		*rc = AM_ENOMEM;
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->last_rx_ms = now_ms;
	if (table_put(&t->idx, s->name, s)) {
		state_cleanup(&s->m);
		free(s);
		*rc = AM_ENOMEM;
		return NULL;
	}
	t->s[t->n++] = s;
	return s;
}

/* Decay s's channel weights to time t (never back in time). */
static void tracker__why_decay(const tracker *t, tracker_sensor *s, double at)
{
	double f;
	if (!(at > s->why_t))
		return;
	f = exp(-(at - s->why_t) / t->p.sp.window_s);
	for (size_t i = 0; i < s->n_why; i++)
		s->why[i].w *= f;
	s->why_t = at;
}

/* An anomalous prediction's channel shares into s's weights. */
static void tracker__why_add(const tracker *t, tracker_sensor *s, const msg_prediction *p)
{
	tracker__why_decay(t, s, p->t);
	for (size_t j = 0; j < p->top.n; j++) {
		size_t i = 0, low = 0;
		while (i < s->n_why &&
		       strcmp(s->why[i].channel, p->top.c[j].channel) != 0)
			i++;
		if (i == s->n_why && s->n_why < TRACKER_WHY_KEEP) {
			s->n_why++;
			s->why[i].w = 0;
		} else if (i == s->n_why) { /* full: the weakest gives way */
			for (i = 1; i < s->n_why; i++)
				if (s->why[i].w < s->why[low].w)
					low = i;
			i = low;
			if (s->why[i].w > p->top.c[j].share)
				continue;
			s->why[i].w = 0;
		}
		snprintf(s->why[i].channel, sizeof(s->why[i].channel), "%s",
			 p->top.c[j].channel);
		s->why[i].w += p->top.c[j].share;
	}
}

/* The channels that drove s into FAILURE, as of time at: the largest
 * decayed weights as shares of their sum, to 3 decimals. */
static void tracker__why_top(const tracker *t, tracker_sensor *s, double at, msg_top *top)
{
	double sum = 0;
	int used[TRACKER_WHY_KEEP] = {0};
	tracker__why_decay(t, s, at);
	for (size_t i = 0; i < s->n_why; i++)
		sum += s->why[i].w;
	top->n = 0;
	while (sum > 0 && top->n < MSG_TOP_MAX) {
		size_t best = s->n_why;
		double r;
		for (size_t i = 0; i < s->n_why; i++)
			if (!used[i] &&
			    (best == s->n_why || s->why[i].w > s->why[best].w))
				best = i;
		if (best == s->n_why)
			break;
		used[best] = 1;
		r = round(1000.0 * s->why[best].w / sum) / 1000.0;
		if (r <= 0)
			break;
		snprintf(top->c[top->n].channel, sizeof(top->c[top->n].channel), "%s",
			 s->why[best].channel);
		top->c[top->n++].share = r > 1 ? 1 : r;
	}
}

static double tracker__rate(const tracker_sensor *s)
{
	double r = state_rate(&s->m);
	return (isfinite(r) && r >= 0.0) ? (r > 1.0 ? 1.0 : r) : 0.0;
}

/* Publish the wanted state if it differs from the published one. The wanted
 * state is STALE under the overlay, else the machine's verdict once there
 * is evidence for one, else nothing yet. when: UNIX seconds of the event. */
static void tracker__settle(tracker *t, tracker_sensor *s, double when)
{
	state_kind want;
	msg_alert al;
	int alert;

	if (!t->started)
		return;
	if (s->stale)
		want = STATE_STALE;
	else if (s->evidence)
		want = state_get(&s->m);
	else
		return;
	if (s->published && s->pub.state == want) {
		if (s->dirty)
			t->emit(t->ud, &s->pub, NULL);
		s->dirty = 0;
		return;
	}
	alert = s->published || want == STATE_FAILURE;
	if (!isfinite(when) || when < 0.0)
		when = 0.0;
	memset(&al, 0, sizeof(al));
	if (alert) {
		t->seq++;
		snprintf(al.id, sizeof(al.id), "%s-%lld-%llu", s->name,
			 (long long)floor(when), (unsigned long long)t->seq);
		snprintf(al.sensor, sizeof(al.sensor), "%s", s->name);
		al.t = when;
		al.from = s->published ? s->pub.state : STATE_OK;
		al.to = want;
		snprintf(al.severity, sizeof(al.severity), "%s", tracker__severity(want));
		al.anomaly_rate = tracker__rate(s);
		if (want == STATE_FAILURE) {
			tracker__why_top(t, s, when, &al.top);
			al.has_top = al.top.n > 0;
		}
		t->st.transitions++;
	}
	memset(&s->pub, 0, sizeof(s->pub));
	snprintf(s->pub.sensor, sizeof(s->pub.sensor), "%s", s->name);
	s->pub.state = want;
	s->pub.since = when;
	s->pub.t = when;
	s->pub.anomaly_rate = tracker__rate(s);
	s->pub.window_s = t->p.sp.window_s;
	if (alert)
		memcpy(s->pub.alert_id, al.id, sizeof(al.id));
	s->published = 1;
	s->dirty = 0;
	t->emit(t->ud, &s->pub, alert ? &al : NULL);
}

int tracker_restore(tracker *t, const msg_state *st, int64_t now_ms)
{
	tracker_sensor *s;
	int rc = 0;

	if (!t || !st || t->started)
		return AM_EINVAL;
	s = tracker__get(t, st->sensor, now_ms, &rc);
	if (!s)
		return rc;
	s->pub = *st;
	s->pub.sensor[MSG_SENSOR_MAX] = '\0';
	s->published = 1;
	switch (st->state) {
	case STATE_STALE:
		s->stale = 1;
		s->evidence = 0;
		break;
	case STATE_FAILURE:
		state_set(&s->m, STATE_FAILURE, st->since, NULL);
		s->stale = 0;
		s->evidence = 1;
		break;
	case STATE_OK:
		state_set(&s->m, STATE_OK, st->since, NULL);
		s->stale = 0;
		s->evidence = 1;
		break;
	}
	t->st.restored++;
	return 0;
}

void tracker_start(tracker *t, int64_t now_ms)
{
	if (!t || t->started)
		return;
	t->started = 1;
	for (size_t i = 0; i < t->n; i++) {
		tracker_sensor *s = t->s[i];
		if (!s->has_t)
			s->last_rx_ms = now_ms; /* restored: the silence starts now */
		tracker__settle(t, s, s->has_t ? s->last_t : s->pub.t);
	}
}

int tracker_started(const tracker *t) { return t && t->started; }

/* The clock went back: start the evidence afresh, keeping the verdict. */
static void tracker__rewind(tracker *t, tracker_sensor *s, double at)
{
	state_kind k = state_get(&s->m);
	char err[128];
	state_machine fresh;

	if (state_init(&fresh, &t->p.sp, err, sizeof(err)))
		return; /* keep the old machine; the prediction will be refused */
	state_cleanup(&s->m);
	s->m = fresh;
	if (k != STATE_OK)
		state_set(&s->m, k, at, NULL);
	t->st.rewinds++;
}

int tracker_prediction(tracker *t, const msg_prediction *p, int64_t now_ms)
{
	tracker_sensor *s;
	int rc = 0;

	if (!t || !p || !isfinite(p->t))
		return AM_EINVAL;
	s = tracker__get(t, p->sensor, now_ms, &rc);
	if (!s)
		return rc;
	if (s->has_t && p->t <= s->last_t) {
		if (s->last_t - p->t <= TRACKER_REWIND_S) {
			t->st.out_of_order++;
			return AM_EORDER;
		}
		tracker__rewind(t, s, p->t);
	}
	rc = state_push(&s->m, p->t, p->anomaly, NULL);
	if (rc < 0) {
		t->st.out_of_order++;
		return AM_EORDER;
	}
	if (p->anomaly && p->has_top)
		tracker__why_add(t, s, p);
	t->st.predictions++;
	s->has_t = 1;
	s->last_t = p->t;
	s->last_rx_ms = now_ms;
	s->stale = 0;
	if (!s->evidence && state_has_evidence(&s->m))
		s->evidence = 1;
	tracker__settle(t, s, p->t);
	return 0;
}

int tracker_ack(tracker *t, const char *sensor, const msg_ack *a)
{
	tracker_sensor *s = (t && sensor && a) ? tracker__find(t, sensor) : NULL;

	if (!s || !s->published || !s->pub.alert_id[0] || s->pub.acked ||
	    strcmp(a->id, s->pub.alert_id) != 0) {
		if (t)
			t->st.acks_ignored++;
		return 0;
	}
	s->pub.acked = 1;
	snprintf(s->pub.acked_by, sizeof(s->pub.acked_by), "%s", a->by);
	t->st.acks++;
	if (t->started)
		t->emit(t->ud, &s->pub, NULL);
	else
		s->dirty = 1;
	return 1;
}

int tracker_tick(tracker *t, int64_t now_ms, double now_wall)
{
	int64_t limit;
	int k = 0;

	if (!t || !t->started)
		return 0;
	limit = (int64_t)(t->p.stale_s * 1000.0);
	for (size_t i = 0; i < t->n; i++) {
		tracker_sensor *s = t->s[i];
		if (s->stale || now_ms - s->last_rx_ms < limit)
			continue;
		s->stale = 1;
		s->evidence = 0;
		tracker__settle(t, s, now_wall);
		k++;
	}
	return k;
}

const msg_state *tracker_get(const tracker *t, const char *sensor)
{
	const tracker_sensor *s = (t && sensor) ? tracker__find(t, sensor) : NULL;
	return (s && s->published) ? &s->pub : NULL;
}

size_t tracker_sensors(const tracker *t) { return t ? t->n : 0; }

void tracker_get_stats(const tracker *t, tracker_stats *out)
{
	if (t)
		*out = t->st;
	else
		memset(out, 0, sizeof(*out));
}
