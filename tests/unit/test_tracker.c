/* Unit tests for services/alerter/tracker: first verdict only after the
 * minimum evidence, sustained anomalies -> FAILURE and back with one alert
 * each, isolated anomalous windows never alerting, STALE and recovery (with
 * the machine's hysteresis kept), restart restoration without duplicate
 * alerts, acks, duplicates/out-of-order, the sensor cap, and the channels
 * an alert into FAILURE names. Time is injected: predictions carry label
 * times, ticks take a monotonic ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/alerter/tracker.h"

#include <stdio.h>
#include <string.h>

#define EV_MAX 64

typedef struct events {
	int n;
	msg_state st[EV_MAX];
	int has_alert[EV_MAX];
	msg_alert al[EV_MAX];
} events;

static void on_emit(void *ud, const msg_state *st, const msg_alert *al)
{
	events *e = ud;
	assert_true(e->n < EV_MAX);
	e->st[e->n] = *st;
	e->has_alert[e->n] = al != NULL;
	if (al)
		e->al[e->n] = *al;
	e->n++;
}

static int n_alerts(const events *e)
{
	int k = 0;
	for (int i = 0; i < e->n; i++)
		k += e->has_alert[i];
	return k;
}

/* min_span small (1.5 s): in these cases the count min_windows alone sets
 * the evidence, as they count labels; test_default_span_evidence and
 * test_state.c cover the span rule. */
static tracker *make_span(events *e, int start, double min_span)
{
	tracker_params p;
	char err[160];
	tracker *t;

	tracker_params_default(&p);
	p.sp.window_s = 10;
	p.sp.enter_rate = 0.5;
	p.sp.exit_rate = 0.2;
	p.sp.min_windows = 10;
	p.sp.min_span = min_span;
	p.stale_s = 5;
	p.max_sensors = 4;
	memset(e, 0, sizeof(*e));
	t = tracker_new(&p, on_emit, e, err, sizeof(err));
	assert_non_null(t);
	if (start)
		tracker_start(t, 0);
	return t;
}

static tracker *make(events *e, int start) { return make_span(e, start, 0.15); }

/* Feed n predictions 0.2 s apart from *tt on; anomaly when pattern says so
 * (pattern(i) for i = 0..n-1). Arrival ms follows label time. */
static void feed(tracker *t, const char *sensor, double *tt, int n, int (*pattern)(int))
{
	msg_prediction p;
	memset(&p, 0, sizeof(p));
	snprintf(p.sensor, sizeof(p.sensor), "%s", sensor);
	for (int i = 0; i < n; i++) {
		*tt += 0.2;
		p.t = *tt;
		p.anomaly = pattern(i);
		assert_int_equal(tracker_prediction(t, &p, (int64_t)(*tt * 1000.0)), 0);
	}
}

static int all_bad(int i) { return (void)i, 1; }
static int all_good(int i) { return (void)i, 0; }
static int one_in_ten(int i) { return i % 10 == 3; }
static int pair_in_twenty(int i) { return i % 20 == 5 || i % 20 == 6; }

static void test_first_verdict_needs_evidence(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	(void)state;

	feed(t, "m1", &tt, 9, all_good);
	assert_int_equal(e.n, 0);
	assert_null(tracker_get(t, "m1"));
	feed(t, "m1", &tt, 1, all_good);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.st[0].state, STATE_OK);
	assert_false(e.has_alert[0]); /* a new machine is presumed OK */
	assert_string_equal(e.st[0].sensor, "m1");
	assert_true(e.st[0].window_s == 10.0);
	feed(t, "m1", &tt, 100, all_good);
	assert_int_equal(e.n, 1); /* nothing republished without a change */
	tracker_free(t);
}

/* At the default min_span (0.8 of the 10 s window) the first verdict waits
 * for 8 s of windows: a start-up burst (the first 3 s anomalous) then
 * rates 15/41, and no FAILURE is ever published for it. */
static int startup_burst(int i) { return i < 15; }

