/*
 * sweep.c - the sweep file, the plan, constraints, and running the slots.
 * See sweep.h for the design; output/sweepio.c writes the result file.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_qrng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cfg.h"
#include "par.h"
#include "runner.h"
#include "scenario.h"
#include "sweep.h"
#include "sweepio.h"
#include "units.h"
#include "yamltree.h"

/* --- small helpers ---------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* "30 C" -> 30 and "C"; "2" -> 2 and "".  0 if s does not start with a number. */
static int split_quantity(const char *s, double *v, char *unit, size_t n)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (end == s || errno || !isfinite(x))
		return 0;
	while (*end == ' ' || *end == '\t')
		end++;
	snprintf(unit, n, "%s", end);
	size_t l = strlen(unit);
	while (l && (unit[l - 1] == ' ' || unit[l - 1] == '\t'))
		unit[--l] = '\0';
	*v = x;
	return 1;
}

static char *quantity_text(double v, const char *unit)
{
	char num[64], buf[128];
	units_format_number(v, num, sizeof num);
	snprintf(buf, sizeof buf, "%s%s%s", num, unit[0] ? " " : "", unit);
	return xstrdup(buf);
}

/* A key path: names and 0-based list indices joined by '.' (as --set takes). */
static bool key_ok(const char *k)
{
	if (!k[0] || k[0] == '.' || k[strlen(k) - 1] == '.' || strstr(k, ".."))
		return false;
	for (const char *c = k; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-'))
			return false;
	return true;
}

/* The node at a key path under root, or NULL. */
static const ynode *lookup_path(const ynode *root, const char *path)
{
	char buf[SWEEP_KEY_LEN];
	snprintf(buf, sizeof buf, "%s", path);
	const ynode *cur = root;
	char *save = NULL;
	for (char *c = strtok_r(buf, ".", &save); c && cur; c = strtok_r(NULL, ".", &save)) {
		if (cur->kind == YNODE_SEQ) {
			char *end;
			unsigned long i = strtoul(c, &end, 10);
			cur = (*end || i >= cur->nitems) ? NULL : cur->items[i];
		} else {
			ypair *p = ynode_find(cur, c);
			cur = p ? p->value : NULL;
		}
	}
	return cur;
}

/* --- the sweep file ----------------------------------------------------------------- */

static const char *const DESIGNS[] = { "grid", "lhs", "sobol", NULL };
static const char *const SERIES[] = { "none", "keep", "link", NULL };

static int add_value(sweep_param *p, char *v)
{
	if (!v)
		return -1;
	char **a = realloc(p->values, (p->n_values + 1) * sizeof *a);
	if (!a) {
		free(v);
		return -1;
	}
	p->values = a;
	p->values[p->n_values++] = v;
	return 0;
}

static int read_param(cfg_map *m, sweep_spec *s, sweep_param *p)
{
	cfg_string(m, "name", NULL, p->name, sizeof p->name);
	cfg_string(m, "key", NULL, p->key, sizeof p->key);
	if (cfg_status_of(m))
		return cfg_status_of(m);
	if (!cfg_name_ok(p->name, SWEEP_NAME_LEN - 1) || strchr(p->name, '.'))
		return cfg_fail(m, "name", "'%s' is not a column name; expected 1 to %d of "
					   "A-Z a-z 0-9 _ -",
				p->name, SWEEP_NAME_LEN - 1);
	if (!key_ok(p->key))
		return cfg_fail(m, "key", "'%s' is not a key path; expected names and list "
					  "indices joined by '.', e.g. racks.0.count",
				p->key);
	static const char *const reserved[] = { "point", "replication", "seed", "n", NULL };
	for (int i = 0; reserved[i]; i++)
		if (!strcmp(p->name, reserved[i]))
			return cfg_fail(m, "name", "'%s' is a column of the table already; expected "
						   "another name",
					p->name);
	char with[SWEEP_NAME_LEN] = "";
	p->with = -1;
	cfg_string(m, "with", "", with, sizeof with);
	if (with[0]) {
		for (size_t j = 0; j < s->n_params; j++)
			if (!strcmp(s->params[j].name, with))
				p->with = (int)j;
		if (p->with < 0)
			return cfg_fail(m, "with", "'%s' is not a parameter listed before this one",
					with);
		if (s->params[p->with].with >= 0 || s->params[p->with].interval)
			return cfg_fail(m, "with", "'%s' is itself tied to another parameter or an "
						   "interval; expected a parameter with its own list",
					with);
	}
	int kinds = cfg_has(m, "values") + cfg_has(m, "range") + (cfg_has(m, "min") || cfg_has(m, "max"));
	if (kinds != 1)
		return cfg_fail(m, NULL, "parameter '%s' needs exactly one of values, range, "
					 "or min and max",
				p->name);
	if (cfg_has(m, "values")) {
		cfg_map *l = cfg_list(m, "values", true);
		size_t n = cfg_len(l);
		if (!cfg_status_of(m) && n == 0)
			return cfg_fail(m, "values", "the list is empty; expected at least one value");
		for (size_t i = 0; i < n && !cfg_status_of(m); i++) {
			char v[256];
			if (!cfg_item_string(l, i, v, sizeof v) && add_value(p, xstrdup(v)))
				return cfg_fail(m, "values", "out of memory");
		}
	} else if (cfg_has(m, "range")) {
		cfg_map *r = cfg_map_get(m, "range", true);
		char from[64], to[64], step[64];
		cfg_string(r, "from", NULL, from, sizeof from);
		cfg_string(r, "to", NULL, to, sizeof to);
		cfg_string(r, "step", NULL, step, sizeof step);
		if (cfg_status_of(m))
			return cfg_status_of(m);
		double a, b, d;
		char ua[32], ub[32], ud[32];
		if (!split_quantity(from, &a, ua, sizeof ua))
			return cfg_fail(r, "from", "'%s' is not a number with optional unit", from);
		if (!split_quantity(to, &b, ub, sizeof ub))
			return cfg_fail(r, "to", "'%s' is not a number with optional unit", to);
		if (!split_quantity(step, &d, ud, sizeof ud))
			return cfg_fail(r, "step", "'%s' is not a number with optional unit", step);
		if (strcmp(ua, ub) || strcmp(ua, ud))
			return cfg_fail(r, NULL, "from, to and step are in different units ('%s', "
						 "'%s', '%s'); expected the same unit for all three",
					ua, ub, ud);
		if (!(d > 0) || b < a)
			return cfg_fail(r, "step", "expected step > 0 and to >= from");
		double cnt = floor((b - a) / d * (1 + 1e-12) + 1e-9) + 1;
		if (cnt > 100000)
			return cfg_fail(r, "step", "%.0f values; expected at most 100000", cnt);
		for (size_t i = 0; i < (size_t)cnt; i++)
			if (add_value(p, quantity_text(a + (double)i * d, ua)))
				return cfg_fail(m, "range", "out of memory");
		cfg_close(r);
	} else {
		if (p->with >= 0)
			return cfg_fail(m, "with", "a parameter tied to another needs values or "
						   "range, one per value of '%s'",
					with);
		char lo[64], hi[64];
		cfg_string(m, "min", NULL, lo, sizeof lo);
		cfg_string(m, "max", NULL, hi, sizeof hi);
		bool b = false;
		cfg_bool(m, "integer", &b, &p->integer);
		cfg_bool(m, "log", &b, &p->log_scale);
		if (cfg_status_of(m))
			return cfg_status_of(m);
		char u2[32];
		if (!split_quantity(lo, &p->lo, p->unit, sizeof p->unit))
			return cfg_fail(m, "min", "'%s' is not a number with optional unit", lo);
		if (!split_quantity(hi, &p->hi, u2, sizeof u2))
			return cfg_fail(m, "max", "'%s' is not a number with optional unit", hi);
		if (strcmp(p->unit, u2))
			return cfg_fail(m, "max", "min is in '%s' and max in '%s'; expected the same "
						  "unit",
					p->unit, u2);
		if (!(p->hi > p->lo))
			return cfg_fail(m, "max", "expected max > min");
		if (p->log_scale && !(p->lo > 0))
			return cfg_fail(m, "log", "a log scale needs min > 0");
		p->interval = true;
		if (s->design == SWEEP_GRID)
			return cfg_fail(m, NULL, "min and max give an interval to sample; a grid "
						 "design needs values or range (or set design: lhs "
						 "or sobol)");
	}
	if (p->with >= 0 && p->n_values != s->params[p->with].n_values)
		return cfg_fail(m, NULL, "%zu values, but '%s' has %zu; a parameter tied with "
					 "another needs one value per value of it",
				p->n_values, with, s->params[p->with].n_values);
	return cfg_close(m);
}

static int read_metric(cfg_map *list, size_t i, sweep_metric *mt)
{
	ynode *n = cfg_node_of(list);
	if (n && i < n->nitems && n->items[i]->kind == YNODE_MAP) {
		cfg_map *m = cfg_item_map(list, i);
		cfg_string(m, "summary", NULL, mt->summary, sizeof mt->summary);
		char def[SWEEP_NAME_LEN] = "";
		if (cfg_status_of(m))
			return cfg_status_of(m);
		snprintf(def, sizeof def, "%s", mt->summary);
		for (char *c = def; *c; c++)
			if (*c == '/')
				*c = '.';
		cfg_string(m, "name", def, mt->name, sizeof mt->name);
		if (cfg_status_of(m))
			return cfg_status_of(m);
		cfg_close(m);
	} else {
		if (cfg_item_string(list, i, mt->summary, sizeof mt->summary))
			return cfg_status_of(list);
		snprintf(mt->name, sizeof mt->name, "%s", mt->summary);
		for (char *c = mt->name; *c; c++)
			if (*c == '/')
				*c = '.';
	}
	bool ok = mt->summary[0] && mt->summary[0] != '/';
	for (const char *c = mt->summary; *c && ok; c++)
		ok = isalnum((unsigned char)*c) || *c == '_' || *c == '/' || *c == '.' || *c == '-';
	if (!ok)
		return cfg_fail(list, NULL, "metrics[%zu]: '%s' is not a summary path; expected e.g. "
					    "power/tokens_per_s_per_mw_it",
				i, mt->summary);
	return 0;
}

static int read_spec(cfg_map *root, sweep_spec *s, const char *dir)
{
	char base[512];
	cfg_string(root, "name", "sweep", s->name, sizeof s->name);
	cfg_string(root, "base", NULL, base, sizeof base);
	int64_t reps;
	const int64_t one = 1;
	cfg_int(root, "replications", &one, 1, 10000, &reps);
	int design = SWEEP_GRID, series = SWEEP_SERIES_NONE;
	const int grid = SWEEP_GRID, none = SWEEP_SERIES_NONE;
	cfg_enum(root, "design", DESIGNS, &grid, &design);
	cfg_enum(root, "series", SERIES, &none, &series);
	const uint64_t zero = 0, defseed = 1;
	uint64_t samples = 0;
	cfg_uint64(root, "samples", &zero, 0, SWEEP_MAX_POINTS, &samples);
	cfg_uint64(root, "design_seed", &defseed, 0, UINT64_MAX, &s->design_seed);
	if (cfg_status_of(root))
		return cfg_status_of(root);
	if (!cfg_name_ok(s->name, SWEEP_NAME_LEN - 1))
		return cfg_fail(root, "name", "'%s' is not a name; expected A-Z a-z 0-9 _ . -",
				s->name);
	s->replications = (uint32_t)reps;
	s->design = design;
	s->series = series;
	s->samples = (uint32_t)samples;
	if (design != SWEEP_GRID && samples == 0)
		return cfg_fail(root, "samples", "design %s needs samples: N (N >= 1)",
				DESIGNS[design]);
	if (design == SWEEP_GRID && cfg_has(root, "samples") && samples)
		return cfg_fail(root, "samples", "samples applies to lhs and sobol designs; a grid "
						 "runs every combination");
	if (base[0] == '/' || !dir[0])
		snprintf(s->base, sizeof s->base, "%s", base);
	else
		snprintf(s->base, sizeof s->base, "%s/%s", dir, base);

	/* fixed overrides: a mapping of key path -> scalar */
	cfg_map *set = cfg_map_get(root, "set", false);
	ynode *sn = cfg_node_of(set);
	if (sn && sn->kind == YNODE_MAP) {
		for (size_t i = 0; i < sn->npairs; i++) {
			ypair *kv = &sn->pairs[i];
			if (s->n_sets >= SWEEP_MAX_SETS)
				return cfg_fail(set, kv->key, "more than %d fixed overrides",
						SWEEP_MAX_SETS);
			char v[256];
			if (cfg_string(set, kv->key, NULL, v, sizeof v))
				return cfg_status_of(root);
			if (!key_ok(kv->key))
				return cfg_fail(set, kv->key, "'%s' is not a key path", kv->key);
			size_t n = strlen(kv->key) + strlen(v) + 2;
			s->sets[s->n_sets] = malloc(n);
			if (!s->sets[s->n_sets])
				return cfg_fail(set, kv->key, "out of memory");
			snprintf(s->sets[s->n_sets++], n, "%s=%s", kv->key, v);
		}
	} else if (sn && sn->kind != YNODE_NULL) {
		return cfg_fail(root, "set", "expected a mapping of key path: value");
	}
	cfg_close(set);

	cfg_map *pl = cfg_list(root, "parameters", true);
	size_t np = cfg_len(pl);
	if (cfg_status_of(root))
		return cfg_status_of(root);
	if (np == 0)
		return cfg_fail(root, "parameters", "the list is empty; expected at least one "
						    "parameter");
	if (np > SWEEP_MAX_PARAMS)
		return cfg_fail(root, "parameters", "%zu parameters; expected at most %d", np,
				SWEEP_MAX_PARAMS);
	for (size_t i = 0; i < np; i++) {
		if (read_param(cfg_item_map(pl, i), s, &s->params[i]))
			return cfg_status_of(root);
		s->n_params = i + 1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->params[j].name, s->params[i].name))
				return cfg_fail(cfg_item_map(pl, i), "name",
						"'%s' names parameter %zu already; expected a "
						"unique name",
						s->params[i].name, j);
	}

	cfg_map *cl = cfg_list(root, "constraints", false);
	size_t nc = cfg_len(cl);
	ynode *cn = cfg_node_of(cl);
	if (nc) {
		s->constraints = calloc(nc, sizeof *s->constraints);
		s->constraint_line = calloc(nc, sizeof *s->constraint_line);
		s->constraint_col = calloc(nc, sizeof *s->constraint_col);
		if (!s->constraints || !s->constraint_line || !s->constraint_col)
			return cfg_fail(root, "constraints", "out of memory");
	}
	for (size_t i = 0; i < nc; i++) {
		char e[512];
		if (cfg_item_string(cl, i, e, sizeof e))
			return cfg_status_of(root);
		s->constraints[i] = xstrdup(e);
		s->constraint_line[i] = cn->items[i]->line;
		s->constraint_col[i] = cn->items[i]->col;
		s->n_constraints = i + 1;
	}

	cfg_map *ml = cfg_list(root, "metrics", true);
	size_t nm = cfg_len(ml);
	if (cfg_status_of(root))
		return cfg_status_of(root);
	if (nm == 0 || nm > SWEEP_MAX_METRICS)
		return cfg_fail(root, "metrics", "%zu metrics; expected 1 to %d summary paths such "
						 "as power/tokens_per_s_per_mw_it",
				nm, SWEEP_MAX_METRICS);
	for (size_t i = 0; i < nm; i++) {
		if (read_metric(ml, i, &s->metrics[i]))
			return cfg_status_of(root);
		s->n_metrics = i + 1;
		for (size_t j = 0; j < s->n_params; j++)
			if (!strcmp(s->params[j].name, s->metrics[i].name))
				return cfg_fail(ml, NULL, "metrics[%zu]: '%s' is a parameter's name "
							  "already; give the metric another name",
						i, s->metrics[i].name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->metrics[j].name, s->metrics[i].name))
				return cfg_fail(ml, NULL, "metrics[%zu]: '%s' is listed twice", i,
						s->metrics[i].name);
	}
	return cfg_close(root);
}

