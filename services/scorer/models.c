/* models — the sensor-to-model map and hot reload (see models.h). A file
 * is read into memory in one go through one descriptor, so the identity
 * recorded (fstat of that descriptor) is the identity of the bytes that were
 * checked, even if the path is replaced meanwhile. */
#include "models.h"

#include "aefile.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void models_init(model_map *mm) { memset(mm, 0, sizeof(*mm)); }

void models_cleanup(model_map *mm)
{
	if (!mm)
		return;
	for (size_t i = 0; i < mm->n_slots; i++)
		ae_model_cleanup(&mm->slots[i].model);
	memset(mm, 0, sizeof(*mm));
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
		if (strcmp(mm->slots[slot].path, path) == 0)
			break;
	if (slot == mm->n_slots) {
		if (mm->n_slots == MODELS_MAX_SLOTS) {
			snprintf(err, errlen, "--model '%s': more than %d distinct files",
				 spec, MODELS_MAX_SLOTS);
			return AM_EINVAL;
		}
		memset(&mm->slots[slot], 0, sizeof(mm->slots[slot]));
		memcpy(mm->slots[slot].path, path, strlen(path) + 1);
		mm->n_slots++;
	}
	memcpy(mm->rules[mm->n_rules].pattern, pat, plen);
	mm->rules[mm->n_rules].pattern[plen] = '\0';
	mm->rules[mm->n_rules].slot = slot;
	mm->n_rules++;
	return 0;
}

int models_lookup(const model_map *mm, const char *sensor)
{
	for (size_t i = 0; i < mm->n_rules; i++)
		if (fnmatch(mm->rules[i].pattern, sensor, 0) == 0)
			return (int)mm->rules[i].slot;
	return -1;
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
	unsigned char *data = NULL;
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
	data = malloc(size);
	if (!data) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = AM_ENOMEM;
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", path,
				 n < 0 ? strerror(errno) : "shrank while being read");
			rc = n < 0 ? AM_EIO : AM_EFORMAT;
			goto out;
		}
		got += (size_t)n;
	}
	rc = aefile_decode(data, size, m, err, errlen);
	if (rc != 0 && errlen > 0) {
		char why[384];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
	}
	if (rc == 0) /* the trailer, verified by decode */
		*crc = (uint32_t)data[size - 4] | (uint32_t)data[size - 3] << 8 |
		       (uint32_t)data[size - 2] << 16 | (uint32_t)data[size - 1] << 24;
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
static int models__load(model_slot *s, char *err, size_t errlen)
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
	s->gen++;
	models__label(s);
	return 1;
}

int models_load_all(model_map *mm, char *err, size_t errlen)
{
	for (size_t i = 0; i < mm->n_slots; i++)
		if (models__load(&mm->slots[i], err, errlen) < 0)
			return AM_ELOAD;
	return 0;
}

int models_refresh(model_map *mm, int force, models_report_fn report, void *ud)
{
	char err[512];
	int changed = 0;

	for (size_t i = 0; i < mm->n_slots; i++) {
		model_slot *s = &mm->slots[i];
		struct stat st;
		uint64_t id[4] = {0, 0, 0, 0};
		int same, rc;

		if (stat(s->path, &st) == 0)
			models__id_of(&st, id);
		same = id[0] == s->dev && id[1] == s->ino && id[2] == s->size &&
		       (int64_t)id[3] == s->mtime_ns;
		if (same && !force)
			continue;
		rc = models__load(s, err, sizeof(err));
		if (rc < 0) {
			if (report)
				report(ud, i, MODELS_REFUSED, err);
		} else if (rc > 0) {
			changed++;
			if (report)
				report(ud, i, MODELS_RELOADED, s->label);
		} else if (report) {
			report(ud, i, MODELS_UNCHANGED, s->label);
		}
	}
	return changed;
}
