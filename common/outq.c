/* outq — the outbound queue behind mqtt_publish (see outq.h).
 *
 * Design. The client keeps its own FIFO of outbound messages (copies) and
 * hands the sender at most `window` QoS>0 publishes that are not yet
 * complete (inflight): window = the broker's Receive Maximum minus a margin
 * of 2 for the client's own status publish and SUBSCRIBEs, which also count
 * against it. A QoS>0 message handed over stays here (the in-flight list)
 * until its end is reported: Paho gives up every message in flight when it
 * cleans its session (a reconnect without one, measured: onFailure5 with
 * MQTTASYNC_OPERATION_INCOMPLETE), and those are exactly the messages a
 * broker restart or a network cut catches in transit; they go back into
 * the queue by their sequence number, ahead of everything published after
 * them, and are sent again once connected and once every other message
 * in flight has ended too (so that one given up early, a write that broke
 * the socket, does not overtake those Paho gives up at the reconnect).
 * A message may so arrive twice
 * (the broker had it, its PUBACK was lost), never not at all: QoS 1's
 * promise, which every consumer already handles (the archiver keys
 * messages by (sensor, run, seq)).
 * One thread at a time hands queued messages over (pumping flag), so order
 * is kept even with outq_publish() called from several threads; the others
 * just leave their message queued and the pumping thread loops until
 * nothing more may go. While disconnected nothing is handed over (the
 * queue is the offline buffer, QoS 0 included); max_buffered bounds the
 * queue plus the QoS>0 publishes in flight. While connected, QoS 0
 * publishes go straight to the sender (no copy, no window) when the queue
 * is empty; otherwise they queue behind the rest so that a client's
 * messages keep their order. The margin is a heuristic: when the client's
 * own publishes exceed it, the broker's limit holds one of them back; a
 * broker announcing a lower Receive Maximum on a later reconnect than on
 * the first costs the same.
 *
 * The sender is always called without q->lock held: it may take locks of
 * its own whose holders call back into outq_done().
 *
 * Why, with Paho (common/mqtt.c is the sender). Paho 1.3.12 honours the
 * broker's Receive Maximum (CONNACK; mosquitto announces its
 * max_inflight_messages, default 20, HiveMQ 10, EMQX 32) by leaving further
 * QoS>0 publishes in its command queue, but a PUBACK does not wake its send
 * thread: only a new API call does, or a 1 s timeout. Handing Paho a burst
 * therefore drains it at about Receive Maximum messages per second
 * (measured: 200 QoS 1 publishes plus mqtt_shutdown 9.0 s, 2000 took 90 s,
 * against a default mosquitto). So the queue hands Paho at most a window of
 * QoS>0 publishes that are not yet complete, sized from the broker's
 * Receive Maximum from the first CONNACK (connect onSuccess5; absent means
 * 65535).
 * Measured: Paho calls the connect onSuccess5 for the first successful
 * connect only, never for automatic reconnects (nor for a first connect
 * that succeeds on a retry, broker down at start): then the last value is
 * kept, or OUTQ_RECV_MAX_UNKNOWN (10, the lowest default among common
 * brokers) when none was ever seen. A publish handed to Paho carries
 * per-message onSuccess5/onFailure5; measured, exactly one of them runs for
 * every QoS>0 publish Paho accepted: onSuccess5 on PUBACK/PUBCOMP (receive
 * thread, after deliveryComplete), onFailure5 when Paho gives the message
 * up (MQTTASYNC_OPERATION_INCOMPLETE when its session is cleaned on a
 * disconnect or on a reconnect without session). Both report to the queue
 * (outq_done), which still holds the message: one given up with the
 * session is sent again after the reconnect, in its place (at least once,
 * never lost in transit), one refused by the broker is counted. onSuccess5 then hands the
 * next queued messages to Paho itself: Paho documents every API call as usable from its
 * callbacks (its message-id code skips the process-wide mutex on its own threads), and
 * that API call is what wakes Paho's send thread. onFailure5 must not call
 * Paho: it runs while Paho walks its own lists to clean a session; the
 * queue only wakes the inbox's eventfd so that the service loop's
 * mqtt_dispatch() pumps it on its thread (on_connected pumps as well, after
 * a reconnect). Paho's own maxBufferedMessages stays as a backstop.
 * mqtt_shutdown() waits for the queue and for Paho's pending tokens.
 * Measured after (same test): 200 QoS 1 publishes plus mqtt_shutdown in
 * 62 ms, 2000 in 126 ms. */
