/*
 * catalog.c - the built-in GPU, rack and LLM catalog (see catalog.h).
 *
 * One schema reader per entry kind (read_gpu, read_rack, read_llm) serves both
 * the built-in files and a scenario's overrides: it is given the existing
 * entry as `base` (NULL for a new one), and every getter defaults to the
 * base's value, so an override changes only the keys it names while a new
 * entry must give every required key.  Entry names are the keys of the
 * gpus/racks/models mappings; cfg has no key iteration, so the names are
 * taken from the YAML node and each entry is then read through cfg, which
 * gives typed, located errors and unknown-key reports.
 *
 * Every change is made on a copy of the catalog that replaces the original
 * only when the whole section has been read without error.
 */
#include "catalog.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

#define CATALOG_ENV "FACTORYSIM_CATALOG"

static const char *const files[] = {"gpus.yaml", "racks.yaml", "models.yaml"};
static const char *const weight_prec[] = {"fp16", "fp8", "fp4", NULL};
static const char *const kv_prec[] = {"fp16", "fp8", NULL};

/* ---- look-ups ---------------------------------------------------------------- */

const gpu_spec *catalog_gpu(const catalog *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_gpus; i++)
		if (strcmp(c->gpus[i].name, name) == 0)
			return &c->gpus[i];
	return NULL;
}

const rack_spec *catalog_rack(const catalog *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_racks; i++)
		if (strcmp(c->racks[i].name, name) == 0)
			return &c->racks[i];
	return NULL;
}

const llm_spec *catalog_llm(const catalog *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_llms; i++)
		if (strcmp(c->llms[i].name, name) == 0)
			return &c->llms[i];
	return NULL;
}

int rack_gpu_count(const rack_spec *r)
{
	int n = 0;
	for (int i = 0; i < r->n_groups; i++)
		n += r->groups[i].count;
	return n;
}

double rack_non_gpu_w(const rack_spec *r)
{
	return r->cpus * r->cpu_w + r->switch_w + r->fan_pump_w;
}

double rack_gpu_w(const catalog *c, const rack_spec *r)
{
	double w = 0;
	for (int i = 0; i < r->n_groups; i++) {
		const gpu_spec *g = catalog_gpu(c, r->groups[i].gpu);
		if (g)
			w += r->groups[i].count * g->tdp_w;
	}
	return w;
}

void catalog_clear(catalog *c)
{
	if (!c)
		return;
	free(c->gpus);
	free(c->racks);
	free(c->llms);
	memset(c, 0, sizeof *c);
}

static int copy_catalog(catalog *dst, const catalog *src)
{
	memset(dst, 0, sizeof *dst);
	if (src->n_gpus && !(dst->gpus = malloc(src->n_gpus * sizeof *dst->gpus)))
		goto oom;
	if (src->n_racks && !(dst->racks = malloc(src->n_racks * sizeof *dst->racks)))
		goto oom;
	if (src->n_llms && !(dst->llms = malloc(src->n_llms * sizeof *dst->llms)))
		goto oom;
	if (src->n_gpus)
		memcpy(dst->gpus, src->gpus, src->n_gpus * sizeof *dst->gpus);
	if (src->n_racks)
		memcpy(dst->racks, src->racks, src->n_racks * sizeof *dst->racks);
	if (src->n_llms)
		memcpy(dst->llms, src->llms, src->n_llms * sizeof *dst->llms);
	dst->n_gpus = src->n_gpus;
	dst->n_racks = src->n_racks;
	dst->n_llms = src->n_llms;
	dst->reliability = src->reliability;
	dst->has_reliability = src->has_reliability;
	return 0;
oom:
	catalog_clear(dst);
	return -1;
}

/* ---- small getter helpers ---------------------------------------------------- */

static int get_int(cfg_map *m, const char *key, const int *def, int64_t min, int64_t max, int *out)
{
	int64_t d = def ? *def : 0, v = 0;
	int rc = cfg_int(m, key, def ? &d : NULL, min, max, &v);
	if (rc == 0)
		*out = (int)v;
	return rc;
}

/* def for a field: the base's value, else the schema default (NULL: required). */
#define BASE(b, field, schema_def) ((b) ? &(b)->field : (schema_def))

/* ---- GPUs ------------------------------------------------------------------ */

