/* Unit tests for common/loop: timers fire in order (and repeat, move, stop,
 * go away), descriptor callbacks (and none for a descriptor unwatched in the
 * same iteration), the before-sleep hook once per iteration before the
 * sleep, and signals: a stop through the signalfd ends loop_run(), SIGHUP
 * runs the reload hook, a signal is never handled on a thread made after
 * signals_block(), and one handled on an older thread (a library's pool) is
 * passed on to the loop. The signal cases run in forked children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "loop.h"
#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct trace {
	loop *l;
	char seq[256];
	size_t n;
	int fires;
	int fd[2];
	long timer;
} trace;

static void rec(trace *t, char c)
{
	if (t->n + 1 < sizeof(t->seq))
		t->seq[t->n++] = c;
	t->seq[t->n] = '\0';
}

typedef struct mark {
	trace *t;
	char c;
	int64_t again;
} mark;

static int64_t on_mark(void *ud)
{
	mark *m = ud;
	rec(m->t, m->c);
	return m->again;
}

static int64_t on_stop(void *ud)
{
	trace *t = ud;
	loop_stop(t->l);
	return LOOP_TIMER_STOP;
}

static void test_timers_in_order(void **state)
{
	trace t = {0};
	mark a = {&t, 'a', LOOP_TIMER_STOP}, b = {&t, 'b', LOOP_TIMER_STOP},
	     c = {&t, 'c', LOOP_TIMER_STOP}, d = {&t, 'd', LOOP_TIMER_STOP},
	     e = {&t, 'e', LOOP_TIMER_STOP}, gone = {&t, 'X', LOOP_TIMER_STOP};
	long id, id2;
	int64_t at;
	(void)state;
	assert_int_equal(loop_new(&t.l), 0);
	assert_true(loop_timer_add(t.l, 30, on_mark, &c) > 0);
	assert_true(loop_timer_add(t.l, 10, on_mark, &a) > 0);
	assert_true(loop_timer_add(t.l, 20, on_mark, &b) > 0);
	/* same due time: the one added first runs first */
	id = loop_timer_add(t.l, 40, on_mark, &d);
	id2 = loop_timer_add(t.l, 40, on_mark, &e);
	at = clock_mono_ms() + 40;
	assert_int_equal(loop_timer_at(t.l, id2, at), 0);
	assert_int_equal(loop_timer_at(t.l, id, at), 0);
	id = loop_timer_add(t.l, 15, on_mark, &gone);
	loop_timer_del(t.l, id);
	loop_timer_del(t.l, id); /* twice: no-op */
	assert_int_equal(loop_timer_at(t.l, id, 0), AM_ENOTFOUND);
	assert_true(loop_timer_add(t.l, 80, on_stop, &t) > 0);
	assert_int_equal(loop_run(t.l), 0);
	assert_string_equal(t.seq, "abcde");
	loop_free(t.l);
	loop_free(NULL);
}

static int64_t on_repeat(void *ud)
{
	trace *t = ud;
	rec(t, 'r');
	if (++t->fires == 3) {
		loop_stop(t->l);
		return LOOP_TIMER_STOP;
	}
	return 5;
}

/* A timer that asks to run again runs again; one moved later waits. */
static void test_timer_repeats_and_moves(void **state)
{
	trace t = {0};
	mark late = {&t, 'L', LOOP_TIMER_STOP};
	long id;
	int64_t t0 = clock_mono_ms();
	(void)state;
	assert_int_equal(loop_new(&t.l), 0);
	id = loop_timer_add(t.l, 0, on_mark, &late);
	assert_int_equal(loop_timer_at(t.l, id, t0 + 60000), 0); /* moved away */
	assert_true(loop_timer_add(t.l, 5, on_repeat, &t) > 0);
	assert_int_equal(loop_run(t.l), 0);
	assert_string_equal(t.seq, "rrr");
	assert_true(clock_mono_ms() - t0 >= 15);
	loop_free(t.l);
}

static void on_read_one(void *ud, int fd, short revents)
{
	trace *t = ud;
	char ch;
	assert_true(revents & LOOP_IN);
	assert_int_equal(read(fd, &ch, 1), 1);
	rec(t, 'F');
}

