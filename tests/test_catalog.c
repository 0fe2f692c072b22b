/*
 * test_catalog.c - the built-in catalog: every entry present, figures against
 * the public reference values, derived LLM quantities against hand
 * arithmetic, scenario overrides (one field changes, new entries, located
 * errors that leave the catalog unchanged), look-up of the catalog directory,
 * and the printed tables.  Runs with cwd = repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "yamltree.h"

static catalog cat;

static int setup(void **state)
{
	(void)state;
	fs_error err;
	fs_error_clear(&err);
	memset(&cat, 0, sizeof cat);
	int rc = catalog_load_builtin(&cat, &err);
	if (rc) {
		char msg[2048];
		fs_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "catalog_load_builtin: %s\n", msg);
	}
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	catalog_clear(&cat);
	return 0;
}

static void near(double got, double want, double rel)
{
	double d = got - want;
	if (d < 0)
		d = -d;
	if (d > rel * (want < 0 ? -want : want))
		fail_msg("got %.9g, want %.9g (rel %g)", got, want, rel);
}

static void test_entries_present(void **state)
{
	(void)state;
	static const char *const gpus[] = {"a100",  "h100",  "h200",  "b200",
					   "gb200", "gb300", "rubin", "rubin-cpx"};
	static const char *const racks[] = {"hgx-h100",
					    "hgx-h200",
					    "hgx-b200",
					    "gb200-nvl72",
					    "gb300-nvl72",
					    "vera-rubin-nvl72",
					    "vera-rubin-nvl144-cpx"};
	static const char *const llms[] = {"llama-3.1-8b",  "llama-3.1-70b", "llama-3.1-405b",
					   "llama-2-70b",   "deepseek-r1",   "gpt-oss-120b",
					   "llama-4-scout", "qwen2.5-7b-1m"};
	for (size_t i = 0; i < sizeof gpus / sizeof gpus[0]; i++) {
		const gpu_spec *g = catalog_gpu(&cat, gpus[i]);
		if (!g) {
			fail_msg("missing gpu %s", gpus[i]);
			return;
		}
		assert_true(g->label[0] != '\0');
		assert_true(g->mem_bytes > 0 && g->mem_bw > 0 && g->tdp_w > g->idle_w);
		assert_true(g->clock_max_hz >= g->clock_min_hz);
		assert_true(g->eff_compute == 1.0 && g->eff_memory == 1.0 && g->eff_comm == 1.0);
		assert_true(g->overhead_s == 0.0);
		near(g->collective_latency_s, 5e-6, 1e-12);
		assert_false(g->calibrated);
	}
	for (size_t i = 0; i < sizeof racks / sizeof racks[0]; i++)
		if (!catalog_rack(&cat, racks[i]))
			fail_msg("missing rack %s", racks[i]);
	for (size_t i = 0; i < sizeof llms / sizeof llms[0]; i++)
		if (!catalog_llm(&cat, llms[i]))
			fail_msg("missing model %s", llms[i]);
	assert_null(catalog_gpu(&cat, "nope"));
	assert_null(catalog_rack(&cat, NULL));
}

static void test_gpu_figures(void **state)
{
	(void)state;
	const gpu_spec *a100 = catalog_gpu(&cat, "a100"), *h100 = catalog_gpu(&cat, "h100");
	const gpu_spec *h200 = catalog_gpu(&cat, "h200"), *b200 = catalog_gpu(&cat, "b200");
	const gpu_spec *gb300 = catalog_gpu(&cat, "gb300"), *rubin = catalog_gpu(&cat, "rubin");
	const gpu_spec *cpx = catalog_gpu(&cat, "rubin-cpx");
	near(a100->flops[HW_FP16], 312e12, 1e-12);
	assert_true(a100->flops[HW_FP8] == 0 && a100->flops[HW_FP4] == 0);
	near(a100->mem_bw, 2.039e12, 1e-12);
	near(a100->scale_up_bw, 300e9, 1e-12);
	near(h100->flops[HW_FP16], 989e12, 1e-12);
	near(h100->flops[HW_FP8], 1979e12, 1e-12);
	near(h100->mem_bw, 3.35e12, 1e-12);
	near(h100->scale_up_bw, 450e9, 1e-12);
	near(h100->scale_out_bw, 50e9, 1e-12); /* 400 Gbit/s */
	near(h100->tdp_w, 700, 1e-12);
	near(h100->clock_max_hz, 1980e6, 1e-12);
	near(h200->mem_bytes, 141e9, 1e-12);
	near(h200->mem_bw, 4.8e12, 1e-12);
	near(b200->flops[HW_FP4], 9e15, 1e-12);
	near(b200->tdp_w, 1000, 1e-12);
	near(gb300->mem_bytes, 288e9, 1e-12);
	near(gb300->flops[HW_FP4], 15e15, 1e-12);
	near(gb300->scale_out_bw, 100e9, 1e-12);
	near(rubin->flops[HW_FP4], 50e15, 1e-12);
	near(rubin->mem_bw, 22e12, 1e-12);
	near(rubin->scale_up_bw, 1.8e12, 1e-12);
	near(rubin->tdp_w, 2300, 1e-12);
	near(cpx->flops[HW_FP4], 30e15, 1e-12);
	near(cpx->mem_bytes, 128e9, 1e-12);
}

