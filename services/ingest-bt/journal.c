/* journal — ingest-bt's bounded, checksummed, crash-safe journal of what it
 * published (see journal.h for the policy; jrec.h for the record).
 *
 * Segments are listed oldest first; the last is the one being written.
 * The index is a keyed table (common/table.h) of (sensor, run) to a
 * vector of places, one per seq from `first` on: a place is the segment's
 * generation and the record's offset in one u64 (0: not held). Seqs come
 * in order per (sensor, run), so appending is a push and deleting the
 * oldest segment advances each vector's head. */
#include "journal.h"

#include "clock.h"
#include "crc32.h"
#include "jrec.h"
#include "table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JR__OFF_BITS 40
#define JR__POS(gen, off) (((uint64_t)(gen) << JR__OFF_BITS) | (uint64_t)(off))
#define JR__GEN(p) ((int64_t)((p) >> JR__OFF_BITS))
#define JR__OFF(p) ((int64_t)((p) & ((1ull << JR__OFF_BITS) - 1)))
/* A seq this far past a run's last one starts the run's vector over
 * rather than filling the hole with empty places. */
#define JR__HOLE_MAX 100000u
#define JR__RESYNC_CHUNK 65536
#define JR__KEY_MAX (MSG_SENSOR_MAX + MSG_RUN_MAX + 2)

typedef struct jr_run {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	uint64_t first; /* seq of pos[head] */
	uint64_t *pos;  /* places; 0: not held */
	size_t head, n, cap;
	double last_t;
} jr_run;

typedef struct jr_seg {
	int64_t gen, bytes;
	double newest; /* end of its newest sample; -inf while empty */
} jr_seg;

struct journal {
	journal_options o;
	char dir[PATH_MAX - 32];
	int dfd, lfd; /* the directory; its lock file, held while open */
	jr_seg *segs; /* oldest first; the last is written */
	size_t nseg, segcap;
	int wfd;
	int64_t wend;
	int rfd; /* read descriptor of segment rgen */
	int64_t rgen;
	table runs; /* "sensor\x1frun" -> jr_run */
	unsigned char *buf;
	size_t bufcap;
	int dirty;
	int64_t dirty_ms;
	journal_stats st;
};

static int jr__err(int e, const char *what, const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "journal: %s %s: %s", what, path, strerror(e));
	return e == ENOSPC || e == EDQUOT || e == EFBIG ? AM_EFULL : AM_EIO;
}

static void jr__path(const journal *j, int64_t gen, char *out, size_t cap)
{
	snprintf(out, cap, "%s/journal.%020lld", j->dir, (long long)gen);
}

static void jr__key(char *key, const char *sensor, const char *run)
{
	snprintf(key, JR__KEY_MAX, "%s\x1f%s", sensor, run);
}

static int jr__buf(journal *j, size_t need)
{
	unsigned char *b;
	if (need <= j->bufcap)
		return 0;
	b = realloc(j->buf, need);
	if (!b)
		return AM_ENOMEM;
	j->buf = b;
	j->bufcap = need;
	return 0;
}

/* ---- the index -------------------------------------------------------------- */

static void jr__run_free(void *v)
{
	jr_run *r = v;
	free(r->pos);
	free(r);
}

static int jr__push(jr_run *r, uint64_t pos)
{
	if (r->n == r->cap && r->head > 0) {
		memmove(r->pos, r->pos + r->head, (r->n - r->head) * sizeof(*r->pos));
		r->n -= r->head;
		r->head = 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		uint64_t *p = realloc(r->pos, cap * sizeof(*p));
		if (!p)
			return AM_ENOMEM;
		r->pos = p;
		r->cap = cap;
	}
	r->pos[r->n++] = pos;
	return 0;
}

