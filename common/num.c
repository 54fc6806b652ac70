/* num — exact shortest number text without printf, and number reading
 * without strtod on the common path (see num.h for the rules).
 *
 * Writing. v = m * 2^e exactly (m the integer significand). For each
 * precision p the reference rule tries, the correctly rounded p-digit
 * decimal q * 10^E of v is what "%.{p}g" prints (glibc rounds the exact
 * value, ties to even); it is derived from one exact division at the
 * largest p (floor and a sticky "remainder left" bit). Whether q * 10^E
 * reads back as v: for q <= 2^53 and |E| <= 22 the one IEEE operation
 * (double)q * or / 10^|E| is the correctly rounded double of q * 10^E
 * (Clinger); otherwise q * 10^E is compared, in integers, with v's two
 * rounding midpoints. A float reads back through strtof and through
 * strtod-then-cast alike unless that double lands exactly on a float
 * midpoint: then, and wherever 128 bits would overflow, the reference
 * itself decides. */
#include "num.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 num_u128;

static const double num__p10d[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t num__p10u[20] = {1ull,
				       10ull,
				       100ull,
				       1000ull,
				       10000ull,
				       100000ull,
				       1000000ull,
				       10000000ull,
				       100000000ull,
				       1000000000ull,
				       10000000000ull,
				       100000000000ull,
				       1000000000000ull,
				       10000000000000ull,
				       100000000000000ull,
				       1000000000000000ull,
				       10000000000000000ull,
				       100000000000000000ull,
				       1000000000000000000ull,
				       10000000000000000000ull};

/* Significant bits of x. */
static int num__bits(num_u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
	if (hi)
		return 128 - __builtin_clzll(hi);
	return lo ? 64 - __builtin_clzll(lo) : 0;
}

/* x * 10^n, or 0 when it would reach 2^127 (n <= 38). */
static int num__mul10(num_u128 *x, int n)
{
	while (n > 0) {
		int k = n > 19 ? 19 : n;
		if (num__bits(*x) + num__bits(num__p10u[k]) > 126)
			return 0;
		*x *= num__p10u[k];
		n -= k;
	}
	return 1;
}

/* x * 2^n, or 0 when it would reach 2^127. */
static int num__shl(num_u128 *x, int n)
{
	if (*x && num__bits(*x) + n > 126)
		return 0;
	*x <<= n;
	return 1;
}

/* Compare q * 10^E with M * 2^F exactly: -1, 0, 1; 2 when 128 bits do not
 * hold the two sides. */
static int num__cmp(uint64_t q, int E, uint64_t M, int F)
{
	num_u128 l = q, r = M;
	if (!(E >= 0 ? num__mul10(&l, E) : num__mul10(&r, -E)) ||
	    !(F >= 0 ? num__shl(&r, F) : num__shl(&l, -F)))
		return 2;
	return (l > r) - (l < r);
}

/* Whether q * 10^E reads back as the double v = m * 2^e (m, e as
 * num__split gives them): 1, 0, or -1 when it cannot tell. */
static int num__back_double(uint64_t q, int E, double v, uint64_t m, int e)
{
	int hi, lo;
	if (q <= (1ull << 53) && E >= -22 && E <= 22)
		return (E >= 0 ? (double)q * num__p10d[E] : (double)q / num__p10d[-E]) ==
		       v;
	hi = num__cmp(q, E, 2 * m + 1, e - 1);
	lo = m == (1ull << 52) && e > -1074 ? num__cmp(q, E, 4 * m - 1, e - 2)
					    : num__cmp(q, E, 2 * m - 1, e - 1);
	if (hi == 2 || lo == 2)
		return -1;
	if (hi < 0 && lo > 0)
		return 1;
	if (hi == 0 || lo == 0) /* on a midpoint: the even significand wins */
		return (m & 1) == 0;
	return 0;
}

/* Whether q * 10^E reads back as the float v, through strtof and through
 * strtod then a cast: 1, 0, or -1 when it cannot tell. */
static int num__back_float(uint64_t q, int E, float v)
{
	double d;
	uint64_t b;
	if (E < -22 || E > 22)
		return -1;
	/* q < 10^9: Clinger's fast path gives the correctly rounded double */
	d = E >= 0 ? (double)q * num__p10d[E] : (double)q / num__p10d[-E];
	/* d exactly between two floats (its 29 bits below a float's precision
	 * are 1 and 28 zeros; d is a normal float's size here): strtof may
	 * round the decimal the other way than the cast does */
	memcpy(&b, &d, sizeof(b));
	if ((b & 0x1fffffffull) == 0x10000000ull)
		return -1;
	return (float)d == v;
}

/* v > 0 as m * 2^e, m the integer significand. */
static void num__split(double v, uint64_t *m, int *e)
{
	uint64_t b;
	int x;
	memcpy(&b, &v, sizeof(b));
	x = (int)((b >> 52) & 0x7ff);
	*m = b & ((1ull << 52) - 1);
	if (x) {
		*m |= 1ull << 52;
		*e = x - 1075;
	} else {
		*e = -1074;
	}
}

static void num__split_float(float v, uint64_t *m, int *e)
{
	uint32_t b;
	int x;
	memcpy(&b, &v, sizeof(b));
	x = (int)((b >> 23) & 0xff);
	*m = b & ((1u << 23) - 1);
	if (x) {
		*m |= 1u << 23;
		*e = x - 150;
	} else {
		*e = -149;
	}
}

/* The first P digits of v = m * 2^e: *q = floor(v / 10^(k - P + 1)) with
 * 10^(P-1) <= *q < 10^P, *k the decimal exponent of v, *sticky set when the
 * floor dropped something. 0 when 128 bits do not suffice. The exponent
 * is first guessed from the binary one, never too high (so the floor has
 * P to P + 2 digits), and the extra digits are divided off. */
static int num__digits(uint64_t m, int e, int P, uint64_t *q, int *k, int *sticky)
{
	int x = e + 63 - __builtin_clzll(m); /* floor(log2(v)) */
	int kk = (x * 78913) >> 18;          /* floor(x * 0.3010292...) */
	int E, st;
	num_u128 num = m, den = 1, fl;

	if (x < 0)
		kk--; /* the constant is below log10(2): may overshoot there */
	E = kk - P + 1;
	if (!(E <= 0 ? num__mul10(&num, -E) : num__mul10(&den, E)))
		return 0;
	if (e >= 0) {
		if (!num__shl(&num, e))
			return 0;
	} else if (den == 1) { /* a power of two: a shift, no division */
		int sh = -e;
		if (sh > 126)
			return 0;
		fl = num >> sh;
		st = (num & (((num_u128)1 << sh) - 1)) != 0;
		goto digits;
	} else if (!num__shl(&den, -e)) {
		return 0;
	}
	fl = num / den;
	st = num - fl * den != 0;
digits:
	while (fl >= num__p10u[P]) {
		st |= fl % 10 != 0;
		fl /= 10;
		kk++;
	}
	if (fl < num__p10u[P - 1])
		return 0; /* cannot happen: the guess is at most two low */
	*q = (uint64_t)fl;
	*k = kk;
	*sticky = st;
	return 1;
}

/* The "%.{p}g" text of sign and the p-digit q (10^(p-1) <= q < 10^p) with
 * decimal exponent k, as glibc writes it. */
static size_t num__emit(char *out, int neg, uint64_t q, int p, int k)
{
	char d[20] = "", *o = out;
	int nd = p;

	for (int i = p - 1; i >= 0; i--) {
		d[i] = (char)('0' + q % 10);
		q /= 10;
	}
	while (nd > 1 && d[nd - 1] == '0')
		nd--;
	if (neg)
		*o++ = '-';
	if (k < -4 || k >= p) {
		int x = k < 0 ? -k : k;
		*o++ = d[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = k < 0 ? '-' : '+';
		if (x >= 100) {
			*o++ = (char)('0' + x / 100);
			x %= 100;
		}
		*o++ = (char)('0' + x / 10);
		*o++ = (char)('0' + x % 10);
	} else if (k >= 0) {
		memcpy(o, d, (size_t)k + 1);
		o += k + 1;
		if (nd > k + 1) {
			*o++ = '.';
			memcpy(o, d + k + 1, (size_t)(nd - k - 1));
			o += nd - k - 1;
		}
	} else {
		*o++ = '0';
		*o++ = '.';
		for (int i = 0; i < -k - 1; i++)
			*o++ = '0';
		memcpy(o, d, (size_t)nd);
		o += nd;
	}
	*o = '\0';
	return (size_t)(o - out);
}

/* The reference rule itself (the slow path). */
static size_t num__slow(char *out, double v, int is_float, int pmin, int pmax)
{
	int n = 0;
	for (int p = pmin; p <= pmax; p++) {
		n = snprintf(out, NUM_TEXT_MAX, "%.*g", p, v);
		if (is_float ? strtof(out, NULL) == (float)v &&
				   (float)strtod(out, NULL) == (float)v
			     : strtod(out, NULL) == v)
			break;
	}
	return (size_t)n;
}

/* The shortest p in pmin..pmax whose rounding of |v| = m * 2^e reads back,
 * written into out; 0 when the fast path cannot decide (or none reads
 * back: the reference then writes its last try). The digits are taken once,
 * at pmax + 1 digits, so that every p <= pmax rounds exactly from them. */
static size_t num__fast(char *out, double v, int neg, uint64_t m, int e, int is_float,
			int pmin, int pmax)
{
	uint64_t q0;
	int k0, sticky;

	if (!num__digits(m, e, pmax + 1, &q0, &k0, &sticky))
		return 0;
	for (int p = pmin; p <= pmax; p++) {
		uint64_t unit = num__p10u[pmax + 1 - p], q = q0 / unit, rem = q0 % unit;
		uint64_t half = unit / 2; /* unit >= 10: half is whole */
		int k = k0, back;
		/* ties (nothing dropped below the half) go to the even digit */
		if (rem > half || (rem == half && (sticky || (q & 1))))
			q++;
		if (q == num__p10u[p]) {
			q = num__p10u[p - 1];
			k++;
		}
		back = is_float ? num__back_float(q, k - p + 1, (float)v)
				: num__back_double(q, k - p + 1, v, m, e);
		if (back < 0)
			return 0;
		if (back)
			return num__emit(out, neg, q, p, k);
	}
	return 0;
}

size_t num_fmt_double(char *out, double v)
{
	uint64_t m;
	int e;
	size_t n;

	if (v == 0) {
		memcpy(out, "0", 2);
		return 1;
	}
	num__split(fabs(v), &m, &e);
	n = num__fast(out, fabs(v), v < 0, m, e, 0, 6, 17);
	return n ? n : num__slow(out, v, 0, 6, 17);
}

size_t num_fmt_float(char *out, float v)
{
	uint64_t m;
	int e;
	size_t n;

	if (v == 0) {
		memcpy(out, "0", 2);
		return 1;
	}
	num__split_float(fabsf(v), &m, &e);
	n = num__fast(out, fabs((double)v), v < 0, m, e, 1, 4, 9);
	return n ? n : num__slow(out, (double)v, 1, 4, 9);
}
