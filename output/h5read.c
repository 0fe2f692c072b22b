/*
 * h5read.c - reading run and sweep files back (see h5read.h).
 *
 * Every function opens what it needs and closes it before returning, so a
 * caller holds nothing but the file handle, and an error in the middle never
 * leaks an HDF5 identifier.  Identifiers start out as H5I_INVALID_HID and the
 * cleanup at the end of each function closes whichever are valid.
 *
 * Numeric conversion is left to the library (H5Dread into NATIVE_DOUBLE
 * converts any integer or float type); compound tables are read one field at a
 * time through a one-member memory type, which the library matches by name, so
 * the order, padding and byte order of the file's fields do not matter and a
 * table with a hundred metric fields costs no more memory than the columns
 * asked for.
 */
#include "h5read.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

struct h5r {
	hid_t file;
	char *path;
	bool guarded;                  /* fault handlers installed by this handle */
	struct sigaction old_segv, old_bus;
};

/* --- damaged files ----------------------------------------------------------------
 *
 * HDF5 does not check every byte it reads: a damaged global heap (where the
 * variable-length strings of attributes live) makes the 1.10 library itself
 * read out of bounds - seen on fuzzed copies of run files, the fault inside
 * H5HG_read.  The readers exist to open files from elsewhere, so while one is
 * open a segmentation fault or bus error is reported as what it almost
 * certainly is, a damaged file, with exit status 2, rather than a core dump.
 * Not under AddressSanitizer, whose own report is worth more. */
static char fault_msg[1200];
static size_t fault_len;
static char fault_remove[4200]; /* a partial output to delete, or "" */

void h5r_on_fault_remove(const char *path)
{
	snprintf(fault_remove, sizeof fault_remove, "%s", path ? path : "");
}

static void on_fault(int sig)
{
	(void)sig;
	if (fault_remove[0])
		unlink(fault_remove);
	ssize_t w = write(STDERR_FILENO, fault_msg, fault_len);
	(void)w;
	_exit(2);
}

static void guard(h5r *f)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)f;
#else
	int n = snprintf(fault_msg, sizeof fault_msg,
			 "factorysim: %s: the HDF5 library crashed reading this file; it is "
			 "damaged\n",
			 f->path);
	fault_len = n < 0 ? 0 : (size_t)n < sizeof fault_msg ? (size_t)n : sizeof fault_msg - 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	f->guarded = sigaction(SIGSEGV, &sa, &f->old_segv) == 0 &&
		     sigaction(SIGBUS, &sa, &f->old_bus) == 0;
#endif
}

static void unguard(h5r *f)
{
	if (!f->guarded)
		return;
	sigaction(SIGSEGV, &f->old_segv, NULL);
	sigaction(SIGBUS, &f->old_bus, NULL);
	f->guarded = false;
}

/* --- helpers --------------------------------------------------------------- */

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int nomem(fs_error *err)
{
	return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
}

/* The innermost message of the (silenced) HDF5 error stack, for context. */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
	(void)n;
	char *buf = data;
	if (e->desc && e->desc[0])
		snprintf(buf, 200, "%s", e->desc);
	return 0;
}

static int h5fail(h5r *f, fs_error *err, const char *obj, const char *what)
{
	char detail[200] = "";
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, detail);
	H5Eclear2(H5E_DEFAULT);
	return fs_error_msg(err, FS_ERR_HDF5, "%s: %s: cannot %s%s%s%s", f->path, obj, what,
			    detail[0] ? " (HDF5: " : "", detail, detail[0] ? ")" : "");
}

static void close_id(hid_t id)
{
	if (id < 0)
		return;
	switch (H5Iget_type(id)) {
	case H5I_DATASET: H5Dclose(id); break;
	case H5I_DATASPACE: H5Sclose(id); break;
	case H5I_DATATYPE: H5Tclose(id); break;
	case H5I_ATTR: H5Aclose(id); break;
	case H5I_GROUP: H5Gclose(id); break;
	default: H5Oclose(id); break;
	}
}

