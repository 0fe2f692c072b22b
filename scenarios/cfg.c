/*
 * cfg.c - typed getters over a yamltree, unknown-key reports, the resolved
 * document and --set overrides (see cfg.h).
 *
 * A cfg_map view knows its node (NULL for an absent optional mapping), its
 * dotted key path, a location to blame when the node is absent, and the list
 * of keys the schema asked for, which cfg_close() compares with the keys
 * present.  Resolved nodes are created lazily, the first time a value is
 * written under a view, so an optional section that is never read (an absent
 * station, say) does not appear in the resolved document as an empty mapping.
 */
#include "cfg.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

#define SET_FILE      "--set"
#define MAX_SET_DEPTH 32

struct cfg_map {
	cfg *c;
	cfg_map *parent;
	char key[128];    /* key in the parent mapping ("" for the root / items) */
	int kind;         /* YNODE_MAP or YNODE_SEQ */
	ynode *node;      /* NULL when absent */
	char path[256];   /* dotted key path, "" at the root */
	const char *file; /* where to blame errors when node is NULL */
	int line, col;
	ynode *res; /* resolved counterpart, created on first write */
	char **asked;
	size_t nasked, cap_asked;
	cfg_map *next; /* all views, for freeing */
};

struct cfg {
	ynode *root;
	fs_error *err;
	int status;
	ynode *res_root;
	cfg_map *views;
	cfg_map dummy; /* returned when a view cannot be allocated */
};

/* ---- errors ---------------------------------------------------------------- */

static int failv(cfg *c, const char *file, int line, int col, const char *path, const char *fmt,
		 va_list ap)
{
	char msg[768];
	if (c->status)
		return c->status;
	vsnprintf(msg, sizeof msg, fmt, ap);
	c->status = FS_ERR_INPUT;
	fs_error_set(c->err, FS_ERR_INPUT, file, line, col, path, "%s", msg);
	return c->status;
}

static int fail_at(cfg *c, const char *file, int line, int col, const char *path, const char *fmt,
		   ...) __attribute__((format(printf, 6, 7)));

static int fail_at(cfg *c, const char *file, int line, int col, const char *path, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = failv(c, file, line, col, path, fmt, ap);
	va_end(ap);
	return rc;
}

static int nomem(cfg *c)
{
	if (!c->status) {
		c->status = FS_ERR_NOMEM;
		fs_error_msg(c->err, FS_ERR_NOMEM, "out of memory reading the scenario");
	}
	return c->status;
}

static void key_path(const cfg_map *m, const char *key, char *buf, size_t n)
{
	if (!key)
		snprintf(buf, n, "%s", m->path);
	else if (m->path[0])
		snprintf(buf, n, "%s.%s", m->path, key);
	else
		snprintf(buf, n, "%s", key);
}

