/* mqtt — anomesh's client over Paho MQTTAsync (MQTT v5).
 *
 * Design. Paho owns the network threads; this module only adds state that
 * those threads and the service loop share, under one mutex (c->lock):
 * the connection flag and generation, the subscription list, the inbox and
 * the outbound queue.
 * Rule that keeps it deadlock-free: no MQTTAsync_* call is ever made while
 * c->lock is held (Paho may call us back holding its own mutex, so the lock
 * order is always Paho -> ours, never the reverse).
 *
 * Reconnects are Paho's automaticReconnect (which, in 1.3.x, also retries
 * after a failed *first* connect: a service starts with the broker down);
 * the setConnected callback, run after every successful connect, publishes
 * the retained "online" status and re-subscribes every filter once per
 * connection (the generation counter stops mqtt_subscribe() and the
 * callback from both sending the same SUBSCRIBE). Offline buffering is the
 * outbound queue's (below); what max_buffered refuses is counted as
 * overflow_dropped.
 *
 * Inbox: messageArrived copies topic and payload into one allocation, links
 * it at the tail of a FIFO and makes the eventfd readable. When the FIFO
 * holds inbox_max messages the callback *waits* for the service loop to
 * take one (inbox_full counted): Paho's receive thread then stops reading
 * the socket, so TCP pushes back and the broker queues, and memory stays
 * bounded. Returning 0 instead ("Paho keeps it and retries") is not used:
 * Paho 1.3.12 has already acked the message by then, queues it without
 * bound and offers the queue's head again only once per later network event
 * on that connection, so a burst can stall there indefinitely.
 * Paho holds its (process-wide) mutex while it runs messageArrived, and
 * every Paho call needs that mutex: a thread about to call into Paho for any
 * of our clients announces itself (api_enter), and the waiting callback then
 * stops waiting and takes the message over the bound rather than deadlock. The wait is
 * also capped at half the keepalive so the connection never times out over it.
 *
 * Outbound flow control. Paho 1.3.12 honours the broker's Receive Maximum
 * (CONNACK; mosquitto announces its max_inflight_messages, default 20,
 * HiveMQ 10, EMQX 32) by leaving further QoS>0 publishes in its command
 * queue, but a PUBACK does not wake its send thread: only a new API call
 * does, or a 1 s timeout. Handing Paho a burst therefore drains it at about
 * Receive Maximum messages per second (measured: 200 QoS 1 publishes plus
 * mqtt_shutdown 9.0 s, 2000 took 90 s, against a default mosquitto). So this
 * module keeps its own FIFO of outbound messages (out_*, copies) and hands
 * Paho at most `window` QoS>0 publishes that are not yet complete
 * (paho_inflight): window = the broker's Receive Maximum from the first
 * CONNACK (connect onSuccess5; absent means 65535) minus a margin of 2 for
 * our own status publish and SUBSCRIBEs, which also count against it.
 * Measured: Paho calls the connect onSuccess5 for the first successful
 * connect only, never for automatic reconnects (nor for a first connect
 * that succeeds on a retry, broker down at start): then the last value is
 * kept, or MQTT_RECV_MAX_UNKNOWN (10, the lowest default among common
 * brokers) when none was ever seen. A publish handed to Paho carries
 * per-message onSuccess5/onFailure5; measured, exactly one of them runs for
 * every QoS>0 publish Paho accepted: onSuccess5 on PUBACK/PUBCOMP (receive
 * thread, after deliveryComplete), onFailure5 when Paho gives the message
 * up (MQTTASYNC_OPERATION_INCOMPLETE when its session is cleaned on a
 * disconnect or on a reconnect without session). Both decrement
 * paho_inflight. onSuccess5 then hands the next queued messages to Paho
 * itself: Paho documents every API call as usable from its callbacks (its
 * message-id code skips the process-wide mutex on its own threads), and
 * that API call is what wakes Paho's send thread. onFailure5 must not call
 * Paho: it runs while Paho walks its own lists to clean a session; it only
 * makes mqtt_fd() readable so that the service loop's mqtt_dispatch() pumps
 * the queue on its thread (on_connected pumps as well, after a reconnect).
 * A message Paho gave up is not queued again: messages in flight across a
 * disconnect are Paho's to resend (persistent session) or lost with the
 * session, never duplicated by us; the window bounds what is at stake.
 * One thread at a time hands queued messages to Paho (pumping flag), so
 * order is kept even with mqtt_publish() called from several threads; the
 * others just leave their message queued and the pumping thread loops until
 * nothing more may go. While disconnected nothing is handed to Paho (the
 * queue is the offline buffer, QoS 0 included); max_buffered bounds the
 * queue plus the QoS>0 publishes Paho holds (Paho's own maxBufferedMessages
 * stays as a backstop). While connected, QoS 0 publishes go straight to
 * Paho (no copy, no window) when the queue is empty; otherwise they queue
 * behind the rest so that a client's messages keep their order.
 * mqtt_shutdown() waits for the queue and for Paho's pending tokens.
 * Measured after (same test): 200 QoS 1 publishes plus mqtt_shutdown in
 * 62 ms, 2000 in 126 ms. The margin is a heuristic: when our status
 * publish and SUBSCRIBEs exceed it, Paho holds one of them back until our
 * next publish or its 1 s timeout; a broker announcing a lower Receive
 * Maximum on a later reconnect than on the first costs the same stalls. */
