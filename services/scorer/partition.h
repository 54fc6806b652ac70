/* partition — which scorer of a group scores which sensor, and who is in
 * the group.
 *
 * Rendezvous (highest random weight) hashing: every member m gets the
 * weight hash(m, sensor) for a sensor and the highest weight owns it. Every
 * scorer that sees the same members computes the same owner with no
 * coordination, sensors spread evenly, and when a member joins or leaves
 * only the sensors it gains or loses move (about 1/n of them), the rest
 * keep their windows.
 *
 * Membership is a heartbeat with a deadline (SCALING.md): a member is live
 * while it keeps saying so. Its live group heartbeats (the
 * {root}/_svc/scorer/{instance}/group message as published, retain flag
 * clear) make it live at the second one within the deadline, and it stays
 * live while the next comes within the deadline; a retained copy (what it
 * once said) never makes it live. An "offline" status (its last will or
 * last words) or a group message that does not name our group drops it at
 * once. A member that our retained messages put in our group, that has not
 * said "offline", and that has not been live for the deadline is a ghost:
 * counted, reported once (part_take_ghost), never given a sensor.
 *
 * Time is the caller's monotonic milliseconds, injected into every call.
 * The deadline is judged on a clock that runs only while this scorer hears
 * itself: its own heartbeats coming back (part_group with id == self) prove
 * the path through the broker works; when they stop coming for more than
 * 1.5 heartbeats (broker down, a stalled loop), the clock stops, so nobody
 * is dropped for a silence that was ours, and it resumes where it stopped.
 *
 * For its first deadline after part_set_init a scorer also keeps clear of
 * the sensors of members it knows only from retained messages (they may be
 * live and not yet heard twice): it takes less than its share rather than
 * score a window another member scores too.
 *
 * Ownership: part_set is embedded by the caller, fixed-size, no heap;
 * part_set_init() sets it up. Nothing here logs. */
#ifndef ANOMESH_SCORER_PARTITION_H
#define ANOMESH_SCORER_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#define PART_MAX_MEMBERS 256
#define PART_ID_MAX 128 /* bytes of an instance id */

/* What a call changed (bits of its return value). */
#define PART_SPLIT 1 /* the members that split the sensors changed: re-split */
#define PART_GHOST 2 /* a new ghost to report: part_take_ghost() */

/* 64-bit weight of (member, key); the same everywhere for the same bytes. */
uint64_t part_weight(const char *member, const char *key);

/* Index of the owner of key among members[0..n-1] (highest weight; ties,
 * which need a 64-bit collision, go to the smaller id). -1 if n == 0. */
int part_owner(const char *const *members, size_t n, const char *key);

enum part_status { PART_UNKNOWN, PART_ONLINE, PART_OFFLINE };

typedef struct part_member {
	char id[PART_ID_MAX + 1];
	int status;      /* enum part_status: its last status message */
	int in_group;    /* its last group message (live or retained) named ours */
	int beats;       /* live heartbeats in a row, each within the deadline (0..2) */
	int64_t beat_v;  /* clock (see above) of its last live heartbeat */
	int64_t since_v; /* clock of its last sign of life: a live heartbeat,
			    entering our group, leaving "offline" */
	double t;        /* "t" of its last group message (UNIX s), 0: none */
	int live;
	int ghost; /* 0: no; 1: a ghost not yet reported; 2: reported */
} part_member;

typedef struct part_set {
	char self[PART_ID_MAX + 1];
	char group[PART_ID_MAX + 1];
	int64_t beat_ms, deadline_ms;
	/* the clock: real ms of the last own heartbeat heard, and the time
	 * the clock stood still in all */
	int64_t heard_ms, deaf_ms, start_v;
	int settled; /* the first deadline since part_set_init has passed */
	size_t n;
	part_member m[PART_MAX_MEMBERS];
	/* the members the sensors are split over, sorted, self included */
	size_t n_split;
	const char *split[PART_MAX_MEMBERS + 1];
	size_t n_live;    /* self + live members: the `members` gauge */
	size_t n_ghosts;  /* ghosts now */
	uint64_t expired; /* live members dropped for missing the deadline, ever */
	uint64_t epoch;   /* bumped whenever split[] changes */
} part_set;

/* Set up for instance self in group; beat_ms is the heartbeat period, a
 * member is dropped deadline_ms after its last heartbeat. Returns 0, or -1
 * when self or group is empty or too long, or deadline_ms < 3 * beat_ms
 * (the clock's 1.5-heartbeat grace must never drop a live member). */
int part_set_init(part_set *p, const char *self, const char *group, int64_t beat_ms,
		  int64_t deadline_ms, int64_t now_ms);

/* The functions below return the PART_* bits their call changed. */

/* A member's status message: online 1/0 ("offline" drops it now). */
int part_status(part_set *p, const char *id, int online, int64_t now_ms);

/* A member's group message: group NULL when cleared or undecodable; t its
 * "t" (0: none); live 1 when delivered live (a heartbeat), 0 for a
 * retained copy. id == self: our own heartbeat came back (the clock). */
int part_group(part_set *p, const char *id, const char *group, double t, int live,
	       int64_t now_ms);

/* Apply the deadline at now_ms. */
int part_tick(part_set *p, int64_t now_ms);

/* Right after part_tick(p, now_ms): the monotonic ms at which part_tick
 * has something to do next (a deadline falls); INT64_MAX when nothing is
 * pending or the clock stands (our next heartbeat heard moves it). */
int64_t part_next_ms(const part_set *p, int64_t now_ms);

/* A ghost not yet reported, marked reported; NULL when none. */
const part_member *part_take_ghost(part_set *p);

/* 1 if this scorer owns key under the current split. */
int part_is_mine(const part_set *p, const char *key);

#endif
