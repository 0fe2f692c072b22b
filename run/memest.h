/*
 * memest.h - an estimate of a run's peak memory, made from the scenario alone.
 *
 * Before a run the CLI asks how much memory the run will need and refuses one
 * that will not fit (default: 75 % of physical memory), so that a scenario of
 * 50,000 racks or a workload far beyond the factory's capacity fails at once
 * with the reason, instead of after minutes of swapping or at the OOM killer.
 * `factorysim validate` prints the estimate.
 *
 * The estimate is a sum of terms, each a count times a size:
 *   - the program, its libraries and HDF5's caches (measured constants);
 *   - the recorder's buffers: every time series holds chunk_rows rows of its
 *     width in memory (a per-rack series: chunk_rows x racks x 8 B), plus
 *     HDF5's chunk cache for the 2-D datasets, the /events and /requests rows;
 *   - per replica serving state (queues, KV phase table, prefix cache, decode
 *     heap) and per rack facility and cooling state;
 *   - requests in flight: arrival rate x an estimated latency from the perf
 *     model, and, where arrivals exceed the estimated capacity of the pools
 *     serving a model, the backlog (excess rate x warm-up + duration) that
 *     piles up by the end of the run;
 *   - the event engine's arena, trace files held in memory, statistics.
 * The struct sizes behind the constants are those of this build (x86-64);
 * tests/t_memest.sh checks the total against the peak RSS of real runs
 * (within a factor of two).
 *
 * Thread safety: no state; safe to call concurrently.
 */
#ifndef FS_MEMEST_H
#define FS_MEMEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "scenario.h"

/* Estimate the peak memory of running sc [bytes] into *bytes.  breakdown (if
 * n > 0) receives the largest terms, biggest first, e.g.
 * "time series buffers 1.1 GiB (...), requests in flight 240 MiB (...)".
 * Returns FS_OK. */
int runner_estimate_memory(const scenario *sc, size_t *bytes, char *breakdown, size_t n);

/* 75 % of physical memory (sysconf), or 0 when the system does not say. */
size_t memest_default_limit(void);

/* "8GB", "8 GiB", "512MB", "1e9" (bytes), "2T": decimal (kB, MB, GB, TB) and
 * binary (KiB, MiB, GiB, TiB) units; K, M, G, T alone are binary.  0 or -1. */
int memest_parse_size(const char *text, size_t *bytes);

/* "1.5 GiB", "12.0 MiB", "900 B". */
void memest_format(size_t bytes, char *buf, size_t n);

/* Refuse sc when its estimate exceeds limit (0 = memest_default_limit());
 * with force, never.  On refusal err names the estimate, the limit and the
 * largest terms, and the code is FS_ERR_INPUT. */
int memest_check(const scenario *sc, size_t limit, bool force, fs_error *err);

#endif
