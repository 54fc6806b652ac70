/* test_scorer_partition — rendezvous hashing of sensors over scorer group
 * members (services/scorer/partition.c): the owner does not depend on the
 * order members are listed in, sensors spread evenly, a joining member
 * takes only its share (all from others, none shuffled between them); and
 * membership by heartbeat, with the time injected: a member is live from
 * its second live heartbeat, retained messages never make one, silence
 * past the deadline drops it (and a ghost is reported once), the deadline
 * clock stands while our own heartbeats do not come back, and a starting
 * scorer keeps clear of members it knows only from retained messages. */
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

#define BEAT 100
#define DEADLINE 400

/* the test's clock, in ms */
static int64_t now;

/* Our own heartbeat comes back. */
static int echo(part_set *p) { return part_group(p, "me", "g", 0, 1, now); }

/* One heartbeat period passes; ours comes back. */
static void step(part_set *p)
{
	now += BEAT;
	echo(p);
}

/* Let ms pass in heartbeats, our own coming back each time; live: members
 * that heartbeat too. Returns the PART_* bits of all the calls. */
static int run(part_set *p, int64_t ms, const char *const *live, size_t n_live)
{
	int bits = 0;
	for (int64_t end = now + ms; now < end;) {
		now += BEAT;
		bits |= echo(p);
		for (size_t i = 0; i < n_live; i++)
			bits |= part_group(p, live[i], "g", 1e9, 1, now);
		bits |= part_tick(p, now);
	}
	return bits;
}

/* A scorer "me" in group "g", past its first deadline. */
static void settled(part_set *p)
{
	now = 1000;
	assert_int_equal(part_set_init(p, "me", "g", BEAT, DEADLINE, now), 0);
	run(p, DEADLINE, NULL, 0);
	assert_int_equal(p->settled, 1);
}

static void test_init(void **state)
{
	(void)state;
	part_set p;
	assert_int_equal(part_set_init(&p, "", "g", BEAT, DEADLINE, 0), -1);
	assert_int_equal(part_set_init(&p, "me", "", BEAT, DEADLINE, 0), -1);
	assert_int_equal(part_set_init(&p, "me", "g", 0, DEADLINE, 0), -1);
	/* a deadline under 3 heartbeats could drop a live member */
	assert_int_equal(part_set_init(&p, "me", "g", BEAT, 3 * BEAT - 1, 0), -1);
	assert_int_equal(part_set_init(&p, "me", "g", BEAT, 3 * BEAT, 0), 0);
	assert_int_equal(p.n_live, 1);
	assert_int_equal(p.n_split, 1);
	assert_true(part_is_mine(&p, "anything"));
}

static void test_join_by_heartbeats(void **state)
{
	(void)state;
	part_set p;
	char s[64];
	size_t mine = 0;
	uint64_t e;

	settled(&p);
	e = p.epoch;
	/* retained online and group: what it once said; never a member */
	assert_int_equal(part_status(&p, "other", 1, now) & PART_SPLIT, 0);
	assert_int_equal(part_group(&p, "other", "g", 0, 0, now) & PART_SPLIT, 0);
	assert_int_equal(p.n_live, 1);
	/* one live heartbeat is not enough either (a stray publish) */
	step(&p);
	assert_int_equal(part_group(&p, "other", "g", 0, 1, now), 0);
	assert_int_equal(p.n_live, 1);
	/* the second, within the deadline: a member */
	step(&p);
	assert_int_equal(part_group(&p, "other", "g", 0, 1, now), PART_SPLIT);
	assert_int_equal(p.n_live, 2);
	assert_true(p.epoch != e);
	/* self's own messages never make another member */
	assert_int_equal(part_status(&p, "me", 0, now), 0);
	assert_int_equal(p.n_live, 2);

	for (size_t i = 0; i < 2000; i++) {
		const char *live[] = {"me", "other"};
		sensor_name(s, sizeof(s), i);
		mine += (size_t)part_is_mine(&p, s);
		assert_int_equal(part_is_mine(&p, s), part_owner(live, 2, s) == 0);
	}
	assert_true(mine > 850 && mine < 1150);

	/* its last will: offline, everything is ours again at once */
	e = p.epoch;
	assert_int_equal(part_status(&p, "other", 0, now), PART_SPLIT);
	assert_true(p.epoch != e);
	assert_int_equal(p.n_live, 1);
	assert_int_equal(p.n_ghosts, 0); /* said offline: gone, not a ghost */
	assert_true(part_is_mine(&p, "arm1-lpms"));
	/* back: online, then two heartbeats */
	part_status(&p, "other", 1, now);
	step(&p);
	assert_int_equal(part_group(&p, "other", "g", 0, 1, now), 0);
	step(&p);
	assert_int_equal(part_group(&p, "other", "g", 0, 1, now), PART_SPLIT);
	/* another group, or the group cleared (a clean stop): out at once */
	assert_int_equal(part_group(&p, "other", "h", 0, 1, now), PART_SPLIT);
	assert_int_equal(p.n_live, 1);
	step(&p);
	part_group(&p, "other", "g", 0, 1, now);
	step(&p);
	assert_int_equal(part_group(&p, "other", "g", 0, 1, now), PART_SPLIT);
	assert_int_equal(part_group(&p, "other", NULL, 0, 0, now), PART_SPLIT);
	assert_int_equal(p.n_live, 1);
	/* two heartbeats further apart than the deadline do not make a member */
	part_group(&p, "late", "g", 0, 1, now);
	run(&p, DEADLINE + BEAT, NULL, 0);
	part_group(&p, "late", "g", 0, 1, now);
	assert_int_equal(p.n_live, 1);
	step(&p);
	part_group(&p, "late", "g", 0, 1, now);
	assert_int_equal(p.n_live, 2);
}

