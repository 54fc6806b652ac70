/* mqtt — anomesh's client over Paho MQTTAsync (MQTT v5).
 *
 * Design. Paho owns the network threads; this module only adds state that
 * those threads and the service loop share: the connection flag and
 * generation and the subscription list under one mutex (c->lock), the
 * inbox (inbox.c) and the outbound queue (outq.c) under their own.
 * Rule that keeps it deadlock-free: no MQTTAsync_* call is ever made while
 * one of these locks is held (Paho may call us back holding its own mutex,
 * so the lock order is always Paho -> ours, never the reverse).
 *
 * Reconnects are Paho's automaticReconnect (which, in 1.3.x, also retries
 * after a failed *first* connect: a service starts with the broker down);
 * the setConnected callback, run after every successful connect, runs the
 * on_connected hook (presence: the retained "online" status) and
 * re-subscribes every filter once per connection (the generation counter
 * stops mqtt_subscribe() and the callback from both sending the same
 * SUBSCRIBE). Offline buffering is the outbound queue's; what max_buffered
 * refuses is counted as overflow_dropped.
 *
 * Inbox: messageArrived copies topic and payload into one allocation and
 * pushes it into the inbox, whose eventfd the service loop polls. When the
 * inbox holds inbox_max messages the callback *waits* for the service loop
 * to take one (inbox_full counted): Paho's receive thread then stops
 * reading the socket, so TCP pushes back and the broker queues, and memory
 * stays bounded. Returning 0 instead ("Paho keeps it and retries") is not
 * used: Paho 1.3.12 has already acked the message by then, queues it
 * without bound and offers the queue's head again only once per later
 * network event on that connection, so a burst can stall there
 * indefinitely.
 * Paho holds its (process-wide) mutex while it runs messageArrived, and
 * every Paho call needs that mutex: a thread about to call into Paho for any
 * of our clients announces itself (api_enter), and the waiting callback then
 * stops waiting and takes the message over the bound rather than deadlock. The wait is
 * also capped at half the keepalive so the connection never times out over it.
 *
 * Outbound flow control: the queue (outq.c) hands Paho at most a window of
 * QoS>0 publishes and keeps each until Paho reports its end; why, and what
 * Paho was measured to do, is outq.c's design note. */
#include "mqtt.h"

#include "clock.h"
#include "inbox.h"
#include "log.h"
#include "mqtt_conf.h"
#include "mqtt_connect.h"
#include "outq.h"
#include "topic.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MQTT_PAYLOAD_MAX (256 * 1024 * 1024 - 1024) /* MQTT's own limit, roughly */

typedef struct in_msg {
	inbox_node node; /* first: the inbox hands it back as this */
	size_t topic_len;
	size_t len;
	int qos;
	int retained;
	int duplicate;
	char data[]; /* topic NUL payload NUL */
} in_msg;

typedef struct sub_item {
	struct sub_item *next;
	char *filter;
	int qos;
	unsigned gen; /* connection generation it was last subscribed in */
} sub_item;

struct mqtt_client {
	MQTTAsync h;
	int have_handle;

	mqtt_conf k; /* the options, copied (immutable after mqtt_new) */
	MQTTProperties connect_props;

	metrics_slot *s_in, *s_malformed, *s_inbox_full, *s_reconnects, *s_connected,
	    *s_failed; /* the queue's publish_failed too */
	inbox *in;
	outq *out;

	/* shared with Paho's threads, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* connection state changed, disconnect done */
	int connected;
	int ever_connected;
	unsigned gen;
	sub_item *subs, *subs_tail;
	int disconnect_done;
	unsigned trouble_n;  /* failed connects and lost connections */
	char trouble[256];   /* Paho's words for the latest */
	char ssl_error[192]; /* OpenSSL's latest line, from Paho's callback */

	_Atomic int connected_flag; /* lock-free read for mqtt_is_connected */
	_Atomic int stopping;
	int shutdown_rc;
};

