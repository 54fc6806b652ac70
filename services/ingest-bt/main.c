/* ingest-bt — reads LPMS-B2 sensors (Bluetooth RFCOMM, serial, TCP) or CSV
 * logs and publishes their samples on {root}/{sensor}/raw (contract.md).
 *
 * One process serves every source given, in one loop (iloop.c). All
 * protocol work lives in session.c, source.c, sensor.c and pub.c. While
 * the broker is away the MQTT layer buffers (up to its bound); with
 * --journal-dir every message is journalled first (journal.c) and what a
 * consumer lost is republished on request (resend.c). */
#include "iloop.h"

#include "clock.h"
#include "log.h"
#include "svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static void make_run_id(char *out, size_t len)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)clock_mono_ns() ^ (uint32_t)getpid();
	snprintf(out, len, "%08x", r);
}

/* --journal-* and the repair's options. */
typedef struct repair_args {
	char *dir;
	long max_mb, fsync_ms;
	double max_s, rate, beacon_s;
} repair_args;

/* The journal and the server of repair requests (--journal-dir). Returns 0
 * or -1 (logged). */
static int repair_open(svc *sv, const repair_args *a, journal **jr, resend **rs)
{
	journal_options jo = {a->dir, (int64_t)a->max_mb << 20, a->max_s, 0,
			      (int)a->fsync_ms};
	resend_options ro = {a->rate, (int64_t)(a->beacon_s * 1000),
			     sv->offline_buffer > 1 ? sv->offline_buffer / 2 : 1, 0};
	char err[512], filter[TOPIC_MAX];
	journal_stats st;

	if (journal_open(jr, &jo, err, sizeof(err)) ||
	    resend_new(rs, &ro, *jr, sv->mqtt, sv->metrics, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (topic_filter(filter, sizeof(filter), sv->root, TOPIC_REPAIR, NULL) < 0 ||
	    mqtt_subscribe(sv->mqtt, filter, 1)) {
		log_error("cannot subscribe to the repair requests");
		return -1;
	}
	journal_get_stats(*jr, &st);
	log_info("journal %s: %lld messages held (%lld bytes, %lld torn records "
		 "skipped); keeps %ld MiB or %.0f s at most, fsync within %ld ms",
		 a->dir, (long long)st.records, (long long)st.bytes, (long long)st.torn,
		 a->max_mb, a->max_s, a->fsync_ms);
	return 0;
}

int main(int argc, char **argv)
{
	svc sv;
	config_list sources = {0};
	long rate, mask, batch_n, batch_ms, qos, silence, step_ms, bmin, bmax;
	int int16, calib, exit_done;
	double csv_rate;
	ingest_opts o;
	ingest_counters ctr;
	repair_args ra;
	journal *jr = NULL;
	resend *rs = NULL;
	sensor *sensors = NULL;
	size_t n = 0;
	int rc;
	const config_opt opts[] = {
	    {"source", CONFIG_LIST, &sources, NULL, 0, -1,
	     "bt:MAC | serial:DEV[@baud] | tcp:HOST:PORT | csv:PATH[@speed], each "
	     "[#sensor] "
	     "(repeatable; also positional)",
	     1, 0},
	    {"rate", CONFIG_INT, &rate, "50", 5, 400,
	     "stream rate set on LPMS sensors, Hz", 0, 0},
	    {"mask", CONFIG_INT, &mask, "0x261C00", 0, 0x7fffffff,
	     "output mask set on LPMS sensors (default acc gyr mag euler quat linacc)", 0,
	     0},
	    {"int16", CONFIG_BOOL, &int16, "0", 0, -1, "ask sensors for 16-bit data mode",
	     0, 0},
	    {"calibration", CONFIG_BOOL, &calib, "1", 0, -1,
	     "read the sensor's bias/alignment and apply it", 0, 0},
	    {"batch-samples", CONFIG_INT, &batch_n, "10", 1, MSG_MAX_SAMPLES,
	     "samples per raw message at most", 0, 0},
	    {"batch-ms", CONFIG_INT, &batch_ms, "200", 1, 60000,
	     "publish a partial batch after this many ms", 0, 0},
	    {"qos", CONFIG_INT, &qos, "1", 0, 2, "MQTT QoS of raw messages", 0, 0},
	    {"silence-ms", CONFIG_INT, &silence, "1500", 100, 600000,
	     "reconnect a streaming sensor silent this long", 0, 0},
	    {"step-timeout-ms", CONFIG_INT, &step_ms, "500", 10, 60000,
	     "wait this long for each command reply (3 tries)", 0, 0},
	    {"backoff-min-ms", CONFIG_INT, &bmin, "500", 10, 600000,
	     "first reconnect delay", 0, 0},
	    {"backoff-max-ms", CONFIG_INT, &bmax, "30000", 10, 3600000,
	     "reconnect delay doubles up to this", 0, 0},
	    {"csv-rate", CONFIG_DBL, &csv_rate, "1", 0.001, 100000,
	     "rate of CSV sources without a numeric timestamp column, Hz", 0, 0},
	    {"exit-when-done", CONFIG_BOOL, &exit_done, "0", 0, -1,
	     "exit once every source is a CSV replayed to its end", 0, 0},
	    {"journal-dir", CONFIG_STR, &ra.dir, NULL, 0, -1,
	     "journal every published message here and republish on request "
	     "(repair); unset: no journal",
	     0, 0},
	    {"journal-max-mb", CONFIG_INT, &ra.max_mb, "256", 1, 1000000,
	     "the journal's files together, MiB at most", 0, 0},
	    {"journal-max-s", CONFIG_DBL, &ra.max_s, "600", 1, 1e7,
	     "keep this many seconds of data at most", 0, 0},
	    {"journal-fsync-ms", CONFIG_INT, &ra.fsync_ms, "1000", -1, 60000,
	     "fdatasync the journal at most this long after an append (0: every "
	     "append, -1: never)",
	     0, 0},
	    {"replay-rate", CONFIG_DBL, &ra.rate, "1000", 1, 1e6,
	     "republish at most this many messages per second", 0, 0},
	    {"beacon-s", CONFIG_DBL, &ra.beacon_s, "30", 0, 86400,
	     "republish the last message of each idle run this often (0: never)", 0, 0},
	};
	svc_params p = {
	    .name = "ingest-bt",
	    .summary =
		"Reads LPMS-B2 sensors or CSV logs and publishes {root}/{sensor}/raw.\n"
		"usage: ingest-bt [options] SOURCE...   e.g. ingest-bt "
		"bt:00:04:3E:9B:1A:FF#arm1 tcp:127.0.0.1:5000#arm2",
	    .opts = opts,
	    .n_opts = sizeof(opts) / sizeof(opts[0])};
	rc = svc_init(&sv, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	if (sources.n == 0 || sources.n > ILOOP_MAX_SOURCES) {
		log_error(
		    "give 1 to %d sources, e.g. tcp:127.0.0.1:5000#arm1 (see --help)",
		    ILOOP_MAX_SOURCES);
		rc = 2;
		goto out;
	}
	if (lpms_rate_index((unsigned)rate) < 0) {
		log_error("--rate: %ld Hz is not one of 5, 10, 25, 50, 100, 200, 400",
			  rate);
		rc = 2;
		goto out;
	}
	memset(&o, 0, sizeof(o));
	sess_cfg_default(&o.sess);
	o.sess.rate_hz = (unsigned)rate;
	o.sess.mask = (uint32_t)mask & LPMS_OUT_ALL;
	o.sess.int16 = int16;
	o.sess.apply_calib = calib;
	o.sess.silence_ms = (int)silence;
	o.sess.step_timeout_ms = (int)step_ms;
	o.batch_samples = (size_t)batch_n;
	o.batch_ms = batch_ms;
	o.qos = (int)qos;
	o.backoff_min_ms = bmin;
	o.backoff_max_ms = bmax < bmin ? bmin : bmax;
	o.csv_rate_hz = csv_rate;
	make_run_id(o.run, sizeof(o.run));
	ingest_counters_init(&ctr, sv.metrics);
	if (ra.dir && *ra.dir && repair_open(&sv, &ra, &jr, &rs)) {
		rc = 1;
		goto out;
	}
	o.jr = jr;
	sensors = calloc(sources.n, sizeof(*sensors));
	if (!sensors) {
		log_error("out of memory");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < sources.n; i++) {
		src_spec spec;
		char err[512];
		if (source_parse(sources.items[i], (int)i, &spec, err, sizeof(err))) {
			log_error("%s", err);
			rc = 2;
			goto out;
		}
		for (size_t j = 0; j < n; j++)
			if (!strcmp(sensors[j].spec.sensor, spec.sensor)) {
				log_error("two sources are named '%s': give each its own "
					  "#sensor",
					  spec.sensor);
				rc = 2;
				goto out;
			}
		if (sensor_init(&sensors[n], &spec, &o, sv.mqtt, &ctr, sv.metrics, err,
				sizeof(err))) {
			sensor_cleanup(&sensors[n]);
			log_error("%s", err);
			rc = 1;
			goto out;
		}
		n++;
		log_info("source %s -> %s/%s/raw", sources.items[i], sv.root,
			 spec.sensor);
	}
	log_info("run %s: %zu source(s), batches of %ld samples or %ld ms, QoS %ld",
		 o.run, n, batch_n, batch_ms, qos);
	{
		iloop_parts ip = {sensors, n, exit_done, jr, rs};
		rc = iloop_run(&sv, &ip) ? 1 : 0;
	}
	for (size_t i = 0; i < n; i++)
		sensor_flush(&sensors[i]);
	log_info("stopping: %lld samples in, %lld messages published, %lld frames lost",
		 (long long)metrics_read(ctr.samples),
		 (long long)metrics_read(ctr.published),
		 (long long)metrics_read(ctr.frames_lost));
out:
	for (size_t i = 0; i < n; i++)
		sensor_cleanup(&sensors[i]);
	free(sensors);
	svc_cleanup(&sv); /* drains the last publishes, then the journal may go */
	resend_free(rs);
	journal_close(jr);
	return rc;
}