static void test_silence_past_the_deadline(void **state)
{
	(void)state;
	part_set p;
	const char *others[] = {"other"};
	const part_member *g;
	int64_t last;
	int bits;

	settled(&p);
	part_status(&p, "other", 1, now);
	run(&p, 2 * BEAT, others, 1);
	assert_int_equal(p.n_live, 2);
	last = now;
	/* it goes silent (killed while the broker was down: no will ever) */
	assert_int_equal(part_next_ms(&p, now), last + DEADLINE + 1);
	bits = run(&p, DEADLINE, NULL, 0);
	assert_int_equal(bits, 0);
	assert_int_equal(p.n_live, 2); /* exactly the deadline: still counted */
	assert_int_equal(part_tick(&p, last + DEADLINE + 1), PART_SPLIT | PART_GHOST);
	assert_int_equal(p.n_live, 1);
	assert_int_equal(p.expired, 1);
	assert_int_equal(p.n_ghosts, 1);
	/* reported once */
	g = part_take_ghost(&p);
	assert_non_null(g);
	assert_string_equal(g->id, "other");
	assert_int_equal(g->status, PART_ONLINE);
	assert_true(g->t == 1e9);
	assert_null(part_take_ghost(&p));
	assert_int_equal(run(&p, 10 * BEAT, NULL, 0), 0);
	assert_null(part_take_ghost(&p));
	assert_int_equal(p.n_ghosts, 1);
	assert_int_equal(part_next_ms(&p, now), INT64_MAX);
	/* its topics cleared by hand: no ghost any more */
	assert_int_equal(part_group(&p, "other", NULL, 0, 0, now), 0);
	assert_int_equal(p.n_ghosts, 0);
	assert_int_equal(p.expired, 1);
}

static void test_clock_stands_while_deaf(void **state)
{
	(void)state;
	part_set p;
	const char *others[] = {"other"};

	settled(&p);
	run(&p, 2 * BEAT, others, 1);
	assert_int_equal(p.n_live, 2);
	/* the broker goes away: neither its heartbeats nor ours arrive, for
	 * ten deadlines; nobody is dropped for a silence that was ours */
	for (int i = 0; i < 100; i++) {
		now += BEAT;
		assert_int_equal(part_tick(&p, now), 0);
	}
	assert_int_equal(p.n_live, 2);
	assert_int_equal(part_next_ms(&p, now), INT64_MAX);
	/* the broker is back, ours come back, the other's do not: the clock
	 * stood at 1.5 heartbeats past our last one, so it is dropped within
	 * the deadline of our hearing again */
	now += BEAT;
	echo(&p);
	assert_int_equal(part_tick(&p, now), 0);
	assert_true(part_next_ms(&p, now) > now);
	assert_true(part_next_ms(&p, now) <= now + DEADLINE);
	run(&p, DEADLINE - BEAT - BEAT / 2 - BEAT, NULL, 0);
	assert_int_equal(p.n_live, 2);
	run(&p, BEAT, NULL, 0);
	assert_int_equal(p.n_live, 1);
	assert_int_equal(p.expired, 1);
	/* a member that heartbeats on is never dropped, deaf spells or not */
	run(&p, 2 * BEAT, others, 1);
	assert_int_equal(p.n_live, 2);
	now += 50 * BEAT;
	part_tick(&p, now);
	run(&p, 20 * BEAT, others, 1);
	assert_int_equal(p.n_live, 2);
	assert_int_equal(p.expired, 1);
}