static void on_before(void *ud)
{
	trace *t = ud;
	rec(t, 'B');
}

/* A readable descriptor's callback runs every iteration while it stays
 * readable; the before-sleep hook runs once per iteration, first, and
 * after the callbacks of the iteration before (before each sleep). */
static void test_fd_and_before_sleep(void **state)
{
	trace t = {0};
	(void)state;
	assert_int_equal(loop_new(&t.l), 0);
	assert_int_equal(pipe(t.fd), 0);
	assert_int_equal(write(t.fd[1], "12345", 5), 5);
	assert_int_equal(loop_watch(t.l, t.fd[0], LOOP_IN, on_read_one, &t), 0);
	loop_before_sleep(t.l, on_before, &t);
	assert_true(loop_timer_add(t.l, 50, on_stop, &t) > 0);
	assert_int_equal(loop_run(t.l), 0);
	/* five reads, one a turn, each turn opened by the hook; then the
	 * pipe is empty and the loop sleeps until the timer */
	assert_string_equal(t.seq, "BFBFBFBFBFB");
	assert_int_equal(loop_watch(t.l, -1, LOOP_IN, on_read_one, &t), AM_EINVAL);
	close(t.fd[0]);
	close(t.fd[1]);
	loop_free(t.l);
}

typedef struct pair {
	trace *t;
	int other;
} pair;

static void on_unwatch_other(void *ud, int fd, short revents)
{
	pair *p = ud;
	char ch;
	(void)revents;
	assert_int_equal(read(fd, &ch, 1), 1);
	rec(p->t, 'U');
	loop_unwatch(p->t->l, p->other);
}

static void on_never(void *ud, int fd, short revents)
{
	(void)fd;
	(void)revents;
	rec(ud, 'X');
}

/* Both descriptors ready; the first callback unwatches the second, which
 * then gets no callback; events 0 keeps a watch but polls nothing. */