/* Around every Paho call that may need Paho's client mutex: a messageArrived
 * waiting for inbox space (holding that mutex) gives up its wait. */
static _Atomic int api_waiters; /* threads in or entering a Paho call, any client */

static void api_enter(mqtt_client *c)
{
	atomic_fetch_add(&api_waiters, 1);
	if (c->in)
		inbox_nudge(c->in);
}

static void api_leave(mqtt_client *c)
{
	(void)c;
	atomic_fetch_sub(&api_waiters, 1);
}

/* The inbox wait's way out (see the top of the file). */
static int rx_give_up(void *ud)
{
	mqtt_client *c = ud;
	return atomic_load(&api_waiters) || atomic_load(&c->stopping);
}

static void on_pub_ok(void *ctx, MQTTAsync_successData5 *r);
static void on_pub_fail(void *ctx, MQTTAsync_failureData5 *r);

/* Paho's answer as an AM_E* code: AM_EOVERFLOW when it refused for lack of
 * room, not because of the message itself. */
static int paho_code(int rc)
{
	switch (rc) {
	case MQTTASYNC_SUCCESS:
		return 0;
	case MQTTASYNC_MAX_BUFFERED_MESSAGES:
	case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
	case MQTTASYNC_NO_MORE_MSGIDS:
		return AM_EOVERFLOW;
	case MQTTASYNC_BAD_UTF8_STRING:
	case MQTTASYNC_BAD_QOS:
	case MQTTASYNC_NULL_PARAMETER:
		return AM_EINVAL;
	default:
		return AM_EBROKER;
	}
}

/* MQTTAsync_sendMessage wrapper, the outbound queue's sender; returns an
 * AM_E* code. ticket: a QoS>0 publish in the queue's window, ended by
 * on_pub_ok/on_pub_fail. */
static int send_msg(void *ud, const char *topic, const void *payload, size_t len, int qos,
		    int retained, outq_ticket *ticket)
{
	mqtt_client *c = ud;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retained;
	if (ticket) {
		ro.onSuccess5 = on_pub_ok;
		ro.onFailure5 = on_pub_fail;
		ro.context = ticket;
	}
	api_enter(c);
	rc = MQTTAsync_sendMessage(c->h, topic, &msg, &ro);
	api_leave(c);
	return paho_code(rc);
}

/* The queue asks the loop to pump it: make mqtt_fd() readable. */
static void pump_wake(void *ud)
{
	mqtt_client *c = ud;
	inbox_wake(c->in);
}

/* Receive thread, PUBACK/PUBCOMP: room in the window, fill it (Paho allows
 * API calls from its callbacks; the call also wakes its send thread). */
static void on_pub_ok(void *ctx, MQTTAsync_successData5 *r)
{
	(void)r;
	outq_done(ctx, OUTQ_ACKED);
}

/* Paho gave the message up. Refused by the broker (an error PUBACK, reason
 * 0x80 and above): for good, counted. Anything else is the connection's
 * fault, not the message's (measured: MQTTASYNC_OPERATION_INCOMPLETE when
 * Paho cleans its session on a reconnect without one; MQTTASYNC_FAILURE,
 * no packet, when the socket broke under a write): sent again. Paho may be
 * walking its own lists now: no Paho call from here, the loop pumps. */
static void on_pub_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	int refused = r && r->reasonCode >= MQTTREASONCODE_UNSPECIFIED_ERROR;
	outq_done(ctx, refused ? OUTQ_REFUSED : OUTQ_RETRY);
}

/* Receive thread, first successful connect only (measured): the broker's
 * Receive Maximum sets the window. */