static void read_gpu(cfg_map *m, const gpu_spec *b, gpu_spec *g)
{
	static const double one = 1.0, zero = 0.0, lat = 5e-6;
	static const bool no = false;
	static const char *const pname[HW_NPREC] = {"fp16", "fp8", "fp4"};

	cfg_string(m, "label", b ? b->label : NULL, g->label, sizeof g->label);
	cfg_map *fl = cfg_map_get(m, "flops", b == NULL);
	for (int p = 0; p < HW_NPREC; p++)
		cfg_quantity(fl, pname[p], "FLOP/s", BASE(b, flops[p], NULL), CFG_GE(0),
			     &g->flops[p]);
	cfg_close(fl);
	if (g->flops[HW_FP16] <= 0 && g->flops[HW_FP8] <= 0 && g->flops[HW_FP4] <= 0)
		cfg_fail(m, "flops",
			 "no precision has a peak above 0; expected at least one "
			 "of fp16, fp8, fp4 such as '989 TFLOP/s'");
	cfg_quantity(m, "memory", "B", BASE(b, mem_bytes, NULL), CFG_GT(0), &g->mem_bytes);
	cfg_quantity(m, "memory_bandwidth", "B/s", BASE(b, mem_bw, NULL), CFG_GT(0), &g->mem_bw);
	cfg_quantity(m, "scale_up_bandwidth", "B/s", BASE(b, scale_up_bw, NULL), CFG_GT(0),
		     &g->scale_up_bw);
	cfg_quantity(m, "scale_out_bandwidth", "B/s", BASE(b, scale_out_bw, NULL), CFG_GT(0),
		     &g->scale_out_bw);
	cfg_quantity(m, "tdp", "W", BASE(b, tdp_w, NULL), CFG_GT(0), &g->tdp_w);
	if (cfg_quantity(m, "idle_power", "W", BASE(b, idle_w, NULL), CFG_GE(0), &g->idle_w) == 0 &&
	    g->idle_w > g->tdp_w)
		cfg_fail(m, "idle_power",
			 "idle power %g W exceeds the TDP %g W; expected at most the TDP",
			 g->idle_w, g->tdp_w);

	cfg_map *ck = cfg_map_get(m, "clock", b == NULL);
	cfg_quantity(ck, "min", "Hz", BASE(b, clock_min_hz, NULL), CFG_GT(0), &g->clock_min_hz);
	if (cfg_quantity(ck, "max", "Hz", BASE(b, clock_max_hz, NULL), CFG_GT(0),
			 &g->clock_max_hz) == 0 &&
	    g->clock_max_hz < g->clock_min_hz)
		cfg_fail(ck, "max", "max clock %g MHz is below min %g MHz; expected max >= min",
			 g->clock_max_hz / 1e6, g->clock_min_hz / 1e6);
	cfg_close(ck);

	cfg_map *ef = cfg_map_get(m, "efficiency", false);
	cfg_quantity(ef, "compute", "%", BASE(b, eff_compute, &one), CFG_GT_LE(0, 1),
		     &g->eff_compute);
	cfg_quantity(ef, "memory", "%", BASE(b, eff_memory, &one), CFG_GT_LE(0, 1), &g->eff_memory);
	cfg_quantity(ef, "comm", "%", BASE(b, eff_comm, &one), CFG_GT_LE(0, 1), &g->eff_comm);
	cfg_quantity(ef, "overhead", "s", BASE(b, overhead_s, &zero), CFG_GE(0), &g->overhead_s);
	/* the calibrated efficiency curves (0 = flat: the datasheet roofline) */
	cfg_quantity(ef, "compute_half", "1", BASE(b, compute_half_tokens, &zero), CFG_GE(0),
		     &g->compute_half_tokens);
	cfg_quantity(ef, "memory_half", "B", BASE(b, memory_half_bytes, &zero), CFG_GE(0),
		     &g->memory_half_bytes);
	cfg_quantity(ef, "collective_latency", "s", BASE(b, collective_latency_s, &lat), CFG_GE(0),
		     &g->collective_latency_s);
	cfg_bool(ef, "calibrated", BASE(b, calibrated, &no), &g->calibrated);
	cfg_close(ef);

	/* Defaults: gamma 2.5, the middle of the 2-3 that DVFS studies report for
	 * dynamic power against clock (voltage scales with frequency); memory
	 * activity 0.65, derived from the Splitwise DGX-A100 profile, whose
	 * decode-dominated rows average 0.74 of TDP with idle near 0.14 of TDP:
	 * (0.74 - 0.14) / (1 - 0.14) = 0.7, rounded down for the prefill share
	 * those rows include.  Calibration replaces both. */
	const double gamma = 2.5, mem_act = 0.65;
	cfg_map *pw = cfg_map_get(m, "power", false);
	cfg_quantity(pw, "gamma", "1", BASE(b, power_gamma, &gamma), CFG_BETWEEN(0.5, 5),
		     &g->power_gamma);
	cfg_quantity(pw, "memory_activity", "1", BASE(b, memory_activity, &mem_act),
		     CFG_BETWEEN(0, 1), &g->memory_activity);
	cfg_close(pw);

	/* Thermal defaults: R_th 0.025 K/W, the middle of the 0.015-0.03 K/W that
	 * cold plates for 1 kW-class parts reach (DESIGN.md, "Cooling plant");
	 * throttle 87 degC and shutdown 95 degC, typical of the slowdown and
	 * shutdown temperatures nvidia-smi reports for data-centre GPUs
	 * (estimates: no datasheet lists them).  Each GPU entry may override. */
	const double rth = 0.025, thr = 87, shut = 95;
	cfg_map *th = cfg_map_get(m, "thermal", false);
	cfg_quantity(th, "r_th", "K/W", BASE(b, r_th_k_per_w, &rth), CFG_GT(0), &g->r_th_k_per_w);
	cfg_quantity(th, "throttle", "degC", BASE(b, throttle_c, &thr), CFG_BETWEEN(30, 150),
		     &g->throttle_c);
	cfg_quantity(th, "shutdown", "degC", BASE(b, shutdown_c, &shut), CFG_BETWEEN(30, 160),
		     &g->shutdown_c);
	cfg_close(th);
	if (!cfg_status_of(m) && g->shutdown_c <= g->throttle_c)
		cfg_fail(m, "thermal", "shutdown %.0f degC is not above throttle %.0f degC; expected "
				       "shutdown > throttle",
			 g->shutdown_c, g->throttle_c);
}

