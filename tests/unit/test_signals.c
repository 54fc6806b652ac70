/* Unit tests for common/signals: flags set by SIGTERM/SIGINT/SIGHUP, the
 * second-signal exit, and the shutdown deadline that ends a wedged process,
 * with handlers and then with the signals blocked and taken by signalfd.
 * Each case runs in a forked child so real signals reach a fresh process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "signals.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_child(void (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void child_flags(void)
{
	if (signals_install(0))
		_exit(1);
	if (signals_stop_requested() || signals_take_reload())
		_exit(2);
	raise(SIGHUP);
	if (!signals_take_reload() || signals_take_reload())
		_exit(3); /* once per SIGHUP */
	raise(SIGTERM);
	if (!signals_stop_requested())
		_exit(4);
	raise(SIGPIPE); /* ignored, not fatal */
	_exit(0);
}

static void test_flags(void **state)
{
	int st = run_child(child_flags);
	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void child_second_signal(void)
{
	signals_install(0);
	raise(SIGINT);
	raise(SIGINT);
	_exit(0); /* not reached: the second signal exits with 130 */
}

static void test_second_signal_exits(void **state)
{
	int st = run_child(child_second_signal);
	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
}

static void child_deadline(void)
{
	signals_install(1);
	raise(SIGTERM);
	for (;;)
		pause(); /* a wedged shutdown */
}

static void test_deadline_ends_wedged_shutdown(void **state)
{
	int st = run_child(child_deadline);
	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGALRM);
}

static void child_request_stop(void)
{
	signals_install(0);
	signals_request_stop();
	_exit(signals_stop_requested() ? 0 : 1);
}

static void test_request_stop(void **state)
{
	int st = run_child(child_request_stop);
	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* signalfd mode: the signals wait until taken, then act the same. */
static void child_fd_flags(void)
{
	if (signals_install(0) || signals_block() || signals_fd() < 0)
		_exit(1);
	raise(SIGHUP);
	raise(SIGTERM);
	/* blocked: still waiting, nothing acted on yet (no handler ran) */
	if (!signals_take_reload() || signals_take_reload())
		_exit(3);
	if (!signals_stop_requested())
		_exit(4);
	raise(SIGPIPE); /* ignored, not fatal */
	_exit(0);
}

static void test_fd_flags(void **state)
{
	int st = run_child(child_fd_flags);
	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* After the first stop is taken from the signalfd, a second one exits at
 * once even though nobody reads the signalfd any more. */
static void child_fd_second_signal(void)
{
	signals_install(0);
	signals_block();
	raise(SIGTERM);
	signals_dispatch();
	if (!signals_stop_requested())
		_exit(1);
	raise(SIGINT);
	_exit(0); /* not reached */
}

static void test_fd_second_signal_exits(void **state)
{
	int st = run_child(child_fd_second_signal);
	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
}

static void child_fd_deadline(void)
{
	signals_install(1);
	signals_block();
	raise(SIGTERM);
	if (!signals_stop_requested())
		_exit(1);
	for (;;)
		pause(); /* a wedged shutdown */
}

static void test_fd_deadline_ends_wedged_shutdown(void **state)
{
	int st = run_child(child_fd_deadline);
	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGALRM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_second_signal_exits),
	    cmocka_unit_test(test_deadline_ends_wedged_shutdown),
	    cmocka_unit_test(test_request_stop),
	    cmocka_unit_test(test_fd_flags),
	    cmocka_unit_test(test_fd_second_signal_exits),
	    cmocka_unit_test(test_fd_deadline_ends_wedged_shutdown),
	};
	return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
