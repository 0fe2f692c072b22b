/*
 * rng.h - per-stream random number generators.
 *
 * Every stochastic source in a model owns a GSL generator seeded from
 * (scenario seed, replication, stream name) through SplitMix64.  A stream's
 * numbers therefore depend only on that triple: not on which thread or rank
 * runs it, nor on what other streams exist, so two designs run with the same
 * seed see the same arrivals (common random numbers).
 */
#ifndef FS_RNG_H
#define FS_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

/* One SplitMix64 step: advances *state and returns the next output. */
uint64_t rng_splitmix64(uint64_t *state);

/* The 64-bit seed of stream `name` for (seed, replication). */
uint64_t rng_stream_seed(uint64_t seed, uint64_t replication, const char *name);

/* A generator of type T (NULL = gsl_rng_mt19937) seeded for the stream.
 * NULL on allocation failure.  Free with gsl_rng_free. */
gsl_rng *rng_stream_alloc(const gsl_rng_type *T, uint64_t seed, uint64_t replication,
			  const char *name);

#endif
