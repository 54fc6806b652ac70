/* resend — republishing from the journal on request, and the beacons
 * (see resend.h). The queue is a keyed table of (sensor, run) entries,
 * each the range still to send, and a FIFO through them: the first entry
 * sends up to RS_TURN messages and goes to the back if it has more, so
 * one long repair does not hold the others up. */
#include "resend.h"

#include "clock.h"
#include "log.h"
#include "table.h"
#include "topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_TURN 16          /* messages an entry sends before the next */
#define RS_QUEUE_POLL_MS 20 /* the client's queue was full: look again */
#define RS_LOG_MS 10000
#define RS_KEY_MAX (MSG_SENSOR_MAX + MSG_RUN_MAX + 2)

typedef struct rs_entry {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	uint64_t next, to; /* still to send: next..to (seqs stay below 2^53) */
	struct rs_entry *after;
} rs_entry;

struct resend {
	resend_options o;
	journal *jr;
	mqtt_client *mq;
	table pending; /* "sensor\x1frun" -> rs_entry */
	rs_entry *head, *tail;
	int64_t waiting; /* messages in the queue */
	double tokens;
	int64_t tokens_ms, next_beacon_ms, queue_full_ms;
	msg_raw m;
	char *json;
	size_t json_cap;
	metrics_slot *outq;
	struct {
		metrics_slot *requests, *malformed, *dropped, *replayed, *missing,
		    *beacons, *queued;
	} c;
	log_every le_bad, le_err;
};

static void rs__key(char *key, const char *sensor, const char *run)
{
	snprintf(key, RS_KEY_MAX, "%s\x1f%s", sensor, run);
}

int resend_new(resend **out, const resend_options *o, journal *jr, mqtt_client *mq,
	       metrics *m, char *err, size_t errlen)
{
	resend *r;
	*out = NULL;
	if (!o || !(o->rate > 0) || o->beacon_ms < 0 || o->max_queued < 1 || !jr || !mq) {
		snprintf(err, errlen, "resend: bad options");
		return AM_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "resend: out of memory");
		return AM_ENOMEM;
	}
	r->o = *o;
	if (!r->o.max_pending)
		r->o.max_pending = 4096;
	r->jr = jr;
	r->mq = mq;
	table_init(&r->pending);
	msg_raw_init(&r->m);
	r->tokens = 1;
	r->tokens_ms = clock_mono_ms();
	r->next_beacon_ms = r->tokens_ms; /* at start: where the last runs ended */
	r->outq = metrics_get(m, "outbound_queued");
	r->c.requests = metrics_get(m, "repair_requests");
	r->c.malformed = metrics_get(m, "repair_malformed");
	r->c.dropped = metrics_get(m, "repair_dropped");
	r->c.replayed = metrics_get(m, "replayed");
	r->c.missing = metrics_get(m, "replay_missing");
	r->c.beacons = metrics_get(m, "beacons");
	r->c.queued = metrics_get(m, "replay_queued");
	*out = r;
	return 0;
}

void resend_free(resend *r)
{
	if (!r)
		return;
	table_cleanup(&r->pending, free);
	msg_raw_cleanup(&r->m);
	free(r->json);
	free(r);
}

/* Queue next..to of (sensor, run), merged with what is queued for it. */
static int rs__queue(resend *r, const char *sensor, const char *run, uint64_t next,
		     uint64_t to)
{
	char key[RS_KEY_MAX];
	rs_entry *e;

	rs__key(key, sensor, run);
	e = table_get(&r->pending, key);
	if (e) {
		uint64_t had = e->to - e->next + 1;
		if (next < e->next)
			e->next = next;
		if (to > e->to)
			e->to = to;
		r->waiting += (int64_t)(e->to - e->next + 1 - had);
		return 0;
	}
	if (table_count(&r->pending) >= r->o.max_pending)
		return AM_EOVERFLOW;
	e = calloc(1, sizeof(*e));
	if (!e || table_put(&r->pending, key, e)) {
		free(e);
		return AM_ENOMEM;
	}
	snprintf(e->sensor, sizeof(e->sensor), "%s", sensor);
	snprintf(e->run, sizeof(e->run), "%s", run);
	e->next = next;
	e->to = to;
	if (r->tail)
		r->tail->after = e;
	else
		r->head = e;
	r->tail = e;
	r->waiting += (int64_t)(to - next + 1);
	return 0;
}

int resend_request(resend *r, const msg_repair *q)
{
	uint64_t first, last, from = q->seq_from, to = q->seq_to;
	int rc;

	metrics_add(r->c.requests, 1);
	if (!journal_range(r->jr, q->sensor, q->run, &first, &last) || to < first ||
	    from > last) {
		metrics_add(r->c.missing, (int64_t)(to - from + 1));
		return 0;
	}
	/* what the journal no longer (or never) held cannot be had */
	if (from < first) {
		metrics_add(r->c.missing, (int64_t)(first - from));
		from = first;
	}
	if (to > last) {
		metrics_add(r->c.missing, (int64_t)(to - last));
		to = last;
	}
	rc = rs__queue(r, q->sensor, q->run, from, to);
	if (rc)
		metrics_add(r->c.dropped, 1);
	metrics_set(r->c.queued, r->waiting);
	return rc;
}

static void rs__bad(resend *r, const char *topic, const char *why)
{
	metrics_add(r->c.malformed, 1);
	mqtt_count_malformed(r->mq);
	log_every_msg(&r->le_bad, RS_LOG_MS, LOG_LVL_WARN,
		      "repair request on %s dropped: %s (more are counted in "
		      "repair_malformed)",
		      topic, why);
}

