/* ae_eval_sweep — one fit per file, the grid replayed over its scores (see
 * ae_eval_sweep.h). The grid: wide enough to bracket the chosen settings
 * on every side, small enough that a tuning run of ten files takes a
 * couple of seconds per model shape and seed. */
#include "ae_eval_sweep.h"

#include <string.h>

static const double ae_eval_sweep__margin[] = {1.0, 1.2, 1.5, 2.0};
static const double ae_eval_sweep__span[] = {5, 10};
static const double ae_eval_sweep__enter[] = {0.3, 0.4, 0.5, 0.6};
static const double ae_eval_sweep__exit[] = {0.1, 0.2, 0.3};
static const size_t ae_eval_sweep__minw[] = {3, 5};

#define AE_EVAL_SWEEP_N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct ae_eval_sweep__ctx {
	const ae_eval_params *p;
	FILE *out;
} ae_eval_sweep__ctx;

/* One setting's line. */
static void ae_eval_sweep__line(FILE *out, const char *name, int part, double margin,
				const state_params *sp, const ae_eval_skab_pool *one)
{
	const ae_eval_counts *s = &one->state;
	fprintf(out,
		"sweep %s %s %g %g %g %g %zu %llu %llu %llu %llu %.0f %.6f %.6f %.6f\n",
		name, part == SKAB_TUNING ? "tune" : "val", margin, sp->window_s,
		sp->enter_rate, sp->exit_rate, sp->min_windows, (unsigned long long)s->tp,
		(unsigned long long)s->fp, (unsigned long long)s->tn,
		(unsigned long long)s->fn, one->detected ? one->delay[0] : -1.0,
		one->nab.s[NAB_STANDARD], one->nab.s_null[NAB_STANDARD],
		one->nab.s_perfect[NAB_STANDARD]);
}

/* One file: the grid over one fit, setting i decoded digit by digit. */
static int ae_eval_sweep__file(const ae_eval_sweep__ctx *c, const ae_eval_skab_prep *f,
			       const char *name, int part, char *err, size_t errlen)
{
	const size_t nm = AE_EVAL_SWEEP_N(ae_eval_sweep__margin),
		     ns = AE_EVAL_SWEEP_N(ae_eval_sweep__span),
		     ne = AE_EVAL_SWEEP_N(ae_eval_sweep__enter),
		     nx = AE_EVAL_SWEEP_N(ae_eval_sweep__exit),
		     nw = AE_EVAL_SWEEP_N(ae_eval_sweep__minw);
	float thr0 = f->m.threshold / (float)c->p->train.thr_margin;
	state_params sp = c->p->state;
	for (size_t i = 0; i < nm * ns * ne * nx * nw; i++) {
		size_t k = i;
		sp.min_windows = ae_eval_sweep__minw[k % nw];
		k /= nw;
		sp.exit_rate = ae_eval_sweep__exit[k % nx];
		k /= nx;
		sp.enter_rate = ae_eval_sweep__enter[k % ne];
		k /= ne;
		sp.window_s = ae_eval_sweep__span[k % ns];
		double margin = ae_eval_sweep__margin[k / ns];
		if (sp.exit_rate >= sp.enter_rate)
			continue;
		ae_eval_skab_pool one;
		memset(&one, 0, sizeof one);
		int rc = ae_eval_skab_replay(f, thr0 * (float)margin, &sp, &one, NULL,
					     err, errlen);
		if (rc)
			return rc;
		ae_eval_sweep__line(c->out, name, part, margin, &sp, &one);
	}
	return 0;
}

static int ae_eval_sweep__visit(void *ud, const char *path, const char *out_path,
				const char *name, int part, char *err, size_t errlen)
{
	const ae_eval_sweep__ctx *c = ud;
	ae_eval_skab_prep f;
	(void)out_path;
	int rc = ae_eval_skab_prepare(c->p, path, &f, err, errlen);
	if (rc)
		return rc;
	rc = ae_eval_sweep__file(c, &f, name, part, err, errlen);
	ae_eval_skab_prep_cleanup(&f);
	return rc;
}

int ae_eval_sweep_dir(const ae_eval_params *p, const char *dir, FILE *out, char *err,
		      size_t errlen)
{
	if (p->train.thr_k != 0 || !(p->train.thr_margin > 0)) {
		snprintf(err, errlen, "sweep: needs thr_k 0 and a positive margin");
		return AM_EINVAL;
	}
	ae_eval_sweep__ctx c = {p, out};
	return ae_eval_skab_walk(p, dir, NULL, ae_eval_sweep__visit, &c, err, errlen);
}
