/* fleet-view — the console's window on the whole fleet: every gateway's
 * machine states (retained, the latest of each), alerts and predictions,
 * taken from the NATS cluster (fview.h) and published into a Mosquitto
 * that serves the console over WebSockets, as fleet/{plant}/{gateway}/
 * {sensor}/{kind}. The console signs in there with the topic root
 * "fleet/+/+" and groups its tiles by plant and gateway (console/README.md).
 * Read-only: acks stay on each gateway.
 *
 *   fleet-view --servers nats://h:p,... --broker tcp://127.0.0.1:1885
 *              [--nats-cafile F [--nats-certfile F --nats-keyfile F]] [options]
 *
 * TLS to the cluster: --nats-cafile and its kin (fnats.h), since --cafile
 * and its kin are the view broker's (svc.h), as for every service.
 *
 * main() only parses options, connects, and pulls messages from the
 * cluster on a short timer, handing them to the view broker. */
#include "fview.h"

#include "clock.h"
#include "log.h"
#include "svc.h"

#include <stdio.h>
#include <string.h>

#define V_TICK_MS 20
#define V_PER_TICK 2000

static char *v_servers, *v_cafile, *v_certfile, *v_keyfile, *v_tls_name;
static long v_replicas;

static const config_opt v_opts[] = {
    {"servers", CONFIG_STR, &v_servers, "nats://127.0.0.1:4222", 0, -1,
     "the cluster's NATS URLs, comma-separated", 0, 0},
    {"nats-cafile", CONFIG_STR, &v_cafile, NULL, 0, -1,
     "TLS to the cluster, trusting these CA certificates (PEM; tls:// URLs "
     "without it: the system's). --cafile is the view broker's",
     0, 0},
    {"nats-certfile", CONFIG_STR, &v_certfile, NULL, 0, -1,
     "client certificate (PEM), for a cluster that asks for one", 0, 0},
    {"nats-keyfile", CONFIG_STR, &v_keyfile, NULL, 0, -1, "its private key (PEM)", 0, 0},
    {"nats-tls-hostname", CONFIG_STR, &v_tls_name, NULL, 0, -1,
     "the name every node's certificate must carry (default: the first URL's host)", 0,
     0},
    {"replicas", CONFIG_INT, &v_replicas, "3", 1, 5,
     "replicas of the FLEET_STATES stream when this creates it", 0, 0},
};

typedef struct v_state {
	svc *sv;
	fview *fv;
	fnats_tls tls;
	int64_t retry_at;
	long long forwarded, dropped;
	log_every down, bad;
} v_state;

/* Forward what the cluster has now; (re)connect when needed. */
static int64_t v_tick(void *ud)
{
	v_state *v = ud;
	char err[512];
	fview_msg m;
	if (!v->fv) {
		if (clock_mono_ms() < v->retry_at)
			return V_TICK_MS;
		if (fview_open(&v->fv, v_servers, &v->tls, (int)v_replicas, err,
			       sizeof(err))) {
			log_every_msg(&v->down, 10000, LOG_LVL_WARN, "cluster: %s", err);
			v->retry_at = clock_mono_ms() + 1000;
			return V_TICK_MS;
		}
		log_info("showing the fleet from %s", v_servers);
	}
	for (int i = 0; i < V_PER_TICK; i++) {
		int rc = fview_next(v->fv, &m, 0, err, sizeof(err));
		if (rc == AM_ETIMEOUT)
			break;
		if (rc == AM_EFORMAT) {
			log_every_msg(&v->bad, 10000, LOG_LVL_WARN, "dropped: %s", err);
			continue;
		}
		if (rc) {
			log_every_msg(&v->down, 10000, LOG_LVL_WARN, "cluster: %s", err);
			break;
		}
		if (mqtt_publish(v->sv->mqtt, m.topic, m.data, m.len, m.qos, m.retained))
			v->dropped++;
		else
			v->forwarded++;
		fview_msg_done(&m);
	}
	return V_TICK_MS;
}

int main(int argc, char **argv)
{
	svc sv;
	svc_params p = {
	    .name = "fleet-view",
	    .summary =
		"fleet-view: every gateway's states, alerts and predictions from the "
		"NATS cluster into the broker the console reads\n"
		"usage: fleet-view --servers nats://h:p,... --broker URI [options]",
	    .opts = v_opts,
	    .n_opts = sizeof(v_opts) / sizeof(v_opts[0]),
	};
	v_state v = {0};
	char err[512];
	int rc = svc_init(&sv, &p, argc, argv), code = 1;
	if (rc)
		return svc_exit_code(rc);
	v.sv = &sv;
	v.tls.cafile = v_cafile;
	v.tls.certfile = v_certfile;
	v.tls.keyfile = v_keyfile;
	v.tls.hostname = v_tls_name;
	if (fnats_tls_check(&v.tls, err, sizeof(err))) {
		log_error("%s", err);
		code = 2;
		goto out;
	}
	if (svc_watch_inbox(&sv, NULL, NULL) ||
	    loop_timer_add(sv.loop, 0, v_tick, &v) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (loop_run(sv.loop) == 0)
		code = 0;
	log_info("stopping: %lld messages forwarded, %lld dropped (the view broker's "
		 "queue was full)",
		 v.forwarded, v.dropped);
out:
	svc_disconnect(&sv);
	fview_close(v.fv);
	svc_cleanup(&sv);
	return code;
}
