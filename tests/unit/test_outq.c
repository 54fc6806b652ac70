/* Unit tests for common/outq with a fake sender in place of Paho: the
 * in-flight window honoured, order kept (also with concurrent publishers,
 * the sender never entered twice at once), everything queued while
 * disconnected (QoS 0 too) and drained on reconnect, the max_buffered bound
 * with overflow counted, "sender full" keeping the message first, a
 * refusal for good counted as failed, a failure report waking the owner
 * instead of sending, and a message given up with the network layer's
 * session sent again in its original place (nothing lost in transit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "outq.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENT_MAX 8192

/* The fake network layer: records what it is handed, in order. */
typedef struct fake {
	pthread_mutex_t lock;
	char topics[SENT_MAX][24];
	int qos[SENT_MAX];
	int track[SENT_MAX];
	outq_ticket *ticket[SENT_MAX];
	size_t n;
	size_t ended;     /* tickets before this index have been ended */
	int full_next;    /* answer AM_EOVERFLOW this many times */
	int refuse_topic; /* answer AM_EINVAL for topics starting with 'x' */
	atomic_int inside;
	atomic_int overlap; /* two threads in send() at once */
	atomic_int wakes;
	metrics *m;
} fake;

static int fake_send(void *ud, const char *topic, const void *payload, size_t len,
		     int qos, int retained, outq_ticket *ticket)
{
	fake *f = ud;
	int rc = 0;
	(void)payload;
	(void)len;
	(void)retained;
	if (atomic_fetch_add(&f->inside, 1) != 0)
		atomic_store(&f->overlap, 1);
	pthread_mutex_lock(&f->lock);
	if (f->full_next > 0) {
		f->full_next--;
		rc = AM_EOVERFLOW;
	} else if (f->refuse_topic && topic[0] == 'x') {
		rc = AM_EINVAL;
	} else {
		assert_true(f->n < SENT_MAX);
		snprintf(f->topics[f->n], sizeof(f->topics[0]), "%s", topic);
		f->qos[f->n] = qos;
		f->track[f->n] = ticket != NULL;
		f->ticket[f->n] = ticket;
		f->n++;
	}
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_sub(&f->inside, 1);
	return rc;
}

/* The network layer ends the oldest tracked publish not yet ended, as a
 * PUBACK (OUTQ_ACKED) or a failure report would; returns its index. */
static size_t end_next(fake *f, enum outq_end e)
{
	outq_ticket *t = NULL;
	size_t i;
	pthread_mutex_lock(&f->lock);
	for (i = f->ended; i < f->n && !f->ticket[i]; i++)
		;
	assert_true(i < f->n);
	t = f->ticket[i];
	f->ticket[i] = NULL;
	f->ended = i + 1;
	pthread_mutex_unlock(&f->lock);
	outq_done(t, e);
	return i;
}

static void fake_wake(void *ud)
{
	fake *f = ud;
	atomic_fetch_add(&f->wakes, 1);
}

static outq *make(fake *f, int max_buffered, int window)
{
	outq *q;
	outq_options o = {.max_buffered = max_buffered,
			  .window = window,
			  .send = fake_send,
			  .send_ud = f,
			  .wake = fake_wake,
			  .wake_ud = f};
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->m = metrics_new();
	o.out = metrics_get(f->m, "msgs_out");
	o.overflow = metrics_get(f->m, "overflow_dropped");
	o.failed = metrics_get(f->m, "publish_failed");
	o.resent = metrics_get(f->m, "publish_resent");
	o.queued = metrics_get(f->m, "outbound_queued");
	assert_int_equal(outq_new(&q, &o), 0);
	return q;
}

static void done(fake *f, outq *q)
{
	outq_free(q);
	metrics_free(f->m);
	pthread_mutex_destroy(&f->lock);
}

static int64_t metric(fake *f, const char *name)
{
	return metrics_read(metrics_get(f->m, name));
}

static void pub(outq *q, const char *topic, int qos, int want)
{
	assert_int_equal(outq_publish(q, topic, "{}", 2, qos, 0), want);
}

