/*
 * serving.c - the serving twin (see serving.h for the model and the
 * fast-forward argument).
 *
 * Layout.  Live requests sit in one slab (rq[]) recycled through a free list;
 * replicas refer to them by index through intrusive lists: a FIFO of waiting
 * requests, the running list in admission order (its tail is the preemption
 * victim), the prefill list, and a min-heap of decoders by the iteration in
 * which they finish.  Decoders are advanced lazily: a decoder's context at
 * iteration I is ctx0 + (I - join), so a stretch of K iterations costs O(1)
 * for the context sum and O(block size) for the KV block count (decoders are
 * bucketed by the phase of their context modulo the block size; the bucket
 * that crosses a block boundary at iteration I is (1 - I) mod B).
 *
 * Time.  A busy replica keeps its clock as anchor [ns] + fp [2^-16 ns]; an
 * iteration boundary fires at anchor + (fp >> 16).  The fraction of a
 * nanosecond is carried from one iteration to the next, so a stretch summed in
 * closed form and the same iterations summed one by one land on the same
 * nanosecond.  Rebasing (moving whole nanoseconds from fp into anchor) changes
 * no boundary and keeps fp small.
 *
 * Order at a boundary (the same in both modes): finish the iteration (tokens,
 * first tokens, finishes, prefill completions), allocate this iteration's KV
 * growth, join completed prefills to the decoders, preempt while the blocks
 * overflow, admit waiting requests in FIFO order, compose the batch, time it.
 *
 * Windows (serving.window > 0).  Replicas interact only through the router
 * and through the facility at the control tick, so the replicas are split
 * into `shards` fixed groups of consecutive ids (independent of the thread
 * count), each a serving object of its own over the shared replica and pool
 * arrays, with its own event engine, request slab and statistics.  The whole
 * model (the parent) keeps the arrivals, the routers and the tick.  Arrivals
 * are routed in time order on the main engine, at their arrival time, and
 * handed to their replica's shard as an event at that time (EV_ENQUEUE).
 * At every barrier (EV_WINDOW, every window, a divisor of the control tick,
 * before the tick of the same instant) the shards run in parallel (OpenMP)
 * up to the barrier, then their effects on shared state are merged in shard
 * order: work done (the least-work router's decrements), token and TTFT
 * counts of the tick, request rows, next turns of sessions, KV transfers to
 * a decode pool.  So:
 *   - what the router sees of a replica is at most one window old: its own
 *     dispatches count at once, a replica's finishes only at the next barrier;
 *   - a session's next turn, or a KV transfer, that would land inside the
 *     window in which it was produced lands at the barrier instead (its
 *     latency counts from its true arrival);
 *   - the facility runs at barriers (ticks), as in the sequential engine.
 * A shard's evolution depends only on its state at the barrier and on the
 * events handed to it, in an order fixed by the parent, and merges go in shard
 * order: results are identical for any thread count.  With round robin
 * routing and no sessions or disaggregation, every request's timestamps
 * equal the sequential engine's; sums of floating-point statistics may differ
 * in their last bits (another order of addition).
 */
#include "serving.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "rng.h"
#include "stats.h"

#define NIL UINT32_MAX
#define STRETCH_MAX 65536 /* iterations per fast-forwarded stretch */

enum { EV_ARRIVAL, EV_TURN, EV_ITER_END, EV_KV_DONE, EV_WARMUP, EV_ENQUEUE, EV_WINDOW, EV_COUNT };
/* Arrivals fire before iteration boundaries of the same nanosecond, so a
 * request arriving exactly at a boundary is admitted there in both modes. */
#define PRIO_ARRIVAL 64
#define PRIO_ITER 128
/* The barrier runs after the instant's arrivals and before its control tick. */
#define PRIO_WINDOW 200

enum { RQ_FREE, RQ_PENDING, RQ_WAITING, RQ_PREFILL, RQ_DECODE, RQ_TRANSFER };

typedef struct rq {
	wl_request w;
	sim_time first_token; /* -1: none yet */
	sim_time admitted;    /* first admission, -1: none */
	int32_t replica, prefill_replica;
	uint32_t target;      /* prefill target: input (+ generated after a recompute) */
	uint32_t done;        /* prefill tokens whose KV exists, cached included */
	uint32_t cached;
	uint32_t generated;
	uint32_t blocks;      /* blocks held, except decoders (derived from ctx) */
	uint32_t preemptions;
	uint32_t chunk;       /* prefill tokens in the iteration in flight */
	uint8_t state;
	uint8_t swapped;
	int64_t join;         /* decoders: first decode iteration */
	uint32_t ctx0;        /* context at `join` */
	int64_t finish_iter;  /* last decode iteration */
	uint32_t prev, next;  /* running list */
	uint32_t pprev, pnext; /* prefill list */
	uint32_t qnext;       /* waiting FIFO / free list */
} rq;

/* --- prefix cache: LRU over two tiers (HBM, offload) ---------------------------- */

typedef struct pc_entry {
	uint64_t id;
	uint32_t tokens;
	uint8_t tier; /* 1 HBM, 2 offload */
	uint32_t prev, next;
} pc_entry;

typedef struct pcache {
	pc_entry *e;
	uint32_t n, cap, free_head;
	uint32_t *table; /* open addressing, entry index or NIL */
	uint32_t tmask;
	uint32_t head[3], tail[3]; /* LRU per tier: head = most recent */
	double used[3], capacity[3]; /* tokens */
} pcache;

typedef struct pool pool;

typedef struct replica {
	pool *pl;
	uint32_t id;
	uint32_t rack;
	int64_t blocks_total, blocks_used;
	uint32_t *phase; /* [block] decoders per context phase */
	uint32_t wait_head, wait_tail, n_waiting;
	uint32_t run_head, run_tail, n_running;
	uint32_t pf_head, pf_tail, n_prefill;
	struct dent *dheap;
	uint32_t n_decode, dheap_cap;
	int64_t iter;     /* index of the next iteration */
	uint64_t ctx_sum; /* decoders' context sum at iteration `iter` */
	/* in flight */
	bool busy;
	bool mixed;
	sim_time anchor;
	int64_t start_fp, end_fp;
	int64_t k;
	perf_line line;
	int64_t extra_fp; /* swap/offload transfer time in the next iteration */
	double swapped_bytes; /* KV of preempted requests held in the offload tier */
	int64_t acct_k;   /* iterations of the stretch whose tokens are counted */
	sim_handle ev;
	/* router */
	double outstanding;
	pcache pc;
	uint64_t iterations, stretches;
	/* power and clock */
	uint32_t gpus;       /* tp x pp */
	double clock;        /* f / f_max of the iteration in flight */
	double clock_next;   /* min of the two below; used from the next boundary */
	double clock_cap;    /* the highest clock under the power cap */
	double clock_thermal; /* the highest clock the GPU's temperature allows */
	double f_gamma;      /* clock^gamma */
	double power_w;      /* per GPU, constant until the replica's next event */
	sim_time p_since;    /* power_w applies since */
	double energy_j;     /* all the replica's GPUs, up to p_since */
	bool down;           /* no power: starts no iteration */
	double t_compute, t_busy; /* compute-bound and total iteration time [fp units] */
	/* faults (models/faults.c): a failed replica starts no iteration; one
	 * that is out takes no new requests from the routers */
	bool failed, out;
	double powered;      /* share of its GPUs with power while failed, 0..1 */
	uint32_t shard;      /* windowed engine: the shard that runs it */
	double work_back;    /* windowed: work finished since the barrier (router) */
	bool dirty;          /* windowed: listed in its shard's dirty list */
} replica;

struct pool {
	srv_pool_params p;
	uint32_t *rack_ids; /* the racks this pool's replicas sit on, in order */
	srv_pool_hw hw;
	perf_model pm;
	uint32_t first, n; /* replicas [first, first + n) */
	uint32_t rr;
	int decode_pool;   /* prefill pools: where requests go next; -1 none */
	/* least_work: an indexed min-heap of the replicas by outstanding work
	 * (replicas without power last), ties by replica id */
	uint32_t *lw_heap;  /* local replica indices */
	double *lw_keys;    /* lw_keys[i]: the key of lw_heap[i] (sifting reads no replica) */
	uint32_t *lw_pos;   /* lw_pos[local] = position in lw_heap */
	double kv_bytes;   /* per token */
	double transfer_bw;
};

typedef struct class_stats {
	uint64_t arrived, finished, slo_met, preemptions, cached, in_tok, out_tok, good_tok;
	stats_qhist ttft, tpot, e2e, queue;
	double ttft_sum, tpot_sum, e2e_sum, queue_sum;
	uint64_t tpot_n;
} class_stats;

struct serving {
	srv_params prm;
	sim *s;
	int model;
	workload *wl;
	rec_sink *sink;
	uint64_t seed;
	uint32_t replication;
	sim_time warmup;
	pool *pools;
	size_t n_pools;
	replica *reps;
	uint32_t n_reps;
	/* the replicas of each rack: rack_reps[rack_first[k] .. rack_first[k + 1]) */
	uint32_t *rack_first, *rack_reps;
	int *class_pool; /* class -> entry pool */
	size_t n_classes;

	rq *rqs;
	uint32_t rq_cap, rq_free;

	class_stats *cs;
	class_stats all;
	srv_class_result *class_results;

	/* per-tick accounting */
	uint64_t tick_out_tok, tick_in_tok, tick_good_tok, tick_arrivals;
	stats_qhist tick_ttft;
	sim_time last_tick;
	int id_out, id_in, id_good, id_wait, id_run, id_batch, id_kv, id_ttft50, id_ttft99,
		id_arr;
	double kv_occ_integral, kv_occ_t;
	uint64_t dropped;

	uint64_t sample_threshold;
	uint64_t tokens_out, shed, deferred;
	uint64_t simulated; /* arrivals, warm-up included */
	uint64_t tokens_discarded; /* generated, then lost with a failed replica's KV */
	bool *shed_class;
	bool *defer_class;
	uint32_t hold_head, hold_tail; /* deferred requests, in arrival order */
	srv_request_hook hook;
	void *hook_ctx;

	/* windowed engine (see "Windows" above) */
	serving *parent;     /* a shard: the whole model; NULL for the whole */
	serving **shards;    /* the whole: its shards */
	uint32_t n_shards;
	sim_time window;     /* [ns]; 0 = sequential */
	struct shard_out *out; /* a shard: effects merged at the barrier */
	sim_time synced;     /* the whole: the shards have run up to here */
	bool timing;         /* the whole: FS_SHARD_TIMING is set */
	double cpu_s;        /* a shard: wall time of its last run; the whole: the shards'
			      * CPU time (timing) [s] */
	double critical_s;   /* the whole: sum over windows of max(half the shards' time,
			      * the slowest shard): their wall time on 2 idle threads [s] */
};

/* What a shard leaves for the parent at the barrier, in the order it happened. */
typedef struct turn_out {
	wl_request done;
	int32_t prefill_replica;
	uint32_t replica;
	sim_time finish;
} turn_out;

typedef struct xfer_out {
	rq q;
	sim_time at;
} xfer_out;

typedef struct shard_out {
	rq *inbox;           /* requests the parent routed here, for EV_ENQUEUE */
	size_t n_inbox, cap_inbox;
	uint32_t *dirty;     /* replicas with work_back */
	size_t n_dirty, cap_dirty;
	rec_request *rows;
	size_t n_rows, cap_rows;
	struct ttft_out { size_t idx; double v; } *ttft;
	size_t n_ttft, cap_ttft;
	turn_out *turns;
	size_t n_turns, cap_turns;
	xfer_out *xfers;
	size_t n_xfers, cap_xfers;
	bool nomem;
} shard_out;

/* Append to a growable array; on failure the shard's effect is lost and
 * marked (the run fails at the barrier). */
#define OUT_PUSH(o, arr, n, cap, val)                                              \
	do {                                                                           \
		if ((o)->n == (o)->cap) {                                              \
			size_t nc_ = (o)->cap ? 2 * (o)->cap : 256;                    \
			void *p_ = realloc((o)->arr, nc_ * sizeof *(o)->arr);          \
			if (!p_) {                                                     \
				(o)->nomem = true;                                     \
				break;                                                 \
			}                                                              \
			(o)->arr = p_;                                                 \
			(o)->cap = nc_;                                                \
		}                                                                      \
		(o)->arr[(o)->n++] = (val);                                            \
	} while (0)

/* The serving object that runs replica r's events: its shard, or sv. */
static inline serving *owner(serving *sv, const replica *r)
{
	return sv->shards ? sv->shards[r->shard] : sv;
}

/* --- small helpers ------------------------------------------------------------------ */

static inline int64_t fp_of_ns(sim_time ns)
{
	return (int64_t)ns << PERF_FP_SHIFT;
}

static inline sim_time rep_time(const replica *r, int64_t fp)
{
	return r->anchor + (fp >> PERF_FP_SHIFT);
}

/* --- GPU power -------------------------------------------------------------------- */

static inline void power_flush(replica *r, sim_time now)
{
	if (now > r->p_since) {
		r->energy_j += r->power_w * r->gpus * sim_to_s(now - r->p_since);
		r->p_since = now;
	}
}

static inline void power_set(replica *r, sim_time now, double w)
{
	power_flush(r, now);
	r->power_w = w;
}

/* Per-GPU power of a replica running no iteration: none without power, idle
 * on the GPUs that still have it when failed, else idle. */
static inline double idle_power(const replica *r)
{
	if (r->down)
		return 0;
	return r->failed ? r->pl->hw.gpu->idle_w * r->powered : r->pl->hw.gpu->idle_w;
}

/* Per-GPU power of an iteration at context sum ctx: its activity is the
 * compute-busy share of the iteration, plus memory_activity of the time it is
 * bound by memory beyond the compute. */
static double iter_power(const replica *r, const perf_line *l, uint64_t ctx, double *t_s)
{
	const gpu_spec *g = r->pl->hw.gpu;
	double c = (double)(l->ca + l->cb * (int64_t)ctx);
	double m = (double)(l->ma + l->mb * (int64_t)ctx);
	double t = (c > m ? c : m) + (double)l->fixed;
	*t_s = t;
	if (!(t > 0))
		return g->idle_w;
	double busy = c >= m ? c : c + g->memory_activity * (m - c);
	return g->idle_w + (g->tdp_w - g->idle_w) * (busy / t) * r->f_gamma;
}

