/* lpms — LPMS-B2 data frames, config register and calibration (lpms.h).
 *
 * One table describes the data frame: per output bit its position in the
 * payload, value count, contract channel names, the factor from wire units
 * to contract units (rad -> deg) and the int16-mode divisor. Decoder,
 * encoder and channel mapping all walk the same table, so they cannot
 * disagree on the order. Arithmetic is done in double and rounded to float
 * once, which keeps a float -> wire -> float round trip within an ulp. */
#include "lpms.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define RAD2DEG (180.0 / 3.14159265358979323846)

typedef struct lpms_field {
	uint32_t bit;
	size_t n;
	size_t off;    /* offsetof the float array/scalar in lpms_sample */
	double factor; /* contract unit = wire unit * factor */
	int div;       /* int16 divisor; 0: the quaternion scale */
	const char *names[4];
} lpms_field;

static const lpms_field fields[] = {
    {LPMS_OUT_GYR,
     3,
     offsetof(lpms_sample, gyr),
     RAD2DEG,
     1000,
     {"gyr_x", "gyr_y", "gyr_z"}},
    {LPMS_OUT_ACC, 3, offsetof(lpms_sample, acc), 1.0, 1000, {"acc_x", "acc_y", "acc_z"}},
    {LPMS_OUT_MAG, 3, offsetof(lpms_sample, mag), 1.0, 100, {"mag_x", "mag_y", "mag_z"}},
    {LPMS_OUT_ANGVEL,
     3,
     offsetof(lpms_sample, angvel),
     RAD2DEG,
     1000,
     {"angvel_x", "angvel_y", "angvel_z"}},
    {LPMS_OUT_QUAT,
     4,
     offsetof(lpms_sample, quat),
     1.0,
     0,
     {"quat_w", "quat_x", "quat_y", "quat_z"}},
    {LPMS_OUT_EULER,
     3,
     offsetof(lpms_sample, euler),
     RAD2DEG,
     0,
     {"euler_x", "euler_y", "euler_z"}},
    {LPMS_OUT_LINACC,
     3,
     offsetof(lpms_sample, linacc),
     1.0,
     1000,
     {"linacc_x", "linacc_y", "linacc_z"}},
    {LPMS_OUT_PRESSURE, 1, offsetof(lpms_sample, pressure), 1.0, 100, {"pressure"}},
    {LPMS_OUT_ALTITUDE, 1, offsetof(lpms_sample, altitude), 1.0, 10, {"altitude"}},
    {LPMS_OUT_TEMPERATURE,
     1,
     offsetof(lpms_sample, temperature),
     1.0,
     100,
     {"temperature"}},
    {LPMS_OUT_HEAVE, 1, offsetof(lpms_sample, heave), 1.0, 1000, {"heave"}},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const unsigned rates[] = {5, 10, 25, 50, 100, 200, 400};

static float *field_ptr(lpms_sample *s, const lpms_field *f)
{
	return (float *)(void *)((char *)s + f->off);
}

static const float *field_cptr(const lpms_sample *s, const lpms_field *f)
{
	return (const float *)(const void *)((const char *)s + f->off);
}

int lpms_rate_hz(int index)
{
	if (index < 0 || index >= (int)(sizeof(rates) / sizeof(rates[0])))
		return -1;
	return (int)rates[index];
}

int lpms_rate_index(unsigned rate_hz)
{
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i] == rate_hz)
			return (int)i;
	return -1;
}

unsigned lpms_ticks_per_sample(unsigned rate_hz)
{
	return lpms_rate_index(rate_hz) < 0 ? 0 : LPMS_TICK_HZ / rate_hz;
}

void lpms_config_decode(uint32_t reg, lpms_config *out)
{
	int hz = lpms_rate_hz((int)(reg & LPMS_CFG_RATE_MASK));
	out->rate_hz = hz < 0 ? 0 : (unsigned)hz;
	out->mask = reg & LPMS_OUT_ALL;
	out->int16 = (reg & LPMS_CFG_16BIT) != 0;
}

