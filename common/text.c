/* text — validators for edge text (see text.h). The UTF-8 check follows
 * RFC 3629's table of well-formed byte sequences directly (the second byte
 * ranges after E0, ED, F0 and F4), which refuses overlong forms, UTF-16
 * surrogates and code points beyond U+10FFFF without decoding. */
#include "text.h"

#include <string.h>

size_t text_utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int text_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (!p)
		return 0;
	while (*p) {
		size_t k = text_utf8_seq(p);
		if (k == 0)
			return 0;
		p += k;
	}
	return 1;
}

int text_sensor_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int text_sensor_valid(const char *s)
{
	size_t i;
	if (!s)
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= TEXT_SENSOR_MAX || !text_sensor_char((unsigned char)s[i]))
			return 0;
	return i > 0;
}

int text_level_valid(const char *s, size_t max, int slash_ok)
{
	size_t n = 0;
	if (!s || !*s)
		return 0;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= max || ch <= 0x20 || ch == 0x7f || ch == '+' || ch == '#' ||
		    (ch == '/' && !slash_ok))
			return 0;
	}
	return text_utf8_valid(s);
}
