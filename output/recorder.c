/*
 * recorder.c - the HDF5 run file (see recorder.h for the layout).
 *
 * Models reach this module only through the rec_sink table returned by
 * recorder_sink(): they declare series once, set values sparsely and the
 * engine's owner commits one row per control tick.  Each series keeps two
 * arrays: the row being built (`cur`, which doubles as "the last committed
 * row", so values that are not set repeat) and a buffer of chunk_rows
 * committed rows.  When the buffers are full every series is extended and
 * written at once, a chunk at a time, so memory is bounded by chunk_rows x
 * (total width) whatever the length of the run.  Events are buffered the same
 * way into the /events compound table.
 *
 * Reproducibility: object time stamps are switched off on every object we
 * create, every string is written zero-padded (no stray bytes after the NUL)
 * and all writes happen in a fixed order, so two runs with the same inputs give
 * identical datasets (h5diff) and, in practice, identical bytes.
 *
 * Failure model: any HDF5 or allocation failure after the file exists is
 * sticky - the recorder stops writing, remembers the first message and
 * returns it again from later calls and from recorder_close(), which then
 * removes the temporary file.  Misuse that does not touch the file (a bad
 * path, a duplicate name, width 0) is reported and the recorder stays usable.
 *
 * Decisions worth knowing:
 *  - declare() after the first commit is allowed; the rows already committed
 *    read as NaN in the new series (it is created with NaN as fill value).
 *  - units and description must be non-empty for series and summaries (every
 *    dataset carries both; "1" is the unit of a dimensionless quantity).
 *    Attribute text longer than REC_ATTR_MAX bytes is cut at a UTF-8
 *    character boundary.
 *  - set() on an unknown id or column cannot report (it returns void); the
 *    first such call is remembered and the next commit() fails with it.
 *  - commit() times must be finite and non-decreasing.
 *  - Root and `units`/`description` attributes are variable-length UTF-8
 *    strings (h5py returns them as str); the scenario texts and the /events
 *    string fields are fixed-length UTF-8 (exact byte round trip; a compound
 *    table needs fixed fields).  Event fields are cut, UTF-8-safely, to
 *    31/63/15/159 bytes (kind/subject/units/detail).
 *  - Writes are always chunk_rows rows; a 2-D chunk holds fewer rows when
 *    chunk_rows x width x 8 B would exceed about 1 MiB.
 *  - /requests is created at open (an empty table when no row comes) so the
 *    layout never depends on the run.  A row is copied field by field into
 *    a chunk_rows buffer, packed as in the file (61 bytes, no padding), so a
 *    write needs no compound conversion and the caller's padding never
 *    reaches the file.
 *    Per-field units go to a string-array attribute field_units in field
 *    order (h5py: dict(zip(d.dtype.names, d.attrs["field_units"]))); token
 *    counts have units "tokens".  Class names go to a string-array attribute
 *    `classes` (written by classes(), or empty at close if never called; at
 *    most RQ_MAX_CLASSES, every name non-empty).  Once classes are named, a
 *    row whose class index is out of range is refused, as is a row with a
 *    non-finite arrival; refusals are not sticky.
 *  - Serial HDF5 is not thread-safe: callers that record from several threads
 *    (sweep workers) must serialise all recorder calls.
 */
#include "h5lock.h"
#include "recorder.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#define REC_DEFAULT_CHUNK_ROWS 1024u
#define REC_MAX_CHUNK_ROWS (1u << 20)      /* keeps buffers and 1-D chunks sane */
#define REC_DEFAULT_LEVEL 4
#define REC_CHUNK_BYTES ((size_t)1 << 20)  /* target size of a 2-D chunk */
#define REC_MSG_MAX 768                   /* as fs_error.message */
#define REC_PATH_MAX 1024                 /* longest series/summary path [bytes] */
#define REC_ATTR_MAX 4095                 /* longest attribute text [bytes]; the
					   * v1.8 object header caps attributes
					   * at 64 KiB, so we stay well below */

/* Fixed field widths of /events (bytes, including the terminating NUL). */
#define EV_KIND 32
#define EV_SUBJECT 64
#define EV_UNITS 16
#define EV_DETAIL 160

typedef struct ev_row {
	double time;             /* [s] */
	char kind[EV_KIND];
	char subject[EV_SUBJECT];
	double value;            /* in units[] */
	char units[EV_UNITS];
	char detail[EV_DETAIL];
} ev_row;

typedef struct series {
	char *path;     /* relative to /timeseries, e.g. "site/it_power" */
	size_t width;   /* columns; 1 means a 1-D dataset */
	hid_t dset;     /* the open dataset, H5I_INVALID_HID when none */
	double *cur;    /* row being built = last committed row [width] */
	double *buf;    /* committed rows not yet written [chunk_rows x width] */
} series;

struct recorder {
	rec_sink sink;        /* what models see; ctx points back here */
	char *path;           /* final file name */
	char *tmp;            /* PATH.tmp.PID, renamed to path by close */
	hid_t file;
	hid_t gcpl;           /* group creation: no time stamps */
	hid_t g_ts;           /* /timeseries */
	hid_t g_summary;      /* /summary */
	series time;          /* /timeseries/time, committed with every row */
	series *ser;          /* declared series; id = index */
	size_t nser, cap_ser;
	char **sum;           /* summary names already written (duplicates) */
	size_t nsum, cap_sum;
	hid_t ev_dset, ev_type;
	ev_row *ev_buf;       /* [chunk_rows] */
	size_t ev_nbuf;       /* events buffered */
	hsize_t ev_rows;      /* events written */
	hid_t rq_dset;        /* /requests */
	hid_t rq_mtype;       /* a packed row in memory: native types, file offsets */
	unsigned char *rq_buf; /* [chunk_rows x RQ_ROW] packed rows */
	size_t rq_nbuf;       /* request rows buffered */
	hsize_t rq_rows;      /* request rows written */
	size_t nclasses;      /* classes named; 0 = not (yet) named */
	int have_classes;     /* classes() was called */
	size_t nbuf;          /* rows committed but not yet written */
	hsize_t rows;         /* rows written to every series */
	uint32_t chunk_rows;
	int level;            /* deflate level, 0 = none */
	double last_t;        /* last committed time [s] */
	int have_t;
	int failed;           /* sticky failure: fail_code/fail_msg */
	int fail_code;
	char fail_msg[REC_MSG_MAX];
	char misuse[256];     /* first bad set(), reported by the next commit */
};

/* --- small helpers ------------------------------------------------------ */

/* Record a failure in err and, for failures that leave the file in doubt,
 * make it sticky so that close() repeats it instead of publishing the file. */
