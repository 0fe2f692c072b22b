/*
 * serving.h - the serving twin: LLM replicas on racks, continuous batching,
 * chunked prefill, a block KV cache with preemption, a prefix cache with an
 * offload tier, disaggregated prefill/decode pools, and routers.
 *
 * Data flow: the workload produces requests (one pending arrival at a time);
 * a router picks a replica of a pool that serves the request's model; the
 * replica's engine runs iterations whose durations come from the perf model;
 * every request leaves a row (arrival, first token, finish, SLO met) that the
 * recorder may keep, and feeds per-class statistics.
 *
 * Fast-forward.  Between two boundaries at which anything changes (a request
 * joins, finishes, is preempted, or the KV cache would overflow), a decode-only
 * replica runs identical-shape iterations whose times form max(line, line) in
 * the decode context sum.  The engine schedules one event for the whole
 * stretch and sums the iteration times in closed form with integer arithmetic
 * (perf_line_sum), so per-request timestamps are identical to running every
 * iteration (naive mode, kept for tests).  An arrival at a busy replica cuts
 * the stretch at the first iteration boundary at or after it, exactly where
 * the naive mode would admit it; so does a clock change (a cap, a thermal
 * limit).  The identity covers the serving model's own decisions: a stretch
 * draws its mean power (energy exact up to the trapezoid rule), so a power
 * feedback loop (the facility's budget controller, GPU temperatures) sees
 * slightly different energy in the two modes and may set different clocks.
 */
#ifndef FS_SERVING_H
#define FS_SERVING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "hw.h"
#include "perf.h"
#include "record.h"
#include "sim.h"
#include "workload.h"

#define SRV_NAME_LEN 64

enum srv_role { SRV_ROLE_BOTH, SRV_ROLE_PREFILL, SRV_ROLE_DECODE };
enum srv_router { SRV_ROUND_ROBIN, SRV_LEAST_WORK, SRV_PREFIX_AWARE };
enum srv_preempt { SRV_RECOMPUTE, SRV_SWAP };

/* A pool: identical replicas of one model on racks of one type. */
typedef struct srv_pool_params {
	char name[SRV_NAME_LEN];
	char model[SRV_NAME_LEN];    /* llm_spec name */
	char rack[SRV_NAME_LEN];     /* rack_spec name */
	int rack_group;              /* which GPU group of the rack (0 or 1) */
	int racks;                   /* racks used by this pool */
	int replicas;                /* 0 = as many as fit on the racks' group GPUs */
	int tp, pp, ep;
	bool dp_attention;
	int role;                    /* enum srv_role */
	int router;                  /* enum srv_router */
	uint32_t max_batch_tokens;   /* token budget of one iteration */
	uint32_t max_seqs;           /* running sequences per replica */
	uint32_t chunk_tokens;       /* prefill chunk (0 = the budget) */
	uint32_t block_tokens;       /* KV block size */
	double kv_reserve;           /* share of (memory - weights) kept free, 0..1 */
	double prefix_share;         /* share of the KV capacity held by the prefix cache */
	int preemption;              /* enum srv_preempt */
	double offload_bytes;        /* per replica KV offload tier (CPU memory, storage) [B] */
	double offload_bw;           /* its bandwidth [B/s] */
} srv_pool_params;

typedef struct srv_params {
	srv_pool_params *pools;
	size_t n_pools;
	/* The site's racks in the scenario's order; pools take racks of their type
	 * in that order (pools on different GPU groups of one type share racks). */
	const rack_spec *const *racks;
	uint32_t n_racks;
	double kv_transfer_bw;       /* prefill -> decode pool link [B/s]; 0 = from the GPUs */
	double kv_transfer_latency_s;
	bool naive;                  /* one event per iteration (tests, debugging) */
	/* The windowed engine (0 = the exact sequential engine): replicas advance
	 * in parallel, in `shards` fixed groups, between barriers window_s apart;
	 * see serving.c, "Windows".  window_s must divide the control tick. */
	double window_s;
	uint32_t shards;
	double requests_fraction;    /* share of requests written to /requests */
	double tick_s;               /* control tick, for per-tick series */
} srv_params;