int sweep_load(const char *path, sweep_spec *out, fs_error *err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->file, sizeof out->file, "%s", path);
	char dir[512];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	ydoc *d = NULL;
	int rc = ydoc_load_file(path, &d, err);
	if (rc)
		return rc;
	cfg *c = cfg_new(ydoc_root(d), err);
	if (!c) {
		ydoc_free(d);
		return err ? err->code : FS_ERR_NOMEM;
	}
	cfg_map *root = cfg_root(c);
	if (!cfg_status(c))
		read_spec(root, out, dir);
	rc = cfg_status(c);
	cfg_free(c);
	ydoc_free(d);
	if (rc)
		sweep_spec_clear(out);
	return rc;
}

void sweep_spec_clear(sweep_spec *s)
{
	for (size_t i = 0; i < SWEEP_MAX_PARAMS; i++) {
		for (size_t j = 0; j < s->params[i].n_values; j++)
			free(s->params[i].values[j]);
		free(s->params[i].values);
	}
	for (size_t i = 0; i < s->n_sets; i++)
		free(s->sets[i]);
	for (size_t i = 0; i < s->n_constraints; i++)
		free(s->constraints[i]);
	free(s->constraints);
	free(s->constraint_line);
	free(s->constraint_col);
	memset(s, 0, sizeof *s);
}

