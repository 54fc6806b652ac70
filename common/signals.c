/* signals — flag-setting handlers plus a shutdown deadline via alarm(2),
 * and the signalfd way in (signals.h). sigaction without SA_RESTART so
 * that, where the handlers run, blocking calls (poll, nanosleep) return
 * EINTR and the loop notices the flag promptly. The handler, the signalfd
 * reader and signals_request_stop() share one async-signal-safe path
 * (signals__stop), so every way in behaves the same. */
#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static volatile sig_atomic_t signals_stop;
static volatile sig_atomic_t signals_reload;
static unsigned signals_deadline;
static int signals_sfd = -1;    /* set once by signals_block() */
static pthread_t signals_owner; /* the thread that blocked them */
static volatile sig_atomic_t signals_blocked;

/* The first stop sets the flag and arms the deadline; a second exits.
 * On the owner thread in signalfd mode, the stop signals are unblocked
 * there after the first, so the next one reaches the handler even if no
 * loop reads the signalfd any more. Async-signal-safe. */
static void signals__unblock_stop(void)
{
	if (signals_blocked && pthread_equal(pthread_self(), signals_owner)) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGINT);
		sigaddset(&s, SIGTERM);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	}
}

static void signals__stop(void)
{
	if (signals_stop)
		_exit(130);
	signals_stop = 1;
	if (signals_deadline)
		alarm(signals_deadline);
	signals__unblock_stop();
}

/* In signalfd mode a handler runs only on a thread that never blocked
 * the signal (made before signals_block()): hand the signal to the owner
 * thread, where it waits for the signalfd. A second stop still exits. */
static int signals__forward(int sig)
{
	int saved = errno;
	if (!signals_blocked || pthread_equal(pthread_self(), signals_owner))
		return 0;
	if (sig != SIGHUP && signals_stop)
		_exit(130);
	pthread_kill(signals_owner, sig);
	errno = saved;
	return 1;
}

static void signals__on_stop(int sig)
{
	if (!signals__forward(sig))
		signals__stop();
}

static void signals__on_hup(int sig)
{
	if (!signals__forward(sig))
		signals_reload = 1;
}

int signals_install(unsigned deadline_s)
{
	struct sigaction sa;

	signals_deadline = deadline_s;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = signals__on_stop;
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -1;
	sa.sa_handler = signals__on_hup;
	if (sigaction(SIGHUP, &sa, NULL))
		return -1;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL))
		return -1;
	sa.sa_handler = SIG_DFL;
	return sigaction(SIGALRM, &sa, NULL);
}

int signals_block(void)
{
	sigset_t s;
	int fd;

	if (signals_sfd >= 0)
		return 0;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &s, NULL))
		return -1;
	fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	signals_owner = pthread_self();
	signals_sfd = fd;
	signals_blocked = 1;
	/* a stop already taken (handler mode): unblock as after the first */
	if (signals_stop)
		signals__unblock_stop();
	return 0;
}

int signals_fd(void) { return signals_sfd; }

void signals_dispatch(void)
{
	struct signalfd_siginfo si;

	if (signals_sfd < 0)
		return;
	while (read(signals_sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			signals_reload = 1;
		else
			signals__stop();
	}
}

int signals_stop_requested(void)
{
	signals_dispatch();
	return signals_stop != 0;
}

void signals_request_stop(void)
{
	if (!signals_stop)
		signals__stop();
}

int signals_take_reload(void)
{
	signals_dispatch();
	if (!signals_reload)
		return 0;
	signals_reload = 0;
	return 1;
}
