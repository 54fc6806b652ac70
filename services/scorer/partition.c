/* partition — rendezvous hashing over the live members of a scorer group,
 * and their liveness from heartbeats (see partition.h). The weight is FNV-1a
 * (table_hash, the tree's one string hash) over "member\xffkey" finished
 * with the splitmix64 mixer: FNV alone clusters for ids that differ only in
 * their last characters (arm1, arm2, ...), the mixer spreads them. Every
 * event updates one member, then part__judge() re-derives everyone's
 * liveness and the split from the state, so no event order can leave them
 * inconsistent. */
#include "partition.h"

#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t part__mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t part_weight(const char *member, const char *key)
{
	uint64_t h = table_hash(TABLE_HASH_INIT, member);
	h = table_hash(h, "\xff"); /* separator: ("ab","c") and ("a","bc") differ */
	return part__mix(table_hash(h, key));
}

int part_owner(const char *const *members, size_t n, const char *key)
{
	int best = -1;
	uint64_t best_w = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t w = part_weight(members[i], key);
		if (best < 0 || w > best_w ||
		    (w == best_w && strcmp(members[i], members[best]) < 0)) {
			best = (int)i;
			best_w = w;
		}
	}
	return best;
}

static int part__cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The clock never runs more than this past the last own heartbeat heard. */
static int64_t part__grace(const part_set *p) { return p->beat_ms + p->beat_ms / 2; }

/* The clock at now_ms: real time less the time it stood still, and still
 * now when our own heartbeat is overdue. */
static int64_t part__now(const part_set *p, int64_t now_ms)
{
	int64_t hold = p->heard_ms + part__grace(p);
	return (now_ms < hold ? now_ms : hold) - p->deaf_ms;
}

/* In our group by its messages, not said "offline", not live. */
static int part__pending(const part_member *m)
{
	return m->in_group && m->status != PART_OFFLINE && !m->live;
}

/* Rebuild split[] from the members' state; returns PART_SPLIT if it
 * differs from before. */
static int part__rebuild(part_set *p)
{
	const char *split[PART_MAX_MEMBERS + 1];
	size_t n = 0;
	int changed;

	split[n++] = p->self;
	for (size_t i = 0; i < p->n; i++) {
		const part_member *m = &p->m[i];
		if (m->live || (!p->settled && part__pending(m) && !m->ghost))
			split[n++] = m->id;
	}
	qsort(split, n, sizeof(split[0]), part__cmp);
	changed = n != p->n_split;
	for (size_t i = 0; !changed && i < n; i++)
		changed = strcmp(split[i], p->split[i]) != 0;
	memcpy(p->split, split, n * sizeof(split[0]));
	p->n_split = n;
	if (!changed)
		return 0;
	p->epoch++;
	return PART_SPLIT;
}

/* Everyone's liveness and ghostliness at clock v, then the split. */
static int part__judge(part_set *p, int64_t v)
{
	int bits = 0;

	if (v - p->start_v >= p->deadline_ms)
		p->settled = 1;
	p->n_live = 1;
	p->n_ghosts = 0;
	for (size_t i = 0; i < p->n; i++) {
		part_member *m = &p->m[i];
		if (m->beats >= 2 && v - m->beat_v > p->deadline_ms) {
			m->beats = 0; /* silent past the deadline: must join again */
			if (m->live)
				p->expired++;
		}
		m->live = m->in_group && m->status != PART_OFFLINE && m->beats >= 2;
		if (!part__pending(m) || v - m->since_v <= p->deadline_ms) {
			m->ghost = 0;
		} else if (!m->ghost) {
			m->ghost = 1;
			bits |= PART_GHOST;
		}
		p->n_live += (size_t)m->live;
		p->n_ghosts += m->ghost != 0;
	}
	return bits | part__rebuild(p);
}

int part_set_init(part_set *p, const char *self, const char *group, int64_t beat_ms,
		  int64_t deadline_ms, int64_t now_ms)
{
	size_t ls = self ? strlen(self) : 0, lg = group ? strlen(group) : 0;
	memset(p, 0, sizeof(*p));
	if (ls == 0 || ls > PART_ID_MAX || lg == 0 || lg > PART_ID_MAX || beat_ms <= 0 ||
	    deadline_ms < 3 * beat_ms)
		return -1;
	memcpy(p->self, self, ls + 1);
	memcpy(p->group, group, lg + 1);
	p->beat_ms = beat_ms;
	p->deadline_ms = deadline_ms;
	p->heard_ms = now_ms;
	p->start_v = now_ms;
	part__judge(p, now_ms);
	return 0;
}