static void on_connect_ok(void *ctx, MQTTAsync_successData5 *r)
{
	mqtt_client *c = ctx;
	long rm = OUTQ_RECV_MAX_DEFAULT;
	if (r && MQTTProperties_hasProperty(&r->properties,
					    MQTTPROPERTY_CODE_RECEIVE_MAXIMUM)) {
		rm = MQTTProperties_getNumericValue(&r->properties,
						    MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
		if (rm < 1 || rm > OUTQ_RECV_MAX_DEFAULT)
			rm = OUTQ_RECV_MAX_UNKNOWN; /* protocol error: be careful */
	}
	int window = outq_window_for(rm);
	outq_set_window(c->out, window);
	log_debug("broker's Receive Maximum %ld: at most %d QoS 1 publishes in flight",
		  rm, window);
}

/* ---- Paho callbacks (Paho's threads: only record and queue) ------------- */

/* A failed connect or a lost connection, recorded for mqtt_trouble(). */
static void note_trouble(mqtt_client *c, const char *what, const char *detail)
{
	pthread_mutex_lock(&c->lock);
	c->trouble_n++;
	snprintf(c->trouble, sizeof(c->trouble), "%s%s%s%s%s", what,
		 detail && *detail ? ": " : "", detail ? detail : "",
		 c->ssl_error[0] ? "; OpenSSL: " : "", c->ssl_error);
	c->ssl_error[0] = '\0';
	pthread_mutex_unlock(&c->lock);
}

/* OpenSSL's error lines (Paho's ssl_error_cb): the last one is kept. */
static int on_ssl_error(const char *str, size_t len, void *u)
{
	mqtt_client *c = u;
	pthread_mutex_lock(&c->lock); /* the line without its line end */
	snprintf(c->ssl_error, sizeof(c->ssl_error), "%.*s",
		 (int)(len && str[len - 1] == '\n' ? len - 1 : len), str);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* The first connect failed (Paho retries on its own, silently). */
static void on_connect_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	const char *rc =
	    r && r->reasonCode ? MQTTReasonCode_toString(r->reasonCode) : NULL;
	note_trouble(ctx, "connect failed", r && r->message ? r->message : rc);
}

static void on_connected(void *ctx, char *cause)
{
	mqtt_client *c = ctx;
	sub_item **todo = NULL;
	size_t n = 0, cap = 0;
	int again;
	(void)cause;

	mqtt_connect_nodelay();
	pthread_mutex_lock(&c->lock);
	again = c->ever_connected;
	c->ever_connected = 1;
	c->connected = 1;
	c->gen++;
	for (sub_item *s = c->subs; s; s = s->next)
		cap++;
	if (cap)
		todo = calloc(cap, sizeof(*todo));
	for (sub_item *s = c->subs; s && todo; s = s->next) {
		if (s->gen != c->gen) {
			s->gen = c->gen;
			todo[n++] = s;
		}
	}
	/* metrics first: whoever wakes on the flag sees them up to date */
	metrics_set(c->s_connected, 1);
	if (again)
		metrics_add(c->s_reconnects, 1);
	atomic_store(&c->connected_flag, 1);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	outq_set_connected(c->out, 1);

	if (c->k.o.on_connected && !atomic_load(&c->stopping))
		c->k.o.on_connected(c->k.o.hook_ud, c);
	/* sub_items are never freed before mqtt_free(), so the pointers stay
	 * valid after the unlock; filter and qos never change. */
	for (size_t i = 0; i < n; i++) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		api_enter(c);
		MQTTAsync_subscribe(c->h, todo[i]->filter, todo[i]->qos, &ro);
		api_leave(c);
	}
	free(todo);
	outq_pump(c->out); /* what queued up while disconnected */
}

static void mark_disconnected(mqtt_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->connected = 0;
	metrics_set(c->s_connected, 0);
	atomic_store(&c->connected_flag, 0);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	outq_set_connected(c->out, 0);
}

static void on_connection_lost(void *ctx, char *cause)
{
	mark_disconnected(ctx);
	note_trouble(ctx, "connection lost", cause);
}

