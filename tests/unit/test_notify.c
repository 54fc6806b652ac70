/* Unit tests for services/alerter/notify: webhook delivery to a real HTTP
 * server on a loopback port in this process (delivered, retried while the
 * server is down and then delivered, 5xx retried, 4xx final, bounded
 * attempts, bounded queue with counted drops and a prompt shutdown), the
 * command hook (JSON on stdin, exit status, timeout kills and reaps, missing
 * program) and per-(sensor, transition) rate limiting. Waits poll the
 * metrics with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/alerter/notify.h"
#include "../harness/harness.h"
#include "../integration/test_alerter_httpd.h"
#include "clock.h"
#include "metrics.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *ALERT = "{\"v\":1,\"id\":\"m1-1764151190-1\",\"sensor\":\"m1\","
			   "\"t\":1764151190.0,\"from\":\"OK\",\"to\":\"FAILURE\","
			   "\"severity\":\"critical\",\"anomaly_rate\":0.62}";

/* Value of the counter name once it reaches at least want, or its value at
 * the deadline (ms) if it never does. */
static int64_t wait_metric(metrics *m, const char *name, int64_t want, int64_t ms)
{
	metrics_slot *s = metrics_get(m, name);
	int64_t end = clock_mono_ms() + ms;
	while (metrics_read(s) < want && clock_mono_ms() < end)
		clock_sleep_ms(5);
	return metrics_read(s);
}

static int64_t metric(metrics *m, const char *name)
{
	return metrics_read(metrics_get(m, name));
}

static notify *make(metrics *m, const char *url, const char *cmd, int shell)
{
	notify_options o;
	char err[160];
	notify *n;

	notify_options_default(&o);
	o.webhook_url = url;
	o.command = cmd;
	o.command_shell = shell;
	o.webhook_backoff_min_ms = 20;
	o.webhook_backoff_max_ms = 100;
	o.webhook_timeout_ms = 2000;
	o.command_timeout_ms = 3000;
	n = notify_new(&o, m, err, sizeof(err));
	assert_non_null(n);
	return n;
}

static void test_webhook_delivered(void **state)
{
	httpd h;
	char url[64];
	metrics *m = metrics_new();
	notify *n;
	(void)state;

	assert_int_equal(httpd_start(&h, 0), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", h.port);
	n = make(m, url, NULL, 0);
	assert_true(notify_has_webhook(n));
	assert_false(notify_has_command(n));
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0),
			 NOTIFY_QUEUED);
	assert_int_equal(wait_metric(m, "webhook_ok", 1, 5000), 1);
	assert_int_equal(httpd_ok(&h), 1);
	assert_string_equal(h.bodies[0], ALERT);
	assert_true(h.saw_post_json);
	assert_int_equal(metric(m, "webhook_retried"), 0);
	assert_int_equal(metric(m, "webhook_failed"), 0);
	notify_free(n);
	httpd_stop(&h);
	metrics_free(m);
}

/* Connection refused for a while, then the server comes up on that port. */
static void test_webhook_retried_until_server_up(void **state)
{
	httpd h;
	char url[64];
	metrics *m = metrics_new();
	int port = httpd_pick_port();
	notify *n;
	(void)state;

	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	n = make(m, url, NULL, 0);
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0),
			 NOTIFY_QUEUED);
	assert_true(wait_metric(m, "webhook_retried", 2, 5000) >= 2);
	assert_int_equal(metric(m, "webhook_ok"), 0);
	assert_int_equal(notify_pending(n), 1);
	assert_int_equal(httpd_start(&h, port), 0);
	assert_int_equal(wait_metric(m, "webhook_ok", 1, 5000), 1);
	assert_string_equal(h.bodies[0], ALERT);
	assert_int_equal(metric(m, "webhook_failed"), 0);
	notify_free(n);
	httpd_stop(&h);
	metrics_free(m);
}

