/* loop — poll(2) over a small table of watches rebuilt each iteration, and
 * a small unsorted table of timers scanned for the earliest. anomesh's
 * programs watch a handful of descriptors (ingest-bt at most 66) and run
 * a few timers, so linear scans beat any structure here, and poll() lets a
 * watch change every iteration at no cost (ingest-bt's sensors reconnect).
 * Each watch slot carries a generation, bumped when it is removed or
 * handed to another callback, so a callback that unwatches a descriptor
 * never sees a stale readiness for it later in the same iteration. */
#include "loop.h"

#include "clock.h"
#include "signals.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct loop_watch_ent {
	int fd; /* -1: free slot */
	short events;
	unsigned gen;
	loop_fd_fn fn;
	void *ud;
} loop_watch_ent;

typedef struct loop_timer_ent {
	long id;
	int64_t at;
	unsigned round; /* the iteration it last ran in */
	loop_timer_fn fn;
	void *ud;
} loop_timer_ent;

struct loop {
	loop_watch_ent *w;
	size_t nw, capw;
	loop_timer_ent *t;
	size_t nt, capt;
	long next_id;
	unsigned round;
	struct pollfd *pfd; /* scratch, capw + 1 entries */
	size_t *pslot;      /* pfd[i] came from w[pslot[i]] ... */
	unsigned *pgen;     /* ... in generation pgen[i] */
	loop_hook_fn before, reload;
	void *before_ud, *reload_ud;
	int stop;
};

static int loop__grow_watches(loop *l);

int loop_new(loop **out)
{
	loop *l;
	if (!out)
		return AM_EINVAL;
	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return AM_ENOMEM;
	l->next_id = 1;
	if (loop__grow_watches(l) != 0) {
		loop_free(l);
		return AM_ENOMEM;
	}
	*out = l;
	return 0;
}

void loop_free(loop *l)
{
	if (!l)
		return;
	free(l->w);
	free(l->t);
	free(l->pfd);
	free(l->pslot);
	free(l->pgen);
	free(l);
}

/* Room for one more watch, with the poll scratch arrays to match. */
static int loop__grow_watches(loop *l)
{
	size_t cap = l->capw ? l->capw * 2 : 8;
	loop_watch_ent *w = realloc(l->w, cap * sizeof(*w));
	struct pollfd *p;
	size_t *ps;
	unsigned *pg;

	if (!w)
		return AM_ENOMEM;
	l->w = w;
	p = realloc(l->pfd, (cap + 1) * sizeof(*p));
	if (!p)
		return AM_ENOMEM;
	l->pfd = p;
	ps = realloc(l->pslot, (cap + 1) * sizeof(*ps));
	if (!ps)
		return AM_ENOMEM;
	l->pslot = ps;
	pg = realloc(l->pgen, (cap + 1) * sizeof(*pg));
	if (!pg)
		return AM_ENOMEM;
	l->pgen = pg;
	l->capw = cap;
	return 0;
}

int loop_watch(loop *l, int fd, short events, loop_fd_fn fn, void *ud)
{
	loop_watch_ent *free_slot = NULL;

	if (!l || fd < 0 || !fn)
		return AM_EINVAL;
	for (size_t i = 0; i < l->nw; i++) {
		loop_watch_ent *e = &l->w[i];
		if (e->fd == fd) {
			if (e->fn != fn || e->ud != ud)
				e->gen++;
			e->events = events;
			e->fn = fn;
			e->ud = ud;
			return 0;
		}
		if (e->fd < 0 && !free_slot)
			free_slot = e;
	}
	if (!free_slot) {
		if (l->nw == l->capw && loop__grow_watches(l) != 0)
			return AM_ENOMEM;
		free_slot = &l->w[l->nw++];
		free_slot->gen = 0;
	}
	free_slot->gen++;
	free_slot->fd = fd;
	free_slot->events = events;
	free_slot->fn = fn;
	free_slot->ud = ud;
	return 0;
}

void loop_unwatch(loop *l, int fd)
{
	if (!l || fd < 0)
		return;
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd) {
			l->w[i].fd = -1;
			l->w[i].gen++;
			return;
		}
}

static loop_timer_ent *loop__timer(loop *l, long id)
{
	for (size_t i = 0; i < l->nt; i++)
		if (l->t[i].id == id)
			return &l->t[i];
	return NULL;
}

