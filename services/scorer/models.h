/* models — which model scores which sensor, and keeping those models
 * current.
 *
 * A map of rules "GLOB=PATH" (fnmatch(3) patterns over sensor ids, tried
 * in order, first match wins) to model files. Each distinct path is loaded
 * once into a slot: the ae_model, its label "name@version" for predictions
 * (version: the file's CRC-32 in hex, so any change of content is a new
 * version and the same file is the same version everywhere) and the file's
 * identity (device, inode, size, mtime) to notice replacement on disk.
 *
 * models_refresh() reloads slots whose file changed (or all, on SIGHUP).
 * A new file is read and checked completely (aefile_decode) before it
 * replaces anything: a truncated, corrupt or foreign file is refused and
 * the old model keeps serving; the refusal is reported once per distinct
 * bad file, not on every check. A slot's generation number changes only
 * when its model really changed (different CRC), so a SIGHUP that finds
 * the same files does not restart any window.
 *
 * Ownership: model_map is embedded by the caller; models_init() zeroes it,
 * models_cleanup() frees every model (NULL-safe, idempotent). Slots never
 * move, so pointers to slot models stay valid until the next refresh that
 * reports them changed. Nothing here logs: results come back through the
 * report callback. */
#ifndef ANOMESH_SCORER_MODELS_H
#define ANOMESH_SCORER_MODELS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "msg.h"

#define MODELS_MAX_RULES 64
#define MODELS_MAX_SLOTS 16
#define MODELS_PATTERN_MAX 128

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL  bad rule text or too many rules/files
 *   AM_ELOAD   a model file could not be loaded
 */
#include "error.h"

typedef struct model_slot {
	char path[PATH_MAX];
	int loaded;
	ae_model model;
	uint64_t gen; /* 1 after the first load; +1 per real change */
	uint32_t crc;
	char label[MSG_NAME_MAX + 1]; /* "name@crc" */
	/* identity of the file last looked at (loaded or refused) */
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	int refused; /* that file was refused (report once) */
} model_slot;

typedef struct model_rule {
	char pattern[MODELS_PATTERN_MAX + 1];
	size_t slot;
} model_rule;

typedef struct model_map {
	size_t n_rules;
	model_rule rules[MODELS_MAX_RULES];
	size_t n_slots;
	model_slot slots[MODELS_MAX_SLOTS];
} model_map;

void models_init(model_map *mm);
void models_cleanup(model_map *mm);

/* Add a rule "GLOB=PATH" (or a bare PATH, meaning "*=PATH"). Returns 0 or
 * AM_EINVAL with err. */
int models_add_rule(model_map *mm, const char *spec, char *err, size_t errlen);

/* Load every slot's file. Returns 0, or AM_ELOAD with err naming the
 * file and the problem (at start-up a missing model is fatal). */
int models_load_all(model_map *mm, char *err, size_t errlen);

/* Slot index for a sensor id, or -1 when no rule matches. */
int models_lookup(const model_map *mm, const char *sensor);

/* What models_refresh() did to one slot. */
enum models_event { MODELS_RELOADED, MODELS_UNCHANGED, MODELS_REFUSED };
typedef void (*models_report_fn)(void *ud, size_t slot, enum models_event ev,
				 const char *msg);

/* Check every slot's file; reload those whose identity changed (force: all).
 * Reports each reload, each refusal (once per bad file) and, when forced,
 * each unchanged slot. Returns the number of slots whose model changed. */
int models_refresh(model_map *mm, int force, models_report_fn report, void *ud);

/* Read and check one model file: fills m (caller cleans up) and the file's
 * CRC. Returns 0 or an AM_E* code with err. Exposed for tests. */
int models_read_file(const char *path, ae_model *m, uint32_t *crc, uint64_t id[4],
		     char *err, size_t errlen);

#endif