/* --- constraint expressions ----------------------------------------------------- */
/*
 * expr := sum (cmp sum)?     cmp := <= | < | >= | > | == | !=
 * sum  := prod (('+'|'-') prod)*
 * prod := unary (('*'|'/') unary)*
 * unary:= '-' unary | '(' sum ')' | number | name
 * Names are parameter names, derived totals or scenario key paths; all in SI.
 */
typedef struct ex {
	const char *p;
	sweep_lookup_fn lookup;
	void *ctx;
	char *why;
	size_t why_len;
	int bad;
} ex;

static void ex_ws(ex *e)
{
	while (*e->p == ' ' || *e->p == '\t')
		e->p++;
}

static double ex_sum(ex *e);

static double ex_fail(ex *e, const char *fmt, const char *arg)
{
	if (!e->bad)
		snprintf(e->why, e->why_len, fmt, arg);
	e->bad = 1;
	return NAN;
}

static double ex_unary(ex *e)
{
	ex_ws(e);
	if (*e->p == '-') {
		e->p++;
		return -ex_unary(e);
	}
	if (*e->p == '(') {
		e->p++;
		double v = ex_sum(e);
		ex_ws(e);
		if (*e->p != ')')
			return ex_fail(e, "missing ')' at '%s'", e->p);
		e->p++;
		return v;
	}
	if (isdigit((unsigned char)*e->p) || *e->p == '.') {
		char *end;
		double v = strtod(e->p, &end);
		e->p = end;
		return v;
	}
	if (isalpha((unsigned char)*e->p) || *e->p == '_') {
		char name[SWEEP_KEY_LEN];
		size_t n = 0;
		while ((isalnum((unsigned char)*e->p) || *e->p == '_' || *e->p == '.') &&
		       n + 1 < sizeof name)
			name[n++] = *e->p++;
		name[n] = '\0';
		double v;
		if (e->lookup(e->ctx, name, &v))
			return ex_fail(e, "unknown name '%s'; expected a parameter name, a numeric "
					  "scenario key path, it_power_max, it_power_capped, racks_total or gpus_total",
				       name);
		return v;
	}
	return ex_fail(e, *e->p ? "unexpected '%s'" : "unexpected end of expression%s", e->p);
}

