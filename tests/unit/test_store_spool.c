/* Unit tests for services/archiver/spool: records read back in order,
 * seek back to a cursor, rotation and release of generations, a reopen
 * that resumes at a cursor in an old generation, a torn tail skipped, a
 * concurrent writer thread losing nothing, the wake-up eventfd (set only
 * after a dry read, never lost against a writer thread), records across
 * and larger than the read-ahead, a size cap that refuses
 * records as a full disk does until committed files are released, and a
 * spool whose files are gone (a power cut) under a saved cursor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/archiver/spool.h"
#include "../harness/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char t_dir[200];

static int setup(void **state)
{
	(void)state;
	return harness_tmpdir_new("test_spool", t_dir, sizeof(t_dir));
}

static int teardown(void **state)
{
	(void)state;
	harness_rm_tree(t_dir);
	return 0;
}

static void append_n(spool *sp, int from, int n)
{
	char err[128], p[64];
	for (int i = from; i < from + n; i++) {
		int len = snprintf(p, sizeof(p), "{\"i\":%d}", i);
		assert_int_equal(
		    spool_append(sp, "f/s/raw", p, (size_t)len, err, sizeof(err)), 0);
	}
}

/* Read everything available; checks payloads count up from *expect. */
static int read_all(spool *sp, int *expect, spool_pos *last)
{
	spool_record r;
	char err[128], want[64];
	int n = 0, rc;
	while ((rc = spool_next(sp, &r, err, sizeof(err))) == 1) {
		snprintf(want, sizeof(want), "{\"i\":%d}", *expect);
		assert_string_equal(r.payload, want);
		assert_int_equal(r.len, strlen(want));
		assert_string_equal(r.topic, "f/s/raw");
		(*expect)++;
		n++;
		if (last)
			*last = r.next;
	}
	assert_int_equal(rc, 0);
	return n;
}

static void test_roundtrip_seek(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0}, mid;
	char err[128];
	int expect = 0;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 0, err, sizeof(err)), 0);
	assert_int_equal(read_all(sp, &expect, NULL), 0);
	append_n(sp, 0, 5);
	assert_true(spool_backlog(sp) > 0);
	assert_int_equal(read_all(sp, &expect, &mid), 5);
	assert_int_equal(spool_backlog(sp), 0);
	append_n(sp, 5, 5);
	assert_int_equal(read_all(sp, &expect, NULL), 5);
	/* re-read from the cursor after record 4 */
	spool_seek(sp, mid);
	expect = 5;
	assert_int_equal(read_all(sp, &expect, NULL), 5);
	spool_close(sp);
}

/* Spool files in t_dir, and their bytes together (*bytes may be NULL). */
static int count_files_bytes(long long *bytes)
{
	DIR *d = opendir(t_dir);
	struct dirent *e;
	char path[PATH_MAX + 300];
	struct stat st;
	int n = 0;
	assert_non_null(d);
	if (bytes)
		*bytes = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "spool.", 6))
			continue;
		n++;
		snprintf(path, sizeof(path), "%s/%s", t_dir, e->d_name);
		if (bytes && stat(path, &st) == 0)
			*bytes += st.st_size;
	}
	closedir(d);
	return n;
}

static int count_files(void) { return count_files_bytes(NULL); }

static void test_rotate_release(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0}, cur;
	char err[128];
	int expect = 0;
	(void)state;

	/* 28-byte records, rotation at 100 bytes: 4 per generation */
	assert_int_equal(spool_open(&sp, t_dir, zero, 100, err, sizeof(err)), 0);
	append_n(sp, 0, 20);
	assert_int_equal(count_files(), 5);
	assert_int_equal(read_all(sp, &expect, &cur), 20);
	assert_int_equal(cur.gen, 5);
	spool_release(sp, cur);
	assert_int_equal(count_files(), 1);
	spool_close(sp);
}