#include "mqtt.h"

#include "buf.h"
#include "clock.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MQTT_ROOT_MAX 128
#define MQTT_NAME_MAX 128 /* service, instance, client id */
#define MQTT_LEVEL_MAX 64 /* sensor and kind in mqtt_publish_sensor */
#define MQTT_PAYLOAD_MAX (256 * 1024 * 1024 - 1024) /* MQTT's own limit, roughly */
#define MQTT_STATUS_QOS 1
#define MQTT_RECV_MAX_UNKNOWN 10    /* broker's Receive Maximum not (yet) known */
#define MQTT_RECV_MAX_DEFAULT 65535 /* CONNACK without the property */
#define MQTT_WINDOW_MARGIN 2        /* status publish, SUBSCRIBEs */

typedef struct inbox_item {
	struct inbox_item *next;
	size_t topic_len;
	size_t len;
	int qos;
	int retained;
	int duplicate;
	char data[]; /* topic NUL payload NUL */
} inbox_item;

typedef struct out_item {
	struct out_item *next;
	size_t topic_len;
	size_t len;
	int qos;
	int retained;
	char data[]; /* topic NUL payload */
} out_item;

typedef struct sub_item {
	struct sub_item *next;
	char *filter;
	int qos;
	unsigned gen; /* connection generation it was last subscribed in */
} sub_item;

struct mqtt_client {
	MQTTAsync h;
	int have_handle;

	/* copies of the options (immutable after mqtt_new) */
	mqtt_options o;
	char *uri, *root, *service, *instance, *client_id, *username, *password;
	char *prefix;        /* {root}/_svc/{service}/{instance} */
	char *status_topic;  /* {prefix}/status */
	char *metrics_topic; /* {prefix}/metrics */
	char *will_payload;
	MQTTProperties connect_props;

	metrics *m;
	metrics_slot *s_in, *s_out, *s_malformed, *s_overflow, *s_inbox_full,
	    *s_reconnects, *s_connected, *s_queued, *s_failed;

	/* shared with Paho's threads, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* connection state changed, disconnect done */
	pthread_cond_t space; /* inbox popped, or a thread wants into Paho */
	int rx_waiting;       /* messageArrived waits on space */
	int connected;
	int ever_connected;
	unsigned gen;
	sub_item *subs, *subs_tail;
	inbox_item *in_head, *in_tail;
	size_t in_count;
	int disconnect_done;
	/* outbound flow control (top of file) */
	out_item *out_head, *out_tail;
	int out_count;
	int paho_inflight; /* our QoS>0 publishes in Paho, not complete */
	int window;        /* most paho_inflight allowed */
	int pumping;       /* a thread is handing queued messages to Paho */
	int pump_wake;     /* efd made readable for the queue, not the inbox */
	int sends_closed;  /* disconnecting or destroying: hand nothing more */

	_Atomic int connected_flag; /* lock-free read for mqtt_is_connected */
	_Atomic int stopping;
	_Atomic int status_pending; /* "online" refused by a full buffer: retry */
	int shutdown_rc;
	int efd;
	int64_t next_metrics_ms;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void mqtt_options_default(mqtt_options *o)
{
	memset(o, 0, sizeof(*o));
	o->keepalive_s = 20;
	o->persistent = 0;
	o->session_expiry_s = 7u * 24u * 3600u;
	o->max_buffered = 10000;
	o->inbox_max = 10000;
	o->metrics_interval_ms = 10000;
	o->reconnect_min_s = 1;
	o->reconnect_max_s = 30;
	o->connect_timeout_s = 10;
}

/* A topic level we build ourselves (root, service, instance, sensor, kind):
 * printable, no wildcard and, unless slash_ok, no '/'. */
static int level_ok(const char *s, size_t max, int slash_ok)
{
	size_t n = 0;
	if (!s || !*s)
		return 0;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= max || ch <= 0x20 || ch == 0x7f || ch == '+' || ch == '#' ||
		    (ch == '/' && !slash_ok))
			return 0;
	}
	return 1;
}

