/*
 * perf.h - the iteration-time model: how long one engine iteration takes.
 *
 * One narrow function of (batch composition, replica parallelism, GPU, LLM,
 * clock factor).  It is a roofline per iteration:
 *   compute  = (dense FLOPs + attention FLOPs) / (GPUs x peak x eff_compute x clock)
 *   memory   = (weights read once + KV read) / (GPUs x bandwidth x eff_memory)
 *   comm     = TP all-reduce + EP all-to-all over NVLink or the scale-out network
 *   time     = max(compute, memory) + comm + overhead
 * With efficiencies 1 and overhead 0 (an uncalibrated GPU) it is the datasheet
 * roofline, and perf_model.calibrated says so.
 *
 * Timing the serving engine uses this in a fixed-point "line" form: for a
 * fixed batch shape, iteration time is max of two lines in the decode context
 * sum C (compute a + b C, memory c + d C) plus a constant, all in integer units
 * of 2^-16 ns.  Integer lines make the sum over a decode-only stretch exact in
 * closed form, so fast-forwarding a stretch gives the same timestamps as
 * iterating it (tests/test_serving.c checks the identity).
 */
#ifndef FS_PERF_H
#define FS_PERF_H

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"

#define PERF_FP_SHIFT 16 /* fixed-point time unit: 2^-16 ns */

typedef struct perf_model {
	const gpu_spec *gpu;
	const llm_spec *llm;
	int tp;             /* tensor parallel degree */
	int pp;             /* pipeline stages (capacity; latency is the sum of stages) */
	int ep;             /* expert parallel degree (<= tp x pp); 1 = none */
	bool dp_attention;  /* attention data-parallel across the TP group (MLA-style) */
	bool scale_out;     /* the replica spans beyond one NVLink domain */
	bool calibrated;    /* copied from the GPU */
} perf_model;

/* Batch composition of one iteration, in aggregate. */
typedef struct perf_batch {
	uint64_t prefill_tokens; /* sum of prefill chunk lengths */
	uint64_t prefill_pairs;  /* sum over chunks of n x (offset + (n + 1) / 2): attention
				  * (query, key) pairs, offset = context before the chunk */
	uint32_t prefill_seqs;   /* chunks in the batch */
	uint32_t decode_seqs;    /* sequences generating one token each */
	uint64_t decode_ctx;     /* sum of their context lengths (KV tokens read) */
} perf_batch;

typedef struct perf_result {
	double time_s;      /* the iteration */
	double compute_s, memory_s, comm_s, overhead_s;
	double flops;       /* per GPU */
	double bytes;       /* per GPU */
	double compute_bound_share; /* compute_s / max(compute_s, memory_s): activity for power */
} perf_result;

/* Set up a model; 0 or FS_ERR_INPUT with a message naming what is wrong
 * (e.g. weights that do not fit, a precision the GPU lacks). */
struct fs_error;
int perf_init(perf_model *m, const gpu_spec *gpu, const llm_spec *llm, int tp, int pp, int ep,
	      bool dp_attention, bool scale_out, struct fs_error *err);

/* The iteration time in seconds (double), clock factor f/f_max in (0, 1]. */
double perf_iteration(const perf_model *m, const perf_batch *b, double clock, perf_result *out);

/* Fixed-point line for a batch shape (decode_ctx ignored):
 * t(C) = max(ca + cb C, ma + mb C) + fixed, in 2^-16 ns. */
typedef struct perf_line {
	int64_t ca, cb, ma, mb, fixed;
} perf_line;

void perf_line_of(const perf_model *m, const perf_batch *b, double clock, perf_line *out);

static inline int64_t perf_line_eval(const perf_line *l, uint64_t ctx)
{
	int64_t c = l->ca + l->cb * (int64_t)ctx;
	int64_t mm = l->ma + l->mb * (int64_t)ctx;
	return (c > mm ? c : mm) + l->fixed;
}

/* Sum of t(C0 + D k) for k = 0 .. K-1, exactly (integer arithmetic). */
int64_t perf_line_sum(const perf_line *l, uint64_t c0, uint64_t d, uint64_t k);

/* KV-cache capacity of one replica in tokens: (memory x GPUs - weights) x
 * (1 - reserve) / KV bytes per token; <= 0 when the weights do not fit. */
double perf_kv_capacity_tokens(const perf_model *m, double reserve_share);

#endif
