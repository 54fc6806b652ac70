/* msg_field — decode, check and encode any message described by a field
 * table (see msg_field.h; the rules themselves are listed in msg.c).
 *
 * A decode is: byte cap, a scan for what C strings would misread, the
 * parse (json.h),
 * "v", then one pass over the table for types (missing, wrong type, over
 * its byte cap), one for values (msg_field_check, the very walk an encoder
 * runs before it writes: the two sides cannot drift), then the late
 * fields. An encode is that check, then one pass writing each present field
 * onto a buf that points straight at the caller's array. */
#include "msg_field.h"

#include "text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

_Static_assert(MSG_VERSION == 1, "msg_field_encode writes the head {\"v\":1");
_Static_assert(sizeof(state_kind) == sizeof(int), "ENUM fields are ints");

/* ---- field access -------------------------------------------------------- */

static int msg__flag(const msg_field *f, const void *m)
{
	return *(const int *)(const void *)((const char *)m + f->flag - 1);
}

static void msg__set_flag(const msg_field *f, void *m, int v)
{
	if (f->flag)
		*(int *)(void *)((char *)m + f->flag - 1) = v;
}

static uint64_t msg__uint(const msg_field *f, const void *m)
{
	const char *p = (const char *)m + f->off;
	uint32_t u32;
	uint64_t u64;
	if (f->size == sizeof(u32)) {
		memcpy(&u32, p, sizeof(u32));
		return u32;
	}
	memcpy(&u64, p, sizeof(u64)); /* an int64_t < 0 reads as > 2^63: refused */
	return u64;
}

/* Whether the field is written: required ones always; flagged ones when
 * their flag is set; optional ones without a flag unless empty or false. */
static int msg__present(const msg_field *f, const void *m)
{
	const char *p = (const char *)m + f->off;
	if (f->flag)
		return msg__flag(f, m) != 0;
	if (!(f->flags & MSG_OPT))
		return 1;
	if (f->type == MSG_T_TEXT || f->type == MSG_T_SENSOR)
		return p[0] != '\0';
	if (f->type == MSG_T_BOOL)
		return *(const int *)(const void *)p != 0;
	return 1;
}

/* ---- checks ---------------------------------------------------------------- */

int msg_field_text_check(const char *field, const char *s, size_t max, int allow_empty,
			 char *err, size_t errlen)
{
	size_t n = strnlen(s, max + 1);
	if (n > max)
		return am_fail(err, errlen, AM_ETOOBIG, "%s: over %zu bytes", field, max);
	if (n == 0 && !allow_empty)
		return am_fail(err, errlen, AM_EVALUE, "%s: empty", field);
	for (size_t i = 0; i < n;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t k;
		if (*p < 0x20 || *p == 0x7f)
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: control character at byte %zu", field, i);
		k = text_utf8_seq(p);
		if (k == 0)
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: invalid UTF-8 at byte %zu", field, i);
		i += k;
	}
	return 0;
}

/* AM_EVALUE with the first reason s is not a sensor id (reads at most
 * MSG_SENSOR_MAX + 1 bytes, so an unterminated struct field is safe). */
static int msg__sensor_check(const char *field, const char *s, char *err, size_t errlen)
{
	size_t n = strnlen(s, MSG_SENSOR_MAX + 1);
	if (n == 0)
		return am_fail(err, errlen, AM_EVALUE, "%s: empty sensor id", field);
	if (n > MSG_SENSOR_MAX)
		return am_fail(err, errlen, AM_EVALUE, "%s: sensor id over %d bytes",
			       field, MSG_SENSOR_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!text_sensor_char(c))
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: byte %zu (0x%02x) not in [A-Za-z0-9._-]",
				       field, i, c);
	}
	return 0;
}

