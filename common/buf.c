/* buf — capped growable buffer; see buf.h for the contract. Growth doubles
 * so that appends are amortised O(1); the cap check happens before any
 * allocation so an attacker-sized input never reaches malloc. */
#include "buf.h"

#include "num.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void buf_cleanup(buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void buf_reset(buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf__reserve(buf *b, size_t extra)
{
	size_t need;
	if (extra > b->cap || b->len > b->cap - extra)
		return AM_ETOOBIG;
	need = b->len + extra + 1;
	if (need > b->alloc) {
		size_t n = b->alloc ? b->alloc : 64;
		char *p;
		while (n < need)
			n = n > SIZE_MAX / 2 ? need : n * 2;
		/* n - 1 > cap, not n > cap + 1: cap may be SIZE_MAX ("no cap") */
		if (n - 1 > b->cap)
			n = b->cap + 1;
		p = realloc(b->data, n);
		if (!p)
			return AM_ENOMEM;
		b->data = p;
		b->alloc = n;
	}
	return 0;
}

int buf_add(buf *b, const void *mem, size_t len)
{
	int rc = buf__reserve(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, mem, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

int buf_printf(buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return AM_ENOMEM;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	{
		int rc = buf__reserve(b, (size_t)n);
		if (rc)
			return rc;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
		b->len += (size_t)n;
	}
	return 0;
}

int buf_add_json_str(buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->len;
	int rc = buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
		char esc[7];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			rc = buf_add(b, esc, 2);
		} else if (*p < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			rc = buf_add(b, esc, 6);
		} else {
			rc = buf_add(b, p, 1);
		}
	}
	if (!rc)
		rc = buf_add(b, "\"", 1);
	if (rc) {
		b->len = start;
		if (b->data)
			b->data[start] = '\0';
	}
	return rc;
}

int buf_add_json_num(buf *b, double v)
{
	char tmp[NUM_TEXT_MAX];
	if (!isfinite(v))
		return AM_ENOTFINITE;
	return buf_add(b, tmp, num_fmt_double(tmp, v));
}

int buf_add_json_float(buf *b, float v)
{
	char tmp[NUM_TEXT_MAX];
	if (!isfinite(v))
		return AM_ENOTFINITE;
	return buf_add(b, tmp, num_fmt_float(tmp, v));
}
