/*
 * sweepio.c - see sweepio.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <hdf5.h>

#include "h5lock.h"
#include "sweepio.h"

#ifndef FS_VERSION
#define FS_VERSION "0.0.0"
#endif

#define TW_ROWS 1024

static void close_id(hid_t *id, herr_t (*fn)(hid_t))
{
	if (*id >= 0)
		fn(*id);
	*id = H5I_INVALID_HID;
}

static hid_t str_type(void)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
		H5Tclose(t);
		return H5I_INVALID_HID;
	}
	return t;
}

static int attr_str(hid_t obj, const char *name, const char *val)
{
	hid_t t = str_type(), sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
	int rc = -1;
	if (t >= 0 && sp >= 0)
		a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && H5Awrite(a, t, &val) >= 0)
		rc = 0;
	close_id(&a, H5Aclose);
	close_id(&sp, H5Sclose);
	close_id(&t, H5Tclose);
	return rc;
}

static int attr_strs(hid_t obj, const char *name, const char *const *v, size_t n)
{
	hsize_t dim = n;
	hid_t t = str_type(), sp = H5Screate_simple(1, &dim, NULL), a = H5I_INVALID_HID;
	int rc = -1;
	if (t >= 0 && sp >= 0)
		a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && (n == 0 || H5Awrite(a, t, v) >= 0))
		rc = 0;
	close_id(&a, H5Aclose);
	close_id(&sp, H5Sclose);
	close_id(&t, H5Tclose);
	return rc;
}

static int attr_u64(hid_t obj, const char *name, uint64_t v)
{
	hid_t sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
	int rc = -1;
	if (sp >= 0)
		a = H5Acreate2(obj, name, H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && H5Awrite(a, H5T_NATIVE_UINT64, &v) >= 0)
		rc = 0;
	close_id(&a, H5Aclose);
	close_id(&sp, H5Sclose);
	return rc;
}

static int read_attr_u64(hid_t obj, const char *name, uint64_t *v)
{
	if (H5Aexists(obj, name) <= 0)
		return -1;
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	int rc = a >= 0 && H5Aread(a, H5T_NATIVE_UINT64, v) >= 0 ? 0 : -1;
	close_id(&a, H5Aclose);
	return rc;
}

/* A string-array attribute: *out is a malloc'ed array of malloc'ed strings. */
static int read_attr_strs(hid_t obj, const char *name, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (H5Aexists(obj, name) <= 0)
		return -1;
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
	hid_t t = str_type();
	int rc = -1;
	hssize_t cnt = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
	if (cnt >= 0 && t >= 0) {
		char **raw = calloc((size_t)cnt + 1, sizeof *raw);
		char **copy = calloc((size_t)cnt + 1, sizeof *copy);
		if (raw && copy && (cnt == 0 || H5Aread(a, t, raw) >= 0)) {
			rc = 0;
			for (hssize_t i = 0; i < cnt; i++) {
				copy[i] = strdup(raw[i] ? raw[i] : "");
				if (!copy[i])
					rc = -1;
			}
			if (cnt)
				H5Dvlen_reclaim(t, sp, H5P_DEFAULT, raw);
			*out = copy;
			*n = (size_t)cnt;
			copy = NULL;
		}
		free(raw);
		free(copy);
	}
	close_id(&t, H5Tclose);
	close_id(&sp, H5Sclose);
	close_id(&a, H5Aclose);
	return rc;
}

