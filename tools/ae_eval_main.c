/* ae-eval — offline evaluations of the model and state logic.
 *
 *   ae-eval skab [--data DIR] [--out DIR] [options]   (make eval-skab)
 *   ae-eval lpms [--data DIR] [options]               (make eval-lpms)
 *
 * The protocols are in ae_eval_skab.h and ae_eval_lpms.h; the defaults of each mode are
 * the settings behind the reported figures, the same for every file. Exit status: 0 done
 * (lpms: and the verdict test_ae_lpms asserts, ae_eval_lpms_verdict, passes), 1
 * otherwise, 2 usage. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "ae_cli.h"
#include "ae_eval_lpms.h"
#include "ae_eval_skab.h"
#include "ae_eval_sweep.h"
#include "config.h"

/* Defaults as text for the option table, from a mode's parameters (the
 * training options' are ae_cli_train's). */
typedef struct defs {
	char window[16], hop[16], hidden[64], sw[32], enter[32], exit_[32], minw[16],
	    rows[16], tail[32], channels[AE_MAX_CHANNELS * AE_NAME_MAX];
} defs;

static void fill_defs(defs *d, const ae_eval_params *p)
{
	size_t at = 0;
	for (size_t i = 0; i < p->n_channels && at < sizeof d->channels; i++)
		at += (size_t)snprintf(d->channels + at, sizeof d->channels - at, "%s%s",
				       i ? "," : "", p->channels[i]);
	if (p->n_channels == 0)
		snprintf(d->channels, sizeof d->channels, "linacc_x,linacc_y,linacc_z");
	snprintf(d->window, sizeof d->window, "%zu", p->window);
	snprintf(d->hop, sizeof d->hop, "%zu", p->hop);
	size_t off = 0;
	for (size_t i = 0; i < p->n_hidden && off < sizeof d->hidden; i++)
		off += (size_t)snprintf(d->hidden + off, sizeof d->hidden - off, "%s%zu",
					i ? "," : "", p->hidden[i]);
	snprintf(d->sw, sizeof d->sw, "%g", p->state.window_s);
	snprintf(d->enter, sizeof d->enter, "%g", p->state.enter_rate);
	snprintf(d->exit_, sizeof d->exit_, "%g", p->state.exit_rate);
	snprintf(d->minw, sizeof d->minw, "%zu", p->state.min_windows);
	snprintf(d->rows, sizeof d->rows, "%zu", p->train_rows);
	snprintf(d->tail, sizeof d->tail, "%g", p->tail_frac);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int skab = strcmp(mode, "skab") == 0, lpms = strcmp(mode, "lpms") == 0;
	if (!skab && !lpms) {
		if (argc > 1 &&
		    (strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0)) {
			printf(
			    "usage: ae-eval skab|lpms [options]; ae-eval MODE --help\n");
			return 0;
		}
		fprintf(stderr,
			"usage: ae-eval skab|lpms [options] (ae-eval MODE --help)\n");
		return 2;
	}
	ae_eval_params p;
	if (skab)
		ae_eval_skab_defaults(&p);
	else
		ae_eval_lpms_defaults(&p);
	defs d;
	memset(&d, 0, sizeof d);
	fill_defs(&d, &p);
	char *data = NULL, *outdir = NULL, *act = NULL, *files = NULL, *base = NULL,
	     *conv = NULL;
	int sweep = 0;
	config_list hidden, channels;
	long window, hop, minw, rows, base_rows;
	double sw, enter, exit_, tail;
	ae_cli_train tr;
	ae_cli_train_init(&tr, &p.train);
	const config_opt opts[] = {
	    {"data", CONFIG_STR, &data,
	     skab ? "../shared/data/skab" : "../shared/data/lpms-b2", 0, 0,
	     skab ? "SKAB directory (searched recursively)"
		  : "directory of the LPMS recordings",
	     0, 0},
	    {"out", CONFIG_STR, &outdir, skab ? "build/eval-skab" : "build/eval-lpms", 0,
	     0, "output directory (per-row or per-window CSVs)", 0, 0},
	    {"channels", CONFIG_LIST, &channels, d.channels, 0, 0,
	     "channels ('all': every numeric column but the labels)", 0, 0},
	    {"window", CONFIG_INT, &window, d.window, 1, AE_MAX_WINDOW,
	     "samples per window", 0, 0},
	    {"hop", CONFIG_INT, &hop, d.hop, 1, AE_MAX_WINDOW, "samples between windows",
	     0, 0},
	    {"hidden", CONFIG_LIST, &hidden, d.hidden, 0, 0, "hidden layer sizes", 0, 0},
	    {"activation", CONFIG_STR, &act, "tanh", 0, 0, "hidden activation", 0, 0},
	    {"conv", CONFIG_STR, &conv, "", 0, 0,
	     "a convolutional network instead of --hidden: KERNEL:STRIDE:FILTERS per "
	     "encoder layer, e.g. 3:2:8,3:2:4 (ae/ae_conv.h)",
	     0, 0},
	    AE_CLI_TRAIN_OPTS(tr),
	    {"state-window", CONFIG_DBL, &sw, d.sw, 0.001, 1e6,
	     "state: sliding window, s", 0, 0},
	    {"enter-rate", CONFIG_DBL, &enter, d.enter, 0, 1,
	     "state: rate to enter FAILURE", 0, 0},
	    {"exit-rate", CONFIG_DBL, &exit_, d.exit_, 0, 1,
	     "state: rate to leave FAILURE", 0, 0},
	    {"min-windows", CONFIG_INT, &minw, d.minw, 1, 1 << 20,
	     "state: evidence needed", 0, 0},
	    {"train-rows", CONFIG_INT, &rows, d.rows, 0, 1e9,
	     "skab: rows to train on per file", 0, 0},
	    {"files", CONFIG_STR, &files, "all", 0, 0,
	     "skab: all, tuning or validation (tuning: what a search may look at)", 0, 0},
	    {"baseline", CONFIG_STR, &base, "none", 0, 0,
	     "skab experiment: none, ewma or median subtracted per channel first "
	     "(tools/ae_eval_baseline.h)",
	     0, 0},
	    {"baseline-rows", CONFIG_INT, &base_rows, "300", 1, 1e6,
	     "skab: the baseline's time constant or window, rows", 0, 0},
	    {"sweep", CONFIG_BOOL, &sweep, "0", 0, -1,
	     "skab: one fit per file, a grid of thresholds and state settings "
	     "(tools/ae_eval_sweep.h; for scripts/skab-tune.sh)",
	     0, 0},
	    {"tail-frac", CONFIG_DBL, &tail, d.tail, 0, 0.9, "lpms: normal tail held out",
	     0, 0},
	};
	config cfg;
	char err[1024];
	int rc = config_load(
	    &cfg, opts, sizeof opts / sizeof opts[0], argc - 1, argv + 1, "ae-eval",
	    skab ? "ae-eval skab: SKAB protocol (fresh model per file on its first "
		   "rows), pooled F1/FAR/MAR"
		 : "ae-eval lpms: train on the normal recording, score pre-fail, "
		   "check the held-out tail",
	    err, sizeof err);
	if (rc == CONFIG_HELP)
		return 0;
	if (rc) {
		fprintf(stderr, "ae-eval: %s\n", err);
		return 2;
	}
	int status = 2;
	p.window = (size_t)window;
	p.hop = (size_t)hop;
	if (ae_cli_sizes(&hidden, p.hidden, AE_EVAL_MAX_HIDDEN, &p.n_hidden, err,
			 sizeof err) ||
	    ae_act_parse(act, &p.act)) {
		fprintf(stderr, "ae-eval: %s\n",
			ae_act_parse(act, &p.act) ? "bad activation" : err);
		goto out;
	}
	if (*conv) {
		size_t h[AE_MAX_LAYERS], nh;
		if (ae_conv_parse(conv, &p.conv, err, sizeof err) ||
		    ae_conv_hidden(&p.conv, p.window, h, &nh, err, sizeof err)) {
			fprintf(stderr, "ae-eval: --conv: %s\n", err);
			goto out;
		}
	}
	p.n_channels = 0;
	if (!(channels.n == 1 && strcmp(channels.items[0], "all") == 0) &&
	    ae_cli_names(&channels, p.channels, AE_MAX_CHANNELS, &p.n_channels, err,
			 sizeof err)) {
		fprintf(stderr, "ae-eval: %s\n", err);
		goto out;
	}
	ae_cli_train_get(&tr, &p.train);
	p.state.window_s = sw;
	p.state.enter_rate = enter;
	p.state.exit_rate = exit_;
	p.state.min_windows = (size_t)minw;
	p.train_rows = (size_t)rows;
	p.tail_frac = tail;
	if (strcmp(files, "all") == 0)
		p.files = AE_EVAL_FILES_ALL;
	else if (strcmp(files, "tuning") == 0)
		p.files = AE_EVAL_FILES_TUNING;
	else if (strcmp(files, "validation") == 0)
		p.files = AE_EVAL_FILES_VALIDATION;
	else {
		fprintf(stderr, "ae-eval: --files: all, tuning or validation\n");
		goto out;
	}
	p.baseline.rows = (size_t)base_rows;
	if (ae_eval_baseline_parse(base, &p.baseline.kind)) {
		fprintf(stderr, "ae-eval: --baseline: none, ewma or median\n");
		goto out;
	}
	openblas_set_num_threads(1);
	status = 1;
	if (skab && sweep) {
		int n = ae_eval_sweep_dir(&p, data, stdout, err, sizeof err);
		if (n < 0)
			fprintf(stderr, "ae-eval: %s\n", err);
		status = n > 0 ? 0 : 1;
	} else if (skab) {
		ae_eval_skab_pool pools[SKAB_POOLS];
		memset(pools, 0, sizeof pools);
		printf("SKAB protocol on %s -> %s\nchannels %s\nwindow %zu hop %zu "
		       "hidden %s%s%s %s, %zu "
		       "training "
		       "rows per file; threshold q%g x %g + %g sd; state %g s, enter %g, "
		       "exit "
		       "%g, min %zu windows\n",
		       data, outdir, p.n_channels ? d.channels : "all", p.window, p.hop,
		       *conv ? "" : d.hidden, *conv ? "conv " : "", conv,
		       ae_act_name(p.act), p.train_rows, p.train.thr_quantile,
		       p.train.thr_margin, p.train.thr_k, sw, enter, exit_,
		       p.state.min_windows);
		fflush(stdout);
		int n =
		    ae_eval_skab_dir(&p, data, outdir, stdout, pools, err, sizeof err);
		if (n < 0) {
			fprintf(stderr, "ae-eval: %s\n", err);
			goto out;
		}
		ae_eval_skab_print(stdout, pools);
		status = n > 0 ? 0 : 1;
	} else {
		status = ae_eval_lpms_check(&p, data, outdir, stdout, err, sizeof err);
		if (status < 0) {
			fprintf(stderr, "ae-eval: %s\n", err);
			status = 1;
		}
	}
out:
	config_cleanup(&cfg);
	return status;
}
