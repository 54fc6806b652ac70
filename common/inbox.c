/* inbox — a linked FIFO under one mutex, an eventfd kept readable exactly
 * while (nodes queued or woken), and a condition variable on which a
 * producer waits for space. The wait runs in 10 ms slices so that a
 * give_up condition another thread cannot signal here (mqtt: a thread
 * entering Paho for *another* client) is still seen within a slice. */
#include "inbox.h"

#include "clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define INBOX_SLICE_MS 10

struct inbox {
	pthread_mutex_t lock;
	pthread_cond_t space; /* a node taken, or a nudge */
	inbox_node *head, *tail;
	_Atomic size_t count; /* changed under lock, read without */
	size_t max;
	metrics_slot *full;
	int waiting;  /* producers in the full-inbox wait */
	int woken;    /* inbox_wake() not yet taken */
	int readable; /* the eventfd's counter is nonzero */
	int efd;
};

/* Make the eventfd readable iff the inbox holds nodes or is woken. The
 * counter only ever goes 0 -> 1 -> 0 here, so neither call can fail. */
static void inbox__sync_locked(inbox *ib)
{
	int want = ib->count > 0 || ib->woken;
	uint64_t v = 1;
	ssize_t r;

	if (want == ib->readable)
		return;
	r = want ? write(ib->efd, &v, sizeof(v)) : read(ib->efd, &v, sizeof(v));
	(void)r;
	ib->readable = want;
}

int inbox_new(inbox **out, size_t max, metrics_slot *full)
{
	pthread_condattr_t ca;
	inbox *ib;

	if (!out || max < 1)
		return AM_EINVAL;
	*out = NULL;
	ib = calloc(1, sizeof(*ib));
	if (!ib)
		return AM_ENOMEM;
	ib->max = max;
	ib->full = full;
	ib->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ib->efd < 0) {
		free(ib);
		return AM_EIO;
	}
	pthread_mutex_init(&ib->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ib->space, &ca);
	pthread_condattr_destroy(&ca);
	*out = ib;
	return 0;
}

void inbox_free(inbox *ib, void (*free_node)(inbox_node *))
{
	inbox_node *n, *next;
	if (!ib)
		return;
	for (n = ib->head; n; n = next) {
		next = n->next;
		if (free_node)
			free_node(n);
	}
	close(ib->efd);
	pthread_cond_destroy(&ib->space);
	pthread_mutex_destroy(&ib->lock);
	free(ib);
}

int inbox_fd(const inbox *ib) { return ib ? ib->efd : -1; }

int inbox_push(inbox *ib, inbox_node *n, int64_t max_wait_ms, inbox_give_up_fn give_up,
	       void *ud)
{
	int full;

	n->next = NULL;
	pthread_mutex_lock(&ib->lock);
	full = ib->count >= ib->max;
	if (full) {
		metrics_add(ib->full, 1);
		int64_t deadline = clock_mono_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
		ib->waiting++;
		while (ib->count >= ib->max && !(give_up && give_up(ud)) &&
		       clock_mono_ms() < deadline) {
			int64_t until = clock_mono_ms() + INBOX_SLICE_MS;
			struct timespec ts;
			if (until > deadline)
				until = deadline;
			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&ib->space, &ib->lock, &ts);
		}
		ib->waiting--;
	}
	if (ib->tail)
		ib->tail->next = n;
	else
		ib->head = n;
	ib->tail = n;
	ib->count++;
	inbox__sync_locked(ib);
	pthread_mutex_unlock(&ib->lock);
	return full;
}

inbox_node *inbox_pop(inbox *ib)
{
	inbox_node *n;
	pthread_mutex_lock(&ib->lock);
	n = ib->head;
	if (n) {
		ib->head = n->next;
		if (!ib->head)
			ib->tail = NULL;
		ib->count--;
		n->next = NULL;
		inbox__sync_locked(ib);
		if (ib->waiting)
			pthread_cond_broadcast(&ib->space);
	}
	pthread_mutex_unlock(&ib->lock);
	return n;
}

size_t inbox_count(inbox *ib) { return atomic_load(&ib->count); }

void inbox_wake(inbox *ib)
{
	pthread_mutex_lock(&ib->lock);
	ib->woken = 1;
	inbox__sync_locked(ib);
	pthread_mutex_unlock(&ib->lock);
}

int inbox_take_wake(inbox *ib)
{
	int was;
	pthread_mutex_lock(&ib->lock);
	was = ib->woken;
	ib->woken = 0;
	inbox__sync_locked(ib);
	pthread_mutex_unlock(&ib->lock);
	return was;
}

void inbox_nudge(inbox *ib)
{
	pthread_mutex_lock(&ib->lock);
	if (ib->waiting)
		pthread_cond_broadcast(&ib->space);
	pthread_mutex_unlock(&ib->lock);
}
