/* Integration tests for ingest-bt with lpms-emu and a real mosquitto. The
 * recording cases run twice: on a recording of the synthetic arm the test
 * writes (always) and on the real normal_20170202_2229.csv (optional: from
 * ../shared or ANOMESH_SHARED; without it they print why and skip):
 *  - replaying the recording over TCP, a subscriber gets every sample in
 *    order, equal to the CSV within float32 precision, under the contract's
 *    channel names; so does the synthetic arm streamed live, equal to what
 *    the arm produces;
 *  - with corrupted bytes, dropped frames, stalls and disconnects injected,
 *    ingest recovers by itself, counts exactly what it lost, never
 *    publishes a corrupt sample and never crashes;
 *  - broker down for 10 s while streaming: no sample lost;
 *  - a bt: source without an adapter fails clearly and is retried;
 *  - an LPMS on a serial line (the emulator's pty) streams too;
 *  - a csv: source replays a log with all its columns, at the log's own
 *    rate, and exits when done. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "../harness/harness.h"
#include "../harness/mesh.h"
#include "../harness/synth.h"
#include "csv.h"
#include "msg.h"

#define CSV_REL "data/lpms-b2/normal_20170202_2229.csv"
#define ARM_RATE 50 /* the emulator's stream rate, which ingest keeps */

/* What the tests stream: a recording (its rows by frame number) or, with
 * path NULL, the synthetic arm live (its samples at ARM_RATE). */
typedef struct recording {
	const char *path;     /* NULL: the live arm (arm_seed) */
	const char *log_rate; /* rate_hz a csv: source takes from its timestamps */
	size_t n_rows;        /* rows of the CSV; the live arm: frames awaited */
	unsigned arm_seed;    /* the synthetic arm's seed (0: the real recording) */
	csv_table tab;
} recording;

/* The real recording (optional); 240 s of the arm of seed 5 at 25 Hz (a
 * rate of its own, so the csv: source case shows the log's rate is taken);
 * the arm of seed 6 live, 6,000 frames. */
static recording g_real = {NULL, "45.1", 6613, 0, {0}};
static recording g_synth = {NULL, "25", 6000, 5, {0}};
static recording g_live = {NULL, NULL, 6000, 6, {0}};

static void arm_of(const recording *rec, arm_params *p)
{
	arm_params_default(p);
	p->seed = rec->arm_seed;
}

/* The recording a case streams, loaded; a case on the real recording skips
 * (saying why) where it is missing. */
static recording *recording_need(void **state)
{
	recording *rec = *state;
	char err[256];
	if (rec == &g_real) {
		if (harness_shared_missing(CSV_REL))
			skip();
		rec->path = harness_shared(CSV_REL);
	}
	if (rec->path && rec->tab.n_rows == 0 &&
	    csv_read_file(rec->path, &rec->tab, err, sizeof(err)))
		fail_msg("cannot read %s: %s", rec->path, err);
	if (rec->path)
		assert_int_equal(rec->tab.n_rows, rec->n_rows);
	return rec;
}

/* ---- helpers ------------------------------------------------------------- */

/* Start lpms-emu with extra args; returns pid and the TCP port (or the pty
 * path in pty). */
static pid_t start_emu(const char *const *extra, char *port_or_pty, size_t len, int pty,
		       char *log, size_t loglen)
{
	pid_t pid = harness_emu_start(extra, pty, port_or_pty, len, log, loglen);
	assert_true(pid > 0);
	return pid;
}

