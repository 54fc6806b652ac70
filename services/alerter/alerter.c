/* alerter — the service loop (see alerter.h). All MQTT work happens on this
 * thread, in the svc loop: the handler decodes and hands messages to the
 * tracker, whose emit callback encodes and publishes (mqtt_publish never
 * blocks) and queues notifications (notify_alert never blocks), so a slow
 * webhook or hook program cannot delay a state message. Bad payloads are
 * counted and logged at most once per interval per kind. */
#include "alerter.h"

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "signals.h"
#include "topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERTER_LOG_EVERY_MS 10000
/* Mosquitto's count of the messages it dropped since it started: a
 * subscriber's queue full (max_queued_messages, max_queued_bytes), every
 * $SYS interval (10 s by default) when it changed. */
#define ALERTER_BROKER_DROPPED "$SYS/broker/publish/messages/dropped"

struct alerter {
	svc *s;
	alerter_options o;
	tracker *t;
	notify *n;
	metrics_slot *m_in, *m_bad, *m_order, *m_sensors, *m_refused, *m_transitions,
	    *m_alerts, *m_acks, *m_acks_ignored, *m_restored, *m_ready, *m_broker_dropped;
	log_every le_bad, le_order, le_ack, le_full, le_pub;
	long long broker_dropped; /* last count the broker reported; -1: none yet */
};

void alerter_options_default(alerter_options *o)
{
	memset(o, 0, sizeof(*o));
	tracker_params_default(&o->tp);
	notify_options_default(&o->no);
	o->restore_ms = 1500;
	o->tick_ms = 200;
	o->drain_ms = 2000;
}

/* Worker threads of notify report here; log_msg writes whole lines. */
static void alerter__report(void *ud, int level, const char *line)
{
	(void)ud;
	log_msg((enum log_level)level, "%s", line);
}

static void alerter__publish(alerter *a, const char *sensor, const char *kind,
			     const char *json, size_t len, int retained)
{
	int rc = mqtt_publish_sensor(a->s->mqtt, sensor, kind, json, len, 1, retained);
	if (rc) { /* counted by the mqtt module (overflow_dropped, publish_failed) */
		log_every_msg(&a->le_pub, ALERTER_LOG_EVERY_MS, LOG_LVL_WARN,
			      "cannot publish %s/%s/%s (%s); the broker buffer is full?",
			      mqtt_root(a->s->mqtt), sensor, kind, am_strerror(rc));
	}
}

/* tracker emit: publish the state (retained), and on a change the alert,
 * a log line and the notifications. */
static void alerter__emit(void *ud, const msg_state *st, const msg_alert *al)
{
	alerter *a = ud;
	char json[2048], err[MSG_ERR_MAX];
	size_t len = 0;

	if (msg_state_encode(st, json, sizeof(json), &len, err, sizeof(err))) {
		log_error("cannot encode the state of %s: %s", st->sensor, err);
		return;
	}
	alerter__publish(a, st->sensor, "state", json, len, 1);
	if (!al) {
		if (st->acked)
			log_info("ACK   %s alert %s acknowledged by %s", st->sensor,
				 st->alert_id, st->acked_by);
		else
			log_info(
			    "STATE %s %s (first verdict, anomaly rate %.2f over %g s)",
			    st->sensor, state_name(st->state), st->anomaly_rate,
			    st->window_s);
		return;
	}
	{
		char why[160] = "";
		size_t at = 0;
		for (size_t i = 0; i < al->top.n && at < sizeof(why); i++)
			at += (size_t)snprintf(why + at, sizeof(why) - at, "%s%s %.2f",
					       i ? ", " : "; driven by ",
					       al->top.c[i].channel, al->top.c[i].share);
		log_info("STATE %s %s -> %s (anomaly rate %.2f over %g s%s) alert %s",
			 al->sensor, state_name(al->from), state_name(al->to),
			 al->anomaly_rate, st->window_s, why, al->id);
	}
	if (msg_alert_encode(al, json, sizeof(json), &len, err, sizeof(err))) {
		log_error("cannot encode alert %s: %s", al->id, err);
		return;
	}
	alerter__publish(a, al->sensor, "alert", json, len, 0);
	metrics_add(a->m_alerts, 1);
	if (a->n) {
		char tr[48];
		snprintf(tr, sizeof(tr), "%s>%s", state_name(al->from),
			 state_name(al->to));
		switch (notify_alert(a->n, al->sensor, tr, json, len, clock_mono_ms())) {
		case NOTIFY_LIMITED:
			log_info(
			    "alert %s: notifications rate-limited (same %s within %ld s)",
			    al->id, tr, a->o.no.rate_limit_s);
			break;
		case NOTIFY_DROPPED:
			log_warn("alert %s: a notification queue is full; dropped there",
				 al->id);
			break;
		default:
			break;
		}
	}
}

