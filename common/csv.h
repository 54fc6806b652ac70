/* csv — read numeric tables from the CSV files anomesh meets: LpmsControl
 * logs (", " separated, header "SensorId, TimeStamp (s), ..., LinAccX (g)"),
 * SKAB files (";" separated, CRLF, a text datetime column first), plain CSV
 * with a header, and the archiver's exports. The separator is detected from
 * the header line (';' if present, else ',').
 *
 * Header names are normalised so that a model selects channels by the
 * contract's names whatever the source: LpmsControl headers become
 * acc_x.. gyr_x.. mag_x.. euler_x.. quat_w.. linacc_x.. pressure, altitude,
 * temperature, heave, plus timestamp, frame and sensor_id; other headers are
 * kept as written (trimmed).
 *
 * Untrusted input: lines over CSV_MAX_LINE, more than CSV_MAX_COLS columns,
 * rows whose column count differs from the header's, or files over
 * CSV_MAX_BYTES are refused with the line number in err. A cell that is not
 * a finite number makes its column a text column (values NAN, text kept).
 *
 * Ownership: csv_read_file() / csv_read_mem() fill a caller-embedded
 * csv_table that owns every array in it; csv_free() releases them
 * (NULL-safe, idempotent). */
#ifndef ANOMESH_CSV_H
#define ANOMESH_CSV_H

#include <stddef.h>

#define CSV_MAX_LINE (64 * 1024)
#define CSV_MAX_COLS 256
#define CSV_MAX_BYTES ((size_t)2 << 30)

/* Codes it returns (tree-wide, error.h):
 *   AM_EIO      cannot open/read: errno kept
 *   AM_EFORMAT  malformed: err names the line
 *   AM_ENOMEM
 *   AM_ETOOBIG
 */
#include "error.h"

typedef struct csv_table {
	size_t n_cols;
	size_t n_rows;
	char **names;   /* n_cols normalised header names */
	int *is_text;   /* n_cols; 1 if any cell of the column was not a number */
	double *values; /* n_rows * n_cols, row-major; NAN in text cells */
	char **text;    /* n_rows * n_cols; cell text for text columns, else NULL */
} csv_table;

/* Read the CSV file at path into t. Returns 0 or a code above; on error t
 * holds nothing (no csv_free needed, though it is harmless). */
int csv_read_file(const char *path, csv_table *t, char *err, size_t errlen);
/* The same reader on len bytes at data (no NUL needed; data is not kept):
 * csv_read_file is this on the file's contents. label names the input in
 * err as the path does (NULL: "(memory)"). AM_ETOOBIG over CSV_MAX_BYTES. */
int csv_read_mem(const char *data, size_t len, const char *label, csv_table *t, char *err,
		 size_t errlen);
void csv_free(csv_table *t);

/* Index of the column named name (normalised name), or -1. */
int csv_col(const csv_table *t, const char *name);

/* Normalise one header cell (see above) into out; returns out. */
const char *csv_normalise_name(const char *header, char *out, size_t outlen);

#endif