static int fail(recorder *r, int sticky, fs_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(recorder *r, int sticky, fs_error *err, int code, const char *fmt, ...)
{
	char msg[REC_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r && sticky && !r->failed) {
		r->failed = 1;
		r->fail_code = code;
		snprintf(r->fail_msg, sizeof r->fail_msg, "%s", msg);
	}
	return fs_error_msg(err, code, "%s", msg);
}

typedef struct h5_detail {
	char outer[200]; /* the API call that failed */
	char inner[200]; /* where the library first noticed */
	int n;
} h5_detail;

static herr_t h5_walk(unsigned n, const H5E_error2_t *e, void *data)
{
	h5_detail *d = data;
	const char *s = e->desc && e->desc[0] ? e->desc : e->func_name;
	(void)n;
	if (!s)
		return 0;
	if (d->n == 0)
		snprintf(d->outer, sizeof d->outer, "%s", s);
	snprintf(d->inner, sizeof d->inner, "%s", s);
	d->n++;
	return 0;
}

/* Turn the HDF5 error stack (printing is off) into a message naming the file
 * and the object; the failure is sticky. */
static int h5_fail(recorder *r, fs_error *err, const char *obj, const char *what)
{
	h5_detail d;
	memset(&d, 0, sizeof d);
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_walk, &d);
	H5Eclear2(H5E_DEFAULT);
	char detail[420];
	if (d.n == 0)
		snprintf(detail, sizeof detail, "no detail from the library");
	else if (d.n == 1 || strcmp(d.outer, d.inner) == 0)
		snprintf(detail, sizeof detail, "%s", d.outer);
	else
		snprintf(detail, sizeof detail, "%s: %s", d.outer, d.inner);
	return fail(r, 1, err, FS_ERR_HDF5, "%s: %s: cannot %s (HDF5: %s)", r->path, obj, what,
		    detail);
}

/* The error an earlier sticky failure left behind. */
static int stopped(const recorder *r, fs_error *err)
{
	return fs_error_msg(err, r->fail_code, "%s: recording stopped after an earlier error: %s",
			    r->path, r->fail_msg);
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* Copy src into dst[cap] (cap >= 1), zero-filling the rest so that no stray
 * bytes reach the file, and cutting at a UTF-8 character boundary so that a
 * truncated string is still valid UTF-8.  Returns the bytes copied. */
static size_t utf8_copy(char *dst, size_t cap, const char *src)
{
	memset(dst, 0, cap);
	if (!src)
		return 0;
	size_t n = strlen(src);
	if (n > cap - 1) {
		n = cap - 1;
		/* back off over continuation bytes to the start of the cut character */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	return n;
}

static void close_id(hid_t *id, herr_t (*fn)(hid_t))
{
	if (*id >= 0)
		fn(*id);
	*id = H5I_INVALID_HID;
}

/* A fixed-length, NUL-terminated UTF-8 string type holding len bytes. */
static hid_t str_type(size_t len)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t < 0)
		return t;
	if (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
	    H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
		H5Tclose(t);
		return H5I_INVALID_HID;
	}
	return t;
}

/* Write a string attribute; returns < 0 with the HDF5 error stack set.
 * Attributes are variable-length UTF-8 strings, which h5py hands back as
 * Python str (fixed-length ones come back as bytes), so that
 * f[name].attrs["units"] == "W" reads naturally. */
static int attr_str(hid_t obj, const char *name, const char *val)
{
	char text[REC_ATTR_MAX + 1];
	utf8_copy(text, sizeof text, val ? val : "");
	const char *p = text;
	hid_t t = H5Tcopy(H5T_C_S1);
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5I_INVALID_HID;
	int rc = -1;
	if (t >= 0 && sp >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
	    H5Tset_cset(t, H5T_CSET_UTF8) >= 0)
		a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && H5Awrite(a, t, &p) >= 0)
		rc = 0;
	close_id(&a, H5Aclose);
	close_id(&sp, H5Sclose);
	close_id(&t, H5Tclose);
	return rc;
}

/* Write a numeric scalar attribute stored as ftype from memory type mtype. */
static int attr_num(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5I_INVALID_HID;
	int rc = -1;
	if (sp >= 0)
		a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && H5Awrite(a, mtype, v) >= 0)
		rc = 0;
	close_id(&a, H5Aclose);
	close_id(&sp, H5Sclose);
	return rc;
}

static int attrs_ud(hid_t obj, const char *units, const char *desc)
{
	return attr_str(obj, "units", units) < 0 || attr_str(obj, "description", desc) < 0 ? -1 : 0;
}

/* A dataset creation property list without time stamps; chunked and
 * compressed when rank > 0.  Doubles get NaN as fill value so that rows a
 * late series never saw read as "no data". */
static hid_t make_dcpl(const recorder *r, int rank, const hsize_t *chunk, int nan_fill)
{
	hid_t p = H5Pcreate(H5P_DATASET_CREATE);
	if (p < 0)
		return p;
	const double nan = NAN;
	if (H5Pset_obj_track_times(p, 0) < 0)
		goto bad;
	if (rank > 0) {
		if (H5Pset_chunk(p, rank, chunk) < 0)
			goto bad;
		if (r->level > 0 && (H5Pset_shuffle(p) < 0 || H5Pset_deflate(p, (unsigned)r->level) < 0))
			goto bad;
	}
	if (nan_fill && H5Pset_fill_value(p, H5T_NATIVE_DOUBLE, &nan) < 0)
		goto bad;
	return p;
bad:
	H5Pclose(p);
	return H5I_INVALID_HID;
}

/* Check a series or summary path: relative, components separated by single
 * slashes, no "." or "..".  Returns NULL if fine, else what is wrong. */
static const char *bad_path(const char *p)
{
	if (!p || !p[0])
		return "is empty";
	if (strlen(p) > REC_PATH_MAX)
		return "is longer than 1024 bytes";
	if (p[0] == '/')
		return "must be relative (no leading '/')";
	const char *c = p;
	while (*c) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0)
			return "has an empty component ('//' or a trailing '/')";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "has a '.' or '..' component";
		if (!e)
			break;
		c = e + 1;
		if (!*c)
			return "has an empty component ('//' or a trailing '/')";
	}
	return NULL;
}

/* 1 when a is b or one is a group on the path of the other ("a" vs "a/b"). */
static int path_clash(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	size_t n = na < nb ? na : nb;
	if (strncmp(a, b, n) != 0)
		return 0;
	return na == nb || (na < nb ? b[na] == '/' : a[nb] == '/');
}

/* Create the groups on the way to path (all but its last component) under
 * parent.  We create them ourselves rather than through the link property
 * "create intermediate groups", so that they too go without time stamps. */
static int make_groups(recorder *r, hid_t parent, const char *root, const char *path,
		       fs_error *err)
{
	char pre[REC_PATH_MAX + 1];
	char obj[REC_PATH_MAX + 32];
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		size_t n = (size_t)(s - path);
		memcpy(pre, path, n);
		pre[n] = '\0';
		snprintf(obj, sizeof obj, "%s/%s", root, pre);
		htri_t ex = H5Lexists(parent, pre, H5P_DEFAULT);
		if (ex < 0)
			return h5_fail(r, err, obj, "look up group");
		if (ex > 0)
			continue;
		hid_t g = H5Gcreate2(parent, pre, H5P_DEFAULT, r->gcpl, H5P_DEFAULT);
		if (g < 0)
			return h5_fail(r, err, obj, "create group");
		H5Gclose(g);
	}
	return FS_OK;
}

/* --- series ------------------------------------------------------------- */

