/* Unit tests for services/archiver/store.c, the writes: duplicates, gaps
 * (recorded, shrunk by late messages, remembered across reopen), rollback
 * hygiene, the saved cursor, a full database (SQLite's max_page_count
 * standing in for a full disk; the integration test uses a real small
 * tmpfs), and thousands of sensors (the keyed caches, store_ids.c).
 * Retention and export: test_store_retention.c, test_store_export.c. */
#include "test_store_fixture.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

static void test_duplicates(void **state)
{
	store *s = open_store(NULL);
	char *csv, *gaps, err[256];
	int dup = -1;
	int64_t rows;
	store_stats st;
	(void)state;

	assert_int_equal(put(s, "arm1", "r1", 0, &dup), 0);
	assert_int_equal(dup, 0);
	assert_int_equal(put(s, "arm1", "r1", 0, &dup), 0); /* same batch */
	assert_int_equal(dup, 1);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(put(s, "arm1", "r1", 0, &dup), 0); /* after commit */
	assert_int_equal(dup, 1);
	assert_int_equal(put(s, "arm1", "r2", 0, &dup), 0); /* other run: new */
	assert_int_equal(dup, 0);
	assert_int_equal(put(s, "arm2", "r1", 0, &dup), 0); /* other sensor: new */
	assert_int_equal(dup, 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.messages, 3);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, 20); /* r1 and r2, each once */
	free(csv);
	free(gaps);

	/* predictions and alerts: replays dropped */
	msg_prediction p = {.sensor = "arm1",
			    .t = T_BASE + 4,
			    .t_start = T_BASE,
			    .n = 200,
			    .score = 0.5,
			    .threshold = 1,
			    .model = "m@1"};
	msg_alert a = {.id = "arm1-1",
		       .sensor = "arm1",
		       .t = T_BASE,
		       .from = STATE_OK,
		       .to = STATE_FAILURE,
		       .severity = "critical",
		       .anomaly_rate = 0.6};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(store_put_prediction(s, &p, err, sizeof(err)), 0);
		assert_int_equal(store_put_alert(s, &a, err, sizeof(err)), 0);
	}
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.predictions, 1);
	assert_int_equal(st.alerts, 1);
	store_close(s);
}

