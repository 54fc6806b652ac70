/* test_scorer_group — scorer group membership by heartbeat (issue 13),
 * real bin/scorer processes against a real mosquitto on a free loopback
 * port, with a short heartbeat (250 ms) and deadline (1 s):
 *
 *  - a forged retained online + group for an instance that does not exist,
 *    there before the scorers start: within the deadline both real
 *    scorers count it a ghost (metric members_ghost, one log line naming
 *    it and the topics to clear), never a member; a second one forged
 *    while data flows changes nothing either: every window of every sensor
 *    is scored exactly once and no sensor is ever handed over;
 *  - a scorer SIGKILLed while the broker is down, the broker restarted
 *    from its persistence: the survivors drop it within the deadline of
 *    hearing themselves again and score every sensor, each window exactly
 *    once. Twice: the broker stopped (SIGTERM: mosquitto 2.0 publishes
 *    every connected client's will as it exits, so the dead one's status
 *    reads "offline"), and the broker crashed (SIGKILL: no will at all,
 *    its retained "online" and group survive in the persistence; only the
 *    deadline drops it, and it is reported as a ghost).
 *
 * The raw messages and the forgeries are published by this test through
 * common/mqtt; the observer is the harness's independent Paho subscriber. */
#include "../../services/scorer/partition.h"
#include "../harness/harness.h"
#include "../harness/mesh.h"
#include "clock.h"
#include "mqtt.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define WAIT_MS 30000
#define MODEL "*=models/lpms-linacc.aem"
#define BEAT "250"
#define DEADLINE_MS 1000
#define SENSORS 12
#define ROUNDS 30               /* raw messages of 10 samples per sensor */
#define PER ((ROUNDS - 20) + 1) /* windows of 200 samples, hop 10 */
#define MAX_SCORERS 3

typedef struct fixture {
	harness_broker broker;
	harness_pub pub;
	harness_sub *pred, *svc;
	pid_t scorer[MAX_SCORERS];
	char log[MAX_SCORERS][PATH_MAX];
	double base; /* data time of round 0 */
} fixture;

static int setup_with(void **state, const char *broker_conf)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f || harness_broker_start(&f->broker, broker_conf) != 0)
		return -1;
	if (harness_pub_open(&f->pub, f->broker.uri, "test-pub", NULL, 0))
		return -1;
	/* persistent: they ride out a broker restart */
	f->pred = harness_sub_new(f->broker.uri, "factory/+/prediction", "grp-pred", 1);
	f->svc = harness_sub_new(f->broker.uri, "factory/_svc/scorer/#", "grp-svc", 1);
	if (!f->pred || !f->svc)
		return -1;
	f->base = clock_now();
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_with(state, NULL); }
/* persistence, saved every second as well (what a broker crash leaves) */
static int setup_persistent(void **state)
{
	return setup_with(state, "persistence true\nautosave_interval 1\n");
}

static int teardown(void **state)
{
	fixture *f = *state;
	int rc = 0;
	if (!f)
		return 0;
	/* the scorers still running must stop cleanly (exit 0; under SAN=1
	 * also no leak or sanitizer report) */
	for (int i = 0; i < MAX_SCORERS; i++)
		if (f->scorer[i] > 0) {
			int st = harness_stop(f->scorer[i], SIGTERM, 10000);
			if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "scorer %d: status %d, log %s\n", i, st,
					f->log[i]);
				rc = -1;
			}
		}
	harness_sub_free(f->pred);
	harness_sub_free(f->svc);
	harness_pub_close(&f->pub, 5000);
	harness_broker_stop(&f->broker);
	free(f);
	return rc;
}

static void start_scorer(fixture *f, int k, const char *inst, const char *group)
{
	char topic[128];
	const char *argv[] = {harness_bin("scorer"),
			      "--broker",
			      f->broker.uri,
			      "--instance",
			      inst,
			      "--group",
			      group,
			      "--heartbeat-ms",
			      BEAT,
			      "--member-timeout-ms",
			      "1000",
			      "--metrics-interval",
			      "200",
			      "--max-age-s",
			      "0",
			      "--model",
			      MODEL,
			      NULL};
	f->scorer[k] = harness_spawn(argv, NULL, f->log[k], sizeof(f->log[k]));
	assert_true(f->scorer[k] > 0);
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/metrics", inst);
	assert_true(harness_sub_wait_topic(f->svc, topic, NULL, WAIT_MS) >= 0);
}

