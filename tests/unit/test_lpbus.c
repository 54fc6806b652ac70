/* Unit tests for lpbus: the spec's test vectors byte-exact, random garbage,
 * a stream split at every byte boundary, absurd length fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/ingest-bt/lpbus.h"

typedef struct vec {
	uint16_t fn;
	size_t len;
	uint8_t payload[4];
	uint8_t bytes[16];
	size_t n;
} vec;

static const vec vectors[] = {
    {6, 0, {0}, {0x3A, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x07, 0x00, 0x0D, 0x0A}, 11},
    {0, 0, {0}, {0x3A, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0D, 0x0A}, 11},
    {4, 0, {0}, {0x3A, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x0D, 0x0A}, 11},
    {11,
     4,
     {0x64, 0, 0, 0},
     {0x3A, 0x01, 0x00, 0x0B, 0x00, 0x04, 0x00, 0x64, 0x00, 0x00, 0x00, 0x74, 0x00, 0x0D,
      0x0A},
     15},
    {10,
     4,
     {0x00, 0x1C, 0x26, 0x00},
     {0x3A, 0x01, 0x00, 0x0A, 0x00, 0x04, 0x00, 0x00, 0x1C, 0x26, 0x00, 0x51, 0x00, 0x0D,
      0x0A},
     15},
};
#define N_VEC (sizeof(vectors) / sizeof(vectors[0]))

/* Collect every frame a parser yields for data fed in chunks of size chunk
 * (0: all at once). Returns the count; frames go to out (max entries). */
static size_t parse_all(lpbus_parser *p, const uint8_t *d, size_t len, size_t chunk,
			lpbus_frame *out, size_t max)
{
	size_t n = 0, off = 0;
	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len) {
		size_t c = len - off < chunk ? len - off : chunk;
		const uint8_t *q = d + off;
		size_t left = c;
		for (;;) {
			int got;
			lpbus_frame f;
			size_t used = lpbus_parser_feed(p, q, left, &f, &got);
			assert_true(used <= left);
			q += used;
			left -= used;
			if (!got) {
				assert_int_equal(left, 0);
				break;
			}
			if (n < max)
				out[n] = f;
			n++;
		}
		off += c;
	}
	return n;
}

static void test_vectors_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_VEC; i++) {
		uint8_t out[32];
		size_t len = 0;
		assert_int_equal(lpbus_encode(1, vectors[i].fn, vectors[i].payload,
					      vectors[i].len, out, sizeof(out), &len),
				 0);
		assert_int_equal(len, vectors[i].n);
		assert_memory_equal(out, vectors[i].bytes, len);
	}
}

static void test_vectors_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_VEC; i++) {
		lpbus_parser p;
		lpbus_frame f[2];
		lpbus_parser_init(&p);
		assert_int_equal(parse_all(&p, vectors[i].bytes, vectors[i].n, 0, f, 2),
				 1);
		assert_int_equal(f[0].id, 1);
		assert_int_equal(f[0].function, vectors[i].fn);
		assert_int_equal(f[0].len, vectors[i].len);
		assert_memory_equal(f[0].payload, vectors[i].payload, vectors[i].len);
		assert_int_equal(p.stats.frames, 1);
		assert_int_equal(p.stats.bytes_skipped, 0);
	}
}

static void test_encode_limits(void **state)
{
	uint8_t big[LPBUS_MAX_PAYLOAD + 1] = {0}, out[LPBUS_MAX_FRAME + 8];
	size_t len;
	(void)state;
	assert_int_equal(lpbus_encode(1, 9, big, sizeof(big), out, sizeof(out), &len),
			 AM_ETOOBIG);
	assert_int_equal(lpbus_encode(1, 9, big, 10, out, 20, &len), AM_ETOOBIG);
	assert_int_equal(lpbus_encode(1, 9, NULL, 4, out, sizeof(out), &len), AM_EINVAL);
	assert_int_equal(
	    lpbus_encode(1, 9, big, LPBUS_MAX_PAYLOAD, out, sizeof(out), &len), 0);
	assert_int_equal(len, LPBUS_MAX_FRAME);
}