static void test_reopen_resume(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0}, cur = {0, 0};
	char err[128];
	int expect = 0;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 100, err, sizeof(err)), 0);
	append_n(sp, 0, 10);
	/* consume 3 and "commit" the cursor after the third */
	spool_record r;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(spool_next(sp, &r, err, sizeof(err)), 1);
		cur = r.next;
	}
	spool_close(sp); /* crash */

	assert_int_equal(spool_open(&sp, t_dir, cur, 100, err, sizeof(err)), 0);
	append_n(sp, 10, 5);
	expect = 3;
	assert_int_equal(read_all(sp, &expect, &cur), 12);
	assert_int_equal(expect, 15);
	/* everything before the cursor's generation can go */
	spool_release(sp, cur);
	spool_close(sp);
	assert_int_equal(spool_open(&sp, t_dir, cur, 100, err, sizeof(err)), 0);
	assert_int_equal(read_all(sp, &expect, NULL), 0);
	spool_close(sp);
	/* after release a fresh reader from the start sees only the last gen */
	assert_int_equal(spool_open(&sp, t_dir, zero, 100, err, sizeof(err)), 0);
	expect = 14;
	assert_int_equal(read_all(sp, &expect, NULL), 1);
	spool_close(sp);
}

/* The files a committed cursor names are gone (they are not fsynced: a
 * power cut may take them): the reopened spool writes after the cursor's
 * generation, so what arrives next is read, not left behind it. */
static void test_files_lost(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0}, cur = {0, 0};
	spool_record r;
	char err[128];
	int expect = 0;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 100, err, sizeof(err)), 0);
	append_n(sp, 0, 10);
	assert_int_equal(read_all(sp, &expect, &cur), 10);
	assert_true(cur.gen > 1);
	spool_close(sp);
	harness_rm_tree(t_dir);
	assert_int_equal(spool_open(&sp, t_dir, cur, 100, err, sizeof(err)), 0);
	assert_int_equal(spool_next(sp, &r, err, sizeof(err)), 0);
	append_n(sp, 10, 3);
	assert_int_equal(read_all(sp, &expect, NULL), 3);
	assert_int_equal(expect, 13);
	spool_close(sp);
}

static void test_torn_tail(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0};
	char err[128], path[PATH_MAX + 32];
	int expect = 0, fd;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 0, err, sizeof(err)), 0);
	append_n(sp, 0, 3);
	spool_close(sp);
	/* a crashed writer left half a record in generation 1 */
	snprintf(path, sizeof(path), "%s/spool.%020d", t_dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x41\x53\x50\x31\x40\x00\x00\x00garb", 12), 12);
	close(fd);
	assert_int_equal(spool_open(&sp, t_dir, zero, 0, err, sizeof(err)), 0);
	append_n(sp, 3, 2); /* goes to generation 2 */
	assert_int_equal(read_all(sp, &expect, NULL), 5);
	assert_int_equal(spool_torn(sp), 1);
	spool_close(sp);
}

struct writer {
	spool *sp;
	int n;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char err[128], p[64];
	for (int i = 0; i < w->n; i++) {
		int len = snprintf(p, sizeof(p), "{\"i\":%d}", i);
		if (spool_append(w->sp, "f/s/raw", p, (size_t)len, err, sizeof(err)))
			abort();
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0};
	char err[128];
	int expect = 0;
	pthread_t th;
	struct writer w;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 4096, err, sizeof(err)), 0);
	w.sp = sp;
	w.n = 20000;
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	while (expect < w.n)
		read_all(sp, &expect, NULL);
	pthread_join(th, NULL);
	assert_int_equal(expect, w.n);
	assert_int_equal(spool_torn(sp), 0);
	spool_close(sp);
}

static int fd_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* The wake-up: spool_fd() readable after an append that follows a dry
 * read, not before; spool_take_wake() clears it; records beyond the
 * read-ahead (larger than it, and many small ones) read back whole. */