static void reclaim(hid_t type, hid_t space, void *buf)
{
#if H5_VERSION_GE(1, 12, 0)
	H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
	H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

/* --- the file ------------------------------------------------------------------ */

int h5r_open(const char *path, h5r **out, fs_error *err)
{
	*out = NULL;
	/* the library's own stack traces are no message for a user */
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	struct stat st;
	if (stat(path, &st))
		return fs_error_msg(err, FS_ERR_INPUT, "%s: cannot open: %s", path,
				    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fs_error_msg(err, FS_ERR_INPUT, "%s: is a directory, not a run file", path);
#if H5_VERSION_GE(1, 12, 0)
	htri_t is = H5Fis_accessible(path, H5P_DEFAULT);
#else
	htri_t is = H5Fis_hdf5(path);
#endif
	H5Eclear2(H5E_DEFAULT);
	if (is <= 0)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "%s: not an HDF5 file (expected a factorysim run or sweep file)",
				    path);
	h5r *f = calloc(1, sizeof *f);
	if (!f || !(f->path = dup_str(path))) {
		free(f);
		return nomem(err);
	}
	f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (f->file < 0) {
		/* a damaged or truncated file is bad input, not a library failure */
		char detail[200] = "";
		H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, detail);
		H5Eclear2(H5E_DEFAULT);
		h5r_close(f);
		return fs_error_msg(err, FS_ERR_INPUT,
				    "%s: cannot read the file: it is damaged or cut short%s%s%s", path,
				    detail[0] ? " (HDF5: " : "", detail, detail[0] ? ")" : "");
	}
	guard(f);
	*out = f;
	return FS_OK;
}

void h5r_close(h5r *f)
{
	if (!f)
		return;
	if (f->file >= 0)
		H5Fclose(f->file);
	unguard(f);
	free(f->path);
	free(f);
}

const char *h5r_path(const h5r *f)
{
	return f->path;
}

bool h5r_exists(h5r *f, const char *obj)
{
	if (!strcmp(obj, "/"))
		return true;
	char buf[1024];
	size_t n = strlen(obj);
	if (obj[0] != '/' || n >= sizeof buf)
		return false;
	memcpy(buf, obj, n + 1);
	/* each link on the way: H5Lexists fails (not false) on a missing parent */
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			htri_t e = H5Lexists(f->file, buf, H5P_DEFAULT);
			*p = c;
			if (e <= 0) {
				H5Eclear2(H5E_DEFAULT);
				return false;
			}
			if (!c)
				break;
		}
	}
	/* a dangling soft or external link exists as a link but not as an object */
	htri_t o = H5Oexists_by_name(f->file, obj, H5P_DEFAULT);
	H5Eclear2(H5E_DEFAULT);
	return o > 0;
}

bool h5r_is_sweep(h5r *f)
{
	char kind[32];
	if (h5r_attr_string(f, "/", "kind", kind, sizeof kind, NULL) == 0 && !strcmp(kind, "sweep"))
		return true;
	return h5r_exists(f, "/sweep/table");
}

/* --- attributes ------------------------------------------------------------------ */

/* Open attribute name of obj; H5R_ABSENT when either is missing. */
static int attr_open(h5r *f, const char *obj, const char *name, hid_t *attr)
{
	*attr = H5I_INVALID_HID;
	if (!h5r_exists(f, obj))
		return H5R_ABSENT;
	htri_t e = H5Aexists_by_name(f->file, obj, name, H5P_DEFAULT);
	if (e <= 0) {
		H5Eclear2(H5E_DEFAULT);
		return H5R_ABSENT;
	}
	*attr = H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
	if (*attr < 0) {
		H5Eclear2(H5E_DEFAULT);
		return H5R_ABSENT;
	}
	return 0;
}