static int msg__num_check(const msg_field *f, double v, char *err, size_t errlen)
{
	switch (f->range) {
	case MSG_R_NONNEG:
		if (!isfinite(v) || v < 0)
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: must be finite and >= 0", f->key);
		return 0;
	case MSG_R_POS:
		if (!isfinite(v) || !(v > 0))
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: must be finite and > 0", f->key);
		return 0;
	default:
		break;
	}
	if (!isfinite(v))
		return am_fail(err, errlen, AM_EVALUE, "%s: not finite", f->key);
	if (f->range == MSG_R_TIME && v < 0)
		return am_fail(err, errlen, AM_EVALUE, "%s: negative time", f->key);
	if (f->range == MSG_R_RATE && (v < 0 || v > 1))
		return am_fail(err, errlen, AM_EVALUE, "%s: %g not in 0..1", f->key, v);
	return 0;
}

static int msg__check_one(const msg_field *f, const void *m, char *err, size_t errlen)
{
	const char *p = (const char *)m + f->off;
	int v;
	double d;

	switch (f->type) {
	case MSG_T_TEXT:
		return msg_field_text_check(f->key, p, (size_t)f->cap,
					    (f->flags & MSG_OPT) && !f->flag, err,
					    errlen);
	case MSG_T_SENSOR:
		return msg__sensor_check(f->key, p, err, errlen);
	case MSG_T_ENUM:
		memcpy(&v, p, sizeof(v));
		if (v < 0 || !f->name(v))
			return am_fail(err, errlen, AM_EVALUE, "%s: unknown value %d",
				       f->key, v);
		return 0;
	case MSG_T_NUM:
		memcpy(&d, p, sizeof(d));
		return msg__num_check(f, d, err, errlen);
	case MSG_T_UINT:
		if (msg__uint(f, m) > f->cap)
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: not an integer in 0..%.17g", f->key,
				       (double)f->cap);
		return 0;
	case MSG_T_BOOL:
		return 0;
	case MSG_T_CUSTOM:
		return f->codec->check ? f->codec->check(m, err, errlen) : 0;
	}
	return am_fail(err, errlen, AM_EINVAL, "%s: unknown field type", f->key);
}

/* Every field in table order; skip_late: leave MSG_LATE fields to their
 * decoder (which validates while converting). */
static int msg__check(const msg_desc *d, const void *m, int skip_late, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < d->n_fields; i++) {
		const msg_field *f = &d->fields[i];
		int rc;
		if ((skip_late && (f->flags & MSG_LATE)) || (f->flag && !msg__flag(f, m)))
			continue;
		if ((rc = msg__check_one(f, m, err, errlen)))
			return rc;
	}
	return 0;
}

int msg_field_check(const msg_desc *d, const void *m, char *err, size_t errlen)
{
	return msg__check(d, m, 0, err, errlen);
}

/* ---- decoding -------------------------------------------------------------- */

/* Refuse a NUL byte anywhere, or a \u0000 escape inside a string: C
 * strings end there, hiding the rest ("arm1\u0000/x" would read as
 * "arm1"). Outside strings only a quote matters, so memchr skips there
 * (the samples of a raw message). */
static int msg__scan(const char *json, size_t len, char *err, size_t errlen)
{
	const char *p = json, *end = json + len;
	if (memchr(json, '\0', len))
		return am_fail(err, errlen, AM_EJSON, "NUL byte in payload");
	while ((p = memchr(p, '"', (size_t)(end - p))) != NULL) {
		for (p++;; p += 2) { /* inside a string, after an escape pair */
			while (p < end && *p != '"' && *p != '\\')
				p++;
			if (p >= end || p + 1 >= end)
				return 0; /* unterminated: the parser says so */
			if (*p == '"')
				break;
			if (p[1] == 'u' && p + 5 < end && memcmp(p + 2, "0000", 4) == 0)
				return am_fail(err, errlen, AM_EVALUE,
					       "\\u0000 in a string at byte %zu",
					       (size_t)(p - json));
		}
		p++;
	}
	return 0;
}

/* The document of the running thread's decodes, kept between them so that
 * a stream of similar messages parses without allocating; a huge one is
 * let go after use. */
