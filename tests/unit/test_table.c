/* Unit tests for common/table: get/put/del against a plain reference
 * array, growth far beyond any fixed cache size, tombstones reused,
 * iteration sees each entry once, and FNV-1a's published test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_fnv1a_vectors(void **state)
{
	(void)state;
	/* FNV-1a 64 reference values (Fowler/Noll/Vo test suite) */
	assert_true(table_hash(TABLE_HASH_INIT, "") == 0xcbf29ce484222325ull);
	assert_true(table_hash(TABLE_HASH_INIT, "a") == 0xaf63dc4c8601ec8cull);
	assert_true(table_hash(TABLE_HASH_INIT, "foobar") == 0x85944171f73967e8ull);
	/* continuing is hashing the concatenation */
	assert_true(table_hash(table_hash(TABLE_HASH_INIT, "foo"), "bar") ==
		    table_hash(TABLE_HASH_INIT, "foobar"));
}

static void test_put_get_replace_del(void **state)
{
	table t;
	int a = 1, b = 2;
	char key[8] = "arm1";
	(void)state;
	table_init(&t);
	assert_null(table_get(&t, "arm1"));
	assert_null(table_del(&t, "arm1"));
	assert_int_equal(table_put(&t, key, &a), 0);
	key[0] = 'X'; /* the table keeps its own copy */
	assert_ptr_equal(table_get(&t, "arm1"), &a);
	assert_null(table_get(&t, "Xrm1"));
	assert_int_equal(table_put(&t, "arm1", &b), 0);
	assert_ptr_equal(table_get(&t, "arm1"), &b);
	assert_int_equal(table_count(&t), 1);
	assert_ptr_equal(table_del(&t, "arm1"), &b);
	assert_null(table_get(&t, "arm1"));
	assert_int_equal(table_count(&t), 0);
	assert_int_equal(table_put(&t, NULL, &a), AM_EINVAL);
	assert_int_equal(table_put(&t, "x", NULL), AM_EINVAL);
	table_cleanup(&t, NULL);
	table_cleanup(&t, NULL); /* twice is safe */
}

/* 20,000 keys with random deletions and re-insertions, checked against a
 * reference array after every step: far beyond the 256 entries where the
 * archiver's old caches started to overwrite. */
static void test_many_keys_against_reference(void **state)
{
	enum { N = 20000 };
	static int present[N];
	static int vals[N];
	table t;
	uint64_t r = 88172645463325252ull;
	char key[32];
	size_t live = 0;
	(void)state;
	table_init(&t);
	memset(present, 0, sizeof(present));
	for (int step = 0; step < 4 * N; step++) {
		int i;
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		i = (int)(r % N);
		snprintf(key, sizeof(key), "sensor-%d", i);
		if (present[i] && (r >> 32) % 3 == 0) {
			assert_ptr_equal(table_del(&t, key), &vals[i]);
			present[i] = 0;
			live--;
		} else if (!present[i]) {
			vals[i] = i;
			assert_int_equal(table_put(&t, key, &vals[i]), 0);
			present[i] = 1;
			live++;
		}
		assert_int_equal(table_count(&t), live);
	}
	for (int i = 0; i < N; i++) {
		int *v;
		snprintf(key, sizeof(key), "sensor-%d", i);
		v = table_get(&t, key);
		if (present[i]) {
			assert_ptr_equal(v, &vals[i]);
		} else {
			assert_null(v);
		}
	}
	/* load stays at most half: probes stay short */
	assert_true(2 * t.used <= t.cap);
	table_cleanup(&t, NULL);
}

static void test_iterate_each_once_and_delete_while_iterating(void **state)
{
	table t;
	static int vals[1000];
	int seen[1000] = {0};
	size_t pos = 0, n = 0;
	const char *k;
	void *v;
	char key[16];
	(void)state;
	table_init(&t);
	for (int i = 0; i < 1000; i++) {
		vals[i] = i;
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(table_put(&t, key, &vals[i]), 0);
	}
	while (table_next(&t, &pos, &k, &v)) {
		int i = *(int *)v;
		snprintf(key, sizeof(key), "k%d", i);
		assert_string_equal(k, key);
		seen[i]++;
		n++;
		if (i % 2)
			assert_ptr_equal(table_del(&t, key), v);
	}
	assert_int_equal(n, 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(table_count(&t), 500);
	table_cleanup(&t, NULL);
}

static int freed;
static void count_free(void *v)
{
	freed++;
	free(v);
}

static void test_cleanup_frees_values(void **state)
{
	table t;
	(void)state;
	table_init(&t);
	freed = 0;
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof(key), "v%d", i);
		assert_int_equal(table_put(&t, key, malloc(8)), 0);
	}
	free(table_del(&t, "v7"));
	table_cleanup(&t, count_free);
	assert_int_equal(freed, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fnv1a_vectors),
	    cmocka_unit_test(test_put_get_replace_del),
	    cmocka_unit_test(test_many_keys_against_reference),
	    cmocka_unit_test(test_iterate_each_once_and_delete_while_iterating),
	    cmocka_unit_test(test_cleanup_frees_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
