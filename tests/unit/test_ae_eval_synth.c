/* test_ae_eval_synth — the two offline evaluations (tools/ae_eval_*.h, what
 * `make eval-skab` and `make eval-lpms` run) on data this test makes, so
 * their code paths run on a plain clone; the real SKAB files and LPMS-B2
 * recordings (../shared, optional) are what the figures in models/README.md
 * come from, and test_ae_lpms runs the LPMS one on them where they exist.
 *
 *  - SKAB: a directory laid out as SKAB is (valve1/, anomaly-free/),
 *    series at 1 Hz with SKAB's channels and its `;`-separated layout
 *    `datetime;...;anomaly;changepoint`, one labelled anomalous stretch per
 *    file (a valve closing: flow down, current up; a loose pump: vibration),
 *    and a file without labels. ae_eval_skab_dir evaluates the labelled
 *    files, skips the other, splits them into tuning and validation by
 *    file, writes each output where SKAB's layout puts
 *    it, one row per test row, and its pooled counts cover every test row
 *    and find the stretches (F1, FAR and MAR within stated bounds).
 *  - LPMS: ae_eval_lpms fitted on a healthy synthetic arm minus its tail,
 *    then the arm with fault episodes: FAILURE in every episode and only
 *    there, none on the held-out tail — the checks test_ae_lpms makes on the
 *    real recordings, against the arm's own ground truth. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "../../tools/ae_eval_lpms.h"
#include "../../tools/ae_eval_skab.h"
#include "../harness/harness.h"
#include "../harness/synth.h"
#include "csv.h"

/* ---- SKAB-like series ------------------------------------------------------- */

#define SKAB_ROWS 1150 /* SKAB's files hold 700..1300 rows */
#define SKAB_A0 620    /* the anomalous stretch: rows A0 .. A1-1 */
#define SKAB_A1 900

/* Deterministic noise in [-1, 1): xorshift64. */
static double noise(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / 4503599627370496.0 - 1.0;
}

/* One SKAB-like file at dir/rel: 1 Hz from 2020-03-09 10:14:33, SKAB's
 * eight channels (Temperature and Thermocouple drifting as the testbed
 * warms), and, when labelled, a stretch of kind 0 (valve: flow down,
 * current and pressure up) or 1 (pump: vibration up) marked by `anomaly`
 * and its edges by `changepoint`. */
static void skab_write(const char *dir, const char *rel, int labelled, int kind,
		       uint64_t seed)
{
	char path[PATH_MAX];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;"
		"Temperature;Thermocouple;Voltage;Volume Flow RateRMS%s\n",
		labelled ? ";anomaly;changepoint" : "");
	for (int r = 0; r < SKAB_ROWS; r++) {
		int a = labelled && r >= SKAB_A0 && r < SKAB_A1;
		int s = 33 + r, m = 14 + s / 60, h = 10 + m / 60;
		double cyc = sin(2 * M_PI * r / 47.0);
		double acc1 = 0.0265 + 0.0004 * cyc + 0.0003 * noise(&seed);
		double acc2 = 0.0400 + 0.0003 * cyc + 0.0003 * noise(&seed);
		double cur = 1.33 + 0.03 * cyc + 0.02 * noise(&seed);
		double pre = 0.38 + 0.01 * noise(&seed);
		double flow = 32.0 + 0.4 * cyc + 0.2 * noise(&seed);
		if (a && kind == 0) {
			flow -= 6.0;
			cur += 0.35;
			pre += 0.25;
		} else if (a) {
			acc1 += 0.006 + 0.002 * noise(&seed);
			acc2 += 0.008 + 0.002 * noise(&seed);
		}
		fprintf(
		    f,
		    "2020-03-09 %02d:%02d:%02d;%.7g;%.7g;%.6g;%.6g;%.6g;%.6g;%.6g;%.6g",
		    h, m % 60, s % 60, acc1, acc2, cur, pre, 79.3 + 0.012 * r,
		    26.0 + 0.004 * r, 235.0 + 1.5 * noise(&seed), flow);
		if (labelled)
			fprintf(f, ";%.1f;%.1f", (double)a,
				(double)(r == SKAB_A0 || r == SKAB_A1));
		fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
}