static void test_default_span_evidence(void **state)
{
	events e;
	tracker_params d;
	tracker *t;
	double tt = 1000;
	(void)state;
	tracker_params_default(&d);
	t = make_span(&e, 1, d.sp.min_span);
	feed(t, "m1", &tt, 40, startup_burst);
	assert_int_equal(e.n, 0); /* 40 labels span 7.8 s: no verdict yet */
	feed(t, "m1", &tt, 200, all_good);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.st[0].state, STATE_OK);
	assert_int_equal(n_alerts(&e), 0);
	tracker_free(t);
}

static void test_sustained_failure_and_recovery(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	char id[64];
	(void)state;

	feed(t, "m1", &tt, 60, all_good);
	assert_int_equal(e.n, 1);
	feed(t, "m1", &tt, 60, all_bad);
	assert_int_equal(e.n, 2);
	assert_true(e.has_alert[1]);
	assert_int_equal(e.st[1].state, STATE_FAILURE);
	assert_int_equal(e.al[1].from, STATE_OK);
	assert_int_equal(e.al[1].to, STATE_FAILURE);
	assert_string_equal(e.al[1].severity, "critical");
	assert_true(e.al[1].anomaly_rate >= 0.5);
	/* FAILURE within half the window of sustained anomalies (+1 label) */
	assert_true(e.al[1].t <= 1000 + 60 * 0.2 + 26 * 0.2 + 1e-9);
	snprintf(id, sizeof(id), "m1-%lld-1", (long long)e.al[1].t);
	assert_string_equal(e.al[1].id, id);
	assert_string_equal(e.st[1].alert_id, id);
	assert_true(e.st[1].since == e.al[1].t);

	feed(t, "m1", &tt, 100, all_good);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.st[2].state, STATE_OK);
	assert_int_equal(e.al[2].from, STATE_FAILURE);
	assert_string_equal(e.al[2].severity, "info");
	assert_non_null(strstr(e.al[2].id, "-2"));
	assert_true(e.al[2].anomaly_rate <= 0.2);
	tracker_free(t);
}

static void test_isolated_anomalies_never_alert(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	(void)state;

	feed(t, "m1", &tt, 2000, one_in_ten);
	feed(t, "m1", &tt, 2000, pair_in_twenty);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.st[0].state, STATE_OK);
	assert_int_equal(n_alerts(&e), 0);
	tracker_free(t);
}

static void test_first_verdict_failure_alerts(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	(void)state;

	feed(t, "m1", &tt, 10, all_bad);
	assert_int_equal(e.n, 1);
	assert_true(e.has_alert[0]);
	assert_int_equal(e.al[0].from, STATE_OK);
	assert_int_equal(e.st[0].state, STATE_FAILURE);
	tracker_free(t);
}

static void test_stale_and_recovery(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	int64_t last_ms;
	(void)state;

	feed(t, "m1", &tt, 20, all_good);
	last_ms = (int64_t)(tt * 1000.0);
	assert_int_equal(tracker_tick(t, last_ms + 4999, 2000.0), 0);
	assert_int_equal(tracker_tick(t, last_ms + 5000, 2000.0), 1);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.st[1].state, STATE_STALE);
	assert_true(e.has_alert[1]);
	assert_string_equal(e.al[1].severity, "warning");
	assert_true(e.al[1].t == 2000.0);
	assert_int_equal(tracker_tick(t, last_ms + 50000, 2001.0), 0); /* once */
	assert_int_equal(e.n, 2);

	/* data returns: STALE until the evidence is there again */
	tt += 100;
	feed(t, "m1", &tt, 9, all_good);
	assert_int_equal(e.n, 2);
	feed(t, "m1", &tt, 1, all_good);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.st[2].state, STATE_OK);
	assert_int_equal(e.al[2].from, STATE_STALE);
	tracker_free(t);
}

/* A machine that went silent in FAILURE needs the exit rate to come back
 * OK: returning with middling data brings it back as FAILURE. */
static int two_in_five(int i) { return i % 5 < 2; }

