/*
 * test_perf.c - unit tests of models/perf.h, the iteration-time model.
 *
 * The GPU and LLM figures are typed in here from public datasheets and model
 * cards (not read from the catalog), and every expectation is recomputed by
 * hand from those raw figures, not through the model's helpers, so a wrong
 * helper cannot agree with itself:
 *  - a one-sequence decode on a dense model is memory-bound at weights / tp / bw;
 *  - an 8192-token prefill is compute-bound at ~2 x params x tokens / tp / peak;
 *  - halving the SM clock doubles compute-bound time and leaves memory-bound
 *    decode within 1 % (the MaxQ physics);
 *  - TP=2 halves compute and adds the ring all-reduce time;
 *  - MoE reads experts_active / experts of the experts for one token, ~all for many;
 *  - perf_init refuses an unsupported precision and weights that do not fit;
 *  - the fixed-point line agrees with the double within its rounding bound;
 *  - perf_line_sum equals the brute-force sum on 10,000+ random lines
 *    (fixed seed), crossing or not, equal slopes, d = 0, k = 0 and 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "perf.h"

/* NVIDIA A100 SXM 80GB datasheet: 312 TFLOP/s dense BF16, 80 GB HBM2e at
 * 2,039 GB/s, NVLink 3 600 GB/s bidirectional = 300 GB/s per direction, 400 W. */
static gpu_spec a100(void)
{
	gpu_spec g;
	memset(&g, 0, sizeof g);
	strcpy(g.name, "a100");
	g.flops[HW_FP16] = 312e12;
	g.mem_bytes = 80e9;
	g.mem_bw = 2.039e12;
	g.scale_up_bw = 300e9;
	g.scale_out_bw = 25e9;
	g.tdp_w = 400;
	g.eff_compute = g.eff_memory = g.eff_comm = 1.0;
	return g;
}

/* Llama-2-70B: 80 layers, hidden 8192, 64 heads, 8 KV heads of 128, ~69e9 params. */
static llm_spec llama70(void)
{
	llm_spec m;
	memset(&m, 0, sizeof m);
	strcpy(m.name, "llama-2-70b");
	m.params_total = m.params_active = 69e9;
	m.layers = 80;
	m.hidden = 8192;
	m.heads = 64;
	m.kv_heads = 8;
	m.head_dim = 128;
	m.weight_precision = m.kv_precision = HW_FP16;
	m.max_context = 4096;
	return m;
}

/* Llama-2-7B: 32 layers, hidden 4096, 32 heads (MHA) of 128, 6.74e9 params. */
static llm_spec llama7(void)
{
	llm_spec m = llama70();
	strcpy(m.name, "llama-2-7b");
	m.params_total = m.params_active = 6.74e9;
	m.layers = 32;
	m.hidden = 4096;
	m.heads = m.kv_heads = 32;
	return m;
}

/* Mixtral-8x7B: 46.7e9 params, 12.9e9 active, 8 experts, 2 per token, 32
 * layers of hidden 4096, 32 heads, 8 KV heads; experts ~45.1e9 of the params. */
static llm_spec mixtral(void)
{
	llm_spec m = llama70();
	strcpy(m.name, "mixtral-8x7b");
	m.params_total = 46.7e9;
	m.params_active = 12.9e9;
	m.layers = 32;
	m.hidden = 4096;
	m.heads = 32;
	m.kv_heads = 8;
	m.experts = 8;
	m.experts_active = 2;
	m.expert_share = 45.1 / 46.7;
	return m;
}

static void init_ok(perf_model *pm, const gpu_spec *g, const llm_spec *l, int tp, int pp, int ep)
{
	fs_error err;
	fs_error_clear(&err);
	int rc = perf_init(pm, g, l, tp, pp, ep, false, false, &err);
	if (rc != FS_OK)
		fail_msg("perf_init: %s", err.message);
}

static void assert_rel(double got, double want, double rel)
{
	if (!(fabs(got - want) <= rel * fabs(want)))
		fail_msg("got %.9g, want %.9g (rel tolerance %g)", got, want, rel);
}

