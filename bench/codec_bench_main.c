/* codec-bench — the message codec's hot paths alone (common/msg*.c): encode
 * and decode a raw message as scorer-load plays it (3 channels, 10 samples
 * of a sine with noise) and a prediction as the scorer publishes it, each
 * --iterations times, and print the time per call. Under
 *   valgrind --tool=callgrind bin/codec-bench --iterations 2000
 * the instruction counts per function are exact and repeatable whatever
 * else the machine runs: the before/after figure for codec changes. */
#include "clock.h"
#include "msg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double per_call_ns(int64_t t0, long n)
{
	return (double)(clock_mono_ns() - t0) / n;
}

int main(int argc, char **argv)
{
	long n =
	    argc > 2 && strcmp(argv[1], "--iterations") == 0 ? atol(argv[2]) : 100000;
	msg_raw r, back;
	msg_prediction p, pb;
	char *raw = malloc(MSG_MAX_PAYLOAD), pred[1024], err[MSG_ERR_MAX];
	size_t raw_len = 0, pred_len = 0;
	int64_t t0;
	int bad = 0;

	if (!raw || n < 1)
		return 1;
	msg_raw_init(&r);
	msg_raw_init(&back);
	snprintf(r.sensor, sizeof(r.sensor), "load17");
	snprintf(r.run, sizeof(r.run), "load4242");
	r.seq = 12345;
	r.t0 = 1764151200.123456;
	r.rate_hz = 50;
	r.has_frame0 = 1;
	r.frame0 = 123450;
	r.n_channels = 3;
	for (size_t c = 0; c < 3; c++)
		snprintf(r.channels[c], sizeof(r.channels[c]), "linacc_%c",
			 (int)('x' + c));
	if (msg_raw_reserve(&r, 10))
		return 1;
	r.n_samples = 10;
	for (size_t k = 0; k < 10; k++)
		for (size_t c = 0; c < 3; c++)
			r.samples[k * 3 + c] =
			    (float)(0.01 * sin(0.05 * (double)k + (double)(17 + c)) +
				    0.002 * sin(1.7 * (double)k * (double)(c + 1)));
	memset(&p, 0, sizeof(p));
	snprintf(p.sensor, sizeof(p.sensor), "load17");
	p.t = 1764151204.103456;
	p.t_start = 1764151200.123456;
	p.n = 200;
	p.score = 0.012345678f;
	p.threshold = 0.0158f;
	snprintf(p.model, sizeof(p.model), "lpms-linacc@1a2b3c4d");
	p.latency_ms = 0.412345;
	p.has_top = 1;
	p.top.n = 3;
	for (size_t c = 0; c < 3; c++) {
		snprintf(p.top.c[c].channel, sizeof(p.top.c[c].channel), "linacc_%c",
			 (int)('x' + c));
		p.top.c[c].share = c == 0 ? 0.512 : c == 1 ? 0.301 : 0.187;
	}

	t0 = clock_mono_ns();
	for (long i = 0; i < n; i++)
		bad |=
		    msg_raw_encode(&r, raw, MSG_MAX_PAYLOAD, &raw_len, err, sizeof(err));
	printf("raw encode        %8.0f ns  (%zu bytes)\n", per_call_ns(t0, n), raw_len);
	t0 = clock_mono_ns();
	for (long i = 0; i < n; i++)
		bad |= msg_raw_decode(raw, raw_len, &back, err, sizeof(err));
	printf("raw decode        %8.0f ns\n", per_call_ns(t0, n));
	t0 = clock_mono_ns();
	for (long i = 0; i < n; i++)
		bad |= msg_prediction_encode(&p, pred, sizeof(pred), &pred_len, err,
					     sizeof(err));
	printf("prediction encode %8.0f ns  (%zu bytes)\n", per_call_ns(t0, n), pred_len);
	t0 = clock_mono_ns();
	for (long i = 0; i < n; i++)
		bad |= msg_prediction_decode(pred, pred_len, &pb, err, sizeof(err));
	printf("prediction decode %8.0f ns\n", per_call_ns(t0, n));
	if (bad || back.n_samples != 10 ||
	    memcmp(back.samples, r.samples, 30 * sizeof(float)) || pb.t != p.t ||
	    pb.score != p.score) {
		fprintf(stderr, "codec-bench: a round trip failed: %s\n", err);
		return 1;
	}
	msg_raw_cleanup(&r);
	msg_raw_cleanup(&back);
	free(raw);
	return 0;
}
