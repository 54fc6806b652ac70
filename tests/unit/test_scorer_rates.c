/* test_scorer_rates — the scorer's core (services/scorer/scorer.c) with a
 * models directory and models that know their rate, no broker:
 *  - a sensor streaming at twice the model's rate is decimated: its
 *    predictions are the offline scores of every other row, stamped as
 *    those rows, and name the channels' shares of each score ("top");
 *  - one slower than the model, or at a rate that is no whole multiple of
 *    it, is refused: no prediction, every message counted in
 *    raw_rate_refused, the other sensors unaffected;
 *  - a file `<sensor>.aem` dropped into the directory serves that sensor
 *    from the next reload on, without a restart, the others staying on
 *    default.aem; removing it hands the sensor back to the default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../services/scorer/scorer.h"
#include "ae_rng.h"
#include "aefile.h"
#include "clock.h"
#include "metrics.h"
#include "msg.h"

#define W 16
#define HOP 4
#define MODEL_HZ 50.0
#define PER_MSG 10
#define MAX_PRED 4096

static const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};

typedef struct fix {
	char dir[64];
	model_map mm;
	metrics *m;
	scorer *sc;
	size_t n;
	msg_prediction pred[MAX_PRED];
	double t0;
} fix;

static int record(void *ud, const char *sensor, const char *payload, size_t len)
{
	fix *f = ud;
	char err[MSG_ERR_MAX];
	assert_true(f->n < MAX_PRED);
	assert_int_equal(
	    msg_prediction_decode(payload, len, &f->pred[f->n], err, sizeof err), 0);
	assert_string_equal(f->pred[f->n].sensor, sensor);
	f->n++;
	return 0;
}

static int64_t get(const fix *f, const char *name)
{
	return metrics_read(metrics_get(f->m, name));
}

/* A W x 3 model at MODEL_HZ named name, written to dir/file. */
static void save(const fix *f, const char *file, const char *name, uint64_t seed)
{
	const size_t hidden[] = {5};
	ae_spec s = {ch, 3, W, HOP, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	ae_model m;
	ae_rng r;
	char err[512], path[192];
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	ae_rng_seed(&r, seed);
	for (size_t i = 0; i < m.n_params; i++)
		m.params[i] = (float)(ae_rng_uniform(&r) - 0.5) * 0.3f;
	for (size_t c = 0; c < 3; c++)
		m.std[c] = 0.02f;
	m.rate_hz = MODEL_HZ;
	m.threshold = 2.0f;
	snprintf(m.meta.name, sizeof(m.meta.name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	assert_int_equal(aefile_save(&m, path, err, sizeof err), 0);
	ae_model_cleanup(&m);
}

static int setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));
	char err[512];
	scorer_opts o = {.root = "factory",
			 .self = "me",
			 .group = "g",
			 .max_age_s = 0,
			 .batch_max = 64,
			 .max_sensors = 100,
			 .max_payload = 64 * 1024};

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_scorer_rates.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	save(f, "default.aem", "generic", 7);
	models_init(&f->mm);
	assert_int_equal(
	    models_configure(&f->mm, NULL, 0, f->dir, "*=none.aem", err, sizeof err), 0);
	f->m = metrics_new();
	f->sc = scorer_new(&o, &f->mm, f->m, record, f, err, sizeof err);
	assert_non_null(f->sc);
	assert_int_equal(scorer_reload(f->sc, 0, NULL, NULL), 1); /* default.aem */
	f->t0 = clock_now() - 100.0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;
	char cmd[128];
	scorer_free(f->sc);
	models_cleanup(&f->mm);
	metrics_free(f->m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static float value(size_t k, size_t c)
{
	return (float)(0.02 * sin(0.11 * (double)k + (double)c));
}

/* Message seq of sensor at rate_hz: rows seq*PER_MSG .. of value(). */
static void send_msg(fix *f, const char *sensor, double rate_hz, uint64_t seq)
{
	msg_raw r;
	char payload[16384], topic[128], err[MSG_ERR_MAX];
	size_t len;
	msg_raw_init(&r);
	snprintf(r.sensor, sizeof(r.sensor), "%s", sensor);
	snprintf(r.run, sizeof(r.run), "run");
	r.seq = seq;
	r.t0 = f->t0 + (double)(seq * PER_MSG) / rate_hz;
	r.rate_hz = rate_hz;
	r.n_channels = 3;
	for (size_t c = 0; c < 3; c++)
		snprintf(r.channels[c], sizeof(r.channels[c]), "%s", ch[c]);
	assert_int_equal(msg_raw_reserve(&r, PER_MSG), 0);
	r.n_samples = PER_MSG;
	for (size_t k = 0; k < PER_MSG; k++)
		for (size_t c = 0; c < 3; c++)
			r.samples[k * 3 + c] = value(seq * PER_MSG + k, c);
	assert_int_equal(
	    msg_raw_encode(&r, payload, sizeof payload, &len, err, sizeof err), 0);
	snprintf(topic, sizeof(topic), "factory/%s/raw", sensor);
	scorer_handle(f->sc, topic, payload, len, clock_mono_ns());
	msg_raw_cleanup(&r);
}

static size_t count_of(const fix *f, const char *sensor)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n; i++)
		k += strcmp(f->pred[i].sensor, sensor) == 0;
	return k;
}