static void test_rack_figures(void **state)
{
	(void)state;
	const rack_spec *nvl = catalog_rack(&cat, "gb200-nvl72");
	assert_int_equal(nvl->n_groups, 1);
	assert_string_equal(nvl->groups[0].gpu, "gb200");
	assert_int_equal(rack_gpu_count(nvl), 72);
	assert_int_equal(nvl->cpus, 36);
	assert_int_equal(nvl->nvlink_domain, 72);
	near(rack_gpu_w(&cat, nvl), 72 * 1200.0, 1e-12);
	/* ~120 kW at the wall (H17) */
	near((rack_gpu_w(&cat, nvl) + rack_non_gpu_w(nvl)) / nvl->psu_efficiency, 120e3, 0.02);
	assert_true(nvl->liquid_share >= 0.85 && nvl->liquid_share <= 0.9);

	const rack_spec *cpx = catalog_rack(&cat, "vera-rubin-nvl144-cpx");
	assert_int_equal(cpx->n_groups, 2);
	assert_string_equal(cpx->groups[0].gpu, "rubin-cpx");
	assert_int_equal(cpx->groups[0].count, 144);
	assert_string_equal(cpx->groups[1].gpu, "rubin");
	assert_int_equal(cpx->groups[1].count, 72);
	/* 8 EF NVFP4 for the rack (H28) */
	double ef = 0;
	for (int i = 0; i < cpx->n_groups; i++)
		ef += cpx->groups[i].count * catalog_gpu(&cat, cpx->groups[i].gpu)->flops[HW_FP4];
	near(ef, 8e18, 0.02);

	const rack_spec *h = catalog_rack(&cat, "hgx-h100");
	assert_int_equal(rack_gpu_count(h), 8);
	assert_true(h->liquid_share == 0);
	near((rack_gpu_w(&cat, h) + rack_non_gpu_w(h)) / h->psu_efficiency, 10.2e3, 0.01); /* H19 */
	/* every rack's GPU types exist */
	for (size_t i = 0; i < cat.n_racks; i++)
		for (int k = 0; k < cat.racks[i].n_groups; k++)
			assert_non_null(catalog_gpu(&cat, cat.racks[i].groups[k].gpu));
}