static double ex_prod(ex *e)
{
	double v = ex_unary(e);
	for (;;) {
		ex_ws(e);
		if (*e->p == '*') {
			e->p++;
			v *= ex_unary(e);
		} else if (*e->p == '/') {
			e->p++;
			v /= ex_unary(e);
		} else {
			return v;
		}
	}
}

static double ex_sum(ex *e)
{
	double v = ex_prod(e);
	for (;;) {
		ex_ws(e);
		if (*e->p == '+') {
			e->p++;
			v += ex_prod(e);
		} else if (*e->p == '-') {
			e->p++;
			v -= ex_prod(e);
		} else {
			return v;
		}
	}
}

int sweep_expr_eval(const char *expr, sweep_lookup_fn lookup, void *ctx, int *out, char *why,
		    size_t why_len)
{
	ex e = { expr, lookup, ctx, why, why_len, 0 };
	double a = ex_sum(&e);
	ex_ws(&e);
	static const char *const ops[] = { "<=", ">=", "==", "!=", "<", ">" };
	int op = -1;
	for (int i = 0; i < 6 && op < 0 && !e.bad; i++)
		if (!strncmp(e.p, ops[i], strlen(ops[i]))) {
			op = i;
			e.p += strlen(ops[i]);
		}
	if (op < 0 && !e.bad)
		ex_fail(&e, "expected a comparison (<=, <, >=, >, ==, !=) at '%s'", e.p);
	double b = e.bad ? NAN : ex_sum(&e);
	ex_ws(&e);
	if (!e.bad && *e.p)
		ex_fail(&e, "unexpected '%s' after the comparison", e.p);
	if (e.bad)
		return -1;
	int r = 0;
	switch (op) {
	case 0: r = a <= b; break;
	case 1: r = a >= b; break;
	case 2: r = a == b; break;
	case 3: r = a != b; break;
	case 4: r = a < b; break;
	default: r = a > b; break;
	}
	*out = r;
	return 0;
}

/* --- the plan ------------------------------------------------------------------------ */

typedef struct point_vars {
	const sweep_spec *spec;
	const double *value;
	const scenario *sc;
	const ynode *resolved;
} point_vars;

/* Rack-input IT power with every GPU at gpu_cap x TDP (1: nameplate). */
static double it_power_at(const scenario *sc, double gpu_cap)
{
	double w = 0;
	for (uint32_t r = 0; r < sc->n_rack_list; r++) {
		const rack_spec *rk = sc->rack_list[r];
		double p = rk->cpus * rk->cpu_w + rk->switch_w + rk->fan_pump_w;
		for (int g = 0; g < rk->n_groups; g++)
			if (sc->rack_gpus[r][g])
				p += rk->groups[g].count * sc->rack_gpus[r][g]->tdp_w * gpu_cap;
		w += rk->psu_efficiency > 0 ? p / rk->psu_efficiency : p;
	}
	return w;
}

