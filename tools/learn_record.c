/* learn_record — anomesh-learn's live recording (learn_record.h). */
#include "learn_record.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

typedef struct recorder {
	svc *s;
	learn_data *d;
	const char *sensor;
	size_t want; /* rows to record */
	double timeout_s;
	int64_t last_data_ms;
	int failed; /* AM_E* once recording cannot go on */
	char *err;
	size_t errlen;
} recorder;

static int on_raw(void *ud, const mqtt_message *msg)
{
	recorder *rec = ud;
	msg_raw r;
	char err[MSG_ERR_MAX];
	msg_raw_init(&r);
	if (rec->failed || rec->d->n >= rec->want)
		goto out;
	if (msg_raw_decode(msg->payload, msg->len, &r, err, sizeof(err)) == 0 &&
	    strcmp(r.sensor, rec->sensor) == 0) {
		rec->last_data_ms = clock_mono_ms();
		if (!rec->d->started)
			log_info("recording %s at %g Hz: %zu samples wanted", rec->sensor,
				 r.rate_hz,
				 rec->want = (size_t)((double)rec->want * r.rate_hz));
		rec->failed = learn_data_add(rec->d, &r, rec->err, rec->errlen);
		if (rec->failed || rec->d->n >= rec->want)
			loop_stop(rec->s->loop);
	}
out:
	msg_raw_cleanup(&r);
	return 0;
}

static int64_t on_tick(void *ud)
{
	recorder *rec = ud;
	int64_t now = clock_mono_ms();
	if (now - rec->last_data_ms > (int64_t)(rec->timeout_s * 1000)) {
		rec->failed = AM_ETIMEOUT;
		snprintf(rec->err, rec->errlen,
			 "no data from %s for %g s (is it streaming? --timeout-s)",
			 rec->sensor, rec->timeout_s);
		loop_stop(rec->s->loop);
	} else if (rec->d->started) {
		fprintf(stderr,
			"recording %s: %5.1f %% (%.0f of %.0f s of data), %zu gaps\n",
			rec->sensor, 100.0 * (double)rec->d->n / (double)rec->want,
			learn_data_seconds(rec->d), (double)rec->want / rec->d->rate_hz,
			rec->d->n_gaps);
	}
	return 5000;
}

int learn_record(svc *s, const svc_params *p, const char *sensor, double minutes,
		 double timeout_s, learn_data *d, char *err, size_t errlen)
{
	recorder rec = {.s = s,
			.d = d,
			.sensor = sensor,
			/* x rate once the first message says it */
			.want = (size_t)(minutes * 60.0),
			.timeout_s = timeout_s,
			.err = err,
			.errlen = errlen};
	mqtt_options o;
	char topic[TOPIC_MAX + 1];
	svc_mqtt_options(s, p, &o);
	if (svc_connect(s, &o) ||
	    topic_sensor(topic, sizeof(topic), s->root, sensor, TOPIC_RAW) < 0 ||
	    mqtt_subscribe(s->mqtt, topic, 1) || svc_watch_inbox(s, on_raw, &rec) ||
	    loop_timer_add(s->loop, 5000, on_tick, &rec) < 0) {
		snprintf(err, errlen, "cannot subscribe to %.200s", topic);
		return AM_EBROKER;
	}
	log_info("waiting for %s (%g min of data)", topic, minutes);
	rec.last_data_ms = clock_mono_ms();
	loop_run(s->loop);
	if (!rec.failed && d->n < rec.want) {
		rec.failed = AM_ESTOPPED;
		snprintf(err, errlen, "stopped after %.0f s of data",
			 learn_data_seconds(d));
	}
	svc_disconnect(s);
	return rec.failed;
}
