/* fleet-archiver — the central archive of a fleet: every gateway's raw
 * samples, taken from the NATS JetStream cluster its bridge feeds, kept in
 * the gateway archiver's SQLite format, one file per (plant, gateway,
 * partition) (fstores.h). A batch is acknowledged to JetStream only after
 * it is committed, so a kill -9 of this process or the loss of a NATS node
 * loses nothing, and the store's (sensor, run, seq) key makes the
 * redelivered rest harmless (fleet/README.md: the guarantees).
 *
 *   fleet-archiver --servers nats://h:p,... [--dir DIR] [--partitions all|0-3,6]
 *                  [--partition-count N] [--setup] [--cafile F [--certfile F
 *                  --keyfile F]] [options]
 *
 * With --cafile (or tls:// URLs) it speaks TLS to the cluster and verifies
 * every node's certificate and name (fnats.h); a refused handshake is
 * logged with the reason, and retried like an absent cluster.
 *
 * main() only parses options and runs the loop: fetch (fconsume.h),
 * decode, store (fstores.h), commit, acknowledge. */
#include "fconsume.h"
#include "fstores.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *f_servers, *f_dir, *f_parts, *f_prefix, *f_log_level;
static char *f_cafile, *f_certfile, *f_keyfile, *f_tls_name;
static long f_count, f_ack_wait_ms, f_max_ack_pending, f_batch, f_retry_ms, f_stats_s,
    f_max_db_mb;
static double f_retention_days;
static int f_setup;

static const config_opt f_opts[] = {
    {"servers", CONFIG_STR, &f_servers, "nats://127.0.0.1:4222", 0, -1,
     "the cluster's NATS URLs, comma-separated", 0, 0},
    {"cafile", CONFIG_STR, &f_cafile, NULL, 0, -1,
     "TLS to the cluster, trusting these CA certificates (PEM; tls:// URLs "
     "without it: the system's)",
     0, 0},
    {"certfile", CONFIG_STR, &f_certfile, NULL, 0, -1,
     "client certificate (PEM), for a cluster that asks for one", 0, 0},
    {"keyfile", CONFIG_STR, &f_keyfile, NULL, 0, -1, "its private key (PEM)", 0, 0},
    {"tls-hostname", CONFIG_STR, &f_tls_name, NULL, 0, -1,
     "the name every node's certificate must carry (default: the first URL's host)", 0,
     0},
    {"dir", CONFIG_STR, &f_dir, "fleet-archive", 0, -1,
     "archive root: DIR/<plant>/<gateway>/p<NN>.db", 0, 0},
    {"partitions", CONFIG_STR, &f_parts, "all", 0, -1,
     "partitions this instance owns: all, or a list like 0-3,6", 0, 0},
    {"partition-count", CONFIG_INT, &f_count, "7", 1, FSUBJECT_PARTITIONS_MAX,
     "partitions of the cluster's mapping (fleet/nats-node.conf.in)", 0, 0},
    {"durable-prefix", CONFIG_STR, &f_prefix, "archive", 0, -1,
     "JetStream durable consumers are <prefix>-p<N>", 0, 0},
    {"ack-wait-ms", CONFIG_INT, &f_ack_wait_ms, "30000", 1000, 3600000,
     "redelivery of an unacknowledged message after this (set at creation)", 0, 0},
    {"max-ack-pending", CONFIG_INT, &f_max_ack_pending, "20000", 1, 1000000,
     "messages in flight per consumer (set at creation)", 0, 0},
    {"batch", CONFIG_INT, &f_batch, "500", 1, FCONSUME_BATCH_MAX,
     "messages per fetch, store transaction and acknowledgement", 0, 0},
    {"retry-ms", CONFIG_INT, &f_retry_ms, "1000", 10, 600000,
     "pause after an error of the cluster or the disk", 0, 0},
    {"retention-days", CONFIG_DBL, &f_retention_days, "0", 0, 36500,
     "delete data older than this (0: keep)", 0, 0},
    {"max-db-mb", CONFIG_INT, &f_max_db_mb, "0", 0, 100000000,
     "per file: delete the oldest data above this size (0: no cap)", 0, 0},
    {"stats-interval", CONFIG_INT, &f_stats_s, "10", 0, 86400,
     "log the counts every this many seconds (0: never)", 0, 0},
    {"setup", CONFIG_BOOL, &f_setup, "0", 0, -1,
     "create the durable consumers and exit (before the gateways stream)", 0, 0},
    {"log-level", CONFIG_STR, &f_log_level, "info", 0, -1, "error|warn|info|debug", 0, 0},
};

typedef struct f_counts {
	long long malformed;
	log_every bad, down;
} f_counts;

/* Store one batch; 0 (then acknowledge it) or the store's code. */
static int f_store(fstores *fs, const fconsume_batch *b, f_counts *fc)
{
	char err[512];
	msg_raw r;
	int rc = 0;
	msg_raw_init(&r);
	for (size_t i = 0; i < b->n && !rc; i++) {
		fsubject s;
		const fconsume_msg *m = &b->msgs[i];
		if (fsubject_parse(m->subject, &s, err, sizeof(err)) ||
		    msg_raw_decode(m->data, m->len, &r, err, sizeof(err)) ||
		    (strcmp(r.sensor, s.sensor) &&
		     snprintf(err, sizeof(err), "sensor '%s' on %s", r.sensor,
			      m->subject))) {
			fc->malformed++; /* acknowledged with the batch: nothing to keep
					  */
			log_every_msg(&fc->bad, 10000, LOG_LVL_WARN, "dropped: %s", err);
			continue;
		}
		rc = fstores_put(fs, &s, &r, clock_now(), NULL, err, sizeof(err));
	}
	msg_raw_cleanup(&r);
	if (!rc)
		rc = fstores_commit(fs, err, sizeof(err));
	if (rc)
		log_error("store: %s (%s); the batch comes again", err, am_strerror(rc));
	return rc;
}

