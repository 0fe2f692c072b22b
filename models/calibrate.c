/*
 * calibrate.c - reading calibration traces and fitting the GPU catalog's
 * efficiency curves and power figures to them (see calibrate.h).
 *
 * The fitted model (the inverse of the roofline in models/perf.c):
 *
 *   Compute, per precision p, over the gemm rows at p:
 *       achieved FLOP/s = peak[p] x e_c x m / (m + h_c) x f / f_max
 *   with m the GEMM's M (tokens in an iteration), e_c the plateau (0, 1],
 *   h_c >= 0 the M at which half the plateau is reached, f the row's SM clock
 *   (f_max when not sampled): perf.c scales compute by the same clock factor,
 *   so e_c is the efficiency at the clock the rows ran at.  The YAML takes the
 *   fp16/bf16 fit; fp8 and fp4 fits (relative to their own peaks) are reported.
 *
 *   Memory, over the read rows (stream rows fitted and reported separately;
 *   the YAML takes read, else stream):
 *       achieved B/s = mem_bw x e_m x b / (b + h_m)
 *   with b the bytes moved, e_m the plateau (0, 1], h_m >= 0 bytes.  The SM
 *   clock does not enter (HBM does not slow with it).
 *
 *   Power, over the rows with power_w:
 *       P = P_idle + (TDP - P_idle) x a x (f / f_max)^gamma
 *   with a = 1 for gemm rows with m >= 1024 (compute-bound), a = memory_activity
 *   (fitted) for read and stream rows.  P_idle is the mean of the idle rows;
 *   without idle rows it is fitted when the clock varies, else kept at the
 *   catalog's figure.  gamma is fitted only when the SM clock varies by more
 *   than 5 % across the power rows ((max - min) / max); otherwise it stays at
 *   the prior (the catalog's, 2.5 by default) and the report says so.
 *
 * Every fit is least squares on the logarithms (residual log model - log
 * measured), which suits the multiplicative scatter of timings and weighs a
 * 1 MiB read like an 8 GiB one.  It runs GSL's gsl_multifit_nlinear trust
 * region with analytic Jacobians.  A parameter that leaves its range (a
 * plateau above 1, a negative half size, gamma outside 0.5..5, an activity
 * outside 0..1) is held at the bound and the others refitted; its sigma is the
 * free fit's.  Sigmas are the square roots of the covariance diagonal
 * (gsl_multifit_nlinear_covar) times the residual variance chi^2 / (n - p),
 * carried through the parameter transforms (e = exp(q): sigma_e = e sigma_q).
 * R^2 is that of log(achieved); the RMS residual is of achieved / model - 1.
 */
#include "calibrate.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "textfield.h"

/* ======================================================================== */
/* Trace reading                                                             */
/* ======================================================================== */

#define CALIB_VERSION_LINE "# factorysim calibration trace v1"
#define CALIB_HEADER       "kind,precision,m,n,k,bytes,time_s,achieved,sm_clock_mhz,power_w,temp_c"

static const char *const kind_names[CALIB_NKIND] = {
    "gemm", "stream", "read", "attention", "idle",
};

enum col { C_KIND, C_PREC, C_M, C_N, C_K, C_BYTES, C_TIME, C_ACH, C_CLOCK, C_POWER, C_TEMP, NCOL };

static const char *const col_names[NCOL] = {
    "kind",     "precision",    "m",       "n",      "k", "bytes", "time_s",
    "achieved", "sm_clock_mhz", "power_w", "temp_c",
};

/* What a missing value of a column means, for messages. */
static const char *const col_what[NCOL] = {
    "",
    "fp16, bf16, fp8 or fp4",
    "the GEMM's M (or the attention batch) >= 1",
    "the GEMM's N >= 1",
    "the GEMM's K (or the attention context) >= 1",
    "the bytes moved >= 1",
    "the median kernel time in seconds > 0",
    "the achieved rate > 0 (FLOP/s for gemm, B/s otherwise)",
    "the SM clock in MHz > 0",
    "the board power in W > 0",
    "the GPU temperature in degC",
};

/* Bounds: counts are at least 1; the upper bounds keep every product in the
 * fit finite. */
static const double col_min[NCOL] = {
    0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};
static const double col_max[NCOL] = {
    0, 0, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e5, 1e5, 0,
};

enum prov {
	P_DEVICE,
	P_CC,
	P_DRIVER,
	P_CUDA,
	P_SMCLK,
	P_MEMCLK,
	P_PLIMIT,
	P_DATE,
	P_TOOL,
	P_SYNTH,
	NPROV
};

static const char *const prov_names[NPROV] = {
    "device",        "compute_capability", "driver", "cuda", "sm_clock_mhz",
    "mem_clock_mhz", "power_limit_w",      "date",   "tool", "synthetic",
};

const char *calib_kind_name(int kind)
{
	return kind >= 0 && kind < CALIB_NKIND ? kind_names[kind] : "?";
}

static const char *prec_name(int p)
{
	return p == HW_FP16 ? "fp16/bf16" : p == HW_FP8 ? "fp8" : p == HW_FP4 ? "fp4" : "-";
}

void calib_trace_clear(calib_trace *t)
{
	if (!t)
		return;
	free(t->rows);
	for (size_t i = 0; i < t->n_files; i++)
		free(t->files[i]);
	free(t->files);
	memset(t, 0, sizeof *t);
}

/* Read one line without its newline: 1 (with *len and *nl), 0 at the end,
 * -1 when longer than cap - 1 bytes. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len, bool *nl)
{
	size_t n = 0;
	int ch;
	bool any = false;
	*nl = false;
	while ((ch = getc(f)) != EOF) {
		any = true;
		if (ch == '\n') {
			*nl = true;
			break;
		}
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	*len = n;
	return any ? 1 : 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && textfield_blank(**s))
		(*s)++, (*n)--;
	while (*n > 0 && textfield_blank((*s)[*n - 1]))
		(*n)--;
}

static bool eq(const char *s, size_t n, const char *name)
{
	trim(&s, &n);
	return n == strlen(name) && memcmp(s, name, n) == 0;
}

/* Split s[0..n) at commas into at most max fields; returns the count (max + 1
 * means "more than max"). */
static int split(const char *s, size_t n, size_t *start, size_t *len, int max)
{
	int nf = 0;
	size_t i = 0;
	for (;;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t e = comma ? (size_t)(comma - s) : n;
		if (nf == max)
			return max + 1;
		start[nf] = i;
		len[nf] = e - i;
		nf++;
		if (!comma)
			return nf;
		i = e + 1;
	}
}

static int push_row(calib_trace *t, size_t *cap, const calib_row *r)
{
	if (t->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		calib_row *a = realloc(t->rows, nc * sizeof *a);
		if (!a)
			return -1;
		t->rows = a;
		*cap = nc;
	}
	t->rows[t->n++] = *r;
	return 0;
}

typedef struct reader {
	const char *path;
	calib_trace *t;
	size_t cap;
	int state;            /* 0 version line, 1 provenance, 2 rows */
	int prov_line[NPROV]; /* where each provenance key was given, 0 = not yet */
	int col_of[NCOL];     /* file column index of each column */
	int ncols;            /* fields in the header */
	int file_col[NCOL];   /* enum col of each file column */
	fs_error *err;
} reader;