static void test_window_for(void **state)
{
	(void)state;
	assert_int_equal(outq_window_for(20), 18); /* mosquitto's default */
	assert_int_equal(outq_window_for(65535), 65533);
	assert_int_equal(outq_window_for(OUTQ_RECV_MAX_UNKNOWN), 8);
	assert_int_equal(outq_window_for(4), 3);
	assert_int_equal(outq_window_for(2), 1);
	assert_int_equal(outq_window_for(1), 1);
}

static void test_bad_options(void **state)
{
	outq *q;
	outq_options o = {.max_buffered = 0, .send = fake_send};
	(void)state;
	assert_int_equal(outq_new(&q, &o), AM_EINVAL);
	o.max_buffered = 1;
	o.send = NULL;
	assert_int_equal(outq_new(&q, &o), AM_EINVAL);
	outq_free(NULL);
}

/* At most `window` QoS 1 publishes in flight; each completion lets one
 * more go, in order. */
static void test_window_honoured(void **state)
{
	fake f;
	outq *q = make(&f, 100, 3);
	char t[32];
	(void)state;
	outq_set_connected(q, 1);
	for (int i = 0; i < 10; i++) {
		snprintf(t, sizeof(t), "t/%d", i);
		pub(q, t, 1, 0);
	}
	assert_int_equal(f.n, 3);
	assert_int_equal(outq_inflight(q), 3);
	assert_int_equal(outq_queued(q), 7);
	assert_int_equal(metric(&f, "outbound_queued"), 7);
	assert_int_equal(metric(&f, "msgs_out"), 10);
	for (int k = 0; k < 7; k++) {
		end_next(&f, OUTQ_ACKED);
		assert_int_equal(f.n, (size_t)(4 + k));
		assert_int_equal(outq_inflight(q), 3);
	}
	for (size_t i = 0; i < f.n; i++) {
		snprintf(t, sizeof(t), "t/%zu", i);
		assert_string_equal(f.topics[i], t);
		assert_int_equal(f.track[i], 1);
	}
	/* QoS 0 behind nothing goes straight through, untracked */
	pub(q, "q0", 0, 0);
	assert_string_equal(f.topics[10], "q0");
	assert_int_equal(f.track[10], 0);
	assert_int_equal(outq_inflight(q), 3);
	done(&f, q);
}

/* QoS 0 queues behind QoS 1 held by the window: the order stays. */
static void test_qos0_keeps_order(void **state)
{
	fake f;
	outq *q = make(&f, 100, 1);
	(void)state;
	outq_set_connected(q, 1);
	pub(q, "a", 1, 0);
	pub(q, "b", 1, 0); /* window full: queued */
	pub(q, "c", 0, 0); /* behind b */
	assert_int_equal(f.n, 1);
	end_next(&f, OUTQ_ACKED);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.topics[1], "b");
	assert_string_equal(f.topics[2], "c");
	done(&f, q);
}

/* Disconnected: everything queues, QoS 0 too; bound counted; reconnect
 * drains in order. */
static void test_disconnected_and_bound(void **state)
{
	fake f;
	outq *q = make(&f, 5, 2);
	char t[32];
	(void)state;
	for (int i = 0; i < 7; i++) {
		snprintf(t, sizeof(t), "t/%d", i);
		pub(q, t, i % 2, i < 5 ? 0 : AM_EOVERFLOW);
	}
	assert_int_equal(f.n, 0);
	assert_int_equal(outq_queued(q), 5);
	assert_int_equal(metric(&f, "overflow_dropped"), 2);
	assert_int_equal(metric(&f, "msgs_out"), 5);
	outq_set_connected(q, 1);
	outq_pump(q);
	/* t/0 (QoS 0), t/1 (QoS 1), t/2 (0), t/3 (1), t/4 (0): window of 2 */
	assert_int_equal(f.n, 5);
	for (size_t i = 0; i < f.n; i++) {
		snprintf(t, sizeof(t), "t/%zu", i);
		assert_string_equal(f.topics[i], t);
	}
	/* the bound counts what is in flight: 2 in flight + 3 more */
	for (int i = 0; i < 3; i++)
		pub(q, "more", 1, 0);
	pub(q, "over", 1, AM_EOVERFLOW);
	assert_int_equal(metric(&f, "overflow_dropped"), 3);
	/* disconnect again: nothing handed over even when a slot frees */
	outq_set_connected(q, 0);
	end_next(&f, OUTQ_ACKED);
	assert_int_equal(f.n, 5);
	done(&f, q);
}

