/* json — a recursive-descent reader into a flat node array (see json.h).
 *
 * The grammar is cJSON 1.7's, step for step (whitespace, literals, the
 * order of checks in arrays and objects, the nesting limit, the byte-order
 * mark), so that the decoders above it accept and refuse what they did.
 * The speed comes from storage and numbers: nodes are indices into one
 * array that grows by doubling and is kept between parses; strings are
 * decoded into one arena sized to the text (a decoded string is never
 * longer than its quoted source, so the arena never moves during a parse
 * and its pointers stay valid); numbers of at most 19 significant digits
 * whose decimal exponent is within +-22 are converted exactly by one IEEE
 * operation (Clinger's fast path), the rest by strtod. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT */
#define JSON_NUM_COPY 64    /* a number text strtod reads from the stack */

typedef struct json__p {
	json_doc *d;
	const unsigned char *s;
	size_t len, i;
	int depth;
} json__p;

static const double json__p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

void json_doc_init(json_doc *d)
{
	if (d)
		memset(d, 0, sizeof(*d));
}

void json_doc_cleanup(json_doc *d)
{
	if (!d)
		return;
	free(d->nodes);
	free(d->arena);
	memset(d, 0, sizeof(*d));
}

static void json__ws(json__p *p)
{
	while (p->i < p->len && p->s[p->i] <= 32)
		p->i++;
}

/* A new node of type t; its index in *at, or AM_ENOMEM. */
static int json__node(json__p *p, int t, uint32_t *at)
{
	json_doc *d = p->d;
	json_node *n;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		json_node *nn =
		    cap > UINT32_MAX ? NULL : realloc(d->nodes, cap * sizeof(*nn));
		if (!nn)
			return AM_ENOMEM;
		d->nodes = nn;
		d->cap = cap;
	}
	n = &d->nodes[d->n];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)t;
	*at = (uint32_t)d->n++;
	return 0;
}

