/* test_scorer_window — the scorer's live windowing (services/scorer/window.c):
 * the windows cut from a stream of raw messages, whatever their sizes and
 * channel order, are bit for bit those ae_standardise + ae_make_windows cut
 * offline from the same rows; gaps, new runs, time going back, rate
 * changes, model changes and missing channels restart the window so that no
 * window ever spans the break, duplicates are dropped without a restart; a
 * stream at twice the model's rate, decimated, gives the windows of every
 * other row; which rates are fed and which refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/scorer/window.h"
#include "ae.h"
#include "ae_rng.h"

#define W 20
#define HOP 3
#define NCH 3
#define RATE 50.0
#define T0 1700000000.0

static const char *const model_ch[] = {"linacc_x", "linacc_y", "linacc_z"};

/* A model over linacc_x/y/z, window W, hop HOP, with a non-trivial scaler. */
static void make_model(ae_model *m)
{
	const size_t hidden[] = {4};
	ae_spec s = {model_ch, NCH, W, HOP, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	char err[256];
	assert_int_equal(ae_model_init(m, &s, err, sizeof err), 0);
	for (size_t c = 0; c < NCH; c++) {
		m->mean[c] = 0.1f * (float)(c + 1);
		m->std[c] = 0.5f + 0.25f * (float)c;
	}
}

/* Rows (n x NCH) of a deterministic pseudo-random signal. */
static float *make_rows(size_t n)
{
	float *x = malloc(n * NCH * sizeof(*x));
	ae_rng r;
	assert_non_null(x);
	ae_rng_seed(&r, 42);
	for (size_t i = 0; i < n * NCH; i++)
		x[i] = (float)(2.0 * ae_rng_uniform(&r) - 1.0);
	return x;
}

/* Collected windows. */
typedef struct sink {
	size_t n;
	float *x; /* n x W*NCH */
	double ts[4096], te[4096];
} sink;

static void on_window(void *ud, const float *w, double t_start, double t_end)
{
	sink *k = ud;
	assert_true(k->n < 4096);
	k->x = realloc(k->x, (k->n + 1) * W * NCH * sizeof(*k->x));
	assert_non_null(k->x);
	memcpy(k->x + k->n * W * NCH, w, W * NCH * sizeof(*w));
	k->ts[k->n] = t_start;
	k->te[k->n] = t_end;
	k->n++;
}

/* A raw message holding rows[first .. first+n) with channels in the order
 * z, extra, x, y (the model must pick by name), seq and frame as given. */
static void make_msg(msg_raw *r, const float *rows, size_t first, size_t n, uint64_t seq,
		     const char *run)
{
	static const char *const order[] = {"linacc_z", "temperature", "linacc_x",
					    "linacc_y"};
	static const int src[] = {2, -1, 0, 1};
	memset(r, 0, sizeof(*r));
	snprintf(r->sensor, sizeof(r->sensor), "arm1");
	snprintf(r->run, sizeof(r->run), "%s", run);
	r->seq = seq;
	r->t0 = T0 + (double)first / RATE;
	r->rate_hz = RATE;
	r->has_frame0 = 1;
	r->frame0 = (int64_t)first;
	r->n_channels = 4;
	for (size_t c = 0; c < 4; c++)
		snprintf(r->channels[c], sizeof(r->channels[c]), "%s", order[c]);
	r->n_samples = n;
	r->samples = malloc((n ? n : 1) * 4 * sizeof(float));
	assert_non_null(r->samples);
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < 4; c++)
			r->samples[i * 4 + c] =
			    src[c] < 0 ? 21.5f : rows[(first + i) * NCH + (size_t)src[c]];
}

static unsigned feed(win_stream *s, const ae_model *m, uint64_t gen, const float *rows,
		     size_t first, size_t n, uint64_t seq, const char *run, sink *k)
{
	msg_raw r;
	unsigned ev;
	make_msg(&r, rows, first, n, seq, run);
	ev = win_feed(s, m, gen, &r, on_window, k);
	free(r.samples);
	return ev;
}

