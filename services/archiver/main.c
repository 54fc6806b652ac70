/* archiver — keeps every raw sample (and the predictions and alerts) of the
 * mesh in SQLite and/or daily CSV files, losing nothing the broker
 * delivered: a persistent MQTT session at QoS 1, each message written to
 * the archiver's spool before Paho acknowledges it, and the spool position
 * committed with the data (see intake.h, spool.h, SCHEMA.md).
 *
 *   archiver [--db PATH] [--csv-dir DIR] [--retention-days D] [--max-db-mb M]
 *            [--commit-ms MS] [--commit-max N] [--spool-max-mb M] [shared options]
 *   archiver export --sensor S ...      (see export.h)
 *
 * main() only parses options, opens the sinks, wires the MQTT client's
 * arrival hook to the spool and runs the loop (aloop.c), which also asks
 * ingest-bt for the messages the gaps table says are missing (repair.c). */
#include "aloop.h"
#include "export.h"

#include "clock.h"
#include "log.h"
#include "svc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *a_db, *a_csv_dir, *a_spool_dir, *a_client_id;
static double a_retention_days;
static long a_max_db_mb, a_commit_ms, a_commit_max, a_retry_ms, a_spool_max_mb;
static int a_repair;
static repair_options a_rep;

static const config_opt a_opts[] = {
    {"db", CONFIG_STR, &a_db, "archive.db", 0, -1,
     "SQLite database ('' disables SQLite: CSV only)", 0, 0},
    {"csv-dir", CONFIG_STR, &a_csv_dir, NULL, 0, -1,
     "also write daily CSV files per sensor under this directory", 0, 0},
    {"spool-dir", CONFIG_STR, &a_spool_dir, NULL, 0, -1,
     "spool directory (default <db>.spool or <csv-dir>/.spool)", 0, 0},
    {"spool-max-mb", CONFIG_INT, &a_spool_max_mb, "0", 0, 100000000,
     "cap the spool at this size (0: none, else at least 4); when it is full, "
     "stop acknowledging as on a full disk",
     0, 0},
    {"client-id", CONFIG_STR, &a_client_id, NULL, 0, -1,
     "MQTT client id of the persistent session (default archiver-<instance or "
     "hostname>)",
     0, 0},
    {"retention-days", CONFIG_DBL, &a_retention_days, "0", 0, 36500,
     "delete data older than this (0: keep)", 0, 0},
    {"max-db-mb", CONFIG_INT, &a_max_db_mb, "0", 0, 100000000,
     "delete the oldest data above this database size (0: no cap)", 0, 0},
    {"commit-ms", CONFIG_INT, &a_commit_ms, "200", 1, 60000,
     "commit a batch at least this often", 0, 0},
    {"commit-max", CONFIG_INT, &a_commit_max, "1000", 1, 1000000,
     "commit after this many messages", 0, 0},
    {"retry-ms", CONFIG_INT, &a_retry_ms, "2000", 10, 600000,
     "pause before retrying after a database error", 0, 0},
    {"repair", CONFIG_BOOL, &a_repair, "1", 0, -1,
     "ask ingest-bt to republish missing messages (needs its --journal-dir)", 0, 0},
    {"repair-grace-s", CONFIG_DBL, &a_rep.grace_s, "2", 0, 3600,
     "ask for a gap once it is this old", 0, 0},
    {"repair-retry-s", CONFIG_DBL, &a_rep.retry_s, "5", 0.1, 3600,
     "ask again after this, doubling up to 120 s", 0, 0},
    {"repair-max-age-s", CONFIG_DBL, &a_rep.max_age_s, "900", 1, 1e7,
     "give a gap up as lost this long after it was found", 0, 0},
};