static inline uint32_t blocks_for(uint64_t tokens, uint32_t b)
{
	return (uint32_t)((tokens + b - 1) / b);
}

static inline uint32_t dec_ctx(const rq *q, int64_t iter)
{
	return q->ctx0 + (uint32_t)(iter - q->join);
}

static uint32_t rq_alloc(serving *sv)
{
	if (sv->rq_free == NIL) {
		uint32_t ncap = sv->rq_cap ? sv->rq_cap * 2 : 1024;
		rq *n = realloc(sv->rqs, (size_t)ncap * sizeof *n);
		if (!n)
			return NIL;
		sv->rqs = n;
		for (uint32_t i = sv->rq_cap; i < ncap; i++) {
			n[i].state = RQ_FREE;
			n[i].qnext = i + 1 < ncap ? i + 1 : NIL;
		}
		sv->rq_free = sv->rq_cap;
		sv->rq_cap = ncap;
	}
	uint32_t i = sv->rq_free;
	sv->rq_free = sv->rqs[i].qnext;
	rq *q = &sv->rqs[i];
	memset(q, 0, sizeof *q);
	q->first_token = -1;
	q->admitted = -1;
	q->replica = q->prefill_replica = -1;
	q->prev = q->next = q->pprev = q->pnext = q->qnext = NIL;
	return i;
}

static void rq_release(serving *sv, uint32_t i)
{
	sv->rqs[i].state = RQ_FREE;
	sv->rqs[i].qnext = sv->rq_free;
	sv->rq_free = i;
}

/* --- lists ---------------------------------------------------------------------------- */

static void wait_push_back(serving *sv, replica *r, uint32_t i)
{
	sv->rqs[i].qnext = NIL;
	if (r->wait_tail == NIL)
		r->wait_head = i;
	else
		sv->rqs[r->wait_tail].qnext = i;
	r->wait_tail = i;
	r->n_waiting++;
}

static void wait_push_front(serving *sv, replica *r, uint32_t i)
{
	sv->rqs[i].qnext = r->wait_head;
	r->wait_head = i;
	if (r->wait_tail == NIL)
		r->wait_tail = i;
	r->n_waiting++;
}

static uint32_t wait_pop(serving *sv, replica *r)
{
	uint32_t i = r->wait_head;
	r->wait_head = sv->rqs[i].qnext;
	if (r->wait_head == NIL)
		r->wait_tail = NIL;
	r->n_waiting--;
	return i;
}

static void run_append(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	q->next = NIL;
	q->prev = r->run_tail;
	if (r->run_tail == NIL)
		r->run_head = i;
	else
		sv->rqs[r->run_tail].next = i;
	r->run_tail = i;
	r->n_running++;
}

static void run_remove(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	if (q->prev == NIL)
		r->run_head = q->next;
	else
		sv->rqs[q->prev].next = q->next;
	if (q->next == NIL)
		r->run_tail = q->prev;
	else
		sv->rqs[q->next].prev = q->prev;
	q->prev = q->next = NIL;
	r->n_running--;
}

static void pf_append(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	q->pnext = NIL;
	q->pprev = r->pf_tail;
	if (r->pf_tail == NIL)
		r->pf_head = i;
	else
		sv->rqs[r->pf_tail].pnext = i;
	r->pf_tail = i;
	r->n_prefill++;
}

static void pf_remove(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	if (q->pprev == NIL)
		r->pf_head = q->pnext;
	else
		sv->rqs[q->pprev].pnext = q->pnext;
	if (q->pnext == NIL)
		r->pf_tail = q->pprev;
	else
		sv->rqs[q->pnext].pprev = q->pprev;
	q->pprev = q->pnext = NIL;
	r->n_prefill--;
}

/* --- decoder heap by finish iteration (ties by request id: deterministic) ------------
 * The keys live in the heap array, so sifting never touches the request slab;
 * removal other than at the top (preemption) finds its entry by a scan. */

typedef struct dent {
	int64_t fin;  /* finish iteration */
	uint64_t id;  /* request id, for ties */
	uint32_t rq;  /* slab index */
} dent;

static inline bool dh_less(const dent *x, const dent *y)
{
	return x->fin != y->fin ? x->fin < y->fin : x->id < y->id;
}

static void dh_up(replica *r, uint32_t pos)
{
	dent e = r->dheap[pos];
	while (pos > 0) {
		uint32_t p = (pos - 1) / 2;
		if (!dh_less(&e, &r->dheap[p]))
			break;
		r->dheap[pos] = r->dheap[p];
		pos = p;
	}
	r->dheap[pos] = e;
}

static void dh_down(replica *r, uint32_t pos)
{
	dent e = r->dheap[pos];
	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= r->n_decode)
			break;
		if (c + 1 < r->n_decode && dh_less(&r->dheap[c + 1], &r->dheap[c]))
			c++;
		if (!dh_less(&r->dheap[c], &e))
			break;
		r->dheap[pos] = r->dheap[c];
		pos = c;
	}
	r->dheap[pos] = e;
}

static bool dh_push(serving *sv, replica *r, uint32_t i)
{
	if (r->n_decode == r->dheap_cap) {
		uint32_t ncap = r->dheap_cap ? 2 * r->dheap_cap : 64;
		dent *h = realloc(r->dheap, ncap * sizeof *h);
		if (!h)
			return false;
		r->dheap = h;
		r->dheap_cap = ncap;
	}
	const rq *q = &sv->rqs[i];
	r->dheap[r->n_decode] = (dent){ q->finish_iter, q->w.id, i };
	r->n_decode++;
	dh_up(r, r->n_decode - 1);
	return true;
}

static void dh_remove_at(replica *r, uint32_t pos)
{
	r->n_decode--;
	if (pos != r->n_decode) {
		r->dheap[pos] = r->dheap[r->n_decode];
		dh_down(r, pos);
		dh_up(r, pos);
	}
}

static void dh_remove(serving *sv, replica *r, uint32_t i)
{
	(void)sv;
	for (uint32_t pos = 0; pos < r->n_decode; pos++)
		if (r->dheap[pos].rq == i) {
			dh_remove_at(r, pos);
			return;
		}
	assert(!"decoder not in its replica's heap");
}

/* --- KV phase accounting ----------------------------------------------------------- */

static inline uint32_t phase_of(const rq *q, uint32_t b)
{
	int64_t v = ((int64_t)q->ctx0 - q->join) % (int64_t)b;
	return (uint32_t)(v < 0 ? v + b : v);
}

/* Blocks the decoders add at iteration I: those whose context reaches kB + 1. */
static inline uint32_t inc_at(const replica *r, int64_t iter)
{
	int64_t b = r->pl->p.block_tokens;
	int64_t idx = (1 - iter) % b;
	return r->phase[idx < 0 ? idx + b : idx];
}

/* Sum of inc_at over iterations [from, from + len). */
static uint64_t inc_sum(const replica *r, int64_t from, int64_t len)
{
	int64_t b = r->pl->p.block_tokens;
	uint64_t total = (uint64_t)(len / b) * r->n_decode;
	for (int64_t j = 0; j < len % b; j++)
		total += inc_at(r, from + j);
	return total;
}

/* Largest L <= cap with inc_sum(from, L) <= free. */
static int64_t inc_fit(const replica *r, int64_t from, int64_t cap, int64_t free_blocks)
{
	int64_t b = r->pl->p.block_tokens;
	int64_t per_cycle = r->n_decode;
	if (free_blocks < 0)
		return 0;
	int64_t cycles = per_cycle ? free_blocks / per_cycle : cap / b + 1;
	int64_t len = cycles * b;
	if (len >= cap)
		return cap;
	int64_t left = free_blocks - cycles * per_cycle;
	while (len < cap) {
		int64_t inc = inc_at(r, from + len);
		if (inc > left)
			break;
		left -= inc;
		len++;
	}
	return len;
}

/* --- prefix cache ---------------------------------------------------------------------- */

static int pc_init(pcache *c, double hbm_tokens, double off_tokens)
{
	memset(c, 0, sizeof *c);
	c->capacity[1] = hbm_tokens;
	c->capacity[2] = off_tokens;
	for (int t = 0; t < 3; t++)
		c->head[t] = c->tail[t] = NIL;
	c->free_head = NIL;
	c->tmask = 63;
	c->table = malloc(64 * sizeof *c->table);
	if (!c->table)
		return FS_ERR_NOMEM;
	for (int i = 0; i < 64; i++)
		c->table[i] = NIL;
	return FS_OK;
}

static void pc_clear(pcache *c)
{
	free(c->e);
	free(c->table);
}

static inline uint32_t pc_hash(uint64_t id, uint32_t mask)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id & mask;
}

static uint32_t pc_find(const pcache *c, uint64_t id)
{
	if (!c->n)
		return NIL;
	for (uint32_t h = pc_hash(id, c->tmask);; h = (h + 1) & c->tmask) {
		uint32_t i = c->table[h];
		if (i == NIL)
			return NIL;
		if (c->e[i].id == id)
			return i;
	}
}

static void pc_lru_unlink(pcache *c, uint32_t i)
{
	pc_entry *x = &c->e[i];
	if (x->prev == NIL)
		c->head[x->tier] = x->next;
	else
		c->e[x->prev].next = x->next;
	if (x->next == NIL)
		c->tail[x->tier] = x->prev;
	else
		c->e[x->next].prev = x->prev;
	c->used[x->tier] -= x->tokens;
}

static void pc_lru_front(pcache *c, uint32_t i, uint8_t tier)
{
	pc_entry *x = &c->e[i];
	x->tier = tier;
	x->prev = NIL;
	x->next = c->head[tier];
	if (c->head[tier] != NIL)
		c->e[c->head[tier]].prev = i;
	c->head[tier] = i;
	if (c->tail[tier] == NIL)
		c->tail[tier] = i;
	c->used[tier] += x->tokens;
}

/* Remove entry i from the table (backward-shift deletion) and free it. */
static void pc_delete(pcache *c, uint32_t i)
{
	uint32_t h = pc_hash(c->e[i].id, c->tmask);
	while (c->table[h] != i)
		h = (h + 1) & c->tmask;
	uint32_t hole = h;
	for (uint32_t j = (hole + 1) & c->tmask; c->table[j] != NIL; j = (j + 1) & c->tmask) {
		uint32_t home = pc_hash(c->e[c->table[j]].id, c->tmask);
		/* move j into the hole if its home is not between hole and j */
		if (((j - home) & c->tmask) >= ((j - hole) & c->tmask)) {
			c->table[hole] = c->table[j];
			hole = j;
		}
	}
	c->table[hole] = NIL;
	c->e[i].next = c->free_head;
	c->free_head = i;
	c->n--;
}

/* Make room in a tier: demote HBM entries to offload, drop offload entries. */
static void pc_evict(pcache *c, uint8_t tier)
{
	while (c->used[tier] > c->capacity[tier] && c->tail[tier] != NIL) {
		uint32_t v = c->tail[tier];
		pc_lru_unlink(c, v);
		if (tier == 1 && c->capacity[2] >= c->e[v].tokens) {
			pc_lru_front(c, v, 2);
			pc_evict(c, 2);
		} else {
			pc_delete(c, v);
		}
	}
}

static bool pc_grow(pcache *c)
{
	uint32_t ncap = c->cap ? 2 * c->cap : 32;
	pc_entry *e = realloc(c->e, ncap * sizeof *e);
	if (!e)
		return false;
	c->e = e;
	for (uint32_t i = c->cap; i < ncap; i++)
		e[i].next = i + 1 < ncap ? i + 1 : c->free_head;
	c->free_head = c->cap;
	c->cap = ncap;
	/* keep the table at most half full */
	if (2 * ncap > c->tmask + 1) {
		uint32_t nsize = (c->tmask + 1) * 2;
		while (nsize < 2 * ncap)
			nsize *= 2;
		uint32_t *t = malloc(nsize * sizeof *t);
		if (!t)
			return false;
		for (uint32_t i = 0; i < nsize; i++)
			t[i] = NIL;
		uint32_t mask = nsize - 1;
		for (uint32_t i = 0; i <= c->tmask; i++) {
			uint32_t x = c->table[i];
			if (x == NIL)
				continue;
			uint32_t h = pc_hash(c->e[x].id, mask);
			while (t[h] != NIL)
				h = (h + 1) & mask;
			t[h] = x;
		}
		free(c->table);
		c->table = t;
		c->tmask = mask;
	}
	return true;
}

static void pc_insert(pcache *c, uint64_t id, uint32_t tokens)
{
	if (!id || tokens == 0 || tokens > c->capacity[1])
		return;
	uint32_t i = pc_find(c, id);
	if (i != NIL) {
		pc_lru_unlink(c, i);
		if (tokens > c->e[i].tokens)
			c->e[i].tokens = tokens;
		pc_lru_front(c, i, 1);
		pc_evict(c, 1);
		return;
	}
	if (c->free_head == NIL && !pc_grow(c))
		return; /* out of memory: the cache simply does not remember it */
	i = c->free_head;
	c->free_head = c->e[i].next;
	c->e[i].id = id;
	c->e[i].tokens = tokens;
	uint32_t h = pc_hash(id, c->tmask);
	while (c->table[h] != NIL)
		h = (h + 1) & c->tmask;
	c->table[h] = i;
	c->n++;
	pc_lru_front(c, i, 1);
	pc_evict(c, 1);
}

/* Tokens of prefix id available (0 = miss); *tier 1 HBM or 2 offload. */
static uint32_t pc_lookup(const pcache *c, uint64_t id, int *tier)
{
	uint32_t i = id ? pc_find(c, id) : NIL;
	if (i == NIL) {
		*tier = 0;
		return 0;
	}
	*tier = c->e[i].tier;
	return c->e[i].tokens;
}

static void pc_touch(pcache *c, uint64_t id)
{
	uint32_t i = pc_find(c, id);
	if (i == NIL)
		return;
	pc_lru_unlink(c, i);
	pc_lru_front(c, i, 1);
	pc_evict(c, 1);
}

/* --- metrics ------------------------------------------------------------------------- */

