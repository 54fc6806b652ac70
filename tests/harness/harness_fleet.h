/* harness_fleet — what the fleet tier's tests need around the code under
 * test (issue 12): a NATS cluster of real nats-server nodes on free
 * loopback ports, configured by the repository's own template
 * (scripts/fleet-nats-conf.sh), whose nodes can be killed and restarted
 * one by one; and a TCP relay that stands between a gateway's bridge and
 * the cluster, so that one gateway can be cut off while the others keep
 * streaming.
 *
 * Ownership: a harness_nats and a harness_relay are embedded by the caller
 * (zero them first); _start allocates what they run (processes, a
 * thread, sockets), _stop releases it (safe on a zeroed or stopped one).
 * Returns follow harness.h: 0 or -1 with a line on stderr. */
#ifndef ANOMESH_HARNESS_FLEET_H
#define ANOMESH_HARNESS_FLEET_H

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>

#define HARNESS_NATS_NODES 3

typedef struct harness_nats {
	int n;                         /* nodes */
	int base;                      /* node i: client base+i, mqtt base+200+i */
	pid_t pid[HARNESS_NATS_NODES]; /* 0 while down */
	char dir[PATH_MAX];            /* configs, logs, JetStream stores */
	char conf[HARNESS_NATS_NODES][PATH_MAX + 32];
	char log[HARNESS_NATS_NODES][PATH_MAX + 32];
	char servers[256]; /* "nats://127.0.0.1:P,..." */
	char mqtt[256];    /* "127.0.0.1:P,..." (bridge addresses) */
} harness_nats;

/* Start a cluster of HARNESS_NATS_NODES nodes with `partitions` raw
 * partitions, wait until every node accepts clients and MQTT, and make
 * the MQTT listener create its streams (one MQTT 3.1.1 connection: the
 * server creates $MQTT_msgs on the first), so that consumers can be
 * made before any gateway streams. */
int harness_nats_start(harness_nats *c, int partitions);
/* SIGKILL node i (0-based) and reap it. */
int harness_nats_kill9(harness_nats *c, int i);
/* Start node i again with its config and store; wait for its ports. */
int harness_nats_up(harness_nats *c, int i);
/* Every node down; the directory goes (unless ANOMESH_KEEP_TMP). */
void harness_nats_stop(harness_nats *c);
/* The MQTT port of node i. */
int harness_nats_mqtt_port(const harness_nats *c, int i);

#define HARNESS_RELAY_MAX 4

/* A TCP relay: each listener on 127.0.0.1 forwards to its target port. */
typedef struct harness_relay {
	int n;
	int listen_fd[HARNESS_RELAY_MAX];
	int port[HARNESS_RELAY_MAX];   /* where clients connect */
	int target[HARNESS_RELAY_MAX]; /* where it forwards */
	char addresses[256];           /* "127.0.0.1:P,..." of the listeners */
	volatile int cut;              /* nonzero: every connection dropped */
	volatile int stop;
	pthread_t th;
	int running;
} harness_relay;

/* Listen on a free port for each of the n targets and start forwarding. */
int harness_relay_start(harness_relay *r, const int *targets, int n);
/* cut: close every relayed connection and refuse new ones (closed as soon
 * as accepted) until harness_relay_cut(r, 0). */
void harness_relay_cut(harness_relay *r, int cut);
void harness_relay_stop(harness_relay *r);

#endif
