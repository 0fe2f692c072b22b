/*
 * report.c - `factorysim report FILE -o REPORT.html`: one self-contained HTML
 * page per run or sweep file, with charts drawn as inline SVG by svg.c.
 *
 * Self-contained means a planner can mail the file or open it on an
 * air-gapped machine: no script, no external style sheet, font or image, and
 * nothing fetched.  The page is written under a temporary name and renamed
 * when complete, like the run file itself, and it carries no time stamp, so
 * the same input gives the same bytes.
 *
 * What a run report shows, each chart only when its datasets exist (a note
 * says what is missing otherwise):
 *   - a headline table and the scenario's identity (root attributes);
 *   - site power: IT, chain losses and cooling stacked, facility and grid
 *     draw, the budget in force, grid events and the warm-up shaded;
 *   - output tokens/s and goodput over time;
 *   - temperatures: the GPUs (hottest rack, mean, spread across racks), rack
 *     loop and facility water, ambient, against the GPU throttle and shutdown
 *     temperatures of the catalog and the supply setpoint;
 *   - heatmaps of rack power and GPU temperature [time x rack];
 *   - CDFs of TTFT, TPOT and end-to-end latency per class from /requests,
 *     with each class's SLO;
 *   - events, every /summary value, the resolved scenario.
 * A sweep report shows tokens per MW against each swept parameter with 95 %
 * bands, one line per combination of the other parameters (those tied to the
 * charted one, like a load that grows with the rack count, change along the
 * line instead), the throughput-interactivity frontier with its Pareto points
 * labelled by their parameters, and the best points.
 *
 * Sizes: series are decimated by svg.c to about two points per pixel and
 * heatmaps binned to a few pixels per cell, so the page grows with the number
 * of charts, not with the length of the run or the number of racks.
 */
#include "commands.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "error.h"
#include "cli.h"
#include "h5read.h"
#include "svg.h"
#include "yamltree.h"

#define CHART_W 960
#define CHART_H 340

typedef struct ctx {
	FILE *f;          /* the HTML being written */
	h5r *h;
	const char *path; /* the input file */
	ydoc *doc;        /* the resolved scenario, or NULL */
	double warmup_s;  /* NaN when unknown */
	double *t;        /* /timeseries/time [s] */
	size_t nt;
	int charts;
	int status;       /* first failure: an exit status */
} ctx;

static void esc(ctx *c, const char *s)
{
	svg_escape(c->f, s);
}

/* Escaped, with a line-break opportunity after each _ and . (long metric names). */
static void esc_wrap(ctx *c, const char *s)
{
	for (; *s; s++) {
		char one[2] = { *s, 0 };
		svg_escape(c->f, one);
		if (*s == '_' || *s == '.')
			fputs("<wbr>", c->f);
	}
}