/* Error located at node v (the value of key in m). */
static int fail_node(cfg_map *m, const char *key, const ynode *v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_node(cfg_map *m, const char *key, const ynode *v, const char *fmt, ...)
{
	char path[320];
	key_path(m, key, path, sizeof path);
	va_list ap;
	va_start(ap, fmt);
	int rc = v ? failv(m->c, v->file, v->line, v->col, path, fmt, ap)
		   : failv(m->c, m->file, m->line, m->col, path, fmt, ap);
	va_end(ap);
	return rc;
}

int cfg_fail(cfg_map *m, const char *key, const char *fmt, ...)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	const ypair *p = key ? ynode_find(m->node, key) : NULL;
	char path[320];
	key_path(m, key, path, sizeof path);
	const char *file = m->file;
	int line = m->line, col = m->col;
	if (p && p->value) {
		file = p->value->file;
		line = p->value->line;
		col = p->value->col;
	} else if (p) {
		file = p->file;
		line = p->line;
		col = p->col;
	}
	va_list ap;
	va_start(ap, fmt);
	int rc = failv(c, file, line, col, path, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- views ----------------------------------------------------------------- */

cfg *cfg_new(ynode *root, fs_error *err)
{
	cfg *c = calloc(1, sizeof *c);
	if (!c) {
		fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	c->root = root;
	c->err = err;
	c->res_root = ynode_new(YNODE_MAP, NULL, 0, 0);
	if (!c->res_root) {
		free(c);
		fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	c->dummy.c = c;
	c->dummy.kind = YNODE_MAP;
	return c;
}

static void free_view(cfg_map *m)
{
	for (size_t i = 0; i < m->nasked; i++)
		free(m->asked[i]);
	free(m->asked);
}

void cfg_free(cfg *c)
{
	if (!c)
		return;
	for (cfg_map *m = c->views; m;) {
		cfg_map *next = m->next;
		free_view(m);
		free(m);
		m = next;
	}
	free_view(&c->dummy);
	ynode_free(c->res_root);
	free(c);
}

int cfg_status(const cfg *c)
{
	return c ? c->status : FS_ERR_NOMEM;
}

static cfg_map *new_view(cfg *c, cfg_map *parent, const char *key, const char *path, int kind,
			 ynode *node)
{
	cfg_map *m = calloc(1, sizeof *m);
	if (!m) {
		nomem(c);
		return &c->dummy;
	}
	m->c = c;
	m->parent = parent;
	snprintf(m->key, sizeof m->key, "%s", key ? key : "");
	snprintf(m->path, sizeof m->path, "%s", path);
	m->kind = kind;
	m->node = node;
	if (node) {
		m->file = node->file;
		m->line = node->line;
		m->col = node->col;
	} else if (parent) {
		m->file = parent->file;
		m->line = parent->line;
		m->col = parent->col;
	}
	m->next = c->views;
	c->views = m;
	return m;
}

bool cfg_present(const cfg_map *m)
{
	return m && m->node != NULL;
}

static void ask(cfg_map *m, const char *key)
{
	for (size_t i = 0; i < m->nasked; i++)
		if (strcmp(m->asked[i], key) == 0)
			return;
	if (m->nasked == m->cap_asked) {
		size_t cap = m->cap_asked ? 2 * m->cap_asked : 8;
		char **a = realloc(m->asked, cap * sizeof *a);
		if (!a) {
			nomem(m->c);
			return;
		}
		m->asked = a;
		m->cap_asked = cap;
	}
	if (!(m->asked[m->nasked] = strdup(key))) {
		nomem(m->c);
		return;
	}
	m->nasked++;
}

static bool was_asked(const cfg_map *m, const char *key)
{
	for (size_t i = 0; i < m->nasked; i++)
		if (strcmp(m->asked[i], key) == 0)
			return true;
	return false;
}

/* The value of key (NULL when absent or null); marks it asked and used. */
static ynode *lookup(cfg_map *m, const char *key)
{
	ask(m, key);
	ypair *p = ynode_find(m->node, key);
	if (!p)
		return NULL;
	p->used = 1;
	if (!p->value || p->value->kind == YNODE_NULL)
		return NULL;
	return p->value;
}

bool cfg_has(cfg_map *m, const char *key)
{
	ask(m, key);
	const ypair *p = ynode_find(m->node, key);
	return p && p->value && p->value->kind != YNODE_NULL;
}

/* ---- resolved document ----------------------------------------------------- */

static ynode *res_get(cfg_map *m)
{
	if (m->res)
		return m->res;
	if (m == &m->c->dummy)
		return NULL;
	if (!m->parent) {
		m->res = m->c->res_root;
		return m->res;
	}
	ynode *pr = res_get(m->parent);
	if (!pr)
		return NULL;
	ynode *n = ynode_new(m->kind, NULL, 0, 0);
	if (!n)
		return NULL;
	if (pr->kind == YNODE_SEQ) {
		if (ynode_append(pr, n) != 0)
			return NULL;
	} else {
		ypair *old = ynode_find(pr, m->key);
		if (old) {
			ynode_free(old->value);
			old->value = n;
		} else if (!ynode_add(pr, m->key, NULL, 0, 0, n)) {
			return NULL;
		}
	}
	m->res = n;
	return n;
}

static int needs_quotes(const char *s)
{
	static const char *const words[] = {"",     "~",    "null",  "Null",  "NULL",  "true",
					    "True", "TRUE", "false", "False", "FALSE", "yes",
					    "no",   "on",   "off",   NULL};
	for (int i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return strchr("0123456789+-.", s[0]) != NULL;
}

/* Record key: text in the resolved document (key NULL: append to a list). */
static void res_put(cfg_map *m, const char *key, const char *text, int quoted)
{
	ynode *r = res_get(m);
	ynode *v = r ? ynode_new_scalar(text, NULL, 0, 0) : NULL;
	if (!v) {
		nomem(m->c);
		return;
	}
	v->quoted = quoted;
	if (r->kind == YNODE_SEQ || !key) {
		if (ynode_append(r, v) != 0)
			nomem(m->c);
		return;
	}
	ypair *old = ynode_find(r, key);
	if (old) {
		ynode_free(old->value);
		old->value = v;
	} else if (!ynode_add(r, key, NULL, 0, 0, v)) {
		nomem(m->c);
	}
}

int cfg_resolved(cfg *c, char **text)
{
	if (c->status)
		return c->status;
	return ynode_emit(c->res_root, text, c->err);
}

/* ---- missing keys and typos ------------------------------------------------ */

static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	int row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A required key is absent: blame a likely misspelling, else the mapping. */
static int missing(cfg_map *m, const char *key, const char *expected)
{
	if (m->c->status)
		return m->c->status;
	const ypair *p = ynode_find(m->node, key);
	if (p) /* given as null */
		return fail_node(m, key, p->value, "'%s' has no value; expected %s", key, expected);
	int limit = strlen(key) > 4 ? 2 : 1;
	for (size_t i = 0; m->node && i < m->node->npairs; i++) {
		const ypair *q = &m->node->pairs[i];
		if (was_asked(m, q->key) || edit_distance(q->key, key) > limit)
			continue;
		char path[320];
		key_path(m, q->key, path, sizeof path);
		return fail_at(m->c, q->file, q->line, q->col, path,
			       "unknown key '%s'; did you mean '%s'?", q->key, key);
	}
	return fail_node(m, key, NULL, "missing required key '%s'; expected %s", key, expected);
}

int cfg_close(cfg_map *m)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	if (!m->node || m->kind != YNODE_MAP)
		return 0;
	for (size_t i = 0; i < m->node->npairs; i++) {
		const ypair *p = &m->node->pairs[i];
		if (was_asked(m, p->key))
			continue;
		char list[600], path[320];
		size_t used = 0;
		list[0] = '\0';
		for (size_t k = 0; k < m->nasked && used < sizeof list; k++) {
			int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
					 m->asked[k]);
			if (w > 0)
				used += (size_t)w;
		}
		key_path(m, p->key, path, sizeof path);
		if (m->nasked == 0)
			return fail_at(c, p->file, p->line, p->col, path,
				       "unknown key '%s'; expected no keys here", p->key);
		return fail_at(c, p->file, p->line, p->col, path,
			       "unknown key '%s'; expected one of: %s", p->key, list);
	}
	return 0;
}

/* ---- mappings and lists ---------------------------------------------------- */

cfg_map *cfg_root(cfg *c)
{
	ynode *r = c->root;
	cfg_map *m = new_view(c, NULL, NULL, "", YNODE_MAP, NULL);
	if (m == &c->dummy)
		return m;
	if (r) {
		m->file = r->file;
		m->line = r->line;
		m->col = r->col;
	}
	if (!r || r->kind != YNODE_MAP) {
		fail_at(c, m->file, m->line, m->col, NULL,
			"expected a mapping of keys at the top level, found %s",
			ynode_kind_name(r));
		return m;
	}
	m->node = r;
	return m;
}

static cfg_map *get_container(cfg_map *m, const char *key, bool required, int kind)
{
	cfg *c = m->c;
	const char *what = kind == YNODE_MAP ? "a mapping" : "a list";
	ynode *v = lookup(m, key);
	char path[320];
	key_path(m, key, path, sizeof path);
	cfg_map *child = new_view(c, m, key, path, kind, NULL);
	if (!v) {
		if (required)
			missing(m, key, what);
		return child;
	}
	if (v->kind != kind) {
		if (v->kind == YNODE_SCALAR)
			fail_node(m, key, v, "expected %s, found '%s'", what, v->text);
		else
			fail_node(m, key, v, "expected %s, found %s", what, ynode_kind_name(v));
		return child;
	}
	if (child != &c->dummy) {
		child->node = v;
		child->file = v->file;
		child->line = v->line;
		child->col = v->col;
	}
	return child;
}

cfg_map *cfg_map_get(cfg_map *m, const char *key, bool required)
{
	return get_container(m, key, required, YNODE_MAP);
}

cfg_map *cfg_list(cfg_map *m, const char *key, bool required)
{
	return get_container(m, key, required, YNODE_SEQ);
}

size_t cfg_len(const cfg_map *list)
{
	return list->node && list->node->kind == YNODE_SEQ ? list->node->nitems : 0;
}

static void item_path(const cfg_map *list, size_t i, char *buf, size_t n)
{
	int w = snprintf(buf, n, "%s[%zu]", list->path, i);
	if (w < 0 || (size_t)w >= n)
		buf[n - 1] = '\0';
}

static ynode *item(cfg_map *list, size_t i)
{
	if (!list->node || list->node->kind != YNODE_SEQ || i >= list->node->nitems)
		return NULL;
	return list->node->items[i];
}

cfg_map *cfg_item_map(cfg_map *list, size_t i)
{
	cfg *c = list->c;
	char path[320];
	item_path(list, i, path, sizeof path);
	cfg_map *child = new_view(c, list, NULL, path, YNODE_MAP, NULL);
	ynode *v = item(list, i);
	if (!v || v->kind != YNODE_MAP) {
		if (!c->status)
			fail_at(c, v ? v->file : list->file, v ? v->line : list->line,
				v ? v->col : list->col, path, "expected a mapping, found %s",
				ynode_kind_name(v));
		return child;
	}
	if (child != &c->dummy) {
		child->node = v;
		child->file = v->file;
		child->line = v->line;
		child->col = v->col;
	}
	return child;
}

/* ---- scalars ----------------------------------------------------------------- */

static void range_text(cfg_range r, const char *unit, char *buf, size_t n)
{
	char lo[96], hi[96], lonum[64];
	units_format(r.min, unit, lo, sizeof lo);
	units_format(r.max, unit, hi, sizeof hi);
	double scale = units_scale(unit);
	units_format_number(r.min / (scale ? scale : 1), lonum, sizeof lonum);
	int has_lo = (r.flags & CFG_HAS_MIN) != 0, has_hi = (r.flags & CFG_HAS_MAX) != 0;
	const char *lop = (r.flags & CFG_MIN_EXCL) ? ">" : ">=";
	const char *hop = (r.flags & CFG_MAX_EXCL) ? "<" : "<=";
	if (has_lo && has_hi && !(r.flags & (CFG_MIN_EXCL | CFG_MAX_EXCL)))
		snprintf(buf, n, "between %s and %s", lonum, hi);
	else if (has_lo && has_hi)
		snprintf(buf, n, "%s %s and %s %s", lop, lo, hop, hi);
	else if (has_lo)
		snprintf(buf, n, "%s %s", lop, lo);
	else if (has_hi)
		snprintf(buf, n, "%s %s", hop, hi);
	else
		snprintf(buf, n, "any value");
}

/* Inclusive bounds allow a few ulps: unit conversion rounds ("95 %" is
 * 95 x 0.01 = 0.9500000000000001), and a bound written in the docs must be
 * accepted as typed.  The value is then clamped onto the bound. */
static bool in_range(cfg_range r, double *v)
{
	const double tol = 4 * DBL_EPSILON;
	if (r.flags & CFG_HAS_MIN) {
		if (r.flags & CFG_MIN_EXCL) {
			if (!(*v > r.min))
				return false;
		} else if (!(*v >= r.min)) {
			if (!(*v >= r.min - tol * fabs(r.min)))
				return false;
			*v = r.min;
		}
	}
	if (r.flags & CFG_HAS_MAX) {
		if (r.flags & CFG_MAX_EXCL) {
			if (!(*v < r.max))
				return false;
		} else if (!(*v <= r.max)) {
			if (!(*v <= r.max + tol * fabs(r.max)))
				return false;
			*v = r.max;
		}
	}
	return true;
}

static int check_quantity(cfg_map *m, const char *key, const ynode *v, const char *unit,
			  cfg_range range, double *out)
{
	char want[160], why[512];
	units_describe(unit, want, sizeof want);
	if (v->kind != YNODE_SCALAR)
		return fail_node(m, key, v, "expected %s, found %s", want, ynode_kind_name(v));
	double val;
	if (units_parse(v->text, unit, &val, why, sizeof why) != UNITS_OK)
		return fail_node(m, key, v, "%s", why);
	if (!in_range(range, &val)) {
		char shown[96], rt[256];
		units_format(val, unit, shown, sizeof shown);
		range_text(range, unit, rt, sizeof rt);
		return fail_node(m, key, v, "value %s is out of range; expected %s", shown, rt);
	}
	*out = val;
	return 0;
}

int cfg_quantity(cfg_map *m, const char *key, const char *unit, const double *def, cfg_range range,
		 double *out)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	const ynode *v = lookup(m, key);
	double val;
	if (!v) {
		if (!def) {
			char want[160];
			units_describe(unit, want, sizeof want);
			return missing(m, key, want);
		}
		val = *def;
	} else if (check_quantity(m, key, v, unit, range, &val)) {
		return c->status;
	}
	char text[96];
	units_format(val, unit, text, sizeof text);
	res_put(m, key, text, 0);
	if (c->status)
		return c->status;
	*out = val;
	return 0;
}

int cfg_item_quantity(cfg_map *list, size_t i, const char *unit, cfg_range range, double *out)
{
	cfg *c = list->c;
	if (c->status)
		return c->status;
	const ynode *v = item(list, i);
	char text[96];
	double val;
	if (!v)
		return cfg_fail(list, NULL, "item %zu is missing", i);
	/* An item's path is list.path[i]: build it through a temporary view. */
	cfg_map tmp = *list;
	item_path(list, i, tmp.path, sizeof tmp.path);
	if (check_quantity(&tmp, NULL, v, unit, range, &val))
		return c->status;
	units_format(val, unit, text, sizeof text);
	res_put(list, NULL, text, 0);
	if (c->status)
		return c->status;
	*out = val;
	return 0;
}

/* Parse a strict decimal integer: [+-]digits. */
static int parse_integer(const char *s, int *neg, uint64_t *mag)
{
	*neg = 0;
	if (*s == '-' || *s == '+')
		*neg = *s++ == '-';
	if (*s < '0' || *s > '9')
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno == ERANGE)
		return 1;
	*mag = (uint64_t)v;
	return 0;
}

/* Read key as an integer in [min, max]; *out is sign + magnitude. */
static int read_integer(cfg_map *m, const char *key, int *present, int *neg, uint64_t *mag,
			const char *range_txt, int (*ok)(int, uint64_t, const void *),
			const void *bounds)
{
	const ynode *v = lookup(m, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (v->kind != YNODE_SCALAR)
		return fail_node(m, key, v, "expected an integer such as '42', found %s",
				 ynode_kind_name(v));
	int r = parse_integer(v->text, neg, mag);
	if (r < 0)
		return fail_node(m, key, v, "expected an integer such as '42', found '%s'",
				 v->text);
	if (r > 0 || !ok(*neg, *mag, bounds))
		return fail_node(m, key, v, "value %s is out of range; expected %s", v->text,
				 range_txt);
	return 0;
}

typedef struct ibounds {
	int64_t min, max;
} ibounds;

static int int_ok(int neg, uint64_t mag, const void *b)
{
	const ibounds *r = b;
	if (!neg && mag > (uint64_t)INT64_MAX)
		return 0;
	if (neg && mag > (uint64_t)INT64_MAX + 1u)
		return 0;
	int64_t v =
	    neg ? (mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
	return v >= r->min && v <= r->max;
}

typedef struct ubounds {
	uint64_t min, max;
} ubounds;

static int uint_ok(int neg, uint64_t mag, const void *b)
{
	const ubounds *r = b;
	if (neg)
		return mag == 0 && r->min == 0;
	return mag >= r->min && mag <= r->max;
}

int cfg_int(cfg_map *m, const char *key, const int64_t *def, int64_t min, int64_t max, int64_t *out)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	char rt[128];
	if (max == INT64_MAX)
		snprintf(rt, sizeof rt, ">= %" PRId64, min);
	else
		snprintf(rt, sizeof rt, "between %" PRId64 " and %" PRId64, min, max);
	ibounds b = {min, max};
	int present = 0, neg = 0;
	uint64_t mag = 0;
	if (read_integer(m, key, &present, &neg, &mag, rt, int_ok, &b))
		return c->status;
	int64_t v;
	if (!present) {
		if (!def)
			return missing(m, key, "an integer such as '42'");
		v = *def;
	} else {
		v = neg ? (mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag)
			: (int64_t)mag;
	}
	char text[32];
	snprintf(text, sizeof text, "%" PRId64, v);
	res_put(m, key, text, 0);
	if (c->status)
		return c->status;
	*out = v;
	return 0;
}

int cfg_uint64(cfg_map *m, const char *key, const uint64_t *def, uint64_t min, uint64_t max,
	       uint64_t *out)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	char rt[128];
	if (max == UINT64_MAX)
		snprintf(rt, sizeof rt, ">= %" PRIu64, min);
	else
		snprintf(rt, sizeof rt, "between %" PRIu64 " and %" PRIu64, min, max);
	ubounds b = {min, max};
	int present = 0, neg = 0;
	uint64_t mag = 0;
	if (read_integer(m, key, &present, &neg, &mag, rt, uint_ok, &b))
		return c->status;
	uint64_t v;
	if (!present) {
		if (!def)
			return missing(m, key, "an integer such as '42'");
		v = *def;
	} else {
		v = mag;
	}
	char text[32];
	snprintf(text, sizeof text, "%" PRIu64, v);
	res_put(m, key, text, 0);
	if (c->status)
		return c->status;
	*out = v;
	return 0;
}

int cfg_bool(cfg_map *m, const char *key, const bool *def, bool *out)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	const ynode *v = lookup(m, key);
	bool val;
	if (!v) {
		if (!def)
			return missing(m, key, "true or false");
		val = *def;
	} else if (v->kind != YNODE_SCALAR) {
		return fail_node(m, key, v, "expected true or false, found %s", ynode_kind_name(v));
	} else if (!strcmp(v->text, "true") || !strcmp(v->text, "True") ||
		   !strcmp(v->text, "TRUE")) {
		val = true;
	} else if (!strcmp(v->text, "false") || !strcmp(v->text, "False") ||
		   !strcmp(v->text, "FALSE")) {
		val = false;
	} else {
		return fail_node(m, key, v, "expected true or false, found '%s'", v->text);
	}
	res_put(m, key, val ? "true" : "false", 0);
	if (c->status)
		return c->status;
	*out = val;
	return 0;
}

