/* jrec — the record of ingest-bt's journal (journal.h): one raw message
 * as it was published, in a binary form that is read back bit for bit
 * and checked before use.
 *
 *   header (12 bytes): u32 magic "AJR1", u32 body length, u32 CRC-32 of
 *                      the body (common/crc32.h)
 *   body:   u8 sensor length, sensor; u8 run length, run; u64 seq;
 *           f64 t0; f64 rate_hz; i64 frame0 (-1: none); u8 channels;
 *           u16 samples; per channel u8 length, name; then the samples,
 *           float32 row-major as msg_raw holds them
 *
 * Numbers in the machine's order (little-endian on every target, as the
 * archive's blobs). Binary rather than the published JSON: a third of the
 * bytes for the LPMS-B2's 19 channels, and the floats are the very ones
 * msg_raw carried, so a republished message encodes to the same values.
 *
 * Pure functions on caller buffers; nothing allocated but the msg_raw's
 * own sample block (msg_raw_reserve). Codes: AM_ETOOBIG (does not fit or
 * over a cap), AM_EFORMAT (not a record, or a body that does not parse),
 * AM_ENOMEM. */
#ifndef ANOMESH_JREC_H
#define ANOMESH_JREC_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

#define JREC_MAGIC 0x31524a41u /* "AJR1" */
#define JREC_HDR 12
/* The largest body: every cap of msg.h at once. */
#define JREC_BODY_MAX                                                                    \
	(2 + MSG_SENSOR_MAX + MSG_RUN_MAX + 8 * 4 + 3 +                                  \
	 MSG_MAX_CHANNELS * (1 + MSG_CHANNEL_MAX) + MSG_MAX_VALUES * 4)

/* What the journal's index needs of a record without its samples. */
typedef struct jrec_key {
	char sensor[MSG_SENSOR_MAX + 1];
	char run[MSG_RUN_MAX + 1];
	uint64_t seq;
	double t0;    /* first sample */
	double t_end; /* last sample: t0 + (n - 1) / rate_hz */
} jrec_key;

/* Bytes of m's whole record (header included). */
size_t jrec_size(const msg_raw *m);

/* Write m's record (header and body) into out (cap bytes); *len gets its
 * size. Returns 0, AM_ETOOBIG or AM_EFORMAT (m breaks a cap of msg.h). */
int jrec_encode(const msg_raw *m, unsigned char *out, size_t cap, size_t *len);

/* Check a header: 0 and the body's length and CRC, or AM_EFORMAT (not a
 * record's header, or a length over JREC_BODY_MAX). */
int jrec_header(const unsigned char *hdr, uint32_t *body_len, uint32_t *crc);

/* The index fields of a body of len bytes (its CRC already checked).
 * Returns 0 or AM_EFORMAT. */
int jrec_peek(const unsigned char *body, size_t len, jrec_key *k);

/* Decode a body into out (msg_raw_init()ed; its sample block reused), the
 * replay marker clear. Returns 0, AM_EFORMAT or AM_ENOMEM. */
int jrec_decode(const unsigned char *body, size_t len, msg_raw *out);

#endif