static void note(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(ctx *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fputs("<p class=\"note\">", c->f);
	esc(c, buf);
	fputs("</p>\n", c->f);
}

/* --- the resolved scenario ------------------------------------------------------ */

static const ynode *yget(const ynode *n, const char *key)
{
	if (!n || n->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < n->npairs; i++)
		if (!strcmp(n->pairs[i].key, key))
			return n->pairs[i].value;
	return NULL;
}

/* The leading number of a scalar ("120 s", "35 degC"); resolved quantities are SI. */
static double ynum(const ynode *n)
{
	if (!n || n->kind != YNODE_SCALAR || !n->text)
		return NAN;
	char *end;
	double v = strtod(n->text, &end);
	return end == n->text ? NAN : v;
}

static const ynode *yroot(const ctx *c)
{
	return c->doc ? ydoc_root(c->doc) : NULL;
}

/* The workload item of a class by name, or NULL. */
static const ynode *workload_class(const ctx *c, const char *name)
{
	const ynode *wl = yget(yroot(c), "workload");
	if (!wl || wl->kind != YNODE_SEQ)
		return NULL;
	for (size_t i = 0; i < wl->nitems; i++) {
		const ynode *nm = yget(wl->items[i], "name");
		if (nm && nm->kind == YNODE_SCALAR && nm->text && !strcmp(nm->text, name))
			return wl->items[i];
	}
	return NULL;
}

/* The lowest throttle and shutdown temperatures of the site's GPUs, from the
 * built-in catalog and the scenario's own catalog section.  False when they
 * cannot be known (no scenario, no catalog on this machine). */
static bool gpu_limits(const ctx *c, double *throttle, double *shutdown, char *gpus, size_t n)
{
	const ynode *racks = yget(yroot(c), "racks");
	if (!racks || racks->kind != YNODE_SEQ)
		return false;
	catalog cat = { 0 };
	fs_error err;
	if (catalog_load_builtin(&cat, &err))
		return false;
	ynode *section = (ynode *)yget(yroot(c), "catalog");
	if (section && catalog_apply(&cat, section, &err)) {
		catalog_clear(&cat);
		return false;
	}
	*throttle = *shutdown = INFINITY;
	gpus[0] = '\0';
	for (size_t i = 0; i < racks->nitems; i++) {
		const ynode *type = yget(racks->items[i], "type");
		const rack_spec *r = type && type->text ? catalog_rack(&cat, type->text) : NULL;
		for (int g = 0; r && g < r->n_groups; g++) {
			const gpu_spec *gs = catalog_gpu(&cat, r->groups[g].gpu);
			if (!gs)
				continue;
			*throttle = fmin(*throttle, gs->throttle_c);
			*shutdown = fmin(*shutdown, gs->shutdown_c);
			if (!strstr(gpus, gs->name)) {
				size_t len = strlen(gpus);
				snprintf(gpus + len, n - len, "%s%s", len ? ", " : "", gs->name);
			}
		}
	}
	catalog_clear(&cat);
	return isfinite(*throttle);
}

/* --- reading ------------------------------------------------------------------------- */

/* A 1-D series of nt rows, or NULL (absent, unreadable or of another length). */
static double *series(ctx *c, const char *path, char *units, size_t nunits)
{
	double *v = NULL;
	size_t r, k;
	if (h5r_read_doubles(c->h, path, &v, &r, &k, NULL))
		return NULL;
	if (k != 1 || r != c->nt) {
		free(v);
		return NULL;
	}
	if (units)
		h5r_attr_string(c->h, path, "units", units, nunits, NULL);
	return v;
}

static void range_of(const double *v, size_t n, double *lo, double *hi)
{
	for (size_t i = 0; v && i < n; i++)
		if (isfinite(v[i])) {
			*lo = fmin(*lo, v[i]);
			*hi = fmax(*hi, v[i]);
		}
}

/* --- page ------------------------------------------------------------------------------ */

static const char *STYLE =
	"body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:1000px;margin:24px "
	"auto;padding:0 16px;line-height:1.4}"
	"h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px "
	"solid #ddd;padding-bottom:3px}"
	".meta{color:#555;font-size:13px}.note{color:#8a5a00;font-size:13px}"
	"table{border-collapse:collapse;font-size:13px;margin:8px 0}"
	"th,td{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"th{background:#f4f4f4}figure{margin:18px 0}figcaption{font-size:12.5px;color:#555;"
	"max-width:940px}"
	"svg.chart{display:block;max-width:100%;height:auto}"
	"pre{background:#f7f7f7;padding:10px;font-size:12px;overflow:auto;max-height:480px}"
	"details{margin:10px 0}summary{cursor:pointer;font-weight:bold}"
	".wide{overflow-x:auto;max-width:100%}.wide th{word-break:break-word;min-width:60px}";

static void page_begin(ctx *c, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
	      c->f);
	esc(c, title);
	fprintf(c->f, "</title>\n<style>%s</style>\n</head>\n<body>\n", STYLE);
}

static void page_end(ctx *c)
{
	fputs("<p class=\"meta\">Written by factorysim report from ", c->f);
	esc(c, c->path);
	fputs(". Charts are inline SVG; long series are drawn with the minimum and maximum of "
	      "each pixel column, so no peak is lost.</p>\n</body>\n</html>\n",
	      c->f);
}

/* Start a figure and its chart; false (and nothing written) on failure. */
static bool fig_begin(ctx *c, svg_chart *ch, const char *title, const char *subtitle)
{
	if (svg_chart_init(ch, c->f, CHART_W, CHART_H, title, subtitle)) {
		c->status = cli_errorf(1, "out of memory");
		return false;
	}
	return true;
}

static void fig_end(ctx *c, svg_chart *ch, const char *caption)
{
	fputs("<figure>\n", c->f);
	svg_chart_end(ch);
	if (caption && *caption) {
		fputs("<figcaption>", c->f);
		esc(c, caption);
		fputs("</figcaption>\n", c->f);
	}
	fputs("</figure>\n", c->f);
	c->charts++;
}

/* --- run: header and headline ----------------------------------------------------------- */

static void attr_row(ctx *c, const char *label, const char *name)
{
	char buf[1024];
	double v;
	if (h5r_attr_string(c->h, "/", name, buf, sizeof buf, NULL) != 0) {
		if (h5r_attr_double(c->h, "/", name, &v, NULL) != 0)
			return;
		snprintf(buf, sizeof buf, "%.15g", v);
	}
	fputs("<tr><th>", c->f);
	esc(c, label);
	fputs("</th><td>", c->f);
	esc(c, buf);
	fputs("</td></tr>\n", c->f);
}

typedef struct headline {
	const char *label;
	const char *path;
	bool percent; /* a share shown in % */
} headline;

static const headline HEADLINES[] = {
	{ "output tokens/s", "power/tokens_per_s", false },
	{ "output tokens/s", "serving/all/output_tokens_per_s", false },
	{ "goodput tokens/s", "serving/all/goodput_tokens_per_s", false },
	{ "tokens/s per MW, IT", "power/tokens_per_s_per_mw_it", false },
	{ "tokens/s per MW, facility", "power/tokens_per_s_per_mw_facility", false },
	{ "tokens/s per MW, provisioned", "power/tokens_per_s_per_mw_provisioned", false },
	{ "tokens/s per GPU", "serving/all/tokens_per_s_per_gpu", false },
	{ "tokens/s per user", "serving/all/tokens_per_s_per_user", false },
	{ "energy per token", "power/j_per_token", false },
	{ "PUE", "power/pue", false },
	{ "TTFT p50", "serving/all/ttft_p50", false },
	{ "TTFT p99", "serving/all/ttft_p99", false },
	{ "TPOT p50", "serving/all/tpot_p50", false },
	{ "TPOT p99", "serving/all/tpot_p99", false },
	{ "SLO attainment", "serving/all/slo_attainment", true },
	{ "cost per million tokens", "power/cost_per_million_tokens", false },
	{ "IT power, mean", "power/it_power_mean", false },
	{ "facility power, peak", "power/facility_power_peak", false },
	{ "provisioned power", "power/provisioned_power", false },
	{ "throttled time", "power/cooling/throttled_rack_hours", false },
	{ "hottest GPU", "power/cooling/gpu_temperature_max", false },
	{ "time over budget", "power/over_budget_time", false },
};

static void headline_table(ctx *c)
{
	fputs("<h2>Headline</h2>\n<table>\n", c->f);
	bool had_tokens = false;
	for (size_t i = 0; i < sizeof HEADLINES / sizeof HEADLINES[0]; i++) {
		const headline *h = &HEADLINES[i];
		double v;
		char units[64], val[96];
		if (h5r_summary_get(c->h, h->path, &v, units, sizeof units, NULL))
			continue;
		if (!strcmp(h->label, "output tokens/s")) {
			if (had_tokens)
				continue;
			had_tokens = true;
		}
		if (h->percent && !strcmp(units, "1"))
			snprintf(val, sizeof val, "%.2f %%", 100 * v);
		else if (!strcmp(units, "h") && strstr(h->path, "rack_hours"))
			snprintf(val, sizeof val, "%.3g rack-hours", v);
		else
			svg_format_value(val, sizeof val, v, units, 4);
		fputs("<tr><th>", c->f);
		esc(c, h->label);
		fputs("</th><td class=\"n\">", c->f);
		esc(c, val);
		fputs("</td><td>", c->f);
		char desc[512] = "", path[300];
		snprintf(path, sizeof path, "/summary/%s", h->path);
		h5r_attr_string(c->h, path, "description", desc, sizeof desc, NULL);
		esc(c, desc);
		fputs("</td></tr>\n", c->f);
	}
	fputs("</table>\n", c->f);
}

static void run_header(ctx *c)
{
	char name[256] = "";
	h5r_attr_string(c->h, "/", "scenario_name", name, sizeof name, NULL);
	char title[400];
	snprintf(title, sizeof title, "factorysim run: %s", name[0] ? name : c->path);
	page_begin(c, title);
	fputs("<h1>", c->f);
	esc(c, name[0] ? name : c->path);
	fputs("</h1>\n<p class=\"meta\">", c->f);
	esc(c, c->path);
	fputs("</p>\n<table>\n", c->f);
	attr_row(c, "scenario file", "scenario_file");
	attr_row(c, "seed", "seed");
	attr_row(c, "replication", "replication");
	attr_row(c, "control tick [s]", "tick_s");
	attr_row(c, "GPU figures", "gpu_figures");
	attr_row(c, "program", "program");
	attr_row(c, "version", "version");
	attr_row(c, "git revision", "git_revision");
	const ynode *dur = yget(yroot(c), "duration");
	if (dur && isfinite(ynum(dur))) {
		char buf[160];
		snprintf(buf, sizeof buf, "%.6g h after %.6g s of warm-up", ynum(dur) / 3600,
			 isfinite(c->warmup_s) ? c->warmup_s : 0);
		fprintf(c->f, "<tr><th>simulated</th><td>%s</td></tr>\n", buf);
	}
	fputs("</table>\n", c->f);
	double complete = 1;
	if (h5r_attr_double(c->h, "/", "complete", &complete, NULL) == 0 && complete != 1)
		note(c, "This file is marked incomplete (complete = %g): the run did not finish.",
		     complete);
}

/* --- run: charts ------------------------------------------------------------------------- */

/* Grid events from /events: a notice says "budget to X % for D s from t = S s". */
static void shade_events(ctx *c, svg_chart *ch, bool text)
{
	if (isfinite(c->warmup_s) && c->warmup_s > 0)
		svg_vspan(ch, c->t[0], c->warmup_s, "#888888", 0.10, text ? "warm-up" : NULL,
			  text ? NULL : "warm-up");
	const char *names[] = { "time", "kind", "detail" };
	h5r_table ev;
	if (h5r_table_read(c->h, "/events", names, 3, &ev, NULL))
		return;
	const h5r_column *tm = h5r_table_col(&ev, "time"), *kd = h5r_table_col(&ev, "kind"),
			 *dt = h5r_table_col(&ev, "detail");
	for (size_t r = 0; tm && kd && dt && kd->kind == H5R_STR && dt->kind == H5R_STR &&
			   r < ev.nrows;
	     r++) {
		if (strncmp(kd->s[r], "grid_event", 10) || !strcmp(kd->s[r], "grid_event_end"))
			continue;
		double pct, dur, start;
		char label[64];
		if (sscanf(dt->s[r], "budget to %lf %% for %lf s from t = %lf s", &pct, &dur, &start) ==
		    3) {
			snprintf(label, sizeof label, "grid event: budget %.0f %%", pct);
			svg_vspan(ch, start, start + dur, "#e15759", 0.12, text ? label : NULL,
				  "grid event");
		} else {
			double t0 = h5r_col_value(tm, r);
			svg_vspan(ch, t0, t0, "#e15759", 0.6, text ? kd->s[r] : NULL, "grid event");
		}
	}
	h5r_table_clear(&ev);
}

static void chart_power(ctx *c)
{
	double *it = series(c, "/timeseries/site/it_power", NULL, 0);
	if (!it) {
		fputs("<h2>Site power</h2>\n", c->f);
		note(c, "No /timeseries/site/it_power: this run has no site model.");
		return;
	}
	double *loss = series(c, "/timeseries/site/losses", NULL, 0);
	double *cool = series(c, "/timeseries/site/cooling_power", NULL, 0);
	double *fac = series(c, "/timeseries/site/facility_power", NULL, 0);
	double *grid = series(c, "/timeseries/site/grid_power", NULL, 0);
	double *budget = series(c, "/timeseries/site/budget", NULL, 0);
	double *s1 = malloc(c->nt * sizeof *s1), *s2 = malloc(c->nt * sizeof *s2);
	fputs("<h2>Site power</h2>\n", c->f);
	svg_chart ch;
	if (s1 && s2 && fig_begin(c, &ch, "Site power against the budget",
				  "IT, chain losses and cooling stacked; facility = their sum")) {
		double lo = 0, hi = 0;
		for (size_t i = 0; i < c->nt; i++) {
			s1[i] = it[i] + (loss ? loss[i] : 0);
			s2[i] = s1[i] + (cool ? cool[i] : 0);
		}
		range_of(s2, c->nt, &lo, &hi);
		range_of(fac, c->nt, &lo, &hi);
		range_of(grid, c->nt, &lo, &hi);
		range_of(budget, c->nt, &lo, &hi);
		svg_axis_time(&ch.x, c->t[0], c->t[c->nt - 1], NULL);
		svg_axis_linear(&ch.y, 0, hi * 1.04, "power", "W", true, true);
		shade_events(c, &ch, true);
		svg_band(&ch, c->t, NULL, it, c->nt, "#4e79a7", 0.75, SVG_BAND_MEAN, "IT");
		if (loss)
			svg_band(&ch, c->t, it, s1, c->nt, "#f28e2b", 0.75, SVG_BAND_MEAN,
				 "chain losses");
		if (cool)
			svg_band(&ch, c->t, loss ? s1 : it, s2, c->nt, "#59a14f", 0.75, SVG_BAND_MEAN,
				 "cooling");
		if (fac)
			svg_line(&ch, c->t, fac, c->nt, "#333333", 1.2, NULL, "facility");
		/* the grid draw differs from the facility's only with a battery */
		bool battery = false;
		for (size_t i = 0; grid && fac && i < c->nt && !battery; i++)
			battery = fabs(grid[i] - fac[i]) > 1e-6 * fabs(fac[i]) + 1e-9;
		if (battery)
			svg_line(&ch, c->t, grid, c->nt, "#b07aa1", 1.5, NULL, "grid draw");
		if (budget)
			svg_line(&ch, c->t, budget, c->nt, "#d62728", 2, "6 4", "budget");
		fig_end(c, &ch,
			"Stacked areas are means per pixel column (their area is energy); lines keep "
			"each column's minimum and maximum. The budget is the site power budget in "
			"force, grid events included.");
	}
	free(s1);
	free(s2);
	free(it);
	free(loss);
	free(cool);
	free(fac);
	free(grid);
	free(budget);
}

static void chart_tokens(ctx *c)
{
	double *out = series(c, "/timeseries/serving/output_tokens_per_s", NULL, 0);
	fputs("<h2>Throughput</h2>\n", c->f);
	if (!out) {
		note(c, "No /timeseries/serving/output_tokens_per_s: this run serves no LLM.");
		return;
	}
	double *good = series(c, "/timeseries/serving/goodput_tokens_per_s", NULL, 0);
	svg_chart ch;
	if (fig_begin(c, &ch, "Output tokens per second and goodput",
		      "goodput: tokens of requests that met their class SLOs, counted at finish")) {
		double lo = 0, hi = 0;
		range_of(out, c->nt, &lo, &hi);
		range_of(good, c->nt, &lo, &hi);
		svg_axis_time(&ch.x, c->t[0], c->t[c->nt - 1], NULL);
		svg_axis_linear(&ch.y, 0, hi * 1.04, "tokens per second", "1/s", true, true);
		shade_events(c, &ch, true);
		svg_line(&ch, c->t, out, c->nt, "#4e79a7", 1.6, NULL, "output tokens/s");
		if (good)
			svg_line(&ch, c->t, good, c->nt, "#59a14f", 1.6, NULL, "goodput tokens/s");
		fig_end(c, &ch, "Per control tick.");
	}
	free(out);
	free(good);
}

static void chart_temps(ctx *c)
{
	fputs("<h2>Temperatures</h2>\n", c->f);
	double *gt = NULL;
	size_t rows = 0, cols = 0;
	if (h5r_read_doubles(c->h, "/timeseries/racks/gpu_temperature", &gt, &rows, &cols, NULL) ||
	    rows != c->nt) {
		free(gt);
		gt = NULL;
	}
	struct {
		const char *path, *label, *color;
		double *v;
	} lines[] = {
		{ "/timeseries/cooling/tcs_supply", "rack loop supply (mean)", "#4e79a7", NULL },
		{ "/timeseries/cooling/facility_return", "facility water return", "#b07aa1", NULL },
		{ "/timeseries/cooling/facility_supply", "facility water supply", "#76b7b2", NULL },
		{ "/timeseries/site/ambient_dry_bulb", "ambient dry bulb", "#9c755f", NULL },
	};
	size_t nl = sizeof lines / sizeof lines[0], have = 0;
	for (size_t i = 0; i < nl; i++)
		have += (lines[i].v = series(c, lines[i].path, NULL, 0)) != NULL;
	if (!gt && !have) {
		note(c, "No temperature series: this run has no cooling plant model.");
		return;
	}
	double *tmax = NULL, *tmean = NULL, *tmin = NULL;
	if (gt) {
		tmax = malloc(3 * rows * sizeof *tmax);
		if (tmax) {
			tmean = tmax + rows;
			tmin = tmax + 2 * rows;
			for (size_t i = 0; i < rows; i++) {
				double mx = -INFINITY, mn = INFINITY, s = 0;
				size_t k = 0;
				for (size_t j = 0; j < cols; j++) {
					double v = gt[i * cols + j];
					if (!isfinite(v))
						continue;
					mx = fmax(mx, v);
					mn = fmin(mn, v);
					s += v;
					k++;
				}
				tmax[i] = k ? mx : NAN;
				tmin[i] = k ? mn : NAN;
				tmean[i] = k ? s / (double)k : NAN;
			}
		}
	}
	double throttle = NAN, shutdown = NAN;
	char gpus[200] = "";
	bool limits = gt && gpu_limits(c, &throttle, &shutdown, gpus, sizeof gpus);
	double setpoint = ynum(yget(yget(yroot(c), "cooling"), "supply"));
	svg_chart ch;
	char sub[300];
	snprintf(sub, sizeof sub, "GPUs: hottest rack, mean and spread over %zu racks%s%s", cols,
		 limits ? "; limits of " : "", limits ? gpus : "");
	if (fig_begin(c, &ch, "Temperatures against their limits", gt ? sub : NULL)) {
		double lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < nl; i++)
			range_of(lines[i].v, c->nt, &lo, &hi);
		if (tmax) {
			range_of(tmax, rows, &lo, &hi);
			range_of(tmin, rows, &lo, &hi);
		}
		if (limits) {
			hi = fmax(hi, throttle);
			/* shutdown far above everything else would flatten the chart */
			if (shutdown - hi < 0.5 * (hi - lo))
				hi = fmax(hi, shutdown);
		}
		if (isfinite(setpoint)) {
			lo = fmin(lo, setpoint);
			hi = fmax(hi, setpoint);
		}
		svg_axis_time(&ch.x, c->t[0], c->t[c->nt - 1], NULL);
		svg_axis_linear(&ch.y, lo - 1, hi + 2, "temperature", "degC", true, false);
		/* the limits' labels run along the top: no span labels there */
		shade_events(c, &ch, false);
		if (tmax) {
			svg_band(&ch, c->t, tmin, tmax, rows, "#f28e2b", 0.25, SVG_BAND_ENVELOPE,
				 "GPU range over racks");
			svg_line(&ch, c->t, tmean, rows, "#f28e2b", 1.4, NULL, "GPU, mean over racks");
			svg_line(&ch, c->t, tmax, rows, "#e15759", 1.6, NULL, "GPU, hottest rack");
		}
		for (size_t i = 0; i < nl; i++)
			if (lines[i].v)
				svg_line(&ch, c->t, lines[i].v, c->nt, lines[i].color, 1.4, NULL,
					 lines[i].label);
		char text[96];
		if (limits) {
			snprintf(text, sizeof text, "GPU throttle %.0f °C", throttle);
			svg_hline(&ch, throttle, "#d62728", "6 4", text);
			if (shutdown <= ch.y.hi) {
				snprintf(text, sizeof text, "GPU shutdown %.0f °C", shutdown);
				svg_hline(&ch, shutdown, "#7f0000", "2 3", text);
			}
		}
		if (isfinite(setpoint)) {
			snprintf(text, sizeof text, "supply setpoint %.0f °C", setpoint);
			svg_hline(&ch, setpoint, "#1f4e79", "6 4", text);
		}
		char cap[400] = "";
		if (!limits && gt)
			snprintf(cap, sizeof cap, "GPU limits unknown: no catalog found on this machine, "
						  "or no rack list in the scenario.");
		else if (limits && shutdown > ch.y.hi)
			snprintf(cap, sizeof cap,
				 "The GPU shutdown temperature (%.0f °C) is above the chart.", shutdown);
		fig_end(c, &ch, cap);
	}
	for (size_t i = 0; i < nl; i++)
		free(lines[i].v);
	free(tmax);
	free(gt);
}

