/* signals — flag-setting handlers plus a shutdown deadline via alarm(2).
 * sigaction without SA_RESTART so that blocking calls (poll, nanosleep)
 * return EINTR and the loop notices the flag promptly. */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t signals_stop;
static volatile sig_atomic_t signals_reload;
static unsigned signals_deadline;

static void signals__on_stop(int sig)
{
	(void)sig;
	if (signals_stop)
		_exit(130);
	signals_stop = 1;
	if (signals_deadline)
		alarm(signals_deadline);
}

static void signals__on_hup(int sig)
{
	(void)sig;
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

int signals_stop_requested(void) { return signals_stop != 0; }

void signals_request_stop(void)
{
	if (!signals_stop) {
		signals_stop = 1;
		if (signals_deadline)
			alarm(signals_deadline);
	}
}

int signals_take_reload(void)
{
	if (!signals_reload)
		return 0;
	signals_reload = 0;
	return 1;
}