static void on_disconnected(void *ctx, MQTTProperties *props, enum MQTTReasonCodes rc)
{
	(void)props;
	(void)rc;
	mark_disconnected(ctx);
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	mqtt_client *c = ctx;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	in_msg *it;

	/* A topic with an embedded NUL cannot be handed on as a C string. */
	if (topic_len > 0 && memchr(topic, '\0', tlen)) {
		metrics_add(c->s_malformed, 1);
		goto consumed;
	}
	it = malloc(sizeof(*it) + tlen + 1 + plen + 1);
	if (!it)
		return 0; /* Paho offers it again later */
	it->topic_len = tlen;
	it->len = plen;
	it->qos = msg->qos;
	it->retained = msg->retained;
	it->duplicate = msg->dup;
	memcpy(it->data, topic, tlen);
	it->data[tlen] = '\0';
	if (plen)
		memcpy(it->data + tlen + 1, msg->payload, plen);
	it->data[tlen + 1 + plen] = '\0';

	if (c->k.o.on_arrival) {
		/* before the PUBACK: Paho sends it when we return (mqtt.h) */
		mqtt_message mm = {.topic = it->data,
				   .payload = it->data + tlen + 1,
				   .len = plen,
				   .qos = it->qos,
				   .retained = it->retained,
				   .duplicate = it->duplicate};
		if (c->k.o.on_arrival(c->k.o.on_arrival_ud, &mm) == 0) {
			free(it);
			metrics_add(c->s_in, 1);
			goto consumed;
		}
	}
	metrics_add(c->s_in, 1); /* before it can be dispatched */
	/* see the top of the file: wait, bounded, then take it anyway */
	inbox_push(c->in, &it->node, (int64_t)c->k.o.keepalive_s * 500, rx_give_up, c);
consumed:
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void on_disconnect_done(void *ctx)
{
	mqtt_client *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->disconnect_done = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void on_disconnect_ok(void *ctx, MQTTAsync_successData5 *r)
{
	(void)r;
	on_disconnect_done(ctx);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	(void)r;
	on_disconnect_done(ctx);
}

/* ---- life cycle ------------------------------------------------------- */

static void free_in_msg(inbox_node *n) { free(n); }

static void client_release(mqtt_client *c)
{
	sub_item *s, *sn;

	if (c->out)
		outq_close(c->out); /* callbacks run by MQTTAsync_destroy hand nothing */
	if (c->have_handle) {
		api_enter(c);
		MQTTAsync_destroy(&c->h);
		api_leave(c);
	}
	inbox_free(c->in, free_in_msg);
	outq_free(c->out);
	for (s = c->subs; s; s = sn) {
		sn = s->next;
		free(s->filter);
		free(s);
	}
	MQTTProperties_free(&c->connect_props);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	mqtt_conf_cleanup(&c->k);
	free(c);
}

/* The queue and the inbox, with their counters. */
static int make_queues(mqtt_client *c, metrics *m, char *err, size_t errlen)
{
	outq_options qo = {.max_buffered = c->k.o.max_buffered,
			   .window = outq_window_for(OUTQ_RECV_MAX_UNKNOWN),
			   .send = send_msg,
			   .send_ud = c,
			   .wake = pump_wake,
			   .wake_ud = c,
			   .out = metrics_get(m, "msgs_out"),
			   .overflow = metrics_get(m, "overflow_dropped"),
			   .failed = metrics_get(m, "publish_failed"),
			   .resent = metrics_get(m, "publish_resent"),
			   .queued = metrics_get(m, "outbound_queued")};
	int rc;

	c->s_in = metrics_get(m, "msgs_in");
	c->s_failed = qo.failed;
	c->s_malformed = metrics_get(m, "malformed_dropped");
	c->s_inbox_full = metrics_get(m, "inbox_full");
	c->s_reconnects = metrics_get(m, "reconnects");
	c->s_connected = metrics_get(m, "connected");
	metrics_set(c->s_connected, 0);
	rc = inbox_new(&c->in, c->k.o.inbox_max, c->s_inbox_full);
	if (!rc)
		rc = outq_new(&c->out, &qo);
	if (rc)
		am_errf(err, errlen, "mqtt: %s", am_strerror(rc));
	return rc;
}

mqtt_client *mqtt_new(const mqtt_options *o, metrics *m, char *err, size_t errlen)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	mqtt_connect mc;
	pthread_condattr_t ca;
	mqtt_client *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c) {
		am_errf(err, errlen, "mqtt: out of memory");
		return NULL;
	}
	c->connect_props = (MQTTProperties)MQTTProperties_initializer;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);

	if (mqtt_conf_init(&c->k, o, err, errlen) != 0 ||
	    make_queues(c, m, err, errlen) != 0)
		goto fail;

	co.sendWhileDisconnected = 1;
	co.allowDisconnectedSendAtAnyTime = 1;
	co.maxBufferedMessages = c->k.o.max_buffered;
	co.deleteOldestMessages = 0;
	co.MQTTVersion = MQTTVERSION_5;
	rc = MQTTAsync_createWithOptions(&c->h, c->k.uri, c->k.client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (rc != MQTTASYNC_SUCCESS) {
		am_errf(err, errlen, "mqtt: cannot create client for '%s': %s", c->k.uri,
			MQTTAsync_strerror(rc));
		goto fail;
	}
	c->have_handle = 1;
	mqtt_connect_quiet_trace();
	if (MQTTAsync_setCallbacks(c->h, c, on_connection_lost, on_message, NULL) !=
		MQTTASYNC_SUCCESS ||
	    MQTTAsync_setConnected(c->h, c, on_connected) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setDisconnected(c->h, c, on_disconnected) != MQTTASYNC_SUCCESS) {
		am_errf(err, errlen, "mqtt: cannot set callbacks");
		goto fail;
	}

	if (mqtt_connect_opts(&mc, &c->k, &c->connect_props, on_ssl_error, c, err,
			      errlen) != 0)
		goto fail;
	/* onSuccess5 only learns the broker's Receive Maximum (first connect
	 * only, see the top of the file): the connected callback covers every
	 * connect, and a failed first attempt is retried by Paho's automatic
	 * reconnect. */
	mc.cn.onSuccess5 = on_connect_ok;
	mc.cn.onFailure5 = on_connect_fail;
	mc.cn.context = c;
	rc = MQTTAsync_connect(c->h, &mc.cn);
	if (rc != MQTTASYNC_SUCCESS) {
		am_errf(err, errlen, "mqtt: cannot start connecting to '%s': %s",
			c->k.uri, MQTTAsync_strerror(rc));
		goto fail;
	}
	return c;
fail:
	atomic_store(&c->stopping, 1);
	client_release(c);
	return NULL;
}

