/* Integration tests of ingest-bt's side of the repair (journal.c,
 * resend.c) with lpms-emu and a real mosquitto:
 *  - a repair request on {root}/{sensor}/repair gets exactly the messages
 *    asked for, republished with "replay":true and otherwise equal bit for
 *    bit to the live ones; what the journal does not hold (seqs not yet
 *    published, an unknown run) is counted, not sent; a malformed request
 *    is counted and dropped;
 *  - after a restart the journal is read back, and the beacon republishes
 *    the last message of the run that ended, so that a consumer learns
 *    where it ended. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../harness/harness.h"
#include "../harness/mesh.h"
#include "msg.h"

#define RP_SENSOR "rp1"
#define RP_RAW "factory/" RP_SENSOR "/raw"
#define RP_MET "factory/_svc/ingest-bt/itest/metrics"

typedef struct rp {
	harness_broker b;
	harness_sub *raw, *met;
	pid_t emu, ing;
	char src[128], elog[512], ilog[512], jdir[512];
} rp;

static void rp_ingest(rp *t, const char *beacon_s)
{
	const char *argv[] = {harness_bin("ingest-bt"),
			      "--broker",
			      t->b.uri,
			      "--instance",
			      "itest",
			      "--metrics-interval",
			      "200",
			      "--rate",
			      "100",
			      "--journal-dir",
			      t->jdir,
			      "--beacon-s",
			      beacon_s,
			      t->src,
			      NULL};
	t->ing = harness_spawn(argv, NULL, t->ilog, sizeof(t->ilog));
	assert_true(t->ing > 0);
}

static void rp_start(rp *t, const char *beacon_s)
{
	char port[64];
	memset(t, 0, sizeof(*t));
	assert_int_equal(harness_broker_start(&t->b, NULL), 0);
	t->raw = harness_sub_new(t->b.uri, RP_RAW, NULL, 0);
	t->met = harness_sub_new(t->b.uri, "factory/_svc/ingest-bt/+/metrics", NULL, 0);
	assert_non_null(t->raw);
	assert_non_null(t->met);
	assert_int_equal(harness_tmpdir_new("journal", t->jdir, sizeof(t->jdir)), 0);
	t->emu = harness_emu_start(NULL, 0, port, sizeof(port), t->elog, sizeof(t->elog));
	assert_true(t->emu > 0);
	snprintf(t->src, sizeof(t->src), "tcp:127.0.0.1:%s#" RP_SENSOR, port);
	rp_ingest(t, beacon_s);
}

static void rp_stop(rp *t)
{
	if (t->ing > 0)
		assert_true(harness_exited_ok(harness_stop(t->ing, SIGTERM, 10000)));
	assert_true(harness_exited_ok(harness_stop(t->emu, SIGTERM, 5000)));
	harness_sub_free(t->raw);
	harness_sub_free(t->met);
	harness_broker_stop(&t->b);
}

/* Message i of the subscriber, decoded. */
static void rp_get(rp *t, size_t i, msg_raw *out)
{
	harness_msg m;
	char err[MSG_ERR_MAX];
	assert_int_equal(harness_sub_get(t->raw, i, &m), 0);
	assert_int_equal(msg_raw_decode(m.payload, m.len, out, err, sizeof(err)), 0);
	harness_msg_cleanup(&m);
}

/* The subscriber's messages with replay as given: count, and (if out) the
 * one of (run, seq) into out. */
static size_t rp_find(rp *t, int replay, const char *run, uint64_t seq, msg_raw *out)
{
	size_t n = harness_sub_count(t->raw), k = 0;
	msg_raw m;
	msg_raw_init(&m);
	for (size_t i = 0; i < n; i++) {
		rp_get(t, i, &m);
		if (m.replay != replay)
			continue;
		k++;
		if (out && !strcmp(m.run, run) && m.seq == seq)
			rp_get(t, i, out);
	}
	msg_raw_cleanup(&m);
	return k;
}

static int replays_at_least(const harness_msg *msgs, size_t n, void *ud)
{
	size_t want = *(size_t *)ud, k = 0;
	for (size_t i = 0; i < n; i++)
		k += strstr(msgs[i].payload, "\"replay\":true") != NULL;
	return k >= want;
}

static void ask(harness_pub *p, const char *run, uint64_t from, uint64_t to)
{
	char json[256];
	int len =
	    snprintf(json, sizeof(json),
		     "{\"v\":1,\"sensor\":\"" RP_SENSOR "\",\"run\":\"%s\",\"seq_from\":"
		     "%llu,\"seq_to\":%llu}",
		     run, (unsigned long long)from, (unsigned long long)to);
	assert_int_equal(harness_pub_text(p, RP_SENSOR, "repair", json, (size_t)len), 0);
}