static perf_batch decode_batch(uint32_t seqs, uint64_t ctx)
{
	perf_batch b = { 0, 0, 0, seqs, ctx };
	return b;
}

static perf_batch prefill_batch(uint64_t tokens)
{
	perf_batch b = { tokens, tokens * (tokens + 1) / 2, 1, 0, 0 };
	return b;
}

static void test_decode_memory_bound(void **state)
{
	(void)state;
	gpu_spec g = a100();
	llm_spec l = llama70();
	perf_model pm;
	init_ok(&pm, &g, &l, 2, 1, 1);
	perf_batch b = decode_batch(1, 16);
	perf_result r;
	double t = perf_iteration(&pm, &b, 1.0, &r);
	/* by hand: 69e9 params x 2 B over 2 GPUs; KV 2 x 80 x 8 x 128 x 2 B per token */
	double weights = 69e9 * 2 / 2 / 2.039e12;
	double kv = 16 * 327680.0 / 2 / 2.039e12;
	double comm = 160 * (2.0 * 1 / 2 * 8192 * 2 / 300e9); /* 160 all-reduces of one token */
	assert_rel(r.memory_s, weights + kv, 1e-12);
	assert_rel(r.comm_s, comm, 1e-12);
	assert_true(r.compute_s < 0.01 * r.memory_s);
	assert_true(r.compute_bound_share < 0.01);
	assert_rel(t, weights + kv + comm, 1e-12);
	assert_rel(t, weights, 0.001); /* ~34 ms, the weight read is all of it */
	assert_rel(r.time_s, t, 0);
	/* per-GPU bytes: half the weights and half the KV */
	assert_rel(r.bytes, 69e9 + 16 * 327680.0 / 2, 1e-12);
	assert_rel(r.flops, (2 * 69e9 + 16 * 4.0 * 80 * 64 * 128) / 2, 1e-12);
}

static void test_prefill_compute_bound(void **state)
{
	(void)state;
	gpu_spec g = a100();
	llm_spec l = llama70();
	perf_model pm;
	init_ok(&pm, &g, &l, 2, 1, 1);
	perf_batch b = prefill_batch(8192);
	perf_result r;
	double t = perf_iteration(&pm, &b, 1.0, &r);
	double dense = 2 * 69e9 * 8192 / 2 / 312e12;
	double attn = 8192.0 * 8193 / 2 * (4.0 * 80 * 64 * 128) / 2 / 312e12;
	assert_rel(r.compute_s, dense + attn, 1e-12);
	assert_true(r.compute_bound_share == 1.0);
	assert_true(r.memory_s < 0.05 * r.compute_s);
	/* 160 ring all-reduces of 8192 x 8192 x 2 B between 2 GPUs */
	double comm = 160 * (2.0 * 1 / 2 * 8192.0 * 8192 * 2 / 300e9);
	assert_rel(r.comm_s, comm, 1e-12);
	assert_rel(t, dense + attn + comm, 1e-12);
	assert_rel(t, dense, 0.15); /* attention adds ~8 % at 8k, the all-reduces ~4 % */
}

static void test_clock_maxq(void **state)
{
	(void)state;
	gpu_spec g = a100();
	g.collective_latency_s = 5e-6;
	g.overhead_s = 1e-3;
	llm_spec l = llama70();
	perf_model pm;
	init_ok(&pm, &g, &l, 2, 1, 1);
	perf_batch p = prefill_batch(8192);
	perf_result r1, r2;
	perf_iteration(&pm, &p, 1.0, &r1);
	perf_iteration(&pm, &p, 0.5, &r2);
	assert_rel(r2.compute_s, 2 * r1.compute_s, 1e-12);
	assert_rel(r2.time_s - r2.comm_s - r2.overhead_s, 2 * (r1.time_s - r1.comm_s - r1.overhead_s),
		   1e-12);
	assert_rel(r2.comm_s, r1.comm_s, 0); /* links do not slow with the SM clock */
	perf_batch d = decode_batch(1, 16);
	double t1 = perf_iteration(&pm, &d, 1.0, NULL);
	double t2 = perf_iteration(&pm, &d, 0.5, NULL);
	assert_true(t2 >= t1);
	assert_true(t2 < 1.01 * t1);
}