static void test_stale_keeps_hysteresis(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	(void)state;

	feed(t, "m1", &tt, 50, all_bad);
	assert_int_equal(e.st[e.n - 1].state, STATE_FAILURE);
	tracker_tick(t, (int64_t)(tt * 1000.0) + 6000, 2000.0);
	assert_int_equal(e.st[e.n - 1].state, STATE_STALE);
	tt += 100;
	feed(t, "m1", &tt, 50, two_in_five); /* rate 0.4: between exit and enter */
	assert_int_equal(e.st[e.n - 1].state, STATE_FAILURE);
	assert_int_equal(e.al[e.n - 1].from, STATE_STALE);
	tracker_free(t);
}

static void test_new_sensor_silent_goes_stale_quietly(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	(void)state;

	feed(t, "m1", &tt, 3, all_bad);
	tracker_tick(t, (int64_t)(tt * 1000.0) + 5000, 2000.0);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.st[0].state, STATE_STALE);
	assert_false(e.has_alert[0]);
	tracker_free(t);
}

static msg_state retained(const char *sensor, state_kind k, const char *id)
{
	msg_state st;
	memset(&st, 0, sizeof(st));
	snprintf(st.sensor, sizeof(st.sensor), "%s", sensor);
	st.state = k;
	st.since = 900;
	st.t = 950;
	st.window_s = 10;
	st.anomaly_rate = k == STATE_FAILURE ? 0.8 : 0.0;
	snprintf(st.alert_id, sizeof(st.alert_id), "%s", id);
	return st;
}

/* Restart mid-failure: no alert while the evidence agrees, the restored
 * alert can be acked, and the recovery is alerted once. */
static void test_restore_failure_no_duplicate(void **state)
{
	events e;
	tracker *t = make(&e, 0);
	msg_state st = retained("m1", STATE_FAILURE, "m1-900-7");
	msg_ack ack;
	double tt = 1000;
	tracker_stats ss;
	(void)state;

	feed(t, "m1", &tt, 5, all_bad); /* arrives during the restore phase */
	assert_int_equal(tracker_restore(t, &st, 0), 0);
	feed(t, "m1", &tt, 20, all_bad);
	assert_int_equal(e.n, 0); /* nothing while restoring */
	tracker_start(t, (int64_t)(tt * 1000.0));
	assert_int_equal(e.n, 0);
	assert_int_equal(tracker_get(t, "m1")->state, STATE_FAILURE);
	feed(t, "m1", &tt, 100, all_bad);
	assert_int_equal(e.n, 0);

	memset(&ack, 0, sizeof(ack));
	snprintf(ack.id, sizeof(ack.id), "m1-900-7");
	snprintf(ack.by, sizeof(ack.by), "op-7");
	assert_int_equal(tracker_ack(t, "m1", &ack), 1);
	assert_int_equal(e.n, 1);
	assert_false(e.has_alert[0]);
	assert_true(e.st[0].acked);
	assert_string_equal(e.st[0].acked_by, "op-7");
	assert_int_equal(e.st[0].state, STATE_FAILURE);

	feed(t, "m1", &tt, 100, all_good);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.al[1].from, STATE_FAILURE);
	assert_int_equal(e.st[1].state, STATE_OK);
	assert_false(e.st[1].acked); /* the ack ended with the state */
	assert_string_equal(e.st[1].acked_by, "");
	tracker_get_stats(t, &ss);
	assert_int_equal(ss.restored, 1);
	assert_int_equal(ss.transitions, 1);
	assert_int_equal(tracker_restore(t, &st, 0), AM_EINVAL); /* after start */
	tracker_free(t);
}

/* A restored FAILURE needs min_windows of good evidence to leave. */
static void test_restored_failure_needs_evidence_to_leave(void **state)
{
	events e;
	tracker *t = make(&e, 0);
	msg_state st = retained("m1", STATE_FAILURE, "m1-900-7");
	double tt = 1000;
	(void)state;

	assert_int_equal(tracker_restore(t, &st, 0), 0);
	tracker_start(t, 0);
	feed(t, "m1", &tt, 9, all_good);
	assert_int_equal(e.n, 0);
	feed(t, "m1", &tt, 1, all_good);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.al[0].from, STATE_FAILURE);
	tracker_free(t);
}

