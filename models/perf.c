/*
 * perf.c - the iteration-time model (see perf.h): a per-iteration roofline
 * with communication and a fixed overhead, in double and in the fixed-point
 * line form the serving engine fast-forwards with.
 *
 * Both forms come from one decomposition, perf_terms(): every term is either
 * constant for a batch shape or proportional to the decode context sum C, so
 *   compute(C) = compute_a + compute_b C     memory(C) = memory_a + memory_b C
 *   time(C)    = max(compute(C), memory(C)) + comm + overhead
 * perf_iteration() evaluates it in double, perf_line_of() rounds the four
 * coefficients and the constant to 2^-16 ns.  The line therefore differs from
 * the double by at most 0.5 unit per rounded coefficient, i.e. by at most
 * (2 + C) / 2 units (C = 1e6 tokens: 7.6 ns), which tests/test_perf.c checks.
 *
 * Modelling choices (each a simplification that the calibrated efficiencies
 * absorb to first order):
 *  - Pipeline parallelism adds capacity, not speed: a batch passes the pp
 *    stages one after the other, each stage holding layers / pp, so the
 *    iteration's latency is the sum of the stage times = (work / (tp x pp)) x pp
 *    per GPU = work / tp.  Latency terms therefore divide by tp only; the
 *    per-GPU flops and bytes reported in perf_result divide by tp x pp (the
 *    work one GPU does; it idles while the other stages run).
 *  - Dense FLOPs are 2 x params_active per token (MoE: shared + active experts).
 *  - Attention FLOPs per (query, key) pair from llm_attn_flops_per_pair, split
 *    over the TP group (heads under TP, sequences under dp_attention: the same
 *    division either way).
 *  - Weights are read once per iteration: all non-expert weights plus the
 *    routed experts the batch touches, fraction 1 - (1 - active/experts)^tokens
 *    (tokens routed independently and uniformly; optimistic for skewed routing
 *    at small batches).  Every layer counts as an MoE layer when experts > 0
 *    (DeepSeek's three leading dense layers are ignored: < 1 % of its weights).
 *  - KV traffic: a decode step reads its sequence's whole context; a prefill
 *    chunk is charged its own KV write (prefill_tokens x KV bytes) and not the
 *    re-read of the earlier context (perf_batch carries no sum of offsets; in
 *    prefill the FLOPs dominate, so the approximation moves little).
 *    Activations are not charged.
 *  - KV sharding over the TP group: with dp_attention each GPU keeps its own
 *    sequences' KV (split tp ways).  Without it, heads are split: GQA KV is
 *    split min(tp, kv_heads) ways (replicated beyond kv_heads), MLA's single
 *    latent is replicated on every TP rank (split 1 way).  The same factor
 *    divides the KV read and the KV capacity, which is the reason
 *    dp_attention exists (MLA under plain TP reads and stores tp copies).
 *  - Communication (activations in 16 bit):
 *      TP: 2 ring all-reduces per layer (attention out, MLP out) of
 *          tokens x hidden x 2 B: 2 (tp-1)/tp x bytes / (link x eff_comm)
 *          + 2 (tp-1) x collective_latency each.
 *      EP: 2 all-to-alls per layer (dispatch, combine).  Tokens are spread
 *          over the ep ranks, each sending its tokens' expert copies that live
 *          elsewhere: tokens / ep x experts_active x hidden x 2 B x (ep-1)/ep
 *          per GPU, all GPUs sending at once over their own links, + one
 *          collective latency.
 *      PP: pp - 1 point-to-point sends of tokens x hidden x 2 B, + latency each.
 *      The link is NVLink (scale_up_bw) unless the replica spans beyond one
 *      NVLink domain (scale_out: scale_out_bw for everything, the slowest hop
 *      sets the pace of a ring).  Communication is not overlapped with compute.
 *  - The clock factor (SM clock / max) divides compute only: HBM and links do
 *    not slow with the SM clock, which is why memory-bound decode barely
 *    slows under a lower clock (MaxQ).
 */
#include "perf.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "error.h"