static void test_wake_and_readahead(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0};
	spool_record r;
	char err[128], *big;
	int expect = 0;
	size_t big_len = 300 * 1024;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 64ll << 20, err, sizeof(err)), 0);
	assert_false(fd_readable(spool_fd(sp), 0));
	append_n(sp, 0, 1);
	assert_true(fd_readable(spool_fd(sp), 0));
	assert_int_equal(read_all(sp, &expect, NULL), 1);
	assert_false(fd_readable(spool_fd(sp), 0)); /* the dry read took it */
	append_n(sp, 1, 2);
	assert_true(fd_readable(spool_fd(sp), 0));
	spool_take_wake(sp);
	assert_false(fd_readable(spool_fd(sp), 0));
	append_n(sp, 3, 1); /* no dry read since: no second wake-up */
	assert_false(fd_readable(spool_fd(sp), 0));
	assert_int_equal(read_all(sp, &expect, NULL), 3);
	/* many records: several read-ahead windows, read while appending */
	append_n(sp, 4, 5000);
	assert_int_equal(read_all(sp, &expect, NULL), 5000);
	append_n(sp, 5004, 996);
	assert_int_equal(read_all(sp, &expect, NULL), 996);
	/* one record larger than the read-ahead, between small ones */
	big = malloc(big_len + 1);
	assert_non_null(big);
	memset(big, 'x', big_len);
	big[0] = '"';
	big[big_len - 1] = '"';
	big[big_len] = 0;
	assert_int_equal(spool_append(sp, "f/s/raw", big, big_len, err, sizeof(err)), 0);
	append_n(sp, 6000, 1);
	assert_int_equal(spool_next(sp, &r, err, sizeof(err)), 1);
	assert_int_equal(r.len, big_len);
	assert_memory_equal(r.payload, big, big_len);
	assert_int_equal(r.payload[big_len], 0);
	expect = 6000;
	assert_int_equal(read_all(sp, &expect, NULL), 1);
	free(big);
	assert_int_equal(spool_torn(sp), 0);
	spool_close(sp);
}

/* A reader that only ever sleeps in poll() on spool_fd() against a writer
 * thread: every record arrives (a lost wake-up would leave it asleep past
 * the 5 s poll timeout). */
static void test_wake_concurrent(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0};
	char err[128];
	int expect = 0;
	pthread_t th;
	struct writer w;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 1 << 20, err, sizeof(err)), 0);
	w.sp = sp;
	w.n = 50000;
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	while (expect < w.n) {
		read_all(sp, &expect, NULL);
		if (expect < w.n)
			assert_true(fd_readable(spool_fd(sp), 5000));
	}
	pthread_join(th, NULL);
	assert_int_equal(expect, w.n);
	assert_int_equal(spool_torn(sp), 0);
	spool_close(sp);
}

static void test_rotate_when_read(void **state)
{
	spool *sp;
	spool_pos zero = {0, 0}, pos;
	char err[128];
	int expect = 0;
	(void)state;

	assert_int_equal(spool_open(&sp, t_dir, zero, 0, err, sizeof(err)), 0);
	append_n(sp, 0, 3);
	/* unread records: no rotation */
	assert_int_equal(spool_rotate(sp, 1, &pos, err, sizeof(err)), 0);
	assert_int_equal(read_all(sp, &expect, NULL), 3);
	/* below the size: none either */
	assert_int_equal(spool_rotate(sp, 1 << 20, &pos, err, sizeof(err)), 0);
	assert_int_equal(spool_rotate(sp, 1, &pos, err, sizeof(err)), 1);
	assert_int_equal(pos.gen, 2);
	assert_int_equal(pos.off, 0);
	append_n(sp, 3, 2);
	assert_int_equal(read_all(sp, &expect, NULL), 2);
	spool_release(sp, pos);
	assert_int_equal(count_files(), 1);
	spool_close(sp);
}

#define CAP_REC 65536 /* payload bytes of the records that fill the cap */

/* Append CAP_REC-byte records numbered from *next until the spool refuses
 * one; returns how many went in. The refusal must be AM_EFULL, name the
 * cap, and leave the spool's bytes as they were. */