int main(int argc, char **argv)
{
	svc sv;
	svc_params p = {
	    .name = "archiver",
	    .summary = "archiver: store every raw sample, prediction and alert (SQLite "
		       "and/or CSV), losing nothing\n"
		       "usage: archiver [options]   |   archiver export --help",
	    .opts = a_opts,
	    .n_opts = sizeof(a_opts) / sizeof(a_opts[0]),
	    .defer_mqtt = 1, /* the client needs the spool first: made below */
	    .persistent = 1,
	    /* it must keep up, not answer within milliseconds: waking, it
	     * never preempts the scorer's or the broker's prediction path */
	    .cpu_class = "batch",
	};
	store *st = NULL;
	csvsink *csv = NULL;
	spool *sp = NULL;
	intake in;
	repair rp;
	intake_options io = {0};
	mqtt_options mo;
	spool_pos from = {0, 0};
	char err[512], spool_dir[PATH_MAX], cursor[PATH_MAX + 8];
	char client_id[160], host[64];
	int rc, code = 1, have_intake = 0, have_repair = 0;

	if (argc > 1 && !strcmp(argv[1], "export"))
		return export_main(argc - 1, argv + 1);
	rc = svc_init(&sv, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	if ((!a_db || !*a_db) && !a_csv_dir) {
		log_error("--db '' needs --csv-dir: there would be nowhere to write");
		code = 2;
		goto out;
	}
	if (a_spool_dir)
		snprintf(spool_dir, sizeof(spool_dir), "%s", a_spool_dir);
	else if (a_db && *a_db)
		snprintf(spool_dir, sizeof(spool_dir), "%s.spool", a_db);
	else
		snprintf(spool_dir, sizeof(spool_dir), "%s/.spool", a_csv_dir);
	snprintf(cursor, sizeof(cursor), "%s/cursor", spool_dir);

	if (a_db && *a_db) {
		store_options so;
		store_options_default(&so);
		so.path = a_db;
		so.retention_days = a_retention_days;
		so.max_bytes = (int64_t)a_max_db_mb << 20;
		if (store_open(&st, &so, err, sizeof(err))) {
			log_error("%s", err);
			goto out;
		}
	}
	if (a_csv_dir && csvsink_open(&csv, a_csv_dir, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	io.root = sv.root;
	io.commit_max = (int)a_commit_max;
	io.commit_ms = (int)a_commit_ms;
	io.retry_ms = (int)a_retry_ms;
	io.read_ms = INTAKE_READ_MS;
	io.cursor_file = cursor;
	if (intake_init(&in, &io, st, csv, sv.metrics, &from, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	have_intake = 1;
	if (spool_open(&sp, spool_dir, from, 0, err, sizeof(err)) ||
	    spool_set_max(sp, (int64_t)a_spool_max_mb << 20, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	intake_attach(&in, sp, NULL);
	a_rep.retry_max_s = a_rep.retry_s > 120 ? a_rep.retry_s : 120;
	if (a_repair && st) {
		if (repair_init(&rp, &a_rep, st, sv.metrics, err, sizeof(err))) {
			log_error("%s", err);
			goto out;
		}
		have_repair = 1;
	}
	/* what the last run spooled but did not commit goes in first */
	if (intake_flush(&in))
		log_warn("could not commit the spooled backlog yet; will retry");

	if (a_client_id) {
		snprintf(client_id, sizeof(client_id), "%s", a_client_id);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
		snprintf(client_id, sizeof(client_id), "archiver-%s",
			 sv.instance ? sv.instance : host);
	}
	svc_mqtt_options(&sv, &p, &mo);
	mo.client_id = client_id;
	mo.on_arrival = intake_arrival;
	mo.on_arrival_ud = &in;
	if (svc_connect(&sv, &mo))
		goto out;
	intake_attach(&in, sp, sv.mqtt);
	if (have_repair)
		repair_attach(&rp, sv.mqtt);
	{
		const char *kinds[] = {"raw", "prediction", "alert"};
		char filter[256];
		for (size_t i = 0; i < 3; i++) {
			snprintf(filter, sizeof(filter), "%s/+/%s", sv.root, kinds[i]);
			if (mqtt_subscribe(sv.mqtt, filter, 1)) {
				log_error("cannot subscribe to %s", filter);
				goto out;
			}
		}
	}
	log_info("archiving %s/+/{raw,prediction,alert} into %s%s%s (client id %s, spool "
		 "%s)",
		 sv.root, st ? a_db : "", st && csv ? " and " : "", csv ? a_csv_dir : "",
		 client_id, spool_dir);

	if (aloop_run(&sv, &in, sp, have_repair ? &rp : NULL))
		goto out;
	log_info("stopping: closing the session, committing what is spooled");
	code = 0;
out:
	svc_disconnect(&sv); /* no arrival after this: the spool may close */
	if (have_intake && sp && intake_flush(&in)) {
		log_warn(
		    "not everything spooled is committed; it will be at the next start");
	}
	if (have_intake)
		intake_cleanup(&in);
	if (have_repair)
		repair_cleanup(&rp);
	spool_close(sp);
	csvsink_close(csv);
	store_close(st);
	svc_cleanup(&sv);
	return code;
}