static void heatmap(ctx *c, const char *path, const char *title, const char *ztitle, bool use_max)
{
	double *z = NULL;
	size_t rows = 0, cols = 0;
	if (h5r_read_doubles(c->h, path, &z, &rows, &cols, NULL) || rows != c->nt || cols < 1) {
		free(z);
		return;
	}
	char units[32] = "";
	h5r_attr_string(c->h, path, "units", units, sizeof units, NULL);
	double lo = INFINITY, hi = -INFINITY;
	range_of(z, rows * cols, &lo, &hi);
	if (!isfinite(lo)) {
		free(z);
		return;
	}
	double ticks[SVG_MAX_TICKS], step;
	if (hi > lo)
		svg_nice_ticks(&lo, &hi, 5, true, ticks, SVG_MAX_TICKS, &step);
	svg_chart ch;
	char sub[200];
	snprintf(sub, sizeof sub, "%zu racks x %zu ticks; each cell the %s of its racks and ticks",
		 cols, rows, use_max ? "maximum" : "mean");
	if (fig_begin(c, &ch, title, sub)) {
		ch.mr = 118;
		svg_axis_time(&ch.x, c->t[0], c->t[rows - 1] + (rows > 1 ? c->t[1] - c->t[0] : 1), NULL);
		/* a few racks get a labelled row each; many, a numeric axis */
		char names[16][8];
		const char *cats[16];
		if (cols <= 16) {
			for (size_t j = 0; j < cols; j++) {
				snprintf(names[j], sizeof names[j], "%zu", j);
				cats[j] = names[j];
			}
			svg_axis_category(&ch.y, cats, cols, "rack");
		} else {
			svg_axis_linear(&ch.y, 0, (double)cols, "rack index", "", false, true);
		}
		svg_heatmap(&ch, c->t, z, rows, cols, lo, hi, use_max, units, ztitle);
		fig_end(c, &ch, NULL);
	}
	free(z);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

enum { LAT_TTFT, LAT_TPOT, LAT_E2E };

static void chart_cdf(ctx *c, const h5r_table *rq, char **classes, size_t ncl, int which)
{
	const h5r_column *cls = h5r_table_col(rq, "class"), *arr = h5r_table_col(rq, "arrival"),
			 *ft = h5r_table_col(rq, "first_token"), *fin = h5r_table_col(rq, "finish"),
			 *ot = h5r_table_col(rq, "output_tokens");
	if (!cls || !arr || !ft || !fin || !ot)
		return;
	size_t n = rq->nrows, k = ncl ? ncl : 1;
	double *y = malloc((n ? n : 1) * sizeof *y);
	size_t *cnt = calloc(k, sizeof *cnt);
	if (!y || !cnt) {
		free(y);
		free(cnt);
		return;
	}
	double warm = isfinite(c->warmup_s) ? c->warmup_s : -INFINITY;
	/* values grouped by class: count, then fill in place */
	double lo = INFINITY, hi = 0;
	size_t total = 0;
	double *vals = malloc((n ? n : 1) * sizeof *vals);
	size_t *start = calloc(k + 1, sizeof *start);
	if (!vals || !start)
		goto done;
	for (int pass = 0; pass < 2; pass++) {
		size_t *pos = pass ? calloc(k, sizeof *pos) : NULL;
		if (pass && !pos)
			goto done;
		for (size_t r = 0; r < n; r++) {
			double a = h5r_col_value(arr, r), f = h5r_col_value(ft, r),
			       e = h5r_col_value(fin, r), o = h5r_col_value(ot, r);
			size_t ci = (size_t)h5r_col_value(cls, r);
			if (ci >= k || !(a >= warm))
				continue;
			double x = which == LAT_TTFT ? f - a
				   : which == LAT_E2E ? e - a
				   : o > 1 ? (e - f) / (o - 1) : NAN;
			if (!isfinite(x) || x <= 0)
				continue;
			if (!pass) {
				cnt[ci]++;
			} else {
				vals[start[ci] + pos[ci]++] = x;
				lo = fmin(lo, x);
				hi = fmax(hi, x);
			}
		}
		if (!pass)
			for (size_t i = 0; i < k; i++)
				start[i + 1] = start[i] + cnt[i];
		free(pos);
	}
	total = start[k];
	if (!total)
		goto done;
	static const char *const titles[] = { "Time to first token", "Time per output token",
					      "End-to-end latency" };
	static const char *const axes[] = { "TTFT", "TPOT (mean inter-token time of a request)",
					    "end-to-end latency" };
	svg_chart ch;
	char sub[200];
	snprintf(sub, sizeof sub, "CDF per class, %zu requests%s", total,
		 isfinite(c->warmup_s) && c->warmup_s > 0 ? " arriving after the warm-up" : "");
	if (!fig_begin(c, &ch, titles[which], sub))
		goto done;
	/* each class's SLO widens the axis so its line shows */
	double slo[64];
	for (size_t i = 0; i < k && i < 64; i++) {
		slo[i] = NAN;
		if (which == LAT_E2E || !ncl)
			continue;
		const ynode *wl = workload_class(c, classes[i]);
		slo[i] = ynum(yget(yget(wl, "slo"), which == LAT_TTFT ? "ttft" : "tpot"));
		if (isfinite(slo[i]) && slo[i] > 0 && cnt[i]) {
			/* a little room on both sides, so the line is not on the frame */
			lo = fmin(lo, slo[i] / 1.25);
			hi = fmax(hi, slo[i] * 1.25);
		}
	}
	svg_axis_log(&ch.x, lo, hi, axes[which], "s");
	svg_axis_linear(&ch.y, 0, 100, "requests at or below", "%", false, false);
	for (size_t i = 0; i < k; i++) {
		if (!cnt[i])
			continue;
		double *x = vals + start[i];
		qsort(x, cnt[i], sizeof *x, cmp_double);
		for (size_t j = 0; j < cnt[i]; j++)
			y[j] = 100.0 * (double)(j + 1) / (double)cnt[i];
		char label[200];
		snprintf(label, sizeof label, "%s (%zu)", ncl ? classes[i] : "all", cnt[i]);
		svg_line(&ch, x, y, cnt[i], svg_color(i), 1.8, NULL, label);
		if (i < 64 && isfinite(slo[i]) && slo[i] > 0) {
			double sx[2] = { slo[i], slo[i] }, sy[2] = { 0, 100 };
			char sl[200], val[64];
			svg_format_value(val, sizeof val, slo[i], "s", 3);
			snprintf(sl, sizeof sl, "%s SLO %s", classes[i], val);
			svg_line(&ch, sx, sy, 2, svg_color(i), 1.2, "5 4", sl);
		}
	}
	fig_end(c, &ch,
		which == LAT_TPOT ? "TPOT of a request: (finish - first token) / (output tokens - 1); "
				    "requests of one output token have none. Dashed: the class's SLO."
		: which == LAT_TTFT ? "Dashed: the class's SLO target."
				    : "From arrival to the last token.");
done:
	free(vals);
	free(start);
	free(y);
	free(cnt);
}

static void latency_charts(ctx *c)
{
	fputs("<h2>Latency</h2>\n", c->f);
	const char *names[] = { "class", "arrival", "first_token", "finish", "output_tokens" };
	h5r_table rq;
	fs_error err;
	int rc = h5r_table_read(c->h, "/requests", names, 5, &rq, &err);
	if (rc) {
		note(c, "No /requests table%s; no latency distributions.",
		     rc == H5R_ABSENT ? "" : " that can be read");
		return;
	}
	if (rq.nrows == 0) {
		note(c, "/requests is empty (output.requests: 0 %% in the scenario?); no latency "
			"distributions.");
		h5r_table_clear(&rq);
		return;
	}
	char **classes = NULL;
	size_t ncl = 0;
	h5r_attr_strings(c->h, "/requests", "classes", &classes, &ncl, NULL);
	chart_cdf(c, &rq, classes, ncl, LAT_TTFT);
	chart_cdf(c, &rq, classes, ncl, LAT_TPOT);
	chart_cdf(c, &rq, classes, ncl, LAT_E2E);
	h5r_strings_free(classes, ncl);
	h5r_table_clear(&rq);
}

/* --- run: tables -------------------------------------------------------------------------- */

static void events_table(ctx *c)
{
	h5r_table ev;
	if (h5r_table_read(c->h, "/events", NULL, 0, &ev, NULL))
		return;
	fprintf(c->f, "<h2>Events</h2>\n");
	if (!ev.nrows) {
		note(c, "No events: no grid event, trip, fault or thermal excursion.");
		h5r_table_clear(&ev);
		return;
	}
	const size_t max_rows = 300;
	fprintf(c->f, "<details%s><summary>%zu event%s</summary>\n<table>\n<tr>",
		ev.nrows <= 20 ? " open" : "", ev.nrows, ev.nrows == 1 ? "" : "s");
	for (size_t j = 0; j < ev.ncols; j++) {
		fputs("<th>", c->f);
		esc(c, ev.cols[j].name);
		fputs("</th>", c->f);
	}
	fputs("</tr>\n", c->f);
	for (size_t r = 0; r < ev.nrows && r < max_rows; r++) {
		fputs("<tr>", c->f);
		for (size_t j = 0; j < ev.ncols; j++) {
			const h5r_column *col = &ev.cols[j];
			if (col->kind == H5R_STR) {
				fputs("<td>", c->f);
				esc(c, col->s[r]);
			} else {
				char buf[64];
				if (!strcmp(col->name, "time"))
					snprintf(buf, sizeof buf, "%.0f s (%.2f h)", col->f[r],
						 col->f[r] / 3600);
				else
					snprintf(buf, sizeof buf, "%.6g", h5r_col_value(col, r));
				fprintf(c->f, "<td class=\"n\">%s", buf);
			}
			fputs("</td>", c->f);
		}
		fputs("</tr>\n", c->f);
	}
	fputs("</table>\n", c->f);
	if (ev.nrows > max_rows)
		note(c, "The first %zu of %zu events; `factorysim export` writes them all.", max_rows,
		     ev.nrows);
	fputs("</details>\n", c->f);
	h5r_table_clear(&ev);
}

static void summary_table(ctx *c)
{
	h5r_info *ds = NULL;
	size_t n = 0;
	if (h5r_list(c->h, "/summary", &ds, &n, NULL))
		return;
	fprintf(c->f, "<h2>Summary</h2>\n<details><summary>All %zu values in /summary</summary>\n"
		      "<table>\n<tr><th>name</th><th>value</th><th>units</th><th>description</th></tr>\n",
		n);
	for (size_t i = 0; i < n; i++) {
		double *v;
		size_t r, k;
		if (!ds[i].numeric || h5r_read_doubles(c->h, ds[i].path, &v, &r, &k, NULL))
			continue;
		if (r * k == 1) {
			fputs("<tr><td>", c->f);
			esc(c, ds[i].path + strlen("/summary/"));
			fprintf(c->f, "</td><td class=\"n\">%.6g</td><td>", v[0]);
			esc(c, ds[i].units);
			fputs("</td><td>", c->f);
			esc(c, ds[i].description);
			fputs("</td></tr>\n", c->f);
		}
		free(v);
	}
	fputs("</table>\n</details>\n", c->f);
	h5r_info_free(ds, n);
}

static void scenario_text(ctx *c)
{
	char *text = NULL;
	if (h5r_read_text(c->h, "/scenario/resolved", &text, NULL) || !text)
		return;
	fputs("<h2>Scenario</h2>\n<details><summary>The resolved scenario (every default filled "
	      "in, SI units)</summary>\n<pre>",
	      c->f);
	esc(c, text);
	fputs("</pre>\n</details>\n", c->f);
	free(text);
}

static void run_report(ctx *c)
{
	char *text = NULL;
	if (h5r_read_text(c->h, "/scenario/resolved", &text, NULL) == 0 && text) {
		fs_error err;
		if (ydoc_load_string(text, "/scenario/resolved", &c->doc, &err))
			c->doc = NULL;
	}
	free(text);
	c->warmup_s = ynum(yget(yroot(c), "warmup"));
	run_header(c);
	headline_table(c);
	size_t one;
	if (h5r_read_doubles(c->h, "/timeseries/time", &c->t, &c->nt, &one, NULL) || c->nt < 2) {
		fputs("<h2>Time series</h2>\n", c->f);
		note(c, "No /timeseries/time with at least two rows: no time series to draw.");
	} else {
		chart_power(c);
		chart_tokens(c);
		chart_temps(c);
		fputs("<h2>Racks</h2>\n", c->f);
		int before = c->charts;
		heatmap(c, "/timeseries/racks/power", "Rack power", "rack input power", false);
		heatmap(c, "/timeseries/racks/gpu_temperature", "GPU temperature per rack",
			"GPU temperature", true);
		if (c->charts == before)
			note(c, "No /timeseries/racks datasets.");
	}
	latency_charts(c);
	events_table(c);
	summary_table(c);
	scenario_text(c);
	page_end(c);
}

/* --- sweeps -------------------------------------------------------------------------------- */

typedef struct sweep {
	h5r_table pts;          /* /sweep/points */
	char **par, **punits;   /* parameter fields and units */
	size_t np, npu;
	char **met, **munits, **msum;
	size_t nm, nmu, nms;
	char ***levels;         /* per parameter: string levels or NULL */
	size_t *nlev;
	size_t nrows_table;     /* rows of /sweep/table */
	/* the design as the points show it (design_analyse) */
	int *code;              /* [np][nrows]: the row's value among dist (-1: none) */
	double *dist;           /* [np][nrows]: each parameter's distinct values, ascending */
	size_t *nd;             /* [np]: how many */
	bool *tied;             /* [np][np]: tied[x * np + y]: y follows x (one y per x) */
} sweep;

static void sweep_clear(sweep *s)
{
	h5r_table_clear(&s->pts);
	for (size_t p = 0; s->levels && p < s->np; p++)
		h5r_strings_free(s->levels[p], s->nlev[p]);
	free(s->levels);
	free(s->nlev);
	h5r_strings_free(s->par, s->np);
	h5r_strings_free(s->punits, s->npu);
	h5r_strings_free(s->met, s->nm);
	h5r_strings_free(s->munits, s->nmu);
	h5r_strings_free(s->msum, s->nms);
	free(s->code);
	free(s->dist);
	free(s->nd);
	free(s->tied);
}

/* Index of the metric whose name or summary path matches, or -1.  A sweep
 * names a metric given only by its summary path after the path with '/' as
 * '.' ("serving.all.tokens_per_s_per_gpu"); that name is matched too, for
 * files without a metric_summaries attribute. */
static int find_metric(const sweep *s, const char *name, const char *summary)
{
	for (size_t m = 0; m < s->nm; m++)
		if ((name && !strcmp(s->met[m], name)) ||
		    (summary && m < s->nms && s->nms == s->nm && !strcmp(s->msum[m], summary)))
			return (int)m;
	if (!summary)
		return -1;
	char dotted[256];
	snprintf(dotted, sizeof dotted, "%s", summary);
	for (char *q = dotted; *q; q++)
		if (*q == '/')
			*q = '.';
	for (size_t m = 0; m < s->nm; m++)
		if (!strcmp(s->met[m], dotted))
			return (int)m;
	return -1;
}

static const h5r_column *metric_col(const sweep *s, size_t m, const char *stat)
{
	char name[300];
	snprintf(name, sizeof name, "%s.%s", s->met[m], stat);
	return h5r_table_col(&s->pts, name);
}

static const char *munit(const sweep *s, size_t m)
{
	return m < s->nmu && s->nmu == s->nm ? s->munits[m] : "";
}

static const char *punit(const sweep *s, size_t p)
{
	return p < s->npu && s->npu == s->np ? s->punits[p] : "";
}

/* A parameter's value in point row r, as text: the level's name, or the SI
 * value with its unit ("0.6", "12", "4600 /s"). */
static void param_text(const sweep *s, size_t p, size_t r, char *buf, size_t n)
{
	const h5r_column *c = h5r_table_col(&s->pts, s->par[p]);
	double v = c ? h5r_col_value(c, r) : NAN;
	if (s->levels[p] && v >= 0 && (size_t)v < s->nlev[p]) {
		snprintf(buf, n, "%s", s->levels[p][(size_t)v]);
		return;
	}
	const char *u = punit(s, p);
	svg_format_value(buf, n, v, u, 4);
	/* counts drop their unit in svg_format_value ("1/s" -> ""); a parameter keeps it */
	size_t len = strlen(buf);
	if (isfinite(v) && !strncmp(u, "1/", 2))
		snprintf(buf + len, n - len, " %s", u + 1);
	else if (isfinite(v) && (!strncmp(u, "tokens", 6) || !strncmp(u, "requests", 8)))
		snprintf(buf + len, n - len, " %s", u);
}

/* Does parameter y follow x: one value of y for each value of x?  A constant y
 * follows anything.  When no value of x repeats, every y trivially "follows";
 * then only a strictly monotone relation counts (a list tied with `with:`), not
 * the chance pairing of a sampled design (lhs, sobol). */
static bool follows(const sweep *s, size_t x, size_t y)
{
	size_t n = s->pts.nrows;
	if (s->nd[y] <= 1)
		return true;
	if (s->nd[x] == 0)
		return false;
	const int *cx = s->code + x * n, *cy = s->code + y * n;
	int *first = malloc(s->nd[x] * sizeof *first);
	if (!first)
		return false;
	for (size_t i = 0; i < s->nd[x]; i++)
		first[i] = -2;
	bool det = true;
	size_t rows = 0;
	for (size_t r = 0; r < n && det; r++) {
		if (cx[r] < 0)
			continue;
		rows++;
		if (first[cx[r]] == -2)
			first[cx[r]] = cy[r];
		else
			det = first[cx[r]] == cy[r];
	}
	if (det && rows == s->nd[x]) {
		bool up = true, down = true;
		for (size_t i = 0; i < s->nd[x]; i++) {
			if (first[i] < 0)
				up = down = false;
			else if (i) {
				up = up && first[i] > first[i - 1];
				down = down && first[i] < first[i - 1];
			}
		}
		det = up || down;
	}
	free(first);
	return det;
}

/* Codes, distinct values and ties of the parameters.  0, or -1 when out of memory. */
static int design_analyse(sweep *s)
{
	size_t n = s->pts.nrows, np = s->np, n1 = n ? n : 1, np1 = np ? np : 1;
	s->code = malloc(np1 * n1 * sizeof *s->code);
	s->dist = malloc(np1 * n1 * sizeof *s->dist);
	s->nd = calloc(np1, sizeof *s->nd);
	s->tied = calloc(np1 * np1, sizeof *s->tied);
	if (!s->code || !s->dist || !s->nd || !s->tied)
		return -1;
	for (size_t p = 0; p < np; p++) {
		const h5r_column *col = h5r_table_col(&s->pts, s->par[p]);
		double *d = s->dist + p * n;
		size_t k = 0;
		for (size_t r = 0; r < n; r++) {
			double v = col ? h5r_col_value(col, r) : NAN;
			if (isfinite(v))
				d[k++] = v;
		}
		qsort(d, k, sizeof *d, cmp_double);
		size_t u = 0;
		for (size_t i = 0; i < k; i++)
			if (!u || d[i] != d[u - 1])
				d[u++] = d[i];
		s->nd[p] = u;
		for (size_t r = 0; r < n; r++) {
			double v = col ? h5r_col_value(col, r) : NAN;
			const double *hit =
			    isfinite(v) ? bsearch(&v, d, u, sizeof *d, cmp_double) : NULL;
			s->code[p * n + r] = hit ? (int)(hit - d) : -1;
		}
	}
	for (size_t x = 0; x < np; x++)
		for (size_t y = 0; y < np; y++)
			s->tied[x * np + y] = x != y && follows(s, x, y);
	return 0;
}

static bool tied(const sweep *s, size_t x, size_t y)
{
	return s->tied[x * s->np + y];
}

/* Among the parameters r with in[r], one that makes q redundant in a label:
 * q follows r, and r does not follow q, or both follow each other and r comes
 * first.  -1 when q is needed. */
static int redundant_to(const sweep *s, const bool *in, size_t q)
{
	for (size_t r = 0; r < s->np; r++)
		if (r != q && in[r] && tied(s, r, q) && (!tied(s, q, r) || r < q))
			return (int)r;
	return -1;
}

/* The metrics plotted against the parameters: tokens per MW at each meter. */
static size_t tokens_per_mw_metrics(const sweep *s, int *out, size_t cap)
{
	size_t k = 0;
	static const char *const meters[] = { "it", "facility", "provisioned" };
	for (size_t i = 0; i < 3 && k < cap; i++) {
		char sum[128], name[64];
		snprintf(sum, sizeof sum, "power/tokens_per_s_per_mw_%s", meters[i]);
		snprintf(name, sizeof name, "tokens_per_mw_%s", meters[i]);
		int m = find_metric(s, name, sum);
		if (m >= 0)
			out[k++] = m;
	}
	for (size_t m = 0; m < s->nm && k < cap; m++) {
		bool have = false;
		for (size_t j = 0; j < k; j++)
			have = have || out[j] == (int)m;
		if (!have && strstr(s->met[m], "per_mw"))
			out[k++] = (int)m;
	}
	return k;
}

/* The meter of a tokens-per-MW metric: 0 IT, 1 facility, 2 provisioned, -1 unknown. */
static int meter_of(const sweep *s, size_t m)
{
	static const char *const suffix[] = { "_it", "_facility", "_provisioned" };
	const char *key = m < s->nms && s->nms == s->nm ? s->msum[m] : s->met[m];
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(key), sl = strlen(suffix[i]);
		if (len > sl && !strcmp(key + len - sl, suffix[i]))
			return i;
	}
	return -1;
}

