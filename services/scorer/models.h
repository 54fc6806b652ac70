/* models — which model scores which sensor, and keeping those models
 * current.
 *
 * Two sources of models:
 *  - rules "GLOB=PATH" (fnmatch(3) patterns over sensor ids, tried in
 *    order, first match wins), given at start-up (--model);
 *  - a models directory (--models-dir), watched: a file `<sensor>.aem`
 *    serves that sensor, `default.aem` every sensor that neither its own
 *    file nor a rule serves. Files appear, change and disappear while the
 *    scorer runs (`anomesh-learn` writes one there atomically); other names
 *    (temporary files, a name that is no sensor id) are ignored.
 * A sensor is served by its own file if one is loaded, else by the first
 * rule it matches, else by default.aem, else by none.
 *
 * Each distinct path is loaded once into a slot: the ae_model, its label
 * "name@version" for predictions (version: the file's CRC-32 in hex, so any
 * change of content is a new version and the same file is the same version
 * everywhere) and the file's identity (device, inode, size, mtime) to
 * notice replacement on disk.
 *
 * models_refresh() looks at the directory (new files load, removed ones
 * unload) and reloads slots whose file changed (or all, on SIGHUP). A new
 * file is read and checked completely (aefile_decode) before it replaces
 * anything: a truncated, corrupt or foreign file is refused and the old
 * model keeps serving (a new directory file that is refused serves no
 * one); the refusal is reported once per distinct bad file, not on every
 * check. A slot's generation number is unique over the whole map and
 * changes only when its model really changed (different CRC), so a SIGHUP
 * that finds the same files does not restart any window, and a sensor that
 * moves to another slot always sees a new generation. The map's epoch
 * changes whenever which slot serves a sensor may have changed (a
 * directory file loaded or removed): callers cache lookups against it.
 *
 * Ownership: model_map is embedded by the caller; models_init() zeroes it,
 * models_cleanup() frees every model and the slot array (NULL-safe,
 * idempotent). Slot indices are stable for the map's life (a removed
 * directory file's slot stays, unloaded, and is reused if the file comes
 * back); pointers into the slot array are valid until the next
 * models_add_rule() or models_refresh(). Nothing here logs: results come
 * back through the report callback. */
#ifndef ANOMESH_SCORER_MODELS_H
#define ANOMESH_SCORER_MODELS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "msg.h"
#include "table.h"

#define MODELS_MAX_RULES 64
#define MODELS_MAX_SLOTS 4096 /* rule files and directory files together */
#define MODELS_PATTERN_MAX 128
#define MODELS_DEFAULT "default" /* default.aem in the directory */

/* Codes it returns (tree-wide, error.h):
 *   AM_EINVAL  bad rule text or too many rules/files
 *   AM_ELOAD   a model file could not be loaded
 */
#include "error.h"

typedef struct model_slot {
	char path[PATH_MAX];
	/* directory files: the sensor (or MODELS_DEFAULT) the file serves;
	 * "" for a rule's file */
	char key[MSG_SENSOR_MAX + 1];
	int loaded;
	ae_model model;
	uint64_t gen; /* unique over the map; new at every real change */
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
	size_t n_slots, cap_slots;
	model_slot *slots;  /* n_slots, indices stable */
	char dir[PATH_MAX]; /* "": no models directory */
	table by_key;       /* directory key -> slot index + 1 (as a pointer) */
	uint64_t next_gen;
	uint64_t epoch; /* new whenever lookups may have changed */
} model_map;

void models_init(model_map *mm);
void models_cleanup(model_map *mm);

/* Add a rule "GLOB=PATH" (or a bare PATH, meaning "*=PATH"). Returns 0 or
 * AM_EINVAL with err. */
int models_add_rule(model_map *mm, const char *spec, char *err, size_t errlen);

/* Watch dir for `<sensor>.aem` and `default.aem` (read at the next
 * models_refresh()). Returns 0 or AM_EINVAL (path too long, not a
 * directory). */
int models_set_dir(model_map *mm, const char *dir, char *err, size_t errlen);

/* Load every rule's file. Returns 0, or AM_ELOAD with err naming the
 * file and the problem (at start-up a missing rule model is fatal; the
 * directory's files are read by models_refresh and only ever refused). */
int models_load_all(model_map *mm, char *err, size_t errlen);

/* All of start-up: the rules (or, with neither rules nor dir, the one rule
 * fallback), the directory (NULL: none), and the rules' files loaded.
 * Returns 0, AM_EINVAL (a bad rule or directory: a usage error) or
 * AM_ELOAD, with err. */
int models_configure(model_map *mm, const char *const *rules, size_t n_rules,
		     const char *dir, const char *fallback, char *err, size_t errlen);

/* Slot index serving a sensor id, or -1 when none does. */
int models_lookup(const model_map *mm, const char *sensor);

/* What models_refresh() did to one slot. ADDED: a directory file now
 * serves (first load, or back after removal); REMOVED: its file is gone
 * and it serves no more. */
enum models_event {
	MODELS_RELOADED,
	MODELS_UNCHANGED,
	MODELS_REFUSED,
	MODELS_ADDED,
	MODELS_REMOVED
};
typedef void (*models_report_fn)(void *ud, size_t slot, enum models_event ev,
				 const char *msg);

/* Look at the directory, then check every slot's file; reload those whose
 * identity changed (force: all). Reports each addition, removal, reload,
 * each refusal (once per bad file) and, when forced, each unchanged slot.
 * Returns the number of slots whose model changed (added and removed
 * included). */
int models_refresh(model_map *mm, int force, models_report_fn report, void *ud);

/* Read and check one model file: fills m (caller cleans up) and the file's
 * CRC. Returns 0 or an AM_E* code with err. Exposed for tests. */
int models_read_file(const char *path, ae_model *m, uint32_t *crc, uint64_t id[4],
		     char *err, size_t errlen);

#endif
