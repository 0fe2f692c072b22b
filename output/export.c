/*
 * export.c - `factorysim export FILE --csv DIR`: a run or sweep file as CSV,
 * for tools that do not read HDF5 (spreadsheets, R without hdf5r, awk).
 *
 * What goes where (DIR is created if needed):
 *   timeseries_GROUP.csv   one per group under /timeseries (site, serving,
 *                          cooling, racks, ...): `time [s]` first, then a
 *                          column per 1-D dataset (`it_power [W]`) and one per
 *                          column of a 2-D dataset (`power[17] [W]`: rack 17)
 *   requests.csv           /requests, every field with its units, plus
 *                          class_name from the `classes` attribute
 *   events.csv             /events
 *   summary.csv            name,value,units,description, name relative to
 *                          /summary (power/pue)
 *   sweep_table.csv        /sweep/table (parameters, metrics; a string-valued
 *                          parameter also as NAME_level)
 *   sweep_points.csv       /sweep/points
 *   scenario_resolved.yaml /scenario/resolved, as text
 * Numbers are written with the fewest digits that read back to the same
 * double (15, else 17 significant digits), NaN as an empty field, and fields
 * with commas or quotes are quoted (RFC 4180).
 */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "cli.h"
#include "h5read.h"

/* --- CSV fields ----------------------------------------------------------------- */

static void put_num(FILE *f, double v)
{
	if (!isfinite(v)) {
		if (isinf(v))
			fputs(v > 0 ? "inf" : "-inf", f);
		return;
	}
	char buf[40];
	snprintf(buf, sizeof buf, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof buf, "%.17g", v);
	fputs(buf, f);
}

static void put_str(FILE *f, const char *s)
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

/* "name [units]", or just the name when there are no units. */
static void put_head(FILE *f, const char *name, const char *units)
{
	char buf[600];
	if (units && *units)
		snprintf(buf, sizeof buf, "%s [%s]", name, units);
	else
		snprintf(buf, sizeof buf, "%s", name);
	put_str(f, buf);
}

/* --- files ------------------------------------------------------------------------- */

typedef struct exporter {
	const char *dir;
	int files;
	int status;
} exporter;

static FILE *open_out(exporter *o, const char *name, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", o->dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		o->status = cli_errorf(1, "%s: cannot create: %s", path, strerror(errno));
	return f;
}

static void close_out(exporter *o, FILE *f, const char *path)
{
	if (ferror(f) | fclose(f)) {
		o->status = cli_errorf(1, "%s: cannot write", path);
		return;
	}
	o->files++;
}

/* mkdir -p */
static int make_dir(const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof buf)
		return cli_errorf(2, "--csv: bad directory name '%s'", dir);
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0777) && errno != EEXIST)
				return cli_errorf(1, "%s: cannot create the directory: %s", buf,
					      strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return cli_errorf(2, "%s: not a directory", dir);
	return 0;
}

/* --- time series --------------------------------------------------------------------- */

/* The group of a series: its parent under /timeseries ("site", "racks/gpu"). */
static void group_of(const char *path, char *buf, size_t n)
{
	const char *rel = path + strlen("/timeseries/");
	const char *slash = strrchr(rel, '/');
	if (!slash)
		snprintf(buf, n, "%s", "");
	else
		snprintf(buf, n, "%.*s", (int)(slash - rel), rel);
}