/* "per MW of IT power (tokens_per_mw_it)" for power/tokens_per_s_per_mw_it, else the
 * metric's name. */
static void meter_label(const sweep *s, size_t m, char *buf, size_t n)
{
	static const char *const what[] = { "per MW of IT power", "per MW at the facility meter",
					    "per provisioned MW" };
	int i = meter_of(s, m);
	if (i >= 0)
		snprintf(buf, n, "%s (%s)", what[i], s->met[m]);
	else
		snprintf(buf, n, "%s", s->met[m]);
}

/* One line (or set of dots) of a chart against a parameter: metric m at these
 * point rows, ascending in the parameter. */
typedef struct xy_series {
	size_t *rows;
	size_t n;
	int metric;
	char label[160];
} xy_series;

#define SWEEP_MAX_LINES 8

/* A chart of metrics against parameter p, one colour per series.  On a
 * numeric axis a series is a line with its 95 % band (dots only in scatter
 * mode); on a category axis, dots with error bars, side by side per series. */
static void sweep_xy_chart(ctx *c, const sweep *s, size_t p, const char *title, const char *sub,
			   const char *ytitle, const xy_series *ser, size_t nser, bool scatter)
{
	const h5r_table *t = &s->pts;
	const h5r_column *px = h5r_table_col(t, s->par[p]);
	size_t n = t->nrows, nd = s->nd[p];
	const double *dist = s->dist + p * n;
	if (!px || !nd)
		return;
	double *x = malloc(4 * (n ? n : 1) * sizeof *x);
	if (!x)
		return;
	double *y = x + n, *lo = y + n, *hi = lo + n;
	double ylo = 0, yhi = 0;
	for (size_t k = 0; k < nser; k++) {
		const h5r_column *cm = metric_col(s, (size_t)ser[k].metric, "mean"),
				 *ch = metric_col(s, (size_t)ser[k].metric, "hi");
		for (size_t i = 0; i < ser[k].n; i++) {
			if (cm)
				range_of((double[]){ h5r_col_value(cm, ser[k].rows[i]) }, 1, &ylo,
					 &yhi);
			if (ch)
				range_of((double[]){ h5r_col_value(ch, ser[k].rows[i]) }, 1, &ylo,
					 &yhi);
		}
	}
	svg_chart ch;
	if (!fig_begin(c, &ch, title, sub)) {
		free(x);
		return;
	}
	bool cat = s->levels[p] != NULL;
	if (cat) {
		svg_axis_category(&ch.x, (const char *const *)s->levels[p], s->nlev[p], s->par[p]);
	} else {
		double xlo = dist[0], xhi = dist[nd - 1], pad = (xhi - xlo) * 0.05;
		svg_axis_linear(&ch.x, xlo - pad, xhi + pad, s->par[p], punit(s, p), false, false);
		/* a grid's few round values are the ticks (not a sampled design's) */
		bool round_values = nd <= 12 && !scatter;
		for (size_t i = 0; i < nd && round_values; i++) {
			char b[32];
			snprintf(b, sizeof b, "%.4g", dist[i]);
			round_values = strtod(b, NULL) == dist[i];
		}
		if (round_values)
			svg_axis_set_ticks(&ch.x, dist, nd);
	}
	svg_axis_linear(&ch.y, 0, yhi * 1.05, ytitle, "1", true, true);
	/* series side by side on a category, about a tenth of a category apart */
	double spread = nser > 1 ? fmin(0.12, 0.5 / (double)nser) : 0;
	/* lines that run on top of each other (a parameter that changes nothing)
	 * get dash patterns and dots that shrink from the first series to the last,
	 * so each shows as a ring around the next */
	bool overlap = false;
	for (size_t k = 0; !cat && k < nser && !overlap; k++) {
		const h5r_column *ck = metric_col(s, (size_t)ser[k].metric, "mean");
		for (size_t j = k + 1; ck && j < nser && !overlap; j++) {
			const h5r_column *cj = metric_col(s, (size_t)ser[j].metric, "mean");
			for (size_t a = 0; cj && a < ser[k].n && !overlap; a++)
				for (size_t b = 0; b < ser[j].n && !overlap; b++) {
					size_t ra = ser[k].rows[a], rb = ser[j].rows[b];
					overlap = fabs(svg_px(&ch, h5r_col_value(px, ra)) -
						       svg_px(&ch, h5r_col_value(px, rb))) < 4 &&
						  fabs(svg_py(&ch, h5r_col_value(ck, ra)) -
						       svg_py(&ch, h5r_col_value(cj, rb))) < 4;
				}
		}
	}
	static const char *const dashes[] = { NULL, "8 4", "3 3", "12 3 3 3" };
	for (size_t k = 0; k < nser; k++) {
		size_t m = (size_t)ser[k].metric;
		const h5r_column *cm = metric_col(s, m, "mean"), *cl = metric_col(s, m, "lo"),
				 *chh = metric_col(s, m, "hi");
		if (!cm)
			continue;
		double off = cat ? ((double)k - (double)(nser - 1) / 2) * spread : 0;
		for (size_t i = 0; i < ser[k].n; i++) {
			size_t r = ser[k].rows[i];
			x[i] = h5r_col_value(px, r) + off;
			y[i] = h5r_col_value(cm, r);
			lo[i] = cl ? h5r_col_value(cl, r) : NAN;
			hi[i] = chh ? h5r_col_value(chh, r) : NAN;
		}
		const char *col = svg_color(k);
		const char *label = ser[k].label[0] ? ser[k].label : NULL;
		if (cat || scatter) {
			svg_errorbars(&ch, x, lo, hi, ser[k].n, col);
			svg_dots(&ch, x, y, ser[k].n, col, 3.5, false, label);
		} else {
			svg_band(&ch, x, lo, hi, ser[k].n, col, nser > 1 ? 0.12 : 0.18,
				 SVG_BAND_ENVELOPE, NULL);
			double r = overlap && nser <= 4 ? 3.2 + 1.4 * (double)(nser - 1 - k) : 3.5;
			svg_line(&ch, x, y, ser[k].n, col, 1.8, overlap ? dashes[k % 4] : NULL,
				 ser[k].n > 1 ? label : NULL);
			svg_dots(&ch, x, y, ser[k].n, col, r, false, ser[k].n > 1 ? NULL : label);
		}
	}
	fig_end(c, &ch,
		cat || scatter
		    ? "Bars: 95 % Student-t interval of the mean over replications; absent where a "
		      "point has fewer than two."
		: overlap
		    ? "Bands: 95 % Student-t interval of the mean over replications; absent where "
		      "a point has fewer than two.  Lines that run on top of each other are "
		      "dashed, and their dots nested (the first line's the largest)."
		    : "Bands: 95 % Student-t interval of the mean over replications; absent where "
		      "a point has fewer than two.");
	free(x);
}

