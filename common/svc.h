/* svc — what every anomesh daemon does before and after its own work:
 * options shared by all services (broker, root, credentials, instance,
 * log level, metrics interval), logging, signal handling, the metrics
 * registry and the MQTT client with its status/last-will. A service's
 * main() is then: svc_init with its own options, subscribe, loop until
 * signals_stop_requested(), svc_cleanup.
 *
 * Shared options (each also ANOMESH_<NAME> and a config-file key):
 *   --broker URI   (tcp://127.0.0.1:1883; ANOMESH_PORT alone changes the port)
 *   --root ROOT    (factory)       --instance ID   (<hostname>-<pid>)
 *   --username U   --password P    --log-level L   (info)
 *   --metrics-interval MS (10000)  --offline-buffer N (10000 messages)
 *   --shutdown-deadline S (10)     --config FILE
 * Tools and the emulator (no_mqtt) get only --log-level and
 * --shutdown-deadline.
 *
 * Ownership: svc owns its config, metrics and mqtt client; svc_cleanup()
 * performs an orderly MQTT shutdown and frees everything (NULL-safe). */
#ifndef ANOMESH_SVC_H
#define ANOMESH_SVC_H

#include "config.h"
#include "metrics.h"
#include "mqtt.h"

typedef struct svc {
	const char *name;
	config cfg;
	/* shared option values */
	char *broker;
	char *root;
	char *instance;
	char *username;
	char *password;
	char *log_level;
	long metrics_interval_ms;
	long offline_buffer;
	long shutdown_deadline_s;
	metrics *metrics;
	mqtt_client *mqtt;
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
	int defer_mqtt;   /* 1: MQTT options parsed, but the service makes its client
			     itself with svc_mqtt_options() (the archiver: its spool
			     must exist before anything arrives) */
} svc_params;

/* Parse options, set up log, signals, metrics and (unless no_mqtt) MQTT.
 * Returns 0 ready; 1 when --help was printed (exit 0); negative on error
 * (already logged with what to do; exit 2 for usage, 1 otherwise). */
int svc_init(svc *s, const svc_params *p, int argc, char **argv);
void svc_cleanup(svc *s);

/* Fill o from the shared options (and p's persistent/inbox settings): what
 * svc_init() gives its own client; for services with defer_mqtt. */
void svc_mqtt_options(const svc *s, const svc_params *p, mqtt_options *o);

/* Exit status a main() should return for a svc_init() result. */
int svc_exit_code(int rc);

#endif
