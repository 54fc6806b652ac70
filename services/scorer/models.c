/* models — the sensor-to-model map and hot reload (see models.h). A file
 * is read into memory in one go through one descriptor, so the identity
 * recorded (fstat of that descriptor) is the identity of the bytes that were
 * checked, even if the path is replaced meanwhile. The directory is looked
 * at by polling (readdir and a stat per file every check): it works on any
 * file system, and a check of a few hundred files costs well under a
 * millisecond. */
#include "models.h"

#include "aefile.h"
#include "file.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void models_init(model_map *mm)
{
	memset(mm, 0, sizeof(*mm));
	table_init(&mm->by_key);
}

void models_cleanup(model_map *mm)
{
	if (!mm)
		return;
	for (size_t i = 0; i < mm->n_slots; i++)
		ae_model_cleanup(&mm->slots[i].model);
	free(mm->slots);
	table_cleanup(&mm->by_key, NULL);
	memset(mm, 0, sizeof(*mm));
	table_init(&mm->by_key);
}

/* A new, empty slot for path; its index, or -1 when the map is full or out
 * of memory. */
static long models__new_slot(model_map *mm, const char *path)
{
	if (mm->n_slots == MODELS_MAX_SLOTS)
		return -1;
	if (mm->n_slots == mm->cap_slots) {
		size_t cap = mm->cap_slots ? 2 * mm->cap_slots : 4;
		model_slot *ns = realloc(mm->slots, cap * sizeof(*ns));
		if (!ns)
			return -1;
		mm->slots = ns;
		mm->cap_slots = cap;
	}
	memset(&mm->slots[mm->n_slots], 0, sizeof(mm->slots[0]));
	snprintf(mm->slots[mm->n_slots].path, PATH_MAX, "%s", path);
	return (long)mm->n_slots++;
}

int models_set_dir(model_map *mm, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (strlen(dir) + MSG_SENSOR_MAX + 6 >= PATH_MAX)
		return am_fail(err, errlen, AM_EINVAL, "--models-dir '%s': path too long",
			       dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return am_fail(err, errlen, AM_EINVAL, "--models-dir '%s': %s", dir,
			       errno && !S_ISDIR(st.st_mode) ? strerror(errno)
							     : "not a directory");
	snprintf(mm->dir, sizeof(mm->dir), "%s", dir);
	return 0;
}

int models_add_rule(model_map *mm, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	const char *pat = "*", *path = spec;
	size_t plen = 1, slot;

	if (eq) {
		pat = spec;
		plen = (size_t)(eq - spec);
		path = eq + 1;
	}
	if (plen == 0 || plen > MODELS_PATTERN_MAX || !*path ||
	    strlen(path) >= PATH_MAX) {
		snprintf(err, errlen,
			 "--model '%s': expected GLOB=PATH (pattern 1..%d bytes, a path)",
			 spec, MODELS_PATTERN_MAX);
		return AM_EINVAL;
	}
	if (mm->n_rules == MODELS_MAX_RULES) {
		snprintf(err, errlen, "--model '%s': more than %d rules", spec,
			 MODELS_MAX_RULES);
		return AM_EINVAL;
	}
	for (slot = 0; slot < mm->n_slots; slot++)
		if (strcmp(mm->slots[slot].path, path) == 0 && !mm->slots[slot].key[0])
			break;
	if (slot == mm->n_slots && models__new_slot(mm, path) < 0) {
		snprintf(err, errlen, "--model '%s': more than %d distinct files", spec,
			 MODELS_MAX_SLOTS);
		return AM_EINVAL;
	}
	memcpy(mm->rules[mm->n_rules].pattern, pat, plen);
	mm->rules[mm->n_rules].pattern[plen] = '\0';
	mm->rules[mm->n_rules].slot = slot;
	mm->n_rules++;
	return 0;
}

/* The loaded directory slot serving key, or -1. */
static int models__dir_slot(const model_map *mm, const char *key)
{
	uintptr_t v = (uintptr_t)table_get(&mm->by_key, key);
	return v && mm->slots[v - 1].loaded ? (int)(v - 1) : -1;
}

int models_lookup(const model_map *mm, const char *sensor)
{
	int s = models__dir_slot(mm, sensor);
	if (s >= 0)
		return s;
	for (size_t i = 0; i < mm->n_rules; i++)
		if (fnmatch(mm->rules[i].pattern, sensor, 0) == 0)
			return (int)mm->rules[i].slot;
	return models__dir_slot(mm, MODELS_DEFAULT);
}

static void models__id_of(const struct stat *st, uint64_t id[4])
{
	id[0] = (uint64_t)st->st_dev;
	id[1] = (uint64_t)st->st_ino;
	id[2] = (uint64_t)st->st_size;
	id[3] =
	    (uint64_t)((int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec);
}

int models_read_file(const char *path, ae_model *m, uint32_t *crc, uint64_t id[4],
		     char *err, size_t errlen)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0, size;
	int rc = AM_EIO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(id, 0, 4 * sizeof(id[0]));
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return AM_EIO;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	models__id_of(&st, id);
	if (!S_ISREG(st.st_mode) || st.st_size < 16 ||
	    (size_t)st.st_size > AEFILE_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a model file (%lld bytes)", path,
			 (long long)st.st_size);
		rc = AM_EFORMAT;
		goto out;
	}
	size = (size_t)st.st_size;
	rc = file_read_capped(fd, size, &data, &got);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == AM_ENOMEM ? "out of memory" : strerror(errno));
		goto out;
	}
	if (got != size) { /* the bytes are not those fstat described */
		snprintf(err, errlen, "%s: %s while being read", path,
			 got < size ? "shrank" : "grew");
		rc = AM_EFORMAT;
		goto out;
	}
	rc = aefile_decode((const unsigned char *)data, size, m, err, errlen);
	if (rc != 0 && errlen > 0) {
		char why[384];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
	}
	if (rc == 0) /* the trailer, verified by decode */
		*crc = (uint32_t)(unsigned char)data[size - 4] |
		       (uint32_t)(unsigned char)data[size - 3] << 8 |
		       (uint32_t)(unsigned char)data[size - 2] << 16 |
		       (uint32_t)(unsigned char)data[size - 1] << 24;
