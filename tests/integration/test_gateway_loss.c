/* The family of gateway failures (issue 17), each mid-stream at a
 * realistic rate: three lpms-emu sensors (the synthetic arm) at 100 Hz ->
 * bin/ingest-bt (batches of 10: 30 raw messages/s; its journal on) ->
 * mosquitto with the production persistence settings -> bin/archiver:
 *
 *  1. the broker SIGKILLed while the archiver (a persistent consumer) is
 *     connected, and restarted;
 *  2. the archiver away (a restart, an upgrade) when the broker is
 *     SIGKILLed and restarted; then it comes back;
 *  3. the whole gateway killed at once, as a power cut does: broker,
 *     ingest-bt and archiver SIGKILLed together (and the archiver's spool,
 *     which is not fsynced, lost), then restarted in the order a boot may
 *     take: broker, ingest-bt, the archiver last;
 *  4. the archiver away longer than the broker's queue bound.
 *
 * Each case counts what the sensors produced, what ingest read and
 * published, and what the archive holds (live, repaired), prints the
 * line, and requires the archive to hold every message ingest published
 * exactly once: ingest's own counts ("stopping:" line; for the process
 * killed in case 3, its last metrics from before the cut minus the stated
 * window GW_WINDOW_S), and, bit for bit, every message in ingest's
 * journal (check_db_equals). The losses are repaired from the journal: the
 * archiver asks for its gaps, ingest republishes them as replays; its
 * beacons tell the archiver where a run ended. */
#include "test_archiver_fixture.h"

#include "../../services/ingest-bt/journal.h"

#define GW_SENSORS 3
#define GW_RATE "100"    /* Hz per sensor: 10 raw messages/s each */
#define GW_MSGS_PER_S 30 /* the three together */
#define GW_WINDOW_S 2.0  /* the guarantee's window before a power cut */
#define GW_SETTLE_MS 60000

/* production.conf's persistence: saved every 5 minutes, so a SIGKILL loses
 * whatever the broker held in memory */
static const char *gw_conf_prod =
    "persistence true\nautosave_interval 300\nautosave_on_changes false\n"
    "max_queued_messages 100000\nmax_inflight_messages 20\n";
/* the same with a queue bound the archiver's absence will exceed */
static const char *gw_conf_small_queue =
    "persistence true\nautosave_interval 300\nautosave_on_changes false\n"
    "max_queued_messages 40\nmax_inflight_messages 20\n";

/* The archiver asks soon and often: the test's timescale is seconds. */
static const char *const gw_arch_args[] = {"--repair-grace-s", "1", "--repair-retry-s",
					   "2", NULL};

typedef struct gw {
	harness_broker b;
	arch a;
	char db[512];
	char jdir[512]; /* ingest's journal */
	pid_t emu[GW_SENSORS];
	char elog[GW_SENSORS][512];
	char src[GW_SENSORS][128];
	pid_t ing;
	char ilog[512];
	harness_sub *met; /* ingest's metrics */
} gw;

/* What one ingest process read and published. */
typedef struct ingest_total {
	long long samples, published;
} ingest_total;

static void gw_ingest_start(gw *g)
{
	const char *argv[24] = {harness_bin("ingest-bt"),
				"--broker",
				g->b.uri,
				"--instance",
				"itest",
				"--metrics-interval",
				"200",
				"--rate",
				GW_RATE,
				"--journal-dir",
				g->jdir,
				"--beacon-s",
				"2"};
	size_t n = 13;
	for (int i = 0; i < GW_SENSORS; i++)
		argv[n++] = g->src[i];
	argv[n] = NULL;
	g->ing = harness_spawn(argv, NULL, g->ilog, sizeof(g->ilog));
	assert_true(g->ing > 0);
}

/* Broker, archiver (its persistent session exists before the stream), the
 * sensors and ingest; returns once the archive holds two seconds of it. */
