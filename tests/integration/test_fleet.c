/* Integration tests of the fleet tier (issue 12; fleet/README.md): real
 * nats-server nodes in a cluster rendered by scripts/fleet-nats-conf.sh,
 * gateways that are a real mosquitto with the bridge of
 * scripts/fleet-bridge.sh, bin/lpms-emu's synthetic arms and bin/ingest-bt,
 * and bin/fleet-archiver as the central archive.
 *
 *  - test_fleet_failures: two gateways whose sensors have the same names
 *    (arm1, arm2) stream while node 1 of the cluster (the first address of
 *    both bridges) is killed and later restarted, then the central archiver
 *    is kill -9'd and restarted. Afterwards the central archive holds every
 *    (gateway, sensor, run, seq) exactly once with the samples of each
 *    gateway's own archive, bit for bit (check_db_equals, shared with the
 *    archiver's tests), in the gateway's own files, each sensor in one
 *    partition file.
 *  - test_fleet_cutoff: a gateway whose bridge goes through a relay is cut
 *    off from the cluster for FLEET_CUTOFF_S seconds (default 10: the stand-in
 *    for the 5 minutes; FLEET_CUTOFF_S=300 runs those) while its
 *    sensors keep streaming; nothing reaches the archive during the cut,
 *    and afterwards it holds every message the gateway published. The bound
 *    (the gateway broker's max_queued_messages) is far above what the cut
 *    queues: 2 sensors x 5 messages/s x FLEET_CUTOFF_S. */
#include "test_archiver_fixture.h"

#include "../harness/harness_fleet.h"

#include <sys/stat.h>

#define PARTS 5 /* not a power of two: fleet/README.md, finding 8 */
#define PARTS_TXT "5"
#define PLANT "plantA"
#define N_SENSORS 2
static const char *const sensors[N_SENSORS] = {"arm1", "arm2"};

typedef struct gw {
	const char *name;
	harness_broker b;
	harness_relay relay;
	pid_t emu[N_SENSORS], ing, arch;
	char db[600], alog[512], ilog[512];
	harness_sub *truth[N_SENSORS];
} gw;

/* The gateway broker: the tests' broker settings and the fleet bridge to
 * addresses (the cluster's MQTT listeners, or a relay in front of them). */
static void gw_broker(gw *g, const char *addresses)
{
	char cmd[600], conf[4096];
	size_t n;
	FILE *f;
	snprintf(cmd, sizeof(cmd),
		 "scripts/fleet-bridge.sh --plant " PLANT " --gateway %s --cluster %s",
		 g->name, addresses);
	n = (size_t)snprintf(conf, sizeof(conf), "%s", broker_conf);
	f = popen(cmd, "r");
	assert_non_null(f);
	n += fread(conf + n, 1, sizeof(conf) - n - 1, f);
	conf[n] = 0;
	assert_int_equal(pclose(f), 0);
	assert_int_equal(harness_broker_start(&g->b, conf), 0);
}

/* Truth subscribers, the gateway's own archiver (with_archive), the arms
 * and ingest-bt. */