int h5r_attr_strings(h5r *f, const char *obj, const char *name, char ***out, size_t *n,
		     fs_error *err)
{
	*out = NULL;
	*n = 0;
	hid_t a, type = H5I_INVALID_HID, space = H5I_INVALID_HID, mem = H5I_INVALID_HID;
	int rc = attr_open(f, obj, name, &a);
	if (rc)
		return rc;
	char where[512];
	snprintf(where, sizeof where, "%s attribute %s", obj, name);
	type = H5Aget_type(a);
	space = H5Aget_space(a);
	if (type < 0 || space < 0) {
		rc = h5fail(f, err, where, "read");
		goto done;
	}
	if (H5Tget_class(type) != H5T_STRING) {
		rc = fs_error_msg(err, FS_ERR_INPUT, "%s: %s: not a string", f->path, where);
		goto done;
	}
	hssize_t count = H5Sget_simple_extent_npoints(space);
	if (count < 0) {
		rc = h5fail(f, err, where, "read");
		goto done;
	}
	char **v = calloc(count ? (size_t)count : 1, sizeof *v);
	if (!v) {
		rc = nomem(err);
		goto done;
	}
	if (H5Tis_variable_str(type) > 0) {
		char **raw = calloc(count ? (size_t)count : 1, sizeof *raw);
		mem = H5Tcopy(H5T_C_S1);
		if (!raw || mem < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0 ||
		    H5Tset_cset(mem, H5Tget_cset(type)) < 0) {
			free(raw);
			free(v);
			rc = raw ? h5fail(f, err, where, "read") : nomem(err);
			goto done;
		}
		if (H5Aread(a, mem, raw) < 0) {
			free(raw);
			free(v);
			rc = h5fail(f, err, where, "read");
			goto done;
		}
		for (hssize_t i = 0; i < count && !rc; i++)
			if (!(v[i] = dup_str(raw[i] ? raw[i] : "")))
				rc = nomem(err);
		reclaim(mem, space, raw);
		free(raw);
	} else {
		size_t sz = H5Tget_size(type);
		char *raw = calloc((size_t)(count ? count : 1), sz + 1);
		mem = H5Tcopy(H5T_C_S1);
		if (!raw || mem < 0 || H5Tset_size(mem, sz + 1) < 0 ||
		    H5Tset_strpad(mem, H5T_STR_NULLTERM) < 0 ||
		    H5Tset_cset(mem, H5Tget_cset(type)) < 0 || H5Aread(a, mem, raw) < 0) {
			free(raw);
			free(v);
			rc = raw ? h5fail(f, err, where, "read") : nomem(err);
			goto done;
		}
		for (hssize_t i = 0; i < count && !rc; i++) {
			char *s = raw + (size_t)i * (sz + 1);
			s[sz] = '\0';
			if (!(v[i] = dup_str(s)))
				rc = nomem(err);
		}
		free(raw);
	}
	if (rc) {
		h5r_strings_free(v, (size_t)count);
		goto done;
	}
	*out = v;
	*n = (size_t)count;
done:
	close_id(mem);
	close_id(space);
	close_id(type);
	close_id(a);
	return rc;
}

void h5r_strings_free(char **s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

int h5r_attr_string(h5r *f, const char *obj, const char *name, char *buf, size_t n,
		    fs_error *err)
{
	char **v;
	size_t k;
	if (n)
		buf[0] = '\0';
	int rc = h5r_attr_strings(f, obj, name, &v, &k, err);
	if (rc)
		return rc;
	if (k >= 1)
		snprintf(buf, n, "%s", v[0]);
	h5r_strings_free(v, k);
	return k >= 1 ? 0 : H5R_ABSENT;
}

/* A numeric scalar (or first element) attribute through a native type. */
static int attr_number(h5r *f, const char *obj, const char *name, hid_t native, void *v,
		       fs_error *err)
{
	hid_t a, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
	int rc = attr_open(f, obj, name, &a);
	if (rc)
		return rc;
	type = H5Aget_type(a);
	space = H5Aget_space(a);
	H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
	if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
		rc = fs_error_msg(err, FS_ERR_INPUT, "%s: %s attribute %s: not a number", f->path,
				  obj, name);
	} else if (H5Sget_simple_extent_npoints(space) != 1) {
		rc = fs_error_msg(err, FS_ERR_INPUT, "%s: %s attribute %s: not a single value",
				  f->path, obj, name);
	} else if (H5Aread(a, native, v) < 0) {
		char where[512];
		snprintf(where, sizeof where, "%s attribute %s", obj, name);
		rc = h5fail(f, err, where, "read");
	}
	close_id(space);
	close_id(type);
	close_id(a);
	return rc;
}