static void gw_start(gw *g, const char *conf, const char *name)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(harness_broker_start(&g->b, conf), 0);
	snprintf(g->db, sizeof(g->db), "%s/%s.db", harness_tmpdir(), name);
	assert_int_equal(harness_tmpdir_new("journal", g->jdir, sizeof(g->jdir)), 0);
	arch_init(&g->a, &g->b, g->db);
	g->a.extra = gw_arch_args;
	arch_start(&g->a);
	g->met = harness_sub_new(g->b.uri, "factory/_svc/ingest-bt/+/metrics", NULL, 0);
	assert_non_null(g->met);
	for (int i = 0; i < GW_SENSORS; i++) {
		char seed[16], port[64];
		const char *args[] = {"--arm-seed", seed, NULL};
		snprintf(seed, sizeof(seed), "%d", i + 1);
		g->emu[i] = harness_emu_start(args, 0, port, sizeof(port), g->elog[i],
					      sizeof(g->elog[i]));
		assert_true(g->emu[i] > 0);
		snprintf(g->src[i], sizeof(g->src[i]), "tcp:127.0.0.1:%s#gw%d", port,
			 i + 1);
	}
	gw_ingest_start(g);
	if (wait_messages(g->db, 2 * GW_MSGS_PER_S, 30000)) {
		fprintf(stderr, "the stream did not start; logs %s %s\n", g->ilog,
			g->a.log);
		fail();
	}
}

/* The latest value of an ingest counter, from its metrics. */
static long long gw_metric(gw *g, const char *name)
{
	return harness_sub_metric(g->met, "factory/_svc/ingest-bt/itest/metrics", name);
}

/* Wait until ingest has published `more` messages beyond now. */
static void gw_stream_for(gw *g, long long more)
{
	long long now = gw_metric(g, "raw_published");
	if (harness_sub_wait_metric(g->met, "factory/_svc/ingest-bt/itest/metrics",
				    "raw_published", now + more, 30000, NULL)) {
		fprintf(stderr, "ingest stopped publishing; log %s\n", g->ilog);
		fail();
	}
}

/* Wait until the archive has grown by `more` messages. */
static void gw_archive_grows(gw *g, long long more)
{
	if (wait_messages(g->db, db_messages(g->db) + more, 30000)) {
		fprintf(stderr, "the archive stopped growing; logs %s %s\n", g->a.log,
			g->ilog);
		fail();
	}
}

/* SIGTERM ingest and read its totals from its "stopping:" line. */
static void gw_ingest_stop(gw *g, ingest_total *t)
{
	char line[1024];
	FILE *f;
	int found = 0;
	assert_true(harness_exited_ok(harness_stop(g->ing, SIGTERM, 10000)));
	g->ing = 0;
	f = fopen(g->ilog, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *s = strstr(line, "stopping: ");
		if (s && sscanf(s, "stopping: %lld samples in, %lld messages published",
				&t->samples, &t->published) == 2)
			found = 1;
	}
	fclose(f);
	assert_true(found);
}

/* Frames the sensors sent, from their "stopping:" lines. */
static long long gw_emu_stop(gw *g)
{
	long long sent = 0;
	for (int i = 0; i < GW_SENSORS; i++) {
		char line[1024];
		unsigned long long frames, s;
		FILE *f;
		assert_true(harness_exited_ok(harness_stop(g->emu[i], SIGTERM, 5000)));
		f = fopen(g->elog[i], "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, "stopping: ");
			if (p && sscanf(p, "stopping: %llu frames, %llu sent", &frames,
					&s) == 2)
				sent += (long long)s;
		}
		fclose(f);
	}
	return sent;
}

/* The run id of ingest's process (its "run XXXXXXXX:" start line); the
 * last one in the log when it restarted into the same log. */
static void gw_run_id(const char *log, char *run, size_t len)
{
	char line[1024];
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	run[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *s = strstr(line, "INFO: run ");
		if (s)
			snprintf(run, len, "%.*s", (int)strcspn(s + 10, ":"), s + 10);
	}
	fclose(f);
	assert_true(run[0] != 0);
}

/* Every message in ingest's journal (its process stopped), sorted as
 * raws_collect leaves them; *out is the caller's (raws_free). */
static size_t gw_journal(gw *g, msg_raw **out)
{
	journal_options o = {g->jdir, 1ll << 30, 1e7, 0, -1};
	journal *j = NULL;
	journal_run jr;
	journal_stats st;
	size_t it = 0, n = 0;
	char err[256];
	msg_raw *v;

	if (journal_open(&j, &o, err, sizeof(err)))
		fail_msg("%s", err);
	journal_get_stats(j, &st);
	v = calloc((size_t)st.records + 1, sizeof(*v));
	assert_non_null(v);
	while (journal_next_run(j, &it, &jr))
		for (uint64_t s = jr.first; s <= jr.last; s++) {
			assert_true(n < (size_t)st.records);
			msg_raw_init(&v[n]);
			if (journal_get(j, jr.sensor, jr.run, s, &v[n], err,
					sizeof(err)) == 1)
				n++;
			else
				msg_raw_cleanup(&v[n]);
		}
	journal_close(j);
	qsort(v, n, sizeof(*v), raw_cmp);
	*out = v;
	return n;
}

