/* csvrow — the one writer of the archiver's CSV format: a header
 * "t,<channel>,...\n" and rows "<t>,<v>,...\n", t in UNIX seconds with
 * microseconds (%.6f), values with 9 significant digits (%.9g, which
 * round-trips a float32 exactly). The daily files (csvsink) and `archiver
 * export` (store_export) both write through it, so they are byte for byte
 * the same format, the one bin/ae-train reads.
 *
 * Leaf code: no logging, no allocation. Ownership: nothing is kept; the
 * FILE and the buffers are the caller's. */
#ifndef ANOMESH_CSVROW_H
#define ANOMESH_CSVROW_H

#include "msg.h"

#include <stddef.h>
#include <stdio.h>

/* Codes it returns (tree-wide, error.h):
 *   AM_ETOOBIG  the header does not fit the buffer
 *   AM_EIO      stdio reported a write error (errno as stdio left it)
 */
#include "error.h"

/* Bytes that always hold a header of MSG_MAX_CHANNELS names, with the
 * newline and the NUL. */
#define CSVROW_HEADER_MAX (2 + MSG_MAX_CHANNELS * (MSG_CHANNEL_MAX + 1) + 2)

/* Format the header line for names[0..n-1] into buf (NUL-terminated, with
 * its '\n'): a string rather than a write, because csvsink compares it
 * with the first line of an existing file. Returns its length (> 0) or
 * AM_ETOOBIG (buf is then an empty string). */
int csvrow_header(char *buf, size_t cap, const char (*names)[MSG_CHANNEL_MAX + 1],
		  size_t n);

/* Write one row: t, then v[0..n-1]. Returns 0 or AM_EIO. A caller that
 * checks ferror() once at the end may ignore the return: stdio's error
 * flag is sticky. */
int csvrow_write(FILE *f, double t, const float *v, size_t n);

#endif