static int json__hex(const unsigned char *h, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = h[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* \uXXXX (and its low surrogate) at in, before end: UTF-8 into *o. Returns
 * the bytes of input used, 0 when refused. */
static size_t json__utf16(const unsigned char *in, const unsigned char *end, char **o)
{
	unsigned first, second, cp;
	size_t used = 6;
	unsigned char *w = (unsigned char *)*o;

	if (end - in < 6 || json__hex(in + 2, &first))
		return 0;
	if (first >= 0xDC00 && first <= 0xDFFF)
		return 0;
	if (first >= 0xD800 && first <= 0xDBFF) {
		if (end - in < 12 || in[6] != '\\' || in[7] != 'u' ||
		    json__hex(in + 8, &second) || second < 0xDC00 || second > 0xDFFF)
			return 0;
		cp = 0x10000 + (((first & 0x3FF) << 10) | (second & 0x3FF));
		used = 12;
	} else {
		cp = first;
	}
	if (cp < 0x80) {
		*w++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*w++ = (unsigned char)(0xC0 | (cp >> 6));
		*w++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*w++ = (unsigned char)(0xE0 | (cp >> 12));
		*w++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (unsigned char)(0xF0 | (cp >> 18));
		*w++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*w++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	*o = (char *)w;
	return used;
}

/* A string at p->i (on its opening quote) into the arena; *str, *len. */
static int json__string(json__p *p, const char **str, uint32_t *len)
{
	const unsigned char *in = p->s + p->i + 1, *end = in, *lim = p->s + p->len;
	char *start = p->d->arena + p->d->used, *o = start;

	if (p->i >= p->len || p->s[p->i] != '"')
		return AM_EJSON;
	/* the closing quote first, stepping over escaped bytes */
	while (end < lim && *end != '"') {
		if (*end == '\\' && ++end >= lim)
			return AM_EJSON;
		end++;
	}
	if (end >= lim)
		return AM_EJSON;
	while (in < end) {
		const unsigned char *bs = memchr(in, '\\', (size_t)(end - in));
		size_t plain = bs ? (size_t)(bs - in) : (size_t)(end - in);
		memcpy(o, in, plain);
		o += plain;
		in += plain;
		if (!bs)
			break;
		switch (in[1]) {
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case '"':
		case '\\':
		case '/':
			*o++ = (char)in[1];
			break;
		case 'u': {
			size_t used = json__utf16(in, end, &o);
			if (!used) {
				p->i = (size_t)(in - p->s);
				return AM_EJSON;
			}
			in += used;
			continue;
		}
		default:
			p->i = (size_t)(in - p->s);
			return AM_EJSON;
		}
		in += 2;
	}
	*o = '\0';
	*str = start;
	*len = (uint32_t)(o - start);
	p->d->used += (size_t)(o - start) + 1;
	p->i = (size_t)(end - p->s) + 1;
	return 0;
}

static int json__digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Up to 19 significant digits in *w (leading zeros skipped), the rest
 * noted as inexact. */
static void json__acc(uint64_t *w, int *sig, int *exact, unsigned d)
{
	if (*sig < 19) {
		*w = *w * 10 + d;
		(*sig)++;
	} else {
		*exact = 0;
	}
}

/* A number at p->i (on '-' or a digit): what cJSON read there, which is
 * the prefix strtod takes of the run of [0-9+-.eE] there: '-'? digits
 * ('.' digits?)? or '-'? '.' digits, then an exponent only if it has a
 * digit. One pass reads and converts it. */
static int json__number(json__p *p, uint32_t at)
{
	const unsigned char *r = p->s + p->i;
	size_t n = p->len - p->i, i = 0, end;
	uint64_t w = 0;
	int neg = 0, sig = 0, exact = 1, e10 = 0, digits = 0;
	double v;

	if (r[0] == '-') {
		neg = 1;
		i = 1;
	}
	for (; i < n && json__digit(r[i]); i++, digits++)
		if (w || r[i] != '0')
			json__acc(&w, &sig, &exact, r[i] - '0');
	if (i < n && r[i] == '.')
		for (i++; i < n && json__digit(r[i]); i++, digits++) {
			if (!w && r[i] == '0') {
				e10--;
				continue;
			}
			if (sig < 19)
				e10--;
			json__acc(&w, &sig, &exact, r[i] - '0');
		}
	if (!digits)
		return AM_EJSON;
	end = i;
	if (i < n && (r[i] == 'e' || r[i] == 'E')) {
		size_t j = i + 1;
		int ex = 0, exneg = 0;
		if (j < n && (r[j] == '+' || r[j] == '-'))
			exneg = r[j++] == '-';
		if (j < n && json__digit(r[j])) {
			for (; j < n && json__digit(r[j]); j++)
				if (ex < 100000)
					ex = ex * 10 + (r[j] - '0');
			e10 += exneg ? -ex : ex;
			end = j;
		}
	}
	if (!w) {
		v = 0;
	} else if (exact && w <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
		v = e10 >= 0 ? (double)w * json__p10[e10] : (double)w / json__p10[-e10];
	} else {
		char small[JSON_NUM_COPY],
		    *copy = end < sizeof(small) ? small : malloc(end + 1);
		if (!copy)
			return AM_ENOMEM;
		memcpy(copy, r, end);
		copy[end] = '\0';
		v = strtod(copy, NULL);
		neg = 0; /* the sign is in the text */
		if (copy != small)
			free(copy);
	}
	p->d->nodes[at].num = neg ? -v : v;
	p->i += end;
	return 0;
}

static int json__value(json__p *p, uint32_t *at);

/* An array or an object (close: ']' or '}'), at its opening byte. */
static int json__container(json__p *p, uint32_t at, int object)
{
	uint32_t prev = 0, item;
	const char close = object ? '}' : ']';
	int rc;

	if (p->depth >= JSON_DEPTH_MAX)
		return AM_EJSON;
	p->depth++;
	p->i++;
	json__ws(p);
	if (p->i < p->len && p->s[p->i] == close)
		goto done;
	if (p->i >= p->len)
		return AM_EJSON;
	do {
		const char *key = NULL;
		uint32_t klen;
		if (prev) /* on the comma */
			p->i++;
		json__ws(p);
		if (object) {
			if ((rc = json__string(p, &key, &klen)))
				return rc;
			json__ws(p);
			if (p->i >= p->len || p->s[p->i] != ':')
				return AM_EJSON;
			p->i++;
			json__ws(p);
		}
		if ((rc = json__value(p, &item)))
			return rc;
		p->d->nodes[item].key = key;
		if (prev)
			p->d->nodes[prev].next = item;
		else
			p->d->nodes[at].child = item;
		p->d->nodes[at].count++;
		prev = item;
		json__ws(p);
	} while (p->i < p->len && p->s[p->i] == ',');
	if (p->i >= p->len || p->s[p->i] != close)
		return AM_EJSON;
done:
	p->depth--;
	p->i++;
	return 0;
}

static int json__literal(json__p *p, const char *word, size_t n)
{
	if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0)
		return AM_EJSON;
	p->i += n;
	return 0;
}

static int json__value(json__p *p, uint32_t *at)
{
	unsigned char c;
	int rc;

	if (p->i >= p->len)
		return AM_EJSON;
	c = p->s[p->i];
	switch (c) {
	case 'n':
		rc = json__literal(p, "null", 4);
		return rc ? rc : json__node(p, JSON_NULL, at);
	case 'f':
		rc = json__literal(p, "false", 5);
		return rc ? rc : json__node(p, JSON_FALSE, at);
	case 't':
		rc = json__literal(p, "true", 4);
		return rc ? rc : json__node(p, JSON_TRUE, at);
	case '"': {
		const char *s;
		uint32_t len;
		if ((rc = json__node(p, JSON_STRING, at)) ||
		    (rc = json__string(p, &s, &len)))
			return rc;
		p->d->nodes[*at].str = s;
		p->d->nodes[*at].len = len;
		return 0;
	}
	case '[':
	case '{':
		if ((rc = json__node(p, c == '{' ? JSON_OBJECT : JSON_ARRAY, at)))
			return rc;
		return json__container(p, *at, c == '{');
	default:
		if (c != '-' && !json__digit(c))
			return AM_EJSON;
		if ((rc = json__node(p, JSON_NUMBER, at)))
			return rc;
		return json__number(p, *at);
	}
}

int json_parse(json_doc *d, const char *s, size_t len, size_t *end)
{
	json__p p = {d, (const unsigned char *)s, len, 0, 0};
	uint32_t root;
	int rc;

	d->n = 0;
	d->used = 0;
	if (d->arena_cap < len + 1) {
		char *a = malloc(len + 1);
		if (!a)
			return AM_ENOMEM;
		free(d->arena);
		d->arena = a;
		d->arena_cap = len + 1;
	}
	if (len >= 5 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		p.i = 3;
	json__ws(&p);
	rc = json__value(&p, &root);
	if (end)
		*end = p.i < len ? p.i : len;
	if (rc)
		d->n = 0;
	return rc;
}

const json_node *json_root(const json_doc *d) { return d->n ? &d->nodes[0] : NULL; }

const json_node *json_child(const json_doc *d, const json_node *n)
{
	return n && n->child ? &d->nodes[n->child] : NULL;
}

const json_node *json_next(const json_doc *d, const json_node *n)
{
	return n && n->next ? &d->nodes[n->next] : NULL;
}

const json_node *json_get(const json_doc *d, const json_node *o, const char *key)
{
	if (!json_is(o, JSON_OBJECT))
		return NULL;
	for (const json_node *m = json_child(d, o); m; m = json_next(d, m))
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const json_node *json_at(const json_doc *d, const json_node *a, size_t i)
{
	const json_node *e;
	if (!json_is(a, JSON_ARRAY))
		return NULL;
	for (e = json_child(d, a); e && i; e = json_next(d, e))
		i--;
	return e;
}
