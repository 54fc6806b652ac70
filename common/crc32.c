/* crc32 — slicing-by-8 CRC-32 (see crc32.h). Table k holds the CRC of a
 * byte followed by k zero bytes, so eight input bytes fold into the CRC
 * with eight lookups and no carried dependency between them. Bytes are
 * read little-endian whatever the host's order, so the result is the same
 * everywhere. */
#include "crc32.h"

#include <pthread.h>

static uint32_t crc32__t[8][256];
static pthread_once_t crc32__once = PTHREAD_ONCE_INIT;

static void crc32__init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc32__t[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			crc32__t[t][i] = (crc32__t[t - 1][i] >> 8) ^
					 crc32__t[0][crc32__t[t - 1][i] & 0xff];
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c = ~crc;

	pthread_once(&crc32__once, crc32__init);
	while (len >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = crc32__t[7][lo & 0xff] ^ crc32__t[6][(lo >> 8) & 0xff] ^
		    crc32__t[5][(lo >> 16) & 0xff] ^ crc32__t[4][lo >> 24] ^
		    crc32__t[3][p[4]] ^ crc32__t[2][p[5]] ^ crc32__t[1][p[6]] ^
		    crc32__t[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = crc32__t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}