static int rd_error(reader *rd, int line, size_t col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int rd_error(reader *rd, int line, size_t col, const char *key, const char *fmt, ...)
{
	char msg[sizeof rd->err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fs_error_set(rd->err, FS_ERR_INPUT, rd->path, line, (int)col, key, "%s", msg);
}

/* `# key: value` before the header.  Unknown keys and free comments pass. */
static int rd_provenance(reader *rd, int lineno, const char *s, size_t n, size_t off)
{
	size_t i = 1; /* after '#' */
	while (i < n && textfield_blank(s[i]))
		i++;
	size_t k0 = i;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	size_t k1 = i;
	if (k1 == k0 || i >= n || s[i] != ':')
		return FS_OK; /* a plain comment */
	i++;
	const char *v = s + i;
	size_t vn = n - i;
	trim(&v, &vn);
	for (int p = 0; p < NPROV; p++) {
		if (k1 - k0 != strlen(prov_names[p]) || memcmp(s + k0, prov_names[p], k1 - k0) != 0)
			continue;
		if (rd->prov_line[p])
			return rd_error(rd, lineno, off + k0 + 1, prov_names[p],
					"provenance key given twice (first on line %d); expected "
					"it once",
					rd->prov_line[p]);
		if (vn == 0)
			return rd_error(rd, lineno, off + i + 1, prov_names[p],
					"empty provenance value; expected a value, or 'unknown' "
					"where it cannot be read");
		rd->prov_line[p] = lineno;
		calib_trace *t = rd->t;
		char *dst = NULL;
		size_t cap = 0;
		switch (p) {
		case P_DEVICE:
			dst = t->device, cap = sizeof t->device;
			break;
		case P_CC:
			dst = t->compute_capability, cap = sizeof t->compute_capability;
			break;
		case P_DRIVER:
			dst = t->driver, cap = sizeof t->driver;
			break;
		case P_CUDA:
			dst = t->cuda, cap = sizeof t->cuda;
			break;
		case P_SMCLK:
			dst = t->sm_clock_mhz, cap = sizeof t->sm_clock_mhz;
			break;
		case P_MEMCLK:
			dst = t->mem_clock_mhz, cap = sizeof t->mem_clock_mhz;
			break;
		case P_PLIMIT:
			dst = t->power_limit_w, cap = sizeof t->power_limit_w;
			break;
		case P_DATE:
			dst = t->date, cap = sizeof t->date;
			break;
		case P_TOOL:
			dst = t->tool, cap = sizeof t->tool;
			break;
		default:
			break;
		}
		if (p == P_SYNTH) {
			if (vn == 3 && memcmp(v, "yes", 3) == 0)
				t->synthetic = true;
			else if (vn == 2 && memcmp(v, "no", 2) == 0)
				t->synthetic = false;
			else {
				char q[64];
				textfield_quote(q, sizeof q, v, vn);
				return rd_error(
				    rd, lineno, off + (size_t)(v - s) + 1, "synthetic",
				    "'%s' is not yes or no; expected 'synthetic: yes' for "
				    "generated traces, 'synthetic: no' for measured ones",
				    q);
			}
		} else {
			textfield_quote(dst, cap, v, vn);
		}
		return FS_OK;
	}
	return FS_OK;
}

#define HDR_MAX (2 * NCOL)

static int rd_header(reader *rd, int lineno, const char *s, size_t n, size_t off)
{
	for (int p = 0; p < NPROV; p++)
		if (!rd->prov_line[p])
			return rd_error(
			    rd, lineno, off + 1, prov_names[p],
			    "missing provenance; expected a line '# %s: ...' before the "
			    "header ('unknown' where it cannot be read)",
			    prov_names[p]);
	/* every field must name a distinct column, so more than NCOL fields
	 * show up as an unknown or repeated name */
	size_t start[HDR_MAX + 1], len[HDR_MAX + 1];
	int nf = split(s, n, start, len, HDR_MAX);
	if (nf > HDR_MAX)
		nf = HDR_MAX;
	char q[64];
	for (int c = 0; c < NCOL; c++)
		rd->col_of[c] = -1;
	for (int j = 0; j < nf; j++) {
		int c = 0;
		while (c < NCOL && !eq(s + start[j], len[j], col_names[c]))
			c++;
		if (c == NCOL) {
			const char *f = s + start[j];
			size_t fn = len[j];
			trim(&f, &fn);
			textfield_quote(q, sizeof q, f, fn);
			if (j == 0) {
				int k = 0;
				while (k < CALIB_NKIND && !eq(f, fn, kind_names[k]))
					k++;
				if (k < CALIB_NKIND)
					return rd_error(
					    rd, lineno, off + 1, "",
					    "a data row before the header; expected the "
					    "header %s",
					    CALIB_HEADER);
			}
			return rd_error(rd, lineno, off + start[j] + 1, q,
					"unknown column; expected the header %s", CALIB_HEADER);
		}
		if (rd->col_of[c] >= 0)
			return rd_error(rd, lineno, off + start[j] + 1, col_names[c],
					"column given twice (first as field %d); expected each "
					"column once: %s",
					rd->col_of[c] + 1, CALIB_HEADER);
		rd->col_of[c] = j;
		rd->file_col[j] = c;
	}
	for (int c = 0; c < NCOL; c++)
		if (rd->col_of[c] < 0)
			return rd_error(rd, lineno, off + n + 1, col_names[c],
					"missing column in the header; expected %s", CALIB_HEADER);
	rd->ncols = nf;
	return FS_OK;
}

static int parse_precision(const char *s, size_t n)
{
	trim(&s, &n);
	if (n == 0)
		return -1;
	if (eq(s, n, "fp16") || eq(s, n, "bf16"))
		return HW_FP16;
	if (eq(s, n, "fp8"))
		return HW_FP8;
	if (eq(s, n, "fp4"))
		return HW_FP4;
	return -2;
}

static int rd_row(reader *rd, int lineno, const char *s, size_t n, size_t off, bool last_nl)
{
	size_t start[NCOL + 1], len[NCOL + 1];
	int nf = split(s, n, start, len, rd->ncols);
	char q[64];
	if (nf < rd->ncols) {
		const char *miss = col_names[rd->file_col[nf]];
		if (!last_nl)
			return rd_error(
			    rd, lineno, off + n + 1, miss,
			    "truncated row: %d of %d fields and no newline at the end of "
			    "the file; expected complete rows (the file may be cut short)",
			    nf, rd->ncols);
		return rd_error(rd, lineno, off + n + 1, miss,
				"too few fields: %d; expected %d (%s)", nf, rd->ncols,
				CALIB_HEADER);
	}
	if (nf > rd->ncols) {
		size_t at = start[rd->ncols - 1] + len[rd->ncols - 1]; /* the extra comma */
		textfield_quote(q, sizeof q, s + at + 1, n - at - 1);
		return rd_error(rd, lineno, off + at + 2, "",
				"too many fields: '%s' after the %d columns; expected %s", q,
				rd->ncols, CALIB_HEADER);
	}
	calib_row r;
	memset(&r, 0, sizeof r);
	r.line = lineno;
	r.precision = -1;
	double *num[NCOL] = {NULL,       NULL,        &r.m,
			     &r.n,       &r.k,        &r.bytes,
			     &r.time_s,  &r.achieved, &r.sm_clock_mhz,
			     &r.power_w, &r.temp_c};
	/* kind first: the requirements depend on it */
	{
		int j = rd->col_of[C_KIND];
		const char *f = s + start[j];
		size_t fn = len[j];
		trim(&f, &fn);
		int k = 0;
		while (k < CALIB_NKIND && !eq(f, fn, kind_names[k]))
			k++;
		if (k == CALIB_NKIND) {
			textfield_quote(q, sizeof q, f, fn);
			return rd_error(rd, lineno, off + start[j] + 1, "kind",
					"unknown kind '%s'; expected gemm, stream, read, attention "
					"or idle",
					q);
		}
		r.kind = k;
	}
	for (int c = C_PREC; c < NCOL; c++) {
		int j = rd->col_of[c];
		const char *f = s + start[j];
		size_t fn = len[j];
		size_t col = off + start[j] + 1;
		trim(&f, &fn);
		if (c == C_PREC) {
			int p = parse_precision(f, fn);
			if (p == -2) {
				textfield_quote(q, sizeof q, f, fn);
				return rd_error(
				    rd, lineno, col, "precision",
				    "unknown precision '%s'; expected fp16, bf16, fp8 or "
				    "fp4",
				    q);
			}
			r.precision = p;
			continue;
		}
		*num[c] = NAN;
		if (fn == 0)
			continue;
		if (!textfield_number(f, fn, num[c])) {
			textfield_quote(q, sizeof q, f, fn);
			return rd_error(rd, lineno, col, col_names[c],
					"'%s' is not a number; expected a plain decimal number "
					"(or an empty field)",
					q);
		}
		if (c != C_TEMP && !(*num[c] > 0 && *num[c] >= col_min[c]))
			return rd_error(rd, lineno, col, col_names[c],
					"%g is out of range; expected %s", *num[c], col_what[c]);
		if (c != C_TEMP && *num[c] > col_max[c])
			return rd_error(rd, lineno, col, col_names[c],
					"%g is out of range; expected %s, at most %g", *num[c],
					col_what[c], col_max[c]);
		if (c == C_TEMP && !(*num[c] > -100 && *num[c] < 200))
			return rd_error(rd, lineno, col, col_names[c],
					"%g degC is out of range; expected -100 to 200", *num[c]);
	}
	/* what each kind needs */
	static const int need[CALIB_NKIND][7] = {
	    [CALIB_GEMM] = {C_PREC, C_M, C_N, C_K, C_TIME, C_ACH, -1},
	    [CALIB_STREAM] = {C_BYTES, C_TIME, C_ACH, -1},
	    [CALIB_READ] = {C_BYTES, C_TIME, C_ACH, -1},
	    [CALIB_ATTENTION] = {C_PREC, C_M, C_K, C_BYTES, C_TIME, C_ACH, -1},
	    [CALIB_IDLE] = {C_POWER, -1},
	};
	for (int i = 0; i < 7 && need[r.kind][i] >= 0; i++) {
		int c = need[r.kind][i];
		bool missing = c == C_PREC ? r.precision < 0 : isnan(*num[c]);
		if (missing)
			return rd_error(rd, lineno, off + start[rd->col_of[c]] + 1, col_names[c],
					"empty in %s %s row; expected %s",
					r.kind == CALIB_IDLE || r.kind == CALIB_ATTENTION ? "an"
											  : "a",
					kind_names[r.kind], col_what[c]);
	}
	if (rd->t->n >= CALIB_ROWS_MAX)
		return rd_error(rd, lineno, 1, "", "more than %d rows; expected at most %d",
				CALIB_ROWS_MAX, CALIB_ROWS_MAX);
	if (push_row(rd->t, &rd->cap, &r))
		return fs_error_msg(rd->err, FS_ERR_NOMEM, "%s: out of memory reading the trace",
				    rd->path);
	return FS_OK;
}

static int rd_line(reader *rd, int lineno, const char *line, size_t len, bool nl)
{
	size_t off = 0;
	if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		off = 3; /* UTF-8 byte order mark */
	const char *s = line + off;
	size_t n = len - off;
	while (n > 0 && textfield_blank(s[n - 1]))
		n--;
	if (rd->state == 0) {
		if (n == strlen(CALIB_VERSION_LINE) && memcmp(s, CALIB_VERSION_LINE, n) == 0) {
			rd->state = 1;
			return FS_OK;
		}
		const char *pre = "# factorysim calibration trace ";
		if (n > strlen(pre) && memcmp(s, pre, strlen(pre)) == 0) {
			char q[64];
			textfield_quote(q, sizeof q, s + strlen(pre), n - strlen(pre));
			return rd_error(rd, lineno, off + strlen(pre) + 1, "version",
					"unsupported trace version '%s'; expected v1", q);
		}
		return rd_error(rd, lineno, off + 1, "version",
				"not a calibration trace; expected '%s' as the first line",
				CALIB_VERSION_LINE);
	}
	size_t lead = 0;
	while (lead < n && textfield_blank(s[lead]))
		lead++;
	if (lead == n)
		return FS_OK; /* blank */
	if (s[lead] == '#')
		return rd->state == 1 ? rd_provenance(rd, lineno, s, n, off) : FS_OK;
	if (rd->state == 1) {
		int rc = rd_header(rd, lineno, s, n, off);
		rd->state = 2;
		return rc;
	}
	return rd_row(rd, lineno, s, n, off, nl);
}

int calib_trace_read_stream(FILE *f, const char *path, calib_trace *t, fs_error *err)
{
	memset(t, 0, sizeof *t);
	if (!path)
		path = "(stream)";
	reader rd;
	memset(&rd, 0, sizeof rd);
	rd.path = path;
	rd.t = t;
	rd.err = err;
	char line[CALIB_LINE_MAX + 1];
	size_t len;
	bool nl;
	int lineno = 0, r, rc = FS_OK;
	while ((r = read_line(f, line, sizeof line, &len, &nl)) == 1) {
		lineno++;
		rc = rd_line(&rd, lineno, line, len, nl);
		if (rc)
			break;
	}
	if (rc == FS_OK) {
		if (r == -1)
			rc =
			    rd_error(&rd, lineno + 1, 1, "",
				     "line longer than %d bytes; expected one measurement per line",
				     CALIB_LINE_MAX);
		else if (ferror(f))
			rc = fs_error_set(err, FS_ERR_IO, path, 0, 0, "", "read error");
		else if (rd.state == 0)
			rc = rd_error(&rd, 1, 1, "version",
				      "empty file; expected '%s' as the first line",
				      CALIB_VERSION_LINE);
		else if (rd.state == 1)
			rc = rd_error(&rd, lineno + 1, 1, "",
				      "no header line; expected the provenance lines, then %s",
				      CALIB_HEADER);
		else if (t->n == 0)
			rc =
			    rd_error(&rd, lineno + 1, 1, "",
				     "no rows after the header; expected at least one measurement");
	}
	if (rc == FS_OK) {
		t->files = malloc(sizeof *t->files);
		if (t->files)
			t->files[0] = strdup(path);
		if (!t->files || !t->files[0]) {
			free(t->files);
			t->files = NULL;
			rc = fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory reading the trace",
					  path);
		} else {
			t->n_files = 1;
			snprintf(t->path, sizeof t->path, "%s", path);
		}
	}
	if (rc)
		calib_trace_clear(t);
	return rc;
}

int calib_trace_read(const char *path, calib_trace *t, fs_error *err)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "rb");
	if (!f)
		return fs_error_set(err, FS_ERR_IO, path, 0, 0, "",
				    "cannot open the calibration trace; expected a readable file");
	int rc = calib_trace_read_stream(f, path, t, err);
	fclose(f);
	return rc;
}

