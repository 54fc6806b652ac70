/* sensor — one ingest-bt source from link to published batch (sensor.h).
 *
 * Reconnects back off exponentially (backoff_min_ms doubling up to
 * backoff_max_ms) and the delay resets once a session delivers data, so a
 * sensor out of range is retried calmly while a brief drop recovers fast.
 * The frame counter (timestamp ticks / ticks per sample) is followed across
 * reconnects: what the link lost shows up as frames_lost. A csv: source
 * has no link: its rows come from replay.c, paced by this sensor's timers,
 * and go through the same frame bookkeeping and batching. */
#include "sensor.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ingest_counters_init(ingest_counters *c, metrics *m)
{
	c->samples = metrics_get(m, "samples_in");
	c->published = metrics_get(m, "raw_published");
	c->publish_failed = metrics_get(m, "raw_publish_failed");
	c->frames_lost = metrics_get(m, "frames_lost");
	c->frame_gaps = metrics_get(m, "frame_gaps");
	c->bad_checksum = metrics_get(m, "lpbus_bad_checksum");
	c->bad_end = metrics_get(m, "lpbus_bad_end");
	c->bad_length = metrics_get(m, "lpbus_bad_length");
	c->bytes_skipped = metrics_get(m, "lpbus_bytes_skipped");
	c->resyncs = metrics_get(m, "lpbus_resyncs");
	c->decode_errors = metrics_get(m, "decode_errors");
	c->link_failures = metrics_get(m, "link_failures");
	c->sessions = metrics_get(m, "sessions_started");
	c->sensors_streaming = metrics_get(m, "sensors_streaming");
	c->journal_errors = metrics_get(m, "journal_errors");
}

/* A csv: source: its replay, and its channels as the sensor's. */
static int csv_setup(sensor *s, char *err, size_t errlen)
{
	int rc = replay_open(&s->rp, s->spec.path, s->o->csv_rate_hz, s->spec.speed, err,
			     errlen);
	if (rc)
		return rc;
	s->n_ch = s->rp.n_ch;
	for (size_t c = 0; c < s->n_ch; c++) {
		memcpy(s->names[c], s->rp.names[c], sizeof(s->names[c]));
		s->name_ptr[c] = s->names[c];
	}
	s->layout = 1;
	s->st = SN_CSV;
	return 0;
}

/* Per-sensor counters "<sensor>.<name>"; NULL (counting skipped) when the
 * name would be too long or the registry is full. */
static metrics_slot *sensor_metric(metrics *m, const char *id, const char *name)
{
	char key[2 * METRICS_NAME_MAX + 2];
	if (!m || strlen(id) + 1 + strlen(name) > METRICS_NAME_MAX)
		return NULL;
	snprintf(key, sizeof(key), "%s.%s", id, name);
	return metrics_get(m, key);
}

int sensor_init(sensor *s, const src_spec *spec, const ingest_opts *o, mqtt_client *mq,
		ingest_counters *ctr, metrics *m, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->spec = *spec;
	s->o = o;
	s->mq = mq;
	s->ctr = ctr;
	s->fd = -1;
	s->backoff_ms = o->backoff_min_ms;
	s->m_samples = sensor_metric(m, spec->sensor, "samples_in");
	s->m_lost = sensor_metric(m, spec->sensor, "frames_lost");
	s->m_gaps = sensor_metric(m, spec->sensor, "frame_gaps");
	s->m_links = sensor_metric(m, spec->sensor, "link_failures");
	session_init(&s->sess, &o->sess);
	if (pub_init(&s->pub, spec->sensor, o->run, o->batch_samples, o->batch_ms)) {
		snprintf(err, errlen, "sensor %s: bad batch options", spec->sensor);
		return AM_EINVAL;
	}
	if (spec->kind == SRC_CSV)
		return csv_setup(s, err, errlen);
	s->st = SN_BACKOFF;
	s->retry_at = 0;
	return 0;
}

void sensor_cleanup(sensor *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	pub_cleanup(&s->pub);
	replay_cleanup(&s->rp);
}

/* Journal a message before it goes out: a failure is counted and logged,
 * and the message is published all the same (live data comes first). */
static void journal_msg(sensor *s, const msg_raw *m)
{
	char err[256];
	if (journal_append(s->o->jr, m, clock_mono_ms(), err, sizeof(err))) {
		metrics_add(s->ctr->journal_errors, 1);
		log_every_msg(&s->le_journal, 10000, LOG_LVL_WARN,
			      "sensor %s: not journalled: %s", s->spec.sensor, err);
	}
}

