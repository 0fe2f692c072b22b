/*
 * scenario.c - the scenario schema (see scenario.h).
 *
 * Loading is three steps: yamltree reads the file and its includes into one
 * located tree; each --set override replaces or adds a key in that tree; and
 * read_schema() walks the tree with the typed getters of cfg.h, which convert
 * and check every value, fill defaults, report unknown keys, and build the
 * resolved document as they go.  The schema below is the single place that
 * says which keys exist, their units, defaults and ranges.
 */
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cfg.h"
#include "yamltree.h"

#define YEAR_S (365.25 * 86400.0)

/* Limits on what one run may ask for.  Beyond them a scenario is refused at
 * validation with the bound in the message, rather than running out of memory
 * or running for days (the memory estimate, run/memest.h, is the finer check).
 * They are far above anything the examples do. */
#define SC_RACKS_MAX 100000         /* racks in the whole site */
#define SC_TICKS_MAX 1e9            /* control ticks over warm-up + duration */
#define SC_ARRIVALS_MAX 1e10        /* expected requests over warm-up + duration */
#define SC_RATE_MAX 1e9             /* arrival rate of one class or station [1/s] */
#define SC_TOKENS_MAX 2147483648.0  /* lengths in tokens (2^31, as workload.c) */
#define SC_POWER_MAX 1e11           /* a site's power budget, a stage's rating [W] */
#define SC_ITER_DECODE_MAX_S 1.0    /* longest decode iteration (perf.c fixed point) */
#define SC_ITER_MAX_S 1e4           /* longest iteration of any shape */
#define SC_KV_TOKENS_MAX 1e15       /* KV capacity of one replica [tokens] */

static const char *const arrival_kinds[] = {"poisson", "gamma", NULL};
static const char *const service_dists[] = {"exponential", "deterministic", "lognormal", NULL};

static int name_ok(const char *s)
{
	return cfg_name_ok(s, 127);
}

static void read_output(cfg_map *root, scenario *sc)
{
	cfg_map *m = cfg_map_get(root, "output", false);
	char def_file[sizeof sc->name + 8];
	snprintf(def_file, sizeof def_file, "%s.h5", sc->name);
	const int64_t def_compression = 4;
	int64_t compression = def_compression;
	if (cfg_string(m, "file", def_file, sc->output.file, sizeof sc->output.file) == 0 &&
	    !sc->output.file[0])
		cfg_fail(m, "file", "empty file name; expected a path such as 'run.h5'");
	const double all = 1.0;
	cfg_quantity(m, "requests", "%", &all, CFG_BETWEEN(0, 1), &sc->output.requests_fraction);
	cfg_int(m, "compression", &def_compression, 0, 9, &compression);
	sc->output.compression = (int)compression;
	cfg_close(m);
}

static void read_station(cfg_map *root, scenario *sc)
{
	station_params *p = &sc->station;
	cfg_map *st = cfg_map_get(root, "station", true);
	int64_t servers = 1, queue_limit = 0;
	const int64_t zero = 0;
	const int def_poisson = STATION_POISSON, def_exp = STATION_EXPONENTIAL;
	const double one = 1.0;

	cfg_int(st, "servers", NULL, 1, 1000000, &servers);

	cfg_map *arr = cfg_map_get(st, "arrival", true);
	cfg_quantity(arr, "rate", "1/s", NULL, CFG_GT_LE(0, SC_RATE_MAX), &p->arrival_rate);
	if (!cfg_status_of(arr) &&
	    p->arrival_rate * (sc->warmup_s + sc->duration_s) > SC_ARRIVALS_MAX)
		cfg_fail(arr, "rate",
			 "%.3g /s over %.3g s of warm-up + duration is %.3g requests; expected at "
			 "most %.0e (a lower rate or a shorter run)",
			 p->arrival_rate, sc->warmup_s + sc->duration_s,
			 p->arrival_rate * (sc->warmup_s + sc->duration_s), SC_ARRIVALS_MAX);
	cfg_enum(arr, "process", arrival_kinds, &def_poisson, &p->arrival_kind);
	p->arrival_cv = 1.0;
	if (p->arrival_kind == STATION_GAMMA)
		cfg_quantity(arr, "cv", "1", &one, CFG_GT_LE(0, 100), &p->arrival_cv);
	else if (cfg_has(arr, "cv"))
		cfg_fail(arr, "cv",
			 "cv is used only with process gamma; expected no cv for "
			 "process poisson");
	cfg_close(arr);

	cfg_map *svc = cfg_map_get(st, "service", true);
	cfg_quantity(svc, "mean", "s", NULL, CFG_GT(0), &p->service_mean_s);
	cfg_enum(svc, "distribution", service_dists, &def_exp, &p->service_dist);
	p->service_cv = 1.0;
	if (p->service_dist == STATION_LOGNORMAL)
		cfg_quantity(svc, "cv", "1", &one, CFG_GT_LE(0, 100), &p->service_cv);
	else if (cfg_has(svc, "cv"))
		cfg_fail(svc, "cv",
			 "cv is used only with distribution lognormal; expected no cv "
			 "for distribution %s",
			 service_dists[p->service_dist]);
	cfg_close(svc);

	cfg_int(st, "queue_limit", &zero, 0, UINT32_MAX, &queue_limit);
	cfg_close(st);
	p->servers = (int)servers;
	p->queue_limit = (uint32_t)queue_limit;
	sc->has_station = true;
}

/* --- the factory: racks, serving pools, workload ---------------------------------- */

static const char *const roles[] = { "both", "prefill", "decode", NULL };
static const char *const routers[] = { "round_robin", "least_work", "prefix_aware", NULL };
static const char *const preempts[] = { "recompute", "swap", NULL };
static const char *const processes[] = { "poisson", "gamma", "diurnal", "trace", NULL };
static const char *const lengths[] = { "fixed", "lognormal", "empirical", NULL };
static const char *const formats[] = { "azure", "jsonl", NULL };
static const char *const columns[] = { "input", "output", NULL };

/* A data file named by the scenario must be readable now, so that validate
 * catches it and nothing runs. */
static void check_readable(cfg_map *m, const char *key, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f)
		fclose(f);
	else
		cfg_fail(m, key, "cannot open '%s': %s; expected a readable file (relative paths "
				 "are taken from the scenario's directory, then the working directory)",
			 path, strerror(errno));
}

/* Relative data paths resolve against the scenario's directory when the file
 * is there, else against the working directory. */
static void resolve_path(const char *scenario_path, const char *given, char *out, size_t n)
{
	snprintf(out, n, "%s", given);
	if (given[0] == '/' || !scenario_path)
		return;
	const char *slash = strrchr(scenario_path, '/');
	if (!slash)
		return;
	char cand[2048];
	snprintf(cand, sizeof cand, "%.*s/%s", (int)(slash - scenario_path), scenario_path, given);
	FILE *f = fopen(cand, "r");
	if (f) {
		fclose(f);
		size_t len = strlen(cand);
		if (len < n)
			memcpy(out, cand, len + 1);
	}
}

