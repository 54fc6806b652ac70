/* emu — LPMS-B2 emulator protocol core (see emu.h).
 *
 * Replies follow the legacy command set of lpbus.md: set commands get ACK
 * or NACK, get commands a reply with the same function code, everything
 * unknown a NACK. Faults are drawn from xorshift64* seeded by the options so
 * that a test run can be replayed exactly. */
#include "emu.h"

#include "csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EMU_FW_MAJOR 2
#define EMU_FW_MINOR 0
#define EMU_FW_BUILD 5

static uint64_t emu_rand(emu *e)
{
	uint64_t x = e->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return x * 2685821657736338717ULL;
}

/* Uniform in [0, 1). */
static double emu_unit(emu *e)
{
	return (double)(emu_rand(e) >> 11) / 9007199254740992.0;
}

void emu_init(emu *e, const emu_opts *o)
{
	memset(e, 0, sizeof(*e));
	e->o = *o;
	if (lpms_rate_index(e->o.rate_hz) < 0)
		e->o.rate_hz = 50;
	if (!(e->o.arm.cycle_s > 0))
		arm_params_default(&e->o.arm);
	lpbus_parser_init(&e->parser);
	e->streaming = o->start_streaming;
	e->rate_hz = e->o.rate_hz;
	e->mask = o->mask & LPMS_OUT_ALL;
	e->int16 = o->int16;
	e->imu_id = o->id;
	e->rng = ((uint64_t)o->seed << 1) ^ 0x9E3779B97F4A7C15ULL;
}

void emu_set_recording(emu *e, const lpms_sample *rows, size_t n)
{
	e->rows = n ? rows : NULL;
	e->n_rows = n;
}

int emu_finished(const emu *e) { return e->rows && !e->o.loop && e->k >= e->n_rows; }

int64_t emu_period_ns(const emu *e) { return 1000000000LL / (int64_t)e->rate_hz; }

void emu_synth_sample(uint64_t k, unsigned rate_hz, lpms_sample *s)
{
	arm_params p;
	arm_params_default(&p);
	arm_sample(&p, k, rate_hz, s);
}

/* The sample for index k in contract units. */
static void emu_sample(const emu *e, uint64_t k, lpms_sample *s)
{
	if (e->rows)
		*s = e->rows[k % e->n_rows];
	else
		arm_sample(&e->o.arm, k, e->rate_hz, s);
}

static int emu_data_payload(const emu *e, uint64_t k, uint32_t ticks, uint8_t *p,
			    size_t cap, size_t *len)
{
	lpms_sample s;
	lpms_format f = {e->mask, e->int16,
			 lpms_quat_scale(EMU_FW_MAJOR, EMU_FW_MINOR, EMU_FW_BUILD)};
	emu_sample(e, k, &s);
	s.ticks = ticks;
	return lpms_encode_data(&s, &f, p, cap, len);
}

static size_t emu_reply(emu *e, uint16_t fn, const void *pl, size_t len, uint8_t *out,
			size_t cap)
{
	size_t n = 0;
	if (lpbus_encode((uint16_t)e->imu_id, fn, pl, len, out, cap, &n))
		return 0;
	return n;
}

static void put_floats(uint8_t *p, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &v[i], 4);
		lpms_put_u32(p + 4 * i, u);
	}
}

