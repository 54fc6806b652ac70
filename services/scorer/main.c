/* scorer — score every sensor's live stream with its autoencoder and publish
 * {root}/{sensor}/prediction (one per window) within milliseconds.
 *
 * main() only parses options, loads the models, wires the core (scorer.c)
 * to the MQTT client and runs the loop (common/loop.h): take messages from
 * the inbox in slices, and score what is queued when the inbox runs dry
 * (the before-sleep hook), when the batch is full (inside the core) or
 * when the oldest queued window has waited --tick-ms; every
 * --model-check-ms look at --models-dir and for changed model files, and
 * on SIGHUP reload them all. See SCALING.md for --group and the heartbeat
 * (group.c). */
#include "clock.h"
#include "group.h"
#include "log.h"
#include "models.h"
#include "mqtt.h"
#include "msg.h"
#include "scorer.h"
#include "signals.h"
#include "svc.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPATCH_SLICE 64

static const char summary[] =
    "scorer: score {root}/+/raw with the sensor's model, publish "
    "{root}/{sensor}/prediction\n"
    "usage: scorer [--model GLOB=FILE]... [--models-dir DIR] [--group NAME] "
    "[options]";

#define DEFAULT_RULE "*=models/lpms-linacc.aem"

typedef struct scorer_main {
	svc s;
	group grp;
	scorer *core;
	model_map *mm;
	long qos, tick_ms, check_ms;
	long check_timer;
} scorer_main;

static int on_message(void *ud, const mqtt_message *m)
{
	scorer_main *sm = ud;
	(m->retained ? scorer_handle_retained : scorer_handle)(
	    sm->core, m->topic, m->payload, m->len, clock_mono_ns());
	return 0;
}

static int publish_prediction(void *ud, const char *sensor, const char *payload,
			      size_t len)
{
	scorer_main *sm = ud;
	return mqtt_publish_sensor(sm->s.mqtt, sensor, "prediction", payload, len,
				   (int)sm->qos, 0) == 0
		   ? 0
		   : -1;
}

static void report_model(void *ud, size_t slot, enum models_event ev, const char *msg)
{
	const model_map *mm = ud;
	const model_slot *s = &mm->slots[slot];
	const ae_model *m = &s->model;
	if (ev == MODELS_RELOADED || ev == MODELS_ADDED)
		log_info("model %s %s: now serving %s (%s), %zu channels, window %zu "
			 "samples at %g Hz%s, hop %zu, threshold %g",
			 s->path, ev == MODELS_ADDED ? "added" : "reloaded", msg,
			 s->key[0] ? s->key : "its rules", m->n_channels, m->window,
			 m->rate_hz,
			 m->rate_hz > 0 ? ""
					: " (format v1: no rate recorded, not checked)",
			 m->hop, (double)m->threshold);
	else if (ev == MODELS_REFUSED)
		log_error("model %s: new file REFUSED, still serving %s: %s", s->path,
			  s->loaded ? s->label : "nothing", msg);
	else if (ev == MODELS_REMOVED)
		log_info("model %s removed: %s no longer served by %s", s->path, s->key,
			 msg);
	else
		log_info("model %s unchanged (%s)", s->path, msg);
}

/* The inbox is readable: take messages in slices, scoring between slices
 * once the oldest queued window has waited --tick-ms. */
static void on_inbox(void *ud, int fd, short revents)
{
	scorer_main *sm = ud;
	int n;
	(void)fd;
	(void)revents;
	do {
		n = mqtt_dispatch(sm->s.mqtt, on_message, sm, DISPATCH_SLICE);
		if (scorer_pending(sm->core) &&
		    clock_mono_ns() - scorer_oldest_ns(sm->core) >= sm->tick_ms * 1000000)
			scorer_flush(sm->core);
	} while (n == DISPATCH_SLICE && !signals_stop_requested());
}

/* Before the loop sleeps: the inbox ran dry, nothing to wait for. */
static void on_dry(void *ud)
{
	scorer_main *sm = ud;
	scorer_flush(sm->core);
}

static int64_t on_model_check(void *ud)
{
	scorer_main *sm = ud;
	scorer_reload(sm->core, 0, report_model, sm->mm);
	return sm->check_ms;
}

static void on_sighup(void *ud)
{
	scorer_main *sm = ud;
	log_info("SIGHUP: reloading model files");
	scorer_reload(sm->core, 1, report_model, sm->mm);
	loop_timer_at(sm->s.loop, sm->check_timer, clock_mono_ms() + sm->check_ms);
}

static int64_t on_gauges(void *ud)
{
	scorer_main *sm = ud;
	scorer_update_gauges(sm->core, clock_mono_ns(), 10.0);
	return sm->s.metrics_interval_ms > 0 ? sm->s.metrics_interval_ms : 1000;
}

