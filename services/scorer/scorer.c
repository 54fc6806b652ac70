/* scorer — the service core (see scorer.h): routing of raw and membership
 * messages, the sensor table, batching per model and publishing.
 *
 * Design notes.
 *  - A sensor this scorer does not own costs a lookup in the sensor table
 *    (common/table.h) and nothing more: its payload is not even parsed.
 *    Ownership is cached per sensor with the partition epoch and
 *    recomputed when membership changes; a sensor that moves away drops
 *    its window, one that arrives starts empty, so a window is never made
 *    of two scorers' halves.
 *  - Windows are copied into their model's batch as they complete; stale
 *    ones (last sample older than max_age_s) are skipped before any copy.
 *  - Latency percentiles come from a log-linear histogram (16 sub-buckets
 *    per power of two: about 6 % resolution) reset at every gauge update. */
#include "scorer.h"

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "partition.h"
#include "table.h"
#include "topic.h"
#include "window.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SC_HIST_LINEAR 64
#define SC_HIST_BUCKETS (SC_HIST_LINEAR + 16 * 40)
#define SC_PRED_MAX 1024
#define SC_LOG_EVERY_MS 10000

typedef struct sc_sensor {
	char id[MSG_SENSOR_MAX + 1];
	int slot;           /* model slot, -1: no model serves it */
	uint64_t map_epoch; /* model map epoch `slot` was looked up at */
	uint64_t epoch;     /* partition epoch `owned` was computed at */
	int owned;
	int64_t last_ns; /* arrival of its last raw message */
	/* the rate plan, for the stream rate and model generation it was made
	 * for */
	double plan_hz;
	uint64_t plan_gen;
	enum ae_rate plan;
	win_stream ws;
} sc_sensor;

typedef struct sc_pending {
	sc_sensor *s;
	double t_start, t_end;
	int64_t arrival_ns;
} sc_pending;

typedef struct sc_batch {
	uint64_t gen; /* model generation the buffers are sized for; 0: none */
	size_t width, n_ch;
	size_t cap; /* windows the buffers hold: grows to batch_max as needed */
	float *x;   /* cap x width */
	float *scores;
	float *ch; /* cap x n_ch: each score's parts by channel */
	sc_pending *p;
	size_t n;
	ae_work work;
} sc_batch;

typedef struct sc_counters {
	metrics_slot *raw_in, *not_owned, *no_model, *malformed, *oversized, *duplicates,
	    *gaps_seq, *gaps_frame, *gaps_time, *run_changes, *out_of_order,
	    *rate_changes, *channel_mismatch, *restarts, *windows, *batches, *pred_out,
	    *encode_failed, *nonfinite, *stale, *known, *over_cap, *active, *owned,
	    *members, *ghosts, *expired, *ho_in, *ho_out, *reload_ok, *reload_failed,
	    *p50, *p99, *pmax, *rate_refused, *resampled, *replays;
} sc_counters;

struct scorer {
	char root[TOPIC_ROOT_MAX + 1];
	scorer_opts o;
	model_map *mm;
	part_set part;
	table sensors; /* id -> sc_sensor (owned) */
	sc_batch *b;   /* one per model slot */
	size_t n_b;
	msg_raw raw;
	/* context of the message being fed, for the emit callback */
	sc_sensor *cur;
	int64_t cur_arrival;
	double cur_oldest_ok; /* windows ending before this are stale */
	int64_t oldest_ns;
	scorer_publish_fn pub;
	void *pub_ud;
	sc_counters c;
	uint64_t hist[SC_HIST_BUCKETS];
	uint64_t hist_n, hist_max_us;
	log_every le_malformed, le_channels, le_cap, le_encode;
};

/* ---- small helpers -------------------------------------------------------- */

static size_t sc__hist_bucket(uint64_t us)
{
	unsigned e;
	if (us < SC_HIST_LINEAR)
		return (size_t)us;
	e = 63u - (unsigned)__builtin_clzll(us); /* >= 6 */
	if (e >= 6 + 40)
		return SC_HIST_BUCKETS - 1;
	return SC_HIST_LINEAR + (e - 6) * 16 + ((us >> (e - 4)) & 15);
}

