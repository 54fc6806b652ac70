/* Unit tests for ingest-bt's session (against the emulator core, in
 * memory, on a simulated clock) and for source option parsing. */
#include <bluetooth/bluetooth.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../services/ingest-bt/emu.h"
#include "../../services/ingest-bt/session.h"
#include "../../services/ingest-bt/source.h"

typedef struct got {
	uint64_t n;
	int64_t last_frame;
	uint64_t gaps, lost;
	uint64_t bad_values;
	unsigned rate;
	uint32_t mask;
	int int16;
} got;

/* Each delivered sample must equal the emulator's synthetic sample for its
 * frame: a corrupt sample can never pass. */
static void on_sample(void *ud, const lpms_sample *s, int64_t frame)
{
	got *g = ud;
	lpms_sample ref;
	float a[LPMS_MAX_CHANNELS], b[LPMS_MAX_CHANNELS];
	size_t n;
	emu_synth_sample((uint64_t)frame, g->rate, &ref);
	n = lpms_sample_values(s, g->mask, a, LPMS_MAX_CHANNELS);
	lpms_sample_values(&ref, g->mask, b, LPMS_MAX_CHANNELS);
	for (size_t i = 0; i < n; i++) {
		float tol = g->int16 ? 0.06f : fabsf(b[i]) * 1e-6f + 1e-7f;
		if (fabsf(a[i] - b[i]) > tol)
			g->bad_values++;
	}
	if (g->n && frame != g->last_frame + 1) {
		g->gaps++;
		g->lost += (uint64_t)(frame - g->last_frame - 1);
	}
	g->last_frame = frame;
	g->n++;
}

/* Run session against emu for sim_ms of simulated time. Returns the
 * session's state at the end. */
static int run_pair(session *s, emu *e, got *g, int64_t sim_ms, int64_t *now_io)
{
	int64_t now = *now_io, next_frame = now;
	while (now < *now_io + sim_ms && s->state != SESS_FAILED) {
		uint8_t rep[4096], fr[2 * LPBUS_MAX_FRAME];
		size_t rl = 0, fl = 0, off = 0;
		while (s->out_len && off < s->out_len) {
			off += emu_input(e, s->out + off, s->out_len - off, rep,
					 sizeof(rep), &rl);
			if (session_input(s, rep, rl, now, on_sample, g))
				break;
			if (!rl)
				break;
		}
		session_sent(s, s->out_len);
		if (e->streaming && now >= next_frame) {
			emu_next_frame(e, fr, sizeof(fr), &fl);
			next_frame += 1000 / e->rate_hz;
			if (fl)
				session_input(s, fr, fl, now, on_sample, g);
		}
		session_tick(s, now);
		now++;
	}
	*now_io = now;
	return s->state;
}

static void session_with(int int16, double corrupt, double drop, uint64_t *samples,
			 uint64_t *lost)
{
	emu e;
	emu_opts eo = {1, 50, LPMS_OUT_ACC, 0, 1, 1, 7, corrupt, drop, {0}};
	session s;
	sess_cfg c;
	got g = {0};
	int64_t now = 1000;
	emu_init(&e, &eo);
	sess_cfg_default(&c);
	c.rate_hz = 100;
	c.mask = LPMS_OUT_ALL;
	c.int16 = int16;
	g.rate = 100, g.mask = c.mask, g.int16 = int16;
	session_init(&s, &c);
	session_begin(&s, now);
	assert_int_equal(run_pair(&s, &e, &g, 5000, &now), SESS_STREAMING);
	assert_int_equal(e.rate_hz, 100);
	assert_int_equal(e.mask, LPMS_OUT_ALL);
	assert_int_equal(e.int16, int16);
	assert_int_equal(s.fw[0], 2);
	assert_int_equal(s.fmt.quat_scale, 10000);
	assert_true(g.n > 300);
	assert_int_equal(g.bad_values, 0);
	if (corrupt == 0 && drop == 0) {
		assert_int_equal(g.gaps, 0);
		assert_int_equal(s.stats.decode_errors, 0);
	}
	*samples = g.n;
	*lost = g.lost;
}