static void test_webhook_5xx_retried_4xx_final(void **state)
{
	httpd h;
	char url[64];
	metrics *m = metrics_new();
	notify *n;
	(void)state;

	assert_int_equal(httpd_start(&h, 0), 0);
	h.fail_left = 2;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", h.port);
	n = make(m, url, NULL, 0);
	notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "webhook_ok", 1, 5000), 1);
	assert_int_equal(metric(m, "webhook_retried"), 2);
	assert_int_equal(h.n_requests, 3);

	pthread_mutex_lock(&h.lock);
	h.status = 400;
	pthread_mutex_unlock(&h.lock);
	notify_alert(n, "m1", "FAILURE>OK", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "webhook_failed", 1, 5000), 1);
	assert_int_equal(metric(m, "webhook_retried"), 2); /* 400 is not retried */

	/* 429 and 408 are retried, as 5xx are (the README's list) */
	pthread_mutex_lock(&h.lock);
	h.status = 200;
	h.fail_status = 429;
	h.fail_left = 1;
	pthread_mutex_unlock(&h.lock);
	notify_alert(n, "m2", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "webhook_ok", 2, 5000), 2);
	pthread_mutex_lock(&h.lock);
	h.fail_status = 408;
	h.fail_left = 1;
	pthread_mutex_unlock(&h.lock);
	notify_alert(n, "m3", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "webhook_ok", 3, 5000), 3);
	assert_int_equal(metric(m, "webhook_retried"), 4);
	assert_int_equal(h.n_requests, 8);
	notify_free(n);
	httpd_stop(&h);
	metrics_free(m);
}

static void test_webhook_gives_up_after_max_attempts(void **state)
{
	notify_options o;
	char url[64], err[160];
	metrics *m = metrics_new();
	notify *n;
	(void)state;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", httpd_pick_port());
	notify_options_default(&o);
	o.webhook_url = url;
	o.webhook_max_attempts = 3;
	o.webhook_backoff_min_ms = 5;
	n = notify_new(&o, m, err, sizeof(err));
	assert_non_null(n);
	notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "webhook_failed", 1, 5000), 1);
	assert_int_equal(metric(m, "webhook_retried"), 2);
	assert_int_equal(metric(m, "webhook_ok"), 0);
	notify_free(n);
	metrics_free(m);
}

/* While one alert sits in a long backoff, the queue fills: the next alert
 * is dropped and counted, notify_alert returns at once, and notify_free
 * interrupts the backoff instead of waiting for it. */
static void test_webhook_queue_bounded_and_prompt_shutdown(void **state)
{
	notify_options o;
	char url[64], err[160];
	metrics *m = metrics_new();
	notify *n;
	int64_t t0;
	(void)state;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", httpd_pick_port());
	notify_options_default(&o);
	o.webhook_url = url;
	o.queue_max = 2;
	o.webhook_backoff_min_ms = 60000;
	n = notify_new(&o, m, err, sizeof(err));
	assert_non_null(n);
	notify_alert(n, "m1", "a", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "webhook_retried", 1, 5000), 1);
	t0 = clock_mono_ms();
	assert_int_equal(notify_alert(n, "m1", "b", ALERT, strlen(ALERT), 0),
			 NOTIFY_QUEUED);
	assert_int_equal(notify_alert(n, "m1", "c", ALERT, strlen(ALERT), 0),
			 NOTIFY_QUEUED);
	assert_int_equal(notify_alert(n, "m1", "d", ALERT, strlen(ALERT), 0),
			 NOTIFY_DROPPED);
	assert_true(clock_mono_ms() - t0 < 500);
	assert_int_equal(metric(m, "webhook_dropped"), 1);
	assert_int_equal(notify_pending(n), 3);
	t0 = clock_mono_ms();
	notify_free(n);
	assert_true(clock_mono_ms() - t0 < 2000);
	assert_int_equal(metric(m, "webhook_dropped"), 3); /* + the 2 still queued */
	assert_int_equal(metric(m, "webhook_failed"), 1);  /* the one in backoff */
	metrics_free(m);
}