static void test_unwatch_in_callback(void **state)
{
	trace t = {0};
	int b[2];
	pair p;
	(void)state;
	assert_int_equal(loop_new(&t.l), 0);
	assert_int_equal(pipe(t.fd), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(write(t.fd[1], "a", 1), 1);
	assert_int_equal(write(b[1], "b", 1), 1);
	p.t = &t;
	p.other = b[0];
	assert_int_equal(loop_watch(t.l, t.fd[0], LOOP_IN, on_unwatch_other, &p), 0);
	assert_int_equal(loop_watch(t.l, b[0], LOOP_IN, on_never, &t), 0);
	assert_true(loop_timer_add(t.l, 0, on_stop, &t) > 0); /* after the callbacks */
	assert_int_equal(loop_run(t.l), 0);
	assert_string_equal(t.seq, "U");
	/* b is still readable, but paused */
	assert_int_equal(loop_watch(t.l, b[0], 0, on_never, &t), 0);
	assert_true(loop_timer_add(t.l, 20, on_stop, &t) > 0);
	assert_int_equal(loop_run(t.l), 0);
	assert_string_equal(t.seq, "U");
	close(t.fd[0]);
	close(t.fd[1]);
	close(b[0]);
	close(b[1]);
	loop_free(t.l);
}

/* ---- signals (forked children: process-wide state) ------------------------ */

static int run_child(void (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20); /* a hang fails the case instead of the suite */
		fn();
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_child_ok(void (*fn)(void))
{
	int st = run_child(fn);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "child: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static loop *child_loop(void)
{
	loop *l;
	if (signals_install(0) || signals_block() || loop_new(&l))
		_exit(2);
	return l;
}

static int64_t raise_term(void *ud)
{
	(void)ud;
	raise(SIGTERM);
	return LOOP_TIMER_STOP;
}

static int64_t raise_hup(void *ud)
{
	(void)ud;
	raise(SIGHUP);
	return LOOP_TIMER_STOP;
}

static int64_t give_up(void *ud)
{
	(void)ud;
	_exit(10); /* the signal never stopped the loop */
}

static int reloads;
static void on_reload(void *ud)
{
	(void)ud;
	reloads++;
}

static void child_signal_stops_loop(void)
{
	loop *l = child_loop();
	int64_t t0 = clock_mono_ms();
	loop_on_reload(l, on_reload, NULL);
	loop_timer_add(l, 10, raise_hup, NULL);
	loop_timer_add(l, 30, raise_term, NULL);
	loop_timer_add(l, 10000, give_up, NULL);
	if (loop_run(l) != 0 || !signals_stop_requested())
		_exit(3);
	if (reloads != 1 || clock_mono_ms() - t0 > 5000)
		_exit(4);
	loop_free(l);
	_exit(0);
}

static void test_signal_stops_loop(void **state)
{
	(void)state;
	assert_child_ok(child_signal_stops_loop);
}

static void *raise_here(void *ud)
{
	sigset_t pending;
	int *seen = ud;
	raise(SIGTERM); /* directed at this thread, which blocks it */
	sigpending(&pending);
	*seen = sigismember(&pending, SIGTERM); /* discarded when it exits */
	return NULL;
}

static void *kill_process(void *ud)
{
	(void)ud;
	kill(getpid(), SIGTERM); /* to the process: the loop takes it */
	return NULL;
}

static int64_t stop_quietly(void *ud)
{
	loop_stop(ud);
	return LOOP_TIMER_STOP;
}

/* Threads made after signals_block() inherit the mask: a signal raised on
 * one stays pending there, no handler runs on it (the stop flag stays
 * clear); one sent to the process from such a thread reaches the loop. */
static void child_thread_not_delivered(void)
{
	loop *l = child_loop();
	pthread_t th;
	int seen = 0;
	if (pthread_create(&th, NULL, raise_here, &seen) || pthread_join(th, NULL))
		_exit(2);
	if (!seen)
		_exit(3); /* delivered on the thread, or taken for the process */
	loop_timer_add(l, 30, stop_quietly, l);
	if (loop_run(l) != 0 || signals_stop_requested())
		_exit(4);
	if (pthread_create(&th, NULL, kill_process, NULL) || pthread_join(th, NULL))
		_exit(5);
	loop_timer_add(l, 10000, give_up, NULL);
	if (loop_run(l) != 0 || !signals_stop_requested())
		_exit(6);
	_exit(0);
}

static void test_thread_signal_not_delivered_there(void **state)
{
	(void)state;
	assert_child_ok(child_thread_not_delivered);
}

static atomic_int pool_go;

/* A thread made before signals_block(), as OpenBLAS's pool is. */
static void *pool_thread(void *ud)
{
	(void)ud;
	while (!atomic_load(&pool_go))
		clock_sleep_ms(1);
	return NULL;
}

static pthread_t pool;

static int64_t kill_pool(void *ud)
{
	(void)ud;
	pthread_kill(pool, SIGTERM); /* the handler runs there: passed on */
	return LOOP_TIMER_STOP;
}

static void child_older_thread_forwards(void)
{
	loop *l;
	int64_t t0;
	if (pthread_create(&pool, NULL, pool_thread, NULL))
		_exit(2);
	l = child_loop();
	loop_timer_add(l, 10, kill_pool, NULL);
	loop_timer_add(l, 10000, give_up, NULL);
	t0 = clock_mono_ms();
	if (loop_run(l) != 0 || !signals_stop_requested())
		_exit(3);
	if (clock_mono_ms() - t0 > 5000)
		_exit(4); /* woken by the signalfd, not by a timer */
	atomic_store(&pool_go, 1);
	pthread_join(pool, NULL);
	_exit(0);
}

static void test_older_thread_forwards(void **state)
{
	(void)state;
	assert_child_ok(child_older_thread_forwards);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_in_order),
	    cmocka_unit_test(test_timer_repeats_and_moves),
	    cmocka_unit_test(test_fd_and_before_sleep),
	    cmocka_unit_test(test_unwatch_in_callback),
	    cmocka_unit_test(test_signal_stops_loop),
	    cmocka_unit_test(test_thread_signal_not_delivered_there),
	    cmocka_unit_test(test_older_thread_forwards),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
