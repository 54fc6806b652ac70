/* Unit tests for ingest-bt's journal (services/ingest-bt/journal.c,
 * jrec.c): messages read back bit for bit by (sensor, run, seq) and by
 * range, across a reopen; a crash at every write point (the segment cut
 * at every byte: exactly the whole records before the cut come back, and
 * appending goes on); a damaged record skipped without losing those after
 * it, and a tail of zeros (a power cut's unwritten blocks) ignored; the
 * bounds in bytes and in time; a failed write (RLIMIT_FSIZE) that leaves
 * nothing partial; and the fsync policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/ingest-bt/journal.h"
#include "../../services/ingest-bt/jrec.h"
#include "../harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_NOW 1764151200.0
static char t_dir[300];
static char err[256];

static int setup(void **state)
{
	(void)state;
	return harness_tmpdir_new("test_journal", t_dir, sizeof(t_dir));
}

static int teardown(void **state)
{
	(void)state;
	harness_rm_tree(t_dir);
	return 0;
}

/* Message seq of (sensor, run): n rows of 3 channels, values from all
 * three so that a mix-up shows; t0 seq/10 s after T_NOW at 100 Hz. */
static void make_msg(msg_raw *m, const char *sensor, const char *run, uint64_t seq,
		     size_t n)
{
	static const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};
	snprintf(m->sensor, sizeof(m->sensor), "%s", sensor);
	snprintf(m->run, sizeof(m->run), "%s", run);
	m->seq = seq;
	m->replay = 0;
	m->t0 = T_NOW + (double)seq / 10;
	m->rate_hz = 100;
	m->has_frame0 = seq % 3 != 0;
	m->frame0 = m->has_frame0 ? (int64_t)seq * 10 : 0;
	m->n_channels = 3;
	for (size_t c = 0; c < 3; c++)
		snprintf(m->channels[c], sizeof(m->channels[c]), "%s", ch[c]);
	assert_int_equal(msg_raw_reserve(m, n), 0);
	m->n_samples = n;
	for (size_t i = 0; i < n * 3; i++)
		m->samples[i] = (float)(seq * 1000 + i) * 1e-3f + (float)sensor[0] -
				(float)run[0] * 0.5f;
}

static void assert_msg_equal(const msg_raw *a, const msg_raw *b)
{
	assert_string_equal(a->sensor, b->sensor);
	assert_string_equal(a->run, b->run);
	assert_true(a->seq == b->seq);
	assert_true(a->t0 == b->t0);
	assert_true(a->rate_hz == b->rate_hz);
	assert_int_equal(a->has_frame0, b->has_frame0);
	assert_true(a->frame0 == b->frame0);
	assert_int_equal(a->n_channels, b->n_channels);
	for (size_t c = 0; c < a->n_channels; c++)
		assert_string_equal(a->channels[c], b->channels[c]);
	assert_int_equal(a->n_samples, b->n_samples);
	assert_memory_equal(a->samples, b->samples,
			    a->n_samples * a->n_channels * sizeof(float));
	assert_int_equal(b->replay, 0);
}

/* Is (sensor, run, seq) held, and equal to what make_msg makes? */
static int held(journal *j, const char *sensor, const char *run, uint64_t seq, size_t n)
{
	msg_raw want, got;
	int rc;
	msg_raw_init(&want);
	msg_raw_init(&got);
	make_msg(&want, sensor, run, seq, n);
	rc = journal_get(j, sensor, run, seq, &got, err, sizeof(err));
	assert_true(rc >= 0);
	if (rc == 1)
		assert_msg_equal(&want, &got);
	msg_raw_cleanup(&want);
	msg_raw_cleanup(&got);
	return rc;
}

static journal *open_j(int64_t max_bytes, int64_t seg, double max_age, int fsync_ms)
{
	journal_options o = {t_dir, max_bytes, max_age, seg, fsync_ms};
	journal *j = NULL;
	if (journal_open(&j, &o, err, sizeof(err)))
		fail_msg("journal_open: %s", err);
	return j;
}

static void append(journal *j, const char *sensor, const char *run, uint64_t seq,
		   size_t n)
{
	msg_raw m;
	msg_raw_init(&m);
	make_msg(&m, sensor, run, seq, n);
	if (journal_append(j, &m, 0, err, sizeof(err)))
		fail_msg("journal_append: %s", err);
	msg_raw_cleanup(&m);
}

