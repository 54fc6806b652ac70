/* mesh — the test publisher, raw messages from rows and lpms-emu start-up
 * (see mesh.h). Kept apart from the harness's core so that the core
 * (broker, processes, subscriber) links nothing of anomesh. */
#include "mesh.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUB_CONNECT_MS 30000

int harness_pub_open(harness_pub *p, const char *uri, const char *service,
		     const char *client_id, int persistent)
{
	static int seq;
	mqtt_options o;
	char err[256] = "", id[96];

	memset(p, 0, sizeof(*p));
	if (!client_id) {
		snprintf(id, sizeof(id), "%s-%d-%d", service, (int)getpid(), ++seq);
		client_id = id;
	}
	mqtt_options_default(&o);
	o.uri = uri;
	o.root = "factory";
	o.service = service;
	o.instance = "t";
	o.client_id = client_id;
	o.metrics_interval_ms = 0;
	if (persistent) {
		o.persistent = 1;
		o.max_buffered = 1000000;
		o.reconnect_max_s = 1;
	}
	p->m = metrics_new();
	p->buf = malloc(MSG_MAX_PAYLOAD + 1);
	if (p->m && p->buf)
		p->c = mqtt_new(&o, p->m, err, sizeof(err));
	if (!p->c || mqtt_wait_connected(p->c, PUB_CONNECT_MS)) {
		fprintf(stderr, "harness: publisher %s on %s: %s\n", client_id, uri,
			p->c ? "not connected" : err);
		harness_pub_close(p, 0);
		return -1;
	}
	return 0;
}

int harness_pub_raw(harness_pub *p, const msg_raw *r)
{
	char err[MSG_ERR_MAX];
	size_t len;
	if (msg_raw_encode(r, p->buf, MSG_MAX_PAYLOAD + 1, &len, err, sizeof(err))) {
		fprintf(stderr, "harness: encoding %s seq %llu: %s\n", r->sensor,
			(unsigned long long)r->seq, err);
		return -1;
	}
	return harness_pub_text(p, r->sensor, "raw", p->buf, len);
}

int harness_pub_text(harness_pub *p, const char *sensor, const char *kind,
		     const char *payload, size_t len)
{
	int rc = mqtt_publish_sensor(p->c, sensor, kind, payload, len, 1, 0);
	if (rc) {
		fprintf(stderr, "harness: publishing on %s/%s: %s\n", sensor, kind,
			am_strerror(rc));
		return -1;
	}
	return 0;
}

int harness_pub_close(harness_pub *p, int timeout_ms)
{
	int rc = 0;
	if (!p)
		return 0;
	if (p->c)
		rc = mqtt_shutdown(p->c, timeout_ms) ? -1 : 0;
	mqtt_free(p->c);
	metrics_free(p->m);
	free(p->buf);
	memset(p, 0, sizeof(*p));
	return rc;
}

int harness_raw_fill(msg_raw *r, const char *sensor, const char *run, uint64_t seq,
		     double t0, double rate_hz, const char *const *ch, size_t n_ch,
		     const float *rows, size_t n)
{
	if (n_ch > MSG_MAX_CHANNELS)
		return -1;
	snprintf(r->sensor, sizeof(r->sensor), "%s", sensor);
	snprintf(r->run, sizeof(r->run), "%s", run);
	r->seq = seq;
	r->t0 = t0;
	r->rate_hz = rate_hz;
	r->has_frame0 = 0;
	r->n_channels = n_ch;
	for (size_t c = 0; c < n_ch; c++)
		snprintf(r->channels[c], sizeof(r->channels[c]), "%s", ch[c]);
	if (msg_raw_reserve(r, n))
		return -1;
	r->n_samples = n;
	memcpy(r->samples, rows, n * n_ch * sizeof(float));
	return 0;
}

pid_t harness_emu_start(const char *const extra[], int pty, char *where, size_t len,
			char *log, size_t loglen)
{
	static int k;
	const char *argv[48];
	char file[4200];
	const char *dir = harness_tmpdir();
	size_t n = 0;
	pid_t pid;

	if (!dir)
		return -1;
	snprintf(file, sizeof(file), "%s/emu%d.%s", dir, k++, pty ? "pty" : "port");
	argv[n++] = harness_bin("lpms-emu");
	if (pty) {
		argv[n++] = "--pty";
		argv[n++] = "--pty-file";
	} else {
		argv[n++] = "--listen-port";
		argv[n++] = "0";
		argv[n++] = "--port-file";
	}
	argv[n++] = file;
	for (size_t i = 0; extra && extra[i]; i++) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0])) {
			fprintf(stderr, "harness: too many lpms-emu arguments\n");
			return -1;
		}
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	pid = harness_spawn(argv, NULL, log, loglen);
	if (pid < 0)
		return -1;
	if (harness_wait_first_line(file, where, len, 10000)) {
		fprintf(stderr, "harness: lpms-emu wrote no %s; log %s\n",
			pty ? "pty path" : "port", log ? log : "?");
		harness_kill9(pid);
		return -1;
	}
	return pid;
}
