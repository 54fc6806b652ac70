/* csv — numeric tables from LpmsControl logs, SKAB files and plain CSV.
 *
 * The file is read whole into memory (capped at CSV_MAX_BYTES) and parsed
 * as a byte range (csv_read_mem: no NUL needed, so the fuzzer feeds it
 * directly) in two passes over the same lines: the first validates every
 * row (length, column count) and finds which columns hold text, the second
 * fills the values and, for text columns only, keeps the cell text. Two passes keep
 * the table exact without guessing a column's type from its first rows.
 * Cells are trimmed of blanks; one pair of surrounding double quotes is
 * removed (quoted separators are not supported: none of our sources uses
 * them). Blank lines are skipped. */
#include "csv.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One cell of a line: a slice of the file buffer. */
typedef struct csv__cell {
	const char *p;
	size_t n;
} csv__cell;

/* LpmsControl base names (unit removed) and their contract names. */
static const struct {
	const char *lpms;
	const char *name;
	int unitless; /* mapped even without a "(unit)" suffix */
} csv__map[] = {
    {"SensorId", "sensor_id", 1},
    {"TimeStamp", "timestamp", 0},
    {"FrameNumber", "frame", 1},
    {"AccX", "acc_x", 0},
    {"AccY", "acc_y", 0},
    {"AccZ", "acc_z", 0},
    {"GyroX", "gyr_x", 0},
    {"GyroY", "gyr_y", 0},
    {"GyroZ", "gyr_z", 0},
    {"MagX", "mag_x", 0},
    {"MagY", "mag_y", 0},
    {"MagZ", "mag_z", 0},
    {"EulerX", "euler_x", 0},
    {"EulerY", "euler_y", 0},
    {"EulerZ", "euler_z", 0},
    {"QuatW", "quat_w", 1},
    {"QuatX", "quat_x", 1},
    {"QuatY", "quat_y", 1},
    {"QuatZ", "quat_z", 1},
    {"LinAccX", "linacc_x", 0},
    {"LinAccY", "linacc_y", 0},
    {"LinAccZ", "linacc_z", 0},
    {"Pressure", "pressure", 0},
    {"Altitude", "altitude", 0},
    {"Temperature", "temperature", 0},
    {"HeaveMotion", "heave", 0},
};

static int csv__blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Trim blanks and one pair of surrounding quotes from a slice. */
static csv__cell csv__trim(const char *p, size_t n)
{
	while (n > 0 && csv__blank(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && csv__blank(p[n - 1]))
		n--;
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	return (csv__cell){p, n};
}

/* LpmsControl headers are "Base (unit)" or a bare base for unitless ones;
 * mapping only those forms keeps e.g. SKAB's bare "Pressure" as written.
 * Returns out, always NUL-terminated (truncated if outlen is short). */
const char *csv_normalise_name(const char *header, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return out;
	out[0] = '\0';
	if (!header)
		return out;
	csv__cell c = csv__trim(header, strlen(header));
	size_t base_n = c.n;
	int has_unit = 0;
	const char *paren = memchr(c.p, '(', c.n);
	if (paren && c.p[c.n - 1] == ')') {
		base_n = (size_t)(paren - c.p);
		while (base_n > 0 && csv__blank(c.p[base_n - 1]))
			base_n--;
		has_unit = 1;
	}
	for (size_t i = 0; i < sizeof csv__map / sizeof csv__map[0]; i++) {
		if (strlen(csv__map[i].lpms) == base_n &&
		    memcmp(csv__map[i].lpms, c.p, base_n) == 0 &&
		    (has_unit || csv__map[i].unitless)) {
			snprintf(out, outlen, "%s", csv__map[i].name);
			return out;
		}
	}
	snprintf(out, outlen, "%.*s", (int)c.n, c.p);
	return out;
}

/* Read the whole file (capped) into a NUL-terminated heap buffer. */
static int csv__slurp(const char *path, char **data, size_t *len, char *err,
		      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc, e;
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return AM_EIO;
	}
	rc = file_read_capped(fd, CSV_MAX_BYTES, data, len);
	e = errno;
	close(fd);
	if (rc == AM_ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (rc)
		snprintf(err, errlen, "%s: read: %s", path, strerror(e));
	else if (*len > CSV_MAX_BYTES) {
		snprintf(err, errlen, "%s: file over %zu bytes", path,
			 (size_t)CSV_MAX_BYTES);
		free(*data);
		*data = NULL;
		rc = AM_ETOOBIG;
	}
	return rc;
}

/* Split one line into cells; returns the count, or -1 if over CSV_MAX_COLS. */
static int csv__split(const char *p, size_t n, char sep, csv__cell *cells)
{
	size_t nc = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == sep) {
			if (nc >= CSV_MAX_COLS)
				return -1;
			cells[nc++] = csv__trim(p + start, i - start);
			start = i + 1;
		}
	}
	return (int)nc;
}

/* Parse a cell as a finite number. */
static int csv__number(csv__cell c, double *v)
{
	char tmp[128];
	if (c.n == 0 || c.n >= sizeof tmp)
		return -1;
	memcpy(tmp, c.p, c.n);
	tmp[c.n] = '\0';
	char *end;
	errno = 0;
	double d = strtod(tmp, &end);
	if (end != tmp + c.n || !isfinite(d))
		return -1;
	*v = d;
	return 0;
}

/* Line iterator over the buffer: returns 0 at the end. */
typedef struct csv__lines {
	const char *p, *end;
	size_t lineno;
} csv__lines;