static int check_string(cfg_map *m, const char *key, const ynode *v, size_t n)
{
	if (v->kind != YNODE_SCALAR)
		return fail_node(m, key, v, "expected a string, found %s", ynode_kind_name(v));
	if (strlen(v->text) >= n)
		return fail_node(m, key, v, "the text is %zu bytes long; expected at most %zu",
				 strlen(v->text), n - 1);
	return 0;
}

int cfg_string(cfg_map *m, const char *key, const char *def, char *out, size_t n)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	const ynode *v = lookup(m, key);
	const char *val;
	if (!v) {
		if (!def)
			return missing(m, key, "a string");
		val = def;
	} else if (check_string(m, key, v, n)) {
		return c->status;
	} else {
		val = v->text;
	}
	res_put(m, key, val, needs_quotes(val));
	if (c->status)
		return c->status;
	snprintf(out, n, "%s", val);
	return 0;
}

int cfg_item_string(cfg_map *list, size_t i, char *out, size_t n)
{
	cfg *c = list->c;
	if (c->status)
		return c->status;
	const ynode *v = item(list, i);
	if (!v)
		return cfg_fail(list, NULL, "item %zu is missing", i);
	cfg_map tmp = *list;
	item_path(list, i, tmp.path, sizeof tmp.path);
	if (check_string(&tmp, NULL, v, n))
		return c->status;
	res_put(list, NULL, v->text, needs_quotes(v->text));
	if (c->status)
		return c->status;
	snprintf(out, n, "%s", v->text);
	return 0;
}

