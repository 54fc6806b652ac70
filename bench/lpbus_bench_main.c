/* lpbus-bench — how many LPBUS data frames per second one core parses and
 * decodes: a stream of full-mask float frames (108-byte payloads, the
 * largest) with 1% corrupted frames is fed in 4 KiB reads, as from a
 * socket, and every frame decoded. Prints one line of figures. */
#include "../services/ingest-bt/lpbus.h"
#include "../services/ingest-bt/lpms.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	enum { FRAMES = 20000 };
	double secs = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	lpms_format f = {LPMS_OUT_ALL, 0, 10000};
	uint8_t *stream = malloc((size_t)FRAMES * LPBUS_MAX_FRAME);
	size_t len = 0;
	uint64_t frames = 0, bytes = 0, decoded = 0;
	int64_t t0, t1;
	lpbus_parser p;
	if (!stream)
		return 1;
	if (!(secs > 0 && secs < 600))
		secs = 2.0;
	for (int i = 0; i < FRAMES; i++) {
		lpms_sample s;
		uint8_t pl[LPBUS_MAX_PAYLOAD];
		size_t pl_len, fl;
		memset(&s, 0, sizeof(s));
		s.ticks = (uint32_t)i * 8;
		for (int k = 0; k < 3; k++)
			s.acc[k] = s.gyr[k] = s.mag[k] = s.linacc[k] =
			    (float)(i % 100) * 0.01f;
		s.quat[0] = 1;
		lpms_encode_data(&s, &f, pl, sizeof(pl), &pl_len);
		lpbus_encode(1, LPMS_GET_SENSOR_DATA, pl, pl_len, stream + len,
			     LPBUS_MAX_FRAME, &fl);
		if (i % 100 == 50)
			stream[len + 20] ^= 0x55;
		len += fl;
	}
	lpbus_parser_init(&p);
	t0 = clock_mono_ns();
	do {
		for (size_t off = 0; off < len; off += 4096) {
			const uint8_t *d = stream + off;
			size_t n = len - off < 4096 ? len - off : 4096;
			for (;;) {
				lpbus_frame fr;
				lpms_sample s;
				int got;
				size_t used = lpbus_parser_feed(&p, d, n, &fr, &got);
				d += used;
				n -= used;
				if (!got)
					break;
				frames++;
				decoded +=
				    lpms_decode_data(fr.payload, fr.len, &f, &s) == 0;
			}
		}
		bytes += len;
		t1 = clock_mono_ns();
	} while ((double)(t1 - t0) / 1e9 < secs);
	printf("lpbus parse+decode: %.0f frames/s, %.1f MB/s on one core "
	       "(%llu frames of 119 bytes, %llu decoded, %llu bad checksums, %.2f s)\n",
	       (double)frames / ((double)(t1 - t0) / 1e9),
	       (double)bytes / 1e6 / ((double)(t1 - t0) / 1e9),
	       (unsigned long long)frames, (unsigned long long)decoded,
	       (unsigned long long)p.stats.bad_checksum, (double)(t1 - t0) / 1e9);
	free(stream);
	return 0;
}