static void f_stats(fstores *fs, const f_counts *c)
{
	store_stats st;
	size_t files;
	fstores_stats(fs, &st, &files);
	log_info(
	    "stored %lld messages (%lld samples) in %zu files; %lld duplicates dropped, "
	    "%lld missing in gaps, %lld malformed",
	    (long long)st.messages, (long long)st.samples, files,
	    (long long)st.duplicates, (long long)st.gaps, c->malformed);
}

static int f_run(fstores *fs, const fconsume_options *co)
{
	fconsume *fc = NULL;
	fconsume_batch *b = calloc(1, sizeof(*b));
	f_counts c = {0};
	char err[512];
	int64_t stats_at = clock_mono_ms() + f_stats_s * 1000;
	int tries = 0;
	if (!b)
		return -1;
	while (!signals_stop_requested()) {
		int rc, del;
		if (!fc) {
			rc = fconsume_open(&fc, co, err, sizeof(err));
			if (rc) {
				log_every_msg(&c.down, 10000, LOG_LVL_WARN, "cluster: %s",
					      err);
				if (f_setup && ++tries * f_retry_ms >= 30000) {
					log_error("--setup: no cluster within 30 s: %s",
						  err);
					break;
				}
				clock_sleep_ms(f_retry_ms);
				continue;
			}
			log_info("consuming %zu partitions from %s into %s",
				 co->n_partitions, co->servers, f_dir);
			if (f_setup)
				break;
		}
		rc = fconsume_fetch(fc, b, (size_t)f_batch, 500, err, sizeof(err));
		if (rc == AM_ETIMEOUT) {
			if (fstores_retention(fs, clock_now(), &del, err, sizeof(err)))
				log_warn("retention: %s", err);
		} else if (rc) {
			log_every_msg(&c.down, 10000, LOG_LVL_WARN, "cluster: %s", err);
			clock_sleep_ms(f_retry_ms);
		} else if (f_store(fs, b, &c)) {
			fconsume_batch_drop(b);
			clock_sleep_ms(f_retry_ms);
		} else {
			fconsume_batch_ack(fc, b);
		}
		if (f_stats_s && clock_mono_ms() >= stats_at) {
			f_stats(fs, &c);
			stats_at = clock_mono_ms() + f_stats_s * 1000;
		}
	}
	f_stats(fs, &c);
	tries = f_setup && !fc;
	fconsume_close(fc);
	free(b);
	return tries ? -1 : 0;
}

int main(int argc, char **argv)
{
	config cfg = {0};
	store_options so;
	fstores *fs = NULL;
	fconsume_options co = {0};
	fnats_tls tls = {0};
	int parts[FSUBJECT_PARTITIONS_MAX];
	enum log_level lvl;
	char err[512];
	int rc, code = 1;

	rc = config_load(
	    &cfg, f_opts, sizeof(f_opts) / sizeof(f_opts[0]), argc, argv,
	    "fleet-archiver",
	    "fleet-archiver: every gateway's raw samples from the NATS "
	    "JetStream cluster into SQLite, one file per (plant, gateway, "
	    "partition)\nusage: fleet-archiver --servers nats://h:p,... [options]",
	    err, sizeof(err));
	if (rc == CONFIG_HELP)
		return 0;
	if (rc || log_level_parse(f_log_level, &lvl)) {
		fprintf(stderr, "fleet-archiver: %s\n", rc ? err : "bad --log-level");
		config_cleanup(&cfg);
		return 2;
	}
	log_init("fleet-archiver", lvl);
	co.servers = f_servers;
	tls.cafile = f_cafile;
	tls.certfile = f_certfile;
	tls.keyfile = f_keyfile;
	tls.hostname = f_tls_name;
	co.tls = &tls;
	co.durable_prefix = f_prefix;
	co.partitions = parts;
	co.ack_wait_ms = (int)f_ack_wait_ms;
	co.max_ack_pending = (int)f_max_ack_pending;
	if (fsubject_partitions_parse(f_parts, (int)f_count, parts, &co.n_partitions, err,
				      sizeof(err)) ||
	    fnats_tls_check(&tls, err, sizeof(err)) || !fsubject_id_valid(f_prefix)) {
		log_error("%s", err[0] ? err : "--durable-prefix: [A-Za-z0-9_-]{1,32}");
		code = 2;
		goto out;
	}
	store_options_default(&so);
	so.retention_days = f_retention_days;
	so.max_bytes = (int64_t)f_max_db_mb << 20;
	if (signals_install(10) || fstores_open(&fs, f_dir, &so, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	if (f_run(fs, &co) == 0)
		code = 0;
out:
	fstores_close(fs);
	config_cleanup(&cfg);
	return code;
}
