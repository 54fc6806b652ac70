/* spool — append-only journal between Paho's acknowledgement and the
 * SQLite commit (see spool.h for the protocol and guarantees).
 *
 * The writer (Paho's thread) appends whole records with one pwritev() at
 * the known end under a mutex and publishes the new end only afterwards, so
 * the reader never sees half a record of the live file; a failed or short
 * write is cut back with ftruncate(). The reader works with pread() on its
 * own descriptor and needs the mutex only to learn the writer's position.
 *
 * Costs per message (measured with strace -c on the archiver at 1,000
 * sensors: 2 pread + 1 eventfd read in the reader, 1 pwritev + 1 eventfd
 * write in the writer). The reader reads ahead: one pread of up to
 * SPOOL_READAHEAD bytes below the readable limit serves the records in it
 * (bytes below the limit never change: the writer publishes its end only
 * after a whole record is written, and cuts back only above it). The
 * eventfd is written only when the reader has said it is going to sleep
 * (rwait, set under the mutex after a last look at the writer's end), so
 * a reader that keeps up with a stream costs the writer no second syscall
 * and itself no read of the eventfd per record. */
#include "spool.h"

#include "crc32.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SPOOL_MAGIC 0x31505341u /* "ASP1" */
#define SPOOL_HDR 12
#define SPOOL_READAHEAD (256 * 1024)

struct spool {
	char dir[PATH_MAX - 32];
	pthread_mutex_t mu;
	/* writer, under mu */
	int wfd;
	int64_t wgen, wend, rotate;
	int64_t max;   /* cap on total (0: none) */
	int64_t total; /* bytes of all generation files */
	int rwait;     /* the reader found nothing: wake it (eventfd) */
	/* reader */
	int rfd;
	int64_t rfd_gen, rgen, roff;
	char *buf;
	size_t cap;
	char *ra;       /* read-ahead: bytes [ra_off, ra_off + ra_len) */
	int64_t ra_gen; /* of generation ra_gen (-1: empty) */
	int64_t ra_off;
	size_t ra_len;
	char topic[SPOOL_TOPIC_MAX + 1];
	int64_t torn;
	int efd;
};

static void spool__path(const spool *sp, int64_t gen, char *out, size_t cap)
{
	snprintf(out, cap, "%s/spool.%020lld", sp->dir, (long long)gen);
}

/* Smallest generation > after present in the directory (-1: none); with
 * max set, the largest one instead. */
static int64_t spool__scan(const spool *sp, int64_t after, int max)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	int64_t best = -1;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char *end;
		long long g;
		if (strncmp(e->d_name, "spool.", 6))
			continue;
		errno = 0;
		g = strtoll(e->d_name + 6, &end, 10);
		if (errno || *end || g <= 0)
			continue;
		if (max ? g > best : (g > after && (best < 0 || g < best)))
			best = g;
	}
	closedir(d);
	return best;
}

/* Bytes of the generation files below the writer's, plus the writer's end
 * (called with mu held: the writer's file may grow meanwhile otherwise). */
static int64_t spool__total(const spool *sp)
{
	int64_t total = sp->wend;
	char path[PATH_MAX];
	struct stat st;
	for (int64_t g = spool__scan(sp, 0, 0); g > 0 && g < sp->wgen;
	     g = spool__scan(sp, g, 0)) {
		spool__path(sp, g, path, sizeof(path));
		if (stat(path, &st) == 0)
			total += st.st_size;
	}
	return total;
}

static int spool__err(int e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "spool: %s: %s", what, strerror(e));
	return e == ENOSPC || e == EDQUOT ? AM_EFULL : AM_EIO;
}

/* Open generation gen for writing (creating it). Called with mu held or
 * before the writer thread exists. */
