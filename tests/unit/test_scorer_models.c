/* test_scorer_models — the scorer's model map (services/scorer/models.c):
 * GLOB=FILE rules with first match winning, one load per distinct file,
 * labels name@crc, change detection on disk, a bad replacement refused
 * (once) while the old model keeps serving, and a SIGHUP-style forced
 * reload of an unchanged file that changes nothing; the models directory:
 * `<sensor>.aem` before the rules before `default.aem`, files picked up,
 * replaced and removed while running, other names ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../services/scorer/models.h"
#include "../harness/harness.h"
#include "aefile.h"

static char dir[200];

static const char *const ch[] = {"linacc_x", "linacc_y", "linacc_z"};

static void save_model(const char *path, const char *name, float threshold)
{
	const size_t hidden[] = {3};
	ae_spec s = {ch, 3, 8, 2, hidden, 1, AE_ACT_TANH, AE_ACT_LINEAR};
	ae_model m;
	char err[256];
	assert_int_equal(ae_model_init(&m, &s, err, sizeof err), 0);
	for (size_t i = 0; i < m.n_params; i++)
		m.params[i] = 0.01f * (float)(i % 7);
	m.threshold = threshold;
	snprintf(m.meta.name, sizeof(m.meta.name), "%s", name);
	assert_int_equal(aefile_save(&m, path, err, sizeof err), 0);
	ae_model_cleanup(&m);
}

static char *path_of(const char *name)
{
	static char buf[4][320];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static int setup(void **state)
{
	(void)state;
	return harness_tmpdir_new("test_scorer_models", dir, sizeof(dir));
}

static int teardown(void **state)
{
	(void)state;
	harness_rm_tree(dir);
	return 0;
}

typedef struct reports {
	int reloaded, unchanged, refused, added, removed;
	char last[512];
} reports;

static void on_report(void *ud, size_t slot, enum models_event ev, const char *msg)
{
	reports *r = ud;
	(void)slot;
	if (ev == MODELS_RELOADED)
		r->reloaded++;
	else if (ev == MODELS_UNCHANGED)
		r->unchanged++;
	else if (ev == MODELS_ADDED)
		r->added++;
	else if (ev == MODELS_REMOVED)
		r->removed++;
	else
		r->refused++;
	snprintf(r->last, sizeof(r->last), "%s", msg);
}

static void test_rules_and_lookup(void **state)
{
	(void)state;
	model_map mm;
	char err[512], spec[256];

	save_model(path_of("a.aem"), "arm", 0.5f);
	save_model(path_of("b.aem"), "generic", 0.7f);
	models_init(&mm);
	snprintf(spec, sizeof(spec), "arm*=%s", path_of("a.aem"));
	assert_int_equal(models_add_rule(&mm, spec, err, sizeof err), 0);
	snprintf(spec, sizeof(spec), "press[0-9]=%s", path_of("a.aem"));
	assert_int_equal(models_add_rule(&mm, spec, err, sizeof err), 0);
	assert_int_equal(models_add_rule(&mm, path_of("b.aem"), err, sizeof err), 0);
	assert_int_equal(mm.n_rules, 3);
	assert_int_equal(mm.n_slots, 2); /* a.aem loaded once */
	assert_int_equal(models_add_rule(&mm, "=x.aem", err, sizeof err), AM_EINVAL);
	assert_int_equal(models_add_rule(&mm, "arm*=", err, sizeof err), AM_EINVAL);
	assert_int_equal(models_load_all(&mm, err, sizeof err), 0);

	assert_int_equal(models_lookup(&mm, "arm1-lpms"), 0);
	assert_int_equal(models_lookup(&mm, "press7"), 0);
	assert_int_equal(models_lookup(&mm, "press77"), 1); /* falls to '*' */
	assert_int_equal(models_lookup(&mm, "pump"), 1);
	assert_non_null(strstr(mm.slots[0].label, "arm@"));
	assert_int_equal(strlen(mm.slots[0].label), strlen("arm@") + 8);
	assert_true(mm.slots[1].model.threshold == 0.7f);
	assert_int_equal(mm.slots[0].gen, 1);
	models_cleanup(&mm);
	models_cleanup(&mm);

	/* no catch-all: unmatched sensors have no model */
	models_init(&mm);
	assert_int_equal(models_add_rule(&mm, "arm*=nope.aem", err, sizeof err), 0);
	assert_int_equal(models_lookup(&mm, "pump"), -1);
	assert_int_equal(models_load_all(&mm, err, sizeof err), AM_ELOAD);
	assert_non_null(strstr(err, "nope.aem"));
	models_cleanup(&mm);
}