static void test_tp_halves_compute_adds_comm(void **state)
{
	(void)state;
	gpu_spec g = a100();
	g.collective_latency_s = 8e-6;
	g.eff_comm = 0.8;
	llm_spec l = llama7();
	perf_model p1, p2;
	init_ok(&p1, &g, &l, 1, 1, 1);
	init_ok(&p2, &g, &l, 2, 1, 1);
	perf_batch b = prefill_batch(4096);
	perf_result r1, r2;
	perf_iteration(&p1, &b, 1.0, &r1);
	perf_iteration(&p2, &b, 1.0, &r2);
	assert_rel(r2.compute_s, r1.compute_s / 2, 1e-12);
	assert_rel(r2.memory_s, r1.memory_s / 2, 1e-12);
	assert_true(r1.comm_s == 0.0);
	/* 2 ring all-reduces per layer of 4096 x 4096 x 2 B: 2 (n-1)/n x bytes / link + 2 (n-1) lat */
	double one = 2.0 * 1 / 2 * (4096.0 * 4096 * 2) / (300e9 * 0.8) + 2 * 1 * 8e-6;
	assert_rel(r2.comm_s, 2 * 32 * one, 1e-12);
	assert_rel(r2.time_s, r2.compute_s + 2 * 32 * one, 1e-12);
	/* scale-out: the same collectives over the NIC */
	perf_model po;
	fs_error err;
	assert_int_equal(perf_init(&po, &g, &l, 2, 1, 1, false, true, &err), FS_OK);
	perf_result ro;
	perf_iteration(&po, &b, 1.0, &ro);
	double one_o = 2.0 * 1 / 2 * (4096.0 * 4096 * 2) / (25e9 * 0.8) + 2 * 1 * 8e-6;
	assert_rel(ro.comm_s, 2 * 32 * one_o, 1e-12);
}

static void test_pipeline_latency_sums_stages(void **state)
{
	(void)state;
	gpu_spec g = a100();
	llm_spec l = llama70();
	perf_model a, b2;
	init_ok(&a, &g, &l, 2, 1, 1);
	init_ok(&b2, &g, &l, 2, 2, 1);
	perf_batch d = decode_batch(8, 8 * 1000);
	perf_result ra, rb;
	perf_iteration(&a, &d, 1.0, &ra);
	perf_iteration(&b2, &d, 1.0, &rb);
	/* same compute and memory time (stages in series), half the per-GPU work */
	assert_rel(rb.memory_s, ra.memory_s, 1e-12);
	assert_rel(rb.compute_s, ra.compute_s, 1e-12);
	assert_rel(rb.bytes, ra.bytes / 2, 1e-12);
	/* plus one activation send of 8 tokens x 8192 x 2 B between the stages */
	assert_rel(rb.comm_s - ra.comm_s, 8 * 8192 * 2 / 300e9, 1e-9);
	/* capacity: 4 GPUs hold the same weights, the rest is KV */
	double cap = (4 * 80e9 - 138e9) * 0.9 / 327680;
	assert_rel(perf_kv_capacity_tokens(&b2, 0.1), cap, 1e-12);
}

