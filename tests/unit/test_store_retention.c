/* Unit tests for services/archiver/store_retention.c: retention by age
 * (bounded steps, predictions too) and by size (the newest data survives,
 * the incremental vacuum gives the pages back). */
#include "test_store_fixture.h"

static void test_retention_age(void **state)
{
	store_options o;
	store *s;
	char *csv, *gaps, err[256];
	msg_raw m;
	float buf[30];
	int64_t rows;
	int del, total = 0, steps = 0;
	double now = T_BASE;
	(void)state;

	store_options_default(&o);
	o.retention_days = 5;
	o.retention_batch = 7;
	s = open_store(&o);
	/* 50 messages 10 days old, then 20 of today */
	for (uint64_t q = 0; q < 70; q++) {
		double t0 = q < 50 ? now - 10 * 86400 + (double)q : now - 100 + (double)q;
		make_raw(&m, buf, "arm1", q < 50 ? "old" : "new", q, t0, 10);
		assert_int_equal(store_put_raw(s, &m, now, NULL, err, sizeof(err)), 0);
	}
	msg_prediction p = {.sensor = "arm1", .t = now - 9 * 86400, .n = 1, .model = "m"};
	assert_int_equal(store_put_prediction(s, &p, err, sizeof(err)), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	do {
		assert_int_equal(store_retention_step(s, now, &del, err, sizeof(err)), 0);
		assert_true(del <= 7); /* bounded steps */
		total += del;
		steps++;
	} while (del > 0 && steps < 100);
	assert_int_equal(total, 50);
	assert_int_equal(
	    export_str(s, "arm1", 0, now - 86400, NULL, 0, &csv, &gaps, &rows),
	    AM_ENOTFOUND);
	free(csv);
	free(gaps);
	assert_int_equal(
	    export_str(s, "arm1", now - 86400, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, 200);
	free(csv);
	free(gaps);
	store_close(s);
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(t_path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM predictions", -1, &q, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void test_retention_size(void **state)
{
	store_options o;
	store *s;
	char *csv, *gaps, err[256];
	msg_raw m;
	float buf[3 * 100];
	int64_t rows;
	int del, steps = 0;
	(void)state;

	store_options_default(&o);
	o.max_bytes = 256 * 1024;
	o.retention_batch = 50;
	s = open_store(&o);
	/* ~1.6 MB of samples: 1000 messages x 100 samples x 3 floats */
	for (uint64_t q = 0; q < 1000; q++) {
		make_raw(&m, buf, "arm1", "r1", q, T_BASE + 2.0 * (double)q, 100);
		assert_int_equal(store_put_raw(s, &m, T_BASE, NULL, err, sizeof(err)), 0);
		if (q % 100 == 99)
			assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	}
	assert_true(store_bytes(s) > 4 * o.max_bytes);
	do {
		assert_int_equal(store_retention_step(s, T_BASE, &del, err, sizeof(err)),
				 0);
		assert_true(del <= 50);
	} while (del > 0 && ++steps < 1000);
	assert_true(store_bytes(s) <= o.max_bytes);
	assert_true(store_bytes(s) > o.max_bytes / 2);
	/* the newest data survived, the oldest went */
	assert_int_equal(
	    export_str(s, "arm1", T_BASE + 1998, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, 100);
	free(csv);
	free(gaps);
	assert_int_equal(
	    export_str(s, "arm1", 0, T_BASE + 2, NULL, 0, &csv, &gaps, &rows),
	    AM_ENOTFOUND);
	free(csv);
	free(gaps);
	store_close(s);
	/* incremental vacuum gave the pages back: the file is small again */
	FILE *f = fopen(t_path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	assert_true(ftell(f) < 2 * o.max_bytes);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_retention_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_size, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