static void free_strs(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int h5err(fs_error *err, const char *file, const char *what)
{
	return fs_error_msg(err, FS_ERR_HDF5, "%s: HDF5 could not %s", file, what);
}

/* --- a buffered compound table ------------------------------------------------------ */

typedef struct table {
	hid_t dset, ftype, mtype;
	size_t row, ncol;     /* bytes per row; float64 columns after the integer ones */
	size_t nint;          /* leading 8-byte integer columns */
	unsigned char *buf;
	size_t nbuf;
	hsize_t rows;
} table;

static int table_create(hid_t parent, const char *name, const char *const *int_cols, size_t nint,
			const hid_t *int_types, const char *const *cols, size_t ncol, table *t)
{
	memset(t, 0, sizeof *t);
	t->dset = t->ftype = t->mtype = H5I_INVALID_HID;
	t->nint = nint;
	t->ncol = ncol;
	t->row = 8 * (nint + ncol);
	t->buf = malloc(t->row * TW_ROWS);
	if (!t->buf)
		return -1;
	t->ftype = H5Tcreate(H5T_COMPOUND, t->row);
	t->mtype = H5Tcreate(H5T_COMPOUND, t->row);
	if (t->ftype < 0 || t->mtype < 0)
		return -1;
	for (size_t i = 0; i < nint; i++) {
		hid_t nt = int_types[i] == H5T_STD_U64LE ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
		if (H5Tinsert(t->ftype, int_cols[i], 8 * i, int_types[i]) < 0 ||
		    H5Tinsert(t->mtype, int_cols[i], 8 * i, nt) < 0)
			return -1;
	}
	for (size_t i = 0; i < ncol; i++)
		if (H5Tinsert(t->ftype, cols[i], 8 * (nint + i), H5T_IEEE_F64LE) < 0 ||
		    H5Tinsert(t->mtype, cols[i], 8 * (nint + i), H5T_NATIVE_DOUBLE) < 0)
			return -1;
	hsize_t dim = 0, maxd = H5S_UNLIMITED, chunk = TW_ROWS;
	hid_t sp = H5Screate_simple(1, &dim, &maxd);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	int rc = -1;
	if (sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, 1, &chunk) >= 0 &&
	    H5Pset_deflate(dcpl, 4) >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0) {
		t->dset = H5Dcreate2(parent, name, t->ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		rc = t->dset >= 0 ? 0 : -1;
	}
	close_id(&dcpl, H5Pclose);
	close_id(&sp, H5Sclose);
	return rc;
}

static int table_flush(table *t)
{
	if (!t->nbuf)
		return 0;
	hsize_t start = t->rows, cnt = t->nbuf, size = t->rows + t->nbuf;
	if (H5Dset_extent(t->dset, &size) < 0)
		return -1;
	hid_t fs = H5Dget_space(t->dset), ms = H5Screate_simple(1, &cnt, NULL);
	int rc = -1;
	if (fs >= 0 && ms >= 0 &&
	    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL) >= 0 &&
	    H5Dwrite(t->dset, t->mtype, ms, fs, H5P_DEFAULT, t->buf) >= 0)
		rc = 0;
	close_id(&ms, H5Sclose);
	close_id(&fs, H5Sclose);
	t->rows = size;
	t->nbuf = 0;
	return rc;
}

static int table_append(table *t, const int64_t *ints, const double *cols)
{
	unsigned char *p = t->buf + t->nbuf * t->row;
	memcpy(p, ints, 8 * t->nint);
	memcpy(p + 8 * t->nint, cols, 8 * t->ncol);
	if (++t->nbuf == TW_ROWS)
		return table_flush(t);
	return 0;
}

static int table_close(table *t)
{
	int rc = t->dset >= 0 ? table_flush(t) : 0;
	close_id(&t->dset, H5Dclose);
	close_id(&t->ftype, H5Tclose);
	close_id(&t->mtype, H5Tclose);
	free(t->buf);
	t->buf = NULL;
	return rc;
}

static int attrs_ud(hid_t obj, const char *units, const char *desc)
{
	return attr_str(obj, "units", units) || attr_str(obj, "description", desc) ? -1 : 0;
}

/* --- reading a run file ------------------------------------------------------------- */

/* Whether every link along an absolute path exists (H5Lexists only checks
 * the last one and fails on a missing parent). */
static int path_exists(hid_t f, const char *path)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *c = buf + 1;; c++) {
		if (*c == '/' || !*c) {
			char save = *c;
			*c = '\0';
			if (H5Lexists(f, buf, H5P_DEFAULT) <= 0)
				return 0;
			if (!save)
				return 1;
			*c = save;
		}
	}
}

static int metrics_unlocked(hid_t f, const char *file, const char *const *summaries, size_t n,
			    double *values, char units[][32], fs_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char path[300];
		snprintf(path, sizeof path, "/summary/%s", summaries[i]);
		if (!path_exists(f, path))
			return fs_error_msg(err, FS_ERR_INPUT,
					    "%s: no summary value '%s' (metrics[%zu]); list a path under "
					    "/summary of a run file, e.g. h5ls -r %s",
					    file, summaries[i], i, file);
		hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
		if (d < 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &values[i]) < 0) {
			close_id(&d, H5Dclose);
			return h5err(err, file, "read a summary value");
		}
		if (units) {
			units[i][0] = '\0';
			if (H5Aexists(d, "units") > 0) {
				hid_t a = H5Aopen(d, "units", H5P_DEFAULT);
				hid_t t = str_type();
				char *s = NULL;
				if (a >= 0 && t >= 0 && H5Aread(a, t, &s) >= 0 && s) {
					snprintf(units[i], 32, "%s", s);
					H5free_memory(s);
				}
				close_id(&t, H5Tclose);
				close_id(&a, H5Aclose);
			}
		}
		H5Dclose(d);
	}
	return 0;
}

static hid_t open_ro(const char *file)
{
	return H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
}