/* Answer one command frame. Returns the reply's size in out. */
static size_t emu_command(emu *e, const lpbus_frame *f, uint8_t *out, size_t cap)
{
	static const float zero3[3] = {0, 0, 0};
	static const float ident[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
	uint8_t pl[LPBUS_MAX_PAYLOAD];
	uint32_t arg = f->len == 4 ? lpms_get_u32(f->payload) : 0;
	int ok = 1;
	size_t len = 0;
	e->stats.commands++;
	switch (f->function) {
	case LPMS_GOTO_COMMAND_MODE:
		e->streaming = 0;
		break;
	case LPMS_GOTO_STREAM_MODE:
		e->streaming = 1;
		break;
	case LPMS_SET_TRANSMIT_DATA:
		ok = f->len == 4;
		if (ok)
			e->mask = arg & LPMS_OUT_ALL;
		break;
	case LPMS_SET_STREAM_FREQ:
		ok = f->len == 4 && lpms_rate_index(arg) >= 0;
		if (ok) {
			/* keep the timeline continuous in ticks */
			e->rate_hz = arg;
		}
		break;
	case LPMS_WRITE_REGISTERS:
		break;
	case LPMS_SET_IMU_ID:
		ok = f->len == 4 && arg <= 0xffff;
		if (ok)
			e->imu_id = arg;
		break;
	case LPMS_SET_LPBUS_DATA_MODE:
		ok = f->len == 4 && arg <= 1;
		if (ok)
			e->int16 = (int)arg;
		break;
	case LPMS_GET_CONFIG: {
		lpms_config c = {e->rate_hz, e->mask, e->int16};
		uint32_t reg = 0;
		lpms_config_encode(&c, &reg);
		lpms_put_u32(pl, reg);
		return emu_reply(e, f->function, pl, 4, out, cap);
	}
	case LPMS_GET_STATUS:
		lpms_put_u32(pl, e->streaming ? LPMS_STATUS_STREAM : LPMS_STATUS_COMMAND);
		return emu_reply(e, f->function, pl, 4, out, cap);
	case LPMS_GET_IMU_ID:
		lpms_put_u32(pl, e->imu_id);
		return emu_reply(e, f->function, pl, 4, out, cap);
	case LPMS_GET_FIRMWARE_VERSION:
		lpms_put_u32(pl, EMU_FW_BUILD);
		lpms_put_u32(pl + 4, EMU_FW_MINOR);
		lpms_put_u32(pl + 8, EMU_FW_MAJOR);
		return emu_reply(e, f->function, pl, 12, out, cap);
	case LPMS_GET_ACC_BIAS:
	case LPMS_GET_MAG_HARD_IRON:
	case LPMS_GET_GYR_BIAS:
		put_floats(pl, zero3, 3);
		return emu_reply(e, f->function, pl, 12, out, cap);
	case LPMS_GET_ACC_ALIGNMENT:
	case LPMS_GET_MAG_SOFT_IRON:
	case LPMS_GET_GYR_ALIGNMENT:
		put_floats(pl, ident, 9);
		return emu_reply(e, f->function, pl, 36, out, cap);
	case LPMS_GET_BATTERY_LEVEL:
	case LPMS_GET_BATTERY_VOLTAGE: {
		float v = f->function == LPMS_GET_BATTERY_LEVEL ? 87.5f : 3.9f;
		put_floats(pl, &v, 1);
		return emu_reply(e, f->function, pl, 4, out, cap);
	}
	case LPMS_GET_SERIAL_NUMBER:
		memset(pl, 0, 24);
		memcpy(pl, "LPMSB2-EMU-000001", 17);
		return emu_reply(e, f->function, pl, 24, out, cap);
	case LPMS_GET_DEVICE_NAME:
		memset(pl, 0, 16);
		memcpy(pl, "LPMSB2-EMU0001", 14);
		return emu_reply(e, f->function, pl, 16, out, cap);
	case LPMS_GET_FIRMWARE_INFO:
		memset(pl, 0, 16);
		memcpy(pl, "2.0.5-emu", 9);
		return emu_reply(e, f->function, pl, 16, out, cap);
	case LPMS_GET_SENSOR_DATA:
		if (emu_data_payload(e, e->k, e->ticks, pl, sizeof(pl), &len))
			break;
		return emu_reply(e, f->function, pl, len, out, cap);
	default:
		ok = 0;
		break;
	}
	if (!ok)
		e->stats.nacks++;
	return emu_reply(e, ok ? LPMS_ACK : LPMS_NACK, NULL, 0, out, cap);
}

size_t emu_input(emu *e, const uint8_t *d, size_t n, uint8_t *out, size_t cap,
		 size_t *outlen)
{
	size_t used = 0;
	*outlen = 0;
	while (cap - *outlen >= LPBUS_MAX_FRAME) {
		lpbus_frame f;
		int got;
		size_t c = lpbus_parser_feed(&e->parser, d + used, n - used, &f, &got);
		used += c;
		if (!got)
			break;
		*outlen += emu_command(e, &f, out + *outlen, cap - *outlen);
	}
	return used;
}

int emu_next_frame(emu *e, uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t pl[LPBUS_MAX_PAYLOAD];
	size_t len = 0, pos = 0, fl = 0;
	uint64_t k = e->k;
	uint32_t ticks = e->ticks;
	*outlen = 0;
	if (emu_finished(e))
		return -1;
	e->k++;
	e->ticks += lpms_ticks_per_sample(e->rate_hz);
	e->stats.frames++;
	if (emu_data_payload(e, k, ticks, pl, sizeof(pl), &len))
		return 0;
	if (e->o.drop_rate > 0 && emu_unit(e) < e->o.drop_rate) {
		e->stats.dropped++;
		return 0;
	}
	if (e->o.corrupt_rate > 0 && emu_unit(e) < e->o.corrupt_rate) {
		e->stats.corrupted++;
		if (emu_rand(e) & 1) {
			/* garbage before the frame, 0x3A likely among it */
			size_t g = 1 + emu_rand(e) % 16;
			for (size_t i = 0; i < g && pos < cap; i++)
				out[pos++] =
				    (uint8_t)((emu_rand(e) % 4 == 0) ? LPBUS_START
								     : emu_rand(e));
			if (lpbus_encode((uint16_t)e->imu_id, LPMS_GET_SENSOR_DATA, pl,
					 len, out + pos, cap - pos, &fl))
				return 0;
			pos += fl;
		} else {
			size_t at;
			if (lpbus_encode((uint16_t)e->imu_id, LPMS_GET_SENSOR_DATA, pl,
					 len, out, cap, &fl))
				return 0;
			at = emu_rand(e) % fl;
			out[at] ^= (uint8_t)(1 + emu_rand(e) % 255);
			pos = fl;
		}
	} else {
		if (lpbus_encode((uint16_t)e->imu_id, LPMS_GET_SENSOR_DATA, pl, len, out,
				 cap, &fl))
			return 0;
		pos = fl;
	}
	e->stats.sent++;
	*outlen = pos;
	return 0;
}

int emu_samples_from_csv(const struct csv_table *t, lpms_sample **rows, size_t *n,
			 uint32_t *mask)
{
	lpms_sample probe;
	uint32_t m = 0, bit;
	lpms_sample *r;
	if (t->n_rows == 0)
		return -1;
	memset(&probe, 0, sizeof(probe));
	for (size_t c = 0; c < t->n_cols; c++)
		if (!t->is_text[c] && lpms_sample_set(&probe, t->names[c], 0, &bit) == 0)
			m |= bit;
	if (!m)
		return -1;
	r = calloc(t->n_rows, sizeof(*r));
	if (!r)
		return -1;
	for (size_t i = 0; i < t->n_rows; i++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			double v = t->values[i * t->n_cols + c];
			if (t->is_text[c] || !isfinite(v))
				continue;
			lpms_sample_set(&r[i], t->names[c], (float)v, NULL);
		}
		r[i].mask = m;
	}
	*rows = r;
	*n = t->n_rows;
	*mask = m;
	return 0;
}