int main(int argc, char **argv)
{
	scorer_main sm;
	model_map mm;
	config_list models;
	char *group_name = NULL, *models_dir = NULL;
	double max_age_s, max_gap_s;
	long batch_max, max_sensors, max_payload, beat_ms, timeout_ms;
	char err[512];
	scorer_opts o;
	int rc, exit_code = 1;
	const config_opt opts[] = {
	    {"model", CONFIG_LIST, &models, NULL, 0, -1,
	     "GLOB=FILE: model for sensors matching GLOB (repeat; first match wins; "
	     "none and no --models-dir: " DEFAULT_RULE ")",
	     0, 0},
	    {"models-dir", CONFIG_STR, &models_dir, NULL, 0, -1,
	     "watched: <sensor>.aem serves that sensor, default.aem the rest", 0, 0},
	    {"group", CONFIG_STR, &group_name, "default", 0, -1,
	     "scorer group: live members split the sensors (SCALING.md)", 0, 0},
	    {"heartbeat-ms", CONFIG_INT, &beat_ms, "1000", 50, 60000,
	     "period of this scorer's group heartbeat", 0, 0},
	    {"member-timeout-ms", CONFIG_INT, &timeout_ms, "0", 0, 3600000,
	     "a member silent this long is dropped (>= 3 heartbeats; 0: 4)", 0, 0},
	    {"max-age-s", CONFIG_DBL, &max_age_s, "30", 0, 1e9,
	     "skip windows whose last sample is older than this (0: never)", 0, 0},
	    {"max-gap-s", CONFIG_DBL, &max_gap_s, "1", 0, 1e9,
	     "restart a window when t0 jumps ahead by more than this (0: off)", 0, 0},
	    {"batch-max", CONFIG_INT, &batch_max, "64", 1, 65536,
	     "windows per batch before scoring at once", 0, 0},
	    {"tick-ms", CONFIG_INT, &sm.tick_ms, "2", 0, 10000,
	     "longest a queued window waits for more to batch with", 0, 0},
	    {"model-check-ms", CONFIG_INT, &sm.check_ms, "2000", 100, 3600000,
	     "interval of the model file change check", 0, 0},
	    {"max-sensors", CONFIG_INT, &max_sensors, "100000", 1, 10000000,
	     "sensors tracked at most", 0, 0},
	    {"max-payload", CONFIG_INT, &max_payload, "262144", 64, MSG_MAX_PAYLOAD,
	     "raw payload bytes at most", 0, 0},
	    {"qos", CONFIG_INT, &sm.qos, "0", 0, 1,
	     "QoS of predictions (1 costs ~1 ms a publish in Paho: see SCALING.md)", 0,
	     0},
	};
	svc_params p = {.name = "scorer",
			.summary = summary,
			.opts = opts,
			.n_opts = sizeof(opts) / sizeof(opts[0]),
			.persistent = 1,
			.inbox_max = 50000};

	memset(&sm, 0, sizeof(sm));
	models_init(&mm);
	sm.mm = &mm;
	rc = svc_init(&sm.s, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	openblas_set_num_threads(1); /* one core per scorer: scale out, not up */

	rc = models_configure(&mm, (const char *const *)models.items, models.n,
			      models_dir, DEFAULT_RULE, err, sizeof(err));
	if (rc) {
		log_error("%s%s", rc == AM_ELOAD ? "cannot start: " : "", err);
		exit_code = rc == AM_ELOAD ? 1 : 2;
		goto out;
	}
	for (size_t i = 0; i < mm.n_slots; i++)
		report_model(&mm, i, MODELS_ADDED, mm.slots[i].label);

	o = (scorer_opts){.root = sm.s.root,
			  .self = mqtt_instance(sm.s.mqtt),
			  .group = group_name,
			  .max_age_s = max_age_s,
			  .max_gap_s = max_gap_s,
			  .batch_max = (size_t)batch_max,
			  .max_sensors = (size_t)max_sensors,
			  .max_payload = (size_t)max_payload,
			  .heartbeat_ms = beat_ms,
			  .member_timeout_ms = timeout_ms};
	sm.core =
	    scorer_new(&o, &mm, sm.s.metrics, publish_prediction, &sm, err, sizeof(err));
	if (!sm.core) {
		log_error("%s", err);
		goto out;
	}
	if (group_join(&sm.grp, sm.s.loop, sm.s.mqtt, sm.core, sm.s.root, o.self,
		       group_name, beat_ms, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	scorer_reload(sm.core, 0, report_model, &mm); /* --models-dir's files */
	log_info("scoring %s/+/raw as '%s' in group '%s'", sm.s.root, o.self, group_name);

	sm.check_timer = loop_timer_add(sm.s.loop, sm.check_ms, on_model_check, &sm);
	if (sm.check_timer < 0 || loop_timer_add(sm.s.loop, 1000, on_gauges, &sm) < 0 ||
	    loop_watch(sm.s.loop, mqtt_fd(sm.s.mqtt), LOOP_IN, on_inbox, &sm)) {
		log_error("out of memory");
		goto out;
	}
	loop_before_sleep(sm.s.loop, on_dry, &sm);
	loop_on_reload(sm.s.loop, on_sighup, &sm);
	if (loop_run(sm.s.loop)) {
		log_error("poll: %s", strerror(errno));
		goto out;
	}
	log_info("stopping");
	scorer_flush(sm.core);
	group_leave(&sm.grp); /* the others take over now */
	exit_code = 0;
out:
	scorer_free(sm.core);
	svc_cleanup(&sm.s);
	models_cleanup(&mm);
	return exit_code;
}
