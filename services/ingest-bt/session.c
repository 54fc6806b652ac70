/* session — LPMS-B2 host session state machine (session.h).
 *
 * The command script is built once per session from the configuration and
 * walked one step at a time: a step's reply is recognised by its function
 * code (ACK/NACK for set commands, the same code for get commands); data
 * frames and late replies that arrive meanwhile are counted as stray and
 * ignored. The script ends with GET_CONFIG compared with what was set, so
 * a stale ACK that satisfied the wrong step cannot go unnoticed. */
#include "session.h"

#include <stdio.h>
#include <string.h>

void sess_cfg_default(sess_cfg *c)
{
	c->rate_hz = 50;
	c->mask = 0x00261C00u;
	c->int16 = 0;
	c->apply_calib = 1;
	c->step_timeout_ms = 500;
	c->step_tries = 3;
	c->silence_ms = 1500;
}

void session_init(session *s, const sess_cfg *c)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *c;
	lpbus_parser_init(&s->parser);
	lpms_calib_identity(&s->calib);
	s->state = SESS_FAILED;
}

static void add_step(session *s, uint16_t fn, int has_arg, uint32_t arg, uint16_t expect,
		     int verify)
{
	if (s->n_steps < SESS_MAX_STEPS)
		s->steps[s->n_steps++] = (sess_step){fn, has_arg, arg, expect, verify};
}

static void queue_step(session *s, int64_t now_ms)
{
	const sess_step *st = &s->steps[s->step];
	uint8_t arg[4];
	size_t n = 0;
	lpms_put_u32(arg, st->arg);
	if (lpbus_encode(0, st->fn, st->has_arg ? arg : NULL, st->has_arg ? 4 : 0,
			 s->out + s->out_len, sizeof(s->out) - s->out_len, &n) == 0)
		s->out_len += n;
	s->deadline_ms = now_ms + s->cfg.step_timeout_ms;
}

void session_begin(session *s, int64_t now_ms)
{
	static const uint16_t calib[] = {LPMS_GET_ACC_BIAS,      LPMS_GET_ACC_ALIGNMENT,
					 LPMS_GET_GYR_BIAS,      LPMS_GET_GYR_ALIGNMENT,
					 LPMS_GET_MAG_HARD_IRON, LPMS_GET_MAG_SOFT_IRON};
	lpbus_parser_reset(&s->parser);
	lpms_calib_identity(&s->calib);
	s->out_len = 0;
	s->n_steps = 0;
	s->step = 0;
	s->tries = 1;
	s->err[0] = '\0';
	s->state = SESS_INIT;
	add_step(s, LPMS_GOTO_COMMAND_MODE, 0, 0, LPMS_ACK, 0);
	add_step(s, LPMS_GET_FIRMWARE_VERSION, 0, 0, LPMS_GET_FIRMWARE_VERSION, 0);
	add_step(s, LPMS_GET_CONFIG, 0, 0, LPMS_GET_CONFIG, 0);
	if (s->cfg.apply_calib)
		for (size_t i = 0; i < sizeof(calib) / sizeof(calib[0]); i++)
			add_step(s, calib[i], 0, 0, calib[i], 0);
	add_step(s, LPMS_SET_STREAM_FREQ, 1, s->cfg.rate_hz, LPMS_ACK, 0);
	add_step(s, LPMS_SET_TRANSMIT_DATA, 1, s->cfg.mask & LPMS_OUT_ALL, LPMS_ACK, 0);
	add_step(s, LPMS_SET_LPBUS_DATA_MODE, 1, s->cfg.int16 ? 1 : 0, LPMS_ACK, 0);
	add_step(s, LPMS_GET_CONFIG, 0, 0, LPMS_GET_CONFIG, 1);
	add_step(s, LPMS_GOTO_STREAM_MODE, 0, 0, LPMS_ACK, 0);
	queue_step(s, now_ms);
}

static int fail(session *s, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s", what);
	s->state = SESS_FAILED;
	return -1;
}

