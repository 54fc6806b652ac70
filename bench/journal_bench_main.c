/* journal-bench — what ingest-bt's journal (services/ingest-bt/journal.c)
 * costs on this machine for a plant's traffic: --sensors sensors at
 * --rate-hz, --per-msg samples a message, --channels channels (19: the
 * LPMS-B2's default output), --seconds of data appended as fast as the
 * machine allows, in time order, the fsync policy run on the data's own
 * clock (--fsync-ms: one fdatasync per that much data, as in service).
 *
 * Figures: CPU seconds per second of data (the share of one core the
 * journal takes), journal bytes per sample and the bytes the process
 * sent to the disk (/proc/self/io write_bytes) per sample, against the
 * float32 payload (write amplification) and the published JSON; the
 * fdatasync count and latency; then the cost of a restart (reopen: the
 * index rebuilt from the files) and of serving a repair (journal_get).
 *
 *   journal-bench --dir DIR [--sensors N] [--seconds S] [--rate-hz R]
 *                 [--per-msg K] [--channels C] [--fsync-ms F] [--max-mb M]
 *
 * Prints "key=value" lines and a sentence; never judges. */
#include "../services/ingest-bt/journal.h"
#include "clock.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double jb_now(void) { return (double)clock_mono_ns() / 1e9; }

/* CPU seconds of the process, user and system (fdatasync included). */
static double jb_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes this process caused to be sent to the storage layer. */
static long long jb_write_bytes(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "write_bytes: %lld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static double jb_arg(const char *s, double min, double max, const char *name)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || v < min || v > max) {
		fprintf(stderr, "journal-bench: %s must be %g..%g\n", name, min, max);
		exit(2);
	}
	return v;
}

