/* test_aefile — model files: exact round trip through memory and disk
 * (format v2, with the data the model was trained on), a format-1 file
 * still loading and saying what it lacks, and refusal of truncated,
 * corrupt, foreign, other-version and oversized files with the right error
 * code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_rng.h"
#include "aefile.h"

static const char *const chans[] = {"linacc_x", "linacc_y", "linacc_z"};

static void make_model(ae_model *m)
{
	size_t hidden[] = {7, 3};
	ae_spec s = {chans, 3, 5, 2, hidden, 2, AE_ACT_TANH, AE_ACT_LINEAR};
	char err[256];
	assert_int_equal(ae_model_init(m, &s, err, sizeof err), 0);
	m->act[1] = AE_ACT_SIGMOID;
	ae_rng r;
	ae_rng_seed(&r, 77);
	for (size_t p = 0; p < m->n_params; p++)
		m->params[p] = (float)(ae_rng_uniform(&r) - 0.5);
	for (size_t c = 0; c < 3; c++) {
		m->mean[c] = 0.1f * (float)c;
		m->std[c] = 1.5f + (float)c;
		m->weight[c] = 0.5f + (float)c;
		snprintf(m->units[c], AE_UNIT_MAX, "g");
	}
	m->rate_hz = 50;
	snprintf(m->scaler, sizeof m->scaler, "mean-std");
	m->threshold = 0.0158f;
	snprintf(m->meta.name, AE_META_MAX, "lpms-linacc");
	snprintf(m->meta.source, AE_META_MAX, "normal_20170202_2229.csv");
	snprintf(m->meta.date, AE_META_MAX, "2026-11-26T10:00:00Z");
	snprintf(m->meta.thr_method, AE_META_MAX, "q0.99");
	m->meta.seed = 12345678901ULL;
	m->meta.epochs = 40;
	m->meta.best_epoch = 31;
	m->meta.n_train = 500;
	m->meta.n_val = 120;
	m->meta.train_loss = 0.25f;
	m->meta.val_loss = 0.3f;
}

static void assert_same_model(const ae_model *a, const ae_model *b)
{
	assert_int_equal(a->n_channels, b->n_channels);
	for (size_t c = 0; c < a->n_channels; c++) {
		assert_string_equal(a->channels[c], b->channels[c]);
		assert_true(a->mean[c] == b->mean[c] && a->std[c] == b->std[c]);
		assert_true(a->weight[c] == b->weight[c]);
		assert_string_equal(a->units[c], b->units[c]);
	}
	assert_true(a->rate_hz == b->rate_hz);
	assert_string_equal(a->scaler, b->scaler);
	assert_int_equal(a->window, b->window);
	assert_int_equal(a->hop, b->hop);
	assert_int_equal(a->n_layers, b->n_layers);
	for (size_t l = 0; l < a->n_layers; l++) {
		assert_int_equal(a->sizes[l], b->sizes[l]);
		assert_int_equal(a->act[l], b->act[l]);
	}
	assert_int_equal(a->n_params, b->n_params);
	assert_memory_equal(a->params, b->params, a->n_params * sizeof(float));
	assert_true(a->threshold == b->threshold);
	assert_string_equal(a->meta.name, b->meta.name);
	assert_string_equal(a->meta.source, b->meta.source);
	assert_string_equal(a->meta.date, b->meta.date);
	assert_string_equal(a->meta.thr_method, b->meta.thr_method);
	assert_true(a->meta.seed == b->meta.seed);
	assert_int_equal(a->meta.epochs, b->meta.epochs);
	assert_int_equal(a->meta.best_epoch, b->meta.best_epoch);
	assert_int_equal(a->meta.n_train, b->meta.n_train);
	assert_int_equal(a->meta.n_val, b->meta.n_val);
	assert_true(a->meta.train_loss == b->meta.train_loss);
	assert_true(a->meta.val_loss == b->meta.val_loss);
}

static void test_crc32(void **state)
{
	(void)state;
	assert_true(aefile_crc32("123456789", 9) == 0xcbf43926u);
	assert_true(aefile_crc32("", 0) == 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), 0);
	assert_same_model(&m, &back);
	ae_model_cleanup(&back);
	free(buf);

	char path[] = "/tmp/anomesh-test-aefile-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(aefile_save(&m, path, err, sizeof err), 0);
	assert_int_equal(aefile_load(path, &back, err, sizeof err), 0);
	unlink(path);
	assert_same_model(&m, &back);
	/* the loaded model scores like the original */
	ae_work w;
	assert_int_equal(ae_work_init(&w, &back, 2, err, sizeof err), 0);
	float x[15] = {0.5f, -1, 2}, s1, s2;
	ae_score_batch(&m, x, 1, &s1, &w);
	ae_score_batch(&back, x, 1, &s2, &w);
	assert_true(s1 == s2);
	ae_work_cleanup(&w);
	ae_model_cleanup(&back);
	ae_model_cleanup(&m);
}