static void export_timeseries(h5r *f, exporter *o)
{
	h5r_info *ds = NULL;
	size_t n = 0;
	fs_error err;
	int rc = h5r_list(f, "/timeseries", &ds, &n, &err);
	if (rc == H5R_ABSENT || (rc == 0 && n == 0))
		return;
	if (rc) {
		o->status = cli_report(&err);
		return;
	}
	double *time = NULL;
	size_t nt = 0, one;
	rc = h5r_read_doubles(f, "/timeseries/time", &time, &nt, &one, &err);
	if (rc) {
		if (rc == H5R_ABSENT)
			o->status = cli_errorf(2, "%s: /timeseries has no time dataset", h5r_path(f));
		else
			o->status = cli_report(&err);
		h5r_info_free(ds, n);
		return;
	}
	/* one CSV per group, in the (sorted) order the groups first appear */
	for (size_t i = 0; i < n && !o->status; i++) {
		char g[512];
		if (!strcmp(ds[i].path, "/timeseries/time"))
			continue;
		group_of(ds[i].path, g, sizeof g);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++) {
			char gk[512];
			if (strcmp(ds[k].path, "/timeseries/time")) {
				group_of(ds[k].path, gk, sizeof gk);
				seen = !strcmp(gk, g);
			}
		}
		if (seen)
			continue;
		/* the group's datasets */
		size_t m = 0;
		double **data = calloc(n, sizeof *data);
		size_t *idx = calloc(n, sizeof *idx), *rows = calloc(n, sizeof *rows),
		       *cols = calloc(n, sizeof *cols);
		if (!data || !idx || !rows || !cols) {
			o->status = cli_errorf(1, "out of memory");
		}
		for (size_t k = i; k < n && !o->status; k++) {
			char gk[512];
			if (!strcmp(ds[k].path, "/timeseries/time") || !ds[k].numeric)
				continue;
			group_of(ds[k].path, gk, sizeof gk);
			if (strcmp(gk, g))
				continue;
			rc = h5r_read_doubles(f, ds[k].path, &data[m], &rows[m], &cols[m], &err);
			if (rc) {
				o->status = cli_report(&err);
				break;
			}
			idx[m++] = k;
		}
		char name[600], path[4700];
		char gname[512];
		snprintf(gname, sizeof gname, "%s", g[0] ? g : "top");
		for (char *p = gname; *p; p++)
			if (*p == '/')
				*p = '_';
		snprintf(name, sizeof name, "timeseries_%s.csv", gname);
		FILE *out = o->status ? NULL : open_out(o, name, path, sizeof path);
		if (out) {
			put_head(out, "time", "s");
			for (size_t k = 0; k < m; k++) {
				const h5r_info *d = &ds[idx[k]];
				const char *base = strrchr(d->path, '/') + 1;
				if (d->rank <= 1) {
					fputc(',', out);
					put_head(out, base, d->units);
				} else {
					for (size_t c = 0; c < cols[k]; c++) {
						char col[300];
						snprintf(col, sizeof col, "%s[%zu]", base, c);
						fputc(',', out);
						put_head(out, col, d->units);
					}
				}
			}
			fputc('\n', out);
			for (size_t r = 0; r < nt; r++) {
				put_num(out, time[r]);
				for (size_t k = 0; k < m; k++)
					for (size_t c = 0; c < cols[k]; c++) {
						fputc(',', out);
						if (r < rows[k])
							put_num(out, data[k][r * cols[k] + c]);
					}
				fputc('\n', out);
			}
			close_out(o, out, path);
		}
		for (size_t k = 0; k < m; k++)
			free(data[k]);
		free(data);
		free(idx);
		free(rows);
		free(cols);
	}
	free(time);
	h5r_info_free(ds, n);
}

/* --- tables ----------------------------------------------------------------------------- */

/* Units of a field of a sweep table from the parameter/metric attributes. */
static const char *sweep_units(const char *field, char **pn, char **pu, size_t np, char **mn,
			       char **mu, size_t nm)
{
	for (size_t i = 0; i < np; i++)
		if (!strcmp(field, pn[i]))
			return pu ? pu[i] : "";
	for (size_t i = 0; i < nm; i++) {
		size_t len = strlen(mn[i]);
		if (!strncmp(field, mn[i], len) &&
		    (!field[len] || !strcmp(field + len, ".mean") || !strcmp(field + len, ".lo") ||
		     !strcmp(field + len, ".hi")))
			return mu ? mu[i] : "";
	}
	return "";
}

