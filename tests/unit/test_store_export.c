/* Unit tests for services/archiver/store_export.c and export.c: a range
 * exported as CSV (cut inside messages, unknown sensor, empty range), a
 * chosen subset and order of channels, time parsing, and the `archiver
 * export` subcommand end to end. */
#include "test_store_fixture.h"

#include "../../services/archiver/export.h"

static void test_insert_export(void **state)
{
	store *s = open_store(NULL);
	char *csv, *gaps, err[256];
	int64_t rows;
	store_stats st;
	(void)state;

	for (uint64_t q = 0; q < 3; q++)
		assert_int_equal(put(s, "arm1", "r1", q, NULL), 0);
	assert_int_equal(store_pending(s), 3);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(store_pending(s), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.samples, 30);

	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, 30);
	assert_int_equal(count_lines(csv), 31);
	assert_true(!strncmp(csv, "t,linacc_x,linacc_y,linacc_z\n", 29));
	/* first row: t0 of seq 0, values 0,1,2; row 11 is seq 1 sample 0 */
	assert_non_null(strstr(csv, "\n1764151200.000000,0,1,2\n"));
	assert_non_null(strstr(csv, "\n1764151200.200000,1000,1001,1002\n"));
	assert_non_null(strstr(csv, "\n1764151200.380000,1090,1091,1092\n"));
	assert_string_equal(gaps, "");
	free(csv);
	free(gaps);

	/* a sub-range cuts inside messages: [t0+0.1, t0+0.3) = 10 samples */
	assert_int_equal(export_str(s, "arm1", T_BASE + 0.1, T_BASE + 0.3, NULL, 0, &csv,
				    &gaps, &rows),
			 0);
	assert_int_equal(rows, 10);
	assert_non_null(strstr(csv, "\n1764151200.100000,50,51,52\n"));
	assert_null(strstr(csv, "1764151200.300000"));
	free(csv);
	free(gaps);

	/* unknown sensor, empty range */
	assert_int_equal(export_str(s, "nope", 0, 1e12, NULL, 0, &csv, &gaps, &rows),
			 AM_ENOTFOUND);
	free(csv);
	free(gaps);
	assert_int_equal(export_str(s, "arm1", 0, 10, NULL, 0, &csv, &gaps, &rows),
			 AM_ENOTFOUND);
	free(csv);
	free(gaps);
	store_close(s);
}

static void test_export_channels(void **state)
{
	store *s = open_store(NULL);
	char *csv, *gaps, err[256];
	const char want[2][MSG_CHANNEL_MAX + 1] = {"linacc_z", "linacc_x"};
	const char bad[1][MSG_CHANNEL_MAX + 1] = {"gyr_x"};
	int64_t rows;
	(void)state;

	assert_int_equal(put(s, "arm1", "r1", 0, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, want, 2, &csv, &gaps, &rows), 0);
	assert_true(!strncmp(csv, "t,linacc_z,linacc_x\n1764151200.000000,2,0\n", 42));
	assert_int_equal(rows, 10);
	free(csv);
	free(gaps);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, bad, 1, &csv, &gaps, &rows),
			 AM_ENOTFOUND);
	free(csv);
	free(gaps);
	store_close(s);
}

static void test_parse_time(void **state)
{
	double t;
	(void)state;
	assert_int_equal(export_parse_time("1764151200.5", &t), 0);
	assert_true(t == 1764151200.5);
	assert_int_equal(export_parse_time("2025-11-26T10:00:00Z", &t), 0);
	assert_true(t == 1764151200.0);
	assert_int_equal(export_parse_time("2025-11-26 10:00:00.25", &t), 0);
	assert_true(t == 1764151200.25);
	assert_int_equal(export_parse_time("2025-11-26", &t), 0);
	assert_true(t == 1764115200.0);
	assert_int_equal(export_parse_time("yesterday", &t), -1);
	assert_int_equal(export_parse_time("2025-11-26T10:00:00+01", &t), -1);
	assert_int_equal(export_parse_time("", &t), -1);
}

/* The subcommand end to end: data file has only the header and samples,
 * gaps go to their own file. */
static void test_export_main(void **state)
{
	store *s = open_store(NULL);
	char err[256], out[256], gaps[256], *body;
	FILE *f;
	long n;
	(void)state;

	for (uint64_t q = 0; q < 6; q++)
		if (q != 2 && q != 3)
			assert_int_equal(put(s, "arm1", "r1", q, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_close(s);
	snprintf(out, sizeof(out), "%s/x.csv", t_dir);
	snprintf(gaps, sizeof(gaps), "%s/g.csv", t_dir);
	char *argv[] = {"export",
			"--sensor",
			"arm1",
			"--from",
			"2025-11-26T10:00:00Z",
			"--to",
			"1764151201",
			"--channels",
			"linacc_y,linacc_x",
			"--db",
			t_path,
			"--out",
			out,
			"--gaps",
			gaps,
			NULL};
	assert_int_equal(export_main(15, argv), 0);
	f = fopen(out, "r");
	assert_non_null(f);
	body = calloc(1, 65536);
	n = (long)fread(body, 1, 65535, f);
	fclose(f);
	assert_true(n > 0);
	assert_true(!strncmp(body, "t,linacc_y,linacc_x\n1764151200.000000,1,0\n", 41));
	assert_int_equal(count_lines(body), 1 + 30); /* seq 0, 1, 4; 5 starts at --to */
	assert_null(strstr(body, "gap"));
	f = fopen(gaps, "r");
	assert_non_null(f);
	n = (long)fread(body, 1, 65535, f);
	body[n] = 0;
	fclose(f);
	assert_string_equal(body, "run,seq_from,seq_to,t_before,t_after\n"
				  "r1,2,3,1764151200.380000,1764151200.800000\n");
	free(body);
	unlink(out);
	unlink(gaps);
	/* usage errors and an empty range */
	char *bad[] = {"export", "--sensor", "a/b", "--db", t_path, NULL};
	assert_int_equal(export_main(5, bad), 2);
	char *none[] = {"export", "--sensor", "arm1", "--from", "0", "--to",
			"1",      "--db",     t_path, "--out",  out, NULL};
	assert_int_equal(export_main(11, none), 1);
	assert_int_equal(access(out, F_OK), -1); /* no half file left behind */
	char *nodb[] = {"export", "--sensor", "arm1", "--db", "/nonexistent/x.db", NULL};
	assert_int_equal(export_main(5, nodb), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_insert_export, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_channels, setup, teardown),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test_setup_teardown(test_export_main, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