static int series_alloc(recorder *r, series *s, const char *path, size_t width)
{
	s->dset = H5I_INVALID_HID;
	s->width = width;
	s->path = dup_str(path);
	s->cur = malloc(width * sizeof *s->cur);
	s->buf = malloc((size_t)r->chunk_rows * width * sizeof *s->buf);
	if (!s->path || !s->cur || !s->buf)
		return -1;
	for (size_t i = 0; i < width; i++)
		s->cur[i] = NAN;
	/* rows committed before a late declare must read as NaN */
	for (size_t i = 0; i < (size_t)r->chunk_rows * width; i++)
		s->buf[i] = NAN;
	return 0;
}

static void series_free(series *s)
{
	close_id(&s->dset, H5Dclose);
	free(s->path);
	free(s->cur);
	free(s->buf);
	s->path = NULL;
	s->cur = s->buf = NULL;
}

/* Create /timeseries/PATH with r->rows rows already (NaN) so that it lines
 * up with the series declared before it. */
static int series_create(recorder *r, series *s, const char *units, const char *desc,
			 fs_error *err)
{
	char obj[REC_PATH_MAX + 32];
	snprintf(obj, sizeof obj, "/timeseries/%s", s->path);
	int rank = s->width > 1 ? 2 : 1;
	hsize_t dims[2] = { r->rows, s->width };
	hsize_t maxd[2] = { H5S_UNLIMITED, s->width };
	hsize_t chunk[2] = { r->chunk_rows, s->width };
	if (rank == 2) {
		/* about 1 MiB per chunk: big enough to compress well, small enough
		 * that reading one column over a short span stays cheap */
		size_t rows = REC_CHUNK_BYTES / (s->width * sizeof(double));
		if (rows < 1)
			rows = 1;
		if (rows < chunk[0])
			chunk[0] = rows;
	}
	hid_t sp = H5Screate_simple(rank, dims, maxd);
	hid_t dcpl = make_dcpl(r, rank, chunk, 1);
	int rc = FS_OK;
	if (sp < 0 || dcpl < 0)
		rc = h5_fail(r, err, obj, "set up dataset");
	if (rc == FS_OK) {
		s->dset = H5Dcreate2(r->g_ts, s->path, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl,
				     H5P_DEFAULT);
		if (s->dset < 0)
			rc = h5_fail(r, err, obj, "create dataset");
	}
	if (rc == FS_OK && attrs_ud(s->dset, units, desc) < 0)
		rc = h5_fail(r, err, obj, "write units/description");
	close_id(&dcpl, H5Pclose);
	close_id(&sp, H5Sclose);
	return rc;
}

/* Append the n buffered rows of s at row r->rows. */
static int series_write(recorder *r, series *s, size_t n, fs_error *err)
{
	char obj[REC_PATH_MAX + 32];
	snprintf(obj, sizeof obj, "/timeseries/%s", s->path);
	int rank = s->width > 1 ? 2 : 1;
	hsize_t dims[2] = { r->rows + n, s->width };
	hsize_t off[2] = { r->rows, 0 };
	hsize_t cnt[2] = { n, s->width };
	if (H5Dset_extent(s->dset, dims) < 0)
		return h5_fail(r, err, obj, "extend dataset");
	hid_t fs = H5Dget_space(s->dset);
	hid_t ms = H5Screate_simple(rank, cnt, NULL);
	int rc = FS_OK;
	if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
	    H5Dwrite(s->dset, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, s->buf) < 0)
		rc = h5_fail(r, err, obj, "write rows");
	close_id(&ms, H5Sclose);
	close_id(&fs, H5Sclose);
	return rc;
}

/* Write every buffered row of every series, time first. */
static int flush_rows(recorder *r, fs_error *err)
{
	if (r->nbuf == 0)
		return FS_OK;
	int rc = series_write(r, &r->time, r->nbuf, err);
	for (size_t i = 0; rc == FS_OK && i < r->nser; i++)
		rc = series_write(r, &r->ser[i], r->nbuf, err);
	if (rc != FS_OK)
		return rc;
	r->rows += r->nbuf;
	r->nbuf = 0;
	return FS_OK;
}

/* --- events ------------------------------------------------------------- */

static int events_create(recorder *r, fs_error *err)
{
	hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(ev_row));
	hid_t sk = str_type(EV_KIND - 1), ss = str_type(EV_SUBJECT - 1);
	hid_t su = str_type(EV_UNITS - 1), sd = str_type(EV_DETAIL - 1);
	int rc = FS_OK;
	if (t < 0 || sk < 0 || ss < 0 || su < 0 || sd < 0 ||
	    H5Tinsert(t, "time", HOFFSET(ev_row, time), H5T_NATIVE_DOUBLE) < 0 ||
	    H5Tinsert(t, "kind", HOFFSET(ev_row, kind), sk) < 0 ||
	    H5Tinsert(t, "subject", HOFFSET(ev_row, subject), ss) < 0 ||
	    H5Tinsert(t, "value", HOFFSET(ev_row, value), H5T_NATIVE_DOUBLE) < 0 ||
	    H5Tinsert(t, "units", HOFFSET(ev_row, units), su) < 0 ||
	    H5Tinsert(t, "detail", HOFFSET(ev_row, detail), sd) < 0)
		rc = h5_fail(r, err, "/events", "build the row type");
	close_id(&sk, H5Tclose);
	close_id(&ss, H5Tclose);
	close_id(&su, H5Tclose);
	close_id(&sd, H5Tclose);
	if (rc != FS_OK) {
		close_id(&t, H5Tclose);
		return rc;
	}
	r->ev_type = t;

	hsize_t dims[1] = { 0 }, maxd[1] = { H5S_UNLIMITED }, chunk[1] = { r->chunk_rows };
	size_t rows = REC_CHUNK_BYTES / sizeof(ev_row);
	if (rows < chunk[0])
		chunk[0] = rows;
	hid_t sp = H5Screate_simple(1, dims, maxd);
	hid_t dcpl = make_dcpl(r, 1, chunk, 0);
	if (sp < 0 || dcpl < 0)
		rc = h5_fail(r, err, "/events", "set up dataset");
	if (rc == FS_OK) {
		/* the memory layout has no padding (all fields are multiples of
		 * 8 bytes), so the same type serves as the file type */
		r->ev_dset = H5Dcreate2(r->file, "events", t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		if (r->ev_dset < 0)
			rc = h5_fail(r, err, "/events", "create dataset");
	}
	if (rc == FS_OK &&
	    attrs_ud(r->ev_dset, "s for time; value per row units column",
		     "notable events (grid events, faults, trips, throttling onsets): time, kind, "
		     "subject, value with its units, free-text detail") < 0)
		rc = h5_fail(r, err, "/events", "write units/description");
	close_id(&dcpl, H5Pclose);
	close_id(&sp, H5Sclose);
	return rc;
}

