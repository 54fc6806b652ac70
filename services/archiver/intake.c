/* intake — from Paho's arrival callback to a committed transaction (see
 * intake.h). The only state shared with Paho's thread is the spool (which
 * has its own lock) and one atomic flag; everything else belongs to the
 * service loop. */
#include "intake.h"

#include "clock.h"
#include "file.h"
#include "log.h"
#include "topic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTAKE_LOG_MS 10000
#define INTAKE_SPOOL_SHRINK (256 * 1024)

static log_every intake__log_bad, intake__log_db, intake__log_spool;

static int intake__read_cursor_file(const char *path, spool_pos *pos)
{
	FILE *f = fopen(path, "r");
	long long g = 0, o = 0;
	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (fscanf(f, "%lld %lld", &g, &o) != 2)
		g = o = 0;
	fclose(f);
	pos->gen = g;
	pos->off = o;
	return 0;
}

/* Replace the cursor file (CSV-only mode) atomically. Not fsynced, like
 * the CSV rows it covers: after a power cut an older cursor only makes the
 * next start write the spool's tail to the CSV files again. */
static int intake__write_cursor_file(const char *path, spool_pos pos)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "%lld %lld\n", (long long)pos.gen,
			 (long long)pos.off);
	return file_write_atomic(path, text, (size_t)n, 0, NULL, 0) ? -1 : 0;
}

int intake_init(intake *in, const intake_options *o, store *st, csvsink *csv, metrics *m,
		spool_pos *from, char *err, size_t errlen)
{
	memset(in, 0, sizeof(*in));
	in->o = *o;
	if (in->o.commit_max <= 0)
		in->o.commit_max = 1000;
	if (in->o.commit_ms <= 0)
		in->o.commit_ms = 200;
	if (in->o.retry_ms <= 0)
		in->o.retry_ms = 2000;
	if (in->o.retention_ms <= 0)
		in->o.retention_ms = 1000;
	in->st = st;
	in->csv = csv;
	if (!st && !csv) {
		snprintf(err, errlen,
			 "neither a database nor a CSV directory to write to");
		return -1;
	}
	if (st) {
		if (store_get_cursor(st, &in->committed.gen, &in->committed.off, err,
				     errlen))
			return -1;
	} else if (o->cursor_file &&
		   intake__read_cursor_file(o->cursor_file, &in->committed)) {
		snprintf(err, errlen, "%s: %s", o->cursor_file, strerror(errno));
		return -1;
	}
	*from = in->committed;
	in->m.samples = metrics_get(m, "samples_stored");
	in->m.messages = metrics_get(m, "messages_stored");
	in->m.duplicates = metrics_get(m, "duplicates");
	in->m.gaps = metrics_get(m, "gaps");
	in->m.predictions = metrics_get(m, "predictions_stored");
	in->m.alerts = metrics_get(m, "alerts_stored");
	in->m.commit_us = metrics_get(m, "commit_latency_us");
	in->m.commit_us_max = metrics_get(m, "commit_latency_us_max");
	in->m.db_errors = metrics_get(m, "db_errors");
	in->m.csv_errors = metrics_get(m, "csv_errors");
	in->m.backlog = metrics_get(m, "backlog_bytes");
	in->m.spool_errors = metrics_get(m, "spool_errors");
	in->m.spool_blocked = metrics_get(m, "spool_blocked");
	in->m.spool_torn = metrics_get(m, "spool_torn");
	in->m.deleted = metrics_get(m, "retention_deleted");
	in->m.db_bytes = metrics_get(m, "db_bytes");
	in->m.malformed = metrics_get(m, "malformed_dropped");
	in->m.repaired = metrics_get(m, "gaps_repaired");
	in->m.replay_dups = metrics_get(m, "replay_duplicates");
	in->retention_at_ms = clock_mono_ms() + in->o.retention_ms;
	return 0;
}