static void test_decimate_or_refuse(void **state)
{
	fix *f = *state;
	const size_t n_msg = 20, n_rows = n_msg * PER_MSG;
	const ae_model *m = &f->mm.slots[models_lookup(&f->mm, "fast")].model;
	float *rows = malloc(n_rows / 2 * 3 * sizeof(*rows)), *scores;
	ae_work w;
	char err[256];
	long nw;

	for (uint64_t q = 0; q < n_msg; q++) {
		send_msg(f, "fast", 2 * MODEL_HZ, q);
		send_msg(f, "same", MODEL_HZ, q);
		send_msg(f, "slow", MODEL_HZ / 2, q);
		send_msg(f, "odd", 1.5 * MODEL_HZ, q);
	}
	scorer_flush(f->sc);
	/* refused: nothing scored, every message counted */
	assert_int_equal(count_of(f, "slow"), 0);
	assert_int_equal(count_of(f, "odd"), 0);
	assert_int_equal(get(f, "raw_rate_refused"), 2 * (int64_t)n_msg);
	assert_int_equal(get(f, "raw_resampled"), (int64_t)n_msg);
	/* same rate: every row */
	assert_int_equal(count_of(f, "same"), ae_window_count(n_rows, W, HOP));

	/* decimated: the offline scores of every other row */
	assert_non_null(rows);
	for (size_t i = 0; i < n_rows / 2; i++)
		for (size_t c = 0; c < 3; c++)
			rows[i * 3 + c] = value(2 * i, c);
	nw = (long)ae_window_count(n_rows / 2, W, HOP);
	scores = malloc((size_t)nw * sizeof(*scores));
	assert_non_null(scores);
	assert_int_equal(ae_work_init(&w, m, 16, err, sizeof err), 0);
	assert_int_equal(ae_score_rows(m, rows, n_rows / 2, scores, &w), nw);
	assert_int_equal(count_of(f, "fast"), (size_t)nw);
	for (size_t i = 0, k = 0; i < f->n; i++) {
		const msg_prediction *p = &f->pred[i];
		if (strcmp(p->sensor, "fast") != 0)
			continue;
		assert_true(fabs(p->score - scores[k]) <= 1e-6 * fmax(1.0, scores[k]));
		assert_true(fabs(p->t_start - (f->t0 + (double)(k * HOP) / MODEL_HZ)) <
			    1e-6);
		assert_int_equal(p->n, W);
		/* which channels drove it: the model's, largest first, to 0.001 */
		assert_int_equal(p->has_top, 1);
		assert_int_equal(p->top.n, 3);
		double sum = 0;
		for (size_t j = 0; j < p->top.n; j++) {
			sum += p->top.c[j].share;
			assert_true(j == 0 || p->top.c[j].share <= p->top.c[j - 1].share);
			assert_non_null(
			    strstr("linacc_x linacc_y linacc_z", p->top.c[j].channel));
		}
		assert_true(fabs(sum - 1.0) <= 0.002);
		k++;
	}
	ae_work_cleanup(&w);
	free(scores);
	free(rows);
}

static void test_dropped_file_serves_its_sensor(void **state)
{
	fix *f = *state;
	char path[192];
	uint64_t q = 0;

	for (; q < 10; q++) {
		send_msg(f, "arm9", MODEL_HZ, q);
		send_msg(f, "arm1", MODEL_HZ, q);
	}
	scorer_flush(f->sc);
	assert_true(count_of(f, "arm9") > 0);
	for (size_t i = 0; i < f->n; i++)
		assert_non_null(strstr(f->pred[i].model, "generic@"));

	/* learn mode's result lands: arm9 gets its own model, no restart */
	save(f, "arm9.aem", "arm9-own", 8);
	assert_int_equal(scorer_reload(f->sc, 0, NULL, NULL), 1);
	f->n = 0;
	for (; q < 20; q++) {
		send_msg(f, "arm9", MODEL_HZ, q);
		send_msg(f, "arm1", MODEL_HZ, q);
	}
	scorer_flush(f->sc);
	/* the window restarted on the new model: fewer, but all its own */
	assert_true(count_of(f, "arm9") > 0);
	assert_true(count_of(f, "arm9") < count_of(f, "arm1"));
	for (size_t i = 0; i < f->n; i++)
		assert_non_null(strstr(f->pred[i].model, strcmp(f->pred[i].sensor, "arm9")
							     ? "generic@"
							     : "arm9-own@"));
	/* removed: back to the default */
	snprintf(path, sizeof(path), "%s/arm9.aem", f->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(scorer_reload(f->sc, 0, NULL, NULL), 1);
	f->n = 0;
	for (; q < 40; q++)
		send_msg(f, "arm9", MODEL_HZ, q);
	scorer_flush(f->sc);
	assert_true(count_of(f, "arm9") > 0);
	for (size_t i = 0; i < f->n; i++)
		assert_non_null(strstr(f->pred[i].model, "generic@"));
	assert_int_equal(get(f, "model_reloads_ok"), 2); /* default.aem, arm9.aem */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_decimate_or_refuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dropped_file_serves_its_sensor, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
