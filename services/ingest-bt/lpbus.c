/* lpbus — LPBUS frame encoder and streaming parser (see lpbus.h).
 *
 * The parser keeps only the bytes of the current candidate frame: it copies
 * from the input exactly what the candidate still needs (header first, then
 * the length it announces), so it never reads past a frame and a chunk may
 * end anywhere. After a rejection the bytes after the bad start byte stay in
 * the buffer and are scanned again for 0x3A before more input is taken. */
#include "lpbus.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

uint16_t lpbus_checksum(uint16_t id, uint16_t function, const uint8_t *payload,
			size_t len)
{
	uint32_t sum = (uint32_t)(id & 0xff) + (id >> 8) + (function & 0xff) +
		       (function >> 8) + (len & 0xff) + ((len >> 8) & 0xff);
	for (size_t i = 0; i < len; i++)
		sum += payload[i];
	return (uint16_t)(sum & 0xffff);
}

int lpbus_encode(uint16_t id, uint16_t function, const void *payload, size_t len,
		 uint8_t *out, size_t cap, size_t *outlen)
{
	if (len > LPBUS_MAX_PAYLOAD)
		return AM_ETOOBIG;
	if (len > 0 && !payload)
		return AM_EINVAL;
	if (!out || cap < len + LPBUS_OVERHEAD)
		return AM_ETOOBIG;
	out[0] = LPBUS_START;
	wr16(out + 1, id);
	wr16(out + 3, function);
	wr16(out + 5, (uint16_t)len);
	if (len)
		memcpy(out + LPBUS_HEADER, payload, len);
	wr16(out + LPBUS_HEADER + len,
	     lpbus_checksum(id, function, out + LPBUS_HEADER, len));
	out[LPBUS_HEADER + len + 2] = LPBUS_END0;
	out[LPBUS_HEADER + len + 3] = LPBUS_END1;
	if (outlen)
		*outlen = len + LPBUS_OVERHEAD;
	return 0;
}

void lpbus_parser_init(lpbus_parser *p) { memset(p, 0, sizeof(*p)); }

void lpbus_parser_reset(lpbus_parser *p)
{
	p->have = 0;
	p->hunting = 0;
}

/* Drop buf[0..from) and then everything up to the next 0x3A. Counts one
 * resync per run of hunting, however many chunks it spans. */
static void parser_hunt(lpbus_parser *p, size_t from)
{
	size_t i = from;
	if (!p->hunting) {
		p->hunting = 1;
		p->stats.resyncs++;
	}
	while (i < p->have && p->buf[i] != LPBUS_START)
		i++;
	p->stats.bytes_skipped += i;
	memmove(p->buf, p->buf + i, p->have - i);
	p->have -= i;
	if (p->have > 0)
		p->hunting = 0;
}

/* Try to complete a frame from the buffered bytes. Returns 1 with *out
 * filled, 0 when more input is needed. Rejections resynchronise in place. */
static int parser_try(lpbus_parser *p, lpbus_frame *out)
{
	for (;;) {
		size_t len, need;
		uint16_t sum;
		if (p->have < LPBUS_HEADER)
			return 0;
		len = rd16(p->buf + 5);
		if (len > LPBUS_MAX_PAYLOAD) {
			p->stats.bad_length++;
			parser_hunt(p, 1);
			continue;
		}
		need = len + LPBUS_OVERHEAD;
		if (p->have < need)
			return 0;
		if (p->buf[need - 2] != LPBUS_END0 || p->buf[need - 1] != LPBUS_END1) {
			p->stats.bad_end++;
			parser_hunt(p, 1);
			continue;
		}
		sum = lpbus_checksum(rd16(p->buf + 1), rd16(p->buf + 3),
				     p->buf + LPBUS_HEADER, len);
		if (sum != rd16(p->buf + LPBUS_HEADER + len)) {
			p->stats.bad_checksum++;
			parser_hunt(p, 1);
			continue;
		}
		out->id = rd16(p->buf + 1);
		out->function = rd16(p->buf + 3);
		out->len = (uint16_t)len;
		memcpy(out->payload, p->buf + LPBUS_HEADER, len);
		p->stats.frames++;
		p->have -= need;
		memmove(p->buf, p->buf + need, p->have);
		if (p->have > 0 && p->buf[0] != LPBUS_START)
			parser_hunt(p, 0);
		return 1;
	}
}

size_t lpbus_parser_feed(lpbus_parser *p, const uint8_t *data, size_t len,
			 lpbus_frame *out, int *got)
{
	size_t used = 0;
	*got = 0;
	if (parser_try(p, out)) {
		*got = 1;
		return 0;
	}
	while (used < len) {
		size_t want, n;
		if (p->have == 0) {
			const uint8_t *s = memchr(data + used, LPBUS_START, len - used);
			size_t skip = s ? (size_t)(s - (data + used)) : len - used;
			if (skip) {
				if (!p->hunting) {
					p->hunting = 1;
					p->stats.resyncs++;
				}
				p->stats.bytes_skipped += skip;
				used += skip;
			}
			if (!s)
				break;
			p->hunting = 0;
		}
		/* parser_try returned 0, so the candidate is short of bytes. */
		if (p->have < LPBUS_HEADER)
			want = LPBUS_HEADER - p->have;
		else
			want = rd16(p->buf + 5) + LPBUS_OVERHEAD - p->have;
		n = len - used < want ? len - used : want;
		memcpy(p->buf + p->have, data + used, n);
		p->have += n;
		used += n;
		if (parser_try(p, out)) {
			*got = 1;
			return used;
		}
	}
	return used;
}
