/* test_fleet_stores — the central archive's files
 * (services/fleet-archiver/fstores.h): one archiver store per (plant,
 * gateway, partition) at <dir>/<plant>/<gateway>/p<NN>.db, the same sensor
 * name on two gateways kept apart, duplicates dropped across a reopen, a
 * failed batch rolled back in every file. */
#include "test_store_fixture.h"

#include "../../services/fleet-archiver/fstores.h"

#include <sys/stat.h>

static fstores *open_set(void)
{
	store_options o;
	fstores *fs = NULL;
	char err[256];
	store_options_default(&o);
	assert_int_equal(fstores_open(&fs, t_dir, &o, err, sizeof(err)), 0);
	return fs;
}

static int put_in(fstores *fs, const char *gw, int part, const char *sensor, uint64_t seq,
		  int *dup)
{
	fsubject s = {.partition = part};
	msg_raw m;
	float buf[30];
	char err[256];
	snprintf(s.plant, sizeof(s.plant), "p1");
	snprintf(s.gateway, sizeof(s.gateway), "%s", gw);
	snprintf(s.sensor, sizeof(s.sensor), "%s", sensor);
	make_raw(&m, buf, sensor, "run1", seq, T_BASE + 0.2 * (double)seq, 10);
	return fstores_put(fs, &s, &m, T_BASE, dup, err, sizeof(err));
}

static long long count_in(const char *gw, int part, const char *where)
{
	char path[400], sql[200];
	sqlite3 *h;
	sqlite3_stmt *q;
	long long v = -1;
	snprintf(path, sizeof(path), "%s/p1/%s/p%02d.db", t_dir, gw, part);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM messages m JOIN sensors s ON s.id = m.sensor_id %s",
	    where);
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(h);
	return v;
}

static void test_files_per_gateway(void **state)
{
	fstores *fs = open_set();
	char err[256];
	store_stats st;
	size_t files;
	int dup = -1;
	(void)state;
	for (uint64_t q = 0; q < 5; q++) {
		assert_int_equal(put_in(fs, "gw1", 2, "arm1", q, NULL), 0);
		assert_int_equal(put_in(fs, "gw2", 2, "arm1", q, NULL),
				 0); /* same name */
	}
	assert_int_equal(put_in(fs, "gw1", 3, "arm2", 0, NULL), 0);
	assert_int_equal(fstores_commit(fs, err, sizeof(err)), 0);
	fstores_stats(fs, &st, &files);
	assert_int_equal(files, 3);
	assert_int_equal(st.messages, 11);
	fstores_close(fs);
	assert_int_equal(count_in("gw1", 2, "WHERE s.name = 'arm1'"), 5);
	assert_int_equal(count_in("gw2", 2, "WHERE s.name = 'arm1'"), 5);
	assert_int_equal(count_in("gw1", 3, ""), 1);

	/* redelivered after a restart: dropped as duplicates */
	fs = open_set();
	assert_int_equal(put_in(fs, "gw2", 2, "arm1", 4, &dup), 0);
	assert_int_equal(dup, 1);
	assert_int_equal(put_in(fs, "gw2", 2, "arm1", 5, &dup), 0);
	assert_int_equal(dup, 0);
	assert_int_equal(fstores_commit(fs, err, sizeof(err)), 0);
	fstores_stats(fs, &st, &files);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.messages, 1);
	fstores_close(fs);
	assert_int_equal(count_in("gw2", 2, ""), 6);
}

static void test_rollback_all(void **state)
{
	fstores *fs = open_set();
	char err[256];
	(void)state;
	assert_int_equal(put_in(fs, "gw1", 0, "arm1", 0, NULL), 0);
	assert_int_equal(put_in(fs, "gw2", 1, "arm1", 0, NULL), 0);
	fstores_rollback(fs); /* a failed batch: nothing of it in any file */
	assert_int_equal(fstores_commit(fs, err, sizeof(err)), 0);
	fstores_close(fs);
	assert_int_equal(count_in("gw1", 0, ""), 0);
	assert_int_equal(count_in("gw2", 1, ""), 0);
}

static void test_refusals(void **state)
{
	store_options o;
	fstores *fs = NULL;
	char err[256], file[300];
	FILE *f;
	(void)state;
	store_options_default(&o);
	assert_int_equal(fstores_open(&fs, "", &o, err, sizeof(err)), AM_EINVAL);
	assert_null(fs);
	/* a plant directory that cannot be made: the put fails, nothing is open */
	snprintf(file, sizeof(file), "%s/p1", t_dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	fs = open_set();
	assert_int_equal(put_in(fs, "gw1", 0, "arm1", 0, NULL), AM_EIO);
	fstores_close(fs);
	fstores_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files_per_gateway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