static pid_t start_ingest(const harness_broker *b, const char *const *args, char *log,
			  size_t loglen)
{
	const char *argv[40];
	int n = 0;
	pid_t pid;
	argv[n++] = harness_bin("ingest-bt");
	argv[n++] = "--broker";
	argv[n++] = b->uri;
	argv[n++] = "--metrics-interval";
	argv[n++] = "300";
	for (int i = 0; args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = harness_spawn(argv, NULL, log, loglen);
	assert_true(pid > 0);
	return pid;
}

/* What a run of raw messages added up to. */
typedef struct tally {
	size_t msgs;         /* distinct (run, seq) */
	size_t samples;      /* rows in them */
	int64_t first_frame; /* of the first message */
	int64_t last_frame;  /* of the last row seen */
	size_t bad_values;   /* rows that differ from the CSV row of their frame */
	size_t order_errors; /* frame going backwards, seq out of order */
	size_t gaps;         /* frame jumps between consecutive messages */
	size_t name_errors;  /* channel names not contract names */
	char run[MSG_RUN_MAX + 1];
} tally;

static int is_contract_name(const char *n)
{
	static const char *const ok[] = {"acc_",   "gyr_",  "mag_",
					 "euler_", "quat_", "linacc_"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strncmp(n, ok[i], strlen(ok[i])))
			return 1;
	return !strcmp(n, "pressure") || !strcmp(n, "altitude") ||
	       !strcmp(n, "temperature") || !strcmp(n, "heave");
}

/* Where the reference value of a channel is: a CSV column, or the index in
 * lpms_sample_values() order for the live arm; -1 when it has none. */
static int ref_col(const recording *rec, const char *name)
{
	char names[LPMS_MAX_CHANNELS][LPMS_CHANNEL_MAX];
	size_t n;
	if (rec->path)
		return csv_col(&rec->tab, name);
	n = lpms_channels(LPMS_OUT_ALL, names, LPMS_MAX_CHANNELS);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}

/* The values a frame must carry: the CSV row of its frame number, or the
 * arm's sample of it. */
static const double *ref_row(const recording *rec, int64_t frame, double *out)
{
	float v[LPMS_MAX_CHANNELS];
	arm_params p;
	lpms_sample s;
	size_t n;
	if (rec->path)
		return rec->tab.values + (size_t)frame % rec->n_rows * rec->tab.n_cols;
	arm_of(rec, &p);
	arm_sample(&p, (uint64_t)frame, ARM_RATE, &s);
	n = lpms_sample_values(&s, LPMS_OUT_ALL, v, LPMS_MAX_CHANNELS);
	for (size_t i = 0; i < n; i++)
		out[i] = v[i];
	return out;
}

/* Decode every message collected so far, dedupe by seq, and compare each
 * sample with the reference row its frame number names. */
static void tally_sub(const recording *rec, harness_sub *s, tally *t)
{
	size_t n = harness_sub_count(s);
	msg_raw m;
	uint64_t next_seq = 0;
	memset(t, 0, sizeof(*t));
	t->first_frame = -1;
	t->last_frame = -1;
	msg_raw_init(&m);
	for (size_t i = 0; i < n; i++) {
		harness_msg hm;
		char err[MSG_ERR_MAX];
		int col[MSG_MAX_CHANNELS];
		assert_int_equal(harness_sub_get(s, i, &hm), 0);
		assert_int_equal(msg_raw_decode(hm.payload, hm.len, &m, err, sizeof(err)),
				 0);
		harness_msg_cleanup(&hm);
		if (t->msgs == 0)
			snprintf(t->run, sizeof(t->run), "%s", m.run);
		assert_string_equal(m.run, t->run); /* one process, one run */
		if (m.seq < next_seq)
			continue; /* a QoS 1 duplicate */
		if (m.seq != next_seq)
			t->order_errors++;
		next_seq = m.seq + 1;
		t->msgs++;
		assert_true(m.has_frame0);
		if (t->first_frame < 0)
			t->first_frame = m.frame0;
		if (t->last_frame >= 0) {
			if (m.frame0 <= t->last_frame)
				t->order_errors++;
			else if (m.frame0 != t->last_frame + 1)
				t->gaps++;
		}
		for (size_t c = 0; c < m.n_channels; c++) {
			col[c] = ref_col(rec, m.channels[c]);
			if (col[c] < 0 || !is_contract_name(m.channels[c]))
				t->name_errors++;
		}
		for (size_t r = 0; r < m.n_samples; r++) {
			int64_t frame = m.frame0 + (int64_t)r;
			double vals[LPMS_MAX_CHANNELS];
			const double *want_row = ref_row(rec, frame, vals);
			for (size_t c = 0; c < m.n_channels; c++) {
				double want, got = m.samples[r * m.n_channels + c];
				if (col[c] < 0)
					continue;
				want = want_row[col[c]];
				if (fabs(got - want) > 2e-6 * fabs(want) + 1e-6) {
					if (t->bad_values < 5)
						print_message(
						    "frame %lld %s: got %.9g want %.9g\n",
						    (long long)frame, m.channels[c], got,
						    want);
					t->bad_values++;
				}
			}
		}
		t->samples += m.n_samples;
		t->last_frame = m.frame0 + (int64_t)m.n_samples - 1;
	}
	msg_raw_cleanup(&m);
}

/* Metric value from the newest metrics message seen by sub, or -1. */
static long long last_metric(harness_sub *s, const char *name)
{
	return harness_sub_metric(s, NULL, name);
}

typedef struct want_frame {
	int64_t frame;
} want_frame;

/* Raw messages up to (and including) a given last frame have arrived. */
static int has_frame(const harness_msg *msgs, size_t n, void *ud)
{
	const want_frame *w = ud;
	for (size_t i = n; i-- > 0;) {
		const char *p = strstr(msgs[i].payload, "\"frame0\":");
		const char *q = strstr(msgs[i].payload, "\"samples\":[");
		long long f0;
		size_t rows = 0;
		if (!p || !q)
			continue;
		f0 = strtoll(p + 9, NULL, 10);
		for (q += 11; *q; q++)
			rows += *q == '[';
		if (f0 + (long long)rows - 1 >= w->frame)
			return 1;
	}
	return 0;
}

static int setup(void **state)
{
	arm_params p;
	(void)state;
	arm_of(&g_synth, &p);
	g_synth.path =
	    synth_arm_csv("arm-seed5-25hz.csv", &p, 25, (double)g_synth.n_rows / 25);
	return g_synth.path ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	csv_free(&g_real.tab);
	csv_free(&g_synth.tab);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

/* Stream rec from lpms-emu (over TCP, at speed) to ingest-bt until its
 * frame n_rows - 1 has arrived; tally what came. */
static void stream_all(const recording *rec, const char *speed, tally *t)
{
	harness_broker b;
	harness_sub *sub;
	char port[64], src[128], elog[512], ilog[512], seed[16];
	const char *replay[] = {
	    "--replay", rec->path, "--speed", speed, "--no-start-streaming", NULL};
	const char *live[] = {"--arm-seed",           seed, "--speed", speed,
			      "--no-start-streaming", NULL};
	want_frame w = {(int64_t)rec->n_rows - 1};
	pid_t emu, ing;
	int st;
	snprintf(seed, sizeof(seed), "%u", rec->arm_seed);
	memset(&b, 0, sizeof(b));
	assert_int_equal(harness_broker_start(&b, NULL), 0);
	sub = harness_sub_new(b.uri, "factory/arm1/raw", NULL, 0);
	assert_non_null(sub);
	emu = start_emu(rec->path ? replay : live, port, sizeof(port), 0, elog,
			sizeof(elog));
	snprintf(src, sizeof(src), "tcp:127.0.0.1:%s#arm1", port);
	{
		const char *args[] = {src, NULL};
		ing = start_ingest(&b, args, ilog, sizeof(ilog));
	}
	assert_int_equal(harness_sub_wait(sub, has_frame, &w, 0, 60000), 0);
	st = harness_stop(ing, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = harness_stop(emu, SIGTERM, 5000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tally_sub(rec, sub, t);
	harness_sub_free(sub);
	harness_broker_stop(&b);
}

static void test_replay_every_sample(void **state)
{
	const recording *rec = recording_need(state);
	tally t;
	stream_all(rec, "20", &t);
	assert_int_equal(t.first_frame, 0);
	assert_int_equal(t.last_frame, (int64_t)rec->n_rows - 1);
	assert_int_equal(t.samples, rec->n_rows);
	assert_int_equal(t.gaps, 0);
	assert_int_equal(t.order_errors, 0);
	assert_int_equal(t.bad_values, 0);
	assert_int_equal(t.name_errors, 0);
	assert_true(t.msgs >= rec->n_rows / 10);
}

/* The synthetic arm streamed live (no recording): every frame from 0 on,
 * equal within float32 to the arm's own sample of that frame. */
static void test_live_arm_every_sample(void **state)
{
	const recording *rec = recording_need(state);
	tally t;
	stream_all(rec, "20", &t);
	assert_int_equal(t.first_frame, 0);
	assert_true(t.last_frame >= (int64_t)rec->n_rows - 1);
	assert_int_equal(t.samples, (size_t)t.last_frame + 1);
	assert_int_equal(t.gaps, 0);
	assert_int_equal(t.order_errors, 0);
	assert_int_equal(t.bad_values, 0);
	assert_int_equal(t.name_errors, 0);
}

static void test_faults_recovered_and_counted(void **state)
{
	const recording *rec = recording_need(state);
	harness_broker b;
	harness_sub *sub, *met;
	char port[64], src[128], elog[512], ilog[512];
	const char *emu_args[] = {"--replay",
				  rec->path,
				  "--speed",
				  "20",
				  "--no-start-streaming",
				  "--seed",
				  "11",
				  "--corrupt-rate",
				  "0.05",
				  "--drop-rate",
				  "0.02",
				  "--stall-ms",
				  "1800",
				  "--stall-every",
				  "2000",
				  "--disconnect-every",
				  "1500",
				  NULL};
	tally t;
	pid_t emu, ing;
	long long end, lost, samples, gaps;
	int st;
	memset(&b, 0, sizeof(b));
	assert_int_equal(harness_broker_start(&b, NULL), 0);
	sub = harness_sub_new(b.uri, "factory/arm1/raw", NULL, 0);
	met = harness_sub_new(b.uri, "factory/_svc/ingest-bt/+/metrics", NULL, 0);
	assert_non_null(sub);
	assert_non_null(met);
	emu = start_emu(emu_args, port, sizeof(port), 0, elog, sizeof(elog));
	snprintf(src, sizeof(src), "tcp:127.0.0.1:%s#arm1", port);
	{
		const char *args[] = {
		    src,   "--backoff-min-ms", "50",   "--backoff-max-ms",
		    "200", "--silence-ms",     "1000", NULL};
		ing = start_ingest(&b, args, ilog, sizeof(ilog));
	}
	/* until the recording is played out and every counted sample is out */
	end = harness_now_ms() + 90000;
	for (;;) {
		assert_true(harness_now_ms() < end);
		if (harness_file_count(elog, "played to its end")) {
			tally_sub(rec, sub, &t);
			samples = last_metric(met, "samples_in");
			if (samples > 0 && (size_t)samples == t.samples &&
			    last_metric(met, "raw_published") == (long long)t.msgs)
				break;
		}
		harness_nap_ms(100);
	}
	lost = last_metric(met, "frames_lost");
	gaps = last_metric(met, "frame_gaps");
	/* never a corrupt or misplaced sample */
	assert_int_equal(t.bad_values, 0);
	assert_int_equal(t.order_errors, 0);
	assert_int_equal(t.name_errors, 0);
	/* losses happened, were noticed, and are counted exactly: every frame
	 * from the first to the last is either published or counted lost */
	assert_true(t.gaps > 0);
	assert_true(gaps >= (long long)t.gaps);
	assert_int_equal((long long)t.samples + lost, t.last_frame - t.first_frame + 1);
	assert_int_equal(last_metric(met, "arm1.frames_lost"), lost); /* per sensor too */
	assert_int_equal(last_metric(met, "arm1.samples_in"), (long long)t.samples);
	assert_true(t.samples > rec->n_rows / 2);
	assert_true(last_metric(met, "lpbus_bad_checksum") +
			last_metric(met, "lpbus_bad_end") +
			last_metric(met, "lpbus_bad_length") >
		    0);
	assert_true(last_metric(met, "link_failures") >= 3);
	assert_true(harness_file_count(ilog, "streaming 50 Hz") >=
		    4); /* it reconnected */
	assert_true(harness_file_count(ilog, "no valid data frame") >=
		    1); /* stalls noticed */
	assert_true(harness_file_count(ilog, "connection closed by the sensor side") >=
		    1);
	st = harness_stop(ing, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = harness_stop(emu, SIGTERM, 5000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	harness_sub_free(sub);
	harness_sub_free(met);
	harness_broker_stop(&b);
}

static void test_broker_down_no_loss(void **state)
{
	const recording *rec = recording_need(state);
	harness_broker b;
	harness_sub *sub;
	char port[64], src[128], elog[512], ilog[512];
	const char *emu_args[] = {
	    "--replay", rec->path, "--speed", "4", "--no-start-streaming", NULL};
	want_frame w = {300};
	tally t;
	pid_t emu, ing;
	long long until;
	int st;
	memset(&b, 0, sizeof(b));
	assert_int_equal(harness_broker_start(&b, "persistence true\n"), 0);
	sub = harness_sub_new(b.uri, "factory/arm1/raw", "itest-ingest-down", 1);
	assert_non_null(sub);
	emu = start_emu(emu_args, port, sizeof(port), 0, elog, sizeof(elog));
	snprintf(src, sizeof(src), "tcp:127.0.0.1:%s#arm1", port);
	{
		const char *args[] = {src, NULL};
		ing = start_ingest(&b, args, ilog, sizeof(ilog));
	}
	assert_int_equal(harness_sub_wait(sub, has_frame, &w, 0, 30000), 0);
	assert_int_equal(harness_broker_down(&b), 0);
	until = harness_now_ms() + 10000; /* the outage under test lasts 10 s */
	while (harness_now_ms() < until)
		harness_nap_ms(100);
	assert_int_equal(harness_broker_up(&b), 0);
	w.frame = (int64_t)rec->n_rows - 1;
	assert_int_equal(harness_sub_wait(sub, has_frame, &w, 0, 90000), 0);
	tally_sub(rec, sub, &t);
	assert_int_equal(t.first_frame, 0);
	assert_int_equal(t.samples, rec->n_rows);
	assert_int_equal(t.gaps, 0);
	assert_int_equal(t.order_errors, 0);
	assert_int_equal(t.bad_values, 0);
	st = harness_stop(ing, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = harness_stop(emu, SIGTERM, 5000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	harness_sub_free(sub);
	harness_broker_stop(&b);
}

static void test_bt_without_adapter_retries(void **state)
{
	harness_broker b;
	char ilog[512];
	const char *args[] = {"bt:00:04:3E:00:00:01#b2",
			      "--backoff-min-ms",
			      "100",
			      "--backoff-max-ms",
			      "200",
			      NULL};
	pid_t ing;
	long long end;
	int st;
	(void)state;
	memset(&b, 0, sizeof(b));
	assert_int_equal(harness_broker_start(&b, NULL), 0);
	ing = start_ingest(&b, args, ilog, sizeof(ilog));
	/* a clear line naming the sensor and address, then retries, and the
	 * process stays up */
	end = harness_now_ms() + 10000;
	while (harness_file_count(ilog, "sensor b2 (bt:00:04:3E:00:00:01)") < 3) {
		assert_true(harness_now_ms() < end);
		assert_int_equal(harness_wait_exit(ing, 50), -1);
	}
	assert_true(harness_file_count(ilog, "retrying in") >= 3);
	st = harness_stop(ing, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	harness_broker_stop(&b);
}

static void test_serial_pty(void **state)
{
	harness_broker b;
	harness_sub *sub;
	char pty[256], src[320], elog[512], ilog[512];
	const char *emu_args[] = {"--speed", "4", NULL}; /* synthetic arm motion */
	pid_t emu, ing;
	int st;
	(void)state;
	memset(&b, 0, sizeof(b));
	assert_int_equal(harness_broker_start(&b, NULL), 0);
	sub = harness_sub_new(b.uri, "factory/ser1/raw", NULL, 0);
	assert_non_null(sub);
	emu = start_emu(emu_args, pty, sizeof(pty), 1, elog, sizeof(elog));
	snprintf(src, sizeof(src), "serial:%s@115200#ser1", pty);
	{
		const char *args[] = {src, "--rate", "100", "--int16", NULL};
		ing = start_ingest(&b, args, ilog, sizeof(ilog));
	}
	assert_true(harness_sub_wait_topic(sub, "factory/ser1/raw", "\"rate_hz\":100",
					   20000) >= 0);
	assert_true(harness_sub_wait(sub, NULL, NULL, 20, 20000) == 0);
	assert_true(
	    harness_file_count(ilog, "streaming 100 Hz, 19 channels (int16 mode)") >= 1);
	st = harness_stop(ing, SIGTERM, 10000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = harness_stop(emu, SIGTERM, 5000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	harness_sub_free(sub);
	harness_broker_stop(&b);
}

static void test_csv_source(void **state)
{
	const recording *rec = recording_need(state);
	harness_broker b;
	harness_sub *sub;
	char src[512], ilog[512], rate[32];
	want_frame w = {(int64_t)rec->n_rows - 1};
	tally t;
	harness_msg hm;
	pid_t ing;
	int st;
	memset(&b, 0, sizeof(b));
	assert_int_equal(harness_broker_start(&b, NULL), 0);
	sub = harness_sub_new(b.uri, "factory/log1/raw", NULL, 0);
	assert_non_null(sub);
	snprintf(src, sizeof(src), "csv:%s@100#log1", rec->path);
	{
		const char *args[] = {src, "--exit-when-done", "--batch-samples", "50",
				      NULL};
		ing = start_ingest(&b, args, ilog, sizeof(ilog));
	}
	assert_int_equal(harness_sub_wait(sub, has_frame, &w, 0, 60000), 0);
	/* it leaves by itself once the file is out */
	st = harness_wait_exit(ing, 15000);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tally_sub(rec, sub, &t);
	assert_int_equal(t.samples, rec->n_rows);
	assert_int_equal(t.first_frame, 0);
	assert_int_equal(t.gaps, 0);
	assert_int_equal(t.order_errors, 0);
	assert_int_equal(t.bad_values, 0);
	assert_int_equal(t.name_errors, 0);
	/* every LPMS column of the log, and the log's own rate (~45 Hz; the
	 * synthetic log's 25 Hz), not the configured 50 Hz */
	assert_int_equal(harness_sub_get(sub, 0, &hm), 0);
	assert_non_null(strstr(hm.payload, "\"heave\""));
	snprintf(rate, sizeof(rate), "\"rate_hz\":%s", rec->log_rate);
	assert_non_null(strstr(hm.payload, rate));
	assert_null(strstr(hm.payload, "\"timestamp\""));
	harness_msg_cleanup(&hm);
	harness_sub_free(sub);
	harness_broker_stop(&b);
}

/* A case on one recording, named after it ("test_x_synthetic"). */
#define ON(f, rec, tag)                                                                  \
	{                                                                                \
#f "_" tag, f, NULL, NULL, &rec                                          \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    ON(test_replay_every_sample, g_synth, "synthetic"),
	    ON(test_replay_every_sample, g_real, "real"),
	    ON(test_live_arm_every_sample, g_live, "synthetic"),
	    ON(test_faults_recovered_and_counted, g_synth, "synthetic"),
	    ON(test_faults_recovered_and_counted, g_real, "real"),
	    ON(test_broker_down_no_loss, g_synth, "synthetic"),
	    ON(test_broker_down_no_loss, g_real, "real"),
	    cmocka_unit_test(test_bt_without_adapter_retries),
	    cmocka_unit_test(test_serial_pty),
	    ON(test_csv_source, g_synth, "synthetic"),
	    ON(test_csv_source, g_real, "real"),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
