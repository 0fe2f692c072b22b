/*
 * a100_check.c - the iteration-time model against measured A100 serving.
 *
 * Reads the Splitwise DGX-A100 profile (data/splitwise-a100/, MIT, measured
 * Llama-2-70B and BLOOM-176B batches at TP 2/4/8) and predicts each row with
 * the uncalibrated datasheet roofline of models/perf.c: A100 SXM 80GB figures,
 * efficiencies 1, no overhead, no collective latency.
 *   prompt_time: one prefill iteration of batch x prompt tokens,
 *                prefill_pairs = batch x prompt (prompt + 1) / 2;
 *   token_time:  one decode iteration of `batch` sequences at the mean
 *                context prompt + token_size / 2.
 * Rows are grouped by (model, TP, phase); each class prints rows, the mean
 * signed relative error (predicted / measured - 1), mean |error| and max
 * |error|, then an overall line.  This is a check of the model's shape: a
 * datasheet roofline leaves out kernel efficiency and framework overhead, so
 * it should underpredict, by a stable share per class.
 *
 * Usage: a100_check [--csv PATH] [--bw-scale X] [--flops-scale X]
 *                   [--link-scale X] [--bound-prompt PCT] [--bound-token PCT]
 * The scales perturb the datasheet (to show that the bounds catch a model off
 * by 2x); with a bound given the program exits 1 when a class of that phase
 * has a mean |error| above it, or any of its rows is overpredicted: with
 * efficiencies 1 the roofline is a lower bound on the time, so a prediction
 * above a measurement means the model charges work that is not there
 * (tests/t_a100_check.sh).  Rows measured faster than their FLOPs at the
 * datasheet peak are physically impossible; they are counted as "impossible"
 * and left out (-v lists them).  Exit 2 on bad usage or an unreadable file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "perf.h"

#define MAX_CLASSES 64
#define MAX_COLS 32

typedef struct klass {
	char model[HW_NAME_LEN];
	int tp;
	int token;      /* 0 prompt, 1 token */
	int rows;
	int impossible; /* rows faster than the datasheet FLOPs allow, left out */
	double sum, sum_abs, max_abs, max_signed;
} klass;

/* A100 SXM 80GB datasheet (the figures tests/test_perf.c types in too). */
static void a100(gpu_spec *g, double bw_scale, double flops_scale, double link_scale)
{
	memset(g, 0, sizeof *g);
	snprintf(g->name, sizeof g->name, "a100-80gb");
	g->flops[HW_FP16] = 312e12 * flops_scale; /* dense BF16/FP16 tensor */
	g->mem_bytes = 80e9;
	g->mem_bw = 2.039e12 * bw_scale;
	g->scale_up_bw = 300e9 * link_scale; /* NVLink 3: 600 GB/s both directions */
	g->scale_out_bw = 25e9;              /* 200 Gb/s HDR per GPU (unused: one node) */
	g->tdp_w = 400;
	g->eff_compute = g->eff_memory = g->eff_comm = 1.0;
}

/* Model cards: Llama-2-70B (GQA, 8 KV heads), BLOOM-176B (MHA); FP16. */
static int llm_of(const char *name, llm_spec *m)
{
	memset(m, 0, sizeof *m);
	snprintf(m->name, sizeof m->name, "%s", name);
	m->weight_precision = m->kv_precision = HW_FP16;
	m->head_dim = 128;
	if (strcmp(name, "llama2-70b") == 0) {
		m->params_total = m->params_active = 69e9;
		m->layers = 80;
		m->hidden = 8192;
		m->heads = 64;
		m->kv_heads = 8;
		m->max_context = 4096;
		return 0;
	}
	if (strcmp(name, "bloom-176b") == 0) {
		m->params_total = m->params_active = 176e9;
		m->layers = 70;
		m->hidden = 14336;
		m->heads = m->kv_heads = 112;
		m->max_context = 2048;
		return 0;
	}
	return -1;
}

static int split_csv(char *line, char **cols, int max)
{
	int n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line; n < max;) {
		cols[n++] = p;
		char *c = strchr(p, ',');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

static int col_index(char **hdr, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(hdr[i], name) == 0)
			return i;
	return -1;
}

