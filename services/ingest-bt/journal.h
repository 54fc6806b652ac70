/* journal — ingest-bt's record of every raw message it published, kept so
 * that what a consumer lost can be had again: a broker killed with its
 * queues in memory, a consumer away longer than the broker's queue bound,
 * a power cut of the gateway. The archiver asks for the missing (sensor,
 * run, seq) ranges and resend.c republishes them from here (issue 17,
 * services/archiver/README.md states the guarantee).
 *
 * Bounded in bytes and in time: segment files <dir>/journal.<gen>
 * (gen: 20 decimal digits), rotated at segment_bytes; the oldest segments
 * go while all together exceed max_bytes or their newest sample is
 * max_age_s older than the newest sample held (age on the data's clock:
 * time the gateway spends switched off costs nothing).
 *
 * Crash-safe: append-only, one checksummed record per message (jrec.h);
 * every open starts a new segment, so a torn tail is never appended to;
 * at open every segment is read and indexed, and a record that does not
 * check (a torn write, damage) is skipped up to the next one that does.
 *
 * fsync policy: the segment being written is fdatasync'ed at most
 * fsync_ms after an append (journal_sync, from the service loop), before
 * it is closed at rotation, and at journal_close; the directory is
 * fsynced when a segment is created or deleted. After a power cut the
 * journal therefore holds every record appended more than fsync_ms (plus
 * one fdatasync's duration) before it. fsync_ms 0: after every append;
 * negative: never (tests, benchmarks on tmpfs).
 *
 * Index: in memory, per (sensor, run): the seq of its first record held
 * and the place of each record after it, 8 bytes per message; rebuilt at
 * open. A request by range is then one pread per message.
 *
 * One process per directory: journal_open takes a lock (flock on
 * <dir>/lock) and refuses a directory another process holds.
 *
 * Threads: one (the service loop). Ownership: journal_open allocates,
 * journal_close syncs, closes and frees (NULL-safe). journal_get fills the
 * caller's msg_raw. */
#ifndef ANOMESH_JOURNAL_H
#define ANOMESH_JOURNAL_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL    bad options, or the directory is in use by another process
 *   AM_ENOMEM
 *   AM_EIO       a file could not be opened, read, written or synced (err)
 *   AM_EFULL     disk full (ENOSPC, EDQUOT, EFBIG): nothing was written
 *   AM_EFORMAT   the message breaks a cap of msg.h: not journalled
 */
#include "error.h"

#define JOURNAL_MAX_BYTES_DEFAULT (256ll << 20)
#define JOURNAL_MAX_AGE_DEFAULT 600.0
#define JOURNAL_SEGMENT_MIN (64ll << 10)

typedef struct journal_options {
	const char *dir;       /* created if missing (required) */
	int64_t max_bytes;     /* all segments together; 0: 256 MiB */
	double max_age_s;      /* 0: 600 s */
	int64_t segment_bytes; /* 0: max_bytes / 8, at least 64 KiB, at most 64 MiB */
	int fsync_ms;          /* see above: > 0 at most this late, 0 always, < 0 never */
} journal_options;

typedef struct journal_stats {
	int64_t bytes;        /* of all segments */
	int64_t segments;     /* files */
	int64_t records;      /* messages held and indexed */
	int64_t appended;     /* records appended since open */
	int64_t append_bytes; /* their bytes */
	int64_t append_errors;
	int64_t torn;        /* records that did not check, skipped at open */
	int64_t evicted;     /* segments deleted by the bounds */
	int64_t syncs;       /* fdatasync calls */
	int64_t sync_us_max; /* the longest one */
	int64_t sync_us_last;
	int64_t index_bytes; /* memory of the index */
} journal_stats;

/* One (sensor, run) held: seqs first..last (some may be missing in
 * between: journal_get says), last_t the end of its newest record. */
typedef struct journal_run {
	const char *sensor, *run;
	uint64_t first, last;
	double last_t;
} journal_run;

typedef struct journal journal;

/* Open dir, index every segment in it, drop what is beyond the bounds and
 * start a new segment. Returns 0, AM_EINVAL, AM_ENOMEM or AM_EIO, with
 * err. */
int journal_open(journal **out, const journal_options *o, char *err, size_t errlen);
void journal_close(journal *j);

/* Append m's record (sensor, run, seq and samples as published) and index
 * it; then the bounds may delete the oldest segments. now_ms (monotonic)
 * starts the fsync delay. On failure nothing partial stays in the file.
 * Returns 0, AM_EFULL, AM_EIO, AM_EFORMAT or AM_ENOMEM. */
int journal_append(journal *j, const msg_raw *m, int64_t now_ms, char *err,
		   size_t errlen);

/* fdatasync what was appended if the policy wants it by now_ms (or
 * always, with force). Returns 1 when it synced, 0 when nothing was due,
 * or AM_EIO (err). */
int journal_sync(journal *j, int64_t now_ms, int force, char *err, size_t errlen);
/* Monotonic ms by which journal_sync wants to run; INT64_MAX: nothing to
 * sync. */
int64_t journal_deadline(const journal *j);

/* The message (sensor, run, seq) as journalled, into out (msg_raw_init()ed;
 * its storage reused), replay clear. Returns 1, 0 when it is not held, or
 * AM_EIO / AM_EFORMAT (a record that no longer checks) / AM_ENOMEM. */
int journal_get(journal *j, const char *sensor, const char *run, uint64_t seq,
		msg_raw *out, char *err, size_t errlen);

/* The seqs held of (sensor, run): 1 and first/last, or 0 when none. */
int journal_range(const journal *j, const char *sensor, const char *run, uint64_t *first,
		  uint64_t *last);

/* Iterate the (sensor, run)s held: start with *pos = 0; 1 and *out (its
 * strings valid until the next append), or 0 at the end. */
int journal_next_run(const journal *j, size_t *pos, journal_run *out);

void journal_get_stats(const journal *j, journal_stats *st);

#endif
