/* ae_rng — the model's own PRNG: xoshiro256** seeded through splitmix64.
 *
 * Training draws its Glorot initial weights and its mini-batch order from
 * it, so a seed gives the same model on every machine and libc (rand() and
 * random() would not). Tests and tools use it for reproducible random
 * models and data. Not for anything that needs unpredictability.
 *
 * Ownership: an ae_rng is a caller-embedded value; nothing allocates, so
 * there is no cleanup. One generator per thread. Nothing here fails. */
#ifndef ANOMESH_AE_RNG_H
#define ANOMESH_AE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ae_rng {
	uint64_t s[4];
} ae_rng;

/* Seed the state from one 64-bit seed (any value, 0 included). */
void ae_rng_seed(ae_rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t ae_rng_next(ae_rng *r);

/* Uniform in [0, 1), from the top 53 bits of the next draw. */
double ae_rng_uniform(ae_rng *r);

/* Uniform integer in [0, n) (n > 0); the modulo bias is negligible for the
 * sizes training shuffles. */
size_t ae_rng_below(ae_rng *r, size_t n);

#endif