/* The latest value of metric name from scorer inst, -1 if none yet. */
static long long metric(fixture *f, const char *inst, const char *name)
{
	char topic[128];
	long long v = -1;
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/metrics", inst);
	harness_sub_wait_metric(f->svc, topic, name, LLONG_MIN, 0, &v);
	return v;
}

/* The largest value of metric name in every metrics message of inst. */
static long long metric_max(fixture *f, const char *inst, const char *name)
{
	char topic[128];
	long long best = -1;
	size_t n = harness_sub_count(f->svc);
	snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/metrics", inst);
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		cJSON *j;
		const cJSON *v;
		assert_int_equal(harness_sub_get(f->svc, i, &m), 0);
		j = strcmp(m.topic, topic) == 0 ? cJSON_ParseWithLength(m.payload, m.len)
						: NULL;
		v = j ? cJSON_GetObjectItemCaseSensitive(j, name) : NULL;
		if (cJSON_IsNumber(v) && (long long)v->valuedouble > best)
			best = (long long)v->valuedouble;
		cJSON_Delete(j);
		harness_msg_cleanup(&m);
	}
	return best;
}

/* Wait until every scorer in insts reports members and members_ghost as
 * given. Returns the milliseconds it took, or -1 on timeout. */
static long long wait_view(fixture *f, const char *const *insts, size_t n,
			   long long members, long long ghosts)
{
	long long t0 = harness_now_ms();
	for (;;) {
		size_t ok = 0;
		for (size_t i = 0; i < n; i++)
			ok += metric(f, insts[i], "members") == members &&
			      metric(f, insts[i], "members_ghost") == ghosts;
		if (ok == n)
			return harness_now_ms() - t0;
		if (harness_now_ms() - t0 > WAIT_MS) {
			for (size_t i = 0; i < n; i++)
				fprintf(stderr, "%s: members %lld, ghosts %lld\n",
					insts[i], metric(f, insts[i], "members"),
					metric(f, insts[i], "members_ghost"));
			return -1;
		}
		harness_nap_ms(20);
	}
}

/* How many lines of the file at path contain text. */
static int lines_with(const char *path, const char *text)
{
	char line[4096];
	int count = 0;
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		count += strstr(line, text) != NULL;
	fclose(fp);
	return count;
}

/* Wait until scorer k's log has a line with text, then check it has
 * exactly one (logged once). */
static void wait_log_once(fixture *f, int k, const char *text)
{
	long long deadline = harness_now_ms() + WAIT_MS;
	int count;
	while ((count = lines_with(f->log[k], text)) == 0 && harness_now_ms() < deadline)
		harness_nap_ms(20);
	if (count != 1)
		fail_msg("'%s' %d times in %s", text, count, f->log[k]);
}

/* Publish retained on topic (the forger: any client the broker lets
 * write there). */
static void forge(fixture *f, const char *topic, const char *payload)
{
	assert_int_equal(mqtt_publish(f->pub.c, topic, payload, strlen(payload), 1, 1),
			 0);
	assert_true(harness_sub_wait_topic(f->svc, topic, payload, WAIT_MS) >= 0);
}

/* Round r of sensor s: 10 samples of small sines, data time from f->base. */
static void publish_round(fixture *f, size_t s, unsigned r)
{
	char id[16], payload[2048];
	int n;
	snprintf(id, sizeof(id), "m%zu", s);
	n = snprintf(
	    payload, sizeof(payload),
	    "{\"v\":1,\"sensor\":\"%s\",\"run\":\"r\",\"seq\":%u,\"t0\":%.3f,"
	    "\"rate_hz\":50,\"channels\":[\"linacc_x\",\"linacc_y\",\"linacc_z\"],"
	    "\"samples\":[",
	    id, r, f->base + r * 0.2);
	for (unsigned k = 0; k < 10; k++) {
		double x = 0.2 * (r * 10 + k) + (double)s;
		n += snprintf(payload + n, sizeof(payload) - (size_t)n,
			      "%s[%.5f,%.5f,%.5f]", k ? "," : "", 0.005 * sin(x),
			      0.005 * sin(x + 1), 0.005 * sin(x + 2));
	}
	n += snprintf(payload + n, sizeof(payload) - (size_t)n, "]}");
	assert_int_equal(
	    mqtt_publish_sensor(f->pub.c, id, "raw", payload, (size_t)n, 1, 0), 0);
	clock_sleep_ms(1); /* a source's pace (see test_scorer.c) */
}