/* The end of a case: the sensors stop; once the archive holds everything
 * ingest published (held_before: what its journal held from a process
 * before the current one), ingest and the archiver stop, the counts are
 * printed and the archive must equal the journal bit for bit, holding at
 * least `required` messages of every run. */
static void gw_finish(gw *g, const char *name, long long held_before,
		      const char *const *runs, const long long *required, size_t n_runs)
{
	ingest_total t = {0};
	long long produced = gw_emu_stop(g), deadline = harness_now_ms() + GW_SETTLE_MS;
	msg_raw *sent = NULL;
	size_t n_sent;

	/* repairs are asked for and answered while ingest still runs: wait for
	 * every message ingest has reported and for no gap left open (its
	 * metric can be a message or two behind, and the archive can reach
	 * that count while the newest gap's repair is still on its way) */
	while (harness_now_ms() < deadline &&
	       (db_messages(g->db) < held_before + gw_metric(g, "raw_published") ||
		db_int(g->db, "SELECT count(*) FROM gaps WHERE lost IS NULL") > 0))
		harness_nap_ms(100);
	gw_ingest_stop(g, &t);
	if (wait_messages(g->db, held_before + t.published, 5000))
		fprintf(stderr, "%s: the archive is short; logs %s %s\n", name, g->a.log,
			g->ilog);
	arch_stop(&g->a);
	n_sent = gw_journal(g, &sent);
	fprintf(
	    stderr,
	    "%s: sensors sent %lld frames; ingest read %lld samples and published %lld "
	    "messages in its last run, %zu journalled in all; the archive holds %lld "
	    "(%lld of them repaired), gaps open %lld, lost for good %lld\n",
	    name, produced, t.samples, t.published, n_sent, db_messages(g->db),
	    db_int(g->db, "SELECT count(*) FROM messages WHERE replay = 1"),
	    db_int(g->db, "SELECT coalesce(sum(seq_to - seq_from + 1), 0) FROM gaps"
			  " WHERE lost IS NULL"),
	    db_int(g->db, "SELECT coalesce(sum(seq_to - seq_from + 1), 0) FROM gaps"
			  " WHERE lost IS NOT NULL"));
	for (size_t i = 0; i < n_runs; i++) {
		char sql[256];
		long long have;
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM messages m JOIN runs r ON r.id = m.run_id "
			 "WHERE r.run = '%s'",
			 runs[i]);
		have = db_int(g->db, sql);
		fprintf(stderr, "  run %s: %lld archived, %lld required%s\n", runs[i],
			have, required[i], have >= required[i] ? "" : "  <-- LOST");
		assert_true(have >= required[i]);
	}
	assert_true(db_ok(g->db));
	/* the last run: everything ingest counted; all runs: the journal */
	assert_int_equal((long long)n_sent, held_before + t.published);
	check_db_equals(g->db, sent, n_sent);
	raws_free(sent, n_sent);
	harness_sub_free(g->met);
	harness_sub_free(g->a.status);
	harness_broker_stop(&g->b);
}

/* Cases 1, 2 and 4: one ingest run, every message it published. */
static void gw_finish_one_run(gw *g, const char *name)
{
	char run[80];
	const char *runs[1] = {run};
	long long published;
	gw_run_id(g->ilog, run, sizeof(run));
	published = gw_metric(g, "raw_published");
	gw_finish(g, name, 0, runs, &published, 1);
}

/* 1. The broker SIGKILLed with the archiver connected, and restarted. */
static void test_broker_kill_consumer_connected(void **state)
{
	gw g;
	(void)state;
	gw_start(&g, gw_conf_prod, "connected");
	harness_kill9(g.b.pid);
	g.b.pid = 0;
	assert_int_equal(harness_broker_up(&g.b), 0);
	gw_stream_for(&g, 2 * GW_MSGS_PER_S);
	gw_archive_grows(&g, GW_MSGS_PER_S);
	gw_finish_one_run(&g, "broker SIGKILL, archiver connected");
}

/* 2. The archiver away for 3 s when the broker is SIGKILLed (issue 17's
 * measurement), then back. */
static void test_broker_kill_consumer_away(void **state)
{
	gw g;
	(void)state;
	gw_start(&g, gw_conf_prod, "away");
	arch_stop(&g.a);
	gw_stream_for(&g, 3 * GW_MSGS_PER_S);
	harness_kill9(g.b.pid);
	g.b.pid = 0;
	assert_int_equal(harness_broker_up(&g.b), 0);
	arch_start(&g.a);
	gw_stream_for(&g, 2 * GW_MSGS_PER_S);
	gw_archive_grows(&g, GW_MSGS_PER_S);
	gw_finish_one_run(&g, "broker SIGKILL, archiver away");
}