/* Lower bound in microseconds of a histogram bucket. */
static uint64_t sc__hist_value(size_t b)
{
	size_t e, sub;
	if (b < SC_HIST_LINEAR)
		return b;
	e = (b - SC_HIST_LINEAR) / 16 + 6;
	sub = (b - SC_HIST_LINEAR) % 16;
	return ((uint64_t)1 << e) + ((uint64_t)sub << (e - 4));
}

static uint64_t sc__hist_quantile(const scorer *sc, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)sc->hist_n), acc = 0;
	if (sc->hist_n == 0)
		return 0;
	if (want == 0)
		want = 1;
	for (size_t i = 0; i < SC_HIST_BUCKETS; i++) {
		acc += sc->hist[i];
		if (acc >= want)
			return sc__hist_value(i);
	}
	return sc->hist_max_us;
}

static void sc__counters(scorer *sc, metrics *m)
{
	sc_counters *c = &sc->c;
	c->raw_in = metrics_get(m, "raw_in");
	c->not_owned = metrics_get(m, "raw_not_owned");
	c->no_model = metrics_get(m, "raw_no_model");
	c->malformed = metrics_get(m, "malformed_dropped");
	c->oversized = metrics_get(m, "oversized_dropped");
	c->duplicates = metrics_get(m, "duplicates");
	c->gaps_seq = metrics_get(m, "gaps_seq");
	c->gaps_frame = metrics_get(m, "gaps_frame");
	c->gaps_time = metrics_get(m, "gaps_time");
	c->run_changes = metrics_get(m, "run_changes");
	c->out_of_order = metrics_get(m, "out_of_order");
	c->rate_changes = metrics_get(m, "rate_changes");
	c->channel_mismatch = metrics_get(m, "channel_mismatch");
	c->restarts = metrics_get(m, "window_restarts");
	c->windows = metrics_get(m, "windows_scored");
	c->batches = metrics_get(m, "batches");
	c->pred_out = metrics_get(m, "predictions_out");
	c->encode_failed = metrics_get(m, "encode_failed");
	c->nonfinite = metrics_get(m, "score_nonfinite");
	c->stale = metrics_get(m, "stale_skipped");
	c->known = metrics_get(m, "sensors_known");
	c->over_cap = metrics_get(m, "sensors_over_cap");
	c->active = metrics_get(m, "sensors_active");
	c->owned = metrics_get(m, "sensors_owned");
	c->members = metrics_get(m, "members");
	c->ghosts = metrics_get(m, "members_ghost");
	c->expired = metrics_get(m, "members_expired");
	c->ho_in = metrics_get(m, "handovers_in");
	c->ho_out = metrics_get(m, "handovers_out");
	c->reload_ok = metrics_get(m, "model_reloads_ok");
	c->reload_failed = metrics_get(m, "model_reloads_failed");
	c->p50 = metrics_get(m, "latency_p50_us");
	c->p99 = metrics_get(m, "latency_p99_us");
	c->pmax = metrics_get(m, "latency_max_us");
	c->rate_refused = metrics_get(m, "raw_rate_refused");
	c->resampled = metrics_get(m, "raw_resampled");
	c->replays = metrics_get(m, "raw_replays_skipped");
}

/* ---- lifecycle ------------------------------------------------------------ */

