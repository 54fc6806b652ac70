/* alerter — turns window predictions into machine states (OK / FAILURE /
 * STALE) on {root}/{sensor}/state, alerts on {root}/{sensor}/alert, and
 * notifies people (webhook, command hook). This file only maps options to
 * alerter_options; the loop is alerter.c, the states tracker.c on
 * common/state.h, the notifications notify.c. */
#include "alerter.h"
#include "log.h"
#include "svc.h"

#include <stdio.h>

static const char *SUMMARY =
    "alerter: machine states and alerts from the scorer's predictions\n"
    "usage: alerter [options]\n"
    "Subscribes {root}/+/prediction, {root}/+/ack and {root}/_svc/+/+/status;\n"
    "publishes {root}/{sensor}/state (retained) and {root}/{sensor}/alert.";

int main(int argc, char **argv)
{
	svc s;
	alerter_options o;
	alerter *a;
	char err[256];
	double window_s, enter, exit_rate, stale_s, min_span;
	long min_windows, max_sensors, wh_timeout, wh_attempts, wh_max_age_s, cmd_timeout,
	    rate_limit_s, queue, restore_ms;
	int command_shell;
	char *webhook = NULL, *command = NULL;
	int rc;
	const config_opt opts[] = {
	    {"window-s", CONFIG_DBL, &window_s, "10", 0.1, 3600,
	     "sliding window of the anomaly rate, seconds", 0, 0},
	    {"enter-rate", CONFIG_DBL, &enter, "0.5", 0.001, 1,
	     "anomaly rate at which a machine enters FAILURE", 0, 0},
	    {"exit-rate", CONFIG_DBL, &exit_rate, "0.2", 0, 0.999,
	     "anomaly rate at which it leaves FAILURE (< enter-rate)", 0, 0},
	    {"min-windows", CONFIG_INT, &min_windows, "10", 1, 4096,
	     "scored windows in the span needed before any verdict", 0, 0},
	    {"min-span", CONFIG_DBL, &min_span, "0.8", 0.01, 1,
	     "fraction of --window-s those windows must span before any verdict", 0, 0},
	    {"stale-s", CONFIG_DBL, &stale_s, "15", 0.1, 86400,
	     "seconds without predictions before a sensor is STALE", 0, 0},
	    {"max-sensors", CONFIG_INT, &max_sensors, "1024", 1, 65536,
	     "sensors tracked at most", 0, 0},
	    {"restore-ms", CONFIG_INT, &restore_ms, "1500", 0, 60000,
	     "ms to collect retained states at start-up before publishing", 0, 0},
	    {"webhook", CONFIG_STR, &webhook, NULL, 0, -1,
	     "URL to POST each alert's JSON to (http/https)", 0, 0},
	    {"webhook-timeout-ms", CONFIG_INT, &wh_timeout, "5000", 100, 600000,
	     "timeout of one webhook request", 0, 0},
	    {"webhook-attempts", CONFIG_INT, &wh_attempts, "10", 1, 1000,
	     "attempts per alert (exponential backoff 0.5 s .. 30 s between)", 0, 0},
	    {"webhook-max-age-s", CONFIG_INT, &wh_max_age_s, "600", 1, 86400,
	     "give up on an alert not delivered after this many seconds", 0, 0},
	    {"command", CONFIG_STR, &command, NULL, 0, -1,
	     "program run for each alert, alert JSON on its stdin", 0, 0},
	    {"command-shell", CONFIG_BOOL, &command_shell, "0", 0, -1,
	     "run --command through /bin/sh -c (allows arguments, pipes)", 0, 0},
	    {"command-timeout-ms", CONFIG_INT, &cmd_timeout, "10000", 10, 600000,
	     "kill the command (and its process group) after this long", 0, 0},
	    {"rate-limit-s", CONFIG_INT, &rate_limit_s, "60", 0, 86400,
	     "webhook/command at most once per sensor and transition in this "
	     "many seconds (MQTT alerts are never limited; 0: off)",
	     0, 0},
	    {"notify-queue", CONFIG_INT, &queue, "256", 1, 100000,
	     "alerts queued per notification sink; more are dropped and counted", 0, 0},
	};
	svc_params p = {.name = "alerter",
			.summary = SUMMARY,
			.opts = opts,
			.n_opts = sizeof(opts) / sizeof(opts[0])};

	rc = svc_init(&s, &p, argc, argv);
	if (rc)
		return svc_exit_code(rc);
	alerter_options_default(&o);
	o.tp.sp.window_s = window_s;
	o.tp.sp.enter_rate = enter;
	o.tp.sp.exit_rate = exit_rate;
	o.tp.sp.min_windows = (size_t)min_windows;
	o.tp.sp.min_span = min_span;
	o.tp.stale_s = stale_s;
	o.tp.max_sensors = (size_t)max_sensors;
	o.restore_ms = restore_ms;
	o.no.webhook_url = webhook;
	o.no.webhook_timeout_ms = wh_timeout;
	o.no.webhook_max_attempts = (int)wh_attempts;
	o.no.webhook_max_age_ms = wh_max_age_s * 1000;
	o.no.command = command;
	o.no.command_shell = command_shell;
	o.no.command_timeout_ms = cmd_timeout;
	o.no.rate_limit_s = rate_limit_s;
	o.no.queue_max = (size_t)queue;
	a = alerter_new(&s, &o, err, sizeof(err));
	if (!a) {
		log_error("%s", err);
		svc_cleanup(&s);
		return 2;
	}
	rc = alerter_run(a);
	alerter_free(a);
	svc_cleanup(&s);
	return rc ? 1 : 0;
}
