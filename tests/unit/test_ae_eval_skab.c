/* test_ae_eval_skab — the SKAB evaluation's machinery on small synthetic
 * files (the figures on the real data are test_eval_figures'):
 *  - the split: with three labelled files and one without labels in a
 *    directory, --files tuning runs the 1st and 3rd, validation the 2nd,
 *    all of them all three, and the unlabelled file never moves the split;
 *  - the sweep replays exactly what the evaluation does: its line for the
 *    evaluation's own threshold margin and state settings carries the same
 *    state counts, delay and NAB as ae_eval_skab_dir gives for the file;
 *  - the drift baselines (ae_eval_baseline.h): none leaves rows alone;
 *    the EWMA starts at the first rows' median and follows a step with its
 *    time constant; the moving median equals a sorted-copy median of the
 *    previous rows, for odd, even and short histories; bad settings are
 *    refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/ae_eval_baseline.h"
#include "../../tools/ae_eval_skab.h"
#include "../../tools/ae_eval_sweep.h"
#include "../harness/harness.h"

#define ROWS 560
#define ONSET 470
#define END 520

/* A SKAB-like file: two channels (a sine and noise), one anomaly (rows
 * ONSET..END-1: the sine's amplitude triples), changepoints at its edges;
 * labels 0 without the anomaly column when labelled is 0. */
static void write_file(const char *path, unsigned seed, int labelled)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "datetime;a;b%s\n", labelled ? ";anomaly;changepoint" : "");
	srand(seed);
	for (int r = 0; r < ROWS; r++) {
		int an = r >= ONSET && r < END;
		double a =
		    (an ? 3.0 : 1.0) * sin(r * 0.7) + 0.05 * (rand() % 100) / 100.0;
		double b = 0.1 * (rand() % 100) / 100.0;
		fprintf(f, "2020-03-09 10:%02d:%02d;%.6f;%.6f", 10 + r / 60, r % 60, a,
			b);
		if (labelled)
			fprintf(f, ";%d;%d", an, r == ONSET || r == END);
		fputc('\n', f);
	}
	fclose(f);
}

static void small_params(ae_eval_params *p)
{
	ae_eval_skab_defaults(p);
	snprintf(p->channels[0], AE_NAME_MAX, "a");
	snprintf(p->channels[1], AE_NAME_MAX, "b");
	p->n_channels = 2;
	p->window = 5;
	p->hidden[0] = 4;
	p->train.epochs = 20;
}

static void make_dir(char *dir, size_t len)
{
	char path[4096];
	assert_int_equal(harness_tmpdir_new("skab", dir, len), 0);
	snprintf(path, sizeof path, "%s/1.csv", dir);
	write_file(path, 1, 1);
	snprintf(path, sizeof path, "%s/2.csv", dir);
	write_file(path, 2, 1);
	snprintf(path, sizeof path, "%s/2a-nolabels.csv", dir);
	write_file(path, 3, 0);
	snprintf(path, sizeof path, "%s/3.csv", dir);
	write_file(path, 4, 1);
}

static void test_split(void **state)
{
	char dir[1024], err[512];
	ae_eval_params p;
	ae_eval_skab_pool pools[SKAB_POOLS];
	static const struct {
		int files;
		int n, tune, val;
	} cases[] = {{AE_EVAL_FILES_ALL, 3, 2, 1},
		     {AE_EVAL_FILES_TUNING, 2, 2, 0},
		     {AE_EVAL_FILES_VALIDATION, 1, 0, 1}};
	(void)state;
	make_dir(dir, sizeof dir);
	small_params(&p);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p.files = cases[i].files;
		memset(pools, 0, sizeof pools);
		int n = ae_eval_skab_dir(&p, dir, NULL, NULL, pools, err, sizeof err);
		if (n < 0)
			fail_msg("%s", err);
		assert_int_equal(n, cases[i].n);
		assert_int_equal(pools[SKAB_TUNING].files, (size_t)cases[i].tune);
		assert_int_equal(pools[SKAB_VALIDATION].files, (size_t)cases[i].val);
	}
	harness_rm_tree(dir);
}

