/*
 * compare.c - `factorysim compare`: headline metrics of several runs side by
 * side, with differences from the first design and their confidence
 * intervals.
 *
 * Data flow: every input file becomes runs (a run file is one run; a sweep
 * file is one run per row of /sweep/table), runs are gathered into designs (a
 * file each, the groups given between `--`, or --group by resolved
 * scenario), and each design after the first (A) is matched to A run by run:
 * by replication id when those are distinct, else by seed, else in order.
 * A matched pair is paired in the statistical sense only if both runs saw
 * the same requests: same seed and same workload section of the resolved
 * scenario (common random numbers).  Then the interval of the difference is
 * the paired t interval; otherwise Welch's, and a note says why the runs are
 * not paired.  Metrics are read from /summary by path (a few paths per metric
 * for files of different vintages); a metric no file has is left out, one
 * that some files lack shows as "–" (null in JSON, empty in CSV).
 */
#include "commands.h"
#include "compare.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "error.h"
#include "cli.h"
#include "h5read.h"
#include "yamltree.h"

/* --- statistics ------------------------------------------------------------------ */

static double t_quantile(double level, double df)
{
	return gsl_cdf_tdist_Pinv(0.5 + level / 2, df);
}

size_t compare_mean_ci(const double *x, size_t n, double level, double *mean, double *half)
{
	double *v = malloc((n ? n : 1) * sizeof *v);
	size_t k = 0;
	for (size_t i = 0; v && i < n; i++)
		if (isfinite(x[i]))
			v[k++] = x[i];
	*mean = k ? gsl_stats_mean(v, 1, k) : NAN;
	*half = k >= 2 && v ? t_quantile(level, (double)(k - 1)) * gsl_stats_sd(v, 1, k) / sqrt((double)k)
			    : NAN;
	free(v);
	return k;
}

size_t compare_paired_ci(const double *a, const double *b, size_t n, double level, cmp_ci *out)
{
	double *d = malloc((n ? n : 1) * sizeof *d);
	size_t k = 0;
	for (size_t i = 0; d && i < n; i++)
		if (isfinite(a[i]) && isfinite(b[i]))
			d[k++] = b[i] - a[i];
	memset(out, 0, sizeof *out);
	out->n = k;
	out->mean = k ? gsl_stats_mean(d, 1, k) : NAN;
	out->df = k >= 2 ? (double)(k - 1) : NAN;
	out->half = k >= 2 ? t_quantile(level, out->df) * gsl_stats_sd(d, 1, k) / sqrt((double)k) : NAN;
	out->lo = out->mean - out->half;
	out->hi = out->mean + out->half;
	free(d);
	return k;
}

size_t compare_welch_ci(const double *a, size_t na, const double *b, size_t nb, double level,
			cmp_ci *out)
{
	double *va = malloc((na ? na : 1) * sizeof *va), *vb = malloc((nb ? nb : 1) * sizeof *vb);
	size_t ka = 0, kb = 0;
	for (size_t i = 0; va && i < na; i++)
		if (isfinite(a[i]))
			va[ka++] = a[i];
	for (size_t i = 0; vb && i < nb; i++)
		if (isfinite(b[i]))
			vb[kb++] = b[i];
	memset(out, 0, sizeof *out);
	out->n = ka < kb ? ka : kb;
	out->mean = ka && kb ? gsl_stats_mean(vb, 1, kb) - gsl_stats_mean(va, 1, ka) : NAN;
	out->half = out->df = NAN;
	if (ka >= 2 && kb >= 2) {
		double sa = gsl_stats_variance(va, 1, ka) / (double)ka;
		double sb = gsl_stats_variance(vb, 1, kb) / (double)kb;
		double se = sqrt(sa + sb);
		/* Welch-Satterthwaite; equal zero variances leave an exact zero interval */
		double df = sa + sb > 0 ? (sa + sb) * (sa + sb) /
						  (sa * sa / (double)(ka - 1) + sb * sb / (double)(kb - 1))
					: (double)(ka + kb - 2);
		out->df = df;
		out->half = t_quantile(level, df) * se;
	}
	out->lo = out->mean - out->half;
	out->hi = out->mean + out->half;
	free(va);
	free(vb);
	return out->n;
}

/* --- the metrics ------------------------------------------------------------------- */

typedef struct metric_def {
	const char *key;      /* JSON/CSV name */
	const char *label;    /* text and markdown */
	const char *paths[3]; /* /summary paths, first found wins */
	const char *si;       /* the units the paths are expected in */
	const char *disp;     /* units shown in text and markdown */
	double scale;         /* shown = value x scale (when the file's units are si) */
} metric_def;

static const metric_def METRICS[] = {
	{ "tokens_per_s", "tokens/s", { "power/tokens_per_s", "serving/all/output_tokens_per_s" },
	  "1/s", "1/s", 1 },
	{ "goodput_tokens_per_s", "goodput", { "serving/all/goodput_tokens_per_s" }, "1/s", "1/s", 1 },
	{ "tokens_per_s_per_gpu", "tokens/s per GPU", { "serving/all/tokens_per_s_per_gpu" }, "1/s",
	  "1/s", 1 },
	{ "tokens_per_s_per_user", "tokens/s per user", { "serving/all/tokens_per_s_per_user" },
	  "1/s", "1/s", 1 },
	{ "tokens_per_s_per_mw_it", "tokens/s per MW (IT)", { "power/tokens_per_s_per_mw_it" },
	  "1/(s MW)", "1/(s MW)", 1 },
	{ "tokens_per_s_per_mw_facility", "tokens/s per MW (facility)",
	  { "power/tokens_per_s_per_mw_facility" }, "1/(s MW)", "1/(s MW)", 1 },
	{ "tokens_per_s_per_mw_provisioned", "tokens/s per MW (provisioned)",
	  { "power/tokens_per_s_per_mw_provisioned" }, "1/(s MW)", "1/(s MW)", 1 },
	{ "j_per_token", "J per token", { "power/j_per_token" }, "J", "J", 1 },
	{ "pue", "PUE", { "power/pue" }, "1", "", 1 },
	{ "ttft_p50", "TTFT p50", { "serving/all/ttft_p50" }, "s", "ms", 1e3 },
	{ "ttft_p99", "TTFT p99", { "serving/all/ttft_p99" }, "s", "ms", 1e3 },
	{ "tpot_p50", "TPOT p50", { "serving/all/tpot_p50" }, "s", "ms", 1e3 },
	{ "tpot_p99", "TPOT p99", { "serving/all/tpot_p99" }, "s", "ms", 1e3 },
	{ "slo_attainment", "SLO attainment", { "serving/all/slo_attainment" }, "1", "%", 100 },
	{ "cost_per_million_tokens", "cost per million tokens",
	  { "power/cost_per_million_tokens" }, "$", "$", 1 },
	{ "facility_power_peak", "peak facility power", { "power/facility_power_peak" }, "W", "MW",
	  1e-6 },
	{ "throttled_rack_hours", "throttled time", { "power/cooling/throttled_rack_hours" }, "h",
	  "rack-h", 1 },
	{ "over_budget_time", "time over budget", { "power/over_budget_time" }, "s", "s", 1 },
};
#define NMET (sizeof METRICS / sizeof METRICS[0])

