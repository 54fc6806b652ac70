/* test_mqtt — common/mqtt.c against a real mosquitto (one per test, on a
 * free loopback port): contract payloads round-trip byte for byte,
 * persistent sessions, offline buffering with counted overflow across a
 * broker restart, a broker that is down at start, the bounded inbox losing
 * nothing, Nagle's algorithm off on the client's socket, and the options
 * refused. Outbound flow control is
 * test_mqtt_flow.c's, the service presence (status, last will, metrics)
 * test_presence.c's; the shared set-up is test_mqtt.h. */
#include "test_mqtt.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

/* ---- 1. contract messages round-trip --------------------------------------- */

static void test_roundtrip(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	harness_sub *sub = harness_sub_new(f->broker.uri, "factory/#", NULL, 0);
	mqtt_client *pub, *cons;
	metrics *m2 = metrics_new();
	collected col = {0};
	char raw[1024];
	const char *pred =
	    "{\"v\":1,\"sensor\":\"arm1-lpms\",\"t\":1764151204.120,"
	    "\"t_start\":1764151200.140,\"n\":200,\"score\":0.0123,"
	    "\"threshold\":0.0158,\"anomaly\":false,\"model\":\"lpms-linacc@3\","
	    "\"latency_ms\":0.41,\"note\":\"caf\xc3\xa9 \\u00b0C\"}";
	harness_msg got;
	long i;
	int rawlen = raw_payload(raw, sizeof(raw), "arm1-lpms", 1042);

	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p1");
	pub = client_new(f, &o, f->m);
	opts_for(&o, f->broker.uri, "itcons", "c1");
	cons = client_new(f, &o, m2);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);
	assert_int_equal(mqtt_wait_connected(cons, WAIT_MS), 0);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/prediction", 1), 0);
	sync_subscription(cons, pub, "factory/probe/prediction", &col);

	/* our client -> independent subscriber */
	assert_int_equal(
	    mqtt_publish_sensor(pub, "arm1-lpms", "raw", raw, (size_t)rawlen, 1, 0), 0);
	i = harness_sub_wait_topic(sub, "factory/arm1-lpms/raw", NULL, WAIT_MS);
	assert_true(i >= 0);
	assert_int_equal(harness_sub_get(sub, (size_t)i, &got), 0);
	assert_int_equal(got.len, (size_t)rawlen);
	assert_memory_equal(got.payload, raw, (size_t)rawlen);
	assert_int_equal(got.qos, 1);
	harness_msg_cleanup(&got);

	/* our client -> our client, through the inbox */
	assert_int_equal(
	    mqtt_publish_sensor(pub, "arm1-lpms", "prediction", pred, strlen(pred), 1, 0),
	    0);
	i = pump_until_topic(cons, &col, "factory/arm1-lpms/prediction", WAIT_MS);
	assert_true(i >= 0);
	assert_int_equal(col.v[i].len, strlen(pred));
	assert_memory_equal(col.v[i].payload, pred, strlen(pred));
	assert_int_equal(col.v[i].qos, 1);
	assert_int_equal(col.v[i].retained, 0);
	assert_true(metric(m2, "msgs_in") >= 2);
	assert_true(metric(f->m, "msgs_out") >= 2);

	/* refused at the edge: not a contract sensor id, wildcards */
	assert_int_equal(mqtt_publish_sensor(pub, "bad/sensor", "raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish_sensor(pub, "a+b", "raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/#", "{}", 2, 1, 0), AM_EINVAL);
	/* not UTF-8 (a queued message could not report Paho's refusal later):
	 * a stray byte, an overlong '/', a surrogate */
	assert_int_equal(mqtt_publish(pub, "factory/\xff/raw", "{}", 2, 1, 0), AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/\xc0\xaf/raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/\xed\xa0\x80/raw", "{}", 2, 1, 0),
			 AM_EINVAL);
	assert_int_equal(mqtt_publish(pub, "factory/caf\xc3\xa9/raw", "{}", 2, 1, 0), 0);
	/* each refusal counted once, by the module: the caller need not */
	assert_int_equal(metric(f->m, "publish_failed"), 6);
	assert_int_equal(metric(f->m, "overflow_dropped"), 0);

	mqtt_free(cons);
	mqtt_free(pub);
	collected_free(&col);
	harness_sub_free(sub);
	metrics_free(m2);
}

/* ---- 4. persistent session ------------------------------------------------ */

#define N_PERSIST 200

static void test_persistent_session(void **state)
{
	fixture *f = *state;
	mqtt_options o, oc;
	mqtt_client *pub, *cons;
	metrics *mc = metrics_new();
	collected col = {0};
	char raw[1024];
	unsigned char seen[N_PERSIST] = {0};
	size_t distinct = 0;
	long long deadline;

	opts_for(&o, f->broker.uri, "itpub", "p4");
	pub = client_new(f, &o, f->m);
	opts_for(&oc, f->broker.uri, "itcons", "c4");
	oc.persistent = 1;
	oc.client_id = "it-archiver-c4";
	cons = client_new(f, &oc, mc);
	assert_int_equal(mqtt_wait_connected(cons, WAIT_MS), 0);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/raw", 1), 0);
	sync_subscription(cons, pub, "factory/probe/raw", &col);
	mqtt_free(cons); /* clean disconnect: the session stays on the broker */
	collected_free(&col);

	for (long s = 0; s < N_PERSIST; s++) {
		int len = raw_payload(raw, sizeof(raw), "s4", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s4", "raw", raw, (size_t)len, 1, 0), 0);
	}
	/* every QoS 1 publish acknowledged by the broker, hence queued there */
	assert_int_equal(mqtt_shutdown(pub, WAIT_MS), 0);

	cons = client_new(f, &oc, mc);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/raw", 1), 0);
	deadline = harness_now_ms() + WAIT_MS;
	while (distinct < N_PERSIST && harness_now_ms() < deadline) {
		size_t before = col.n;
		mqtt_poll(cons, 50, collect, &col);
		for (size_t i = before; i < col.n; i++) {
			long s = seq_of(col.v[i].payload);
			if (strcmp(col.v[i].topic, "factory/s4/raw") != 0)
				continue;
			assert_true(s >= 0 && s < N_PERSIST);
			if (!seen[s]++)
				distinct++;
		}
	}
	assert_int_equal(distinct, N_PERSIST);

	mqtt_free(cons);
	mqtt_free(pub);
	collected_free(&col);
	metrics_free(mc);
}

/* ---- 5. offline buffer across a broker restart ------------------------------ */

typedef struct seq_query {
	const char *topic;
	long n;
} seq_query;

/* all of seq 0..n-1 present on topic, nothing else on it */
static int seqs_complete(const harness_msg *msgs, size_t n, void *ud)
{
	seq_query *q = ud;
	unsigned char seen[256] = {0};
	long distinct = 0;
	for (size_t i = 0; i < n; i++) {
		long s;
		if (strcmp(msgs[i].topic, q->topic) != 0)
			continue;
		s = seq_of(msgs[i].payload);
		if (s < 0 || s >= q->n || s >= 256)
			return 0; /* unexpected message: never satisfied */
		if (!seen[s]++)
			distinct++;
	}
	return distinct == q->n;
}

static void test_buffer_across_restart(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub = harness_sub_new(f->broker.uri, "factory/#", "it-sub5", 1);
	seq_query q = {"factory/s5/raw", 50};
	char raw[1024];
	int ok = 0, over = 0;
	long long deadline;

	assert_non_null(sub);
	opts_for(&o, f->broker.uri, "itpub", "p5");
	o.max_buffered = 50;
	pub = client_new(f, &o, f->m);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS), 0);
	assert_true(harness_sub_wait_topic(sub, "factory/_svc/itpub/p5/status", "online",
					   WAIT_MS) >= 0);

	assert_int_equal(harness_broker_down(&f->broker), 0);
	deadline = harness_now_ms() + WAIT_MS;
	while (mqtt_is_connected(pub) && harness_now_ms() < deadline)
		harness_nap_ms(10);
	assert_int_equal(mqtt_is_connected(pub), 0);
	assert_int_equal(metric(f->m, "connected"), 0);

	for (long s = 0; s < 80; s++) {
		int len = raw_payload(raw, sizeof(raw), "s5", s);
		int rc = mqtt_publish_sensor(pub, "s5", "raw", raw, (size_t)len, 1, 0);
		if (rc == 0)
			ok++;
		else if (rc == AM_EOVERFLOW)
			over++;
	}
	assert_int_equal(ok, 50);
	assert_int_equal(over, 30);
	assert_int_equal(metric(f->m, "overflow_dropped"), 30);
	assert_int_equal(metric(f->m, "publish_failed"), 0); /* not twice */
	harness_sub_clear(sub);

	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS * 2), 0);
	assert_int_equal(metric(f->m, "reconnects"), 1);
	assert_int_equal(metric(f->m, "connected"), 1);
	/* the first 50, and only those, arrive (sub's session survived too) */
	assert_int_equal(harness_sub_wait(sub, seqs_complete, &q, 0, WAIT_MS * 2), 0);
	/* and the client announced itself again after the reconnect */
	assert_true(harness_sub_wait_topic(sub, "factory/_svc/itpub/p5/status", "online",
					   WAIT_MS) >= 0);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* ---- 5b. broker down when the client starts --------------------------------- */

