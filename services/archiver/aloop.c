/* aloop — the archiver's loop (see aloop.h). */
#include "aloop.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <string.h>

typedef struct aloop {
	svc *sv;
	intake *in;
	spool *sp;
	repair *rp;
	long wake; /* timer: the latest the steps want to run again */
} aloop;

/* The spool has new messages: only wakes the loop, al__step does the work
 * (now, or when the intake's read_ms rest ends: the eventfd is taken so
 * that the loop sleeps till then). */
static void al__spooled(void *ud, int fd, short revents)
{
	aloop *al = ud;
	(void)fd;
	(void)revents;
	spool_take_wake(al->sp);
}

static int64_t al__wake(void *ud)
{
	(void)ud;
	return 1000; /* re-armed by al__step before every sleep */
}

/* Before every sleep: the due work, then when to wake at the latest. */
static void al__step(void *ud)
{
	aloop *al = ud;
	int wait = intake_step(al->in);
	int blocked = atomic_load(&al->in->spool_blocked);
	svc_hold_mqtt(al->sv, blocked);
	if (al->rp && !blocked && !al->in->pending && !al->in->failed) {
		int w = repair_step(al->rp, clock_mono_ms());
		if (w < wait)
			wait = w;
	}
	loop_timer_at(al->sv->loop, al->wake, clock_mono_ms() + wait);
}

int aloop_run(svc *sv, intake *in, spool *sp, repair *rp)
{
	aloop al = {sv, in, sp, rp, 0};
	al.wake = loop_timer_add(sv->loop, 0, al__wake, &al);
	/* everything goes through the arrival hook: the inbox stays empty */
	if (al.wake < 0 || svc_watch_inbox(sv, NULL, NULL) ||
	    loop_watch(sv->loop, spool_fd(sp), LOOP_IN, al__spooled, &al)) {
		log_error("out of memory");
		return -1;
	}
	loop_before_sleep(sv->loop, al__step, &al);
	if (loop_run(sv->loop)) {
		log_error("poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}
