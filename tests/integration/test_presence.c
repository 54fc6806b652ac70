/* test_presence — common/presence.c on a client against a real mosquitto:
 * the retained online status (and offline after an orderly shutdown), the
 * last will when the client dies, and the periodic metrics message.
 *
 * The last-will test needs a client process to SIGKILL: this binary re-execs
 * itself with "--will-child URI" (main() handles that before cmocka), so the
 * child is a fresh process rather than a fork of one running Paho threads.
 * The observer is the harness's raw Paho subscriber, independent of the
 * module under test. */
#include "test_mqtt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- 2. retained status --------------------------------------------------- */

static cJSON *status_json(harness_sub *s, long i, int *retained)
{
	harness_msg got;
	cJSON *j;
	assert_int_equal(harness_sub_get(s, (size_t)i, &got), 0);
	j = cJSON_Parse(got.payload);
	*retained = got.retained;
	harness_msg_cleanup(&got);
	assert_non_null(j);
	return j;
}

static void test_status_retained(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/_svc/itstat/i1/status";
	mqtt_options o;
	mqtt_client *c;
	harness_sub *early, *late, *later;
	cJSON *j;
	int retained = 0;
	long i;

	opts_for(&o, f->broker.uri, "itstat", "i1");
	c = client_new(f, &o, f->m);
	assert_string_equal(mqtt_svc_prefix(c), "factory/_svc/itstat/i1");
	assert_string_equal(mqtt_root(c), "factory");
	assert_int_equal(mqtt_wait_connected(c, WAIT_MS), 0);
	assert_int_equal(mqtt_is_connected(c), 1);

	/* once anyone has seen it, the broker holds it... */
	early = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(early);
	assert_true(harness_sub_wait_topic(early, topic, "\"online\"", WAIT_MS) >= 0);
	/* ...so a subscriber arriving later gets it, flagged retained */
	late = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(late);
	i = harness_sub_wait_topic(late, topic, "\"online\"", WAIT_MS);
	assert_true(i >= 0);
	j = status_json(late, i, &retained);
	assert_int_equal(retained, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "v")->valuedouble, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "service")),
			    "itstat");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "instance")),
			    "i1");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")),
			    "online");
	assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "pid")),
			 (int)getpid());
	assert_true(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "t")) -
			 (double)time(NULL)) < 120);
	cJSON_Delete(j);

	/* an orderly shutdown replaces it with a retained "offline" */
	assert_int_equal(mqtt_shutdown(c, 5000), 0);
	assert_int_equal(mqtt_is_connected(c), 0);
	assert_true(harness_sub_wait_topic(late, topic, "\"offline\"", WAIT_MS) >= 0);
	later = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(later);
	i = harness_sub_wait_topic(later, topic, NULL, WAIT_MS);
	assert_true(i >= 0);
	j = status_json(later, i, &retained);
	assert_int_equal(retained, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")),
			    "offline");
	cJSON_Delete(j);
	assert_int_equal(mqtt_publish(c, "factory/x/raw", "{}", 2, 1, 0), AM_ESTOPPED);

	mqtt_free(c);
	harness_sub_free(early);
	harness_sub_free(late);
	harness_sub_free(later);
}

/* ---- 3. last will on SIGKILL ------------------------------------------------ */

/* The child: connect, then wait to be killed. */
static int will_child(const char *uri)
{
	mqtt_options o;
	char err[256];
	metrics *m = metrics_new();
	mqtt_client *c = NULL;
	presence *p;

	opts_for(&o, uri, "itwill", "child");
	p = presence_new(&o, m, err, sizeof(err));
	if (p)
		c = mqtt_new(&o, m, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "will child: %s\n", err);
		return 2;
	}
	if (mqtt_wait_connected(c, WAIT_MS) != 0) {
		fprintf(stderr, "will child: not connected\n");
		return 3;
	}
	for (;;)
		mqtt_poll(c, 1000, NULL, NULL);
}

