/* iloop — ingest-bt's loop (see iloop.h). A descriptor number may pass
 * from one sensor to another between turns, so the stale ones are
 * unwatched before the new ones are watched. */
#include "iloop.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <string.h>

typedef struct iloop {
	loop *l;
	const iloop_parts *p;
	int watched[ILOOP_MAX_SOURCES]; /* the fd sensor i has in the loop, or -1 */
	long wake;                      /* timer: the earliest deadline */
	log_every le_sync;
	int64_t gauges_ms; /* when the journal's gauges were last set */
	metrics_slot *g[8];
} iloop;

/* The journal's gauges (once a second: journal_get_stats walks the
 * index). */
static void il__gauges(iloop *il, int64_t now)
{
	journal_stats st;
	if (!il->p->jr || now - il->gauges_ms < 1000)
		return;
	il->gauges_ms = now;
	journal_get_stats(il->p->jr, &st);
	metrics_set(il->g[0], st.bytes);
	metrics_set(il->g[1], st.records);
	metrics_set(il->g[2], st.segments);
	metrics_set(il->g[3], st.torn);
	metrics_set(il->g[4], st.evicted);
	metrics_set(il->g[5], st.syncs);
	metrics_set(il->g[6], st.sync_us_max);
	metrics_set(il->g[7], st.index_bytes);
}

static void il__on_sensor(void *ud, int fd, short revents)
{
	(void)fd;
	sensor_handle(ud, revents, clock_mono_ms());
}

static int64_t il__on_wake(void *ud)
{
	(void)ud;
	return 1000; /* re-armed before every sleep */
}

/* The journal's fsync and the republishing: what is due now, and when
 * they want to run next. */
static int64_t il__repair(iloop *il, int64_t now)
{
	int64_t next = INT64_MAX, d;
	char err[256];
	if (il->p->jr) {
		if (journal_sync(il->p->jr, now, 0, err, sizeof(err)) < 0)
			log_every_msg(&il->le_sync, 10000, LOG_LVL_ERROR, "%s", err);
		next = journal_deadline(il->p->jr);
		il__gauges(il, now);
	}
	if (il->p->rs) {
		resend_step(il->p->rs, now);
		d = resend_deadline(il->p->rs);
		if (d < next)
			next = d;
	}
	return next;
}

static void il__before_sleep(void *ud)
{
	iloop *il = ud;
	const iloop_parts *p = il->p;
	int64_t now = clock_mono_ms(), next = now + 1000, d;
	struct pollfd pf;
	size_t done = 0;

	for (size_t i = 0; i < p->n; i++)
		sensor_tick(&p->sensors[i], now);
	for (size_t i = 0; i < p->n; i++) {
		int fd = sensor_pollfd(&p->sensors[i], &pf) ? pf.fd : -1;
		if (il->watched[i] >= 0 && il->watched[i] != fd)
			loop_unwatch(il->l, il->watched[i]);
	}
	for (size_t i = 0; i < p->n; i++) {
		d = sensor_deadline(&p->sensors[i]);
		il->watched[i] = -1;
		if (sensor_pollfd(&p->sensors[i], &pf) &&
		    loop_watch(il->l, pf.fd, pf.events, il__on_sensor, &p->sensors[i]) ==
			0)
			il->watched[i] = pf.fd;
		if (d < next)
			next = d;
		done += sensor_done(&p->sensors[i]) != 0;
	}
	d = il__repair(il, clock_mono_ms());
	if (d < next)
		next = d;
	if (p->exit_when_done && done == p->n)
		loop_stop(il->l);
	loop_timer_at(il->l, il->wake, next);
}

int iloop_run(svc *sv, const iloop_parts *p)
{
	iloop il;
	memset(&il, 0, sizeof(il));
	il.l = sv->loop;
	il.p = p;
	{
		static const char *const names[8] = {
		    "journal_bytes",       "journal_records",    "journal_segments",
		    "journal_torn",        "journal_evicted",    "journal_syncs",
		    "journal_sync_us_max", "journal_index_bytes"};
		for (size_t i = 0; p->jr && i < 8; i++)
			il.g[i] = metrics_get(sv->metrics, names[i]);
		il.gauges_ms = INT64_MIN / 2;
	}
	for (size_t i = 0; i < ILOOP_MAX_SOURCES; i++)
		il.watched[i] = -1;
	il.wake = loop_timer_add(il.l, 0, il__on_wake, &il);
	if (il.wake < 0 || svc_watch_inbox(sv, p->rs ? resend_on_message : NULL, p->rs)) {
		log_error("out of memory");
		return -1;
	}
	loop_before_sleep(il.l, il__before_sleep, &il);
	if (loop_run(il.l)) {
		log_error("poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}