#include "outq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct outq_item {
	struct outq_item *next; /* queued: the next; in flight: the list's next */
	struct outq_item *prev; /* in flight: the list's previous */
	outq *q;
	uint64_t seq; /* publish order: where a message given up goes back */
	int sends;    /* handed to the sender so far */
	size_t topic_len;
	size_t len;
	int qos;
	int retained;
	char data[]; /* topic NUL payload */
};
typedef struct outq_item outq_item;

struct outq {
	outq_options o;
	pthread_mutex_t lock;
	outq_item *head, *tail;
	outq_item *flying; /* QoS>0 messages handed over, not ended */
	uint64_t next_seq;
	/* changed under lock, read without (outq_queued, outq_inflight) */
	_Atomic int count;
	_Atomic int inflight; /* tracked publishes handed over, not complete */
	int window;           /* most inflight allowed */
	int pumping;          /* a thread is handing queued messages over */
	int hold;             /* a message was given up: send nothing more until
				 every one in flight has ended (order) */
	int connected;        /* the sender may be called */
	int closed;           /* shutting down: hand nothing more */
};

int outq_window_for(long recv_max)
{
	if (recv_max > 2 * OUTQ_WINDOW_MARGIN)
		return (int)(recv_max - OUTQ_WINDOW_MARGIN);
	return recv_max > 1 ? (int)recv_max - 1 : 1;
}

int outq_new(outq **out, const outq_options *o)
{
	outq *q;
	if (!out || !o || !o->send || o->max_buffered < 1)
		return AM_EINVAL;
	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return AM_ENOMEM;
	q->o = *o;
	q->window = o->window > 0 ? o->window : outq_window_for(OUTQ_RECV_MAX_UNKNOWN);
	pthread_mutex_init(&q->lock, NULL);
	metrics_set(q->o.queued, 0);
	*out = q;
	return 0;
}