long loop_timer_add(loop *l, int64_t delay_ms, loop_timer_fn fn, void *ud)
{
	loop_timer_ent *t;

	if (!l || !fn)
		return AM_EINVAL;
	if (l->nt == l->capt) {
		size_t cap = l->capt ? l->capt * 2 : 8;
		t = realloc(l->t, cap * sizeof(*t));
		if (!t)
			return AM_ENOMEM;
		l->t = t;
		l->capt = cap;
	}
	t = &l->t[l->nt++];
	t->id = l->next_id++;
	t->at = clock_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->round = l->round - 1; /* may run in the current iteration */
	t->fn = fn;
	t->ud = ud;
	return t->id;
}

int loop_timer_at(loop *l, long id, int64_t at_ms)
{
	loop_timer_ent *t = l ? loop__timer(l, id) : NULL;
	if (!t)
		return AM_ENOTFOUND;
	t->at = at_ms;
	return 0;
}

void loop_timer_del(loop *l, long id)
{
	loop_timer_ent *t = l ? loop__timer(l, id) : NULL;
	if (t)
		*t = l->t[--l->nt]; /* order is by (at, id), not by position */
}

void loop_before_sleep(loop *l, loop_hook_fn fn, void *ud)
{
	l->before = fn;
	l->before_ud = ud;
}

void loop_on_reload(loop *l, loop_hook_fn fn, void *ud)
{
	l->reload = fn;
	l->reload_ud = ud;
}

void loop_stop(loop *l)
{
	if (l)
		l->stop = 1;
}

/* The due timer that comes first (earliest, then oldest id) and has not
 * run in this iteration; NULL when none. */
static loop_timer_ent *loop__next_due(loop *l, int64_t now)
{
	loop_timer_ent *best = NULL;
	for (size_t i = 0; i < l->nt; i++) {
		loop_timer_ent *t = &l->t[i];
		if (t->at > now || t->round == l->round)
			continue;
		if (!best || t->at < best->at || (t->at == best->at && t->id < best->id))
			best = t;
	}
	return best;
}

static void loop__run_timers(loop *l)
{
	int64_t now = clock_mono_ms();
	loop_timer_ent *t;

	while (!l->stop && (t = loop__next_due(l, now)) != NULL) {
		long id = t->id;
		int64_t again;
		t->round = l->round;
		again = t->fn(t->ud); /* may add or remove timers: t may move */
		t = loop__timer(l, id);
		if (!t)
			continue;
		if (again == LOOP_TIMER_STOP)
			loop_timer_del(l, id);
		else
			t->at = clock_mono_ms() + (again > 0 ? again : 0);
	}
}

/* Milliseconds poll() may sleep: until the nearest timer, -1 for none. */
static int loop__timeout(const loop *l)
{
	int64_t now = clock_mono_ms(), wait = -1;
	for (size_t i = 0; i < l->nt; i++) {
		int64_t d = l->t[i].at - now;
		if (d < 0)
			d = 0;
		if (wait < 0 || d < wait)
			wait = d;
	}
	return wait > 86400000 ? 86400000 : (int)wait;
}

/* Build the poll set: the signalfd first, then the active watches. */
static size_t loop__pollset(loop *l)
{
	size_t n = 0;
	if (signals_fd() >= 0) {
		l->pfd[n] = (struct pollfd){.fd = signals_fd(), .events = POLLIN};
		l->pslot[n++] = (size_t)-1;
	}
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].fd < 0 || !l->w[i].events)
			continue;
		l->pfd[n] = (struct pollfd){.fd = l->w[i].fd, .events = l->w[i].events};
		l->pslot[n] = i;
		l->pgen[n++] = l->w[i].gen;
	}
	return n;
}

int loop_run(loop *l)
{
	if (!l)
		return AM_EINVAL;
	l->stop = 0;
	while (!l->stop && !signals_stop_requested()) {
		size_t n;
		int rc;

		l->round++;
		if (l->before)
			l->before(l->before_ud);
		if (l->stop || signals_stop_requested())
			break;
		n = loop__pollset(l);
		rc = poll(l->pfd, (nfds_t)n, loop__timeout(l));
		if (rc < 0 && errno != EINTR)
			return AM_EIO;
		if (l->reload && signals_take_reload())
			l->reload(l->reload_ud);
		/* callbacks may grow the arrays: index them afresh each time */
		for (size_t i = 0; rc > 0 && i < n && !l->stop; i++) {
			loop_watch_ent *e;
			short rev = l->pfd[i].revents;
			if (!rev || l->pslot[i] == (size_t)-1)
				continue;
			e = &l->w[l->pslot[i]];
			if (e->fd != l->pfd[i].fd || e->gen != l->pgen[i])
				continue; /* unwatched or handed over since */
			e->fn(e->ud, e->fd, rev);
		}
		loop__run_timers(l);
	}
	return 0;
}