/* The contract's sensor id: [A-Za-z0-9._-]{1,64}. */
static int sensor_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++) {
		char ch = s[n];
		if (n >= MQTT_LEVEL_MAX ||
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return n > 0;
}

static char *dup_or_null(const char *s, int *fail)
{
	char *d;
	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = 1;
	return d;
}

static char *printf_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printf_dup(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* {"v":1,"service":..,"instance":..,"state":..[,"pid":..,"t":..]} into b. */
static int status_render(const mqtt_client *c, const char *state, int with_pid_t, buf *b)
{
	int rc = buf_adds(b, "{\"v\":1,\"service\":");
	if (!rc)
		rc = buf_add_json_str(b, c->service);
	if (!rc)
		rc = buf_adds(b, ",\"instance\":");
	if (!rc)
		rc = buf_add_json_str(b, c->instance);
	if (!rc)
		rc = buf_printf(b, ",\"state\":\"%s\"", state);
	if (!rc && with_pid_t)
		rc = buf_printf(b, ",\"pid\":%ld,\"t\":", (long)getpid());
	if (!rc && with_pid_t)
		rc = buf_add_json_num(b, clock_now());
	if (!rc)
		rc = buf_adds(b, "}");
	return rc;
}

/* Around every Paho call that may need Paho's client mutex: a messageArrived
 * waiting for inbox space (holding that mutex) gives up its wait. */
static _Atomic int api_waiters; /* threads in or entering a Paho call, any client */

static void api_enter(mqtt_client *c)
{
	atomic_fetch_add(&api_waiters, 1);
	pthread_mutex_lock(&c->lock);
	if (c->rx_waiting)
		pthread_cond_broadcast(&c->space);
	pthread_mutex_unlock(&c->lock);
}

static void api_leave(mqtt_client *c)
{
	(void)c;
	atomic_fetch_sub(&api_waiters, 1);
}

static void on_pub_ok(void *ctx, MQTTAsync_successData5 *r);
static void on_pub_fail(void *ctx, MQTTAsync_failureData5 *r);

/* MQTTAsync_sendMessage wrapper; returns the Paho code. track: a QoS>0
 * publish counted in paho_inflight, completed by on_pub_ok/on_pub_fail. */
static int send_msg(mqtt_client *c, const char *topic, const void *payload, size_t len,
		    int qos, int retained, int track)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retained;
	if (track) {
		ro.onSuccess5 = on_pub_ok;
		ro.onFailure5 = on_pub_fail;
		ro.context = c;
	}
	api_enter(c);
	rc = MQTTAsync_sendMessage(c->h, topic, &msg, &ro);
	api_leave(c);
	return rc;
}

static int send_raw(mqtt_client *c, const char *topic, const void *payload, size_t len,
		    int qos, int retained)
{
	return send_msg(c, topic, payload, len, qos, retained, 0);
}

/* ---- outbound queue (flow control, top of file) ------------------------- */

/* Paho refused for lack of room, not because of the message itself. */
static int paho_full(int rc)
{
	return rc == MQTTASYNC_MAX_BUFFERED_MESSAGES ||
	       rc == MQTTASYNC_MAX_MESSAGES_INFLIGHT || rc == MQTTASYNC_NO_MORE_MSGIDS;
}

/* The window for a broker Receive Maximum: leave room for our own status
 * publish and SUBSCRIBEs, which count against it too. */
static int window_for(long recv_max)
{
	if (recv_max > 2 * MQTT_WINDOW_MARGIN)
		return (int)(recv_max - MQTT_WINDOW_MARGIN);
	return recv_max > 1 ? (int)recv_max - 1 : 1;
}

/* May a message of this QoS go to Paho now? Not while disconnected, even
 * QoS 0: our queue is then the whole offline buffer, bounded by
 * max_buffered. Caller holds c->lock. */
static int may_send_locked(const mqtt_client *c, int qos)
{
	if (c->sends_closed || !c->connected)
		return 0;
	return qos == 0 || c->paho_inflight < c->window;
}

/* Make mqtt_fd() readable so that the loop pumps the queue (a callback
 * that may not call Paho itself). Caller holds c->lock. */
static void pump_request_locked(mqtt_client *c)
{
	if (!c->out_head || c->pump_wake)
		return;
	c->pump_wake = 1;
	if (c->in_count == 0) {
		uint64_t one = 1;
		ssize_t w = write(c->efd, &one, sizeof(one));
		(void)w; /* cannot fail: read back to 0 by mqtt_dispatch */
	}
}

/* Hand queued messages to Paho while the window allows, oldest first. Only
 * one thread does it at a time (order); a thread finding another at it
 * leaves: that one re-checks under the lock before it stops. Caller holds
 * c->lock and pumping is clear; returns with c->lock held. */
static void pump_locked(mqtt_client *c)
{
	c->pumping = 1;
	while (c->out_head && may_send_locked(c, c->out_head->qos)) {
		out_item *it = c->out_head;
		int rc;
		c->out_head = it->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_count--;
		metrics_set(c->s_queued, c->out_count);
		if (it->qos > 0)
			c->paho_inflight++;
		pthread_mutex_unlock(&c->lock);
		rc = send_msg(c, it->data, it->data + it->topic_len + 1, it->len, it->qos,
			      it->retained, it->qos > 0);
		pthread_mutex_lock(&c->lock);
		if (rc == MQTTASYNC_SUCCESS) {
			free(it);
			continue;
		}
		if (it->qos > 0)
			c->paho_inflight--;
		if (paho_full(rc)) {
			/* Paho's own buffer is full: keep it first, retry later */
			it->next = c->out_head;
			c->out_head = it;
			if (!c->out_tail)
				c->out_tail = it;
			c->out_count++;
			metrics_set(c->s_queued, c->out_count);
			break;
		}
		metrics_add(c->s_failed, 1); /* refused for good: not retried */
		free(it);
	}
	c->pumping = 0;
}

static void pump(mqtt_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (!c->pumping)
		pump_locked(c);
	pthread_mutex_unlock(&c->lock);
}

/* Receive thread, PUBACK/PUBCOMP: room in the window, fill it (Paho allows
 * API calls from its callbacks; the call also wakes its send thread). */
static void on_pub_ok(void *ctx, MQTTAsync_successData5 *r)
{
	mqtt_client *c = ctx;
	(void)r;
	pthread_mutex_lock(&c->lock);
	if (c->paho_inflight > 0)
		c->paho_inflight--;
	if (!c->pumping)
		pump_locked(c);
	pthread_mutex_unlock(&c->lock);
}

/* Paho gave the message up (session cleaned, error PUBACK...). It may be
 * walking its own lists now: no Paho call from here, the loop pumps. */
static void on_pub_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	mqtt_client *c = ctx;
	(void)r;
	pthread_mutex_lock(&c->lock);
	if (c->paho_inflight > 0)
		c->paho_inflight--;
	pump_request_locked(c);
	pthread_mutex_unlock(&c->lock);
}

