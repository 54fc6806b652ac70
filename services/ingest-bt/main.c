/* ingest-bt — reads LPMS-B2 sensors (Bluetooth RFCOMM, serial, TCP) or CSV
 * logs and publishes their samples on {root}/{sensor}/raw (contract.md).
 *
 * One process serves every source given: the svc loop over the sources'
 * descriptors and the MQTT inbox; before every sleep the sensors' timers
 * run and each says what to poll and when to wake. All protocol work lives
 * in session.c, source.c, sensor.c and pub.c. While the broker is away the
 * MQTT layer buffers (up to its bound) so no sample is lost in between. */
#include "sensor.h"

#include "clock.h"
#include "log.h"
#include "svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MAX_SOURCES 64

static void make_run_id(char *out, size_t len)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)clock_mono_ns() ^ (uint32_t)getpid();
	snprintf(out, len, "%08x", r);
}

typedef struct ingest_loop {
	loop *l;
	sensor *sensors;
	int watched[MAX_SOURCES]; /* the fd sensor i has in the loop, or -1 */
	size_t n;
	int exit_when_done;
	long wake; /* timer: the earliest sensor deadline */
} ingest_loop;

static void on_sensor(void *ud, int fd, short revents)
{
	(void)fd;
	sensor_handle(ud, revents, clock_mono_ms());
}

static int64_t on_wake(void *ud)
{
	(void)ud;
	return 1000; /* re-armed before every sleep */
}

/* Before every sleep: the sensors' timers, then what each wants polled
 * (unwatch the stale descriptors first: a number may pass from one
 * sensor to another) and the earliest deadline, a second at most. */
static void before_sleep(void *ud)
{
	ingest_loop *il = ud;
	int64_t now = clock_mono_ms(), next = now + 1000;
	struct pollfd p;
	size_t done = 0;

	for (size_t i = 0; i < il->n; i++)
		sensor_tick(&il->sensors[i], now);
	for (size_t i = 0; i < il->n; i++) {
		int fd = sensor_pollfd(&il->sensors[i], &p) ? p.fd : -1;
		if (il->watched[i] >= 0 && il->watched[i] != fd)
			loop_unwatch(il->l, il->watched[i]);
	}
	for (size_t i = 0; i < il->n; i++) {
		int64_t d = sensor_deadline(&il->sensors[i]);
		il->watched[i] = -1;
		if (sensor_pollfd(&il->sensors[i], &p) &&
		    loop_watch(il->l, p.fd, p.events, on_sensor, &il->sensors[i]) == 0)
			il->watched[i] = p.fd;
		if (d < next)
			next = d;
		done += sensor_done(&il->sensors[i]) != 0;
	}
	if (il->exit_when_done && done == il->n)
		loop_stop(il->l);
	loop_timer_at(il->l, il->wake, next);
}

static int run_loop(svc *sv, sensor *sensors, size_t n, int exit_when_done)
{
	ingest_loop il = {.l = sv->loop, .sensors = sensors, .n = n};
	il.exit_when_done = exit_when_done;
	for (size_t i = 0; i < n; i++)
		il.watched[i] = -1;
	il.wake = loop_timer_add(il.l, 0, on_wake, &il);
	if (il.wake < 0 || svc_watch_inbox(sv, NULL, NULL)) {
		log_error("out of memory");
		return -1;
	}
	loop_before_sleep(il.l, before_sleep, &il);
	if (loop_run(il.l)) {
		log_error("poll: %s", strerror(errno));
		return -1;
	}
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
	if (sources.n == 0 || sources.n > MAX_SOURCES) {
		log_error(
		    "give 1 to %d sources, e.g. tcp:127.0.0.1:5000#arm1 (see --help)",
		    MAX_SOURCES);
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
	rc = run_loop(&sv, sensors, n, exit_done) ? 1 : 0;
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
	svc_cleanup(&sv);
	return rc;
}