static void test_last_will(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/_svc/itwill/child/status";
	char self[4096], logp[4096], pidtxt[64];
	const char *argv[4];
	harness_sub *sub, *late;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;
	int st, retained = 0;
	long i;
	cJSON *j;

	assert_true(n > 0);
	self[n] = '\0';
	sub = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(sub);
	argv[0] = self;
	argv[1] = "--will-child";
	argv[2] = f->broker.uri;
	argv[3] = NULL;
	pid = harness_spawn(argv, NULL, logp, sizeof(logp));
	assert_true(pid > 0);
	snprintf(pidtxt, sizeof(pidtxt), "\"pid\":%d,", (int)pid);
	i = harness_sub_wait_topic(sub, topic, pidtxt, WAIT_MS);
	if (i < 0)
		fprintf(stderr, "child never came online, see %s\n", logp);
	assert_true(i >= 0);

	st = harness_kill9(pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* the broker sees the socket close without DISCONNECT: the will */
	assert_true(harness_sub_wait_topic(sub, topic, "\"offline\"", WAIT_MS) >= 0);
	late = harness_sub_new(f->broker.uri, topic, NULL, 0);
	assert_non_null(late);
	i = harness_sub_wait_topic(late, topic, NULL, WAIT_MS);
	assert_true(i >= 0);
	j = status_json(late, i, &retained);
	assert_int_equal(retained, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")),
			    "offline");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "service")),
			    "itwill");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "instance")),
			    "child");
	cJSON_Delete(j);
	harness_sub_free(sub);
	harness_sub_free(late);
}

/* The client's loop for this test: the inbox and the presence's timer. */
static void poll_presence(fixture *f, mqtt_client *c)
{
	mqtt_poll(c, 50, NULL, NULL);
	presence_tick(f->pres[f->n_pres - 1]);
}

/* ---- 6. metrics ---------------------------------------------------------------- */

static void test_metrics_message(void **state)
{
	fixture *f = *state;
	const char *topic = "factory/_svc/itmet/m1/metrics";
	const char *keys[] = {"msgs_in",          "msgs_out",   "malformed_dropped",
			      "overflow_dropped", "inbox_full", "reconnects",
			      "connected",        "t",          "windows_scored"};
	mqtt_options o;
	mqtt_client *c;
	harness_sub *sub = harness_sub_new(f->broker.uri, topic, NULL, 0);
	long long deadline;
	harness_msg got;
	cJSON *j;
	long i = -1;

	assert_non_null(sub);
	metrics_set(metrics_get(f->m, "windows_scored"), 7); /* a service's own counter */
	opts_for(&o, f->broker.uri, "itmet", "m1");
	o.metrics_interval_ms = 200;
	c = client_new(f, &o, f->m);
	assert_int_equal(mqtt_wait_connected(c, WAIT_MS), 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(mqtt_publish(c, "factory/m6/raw", "{}", 2, 1, 0), 0);
	mqtt_count_malformed(c);
	mqtt_count_malformed(c);

	deadline = harness_now_ms() + WAIT_MS;
	while (harness_now_ms() < deadline &&
	       (i = harness_sub_wait_topic(sub, topic, "\"malformed_dropped\":2", 0)) < 0)
		poll_presence(f, c);
	assert_true(i >= 0);
	assert_int_equal(harness_sub_get(sub, (size_t)i, &got), 0);
	j = cJSON_Parse(got.payload);
	assert_non_null(j);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!cJSON_IsNumber(cJSON_GetObjectItem(j, keys[k])))
			fprintf(stderr, "missing %s in %s\n", keys[k], got.payload);
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, keys[k])));
	}
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "msgs_out")), 3);
	assert_int_equal(
	    cJSON_GetNumberValue(cJSON_GetObjectItem(j, "malformed_dropped")), 2);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "overflow_dropped")),
			 0);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "connected")), 1);
	assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "windows_scored")),
			 7);
	assert_true(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "t")) -
			 (double)time(NULL)) < 120);
	cJSON_Delete(j);
	harness_msg_cleanup(&got);

	/* periodic: another one follows */
	deadline = harness_now_ms() + WAIT_MS;
	while (harness_sub_count(sub) < 2 && harness_now_ms() < deadline)
		poll_presence(f, c);
	assert_true(harness_sub_count(sub) >= 2);

	mqtt_free(c);
	harness_sub_free(sub);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_status_retained, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_last_will, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_message, setup_plain, teardown),
	};
	if (argc == 3 && strcmp(argv[1], "--will-child") == 0)
		return will_child(argv[2]);
	return cmocka_run_group_tests_name("presence (integration)", tests, NULL, NULL);
}
