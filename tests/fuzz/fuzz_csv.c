/* libFuzzer target for the CSV reader (common/csv.h), fed through
 * csv_read_mem: the parser csv_read_file runs on a file's contents.
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *  - a refusal returns a code csv.h lists, says why, and leaves an empty
 *    table;
 *  - a table has 1..CSV_MAX_COLS named columns and one row per non-blank
 *    line after the header (counted here independently);
 *  - numeric cells are finite with no text, text cells are NAN with their
 *    text (one line at most); csv_col finds every column by its name;
 *  - csv_free is idempotent.
 * Run with `make fuzz` (tests/fuzz/run.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_csv: %s\n", what);
	abort();
}

static int fuzz_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Lines holding something besides blanks: the header and the rows. */
static size_t fuzz_nonblank_lines(const char *p, size_t n)
{
	size_t lines = 0;
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			lines += seen;
			seen = 0;
		} else if (!fuzz_blank(p[i])) {
			seen = 1;
		}
	}
	return lines + seen;
}

static void fuzz_check_table(const csv_table *t, const char *data, size_t size)
{
	size_t lines = fuzz_nonblank_lines(data, size);
	if (t->n_cols == 0 || t->n_cols > CSV_MAX_COLS)
		fuzz_fail("column count out of 1..CSV_MAX_COLS");
	if (lines == 0 || t->n_rows != lines - 1)
		fuzz_fail("row count is not the non-blank lines after the header");
	if (!t->names || !t->is_text || !t->values || !t->text)
		fuzz_fail("a table array is missing");
	for (size_t c = 0; c < t->n_cols; c++) {
		int found;
		if (!t->names[c])
			fuzz_fail("a column has no name");
		found = csv_col(t, t->names[c]);
		if (found < 0 || (size_t)found > c ||
		    strcmp(t->names[found], t->names[c]) != 0)
			fuzz_fail("csv_col does not find a column by its name");
	}
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
		size_t c = i % t->n_cols;
		const char *s = t->text[i];
		if (!t->is_text[c]) {
			if (!isfinite(t->values[i]) || s)
				fuzz_fail("a numeric cell is not finite, or has text");
			continue;
		}
		if (!isnan(t->values[i]) || !s)
			fuzz_fail("a text cell is not NAN, or has no text");
		if (strchr(s, '\n'))
			fuzz_fail("a cell spans lines");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char err[256];
	csv_table t;
	int rc = csv_read_mem(p, size, "fuzz.csv", &t, err, sizeof err);

	if (rc) {
		if (rc != AM_EFORMAT && rc != AM_ETOOBIG && rc != AM_ENOMEM)
			fuzz_fail("refused with a code csv.h does not list");
		if (!err[0] || strnlen(err, sizeof err) == sizeof err)
			fuzz_fail("refused without a terminated reason");
		if (t.names || t.is_text || t.values || t.text || t.n_cols || t.n_rows)
			fuzz_fail("a refusal left a table behind");
		return 0;
	}
	fuzz_check_table(&t, p, size);
	csv_free(&t);
	csv_free(&t);
	if (t.names || t.is_text || t.values || t.text || t.n_cols || t.n_rows)
		fuzz_fail("csv_free left a table behind");
	return 0;
}