static void publish(sensor *s)
{
	const char *json;
	const msg_raw *m;
	size_t len;
	char err[MSG_ERR_MAX];
	int rc;
	if (pub_rows(&s->pub) == 0)
		return;
	if (pub_take(&s->pub, &json, &len, &m, err, sizeof(err))) {
		metrics_add(s->ctr->publish_failed, 1);
		log_every_msg(&s->le_pub, 10000, LOG_LVL_WARN,
			      "sensor %s: batch dropped: %s", s->spec.sensor, err);
		return;
	}
	if (s->o->jr)
		journal_msg(s, m);
	rc = mqtt_publish_sensor(s->mq, s->spec.sensor, "raw", json, len, s->o->qos, 0);
	if (rc) {
		metrics_add(s->ctr->publish_failed, 1);
		log_every_msg(&s->le_pub, 10000, LOG_LVL_WARN,
			      "sensor %s: publish failed: %s%s", s->spec.sensor,
			      am_strerror(rc),
			      rc == AM_EOVERFLOW ? " (the offline buffer is full)" : "");
		return;
	}
	metrics_add(s->ctr->published, 1);
}

void sensor_flush(sensor *s) { publish(s); }

int sensor_done(const sensor *s) { return s->st == SN_DONE; }

/* Account the frame counter, batch the row, publish when due. */
static void emit(sensor *s, uint32_t layout, double rate, int64_t frame,
		 const float *vals)
{
	if (frame >= 0 && s->have_last && frame != s->last_frame + 1) {
		metrics_add(s->ctr->frame_gaps, 1);
		metrics_add(s->m_gaps, 1);
		if (frame > s->last_frame)
			metrics_add(s->ctr->frames_lost, frame - s->last_frame - 1);
		if (frame > s->last_frame)
			metrics_add(s->m_lost, frame - s->last_frame - 1);
	}
	if (frame >= 0) {
		s->have_last = 1;
		s->last_frame = frame;
	}
	if (!pub_continues(&s->pub, layout, rate, frame))
		publish(s);
	if (pub_add(&s->pub, layout, s->name_ptr, s->n_ch, rate, frame, vals, clock_now(),
		    s->now_ms)) {
		metrics_add(s->ctr->publish_failed, 1);
		return;
	}
	metrics_add(s->ctr->samples, 1);
	metrics_add(s->m_samples, 1);
	if (pub_due(&s->pub, s->now_ms))
		publish(s);
}

static void on_sample(void *ud, const lpms_sample *smp, int64_t frame)
{
	sensor *s = ud;
	float vals[LPMS_MAX_CHANNELS];
	uint32_t layout = smp->mask | (s->sess.fmt.int16 ? LPMS_CFG_16BIT : 0);
	if (layout != s->layout || s->n_ch == 0) {
		char n[LPMS_MAX_CHANNELS][LPMS_CHANNEL_MAX];
		size_t c = lpms_channels(smp->mask, n, LPMS_MAX_CHANNELS);
		if (c == 0 || c > MSG_MAX_CHANNELS)
			return;
		for (size_t i = 0; i < c; i++) {
			size_t l = strnlen(n[i], LPMS_CHANNEL_MAX - 1);
			memcpy(s->names[i], n[i], l);
			s->names[i][l] = '\0';
			s->name_ptr[i] = s->names[i];
		}
		s->n_ch = c;
		s->layout = layout;
	}
	lpms_sample_values(smp, smp->mask, vals, LPMS_MAX_CHANNELS);
	if (!s->streaming) {
		s->streaming = 1;
		s->backoff_ms = s->o->backoff_min_ms;
		metrics_add(s->ctr->sensors_streaming, 1);
		log_info("sensor %s: streaming %u Hz, %zu channels%s", s->spec.sensor,
			 s->sess.rate_hz, s->n_ch,
			 s->sess.fmt.int16 ? " (int16 mode)" : "");
	}
	emit(s, layout, s->sess.rate_hz, frame, vals);
}

/* Move the parser's counters into the metrics as deltas. */
static void sync_stats(sensor *s)
{
	const lpbus_stats *st = &s->sess.parser.stats;
	metrics_add(s->ctr->bad_checksum,
		    (int64_t)(st->bad_checksum - s->seen.bad_checksum));
	metrics_add(s->ctr->bad_end, (int64_t)(st->bad_end - s->seen.bad_end));
	metrics_add(s->ctr->bad_length, (int64_t)(st->bad_length - s->seen.bad_length));
	metrics_add(s->ctr->bytes_skipped,
		    (int64_t)(st->bytes_skipped - s->seen.bytes_skipped));
	metrics_add(s->ctr->resyncs, (int64_t)(st->resyncs - s->seen.resyncs));
	s->seen = *st;
	metrics_add(s->ctr->decode_errors,
		    (int64_t)(s->sess.stats.decode_errors - s->seen_decode));
	s->seen_decode = s->sess.stats.decode_errors;
}

static void link_down(sensor *s, const char *why, int64_t now_ms)
{
	char label[SRC_PATH_MAX + 32];
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->streaming)
		metrics_add(s->ctr->sensors_streaming, -1);
	s->streaming = 0;
	publish(s); /* what was batched is good data */
	metrics_add(s->ctr->link_failures, 1);
	metrics_add(s->m_links, 1);
	log_warn("sensor %s (%s): %s; retrying in %lld ms", s->spec.sensor,
		 source_label(&s->spec, label, sizeof(label)), why,
		 (long long)s->backoff_ms);
	s->st = SN_BACKOFF;
	s->retry_at = now_ms + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > s->o->backoff_max_ms ? s->o->backoff_max_ms
								 : s->backoff_ms * 2;
}

