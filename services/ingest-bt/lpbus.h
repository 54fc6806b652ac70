/* lpbus — LP-Research's LPBUS framing (../shared/docs/lpbus.md): a frame
 * encoder and a length-driven streaming parser.
 *
 * A frame is 0x3A, id u16, function u16, length u16, payload, checksum u16
 * (sum of id..payload bytes mod 65536), 0x0D 0x0A; all little-endian. The
 * parser takes bytes in chunks of any size. It trusts nothing: a length over
 * LPBUS_MAX_PAYLOAD is refused as soon as the header is in (never waited
 * for), and a frame whose checksum or end bytes are wrong is dropped and the
 * parser resynchronises on the next 0x3A *after* the rejected start byte, so
 * a real frame hidden inside a bogus candidate is still found. Every
 * rejection is counted in lpbus_stats.
 *
 * Ownership: lpbus_parser is embedded by the caller and holds no heap memory;
 * lpbus_frame is a plain value the parser fills. */
#ifndef ANOMESH_LPBUS_H
#define ANOMESH_LPBUS_H

#include <stddef.h>
#include <stdint.h>

#define LPBUS_START 0x3A
#define LPBUS_END0 0x0D
#define LPBUS_END1 0x0A
#define LPBUS_HEADER 7    /* start, id, function, length */
#define LPBUS_OVERHEAD 11 /* header + checksum + end */
/* The largest legitimate payload is 108 bytes (a float-mode data frame with
 * every field); anything much larger is garbage. */
#define LPBUS_MAX_PAYLOAD 128
#define LPBUS_MAX_FRAME (LPBUS_MAX_PAYLOAD + LPBUS_OVERHEAD)

/* Codes it returns (tree-wide, error.h):
 *   AM_ETOOBIG  payload over LPBUS_MAX_PAYLOAD or out buffer too small
 *   AM_EINVAL
 */
#include "error.h"

typedef struct lpbus_frame {
	uint16_t id;
	uint16_t function;
	uint16_t len;
	uint8_t payload[LPBUS_MAX_PAYLOAD];
} lpbus_frame;

typedef struct lpbus_stats {
	uint64_t frames;        /* valid frames delivered */
	uint64_t bad_checksum;  /* candidates dropped for their checksum */
	uint64_t bad_end;       /* candidates dropped for their end bytes */
	uint64_t bad_length;    /* headers whose length was over the cap */
	uint64_t resyncs;       /* times the parser went hunting for 0x3A */
	uint64_t bytes_skipped; /* bytes thrown away while hunting */
} lpbus_stats;

typedef struct lpbus_parser {
	uint8_t buf[LPBUS_MAX_FRAME]; /* the current candidate, buf[0] == 0x3A */
	size_t have;
	int hunting; /* skipping bytes until the next 0x3A */
	lpbus_stats stats;
} lpbus_parser;

/* Checksum over id, function, length and payload as the wire defines it. */
uint16_t lpbus_checksum(uint16_t id, uint16_t function, const uint8_t *payload,
			size_t len);

/* Encode one frame into out (cap bytes). *outlen gets its size (len + 11).
 * Returns 0, AM_ETOOBIG (payload over the cap or out too small) or
 * AM_EINVAL (payload NULL with len > 0). */
int lpbus_encode(uint16_t id, uint16_t function, const void *payload, size_t len,
		 uint8_t *out, size_t cap, size_t *outlen);

/* Reset the parser to empty (stats zeroed too). */
void lpbus_parser_init(lpbus_parser *p);

/* Drop any partial candidate (e.g. after a reconnect); keeps the stats. */
void lpbus_parser_reset(lpbus_parser *p);

/* Feed len bytes. Stops as soon as one valid frame is complete: then *got
 * is 1, *out holds the frame and the return value is the number of input
 * bytes consumed (possibly fewer than len, possibly 0 when the frame was
 * already buffered). With *got == 0 all len bytes were consumed. Usage:
 *     for (;;) { n = lpbus_parser_feed(p, d, len, &f, &got);
 *                d += n; len -= n; if (!got) break; use(&f); } */
size_t lpbus_parser_feed(lpbus_parser *p, const uint8_t *data, size_t len,
			 lpbus_frame *out, int *got);

#endif
