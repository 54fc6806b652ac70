/* scorer-load — load generator and meter for the scorer benchmark
 * (scripts/bench-scorer.sh).
 *
 * Plays N sensors at --rate-hz, --per-msg samples per raw message, for
 * --duration-s, each sensor on its own phase so the messages are spread
 * evenly over time as real sensors would be (no synchronised bursts).
 * Samples are synthetic (a slow sine per channel plus noise) or rows of a
 * --csv file. Timestamps are the wall clock, so a scorer with --max-age-s
 * treats them as live.
 *
 *   --mode score: subscribes {root}/+/prediction (on a connection of its
 *     own, like a dashboard's, not the publisher's) and reports predictions
 *     received against the windows the scorer should have produced, the
 *     scorer's own latency_ms (p50/p99/max) and the end-to-end lag (arrival
 *     here minus the window's last sample time t, p50/p99).
 *   --mode count: subscribes {root}/+/raw itself and only counts: the
 *     broker-only ceiling, measured the same way; the lag there is the
 *     raw message's (arrival minus its last sample's time), the first
 *     hop alone.
 *
 * Prints one line "key=value ..." (easy to grep in the bench script) and
 * exits 0; it never judges, the bench script does. */
#include "clock.h"
#include "csv.h"
#include "log.h"
#include "mqtt.h"
#include "msg.h"
#include "signals.h"
#include "svc.h"

#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct load {
	svc s;
	mqtt_client *in; /* the subscriber: s.mqtt itself, or the counter */
	char *mode;
	int count_mode;
	size_t n_pred, n_raw_seen;
	/* --wait-online: the distinct {root}/_svc/+/+/status topics seen online */
	char online[16][TOPIC_MAX];
	size_t n_online;
	double *lat, *lag; /* scorer latency_ms, end-to-end lag ms */
	size_t n_lat, cap_lat;
	msg_raw raw; /* count mode: the arriving raw message */
} load;

/* Room for one more latency and lag; 0 or -1. */
static int room(load *l)
{
	if (l->n_lat == l->cap_lat) {
		size_t cap = l->cap_lat ? 2 * l->cap_lat : 65536;
		double *a = realloc(l->lat, cap * sizeof(*a));
		double *b = a ? realloc(l->lag, cap * sizeof(*b)) : NULL;
		if (a)
			l->lat = a;
		if (!a || !b)
			return -1;
		l->lag = b;
		l->cap_lat = cap;
	}
	return 0;
}

static int on_message(void *ud, const mqtt_message *m)
{
	load *l = ud;
	msg_prediction p;
	char err[MSG_ERR_MAX];

	if (l->count_mode) {
		l->n_raw_seen++;
		if (msg_raw_decode(m->payload, m->len, &l->raw, err, sizeof(err)) != 0 ||
		    l->raw.n_samples == 0 || room(l))
			return 0;
		l->lat[l->n_lat] = 0;
		l->lag[l->n_lat++] =
		    (clock_now() -
		     (l->raw.t0 + (double)(l->raw.n_samples - 1) / l->raw.rate_hz)) *
		    1e3;
		return 0;
	}
	if (msg_prediction_decode(m->payload, m->len, &p, err, sizeof(err)) != 0)
		return 0;
	l->n_pred++;
	if (room(l))
		return 0;
	l->lat[l->n_lat] = p.latency_ms;
	l->lag[l->n_lat] = (clock_now() - p.t) * 1e3;
	l->n_lat++;
	return 0;
}

/* Status messages while waiting for the mesh to come up. */
static int on_status(void *ud, const mqtt_message *m)
{
	load *l = ud;
	msg_status st;
	char err[MSG_ERR_MAX];
	size_t i;

	if (msg_status_decode(m->payload, m->len, &st, err, sizeof(err)) || !st.online)
		return 0;
	for (i = 0; i < l->n_online; i++)
		if (strcmp(l->online[i], m->topic) == 0)
			return 0;
	if (l->n_online < sizeof(l->online) / sizeof(l->online[0]))
		snprintf(l->online[l->n_online++], TOPIC_MAX, "%s", m->topic);
	return 0;
}

