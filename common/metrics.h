/* metrics — a small registry of named 64-bit counters and gauges that any
 * thread may bump (C11 atomics, relaxed: these are statistics, not
 * synchronisation) and that the service loop renders as the JSON object of
 * {root}/_svc/{service}/{instance}/metrics.
 *
 * Ownership: metrics_new() allocates the registry and every slot in it;
 * slot pointers stay valid until metrics_free(), which is NULL-safe.
 * Registering an existing name returns the same slot, so modules can look
 * their counters up by name without sharing pointers. */
#ifndef ANOMESH_METRICS_H
#define ANOMESH_METRICS_H

#include "buf.h"

#include <stdatomic.h>
#include <stdint.h>

#define METRICS_MAX 96
#define METRICS_NAME_MAX 48

typedef struct metrics_slot {
	char name[METRICS_NAME_MAX + 1];
	_Atomic int64_t value;
} metrics_slot;

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);

/* The slot named name, created at 0 if new. NULL when the registry is
 * full or the name is empty/too long (callers may pass NULL to the
 * bumpers below, which then do nothing). */
metrics_slot *metrics_get(metrics *m, const char *name);

static inline void metrics_add(metrics_slot *s, int64_t n)
{
	if (s)
		atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}
static inline void metrics_set(metrics_slot *s, int64_t v)
{
	if (s)
		atomic_store_explicit(&s->value, v, memory_order_relaxed);
}
static inline int64_t metrics_read(const metrics_slot *s)
{
	return s ? atomic_load_explicit(&s->value, memory_order_relaxed) : 0;
}

/* Append {"name":value,...} in registration order. Returns buf_* codes. */
int metrics_render(metrics *m, buf *out);

#endif