/* Resolved hardware of a pool (from the catalog). */
typedef struct srv_pool_hw {
	const gpu_spec *gpu;
	const llm_spec *llm;
	const rack_spec *rack;
} srv_pool_hw;

typedef struct serving serving;

/* Per-class and overall results. */
typedef struct srv_class_result {
	char name[SRV_NAME_LEN];
	uint64_t arrived, finished, slo_met, preemptions, cached_tokens;
	uint64_t input_tokens, output_tokens, goodput_tokens;
	double output_tokens_per_s, input_tokens_per_s, goodput_tokens_per_s;
	double ttft_p50_s, ttft_p90_s, ttft_p99_s, ttft_mean_s;
	double tpot_p50_s, tpot_p90_s, tpot_p99_s, tpot_mean_s;
	double e2e_p50_s, e2e_p99_s, e2e_mean_s;
	double queue_mean_s, queue_p99_s;
	uint64_t late_unfinished;    /* still waiting at the end, already past the TTFT target */
	double slo_attainment;       /* slo_met / (finished + late_unfinished) */
} srv_class_result;

typedef struct srv_result {
	srv_class_result overall;
	srv_class_result *classes;   /* [n_classes], owned by the serving object */
	size_t n_classes;
	uint64_t replicas, gpus, iterations, stretches;
	uint64_t simulated;          /* requests that arrived, warm-up included */
	/* windowed engine, when the environment sets FS_SHARD_TIMING: CPU time
	 * spent inside the shards (the parallel part), and the sum over windows
	 * of max(half of it, the window's slowest shard): the parallel part's
	 * wall time on two idle threads [s] */
	double shard_cpu_s, shard_two_s;
	uint64_t dropped;            /* arrived after warm-up, too large for any KV cache */
	uint64_t shed;               /* refused by load shedding, after warm-up */
	uint64_t deferred;           /* held while energy was expensive, after warm-up */
	double kv_occupancy_mean;    /* used / capacity blocks, time average */
	double measured_s;
	bool calibrated;             /* every pool's GPU was calibrated */
} srv_result;

/* Validate and build.  hw[i] belongs to params->pools[i].  The workload is
 * borrowed and must outlive the serving object.  sink may be NULL. */
int serving_create(sim *s, const srv_params *params, const srv_pool_hw *hw, workload *wl,
		   uint64_t seed, uint32_t replication, double warmup_s, rec_sink *sink,
		   serving **out, fs_error *err);
void serving_destroy(serving *sv);

/* Results at the current simulated time. */
void serving_result(serving *sv, srv_result *out);
int serving_result_record(const srv_result *r, rec_sink *sink, fs_error *err);

/* Replicas a pool gets: as many as its racks' group GPUs hold (or the
 * requested number, if it fits). */
int serving_pool_replicas(const srv_pool_params *p, const srv_pool_hw *hw, fs_error *err);

/* --- the power view (the facility model drives these at control ticks) -----------
 * GPU power follows P = idle + (tdp - idle) x activity x f^gamma per
 * iteration (activity 1 while compute-bound, the GPU's memory_activity while
 * memory-bound, in proportion in between); it is constant between a
 * replica's events, so energy is integrated exactly.  A decode stretch draws
 * its time-weighted mean power (trapezoid over its first and last iteration:
 * exact unless the stretch crosses the compute/memory ridge).  GPUs of a rack
 * that no replica uses draw idle power. */

/* Per-GPU power cap on a rack [W]; 0 or >= TDP = none.  The clock becomes the
 * highest that keeps a fully active GPU under the cap, f = ((cap - idle) /
 * (tdp - idle))^(1/gamma), no lower than the GPU's minimum clock; it takes
 * effect at each replica's next iteration boundary at or after now. */
void serving_set_rack_cap(serving *sv, uint32_t rack, double cap_w);
/* The highest clock factor a rack's GPU temperature allows (1 = no thermal
 * throttling); the GPUs run at the lower of this and the cap's clock. */