static int cs_init(class_stats *c)
{
	memset(c, 0, sizeof *c);
	if (stats_qhist_init(&c->ttft, 1e-6, 1e6, 0.005) ||
	    stats_qhist_init(&c->tpot, 1e-6, 1e6, 0.005) ||
	    stats_qhist_init(&c->e2e, 1e-6, 1e6, 0.005) ||
	    stats_qhist_init(&c->queue, 1e-6, 1e6, 0.005))
		return FS_ERR_NOMEM;
	return FS_OK;
}

/* a += b (the windowed engine's shards into the whole) */
static int cs_merge(class_stats *a, const class_stats *b)
{
	a->arrived += b->arrived;
	a->finished += b->finished;
	a->slo_met += b->slo_met;
	a->preemptions += b->preemptions;
	a->cached += b->cached;
	a->in_tok += b->in_tok;
	a->out_tok += b->out_tok;
	a->good_tok += b->good_tok;
	a->ttft_sum += b->ttft_sum;
	a->tpot_sum += b->tpot_sum;
	a->e2e_sum += b->e2e_sum;
	a->queue_sum += b->queue_sum;
	a->tpot_n += b->tpot_n;
	if (stats_qhist_merge(&a->ttft, &b->ttft) || stats_qhist_merge(&a->tpot, &b->tpot) ||
	    stats_qhist_merge(&a->e2e, &b->e2e) || stats_qhist_merge(&a->queue, &b->queue))
		return FS_ERR_NOMEM;
	return FS_OK;
}

static void cs_clear(class_stats *c)
{
	stats_qhist_clear(&c->ttft);
	stats_qhist_clear(&c->tpot);
	stats_qhist_clear(&c->e2e);
	stats_qhist_clear(&c->queue);
}

/* One finished request's latencies, with their histogram buckets computed once
 * for the class, the overall and the per-tick histograms (same ranges). */
typedef struct lat {
	double ttft, tpot, e2e, wait;
	size_t i_ttft, i_tpot, i_e2e, i_wait;
} lat;

static void cs_add(class_stats *c, const rq *q, const lat *l, bool met)
{
	c->finished++;
	c->in_tok += q->w.input_tokens;
	c->out_tok += q->w.output_tokens;
	c->cached += q->cached;
	c->preemptions += q->preemptions;
	if (met) {
		c->slo_met++;
		c->good_tok += q->w.output_tokens;
	}
	stats_qhist_add_at(&c->ttft, l->i_ttft, l->ttft);
	stats_qhist_add_at(&c->e2e, l->i_e2e, l->e2e);
	stats_qhist_add_at(&c->queue, l->i_wait, l->wait);
	c->ttft_sum += l->ttft;
	c->e2e_sum += l->e2e;
	c->queue_sum += l->wait;
	if (!isnan(l->tpot)) {
		stats_qhist_add_at(&c->tpot, l->i_tpot, l->tpot);
		c->tpot_sum += l->tpot;
		c->tpot_n++;
	}
}

/* Keep request ids whose hash falls under the threshold: the same requests
 * are kept in every design run with the same seed. */
static bool sampled(const serving *sv, uint64_t id)
{
	uint64_t st = id ^ 0x5851f42d4c957f2dULL;
	return rng_splitmix64(&st) < sv->sample_threshold;
}

static void finish_request(serving *sv, replica *r, uint32_t i, sim_time now);
static void next_turn(serving *sv, const wl_request *done, int32_t prefill_replica, replica *r,
		      sim_time finish, sim_time now);
static inline void add_work(serving *sv, replica *r, double w);
static void lw_update(serving *sv, replica *r);

/* The work a request adds to a replica's outstanding count (least-work router):
 * its prompt where it is prefilled, its answer where it is decoded. */
static double work_of(const pool *pl, const rq *q)
{
	switch (pl->p.role) {
	case SRV_ROLE_PREFILL: return q->w.input_tokens;
	case SRV_ROLE_DECODE: return q->w.output_tokens;
	default: return (double)q->w.input_tokens + q->w.output_tokens;
	}
}
static void route(serving *sv, uint32_t i, int pool_index, sim_time now);

static void record_row(serving *sv, const rq *q, sim_time finish, bool met)
{
	rec_request row = { .id = q->w.id,
			    .cls = q->w.cls,
			    .replica = q->replica,
			    .prefill_replica = q->prefill_replica >= 0 ? q->prefill_replica
								       : q->replica,
			    .arrival_s = sim_to_s(q->w.arrival),
			    .first_token_s = q->first_token >= 0 ? sim_to_s(q->first_token) : NAN,
			    .finish_s = finish >= 0 ? sim_to_s(finish) : NAN,
			    .input_tokens = q->w.input_tokens,
			    .output_tokens = q->w.output_tokens,
			    .cached_tokens = q->cached,
			    .preemptions = q->preemptions,
			    .slo_met = met };
	if (sv->parent) {
		const serving *pa = sv->parent;
		if (pa->hook || (pa->sink && sampled(pa, q->w.id)))
			OUT_PUSH(sv->out, rows, n_rows, cap_rows, row);
		return;
	}
	if (sv->hook)
		sv->hook(sv->hook_ctx, &row);
	if (sv->sink && sampled(sv, q->w.id)) {
		fs_error err;
		rec_request_row(sv->sink, &row, &err); /* a failure is sticky in the recorder */
	}
}

/* A request that can never fit its replica's KV cache. */
static void offload_take(replica *r, double bytes);

static void drop_request(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	if (q->swapped == 1)
		offload_take(r, -(double)q->ctx0 * r->pl->kv_bytes);
	if (q->w.arrival >= sv->warmup)
		sv->dropped++;
	add_work(sv, r, -work_of(r->pl, q));
	record_row(sv, q, -1, false);
	rq_release(sv, i);
}

/* --- the engine ---------------------------------------------------------------------- */

static void schedule_next(serving *sv, replica *r);

/* Take a running request out of its replica, freeing its blocks. */
static void evict_running(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	uint32_t b = r->pl->p.block_tokens;
	if (q->state == RQ_DECODE) {
		r->blocks_used -= blocks_for(dec_ctx(q, r->iter), b);
		r->phase[phase_of(q, b)]--;
		r->ctx_sum -= dec_ctx(q, r->iter);
		dh_remove(sv, r, i);
		q->generated += (uint32_t)(r->iter - q->join);
	} else {
		r->blocks_used -= q->blocks;
		pf_remove(sv, r, i);
	}
	q->blocks = 0;
	run_remove(sv, r, i);
}

/* The offload tier holds swapped KV first; the prefix cache's share of it is
 * what swapped KV leaves free (its entries are evicted to make room). */
static void offload_take(replica *r, double bytes)
{
	r->swapped_bytes += bytes;
	double left = r->pl->p.offload_bytes - r->swapped_bytes;
	r->pc.capacity[2] = left > 0 ? left / r->pl->kv_bytes : 0;
	pc_evict(&r->pc, 2);
}

static void preempt(serving *sv, replica *r, uint32_t i)
{
	rq *q = &sv->rqs[i];
	const pool *pl = r->pl;
	bool was_decoder = q->state == RQ_DECODE;
	uint32_t ctx = was_decoder ? dec_ctx(q, r->iter) : q->done;
	evict_running(sv, r, i);
	q->preemptions++;
	double bytes = ctx * pl->kv_bytes;
	if (pl->p.preemption == SRV_SWAP && was_decoder && pl->p.offload_bw > 0 &&
	    r->swapped_bytes + bytes <= pl->p.offload_bytes) {
		q->swapped = 1;
		q->ctx0 = ctx;
		offload_take(r, bytes);
		r->extra_fp += llround(bytes / pl->p.offload_bw * 1e9 * 65536.0);
	} else {
		/* recompute: the whole context becomes a prompt again */
		q->swapped = 0;
		q->target = q->w.input_tokens + q->generated;
		q->done = 0;
	}
	q->state = RQ_WAITING;
	wait_push_front(sv, r, i);
}

/* A request enters the decoders at iteration r->iter holding the KV of its
 * whole context (input + generated).  When the boundary's growth (inc_at) is
 * still to be allocated, a context of kB + 1 tokens will get its last block
 * from there, so it is not allocated twice. */
static void join_decoders(serving *sv, replica *r, uint32_t i, bool growth_pending)
{
	rq *q = &sv->rqs[i];
	uint32_t b = r->pl->p.block_tokens;
	q->state = RQ_DECODE;
	q->join = r->iter;
	q->ctx0 = q->w.input_tokens + q->generated;
	q->finish_iter = r->iter + (q->w.output_tokens - q->generated) - 1;
	uint32_t need = blocks_for(q->ctx0, b);
	if (growth_pending && q->ctx0 % b == 1 % b)
		need--;
	r->blocks_used += (int64_t)need - q->blocks;
	q->blocks = 0;
	r->phase[phase_of(q, b)]++;
	r->ctx_sum += q->ctx0;
	if (!dh_push(sv, r, i)) {
		/* out of memory for the heap: keep the request out rather than crash */
		r->phase[phase_of(q, b)]--;
		r->ctx_sum -= q->ctx0;
		r->blocks_used -= need;
		run_remove(sv, r, i);
		drop_request(sv, r, i);
		return;
	}
}

static void admit(serving *sv, replica *r, uint32_t i, sim_time now)
{
	rq *q = &sv->rqs[i];
	const pool *pl = r->pl;
	uint32_t b = pl->p.block_tokens;
	if (q->admitted < 0)
		q->admitted = now;
	run_append(sv, r, i);
	if (q->swapped) {
		/* 1: its KV was swapped out to the offload tier and is read back;
		 * 2: it arrived from a prefill pool with its KV */
		if (q->swapped == 1) {
			r->extra_fp +=
				llround(q->ctx0 * pl->kv_bytes / pl->p.offload_bw * 1e9 * 65536.0);
			offload_take(r, -(double)q->ctx0 * pl->kv_bytes);
		}
		q->swapped = 0;
		q->blocks = 0;
		join_decoders(sv, r, i, false);
		return;
	}
	q->state = RQ_PREFILL;
	q->blocks = blocks_for(q->target, b);
	r->blocks_used += q->blocks;
	q->done = 0;
	/* prefix cache: skip the prefill of a cached prefix; keep >= 1 token to compute */
	int tier = 0;
	uint32_t hit = pc_lookup(&r->pc, q->w.prefix_id, &tier);
	if (hit) {
		uint32_t use = hit < q->w.prefix_tokens ? hit : q->w.prefix_tokens;
		if (use >= q->target)
			use = q->target - 1;
		q->done = use;
		if (q->preemptions == 0)
			q->cached = use;
		if (tier == 2 && pl->p.offload_bw > 0)
			r->extra_fp += llround(use * pl->kv_bytes / pl->p.offload_bw * 1e9 * 65536.0);
		pc_touch(&r->pc, q->w.prefix_id);
	}
	pf_append(sv, r, i);
}