/* The sender's buffer is full: the message stays first and goes next. */
static void test_sender_full_keeps_first(void **state)
{
	fake f;
	outq *q = make(&f, 100, 10);
	(void)state;
	pub(q, "a", 1, 0);
	pub(q, "b", 1, 0);
	f.full_next = 1;
	outq_set_connected(q, 1);
	outq_pump(q);
	assert_int_equal(f.n, 0); /* a refused for room: pump stops */
	assert_int_equal(outq_queued(q), 2);
	assert_int_equal(outq_inflight(q), 0);
	outq_pump(q);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.topics[0], "a");
	assert_string_equal(f.topics[1], "b");
	assert_int_equal(metric(&f, "publish_failed"), 0);
	/* a direct send refused for room reports it and counts overflow */
	f.full_next = 1;
	pub(q, "c", 0, AM_EOVERFLOW);
	assert_int_equal(metric(&f, "overflow_dropped"), 1);
	assert_int_equal(metric(&f, "publish_failed"), 0);
	done(&f, q);
}

/* Refused for good: dropped and counted, the rest goes on. */
static void test_refused_counted(void **state)
{
	fake f;
	outq *q = make(&f, 100, 10);
	(void)state;
	f.refuse_topic = 1;
	pub(q, "a", 1, 0);
	pub(q, "x-bad", 1, 0);
	pub(q, "b", 1, 0);
	outq_set_connected(q, 1);
	outq_pump(q);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.topics[1], "b");
	assert_int_equal(metric(&f, "publish_failed"), 1);
	assert_int_equal(outq_inflight(q), 2);
	/* a direct send refused for good returns the sender's code, counted
	 * once, here (the caller does not count it again) */
	pub(q, "x-direct", 0, AM_EINVAL);
	assert_int_equal(metric(&f, "publish_failed"), 2);
	assert_int_equal(metric(&f, "overflow_dropped"), 0);
	done(&f, q);
}

/* A failure report frees a window slot but may not send: it wakes the
 * owner, whose pump then sends. */
static void test_failure_wakes(void **state)
{
	fake f;
	outq *q = make(&f, 100, 1);
	(void)state;
	outq_set_connected(q, 1);
	pub(q, "a", 1, 0);
	pub(q, "b", 1, 0);
	assert_int_equal(f.n, 1);
	end_next(&f, OUTQ_REFUSED);
	assert_int_equal(f.n, 1);
	assert_int_equal(atomic_load(&f.wakes), 1);
	assert_int_equal(outq_inflight(q), 0);
	outq_pump(q);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.topics[1], "b");
	/* nothing queued: no wake */
	end_next(&f, OUTQ_REFUSED);
	assert_int_equal(atomic_load(&f.wakes), 1);
	/* closed: nothing more handed over */
	outq_close(q);
	pub(q, "c", 1, 0);
	outq_pump(q);
	assert_int_equal(f.n, 2);
	assert_int_equal(outq_queued(q), 1);
	done(&f, q); /* frees what is still queued */
}

/* The network layer loses its session with publishes in flight (a broker
 * restart): each is given up (OUTQ_RETRY), counted as resent, and goes
 * out again once connected, in its original place: before what was
 * queued behind it, after what had been acknowledged. A refusal for good
 * among them is dropped, not retried. */