static void read_racks(cfg_map *root, scenario *sc)
{
	cfg_map *list = cfg_list(root, "racks", true);
	size_t n = cfg_len(list);
	if (n > SC_MAX_RACKS) {
		cfg_fail(root, "racks", "%zu rack entries; expected at most %d", n, SC_MAX_RACKS);
		return;
	}
	for (size_t i = 0; i < n && !cfg_status_of(root); i++) {
		cfg_map *m = cfg_item_map(list, i);
		scenario_racks *r = &sc->racks[i];
		int64_t count = 0;
		cfg_string(m, "type", NULL, r->type, sizeof r->type);
		cfg_int(m, "count", NULL, 1, SC_RACKS_MAX, &count);
		if (!cfg_status_of(root) && !catalog_rack(&sc->cat, r->type))
			cfg_fail(m, "type", "unknown rack type '%s'; expected one of the catalog's "
					    "racks (factorysim catalog racks)",
				 r->type);
		r->count = (int)count;
		cfg_close(m);
		sc->n_racks = i + 1;
	}
	/* the site's racks one by one, in order: rack ids in the output are these */
	uint64_t total = 0;
	for (size_t i = 0; i < sc->n_racks; i++)
		total += (uint64_t)sc->racks[i].count;
	if (cfg_status_of(root))
		return;
	if (total > SC_RACKS_MAX) {
		cfg_fail(root, "racks", "%" PRIu64 " racks in all; expected 1 to %d", total,
			 SC_RACKS_MAX);
		return;
	}
	sc->rack_list = calloc(total ? total : 1, sizeof *sc->rack_list);
	if (!sc->rack_list) {
		cfg_fail(root, "racks", "cannot hold %" PRIu64 " racks in memory", total);
		return;
	}
	sc->rack_gpus = calloc(total ? total : 1, sizeof *sc->rack_gpus);
	if (!sc->rack_gpus) {
		cfg_fail(root, "racks", "cannot hold %" PRIu64 " racks in memory", total);
		return;
	}
	for (size_t i = 0; i < sc->n_racks; i++) {
		const rack_spec *spec = catalog_rack(&sc->cat, sc->racks[i].type);
		for (int k = 0; k < sc->racks[i].count; k++) {
			for (int g = 0; g < spec->n_groups; g++)
				sc->rack_gpus[sc->n_rack_list][g] = catalog_gpu(&sc->cat, spec->groups[g].gpu);
			sc->rack_list[sc->n_rack_list++] = spec;
		}
	}
}

static int racks_of(const scenario *sc, const char *type)
{
	int n = 0;
	for (size_t i = 0; i < sc->n_racks; i++)
		if (!strcmp(sc->racks[i].type, type))
			n += sc->racks[i].count;
	return n;
}

/* The serving engine times iterations in fixed point (perf.h): a decode
 * iteration must stay under about 2 s for a fast-forwarded stretch of them to
 * fit in 64 bits, and any iteration under about 1e5 s; the KV block count is
 * an integer too.  Catalog figures far from any real GPU (a bandwidth of 1 B/s,
 * a petabyte of HBM) break those, so the worst batch a pool can form is timed
 * here, at the lowest clock a power cap may set. */
static void check_pool_scale(cfg_map *m, const srv_pool_params *p, const srv_pool_hw *hw,
			     const perf_model *pm)
{
	double kv = perf_kv_capacity_tokens(pm, p->kv_reserve);
	if (!(kv <= SC_KV_TOKENS_MAX)) {
		cfg_fail(m, "model", "a replica holds %.3g KV tokens; expected at most %.0e (check "
				     "the GPU memory and the model's KV size in the catalog)",
			 kv, SC_KV_TOKENS_MAX);
		return;
	}
	const gpu_spec *g = hw->gpu;
	double fmin = g->clock_max_hz > 0 ? g->clock_min_hz / g->clock_max_hz : 0.1;
	if (!(fmin > 0 && fmin <= 1))
		fmin = 0.1;
	double ctx = (double)p->max_seqs * hw->llm->max_context;
	if (kv > 0 && ctx > kv)
		ctx = kv;
	perf_batch dec = { .decode_seqs = p->max_seqs, .decode_ctx = (uint64_t)ctx };
	double t_dec = perf_iteration(pm, &dec, fmin, NULL);
	if (!(t_dec <= SC_ITER_DECODE_MAX_S)) {
		cfg_fail(m, "batching", "a full decode iteration (%u sequences, %.3g KV tokens) "
					"takes %.3g s at the lowest clock; expected at most %g s (check "
					"the GPU's memory_bandwidth and flops in the catalog, or max_seqs)",
			 p->max_seqs, ctx, t_dec, SC_ITER_DECODE_MAX_S);
		return;
	}
	uint64_t n = p->chunk_tokens ? p->chunk_tokens : p->max_batch_tokens;
	if (n > p->max_batch_tokens)
		n = p->max_batch_tokens;
	double off = hw->llm->max_context > (double)n ? hw->llm->max_context - (double)n : 0;
	perf_batch pf = { .prefill_tokens = p->max_batch_tokens,
			  .prefill_pairs = (uint64_t)((double)p->max_batch_tokens *
						      (off + ((double)n + 1) / 2)),
			  .prefill_seqs = (uint32_t)((p->max_batch_tokens + n - 1) / n),
			  .decode_seqs = dec.decode_seqs,
			  .decode_ctx = dec.decode_ctx };
	double t_pf = perf_iteration(pm, &pf, fmin, NULL);
	if (!(t_pf <= SC_ITER_MAX_S))
		cfg_fail(m, "batching", "a full prefill iteration (%u tokens) takes %.3g s at the "
					"lowest clock; expected at most %g s (check the GPU's flops in "
					"the catalog, or max_tokens)",
			 p->max_batch_tokens, t_pf, SC_ITER_MAX_S);
}