static int flush_events(recorder *r, fs_error *err)
{
	if (r->ev_nbuf == 0)
		return FS_OK;
	hsize_t dims[1] = { r->ev_rows + r->ev_nbuf };
	hsize_t off[1] = { r->ev_rows }, cnt[1] = { r->ev_nbuf };
	if (H5Dset_extent(r->ev_dset, dims) < 0)
		return h5_fail(r, err, "/events", "extend dataset");
	hid_t fs = H5Dget_space(r->ev_dset);
	hid_t ms = H5Screate_simple(1, cnt, NULL);
	int rc = FS_OK;
	if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
	    H5Dwrite(r->ev_dset, r->ev_type, ms, fs, H5P_DEFAULT, r->ev_buf) < 0)
		rc = h5_fail(r, err, "/events", "write rows");
	close_id(&ms, H5Sclose);
	close_id(&fs, H5Sclose);
	if (rc == FS_OK) {
		r->ev_rows += r->ev_nbuf;
		r->ev_nbuf = 0;
	}
	return rc;
}

/* --- requests ----------------------------------------------------------- */

/* The fields of /requests in file order: name, offset in the packed row,
 * kind, units and description.  Rows are packed field by field into a byte
 * buffer laid out exactly as the file type (no padding, 61 bytes), so that
 * the write needs no compound conversion on little-endian hosts (HDF5's
 * struct conversion would cost more than the compression) and no padding
 * byte of the caller's struct ever reaches the file.  The memory type has
 * native members at the same offsets; on a big-endian host HDF5 swaps. */
enum { RQ_U64, RQ_U32, RQ_I32, RQ_F64, RQ_U8 };
enum {
	RQ_O_ID = 0, RQ_O_CLASS = 8, RQ_O_REPLICA = 12, RQ_O_PREFILL = 16, RQ_O_ARRIVAL = 20,
	RQ_O_FIRST = 28, RQ_O_FINISH = 36, RQ_O_INPUT = 44, RQ_O_OUTPUT = 48, RQ_O_CACHED = 52,
	RQ_O_PREEMPT = 56, RQ_O_SLO = 60, RQ_ROW = 61
};

typedef struct rq_field {
	const char *name;
	size_t off;
	int kind;
	const char *units;
	const char *desc;
} rq_field;

static const rq_field RQ_FIELDS[] = {
	{ "id", RQ_O_ID, RQ_U64, "1", "request id" },
	{ "class", RQ_O_CLASS, RQ_U32, "1", "workload class index (into the `classes` attribute)" },
	{ "replica", RQ_O_REPLICA, RQ_I32, "1", "decode (or only) replica; -1 if never served" },
	{ "prefill_replica", RQ_O_PREFILL, RQ_I32, "1",
	  "prefill replica when disaggregated, else = replica" },
	{ "arrival", RQ_O_ARRIVAL, RQ_F64, "s", "arrival time" },
	{ "first_token", RQ_O_FIRST, RQ_F64, "s", "time of the first output token; NaN if none" },
	{ "finish", RQ_O_FINISH, RQ_F64, "s", "time the request finished; NaN if it did not" },
	{ "input_tokens", RQ_O_INPUT, RQ_U32, "tokens", "prompt length" },
	{ "output_tokens", RQ_O_OUTPUT, RQ_U32, "tokens", "output tokens generated" },
	{ "cached_tokens", RQ_O_CACHED, RQ_U32, "tokens",
	  "input tokens served from the prefix cache" },
	{ "preemptions", RQ_O_PREEMPT, RQ_U32, "1", "times the request was preempted" },
	{ "slo_met", RQ_O_SLO, RQ_U8, "1", "1 if every SLO of its class was met, 0 if not" },
};
#define RQ_NFIELDS (sizeof RQ_FIELDS / sizeof RQ_FIELDS[0])
#define RQ_MAX_CLASSES 1024 /* 16 B each in the object header, which holds 64 KiB */

static hid_t rq_native(int kind)
{
	switch (kind) {
	case RQ_U64: return H5T_NATIVE_UINT64;
	case RQ_U32: return H5T_NATIVE_UINT32;
	case RQ_I32: return H5T_NATIVE_INT32;
	case RQ_F64: return H5T_NATIVE_DOUBLE;
	default: return H5T_NATIVE_UINT8;
	}
}

static hid_t rq_file(int kind)
{
	switch (kind) {
	case RQ_U64: return H5T_STD_U64LE;
	case RQ_U32: return H5T_STD_U32LE;
	case RQ_I32: return H5T_STD_I32LE;
	case RQ_F64: return H5T_IEEE_F64LE;
	default: return H5T_STD_U8LE;
	}
}

/* A 1-D attribute of n variable-length UTF-8 strings (h5py: an array of str;
 * n may be 0).  Returns < 0 with the HDF5 error stack set. */
static int attr_str_array(hid_t obj, const char *name, const char *const *v, size_t n)
{
	hsize_t dims[1] = { n };
	hid_t t = H5Tcopy(H5T_C_S1);
	hid_t sp = H5Screate_simple(1, dims, NULL);
	hid_t a = H5I_INVALID_HID;
	int rc = -1;
	if (t >= 0 && sp >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
	    H5Tset_cset(t, H5T_CSET_UTF8) >= 0)
		a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0 && (n == 0 || H5Awrite(a, t, v) >= 0))
		rc = 0;
	close_id(&a, H5Aclose);
	close_id(&sp, H5Sclose);
	close_id(&t, H5Tclose);
	return rc;
}

/* Pack one row at the offsets of RQ_FIELDS: straight-line copies, the hot path. */
static inline void rq_pack(unsigned char *p, const rec_request *q)
{
	memcpy(p + RQ_O_ID, &q->id, 8);
	memcpy(p + RQ_O_CLASS, &q->cls, 4);
	memcpy(p + RQ_O_REPLICA, &q->replica, 4);
	memcpy(p + RQ_O_PREFILL, &q->prefill_replica, 4);
	memcpy(p + RQ_O_ARRIVAL, &q->arrival_s, 8);
	memcpy(p + RQ_O_FIRST, &q->first_token_s, 8);
	memcpy(p + RQ_O_FINISH, &q->finish_s, 8);
	memcpy(p + RQ_O_INPUT, &q->input_tokens, 4);
	memcpy(p + RQ_O_OUTPUT, &q->output_tokens, 4);
	memcpy(p + RQ_O_CACHED, &q->cached_tokens, 4);
	memcpy(p + RQ_O_PREEMPT, &q->preemptions, 4);
	p[RQ_O_SLO] = q->slo_met;
}