#define ACT_BYTES 2.0 /* activations exchanged in 16 bit */

/* The decomposition shared by the double and the line form, in seconds. */
typedef struct perf_terms {
	double compute_a, compute_b; /* compute(C) = a + b C */
	double memory_a, memory_b;   /* memory(C) = a + b C */
	double comm, overhead;
	double flops_a, flops_b;     /* per-GPU work (divided by tp x pp) */
	double bytes_a, bytes_b;
} perf_terms;

static int kv_split(const perf_model *m)
{
	if (m->dp_attention)
		return m->tp;
	if (m->llm->kv_lora_rank > 0)
		return 1;
	return m->llm->kv_heads < m->tp ? (m->llm->kv_heads > 0 ? m->llm->kv_heads : 1) : m->tp;
}

static double link_bw(const perf_model *m)
{
	const gpu_spec *g = m->gpu;
	return (m->scale_out ? g->scale_out_bw : g->scale_up_bw) * g->eff_comm;
}

/* Share of the routed expert weights an iteration of `tokens` tokens reads. */
static double experts_touched(const llm_spec *l, double tokens)
{
	if (l->experts <= 0 || tokens <= 0)
		return 0.0;
	double p = (double)l->experts_active / l->experts;
	if (p >= 1.0)
		return 1.0;
	return -expm1(tokens * log1p(-p)); /* 1 - (1-p)^tokens without cancellation */
}

static double comm_time(const perf_model *m, double tokens)
{
	const gpu_spec *g = m->gpu;
	const llm_spec *l = m->llm;
	if (tokens <= 0)
		return 0.0;
	double t = 0.0;
	double act = tokens * l->hidden * ACT_BYTES;
	if (m->tp > 1) {
		double n = m->tp;
		double one = 2.0 * (n - 1.0) / n * act / link_bw(m) +
			     2.0 * (n - 1.0) * g->collective_latency_s;
		t += 2.0 * l->layers * one;
	}
	if (m->ep > 1 && l->experts > 0) {
		double n = m->ep;
		double bytes = tokens / n * l->experts_active * l->hidden * ACT_BYTES * (n - 1.0) / n;
		t += 2.0 * l->layers * (bytes / link_bw(m) + g->collective_latency_s);
	}
	if (m->pp > 1)
		t += (m->pp - 1) * (act / link_bw(m) + g->collective_latency_s);
	return t;
}

static void perf_terms_of(const perf_model *m, const perf_batch *b, double clock, perf_terms *t)
{
	const gpu_spec *g = m->gpu;
	const llm_spec *l = m->llm;
	assert(clock > 0.0 && clock <= 1.0);
	double tp = m->tp, gpus = (double)m->tp * m->pp;
	double tokens = (double)b->prefill_tokens + (double)b->decode_seqs;

	double attn = llm_attn_flops_per_pair(l);
	double flops_a = llm_dense_flops_per_token(l) * tokens + attn * (double)b->prefill_pairs;
	double flops_b = attn; /* per decode context token */
	/* calibrated curves: efficiency rises with the GEMM's M (the iteration's
	 * tokens) and with the bytes a GPU streams (its share of the weights, which
	 * dominate the reads); both are constant over a decode stretch, so the
	 * fixed-point lines stay exact.  Flat at the plateau when uncalibrated. */
	double eff_c = g->eff_compute;
	if (g->compute_half_tokens > 0 && tokens > 0)
		eff_c *= tokens / (tokens + g->compute_half_tokens);
	double peak = g->flops[l->weight_precision] * eff_c * clock;

	double w = llm_weight_bytes(l);
	double share = l->experts > 0 ? l->expert_share : 0.0;
	double weights = (1.0 - share) * w + share * w * experts_touched(l, tokens);
	double kv = llm_kv_bytes_per_token(l);
	double split = kv_split(m);
	double eff_m = g->eff_memory;
	if (g->memory_half_bytes > 0) {
		double b_gpu = weights / tp;
		eff_m *= b_gpu / (b_gpu + g->memory_half_bytes);
	}
	double bw = g->mem_bw * eff_m;

	t->compute_a = flops_a / tp / peak;
	t->compute_b = flops_b / tp / peak;
	t->memory_a = (weights / tp + kv * (double)b->prefill_tokens / split) / bw;
	t->memory_b = kv / split / bw;
	t->comm = comm_time(m, tokens);
	t->overhead = g->overhead_s;
	t->flops_a = flops_a / gpus;
	t->flops_b = flops_b / gpus;
	/* KV per GPU: the stage's layers (1/pp) of the split share */
	t->bytes_a = weights / gpus + kv * (double)b->prefill_tokens / split / m->pp;
	t->bytes_b = kv / split / m->pp;
}