/* Every window of every sensor arrives, each exactly once, and the
 * scorers insts[0..n) scored that many windows in all (a window scored
 * twice would push their sum over). */
static void check_exactly_once(fixture *f, const char *const *insts, size_t n_insts)
{
	size_t count[SENSORS] = {0}, n;
	long long sum = 0, deadline = harness_now_ms() + WAIT_MS;

	assert_int_equal(harness_sub_wait(f->pred, NULL, NULL, SENSORS * PER, WAIT_MS),
			 0);
	do {
		sum = 0;
		for (size_t i = 0; i < n_insts; i++)
			sum += metric(f, insts[i], "windows_scored");
		if (sum >= SENSORS * PER)
			break;
		harness_nap_ms(20);
	} while (harness_now_ms() < deadline);
	assert_int_equal(sum, SENSORS * PER);
	n = harness_sub_count(f->pred);
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		unsigned s;
		assert_int_equal(harness_sub_get(f->pred, i, &m), 0);
		assert_int_equal(sscanf(m.topic, "factory/m%u/prediction", &s), 1);
		assert_true(s < SENSORS);
		count[s]++;
		harness_msg_cleanup(&m);
	}
	for (size_t s = 0; s < SENSORS; s++)
		if (count[s] != PER)
			fail_msg("sensor m%zu: %zu predictions, want %d", s, count[s],
				 PER);
	assert_int_equal(n, SENSORS * PER);
}

/* How many of the sensors member would own in members[0..n). */
static size_t share_of(const char *const *members, size_t n, size_t member)
{
	size_t k = 0;
	char id[16];
	for (size_t s = 0; s < SENSORS; s++) {
		snprintf(id, sizeof(id), "m%zu", s);
		k += part_owner(members, n, id) == (int)member;
	}
	return k;
}

/* ---- a forged member -------------------------------------------------------- */

static void test_forged_member_is_a_ghost(void **state)
{
	fixture *f = *state;
	const char *const both[] = {"sa", "sb"};
	const char *clear =
	    "clear it: mosquitto_pub -r -n -t 'factory/_svc/scorer/evil/group'; "
	    "mosquitto_pub -r -n -t 'factory/_svc/scorer/evil/status'";
	const char *const with_ghost[] = {"sa", "sb", "evil"};
	long long took;

	/* counted, the ghost would take sensors from the real ones */
	assert_true(share_of(with_ghost, 3, 2) > 0);
	/* what the issue did on a running mesh, here before the scorers start */
	forge(f, "factory/_svc/scorer/evil/status", "{\"v\":1,\"state\":\"online\"}");
	forge(f, "factory/_svc/scorer/evil/group", "{\"v\":1,\"group\":\"g1\"}");
	start_scorer(f, 0, "sa", "g1");
	start_scorer(f, 1, "sb", "g1");
	/* the real ones see each other; the forged one is a ghost on both */
	took = wait_view(f, both, 2, 2, 1);
	assert_true(took >= 0);
	wait_log_once(f, 0, "member 'evil' has not heartbeated for 1000 ms");
	wait_log_once(f, 1, "member 'evil' has not heartbeated for 1000 ms");
	wait_log_once(f, 0, clear);
	wait_log_once(f, 1, clear);

	/* data; a second forgery, live this time, in the middle of it */
	for (unsigned r = 0; r < ROUNDS; r++) {
		if (r == 10) {
			forge(f, "factory/_svc/scorer/evil2/status",
			      "{\"v\":1,\"state\":\"online\"}");
			forge(f, "factory/_svc/scorer/evil2/group",
			      "{\"v\":1,\"group\":\"g1\",\"t\":1}");
		}
		for (size_t s = 0; s < SENSORS; s++)
			publish_round(f, s, r);
	}
	check_exactly_once(f, both, 2);
	assert_true(wait_view(f, both, 2, 2, 2) >= 0);
	wait_log_once(f, 0, "member 'evil2' has not heartbeated");
	/* never counted, nothing ever handed over, both took a share */
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(metric_max(f, both[i], "members"), 2);
		assert_int_equal(metric_max(f, both[i], "handovers_out"), 0);
		assert_int_equal(metric_max(f, both[i], "members_expired"), 0);
		assert_true(metric_max(f, both[i], "sensors_owned") > 0);
	}
}