/* Iterations of the stretch in flight completed by time t (boundary <= t). */
static int64_t iters_done_by(const replica *r, sim_time t)
{
	if (!r->busy)
		return 0;
	if (r->k == 1)
		return rep_time(r, r->end_fp) <= t;
	int64_t lo = 0, hi = r->k; /* invariant: boundary(lo) <= t (lo = 0 trivially) */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		int64_t fp = r->start_fp + perf_line_sum(&r->line, r->ctx_sum, r->n_decode, mid);
		if (rep_time(r, fp) <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Count the decode tokens of the stretch in flight up to k iterations. */
static void account_tokens(serving *sv, replica *r, int64_t k)
{
	if (k > r->acct_k) {
		sv->tick_out_tok += (uint64_t)(k - r->acct_k) * r->n_decode;
		sv->tokens_out += (uint64_t)(k - r->acct_k) * r->n_decode;
		r->acct_k = k;
	}
}

static void on_iter_end(sim *s, void *ctx, const sim_event *ev)
{
	serving *sv = ctx;
	replica *r = &sv->reps[ev->lp];
	const pool *pl = r->pl;
	uint32_t b = pl->p.block_tokens;
	sim_time now = ev->time;
	(void)s;
	/* the request that finishes first is read below, after the bookkeeping:
	 * start loading it now (a cache miss on most boundaries) */
	if (r->n_decode > 0)
		__builtin_prefetch(&sv->rqs[r->dheap[0].rq]);

	int64_t k = r->k;
	account_tokens(sv, r, k);
	r->acct_k = 0;
	r->iterations += (uint64_t)k;
	r->stretches++;
	/* KV growth of iterations iter+1 .. iter+k-1 (that of `iter` was allocated at
	 * the boundary before it) */
	if (k > 1)
		r->blocks_used += (int64_t)inc_sum(r, r->iter + 1, k - 1);
	r->ctx_sum += (uint64_t)r->n_decode * (uint64_t)k;
	r->iter += k;

	/* rebase: whole nanoseconds into the anchor */
	int64_t whole = r->end_fp >> PERF_FP_SHIFT;
	r->anchor += whole;
	r->end_fp -= whole << PERF_FP_SHIFT;
	r->start_fp = r->end_fp;
	r->busy = false;

	/* finished decoders: every one with finish_iter < iter */
	while (r->n_decode > 0 && r->dheap[0].fin < r->iter) {
		uint32_t i = r->dheap[0].rq;
		rq *q = &sv->rqs[i];
		assert(q->finish_iter == r->iter - 1);
		q->generated = q->w.output_tokens;
		r->blocks_used -= blocks_for(dec_ctx(q, r->iter - 1), b);
		r->phase[phase_of(q, b)]--;
		r->ctx_sum -= dec_ctx(q, r->iter);
		dh_remove_at(r, 0);
		run_remove(sv, r, i);
		finish_request(sv, r, i, now);
	}

	/* prefill chunks of a mixed iteration */
	if (r->mixed) {
		uint32_t i = r->pf_head;
		while (i != NIL) {
			rq *q = &sv->rqs[i];
			uint32_t nx = q->pnext;
			if (q->chunk) {
				q->done += q->chunk;
				sv->tick_in_tok += q->chunk;
				q->chunk = 0;
				if (q->done >= q->target) {
					pf_remove(sv, r, i);
					q->generated++;
					if (q->first_token < 0)
						q->first_token = now;
					sv->tick_out_tok++;
					sv->tokens_out++;
					if (q->w.prefix_id)
						pc_insert(&r->pc, q->w.prefix_id, q->w.prefix_tokens);
					if (q->generated >= q->w.output_tokens) {
						r->blocks_used -= q->blocks;
						q->blocks = 0;
						run_remove(sv, r, i);
						finish_request(sv, r, i, now);
					} else if (pl->p.role == SRV_ROLE_PREFILL) {
						r->blocks_used -= q->blocks;
						q->blocks = 0;
						run_remove(sv, r, i);
						add_work(sv, r, -work_of(pl, q));
						q->state = RQ_TRANSFER;
						double bytes = (double)(q->target + q->generated) * pl->kv_bytes;
						double t = sv->prm.kv_transfer_latency_s + bytes / pl->transfer_bw;
						if (sv->parent) {
							/* routed by the parent at the barrier */
							xfer_out x = { *q, now + sim_from_s(t) };
							OUT_PUSH(sv->out, xfers, n_xfers, cap_xfers, x);
							rq_release(sv, i);
						} else {
							sim_event e = { .time = now + sim_from_s(t),
									.model = (uint16_t)sv->model,
									.kind = EV_KV_DONE,
									.prio = PRIO_ARRIVAL, .u = i };
							sim_post(sv->s, &e);
						}
					} else {
						join_decoders(sv, r, i, true);
					}
				}
			}
			i = nx;
		}
	}
	schedule_next(sv, r);
}

static void schedule_next(serving *sv, replica *r)
{
	const pool *pl = r->pl;
	uint32_t b = pl->p.block_tokens;
	sim_time now = rep_time(r, r->end_fp);

	/* this iteration's KV growth (joiners of this boundary included, see
	 * join_decoders); then preempt the latest admitted while it overflows */
	r->blocks_used += inc_at(r, r->iter);
	while (r->blocks_used > r->blocks_total && r->run_tail != NIL)
		preempt(sv, r, r->run_tail);

	/* admission, FIFO with head-of-line blocking */
	while (r->wait_head != NIL && r->n_running < pl->p.max_seqs) {
		rq *q = &sv->rqs[r->wait_head];
		uint32_t need = q->swapped ? blocks_for(q->ctx0, b) : blocks_for(q->target, b);
		if ((int64_t)need > r->blocks_total) {
			uint32_t i = wait_pop(sv, r);
			drop_request(sv, r, i);
			continue;
		}
		if (r->blocks_used + need > r->blocks_total)
			break;
		admit(sv, r, wait_pop(sv, r), now);
	}

	/* compose */
	perf_batch batch = { .decode_seqs = r->n_decode, .decode_ctx = r->ctx_sum };
	uint64_t budget = pl->p.max_batch_tokens > r->n_decode ? pl->p.max_batch_tokens - r->n_decode
								 : 0;
	uint32_t chunk_cap = pl->p.chunk_tokens ? pl->p.chunk_tokens : pl->p.max_batch_tokens;
	for (uint32_t i = r->pf_head; i != NIL && budget > 0; i = sv->rqs[i].pnext) {
		rq *q = &sv->rqs[i];
		uint64_t c = q->target - q->done;
		if (c > chunk_cap)
			c = chunk_cap;
		if (c > budget)
			c = budget;
		q->chunk = (uint32_t)c;
		budget -= c;
		batch.prefill_tokens += c;
		batch.prefill_pairs += c * q->done + c * (c + 1) / 2;
		batch.prefill_seqs++;
	}
	if (r->clock_next != r->clock) {
		r->clock = r->clock_next;
		r->f_gamma = pow(r->clock, pl->hw.gpu->power_gamma);
	}
	if (r->down || r->failed || (batch.prefill_seqs == 0 && batch.decode_seqs == 0)) {
		/* idle until the next arrival (or until power returns) */
		for (uint32_t i = r->pf_head; i != NIL; i = sv->rqs[i].pnext)
			sv->rqs[i].chunk = 0;
		power_set(r, now, idle_power(r));
		r->busy = false;
		return;
	}
	r->busy = true;
	r->mixed = batch.prefill_seqs > 0;
	perf_line_of(&pl->pm, &batch, r->clock, &r->line);
	int64_t k = 1;
	if (!r->mixed && !sv->prm.naive && r->extra_fp == 0) {
		k = r->dheap[0].fin - r->iter + 1;
		if (k > STRETCH_MAX)
			k = STRETCH_MAX;
		/* iterations after this one whose KV growth still fits */
		int64_t fit = inc_fit(r, r->iter + 1, k - 1, r->blocks_total - r->blocks_used);
		k = 1 + fit;
	}
	r->k = k;
	r->acct_k = 0;
	r->start_fp = r->end_fp;
	int64_t dur = k == 1 ? perf_line_eval(&r->line, r->ctx_sum)
			     : perf_line_sum(&r->line, r->ctx_sum, r->n_decode, (uint64_t)k);
	r->end_fp = r->start_fp + dur + r->extra_fp;
	/* how clock-sensitive this replica's work is: the time its iterations
	 * spend compute-bound (which stretches as 1/f) against all their time */
	{
		int64_t c = r->line.ca + r->line.cb * (int64_t)r->ctx_sum;
		int64_t mm = r->line.ma + r->line.mb * (int64_t)r->ctx_sum;
		double one = (double)((c > mm ? c : mm) + r->line.fixed);
		if (c > mm)
			r->t_compute += (double)k * (double)c;
		r->t_busy += (double)k * one;
	}
	/* the power of the iteration, or the mean of the stretch (trapezoid) */
	double t1, t2;
	double p1 = iter_power(r, &r->line, r->ctx_sum, &t1);
	double w = p1;
	if (k > 1) {
		double p2 = iter_power(r, &r->line, r->ctx_sum + (uint64_t)r->n_decode * (k - 1), &t2);
		double e = 0.5 * (double)k * (p1 * t1 + p2 * t2);
		double tt = 0.5 * (double)k * (t1 + t2);
		w = tt > 0 ? e / tt : p1;
	}
	if (r->extra_fp > 0) /* waiting on a KV transfer: memory-bound at best */
		w = (w * (double)dur + pl->hw.gpu->idle_w * (double)r->extra_fp) /
		    (double)(dur + r->extra_fp);
	power_set(r, now, w);
	r->extra_fp = 0;
	sim_event e = { .time = rep_time(r, r->end_fp), .lp = r->id, .model = (uint16_t)sv->model,
			.kind = EV_ITER_END, .prio = PRIO_ITER };
	r->ev = sim_post(sv->s, &e);
}

static void cut_at(serving *sv, replica *r, sim_time now);

/* A request reaches a replica's queue (arrival, or a KV transfer landing). */
static void enqueue(serving *sv, replica *r, uint32_t i, sim_time now)
{
	rq *q = &sv->rqs[i];
	q->state = RQ_WAITING;
	wait_push_back(sv, r, i);
	if (!r->busy) {
		if (!r->down && !r->failed) {
			r->anchor = now;
			r->end_fp = 0;
			schedule_next(sv, r);
		}
		return;
	}
	/* cut a decode stretch at the first boundary at or after now -- unless the
	 * replica runs max_seqs requests, which no boundary inside a decode-only
	 * stretch can change (nothing finishes before its end) */
	if (r->n_running < r->pl->p.max_seqs)
		cut_at(sv, r, now);
}

/* End the decode stretch in flight at its first boundary at or after now, so
 * that what changed at now (an arrival, a clock) applies from there, exactly
 * where a per-iteration run would apply it. */
static void cut_at(serving *sv, replica *r, sim_time now)
{
	if (r->busy && r->k > 1) {
		int64_t done = iters_done_by(r, now);
		int64_t cut = done + 1;
		/* a boundary exactly at now already counts as admitted-at-now */
		if (done >= 1) {
			int64_t fp = r->start_fp + perf_line_sum(&r->line, r->ctx_sum, r->n_decode, done);
			if (rep_time(r, fp) == now)
				cut = done;
		}
		if (cut < r->k) {
			sim_cancel(sv->s, r->ev);
			r->k = cut;
			r->end_fp = r->start_fp +
				    perf_line_sum(&r->line, r->ctx_sum, r->n_decode, (uint64_t)cut);
			sim_event e = { .time = rep_time(r, r->end_fp), .lp = r->id,
					.model = (uint16_t)sv->model, .kind = EV_ITER_END,
					.prio = PRIO_ITER };
			r->ev = sim_post(sv->s, &e);
		}
	}
}

static inline double lw_key(const replica *r)
{
	return r->outstanding + (r->down || r->out ? 1e300 : 0);
}

/* heap positions i and j: by key, ties by replica */
static inline bool lw_less(const pool *pl, uint32_t i, uint32_t j)
{
	double ka = pl->lw_keys[i], kb = pl->lw_keys[j];
	return ka != kb ? ka < kb : pl->lw_heap[i] < pl->lw_heap[j];
}

static void lw_swap(pool *pl, uint32_t i, uint32_t j)
{
	uint32_t a = pl->lw_heap[i], b = pl->lw_heap[j];
	double ka = pl->lw_keys[i];
	pl->lw_heap[i] = b;
	pl->lw_heap[j] = a;
	pl->lw_keys[i] = pl->lw_keys[j];
	pl->lw_keys[j] = ka;
	pl->lw_pos[b] = i;
	pl->lw_pos[a] = j;
}

/* Restore the heap after replica r's key changed. */
static void lw_update(serving *sv, replica *r)
{
	pool *pl = r->pl;
	(void)sv;
	if (!pl->lw_heap)
		return;
	uint32_t i = pl->lw_pos[r->id - pl->first];
	pl->lw_keys[i] = lw_key(r);
	while (i > 0 && lw_less(pl, i, (i - 1) / 2)) {
		lw_swap(pl, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t c = 2 * i + 1, best = i;
		if (c < pl->n && lw_less(pl, c, best))
			best = c;
		if (c + 1 < pl->n && lw_less(pl, c + 1, best))
			best = c + 1;
		if (best == i)
			break;
		lw_swap(pl, i, best);
		i = best;
	}
}

/* Change a replica's outstanding work, keeping its pool's router heap. */
static inline void add_work(serving *sv, replica *r, double w)
{
	if (sv->parent) {
		/* the router learns of it at the barrier */
		r->work_back += w;
		if (!r->dirty) {
			r->dirty = true;
			OUT_PUSH(sv->out, dirty, n_dirty, cap_dirty, r->id);
		}
		return;
	}
	r->outstanding += w;
	lw_update(sv, r);
}

static replica *pick(serving *sv, pool *pl, const rq *q)
{
	replica *best = NULL;
	switch (pl->p.router) {
	case SRV_ROUND_ROBIN:
		/* the next replica with power, if any has */
		for (uint32_t tries = 0; tries < pl->n; tries++) {
			best = &sv->reps[pl->first + pl->rr];
			pl->rr = (pl->rr + 1) % pl->n;
			if (!best->down && !best->out)
				break;
		}
		return best;
	case SRV_PREFIX_AWARE: {
		/* least outstanding work, crediting the prefill a cache hit saves */
		double best_score = INFINITY;
		for (uint32_t j = 0; j < pl->n; j++) {
			replica *r = &sv->reps[pl->first + j];
			int tier;
			uint32_t hit = pc_lookup(&r->pc, q->w.prefix_id, &tier);
			if (hit > q->w.prefix_tokens)
				hit = q->w.prefix_tokens;
			double score = r->outstanding - 2.0 * hit + (r->down || r->out ? 1e300 : 0);
			if (score < best_score) {
				best_score = score;
				best = r;
			}
		}
		return best;
	}
	default:
		return &sv->reps[pl->first + pl->lw_heap[0]];
	}
}

static void route(serving *sv, uint32_t i, int pool_index, sim_time now)
{
	pool *pl = &sv->pools[pool_index];
	rq *q = &sv->rqs[i];
	replica *r = pick(sv, pl, q);
	q->replica = (int32_t)r->id;
	if (pl->p.role == SRV_ROLE_PREFILL)
		q->prefill_replica = (int32_t)r->id;
	add_work(sv, r, work_of(pl, q));
	if (sv->shards) {
		/* the request moves to its replica's shard, arriving there at now;
		 * it waits in the shard's inbox (a short array the parent fills in
		 * order) until the shard takes it into its own slab */
		serving *sh = sv->shards[r->shard];
		shard_out *o = sh->out;
		OUT_PUSH(o, inbox, n_inbox, cap_inbox, *q);
		rq_release(sv, i);
		if (o->nomem) {
			sim_stop(sv->s);
			return;
		}
		sim_event e = { .time = now, .lp = r->id, .model = (uint16_t)sh->model,
				.kind = EV_ENQUEUE, .prio = PRIO_ARRIVAL, .u = o->n_inbox - 1 };
		sim_post(sh->s, &e);
		return;
	}
	enqueue(sv, r, i, now);
}

static void finish_request(serving *sv, replica *r, uint32_t i, sim_time now)
{
	rq *q = &sv->rqs[i];
	const wl_class_params *c = workload_class(sv->wl, q->w.cls);
	add_work(sv, r, -work_of(r->pl, q));
	lat l;
	l.ttft = sim_to_s(q->first_token - q->w.arrival);
	l.e2e = sim_to_s(now - q->w.arrival);
	l.tpot = q->w.output_tokens > 1
			 ? sim_to_s(now - q->first_token) / (q->w.output_tokens - 1)
			 : NAN;
	l.wait = sim_to_s(q->admitted - q->w.arrival);
	bool met = (!(c->slo_ttft_s > 0) || l.ttft <= c->slo_ttft_s) &&
		   (!(c->slo_tpot_s > 0) || isnan(l.tpot) || l.tpot <= c->slo_tpot_s);
	if (q->w.arrival >= sv->warmup) {
		const stats_qhist *h = &sv->all.ttft; /* all four share its range */
		l.i_ttft = stats_qhist_index(h, l.ttft);
		l.i_e2e = stats_qhist_index(h, l.e2e);
		l.i_wait = stats_qhist_index(h, l.wait);
		l.i_tpot = isnan(l.tpot) ? 0 : stats_qhist_index(h, l.tpot);
		cs_add(&sv->cs[q->w.cls], q, &l, met);
		if (!sv->parent) /* a shard's overall is the sum of its classes */
			cs_add(&sv->all, q, &l, met);
		if (sv->parent) {
			struct ttft_out t = { l.i_ttft, l.ttft };
			OUT_PUSH(sv->out, ttft, n_ttft, cap_ttft, t);
		} else {
			stats_qhist_add_at(&sv->tick_ttft, l.i_ttft, l.ttft);
		}
		if (met)
			sv->tick_good_tok += q->w.output_tokens;
	}
	record_row(sv, q, now, met);
	if (q->w.session) {
		if (sv->parent) {
			/* the workload's session streams belong to the parent */
			turn_out t = { q->w, q->prefill_replica, r->id, now };
			OUT_PUSH(sv->out, turns, n_turns, cap_turns, t);
		} else {
			next_turn(sv, &q->w, q->prefill_replica, r, now, now);
		}
	}
	rq_release(sv, i);
}

/* The next turn of a session arrives after a think time; its prefix (this
 * turn's context) is now in the cache of the replica that served it.  The
 * windowed engine calls this at the barrier (now), after the finish. */
static void next_turn(serving *sv, const wl_request *done, int32_t prefill_replica, replica *r,
		      sim_time finish, sim_time now)
{
	wl_request next;
	if (workload_next_turn(sv->wl, done, finish, &next) != 1)
		return;
	/* the context is cached where the next turn will be prefilled: here,
	 * or on the prefill replica of a disaggregated pair (which holds the
	 * prompt's KV, not the answer's) */
	if (prefill_replica >= 0 && prefill_replica != (int32_t)r->id) {
		uint32_t t = next.prefix_tokens < done->input_tokens ? next.prefix_tokens
								     : done->input_tokens;
		pc_insert(&sv->reps[prefill_replica].pc, next.prefix_id, t);
	} else {
		pc_insert(&r->pc, next.prefix_id, next.prefix_tokens);
	}
	uint32_t j = rq_alloc(sv);
	if (j != NIL) {
		sv->rqs[j].w = next;
		sv->rqs[j].target = next.input_tokens;
		sv->rqs[j].state = RQ_PENDING;
		sim_event e = { .time = next.arrival > now ? next.arrival : now,
				.model = (uint16_t)sv->model, .kind = EV_TURN, .prio = PRIO_ARRIVAL,
				.u = j };
		sim_post(sv->s, &e);
	}
}

static void arrive(serving *sv, uint32_t i, sim_time now)
{
	rq *q = &sv->rqs[i];
	sv->simulated++;
	if (sv->defer_class[q->w.cls]) {
		/* held until energy is cheaper; it counts as arrived now */
		if (q->w.arrival >= sv->warmup)
			sv->deferred++;
		q->qnext = NIL;
		if (sv->hold_tail == NIL)
			sv->hold_head = i;
		else
			sv->rqs[sv->hold_tail].qnext = i;
		sv->hold_tail = i;
		q->state = RQ_WAITING;
		if (q->w.arrival >= sv->warmup) {
			sv->cs[q->w.cls].arrived++;
			sv->all.arrived++;
		}
		sv->tick_arrivals++;
		return;
	}
	if (sv->shed_class[q->w.cls]) {
		/* refused at the door: counted, and a session ends here */
		if (q->w.arrival >= sv->warmup)
			sv->shed++;
		rq_release(sv, i);
		return;
	}
	if (q->w.arrival >= sv->warmup) {
		sv->cs[q->w.cls].arrived++;
		sv->all.arrived++;
	}
	sv->tick_arrivals++;
	route(sv, i, sv->class_pool[q->w.cls], now);
}

static void next_arrival(serving *sv)
{
	wl_request w;
	if (workload_next(sv->wl, &w) != 0)
		return;
	uint32_t i = rq_alloc(sv);
	if (i == NIL) {
		sim_stop(sv->s);
		return;
	}
	sv->rqs[i].w = w;
	sv->rqs[i].target = w.input_tokens;
	sv->rqs[i].state = RQ_PENDING;
	sim_event e = { .time = w.arrival, .model = (uint16_t)sv->model, .kind = EV_ARRIVAL,
			.prio = PRIO_ARRIVAL, .u = i };
	sim_post(sv->s, &e);
}

static void on_arrival(sim *s, void *ctx, const sim_event *ev)
{
	serving *sv = ctx;
	(void)s;
	arrive(sv, (uint32_t)ev->u, ev->time);
	next_arrival(sv);
}

static void on_turn(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	arrive(ctx, (uint32_t)ev->u, ev->time);
}

static void on_kv_done(sim *s, void *ctx, const sim_event *ev)
{
	serving *sv = ctx;
	(void)s;
	uint32_t i = (uint32_t)ev->u;
	rq *q = &sv->rqs[i];
	const pool *pl = sv->reps[q->prefill_replica].pl;
	/* it arrives with its KV and joins the decoders without a prefill */
	q->swapped = 2;
	q->ctx0 = q->w.input_tokens + q->generated;
	route(sv, i, pl->decode_pool, ev->time);
}

static void on_warmup(sim *s, void *ctx, const sim_event *ev)
{
	serving *sv = ctx;
	(void)s;
	(void)ev;
	sv->kv_occ_integral = 0;
	sv->kv_occ_t = sim_to_s(ev->time);
}

static void on_tick(sim *s, void *ctx, sim_time now)
{
	serving *sv = ctx;
	(void)s;
	double dt = sim_to_s(now - sv->last_tick);
	uint64_t waiting = 0, running = 0, decoders = 0;
	int64_t used = 0, total = 0;
	for (uint32_t j = 0; j < sv->n_reps; j++) {
		replica *r = &sv->reps[j];
		used += r->blocks_used;
		if (r->busy && r->k > 1) {
			int64_t done = iters_done_by(r, now);
			account_tokens(sv, r, done);
			/* the growth a per-iteration run would have allocated by now: up to
			 * the iteration in progress (the stretch books it at its end) */
			if (done > r->k - 1)
				done = r->k - 1;
			used += (int64_t)inc_sum(r, r->iter + 1, done);
		}
		waiting += r->n_waiting;
		running += r->n_running;
		decoders += r->n_decode;
		total += r->blocks_total;
	}
	double occ = total > 0 ? (double)used / (double)total : 0;
	double t = sim_to_s(now);
	if (now >= sv->warmup) {
		sv->kv_occ_integral += occ * (t - sv->kv_occ_t);
		sv->kv_occ_t = t;
	}
	rec_sink *k = sv->sink;
	if (dt > 0) {
		rec_set(k, sv->id_out, 0, (double)sv->tick_out_tok / dt);
		rec_set(k, sv->id_in, 0, (double)sv->tick_in_tok / dt);
		rec_set(k, sv->id_good, 0, (double)sv->tick_good_tok / dt);
		rec_set(k, sv->id_arr, 0, (double)sv->tick_arrivals / dt);
	}
	rec_set(k, sv->id_wait, 0, (double)waiting);
	rec_set(k, sv->id_run, 0, (double)running);
	rec_set(k, sv->id_batch, 0, sv->n_reps ? (double)decoders / sv->n_reps : 0);
	rec_set(k, sv->id_kv, 0, occ);
	rec_set(k, sv->id_ttft50, 0, stats_qhist_quantile(&sv->tick_ttft, 0.5));
	rec_set(k, sv->id_ttft99, 0, stats_qhist_quantile(&sv->tick_ttft, 0.99));
	stats_qhist_reset(&sv->tick_ttft);
	sv->tick_out_tok = sv->tick_in_tok = sv->tick_good_tok = sv->tick_arrivals = 0;
	sv->last_tick = now;
}

/* --- the windowed engine's barrier ------------------------------------------------------ */

/* A request routed to this shard arrives at its replica. */
static void on_enqueue(sim *s, void *ctx, const sim_event *ev)
{
	serving *sh = ctx;
	uint32_t j = rq_alloc(sh);
	if (j == NIL) {
		sim_stop(s);
		return;
	}
	rq *q = &sh->rqs[j];
	*q = sh->out->inbox[ev->u];
	q->prev = q->next = q->pprev = q->pnext = q->qnext = NIL;
	enqueue(sh, &sh->reps[ev->lp], j, ev->time);
}

/* Merge what the shards did up to the barrier `now`, in shard order. */
static void shards_merge(serving *sv, sim_time now)
{
	for (uint32_t g = 0; g < sv->n_shards; g++) {
		serving *sh = sv->shards[g];
		shard_out *o = sh->out;
		if (o->nomem) {
			sim_stop(sv->s); /* an effect was lost: the run cannot go on exactly */
			o->nomem = false;
		}
		for (size_t d = 0; d < o->n_dirty; d++) {
			replica *r = &sv->reps[o->dirty[d]];
			double w = r->work_back;
			r->work_back = 0;
			r->dirty = false;
			if (w != 0) {
				r->outstanding += w;
				lw_update(sv, r);
			}
		}
		sv->tick_out_tok += sh->tick_out_tok;
		sv->tick_in_tok += sh->tick_in_tok;
		sv->tick_good_tok += sh->tick_good_tok;
		sv->tokens_out += sh->tokens_out;
		sv->dropped += sh->dropped;
		sh->tick_out_tok = sh->tick_in_tok = sh->tick_good_tok = sh->tokens_out = 0;
		sh->dropped = 0;
		for (size_t k = 0; k < o->n_ttft; k++)
			stats_qhist_add_at(&sv->tick_ttft, o->ttft[k].idx, o->ttft[k].v);
		for (size_t k = 0; k < o->n_rows; k++) {
			const rec_request *row = &o->rows[k];
			if (sv->hook)
				sv->hook(sv->hook_ctx, row);
			if (sv->sink && sampled(sv, row->id)) {
				fs_error err;
				rec_request_row(sv->sink, row, &err); /* sticky in the recorder */
			}
		}
		for (size_t k = 0; k < o->n_turns; k++) {
			const turn_out *t = &o->turns[k];
			next_turn(sv, &t->done, t->prefill_replica, &sv->reps[t->replica], t->finish,
				  now);
		}
		for (size_t k = 0; k < o->n_xfers; k++) {
			uint32_t j = rq_alloc(sv);
			if (j == NIL) {
				sim_stop(sv->s);
				break;
			}
			sv->rqs[j] = o->xfers[k].q;
			sim_time at = o->xfers[k].at > now ? o->xfers[k].at : now;
			sim_event e = { .time = at, .model = (uint16_t)sv->model, .kind = EV_KV_DONE,
					.prio = PRIO_ARRIVAL, .u = j };
			sim_post(sv->s, &e);
		}
		o->n_dirty = o->n_rows = o->n_ttft = o->n_turns = o->n_xfers = 0;
	}
}

/* Run every shard up to t (in parallel) and merge. */
static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void shards_run(serving *sv, sim_time t)
{
	int failed = 0;
	int n = (int)sv->n_shards;
	bool timing = sv->timing;
	double cpu = 0;
	/* timing: each thread's CPU time over the region (a system call per
	 * thread and window), split among its shards by their wall time (a
	 * cheap clock per shard) */
#pragma omp parallel if (n > 1) reduction(| : failed) reduction(+ : cpu)
	{
		double c0 = timing ? clock_s(CLOCK_THREAD_CPUTIME_ID) : 0;
#pragma omp for schedule(dynamic, 1) nowait
		for (int g = 0; g < n; g++) {
			fs_error e;
			double w0 = timing ? clock_s(CLOCK_MONOTONIC) : 0;
			if (sim_run(sv->shards[g]->s, t, &e))
				failed = 1;
			if (timing)
				sv->shards[g]->cpu_s = clock_s(CLOCK_MONOTONIC) - w0;
		}
		if (timing)
			cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	if (timing) {
		double worst = 0, wall = 0;
		for (int g = 0; g < n; g++) {
			wall += sv->shards[g]->cpu_s;
			if (sv->shards[g]->cpu_s > worst)
				worst = sv->shards[g]->cpu_s;
		}
		worst = wall > 0 ? worst * cpu / wall : 0; /* the slowest shard in CPU time */
		sv->cpu_s += cpu;
		sv->critical_s += cpu / 2 > worst ? cpu / 2 : worst;
	}
	if (failed)
		sim_stop(sv->s);
	/* every request routed before the barrier has reached its shard */
	for (uint32_t g = 0; g < sv->n_shards; g++)
		sv->shards[g]->out->n_inbox = 0;
	shards_merge(sv, t);
	sv->synced = t;
}

static void on_window(sim *s, void *ctx, const sim_event *ev)
{
	serving *sv = ctx;
	shards_run(sv, ev->time);
	sim_event e = { .time = ev->time + sv->window, .model = (uint16_t)sv->model,
			.kind = EV_WINDOW, .prio = PRIO_WINDOW };
	sim_post(s, &e);
}

static const sim_handler handlers[EV_COUNT] = { on_arrival, on_turn,    on_iter_end, on_kv_done,
						on_warmup,  on_enqueue, on_window };

static void shard_destroy(serving *sh)
{
	if (!sh)
		return;
	sim_destroy(sh->s);
	for (size_t c = 0; sh->cs && c < sh->n_classes; c++)
		cs_clear(&sh->cs[c]);
	free(sh->cs);
	cs_clear(&sh->all);
	free(sh->rqs);
	if (sh->out) {
		free(sh->out->inbox);
		free(sh->out->dirty);
		free(sh->out->rows);
		free(sh->out->ttft);
		free(sh->out->turns);
		free(sh->out->xfers);
		free(sh->out);
	}
	free(sh);
}

/* A shard: a serving object over the parent's replicas and pools, with an
 * engine, a request slab, statistics and an outbox of its own. */
static serving *shard_create(serving *sv, fs_error *err)
{
	serving *sh = malloc(sizeof *sh);
	if (!sh)
		return NULL;
	*sh = *sv;
	sh->parent = sv;
	sh->shards = NULL;
	sh->n_shards = 0;
	sh->sink = NULL;
	sh->hook = NULL;
	sh->rqs = NULL;
	sh->rq_cap = 0;
	sh->rq_free = NIL;
	sh->cs = NULL;
	memset(&sh->all, 0, sizeof sh->all);
	memset(&sh->tick_ttft, 0, sizeof sh->tick_ttft);
	sh->class_results = NULL;
	sh->shed_class = sh->defer_class = NULL;
	sh->tick_out_tok = sh->tick_in_tok = sh->tick_good_tok = sh->tick_arrivals = 0;
	sh->tokens_out = sh->dropped = sh->shed = sh->deferred = sh->simulated = 0;
	sh->out = calloc(1, sizeof *sh->out);
	sh->s = sim_create(1024);
	sh->cs = calloc(sv->n_classes ? sv->n_classes : 1, sizeof *sh->cs);
	bool ok = sh->out && sh->s && sh->cs && !cs_init(&sh->all);
	for (size_t c = 0; ok && c < sv->n_classes; c++)
		ok = !cs_init(&sh->cs[c]);
	if (!ok) {
		shard_destroy(sh);
		return NULL;
	}
	sim_model m = { .name = "serving-shard", .ctx = sh, .handlers = handlers,
			.n_handlers = EV_COUNT };
	sh->model = sim_add_model(sh->s, &m, err);
	if (sh->model < 0) {
		shard_destroy(sh);
		return NULL;
	}
	return sh;
}

/* --- construction ---------------------------------------------------------------------- */

int serving_pool_replicas(const srv_pool_params *p, const srv_pool_hw *hw, fs_error *err)
{
	char key[96];
	snprintf(key, sizeof key, "serving.%s", p->name);
	if (p->rack_group < 0 || p->rack_group >= hw->rack->n_groups)
		return -fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
				     "rack %s has no GPU group %d", hw->rack->name, p->rack_group);
	int per_rack = hw->rack->groups[p->rack_group].count;
	int gpr = p->tp * p->pp;
	long fit = (long)p->racks * per_rack / gpr;
	if (fit < 1)
		return -fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
				     "a replica needs %d GPUs but %d rack(s) of %s hold %d %s GPUs; "
				     "expected tp x pp <= %d, or more racks",
				     gpr, p->racks, hw->rack->name, p->racks * per_rack,
				     hw->gpu->name, p->racks * per_rack);
	if (p->replicas > 0) {
		if (p->replicas > fit)
			return -fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
					     "%d replicas of %d GPUs do not fit on %d rack(s); "
					     "expected at most %ld",
					     p->replicas, gpr, p->racks, fit);
		return p->replicas;
	}
	return (int)fit;
}

void serving_set_request_hook(serving *sv, srv_request_hook fn, void *ctx)
{
	sv->hook = fn;
	sv->hook_ctx = ctx;
}

int serving_create(sim *s, const srv_params *params, const srv_pool_hw *hw, workload *wl,
		   uint64_t seed, uint32_t replication, double warmup_s, rec_sink *sink,
		   serving **out, fs_error *err)
{
	*out = NULL;
	serving *sv = calloc(1, sizeof *sv);
	if (!sv)
		return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
	sv->prm = *params;
	sv->s = s;
	sv->wl = wl;
	sv->sink = sink;
	sv->seed = seed;
	sv->replication = replication;
	sv->warmup = sim_from_s(warmup_s);
	sv->rq_free = NIL;
	double frac = params->requests_fraction;
	sv->sample_threshold = frac >= 1 ? UINT64_MAX : (uint64_t)(frac * 18446744073709551615.0);
	int rc = FS_OK;

	sv->n_pools = params->n_pools;
	sv->pools = calloc(sv->n_pools ? sv->n_pools : 1, sizeof *sv->pools);
	sv->n_classes = workload_class_count(wl);
	sv->class_pool = calloc(sv->n_classes ? sv->n_classes : 1, sizeof *sv->class_pool);
	sv->cs = calloc(sv->n_classes ? sv->n_classes : 1, sizeof *sv->cs);
	sv->class_results = calloc(sv->n_classes ? sv->n_classes : 1, sizeof *sv->class_results);
	sv->shed_class = calloc(sv->n_classes ? sv->n_classes : 1, sizeof *sv->shed_class);
	sv->defer_class = calloc(sv->n_classes ? sv->n_classes : 1, sizeof *sv->defer_class);
	sv->hold_head = sv->hold_tail = NIL;
	if (!sv->pools || !sv->class_pool || !sv->cs || !sv->class_results || !sv->shed_class ||
	    !sv->defer_class) {
		serving_destroy(sv);
		return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
	}
	if (sv->n_pools == 0) {
		serving_destroy(sv);
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "serving",
				    "no serving pool; expected at least one");
	}
	/* pools and their replicas */
	uint32_t total = 0;
	for (size_t p = 0; p < sv->n_pools; p++) {
		pool *pl = &sv->pools[p];
		pl->p = params->pools[p];
		pl->hw = hw[p];
		pl->decode_pool = -1;
		char key[96];
		snprintf(key, sizeof key, "serving.%s", pl->p.name);
		int n = serving_pool_replicas(&pl->p, &hw[p], err);
		if (n < 0) {
			serving_destroy(sv);
			return -n;
		}
		int gpr = pl->p.tp * pl->p.pp;
		bool scale_out = gpr > hw[p].rack->nvlink_domain;
		rc = perf_init(&pl->pm, hw[p].gpu, hw[p].llm, pl->p.tp, pl->p.pp, pl->p.ep,
			       pl->p.dp_attention, scale_out, err);
		if (rc) {
			if (!err->key[0])
				snprintf(err->key, sizeof err->key, "%s", key);
			serving_destroy(sv);
			return rc;
		}
		pl->kv_bytes = llm_kv_bytes_per_token(hw[p].llm);
		pl->first = total;
		pl->n = (uint32_t)n;
		total += (uint32_t)n;
		if (pl->p.max_seqs > pl->p.max_batch_tokens) {
			serving_destroy(sv);
			return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
					    "max_seqs (%u) exceeds the token budget (%u); expected "
					    "max_seqs <= max_tokens",
					    pl->p.max_seqs, pl->p.max_batch_tokens);
		}
	}
	/* pair prefill pools with a decode pool of the same model */
	for (size_t p = 0; p < sv->n_pools; p++) {
		pool *pl = &sv->pools[p];
		if (pl->p.role != SRV_ROLE_PREFILL)
			continue;
		for (size_t d = 0; d < sv->n_pools; d++)
			if (sv->pools[d].p.role == SRV_ROLE_DECODE &&
			    !strcmp(sv->pools[d].p.model, pl->p.model)) {
				pl->decode_pool = (int)d;
				break;
			}
		if (pl->decode_pool < 0) {
			serving_destroy(sv);
			return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "serving",
					    "prefill pool '%s' has no decode pool for model %s",
					    pl->p.name, pl->p.model);
		}
		const pool *dp = &sv->pools[pl->decode_pool];
		double bw = params->kv_transfer_bw;
		if (!(bw > 0)) {
			/* same racks: NVLink of the slower side; else the scale-out network */
			bool same = !strcmp(pl->p.rack, dp->p.rack);
			double a = same ? pl->hw.gpu->scale_up_bw : pl->hw.gpu->scale_out_bw;
			double c = same ? dp->hw.gpu->scale_up_bw : dp->hw.gpu->scale_out_bw;
			bw = (a < c ? a : c) * pl->p.tp;
		}
		pl->transfer_bw = bw;
	}
	/* classes -> the pool that first receives them */
	for (size_t c = 0; c < sv->n_classes; c++) {
		const wl_class_params *cp = workload_class(wl, c);
		int found = -1;
		for (size_t p = 0; p < sv->n_pools && found < 0; p++)
			if (!strcmp(sv->pools[p].p.model, cp->model) &&
			    sv->pools[p].p.role != SRV_ROLE_DECODE &&
			    (!cp->pool[0] || !strcmp(sv->pools[p].p.name, cp->pool)))
				found = (int)p;
		if (found < 0) {
			char key[96];
			snprintf(key, sizeof key, "workload.%s.model", cp->name);
			serving_destroy(sv);
			return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
					    "no serving pool serves model '%s'", cp->model);
		}
		sv->class_pool[c] = found;
		if (cs_init(&sv->cs[c])) {
			serving_destroy(sv);
			return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
		}
		snprintf(sv->class_results[c].name, sizeof sv->class_results[c].name, "%s", cp->name);
	}
	if (cs_init(&sv->all) || stats_qhist_init(&sv->tick_ttft, 1e-6, 1e6, 0.005)) {
		serving_destroy(sv);
		return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
	}

	sv->n_reps = total;
	sv->reps = calloc(total, sizeof *sv->reps);
	if (!sv->reps) {
		serving_destroy(sv);
		return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
	}
	/* racks: each pool takes the next racks of its type, per GPU group */
	uint32_t *used = calloc((size_t)params->n_racks * RACK_MAX_GPU_GROUPS + 1, sizeof *used);
	if (!used) {
		serving_destroy(sv);
		return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
	}
	for (size_t p = 0; p < sv->n_pools; p++) {
		pool *pl = &sv->pools[p];
		pl->rack_ids = calloc((size_t)pl->p.racks, sizeof *pl->rack_ids);
		int got = 0;
		for (uint32_t k = 0; pl->rack_ids && k < params->n_racks && got < pl->p.racks; k++) {
			uint32_t *u = &used[(size_t)k * RACK_MAX_GPU_GROUPS + pl->p.rack_group];
			if (!*u && strcmp(params->racks[k]->name, pl->p.rack) == 0) {
				*u = 1;
				pl->rack_ids[got++] = k;
			}
		}
		if (!pl->rack_ids || got < pl->p.racks) {
			free(used);
			char key[96];
			snprintf(key, sizeof key, "serving.%s", pl->p.name);
			serving_destroy(sv);
			return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
					    "needs %d racks of %s but only %d are left; expected more "
					    "racks of that type",
					    pl->p.racks, pl->p.rack, got);
		}
	}
	free(used);
	for (size_t p = 0; p < sv->n_pools; p++) {
		pool *pl = &sv->pools[p];
		double kv_tokens = perf_kv_capacity_tokens(&pl->pm, pl->p.kv_reserve);
		double prefix_tokens = kv_tokens * pl->p.prefix_share;
		double nb = (kv_tokens - prefix_tokens) / pl->p.block_tokens;
		/* scenario.c bounds the KV capacity; never convert out of range */
		int64_t blocks = nb < 0x1p62 ? (int64_t)nb : (int64_t)1 << 62;
		int per_rack = pl->hw.rack->groups[pl->p.rack_group].count;
		int gpr = pl->p.tp * pl->p.pp;
		for (uint32_t j = 0; j < pl->n; j++) {
			replica *r = &sv->reps[pl->first + j];
			r->pl = pl;
			r->id = pl->first + j;
			r->rack = pl->rack_ids[(long)j * gpr / per_rack];
			r->gpus = (uint32_t)gpr;
			r->clock = r->clock_next = r->f_gamma = 1.0;
			r->clock_cap = r->clock_thermal = 1.0;
			r->power_w = pl->hw.gpu->idle_w;
			r->blocks_total = blocks;
			r->wait_head = r->wait_tail = r->run_head = r->run_tail = NIL;
			r->pf_head = r->pf_tail = NIL;
			r->phase = calloc(pl->p.block_tokens, sizeof *r->phase);
			double off_tokens = pl->p.offload_bytes / pl->kv_bytes;
			if (!r->phase || pc_init(&r->pc, prefix_tokens, off_tokens)) {
				serving_destroy(sv);
				return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
			}
		}
		if (blocks < 1) {
			char key[96];
			snprintf(key, sizeof key, "serving.%s", pl->p.name);
			serving_destroy(sv);
			return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key,
					    "no room for the KV cache: %s weights take %.1f GB of "
					    "%.1f GB per replica",
					    pl->hw.llm->name, llm_weight_bytes(pl->hw.llm) / 1e9,
					    pl->hw.gpu->mem_bytes * gpr / 1e9);
		}
	}

	/* the least-work routers' heaps: every key is 0, so identity order is a heap */
	for (size_t p = 0; p < sv->n_pools; p++) {
		pool *pl = &sv->pools[p];
		if (pl->p.router != SRV_LEAST_WORK)
			continue;
		pl->lw_heap = malloc(pl->n * sizeof *pl->lw_heap);
		pl->lw_pos = malloc(pl->n * sizeof *pl->lw_pos);
		pl->lw_keys = calloc(pl->n, sizeof *pl->lw_keys);
		if (!pl->lw_heap || !pl->lw_pos || !pl->lw_keys) {
			serving_destroy(sv);
			return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
		}
		for (uint32_t j = 0; j < pl->n; j++)
			pl->lw_heap[j] = pl->lw_pos[j] = j;
	}
	/* the rack index (a replica spanning racks is listed under its first) */
	uint32_t nr = params->n_racks;
	sv->rack_first = calloc((size_t)nr + 1, sizeof *sv->rack_first);
	sv->rack_reps = calloc(sv->n_reps ? sv->n_reps : 1, sizeof *sv->rack_reps);
	if (!sv->rack_first || !sv->rack_reps) {
		serving_destroy(sv);
		return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
	}
	for (uint32_t j = 0; j < sv->n_reps; j++)
		if (sv->reps[j].rack < nr)
			sv->rack_first[sv->reps[j].rack + 1]++;
	for (uint32_t k = 0; k < nr; k++)
		sv->rack_first[k + 1] += sv->rack_first[k];
	{
		uint32_t *fill = calloc((size_t)nr + 1, sizeof *fill);
		if (!fill) {
			serving_destroy(sv);
			return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
		}
		for (uint32_t j = 0; j < sv->n_reps; j++) {
			uint32_t k = sv->reps[j].rack;
			if (k < nr)
				sv->rack_reps[sv->rack_first[k] + fill[k]++] = j;
		}
		free(fill);
	}

	sim_model m = { .name = "serving", .ctx = sv, .handlers = handlers, .n_handlers = EV_COUNT,
			.tick = on_tick };
	sv->model = sim_add_model(s, &m, err);
	if (sv->model < 0) {
		rc = -sv->model;
		serving_destroy(sv);
		return rc;
	}
	struct {
		int *id;
		const char *path, *units, *desc;
	} series[] = {
		{ &sv->id_out, "serving/output_tokens_per_s", "1/s", "output tokens generated per second" },
		{ &sv->id_in, "serving/input_tokens_per_s", "1/s", "prompt tokens prefilled per second" },
		{ &sv->id_good, "serving/goodput_tokens_per_s", "1/s",
		  "output tokens per second of requests that met their SLOs, at finish" },
		{ &sv->id_arr, "serving/arrivals_per_s", "1/s", "requests arriving per second" },
		{ &sv->id_wait, "serving/waiting", "1", "requests queued at replicas" },
		{ &sv->id_run, "serving/running", "1", "requests in prefill or decode" },
		{ &sv->id_batch, "serving/decode_batch_mean", "1", "decoding sequences per replica" },
		{ &sv->id_kv, "serving/kv_occupancy", "1", "KV blocks used / capacity, all replicas" },
		{ &sv->id_ttft50, "serving/ttft_p50", "s", "median TTFT of requests finished in the tick" },
		{ &sv->id_ttft99, "serving/ttft_p99", "s", "p99 TTFT of requests finished in the tick" },
	};
	for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
		*series[i].id = rec_declare(sink, series[i].path, series[i].units, series[i].desc, 1,
					    err);
		if (*series[i].id < 0) {
			rc = -*series[i].id;
			serving_destroy(sv);
			return rc;
		}
	}
	if (sink) {
		const char *names[256];
		size_t n = sv->n_classes < 256 ? sv->n_classes : 256;
		for (size_t c = 0; c < n; c++)
			names[c] = workload_class(wl, c)->name;
		rc = rec_classes(sink, names, n, err);
		if (rc) {
			serving_destroy(sv);
			return rc;
		}
	}
	if (sv->warmup > 0) {
		sim_event e = { .time = sv->warmup, .model = (uint16_t)sv->model, .kind = EV_WARMUP };
		sim_post(s, &e);
	}
	if (params->window_s > 0) {
		/* the windowed engine: fixed shards of consecutive replicas */
		sv->window = sim_from_s(params->window_s);
		uint32_t g = params->shards ? params->shards : 32;
		if (g > sv->n_reps)
			g = sv->n_reps;
		sv->shards = calloc(g, sizeof *sv->shards);
		if (!sv->shards) {
			serving_destroy(sv);
			return fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
		}
		for (uint32_t j = 0; j < sv->n_reps; j++)
			sv->reps[j].shard = (uint32_t)((uint64_t)j * g / sv->n_reps);
		for (uint32_t k = 0; k < g; k++) {
			sv->shards[k] = shard_create(sv, err);
			if (!sv->shards[k]) {
				sv->n_shards = k;
				serving_destroy(sv);
				return err->code ? err->code
						 : fs_error_msg(err, FS_ERR_NOMEM, "serving: out of memory");
			}
		}
		sv->n_shards = g;
		sv->timing = getenv("FS_SHARD_TIMING") != NULL;
		sim_event e = { .time = sv->window, .model = (uint16_t)sv->model, .kind = EV_WINDOW,
				.prio = PRIO_WINDOW };
		sim_post(s, &e);
	}
	next_arrival(sv);
	*out = sv;
	return FS_OK;
}

