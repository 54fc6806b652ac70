/* error — the one space of error codes for the whole tree.
 *
 * Every anomesh function that can fail returns 0 or one of these negative
 * codes (and, where it says so, writes a one-line reason into an err
 * buffer). One space instead of one per module so that a caller can log any
 * code it is handed as words, wherever it came from: a service never logs a
 * bare "code -3" (am_strerror below). Codes are only ever compared by name;
 * their values are not part of any file or wire format. */
#ifndef ANOMESH_ERROR_H
#define ANOMESH_ERROR_H

enum am_error {
	AM_OK = 0,
	AM_EINVAL = -1,      /* bad argument, option or spec (err says which) */
	AM_ENOMEM = -2,      /* out of memory */
	AM_EIO = -3,         /* cannot open/read/write/connect (errno kept, err says) */
	AM_EFORMAT = -4,     /* malformed input: truncated, corrupt, wrong shape */
	AM_EVERSION = -5,    /* not a version (of a file or message) we read */
	AM_ETOOBIG = -6,     /* over a size cap, or an out buffer too small */
	AM_EJSON = -7,       /* not JSON, truncated, not an object */
	AM_EFIELD = -8,      /* missing field or wrong type */
	AM_EVALUE = -9,      /* value out of range, NaN/Inf, bad pattern */
	AM_ESHAPE = -10,     /* sample rows and channel count disagree */
	AM_ENOTFINITE = -11, /* NaN or infinity where a finite number is needed */
	AM_ENODATA = -12,    /* too little data (to train, to answer) */
	AM_EUSAGE = -13,     /* bad command line, environment or config file */
	AM_EFULL = -14,      /* disk, file or table full: nothing written */
	AM_EOVERFLOW = -15,  /* a bounded buffer is full: dropped and counted */
	AM_ETIMEOUT = -16,   /* did not happen within the deadline */
	AM_ESTOPPED = -17,   /* the object is shutting down */
	AM_EBROKER = -18,    /* the MQTT library or broker refused (err says why) */
	AM_EDB = -19,        /* SQLite error (err says which) */
	AM_ENOTFOUND = -20,  /* no such item */
	AM_EORDER = -21,     /* older than what was already seen: dropped */
	AM_ECURL = -22,      /* libcurl could not be set up */
	AM_ETHREAD = -23,    /* a thread could not be started */
	AM_ELENGTH = -24,    /* a length field disagrees with the data */
	AM_ELOAD = -25,      /* a model file could not be loaded */
	AM_EENCODE = -26,    /* an encoder refused the data (err says why) */
	AM_ETLS = -27,       /* TLS handshake or certificate refused (err says why) */
};

#include <stddef.h>

/* Write a one-line reason (printf-style) into err, if err is not NULL and
 * errlen > 0, truncating as needed. For leaf code that reports why and
 * leaves the logging to its caller. */
void am_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* am_errf, then return code: a refusal is one statement,
 * `return am_fail(err, errlen, AM_EVALUE, "seq: %s", why);`. */
int am_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The code in a few words ("out of memory"); "unknown error -N" (from a
 * static buffer per thread) for a code outside the space. Never NULL. */
const char *am_strerror(int code);

#endif