/* A message that breaks the contract: malformed_dropped (the mqtt module's,
 * every kind) and a rate-limited warning. */
static void alerter__bad(alerter *a, const char *topic, const char *why)
{
	mqtt_count_malformed(a->s->mqtt);
	log_every_msg(&a->le_bad, ALERTER_LOG_EVERY_MS, LOG_LVL_WARN, "dropped %s: %s",
		      topic, why);
}

/* A prediction that breaks it: also predictions_bad. */
static void alerter__bad_prediction(alerter *a, const char *topic, const char *why)
{
	metrics_add(a->m_bad, 1);
	alerter__bad(a, topic, why);
}

static void alerter__prediction(alerter *a, const char *sensor, const mqtt_message *m)
{
	msg_prediction p;
	char err[MSG_ERR_MAX];
	int rc;

	metrics_add(a->m_in, 1);
	if (msg_prediction_decode(m->payload, m->len, &p, err, sizeof(err))) {
		alerter__bad_prediction(a, m->topic, err);
		return;
	}
	if (strcmp(p.sensor, sensor) != 0) {
		alerter__bad_prediction(a, m->topic,
					"sensor in the payload differs from the topic");
		return;
	}
	rc = tracker_prediction(a->t, &p, clock_mono_ms());
	if (rc == AM_EORDER)
		log_every_msg(&a->le_order, ALERTER_LOG_EVERY_MS, LOG_LVL_DEBUG,
			      "%s: duplicate or out-of-order prediction t=%.3f dropped",
			      sensor, p.t);
	else if (rc == AM_EFULL)
		log_every_msg(
		    &a->le_full, ALERTER_LOG_EVERY_MS, LOG_LVL_WARN,
		    "%s: not tracked, already tracking %zu sensors (--max-sensors)",
		    sensor, a->o.tp.max_sensors);
	else if (rc)
		log_error("%s: prediction not taken (%s)", sensor, am_strerror(rc));
}

static void alerter__ack(alerter *a, const char *sensor, const mqtt_message *m)
{
	msg_ack ack;
	char err[MSG_ERR_MAX];
	const msg_state *cur;

	if (msg_ack_decode(m->payload, m->len, &ack, err, sizeof(err))) {
		alerter__bad(a, m->topic, err);
		return;
	}
	if (tracker_ack(a->t, sensor, &ack))
		return; /* the emit callback logged it */
	cur = tracker_get(a->t, sensor);
	log_every_msg(&a->le_ack, ALERTER_LOG_EVERY_MS, LOG_LVL_INFO,
		      "ignored ack of %s by %s on %s: the current alert is %s%s", ack.id,
		      ack.by, sensor, cur && cur->alert_id[0] ? cur->alert_id : "(none)",
		      cur && cur->acked ? " (already acked)" : "");
}

static void alerter__restore(alerter *a, const char *sensor, const mqtt_message *m)
{
	msg_state st;
	char err[MSG_ERR_MAX];

	/* After start-up our own states come back here: nothing to do. */
	if (tracker_started(a->t) || !m->retained || m->len == 0)
		return;
	memset(&st, 0, sizeof(st));
	if (msg_state_decode(m->payload, m->len, &st, err, sizeof(err))) {
		log_warn("retained %s not restored: %s", m->topic, err);
		return;
	}
	if (strcmp(st.sensor, sensor) != 0) {
		log_warn("retained %s not restored: sensor differs from the topic",
			 m->topic);
		return;
	}
	if (tracker_restore(a->t, &st, clock_mono_ms()) == 0)
		log_info("restored %s: %s since %.1f%s%s", sensor, state_name(st.state),
			 st.since, st.acked ? ", acked by " : "",
			 st.acked ? st.acked_by : "");
}

/* {root}/_svc/{service}/{instance}/status: say what a scorer going away
 * means for the sensors it scored (they will go STALE on their own). */
