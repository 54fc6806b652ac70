/* spool — the archiver's append-only journal of arrived MQTT messages, the
 * durable step between the broker's acknowledgement and the SQLite commit.
 *
 * Measured with Paho MQTTAsync 1.3.12 (MQTT v5, QoS 1): the arrival
 * callback runs on Paho's receive thread before the PUBACK is sent, and
 * while it runs Paho reads nothing more; the PUBACK follows its return of
 * 1. (A return of 0 makes Paho queue the message in memory and acknowledge
 * it anyway: lost at kill -9, with or without Paho's file persistence.) So
 * the archiver's arrival hook calls spool_append(), which write(2)s one
 * record, and returns 1 only then; when the spool cannot be written it
 * waits and retries instead, and the broker keeps the message. The service
 * loop reads the records back with spool_next() and stores them; each
 * SQLite commit saves the spool position it covers (store_set_cursor) in
 * the same transaction. After a crash the loop resumes at the committed
 * position: an acknowledged message is in the database or in the spool
 * after the cursor, never nowhere; one spooled but not yet acknowledged is
 * redelivered by the broker and dropped as a duplicate. A write(2)
 * survives kill -9 (the data is in the page cache); without fsync it does
 * not survive power loss.
 *
 * A size cap (spool_set_max) makes a full spool behave as a full disk
 * does: spool_append() returns AM_EFULL and writes nothing, so the caller
 * stops acknowledging until committed files are released. It keeps the
 * spool from taking the disk the database needs while commits fail.
 *
 * Files: <dir>/spool.<gen> (gen: 20 decimal digits). Each spool_open()
 * starts a new generation for writing (so a torn tail of a crashed
 * writer is never appended to); a file is rotated at rotate_bytes.
 * Record: u32 magic, u32 body length, u32 CRC-32 of body; body = u16 topic
 * length, topic bytes, payload bytes. A record whose header, length or CRC
 * does not check ends that file for the reader (a torn write at a crash;
 * the message it held was never released by Paho).
 *
 * Threads: spool_append() may be called from one other thread (Paho's)
 * while the owner thread reads; everything else from the owner thread.
 * Ownership: spool_open() allocates, spool_close() frees (NULL-safe). A
 * record handed out by spool_next() points into the spool's buffer and is
 * valid until the next spool_next()/spool_seek(). */
#ifndef ANOMESH_SPOOL_H
#define ANOMESH_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL
 *   AM_ENOMEM
 *   AM_EIO     err has strerror
 *   AM_EFULL   ENOSPC/EDQUOT, or the size cap reached: nothing written
 */
#include "error.h"

#define SPOOL_TOPIC_MAX 1024
#define SPOOL_BODY_MAX (2 + SPOOL_TOPIC_MAX + 1024 * 1024 + 1024)
/* The smallest cap: room for the largest record beside a file that is read
 * and committed but not yet released. */
#define SPOOL_MAX_MIN (4ll << 20)

typedef struct spool spool;

typedef struct spool_pos {
	int64_t gen, off;
} spool_pos;

typedef struct spool_record {
	const char *topic;   /* NUL-terminated */
	const char *payload; /* followed by a NUL not counted in len */
	size_t len;
	spool_pos next; /* position right after this record */
} spool_record;

/* Open dir (created if missing), start a new generation for appends and
 * position the reader at `from` (a committed cursor; {0,0}: the oldest
 * file). rotate_bytes 0: 64 MiB. Returns 0 or AM_E*. */
int spool_open(spool **out, const char *dir, spool_pos from, int64_t rotate_bytes,
	       char *err, size_t errlen);
void spool_close(spool *sp);

/* Cap the bytes of all spool files together (those of older generations
 * not yet released included) at max_bytes; 0: no cap (the default). Files
 * then rotate at a quarter of the cap at most, so that committed ones can
 * be released while the stream goes on. Returns 0, or AM_EINVAL when
 * 0 < max_bytes < SPOOL_MAX_MIN. Thread-safe. */
int spool_set_max(spool *sp, int64_t max_bytes, char *err, size_t errlen);

/* Append one message (thread-safe against the reader). On failure the file
 * is cut back to the previous record end: nothing partial stays. Returns 0,
 * AM_EFULL (disk full, or the record would take the spool over its cap),
 * AM_EIO, or AM_EINVAL (topic or payload too long). */
int spool_append(spool *sp, const char *topic, const void *payload, size_t len, char *err,
		 size_t errlen);

/* Next complete record at the read position: 1 and *rec, 0 when none yet,
 * negative AM_E* on a read error. Skips to the next generation at the
 * end (or a torn tail) of an older file. */
int spool_next(spool *sp, spool_record *rec, char *err, size_t errlen);

/* Move the reader back to pos (after a failed commit: re-read the batch). */
int spool_seek(spool *sp, spool_pos pos);
spool_pos spool_tell(const spool *sp);

/* Start a new generation for appends if the current one holds at least
 * min_bytes and the reader has read all of it; the reader moves there too
 * (so that a caught-up reader can commit a cursor in the new one
 * and release the old file: the spool shrinks without waiting for new
 * messages, which matters on a full disk). Returns 1 and *pos = {new gen, 0}
 * when rotated, 0 when not needed, negative AM_E* on error. */
int spool_rotate(spool *sp, int64_t min_bytes, spool_pos *pos, char *err, size_t errlen);

/* Delete the files of generations before pos.gen (they are committed). */
void spool_release(spool *sp, spool_pos pos);

/* Readable while appends have happened since the last spool_next() that
 * returned 0 (an eventfd), for poll(). spool_take_wake() makes it
 * unreadable again without reading (a loop that reads later, on a timer);
 * the next spool_next() that returns 0 re-arms it. */
int spool_fd(const spool *sp);
void spool_take_wake(spool *sp);

/* Bytes appended but not yet read (across generations), and torn records
 * skipped so far. */
/* Bytes of all spool files together (what the cap counts). */
int64_t spool_bytes(spool *sp);
int64_t spool_backlog(spool *sp);
int64_t spool_torn(const spool *sp);

#endif