/* ---- racks ------------------------------------------------------------------ */

static void read_rack(cfg_map *m, const rack_spec *b, rack_spec *r, const catalog *w)
{
	static const double one = 1.0;
	cfg_string(m, "label", b ? b->label : NULL, r->label, sizeof r->label);
	if (!b || cfg_has(m, "gpus")) {
		cfg_map *gl = cfg_list(m, "gpus", true);
		size_t n = cfg_len(gl);
		if (n < 1 || n > RACK_MAX_GPU_GROUPS)
			cfg_fail(m, "gpus",
				 "%zu GPU groups; expected 1 to %d entries {type, count}", n,
				 RACK_MAX_GPU_GROUPS);
		r->n_groups = 0;
		for (size_t i = 0; i < n && i < RACK_MAX_GPU_GROUPS; i++) {
			cfg_map *it = cfg_item_map(gl, i);
			rack_gpu_group *grp = &r->groups[i];
			memset(grp, 0, sizeof *grp);
			if (cfg_string(it, "type", NULL, grp->gpu, sizeof grp->gpu) == 0 &&
			    !catalog_gpu(w, grp->gpu)) {
				char names[600];
				size_t used = 0;
				names[0] = '\0';
				for (size_t k = 0; k < w->n_gpus && used < sizeof names; k++) {
					int wr = snprintf(names + used, sizeof names - used, "%s%s",
							  k ? ", " : "", w->gpus[k].name);
					if (wr > 0)
						used += (size_t)wr;
				}
				cfg_fail(it, "type", "unknown GPU '%s'; expected one of: %s",
					 grp->gpu, names);
			}
			get_int(it, "count", NULL, 1, 1000000, &grp->count);
			cfg_close(it);
			r->n_groups = (int)i + 1;
		}
	}
	get_int(m, "cpus", BASE(b, cpus, NULL), 0, 100000, &r->cpus);
	if (get_int(m, "nvlink_domain", BASE(b, nvlink_domain, NULL), 1, 1000000,
		    &r->nvlink_domain) == 0 &&
	    r->nvlink_domain > rack_gpu_count(r))
		cfg_fail(m, "nvlink_domain",
			 "NVLink domain of %d GPUs exceeds the rack's %d GPUs; expected at most %d",
			 r->nvlink_domain, rack_gpu_count(r), rack_gpu_count(r));
	cfg_quantity(m, "cpu_power", "W", BASE(b, cpu_w, NULL), CFG_GE(0), &r->cpu_w);
	cfg_quantity(m, "switch_power", "W", BASE(b, switch_w, NULL), CFG_GE(0), &r->switch_w);
	cfg_quantity(m, "fan_pump_power", "W", BASE(b, fan_pump_w, NULL), CFG_GE(0),
		     &r->fan_pump_w);
	cfg_quantity(m, "psu_efficiency", "%", BASE(b, psu_efficiency, &one), CFG_GT_LE(0, 1),
		     &r->psu_efficiency);
	cfg_quantity(m, "liquid_share", "%", BASE(b, liquid_share, NULL), CFG_BETWEEN(0, 1),
		     &r->liquid_share);
	/* failure domains: compute trays (each GPU group splits evenly over them)
	 * and NVLink switch trays; default one tray holding everything */
	static const int one_tray = 1, no_switch = 0;
	if (get_int(m, "trays", BASE(b, trays, &one_tray), 1, 100000, &r->trays) == 0)
		for (int g = 0; g < r->n_groups; g++)
			if (r->groups[g].count % r->trays != 0) {
				cfg_fail(m, "trays",
					 "%d %s GPUs do not split evenly over %d trays; expected a "
					 "divisor of every group's count",
					 r->groups[g].count, r->groups[g].gpu, r->trays);
				break;
			}
	get_int(m, "switch_trays", BASE(b, switch_trays, &no_switch), 0, 100000, &r->switch_trays);
}