static void test_restore_changes_during_restart(void **state)
{
	events e;
	tracker *t = make(&e, 0);
	msg_state ok = retained("m1", STATE_OK, "");
	msg_state stale = retained("m2", STATE_STALE, "m2-900-3");
	msg_state quiet = retained("m3", STATE_OK, "");
	double tt = 1000, t2 = 1000;
	(void)state;

	assert_int_equal(tracker_restore(t, &ok, 0), 0);
	assert_int_equal(tracker_restore(t, &stale, 0), 0);
	assert_int_equal(tracker_restore(t, &quiet, 0), 0);
	feed(t, "m1", &tt, 20, all_bad); /* failed while the alerter was away */
	assert_int_equal(e.n, 0);
	tracker_start(t, 100000);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.st[0].sensor, "m1");
	assert_int_equal(e.al[0].from, STATE_OK);
	assert_int_equal(e.al[0].to, STATE_FAILURE);

	/* the restored STALE sensor comes back */
	feed(t, "m2", &t2, 10, all_good);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.al[1].from, STATE_STALE);
	assert_int_equal(e.st[1].state, STATE_OK);

	/* the restored quiet one goes STALE stale_s after start, not before */
	assert_int_equal(tracker_tick(t, 104999, 3000.0), 0);
	assert_int_equal(tracker_tick(t, 105000, 3000.0), 1);
	assert_string_equal(e.st[2].sensor, "m3");
	assert_int_equal(e.st[2].state, STATE_STALE);
	assert_true(e.has_alert[2]);
	tracker_free(t);
}

static void test_acks(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	msg_ack ack;
	tracker_stats ss;
	(void)state;

	memset(&ack, 0, sizeof(ack));
	snprintf(ack.id, sizeof(ack.id), "nope");
	snprintf(ack.by, sizeof(ack.by), "op");
	assert_int_equal(tracker_ack(t, "m1", &ack), 0); /* unknown sensor */
	feed(t, "m1", &tt, 30, all_good);
	assert_int_equal(tracker_ack(t, "m1", &ack), 0); /* no alert yet */
	feed(t, "m1", &tt, 30, all_bad);
	assert_int_equal(e.n, 2);
	assert_int_equal(tracker_ack(t, "m1", &ack), 0); /* wrong id */
	assert_int_equal(e.n, 2);
	snprintf(ack.id, sizeof(ack.id), "%s", e.al[1].id);
	assert_int_equal(tracker_ack(t, "m1", &ack), 1);
	assert_int_equal(e.n, 3);
	assert_true(e.st[2].acked);
	assert_string_equal(e.st[2].acked_by, "op");
	assert_string_equal(e.st[2].alert_id, e.al[1].id);
	assert_int_equal(tracker_ack(t, "m1", &ack), 0); /* already acked */
	tracker_get_stats(t, &ss);
	assert_int_equal(ss.acks, 1);
	assert_int_equal(ss.acks_ignored, 4);
	tracker_free(t);
}

static void test_order_and_cap(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	msg_prediction p;
	tracker_stats ss;
	char name[8];
	(void)state;

	memset(&p, 0, sizeof(p));
	snprintf(p.sensor, sizeof(p.sensor), "m1");
	p.t = 1000;
	assert_int_equal(tracker_prediction(t, &p, 0), 0);
	assert_int_equal(tracker_prediction(t, &p, 0), AM_EORDER); /* duplicate */
	p.t = 999;
	assert_int_equal(tracker_prediction(t, &p, 0), AM_EORDER);
	p.t = 500; /* the clock went back a long way: taken, evidence reset */
	assert_int_equal(tracker_prediction(t, &p, 0), 0);
	tracker_get_stats(t, &ss);
	assert_int_equal(ss.out_of_order, 2);
	assert_int_equal(ss.rewinds, 1);
	assert_int_equal(ss.predictions, 2);

	for (int i = 2; i <= 4; i++) {
		snprintf(p.sensor, sizeof(p.sensor), "m%d", i);
		assert_int_equal(tracker_prediction(t, &p, 0), 0);
	}
	snprintf(name, sizeof(name), "m5");
	snprintf(p.sensor, sizeof(p.sensor), "%s", name);
	assert_int_equal(tracker_prediction(t, &p, 0), AM_EFULL);
	assert_int_equal(tracker_sensors(t), 4);
	tracker_free(t);
	tracker_free(NULL);
}