/* --- runs and designs ------------------------------------------------------------------ */

typedef struct strlist {
	char **v;
	size_t n, cap;
} strlist;

static int sl_push(strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sl_push(strlist *l, const char *fmt, ...)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = k >= 0 ? malloc((size_t)k + 1) : NULL;
	if (!s)
		return -1;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)k + 1, fmt, ap);
	va_end(ap);
	l->v[l->n++] = s;
	return 0;
}

static void sl_free(strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

typedef struct run {
	char source[600];   /* file name, with "#point/replication" for sweep rows */
	char name[400];     /* scenario name (or sweep point) */
	uint64_t seed;
	int64_t rep;
	bool has_seed, has_rep;
	bool wl_known;      /* wl holds the flattened workload */
	strlist wl;         /* "workload[0].arrival.rate=6 /s", in document order */
	char *group_key;    /* the resolved scenario but for seed/replication/output */
	double v[NMET];
	char units[NMET][32];
} run;

typedef struct design {
	char label[24];     /* A, B, ... */
	char name[400];
	run *runs;
	size_t n, cap;
	bool from_sweep;
} design;

typedef struct designs {
	design *d;
	size_t n, cap;
} designs;

static void run_clear(run *r)
{
	sl_free(&r->wl);
	free(r->group_key);
	r->group_key = NULL;
}

static void designs_free(designs *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		for (size_t j = 0; j < ds->d[i].n; j++)
			run_clear(&ds->d[i].runs[j]);
		free(ds->d[i].runs);
	}
	free(ds->d);
	memset(ds, 0, sizeof *ds);
}

static design *design_add(designs *ds, const char *name)
{
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? 2 * ds->cap : 8;
		design *d = realloc(ds->d, cap * sizeof *d);
		if (!d)
			return NULL;
		ds->d = d;
		ds->cap = cap;
	}
	design *d = &ds->d[ds->n++];
	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	return d;
}

/* Append a run (moved: the caller's copy must not be cleared). */
static int design_push(design *d, const run *r)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		run *v = realloc(d->runs, cap * sizeof *v);
		if (!v)
			return -1;
		d->runs = v;
		d->cap = cap;
	}
	d->runs[d->n++] = *r;
	return 0;
}

/* --- the resolved scenario ------------------------------------------------------------ */

/* Flatten a YAML tree into "path=value" lines: maps as a.b, lists as a[0]. */
static int flatten(const ynode *n, char *path, size_t cap, strlist *out, int depth)
{
	size_t len = strlen(path);
	int rc = 0;
	if (depth > YT_MAX_DEPTH)
		return 0;
	switch (n->kind) {
	case YNODE_SCALAR: return sl_push(out, "%s=%s", path, n->text ? n->text : "");
	case YNODE_NULL: return sl_push(out, "%s=~", path);
	case YNODE_MAP:
		for (size_t i = 0; i < n->npairs && !rc; i++) {
			snprintf(path + len, cap - len, "%s%s", len ? "." : "", n->pairs[i].key);
			rc = flatten(n->pairs[i].value, path, cap, out, depth + 1);
			path[len] = '\0';
		}
		return rc;
	case YNODE_SEQ:
		if (n->nitems == 0)
			return sl_push(out, "%s=[]", path);
		for (size_t i = 0; i < n->nitems && !rc; i++) {
			snprintf(path + len, cap - len, "[%zu]", i);
			rc = flatten(n->items[i], path, cap, out, depth + 1);
			path[len] = '\0';
		}
		return rc;
	}
	return 0;
}

/* The workload lines and the grouping key of a run, from /scenario/resolved. */
static void read_resolved(h5r *f, run *r)
{
	char *text = NULL;
	if (h5r_read_text(f, "/scenario/resolved", &text, NULL) || !text)
		return;
	ydoc *doc = NULL;
	fs_error err;
	if (ydoc_load_string(text, "/scenario/resolved", &doc, &err) == 0) {
		const ynode *root = ydoc_root(doc);
		if (root && root->kind == YNODE_MAP) {
			char path[1024];
			strlist all = { 0 };
			int rc = 0;
			for (size_t i = 0; i < root->npairs && !rc; i++) {
				const ypair *p = &root->pairs[i];
				if (!strcmp(p->key, "workload")) {
					snprintf(path, sizeof path, "workload");
					rc = flatten(p->value, path, sizeof path, &r->wl, 0);
					r->wl_known = rc == 0;
				}
				/* what makes two runs replications of one design */
				if (!strcmp(p->key, "seed") || !strcmp(p->key, "replication") ||
				    !strcmp(p->key, "output"))
					continue;
				snprintf(path, sizeof path, "%s", p->key);
				rc = flatten(p->value, path, sizeof path, &all, 0);
			}
			if (!rc) {
				size_t len = 1;
				for (size_t i = 0; i < all.n; i++)
					len += strlen(all.v[i]) + 1;
				r->group_key = malloc(len);
				if (r->group_key) {
					r->group_key[0] = '\0';
					char *p = r->group_key;
					for (size_t i = 0; i < all.n; i++)
						p += sprintf(p, "%s\n", all.v[i]);
				}
			}
			sl_free(&all);
		}
		ydoc_free(doc);
	}
	free(text);
}

