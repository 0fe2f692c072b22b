/*
 * workload.c - the request stream (see workload.h): arrival processes, length
 * distributions, shared prefixes, closed-loop sessions and trace replay, plus
 * the two trace readers (Azure LLM CSV and a strict flat JSONL).
 *
 * Each class owns four generators, "workload.<class>.arrivals", ".input",
 * ".output" and ".jitter" (trace copies), and one key, ".sessions", from which
 * the draws of every follow-up turn are seeded per (session id, turn) on a
 * scratch SplitMix64 generator, so that they do not depend on the order in
 * which turns finish.  Each class holds one pending request; a binary heap of
 * (time, class) keys picks the earliest, ties to the lower class index.  No
 * memory is allocated after workload_create().
 *
 * Decisions the header leaves open:
 *  - Trace classes take input and output lengths from the trace; the class's
 *    `input`/`output` distributions are ignored.  Follow-up turns of a trace
 *    class with sessions resample the trace's output column.
 *  - A trace's row with 0 input or 0 output tokens is kept as read by
 *    wl_trace_read and becomes 1 token in the request (requests need >= 1).
 *  - Azure CSV times are seconds since the earliest row (so the first request
 *    arrives at 0); JSONL times are seconds since the start of the run, as
 *    written (>= 0).
 *  - A JSONL row's own prefix wins over the class's system prompt; its session
 *    is carried through as written unless the class generates sessions, in
 *    which case every row starts a new generated session.
 *  - Ids: request ids start at 1.  Session ids are (23-bit class tag << 40 |
 *    per-class sequence), bit 63 clear, nonzero; the tag is a hash of the class
 *    name (de-collided by class index), so a class's sessions do not depend on
 *    the other classes.  System-prompt prefix ids have bit 63 set; session
 *    context prefix ids are a 63-bit hash of (session, turn), bit 63 clear.
 *  - Contexts (prompt lengths) saturate at WL_CONTEXT_MAX = 2^31 tokens.
 */
#include "workload.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "rng.h"

#define WL_CONTEXT_MAX    (1u << 31) /* tokens; longest prompt or answer */
#define WL_TRACE_MAX_ROWS 100000000u /* rows per trace file */
#define WL_LINE_MAX       (1u << 20) /* bytes per trace line */
#define WL_MULT_MAX       1000.0     /* trace rate_multiplier */
#define WL_TURNS_MAX      1e6        /* session.turns_mean */
#define WL_SEQ_BITS       40
#define WL_SEQ_MASK       ((1ULL << WL_SEQ_BITS) - 1)
#define WL_TAG_MASK       0x7fffffULL /* 23 bits: 63 - WL_SEQ_BITS */
#define WL_HIGH_BIT       (1ULL << 63)

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static uint64_t fnv1a_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

static uint64_t fnv1a_str(const char *s)
{
	return fnv1a_bytes(FNV_OFFSET, s, strlen(s));
}

