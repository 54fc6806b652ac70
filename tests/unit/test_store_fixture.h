/* The fixture of the store's unit tests (test_store.c: writes,
 * test_store_retention.c, test_store_export.c): a fresh directory and
 * database path per test, synthetic raw messages, and export into a
 * string. Header-only (static functions, as test_alerter_httpd.h): it is
 * these tests' own, not the harness's; STORE_FIXTURE marks them unused-ok
 * because each test file uses only some. The directory comes from the
 * harness (harness_tmpdir_new). */
#ifndef ANOMESH_TEST_STORE_FIXTURE_H
#define ANOMESH_TEST_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../services/archiver/store.h"
#include "../harness/harness.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_BASE 1764151200.0
#define STORE_FIXTURE static __attribute__((unused))

static char t_dir[200];
static char t_path[256];

STORE_FIXTURE int setup(void **state)
{
	(void)state;
	if (harness_tmpdir_new("test_store", t_dir, sizeof(t_dir)))
		return -1;
	snprintf(t_path, sizeof(t_path), "%s/a.db", t_dir);
	return 0;
}

STORE_FIXTURE int teardown(void **state)
{
	(void)state;
	harness_rm_tree(t_dir);
	return 0;
}

/* A raw message of n samples x 3 channels, value = seq*1000 + i*10 + c. */
STORE_FIXTURE void make_raw(msg_raw *m, float *buf, const char *sensor, const char *run,
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

STORE_FIXTURE store *open_store(const store_options *o_in)
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
STORE_FIXTURE int put(store *s, const char *sensor, const char *run, uint64_t seq,
		      int *dup)
{
	msg_raw m;
	float buf[30];
	char err[256];
	make_raw(&m, buf, sensor, run, seq, T_BASE + 0.2 * (double)seq, 10);
	return store_put_raw(s, &m, T_BASE, dup, err, sizeof(err));
}

/* Export into a heap string (caller frees). */
STORE_FIXTURE int export_str(store *s, const char *sensor, double from, double to,
			     const char (*ch)[MSG_CHANNEL_MAX + 1], size_t nch,
			     char **csv, char **gaps, int64_t *rows)
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

STORE_FIXTURE size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* PRAGMA integrity_check of the database at path says "ok". */
STORE_FIXTURE void integrity_ok(const char *path)
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

#endif