static void assert_same_but_replay(const msg_raw *live, const msg_raw *re)
{
	assert_int_equal(live->replay, 0);
	assert_int_equal(re->replay, 1);
	assert_string_equal(live->sensor, re->sensor);
	assert_true(live->t0 == re->t0 && live->rate_hz == re->rate_hz);
	assert_int_equal(live->has_frame0, re->has_frame0);
	assert_true(live->frame0 == re->frame0);
	assert_int_equal(live->n_channels, re->n_channels);
	for (size_t c = 0; c < live->n_channels; c++)
		assert_string_equal(live->channels[c], re->channels[c]);
	assert_int_equal(live->n_samples, re->n_samples);
	assert_memory_equal(live->samples, re->samples,
			    live->n_samples * live->n_channels * sizeof(float));
}

static void test_repair_by_range(void **state)
{
	rp t;
	harness_pub p;
	msg_raw live, re;
	size_t want = 10;
	(void)state;

	rp_start(&t, "0");
	assert_int_equal(harness_sub_wait(t.raw, NULL, NULL, 30, 30000), 0);
	msg_raw_init(&live);
	msg_raw_init(&re);
	rp_get(&t, 0, &live);
	assert_int_equal(harness_pub_open(&p, t.b.uri, "itest-archiver", NULL, 0), 0);
	ask(&p, live.run, 5, 14);
	ask(&p, live.run, 1000000, 1000004); /* not published yet: 5 missing */
	ask(&p, "no-such-run", 0, 2);        /* 3 missing */
	assert_int_equal(harness_pub_text(&p, RP_SENSOR, "repair", "{\"v\":1}", 7), 0);
	if (harness_sub_wait(t.raw, replays_at_least, &want, 0, 20000)) {
		fprintf(stderr, "no replays; log %s\n", t.ilog);
		fail();
	}
	/* each counter reaches its final value in some metrics message; the
	 * latest one then has them all, and nothing beyond */
	assert_int_equal(
	    harness_sub_wait_metric(t.met, RP_MET, "replayed", 10, 10000, NULL), 0);
	assert_int_equal(
	    harness_sub_wait_metric(t.met, RP_MET, "replay_missing", 8, 10000, NULL), 0);
	assert_int_equal(
	    harness_sub_wait_metric(t.met, RP_MET, "repair_malformed", 1, 10000, NULL),
	    0);
	assert_int_equal(harness_sub_metric(t.met, RP_MET, "replayed"), 10);
	assert_int_equal(harness_sub_metric(t.met, RP_MET, "replay_missing"), 8);
	assert_int_equal(harness_sub_metric(t.met, RP_MET, "repair_requests"), 3);
	assert_int_equal(rp_find(&t, 1, "", 0, NULL), 10);
	for (uint64_t s = 5; s <= 14; s++) {
		re.n_samples = 0;
		live.n_samples = 0;
		rp_find(&t, 1, live.run, s, &re);
		rp_find(&t, 0, live.run, s, &live);
		assert_true(re.n_samples > 0 && live.n_samples > 0);
		assert_true(re.seq == s && live.seq == s);
		assert_same_but_replay(&live, &re);
	}
	assert_int_equal(harness_pub_close(&p, 10000), 0);
	msg_raw_cleanup(&live);
	msg_raw_cleanup(&re);
	rp_stop(&t);
}

/* Wait for the replay of (run, seq). */
typedef struct want_msg {
	const char *run;
	uint64_t seq;
} want_msg;

static int has_replay_of(const harness_msg *msgs, size_t n, void *ud)
{
	const want_msg *w = ud;
	char needle[160];
	snprintf(needle, sizeof(needle), "\"run\":\"%s\",\"seq\":%llu,\"replay\":true",
		 w->run, (unsigned long long)w->seq);
	for (size_t i = 0; i < n; i++)
		if (strstr(msgs[i].payload, needle))
			return 1;
	return 0;
}

static void test_beacon_after_restart(void **state)
{
	rp t;
	msg_raw m;
	want_msg w;
	char run[MSG_RUN_MAX + 1];
	uint64_t last = 0;
	size_t n;
	(void)state;

	rp_start(&t, "1");
	assert_int_equal(harness_sub_wait(t.raw, NULL, NULL, 20, 30000), 0);
	assert_true(harness_exited_ok(harness_stop(t.ing, SIGTERM, 10000)));
	t.ing = 0;
	/* the last live message of the run that ended */
	msg_raw_init(&m);
	n = harness_sub_count(t.raw);
	for (size_t i = 0; i < n; i++) {
		rp_get(&t, i, &m);
		if (!m.replay && m.seq >= last) {
			last = m.seq;
			snprintf(run, sizeof(run), "%s", m.run);
		}
	}
	msg_raw_cleanup(&m);
	rp_ingest(&t, "1");
	assert_int_equal(harness_wait_file_count(t.ilog, "messages held", 1, 10000), 0);
	w.run = run;
	w.seq = last;
	if (harness_sub_wait(t.raw, has_replay_of, &w, 0, 15000)) {
		fprintf(stderr, "no beacon of %s seq %llu; log %s\n", run,
			(unsigned long long)last, t.ilog);
		fail();
	}
	assert_true(harness_sub_wait_metric(t.met, RP_MET, "beacons", 1, 10000, NULL) ==
		    0);
	rp_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repair_by_range),
	    cmocka_unit_test(test_beacon_after_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