scorer *scorer_new(const scorer_opts *o, model_map *mm, metrics *m, scorer_publish_fn pub,
		   void *ud, char *err, size_t errlen)
{
	scorer *sc;
	size_t rl = o->root ? strlen(o->root) : 0;
	int64_t beat = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
	int64_t deadline = o->member_timeout_ms > 0 ? o->member_timeout_ms : 4 * beat;

	if (rl == 0 || rl > TOPIC_ROOT_MAX || !pub || o->batch_max == 0 ||
	    o->max_sensors == 0 || (mm->n_slots == 0 && !mm->dir[0])) {
		snprintf(err, errlen,
			 "scorer: bad options (root, batch, sensors or models)");
		return NULL;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		snprintf(err, errlen, "scorer: out of memory");
		return NULL;
	}
	memcpy(sc->root, o->root, rl + 1);
	sc->o = *o;
	sc->o.root = sc->root;
	sc->mm = mm;
	sc->pub = pub;
	sc->pub_ud = ud;
	if (part_set_init(&sc->part, o->self, o->group, beat, deadline,
			  clock_mono_ns() / 1000000)) {
		snprintf(err, errlen,
			 "scorer: instance id and group must be 1..%d bytes, the member "
			 "timeout at least 3 heartbeats",
			 PART_ID_MAX);
		free(sc);
		return NULL;
	}
	sc->o.self = sc->part.self;
	sc->o.group = sc->part.group;
	table_init(&sc->sensors);
	msg_raw_init(&sc->raw);
	sc__counters(sc, m);
	metrics_set(sc->c.members, 1);
	return sc;
}

static void sc__batch_cleanup(sc_batch *b)
{
	free(b->x);
	free(b->scores);
	free(b->ch);
	free(b->p);
	ae_work_cleanup(&b->work);
	memset(b, 0, sizeof(*b));
}

static void sc__sensor_free(void *v)
{
	sc_sensor *s = v;
	win_stream_cleanup(&s->ws);
	free(s);
}

void scorer_free(scorer *sc)
{
	if (!sc)
		return;
	table_cleanup(&sc->sensors, sc__sensor_free);
	for (size_t i = 0; i < sc->n_b; i++)
		sc__batch_cleanup(&sc->b[i]);
	free(sc->b);
	msg_raw_cleanup(&sc->raw);
	free(sc);
}

/* ---- sensor table ---------------------------------------------------------- */

/* The sensor named id, created if new; NULL over the cap or out of memory. */
static sc_sensor *sc__sensor(scorer *sc, const char *id)
{
	sc_sensor *s = table_get(&sc->sensors, id);

	if (s)
		return s;
	if (table_count(&sc->sensors) >= sc->o.max_sensors)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->slot = models_lookup(sc->mm, id);
	s->map_epoch = sc->mm->epoch;
	s->epoch = sc->part.epoch;
	s->owned = part_is_mine(&sc->part, id);
	win_stream_init(&s->ws);
	s->ws.max_gap_s = sc->o.max_gap_s;
	if (table_put(&sc->sensors, s->id, s)) {
		sc__sensor_free(s);
		return NULL;
	}
	metrics_set(sc->c.known, (int64_t)table_count(&sc->sensors));
	return s;
}

/* Bring s's ownership up to date with the membership. */
static void sc__ownership(scorer *sc, sc_sensor *s)
{
	int mine;
	if (s->epoch == sc->part.epoch)
		return;
	s->epoch = sc->part.epoch;
	mine = part_is_mine(&sc->part, s->id);
	if (mine == s->owned)
		return;
	win_stream_reset(&s->ws); /* away: forget; back: start clean */
	metrics_add(mine ? sc->c.ho_in : sc->c.ho_out, 1);
	s->owned = mine;
}

/* ---- batching and publishing ------------------------------------------------ */

/* (Re)size slot i's batch buffers for cap windows of its current model.
 * Returns 0 or -1 (no memory: the batch is then empty and unsized). */
static int sc__batch_alloc(sc_batch *b, const ae_model *m, uint64_t gen, size_t cap)
{
	char err[160];
	sc__batch_cleanup(b);
	b->width = ae_input_size(m);
	b->n_ch = m->n_channels;
	b->x = malloc(cap * b->width * sizeof(*b->x));
	b->scores = malloc(cap * sizeof(*b->scores));
	b->ch = malloc(cap * b->n_ch * sizeof(*b->ch));
	b->p = malloc(cap * sizeof(*b->p));
	if (!b->x || !b->scores || !b->ch || !b->p ||
	    ae_work_init(&b->work, m, cap, err, sizeof(err))) {
		sc__batch_cleanup(b);
		return -1;
	}
	b->cap = cap;
	b->gen = gen;
	return 0;
}

