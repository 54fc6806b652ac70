/* archiver-bench — how fast the archiver's store takes raw samples on this
 * machine: sustained samples/s into SQLite (batched commits as the
 * archiver makes them), bytes on disk per sample, CPU seconds. With
 * --json the timed loop also decodes every message from its contract JSON
 * (msg_raw_decode; encoded before the clock starts), i.e. the archiver's
 * per-message work except the spool and MQTT. With --sensors S the
 * messages go round-robin to S sensors (each its own run and sequence), the
 * way a plant's traffic interleaves: it times the store's per-sensor
 * lookups (ids, each run's highest seq) as well as the inserts.
 *
 *   archiver-bench [--db PATH] [--messages N] [--samples-per-msg K]
 *                  [--channels C] [--commit-max M] [--sensors S] [--json]
 *
 * Prints one line of "key=value" figures (and a human sentence). */
#include "../services/archiver/store.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double bench_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long bench_arg(const char *s, long min, long max, const char *name)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v < min || v > max) {
		fprintf(stderr, "archiver-bench: %s must be %ld..%ld\n", name, min, max);
		exit(2);
	}
	return v;
}

/* Sensor k of n: "bench-lpms" when there is one (the figures of earlier
 * runs), else "bench-00042". */
static void bench_sensor(msg_raw *m, long k, long n)
{
	if (n == 1)
		snprintf(m->sensor, sizeof(m->sensor), "bench-lpms");
	else
		snprintf(m->sensor, sizeof(m->sensor), "bench-%05ld", k);
}

/* Message q of the stream: sensor q % n, its (q / n)-th message, samples
 * following on at 50 Hz. */
static void bench_next(msg_raw *m, long q, long n, long per)
{
	long k = q % n, seq = q / n;
	if (n > 1)
		bench_sensor(m, k, n);
	m->seq = (uint64_t)seq;
	m->t0 = 1764151200.0 + (double)seq * (double)per / 50.0;
}

static long long bench_size(const char *path)
{
	struct stat st;
	char p[4200];
	long long total = 0;
	const char *sfx[] = {"", "-wal"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		if (stat(p, &st) == 0)
			total += (long long)st.st_size;
	}
	return total;
}

int main(int argc, char **argv)
{
	const char *db = "/tmp/archiver-bench.db";
	long n_msgs = 200000, per = 10, nc = 3, commit_max = 1000, n_sensors = 1;
	int json = 0;
	store_options o;
	store *s = NULL;
	msg_raw m;
	char err[256], path[4200];
	char *payload = NULL;
	size_t plen = 0, pcap = 0, *offs = NULL;
	float *vals;
	double t_start, c_start, el, cpu;
	long long bytes;
	store_stats st;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		if (!v || !strcmp(a, "--help")) {
			fprintf(stderr,
				"usage: archiver-bench [--db PATH] [--messages N] "
				"[--samples-per-msg K] [--channels C] [--commit-max M] "
				"[--sensors S] [--json]\n");
			return !strcmp(a, "--help") ? 0 : 2;
		}
		if (!strcmp(a, "--db"))
			db = v;
		else if (!strcmp(a, "--messages"))
			n_msgs = bench_arg(v, 1, 100000000, a);
		else if (!strcmp(a, "--samples-per-msg"))
			per = bench_arg(v, 1, MSG_MAX_SAMPLES, a);
		else if (!strcmp(a, "--channels"))
			nc = bench_arg(v, 1, 16, a);
		else if (!strcmp(a, "--commit-max"))
			commit_max = bench_arg(v, 1, 1000000, a);
		else if (!strcmp(a, "--sensors"))
			n_sensors = bench_arg(v, 1, 1000000, a);
		else {
			fprintf(stderr, "archiver-bench: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *sfx[] = {"", "-wal", "-shm"};
		snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
		unlink(path);
	}
	msg_raw_init(&m);
	bench_sensor(&m, 0, n_sensors);
	snprintf(m.run, sizeof(m.run), "6f2a91c0");
	m.rate_hz = 50;
	m.n_channels = (size_t)nc;
	for (long c = 0; c < nc; c++)
		snprintf(m.channels[c], sizeof(m.channels[c]), "ch_%ld", c);
	if (msg_raw_reserve(&m, (size_t)per)) {
		fprintf(stderr, "archiver-bench: out of memory\n");
		return 1;
	}
	m.n_samples = (size_t)per;
	vals = m.samples;
	for (long i = 0; i < per * nc; i++)
		vals[i] = (float)((i * 7919) % 1000) * 0.001f - 0.5f;
	if (json) {
		pcap = 1 << 20;
		payload = malloc(pcap);
		offs = calloc((size_t)n_msgs + 1, sizeof(*offs));
		if (!payload || !offs)
			return 1;
	}

	store_options_default(&o);
	o.path = db;
	if (store_open(&s, &o, err, sizeof(err))) {
		fprintf(stderr, "archiver-bench: %s\n", err);
		return 1;
	}
	if (json) {
		/* encode every message before the clock starts: the figure is
		 * decode + store, what the archiver does per message */
		for (long q = 0; q < n_msgs; q++) {
			size_t len;
			bench_next(&m, q, n_sensors, per);
			if (plen + 65536 > pcap) {
				char *b = realloc(payload, pcap * 2);
				if (!b)
					return 1;
				payload = b;
				pcap *= 2;
			}
			if (msg_raw_encode(&m, payload + plen, pcap - plen - 1, &len, err,
					   sizeof(err))) {
				fprintf(stderr, "archiver-bench: %s\n", err);
				return 1;
			}
			offs[q] = plen;
			plen += len + 1;
		}
		offs[n_msgs] = plen;
	}
	t_start = bench_now();
	c_start = bench_cpu();
	for (long q = 0; q < n_msgs; q++) {
		if (json) {
			if (msg_raw_decode(payload + offs[q], offs[q + 1] - offs[q] - 1,
					   &m, err, sizeof(err))) {
				fprintf(stderr, "archiver-bench: %s\n", err);
				return 1;
			}
		} else {
			bench_next(&m, q, n_sensors, per);
		}
		if (store_put_raw(s, &m, m.t0, NULL, err, sizeof(err)) ||
		    ((q + 1) % commit_max == 0 && store_commit(s, err, sizeof(err)))) {
			fprintf(stderr, "archiver-bench: %s\n", err);
			return 1;
		}
	}
	if (store_commit(s, err, sizeof(err))) {
		fprintf(stderr, "archiver-bench: %s\n", err);
		return 1;
	}
	el = bench_now() - t_start;
	cpu = bench_cpu() - c_start;
	store_get_stats(s, &st);
	store_close(s); /* checkpoints the WAL into the database file */
	bytes = bench_size(db);
	printf("messages=%ld sensors=%ld samples_per_msg=%ld channels=%ld commit_max=%ld "
	       "json=%d "
	       "seconds=%.2f samples_per_s=%.0f msgs_per_s=%.0f cpu_s=%.2f cpu_pct=%.0f "
	       "bytes_per_sample=%.1f db_bytes=%lld\n",
	       n_msgs, n_sensors, per, nc, commit_max, json, el, (double)st.samples / el,
	       (double)n_msgs / el, cpu, 100.0 * cpu / el,
	       (double)bytes / (double)st.samples, bytes);
	msg_raw_cleanup(&m);
	free(payload);
	free(offs);
	return 0;
}