static void gw_stream(gw *g, int seed, int with_archive)
{
	char src[N_SENSORS][128], port[64], elog[512], dir[512];
	for (int s = 0; s < N_SENSORS; s++) {
		char filter[64];
		snprintf(filter, sizeof(filter), "factory/%s/raw", sensors[s]);
		g->truth[s] = harness_sub_new(g->b.uri, filter, NULL, 1);
		assert_non_null(g->truth[s]);
	}
	if (with_archive) {
		const char *argv[] = {harness_bin("archiver"),
				      "--broker",
				      g->b.uri,
				      "--db",
				      g->db,
				      "--instance",
				      g->name,
				      "--commit-ms",
				      "50",
				      NULL};
		assert_int_equal(harness_tmpdir_new(g->name, dir, sizeof(dir)), 0);
		snprintf(g->db, sizeof(g->db), "%s/archive.db", dir);
		g->arch = harness_spawn(argv, NULL, g->alog, sizeof(g->alog));
		assert_true(g->arch > 0);
	}
	for (int s = 0; s < N_SENSORS; s++) {
		char sd[16];
		snprintf(sd, sizeof(sd), "%d", seed + s);
		const char *extra[] = {"--arm-seed", sd, NULL};
		g->emu[s] =
		    harness_emu_start(extra, 0, port, sizeof(port), elog, sizeof(elog));
		assert_true(g->emu[s] > 0);
		snprintf(src[s], sizeof(src[s]), "tcp:127.0.0.1:%s#%s", port, sensors[s]);
	}
	const char *argv[] = {harness_bin("ingest-bt"),
			      "--broker",
			      g->b.uri,
			      "--instance",
			      g->name,
			      src[0],
			      src[1],
			      NULL};
	g->ing = harness_spawn(argv, NULL, g->ilog, sizeof(g->ilog));
	assert_true(g->ing > 0);
}

static size_t gw_sent(gw *g)
{
	size_t n = 0;
	for (int s = 0; s < N_SENSORS; s++)
		n += harness_sub_count(g->truth[s]);
	return n;
}

/* Wait until the gateway's truth subscribers have at least n messages. */
static void gw_wait_sent(gw *g, size_t n)
{
	long long deadline = harness_now_ms() + 60000;
	while (gw_sent(g) < n && harness_now_ms() < deadline)
		harness_nap_ms(100);
	if (gw_sent(g) < n) {
		fprintf(stderr, "%s: only %zu of %zu messages; ingest log %s\n", g->name,
			gw_sent(g), n, g->ilog);
		fail();
	}
}

/* Stop the stream (ingest flushes) and collect everything it published:
 * *all (the caller frees it with raws_free) holds every sensor's messages. */
static size_t gw_end(gw *g, msg_raw **all)
{
	size_t n = 0;
	assert_true(harness_exited_ok(harness_stop(g->ing, SIGTERM, 10000)));
	for (int s = 0; s < N_SENSORS; s++)
		assert_true(harness_exited_ok(harness_stop(g->emu[s], SIGTERM, 5000)));
	*all = NULL;
	for (int s = 0; s < N_SENSORS; s++) {
		msg_raw *one;
		size_t k = raws_collect(g->truth[s], &one);
		*all = realloc(*all, (n + k) * sizeof(**all));
		assert_non_null(*all);
		memcpy(*all + n, one, k * sizeof(*one));
		free(one); /* the samples moved into *all */
		n += k;
	}
	return n;
}

static void gw_stop(gw *g)
{
	if (g->arch > 0)
		harness_stop(g->arch, SIGTERM, 10000);
	for (int s = 0; s < N_SENSORS; s++)
		harness_sub_free(g->truth[s]);
	harness_relay_stop(&g->relay);
	harness_broker_stop(&g->b);
}

/* ---- the central archive -------------------------------------------------------- */

typedef struct central {
	char dir[512], log[512];
	const harness_nats *c;
	pid_t pid;
} central;

static void central_start(central *a)
{
	const char *argv[] = {harness_bin("fleet-archiver"),
			      "--servers",
			      a->c->servers,
			      "--dir",
			      a->dir,
			      "--partition-count",
			      PARTS_TXT,
			      "--ack-wait-ms",
			      "3000",
			      "--batch",
			      "200",
			      "--stats-interval",
			      "2",
			      NULL};
	a->pid = harness_spawn(argv, NULL, a->log, sizeof(a->log)); /* a fresh log */
	assert_true(a->pid > 0);
	if (harness_wait_file_count(a->log, "consuming", 1, 30000)) {
		fprintf(stderr, "fleet-archiver not consuming; log %s\n", a->log);
		fail();
	}
}