static void test_given_up_sent_again(void **state)
{
	fake f;
	outq *q = make(&f, 100, 3);
	char t[32];
	(void)state;
	outq_set_connected(q, 1);
	for (int i = 0; i < 6; i++) {
		snprintf(t, sizeof(t), "t/%d", i);
		pub(q, t, 1, 0);
	}
	assert_int_equal(f.n, 3); /* t/0..2 in flight, t/3..5 queued */
	assert_int_equal(end_next(&f, OUTQ_ACKED), 0);
	assert_int_equal(f.n, 4); /* t/3 went */
	/* the connection drops: the three in flight are given up, out of
	 * order of their ends (t/3 first), one of them refused for good */
	outq_set_connected(q, 0);
	{
		outq_ticket *t1 = f.ticket[1], *t2 = f.ticket[2], *t3 = f.ticket[3];
		f.ended = f.n;
		outq_done(t3, OUTQ_RETRY);
		outq_done(t2, OUTQ_REFUSED);
		outq_done(t1, OUTQ_RETRY);
	}
	assert_int_equal(outq_inflight(q), 0);
	assert_int_equal(outq_queued(q), 4); /* t/1, t/3, t/4, t/5 */
	assert_int_equal(metric(&f, "publish_resent"), 2);
	assert_int_equal(metric(&f, "publish_failed"), 1);
	assert_true(atomic_load(&f.wakes) >= 1);
	assert_int_equal(f.n, 4); /* disconnected: nothing handed over */
	/* reconnected: the given-up ones first, in publish order */
	outq_set_connected(q, 1);
	outq_pump(q);
	assert_int_equal(f.n, 7);
	assert_string_equal(f.topics[4], "t/1");
	assert_string_equal(f.topics[5], "t/3");
	assert_string_equal(f.topics[6], "t/4");
	while (outq_inflight(q) > 0)
		end_next(&f, OUTQ_ACKED);
	assert_int_equal(f.n, 8);
	assert_string_equal(f.topics[7], "t/5");
	assert_int_equal(outq_queued(q) + outq_inflight(q), 0);
	/* a message given up OUTQ_MAX_SENDS times is dropped and counted: it
	 * must not hold the queue up for ever */
	pub(q, "poison", 1, 0);
	pub(q, "next", 1, 0);
	{
		outq_ticket *nx = f.ticket[f.n - 1]; /* "next" acknowledged */
		f.ticket[f.n - 1] = NULL;
		outq_done(nx, OUTQ_ACKED);
	}
	for (int k = 1; k <= OUTQ_MAX_SENDS; k++) {
		size_t i = end_next(&f, OUTQ_RETRY); /* the poison given up */
		assert_string_equal(f.topics[i], "poison");
		outq_pump(q);
		if (k < OUTQ_MAX_SENDS)
			assert_string_equal(f.topics[f.n - 1], "poison"); /* sent again */
	}
	assert_int_equal(outq_queued(q) + outq_inflight(q), 0); /* dropped */
	assert_int_equal(metric(&f, "publish_failed"), 2);
	assert_int_equal(metric(&f, "publish_resent"), 2 + OUTQ_MAX_SENDS - 1);
	/* a message in flight at outq_free is freed with the queue */
	pub(q, "last", 1, 0);
	assert_true(outq_inflight(q) >= 1);
	done(&f, q);
}

/* A message given up while older ones are still in flight (a write broke
 * the socket before Paho cleans its session) does not overtake them:
 * nothing is sent until all in flight have ended, then in publish order. */
static void test_given_up_keeps_order(void **state)
{
	fake f;
	outq *q = make(&f, 100, 3);
	(void)state;
	outq_set_connected(q, 1);
	pub(q, "t/0", 1, 0);
	pub(q, "t/1", 1, 0);
	pub(q, "t/2", 1, 0);
	pub(q, "t/3", 1, 0); /* queued: window full */
	{
		outq_ticket *t2 = f.ticket[2];
		f.ticket[2] = NULL;
		outq_done(t2, OUTQ_RETRY); /* t/2 first */
	}
	outq_pump(q);
	assert_int_equal(f.n, 3); /* held: t/0 and t/1 still in flight */
	assert_int_equal(end_next(&f, OUTQ_RETRY), 0);
	outq_pump(q);
	assert_int_equal(f.n, 3);
	assert_int_equal(end_next(&f, OUTQ_ACKED), 1); /* the last in flight */
	outq_pump(q);
	assert_int_equal(f.n, 6);
	assert_string_equal(f.topics[3], "t/0");
	assert_string_equal(f.topics[4], "t/2");
	assert_string_equal(f.topics[5], "t/3");
	done(&f, q);
}