/* ---- reliability -------------------------------------------------------------- */

static const char *const life_dists[] = { "exponential", "weibull", NULL };
static const char *const repair_dists[] = { "exponential", "fixed", NULL };
static const char *const fail_classes[HW_FAIL_CLASSES] = { "gpu", "tray", "switch_tray", "rack" };

static void read_lifetime(cfg_map *m, const hw_lifetime *b, hw_lifetime *l)
{
	static const bool yes = true;
	static const int exp_dist = HW_LIFE_EXPONENTIAL;
	static const double one = 1.0;
	cfg_bool(m, "enabled", BASE(b, enabled, &yes), &l->enabled);
	cfg_quantity(m, "mtbf", "s", BASE(b, mtbf_s, NULL), CFG_GT(0), &l->mtbf_s);
	cfg_enum(m, "distribution", life_dists, BASE(b, distribution, &exp_dist), &l->distribution);
	l->shape = 1.0;
	if (l->distribution == HW_LIFE_WEIBULL) {
		const double *def = b && b->distribution == HW_LIFE_WEIBULL ? &b->shape : &one;
		cfg_quantity(m, "shape", "1", def, CFG_GT_LE(0, 20), &l->shape);
	} else if (cfg_has(m, "shape")) {
		cfg_fail(m, "shape", "shape is used only with distribution weibull; expected no shape "
				     "for distribution exponential");
	}
	cfg_quantity(m, "repair", "s", BASE(b, repair_s, NULL), CFG_GE(0), &l->repair_s);
	cfg_quantity(m, "replace", "s", BASE(b, replace_s, NULL), CFG_GE(0), &l->replace_s);
}

void catalog_read_reliability(cfg_map *m, const hw_reliability *b, hw_reliability *r)
{
	static const double zero = 0.0;
	static const int exp_repair = HW_REPAIR_EXPONENTIAL;
	for (int k = 0; k < HW_FAIL_CLASSES; k++) {
		cfg_map *c = cfg_map_get(m, fail_classes[k], b == NULL);
		read_lifetime(c, b ? &b->cls[k] : NULL, &r->cls[k]);
		cfg_close(c);
	}
	cfg_quantity(m, "detect", "s", BASE(b, detect_s, &zero), CFG_GE(0), &r->detect_s);
	cfg_quantity(m, "drain", "s", BASE(b, drain_s, &zero), CFG_GE(0), &r->drain_s);
	cfg_enum(m, "repair_distribution", repair_dists, BASE(b, repair_distribution, &exp_repair),
		 &r->repair_distribution);
}

/* ---- LLMs ------------------------------------------------------------------- */

static void read_llm(cfg_map *m, const llm_spec *b, llm_spec *l)
{
	static const int zero_i = 0;
	static const double zero = 0.0;

	cfg_string(m, "label", b ? b->label : NULL, l->label, sizeof l->label);
	cfg_map *pm = cfg_map_get(m, "params", b == NULL);
	cfg_quantity(pm, "total", "1", BASE(b, params_total, NULL), CFG_GT(0), &l->params_total);
	if (cfg_quantity(pm, "active", "1", BASE(b, params_active, NULL), CFG_GT(0),
			 &l->params_active) == 0 &&
	    l->params_active > l->params_total)
		cfg_fail(pm, "active",
			 "%g active parameters exceed the %g total; expected active <= total",
			 l->params_active, l->params_total);
	cfg_close(pm);
	get_int(m, "layers", BASE(b, layers, NULL), 1, 100000, &l->layers);
	get_int(m, "hidden", BASE(b, hidden, NULL), 1, 10000000, &l->hidden);
	get_int(m, "heads", BASE(b, heads, NULL), 1, 100000, &l->heads);
	if (get_int(m, "kv_heads", BASE(b, kv_heads, NULL), 1, 100000, &l->kv_heads) == 0 &&
	    l->heads % l->kv_heads != 0)
		cfg_fail(m, "kv_heads",
			 "%d KV heads do not divide %d heads; expected a divisor of heads",
			 l->kv_heads, l->heads);
	get_int(m, "head_dim", BASE(b, head_dim, NULL), 1, 100000, &l->head_dim);
	get_int(m, "kv_lora_rank", BASE(b, kv_lora_rank, &zero_i), 0, 1000000, &l->kv_lora_rank);
	get_int(m, "rope_dim", BASE(b, rope_dim, &zero_i), 0, 100000, &l->rope_dim);
	if (l->rope_dim > 0 && l->kv_lora_rank == 0)
		cfg_fail(m, "rope_dim",
			 "rope_dim is used only with MLA; expected kv_lora_rank > 0 "
			 "or no rope_dim");

	cfg_map *ex = cfg_map_get(m, "experts", false);
	get_int(ex, "total", BASE(b, experts, &zero_i), 0, 1000000, &l->experts);
	if (get_int(ex, "active", BASE(b, experts_active, &zero_i), 0, 1000000,
		    &l->experts_active) == 0 &&
	    l->experts_active > l->experts)
		cfg_fail(ex, "active",
			 "%d active experts exceed the %d routed experts; expected at "
			 "most %d",
			 l->experts_active, l->experts, l->experts);
	if (cfg_quantity(ex, "share", "%", BASE(b, expert_share, &zero), CFG_BETWEEN(0, 1),
			 &l->expert_share) == 0) {
		if (l->experts > 0 && (l->experts_active < 1 || l->expert_share <= 0))
			cfg_fail(m, "experts",
				 "a MoE model needs active >= 1 and share > 0; expected "
				 "e.g. {total: 256, active: 8, share: 97.5 %%}");
		else if (l->experts == 0 && (l->experts_active > 0 || l->expert_share > 0))
			cfg_fail(m, "experts",
				 "active experts or share without routed experts; "
				 "expected total > 0, or no experts for a dense model");
	}
	cfg_close(ex);

	cfg_map *pr = cfg_map_get(m, "precision", b == NULL);
	cfg_enum(pr, "weights", weight_prec, BASE(b, weight_precision, NULL), &l->weight_precision);
	cfg_enum(pr, "kv", kv_prec, BASE(b, kv_precision, NULL), &l->kv_precision);
	cfg_close(pr);
	cfg_quantity(m, "max_context", "1", BASE(b, max_context, NULL), CFG_GE(1), &l->max_context);
}