/* ---- a scorer dies while the broker is down ---------------------------------- */

/* Three scorers; the broker goes away (crash: SIGKILL, no will published,
 * the persistence as last autosaved; else SIGTERM, on which mosquitto
 * 2.0 publishes every connected client's will before it exits); sc is
 * SIGKILLed while it is away; the broker comes back from its persistence.
 * The survivors must drop sc within the deadline and score every sensor. */
static void crash_while_broker_away(fixture *f, int broker_crashes)
{
	const char *const all[] = {"sa", "sb", "sc"}, *const survivors[] = {"sa", "sb"};
	long long t_up, t_conn, took;
	harness_sub *retained;

	assert_true(share_of(all, 3, 2) > 0); /* sc has sensors to lose */
	for (int k = 0; k < 3; k++)
		start_scorer(f, k, all[k], "g2");
	assert_true(wait_view(f, all, 3, 3, 0) >= 0);

	if (broker_crashes) {
		harness_nap_ms(1500); /* > autosave_interval: sc's "online" is saved */
		assert_true(WIFSIGNALED(harness_kill9(f->broker.pid)));
		f->broker.pid = 0;
	} else {
		assert_int_equal(harness_broker_down(&f->broker), 0);
	}
	assert_true(WIFSIGNALED(harness_kill9(f->scorer[2])));
	f->scorer[2] = 0;
	assert_int_equal(harness_broker_up(&f->broker), 0);
	t_up = harness_now_ms();
	/* its retained group came back from the persistence, and after a
	 * crash its "online" too: nothing but the deadline can drop it */
	retained = harness_sub_new(f->broker.uri, "factory/_svc/scorer/sc/+", NULL, 0);
	assert_non_null(retained);
	assert_true(harness_sub_wait_topic(retained, "factory/_svc/scorer/sc/group", "g2",
					   WAIT_MS) >= 0);
	assert_true(harness_sub_wait_topic(retained, "factory/_svc/scorer/sc/status",
					   broker_crashes ? "online" : "offline",
					   WAIT_MS) >= 0);
	harness_sub_free(retained);
	/* the survivors are back when their metrics are */
	harness_sub_clear(f->svc);
	for (int k = 0; k < 2; k++) {
		char topic[128];
		snprintf(topic, sizeof(topic), "factory/_svc/scorer/%s/metrics", all[k]);
		assert_true(harness_sub_wait_topic(f->svc, topic, NULL, WAIT_MS) >= 0);
	}
	t_conn = harness_now_ms();
	took = wait_view(f, survivors, 2, 2, broker_crashes ? 1 : 0);
	fprintf(stderr,
		"survivors reconnected %lld ms after the broker came back, "
		"their view was right %lld ms later (deadline %d ms)\n",
		t_conn - t_up, took, DEADLINE_MS);
	assert_true(took >= 0);
	/* the deadline, a heartbeat and a metrics interval, plus slack for a
	 * loaded machine */
	assert_true(took <= DEADLINE_MS + 250 + 200 + 1000);
	if (broker_crashes) {
		wait_log_once(f, 0, "member 'sc' has not heartbeated");
		wait_log_once(f, 1, "member 'sc' has not heartbeated");
		assert_int_equal(lines_with(f->log[0], "mosquitto_pub -r -n -t "
						       "'factory/_svc/scorer/sc/status'"),
				 1);
		assert_true(metric(f, "sa", "members_expired") >= 1);
		assert_true(metric(f, "sb", "members_expired") >= 1);
	}

	/* its sensors are scored by the survivors, every window once */
	for (unsigned r = 0; r < ROUNDS; r++)
		for (size_t s = 0; s < SENSORS; s++)
			publish_round(f, s, r);
	check_exactly_once(f, survivors, 2);
	assert_true(metric(f, "sa", "sensors_owned") > 0);
	assert_true(metric(f, "sb", "sensors_owned") > 0);
}

static void test_crash_while_broker_restarts(void **state)
{
	crash_while_broker_away(*state, 0);
}

static void test_crash_while_broker_crashed(void **state)
{
	crash_while_broker_away(*state, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_forged_member_is_a_ghost, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_crash_while_broker_restarts,
					    setup_persistent, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_while_broker_crashed,
					    setup_persistent, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