void intake_attach(intake *in, spool *sp, mqtt_client *mq)
{
	in->sp = sp;
	in->mq = mq;
}

int intake_arrival(void *ud, const mqtt_message *msg)
{
	intake *in = ud;
	char err[256];
	int rc;

	for (;;) {
		rc = spool_append(in->sp, msg->topic, msg->payload, msg->len, err,
				  sizeof(err));
		if (rc == 0)
			break;
		if (rc == AM_EINVAL) {
			/* larger than any valid message: drop like a malformed one */
			if (in->mq)
				mqtt_count_malformed(in->mq);
			else
				metrics_add(in->m.malformed, 1);
			log_every_msg(&intake__log_bad, INTAKE_LOG_MS, LOG_LVL_WARN,
				      "dropped a message on %s: %s", msg->topic, err);
			return 0;
		}
		metrics_add(in->m.spool_errors, 1);
		if (!atomic_exchange(&in->spool_blocked, 1)) {
			metrics_set(in->m.spool_blocked, 1);
			log_error(
			    "%s; not acknowledging until it can be written (retrying)",
			    err);
		}
		/* Never hand the message back to Paho unconsumed: Paho would queue
		 * it in memory and acknowledge it (measured: lost at kill -9, even
		 * with Paho's file persistence). Blocking here keeps it
		 * unacknowledged; a stop request then ends the process by the
		 * shutdown deadline, and the broker redelivers it. */
		clock_sleep_ms(200);
	}
	if (atomic_exchange(&in->spool_blocked, 0)) {
		metrics_set(in->m.spool_blocked, 0);
		log_info("spool writable again; acknowledging");
	}
	return 0;
}

static void intake__malformed(intake *in, const char *topic, const char *why)
{
	if (in->mq)
		mqtt_count_malformed(in->mq);
	else
		metrics_add(in->m.malformed, 1);
	log_every_msg(
	    &intake__log_bad, INTAKE_LOG_MS, LOG_LVL_WARN,
	    "dropped a payload on %s: %s (more are counted in malformed_dropped)", topic,
	    why);
}

/* A commit or a statement failed: the store has rolled back; re-read the
 * batch from the committed cursor after retry_ms. */
static void intake__fail(intake *in, const char *err)
{
	metrics_add(in->m.db_errors, 1);
	if (!in->failed)
		log_error("%s; keeping messages in the spool, retrying every %d ms", err,
			  in->o.retry_ms);
	else
		log_every_msg(&intake__log_db, INTAKE_LOG_MS, LOG_LVL_ERROR,
			      "still failing: %s", err);
	in->failed = 1;
	in->retry_at_ms = clock_mono_ms() + in->o.retry_ms;
	in->pending = 0;
	spool_seek(in->sp, in->committed);
}

static msg_raw intake__raw;

/* Decode one spooled message and add it to the batch. Returns 0, or -1
 * when the batch failed (already handled). */