/* 4. The archiver away while ingest publishes four times the broker's queue
 * bound: the broker drops the rest of its queue. */
static void test_consumer_away_beyond_queue(void **state)
{
	gw g;
	(void)state;
	gw_start(&g, gw_conf_small_queue, "queue");
	arch_stop(&g.a);
	gw_stream_for(&g, 160);
	arch_start(&g.a);
	gw_stream_for(&g, 2 * GW_MSGS_PER_S);
	gw_archive_grows(&g, GW_MSGS_PER_S);
	gw_finish_one_run(&g, "archiver away beyond the broker's queue");
}

/* The messages ingest's journal held when it started (its log line). */
static long long gw_held(const char *log)
{
	char line[1024];
	long long held = -1;
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *s = strstr(line, "INFO: journal ");
		const char *c = s ? strstr(s + 14, ": ") : NULL;
		if (c)
			sscanf(c, ": %lld messages held", &held);
	}
	fclose(f);
	assert_true(held >= 0);
	return held;
}

/* Ingest's counts in its last metrics message whose "t" is before
 * `before` (UNIX seconds). */
static void gw_read_before(gw *g, double before, ingest_total *out)
{
	size_t n = harness_sub_count(g->met);
	for (size_t i = 0; i < n; i++) {
		harness_msg m;
		cJSON *j;
		const cJSON *t, *p;
		assert_int_equal(harness_sub_get(g->met, i, &m), 0);
		j = cJSON_ParseWithLength(m.payload, m.len);
		t = j ? cJSON_GetObjectItemCaseSensitive(j, "t") : NULL;
		p = j ? cJSON_GetObjectItemCaseSensitive(j, "raw_published") : NULL;
		if (cJSON_IsNumber(t) && cJSON_IsNumber(p) && t->valuedouble < before) {
			const cJSON *s =
			    cJSON_GetObjectItemCaseSensitive(j, "samples_in");
			out->published = (long long)p->valuedouble;
			out->samples = cJSON_IsNumber(s) ? (long long)s->valuedouble : 0;
		}
		cJSON_Delete(j);
		harness_msg_cleanup(&m);
	}
}

/* 3. The whole gateway at once, as a power cut: broker, ingest and
 * archiver SIGKILLed, the archiver's unsynced spool gone; restarted broker
 * first, then ingest (a new run), the archiver last. */
static void test_gateway_power_cut(void **state)
{
	gw g;
	char spool[600], runs_buf[2][80];
	const char *runs[2] = {runs_buf[0], runs_buf[1]};
	ingest_total before = {0, 0};
	long long required[2];
	double cut;
	(void)state;

	gw_start(&g, gw_conf_prod, "powercut");
	gw_stream_for(&g, 2 * GW_MSGS_PER_S);
	gw_run_id(g.ilog, runs_buf[0], sizeof(runs_buf[0]));
	cut = clock_now();
	harness_kill9(g.ing);
	harness_kill9(g.a.pid);
	harness_kill9(g.b.pid);
	g.ing = g.a.pid = g.b.pid = 0;
	/* ingest's metrics before the cut: what it had published GW_WINDOW_S
	 * before it is what the guarantee covers */
	gw_read_before(&g, cut - GW_WINDOW_S, &before);
	required[0] = before.published;
	snprintf(spool, sizeof(spool), "%s.spool", g.db);
	harness_rm_tree(spool);

	assert_int_equal(harness_broker_up(&g.b), 0);
	harness_sub_clear(g.met);
	gw_ingest_start(&g);
	gw_stream_for(&g, 2 * GW_MSGS_PER_S);
	arch_start(&g.a);
	gw_stream_for(&g, 2 * GW_MSGS_PER_S);
	gw_archive_grows(&g, GW_MSGS_PER_S);
	gw_run_id(g.ilog, runs_buf[1], sizeof(runs_buf[1]));
	required[1] = gw_metric(&g, "raw_published");
	gw_finish(&g, "power cut of the whole gateway", gw_held(g.ilog), runs, required,
		  2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_broker_kill_consumer_connected),
	    cmocka_unit_test(test_broker_kill_consumer_away),
	    cmocka_unit_test(test_gateway_power_cut),
	    cmocka_unit_test(test_consumer_away_beyond_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
