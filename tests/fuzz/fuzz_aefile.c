/* libFuzzer target for the model file loader (ae/aefile.h): aefile_decode,
 * the code aefile_load runs on a file's bytes.
 *
 * Each input is decoded twice: as it is (the magic, version, length and
 * CRC checks), and "resealed" — body_len and the CRC rewritten to match —
 * so that mutations get past the checksum into the body's counts, strings,
 * layer sizes and weights.
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *  - a refusal returns a code aefile.h lists, says why, and leaves no
 *    weights allocated;
 *  - a loaded model encodes back to exactly the bytes it came from (an older
 *    format version: to current-format bytes that load and re-encode the same);
 *  - a loaded model scores (ae_score_batch, the scorer's call) a window of
 *    zeros and a window of ones without a sanitizer report, and to a
 *    finite score >= 0 whenever its weights are small enough that no sum
 *    can overflow a float (the bound is computed here layer by layer).
 * Run with `make fuzz` (tests/fuzz/run.sh). */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "aefile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEAD 20     /* magic, version, body_len */
#define FUZZ_SAFE 1e30   /* far below FLT_MAX (3.4e38) */
#define FUZZ_MAX_IN 4096 /* floats of the two test windows */

static void fuzz_fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_aefile: %s (%s)\n", what, err ? err : "");
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	openblas_set_num_threads(1); /* as the scorer: no BLAS threads */
	return 0;
}

static double fuzz_maxabs(const float *p, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(p[i]) > m)
			m = fabs(p[i]);
	return m;
}

/* 1 if, for inputs in [-1, 1], no pre-activation can reach FUZZ_SAFE. */
static int fuzz_bounded(const ae_model *m)
{
	double in = 1;
	for (size_t l = 0; l < m->n_layers; l++) {
		size_t rows = m->sizes[l], cols = m->sizes[l + 1];
		double pre = (double)rows * fuzz_maxabs(m->w[l], rows * cols) * in +
			     fuzz_maxabs(m->b[l], cols);
		if (!(pre < FUZZ_SAFE))
			return 0;
		in = m->act[l] == AE_ACT_TANH || m->act[l] == AE_ACT_SIGMOID ? 1 : pre;
	}
	return (1 + in) * (1 + in) < FUZZ_SAFE;
}

static void fuzz_score(const ae_model *m)
{
	static float x[2 * FUZZ_MAX_IN];
	size_t width = ae_input_size(m);
	float scores[2];
	char err[256];
	ae_work w;

	if (width > FUZZ_MAX_IN)
		return; /* not reachable from inputs of -max_len bytes */
	if (ae_work_init(&w, m, 2, err, sizeof err) != 0)
		fuzz_fail("a loaded model gets no work space", err);
	for (size_t i = 0; i < width; i++) {
		x[i] = 0.0f;
		x[width + i] = 1.0f;
	}
	ae_score_batch(m, x, 2, scores, &w);
	ae_work_cleanup(&w);
	if (fuzz_bounded(m))
		for (int i = 0; i < 2; i++)
			if (!isfinite(scores[i]) || scores[i] < 0)
				fuzz_fail("a bounded model scores a bounded window "
					  "non-finite or negative",
					  NULL);
}

static void fuzz_decode(const unsigned char *data, size_t size)
{
	ae_model m;
	char err[256] = "";
	unsigned char *enc = NULL;
	size_t len = 0;
	int rc = aefile_decode(data, size, &m, err, sizeof err);

	if (rc) {
		if (rc != AM_EFORMAT && rc != AM_EVERSION && rc != AM_ENOMEM)
			fuzz_fail("refused with a code aefile.h does not list",
				  am_strerror(rc));
		if (!err[0])
			fuzz_fail("refused without a reason", NULL);
		if (m.params)
			fuzz_fail("a refusal left weights allocated", err);
		return;
	}
	if (aefile_encode(&m, &enc, &len, err, sizeof err) != 0)
		fuzz_fail("a loaded model does not encode", err);
	if (m.file_version == AEFILE_VERSION) {
		/* a current file round-trips to the same bytes */
		if (len != size || memcmp(enc, data, size) != 0)
			fuzz_fail("a loaded model encodes to other bytes", NULL);
	} else {
		/* an older file is written in the current format: that must
		 * load, and encode to exactly the same bytes again */
		ae_model m2;
		unsigned char *enc2 = NULL;
		size_t len2 = 0;
		if (aefile_decode(enc, len, &m2, err, sizeof err) != 0)
			fuzz_fail("an upgraded model does not load", err);
		if (aefile_encode(&m2, &enc2, &len2, err, sizeof err) != 0 ||
		    len2 != len || memcmp(enc2, enc, len) != 0)
			fuzz_fail("an upgraded model encodes to other bytes", NULL);
		free(enc2);
		ae_model_cleanup(&m2);
	}
	free(enc);
	fuzz_score(&m);
	ae_model_cleanup(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;
	uint64_t body;
	uint32_t crc;

	fuzz_decode(data, size);
	if (size < FUZZ_HEAD + 4)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	body = size - FUZZ_HEAD - 4;
	for (int i = 0; i < 8; i++)
		copy[12 + i] = (unsigned char)(body >> (8 * i));
	crc = aefile_crc32(copy, size - 4);
	for (int i = 0; i < 4; i++)
		copy[size - 4 + i] = (unsigned char)(crc >> (8 * i));
	if (memcmp(copy, data, size) != 0)
		fuzz_decode(copy, size);
	free(copy);
	return 0;
}
