/* test_state — the OK/FAILURE hysteresis: glitches never flip it,
 * sustained anomalies do, the exit threshold is lower than the entry one,
 * old labels expire from the time window, STALE marking and restore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "state.h"

/* 4 windows per second (exact in binary: no rounding at the span's edge),
 * the defaults otherwise: 40 labels per 10 s span. */
#define DT 0.25

static void test_defaults_and_names(void **state)
{
	(void)state;
	state_params p;
	state_defaults(&p);
	assert_true(p.exit_rate < p.enter_rate);
	assert_true(p.min_windows > 1);
	assert_string_equal(state_name(STATE_OK), "OK");
	assert_string_equal(state_name(STATE_FAILURE), "FAILURE");
	assert_string_equal(state_name(STATE_STALE), "STALE");
	state_machine m;
	char err[128];
	p.exit_rate = p.enter_rate;
	assert_int_equal(state_init(&m, &p, err, sizeof err), AM_EINVAL);
	assert_true(err[0] != '\0');
	state_defaults(&p);
	p.min_windows = 0;
	assert_int_equal(state_init(&m, &p, err, sizeof err), AM_EINVAL);
	state_cleanup(&m);
}

static void test_isolated_glitches_never_flip(void **state)
{
	(void)state;
	state_machine m;
	char err[128];
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	state_transition tr;
	/* 10 minutes of windows, one in 7 anomalous, and pairs now and then */
	for (int i = 0; i < 3000; i++) {
		int a = (i % 7 == 0) || (i % 101 == 0) || (i % 101 == 1);
		assert_int_equal(state_push(&m, i * DT, a, &tr), 0);
	}
	assert_int_equal(state_get(&m), STATE_OK);
	/* the very first windows, all anomalous, are too little evidence until
	 * they span 0.8 of the 10 s window: 8 s, the 33rd label at 4/s */
	state_cleanup(&m);
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	for (int i = 0; i < 32; i++) {
		assert_int_equal(state_push(&m, i * DT, 1, &tr), 0);
		assert_false(state_has_evidence(&m));
	}
	assert_int_equal(state_get(&m), STATE_OK);
	assert_int_equal(state_push(&m, 32 * DT, 1, &tr), 1);
	assert_true(state_has_evidence(&m));
	assert_int_equal(tr.to, STATE_FAILURE);
	/* a start-up burst (12 windows, 3 s, from the 5th on; then normal
	 * movement) is judged over 8 s of windows (12/33), not over the first
	 * 10 windows alone (6/10 would be FAILURE) */
	state_cleanup(&m);
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	for (int i = 0; i < 500; i++)
		assert_int_equal(state_push(&m, i * DT, i >= 4 && i < 16, &tr), 0);
	assert_int_equal(state_get(&m), STATE_OK);
	/* the same after a silence longer than the window: evidence restarts */
	for (int i = 0; i < 20; i++)
		assert_int_equal(state_push(&m, 1000 + i * DT, 1, &tr), 0);
	assert_false(state_has_evidence(&m));
	assert_int_equal(state_get(&m), STATE_OK);
	state_cleanup(&m);
	state_cleanup(&m);
}

static void test_sustained_enters_and_hysteresis(void **state)
{
	(void)state;
	state_machine m;
	char err[128];
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	state_transition tr;
	int i = 0, n_tr = 0;
	for (; i < 100; i++) /* 20 s normal */
		n_tr += state_push(&m, i * DT, 0, &tr);
	assert_int_equal(n_tr, 0);
	/* sustained anomalies: FAILURE once the rate over 10 s reaches 0.5 */
	int entered = -1;
	for (; i < 200; i++) {
		if (state_push(&m, i * DT, 1, &tr) == 1) {
			assert_int_equal(entered, -1);
			entered = i;
			assert_int_equal(tr.from, STATE_OK);
			assert_int_equal(tr.to, STATE_FAILURE);
			assert_true(tr.rate >= 0.5);
			assert_true(fabs(tr.t - i * DT) < 1e-9);
		}
	}
	assert_int_equal(entered, 119); /* 20 of the last 40 */
	assert_int_equal(state_get(&m), STATE_FAILURE);
	/* a rate between exit and enter keeps FAILURE: 3 anomalous of 10 */
	for (; i < 500; i++)
		assert_int_equal(state_push(&m, i * DT, i % 10 < 3, &tr), 0);
	assert_int_equal(state_get(&m), STATE_FAILURE);
	assert_true(state_rate(&m) > 0.2 && state_rate(&m) < 0.5);
	/* the rate falls to 0.2: back to OK */
	int left = -1;
	for (; i < 600; i++) {
		if (state_push(&m, i * DT, 0, &tr) == 1) {
			left = i;
			assert_int_equal(tr.to, STATE_OK);
			assert_true(tr.rate <= 0.2);
		}
	}
	assert_true(left > 500 && left < 530);
	/* and the same 30 % rate does not enter FAILURE from OK */
	for (; i < 900; i++)
		assert_int_equal(state_push(&m, i * DT, i % 10 < 3, &tr), 0);
	assert_int_equal(state_get(&m), STATE_OK);
	state_cleanup(&m);
}