static void test_broker_down_at_start(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	mqtt_client *pub;
	harness_sub *sub = harness_sub_new(f->broker.uri, "factory/s8/raw", "it-sub8", 1);
	seq_query q = {"factory/s8/raw", 5};
	char raw[1024];

	assert_non_null(sub);
	assert_int_equal(harness_broker_down(&f->broker), 0);

	opts_for(&o, f->broker.uri, "itpub", "p8");
	pub = client_new(f, &o, f->m); /* succeeds with nobody listening */
	for (long s = 0; s < 5; s++) {
		int len = raw_payload(raw, sizeof(raw), "s8", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s8", "raw", raw, (size_t)len, 1, 0), 0);
	}
	assert_int_equal(mqtt_is_connected(pub), 0);
	assert_int_equal(mqtt_wait_connected(pub, 200), AM_ETIMEOUT);

	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(pub, WAIT_MS * 2), 0);
	assert_int_equal(metric(f->m, "reconnects"),
			 0); /* first connect is no reconnect */
	assert_int_equal(harness_sub_wait(sub, seqs_complete, &q, 0, WAIT_MS * 2), 0);

	mqtt_free(pub);
	harness_sub_free(sub);
}

/* ---- 6. TCP_NODELAY on the client's socket ---------------------------------- */