int h5r_attr_double(h5r *f, const char *obj, const char *name, double *v, fs_error *err)
{
	return attr_number(f, obj, name, H5T_NATIVE_DOUBLE, v, err);
}

int h5r_attr_u64(h5r *f, const char *obj, const char *name, uint64_t *v, fs_error *err)
{
	return attr_number(f, obj, name, H5T_NATIVE_UINT64, v, err);
}

/* --- datasets --------------------------------------------------------------------- */

int h5r_read_text(h5r *f, const char *path, char **text, fs_error *err)
{
	*text = NULL;
	if (!h5r_exists(f, path))
		return H5R_ABSENT;
	int rc = FS_OK;
	hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
	hid_t type = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
	hid_t space = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
	hid_t mem = H5I_INVALID_HID;
	if (d < 0 || type < 0 || space < 0) {
		rc = h5fail(f, err, path, "open");
		goto done;
	}
	if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
		rc = fs_error_msg(err, FS_ERR_INPUT, "%s: %s: not a single string", f->path, path);
		goto done;
	}
	mem = H5Tcopy(H5T_C_S1);
	if (H5Tis_variable_str(type) > 0) {
		char *raw = NULL;
		if (mem < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0 ||
		    H5Tset_cset(mem, H5Tget_cset(type)) < 0 ||
		    H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, &raw) < 0) {
			rc = h5fail(f, err, path, "read");
			goto done;
		}
		*text = dup_str(raw ? raw : "");
		reclaim(mem, space, &raw);
	} else {
		size_t sz = H5Tget_size(type);
		char *raw = calloc(1, sz + 1);
		if (!raw) {
			rc = nomem(err);
			goto done;
		}
		if (mem < 0 || H5Tset_size(mem, sz + 1) < 0 ||
		    H5Tset_strpad(mem, H5T_STR_NULLTERM) < 0 ||
		    H5Tset_cset(mem, H5Tget_cset(type)) < 0 ||
		    H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
			free(raw);
			rc = h5fail(f, err, path, "read");
			goto done;
		}
		*text = raw;
	}
	if (!*text)
		rc = nomem(err);
done:
	close_id(mem);
	close_id(space);
	close_id(type);
	close_id(d);
	return rc;
}

int h5r_info_get(h5r *f, const char *path, h5r_info *info, fs_error *err)
{
	memset(info, 0, sizeof *info);
	if (!h5r_exists(f, path))
		return H5R_ABSENT;
	int rc = FS_OK;
	hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
	hid_t type = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
	hid_t space = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
	if (d < 0 || type < 0 || space < 0) {
		rc = h5fail(f, err, path, "open");
		goto done;
	}
	int rank = H5Sget_simple_extent_ndims(space);
	hsize_t dims[8] = { 0 };
	if (rank < 0 || rank > 8 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
		rc = h5fail(f, err, path, "read the shape of");
		goto done;
	}
	info->rank = rank;
	info->rows = rank >= 1 ? (size_t)dims[0] : 1;
	info->cols = 1;
	for (int i = 1; i < rank; i++)
		info->cols *= (size_t)dims[i];
	H5T_class_t cls = H5Tget_class(type);
	info->numeric = cls == H5T_INTEGER || cls == H5T_FLOAT;
	char buf[4096];
	h5r_attr_string(f, path, "units", buf, sizeof buf, NULL);
	info->units = dup_str(buf);
	h5r_attr_string(f, path, "description", buf, sizeof buf, NULL);
	info->description = dup_str(buf);
	info->path = dup_str(path);
	if (!info->units || !info->description || !info->path) {
		h5r_info_clear(info);
		rc = nomem(err);
	}
done:
	close_id(space);
	close_id(type);
	close_id(d);
	return rc;
}

