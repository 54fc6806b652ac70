/* error — words for the tree-wide error codes (see error.h). A table, so
 * that a new code without words fails the unit test that walks the space. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const am__words[] = {
    [-AM_OK] = "ok",
    [-AM_EINVAL] = "invalid argument",
    [-AM_ENOMEM] = "out of memory",
    [-AM_EIO] = "input/output error",
    [-AM_EFORMAT] = "malformed input",
    [-AM_EVERSION] = "unsupported version",
    [-AM_ETOOBIG] = "over a size cap",
    [-AM_EJSON] = "not a JSON object",
    [-AM_EFIELD] = "missing field or wrong type",
    [-AM_EVALUE] = "invalid value",
    [-AM_ESHAPE] = "sample row length differs from channel count",
    [-AM_ENOTFINITE] = "not a finite number",
    [-AM_ENODATA] = "too little data",
    [-AM_EUSAGE] = "usage error",
    [-AM_EFULL] = "full",
    [-AM_EOVERFLOW] = "buffer full: dropped",
    [-AM_ETIMEOUT] = "timed out",
    [-AM_ESTOPPED] = "shutting down",
    [-AM_EBROKER] = "refused by the MQTT client or broker",
    [-AM_EDB] = "database error",
    [-AM_ENOTFOUND] = "not found",
    [-AM_EORDER] = "out of order",
    [-AM_ECURL] = "libcurl error",
    [-AM_ETHREAD] = "cannot start a thread",
    [-AM_ELENGTH] = "length mismatch",
    [-AM_ELOAD] = "model file not loaded",
    [-AM_EENCODE] = "cannot encode",
    [-AM_ETLS] = "TLS handshake or certificate refused",
};

const char *am_strerror(int code)
{
	static _Thread_local char other[40];
	if (code <= 0 && -code < (int)(sizeof(am__words) / sizeof(am__words[0])) &&
	    am__words[-code])
		return am__words[-code];
	snprintf(other, sizeof(other), "unknown error %d", code);
	return other;
}

void am_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int am_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