out:
	free(data);
	close(fd);
	return rc;
}

/* "name@crc" within MSG_NAME_MAX, name cut and stripped of anything a
 * prediction's model field would refuse. */
static void models__label(model_slot *s)
{
	char name[48];
	size_t j = 0;
	for (const char *p = s->model.meta.name; *p && j + 1 < sizeof(name); p++)
		if (*p > ' ' && *p < 0x7f && *p != '"' && *p != '\\')
			name[j++] = *p;
	name[j] = '\0';
	snprintf(s->label, sizeof(s->label), "%s@%08x", j ? name : "model", s->crc);
}

/* Load slot s from its file. Returns 1 if the model changed, 0 if the file
 * holds the same model, negative (err filled) if refused. */
static int models__load(model_slot *s, uint64_t *next_gen, char *err, size_t errlen)
{
	ae_model m;
	uint32_t crc = 0;
	uint64_t id[4];
	int rc;

	memset(&m, 0, sizeof(m));
	rc = models_read_file(s->path, &m, &crc, id, err, errlen);
	s->dev = id[0];
	s->ino = id[1];
	s->size = id[2];
	s->mtime_ns = (int64_t)id[3];
	if (rc) {
		s->refused = 1;
		return rc;
	}
	s->refused = 0;
	if (s->loaded && crc == s->crc) {
		ae_model_cleanup(&m);
		return 0;
	}
	if (s->loaded)
		ae_model_cleanup(&s->model);
	s->model = m; /* params pointer and the w/b pointers into it move along */
	s->crc = crc;
	s->loaded = 1;
	s->gen = ++*next_gen;
	models__label(s);
	return 1;
}

int models_load_all(model_map *mm, char *err, size_t errlen)
{
	for (size_t i = 0; i < mm->n_slots; i++)
		if (!mm->slots[i].key[0] &&
		    models__load(&mm->slots[i], &mm->next_gen, err, errlen) < 0)
			return AM_ELOAD;
	return 0;
}

int models_configure(model_map *mm, const char *const *rules, size_t n_rules,
		     const char *dir, const char *fallback, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < n_rules && !rc; i++)
		rc = models_add_rule(mm, rules[i], err, errlen);
	if (!rc && n_rules == 0 && !dir)
		rc = models_add_rule(mm, fallback, err, errlen);
	if (!rc && dir)
		rc = models_set_dir(mm, dir, err, errlen);
	return rc ? rc : models_load_all(mm, err, errlen);
}