/* A printable copy of at most 40 bytes of s[0..n) for error messages. */
static void quote(char *dst, size_t cap, const char *s, size_t n)
{
	size_t lim = n > 40 ? 40 : n, j = 0;
	for (size_t i = 0; i < lim && j + 4 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (n > lim && j + 4 < cap) {
		memcpy(dst + j, "...", 3);
		j += 3;
	}
	dst[j] = '\0';
}

/* SplitMix64 as a GSL generator type, for the keyed per-turn draws: its whole
 * state is the 64-bit key, so seeding is exact and costs nothing. */
typedef struct sm_state {
	uint64_t s;
} sm_state;

static void sm_set(void *vs, unsigned long seed)
{
	((sm_state *)vs)->s = (uint64_t)seed;
}

static unsigned long sm_get(void *vs)
{
	return (unsigned long)(rng_splitmix64(&((sm_state *)vs)->s) >> 32);
}

static double sm_get_double(void *vs)
{
	return (double)(rng_splitmix64(&((sm_state *)vs)->s) >> 11) * 0x1p-53;
}

static const gsl_rng_type sm_type = {
    "factorysim-splitmix64", 0xffffffffUL, 0, sizeof(sm_state), sm_set, sm_get, sm_get_double};

static void sm_key(gsl_rng *r, uint64_t key)
{
	((sm_state *)r->state)->s = key;
}

/* ------------------------------------------------------------------------ */
/* Line reader: blocks through fread, lines capped at WL_LINE_MAX            */
/* ------------------------------------------------------------------------ */

typedef struct line_reader {
	FILE *f;
	char blk[1 << 16];
	size_t bpos, blen;
	char *line;
	size_t cap;
	int lineno;
	bool eof;
} line_reader;

/* 1: a line in lr->line (NUL-terminated, CR stripped, *len bytes, may contain
 * NULs); 0: end of file; -1: line too long; -2: out of memory; -3: read error. */
static int lr_next(line_reader *lr, size_t *len)
{
	size_t n = 0;
	bool any = false;
	for (;;) {
		if (lr->bpos == lr->blen) {
			if (lr->eof)
				break;
			lr->blen = fread(lr->blk, 1, sizeof lr->blk, lr->f);
			lr->bpos = 0;
			if (lr->blen == 0) {
				lr->eof = true;
				if (ferror(lr->f))
					return -3;
				break;
			}
		}
		any = true;
		const char *p = lr->blk + lr->bpos;
		size_t avail = lr->blen - lr->bpos;
		const char *nl = memchr(p, '\n', avail);
		size_t take = nl ? (size_t)(nl - p) : avail;
		if (n + take > WL_LINE_MAX)
			return -1;
		if (n + take + 1 > lr->cap) {
			size_t nc = lr->cap ? lr->cap : 256;
			while (nc < n + take + 1)
				nc *= 2;
			char *nb = realloc(lr->line, nc);
			if (!nb)
				return -2;
			lr->line = nb;
			lr->cap = nc;
		}
		memcpy(lr->line + n, p, take);
		n += take;
		lr->bpos += take + (nl ? 1 : 0);
		if (nl)
			break;
	}
	if (!any)
		return 0;
	lr->lineno++;
	if (n > 0 && lr->line[n - 1] == '\r')
		n--;
	lr->line[n] = '\0';
	*len = n;
	return 1;
}

/* Skip a UTF-8 byte order mark at the start of the first line. */
static size_t bom(const char *s, size_t n)
{
	return (n >= 3 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
		(unsigned char)s[2] == 0xbf)
		   ? 3
		   : 0;
}

/* ------------------------------------------------------------------------ */
/* Trace rows: growth, stable sort                                          */
/* ------------------------------------------------------------------------ */

typedef struct row_vec {
	wl_trace_row *v;
	size_t n, cap;
} row_vec;

static int rows_push(row_vec *rv, const wl_trace_row *r)
{
	if (rv->n == rv->cap) {
		size_t nc = rv->cap ? rv->cap * 2 : 1024;
		wl_trace_row *nv = realloc(rv->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		rv->v = nv;
		rv->cap = nc;
	}
	rv->v[rv->n++] = *r;
	return 0;
}

/* Stable bottom-up merge sort by t_s; 0 or -1 when out of memory. */
static int rows_sort(wl_trace_row *v, size_t n)
{
	size_t i;
	for (i = 1; i < n; i++)
		if (v[i].t_s < v[i - 1].t_s)
			break;
	if (i >= n)
		return 0;
	wl_trace_row *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return -1;
	wl_trace_row *a = v, *b = tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t x = lo, y = mid, k = lo;
			while (x < mid && y < hi)
				b[k++] = (a[y].t_s < a[x].t_s) ? a[y++] : a[x++];
			while (x < mid)
				b[k++] = a[x++];
			while (y < hi)
				b[k++] = a[y++];
		}
		wl_trace_row *t = a;
		a = b;
		b = t;
	}
	if (a != v)
		memcpy(v, a, n * sizeof *v);
	free(tmp);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Azure CSV                                                                */
/* ------------------------------------------------------------------------ */

static const char AZ_HEADER[] = "TIMESTAMP,ContextTokens,GeneratedTokens";
static const char TS_FORMAT[] = "YYYY-MM-DD HH:MM:SS.fffffff";

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits(const char *s, size_t n, size_t at, size_t k, int *out)
{
	if (at + k > n)
		return -1;
	int v = 0;
	for (size_t i = 0; i < k; i++) {
		char c = s[at + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

/* Parse `YYYY-MM-DD HH:MM:SS[.f{1,9}]` exactly; seconds and nanoseconds
 * since the epoch, no time zones. */
static int parse_timestamp(const char *s, size_t n, int64_t *sec, int32_t *nsec)
{
	int y, mo, d, h, mi, se;
	if (digits(s, n, 0, 4, &y) || n < 5 || s[4] != '-' || digits(s, n, 5, 2, &mo) || n < 8 ||
	    s[7] != '-' || digits(s, n, 8, 2, &d) || n < 11 || s[10] != ' ' ||
	    digits(s, n, 11, 2, &h) || n < 14 || s[13] != ':' || digits(s, n, 14, 2, &mi) ||
	    n < 17 || s[16] != ':' || digits(s, n, 17, 2, &se))
		return -1;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 ||
	    mi > 59 || se > 59)
		return -1;
	int32_t ns = 0;
	if (n > 19) {
		if (s[19] != '.' || n == 20 || n > 29)
			return -1;
		int32_t scale = 100000000;
		for (size_t i = 20; i < n; i++, scale /= 10) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			ns += (s[i] - '0') * scale;
		}
	} else if (n != 19) {
		return -1;
	}
	*sec = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	*nsec = ns;
	return 0;
}

/* A token count: digits only, at most WL_CONTEXT_MAX. */
static int csv_tokens(const char *file, int line, const char *s, size_t n, size_t col,
		      const char *key, uint32_t *out, fs_error *err)
{
	char q[64];
	uint64_t v = 0;
	bool ok = n > 0 && n <= 20;
	for (size_t i = 0; ok && i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			ok = false;
		else if (v <= WL_CONTEXT_MAX)
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	quote(q, sizeof q, s, n);
	if (!ok)
		return fs_error_set(err, FS_ERR_INPUT, file, line, (int)col, key,
				    "'%s' is not a token count; expected a non-negative integer",
				    q);
	if (v > WL_CONTEXT_MAX)
		return fs_error_set(err, FS_ERR_INPUT, file, line, (int)col, key,
				    "'%s' is too many tokens; expected at most %u", q,
				    WL_CONTEXT_MAX);
	*out = (uint32_t)v;
	return FS_OK;
}

static int read_csv(line_reader *lr, const char *file, row_vec *rv, fs_error *err)
{
	size_t n;
	int rc;
	bool header = false;
	int64_t sec0 = 0;
	int32_t ns0 = 0;
	char q[64];
	while ((rc = lr_next(lr, &n)) == 1) {
		const char *s = lr->line;
		size_t off = lr->lineno == 1 ? bom(s, n) : 0;
		s += off;
		n -= off;
		if (!header) {
			if (n != strlen(AZ_HEADER) || memcmp(s, AZ_HEADER, n) != 0) {
				quote(q, sizeof q, s, n);
				return fs_error_set(
				    err, FS_ERR_INPUT, file, lr->lineno, 1, NULL,
				    "'%s' is not an Azure LLM trace header; expected %s", q,
				    AZ_HEADER);
			}
			header = true;
			continue;
		}
		if (n == 0)
			continue; /* blank lines are allowed */
		if (rv->n >= WL_TRACE_MAX_ROWS)
			return fs_error_set(err, FS_ERR_INPUT, file, lr->lineno, 1, NULL,
					    "more than %u requests; expected a shorter trace",
					    WL_TRACE_MAX_ROWS);
		static const char *const names[3] = {"TIMESTAMP", "ContextTokens",
						     "GeneratedTokens"};
		size_t start[3], len[3], at = 0;
		for (int k = 0; k < 3; k++) {
			if (at > n)
				return fs_error_set(err, FS_ERR_INPUT, file, lr->lineno,
						    (int)(n + off + 1), names[k],
						    "missing; expected %s", AZ_HEADER);
			const char *c = memchr(s + at, ',', n - at);
			size_t end = c ? (size_t)(c - s) : n;
			start[k] = at;
			len[k] = end - at;
			at = end + 1;
			if (k == 2 && c) {
				quote(q, sizeof q, s + at, n - at);
				return fs_error_set(
				    err, FS_ERR_INPUT, file, lr->lineno, (int)(at + off + 1), NULL,
				    "'%s' is an extra field; expected %s", q, AZ_HEADER);
			}
		}
		wl_trace_row r = {0};
		int64_t sec;
		int32_t ns;
		if (memchr(s + start[0], '\0', len[0]) ||
		    parse_timestamp(s + start[0], len[0], &sec, &ns)) {
			quote(q, sizeof q, s + start[0], len[0]);
			return fs_error_set(err, FS_ERR_INPUT, file, lr->lineno,
					    (int)(start[0] + off + 1), names[0],
					    "'%s' is not a timestamp; expected %s", q, TS_FORMAT);
		}
		for (int k = 1; k < 3; k++) {
			uint32_t *dst = k == 1 ? &r.input_tokens : &r.output_tokens;
			int e = csv_tokens(file, lr->lineno, s + start[k], len[k],
					   start[k] + off + 1, names[k], dst, err);
			if (e)
				return e;
		}
		if (rv->n == 0) {
			sec0 = sec;
			ns0 = ns;
		}
		r.t_s = (double)(sec - sec0) + (double)(ns - ns0) * 1e-9;
		if (rows_push(rv, &r))
			return fs_error_msg(err, FS_ERR_NOMEM,
					    "%s: out of memory reading the trace", file);
	}
	if (rc == 0 && !header)
		return fs_error_set(err, FS_ERR_INPUT, file, 1, 1, NULL,
				    "empty file; expected the header %s", AZ_HEADER);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* JSONL: one flat object per line                                          */
/* ------------------------------------------------------------------------ */

typedef struct jp {
	const char *s;
	size_t n, i;
	const char *file;
	int line;
	fs_error *err;
} jp;

enum { JV_NUMBER, JV_STRING, JV_NULL };

typedef struct jvalue {
	int type;
	size_t col;    /* 1-based column of the value */
	bool integer;  /* number written without fraction or exponent, >= 0 */
	bool overflow; /* integer above 2^64 - 1 */
	uint64_t u;    /* the integer */
	double d;      /* the number */
	uint64_t hash; /* FNV-1a of a string's decoded bytes */
	char text[48]; /* printable copy of the token */
} jvalue;

static int jerr(jp *p, size_t at, const char *key, const char *fmt, const char *a)
{
	return fs_error_set(p->err, FS_ERR_INPUT, p->file, p->line, (int)at + 1, key, fmt, a);
}

static void jws(jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

static bool is_delim(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '}';
}

/* "unexpected X; expected Y" at the current position. */
static int junexpected(jp *p, const char *key, const char *expected)
{
	char q[8], msg[160];
	if (p->i < p->n) {
		quote(q, sizeof q, p->s + p->i, 1);
		snprintf(msg, sizeof msg, "unexpected '%s'; expected %s", q, expected);
	} else {
		snprintf(msg, sizeof msg, "unexpected end of line; expected %s", expected);
	}
	return jerr(p, p->i, key, "%s", msg);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(jp *p, size_t at, unsigned *out)
{
	if (at + 4 > p->n)
		return -1;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(p->s[at + (size_t)k]);
		if (h < 0)
			return -1;
		v = v * 16 + (unsigned)h;
	}
	*out = v;
	return 0;
}

/* A string at p->i (which is '"'): decoded bytes hashed into *hash, a
 * printable copy of the first ones in buf.  `key` names the error context. */
static int jstring(jp *p, const char *key, char *buf, size_t cap, uint64_t *hash)
{
	size_t open = p->i++, j = 0;
	uint64_t h = FNV_OFFSET;
	for (;;) {
		if (p->i >= p->n)
			return jerr(p, open, key, "%s",
				    "unterminated string; expected a closing '\"'");
		unsigned char c = (unsigned char)p->s[p->i];
		unsigned char out[4];
		size_t nout = 1;
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20)
			return jerr(p, p->i, key, "%s",
				    "control character in a string; expected it escaped");
		if (c == '\\') {
			size_t esc = p->i;
			if (p->i + 1 >= p->n)
				return jerr(p, esc, key, "%s",
					    "unterminated string; expected a closing '\"'");
			char e = p->s[p->i + 1];
			p->i += 2;
			switch (e) {
			case '"':
				out[0] = '"';
				break;
			case '\\':
				out[0] = '\\';
				break;
			case '/':
				out[0] = '/';
				break;
			case 'b':
				out[0] = '\b';
				break;
			case 'f':
				out[0] = '\f';
				break;
			case 'n':
				out[0] = '\n';
				break;
			case 'r':
				out[0] = '\r';
				break;
			case 't':
				out[0] = '\t';
				break;
			case 'u': {
				unsigned cp, lo;
				if (hex4(p, p->i, &cp))
					return jerr(p, esc, key, "%s",
						    "bad \\u escape; expected four hex digits");
				p->i += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return jerr(
					    p, esc, key, "%s",
					    "lone low surrogate; expected a valid code point");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (p->i + 6 > p->n || p->s[p->i] != '\\' ||
					    p->s[p->i + 1] != 'u' || hex4(p, p->i + 2, &lo) ||
					    lo < 0xdc00 || lo > 0xdfff)
						return jerr(p, esc, key, "%s",
							    "lone high surrogate; expected a "
							    "\\uDC00-\\uDFFF escape after it");
					p->i += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp < 0x80) {
					out[0] = (unsigned char)cp;
				} else if (cp < 0x800) {
					out[0] = (unsigned char)(0xc0 | (cp >> 6));
					out[1] = (unsigned char)(0x80 | (cp & 0x3f));
					nout = 2;
				} else if (cp < 0x10000) {
					out[0] = (unsigned char)(0xe0 | (cp >> 12));
					out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
					out[2] = (unsigned char)(0x80 | (cp & 0x3f));
					nout = 3;
				} else {
					out[0] = (unsigned char)(0xf0 | (cp >> 18));
					out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
					out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
					out[3] = (unsigned char)(0x80 | (cp & 0x3f));
					nout = 4;
				}
				break;
			}
			default:
				return jerr(p, esc, key, "%s",
					    "bad escape; expected one of \\\" \\\\ \\/ \\b \\f \\n "
					    "\\r \\t \\uXXXX");
			}
		} else {
			out[0] = c;
			p->i++;
		}
		h = fnv1a_bytes(h, out, nout);
		for (size_t k = 0; k < nout && j + 1 < cap; k++)
			buf[j++] = (out[k] >= 0x20 && out[k] < 0x7f) ? (char)out[k] : '?';
	}
	if (cap)
		buf[j] = '\0';
	*hash = h;
	return FS_OK;
}

/* A JSON number at p->i. */
static int jnumber(jp *p, const char *key, jvalue *v)
{
	size_t st = p->i, i = p->i;
	const char *s = p->s;
	bool neg = false, frac = false;
	if (i < p->n && s[i] == '-') {
		neg = true;
		i++;
	}
	size_t d0 = i;
	if (i < p->n && s[i] == '0')
		i++;
	else
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
	bool ok = i > d0;
	if (ok && i < p->n && s[i] == '.') {
		frac = true;
		size_t f0 = ++i;
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
		ok = i > f0;
	}
	if (ok && i < p->n && (s[i] == 'e' || s[i] == 'E')) {
		frac = true;
		i++;
		if (i < p->n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t e0 = i;
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
		ok = i > e0;
	}
	/* a number must end at a delimiter */
	if (ok && i < p->n && !is_delim(s[i]))
		ok = false;
	if (!ok) {
		size_t e = i;
		while (e < p->n && !is_delim(s[e]))
			e++;
		char q[64];
		quote(q, sizeof q, s + st, e - st);
		return jerr(p, st, key, "'%s' is not a valid JSON number; expected a number", q);
	}
	quote(v->text, sizeof v->text, s + st, i - st);
	v->type = JV_NUMBER;
	v->integer = !neg && !frac;
	v->overflow = false;
	v->u = 0;
	if (v->integer)
		for (size_t k = st; k < i; k++) {
			uint64_t dgt = (uint64_t)(s[k] - '0');
			if (v->u > (UINT64_MAX - dgt) / 10)
				v->overflow = true;
			else
				v->u = v->u * 10 + dgt;
		}
	char tmp[512];
	if (i - st >= sizeof tmp)
		return jerr(p, st, key, "%s", "number too long; expected at most 511 characters");
	memcpy(tmp, s + st, i - st);
	tmp[i - st] = '\0';
	v->d = strtod(tmp, NULL);
	p->i = i;
	return FS_OK;
}

/* A value at p->i: number, string or null; objects, arrays and booleans are
 * errors. */
static int jvalue_parse(jp *p, const char *key, jvalue *v)
{
	v->col = p->i + 1;
	if (p->i >= p->n)
		return junexpected(p, key, "a value");
	char c = p->s[p->i];
	if (c == '"') {
		v->type = JV_STRING;
		return jstring(p, key, v->text, sizeof v->text, &v->hash);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return jnumber(p, key, v);
	if (c == '{' || c == '[')
		return jerr(p, p->i, key,
			    "nested %s; expected a number or a string (the object must be flat)",
			    c == '{' ? "object" : "array");
	static const char *const lits[3] = {"null", "true", "false"};
	for (int k = 0; k < 3; k++) {
		size_t L = strlen(lits[k]);
		if (p->n - p->i >= L && memcmp(p->s + p->i, lits[k], L) == 0 &&
		    (p->i + L == p->n || is_delim(p->s[p->i + L]))) {
			if (k > 0)
				return jerr(p, p->i, key,
					    "'%s' is not allowed; expected a number or a string",
					    lits[k]);
			v->type = JV_NULL;
			strcpy(v->text, "null");
			p->i += L;
			return FS_OK;
		}
	}
	return junexpected(p, key, "a number or a string");
}

enum { JK_TIME, JK_INPUT, JK_OUTPUT, JK_SESSION, JK_PREFIX, JK_PREFIX_TOKENS, JK_N };
static const char *const JKEYS[JK_N] = {"time",    "input",  "output",
					"session", "prefix", "prefix_tokens"};

static int jtokens(jp *p, const char *key, const jvalue *v, uint32_t *out)
{
	if (v->type != JV_NUMBER || !v->integer)
		return jerr(p, v->col - 1, key,
			    "'%s' is not a token count; expected a non-negative integer", v->text);
	if (v->overflow || v->u > WL_CONTEXT_MAX) {
		char msg[128];
		snprintf(msg, sizeof msg, "'%s' is too many tokens; expected at most %u", v->text,
			 WL_CONTEXT_MAX);
		return jerr(p, v->col - 1, key, "%s", msg);
	}
	*out = (uint32_t)v->u;
	return FS_OK;
}

static int jid(jp *p, const char *key, const jvalue *v, uint64_t *out)
{
	if (v->type == JV_NULL) {
		*out = 0;
	} else if (v->type == JV_STRING) {
		*out = v->hash ? v->hash : 1;
	} else if (v->integer && !v->overflow) {
		*out = v->u;
	} else {
		return jerr(p, v->col - 1, key,
			    "'%s' is not an id; expected a string or a non-negative integer",
			    v->text);
	}
	return FS_OK;
}

static int jsonl_line(jp *p, wl_trace_row *r)
{
	jvalue vals[JK_N];
	bool seen[JK_N] = {false};
	jws(p);
	if (p->i >= p->n || p->s[p->i] != '{')
		return junexpected(p, NULL, "'{' starting a JSON object");
	p->i++;
	jws(p);
	bool first = true;
	for (;;) {
		if (p->i < p->n && p->s[p->i] == '}' && first) {
			p->i++;
			break;
		}
		if (p->i >= p->n || p->s[p->i] != '"')
			return junexpected(
			    p, NULL, first ? "'\"' starting a key or '}'" : "'\"' starting a key");
		size_t kcol = p->i;
		char kbuf[48];
		uint64_t kh;
		int e = jstring(p, NULL, kbuf, sizeof kbuf, &kh);
		if (e)
			return e;
		int k;
		for (k = 0; k < JK_N; k++)
			if (strcmp(kbuf, JKEYS[k]) == 0)
				break;
		/* a key whose decoded bytes differ from its printable copy is unknown */
		if (k < JK_N && kh != fnv1a_str(JKEYS[k]))
			k = JK_N;
		if (k == JK_N)
			return jerr(p, kcol, kbuf, "%s",
				    "unknown key; expected time, input, output, session, "
				    "prefix or prefix_tokens");
		if (seen[k])
			return jerr(p, kcol, JKEYS[k], "%s",
				    "duplicate key; expected each key once per line");
		jws(p);
		if (p->i >= p->n || p->s[p->i] != ':')
			return junexpected(p, JKEYS[k], "':'");
		p->i++;
		jws(p);
		e = jvalue_parse(p, JKEYS[k], &vals[k]);
		if (e)
			return e;
		seen[k] = true;
		first = false;
		jws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			jws(p);
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			break;
		}
		return junexpected(p, JKEYS[k], "',' or '}'");
	}
	jws(p);
	if (p->i < p->n)
		return junexpected(p, NULL, "end of line after the object");
	for (int k = JK_TIME; k <= JK_OUTPUT; k++)
		if (!seen[k])
			return jerr(p, 0, JKEYS[k], "%s",
				    "missing; expected time, input and output on every line");
	const jvalue *t = &vals[JK_TIME];
	if (t->type != JV_NUMBER || !isfinite(t->d) || t->d < 0)
		return jerr(p, t->col - 1, "time", "'%s' is not a time; expected seconds >= 0",
			    t->text);
	memset(r, 0, sizeof *r);
	r->t_s = t->d;
	int e;
	if ((e = jtokens(p, "input", &vals[JK_INPUT], &r->input_tokens)) ||
	    (e = jtokens(p, "output", &vals[JK_OUTPUT], &r->output_tokens)))
		return e;
	if (seen[JK_SESSION] && (e = jid(p, "session", &vals[JK_SESSION], &r->session)))
		return e;
	if (seen[JK_PREFIX] && (e = jid(p, "prefix", &vals[JK_PREFIX], &r->prefix_id)))
		return e;
	if (seen[JK_PREFIX_TOKENS]) {
		const jvalue *v = &vals[JK_PREFIX_TOKENS];
		if ((e = jtokens(p, "prefix_tokens", v, &r->prefix_tokens)))
			return e;
		if (r->prefix_tokens > r->input_tokens)
			return jerr(p, v->col - 1, "prefix_tokens",
				    "'%s' exceeds the input tokens; expected at most input",
				    v->text);
		if (r->prefix_tokens > 0 && r->prefix_id == 0)
			return jerr(p, v->col - 1, "prefix_tokens", "%s",
				    "given without a prefix; expected a \"prefix\" id too");
	}
	return FS_OK;
}

static int read_jsonl(line_reader *lr, const char *file, row_vec *rv, fs_error *err)
{
	size_t n;
	int rc;
	while ((rc = lr_next(lr, &n)) == 1) {
		const char *s = lr->line;
		size_t off = lr->lineno == 1 ? bom(s, n) : 0;
		jp p = {s + off, n - off, 0, file, lr->lineno, err};
		jws(&p);
		if (p.i == p.n)
			continue; /* blank line */
		if (rv->n >= WL_TRACE_MAX_ROWS)
			return fs_error_set(err, FS_ERR_INPUT, file, lr->lineno, 1, NULL,
					    "more than %u requests; expected a shorter trace",
					    WL_TRACE_MAX_ROWS);
		wl_trace_row r;
		int e = jsonl_line(&p, &r);
		if (e) {
			if (err && off)
				err->column += (int)off;
			return e;
		}
		if (rows_push(rv, &r))
			return fs_error_msg(err, FS_ERR_NOMEM,
					    "%s: out of memory reading the trace", file);
	}
	return rc;
}

int wl_trace_read(const char *path, int format, wl_trace_row **rows, size_t *n, fs_error *err)
{
	*rows = NULL;
	*n = 0;
	if (format != WL_TRACE_AZURE_CSV && format != WL_TRACE_JSONL)
		return fs_error_msg(err, FS_ERR_INTERNAL, "unknown trace format %d", format);
	FILE *f = fopen(path, "rb");
	if (!f)
		return fs_error_set(err, FS_ERR_IO, path, 0, 0, NULL,
				    "cannot open the trace; expected a readable file");
	line_reader *lr = calloc(1, sizeof *lr);
	if (!lr) {
		fclose(f);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	}
	lr->f = f;
	row_vec rv = {0};
	int rc = format == WL_TRACE_AZURE_CSV ? read_csv(lr, path, &rv, err)
					      : read_jsonl(lr, path, &rv, err);
	if (rc == -1)
		rc = fs_error_set(err, FS_ERR_INPUT, path, lr->lineno + 1, 1, NULL,
				  "line longer than %u bytes; expected one request per line",
				  WL_LINE_MAX);
	else if (rc == -2)
		rc = fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory reading the trace", path);
	else if (rc == -3)
		rc = fs_error_set(err, FS_ERR_IO, path, 0, 0, NULL, "read error");
	free(lr->line);
	free(lr);
	fclose(f);
	if (rc == FS_OK && rows_sort(rv.v, rv.n))
		rc = fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory sorting the trace", path);
	if (rc != FS_OK) {
		free(rv.v);
		return rc;
	}
	if (format == WL_TRACE_AZURE_CSV && rv.n > 0 && rv.v[0].t_s != 0.0) {
		double t0 = rv.v[0].t_s; /* rows were unsorted: re-base on the earliest */
		for (size_t i = 0; i < rv.n; i++)
			rv.v[i].t_s -= t0;
	}
	*rows = rv.v;
	*n = rv.n;
	return FS_OK;
}

/* ------------------------------------------------------------------------ */
/* Parameter checks                                                         */
/* ------------------------------------------------------------------------ */

static int bad(fs_error *err, size_t i, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(fs_error *err, size_t i, const char *key, const char *fmt, ...)
{
	char k[128], msg[512];
	snprintf(k, sizeof k, "workload[%zu].%s", i, key);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, k, "%s", msg);
}

static int check_length(const wl_length_params *L, size_t i, const char *key, fs_error *err)
{
	char k[96];
	if (L->kind != WL_FIXED && L->kind != WL_LOGNORMAL && L->kind != WL_EMPIRICAL) {
		snprintf(k, sizeof k, "%s.distribution", key);
		return bad(
		    err, i, k,
		    "%d is not a length distribution; expected fixed, lognormal or empirical",
		    L->kind);
	}
	if (L->kind != WL_EMPIRICAL &&
	    !(isfinite(L->mean) && L->mean > 0 && L->mean <= WL_CONTEXT_MAX)) {
		snprintf(k, sizeof k, "%s.mean", key);
		return bad(err, i, k, "%g tokens is out of range; expected a mean in (0, 2^31]",
			   L->mean);
	}
	if (L->kind == WL_LOGNORMAL && !(isfinite(L->cv) && L->cv >= 0 && L->cv <= 100)) {
		snprintf(k, sizeof k, "%s.cv", key);
		return bad(err, i, k,
			   "%g is out of range; expected a coefficient of variation in [0, 100]",
			   L->cv);
	}
	if (L->kind == WL_EMPIRICAL) {
		if (L->empirical[0] == '\0' || !memchr(L->empirical, '\0', WL_PATH_LEN)) {
			snprintf(k, sizeof k, "%s.file", key);
			return bad(err, i, k, "no trace file given; expected a path");
		}
		if (L->empirical_column != 0 && L->empirical_column != 1) {
			snprintf(k, sizeof k, "%s.column", key);
			return bad(err, i, k,
				   "%d is not a column; expected 0 (input) or 1 (output)",
				   L->empirical_column);
		}
	}
	if (!(isfinite(L->min) && L->min >= 0 && L->min <= WL_CONTEXT_MAX)) {
		snprintf(k, sizeof k, "%s.min", key);
		return bad(err, i, k, "%g tokens is out of range; expected [0, 2^31]", L->min);
	}
	if (!(isfinite(L->max) && L->max >= 0 && L->max <= WL_CONTEXT_MAX) ||
	    (L->max > 0 && (L->max < L->min || L->max < 1))) {
		snprintf(k, sizeof k, "%s.max", key);
		return bad(err, i, k,
			   "%g tokens is out of range; expected 0 (none) or at least max(1, min) "
			   "and at most 2^31",
			   L->max);
	}
	return FS_OK;
}

int workload_class_check(const wl_class_params *c, size_t i, fs_error *err)
{
	if (c->name[0] == '\0' || !memchr(c->name, '\0', WL_NAME_LEN))
		return bad(err, i, "name", "empty or too long; expected a class name");
	if (c->arrival < WL_POISSON || c->arrival > WL_TRACE)
		return bad(
		    err, i, "arrival.process",
		    "%d is not an arrival process; expected poisson, gamma, diurnal or trace",
		    c->arrival);
	if (c->arrival != WL_TRACE && !(isfinite(c->rate) && c->rate > 0 && c->rate <= 1e9))
		return bad(err, i, "arrival.rate",
			   "%g /s is out of range; expected a rate in (0, 1e9] per second",
			   c->rate);
	if (c->arrival == WL_GAMMA && !(isfinite(c->cv) && c->cv >= 0 && c->cv <= 100))
		return bad(err, i, "arrival.cv",
			   "%g is out of range; expected a coefficient of variation in [0, 100]",
			   c->cv);
	if (c->arrival == WL_DIURNAL) {
		if (!(c->diurnal_amplitude >= 0 && c->diurnal_amplitude <= 1))
			return bad(err, i, "arrival.amplitude",
				   "%g is out of range; expected [0, 1]", c->diurnal_amplitude);
		if (!(isfinite(c->diurnal_period_s) && c->diurnal_period_s > 0))
			return bad(err, i, "arrival.period",
				   "%g s is out of range; expected a period > 0",
				   c->diurnal_period_s);
		if (!isfinite(c->diurnal_phase_s))
			return bad(err, i, "arrival.phase",
				   "%g s is not finite; expected a phase in seconds",
				   c->diurnal_phase_s);
	}
	if (c->arrival == WL_TRACE) {
		const wl_trace_params *t = &c->trace;
		if (t->path[0] == '\0' || !memchr(t->path, '\0', WL_PATH_LEN))
			return bad(err, i, "arrival.file", "no trace file given; expected a path");
		if (t->format != WL_TRACE_AZURE_CSV && t->format != WL_TRACE_JSONL)
			return bad(err, i, "arrival.format",
				   "%d is not a trace format; expected azure or jsonl", t->format);
		if (!(isfinite(t->time_scale) && t->time_scale > 0 && t->time_scale <= 1e6))
			return bad(err, i, "arrival.time_scale",
				   "%g is out of range; expected (0, 1e6]", t->time_scale);
		if (!(isfinite(t->rate_multiplier) && t->rate_multiplier > 0 &&
		      t->rate_multiplier <= WL_MULT_MAX))
			return bad(err, i, "arrival.rate_multiplier",
				   "%g is out of range; expected (0, 1000]", t->rate_multiplier);
	} else {
		int e;
		if ((e = check_length(&c->input, i, "input", err)) ||
		    (e = check_length(&c->output, i, "output", err)))
			return e;
	}
	if (c->system_prompt_tokens > WL_CONTEXT_MAX)
		return bad(err, i, "system_prompt",
			   "%u tokens is out of range; expected at most 2^31",
			   (unsigned)c->system_prompt_tokens);
	const wl_session_params *s = &c->session;
	if (s->enabled) {
		if (!(isfinite(s->turns_mean) && s->turns_mean >= 1 &&
		      s->turns_mean <= WL_TURNS_MAX))
			return bad(
			    err, i, "session.turns",
			    "%g is out of range; expected a mean number of turns in [1, 1e6]",
			    s->turns_mean);
		if (!(isfinite(s->think_mean_s) && s->think_mean_s >= 0 && s->think_mean_s <= 1e9))
			return bad(err, i, "session.think",
				   "%g s is out of range; expected [0, 1e9] s", s->think_mean_s);
		int e = check_length(&s->turn_input, i, "session.input", err);
		if (e)
			return e;
	}
	if (!(isfinite(c->slo_ttft_s) && c->slo_ttft_s >= 0))
		return bad(err, i, "slo.ttft", "%g s is out of range; expected >= 0 (0 = none)",
			   c->slo_ttft_s);
	if (!(isfinite(c->slo_tpot_s) && c->slo_tpot_s >= 0))
		return bad(err, i, "slo.tpot", "%g s is out of range; expected >= 0 (0 = none)",
			   c->slo_tpot_s);
	return FS_OK;
}

/* ------------------------------------------------------------------------ */
/* The generator                                                            */
/* ------------------------------------------------------------------------ */

typedef struct table {
	char path[WL_PATH_LEN];
	int format;
	wl_trace_row *rows;
	size_t n;
	uint32_t *col[2]; /* input and output token columns, compact for resampling */
} table;

typedef struct lenspec {
	int kind;
	double mean, mu, sigma, lo, hi;
	const table *emp;
	int column;
} lenspec;

typedef struct wl_class {
	wl_class_params p;
	gsl_rng *r_arr, *r_in, *r_out, *r_jit;
	uint64_t sess_key;   /* base key of the keyed per-session draws */
	uint64_t sys_prefix; /* system prompt prefix id, 0 = none */
	uint64_t tag;        /* session id tag */
	uint64_t sess_seq;
	lenspec in, out, turn_in;
	double t_s; /* time of the last arrival [s] (poisson, gamma, diurnal) */
	double gamma_shape, gamma_scale, thin_rate;
	/* trace replay */
	const table *trace;
	size_t row;    /* next row to expand */
	uint64_t loop; /* completed passes */
	double period, mean_gap, t_first;
	double *copies; /* arrival times [s] of the current row's copies */
	uint32_t ncopies, icopy, cur_row;
	bool exhausted;
	wl_request pend; /* the pending arrival (id filled when returned) */
} wl_class;

typedef struct hkey {
	sim_time t;
	uint32_t cls;
} hkey;

struct workload {
	wl_class *cls;
	size_t n;
	table *tables;
	size_t ntables;
	hkey *heap;
	size_t hn;
	uint64_t next_id;
	gsl_rng *scratch;
};

static bool hless(hkey a, hkey b)
{
	return a.t < b.t || (a.t == b.t && a.cls < b.cls);
}

static void sift_down(hkey *h, size_t n, size_t i)
{
	hkey x = h[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && hless(h[c + 1], h[c]))
			c++;
		if (!hless(h[c], x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static uint32_t clamp_tokens(double v, const lenspec *L)
{
	if (!(v >= L->lo)) /* also NaN */
		v = L->lo;
	if (v > L->hi)
		v = L->hi;
	v = floor(v + 0.5);
	if (v < 1)
		v = 1;
	if (v > WL_CONTEXT_MAX)
		v = WL_CONTEXT_MAX;
	return (uint32_t)v;
}

static uint32_t draw_len(const lenspec *L, gsl_rng *r)
{
	double v;
	switch (L->kind) {
	case WL_LOGNORMAL:
		v = L->sigma > 0 ? gsl_ran_lognormal(r, L->mu, L->sigma) : L->mean;
		break;
	case WL_EMPIRICAL: {
		/* a compact column: resampling is on the per-request path */
		v = L->emp->col[L->column][gsl_rng_uniform_int(r, L->emp->n)];
		break;
	}
	default:
		v = L->mean;
		break;
	}
	return clamp_tokens(v, L);
}

static uint32_t add_tokens(uint64_t a, uint64_t b)
{
	uint64_t s = a + b;
	return (uint32_t)(s > WL_CONTEXT_MAX ? WL_CONTEXT_MAX : s);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* The table of a trace file, read once per workload. */
static int get_table(workload *w, const char *path, int format, const table **out, fs_error *err)
{
	table *t = NULL;
	for (size_t i = 0; i < w->ntables && !t; i++)
		if (w->tables[i].format == format && strcmp(w->tables[i].path, path) == 0)
			t = &w->tables[i];
	if (!t) {
		t = &w->tables[w->ntables];
		int e = wl_trace_read(path, format, &t->rows, &t->n, err);
		if (e)
			return e;
		t->col[0] = malloc((t->n ? t->n : 1) * sizeof *t->col[0]);
		t->col[1] = malloc((t->n ? t->n : 1) * sizeof *t->col[1]);
		if (!t->col[0] || !t->col[1]) {
			free(t->col[0]);
			free(t->col[1]);
			free(t->rows);
			return fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory", path);
		}
		for (size_t i = 0; i < t->n; i++) {
			t->col[0][i] = t->rows[i].input_tokens;
			t->col[1][i] = t->rows[i].output_tokens;
		}
		snprintf(t->path, sizeof t->path, "%s", path);
		t->format = format;
		w->ntables++;
	}
	if (t->n == 0)
		return fs_error_set(err, FS_ERR_INPUT, path, 0, 0, NULL,
				    "the trace has no requests; expected at least one row");
	*out = t;
	return FS_OK;
}

static int make_len(workload *w, const wl_length_params *L, lenspec *s, fs_error *err)
{
	memset(s, 0, sizeof *s);
	s->kind = L->kind;
	s->mean = L->mean;
	s->lo = L->min > 1 ? L->min : 1;
	s->hi = L->max > 0 ? L->max : WL_CONTEXT_MAX;
	if (L->kind == WL_LOGNORMAL && L->cv > 0) {
		double s2 = log1p(L->cv * L->cv);
		s->sigma = sqrt(s2);
		s->mu = log(L->mean) - s2 / 2;
	}
	if (L->kind == WL_EMPIRICAL) {
		s->column = L->empirical_column;
		int fmt = ends_with(L->empirical, ".jsonl") ? WL_TRACE_JSONL : WL_TRACE_AZURE_CSV;
		return get_table(w, L->empirical, fmt, &s->emp, err);
	}
	return FS_OK;
}

/* Lengths, prefix and session of a new open-loop request (time already set). */
static void fill_open(wl_class *c, const wl_trace_row *row)
{
	wl_request *q = &c->pend;
	uint64_t sys = c->p.system_prompt_tokens;
	q->prefix_id = 0;
	q->prefix_tokens = 0;
	q->session = 0;
	q->turn = 0;
	if (row) {
		q->input_tokens = row->input_tokens ? row->input_tokens : 1;
		q->output_tokens = row->output_tokens ? row->output_tokens : 1;
		if (row->prefix_id) {
			q->prefix_id = row->prefix_id;
			q->prefix_tokens = row->prefix_tokens < q->input_tokens ? row->prefix_tokens
										: q->input_tokens;
		}
		q->session = row->session;
	} else {
		q->input_tokens = add_tokens(sys, draw_len(&c->in, c->r_in));
		q->output_tokens = draw_len(&c->out, c->r_out);
	}
	if (sys > 0 && q->prefix_id == 0) {
		q->prefix_id = c->sys_prefix;
		q->prefix_tokens = (uint32_t)(sys < q->input_tokens ? sys : q->input_tokens);
	}
	if (c->p.session.enabled) {
		c->sess_seq = (c->sess_seq & WL_SEQ_MASK) == WL_SEQ_MASK ? 1 : c->sess_seq + 1;
		q->session = (c->tag << WL_SEQ_BITS) | c->sess_seq;
	}
}

/* Expand the next trace row with at least one copy into c->copies. */
static bool trace_fill(wl_class *c)
{
	const table *T = c->trace;
	double m = c->p.trace.rate_multiplier, whole = floor(m), frac = m - whole;
	for (;;) {
		if (c->row >= T->n) {
			if (!c->p.trace.loop)
				return false;
			c->row = 0;
			c->loop++;
		}
		size_t i = c->row++;
		uint32_t k = (uint32_t)whole;
		if (frac > 0 && gsl_rng_uniform(c->r_jit) < frac)
			k++;
		if (k == 0)
			continue;
		double base = (double)c->loop * c->period + T->rows[i].t_s;
		double gap = i + 1 < T->n ? T->rows[i + 1].t_s - T->rows[i].t_s : c->mean_gap;
		double scale = c->p.trace.time_scale;
		c->copies[0] = base * scale;
		for (uint32_t j = 1; j < k; j++) {
			double t = (base + gsl_rng_uniform(c->r_jit) * gap) * scale;
			uint32_t a = j; /* insertion sort: k is small */
			while (a > 1 && c->copies[a - 1] > t) {
				c->copies[a] = c->copies[a - 1];
				a--;
			}
			c->copies[a] = t;
		}
		c->ncopies = k;
		c->icopy = 0;
		c->cur_row = (uint32_t)i;
		return true;
	}
}

/* Generate the class's next pending arrival; false when it has none. */
static bool class_advance(wl_class *c)
{
	const wl_class_params *p = &c->p;
	switch (p->arrival) {
	case WL_POISSON:
		c->t_s += gsl_ran_exponential(c->r_arr, 1.0 / p->rate);
		break;
	case WL_GAMMA:
		c->t_s += c->gamma_shape > 0
			      ? gsl_ran_gamma(c->r_arr, c->gamma_shape, c->gamma_scale)
			      : 1.0 / p->rate;
		break;
	case WL_DIURNAL: {
		double A = p->diurnal_amplitude, w = 6.283185307179586 / p->diurnal_period_s;
		for (;;) {
			c->t_s += gsl_ran_exponential(c->r_arr, 1.0 / c->thin_rate);
			if (A == 0)
				break;
			double acc = (1 + A * sin(w * (c->t_s - p->diurnal_phase_s))) / (1 + A);
			if (gsl_rng_uniform(c->r_arr) < acc)
				break;
		}
		break;
	}
	default: /* WL_TRACE */
		if (c->icopy >= c->ncopies && !trace_fill(c))
			return false;
		c->pend.arrival = sim_from_s(c->copies[c->icopy++]);
		fill_open(c, &c->trace->rows[c->cur_row]);
		return true;
	}
	c->pend.arrival = sim_from_s(c->t_s);
	fill_open(c, NULL);
	return true;
}

static int init_class(workload *w, size_t i, uint64_t seed, uint32_t rep, fs_error *err)
{
	wl_class *c = &w->cls[i];
	const wl_class_params *p = &c->p;
	char nm[WL_NAME_LEN + 32];
	static const char *const purpose[4] = {"arrivals", "input", "output", "jitter"};
	gsl_rng **dst[4] = {&c->r_arr, &c->r_in, &c->r_out, &c->r_jit};
	for (int k = 0; k < 4; k++) {
		snprintf(nm, sizeof nm, "workload.%s.%s", p->name, purpose[k]);
		*dst[k] = rng_stream_alloc(NULL, seed, rep, nm);
		if (!*dst[k])
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	}
	snprintf(nm, sizeof nm, "workload.%s.sessions", p->name);
	c->sess_key = rng_stream_seed(seed, rep, nm);
	snprintf(nm, sizeof nm, "workload.%s.system", p->name);
	c->sys_prefix = p->system_prompt_tokens ? (fnv1a_str(nm) | 1 | WL_HIGH_BIT) : 0;
	/* a session tag of its own, stable under adding or removing other classes
	 * unless two names collide, in which case the later class moves on */
	c->tag = (fnv1a_str(p->name) >> 17) & WL_TAG_MASK;
	for (size_t j = 0; j < i; j++)
		if (w->cls[j].tag == c->tag) {
			c->tag = (c->tag + 1) & WL_TAG_MASK;
			j = (size_t)-1;
		}
	c->pend.cls = (uint32_t)i;
	int e;
	if (p->arrival != WL_TRACE) {
		if ((e = make_len(w, &p->input, &c->in, err)) ||
		    (e = make_len(w, &p->output, &c->out, err)))
			return e;
	}
	if (p->session.enabled && (e = make_len(w, &p->session.turn_input, &c->turn_in, err)))
		return e;
	if (p->arrival == WL_GAMMA && p->cv > 0) {
		c->gamma_shape = 1.0 / (p->cv * p->cv);
		c->gamma_scale = 1.0 / (p->rate * c->gamma_shape);
	}
	c->thin_rate = p->rate * (1 + p->diurnal_amplitude);
	if (p->arrival == WL_TRACE) {
		if ((e = get_table(w, p->trace.path, p->trace.format, &c->trace, err)))
			return e;
		const table *T = c->trace;
		c->t_first = T->rows[0].t_s;
		double span = T->rows[T->n - 1].t_s - c->t_first;
		c->mean_gap = T->n > 1 ? span / (double)(T->n - 1) : 0;
		c->period = span + c->mean_gap;
		if (p->trace.loop && !(c->period > 0))
			return fs_error_set(err, FS_ERR_INPUT, p->trace.path, 0, 0, NULL,
					    "the trace spans no time, so it cannot loop; expected "
					    "requests at two or more distinct times");
		c->copies = malloc(((size_t)p->trace.rate_multiplier + 1) * sizeof *c->copies);
		if (!c->copies)
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		/* the output column of the trace, for follow-up turns */
		c->out.kind = WL_EMPIRICAL;
		c->out.emp = T;
		c->out.column = 1;
		c->out.lo = 1;
		c->out.hi = WL_CONTEXT_MAX;
	}
	return FS_OK;
}

int workload_create(const wl_class_params *classes, size_t n, uint64_t seed, uint32_t replication,
		    workload **out, fs_error *err)
{
	*out = NULL;
	if (n > 65536)
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "workload",
				    "%zu classes; expected at most 65536", n);
	for (size_t i = 0; i < n; i++) {
		int e = workload_class_check(&classes[i], i, err);
		if (e)
			return e;
		for (size_t j = 0; j < i; j++)
			if (strcmp(classes[i].name, classes[j].name) == 0)
				return bad(err, i, "name",
					   "duplicate class name; expected names unique within the "
					   "workload");
	}
	workload *w = calloc(1, sizeof *w);
	if (!w)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	w->next_id = 1;
	w->cls = calloc(n ? n : 1, sizeof *w->cls);
	w->tables = calloc(4 * n + 1, sizeof *w->tables);
	w->heap = calloc(n ? n : 1, sizeof *w->heap);
	w->scratch = gsl_rng_alloc(&sm_type);
	if (!w->cls || !w->tables || !w->heap || !w->scratch) {
		workload_destroy(w);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	}
	w->n = n;
	for (size_t i = 0; i < n; i++) {
		w->cls[i].p = classes[i];
		int e = init_class(w, i, seed, replication, err);
		if (e) {
			workload_destroy(w);
			return e;
		}
	}
	for (size_t i = 0; i < n; i++) {
		wl_class *c = &w->cls[i];
		c->exhausted = !class_advance(c);
		if (!c->exhausted)
			w->heap[w->hn++] = (hkey){c->pend.arrival, (uint32_t)i};
	}
	for (size_t i = w->hn / 2; i-- > 0;)
		sift_down(w->heap, w->hn, i);
	*out = w;
	return FS_OK;
}

void workload_destroy(workload *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		wl_class *c = &w->cls[i];
		gsl_rng_free(c->r_arr);
		gsl_rng_free(c->r_in);
		gsl_rng_free(c->r_out);
		gsl_rng_free(c->r_jit);
		free(c->copies);
	}
	for (size_t i = 0; w->tables && i < w->ntables; i++) {
		free(w->tables[i].rows);
		free(w->tables[i].col[0]);
		free(w->tables[i].col[1]);
	}
	if (w->scratch)
		gsl_rng_free(w->scratch);
	free(w->tables);
	free(w->cls);
	free(w->heap);
	free(w);
}

int workload_next(workload *w, wl_request *out)
{
	if (w->hn == 0)
		return 1;
	wl_class *c = &w->cls[w->heap[0].cls];
	*out = c->pend;
	out->id = w->next_id++;
	if (class_advance(c)) {
		w->heap[0].t = c->pend.arrival;
	} else {
		c->exhausted = true;
		w->heap[0] = w->heap[--w->hn];
	}
	if (w->hn > 1)
		sift_down(w->heap, w->hn, 0);
	return 0;
}

/* The key of the per-(session, turn) draws; turn 0 draws the turn count. */
static uint64_t turn_key(uint64_t base, uint64_t session, uint64_t turn)
{
	uint64_t st = base ^ (session * 0x9e3779b97f4a7c15ULL);
	(void)rng_splitmix64(&st);
	st ^= (turn + 1) * 0xd1b54a32d192ed03ULL;
	return rng_splitmix64(&st);
}

/* "Context of session s after turn k": 63 bits, nonzero, bit 63 clear. */
static uint64_t context_prefix(uint64_t session, uint64_t turn)
{
	uint64_t st = session * 0xbf58476d1ce4e5b9ULL ^ turn;
	uint64_t h = rng_splitmix64(&st);
	st ^= turn * 0x94d049bb133111ebULL;
	h ^= rng_splitmix64(&st) >> 1;
	h &= ~WL_HIGH_BIT;
	return h ? h : 1;
}

int workload_next_turn(workload *w, const wl_request *done, sim_time finish, wl_request *out)
{
	if (done->cls >= w->n || done->session == 0)
		return 0;
	wl_class *c = &w->cls[done->cls];
	const wl_session_params *sp = &c->p.session;
	if (!sp->enabled || done->turn >= UINT32_MAX - 1)
		return 0;
	gsl_rng *r = w->scratch;
	sm_key(r, turn_key(c->sess_key, done->session, 0));
	unsigned turns = sp->turns_mean > 1 ? gsl_ran_geometric(r, 1.0 / sp->turns_mean) : 1;
	if ((uint64_t)done->turn + 1 >= turns)
		return 0;
	uint32_t k = done->turn + 1;
	sm_key(r, turn_key(c->sess_key, done->session, k));
	double think = sp->think_mean_s > 0 ? gsl_ran_exponential(r, sp->think_mean_s) : 0;
	uint32_t user = draw_len(&c->turn_in, r);
	uint32_t outp = draw_len(&c->out, r);
	sim_time dt = sim_from_s(think);
	out->id = w->next_id++;
	out->arrival = finish > SIM_TIME_MAX - dt ? SIM_TIME_MAX : finish + dt;
	out->cls = done->cls;
	uint32_t ctx = add_tokens(done->input_tokens, done->output_tokens);
	out->input_tokens = add_tokens(ctx, user);
	out->output_tokens = outp;
	out->prefix_id = context_prefix(done->session, done->turn);
	out->prefix_tokens = ctx < out->input_tokens ? ctx : out->input_tokens;
	out->session = done->session;
	out->turn = k;
	return 1;
}

size_t workload_class_count(const workload *w)
{
	return w->n;
}

const wl_class_params *workload_class(const workload *w, size_t i)
{
	return i < w->n ? &w->cls[i].p : NULL;
}