/* Make slot i's batch ready for its current model. Returns 0 or -1. */
static int sc__batch_ready(scorer *sc, size_t i)
{
	const model_slot *ms = &sc->mm->slots[i];

	if (i >= sc->n_b) {
		size_t n = sc->mm->n_slots;
		sc_batch *nb = realloc(sc->b, n * sizeof(*nb));
		if (!nb)
			return -1;
		memset(nb + sc->n_b, 0, (n - sc->n_b) * sizeof(*nb));
		sc->b = nb;
		sc->n_b = n;
	}
	if (sc->b[i].gen == ms->gen && sc->b[i].x)
		return 0;
	/* a handful to start: per-sensor models see a window or two a flush */
	return sc__batch_alloc(&sc->b[i], &ms->model, ms->gen,
			       sc->o.batch_max < 4 ? sc->o.batch_max : 4);
}

/* Room for one more window in a full batch: grow it (keeping what is
 * queued) up to batch_max. Returns 0, or -1 when it cannot grow. */
static int sc__batch_grow(scorer *sc, size_t i)
{
	sc_batch *b = &sc->b[i], nb;
	size_t cap = b->cap * 2 < sc->o.batch_max ? b->cap * 2 : sc->o.batch_max;

	if (b->cap >= sc->o.batch_max)
		return -1;
	memset(&nb, 0, sizeof(nb));
	if (sc__batch_alloc(&nb, &sc->mm->slots[i].model, b->gen, cap))
		return -1;
	memcpy(nb.x, b->x, b->n * b->width * sizeof(*b->x));
	memcpy(nb.p, b->p, b->n * sizeof(*b->p));
	nb.n = b->n;
	sc__batch_cleanup(b);
	*b = nb;
	return 0;
}

static void sc__record_latency(scorer *sc, int64_t ns)
{
	uint64_t us = ns > 0 ? (uint64_t)(ns / 1000) : 0;
	sc->hist[sc__hist_bucket(us)]++;
	sc->hist_n++;
	if (us > sc->hist_max_us)
		sc->hist_max_us = us;
}

/* The channels with the largest shares of a window's score (ch: its parts
 * by channel), shares to 3 decimals, those that round to 0 left out. */
static void sc__top(const ae_model *m, const float *ch, msg_top *top)
{
	size_t idx[MSG_TOP_MAX];
	float share[MSG_TOP_MAX];
	size_t n = ae_top_channels(m, ch, MSG_TOP_MAX, idx, share);
	top->n = 0;
	for (size_t j = 0; j < n; j++) {
		double r = round(1000.0 * share[j]) / 1000.0;
		if (r <= 0 || strlen(m->channels[idx[j]]) > MSG_CHANNEL_MAX)
			break;
		memcpy(top->c[top->n].channel, m->channels[idx[j]],
		       strlen(m->channels[idx[j]]) + 1);
		top->c[top->n++].share = r;
	}
}