static void test_llm_derived(void **state)
{
	(void)state;
	const llm_spec *l70 = catalog_llm(&cat, "llama-3.1-70b");
	near(llm_kv_bytes_per_token(l70), 2.0 * 80 * 8 * 128 * 2, 1e-15); /* 327680 */
	near(llm_kv_bytes_per_token(catalog_llm(&cat, "llama-3.1-8b")), 2.0 * 32 * 8 * 128 * 2,
	     1e-15); /* 131072 */
	const llm_spec *ds = catalog_llm(&cat, "deepseek-r1");
	assert_int_equal(ds->kv_precision, HW_FP16);
	near(llm_kv_bytes_per_token(ds), (512.0 + 64) * 61 * 2, 1e-15); /* 70272 */
	assert_int_equal(ds->experts, 256);
	assert_int_equal(ds->experts_active, 8);
	near(ds->params_active, 37e9, 1e-12);
	assert_int_equal(ds->weight_precision, HW_FP8);
	near(llm_weight_bytes(ds), 671e9, 1e-12);
	const llm_spec *l2 = catalog_llm(&cat, "llama-2-70b");
	near(llm_weight_bytes(l2), 2 * l2->params_total, 1e-15);
	near(llm_weight_bytes(l2), 138e9, 0.01);
	const llm_spec *oss = catalog_llm(&cat, "gpt-oss-120b");
	near(llm_kv_bytes_per_token(oss), 2.0 * 36 * 8 * 64 * 2, 1e-15);
	near(llm_weight_bytes(oss), 0.5 * 116.83e9, 1e-12);
	assert_true(catalog_llm(&cat, "qwen2.5-7b-1m")->max_context >= 1e6);
	for (size_t i = 0; i < cat.n_llms; i++) {
		const llm_spec *m = &cat.llms[i];
		assert_int_equal(m->heads % m->kv_heads, 0);
		assert_true(m->params_active <= m->params_total);
		assert_true(m->experts_active <= m->experts);
	}
}

/* Load a scenario-like text and apply its catalog: section; msg gets the error. */
static int apply_text(catalog *c, const char *text, char *msg, size_t n)
{
	fs_error err;
	fs_error_clear(&err);
	ydoc *d = NULL;
	int rc = ydoc_load_string(text, "t.yaml", &d, &err);
	if (rc == 0) {
		ypair *p = ynode_find(ydoc_root(d), "catalog");
		rc = catalog_apply(c, p ? p->value : NULL, &err);
	}
	ydoc_free(d);
	fs_error_format(&err, msg, n);
	return rc;
}

static void copy_builtin(catalog *c)
{
	fs_error err;
	fs_error_clear(&err);
	memset(c, 0, sizeof *c);
	assert_int_equal(catalog_load_builtin(c, &err), 0);
}

static void test_override_one_field(void **state)
{
	(void)state;
	catalog c;
	copy_builtin(&c);
	char msg[1024];
	int rc = apply_text(&c,
			    "name: s\n"
			    "catalog:\n"
			    "  gpus:\n"
			    "    h100: {tdp: 600 W, efficiency: {compute: 70 %}}\n"
			    "  racks:\n"
			    "    gb200-nvl72: {liquid_share: 90 %}\n"
			    "  models:\n"
			    "    llama-3.1-70b: {precision: {weights: fp8}}\n",
			    msg, sizeof msg);
	if (rc)
		fail_msg("%s", msg);
	assert_int_equal(c.n_gpus, cat.n_gpus);
	gpu_spec want = *catalog_gpu(&cat, "h100");
	want.tdp_w = 600;
	const gpu_spec *got = catalog_gpu(&c, "h100");
	near(got->tdp_w, 600, 1e-15);
	near(got->eff_compute, 0.7, 1e-15);
	want.eff_compute = got->eff_compute; /* 70 x 0.01, not exactly 0.7 */
	assert_memory_equal(got, &want, sizeof want);
	rack_spec wr = *catalog_rack(&cat, "gb200-nvl72");
	wr.liquid_share = 0.9;
	assert_memory_equal(catalog_rack(&c, "gb200-nvl72"), &wr, sizeof wr);
	llm_spec wl = *catalog_llm(&cat, "llama-3.1-70b");
	wl.weight_precision = HW_FP8;
	assert_memory_equal(catalog_llm(&c, "llama-3.1-70b"), &wl, sizeof wl);
	/* untouched entries stay equal */
	assert_memory_equal(catalog_gpu(&c, "b200"), catalog_gpu(&cat, "b200"), sizeof(gpu_spec));
	/* a null section is fine */
	assert_int_equal(apply_text(&c, "name: s\ncatalog:\n", msg, sizeof msg), 0);
	catalog_clear(&c);
}

