/* signals — the service side of SIGTERM/SIGINT/SIGHUP. A stop sets a flag
 * and arms a deadline: if the service has not exited when it expires,
 * SIGALRM's default action ends the process, so a wedged shutdown can never
 * outlive its supervisor's patience. A second SIGINT/SIGTERM exits at once
 * with status 130. SIGHUP sets a reload flag. SIGPIPE is ignored (a closed
 * socket is an error return, not a death).
 *
 * Two ways in. signals_install() alone: handlers that only set volatile
 * sig_atomic_t flags (conventions §7). Then signals_block() (svc_init does
 * both, before any thread of its own or Paho's exists): the three signals
 * are blocked in the calling thread, and so in every thread created from
 * it afterwards, and arrive through a signalfd (signals_fd()) that the
 * event loop polls (loop.h); no handler runs on a thread that did not ask
 * for it. A thread created earlier by a library (OpenBLAS starts its pool
 * before main) may still have them unblocked: the handler run there passes
 * the signal on to the blocking thread, where the signalfd takes it. After
 * the first stop the blocking thread unblocks SIGINT/SIGTERM, so that a
 * second one reaches the handler (exit 130) even when no loop reads the
 * signalfd any more (teardown). */
#ifndef ANOMESH_SIGNALS_H
#define ANOMESH_SIGNALS_H

/* Install the handlers. deadline_s: seconds allowed between the first stop
 * signal and exit (0: no deadline). Returns 0, or -1 with errno set. */
int signals_install(unsigned deadline_s);

/* Block SIGINT, SIGTERM and SIGHUP in the calling thread (the main one,
 * before it creates threads) and open the signalfd that receives them.
 * Call after signals_install(). Returns 0, or -1 with errno set. */
int signals_block(void);

/* The signalfd (readable while a signal waits), -1 before signals_block(). */
int signals_fd(void);

/* Take what waits on the signalfd and act on it (stop flag and deadline,
 * exit 130 on a second stop, reload flag). Cheap when nothing waits; a
 * no-op before signals_block(). */
void signals_dispatch(void);

/* Nonzero once SIGTERM or SIGINT arrived (or signals_request_stop ran).
 * Takes what waits on the signalfd first. */
int signals_stop_requested(void);

/* Ask the loop to stop as if a signal had come (used by services on fatal
 * conditions and by tests). Async-signal-safe. */
void signals_request_stop(void);

/* Returns 1 once per SIGHUP received since the last call, else 0. Takes
 * what waits on the signalfd first. */
int signals_take_reload(void);

#endif