static void read_pool(cfg_map *m, scenario *sc, srv_pool_params *p, srv_pool_hw *hw)
{
	const int64_t one = 1, zero = 0;
	const int64_t def_tokens = 8192, def_seqs = 256, def_block = 16;
	const int def_role = SRV_ROLE_BOTH, def_router = SRV_LEAST_WORK, def_pre = SRV_RECOMPUTE;
	const double reserve = 0.1, prefix = 0.0, zero_d = 0, off_bw = 50e9;
	const bool no = false;
	int64_t v;

	cfg_string(m, "name", NULL, p->name, sizeof p->name);
	cfg_string(m, "model", NULL, p->model, sizeof p->model);
	cfg_string(m, "rack", NULL, p->rack, sizeof p->rack);
	if (cfg_status_of(m))
		return;
	hw->llm = catalog_llm(&sc->cat, p->model);
	hw->rack = catalog_rack(&sc->cat, p->rack);
	if (!hw->llm) {
		cfg_fail(m, "model", "unknown model '%s'; expected one of the catalog's models "
				     "(factorysim catalog models)",
			 p->model);
		return;
	}
	if (!hw->rack) {
		cfg_fail(m, "rack", "unknown rack type '%s'; expected one of the catalog's racks",
			 p->rack);
		return;
	}
	/* which GPUs of the rack: by type name, default the first group */
	char gpu[HW_NAME_LEN];
	cfg_string(m, "gpu", hw->rack->groups[0].gpu, gpu, sizeof gpu);
	p->rack_group = -1;
	for (int g = 0; g < hw->rack->n_groups; g++)
		if (!strcmp(hw->rack->groups[g].gpu, gpu))
			p->rack_group = g;
	if (!cfg_status_of(m) && p->rack_group < 0) {
		cfg_fail(m, "gpu", "rack %s has no %s GPUs; expected %s%s%s", p->rack, gpu,
			 hw->rack->groups[0].gpu, hw->rack->n_groups > 1 ? " or " : "",
			 hw->rack->n_groups > 1 ? hw->rack->groups[1].gpu : "");
		return;
	}
	hw->gpu = catalog_gpu(&sc->cat, gpu);
	int have = racks_of(sc, p->rack);
	if (have == 0) {
		cfg_fail(m, "rack", "no racks of type %s in `racks`; expected a racks entry for it",
			 p->rack);
		return;
	}
	int64_t def_racks = have;
	cfg_int(m, "racks", &def_racks, 1, have, &v);
	p->racks = (int)v;
	cfg_int(m, "replicas", &zero, 0, 10000000, &v);
	p->replicas = (int)v;

	cfg_map *par = cfg_map_get(m, "parallel", false);
	cfg_int(par, "tp", &one, 1, 4096, &v);
	p->tp = (int)v;
	cfg_int(par, "pp", &one, 1, 1024, &v);
	p->pp = (int)v;
	cfg_int(par, "ep", &one, 1, 4096, &v);
	p->ep = (int)v;
	cfg_bool(par, "dp_attention", &no, &p->dp_attention);
	cfg_close(par);

	cfg_enum(m, "role", roles, &def_role, &p->role);
	cfg_enum(m, "router", routers, &def_router, &p->router);

	cfg_map *bat = cfg_map_get(m, "batching", false);
	cfg_int(bat, "max_tokens", &def_tokens, 1, 1 << 24, &v);
	p->max_batch_tokens = (uint32_t)v;
	cfg_int(bat, "max_seqs", &def_seqs, 1, 1 << 20, &v);
	p->max_seqs = (uint32_t)v;
	cfg_int(bat, "chunk", &zero, 0, 1 << 24, &v);
	p->chunk_tokens = (uint32_t)v;
	cfg_close(bat);
	if (!cfg_status_of(m) && p->max_seqs > p->max_batch_tokens)
		cfg_fail(m, "batching", "max_seqs %u exceeds max_tokens %u; expected max_seqs <= "
					"max_tokens",
			 p->max_seqs, p->max_batch_tokens);

	cfg_map *kv = cfg_map_get(m, "kv", false);
	cfg_int(kv, "block", &def_block, 1, 4096, &v);
	p->block_tokens = (uint32_t)v;
	cfg_quantity(kv, "reserve", "1", &reserve, CFG_BETWEEN(0, 0.95), &p->kv_reserve);
	cfg_quantity(kv, "prefix_cache", "1", &prefix, CFG_BETWEEN(0, 0.9), &p->prefix_share);
	cfg_enum(kv, "preemption", preempts, &def_pre, &p->preemption);
	cfg_map *off = cfg_map_get(kv, "offload", false);
	cfg_quantity(off, "capacity", "B", &zero_d, CFG_BETWEEN(0, 1e15), &p->offload_bytes);
	cfg_quantity(off, "bandwidth", "B/s", &off_bw, CFG_BETWEEN(1e6, 1e15), &p->offload_bw);
	cfg_close(off);
	cfg_close(kv);
	if (cfg_status_of(m))
		return;
	/* placement and the perf model's own checks, reported at this pool */
	fs_error e;
	fs_error_clear(&e);
	perf_model pm;
	if (serving_pool_replicas(p, hw, &e) < 0)
		cfg_fail(m, "parallel", "%s", e.message);
	else if (perf_init(&pm, hw->gpu, hw->llm, p->tp, p->pp, p->ep, p->dp_attention,
			   p->tp * p->pp > hw->rack->nvlink_domain, &e))
		cfg_fail(m, "model", "%s", e.message);
	else
		check_pool_scale(m, p, hw, &pm);
	cfg_close(m);
}

static void read_serving(cfg_map *root, scenario *sc)
{
	cfg_map *m = cfg_map_get(root, "serving", true);
	const bool no = false;
	const double zero = 0, lat = 10e-6;
	cfg_bool(m, "naive", &no, &sc->serving.naive);
	cfg_quantity(m, "window", "s", &zero, CFG_BETWEEN(0, 3600), &sc->serving.window_s);
	{
		const int64_t def_shards = 32;
		int64_t v;
		cfg_int(m, "shards", &def_shards, 1, 65536, &v);
		sc->serving.shards = (uint32_t)v;
	}
	cfg_map *kt = cfg_map_get(m, "kv_transfer", false);
	cfg_quantity(kt, "bandwidth", "B/s", &zero, CFG_BETWEEN(0, 1e15), &sc->serving.kv_transfer_bw);
	cfg_quantity(kt, "latency", "s", &lat, CFG_BETWEEN(0, 3600), &sc->serving.kv_transfer_latency_s);
	if (!cfg_status_of(kt) && sc->serving.kv_transfer_bw > 0 && sc->serving.kv_transfer_bw < 1e6)
		cfg_fail(kt, "bandwidth", "%g B/s; expected 0 (the GPUs' own links) or 1 MB/s to 1 PB/s",
			 sc->serving.kv_transfer_bw);
	cfg_close(kt);
	cfg_map *list = cfg_list(m, "pools", true);
	size_t n = cfg_len(list);
	if (!cfg_status_of(m) && (n == 0 || n > SC_MAX_POOLS))
		cfg_fail(m, "pools", "%zu pools; expected 1 to %d", n, SC_MAX_POOLS);
	for (size_t i = 0; i < n && !cfg_status_of(m); i++) {
		read_pool(cfg_item_map(list, i), sc, &sc->pools[i], &sc->pool_hw[i]);
		sc->serving.n_pools = i + 1;
	}
	cfg_close(m);
	sc->serving.pools = sc->pools;
	sc->serving.racks = sc->rack_list;
	sc->serving.n_racks = sc->n_rack_list;
	sc->has_serving = true;
}

static void read_length(cfg_map *m, const char *key, scenario *sc, wl_length_params *l,
			double def_mean)
{
	cfg_map *x = cfg_map_get(m, key, false);
	const int def_kind = WL_LOGNORMAL, def_col = 0;
	const double one = 1.0, zero = 0;
	cfg_enum(x, "distribution", lengths, &def_kind, &l->kind);
	if (l->kind == WL_EMPIRICAL) {
		char file[WL_PATH_LEN];
		if (!cfg_string(x, "file", NULL, file, sizeof file)) {
			resolve_path(sc->path, file, l->empirical, sizeof l->empirical);
			check_readable(x, "file", l->empirical);
		}
		cfg_enum(x, "column", columns, &def_col, &l->empirical_column);
	} else {
		cfg_quantity(x, "mean", "1", &def_mean, CFG_BETWEEN(1, SC_TOKENS_MAX), &l->mean);
		if (l->kind == WL_LOGNORMAL)
			cfg_quantity(x, "cv", "1", &one, CFG_BETWEEN(0, 100), &l->cv);
	}
	cfg_quantity(x, "min", "1", &one, CFG_BETWEEN(1, SC_TOKENS_MAX), &l->min);
	cfg_quantity(x, "max", "1", &zero, CFG_BETWEEN(0, SC_TOKENS_MAX), &l->max);
	if (!cfg_status_of(x) && l->max > 0 && l->max < l->min)
		cfg_fail(x, "max", "max %.0f is below min %.0f; expected 0 (no maximum) or at least min",
			 l->max, l->min);
	cfg_close(x);
}

/* Read a trace class's file now: validate then reports a bad trace, and the
 * request count and memory limits know its rate.  The replay rate follows
 * workload.c: one pass lasts span + mean gap, scaled by time_scale. */
static void measure_trace(cfg_map *a, scenario *sc, size_t i)
{
	const wl_trace_params *t = &sc->classes[i].trace;
	wl_trace_row *rows = NULL;
	size_t n = 0;
	fs_error e;
	fs_error_clear(&e);
	if (wl_trace_read(t->path, t->format, &rows, &n, &e)) {
		char msg[1024];
		fs_error_format(&e, msg, sizeof msg);
		cfg_fail(a, "file", "%s", msg);
		return;
	}
	double span = n ? rows[n - 1].t_s - rows[0].t_s : 0;
	double period = (span + (n > 1 ? span / (double)(n - 1) : 0)) * t->time_scale;
	free(rows);
	sc->trace_requests[i] = (double)n * t->rate_multiplier;
	sc->trace_rate[i] = period > 0 ? sc->trace_requests[i] / period : 0;
}

