/* fconsume — the central archiver's side of JetStream (libnats): one
 * durable pull consumer per partition it owns on the stream where NATS
 * 2.9's MQTT listener keeps QoS 1 messages (fsubject.h: $MQTT_msgs, filter
 * "$MQTT.msgs.fleetraw.<p>.>"), created if missing, with explicit acks.
 * The caller fetches a batch, stores it, and only then acknowledges it:
 * a message not acknowledged (the archiver killed, a failed commit) is
 * redelivered after ack_wait, and the store drops what it already has.
 *
 * Why that stream and not one of ours: fleet/README.md ("What we found"):
 * the MQTT listener stores a QoS 1 message there, replicated, before it
 * sends PUBACK to the bridge, while a stream of our own on the same
 * subjects is fed fire-and-forget and lost 24 % of a stream in our test
 * when its leader was killed. $MQTT_msgs has interest retention: a message
 * is kept while a consumer that matches it has not acknowledged it, so the
 * consumers must exist before the gateways stream (fleet-archiver --setup,
 * or its first start).
 *
 * Partition assignment: the server's mapping (fleet/nats-node.conf.in)
 * puts each (plant, gateway, sensor) in one of N partitions; each archiver
 * instance is given the partitions it owns (--partitions), and a durable
 * consumer has one active puller at a time, so two instances never store
 * the same partition's messages concurrently if their lists are disjoint.
 *
 * Ownership: fconsume_open() allocates, fconsume_close() frees (NULL-safe).
 * An fconsume_batch holds the fetched messages until fconsume_batch_ack()
 * or fconsume_batch_drop() (each releases them; both safe on an empty
 * batch). Threads: one; libnats runs its own threads inside.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM,
 * AM_EBROKER (the server or libnats refused: err says why), AM_ETIMEOUT
 * (nothing to fetch within the time given: not an error). */
#ifndef ANOMESH_FCONSUME_H
#define ANOMESH_FCONSUME_H

#include "error.h"
#include "fnats.h"
#include "fsubject.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fconsume_options {
	const char *servers;        /* "nats://h:p,nats://h:p,..." */
	const fnats_tls *tls;       /* NULL: plain (fnats.h) */
	const char *durable_prefix; /* consumer names: <prefix>-p<N> */
	const int *partitions;      /* owned partitions */
	size_t n_partitions;
	int ack_wait_ms;     /* redelivery after this without an ack (30000) */
	int max_ack_pending; /* per consumer (20000) */
} fconsume_options;

typedef struct fconsume fconsume;

/* One fetched message: views into the batch, valid until it is released. */
typedef struct fconsume_msg {
	const char *subject;
	const char *data;
	size_t len;
} fconsume_msg;

#define FCONSUME_BATCH_MAX 1024

typedef struct fconsume_batch {
	void *lists[FSUBJECT_PARTITIONS_MAX]; /* libnats message lists */
	size_t n_lists;
	fconsume_msg msgs[FCONSUME_BATCH_MAX];
	size_t n;
} fconsume_batch;

/* Connect to the cluster (libnats reconnects by itself afterwards, to any
 * server it learns of), create the consumers that are missing and bind a
 * pull subscription to each. Returns 0, or AM_EBROKER when the cluster
 * cannot be reached or JetStream does not answer yet (retry later). */
int fconsume_open(fconsume **out, const fconsume_options *o, char *err, size_t errlen);
void fconsume_close(fconsume *fc);

/* Fetch at most max (<= FCONSUME_BATCH_MAX) messages, from the owned
 * partitions in turn, waiting up to timeout_ms in all when there are none.
 * Returns 0 with b->n > 0, AM_ETIMEOUT with b->n == 0, or AM_EBROKER (the
 * connection is down: libnats is reconnecting; retry). */
int fconsume_fetch(fconsume *fc, fconsume_batch *b, size_t max, int timeout_ms, char *err,
		   size_t errlen);
/* Acknowledge every message of b (after it is stored) and release it. */
void fconsume_batch_ack(fconsume *fc, fconsume_batch *b);
/* Release b without acknowledging: the messages come again after
 * ack_wait. */
void fconsume_batch_drop(fconsume_batch *b);

/* Nonzero while the connection is up. */
int fconsume_connected(const fconsume *fc);

#endif