/* Score and publish slot i's batch. Returns predictions published. */
static size_t sc__flush_slot(scorer *sc, size_t i)
{
	sc_batch *b = &sc->b[i];
	const model_slot *ms = &sc->mm->slots[i];
	size_t out = 0;

	if (b->n == 0)
		return 0;
	ae_score_batch_ch(&ms->model, b->x, b->n, b->scores, b->ch, &b->work);
	metrics_add(sc->c.windows, (int64_t)b->n);
	metrics_add(sc->c.batches, 1);
	for (size_t k = 0; k < b->n; k++) {
		const sc_pending *p = &b->p[k];
		msg_prediction pr;
		char payload[SC_PRED_MAX], err[MSG_ERR_MAX];
		size_t len;
		int64_t lat;

		if (!isfinite(b->scores[k])) {
			metrics_add(sc->c.nonfinite, 1);
			continue;
		}
		memset(&pr, 0, sizeof(pr));
		memcpy(pr.sensor, p->s->id, sizeof(pr.sensor));
		pr.t = p->t_end;
		pr.t_start = p->t_start;
		pr.n = (uint32_t)ms->model.window;
		pr.score = b->scores[k];
		pr.threshold = ms->model.threshold;
		pr.anomaly = b->scores[k] > ms->model.threshold;
		memcpy(pr.model, ms->label, sizeof(pr.model));
		sc__top(&ms->model, b->ch + k * b->n_ch, &pr.top);
		pr.has_top = pr.top.n > 0;
		lat = clock_mono_ns() - p->arrival_ns;
		pr.latency_ms = (double)lat / 1e6;
		if (msg_prediction_encode(&pr, payload, sizeof(payload), &len, err,
					  sizeof(err)) != 0) {
			metrics_add(sc->c.encode_failed, 1);
			log_every_msg(&sc->le_encode, SC_LOG_EVERY_MS, LOG_LVL_ERROR,
				      "prediction for %s not encoded: %s", pr.sensor,
				      err);
			continue;
		}
		if (sc->pub(sc->pub_ud, pr.sensor, payload, len) != 0)
			continue; /* counted by the publisher (scorer_publish_fn) */
		sc__record_latency(sc, lat);
		out++;
	}
	metrics_add(sc->c.pred_out, (int64_t)out);
	b->n = 0;
	return out;
}

size_t scorer_flush(scorer *sc)
{
	size_t out = 0;
	for (size_t i = 0; i < sc->n_b; i++)
		out += sc__flush_slot(sc, i);
	sc->oldest_ns = 0;
	return out;
}

size_t scorer_pending(const scorer *sc)
{
	size_t n = 0;
	for (size_t i = 0; i < sc->n_b; i++)
		n += sc->b[i].n;
	return n;
}

int64_t scorer_oldest_ns(const scorer *sc) { return sc->oldest_ns; }

/* win_feed's emit: queue the window (or skip it as stale). */
static void sc__emit(void *ud, const float *window, double t_start, double t_end)
{
	scorer *sc = ud;
	sc_sensor *s = sc->cur;
	sc_batch *b = &sc->b[s->slot];
	sc_pending *p;

	if (t_end < sc->cur_oldest_ok) {
		metrics_add(sc->c.stale, 1);
		return;
	}
	if (b->n == b->cap && sc__batch_grow(sc, (size_t)s->slot)) {
		sc__flush_slot(sc, (size_t)s->slot);
		b = &sc->b[s->slot];
	}
	memcpy(b->x + b->n * b->width, window, b->width * sizeof(*b->x));
	p = &b->p[b->n++];
	p->s = s;
	p->t_start = t_start;
	p->t_end = t_end;
	p->arrival_ns = sc->cur_arrival;
	if (!sc->oldest_ns)
		sc->oldest_ns = sc->cur_arrival;
	if (b->n == sc->o.batch_max)
		sc__flush_slot(sc, (size_t)s->slot);
}

/* ---- message handling ---------------------------------------------------------- */

static void sc__count_events(scorer *sc, const sc_sensor *s, unsigned ev)
{
	if (ev & WIN_EV_DUP)
		metrics_add(sc->c.duplicates, 1);
	if (ev & WIN_EV_SEQ_GAP)
		metrics_add(sc->c.gaps_seq, 1);
	if (ev & WIN_EV_FRAME_GAP)
		metrics_add(sc->c.gaps_frame, 1);
	if (ev & WIN_EV_TIME_GAP)
		metrics_add(sc->c.gaps_time, 1);
	if (ev & WIN_EV_RUN)
		metrics_add(sc->c.run_changes, 1);
	if (ev & WIN_EV_ORDER)
		metrics_add(sc->c.out_of_order, 1);
	if (ev & WIN_EV_RATE)
		metrics_add(sc->c.rate_changes, 1);
	if (ev & (WIN_EV_RESTART_MASK | WIN_EV_CHANNELS))
		metrics_add(sc->c.restarts, 1);
	if (ev & WIN_EV_CHANNELS) {
		metrics_add(sc->c.channel_mismatch, 1);
		log_every_msg(
		    &sc->le_channels, SC_LOG_EVERY_MS, LOG_LVL_WARN,
		    "sensor %s: raw message lacks a channel of model %s; dropped", s->id,
		    sc->mm->slots[s->slot].label);
	}
}