void serving_destroy(serving *sv)
{
	if (!sv)
		return;
	for (uint32_t g = 0; sv->shards && g < sv->n_shards; g++)
		shard_destroy(sv->shards[g]);
	free(sv->shards);
	for (uint32_t j = 0; sv->reps && j < sv->n_reps; j++) {
		free(sv->reps[j].phase);
		free(sv->reps[j].dheap);
		pc_clear(&sv->reps[j].pc);
	}
	free(sv->reps);
	free(sv->rack_first);
	free(sv->rack_reps);
	for (size_t c = 0; sv->cs && c < sv->n_classes; c++)
		cs_clear(&sv->cs[c]);
	cs_clear(&sv->all);
	stats_qhist_clear(&sv->tick_ttft);
	free(sv->cs);
	free(sv->class_results);
	free(sv->class_pool);
	for (size_t p = 0; sv->pools && p < sv->n_pools; p++) {
		free(sv->pools[p].rack_ids);
		free(sv->pools[p].lw_heap);
		free(sv->pools[p].lw_pos);
		free(sv->pools[p].lw_keys);
	}
	free(sv->pools);
	free(sv->shed_class);
	free(sv->defer_class);
	free(sv->rqs);
	free(sv);
}

/* --- results ---------------------------------------------------------------------------- */