/* Predictions name linacc_z first in old anomalies, linacc_x in the ones
 * that drive the FAILURE: the alert names linacc_x first (old weights
 * decayed), with the shares of the recent ones; the alert back to OK names
 * none. */
static void feed_top(tracker *t, double *tt, int n, int anomaly, const char *first,
		     const char *second)
{
	msg_prediction p;
	memset(&p, 0, sizeof(p));
	snprintf(p.sensor, sizeof(p.sensor), "m1");
	p.has_top = 1;
	p.top.n = 2;
	snprintf(p.top.c[0].channel, sizeof(p.top.c[0].channel), "%s", first);
	snprintf(p.top.c[1].channel, sizeof(p.top.c[1].channel), "%s", second);
	p.top.c[0].share = 0.75;
	p.top.c[1].share = 0.25;
	for (int i = 0; i < n; i++) {
		*tt += 0.2;
		p.t = *tt;
		p.anomaly = anomaly;
		assert_int_equal(tracker_prediction(t, &p, (int64_t)(*tt * 1000.0)), 0);
	}
}

static void test_alert_names_channels(void **state)
{
	events e;
	tracker *t = make(&e, 1);
	double tt = 1000;
	(void)state;

	feed_top(t, &tt, 60, 0, "linacc_y", "linacc_z"); /* OK: not counted */
	feed_top(t, &tt, 3, 1, "linacc_z", "linacc_y");  /* isolated, old */
	feed_top(t, &tt, 100, 0, "linacc_y", "linacc_z");
	assert_int_equal(n_alerts(&e), 0);
	feed_top(t, &tt, 30, 1, "linacc_x", "linacc_z"); /* 25 of 50 enter */
	assert_int_equal(n_alerts(&e), 1);
	const msg_alert *al = &e.al[e.n - 1];
	assert_int_equal(al->to, STATE_FAILURE);
	assert_int_equal(al->has_top, 1);
	assert_true(al->top.n >= 2);
	assert_string_equal(al->top.c[0].channel, "linacc_x");
	assert_string_equal(al->top.c[1].channel, "linacc_z");
	/* 25 s later the three old linacc_z windows weigh e^-2.5 of theirs */
	assert_true(al->top.c[0].share > 0.7 && al->top.c[0].share <= 0.75);
	double sum = 0;
	for (size_t i = 0; i < al->top.n; i++)
		sum += al->top.c[i].share;
	assert_true(sum > 0.99 && sum < 1.01);
	feed_top(t, &tt, 100, 0, "linacc_y", "linacc_z");
	assert_int_equal(n_alerts(&e), 2);
	assert_int_equal(e.al[e.n - 1].to, STATE_OK);
	assert_int_equal(e.al[e.n - 1].has_top, 0);
	tracker_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_verdict_needs_evidence),
	    cmocka_unit_test(test_default_span_evidence),
	    cmocka_unit_test(test_sustained_failure_and_recovery),
	    cmocka_unit_test(test_isolated_anomalies_never_alert),
	    cmocka_unit_test(test_first_verdict_failure_alerts),
	    cmocka_unit_test(test_stale_and_recovery),
	    cmocka_unit_test(test_stale_keeps_hysteresis),
	    cmocka_unit_test(test_new_sensor_silent_goes_stale_quietly),
	    cmocka_unit_test(test_restore_failure_no_duplicate),
	    cmocka_unit_test(test_restored_failure_needs_evidence_to_leave),
	    cmocka_unit_test(test_restore_changes_during_restart),
	    cmocka_unit_test(test_acks),
	    cmocka_unit_test(test_order_and_cap),
	    cmocka_unit_test(test_alert_names_channels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