static void test_time_window_expires(void **state)
{
	(void)state;
	state_machine m;
	char err[128];
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	for (int i = 0; i < 50; i++)
		state_push(&m, i * DT, 0, NULL);
	assert_int_equal(state_count(&m), 40);
	/* after a 60 s gap only the new label counts: too little evidence */
	state_transition tr;
	assert_int_equal(state_push(&m, 70.0, 1, &tr), 0);
	assert_int_equal(state_count(&m), 1);
	assert_true(state_rate(&m) == 1.0);
	assert_int_equal(state_get(&m), STATE_OK);
	assert_int_equal(state_push(&m, 69.0, 1, &tr), AM_EORDER);
	assert_int_equal(state_push(&m, NAN, 1, &tr), AM_EINVAL);
	state_cleanup(&m);
}

static void test_capacity_bounds_memory(void **state)
{
	(void)state;
	state_params p;
	state_defaults(&p);
	p.capacity = 20;
	state_machine m;
	char err[128];
	assert_int_equal(state_init(&m, &p, err, sizeof err), 0);
	for (int i = 0; i < 100; i++) /* the ring's 20 labels span 9.5 s */
		state_push(&m, i * 0.5, i >= 85, NULL);
	assert_int_equal(state_count(&m), 20);
	assert_true(fabs(state_rate(&m) - 0.75) < 1e-12);
	assert_int_equal(state_get(&m), STATE_FAILURE);
	state_cleanup(&m);
}

/* The ring holds what the window holds, not the capacity: 40 labels (4
 * windows/s over the default 10 s) stay in the first STATE_RING_MIN; 333 make it
 * grow to 512, in order (the rate over the window is the brute-force one
 * at every step, across each growth). */
static void test_ring_follows_window(void **state)
{
	(void)state;
	state_machine m;
	char err[128];
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	for (int i = 0; i < 5000; i++)
		assert_true(state_push(&m, i * DT, i % 7 == 0, NULL) >= 0);
	assert_int_equal(state_count(&m), 40);
	assert_int_equal(m.cap, STATE_RING_MIN);
	state_cleanup(&m);

	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	for (int i = 0; i < 2000; i++) {
		const double dt = 0.03, now = i * dt;
		int want = 0, n = 0;
		assert_true(state_push(&m, now, i % 3 == 0, NULL) >= 0);
		for (int j = 0; j <= i; j++)
			if (j * dt > now - m.p.window_s) {
				n++;
				want += j % 3 == 0;
			}
		assert_int_equal(state_count(&m), n);
		assert_true(fabs(state_rate(&m) - (double)want / n) < 1e-12);
	}
	assert_int_equal(m.cap, 512);
	state_cleanup(&m);
}

static void test_stale_and_restore(void **state)
{
	(void)state;
	state_machine m;
	char err[128];
	assert_int_equal(state_init(&m, NULL, err, sizeof err), 0);
	state_transition tr;
	for (int i = 0; i < 60; i++)
		state_push(&m, i * DT, 1, NULL);
	assert_int_equal(state_get(&m), STATE_FAILURE);
	assert_int_equal(state_set(&m, STATE_STALE, 30.0, &tr), 1);
	assert_int_equal(tr.from, STATE_FAILURE);
	assert_int_equal(tr.to, STATE_STALE);
	assert_int_equal(state_count(&m), 0);
	assert_int_equal(state_set(&m, STATE_STALE, 31.0, &tr), 0);
	/* labels while STALE cause no transition */
	for (int i = 0; i < 40; i++)
		assert_int_equal(state_push(&m, 40.0 + i * DT, 1, &tr), 0);
	assert_int_equal(state_get(&m), STATE_STALE);
	assert_int_equal(state_set(&m, STATE_OK, 50.0, &tr), 1);
	assert_int_equal(tr.from, STATE_STALE);
	assert_true(m.since == 50.0);
	/* evidence gathered since is used at the next label */
	assert_int_equal(state_push(&m, 50.25, 1, &tr), 1);
	assert_int_equal(tr.to, STATE_FAILURE);
	state_cleanup(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_names),
	    cmocka_unit_test(test_isolated_glitches_never_flip),
	    cmocka_unit_test(test_sustained_enters_and_hysteresis),
	    cmocka_unit_test(test_time_window_expires),
	    cmocka_unit_test(test_capacity_bounds_memory),
	    cmocka_unit_test(test_ring_follows_window),
	    cmocka_unit_test(test_stale_and_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