static void test_new_entries(void **state)
{
	(void)state;
	catalog c;
	copy_builtin(&c);
	char msg[1024];
	int rc = apply_text(&c,
			    "catalog:\n"
			    "  racks:\n" /* order in the file does not matter: gpus first */
			    "    my-rack:\n"
			    "      label: test rack\n"
			    "      gpus: [{type: my-gpu, count: 4}]\n"
			    "      cpus: 1\n"
			    "      nvlink_domain: 4\n"
			    "      cpu_power: 200 W\n"
			    "      switch_power: 1 kW\n"
			    "      fan_pump_power: 500 W\n"
			    "      liquid_share: 0 %\n"
			    "  gpus:\n"
			    "    my-gpu:\n"
			    "      label: test gpu\n"
			    "      flops: {fp16: 100 TFLOP/s, fp8: 0 FLOP/s, fp4: 0 FLOP/s}\n"
			    "      memory: 24 GiB\n"
			    "      memory_bandwidth: 1 TB/s\n"
			    "      scale_up_bandwidth: 32 GB/s\n"
			    "      scale_out_bandwidth: 100 Gbit/s\n"
			    "      tdp: 300 W\n"
			    "      idle_power: 30 W\n"
			    "      clock: {min: 300 MHz, max: 1.5 GHz}\n"
			    "  models:\n"
			    "    my-model:\n"
			    "      label: tiny\n"
			    "      params: {total: 1e9, active: 1e9}\n"
			    "      layers: 16\n"
			    "      hidden: 2048\n"
			    "      heads: 16\n"
			    "      kv_heads: 4\n"
			    "      head_dim: 128\n"
			    "      precision: {weights: fp16, kv: fp8}\n"
			    "      max_context: 8192\n",
			    msg, sizeof msg);
	if (rc)
		fail_msg("%s", msg);
	assert_int_equal(c.n_gpus, cat.n_gpus + 1);
	const gpu_spec *g = catalog_gpu(&c, "my-gpu");
	assert_non_null(g);
	near(g->mem_bytes, 24.0 * 1024 * 1024 * 1024, 1e-15);
	near(g->scale_out_bw, 12.5e9, 1e-15);
	near(g->clock_max_hz, 1.5e9, 1e-15);
	assert_true(g->eff_compute == 1.0); /* schema default */
	near(g->collective_latency_s, 5e-6, 1e-12);
	const rack_spec *r = catalog_rack(&c, "my-rack");
	assert_non_null(r);
	near(r->psu_efficiency, 1.0, 1e-15); /* default */
	const llm_spec *m = catalog_llm(&c, "my-model");
	assert_non_null(m);
	assert_int_equal(m->experts, 0);
	near(llm_kv_bytes_per_token(m), 2.0 * 16 * 4 * 128 * 1, 1e-15);
	catalog_clear(&c);
}

/* The apply must fail with exactly want and leave the catalog unchanged. */
static void expect_fail(const char *text, const char *want)
{
	catalog c;
	copy_builtin(&c);
	char msg[1024];
	int rc = apply_text(&c, text, msg, sizeof msg);
	if (rc == 0)
		fail_msg("applied, expected: %s", want);
	assert_int_equal(rc, FS_ERR_INPUT);
	if (strcmp(msg, want) != 0)
		fail_msg("\n got  '%s'\n want '%s'", msg, want);
	assert_int_equal(c.n_gpus, cat.n_gpus);
	assert_int_equal(c.n_racks, cat.n_racks);
	assert_int_equal(c.n_llms, cat.n_llms);
	assert_memory_equal(c.gpus, cat.gpus, cat.n_gpus * sizeof *cat.gpus);
	assert_memory_equal(c.racks, cat.racks, cat.n_racks * sizeof *cat.racks);
	assert_memory_equal(c.llms, cat.llms, cat.n_llms * sizeof *cat.llms);
	catalog_clear(&c);
}

