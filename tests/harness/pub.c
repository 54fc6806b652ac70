/* pub — a connected common/mqtt publisher for integration tests (see
 * pub.h). */
#include "pub.h"

#include <stdio.h>
#include <stdlib.h>

#define HARNESS_PUB_WAIT_MS 30000

harness_pub *harness_pub_new(const char *uri, const char *service)
{
	harness_pub *p = calloc(1, sizeof(*p));
	mqtt_options o;
	char err[256] = "";

	if (!p || !(p->m = metrics_new())) {
		fprintf(stderr, "harness_pub: out of memory\n");
		harness_pub_free(p);
		return NULL;
	}
	mqtt_options_default(&o);
	o.uri = uri;
	o.root = "factory";
	o.service = service;
	o.instance = "t";
	o.metrics_interval_ms = 0;
	p->c = mqtt_new(&o, p->m, err, sizeof(err));
	if (!p->c || mqtt_wait_connected(p->c, HARNESS_PUB_WAIT_MS)) {
		fprintf(stderr, "harness_pub: %s: %s\n", uri,
			p->c ? "not connected" : err);
		harness_pub_free(p);
		return NULL;
	}
	return p;
}

void harness_pub_free(harness_pub *p)
{
	if (!p)
		return;
	mqtt_free(p->c);
	metrics_free(p->m);
	free(p);
}