int sweepio_run_metrics(const char *run_file, const char *const *summaries, size_t n,
			double *values, fs_error *err)
{
	fs_h5_lock();
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	hid_t f = open_ro(run_file);
	int rc = f < 0 ? fs_error_msg(err, FS_ERR_IO, "%s: cannot open as HDF5", run_file)
		       : metrics_unlocked(f, run_file, summaries, n, values, NULL, err);
	close_id(&f, H5Fclose);
	fs_h5_unlock();
	return rc;
}

/* --- the per-point summary ------------------------------------------------------------ */

typedef struct pointacc {
	size_t n_params, n_metrics;
	uint32_t cap;
	int have;
	int64_t point;
	double *params;   /* n_params */
	double *vals;     /* cap x n_metrics, replication-major */
	uint32_t n;
	double *tmp, *row;
} pointacc;

static int acc_init(pointacc *a, size_t np, size_t nm, uint32_t reps)
{
	memset(a, 0, sizeof *a);
	a->n_params = np;
	a->n_metrics = nm;
	a->cap = reps ? reps : 1;
	a->params = calloc(np + 1, sizeof(double));
	a->vals = calloc((size_t)a->cap * nm + 1, sizeof(double));
	a->tmp = calloc(a->cap + 1, sizeof(double));
	a->row = calloc(np + 3 * nm + 1, sizeof(double));
	return a->params && a->vals && a->tmp && a->row ? 0 : -1;
}

static void acc_free(pointacc *a)
{
	free(a->params);
	free(a->vals);
	free(a->tmp);
	free(a->row);
}

static int acc_flush(pointacc *a, table *pts)
{
	if (!a->have || !a->n)
		return 0;
	memcpy(a->row, a->params, a->n_params * sizeof(double));
	/* row: params, then per metric mean, lo, hi; the int columns are point, n */
	for (size_t m = 0; m < a->n_metrics; m++) {
		size_t k = 0;
		for (uint32_t r = 0; r < a->n; r++) {
			double v = a->vals[(size_t)r * a->n_metrics + m];
			if (isfinite(v))
				a->tmp[k++] = v;
		}
		double mean = NAN, lo = NAN, hi = NAN;
		if (k) {
			mean = gsl_stats_mean(a->tmp, 1, k);
			if (k >= 2) {
				double half = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) *
					      gsl_stats_sd_m(a->tmp, 1, k, mean) / sqrt((double)k);
				lo = mean - half;
				hi = mean + half;
			}
		}
		double *o = a->row + a->n_params + 3 * m;
		o[0] = mean;
		o[1] = lo;
		o[2] = hi;
	}
	int64_t ints[2] = { a->point, (int64_t)a->n };
	a->n = 0;
	return table_append(pts, ints, a->row);
}

static int acc_add(pointacc *a, table *pts, int64_t point, const double *params, const double *m)
{
	if (a->have && point != a->point && acc_flush(a, pts))
		return -1;
	if (!a->have || point != a->point) {
		a->have = 1;
		a->point = point;
		memcpy(a->params, params, a->n_params * sizeof(double));
		a->n = 0;
	}
	if (a->n == a->cap) {
		double *v = realloc(a->vals, (size_t)2 * a->cap * a->n_metrics * sizeof(double) + 8);
		double *t = realloc(a->tmp, (size_t)2 * a->cap * sizeof(double) + 8);
		if (v)
			a->vals = v;
		if (t)
			a->tmp = t;
		if (!v || !t)
			return -1;
		a->cap *= 2;
	}
	memcpy(a->vals + (size_t)a->n * a->n_metrics, m, a->n_metrics * sizeof(double));
	a->n++;
	return 0;
}

/* --- the output file ------------------------------------------------------------------- */

typedef struct outfile {
	const char *path;
	char tmp[1200];
	hid_t f, g_sweep, g_runs;
	table tab, pts;
	pointacc acc;
	int write_points;
} outfile;

