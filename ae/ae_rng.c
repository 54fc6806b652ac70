/* ae_rng — splitmix64 seeding xoshiro256** (see ae_rng.h). Both are the
 * published reference algorithms (Vigna), written out so that the weights a
 * seed gives never depend on the platform. */
#include "ae_rng.h"

static uint64_t ae_rng__splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ae_rng_seed(ae_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = ae_rng__splitmix(&x);
}

static uint64_t ae_rng__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ae_rng_next(ae_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = ae_rng__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ae_rng__rotl(s[3], 45);
	return res;
}

double ae_rng_uniform(ae_rng *r) { return (double)(ae_rng_next(r) >> 11) * 0x1.0p-53; }

size_t ae_rng_below(ae_rng *r, size_t n) { return (size_t)(ae_rng_next(r) % n); }