/* Sort rows by parameter p (insertion sort: a chart's rows are few). */
static void sort_rows_by(const sweep *s, size_t p, size_t *rows, size_t n)
{
	const int *code = s->code + p * s->pts.nrows;
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && code[rows[b]] < code[rows[b - 1]]; b--) {
			size_t tmp = rows[b];
			rows[b] = rows[b - 1];
			rows[b - 1] = tmp;
		}
}

/* Append to buf (of size n, holding a string): printf-style. */
static void cat_printf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cat_printf(char *buf, size_t n, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len + 1 >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, n - len, fmt, ap);
	va_end(ap);
}

/* Names of the parameters q with want[q], as "a", "a and b", "a, b and c". */
static void name_list(const sweep *s, const bool *want, char *buf, size_t n)
{
	size_t total = 0, k = 0;
	for (size_t q = 0; q < s->np; q++)
		total += want[q];
	buf[0] = '\0';
	for (size_t q = 0; q < s->np; q++)
		if (want[q]) {
			const char *sep = k == 0 ? "" : k + 1 == total ? " and " : ", ";
			cat_printf(buf, n, "%s%s", sep, s->par[q]);
			k++;
		}
}

/* The charts of tokens per MW against parameter p: one line per combination
 * of the other parameters that do not follow p (those that do, like a load
 * tied to the rack count, change along the line), one chart per meter when
 * there are several lines; with more than SWEEP_MAX_LINES combinations, the
 * slice through the best point, or every point as a scatter when that slice
 * is a single point. */
