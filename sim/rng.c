/*
 * rng.c - stream seeding (see rng.h).
 *
 * The stream name is hashed with FNV-1a, combined with the seed and the
 * replication, and the result is run through SplitMix64 a few rounds so that
 * near-identical triples (seed 1 vs 2, "arrivals" vs "arrivalt") give
 * unrelated generator seeds.  GSL's mt19937 keeps the low 32 bits of its seed,
 * so the two halves of the 64-bit value are folded together first.
 */
#include "rng.h"

uint64_t rng_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t rng_stream_seed(uint64_t seed, uint64_t replication, const char *name)
{
	uint64_t st = seed;
	uint64_t a = rng_splitmix64(&st);
	st ^= replication * 0xd1b54a32d192ed03ULL;
	uint64_t b = rng_splitmix64(&st);
	st ^= fnv1a(name);
	uint64_t c = rng_splitmix64(&st);
	return a ^ (b << 1) ^ (c * 0x9e3779b97f4a7c15ULL) ^ rng_splitmix64(&st);
}

gsl_rng *rng_stream_alloc(const gsl_rng_type *T, uint64_t seed, uint64_t replication,
			  const char *name)
{
	gsl_rng *r = gsl_rng_alloc(T ? T : gsl_rng_mt19937);
	if (!r)
		return NULL;
	uint64_t s = rng_stream_seed(seed, replication, name);
	unsigned long folded = (unsigned long)(s ^ (s >> 32));
	/* GSL treats seed 0 as "use the default seed"; avoid it. */
	gsl_rng_set(r, folded ? folded : 0x5eedUL);
	return r;
}