/* Wait until n services other than this one are online (their retained
 * status), then settle a moment for their subscriptions. 0 or -1. */
static int wait_online(load *l, long n, double timeout_s)
{
	char filter[TOPIC_MAX];
	int64_t end = clock_mono_ms() + (int64_t)(timeout_s * 1000);

	if (n <= 0)
		return 0;
	snprintf(filter, sizeof(filter), "%s/_svc/+/+/status", l->s.root);
	if (mqtt_subscribe(l->s.mqtt, filter, 1))
		return -1;
	while ((long)l->n_online <
	       n + 1) { /* its own status too; the subscriber has none */
		if (clock_mono_ms() > end || signals_stop_requested())
			return -1;
		mqtt_poll(l->s.mqtt, 50, on_status, l);
	}
	clock_sleep_ms(300);
	mqtt_dispatch(l->s.mqtt, NULL, NULL, 0);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double quantile(double *v, size_t n, double q)
{
	size_t i;
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)ceil(q * (double)n);
	return v[i ? i - 1 : 0];
}

/* Sample of sensor s, row k, channel c. */
static float sample(const double *csv, size_t csv_rows, size_t nch, size_t s, size_t k,
		    size_t c)
{
	if (csv)
		return (float)csv[((k + s * 97) % csv_rows) * nch + c];
	return (float)(0.01 * sin(0.05 * (double)k + (double)(s + c)) +
		       0.002 * sin(1.7 * (double)k * (double)(c + 1)));
}