/* Offline windows of rows[first .. first+n). */
static size_t offline(const ae_model *m, const float *rows, size_t first, size_t n,
		      float **out)
{
	float *std = malloc(n * NCH * sizeof(*std));
	size_t nw = ae_window_count(n, W, HOP);
	assert_non_null(std);
	ae_standardise(m, rows + first * NCH, n, std);
	*out = malloc((nw ? nw : 1) * W * NCH * sizeof(**out));
	assert_non_null(*out);
	assert_int_equal(ae_make_windows(m, std, n, *out), nw);
	free(std);
	return nw;
}

static void test_windows_equal_offline(void **state)
{
	(void)state;
	const size_t n_rows = 257;
	ae_model m;
	float *rows, *ref;
	sink k = {0};
	win_stream s;
	size_t pos = 0, nw;
	uint64_t seq = 0;

	make_model(&m);
	rows = make_rows(n_rows);
	win_stream_init(&s);
	/* message sizes 1..17, cycling, so windows end anywhere in a message */
	for (size_t sz = 1; pos < n_rows; sz = sz % 17 + 1) {
		size_t n = pos + sz > n_rows ? n_rows - pos : sz;
		assert_int_equal(feed(&s, &m, 1, rows, pos, n, seq++, "run1", &k), 0);
		pos += n;
	}
	nw = offline(&m, rows, 0, n_rows, &ref);
	assert_int_equal(k.n, nw);
	assert_true(nw > 70);
	assert_memory_equal(k.x, ref, nw * W * NCH * sizeof(float));
	for (size_t i = 0; i < nw; i++) {
		/* t0 + i / rate of the sample's own message: equal to 1 us */
		assert_true(fabs(k.ts[i] - (T0 + (double)(i * HOP) / RATE)) < 1e-6);
		assert_true(fabs(k.te[i] - (T0 + (double)(i * HOP + W - 1) / RATE)) <
			    1e-6);
	}
	/* one huge message gives the same windows */
	win_stream_cleanup(&s);
	win_stream_init(&s);
	free(k.x);
	memset(&k, 0, sizeof(k));
	assert_int_equal(feed(&s, &m, 1, rows, 0, n_rows, 0, "run1", &k), 0);
	assert_int_equal(k.n, nw);
	assert_memory_equal(k.x, ref, nw * W * NCH * sizeof(float));

	free(ref);
	free(k.x);
	free(rows);
	win_stream_cleanup(&s);
	ae_model_cleanup(&m);
}

/* Feed rows[0..50) in messages of 10, then a broken message at rows[b..b+10)
 * made by `breaker`, then contiguous messages of 10 up to 150. Every window
 * after the break must lie entirely after it and equal the offline windows
 * of the rows from the break on. */
typedef unsigned (*breaker_fn)(win_stream *s, const ae_model *m, const float *rows,
			       sink *k);

static void check_restart(breaker_fn brk, unsigned want_ev, size_t b, uint64_t seq_after,
			  const char *run_after, uint64_t gen_after)
{
	ae_model m;
	float *rows = make_rows(200), *ref;
	sink k = {0};
	win_stream s;
	size_t before, nw;
	uint64_t seq = 0;

	make_model(&m);
	win_stream_init(&s);
	for (size_t p = 0; p < 50; p += 10)
		assert_int_equal(feed(&s, &m, 1, rows, p, 10, seq++, "run1", &k), 0);
	before = k.n;
	assert_int_equal(before, ae_window_count(50, W, HOP));
	assert_int_equal(brk(&s, &m, rows, &k), want_ev);
	seq = seq_after;
	for (size_t p = b + 10; p < b + 100; p += 10)
		assert_int_equal(
		    feed(&s, &m, gen_after, rows, p, 10, seq++, run_after, &k), 0);
	nw = offline(&m, rows, b, 100, &ref);
	assert_int_equal(k.n - before, nw);
	assert_memory_equal(k.x + before * W * NCH, ref, nw * W * NCH * sizeof(float));
	for (size_t i = before; i < k.n; i++)
		assert_true(k.ts[i] >= T0 + (double)b / RATE);
	free(ref);
	free(k.x);
	free(rows);
	win_stream_cleanup(&s);
	ae_model_cleanup(&m);
}

