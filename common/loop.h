/* loop — the one event loop of every anomesh program, after Redis's ae:
 * file descriptors with a callback each, timers, a hook run before every
 * sleep, and the process's signals through signals.h's signalfd. A
 * service's main() registers its descriptors and timers and calls
 * loop_run(); it returns when a stop signal arrives (or loop_stop()).
 *
 * One iteration: before-sleep hook; poll() until the nearest timer is due
 * (or forever when there is none) over the watched descriptors and the
 * signalfd; the signals taken (SIGHUP: the reload hook); the callbacks of
 * the descriptors that are ready, in the order of their watch entries;
 * the timers that are due, earliest first (equal times: the one added
 * first). A descriptor unwatched or re-watched by a callback gets no stale
 * callback in the same iteration. Work that must happen when the sources
 * run dry (the scorer's batch) belongs in the before-sleep hook: it runs
 * exactly once per iteration, after the callbacks and before the next
 * sleep.
 *
 * Threads: a loop belongs to the thread that runs it; every function is
 * for that thread (callbacks included). signals_request_stop() from
 * another thread is seen at the next wake-up.
 * Ownership: the loop owns only its own tables; descriptors and callback
 * data stay the caller's. loop_free() is NULL-safe.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM,
 * AM_ENOTFOUND, AM_EIO (poll failed; errno kept). */
#ifndef ANOMESH_LOOP_H
#define ANOMESH_LOOP_H

#include "error.h"

#include <poll.h>
#include <stdint.h>

#define LOOP_IN POLLIN
#define LOOP_OUT POLLOUT
#define LOOP_TIMER_STOP (-1) /* a timer callback's "do not run me again" */

typedef struct loop loop;

/* A ready descriptor; revents as poll() reports them. */
typedef void (*loop_fd_fn)(void *ud, int fd, short revents);
/* A due timer. Returns the milliseconds until it runs again (0: next
 * iteration), or LOOP_TIMER_STOP to remove it. */
typedef int64_t (*loop_timer_fn)(void *ud);
typedef void (*loop_hook_fn)(void *ud);

/* Returns 0 or AM_ENOMEM; *out is the new loop. */
int loop_new(loop **out);
void loop_free(loop *l);

/* Watch fd for events (LOOP_IN, LOOP_OUT; 0 keeps the entry but polls
 * nothing), calling fn(ud, fd, revents) when ready. Watching a watched fd
 * replaces its events, callback and data. Returns 0, AM_EINVAL, AM_ENOMEM. */
int loop_watch(loop *l, int fd, short events, loop_fd_fn fn, void *ud);

/* Stop watching fd (no-op if not watched). Call it before closing fd. */
void loop_unwatch(loop *l, int fd);

/* Run fn after delay_ms, then as its return value says. Returns the
 * timer's id (> 0), or AM_EINVAL / AM_ENOMEM. */
long loop_timer_add(loop *l, int64_t delay_ms, loop_timer_fn fn, void *ud);

/* Move timer id to the monotonic time at_ms (clock_mono_ms()). Returns 0
 * or AM_ENOTFOUND. */
int loop_timer_at(loop *l, long id, int64_t at_ms);

/* Remove timer id (no-op if gone). */
void loop_timer_del(loop *l, long id);

/* The hook run at the start of every iteration, before it sleeps (NULL:
 * none). */
void loop_before_sleep(loop *l, loop_hook_fn fn, void *ud);

/* The hook run when a SIGHUP has arrived (NULL: none; the reload flag is
 * then left for signals_take_reload()). */
void loop_on_reload(loop *l, loop_hook_fn fn, void *ud);

/* Run until a stop signal (signals_stop_requested()) or loop_stop().
 * Returns 0, or AM_EIO when poll() fails. */
int loop_run(loop *l);

/* Make loop_run() return after the current callback. */
void loop_stop(loop *l);

#endif