/* The first difference between two flattened workloads, as
 * "workload[0].arrival.rate 40 /s vs 60 /s", and how many there are. */
static size_t workload_diff(const strlist *a, const strlist *b, const char *lb, char *buf, size_t n)
{
	size_t diffs = 0;
	buf[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		const strlist *x = pass ? b : a, *y = pass ? a : b;
		for (size_t i = 0; i < x->n; i++) {
			const char *eq = strchr(x->v[i], '=');
			size_t klen = eq ? (size_t)(eq - x->v[i]) : strlen(x->v[i]);
			const char *other = NULL;
			for (size_t j = 0; j < y->n; j++)
				if (!strncmp(y->v[j], x->v[i], klen) && y->v[j][klen] == '=') {
					other = y->v[j] + klen + 1;
					break;
				}
			const char *val = eq ? eq + 1 : "";
			if (other && (pass || !strcmp(other, val)))
				continue; /* equal, or a changed value already counted */
			diffs++;
			if (buf[0])
				continue;
			if (!other)
				snprintf(buf, n, "%.*s only in %s", (int)klen, x->v[i], pass ? lb : "A");
			else
				snprintf(buf, n, "%.*s: %s in A, %s in %s", (int)klen, x->v[i], val, other, lb);
		}
	}
	return diffs;
}

/* --- loading ---------------------------------------------------------------------------- */

/* A run file: attributes, headline metrics, resolved scenario. */
static int load_run(h5r *f, run *r, strlist *notes, fs_error *err)
{
	const char *path = h5r_path(f);
	memset(r, 0, sizeof *r);
	snprintf(r->source, sizeof r->source, "%s", path);
	if (!h5r_exists(f, "/summary"))
		return fs_error_msg(err, FS_ERR_INPUT,
				    "%s: no /summary group; not a complete factorysim run file "
				    "(expected one written by 'factorysim run')",
				    path);
	int rc = h5r_attr_string(f, "/", "scenario_name", r->name, sizeof r->name, err);
	if (rc > 0)
		return rc;
	if (rc)
		snprintf(r->name, sizeof r->name, "%s", path);
	rc = h5r_attr_u64(f, "/", "seed", &r->seed, err);
	if (rc > 0)
		return rc;
	r->has_seed = rc == 0;
	double rep;
	rc = h5r_attr_double(f, "/", "replication", &rep, err);
	if (rc > 0)
		return rc;
	r->has_rep = rc == 0;
	r->rep = r->has_rep ? (int64_t)rep : 0;
	double complete = 1;
	if (h5r_attr_double(f, "/", "complete", &complete, NULL) == 0 && complete != 1)
		sl_push(notes, "%s: the file is marked incomplete (complete = %g)", path, complete);
	for (size_t m = 0; m < NMET; m++) {
		r->v[m] = NAN;
		for (size_t p = 0; p < 3 && METRICS[m].paths[p]; p++) {
			double v;
			rc = h5r_summary_get(f, METRICS[m].paths[p], &v, r->units[m],
					     sizeof r->units[m], err);
			if (rc > 0)
				return rc;
			if (rc == 0) {
				r->v[m] = v;
				break;
			}
		}
	}
	read_resolved(f, r);
	return FS_OK;
}

/* "workload.0.arrival.rate" -> "workload[0].arrival.rate" (the flattened form). */
static void key_to_path(const char *key, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = '\0';
	while (*key && k + 8 < n) {
		const char *dot = strchr(key, '.');
		size_t len = dot ? (size_t)(dot - key) : strlen(key);
		bool digits = len > 0;
		for (size_t i = 0; i < len; i++)
			if (key[i] < '0' || key[i] > '9')
				digits = false;
		int w = digits ? snprintf(buf + k, n - k, "[%.*s]", (int)len, key)
			       : snprintf(buf + k, n - k, "%s%.*s", k ? "." : "", (int)len, key);
		if (w < 0 || (size_t)w >= n - k)
			break;
		k += (size_t)w;
		key += len + (dot ? 1 : 0);
		if (!dot)
			break;
	}
}