static void test_untrained_not_saved(void **state)
{
	(void)state;
	ae_model m;
	make_model(&m);
	m.threshold = INFINITY;
	unsigned char *buf;
	size_t len;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), AM_EINVAL);
	ae_model_cleanup(&m);
}

static void test_truncated_refused(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	/* every proper prefix is refused */
	for (size_t n = 0; n < len; n++) {
		int rc = aefile_decode(buf, n, &back, err, sizeof err);
		assert_true(rc == AM_EFORMAT || (n < 8 && rc == AM_EVERSION));
		assert_null(back.params);
	}
	assert_int_equal(aefile_decode(buf, len - 1, &back, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, "truncated"));

	/* a truncated file on disk: the error names the file */
	char path[] = "/tmp/anomesh-test-aefile-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len / 2), (ssize_t)(len / 2));
	close(fd);
	assert_int_equal(aefile_load(path, &back, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, path));
	unlink(path);
	free(buf);
	ae_model_cleanup(&m);
}

static void test_corrupt_refused(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	/* one flipped bit anywhere is caught */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			buf[i] ^= (unsigned char)(1u << bit);
			int rc = aefile_decode(buf, len, &back, err, sizeof err);
			buf[i] ^= (unsigned char)(1u << bit);
			if (rc == 0)
				fail_msg("flip of byte %zu bit %d accepted", i, bit);
			assert_true(rc == AM_EFORMAT || rc == AM_EVERSION);
			assert_null(back.params);
		}
	}
	buf[len / 2] ^= 0x40;
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, "corrupt"));
	free(buf);
	ae_model_cleanup(&m);
}

/* Re-seal a modified buffer with a valid CRC, as a hostile file would. */
static void reseal(unsigned char *buf, size_t len)
{
	uint32_t c = aefile_crc32(buf, len - 4);
	for (int i = 0; i < 4; i++)
		buf[len - 4 + i] = (unsigned char)(c >> (8 * i));
}

static void test_incompatible_refused(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	buf[8] = 3; /* version 3: not yet */
	reseal(buf, len);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), AM_EVERSION);
	assert_non_null(strstr(err, "version 3"));
	buf[8] = 0;
	reseal(buf, len);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), AM_EVERSION);
	buf[8] = 1;
	buf[0] = 'X';
	reseal(buf, len);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), AM_EVERSION);
	assert_non_null(strstr(err, "magic"));
	free(buf);
	ae_model_cleanup(&m);
}

/* Sealed (valid CRC) but lying counts: caps and consistency checks hold. */
static void test_hostile_counts_refused(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	/* find n_channels: after the 4 strings, u64 and 4 u32 and 2 f32 */
	size_t off = 20;
	for (int s = 0; s < 4; s++)
		off += 2 + (size_t)(buf[off] | buf[off + 1] << 8);
	off += 8 + 16 + 8;
	assert_int_equal(buf[off], 3);
	unsigned char keep = buf[off];
	unsigned char vals[] = {0, 2, 4, 200};
	for (size_t i = 0; i < sizeof vals; i++) {
		buf[off] = vals[i];
		reseal(buf, len);
		assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err),
				 AM_EFORMAT);
		assert_null(back.params);
	}
	buf[off] = keep;
	/* a mean of NaN */
	size_t mean_off = off + 4 + 3 * (2 + 8);
	float nan_ = NAN;
	memcpy(buf + mean_off, &nan_, 4);
	reseal(buf, len);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), AM_EFORMAT);
	assert_non_null(strstr(err, "standardisation"));
	free(buf);

	/* a missing file: AM_EIO with errno kept */
	assert_int_equal(aefile_load("/nonexistent/model.aem", &back, err, sizeof err),
			 AM_EIO);
	assert_int_equal(errno, ENOENT);
	ae_model_cleanup(&m);
}