static int csv__next(csv__lines *it, const char **line, size_t *n)
{
	if (it->p >= it->end)
		return 0;
	const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	const char *e = nl ? nl : it->end;
	*line = it->p;
	*n = (size_t)(e - it->p);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	it->p = nl ? nl + 1 : it->end;
	it->lineno++;
	return 1;
}

static int csv__is_blank_line(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!csv__blank(p[i]))
			return 0;
	return 1;
}

int csv_read_mem(const char *data, size_t len, const char *label, csv_table *t, char *err,
		 size_t errlen)
{
	char dummy[1];
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	memset(t, 0, sizeof *t);
	const char *path = label ? label : "(memory)";
	int rc = 0;
	if (len > CSV_MAX_BYTES) {
		snprintf(err, errlen, "%s: over %zu bytes", path, (size_t)CSV_MAX_BYTES);
		return AM_ETOOBIG;
	}
	csv__cell *cells = malloc(CSV_MAX_COLS * sizeof *cells);
	if (!cells) {
		rc = AM_ENOMEM;
		goto nomem;
	}

	/* pass 1: header, validation, text columns */
	csv__lines it = {data, data + len, 0};
	const char *line;
	size_t n;
	char sep = ',';
	int have_header = 0;
	size_t rows = 0;
	while (csv__next(&it, &line, &n)) {
		if (n > CSV_MAX_LINE) {
			snprintf(err, errlen, "%s:%zu: line over %d bytes", path,
				 it.lineno, CSV_MAX_LINE);
			rc = AM_EFORMAT;
			goto out;
		}
		if (csv__is_blank_line(line, n))
			continue;
		if (!have_header) {
			sep = memchr(line, ';', n) ? ';' : ',';
		}
		int nc = csv__split(line, n, sep, cells);
		if (nc < 0) {
			snprintf(err, errlen, "%s:%zu: more than %d columns", path,
				 it.lineno, CSV_MAX_COLS);
			rc = AM_EFORMAT;
			goto out;
		}
		if (!have_header) {
			have_header = 1;
			t->n_cols = (size_t)nc;
			t->names = calloc(t->n_cols, sizeof *t->names);
			t->is_text = calloc(t->n_cols, sizeof *t->is_text);
			if (!t->names || !t->is_text)
				goto nomem;
			for (size_t c = 0; c < t->n_cols; c++) {
				char tmp[256], name[256];
				snprintf(tmp, sizeof tmp, "%.*s", (int)cells[c].n,
					 cells[c].p);
				csv_normalise_name(tmp, name, sizeof name);
				t->names[c] = strdup(name);
				if (!t->names[c])
					goto nomem;
			}
			continue;
		}
		if ((size_t)nc != t->n_cols) {
			snprintf(err, errlen, "%s:%zu: %d columns, header has %zu", path,
				 it.lineno, nc, t->n_cols);
			rc = AM_EFORMAT;
			goto out;
		}
		for (size_t c = 0; c < t->n_cols; c++) {
			double v;
			if (!t->is_text[c] && csv__number(cells[c], &v) != 0)
				t->is_text[c] = 1;
		}
		rows++;
	}
	if (!have_header) {
		snprintf(err, errlen, "%s: empty file, no header", path);
		rc = AM_EFORMAT;
		goto out;
	}
	if (rows > 0 && t->n_cols > ((size_t)-1) / sizeof(double) / rows)
		goto nomem;

	/* pass 2: values and text */
	t->values = malloc((rows ? rows : 1) * t->n_cols * sizeof *t->values);
	t->text = calloc((rows ? rows : 1) * t->n_cols, sizeof *t->text);
	if (!t->values || !t->text)
		goto nomem;
	t->n_rows = rows;
	it = (csv__lines){data, data + len, 0};
	have_header = 0;
	size_t r = 0;
	while (r < rows && csv__next(&it, &line, &n)) {
		if (csv__is_blank_line(line, n))
			continue;
		csv__split(line, n, sep, cells);
		if (!have_header) {
			have_header = 1;
			continue;
		}
		for (size_t c = 0; c < t->n_cols; c++) {
			double *v = &t->values[r * t->n_cols + c];
			if (t->is_text[c]) {
				*v = NAN;
				t->text[r * t->n_cols + c] =
				    strndup(cells[c].p, cells[c].n);
				if (!t->text[r * t->n_cols + c])
					goto nomem;
			} else {
				csv__number(cells[c], v);
			}
		}
		r++;
	}
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	rc = AM_ENOMEM;
out:
	free(cells);
	if (rc)
		csv_free(t);
	return rc;
}

int csv_read_file(const char *path, csv_table *t, char *err, size_t errlen)
{
	char dummy[1];
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	memset(t, 0, sizeof *t);
	char *data = NULL;
	size_t len = 0;
	int rc = csv__slurp(path, &data, &len, err, errlen);
	if (rc)
		return rc;
	rc = csv_read_mem(data, len, path, t, err, errlen);
	free(data);
	return rc;
}

void csv_free(csv_table *t)
{
	if (!t)
		return;
	if (t->names)
		for (size_t c = 0; c < t->n_cols; c++)
			free(t->names[c]);
	if (t->text)
		for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
			free(t->text[i]);
	free(t->names);
	free(t->is_text);
	free(t->values);
	free(t->text);
	memset(t, 0, sizeof *t);
}

int csv_col(const csv_table *t, const char *name)
{
	if (!t || !name || !t->names)
		return -1;
	for (size_t c = 0; c < t->n_cols; c++)
		if (t->names[c] && strcmp(t->names[c], name) == 0)
			return (int)c;
	return -1;
}