/* A sweep file: a design per point, a run per row of /sweep/table. */
static int load_sweep(h5r *f, designs *ds, strlist *notes, fs_error *err)
{
	const char *path = h5r_path(f);
	h5r_table t;
	int rc = h5r_table_read(f, "/sweep/table", NULL, 0, &t, err);
	if (rc == H5R_ABSENT)
		return fs_error_msg(err, FS_ERR_INPUT, "%s: a sweep file without /sweep/table", path);
	if (rc)
		return rc;
	char **params = NULL, **pkeys = NULL, **metrics = NULL, **msum = NULL, **munits = NULL;
	size_t np = 0, npk = 0, nm = 0, nms = 0, nmu = 0;
	h5r_attr_strings(f, "/sweep/table", "parameters", &params, &np, NULL);
	h5r_attr_strings(f, "/sweep/table", "parameter_keys", &pkeys, &npk, NULL);
	h5r_attr_strings(f, "/sweep/table", "metrics", &metrics, &nm, NULL);
	h5r_attr_strings(f, "/sweep/table", "metric_summaries", &msum, &nms, NULL);
	h5r_attr_strings(f, "/sweep/table", "metric_units", &munits, &nmu, NULL);
	const h5r_column *cp = h5r_table_col(&t, "point"), *cr = h5r_table_col(&t, "replication"),
			 *cs = h5r_table_col(&t, "seed");
	if (!cp) {
		rc = fs_error_msg(err, FS_ERR_INPUT, "%s: /sweep/table has no field 'point'", path);
		goto done;
	}
	/* the field of each headline metric, found by its summary path */
	const h5r_column *mcol[NMET];
	const char *mu[NMET];
	for (size_t m = 0; m < NMET; m++) {
		mcol[m] = NULL;
		mu[m] = "";
		for (size_t p = 0; p < 3 && METRICS[m].paths[p] && !mcol[m]; p++)
			for (size_t k = 0; k < nms && k < nm; k++)
				if (!strcmp(msum[k], METRICS[m].paths[p])) {
					mcol[m] = h5r_table_col(&t, metrics[k]);
					mu[m] = k < nmu ? munits[k] : "";
					break;
				}
	}
	run base = { 0 };
	read_resolved(f, &base);
	const char *slash = strrchr(path, '/');
	const char *fname = slash ? slash + 1 : path;
	design *cur = NULL;
	int64_t cur_point = INT64_MIN;
	for (size_t row = 0; row < t.nrows && !rc; row++) {
		int64_t point = (int64_t)h5r_col_value(cp, row);
		if (!cur || point != cur_point) {
			/* rows are ordered by (point, replication): a new point, a new design */
			cur = NULL;
			if (!cur) {
				char name[400];
				int k = snprintf(name, sizeof name, "%s p%" PRId64 " (", fname, point);
				for (size_t p = 0; p < np && k > 0 && (size_t)k < sizeof name; p++) {
					const h5r_column *c = h5r_table_col(&t, params[p]);
					double v = c ? h5r_col_value(c, row) : NAN;
					char lev[128] = "";
					char **levels = NULL;
					size_t nl = 0;
					char an[200];
					snprintf(an, sizeof an, "levels.%s", params[p]);
					if (h5r_attr_strings(f, "/sweep/table", an, &levels, &nl, NULL) == 0 &&
					    v >= 0 && (size_t)v < nl)
						snprintf(lev, sizeof lev, "%s", levels[(size_t)v]);
					h5r_strings_free(levels, nl);
					if (lev[0])
						k += snprintf(name + k, sizeof name - (size_t)k, "%s%s=%s",
							      p ? ", " : "", params[p], lev);
					else
						k += snprintf(name + k, sizeof name - (size_t)k, "%s%s=%g",
							      p ? ", " : "", params[p], v);
				}
				if (k > 0 && (size_t)k < sizeof name - 2)
					snprintf(name + k, sizeof name - (size_t)k, ")");
				cur = design_add(ds, name);
				if (!cur) {
					rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
					break;
				}
				cur->from_sweep = true;
			}
			cur_point = point;
		}
		run r;
		memset(&r, 0, sizeof r);
		r.rep = cr ? (int64_t)h5r_col_value(cr, row) : (int64_t)cur->n;
		r.has_rep = true;
		if (cs) {
			r.seed = cs->kind == H5R_U64 ? cs->u[row] : (uint64_t)h5r_col_value(cs, row);
			r.has_seed = true;
		}
		snprintf(r.source, sizeof r.source, "%s#p%" PRId64 "r%" PRId64, path, point, r.rep);
		snprintf(r.name, sizeof r.name, "%s", cur->name);
		for (size_t m = 0; m < NMET; m++) {
			r.v[m] = mcol[m] ? h5r_col_value(mcol[m], row) : NAN;
			snprintf(r.units[m], sizeof r.units[m], "%s", mu[m]);
		}
		/* the workload: the sweep's base, with the swept workload keys replaced */
		r.wl_known = base.wl_known;
		for (size_t i = 0; i < base.wl.n && !rc; i++)
			if (sl_push(&r.wl, "%s", base.wl.v[i]))
				rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		for (size_t p = 0; p < np && p < npk && !rc; p++) {
			if (strncmp(pkeys[p], "workload", 8))
				continue;
			char key[512];
			key_to_path(pkeys[p], key, sizeof key);
			const h5r_column *c = h5r_table_col(&t, params[p]);
			size_t klen = strlen(key);
			bool done = false;
			for (size_t i = 0; i < r.wl.n; i++)
				if (!strncmp(r.wl.v[i], key, klen) && r.wl.v[i][klen] == '=') {
					free(r.wl.v[i]);
					r.wl.v[i] = NULL;
					int k = snprintf(NULL, 0, "%s=%.17g", key,
							 c ? h5r_col_value(c, row) : NAN);
					r.wl.v[i] = malloc((size_t)k + 1);
					if (r.wl.v[i])
						snprintf(r.wl.v[i], (size_t)k + 1, "%s=%.17g", key,
							 c ? h5r_col_value(c, row) : NAN);
					done = true;
				}
			if (!done && sl_push(&r.wl, "%s=%.17g", key, c ? h5r_col_value(c, row) : NAN))
				rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
			r.wl_known = true;
		}
		if (!rc && design_push(cur, &r))
			rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		if (rc)
			run_clear(&r);
	}
	run_clear(&base);
	if (!rc && t.nrows == 0)
		sl_push(notes, "%s: /sweep/table has no rows", path);
done:
	h5r_strings_free(params, np);
	h5r_strings_free(pkeys, npk);
	h5r_strings_free(metrics, nm);
	h5r_strings_free(msum, nms);
	h5r_strings_free(munits, nmu);
	h5r_table_clear(&t);
	return rc;
}

/* --- pairing and the table --------------------------------------------------------------- */

typedef struct cell {
	size_t n;          /* runs with a value */
	double mean, half; /* the design's mean and its 95 % half width */
	double diff_pct;   /* (mean - mean_A) / |mean_A| x 100 */
	cmp_ci ci;         /* interval of mean - mean_A */
	bool has_ci;
} cell;

typedef struct pairing {
	size_t *partner;   /* [n of the design]: index into A's runs, or SIZE_MAX */
	bool paired;       /* every run matched, same seed and workload */
} pairing;

