/* csvsink — the archiver's plain-file output: one CSV file per sensor per
 * UTC day, <dir>/<sensor>/<sensor>_<YYYY-MM-DD>.csv, with the header
 * "t,<channels...>" (csvrow.h: the same format as `archiver export`,
 * which ae-train reads as it is), one row per sample. A file is rotated
 * when the day of the samples changes; if a sensor's channel set changes
 * within a day, the new set goes to <sensor>_<date>.<k>.csv so that every
 * file has one header. Reopening appends to an existing file with the same
 * header. Any number of sensors; at most a bounded number of files are
 * open at once (the least recently written is closed first).
 *
 * Guarantees: rows reach the kernel at csvsink_flush() (the archiver calls
 * it at each commit). The sink does not deduplicate: a message replayed
 * after a crash in CSV-only mode (--db '') may appear twice; with SQLite
 * enabled the archiver writes only messages the store did not refuse as
 * duplicates.
 *
 * Ownership: csvsink_open() allocates, csvsink_close() flushes, closes
 * every file and frees (NULL-safe). One thread. */
#ifndef ANOMESH_CSVSINK_H
#define ANOMESH_CSVSINK_H

#include "msg.h"

#include <stddef.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL
 *   AM_ENOMEM
 *   AM_EIO
 *   AM_EFULL
 */
#include "error.h"

typedef struct csvsink csvsink;

int csvsink_open(csvsink **out, const char *dir, char *err, size_t errlen);
void csvsink_close(csvsink *k);

/* Append the samples of m to its sensor's file of the day of each sample
 * (a message spanning midnight is split). Returns 0 or AM_E*. */
int csvsink_put(csvsink *k, const msg_raw *m, char *err, size_t errlen);

/* fflush every open file. Returns 0 or AM_EIO/EFULL. */
int csvsink_flush(csvsink *k, char *err, size_t errlen);

#endif