static unsigned brk_seq(win_stream *s, const ae_model *m, const float *rows, sink *k)
{
	return feed(s, m, 1, rows, 70, 10, 7, "run1", k); /* seq 5, 6 lost */
}
static unsigned brk_run(win_stream *s, const ae_model *m, const float *rows, sink *k)
{
	return feed(s, m, 1, rows, 50, 10, 0, "run2", k);
}
static unsigned brk_frame(win_stream *s, const ae_model *m, const float *rows, sink *k)
{
	/* seq continues, but the sensor's frames 50..69 never arrived */
	return feed(s, m, 1, rows, 70, 10, 5, "run1", k);
}
static unsigned brk_model(win_stream *s, const ae_model *m, const float *rows, sink *k)
{
	return feed(s, m, 2, rows, 50, 10, 5, "run1", k);
}
static unsigned brk_time(win_stream *s, const ae_model *m, const float *rows, sink *k)
{
	msg_raw r;
	unsigned ev;
	s->max_gap_s = 1.0;
	make_msg(&r, rows, 50, 10, 5, "run1");
	r.has_frame0 = 0; /* a source without frame counter: only time tells */
	r.t0 += 2.0;
	ev = win_feed(s, m, 1, &r, on_window, k);
	free(r.samples);
	return ev;
}

static void test_seq_gap_restarts(void **state)
{
	(void)state;
	/* the frames also jump, but one event is reported: the seq gap */
	check_restart(brk_seq, WIN_EV_SEQ_GAP, 70, 8, "run1", 1);
}
static void test_new_run_restarts(void **state)
{
	(void)state;
	check_restart(brk_run, WIN_EV_RUN, 50, 1, "run2", 1);
}
static void test_frame_gap_restarts(void **state)
{
	(void)state;
	check_restart(brk_frame, WIN_EV_FRAME_GAP, 70, 6, "run1", 1);
}
static void test_model_change_restarts(void **state)
{
	(void)state;
	check_restart(brk_model, WIN_EV_MODEL, 50, 6, "run1", 2);
}

static void test_time_gap_restarts(void **state)
{
	(void)state;
	ae_model m;
	float *rows = make_rows(200);
	sink k = {0};
	win_stream s;
	uint64_t seq = 0;
	size_t before;

	make_model(&m);
	win_stream_init(&s);
	for (size_t p = 0; p < 50; p += 10)
		assert_int_equal(feed(&s, &m, 1, rows, p, 10, seq++, "run1", &k), 0);
	before = k.n;
	assert_int_equal(brk_time(&s, &m, rows, &k), WIN_EV_TIME_GAP);
	/* 10 samples after the gap: not a window yet (nothing padded) */
	assert_int_equal(k.n, before);
	win_stream_cleanup(&s);
	free(k.x);
	free(rows);
	ae_model_cleanup(&m);
}

static void test_duplicates_dropped_without_restart(void **state)
{
	(void)state;
	ae_model m;
	float *rows = make_rows(200), *ref;
	sink k = {0};
	win_stream s;
	size_t nw;

	make_model(&m);
	win_stream_init(&s);
	for (uint64_t q = 0; q < 10; q++) {
		assert_int_equal(feed(&s, &m, 1, rows, q * 10, 10, q, "run1", &k), 0);
		if (q == 4 || q == 7) /* QoS 1 redelivery of this and an older one */
			assert_int_equal(feed(&s, &m, 1, rows, q * 10, 10, q, "run1", &k),
					 WIN_EV_DUP);
		if (q == 7)
			assert_int_equal(feed(&s, &m, 1, rows, 30, 10, 3, "run1", &k),
					 WIN_EV_DUP);
	}
	nw = offline(&m, rows, 0, 100, &ref);
	assert_int_equal(k.n, nw);
	assert_memory_equal(k.x, ref, nw * W * NCH * sizeof(float));
	free(ref);
	free(k.x);
	free(rows);
	win_stream_cleanup(&s);
	ae_model_cleanup(&m);
}

