/* buf — a growable byte buffer with a hard cap fixed at init, for text built
 * from untrusted or unbounded input (JSON encoders, CSV lines). Modelled on
 * curl's dynbuf: appends past the cap fail with AM_ETOOBIG and leave the
 * contents as they were, so a caller can never build an oversized payload.
 *
 * Ownership: the buf owns its memory; buf_cleanup() frees it and is safe to
 * call twice. The contents are always NUL-terminated (the NUL is not
 * counted in len nor against the cap). */
#ifndef ANOMESH_BUF_H
#define ANOMESH_BUF_H

#include <stddef.h>

/* Codes it returns (tree-wide, error.h): AM_ENOMEM, AM_ETOOBIG,
 * AM_ENOTFINITE. */
#include "error.h"

typedef struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;
} buf;

void buf_init(buf *b, size_t cap);
void buf_cleanup(buf *b);
/* Empty the buffer, keeping its memory for reuse. */
void buf_reset(buf *b);

/* Each returns 0, AM_ENOMEM or AM_ETOOBIG (nothing appended on error). */
int buf_add(buf *b, const void *mem, size_t len);
int buf_adds(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (quotes and escapes included). */
int buf_add_json_str(buf *b, const char *s);
/* Append a finite double as JSON using the shortest of %.{6..17}g that
 * round-trips (num.h: computed exactly, without printf); returns
 * AM_ETOOBIG... or AM_ENOTFINITE for NaN/Inf (JSON has none). */
int buf_add_json_num(buf *b, double v);
/* Same for a float: the shortest of %.{4..9}g that reads back as the same
 * float through strtof and through strtod then a cast. */
int buf_add_json_float(buf *b, float v);

#endif