static void fill_class(const class_stats *c, double measured, srv_class_result *o)
{
	o->arrived = c->arrived;
	o->finished = c->finished;
	o->slo_met = c->slo_met;
	o->preemptions = c->preemptions;
	o->cached_tokens = c->cached;
	o->input_tokens = c->in_tok;
	o->output_tokens = c->out_tok;
	o->goodput_tokens = c->good_tok;
	o->output_tokens_per_s = measured > 0 ? c->out_tok / measured : NAN;
	o->input_tokens_per_s = measured > 0 ? c->in_tok / measured : NAN;
	o->goodput_tokens_per_s = measured > 0 ? c->good_tok / measured : NAN;
	o->ttft_p50_s = stats_qhist_quantile(&c->ttft, 0.5);
	o->ttft_p90_s = stats_qhist_quantile(&c->ttft, 0.9);
	o->ttft_p99_s = stats_qhist_quantile(&c->ttft, 0.99);
	o->ttft_mean_s = c->finished ? c->ttft_sum / c->finished : NAN;
	o->tpot_p50_s = stats_qhist_quantile(&c->tpot, 0.5);
	o->tpot_p90_s = stats_qhist_quantile(&c->tpot, 0.9);
	o->tpot_p99_s = stats_qhist_quantile(&c->tpot, 0.99);
	o->tpot_mean_s = c->tpot_n ? c->tpot_sum / c->tpot_n : NAN;
	o->e2e_p50_s = stats_qhist_quantile(&c->e2e, 0.5);
	o->e2e_p99_s = stats_qhist_quantile(&c->e2e, 0.99);
	o->e2e_mean_s = c->finished ? c->e2e_sum / c->finished : NAN;
	o->queue_mean_s = c->finished ? c->queue_sum / c->finished : NAN;
	o->queue_p99_s = stats_qhist_quantile(&c->queue, 0.99);
	o->slo_attainment = c->finished ? (double)c->slo_met / c->finished : NAN;
}