/* A stream of n frames with payloads that contain 0x3A and 0x0D 0x0A. */
static size_t make_stream(uint8_t *buf, size_t cap, int n, int with_garbage,
			  unsigned seed)
{
	size_t pos = 0;
	uint32_t gs = seed * 2654435761u + 1; /* garbage has its own generator */
	srand(seed);
	for (int i = 0; i < n; i++) {
		uint8_t pl[64];
		size_t len = (size_t)(rand() % 60), fl;
		for (size_t k = 0; k < len; k++)
			pl[k] =
			    (uint8_t)(k % 5 == 0 ? 0x3A : (k % 7 == 0 ? 0x0D : rand()));
		if (len > 3) {
			pl[1] = 0x0D;
			pl[2] = 0x0A;
		}
		if (with_garbage) {
			size_t g;
			gs = gs * 1103515245u + 12345u;
			g = (gs >> 16) % 20;
			for (size_t k = 0; k < g && pos < cap; k++) {
				gs = gs * 1103515245u + 12345u;
				buf[pos++] = (uint8_t)(k % 3 == 0 ? 0x3A : (gs >> 16));
			}
		}
		assert_int_equal(lpbus_encode((uint16_t)(i & 3), (uint16_t)i, pl, len,
					      buf + pos, cap - pos, &fl),
				 0);
		pos += fl;
	}
	return pos;
}

static void test_split_every_boundary(void **state)
{
	static uint8_t s[8192];
	static lpbus_frame ref[64], got[64];
	size_t len = make_stream(s, sizeof(s), 40, 1, 7);
	lpbus_parser p;
	size_t n_ref, n;
	(void)state;
	lpbus_parser_init(&p);
	n_ref = parse_all(&p, s, len, 0, ref, 64);
	assert_int_equal(n_ref, 40);
	for (int i = 0; i < 40; i++)
		assert_int_equal(ref[i].function, i);
	for (size_t cut = 0; cut <= len; cut++) {
		lpbus_parser q;
		lpbus_parser_init(&q);
		n = parse_all(&q, s, cut, 0, got, 64);
		n += parse_all(&q, s + cut, len - cut, 0, got + (n < 64 ? n : 63),
			       64 - (n < 64 ? n : 63));
		assert_int_equal(n, n_ref);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(got[i].function, ref[i].function);
			assert_int_equal(got[i].len, ref[i].len);
			assert_memory_equal(got[i].payload, ref[i].payload, ref[i].len);
		}
		assert_memory_equal(&q.stats, &p.stats, sizeof(p.stats));
	}
	/* byte by byte and in odd chunk sizes */
	for (size_t chunk = 1; chunk < 40; chunk += 3) {
		lpbus_parser q;
		lpbus_parser_init(&q);
		n = parse_all(&q, s, len, chunk, got, 64);
		assert_int_equal(n, n_ref);
		for (size_t i = 0; i < n; i++)
			assert_memory_equal(got[i].payload, ref[i].payload, ref[i].len);
		assert_memory_equal(&q.stats, &p.stats, sizeof(p.stats));
	}
}

static int appears_in(const uint8_t *hay, size_t hlen, const lpbus_frame *f)
{
	uint8_t enc[LPBUS_MAX_FRAME];
	size_t len;
	if (lpbus_encode(f->id, f->function, f->payload, f->len, enc, sizeof(enc), &len))
		return 0;
	return memmem(hay, hlen, enc, len) != NULL;
}

static void test_random_garbage(void **state)
{
	enum { N = 1 << 20 };
	uint8_t *g = malloc(N);
	lpbus_parser p;
	lpbus_frame f[16];
	size_t n;
	(void)state;
	assert_non_null(g);
	srand(12345);
	for (size_t i = 0; i < N; i++)
		g[i] = (uint8_t)(i % 17 == 0 ? 0x3A : rand());
	lpbus_parser_init(&p);
	n = parse_all(&p, g, N, 333, f, 16);
	/* anything delivered must really be in the input, checksum and all */
	for (size_t i = 0; i < n && i < 16; i++)
		assert_true(appears_in(g, N, &f[i]));
	assert_true(n < 4);
	assert_true(p.stats.bad_length + p.stats.bad_end + p.stats.bad_checksum > 1000);
	assert_true(p.stats.bytes_skipped > N / 2);
	free(g);
}