/* Rows of an output file, checking its header and that every row's time is
 * the input's at the same test row. */
static size_t skab_output_rows(const char *path)
{
	csv_table t;
	char err[256];
	size_t n;
	if (csv_read_file(path, &t, err, sizeof err))
		fail_msg("%s", err);
	size_t truth = 0;
	assert_int_equal(t.n_cols, 6);
	assert_string_equal(t.names[0], "datetime");
	assert_string_equal(t.names[1], "score");
	assert_string_equal(t.names[2], "anomaly");
	assert_string_equal(t.names[3], "state");
	assert_string_equal(t.names[4], "threshold");
	assert_string_equal(t.names[5], "truth");
	assert_true(t.is_text[0]);
	assert_string_equal(t.text[0], "2020-03-09 10:21:13"); /* row 400 */
	n = t.n_rows;
	for (size_t r = 0; r < n; r++)
		truth += t.values[r * t.n_cols + 5] == 1.0;
	assert_int_equal(truth, SKAB_A1 - SKAB_A0); /* the labelled rows, each once */
	csv_free(&t);
	return n;
}

static void test_skab_protocol_on_generated_series(void **state)
{
	static const char *const sub[] = {"valve1", "anomaly-free"};
	char dir[1024], out[1024], path[PATH_MAX], *report = NULL;
	const size_t test_rows = SKAB_ROWS - 400;
	static ae_eval_skab_pool pools[SKAB_POOLS];
	const ae_eval_counts *anomaly = &pools[SKAB_ALL].anomaly,
			     *st = &pools[SKAB_ALL].state;
	ae_eval_params p;
	size_t report_len = 0;
	FILE *rep;
	char err[512];
	int n;
	(void)state;

	assert_int_equal(harness_tmpdir_new("skab", dir, sizeof dir), 0);
	assert_int_equal(harness_tmpdir_new("skab-out", out, sizeof out), 0);
	for (size_t d = 0; d < sizeof sub / sizeof sub[0]; d++) {
		snprintf(path, sizeof path, "%s/%s", dir, sub[d]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	skab_write(dir, "valve1/0.csv", 1, 0, 11);
	skab_write(dir, "valve1/1.csv", 1, 1, 12);
	skab_write(dir, "anomaly-free/anomaly-free.csv", 0, 0, 13);

	ae_eval_skab_defaults(&p);
	rep = open_memstream(&report, &report_len);
	assert_non_null(rep);
	memset(pools, 0, sizeof pools);
	n = ae_eval_skab_dir(&p, dir, out, rep, pools, err, sizeof err);
	assert_int_equal(fclose(rep), 0);
	if (n < 0)
		fail_msg("%s", err);
	print_message("%s", report);
	free(report);

	/* the labelled files, each written where SKAB's layout puts it, one row
	 * per test row; the file without labels skipped, nothing written */
	assert_int_equal(n, 2);
	snprintf(path, sizeof path, "%s/valve1/0.csv", out);
	assert_int_equal(skab_output_rows(path), test_rows);
	snprintf(path, sizeof path, "%s/valve1/1.csv", out);
	assert_int_equal(skab_output_rows(path), test_rows);
	snprintf(path, sizeof path, "%s/anomaly-free/anomaly-free.csv", out);
	assert_int_equal(access(path, F_OK), -1);

	/* split by file (in a directory, the 1st tunes, the 2nd validates),
	 * each part pooled on its own and both together */
	assert_int_equal(pools[SKAB_TUNING].files, 1);
	assert_int_equal(pools[SKAB_VALIDATION].files, 1);
	assert_int_equal(pools[SKAB_ALL].files, 2);
	assert_int_equal(pools[SKAB_TUNING].state.tp + pools[SKAB_TUNING].state.fp +
			     pools[SKAB_TUNING].state.tn + pools[SKAB_TUNING].state.fn,
			 test_rows);
	assert_int_equal(pools[SKAB_ALL].onsets, 2);

	/* pooled over every test row; the stretches found */
	assert_int_equal(anomaly->tp + anomaly->fp + anomaly->tn + anomaly->fn,
			 2 * test_rows);
	assert_int_equal(st->tp + st->fp + st->tn + st->fn, 2 * test_rows);
	assert_int_equal(anomaly->tp + anomaly->fn, 2 * (SKAB_A1 - SKAB_A0));
	print_message("state   F1 %.3f FAR %.2f %% MAR %.2f %%\n", ae_eval_f1(st),
		      100 * ae_eval_far(st), 100 * ae_eval_mar(st));
	print_message("anomaly F1 %.3f FAR %.2f %% MAR %.2f %%\n", ae_eval_f1(anomaly),
		      100 * ae_eval_far(anomaly), 100 * ae_eval_mar(anomaly));
	assert_true(ae_eval_f1(st) > 0.9);
	assert_true(ae_eval_far(st) < 0.05);
	assert_true(ae_eval_mar(st) < 0.1);
	assert_true(ae_eval_f1(anomaly) > 0.9);
}

/* ---- the LPMS evaluation on the arm ------------------------------------------ */

#define ARM_RATE 50
#define ARM_NORMAL_S 150 /* as long as the real normal recording */
#define ARM_FAULTY_S 190 /* and the pre-fail one */
#define ENTER_S 12.0     /* FAILURE entered this soon after an episode starts */
#define LEAVE_S 15.0     /* and left this soon after it ends */

static void test_lpms_protocol_on_the_arm(void **state)
{
	arm_params healthy, faulty;
	truth_stretch hot[8];
	ae_eval_params p;
	ae_eval_lpms_result r;
	const char *normal, *prefail;
	size_t n_hot = 0;
	char err[512];
	(void)state;

	arm_params_default(&healthy);
	healthy.seed = 11;
	synth_arm_faulty(&faulty, 12);
	normal = synth_arm_csv("normal.csv", &healthy, ARM_RATE, ARM_NORMAL_S);
	prefail = synth_arm_csv("faulty.csv", &faulty, ARM_RATE, ARM_FAULTY_S);
	assert_true(normal && prefail);
	assert_int_equal(synth_arm_truth(prefail, &faulty, ARM_FAULTY_S, hot, 8, &n_hot),
			 0);
	assert_int_equal(n_hot, 3);

	ae_eval_lpms_defaults(&p);
	p.train.epochs = 30; /* as test_ae_lpms: enough, and fast under SAN */
	p.bin_s = 0;
	if (ae_eval_lpms(&p, normal, prefail, NULL, NULL, &r, err, sizeof err))
		fail_msg("%s", err);

	/* no FAILURE on the held-out healthy tail */
	assert_true(r.tail_windows > 50);
	assert_int_equal(r.tail_failures, 0);
	/* one FAILURE per episode, entered within ENTER_S of its start, left
	 * within LEAVE_S of its end, and none outside */
	for (size_t i = 0; i < r.n_fail; i++)
		print_message("FAILURE %6.1f .. %6.1f s\n", r.fail[i].start,
			      r.fail[i].end);
	assert_int_equal(r.n_fail, n_hot);
	for (size_t h = 0; h < n_hot; h++) {
		assert_true(r.fail[h].start >= hot[h].start);
		assert_true(r.fail[h].start <= hot[h].start + ENTER_S);
		assert_true(r.fail[h].end >= hot[h].end);
		assert_true(r.fail[h].end <= hot[h].end + LEAVE_S);
	}
}

int main(void)
{
	openblas_set_num_threads(1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_skab_protocol_on_generated_series),
	    cmocka_unit_test(test_lpms_protocol_on_the_arm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