static _Thread_local json_doc msg__doc;
#define MSG__DOC_KEEP (256 * 1024)

static void msg__doc_trim(void)
{
	if (msg__doc.arena_cap > MSG__DOC_KEEP ||
	    msg__doc.cap * sizeof(json_node) > MSG__DOC_KEEP)
		json_doc_cleanup(&msg__doc);
}

/* Parse an untrusted payload into a JSON object (msg__doc's root). */
static int msg__parse(const char *json, size_t len, size_t max, const json_node **root,
		      char *err, size_t errlen)
{
	size_t end = 0;
	int rc;

	*root = NULL;
	if (!json || len == 0)
		return am_fail(err, errlen, AM_EJSON, "empty payload");
	if (len > max)
		return am_fail(err, errlen, AM_ETOOBIG, "payload: %zu bytes, max %zu",
			       len, max);
	if ((rc = msg__scan(json, len, err, errlen)))
		return rc;
	rc = json_parse(&msg__doc, json, len, &end);
	if (rc == AM_ENOMEM)
		return am_fail(err, errlen, AM_ENOMEM, "out of memory");
	if (rc)
		return am_fail(err, errlen, AM_EJSON,
			       "not JSON or truncated (at byte %zu of %zu)", end, len);
	while (end < len && (json[end] == ' ' || json[end] == '\t' || json[end] == '\n' ||
			     json[end] == '\r'))
		end++;
	if (end != len)
		return am_fail(err, errlen, AM_EJSON,
			       "trailing bytes after the JSON value");
	*root = json_root(&msg__doc);
	if (!json_is(*root, JSON_OBJECT))
		return am_fail(err, errlen, AM_EJSON, "not a JSON object");
	return 0;
}

static int msg__dec_version(const json_node *o, char *err, size_t errlen)
{
	const json_node *it = json_get(&msg__doc, o, "v");
	if (!it)
		return am_fail(err, errlen, AM_EFIELD, "v: missing");
	if (!json_is(it, JSON_NUMBER))
		return am_fail(err, errlen, AM_EFIELD, "v: not a number");
	if (it->num != MSG_VERSION)
		return am_fail(err, errlen, AM_EVERSION,
			       "v: version %g, this reader reads %d", it->num,
			       MSG_VERSION);
	return 0;
}

/* A string into a char field: refused over its cap before copying (the
 * content is the check pass's job). */
static int msg__dec_str(const msg_field *f, const json_node *it, char *dst, char *err,
			size_t errlen)
{
	size_t n;
	if (!json_is(it, JSON_STRING))
		return am_fail(err, errlen, AM_EFIELD, "%s: not a string", f->key);
	n = it->len;
	if (n > f->cap || n >= f->size) {
		if (f->type == MSG_T_SENSOR)
			return am_fail(err, errlen, AM_EVALUE,
				       "%s: sensor id over %d bytes", f->key,
				       MSG_SENSOR_MAX);
		return am_fail(err, errlen, AM_ETOOBIG, "%s: over %zu bytes", f->key,
			       (size_t)f->cap);
	}
	memcpy(dst, it->str, n + 1);
	return 0;
}

static int msg__dec_enum(const msg_field *f, const json_node *it, int *dst, char *err,
			 size_t errlen)
{
	char names[96] = "";
	size_t used = 0;
	if (!json_is(it, JSON_STRING))
		return am_fail(err, errlen, AM_EFIELD, "%s: not a string", f->key);
	for (int v = 0; f->name(v); v++) {
		if (strcmp(it->str, f->name(v)) == 0) {
			*dst = v;
			return 0;
		}
		if (used < sizeof(names))
			used += (size_t)snprintf(names + used, sizeof(names) - used,
						 "%s%s", v ? ", " : "", f->name(v));
	}
	return am_fail(err, errlen, AM_EVALUE, "%s: not one of %s", f->key, names);
}