/* ---- sections --------------------------------------------------------------- */

static inline int name_ok(const char *s)
{
	return s && cfg_name_ok(s, HW_NAME_LEN - 1);
}

enum kind { K_GPU, K_RACK, K_LLM };
static const char *const section_key[] = {"gpus", "racks", "models"};

/* Grow the array of kind k in w by one zeroed entry; its address or NULL. */
static void *append(catalog *w, int k)
{
	void **arr;
	size_t *n, sz;
	switch (k) {
	case K_GPU:
		arr = (void **)&w->gpus, n = &w->n_gpus, sz = sizeof(gpu_spec);
		break;
	case K_RACK:
		arr = (void **)&w->racks, n = &w->n_racks, sz = sizeof(rack_spec);
		break;
	default:
		arr = (void **)&w->llms, n = &w->n_llms, sz = sizeof(llm_spec);
		break;
	}
	void *p = realloc(*arr, (*n + 1) * sz);
	if (!p)
		return NULL;
	*arr = p;
	void *e = (char *)p + *n * sz;
	memset(e, 0, sz);
	(*n)++;
	return e;
}

/* Read section k of sec (whose node is secnode) into w. */
static int read_section(cfg *cf, cfg_map *sec, const ynode *secnode, int k, catalog *w)
{
	cfg_map *m = cfg_map_get(sec, section_key[k], false);
	const ypair *sp =
	    secnode && secnode->kind == YNODE_MAP ? ynode_find(secnode, section_key[k]) : NULL;
	const ynode *node = sp ? sp->value : NULL;
	if (cfg_status(cf) || !node || node->kind != YNODE_MAP)
		return 0;
	for (size_t i = 0; i < node->npairs && !cfg_status(cf); i++) {
		const char *name = node->pairs[i].key ? node->pairs[i].key : "";
		if (!name_ok(name)) {
			cfg_fail(m, name,
				 "bad name '%s'; expected letters, digits, '.', '_', '-', "
				 "at most %d characters",
				 name, HW_NAME_LEN - 1);
			break;
		}
		cfg_map *e = cfg_map_get(m, name, true);
		if (k == K_GPU) {
			const gpu_spec *b = catalog_gpu(w, name);
			gpu_spec g;
			memset(&g, 0, sizeof g);
			snprintf(g.name, sizeof g.name, "%s", name);
			read_gpu(e, b, &g);
			if (cfg_close(e) == 0) {
				gpu_spec *dst = b ? (gpu_spec *)b : append(w, k);
				if (!dst)
					return -1;
				*dst = g;
			}
		} else if (k == K_RACK) {
			const rack_spec *b = catalog_rack(w, name);
			rack_spec r;
			memset(&r, 0, sizeof r);
			if (b)
				r = *b;
			snprintf(r.name, sizeof r.name, "%s", name);
			read_rack(e, b, &r, w);
			if (cfg_close(e) == 0) {
				rack_spec *dst = b ? (rack_spec *)b : append(w, k);
				if (!dst)
					return -1;
				*dst = r;
			}
		} else {
			const llm_spec *b = catalog_llm(w, name);
			llm_spec l;
			memset(&l, 0, sizeof l);
			snprintf(l.name, sizeof l.name, "%s", name);
			read_llm(e, b, &l);
			if (cfg_close(e) == 0) {
				llm_spec *dst = b ? (llm_spec *)b : append(w, k);
				if (!dst)
					return -1;
				*dst = l;
			}
		}
	}
	cfg_close(m);
	return 0;
}