static int vars_lookup(void *ctx, const char *name, double *v)
{
	const point_vars *pv = ctx;
	for (size_t i = 0; i < pv->spec->n_params; i++)
		if (!strcmp(pv->spec->params[i].name, name)) {
			*v = pv->value[i];
			return 0;
		}
	if (!strcmp(name, "it_power_max")) {
		*v = it_power_at(pv->sc, 1);
		return 0;
	}
	if (!strcmp(name, "it_power_capped")) {
		*v = it_power_at(pv->sc, pv->sc->has_site ? pv->sc->site.gpu_cap : 1);
		return 0;
	}
	if (!strcmp(name, "racks_total")) {
		*v = pv->sc->n_rack_list;
		return 0;
	}
	if (!strcmp(name, "gpus_total")) {
		double g = 0;
		for (uint32_t r = 0; r < pv->sc->n_rack_list; r++)
			for (int k = 0; k < pv->sc->rack_list[r]->n_groups; k++)
				g += pv->sc->rack_list[r]->groups[k].count;
		*v = g;
		return 0;
	}
	const ynode *n = lookup_path(pv->resolved, name);
	if (n && n->kind == YNODE_SCALAR && n->text) {
		char *end;
		double x = strtod(n->text, &end); /* resolved values are SI: "2000000 W" */
		if (end != n->text) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* The texts of design point i: grid (last parameter fastest) or a sample. */
static void design_texts(const sweep_spec *s, const double *u, uint32_t i, char **tmp,
			 const char **texts)
{
	size_t idx[SWEEP_MAX_PARAMS];
	if (s->design == SWEEP_GRID) {
		uint32_t rest = i;
		for (size_t k = s->n_params; k-- > 0;) {
			const sweep_param *p = &s->params[k];
			if (p->with >= 0)
				continue;
			idx[k] = rest % p->n_values;
			rest /= (uint32_t)p->n_values;
		}
		for (size_t k = 0; k < s->n_params; k++) {
			const sweep_param *p = &s->params[k];
			texts[k] = p->values[p->with >= 0 ? idx[p->with] : idx[k]];
		}
		return;
	}
	for (size_t k = 0; k < s->n_params; k++) {
		const sweep_param *p = &s->params[k];
		double x = u[(size_t)i * s->n_params + k];
		if (p->with >= 0) {
			texts[k] = p->values[idx[p->with]];
			continue;
		}
		if (!p->interval) {
			size_t j = (size_t)(x * (double)p->n_values);
			idx[k] = j < p->n_values ? j : p->n_values - 1;
			texts[k] = p->values[idx[k]];
			continue;
		}
		double v;
		if (p->integer) {
			double lo = ceil(p->lo), hi = floor(p->hi);
			v = floor(lo + x * (hi - lo + 1));
			if (v > hi)
				v = hi;
		} else if (p->log_scale) {
			v = p->lo * pow(p->hi / p->lo, x);
		} else {
			v = p->lo + x * (p->hi - p->lo);
		}
		free(tmp[k]);
		tmp[k] = quantity_text(v, p->unit);
		texts[k] = tmp[k];
	}
}

/* Unit-cube samples for lhs/sobol: n x d values in [0, 1). */
static double *design_samples(const sweep_spec *s, fs_error *err)
{
	size_t n = s->samples, d = s->n_params;
	double *u = malloc(n * d * sizeof *u);
	if (!u) {
		fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory for %zu samples", s->file, n);
		return NULL;
	}
	if (s->design == SWEEP_SOBOL) {
		gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)d);
		if (!q) {
			free(u);
			fs_error_msg(err, FS_ERR_NOMEM, "%s: cannot set up the Sobol sequence", s->file);
			return NULL;
		}
		for (size_t i = 0; i < n; i++)
			gsl_qrng_get(q, u + i * d);
		gsl_qrng_free(q);
		return u;
	}
	/* Latin hypercube: one shuffled stratum per sample and dimension, a
	 * uniform position inside it */
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t *perm = malloc(n * sizeof *perm);
	if (!r || !perm) {
		gsl_rng_free(r);
		free(perm);
		free(u);
		fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory", s->file);
		return NULL;
	}
	gsl_rng_set(r, (unsigned long)s->design_seed);
	for (size_t k = 0; k < d; k++) {
		for (size_t i = 0; i < n; i++)
			perm[i] = i;
		gsl_ran_shuffle(r, perm, n, sizeof *perm);
		for (size_t i = 0; i < n; i++)
			u[i * d + k] = ((double)perm[i] + gsl_rng_uniform(r)) / (double)n;
	}
	free(perm);
	gsl_rng_free(r);
	return u;
}

/* Rough wall time of one run on one core, from the work it implies. */
static double estimate_run_s(const scenario *sc)
{
	double span = sc->warmup_s + sc->duration_s;
	double reqs = 0;
	for (size_t c = 0; c < sc->n_classes; c++) {
		const wl_class_params *k = &sc->classes[c];
		reqs += k->rate * (k->session.enabled ? k->session.turns_mean : 1) * span;
	}
	double ticks = sc->tick_s > 0 ? span / sc->tick_s : 0;
	/* serving-bench: ~1 M requests/s; a tick costs ~0.5 us per rack plus the
	 * plant; ~20 ms to build the models and write the file */
	return 0.02 + reqs / 1e6 + ticks * (5e-6 + 0.5e-6 * sc->n_rack_list);
}

static int point_error(const sweep_spec *s, uint32_t i, const char **texts, fs_error *err)
{
	char what[512] = "";
	size_t used = 0;
	for (size_t k = 0; k < s->n_params && used < sizeof what; k++)
		used += (size_t)snprintf(what + used, sizeof what - used, "%s%s=%s", k ? ", " : "",
					 s->params[k].name, texts[k]);
	if (err && !strcmp(err->file, "--set")) {
		/* the override came from this sweep: point at the sweep file */
		snprintf(err->file, sizeof err->file, "%s", s->file);
		err->line = err->column = 0;
	}
	fs_error_prefix(err, "sweep point %u (%s)", i, what);
	return err ? err->code : FS_ERR_INPUT;
}