static void sweep_param_charts(ctx *c, const sweep *s, size_t p, const int *tm, size_t ntm,
			       size_t best, bool *charted)
{
	size_t n = s->pts.nrows, np = s->np;
	const char *pn = s->par[p];
	if (s->nd[p] <= 1) {
		note(c, "%s takes a single value in this sweep: no chart against it.", pn);
		return;
	}
	for (size_t q = 0; q < p; q++)
		if (charted[q] && tied(s, q, p)) {
			note(c,
			     "No chart against %s: it follows %s (one value of %s for each value "
			     "of %s), so the chart against %s shows it.",
			     pn, s->par[q], pn, s->par[q], s->par[q]);
			return;
		}
	charted[p] = true;
	bool *grp = calloc(np, sizeof *grp), *with = calloc(np, sizeof *with),
	     *lab = calloc(np, sizeof *lab);
	size_t *gof = malloc((n ? n : 1) * sizeof *gof), *rep = malloc((n ? n : 1) * sizeof *rep),
	       *rows = malloc((n ? n : 1) * sizeof *rows);
	xy_series *ser = calloc(SWEEP_MAX_LINES > ntm ? SWEEP_MAX_LINES : ntm, sizeof *ser);
	if (!grp || !with || !lab || !gof || !rep || !rows || !ser) {
		c->status = cli_errorf(1, "out of memory");
		goto done;
	}
	/* grouping parameters; the ones that vary with p; the ones a label needs */
	for (size_t q = 0; q < np; q++) {
		if (q == p || s->nd[q] <= 1)
			continue;
		if (tied(s, p, q))
			with[q] = true;
		else
			grp[q] = true;
	}
	for (size_t q = 0; q < np; q++)
		lab[q] = grp[q] && redundant_to(s, grp, q) < 0;
	/* the groups: rows with the same values of every grouping parameter */
	size_t ng = 0;
	for (size_t r = 0; r < n; r++) {
		gof[r] = SIZE_MAX;
		if (s->code[p * n + r] < 0)
			continue;
		size_t g = 0;
		for (; g < ng; g++) {
			bool same = true;
			for (size_t q = 0; q < np && same; q++)
				same = !grp[q] || s->code[q * n + r] == s->code[q * n + rep[g]];
			if (same)
				break;
		}
		if (g == ng)
			rep[ng++] = r;
		gof[r] = g;
	}
	/* groups in the order of their parameters' values */
	size_t *order = rows; /* scratch: group g is shown as order[g] */
	for (size_t g = 0; g < ng; g++)
		order[g] = g;
	for (size_t a = 1; a < ng; a++)
		for (size_t b = a; b > 0; b--) {
			int d = 0;
			for (size_t q = 0; q < np && !d; q++)
				if (grp[q])
					d = s->code[q * n + rep[order[b]]] -
					    s->code[q * n + rep[order[b - 1]]];
			if (d >= 0)
				break;
			size_t tmp = order[b];
			order[b] = order[b - 1];
			order[b - 1] = tmp;
		}
	size_t biggest = 0;
	for (size_t g = 0; g < ng; g++) {
		size_t k = 0;
		for (size_t r = 0; r < n; r++)
			k += gof[r] == g;
		biggest = k > biggest ? k : biggest;
	}
	char varies[400] = "", names[300];
	size_t nwith = 0;
	for (size_t q = 0; q < np; q++)
		nwith += with[q];
	if (nwith) {
		name_list(s, with, names, sizeof names);
		snprintf(varies, sizeof varies, "%s %s with %s", names,
			 nwith > 1 ? "vary" : "varies", pn);
	}
	char title[300], sub[600], ytitle[120];
	static const char *const meter_title[] = { "per MW of IT power",
						   "per MW at the facility meter",
						   "per provisioned MW" },
				 *const meter_short[] = { "IT", "facility", "provisioned" };
	if (ng >= 2 && ng <= SWEEP_MAX_LINES && biggest >= 2) {
		/* one line per group, one chart per meter */
		char lines[400], follow[400] = "";
		name_list(s, lab, names, sizeof names);
		size_t nlab = 0;
		for (size_t q = 0; q < np; q++)
			nlab += lab[q];
		/* on a category axis the series are dots side by side, not lines */
		snprintf(lines, sizeof lines, "one %s per %s %s", s->levels[p] ? "colour" : "line",
			 nlab > 1 ? "combination of" : "value of", names);
		for (size_t q = 0; q < np; q++) {
			int r = grp[q] && !lab[q] ? redundant_to(s, grp, q) : -1;
			if (r >= 0)
				cat_printf(follow, sizeof follow, "%s%s follows %s",
					   follow[0] ? ", " : "", s->par[q], s->par[r]);
		}
		size_t *cnt = malloc(2 * (ng + 1) * sizeof *cnt);
		size_t *buf = malloc((n ? n : 1) * sizeof *buf);
		if (!cnt || !buf) {
			free(cnt);
			free(buf);
			c->status = cli_errorf(1, "out of memory");
			goto done;
		}
		size_t *off = cnt + ng + 1, used = 0;
		for (size_t k = 0; k < ng; k++) {
			size_t g = order[k];
			off[k] = used;
			for (size_t r = 0; r < n; r++)
				if (gof[r] == g)
					buf[used++] = r;
			cnt[k] = used - off[k];
			sort_rows_by(s, p, buf + off[k], cnt[k]);
		}
		for (size_t j = 0; j < ntm; j++) {
			size_t m = (size_t)tm[j];
			int mi = meter_of(s, m);
			if (mi >= 0) {
				snprintf(title, sizeof title, "Tokens %s against %s",
					 meter_title[mi], pn);
				snprintf(ytitle, sizeof ytitle, "tokens/s per MW (%s)",
					 meter_short[mi]);
			} else {
				snprintf(title, sizeof title, "%s against %s", s->met[m], pn);
				snprintf(ytitle, sizeof ytitle, "%s", s->met[m]);
			}
			snprintf(sub, sizeof sub, "%s%s%s%s%s%s", lines, follow[0] ? " (" : "",
				 follow, follow[0] ? ")" : "", varies[0] ? "; " : "", varies);
			for (size_t k = 0; k < ng; k++) {
				ser[k].rows = buf + off[k];
				ser[k].n = cnt[k];
				ser[k].metric = (int)m;
				ser[k].label[0] = '\0';
				for (size_t q = 0; q < np; q++)
					if (lab[q]) {
						char v[96];
						param_text(s, q, buf[off[k]], v, sizeof v);
						cat_printf(ser[k].label, sizeof ser[k].label,
							   "%s%s = %s", ser[k].label[0] ? ", " : "",
							   s->par[q], v);
					}
			}
			sweep_xy_chart(c, s, p, title, sub, ytitle, ser, ng, false);
		}
		free(cnt);
		free(buf);
		goto done;
	}
	/* one set of rows: the whole sweep (one group), the slice through the best
	 * point, or every point */
	size_t nr = 0;
	bool scatter = false;
	sub[0] = '\0';
	for (size_t r = 0; r < n; r++) {
		bool same = s->code[p * n + r] >= 0;
		for (size_t q = 0; q < np && same; q++)
			same = !grp[q] || s->code[q * n + r] == s->code[q * n + best];
		if (same)
			rows[nr++] = r;
	}
	if (ng <= 1) {
		snprintf(sub, sizeof sub, "mean over replications%s%s", varies[0] ? "; " : "",
			 varies);
	} else if (nr >= 2) {
		snprintf(sub, sizeof sub,
			 "%zu combinations of the other parameters, too many lines: the "
			 "slice through the best point, ",
			 ng);
		for (size_t q = 0, first = 1; q < np; q++)
			if (lab[q]) {
				char v[96];
				param_text(s, q, best, v, sizeof v);
				cat_printf(sub, sizeof sub, "%s%s = %s", first ? "" : ", ",
					   s->par[q], v);
				first = 0;
			}
		if (varies[0])
			cat_printf(sub, sizeof sub, "; %s", varies);
	} else {
		nr = 0;
		for (size_t r = 0; r < n; r++)
			if (s->code[p * n + r] >= 0)
				rows[nr++] = r;
		scatter = true;
		snprintf(sub, sizeof sub,
			 "every point: the other parameters change from point to "
			 "point too (%zu combinations), so no lines",
			 ng);
	}
	sort_rows_by(s, p, rows, nr);
	size_t nser = 0;
	for (size_t j = 0; j < ntm; j++) {
		ser[nser].rows = rows;
		ser[nser].n = nr;
		ser[nser].metric = tm[j];
		meter_label(s, (size_t)tm[j], ser[nser].label, sizeof ser[nser].label);
		nser++;
	}
	int mi = ntm == 1 ? meter_of(s, (size_t)tm[0]) : -1;
	if (mi >= 0) {
		snprintf(title, sizeof title, "Tokens %s against %s", meter_title[mi], pn);
		snprintf(ytitle, sizeof ytitle, "tokens/s per MW (%s)", meter_short[mi]);
	} else {
		snprintf(title, sizeof title, "Tokens per MW against %s", pn);
		snprintf(ytitle, sizeof ytitle, "tokens per second per MW");
	}
	sweep_xy_chart(c, s, p, title, sub, ytitle, ser, nser, scatter);
done:
	free(grp);
	free(with);
	free(lab);
	free(gof);
	free(rep);
	free(rows);
	free(ser);
}