void outq_free(outq *q)
{
	outq_item *it, *next;
	if (!q)
		return;
	for (it = q->head; it; it = next) {
		next = it->next;
		free(it);
	}
	for (it = q->flying; it; it = next) {
		next = it->next;
		free(it);
	}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* May a message of this QoS go to the sender now? Not while disconnected,
 * even QoS 0: the queue is then the whole offline buffer. Not after a
 * message was given up while others are still in flight: they end soon
 * (acknowledged, or given up too with the same connection), and only then
 * is the queue back in publish order to send from. */
static int outq__may_send_locked(outq *q, int qos)
{
	if (q->closed || !q->connected)
		return 0;
	if (q->hold) {
		if (q->inflight > 0)
			return 0;
		q->hold = 0;
	}
	return qos == 0 || q->inflight < q->window;
}

static void outq__fly_locked(outq *q, outq_item *it)
{
	it->prev = NULL;
	it->next = q->flying;
	if (q->flying)
		q->flying->prev = it;
	q->flying = it;
	q->inflight++;
}

static void outq__land_locked(outq *q, outq_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		q->flying = it->next;
	if (it->next)
		it->next->prev = it->prev;
	it->next = it->prev = NULL;
	q->inflight--;
}

/* Put it back into the queue in publish order (the queue is in that order:
 * it goes before the first message published after it). */
static void outq__requeue_locked(outq *q, outq_item *it)
{
	outq_item **pp = &q->head;
	while (*pp && (*pp)->seq < it->seq)
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
	if (!it->next)
		q->tail = it;
	q->count++;
	metrics_set(q->o.queued, q->count);
}

/* Hand queued messages over while the window allows, oldest first. Caller
 * holds q->lock and pumping is clear; returns with q->lock held. */
static void outq__pump_locked(outq *q)
{
	q->pumping = 1;
	while (q->head && outq__may_send_locked(q, q->head->qos)) {
		outq_item *it = q->head;
		int rc, tracked = it->qos > 0;
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		q->count--;
		metrics_set(q->o.queued, q->count);
		if (tracked) /* before the send: its end may be reported at once */
			outq__fly_locked(q, it);
		it->sends++;
		pthread_mutex_unlock(&q->lock);
		rc = q->o.send(q->o.send_ud, it->data, it->data + it->topic_len + 1,
			       it->len, it->qos, it->retained, tracked ? it : NULL);
		pthread_mutex_lock(&q->lock);
		if (rc == 0) {
			if (!tracked)
				free(it);
			continue;
		}
		if (tracked)
			outq__land_locked(q, it);
		if (rc == AM_EOVERFLOW) {
			/* the sender's own buffer is full: keep it first, retry later */
			it->sends--; /* not sent */
			outq__requeue_locked(q, it);
			break;
		}
		metrics_add(q->o.failed, 1); /* refused for good: not retried */
		free(it);
	}
	q->pumping = 0;
}

void outq_pump(outq *q)
{
	pthread_mutex_lock(&q->lock);
	if (!q->pumping)
		outq__pump_locked(q);
	pthread_mutex_unlock(&q->lock);
}

int outq_publish(outq *q, const char *topic, const void *payload, size_t len, int qos,
		 int retained)
{
	size_t tlen = strlen(topic);
	outq_item *it;
	int rc;

	pthread_mutex_lock(&q->lock);
	if (q->count + q->inflight >= q->o.max_buffered) {
		pthread_mutex_unlock(&q->lock);
		metrics_add(q->o.overflow, 1);
		return AM_EOVERFLOW;
	}
	if (qos == 0 && !q->head && !q->pumping && outq__may_send_locked(q, qos)) {
		/* QoS 0, nothing ahead of it: straight to the sender, no copy */
		q->pumping = 1;
		pthread_mutex_unlock(&q->lock);
		rc = q->o.send(q->o.send_ud, topic, len ? payload : "", len, qos,
			       retained, NULL);
		pthread_mutex_lock(&q->lock);
		q->pumping = 0;
		outq__pump_locked(q); /* what others queued meanwhile */
		pthread_mutex_unlock(&q->lock);
		if (rc == 0)
			metrics_add(q->o.out, 1);
		else
			metrics_add(rc == AM_EOVERFLOW ? q->o.overflow : q->o.failed, 1);
		return rc;
	}
	pthread_mutex_unlock(&q->lock);

	it = malloc(sizeof(*it) + tlen + 1 + len);
	if (!it) {
		metrics_add(q->o.failed, 1);
		return AM_ENOMEM;
	}
	it->next = it->prev = NULL;
	it->q = q;
	it->sends = 0;
	it->topic_len = tlen;
	it->len = len;
	it->qos = qos;
	it->retained = retained;
	memcpy(it->data, topic, tlen + 1);
	if (len)
		memcpy(it->data + tlen + 1, payload, len);

	pthread_mutex_lock(&q->lock);
	if (q->count + q->inflight >= q->o.max_buffered) {
		pthread_mutex_unlock(&q->lock); /* filled up meanwhile */
		free(it);
		metrics_add(q->o.overflow, 1);
		return AM_EOVERFLOW;
	}
	it->seq = q->next_seq++;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->count++;
	metrics_set(q->o.queued, q->count);
	metrics_add(q->o.out, 1);
	if (!q->pumping)
		outq__pump_locked(q);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void outq_set_connected(outq *q, int connected)
{
	pthread_mutex_lock(&q->lock);
	q->connected = connected ? 1 : 0;
	pthread_mutex_unlock(&q->lock);
}

void outq_set_window(outq *q, int window)
{
	pthread_mutex_lock(&q->lock);
	q->window = window > 0 ? window : 1;
	pthread_mutex_unlock(&q->lock);
}

void outq_done(outq_ticket *t, enum outq_end end)
{
	outq_item *it = t;
	outq *q = it->q;
	int wake = 0;
	pthread_mutex_lock(&q->lock);
	outq__land_locked(q, it);
	if (end == OUTQ_ACKED) {
		free(it);
		if (!q->pumping)
			outq__pump_locked(q);
	} else {
		if (end == OUTQ_RETRY && it->sends < OUTQ_MAX_SENDS) {
			outq__requeue_locked(q, it);
			q->hold = 1;
			metrics_add(q->o.resent, 1);
		} else {
			metrics_add(q->o.failed, 1);
			free(it);
		}
		wake = q->head != NULL;
	}
	pthread_mutex_unlock(&q->lock);
	if (wake && q->o.wake)
		q->o.wake(q->o.wake_ud);
}

void outq_close(outq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_mutex_unlock(&q->lock);
}

int outq_queued(outq *q) { return atomic_load(&q->count); }

int outq_inflight(outq *q) { return atomic_load(&q->inflight); }
