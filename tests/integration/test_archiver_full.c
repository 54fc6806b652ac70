/* Integration tests of the archiver's full-disk guarantee
 * (services/archiver/README.md: no message acknowledged that is not
 * durable, nothing lost once there is room again, the condition counted in
 * the metrics and logged), with the publisher in the test and an
 * independent persistent subscriber as the ground truth:
 *  - a real full disk: database and spool on a 1 MiB tmpfs, grown to 64 MiB
 *    while streaming. Needs the right to mount; skipped (with a SKIP: line)
 *    without it, which is why the next test exists;
 *  - the same path without a mount: the spool capped (--spool-max-mb 4) while
 *    another connection holds the database's write lock, so commits fail
 *    and the spool fills to its cap. kill -9 there loses nothing; without a
 *    kill the archiver resumes by itself when the lock goes. */
#include "test_archiver_pub.h"

#include <dirent.h>
#include <sys/mount.h>

#define T_PER 10 /* samples per message, as ingest-bt sends at 100 Hz */

/* ---- a real full disk ----------------------------------------------------------- */

static char t_mnt[512];

static void test_full_disk(void **state)
{
	harness_broker b = {0};
	harness_sub *truth;
	arch a;
	pub p;
	char mnt[512], db[600];
	const int n = 6000;
	(void)state;

	snprintf(mnt, sizeof(mnt), "%s/small", harness_tmpdir());
	assert_true(mkdir(mnt, 0700) == 0 || errno == EEXIST);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		printf("SKIP: test_full_disk: cannot mount a tmpfs here (%s; needs "
		       "CAP_SYS_ADMIN); test_spool_cap_full covers the same guarantee "
		       "without a mount\n",
		       strerror(errno));
		skip();
	}
	snprintf(t_mnt, sizeof(t_mnt), "%s", mnt);
	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/full.db", mnt);
	arch_init(&a, &b, db);
	arch_start(&a);
	truth = truth_new(b.uri);
	pub_start(&p, b.uri, 0, n, T_PER,
		  200); /* ~2.4 MB of JSON, the spool alone overflows */
	/* reported: the log says the disk is full, and the archiver stays up */
	harness_wait_file_count(a.log, "full", 1, 30000);
	assert_true(harness_file_count(a.log, "full") > 0);
	assert_int_equal(harness_wait_exit(a.pid, 0), -1);
	pub_join(&p); /* the broker holds what the archiver does not take */
	assert_true(db_messages(db) < n);
	/* room again: it resumes by itself and loses nothing */
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=64m"), 0);
	if (wait_messages(db, n, 60000))
		fprintf(stderr, "only %lld of %d messages; log %s\n", db_messages(db), n,
			a.log);
	arch_stop(&a);
	check_all(db, truth, n, T_PER);
	assert_true(harness_file_count(a.log, "resuming") > 0 ||
		    harness_file_count(a.log, "again") > 0);
	harness_sub_free(truth);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

/* A failed assertion must not leave the tmpfs mounted. */
static int unmount_teardown(void **state)
{
	(void)state;
	if (t_mnt[0])
		umount2(t_mnt, MNT_DETACH);
	t_mnt[0] = 0;
	return 0;
}

/* ---- a full spool, no mount ------------------------------------------------------- */

#define CAP_MB "4"
#define CAP_BYTES (4ll << 20)
#define CAP_PER 100 /* samples per message: about 4.5 KB of JSON, 930 fill the cap */
#define CAP_N 2000  /* messages per phase: about twice what the spool holds */

/* Take the database's write lock from another connection (as a backup tool
 * or an operator's sqlite3 would): the archiver's commits fail with
 * SQLITE_BUSY after its busy timeout, as they fail on a full disk. */
static sqlite3 *db_lock(const char *db)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 20000);
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	return h;
}

static void db_unlock(sqlite3 *h)
{
	assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* Bytes of the spool files in dir. */
static long long spool_dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1200];
	struct stat st;
	long long total = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "spool.", 6)) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (stat(path, &st) == 0)
				total += st.st_size;
		}
	closedir(d);
	return total;
}