static bool distinct_reps(const design *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!d->runs[i].has_rep)
			return false;
		for (size_t j = 0; j < i; j++)
			if (d->runs[j].rep == d->runs[i].rep)
				return false;
	}
	return true;
}

static bool distinct_seeds(const design *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!d->runs[i].has_seed)
			return false;
		for (size_t j = 0; j < i; j++)
			if (d->runs[j].seed == d->runs[i].seed)
				return false;
	}
	return true;
}

/* Match design b's runs to a's and say, in notes, why they are not paired. */
static int pair_designs(const design *a, const design *b, pairing *pr, strlist *notes)
{
	pr->partner = malloc((b->n ? b->n : 1) * sizeof *pr->partner);
	if (!pr->partner)
		return -1;
	bool by_rep = distinct_reps(a) && distinct_reps(b) && (a->n > 1 || b->n > 1);
	bool by_seed = !by_rep && distinct_seeds(a) && distinct_seeds(b) && (a->n > 1 || b->n > 1);
	bool all = true, seeds_ok = true, wl_ok = true, wl_known = true;
	char first_diff[400] = "", seed_msg[200] = "";
	size_t ndiff = 0;
	for (size_t i = 0; i < b->n; i++) {
		const run *rb = &b->runs[i];
		size_t p = SIZE_MAX;
		for (size_t j = 0; j < a->n && p == SIZE_MAX; j++) {
			const run *ra = &a->runs[j];
			if (by_rep ? ra->rep == rb->rep : by_seed ? ra->seed == rb->seed : j == i)
				p = j;
		}
		pr->partner[i] = p;
		if (p == SIZE_MAX) {
			if (all)
				sl_push(notes,
					"%s: %s %" PRId64 " has no partner in A; differences are not "
					"paired",
					b->label, by_seed ? "seed" : "replication",
					by_seed ? (int64_t)rb->seed : rb->rep);
			all = false;
			continue;
		}
		const run *ra = &a->runs[p];
		if (ra->has_seed && rb->has_seed && ra->seed != rb->seed && seeds_ok) {
			seeds_ok = false;
			snprintf(seed_msg, sizeof seed_msg, "seed %" PRIu64 " vs %" PRIu64, rb->seed,
				 ra->seed);
		}
		if (!ra->wl_known || !rb->wl_known) {
			wl_known = false;
		} else if (wl_ok) {
			ndiff = workload_diff(&ra->wl, &rb->wl, b->label, first_diff, sizeof first_diff);
			wl_ok = ndiff == 0;
		}
	}
	if (!wl_ok) {
		if (ndiff > 1)
			sl_push(notes,
				"%s: workload differs from A (%s, and %zu more); differences are not "
				"paired",
				b->label, first_diff, ndiff - 1);
		else
			sl_push(notes, "%s: workload differs from A (%s); differences are not paired",
				b->label, first_diff);
	}
	if (!seeds_ok)
		sl_push(notes,
			"%s: %s of A; the runs saw different requests and differences are not paired",
			b->label, seed_msg);
	if (!wl_known && wl_ok)
		sl_push(notes,
			"%s: cannot check that %s and A saw the same requests: a file lacks "
			"/scenario/resolved or a workload section in it",
			b->label, b->label);
	pr->paired = all && seeds_ok && wl_ok && b->n > 0;
	return 0;
}

static void compute_cells(const designs *ds, const pairing *prs, size_t m, cell *cells)
{
	const design *a = &ds->d[0];
	size_t nmax = 1;
	for (size_t j = 0; j < ds->n; j++)
		nmax = ds->d[j].n > nmax ? ds->d[j].n : nmax;
	double *va = malloc(nmax * sizeof *va), *vb = malloc(nmax * sizeof *vb);
	for (size_t j = 0; j < ds->n; j++) {
		const design *d = &ds->d[j];
		cell *c = &cells[j];
		memset(c, 0, sizeof *c);
		c->diff_pct = NAN;
		if (!va || !vb)
			continue;
		for (size_t i = 0; i < d->n; i++)
			vb[i] = d->runs[i].v[m];
		c->n = compare_mean_ci(vb, d->n, 0.95, &c->mean, &c->half);
		if (j == 0)
			continue;
		double ma = cells[0].mean;
		if (isfinite(ma) && ma != 0 && isfinite(c->mean))
			c->diff_pct = (c->mean - ma) / fabs(ma) * 100;
		if (prs[j].paired) {
			size_t k = 0;
			for (size_t i = 0; i < d->n; i++) {
				va[k] = a->runs[prs[j].partner[i]].v[m];
				vb[k++] = d->runs[i].v[m];
			}
			compare_paired_ci(va, vb, k, 0.95, &c->ci);
		} else {
			for (size_t i = 0; i < a->n; i++)
				va[i] = a->runs[i].v[m];
			compare_welch_ci(va, a->n, vb, d->n, 0.95, &c->ci);
		}
		c->has_ci = isfinite(c->ci.half) && isfinite(ma) && ma != 0;
	}
	free(va);
	free(vb);
}

/* --- output ---------------------------------------------------------------------------------- */

enum { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_MD };

/* A number for a person: 4 significant digits, never an exponent above 1e4. */
static void fmt_num(char *buf, size_t n, double v)
{
	if (!isfinite(v)) {
		snprintf(buf, n, "–");
		return;
	}
	snprintf(buf, n, "%.4g", v);
	if (strchr(buf, 'e')) {
		if (fabs(v) >= 1)
			snprintf(buf, n, "%.0f", v);
		else
			snprintf(buf, n, "%.3g", v);
	}
}

/* A half width: two significant digits are all it can claim. */
static void fmt_half(char *buf, size_t n, double v)
{
	if (isfinite(v) && v > 0) {
		double q = pow(10, floor(log10(v)) - 1);
		v = round(v / q) * q;
	}
	fmt_num(buf, n, v);
}

static void fmt_pct(char *buf, size_t n, double p)
{
	if (!isfinite(p))
		snprintf(buf, n, "–");
	else
		snprintf(buf, n, "%+.1f %%", fabs(p) < 0.05 ? 0.0 : p);
}