int calib_trace_append(calib_trace *dst, const calib_trace *src, fs_error *err)
{
	if (src->n == 0 && src->n_files == 0)
		return FS_OK;
	bool empty = dst->n == 0 && dst->n_files == 0;
	if (!empty && strcmp(dst->device, src->device) != 0)
		return fs_error_set(
		    err, FS_ERR_INPUT, src->n_files ? src->files[0] : NULL, 0, 0, "device",
		    "trace of device '%s' pooled with one of '%s'; expected traces of "
		    "one device",
		    src->device, dst->device);
	if (dst->n + src->n > CALIB_ROWS_MAX)
		return fs_error_msg(err, FS_ERR_INPUT,
				    "more than %d rows in the pooled traces; expected at most %d",
				    CALIB_ROWS_MAX, CALIB_ROWS_MAX);
	calib_row *rows = realloc(dst->rows, (dst->n + src->n + 1) * sizeof *rows);
	if (!rows)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory pooling traces");
	dst->rows = rows;
	char **files = realloc(dst->files, (dst->n_files + src->n_files + 1) * sizeof *files);
	if (!files)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory pooling traces");
	dst->files = files;
	size_t base = dst->n_files;
	for (size_t i = 0; i < src->n_files; i++) {
		files[base + i] = strdup(src->files[i]);
		if (!files[base + i]) {
			for (size_t j = 0; j < i; j++)
				free(files[base + j]);
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory pooling traces");
		}
	}
	dst->n_files += src->n_files;
	for (size_t i = 0; i < src->n; i++) {
		rows[dst->n + i] = src->rows[i];
		rows[dst->n + i].file += (int)base;
	}
	dst->n += src->n;
	if (empty) {
		memcpy(dst->device, src->device, sizeof dst->device);
		memcpy(dst->driver, src->driver, sizeof dst->driver);
		memcpy(dst->date, src->date, sizeof dst->date);
		memcpy(dst->compute_capability, src->compute_capability,
		       sizeof dst->compute_capability);
		memcpy(dst->cuda, src->cuda, sizeof dst->cuda);
		memcpy(dst->tool, src->tool, sizeof dst->tool);
		memcpy(dst->sm_clock_mhz, src->sm_clock_mhz, sizeof dst->sm_clock_mhz);
		memcpy(dst->mem_clock_mhz, src->mem_clock_mhz, sizeof dst->mem_clock_mhz);
		memcpy(dst->power_limit_w, src->power_limit_w, sizeof dst->power_limit_w);
		memcpy(dst->path, src->path, sizeof dst->path);
	} else {
		/* ", name" while it fits, then one ", ..." */
		size_t used = strlen(dst->path), add = strlen(src->path);
		bool cut = used >= 3 && strcmp(dst->path + used - 3, "...") == 0;
		if (!cut && used + 2 + add < sizeof dst->path) {
			memcpy(dst->path + used, ", ", 2);
			memcpy(dst->path + used + 2, src->path, add + 1);
		} else if (!cut && used + 5 < sizeof dst->path) {
			memcpy(dst->path + used, ", ...", 6);
		}
	}
	dst->synthetic = dst->synthetic || src->synthetic;
	return FS_OK;
}

/* ======================================================================== */
/* Least squares                                                             */
/* ======================================================================== */

#define NPAR 3

enum { MODEL_CURVE, MODEL_POWER };

typedef struct fit_row {
	const calib_row *row;
	double x;    /* curve: m or bytes */
	double base; /* curve: log(peak x clock factor) or log(mem_bw) */
	double obs;  /* measured: achieved or power */
	double s;    /* power: clock factor */
	bool mem;    /* power: a memory row (activity = memory_activity) */
} fit_row;