static void test_session_float(void **state)
{
	uint64_t n, lost;
	(void)state;
	session_with(0, 0, 0, &n, &lost);
	assert_int_equal(lost, 0);
}

static void test_session_int16(void **state)
{
	uint64_t n, lost;
	(void)state;
	session_with(1, 0, 0, &n, &lost);
	assert_int_equal(lost, 0);
}

static void test_session_faults(void **state)
{
	uint64_t n, lost;
	(void)state;
	/* 10% corrupted, 5% dropped: losses are seen as frame gaps and no
	 * corrupt value is ever delivered (checked in on_sample) */
	session_with(0, 0.1, 0.05, &n, &lost);
	assert_true(lost > 10);
	assert_true(n > 300);
}

static void test_session_silence(void **state)
{
	emu e;
	emu_opts eo = {1, 50, EMU_DEFAULT_MASK, 0, 1, 1, 1, 0, 0, {0}};
	session s;
	sess_cfg c;
	got g = {0};
	int64_t now = 0;
	(void)state;
	emu_init(&e, &eo);
	sess_cfg_default(&c);
	g.rate = 50, g.mask = c.mask;
	session_init(&s, &c);
	session_begin(&s, now);
	assert_int_equal(run_pair(&s, &e, &g, 2000, &now), SESS_STREAMING);
	assert_int_equal(session_tick(&s, now + c.silence_ms - 50), 0);
	assert_int_equal(session_tick(&s, now + c.silence_ms + 10), -1);
	assert_non_null(strstr(s.err, "no valid data frame"));
}

static void test_session_no_reply(void **state)
{
	session s;
	sess_cfg c;
	int64_t now = 0;
	(void)state;
	sess_cfg_default(&c);
	session_init(&s, &c);
	session_begin(&s, now);
	assert_int_equal(s.out_len, 11); /* GOTO_COMMAND_MODE */
	assert_int_equal(s.out[3], LPMS_GOTO_COMMAND_MODE);
	session_sent(&s, s.out_len);
	for (int i = 0; i < 5000 && s.state == SESS_INIT; i++, now++) {
		session_tick(&s, now);
		session_sent(&s, s.out_len);
	}
	assert_int_equal(s.state, SESS_FAILED);
	assert_int_equal(s.stats.resends, 2);
	assert_non_null(strstr(s.err, "no reply to command 6"));
}

static void test_session_nack(void **state)
{
	emu e;
	emu_opts eo = {1, 50, EMU_DEFAULT_MASK, 0, 1, 1, 1, 0, 0, {0}};
	session s;
	sess_cfg c;
	got g = {0};
	int64_t now = 0;
	(void)state;
	emu_init(&e, &eo);
	sess_cfg_default(&c);
	c.rate_hz = 60; /* not a rate the sensor has */
	session_init(&s, &c);
	session_begin(&s, now);
	assert_int_equal(run_pair(&s, &e, &g, 2000, &now), SESS_FAILED);
	assert_non_null(strstr(s.err, "refused command 11"));
}

static void test_bdaddr(void **state)
{
	uint8_t a[6];
	bdaddr_t b;
	(void)state;
	assert_int_equal(source_parse_bdaddr("00:04:3E:9b:1a:FF", a), 0);
	assert_int_equal(a[0], 0x00);
	assert_int_equal(a[2], 0x3E);
	assert_int_equal(a[3], 0x9B);
	assert_int_equal(a[5], 0xFF);
	/* BlueZ stores it reversed */
	str2ba("00:04:3E:9b:1a:FF", &b);
	for (int i = 0; i < 6; i++)
		assert_int_equal(b.b[5 - i], a[i]);
	assert_int_equal(source_parse_bdaddr("00:04:3E:9B:1A", a), -1);
	assert_int_equal(source_parse_bdaddr("00:04:3E:9B:1A:FF:", a), -1);
	assert_int_equal(source_parse_bdaddr("00-04-3E-9B-1A-FF", a), -1);
	assert_int_equal(source_parse_bdaddr("00:04:3G:9B:1A:FF", a), -1);
	assert_int_equal(source_parse_bdaddr("0:004:3E:9B:1A:FF", a), -1);
	assert_int_equal(source_parse_bdaddr("", a), -1);
}