int perf_init(perf_model *m, const gpu_spec *gpu, const llm_spec *llm, int tp, int pp, int ep,
	      bool dp_attention, bool scale_out, fs_error *err)
{
	if (!m || !gpu || !llm)
		return fs_error_msg(err, FS_ERR_INTERNAL, "perf_init: null argument");
	if (tp < 1 || pp < 1 || ep < 1)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "parallelism tp=%d pp=%d ep=%d; expected each >= 1", tp, pp, ep);
	if ((long long)ep > (long long)tp * pp)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "expert parallel degree %d exceeds the replica's %d GPUs "
				    "(tp %d x pp %d); expected ep <= tp x pp",
				    ep, tp * pp, tp, pp);
	if (ep > 1 && llm->experts <= 0)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "expert parallel degree %d for %s, which has no experts; "
				    "expected ep = 1 for a dense model",
				    ep, llm->name);
	if (llm->layers < 1 || llm->hidden < 1 || llm->params_active <= 0 ||
	    llm->params_total < llm->params_active)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "model %s: layers, hidden and params_active must be positive "
				    "and params_total >= params_active",
				    llm->name);
	if (pp > llm->layers)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "%d pipeline stages for %s's %d layers; expected pp <= layers",
				    pp, llm->name, llm->layers);
	if (llm->experts > 0 &&
	    (llm->experts_active < 1 || llm->experts_active > llm->experts ||
	     !(llm->expert_share >= 0.0 && llm->expert_share <= 1.0)))
		return fs_error_msg(err, FS_ERR_INPUT,
				    "model %s: experts_active %d of %d experts, expert_share %g; "
				    "expected 1 <= experts_active <= experts and share in [0, 1]",
				    llm->name, llm->experts_active, llm->experts, llm->expert_share);
	int prec = llm->weight_precision;
	if (prec < 0 || prec >= HW_NPREC)
		return fs_error_msg(err, FS_ERR_INPUT, "model %s: unknown weight precision %d",
				    llm->name, prec);
	if (!(gpu->flops[prec] > 0.0))
		return fs_error_msg(err, FS_ERR_INPUT,
				    "gpu %s has no %s tensor throughput, which model %s's %s weights "
				    "need; expected a GPU that supports %s or a model in a supported "
				    "precision",
				    gpu->name, hw_precision_name(prec), llm->name,
				    hw_precision_name(prec), hw_precision_name(prec));
	if (!(gpu->mem_bw > 0.0) || !(gpu->eff_compute > 0.0) || !(gpu->eff_memory > 0.0))
		return fs_error_msg(err, FS_ERR_INPUT,
				    "gpu %s: mem_bw, eff_compute and eff_memory must be > 0",
				    gpu->name);
	if (tp > 1 || pp > 1 || ep > 1) {
		double link = scale_out ? gpu->scale_out_bw : gpu->scale_up_bw;
		if (!(link > 0.0) || !(gpu->eff_comm > 0.0))
			return fs_error_msg(err, FS_ERR_INPUT,
					    "gpu %s: a replica of %d GPUs communicates over %s, "
					    "whose bandwidth (%g B/s) and eff_comm (%g) must be > 0",
					    gpu->name, tp * pp, scale_out ? "scale_out_bw" : "scale_up_bw",
					    link, gpu->eff_comm);
	}
	double per_gpu = llm_weight_bytes(llm) / ((double)tp * pp);
	if (!(per_gpu < gpu->mem_bytes))
		return fs_error_msg(err, FS_ERR_INPUT,
				    "model %s's weights (%.1f GB) need %.1f GB per GPU over tp %d x pp "
				    "%d, more than gpu %s's %.1f GB; expected more GPUs per replica",
				    llm->name, llm_weight_bytes(llm) / 1e9, per_gpu / 1e9, tp, pp,
				    gpu->name, gpu->mem_bytes / 1e9);
	m->gpu = gpu;
	m->llm = llm;
	m->tp = tp;
	m->pp = pp;
	m->ep = ep;
	m->dp_attention = dp_attention;
	m->scale_out = scale_out;
	m->calibrated = gpu->calibrated;
	return FS_OK;
}