static int out_open(outfile *o, const char *path, const sweepio_desc *d, int write_points,
		    char metric_units[][32], fs_error *err)
{
	memset(o, 0, sizeof *o);
	o->f = o->g_sweep = o->g_runs = H5I_INVALID_HID;
	o->tab.dset = o->pts.dset = H5I_INVALID_HID;
	o->tab.ftype = o->tab.mtype = o->pts.ftype = o->pts.mtype = H5I_INVALID_HID;
	o->path = path;
	o->write_points = write_points;
	snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl >= 0)
		H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18);
	errno = 0;
	o->f = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
	close_id(&fapl, H5Pclose);
	if (o->f < 0)
		return fs_error_msg(err, FS_ERR_IO, "%s: cannot create %s%s%s", path, o->tmp,
				    errno ? ": " : "", errno ? strerror(errno) : "");
	hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
	H5Pset_obj_track_times(gcpl, 0);
	o->g_sweep = H5Gcreate2(o->f, "sweep", H5P_DEFAULT, gcpl, H5P_DEFAULT);
	if (d->series != SWEEPIO_NONE)
		o->g_runs = H5Gcreate2(o->f, "runs", H5P_DEFAULT, gcpl, H5P_DEFAULT);
	close_id(&gcpl, H5Pclose);
	if (o->g_sweep < 0 || (d->series != SWEEPIO_NONE && o->g_runs < 0))
		return h5err(err, path, "create the groups");
	char shard[64];
	snprintf(shard, sizeof shard, "%u/%u", d->shard, d->n_shards);
	char fp[32];
	snprintf(fp, sizeof fp, "%016llx", (unsigned long long)d->fingerprint);
	static const char *const series[] = { "none", "keep", "link" };
	if (attr_str(o->f, "kind", "sweep") || attr_str(o->f, "program", "factorysim") ||
	    attr_str(o->f, "version", FS_VERSION) || attr_str(o->f, "sweep_name", d->name) ||
	    attr_str(o->f, "fingerprint", fp) || attr_str(o->f, "shard", shard) ||
	    attr_str(o->f, "series", series[d->series]) || attr_u64(o->f, "seed", d->seed) ||
	    attr_u64(o->f, "replications", d->replications) ||
	    attr_u64(o->f, "rows_expected", d->rows_expected))
		return h5err(err, path, "write the root attributes");

	/* /sweep/table */
	const char *icols[] = { "point", "replication", "seed" };
	const hid_t itypes[] = { H5T_STD_I64LE, H5T_STD_I64LE, H5T_STD_U64LE };
	const char *cols[128];
	size_t nc = 0;
	for (size_t i = 0; i < d->n_params; i++)
		cols[nc++] = d->param_names[i];
	for (size_t i = 0; i < d->n_metrics; i++)
		cols[nc++] = d->metric_names[i];
	if (table_create(o->g_sweep, "table", icols, 3, itypes, cols, nc, &o->tab))
		return h5err(err, path, "create /sweep/table");
	const char *mu[64];
	for (size_t i = 0; i < d->n_metrics; i++)
		mu[i] = metric_units[i];
	if (attrs_ud(o->tab.dset, "1",
		     "one row per design point x replication: point, replication, seed, the "
		     "parameters (SI; words as level indices), the metrics") ||
	    attr_strs(o->tab.dset, "parameters", d->param_names, d->n_params) ||
	    attr_strs(o->tab.dset, "parameter_keys", d->param_keys, d->n_params) ||
	    attr_strs(o->tab.dset, "parameter_units", d->param_units, d->n_params) ||
	    attr_strs(o->tab.dset, "metrics", d->metric_names, d->n_metrics) ||
	    attr_strs(o->tab.dset, "metric_units", mu, d->n_metrics) ||
	    attr_strs(o->tab.dset, "metric_summaries", d->metric_summaries, d->n_metrics))
		return h5err(err, path, "write /sweep/table attributes");
	for (size_t i = 0; i < d->n_params; i++)
		if (d->levels[i]) {
			char an[128];
			snprintf(an, sizeof an, "levels.%s", d->param_names[i]);
			if (attr_strs(o->tab.dset, an, (const char *const *)d->levels[i],
				      d->n_levels[i]))
				return h5err(err, path, "write the levels");
		}
	if (!write_points)
		return 0;
	/* /sweep/points */
	const char *picols[] = { "point", "n" };
	const hid_t pitypes[] = { H5T_STD_I64LE, H5T_STD_I64LE };
	char names[64 * 3][80];
	const char *pcols[64 + 64 * 3];
	size_t np = 0;
	for (size_t i = 0; i < d->n_params; i++)
		pcols[np++] = d->param_names[i];
	for (size_t i = 0; i < d->n_metrics; i++) {
		static const char *const suf[] = { "mean", "lo", "hi" };
		for (int k = 0; k < 3; k++) {
			snprintf(names[3 * i + (size_t)k], sizeof names[0], "%s.%s", d->metric_names[i],
				 suf[k]);
			pcols[np++] = names[3 * i + (size_t)k];
		}
	}
	if (table_create(o->g_sweep, "points", picols, 2, pitypes, pcols, np, &o->pts) ||
	    acc_init(&o->acc, d->n_params, d->n_metrics, d->replications))
		return h5err(err, path, "create /sweep/points");
	if (attrs_ud(o->pts.dset, "1",
		     "one row per design point: the parameters, n replications, and per metric "
		     "the mean with a 95 % Student-t confidence interval (lo, hi; NaN when n < 2)") ||
	    attr_strs(o->pts.dset, "parameters", d->param_names, d->n_params) ||
	    attr_strs(o->pts.dset, "metrics", d->metric_names, d->n_metrics) ||
	    attr_strs(o->pts.dset, "metric_units", mu, d->n_metrics))
		return h5err(err, path, "write /sweep/points attributes");
	return 0;
}