static void alerter__status(alerter *a, const topic_ref *t, const mqtt_message *m)
{
	msg_status st;
	char err[MSG_ERR_MAX];

	if (strcmp(t->service, "scorer") != 0 ||
	    msg_status_decode(m->payload, m->len, &st, err, sizeof(err)) != 0)
		return;
	if (!st.online)
		log_warn("scorer %s is offline: its sensors go STALE after %g s without "
			 "predictions",
			 t->instance, a->o.tp.stale_s);
	else
		log_info("scorer %s is online", t->instance);
}

/* The broker's drop count: the gauge broker_dropped, and a warning when
 * it rose since the last report (a restarted broker starts again at 0). */
static void alerter__broker_dropped(alerter *a, const mqtt_message *m)
{
	char num[24], *end;
	long long n, d;

	if (m->len == 0 || m->len >= sizeof(num)) {
		alerter__bad(a, m->topic, "not a count");
		return;
	}
	memcpy(num, m->payload, m->len);
	num[m->len] = '\0';
	n = strtoll(num, &end, 10);
	if (*end || end == num || n < 0) {
		alerter__bad(a, m->topic, "not a count");
		return;
	}
	metrics_set(a->m_broker_dropped, n);
	/* a count below the last one: the broker restarted, counting from 0 */
	d = a->broker_dropped >= 0 && n >= a->broker_dropped ? n - a->broker_dropped : n;
	if (d > 0)
		log_warn(
		    "the broker reports %lld more dropped message(s) (%lld since "
		    "it started): a subscriber's queue was full "
		    "(max_queued_messages); a consumer is too slow or was away too "
		    "long. The archiver asks ingest for the raw it misses; predictions "
		    "and alerts dropped there are lost to that subscriber",
		    d, n);
	a->broker_dropped = n;
}

static int alerter__handle(void *ud, const mqtt_message *m)
{
	alerter *a = ud;
	topic_ref t;

	if (strcmp(m->topic, ALERTER_BROKER_DROPPED) == 0) {
		alerter__broker_dropped(a, m);
		return 0;
	}
	switch (topic_parse(m->topic, mqtt_root(a->s->mqtt), &t)) {
	case TOPIC_PREDICTION:
		alerter__prediction(a, t.sensor, m);
		break;
	case TOPIC_ACK:
		alerter__ack(a, t.sensor, m);
		break;
	case TOPIC_STATE:
		alerter__restore(a, t.sensor, m);
		break;
	case TOPIC_SVC_STATUS:
		alerter__status(a, &t, m);
		break;
	case TOPIC_NONE:
		alerter__bad(a, m->topic,
			     "not {root}/{sensor}/{kind} with a valid sensor id");
		break;
	default:
		break;
	}
	return 0;
}

/* Mirror the tracker's counters into the metrics registry. */
static void alerter__sync_metrics(alerter *a)
{
	tracker_stats st;
	tracker_get_stats(a->t, &st);
	metrics_set(a->m_order, (int64_t)st.out_of_order);
	metrics_set(a->m_sensors, (int64_t)tracker_sensors(a->t));
	metrics_set(a->m_refused, (int64_t)st.refused);
	metrics_set(a->m_transitions, (int64_t)st.transitions);
	metrics_set(a->m_acks, (int64_t)st.acks);
	metrics_set(a->m_acks_ignored, (int64_t)st.acks_ignored);
	metrics_set(a->m_restored, (int64_t)st.restored);
}

alerter *alerter_new(svc *s, const alerter_options *o, char *err, size_t errlen)
{
	alerter *a = calloc(1, sizeof(*a));
	metrics *m = s->metrics;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->s = s;
	a->o = *o;
	a->m_in = metrics_get(m, "predictions_in");
	a->m_bad = metrics_get(m, "predictions_bad");
	a->m_order = metrics_get(m, "predictions_out_of_order");
	a->m_sensors = metrics_get(m, "sensors");
	a->m_refused = metrics_get(m, "sensors_refused");
	a->m_transitions = metrics_get(m, "transitions");
	a->m_alerts = metrics_get(m, "alerts");
	a->m_acks = metrics_get(m, "acks");
	a->m_acks_ignored = metrics_get(m, "acks_ignored");
	a->m_restored = metrics_get(m, "states_restored");
	a->m_ready = metrics_get(m, "ready");
	a->m_broker_dropped = metrics_get(m, "broker_dropped");
	a->broker_dropped = -1;
	a->t = tracker_new(&o->tp, alerter__emit, a, err, errlen);
	if (!a->t)
		goto fail;
	a->o.no.report = alerter__report;
	a->o.no.report_ud = a;
	a->n = notify_new(&a->o.no, m, err, errlen);
	if (!a->n)
		goto fail;
	/* the options' strings belong to the caller; notify made copies */
	a->o.no.webhook_url = NULL;
	a->o.no.command = NULL;
	return a;
fail:
	alerter_free(a);
	return NULL;
}