int cfg_enum(cfg_map *m, const char *key, const char *const *choices, const int *def, int *out)
{
	cfg *c = m->c;
	if (c->status)
		return c->status;
	char list[512];
	size_t used = 0;
	list[0] = '\0';
	for (int i = 0; choices[i] && used < sizeof list; i++) {
		int w =
		    snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
		if (w > 0)
			used += (size_t)w;
	}
	const ynode *v = lookup(m, key);
	int val = -1;
	if (!v) {
		if (!def) {
			char want[600];
			snprintf(want, sizeof want, "one of: %s", list);
			return missing(m, key, want);
		}
		val = *def;
	} else if (v->kind != YNODE_SCALAR) {
		return fail_node(m, key, v, "expected one of: %s; found %s", list,
				 ynode_kind_name(v));
	} else {
		for (int i = 0; choices[i]; i++)
			if (strcmp(v->text, choices[i]) == 0)
				val = i;
		if (val < 0)
			return fail_node(m, key, v, "unknown choice '%s'; expected one of: %s",
					 v->text, list);
	}
	res_put(m, key, choices[val], 0);
	if (c->status)
		return c->status;
	*out = val;
	return 0;
}

/* ---- --set overrides --------------------------------------------------------- */

static void relocate(ynode *n)
{
	if (!n)
		return;
	n->file = SET_FILE;
	n->line = 0;
	n->col = 0;
	for (size_t i = 0; i < n->npairs; i++) {
		n->pairs[i].file = SET_FILE;
		n->pairs[i].line = 0;
		n->pairs[i].col = 0;
		relocate(n->pairs[i].value);
	}
	for (size_t i = 0; i < n->nitems; i++)
		relocate(n->items[i]);
}