static int requests_create(recorder *r, fs_error *err)
{
	hid_t mt = H5Tcreate(H5T_COMPOUND, RQ_ROW);
	hid_t ft = H5Tcreate(H5T_COMPOUND, RQ_ROW);
	int rc = mt < 0 || ft < 0 ? -1 : 0;
	size_t off = 0;
	for (size_t i = 0; rc == 0 && i < RQ_NFIELDS; i++) {
		const rq_field *q = &RQ_FIELDS[i];
		if (q->off != off) /* the offsets must tile the row (see rq_pack) */
			break;
		if (H5Tinsert(mt, q->name, q->off, rq_native(q->kind)) < 0 ||
		    H5Tinsert(ft, q->name, q->off, rq_file(q->kind)) < 0)
			rc = -1;
		off += H5Tget_size(rq_file(q->kind));
	}
	if (rc == 0 && off != RQ_ROW) {
		close_id(&mt, H5Tclose);
		close_id(&ft, H5Tclose);
		return fail(r, 1, err, FS_ERR_INTERNAL, "%s: /requests: field offsets do not tile "
			    "the %d-byte row", r->path, RQ_ROW);
	}
	if (rc < 0) {
		close_id(&mt, H5Tclose);
		close_id(&ft, H5Tclose);
		return h5_fail(r, err, "/requests", "build the row type");
	}
	r->rq_mtype = mt;

	hsize_t dims[1] = { 0 }, maxd[1] = { H5S_UNLIMITED }, chunk[1] = { r->chunk_rows };
	size_t rows = REC_CHUNK_BYTES / RQ_ROW;
	if (rows < chunk[0])
		chunk[0] = rows;
	hid_t sp = H5Screate_simple(1, dims, maxd);
	hid_t dcpl = make_dcpl(r, 1, chunk, 0);
	int st = FS_OK;
	if (sp < 0 || dcpl < 0)
		st = h5_fail(r, err, "/requests", "set up dataset");
	if (st == FS_OK) {
		r->rq_dset = H5Dcreate2(r->file, "requests", ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		if (r->rq_dset < 0)
			st = h5_fail(r, err, "/requests", "create dataset");
	}
	if (st == FS_OK) {
		const char *units[RQ_NFIELDS], *descs[RQ_NFIELDS];
		for (size_t i = 0; i < RQ_NFIELDS; i++) {
			units[i] = RQ_FIELDS[i].units;
			descs[i] = RQ_FIELDS[i].desc;
		}
		if (attrs_ud(r->rq_dset,
			     "s for arrival, first_token, finish; tokens for *_tokens; 1 otherwise "
			     "(per field: field_units)",
			     "one row per finished or dropped request, as sampled by the caller; "
			     "class indexes the classes attribute") < 0 ||
		    attr_str_array(r->rq_dset, "field_units", units, RQ_NFIELDS) < 0 ||
		    attr_str_array(r->rq_dset, "field_descriptions", descs, RQ_NFIELDS) < 0)
			st = h5_fail(r, err, "/requests", "write attributes");
	}
	close_id(&dcpl, H5Pclose);
	close_id(&sp, H5Sclose);
	close_id(&ft, H5Tclose);
	return st;
}

static int flush_requests(recorder *r, fs_error *err)
{
	if (r->rq_nbuf == 0)
		return FS_OK;
	hsize_t dims[1] = { r->rq_rows + r->rq_nbuf };
	hsize_t off[1] = { r->rq_rows }, cnt[1] = { r->rq_nbuf };
	if (H5Dset_extent(r->rq_dset, dims) < 0)
		return h5_fail(r, err, "/requests", "extend dataset");
	hid_t fs = H5Dget_space(r->rq_dset);
	hid_t ms = H5Screate_simple(1, cnt, NULL);
	int rc = FS_OK;
	if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
	    H5Dwrite(r->rq_dset, r->rq_mtype, ms, fs, H5P_DEFAULT, r->rq_buf) < 0)
		rc = h5_fail(r, err, "/requests", "write rows");
	close_id(&ms, H5Sclose);
	close_id(&fs, H5Sclose);
	if (rc == FS_OK) {
		r->rq_rows += r->rq_nbuf;
		r->rq_nbuf = 0;
	}
	return rc;
}

/* --- the rec_sink functions --------------------------------------------- */

/* The sink's entry points that reach HDF5 take the process-wide lock
 * (h5lock.h); set() and buffered appends stay lock-free. */
static int flush_locked(recorder *r, int (*flush)(recorder *, fs_error *), fs_error *err)
{
	fs_h5_lock();
	int rc = flush(r, err);
	fs_h5_unlock();
	return rc;
}

static int rec_declare_fn(void *ctx, const char *path, const char *units, const char *desc,
			  size_t width, fs_error *err)
{
	recorder *r = ctx;
	if (r->failed)
		return -stopped(r, err);
	const char *why = bad_path(path);
	if (why)
		return -fail(r, 0, err, FS_ERR_INTERNAL, "%s: series path '%.200s' %s", r->path,
			     path ? path : "(null)", why);
	if (width == 0)
		return -fail(r, 0, err, FS_ERR_INTERNAL, "%s: series '%.200s': width must be >= 1",
			     r->path, path);
	if ((size_t)-1 / sizeof(double) / r->chunk_rows < width)
		return -fail(r, 0, err, FS_ERR_NOMEM, "%s: series '%.200s': width %zu is too large",
			     r->path, path, width);
	if (!units || !units[0])
		return -fail(r, 0, err, FS_ERR_INTERNAL,
			     "%s: series '%.200s': units must not be empty (\"1\" if dimensionless)",
			     r->path, path);
	if (!desc || !desc[0])
		return -fail(r, 0, err, FS_ERR_INTERNAL,
			     "%s: series '%.200s': description must not be empty", r->path, path);
	if (path_clash(path, "time"))
		return -fail(r, 0, err, FS_ERR_INTERNAL,
			     "%s: series '%.200s': 'time' is reserved for the tick times", r->path, path);
	for (size_t i = 0; i < r->nser; i++)
		if (path_clash(path, r->ser[i].path))
			return -fail(r, 0, err, FS_ERR_INTERNAL,
				     "%s: series '%.200s' clashes with series '%.200s' declared earlier",
				     r->path, path, r->ser[i].path);
	if (r->nser > (size_t)0x7fffffff - 1)
		return -fail(r, 0, err, FS_ERR_INTERNAL, "%s: too many series", r->path);
	if (r->nser == r->cap_ser) {
		size_t cap = r->cap_ser ? 2 * r->cap_ser : 16;
		series *p = realloc(r->ser, cap * sizeof *p);
		if (!p)
			return -fail(r, 1, err, FS_ERR_NOMEM, "%s: out of memory declaring '%.200s'",
				     r->path, path);
		r->ser = p;
		r->cap_ser = cap;
	}
	series *s = &r->ser[r->nser];
	memset(s, 0, sizeof *s);
	if (series_alloc(r, s, path, width) < 0) {
		series_free(s);
		/* not sticky: nothing reached the file yet */
		return -fail(r, 0, err, FS_ERR_NOMEM,
			     "%s: out of memory for series '%.200s' (%u rows x %zu columns)", r->path,
			     path, r->chunk_rows, width);
	}
	int rc = make_groups(r, r->g_ts, "/timeseries", path, err);
	if (rc == FS_OK)
		rc = series_create(r, s, units, desc, err);
	if (rc != FS_OK) {
		series_free(s);
		return -rc;
	}
	return (int)r->nser++;
}

static void rec_set_fn(void *ctx, int id, size_t col, double v)
{
	recorder *r = ctx;
	if (id < 0 || (size_t)id >= r->nser) {
		if (!r->misuse[0])
			snprintf(r->misuse, sizeof r->misuse, "set() on unknown series id %d", id);
		return;
	}
	series *s = &r->ser[id];
	if (col >= s->width) {
		if (!r->misuse[0])
			snprintf(r->misuse, sizeof r->misuse,
				 "set() on column %zu of series '%.200s', which has %zu", col, s->path,
				 s->width);
		return;
	}
	s->cur[col] = v;
}