/* The member entry for id, added if new; NULL for self, bad ids or a full
 * table. */
static part_member *part__find(part_set *p, const char *id)
{
	size_t len = strlen(id);
	part_member *m = NULL;

	if (len == 0 || len > PART_ID_MAX || strcmp(id, p->self) == 0)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->m[i].id, id) == 0)
			return &p->m[i];
	if (p->n < PART_MAX_MEMBERS) {
		m = &p->m[p->n++];
	} else {
		/* full: reuse the slot of a member out of our group, else of
		 * one that said "offline" (instance ids change with every
		 * restart, the table must not fill up) */
		for (size_t i = 0; i < p->n && !m; i++)
			if (!p->m[i].in_group)
				m = &p->m[i];
		for (size_t i = 0; i < p->n && !m; i++)
			if (p->m[i].status == PART_OFFLINE)
				m = &p->m[i];
		if (!m)
			return NULL;
	}
	memset(m, 0, sizeof(*m));
	memcpy(m->id, id, len + 1);
	return m;
}

int part_status(part_set *p, const char *id, int online, int64_t now_ms)
{
	int64_t v = part__now(p, now_ms);
	part_member *m = part__find(p, id);

	if (!m)
		return 0;
	if (!online) {
		m->status = PART_OFFLINE;
		m->beats = 0; /* the fast path: its will or its last words */
	} else {
		if (m->status == PART_OFFLINE)
			m->since_v = v;
		m->status = PART_ONLINE;
	}
	return part__judge(p, v);
}

/* Our own heartbeat came back at now_ms: the clock runs again, having
 * stood still for as long as it was overdue. */
static void part__heard(part_set *p, int64_t now_ms)
{
	int64_t hold = p->heard_ms + part__grace(p);
	if (now_ms > hold)
		p->deaf_ms += now_ms - hold;
	if (now_ms > p->heard_ms)
		p->heard_ms = now_ms;
}

int part_group(part_set *p, const char *id, const char *group, double t, int live,
	       int64_t now_ms)
{
	int ours = group && strcmp(group, p->group) == 0;
	part_member *m;
	int64_t v;

	if (strcmp(id, p->self) == 0 && ours && live)
		part__heard(p, now_ms);
	v = part__now(p, now_ms);
	m = part__find(p, id);
	if (!m)
		return part__judge(p, v);
	if (!ours) {
		m->in_group = 0;
		m->beats = 0;
		return part__judge(p, v);
	}
	if (!m->in_group)
		m->since_v = v;
	m->in_group = 1;
	m->t = t;
	if (live) {
		m->beats = m->beats > 0 && v - m->beat_v <= p->deadline_ms
			       ? (m->beats < 2 ? m->beats + 1 : 2)
			       : 1;
		m->beat_v = v;
		m->since_v = v;
	}
	return part__judge(p, v);
}

int part_tick(part_set *p, int64_t now_ms)
{
	return part__judge(p, part__now(p, now_ms));
}

int64_t part_next_ms(const part_set *p, int64_t now_ms)
{
	int64_t best = INT64_MAX;

	if (now_ms >= p->heard_ms + part__grace(p))
		return INT64_MAX; /* the clock stands: only our heartbeat moves it */
	/* clock values at which the judgement changes */
	if (!p->settled)
		best = p->start_v + p->deadline_ms;
	for (size_t i = 0; i < p->n; i++) {
		const part_member *m = &p->m[i];
		int64_t c = INT64_MAX;
		if (m->beats >= 2)
			c = m->beat_v + p->deadline_ms + 1;
		else if (part__pending(m) && !m->ghost)
			c = m->since_v + p->deadline_ms + 1;
		if (c < best)
			best = c;
	}
	return best == INT64_MAX ? best : best + p->deaf_ms;
}

const part_member *part_take_ghost(part_set *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->m[i].ghost == 1) {
			p->m[i].ghost = 2;
			return &p->m[i];
		}
	return NULL;
}

int part_is_mine(const part_set *p, const char *key)
{
	int o;
	if (p->n_split <= 1)
		return 1;
	o = part_owner(p->split, p->n_split, key);
	return o >= 0 && p->split[o] == p->self;
}