#define N_THREADS 4
#define N_EACH 1000

typedef struct pubber {
	outq *q;
	int id;
	int failed;
} pubber;

static void *pubber_run(void *ud)
{
	pubber *p = ud;
	char t[24];
	for (int i = 0; i < N_EACH; i++) {
		snprintf(t, sizeof(t), "%d/%d", p->id, i);
		if (outq_publish(p->q, t, "{}", 2, 1, 0) != 0)
			p->failed++;
	}
	return NULL;
}

typedef struct acker {
	outq *q;
	fake *f;
	atomic_int stop;
} acker;

/* The "broker": acknowledges what was sent, as PUBACKs would. */
static void *acker_run(void *ud)
{
	acker *a = ud;
	size_t acked = 0;
	while (!atomic_load(&a->stop) || outq_inflight(a->q) > 0) {
		size_t n;
		pthread_mutex_lock(&a->f->lock);
		n = a->f->n;
		pthread_mutex_unlock(&a->f->lock);
		if (acked < n) {
			end_next(a->f, OUTQ_ACKED);
			acked++;
		} else {
			sched_yield();
		}
	}
	return NULL;
}

/* Publishers on threads while acknowledgements arrive on another: each
 * thread's messages go out in its order, none lost or doubled, the sender
 * never entered by two threads at once, the window never exceeded. */
static void test_concurrent_order(void **state)
{
	fake f;
	outq *q = make(&f, N_THREADS * N_EACH, 5);
	pubber pb[N_THREADS];
	pthread_t th[N_THREADS], ath;
	acker a;
	int next[N_THREADS] = {0};
	(void)state;
	outq_set_connected(q, 1);
	a.q = q;
	a.f = &f;
	atomic_init(&a.stop, 0);
	assert_int_equal(pthread_create(&ath, NULL, acker_run, &a), 0);
	for (int k = 0; k < N_THREADS; k++) {
		pb[k].q = q;
		pb[k].id = k;
		pb[k].failed = 0;
		assert_int_equal(pthread_create(&th[k], NULL, pubber_run, &pb[k]), 0);
	}
	for (int k = 0; k < N_THREADS; k++) {
		assert_int_equal(pthread_join(th[k], NULL), 0);
		assert_int_equal(pb[k].failed, 0);
	}
	while (outq_queued(q) > 0)
		sched_yield();
	atomic_store(&a.stop, 1);
	assert_int_equal(pthread_join(ath, NULL), 0);
	assert_int_equal(f.n, N_THREADS * N_EACH);
	assert_int_equal(atomic_load(&f.overlap), 0);
	for (size_t i = 0; i < f.n; i++) {
		int id, seq;
		assert_int_equal(sscanf(f.topics[i], "%d/%d", &id, &seq), 2);
		assert_int_equal(seq, next[id]);
		next[id]++;
	}
	assert_true(outq_inflight(q) <= 5);
	done(&f, q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_for),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_window_honoured),
	    cmocka_unit_test(test_qos0_keeps_order),
	    cmocka_unit_test(test_disconnected_and_bound),
	    cmocka_unit_test(test_sender_full_keeps_first),
	    cmocka_unit_test(test_refused_counted),
	    cmocka_unit_test(test_failure_wakes),
	    cmocka_unit_test(test_given_up_sent_again),
	    cmocka_unit_test(test_given_up_keeps_order),
	    cmocka_unit_test(test_concurrent_order),
	};
	return cmocka_run_group_tests_name("outq", tests, NULL, NULL);
}
