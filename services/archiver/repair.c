/* repair — the archiver's requests for missing messages (see repair.h).
 * A request is sent before its gap is marked as asked for: a crash in
 * between only means asking twice, and ingest-bt merges requests for the
 * same run. */
#include "repair.h"

#include "clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPAIR_LOG_MS 10000

int repair_init(repair *rp, const repair_options *o, store *st, metrics *m, char *err,
		size_t errlen)
{
	memset(rp, 0, sizeof(*rp));
	if (!o || !st || o->grace_s < 0 || !(o->retry_s > 0) ||
	    o->retry_max_s < o->retry_s || !(o->max_age_s > 0)) {
		snprintf(err, errlen, "repair: bad options");
		return AM_EINVAL;
	}
	rp->o = *o;
	if (rp->o.interval_ms <= 0)
		rp->o.interval_ms = 1000;
	if (rp->o.batch == 0)
		rp->o.batch = 256;
	rp->st = st;
	rp->due = calloc(rp->o.batch, sizeof(*rp->due));
	rp->again = calloc(rp->o.batch, sizeof(*rp->again));
	if (!rp->due || !rp->again) {
		repair_cleanup(rp);
		snprintf(err, errlen, "repair: out of memory");
		return AM_ENOMEM;
	}
	rp->m.requests = metrics_get(m, "repair_requests");
	rp->m.lost = metrics_get(m, "gaps_lost");
	rp->m.open = metrics_get(m, "gaps_open");
	return 0;
}

void repair_attach(repair *rp, mqtt_client *mq) { rp->mq = mq; }

void repair_cleanup(repair *rp)
{
	if (!rp)
		return;
	free(rp->due);
	free(rp->again);
	rp->due = NULL;
	rp->again = NULL;
}

/* The wait before asking again after `requests` requests. */
static double repair__backoff(const repair *rp, int64_t requests)
{
	double w = rp->o.retry_s * ldexp(1, requests > 30 ? 30 : (int)requests);
	return w < rp->o.retry_max_s ? w : rp->o.retry_max_s;
}

/* Ask for the due gaps; returns how many requests went out. */
static size_t repair__ask(repair *rp, double now)
{
	char json[MSG_SVC_MAX_PAYLOAD], err[256];
	size_t n = 0, sent = 0, len;

	if (store_gaps_due(rp->st, now, rp->o.grace_s, rp->due, rp->o.batch, &n, err,
			   sizeof(err))) {
		log_every_msg(&rp->le, REPAIR_LOG_MS, LOG_LVL_ERROR, "repair: %s", err);
		return 0;
	}
	for (; sent < n; sent++) {
		const store_gap *g = &rp->due[sent];
		msg_repair q;
		memset(&q, 0, sizeof(q));
		snprintf(q.sensor, sizeof(q.sensor), "%s", g->sensor);
		snprintf(q.run, sizeof(q.run), "%s", g->run);
		q.seq_from = (uint64_t)g->seq_from;
		q.seq_to = (uint64_t)g->seq_to;
		if (msg_repair_encode(&q, json, sizeof(json), &len, err, sizeof(err)) ||
		    mqtt_publish_sensor(rp->mq, g->sensor, "repair", json, len, 1, 0))
			break; /* the client's buffer is full: the rest next time */
		rp->again[sent] = now + repair__backoff(rp, g->requests);
	}
	if (store_gaps_requested(rp->st, rp->due, rp->again, sent, err, sizeof(err)))
		log_every_msg(&rp->le, REPAIR_LOG_MS, LOG_LVL_ERROR, "repair: %s", err);
	metrics_add(rp->m.requests, (int64_t)sent);
	return sent;
}

int repair_step(repair *rp, int64_t now_ms)
{
	double now = clock_now();
	int64_t lost = 0;
	char err[256];

	if (now_ms < rp->next_ms)
		return (int)(rp->next_ms - now_ms);
	rp->next_ms = now_ms + rp->o.interval_ms;
	if (store_gaps_expire(rp->st, now - rp->o.max_age_s, now, &lost, err,
			      sizeof(err)))
		log_every_msg(&rp->le, REPAIR_LOG_MS, LOG_LVL_ERROR, "repair: %s", err);
	if (lost > 0) {
		metrics_add(rp->m.lost, lost);
		log_warn("%lld missing messages given up for good: not repaired within "
			 "%.0f s (see the gaps table)",
			 (long long)lost, rp->o.max_age_s);
	}
	/* a full batch: there are more, look again soon */
	if (rp->mq && mqtt_is_connected(rp->mq) && repair__ask(rp, now) == rp->o.batch)
		rp->next_ms = now_ms + rp->o.interval_ms / 10;
	metrics_set(rp->m.open, store_gaps_open(rp->st));
	return (int)(rp->next_ms - now_ms);
}