static int intake__one(intake *in, const spool_record *r, double now)
{
	char err[256];
	topic_ref t;
	enum topic_kind kind = topic_parse(r->topic, in->o.root, &t);
	const char *sensor = t.sensor;
	int rc = 0, dup = 0;

	if (kind == TOPIC_NONE) {
		intake__malformed(in, r->topic, "unexpected topic");
		return 0;
	}
	if (kind == TOPIC_RAW) {
		if (msg_raw_decode(r->payload, r->len, &intake__raw, err, sizeof(err))) {
			intake__malformed(in, r->topic, err);
			return 0;
		}
		if (strcmp(intake__raw.sensor, sensor)) {
			intake__malformed(in, r->topic,
					  "sensor differs from the topic's");
			return 0;
		}
		if (in->st)
			rc = store_put_raw(in->st, &intake__raw, now, &dup, err,
					   sizeof(err));
		if (!rc && !dup && in->csv &&
		    csvsink_put(in->csv, &intake__raw, err, sizeof(err))) {
			metrics_add(in->m.csv_errors, 1);
			if (!in->st)
				rc = AM_EIO;
			else
				log_every_msg(&intake__log_db, INTAKE_LOG_MS,
					      LOG_LVL_ERROR, "%s", err);
		}
	} else if (kind == TOPIC_PREDICTION) {
		msg_prediction p;
		if (msg_prediction_decode(r->payload, r->len, &p, err, sizeof(err))) {
			intake__malformed(in, r->topic, err);
			return 0;
		}
		if (in->st)
			rc = store_put_prediction(in->st, &p, err, sizeof(err));
	} else if (kind == TOPIC_ALERT) {
		msg_alert a;
		if (msg_alert_decode(r->payload, r->len, &a, err, sizeof(err))) {
			intake__malformed(in, r->topic, err);
			return 0;
		}
		if (in->st)
			rc = store_put_alert(in->st, &a, err, sizeof(err));
	} else {
		intake__malformed(in, r->topic, "unexpected topic");
		return 0;
	}
	if (rc == AM_EINVAL) {
		intake__malformed(in, r->topic, err);
		return 0;
	}
	if (rc) {
		intake__fail(in, err);
		return -1;
	}
	return 0;
}

static int intake__commit(intake *in, spool_pos pos)
{
	char err[256];
	int64_t t0 = clock_mono_ns(), us;
	store_stats before, after;

	if (in->st) {
		store_get_stats(in->st, &before);
		if (store_set_cursor(in->st, pos.gen, pos.off, err, sizeof(err)) ||
		    store_commit(in->st, err, sizeof(err))) {
			intake__fail(in, err);
			return -1;
		}
		store_get_stats(in->st, &after);
		metrics_add(in->m.samples, after.samples - before.samples);
		metrics_add(in->m.messages, after.messages - before.messages);
		metrics_add(in->m.duplicates, after.duplicates - before.duplicates);
		metrics_add(in->m.gaps, after.gaps - before.gaps);
		metrics_add(in->m.repaired, after.repaired - before.repaired);
		metrics_add(in->m.replay_dups,
			    after.replay_duplicates - before.replay_duplicates);
		metrics_add(in->m.predictions, after.predictions - before.predictions);
		metrics_add(in->m.alerts, after.alerts - before.alerts);
	}
	if (in->csv && csvsink_flush(in->csv, err, sizeof(err))) {
		metrics_add(in->m.csv_errors, 1);
		if (!in->st) {
			intake__fail(in, err);
			return -1;
		}
		log_every_msg(&intake__log_db, INTAKE_LOG_MS, LOG_LVL_ERROR, "%s", err);
	}
	if (!in->st && in->o.cursor_file &&
	    intake__write_cursor_file(in->o.cursor_file, pos)) {
		snprintf(err, sizeof(err), "%s: %s", in->o.cursor_file, strerror(errno));
		intake__fail(in, err);
		return -1;
	}
	us = (clock_mono_ns() - t0) / 1000;
	metrics_set(in->m.commit_us, us);
	if (us > metrics_read(in->m.commit_us_max))
		metrics_set(in->m.commit_us_max, us);
	if (in->failed)
		log_info("commits succeed again; resuming");
	in->failed = 0;
	in->committed = pos;
	in->pending = 0;
	spool_release(in->sp, pos);
	return 0;
}

static void intake__retention(intake *in, int64_t now_ms)
{
	char err[256];
	int deleted = 0;
	if (!in->st || in->pending || now_ms < in->retention_at_ms)
		return;
	if (store_retention_step(in->st, clock_now(), &deleted, err, sizeof(err))) {
		metrics_add(in->m.db_errors, 1);
		log_every_msg(&intake__log_db, INTAKE_LOG_MS, LOG_LVL_ERROR,
			      "retention: %s", err);
		deleted = 0;
	}
	metrics_add(in->m.deleted, deleted);
	metrics_set(in->m.db_bytes, store_bytes(in->st));
	/* more to delete: come back soon, but let intake go first */
	in->retention_at_ms = now_ms + (deleted > 0 ? 20 : in->o.retention_ms);
}