/* Requests of a slab still in the system whose first token is already later
 * than their TTFT target. */
static uint64_t count_late(serving *sv, const serving *slab, sim_time now)
{
	uint64_t late = 0;
	for (uint32_t i = 0; i < slab->rq_cap; i++) {
		const rq *q = &slab->rqs[i];
		if (q->state == RQ_FREE || q->w.arrival < sv->warmup || q->first_token >= 0)
			continue;
		double slo = workload_class(sv->wl, q->w.cls)->slo_ttft_s;
		if (slo > 0 && sim_to_s(now - q->w.arrival) > slo) {
			sv->class_results[q->w.cls].late_unfinished++;
			late++;
		}
	}
	return late;
}

void serving_result(serving *sv, srv_result *out)
{
	memset(out, 0, sizeof *out);
	sim_time now = sim_now(sv->s);
	if (sv->shards && sv->synced < now)
		shards_run(sv, now); /* the run ended between two barriers */
	double measured = sim_to_s(now - sv->warmup);
	out->measured_s = measured;
	/* the windowed engine's statistics live in its shards: merge them (in
	 * shard order) into copies of the whole's */
	class_stats *cs = sv->cs, *all = &sv->all, *tmp = NULL;
	if (sv->shards) {
		tmp = calloc(sv->n_classes + 1, sizeof *tmp);
		bool ok = tmp != NULL;
		for (size_t c = 0; ok && c <= sv->n_classes; c++) {
			ok = !cs_init(&tmp[c]) &&
			     !cs_merge(&tmp[c], c < sv->n_classes ? &sv->cs[c] : &sv->all);
			for (uint32_t g = 0; ok && g < sv->n_shards; g++)
				for (size_t k = 0; ok && k < sv->n_classes; k++)
					if (k == c || c == sv->n_classes)
						ok = !cs_merge(&tmp[c], &sv->shards[g]->cs[k]);
		}
		if (ok) {
			cs = tmp;
			all = &tmp[sv->n_classes];
		}
	}
	for (size_t c = 0; c < sv->n_classes; c++) {
		char name[SRV_NAME_LEN];
		memcpy(name, sv->class_results[c].name, sizeof name);
		fill_class(&cs[c], measured, &sv->class_results[c]);
		memcpy(sv->class_results[c].name, name, sizeof name);
		sv->class_results[c].late_unfinished = 0;
	}
	fill_class(all, measured, &out->overall);
	snprintf(out->overall.name, sizeof out->overall.name, "all");
	if (tmp) {
		for (size_t c = 0; c <= sv->n_classes; c++)
			cs_clear(&tmp[c]);
		free(tmp);
	}
	/* Requests still in the system whose first token is already later than
	 * their TTFT target have missed it whatever happens next: count them in
	 * the SLO attainment, so that a backlog at the end does not flatter it. */
	uint64_t late_all = count_late(sv, sv, now);
	for (uint32_t g = 0; g < sv->n_shards; g++)
		late_all += count_late(sv, sv->shards[g], now);
	out->overall.late_unfinished = late_all;
	for (size_t c = 0; c <= sv->n_classes; c++) {
		srv_class_result *x = c < sv->n_classes ? &sv->class_results[c] : &out->overall;
		uint64_t n = x->finished + x->late_unfinished;
		x->slo_attainment = n ? (double)x->slo_met / (double)n : NAN;
	}
	out->classes = sv->class_results;
	out->n_classes = sv->n_classes;
	out->replicas = sv->n_reps;
	out->simulated = sv->simulated;
	out->shard_cpu_s = sv->cpu_s;
	out->shard_two_s = sv->critical_s;
	out->dropped = sv->dropped;
	out->shed = sv->shed;
	out->deferred = sv->deferred;
	out->calibrated = true;
	for (size_t p = 0; p < sv->n_pools; p++) {
		out->gpus += (uint64_t)sv->pools[p].n * sv->pools[p].p.tp * sv->pools[p].p.pp;
		out->calibrated = out->calibrated && sv->pools[p].pm.calibrated;
	}
	for (uint32_t j = 0; j < sv->n_reps; j++) {
		out->iterations += sv->reps[j].iterations;
		out->stretches += sv->reps[j].stretches;
	}
	double span = sv->kv_occ_t - sim_to_s(sv->warmup);
	out->kv_occupancy_mean = span > 0 ? sv->kv_occ_integral / span : NAN;
}

int serving_result_record(const srv_result *r, rec_sink *sink, fs_error *err)
{
	int rc0 = rec_summary(sink, "serving/perf_model_calibrated", r->calibrated ? 1 : 0, "1",
			      "1 if every pool's GPU efficiencies come from calibration; 0 = the "
			      "uncalibrated datasheet roofline",
			      err);
	if (rc0)
		return rc0;
	rc0 = rec_summary(sink, "serving/replicas", (double)r->replicas, "1", "replicas", err);
	if (!rc0)
		rc0 = rec_summary(sink, "serving/dropped", (double)r->dropped, "1",
				  "requests too large for any replica's KV cache (never served)", err);
	if (!rc0)
		rc0 = rec_summary(sink, "serving/gpus", (double)r->gpus, "1", "GPUs in replicas", err);
	if (rc0)
		return rc0;
	for (size_t c = 0; c <= r->n_classes; c++) {
		const srv_class_result *x = c < r->n_classes ? &r->classes[c] : &r->overall;
		char pre[96];
		snprintf(pre, sizeof pre, "serving/%s/", x->name);
		struct {
			const char *k;
			double v;
			const char *u, *d;
		} rows[] = {
			{ "arrived", (double)x->arrived, "1", "requests arrived after warm-up" },
			{ "finished", (double)x->finished, "1", "requests finished (arrived after warm-up)" },
			{ "output_tokens_per_s", x->output_tokens_per_s, "1/s",
			  "output tokens of finished requests per measured second" },
			{ "input_tokens_per_s", x->input_tokens_per_s, "1/s",
			  "prompt tokens of finished requests per measured second" },
			{ "goodput_tokens_per_s", x->goodput_tokens_per_s, "1/s",
			  "output tokens of requests that met their SLOs per second" },
			{ "tokens_per_s_per_gpu",
			  r->gpus ? x->output_tokens_per_s / (double)r->gpus : NAN, "1/s",
			  "output tokens per second per GPU in replicas (throughput axis of the "
			  "throughput-interactivity frontier)" },
			{ "tokens_per_s_per_user", x->tpot_mean_s > 0 ? 1.0 / x->tpot_mean_s : NAN, "1/s",
			  "output tokens per second one request sees while decoding, 1 / mean TPOT "
			  "(interactivity axis of the frontier)" },
			{ "ttft_p50", x->ttft_p50_s, "s", "median time to first token" },
			{ "ttft_p99", x->ttft_p99_s, "s", "p99 time to first token" },
			{ "tpot_p50", x->tpot_p50_s, "s", "median time per output token" },
			{ "tpot_p99", x->tpot_p99_s, "s", "p99 time per output token" },
			{ "e2e_p50", x->e2e_p50_s, "s", "median end-to-end latency" },
			{ "e2e_p99", x->e2e_p99_s, "s", "p99 end-to-end latency" },
			{ "queue_mean", x->queue_mean_s, "s", "mean wait before first admission" },
			{ "slo_attainment", x->slo_attainment, "1",
			  "share of requests meeting every SLO of their class: finished ones, plus those "
			  "still waiting past their TTFT target at the end (misses)" },
			{ "late_unfinished", (double)x->late_unfinished, "1",
			  "requests still waiting at the end, already past their TTFT target" },
			{ "preemptions", (double)x->preemptions, "1", "preemptions of finished requests" },
			{ "cached_tokens", (double)x->cached_tokens, "1",
			  "prompt tokens served from the prefix cache" },
		};
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			char name[192];
			snprintf(name, sizeof name, "%s%s", pre, rows[i].k);
			int rc = rec_summary(sink, name, rows[i].v, rows[i].u, rows[i].d, err);
			if (rc)
				return rc;
		}
	}
	return FS_OK;
}