static void test_bad_overrides(void **state)
{
	(void)state;
	/* an earlier valid override in the same apply is not kept either */
	expect_fail(
	    "catalog:\n  gpus:\n    h200: {tdp: 650 W}\n    h100: {tdpp: 600 W}\n",
	    "t.yaml:4:12: catalog.gpus.h100.tdpp: unknown key 'tdpp'; expected one of: label, "
	    "flops, memory, memory_bandwidth, scale_up_bandwidth, scale_out_bandwidth, tdp, "
	    "idle_power, clock, efficiency, power, thermal");
	expect_fail("catalog:\n  gpus:\n    h100: {tdp: 600 GB}\n",
		    "t.yaml:3:17: catalog.gpus.h100.tdp: wrong unit 'GB' (data size); expected a "
		    "power such as '50 MW'");
	expect_fail(
	    "catalog:\n  gpus:\n    h100: {flops: {fp8: -1 TFLOP/s}}\n",
	    "t.yaml:3:25: catalog.gpus.h100.flops.fp8: value -1000000000000 FLOP/s is out of "
	    "range; expected >= 0 FLOP/s");
}

/* Like expect_fail but only the location prefix and a fragment are checked. */
static void expect_fail_part(const char *text, const char *prefix, const char *part)
{
	catalog c;
	copy_builtin(&c);
	char msg[1024];
	int rc = apply_text(&c, text, msg, sizeof msg);
	if (rc == 0)
		fail_msg("applied, expected an error with '%s'", part);
	assert_int_equal(rc, FS_ERR_INPUT);
	if (strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, part))
		fail_msg("\n got  '%s'\n want '%s...%s...'", msg, prefix, part);
	assert_int_equal(c.n_gpus, cat.n_gpus);
	catalog_clear(&c);
}

static void test_bad_entries(void **state)
{
	(void)state;
	expect_fail_part("catalog:\n  gpus:\n    h100: {clock: {max: 100 MHz}}\n",
			 "t.yaml:3:25: catalog.gpus.h100.clock.max: ", "is below min");
	expect_fail_part("catalog:\n  gpus:\n    h100: {idle_power: 800 W}\n",
			 "t.yaml:3:24: catalog.gpus.h100.idle_power: ", "exceeds the TDP");
	expect_fail_part("catalog:\n  gpus:\n    'bad name': {tdp: 1 W}\n",
			 "t.yaml:3:17: catalog.gpus.bad name: ", "bad name 'bad name'");
	expect_fail_part(
	    "catalog:\n  racks:\n    r: {label: x, gpus: [{type: h900, count: 8}], cpus: 2,"
	    " nvlink_domain: 8, cpu_power: 1 W, switch_power: 1 W, fan_pump_power:"
	    " 1 W, liquid_share: 0}\n",
	    "t.yaml:3:33: catalog.racks.r.gpus[0].type: ",
	    "unknown GPU 'h900'; expected one of: a100, h100");
	expect_fail_part(
	    "catalog:\n  racks:\n    hgx-h100: {nvlink_domain: 16}\n",
	    "t.yaml:3:31: catalog.racks.hgx-h100.nvlink_domain: ", "exceeds the rack's 8 GPUs");
	expect_fail_part("catalog:\n  models:\n    llama-3.1-8b: {kv_heads: 5}\n",
			 "t.yaml:3:30: catalog.models.llama-3.1-8b.kv_heads: ",
			 "5 KV heads do not divide 32 heads");
	expect_fail_part("catalog:\n  models:\n    deepseek-r1: {experts: {active: 300}}\n",
			 "t.yaml:3:37: catalog.models.deepseek-r1.experts.active: ",
			 "300 active experts exceed the 256");
	expect_fail_part("catalog:\n  models:\n    llama-3.1-8b: {precision: {kv: fp4}}\n",
			 "t.yaml:3:36: catalog.models.llama-3.1-8b.precision.kv: ", "fp4");
	expect_fail_part("catalog:\n  models:\n    new-model: {label: x, layers: 2}\n",
			 "t.yaml:3:16: catalog.models.new-model", "missing required key");
	expect_fail_part("catalog:\n  gpu:\n    h100: {tdp: 1 W}\n",
			 "t.yaml:2:3: catalog.gpu: ", "unknown key 'gpu'");
	expect_fail_part("catalog: 3\n", "t.yaml:1:10: catalog: ", "expected a mapping");
}

