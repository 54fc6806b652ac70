/* Unit tests for common/inbox: FIFO order, the eventfd readable exactly
 * while something waits (or after a wake), a producer that waits for space
 * and gives up when told to or when its bound passes (taking the node over
 * the bound, never dropping it), and many producer threads against one
 * consumer losing nothing and keeping each producer's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "inbox.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct item {
	inbox_node node;
	int producer;
	int seq;
} item;

static item *item_new(int producer, int seq)
{
	item *it = calloc(1, sizeof(*it));
	assert_non_null(it);
	it->producer = producer;
	it->seq = seq;
	return it;
}

static void item_free(inbox_node *n) { free(n); }

static int readable(inbox *ib)
{
	struct pollfd p = {.fd = inbox_fd(ib), .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

static void test_fifo_and_fd(void **state)
{
	inbox *ib;
	item *it;
	(void)state;
	assert_int_equal(inbox_new(&ib, 0, NULL), AM_EINVAL);
	assert_int_equal(inbox_new(&ib, 8, NULL), 0);
	assert_false(readable(ib));
	assert_null(inbox_pop(ib));
	for (int i = 0; i < 5; i++)
		assert_int_equal(inbox_push(ib, &item_new(0, i)->node, 0, NULL, NULL), 0);
	assert_int_equal(inbox_count(ib), 5);
	assert_true(readable(ib));
	for (int i = 0; i < 5; i++) {
		it = (item *)inbox_pop(ib);
		assert_non_null(it);
		assert_int_equal(it->seq, i);
		free(it);
		assert_int_equal(readable(ib), i < 4);
	}
	/* a wake makes it readable while empty, until taken */
	inbox_wake(ib);
	assert_true(readable(ib));
	inbox_push(ib, &item_new(0, 9)->node, 0, NULL, NULL);
	assert_int_equal(inbox_take_wake(ib), 1);
	assert_true(readable(ib)); /* still a node */
	free(inbox_pop(ib));
	assert_false(readable(ib));
	assert_int_equal(inbox_take_wake(ib), 0);
	/* what is left goes to free_node */
	inbox_push(ib, &item_new(0, 1)->node, 0, NULL, NULL);
	inbox_free(ib, item_free);
	inbox_free(NULL, NULL);
}

typedef struct waiter {
	inbox *ib;
	int64_t max_wait_ms;
	atomic_int give_up;
	atomic_int done;
	int rc;
	int64_t took_ms;
} waiter;

static int waiter_give_up(void *ud)
{
	waiter *w = ud;
	return atomic_load(&w->give_up);
}

static void *waiter_run(void *ud)
{
	waiter *w = ud;
	int64_t t0 = clock_mono_ms();
	w->rc =
	    inbox_push(w->ib, &item_new(1, 0)->node, w->max_wait_ms, waiter_give_up, w);
	w->took_ms = clock_mono_ms() - t0;
	atomic_store(&w->done, 1);
	return NULL;
}

static void fill(inbox *ib, int n)
{
	for (int i = 0; i < n; i++)
		inbox_push(ib, &item_new(0, i)->node, 0, NULL, NULL);
}

/* Full: the producer waits until the consumer takes one. */
static void test_full_waits_for_space(void **state)
{
	metrics *m = metrics_new();
	metrics_slot *full = metrics_get(m, "inbox_full");
	waiter w = {.max_wait_ms = 10000};
	pthread_t th;
	(void)state;
	assert_int_equal(inbox_new(&w.ib, 2, full), 0);
	fill(w.ib, 2);
	assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
	while (metrics_read(full) == 0)
		clock_sleep_ms(1); /* counted on arrival, before it waits */
	clock_sleep_ms(50);
	assert_int_equal(atomic_load(&w.done), 0);
	assert_int_equal(inbox_count(w.ib), 2);
	free(inbox_pop(w.ib));
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, 1);
	assert_int_equal(inbox_count(w.ib), 2);
	assert_int_equal(metrics_read(full), 1);
	inbox_free(w.ib, item_free);
	metrics_free(m);
}

/* Nobody takes: the wait ends at its bound and the node goes in over it. */
static void test_full_wait_is_bounded(void **state)
{
	waiter w = {.max_wait_ms = 100};
	pthread_t th;
	(void)state;
	assert_int_equal(inbox_new(&w.ib, 1, NULL), 0);
	fill(w.ib, 1);
	assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, 1);
	assert_true(w.took_ms >= 100);
	assert_true(w.took_ms < 5000);
	assert_int_equal(inbox_count(w.ib), 2); /* taken over the bound, not lost */
	inbox_free(w.ib, item_free);
}

/* Told to give up (and nudged), the producer stops waiting at once. */
static void test_give_up_and_nudge(void **state)
{
	waiter w = {.max_wait_ms = 60000};
	pthread_t th;
	int64_t t0;
	(void)state;
	assert_int_equal(inbox_new(&w.ib, 1, NULL), 0);
	fill(w.ib, 1);
	assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
	clock_sleep_ms(50);
	assert_int_equal(atomic_load(&w.done), 0);
	t0 = clock_mono_ms();
	atomic_store(&w.give_up, 1);
	inbox_nudge(w.ib);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(clock_mono_ms() - t0 < 5000);
	assert_int_equal(w.rc, 1);
	assert_int_equal(inbox_count(w.ib), 2);
	inbox_free(w.ib, item_free);
}

#define N_PRODUCERS 4
#define N_EACH 5000

typedef struct producer {
	inbox *ib;
	int id;
} producer;

static void *producer_run(void *ud)
{
	producer *p = ud;
	for (int i = 0; i < N_EACH; i++)
		inbox_push(p->ib, &item_new(p->id, i)->node, 10000, NULL, NULL);
	return NULL;
}

/* Producers on threads, one consumer polling the fd: all arrive, each
 * producer's in order, and the bound holds while the consumer keeps up. */
static void test_threads_lose_nothing(void **state)
{
	inbox *ib;
	producer pr[N_PRODUCERS];
	pthread_t th[N_PRODUCERS];
	int next[N_PRODUCERS] = {0};
	int got = 0;
	(void)state;
	assert_int_equal(inbox_new(&ib, 16, NULL), 0);
	for (int k = 0; k < N_PRODUCERS; k++) {
		pr[k].ib = ib;
		pr[k].id = k;
		assert_int_equal(pthread_create(&th[k], NULL, producer_run, &pr[k]), 0);
	}
	while (got < N_PRODUCERS * N_EACH) {
		struct pollfd p = {.fd = inbox_fd(ib), .events = POLLIN};
		item *it;
		assert_true(poll(&p, 1, 10000) == 1);
		while ((it = (item *)inbox_pop(ib)) != NULL) {
			assert_int_equal(it->seq, next[it->producer]);
			next[it->producer]++;
			got++;
			free(it);
		}
	}
	for (int k = 0; k < N_PRODUCERS; k++)
		assert_int_equal(pthread_join(th[k], NULL), 0);
	assert_int_equal(inbox_count(ib), 0);
	assert_false(readable(ib));
	inbox_free(ib, item_free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_fd),
	    cmocka_unit_test(test_full_waits_for_space),
	    cmocka_unit_test(test_full_wait_is_bounded),
	    cmocka_unit_test(test_give_up_and_nudge),
	    cmocka_unit_test(test_threads_lose_nothing),
	};
	return cmocka_run_group_tests_name("inbox", tests, NULL, NULL);
}
