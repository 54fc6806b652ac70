/* Unit tests for the lpms-emu protocol core: the replies "a minimal
 * emulator must" give (lpbus.md), stream pacing state, the tick timeline,
 * CSV rows and seeded faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/ingest-bt/emu.h"

/* Send one command, return the single reply frame. */
static lpbus_frame ask(emu *e, uint16_t fn, const uint8_t *arg, size_t len)
{
	uint8_t cmd[64], rep[4096];
	size_t cl, rl;
	lpbus_parser p;
	lpbus_frame f;
	int got;
	memset(&f, 0, sizeof(f));
	assert_int_equal(lpbus_encode(0, fn, arg, len, cmd, sizeof(cmd), &cl), 0);
	assert_int_equal(emu_input(e, cmd, cl, rep, sizeof(rep), &rl), cl);
	lpbus_parser_init(&p);
	assert_int_equal(lpbus_parser_feed(&p, rep, rl, &f, &got), rl);
	assert_int_equal(got, 1);
	return f;
}

static lpbus_frame ask_u32(emu *e, uint16_t fn, uint32_t v)
{
	uint8_t a[4];
	lpms_put_u32(a, v);
	return ask(e, fn, a, 4);
}

static void test_commands(void **state)
{
	emu e;
	emu_opts o = {1, 50, EMU_DEFAULT_MASK, 0, 1, 0, 1, 0, 0, {0}};
	lpbus_frame f;
	static const uint16_t acked[] = {6, 7, 15};
	(void)state;
	emu_init(&e, &o);
	assert_int_equal(e.streaming, 1);
	for (size_t i = 0; i < sizeof(acked) / sizeof(acked[0]); i++) {
		f = ask(&e, acked[i], NULL, 0);
		assert_int_equal(f.function, LPMS_ACK);
		assert_int_equal(f.id, 1);
	}
	f = ask(&e, LPMS_GOTO_COMMAND_MODE, NULL, 0);
	assert_int_equal(e.streaming, 0);
	f = ask(&e, LPMS_GET_STATUS, NULL, 0);
	assert_int_equal(f.function, LPMS_GET_STATUS);
	assert_int_equal(lpms_get_u32(f.payload), LPMS_STATUS_COMMAND);
	assert_int_equal(ask_u32(&e, LPMS_SET_STREAM_FREQ, 400).function, LPMS_ACK);
	assert_int_equal(ask_u32(&e, LPMS_SET_STREAM_FREQ, 300).function, LPMS_NACK);
	assert_int_equal(ask_u32(&e, LPMS_SET_TRANSMIT_DATA, LPMS_OUT_LINACC).function,
			 LPMS_ACK);
	assert_int_equal(ask_u32(&e, LPMS_SET_LPBUS_DATA_MODE, 1).function, LPMS_ACK);
	assert_int_equal(ask_u32(&e, LPMS_SET_LPBUS_DATA_MODE, 2).function, LPMS_NACK);
	assert_int_equal(ask(&e, LPMS_SET_TRANSMIT_DATA, NULL, 0).function, LPMS_NACK);
	f = ask(&e, LPMS_GET_CONFIG, NULL, 0);
	assert_int_equal(f.len, 4);
	assert_int_equal(lpms_get_u32(f.payload), 6u | LPMS_OUT_LINACC | LPMS_CFG_16BIT);
	assert_int_equal(ask_u32(&e, LPMS_SET_IMU_ID, 7).function, LPMS_ACK);
	f = ask(&e, LPMS_GET_IMU_ID, NULL, 0);
	assert_int_equal(f.id, 7); /* answers with its own id */
	assert_int_equal(lpms_get_u32(f.payload), 7);
	f = ask(&e, LPMS_GET_FIRMWARE_VERSION, NULL, 0);
	assert_int_equal(f.len, 12);
	assert_int_equal(lpms_get_u32(f.payload + 8), 2); /* major last */
	{
		static const uint16_t c3[] = {28, 36, 49}, c9[] = {30, 38, 51};
		lpms_calib c;
		lpms_calib_identity(&c);
		for (int i = 0; i < 3; i++) {
			f = ask(&e, c3[i], NULL, 0);
			assert_int_equal(f.function, c3[i]);
			assert_int_equal(lpms_calib_set(&c, f.function, f.payload, f.len),
					 0);
			f = ask(&e, c9[i], NULL, 0);
			assert_int_equal(lpms_calib_set(&c, f.function, f.payload, f.len),
					 0);
		}
		assert_true(c.acc_align[0] == 1.0f && c.acc_align[1] == 0.0f);
		assert_true(c.gyr_bias[2] == 0.0f);
	}
	assert_int_equal(ask(&e, LPMS_GET_SERIAL_NUMBER, NULL, 0).len, 24);
	assert_int_equal(ask(&e, LPMS_GET_DEVICE_NAME, NULL, 0).function,
			 LPMS_GET_DEVICE_NAME);
	assert_int_equal(ask(&e, LPMS_GET_FIRMWARE_INFO, NULL, 0).len, 16);
	f = ask(&e, LPMS_GET_SENSOR_DATA, NULL, 0);
	assert_int_equal(f.function, LPMS_GET_SENSOR_DATA);
	assert_int_equal(f.len, 4 + 3 * 2); /* linacc, int16 */
	assert_int_equal(ask(&e, 99, NULL, 0).function, LPMS_NACK);
	assert_int_equal(ask(&e, 3, NULL, 0).function, LPMS_NACK);
	assert_true(e.stats.nacks >= 5);
}

