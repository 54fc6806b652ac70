/* Unit tests for services/archiver/store_gaps.c and the repair's side of
 * store.c: a replay that fills a gap is stored, flagged and counted as
 * repaired (again: a replay duplicate, not a live one); gaps come due
 * after the grace, then when asked for again, and split gaps keep their
 * state; gaps past the age are given up as lost (counted, still listed,
 * no longer open); a schema 1 database is migrated in place; and the
 * bookkeeping refuses to run inside an open batch. */
#include "test_store_fixture.h"

/* Put seq of (arm1, r1), live or as a replay. */
static int put_r(store *s, uint64_t seq, int replay, int *dup)
{
	msg_raw m;
	float buf[30];
	char err[256];
	make_raw(&m, buf, "arm1", "r1", seq, T_BASE + 0.2 * (double)seq, 10);
	m.replay = replay;
	return store_put_raw(s, &m, T_BASE, dup, err, sizeof(err));
}

static long long q_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;
	assert_int_equal(sqlite3_open(t_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_replay_fills_and_counts(void **state)
{
	store *s = open_store(NULL);
	store_stats st;
	char err[256];
	int dup = 0;
	(void)state;

	assert_int_equal(put_r(s, 0, 0, &dup), 0);
	assert_int_equal(put_r(s, 4, 0, &dup), 0); /* gap 1..3 */
	assert_int_equal(put_r(s, 2, 1, &dup), 0); /* repaired, splits it */
	assert_int_equal(dup, 0);
	assert_int_equal(put_r(s, 2, 1, &dup), 0); /* asked twice */
	assert_int_equal(dup, 1);
	assert_int_equal(put_r(s, 0, 0, &dup), 0); /* a live redelivery */
	assert_int_equal(dup, 1);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_get_stats(s, &st);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.repaired, 1);
	assert_int_equal(st.replay_duplicates, 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.gaps, 2);
	assert_int_equal(store_gaps_open(s), 2);
	assert_int_equal(
	    q_int("SELECT count(*) FROM messages WHERE replay = 1 AND seq = 2"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM messages WHERE replay IS NULL"), 2);
	store_close(s);
}

static void test_due_and_requested(void **state)
{
	store *s = open_store(NULL);
	store_gap g[8];
	double again[8];
	size_t n = 9;
	char err[256];
	int dup;
	(void)state;

	assert_int_equal(put_r(s, 0, 0, &dup), 0);
	assert_int_equal(put_r(s, 10, 0, &dup), 0); /* gap 1..9, found at T_BASE */
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	/* not before the grace */
	assert_int_equal(store_gaps_due(s, T_BASE + 1, 2, g, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_gaps_due(s, T_BASE + 2, 2, g, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(g[0].sensor, "arm1");
	assert_string_equal(g[0].run, "r1");
	assert_true(g[0].seq_from == 1 && g[0].seq_to == 9 && g[0].requests == 0);
	again[0] = T_BASE + 7;
	assert_int_equal(store_gaps_requested(s, g, again, 1, err, sizeof(err)), 0);
	assert_int_equal(store_gaps_due(s, T_BASE + 6, 2, g, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	/* a replay splits it: both halves keep the request count and time */
	assert_int_equal(put_r(s, 5, 1, &dup), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(store_gaps_due(s, T_BASE + 7, 2, g, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_true(g[0].requests == 1 && g[1].requests == 1);
	assert_true(g[0].seq_from + g[1].seq_from == 1 + 6);
	assert_true(g[0].seq_to + g[1].seq_to == 4 + 9);
	/* no bookkeeping inside a batch */
	assert_int_equal(put_r(s, 11, 0, &dup), 0);
	assert_int_equal(store_gaps_due(s, T_BASE + 7, 2, g, 8, &n, err, sizeof(err)),
			 AM_EINVAL);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	store_close(s);
}

static void test_expire_lost(void **state)
{
	store *s = open_store(NULL);
	store_stats st;
	store_gap g[4];
	size_t n;
	int64_t lost = -1;
	char err[256], *csv, *gaps;
	int dup;
	(void)state;

	assert_int_equal(put_r(s, 0, 0, &dup), 0);
	assert_int_equal(put_r(s, 4, 0, &dup), 0); /* 1..3 */
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	/* not yet past the age */
	assert_int_equal(
	    store_gaps_expire(s, T_BASE, T_BASE + 5, &lost, err, sizeof(err)), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(
	    store_gaps_expire(s, T_BASE + 1, T_BASE + 900, &lost, err, sizeof(err)), 0);
	assert_int_equal(lost, 3);
	store_get_stats(s, &st);
	assert_int_equal(st.lost, 3);
	assert_int_equal(store_gaps_open(s), 0);
	assert_int_equal(store_gaps_due(s, T_BASE + 1e6, 0, g, 4, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 0);
	/* still listed as missing; given up once only */
	assert_int_equal(export_str(s, "arm1", 0, 1e12, NULL, 0, &csv, &gaps, NULL), 0);
	assert_int_equal(count_lines(gaps), 1);
	free(csv);
	free(gaps);
	assert_int_equal(
	    store_gaps_expire(s, T_BASE + 1, T_BASE + 900, &lost, err, sizeof(err)), 0);
	assert_int_equal(lost, 0);
	/* a late message splits a lost gap: both halves stay lost */
	assert_int_equal(put_r(s, 2, 0, &dup), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(q_int("SELECT count(*) FROM gaps WHERE lost IS NOT NULL"), 2);
	assert_int_equal(store_gaps_open(s), 0);
	store_close(s);
}

/* A database of schema 1 (before the repair) opens, migrated in place:
 * its rows kept, its gaps open and due from their detection. */
static void test_migrate_v1(void **state)
{
	sqlite3 *db;
	store *s;
	store_gap g[4];
	size_t n;
	char err[256];
	int dup;
	(void)state;

	assert_int_equal(sqlite3_open(t_path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"PRAGMA journal_mode=WAL;"
		"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
		"CREATE TABLE sensors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
		"CREATE TABLE runs(id INTEGER PRIMARY KEY, sensor_id INTEGER NOT NULL,"
		" run TEXT NOT NULL, max_seq INTEGER NOT NULL, max_t1 REAL,"
		" UNIQUE(sensor_id, run));"
		"CREATE TABLE chansets(id INTEGER PRIMARY KEY, names TEXT NOT NULL "
		"UNIQUE);"
		"CREATE TABLE messages(id INTEGER PRIMARY KEY, sensor_id INTEGER NOT "
		"NULL,"
		" run_id INTEGER NOT NULL, seq INTEGER NOT NULL, t0 REAL NOT NULL,"
		" t1 REAL NOT NULL, rate_hz REAL NOT NULL, frame0 INTEGER,"
		" chanset_id INTEGER NOT NULL, n INTEGER NOT NULL, received REAL NOT "
		"NULL,"
		" samples BLOB NOT NULL);"
		"CREATE TABLE gaps(run_id INTEGER NOT NULL, seq_from INTEGER NOT NULL,"
		" seq_to INTEGER NOT NULL, sensor_id INTEGER NOT NULL, t_before REAL,"
		" t_after REAL, detected REAL NOT NULL, PRIMARY KEY(run_id, seq_from))"
		" WITHOUT ROWID;"
		"INSERT INTO meta VALUES('schema_version', 1), ('cursor_gen', 3),"
		" ('cursor_off', 77), ('max_span', 0.18);"
		"INSERT INTO sensors VALUES(1, 'arm1');"
		"INSERT INTO runs VALUES(1, 1, 'r1', 9, 1764151202.0);"
		"INSERT INTO gaps VALUES(1, 1, 8, 1, 1764151200.0, 1764151201.6,"
		" 1764151200.0);",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	s = open_store(NULL);
	assert_int_equal(q_int("SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	assert_int_equal(q_int("SELECT value FROM meta WHERE key = 'cursor_off'"), 77);
	assert_int_equal(store_gaps_open(s), 8);
	assert_int_equal(store_gaps_due(s, T_BASE + 2, 2, g, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_true(g[0].seq_from == 1 && g[0].seq_to == 8 && g[0].requests == 0);
	/* and it is written as a version 2 one */
	assert_int_equal(put_r(s, 3, 1, &dup), 0);
	assert_int_equal(store_commit(s, err, sizeof(err)), 0);
	assert_int_equal(store_gaps_open(s), 7);
	store_close(s);
	s = open_store(NULL); /* opens again as it is */
	store_close(s);
	integrity_ok(t_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replay_fills_and_counts, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_due_and_requested, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expire_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
