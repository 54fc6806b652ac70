/* sensor — one source of ingest-bt end to end: its link state machine
 * (connect, backoff and reconnect) around its LPMS session, or its CSV
 * replay (replay.c) for csv: sources; frame-counter bookkeeping and the
 * batching of its samples onto {root}/{sensor}/raw.
 *
 * The service loop polls sensor_fd() for every sensor and calls
 * sensor_handle() with the revents and sensor_tick() on each turn; all
 * timing is by the monotonic clock. Link problems are logged here (this is
 * service code, not a leaf) with the sensor's name and the retry delay.
 *
 * Ownership: sensor is embedded by the caller; sensor_cleanup() closes the
 * link and frees the replay and batch (NULL-safe, idempotent). The
 * options, the MQTT client and the counters are borrowed. */
#ifndef ANOMESH_SENSOR_H
#define ANOMESH_SENSOR_H

#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "pub.h"
#include "replay.h"
#include "session.h"
#include "source.h"

#include <poll.h>
#include <stdint.h>

typedef struct ingest_opts {
	sess_cfg sess;
	size_t batch_samples;
	int64_t batch_ms;
	int qos;
	int64_t backoff_min_ms, backoff_max_ms;
	double csv_rate_hz; /* for CSV files without a numeric timestamp column */
	char run[16];
	journal *jr; /* every published message goes here first (NULL: none) */
} ingest_opts;

/* Shared counters (process-wide sums over all sensors). */
typedef struct ingest_counters {
	metrics_slot *samples, *published, *publish_failed, *frames_lost, *frame_gaps;
	metrics_slot *bad_checksum, *bad_end, *bad_length, *bytes_skipped, *resyncs;
	metrics_slot *decode_errors, *link_failures, *sessions, *sensors_streaming;
	metrics_slot *journal_errors;
} ingest_counters;

void ingest_counters_init(ingest_counters *c, metrics *m);

enum sensor_state { SN_BACKOFF, SN_CONNECTING, SN_SESSION, SN_CSV, SN_DONE };

typedef struct sensor {
	src_spec spec;
	const ingest_opts *o;
	mqtt_client *mq;
	ingest_counters *ctr;
	enum sensor_state st;
	int fd;
	int64_t retry_at, backoff_ms;
	session sess;
	int streaming; /* the session reached stream mode on this link */
	lpbus_stats seen;
	uint64_t seen_decode;
	pub_batch pub;
	int have_last;
	int64_t last_frame;
	uint32_t layout;
	size_t n_ch;
	char names[MSG_MAX_CHANNELS][MSG_CHANNEL_MAX + 1];
	const char *name_ptr[MSG_MAX_CHANNELS];
	replay rp;                                           /* csv: sources */
	metrics_slot *m_samples, *m_lost, *m_gaps, *m_links; /* this sensor's own */
	log_every le_pub, le_journal;
	int64_t now_ms; /* the loop's time for callbacks */
} sensor;

/* Set up; a CSV source is read here. Returns 0, AM_EINVAL (bad batch
 * options) or replay_open()'s code, with err. The first
 * connect is attempted on the first sensor_tick(). m (may be NULL) gets
 * per-sensor counters "<sensor>.samples_in", ".frames_lost", ".frame_gaps"
 * and ".link_failures" where the name fits METRICS_NAME_MAX. */
int sensor_init(sensor *s, const src_spec *spec, const ingest_opts *o, mqtt_client *mq,
		ingest_counters *ctr, metrics *m, char *err, size_t errlen);
void sensor_cleanup(sensor *s);

/* Fill p for poll() and return 1, or 0 when there is nothing to poll. */
int sensor_pollfd(const sensor *s, struct pollfd *p);
void sensor_handle(sensor *s, short revents, int64_t now_ms);
/* Timers: reconnects, command timeouts, silence, CSV pacing, batch age. */
void sensor_tick(sensor *s, int64_t now_ms);
/* Monotonic ms of the next timer. */
int64_t sensor_deadline(const sensor *s);
/* Publish what is batched (shutdown). */
void sensor_flush(sensor *s);
/* 1 when a CSV source has been replayed to its end. */
int sensor_done(const sensor *s);

#endif