static void test_out_of_order_and_rate(void **state)
{
	(void)state;
	ae_model m;
	float *rows = make_rows(200);
	sink k = {0};
	win_stream s;
	msg_raw r;
	size_t before;

	make_model(&m);
	win_stream_init(&s);
	for (uint64_t q = 0; q < 5; q++)
		assert_int_equal(feed(&s, &m, 1, rows, q * 10, 10, q, "run1", &k), 0);
	before = k.n;
	/* next seq, but its t0 goes back in time */
	make_msg(&r, rows, 50, 10, 5, "run1");
	r.has_frame0 = 0;
	r.t0 = T0 + 0.1;
	assert_int_equal(win_feed(&s, &m, 1, &r, on_window, &k), WIN_EV_ORDER);
	free(r.samples);
	assert_int_equal(k.n, before);
	/* then the rate changes */
	make_msg(&r, rows, 60, 10, 6, "run1");
	r.has_frame0 = 0;
	r.t0 = T0 + 10;
	r.rate_hz = 100;
	assert_int_equal(win_feed(&s, &m, 1, &r, on_window, &k), WIN_EV_RATE);
	free(r.samples);
	assert_int_equal(k.n, before);
	win_stream_cleanup(&s);
	free(k.x);
	free(rows);
	ae_model_cleanup(&m);
}

static void test_missing_channel_dropped(void **state)
{
	(void)state;
	ae_model m;
	float *rows = make_rows(200);
	sink k = {0};
	win_stream s;
	msg_raw r;

	make_model(&m);
	win_stream_init(&s);
	for (uint64_t q = 0; q < 3; q++) /* 30 samples: one window so far */
		assert_int_equal(feed(&s, &m, 1, rows, q * 10, 10, q, "run1", &k), 0);
	assert_int_equal(k.n, ae_window_count(30, W, HOP));
	make_msg(&r, rows, 30, 10, 3, "run1");
	snprintf(r.channels[2], sizeof(r.channels[2]), "acc_x"); /* linacc_x gone */
	assert_int_equal(win_feed(&s, &m, 1, &r, on_window, &k), WIN_EV_CHANNELS);
	free(r.samples);
	/* continuity kept (no extra gap event), window restarted: the next 10
	 * samples complete nothing */
	assert_int_equal(feed(&s, &m, 1, rows, 40, 10, 4, "run1", &k), 0);
	assert_int_equal(k.n, ae_window_count(30, W, HOP));
	assert_int_equal(feed(&s, &m, 1, rows, 50, 10, 5, "run1", &k), 0);
	assert_int_equal(k.n, ae_window_count(30, W, HOP) + 1);
	assert_true(fabs(k.ts[k.n - 1] - (T0 + 40 / RATE)) < 1e-6);
	win_stream_cleanup(&s);
	win_stream_cleanup(&s); /* idempotent */
	free(k.x);
	free(rows);
	ae_model_cleanup(&m);
}

/* Rows at 2 x RATE in messages of 7 (odd: the kept sample's phase crosses
 * messages) with step 2 give exactly the offline windows of every other
 * row, stamped as the kept rows; a step change restarts the window. */
