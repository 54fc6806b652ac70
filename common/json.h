/* json — the JSON reader behind the message decoders (msg_field.h): one
 * pass over the payload into a flat array of nodes and one arena of
 * decoded strings, both kept by the caller's json_doc across parses, so
 * that a stream of similar messages parses without allocating (cJSON, which
 * this replaces, made one allocation per value: 50 for a raw message of 10
 * samples, and read every number with strtod).
 *
 * What it accepts is what cJSON 1.7 accepted, so that no message changes
 * its fate: whitespace is any byte 1..32; a UTF-8 byte-order mark may
 * precede the value; nesting deeper than 1000 is refused; a number starts
 * with '-' or a digit and is the longest prefix that strtod would read of
 * the run of [0-9+-.eE] there (so "01", "1." and
 * "-.5" read as cJSON read them, and 1e999 as infinity); strings may hold
 * raw control bytes and know the escapes \" \\ \/ \b \f \n \r \t \uXXXX
 * (surrogate pairs joined; a lone or reversed surrogate is refused). One
 * difference, deliberate: an invalid hex digit in \uXXXX is refused, where
 * cJSON wrote a NUL byte into the string and so cut it short. A value
 * ends where it ends: the caller decides about what follows (json_parse
 * reports the offset).
 *
 * Ownership: json_doc is embedded by the caller (json_doc_init /
 * json_doc_cleanup, NULL-safe, idempotent); node and string pointers are
 * valid until the next json_parse on that doc. Not thread-safe per doc.
 *
 * Codes it returns (tree-wide, error.h): AM_EJSON (not JSON; *err_at says
 * where), AM_ENOMEM. */
#ifndef ANOMESH_JSON_H
#define ANOMESH_JSON_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

typedef struct json_node {
	uint8_t type;    /* enum json_type */
	uint32_t next;   /* next sibling's index, 0: none (0 is always the root) */
	uint32_t child;  /* first child's index (array, object), 0: none */
	uint32_t count;  /* children (array, object) */
	uint32_t len;    /* string: bytes, not counting the NUL */
	const char *key; /* member name in an object, NUL-terminated; else NULL */
	const char *str; /* string: decoded, NUL-terminated */
	double num;      /* number */
} json_node;

typedef struct json_doc {
	json_node *nodes;
	size_t n, cap;
	char *arena; /* decoded strings: never more bytes than the text */
	size_t used, arena_cap;
} json_doc;

void json_doc_init(json_doc *d);
void json_doc_cleanup(json_doc *d);

/* Parse the one value at the start of s (len bytes; no NUL needed), after
 * whitespace and an optional byte-order mark. Returns 0 with *end the
 * offset just past the value, or AM_EJSON with *end where it stopped, or
 * AM_ENOMEM. The root is json_root(d). */
int json_parse(json_doc *d, const char *s, size_t len, size_t *end);

const json_node *json_root(const json_doc *d);
/* First child / next sibling, NULL when none. */
const json_node *json_child(const json_doc *d, const json_node *n);
const json_node *json_next(const json_doc *d, const json_node *n);
/* The first member of object o named key (case-sensitive), NULL if none or
 * o is not an object. */
const json_node *json_get(const json_doc *d, const json_node *o, const char *key);
/* Element i of array a, NULL past its end or when a is not an array. */
const json_node *json_at(const json_doc *d, const json_node *a, size_t i);

#define json_is(n, t) ((n) != NULL && (n)->type == (t))

#endif