typedef struct lsq {
	int model;
	fit_row *rows;
	size_t n;
	int np;
	double q[NPAR], lo[NPAR], hi[NPAR], sigma[NPAR];
	bool fixed[NPAR], at_bound[NPAR];
	double scale; /* curve: h = scale x q[1] */
	double tdp;   /* power */
	double chi2;
	int iters;
	int free_idx[NPAR], nfree;
} lsq;

/* log model - log measured for row i at full parameters q; grad (np) or NULL. */
static double lsq_row(const lsq *L, size_t i, const double *q, double *grad)
{
	const fit_row *fr = &L->rows[i];
	if (L->model == MODEL_CURVE) {
		double u = fr->x + L->scale * q[1], du = L->scale;
		if (!(u > 1e-9 * fr->x)) {
			u = 1e-9 * fr->x;
			du = 0;
		}
		if (grad) {
			grad[0] = 1;
			grad[1] = -du / u;
		}
		return fr->base + q[0] + log(fr->x) - log(u) - log(fr->obs);
	}
	/* power: q = {idle / tdp, memory_activity, gamma} */
	double T = L->tdp, I = q[0] * T;
	double a = fr->mem ? q[1] : 1.0;
	double sg = pow(fr->s, q[2]);
	double P = I + (T - I) * a * sg;
	double floor_ = 1e-9 * T;
	bool clamp = !(P > floor_);
	if (clamp)
		P = floor_;
	if (grad) {
		grad[0] = clamp ? 0 : T * (1 - a * sg) / P;
		grad[1] = clamp || !fr->mem ? 0 : (T - I) * sg / P;
		grad[2] = clamp ? 0 : (T - I) * a * sg * log(fr->s) / P;
	}
	return log(P) - log(fr->obs);
}

/* The model's prediction for row i (achieved or power). */
static double lsq_predict(const lsq *L, size_t i)
{
	return L->rows[i].obs * exp(lsq_row(L, i, L->q, NULL));
}

static void lsq_full(const lsq *L, const gsl_vector *x, double *q)
{
	memcpy(q, L->q, sizeof L->q);
	for (int j = 0; j < L->nfree; j++)
		q[L->free_idx[j]] = gsl_vector_get(x, (size_t)j);
}

static int gsl_f(const gsl_vector *x, void *params, gsl_vector *f)
{
	const lsq *L = params;
	double q[NPAR];
	lsq_full(L, x, q);
	for (size_t i = 0; i < L->n; i++)
		gsl_vector_set(f, i, lsq_row(L, i, q, NULL));
	return GSL_SUCCESS;
}

static int gsl_df(const gsl_vector *x, void *params, gsl_matrix *J)
{
	const lsq *L = params;
	double q[NPAR], g[NPAR];
	lsq_full(L, x, q);
	for (size_t i = 0; i < L->n; i++) {
		lsq_row(L, i, q, g);
		for (int j = 0; j < L->nfree; j++)
			gsl_matrix_set(J, i, (size_t)j, g[L->free_idx[j]]);
	}
	return GSL_SUCCESS;
}

/* Fit the free parameters once.  0, or -1 when it does not converge. */
static int lsq_solve(lsq *L, char *why, size_t why_n)
{
	L->nfree = 0;
	for (int j = 0; j < L->np; j++)
		if (!L->fixed[j])
			L->free_idx[L->nfree++] = j;
	if (L->nfree == 0) {
		L->chi2 = 0;
		for (size_t i = 0; i < L->n; i++) {
			double r = lsq_row(L, i, L->q, NULL);
			L->chi2 += r * r;
		}
		return isfinite(L->chi2) ? 0 : -1;
	}
	size_t p = (size_t)L->nfree;
	for (size_t i = 0; i < L->n; i++)
		if (!isfinite(lsq_row(L, i, L->q, NULL))) {
			snprintf(why, why_n, "the starting point gives a non-finite residual");
			return -1;
		}
	gsl_multifit_nlinear_parameters par = gsl_multifit_nlinear_default_parameters();
	gsl_multifit_nlinear_workspace *w =
	    gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &par, L->n, p);
	gsl_matrix *cov = gsl_matrix_alloc(p, p);
	gsl_vector *x0 = gsl_vector_alloc(p), *g = gsl_vector_alloc(p);
	int rc = -1;
	if (!w || !cov || !x0 || !g) {
		snprintf(why, why_n, "out of memory");
		goto done;
	}
	for (size_t j = 0; j < p; j++)
		gsl_vector_set(x0, j, L->q[L->free_idx[j]]);
	gsl_multifit_nlinear_fdf fdf;
	memset(&fdf, 0, sizeof fdf);
	fdf.f = gsl_f;
	fdf.df = gsl_df;
	fdf.n = L->n;
	fdf.p = p;
	fdf.params = L;
	int info = 0;
	int st = gsl_multifit_nlinear_init(x0, &fdf, w);
	if (st == GSL_SUCCESS)
		st = gsl_multifit_nlinear_driver(500, 1e-13, 1e-13, 1e-15, NULL, NULL, &info, w);
	gsl_vector *fx = gsl_multifit_nlinear_residual(w);
	gsl_matrix *J = gsl_multifit_nlinear_jac(w);
	gsl_vector *xs = gsl_multifit_nlinear_position(w);
	double chi2 = 0;
	gsl_blas_ddot(fx, fx, &chi2);
	/* Converged, or stopped at a point where the gradient vanishes (a
	 * zero-residual fit stops "without progress" at the exact answer). */
	bool ok = st == GSL_SUCCESS;
	if (!ok && (st == GSL_ENOPROG || st == GSL_EMAXITER) && isfinite(chi2)) {
		gsl_blas_dgemv(CblasTrans, 1.0, J, fx, 0.0, g);
		double gmax = 0;
		for (size_t j = 0; j < p; j++) {
			double jn = 0;
			for (size_t i = 0; i < L->n; i++)
				jn += gsl_matrix_get(J, i, j) * gsl_matrix_get(J, i, j);
			double gj = fabs(gsl_vector_get(g, j)) / (sqrt(jn) + 1e-300);
			if (gj > gmax)
				gmax = gj;
		}
		ok = gmax <= 1e-6 * (sqrt(chi2) + 1e-12);
	}
	bool finite = true;
	for (size_t j = 0; j < p; j++)
		finite = finite && isfinite(gsl_vector_get(xs, j));
	ok = ok && finite;
	if (!ok && finite) /* where it went: lsq_fit may hold a parameter and retry */
		for (size_t j = 0; j < p; j++)
			L->q[L->free_idx[j]] = gsl_vector_get(xs, j);
	if (!ok) {
		/* name the row furthest from the model where it stopped */
		size_t far = 0;
		double rmax = -1;
		for (size_t i = 0; i < L->n; i++) {
			double ri = fabs(gsl_vector_get(fx, i));
			if (ri > rmax || !isfinite(ri))
				rmax = ri, far = i;
			if (!isfinite(ri))
				break;
		}
		if (st == GSL_EMAXITER && info == GSL_ENOPROG)
			snprintf(why, why_n,
				 "no step from the start reduces the misfit (the row "
				 "furthest off is on line %d); expected rows that follow "
				 "the model",
				 L->rows[far].row->line);
		else
			snprintf(why, why_n,
				 "%s after %zu iterations (the row furthest off is on "
				 "line %d)",
				 st == GSL_SUCCESS ? "non-finite parameters" : gsl_strerror(st),
				 gsl_multifit_nlinear_niter(w), L->rows[far].row->line);
		goto done;
	}
	if (gsl_multifit_nlinear_covar(J, 0.0, cov) != GSL_SUCCESS) {
		snprintf(why, why_n,
			 "singular Jacobian: the rows do not determine every parameter");
		goto done;
	}
	double s2 = L->n > p ? chi2 / (double)(L->n - p) : 0;
	for (size_t j = 0; j < p; j++) {
		int k = L->free_idx[j];
		L->q[k] = gsl_vector_get(xs, j);
		double v = gsl_matrix_get(cov, j, j) * s2;
		L->sigma[k] = v > 0 && isfinite(v) ? sqrt(v) : 0;
	}
	L->chi2 = chi2;
	L->iters += (int)gsl_multifit_nlinear_niter(w);
	rc = 0;
done:
	gsl_vector_free(g);
	gsl_vector_free(x0);
	gsl_matrix_free(cov);
	if (w)
		gsl_multifit_nlinear_free(w);
	return rc;
}

