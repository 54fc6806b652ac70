/* Unit tests for services/archiver/store: insert and export, duplicates,
 * gaps (recorded, shrunk by late messages, remembered across reopen),
 * rollback hygiene, the saved cursor, retention by age and by size, and a
 * full database (SQLite's max_page_count standing in for a full disk; the
 * integration test uses a real small tmpfs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/archiver/export.h"
#include "../../services/archiver/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_BASE 1764151200.0

static char t_dir[64];
static char t_path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(t_dir, sizeof(t_dir), "/tmp/test_store.XXXXXX");
	if (!mkdtemp(t_dir))
		return -1;
	snprintf(t_path, sizeof(t_path), "%s/a.db", t_dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];
	(void)state;
	const char *sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", t_path, sfx[i]);
		unlink(p);
	}
	rmdir(t_dir);
	return 0;
}

/* A raw message of n samples x 3 channels, value = seq*1000 + i*10 + c. */
static void make_raw(msg_raw *m, float *buf, const char *sensor, const char *run,
		     uint64_t seq, double t0, size_t n)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->sensor, sizeof(m->sensor), "%s", sensor);
	snprintf(m->run, sizeof(m->run), "%s", run);
	m->seq = seq;
	m->t0 = t0;
	m->rate_hz = 50;
	m->n_channels = 3;
	snprintf(m->channels[0], sizeof(m->channels[0]), "linacc_x");
	snprintf(m->channels[1], sizeof(m->channels[1]), "linacc_y");
	snprintf(m->channels[2], sizeof(m->channels[2]), "linacc_z");
	m->n_samples = n;
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < 3; c++)
			buf[i * 3 + c] = (float)(seq * 1000 + i * 10 + c);
	m->samples = buf;
	m->samples_cap = n * 3;
}

static store *open_store(const store_options *o_in)
{
	store_options o;
	store *s = NULL;
	char err[256];
	if (o_in)
		o = *o_in;
	else
		store_options_default(&o);
	o.path = t_path;
	int rc = store_open(&s, &o, err, sizeof(err));
	if (rc)
		fprintf(stderr, "store_open: %s\n", err);
	assert_int_equal(rc, 0);
	return s;
}

/* Put seq (10 samples, 0.2 s apart per message) of sensor/run. */
static int put(store *s, const char *sensor, const char *run, uint64_t seq, int *dup)
{
	msg_raw m;
	float buf[30];
	char err[256];
	make_raw(&m, buf, sensor, run, seq, T_BASE + 0.2 * (double)seq, 10);
	return store_put_raw(s, &m, T_BASE, dup, err, sizeof(err));
}

/* Export into a heap string (caller frees). */
static int export_str(store *s, const char *sensor, double from, double to,
		      const char (*ch)[MSG_CHANNEL_MAX + 1], size_t nch, char **csv,
		      char **gaps, int64_t *rows)
{
	size_t l1, l2;
	char err[256];
	FILE *o = open_memstream(csv, &l1), *g = open_memstream(gaps, &l2);
	int rc = store_export(s, sensor, from, to, ch, nch, o, g, rows, NULL, err,
			      sizeof(err));
	fclose(o);
	fclose(g);
	return rc;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

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

static void integrity_ok(const char *path);

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

static void integrity_ok(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A real full file system: a 1 MiB tmpfs (needs CAP_SYS_ADMIN; skipped
 * without). ENOSPC must come back as AM_EFULL, lose nothing committed,
 * and the store must carry on once the file system has room again. */
static void test_full_tmpfs(void **state)
{
	char mnt[80], path[160], *csv, *gaps, err[256];
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
	char err[256], out[160], gaps[160], *body;
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
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_and_cursor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_tmpfs, setup, teardown),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test_setup_teardown(test_export_main, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