static void central_file(const central *a, const char *gateway, int p, char *out,
			 size_t len)
{
	snprintf(out, len, "%s/" PLANT "/%s/p%02d.db", a->dir, gateway, p);
}

static long long central_count(const central *a, const char *gateway)
{
	long long n = 0;
	char f[700];
	struct stat st;
	for (int p = 0; p < PARTS; p++) {
		central_file(a, gateway, p, f, sizeof(f));
		if (stat(f, &st) == 0)
			n += db_messages(f);
	}
	return n;
}

static void central_wait(const central *a, const char *gateway, long long n, int ms)
{
	long long deadline = harness_now_ms() + ms;
	while (central_count(a, gateway) < n && harness_now_ms() < deadline)
		harness_nap_ms(200);
	if (central_count(a, gateway) < n) {
		fprintf(stderr,
			"central archive has %lld of %s's %lld messages; log %s\n",
			central_count(a, gateway), gateway, n, a->log);
		fail();
	}
}

/* The central files of gateway hold exactly all (n messages): each file
 * equals (check_db_equals) the messages of the sensors it holds, and every
 * sensor is in exactly one file. */
static void central_check(const central *a, const char *gateway, const msg_raw *all,
			  size_t n)
{
	msg_raw *sub = calloc(n ? n : 1, sizeof(*sub));
	int files_of[N_SENSORS] = {0};
	size_t covered = 0;
	assert_non_null(sub);
	for (int p = 0; p < PARTS; p++) {
		char f[700], sql[200];
		size_t k = 0;
		struct stat st;
		central_file(a, gateway, p, f, sizeof(f));
		if (stat(f, &st) != 0)
			continue;
		for (int s = 0; s < N_SENSORS; s++) {
			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM sensors WHERE name = '%s'",
				 sensors[s]);
			if (db_int(f, sql) != 1)
				continue;
			files_of[s]++;
			for (size_t i = 0; i < n; i++)
				if (!strcmp(all[i].sensor, sensors[s]))
					sub[k++] = all[i]; /* shallow: read only */
		}
		check_db_equals(f, sub, k);
		covered += k;
	}
	for (int s = 0; s < N_SENSORS; s++)
		assert_int_equal(files_of[s], 1);
	assert_int_equal((long long)covered, (long long)n);
	free(sub);
}

/* ---- two gateways, a node killed, the archiver killed ---------------------------- */

static void test_fleet_failures(void **state)
{
	harness_nats c;
	gw g[2] = {{.name = "gw1"}, {.name = "gw2"}};
	central a = {.c = &c};
	msg_raw *all[2];
	size_t n[2];
	(void)state;

	assert_int_equal(harness_nats_start(&c, PARTS), 0);
	assert_int_equal(harness_tmpdir_new("central", a.dir, sizeof(a.dir)), 0);
	central_start(&a); /* its consumers exist before anything streams */
	for (int i = 0; i < 2; i++) {
		gw_broker(&g[i], c.mqtt);
		gw_stream(&g[i], 10 * (i + 1), 1);
	}
	gw_wait_sent(&g[0], 40);
	gw_wait_sent(&g[1], 40);

	/* node 1, the first address of both bridges, dies mid-stream */
	assert_int_equal(harness_nats_kill9(&c, 0), 0);
	fprintf(stderr, "killed nats node 1 at %zu + %zu messages sent\n", gw_sent(&g[0]),
		gw_sent(&g[1]));
	gw_wait_sent(&g[0], gw_sent(&g[0]) + 40); /* ~4 s of stream without it */
	assert_int_equal(harness_nats_up(&c, 0), 0);
	fprintf(stderr, "node 1 up again at %zu + %zu\n", gw_sent(&g[0]), gw_sent(&g[1]));
	gw_wait_sent(&g[0], gw_sent(&g[0]) + 40);

	/* the central archiver dies with batches fetched and not acknowledged */
	harness_kill9(a.pid);
	fprintf(stderr, "killed fleet-archiver at %zu + %zu\n", gw_sent(&g[0]),
		gw_sent(&g[1]));
	gw_wait_sent(&g[0], gw_sent(&g[0]) + 30);
	central_start(&a);
	gw_wait_sent(&g[0], gw_sent(&g[0]) + 40);

	for (int i = 0; i < 2; i++) {
		n[i] = gw_end(&g[i], &all[i]);
		assert_true(n[i] > 150);
		/* the gateway's own archive holds what it published ... */
		assert_int_equal(wait_messages(g[i].db, (long long)n[i], 30000), 0);
		check_db_equals(g[i].db, all[i], n[i]);
	}
	for (int i = 0; i < 2; i++) {
		/* ... and so does the central archive, in the gateway's files */
		central_wait(&a, g[i].name, (long long)n[i], 90000);
		central_check(&a, g[i].name, all[i], n[i]);
		fprintf(stderr, "%s: %zu messages, all in the central archive once\n",
			g[i].name, n[i]);
	}
	assert_true(harness_exited_ok(harness_stop(a.pid, SIGTERM, 10000)));
	assert_true(harness_file_count(a.log, "duplicates dropped") > 0);
	for (int i = 0; i < 2; i++) {
		raws_free(all[i], n[i]);
		gw_stop(&g[i]);
	}
	harness_nats_stop(&c);
}