static void sc__malformed(scorer *sc, const char *sensor, const char *why)
{
	metrics_add(sc->c.malformed, 1);
	log_every_msg(&sc->le_malformed, SC_LOG_EVERY_MS, LOG_LVL_WARN,
		      "sensor %s: raw payload dropped: %s", sensor, why);
}

/* Whether the message just decoded can feed the sensor's model at its
 * rate (window.h), deciding again when the rate or the model changed: one
 * log line per decision, the refusals counted per message. Sets the
 * window's step. */
static int sc__rate_ok(scorer *sc, sc_sensor *s)
{
	const model_slot *ms = &sc->mm->slots[s->slot];
	double hz = sc->raw.rate_hz;
	int was_refused = ae_rate_refused(s->plan);

	if (s->plan_gen != ms->gen || s->plan_hz != hz) {
		size_t step;
		s->plan = ae_rate_plan(ms->model.rate_hz, hz, &step);
		s->plan_gen = ms->gen;
		s->plan_hz = hz;
		s->ws.step = step;
		if (ae_rate_refused(s->plan))
			log_warn("sensor %s streams at %g Hz, model %s was trained at %g "
				 "Hz: %s; its data are NOT scored (raw_rate_refused)",
				 s->id, hz, ms->label, ms->model.rate_hz,
				 ae_rate_name(s->plan));
		else if (s->plan == AE_RATE_DECIMATE)
			log_info("sensor %s streams at %g Hz: 1 sample in %zu feeds "
				 "model %s (%g Hz)",
				 s->id, hz, step, ms->label, ms->model.rate_hz);
		else if (was_refused)
			log_info("sensor %s at %g Hz: scored again, by model %s (%s)",
				 s->id, hz, ms->label, ae_rate_name(s->plan));
	}
	if (ae_rate_refused(s->plan)) {
		metrics_add(sc->c.rate_refused, 1);
		return 0;
	}
	if (s->plan == AE_RATE_DECIMATE)
		metrics_add(sc->c.resampled, 1);
	return 1;
}

static void sc__on_raw(scorer *sc, const char *id, const void *payload, size_t len,
		       int64_t arrival_ns)
{
	char err[MSG_ERR_MAX];
	sc_sensor *s;
	unsigned ev;

	metrics_add(sc->c.raw_in, 1);
	if (len > sc->o.max_payload) {
		metrics_add(sc->c.oversized, 1);
		sc__malformed(sc, id, "payload over --max-payload");
		return;
	}
	s = sc__sensor(sc, id);
	if (!s) {
		metrics_add(sc->c.over_cap, 1);
		log_every_msg(
		    &sc->le_cap, SC_LOG_EVERY_MS, LOG_LVL_WARN,
		    "sensor %s ignored: already tracking %zu sensors (--max-sensors)", id,
		    table_count(&sc->sensors));
		return;
	}
	sc__ownership(sc, s);
	if (!s->owned) {
		metrics_add(sc->c.not_owned, 1);
		return;
	}
	if (s->map_epoch != sc->mm->epoch) { /* a directory model came or went */
		s->slot = models_lookup(sc->mm, id);
		s->map_epoch = sc->mm->epoch;
	}
	if (s->slot < 0) {
		metrics_add(sc->c.no_model, 1);
		return;
	}
	if (msg_raw_decode(payload, len, &sc->raw, err, sizeof(err)) != 0) {
		sc__malformed(sc, id, err);
		return;
	}
	if (strcmp(sc->raw.sensor, id) != 0) {
		sc__malformed(sc, id, "\"sensor\" differs from the topic's");
		return;
	}
	if (sc->raw.replay) { /* republished for the archive: not live */
		metrics_add(sc->c.replays, 1);
		return;
	}
	if (!sc__rate_ok(sc, s))
		return;
	if (sc__batch_ready(sc, (size_t)s->slot)) {
		sc__malformed(sc, id, "out of memory for the batch");
		return;
	}
	s->last_ns = arrival_ns;
	sc->cur = s;
	sc->cur_arrival = arrival_ns;
	sc->cur_oldest_ok =
	    sc->o.max_age_s > 0 ? clock_now() - sc->o.max_age_s : -INFINITY;
	ev = win_feed(&s->ws, &sc->mm->slots[s->slot].model, sc->mm->slots[s->slot].gen,
		      &sc->raw, sc__emit, sc);
	sc->cur = NULL;
	if (ev)
		sc__count_events(sc, s, ev);
}

