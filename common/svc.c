/* svc — the shared start-up and tear-down of every anomesh daemon, so that
 * each service's main() is only its own options and loop. The shared
 * options come first in --help; a service's own options follow. The broker
 * URI defaults to tcp://127.0.0.1:$ANOMESH_PORT (1883) so that `make run`
 * and the tests can move the whole mesh to another port with one variable. */
#include "svc.h"

#include "clock.h"
#include "log.h"
#include "secret.h"
#include "signals.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_OPTS_MAX 64

int svc_exit_code(int rc)
{
	if (rc == 1)
		return 0; /* --help */
	return rc == AM_EUSAGE ? 2 : (rc ? 1 : 0);
}

/* The password: from --password-file, the environment or the config file;
 * from the command line with a warning (wiped from argv, but ps showed it
 * until then). Returns 0 or -1 (logged). */
static int svc__password(svc *s, int argc, char **argv)
{
	char err[256];

	if (secret_scrub_argv(argc, argv, "password"))
		log_warn("--password on the command line is visible to every user of "
			 "this machine (ps) while the service starts: use "
			 "--password-file FILE or ANOMESH_PASSWORD instead");
	if (!s->password_file)
		return 0;
	if (s->password) {
		log_error("give the password once: --password-file or "
			  "--password/ANOMESH_PASSWORD, not both");
		return -1;
	}
	if (secret_read_file(s->password_file, &s->password_buf, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	s->password = s->password_buf;
	return 0;
}

static int64_t svc__watch_tick(void *ud)
{
	svc *s = ud;
	char line[768];

	switch (connwatch_check(s->watch, clock_mono_ms(), line, sizeof(line))) {
	case CONNWATCH_ERROR:
		log_error("%s", line);
		break;
	case CONNWATCH_WARN:
		log_warn("%s", line);
		break;
	case CONNWATCH_INFO:
		log_info("%s", line);
		break;
	default:
		break;
	}
	return CONNWATCH_PERIOD_MS;
}

int svc_wait_connected(svc *s, int timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms, left;
	while ((left = end - clock_mono_ms()) > 0) {
		if (mqtt_wait_connected(s->mqtt, left < 200 ? (int)left : 200) == 0)
			return 0;
		svc__watch_tick(s);
	}
	return mqtt_is_connected(s->mqtt) ? 0 : AM_ETIMEOUT;
}

/* SCHED_BATCH for every thread of the process. Linux keeps a policy per
 * thread: those a library's constructor started before main (OpenBLAS's
 * pool, in the scorer) are set one by one; threads started later inherit
 * it. Returns 0, or -1 with errno from the first refusal. */
static int svc__batch_all_threads(void)
{
	struct sched_param sp = {.sched_priority = 0};
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int rc = 0, err = 0;

	if (!d)
		return sched_setscheduler(0, SCHED_BATCH, &sp);
	while ((e = readdir(d))) {
		char *end;
		long tid = strtol(e->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		if (sched_setscheduler((pid_t)tid, SCHED_BATCH, &sp) && !err) {
			err = errno;
			rc = -1;
		}
	}
	closedir(d);
	errno = err;
	return rc;
}

/* --cpu-class, set before the service starts threads of its own (Paho's
 * start in mqtt_new) so that every later thread inherits it. A refusal (a
 * seccomp profile, say) is logged and the service runs on at the normal
 * class. Returns -1 only for a value that is not a class. */
static int svc__cpu_class(const svc *s)
{
	if (strcmp(s->cpu_class, "normal") == 0)
		return 0;
	if (strcmp(s->cpu_class, "batch") != 0) {
		log_error("--cpu-class: '%s' is not one of normal, batch", s->cpu_class);
		return -1;
	}
	if (svc__batch_all_threads())
		log_warn("--cpu-class batch: cannot set SCHED_BATCH (%s); running at the "
			 "normal class",
			 strerror(errno));
	else
		log_debug("cpu class: batch (SCHED_BATCH)");
	return 0;
}

int svc_init(svc *s, const svc_params *p, int argc, char **argv)
{
	config_opt all[SVC_OPTS_MAX];
	char broker_def[64];
	char buffer_def[24];
	char err[256];
	enum log_level lvl;
	const char *port = getenv("ANOMESH_PORT");
	long portn = port ? strtol(port, NULL, 10) : 1883;
	/* a daemon with an MQTT client (now or deferred), not a tool */
	int has_mqtt = !p->no_mqtt || p->defer_mqtt;
	int rc;

	memset(s, 0, sizeof(*s));
	s->name = p->name;
	if (portn <= 0 || portn > 65535)
		portn = 1883;
	snprintf(broker_def, sizeof(broker_def), "tcp://127.0.0.1:%ld", portn);
	snprintf(buffer_def, sizeof(buffer_def), "%d",
		 p->max_buffered ? p->max_buffered : 10000);
	{
		/* MQTT options only where there is an MQTT client (not tools). */
		const config_opt mqtt_shared[] = {
		    {"broker", CONFIG_STR, &s->broker, broker_def, 0, -1,
		     "MQTT broker URI (tcp://host:port; ssl://host:8883 for TLS)", 0, 0},
		    {"root", CONFIG_STR, &s->root, "factory", 0, -1, "topic root", 0, 0},
		    {"instance", CONFIG_STR, &s->instance, NULL, 0, -1,
		     "instance id in _svc topics (default <hostname>-<pid>)", 0, 0},
		    {"username", CONFIG_STR, &s->username, NULL, 0, -1, "MQTT username",
		     0, 0},
		    {"password", CONFIG_STR, &s->password, NULL, 0, -1,
		     "MQTT password (shows in ps: prefer --password-file or the "
		     "environment)",
		     0, 1},
		    {"password-file", CONFIG_STR, &s->password_file, NULL, 0, -1,
		     "file whose first line is the MQTT password (mode 0600)", 0, 0},
		    {"cafile", CONFIG_STR, &s->cafile, NULL, 0, -1,
		     "CA certificates (PEM) trusted for the broker (ssl:// URIs; "
		     "default: the system's)",
		     0, 0},
		    {"capath", CONFIG_STR, &s->capath, NULL, 0, -1,
		     "directory of trusted CA certificates (c_rehash form)", 0, 0},
		    {"certfile", CONFIG_STR, &s->certfile, NULL, 0, -1,
		     "client certificate (PEM), for a broker that asks for one", 0, 0},
		    {"keyfile", CONFIG_STR, &s->keyfile, NULL, 0, -1,
		     "its private key (PEM; default: in --certfile)", 0, 0},
		    {"metrics-interval", CONFIG_INT, &s->metrics_interval_ms, "10000", 0,
		     3600000, "ms between metrics messages (0: off)", 0, 0},
		    {"offline-buffer", CONFIG_INT, &s->offline_buffer, buffer_def, 1,
		     10000000,
		     "publishes kept while the broker is unreachable (beyond: dropped, "
		     "counted)",
		     0, 0},
		    {"cpu-class", CONFIG_STR, &s->cpu_class,
		     p->cpu_class ? p->cpu_class : "normal", 0, -1,
		     "normal, or batch: SCHED_BATCH, never preempting the prediction "
		     "path on waking (same CPU share)",
		     0, 0},
		};
		const config_opt always[] = {
		    {"log-level", CONFIG_STR, &s->log_level, "info", 0, -1,
		     "error, warn, info or debug", 0, 0},
		    {"shutdown-deadline", CONFIG_INT, &s->shutdown_deadline_s, "10", 1,
		     600, "seconds allowed for a clean shutdown after SIGTERM/SIGINT", 0,
		     0},
		};
		size_t n = 0;
		if (has_mqtt)
			for (size_t i = 0;
			     i < sizeof(mqtt_shared) / sizeof(mqtt_shared[0]); i++)
				all[n++] = mqtt_shared[i];
		for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
			all[n++] = always[i];
		if (p->n_opts + n > SVC_OPTS_MAX) {
			fprintf(stderr, "%s: too many options\n", p->name);
			return AM_EUSAGE;
		}
		for (size_t i = 0; i < p->n_opts; i++)
			all[n++] = p->opts[i];
		/* config keeps a pointer to the table: give it a stable copy */
		{
			config_opt *stable = malloc(n * sizeof(*stable));
			if (!stable)
				return AM_ENOMEM;
			memcpy(stable, all, n * sizeof(*stable));
			rc = config_load(&s->cfg, stable, n, argc, argv, p->name,
					 p->summary, err, sizeof(err));
			if (rc != CONFIG_OK) {
				free(stable);
				s->cfg.opts = NULL;
				if (rc == CONFIG_HELP)
					return 1;
				fprintf(stderr, "%s: %s\n", p->name, err);
				return rc;
			}
		}
	}
	if (log_level_parse(s->log_level, &lvl)) {
		fprintf(stderr,
			"%s: --log-level: '%s' is not one of error, warn, info, debug\n",
			p->name, s->log_level);
		svc_cleanup(s);
		return AM_EUSAGE;
	}
	log_init(p->name, lvl);
	if (has_mqtt && svc__password(s, argc, argv)) {
		svc_cleanup(s);
		return AM_EUSAGE;
	}
	if (has_mqtt && svc__cpu_class(s)) {
		svc_cleanup(s);
		return AM_EUSAGE;
	}
	/* blocked before any thread exists (Paho's start in mqtt_new): every
	 * thread inherits the mask, and the loop takes them by signalfd */
	if (signals_install((unsigned)s->shutdown_deadline_s) || signals_block()) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		svc_cleanup(s);
		return -1;
	}
	s->metrics = metrics_new();
	if (!s->metrics || loop_new(&s->loop) != 0) {
		log_error("out of memory");
		svc_cleanup(s);
		return -1;
	}
	if (!p->no_mqtt && !p->defer_mqtt) {
		mqtt_options o;
		svc_mqtt_options(s, p, &o);
		if (svc_connect(s, &o)) {
			svc_cleanup(s);
			return -1;
		}
		log_info("started; broker %s, root '%s', status on %s/status", s->broker,
			 s->root, mqtt_svc_prefix(s->mqtt));
	}
	return 0;
}

static int64_t svc__presence_tick(void *ud)
{
	svc *s = ud;
	return s->mqtt_held ? 100 : presence_tick(s->presence);
}

int svc_connect(svc *s, mqtt_options *o)
{
	char err[256];

	s->presence = presence_new(o, s->metrics, err, sizeof(err));
	if (s->presence)
		s->mqtt = mqtt_new(o, s->metrics, err, sizeof(err));
	if (!s->mqtt) {
		log_error("MQTT client for %s: %s", s->broker, err);
		return -1;
	}
	presence_attach(s->presence, s->mqtt);
	s->presence_timer =
	    loop_timer_add(s->loop, presence_tick(s->presence), svc__presence_tick, s);
	s->watch = connwatch_new(s->mqtt, o->uri, &o->tls);
	s->watch_timer =
	    s->watch ? loop_timer_add(s->loop, CONNWATCH_PERIOD_MS, svc__watch_tick, s)
		     : -1;
	if (s->presence_timer < 0 || s->watch_timer < 0) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

static void svc__inbox(void *ud, int fd, short revents)
{
	svc *s = ud;
	(void)fd;
	(void)revents;
	mqtt_dispatch(s->mqtt, s->inbox_fn, s->inbox_ud, 0);
}

int svc_watch_inbox(svc *s, mqtt_handler fn, void *ud)
{
	s->inbox_fn = fn;
	s->inbox_ud = ud;
	s->inbox_watched = 1;
	return loop_watch(s->loop, mqtt_fd(s->mqtt), s->mqtt_held ? 0 : LOOP_IN,
			  svc__inbox, s);
}

void svc_hold_mqtt(svc *s, int hold)
{
	if (s->mqtt_held == hold)
		return;
	s->mqtt_held = hold;
	if (s->inbox_watched)
		loop_watch(s->loop, mqtt_fd(s->mqtt), hold ? 0 : LOOP_IN, svc__inbox, s);
}

void svc_mqtt_options(const svc *s, const svc_params *p, mqtt_options *o)
{
	mqtt_options_default(o);
	o->uri = s->broker;
	o->root = s->root;
	o->service = p->name;
	o->instance = s->instance;
	o->username = s->username;
	o->password = s->password;
	o->tls.cafile = s->cafile;
	o->tls.capath = s->capath;
	o->tls.certfile = s->certfile;
	o->tls.keyfile = s->keyfile;
	o->persistent = p->persistent;
	o->metrics_interval_ms = (int)s->metrics_interval_ms;
	if (p->inbox_max)
		o->inbox_max = p->inbox_max;
	o->max_buffered = (int)s->offline_buffer;
}

void svc_disconnect(svc *s)
{
	if (!s)
		return;
	if (s->mqtt) {
		if (s->inbox_watched)
			loop_unwatch(s->loop, mqtt_fd(s->mqtt));
		if (mqtt_shutdown(s->mqtt, 3000))
			log_warn("shutdown: some messages were still in flight");
		mqtt_free(s->mqtt);
		s->mqtt = NULL;
	}
	if (s->presence_timer > 0)
		loop_timer_del(s->loop, s->presence_timer);
	s->presence_timer = 0;
	if (s->watch_timer > 0)
		loop_timer_del(s->loop, s->watch_timer);
	s->watch_timer = 0;
	connwatch_free(s->watch);
	s->watch = NULL;
	s->inbox_watched = 0;
	presence_free(s->presence);
	s->presence = NULL;
}

void svc_cleanup(svc *s)
{
	const config_opt *opts;
	if (!s)
		return;
	svc_disconnect(s);
	loop_free(s->loop);
	s->loop = NULL;
	metrics_free(s->metrics);
	s->metrics = NULL;
	opts = s->cfg.opts;
	config_cleanup(&s->cfg);
	free((void *)opts);
	secret_free(s->password_buf);
	s->password_buf = NULL;
	s->password = NULL;
}
