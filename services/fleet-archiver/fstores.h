/* fstores — the central archive on disk: one SQLite store (the gateway
 * archiver's own, services/archiver/store.h, unchanged) per (plant,
 * gateway, partition), at <dir>/<plant>/<gateway>/p<NN>.db. The file is the
 * gateway dimension: sensors with the same name on two gateways land in
 * two files and never mix, and each file has the schema of a gateway's
 * archive, so `archiver export --db` and every query on a gateway archive
 * work on it as they are. A sensor's partition is fixed by the cluster's
 * mapping, so each file has exactly one writer (the archiver that owns the
 * partition) and a sensor's rows are never split across files.
 *
 * Writes are batched across all files: fstores_put() adds to each file's
 * open batch, fstores_commit() commits every file with a batch open. A
 * failed put or commit rolls back every open batch (store.h's rule, for
 * the whole set) so the caller re-feeds the lot from JetStream (nothing is
 * acknowledged before the commit). Duplicates (same sensor, run, seq) are
 * dropped and counted by the store, which makes redelivery harmless.
 *
 * Ownership: fstores_open() allocates the set, fstores_close() rolls back
 * what is uncommitted, closes every store and frees it (NULL-safe). Keys
 * and messages handed in are not kept. Threads: one.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL, AM_ENOMEM, AM_EIO
 * (a directory could not be made), AM_ETOOBIG (path too long), and the
 * store's AM_EDB, AM_EFULL, AM_EIO. */
#ifndef ANOMESH_FSTORES_H
#define ANOMESH_FSTORES_H

#include "../archiver/store.h" /* the one exception: ARCHITECTURE.md */
#include "fsubject.h"

#include <stddef.h>

typedef struct fstores fstores;

/* dir: the archive's root (created if missing); tmpl: the options every
 * store is opened with (its path is ignored). */
int fstores_open(fstores **out, const char *dir, const store_options *tmpl, char *err,
		 size_t errlen);
void fstores_close(fstores *fs);

/* Add m (raw, already decoded and checked against s's sensor) to the
 * batch of s's file, opening the file on first use. *dup as store_put_raw.
 * On failure every open batch is rolled back. */
int fstores_put(fstores *fs, const fsubject *s, const msg_raw *m, double now, int *dup,
		char *err, size_t errlen);
/* Commit every open batch; on failure roll back all of them. */
int fstores_commit(fstores *fs, char *err, size_t errlen);
/* Roll every open batch back. */
void fstores_rollback(fstores *fs);
/* One retention step on each file (between commits). *deleted: messages
 * removed in all. */
int fstores_retention(fstores *fs, double now, int *deleted, char *err, size_t errlen);

/* Sums of every file's store_stats, and the number of files open. */
void fstores_stats(const fstores *fs, store_stats *st, size_t *files);

#endif