int sweep_plan_make(const sweep_spec *s, sweep_plan *p, fs_error *err)
{
	memset(p, 0, sizeof *p);
	p->spec = s;
	double n_design = 1;
	if (s->design == SWEEP_GRID) {
		for (size_t k = 0; k < s->n_params; k++)
			if (s->params[k].with < 0)
				n_design *= (double)s->params[k].n_values;
	} else {
		n_design = s->samples;
	}
	if (n_design > SWEEP_MAX_POINTS)
		return fs_error_set(err, FS_ERR_INPUT, s->file, 0, 0, "parameters",
				    "the design has %.0f points; expected at most %u", n_design,
				    SWEEP_MAX_POINTS);
	p->n_design = (uint32_t)n_design;
	/* categorical levels: parameters given as values whose texts are not numbers */
	for (size_t k = 0; k < s->n_params; k++) {
		const sweep_param *q = &s->params[k];
		bool numeric = true;
		for (size_t j = 0; j < q->n_values && numeric; j++) {
			double v;
			char u[32];
			numeric = split_quantity(q->values[j], &v, u, sizeof u);
		}
		if (!q->interval && !numeric) {
			p->levels[k] = q->values;
			p->n_levels[k] = q->n_values;
		}
	}
	double *u = s->design == SWEEP_GRID ? NULL : design_samples(s, err);
	if (s->design != SWEEP_GRID && !u)
		return err ? err->code : FS_ERR_NOMEM;
	p->points = calloc(p->n_design ? p->n_design : 1, sizeof *p->points);
	scenario *sc = malloc(sizeof *sc);
	char *tmp[SWEEP_MAX_PARAMS] = { 0 };
	if (!p->points || !sc) {
		free(u);
		free(sc);
		free(p->points);
		p->points = NULL;
		return fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory for the plan", s->file);
	}
	uint64_t h = 14695981039346656037ull;
	h = fnv1a(h, (const char *)&s->replications, sizeof s->replications);
	int rc = 0;
	for (uint32_t i = 0; i < p->n_design && !rc; i++) {
		const char *texts[SWEEP_MAX_PARAMS];
		design_texts(s, u, i, tmp, texts);
		const char *sets[SWEEP_MAX_SETS + SWEEP_MAX_PARAMS];
		char setbuf[SWEEP_MAX_PARAMS][SWEEP_KEY_LEN + 256];
		size_t ns = 0;
		for (size_t k = 0; k < s->n_sets; k++)
			sets[ns++] = s->sets[k];
		for (size_t k = 0; k < s->n_params; k++) {
			snprintf(setbuf[k], sizeof setbuf[k], "%s=%s", s->params[k].key, texts[k]);
			sets[ns++] = setbuf[k];
		}
		rc = scenario_load(s->base, sets, ns, sc, err);
		if (rc) {
			point_error(s, i, texts, err);
			break;
		}
		if (i == 0)
			p->seed = sc->seed;
		ydoc *rd = NULL;
		rc = ydoc_load_string(sc->text_resolved, "resolved", &rd, err);
		double value[SWEEP_MAX_PARAMS];
		for (size_t k = 0; k < s->n_params && !rc; k++) {
			if (p->levels[k]) {
				for (size_t j = 0; j < p->n_levels[k]; j++)
					if (!strcmp(p->levels[k][j], texts[k]))
						value[k] = (double)j;
				continue;
			}
			const ynode *n = lookup_path(ydoc_root(rd), s->params[k].key);
			char *end = NULL;
			value[k] = n && n->kind == YNODE_SCALAR && n->text ? strtod(n->text, &end) : NAN;
			if (!end || end == n->text) {
				char u2[32];
				if (!split_quantity(texts[k], &value[k], u2, sizeof u2))
					value[k] = NAN;
			}
		}
		int feasible = 1;
		point_vars pv = { s, value, sc, rd ? ydoc_root(rd) : NULL };
		for (size_t c = 0; c < s->n_constraints && !rc && feasible; c++) {
			char why[300];
			if (sweep_expr_eval(s->constraints[c], vars_lookup, &pv, &feasible, why,
					    sizeof why))
				rc = fs_error_set(err, FS_ERR_INPUT, s->file, s->constraint_line[c],
						  s->constraint_col[c], "constraints", "%s", why);
		}
		if (!rc && feasible) {
			sweep_point *pt = &p->points[p->n_points];
			pt->index = i;
			pt->value = malloc(s->n_params * sizeof *pt->value);
			pt->text = calloc(s->n_params, sizeof *pt->text);
			if (!pt->value || !pt->text) {
				free(pt->value);
				free(pt->text);
				rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory for the plan");
			} else {
				p->n_points++;
				for (size_t k = 0; k < s->n_params; k++) {
					pt->value[k] = value[k];
					pt->text[k] = xstrdup(texts[k]);
					if (!pt->text[k])
						rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
				}
				h = fnv1a(h, sc->text_resolved, strlen(sc->text_resolved));
				p->est_run_s += estimate_run_s(sc);
			}
		}
		ydoc_free(rd);
		scenario_clear(sc);
	}
	for (size_t k = 0; k < SWEEP_MAX_PARAMS; k++)
		free(tmp[k]);
	free(sc);
	free(u);
	if (rc) {
		sweep_plan_clear(p);
		return rc;
	}
	if (p->n_points)
		p->est_run_s /= p->n_points;
	p->n_slots = (uint64_t)p->n_points * s->replications;
	p->fingerprint = h;
	return 0;
}

void sweep_plan_clear(sweep_plan *p)
{
	if (p->points)
		for (uint32_t i = 0; i < p->n_points; i++) {
			for (size_t k = 0; p->spec && k < p->spec->n_params; k++)
				free(p->points[i].text[k]);
			free(p->points[i].text);
			free(p->points[i].value);
		}
	free(p->points);
	memset(p, 0, sizeof *p);
}

size_t sweep_slot_sets(const sweep_plan *p, uint64_t slot, const char **sets, size_t max,
		       char *buf, size_t buf_len)
{
	const sweep_spec *s = p->spec;
	const sweep_point *pt = &p->points[slot / s->replications];
	uint32_t rep = (uint32_t)(slot % s->replications);
	size_t ns = 0, used = 0;
	for (size_t k = 0; k < s->n_sets && ns < max; k++)
		sets[ns++] = s->sets[k];
	for (size_t k = 0; k < s->n_params && ns < max; k++) {
		int w = snprintf(buf + used, buf_len - used, "%s=%s", s->params[k].key, pt->text[k]);
		if (w < 0 || (size_t)w >= buf_len - used)
			break;
		sets[ns++] = buf + used;
		used += (size_t)w + 1;
	}
	if (ns < max && used < buf_len) {
		snprintf(buf + used, buf_len - used, "replication=%u", rep);
		sets[ns++] = buf + used;
	}
	return ns;
}

void sweep_slot_path(const sweep_plan *p, const char *dir, uint64_t slot, char *buf, size_t n)
{
	const sweep_point *pt = &p->points[slot / p->spec->replications];
	snprintf(buf, n, "%s/p%06u_r%03u.h5", dir, pt->index,
		 (unsigned)(slot % p->spec->replications));
}

/* --- running -------------------------------------------------------------------------- */

#define MAX_THREADS 256

static volatile sig_atomic_t g_stop;
static sim *volatile g_sims[MAX_THREADS];

void sweep_request_stop(void)
{
	g_stop = 1;
	for (int i = 0; i < MAX_THREADS; i++) {
		sim *s = g_sims[i];
		if (s)
			sim_stop(s);
	}
}