/* ---- a gateway cut off from the cluster ------------------------------------------ */

static void test_fleet_cutoff(void **state)
{
	harness_nats c;
	gw g = {.name = "gwcut"};
	central a = {.c = &c};
	const char *env = getenv("FLEET_CUTOFF_S");
	int cut_s = env ? atoi(env) : 10, ports[HARNESS_NATS_NODES];
	long long before, t0;
	msg_raw *all;
	size_t n, sent_at_cut;
	(void)state;

	assert_int_equal(harness_nats_start(&c, PARTS), 0);
	assert_int_equal(harness_tmpdir_new("central", a.dir, sizeof(a.dir)), 0);
	central_start(&a);
	for (int i = 0; i < HARNESS_NATS_NODES; i++)
		ports[i] = harness_nats_mqtt_port(&c, i);
	assert_int_equal(harness_relay_start(&g.relay, ports, HARNESS_NATS_NODES), 0);
	gw_broker(&g, g.relay.addresses);
	gw_stream(&g, 40, 0);
	gw_wait_sent(&g, 60);
	central_wait(&a, g.name, 1, 30000);

	harness_relay_cut(&g.relay, 1);
	harness_nap_ms(1000); /* what was in flight at the cut lands or is resent */
	before = central_count(&a, g.name);
	sent_at_cut = gw_sent(&g);
	fprintf(stderr, "cut off for %d s at %zu messages sent\n", cut_s, sent_at_cut);
	for (t0 = harness_now_ms(); harness_now_ms() < t0 + cut_s * 1000LL;)
		harness_nap_ms(500); /* the cut lasting is what is tested */
	/* nothing crossed the cut, and the gateway kept publishing */
	assert_int_equal(central_count(&a, g.name), before);
	fprintf(stderr, "%zu messages queued during the cut\n",
		gw_sent(&g) - sent_at_cut);
	assert_true(gw_sent(&g) >= sent_at_cut + (size_t)cut_s * 5); /* half of 10/s */

	harness_relay_cut(&g.relay, 0);
	t0 = harness_now_ms();
	n = gw_end(&g, &all);
	central_wait(&a, g.name, (long long)n, 120000 + cut_s * 1000);
	fprintf(stderr, "caught up %zu messages %lld ms after the cut ended\n", n,
		harness_now_ms() - t0);
	central_check(&a, g.name, all, n);
	assert_true(harness_exited_ok(harness_stop(a.pid, SIGTERM, 10000)));
	raws_free(all, n);
	gw_stop(&g);
	harness_nats_stop(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fleet_failures),
	    cmocka_unit_test(test_fleet_cutoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
