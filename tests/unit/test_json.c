/* test_json — the reader behind the message decoders: values and their
 * navigation; what cJSON 1.7 accepted and refused (its number prefixes,
 * whitespace bytes, byte-order mark, nesting limit, escapes and surrogate
 * pairs), the one deliberate difference (a bad hex digit in \uXXXX is
 * refused, where cJSON cut the string short); numbers converted exactly
 * (the fast path against strtod); the document reused across parses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_doc doc;

static int setup(void **state)
{
	(void)state;
	json_doc_init(&doc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_doc_cleanup(&doc);
	json_doc_cleanup(&doc); /* twice is fine */
	json_doc_cleanup(NULL);
	return 0;
}

/* Parse s whole (nothing but the value); the root, NULL when refused. */
static const json_node *parse(const char *s)
{
	size_t end = 0;
	if (json_parse(&doc, s, strlen(s), &end) != 0)
		return NULL;
	return end == strlen(s) ? json_root(&doc) : NULL;
}

static double num(const char *s)
{
	const json_node *n = parse(s);
	assert_true(json_is(n, JSON_NUMBER));
	return n->num;
}

static void test_values(void **state)
{
	const json_node *r, *a, *e;
	(void)state;
	r = parse("{\"a\":[1,\"x\",true,false,null,{}],\"b\":\"caf\\u00e9\",\"a\":2}");
	assert_true(json_is(r, JSON_OBJECT));
	assert_int_equal(r->count, 3);
	a = json_get(&doc, r, "a"); /* the first of two */
	assert_true(json_is(a, JSON_ARRAY));
	assert_int_equal(a->count, 6);
	assert_true(json_at(&doc, a, 0)->num == 1);
	e = json_at(&doc, a, 1);
	assert_true(json_is(e, JSON_STRING));
	assert_string_equal(e->str, "x");
	assert_int_equal(e->len, 1);
	assert_int_equal(json_at(&doc, a, 2)->type, JSON_TRUE);
	assert_int_equal(json_at(&doc, a, 3)->type, JSON_FALSE);
	assert_int_equal(json_at(&doc, a, 4)->type, JSON_NULL);
	assert_int_equal(json_at(&doc, a, 5)->type, JSON_OBJECT);
	assert_null(json_at(&doc, a, 6));
	assert_null(json_at(&doc, r, 0));    /* not an array */
	assert_null(json_get(&doc, a, "a")); /* not an object */
	assert_string_equal(json_get(&doc, r, "b")->str, "caf\xc3\xa9");
	assert_null(json_get(&doc, r, "c"));
	assert_string_equal(json_child(&doc, r)->key, "a");
	assert_null(
	    json_next(&doc, json_next(&doc, json_next(&doc, json_child(&doc, r)))));
}