/* Fit, then hold parameters that left [lo, hi] at the bound and refit. */
static int lsq_fit(lsq *L, char *why, size_t why_n)
{
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	int rc = 0;
	for (int round = 0; round <= NPAR; round++) {
		/* A fit that runs off (a plateau growing without bound with its half
		 * size when every row is in the linear regime) is retried with the
		 * parameter that left its range held at the bound. */
		rc = lsq_solve(L, why, why_n);
		bool moved = false;
		for (int j = 0; j < L->np; j++) {
			if (L->fixed[j])
				continue;
			if (L->q[j] > L->hi[j] || L->q[j] < L->lo[j]) {
				L->q[j] = L->q[j] > L->hi[j] ? L->hi[j] : L->lo[j];
				L->fixed[j] = L->at_bound[j] = true;
				moved = true;
			}
		}
		if (!moved || L->nfree == 0)
			break;
		for (int j = 0; j < L->np; j++)
			if (!L->fixed[j])
				L->sigma[j] = 0;
	}
	gsl_set_error_handler(old);
	return rc;
}

/* R^2 of log(measured), RMS of measured / model - 1, the worst rows. */
static void lsq_stats(const lsq *L, calib_curve *c)
{
	double mean = 0;
	for (size_t i = 0; i < L->n; i++)
		mean += log(L->rows[i].obs);
	mean /= (double)L->n;
	double ss_res = 0, ss_tot = 0, rel2 = 0;
	c->n_worst = 0;
	for (size_t i = 0; i < L->n; i++) {
		double r = lsq_row(L, i, L->q, NULL), y = log(L->rows[i].obs) - mean;
		ss_res += r * r;
		ss_tot += y * y;
		double rel = expm1(-r);
		rel2 += rel * rel;
		/* insert into the worst list, largest |rel| first */
		size_t pos = c->n_worst;
		while (pos > 0 && fabs(c->worst[pos - 1].rel) < fabs(rel))
			pos--;
		if (pos >= CALIB_WORST)
			continue;
		size_t last = c->n_worst < CALIB_WORST ? c->n_worst : CALIB_WORST - 1;
		memmove(&c->worst[pos + 1], &c->worst[pos], (last - pos) * sizeof c->worst[0]);
		if (c->n_worst < CALIB_WORST)
			c->n_worst++;
		const calib_row *row = L->rows[i].row;
		c->worst[pos] = (calib_worst){.file = row->file,
					      .line = row->line,
					      .kind = row->kind,
					      .observed = L->rows[i].obs,
					      .model = lsq_predict(L, i),
					      .rel = rel};
	}
	c->n = L->n;
	c->r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : (ss_res > 0 ? 0 : 1);
	c->rms_rel = sqrt(rel2 / (double)L->n);
	c->iterations = L->iters;
}