/* A short label of point row r: the parameters a reader needs (not those that
 * follow another), "gpu_cap=0.6, racks=20", or only the values when that is long. */
static void point_label(const sweep *s, const bool *lab, size_t r, bool names, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t q = 0; q < s->np; q++)
		if (lab[q]) {
			char v[96];
			param_text(s, q, r, v, sizeof v);
			if (names)
				cat_printf(buf, n, "%s%s=%s", buf[0] ? ", " : "", s->par[q], v);
			else
				cat_printf(buf, n, "%s%s", buf[0] ? ", " : "", v);
		}
}

static void sweep_frontier(ctx *c, const sweep *s)
{
	const h5r_table *t = &s->pts;
	int mg = find_metric(s, "tokens_per_s_per_gpu", "serving/all/tokens_per_s_per_gpu");
	int mu = find_metric(s, "tokens_per_s_per_user", "serving/all/tokens_per_s_per_user");
	int mtpot = find_metric(s, "tpot_p50", "serving/all/tpot_p50");
	int mtok = find_metric(s, "tokens_per_s", "power/tokens_per_s");
	if (mtok < 0)
		mtok = find_metric(s, "output_tokens_per_s", "serving/all/output_tokens_per_s");
	int mgpus = find_metric(s, "gpus", "serving/gpus");
	fputs("<h2>Throughput and interactivity</h2>\n", c->f);
	char how[400] = "";
	if (mg < 0 && !(mtok >= 0 && mgpus >= 0)) {
		note(c,
		     "No frontier: the sweep has no tokens_per_s_per_gpu metric (summary "
		     "serving/all/tokens_per_s_per_gpu), nor tokens/s and a GPU count to derive it "
		     "from.");
		return;
	}
	if (mu < 0 && mtpot < 0) {
		note(c, "No frontier: the sweep has no tokens_per_s_per_user metric (summary "
			"serving/all/tokens_per_s_per_user), nor a TPOT p50 to derive it from.");
		return;
	}
	if (mg < 0)
		snprintf(how, sizeof how, "tokens/s per GPU = %s / %s. ", s->met[mtok],
			 s->met[mgpus]);
	if (mu < 0)
		snprintf(how + strlen(how), sizeof how - strlen(how),
			 "tokens/s per user = 1 / %s (a request's decode speed). ", s->met[mtpot]);
	size_t n = t->nrows;
	double *gx = malloc(4 * (n ? n : 1) * sizeof *gx);
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	bool *lab = calloc(s->np ? s->np : 1, sizeof *lab), *all = calloc(s->np ? s->np : 1, 1);
	char **texts = calloc(n ? n : 1, sizeof *texts);
	if (!gx || !idx || !lab || !all || !texts) {
		c->status = cli_errorf(1, "out of memory");
		goto done;
	}
	double *gy = gx + n, *px = gy + n, *py = px + n;
	const h5r_column *cg = mg >= 0 ? metric_col(s, (size_t)mg, "mean") : NULL,
			 *cu = mu >= 0 ? metric_col(s, (size_t)mu, "mean") : NULL,
			 *ct = mtok >= 0 ? metric_col(s, (size_t)mtok, "mean") : NULL,
			 *cn = mgpus >= 0 ? metric_col(s, (size_t)mgpus, "mean") : NULL,
			 *cp = mtpot >= 0 ? metric_col(s, (size_t)mtpot, "mean") : NULL;
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	for (size_t r = 0; r < n; r++) {
		gy[r] = cg ? h5r_col_value(cg, r)
			   : (ct && cn ? h5r_col_value(ct, r) / h5r_col_value(cn, r) : NAN);
		gx[r] = cu ? h5r_col_value(cu, r) : (cp ? 1.0 / h5r_col_value(cp, r) : NAN);
		if (!isfinite(gx[r]) || !isfinite(gy[r]))
			gx[r] = gy[r] = NAN;
		range_of(&gx[r], 1, &xlo, &xhi);
		range_of(&gy[r], 1, &ylo, &yhi);
	}
	/* Pareto points: no other point is at least as good on both and better on one */
	size_t np = 0;
	for (size_t r = 0; r < n; r++) {
		if (!isfinite(gx[r]))
			continue;
		bool dominated = false;
		for (size_t q = 0; q < n && !dominated; q++)
			dominated = q != r && isfinite(gx[q]) && gx[q] >= gx[r] && gy[q] >= gy[r] &&
				    (gx[q] > gx[r] || gy[q] > gy[r]);
		if (!dominated)
			idx[np++] = r;
	}
	for (size_t a = 1; a < np; a++)
		for (size_t b = a; b > 0 && gx[idx[b]] < gx[idx[b - 1]]; b--) {
			size_t tmp = idx[b];
			idx[b] = idx[b - 1];
			idx[b - 1] = tmp;
		}
	for (size_t i = 0; i < np; i++) {
		px[i] = gx[idx[i]];
		py[i] = gy[idx[i]];
	}
	/* labels: the parameters that do not follow another one */
	for (size_t q = 0; q < s->np; q++)
		all[q] = s->nd[q] > 1;
	for (size_t q = 0; q < s->np; q++)
		lab[q] = all[q] && redundant_to(s, all, q) < 0;
	bool names = true;
	for (int pass = 0; pass < 2; pass++) {
		size_t longest = 0;
		for (size_t i = 0; i < np; i++) {
			char buf[200];
			point_label(s, lab, idx[i], names, buf, sizeof buf);
			free(texts[i]);
			texts[i] = strdup(buf);
			longest =
			    texts[i] && strlen(texts[i]) > longest ? strlen(texts[i]) : longest;
		}
		if (longest <= 30 || !names)
			break;
		names = false;
	}
	svg_chart ch;
	if (isfinite(xlo) &&
	    fig_begin(c, &ch, "Throughput against interactivity",
		      "each point a design (mean over replications); Pareto points "
		      "highlighted and labelled")) {
		double pad = (xhi - xlo) * 0.06 + 1e-12;
		svg_axis_linear(&ch.x, xlo - pad, xhi + pad, "tokens per second per user", "1/s",
				true, false);
		/* the GPU axis from zero, unless the points differ by less than a quarter: then
		 * zoom */
		bool zoom = ylo > 0 && yhi - ylo < 0.25 * yhi;
		if (zoom) {
			double yp = (yhi - ylo) * 0.15 + fabs(yhi) * 1e-6;
			svg_axis_linear(&ch.y, ylo - yp, yhi + 2 * yp, "tokens per second per GPU",
					"1/s", true, false);
		} else {
			svg_axis_linear(&ch.y, 0, yhi * 1.12, "tokens per second per GPU", "1/s",
					true, true);
		}
		svg_dots(&ch, gx, gy, n, "#9d9d9d", 3.2, false, "design point");
		svg_line(&ch, px, py, np, "#e15759", 1.6, "5 3", NULL);
		svg_dots(&ch, px, py, np, "#e15759", 5, false, "Pareto frontier");
		/* the labels keep clear of every point and of the frontier's line */
		size_t nob = n + (np > 1 ? (np - 1) * 7 : 0), k = 0;
		double *ob = malloc(2 * (nob ? nob : 1) * sizeof *ob);
		for (size_t r = 0; ob && r < n; r++, k++) {
			ob[k] = gx[r];
			ob[nob + k] = gy[r];
		}
		for (size_t i = 0; ob && i + 1 < np; i++)
			for (int j = 1; j <= 7; j++, k++) {
				ob[k] = px[i] + (px[i + 1] - px[i]) * j / 8.0;
				ob[nob + k] = py[i] + (py[i + 1] - py[i]) * j / 8.0;
			}
		if (np <= 20)
			svg_labels(&ch, px, py, (const char *const *)texts, np, ob,
				   ob ? ob + nob : NULL, ob ? nob : 0, 5.5, "#a02020");
		free(ob);
		char cap[800], which[300];
		name_list(s, lab, which, sizeof which);
		snprintf(
		    cap, sizeof cap,
		    "%sUp and to the right is better: more tokens from each GPU while each user "
		    "still sees fast generation.%s%s%s%s",
		    how, np > 20 ? " (Too many Pareto points to label.)" : "",
		    np <= 20 && !names ? " Pareto points are labelled " : "",
		    np <= 20 && !names ? which : "", np <= 20 && !names ? "." : "");
		if (zoom)
			cat_printf(cap, sizeof cap,
				   " The per-GPU axis does not start at zero: the points differ by "
				   "%.1f %% at most.",
				   100 * (yhi - ylo) / yhi);
		fig_end(c, &ch, cap);
	}
done:
	for (size_t i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
	free(lab);
	free(all);
	free(idx);
	free(gx);
}

static void sweep_tables(ctx *c, const sweep *s, const int *tm, size_t ntm)
{
	const h5r_table *t = &s->pts;
	const h5r_column *cn = h5r_table_col(t, "n"), *cpt = h5r_table_col(t, "point");
	int rank_m = ntm ? tm[0] : (s->nm ? 0 : -1);
	size_t *order = malloc((t->nrows ? t->nrows : 1) * sizeof *order);
	if (!order)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		order[r] = r;
	const h5r_column *rk = rank_m >= 0 ? metric_col(s, (size_t)rank_m, "mean") : NULL;
	for (size_t a = 1; rk && a < t->nrows; a++)
		for (size_t b = a; b > 0; b--) {
			double vb = h5r_col_value(rk, order[b]), va = h5r_col_value(rk, order[b - 1]);
			if (!(vb > va || (isfinite(vb) && !isfinite(va))))
				break;
			size_t tmp = order[b];
			order[b] = order[b - 1];
			order[b - 1] = tmp;
		}
	for (int all = 0; all < 2; all++) {
		size_t rows = all ? t->nrows : (t->nrows < 10 ? t->nrows : 10);
		if (all)
			fprintf(c->f, "<details><summary>All %zu points</summary>\n", t->nrows);
		else {
			fputs("<h2>Best points</h2>\n", c->f);
			if (rk)
				note(c, "Ranked by the mean of %s; [lo, hi] is the 95 %% interval.",
				     s->met[rank_m]);
		}
		fputs("<div class=\"wide\"><table>\n<tr><th>point</th>", c->f);
		for (size_t p = 0; p < s->np; p++) {
			fputs("<th>", c->f);
			esc(c, s->par[p]);
			fputs("</th>", c->f);
		}
		fputs("<th>n</th>", c->f);
		for (size_t m = 0; m < s->nm; m++) {
			fputs("<th>", c->f);
			esc_wrap(c, s->met[m]);
			fputs("</th>", c->f);
		}
		fputs("</tr>\n", c->f);
		for (size_t i = 0; i < rows; i++) {
			size_t r = all ? i : order[i];
			fprintf(c->f, "<tr><td class=\"n\">%.0f</td>",
				cpt ? h5r_col_value(cpt, r) : (double)r);
			for (size_t p = 0; p < s->np; p++) {
				char v[96];
				param_text(s, p, r, v, sizeof v);
				fputs("<td class=\"n\">", c->f);
				esc(c, v);
				fputs("</td>", c->f);
			}
			fprintf(c->f, "<td class=\"n\">%.0f</td>", cn ? h5r_col_value(cn, r) : NAN);
			for (size_t m = 0; m < s->nm; m++) {
				const h5r_column *cm = metric_col(s, m, "mean"), *cl = metric_col(s, m, "lo"),
						 *ch = metric_col(s, m, "hi");
				char v[64], l[64], h[64];
				svg_format_value(v, sizeof v, cm ? h5r_col_value(cm, r) : NAN, munit(s, m),
						 4);
				fputs("<td class=\"n\">", c->f);
				esc(c, v);
				double lv = cl ? h5r_col_value(cl, r) : NAN,
				       hv = ch ? h5r_col_value(ch, r) : NAN;
				if (isfinite(lv) && isfinite(hv)) {
					svg_format_value(l, sizeof l, lv, munit(s, m), 3);
					svg_format_value(h, sizeof h, hv, munit(s, m), 3);
					fputs("<br><small>[", c->f);
					esc(c, l);
					fputs(", ", c->f);
					esc(c, h);
					fputs("]</small>", c->f);
				}
				fputs("</td>", c->f);
			}
			fputs("</tr>\n", c->f);
		}
		fputs("</table></div>\n", c->f);
		if (all)
			fputs("</details>\n", c->f);
	}
	free(order);
}

static void sweep_report(ctx *c)
{
	sweep s;
	memset(&s, 0, sizeof s);
	fs_error err;
	int rc = h5r_table_read(c->h, "/sweep/points", NULL, 0, &s.pts, &err);
	if (rc) {
		if (rc == H5R_ABSENT)
			c->status = cli_errorf(2, "%s: a sweep file without /sweep/points", c->path);
		else
			c->status = cli_report(&err);
		return;
	}
	h5r_attr_strings(c->h, "/sweep/table", "parameters", &s.par, &s.np, NULL);
	h5r_attr_strings(c->h, "/sweep/table", "parameter_units", &s.punits, &s.npu, NULL);
	h5r_attr_strings(c->h, "/sweep/table", "metrics", &s.met, &s.nm, NULL);
	h5r_attr_strings(c->h, "/sweep/table", "metric_units", &s.munits, &s.nmu, NULL);
	h5r_attr_strings(c->h, "/sweep/table", "metric_summaries", &s.msum, &s.nms, NULL);
	s.levels = calloc(s.np ? s.np : 1, sizeof *s.levels);
	s.nlev = calloc(s.np ? s.np : 1, sizeof *s.nlev);
	if (!s.levels || !s.nlev) {
		c->status = cli_errorf(1, "out of memory");
		sweep_clear(&s);
		return;
	}
	for (size_t p = 0; p < s.np; p++) {
		char an[300];
		snprintf(an, sizeof an, "levels.%s", s.par[p]);
		h5r_attr_strings(c->h, "/sweep/table", an, &s.levels[p], &s.nlev[p], NULL);
	}
	if (design_analyse(&s)) {
		c->status = cli_errorf(1, "out of memory");
		sweep_clear(&s);
		return;
	}
	h5r_info info;
	if (h5r_info_get(c->h, "/sweep/table", &info, NULL) == 0) {
		s.nrows_table = info.rows;
		h5r_info_clear(&info);
	}
	/* `factorysim sweep` names the sweep in sweep_name */
	char name[256] = "";
	if (h5r_attr_string(c->h, "/", "sweep_name", name, sizeof name, NULL) != 0 || !name[0])
		h5r_attr_string(c->h, "/", "scenario_name", name, sizeof name, NULL);
	char title[400];
	snprintf(title, sizeof title, "factorysim sweep: %s", name[0] ? name : c->path);
	page_begin(c, title);
	fputs("<h1>Sweep ", c->f);
	esc(c, name[0] ? name : c->path);
	fputs("</h1>\n<p class=\"meta\">", c->f);
	esc(c, c->path);
	fprintf(c->f, "</p>\n<table>\n<tr><th>points</th><td>%zu</td></tr>\n"
		      "<tr><th>runs (points x replications)</th><td>%zu</td></tr>\n",
		s.pts.nrows, s.nrows_table);
	for (size_t p = 0; p < s.np; p++) {
		fputs("<tr><th>parameter ", c->f);
		esc(c, s.par[p]);
		fputs("</th><td>", c->f);
		char **keys = NULL;
		size_t nk = 0;
		h5r_attr_strings(c->h, "/sweep/table", "parameter_keys", &keys, &nk, NULL);
		if (p < nk)
			esc(c, keys[p]);
		h5r_strings_free(keys, nk);
		if (s.levels[p]) {
			fputs(": ", c->f);
			for (size_t l = 0; l < s.nlev[p]; l++) {
				if (l)
					fputs(", ", c->f);
				esc(c, s.levels[p][l]);
			}
		} else if (p < s.npu && s.npu == s.np && s.punits[p][0] &&
			   strcmp(s.punits[p], "1")) {
			fputs(" [", c->f);
			esc(c, s.punits[p]);
			fputs("]", c->f);
		}
		/* a list tied to another one (`with:`), as far as the points show */
		for (size_t q = 0; q < s.np && s.nd[p] > 1; q++)
			if (q != p && s.nd[q] > 1 && tied(&s, q, p) && (!tied(&s, p, q) || q < p)) {
				fputs(" (follows ", c->f);
				esc(c, s.par[q]);
				fputs(")", c->f);
				break;
			}
		fputs("</td></tr>\n", c->f);
	}
	attr_row(c, "seed", "seed");
	attr_row(c, "version", "version");
	attr_row(c, "git revision", "git_revision");
	fputs("</table>\n", c->f);
	if (h5r_exists(c->h, "/runs"))
		note(c, "The runs' own series are kept under /runs (open them with h5py, or report "
			"a run file).");
	int tm[8];
	size_t ntm = tokens_per_mw_metrics(&s, tm, 8);
	/* the best point: highest mean of the first tokens-per-MW metric */
	size_t best = 0;
	const h5r_column *rk = ntm ? metric_col(&s, (size_t)tm[0], "mean") : NULL;
	for (size_t r = 1; rk && r < s.pts.nrows; r++)
		if (h5r_col_value(rk, r) > h5r_col_value(rk, best) || !isfinite(h5r_col_value(rk, best)))
			best = r;
	fputs("<h2>Tokens per MW</h2>\n", c->f);
	if (!ntm)
		note(c, "The sweep has no tokens-per-MW metric (summaries "
			"power/tokens_per_s_per_mw_*): nothing to plot against the parameters.");
	else if (!s.pts.nrows)
		note(c, "/sweep/points has no rows.");
	else {
		bool *charted = calloc(s.np ? s.np : 1, sizeof *charted);
		for (size_t p = 0; charted && p < s.np; p++)
			sweep_param_charts(c, &s, p, tm, ntm, best, charted);
		if (!charted)
			c->status = cli_errorf(1, "out of memory");
		free(charted);
	}
	if (s.pts.nrows)
		sweep_frontier(c, &s);
	sweep_tables(c, &s, tm, ntm);
	page_end(c);
	sweep_clear(&s);
}

/* --- the verb ---------------------------------------------------------------------------------- */

static int usage(const char *fmt, const char *arg)
{
	fputs("factorysim: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: %s\n", REPORT_USAGE);
	return 2;
}

int cmd_report(int argc, char **argv)
{
	const char *file = NULL, *out = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-o")) {
			if (i + 1 >= argc || !argv[i + 1][0])
				return usage("option %s needs a file name", a);
			out = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			return usage("unknown option '%s'", a);
		} else if (!file) {
			file = a;
		} else {
			return usage("unexpected argument '%s'", a);
		}
	}
	if (!file)
		return usage("no run or sweep file given%s", "");
	if (!out)
		return usage("-o REPORT.html is required%s", "");
	fs_error err;
	fs_error_clear(&err);
	ctx c = { .path = file, .warmup_s = NAN };
	if (h5r_open(file, &c.h, &err))
		return cli_report(&err);
	bool sweep_file = h5r_is_sweep(c.h);
	if (!sweep_file && !h5r_exists(c.h, "/summary")) {
		h5r_close(c.h);
		return cli_errorf(2,
			      "%s: no /summary group; not a complete factorysim run file (expected "
			      "one written by 'factorysim run', or a sweep file)",
			      file);
	}
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
	c.f = fopen(tmp, "w");
	if (!c.f) {
		h5r_close(c.h);
		return cli_errorf(1, "%s: cannot create: %s", out, strerror(errno));
	}
	h5r_on_fault_remove(tmp);
	if (sweep_file)
		sweep_report(&c);
	else
		run_report(&c);
	bool bad = ferror(c.f) != 0;
	if (fclose(c.f) || bad)
		c.status = c.status ? c.status : cli_errorf(1, "%s: cannot write", out);
	if (!c.status && rename(tmp, out))
		c.status = cli_errorf(1, "%s: cannot rename %s into place: %s", out, tmp, strerror(errno));
	if (c.status)
		remove(tmp);
	else
		fprintf(stderr, "factorysim: wrote %s (%d chart%s)\n", out, c.charts,
			c.charts == 1 ? "" : "s");
	h5r_on_fault_remove(NULL);
	free(c.t);
	if (c.doc)
		ydoc_free(c.doc);
	h5r_close(c.h);
	return c.status;
}