/* Apply membership changes to every known sensor now, so that sensors that
 * moved away stop holding memory even if they fall silent. */
static void sc__membership_changed(scorer *sc)
{
	size_t pos = 0;
	void *s;

	log_info("scorer group '%s': %zu live member(s) now; sensors re-split",
		 sc->part.group, sc->part.n_live);
	while (table_next(&sc->sensors, &pos, NULL, &s))
		sc__ownership(sc, s);
}

/* Log each new ghost once, with what an operator types to clear it: its
 * retained group message, and its retained "online" status if it has one. */
static void sc__report_ghosts(scorer *sc)
{
	const part_member *m;
	while ((m = part_take_ghost(&sc->part)) != NULL) {
		char topic[TOPIC_MAX], clear[2 * TOPIC_MAX + 64] = "";
		char when[48] = "carries no time";
		size_t n = 0;
		if (topic_svc(topic, sizeof(topic), sc->root, "scorer", m->id,
			      TOPIC_SVC_GROUP) >= 0)
			n += (size_t)snprintf(clear, sizeof(clear),
					      "mosquitto_pub -r -n -t '%s'", topic);
		if (m->status == PART_ONLINE && n < sizeof(clear) &&
		    topic_svc(topic, sizeof(topic), sc->root, "scorer", m->id,
			      TOPIC_SVC_STATUS) >= 0)
			snprintf(clear + n, sizeof(clear) - n,
				 "; mosquitto_pub -r -n -t '%s'", topic);
		if (m->t > 0)
			snprintf(when, sizeof(when), "was sent %.0f s ago",
				 clock_now() - m->t);
		log_warn("scorer group '%s': member '%s' has not heartbeated for %lld ms "
			 "(its retained group message %s): a ghost, not counted. If it "
			 "is gone for good, clear it: %s",
			 sc->part.group, m->id, (long long)sc->part.deadline_ms, when,
			 clear);
	}
}

/* What a partition call changed: re-split, report, update the gauges. */
static void sc__membership(scorer *sc, int bits)
{
	if (bits & PART_SPLIT)
		sc__membership_changed(sc);
	if (bits & PART_GHOST)
		sc__report_ghosts(sc);
	metrics_set(sc->c.members, (int64_t)sc->part.n_live);
	metrics_set(sc->c.ghosts, (int64_t)sc->part.n_ghosts);
	metrics_set(sc->c.expired, (int64_t)sc->part.expired);
}

/* {root}/_svc/scorer/{instance}/status or .../group. A payload that does
 * not decode reads as "offline" / "no group": the member drops out. A
 * group message delivered live is a heartbeat. */
static void sc__on_member(scorer *sc, const topic_ref *t, const void *payload, size_t len,
			  int retained, int64_t now_ns)
{
	char err[MSG_ERR_MAX];
	int64_t now_ms = now_ns / 1000000;
	int bits;

	if (t->kind == TOPIC_SVC_STATUS) {
		msg_status st;
		int ok = msg_status_decode(payload, len, &st, err, sizeof(err)) == 0;
		bits = part_status(&sc->part, t->instance, ok && st.online, now_ms);
	} else {
		msg_group g;
		int ok = msg_group_decode(payload, len, &g, err, sizeof(err)) == 0;
		bits = part_group(&sc->part, t->instance, ok ? g.group : NULL,
				  ok && g.has_t ? g.t : 0, !retained, now_ms);
	}
	sc__membership(sc, bits);
}

