/* export — the `archiver export` subcommand (see export.h): options through
 * the common config module, the query and formatting in store_export(), the
 * gap report here. The output is written to a temporary file and renamed,
 * so that a failed export never leaves a truncated CSV behind that looks
 * like a good one. */
#include "export.h"

#include "config.h"
#include "store.h"
#include "text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int export_parse_time(const char *s, double *out)
{
	char *end;
	struct tm tm;
	const char *p;
	double frac = 0;

	if (!s || !*s)
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (!errno && !*end && isfinite(*out))
		return 0;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p) {
		memset(&tm, 0, sizeof(tm));
		p = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!p)
		return -1;
	if (*p == '.') {
		frac = strtod(p, &end);
		p = end;
	}
	if (*p == 'Z')
		p++;
	if (*p)
		return -1;
	*out = (double)timegm(&tm) + frac;
	return 0;
}

int export_main(int argc, char **argv)
{
	char *sensor = NULL, *from_s = NULL, *to_s = NULL, *db = NULL, *out = NULL,
	     *gaps = NULL;
	config_list chl = {0};
	const config_opt opts[] = {
	    {"sensor", CONFIG_STR, &sensor, NULL, 0, -1, "sensor id (required)", 0, 0},
	    {"from", CONFIG_STR, &from_s, NULL, 0, -1,
	     "start, UNIX seconds or UTC YYYY-MM-DDTHH:MM:SS (default: the beginning)", 0,
	     0},
	    {"to", CONFIG_STR, &to_s, NULL, 0, -1, "end, exclusive (default: the end)", 0,
	     0},
	    {"channels", CONFIG_LIST, &chl, NULL, 0, -1,
	     "channels to export, comma-separated (default: all of the first message)", 0,
	     0},
	    {"db", CONFIG_STR, &db, "archive.db", 0, -1, "archiver database", 0, 0},
	    {"out", CONFIG_STR, &out, "-", 0, -1, "output CSV file ('-': stdout)", 0, 0},
	    {"gaps", CONFIG_STR, &gaps, NULL, 0, -1,
	     "also write the gaps in the range to this CSV file", 0, 0},
	};
	char ch[MSG_MAX_CHANNELS][MSG_CHANNEL_MAX + 1];
	size_t nch = 0;
	config cfg;
	store_options so;
	store *st = NULL;
	char err[512], tmp[4200];
	double from = -INFINITY, to = INFINITY;
	FILE *f = NULL, *gf = NULL;
	char *gbuf = NULL;
	size_t glen = 0;
	int64_t rows = 0, skipped = 0;
	int rc, code = 1, to_stdout = 0;

	rc = config_load(
	    &cfg, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, "archiver export",
	    "archiver export: write one sensor's samples in a time range as CSV "
	    "\"t,<channels>\" for ae-train\n"
	    "usage: archiver export --sensor S [--from T1] [--to T2] "
	    "[--channels a,b] [--db FILE] [--out FILE] [--gaps FILE]",
	    err, sizeof(err));
	if (rc == CONFIG_HELP)
		return 0;
	if (rc) {
		fprintf(stderr, "archiver export: %s\n", err);
		return 2;
	}
	if (!sensor || !text_sensor_valid(sensor)) {
		fprintf(stderr, "archiver export: --sensor must be a sensor id "
				"([A-Za-z0-9._-]{1,64})\n");
		code = 2;
		goto out;
	}
	if ((from_s && export_parse_time(from_s, &from)) ||
	    (to_s && export_parse_time(to_s, &to))) {
		fprintf(stderr, "archiver export: --from/--to: UNIX seconds or "
				"YYYY-MM-DDTHH:MM:SS[Z] expected\n");
		code = 2;
		goto out;
	}
	for (size_t i = 0; i < chl.n; i++) {
		char *save = NULL, *item = strdup(chl.items[i]);
		if (!item) {
			fprintf(stderr, "archiver export: %s\n", am_strerror(AM_ENOMEM));
			goto out;
		}
		for (char *t = strtok_r(item, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			if (nch == MSG_MAX_CHANNELS || strlen(t) > MSG_CHANNEL_MAX) {
				fprintf(
				    stderr,
				    "archiver export: too many or too long channels\n");
				free(item);
				code = 2;
				goto out;
			}
			snprintf(ch[nch++], sizeof(ch[0]), "%s", t);
		}
		free(item);
	}
	if (access(db, R_OK) != 0) {
		fprintf(stderr, "archiver export: %s: %s\n", db, strerror(errno));
		goto out;
	}
	store_options_default(&so);
	so.path = db;
	if (store_open(&st, &so, err, sizeof(err))) {
		fprintf(stderr, "archiver export: %s\n", err);
		goto out;
	}
	if (!strcmp(out, "-")) {
		f = stdout;
		to_stdout = 1;
	} else {
		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		f = fopen(tmp, "w");
		if (!f) {
			fprintf(stderr, "archiver export: %s: %s\n", tmp,
				strerror(errno));
			goto out;
		}
	}
	gf = open_memstream(&gbuf, &glen);
	if (!gf) {
		fprintf(stderr, "archiver export: %s\n", am_strerror(AM_ENOMEM));
		goto out;
	}
	rc = store_export(st, sensor, from, to, nch ? ch : NULL, nch, f, gf, &rows,
			  &skipped, err, sizeof(err));
	fclose(gf);
	gf = NULL;
	if (rc) {
		fprintf(stderr, "archiver export: %s\n", err);
		goto out;
	}
	if (f != stdout) {
		if (fclose(f) != 0) {
			f = NULL;
			fprintf(stderr, "archiver export: %s: %s\n", tmp,
				strerror(errno));
			goto out;
		}
		f = NULL;
		if (rename(tmp, out) != 0) {
			fprintf(stderr, "archiver export: %s: %s\n", out,
				strerror(errno));
			goto out;
		}
	} else if (fflush(stdout) != 0) {
		fprintf(stderr, "archiver export: stdout: %s\n", strerror(errno));
		goto out;
	}
	{
		size_t ngaps = 0;
		FILE *gout = NULL;
		if (gaps) {
			gout = fopen(gaps, "w");
			if (!gout) {
				fprintf(stderr, "archiver export: %s: %s\n", gaps,
					strerror(errno));
				goto out;
			}
			fputs("run,seq_from,seq_to,t_before,t_after\n", gout);
		}
		for (char *line = gbuf; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			ngaps++;
			fprintf(stderr, "archiver export: %s\n", line);
			if (gout)
				fprintf(gout, "%s\n", line + 4); /* without "gap," */
			line = nl ? nl + 1 : NULL;
		}
		if (gout && fclose(gout) != 0) {
			fprintf(stderr, "archiver export: %s: %s\n", gaps,
				strerror(errno));
			goto out;
		}
		fprintf(
		    stderr,
		    "archiver export: %lld samples of %s written%s%s; %zu gap(s); %lld "
		    "message(s) without the channels skipped\n",
		    (long long)rows, sensor, to_stdout ? "" : " to ",
		    to_stdout ? "" : out, ngaps, (long long)skipped);
	}
	code = 0;
out:
	if (gf)
		fclose(gf);
	free(gbuf);
	if (f && f != stdout) {
		fclose(f);
		unlink(tmp);
	}
	store_close(st);
	config_cleanup(&cfg);
	return code;
}