static void read_class(cfg_map *m, scenario *sc, wl_class_params *c)
{
	const int def_proc = WL_POISSON, def_fmt = WL_TRACE_AZURE_CSV;
	const double one = 1.0, zero = 0, day = 86400, half = 0.5, think = 30;
	const bool no = false;
	const int64_t zero_i = 0;
	int64_t v;
	cfg_string(m, "name", NULL, c->name, sizeof c->name);
	if (!cfg_status_of(m) && (!name_ok(c->name) || !strcmp(c->name, "all")))
		cfg_fail(m, "name", "'%s' cannot name a class; expected letters, digits, _ . - and "
				    "not 'all' (the summary's name for every class together)",
			 c->name);
	cfg_string(m, "model", NULL, c->model, sizeof c->model);
	cfg_string(m, "pool", "", c->pool, sizeof c->pool);
	if (!cfg_status_of(m) && !catalog_llm(&sc->cat, c->model))
		cfg_fail(m, "model", "unknown model '%s'; expected one of the catalog's models",
			 c->model);

	cfg_map *a = cfg_map_get(m, "arrival", true);
	cfg_enum(a, "process", processes, &def_proc, &c->arrival);
	if (c->arrival != WL_TRACE)
		cfg_quantity(a, "rate", "1/s", NULL, CFG_GT_LE(0, SC_RATE_MAX), &c->rate);
	if (c->arrival == WL_GAMMA)
		cfg_quantity(a, "cv", "1", &one, CFG_GT_LE(0, 100), &c->cv);
	if (c->arrival == WL_DIURNAL) {
		cfg_quantity(a, "amplitude", "1", &half, CFG_BETWEEN(0, 1), &c->diurnal_amplitude);
		cfg_quantity(a, "period", "s", &day, CFG_GT_LE(0, 10 * YEAR_S), &c->diurnal_period_s);
		cfg_quantity(a, "phase", "s", &zero, CFG_BETWEEN(-10 * YEAR_S, 10 * YEAR_S),
			     &c->diurnal_phase_s);
	}
	if (c->arrival == WL_TRACE) {
		char file[WL_PATH_LEN];
		if (!cfg_string(a, "file", NULL, file, sizeof file)) {
			resolve_path(sc->path, file, c->trace.path, sizeof c->trace.path);
			check_readable(a, "file", c->trace.path);
		}
		cfg_enum(a, "format", formats, &def_fmt, &c->trace.format);
		cfg_quantity(a, "time_scale", "1", &one, CFG_GT_LE(0, 1e6), &c->trace.time_scale);
		cfg_quantity(a, "rate_multiplier", "1", &one, CFG_GT_LE(0, 1000),
			     &c->trace.rate_multiplier);
		cfg_bool(a, "loop", &no, &c->trace.loop);
		if (!cfg_status_of(a))
			measure_trace(a, sc, (size_t)(c - sc->classes));
	}
	cfg_close(a);
	if (c->arrival != WL_TRACE) {
		read_length(m, "input", sc, &c->input, 1000);
		read_length(m, "output", sc, &c->output, 200);
	}
	cfg_int(m, "system_prompt", &zero_i, 0, 1 << 24, &v);
	c->system_prompt_tokens = (uint32_t)v;
	cfg_map *ses = cfg_map_get(m, "session", false);
	c->session.enabled = cfg_present(ses);
	if (c->session.enabled) {
		const double turns = 3;
		cfg_quantity(ses, "turns", "1", &turns, CFG_BETWEEN(1, 1e6), &c->session.turns_mean);
		cfg_quantity(ses, "think", "s", &think, CFG_BETWEEN(0, 1e9), &c->session.think_mean_s);
		read_length(ses, "input", sc, &c->session.turn_input, 200);
	}
	cfg_close(ses);
	cfg_map *slo = cfg_map_get(m, "slo", false);
	cfg_quantity(slo, "ttft", "s", &zero, CFG_BETWEEN(0, 10 * YEAR_S), &c->slo_ttft_s);
	cfg_quantity(slo, "tpot", "s", &zero, CFG_BETWEEN(0, 10 * YEAR_S), &c->slo_tpot_s);
	cfg_close(slo);
	cfg_int(m, "priority", &zero_i, -1000, 1000, &v);
	c->priority = (int)v;
	cfg_close(m);
}

static void read_workload(cfg_map *root, scenario *sc)
{
	cfg_map *list = cfg_list(root, "workload", true);
	size_t n = cfg_len(list);
	if (!cfg_status_of(root) && (n == 0 || n > SC_MAX_CLASSES))
		cfg_fail(root, "workload", "%zu classes; expected 1 to %d", n, SC_MAX_CLASSES);
	for (size_t i = 0; i < n && !cfg_status_of(root); i++) {
		cfg_map *m = cfg_item_map(list, i);
		wl_class_params *c = &sc->classes[i];
		read_class(m, sc, c);
		sc->n_classes = i + 1;
		bool served = false;
		for (size_t p = 0; p < sc->serving.n_pools; p++)
			served |= !strcmp(sc->pools[p].model, c->model) &&
				  sc->pools[p].role != SRV_ROLE_DECODE &&
				  (!c->pool[0] || !strcmp(sc->pools[p].name, c->pool));
		if (!cfg_status_of(root) && !served && c->pool[0])
			cfg_fail(m, "pool", "no pool '%s' serving model '%s' with role both or prefill; "
					    "expected the name of such a pool",
				 c->pool, c->model);
		else if (!cfg_status_of(root) && !served)
			cfg_fail(m, "model", "no serving pool takes requests for model '%s'; expected "
					     "a pool with this model and role both or prefill",
				 c->model);
	}
	/* requests the run would generate (a session's turns count one each) */
	double span = sc->warmup_s + sc->duration_s, total = 0, worst = 0;
	size_t iworst = 0;
	for (size_t i = 0; i < sc->n_classes && !cfg_status_of(root); i++) {
		const wl_class_params *c = &sc->classes[i];
		double turns = c->session.enabled ? c->session.turns_mean : 1;
		double k = c->rate * turns * span;
		if (c->arrival == WL_TRACE) {
			/* a trace replays its rows (a looping one without end) */
			k = sc->trace_rate[i] * span;
			if (!c->trace.loop && !(k <= sc->trace_requests[i]))
				k = sc->trace_requests[i];
		}
		total += k;
		if (k > worst)
			worst = k, iworst = i;
	}
	if (!cfg_status_of(root) && total > SC_ARRIVALS_MAX) {
		cfg_map *a = cfg_map_get(cfg_item_map(list, iworst), "arrival", false);
		cfg_fail(a, sc->classes[iworst].arrival == WL_TRACE ? "time_scale" : "rate",
			 "about %.3g requests over %.3g s of warm-up + duration (all classes, "
			 "session turns included); expected at most %.0e (a lower rate, a larger "
			 "trace time_scale or a shorter run)",
			 total, span, SC_ARRIVALS_MAX);
	}
}

static const char *const policies[] = { "static", "proportional", "priority", NULL };
static const char *const coolants[] = { "water", "pg25", NULL };
static const char *const rejections[] = { "dry_cooler", "tower", NULL };

/* The cooling plant.  Defaults from DESIGN.md's figures: CDU approach 3 K and a
 * 2 MW CDU's pumps at 74 kW (3.7 %); rack loop rise 10 K (ASHRAE's 8-12 K);
 * dry-cooler approach 6 K; the rest are stated estimates. */
