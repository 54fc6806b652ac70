/* svc — what every anomesh daemon does before and after its own work:
 * options shared by all services (broker, root, credentials, instance,
 * log level, metrics interval), logging, signal handling (blocked in every
 * thread, taken by the loop through a signalfd), the event loop, the
 * metrics registry, and the MQTT client with its presence (retained
 * status, last will, periodic metrics: presence.h). A service's main() is
 * then: svc_init with its own options; subscribe and add its descriptors
 * and timers to s.loop (svc_watch_inbox for the MQTT inbox); loop_run;
 * svc_cleanup.
 *
 * Shared options (each also ANOMESH_<NAME> and a config-file key):
 *   --broker URI   (tcp://127.0.0.1:1883; ANOMESH_PORT alone changes the port)
 *   --root ROOT    (factory)       --instance ID   (<hostname>-<pid>)
 *   --username U   --password-file F (or ANOMESH_PASSWORD; --password P
 *                  works but shows in ps: warned)  --log-level L (info)
 *   --cafile F  --capath D  --certfile F  --keyfile F   (TLS: ssl:// URIs;
 *                  the broker's certificate and name are always verified)
 *   --metrics-interval MS (10000)  --offline-buffer N (10000 messages)
 *   --cpu-class normal|batch (the service's default: svc_params.cpu_class;
 *                  batch: SCHED_BATCH for every thread, those a library
 *                  started before main too)
 *   --shutdown-deadline S (10)     --config FILE
 * Tools and the emulator (no_mqtt) get only --log-level and
 * --shutdown-deadline.
 *
 * Ownership: svc owns its config, metrics, loop, mqtt client and presence;
 * svc_cleanup() performs an orderly MQTT shutdown (presence: retained
 * "offline") and frees everything (NULL-safe). */
#ifndef ANOMESH_SVC_H
#define ANOMESH_SVC_H

#include "config.h"
#include "connwatch.h"
#include "loop.h"
#include "metrics.h"
#include "mqtt.h"
#include "presence.h"

typedef struct svc {
	const char *name;
	config cfg;
	/* shared option values */
	char *broker;
	char *root;
	char *instance;
	char *username;
	char *password; /* points at the config's copy or at password_buf */
	char *password_file;
	char *password_buf; /* read from password_file (secret.h) */
	char *cafile, *capath, *certfile, *keyfile;
	char *log_level;
	char *cpu_class;
	long metrics_interval_ms;
	long offline_buffer;
	long shutdown_deadline_s;
	metrics *metrics;
	loop *loop;
	mqtt_client *mqtt;
	presence *presence;
	connwatch *watch; /* logs why the broker is not connected */
	long watch_timer;
	/* the loop's side of the client (svc_watch_inbox, svc_hold_mqtt) */
	long presence_timer;
	mqtt_handler inbox_fn;
	void *inbox_ud;
	int inbox_watched;
	int mqtt_held;
} svc;

typedef struct svc_params {
	const char *name;       /* service name, e.g. "scorer" */
	const char *summary;    /* --help heading: what it does, usage line */
	const config_opt *opts; /* service-specific options (may be NULL) */
	size_t n_opts;
	int persistent;   /* MQTT persistent session (archiver, scorer) */
	size_t inbox_max; /* 0: mqtt default */
	int max_buffered; /* 0: mqtt default */
	int no_mqtt;      /* 1: options/log/signals only (tools, emulator) */
	/* "batch": the process runs at SCHED_BATCH (its threads inherit it): a
	 * consumer that must keep up on average but not within milliseconds
	 * (the archiver) then never preempts the prediction path when it wakes,
	 * and keeps its full share of the CPU. NULL: "normal". */
	const char *cpu_class;
	int defer_mqtt; /* 1: MQTT options parsed, but the service starts its client
			   itself with svc_mqtt_options() and svc_connect() (the
			   archiver: its spool must exist before anything arrives) */
} svc_params;

/* Parse options, set up log, signals, metrics, the loop and (unless no_mqtt
 * or defer_mqtt) MQTT. Returns 0 ready; 1 when --help was printed (exit
 * 0); negative on error (already logged with what to do; exit 2 for usage,
 * 1 otherwise). */
int svc_init(svc *s, const svc_params *p, int argc, char **argv);
void svc_cleanup(svc *s);

/* Fill o from the shared options (and p's persistent/inbox settings): what
 * svc_init() gives its own client; for services with defer_mqtt. */
void svc_mqtt_options(const svc *s, const svc_params *p, mqtt_options *o);

/* Make s->mqtt from o with its presence (which writes into o) and start
 * connecting; the presence's metrics run on s->loop. svc_init() does it
 * unless defer_mqtt. Returns 0, or -1 (logged). */
int svc_connect(svc *s, mqtt_options *o);

/* Dispatch s->mqtt's inbox to fn (NULL: drop what arrives) from s->loop
 * whenever it holds messages. Returns 0 or a negative AM_E*. */
int svc_watch_inbox(svc *s, mqtt_handler fn, void *ud);

/* Orderly MQTT end now: presence "offline", drain (3 s at most),
 * disconnect, free the client and its presence. svc_cleanup() does it if
 * the service did not; a service calls it first when its arrival hook uses
 * state it frees before svc_cleanup() (the archiver's spool). NULL-safe,
 * idempotent. */
void svc_disconnect(svc *s);

/* hold 1: the loop leaves the MQTT client alone (no dispatch, no presence
 * publish) until called with 0. For a service whose arrival hook may
 * block Paho, which then holds its mutex: any mqtt_* call would wait. */
void svc_hold_mqtt(svc *s, int hold);

/* Wait up to timeout_ms for s->mqtt to connect, saying in the log why it
 * does not (connwatch.h) meanwhile: for a service that waits for the
 * broker before running its loop. Returns 0 or AM_ETIMEOUT. */
int svc_wait_connected(svc *s, int timeout_ms);

/* Exit status a main() should return for a svc_init() result. */
int svc_exit_code(int rc);

#endif