static int out_row(outfile *o, int64_t point, int64_t rep, uint64_t seed, const double *params,
		   size_t np, const double *metrics, size_t nm)
{
	int64_t ints[3] = { point, rep, (int64_t)seed };
	double row[128];
	memcpy(row, params, np * sizeof(double));
	memcpy(row + np, metrics, nm * sizeof(double));
	if (table_append(&o->tab, ints, row))
		return -1;
	return o->write_points ? acc_add(&o->acc, &o->pts, point, params, metrics) : 0;
}

static int sync_path(const char *p)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Close; on success rename the temporary file into place. */
static int out_close(outfile *o, int ok, fs_error *err)
{
	int rc = ok ? 0 : -1;
	if (o->write_points) {
		if (rc == 0 && acc_flush(&o->acc, &o->pts))
			rc = -1;
		acc_free(&o->acc);
		if (table_close(&o->pts))
			rc = -1;
	}
	if (table_close(&o->tab))
		rc = -1;
	close_id(&o->g_runs, H5Gclose);
	close_id(&o->g_sweep, H5Gclose);
	if (o->f >= 0 && H5Fclose(o->f) < 0)
		rc = -1;
	o->f = H5I_INVALID_HID;
	if (!ok) {
		unlink(o->tmp);
		return err && err->code ? err->code : FS_ERR_HDF5;
	}
	if (rc)
		h5err(err, o->path, "write the sweep file");
	else if (sync_path(o->tmp) || rename(o->tmp, o->path))
		rc = fs_error_msg(err, FS_ERR_IO, "%s: cannot move %s into place: %s", o->path,
				  o->tmp, strerror(errno));
	if (rc)
		unlink(o->tmp);
	return rc ? (err && err->code ? err->code : FS_ERR_IO) : 0;
}

/* The run file's groups under /runs/NAME (keep), or a link to it (link). */
static herr_t copy_child(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
	(void)info;
	hid_t dst = *(hid_t *)data;
	return H5Ocopy(g, name, dst, name, H5P_DEFAULT, H5P_DEFAULT) < 0 ? -1 : 0;
}

/* A path for an external link: relative to the directory of out when target
 * lies below it, else absolute. */