/* Display scale and units of metric m (the file's units when they are not the
 * expected ones, so nothing is ever mis-scaled). */
static double disp_scale(const designs *ds, size_t m, const char **units)
{
	const char *u = NULL;
	for (size_t j = 0; j < ds->n && !u; j++)
		for (size_t i = 0; i < ds->d[j].n && !u; i++)
			if (isfinite(ds->d[j].runs[i].v[m]))
				u = ds->d[j].runs[i].units[m];
	if (!u || !strcmp(u, METRICS[m].si)) {
		*units = METRICS[m].disp;
		return METRICS[m].scale;
	}
	*units = u;
	return 1;
}

static const char *file_units(const designs *ds, size_t m)
{
	for (size_t j = 0; j < ds->n; j++)
		for (size_t i = 0; i < ds->d[j].n; i++)
			if (isfinite(ds->d[j].runs[i].v[m]) && ds->d[j].runs[i].units[m][0])
				return ds->d[j].runs[i].units[m];
	return METRICS[m].si;
}

static bool metric_present(const designs *ds, size_t m)
{
	for (size_t j = 0; j < ds->n; j++)
		for (size_t i = 0; i < ds->d[j].n; i++)
			if (isfinite(ds->d[j].runs[i].v[m]))
				return true;
	return false;
}

/* Display width of UTF-8 text (characters, not bytes). */
static size_t ulen(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void csv_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.17g", v);
}

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void describe_design(const design *d, char *buf, size_t n)
{
	const run *r0 = &d->runs[0];
	if (d->n == 1) {
		if (r0->has_seed)
			snprintf(buf, n, "%s (seed %" PRIu64 ", replication %" PRId64 ")", r0->source,
				 r0->seed, r0->rep);
		else
			snprintf(buf, n, "%s", r0->source);
		return;
	}
	int64_t lo = INT64_MAX, hi = INT64_MIN; /* the loop visits r0 too */
	bool same_seed = true;
	for (size_t i = 0; i < d->n; i++) {
		lo = d->runs[i].rep < lo ? d->runs[i].rep : lo;
		hi = d->runs[i].rep > hi ? d->runs[i].rep : hi;
		same_seed = same_seed && d->runs[i].seed == r0->seed;
	}
	char seed[64] = "";
	if (same_seed && r0->has_seed)
		snprintf(seed, sizeof seed, "seed %" PRIu64 ", ", r0->seed);
	snprintf(buf, n, "%zu runs: %s ... %s (%sreplications %" PRId64 "-%" PRId64 ")", d->n,
		 r0->source, d->runs[d->n - 1].source, seed, lo, hi);
}

static void print_table(const designs *ds, const pairing *prs, const strlist *notes, int fmt)
{
	size_t nd = ds->n;
	cell *cells = calloc(nd, sizeof *cells);
	if (!cells)
		return;
	bool md = fmt == FMT_MD;
	char desc[1400];
	if (md)
		printf("| design | name | runs |\n|---|---|---|\n");
	for (size_t j = 0; j < nd; j++) {
		describe_design(&ds->d[j], desc, sizeof desc);
		if (md)
			printf("| %s | %s | %s |\n", ds->d[j].label, ds->d[j].name, desc);
		else
			printf("%-3s %s: %s\n", ds->d[j].label, ds->d[j].name, desc);
	}
	printf("\n");
	/* the cells as strings: metric, units, A, then (value, vs A) per design */
	size_t ncol = 2 + 1 + 2 * (nd - 1);
	size_t nrow = 1;
	for (size_t m = 0; m < NMET; m++)
		nrow += metric_present(ds, m);
	char **tab = calloc(nrow * ncol, sizeof *tab);
	if (!tab) {
		free(cells);
		return;
	}
	char buf[256];
#define SET(r, c, ...)                                                        \
	do {                                                                  \
		snprintf(buf, sizeof buf, __VA_ARGS__);                       \
		tab[(r) * ncol + (c)] = strdup(buf);                          \
	} while (0)
	SET(0, 0, "metric");
	SET(0, 1, "units");
	SET(0, 2, "%s", ds->d[0].label);
	for (size_t j = 1; j < nd; j++) {
		SET(0, 3 + 2 * (j - 1), "%s", ds->d[j].label);
		SET(0, 4 + 2 * (j - 1), "%s vs A", ds->d[j].label);
	}
	size_t r = 1;
	for (size_t m = 0; m < NMET; m++) {
		if (!metric_present(ds, m))
			continue;
		compute_cells(ds, prs, m, cells);
		const char *units;
		double sc = disp_scale(ds, m, &units);
		SET(r, 0, "%s", METRICS[m].label);
		SET(r, 1, "%s", units);
		for (size_t j = 0; j < nd; j++) {
			const cell *c = &cells[j];
			char v[64], h[64];
			fmt_num(v, sizeof v, c->mean * sc);
			if (c->n >= 2 && isfinite(c->half)) {
				fmt_half(h, sizeof h, c->half * sc);
				SET(r, j ? 3 + 2 * (j - 1) : 2, "%s ± %s", v, h);
			} else {
				SET(r, j ? 3 + 2 * (j - 1) : 2, "%s", v);
			}
			if (!j)
				continue;
			char p[64], lo[64], hi[64];
			fmt_pct(p, sizeof p, c->diff_pct);
			if (c->has_ci) {
				double ma = fabs(cells[0].mean);
				double l = c->ci.lo / ma * 100, u = c->ci.hi / ma * 100;
				snprintf(lo, sizeof lo, "%+.1f", fabs(l) < 0.05 ? 0.0 : l);
				snprintf(hi, sizeof hi, "%+.1f", fabs(u) < 0.05 ? 0.0 : u);
				SET(r, 4 + 2 * (j - 1), "%s [%s, %s]", p, lo, hi);
			} else {
				SET(r, 4 + 2 * (j - 1), "%s", p);
			}
		}
		r++;
	}
#undef SET
	size_t *w = calloc(ncol, sizeof *w);
	for (size_t c = 0; w && c < ncol; c++)
		for (size_t i = 0; i < nrow; i++)
			if (tab[i * ncol + c] && ulen(tab[i * ncol + c]) > w[c])
				w[c] = ulen(tab[i * ncol + c]);
	for (size_t i = 0; w && i < nrow; i++) {
		for (size_t c = 0; c < ncol; c++) {
			const char *s = tab[i * ncol + c] ? tab[i * ncol + c] : "";
			size_t pad = w[c] - ulen(s);
			if (md) {
				printf("| %s ", s);
			} else if (c < 2) {
				printf("%s%*s", s, (int)(pad + 2), "");
			} else {
				printf("%*s%s%s", (int)pad, "", s, c + 1 < ncol ? "  " : "");
			}
		}
		printf(md ? "|\n" : "\n");
		if (md && i == 0) {
			for (size_t c = 0; c < ncol; c++)
				printf("|%s", c < 2 ? "---" : "---:");
			printf("|\n");
		}
	}
	bool any_ci = false;
	for (size_t j = 1; j < nd; j++)
		any_ci = any_ci || ds->d[j].n > 1 || ds->d[0].n > 1;
	printf("\n");
	if (any_ci)
		printf("± is the 95 %% t interval of a design's mean; [lo, hi] the 95 %% interval of "
		       "the difference from A (paired when the runs share seed and workload, else "
		       "Welch), in %% of A.\n");
	for (size_t i = 0; i < notes->n; i++)
		printf("%s%s\n", md ? "- " : "note: ", notes->v[i]);
	for (size_t i = 0; i < nrow * ncol; i++)
		free(tab[i]);
	free(tab);
	free(w);
	free(cells);
}