/* Wait on c->cond until *flag (read under the lock) is nonzero or the
 * monotonic deadline passes. Returns the flag. Caller holds c->lock. */
static int wait_flag_locked(mqtt_client *c, const int *flag, int64_t deadline_ms)
{
	while (!*flag) {
		struct timespec ts;
		if (clock_mono_ms() >= deadline_ms)
			break;
		ts.tv_sec = (time_t)(deadline_ms / 1000);
		ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	return *flag;
}

/* Number of publishes Paho still holds (queued or awaiting ack), or -1. */
static int pending_count(mqtt_client *c)
{
	MQTTAsync_token *toks = NULL;
	int n = 0, rc;
	api_enter(c);
	rc = MQTTAsync_getPendingTokens(c->h, &toks);
	api_leave(c);
	if (rc != MQTTASYNC_SUCCESS)
		return -1;
	if (toks)
		while (toks[n] != -1)
			n++;
	MQTTAsync_free(toks);
	return n;
}

int mqtt_shutdown(mqtt_client *c, int timeout_ms)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
	int64_t deadline;
	int rc = 0, rc2;

	if (!c)
		return AM_EINVAL;
	if (atomic_exchange(&c->stopping, 1))
		return c->shutdown_rc;
	/* a messageArrived waiting for inbox space must not hold us up */
	inbox_nudge(c->in);
	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline = clock_mono_ms() + timeout_ms;

	if (atomic_load(&c->connected_flag) && c->k.o.on_shutdown)
		c->k.o.on_shutdown(c->k.o.hook_ud, c);
	/* Paho offers no "all delivered" wait: poll its pending tokens, and
	 * our queue (pumped here too, in case nothing else does). */
	for (;;) {
		int n = pending_count(c), q;
		outq_pump(c->out);
		q = outq_queued(c->out);
		if (n <= 0 && q == 0)
			break;
		if (clock_mono_ms() >= deadline) {
			rc = AM_ETIMEOUT;
			break;
		}
		clock_sleep_ms(5);
	}

	d.timeout = (int)(deadline - clock_mono_ms());
	if (d.timeout < 100)
		d.timeout = 100;
	outq_close(c->out); /* what is still queued stays there, freed later */
	d.onSuccess5 = on_disconnect_ok;
	d.onFailure5 = on_disconnect_fail;
	d.context = c;
	/* Also stops automatic reconnects when not connected now. */
	api_enter(c);
	rc2 = MQTTAsync_disconnect(c->h, &d);
	api_leave(c);
	if (rc2 == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&c->lock);
		wait_flag_locked(c, &c->disconnect_done,
				 clock_mono_ms() + d.timeout + 1000);
		pthread_mutex_unlock(&c->lock);
	}
	mark_disconnected(c);
	c->shutdown_rc = rc;
	return rc;
}