/* The sockets of this process connected to 127.0.0.1:port: how many, and
 * how many of them have TCP_NODELAY. */
static void sockets_to(int port, int *n, int *nodelay)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	*n = *nodelay = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name), on = 0;
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer), olen = sizeof(on);

		if (fd <= 2 || fd == dirfd(d) ||
		    getpeername(fd, (struct sockaddr *)&peer, &len) != 0 ||
		    peer.sin_family != AF_INET || ntohs(peer.sin_port) != port)
			continue;
		(*n)++;
		if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &olen) == 0 && on)
			(*nodelay)++;
	}
	closedir(d);
}

/* Paho leaves Nagle's algorithm on, which held a small publish up to 40 ms
 * behind the previous one's delayed ACK (scripts/bench-mesh.sh at 100
 * sensors: p99 42 ms before, 2.7 ms after): the client turns it off on
 * every connect, the automatic reconnects included. */
static void test_nodelay(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	mqtt_client *c;
	int n, nodelay;

	opts_for(&o, f->broker.uri, "itpub", "p6");
	c = client_new(f, &o, f->m);
	assert_int_equal(mqtt_wait_connected(c, WAIT_MS), 0);
	sockets_to(f->broker.port, &n, &nodelay);
	assert_int_equal(n, 1);
	assert_int_equal(nodelay, 1);

	assert_int_equal(harness_broker_down(&f->broker), 0);
	while (mqtt_is_connected(c))
		harness_nap_ms(10);
	assert_int_equal(harness_broker_up(&f->broker), 0);
	assert_int_equal(mqtt_wait_connected(c, WAIT_MS * 2), 0);
	assert_int_equal(metric(f->m, "reconnects"), 1);
	sockets_to(f->broker.port, &n, &nodelay);
	assert_int_equal(n, 1);
	assert_int_equal(nodelay, 1);
	mqtt_free(c);
}