int lpms_config_encode(const lpms_config *c, uint32_t *reg)
{
	int idx = lpms_rate_index(c->rate_hz);
	if (idx < 0)
		return AM_EINVAL;
	*reg = (uint32_t)idx | (c->mask & LPMS_OUT_ALL) | (c->int16 ? LPMS_CFG_16BIT : 0);
	return 0;
}

int lpms_quat_scale(uint32_t major, uint32_t minor, uint32_t build)
{
	uint64_t v = ((uint64_t)major << 40) | ((uint64_t)(minor & 0xfffff) << 20) |
		     (build & 0xfffff);
	uint64_t ref = ((uint64_t)2 << 40) | ((uint64_t)0 << 20) | 5;
	return v >= ref ? 10000 : 1000;
}

uint32_t lpms_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

void lpms_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)((v >> 8) & 0xff);
	p[2] = (uint8_t)((v >> 16) & 0xff);
	p[3] = (uint8_t)(v >> 24);
}

static float get_f32(const uint8_t *p)
{
	uint32_t u = lpms_get_u32(p);
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

static void put_f32(uint8_t *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof(u));
	lpms_put_u32(p, u);
}

size_t lpms_data_len(const lpms_format *f)
{
	size_t n = 0;
	for (size_t i = 0; i < N_FIELDS; i++)
		if (f->mask & fields[i].bit)
			n += fields[i].n;
	return 4 + n * (f->int16 ? 2 : 4);
}

static int field_div(const lpms_field *fd, const lpms_format *f)
{
	return fd->div ? fd->div : (f->quat_scale > 0 ? f->quat_scale : 10000);
}

int lpms_decode_data(const uint8_t *payload, size_t len, const lpms_format *f,
		     lpms_sample *out)
{
	size_t pos = 4;
	if (len != lpms_data_len(f))
		return AM_ELENGTH;
	memset(out, 0, sizeof(*out));
	out->ticks = lpms_get_u32(payload);
	out->mask = f->mask & LPMS_OUT_ALL;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const lpms_field *fd = &fields[i];
		float *dst;
		if (!(f->mask & fd->bit))
			continue;
		dst = field_ptr(out, fd);
		for (size_t k = 0; k < fd->n; k++) {
			double wire;
			if (f->int16) {
				int16_t v = (int16_t)(uint16_t)(payload[pos] |
								(payload[pos + 1] << 8));
				wire = (double)v / field_div(fd, f);
				pos += 2;
			} else {
				wire = get_f32(payload + pos);
				pos += 4;
			}
			if (!isfinite(wire))
				return AM_EVALUE;
			dst[k] = (float)(wire * fd->factor);
			if (!isfinite(dst[k]))
				return AM_EVALUE;
		}
	}
	return 0;
}

int lpms_encode_data(const lpms_sample *s, const lpms_format *f, uint8_t *out, size_t cap,
		     size_t *len)
{
	size_t need = lpms_data_len(f), pos = 4;
	if (cap < need)
		return AM_ETOOBIG;
	lpms_put_u32(out, s->ticks);
	for (size_t i = 0; i < N_FIELDS; i++) {
		const lpms_field *fd = &fields[i];
		const float *src;
		if (!(f->mask & fd->bit))
			continue;
		src = field_cptr(s, fd);
		for (size_t k = 0; k < fd->n; k++) {
			double wire = (double)src[k] / fd->factor;
			if (!isfinite(wire))
				return AM_EVALUE;
			if (f->int16) {
				double v = nearbyint(wire * field_div(fd, f));
				int16_t q;
				if (v > 32767.0)
					v = 32767.0;
				if (v < -32768.0)
					v = -32768.0;
				q = (int16_t)v;
				out[pos] = (uint8_t)((uint16_t)q & 0xff);
				out[pos + 1] = (uint8_t)((uint16_t)q >> 8);
				pos += 2;
			} else {
				put_f32(out + pos, (float)wire);
				pos += 4;
			}
		}
	}
	*len = need;
	return 0;
}