static void export_table(h5r *f, exporter *o, const char *obj, const char *file)
{
	h5r_table t;
	fs_error err;
	int rc = h5r_table_read(f, obj, NULL, 0, &t, &err);
	if (rc == H5R_ABSENT)
		return;
	if (rc) {
		o->status = cli_report(&err);
		return;
	}
	bool sweep = !strncmp(obj, "/sweep/", 7);
	char **pn = NULL, **pu = NULL, **mn = NULL, **mu = NULL, **classes = NULL;
	size_t np = 0, npu = 0, nm = 0, nmu = 0, ncl = 0;
	if (sweep) {
		/* the units live on /sweep/table for both tables */
		h5r_attr_strings(f, "/sweep/table", "parameters", &pn, &np, NULL);
		h5r_attr_strings(f, "/sweep/table", "parameter_units", &pu, &npu, NULL);
		h5r_attr_strings(f, "/sweep/table", "metrics", &mn, &nm, NULL);
		h5r_attr_strings(f, "/sweep/table", "metric_units", &mu, &nmu, NULL);
	}
	bool requests = !strcmp(obj, "/requests");
	if (requests)
		h5r_attr_strings(f, obj, "classes", &classes, &ncl, NULL);
	/* string levels of sweep parameters, one array per column (or NULL) */
	char ***levels = calloc(t.ncols ? t.ncols : 1, sizeof *levels);
	size_t *nlev = calloc(t.ncols ? t.ncols : 1, sizeof *nlev);
	char path[4700];
	FILE *out = levels && nlev ? open_out(o, file, path, sizeof path) : NULL;
	if (!levels || !nlev)
		o->status = cli_errorf(1, "out of memory");
	if (out) {
		for (size_t c = 0; c < t.ncols; c++) {
			const h5r_column *col = &t.cols[c];
			const char *u = col->units;
			if (sweep)
				u = sweep_units(col->name, pn, npu == np ? pu : NULL, np, mn,
						nmu == nm ? mu : NULL, nm);
			/* /events says so in its `units` attribute, not per field */
			if (!strcmp(obj, "/events") && !strcmp(col->name, "time"))
				u = "s";
			if (c)
				fputc(',', out);
			put_head(out, col->name, u);
			if (sweep) {
				char an[300];
				snprintf(an, sizeof an, "levels.%s", col->name);
				if (h5r_attr_strings(f, "/sweep/table", an, &levels[c], &nlev[c], NULL) ==
				    0) {
					fputc(',', out);
					snprintf(an, sizeof an, "%s_level", col->name);
					put_str(out, an);
				}
			}
			if (requests && !strcmp(col->name, "class") && ncl)
				fputs(",class_name", out);
		}
		fputc('\n', out);
		for (size_t r = 0; r < t.nrows; r++) {
			for (size_t c = 0; c < t.ncols; c++) {
				const h5r_column *col = &t.cols[c];
				if (c)
					fputc(',', out);
				switch (col->kind) {
				case H5R_STR: put_str(out, col->s[r]); break;
				case H5R_I64: fprintf(out, "%" PRId64, col->i[r]); break;
				case H5R_U64: fprintf(out, "%" PRIu64, col->u[r]); break;
				default: put_num(out, col->f[r]);
				}
				double v = h5r_col_value(col, r);
				if (levels[c]) {
					fputc(',', out);
					if (v >= 0 && v < (double)nlev[c])
						put_str(out, levels[c][(size_t)v]);
				}
				if (requests && !strcmp(col->name, "class") && ncl) {
					fputc(',', out);
					if (v >= 0 && v < (double)ncl)
						put_str(out, classes[(size_t)v]);
				}
			}
			fputc('\n', out);
		}
		close_out(o, out, path);
	}
	for (size_t c = 0; levels && c < t.ncols; c++)
		h5r_strings_free(levels[c], nlev[c]);
	free(levels);
	free(nlev);
	h5r_strings_free(pn, np);
	h5r_strings_free(pu, npu);
	h5r_strings_free(mn, nm);
	h5r_strings_free(mu, nmu);
	h5r_strings_free(classes, ncl);
	h5r_table_clear(&t);
}

