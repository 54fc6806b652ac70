/* msg_field — the engine behind msg.h: each v1 message is a table of its
 * fields (JSON key, type, offsetof/sizeof in the struct, cap, required or
 * optional), the way ingest-bt/lpms.c describes LPMS fields, and the three
 * walks here — decode, check, encode — work from any such table. A message
 * is then its table plus two one-line functions (msg.c, msg_raw.c), so the
 * rules in msg.c's header hold for every message alike and a new field is
 * one line. Private to the msg module: services include msg.h only.
 *
 * Field rules by type (checked by msg_field_check, which both directions
 * run: the decoder on what it read, the encoder before writing):
 *   TEXT    char[cap + 1]: 1..cap bytes (0 allowed when optional) of UTF-8
 *           without control characters; over cap: AM_ETOOBIG
 *   SENSOR  char[MSG_SENSOR_MAX + 1]: [A-Za-z0-9._-]{1,64}, else AM_EVALUE
 *   ENUM    int: one of the names name(0), name(1), ... (NULL ends them)
 *   NUM     double: finite, and its range rule
 *   UINT    uint32_t or (u)int64_t by size: an integer in 0..cap
 *   BOOL    int 0/1
 *   CUSTOM  the field's own codec (raw's channels and samples)
 * Optional fields (MSG_OPT) have a presence flag (flag = MSG_IF(T, m), an
 * int set on decode and read on encode) or, without one, are absent when
 * zero or empty. A MSG_DEP field is required exactly when the flag (set
 * by an earlier field) is, and ignored otherwise. MSG_LATE fields are
 * decoded after every other field has passed its check (their conversion
 * needs a valid header, e.g. raw samples need the channel count).
 *
 * Ownership: tables are static and read-only; the functions keep no
 * state. Codes: those of msg.h. */
#ifndef ANOMESH_MSG_FIELD_H
#define ANOMESH_MSG_FIELD_H

#include "buf.h"
#include "json.h"
#include "msg.h"

#include <stddef.h>
#include <stdint.h>

enum msg_type {
	MSG_T_TEXT,
	MSG_T_SENSOR,
	MSG_T_ENUM,
	MSG_T_NUM,
	MSG_T_UINT,
	MSG_T_BOOL,
	MSG_T_CUSTOM,
};

/* What a NUM must be besides finite. */
enum msg_range {
	MSG_R_ANY,    /* any finite value */
	MSG_R_TIME,   /* a timestamp: >= 0 */
	MSG_R_NONNEG, /* a duration: >= 0 */
	MSG_R_POS,    /* > 0 */
	MSG_R_RATE,   /* 0..1 */
};

#define MSG_INT_MAX 9007199254740992ull /* 2^53: integers exact in a double */

#define MSG_REQ 0u
#define MSG_OPT 1u  /* may be absent */
#define MSG_DEP 2u  /* present iff the flag is set */
#define MSG_LATE 4u /* decoded after the checks */

/* offsetof and sizeof of member m of T, for a table row. Written as
 * designated initializers so that a row may end early (after its flags)
 * without a missing-initializer warning; the values after it fill cap and
 * flags in order. */
#define MSG_AT(T, m) .off = offsetof(T, m), .size = sizeof(((T *)0)->m)
/* The presence flag of a row: the int member m of T (0: none). */
#define MSG_IF(T, m) (offsetof(T, m) + 1)

/* A field with a codec of its own. dec gets the (present) JSON item (a
 * node of the parsed document d, json.h) and converts it into the struct; check validates
 * the struct's field (also the only check of what dec wrote, unless the field is
 * MSG_LATE: then dec validates while converting); enc appends the value's JSON. Each
 * returns 0 or a code (dec, check: with err filled; enc: buf's codes). */
typedef struct msg_codec {
	int (*dec)(const json_doc *d, const json_node *item, void *m, char *err,
		   size_t errlen);
	int (*check)(const void *m, char *err, size_t errlen);
	int (*enc)(buf *b, const void *m);
} msg_codec;

typedef struct msg_field {
	const char *key;
	enum msg_type type;
	size_t off, size;           /* MSG_AT(T, m) */
	uint64_t cap;               /* TEXT: max bytes; UINT: max value */
	unsigned flags;             /* MSG_REQ or MSG_OPT | MSG_DEP | MSG_LATE */
	size_t flag;                /* MSG_IF(T, m) or 0 */
	enum msg_range range;       /* NUM */
	const char *(*name)(int v); /* ENUM: the name of v, NULL if none */
	const msg_codec *codec;     /* CUSTOM */
} msg_field;

/* A message: its fields in the order they are written, the struct's
 * size and the payload cap (both directions). */
typedef struct msg_desc {
	const msg_field *fields;
	size_t n_fields;
	size_t size;
	size_t max_payload;
} msg_desc;

#define MSG_DESC(T, table, max)                                                          \
	{                                                                                \
		(table), sizeof(table) / sizeof((table)[0]), sizeof(T), (max)            \
	}

/* Decode json into m, which must hold the struct as it should read for
 * absent fields (zeroed, or a msg_raw whose storage is kept): cap, scan,
 * parse, "v", every field's type (in table order), every field's check,
 * then the MSG_LATE fields. */
int msg_field_decode(const msg_desc *d, const char *json, size_t len, void *m, char *err,
		     size_t errlen);

/* Decode into a zeroed scratch struct (d->size bytes at tmp) and copy it
 * to out only on success, so out is never left half-written. */
int msg_field_decode_copy(const msg_desc *d, const char *json, size_t len, void *out,
			  void *tmp, char *err, size_t errlen);

/* Check every field of m (what an encoder runs before writing). */
int msg_field_check(const msg_desc *d, const void *m, char *err, size_t errlen);

/* Check m, then write it as compact JSON into out (cap bytes with the
 * NUL; at most d->max_payload); *len gets the length. */
int msg_field_encode(const msg_desc *d, const void *m, char *out, size_t cap, size_t *len,
		     char *err, size_t errlen);

/* The text rule of TEXT fields, for codecs (channel names): at most max
 * bytes, non-empty unless allow_empty, UTF-8 without control characters. */
int msg_field_text_check(const char *field, const char *s, size_t max, int allow_empty,
			 char *err, size_t errlen);

#endif