/* Receive thread, first successful connect only (measured): the broker's
 * Receive Maximum sets the window. */
static void on_connect_ok(void *ctx, MQTTAsync_successData5 *r)
{
	mqtt_client *c = ctx;
	long rm = MQTT_RECV_MAX_DEFAULT;
	if (r && MQTTProperties_hasProperty(&r->properties,
					    MQTTPROPERTY_CODE_RECEIVE_MAXIMUM)) {
		rm = MQTTProperties_getNumericValue(&r->properties,
						    MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
		if (rm < 1 || rm > MQTT_RECV_MAX_DEFAULT)
			rm = MQTT_RECV_MAX_UNKNOWN; /* protocol error: be careful */
	}
	pthread_mutex_lock(&c->lock);
	c->window = window_for(rm);
	pthread_mutex_unlock(&c->lock);
}

/* Publish the retained "online" status; on a full buffer leave it pending
 * for the next delivery or dispatch to retry. */
static void status_publish_online(mqtt_client *c)
{
	buf b;
	int rc;

	if (atomic_load(&c->stopping))
		return;
	buf_init(&b, 2048);
	if (status_render(c, "online", 1, &b) != 0) {
		buf_cleanup(&b);
		return;
	}
	rc = send_raw(c, c->status_topic, b.data, b.len, MQTT_STATUS_QOS, 1);
	atomic_store(&c->status_pending, rc != MQTTASYNC_SUCCESS);
	buf_cleanup(&b);
}

static void status_retry(mqtt_client *c)
{
	if (atomic_load(&c->status_pending) && atomic_load(&c->connected_flag))
		status_publish_online(c);
}

/* ---- Paho callbacks (Paho's threads: only record and queue) ------------- */

static void on_connected(void *ctx, char *cause)
{
	mqtt_client *c = ctx;
	sub_item **todo = NULL;
	size_t n = 0, cap = 0;
	int again;
	(void)cause;

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

	status_publish_online(c);
	/* sub_items are never freed before mqtt_free(), so the pointers stay
	 * valid after the unlock; filter and qos never change. */
	for (size_t i = 0; i < n; i++) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		api_enter(c);
		MQTTAsync_subscribe(c->h, todo[i]->filter, todo[i]->qos, &ro);
		api_leave(c);
	}
	free(todo);
	pump(c); /* what queued up while disconnected */
}