void mqtt_free(mqtt_client *c)
{
	if (!c)
		return;
	mqtt_shutdown(c, 2000);
	client_release(c);
}

/* ---- subscribe / publish ---------------------------------------------- */

int mqtt_subscribe(mqtt_client *c, const char *filter, int qos)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	sub_item *s;
	int now, rc;

	if (!c || !filter || !*filter || strlen(filter) > 65535 || qos < 0 || qos > 2)
		return AM_EINVAL;
	if (atomic_load(&c->stopping))
		return AM_ESTOPPED;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->filter = strdup(filter))) {
		free(s);
		return AM_ENOMEM;
	}
	s->qos = qos;
	pthread_mutex_lock(&c->lock);
	if (c->subs_tail)
		c->subs_tail->next = s;
	else
		c->subs = s;
	c->subs_tail = s;
	now = c->connected;
	if (now)
		s->gen = c->gen; /* the connected callback will not repeat it */
	pthread_mutex_unlock(&c->lock);
	if (!now)
		return 0;
	api_enter(c);
	rc = MQTTAsync_subscribe(c->h, s->filter, qos, &ro);
	api_leave(c);
	return rc == MQTTASYNC_SUCCESS ? 0 : AM_EBROKER; /* kept: retried on reconnect */
}

/* A publish refused before the queue: counted, like every refusal the
 * module returns, so a caller never counts it again. */
static int publish_refused(mqtt_client *c, int rc)
{
	metrics_add(c->s_failed, 1);
	return rc;
}

int mqtt_publish(mqtt_client *c, const char *topic, const void *payload, size_t len,
		 int qos, int retained)
{
	/* topic checked here (well-formed UTF-8, no wildcard) because a queued
	 * message can no longer report Paho's refusal */
	if (!c)
		return AM_EINVAL;
	if (!topic_name_valid(topic) || qos < 0 || qos > 2 || (len && !payload) ||
	    len > MQTT_PAYLOAD_MAX)
		return publish_refused(c, AM_EINVAL);
	if (atomic_load(&c->stopping))
		return publish_refused(c, AM_ESTOPPED);
	return outq_publish(c->out, topic, payload, len, qos, retained ? 1 : 0);
}