static void test_sweep_replays_eval(void **state)
{
	char dir[1024], err[512], out[2048], line[512];
	ae_eval_params p;
	ae_eval_skab_pool pools[SKAB_POOLS];
	(void)state;
	make_dir(dir, sizeof dir);
	small_params(&p);
	p.files = AE_EVAL_FILES_TUNING;
	memset(pools, 0, sizeof pools);
	assert_int_equal(ae_eval_skab_dir(&p, dir, NULL, NULL, pools, err, sizeof err),
			 2);
	snprintf(out, sizeof out, "%s/sweep.txt", dir);
	FILE *f = fopen(out, "w");
	assert_non_null(f);
	assert_int_equal(ae_eval_sweep_dir(&p, dir, f, err, sizeof err), 2);
	fclose(f);
	/* the evaluation's own setting (margin 1.2, 10 s, 0.5, 0.2, 5) over
	 * both files, pooled, must equal the evaluation's tuning pool */
	unsigned long long tp = 0, fp = 0, tn = 0, fn = 0, c[4];
	double s = 0, s_null = 0, s_perf = 0, delay, x[3];
	size_t lines = 0, detected = 0;
	char name[256], part[16];
	double margin, span, enter, exit_;
	size_t minw;
	f = fopen(out, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		assert_int_equal(
		    sscanf(line,
			   "sweep %255s %15s %lf %lf %lf %lf %zu %llu %llu %llu "
			   "%llu %lf %lf %lf %lf",
			   name, part, &margin, &span, &enter, &exit_, &minw, &c[0],
			   &c[1], &c[2], &c[3], &delay, &x[0], &x[1], &x[2]),
		    15);
		assert_string_equal(part, "tune");
		lines++;
		if (fabs(margin - p.train.thr_margin) > 1e-9 ||
		    span != p.state.window_s || enter != p.state.enter_rate ||
		    exit_ != p.state.exit_rate || minw != p.state.min_windows)
			continue;
		tp += c[0], fp += c[1], tn += c[2], fn += c[3];
		s += x[0], s_null += x[1], s_perf += x[2];
		detected += delay >= 0;
	}
	fclose(f);
	assert_true(lines > 100); /* the grid, for each of the two files */
	const ae_eval_skab_pool *t = &pools[SKAB_TUNING];
	assert_true(tp == t->state.tp && fp == t->state.fp && tn == t->state.tn &&
		    fn == t->state.fn);
	assert_int_equal(detected, t->detected);
	assert_true(fabs(s - t->nab.s[NAB_STANDARD]) < 1e-4);
	assert_true(fabs(s_null - t->nab.s_null[NAB_STANDARD]) < 1e-4);
	assert_true(fabs(s_perf - t->nab.s_perfect[NAB_STANDARD]) < 1e-4);
	assert_true(t->state.tp > 0); /* the anomaly is found at all */
	/* a threshold the sweep cannot scale is refused */
	p.train.thr_k = 1;
	assert_int_equal(ae_eval_sweep_dir(&p, dir, NULL, err, sizeof err), AM_EINVAL);
	harness_rm_tree(dir);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* The upper median of v[from, to) by sorting a copy. */
static float sorted_median(const float *v, size_t from, size_t to)
{
	float tmp[512];
	size_t n = to - from;
	memcpy(tmp, v + from, n * sizeof *tmp);
	qsort(tmp, n, sizeof *tmp, cmp_float);
	return tmp[n / 2];
}

static void test_baseline(void **state)
{
	enum { N = 300, INIT = 40 };
	float rows[N * 2], orig[N * 2], col[N];
	char err[256];
	ae_eval_baseline_params b = {AE_EVAL_BASELINE_NONE, 10};
	(void)state;
	srand(7);
	for (size_t i = 0; i < N * 2; i++)
		orig[i] = (float)(rand() % 1000) / 100.0f + (i / 2 >= 200 ? 5.0f : 0.0f);
	memcpy(rows, orig, sizeof rows);
	assert_int_equal(ae_eval_baseline(&b, rows, N, 2, INIT, err, sizeof err), 0);
	assert_memory_equal(rows, orig, sizeof rows);

	/* moving median, odd and even windows, against the sorted copy */
	for (size_t w = 9; w <= 10; w++) {
		b.kind = AE_EVAL_BASELINE_MEDIAN;
		b.rows = w;
		memcpy(rows, orig, sizeof rows);
		assert_int_equal(ae_eval_baseline(&b, rows, N, 2, INIT, err, sizeof err),
				 0);
		for (size_t c = 0; c < 2; c++) {
			for (size_t r = 0; r < N; r++)
				col[r] = orig[r * 2 + c];
			float start = sorted_median(col, 0, INIT);
			for (size_t r = 0; r < N; r++) {
				float base =
				    r < AE_EVAL_BASELINE_MIN_HISTORY
					? start
					: sorted_median(col, r > w ? r - w : 0, r);
				assert_float_equal(rows[r * 2 + c], col[r] - base, 1e-5);
			}
		}
	}

	/* EWMA: a constant channel leaves 0; a step of 1 decays as (1-1/tau)^k */
	for (size_t r = 0; r < N; r++) {
		rows[r * 2] = 2.0f;
		rows[r * 2 + 1] = r < 100 ? 0.0f : 1.0f;
	}
	b.kind = AE_EVAL_BASELINE_EWMA;
	b.rows = 20;
	assert_int_equal(ae_eval_baseline(&b, rows, N, 2, INIT, err, sizeof err), 0);
	for (size_t r = 0; r < N; r++)
		assert_float_equal(rows[r * 2], 0.0f, 1e-6);
	assert_float_equal(rows[99 * 2 + 1], 0.0f, 1e-6);
	assert_float_equal(rows[100 * 2 + 1], 1.0f, 1e-6);
	assert_float_equal(rows[120 * 2 + 1], pow(1.0 - 1.0 / 20, 20), 1e-5);

	/* refused: no time constant, nothing to start from; names both ways */
	b.rows = 0;
	assert_int_equal(ae_eval_baseline(&b, rows, N, 2, INIT, err, sizeof err),
			 AM_EINVAL);
	b.rows = 5;
	assert_int_equal(ae_eval_baseline(&b, rows, N, 2, 0, err, sizeof err), AM_EINVAL);
	int kind = -1;
	assert_int_equal(ae_eval_baseline_parse("median", &kind), 0);
	assert_int_equal(kind, AE_EVAL_BASELINE_MEDIAN);
	assert_string_equal(ae_eval_baseline_name(AE_EVAL_BASELINE_EWMA), "ewma");
	assert_int_equal(ae_eval_baseline_parse("mean", &kind), -1);
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_sweep_replays_eval),
	    cmocka_unit_test(test_baseline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
