/* Unit tests for ingest-bt's CSV replay (services/ingest-bt/replay.c):
 * channels found among the columns, the rate taken from the log's clock
 * (or the configured one), rows paced at rate x speed from the start,
 * frames from the frame column, a value out of float range skipped, and
 * the files it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/ingest-bt/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Write content to a fresh temp file; path receives its name. */
static void write_tmp(char *path, size_t pathlen, const char *content)
{
	FILE *f;
	int fd;
	snprintf(path, pathlen, "/tmp/anomesh-test-replay-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	fclose(f);
}

static void test_paced_rows(void **state)
{
	char path[64], err[256];
	replay r;
	float v[MSG_MAX_CHANNELS];
	int64_t frame;
	(void)state;

	/* 100 Hz by its clock; the sensor_id text column is no channel */
	write_tmp(path, sizeof(path),
		  "timestamp,frame,sensor_id,a,b\n"
		  "10.00,7,x,1.5,2.5\n"
		  "10.01,8,x,3.5,1e300\n"
		  "10.02,-1,x,5.5,6.5\n");
	assert_int_equal(replay_open(&r, path, 50, 2, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(r.n_ch, 2);
	assert_string_equal(r.names[0], "a");
	assert_string_equal(r.names[1], "b");
	assert_true(r.rate_hz == 100);
	assert_false(replay_started(&r));
	assert_int_equal(replay_deadline(&r), 0);

	/* x2: a row every 5 ms from the start */
	replay_start(&r, 1000);
	assert_true(replay_started(&r));
	assert_int_equal(replay_deadline(&r), 1000);
	assert_int_equal(replay_next(&r, 1000, v, &frame), REPLAY_ROW);
	assert_int_equal(frame, 7);
	assert_true(v[0] == 1.5f && v[1] == 2.5f);
	assert_int_equal(replay_next(&r, 1004, v, &frame), REPLAY_WAIT);
	assert_int_equal(replay_deadline(&r), 1005);
	/* 1e300 is no float: the row is skipped */
	assert_int_equal(replay_next(&r, 1005, v, &frame), REPLAY_BAD);
	assert_int_equal(replay_next(&r, 1100, v, &frame), REPLAY_ROW);
	assert_int_equal(frame, -1); /* not a frame counter */
	assert_true(v[0] == 5.5f && v[1] == 6.5f);
	assert_int_equal(replay_next(&r, 1100, v, &frame), REPLAY_END);
	replay_cleanup(&r);
	replay_cleanup(&r);
}

static void test_no_clock(void **state)
{
	char path[64], err[256];
	replay r;
	float v[MSG_MAX_CHANNELS];
	int64_t frame;
	(void)state;

	/* no timestamp column: the configured rate; no frame column: rows */
	write_tmp(path, sizeof(path), "a\n1\n2\n");
	assert_int_equal(replay_open(&r, path, 4, 1, err, sizeof(err)), 0);
	unlink(path);
	assert_true(r.rate_hz == 4);
	replay_start(&r, 0);
	assert_int_equal(replay_next(&r, 0, v, &frame), REPLAY_ROW);
	assert_int_equal(frame, 0);
	assert_int_equal(replay_next(&r, 249, v, &frame), REPLAY_WAIT);
	assert_int_equal(replay_next(&r, 250, v, &frame), REPLAY_ROW);
	assert_int_equal(frame, 1);
	assert_true(v[0] == 2.0f);
	replay_cleanup(&r);
}

static void test_refused(void **state)
{
	char path[64], err[256], big[4096];
	size_t len = 0;
	replay r;
	(void)state;

	assert_int_equal(replay_open(&r, "/nonexistent/x.csv", 50, 1, err, sizeof(err)),
			 AM_EIO);
	assert_non_null(strstr(err, "csv /nonexistent/x.csv: "));
	replay_cleanup(&r);

	write_tmp(path, sizeof(path), "timestamp,frame\n1,2\n");
	assert_int_equal(replay_open(&r, path, 50, 1, err, sizeof(err)), AM_EINVAL);
	assert_non_null(strstr(err, "no numeric columns"));
	replay_cleanup(&r);
	unlink(path);

	/* one channel more than a raw message holds */
	for (int c = 0; c <= MSG_MAX_CHANNELS; c++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%sc%d",
					c ? "," : "", c);
	len += (size_t)snprintf(big + len, sizeof(big) - len, "\n");
	for (int c = 0; c <= MSG_MAX_CHANNELS; c++)
		len +=
		    (size_t)snprintf(big + len, sizeof(big) - len, "%s1", c ? "," : "");
	snprintf(big + len, sizeof(big) - len, "\n");
	write_tmp(path, sizeof(path), big);
	assert_int_equal(replay_open(&r, path, 50, 1, err, sizeof(err)), AM_EINVAL);
	assert_non_null(strstr(err, "over 32 channels"));
	replay_cleanup(&r);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paced_rows),
	    cmocka_unit_test(test_no_clock),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