static void test_gaps(void **state)
{
	store *s = open_store(NULL);
	char *csv, *gaps, err[256];
	int64_t rows;
	store_stats st;
	(void)state;

	assert_int_equal(put(s, "arm1", "r1", 0, NULL), 0);
	assert_int_equal(put(s, "arm1", "r1", 1, NULL), 0);
	assert_int_equal(put(s, "arm1", "r1", 4, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.gaps, 2);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	/* the gap lies between the end of seq 1 and the start of seq 4 */
	assert_string_equal(gaps, "gap,r1,2,3,1764151200.380000,1764151200.800000\n");
	free(csv);
	free(gaps);

	/* a late seq 3 shrinks the gap to seq 2 alone */
	assert_int_equal(put(s, "arm1", "r1", 3, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_string_equal(gaps, "gap,r1,2,2,1764151200.380000,1764151200.600000\n");
	free(csv);
	free(gaps);
	store_close(s);

	/* the run's highest seq is remembered across a reopen */
	s = open_store(NULL);
	assert_int_equal(put(s, "arm1", "r1", 2, NULL), 0); /* fills the last gap */
	assert_int_equal(put(s, "arm1", "r1", 5, NULL), 0);
	assert_int_equal(put(s, "arm1", "r1", 8, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_string_equal(gaps, "gap,r1,6,7,1764151201.180000,1764151201.600000\n");
	assert_int_equal(rows, 70);
	free(csv);
	free(gaps);
	/* a late message in the middle splits a gap in two */
	assert_int_equal(put(s, "arm1", "r1", 12, NULL), 0); /* gap 9..11 */
	assert_int_equal(put(s, "arm1", "r1", 10, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_non_null(strstr(gaps, "gap,r1,9,9,"));
	assert_non_null(strstr(gaps, "gap,r1,11,11,"));
	assert_int_equal(count_lines(gaps), 3);
	free(csv);
	free(gaps);
	store_close(s);
}

static void test_rollback_and_cursor(void **state)
{
	store *s = open_store(NULL);
	char *csv, *gaps, err[256];
	int64_t gen, off, rows;
	(void)state;

	assert_int_equal(store_get_cursor(s, &gen, &off, err, sizeof(err)), 0);
	assert_int_equal(gen, 0);
	assert_int_equal(off, 0);
	assert_int_equal(put(s, "arm1", "r1", 0, NULL), 0);
	assert_int_equal(store_set_cursor(s, 1, 4096, err, sizeof(err)), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	/* a batch with a new sensor, run and a cursor: rolled back entirely */
	assert_int_equal(put(s, "arm9", "r9", 5, NULL), 0);
	assert_int_equal(put(s, "arm1", "r1", 1, NULL), 0);
	assert_int_equal(store_set_cursor(s, 1, 9999, err, sizeof(err)), 0);
	store_rollback(s);
	assert_int_equal(store_get_cursor(s, &gen, &off, err, sizeof(err)), 0);
	assert_int_equal(gen, 1);
	assert_int_equal(off, 4096);
	/* the same messages again: ids re-created, no stale cache, no gap */
	assert_int_equal(put(s, "arm9", "r9", 0, NULL), 0);
	assert_int_equal(put(s, "arm1", "r1", 1, NULL), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_close(s);
	s = open_store(NULL);
	assert_int_equal(store_get_cursor(s, &gen, &off, err, sizeof(err)), 0);
	assert_int_equal(off, 4096);
	assert_int_equal(export_str(s, "arm9", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, 10);
	assert_string_equal(gaps, "");
	free(csv);
	free(gaps);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, 20);
	assert_string_equal(gaps, "");
	free(csv);
	free(gaps);
	store_close(s);
}

static void test_full(void **state)
{
	store_options o;
	store *s;
	char *csv, *gaps, err[256];
	msg_raw m;
	float buf[3 * 200];
	int64_t rows, committed = 0;
	int rc = 0;
	uint64_t q;
	(void)state;

	store_options_default(&o);
	o.max_page_count = 64; /* 256 KiB with 4 KiB pages */
	s = open_store(&o);
	for (q = 0; q < 10000; q++) {
		make_raw(&m, buf, "arm1", "r1", q, T_BASE + 4.0 * (double)q, 200);
		rc = store_put_raw(s, &m, T_BASE, NULL, err, sizeof(err));
		if (!rc && q % 10 == 9) {
			rc = store_commit(s, err, sizeof(err));
			if (!rc)
				committed = (int64_t)q + 1;
		}
		if (rc)
			break;
	}
	assert_int_equal(rc, AM_EFULL);
	assert_non_null(strstr(err, "full"));
	assert_int_equal(store_pending(s), 0); /* the failed batch is gone */
	/* still full: the same batch again fails the same way, cleanly */
	rc = 0;
	for (q = (uint64_t)committed; q < (uint64_t)committed + 10 && !rc; q++) {
		make_raw(&m, buf, "arm1", "r1", q, T_BASE + 4.0 * (double)q, 200);
		rc = store_put_raw(s, &m, T_BASE, NULL, err, sizeof(err));
	}
	if (!rc)
		rc = store_commit(s, err, sizeof(err));
	assert_int_equal(rc, AM_EFULL);
	store_close(s);

	/* space again: everything committed is there and the rest goes in */
	o.max_page_count = 0;
	s = open_store(&o);
	for (q = (uint64_t)committed; q < (uint64_t)committed + 20; q++) {
		make_raw(&m, buf, "arm1", "r1", q, T_BASE + 4.0 * (double)q, 200);
		assert_int_equal(store_put_raw(s, &m, T_BASE, NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, (committed + 20) * 200);
	assert_string_equal(gaps, "");
	free(csv);
	free(gaps);
	store_close(s);
	integrity_ok(t_path);
}

/* A real full file system: a 1 MiB tmpfs (needs CAP_SYS_ADMIN; skipped
 * without). ENOSPC must come back as AM_EFULL, lose nothing committed,
 * and the store must carry on once the file system has room again. */
static void test_full_tmpfs(void **state)
{
	char mnt[256], path[320], *csv, *gaps, err[256];
	store_options o;
	store *s = NULL;
	msg_raw m;
	float buf[3 * 200];
	int64_t rows, committed = 0;
	uint64_t q;
	int rc = 0;
	(void)state;

	snprintf(mnt, sizeof(mnt), "%s/mnt", t_dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		/* the same path without a mount: test_full (max_page_count) */
		printf("SKIP: test_full_tmpfs: cannot mount a tmpfs here (%s; needs "
		       "CAP_SYS_ADMIN); test_full covers SQLITE_FULL without it\n",
		       strerror(errno));
		rmdir(mnt);
		skip();
	}
	snprintf(path, sizeof(path), "%s/a.db", mnt);
	store_options_default(&o);
	o.path = path;
	assert_int_equal(store_open(&s, &o, err, sizeof(err)), 0);
	for (q = 0; q < 100000; q++) {
		make_raw(&m, buf, "arm1", "r1", q, T_BASE + 4.0 * (double)q, 200);
		rc = store_put_raw(s, &m, T_BASE, NULL, err, sizeof(err));
		if (!rc && q % 10 == 9) {
			rc = store_commit(s, err, sizeof(err));
			if (!rc)
				committed = (int64_t)q + 1;
		}
		if (rc)
			break;
	}
	assert_int_equal(rc, AM_EFULL);
	assert_true(committed > 0);
	/* more room: the same open store resumes from the first uncommitted
	 * message (what the archiver does after its periodic retry) */
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=8m"), 0);
	for (q = (uint64_t)committed; q < (uint64_t)committed + 20; q++) {
		make_raw(&m, buf, "arm1", "r1", q, T_BASE + 4.0 * (double)q, 200);
		assert_int_equal(store_put_raw(s, &m, T_BASE, NULL, err, sizeof(err)), 0);
	}
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_int_equal(rows, (committed + 20) * 200);
	assert_string_equal(gaps, "");
	free(csv);
	free(gaps);
	store_close(s);
	integrity_ok(path);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* Rows of a one-number query on the test database. */
static long long db_count(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	long long v;
	assert_int_equal(sqlite3_open(t_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

#define T_SENSORS 3000

/* 3,000 sensors interleaved, as a plant sends them: every sensor's ids and
 * run position are found again (each replay a duplicate, each missing
 * message one gap, no false gap), also after the caches were dropped in
 * the middle of a batch (more than 32768 sensors + runs) and across a
 * reopen. The caches were once 256-entry arrays overwritten from sensor
 * 257 on. */
static void test_many_sensors(void **state)
{
	store *s = open_store(NULL);
	char name[32], run[16], err[256], *csv, *gaps;
	int dup;
	int64_t rows;
	store_stats st;
	(void)state;

	for (uint64_t q = 0; q < 2; q++)
		for (int k = 0; k < T_SENSORS; k++) {
			snprintf(name, sizeof(name), "s%04d", k);
			assert_int_equal(put(s, name, "r0", q, &dup), 0);
			assert_int_equal(dup, 0);
		}
	for (int k = 0; k < T_SENSORS; k++) {
		snprintf(name, sizeof(name), "s%04d", k);
		assert_int_equal(put(s, name, "r0", 0, &dup), 0);
		assert_int_equal(dup, 1);
		assert_int_equal(put(s, name, "r0", 3, &dup), 0); /* seq 2 missing */
		assert_int_equal(dup, 0);
	}
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.messages, 3 * T_SENSORS);
	assert_int_equal(st.duplicates, T_SENSORS);
	assert_int_equal(st.gaps, T_SENSORS);
	/* 11 more runs each, seq 0 then 1, in one batch: the caches fill up
	 * and are dropped between a run's two messages; its position must
	 * have been written back (else seq 1 would record a gap) */
	for (int r = 1; r <= 11; r++) {
		snprintf(run, sizeof(run), "r%d", r);
		for (uint64_t q = 0; q < 2; q++)
			for (int k = 0; k < T_SENSORS; k++) {
				snprintf(name, sizeof(name), "s%04d", k);
				assert_int_equal(put(s, name, run, q, &dup), 0);
				assert_int_equal(dup, 0);
			}
	}
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.messages, 25 * T_SENSORS);
	assert_int_equal(st.gaps, T_SENSORS);
	assert_int_equal(db_count("SELECT count(*) FROM sensors"), T_SENSORS);
	assert_int_equal(db_count("SELECT count(*) FROM runs"), 12 * T_SENSORS);
	assert_int_equal(db_count("SELECT count(*) FROM runs WHERE run != 'r0'"
				  " AND max_seq != 1"),
			 0);
	assert_int_equal(db_count("SELECT count(*) FROM gaps"), T_SENSORS);
	assert_int_equal(export_str(s, "s2999", 0, 1e12, NULL, 0, &csv, &gaps, &rows), 0);
	assert_string_equal(gaps, "gap,r0,2,2,1764151200.380000,1764151200.600000\n");
	free(csv);
	free(gaps);
	store_close(s);

	/* reopened: positions come from the database */
	s = open_store(NULL);
	for (int k = 0; k < T_SENSORS; k++) {
		snprintf(name, sizeof(name), "s%04d", k);
		assert_int_equal(put(s, name, "r0", 1, &dup), 0);
		assert_int_equal(dup, 1);
		assert_int_equal(put(s, name, "r0", 2, &dup), 0); /* fills the gap */
		assert_int_equal(dup, 0);
	}
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(db_count("SELECT count(*) FROM gaps"), 0);
	assert_int_equal(db_count("SELECT count(*) FROM messages"), 26 * T_SENSORS);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_and_cursor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_tmpfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sensors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