int cfg_apply_set(ynode **root, const char *assignment, fs_error *err)
{
	const char *eq = strchr(assignment, '=');
	size_t plen = eq ? (size_t)(eq - assignment) : 0;
	char path[256];
	if (!eq || plen == 0 || plen >= sizeof path)
		return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, NULL,
				    "cannot read '%s'; expected key.path=value", assignment);
	memcpy(path, assignment, plen);
	path[plen] = '\0';
	/* Check the path: non-empty components, no spaces, bounded depth. */
	int parts = 1;
	for (size_t i = 0; i < plen; i++) {
		char ch = path[i];
		if (ch == '.') {
			parts++;
			if (i == 0 || i + 1 == plen || path[i + 1] == '.')
				return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, path,
						    "empty key in '%s'; expected key.path=value",
						    path);
		} else if (ch == ' ' || ch == '\t' || ch == '[' || ch == ']') {
			return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, path,
					    "invalid character '%c' in the key path; expected "
					    "names joined by '.'",
					    ch);
		}
	}
	if (parts > MAX_SET_DEPTH)
		return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, path,
				    "key path deeper than %d levels", MAX_SET_DEPTH);
	ynode *value = NULL;
	int rc = ynode_parse_fragment(eq + 1, SET_FILE, 0, &value, err);
	if (rc) {
		if (err)
			snprintf(err->key, sizeof err->key, "%s", path);
		return rc;
	}
	relocate(value);
	if (!*root || (*root)->kind == YNODE_NULL) {
		ynode *m = ynode_new(YNODE_MAP, SET_FILE, 0, 0);
		if (!m) {
			ynode_free(value);
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
		}
		if (*root) {
			m->file = (*root)->file;
			m->line = (*root)->line;
			m->col = (*root)->col;
		}
		/* the null node it replaces belongs to the caller (a document's
		 * root: ydoc_set_root frees it); freeing it here freed it twice */
		*root = m;
	}
	ynode *cur = *root;
	if (cur->kind != YNODE_MAP) {
		ynode_free(value);
		return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, path,
				    "cannot set '%s': the document is %s; expected a mapping", path,
				    ynode_kind_name(cur));
	}
	char *save = NULL;
	char *comp = strtok_r(path, ".", &save);
	char done[256] = "";
	while (comp) {
		char *next = strtok_r(NULL, ".", &save);
		size_t dl = strlen(done);
		snprintf(done + dl, sizeof done - dl, "%s%s", dl ? "." : "", comp);
		if (cur->kind == YNODE_SEQ) {
			/* a list item by its 0-based index, e.g. workload.0.arrival.rate */
			char *end;
			unsigned long idx = strtoul(comp, &end, 10);
			if (*end || comp[0] < '0' || comp[0] > '9' || idx >= cur->nitems) {
				char full[256];
				snprintf(full, sizeof full, "%.*s", (int)plen, assignment);
				ynode_free(value);
				return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, full,
						    "'%s' is not an item of a list of %zu; expected an "
						    "index from 0 to %zu",
						    comp, cur->nitems,
						    cur->nitems ? cur->nitems - 1 : 0);
			}
			ynode **slot = &cur->items[idx];
			if (!next) {
				ynode_free(*slot);
				*slot = value;
				return 0;
			}
			if ((*slot)->kind != YNODE_MAP && (*slot)->kind != YNODE_SEQ) {
				char full[256];
				snprintf(full, sizeof full, "%.*s", (int)plen, assignment);
				ynode_free(value);
				return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, full,
						    "cannot set a key inside '%s', which is %s; "
						    "expected a mapping there",
						    done, ynode_kind_name(*slot));
			}
			cur = *slot;
			comp = next;
			continue;
		}
		ypair *p = ynode_find(cur, comp);
		if (!next) {
			if (p) {
				ynode_free(p->value);
				p->value = value;
			} else if (!ynode_add(cur, comp, SET_FILE, 0, 0, value)) {
				return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
			}
			return 0;
		}
		if (p && p->value && p->value->kind != YNODE_NULL && p->value->kind != YNODE_MAP &&
		    p->value->kind != YNODE_SEQ) {
			char full[256];
			snprintf(full, sizeof full, "%.*s", (int)plen, assignment);
			ynode_free(value);
			return fs_error_set(err, FS_ERR_INPUT, SET_FILE, 0, 0, full,
					    "cannot set a key inside '%s', which is %s; expected "
					    "a mapping there",
					    done, ynode_kind_name(p->value));
		}
		if (!p || !p->value || p->value->kind == YNODE_NULL) {
			ynode *m = ynode_new(YNODE_MAP, SET_FILE, 0, 0);
			if (!m) {
				ynode_free(value);
				return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
			}
			if (p) {
				ynode_free(p->value);
				p->value = m;
			} else if (!(p = ynode_add(cur, comp, SET_FILE, 0, 0, m))) {
				ynode_free(value);
				return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
			}
		}
		cur = p->value;
		comp = next;
	}
	ynode_free(value);
	return 0;
}

int cfg_status_of(const cfg_map *m)
{
	return m->c->status;
}

ynode *cfg_node_of(const cfg_map *m)
{
	return m->node;
}

bool cfg_name_ok(const char *s, size_t max_len)
{
	size_t n = strlen(s);
	if (n == 0 || n > max_len)
		return false;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}