/* Record that seq of (sensor, run) is at pos. */
static int jr__index(journal *j, const jrec_key *k, uint64_t pos)
{
	char key[JR__KEY_MAX];
	jr_run *r;
	uint64_t next;
	int rc = 0;

	jr__key(key, k->sensor, k->run);
	r = table_get(&j->runs, key);
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r || table_put(&j->runs, key, r)) {
			free(r);
			return AM_ENOMEM;
		}
		memcpy(r->sensor, k->sensor, sizeof(r->sensor));
		memcpy(r->run, k->run, sizeof(r->run));
		r->last_t = -INFINITY;
	}
	next = r->first + (r->n - r->head);
	if (r->n == r->head || k->seq > next + JR__HOLE_MAX) {
		for (size_t i = r->head; i < r->n; i++)
			j->st.records -= r->pos[i] != 0;
		r->head = r->n = 0;
		r->first = next = k->seq;
	}
	if (k->seq >= next) {
		while (!rc && next < k->seq) {
			rc = jr__push(r, 0);
			next++;
		}
		if (!rc)
			rc = jr__push(r, pos);
		if (!rc)
			j->st.records++;
	} else if (k->seq >= r->first) {
		uint64_t *p = &r->pos[r->head + (k->seq - r->first)];
		j->st.records += *p == 0;
		*p = pos; /* written again: the newer copy */
	}
	if (!rc && k->t_end > r->last_t)
		r->last_t = k->t_end;
	return rc;
}

/* Segment gen is gone: drop the places in it (and the holes before them)
 * from the head of every run, and the runs left empty. */
static void jr__unindex(journal *j, int64_t gen)
{
	size_t it = 0;
	const char *key;
	void *v;
	while (table_next(&j->runs, &it, &key, &v)) {
		jr_run *r = v;
		while (r->head < r->n &&
		       (r->pos[r->head] == 0 || JR__GEN(r->pos[r->head]) <= gen)) {
			j->st.records -= r->pos[r->head] != 0;
			r->head++;
			r->first++;
		}
		if (r->head == r->n)
			jr__run_free(table_del(&j->runs, key));
	}
}

/* ---- segments ------------------------------------------------------------------ */