void h5r_info_clear(h5r_info *info)
{
	if (!info)
		return;
	free(info->path);
	free(info->units);
	free(info->description);
	memset(info, 0, sizeof *info);
}

void h5r_info_free(h5r_info *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		h5r_info_clear(&v[i]);
	free(v);
}

typedef struct list_ctx {
	h5r *f;
	const char *group;
	char **paths;
	size_t n, cap;
	int rc;
} list_ctx;

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *li, void *data)
{
	list_ctx *c = data;
	if (li->type != H5L_TYPE_HARD)
		return 0; /* soft and external links are not walked: /runs can be huge */
	hid_t o = H5Oopen(g, name, H5P_DEFAULT);
	if (o < 0) {
		H5Eclear2(H5E_DEFAULT);
		return 0;
	}
	bool is_dset = H5Iget_type(o) == H5I_DATASET;
	H5Oclose(o);
	if (!is_dset)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		char **p = realloc(c->paths, cap * sizeof *p);
		if (!p) {
			c->rc = FS_ERR_NOMEM;
			return -1;
		}
		c->paths = p;
		c->cap = cap;
	}
	size_t len = strlen(c->group) + strlen(name) + 2;
	char *s = malloc(len);
	if (!s) {
		c->rc = FS_ERR_NOMEM;
		return -1;
	}
	snprintf(s, len, "%s%s%s", c->group, strcmp(c->group, "/") ? "/" : "", name);
	c->paths[c->n++] = s;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int h5r_list(h5r *f, const char *group, h5r_info **out, size_t *n, fs_error *err)
{
	*out = NULL;
	*n = 0;
	if (!h5r_exists(f, group))
		return H5R_ABSENT;
	hid_t g = H5Gopen2(f->file, group, H5P_DEFAULT);
	if (g < 0)
		return h5fail(f, err, group, "open the group");
	list_ctx c = { .f = f, .group = group };
	herr_t hr = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, list_cb, &c);
	H5Gclose(g);
	int rc = FS_OK;
	if (c.rc)
		rc = nomem(err);
	else if (hr < 0)
		rc = h5fail(f, err, group, "list");
	h5r_info *v = NULL;
	if (!rc && c.n) {
		qsort(c.paths, c.n, sizeof *c.paths, cmp_str);
		v = calloc(c.n, sizeof *v);
		if (!v)
			rc = nomem(err);
		for (size_t i = 0; !rc && i < c.n; i++)
			rc = h5r_info_get(f, c.paths[i], &v[i], err);
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.paths[i]);
	free(c.paths);
	if (rc) {
		h5r_info_free(v, v ? c.n : 0);
		return rc;
	}
	*out = v;
	*n = c.n;
	return FS_OK;
}

int h5r_read_doubles(h5r *f, const char *path, double **data, size_t *rows, size_t *cols,
		     fs_error *err)
{
	*data = NULL;
	*rows = *cols = 0;
	h5r_info info;
	int rc = h5r_info_get(f, path, &info, err);
	if (rc)
		return rc;
	bool numeric = info.numeric;
	int rank = info.rank;
	size_t r = info.rows, c = info.cols;
	h5r_info_clear(&info);
	if (!numeric || rank > 2)
		return fs_error_msg(err, FS_ERR_INPUT, "%s: %s: not a numeric dataset of rank 0-2",
				    f->path, path);
	double *v = malloc((r * c > 0 ? r * c : 1) * sizeof *v);
	if (!v)
		return nomem(err);
	hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
	if (d < 0 || (r * c > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)) {
		rc = h5fail(f, err, path, "read");
		free(v);
		v = NULL;
	}
	close_id(d);
	if (rc)
		return rc;
	*data = v;
	*rows = r;
	*cols = c;
	return FS_OK;
}