static void link_target(const char *out, const char *target, char *buf, size_t n)
{
	char od[PATH_MAX], tr[PATH_MAX];
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", out);
	char *slash = strrchr(tmp, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(tmp, sizeof tmp, ".");
	if (!realpath(tmp, od) || !realpath(target, tr)) {
		snprintf(buf, n, "%s", target);
		return;
	}
	size_t l = strlen(od);
	if (!strncmp(tr, od, l) && tr[l] == '/')
		snprintf(buf, n, "%s", tr + l + 1);
	else
		snprintf(buf, n, "%s", tr);
}

static int out_run(outfile *o, int series, const char *run_name, const char *run_file,
		   fs_error *err)
{
	if (series == SWEEPIO_LINK) {
		char tgt[PATH_MAX];
		link_target(o->path, run_file, tgt, sizeof tgt);
		if (H5Lcreate_external(tgt, "/", o->g_runs, run_name, H5P_DEFAULT, H5P_DEFAULT) < 0)
			return h5err(err, o->path, "create an external link");
		return 0;
	}
	hid_t src = open_ro(run_file);
	if (src < 0)
		return fs_error_msg(err, FS_ERR_IO, "%s: cannot open as HDF5", run_file);
	hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
	H5Pset_obj_track_times(gcpl, 0);
	hid_t g = H5Gcreate2(o->g_runs, run_name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
	close_id(&gcpl, H5Pclose);
	int rc = 0;
	if (g < 0 || H5Literate(src, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_child, &g) < 0 ||
	    attr_str(g, "run_file", run_file))
		rc = h5err(err, o->path, "copy a run's groups");
	close_id(&g, H5Gclose);
	H5Fclose(src);
	return rc;
}

static int write_unlocked(const sweepio_desc *d, const char *out, fs_error *err)
{
	/* metric units from the first run file */
	char units[64][32];
	for (size_t i = 0; i < d->n_metrics; i++)
		snprintf(units[i], 32, "1");
	double vals[64];
	sweepio_slot s;
	if (d->n_slots) {
		if (d->slot(d->ctx, 0, &s))
			return fs_error_msg(err, FS_ERR_INTERNAL, "sweep slot 0 unavailable");
		hid_t f = open_ro(s.run_file);
		if (f < 0)
			return fs_error_msg(err, FS_ERR_IO, "%s: cannot open as HDF5", s.run_file);
		int rc = metrics_unlocked(f, s.run_file, d->metric_summaries, d->n_metrics, vals,
					  units, err);
		H5Fclose(f);
		if (rc)
			return rc;
	}
	outfile o;
	int rc = out_open(&o, out, d, d->n_shards <= 1, units, err);
	for (uint64_t i = 0; i < d->n_slots && !rc; i++) {
		if (d->slot(d->ctx, i, &s)) {
			rc = fs_error_msg(err, FS_ERR_INTERNAL, "sweep slot %llu unavailable",
					  (unsigned long long)i);
			break;
		}
		hid_t f = open_ro(s.run_file);
		if (f < 0) {
			rc = fs_error_msg(err, FS_ERR_IO, "%s: cannot open as HDF5", s.run_file);
			break;
		}
		rc = metrics_unlocked(f, s.run_file, d->metric_summaries, d->n_metrics, vals, NULL,
				      err);
		H5Fclose(f);
		if (!rc && out_row(&o, s.point, s.replication, d->seed, s.values, d->n_params, vals,
				   d->n_metrics))
			rc = h5err(err, out, "append a row");
		if (!rc && d->series != SWEEPIO_NONE) {
			char name[64];
			snprintf(name, sizeof name, "p%06u_r%03u", s.point, s.replication);
			rc = out_run(&o, d->series, name, s.run_file, err);
		}
	}
	return out_close(&o, !rc, err);
}

int sweepio_write(const sweepio_desc *d, const char *out, fs_error *err)
{
	fs_h5_lock();
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	int rc = write_unlocked(d, out, err);
	fs_h5_unlock();
	return rc;
}

/* --- merge ----------------------------------------------------------------------------- */

typedef struct shard_in {
	const char *path;
	hid_t f, dset, mtype, runs;
	hsize_t rows, next, nbuf, pos;
	unsigned char *buf;
	size_t row;
} shard_in;

typedef struct merge_meta {
	char **params, **keys, **punits, **metrics, **munits, **msums;
	size_t np, nk, npu, nm, nmu, nms;
	char **levels[64];
	size_t n_levels[64];
	char *name, *fingerprint, *series;
	uint64_t seed, reps, expected;
} merge_meta;

static void meta_free(merge_meta *m)
{
	free_strs(m->params, m->np);
	free_strs(m->keys, m->nk);
	free_strs(m->punits, m->npu);
	free_strs(m->metrics, m->nm);
	free_strs(m->munits, m->nmu);
	free_strs(m->msums, m->nms);
	for (int i = 0; i < 64; i++)
		free_strs(m->levels[i], m->n_levels[i]);
	free(m->name);
	free(m->fingerprint);
	free(m->series);
	memset(m, 0, sizeof *m);
}

static char *read_attr_str(hid_t obj, const char *name)
{
	if (H5Aexists(obj, name) <= 0)
		return NULL;
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	hid_t t = str_type();
	char *s = NULL, *copy = NULL;
	if (a >= 0 && t >= 0 && H5Aread(a, t, &s) >= 0 && s) {
		copy = strdup(s);
		H5free_memory(s);
	}
	close_id(&t, H5Tclose);
	close_id(&a, H5Aclose);
	return copy;
}

static int read_meta(hid_t f, hid_t dset, const char *path, merge_meta *m, fs_error *err)
{
	memset(m, 0, sizeof *m);
	char *kind = read_attr_str(f, "kind");
	int is_sweep = kind && !strcmp(kind, "sweep");
	free(kind);
	if (!is_sweep || dset < 0)
		return fs_error_msg(err, FS_ERR_INPUT, "%s: not a sweep file (no kind=sweep "
						       "attribute or no /sweep/table)", path);
	m->name = read_attr_str(f, "sweep_name");
	m->fingerprint = read_attr_str(f, "fingerprint");
	m->series = read_attr_str(f, "series");
	if (!m->name || !m->fingerprint || !m->series || read_attr_u64(f, "seed", &m->seed) ||
	    read_attr_u64(f, "replications", &m->reps) ||
	    read_attr_u64(f, "rows_expected", &m->expected) ||
	    read_attr_strs(dset, "parameters", &m->params, &m->np) ||
	    read_attr_strs(dset, "parameter_keys", &m->keys, &m->nk) ||
	    read_attr_strs(dset, "parameter_units", &m->punits, &m->npu) ||
	    read_attr_strs(dset, "metrics", &m->metrics, &m->nm) ||
	    read_attr_strs(dset, "metric_units", &m->munits, &m->nmu) ||
	    read_attr_strs(dset, "metric_summaries", &m->msums, &m->nms) || m->np > 64 ||
	    m->nm > 64 || m->nk != m->np || m->npu != m->np || m->nmu != m->nm || m->nms != m->nm)
		return fs_error_msg(err, FS_ERR_INPUT, "%s: the sweep attributes are missing or "
						       "inconsistent", path);
	for (size_t i = 0; i < m->np; i++) {
		char an[128];
		snprintf(an, sizeof an, "levels.%s", m->params[i]);
		if (H5Aexists(dset, an) > 0)
			read_attr_strs(dset, an, &m->levels[i], &m->n_levels[i]);
	}
	return 0;
}

static int shard_fill(shard_in *s)
{
	if (s->pos < s->nbuf)
		return 0;
	hsize_t cnt = s->rows - s->next < TW_ROWS ? s->rows - s->next : TW_ROWS;
	s->pos = s->nbuf = 0;
	if (!cnt)
		return 0;
	hid_t fs = H5Dget_space(s->dset), ms = H5Screate_simple(1, &cnt, NULL);
	int rc = -1;
	if (fs >= 0 && ms >= 0 &&
	    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &s->next, NULL, &cnt, NULL) >= 0 &&
	    H5Dread(s->dset, s->mtype, ms, fs, H5P_DEFAULT, s->buf) >= 0)
		rc = 0;
	close_id(&ms, H5Sclose);
	close_id(&fs, H5Sclose);
	s->next += cnt;
	s->nbuf = cnt;
	return rc;
}

static const unsigned char *shard_head(shard_in *s)
{
	return s->pos < s->nbuf ? s->buf + s->pos * s->row : NULL;
}

static int copy_run(outfile *o, shard_in *s, const char *name, fs_error *err)
{
	H5L_info_t li;
	if (s->runs < 0 || H5Lget_info(s->runs, name, &li, H5P_DEFAULT) < 0)
		return fs_error_msg(err, FS_ERR_INPUT, "%s: /runs/%s is missing", s->path, name);
	if (li.type == H5L_TYPE_EXTERNAL) {
		char val[PATH_MAX + 64];
		const char *file = NULL, *obj = NULL;
		unsigned flags;
		if (li.u.val_size > sizeof val ||
		    H5Lget_val(s->runs, name, val, sizeof val, H5P_DEFAULT) < 0 ||
		    H5Lunpack_elink_val(val, li.u.val_size, &flags, &file, &obj) < 0)
			return h5err(err, s->path, "read an external link");
		/* relative targets are relative to the shard's directory */
		char full[PATH_MAX];
		if (file[0] == '/') {
			snprintf(full, sizeof full, "%s", file);
		} else {
			char dir[PATH_MAX];
			snprintf(dir, sizeof dir, "%s", s->path);
			char *sl = strrchr(dir, '/');
			if (sl) {
				*sl = '\0';
				snprintf(full, sizeof full, "%.2000s/%.2000s", dir, file);
			} else {
				snprintf(full, sizeof full, "%s", file);
			}
		}
		char tgt[PATH_MAX];
		link_target(o->path, full, tgt, sizeof tgt);
		if (H5Lcreate_external(tgt, obj, o->g_runs, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
			return h5err(err, o->path, "create an external link");
		return 0;
	}
	if (H5Ocopy(s->runs, name, o->g_runs, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
		return h5err(err, o->path, "copy a run group");
	return 0;
}

static int merge_unlocked(const char *const *paths, size_t n, const char *out, uint64_t *rows,
			  uint64_t *expected, fs_error *err)
{
	shard_in *sh = calloc(n, sizeof *sh);
	merge_meta meta, other;
	memset(&meta, 0, sizeof meta);
	memset(&other, 0, sizeof other);
	if (!sh)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		sh[i].f = sh[i].dset = sh[i].mtype = sh[i].runs = H5I_INVALID_HID;
	for (size_t i = 0; i < n && !rc; i++) {
		shard_in *s = &sh[i];
		s->path = paths[i];
		s->f = open_ro(paths[i]);
		if (s->f < 0) {
			rc = fs_error_msg(err, FS_ERR_INPUT, "%s: cannot open as HDF5", paths[i]);
			break;
		}
		s->dset = path_exists(s->f, "/sweep/table") ? H5Dopen2(s->f, "/sweep/table", H5P_DEFAULT)
							    : H5I_INVALID_HID;
		merge_meta *m = i == 0 ? &meta : &other;
		rc = read_meta(s->f, s->dset, paths[i], m, err);
		if (!rc && i > 0) {
			if (strcmp(other.fingerprint, meta.fingerprint))
				rc = fs_error_msg(err, FS_ERR_INPUT,
						  "%s: a shard of another sweep (fingerprint %s; %s has "
						  "%s); merge only the shards of one sweep",
						  paths[i], other.fingerprint, paths[0], meta.fingerprint);
			meta_free(&other);
		}
		if (rc)
			break;
		hid_t sp = H5Dget_space(s->dset);
		hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
		close_id(&sp, H5Sclose);
		s->rows = np > 0 ? (hsize_t)np : 0;
		s->row = 8 * (3 + meta.np + meta.nm);
		s->buf = malloc(s->row * TW_ROWS);
		s->mtype = H5Tcreate(H5T_COMPOUND, s->row);
		if (!s->buf || s->mtype < 0) {
			rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
			break;
		}
		H5Tinsert(s->mtype, "point", 0, H5T_NATIVE_INT64);
		H5Tinsert(s->mtype, "replication", 8, H5T_NATIVE_INT64);
		H5Tinsert(s->mtype, "seed", 16, H5T_NATIVE_UINT64);
		for (size_t k = 0; k < meta.np; k++)
			H5Tinsert(s->mtype, meta.params[k], 8 * (3 + k), H5T_NATIVE_DOUBLE);
		for (size_t k = 0; k < meta.nm; k++)
			H5Tinsert(s->mtype, meta.metrics[k], 8 * (3 + meta.np + k), H5T_NATIVE_DOUBLE);
		if (path_exists(s->f, "/runs"))
			s->runs = H5Gopen2(s->f, "/runs", H5P_DEFAULT);
		if (shard_fill(s))
			rc = h5err(err, paths[i], "read /sweep/table");
	}
	outfile o;
	memset(&o, 0, sizeof o);
	o.f = H5I_INVALID_HID;
	int opened = 0;
	if (!rc) {
		sweepio_desc d;
		memset(&d, 0, sizeof d);
		d.name = meta.name;
		sscanf(meta.fingerprint, "%llx", (unsigned long long *)&d.fingerprint);
		d.seed = meta.seed;
		d.replications = (uint32_t)meta.reps;
		d.series = !strcmp(meta.series, "keep") ? SWEEPIO_KEEP
			   : !strcmp(meta.series, "link") ? SWEEPIO_LINK : SWEEPIO_NONE;
		d.n_params = meta.np;
		d.n_metrics = meta.nm;
		char mu[64][32];
		for (size_t k = 0; k < meta.np; k++) {
			d.param_names[k] = meta.params[k];
			d.param_keys[k] = meta.keys[k];
			d.param_units[k] = meta.punits[k];
			d.levels[k] = meta.levels[k];
			d.n_levels[k] = meta.n_levels[k];
		}
		for (size_t k = 0; k < meta.nm; k++) {
			d.metric_names[k] = meta.metrics[k];
			d.metric_summaries[k] = meta.msums[k];
			snprintf(mu[k], 32, "%s", meta.munits[k]);
		}
		d.rows_expected = meta.expected;
		d.shard = 0;
		d.n_shards = 1;
		rc = out_open(&o, out, &d, 1, mu, err);
		opened = 1;
		uint64_t written = 0;
		int64_t lastp = -1, lastr = -1;
		while (!rc) {
			size_t best = n;
			int64_t bp = 0, br = 0;
			for (size_t i = 0; i < n; i++) {
				const unsigned char *h = shard_head(&sh[i]);
				if (!h)
					continue;
				int64_t p, r;
				memcpy(&p, h, 8);
				memcpy(&r, h + 8, 8);
				if (best == n || p < bp || (p == bp && r < br)) {
					best = i;
					bp = p;
					br = r;
				}
			}
			if (best == n)
				break;
			shard_in *s = &sh[best];
			const unsigned char *h = shard_head(s);
			if (bp != lastp || br != lastr) {
				uint64_t seed;
				double vals[128];
				memcpy(&seed, h + 16, 8);
				memcpy(vals, h + 24, 8 * (meta.np + meta.nm));
				if (out_row(&o, bp, br, seed, vals, meta.np, vals + meta.np, meta.nm))
					rc = h5err(err, out, "append a row");
				if (!rc && d.series != SWEEPIO_NONE) {
					char name[64];
					snprintf(name, sizeof name, "p%06lld_r%03lld", (long long)bp,
						 (long long)br);
					rc = copy_run(&o, s, name, err);
				}
				written++;
				lastp = bp;
				lastr = br;
			}
			s->pos++;
			if (!rc && shard_fill(s))
				rc = h5err(err, s->path, "read /sweep/table");
		}
		*rows = written;
		*expected = meta.expected;
	}
	for (size_t i = 0; i < n; i++) {
		close_id(&sh[i].runs, H5Gclose);
		close_id(&sh[i].mtype, H5Tclose);
		close_id(&sh[i].dset, H5Dclose);
		close_id(&sh[i].f, H5Fclose);
		free(sh[i].buf);
	}
	free(sh);
	if (opened)
		rc = out_close(&o, !rc, err);
	meta_free(&meta);
	meta_free(&other);
	return rc;
}

int sweepio_merge(const char *const *shards, size_t n, const char *out, uint64_t *rows,
		  uint64_t *expected, fs_error *err)
{
	*rows = *expected = 0;
	fs_h5_lock();
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	int rc = merge_unlocked(shards, n, out, rows, expected, err);
	fs_h5_unlock();
	return rc;
}