static void test_moe_experts_touched(void **state)
{
	(void)state;
	gpu_spec g = a100();
	llm_spec l = mixtral();
	perf_model pm;
	init_ok(&pm, &g, &l, 2, 1, 1);
	double w = 46.7e9 * 2, s = 45.1 / 46.7;
	perf_result r;
	perf_batch one = decode_batch(1, 0);
	perf_iteration(&pm, &one, 1.0, &r);
	/* one token reads 2 of 8 experts */
	assert_rel(r.bytes, ((1 - s) * w + s * w * 2 / 8) / 2, 1e-12);
	assert_rel(r.memory_s, ((1 - s) * w + s * w * 0.25) / 2 / 2.039e12, 1e-12);
	/* dense FLOPs use the active parameters */
	assert_rel(r.flops, 2 * 12.9e9 / 2, 1e-12);
	perf_batch two = decode_batch(2, 0);
	perf_iteration(&pm, &two, 1.0, &r);
	assert_rel(r.bytes, ((1 - s) * w + s * w * (1 - 0.75 * 0.75)) / 2, 1e-12);
	perf_batch many = decode_batch(256, 0);
	perf_iteration(&pm, &many, 1.0, &r);
	assert_rel(r.bytes, w / 2, 1e-12);
	/* a prefill chunk counts as many tokens too */
	perf_batch p = prefill_batch(512);
	perf_iteration(&pm, &p, 1.0, &r);
	assert_true(r.bytes > 0.999999 * w / 2);

	/* EP=2: 2 all-to-alls per layer; 64 tokens spread over 2 ranks, each
	 * sending half of its tokens' 2 expert copies */
	perf_model pe;
	init_ok(&pe, &g, &l, 2, 1, 2);
	perf_batch b64 = decode_batch(64, 0);
	perf_result r1, r2;
	perf_iteration(&pm, &b64, 1.0, &r1);
	perf_iteration(&pe, &b64, 1.0, &r2);
	double a2a = 64.0 / 2 * 2 * 4096 * 2 * 0.5 / 300e9;
	assert_rel(r2.comm_s - r1.comm_s, 2 * 32 * a2a, 1e-9);
}

static void test_kv_split_and_capacity(void **state)
{
	(void)state;
	gpu_spec g = a100();
	llm_spec l = llama70();
	perf_model p8, p16;
	init_ok(&p8, &g, &l, 8, 1, 1);
	init_ok(&p16, &g, &l, 16, 1, 1);
	perf_batch d = decode_batch(1, 100000);
	perf_result r8, r16;
	perf_iteration(&p8, &d, 1.0, &r8);
	perf_iteration(&p16, &d, 1.0, &r16);
	/* 8 KV heads: TP=16 replicates each head twice, so KV time stays put */
	double kv = 100000 * 327680.0 / 8 / 2.039e12;
	assert_rel(r8.memory_s, 138e9 / 8 / 2.039e12 + kv, 1e-12);
	assert_rel(r16.memory_s, 138e9 / 16 / 2.039e12 + kv, 1e-12);
	assert_rel(perf_kv_capacity_tokens(&p8, 0.0), (640e9 - 138e9) / 327680, 1e-12);
	assert_rel(perf_kv_capacity_tokens(&p16, 0.0), (1280e9 - 138e9) / (2 * 327680.0), 1e-12);

	/* MLA (one latent per layer): replicated on every TP rank unless dp_attention */
	llm_spec m = llama70();
	m.kv_lora_rank = 512;
	m.rope_dim = 64;
	double kvb = 80.0 * (512 + 64) * 2;
	perf_model tpm, dpm;
	fs_error err;
	assert_int_equal(perf_init(&tpm, &g, &m, 8, 1, 1, false, false, &err), FS_OK);
	assert_int_equal(perf_init(&dpm, &g, &m, 8, 1, 1, true, false, &err), FS_OK);
	perf_iteration(&tpm, &d, 1.0, &r8);
	perf_iteration(&dpm, &d, 1.0, &r16);
	assert_rel(r8.memory_s - 138e9 / 8 / 2.039e12, 100000 * kvb / 2.039e12, 1e-9);
	assert_rel(r16.memory_s - 138e9 / 8 / 2.039e12, 100000 * kvb / 8 / 2.039e12, 1e-9);
	assert_rel(perf_kv_capacity_tokens(&dpm, 0.0), (640e9 - 138e9) / kvb, 1e-12);
	assert_rel(perf_kv_capacity_tokens(&tpm, 0.0), (640e9 - 138e9) / kvb / 8, 1e-12);
}