/* The key of a directory entry: `<sensor>.aem` or `default.aem`; 0, or -1
 * for any other name. */
static int models__key_of(const char *name, char *key, size_t keylen)
{
	size_t n = strlen(name);
	if (n <= 4 || strcmp(name + n - 4, ".aem") != 0 || n - 4 >= keylen)
		return -1;
	memcpy(key, name, n - 4);
	key[n - 4] = '\0';
	return strcmp(key, MODELS_DEFAULT) == 0 || text_sensor_valid(key) ? 0 : -1;
}

/* Unload directory slot i (its file is gone). */
static void models__unload(model_map *mm, size_t i, models_report_fn report, void *ud)
{
	model_slot *s = &mm->slots[i];
	int was = s->loaded;
	ae_model_cleanup(&s->model);
	s->loaded = 0;
	s->refused = 0;
	s->dev = s->ino = s->size = 0;
	s->mtime_ns = 0;
	if (was) {
		mm->epoch++;
		if (report)
			report(ud, i, MODELS_REMOVED, s->label);
	}
}

/* Take in new directory files (as empty slots, loaded by the caller's
 * pass) and unload the slots of files gone. Returns how many were
 * unloaded; -1 (reported by the caller once) if the directory cannot be
 * read. */
static int models__scan(model_map *mm, models_report_fn report, void *ud)
{
	DIR *d = opendir(mm->dir);
	struct dirent *e;
	unsigned char *seen;
	size_t old_n = mm->n_slots;
	int gone = 0;

	if (!d)
		return -1;
	seen = calloc(old_n + 1, 1);
	while ((e = readdir(d)) != NULL) {
		char key[MSG_SENSOR_MAX + 1], path[PATH_MAX];
		uintptr_t v;
		if (e->d_name[0] == '.' || models__key_of(e->d_name, key, sizeof(key)))
			continue;
		v = (uintptr_t)table_get(&mm->by_key, key);
		if (!v) {
			long i;
			/* fits: set_dir left room for a key, and the name is
			 * key + ".aem" */
			if ((size_t)snprintf(path, sizeof(path), "%s/%s.aem", mm->dir,
					     key) >= sizeof(path))
				continue;
			i = models__new_slot(mm, path);
			if (i < 0 ||
			    table_put(&mm->by_key, key, (void *)(uintptr_t)(i + 1)))
				continue; /* full: the file waits for a later check */
			snprintf(mm->slots[i].key, sizeof(mm->slots[i].key), "%s", key);
			continue;
		}
		if (seen && v - 1 < old_n)
			seen[v - 1] = 1;
	}
	closedir(d);
	for (size_t i = 0; seen && i < old_n; i++) {
		if (!mm->slots[i].key[0] || seen[i])
			continue;
		if (mm->slots[i].loaded || mm->slots[i].refused) {
			struct stat st;
			if (stat(mm->slots[i].path, &st) == 0)
				continue; /* readdir raced a rename: still there */
			models__unload(mm, i, report, ud);
			gone++;
		}
	}
	free(seen);
	return gone;
}

int models_refresh(model_map *mm, int force, models_report_fn report, void *ud)
{
	char err[512];
	int changed = 0;

	if (mm->dir[0]) {
		int gone = models__scan(mm, report, ud);
		changed += gone > 0 ? gone : 0;
	}
	for (size_t i = 0; i < mm->n_slots; i++) {
		model_slot *s = &mm->slots[i];
		struct stat st;
		uint64_t id[4] = {0, 0, 0, 0};
		int same, rc, was_loaded = s->loaded;

		if (stat(s->path, &st) == 0)
			models__id_of(&st, id);
		else if (s->key[0])
			continue; /* a directory file gone: the scan's business */
		same = id[0] == s->dev && id[1] == s->ino && id[2] == s->size &&
		       (int64_t)id[3] == s->mtime_ns;
		if (same && !force)
			continue;
		rc = models__load(s, &mm->next_gen, err, sizeof(err));
		if (rc < 0) {
			if (report)
				report(ud, i, MODELS_REFUSED, err);
		} else if (rc > 0) {
			changed++;
			if (!was_loaded)
				mm->epoch++;
			if (report)
				report(ud, i, was_loaded ? MODELS_RELOADED : MODELS_ADDED,
				       s->label);
		} else if (report) {
			report(ud, i, MODELS_UNCHANGED, s->label);
		}
	}
	return changed;
}