/* Caught up and nothing pending: move the spool to a fresh file and commit
 * a cursor there, so the old file can go (the spool shrinks even when no
 * new message arrives, e.g. on a full disk). */
static void intake__shrink_spool(intake *in)
{
	spool_pos pos;
	char err[256];
	if (in->pending || in->failed)
		return;
	if (spool_rotate(in->sp, INTAKE_SPOOL_SHRINK, &pos, err, sizeof(err)) != 1)
		return;
	intake__commit(in, pos);
}

int intake_step(intake *in)
{
	int64_t now_ms = clock_mono_ms();
	double now = clock_now();
	spool_record r;
	spool_pos last = spool_tell(in->sp);
	char err[256];
	int rc, wait, more = 1; /* stopped at commit_max: the spool may hold more */
	int rest = now_ms < in->read_at_ms; /* read dry a moment ago: let it fill */

	if (in->failed && now_ms < in->retry_at_ms)
		return (int)(in->retry_at_ms - now_ms);
	if (rest)
		more = 0;
	while (!rest && in->pending < in->o.commit_max) {
		rc = spool_next(in->sp, &r, err, sizeof(err));
		if (rc < 0) {
			metrics_add(in->m.spool_errors, 1);
			log_every_msg(&intake__log_spool, INTAKE_LOG_MS, LOG_LVL_ERROR,
				      "%s", err);
			more = 0;
			break;
		}
		if (rc == 0) {
			more = 0;
			in->read_at_ms = now_ms + in->o.read_ms;
			break;
		}
		if (!in->pending)
			in->batch_start_ms = now_ms;
		in->pending++;
		if (intake__one(in, &r, now))
			return in->o.retry_ms;
		last = r.next;
	}
	metrics_set(in->m.spool_torn, spool_torn(in->sp));
	metrics_set(in->m.backlog, spool_backlog(in->sp));
	if (in->pending && (in->pending >= in->o.commit_max ||
			    now_ms - in->batch_start_ms >= in->o.commit_ms)) {
		if (intake__commit(in, last))
			return in->o.retry_ms;
	}
	intake__shrink_spool(in);
	intake__retention(in, clock_mono_ms());
	/* the spool's eventfd only wakes a reader that has read everything
	 * (spool_next() returned 0): otherwise run again at once */
	if (more)
		return 0;
	if (in->pending) {
		wait = (int)(in->batch_start_ms + in->o.commit_ms - clock_mono_ms());
		wait = wait > 0 ? wait : 0;
	} else {
		wait = (int)(in->retention_at_ms - clock_mono_ms());
		wait = wait < 0 ? 0 : wait > 1000 ? 1000 : wait;
	}
	if (rest && in->read_at_ms - clock_mono_ms() < wait)
		wait = (int)(in->read_at_ms - clock_mono_ms());
	return wait > 0 ? wait : 0;
}

int intake_flush(intake *in)
{
	spool_record r;
	spool_pos last = spool_tell(in->sp);
	char err[256];
	double now = clock_now();

	if (in->failed) {
		/* one more attempt at what is pending */
		in->failed = 0;
		spool_seek(in->sp, in->committed);
		last = in->committed;
	}
	for (;;) {
		int rc = spool_next(in->sp, &r, err, sizeof(err));
		if (rc <= 0)
			break;
		in->pending++;
		if (intake__one(in, &r, now))
			return -1;
		last = r.next;
		if (in->pending >= in->o.commit_max && intake__commit(in, last))
			return -1;
	}
	if (in->pending && intake__commit(in, last))
		return -1;
	return 0;
}

void intake_cleanup(intake *in)
{
	if (!in)
		return;
	if (in->st)
		store_rollback(in->st);
	msg_raw_cleanup(&intake__raw);
}