static void register_sim(sim *s, void *ctx)
{
	int t = (int)(intptr_t)ctx;
	g_sims[t] = s;
	if (s && g_stop)
		sim_stop(s);
}

static bool file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

typedef struct run_ctx {
	const sweep_plan *p;
	const sweep_opts *o;
	char dir[1100];
	uint64_t *pending;
	uint64_t n_pending, next;
	uint64_t done_count;
	int checked_metrics;
	double wall0;
} run_ctx;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One slot: load its scenario, run it into its run file. */
static int run_slot(run_ctx *c, uint64_t slot, int thread, fs_error *err)
{
	const sweep_spec *s = c->p->spec;
	const char *sets[SWEEP_MAX_SETS + SWEEP_MAX_PARAMS + 1];
	char buf[SWEEP_MAX_PARAMS * (SWEEP_KEY_LEN + 256) + 64];
	size_t ns = sweep_slot_sets(c->p, slot, sets, sizeof sets / sizeof sets[0], buf, sizeof buf);
	char path[1200];
	sweep_slot_path(c->p, c->dir, slot, path, sizeof path);
	scenario *sc = malloc(sizeof *sc);
	if (!sc)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	int rc = scenario_load(s->base, sets, ns, sc, err);
	if (rc) {
		free(sc);
		return rc;
	}
	run_summary sum;
	runner_opts ro = { .scenario_file = s->base,
			   .output = path,
			   .running = register_sim,
			   .running_ctx = (void *)(intptr_t)thread };
	rc = runner_run(sc, &ro, &sum, err);
	if (!rc)
		runner_summary_free(&sum);
	scenario_clear(sc);
	free(sc);
	if (rc)
		return rc;
	/* the first run of a process checks that every metric exists, so that a
	 * misspelt one stops the sweep now rather than at the merge */
	int check = 0;
#pragma omp atomic capture
	check = c->checked_metrics++;
	if (check == 0) {
		const char *sums[SWEEP_MAX_METRICS];
		double v[SWEEP_MAX_METRICS];
		for (size_t i = 0; i < s->n_metrics; i++)
			sums[i] = s->metrics[i].summary;
		rc = sweepio_run_metrics(path, sums, s->n_metrics, v, err);
		if (rc) {
			fs_error_prefix(err, "%s", s->file);
			return rc;
		}
	}
	/* a log of the runs done, one line each (O_APPEND: whole lines) */
	char logp[1200], line[64];
	snprintf(logp, sizeof logp, "%s/runs.log", c->dir);
	int n = snprintf(line, sizeof line, "p%06u r%03u\n", c->p->points[slot / s->replications].index,
			 (unsigned)(slot % s->replications));
	FILE *f = fopen(logp, "a");
	if (f) {
		fwrite(line, 1, (size_t)n, f);
		fclose(f);
	}
	return 0;
}

static int64_t next_pending(void *ctx)
{
	run_ctx *c = ctx;
	if (g_stop || c->next >= c->n_pending)
		return -1;
	return (int64_t)c->pending[c->next++];
}

static void progress(run_ctx *c, uint64_t slot)
{
	if (c->o->quiet)
		return;
	uint64_t k;
#pragma omp atomic capture
	k = ++c->done_count;
	const sweep_spec *s = c->p->spec;
	fprintf(stderr, "  [%llu/%llu] point %u replication %u  (%.1f s)\n", (unsigned long long)k,
		(unsigned long long)c->n_pending, c->p->points[slot / s->replications].index,
		(unsigned)(slot % s->replications), now_s() - c->wall0);
}

/* Run slots on this process's threads, taking them from get(). */
static int run_pool(run_ctx *c, bool mpi_worker, uint64_t *ran, fs_error *err)
{
	int threads = c->o->threads > 0 ? c->o->threads : 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	int first_rc = 0;
	fs_error first;
	fs_error_clear(&first);
	uint64_t count = 0;
#pragma omp parallel num_threads(threads) reduction(+ : count)
	{
		int tid = 0;
#ifdef _OPENMP
		tid = omp_get_thread_num();
#endif
		int last_rc = -1;
		char last_msg[1000] = "";
		for (;;) {
			int64_t slot;
#pragma omp critical(sweep_next)
			{
				if (mpi_worker)
					slot = par_next(last_rc, last_msg);
				else
					slot = first_rc ? -1 : next_pending(c);
			}
			if (slot < 0)
				break;
			fs_error e;
			fs_error_clear(&e);
			int rc = run_slot(c, (uint64_t)slot, tid, &e);
			last_rc = rc;
			last_msg[0] = '\0';
			if (rc) {
				fs_error_format(&e, last_msg, sizeof last_msg);
#pragma omp critical(sweep_err)
				if (!first_rc || (first_rc == FS_ERR_INTERRUPTED && rc != FS_ERR_INTERRUPTED)) {
					first_rc = rc;
					first = e;
				}
				if (!mpi_worker)
					break;
			} else {
				count++;
				progress(c, (uint64_t)slot);
			}
		}
	}
	*ran = count;
	if (first_rc && err)
		*err = first;
	return first_rc;
}

/* OUT.d: create it, check that it belongs to this sweep, clear stale
 * temporary files of killed runs. */
static int prepare_dir(run_ctx *c, fs_error *err)
{
	if (mkdir(c->dir, 0777) && errno != EEXIST)
		return fs_error_msg(err, FS_ERR_IO, "%s: cannot create: %s", c->dir, strerror(errno));
	char pp[1200];
	snprintf(pp, sizeof pp, "%s/plan", c->dir);
	char want[128];
	snprintf(want, sizeof want, "fingerprint %016llx slots %llu\n",
		 (unsigned long long)c->p->fingerprint, (unsigned long long)c->p->n_slots);
	FILE *f = fopen(pp, "r");
	if (f) {
		char have[128] = "";
		if (!fgets(have, sizeof have, f))
			have[0] = '\0';
		fclose(f);
		if (strcmp(have, want))
			return fs_error_msg(err, FS_ERR_INPUT,
					    "%s holds the runs of a different sweep (the sweep file, "
					    "its base scenario or the catalog changed); remove it or "
					    "write to another -o",
					    c->dir);
	} else {
		char tmp[1300];
		snprintf(tmp, sizeof tmp, "%s.tmp", pp);
		f = fopen(tmp, "w");
		if (!f || fputs(want, f) < 0 || fclose(f) || rename(tmp, pp))
			return fs_error_msg(err, FS_ERR_IO, "%s: cannot write", pp);
	}
	DIR *d = opendir(c->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strstr(e->d_name, ".h5.tmp.")) {
				char q[1400];
				snprintf(q, sizeof q, "%s/%s", c->dir, e->d_name);
				unlink(q);
			}
		closedir(d);
	}
	return 0;
}