static void print_json(const designs *ds, const pairing *prs, const strlist *notes)
{
	cell *cells = calloc(ds->n, sizeof *cells);
	if (!cells)
		return;
	printf("{\"designs\":[");
	for (size_t j = 0; j < ds->n; j++) {
		const design *d = &ds->d[j];
		printf("%s{\"label\":", j ? "," : "");
		cli_json_str(stdout, d->label);
		printf(",\"name\":");
		cli_json_str(stdout, d->name);
		printf(",\"paired_with_A\":%s,\"runs\":[", j ? (prs[j].paired ? "true" : "false") : "null");
		for (size_t i = 0; i < d->n; i++) {
			const run *r = &d->runs[i];
			printf("%s{\"file\":", i ? "," : "");
			cli_json_str(stdout, r->source);
			if (r->has_seed)
				printf(",\"seed\":%" PRIu64, r->seed);
			printf(",\"replication\":%" PRId64 "}", r->rep);
		}
		printf("]}");
	}
	printf("],\"metrics\":[");
	bool first = true;
	for (size_t m = 0; m < NMET; m++) {
		if (!metric_present(ds, m))
			continue;
		compute_cells(ds, prs, m, cells);
		printf("%s{\"key\":\"%s\",\"label\":", first ? "" : ",", METRICS[m].key);
		first = false;
		cli_json_str(stdout, METRICS[m].label);
		printf(",\"units\":");
		cli_json_str(stdout, file_units(ds, m));
		printf(",\"values\":[");
		for (size_t j = 0; j < ds->n; j++) {
			const cell *c = &cells[j];
			printf("%s{\"design\":\"%s\",\"n\":%zu,\"mean\":", j ? "," : "", ds->d[j].label,
			       c->n);
			cli_json_num(stdout, c->mean);
			printf(",\"ci95_half\":");
			cli_json_num(stdout, c->half);
			if (j) {
				double ma = fabs(cells[0].mean);
				printf(",\"diff\":");
				cli_json_num(stdout, c->mean - cells[0].mean);
				printf(",\"diff_pct\":");
				cli_json_num(stdout, c->diff_pct);
				printf(",\"diff_ci95_lo\":");
				cli_json_num(stdout, c->has_ci ? c->ci.lo : NAN);
				printf(",\"diff_ci95_hi\":");
				cli_json_num(stdout, c->has_ci ? c->ci.hi : NAN);
				printf(",\"diff_ci95_lo_pct\":");
				cli_json_num(stdout, c->has_ci ? c->ci.lo / ma * 100 : NAN);
				printf(",\"diff_ci95_hi_pct\":");
				cli_json_num(stdout, c->has_ci ? c->ci.hi / ma * 100 : NAN);
				printf(",\"paired\":%s", prs[j].paired ? "true" : "false");
			}
			printf("}");
		}
		printf("]}");
	}
	printf("],\"notes\":[");
	for (size_t i = 0; i < notes->n; i++) {
		if (i)
			printf(",");
		cli_json_str(stdout, notes->v[i]);
	}
	printf("]}\n");
	free(cells);
}

static void print_csv(const designs *ds, const pairing *prs)
{
	cell *cells = calloc(ds->n, sizeof *cells);
	if (!cells)
		return;
	printf("metric,units,design,name,n,mean,ci95_half,diff_pct,diff_ci95_lo_pct,"
	       "diff_ci95_hi_pct,paired\n");
	for (size_t m = 0; m < NMET; m++) {
		if (!metric_present(ds, m))
			continue;
		compute_cells(ds, prs, m, cells);
		for (size_t j = 0; j < ds->n; j++) {
			const cell *c = &cells[j];
			double ma = fabs(cells[0].mean);
			printf("%s,", METRICS[m].key);
			csv_str(stdout, file_units(ds, m));
			printf(",%s,", ds->d[j].label);
			csv_str(stdout, ds->d[j].name);
			printf(",%zu,", c->n);
			csv_num(stdout, c->mean);
			printf(",");
			csv_num(stdout, c->half);
			printf(",");
			if (j)
				csv_num(stdout, c->diff_pct);
			printf(",");
			if (j && c->has_ci)
				csv_num(stdout, c->ci.lo / ma * 100);
			printf(",");
			if (j && c->has_ci)
				csv_num(stdout, c->ci.hi / ma * 100);
			printf(",%s\n", j ? (prs[j].paired ? "true" : "false") : "");
		}
	}
	free(cells);
}