static void test_init_errors(void **state)
{
	(void)state;
	gpu_spec g = a100();
	llm_spec l = llama70();
	perf_model pm;
	fs_error err;

	llm_spec f8 = l;
	f8.weight_precision = HW_FP8;
	assert_int_equal(perf_init(&pm, &g, &f8, 8, 1, 1, false, false, &err), FS_ERR_INPUT);
	assert_non_null(strstr(err.message, "fp8"));
	assert_non_null(strstr(err.message, "a100"));

	/* 138 GB of weights on one 80 GB GPU */
	assert_int_equal(perf_init(&pm, &g, &l, 1, 1, 1, false, false, &err), FS_ERR_INPUT);
	assert_non_null(strstr(err.message, "138.0 GB"));
	assert_non_null(strstr(err.message, "80.0 GB"));
	/* pipeline stages add capacity */
	assert_int_equal(perf_init(&pm, &g, &l, 1, 2, 1, false, false, &err), FS_OK);

	assert_int_equal(perf_init(&pm, &g, &l, 0, 1, 1, false, false, &err), FS_ERR_INPUT);
	assert_int_equal(perf_init(&pm, &g, &l, 2, 0, 1, false, false, &err), FS_ERR_INPUT);
	assert_int_equal(perf_init(&pm, &g, &l, 2, 1, 0, false, false, &err), FS_ERR_INPUT);
	llm_spec x = mixtral();
	assert_int_equal(perf_init(&pm, &g, &x, 2, 1, 3, false, false, &err), FS_ERR_INPUT);
	assert_non_null(strstr(err.message, "ep <= tp x pp"));
	assert_int_equal(perf_init(&pm, &g, &x, 2, 2, 4, false, false, &err), FS_OK);
	/* expert parallelism on a dense model */
	assert_int_equal(perf_init(&pm, &g, &l, 2, 1, 2, false, false, &err), FS_ERR_INPUT);
	/* a multi-GPU replica with no link */
	gpu_spec nol = g;
	nol.scale_up_bw = 0;
	assert_int_equal(perf_init(&pm, &nol, &l, 2, 1, 1, false, false, &err), FS_ERR_INPUT);

	g.calibrated = true;
	assert_int_equal(perf_init(&pm, &g, &l, 2, 1, 1, false, false, &err), FS_OK);
	assert_true(pm.calibrated);
	assert_int_equal(pm.tp, 2);
	assert_ptr_equal(pm.gpu, &g);
}

/* SplitMix64, local so the test does not lean on the code under test's peers. */
static uint64_t sm64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? sm64(s) % n : 0;
}

static void test_line_matches_double(void **state)
{
	(void)state;
	gpu_spec g = a100();
	g.overhead_s = 2e-3;
	g.collective_latency_s = 6e-6;
	g.eff_compute = 0.7;
	g.eff_memory = 0.8;
	g.eff_comm = 0.75;
	llm_spec models[3] = { llama70(), llama7(), mixtral() };
	int tps[3] = { 4, 1, 2 };
	uint64_t s = 42;
	const double unit = ldexp(1e-9, -PERF_FP_SHIFT); /* seconds per 2^-16 ns */
	for (int i = 0; i < 3000; i++) {
		int mi = i % 3;
		perf_model pm;
		init_ok(&pm, &g, &models[mi], tps[mi], 1, 1);
		perf_batch b;
		b.prefill_seqs = (uint32_t)below(&s, 3);
		b.prefill_tokens = b.prefill_seqs ? 1 + below(&s, 8192) : 0;
		uint64_t off = below(&s, 4096);
		b.prefill_pairs = b.prefill_tokens * off + b.prefill_tokens * (b.prefill_tokens + 1) / 2;
		b.decode_seqs = (uint32_t)below(&s, 256) + (b.prefill_seqs ? 0 : 1);
		uint64_t cmax = i % 10 == 0 ? 1000000 : 10000;
		double clock = 0.3 + 0.7 * (double)below(&s, 1001) / 1000.0;
		perf_line l;
		perf_line_of(&pm, &b, clock, &l);
		for (int j = 0; j < 4; j++) {
			b.decode_ctx = j == 0 ? 0 : b.decode_seqs * (1 + below(&s, cmax));
			double t = perf_iteration(&pm, &b, clock, NULL);
			double tl = (double)perf_line_eval(&l, b.decode_ctx) * unit;
			double tol = 1e-9 * t + (2.0 + (double)b.decode_ctx) / 2 * unit + 1e-15;
			if (!(fabs(tl - t) <= tol))
				fail_msg("case %d: line %.15g s, double %.15g s, C %llu", i, tl, t,
					 (unsigned long long)b.decode_ctx);
		}
	}
}