static void link_up(sensor *s, int64_t now_ms)
{
	char label[SRC_PATH_MAX + 32];
	s->st = SN_SESSION;
	metrics_add(s->ctr->sessions, 1);
	session_begin(&s->sess, now_ms);
	log_info("sensor %s: connected to %s, configuring", s->spec.sensor,
		 source_label(&s->spec, label, sizeof(label)));
}

static void try_connect(sensor *s, int64_t now_ms)
{
	char err[256];
	int pending;
	if (source_open(&s->spec, &s->fd, &pending, err, sizeof(err))) {
		link_down(s, err, now_ms);
		return;
	}
	if (pending) {
		s->st = SN_CONNECTING;
		s->retry_at = now_ms + 10000; /* connect timeout */
	} else {
		link_up(s, now_ms);
	}
}

static void write_out(sensor *s, int64_t now_ms)
{
	while (s->sess.out_len) {
		ssize_t w = write(s->fd, s->sess.out, s->sess.out_len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				link_down(s, strerror(errno), now_ms);
			return;
		}
		session_sent(&s->sess, (size_t)w);
	}
}

int sensor_pollfd(const sensor *s, struct pollfd *p)
{
	if (s->fd < 0)
		return 0;
	p->fd = s->fd;
	p->revents = 0;
	if (s->st == SN_CONNECTING)
		p->events = POLLOUT;
	else
		p->events = (short)(POLLIN | (s->sess.out_len ? POLLOUT : 0));
	return 1;
}

void sensor_handle(sensor *s, short revents, int64_t now_ms)
{
	s->now_ms = now_ms;
	if (s->fd < 0 || !revents)
		return;
	if (s->st == SN_CONNECTING) {
		char err[256];
		if (source_finish(s->fd, err, sizeof(err)))
			link_down(s, err, now_ms);
		else
			link_up(s, now_ms);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		uint8_t in[4096];
		for (int i = 0; i < 16 && s->fd >= 0; i++) {
			ssize_t r = read(s->fd, in, sizeof(in));
			if (r == 0) {
				link_down(s, "connection closed by the sensor side",
					  now_ms);
				return;
			}
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					link_down(s, strerror(errno), now_ms);
				break;
			}
			if (session_input(&s->sess, in, (size_t)r, now_ms, on_sample,
					  s)) {
				sync_stats(s);
				link_down(s, s->sess.err, now_ms);
				return;
			}
			if ((size_t)r < sizeof(in))
				break;
		}
		sync_stats(s);
	}
	if (s->fd >= 0 && s->sess.out_len)
		write_out(s, now_ms);
}

static void csv_tick(sensor *s, int64_t now_ms)
{
	float vals[MSG_MAX_CHANNELS];
	int64_t frame;
	enum replay_step step;

	if (!replay_started(&s->rp)) {
		replay_start(&s->rp, now_ms);
		log_info(
		    "sensor %s: replaying %s, %zu rows, %zu channels at %.3g Hz x %.3g",
		    s->spec.sensor, s->spec.path, s->rp.tab.n_rows, s->n_ch,
		    s->rp.rate_hz, s->spec.speed);
	}
	while ((step = replay_next(&s->rp, now_ms, vals, &frame)) != REPLAY_END) {
		if (step == REPLAY_WAIT)
			return;
		if (step == REPLAY_BAD) {
			metrics_add(s->ctr->decode_errors, 1);
			continue;
		}
		emit(s, s->layout, s->rp.rate_hz, frame, vals);
	}
	publish(s);
	s->st = SN_DONE;
	log_info("sensor %s: %s replayed to its end", s->spec.sensor, s->spec.path);
}

void sensor_tick(sensor *s, int64_t now_ms)
{
	s->now_ms = now_ms;
	switch (s->st) {
	case SN_BACKOFF:
		if (now_ms >= s->retry_at)
			try_connect(s, now_ms);
		break;
	case SN_CONNECTING:
		if (now_ms >= s->retry_at)
			link_down(s, "connect timed out", now_ms);
		break;
	case SN_SESSION:
		if (session_tick(&s->sess, now_ms)) {
			link_down(s, s->sess.err, now_ms);
			break;
		}
		if (s->sess.out_len)
			write_out(s, now_ms);
		break;
	case SN_CSV:
		csv_tick(s, now_ms);
		break;
	case SN_DONE:
		break;
	}
	if (pub_due(&s->pub, now_ms))
		publish(s);
}

int64_t sensor_deadline(const sensor *s)
{
	int64_t d = pub_deadline(&s->pub);
	int64_t t = INT64_MAX;
	switch (s->st) {
	case SN_BACKOFF:
	case SN_CONNECTING:
		t = s->retry_at;
		break;
	case SN_SESSION:
		t = session_deadline(&s->sess);
		break;
	case SN_CSV:
		t = replay_deadline(&s->rp);
		break;
	case SN_DONE:
		break;
	}
	return t < d ? t : d;
}