static void read_cooling(cfg_map *root, scenario *sc)
{
	cool_params *c = &sc->site.cooling;
	cfg_map *m = cfg_map_get(root, "cooling", true);
	const int def_cool = COOL_WATER, def_rej = COOL_DRY_COOLER;
	const double supply = 45, rack_dt = 10, cap = 2e6, appr = 3, pump_share = 0.037,
		     tcs_vol = 0.5, fac_dt = 10, fac_vol_per_mw = 1.0, fac_pump = 0.01,
		     rej_appr = 6, rej_fan = 0.015, cycles = 4, eta = 0.5, crah = 0.05, chw = 18,
		     tau = 5, band = 5;
	const bool yes = true;
	const int64_t four = 4;
	int64_t v;
	cfg_enum(m, "coolant", coolants, &def_cool, &c->coolant);
	cfg_quantity(m, "supply", "degC", &supply, CFG_BETWEEN(5, 70), &c->supply_c);
	cfg_quantity(m, "rack_dt", "K", &rack_dt, CFG_BETWEEN(1, 40), &c->rack_dt_k);
	double design = sc->site.budget_w;
	if (design > SC_POWER_MAX)
		design = SC_POWER_MAX;
	cfg_quantity(m, "design_heat", "W", &design, CFG_BETWEEN(1, SC_POWER_MAX), &c->design_heat_w);

	cfg_map *cdu = cfg_map_get(m, "cdu", false);
	cfg_int(cdu, "racks", &four, 1, 100000, &v);
	c->racks_per_cdu = (int)v;
	cfg_quantity(cdu, "capacity", "W", &cap, CFG_BETWEEN(1, 1e9), &c->cdu_capacity_w);
	cfg_quantity(cdu, "approach", "K", &appr, CFG_BETWEEN(0.1, 30), &c->cdu_approach_k);
	double pump = pump_share * c->cdu_capacity_w;
	cfg_quantity(cdu, "pump", "W", &pump, CFG_GE(0), &c->cdu_pump_w);
	if (!cfg_status_of(cdu) && c->cdu_pump_w > c->cdu_capacity_w)
		cfg_fail(cdu, "pump", "%.6g W is above the CDU's capacity %.6g W; expected 0 to the "
				      "capacity",
			 c->cdu_pump_w, c->cdu_capacity_w);
	cfg_quantity(cdu, "volume", "m^3", &tcs_vol, CFG_BETWEEN(1e-4, 1000), &c->tcs_volume_m3);
	cfg_close(cdu);

	cfg_map *fl = cfg_map_get(m, "facility", false);
	cfg_quantity(fl, "dt", "K", &fac_dt, CFG_BETWEEN(1, 40), &c->fac_dt_k);
	if (!cfg_status_of(fl) && !(c->fac_dt_k < c->rack_dt_k + c->cdu_approach_k))
		cfg_fail(fl, "dt", "%g K is not below rack_dt + the CDU approach, %g K; expected a "
				   "smaller rise (a counterflow CDU cannot heat the facility water "
				   "above the secondary return)",
			 c->fac_dt_k, c->rack_dt_k + c->cdu_approach_k);
	double vol = fac_vol_per_mw * c->design_heat_w / 1e6;
	if (vol < 1)
		vol = 1;
	cfg_quantity(fl, "volume", "m^3", &vol, CFG_BETWEEN(1e-3, 1e6), &c->fac_volume_m3);
	cfg_quantity(fl, "pumps", "1", &fac_pump, CFG_BETWEEN(0, 0.2), &c->fac_pump_share);
	cfg_close(fl);

	cfg_map *rj = cfg_map_get(m, "rejection", false);
	cfg_enum(rj, "type", rejections, &def_rej, &c->rejection);
	cfg_quantity(rj, "approach", "K", &rej_appr, CFG_BETWEEN(0.5, 30), &c->rej_approach_k);
	cfg_quantity(rj, "fans", "1", &rej_fan, CFG_BETWEEN(0, 0.2), &c->rej_fan_share);
	if (c->rejection == COOL_TOWER)
		cfg_quantity(rj, "cycles", "1", &cycles, CFG_BETWEEN(1.01, 20), &c->tower_cycles);
	cfg_bool(rj, "trim_chiller", &yes, &c->trim_chiller);
	cfg_quantity(rj, "chiller_eta", "1", &eta, CFG_GT_LE(0, 1), &c->chiller_eta);
	double ch_cap = c->design_heat_w;
	cfg_quantity(rj, "chiller_capacity", "W", &ch_cap, CFG_BETWEEN(0, SC_POWER_MAX),
		     &c->chiller_capacity_w);
	if (!cfg_status_of(rj) && c->trim_chiller && c->chiller_capacity_w < 1)
		cfg_fail(rj, "chiller_capacity", "%g W with a trim chiller; expected at least 1 W "
						 "(or trim_chiller: false)",
			 c->chiller_capacity_w);
	cfg_close(rj);

	cfg_map *air = cfg_map_get(m, "air", false);
	cfg_quantity(air, "crah_fans", "1", &crah, CFG_BETWEEN(0, 0.3), &c->crah_fan_share);
	cfg_quantity(air, "chw_supply", "degC", &chw, CFG_BETWEEN(4, 30), &c->chw_supply_c);
	cfg_close(air);

	cfg_map *gp = cfg_map_get(m, "gpu", false);
	cfg_quantity(gp, "tau", "s", &tau, CFG_GT_LE(0, 1e5), &c->gpu_tau_s);
	cfg_quantity(gp, "throttle_band", "K", &band, CFG_BETWEEN(0.01, 100), &c->throttle_band_k);
	cfg_close(gp);

	/* ambient: a weather file, or a synthetic day */
	cfg_map *w = cfg_map_get(m, "weather", true);
	fs_error e;
	fs_error_clear(&e);
	const double midnight = 0;
	cfg_quantity(w, "start", "s", &midnight, CFG_BETWEEN(0, 86400), &sc->site.weather_start_s);
	if (cfg_has(w, "file")) {
		char file[1024], path[1024];
		if (!cfg_string(w, "file", NULL, file, sizeof file)) {
			resolve_path(sc->path, file, path, sizeof path);
			check_readable(w, "file", path);
			if (!cfg_status_of(w) && weather_load_csv(path, &sc->weather, &e)) {
				char msg[1024];
				fs_error_format(&e, msg, sizeof msg);
				cfg_fail(w, "file", "%s", msg);
			}
		}
	} else {
		const double mean = 25, swing = 10, peak = 15 * 3600.0, dep = 8;
		double mn, sw, pk, wd;
		cfg_quantity(w, "mean", "degC", &mean, CFG_BETWEEN(-50, 60), &mn);
		cfg_quantity(w, "swing", "K", &swing, CFG_BETWEEN(0, 40), &sw);
		cfg_quantity(w, "peak", "s", &peak, CFG_BETWEEN(0, 86400), &pk);
		cfg_quantity(w, "wet_bulb_depression", "K", &dep, CFG_BETWEEN(0, 40), &wd);
		if (!cfg_status_of(w) && weather_synthetic(mn, sw, pk, wd, &sc->weather, &e))
			cfg_fail(w, NULL, "%s", e.message);
	}
	cfg_close(w);

	cfg_map *fx = cfg_list(m, "faults", false);
	size_t nf = cfg_len(fx);
	if (nf > 16)
		cfg_fail(m, "faults", "%zu faults; expected at most 16", nf);
	for (size_t i = 0; i < nf && !cfg_status_of(m); i++) {
		cfg_map *x = cfg_item_map(fx, i);
		const double hour = 3600, none = 0;
		const int64_t zero = 0;
		static const char *const kinds[] = { "cdu_pumps", "heat_rejection", NULL };
		const int def_kind = 0;
		cfg_enum(x, "kind", kinds, &def_kind, &sc->site.faults[i].kind);
		cfg_int(x, "cdu", &zero, 0, 1000000, &v);
		sc->site.faults[i].cdu = (int)v;
		cfg_quantity(x, "at", "s", NULL, CFG_BETWEEN(0, 20 * YEAR_S), &sc->site.faults[i].at_s);
		cfg_quantity(x, "repair", "s", &hour, CFG_GT_LE(0, 20 * YEAR_S),
			     &sc->site.faults[i].repair_s);
		/* what is left: pump flow (a backup pump), or rejection capacity */
		cfg_quantity(x, sc->site.faults[i].kind == 1 ? "left" : "backup", "1", &none,
			     CFG_BETWEEN(0, 1), &sc->site.faults[i].backup_share);
		cfg_close(x);
		sc->site.n_faults = i + 1;
	}
	cfg_close(m);
	if (!cfg_status_of(root)) {
		/* the CDUs the racks need */
		int ncdu = (int)((sc->n_rack_list + (uint32_t)c->racks_per_cdu - 1) /
				 (uint32_t)c->racks_per_cdu);
		for (size_t i = 0; i < sc->site.n_faults; i++)
			if (sc->site.faults[i].cdu >= ncdu) {
				cfg_fail(root, "cooling", "fault %zu names CDU %d, but the site has %d CDUs "
							  "(0 to %d)",
					 i, sc->site.faults[i].cdu, ncdu, ncdu - 1);
				break;
			}
	}
	sc->site.has_cooling = true;
	sc->site.weather = sc->weather;
}
static const char *const redundancies[] = { "N", "N+1", "2N", NULL };

