/* inbox — a bounded FIFO from producer threads (Paho's receive thread) to
 * the one loop that consumes, with an eventfd the loop can poll: readable
 * while the inbox holds a node, or after inbox_wake() until
 * inbox_take_wake(). A producer finding the inbox full waits, bounded, for
 * the consumer to take one (so the producer stops reading its socket and
 * TCP pushes back), and takes the node over the bound when the wait ends:
 * memory stays bounded by the wait, nothing is ever dropped here.
 *
 * Nodes are intrusive: the caller embeds an inbox_node at the start of its
 * own struct and casts back what inbox_pop() returns.
 *
 * Threads: every function may be called from any thread.
 * Ownership: inbox_push() hands the node to the inbox; inbox_pop() hands it
 * back to the caller. inbox_free() frees the nodes still queued with the
 * caller's free_node and closes the eventfd; NULL-safe. The metrics slot
 * is borrowed.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM, AM_EIO. */
#ifndef ANOMESH_INBOX_H
#define ANOMESH_INBOX_H

#include "error.h"
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

typedef struct inbox_node {
	struct inbox_node *next;
} inbox_node;

typedef struct inbox inbox;

/* Asked during a full-inbox wait (every 10 ms, and at once after
 * inbox_nudge()): nonzero stops the wait. Called with the inbox's lock
 * held: it must not call inbox_* (read a flag, an atomic). */
typedef int (*inbox_give_up_fn)(void *ud);

/* A new, empty inbox holding max nodes before producers wait (max >= 1).
 * full (borrowed, may be NULL) counts the pushes that found it full, as
 * they arrive (before they wait). Returns 0, AM_EINVAL, AM_ENOMEM, or
 * AM_EIO (no eventfd). */
int inbox_new(inbox **out, size_t max, metrics_slot *full);

/* Free the inbox; nodes still queued go to free_node (NULL: not freed). */
void inbox_free(inbox *ib, void (*free_node)(inbox_node *));

/* Readable while the inbox holds nodes or has been woken. */
int inbox_fd(const inbox *ib);

/* Append n. When the inbox holds max nodes already, wait until the
 * consumer takes one, at most max_wait_ms, and less when give_up(ud)
 * (may be NULL) answers nonzero; then append it anyway. Returns 0 when
 * there was room, 1 when the inbox was full on arrival. */
int inbox_push(inbox *ib, inbox_node *n, int64_t max_wait_ms, inbox_give_up_fn give_up,
	       void *ud);

/* Take the oldest node, NULL when empty. Wakes a waiting producer. */
inbox_node *inbox_pop(inbox *ib);

/* Nodes queued now. */
size_t inbox_count(inbox *ib);

/* Make inbox_fd() readable even while empty, so the consumer's loop runs
 * (for work that is not a node: mqtt's outbound queue asks to be pumped). */
void inbox_wake(inbox *ib);

/* Clear a wake; returns 1 if one was pending. */
int inbox_take_wake(inbox *ib);

/* Make a producer waiting in inbox_push() ask its give_up again now. */
void inbox_nudge(inbox *ib);

#endif