static void test_roundtrip_reopen(void **state)
{
	journal *j;
	journal_stats st;
	journal_run jr;
	uint64_t first, last;
	size_t it = 0, runs = 0;
	(void)state;

	j = open_j(0, 0, 0, -1);
	for (uint64_t s = 0; s < 50; s++) {
		append(j, "arm1", "r1", s, 10);
		append(j, "arm2", "r1", s, 1 + s % 10);
		if (s != 7) /* a hole: seq 7 of (arm1, r2) never published */
			append(j, "arm1", "r2", s + 100, 4);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t s = 0; s < 50; s++) {
			assert_int_equal(held(j, "arm1", "r1", s, 10), 1);
			assert_int_equal(held(j, "arm2", "r1", s, 1 + s % 10), 1);
			assert_int_equal(held(j, "arm1", "r2", s + 100, 4), s != 7);
		}
		assert_int_equal(held(j, "arm1", "r1", 50, 10), 0);
		assert_int_equal(held(j, "arm3", "r1", 0, 10), 0);
		assert_int_equal(journal_range(j, "arm1", "r2", &first, &last), 1);
		assert_true(first == 100 && last == 149);
		assert_int_equal(journal_range(j, "arm1", "nope", &first, &last), 0);
		it = 0;
		runs = 0;
		while (journal_next_run(j, &it, &jr)) {
			runs++;
			if (!strcmp(jr.sensor, "arm2"))
				assert_true(jr.first == 0 && jr.last == 49 &&
					    jr.last_t == T_NOW + 4.9 + 9 / 100.0);
		}
		assert_int_equal(runs, 3);
		journal_get_stats(j, &st);
		assert_int_equal(st.records, 149);
		assert_int_equal(st.torn, 0);
		assert_true(st.index_bytes > 149 * 8);
		/* a restart: the index is rebuilt from the files */
		journal_close(j);
		j = open_j(0, 0, 0, -1);
	}
	/* the directory is this journal's alone while it is open */
	{
		journal_options o = {t_dir, 0, 0, 0, -1};
		journal *j2 = NULL;
		assert_int_equal(journal_open(&j2, &o, err, sizeof(err)), AM_EINVAL);
		assert_null(j2);
		assert_non_null(strstr(err, "in use"));
	}
	/* and it goes on, with a new run */
	append(j, "arm1", "r3", 0, 10);
	assert_int_equal(held(j, "arm1", "r3", 0, 10), 1);
	assert_int_equal(held(j, "arm1", "r1", 3, 10), 1);
	journal_close(j);
	journal_close(NULL);
}

/* The one segment file with records in it. */
static void seg_path(char *out, size_t len)
{
	char cmd[700];
	FILE *p;
	snprintf(cmd, sizeof(cmd), "ls -S %s/journal.* | head -1", t_dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, (int)len, p));
	out[strcspn(out, "\n")] = 0;
	pclose(p);
}

static size_t read_file(const char *path, unsigned char **out)
{
	FILE *f = fopen(path, "rb");
	long n;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*out = malloc((size_t)n + 1);
	assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (size_t)n;
}