/* The replicas of a rack, through the rack index. */
#define RACK_LOOP(sv, rack, j)                                                            \
	for (uint32_t j##_i = (rack) < (sv)->prm.n_racks ? (sv)->rack_first[(rack)] : 0,      \
		      j##_e = (rack) < (sv)->prm.n_racks ? (sv)->rack_first[(rack) + 1] : 0,  \
		      j = j##_i < j##_e ? (sv)->rack_reps[j##_i] : 0;                         \
	     j##_i < j##_e; j##_i++, j = j##_i < j##_e ? (sv)->rack_reps[j##_i] : 0)

/* --- the power view ------------------------------------------------------------------ */

/* The clock is the lower of what the cap and the temperature allow; a change
 * takes effect at the replica's next iteration boundary at or after now. */
static void set_clock(serving *sv, replica *r, sim_time now)
{
	double f = r->clock_cap < r->clock_thermal ? r->clock_cap : r->clock_thermal;
	if (f != r->clock_next) {
		r->clock_next = f;
		cut_at(owner(sv, r), r, now);
	}
}

void serving_set_rack_cap(serving *sv, uint32_t rack, double cap_w)
{
	sim_time now = sim_now(sv->s);
	RACK_LOOP(sv, rack, j) {
		replica *r = &sv->reps[j];
		if (r->rack != rack)
			continue;
		const gpu_spec *g = r->pl->hw.gpu;
		double f = 1.0;
		if (cap_w > 0 && cap_w < g->tdp_w) {
			double share = (cap_w - g->idle_w) / (g->tdp_w - g->idle_w);
			f = share > 0 ? pow(share, 1.0 / g->power_gamma) : 0;
			double fmin = g->clock_max_hz > 0 ? g->clock_min_hz / g->clock_max_hz : 0.1;
			if (f < fmin)
				f = fmin;
		}
		r->clock_cap = f;
		set_clock(sv, r, now);
	}
}

void serving_set_rack_thermal_clock(serving *sv, uint32_t rack, double f)
{
	sim_time now = sim_now(sv->s);
	RACK_LOOP(sv, rack, j) {
		replica *r = &sv->reps[j];
		if (r->rack != rack || r->clock_thermal == f)
			continue;
		r->clock_thermal = f;
		set_clock(sv, r, now);
	}
}

double serving_rack_clock(const serving *sv, uint32_t rack)
{
	double sum = 0;
	int n = 0;
	RACK_LOOP(sv, rack, j)
		if (sv->reps[j].rack == rack) {
			sum += sv->reps[j].clock;
			n++;
		}
	return n ? sum / n : 1.0;
}

void serving_rack_energy(serving *sv, sim_time now, double *energy)
{
	for (uint32_t k = 0; k < sv->prm.n_racks; k++)
		energy[k] = 0;
	for (uint32_t j = 0; j < sv->n_reps; j++) {
		replica *r = &sv->reps[j];
		power_flush(r, now);
		if (r->rack < sv->prm.n_racks)
			energy[r->rack] += r->energy_j;
	}
}

uint32_t serving_rack_gpus_used(const serving *sv, uint32_t rack, int group)
{
	uint32_t n = 0;
	RACK_LOOP(sv, rack, j)
		if (sv->reps[j].rack == rack && sv->reps[j].pl->p.rack_group == group)
			n += sv->reps[j].gpus;
	return n;
}

void serving_shed_class(serving *sv, uint32_t cls, bool shed)
{
	if (cls < sv->n_classes)
		sv->shed_class[cls] = shed;
}

void serving_set_rack_down(serving *sv, uint32_t rack, bool down)
{
	sim_time now = sim_now(sv->s);
	RACK_LOOP(sv, rack, j) {
		replica *r = &sv->reps[j];
		if (r->rack != rack || r->down == down)
			continue;
		r->down = down;
		lw_update(sv, r);
		if (down) {
			/* the iteration in flight is lost with the power: it ends at its
			 * next boundary and nothing new starts */
			cut_at(owner(sv, r), r, now);
			if (!r->busy)
				power_set(r, now, 0);
		} else if (!r->busy && !r->failed && (r->wait_head != NIL || r->run_head != NIL)) {
			r->anchor = now;
			r->end_fp = 0;
			schedule_next(owner(sv, r), r);
		} else if (!r->busy) {
			power_set(r, now, idle_power(r));
		}
	}
}

uint64_t serving_tokens_out(const serving *sv)
{
	return sv->tokens_out;
}

int serving_rack_priority(const serving *sv, uint32_t rack)
{
	int best = INT_MAX;
	RACK_LOOP(sv, rack, j) {
		const replica *r = &sv->reps[j];
		if (r->rack != rack)
			continue;
		/* the classes whose requests this replica's pool serves: their entry
		 * pool, or the decode pool paired with it */
		for (size_t c = 0; c < sv->n_classes; c++) {
			const pool *entry = &sv->pools[sv->class_pool[c]];
			bool serves = entry == r->pl ||
				      (entry->decode_pool >= 0 && &sv->pools[entry->decode_pool] == r->pl);
			int pr = workload_class(sv->wl, c)->priority;
			if (serves && pr < best)
				best = pr;
		}
	}
	return best;
}

size_t serving_class_count(const serving *sv)
{
	return sv->n_classes;
}

int serving_class_priority(const serving *sv, uint32_t cls)
{
	return cls < sv->n_classes ? workload_class(sv->wl, cls)->priority : 0;
}

void serving_finished_counts(const serving *sv, uint64_t *finished, uint64_t *slo_met)
{
	*finished = sv->all.finished;
	*slo_met = sv->all.slo_met;
	for (uint32_t g = 0; g < sv->n_shards; g++)
		for (size_t c = 0; c < sv->n_classes; c++) {
			*finished += sv->shards[g]->cs[c].finished;
			*slo_met += sv->shards[g]->cs[c].slo_met;
		}
}

uint64_t serving_defer_class(serving *sv, uint32_t cls, bool defer)
{
	if (cls >= sv->n_classes || sv->defer_class[cls] == defer)
		return 0;
	sv->defer_class[cls] = defer;
	if (defer)
		return 0;
	/* release this class's held requests, in arrival order */
	uint64_t n = 0;
	sim_time now = sim_now(sv->s);
	uint32_t keep_head = NIL, keep_tail = NIL;
	for (uint32_t i = sv->hold_head; i != NIL;) {
		uint32_t nx = sv->rqs[i].qnext;
		if (sv->rqs[i].w.cls == cls) {
			route(sv, i, sv->class_pool[cls], now);
			n++;
		} else {
			sv->rqs[i].qnext = NIL;
			if (keep_tail == NIL)
				keep_head = i;
			else
				sv->rqs[keep_tail].qnext = i;
			keep_tail = i;
		}
		i = nx;
	}
	sv->hold_head = keep_head;
	sv->hold_tail = keep_tail;
	return n;
}

double serving_rack_compute_share(serving *sv, uint32_t rack)
{
	double c = 0, b = 0;
	RACK_LOOP(sv, rack, j) {
		replica *r = &sv->reps[j];
		if (r->rack != rack)
			continue;
		c += r->t_compute;
		b += r->t_busy;
		r->t_compute = r->t_busy = 0;
	}
	return b > 0 ? c / b : 0;
}


/* --- faults: the entry points models/faults.c drives ------------------------------ */

uint32_t serving_replica_count(const serving *sv)
{
	return sv->n_reps;
}

uint32_t serving_replica_gpus(const serving *sv, uint32_t rep)
{
	return rep < sv->n_reps ? sv->reps[rep].gpus : 0;
}

/* Replica j of a pool holds GPUs [j x gpr, (j + 1) x gpr) of its racks' group
 * GPUs laid end to end, rack after rack (as serving_create places it). */
void serving_replica_gpu(const serving *sv, uint32_t rep, uint32_t i, uint32_t *rack, int *group,
			 uint32_t *index)
{
	assert(rep < sv->n_reps && i < sv->reps[rep].gpus);
	const replica *r = &sv->reps[rep];
	const pool *pl = r->pl;
	uint64_t per_rack = (uint64_t)pl->hw.rack->groups[pl->p.rack_group].count;
	uint64_t g = (uint64_t)(rep - pl->first) * r->gpus + i;
	*rack = pl->rack_ids[g / per_rack];
	*group = pl->p.rack_group;
	*index = (uint32_t)(g % per_rack);
}

uint32_t serving_replica_requests(const serving *sv, uint32_t rep)
{
	return rep < sv->n_reps ? sv->reps[rep].n_running + sv->reps[rep].n_waiting : 0;
}

uint64_t serving_tokens_discarded(const serving *sv)
{
	return sv->tokens_discarded;
}

void serving_replica_routable(serving *sv, uint32_t rep, bool routable)
{
	replica *r = &sv->reps[rep];
	if (r->out == !routable)
		return;
	r->out = !routable;
	lw_update(sv, r);
}

/* A failure stops the replica where it stands: the iterations of the stretch
 * in flight that ended by now count (no request finishes inside a decode-only
 * stretch, only at its end, which has not come: faults fire after iteration
 * ends of the same nanosecond), the iteration in progress is lost with its
 * prefill chunks, and nothing new starts.  Its requests stay until they are
 * evicted (at detection).  A restart brings it back with an empty prefix cache
 * (a new or reset part). */
void serving_replica_stop(serving *sv, uint32_t rep, bool stop, double powered)
{
	replica *r = &sv->reps[rep];
	sim_time now = sim_now(sv->s);
	r->powered = powered;
	if (r->failed == stop) {
		if (stop && !r->busy)
			power_set(r, now, idle_power(r));
		return;
	}
	r->failed = stop;
	if (stop) {
		if (r->busy) {
			int64_t done = iters_done_by(r, now);
			assert(done < r->k);
			sim_cancel(sv->s, r->ev);
			if (done > 0) {
				account_tokens(sv, r, done);
				r->iterations += (uint64_t)done;
				r->stretches++;
				if (done > 1)
					r->blocks_used += (int64_t)inc_sum(r, r->iter + 1, done - 1);
				r->ctx_sum += (uint64_t)r->n_decode * (uint64_t)done;
				r->iter += done;
			}
			for (uint32_t i = r->pf_head; i != NIL; i = sv->rqs[i].pnext)
				sv->rqs[i].chunk = 0;
			r->acct_k = 0;
			r->extra_fp = 0;
			r->busy = false;
		}
		power_set(r, now, idle_power(r));
		return;
	}
	/* back: new (or reset) hardware holds no cached prefix */
	double hbm_tokens = r->pc.capacity[1];
	pc_clear(&r->pc);
	if (pc_init(&r->pc, hbm_tokens, r->pl->p.offload_bytes / r->pl->kv_bytes))
		sim_stop(sv->s); /* out of memory: stop the run rather than crash */
	offload_take(r, 0);
	if (!r->down && (r->wait_head != NIL || r->run_head != NIL)) {
		r->anchor = now;
		r->end_fp = 0;
		schedule_next(sv, r);
	} else {
		power_set(r, now, idle_power(r));
	}
}

/* Send a request taken off replica r to the router again.  With its KV
 * recovered (migrated), a decoder continues on a replica of the same pool
 * without prefill; otherwise the request starts over from its prompt at its
 * class's entry pool, and the tokens it had generated are discarded. */
static void retry(serving *sv, replica *r, uint32_t i, bool has_kv, bool kv_recovered,
		  sim_time now)
{
	rq *q = &sv->rqs[i];
	if (has_kv && kv_recovered && r->pl->p.role != SRV_ROLE_PREFILL) {
		q->swapped = 2;
		q->ctx0 = q->w.input_tokens + q->generated;
		route(sv, i, (int)(r->pl - sv->pools), now);
		return;
	}
	if (kv_recovered && q->generated > 0 && r->pl->p.role != SRV_ROLE_PREFILL) {
		/* a preempted decoder without KV: its context is prefilled again */
		q->swapped = 0;
		q->done = 0;
		q->target = q->w.input_tokens + q->generated;
		route(sv, i, (int)(r->pl - sv->pools), now);
		return;
	}
	sv->tokens_discarded += q->generated;
	q->generated = 0;
	q->target = q->w.input_tokens;
	q->done = 0;
	q->swapped = 0;
	q->first_token = -1;
	route(sv, i, sv->class_pool[q->w.cls], now);
}

uint64_t serving_replica_evict(serving *sv, uint32_t rep, bool running, bool kv_recovered)
{
	replica *r = &sv->reps[rep];
	sim_time now = sim_now(sv->s);
	/* detach first (the router may hand a request straight back to this
	 * replica when every other one is out too), then route */
	uint32_t head = NIL, tail = NIL;
	uint64_t n = 0;
#define DETACH(idx)                                         \
	do {                                                \
		sv->rqs[idx].qnext = NIL;                   \
		if (tail == NIL)                            \
			head = (idx);                       \
		else                                        \
			sv->rqs[tail].qnext = (idx);        \
		tail = (idx);                               \
		n++;                                        \
	} while (0)
	while (running && r->run_head != NIL) {
		uint32_t i = r->run_head;
		rq *q = &sv->rqs[i];
		q->swapped = q->state == RQ_DECODE ? 3 : 0; /* 3: held KV here (decoder) */
		evict_running(sv, r, i);
		add_work(sv, r, -work_of(r->pl, q));
		DETACH(i);
	}
	if (running) {
		/* empty now: clear what a stopped stretch may have left booked */
		r->blocks_used = 0;
		r->ctx_sum = 0;
		r->n_decode = 0;
		memset(r->phase, 0, r->pl->p.block_tokens * sizeof *r->phase);
	}
	while (r->wait_head != NIL) {
		uint32_t i = wait_pop(sv, r);
		rq *q = &sv->rqs[i];
		if (q->swapped == 1) {
			/* its KV sat in this replica's offload tier */
			offload_take(r, -(double)q->ctx0 * r->pl->kv_bytes);
			q->swapped = 3;
		} else if (q->swapped == 2) {
			q->swapped = 3; /* arrived with its KV from a prefill pool */
		}
		add_work(sv, r, -work_of(r->pl, q));
		DETACH(i);
	}
#undef DETACH
	for (uint32_t i = head; i != NIL;) {
		uint32_t nx = sv->rqs[i].qnext;
		bool has_kv = sv->rqs[i].swapped == 3;
		sv->rqs[i].swapped = 0;
		retry(sv, r, i, has_kv, kv_recovered, now);
		i = nx;
	}
	return n;
}