static int spool__wopen(spool *sp, int64_t gen, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;
	spool__path(sp, gen, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return spool__err(errno, path, err, errlen);
	if (sp->wfd >= 0)
		close(sp->wfd);
	sp->wfd = fd;
	sp->wgen = gen;
	sp->wend = lseek(fd, 0, SEEK_END);
	return 0;
}

int spool_open(spool **out, const char *dir, spool_pos from, int64_t rotate_bytes,
	       char *err, size_t errlen)
{
	spool *sp;
	int64_t last;
	int rc;

	*out = NULL;
	if (!dir || !*dir || strlen(dir) >= sizeof(sp->dir)) {
		snprintf(err, errlen, "spool: bad directory");
		return AM_EINVAL;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return spool__err(errno, dir, err, errlen);
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		snprintf(err, errlen, "spool: out of memory");
		return AM_ENOMEM;
	}
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	pthread_mutex_init(&sp->mu, NULL);
	sp->wfd = sp->rfd = -1;
	sp->rfd_gen = -1;
	sp->ra_gen = -1;
	sp->rwait = 1;
	sp->rotate = rotate_bytes > 0 ? rotate_bytes : 64ll << 20;
	sp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sp->efd < 0) {
		rc = spool__err(errno, "eventfd", err, errlen);
		goto fail;
	}
	/* the new generation comes after every file and after the cursor: after
	 * a power cut the files the cursor names may be gone (they are not
	 * fsynced), and a generation at or below it would never be read */
	last = spool__scan(sp, 0, 1);
	if (from.gen > last)
		last = from.gen;
	rc = spool__wopen(sp, last > 0 ? last + 1 : 1, err, errlen);
	if (rc)
		goto fail;
	sp->total = spool__total(sp);
	if (from.gen > 0) {
		sp->rgen = from.gen;
		sp->roff = from.off;
	} else {
		sp->rgen = spool__scan(sp, 0, 0);
		sp->roff = 0;
	}
	*out = sp;
	return 0;
fail:
	spool_close(sp);
	return rc;
}

void spool_close(spool *sp)
{
	if (!sp)
		return;
	if (sp->wfd >= 0)
		close(sp->wfd);
	if (sp->rfd >= 0)
		close(sp->rfd);
	if (sp->efd >= 0)
		close(sp->efd);
	pthread_mutex_destroy(&sp->mu);
	free(sp->buf);
	free(sp->ra);
	free(sp);
}

int spool_set_max(spool *sp, int64_t max_bytes, char *err, size_t errlen)
{
	if (max_bytes < 0 || (max_bytes > 0 && max_bytes < SPOOL_MAX_MIN)) {
		snprintf(err, errlen,
			 "spool: a cap of %lld bytes is below the %lld the largest "
			 "message needs",
			 (long long)max_bytes, (long long)SPOOL_MAX_MIN);
		return AM_EINVAL;
	}
	pthread_mutex_lock(&sp->mu);
	sp->max = max_bytes;
	if (max_bytes > 0 && sp->rotate > max_bytes / 4)
		sp->rotate = max_bytes / 4;
	pthread_mutex_unlock(&sp->mu);
	return 0;
}

int spool_append(spool *sp, const char *topic, const void *payload, size_t len, char *err,
		 size_t errlen)
{
	size_t tlen = strlen(topic);
	uint32_t hdr[3];
	uint16_t t16;
	struct iovec iov[4];
	size_t total;
	ssize_t w;
	int rc = 0, wake = 0;
	uint64_t one = 1;

	if (tlen > SPOOL_TOPIC_MAX || 2 + tlen + len > SPOOL_BODY_MAX) {
		snprintf(err, errlen, "spool: message too large (%zu bytes)", len);
		return AM_EINVAL;
	}
	t16 = (uint16_t)tlen;
	hdr[0] = SPOOL_MAGIC;
	hdr[1] = (uint32_t)(2 + tlen + len);
	hdr[2] = crc32_update(crc32_update(crc32_update(0, &t16, 2), topic, tlen),
			      payload, len);
	iov[0] = (struct iovec){hdr, sizeof(hdr)};
	iov[1] = (struct iovec){&t16, 2};
	iov[2] = (struct iovec){(void *)topic, tlen};
	iov[3] = (struct iovec){(void *)payload, len};
	total = sizeof(hdr) + 2 + tlen + len;

	pthread_mutex_lock(&sp->mu);
	if (sp->max > 0 && sp->total + (int64_t)total > sp->max) {
		snprintf(err, errlen, "spool: full: %lld bytes spooled, cap %lld",
			 (long long)sp->total, (long long)sp->max);
		rc = AM_EFULL;
		goto out;
	}
	if (sp->wend >= sp->rotate) {
		rc = spool__wopen(sp, sp->wgen + 1, err, errlen);
		if (rc)
			goto out;
	}
	w = pwritev(sp->wfd, iov, 4, sp->wend);
	if (w != (ssize_t)total) {
		int e = w < 0 ? errno : ENOSPC; /* a short write: out of space */
		if (ftruncate(sp->wfd, sp->wend) != 0) {
			/* the torn tail stays; the reader stops at it, and the next
			 * record goes to a fresh generation */
			char e2[8];
			spool__wopen(sp, sp->wgen + 1, e2, sizeof(e2));
		}
		rc = spool__err(e, "append", err, errlen);
		goto out;
	}
	sp->wend += (int64_t)total;
	sp->total += (int64_t)total;
	wake = sp->rwait;
	sp->rwait = 0;
out:
	pthread_mutex_unlock(&sp->mu);
	if (wake && write(sp->efd, &one, sizeof(one)) < 0) {
		/* counter saturated: the reader is woken anyway */
	}
	return rc;
}