static void write_file(const char *path, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

/* Remove every journal file (keep the directory). */
static void clear_dir(void)
{
	harness_rm_tree(t_dir);
	assert_int_equal(mkdir(t_dir, 0700), 0);
}

/* A crash at every write point: the segment cut at every byte. */
static void test_crash_at_every_byte(void **state)
{
	enum { N = 12 };
	size_t ends[N], n = 0, size;
	unsigned char *img;
	char path[600];
	journal *j;
	journal_stats st;
	(void)state;

	j = open_j(0, 0, 0, -1);
	for (uint64_t s = 0; s < N; s++) {
		append(j, "arm1", "r1", s, 1 + s % 4);
		journal_get_stats(j, &st);
		ends[n++] = (size_t)st.bytes;
	}
	journal_close(j);
	seg_path(path, sizeof(path));
	size = read_file(path, &img);
	assert_int_equal(size, ends[N - 1]);
	for (size_t cut = 0; cut <= size; cut++) {
		size_t whole = 0;
		while (whole < N && ends[whole] <= cut)
			whole++;
		clear_dir();
		write_file(path, img, cut);
		j = open_j(0, 0, 0, -1);
		journal_get_stats(j, &st);
		assert_int_equal(st.records, (int64_t)whole);
		assert_int_equal(st.torn, cut != (whole ? ends[whole - 1] : 0));
		for (uint64_t s = 0; s < N; s++)
			assert_int_equal(held(j, "arm1", "r1", s, 1 + s % 4), s < whole);
		/* writing goes on after the cut, in a new segment */
		append(j, "arm1", "r1", whole, 1 + whole % 4);
		assert_int_equal(held(j, "arm1", "r1", whole, 1 + whole % 4), 1);
		journal_close(j);
	}
	free(img);
}

/* A record damaged in the middle: it alone is lost, those after it are
 * found again; zeros after the end (blocks a power cut left unwritten)
 * are ignored. */
static void test_damage_and_zero_tail(void **state)
{
	size_t size;
	unsigned char *img;
	char path[600];
	journal *j;
	journal_stats st;
	(void)state;

	j = open_j(0, 0, 0, -1);
	for (uint64_t s = 0; s < 10; s++)
		append(j, "arm1", "r1", s, 5);
	journal_close(j);
	seg_path(path, sizeof(path));
	size = read_file(path, &img);
	img = realloc(img, size + 4096);
	img[size / 10 * 5 + JREC_HDR + 5] ^= 0x40; /* a bit in record 5's body */
	memset(img + size, 0, 4096);
	clear_dir();
	write_file(path, img, size + 4096);
	j = open_j(0, 0, 0, -1);
	journal_get_stats(j, &st);
	assert_int_equal(st.records, 9);
	assert_int_equal(st.torn, 2); /* the damaged record, the zeros */
	for (uint64_t s = 0; s < 10; s++)
		assert_int_equal(held(j, "arm1", "r1", s, 5), s != 5);
	journal_close(j);
	free(img);
}

/* Files on disk, their bytes together. */
static long long dir_bytes(int *files)
{
	char cmd[700];
	long long total = 0, sz;
	FILE *p;
	snprintf(cmd, sizeof(cmd), "stat -c %%s %s/journal.* 2>/dev/null", t_dir);
	p = popen(cmd, "r");
	*files = 0;
	while (p && fscanf(p, "%lld", &sz) == 1) {
		total += sz;
		(*files)++;
	}
	if (p)
		pclose(p);
	return total;
}

static void test_bound_bytes(void **state)
{
	journal *j;
	journal_stats st;
	uint64_t first, last;
	int files;
	const int64_t max = 256 << 10;
	(void)state;

	j = open_j(max, 64 << 10, 0, -1);
	for (uint64_t s = 0; s < 3000; s++) {
		append(j, "arm1", "r1", s, 10);
		journal_get_stats(j, &st);
		assert_true(st.bytes <= max);
	}
	assert_true(st.evicted > 0);
	assert_true(dir_bytes(&files) <= max);
	assert_int_equal(files, st.segments);
	assert_int_equal(journal_range(j, "arm1", "r1", &first, &last), 1);
	assert_true(last == 2999 && first > 0);
	/* what the bound kept is whole and readable; what it dropped is gone */
	assert_int_equal(st.records, (int64_t)(last - first + 1));
	assert_true((int64_t)(last - first + 1) * 150 > max / 2);
	assert_int_equal(held(j, "arm1", "r1", first, 10), 1);
	assert_int_equal(held(j, "arm1", "r1", last, 10), 1);
	assert_int_equal(held(j, "arm1", "r1", first - 1, 10), 0);
	journal_close(j);
	/* the bound holds across a reopen with a smaller one */
	j = open_j(max / 2, 32 << 10, 0, -1);
	journal_get_stats(j, &st);
	assert_true(st.bytes <= max / 2);
	assert_true(dir_bytes(&files) <= max / 2);
	journal_close(j);
}

static void test_bound_time(void **state)
{
	journal *j;
	journal_stats st;
	uint64_t first, last, kept;
	(void)state;

	/* seq s has t0 = T_NOW + s/10; a 64 KiB segment holds ~32 s of it */
	j = open_j(0, 64 << 10, 30, -1);
	for (uint64_t s = 0; s < 3000; s++) /* 300 s of data, ~9 segments */
		append(j, "arm1", "r1", s, 10);
	journal_get_stats(j, &st);
	assert_true(st.evicted > 0);
	assert_int_equal(journal_range(j, "arm1", "r1", &first, &last), 1);
	/* the last 30 s are all held; nothing older than 30 s plus one
	 * segment's span is */
	assert_true(last == 2999 && first <= 2999 - 300);
	assert_true(first >= 2999 - 300 - 330);
	kept = last - first + 1;
	assert_int_equal(st.records, (int64_t)kept);
	journal_close(j);
	/* age is on the data's clock: a night switched off drops nothing */
	j = open_j(0, 64 << 10, 30, -1);
	journal_get_stats(j, &st);
	assert_int_equal(st.records, (int64_t)kept);
	/* data an hour newer retires all the old, the writer's segment too */
	append(j, "arm1", "r2", 36000, 10);
	journal_get_stats(j, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(journal_range(j, "arm1", "r1", &first, &last), 0);
	assert_int_equal(held(j, "arm1", "r2", 36000, 10), 1);
	journal_close(j);
}

/* A write the file system refuses half way (RLIMIT_FSIZE: a short write,
 * then EFBIG): AM_EFULL, nothing partial in the file; once there is room
 * again appending goes on, and a reopen finds every record whole. */
static void test_failed_write(void **state)
{
	journal *j;
	journal_stats st;
	struct rlimit old, lim;
	msg_raw m;
	char path[600];
	struct stat sb;
	(void)state;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	j = open_j(0, 0, 0, -1);
	for (uint64_t s = 0; s < 3; s++)
		append(j, "arm1", "r1", s, 10);
	journal_get_stats(j, &st);
	seg_path(path, sizeof(path));
	lim = old;
	lim.rlim_cur = (rlim_t)st.bytes + 50; /* mid-record */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	msg_raw_init(&m);
	make_msg(&m, "arm1", "r1", 3, 10);
	assert_int_equal(journal_append(j, &m, 0, err, sizeof(err)), AM_EFULL);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, st.bytes); /* cut back */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(journal_append(j, &m, 0, err, sizeof(err)), 0);
	journal_get_stats(j, &st);
	assert_int_equal(st.append_errors, 1);
	journal_close(j);
	j = open_j(0, 0, 0, -1);
	journal_get_stats(j, &st);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.torn, 0);
	for (uint64_t s = 0; s < 4; s++)
		assert_int_equal(held(j, "arm1", "r1", s, 10), 1);
	journal_close(j);
	msg_raw_cleanup(&m);
}

