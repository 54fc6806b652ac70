/* ae_cli — list parsing and the training options of the model tools
 * (see ae_cli.h). */
#include "ae_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Call fn on each comma-separated, non-empty token of every item. */
static int ae_cli__each(const config_list *l, int (*fn)(void *, const char *, size_t),
			void *ud)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *v = l->items[i];
		while (*v) {
			const char *comma = strchr(v, ',');
			size_t len = comma ? (size_t)(comma - v) : strlen(v);
			if (len && fn(ud, v, len))
				return -1;
			v += len + (comma ? 1 : 0);
		}
	}
	return 0;
}

typedef struct ae_cli__acc {
	char (*names)[AE_NAME_MAX];
	size_t *sizes;
	size_t max, n;
	char *err;
	size_t errlen;
} ae_cli__acc;

static int ae_cli__name(void *ud, const char *s, size_t len)
{
	ae_cli__acc *a = ud;
	if (a->n == a->max || len >= AE_NAME_MAX) {
		snprintf(a->err, a->errlen, "too many names or '%.*s' too long", (int)len,
			 s);
		return -1;
	}
	snprintf(a->names[a->n++], AE_NAME_MAX, "%.*s", (int)len, s);
	return 0;
}

static int ae_cli__size(void *ud, const char *s, size_t len)
{
	ae_cli__acc *a = ud;
	char tmp[32], *end;
	if (a->n == a->max || len >= sizeof tmp) {
		snprintf(a->err, a->errlen, "too many layers or '%.*s' too long",
			 (int)len, s);
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%.*s", (int)len, s);
	errno = 0;
	long v = strtol(tmp, &end, 10);
	if (errno || *end || v < 1 || v > AE_MAX_WIDTH) {
		snprintf(a->err, a->errlen, "layer size '%s': want 1..%d", tmp,
			 AE_MAX_WIDTH);
		return -1;
	}
	a->sizes[a->n++] = (size_t)v;
	return 0;
}

int ae_cli_names(const config_list *l, char out[][AE_NAME_MAX], size_t max, size_t *n,
		 char *err, size_t errlen)
{
	ae_cli__acc a = {out, NULL, max, 0, err, errlen};
	if (ae_cli__each(l, ae_cli__name, &a))
		return -1;
	if (a.n == 0) {
		snprintf(err, errlen, "no names given");
		return -1;
	}
	*n = a.n;
	return 0;
}

int ae_cli_sizes(const config_list *l, size_t *out, size_t max, size_t *n, char *err,
		 size_t errlen)
{
	ae_cli__acc a = {NULL, out, max, 0, err, errlen};
	if (ae_cli__each(l, ae_cli__size, &a))
		return -1;
	if (a.n == 0) {
		snprintf(err, errlen, "no layer sizes given");
		return -1;
	}
	*n = a.n;
	return 0;
}

void ae_cli_train_init(ae_cli_train *t, const ae_train_opts *def)
{
	memset(t, 0, sizeof *t);
	snprintf(t->d_epochs, sizeof t->d_epochs, "%u", def->epochs);
	snprintf(t->d_batch, sizeof t->d_batch, "%zu", def->batch);
	snprintf(t->d_lr, sizeof t->d_lr, "%g", (double)def->lr);
	snprintf(t->d_seed, sizeof t->d_seed, "%llu", (unsigned long long)def->seed);
	snprintf(t->d_val_frac, sizeof t->d_val_frac, "%g", def->val_frac);
	snprintf(t->d_patience, sizeof t->d_patience, "%u", def->patience);
	snprintf(t->d_thr_quantile, sizeof t->d_thr_quantile, "%g", def->thr_quantile);
	snprintf(t->d_thr_margin, sizeof t->d_thr_margin, "%g", def->thr_margin);
	snprintf(t->d_thr_k, sizeof t->d_thr_k, "%g", def->thr_k);
	snprintf(t->d_thr_evt_risk, sizeof t->d_thr_evt_risk, "%g", def->thr_evt_risk);
	snprintf(t->d_channel_weights, sizeof t->d_channel_weights, "%d",
		 def->channel_weights ? 1 : 0);
	snprintf(t->d_robust_scaler, sizeof t->d_robust_scaler, "%d",
		 def->scaler == AE_SCALER_MEDIAN_IQR);
}

void ae_cli_train_get(const ae_cli_train *t, ae_train_opts *o)
{
	o->epochs = (uint32_t)t->epochs;
	o->batch = (size_t)t->batch;
	o->lr = (float)t->lr;
	o->seed = (uint64_t)t->seed;
	o->val_frac = t->val_frac;
	o->patience = (uint32_t)t->patience;
	o->thr_quantile = t->thr_quantile;
	o->thr_margin = t->thr_margin;
	o->thr_k = t->thr_k;
	o->thr_evt_risk = t->thr_evt_risk;
	o->channel_weights = t->channel_weights;
	o->scaler = t->robust_scaler ? AE_SCALER_MEDIAN_IQR : AE_SCALER_MEAN_STD;
}

void ae_cli_utc_now(char *out, size_t len)
{
	time_t t = time(NULL);
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	struct tm tm;
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (!*end && v >= 0)
			t = (time_t)v;
	}
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
