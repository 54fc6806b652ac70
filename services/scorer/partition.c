/* partition — rendezvous hashing over the live members of a scorer group
 * (see partition.h). The weight is FNV-1a (table_hash, the tree's one
 * string hash) over "member\xffkey" finished with the splitmix64 mixer: FNV
 * alone clusters for ids that differ only in their last characters (arm1,
 * arm2, ...), the mixer spreads them. */
#include "partition.h"

#include "table.h"

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

/* Rebuild the sorted live list; returns 1 if it differs from before. */
static int part__rebuild(part_set *p)
{
	const char *live[PART_MAX_MEMBERS + 1];
	size_t n = 0;
	int changed;

	live[n++] = p->self;
	for (size_t i = 0; i < p->n; i++)
		if (p->m[i].online && p->m[i].in_group)
			live[n++] = p->m[i].id;
	qsort(live, n, sizeof(live[0]), part__cmp);
	changed = n != p->n_live;
	for (size_t i = 0; !changed && i < n; i++)
		changed = strcmp(live[i], p->live[i]) != 0;
	memcpy(p->live, live, n * sizeof(live[0]));
	p->n_live = n;
	if (changed)
		p->epoch++;
	return changed;
}

int part_set_init(part_set *p, const char *self, const char *group)
{
	size_t ls = self ? strlen(self) : 0, lg = group ? strlen(group) : 0;
	memset(p, 0, sizeof(*p));
	if (ls == 0 || ls > PART_ID_MAX || lg == 0 || lg > PART_ID_MAX)
		return -1;
	memcpy(p->self, self, ls + 1);
	memcpy(p->group, group, lg + 1);
	part__rebuild(p);
	return 0;
}

/* The member entry for id, added if new; NULL for self, bad ids or a full
 * table. */
static part_member *part__find(part_set *p, const char *id)
{
	size_t len = strlen(id);
	if (len == 0 || len > PART_ID_MAX || strcmp(id, p->self) == 0)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->m[i].id, id) == 0)
			return &p->m[i];
	if (p->n == PART_MAX_MEMBERS) {
		/* full: reuse the slot of a member that went offline (instance
		 * ids change with every restart, the table must not fill up) */
		for (size_t i = 0; i < p->n; i++)
			if (!p->m[i].online) {
				memset(&p->m[i], 0, sizeof(p->m[0]));
				memcpy(p->m[i].id, id, len + 1);
				return &p->m[i];
			}
		return NULL;
	}
	memset(&p->m[p->n], 0, sizeof(p->m[0]));
	memcpy(p->m[p->n].id, id, len + 1);
	return &p->m[p->n++];
}

int part_set_status(part_set *p, const char *id, int online)
{
	part_member *m = part__find(p, id);
	if (!m)
		return 0;
	m->online = online ? 1 : 0;
	return part__rebuild(p);
}

int part_set_group(part_set *p, const char *id, const char *group)
{
	part_member *m = part__find(p, id);
	if (!m)
		return 0;
	m->in_group = group && strcmp(group, p->group) == 0;
	return part__rebuild(p);
}

int part_is_mine(const part_set *p, const char *key)
{
	int o;
	if (p->n_live <= 1)
		return 1;
	o = part_owner(p->live, p->n_live, key);
	return o >= 0 && p->live[o] == p->self;
}