static void export_summary(h5r *f, exporter *o)
{
	h5r_info *ds = NULL;
	size_t n = 0;
	fs_error err;
	int rc = h5r_list(f, "/summary", &ds, &n, &err);
	if (rc == H5R_ABSENT)
		return;
	if (rc) {
		o->status = cli_report(&err);
		return;
	}
	char path[4700];
	FILE *out = open_out(o, "summary.csv", path, sizeof path);
	if (out) {
		fputs("name,value,units,description\n", out);
		for (size_t i = 0; i < n && !o->status; i++) {
			if (!ds[i].numeric || ds[i].rows * ds[i].cols != 1)
				continue;
			double *v;
			size_t r, c;
			if (h5r_read_doubles(f, ds[i].path, &v, &r, &c, &err)) {
				o->status = cli_report(&err);
				break;
			}
			put_str(out, ds[i].path + strlen("/summary/"));
			fputc(',', out);
			put_num(out, v[0]);
			fputc(',', out);
			put_str(out, ds[i].units);
			fputc(',', out);
			put_str(out, ds[i].description);
			fputc('\n', out);
			free(v);
		}
		close_out(o, out, path);
	}
	h5r_info_free(ds, n);
}

static void export_scenario(h5r *f, exporter *o)
{
	char *text = NULL;
	fs_error err;
	int rc = h5r_read_text(f, "/scenario/resolved", &text, &err);
	if (rc == H5R_ABSENT)
		return;
	if (rc) {
		o->status = cli_report(&err);
		return;
	}
	char path[4700];
	FILE *out = open_out(o, "scenario_resolved.yaml", path, sizeof path);
	if (out) {
		fputs(text, out);
		close_out(o, out, path);
	}
	free(text);
}

/* --- the verb ------------------------------------------------------------------------------ */

static int usage(const char *fmt, const char *arg)
{
	fputs("factorysim: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: %s\n", EXPORT_USAGE);
	return 2;
}

int cmd_export(int argc, char **argv)
{
	const char *file = NULL, *dir = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--csv")) {
			if (i + 1 >= argc)
				return usage("option %s needs a directory", a);
			dir = argv[++i];
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
	if (!dir)
		return usage("--csv DIR is required (the only export format for now)%s", "");
	fs_error err;
	fs_error_clear(&err);
	h5r *f = NULL;
	if (h5r_open(file, &f, &err))
		return cli_report(&err);
	if (!h5r_exists(f, "/timeseries/time") && !h5r_exists(f, "/summary") &&
	    !h5r_exists(f, "/sweep") && !h5r_exists(f, "/requests")) {
		h5r_close(f);
		return cli_errorf(2,
			      "%s: nothing to export: no /timeseries/time, /summary, /requests or /sweep "
			      "(not a factorysim run or sweep file)",
			      file);
	}
	int st = make_dir(dir);
	if (st) {
		h5r_close(f);
		return st;
	}
	exporter o = { .dir = dir };
	export_timeseries(f, &o);
	if (!o.status)
		export_table(f, &o, "/requests", "requests.csv");
	if (!o.status)
		export_table(f, &o, "/events", "events.csv");
	if (!o.status)
		export_summary(f, &o);
	if (!o.status)
		export_table(f, &o, "/sweep/table", "sweep_table.csv");
	if (!o.status)
		export_table(f, &o, "/sweep/points", "sweep_points.csv");
	if (!o.status)
		export_scenario(f, &o);
	h5r_close(f);
	if (!o.status)
		fprintf(stderr, "factorysim: wrote %d CSV/YAML file%s to %s\n", o.files,
			o.files == 1 ? "" : "s", dir);
	return o.status;
}