static void test_fsync_policy(void **state)
{
	journal *j;
	journal_stats st;
	msg_raw m;
	(void)state;

	msg_raw_init(&m);
	make_msg(&m, "arm1", "r1", 0, 10);
	j = open_j(0, 0, 0, 50);
	assert_true(journal_deadline(j) == INT64_MAX);
	assert_int_equal(journal_append(j, &m, 1000, err, sizeof(err)), 0);
	m.seq++;
	assert_int_equal(journal_append(j, &m, 1030, err, sizeof(err)), 0);
	assert_true(journal_deadline(j) == 1050); /* from the first unsynced */
	assert_int_equal(journal_sync(j, 1049, 0, err, sizeof(err)), 0);
	journal_get_stats(j, &st);
	assert_int_equal(st.syncs, 0);
	assert_int_equal(journal_sync(j, 1050, 0, err, sizeof(err)), 1);
	journal_get_stats(j, &st);
	assert_int_equal(st.syncs, 1);
	assert_true(journal_deadline(j) == INT64_MAX);
	journal_close(j);
	/* 0: every append */
	clear_dir();
	j = open_j(0, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		m.seq = (uint64_t)i;
		assert_int_equal(journal_append(j, &m, 0, err, sizeof(err)), 0);
	}
	journal_get_stats(j, &st);
	assert_int_equal(st.syncs, 3);
	journal_close(j);
	/* the record format refuses what msg.h would */
	m.n_channels = 0;
	clear_dir();
	j = open_j(0, 0, 0, -1);
	assert_int_equal(journal_append(j, &m, 0, err, sizeof(err)), AM_EFORMAT);
	journal_close(j);
	msg_raw_cleanup(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_at_every_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damage_and_zero_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fsync_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