/* Message seq of sensor k: slow sines, as a sensor's values vary. */
static void jb_fill(msg_raw *m, long k, long seq, long per, double rate)
{
	snprintf(m->sensor, sizeof(m->sensor), "bench-%05ld", k);
	m->seq = (uint64_t)seq;
	m->t0 = 1764151200.0 + (double)(seq * per) / rate + (double)k * 1e-4;
	m->n_samples = (size_t)per;
	for (size_t i = 0; i < m->n_samples * m->n_channels; i++)
		m->samples[i] =
		    (float)((double)((seq * per + (long)i) % 977) * 1e-3 + (double)k);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	long sensors = 1000, per = 10, nch = 19;
	double seconds = 10, rate = 50, fsync_ms = 1000, max_mb = 256;
	journal_options o;
	journal *j = NULL;
	journal_stats st, w; /* after the reopen; of the writing */
	msg_raw m;
	char err[256], *json = malloc(MSG_MAX_PAYLOAD + 1);
	long ticks, n_msgs = 0;
	long long json_bytes = 0, json_n = 0, wb0, wb1;
	double t0, c0, wall, cpu, period, reopen_s, get_us, sync_total_us = 0;
	int64_t syncs = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--dir"))
			dir = v;
		else if (!strcmp(a, "--sensors"))
			sensors = (long)jb_arg(v, 1, 1e6, a);
		else if (!strcmp(a, "--seconds"))
			seconds = jb_arg(v, 0.1, 3600, a);
		else if (!strcmp(a, "--rate-hz"))
			rate = jb_arg(v, 1, 1000, a);
		else if (!strcmp(a, "--per-msg"))
			per = (long)jb_arg(v, 1, 4096, a);
		else if (!strcmp(a, "--channels"))
			nch = (long)jb_arg(v, 1, MSG_MAX_CHANNELS, a);
		else if (!strcmp(a, "--fsync-ms"))
			fsync_ms = jb_arg(v, -1, 60000, a);
		else if (!strcmp(a, "--max-mb"))
			max_mb = jb_arg(v, 1, 1e6, a);
		else {
			fprintf(stderr, "journal-bench: unknown option %s\n", a);
			return 2;
		}
	}
	if (!dir || !json) {
		fprintf(stderr,
			"usage: journal-bench --dir DIR [--sensors N] [--seconds S] "
			"[--rate-hz R] [--per-msg K] [--channels C] [--fsync-ms F] "
			"[--max-mb M]\n");
		return 2;
	}
	msg_raw_init(&m);
	snprintf(m.run, sizeof(m.run), "6f2a91c0");
	m.rate_hz = rate;
	m.n_channels = (size_t)nch;
	for (long c = 0; c < nch; c++)
		snprintf(m.channels[c], sizeof(m.channels[c]), "ch%ld_%s", c,
			 c % 3 == 0   ? "x"
			 : c % 3 == 1 ? "y"
				      : "z");
	if (msg_raw_reserve(&m, (size_t)per)) {
		fprintf(stderr, "journal-bench: out of memory\n");
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.max_bytes = (int64_t)(max_mb * 1048576);
	o.max_age_s = 1e7;
	o.fsync_ms = (int)fsync_ms;
	if (journal_open(&j, &o, err, sizeof(err))) {
		fprintf(stderr, "journal-bench: %s\n", err);
		return 1;
	}
	period = (double)per / rate; /* seconds of data per message */
	ticks = (long)(seconds / period);
	wb0 = jb_write_bytes();
	t0 = jb_now();
	c0 = jb_cpu();
	for (long t = 0; t < ticks; t++)
		for (long k = 0; k < sensors; k++) {
			/* the data's clock: sensors spread evenly over the period */
			int64_t now_ms =
			    (int64_t)(((double)t + (double)k / (double)sensors) * period *
				      1000);
			jb_fill(&m, k, t, per, rate);
			int rc = journal_append(j, &m, now_ms, err, sizeof(err));
			if (!rc &&
			    (rc = journal_sync(j, now_ms, 0, err, sizeof(err))) == 1) {
				journal_get_stats(j, &st);
				syncs++;
				sync_total_us += (double)st.sync_us_last;
				rc = 0;
			}
			if (rc) {
				fprintf(stderr, "journal-bench: %s\n", err);
				return 1;
			}
			n_msgs++;
		}
	journal_sync(j, 0, 1, err, sizeof(err));
	wall = jb_now() - t0;
	cpu = jb_cpu() - c0;
	wb1 = jb_write_bytes();
	journal_get_stats(j, &w);
	/* the JSON the same messages are published as (a sample of them) */
	for (long q = 0; q < n_msgs && q < 2000; q++) {
		size_t len;
		jb_fill(&m, q % sensors, q / sensors, per, rate);
		if (!msg_raw_encode(&m, json, MSG_MAX_PAYLOAD + 1, &len, err,
				    sizeof(err))) {
			json_bytes += (long long)len;
			json_n++;
		}
	}
	journal_close(j);
	/* a restart: the index rebuilt from the files */
	t0 = jb_now();
	if (journal_open(&j, &o, err, sizeof(err))) {
		fprintf(stderr, "journal-bench: reopen: %s\n", err);
		return 1;
	}
	reopen_s = jb_now() - t0;
	journal_get_stats(j, &st);
	{
		/* serving a repair: messages read back at random */
		long n_get = 20000, got = 0;
		unsigned long long x = 88172645463325252ull;
		t0 = jb_now();
		for (long i = 0; i < n_get; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			snprintf(m.sensor, sizeof(m.sensor), "bench-%05ld",
				 (long)(x % (unsigned long long)sensors));
			got += journal_get(j, m.sensor, m.run,
					   (x >> 20) % (unsigned long long)ticks, &m, err,
					   sizeof(err)) == 1;
		}
		get_us = (jb_now() - t0) * 1e6 / (double)n_get;
		printf("get_found=%ld/%ld\n", got, n_get);
	}
	{
		double samples = (double)n_msgs * (double)per;
		double payload = samples * (double)nch * 4;
		double held_samples = (double)st.records * (double)per;
		printf("sensors=%ld rate_hz=%g per_msg=%ld channels=%ld data_s=%g "
		       "fsync_ms=%g max_mb=%g\n",
		       sensors, rate, per, nch, (double)ticks * period, fsync_ms, max_mb);
		printf("messages=%ld samples=%.0f wall_s=%.2f cpu_s=%.2f "
		       "cpu_share_of_one_core=%.1f%%\n",
		       n_msgs, samples, wall, cpu, 100 * cpu / ((double)ticks * period));
		printf("journal_bytes_per_sample=%.1f float32_payload_per_sample=%ld "
		       "json_bytes_per_sample=%.1f\n",
		       (double)w.append_bytes / samples, nch * 4,
		       json_n ? (double)json_bytes / (double)json_n / (double)per : 0);
		printf("disk_write_bytes_per_sample=%.1f write_amplification=%.2f "
		       "(disk bytes / float32 payload) journal_vs_json=%.2f\n",
		       (double)(wb1 - wb0) / samples, (double)(wb1 - wb0) / payload,
		       json_n ? (double)w.append_bytes /
				    ((double)json_bytes / (double)json_n * (double)n_msgs)
			      : 0);
		printf("fdatasyncs=%lld sync_ms_mean=%.1f sync_ms_max=%.1f "
		       "journal_mb_per_s_of_data=%.2f\n",
		       (long long)syncs, syncs ? sync_total_us / 1000 / (double)syncs : 0,
		       (double)w.sync_us_max / 1000,
		       (double)w.append_bytes / 1048576 / ((double)ticks * period));
		printf("reopen_s=%.2f records_held=%lld segments=%lld evicted=%lld "
		       "index_bytes_per_message=%.1f seconds_held=%.0f get_us=%.1f\n",
		       reopen_s, (long long)st.records, (long long)st.segments,
		       (long long)st.evicted,
		       st.records ? (double)st.index_bytes / (double)st.records : 0,
		       held_samples / ((double)sensors * rate), get_us);
	}
	journal_close(j);
	msg_raw_cleanup(&m);
	free(json);
	return 0;
}