/* --- the verb ------------------------------------------------------------------------------ */

static int usage(const char *fmt, const char *arg)
{
	fputs("factorysim: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: %s\n", COMPARE_USAGE);
	return 2;
}

/* Load one file into ds: a sweep's points, or a run into design d (a new
 * design named after the scenario when d is NULL). */
static int load_file(const char *path, designs *ds, design **d, bool alone, strlist *notes)
{
	fs_error err;
	fs_error_clear(&err);
	h5r *f = NULL;
	int rc = h5r_open(path, &f, &err);
	if (rc)
		return cli_report(&err);
	if (h5r_is_sweep(f)) {
		if (!alone) {
			h5r_close(f);
			return cli_errorf(2, "%s: a sweep file cannot be one replication of a design; give "
					 "it on its own (each point is a design)",
				      path);
		}
		rc = load_sweep(f, ds, notes, &err);
		h5r_close(f);
		return rc ? cli_report(&err) : 0;
	}
	run r;
	rc = load_run(f, &r, notes, &err);
	h5r_close(f);
	if (rc) {
		run_clear(&r);
		return cli_report(&err);
	}
	if (!*d && !(*d = design_add(ds, r.name))) {
		run_clear(&r);
		return cli_errorf(1, "out of memory");
	}
	if (design_push(*d, &r)) {
		run_clear(&r);
		return cli_errorf(1, "out of memory");
	}
	return 0;
}

/* --group: merge the run designs whose resolved scenarios agree. */
static void group_designs(designs *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		design *a = &ds->d[i];
		if (a->from_sweep || !a->n || !a->runs[0].group_key)
			continue;
		for (size_t j = i + 1; j < ds->n;) {
			design *b = &ds->d[j];
			if (!b->from_sweep && b->n && b->runs[0].group_key &&
			    !strcmp(a->runs[0].group_key, b->runs[0].group_key)) {
				bool ok = true;
				for (size_t k = 0; k < b->n && ok; k++)
					ok = design_push(a, &b->runs[k]) == 0;
				if (!ok)
					return;
				free(b->runs);
				memmove(b, b + 1, (ds->n - j - 1) * sizeof *b);
				ds->n--;
				a = &ds->d[i]; /* unchanged address, but be explicit */
			} else {
				j++;
			}
		}
	}
}

int cmd_compare(int argc, char **argv)
{
	int fmt = FMT_TEXT;
	bool group = false, explicit_groups = false;
	int nfiles = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--format")) {
			if (i + 1 >= argc)
				return usage("option %s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(v, "text"))
				fmt = FMT_TEXT;
			else if (!strcmp(v, "json"))
				fmt = FMT_JSON;
			else if (!strcmp(v, "csv"))
				fmt = FMT_CSV;
			else if (!strcmp(v, "markdown") || !strcmp(v, "md"))
				fmt = FMT_MD;
			else
				return usage("--format takes text, json, csv or markdown, got '%s'", v);
		} else if (!strcmp(a, "--group")) {
			group = true;
		} else if (!strcmp(a, "--")) {
			explicit_groups = true;
		} else if (a[0] == '-' && a[1]) {
			return usage("unknown option '%s'", a);
		} else {
			nfiles++;
		}
	}
	if (nfiles == 0)
		return usage("no run files given%s", "");
	if (group && explicit_groups)
		return usage("--group and -- both say how runs form designs; use one%s", "");
	designs ds = { 0 };
	strlist notes = { 0 };
	int status = 0;
	/* the files of each design: runs between `--`, or each file on its own */
	for (int i = 0; i < argc && !status;) {
		const char *group_files[4096];
		size_t n = 0;
		for (; i < argc; i++) {
			const char *a = argv[i];
			if (!strcmp(a, "--format")) {
				i++;
				continue;
			}
			if (!strcmp(a, "--group"))
				continue;
			if (!strcmp(a, "--")) {
				i++;
				break;
			}
			if (n == sizeof group_files / sizeof group_files[0]) {
				status = usage("too many files in one design (%s)", a);
				break;
			}
			group_files[n++] = a;
			if (!explicit_groups) {
				i++;
				break;
			}
		}
		design *cur = NULL;
		for (size_t k = 0; k < n && !status; k++)
			status = load_file(group_files[k], &ds, &cur, n == 1, &notes);
	}
	if (!status && group)
		group_designs(&ds);
	if (!status && ds.n == 0)
		status = cli_errorf(2, "no runs to compare");
	pairing *prs = NULL;
	if (!status) {
		for (size_t j = 0; j < ds.n; j++) {
			if (j < 26)
				snprintf(ds.d[j].label, sizeof ds.d[j].label, "%c", (char)('A' + j));
			else
				snprintf(ds.d[j].label, sizeof ds.d[j].label, "D%zu", j + 1);
		}
		prs = calloc(ds.n, sizeof *prs);
		if (!prs)
			status = cli_errorf(1, "out of memory");
		for (size_t j = 1; j < ds.n && !status; j++)
			if (pair_designs(&ds.d[0], &ds.d[j], &prs[j], &notes))
				status = cli_errorf(1, "out of memory");
	}
	if (!status) {
		switch (fmt) {
		case FMT_JSON: print_json(&ds, prs, &notes); break;
		case FMT_CSV:
			print_csv(&ds, prs);
			for (size_t i = 0; i < notes.n; i++)
				fprintf(stderr, "factorysim: note: %s\n", notes.v[i]);
			break;
		default: print_table(&ds, prs, &notes, fmt);
		}
		if (fflush(stdout) || ferror(stdout))
			status = cli_errorf(1, "cannot write the output");
	}
	for (size_t j = 0; prs && j < ds.n; j++)
		free(prs[j].partner);
	free(prs);
	designs_free(&ds);
	sl_free(&notes);
	return status;
}
