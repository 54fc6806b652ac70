/* libFuzzer target for the LPBUS parser and the LPMS data-frame decoder.
 *
 * The first input byte picks the chunk size, the rest is the byte stream.
 * Properties checked beyond "no crash, no sanitizer report": every frame
 * the parser delivers re-encodes to bytes that occur verbatim in the input
 * (so a frame with a bad checksum can never come out), the same input fed
 * in one piece yields the same frames and counters, and decoding any
 * payload under any mask and mode either fails cleanly or gives finite
 * values. Run with `make fuzz` (FUZZ_SECONDS, default 60). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/ingest-bt/lpbus.h"
#include "../../services/ingest-bt/lpms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 512

static size_t run(const uint8_t *d, size_t len, size_t chunk, lpbus_frame *frames,
		  lpbus_stats *st)
{
	lpbus_parser p;
	size_t n = 0, off = 0;
	lpbus_parser_init(&p);
	while (off < len) {
		size_t c = len - off < chunk ? len - off : chunk, left = c;
		const uint8_t *q = d + off;
		for (;;) {
			int got;
			lpbus_frame f;
			size_t used = lpbus_parser_feed(&p, q, left, &f, &got);
			if (used > left)
				abort();
			q += used;
			left -= used;
			if (!got) {
				if (left)
					abort();
				break;
			}
			if (n < MAX_FRAMES)
				frames[n] = f;
			n++;
		}
		off += c;
	}
	*st = p.stats;
	return n;
}

static void check_decode(const lpbus_frame *f, uint32_t mask)
{
	for (int mode = 0; mode < 2; mode++) {
		lpms_format fmt = {mask & LPMS_OUT_ALL, mode, mode ? 1000 : 10000};
		lpms_sample s;
		float v[LPMS_MAX_CHANNELS];
		size_t n;
		if (lpms_decode_data(f->payload, f->len, &fmt, &s) != 0)
			continue;
		n = lpms_sample_values(&s, LPMS_OUT_ALL, v, LPMS_MAX_CHANNELS);
		for (size_t i = 0; i < n; i++)
			if (!isfinite(v[i]))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lpbus_frame a[MAX_FRAMES], b[MAX_FRAMES];
	lpbus_stats sa, sb;
	size_t chunk, na, nb;
	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 32 + 1;
	data++;
	size--;
	na = run(data, size, chunk, a, &sa);
	nb = run(data, size, size ? size : 1, b, &sb);
	if (na != nb || memcmp(&sa, &sb, sizeof(sa)) != 0)
		abort();
	for (size_t i = 0; i < na && i < MAX_FRAMES; i++) {
		uint8_t enc[LPBUS_MAX_FRAME];
		size_t len;
		if (a[i].function != b[i].function || a[i].len != b[i].len ||
		    memcmp(a[i].payload, b[i].payload, a[i].len) != 0)
			abort();
		if (lpbus_encode(a[i].id, a[i].function, a[i].payload, a[i].len, enc,
				 sizeof(enc), &len) != 0)
			abort();
		if (!memmem(data, size, enc, len))
			abort();
		check_decode(&a[i], a[i].len >= 4 ? lpms_get_u32(a[i].payload) : 0);
		check_decode(&a[i], LPMS_OUT_ALL);
	}
	return 0;
}