static int rec_commit_fn(void *ctx, double t_s, fs_error *err)
{
	recorder *r = ctx;
	if (r->failed)
		return stopped(r, err);
	if (r->misuse[0]) {
		int rc = fs_error_msg(err, FS_ERR_INTERNAL, "%s: %s", r->path, r->misuse);
		r->misuse[0] = '\0';
		return rc;
	}
	if (!isfinite(t_s) || (r->have_t && t_s < r->last_t))
		return fs_error_msg(err, FS_ERR_INTERNAL,
				    "%s: commit at t = %g s: times must be finite and non-decreasing "
				    "(last %g s)", r->path, t_s, r->have_t ? r->last_t : 0.0);
	r->time.buf[r->nbuf] = t_s;
	for (size_t i = 0; i < r->nser; i++) {
		series *s = &r->ser[i];
		memcpy(s->buf + r->nbuf * s->width, s->cur, s->width * sizeof *s->cur);
	}
	r->nbuf++;
	r->last_t = t_s;
	r->have_t = 1;
	return r->nbuf == r->chunk_rows ? flush_locked(r, flush_rows, err) : FS_OK;
}

static int rec_event_fn(void *ctx, double t_s, const char *kind, const char *subject, double value,
			const char *units, const char *detail, fs_error *err)
{
	recorder *r = ctx;
	if (r->failed)
		return stopped(r, err);
	if (!isfinite(t_s))
		return fs_error_msg(err, FS_ERR_INTERNAL, "%s: event '%.200s' at non-finite time",
				    r->path, kind ? kind : "");
	ev_row *e = &r->ev_buf[r->ev_nbuf];
	memset(e, 0, sizeof *e);
	e->time = t_s;
	e->value = value;
	utf8_copy(e->kind, sizeof e->kind, kind);
	utf8_copy(e->subject, sizeof e->subject, subject);
	utf8_copy(e->units, sizeof e->units, units);
	utf8_copy(e->detail, sizeof e->detail, detail);
	r->ev_nbuf++;
	return r->ev_nbuf == r->chunk_rows ? flush_locked(r, flush_events, err) : FS_OK;
}

/* The hot path: checks, one packed copy, and a write every chunk_rows rows. */
static int rec_request_fn(void *ctx, const rec_request *row, fs_error *err)
{
	recorder *r = ctx;
	if (r->failed)
		return stopped(r, err);
	if (!row)
		return fs_error_msg(err, FS_ERR_INTERNAL, "%s: request(): NULL row", r->path);
	if (r->have_classes && row->cls >= r->nclasses)
		return fs_error_msg(err, FS_ERR_INTERNAL,
				    "%s: request %llu: class %u, but only %zu classes are named",
				    r->path, (unsigned long long)row->id, (unsigned)row->cls,
				    r->nclasses);
	if (!isfinite(row->arrival_s))
		return fs_error_msg(err, FS_ERR_INTERNAL,
				    "%s: request %llu: arrival time is not finite", r->path,
				    (unsigned long long)row->id);
	rq_pack(r->rq_buf + r->rq_nbuf * RQ_ROW, row);
	r->rq_nbuf++;
	return r->rq_nbuf == r->chunk_rows ? flush_locked(r, flush_requests, err) : FS_OK;
}

static int rec_classes_fn(void *ctx, const char *const *names, size_t n, fs_error *err)
{
	recorder *r = ctx;
	if (r->failed)
		return stopped(r, err);
	if (r->have_classes)
		return fs_error_msg(err, FS_ERR_INTERNAL, "%s: classes() called twice", r->path);
	if (n > RQ_MAX_CLASSES)
		return fs_error_msg(err, FS_ERR_INTERNAL, "%s: %zu classes; at most %d are recorded",
				    r->path, n, RQ_MAX_CLASSES);
	if (n > 0 && !names)
		return fs_error_msg(err, FS_ERR_INTERNAL, "%s: classes(): NULL names", r->path);
	for (size_t i = 0; i < n; i++)
		if (!names[i] || !names[i][0])
			return fs_error_msg(err, FS_ERR_INTERNAL, "%s: class %zu has no name", r->path,
					    i);
	if (attr_str_array(r->rq_dset, "classes", names, n) < 0)
		return h5_fail(r, err, "/requests", "write attribute classes");
	r->have_classes = 1;
	r->nclasses = n;
	return FS_OK;
}

static int rec_summary_fn(void *ctx, const char *name, double value, const char *units,
			  const char *desc, fs_error *err)
{
	recorder *r = ctx;
	if (r->failed)
		return stopped(r, err);
	const char *why = bad_path(name);
	if (why)
		return fail(r, 0, err, FS_ERR_INTERNAL, "%s: summary name '%.200s' %s", r->path,
			    name ? name : "(null)", why);
	if (!units || !units[0])
		return fail(r, 0, err, FS_ERR_INTERNAL,
			    "%s: summary '%.200s': units must not be empty (\"1\" if dimensionless)",
			    r->path, name);
	if (!desc || !desc[0])
		return fail(r, 0, err, FS_ERR_INTERNAL,
			    "%s: summary '%.200s': description must not be empty", r->path, name);
	for (size_t i = 0; i < r->nsum; i++)
		if (path_clash(name, r->sum[i]))
			return fail(r, 0, err, FS_ERR_INTERNAL,
				    "%s: summary '%.200s' clashes with summary '%.200s' written earlier",
				    r->path, name, r->sum[i]);
	if (r->nsum == r->cap_sum) {
		size_t cap = r->cap_sum ? 2 * r->cap_sum : 16;
		char **p = realloc(r->sum, cap * sizeof *p);
		if (!p)
			return fail(r, 0, err, FS_ERR_NOMEM, "%s: out of memory", r->path);
		r->sum = p;
		r->cap_sum = cap;
	}
	char *copy = dup_str(name);
	if (!copy)
		return fail(r, 0, err, FS_ERR_NOMEM, "%s: out of memory", r->path);

	char obj[REC_PATH_MAX + 32];
	snprintf(obj, sizeof obj, "/summary/%s", name);
	int rc = make_groups(r, r->g_summary, "/summary", name, err);
	hid_t sp = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
	if (rc == FS_OK) {
		sp = H5Screate(H5S_SCALAR);
		dcpl = make_dcpl(r, 0, NULL, 0);
		if (sp >= 0 && dcpl >= 0)
			d = H5Dcreate2(r->g_summary, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl,
				       H5P_DEFAULT);
		if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
			rc = h5_fail(r, err, obj, "write scalar");
		else if (attrs_ud(d, units, desc) < 0)
			rc = h5_fail(r, err, obj, "write units/description");
	}
	close_id(&d, H5Dclose);
	close_id(&dcpl, H5Pclose);
	close_id(&sp, H5Sclose);
	if (rc != FS_OK) {
		free(copy);
		return rc;
	}
	r->sum[r->nsum++] = copy;
	return FS_OK;
}

static int locked_declare(void *ctx, const char *path, const char *units, const char *desc,
			  size_t width, fs_error *err)
{
	fs_h5_lock();
	int rc = rec_declare_fn(ctx, path, units, desc, width, err);
	fs_h5_unlock();
	return rc;
}