static void mark_disconnected(mqtt_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->connected = 0;
	metrics_set(c->s_connected, 0);
	atomic_store(&c->connected_flag, 0);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void on_connection_lost(void *ctx, char *cause)
{
	(void)cause;
	mark_disconnected(ctx);
}

static void on_disconnected(void *ctx, MQTTProperties *props, enum MQTTReasonCodes rc)
{
	(void)props;
	(void)rc;
	mark_disconnected(ctx);
}

static void on_delivery(void *ctx, MQTTAsync_token tok)
{
	(void)tok;
	status_retry(ctx);
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	mqtt_client *c = ctx;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	inbox_item *it;

	/* A topic with an embedded NUL cannot be handed on as a C string. */
	if (topic_len > 0 && memchr(topic, '\0', tlen)) {
		metrics_add(c->s_malformed, 1);
		goto consumed;
	}
	it = malloc(sizeof(*it) + tlen + 1 + plen + 1);
	if (!it)
		return 0; /* Paho offers it again later */
	it->next = NULL;
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

	if (c->o.on_arrival) {
		/* before the PUBACK: Paho sends it when we return (mqtt.h) */
		mqtt_message mm = {.topic = it->data,
				   .payload = it->data + tlen + 1,
				   .len = plen,
				   .qos = it->qos,
				   .retained = it->retained,
				   .duplicate = it->duplicate};
		if (c->o.on_arrival(c->o.on_arrival_ud, &mm) == 0) {
			free(it);
			metrics_add(c->s_in, 1);
			goto consumed;
		}
	}

	pthread_mutex_lock(&c->lock);
	if (c->in_count >= c->o.inbox_max) {
		/* see the top of the file: wait, bounded, then take it anyway */
		int64_t deadline = clock_mono_ms() + (int64_t)c->o.keepalive_s * 500;
		metrics_add(c->s_inbox_full, 1);
		c->rx_waiting++;
		while (c->in_count >= c->o.inbox_max && !atomic_load(&api_waiters) &&
		       !atomic_load(&c->stopping) && clock_mono_ms() < deadline) {
			/* short slices: api_enter() on another client cannot
			 * signal this one's condition variable */
			int64_t until = clock_mono_ms() + 10;
			struct timespec ts;
			if (until > deadline)
				until = deadline;
			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&c->space, &c->lock, &ts);
		}
		c->rx_waiting--;
	}
	metrics_add(c->s_in, 1); /* before it can be dispatched */
	if (c->in_tail)
		c->in_tail->next = it;
	else
		c->in_head = it;
	c->in_tail = it;
	if (c->in_count++ == 0 && !c->pump_wake) {
		uint64_t one = 1;
		ssize_t w = write(c->efd, &one, sizeof(one));
		(void)w; /* cannot fail: the counter is read back to 0 when emptied */
	}
	pthread_mutex_unlock(&c->lock);
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

static int options_check(const mqtt_options *o, char *err, size_t errlen)
{
	if (!o || !o->uri || !*o->uri) {
		set_err(err, errlen, "mqtt: broker uri required");
		return AM_EINVAL;
	}
	if (!level_ok(o->root, MQTT_ROOT_MAX, 1) || o->root[0] == '/' ||
	    o->root[0] == '$') {
		set_err(err, errlen, "mqtt: bad topic root '%s'",
			o->root ? o->root : "(null)");
		return AM_EINVAL;
	}
	if (!level_ok(o->service, MQTT_NAME_MAX, 0)) {
		set_err(err, errlen, "mqtt: bad service name");
		return AM_EINVAL;
	}
	if (o->instance && !level_ok(o->instance, MQTT_NAME_MAX, 0)) {
		set_err(err, errlen, "mqtt: bad instance name '%s'", o->instance);
		return AM_EINVAL;
	}
	if (o->client_id &&
	    (!*o->client_id || strlen(o->client_id) > MQTT_NAME_MAX * 2)) {
		set_err(err, errlen, "mqtt: bad client id");
		return AM_EINVAL;
	}
	if (o->keepalive_s < 1 || o->max_buffered < 1 || o->inbox_max < 1 ||
	    o->metrics_interval_ms < 0 || o->reconnect_min_s < 1 ||
	    o->reconnect_max_s < o->reconnect_min_s || o->connect_timeout_s < 1) {
		set_err(
		    err, errlen,
		    "mqtt: option out of range (keepalive %d, max_buffered %d, inbox_max "
		    "%zu, "
		    "metrics_interval_ms %d, reconnect %d..%d s, connect_timeout %d s)",
		    o->keepalive_s, o->max_buffered, o->inbox_max, o->metrics_interval_ms,
		    o->reconnect_min_s, o->reconnect_max_s, o->connect_timeout_s);
		return AM_EINVAL;
	}
	if (o->persistent && o->session_expiry_s == 0) {
		set_err(err, errlen,
			"mqtt: persistent session needs session_expiry_s > 0");
		return AM_EINVAL;
	}
	return 0;
}

static int copy_options(mqtt_client *c, const mqtt_options *o)
{
	int fail = 0;
	char host[256];

	c->o = *o;
	c->uri = dup_or_null(o->uri, &fail);
	c->root = dup_or_null(o->root, &fail);
	c->service = dup_or_null(o->service, &fail);
	c->username = dup_or_null(o->username, &fail);
	c->password = dup_or_null(o->password, &fail);
	if (o->instance) {
		c->instance = dup_or_null(o->instance, &fail);
	} else {
		/* Hostnames are [A-Za-z0-9.-]; anything else becomes '_'. */
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "host");
		host[sizeof(host) - 1] = '\0';
		for (char *p = host; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789.-",
				    *p))
				*p = '_';
		if (!host[0])
			snprintf(host, sizeof(host), "host");
		c->instance = printf_dup("%.64s-%ld", host, (long)getpid());
		fail |= !c->instance;
	}
	if (fail)
		return AM_ENOMEM;
	c->client_id = o->client_id ? strdup(o->client_id)
				    : printf_dup("%s-%s", c->service, c->instance);
	c->prefix = printf_dup("%s/_svc/%s/%s", c->root, c->service, c->instance);
	if (!c->client_id || !c->prefix)
		return AM_ENOMEM;
	c->status_topic = printf_dup("%s/status", c->prefix);
	c->metrics_topic = printf_dup("%s/metrics", c->prefix);
	if (!c->status_topic || !c->metrics_topic)
		return AM_ENOMEM;
	/* the copies own these now; keep o's pointers out of reach */
	c->o.uri = c->uri;
	c->o.root = c->root;
	c->o.service = c->service;
	c->o.instance = c->instance;
	c->o.client_id = c->client_id;
	c->o.username = c->username;
	c->o.password = c->password;
	return 0;
}