static void read_site(cfg_map *root, scenario *sc)
{
	fac_params *f = &sc->site;
	const double zero = 0, overhead = 0.10;
	cfg_map *m = cfg_map_get(root, "site", true);
	cfg_quantity(m, "power_budget", "W", NULL, CFG_GT_LE(0, SC_POWER_MAX), &f->budget_w);
	cfg_quantity(m, "cooling_overhead", "1", &overhead, CFG_BETWEEN(0, 2), &f->cooling_overhead);
	cfg_quantity(m, "price", "$/J", &zero, CFG_ANY, &f->flat_price);
	if (cfg_has(m, "price_file")) {
		char file[1024], path[1024];
		if (!cfg_string(m, "price_file", NULL, file, sizeof file)) {
			resolve_path(sc->path, file, path, sizeof path);
			check_readable(m, "price_file", path);
			fs_error e;
			fs_error_clear(&e);
			if (!cfg_status_of(m) && pc_price_read_csv(path, &sc->prices, &f->n_prices, &e)) {
				char msg[1024];
				fs_error_format(&e, msg, sizeof msg);
				cfg_fail(m, "price_file", "%s", msg);
			}
			f->prices = sc->prices;
		}
	}
	cfg_map *ev = cfg_list(m, "grid_events", false);
	size_t n = cfg_len(ev);
	if (n > 64)
		cfg_fail(m, "grid_events", "%zu events; expected at most 64", n);
	for (size_t i = 0; i < n && !cfg_status_of(m); i++) {
		cfg_map *e = cfg_item_map(ev, i);
		pc_grid_event *g = &sc->grid_events[i];
		cfg_quantity(e, "at", "s", NULL, CFG_BETWEEN(0, 20 * YEAR_S), &g->start_s);
		cfg_quantity(e, "for", "s", NULL, CFG_GT_LE(0, 20 * YEAR_S), &g->duration_s);
		cfg_quantity(e, "budget", "1", NULL, CFG_BETWEEN(0, 1), &g->level);
		cfg_quantity(e, "notice", "s", &zero, CFG_BETWEEN(0, 20 * YEAR_S), &g->notice_s);
		cfg_quantity(e, "ramp", "s", &zero, CFG_BETWEEN(0, 20 * YEAR_S), &g->ramp_s);
		cfg_close(e);
		f->n_events = i + 1;
	}
	f->events = sc->grid_events;
	cfg_close(m);

	cfg_map *pw = cfg_map_get(root, "power", false);
	const int def_policy = FAC_STATIC;
	const double one = 1, cap_min = 0.3, tol = 0.02, boot = 300, boot_share = 0.5;
	cfg_enum(pw, "policy", policies, &def_policy, &f->policy);
	cfg_quantity(pw, "gpu_cap", "1", &one, CFG_GT_LE(0, 1), &f->gpu_cap);
	cfg_quantity(pw, "cap_min", "1", &cap_min, CFG_GT_LE(0, 1), &f->cap_min);
	cfg_quantity(pw, "tolerance", "1", &tol, CFG_BETWEEN(0, 0.5), &f->tolerance);
	if (!cfg_status_of(pw) && f->cap_min > f->gpu_cap)
		cfg_fail(pw, "cap_min", "cap_min %.0f %% is above gpu_cap %.0f %%; expected cap_min <= "
					"gpu_cap",
			 100 * f->cap_min, 100 * f->gpu_cap);
	cfg_map *ch = cfg_list(pw, "chain", false);
	size_t nch = cfg_len(ch);
	if (nch > PC_MAX_STAGES)
		cfg_fail(pw, "chain", "%zu stages; expected at most %d", nch, PC_MAX_STAGES);
	for (size_t i = 0; i < nch && !cfg_status_of(pw); i++) {
		cfg_map *st = cfg_item_map(ch, i);
		pc_stage_params *p = &f->chain[i];
		int64_t units = 1;
		const int64_t one_unit = 1;
		const int def_red = PC_N;
		const double noload = 0.005, k = 0.01, r = 0.01, alarm = 0.9, trip = 1.25,
			     trip_after = 60, reset = 3600;
		cfg_string(st, "name", NULL, p->name, sizeof p->name);
		cfg_quantity(st, "rating", "W", NULL, CFG_GT_LE(0, SC_POWER_MAX), &p->rating_w);
		cfg_int(st, "units", &one_unit, 1, 100000, &units);
		p->units = (int)units;
		cfg_enum(st, "redundancy", redundancies, &def_red, &p->redundancy);
		cfg_quantity(st, "noload", "1", &noload, CFG_BETWEEN(0, 0.5), &p->noload_share);
		cfg_quantity(st, "k", "1", &k, CFG_BETWEEN(0, 0.5), &p->k_linear);
		cfg_quantity(st, "r", "1", &r, CFG_BETWEEN(0, 0.5), &p->r_quadratic);
		cfg_quantity(st, "alarm", "1", &alarm, CFG_GT_LE(0, 2), &p->alarm_share);
		cfg_quantity(st, "trip", "1", &trip, CFG_BETWEEN(1, 3), &p->trip_share);
		cfg_quantity(st, "trip_after", "s", &trip_after, CFG_BETWEEN(0, 20 * YEAR_S),
			     &p->trip_after_s);
		cfg_quantity(st, "reset_after", "s", &reset, CFG_GT_LE(0, 20 * YEAR_S),
			     &p->reset_after_s);
		if (!cfg_status_of(st) && p->alarm_share > p->trip_share)
			cfg_fail(st, "alarm", "alarm %.0f %% is above trip %.0f %%; expected alarm <= trip",
				 100 * p->alarm_share, 100 * p->trip_share);
		cfg_close(st);
		f->n_chain = i + 1;
	}
	cfg_map *b = cfg_map_get(pw, "battery", false);
	f->has_battery = cfg_present(b);
	if (f->has_battery) {
		const double rt = 0.9, lo = 0.1, hi = 1.0;
		pc_battery_params *bp = &f->battery;
		cfg_quantity(b, "capacity", "J", NULL, CFG_GT_LE(0, 1e18), &bp->capacity_j);
		cfg_quantity(b, "power", "W", NULL, CFG_GT_LE(0, SC_POWER_MAX), &bp->power_w);
		cfg_quantity(b, "round_trip", "1", &rt, CFG_GT_LE(0, 1), &bp->round_trip);
		cfg_quantity(b, "soc_min", "1", &lo, (cfg_range){ CFG_HAS_MIN | CFG_HAS_MAX | CFG_MAX_EXCL, 0, 1 },
			     &bp->soc_min);
		cfg_quantity(b, "soc_max", "1", &hi, CFG_BETWEEN(0, 1), &bp->soc_max);
		if (!cfg_status_of(b) && !(bp->soc_max > bp->soc_min))
			cfg_fail(b, "soc_max", "soc_max %.0f %% is not above soc_min %.0f %%; expected "
					       "soc_min < soc_max",
				 100 * bp->soc_max, 100 * bp->soc_min);
		double init = bp->soc_max;
		cfg_quantity(b, "initial", "1", &init, CFG_BETWEEN(0, 1), &bp->soc_initial);
		if (!cfg_status_of(b) &&
		    !(bp->soc_initial >= bp->soc_min && bp->soc_initial <= bp->soc_max))
			cfg_fail(b, "initial", "initial %.0f %% is outside soc_min %.0f %% to soc_max "
					       "%.0f %%; expected a charge between them",
				 100 * bp->soc_initial, 100 * bp->soc_min, 100 * bp->soc_max);
	}
	cfg_close(b);
	cfg_map *df = cfg_map_get(pw, "defer", false);
	if (cfg_present(df)) {
		const int64_t zero_i = 0;
		int64_t pr = 0;
		cfg_quantity(df, "above", "$/J", NULL, CFG_GT(0), &f->defer_price);
		cfg_int(df, "priority", &zero_i, -1000, 1000, &pr);
		f->defer_priority = (int)pr;
	}
	cfg_close(df);
	cfg_map *rk = cfg_map_get(pw, "racks", false);
	cfg_quantity(rk, "boot_time", "s", &boot, CFG_BETWEEN(0, 86400), &f->boot_s);
	cfg_quantity(rk, "boot_power", "1", &boot_share, CFG_BETWEEN(0, 1), &f->boot_power_share);
	cfg_close(rk);
	cfg_close(pw);

	/* costs: capital per rack type amortised over a lifetime, plus opex */
	cfg_map *c = cfg_map_get(root, "cost", false);
	const double life = 5 * YEAR_S;
	double lifetime = life, opex = 0;
	cfg_quantity(c, "lifetime", "s", &life, CFG_GT(0), &lifetime);
	cfg_quantity(c, "opex", "$/s", &zero, CFG_GE(0), &opex);
	f->opex_per_s = opex;
	cfg_map *rp = cfg_map_get(c, "rack_prices", false);
	double capex = 0;
	for (size_t i = 0; i < sc->n_racks && !cfg_status_of(root); i++) {
		double price = 0;
		/* one price per rack type; asked once per type */
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(sc->racks[j].type, sc->racks[i].type);
		if (seen)
			continue;
		cfg_quantity(rp, sc->racks[i].type, "$", &zero, CFG_GE(0), &price);
		for (size_t j = i; j < sc->n_racks; j++)
			if (!strcmp(sc->racks[j].type, sc->racks[i].type))
				capex += price * sc->racks[j].count;
	}
	cfg_close(rp);
	cfg_close(c);
	f->capex_per_s = capex / lifetime;
	sc->has_site = true;
}