static void test_frames_survive_garbage(void **state)
{
	static uint8_t clean[8192], dirty[16384];
	static lpbus_frame a[64], b[64];
	size_t lc = make_stream(clean, sizeof(clean), 50, 0, 99);
	size_t ld = make_stream(dirty, sizeof(dirty), 50, 1, 99);
	lpbus_parser p, q;
	(void)state;
	lpbus_parser_init(&p);
	lpbus_parser_init(&q);
	assert_int_equal(parse_all(&p, clean, lc, 0, a, 64), 50);
	assert_int_equal(parse_all(&q, dirty, ld, 5, b, 64), 50);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(a[i].function, b[i].function);
		assert_int_equal(a[i].len, b[i].len);
		assert_memory_equal(a[i].payload, b[i].payload, a[i].len);
	}
	assert_int_equal(p.stats.resyncs, 0);
	assert_true(q.stats.resyncs > 0);
	assert_true(q.stats.bytes_skipped > 0);
}

static void test_absurd_length(void **state)
{
	/* a header claiming 65535 bytes, then a valid ACK: the ACK must come out
	 * at once, without waiting for 65535 bytes */
	uint8_t s[64] = {0x3A, 0x01, 0x00, 0x09, 0x00, 0xFF, 0xFF};
	size_t len = 7, fl;
	lpbus_parser p;
	lpbus_frame f[2];
	(void)state;
	assert_int_equal(lpbus_encode(1, 0, NULL, 0, s + len, sizeof(s) - len, &fl), 0);
	len += fl;
	lpbus_parser_init(&p);
	assert_int_equal(parse_all(&p, s, len, 1, f, 2), 1);
	assert_int_equal(f[0].function, 0);
	assert_int_equal(p.stats.bad_length, 1);
	assert_int_equal(p.stats.bytes_skipped, 7);
	/* just over the cap is refused too */
	s[5] = (uint8_t)((LPBUS_MAX_PAYLOAD + 1) & 0xff);
	s[6] = (uint8_t)((LPBUS_MAX_PAYLOAD + 1) >> 8);
	lpbus_parser_init(&p);
	assert_int_equal(parse_all(&p, s, len, 0, f, 2), 1);
	assert_int_equal(p.stats.bad_length, 1);
}

static void test_bad_checksum_and_end(void **state)
{
	uint8_t s[64];
	size_t l1, l2;
	lpbus_parser p;
	lpbus_frame f[4];
	uint8_t pl[4] = {1, 2, 3, 4};
	(void)state;
	assert_int_equal(lpbus_encode(1, 9, pl, 4, s, sizeof(s), &l1), 0);
	s[8] ^= 0x40; /* corrupt payload */
	assert_int_equal(lpbus_encode(1, 9, pl, 4, s + l1, sizeof(s) - l1, &l2), 0);
	s[l1 + l2 - 1] = 0x0B; /* corrupt end */
	assert_int_equal(
	    lpbus_encode(1, 7, NULL, 0, s + l1 + l2, sizeof(s) - l1 - l2, &l2), 0);
	lpbus_parser_init(&p);
	assert_int_equal(parse_all(&p, s, l1 + 15 + l2, 0, f, 4), 1);
	assert_int_equal(f[0].function, 7);
	assert_int_equal(p.stats.bad_checksum, 1);
	assert_int_equal(p.stats.bad_end, 1);
	assert_int_equal(p.stats.frames, 1);
}

static void test_reset_drops_partial(void **state)
{
	const vec *v = &vectors[3];
	lpbus_parser p;
	lpbus_frame f[2];
	(void)state;
	lpbus_parser_init(&p);
	assert_int_equal(parse_all(&p, v->bytes, 9, 0, f, 2), 0);
	lpbus_parser_reset(&p);
	assert_int_equal(parse_all(&p, v->bytes, v->n, 0, f, 2), 1);
	assert_int_equal(f[0].function, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_encode),
	    cmocka_unit_test(test_vectors_parse),
	    cmocka_unit_test(test_encode_limits),
	    cmocka_unit_test(test_split_every_boundary),
	    cmocka_unit_test(test_random_garbage),
	    cmocka_unit_test(test_frames_survive_garbage),
	    cmocka_unit_test(test_absurd_length),
	    cmocka_unit_test(test_bad_checksum_and_end),
	    cmocka_unit_test(test_reset_drops_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