static void test_timeline_and_recording(void **state)
{
	emu e;
	emu_opts o = {1, 100, LPMS_OUT_ACC, 0, 1, 0, 1, 0, 0, {0}};
	lpms_sample rows[3];
	lpms_format fmt = {LPMS_OUT_ACC, 0, 10000};
	(void)state;
	memset(rows, 0, sizeof(rows));
	for (int i = 0; i < 3; i++)
		rows[i].acc[0] = (float)i + 0.5f;
	emu_init(&e, &o);
	emu_set_recording(&e, rows, 3);
	assert_int_equal(emu_period_ns(&e), 10000000);
	for (uint32_t k = 0; k < 3; k++) {
		uint8_t out[2 * LPBUS_MAX_FRAME];
		size_t len, used;
		lpbus_parser p;
		lpbus_frame f;
		lpms_sample s;
		int got;
		assert_false(emu_finished(&e));
		assert_int_equal(emu_next_frame(&e, out, sizeof(out), &len), 0);
		lpbus_parser_init(&p);
		used = lpbus_parser_feed(&p, out, len, &f, &got);
		assert_int_equal(used, len);
		assert_int_equal(got, 1);
		assert_int_equal(lpms_decode_data(f.payload, f.len, &fmt, &s), 0);
		assert_int_equal(s.ticks, k * 4); /* 100 Hz: 4 ticks of 2.5 ms */
		assert_true(s.acc[0] == (float)k + 0.5f);
	}
	assert_true(emu_finished(&e));
	{
		uint8_t out[2 * LPBUS_MAX_FRAME];
		size_t len;
		assert_int_equal(emu_next_frame(&e, out, sizeof(out), &len), -1);
	}
}

static void test_faults_seeded(void **state)
{
	emu a, b;
	emu_opts o = {1, 50, EMU_DEFAULT_MASK, 0, 1, 1, 42, 0.3, 0.2, {0}};
	uint64_t diff = 0;
	(void)state;
	emu_init(&a, &o);
	emu_init(&b, &o);
	for (int i = 0; i < 1000; i++) {
		uint8_t x[2 * LPBUS_MAX_FRAME], y[2 * LPBUS_MAX_FRAME];
		size_t lx, ly;
		emu_next_frame(&a, x, sizeof(x), &lx);
		emu_next_frame(&b, y, sizeof(y), &ly);
		assert_int_equal(lx, ly); /* same seed, same faults */
		diff += memcmp(x, y, lx) != 0;
	}
	assert_int_equal(diff, 0);
	assert_int_equal(a.stats.frames, 1000);
	assert_true(a.stats.dropped > 150 && a.stats.dropped < 250);
	assert_true(a.stats.corrupted > 180 && a.stats.corrupted < 300);
	assert_int_equal(a.stats.sent + a.stats.dropped, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_timeline_and_recording),
	    cmocka_unit_test(test_faults_seeded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
