/* test_scorer_partition — rendezvous hashing of sensors over scorer group
 * members (services/scorer/partition.c): the owner does not depend on the
 * order members are listed in, sensors spread evenly, a joining member
 * takes only its share (all from others, none shuffled between them), and
 * the live set follows status/group messages with self always counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../services/scorer/partition.h"

#define N_SENSORS 20000

static void sensor_name(char *out, size_t len, size_t i)
{
	snprintf(out, len, "arm%zu-lpms", i);
}

static void test_stable_and_order_free(void **state)
{
	(void)state;
	const char *a[] = {"host-1", "host-2", "host-3"};
	const char *b[] = {"host-3", "host-1", "host-2"};
	char s[64];
	for (size_t i = 0; i < 1000; i++) {
		sensor_name(s, sizeof(s), i);
		assert_string_equal(a[part_owner(a, 3, s)], b[part_owner(b, 3, s)]);
		assert_int_equal(part_weight("host-1", s), part_weight("host-1", s));
	}
	/* the separator: ("ab","c") and ("a","bc") weigh differently */
	assert_true(part_weight("ab", "c") != part_weight("a", "bc"));
	assert_int_equal(part_owner(a, 0, "x"), -1);
	assert_int_equal(part_owner(a, 1, "x"), 0);
}

static void test_balanced_and_minimal_moves(void **state)
{
	(void)state;
	const char *m4[] = {"scorer-a", "scorer-b", "scorer-c", "scorer-d"};
	const char *m5[] = {"scorer-a", "scorer-b", "scorer-c", "scorer-d", "scorer-e"};
	size_t count[4] = {0}, moved = 0;
	char s[64];

	for (size_t i = 0; i < N_SENSORS; i++) {
		int o4, o5;
		sensor_name(s, sizeof(s), i);
		o4 = part_owner(m4, 4, s);
		o5 = part_owner(m5, 5, s);
		count[o4]++;
		if (o4 != o5) {
			moved++;
			assert_int_equal(o5, 4); /* moves only to the newcomer */
		}
	}
	for (size_t k = 0; k < 4; k++) /* each within 5 % of N/4 */
		assert_true(count[k] > N_SENSORS / 4 * 95 / 100 &&
			    count[k] < N_SENSORS / 4 * 105 / 100);
	/* the newcomer takes about 1/5 */
	assert_true(moved > N_SENSORS / 5 * 90 / 100 &&
		    moved < N_SENSORS / 5 * 110 / 100);
}

static void test_live_set(void **state)
{
	(void)state;
	part_set p;
	char s[64];
	size_t mine = 0;
	uint64_t e;

	assert_int_equal(part_set_init(&p, "", "g"), -1);
	assert_int_equal(part_set_init(&p, "me", ""), -1);
	assert_int_equal(part_set_init(&p, "me", "g"), 0);
	assert_int_equal(p.n_live, 1);
	assert_true(part_is_mine(&p, "anything"));
	e = p.epoch;

	/* online but no group yet: not a member */
	assert_int_equal(part_set_status(&p, "other", 1), 0);
	assert_int_equal(p.n_live, 1);
	/* another group: still not */
	assert_int_equal(part_set_group(&p, "other", "h"), 0);
	assert_int_equal(part_set_group(&p, "other", "g"), 1);
	assert_int_equal(p.n_live, 2);
	assert_true(p.epoch != e);
	/* self's own messages never change anything */
	assert_int_equal(part_set_status(&p, "me", 0), 0);
	assert_int_equal(p.n_live, 2);

	for (size_t i = 0; i < 2000; i++) {
		const char *live[] = {"me", "other"};
		sensor_name(s, sizeof(s), i);
		mine += (size_t)part_is_mine(&p, s);
		assert_int_equal(part_is_mine(&p, s), part_owner(live, 2, s) == 0);
	}
	assert_true(mine > 850 && mine < 1150);

	/* its last will: offline, everything is ours again */
	e = p.epoch;
	assert_int_equal(part_set_status(&p, "other", 0), 1);
	assert_true(p.epoch != e);
	assert_int_equal(p.n_live, 1);
	assert_true(part_is_mine(&p, "arm1-lpms"));
	/* back online (retained group still there), then the group cleared */
	assert_int_equal(part_set_status(&p, "other", 1), 1);
	assert_int_equal(part_set_group(&p, "other", NULL), 1);
	assert_int_equal(p.n_live, 1);
}

static void test_table_reuses_offline_slots(void **state)
{
	(void)state;
	part_set p;
	char id[32];
	assert_int_equal(part_set_init(&p, "me", "g"), 0);
	/* many restarts of other scorers, each a new instance id */
	for (size_t i = 0; i < 3 * PART_MAX_MEMBERS; i++) {
		snprintf(id, sizeof(id), "host-%zu", i);
		part_set_group(&p, id, "g");
		part_set_status(&p, id, 1);
		assert_int_equal(p.n_live, 2);
		part_set_status(&p, id, 0);
	}
	snprintf(id, sizeof(id), "host-last");
	part_set_status(&p, id, 1);
	part_set_group(&p, id, "g");
	assert_int_equal(p.n_live, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stable_and_order_free),
	    cmocka_unit_test(test_balanced_and_minimal_moves),
	    cmocka_unit_test(test_live_set),
	    cmocka_unit_test(test_table_reuses_offline_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