int64_t scorer_tick(scorer *sc, int64_t now_ns)
{
	int64_t now_ms = now_ns / 1000000, next;
	sc__membership(sc, part_tick(&sc->part, now_ms));
	next = part_next_ms(&sc->part, now_ms);
	return next == INT64_MAX ? next : next > now_ms ? next - now_ms : 0;
}

static void sc__handle(scorer *sc, const char *topic, const void *payload, size_t len,
		       int retained, int64_t arrival_ns)
{
	topic_ref t;

	switch (topic_parse(topic, sc->root, &t)) {
	case TOPIC_RAW:
		sc__on_raw(sc, t.sensor, payload, len, arrival_ns);
		break;
	case TOPIC_SVC_STATUS:
	case TOPIC_SVC_GROUP:
		if (strcmp(t.service, "scorer") == 0)
			sc__on_member(sc, &t, payload, len, retained, arrival_ns);
		break;
	default:
		break;
	}
}

void scorer_handle(scorer *sc, const char *topic, const void *payload, size_t len,
		   int64_t arrival_ns)
{
	sc__handle(sc, topic, payload, len, 0, arrival_ns);
}

void scorer_handle_retained(scorer *sc, const char *topic, const void *payload,
			    size_t len, int64_t arrival_ns)
{
	sc__handle(sc, topic, payload, len, 1, arrival_ns);
}

/* ---- reload and gauges ---------------------------------------------------------- */

typedef struct sc_report_ctx {
	scorer *sc;
	models_report_fn report;
	void *ud;
} sc_report_ctx;

static void sc__report(void *ud, size_t slot, enum models_event ev, const char *msg)
{
	sc_report_ctx *r = ud;
	if (ev == MODELS_RELOADED || ev == MODELS_ADDED)
		metrics_add(r->sc->c.reload_ok, 1);
	else if (ev == MODELS_REFUSED)
		metrics_add(r->sc->c.reload_failed, 1);
	else if (ev == MODELS_REMOVED && slot < r->sc->n_b) /* flushed already */
		sc__batch_cleanup(&r->sc->b[slot]);
	if (r->report)
		r->report(r->ud, slot, ev, msg);
}

int scorer_reload(scorer *sc, int force, models_report_fn report, void *ud)
{
	sc_report_ctx r = {sc, report, ud};
	scorer_flush(sc); /* queued windows are scored by the model they were cut for */
	return models_refresh(sc->mm, force, sc__report, &r);
}

void scorer_update_gauges(scorer *sc, int64_t now_ns, double active_s)
{
	int64_t active = 0, owned = 0, horizon = now_ns - (int64_t)(active_s * 1e9);
	size_t pos = 0;
	void *v;
	while (table_next(&sc->sensors, &pos, NULL, &v)) {
		const sc_sensor *s = v;
		if (s->owned)
			owned++;
		if (s->last_ns && s->last_ns >= horizon)
			active++;
	}
	metrics_set(sc->c.active, active);
	metrics_set(sc->c.owned, owned);
	metrics_set(sc->c.members, (int64_t)sc->part.n_live);
	if (sc->hist_n) {
		metrics_set(sc->c.p50, (int64_t)sc__hist_quantile(sc, 0.50));
		metrics_set(sc->c.p99, (int64_t)sc__hist_quantile(sc, 0.99));
		metrics_set(sc->c.pmax, (int64_t)sc->hist_max_us);
	}
	memset(sc->hist, 0, sizeof(sc->hist));
	sc->hist_n = 0;
	sc->hist_max_us = 0;
}

size_t scorer_members(const scorer *sc) { return sc->part.n_live; }