static void test_retained_ghost(void **state)
{
	(void)state;
	part_set p;
	const char *both[] = {"evil", "me"};
	size_t deferred = 0, total = 2000;
	char s[64];
	int bits = 0;

	/* a forged retained online + group is there before we start */
	now = 1000;
	assert_int_equal(part_set_init(&p, "me", "default", BEAT, DEADLINE, now), 0);
	part_status(&p, "evil", 1, now);
	part_group(&p, "evil", "default", 0, 0, now);
	/* starting, we keep clear of its would-be share (it might be live and
	 * not heard twice yet), but it is not counted a member */
	assert_int_equal(p.n_live, 1);
	assert_int_equal(p.n_split, 2);
	for (size_t i = 0; i < total; i++) {
		sensor_name(s, sizeof(s), i);
		deferred += part_owner(both, 2, s) == 0;
		assert_int_equal(part_is_mine(&p, s), part_owner(both, 2, s) == 1);
	}
	assert_true(deferred > 850 && deferred < 1150);
	/* it never heartbeats: within the deadline, a ghost, and all ours */
	assert_int_equal(part_next_ms(&p, now), now + DEADLINE);
	for (int64_t end = now + DEADLINE; now < end;) {
		now += BEAT;
		bits = part_group(&p, "me", "default", 0, 1, now);
		bits |= part_tick(&p, now);
	}
	/* at the deadline we are settled: its share is ours; a moment later
	 * it is a ghost */
	assert_int_equal(bits, PART_SPLIT);
	assert_int_equal(p.n_split, 1);
	assert_int_equal(p.n_ghosts, 0);
	assert_int_equal(part_next_ms(&p, now), now + 1);
	assert_int_equal(part_tick(&p, now + 1), PART_GHOST);
	assert_int_equal(p.n_ghosts, 1);
	assert_int_equal(p.expired, 0); /* never was a member */
	assert_string_equal(part_take_ghost(&p)->id, "evil");
	for (size_t i = 0; i < total; i++) {
		sensor_name(s, sizeof(s), i);
		assert_true(part_is_mine(&p, s));
	}
	/* a retained copy again (a reconnect re-subscribes): no change, no
	 * second report */
	assert_int_equal(part_group(&p, "evil", "default", 0, 0, now + 2), 0);
	assert_int_equal(part_status(&p, "evil", 1, now + 2), 0);
	assert_null(part_take_ghost(&p));
}

static void test_forged_live_once(void **state)
{
	(void)state;
	part_set p;

	settled(&p);
	/* published live while we run: one heartbeat; nothing moves */
	assert_int_equal(part_status(&p, "evil", 1, now), 0);
	assert_int_equal(part_group(&p, "evil", "g", 0, 1, now), 0);
	assert_int_equal(p.n_split, 1);
	assert_int_equal(run(&p, DEADLINE, NULL, 0), 0);
	assert_int_equal(run(&p, BEAT, NULL, 0), PART_GHOST);
	assert_int_equal(p.n_split, 1);
	assert_int_equal(p.n_ghosts, 1);
	assert_string_equal(part_take_ghost(&p)->id, "evil");
}

static void test_table_reuses_slots(void **state)
{
	(void)state;
	part_set p;
	char id[32];

	settled(&p);
	/* many restarts of other scorers, each a new instance id */
	for (size_t i = 0; i < 3 * PART_MAX_MEMBERS; i++) {
		const char *one[1] = {id};
		snprintf(id, sizeof(id), "host-%zu", i);
		part_status(&p, id, 1, now);
		run(&p, 2 * BEAT, one, 1);
		assert_int_equal(p.n_live, 2);
		part_status(&p, id, 0, now);
		if (i % 2)
			part_group(&p, id, NULL, 0, 1, now); /* a clean stop */
	}
	snprintf(id, sizeof(id), "host-last");
	{
		const char *one[1] = {id};
		run(&p, 2 * BEAT, one, 1);
	}
	assert_int_equal(p.n_live, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stable_and_order_free),
	    cmocka_unit_test(test_balanced_and_minimal_moves),
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_join_by_heartbeats),
	    cmocka_unit_test(test_silence_past_the_deadline),
	    cmocka_unit_test(test_clock_stands_while_deaf),
	    cmocka_unit_test(test_retained_ghost),
	    cmocka_unit_test(test_forged_live_once),
	    cmocka_unit_test(test_table_reuses_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