static void test_decimated_stream(void **state)
{
	(void)state;
	const size_t n_rows = 400;
	ae_model m;
	float *rows, *even, *ref;
	sink k = {0};
	win_stream s;
	size_t nw;
	uint64_t seq = 0;

	make_model(&m);
	rows = make_rows(n_rows);
	even = malloc(n_rows / 2 * NCH * sizeof(*even));
	assert_non_null(even);
	for (size_t i = 0; i < n_rows / 2; i++)
		memcpy(even + i * NCH, rows + 2 * i * NCH, NCH * sizeof(*even));
	win_stream_init(&s);
	s.step = 2;
	for (size_t pos = 0; pos < n_rows; pos += 7) {
		msg_raw r;
		size_t n = pos + 7 > n_rows ? n_rows - pos : 7;
		make_msg(&r, rows, pos, n, seq++, "run1");
		r.rate_hz = 2 * RATE;
		r.t0 = T0 + (double)pos / (2 * RATE);
		assert_int_equal(win_feed(&s, &m, 1, &r, on_window, &k), 0);
		free(r.samples);
	}
	nw = offline(&m, even, 0, n_rows / 2, &ref);
	assert_true(nw > 50);
	assert_int_equal(k.n, nw);
	assert_memory_equal(k.x, ref, nw * W * NCH * sizeof(float));
	for (size_t i = 0; i < nw; i++) {
		assert_true(fabs(k.ts[i] - (T0 + (double)(i * HOP) / RATE)) < 1e-6);
		assert_true(fabs(k.te[i] - (T0 + (double)(i * HOP + W - 1) / RATE)) <
			    1e-6);
	}
	/* the caller changes the step (a new plan): the window restarts */
	s.step = 1;
	{
		msg_raw r;
		size_t before = k.n;
		make_msg(&r, rows, 0, W - 1, seq++, "run1");
		r.rate_hz = 2 * RATE;
		r.t0 = T0 + (double)n_rows / (2 * RATE);
		r.frame0 = (int64_t)n_rows; /* continues the stream */
		assert_int_equal(win_feed(&s, &m, 1, &r, on_window, &k), 0);
		free(r.samples);
		assert_int_equal(k.n, before); /* W - 1 samples: no window yet */
	}
	free(ref);
	free(even);
	free(k.x);
	free(rows);
	win_stream_cleanup(&s);
	ae_model_cleanup(&m);
}

static void test_rate_plan(void **state)
{
	(void)state;
	size_t step;
	assert_int_equal(ae_rate_plan(50, 50, &step), AE_RATE_SAME);
	assert_int_equal(step, 1);
	/* the LPMS-B2 recordings' effective rates of a nominal 50 Hz */
	assert_int_equal(ae_rate_plan(50, 45.3, &step), AE_RATE_SAME);
	assert_int_equal(ae_rate_plan(50, 100, &step), AE_RATE_DECIMATE);
	assert_int_equal(step, 2);
	assert_int_equal(ae_rate_plan(50, 400, &step), AE_RATE_DECIMATE);
	assert_int_equal(step, 8);
	assert_int_equal(ae_rate_plan(50, 98, &step), AE_RATE_DECIMATE);
	assert_int_equal(step, 2);
	assert_int_equal(ae_rate_plan(50, 25, &step), AE_RATE_TOO_SLOW);
	assert_int_equal(step, 1);
	assert_int_equal(ae_rate_plan(50, 40, &step), AE_RATE_TOO_SLOW);
	assert_int_equal(ae_rate_plan(50, 75, &step), AE_RATE_NO_RATIO);
	assert_int_equal(ae_rate_plan(40, 100, &step), AE_RATE_NO_RATIO);
	assert_int_equal(ae_rate_plan(0, 100, &step), AE_RATE_UNKNOWN);
	assert_int_equal(step, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_windows_equal_offline),
	    cmocka_unit_test(test_seq_gap_restarts),
	    cmocka_unit_test(test_new_run_restarts),
	    cmocka_unit_test(test_frame_gap_restarts),
	    cmocka_unit_test(test_model_change_restarts),
	    cmocka_unit_test(test_time_gap_restarts),
	    cmocka_unit_test(test_duplicates_dropped_without_restart),
	    cmocka_unit_test(test_out_of_order_and_rate),
	    cmocka_unit_test(test_missing_channel_dropped),
	    cmocka_unit_test(test_decimated_stream),
	    cmocka_unit_test(test_rate_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