static int locked_classes(void *ctx, const char *const *names, size_t n, fs_error *err)
{
	fs_h5_lock();
	int rc = rec_classes_fn(ctx, names, n, err);
	fs_h5_unlock();
	return rc;
}

static int locked_summary(void *ctx, const char *name, double value, const char *units,
			  const char *desc, fs_error *err)
{
	fs_h5_lock();
	int rc = rec_summary_fn(ctx, name, value, units, desc, err);
	fs_h5_unlock();
	return rc;
}

/* --- open / close ------------------------------------------------------- */

/* Close every HDF5 id we hold, file last; returns H5Fclose's result. */
static herr_t release(recorder *r)
{
	close_id(&r->time.dset, H5Dclose);
	for (size_t i = 0; i < r->nser; i++)
		close_id(&r->ser[i].dset, H5Dclose);
	close_id(&r->ev_dset, H5Dclose);
	close_id(&r->ev_type, H5Tclose);
	close_id(&r->rq_dset, H5Dclose);
	close_id(&r->rq_mtype, H5Tclose);
	close_id(&r->g_ts, H5Gclose);
	close_id(&r->g_summary, H5Gclose);
	close_id(&r->gcpl, H5Pclose);
	herr_t rc = 0;
	if (r->file >= 0)
		rc = H5Fclose(r->file);
	r->file = H5I_INVALID_HID;
	return rc;
}

static void destroy(recorder *r)
{
	series_free(&r->time);
	for (size_t i = 0; i < r->nser; i++)
		series_free(&r->ser[i]);
	free(r->ser);
	for (size_t i = 0; i < r->nsum; i++)
		free(r->sum[i]);
	free(r->sum);
	free(r->ev_buf);
	free(r->rq_buf);
	free(r->path);
	free(r->tmp);
	free(r);
}

/* A scalar string dataset under /scenario with its attributes. */
static int scenario_text(recorder *r, hid_t g, const char *name, const char *text,
			 const char *desc, fs_error *err)
{
	char obj[64];
	snprintf(obj, sizeof obj, "/scenario/%s", name);
	if (!text)
		text = "";
	/* fixed-length: exactly strlen + 1 bytes, so the text round-trips
	 * byte for byte (h5py reads it as bytes; .decode() gives the YAML) */
	hid_t t = str_type(strlen(text));
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t dcpl = make_dcpl(r, 0, NULL, 0);
	hid_t d = H5I_INVALID_HID;
	int rc = FS_OK;
	if (t >= 0 && sp >= 0 && dcpl >= 0)
		d = H5Dcreate2(g, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0)
		rc = h5_fail(r, err, obj, "write text");
	else if (attrs_ud(d, "text", desc) < 0)
		rc = h5_fail(r, err, obj, "write units/description");
	close_id(&d, H5Dclose);
	close_id(&dcpl, H5Pclose);
	close_id(&sp, H5Sclose);
	close_id(&t, H5Tclose);
	return rc;
}

static int write_meta(recorder *r, const recorder_meta *m, fs_error *err)
{
	hid_t root = r->file;
	int complete = 0;
	const char *ver = m->version ? m->version : "unknown";
	const char *rev = m->git_revision ? m->git_revision : "unknown";
	if (attr_str(root, "program", "factorysim") < 0 || attr_str(root, "version", ver) < 0 ||
	    attr_str(root, "git_revision", rev) < 0 ||
	    attr_str(root, "scenario_name", m->scenario_name) < 0 ||
	    attr_str(root, "scenario_file", m->scenario_file) < 0 ||
	    attr_num(root, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &m->seed) < 0 ||
	    attr_num(root, "replication", H5T_STD_U32LE, H5T_NATIVE_UINT32, &m->replication) < 0 ||
	    attr_num(root, "tick_s", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->tick_s) < 0 ||
	    attr_num(root, "complete", H5T_STD_I32LE, H5T_NATIVE_INT, &complete) < 0 ||
	    attr_num(root, "partial", H5T_STD_I32LE, H5T_NATIVE_INT, &complete) < 0 ||
	    attr_str(root, "gpu_figures", m->gpu_figures ? m->gpu_figures : "") < 0)
		return h5_fail(r, err, "/", "write root attributes");

	hid_t g = H5Gcreate2(root, "scenario", H5P_DEFAULT, r->gcpl, H5P_DEFAULT);
	if (g < 0)
		return h5_fail(r, err, "/scenario", "create group");
	int rc = scenario_text(r, g, "given", m->scenario_given,
			       "the scenario YAML exactly as given", err);
	if (rc == FS_OK)
		rc = scenario_text(r, g, "resolved", m->scenario_resolved,
				   "the resolved scenario as YAML, every default filled in", err);
	H5Gclose(g);
	if (rc != FS_OK)
		return rc;

	r->g_ts = H5Gcreate2(root, "timeseries", H5P_DEFAULT, r->gcpl, H5P_DEFAULT);
	if (r->g_ts < 0)
		return h5_fail(r, err, "/timeseries", "create group");
	r->g_summary = H5Gcreate2(root, "summary", H5P_DEFAULT, r->gcpl, H5P_DEFAULT);
	if (r->g_summary < 0)
		return h5_fail(r, err, "/summary", "create group");
	rc = series_create(r, &r->time, "s", "control tick time", err);
	if (rc == FS_OK)
		rc = events_create(r, err);
	if (rc == FS_OK)
		rc = requests_create(r, err);
	return rc;
}

/* A run killed by SIGKILL (or a crash) leaves PATH.tmp.PID behind, never a
 * file under PATH.  Before PATH is written again, such files whose process is
 * gone are removed; a live writer's (another run to the same PATH on this
 * host) is left alone.  Best effort: errors are ignored. */
static void remove_stale_tmp(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dlen = slash ? (size_t)(slash - path) : 1;
	char *dir = malloc(dlen + strlen(base) + 64 + 2);
	if (!dir)
		return;
	if (!slash)
		strcpy(dir, ".");
	else if (dlen == 0)
		strcpy(dir, "/");
	else
		snprintf(dir, dlen + 1, "%s", path);
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return;
	}
	size_t blen = strlen(base);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strncmp(n, base, blen) || strncmp(n + blen, ".tmp.", 5))
			continue;
		const char *digits = n + blen + 5;
		char *end;
		long pid = strtol(digits, &end, 10);
		if (end == digits || *end || *digits == '-' || *digits == '+' || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		errno = 0;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char *full = malloc(strlen(dir) + strlen(n) + 2);
		if (full) {
			sprintf(full, "%s/%s", dir, n);
			unlink(full);
			free(full);
		}
	}
	closedir(d);
	free(dir);
}