/* Read the catalog mapping (gpus, racks, models) under root or, when key is
 * not NULL, under root's key into a copy of c; replace c on success. */
static int apply_tree(catalog *c, ynode *root, const char *key, fs_error *err)
{
	catalog w;
	if (copy_catalog(&w, c) != 0)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory reading the catalog");
	cfg *cf = cfg_new(root, err);
	if (!cf) {
		catalog_clear(&w);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory reading the catalog");
	}
	cfg_map *sec = cfg_root(cf);
	const ynode *secnode = root;
	if (key) {
		sec = cfg_map_get(sec, key, false);
		const ypair *p = root && root->kind == YNODE_MAP ? ynode_find(root, key) : NULL;
		secnode = p ? p->value : NULL;
	}
	int oom = 0;
	for (int k = K_GPU; k <= K_LLM && !oom; k++)
		oom = read_section(cf, sec, secnode, k, &w);
	cfg_map *rel = cfg_map_get(sec, "reliability", false);
	if (!cfg_status(cf) && cfg_present(rel)) {
		hw_reliability r;
		memset(&r, 0, sizeof r);
		catalog_read_reliability(rel, w.has_reliability ? &w.reliability : NULL, &r);
		if (cfg_close(rel) == 0) {
			w.reliability = r;
			w.has_reliability = true;
		}
	} else {
		cfg_close(rel);
	}
	cfg_close(sec);
	int rc = cfg_status(cf);
	if (rc == 0 && oom)
		rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory reading the catalog");
	cfg_free(cf);
	if (rc) {
		catalog_clear(&w);
		return rc;
	}
	catalog_clear(c);
	*c = w;
	return 0;
}

int catalog_apply(catalog *c, ynode *section, fs_error *err)
{
	if (!section || section->kind == YNODE_NULL)
		return 0;
	/* Wrap the section as {catalog: section} so key paths read catalog.gpus... */
	ynode *wrap = ynode_new(YNODE_MAP, section->file, section->line, section->col);
	if (!wrap)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory reading the catalog");
	/* Built by hand: ynode_add would free the caller's section on failure. */
	wrap->pairs = calloc(1, sizeof *wrap->pairs);
	char *key = strdup("catalog");
	if (!wrap->pairs || !key) {
		free(key);
		ynode_free(wrap);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory reading the catalog");
	}
	wrap->pairs[0].key = key;
	wrap->pairs[0].file = section->file;
	wrap->pairs[0].line = section->line;
	wrap->pairs[0].col = section->col;
	wrap->pairs[0].value = section;
	wrap->npairs = wrap->cap_pairs = 1;
	int rc = apply_tree(c, wrap, "catalog", err);
	wrap->pairs[0].value = NULL; /* the section belongs to the caller */
	ynode_free(wrap);
	return rc;
}

int catalog_apply_string(catalog *c, const char *text, const char *name, fs_error *err)
{
	ydoc *d = NULL;
	int rc = ydoc_load_string(text, name, &d, err);
	if (rc == 0)
		rc = apply_tree(c, ydoc_root(d), NULL, err);
	ydoc_free(d);
	return rc;
}

/* ---- finding and loading the built-in files --------------------------------- */

static int has_files(const char *dir)
{
	char path[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		int w = snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		if (w < 0 || (size_t)w >= sizeof path || access(path, R_OK) != 0)
			return 0;
	}
	return 1;
}

static int set_dir(char *dir, size_t n, const char *d)
{
	if (strlen(d) >= n)
		return 0;
	snprintf(dir, n, "%s", d);
	return 1;
}