void serving_set_rack_thermal_clock(serving *sv, uint32_t rack, double f);
/* The clock factor f / f_max of a rack's GPUs (mean over its replicas). */
double serving_rack_clock(const serving *sv, uint32_t rack);
/* Cumulative GPU energy of every rack up to now [J] into energy[n_racks]. */
void serving_rack_energy(serving *sv, sim_time now, double *energy);
/* GPUs of a rack's GPU group that replicas use (the rest idle). */
uint32_t serving_rack_gpus_used(const serving *sv, uint32_t rack, int group);
/* Shed a class: its new requests are refused (counted) while shed is true. */
void serving_shed_class(serving *sv, uint32_t cls, bool shed);
/* Defer a class: while defer is true its new requests are held, not served;
 * when it turns false they are routed, their arrival times unchanged (so the
 * wait shows in their latencies).  Returns the requests released. */
uint64_t serving_defer_class(serving *sv, uint32_t cls, bool defer);
/* Pause a rack (its breaker tripped, or it is off): its replicas start no
 * new iteration and routers skip them; resumed when down is false. */
void serving_set_rack_down(serving *sv, uint32_t rack, bool down);
/* The lowest priority of the classes served by replicas on a rack (INT_MAX
 * when none), and the classes' count and priorities. */
int serving_rack_priority(const serving *sv, uint32_t rack);
size_t serving_class_count(const serving *sv);
int serving_class_priority(const serving *sv, uint32_t cls);
/* The share of a rack's iteration time spent compute-bound since the last
 * call (0 when idle): how much its throughput depends on the clock.  Resets. */
double serving_rack_compute_share(serving *sv, uint32_t rack);
/* Requests finished and SLO-met so far (after warm-up). */
void serving_finished_counts(const serving *sv, uint64_t *finished, uint64_t *slo_met);
/* Output tokens produced so far (all classes, warm-up included). */
uint64_t serving_tokens_out(const serving *sv);

/* --- faults (models/faults.c drives these) ---------------------------------------
 * A replica is stopped (failed) or running, and routable or out, independently
 * of the rack's power (serving_set_rack_down).  Rule: a replica is one TP x PP
 * group (expert and data-parallel attention ranks inside it share its
 * collectives), so any failed GPU, tray or NVLink path of it stops the whole
 * replica; a pool degrades by whole replicas. */
uint32_t serving_replica_count(const serving *sv);
uint32_t serving_replica_gpus(const serving *sv, uint32_t rep);
/* Where GPU i (0 <= i < gpus) of a replica sits: its rack, the rack's GPU
 * group and the GPU's index within the group. */
void serving_replica_gpu(const serving *sv, uint32_t rep, uint32_t i, uint32_t *rack, int *group,
			 uint32_t *index);
/* Stop a replica (a failure, or its part pulled): the iteration in progress
 * is lost and none starts; its GPUs draw idle power times `powered` (the share
 * of them that still has power).  stop false restarts it, with an empty
 * prefix cache.  Its requests stay where they are until evicted. */
void serving_replica_stop(serving *sv, uint32_t rep, bool stop, double powered);
/* Whether routers send it new requests (they use an out replica only when
 * every replica of the pool is out or without power). */
void serving_replica_routable(serving *sv, uint32_t rep, bool routable);
/* Hand a replica's requests back to the routers: the waiting ones, and with
 * running true also those it runs.  With kv_recovered, decoders keep their KV
 * (migrated) and continue on another replica of the pool; otherwise a request
 * starts over from its prompt and the tokens it generated are discarded.
 * Returns the requests moved.  Make the replica unroutable first. */
uint64_t serving_replica_evict(serving *sv, uint32_t rep, bool running, bool kv_recovered);
/* Requests at a replica, waiting or running. */
uint32_t serving_replica_requests(const serving *sv, uint32_t rep);
/* Output tokens generated and then discarded by evictions (all classes,
 * warm-up included). */
uint64_t serving_tokens_discarded(const serving *sv);

/* For tests: every finished request's row goes here too (NULL = off). */
typedef void (*srv_request_hook)(void *ctx, const rec_request *row);
void serving_set_request_hook(serving *sv, srv_request_hook fn, void *ctx);

#endif