static int open_unlocked(const char *path, const recorder_meta *meta, const recorder_opts *opts,
			 recorder **out, fs_error *err)
{
	if (out)
		*out = NULL;
	if (!out || !meta)
		return fs_error_msg(err, FS_ERR_INTERNAL, "recorder_open: NULL argument");
	if (!path || !path[0])
		return fs_error_msg(err, FS_ERR_USAGE, "output file name is empty");
	int level = opts ? opts->compression : REC_DEFAULT_LEVEL;
	uint32_t chunk_rows = opts && opts->chunk_rows ? opts->chunk_rows : REC_DEFAULT_CHUNK_ROWS;
	if (level < 0 || level > 9)
		return fs_error_msg(err, FS_ERR_USAGE,
				    "%s: compression level %d; expected 0 (none) to 9", path, level);
	if (chunk_rows > REC_MAX_CHUNK_ROWS)
		return fs_error_msg(err, FS_ERR_USAGE, "%s: chunk_rows %u; expected 1 to %u", path,
				    chunk_rows, REC_MAX_CHUNK_ROWS);

	recorder *r = calloc(1, sizeof *r);
	if (!r)
		return fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory", path);
	r->file = r->gcpl = r->g_ts = r->g_summary = H5I_INVALID_HID;
	r->ev_dset = r->ev_type = H5I_INVALID_HID;
	r->rq_dset = r->rq_mtype = H5I_INVALID_HID;
	r->time.dset = H5I_INVALID_HID;
	r->level = level;
	r->chunk_rows = chunk_rows;
	size_t n = strlen(path) + 32;
	r->path = dup_str(path);
	r->tmp = malloc(n);
	r->ev_buf = calloc(chunk_rows, sizeof *r->ev_buf);
	r->rq_buf = calloc(chunk_rows, RQ_ROW);
	if (!r->path || !r->tmp || !r->ev_buf || !r->rq_buf || series_alloc(r, &r->time, "time", 1) < 0) {
		destroy(r);
		return fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory", path);
	}
	snprintf(r->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	remove_stale_tmp(path);
	r->sink = (rec_sink){ r, locked_declare, rec_set_fn, rec_commit_fn, rec_event_fn,
			      locked_summary, rec_request_fn, locked_classes };

	/* errors come back through fs_error; the library must not print */
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

	int rc = FS_OK;
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	/* v1.8 format: readable by every HDF5 still in use; SEMI close degree
	 * makes H5Fclose fail (rather than linger) if we ever leak an id */
	if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0 ||
	    H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI) < 0)
		rc = h5_fail(r, err, "/", "set up file access");
	if (rc == FS_OK) {
		errno = 0;
		r->file = H5Fcreate(r->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
		if (r->file < 0) {
			/* usually the file system (no such directory, no permission):
			 * errno says it best, the HDF5 stack is the fallback */
			int e = errno;
			h5_fail(r, NULL, "/", "create");
			if (e)
				rc = fs_error_msg(err, FS_ERR_IO, "%s: cannot create temporary file %s: %s",
						  path, r->tmp, strerror(e));
			else
				rc = fs_error_msg(err, FS_ERR_IO, "%s", r->fail_msg);
		}
	}
	close_id(&fapl, H5Pclose);
	if (rc == FS_OK) {
		r->gcpl = H5Pcreate(H5P_GROUP_CREATE);
		if (r->gcpl < 0 || H5Pset_obj_track_times(r->gcpl, 0) < 0)
			rc = h5_fail(r, err, "/", "set up group creation");
	}
	if (rc == FS_OK)
		rc = write_meta(r, meta, err);
	if (rc != FS_OK) {
		int created = r->file >= 0;
		release(r);
		if (created)
			unlink(r->tmp);
		destroy(r);
		return rc;
	}
	*out = r;
	return FS_OK;
}

rec_sink *recorder_sink(recorder *r)
{
	return r ? &r->sink : NULL;
}

const char *recorder_tmp_path(const recorder *r)
{
	return r ? r->tmp : NULL;
}

/* Make the bytes durable before the rename publishes them; a failure here
 * is an I/O error like any other. */
static int sync_file(const char *p)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Mark the file as the partial result of an interrupted run: complete stays
 * 0, partial = 1 and stopped_at_s = the simulated time reached. */
static int mark_partial(recorder *r, double stopped_at_s, fs_error *err)
{
	int one = 1;
	hid_t a = H5Aopen(r->file, "partial", H5P_DEFAULT);
	int rc = FS_OK;
	if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &one) < 0 ||
	    attr_num(r->file, "stopped_at_s", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &stopped_at_s) < 0)
		rc = h5_fail(r, err, "/", "set attributes partial and stopped_at_s");
	close_id(&a, H5Aclose);
	return rc;
}

static int close_unlocked(recorder *r, bool partial, double stopped_at_s, fs_error *err)
{
	int rc = FS_OK;
	if (r->failed)
		rc = stopped(r, err);
	if (rc == FS_OK)
		rc = flush_rows(r, err);
	if (rc == FS_OK)
		rc = flush_events(r, err);
	if (rc == FS_OK)
		rc = flush_requests(r, err);
	if (rc == FS_OK && !r->have_classes && attr_str_array(r->rq_dset, "classes", NULL, 0) < 0)
		rc = h5_fail(r, err, "/requests", "write attribute classes");
	if (rc == FS_OK && partial)
		rc = mark_partial(r, stopped_at_s, err);
	else if (rc == FS_OK) {
		int one = 1;
		hid_t a = H5Aopen(r->file, "complete", H5P_DEFAULT);
		if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &one) < 0)
			rc = h5_fail(r, err, "/", "set attribute complete");
		close_id(&a, H5Aclose);
	}
	if (release(r) < 0 && rc == FS_OK)
		rc = h5_fail(r, err, "/", "close the file");
	return rc;
}

/* After the HDF5 part: make the bytes durable and publish them under the
 * final name.  No HDF5 call, so it runs outside the lock: a sweep's threads
 * do not wait on each other's fsync. */
static int publish(recorder *r, int rc, fs_error *err)
{
	if (rc == FS_OK && sync_file(r->tmp) < 0)
		rc = fs_error_msg(err, FS_ERR_IO, "%s: cannot sync %s: %s", r->path, r->tmp,
				  strerror(errno));
	if (rc == FS_OK && rename(r->tmp, r->path) < 0)
		rc = fs_error_msg(err, FS_ERR_IO, "%s: cannot rename %s to it: %s", r->path, r->tmp,
				  strerror(errno));
	if (rc != FS_OK)
		unlink(r->tmp);
	destroy(r);
	return rc;
}

static void abort_unlocked(recorder *r)
{
	if (!r)
		return;
	release(r);
	H5Eclear2(H5E_DEFAULT);
	unlink(r->tmp);
	destroy(r);
}

int recorder_open(const char *path, const recorder_meta *meta, const recorder_opts *opts,
		  recorder **out, fs_error *err)
{
	fs_h5_lock();
	int rc = open_unlocked(path, meta, opts, out, err);
	fs_h5_unlock();
	return rc;
}

int recorder_close(recorder *r, fs_error *err)
{
	if (!r)
		return FS_OK;
	fs_h5_lock();
	int rc = close_unlocked(r, false, 0, err);
	fs_h5_unlock();
	return publish(r, rc, err);
}

int recorder_close_partial(recorder *r, double stopped_at_s, fs_error *err)
{
	if (!r)
		return FS_OK;
	fs_h5_lock();
	int rc = close_unlocked(r, true, stopped_at_s, err);
	fs_h5_unlock();
	return publish(r, rc, err);
}

void recorder_abort(recorder *r)
{
	fs_h5_lock();
	abort_unlocked(r);
	fs_h5_unlock();
}