/* The archiver (log a->log) says once more than `before` times that its
 * spool is full and it stops acknowledging; while it waits it stays up, its
 * spool stays within the cap and the database holds `stored` messages. */
static void wait_blocked(const arch *a, int before, const char *spool, long long stored)
{
	if (harness_wait_file_count(a->log, "not acknowledging", before + 1, 60000))
		fail_msg("the archiver never stopped acknowledging; log %s", a->log);
	assert_true(harness_file_count(a->log, "spool: full") > 0);
	assert_int_equal(harness_wait_exit(a->pid, 0), -1);
	assert_true(spool_dir_bytes(spool) <= CAP_BYTES);
	assert_int_equal(db_messages(a->db), stored);
}

static void test_spool_cap_full(void **state)
{
	harness_broker b = {0};
	harness_sub *truth, *met;
	arch a;
	pub p;
	sqlite3 *lock;
	char db[512], spool[600];
	const char *cap_args[] = {"--spool-max-mb", CAP_MB, NULL};
	const char *mtopic = "factory/_svc/archiver/itest/metrics";
	long long v;
	int blocked, unblocked;
	(void)state;

	assert_int_equal(harness_broker_start(&b, broker_conf), 0);
	snprintf(db, sizeof(db), "%s/cap.db", harness_tmpdir());
	snprintf(spool, sizeof(spool), "%s.spool", db);
	arch_init(&a, &b, db);
	a.extra = cap_args;
	arch_start(&a);
	truth = truth_new(b.uri);
	met = harness_sub_new(b.uri, mtopic, NULL, 0);
	assert_non_null(met);

	/* 1: commits fail, the spool fills, acknowledging stops; the broker
	 * takes the whole stream and keeps what the archiver did not take.
	 * kill -9 there: whatever the archiver had acknowledged must be in its
	 * spool, or it is gone for good -- so a restart that ends with every
	 * message proves nothing was acknowledged before it was durable. */
	lock = db_lock(db);
	pub_start(&p, b.uri, 0, CAP_N, CAP_PER, 500);
	wait_blocked(&a, 0, spool, 0);
	pub_join(&p);
	harness_kill9(a.pid);
	db_unlock(lock);
	arch_start(&a);
	if (wait_messages(db, CAP_N, 60000))
		fail_msg("only %lld of %d messages after the kill; log %s",
			 db_messages(db), CAP_N, a.log);

	/* 2: the same without a kill: once commits succeed again it resumes
	 * by itself, says so, and its metrics count what happened */
	blocked = harness_file_count(a.log, "not acknowledging");
	unblocked = harness_file_count(a.log, "spool writable again; acknowledging");
	lock = db_lock(db);
	pub_start(&p, b.uri, CAP_N, CAP_N, CAP_PER, 500);
	wait_blocked(&a, blocked, spool, CAP_N);
	pub_join(&p);
	/* held until a commit has failed (after the store's 5 s busy timeout),
	 * so that the retry path runs too */
	if (harness_wait_file_count(a.log, "keeping messages in the spool", 1, 30000))
		fail_msg("no commit failed while the lock was held; log %s", a.log);
	db_unlock(lock);
	if (wait_messages(db, 2 * CAP_N, 60000))
		fail_msg("only %lld of %d messages; log %s", db_messages(db), 2 * CAP_N,
			 a.log);
	assert_int_equal(harness_wait_file_count(a.log,
						 "spool writable again; acknowledging",
						 unblocked + 1, 10000),
			 0);
	assert_true(harness_file_count(a.log, "commits succeed again") > 0);
	assert_int_equal(
	    harness_sub_wait_metric(met, mtopic, "spool_errors", 1, 10000, &v), 0);
	assert_int_equal(harness_sub_wait_metric(met, mtopic, "db_errors", 1, 10000, &v),
			 0);
	assert_int_equal(harness_sub_metric(met, mtopic, "spool_blocked"), 0);
	arch_stop(&a);
	check_all(db, truth, 2 * CAP_N, CAP_PER);
	harness_sub_free(met);
	harness_sub_free(truth);
	harness_sub_free(a.status);
	harness_broker_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_full_disk, unmount_teardown),
	    cmocka_unit_test(test_spool_cap_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