/* Point the reader at the next generation after rgen, if any. Returns 1
 * moved, 0 none. */
static int spool__advance(spool *sp, int64_t wgen)
{
	int64_t g = spool__scan(sp, sp->rgen, 0);
	if (g < 0 || g > wgen)
		return 0;
	sp->rgen = g;
	sp->roff = 0;
	return 1;
}

/* n bytes at off of the reader's generation (off + n <= limit, the bytes
 * below which are final), through the read-ahead. Returns 0 or errno. */
static int spool__pread(spool *sp, void *dst, size_t n, int64_t off, int64_t limit)
{
	if (sp->ra_gen != sp->rgen || off < sp->ra_off ||
	    off + (int64_t)n > sp->ra_off + (int64_t)sp->ra_len) {
		size_t want = (size_t)(limit - off);
		ssize_t r;
		if (want > SPOOL_READAHEAD)
			want = SPOOL_READAHEAD;
		if (want < n)
			want = n;
		if (!sp->ra) {
			sp->ra = malloc(SPOOL_READAHEAD);
			if (!sp->ra)
				return ENOMEM;
		}
		if (want > SPOOL_READAHEAD) /* a record larger than the read-ahead */
			return pread(sp->rfd, dst, n, off) == (ssize_t)n ? 0
			       : errno                                   ? errno
									 : EIO;
		sp->ra_gen = -1;
		r = pread(sp->rfd, sp->ra, want, off);
		if (r < (ssize_t)n)
			return r < 0 && errno ? errno : EIO;
		sp->ra_gen = sp->rgen;
		sp->ra_off = off;
		sp->ra_len = (size_t)r;
	}
	memcpy(dst, sp->ra + (off - sp->ra_off), n);
	return 0;
}

/* Nothing more to read: arm the wake-up. The eventfd is drained first, then
 * rwait set under the mutex with a last look at the writer's position: an
 * append after that sees rwait and writes the eventfd after the drain; one
 * before it moved the position. Returns 1 when the position moved. */
static int spool__sleep(spool *sp, int64_t wgen, int64_t wend)
{
	uint64_t drain;
	int moved;
	if (read(sp->efd, &drain, sizeof(drain)) < 0) {
		/* nothing signalled: fine */
	}
	pthread_mutex_lock(&sp->mu);
	moved = sp->wgen != wgen || sp->wend != wend;
	sp->rwait = 1;
	pthread_mutex_unlock(&sp->mu);
	return moved;
}

int spool_next(spool *sp, spool_record *rec, char *err, size_t errlen)
{
	int64_t wgen, wend, limit;
	uint32_t hdr[3];
	uint16_t tlen;
	int e, looked = 0;

again:
	pthread_mutex_lock(&sp->mu);
	wgen = sp->wgen;
	wend = sp->wend;
	pthread_mutex_unlock(&sp->mu);
	for (;;) {
		if (sp->rgen <= 0 && !spool__advance(sp, wgen))
			goto none;
		if (sp->rfd_gen != sp->rgen) {
			char path[PATH_MAX];
			if (sp->rfd >= 0)
				close(sp->rfd);
			sp->rfd_gen = -1;
			spool__path(sp, sp->rgen, path, sizeof(path));
			sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
			if (sp->rfd < 0) {
				if (errno != ENOENT)
					return spool__err(errno, path, err, errlen);
				if (sp->rgen < wgen && spool__advance(sp, wgen))
					continue;
				goto none;
			}
			sp->rfd_gen = sp->rgen;
		}
		if (sp->rgen == wgen) {
			limit = wend;
		} else {
			struct stat st;
			if (fstat(sp->rfd, &st) != 0)
				return spool__err(errno, "stat", err, errlen);
			limit = st.st_size;
		}
		if (sp->roff + SPOOL_HDR > limit) {
			if (sp->rgen < wgen) {
				if (sp->roff < limit)
					sp->torn++;
				if (spool__advance(sp, wgen))
					continue;
			}
			goto none;
		}
		e = spool__pread(sp, hdr, sizeof(hdr), sp->roff, limit);
		if (e)
			return spool__err(e, "read", err, errlen);
		if (hdr[0] != SPOOL_MAGIC || hdr[1] < 2 || hdr[1] > SPOOL_BODY_MAX ||
		    sp->roff + SPOOL_HDR + hdr[1] > limit)
			goto torn;
		if (sp->cap < (size_t)hdr[1] + 1) {
			char *b = realloc(sp->buf, (size_t)hdr[1] + 1);
			if (!b) {
				snprintf(err, errlen, "spool: out of memory");
				return AM_ENOMEM;
			}
			sp->buf = b;
			sp->cap = (size_t)hdr[1] + 1;
		}
		e = spool__pread(sp, sp->buf, hdr[1], sp->roff + SPOOL_HDR, limit);
		if (e)
			return spool__err(e, "read", err, errlen);
		if (crc32_update(0, sp->buf, hdr[1]) != hdr[2])
			goto torn;
		memcpy(&tlen, sp->buf, 2);
		if ((size_t)tlen + 2 > hdr[1] || tlen > SPOOL_TOPIC_MAX)
			goto torn;
		memcpy(sp->topic, sp->buf + 2, tlen);
		sp->topic[tlen] = 0;
		sp->buf[hdr[1]] = 0;
		rec->topic = sp->topic;
		rec->payload = sp->buf + 2 + tlen;
		rec->len = hdr[1] - 2 - tlen;
		sp->roff += SPOOL_HDR + hdr[1];
		rec->next.gen = sp->rgen;
		rec->next.off = sp->roff;
		return 1;
	torn:
		/* a torn or damaged tail: the rest of this file is unusable */
		sp->torn++;
		if (sp->rgen < wgen && spool__advance(sp, wgen))
			continue;
		snprintf(err, errlen, "spool: damaged record in the live file at %lld",
			 (long long)sp->roff);
		return AM_EIO;
	}
none:
	if (spool__sleep(sp, wgen, wend)) {
		uint64_t one = 1;
		if (!looked++)
			goto again;
		/* appended meanwhile and not read: stay readable */
		if (write(sp->efd, &one, sizeof(one)) < 0) {
			/* counter saturated: readable anyway */
		}
	}
	return 0;
}

