/* ae_cli — option helpers shared by the model tools (ae-train, ae-eval,
 * ae-bench): comma/repeat lists of channel names and layer sizes, and the
 * training options every tool exposes the same way.
 *
 * The training options are one set of option-table rows (AE_CLI_TRAIN_OPTS)
 * whose defaults are printed from an ae_train_opts, so --help shows what
 * the tool really trains with: ae_train_defaults() for ae-train and ae-eval
 * lpms, SKAB's own budget for ae-eval skab. No tool writes a training
 * default down itself.
 *
 * Ownership: ae_cli_names copies names into the caller's array; an
 * ae_cli_train is caller-embedded and must outlive the config that points
 * into it; nothing here allocates. */
#ifndef ANOMESH_AE_CLI_H
#define ANOMESH_AE_CLI_H

#include <stddef.h>

#include "ae.h"
#include "ae_train.h"
#include "config.h"

/* Names from a LIST option whose items may themselves hold commas
 * ("a,b" "c" -> a b c). Returns 0, or -1 with err (empty, too many, too
 * long). */
int ae_cli_names(const config_list *l, char out[][AE_NAME_MAX], size_t max, size_t *n,
		 char *err, size_t errlen);

/* Positive integers (layer sizes) from a LIST option, same splitting. */
int ae_cli_sizes(const config_list *l, size_t *out, size_t max, size_t *n, char *err,
		 size_t errlen);

/* Values of the training options after config_load, and their defaults
 * as text for the option table. */
typedef struct ae_cli_train {
	long epochs, batch, seed, patience;
	double lr, val_frac, thr_quantile, thr_margin, thr_k, thr_evt_risk;
	int channel_weights, robust_scaler;
	char d_epochs[16], d_batch[24], d_lr[32], d_seed[24], d_val_frac[32],
	    d_patience[16], d_thr_quantile[32], d_thr_margin[32], d_thr_k[32],
	    d_thr_evt_risk[32], d_channel_weights[4], d_robust_scaler[4];
} ae_cli_train;

/* Defaults text of t from def (the options a tool trains with if no flag
 * says otherwise). */
void ae_cli_train_init(ae_cli_train *t, const ae_train_opts *def);

/* The training options' rows, in a config_opt table literal:
 *     const config_opt opts[] = {..., AE_CLI_TRAIN_OPTS(t), ...};
 * t: an ae_cli_train passed through ae_cli_train_init. (Not formatted by
 * clang-format, which spreads a macro's rows one field per line.) */
/* clang-format off */
#define AE_CLI_TRAIN_OPTS(t)                                                        \
	{"epochs", CONFIG_INT, &(t).epochs, (t).d_epochs, 1, 100000,                \
	 "maximum epochs", 0, 0},                                                    \
	{"batch", CONFIG_INT, &(t).batch, (t).d_batch, 1, 65536,                    \
	 "windows per mini-batch", 0, 0},                                            \
	{"lr", CONFIG_DBL, &(t).lr, (t).d_lr, 1e-7, 1,                              \
	 "Adam step size", 0, 0},                                                    \
	{"seed", CONFIG_INT, &(t).seed, (t).d_seed, 0, 9e18,                        \
	 "PRNG seed (weights, batch order)", 0, 0},                                  \
	{"val-frac", CONFIG_DBL, &(t).val_frac, (t).d_val_frac, 0, 0.9,             \
	 "tail fraction of windows held out for early stopping and threshold",      \
	 0, 0},                                                                      \
	{"patience", CONFIG_INT, &(t).patience, (t).d_patience, 0, 100000,          \
	 "epochs without improvement before stopping (0: never)", 0, 0},            \
	{"thr-quantile", CONFIG_DBL, &(t).thr_quantile, (t).d_thr_quantile, 0, 1,   \
	 "threshold: quantile of held-out errors ...", 0, 0},                        \
	{"thr-margin", CONFIG_DBL, &(t).thr_margin, (t).d_thr_margin, 0, 1000,      \
	 "... times this ...", 0, 0},                                                \
	{"thr-k", CONFIG_DBL, &(t).thr_k, (t).d_thr_k, 0, 1000,                     \
	 "... plus this many error stds", 0, 0},                                     \
	{"thr-evt-risk", CONFIG_DBL, &(t).thr_evt_risk, (t).d_thr_evt_risk, 0, 0.5, \
	 "> 0: threshold from extreme-value statistics at this risk instead of "    \
	 "the quantile", 0, 0},                                                      \
	{"channel-weights", CONFIG_BOOL, &(t).channel_weights,                     \
	 (t).d_channel_weights, 0, -1,                                              \
	 "weigh each channel's error by its held-out level", 0, 0},                 \
	{"robust-scaler", CONFIG_BOOL, &(t).robust_scaler, (t).d_robust_scaler, 0,  \
	 -1, "standardise with median and IQR instead of mean and std", 0, 0}
/* clang-format on */

/* UTC now as ISO 8601 ("2026-11-30T06:18:23Z") into out, for a model's
 * date; SOURCE_DATE_EPOCH, if set, fixes it (reproducible model files). */
void ae_cli_utc_now(char *out, size_t len);

/* The values parsed into t's rows, into o (every field of ae_train_opts). */
void ae_cli_train_get(const ae_cli_train *t, ae_train_opts *o);

#endif
