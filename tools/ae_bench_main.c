/* ae-bench — windows scored per second on one core, batched, for a model
 * file, beside what OpenBLAS cblas_sgemm alone reaches on the same shapes
 * (the same sgemm calls without bias, activations or the error sum). The
 * ratio says how much of the sgemm ceiling ae_score_batch keeps.
 *
 *   ae-bench [--model models/lpms-linacc.aem] [--batch 1,64,1024] [--seconds 0.5] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae_cli.h"
#include "ae_rng.h"
#include "aefile.h"
#include "clock.h"
#include "config.h"

/* Run fn(ud) repeatedly for about `seconds`; return calls per second. */
static double rate(void (*fn)(void *), void *ud, double seconds)
{
	fn(ud); /* warm-up: page in buffers, let OpenBLAS pick its kernels */
	int64_t t0 = clock_mono_ns(), t;
	long calls = 0;
	do {
		fn(ud);
		calls++;
		t = clock_mono_ns();
	} while ((double)(t - t0) < seconds * 1e9);
	return (double)calls / ((double)(t - t0) / 1e9);
}

typedef struct job {
	const ae_model *m;
	ae_work *w;
	const float *x;
	float *scores;
	size_t n;
} job;

static void run_score(void *ud)
{
	job *j = ud;
	ae_score_batch(j->m, j->x, j->n, j->scores, j->w);
}

/* The bare sgemm chain of a forward pass, into the same work buffers. */
static void run_sgemm(void *ud)
{
	job *j = ud;
	const float *in = j->x;
	for (size_t l = 0; l < j->m->n_layers; l++) {
		int k = (int)j->m->sizes[l], o = (int)j->m->sizes[l + 1];
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->n, o, k,
			    1.0f, in, k, j->m->w[l], o, 0.0f, j->w->act[l + 1], o);
		in = j->w->act[l + 1];
	}
}

int main(int argc, char **argv)
{
	char *path = NULL;
	config_list batches;
	double seconds;
	const config_opt opts[] = {
	    {"model", CONFIG_STR, &path, "models/lpms-linacc.aem", 0, 0, "model file", 0,
	     0},
	    {"batch", CONFIG_LIST, &batches, "1,64,1024", 0, 0, "batch sizes (windows)",
	     0, 0},
	    {"seconds", CONFIG_DBL, &seconds, "0.5", 0.01, 60, "time per measurement", 0,
	     0},
	};
	config cfg;
	char err[512];
	int rc =
	    config_load(&cfg, opts, sizeof opts / sizeof opts[0], argc, argv, "ae-bench",
			"ae-bench: windows/s of ae_score_batch vs bare sgemm, one core",
			err, sizeof err);
	if (rc == CONFIG_HELP)
		return 0;
	if (rc) {
		fprintf(stderr, "ae-bench: %s\n", err);
		return 2;
	}
	int status = 1;
	ae_model m;
	ae_work w;
	memset(&w, 0, sizeof w);
	float *x = NULL, *scores = NULL;
	size_t sizes[16], nb;
	if (ae_cli_sizes(&batches, sizes, 16, &nb, err, sizeof err)) {
		fprintf(stderr, "ae-bench: --batch: %s\n", err);
		config_cleanup(&cfg);
		return 2;
	}
	if (aefile_load(path, &m, err, sizeof err)) {
		fprintf(stderr, "ae-bench: %s\n", err);
		config_cleanup(&cfg);
		return 1;
	}
	size_t maxb = 1;
	for (size_t i = 0; i < nb; i++)
		if (sizes[i] > maxb)
			maxb = sizes[i];
	size_t in = ae_input_size(&m);
	x = malloc(maxb * in * sizeof *x);
	scores = malloc(maxb * sizeof *scores);
	if (!x || !scores || ae_work_init(&w, &m, maxb, err, sizeof err)) {
		fprintf(stderr, "ae-bench: out of memory\n");
		goto out;
	}
	ae_rng r;
	ae_rng_seed(&r, 1);
	for (size_t i = 0; i < maxb * in; i++)
		x[i] = (float)(2.0 * ae_rng_uniform(&r) - 1.0);
	openblas_set_num_threads(1);
	double flops = 0;
	for (size_t l = 0; l < m.n_layers; l++)
		flops += 2.0 * (double)m.sizes[l] * (double)m.sizes[l + 1];
	printf("model %s: ", path);
	printf("%zu", m.sizes[0]);
	for (size_t l = 0; l < m.n_layers; l++)
		printf(" -> %zu %s", m.sizes[l + 1], ae_act_name(m.act[l]));
	printf(", %.2f MFLOP per window, OpenBLAS 1 thread\n", flops / 1e6);
	printf("%7s %16s %16s %7s %10s\n", "batch", "model win/s", "sgemm win/s", "ratio",
	       "GFLOP/s");
	for (size_t i = 0; i < nb; i++) {
		job j = {&m, &w, x, scores, sizes[i]};
		double rm = rate(run_score, &j, seconds) * (double)sizes[i];
		double rs = rate(run_sgemm, &j, seconds) * (double)sizes[i];
		printf("%7zu %16.0f %16.0f %7.3f %10.2f\n", sizes[i], rm, rs, rm / rs,
		       rm * flops / 1e9);
	}
	status = 0;
out:
	free(x);
	free(scores);
	ae_work_cleanup(&w);
	ae_model_cleanup(&m);
	config_cleanup(&cfg);
	return status;
}
