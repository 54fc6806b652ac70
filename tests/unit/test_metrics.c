/* test_metrics — the counter registry: lookup by name returns one slot,
 * name and size limits, NULL-tolerant bumpers, rendering as a JSON object
 * in registration order, and exact totals when threads bump and register
 * at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void test_get_and_bump(void **state)
{
	metrics *m = metrics_new();
	metrics_slot *a, *b;
	char name[METRICS_NAME_MAX + 2];
	(void)state;
	assert_non_null(m);
	a = metrics_get(m, "msgs_in");
	assert_non_null(a);
	assert_int_equal(metrics_read(a), 0);
	metrics_add(a, 5);
	metrics_add(a, -2);
	assert_int_equal(metrics_read(a), 3);
	assert_ptr_equal(metrics_get(m, "msgs_in"), a); /* same name, same slot */
	b = metrics_get(m, "msgs_out");
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	metrics_set(b, INT64_MAX);
	assert_true(metrics_read(b) == INT64_MAX);
	assert_int_equal(metrics_read(a), 3);

	assert_null(metrics_get(m, ""));
	assert_null(metrics_get(m, NULL));
	assert_null(metrics_get(NULL, "x"));
	memset(name, 'n', sizeof(name));
	name[METRICS_NAME_MAX + 1] = '\0'; /* 49 bytes */
	assert_null(metrics_get(m, name));
	name[METRICS_NAME_MAX] = '\0'; /* 48 bytes */
	assert_non_null(metrics_get(m, name));

	/* bumpers accept NULL so modules need not check */
	metrics_add(NULL, 1);
	metrics_set(NULL, 1);
	assert_int_equal(metrics_read(NULL), 0);
	metrics_free(m);
	metrics_free(NULL);
}

static void test_full_registry(void **state)
{
	metrics *m = metrics_new();
	metrics_slot *first = NULL;
	char name[32];
	(void)state;
	for (int i = 0; i < METRICS_MAX; i++) {
		metrics_slot *s;
		snprintf(name, sizeof(name), "c%d", i);
		s = metrics_get(m, name);
		assert_non_null(s);
		if (!i)
			first = s;
	}
	assert_null(metrics_get(m, "one_too_many"));
	assert_ptr_equal(metrics_get(m, "c0"), first); /* existing names still found */
	metrics_free(m);
}

static void test_render(void **state)
{
	metrics *m = metrics_new();
	buf b;
	cJSON *j;
	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_string_equal(b.data, "{}");
	metrics_set(metrics_get(m, "b_in"), 12);
	metrics_set(metrics_get(m, "a_out"), -3);
	metrics_add(metrics_get(m, "q\"uote"), 1);
	buf_reset(&b);
	assert_int_equal(metrics_render(m, &b), 0);
	assert_string_equal(b.data, "{\"b_in\":12,\"a_out\":-3,\"q\\\"uote\":1}");
	j = cJSON_ParseWithLength(b.data, b.len);
	assert_non_null(j);
	assert_true(cJSON_GetObjectItemCaseSensitive(j, "q\"uote")->valuedouble == 1);
	cJSON_Delete(j);
	buf_cleanup(&b);

	buf_init(&b, 10); /* too small: refused */
	assert_int_equal(metrics_render(m, &b), AM_ETOOBIG);
	buf_cleanup(&b);
	metrics_free(m);
}

#define THREADS 4
#define BUMPS 20000

static void *bump_thread(void *arg)
{
	metrics *m = arg;
	char name[32];
	metrics_slot *shared = metrics_get(m, "shared");
	for (int i = 0; i < BUMPS; i++) {
		metrics_add(shared, 1);
		if (i % 1000 == 0) { /* registration races with bumping */
			snprintf(name, sizeof(name), "n%d", i / 1000);
			metrics_add(metrics_get(m, name), 1);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	metrics *m = metrics_new();
	pthread_t t[THREADS];
	char name[32];
	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, bump_thread, m), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_true(metrics_read(metrics_get(m, "shared")) == (int64_t)THREADS * BUMPS);
	for (int i = 0; i < BUMPS / 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		/* one slot per name even when threads registered it at once */
		assert_int_equal(metrics_read(metrics_get(m, name)), THREADS);
	}
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_and_bump),
	    cmocka_unit_test(test_full_registry),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