/* Load the channels' columns of a CSV into rows (malloc'd). */
static int load_csv(const char *path, const config_list *ch, double **rows, size_t *n)
{
	csv_table t;
	char err[256];
	int col[MSG_MAX_CHANNELS];
	if (csv_read_file(path, &t, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	for (size_t c = 0; c < ch->n; c++)
		if ((col[c] = csv_col(&t, ch->items[c])) < 0) {
			log_error("%s: no column %s", path, ch->items[c]);
			csv_free(&t);
			return -1;
		}
	*rows = malloc(t.n_rows * ch->n * sizeof(**rows));
	if (!*rows || !t.n_rows) {
		csv_free(&t);
		return -1;
	}
	for (size_t r = 0; r < t.n_rows; r++)
		for (size_t c = 0; c < ch->n; c++)
			(*rows)[r * ch->n + c] = t.values[r * t.n_cols + (size_t)col[c]];
	*n = t.n_rows;
	csv_free(&t);
	return 0;
}

int main(int argc, char **argv)
{
	load l;
	long sensors, per_msg, qos, window, hop, wait_n;
	double rate, duration, grace;
	char *csv = NULL, *prefix = NULL, topic[256], err[MSG_ERR_MAX];
	config_list channels;
	double *csv_rows = NULL;
	size_t csv_n = 0, sent = 0, pub_failed = 0, expected = 0;
	double behind_max = 0, play_s = 0; /* generator lateness, playing time */
	msg_raw r;
	char *payload = NULL;
	int rc, code = 1;
	const config_opt opts[] = {
	    {"mode", CONFIG_STR, &l.mode, "score", 0, -1,
	     "score (meter predictions) or count (broker-only: count raw)", 0, 0},
	    {"sensors", CONFIG_INT, &sensors, "100", 1, 1000000, "sensors to play", 0, 0},
	    {"rate-hz", CONFIG_DBL, &rate, "50", 0.1, 100000,
	     "samples per second per sensor", 0, 0},
	    {"per-msg", CONFIG_INT, &per_msg, "10", 1, MSG_MAX_SAMPLES,
	     "samples per raw message", 0, 0},
	    {"duration-s", CONFIG_DBL, &duration, "10", 0.1, 86400, "seconds to play", 0,
	     0},
	    {"grace-s", CONFIG_DBL, &grace, "3", 0, 600,
	     "seconds to wait for the last predictions", 0, 0},
	    {"channels", CONFIG_LIST, &channels, "linacc_x,linacc_y,linacc_z", 0, -1,
	     "channel names", 0, 0},
	    {"csv", CONFIG_STR, &csv, NULL, 0, -1, "replay these rows instead of a sine",
	     0, 0},
	    {"prefix", CONFIG_STR, &prefix, "load", 0, -1, "sensor id prefix", 0, 0},
	    {"qos", CONFIG_INT, &qos, "1", 0, 1, "QoS of raw messages", 0, 0},
	    {"window", CONFIG_INT, &window, "200", 1, 100000,
	     "model window (for the expected count)", 0, 0},
	    {"hop", CONFIG_INT, &hop, "10", 1, 100000, "model hop", 0, 0},
	    {"wait-online", CONFIG_INT, &wait_n, "0", 0, 16,
	     "first wait for this many other services' retained online status", 0, 0},
	};
	svc_params p = {.name = "scorer-load",
			.summary =
			    "scorer-load: play N sensors into the broker and meter "
			    "the scorer (or the broker alone)",
			.opts = opts,
			.n_opts = sizeof(opts) / sizeof(opts[0]),
			.inbox_max = 200000};

	memset(&l, 0, sizeof(l));
	msg_raw_init(&r);
	msg_raw_init(&l.raw);
	rc = svc_init(&l.s, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	l.count_mode = strcmp(l.mode, "count") == 0;
	if (channels.n == 0 || channels.n > MSG_MAX_CHANNELS ||
	    (csv && load_csv(csv, &channels, &csv_rows, &csv_n)))
		goto out;
	{
		/* the subscriber is a client of its own, as a dashboard or a
		 * headset is not ingest-bt's connection: the counter subscribes
		 * raw like a scorer, the meter predictions (both QoS 1). One
		 * connection for both ways made the publisher's PUBACKs wait
		 * behind the predictions on one Paho receive thread. */
		mqtt_options o;
		svc_mqtt_options(&l.s, &p, &o);
		o.service = l.count_mode ? "scorer-load-count" : "scorer-load-meter";
		o.persistent = 0;
		o.metrics_interval_ms = 0;
		l.in = mqtt_new(&o, l.s.metrics, err, sizeof(err));
		if (!l.in) {
			log_error("%s: %s", l.count_mode ? "counter" : "meter", err);
			goto out;
		}
	}
	snprintf(topic, sizeof(topic), "%s/+/%s", l.s.root,
		 l.count_mode ? "raw" : "prediction");
	if (mqtt_subscribe(l.in, topic, 1) || mqtt_wait_connected(l.in, 10000) ||
	    mqtt_wait_connected(l.s.mqtt, 10000)) {
		log_error("cannot reach the broker %s", l.s.broker);
		goto out;
	}
	if (wait_online(&l, wait_n, 30)) {
		log_error("the mesh did not come up: %zu service(s) online", l.n_online);
		goto out;
	}
	payload = malloc(MSG_MAX_PAYLOAD);
	if (!payload)
		goto out;
	r.n_channels = channels.n;
	for (size_t c = 0; c < channels.n; c++)
		snprintf(r.channels[c], sizeof(r.channels[c]), "%s", channels.items[c]);
	r.rate_hz = rate;
	r.has_frame0 = 1;
	snprintf(r.run, sizeof(r.run), "load%ld", (long)clock_mono_ms() % 100000);
	if (msg_raw_reserve(&r, (size_t)per_msg))
		goto out;
	r.n_samples = (size_t)per_msg;
	{
		/* message j: sensor j % N, round j / N, due at start + j * period / N */
		const double period = (double)per_msg / rate;
		const double start = clock_now() + 0.2;
		const size_t rounds = (size_t)(duration / period);
		const size_t total = rounds * (size_t)sensors;
		size_t j = 0;

		while (j < total && !signals_stop_requested()) {
			double now = clock_now();
			while (j < total) {
				size_t s = j % (size_t)sensors,
				       round = j / (size_t)sensors;
				double due = start + (double)j * period / (double)sensors;
				size_t len;
				if (due > now)
					break;
				if (now - due > behind_max)
					behind_max = now - due;
				snprintf(r.sensor, sizeof(r.sensor), "%s%zu", prefix, s);
				r.seq = round;
				r.frame0 = (int64_t)(round * (size_t)per_msg);
				/* the sensor's samples are due as the message is */
				r.t0 = start + (double)s * period / (double)sensors +
				       (double)round * period -
				       (double)(per_msg - 1) / rate;
				for (size_t k = 0; k < (size_t)per_msg; k++)
					for (size_t c = 0; c < channels.n; c++)
						r.samples[k * channels.n + c] = sample(
						    csv_rows, csv_n, channels.n, s,
						    round * (size_t)per_msg + k, c);
				if (msg_raw_encode(&r, payload, MSG_MAX_PAYLOAD, &len,
						   err, sizeof(err)) ||
				    mqtt_publish_sensor(l.s.mqtt, r.sensor, "raw",
							payload, len, (int)qos, 0))
					pub_failed++;
				else
					sent++;
				j++;
			}
			mqtt_dispatch(l.in, on_message, &l, 0);
			if (j < total) {
				/* sleep to the next message's due time, to the
				 * microsecond, waking for arriving predictions */
				double due = start + (double)j * period / (double)sensors;
				double wait = due - clock_now();
				if (wait > 0) {
					struct pollfd pf = {mqtt_fd(l.in), POLLIN, 0};
					struct timespec ts = {
					    (time_t)wait,
					    (long)((wait - floor(wait)) * 1e9)};
					ppoll(&pf, 1, &ts, NULL);
				}
			}
		}
		play_s = clock_now() - start;
		{
			size_t n_samples = rounds * (size_t)per_msg;
			if (n_samples >= (size_t)window)
				expected =
				    ((n_samples - (size_t)window) / (size_t)hop + 1) *
				    (size_t)sensors;
		}
	}
	{
		/* wait for the tail: until the expected count or grace expires */
		int64_t end = clock_mono_ms() + (int64_t)(grace * 1000);
		while (clock_mono_ms() < end && !signals_stop_requested()) {
			if (l.count_mode ? l.n_raw_seen >= sent : l.n_pred >= expected)
				break;
			mqtt_poll(l.in, 50, on_message, &l);
		}
	}
	if (l.count_mode)
		printf("mode=count sensors=%ld rate_hz=%g per_msg=%ld sent=%zu "
		       "pub_failed=%zu received=%zu ratio=%.4f lag_p50_ms=%.2f "
		       "lag_p99_ms=%.2f lag_max_ms=%.2f msgs_per_s=%.0f "
		       "behind_max_ms=%.1f\n",
		       sensors, rate, per_msg, sent, pub_failed, l.n_raw_seen,
		       sent ? (double)l.n_raw_seen / (double)sent : 0,
		       quantile(l.lag, l.n_lat, 0.5), quantile(l.lag, l.n_lat, 0.99),
		       quantile(l.lag, l.n_lat, 1.0),
		       play_s > 0 ? (double)sent / play_s : 0, behind_max * 1e3);
	else
		printf("mode=score sensors=%ld rate_hz=%g per_msg=%ld sent=%zu "
		       "pub_failed=%zu "
		       "expected=%zu predictions=%zu ratio=%.4f lat_p50_ms=%.3f "
		       "lat_p99_ms=%.3f "
		       "lat_max_ms=%.3f lag_p50_ms=%.2f lag_p99_ms=%.2f lag_max_ms=%.2f "
		       "msgs_per_s=%.0f "
		       "behind_max_ms=%.1f\n",
		       sensors, rate, per_msg, sent, pub_failed, expected, l.n_pred,
		       expected ? (double)l.n_pred / (double)expected : 0,
		       quantile(l.lat, l.n_lat, 0.5), quantile(l.lat, l.n_lat, 0.99),
		       quantile(l.lat, l.n_lat, 1.0), quantile(l.lag, l.n_lat, 0.5),
		       quantile(l.lag, l.n_lat, 0.99), quantile(l.lag, l.n_lat, 1.0),
		       play_s > 0 ? (double)sent / play_s : 0, behind_max * 1e3);
	fflush(stdout);
	code = 0;
out:
	if (l.in && l.in != l.s.mqtt)
		mqtt_free(l.in);
	free(payload);
	free(csv_rows);
	free(l.lat);
	free(l.lag);
	msg_raw_cleanup(&l.raw);
	msg_raw_cleanup(&r);
	svc_cleanup(&l.s);
	return code;
}