/* ---- 7. a full inbox loses nothing ----------------------------------------------- */

#define N_INBOX 100

static void test_inbox_full_no_loss(void **state)
{
	fixture *f = *state;
	mqtt_options o, oc;
	mqtt_client *pub, *cons;
	metrics *mc = metrics_new();
	collected col = {0};
	struct pollfd p;
	char raw[1024];
	long next = 0;
	long long deadline;

	opts_for(&o, f->broker.uri, "itpub", "p7");
	pub = client_new(f, &o, f->m);
	opts_for(&oc, f->broker.uri, "itcons", "c7");
	oc.inbox_max = 4;
	cons = client_new(f, &oc, mc);
	assert_int_equal(mqtt_wait_connected(cons, WAIT_MS), 0);
	assert_int_equal(mqtt_subscribe(cons, "factory/+/raw", 1), 0);
	sync_subscription(cons, pub, "factory/probe/raw", &col);
	collected_free(&col);

	for (long s = 0; s < N_INBOX; s++) {
		int len = raw_payload(raw, sizeof(raw), "s7", s);
		assert_int_equal(
		    mqtt_publish_sensor(pub, "s7", "raw", raw, (size_t)len, 1, 0), 0);
	}
	/* nobody dispatches: the inbox fills up and Paho is told to hold on */
	deadline = harness_now_ms() + WAIT_MS;
	while (metric(mc, "inbox_full") == 0 && harness_now_ms() < deadline)
		harness_nap_ms(10);
	assert_true(metric(mc, "inbox_full") > 0);
	p.fd = mqtt_fd(cons);
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 0), 1);

	/* ...and every message comes out, in order */
	deadline = harness_now_ms() + WAIT_MS * 2;
	while (next < N_INBOX && harness_now_ms() < deadline) {
		size_t before = col.n;
		mqtt_poll(cons, 50, collect, &col);
		for (size_t i = before; i < col.n; i++) {
			if (strcmp(col.v[i].topic, "factory/s7/raw") != 0)
				continue;
			assert_int_equal(seq_of(col.v[i].payload), next);
			next++;
		}
	}
	assert_int_equal(next, N_INBOX);
	assert_int_equal(poll(&p, 1, 0), 0); /* empty inbox: fd not readable */

	mqtt_free(cons);
	mqtt_free(pub);
	collected_free(&col);
	metrics_free(mc);
}

/* ---- options ------------------------------------------------------------------- */

static void test_bad_options(void **state)
{
	fixture *f = *state;
	mqtt_options o;
	char err[256];

	opts_for(&o, NULL, "x", "y");
	err[0] = '\0';
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	assert_true(err[0] != '\0');
	opts_for(&o, f->broker.uri, "x", "y");
	o.root = "fac+tory";
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	opts_for(&o, f->broker.uri, "x/y", "y");
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	opts_for(&o, f->broker.uri, "x", "y");
	o.max_buffered = 0;
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	opts_for(&o, "nonsense://127.0.0.1:1", "x", "y");
	assert_null(mqtt_new(&o, f->m, err, sizeof(err)));
	mqtt_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_options, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_persistent_session, setup_plain,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_across_restart, setup_persist,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_broker_down_at_start, setup_persist,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_nodelay, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_inbox_full_no_loss, setup_plain,
					    teardown),
	};
	return cmocka_run_group_tests_name("mqtt (integration)", tests, NULL, NULL);
}
