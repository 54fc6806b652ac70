/* jrec — the journal's record format (jrec.h). The writer checks m
 * against msg.h's caps before writing, and the reader checks every length
 * against what is left of the body, so a record that passed its CRC but
 * came from a different writer (or a bug) is refused, never read past. */
#include "jrec.h"

#include "crc32.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t jrec_size(const msg_raw *m)
{
	size_t n = JREC_HDR + 1 + strlen(m->sensor) + 1 + strlen(m->run) + 8 * 4 + 1 + 2;
	for (size_t c = 0; c < m->n_channels && c < MSG_MAX_CHANNELS; c++)
		n += 1 + strlen(m->channels[c]);
	return n + m->n_samples * m->n_channels * sizeof(float);
}

/* Append len bytes at *p (the caller has checked the room). */
static unsigned char *jrec__put(unsigned char *p, const void *v, size_t len)
{
	memcpy(p, v, len);
	return p + len;
}

static unsigned char *jrec__put_str(unsigned char *p, const char *s)
{
	uint8_t n = (uint8_t)strlen(s);
	*p++ = n;
	return jrec__put(p, s, n);
}

int jrec_encode(const msg_raw *m, unsigned char *out, size_t cap, size_t *len)
{
	size_t need, body;
	unsigned char *p = out + JREC_HDR;
	uint32_t hdr[3];
	int64_t frame0 = m->has_frame0 ? m->frame0 : -1;
	uint8_t nc = (uint8_t)m->n_channels;
	uint16_t ns = (uint16_t)m->n_samples;

	*len = 0;
	if (strlen(m->sensor) > MSG_SENSOR_MAX || strlen(m->run) > MSG_RUN_MAX ||
	    m->n_channels < 1 || m->n_channels > MSG_MAX_CHANNELS || m->n_samples < 1 ||
	    m->n_samples > MSG_MAX_SAMPLES ||
	    m->n_samples * m->n_channels > MSG_MAX_VALUES || !m->samples)
		return AM_EFORMAT;
	for (size_t c = 0; c < m->n_channels; c++)
		if (strlen(m->channels[c]) > MSG_CHANNEL_MAX)
			return AM_EFORMAT;
	need = jrec_size(m);
	if (need > cap)
		return AM_ETOOBIG;
	p = jrec__put_str(p, m->sensor);
	p = jrec__put_str(p, m->run);
	p = jrec__put(p, &m->seq, 8);
	p = jrec__put(p, &m->t0, 8);
	p = jrec__put(p, &m->rate_hz, 8);
	p = jrec__put(p, &frame0, 8);
	p = jrec__put(p, &nc, 1);
	p = jrec__put(p, &ns, 2);
	for (size_t c = 0; c < m->n_channels; c++)
		p = jrec__put_str(p, m->channels[c]);
	p = jrec__put(p, m->samples, m->n_samples * m->n_channels * sizeof(float));
	body = (size_t)(p - out) - JREC_HDR;
	hdr[0] = JREC_MAGIC;
	hdr[1] = (uint32_t)body;
	hdr[2] = crc32_update(0, out + JREC_HDR, body);
	memcpy(out, hdr, sizeof(hdr));
	*len = need;
	return 0;
}

int jrec_header(const unsigned char *hdr, uint32_t *body_len, uint32_t *crc)
{
	uint32_t h[3];
	memcpy(h, hdr, sizeof(h));
	if (h[0] != JREC_MAGIC || h[1] < 2 + 8 * 4 + 3 || h[1] > JREC_BODY_MAX)
		return AM_EFORMAT;
	*body_len = h[1];
	*crc = h[2];
	return 0;
}

/* A reader over a body: every take checks what is left. */
typedef struct jrec__rd {
	const unsigned char *p, *end;
	int bad;
} jrec__rd;

static void jrec__take(jrec__rd *r, void *v, size_t len)
{
	if (r->bad || (size_t)(r->end - r->p) < len) {
		r->bad = 1;
		memset(v, 0, len);
		return;
	}
	memcpy(v, r->p, len);
	r->p += len;
}

/* A length-prefixed string into out (cap bytes with the NUL); empty or
 * longer than max is bad. */
static void jrec__take_str(jrec__rd *r, char *out, size_t max)
{
	uint8_t n = 0;
	jrec__take(r, &n, 1);
	if (!r->bad && (n == 0 || n > max))
		r->bad = 1;
	if (r->bad) {
		out[0] = 0;
		return;
	}
	jrec__take(r, out, n);
	out[r->bad ? 0 : n] = 0;
}

/* The fixed part of a body, up to the channel names. */
typedef struct jrec__head {
	jrec_key k;
	double rate;
	int64_t frame0;
	uint8_t nc;
	uint16_t ns;
} jrec__head;

/* Run ids are text without control characters (the index keys on it). */
static int jrec__run_ok(const char *run)
{
	for (const char *p = run; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return text_utf8_valid(run);
}

static int jrec__head_read(jrec__rd *r, jrec__head *h)
{
	memset(h, 0, sizeof(*h));
	jrec__take_str(r, h->k.sensor, MSG_SENSOR_MAX);
	jrec__take_str(r, h->k.run, MSG_RUN_MAX);
	jrec__take(r, &h->k.seq, 8);
	jrec__take(r, &h->k.t0, 8);
	jrec__take(r, &h->rate, 8);
	jrec__take(r, &h->frame0, 8);
	jrec__take(r, &h->nc, 1);
	jrec__take(r, &h->ns, 2);
	if (r->bad || !text_sensor_valid(h->k.sensor) || !jrec__run_ok(h->k.run) ||
	    !isfinite(h->k.t0) || !(h->rate > 0) || !isfinite(h->rate) || h->nc < 1 ||
	    h->nc > MSG_MAX_CHANNELS || h->ns < 1 || h->ns > MSG_MAX_SAMPLES ||
	    (size_t)h->ns * h->nc > MSG_MAX_VALUES)
		return AM_EFORMAT;
	h->k.t_end = h->k.t0 + (double)(h->ns - 1) / h->rate;
	return 0;
}

int jrec_peek(const unsigned char *body, size_t len, jrec_key *k)
{
	jrec__rd r = {body, body + len, 0};
	jrec__head h;
	int rc = jrec__head_read(&r, &h);
	if (!rc)
		*k = h.k;
	return rc;
}

int jrec_decode(const unsigned char *body, size_t len, msg_raw *out)
{
	jrec__rd r = {body, body + len, 0};
	jrec__head h;
	size_t vals;
	int rc = jrec__head_read(&r, &h);

	if (rc)
		return rc;
	for (size_t c = 0; c < h.nc; c++)
		jrec__take_str(&r, out->channels[c], MSG_CHANNEL_MAX);
	vals = (size_t)h.ns * h.nc;
	if (r.bad || (size_t)(r.end - r.p) != vals * sizeof(float))
		return AM_EFORMAT;
	out->n_channels = h.nc;
	if (msg_raw_reserve(out, h.ns)) {
		out->n_channels = 0;
		return AM_ENOMEM;
	}
	memcpy(out->samples, r.p, vals * sizeof(float));
	snprintf(out->sensor, sizeof(out->sensor), "%s", h.k.sensor);
	snprintf(out->run, sizeof(out->run), "%s", h.k.run);
	out->seq = h.k.seq;
	out->replay = 0;
	out->t0 = h.k.t0;
	out->rate_hz = h.rate;
	out->has_frame0 = h.frame0 >= 0;
	out->frame0 = h.frame0 >= 0 ? h.frame0 : 0;
	out->n_samples = h.ns;
	return 0;
}