/* ======================================================================== */
/* The fits                                                                  */
/* ======================================================================== */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Fit e x / (x + h) to rows (obs / exp(base)); fills c. */
static int fit_curve(fit_row *rows, size_t n, calib_curve *c, char *why, size_t why_n)
{
	/* start: Lineweaver-Burk, exp(base) / obs = 1/e + (h/e) / x, by OLS */
	double sx = 0, sy = 0, sxx = 0, sxy = 0, best = 0;
	for (size_t i = 0; i < n; i++) {
		double ratio = rows[i].obs / exp(rows[i].base);
		double xi = 1 / rows[i].x, yi = 1 / ratio;
		sx += xi, sy += yi, sxx += xi * xi, sxy += xi * yi;
		if (ratio > best)
			best = ratio;
	}
	double dn = (double)n, det = dn * sxx - sx * sx;
	double a = 0, b = -1;
	if (det > 0) {
		b = (dn * sxy - sx * sy) / det;
		a = (sy - b * sx) / dn;
	}
	double e0 = best, h0 = 0;
	if (a > 0 && b >= 0 && isfinite(a) && isfinite(b)) {
		e0 = 1 / a;
		h0 = b / a;
	}
	if (!(e0 > 1e-12 && isfinite(e0)))
		e0 = 1e-3;
	if (e0 > 1)
		e0 = 1;
	double *xs = malloc(n * sizeof *xs);
	if (!xs) {
		snprintf(why, why_n, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		xs[i] = rows[i].x;
	qsort(xs, n, sizeof *xs, cmp_double);
	double med = xs[n / 2];
	free(xs);
	lsq L;
	memset(&L, 0, sizeof L);
	L.model = MODEL_CURVE;
	L.rows = rows;
	L.n = n;
	L.np = 2;
	L.scale = h0 > 0 && isfinite(h0) ? h0 : med;
	L.q[0] = log(e0);
	L.q[1] = h0 > 0 && isfinite(h0) ? 1 : 0;
	L.lo[0] = -HUGE_VAL, L.hi[0] = 0; /* e <= 1 */
	L.lo[1] = 0, L.hi[1] = HUGE_VAL;  /* h >= 0 */
	if (lsq_fit(&L, why, why_n))
		return -1;
	double e = exp(L.q[0]);
	c->fitted = true;
	c->plateau = (calib_fit){e, e * L.sigma[0]};
	c->half = (calib_fit){L.scale * L.q[1], L.scale * L.sigma[1]};
	c->plateau_at_bound = L.at_bound[0];
	c->half_at_bound = L.at_bound[1];
	lsq_stats(&L, c);
	return 0;
}

static int fit_error(fs_error *err, const calib_trace *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fit_error(fs_error *err, const calib_trace *t, const char *key, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fs_error_set(err, FS_ERR_INPUT, t->n_files == 1 ? t->files[0] : NULL, 0, 0, key,
			    "%s", msg);
}

static double clock_factor(const calib_row *row, const gpu_spec *gpu)
{
	if (isnan(row->sm_clock_mhz) || !(gpu->clock_max_hz > 0))
		return 1.0;
	return row->sm_clock_mhz * 1e6 / gpu->clock_max_hz;
}

static int fit_power(const calib_trace *t, const gpu_spec *gpu, calib_result *r, fit_row *buf,
		     fs_error *err)
{
	double prior_gamma = gpu->power_gamma > 0 ? gpu->power_gamma : 2.5;
	double prior_act =
	    gpu->memory_activity > 0 && gpu->memory_activity <= 1 ? gpu->memory_activity : 0.65;
	r->gamma = (calib_fit){prior_gamma, 0};
	r->memory_activity = (calib_fit){prior_act, 0};
	r->idle_w = (calib_fit){gpu->idle_w, 0};
	r->idle_source = CALIB_IDLE_PRIOR;

	/* idle rows */
	double sum = 0, sum2 = 0;
	size_t ni = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].kind == CALIB_IDLE) {
			double p = t->rows[i].power_w;
			sum += p, sum2 += p * p;
			ni++;
		}
	r->n_idle = ni;
	if (ni > 0) {
		double mean = sum / (double)ni;
		double var = ni > 1 ? (sum2 - sum * mean) / (double)(ni - 1) : 0;
		r->idle_w = (calib_fit){mean, var > 0 ? sqrt(var / (double)ni) : 0};
		r->idle_source = CALIB_IDLE_ROWS;
		r->power_fitted = true;
		if (!(mean < gpu->tdp_w))
			return fit_error(err, t, "idle",
					 "mean idle power %g W is not below the TDP %g W; expected "
					 "idle rows of this GPU",
					 mean, gpu->tdp_w);
	}

	/* power rows */
	size_t n = 0, n_mem = 0;
	double cmin = HUGE_VAL, cmax = 0;
	for (size_t i = 0; i < t->n; i++) {
		const calib_row *row = &t->rows[i];
		if (isnan(row->power_w))
			continue;
		bool gemm = row->kind == CALIB_GEMM && row->m >= 1024;
		bool mem = row->kind == CALIB_READ || row->kind == CALIB_STREAM;
		if (!gemm && !mem)
			continue;
		buf[n] = (fit_row){
		    .row = row, .obs = row->power_w, .s = clock_factor(row, gpu), .mem = mem};
		if (!isnan(row->sm_clock_mhz)) {
			cmin = fmin(cmin, row->sm_clock_mhz);
			cmax = fmax(cmax, row->sm_clock_mhz);
		}
		n_mem += mem;
		n++;
	}
	r->n_power = n;
	r->clock_spread = cmax > 0 ? (cmax - cmin) / cmax : 0;
	if (n == 0)
		return FS_OK;
	if (!(gpu->tdp_w > 0))
		return fit_error(err, t, "power_w", "the GPU has no TDP; expected tdp > 0 W");
	r->gamma_fitted = r->clock_spread > 0.05;
	r->memory_activity_fitted = n_mem > 0;
	bool idle_free = ni == 0 && r->gamma_fitted;
	lsq L;
	memset(&L, 0, sizeof L);
	L.model = MODEL_POWER;
	L.rows = buf;
	L.n = n;
	L.np = 3;
	L.tdp = gpu->tdp_w;
	L.q[0] = fmin(fmax(r->idle_w.value, 0), gpu->tdp_w) / gpu->tdp_w;
	L.q[1] = prior_act;
	L.q[2] = prior_gamma;
	L.lo[0] = 0, L.hi[0] = 1;
	L.lo[1] = 0, L.hi[1] = 1;
	L.lo[2] = 0.5, L.hi[2] = 5;
	L.fixed[0] = !idle_free;
	L.fixed[1] = !r->memory_activity_fitted;
	L.fixed[2] = !r->gamma_fitted;
	int nfree = !L.fixed[0] + !L.fixed[1] + !L.fixed[2];
	if (nfree > 0 && n < (size_t)nfree + 2)
		return fit_error(err, t, "power_w",
				 "too few power rows: %zu; expected at least %d rows with power_w "
				 "(gemm with m >= 1024, read, stream) to fit %s%s%s",
				 n, nfree + 2, idle_free ? "idle power, " : "",
				 r->memory_activity_fitted ? "memory activity" : "",
				 r->gamma_fitted ? (r->memory_activity_fitted ? ", gamma" : "gamma")
						 : "");
	char why[256] = "";
	if (lsq_fit(&L, why, sizeof why))
		return fit_error(err, t, "power_w", "the power fit did not converge: %s", why);
	if (idle_free) {
		r->idle_w = (calib_fit){L.q[0] * L.tdp, L.sigma[0] * L.tdp};
		r->idle_source = CALIB_IDLE_FITTED;
	}
	if (r->memory_activity_fitted)
		r->memory_activity = (calib_fit){L.q[1], L.sigma[1]};
	if (r->gamma_fitted)
		r->gamma = (calib_fit){L.q[2], L.sigma[2]};
	r->power_fitted = r->power_fitted || nfree > 0;
	lsq_stats(&L, &r->power);
	r->power.fitted = nfree > 0;
	r->power.plateau_at_bound = L.at_bound[1]; /* activity held at 0 or 1 */
	r->power.half_at_bound = L.at_bound[2];    /* gamma held at 0.5 or 5 */
	r->r2_power = r->power.r2;
	r->rms_power = r->power.rms_rel;
	return FS_OK;
}

int calib_fit_gpu(const calib_trace *t, const gpu_spec *gpu, calib_result *r, fs_error *err)
{
	memset(r, 0, sizeof *r);
	snprintf(r->gpu, sizeof r->gpu, "%s", gpu->name);
	snprintf(r->gpu_label, sizeof r->gpu_label, "%s", gpu->label);
	memcpy(r->peak, gpu->flops, sizeof r->peak);
	r->mem_bw = gpu->mem_bw;
	r->tdp_w = gpu->tdp_w;
	r->clock_max_hz = gpu->clock_max_hz;
	r->r2_power = NAN;
	r->rms_power = NAN;
	if (!t || t->n == 0)
		return fs_error_msg(err, FS_ERR_INPUT, "empty trace; expected measurement rows");
	fit_row *buf = malloc(t->n * sizeof *buf);
	if (!buf)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory fitting the trace");
	int rc = FS_OK;
	char why[256];

	/* compute, per precision */
	r->gemm_clock_min = 1;
	for (int p = 0; p < HW_NPREC && rc == FS_OK; p++) {
		size_t n = 0;
		const calib_row *first = NULL;
		for (size_t i = 0; i < t->n; i++) {
			const calib_row *row = &t->rows[i];
			if (row->kind != CALIB_GEMM || row->precision != p)
				continue;
			if (!first)
				first = row;
			double c = clock_factor(row, gpu);
			if (p == HW_FP16 && c < r->gemm_clock_min)
				r->gemm_clock_min = c;
			buf[n++] = (fit_row){.row = row,
					     .x = row->m,
					     .base = log(gpu->flops[p]) + log(c),
					     .obs = row->achieved};
		}
		if (n > 0 && !(gpu->flops[p] > 0)) {
			rc = fs_error_set(
			    err, FS_ERR_INPUT,
			    t->n_files > (size_t)first->file ? t->files[first->file] : NULL,
			    first->line, 1, "precision",
			    "gemm rows at %s but GPU %s has no %s peak; expected a trace "
			    "of that GPU",
			    prec_name(p), gpu->name, prec_name(p));
			break;
		}
		if (p == HW_FP16 && n < CALIB_MIN_ROWS) {
			rc = fit_error(err, t, "gemm",
				       "too few gemm rows at fp16/bf16: %zu; expected at least %d "
				       "to fit the compute plateau and half size",
				       n, CALIB_MIN_ROWS);
			break;
		}
		if (n < CALIB_MIN_ROWS)
			continue; /* reported as not fitted */
		if (fit_curve(buf, n, &r->compute[p], why, sizeof why)) {
			rc = fit_error(err, t, "gemm", "the %s compute fit did not converge: %s",
				       prec_name(p), why);
			break;
		}
	}

	/* memory: read and stream */
	for (int kind = CALIB_STREAM; kind <= CALIB_READ && rc == FS_OK; kind++) {
		size_t n = 0;
		for (size_t i = 0; i < t->n; i++) {
			const calib_row *row = &t->rows[i];
			if (row->kind == kind)
				buf[n++] = (fit_row){.row = row,
						     .x = row->bytes,
						     .base = log(gpu->mem_bw),
						     .obs = row->achieved};
		}
		if (n == 0)
			continue;
		if (!(gpu->mem_bw > 0)) {
			rc = fit_error(err, t, kind_names[kind],
				       "GPU %s has no memory bandwidth; expected mem_bw > 0",
				       gpu->name);
			break;
		}
		if (n < CALIB_MIN_ROWS) {
			rc = fit_error(
			    err, t, kind_names[kind],
			    "too few %s rows: %zu; expected at least %d to fit the memory "
			    "plateau and half size",
			    kind_names[kind], n, CALIB_MIN_ROWS);
			break;
		}
		calib_curve *c = kind == CALIB_READ ? &r->read : &r->stream;
		if (fit_curve(buf, n, c, why, sizeof why))
			rc = fit_error(err, t, kind_names[kind],
				       "the %s memory fit did not converge: %s", kind_names[kind],
				       why);
	}
	if (rc == FS_OK && !r->read.fitted && !r->stream.fitted)
		rc = fit_error(err, t, "read",
			       "no read or stream rows; expected at least %d to fit the memory "
			       "plateau and half size",
			       CALIB_MIN_ROWS);
	if (rc == FS_OK)
		rc = fit_power(t, gpu, r, buf, err);
	free(buf);
	if (rc)
		return rc;

	const calib_curve *cc = &r->compute[HW_FP16];
	r->eff_compute = cc->plateau;
	r->compute_half = cc->half;
	r->r2_compute = cc->r2;
	r->rms_compute = cc->rms_rel;
	r->n_compute = cc->n;
	r->memory_kind = r->read.fitted ? CALIB_READ : CALIB_STREAM;
	const calib_curve *mc = r->read.fitted ? &r->read : &r->stream;
	r->eff_memory = mc->plateau;
	r->memory_half = mc->half;
	r->r2_memory = mc->r2;
	r->rms_memory = mc->rms_rel;
	r->n_memory = mc->n;

	/* attention rows against the memory fit */
	size_t na = 0;
	for (size_t i = 0; i < t->n; i++)
		na += t->rows[i].kind == CALIB_ATTENTION;
	if (na > 0) {
		double *rel = malloc(na * sizeof *rel);
		if (!rel)
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory fitting the trace");
		size_t k = 0;
		double worst = 0;
		for (size_t i = 0; i < t->n; i++) {
			const calib_row *row = &t->rows[i];
			if (row->kind != CALIB_ATTENTION)
				continue;
			double model = gpu->mem_bw * r->eff_memory.value * row->bytes /
				       (row->bytes + r->memory_half.value);
			rel[k] = row->achieved / model - 1;
			if (fabs(rel[k]) > fabs(worst))
				worst = rel[k];
			k++;
		}
		qsort(rel, na, sizeof *rel, cmp_double);
		r->n_attention = na;
		r->attention_median_rel =
		    na % 2 ? rel[na / 2] : (rel[na / 2 - 1] + rel[na / 2]) / 2;
		r->attention_worst_rel = worst;
		free(rel);
	}
	return FS_OK;
}

/* ======================================================================== */
/* Output                                                                    */
/* ======================================================================== */

/* Printable ASCII of s (others as '?'): provenance and names in comments. */
static void put_clean(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
}

static const char *file_of(const calib_trace *t, int i)
{
	return t && i >= 0 && (size_t)i < t->n_files ? t->files[i] : "?";
}

static bool plain_key(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static void write_prov(FILE *f, const calib_trace *t, const char *lead)
{
	fprintf(f, "%ssource: ", lead);
	put_clean(f, t && t->path[0] ? t->path : "(no file)");
	fprintf(f, "\n%sdevice: ", lead);
	put_clean(f, t ? t->device : "");
	fprintf(f, "\n%sdriver: ", lead);
	put_clean(f, t ? t->driver : "");
	fprintf(f, "   cuda: ");
	put_clean(f, t ? t->cuda : "");
	fprintf(f, "\n%sdate: ", lead);
	put_clean(f, t ? t->date : "");
	fprintf(f, "\n%ssynthetic: %s\n", lead, t && t->synthetic ? "yes" : "no");
	if (t && t->synthetic)
		fprintf(f, "%sSYNTHETIC: for tests only, not measured\n", lead);
}

int calib_write_yaml(FILE *f, const calib_result *r, const gpu_spec *gpu, const calib_trace *t)
{
	const char *name = gpu ? gpu->name : r->gpu;
	if (t && t->synthetic)
		fprintf(f, "# SYNTHETIC: for tests only, not measured\n"
			   "# SYNTHETIC: generated from assumed parameters; do not use these "
			   "figures as measurements\n");
	fprintf(f, "# factorysim calibration of GPU ");
	put_clean(f, name);
	fprintf(f, " - efficiency curves and power figures fitted to a trace.\n"
		   "# Use it from a scenario with `include: <this file>` (the scenario's own\n"
		   "# catalog entries win over it).\n");
	write_prov(f, t, "# ");
	fprintf(f, "# fitted (value +- 1 sigma):\n");
	const calib_curve *cc = &r->compute[HW_FP16];
	fprintf(f,
		"#   compute plateau (fp16/bf16) %.6g +- %.2g%s, half size %.6g +- %.2g tokens%s"
		" (%zu gemm rows, R^2 %.4f, RMS %.2f %%)\n",
		cc->plateau.value, cc->plateau.sigma, cc->plateau_at_bound ? " (held at 1)" : "",
		cc->half.value, cc->half.sigma, cc->half_at_bound ? " (held at 0)" : "", cc->n,
		cc->r2, 100 * cc->rms_rel);
	for (int p = HW_FP8; p < HW_NPREC; p++)
		if (r->compute[p].fitted)
			fprintf(f,
				"#   compute plateau (%s, of its own peak) %.6g +- %.2g, half "
				"size %.6g +- %.2g tokens (report only)\n",
				prec_name(p), r->compute[p].plateau.value,
				r->compute[p].plateau.sigma, r->compute[p].half.value,
				r->compute[p].half.sigma);
	const calib_curve *mc = r->memory_kind == CALIB_READ ? &r->read : &r->stream;
	fprintf(f,
		"#   memory plateau (%s) %.6g +- %.2g%s, half size %.6g +- %.2g B%s (%zu rows, "
		"R^2 %.4f, RMS %.2f %%)\n",
		kind_names[r->memory_kind], mc->plateau.value, mc->plateau.sigma,
		mc->plateau_at_bound ? " (held at 1)" : "", mc->half.value, mc->half.sigma,
		mc->half_at_bound ? " (held at 0)" : "", mc->n, mc->r2, 100 * mc->rms_rel);
	if (r->power_fitted) {
		fprintf(f, "#   idle power %.6g +- %.2g W (%s)\n", r->idle_w.value, r->idle_w.sigma,
			r->idle_source == CALIB_IDLE_ROWS     ? "mean of the idle rows"
			: r->idle_source == CALIB_IDLE_FITTED ? "fitted"
							      : "catalog figure, not fitted");
		fprintf(f, "#   memory activity %.6g +- %.2g (%s)\n", r->memory_activity.value,
			r->memory_activity.sigma,
			r->memory_activity_fitted ? "fitted" : "prior, no memory power rows");
		if (r->gamma_fitted)
			fprintf(f, "#   gamma %.6g +- %.2g (fitted; the SM clock varies %.0f %%)\n",
				r->gamma.value, r->gamma.sigma, 100 * r->clock_spread);
		else
			fprintf(f,
				"#   gamma %.6g (prior, not fitted: the SM clock varies only "
				"%.1f %% over the power rows, 5 %% needed)\n",
				r->gamma.value, 100 * r->clock_spread);
	} else {
		fprintf(f, "#   power: not fitted (no power rows); the catalog's figures stand\n");
	}
	fprintf(f, "catalog:\n  gpus:\n    ");
	if (plain_key(name))
		fprintf(f, "%s:\n", name);
	else {
		fputc('"', f);
		for (const char *s = name; *s; s++)
			if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
				fputc(*s, f);
		fprintf(f, "\":\n");
	}
	fprintf(f, "      efficiency:\n");
	fprintf(f, "        compute: %.6g\n", r->eff_compute.value);
	fprintf(f, "        compute_half: %.6g tokens\n", r->compute_half.value);
	fprintf(f, "        memory: %.6g\n", r->eff_memory.value);
	fprintf(f, "        memory_half: %.6g B\n", r->memory_half.value);
	fprintf(f, "        calibrated: true\n");
	if (r->memory_activity_fitted || r->gamma_fitted) {
		fprintf(f, "      power:\n");
		if (r->gamma_fitted)
			fprintf(f, "        gamma: %.6g\n", r->gamma.value);
		if (r->memory_activity_fitted)
			fprintf(f, "        memory_activity: %.6g\n", r->memory_activity.value);
	}
	if (r->idle_source != CALIB_IDLE_PRIOR)
		fprintf(f, "      idle_power: %.6g W\n", r->idle_w.value);
	return ferror(f) ? FS_ERR_IO : FS_OK;
}

static void write_curve(FILE *f, const calib_trace *t, const char *what, const calib_curve *c,
			const char *unit)
{
	if (!c->fitted) {
		fprintf(f, "  %-10s not fitted (fewer than %d rows)\n", what, CALIB_MIN_ROWS);
		return;
	}
	fprintf(f, "  %-10s n %zu  plateau %.5g +- %.2g%s  half %.5g +- %.2g %s%s\n", what, c->n,
		c->plateau.value, c->plateau.sigma, c->plateau_at_bound ? " (held at 1)" : "",
		c->half.value, c->half.sigma, unit, c->half_at_bound ? " (held at 0)" : "");
	fprintf(f,
		"             R^2 %.5f (of log achieved)  RMS relative residual %.2f %%  "
		"%d iterations\n",
		c->r2, 100 * c->rms_rel, c->iterations);
	if (c->r2 < 0.5)
		fprintf(f, "             (a low R^2 here means the rows barely vary: a flat curve; "
			   "judge the fit by the RMS residual)\n");
	for (size_t i = 0; i < c->n_worst; i++) {
		const calib_worst *w = &c->worst[i];
		fprintf(f, "             worst %zu: ", i + 1);
		put_clean(f, file_of(t, w->file));
		fprintf(f, ":%d %s measured %.4g model %.4g (%+.2f %%)\n", w->line,
			kind_names[w->kind], w->observed, w->model, 100 * w->rel);
	}
}

int calib_write_report(FILE *f, const calib_result *r, const calib_trace *t)
{
	fprintf(f, "calibration of GPU ");
	put_clean(f, r->gpu);
	fprintf(f, " (");
	put_clean(f, r->gpu_label);
	fprintf(f, ")\n");
	write_prov(f, t, "");
	fprintf(f, "\ncompute: achieved FLOP/s = peak x e_c x m / (m + h_c) x f / f_max\n");
	for (int p = 0; p < HW_NPREC; p++) {
		if (!(r->peak[p] > 0))
			continue;
		char what[32];
		snprintf(what, sizeof what, "%s:", prec_name(p));
		write_curve(f, t, what, &r->compute[p], "tokens");
	}
	if (r->gemm_clock_min < 0.97)
		fprintf(f,
			"  note: fp16/bf16 gemm rows ran down to %.0f %% of the max clock; e_c is "
			"the efficiency at the clock each row ran at\n",
			100 * r->gemm_clock_min);
	fprintf(f, "\nmemory: achieved B/s = mem_bw x e_m x b / (b + h_m)\n");
	write_curve(f, t, "read:", &r->read, "B");
	write_curve(f, t, "stream:", &r->stream, "B");
	fprintf(f, "  the YAML takes the %s fit\n", kind_names[r->memory_kind]);
	if (r->n_attention)
		fprintf(f,
			"  attention rows against it: n %zu, achieved / model - 1 median "
			"%+.2f %%, worst %+.2f %%\n",
			r->n_attention, 100 * r->attention_median_rel,
			100 * r->attention_worst_rel);
	fprintf(f, "\npower: P = idle + (TDP - idle) x a x (f / f_max)^gamma, TDP %g W\n",
		r->tdp_w);
	fprintf(f, "  idle power      %.5g +- %.2g W (%s)\n", r->idle_w.value, r->idle_w.sigma,
		r->idle_source == CALIB_IDLE_ROWS     ? "mean of the idle rows"
		: r->idle_source == CALIB_IDLE_FITTED ? "fitted, no idle rows"
						      : "catalog figure: no idle rows");
	fprintf(f, "  memory activity %.5g +- %.2g (%s)\n", r->memory_activity.value,
		r->memory_activity.sigma,
		r->memory_activity_fitted ? "fitted" : "prior: no read/stream power rows");
	if (r->gamma_fitted)
		fprintf(f,
			"  gamma           %.5g +- %.2g (fitted: the SM clock varies %.1f %% over "
			"the power rows)\n",
			r->gamma.value, r->gamma.sigma, 100 * r->clock_spread);
	else
		fprintf(f,
			"  gamma           %.5g (kept at the prior: the SM clock varies only "
			"%.1f %% over the power rows, more than 5 %% needed to fit it)\n",
			r->gamma.value, 100 * r->clock_spread);
	if (r->power.fitted) {
		const calib_curve *c = &r->power;
		fprintf(f,
			"  %zu power rows (gemm with m >= 1024, read, stream)  R^2 %.5f (of log "
			"power)  RMS relative residual %.2f %%  %d iterations\n",
			c->n, c->r2, 100 * c->rms_rel, c->iterations);
		for (size_t i = 0; i < c->n_worst; i++) {
			const calib_worst *w = &c->worst[i];
			fprintf(f, "             worst %zu: ", i + 1);
			put_clean(f, file_of(t, w->file));
			fprintf(f, ":%d %s measured %.4g W model %.4g W (%+.2f %%)\n", w->line,
				kind_names[w->kind], w->observed, w->model, 100 * w->rel);
		}
	} else if (r->n_power == 0) {
		fprintf(f, "  no power rows (gemm with m >= 1024, read, stream with power_w)\n");
	}
	return ferror(f) ? FS_ERR_IO : FS_OK;
}

/* ======================================================================== */
/* Synthetic traces                                                          */
/* ======================================================================== */

int calib_synthetic(const gpu_spec *gpu, double e_c, double h_c, double e_m, double h_m,
		    double idle_w, double mem_act, double gamma, double noise_rel, uint64_t seed,
		    FILE *out)
{
	if (!gpu || !out || !(gpu->flops[HW_FP16] > 0) || !(gpu->mem_bw > 0) || !(gpu->tdp_w > 0) ||
	    !(gpu->clock_max_hz > 0) || !(e_c > 0 && e_c <= 1) || !(h_c >= 0) ||
	    !(e_m > 0 && e_m <= 1) || !(h_m >= 0) || !(idle_w >= 0 && idle_w < gpu->tdp_w) ||
	    !(mem_act >= 0 && mem_act <= 1) || !(gamma > 0 && gamma <= 10) ||
	    !(noise_rel >= 0 && noise_rel <= 0.5) || !isfinite(h_c) || !isfinite(h_m))
		return FS_ERR_USAGE;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (!rng)
		return FS_ERR_NOMEM;
	gsl_rng_set(rng, (unsigned long)(seed ^ (seed >> 32)));
#define NOISE() exp(noise_rel *gsl_ran_gaussian_ziggurat(rng, 1.0))
	double T = gpu->tdp_w, fmax_mhz = gpu->clock_max_hz / 1e6;
	fprintf(out, "%s\n", CALIB_VERSION_LINE);
	fprintf(out, "# SYNTHETIC: for tests only, not measured\n");
	fprintf(out, "# device: ");
	put_clean(out, gpu->label[0] ? gpu->label : gpu->name);
	fprintf(out, " (SYNTHETIC)\n");
	fprintf(out,
		"# compute_capability: unknown\n# driver: none (synthetic)\n"
		"# cuda: none (synthetic)\n# sm_clock_mhz: %.10g\n# mem_clock_mhz: unknown\n"
		"# power_limit_w: %.10g\n# date: unknown\n# tool: factorysim calib_synthetic\n"
		"# synthetic: yes\n",
		fmax_mhz, T);
	fprintf(out,
		"# generated from: e_c %.10g, h_c %.10g tokens, e_m %.10g, h_m %.10g B, "
		"idle %.10g W, memory_activity %.10g, gamma %.10g, noise %.10g, seed %llu\n",
		e_c, h_c, e_m, h_m, idle_w, mem_act, gamma, noise_rel, (unsigned long long)seed);
	fprintf(out, "# stream rows: plateau 0.92 x e_m; power rows at clock factors 1.0, 0.9, "
		     "0.8, 0.7\n");
	fprintf(out, "%s\n", CALIB_HEADER);
	static const char *const pname[HW_NPREC] = {"bf16", "fp8", "fp4"};
	static const double shapes[3][2] = {{4096, 4096}, {8192, 8192}, {8192, 28672}};
	static const double factors[4] = {1.0, 0.9, 0.8, 0.7};
	for (int fi = 0; fi < 4; fi++) {
		double fc = factors[fi], sg = pow(fc, gamma), clk = fc * fmax_mhz;
		/* at full clock: the whole sweep; below: a few power rows */
		for (int p = 0; p < HW_NPREC; p++) {
			if (!(gpu->flops[p] > 0) || (fi > 0 && p != HW_FP16))
				continue;
			for (int s = 0; s < 3; s++) {
				for (double m = fi ? 4096 : 1; m <= 16384; m *= 2) {
					double n = shapes[s][0], k = shapes[s][1];
					double ach =
					    gpu->flops[p] * e_c * m / (m + h_c) * fc * NOISE();
					double tm = 2 * m * n * k / ach;
					fprintf(out, "gemm,%s,%.0f,%.0f,%.0f,,%.10g,%.10g,%.10g,",
						pname[p], m, n, k, tm, ach, clk);
					if (m >= 1024) {
						double P = (idle_w + (T - idle_w) * sg) * NOISE();
						fprintf(out, "%.10g,%.1f\n", P, 30 + 0.04 * P);
					} else {
						fprintf(out, ",\n");
					}
				}
			}
		}
		for (int kind = CALIB_STREAM; kind <= CALIB_READ; kind++) {
			double plateau = kind == CALIB_STREAM ? 0.92 * e_m : e_m;
			for (double b = fi ? 1 << 30 : 1 << 20; b <= 8589934592.0;
			     b *= fi ? 4 : 2) {
				double ach = gpu->mem_bw * plateau * b / (b + h_m) * NOISE();
				double P = (idle_w + (T - idle_w) * mem_act * sg) * NOISE();
				fprintf(out, "%s,,,,,%.0f,%.10g,%.10g,%.10g,%.10g,%.1f\n",
					kind_names[kind], b, b / ach, ach, clk, P, 30 + 0.04 * P);
			}
		}
	}
	/* attention: decode over a KV cache of 4 KiB per token */
	for (double batch = 1; batch <= 64; batch *= 4)
		for (double ctx = 4096; ctx <= 131072; ctx *= 4) {
			double b = batch * ctx * 4096;
			double ach = gpu->mem_bw * e_m * b / (b + h_m) * NOISE();
			fprintf(out, "attention,bf16,%.0f,,%.0f,%.0f,%.10g,%.10g,%.10g,,\n", batch,
				ctx, b, b / ach, ach, fmax_mhz);
		}
	double cmin = gpu->clock_min_hz > 0 ? gpu->clock_min_hz / 1e6 : 0;
	for (int i = 0; i < 12 && idle_w > 0; i++) {
		double P = idle_w * NOISE();
		if (cmin > 0)
			fprintf(out, "idle,,,,,,1,,%.10g,%.10g,%.1f\n", cmin, P, 30 + 0.04 * P);
		else
			fprintf(out, "idle,,,,,,1,,,%.10g,%.1f\n", P, 30 + 0.04 * P);
	}
#undef NOISE
	gsl_rng_free(rng);
	return ferror(out) ? FS_ERR_IO : FS_OK;
}