void alerter_free(alerter *a)
{
	if (!a)
		return;
	if (a->n && notify_pending(a->n)) {
		int64_t end = clock_mono_ms() + a->o.drain_ms;
		while (notify_pending(a->n) && clock_mono_ms() < end)
			clock_sleep_ms(20);
		if (notify_pending(a->n))
			log_warn("exit: %zu notification(s) still pending, dropped",
				 notify_pending(a->n));
	}
	notify_free(a->n);
	tracker_free(a->t);
	free(a);
}

static int alerter__subscribe(alerter *a)
{
	static const enum topic_kind kinds[] = {TOPIC_STATE, TOPIC_PREDICTION, TOPIC_ACK};
	char filter[TOPIC_MAX];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (topic_filter(filter, sizeof(filter), mqtt_root(a->s->mqtt), kinds[i],
				 NULL) < 0 ||
		    mqtt_subscribe(a->s->mqtt, filter, 1))
			return -1;
	}
	if (topic_filter(filter, sizeof(filter), mqtt_root(a->s->mqtt), TOPIC_SVC_STATUS,
			 NULL) < 0 ||
	    mqtt_subscribe(a->s->mqtt, filter, 1))
		return -1;
	/* QoS 0: the next report carries the whole count again */
	return mqtt_subscribe(a->s->mqtt, ALERTER_BROKER_DROPPED, 0) ? -1 : 0;
}

/* restore_ms after the broker came: the retained states are in; start
 * tracking and publishing, and tick the tracker before every sleep (at
 * most tick_ms apart: the wake timer). */
static void alerter__tick(void *ud)
{
	alerter *a = ud;
	tracker_tick(a->t, clock_mono_ms(), clock_now());
	alerter__sync_metrics(a);
}

static int64_t alerter__wake(void *ud)
{
	alerter *a = ud;
	return a->o.tick_ms;
}

static void alerter__start(alerter *a)
{
	tracker_start(a->t, clock_mono_ms());
	alerter__sync_metrics(a);
	metrics_set(a->m_ready, 1);
	log_info("tracking %zu sensor(s) from retained states; running",
		 tracker_sensors(a->t));
	loop_before_sleep(a->s->loop, alerter__tick, a);
	if (loop_timer_add(a->s->loop, a->o.tick_ms, alerter__wake, a) < 0)
		log_error("out of memory: STALE checks only when messages arrive");
}

static int64_t alerter__restored(void *ud)
{
	alerter__start(ud);
	return LOOP_TIMER_STOP;
}

static void alerter__sighup(void *ud)
{
	(void)ud;
	log_info("SIGHUP: nothing to reload (restart to change options)");
}

int alerter_run(alerter *a)
{
	int rc;

	if (alerter__subscribe(a)) {
		log_error("cannot subscribe to the alerter's topics");
		return -1;
	}
	log_info(
	    "window %g s, FAILURE at rate >= %g, OK at <= %g, %zu windows of evidence; "
	    "STALE after %g s; webhook %s; command %s",
	    a->o.tp.sp.window_s, a->o.tp.sp.enter_rate, a->o.tp.sp.exit_rate,
	    a->o.tp.sp.min_windows, a->o.tp.stale_s,
	    notify_has_webhook(a->n) ? "on" : "off",
	    notify_has_command(a->n) ? "on" : "off");
	while (!signals_stop_requested() && svc_wait_connected(a->s, 200) != 0)
		;
	log_info("collecting retained states for %ld ms before publishing",
		 a->o.restore_ms);
	if (svc_watch_inbox(a->s, alerter__handle, a) ||
	    loop_timer_add(a->s->loop, a->o.restore_ms, alerter__restored, a) < 0) {
		log_error("out of memory");
		return -1;
	}
	loop_on_reload(a->s->loop, alerter__sighup, a);
	rc = loop_run(a->s->loop);
	if (!tracker_started(a->t))
		alerter__start(a); /* stopped while restoring: as if it ended */
	log_info("stopping");
	return rc ? -1 : 0;
}