/* Offset of the v2 data section in an encoding of make_model's model
 * (after window and hop), and its length. */
static void data_section(const unsigned char *buf, size_t *off, size_t *len)
{
	size_t o = 20;
	for (int s = 0; s < 4; s++)
		o += 2 + (size_t)(buf[o] | buf[o + 1] << 8);
	o += 8 + 16 + 8; /* seed, 4 counts, 2 losses */
	size_t nc = buf[o];
	o += 4;
	for (size_t c = 0; c < nc; c++)
		o += 2 + (size_t)(buf[o] | buf[o + 1] << 8);
	o += 2 * 4 * nc + 8; /* mean, std, window, hop */
	*off = o;
	size_t e = o + 8;
	for (size_t c = 0; c < nc + 1; c++) /* units, scaler */
		e += 2 + (size_t)(buf[e] | buf[e + 1] << 8);
	e += 4 * nc;
	*len = e - o;
}

/* A format-1 file (written by the previous build: no data section) loads
 * with no rate, no units and weights 1, says it is v1, and scores as the
 * same network with weights 1 does. */
static void test_v1_still_loads(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len, off, dlen;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	assert_int_equal(buf[8], 2);
	data_section(buf, &off, &dlen);
	memmove(buf + off, buf + off + dlen, len - off - dlen);
	len -= dlen;
	buf[8] = 1;
	uint64_t body = len - 24;
	for (int i = 0; i < 8; i++)
		buf[12 + i] = (unsigned char)(body >> (8 * i));
	reseal(buf, len);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), 0);
	assert_int_equal(back.file_version, 1);
	assert_true(back.rate_hz == 0);
	for (size_t c = 0; c < 3; c++) {
		assert_string_equal(back.units[c], "");
		assert_true(back.weight[c] == 1.0f);
		m.weight[c] = 1.0f;
	}
	assert_memory_equal(back.params, m.params, m.n_params * sizeof(float));
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	assert_non_null(f);
	aefile_describe(&back, f);
	fclose(f);
	assert_non_null(strstr(text, "format     v1"));
	assert_non_null(strstr(text, "rate       not recorded"));
	free(text);
	ae_model_cleanup(&back);
	free(buf);
	ae_model_cleanup(&m);
}

/* The data section is checked like the rest: a negative or NaN rate, a
 * zero weight are refused even under a valid CRC. */
static void test_bad_data_refused(void **state)
{
	(void)state;
	ae_model m, back;
	make_model(&m);
	unsigned char *buf;
	size_t len, off, dlen;
	char err[256];
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), 0);
	data_section(buf, &off, &dlen);
	const double bad_rates[] = {-50, NAN, 1e9};
	for (size_t i = 0; i < 3; i++) {
		unsigned char keep[8];
		memcpy(keep, buf + off, 8);
		memcpy(buf + off, &bad_rates[i], 8);
		reseal(buf, len);
		assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err),
				 AM_EFORMAT);
		assert_non_null(strstr(err, "data description"));
		memcpy(buf + off, keep, 8);
	}
	float zero = 0.0f;
	memcpy(buf + off + dlen - 4, &zero, 4); /* the last channel's weight */
	reseal(buf, len);
	assert_int_equal(aefile_decode(buf, len, &back, err, sizeof err), AM_EFORMAT);
	free(buf);
	/* and the encoder does not write them */
	m.weight[1] = 0;
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), AM_EINVAL);
	m.weight[1] = 1;
	m.rate_hz = -1;
	assert_int_equal(aefile_encode(&m, &buf, &len, err, sizeof err), AM_EINVAL);
	ae_model_cleanup(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_untrained_not_saved),
	    cmocka_unit_test(test_truncated_refused),
	    cmocka_unit_test(test_corrupt_refused),
	    cmocka_unit_test(test_incompatible_refused),
	    cmocka_unit_test(test_hostile_counts_refused),
	    cmocka_unit_test(test_v1_still_loads),
	    cmocka_unit_test(test_bad_data_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