static klass *class_of(klass *cls, int *n, const char *model, int tp, int token)
{
	for (int i = 0; i < *n; i++)
		if (cls[i].tp == tp && cls[i].token == token && strcmp(cls[i].model, model) == 0)
			return &cls[i];
	if (*n == MAX_CLASSES)
		return NULL;
	klass *c = &cls[(*n)++];
	memset(c, 0, sizeof *c);
	snprintf(c->model, sizeof c->model, "%s", model);
	c->tp = tp;
	c->token = token;
	return c;
}

static void add(klass *c, double err)
{
	if (c->rows == 0 || err > c->max_signed)
		c->max_signed = err;
	c->rows++;
	c->sum += err;
	c->sum_abs += fabs(err);
	if (fabs(err) > c->max_abs)
		c->max_abs = fabs(err);
}

static int parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return end == s || *end != '\0' || errno != 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = "data/splitwise-a100/perf_model_a100.csv";
	double bw_scale = 1, flops_scale = 1, link_scale = 1;
	double bound[2] = { -1, -1 }; /* percent, prompt and token; < 0 = no check */
	int verbose = 0;
	for (int i = 1; i < argc; i++) {
		double *dst = NULL;
		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
			continue;
		}
		if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
			path = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--bw-scale") == 0)
			dst = &bw_scale;
		else if (strcmp(argv[i], "--flops-scale") == 0)
			dst = &flops_scale;
		else if (strcmp(argv[i], "--link-scale") == 0)
			dst = &link_scale;
		else if (strcmp(argv[i], "--bound-prompt") == 0)
			dst = &bound[0];
		else if (strcmp(argv[i], "--bound-token") == 0)
			dst = &bound[1];
		if (!dst || i + 1 >= argc || parse_double(argv[i + 1], dst) != 0 ||
		    (dst != &bound[0] && dst != &bound[1] && !(*dst > 0))) {
			fprintf(stderr,
				"usage: a100_check [--csv PATH] [--bw-scale X] [--flops-scale X] "
				"[--link-scale X] [--bound-prompt PCT] [--bound-token PCT]\n");
			return 2;
		}
		i++;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "a100_check: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char line[1024], *hdr[MAX_COLS], *cols[MAX_COLS];
	char hline[1024];
	if (!fgets(hline, sizeof hline, f)) {
		fprintf(stderr, "a100_check: %s: empty\n", path);
		fclose(f);
		return 2;
	}
	int nh = split_csv(hline, hdr, MAX_COLS);
	int c_model = col_index(hdr, nh, "model"), c_p = col_index(hdr, nh, "prompt_size"),
	    c_b = col_index(hdr, nh, "batch_size"), c_t = col_index(hdr, nh, "token_size"),
	    c_pt = col_index(hdr, nh, "prompt_time"), c_tt = col_index(hdr, nh, "token_time"),
	    c_tp = col_index(hdr, nh, "tensor_parallel");
	if (c_model < 0 || c_p < 0 || c_b < 0 || c_t < 0 || c_pt < 0 || c_tt < 0 || c_tp < 0) {
		fprintf(stderr, "a100_check: %s: missing a column (model, prompt_size, batch_size, "
				"token_size, prompt_time, token_time, tensor_parallel)\n",
			path);
		fclose(f);
		return 2;
	}
	gpu_spec g;
	a100(&g, bw_scale, flops_scale, link_scale);
	klass cls[MAX_CLASSES];
	int ncls = 0, lineno = 1;
	klass all[2];
	memset(all, 0, sizeof all);
	while (fgets(line, sizeof line, f)) {
		lineno++;
		int n = split_csv(line, cols, MAX_COLS);
		if (n == 1 && cols[0][0] == '\0')
			continue;
		double p, b, t, pt, tt, tpd;
		if (n != nh || parse_double(cols[c_p], &p) || parse_double(cols[c_b], &b) ||
		    parse_double(cols[c_t], &t) || parse_double(cols[c_pt], &pt) ||
		    parse_double(cols[c_tt], &tt) || parse_double(cols[c_tp], &tpd) || p < 1 ||
		    b < 1 || t < 0 || pt <= 0 || tt <= 0 || tpd < 1) {
			fprintf(stderr, "a100_check: %s:%d: malformed row\n", path, lineno);
			fclose(f);
			return 2;
		}
		llm_spec l;
		if (llm_of(cols[c_model], &l) != 0) {
			fprintf(stderr, "a100_check: %s:%d: unknown model %s\n", path, lineno,
				cols[c_model]);
			fclose(f);
			return 2;
		}
		int tp = (int)tpd;
		perf_model pm;
		fs_error err;
		if (perf_init(&pm, &g, &l, tp, 1, 1, false, false, &err) != FS_OK) {
			fprintf(stderr, "a100_check: %s:%d: %s\n", path, lineno, err.message);
			fclose(f);
			return 2;
		}
		uint64_t P = (uint64_t)p, B = (uint64_t)b;
		perf_batch pre = { B * P, B * P * (P + 1) / 2, (uint32_t)B, 0, 0 };
		perf_batch dec = { 0, 0, 0, (uint32_t)B, (uint64_t)llround(b * (p + t / 2)) };
		perf_result r[2];
		double meas[2] = { pt / 1e3, tt / 1e3 };
		perf_iteration(&pm, &pre, 1.0, &r[0]);
		perf_iteration(&pm, &dec, 1.0, &r[1]);
		for (int ph = 0; ph < 2; ph++) {
			klass *c = class_of(cls, &ncls, cols[c_model], tp, ph);
			if (!c) {
				fprintf(stderr, "a100_check: more than %d classes\n", MAX_CLASSES);
				fclose(f);
				return 2;
			}
			/* The FLOPs at the datasheet peak are a hard lower bound; a row
			 * below it is a broken measurement, not a model error. */
			if (meas[ph] < r[ph].compute_s) {
				c->impossible++;
				all[ph].impossible++;
				if (verbose)
					printf("impossible: %s:%d %s %s %.1f ms < %.1f ms of FLOPs at peak\n",
					       path, lineno, cols[c_model], ph ? "token" : "prompt",
					       1e3 * meas[ph], 1e3 * r[ph].compute_s);
				continue;
			}
			double e = r[ph].time_s / meas[ph] - 1.0;
			add(c, e);
			add(&all[ph], e);
		}
	}
	fclose(f);
	if (ncls == 0) {
		fprintf(stderr, "a100_check: %s: no rows\n", path);
		return 2;
	}

	printf("A100 datasheet roofline (eff 1, overhead 0, latency 0; bw x%g, flops x%g, "
	       "link x%g) vs Splitwise DGX-A100\n",
	       bw_scale, flops_scale, link_scale);
	printf("error = predicted / measured - 1\n");
	int bad = 0;
	for (int i = 0; i < ncls; i++) {
		klass *c = &cls[i];
		double mean = c->sum / c->rows, mabs = c->sum_abs / c->rows;
		const char *why = "";
		if (bound[c->token] >= 0 && 100 * mabs > bound[c->token])
			why = "  FAIL: mean |error| above the bound";
		else if (bound[c->token] >= 0 && !(c->max_signed < 0))
			why = "  FAIL: a row is overpredicted (the datasheet roofline is a lower bound)";
		if (*why)
			bad++;
		printf("class model=%-10s tp=%d phase=%-6s rows=%3d mean=%+6.1f%% mean_abs=%5.1f%% "
		       "max_abs=%5.1f%% max=%+6.1f%% impossible=%d%s\n",
		       c->model, c->tp, c->token ? "token" : "prompt", c->rows, 100 * mean,
		       100 * mabs, 100 * c->max_abs, 100 * c->max_signed, c->impossible, why);
	}
	for (int ph = 0; ph < 2; ph++)
		printf("overall phase=%-6s rows=%3d mean=%+6.1f%% mean_abs=%5.1f%% max_abs=%5.1f%% "
		       "max=%+6.1f%% impossible=%d\n",
		       ph ? "token" : "prompt", all[ph].rows, 100 * all[ph].sum / all[ph].rows,
		       100 * all[ph].sum_abs / all[ph].rows, 100 * all[ph].max_abs,
		       100 * all[ph].max_signed, all[ph].impossible);
	if (bound[0] >= 0 || bound[1] >= 0)
		printf("check: %s (bounds prompt %g%%, token %g%%)\n", bad ? "FAIL" : "ok",
		       bound[0], bound[1]);
	return bad ? 1 : 0;
}