double perf_iteration(const perf_model *m, const perf_batch *b, double clock, perf_result *out)
{
	perf_terms t;
	perf_terms_of(m, b, clock, &t);
	double c = (double)b->decode_ctx;
	double compute = t.compute_a + t.compute_b * c;
	double memory = t.memory_a + t.memory_b * c;
	double top = compute > memory ? compute : memory;
	double time = top + t.comm + t.overhead;
	if (out) {
		out->time_s = time;
		out->compute_s = compute;
		out->memory_s = memory;
		out->comm_s = t.comm;
		out->overhead_s = t.overhead;
		out->flops = t.flops_a + t.flops_b * c;
		out->bytes = t.bytes_a + t.bytes_b * c;
		out->compute_bound_share = top > 0.0 ? compute / top : 0.0;
	}
	return time;
}

/* Seconds to 2^-16 ns.  The largest coefficient the model produces is a
 * fraction of a second (2^45 units ~ 0.54 s); llround is exact below 2^53. */
static int64_t to_fixed(double s)
{
	double u = s * 1e9 * (double)(1 << PERF_FP_SHIFT);
	assert(u >= 0.0 && u < 9.0e18);
	return (int64_t)llround(u);
}

void perf_line_of(const perf_model *m, const perf_batch *b, double clock, perf_line *out)
{
	perf_terms t;
	perf_terms_of(m, b, clock, &t);
	out->ca = to_fixed(t.compute_a);
	out->cb = to_fixed(t.compute_b);
	out->ma = to_fixed(t.memory_a);
	out->mb = to_fixed(t.memory_b);
	out->fixed = to_fixed(t.comm + t.overhead);
}

/*
 * perf_line_sum: with x_j = c0 + d j, both arms are lines in j,
 *   comp(j) = (ca + cb c0) + (cb d) j,   mem(j) = (ma + mb c0) + (mb d) j,
 * and comp(j) - mem(j) = A + B j is monotone in j, so the max takes one arm on
 * a prefix [0, s) and the other on the rest [s, k): one switch at most.  s is
 * found by integer division on unsigned magnitudes (no negation overflow);
 * ties (A + B j = 0) go to either arm, whose values are then equal.  Each arm
 * is summed in closed form, n L0 + LB (a + b - 1) n / 2, where one of n and
 * (a + b - 1) = 2b - 1 - n is even, so the halving is exact.
 *
 * Every multiplication and addition is checked (__builtin_*_overflow).  The
 * limits are those of the int64 result: the sum must stay below 2^63 units,
 * i.e. about 39 hours of iterations, and so must each arm's values; with the
 * model's coefficients (< 2^45 per line) that allows e.g. k = 2^24 iterations
 * of up to 8 ms each.  Overflow is a caller bug: it asserts and, without
 * assertions, saturates to INT64_MAX.  The overflow flag is a local passed
 * down, so concurrent calls (OpenMP sweeps) share no state.
 */
static int64_t mul_c(bool *ovf, int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_mul_overflow(a, b, &r)) {
		*ovf = true;
		return 0;
	}
	return r;
}

static int64_t add_c(bool *ovf, int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r)) {
		*ovf = true;
		return 0;
	}
	return r;
}