static void test_source_parse(void **state)
{
	src_spec s;
	char err[256];
	(void)state;
	assert_int_equal(source_parse("bt:00:04:3E:9B:1A:FF", 0, &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.kind, SRC_BT);
	assert_string_equal(s.sensor, "lpms-00043E9B1AFF");
	assert_int_equal(
	    source_parse("bt:00:04:3E:9B:1A:FF#arm1", 0, &s, err, sizeof(err)), 0);
	assert_string_equal(s.sensor, "arm1");
	assert_string_equal(s.path, "00:04:3E:9B:1A:FF");
	assert_int_equal(source_parse("bt:00:04:3E:9B:1A", 0, &s, err, sizeof(err)),
			 AM_EINVAL);
	assert_non_null(strstr(err, "not a Bluetooth address"));
	assert_int_equal(source_parse("tcp:127.0.0.1:5000", 2, &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, SRC_TCP);
	assert_int_equal(s.port, 5000);
	assert_string_equal(s.path, "127.0.0.1");
	assert_string_equal(s.sensor, "lpms3");
	assert_int_equal(source_parse("tcp:127.0.0.1:70000", 0, &s, err, sizeof(err)),
			 AM_EINVAL);
	assert_int_equal(source_parse("tcp:5000", 0, &s, err, sizeof(err)), AM_EINVAL);
	assert_int_equal(
	    source_parse("serial:/dev/ttyUSB0@115200#b2", 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s.baud, 115200);
	assert_string_equal(s.path, "/dev/ttyUSB0");
	assert_string_equal(s.sensor, "b2");
	assert_int_equal(source_parse("serial:/dev/ttyUSB0", 0, &s, err, sizeof(err)), 0);
	assert_int_equal(s.baud, SRC_DEFAULT_BAUD);
	assert_int_equal(source_parse("serial:/dev/x@fast", 0, &s, err, sizeof(err)),
			 AM_EINVAL);
	assert_int_equal(source_parse("csv:/data/a.csv@10#arm", 0, &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.kind, SRC_CSV);
	assert_true(s.speed == 10.0);
	assert_string_equal(s.path, "/data/a.csv");
	assert_int_equal(source_parse("csv:/data/a.csv@0", 0, &s, err, sizeof(err)),
			 AM_EINVAL);
	assert_int_equal(source_parse("csv:a.csv#bad/id", 0, &s, err, sizeof(err)),
			 AM_EINVAL);
	assert_non_null(strstr(err, "sensor id"));
	assert_int_equal(source_parse("usb:x", 0, &s, err, sizeof(err)), AM_EINVAL);
}

static void test_bt_without_adapter(void **state)
{
	/* On a host without Bluetooth (CI, containers) opening fails with a
	 * clear reason; with an adapter the connect is merely pending. */
	src_spec s;
	char err[256] = "";
	int fd = -1, pending = 0, rc;
	(void)state;
	assert_int_equal(source_parse("bt:00:04:3E:00:00:01", 0, &s, err, sizeof(err)),
			 0);
	rc = source_open(&s, &fd, &pending, err, sizeof(err));
	if (rc == 0) {
		assert_true(fd >= 0);
		assert_int_equal(pending, 1);
		close(fd);
	} else {
		assert_int_equal(rc, AM_EIO);
		assert_non_null(strstr(err, "bt 00:04:3E:00:00:01"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_session_float),
	    cmocka_unit_test(test_session_int16),
	    cmocka_unit_test(test_session_faults),
	    cmocka_unit_test(test_session_silence),
	    cmocka_unit_test(test_session_no_reply),
	    cmocka_unit_test(test_session_nack),
	    cmocka_unit_test(test_bdaddr),
	    cmocka_unit_test(test_source_parse),
	    cmocka_unit_test(test_bt_without_adapter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