/* A number that must be an integer in 0..cap, stored by the field's size. */
static int msg__dec_uint(const msg_field *f, double d, void *dst, char *err,
			 size_t errlen)
{
	uint64_t u;
	uint32_t u32;
	if (!isfinite(d) || d < 0 || d > (double)f->cap || d != floor(d))
		return am_fail(err, errlen, AM_EVALUE, "%s: not an integer in 0..%.17g",
			       f->key, (double)f->cap);
	u = (uint64_t)d;
	if (f->size == sizeof(u32)) {
		u32 = (uint32_t)u;
		memcpy(dst, &u32, sizeof(u32));
	} else {
		memcpy(dst, &u, sizeof(u));
	}
	return 0;
}

/* Convert one present item into its field (type and cap only). */
static int msg__dec_one(const msg_field *f, const json_node *it, void *m, char *err,
			size_t errlen)
{
	char *p = (char *)m + f->off;
	int b;

	switch (f->type) {
	case MSG_T_TEXT:
	case MSG_T_SENSOR:
		return msg__dec_str(f, it, p, err, errlen);
	case MSG_T_ENUM:
		return msg__dec_enum(f, it, (int *)(void *)p, err, errlen);
	case MSG_T_NUM:
	case MSG_T_UINT:
		if (!json_is(it, JSON_NUMBER))
			return am_fail(err, errlen, AM_EFIELD, "%s: not a number",
				       f->key);
		if (f->type == MSG_T_UINT)
			return msg__dec_uint(f, it->num, p, err, errlen);
		memcpy(p, &it->num, sizeof(double));
		return 0;
	case MSG_T_BOOL:
		if (!json_is(it, JSON_TRUE) && !json_is(it, JSON_FALSE))
			return am_fail(err, errlen, AM_EFIELD, "%s: not a boolean",
				       f->key);
		b = it->type == JSON_TRUE;
		memcpy(p, &b, sizeof(b));
		return 0;
	case MSG_T_CUSTOM:
		return f->codec->dec(&msg__doc, it, m, err, errlen);
	}
	return am_fail(err, errlen, AM_EINVAL, "%s: unknown field type", f->key);
}

/* One field: absent optional ones (and dependent ones whose flag is not
 * set) read as zero, absent required ones are refused. */
static int msg__dec_field(const msg_field *f, const json_node *o, void *m, char *err,
			  size_t errlen)
{
	const json_node *it;
	int rc;

	if ((f->flags & MSG_DEP) && !msg__flag(f, m)) {
		memset((char *)m + f->off, 0, f->size);
		return 0;
	}
	it = json_get(&msg__doc, o, f->key);
	if (!it) {
		if (!(f->flags & MSG_OPT))
			return am_fail(err, errlen, AM_EFIELD, "%s: missing", f->key);
		memset((char *)m + f->off, 0, f->size);
		msg__set_flag(f, m, 0);
		return 0;
	}
	rc = msg__dec_one(f, it, m, err, errlen);
	if (!rc && (f->flags & MSG_OPT))
		msg__set_flag(f, m, 1);
	return rc;
}

int msg_field_decode(const msg_desc *d, const char *json, size_t len, void *m, char *err,
		     size_t errlen)
{
	const json_node *root = NULL;
	int rc;

	if ((rc = msg__parse(json, len, d->max_payload, &root, err, errlen)) ||
	    (rc = msg__dec_version(root, err, errlen)))
		goto out;
	for (size_t i = 0; i < d->n_fields; i++)
		if (!(d->fields[i].flags & MSG_LATE) &&
		    (rc = msg__dec_field(&d->fields[i], root, m, err, errlen)))
			goto out;
	if ((rc = msg__check(d, m, 1, err, errlen)))
		goto out;
	for (size_t i = 0; i < d->n_fields; i++)
		if ((d->fields[i].flags & MSG_LATE) &&
		    (rc = msg__dec_field(&d->fields[i], root, m, err, errlen)))
			goto out;
out:
	msg__doc_trim();
	return rc;
}