typedef struct slot_iter {
	const sweep_plan *p;
	const sweep_opts *o;
	const char *dir;
} slot_iter;

static int slot_of(void *ctx, uint64_t i, sweepio_slot *out)
{
	slot_iter *it = ctx;
	uint32_t n = it->o->n_shards ? it->o->n_shards : 1;
	uint64_t slot = i * n + it->o->shard;
	if (slot >= it->p->n_slots)
		return -1;
	const sweep_point *pt = &it->p->points[slot / it->p->spec->replications];
	out->point = pt->index;
	out->replication = (uint32_t)(slot % it->p->spec->replications);
	out->values = pt->value;
	sweep_slot_path(it->p, it->dir, slot, out->run_file, sizeof out->run_file);
	return 0;
}

static void param_unit(const sweep_plan *p, size_t k, char *buf, size_t n)
{
	const sweep_param *q = &p->spec->params[k];
	if (p->levels[k]) {
		snprintf(buf, n, "level");
		return;
	}
	const char *text = p->n_points ? p->points[0].text[k] : "";
	static const char *const cands[] = { "1", "W", "s", "degC", "K", "1/s", "B", "B/s",
					     "m^3/s", "J", "$", "$/J", "FLOP/s", "kg/s", "m", NULL };
	for (int i = 0; cands[i]; i++) {
		double v;
		if (units_parse(text, cands[i], &v, NULL, 0) == UNITS_OK) {
			snprintf(buf, n, "%s", cands[i]);
			return;
		}
	}
	snprintf(buf, n, "%s", q->unit[0] ? q->unit : "1");
}

int sweep_run(const sweep_plan *p, const sweep_opts *o, sweep_stats *st, fs_error *err)
{
	memset(st, 0, sizeof *st);
	run_ctx c = { .p = p, .o = o, .wall0 = now_s() };
	snprintf(c.dir, sizeof c.dir, "%s.d", o->output);
	uint32_t nsh = o->n_shards ? o->n_shards : 1;
	int rank = o->use_mpi ? par_rank() : 0, size = o->use_mpi ? par_size() : 1;
	g_stop = 0;

	int rc = rank == 0 ? prepare_dir(&c, err) : 0;
	if (size > 1 && par_bcast_int(rc))
		return rank == 0 ? rc : fs_error_msg(err, FS_ERR_RUN, "rank 0 could not start");
	if (rc)
		return rc;

	uint64_t mine = p->n_slots / nsh + (o->shard < p->n_slots % nsh ? 1 : 0);
	st->total = mine;
	if (rank == 0) {
		c.pending = malloc((mine ? mine : 1) * sizeof *c.pending);
		if (!c.pending)
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		for (uint64_t i = 0; i < mine; i++) {
			uint64_t slot = i * nsh + o->shard;
			char path[1200];
			sweep_slot_path(p, c.dir, slot, path, sizeof path);
			if (file_exists(path))
				st->skipped++;
			else
				c.pending[c.n_pending++] = slot;
		}
	}
	if (size > 1) {
		if (rank == 0) {
			char msg[1100] = "";
			rc = par_serve(next_pending, &c, msg, sizeof msg);
			if (rc)
				fs_error_msg(err, rc, "%s", msg);
			st->ran = c.next; /* handed out; each finished or failed */
		} else {
			uint64_t ran = 0;
			rc = run_pool(&c, true, &ran, err);
			st->ran = ran;
		}
		par_barrier();
	} else {
		rc = run_pool(&c, false, &st->ran, err);
	}
	free(c.pending);
	st->wall_s = now_s() - c.wall0;
	if (rc == 0 && g_stop)
		rc = fs_error_msg(err, FS_ERR_INTERRUPTED, "stopped by a signal");
	if (rc) {
		if (rc == FS_ERR_INTERRUPTED)
			fs_error_prefix(err, "sweep interrupted; the finished runs are kept in %s; "
					     "run the same command again to resume",
					c.dir);
		return rc;
	}
	if (rank != 0)
		return 0;

	/* every slot of this process done: write OUT from the run files */
	sweepio_desc d;
	memset(&d, 0, sizeof d);
	const sweep_spec *s = p->spec;
	char units[SWEEP_MAX_PARAMS][32];
	d.name = s->name;
	d.fingerprint = p->fingerprint;
	d.seed = p->seed;
	d.replications = s->replications;
	d.series = s->series == SWEEP_SERIES_KEEP ? SWEEPIO_KEEP
		   : s->series == SWEEP_SERIES_LINK ? SWEEPIO_LINK : SWEEPIO_NONE;
	d.n_params = s->n_params;
	for (size_t k = 0; k < s->n_params; k++) {
		param_unit(p, k, units[k], sizeof units[k]);
		d.param_names[k] = s->params[k].name;
		d.param_keys[k] = s->params[k].key;
		d.param_units[k] = units[k];
		d.levels[k] = p->levels[k];
		d.n_levels[k] = p->n_levels[k];
	}
	d.n_metrics = s->n_metrics;
	for (size_t k = 0; k < s->n_metrics; k++) {
		d.metric_names[k] = s->metrics[k].name;
		d.metric_summaries[k] = s->metrics[k].summary;
	}
	d.n_slots = mine;
	d.rows_expected = p->n_slots;
	d.shard = o->shard;
	d.n_shards = nsh;
	slot_iter it = { p, o, c.dir };
	d.slot = slot_of;
	d.ctx = &it;
	return sweepio_write(&d, o->output, err);
}