int catalog_find_dir(char *dir, size_t n, fs_error *err)
{
	const char *env = getenv(CATALOG_ENV);
	if (env && *env) {
		if (has_files(env) && set_dir(dir, n, env))
			return 0;
		return fs_error_msg(
		    err, FS_ERR_IO,
		    "%s=%s: no readable gpus.yaml, racks.yaml and models.yaml there; "
		    "expected the catalog directory",
		    CATALOG_ENV, env);
	}
#ifdef FS_CATALOG_DIR
	if (has_files(FS_CATALOG_DIR) && set_dir(dir, n, FS_CATALOG_DIR))
		return 0;
#endif
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* a build tree (build/factorysim, build/tests/x) or an install
			 * (PREFIX/bin/factorysim with PREFIX/share/factorysim/catalog) */
			static const char *const rel[] = {"/../scenarios/catalog",
							  "/../../scenarios/catalog",
							  "/../share/factorysim/catalog"};
			for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
				char cand[PATH_MAX + 32];
				snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
				if (has_files(cand) && set_dir(dir, n, cand))
					return 0;
			}
		}
	}
	if (has_files("scenarios/catalog") && set_dir(dir, n, "scenarios/catalog"))
		return 0;
	return fs_error_msg(
	    err, FS_ERR_IO,
	    "cannot find the built-in catalog (gpus.yaml, racks.yaml, models.yaml); "
	    "expected it in $%s, next to the executable (../scenarios/catalog, ../share/factorysim/catalog) or "
	    "in ./scenarios/catalog",
	    CATALOG_ENV);
}

int catalog_load_dir(catalog *c, const char *dir, fs_error *err)
{
	catalog w;
	memset(&w, 0, sizeof w);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[PATH_MAX + 64];
		int wr = snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		if (wr < 0 || (size_t)wr >= sizeof path) {
			catalog_clear(&w);
			return fs_error_msg(err, FS_ERR_IO, "catalog directory name too long: %s",
					    dir);
		}
		ydoc *d = NULL;
		int rc = ydoc_load_file(path, &d, err);
		if (rc == 0)
			rc = apply_tree(&w, ydoc_root(d), NULL, err);
		ydoc_free(d);
		if (rc) {
			catalog_clear(&w);
			return rc;
		}
	}
	/* the failure defaults are optional: a catalog directory of one's own may
	 * lack them (a scenario's `reliability:` then gives every figure) */
	char path[PATH_MAX + 64];
	int wr = snprintf(path, sizeof path, "%s/reliability.yaml", dir);
	if (wr > 0 && (size_t)wr < sizeof path && access(path, R_OK) == 0) {
		ydoc *d = NULL;
		int rc = ydoc_load_file(path, &d, err);
		if (rc == 0)
			rc = apply_tree(&w, ydoc_root(d), NULL, err);
		ydoc_free(d);
		if (rc) {
			catalog_clear(&w);
			return rc;
		}
	}
	catalog_clear(c);
	*c = w;
	return 0;
}

int catalog_load_builtin(catalog *c, fs_error *err)
{
	char dir[PATH_MAX];
	int rc = catalog_find_dir(dir, sizeof dir, err);
	return rc ? rc : catalog_load_dir(c, dir, err);
}

/* ---- printing --------------------------------------------------------------- */

static int name_width(const char *first, size_t stride, size_t n, int min)
{
	int w = min;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(first + i * stride);
		if (l > w)
			w = l;
	}
	return w;
}

