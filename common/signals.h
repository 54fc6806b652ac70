/* signals — the service side of SIGTERM/SIGINT/SIGHUP. Handlers only set
 * volatile sig_atomic_t flags (conventions §7); the service loop polls them.
 * A stop arms a deadline: if the service has not exited when it expires,
 * SIGALRM's default action ends the process, so a wedged shutdown can never
 * outlive its supervisor's patience. SIGPIPE is ignored (a closed socket is
 * an error return, not a death). */
#ifndef ANOMESH_SIGNALS_H
#define ANOMESH_SIGNALS_H

/* Install the handlers. deadline_s: seconds allowed between the first stop
 * signal and exit (0: no deadline). A second SIGINT/SIGTERM exits at once
 * with status 130. Returns 0, or -1 with errno set. */
int signals_install(unsigned deadline_s);

/* Nonzero once SIGTERM or SIGINT arrived (or signals_request_stop ran). */
int signals_stop_requested(void);

/* Ask the loop to stop as if a signal had come (used by services on fatal
 * conditions and by tests). Async-signal-safe. */
void signals_request_stop(void);

/* Returns 1 once per SIGHUP received since the last call, else 0. */
int signals_take_reload(void);

#endif