int msg_field_decode_copy(const msg_desc *d, const char *json, size_t len, void *out,
			  void *tmp, char *err, size_t errlen)
{
	int rc;
	if (!out)
		return am_fail(err, errlen, AM_EFIELD, "no output struct");
	memset(tmp, 0, d->size);
	rc = msg_field_decode(d, json, len, tmp, err, errlen);
	if (!rc)
		memcpy(out, tmp, d->size);
	return rc;
}

/* ---- encoding -------------------------------------------------------------- */

/* Point a buf at the caller's array: alloc = cap, content cap = cap - 1
 * (room for the NUL) and at most max. buf only reallocates when
 * len + extra + 1 > alloc, which its cap check already excludes, so
 * encoding never allocates (tests/unit/test_buf.c pins that behaviour).
 * Never buf_cleanup() such a buf. */
static void msg__wrap(buf *b, char *out, size_t cap, size_t max)
{
	b->data = out;
	b->len = 0;
	b->alloc = cap;
	b->cap = cap - 1 < max ? cap - 1 : max;
	out[0] = '\0';
}

/* Map a buf error to a msg code and finish: *len on success, empty out on
 * error. */
static int msg__enc_end(int brc, buf *b, size_t *len, char *err, size_t errlen)
{
	if (brc) {
		b->data[0] = '\0';
		if (brc == AM_ETOOBIG)
			return am_fail(err, errlen, AM_ETOOBIG,
				       "encoded payload over %zu bytes (output cap)",
				       b->cap);
		if (brc == AM_ENOTFINITE)
			return am_fail(err, errlen, AM_EVALUE, "a number is not finite");
		return am_fail(err, errlen, AM_ENOMEM, "out of memory");
	}
	if (len)
		*len = b->len;
	return 0;
}

/* ,"key": then the value; keys are literals without escapes. */
static int msg__enc_one(buf *b, const msg_field *f, const void *m)
{
	const char *p = (const char *)m + f->off;
	char tmp[24];
	double d;
	int v, rc = buf_add(b, ",\"", 2);

	if (!rc)
		rc = buf_adds(b, f->key);
	if (!rc)
		rc = buf_add(b, "\":", 2);
	if (rc)
		return rc;
	switch (f->type) {
	case MSG_T_TEXT:
	case MSG_T_SENSOR:
		return buf_add_json_str(b, p);
	case MSG_T_ENUM:
		memcpy(&v, p, sizeof(v));
		return buf_add_json_str(b, f->name(v));
	case MSG_T_NUM:
		memcpy(&d, p, sizeof(d));
		return buf_add_json_num(b, d);
	case MSG_T_UINT:
		/* integers as integers, never "1e+06" */
		v = snprintf(tmp, sizeof(tmp), "%" PRIu64, msg__uint(f, m));
		return buf_add(b, tmp, (size_t)v);
	case MSG_T_BOOL:
		memcpy(&v, p, sizeof(v));
		return buf_adds(b, v ? "true" : "false");
	case MSG_T_CUSTOM:
		return f->codec->enc(b, m);
	}
	return AM_EINVAL;
}

int msg_field_encode(const msg_desc *d, const void *m, char *out, size_t cap, size_t *len,
		     char *err, size_t errlen)
{
	buf b;
	int rc;

	if (len)
		*len = 0;
	if (!out || cap < 2)
		return am_fail(err, errlen, AM_ETOOBIG, "output buffer too small");
	msg__wrap(&b, out, cap, d->max_payload);
	if (!m)
		return am_fail(err, errlen, AM_EFIELD, "no message");
	if ((rc = msg_field_check(d, m, err, errlen)))
		return rc;
	rc = buf_adds(&b, "{\"v\":1");
	for (size_t i = 0; !rc && i < d->n_fields; i++)
		if (msg__present(&d->fields[i], m))
			rc = msg__enc_one(&b, &d->fields[i], m);
	if (!rc)
		rc = buf_add(&b, "}", 1);
	return msg__enc_end(rc, &b, len, err, errlen);
}
