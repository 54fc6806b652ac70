/* libFuzzer target: the message decoders' JSON reader (common/json.h)
 * against cJSON, the library it replaced and still the tests' independent
 * reader. The whole input is the text.
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *  - both accept or both refuse, with one allowed difference (json.h's
 *    deliberate one): json.h refuses, cJSON accepts, and the text holds a
 *    \u escape;
 *  - where both accept, the value ends at the same offset and the trees
 *    are the same: the same types in the same order, the same member names,
 *    numbers bit for bit (both NaN counts as equal), strings equal as C
 *    strings (cJSON's end at an embedded NUL from \u0000);
 *  - parsing again into the same json_doc (its arrays kept) gives the same
 *    tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_num(double a, double b)
{
	if (a != a && b != b)
		return 1;
	return memcmp(&a, &b, sizeof a) == 0;
}

static void same_tree(const json_doc *d, const json_node *n, const cJSON *c)
{
	switch (n->type) {
	case JSON_NULL:
		if (!cJSON_IsNull(c))
			abort();
		break;
	case JSON_FALSE:
		if (!cJSON_IsFalse(c))
			abort();
		break;
	case JSON_TRUE:
		if (!cJSON_IsTrue(c))
			abort();
		break;
	case JSON_NUMBER:
		if (!cJSON_IsNumber(c) || !same_num(n->num, c->valuedouble))
			abort();
		break;
	case JSON_STRING:
		if (!cJSON_IsString(c) || strcmp(n->str, c->valuestring) != 0)
			abort();
		break;
	case JSON_ARRAY:
	case JSON_OBJECT: {
		const cJSON *cc;
		const json_node *k;
		size_t count = 0;
		if (n->type == JSON_ARRAY ? !cJSON_IsArray(c) : !cJSON_IsObject(c))
			abort();
		for (k = json_child(d, n), cc = c->child; k && cc;
		     k = json_next(d, k), cc = cc->next, count++) {
			if (n->type == JSON_OBJECT &&
			    (!k->key || !cc->string || strcmp(k->key, cc->string) != 0))
				abort();
			same_tree(d, k, cc);
		}
		if (k || cc || count != n->count)
			abort();
		break;
	}
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_doc doc; /* kept between inputs, as a decoder keeps it */
	const char *text = (const char *)data;
	const char *c_end = NULL;
	size_t end = 0, end2 = 0;
	int rc = json_parse(&doc, text, size, &end);
	cJSON *c = cJSON_ParseWithLengthOpts(text, size, &c_end, 0);

	if (rc == AM_ENOMEM) {
		cJSON_Delete(c);
		return 0;
	}
	if (rc != 0 && rc != AM_EJSON)
		abort();
	if (rc == 0 && !c)
		abort(); /* json.h accepts what cJSON refused */
	if (rc != 0 && c) {
		/* the one deliberate difference: a bad hex digit in \uXXXX */
		if (!memmem(data, size, "\\u", 2))
			abort();
		cJSON_Delete(c);
		return 0;
	}
	if (rc == 0) {
		if ((size_t)(c_end - text) != end)
			abort();
		same_tree(&doc, json_root(&doc), c);
		if (json_parse(&doc, text, size, &end2) != 0 || end2 != end)
			abort();
		same_tree(&doc, json_root(&doc), c);
	}
	cJSON_Delete(c);
	return 0;
}