int resend_on_message(void *ud, const mqtt_message *msg)
{
	resend *r = ud;
	topic_ref t;
	msg_repair q;
	char err[MSG_ERR_MAX];

	if (topic_parse(msg->topic, mqtt_root(r->mq), &t) != TOPIC_REPAIR) {
		rs__bad(r, msg->topic, "not a repair topic");
		return 0;
	}
	if (msg_repair_decode(msg->payload, msg->len, &q, err, sizeof(err))) {
		rs__bad(r, msg->topic, err);
		return 0;
	}
	if (strcmp(q.sensor, t.sensor)) {
		rs__bad(r, msg->topic, "sensor differs from the topic's");
		return 0;
	}
	if (resend_request(r, &q) == AM_EOVERFLOW)
		log_every_msg(&r->le_err, RS_LOG_MS, LOG_LVL_WARN,
			      "repair of %s/%s dropped: %zu runs already queued",
			      q.sensor, q.run, r->o.max_pending);
	return 0;
}

/* Every (sensor, run) whose newest record is beacon_ms old: its last
 * message, queued as a beacon. */
static void rs__beacons(resend *r)
{
	double before = clock_now() - (double)r->o.beacon_ms / 1000;
	journal_run jr;
	size_t it = 0;
	while (journal_next_run(r->jr, &it, &jr))
		if (jr.last_t < before &&
		    !rs__queue(r, jr.sensor, jr.run, jr.last, jr.last))
			metrics_add(r->c.beacons, 1);
}

/* Publish seq of the entry's (sensor, run), marked as a replay. Returns 0
 * (sent, or not held: counted), or AM_EOVERFLOW when the client refused
 * it for lack of room (try again later). */
static int rs__send(resend *r, const rs_entry *e, uint64_t seq)
{
	char err[256];
	size_t need, len;
	int rc = journal_get(r->jr, e->sensor, e->run, seq, &r->m, err, sizeof(err));

	if (rc <= 0) {
		if (rc < 0)
			log_every_msg(&r->le_err, RS_LOG_MS, LOG_LVL_WARN, "%s", err);
		metrics_add(r->c.missing, 1);
		return 0;
	}
	r->m.replay = 1;
	need = 1024 + r->m.n_samples * (r->m.n_channels * 18 + 4) +
	       r->m.n_channels * (MSG_CHANNEL_MAX + 4);
	if (need > r->json_cap) {
		char *p = realloc(r->json, need);
		if (!p) {
			metrics_add(r->c.missing, 1);
			return 0;
		}
		r->json = p;
		r->json_cap = need;
	}
	if (msg_raw_encode(&r->m, r->json, r->json_cap, &len, err, sizeof(err))) {
		log_every_msg(&r->le_err, RS_LOG_MS, LOG_LVL_WARN, "%s/%s seq %llu: %s",
			      e->sensor, e->run, (unsigned long long)seq, err);
		metrics_add(r->c.missing, 1);
		return 0;
	}
	rc = mqtt_publish_sensor(r->mq, e->sensor, "raw", r->json, len, 1, 0);
	if (rc == AM_EOVERFLOW)
		return rc;
	if (rc) {
		log_every_msg(&r->le_err, RS_LOG_MS, LOG_LVL_WARN,
			      "republishing %s/%s seq %llu: %s", e->sensor, e->run,
			      (unsigned long long)seq, am_strerror(rc));
		metrics_add(r->c.missing, 1);
		return 0;
	}
	metrics_add(r->c.replayed, 1);
	return 0;
}

/* The head entry is done: out of the queue and the table. */
static void rs__pop(resend *r)
{
	char key[RS_KEY_MAX];
	rs_entry *e = r->head;
	r->head = e->after;
	if (!r->head)
		r->tail = NULL;
	rs__key(key, e->sensor, e->run);
	table_del(&r->pending, key);
	free(e);
}

void resend_step(resend *r, int64_t now_ms)
{
	if (r->o.beacon_ms > 0 && now_ms >= r->next_beacon_ms) {
		rs__beacons(r);
		r->next_beacon_ms = now_ms + r->o.beacon_ms;
	}
	r->tokens += (double)(now_ms - r->tokens_ms) * r->o.rate / 1000;
	if (r->tokens > r->o.rate / 10 + 1)
		r->tokens = r->o.rate / 10 + 1; /* bursts of 100 ms at most */
	r->tokens_ms = now_ms;
	r->queue_full_ms = 0;
	while (r->head && r->tokens >= 1) {
		rs_entry *e = r->head;
		for (int k = 0; k < RS_TURN && e->next <= e->to && r->tokens >= 1; k++) {
			if (metrics_read(r->outq) >= r->o.max_queued ||
			    rs__send(r, e, e->next) == AM_EOVERFLOW) {
				r->queue_full_ms = now_ms + RS_QUEUE_POLL_MS;
				goto out;
			}
			r->tokens -= 1;
			r->waiting--;
			e->next++;
		}
		if (e->next > e->to) {
			rs__pop(r);
		} else if (r->head != r->tail) {
			r->head = e->after;
			e->after = NULL;
			r->tail->after = e;
			r->tail = e;
		}
	}
out:
	metrics_set(r->c.queued, r->waiting);
}

int64_t resend_deadline(const resend *r)
{
	int64_t d = r->o.beacon_ms > 0 ? r->next_beacon_ms : INT64_MAX;
	int64_t t;
	if (!r->head)
		return d;
	if (r->queue_full_ms)
		t = r->queue_full_ms;
	else if (r->tokens >= 1)
		t = r->tokens_ms;
	else
		t = r->tokens_ms + (int64_t)((1 - r->tokens) * 1000 / r->o.rate) + 1;
	return t < d ? t : d;
}