int h5r_summary_get(h5r *f, const char *rel, double *v, char *units, size_t nunits,
		    fs_error *err)
{
	char path[1024];
	snprintf(path, sizeof path, "/summary/%s", rel);
	if (units && nunits)
		units[0] = '\0';
	double *d;
	size_t r, c;
	int rc = h5r_read_doubles(f, path, &d, &r, &c, err);
	if (rc)
		return rc;
	if (r * c != 1) {
		free(d);
		return fs_error_msg(err, FS_ERR_INPUT, "%s: %s: not a scalar", f->path, path);
	}
	*v = d[0];
	free(d);
	if (units && nunits)
		h5r_attr_string(f, path, "units", units, nunits, NULL);
	return FS_OK;
}

/* --- compound tables -------------------------------------------------------------- */

void h5r_table_clear(h5r_table *t)
{
	if (!t)
		return;
	for (size_t j = 0; j < t->ncols; j++) {
		h5r_column *c = &t->cols[j];
		free(c->name);
		free(c->units);
		free(c->f);
		free(c->i);
		free(c->u);
		if (c->s)
			for (size_t r = 0; r < t->nrows; r++)
				free(c->s[r]);
		free(c->s);
	}
	free(t->cols);
	memset(t, 0, sizeof *t);
}

const h5r_column *h5r_table_col(const h5r_table *t, const char *name)
{
	for (size_t j = 0; j < t->ncols; j++)
		if (!strcmp(t->cols[j].name, name))
			return &t->cols[j];
	return NULL;
}

double h5r_col_value(const h5r_column *c, size_t r)
{
	switch (c->kind) {
	case H5R_F64: return c->f[r];
	case H5R_I64: return (double)c->i[r];
	case H5R_U64: return (double)c->u[r];
	default: return NAN;
	}
}

/* Read member `name` of dataset d (file type ftype) into column c. */
static int read_field(h5r *f, const char *path, hid_t d, hid_t ftype, const char *name,
		      size_t nrows, h5r_column *c, fs_error *err)
{
	int idx = H5Tget_member_index(ftype, name);
	if (idx < 0) {
		H5Eclear2(H5E_DEFAULT);
		return fs_error_msg(err, FS_ERR_INPUT, "%s: %s: no field '%s'", f->path, path, name);
	}
	int rc = FS_OK;
	hid_t mt = H5Tget_member_type(ftype, (unsigned)idx);
	hid_t mem = H5I_INVALID_HID, comp = H5I_INVALID_HID, space = H5I_INVALID_HID;
	void *buf = NULL;
	size_t elem = 0;
	H5T_class_t cls = mt >= 0 ? H5Tget_class(mt) : H5T_NO_CLASS;
	bool vlen = false;
	if (!(c->name = dup_str(name))) {
		rc = nomem(err);
		goto done;
	}
	if (cls == H5T_INTEGER && H5Tget_size(mt) == 8) {
		bool sgn = H5Tget_sign(mt) == H5T_SGN_2;
		c->kind = sgn ? H5R_I64 : H5R_U64;
		mem = H5Tcopy(sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64);
		elem = 8;
	} else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
		c->kind = H5R_F64;
		mem = H5Tcopy(H5T_NATIVE_DOUBLE);
		elem = sizeof(double);
	} else if (cls == H5T_STRING) {
		c->kind = H5R_STR;
		mem = H5Tcopy(H5T_C_S1);
		vlen = H5Tis_variable_str(mt) > 0;
		/* the library converts neither ASCII <-> UTF-8 nor fixed <-> variable */
		H5Tset_cset(mem, H5Tget_cset(mt));
		if (vlen) {
			H5Tset_size(mem, H5T_VARIABLE);
			elem = sizeof(char *);
		} else {
			elem = H5Tget_size(mt) + 1;
			H5Tset_size(mem, elem);
			H5Tset_strpad(mem, H5T_STR_NULLTERM);
		}
	} else {
		rc = fs_error_msg(err, FS_ERR_INPUT,
				  "%s: %s: field '%s' is neither a number nor a string", f->path,
				  path, name);
		goto done;
	}
	comp = H5Tcreate(H5T_COMPOUND, elem);
	if (mem < 0 || comp < 0 || H5Tinsert(comp, name, 0, mem) < 0) {
		rc = h5fail(f, err, path, "make a memory type for");
		goto done;
	}
	buf = calloc(nrows ? nrows : 1, elem);
	if (!buf) {
		rc = nomem(err);
		goto done;
	}
	if (nrows && H5Dread(d, comp, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
		char what[300];
		snprintf(what, sizeof what, "read field '%s' of", name);
		rc = h5fail(f, err, path, what);
		goto done;
	}
	if (c->kind == H5R_STR) {
		c->s = calloc(nrows ? nrows : 1, sizeof *c->s);
		if (!c->s) {
			rc = nomem(err);
		} else {
			for (size_t r = 0; r < nrows && !rc; r++) {
				const char *s;
				if (vlen)
					s = ((char **)buf)[r];
				else {
					char *p = (char *)buf + r * elem;
					p[elem - 1] = '\0';
					s = p;
				}
				if (!(c->s[r] = dup_str(s ? s : "")))
					rc = nomem(err);
			}
		}
		if (vlen && nrows) {
			space = H5Dget_space(d);
			reclaim(comp, space, buf);
		}
		free(buf);
	} else if (c->kind == H5R_F64) {
		c->f = buf;
	} else if (c->kind == H5R_I64) {
		c->i = buf;
	} else {
		c->u = buf;
	}
	buf = NULL;
done:
	free(buf);
	close_id(space);
	close_id(comp);
	close_id(mem);
	close_id(mt);
	return rc;
}