static void mat_identity(float m[9])
{
	for (int i = 0; i < 9; i++)
		m[i] = (i % 4 == 0) ? 1.0f : 0.0f;
}

void lpms_calib_identity(lpms_calib *c)
{
	memset(c, 0, sizeof(*c));
	mat_identity(c->acc_align);
	mat_identity(c->gyr_align);
	mat_identity(c->mag_soft);
}

static void calib_vec(const float m[9], const float b[3], float v[3])
{
	double d[3], r[3];
	for (int i = 0; i < 3; i++)
		d[i] = (double)v[i] - b[i];
	for (int i = 0; i < 3; i++)
		r[i] = m[3 * i] * d[0] + m[3 * i + 1] * d[1] + m[3 * i + 2] * d[2];
	for (int i = 0; i < 3; i++)
		v[i] = (float)r[i];
}

void lpms_calib_apply(const lpms_calib *c, lpms_sample *s)
{
	if (s->mask & LPMS_OUT_ACC)
		calib_vec(c->acc_align, c->acc_bias, s->acc);
	if (s->mask & LPMS_OUT_GYR)
		calib_vec(c->gyr_align, c->gyr_bias, s->gyr);
	if (s->mask & LPMS_OUT_MAG)
		calib_vec(c->mag_soft, c->mag_hard, s->mag);
}

int lpms_read_floats(const uint8_t *payload, size_t len, float *out, size_t n)
{
	if (len != n * 4)
		return AM_ELENGTH;
	for (size_t i = 0; i < n; i++) {
		out[i] = get_f32(payload + 4 * i);
		if (!isfinite(out[i]))
			return AM_EVALUE;
	}
	return 0;
}

int lpms_calib_set(lpms_calib *c, uint16_t fn, const uint8_t *payload, size_t len)
{
	float tmp[9];
	float *dst;
	size_t n;
	int rc;
	switch (fn) {
	case LPMS_GET_ACC_BIAS:
		dst = c->acc_bias, n = 3;
		break;
	case LPMS_GET_ACC_ALIGNMENT:
		dst = c->acc_align, n = 9;
		break;
	case LPMS_GET_MAG_HARD_IRON:
		dst = c->mag_hard, n = 3;
		break;
	case LPMS_GET_MAG_SOFT_IRON:
		dst = c->mag_soft, n = 9;
		break;
	case LPMS_GET_GYR_BIAS:
		dst = c->gyr_bias, n = 3;
		break;
	case LPMS_GET_GYR_ALIGNMENT:
		dst = c->gyr_align, n = 9;
		break;
	default:
		return AM_EINVAL;
	}
	rc = lpms_read_floats(payload, len, tmp, n);
	if (rc)
		return rc;
	memcpy(dst, tmp, n * sizeof(float));
	return 0;
}

size_t lpms_channels(uint32_t mask, char names[][LPMS_CHANNEL_MAX], size_t max)
{
	size_t c = 0;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (!(mask & fields[i].bit))
			continue;
		for (size_t k = 0; k < fields[i].n && c < max; k++)
			snprintf(names[c++], LPMS_CHANNEL_MAX, "%s", fields[i].names[k]);
	}
	return c;
}

size_t lpms_sample_values(const lpms_sample *s, uint32_t mask, float *vals, size_t max)
{
	size_t c = 0;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const float *src;
		if (!(mask & fields[i].bit))
			continue;
		src = field_cptr(s, &fields[i]);
		for (size_t k = 0; k < fields[i].n && c < max; k++)
			vals[c++] = src[k];
	}
	return c;
}

int lpms_sample_set(lpms_sample *s, const char *name, float v, uint32_t *bit)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		for (size_t k = 0; k < fields[i].n; k++)
			if (strcmp(fields[i].names[k], name) == 0) {
				field_ptr(s, &fields[i])[k] = v;
				if (bit)
					*bit = fields[i].bit;
				return 0;
			}
	return AM_EINVAL;
}