int spool_seek(spool *sp, spool_pos pos)
{
	sp->rgen = pos.gen;
	sp->roff = pos.off;
	if (pos.gen <= 0) {
		sp->rgen = spool__scan(sp, 0, 0);
		sp->roff = 0;
	}
	return 0;
}

spool_pos spool_tell(const spool *sp)
{
	spool_pos p = {sp->rgen, sp->roff};
	return p;
}

int spool_rotate(spool *sp, int64_t min_bytes, spool_pos *pos, char *err, size_t errlen)
{
	int rc = 0;
	pthread_mutex_lock(&sp->mu);
	/* only when the reader (the caller's thread) has read everything:
	 * checked under the lock, so no append can slip in between */
	if (sp->wend >= min_bytes && sp->wend > 0 && sp->rgen == sp->wgen &&
	    sp->roff == sp->wend) {
		rc = spool__wopen(sp, sp->wgen + 1, err, errlen);
		if (!rc) {
			pos->gen = sp->rgen = sp->wgen;
			pos->off = sp->roff = 0;
			rc = 1;
		}
	}
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

void spool_release(spool *sp, spool_pos pos)
{
	int64_t g = 0, wgen;
	char path[PATH_MAX];
	pthread_mutex_lock(&sp->mu);
	wgen = sp->wgen;
	pthread_mutex_unlock(&sp->mu);
	while ((g = spool__scan(sp, g, 0)) > 0 && g < pos.gen && g < wgen) {
		spool__path(sp, g, path, sizeof(path));
		unlink(path);
	}
	pthread_mutex_lock(&sp->mu);
	sp->total = spool__total(sp);
	pthread_mutex_unlock(&sp->mu);
}

int64_t spool_bytes(spool *sp)
{
	int64_t t;
	pthread_mutex_lock(&sp->mu);
	t = sp->total;
	pthread_mutex_unlock(&sp->mu);
	return t;
}

int spool_fd(const spool *sp) { return sp->efd; }

void spool_take_wake(spool *sp)
{
	uint64_t drain;
	if (read(sp->efd, &drain, sizeof(drain)) < 0) {
		/* nothing signalled: fine */
	}
}

int64_t spool_backlog(spool *sp)
{
	int64_t wgen, wend, total = 0;
	pthread_mutex_lock(&sp->mu);
	wgen = sp->wgen;
	wend = sp->wend;
	pthread_mutex_unlock(&sp->mu);
	if (sp->rgen == wgen)
		return wend - sp->roff;
	for (int64_t g = sp->rgen; g > 0 && g < wgen; g = spool__scan(sp, g, 0)) {
		char path[PATH_MAX];
		struct stat st;
		spool__path(sp, g, path, sizeof(path));
		if (stat(path, &st) == 0)
			total += st.st_size - (g == sp->rgen ? sp->roff : 0);
	}
	return total + wend;
}

int64_t spool_torn(const spool *sp) { return sp->torn; }