static void test_reload_and_refuse(void **state)
{
	(void)state;
	model_map mm;
	reports r = {0};
	char err[512], label[MSG_NAME_MAX + 1];
	const char *p = path_of("live.aem");
	FILE *f;

	save_model(p, "live", 0.5f);
	models_init(&mm);
	assert_int_equal(models_add_rule(&mm, p, err, sizeof err), 0);
	assert_int_equal(models_load_all(&mm, err, sizeof err), 0);
	snprintf(label, sizeof(label), "%s", mm.slots[0].label);

	/* nothing changed: nothing reported */
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0);
	assert_int_equal(r.reloaded + r.unchanged + r.refused, 0);
	/* forced (SIGHUP), same file: unchanged, same generation */
	assert_int_equal(models_refresh(&mm, 1, on_report, &r), 0);
	assert_int_equal(r.unchanged, 1);
	assert_int_equal(mm.slots[0].gen, 1);

	/* a new model replaces it on disk */
	save_model(p, "live", 0.9f);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(r.reloaded, 1);
	assert_int_equal(mm.slots[0].gen, 2);
	assert_true(mm.slots[0].model.threshold == 0.9f);
	assert_string_not_equal(mm.slots[0].label, label);
	snprintf(label, sizeof(label), "%s", mm.slots[0].label);

	/* a truncated file: refused, reported once, old model serving */
	f = fopen(p, "wb");
	assert_non_null(f);
	fwrite("ANOMAE\x1a\n\x01\0\0\0garbage", 1, 19, f);
	fclose(f);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0);
	assert_int_equal(r.refused, 1);
	assert_non_null(strstr(r.last, "live.aem"));
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0);
	assert_int_equal(r.refused, 1);
	assert_true(mm.slots[0].loaded);
	assert_int_equal(mm.slots[0].gen, 2);
	assert_string_equal(mm.slots[0].label, label);
	assert_true(mm.slots[0].model.threshold == 0.9f);

	/* removed: refused too; then a good file again is picked up */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0);
	assert_int_equal(r.refused, 2);
	save_model(p, "live", 0.3f);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(mm.slots[0].gen, 3);
	assert_true(mm.slots[0].model.threshold == 0.3f);
	models_cleanup(&mm);
}

static void write_junk(const char *path)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite("ANOMAE\x1a\n\x02\0\0\0garbage", 1, 19, f);
	fclose(f);
}

static void test_models_dir(void **state)
{
	(void)state;
	model_map mm;
	reports r = {0};
	char err[512], md[4096], spec[4400], p[4300];
	uint64_t epoch, gen;
	int def, own;

	snprintf(md, sizeof(md), "%s/models", dir);
	assert_int_equal(mkdir(md, 0755), 0);
	snprintf(p, sizeof(p), "%s/default.aem", md);
	save_model(p, "generic", 0.5f);
	snprintf(p, sizeof(p), "%s/arm9.aem.tmp.123", md); /* a save in progress */
	write_junk(p);
	snprintf(p, sizeof(p), "%s/not a sensor.aem", md);
	save_model(p, "stray", 0.5f);
	save_model(path_of("rule.aem"), "rule", 0.6f);
	models_init(&mm);
	snprintf(spec, sizeof(spec), "arm*=%s", path_of("rule.aem"));
	assert_int_equal(models_configure(&mm, (const char *const[]){spec}, 1, md, "x=y",
					  err, sizeof err),
			 0);
	assert_int_equal(models_set_dir(&mm, path_of("rule.aem"), err, sizeof err),
			 AM_EINVAL);     /* a file, not a directory */
	assert_int_equal(mm.n_slots, 1); /* the rule's; the fallback unused */
	assert_int_equal(models_lookup(&mm, "pump"), -1); /* dir not read yet */

	/* first look: default.aem only */
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(r.added, 1);
	assert_int_equal(r.refused, 0);
	def = models_lookup(&mm, "pump");
	assert_true(def > 0);
	assert_string_equal(mm.slots[def].key, "default");
	assert_int_equal(models_lookup(&mm, "arm9"), 0); /* the rule */

	/* a sensor's own file is picked up and comes first */
	epoch = mm.epoch;
	snprintf(p, sizeof(p), "%s/arm9.aem", md);
	save_model(p, "arm9-own", 0.8f);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(r.added, 2);
	assert_true(mm.epoch != epoch);
	own = models_lookup(&mm, "arm9");
	assert_true(own > 0 && own != def);
	assert_non_null(strstr(mm.slots[own].label, "arm9-own@"));
	assert_int_equal(models_lookup(&mm, "arm1"), 0);
	assert_int_equal(models_lookup(&mm, "pump"), def);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0); /* quiet */

	/* replaced: a new generation, unique over the map */
	gen = mm.slots[own].gen;
	save_model(p, "arm9-own", 0.85f);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(r.reloaded, 1);
	assert_true(mm.slots[own].gen > gen);
	for (size_t i = 0; i < mm.n_slots; i++)
		assert_true((int)i == own || mm.slots[i].gen != mm.slots[own].gen);

	/* a bad new file serves no one, reported once */
	snprintf(p, sizeof(p), "%s/arm7.aem", md);
	write_junk(p);
	epoch = mm.epoch;
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 0);
	assert_int_equal(r.refused, 1);
	assert_non_null(strstr(r.last, "arm7.aem"));
	assert_int_equal(models_lookup(&mm, "arm7"), 0);
	assert_int_equal(mm.epoch, epoch);

	/* removed: the sensor falls back; back again: the same slot */
	snprintf(p, sizeof(p), "%s/arm9.aem", md);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(r.removed, 1);
	assert_int_equal(models_lookup(&mm, "arm9"), 0);
	assert_true(mm.epoch != epoch);
	save_model(p, "arm9-own", 0.9f);
	assert_int_equal(models_refresh(&mm, 0, on_report, &r), 1);
	assert_int_equal(models_lookup(&mm, "arm9"), own);
	assert_true(mm.slots[own].model.threshold == 0.9f);
	models_cleanup(&mm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_and_lookup),
	    cmocka_unit_test(test_reload_and_refuse),
	    cmocka_unit_test(test_models_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