/* --- reliability: failures, remediation, maintenance -------------------------------- */

static const char *const fail_kinds[] = { "gpu", "tray", "switch_tray", "rack", NULL };
static const char *const kv_fates[] = { "lost", "recovered", NULL };
static const char *const fleet_starts[] = { "steady", "new", NULL };

/* Defaults come from the catalog (reliability.yaml); every key may be
 * overridden here.  `enabled` switches the random failures; injected
 * failures, maintenance windows and rolling upgrades happen regardless. */
static void read_reliability(cfg_map *root, scenario *sc)
{
	flt_params *p = &sc->faults;
	cfg_map *m = cfg_map_get(root, "reliability", true);
	const bool yes = true;
	const int lost = 0, steady = 0;
	const int64_t zero = 0;
	int64_t v;
	cfg_bool(m, "enabled", &yes, &p->enabled);
	catalog_read_reliability(m, sc->cat.has_reliability ? &sc->cat.reliability : NULL, &p->rel);
	int kv = lost, start = steady;
	cfg_enum(m, "kv_on_failure", kv_fates, &lost, &kv);
	p->kv_recovered = kv == 1;
	cfg_enum(m, "start", fleet_starts, &steady, &start);
	p->new_fleet = start == 1;

	/* spare parts: trays serve GPU failures too (a GPU comes out with its tray) */
	cfg_map *sp = cfg_map_get(m, "spares", false);
	cfg_int(sp, "trays", &zero, 0, 1000000, &v);
	p->spares[HW_FAIL_TRAY] = (int)v;
	cfg_int(sp, "switch_trays", &zero, 0, 1000000, &v);
	p->spares[HW_FAIL_SWITCH_TRAY] = (int)v;
	cfg_int(sp, "racks", &zero, 0, 1000000, &v);
	p->spares[HW_FAIL_RACK] = (int)v;
	if (cfg_has(sp, "replace")) {
		/* one swap time for trays and switch trays (the GPU's is its tray's) */
		double r = 0;
		if (cfg_quantity(sp, "replace", "s", NULL, CFG_GE(0), &r) == 0)
			p->rel.cls[HW_FAIL_GPU].replace_s = p->rel.cls[HW_FAIL_TRAY].replace_s =
				p->rel.cls[HW_FAIL_SWITCH_TRAY].replace_s = r;
	}
	cfg_close(sp);

	cfg_map *inj = cfg_list(m, "inject", false);
	size_t n = cfg_len(inj);
	if (n > FLT_MAX_INJECT)
		cfg_fail(m, "inject", "%zu injected failures; expected at most %d", n, FLT_MAX_INJECT);
	for (size_t i = 0; i < n && !cfg_status_of(m); i++) {
		cfg_map *x = cfg_item_map(inj, i);
		flt_inject *f = &p->inject[i];
		const int gpu = HW_FAIL_GPU;
		int64_t rack = 0, index = 0;
		cfg_quantity(x, "at", "s", NULL, CFG_GE(0), &f->at_s);
		cfg_enum(x, "component", fail_kinds, &gpu, &f->cls);
		cfg_int(x, "rack", &zero, 0, sc->n_rack_list ? sc->n_rack_list - 1 : 0, &rack);
		if (!cfg_status_of(x) && sc->n_rack_list) {
			const rack_spec *rs = sc->rack_list[rack];
			int gpus = 0;
			for (int g = 0; g < rs->n_groups; g++)
				gpus += rs->groups[g].count;
			int have = f->cls == HW_FAIL_GPU ? gpus
				   : f->cls == HW_FAIL_TRAY ? rs->trays
				   : f->cls == HW_FAIL_SWITCH_TRAY ? rs->switch_trays : 1;
			if (have == 0)
				cfg_fail(x, "component", "rack %d (%s) has no %s; expected gpu, tray or rack",
					 (int)rack, rs->name, fail_kinds[f->cls]);
			else
				cfg_int(x, "index", &zero, 0, have - 1, &index);
		}
		f->rack = (uint32_t)rack;
		f->index = (uint32_t)index;
		cfg_close(x);
		p->n_inject = i + 1;
	}

	cfg_map *mt = cfg_list(m, "maintenance", false);
	n = cfg_len(mt);
	if (n > FLT_MAX_MAINT)
		cfg_fail(m, "maintenance", "%zu windows; expected at most %d", n, FLT_MAX_MAINT);
	for (size_t i = 0; i < n && !cfg_status_of(m); i++) {
		cfg_map *x = cfg_item_map(mt, i);
		flt_window *w = &p->maint[i];
		cfg_quantity(x, "at", "s", NULL, CFG_GE(0), &w->at_s);
		cfg_quantity(x, "for", "s", NULL, CFG_GT(0), &w->for_s);
		cfg_quantity(x, "racks", "1", NULL, CFG_GT_LE(0, 1), &w->share);
		cfg_int(x, "first", &zero, 0, sc->n_rack_list ? sc->n_rack_list - 1 : 0, &v);
		w->first = (uint32_t)v;
		cfg_close(x);
		p->n_maint = i + 1;
	}
	cfg_map *ru = cfg_map_get(m, "rolling_upgrade", false);
	p->has_rolling = cfg_present(ru);
	if (p->has_rolling) {
		cfg_quantity(ru, "start", "s", NULL, CFG_GE(0), &p->roll_start_s);
		cfg_quantity(ru, "batch", "1", NULL, CFG_GT_LE(0, 1), &p->roll_batch);
		cfg_quantity(ru, "per_batch", "s", NULL, CFG_GT(0), &p->roll_per_batch_s);
	}
	cfg_close(ru);
	cfg_close(m);
	sc->has_faults = true;
}