int h5r_table_read(h5r *f, const char *path, const char *const *names, size_t nnames,
		   h5r_table *t, fs_error *err)
{
	memset(t, 0, sizeof *t);
	if (!h5r_exists(f, path))
		return H5R_ABSENT;
	int rc = FS_OK;
	hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
	hid_t type = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
	hid_t space = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
	char **units = NULL;
	size_t nunits = 0;
	if (d < 0 || type < 0 || space < 0) {
		rc = h5fail(f, err, path, "open");
		goto done;
	}
	if (H5Tget_class(type) != H5T_COMPOUND || H5Sget_simple_extent_ndims(space) != 1) {
		rc = fs_error_msg(err, FS_ERR_INPUT, "%s: %s: not a table (1-D compound dataset)",
				  f->path, path);
		goto done;
	}
	hsize_t rows = 0;
	H5Sget_simple_extent_dims(space, &rows, NULL);
	int nmemb = H5Tget_nmembers(type);
	size_t ncols = names ? nnames : (size_t)(nmemb > 0 ? nmemb : 0);
	t->cols = calloc(ncols ? ncols : 1, sizeof *t->cols);
	if (!t->cols) {
		rc = nomem(err);
		goto done;
	}
	t->nrows = (size_t)rows;
	h5r_attr_strings(f, path, "field_units", &units, &nunits, NULL);
	for (size_t j = 0; j < ncols && !rc; j++) {
		char *mname = NULL;
		const char *name;
		if (names) {
			name = names[j];
		} else {
			mname = H5Tget_member_name(type, (unsigned)j);
			name = mname ? mname : "";
		}
		rc = read_field(f, path, d, type, name, t->nrows, &t->cols[j], err);
		t->ncols = j + 1;
		if (!rc) {
			int idx = H5Tget_member_index(type, name);
			const char *u = idx >= 0 && (size_t)idx < nunits && (size_t)nmemb == nunits
						? units[idx]
						: "";
			if (!(t->cols[j].units = dup_str(u)))
				rc = nomem(err);
		}
		if (mname)
			H5free_memory(mname);
	}
	if (rc)
		h5r_table_clear(t);
done:
	h5r_strings_free(units, nunits);
	close_id(space);
	close_id(type);
	close_id(d);
	return rc;
}