static void test_command_gets_json_on_stdin(void **state)
{
	char dir[200], cmd[320], path[256], got[1024];
	metrics *m = metrics_new();
	notify *n;
	FILE *f;
	size_t k;
	(void)state;

	assert_int_equal(harness_tmpdir_new("test_notify", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/out.json", dir);
	snprintf(cmd, sizeof(cmd), "cat > %s", path);
	n = make(m, NULL, cmd, 1);
	assert_true(notify_has_command(n));
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0),
			 NOTIFY_QUEUED);
	assert_int_equal(wait_metric(m, "command_ok", 1, 5000), 1);
	f = fopen(path, "r");
	assert_non_null(f);
	k = fread(got, 1, sizeof(got) - 1, f);
	got[k] = '\0';
	fclose(f);
	assert_string_equal(got, ALERT);
	harness_rm_tree(dir);

	/* a failing program is counted as failed */
	notify_free(n);
	n = make(m, NULL, "exit 3", 1);
	notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "command_failed", 1, 5000), 1);
	notify_free(n);

	/* no shell: the program is run directly; a missing one fails */
	n = make(m, NULL, "/nonexistent/anomesh-hook", 0);
	notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "command_failed", 2, 5000), 2);
	assert_int_equal(metric(m, "command_ok"), 1);
	notify_free(n);
	metrics_free(m);
}

/* A program that outlives its timeout is killed and reaped. */
static void test_command_timeout_kills(void **state)
{
	char dir[200], cmd[320], path[256];
	notify_options o;
	metrics *m = metrics_new();
	char err[160];
	notify *n;
	FILE *f;
	long pid = 0;
	int64_t t0;
	(void)state;

	assert_int_equal(harness_tmpdir_new("test_notify", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/pid", dir);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s; exec sleep 30", path);
	notify_options_default(&o);
	o.command = cmd;
	o.command_shell = 1;
	o.command_timeout_ms = 300;
	n = notify_new(&o, m, err, sizeof(err));
	assert_non_null(n);
	t0 = clock_mono_ms();
	notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0);
	assert_int_equal(wait_metric(m, "command_timeout", 1, 5000), 1);
	assert_true(clock_mono_ms() - t0 < 3000);
	assert_int_equal(wait_metric(m, "command_failed", 1, 5000), 1);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, 0), -1); /* gone and reaped */
	notify_free(n);
	harness_rm_tree(dir);
	metrics_free(m);
}

static void test_rate_limit_per_sensor_and_transition(void **state)
{
	notify_options o;
	metrics *m = metrics_new();
	char err[160];
	notify *n;
	(void)state;

	notify_options_default(&o);
	o.command = "true";
	o.rate_limit_s = 60;
	n = notify_new(&o, m, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 1000),
			 NOTIFY_QUEUED);
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 30000),
			 NOTIFY_LIMITED);
	assert_int_equal(notify_alert(n, "m1", "FAILURE>OK", ALERT, strlen(ALERT), 30000),
			 NOTIFY_QUEUED);
	assert_int_equal(notify_alert(n, "m2", "OK>FAILURE", ALERT, strlen(ALERT), 30000),
			 NOTIFY_QUEUED);
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 61000),
			 NOTIFY_QUEUED);
	assert_int_equal(metric(m, "notify_rate_limited"), 1);
	assert_int_equal(wait_metric(m, "command_ok", 4, 5000), 4);
	notify_free(n);
	metrics_free(m);
}

static void test_invalid_and_noop(void **state)
{
	notify_options o;
	metrics *m = metrics_new();
	char err[160];
	notify *n;
	(void)state;

	notify_options_default(&o);
	o.queue_max = 0;
	assert_null(notify_new(&o, m, err, sizeof(err)));
	notify_options_default(&o);
	n = notify_new(&o, m, err, sizeof(err)); /* nothing configured */
	assert_non_null(n);
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, strlen(ALERT), 0),
			 NOTIFY_QUEUED);
	assert_int_equal(notify_alert(n, "m1", "OK>FAILURE", ALERT, 0, 0), AM_EINVAL);
	assert_int_equal(notify_pending(n), 0);
	notify_free(n);
	notify_free(NULL);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webhook_delivered),
	    cmocka_unit_test(test_webhook_retried_until_server_up),
	    cmocka_unit_test(test_webhook_5xx_retried_4xx_final),
	    cmocka_unit_test(test_webhook_gives_up_after_max_attempts),
	    cmocka_unit_test(test_webhook_queue_bounded_and_prompt_shutdown),
	    cmocka_unit_test(test_command_gets_json_on_stdin),
	    cmocka_unit_test(test_command_timeout_kills),
	    cmocka_unit_test(test_rate_limit_per_sensor_and_transition),
	    cmocka_unit_test(test_invalid_and_noop),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
