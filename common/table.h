/* table — the one keyed table of the tree: string keys to pointers, for
 * every "per sensor" (or per run, per channel set) lookup a service does on
 * its hot path. Open addressing with linear probing over a power-of-two
 * array of slots that keep each key's hash, grown at half load, so a
 * lookup is one hash and, nearly always, one key comparison; it has no
 * fixed size (no cache that starts overwriting at entry 257).
 *
 * The hash is 64-bit FNV-1a, exposed as table_hash() for the few who need
 * a stable hash of a string (the scorer's rendezvous partition). Keys come
 * from the network: FNV-1a is not collision-resistant, and the table does
 * not need it to be — a flood of colliding ids costs time, not correctness,
 * and every caller bounds how many keys it admits (max_sensors).
 *
 * Ownership: the table copies each key it stores and frees the copies;
 * values are the caller's (table_cleanup can hand each to a free
 * function). table_init/table_cleanup pair; cleanup is safe twice. */
#ifndef ANOMESH_TABLE_H
#define ANOMESH_TABLE_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct table_slot {
	char *key; /* NULL: empty; TABLE_TOMB: deleted */
	uint64_t hash;
	void *val;
} table_slot;

typedef struct table {
	table_slot *slots;
	size_t cap;  /* slots, a power of two (0 before the first put) */
	size_t n;    /* live entries */
	size_t used; /* live + deleted slots (the probe load) */
} table;

/* 64-bit FNV-1a of the NUL-terminated s, continuing from h (start with
 * TABLE_HASH_INIT). Stable across runs and machines. */
#define TABLE_HASH_INIT 0xcbf29ce484222325ull
uint64_t table_hash(uint64_t h, const char *s);

void table_init(table *t);
/* Free the keys and the slots; if free_val, call it on each value. */
void table_cleanup(table *t, void (*free_val)(void *val));

/* The value stored under key, or NULL. */
void *table_get(const table *t, const char *key);

/* Store val under key (a copy of key is made), replacing any value there
 * (the old one is not freed). Returns 0, AM_EINVAL (NULL key or val) or
 * AM_ENOMEM (the table is unchanged). */
int table_put(table *t, const char *key, void *val);

/* Remove key; returns its value (for the caller to free) or NULL. */
void *table_del(table *t, const char *key);

/* Number of entries. */
size_t table_count(const table *t);

/* Iterate: start with *pos = 0; each call returns 1 and fills key/val
 * (either may be NULL) with the next entry, 0 at the end. The order is
 * the slots' (not insertion). Entries may be removed with table_del while
 * iterating (the next call continues after the removed one); entries put
 * while iterating may or may not be seen. */
int table_next(const table *t, size_t *pos, const char **key, void **val);

#endif
