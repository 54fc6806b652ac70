/* pub — raw-message batching for ingest-bt (pub.h). */
#include "pub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pub_init(pub_batch *b, const char *sensor, const char *run, size_t max_samples,
	     int64_t max_ms)
{
	memset(b, 0, sizeof(*b));
	msg_raw_init(&b->m);
	if (max_samples < 1 || max_samples > MSG_MAX_SAMPLES || max_ms < 1 ||
	    strlen(sensor) > MSG_SENSOR_MAX || strlen(run) > MSG_RUN_MAX)
		return AM_EINVAL;
	snprintf(b->m.sensor, sizeof(b->m.sensor), "%s", sensor);
	snprintf(b->m.run, sizeof(b->m.run), "%s", run);
	b->max_samples = max_samples;
	b->max_ms = max_ms;
	b->next_frame = -1;
	return 0;
}

void pub_cleanup(pub_batch *b)
{
	if (!b)
		return;
	msg_raw_cleanup(&b->m);
	free(b->json);
	b->json = NULL;
	b->json_cap = 0;
}

size_t pub_rows(const pub_batch *b) { return b->m.n_samples; }

int pub_continues(const pub_batch *b, uint32_t layout, double rate_hz, int64_t frame)
{
	if (b->m.n_samples == 0)
		return 1;
	if (b->m.n_samples >= b->max_samples || layout != b->layout ||
	    rate_hz != b->m.rate_hz)
		return 0;
	if (b->m.has_frame0 != (frame >= 0))
		return 0;
	return frame < 0 || frame == b->next_frame;
}

int pub_add(pub_batch *b, uint32_t layout, const char *const *names, size_t n_ch,
	    double rate_hz, int64_t frame, const float *vals, double wall, int64_t now_ms)
{
	size_t row = b->m.n_samples;
	if (row == 0) {
		if (n_ch < 1 || n_ch > MSG_MAX_CHANNELS ||
		    n_ch * b->max_samples > MSG_MAX_VALUES)
			return AM_EINVAL;
		for (size_t i = 0; i < n_ch; i++) {
			if (strlen(names[i]) > MSG_CHANNEL_MAX)
				return AM_EINVAL;
			snprintf(b->m.channels[i], sizeof(b->m.channels[i]), "%s",
				 names[i]);
		}
		b->m.n_channels = n_ch;
		if (msg_raw_reserve(&b->m, b->max_samples))
			return AM_ENOMEM;
		b->layout = layout;
		b->m.rate_hz = rate_hz;
		b->m.t0 = wall;
		b->m.has_frame0 = frame >= 0;
		b->m.frame0 = frame >= 0 ? frame : 0;
		b->started_ms = now_ms;
	}
	memcpy(b->m.samples + row * b->m.n_channels, vals,
	       b->m.n_channels * sizeof(float));
	b->m.n_samples = row + 1;
	b->next_frame = frame >= 0 ? frame + 1 : -1;
	return 0;
}

int pub_due(const pub_batch *b, int64_t now_ms)
{
	return b->m.n_samples > 0 &&
	       (b->m.n_samples >= b->max_samples || now_ms - b->started_ms >= b->max_ms);
}

int64_t pub_deadline(const pub_batch *b)
{
	if (b->m.n_samples == 0)
		return INT64_MAX;
	return b->m.n_samples >= b->max_samples ? b->started_ms
						: b->started_ms + b->max_ms;
}

int pub_take(pub_batch *b, const char **json, size_t *len, const msg_raw **m, char *err,
	     size_t errlen)
{
	/* a float takes at most ~16 characters in JSON, plus separators */
	size_t need = 1024 + b->m.n_samples * (b->m.n_channels * 18 + 4) +
		      b->m.n_channels * (MSG_CHANNEL_MAX + 4);
	int rc;
	if (need > b->json_cap) {
		char *p = realloc(b->json, need);
		if (!p) {
			b->m.n_samples = 0;
			snprintf(err, errlen, "out of memory");
			return AM_ENOMEM;
		}
		b->json = p;
		b->json_cap = need;
	}
	rc = msg_raw_encode(&b->m, b->json, b->json_cap, len, err, errlen);
	b->taken = b->m; /* shares the sample block: never cleaned up itself */
	b->m.n_samples = 0;
	if (rc)
		return AM_EENCODE;
	b->m.seq++;
	if (m)
		*m = &b->taken;
	*json = b->json;
	return 0;
}