static void test_apply_string(void **state)
{
	(void)state;
	catalog c;
	copy_builtin(&c);
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(
	    catalog_apply_string(&c, "gpus: {a100: {memory: 40 GB}}\n", "u.yaml", &err), 0);
	near(catalog_gpu(&c, "a100")->mem_bytes, 40e9, 1e-15);
	assert_int_equal(catalog_apply_string(&c, "gpus: {a100: {memory: 40}}\n", "u.yaml", &err),
			 FS_ERR_INPUT);
	assert_string_equal(err.key, "gpus.a100.memory");
	assert_int_equal(err.line, 1);
	catalog_clear(&c);
}

static void test_find_dir(void **state)
{
	(void)state;
	char dir[4096];
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(setenv("FACTORYSIM_CATALOG", "/nonexistent-catalog-dir", 1), 0);
	catalog c;
	memset(&c, 0, sizeof c);
	assert_int_equal(catalog_load_builtin(&c, &err), FS_ERR_IO);
	assert_non_null(strstr(err.message, "FACTORYSIM_CATALOG"));
	assert_int_equal(setenv("FACTORYSIM_CATALOG", "scenarios/catalog", 1), 0);
	assert_int_equal(catalog_find_dir(dir, sizeof dir, &err), 0);
	assert_string_equal(dir, "scenarios/catalog");
	assert_int_equal(catalog_load_builtin(&c, &err), 0);
	assert_int_equal(c.n_gpus, cat.n_gpus);
	catalog_clear(&c);
	unsetenv("FACTORYSIM_CATALOG");
	assert_int_equal(catalog_find_dir(dir, sizeof dir, &err), 0);
}

static char *print_to_string(const char *which, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*rc = catalog_print(f, &cat, which);
	fclose(f);
	return buf;
}

static void test_print(void **state)
{
	(void)state;
	int rc;
	char *s = print_to_string("gpus", &rc);
	assert_int_equal(rc, 0);
	for (size_t i = 0; i < cat.n_gpus; i++)
		assert_non_null(strstr(s, cat.gpus[i].name));
	assert_non_null(strstr(s, "TFLOP/s"));
	assert_null(strstr(s, "llama"));
	free(s);
	s = print_to_string("racks", &rc);
	assert_int_equal(rc, 0);
	for (size_t i = 0; i < cat.n_racks; i++)
		assert_non_null(strstr(s, cat.racks[i].name));
	assert_non_null(strstr(s, "144 x rubin-cpx + 72 x rubin"));
	free(s);
	s = print_to_string("models", &rc);
	assert_int_equal(rc, 0);
	for (size_t i = 0; i < cat.n_llms; i++)
		assert_non_null(strstr(s, cat.llms[i].name));
	assert_non_null(strstr(s, "327680"));
	free(s);
	s = print_to_string(NULL, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "h100"));
	assert_non_null(strstr(s, "gb300-nvl72"));
	assert_non_null(strstr(s, "deepseek-r1"));
	free(s);
	s = print_to_string("cpus", &rc);
	assert_int_equal(rc, FS_ERR_USAGE);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entries_present),
	    cmocka_unit_test(test_gpu_figures),
	    cmocka_unit_test(test_rack_figures),
	    cmocka_unit_test(test_llm_derived),
	    cmocka_unit_test(test_override_one_field),
	    cmocka_unit_test(test_new_entries),
	    cmocka_unit_test(test_bad_overrides),
	    cmocka_unit_test(test_bad_entries),
	    cmocka_unit_test(test_apply_string),
	    cmocka_unit_test(test_find_dir),
	    cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