static void fmt_flops(double f, char *buf, size_t n)
{
	if (f <= 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.0f", f / 1e12);
}

static void print_gpus(FILE *f, const catalog *c)
{
	int w = name_width(c->gpus ? c->gpus[0].name : "", sizeof(gpu_spec), c->n_gpus, 4);
	fprintf(f, "%-*s %8s %8s %8s %7s %7s %8s %8s %6s %5s %11s\n", w, "", "FP16", "FP8", "FP4",
		"Memory", "Mem BW", "NVLink", "NIC", "TDP", "Idle", "Clock");
	fprintf(f, "%-*s %8s %8s %8s %7s %7s %8s %8s %6s %5s %11s  %s\n", w, "GPU", "TFLOP/s",
		"TFLOP/s", "TFLOP/s", "GB", "TB/s", "GB/s/dir", "GB/s/dir", "W", "W", "MHz",
		"Label");
	for (size_t i = 0; i < c->n_gpus; i++) {
		const gpu_spec *g = &c->gpus[i];
		char f16[32], f8[32], f4[32], clk[32];
		fmt_flops(g->flops[HW_FP16], f16, sizeof f16);
		fmt_flops(g->flops[HW_FP8], f8, sizeof f8);
		fmt_flops(g->flops[HW_FP4], f4, sizeof f4);
		snprintf(clk, sizeof clk, "%.0f-%.0f", g->clock_min_hz / 1e6,
			 g->clock_max_hz / 1e6);
		fprintf(f, "%-*s %8s %8s %8s %7.0f %7.2f %8.0f %8.0f %6.0f %5.0f %11s  %s%s\n", w,
			g->name, f16, f8, f4, g->mem_bytes / 1e9, g->mem_bw / 1e12,
			g->scale_up_bw / 1e9, g->scale_out_bw / 1e9, g->tdp_w, g->idle_w, clk,
			g->label, g->calibrated ? " [calibrated]" : "");
	}
}

static void groups_text(const rack_spec *r, char *g, size_t n)
{
	size_t used = 0;
	g[0] = '\0';
	for (int k = 0; k < r->n_groups && used < n; k++) {
		int wr = snprintf(g + used, n - used, "%s%d x %s", k ? " + " : "",
				  r->groups[k].count, r->groups[k].gpu);
		if (wr > 0)
			used += (size_t)wr;
	}
}

static void print_racks(FILE *f, const catalog *c)
{
	int w = name_width(c->racks ? c->racks[0].name : "", sizeof(rack_spec), c->n_racks, 4);
	int gw = 4;
	char g[2 * HW_NAME_LEN + 40];
	for (size_t i = 0; i < c->n_racks; i++) {
		groups_text(&c->racks[i], g, sizeof g);
		if ((int)strlen(g) > gw)
			gw = (int)strlen(g);
	}
	fprintf(f, "%-*s  %-*s %5s %6s %7s %7s %7s %5s %6s\n", w, "", gw, "", "", "NVLink", "GPU",
		"Non-GPU", "Wall", "PSU", "Liquid");
	fprintf(f, "%-*s  %-*s %5s %6s %7s %7s %7s %5s %6s  %s\n", w, "Rack", gw, "GPUs", "CPUs",
		"domain", "kW", "kW", "kW", "%", "%", "Label");
	for (size_t i = 0; i < c->n_racks; i++) {
		const rack_spec *r = &c->racks[i];
		double gpu = rack_gpu_w(c, r), other = rack_non_gpu_w(r);
		double wall = r->psu_efficiency > 0 ? (gpu + other) / r->psu_efficiency : 0;
		groups_text(r, g, sizeof g);
		fprintf(f, "%-*s  %-*s %5d %6d %7.1f %7.1f %7.1f %5.0f %6.0f  %s\n", w, r->name, gw,
			g, r->cpus, r->nvlink_domain, gpu / 1e3, other / 1e3, wall / 1e3,
			r->psu_efficiency * 100, r->liquid_share * 100, r->label);
	}
}

static void print_llms(FILE *f, const catalog *c)
{
	int w = name_width(c->llms ? c->llms[0].name : "", sizeof(llm_spec), c->n_llms, 5);
	fprintf(f, "%-*s %7s %7s %6s %6s %8s %4s %8s %-9s %8s %8s %9s\n", w, "", "Params", "Active",
		"", "", "Heads", "Head", "Experts", "Precision", "KV", "Weights", "Max");
	fprintf(f, "%-*s %7s %7s %6s %6s %8s %4s %8s %-9s %8s %8s %9s  %s\n", w, "Model", "B", "B",
		"Layers", "Hidden", "q/kv", "dim", "act/tot", "w/kv", "B/token", "GB", "context",
		"Label");
	for (size_t i = 0; i < c->n_llms; i++) {
		const llm_spec *l = &c->llms[i];
		char heads[32], ex[32], prec[32], kvb[32];
		snprintf(heads, sizeof heads, "%d/%d", l->heads, l->kv_heads);
		if (l->experts > 0)
			snprintf(ex, sizeof ex, "%d/%d", l->experts_active, l->experts);
		else
			snprintf(ex, sizeof ex, "-");
		snprintf(prec, sizeof prec, "%s/%s", hw_precision_name(l->weight_precision),
			 hw_precision_name(l->kv_precision));
		if (l->kv_lora_rank > 0)
			snprintf(kvb, sizeof kvb, "%.0f*", llm_kv_bytes_per_token(l));
		else
			snprintf(kvb, sizeof kvb, "%.0f", llm_kv_bytes_per_token(l));
		fprintf(f, "%-*s %7.1f %7.1f %6d %6d %8s %4d %8s %-9s %8s %8.1f %9.0f  %s\n", w,
			l->name, l->params_total / 1e9, l->params_active / 1e9, l->layers,
			l->hidden, heads, l->head_dim, ex, prec, kvb, llm_weight_bytes(l) / 1e9,
			l->max_context, l->label);
	}
	for (size_t i = 0; i < c->n_llms; i++)
		if (c->llms[i].kv_lora_rank > 0) {
			fprintf(f, "* MLA: one latent vector + RoPE key per layer\n");
			break;
		}
}

int catalog_print(FILE *f, const catalog *c, const char *which)
{
	int g = !which || strcmp(which, "gpus") == 0;
	int r = !which || strcmp(which, "racks") == 0;
	int m = !which || strcmp(which, "models") == 0;
	if (!g && !r && !m)
		return FS_ERR_USAGE;
	if (g)
		print_gpus(f, c);
	if (g && (r || m))
		fputc('\n', f);
	if (r)
		print_racks(f, c);
	if (r && m)
		fputc('\n', f);
	if (m)
		print_llms(f, c);
	return ferror(f) ? FS_ERR_IO : 0;
}