/* Read every key of the schema; the first problem stops the reading. */
static int read_schema(cfg *c, scenario *sc, fs_error *err)
{
	cfg_map *root = cfg_root(c);
	const uint64_t one = 1, zero = 0;
	const double no_warmup = 0, one_second = 1;
	uint64_t replication = 0;

	cfg_string(root, "name", NULL, sc->name, sizeof sc->name);
	if (!cfg_status(c) && !name_ok(sc->name))
		cfg_fail(root, "name",
			 "'%s' is not a valid name; expected 1 to 127 characters from "
			 "A-Z a-z 0-9 _ . -",
			 sc->name);
	cfg_uint64(root, "seed", &one, 0, UINT64_MAX, &sc->seed);
	cfg_uint64(root, "replication", &zero, 0, UINT32_MAX, &replication);
	sc->replication = (uint32_t)replication;
	cfg_quantity(root, "duration", "s", NULL, CFG_GT_LE(0, 10 * YEAR_S), &sc->duration_s);
	cfg_quantity(root, "warmup", "s", &no_warmup, CFG_BETWEEN(0, 10 * YEAR_S), &sc->warmup_s);
	cfg_quantity(root, "control_tick", "s", &one_second, CFG_BETWEEN(1e-3, 3600), &sc->tick_s);
	if (!cfg_status(c) && (sc->warmup_s + sc->duration_s) / sc->tick_s > SC_TICKS_MAX)
		cfg_fail(root, "control_tick",
			 "%.3g s of warm-up + duration is %.3g ticks of %g s; expected at most %.0e "
			 "ticks (a longer control_tick or a shorter run)",
			 sc->warmup_s + sc->duration_s, (sc->warmup_s + sc->duration_s) / sc->tick_s,
			 sc->tick_s, SC_TICKS_MAX);
	if (!cfg_status(c))
		read_output(root, sc);
	if (!cfg_status(c) && cfg_has(root, "station"))
		read_station(root, sc);
	bool factory = cfg_has(root, "racks") | cfg_has(root, "serving") | cfg_has(root, "workload") |
		       cfg_has(root, "catalog");
	(void)cfg_has(root, "site"); /* known keys, read below */
	(void)cfg_has(root, "power");
	(void)cfg_has(root, "cost");
	(void)cfg_has(root, "cooling");
	if (!cfg_status(c) && factory) {
		/* the catalog: built in, then the scenario's own entries and overrides */
		int rc = catalog_load_builtin(&sc->cat, err);
		if (rc)
			return rc;
		if (cfg_has(root, "catalog")) {
			ypair *pr = ynode_find(cfg_node_of(root), "catalog");
			rc = catalog_apply(&sc->cat, pr->value, err);
			if (rc)
				return rc;
		}
		read_racks(root, sc);
		if (!cfg_status(c))
			read_serving(root, sc);
		if (!cfg_status(c))
			read_workload(root, sc);
		if (!cfg_status(c) && (cfg_has(root, "site") | cfg_has(root, "power") |
				       cfg_has(root, "cost") | cfg_has(root, "cooling")))
			read_site(root, sc);
		if (!cfg_status(c) && cfg_has(root, "cooling"))
			read_cooling(root, sc);
		if (!cfg_status(c) && cfg_has(root, "reliability"))
			read_reliability(root, sc);
	} else if (cfg_has(root, "site") | cfg_has(root, "power") | cfg_has(root, "cost")) {
		cfg_fail(root, "site", "a site needs racks; expected `racks`, `serving` and "
				       "`workload` with it");
	} else if (cfg_has(root, "reliability")) {
		cfg_fail(root, "reliability", "failures need racks; expected `racks`, `serving` and "
					      "`workload` with it");
	}
	cfg_close(root);
	int rc = cfg_status(c);
	if (rc)
		return rc;
	if (sc->has_station)
		rc = station_params_check(&sc->station, err);
	for (size_t i = 0; i < sc->n_classes && !rc; i++)
		rc = workload_class_check(&sc->classes[i], i, err);
	sc->serving.requests_fraction = sc->output.requests_fraction;
	sc->serving.tick_s = sc->tick_s;
	if (!rc && sc->has_serving && sc->serving.window_s > 0) {
		/* the barriers must fall on every control tick, where the facility runs */
		double per = sc->tick_s / sc->serving.window_s;
		if (sc->serving.window_s > sc->tick_s || fabs(per - nearbyint(per)) > 1e-9 * per)
			rc = fs_error_set(err, FS_ERR_INPUT, sc->path, 0, 0, "serving.window",
					  "window %g s does not divide the control tick (%g s); "
					  "expected the tick or a whole fraction of it (or 0 s: sequential)",
					  sc->serving.window_s, sc->tick_s);
		/* failures act on replicas at any instant, which the shards do not
		 * take between barriers (not yet) */
		else if (sc->has_faults)
			rc = fs_error_set(err, FS_ERR_INPUT, sc->path, 0, 0, "serving.window",
					  "the windowed engine does not model failures yet; expected "
					  "serving.window: 0 s with `reliability:`");
	}
	return rc;
}

/* Apply overrides, read the schema, keep the texts.  Takes d. */
static int load_doc(ydoc *d, const char *path, const char *const *sets, size_t nsets, scenario *out,
		    fs_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < nsets && !rc; i++) {
		ynode *root = ydoc_root(d);
		rc = cfg_apply_set(&root, sets[i], err);
		ydoc_set_root(d, root);
	}
	/* the path first: relative data files in the schema resolve against it */
	snprintf(out->path, sizeof out->path, "%s", path);
	cfg *c = rc ? NULL : cfg_new(ydoc_root(d), err);
	if (!rc && !c)
		rc = FS_ERR_NOMEM;
	if (!rc)
		rc = read_schema(c, out, err);
	if (!rc)
		rc = cfg_resolved(c, &out->text_resolved);
	if (!rc && !(out->text_given = strdup(ydoc_text(d))))
		rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	cfg_free(c);
	ydoc_free(d);
	if (rc)
		scenario_clear(out);
	return rc;
}

int scenario_load(const char *path, const char *const *sets, size_t nsets, scenario *out,
		  fs_error *err)
{
	memset(out, 0, sizeof *out);
	ydoc *d = NULL;
	int rc = ydoc_load_file(path, &d, err);
	if (rc)
		return rc;
	return load_doc(d, path, sets, nsets, out, err);
}

int scenario_load_string(const char *text, const char *name, const char *const *sets, size_t nsets,
			 scenario *out, fs_error *err)
{
	memset(out, 0, sizeof *out);
	ydoc *d = NULL;
	int rc = ydoc_load_string(text ? text : "", name ? name : "<string>", &d, err);
	if (rc)
		return rc;
	return load_doc(d, name ? name : "<string>", sets, nsets, out, err);
}

void scenario_clear(scenario *sc)
{
	if (!sc)
		return;
	free(sc->text_given);
	free(sc->text_resolved);
	free(sc->rack_list);
	free(sc->rack_gpus);
	free(sc->prices);
	weather_free(sc->weather);
	catalog_clear(&sc->cat);
	memset(sc, 0, sizeof *sc);
}