static jr_seg *jr__seg(journal *j, int64_t gen)
{
	size_t lo = 0, hi = j->nseg;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (j->segs[mid].gen == gen)
			return &j->segs[mid];
		if (j->segs[mid].gen < gen)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int jr__seg_add(journal *j, int64_t gen, int64_t bytes, double newest)
{
	if (j->nseg == j->segcap) {
		size_t cap = j->segcap ? 2 * j->segcap : 16;
		jr_seg *s = realloc(j->segs, cap * sizeof(*s));
		if (!s)
			return AM_ENOMEM;
		j->segs = s;
		j->segcap = cap;
	}
	j->segs[j->nseg++] = (jr_seg){gen, bytes, newest};
	j->st.bytes += bytes;
	return 0;
}

static int jr__cmp_gen(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The generations present in the directory, sorted, into *out (malloc'ed). */
static int jr__list(journal *j, int64_t **out, size_t *n, char *err, size_t errlen)
{
	DIR *d = opendir(j->dir);
	struct dirent *e;
	int64_t *v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return jr__err(errno, "open", j->dir, err, errlen);
	while ((e = readdir(d))) {
		char *end;
		long long g;
		if (strncmp(e->d_name, "journal.", 8))
			continue;
		errno = 0;
		g = strtoll(e->d_name + 8, &end, 10);
		if (errno || *end || g <= 0 || g >= (1ll << 23))
			continue;
		if (*n == cap) {
			int64_t *p = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!p) {
				free(v);
				closedir(d);
				return AM_ENOMEM;
			}
			v = p;
		}
		v[(*n)++] = g;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), jr__cmp_gen);
	*out = v;
	return 0;
}

/* The next offset >= off where the magic appears (or size): resynchronise
 * after a record that does not check. */
static int64_t jr__resync(journal *j, int fd, int64_t off, int64_t size)
{
	static const unsigned char magic[4] = {0x41, 0x4a, 0x52, 0x31};
	if (jr__buf(j, JR__RESYNC_CHUNK))
		return size;
	while (off + 4 <= size) {
		ssize_t got = pread(fd, j->buf, JR__RESYNC_CHUNK, off);
		const unsigned char *hit;
		if (got < 4)
			return size;
		hit = memmem(j->buf, (size_t)got, magic, 4);
		if (hit)
			return off + (hit - j->buf);
		off += got - 3;
	}
	return size;
}

/* Read segment gen whole and index every record that checks. */
static int jr__scan(journal *j, int64_t gen, char *err, size_t errlen)
{
	char path[PATH_MAX];
	unsigned char hdr[JREC_HDR];
	struct stat sb;
	int64_t off = 0, size;
	double newest = -INFINITY;
	int fd, rc = 0, bad = 0;

	jr__path(j, gen, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		rc = jr__err(errno, "open", path, err, errlen);
		goto out;
	}
	size = sb.st_size;
	if (size == 0) { /* opened and never written: nothing to keep */
		unlink(path);
		goto out;
	}
	while (!rc && off + JREC_HDR <= size) {
		uint32_t len, crc;
		jrec_key k;
		if (pread(fd, hdr, JREC_HDR, off) != JREC_HDR) {
			rc = jr__err(errno ? errno : EIO, "read", path, err, errlen);
			break;
		}
		if (!jrec_header(hdr, &len, &crc) && off + JREC_HDR + len <= size) {
			if ((rc = jr__buf(j, len)))
				break;
			if (pread(fd, j->buf, len, off + JREC_HDR) != (ssize_t)len) {
				rc = jr__err(errno ? errno : EIO, "read", path, err,
					     errlen);
				break;
			}
			if (crc32_update(0, j->buf, len) == crc &&
			    !jrec_peek(j->buf, len, &k)) {
				rc = jr__index(j, &k, JR__POS(gen, off));
				if (k.t_end > newest)
					newest = k.t_end;
				off += JREC_HDR + len;
				bad = 0;
				continue;
			}
		}
		/* a torn write or damage: count the stretch once, go on at the
		 * next record that checks */
		j->st.torn += !bad;
		bad = 1;
		off = jr__resync(j, fd, off + 1, size);
	}
	j->st.torn += !rc && !bad && off < size; /* a header cut short */
	if (!rc)
		rc = jr__seg_add(j, gen, size, newest);
	if (rc == AM_ENOMEM)
		snprintf(err, errlen, "journal: out of memory indexing %s", path);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Start segment gen for writing (closing, after syncing, the one before). */
static int jr__start(journal *j, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int64_t gen = j->nseg ? j->segs[j->nseg - 1].gen + 1 : 1;
	int fd, rc;

	if (j->wfd >= 0) {
		if (j->dirty && (rc = journal_sync(j, 0, 1, err, errlen)) < 0)
			return rc;
		close(j->wfd);
		j->wfd = -1;
	}
	jr__path(j, gen, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return jr__err(errno, "create", path, err, errlen);
	if ((rc = jr__seg_add(j, gen, 0, -INFINITY))) {
		close(fd);
		unlink(path);
		snprintf(err, errlen, "journal: out of memory");
		return rc;
	}
	j->wfd = fd;
	j->wend = 0;
	if (j->o.fsync_ms >= 0 && fsync(j->dfd) != 0)
		return jr__err(errno, "sync", j->dir, err, errlen);
	return 0;
}

/* Delete the oldest segment (never the one being written). */
static void jr__drop_oldest(journal *j)
{
	char path[PATH_MAX];
	jr_seg s = j->segs[0];
	jr__path(j, s.gen, path, sizeof(path));
	unlink(path);
	if (j->rgen == s.gen && j->rfd >= 0) {
		close(j->rfd);
		j->rfd = -1;
	}
	memmove(j->segs, j->segs + 1, (j->nseg - 1) * sizeof(*j->segs));
	j->nseg--;
	j->st.bytes -= s.bytes;
	j->st.evicted++;
	jr__unindex(j, s.gen);
}

/* The bounds: the oldest segments go while all exceed max_bytes or their
 * newest sample is max_age_s older than the newest held. Age is measured
 * on the data, not the clock, so a gateway switched off for a night keeps
 * its last minutes for the archiver to ask for. (A segment whose records
 * all failed their check has no newest sample: it goes too.) */
static int jr__evict(journal *j, char *err, size_t errlen)
{
	int dropped = 0, rc = 0;
	double newest = -INFINITY;
	for (size_t i = 0; i < j->nseg; i++)
		if (j->segs[i].newest > newest)
			newest = j->segs[i].newest;
	while (j->nseg > 0) {
		const jr_seg *s = &j->segs[0];
		int old = s->bytes > 0 && !(s->newest >= newest - j->o.max_age_s);
		if (!old && j->st.bytes <= j->o.max_bytes)
			break;
		if (j->wfd >= 0 && j->nseg == 1) {
			/* the writer's own: only age retires it (a segment is at
			 * most half of max_bytes), by moving to a fresh one */
			if (!old || (rc = jr__start(j, err, errlen)))
				break;
		}
		jr__drop_oldest(j);
		dropped = 1;
	}
	if (dropped && j->o.fsync_ms >= 0)
		fsync(j->dfd);
	return rc;
}

/* ---- the API -------------------------------------------------------------------- */

int journal_open(journal **out, const journal_options *o, char *err, size_t errlen)
{
	journal *j;
	int64_t *gens = NULL;
	size_t ngen = 0;
	int rc;

	*out = NULL;
	if (!o || !o->dir || !*o->dir || strlen(o->dir) >= sizeof(j->dir) ||
	    o->max_bytes < 0 || o->max_age_s < 0) {
		snprintf(err, errlen, "journal: bad options (a directory is required)");
		return AM_EINVAL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "journal: out of memory");
		return AM_ENOMEM;
	}
	j->o = *o;
	snprintf(j->dir, sizeof(j->dir), "%s", o->dir);
	j->o.dir = j->dir;
	if (j->o.max_bytes == 0)
		j->o.max_bytes = JOURNAL_MAX_BYTES_DEFAULT;
	if (j->o.max_age_s == 0)
		j->o.max_age_s = JOURNAL_MAX_AGE_DEFAULT;
	if (j->o.segment_bytes <= 0)
		j->o.segment_bytes = j->o.max_bytes / 8;
	if (j->o.segment_bytes > j->o.max_bytes / 2)
		j->o.segment_bytes = j->o.max_bytes / 2;
	if (j->o.segment_bytes > (64ll << 20))
		j->o.segment_bytes = 64ll << 20;
	if (j->o.segment_bytes < JOURNAL_SEGMENT_MIN)
		j->o.segment_bytes = JOURNAL_SEGMENT_MIN;
	j->dfd = j->lfd = j->wfd = j->rfd = -1;
	table_init(&j->runs);
	if (mkdir(j->dir, 0700) != 0 && errno != EEXIST) {
		rc = jr__err(errno, "create", j->dir, err, errlen);
		goto fail;
	}
	j->dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dfd < 0) {
		rc = jr__err(errno, "open", j->dir, err, errlen);
		goto fail;
	}
	/* one writer per directory: two would name their segments alike */
	j->lfd = openat(j->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lfd < 0 || flock(j->lfd, LOCK_EX | LOCK_NB) != 0) {
		if (j->lfd >= 0 && (errno == EWOULDBLOCK || errno == EAGAIN)) {
			snprintf(err, errlen,
				 "journal: %s is in use by another process (give each "
				 "ingest-bt its own directory)",
				 j->dir);
			rc = AM_EINVAL;
		} else {
			rc = jr__err(errno, "lock", j->dir, err, errlen);
		}
		goto fail;
	}
	if ((rc = jr__list(j, &gens, &ngen, err, errlen)))
		goto fail;
	for (size_t i = 0; i < ngen && !rc; i++)
		rc = jr__scan(j, gens[i], err, errlen);
	free(gens);
	if (rc || (rc = jr__evict(j, err, errlen)) || (rc = jr__start(j, err, errlen)))
		goto fail;
	*out = j;
	return 0;
fail:
	journal_close(j);
	return rc;
}

void journal_close(journal *j)
{
	char err[8];
	if (!j)
		return;
	if (j->wfd >= 0) {
		if (j->dirty && j->o.fsync_ms >= 0)
			journal_sync(j, 0, 1, err, sizeof(err));
		close(j->wfd);
	}
	if (j->rfd >= 0)
		close(j->rfd);
	if (j->dfd >= 0)
		close(j->dfd);
	if (j->lfd >= 0)
		close(j->lfd); /* and the lock with it */
	table_cleanup(&j->runs, jr__run_free);
	free(j->segs);
	free(j->buf);
	free(j);
}

int journal_append(journal *j, const msg_raw *m, int64_t now_ms, char *err, size_t errlen)
{
	size_t len, need = jrec_size(m);
	jrec_key k;
	jr_seg *s;
	ssize_t w;
	int rc;

	if (need > JREC_HDR + JREC_BODY_MAX || jr__buf(j, need)) {
		snprintf(err, errlen, "journal: %s",
			 need > JREC_HDR + JREC_BODY_MAX ? "message over the caps"
							 : "out of memory");
		return need > JREC_HDR + JREC_BODY_MAX ? AM_EFORMAT : AM_ENOMEM;
	}
	if ((rc = jrec_encode(m, j->buf, j->bufcap, &len))) {
		snprintf(err, errlen, "journal: %s seq %llu breaks a cap of msg.h",
			 m->sensor, (unsigned long long)m->seq);
		return rc;
	}
	if (j->wend > 0 && j->wend + (int64_t)len > j->o.segment_bytes &&
	    (rc = jr__start(j, err, errlen)))
		goto fail;
	w = pwrite(j->wfd, j->buf, len, j->wend);
	if (w != (ssize_t)len) {
		char path[PATH_MAX];
		int e = w < 0 ? errno : ENOSPC; /* a short write: out of room */
		jr__path(j, j->segs[j->nseg - 1].gen, path, sizeof(path));
		rc = jr__err(e, "append to", path, err, errlen);
		/* nothing partial may stay; if it cannot be cut, write on in a
		 * fresh segment (the reader skips the torn stretch) */
		if (ftruncate(j->wfd, j->wend) != 0) {
			char e2[8];
			jr__start(j, e2, sizeof(e2));
		}
		goto fail;
	}
	snprintf(k.sensor, sizeof(k.sensor), "%s", m->sensor);
	snprintf(k.run, sizeof(k.run), "%s", m->run);
	k.seq = m->seq;
	k.t0 = m->t0;
	k.t_end = m->t0 + (double)(m->n_samples - 1) / m->rate_hz;
	if ((rc = jr__index(j, &k, JR__POS(j->segs[j->nseg - 1].gen, j->wend)))) {
		snprintf(err, errlen, "journal: out of memory");
		goto fail; /* unindexed: the next append writes over it */
	}
	s = &j->segs[j->nseg - 1];
	s->bytes += (int64_t)len;
	if (k.t_end > s->newest)
		s->newest = k.t_end;
	j->wend += (int64_t)len;
	j->st.bytes += (int64_t)len;
	j->st.appended++;
	j->st.append_bytes += (int64_t)len;
	if (!j->dirty) {
		j->dirty = 1;
		j->dirty_ms = now_ms;
	}
	if (j->o.fsync_ms == 0 && (rc = journal_sync(j, now_ms, 1, err, errlen)) < 0)
		return rc;
	return jr__evict(j, err, errlen);
fail:
	j->st.append_errors++;
	return rc;
}

int journal_sync(journal *j, int64_t now_ms, int force, char *err, size_t errlen)
{
	int64_t t0, us;
	if (!j->dirty || j->wfd < 0)
		return 0;
	if (!force && (j->o.fsync_ms < 0 || now_ms < j->dirty_ms + j->o.fsync_ms))
		return 0;
	t0 = clock_mono_ns();
	if (fdatasync(j->wfd) != 0)
		return jr__err(errno, "sync", j->dir, err, errlen);
	us = (clock_mono_ns() - t0) / 1000;
	j->dirty = 0;
	j->st.syncs++;
	j->st.sync_us_last = us;
	if (us > j->st.sync_us_max)
		j->st.sync_us_max = us;
	return 1;
}

int64_t journal_deadline(const journal *j)
{
	if (!j->dirty || j->o.fsync_ms < 0)
		return INT64_MAX;
	return j->dirty_ms + j->o.fsync_ms;
}

static jr_run *jr__find(const journal *j, const char *sensor, const char *run)
{
	char key[JR__KEY_MAX];
	if (strlen(sensor) > MSG_SENSOR_MAX || strlen(run) > MSG_RUN_MAX)
		return NULL;
	jr__key(key, sensor, run);
	return table_get(&j->runs, key);
}

int journal_range(const journal *j, const char *sensor, const char *run, uint64_t *first,
		  uint64_t *last)
{
	jr_run *r = jr__find(j, sensor, run);
	if (!r || r->head == r->n)
		return 0;
	*first = r->first;
	*last = r->first + (r->n - r->head) - 1;
	return 1;
}

int journal_get(journal *j, const char *sensor, const char *run, uint64_t seq,
		msg_raw *out, char *err, size_t errlen)
{
	jr_run *r = jr__find(j, sensor, run);
	unsigned char hdr[JREC_HDR];
	char path[PATH_MAX];
	uint64_t pos;
	uint32_t len, crc;
	int64_t gen, off;
	int rc;

	if (!r || seq < r->first || seq - r->first >= r->n - r->head)
		return 0;
	pos = r->pos[r->head + (seq - r->first)];
	gen = JR__GEN(pos);
	off = JR__OFF(pos);
	if (pos == 0 || !jr__seg(j, gen))
		return 0;
	jr__path(j, gen, path, sizeof(path));
	if (j->rgen != gen || j->rfd < 0) {
		if (j->rfd >= 0)
			close(j->rfd);
		j->rfd = open(path, O_RDONLY | O_CLOEXEC);
		j->rgen = gen;
		if (j->rfd < 0)
			return jr__err(errno, "open", path, err, errlen);
	}
	if (pread(j->rfd, hdr, JREC_HDR, off) != JREC_HDR ||
	    jrec_header(hdr, &len, &crc) || jr__buf(j, len) ||
	    pread(j->rfd, j->buf, len, off + JREC_HDR) != (ssize_t)len ||
	    crc32_update(0, j->buf, len) != crc) {
		snprintf(err, errlen, "journal: %s at %lld: the record no longer checks",
			 path, (long long)off);
		return AM_EFORMAT;
	}
	rc = jrec_decode(j->buf, len, out);
	if (!rc &&
	    (out->seq != seq || strcmp(out->sensor, sensor) || strcmp(out->run, run)))
		rc = AM_EFORMAT;
	if (rc) {
		snprintf(err, errlen, "journal: %s at %lld: %s", path, (long long)off,
			 am_strerror(rc));
		return rc;
	}
	return 1;
}

int journal_next_run(const journal *j, size_t *pos, journal_run *out)
{
	const char *key;
	void *v;
	while (table_next(&j->runs, pos, &key, &v)) {
		const jr_run *r = v;
		if (r->head == r->n)
			continue;
		out->sensor = r->sensor;
		out->run = r->run;
		out->first = r->first;
		out->last = r->first + (r->n - r->head) - 1;
		out->last_t = r->last_t;
		return 1;
	}
	return 0;
}

void journal_get_stats(const journal *j, journal_stats *st)
{
	size_t it = 0;
	const char *key;
	void *v;
	*st = j->st;
	st->segments = (int64_t)j->nseg;
	st->index_bytes = 0;
	while (table_next(&j->runs, &it, &key, &v)) {
		const jr_run *r = v;
		st->index_bytes += (int64_t)(sizeof(*r) + r->cap * sizeof(*r->pos) +
					     strlen(key) + sizeof(table_slot));
	}
}
