/* csvrow — the archiver's CSV header and row format (see csvrow.h).
 *
 * Written with stdio, one fprintf per value: the callers write through
 * buffered FILEs (a day file, an export), so a row costs no system call,
 * and the format strings are the specification of the format. */
#include "csvrow.h"

int csvrow_header(char *buf, size_t cap, const char (*names)[MSG_CHANNEL_MAX + 1],
		  size_t n)
{
	size_t len;
	int k;

	if (!cap)
		return AM_ETOOBIG;
	k = snprintf(buf, cap, "t");
	len = (size_t)k;
	for (size_t c = 0; c < n && len < cap; c++) {
		k = snprintf(buf + len, cap - len, ",%s", names[c]);
		len += (size_t)k;
	}
	if (len + 1 >= cap) {
		buf[0] = 0;
		return AM_ETOOBIG;
	}
	buf[len++] = '\n';
	buf[len] = 0;
	return (int)len;
}

int csvrow_write(FILE *f, double t, const float *v, size_t n)
{
	int bad = fprintf(f, "%.6f", t) < 0;
	for (size_t c = 0; c < n; c++)
		bad |= fprintf(f, ",%.9g", (double)v[c]) < 0;
	bad |= fputc('\n', f) == EOF;
	return bad ? AM_EIO : 0;
}
