/* connwatch — the cause of a broker connection's trouble, once per change
 * and then once a minute (connwatch.h). A TLS failure is an error (it will
 * not heal by retrying: a person must fix a certificate or a CA file); an
 * unreachable broker is a warning (it may come back by itself). */
#include "connwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct connwatch {
	mqtt_client *c;
	char *uri;
	tls_options tls;
	unsigned seen;   /* mqtt_trouble() count already looked at */
	int down;        /* a line about this outage was given */
	int64_t last_ms; /* when that line was given */
	char last[512];  /* and what it said */
};

connwatch *connwatch_new(mqtt_client *c, const char *uri, const tls_options *tls)
{
	connwatch *w = calloc(1, sizeof(*w));
	if (!w || !(w->uri = strdup(uri ? uri : ""))) {
		free(w);
		return NULL;
	}
	w->c = c;
	if (tls)
		w->tls = *tls;
	return w;
}

void connwatch_free(connwatch *w)
{
	if (!w)
		return;
	free(w->uri);
	free(w);
}

/* The cause, as one sentence in why; its level. */
static enum connwatch_level connwatch__cause(connwatch *w, const char *paho, char *why,
					     size_t len)
{
	char host[TLS_HOST_MAX + 1], probe[400];
	int port, secure = 0, rc;

	if (tls_uri_parse(w->uri, host, sizeof(host), &port, &secure) != 0 || !secure) {
		snprintf(why, len, "%s", paho[0] ? paho : "no answer yet");
		return CONNWATCH_WARN;
	}
	rc = tls_probe(&w->tls, host, port, CONNWATCH_PROBE_MS, probe, sizeof(probe));
	if (rc == AM_ETLS) {
		snprintf(why, len, "TLS: %s", probe);
		return CONNWATCH_ERROR;
	}
	if (rc == 0) /* TLS is fine: then the MQTT connect itself failed */
		snprintf(why, len, "%s (TLS handshake and certificate are fine)",
			 paho[0] ? paho : "no answer yet");
	else
		snprintf(why, len, "%s", probe);
	return CONNWATCH_WARN;
}

enum connwatch_level connwatch_check(connwatch *w, int64_t now_ms, char *line, size_t len)
{
	char paho[256], why[sizeof(w->last)];
	enum connwatch_level lvl;
	unsigned n;

	if (!w || !line || !len)
		return CONNWATCH_NONE;
	if (mqtt_is_connected(w->c)) {
		w->seen = mqtt_trouble(w->c, NULL, 0);
		if (!w->down)
			return CONNWATCH_NONE;
		w->down = 0;
		w->last[0] = '\0';
		snprintf(line, len, "connected to %s again", w->uri);
		return CONNWATCH_INFO;
	}
	n = mqtt_trouble(w->c, paho, sizeof(paho));
	if (n == w->seen && (!w->down || now_ms - w->last_ms < CONNWATCH_REPEAT_MS))
		return CONNWATCH_NONE;
	w->seen = n;
	lvl = connwatch__cause(w, paho, why, sizeof(why));
	/* the same cause again within the minute: nothing new to say */
	if (w->down && strcmp(why, w->last) == 0 &&
	    now_ms - w->last_ms < CONNWATCH_REPEAT_MS)
		return CONNWATCH_NONE;
	w->down = 1;
	w->last_ms = now_ms;
	snprintf(w->last, sizeof(w->last), "%s", why);
	snprintf(line, len, "not connected to %s (retrying): %s", w->uri, why);
	return lvl;
}