static int64_t sub_c(bool *ovf, int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r)) {
		*ovf = true;
		return 0;
	}
	return r;
}

static int64_t u2s(bool *ovf, uint64_t v)
{
	if (v > (uint64_t)INT64_MAX) {
		*ovf = true;
		return 0;
	}
	return (int64_t)v;
}

/* Sum of l0 + lb j for j in [a, b), a < b <= k <= 2^62. */
static int64_t arm_sum(bool *ovf, int64_t l0, int64_t lb, uint64_t a, uint64_t b)
{
	if (b <= a)
		return 0;
	uint64_t n = b - a;
	int64_t sum = mul_c(ovf, u2s(ovf, n), l0);
	if (lb != 0) { /* skipped when flat, so d = 0 has no limit from the triangle */
		uint64_t m = a + b - 1;
		int64_t tri = n % 2 == 0 ? mul_c(ovf, u2s(ovf, n / 2), u2s(ovf, m))
					 : mul_c(ovf, u2s(ovf, n), u2s(ovf, m / 2));
		sum = add_c(ovf, sum, mul_c(ovf, lb, tri));
	}
	return sum;
}

int64_t perf_line_sum(const perf_line *l, uint64_t c0, uint64_t d, uint64_t k)
{
	if (k == 0)
		return 0;
	if (k == 1)
		return perf_line_eval(l, c0);
	bool ovf = k > ((uint64_t)1 << 62);
	int64_t x0 = u2s(&ovf, c0), dd = u2s(&ovf, d);
	int64_t cA = add_c(&ovf, l->ca, mul_c(&ovf, l->cb, x0)), cB = mul_c(&ovf, l->cb, dd);
	int64_t mA = add_c(&ovf, l->ma, mul_c(&ovf, l->mb, x0)), mB = mul_c(&ovf, l->mb, dd);
	int64_t A = sub_c(&ovf, cA, mA), B = sub_c(&ovf, cB, mB);

	/* s: the first index of the second arm */
	uint64_t s;
	bool comp_first;
	if (B == 0) {
		s = k;
		comp_first = A >= 0;
	} else if (B > 0) {
		/* A + B j >= 0 from j = ceil(-A / B) on: memory first, compute after */
		comp_first = false;
		s = A >= 0 ? 0 : (uint64_t)(-(A + 1)) / (uint64_t)B + 1; /* -no overflow */
	} else {
		/* A + B j >= 0 up to j = floor(A / -B): compute first, memory after */
		comp_first = true;
		s = A < 0 ? 0 : (uint64_t)A / ((uint64_t)0 - (uint64_t)B) + 1;
	}
	if (s > k)
		s = k;
	int64_t sum;
	if (comp_first)
		sum = add_c(&ovf, arm_sum(&ovf, cA, cB, 0, s), arm_sum(&ovf, mA, mB, s, k));
	else
		sum = add_c(&ovf, arm_sum(&ovf, mA, mB, 0, s), arm_sum(&ovf, cA, cB, s, k));
	/* both arms' values at the last index must fit too (they may be negative
	 * in a hand-made line, so the sum fitting does not imply it) */
	int64_t last = u2s(&ovf, k - 1);
	(void)add_c(&ovf, cA, mul_c(&ovf, cB, last));
	(void)add_c(&ovf, mA, mul_c(&ovf, mB, last));
	sum = add_c(&ovf, sum, mul_c(&ovf, u2s(&ovf, k), l->fixed));
	if (ovf) {
		assert(!"perf_line_sum: int64 overflow (sum beyond ~39 h of iterations?)");
		return INT64_MAX;
	}
	return sum;
}

double perf_kv_capacity_tokens(const perf_model *m, double reserve_share)
{
	double gpus = (double)m->tp * m->pp;
	double free_b = m->gpu->mem_bytes * gpus - llm_weight_bytes(m->llm);
	/* KV replicated beyond the split (see kv_split) occupies tp / split copies */
	double per_token = llm_kv_bytes_per_token(m->llm) * ((double)m->tp / kv_split(m));
	return free_b * (1.0 - reserve_share) / per_token;
}
