/* num — numbers as JSON text, exact and fast: the hot path of every
 * message the mesh encodes (30 floats and 2 doubles per raw message, 7
 * doubles per prediction). (Reading numbers is json.h's.)
 *
 * Writing: the text is exactly what the reference rule gives — the
 * shortest "%.{p}g" (p from 6 to 17 for a double, 4 to 9 for a float) that
 * reads back as the same value (for a float, through strtof and through
 * strtod then a cast, as a JSON reader of doubles does) — but computed with
 * integer arithmetic (the correctly rounded p digits of the exact binary
 * value in 128 bits; the read-back decided by Clinger's fast path or by
 * comparing with the value's rounding midpoints) instead of up to 12
 * printf/strtod pairs. Values where 128 bits do not suffice (beyond about
 * 1e-5..1e22 at 17 digits) take the reference path itself, so the text is
 * always the reference's, byte for byte (tests/unit/test_num.c).
 *
 * Ownership: none; the functions keep no state and are thread-safe. */
#ifndef ANOMESH_NUM_H
#define ANOMESH_NUM_H

#include <stddef.h>

/* Room for any text num_fmt_* writes, NUL included. */
#define NUM_TEXT_MAX 32

/* Write finite v (NaN and infinities are the caller's to refuse) into out
 * (NUM_TEXT_MAX bytes, NUL-terminated). Returns the length. Zero of
 * either sign is "0". */
size_t num_fmt_double(char *out, double v);
size_t num_fmt_float(char *out, float v);

#endif
