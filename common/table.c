/* table — open-addressing hash table over string keys (see table.h).
 * Deletion leaves a tombstone so that probe chains stay intact; a grow
 * (at half load, tombstones counted) rehashes live entries only, which is
 * also how tombstones are cleared. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#define TABLE__MIN 16
static char table__tomb;
#define TABLE_TOMB (&table__tomb)

uint64_t table_hash(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void table_init(table *t) { memset(t, 0, sizeof(*t)); }

void table_cleanup(table *t, void (*free_val)(void *val))
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		table_slot *s = &t->slots[i];
		if (!s->key || s->key == TABLE_TOMB)
			continue;
		free(s->key);
		if (free_val)
			free_val(s->val);
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Slot of key, or of the first free place on its probe path (the first
 * tombstone passed, else the empty slot that ended the search); *found
 * says which. t->cap > 0. */
static size_t table__find(const table *t, const char *key, uint64_t h, int *found)
{
	size_t mask = t->cap - 1, i = (size_t)h & mask, free_at = (size_t)-1;
	for (;;) {
		const table_slot *s = &t->slots[i];
		if (!s->key) {
			*found = 0;
			return free_at != (size_t)-1 ? free_at : i;
		}
		if (s->key == TABLE_TOMB) {
			if (free_at == (size_t)-1)
				free_at = i;
		} else if (s->hash == h && strcmp(s->key, key) == 0) {
			*found = 1;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static int table__grow(table *t)
{
	size_t cap = t->cap ? t->cap : TABLE__MIN;
	table_slot *old = t->slots, *slots;
	size_t old_cap = t->cap;

	while (cap < 4 * (t->n + 1)) /* live entries end up under a quarter */
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return AM_ENOMEM;
	for (size_t i = 0; i < old_cap; i++) {
		table_slot *s = &old[i];
		size_t j;
		if (!s->key || s->key == TABLE_TOMB)
			continue;
		for (j = (size_t)s->hash & (cap - 1); slots[j].key;
		     j = (j + 1) & (cap - 1))
			;
		slots[j] = *s;
	}
	free(old);
	t->slots = slots;
	t->cap = cap;
	t->used = t->n;
	return 0;
}

void *table_get(const table *t, const char *key)
{
	int found;
	size_t i;
	if (!t || !key || t->cap == 0)
		return NULL;
	i = table__find(t, key, table_hash(TABLE_HASH_INIT, key), &found);
	return found ? t->slots[i].val : NULL;
}

int table_put(table *t, const char *key, void *val)
{
	uint64_t h;
	size_t i;
	int found;
	char *copy;

	if (!t || !key || !val)
		return AM_EINVAL;
	h = table_hash(TABLE_HASH_INIT, key);
	if (t->cap) {
		i = table__find(t, key, h, &found);
		if (found) {
			t->slots[i].val = val;
			return 0;
		}
	}
	if (2 * (t->used + 1) > t->cap && table__grow(t))
		return AM_ENOMEM;
	copy = strdup(key);
	if (!copy)
		return AM_ENOMEM;
	i = table__find(t, key, h, &found);
	if (t->slots[i].key != TABLE_TOMB)
		t->used++;
	t->slots[i] = (table_slot){.key = copy, .hash = h, .val = val};
	t->n++;
	return 0;
}

void *table_del(table *t, const char *key)
{
	int found;
	size_t i;
	void *val;
	if (!t || !key || t->cap == 0)
		return NULL;
	i = table__find(t, key, table_hash(TABLE_HASH_INIT, key), &found);
	if (!found)
		return NULL;
	val = t->slots[i].val;
	free(t->slots[i].key);
	t->slots[i] = (table_slot){.key = TABLE_TOMB};
	t->n--;
	return val;
}

size_t table_count(const table *t) { return t ? t->n : 0; }

int table_next(const table *t, size_t *pos, const char **key, void **val)
{
	if (!t || !pos)
		return 0;
	for (; *pos < t->cap; (*pos)++) {
		const table_slot *s = &t->slots[*pos];
		if (!s->key || s->key == TABLE_TOMB)
			continue;
		if (key)
			*key = s->key;
		if (val)
			*val = s->val;
		(*pos)++;
		return 1;
	}
	return 0;
}
