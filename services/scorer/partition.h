/* partition — which scorer of a group scores which sensor.
 *
 * Rendezvous (highest random weight) hashing: every live member m gets the
 * weight hash(m, sensor) for a sensor and the highest weight owns it. Every
 * scorer that sees the same live set computes the same owner with no
 * coordination, sensors spread evenly, and when a member joins or leaves
 * only the sensors it gains or loses move (about 1/n of them), the rest
 * keep their windows. See SCALING.md for the whole scheme.
 *
 * The live set comes from the retained topics every scorer publishes:
 * {root}/_svc/scorer/{instance}/status ("online", with an "offline" last
 * will: liveness) and {root}/_svc/scorer/{instance}/group (the group it
 * belongs to). A member is live when its status is online and its group is
 * ours. The local scorer is always live in its own view.
 *
 * Ownership: part_set is embedded by the caller, fixed-size, no heap;
 * part_set_init() sets it up. Nothing here logs. */
#ifndef ANOMESH_SCORER_PARTITION_H
#define ANOMESH_SCORER_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#define PART_MAX_MEMBERS 256
#define PART_ID_MAX 128 /* bytes of an instance id */

/* 64-bit weight of (member, key); the same everywhere for the same bytes. */
uint64_t part_weight(const char *member, const char *key);

/* Index of the owner of key among members[0..n-1] (highest weight; ties,
 * which need a 64-bit collision, go to the smaller id). -1 if n == 0. */
int part_owner(const char *const *members, size_t n, const char *key);

typedef struct part_member {
	char id[PART_ID_MAX + 1];
	int online;   /* last status said "online" */
	int in_group; /* last group message named our group */
} part_member;

typedef struct part_set {
	char self[PART_ID_MAX + 1];
	char group[PART_ID_MAX + 1];
	size_t n;
	part_member m[PART_MAX_MEMBERS];
	/* live ids, sorted, self included; rebuilt on every change */
	size_t n_live;
	const char *live[PART_MAX_MEMBERS + 1];
	uint64_t epoch; /* bumped whenever the live set changes */
} part_set;

/* Returns 0, or -1 when self or group is empty or too long. */
int part_set_init(part_set *p, const char *self, const char *group);

/* Record a member's status (online 1/0) or group (NULL: cleared). Unknown
 * members are added (silently ignored when the table is full: they are
 * then not counted, and the caller's metrics show the member count).
 * Returns 1 if the live set changed, else 0. */
int part_set_status(part_set *p, const char *id, int online);
int part_set_group(part_set *p, const char *id, const char *group);

/* 1 if this scorer owns key under the current live set. */
int part_is_mine(const part_set *p, const char *key);

#endif
