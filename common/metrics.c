/* metrics — fixed-size table, linear lookup: registries hold a few dozen
 * names and lookups happen at setup, not per message. Registration takes a
 * mutex so two threads registering at once cannot claim the same slot. */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct metrics {
	pthread_mutex_t lock;
	_Atomic int count;
	metrics_slot slots[METRICS_MAX];
};

metrics *metrics_new(void)
{
	metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

metrics_slot *metrics_get(metrics *m, const char *name)
{
	metrics_slot *s = NULL;
	size_t len;
	int n;

	if (!m || !name)
		return NULL;
	len = strlen(name);
	if (len == 0 || len > METRICS_NAME_MAX)
		return NULL;
	pthread_mutex_lock(&m->lock);
	n = atomic_load(&m->count);
	for (int i = 0; i < n; i++) {
		if (strcmp(m->slots[i].name, name) == 0) {
			s = &m->slots[i];
			goto out;
		}
	}
	if (n < METRICS_MAX) {
		s = &m->slots[n];
		memcpy(s->name, name, len + 1);
		atomic_store(&s->value, 0);
		atomic_store(&m->count, n + 1);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return s;
}

int metrics_render(metrics *m, buf *out)
{
	int rc = buf_add(out, "{", 1);
	int n = atomic_load(&m->count);
	for (int i = 0; !rc && i < n; i++) {
		if (i)
			rc = buf_add(out, ",", 1);
		if (!rc)
			rc = buf_add_json_str(out, m->slots[i].name);
		if (!rc)
			rc = buf_printf(out, ":%lld",
					(long long)metrics_read(&m->slots[i]));
	}
	if (!rc)
		rc = buf_add(out, "}", 1);
	return rc;
}