int mqtt_publish_sensor(mqtt_client *c, const char *sensor, const char *kind,
			const void *payload, size_t len, int qos, int retained)
{
	char topic[TOPIC_MAX];
	int k;

	if (!c || !kind)
		return AM_EINVAL;
	for (k = TOPIC_RAW; topic_kind_is_sensor((enum topic_kind)k); k++)
		if (strcmp(topic_kind_name((enum topic_kind)k), kind) == 0)
			break;
	if (topic_sensor(topic, sizeof(topic), c->k.root, sensor, (enum topic_kind)k) < 0)
		return publish_refused(c, AM_EINVAL); /* also an unknown kind */
	return mqtt_publish(c, topic, payload, len, qos, retained);
}

int mqtt_publish_now(mqtt_client *c, const char *topic, const void *payload, size_t len,
		     int qos, int retained)
{
	if (!c || !topic_name_valid(topic) || qos < 0 || qos > 2 || (len && !payload) ||
	    len > MQTT_PAYLOAD_MAX)
		return AM_EINVAL;
	return send_msg(c, topic, len ? payload : "", len, qos, retained ? 1 : 0, 0);
}

/* ---- connection state ------------------------------------------------- */

unsigned mqtt_trouble(mqtt_client *c, char *why, size_t len)
{
	unsigned n;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->trouble_n;
	if (why && len)
		snprintf(why, len, "%s", c->trouble);
	pthread_mutex_unlock(&c->lock);
	return n;
}

int mqtt_is_connected(mqtt_client *c) { return c ? atomic_load(&c->connected_flag) : 0; }

int mqtt_wait_connected(mqtt_client *c, int timeout_ms)
{
	int ok;
	if (!c)
		return AM_EINVAL;
	pthread_mutex_lock(&c->lock);
	ok = wait_flag_locked(c, &c->connected,
			      clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0));
	pthread_mutex_unlock(&c->lock);
	return ok ? 0 : AM_ETIMEOUT;
}

/* ---- inbox ------------------------------------------------------------ */

int mqtt_fd(mqtt_client *c) { return c ? inbox_fd(c->in) : -1; }

int mqtt_dispatch(mqtt_client *c, mqtt_handler handler, void *ud, size_t max)
{
	int handled = 0;

	if (!c)
		return 0;
	inbox_take_wake(c->in);
	outq_pump(c->out);
	while (max == 0 || (size_t)handled < max) {
		in_msg *it = (in_msg *)inbox_pop(c->in);
		mqtt_message msg;
		if (!it)
			break;
		msg.topic = it->data;
		msg.payload = it->data + it->topic_len + 1;
		msg.len = it->len;
		msg.qos = it->qos;
		msg.retained = it->retained;
		msg.duplicate = it->duplicate;
		if (handler)
			handler(ud, &msg);
		free(it);
		if (handled < INT_MAX)
			handled++;
	}
	return handled;
}

int mqtt_poll(mqtt_client *c, int timeout_ms, mqtt_handler handler, void *ud)
{
	struct pollfd p;
	if (!c)
		return -1;
	p.fd = inbox_fd(c->in);
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
		return -1;
	return mqtt_dispatch(c, handler, ud, 0);
}

void mqtt_count_malformed(mqtt_client *c)
{
	if (c)
		metrics_add(c->s_malformed, 1);
}

const char *mqtt_root(const mqtt_client *c) { return c ? c->k.root : NULL; }

const char *mqtt_svc_prefix(const mqtt_client *c) { return c ? c->k.prefix : NULL; }

const char *mqtt_instance(const mqtt_client *c)
{
	const char *p = mqtt_svc_prefix(c), *slash = p ? strrchr(p, '/') : NULL;
	return slash ? slash + 1 : p;
}
