/*
 * h5read.h - reading run and sweep files back: the one place where the
 * commands that consume our HDF5 output (compare, report, export) talk to the
 * HDF5 library.
 *
 * The recorder (recorder.h) writes; this module reads, with the opposite
 * attitude: it trusts nothing.  A file may be missing, not HDF5 at all, from
 * an older version, cut short, or a sweep file where a run file was expected,
 * so every reader returns an fs_code with a message that names the file and
 * the object ("run.h5: /summary/power/pue: not a scalar"), and "absent" is an
 * ordinary answer (H5R_ABSENT) rather than an error.  HDF5's own error
 * printing is switched off by h5r_open(): the library's stack traces are no
 * message for a user.
 *
 * Values come back as doubles in SI units whatever the stored numeric type,
 * except in tables (h5r_table), where 64-bit integers (ids, seeds) keep
 * their exact value and strings stay strings.  Everything returned is
 * malloc'ed and owned by the caller, freed with the matching *_free/_clear.
 */
#ifndef FS_H5READ_H
#define FS_H5READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Returned (positive, not an fs_code) when an optional object is not there. */
#define H5R_ABSENT (-1)

typedef struct h5r h5r;

/* Open a file read-only.  A missing file, a directory or a non-HDF5 file is
 * FS_ERR_INPUT with a message saying which. */
int h5r_open(const char *path, h5r **out, fs_error *err);
void h5r_close(h5r *f); /* NULL is a no-op */
/* While a file is open, a fault inside the HDF5 library (a damaged file can
 * cause one) prints "FILE: ... damaged" and exits with status 2; a partial
 * output named here (NULL: none) is deleted first. */
void h5r_on_fault_remove(const char *path);
const char *h5r_path(const h5r *f);

/* Whether an object (group or dataset) exists at an absolute path; every link
 * on the way is checked, and an external link to a missing file is false. */
bool h5r_exists(h5r *f, const char *obj);
/* A sweep file: a /sweep/table dataset or the root attribute kind = "sweep". */
bool h5r_is_sweep(h5r *f);

/* Attributes of obj ("/" for the root).  0, H5R_ABSENT, or an fs_code. */
int h5r_attr_string(h5r *f, const char *obj, const char *name, char *buf, size_t n,
		    fs_error *err);
int h5r_attr_double(h5r *f, const char *obj, const char *name, double *v, fs_error *err);
int h5r_attr_u64(h5r *f, const char *obj, const char *name, uint64_t *v, fs_error *err);
/* A string or string-array attribute (fixed or variable length) as an array
 * of *n malloc'ed strings; free with h5r_strings_free. */
int h5r_attr_strings(h5r *f, const char *obj, const char *name, char ***out, size_t *n,
		     fs_error *err);
void h5r_strings_free(char **s, size_t n);

/* A scalar string dataset (/scenario/resolved) as one malloc'ed string. */
int h5r_read_text(h5r *f, const char *path, char **text, fs_error *err);

/* --- numeric datasets ------------------------------------------------------ */

typedef struct h5r_info {
	char *path;        /* absolute, e.g. "/timeseries/site/it_power" */
	int rank;          /* 0 scalar, 1, 2 */
	size_t rows, cols; /* rank 0: 1 x 1; rank 1: rows x 1 */
	bool numeric;      /* integer or float (not compound, not string) */
	char *units;       /* "" when the attribute is missing */
	char *description;
} h5r_info;

/* Every dataset under group (recursively), sorted by path.  An absent group
 * gives H5R_ABSENT and no entries. */
int h5r_list(h5r *f, const char *group, h5r_info **out, size_t *n, fs_error *err);
void h5r_info_free(h5r_info *v, size_t n); /* the array from h5r_list */
void h5r_info_clear(h5r_info *info);        /* the members of one */
/* The info of one dataset (fills *info; release with h5r_info_clear). */
int h5r_info_get(h5r *f, const char *path, h5r_info *info, fs_error *err);

/* A numeric dataset of rank 0, 1 or 2 as doubles, row-major [rows x cols].
 * 0, H5R_ABSENT or an fs_code (a compound or string dataset is FS_ERR_INPUT). */
int h5r_read_doubles(h5r *f, const char *path, double **data, size_t *rows, size_t *cols,
		     fs_error *err);
/* A scalar summary value: /summary/REL.  units may be NULL. */
int h5r_summary_get(h5r *f, const char *rel, double *v, char *units, size_t nunits,
		    fs_error *err);

/* --- compound tables (/requests, /events, /sweep/table, /sweep/points) ------------ */

enum h5r_kind { H5R_F64, H5R_I64, H5R_U64, H5R_STR };

typedef struct h5r_column {
	char *name;
	int kind;        /* enum h5r_kind: floats and small integers read as F64,
			  * 64-bit integers as I64/U64, strings as STR */
	double *f;       /* [nrows] for H5R_F64 */
	int64_t *i;      /* [nrows] for H5R_I64 */
	uint64_t *u;     /* [nrows] for H5R_U64 */
	char **s;        /* [nrows] for H5R_STR */
	char *units;     /* from the field_units attribute when present, else "" */
} h5r_column;

typedef struct h5r_table {
	size_t nrows, ncols;
	h5r_column *cols;
} h5r_table;

/* Read the named fields (all fields when names is NULL) of a 1-D compound
 * dataset.  A named field that does not exist is FS_ERR_INPUT. */
int h5r_table_read(h5r *f, const char *path, const char *const *names, size_t nnames,
		   h5r_table *t, fs_error *err);
void h5r_table_clear(h5r_table *t);
/* The column called name, or NULL. */
const h5r_column *h5r_table_col(const h5r_table *t, const char *name);
/* Row r of a numeric column as a double (NaN for strings). */
double h5r_col_value(const h5r_column *c, size_t r);

#endif