static int64_t brute_sum(const perf_line *l, uint64_t c0, uint64_t d, uint64_t k)
{
	int64_t sum = 0;
	for (uint64_t j = 0; j < k; j++)
		sum += perf_line_eval(l, c0 + d * j);
	return sum;
}

static void check_sum(const perf_line *l, uint64_t c0, uint64_t d, uint64_t k, int i)
{
	int64_t want = brute_sum(l, c0, d, k);
	int64_t got = perf_line_sum(l, c0, d, k);
	if (got != want)
		fail_msg("case %d: line (%lld + %lld C, %lld + %lld C) + %lld, c0 %llu d %llu k %llu: "
			 "sum %lld, brute force %lld",
			 i, (long long)l->ca, (long long)l->cb, (long long)l->ma, (long long)l->mb,
			 (long long)l->fixed, (unsigned long long)c0, (unsigned long long)d,
			 (unsigned long long)k, (long long)got, (long long)want);
}

static void test_line_sum_brute_force(void **state)
{
	(void)state;
	uint64_t s = 20240607;
	int crossings = 0;
	for (int i = 0; i < 10000; i++) {
		perf_line l;
		uint64_t c0 = below(&s, 1u << 20), d = below(&s, 1u << 10);
		uint64_t k = below(&s, 1500);
		int kind = (int)below(&s, 6);
		l.ca = (int64_t)below(&s, (uint64_t)1 << 40);
		l.cb = (int64_t)below(&s, (uint64_t)1 << 24);
		l.ma = (int64_t)below(&s, (uint64_t)1 << 40);
		l.mb = (int64_t)below(&s, (uint64_t)1 << 24);
		l.fixed = (int64_t)below(&s, (uint64_t)1 << 36);
		switch (kind) {
		case 0: /* equal slopes */
			l.mb = l.cb;
			break;
		case 1: /* d = 0: the same value k times */
			d = 0;
			break;
		case 2: /* k = 0 or 1 */
			k = below(&s, 2);
			break;
		case 3: { /* a crossing inside the range, at an exact tie when possible */
			uint64_t jx = k ? below(&s, k) : 0;
			int64_t x = (int64_t)(c0 + d * jx);
			l.cb = l.mb + 1 + (int64_t)below(&s, 1000);
			if (below(&s, 2)) { /* compute overtakes memory at x */
				l.ma = l.ca + (l.cb - l.mb) * x;
			} else { /* memory overtakes: swap the slopes */
				int64_t t = l.cb;
				l.cb = l.mb;
				l.mb = t;
				l.ca = l.ma + (l.mb - l.cb) * x + (int64_t)below(&s, 3) - 1;
			}
			break;
		}
		case 4: /* small negative coefficients: the algorithm must not assume signs */
			l.ca = (int64_t)below(&s, 2001) - 1000;
			l.cb = (int64_t)below(&s, 201) - 100;
			l.ma = (int64_t)below(&s, 2001) - 1000;
			l.mb = (int64_t)below(&s, 201) - 100;
			l.fixed = (int64_t)below(&s, 201) - 100;
			c0 = below(&s, 100);
			d = below(&s, 10);
			break;
		default:
			break;
		}
		/* count the cases where both arms win somewhere */
		if (k > 1) {
			int64_t first = (l.ca + l.cb * (int64_t)c0) - (l.ma + l.mb * (int64_t)c0);
			uint64_t xe = c0 + d * (k - 1);
			int64_t last = (l.ca + l.cb * (int64_t)xe) - (l.ma + l.mb * (int64_t)xe);
			if ((first > 0 && last < 0) || (first < 0 && last > 0))
				crossings++;
		}
		check_sum(&l, c0, d, k, i);
	}
	assert_true(crossings > 1000);

	/* exact ties at every index: identical lines */
	perf_line e = { 1000, 7, 1000, 7, 3 };
	check_sum(&e, 5, 3, 100, -1);
	/* realistic long stretches from a model line (the sum's limit is 2^63
	 * units ~ 39 h in all): 2^20 growing decode steps, 2^24 steps of ~7.6 ms */
	gpu_spec g = a100();
	g.overhead_s = 1e-3;
	llm_spec lm = llama70();
	perf_model pm;
	init_ok(&pm, &g, &lm, 8, 1, 1);
	perf_batch b = decode_batch(64, 0);
	perf_line l;
	perf_line_of(&pm, &b, 1.0, &l);
	assert_true(l.ma > l.ca && l.mb > l.cb); /* memory-bound throughout */
	check_sum(&l, 64 * 100, 1, (uint64_t)1 << 20, -2);
	llm_spec l7 = llama7();
	init_ok(&pm, &g, &l7, 1, 1, 1);
	b = decode_batch(1, 0);
	perf_line_of(&pm, &b, 1.0, &l);
	check_sum(&l, 1000, 0, (uint64_t)1 << 24, -3);
}