static void test_cjson_grammar(void **state)
{
	size_t end;
	(void)state;
	/* numbers: the prefix strtod reads, as cJSON took it */
	assert_true(num("01") == 1);
	assert_true(num("1.") == 1);
	assert_true(num("-.5") == -0.5);
	assert_true(num("1E+2") == 100);
	assert_true(signbit(num("-0")));
	assert_true(isinf(num("1e999")));
	assert_true(num("1234567890123456789012345678901234567890123456789012345678901234"
			"567890") == 1.234567890123456789e69);
	assert_int_equal(json_parse(&doc, "1e", 2, &end), 0);
	assert_int_equal(end, 1); /* "e" without a digit is not the number's */
	assert_int_equal(json_parse(&doc, "1-2", 3, &end), 0);
	assert_int_equal(end, 1);
	assert_int_equal(json_parse(&doc, ".5", 2, &end), AM_EJSON);
	assert_int_equal(json_parse(&doc, "+1", 2, &end), AM_EJSON);
	assert_int_equal(json_parse(&doc, "-", 1, &end), AM_EJSON);
	assert_int_equal(json_parse(&doc, "--1", 3, &end), AM_EJSON);
	assert_null(parse("NaN"));
	assert_null(parse("-inf"));
	/* whitespace is any byte 1..32; a byte-order mark may lead */
	assert_non_null(parse("\x01\x1f [ 1 ,\t2 ]"));
	assert_non_null(parse("\xef\xbb\xbf{\"a\":1}"));
	/* containers */
	assert_null(parse("[1,]"));
	assert_null(parse("{\"a\":1,}"));
	assert_null(parse("{\"a\" 1}"));
	assert_null(parse("{a:1}"));
	assert_null(parse("[1"));
	assert_null(parse("nul"));
	assert_null(parse("tru"));
	/* strings: raw control bytes pass, unknown escapes do not */
	assert_string_equal(parse("\"a\tb\"")->str, "a\tb");
	assert_string_equal(parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"")->str,
			    "\"\\/\b\f\n\r\t");
	assert_null(parse("\"\\x\""));
	assert_null(parse("\"abc"));
	assert_null(parse("\"abc\\"));
	/* surrogates: pairs joined, lone or reversed ones refused */
	assert_string_equal(parse("\"\\ud83d\\ude00\"")->str, "\xf0\x9f\x98\x80");
	assert_null(parse("\"\\ud83d\""));
	assert_null(parse("\"\\ude00\\ud83d\""));
	assert_null(parse("\"\\ud83dx\\ude00\""));
	/* the deliberate difference: cJSON wrote a NUL for a bad hex digit */
	assert_null(parse("\"ab\\u00zzcd\""));
	assert_null(parse("\"\\u12\""));
}

static void test_nesting_limit(void **state)
{
	char s[2 * 1001 + 1];
	(void)state;
	for (int depth = 1000; depth <= 1001; depth++) {
		memset(s, '[', (size_t)depth);
		memset(s + depth, ']', (size_t)depth);
		s[2 * depth] = '\0';
		if (depth == 1000)
			assert_non_null(parse(s));
		else
			assert_null(parse(s));
	}
}

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Every number converts to the double strtod gives, fast path or not. */
static void test_numbers_exact(void **state)
{
	char t[64];
	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint64_t u = rng();
		double want;
		switch (i % 4) {
		case 0:
			snprintf(t, sizeof(t), "%.*g", (int)(u % 17) + 1,
				 (double)(u >> 11) / (double)(1ull << (u % 60)));
			break;
		case 1:
			snprintf(t, sizeof(t), "-%llu.%05llue%d",
				 (unsigned long long)(u % 100000000000ull),
				 (unsigned long long)((u >> 40) % 100000),
				 (int)(u % 50) - 25);
			break;
		case 2:
			snprintf(t, sizeof(t), "0.%020llu", (unsigned long long)u);
			break;
		default:
			snprintf(t, sizeof(t), "%llu", (unsigned long long)u);
		}
		want = strtod(t, NULL);
		if (num(t) != want && !(isnan(want)))
			fail_msg("%s read as %a, strtod %a", t, num(t), want);
	}
}

/* A stream of similar documents stops allocating: the node array and the
 * arena keep their memory. */
static void test_reuse(void **state)
{
	const char *s = "{\"v\":1,\"samples\":[[1,2,3],[4,5,6]],\"run\":\"r\"}";
	json_node *nodes;
	char *arena;
	(void)state;
	assert_non_null(parse(s));
	nodes = doc.nodes;
	arena = doc.arena;
	for (int i = 0; i < 100; i++)
		assert_non_null(parse(s));
	assert_ptr_equal(doc.nodes, nodes);
	assert_ptr_equal(doc.arena, arena);
	assert_string_equal(json_get(&doc, json_root(&doc), "run")->str, "r");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),        cmocka_unit_test(test_cjson_grammar),
	    cmocka_unit_test(test_nesting_limit), cmocka_unit_test(test_numbers_exact),
	    cmocka_unit_test(test_reuse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
