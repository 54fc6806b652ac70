/* outq — the outbound flow-control queue of an MQTT client, free of Paho:
 * a FIFO of copies of publishes, handed to a sender callback in order while
 * an in-flight window allows. It keeps a client's messages in order across
 * threads and disconnects, bounds what it holds (max_buffered) and counts
 * what it refuses:
 *  - while disconnected nothing is handed over (QoS 0 included): the queue
 *    is the offline buffer;
 *  - while connected, at most `window` QoS>0 publishes are handed over and
 *    not yet complete; the queue keeps each one's copy until the sender
 *    reports its end with outq_done(): acknowledged (freed), given up by
 *    the network layer with its session, as on a reconnect without one
 *    (queued again, in its original place, and sent again: at least once,
 *    as QoS 1 promises; counted in `resent`; up to OUTQ_MAX_SENDS sends),
 *    or refused for good (counted in `failed`);
 *    QoS 0 goes straight through when nothing is queued ahead of it;
 *  - max_buffered bounds the queue plus the QoS>0 publishes in flight;
 *    beyond it a publish is refused (AM_EOVERFLOW) and counted;
 *  - a sender answering "full" (AM_EOVERFLOW) keeps the message first in
 *    line for a later pump; any other refusal drops it, counted as failed.
 *
 * Threads: every function may be called from any thread. The sender is
 * called without the queue's lock held, by one thread at a time.
 * Ownership: outq_publish() copies topic and payload; outq_free() frees
 * what is still queued or in flight (NULL-safe; the sender must report
 * nothing after it). The metrics slots are borrowed.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM,
 * AM_EOVERFLOW, and whatever the sender returns for a direct send. */
#ifndef ANOMESH_OUTQ_H
#define ANOMESH_OUTQ_H

#include "error.h"
#include "metrics.h"

#include <stddef.h>

#define OUTQ_RECV_MAX_UNKNOWN 10    /* broker's Receive Maximum not (yet) known */
#define OUTQ_RECV_MAX_DEFAULT 65535 /* CONNACK without the property */
#define OUTQ_WINDOW_MARGIN 2        /* the client's own status publish, SUBSCRIBEs */
#define OUTQ_MAX_SENDS 5 /* a publish given up this often is dropped (counted) */

/* Hand one publish to the network layer. ticket: non-NULL for a QoS>0
 * publish counted in the window, whose end the sender must report with
 * outq_done(ticket, ...) exactly once (if it returns 0); NULL for QoS 0.
 * Returns 0 sent, AM_EOVERFLOW when the sender's own buffer is full
 * (retried later), any other negative code when it refuses the message for
 * good. */
typedef struct outq_item outq_ticket;
typedef int (*outq_send_fn)(void *ud, const char *topic, const void *payload, size_t len,
			    int qos, int retained, outq_ticket *ticket);

typedef struct outq_options {
	int max_buffered; /* queued + in flight, at least 1 */
	int window;       /* initial window (outq_window_for(OUTQ_RECV_MAX_UNKNOWN)) */
	outq_send_fn send;
	void *send_ud;
	/* Ask the owner's loop to call outq_pump() soon, from a context that
	 * may not send itself (outq_done(q, 0)). NULL: none. */
	void (*wake)(void *ud);
	void *wake_ud;
	/* Counters (NULL: not counted): publishes accepted, refused for lack
	 * of room, refused for good by the sender later, given up by the
	 * network layer and sent again; gauge of the queue. */
	metrics_slot *out, *overflow, *failed, *resent, *queued;
} outq_options;

typedef struct outq outq;

/* Returns 0, AM_EINVAL (no sender, max_buffered < 1) or AM_ENOMEM. */
int outq_new(outq **out, const outq_options *o);
void outq_free(outq *q);

/* The window for a broker's Receive Maximum: leave OUTQ_WINDOW_MARGIN for
 * the client's own publishes and SUBSCRIBEs, which count against it too. */
int outq_window_for(long recv_max);

/* Send or queue one publish (topic NUL-terminated, checked by the caller).
 * Returns 0 (sent or queued, counted in `out`), AM_EOVERFLOW (no room,
 * counted in `overflow`), or AM_ENOMEM or the sender's refusal of a direct
 * send (counted in `failed`): every refusal is counted once, here, so a
 * caller never counts it again. */
int outq_publish(outq *q, const char *topic, const void *payload, size_t len, int qos,
		 int retained);

/* Connection state: nothing is handed over while disconnected. Does not
 * pump; call outq_pump() once connected. */
void outq_set_connected(outq *q, int connected);

/* Set the window (most QoS>0 publishes in flight). */
void outq_set_window(outq *q, int window);

/* How a tracked publish ended. */
enum outq_end {
	OUTQ_ACKED,   /* acknowledged: freed, room in the window, pumped here */
	OUTQ_RETRY,   /* given up with the connection: queued again in its place
		       * (after OUTQ_MAX_SENDS sends: dropped, counted as failed;
		       * a message that breaks the connection each time must not
		       * hold the queue up for ever) */
	OUTQ_REFUSED, /* refused for good (e.g. an error PUBACK): dropped, counted */
};

/* A tracked publish ended. After OUTQ_RETRY or OUTQ_REFUSED the owner's
 * loop is woken to pump, as the sender may not be called from where
 * failures are reported. */
void outq_done(outq_ticket *t, enum outq_end end);

/* Hand queued publishes over while the window allows, oldest first. A
 * no-op when another thread is at it (that one re-checks before it stops). */
void outq_pump(outq *q);

/* Stop handing anything over, for good (shutting down); what is queued
 * stays until outq_free(). */
void outq_close(outq *q);

/* Publishes queued (not handed over), and QoS>0 ones in flight. */
int outq_queued(outq *q);
int outq_inflight(outq *q);

#endif