static void test_line_sum_model_crossing(void **state)
{
	(void)state;
	/* A decode batch of a GQA model at low clock goes from memory- to
	 * compute-bound as the contexts grow; the sum must follow the switch. */
	gpu_spec g = a100();
	g.overhead_s = 5e-4;
	llm_spec l = llama70();
	perf_model pm;
	init_ok(&pm, &g, &l, 4, 1, 1);
	perf_batch b = decode_batch(256, 0);
	perf_line ln;
	perf_line_of(&pm, &b, 0.25, &ln);
	int64_t d0 = ln.ca - ln.ma, d1 = ln.cb - ln.mb;
	assert_true(d0 != 0 && d1 != 0 && (d0 < 0) != (d1 < 0)); /* a switch at C > 0 */
	uint64_t cross = (uint64_t)(d0 < 0 ? -d0 : d0) / (uint64_t)(d1 < 0 ? -d1 : d1);
	uint64_t c0 = cross > 256 * 500 ? cross - 256 * 500 : 0;
	check_sum(&ln, c0, 256, 1000, -4);
	/* both arms really occur in the stretch */
	int64_t e0 = perf_line_eval(&ln, c0) - ln.fixed, e1 = perf_line_eval(&ln, c0 + 256 * 999) - ln.fixed;
	assert_true(e0 == (d0 > 0 ? ln.ca + ln.cb * (int64_t)c0 : ln.ma + ln.mb * (int64_t)c0));
	uint64_t ce = c0 + 256 * 999;
	assert_true(e1 == (d0 > 0 ? ln.ma + ln.mb * (int64_t)ce : ln.ca + ln.cb * (int64_t)ce));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_memory_bound),
		cmocka_unit_test(test_prefill_compute_bound),
		cmocka_unit_test(test_clock_maxq),
		cmocka_unit_test(test_tp_halves_compute_adds_comm),
		cmocka_unit_test(test_pipeline_latency_sums_stages),
		cmocka_unit_test(test_moe_experts_touched),
		cmocka_unit_test(test_kv_split_and_capacity),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_line_matches_double),
		cmocka_unit_test(test_line_sum_brute_force),
		cmocka_unit_test(test_line_sum_model_crossing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