static void client_release(mqtt_client *c)
{
	inbox_item *it, *itn;
	out_item *o, *on;
	sub_item *s, *sn;

	pthread_mutex_lock(&c->lock);
	c->sends_closed = 1; /* callbacks run by MQTTAsync_destroy hand nothing */
	pthread_mutex_unlock(&c->lock);
	if (c->have_handle) {
		api_enter(c);
		MQTTAsync_destroy(&c->h);
		api_leave(c);
	}
	for (it = c->in_head; it; it = itn) {
		itn = it->next;
		free(it);
	}
	for (o = c->out_head; o; o = on) {
		on = o->next;
		free(o);
	}
	for (s = c->subs; s; s = sn) {
		sn = s->next;
		free(s->filter);
		free(s);
	}
	MQTTProperties_free(&c->connect_props);
	if (c->efd >= 0)
		close(c->efd);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->space);
	pthread_mutex_destroy(&c->lock);
	free(c->uri);
	free(c->root);
	free(c->service);
	free(c->instance);
	free(c->client_id);
	free(c->username);
	free(c->password);
	free(c->prefix);
	free(c->status_topic);
	free(c->metrics_topic);
	free(c->will_payload);
	free(c);
}

mqtt_client *mqtt_new(const mqtt_options *o, metrics *m, char *err, size_t errlen)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	MQTTAsync_connectOptions cn = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTProperties empty = MQTTProperties_initializer;
	pthread_condattr_t ca;
	mqtt_client *c;
	buf b;
	int rc;

	if (options_check(o, err, errlen) != 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, errlen, "mqtt: out of memory");
		return NULL;
	}
	c->efd = -1;
	c->window = window_for(MQTT_RECV_MAX_UNKNOWN);
	c->connect_props = empty;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_cond_init(&c->space, &ca);
	pthread_condattr_destroy(&ca);

	if (copy_options(c, o) != 0) {
		set_err(err, errlen, "mqtt: out of memory");
		goto fail;
	}
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		set_err(err, errlen, "mqtt: eventfd: %s", strerror(errno));
		goto fail;
	}
	c->m = m;
	c->s_in = metrics_get(m, "msgs_in");
	c->s_out = metrics_get(m, "msgs_out");
	c->s_malformed = metrics_get(m, "malformed_dropped");
	c->s_overflow = metrics_get(m, "overflow_dropped");
	c->s_inbox_full = metrics_get(m, "inbox_full");
	c->s_reconnects = metrics_get(m, "reconnects");
	c->s_connected = metrics_get(m, "connected");
	c->s_queued = metrics_get(m, "outbound_queued");
	c->s_failed = metrics_get(m, "publish_failed");
	metrics_set(c->s_connected, 0);
	metrics_set(c->s_queued, 0);
	if (c->o.metrics_interval_ms > 0)
		c->next_metrics_ms = clock_mono_ms() + c->o.metrics_interval_ms;

	buf_init(&b, 2048);
	if (status_render(c, "offline", 0, &b) != 0 ||
	    !(c->will_payload = strdup(b.data))) {
		buf_cleanup(&b);
		set_err(err, errlen, "mqtt: out of memory");
		goto fail;
	}
	buf_cleanup(&b);

	co.sendWhileDisconnected = 1;
	co.allowDisconnectedSendAtAnyTime = 1;
	co.maxBufferedMessages = c->o.max_buffered;
	co.deleteOldestMessages = 0;
	co.MQTTVersion = MQTTVERSION_5;
	rc = MQTTAsync_createWithOptions(&c->h, c->uri, c->client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (rc != MQTTASYNC_SUCCESS) {
		set_err(err, errlen, "mqtt: cannot create client for '%s': %s", c->uri,
			MQTTAsync_strerror(rc));
		goto fail;
	}
	c->have_handle = 1;
	if (MQTTAsync_setCallbacks(c->h, c, on_connection_lost, on_message,
				   on_delivery) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setConnected(c->h, c, on_connected) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setDisconnected(c->h, c, on_disconnected) != MQTTASYNC_SUCCESS) {
		set_err(err, errlen, "mqtt: cannot set callbacks");
		goto fail;
	}

	will.topicName = c->status_topic;
	will.message = c->will_payload;
	will.retained = 1;
	will.qos = MQTT_STATUS_QOS;
	cn.keepAliveInterval = c->o.keepalive_s;
	cn.cleanstart = !c->o.persistent;
	cn.will = &will;
	cn.username = c->username;
	cn.password = c->password;
	cn.connectTimeout = c->o.connect_timeout_s;
	cn.automaticReconnect = 1;
	cn.minRetryInterval = c->o.reconnect_min_s;
	cn.maxRetryInterval = c->o.reconnect_max_s;
	cn.MQTTVersion = MQTTVERSION_5;
	if (c->o.persistent) {
		MQTTProperty p;
		memset(&p, 0, sizeof(p));
		p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		p.value.integer4 = c->o.session_expiry_s;
		if (MQTTProperties_add(&c->connect_props, &p) != 0) {
			set_err(err, errlen, "mqtt: cannot set session expiry");
			goto fail;
		}
		cn.connectProperties = &c->connect_props;
	}
	/* onSuccess5 only learns the broker's Receive Maximum (first connect
	 * only, see the top of the file): the connected callback covers every
	 * connect, and a failed first attempt is retried by Paho's automatic
	 * reconnect. */
	cn.onSuccess5 = on_connect_ok;
	cn.context = c;
	rc = MQTTAsync_connect(c->h, &cn);
	if (rc != MQTTASYNC_SUCCESS) {
		set_err(err, errlen, "mqtt: cannot start connecting to '%s': %s", c->uri,
			MQTTAsync_strerror(rc));
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
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->space);
	pthread_mutex_unlock(&c->lock);
	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline = clock_mono_ms() + timeout_ms;

	if (atomic_load(&c->connected_flag)) {
		buf b;
		buf_init(&b, 2048);
		if (status_render(c, "offline", 1, &b) == 0)
			send_raw(c, c->status_topic, b.data, b.len, MQTT_STATUS_QOS, 1);
		buf_cleanup(&b);
	}
	/* Paho offers no "all delivered" wait: poll its pending tokens, and
	 * our queue (pumped here too, in case nothing else does). */
	for (;;) {
		int n = pending_count(c), q;
		pthread_mutex_lock(&c->lock);
		if (!c->pumping)
			pump_locked(c);
		q = c->out_count;
		pthread_mutex_unlock(&c->lock);
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
	pthread_mutex_lock(&c->lock);
	c->sends_closed = 1; /* what is still queued stays there, freed later */
	pthread_mutex_unlock(&c->lock);
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

/* Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code
 * points above U+10FFFF), as MQTT requires of topic names: checked here
 * because a queued message can no longer report Paho's refusal. */
static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		int n;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1fu;
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0fu;
			n = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07u;
			n = 3;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3fu);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Paho's answer to a publish handed over directly, as an AM_E* code. */
static int publish_rc(mqtt_client *c, int rc)
{
	switch (rc) {
	case MQTTASYNC_SUCCESS:
		metrics_add(c->s_out, 1);
		return 0;
	case MQTTASYNC_MAX_BUFFERED_MESSAGES:
	case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
	case MQTTASYNC_NO_MORE_MSGIDS:
		metrics_add(c->s_overflow, 1);
		return AM_EOVERFLOW;
	case MQTTASYNC_BAD_UTF8_STRING:
	case MQTTASYNC_BAD_QOS:
	case MQTTASYNC_NULL_PARAMETER:
		return AM_EINVAL;
	default:
		return AM_EBROKER;
	}
}

int mqtt_publish(mqtt_client *c, const char *topic, const void *payload, size_t len,
		 int qos, int retained)
{
	size_t tlen;
	out_item *it;
	int rc;

	if (!c || !topic || !*topic || strpbrk(topic, "+#") || qos < 0 || qos > 2 ||
	    (len && !payload) || len > MQTT_PAYLOAD_MAX || !utf8_ok(topic))
		return AM_EINVAL;
	tlen = strlen(topic);
	if (tlen > 65535)
		return AM_EINVAL;
	if (atomic_load(&c->stopping))
		return AM_ESTOPPED;
	retained = retained ? 1 : 0;

	pthread_mutex_lock(&c->lock);
	if (c->out_count + c->paho_inflight >= c->o.max_buffered) {
		pthread_mutex_unlock(&c->lock);
		metrics_add(c->s_overflow, 1);
		return AM_EOVERFLOW;
	}
	if (!c->out_head && !c->pumping && may_send_locked(c, qos)) {
		/* nothing ahead of it: straight to Paho, no copy */
		c->pumping = 1;
		if (qos > 0)
			c->paho_inflight++;
		pthread_mutex_unlock(&c->lock);
		rc = send_msg(c, topic, len ? payload : "", len, qos, retained, qos > 0);
		pthread_mutex_lock(&c->lock);
		if (rc != MQTTASYNC_SUCCESS && qos > 0)
			c->paho_inflight--;
		c->pumping = 0;
		pump_locked(c); /* what others queued meanwhile */
		pthread_mutex_unlock(&c->lock);
		return publish_rc(c, rc);
	}
	pthread_mutex_unlock(&c->lock);

	it = malloc(sizeof(*it) + tlen + 1 + len);
	if (!it)
		return AM_ENOMEM;
	it->next = NULL;
	it->topic_len = tlen;
	it->len = len;
	it->qos = qos;
	it->retained = retained;
	memcpy(it->data, topic, tlen + 1);
	if (len)
		memcpy(it->data + tlen + 1, payload, len);

	pthread_mutex_lock(&c->lock);
	if (c->out_count + c->paho_inflight >= c->o.max_buffered) {
		pthread_mutex_unlock(&c->lock); /* filled up meanwhile */
		free(it);
		metrics_add(c->s_overflow, 1);
		return AM_EOVERFLOW;
	}
	if (c->out_tail)
		c->out_tail->next = it;
	else
		c->out_head = it;
	c->out_tail = it;
	c->out_count++;
	metrics_set(c->s_queued, c->out_count);
	metrics_add(c->s_out, 1);
	if (!c->pumping)
		pump_locked(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int mqtt_publish_sensor(mqtt_client *c, const char *sensor, const char *kind,
			const void *payload, size_t len, int qos, int retained)
{
	char topic[MQTT_ROOT_MAX + 2 * MQTT_LEVEL_MAX + 8];

	if (!c || !sensor_ok(sensor) || !sensor_ok(kind))
		return AM_EINVAL;
	snprintf(topic, sizeof(topic), "%s/%s/%s", c->root, sensor, kind);
	return mqtt_publish(c, topic, payload, len, qos, retained);
}

/* ---- connection state ------------------------------------------------- */

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

int mqtt_fd(mqtt_client *c) { return c ? c->efd : -1; }

static inbox_item *inbox_pop(mqtt_client *c)
{
	inbox_item *it;
	pthread_mutex_lock(&c->lock);
	it = c->in_head;
	if (it) {
		c->in_head = it->next;
		if (!c->in_head)
			c->in_tail = NULL;
		if (--c->in_count == 0 && !c->pump_wake) {
			uint64_t v;
			ssize_t r =
			    read(c->efd, &v, sizeof(v)); /* unreadable until next push */
			(void)r;
		}
		if (c->rx_waiting)
			pthread_cond_broadcast(&c->space);
	}
	pthread_mutex_unlock(&c->lock);
	return it;
}

int mqtt_dispatch(mqtt_client *c, mqtt_handler handler, void *ud, size_t max)
{
	int handled = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (c->pump_wake) {
		c->pump_wake = 0;
		if (c->in_count == 0) {
			uint64_t v;
			ssize_t r = read(c->efd, &v, sizeof(v));
			(void)r;
		}
	}
	if (!c->pumping)
		pump_locked(c);
	pthread_mutex_unlock(&c->lock);
	while (max == 0 || (size_t)handled < max) {
		inbox_item *it = inbox_pop(c);
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
	status_retry(c);
	if (c->o.metrics_interval_ms > 0 && !atomic_load(&c->stopping)) {
		int64_t now = clock_mono_ms();
		if (now >= c->next_metrics_ms) {
			c->next_metrics_ms = now + c->o.metrics_interval_ms;
			/* stale figures are not worth offline buffer space */
			if (atomic_load(&c->connected_flag))
				mqtt_publish_metrics(c);
		}
	}
	return handled;
}

int mqtt_poll(mqtt_client *c, int timeout_ms, mqtt_handler handler, void *ud)
{
	struct pollfd p;
	if (!c)
		return -1;
	p.fd = c->efd;
	p.events = POLLIN;
	p.revents = 0;
	if (c->o.metrics_interval_ms > 0) {
		int64_t due = c->next_metrics_ms - clock_mono_ms();
		if (due < 0)
			due = 0;
		if (timeout_ms < 0 || due < timeout_ms)
			timeout_ms = (int)due;
	}
	if (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
		return -1;
	return mqtt_dispatch(c, handler, ud, 0);
}

/* ---- metrics ---------------------------------------------------------- */

int mqtt_publish_metrics(mqtt_client *c)
{
	buf b;
	int rc;

	if (!c || !c->m)
		return AM_EINVAL;
	if (atomic_load(&c->stopping))
		return AM_ESTOPPED;
	buf_init(&b, 16384);
	rc = metrics_render(c->m, &b);
	/* metrics_render ends with '}': reopen the object to add "t". */
	if (!rc && b.len >= 2 && b.data[b.len - 1] == '}') {
		b.len--;
		b.data[b.len] = '\0';
		rc = buf_adds(&b, b.len > 1 ? ",\"t\":" : "\"t\":");
		if (!rc)
			rc = buf_add_json_num(&b, clock_now());
		if (!rc)
			rc = buf_adds(&b, "}");
	} else if (!rc) {
		rc = -1;
	}
	if (rc) {
		buf_cleanup(&b);
		return AM_ENOMEM;
	}
	rc = send_raw(c, c->metrics_topic, b.data, b.len, 0, 0);
	buf_cleanup(&b);
	if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES)
		return AM_EOVERFLOW;
	return rc == MQTTASYNC_SUCCESS ? 0 : AM_EBROKER;
}

void mqtt_count_malformed(mqtt_client *c)
{
	if (c)
		metrics_add(c->s_malformed, 1);
}

const char *mqtt_root(const mqtt_client *c) { return c ? c->root : NULL; }

const char *mqtt_svc_prefix(const mqtt_client *c) { return c ? c->prefix : NULL; }