/* A reply to the current step arrived. Returns 0 or -1 (failed). */
static int step_done(session *s, const lpbus_frame *f, int64_t now_ms)
{
	const sess_step *st = &s->steps[s->step];
	char msg[SESS_ERR_MAX];
	if (st->fn == LPMS_GET_FIRMWARE_VERSION) {
		if (f->len != 12)
			return fail(s, "firmware version reply is not 12 bytes");
		s->fw[2] = lpms_get_u32(f->payload);
		s->fw[1] = lpms_get_u32(f->payload + 4);
		s->fw[0] = lpms_get_u32(f->payload + 8);
	} else if (st->fn == LPMS_GET_CONFIG) {
		lpms_config c;
		if (f->len != 4)
			return fail(s, "config reply is not 4 bytes");
		lpms_config_decode(lpms_get_u32(f->payload), &c);
		if (!st->verify) {
			s->config0 = lpms_get_u32(f->payload);
		} else if (c.rate_hz != s->cfg.rate_hz ||
			   c.mask != (s->cfg.mask & LPMS_OUT_ALL) ||
			   c.int16 != (s->cfg.int16 != 0)) {
			snprintf(msg, sizeof(msg),
				 "sensor reports %u Hz, mask 0x%06X, %s mode after being "
				 "set to "
				 "%u Hz, 0x%06X, %s",
				 c.rate_hz, (unsigned)c.mask, c.int16 ? "int16" : "float",
				 s->cfg.rate_hz, (unsigned)(s->cfg.mask & LPMS_OUT_ALL),
				 s->cfg.int16 ? "int16" : "float");
			return fail(s, msg);
		}
	} else if (st->expect != LPMS_ACK) {
		int rc = lpms_calib_set(&s->calib, st->fn, f->payload, f->len);
		if (rc) {
			snprintf(msg, sizeof(msg),
				 "calibration reply %u is malformed (%u bytes)",
				 (unsigned)st->fn, (unsigned)f->len);
			return fail(s, msg);
		}
	}
	s->step++;
	s->tries = 1;
	if (s->step < s->n_steps) {
		queue_step(s, now_ms);
		return 0;
	}
	s->state = SESS_STREAMING;
	s->rate_hz = s->cfg.rate_hz;
	s->fmt.mask = s->cfg.mask & LPMS_OUT_ALL;
	s->fmt.int16 = s->cfg.int16 != 0;
	s->fmt.quat_scale = lpms_quat_scale(s->fw[0], s->fw[1], s->fw[2]);
	s->last_data_ms = now_ms;
	return 0;
}

static int on_frame(session *s, const lpbus_frame *f, int64_t now_ms, sess_sample_fn fn,
		    void *ud)
{
	if (s->state == SESS_STREAMING) {
		lpms_sample smp;
		unsigned tps = lpms_ticks_per_sample(s->rate_hz);
		if (f->function != LPMS_GET_SENSOR_DATA) {
			s->stats.stray++;
			return 0;
		}
		if (lpms_decode_data(f->payload, f->len, &s->fmt, &smp)) {
			s->stats.decode_errors++;
			return 0;
		}
		if (s->cfg.apply_calib)
			lpms_calib_apply(&s->calib, &smp);
		s->last_data_ms = now_ms;
		s->stats.samples++;
		fn(ud, &smp, tps ? (int64_t)(smp.ticks / tps) : -1);
		return 0;
	}
	if (s->state != SESS_INIT)
		return 0;
	if (f->function == s->steps[s->step].expect)
		return step_done(s, f, now_ms);
	if (f->function == LPMS_NACK && s->steps[s->step].expect == LPMS_ACK) {
		char msg[SESS_ERR_MAX];
		snprintf(msg, sizeof(msg), "sensor refused command %u (arg %u) with NACK",
			 (unsigned)s->steps[s->step].fn, (unsigned)s->steps[s->step].arg);
		return fail(s, msg);
	}
	s->stats.stray++;
	return 0;
}

int session_input(session *s, const uint8_t *d, size_t n, int64_t now_ms,
		  sess_sample_fn fn, void *ud)
{
	for (;;) {
		lpbus_frame f;
		int got;
		size_t used = lpbus_parser_feed(&s->parser, d, n, &f, &got);
		d += used;
		n -= used;
		if (!got)
			break;
		if (on_frame(s, &f, now_ms, fn, ud))
			return -1;
	}
	return s->state == SESS_FAILED ? -1 : 0;
}

int session_tick(session *s, int64_t now_ms)
{
	char msg[SESS_ERR_MAX];
	if (s->state == SESS_INIT && now_ms >= s->deadline_ms) {
		if (s->tries >= s->cfg.step_tries) {
			snprintf(msg, sizeof(msg),
				 "no reply to command %u after %d tries of %d ms",
				 (unsigned)s->steps[s->step].fn, s->tries,
				 s->cfg.step_timeout_ms);
			return fail(s, msg);
		}
		s->tries++;
		s->stats.resends++;
		queue_step(s, now_ms);
	} else if (s->state == SESS_STREAMING &&
		   now_ms - s->last_data_ms >= s->cfg.silence_ms) {
		snprintf(msg, sizeof(msg), "no valid data frame for %d ms",
			 s->cfg.silence_ms);
		return fail(s, msg);
	}
	return s->state == SESS_FAILED ? -1 : 0;
}

int64_t session_deadline(const session *s)
{
	if (s->state == SESS_INIT)
		return s->deadline_ms;
	if (s->state == SESS_STREAMING)
		return s->last_data_ms + s->cfg.silence_ms;
	return INT64_MAX;
}

void session_sent(session *s, size_t n)
{
	if (n >= s->out_len) {
		s->out_len = 0;
		return;
	}
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}