static int fill_to_cap(spool *sp, char *rec, int *next)
{
	char err[128];
	int n = 0, rc;
	long long before;
	for (;;) {
		snprintf(rec, 16, "%08d", *next);
		rec[8] = ' ';
		rc = spool_append(sp, "f/s/raw", rec, CAP_REC, err, sizeof(err));
		if (rc)
			break;
		(*next)++;
		n++;
	}
	assert_int_equal(rc, AM_EFULL);
	assert_non_null(strstr(err, "full"));
	before = spool_bytes(sp);
	assert_int_equal(spool_append(sp, "f/s/raw", rec, CAP_REC, err, sizeof(err)),
			 AM_EFULL);
	assert_int_equal(spool_bytes(sp), before);
	return n;
}

/* Read every record, checking they count up from *expect; *last gets the
 * position after the last one. */
static int read_cap_records(spool *sp, int *expect, spool_pos *last)
{
	spool_record r;
	char err[128], want[16];
	int n = 0, rc;
	while ((rc = spool_next(sp, &r, err, sizeof(err))) == 1) {
		snprintf(want, sizeof(want), "%08d", *expect);
		assert_int_equal(r.len, CAP_REC);
		assert_memory_equal(r.payload, want, 8);
		(*expect)++;
		n++;
		*last = r.next;
	}
	assert_int_equal(rc, 0);
	return n;
}

static void test_cap_full_until_released(void **state)
{
	const long long rec_bytes = 12 + 2 + 7 + CAP_REC; /* header, topic, payload */
	spool *sp;
	spool_pos zero = {0, 0}, cur = {0, 0};
	char err[128], *rec = malloc(CAP_REC);
	int next = 0, expect = 0, n;
	long long on_disk;
	(void)state;

	assert_non_null(rec);
	memset(rec, 'x', CAP_REC);
	assert_int_equal(spool_open(&sp, t_dir, zero, 0, err, sizeof(err)), 0);
	/* below the smallest cap: refused, with the reason */
	assert_int_equal(spool_set_max(sp, SPOOL_MAX_MIN - 1, err, sizeof(err)),
			 AM_EINVAL);
	assert_non_null(strstr(err, "cap"));
	assert_int_equal(spool_set_max(sp, SPOOL_MAX_MIN, err, sizeof(err)), 0);

	/* full at the cap: every record that fits, and not one more; the
	 * files rotate at a quarter of the cap */
	n = fill_to_cap(sp, rec, &next);
	assert_int_equal(n, (int)(SPOOL_MAX_MIN / rec_bytes));
	assert_int_equal(count_files_bytes(&on_disk), 4);
	assert_int_equal(on_disk, spool_bytes(sp));
	assert_true(on_disk <= SPOOL_MAX_MIN && on_disk + rec_bytes > SPOOL_MAX_MIN);

	/* read and "committed": the older files go and there is room again;
	 * the file being written stays, and counts */
	assert_int_equal(read_cap_records(sp, &expect, &cur), n);
	spool_release(sp, cur);
	assert_int_equal(count_files_bytes(&on_disk), 1);
	assert_int_equal(on_disk, spool_bytes(sp));
	n = fill_to_cap(sp, rec, &next);
	assert_true(n > 0);
	assert_int_equal(read_cap_records(sp, &expect, &cur), n);
	assert_int_equal(expect, next);
	spool_close(sp);

	/* reopened at the cursor: the files left over count against the cap */
	assert_int_equal(spool_open(&sp, t_dir, cur, 0, err, sizeof(err)), 0);
	assert_int_equal(spool_set_max(sp, SPOOL_MAX_MIN, err, sizeof(err)), 0);
	count_files_bytes(&on_disk);
	assert_int_equal(spool_bytes(sp), on_disk);
	assert_true(on_disk > 0);
	n = fill_to_cap(sp, rec, &next);
	assert_int_equal(n, (int)((SPOOL_MAX_MIN - on_disk) / rec_bytes));
	spool_close(sp);
	free(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip_seek, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wake_and_readahead, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wake_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_when_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap_full_until_released, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
