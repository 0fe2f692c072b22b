/*
 * yamltree.c - libyaml events into a located node tree, includes, emission
 * (see yamltree.h).
 *
 * The parser is iterative: an explicit stack of open mappings and sequences,
 * never deeper than YT_MAX_DEPTH, so hostile nesting cannot overflow the C
 * stack; every later recursion (copy, free, merge, emit) works on trees whose
 * height is bounded the same way.  Anchors are registered when their node is
 * complete, so an alias can only refer to a finished node (no cycles), and
 * each alias is expanded into a copy counted against YT_MAX_NODES (no
 * "billion laughs").  Includes are handled after a file is parsed, by a walk
 * that loads each named file (recursively, with the chain of files being
 * loaded kept for cycle detection) and merges its mapping in as defaults.
 */
#include "yamltree.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

typedef struct yfile {
	char *name; /* as shown in messages; nodes point to it */
	char *dir;  /* directory includes resolve against */
} yfile;

struct ydoc {
	ynode *root;
	yfile *files;
	size_t nfiles, cap_files;
	char *text;
	size_t text_len, text_cap;
};

/* ---- nodes ------------------------------------------------------------------ */

ynode *ynode_new(int kind, const char *file, int line, int col)
{
	ynode *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->kind = kind;
	n->file = file;
	n->line = line;
	n->col = col;
	n->height = 1;
	n->count = 1;
	return n;
}

ynode *ynode_new_scalar(const char *text, const char *file, int line, int col)
{
	ynode *n = ynode_new(YNODE_SCALAR, file, line, col);
	if (!n)
		return NULL;
	n->text = strdup(text ? text : "");
	if (!n->text) {
		free(n);
		return NULL;
	}
	return n;
}

void ynode_free(ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->npairs; i++) {
		free(n->pairs[i].key);
		ynode_free(n->pairs[i].value);
	}
	for (size_t i = 0; i < n->nitems; i++)
		ynode_free(n->items[i]);
	free(n->pairs);
	free(n->items);
	free(n->text);
	free(n);
}

ynode *ynode_copy(const ynode *n)
{
	if (!n)
		return NULL;
	ynode *c = ynode_new(n->kind, n->file, n->line, n->col);
	if (!c)
		return NULL;
	c->height = n->height;
	c->count = n->count;
	c->quoted = n->quoted;
	if (n->text && !(c->text = strdup(n->text)))
		goto fail;
	for (size_t i = 0; i < n->npairs; i++) {
		const ypair *p = &n->pairs[i];
		ynode *v = ynode_copy(p->value);
		if (!v || !ynode_add(c, p->key, p->file, p->line, p->col, v))
			goto fail;
	}
	for (size_t i = 0; i < n->nitems; i++) {
		ynode *v = ynode_copy(n->items[i]);
		if (!v || ynode_append(c, v) != 0)
			goto fail;
	}
	return c;
fail:
	ynode_free(c);
	return NULL;
}

ypair *ynode_find(const ynode *map, const char *key)
{
	if (!map || map->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->npairs; i++)
		if (strcmp(map->pairs[i].key, key) == 0)
			return &map->pairs[i];
	return NULL;
}

ypair *ynode_add(ynode *map, const char *key, const char *file, int line, int col, ynode *value)
{
	if (map->npairs == map->cap_pairs) {
		size_t cap = map->cap_pairs ? 2 * map->cap_pairs : 8;
		ypair *p = realloc(map->pairs, cap * sizeof *p);
		if (!p) {
			ynode_free(value);
			return NULL;
		}
		map->pairs = p;
		map->cap_pairs = cap;
	}
	ypair *p = &map->pairs[map->npairs];
	memset(p, 0, sizeof *p);
	p->key = strdup(key);
	if (!p->key) {
		ynode_free(value);
		return NULL;
	}
	p->file = file;
	p->line = line;
	p->col = col;
	p->value = value;
	map->npairs++;
	return p;
}

int ynode_append(ynode *seq, ynode *item)
{
	if (seq->nitems == seq->cap_items) {
		size_t cap = seq->cap_items ? 2 * seq->cap_items : 8;
		ynode **it = realloc(seq->items, cap * sizeof *it);
		if (!it) {
			ynode_free(item);
			return -1;
		}
		seq->items = it;
		seq->cap_items = cap;
	}
	seq->items[seq->nitems++] = item;
	return 0;
}

const char *ynode_kind_name(const ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YNODE_SCALAR:
		return "a scalar";
	case YNODE_MAP:
		return "a mapping";
	case YNODE_SEQ:
		return "a list";
	default:
		return "nothing (null)";
	}
}

/* ---- documents ------------------------------------------------------------- */

static ydoc *ydoc_new(void)
{
	return calloc(1, sizeof(ydoc));
}

void ydoc_free(ydoc *d)
{
	if (!d)
		return;
	ynode_free(d->root);
	for (size_t i = 0; i < d->nfiles; i++) {
		free(d->files[i].name);
		free(d->files[i].dir);
	}
	free(d->files);
	free(d->text);
	free(d);
}

ynode *ydoc_root(ydoc *d)
{
	return d ? d->root : NULL;
}

void ydoc_set_root(ydoc *d, ynode *root)
{
	if (d->root != root)
		ynode_free(d->root);
	d->root = root;
}

const char *ydoc_text(const ydoc *d)
{
	return d && d->text ? d->text : "";
}

static int text_append(ydoc *d, const char *s, size_t len)
{
	if (d->text_len + len + 1 > d->text_cap) {
		size_t cap = d->text_cap ? d->text_cap : 1024;
		while (cap < d->text_len + len + 1)
			cap *= 2;
		char *t = realloc(d->text, cap);
		if (!t)
			return -1;
		d->text = t;
		d->text_cap = cap;
	}
	memcpy(d->text + d->text_len, s, len);
	d->text_len += len;
	d->text[d->text_len] = '\0';
	return 0;
}

/* Intern a file name with its include directory; returns the stable name. */
static const char *intern_file(ydoc *d, const char *name, const char *dir)
{
	if (d->nfiles == d->cap_files) {
		size_t cap = d->cap_files ? 2 * d->cap_files : 4;
		yfile *f = realloc(d->files, cap * sizeof *f);
		if (!f)
			return NULL;
		d->files = f;
		d->cap_files = cap;
	}
	yfile *f = &d->files[d->nfiles];
	f->name = strdup(name);
	f->dir = strdup(dir);
	if (!f->name || !f->dir) {
		free(f->name);
		free(f->dir);
		return NULL;
	}
	d->nfiles++;
	return f->name;
}

static const char *file_dir(const ydoc *d, const char *name)
{
	for (size_t i = 0; i < d->nfiles; i++)
		if (d->files[i].name == name)
			return d->files[i].dir;
	return ".";
}

/* ---- parsing ----------------------------------------------------------------- */

typedef struct frame {
	ynode *node;
	char *key; /* pending key of an open mapping */
	const char *kfile;
	int kline, kcol;
	char *anchor;
} frame;

typedef struct anchor_ent {
	char *name;
	const ynode *node;
} anchor_ent;

typedef struct pctx {
	const char *file;
	int fixed_line; /* >= 0: every node gets this line (and column 0 if 0) */
	size_t nodes;
	frame stack[YT_MAX_DEPTH + 1];
	int top;
	anchor_ent *anchors;
	size_t nanchors, cap_anchors;
	ynode *root;
	fs_error *err;
} pctx;

static void loc(const pctx *c, yaml_mark_t m, int *line, int *col)
{
	if (c->fixed_line >= 0) {
		*line = c->fixed_line;
		*col = c->fixed_line ? (int)m.column + 1 : 0;
		return;
	}
	*line = (int)m.line + 1;
	*col = (int)m.column + 1;
}

/* The key path of the node being built ("station.arrival", "a[2]"). */
static void stack_path(const pctx *c, const char *last, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->top && used < n; i++) {
		const ynode *nd = c->stack[i].node;
		int w = 0;
		if (nd->kind == YNODE_MAP && !c->stack[i].key)
			continue; /* the key itself is being read */
		if (nd->kind == YNODE_MAP)
			w = snprintf(buf + used, n - used, "%s%s", used ? "." : "",
				     c->stack[i].key);
		else
			w = snprintf(buf + used, n - used, "[%zu]", nd->nitems);
		if (w > 0)
			used += (size_t)w;
	}
	if (last && used < n)
		snprintf(buf + used, n - used, "%s%s", used ? "." : "", last);
}

static int perr(pctx *c, int line, int col, const char *last, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int perr(pctx *c, int line, int col, const char *last, const char *fmt, ...)
{
	char path[256], msg[512];
	stack_path(c, last, path, sizeof path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fs_error_set(c->err, FS_ERR_INPUT, c->file, line, col, path, "%s", msg);
}

static int nomem(pctx *c)
{
	return fs_error_msg(c->err, FS_ERR_NOMEM, "out of memory while reading %s", c->file);
}

static int add_anchor(pctx *c, const char *name, const ynode *n)
{
	if (c->nanchors == c->cap_anchors) {
		size_t cap = c->cap_anchors ? 2 * c->cap_anchors : 8;
		anchor_ent *a = realloc(c->anchors, cap * sizeof *a);
		if (!a)
			return nomem(c);
		c->anchors = a;
		c->cap_anchors = cap;
	}
	if (!(c->anchors[c->nanchors].name = strdup(name)))
		return nomem(c);
	c->anchors[c->nanchors++].node = n;
	return 0;
}

static const ynode *find_anchor(const pctx *c, const char *name)
{
	for (size_t i = c->nanchors; i-- > 0;)
		if (strcmp(c->anchors[i].name, name) == 0)
			return c->anchors[i].node;
	return NULL;
}

static int is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* Attach a finished node (owned) to the open container or make it the root.
 * anchor, if any, is registered once attached. */
static int attach(pctx *c, ynode *n, const char *anchor)
{
	if (c->top + n->height > YT_MAX_DEPTH) {
		int rc = perr(c, n->line, n->col, NULL,
			      "nesting deeper than %d levels; expected a flatter document",
			      YT_MAX_DEPTH);
		ynode_free(n);
		return rc;
	}
	if (c->top == 0) {
		c->root = n;
	} else {
		frame *f = &c->stack[c->top - 1];
		ynode *parent = f->node;
		if (parent->kind == YNODE_SEQ) {
			if (ynode_append(parent, n) != 0)
				return nomem(c);
		} else if (!f->key) {
			/* n is a key */
			if (n->kind != YNODE_SCALAR && n->kind != YNODE_NULL) {
				int rc = perr(c, n->line, n->col, NULL,
					      "a mapping key must be a plain name, found %s",
					      ynode_kind_name(n));
				ynode_free(n);
				return rc;
			}
			if (anchor) {
				int rc = perr(c, n->line, n->col, NULL,
					      "anchors on mapping keys are not supported");
				ynode_free(n);
				return rc;
			}
			const char *k = n->text ? n->text : "";
			const ypair *dup = ynode_find(parent, k);
			if (dup) {
				int rc = perr(c, n->line, n->col, k,
					      "duplicate key '%s'; first given at line %d", k,
					      dup->line);
				ynode_free(n);
				return rc;
			}
			f->key = n->text ? n->text : strdup("");
			n->text = NULL;
			f->kfile = n->file;
			f->kline = n->line;
			f->kcol = n->col;
			ynode_free(n);
			if (!f->key)
				return nomem(c);
			return 0;
		} else {
			ypair *p = ynode_add(parent, f->key, f->kfile, f->kline, f->kcol, n);
			free(f->key);
			f->key = NULL;
			if (!p)
				return nomem(c);
		}
		if (parent->height < n->height + 1)
			parent->height = n->height + 1;
		parent->count += n->count;
	}
	if (anchor)
		return add_anchor(c, anchor, n);
	return 0;
}

static int count_node(pctx *c, size_t k, int line, int col)
{
	c->nodes += k;
	if (c->nodes > YT_MAX_NODES)
		return perr(c, line, col, NULL,
			    "more than %d nodes (aliases expanded); expected a smaller document",
			    YT_MAX_NODES);
	return 0;
}

static int on_event(pctx *c, yaml_event_t *ev, int *docs)
{
	int line, col;
	loc(c, ev->start_mark, &line, &col);
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return perr(c, line, col, NULL,
				    "a second YAML document; expected one document per file");
		return 0;
	case YAML_SCALAR_EVENT: {
		if (count_node(c, 1, line, col))
			return c->err ? c->err->code : FS_ERR_INPUT;
		const char *v = (const char *)ev->data.scalar.value;
		int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		ynode *n = plain && is_null_text(v) ? ynode_new(YNODE_NULL, c->file, line, col)
						    : ynode_new_scalar(v, c->file, line, col);
		if (!n)
			return nomem(c);
		if (n->kind == YNODE_NULL && !(n->text = strdup(v))) {
			ynode_free(n);
			return nomem(c);
		}
		n->quoted = !plain;
		return attach(c, n, (const char *)ev->data.scalar.anchor);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		if (c->top >= YT_MAX_DEPTH)
			return perr(c, line, col, NULL,
				    "nesting deeper than %d levels; expected a flatter document",
				    YT_MAX_DEPTH);
		if (count_node(c, 1, line, col))
			return c->err ? c->err->code : FS_ERR_INPUT;
		int map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *an =
		    map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		ynode *n = ynode_new(map ? YNODE_MAP : YNODE_SEQ, c->file, line, col);
		if (!n)
			return nomem(c);
		frame *f = &c->stack[c->top];
		memset(f, 0, sizeof *f);
		f->node = n;
		if (an && !(f->anchor = strdup((const char *)an))) {
			ynode_free(n);
			return nomem(c);
		}
		c->top++;
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		frame f = c->stack[--c->top];
		free(f.key); /* cannot be pending at a well-formed end */
		int rc = attach(c, f.node, f.anchor);
		free(f.anchor);
		return rc;
	}
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		const ynode *src = find_anchor(c, name);
		if (!src)
			return perr(c, line, col, NULL,
				    "unknown alias '*%s'; expected an anchor '&%s' defined on an "
				    "earlier, complete node",
				    name, name);
		if (count_node(c, src->count, line, col))
			return c->err ? c->err->code : FS_ERR_INPUT;
		ynode *n = ynode_copy(src);
		if (!n)
			return nomem(c);
		return attach(c, n, NULL);
	}
	default:
		return 0;
	}
}

static int yaml_problem(pctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown problem";
	int line, col;
	loc(c, p->problem_mark, &line, &col);
	if (p->error == YAML_READER_ERROR)
		return fs_error_set(c->err, FS_ERR_INPUT, c->file, 0, 0, NULL,
				    "invalid YAML: %s at byte %zu; expected UTF-8 text", problem,
				    p->problem_offset);
	if (p->context) {
		int cl, cc;
		loc(c, p->context_mark, &cl, &cc);
		return fs_error_set(c->err, FS_ERR_INPUT, c->file, line, col, NULL,
				    "invalid YAML: %s (%s at line %d, column %d)", problem,
				    p->context, cl, cc);
	}
	return fs_error_set(c->err, FS_ERR_INPUT, c->file, line, col, NULL, "invalid YAML: %s",
			    problem);
}

/* Parse text into *out (NULL node kind for an empty document). */
static int parse_text(const char *text, size_t len, const char *file, int fixed_line, ynode **out,
		      fs_error *err)
{
	pctx *c = calloc(1, sizeof *c);
	if (!c)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	c->file = file;
	c->fixed_line = fixed_line;
	c->err = err;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		free(c);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int rc = 0, docs = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = yaml_problem(c, &parser);
			break;
		}
		int end = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(c, &ev, &docs);
		yaml_event_delete(&ev);
		if (rc || end)
			break;
	}
	yaml_parser_delete(&parser);
	for (int i = c->top; i-- > 0;) {
		ynode_free(c->stack[i].node);
		free(c->stack[i].key);
		free(c->stack[i].anchor);
	}
	for (size_t i = 0; i < c->nanchors; i++)
		free(c->anchors[i].name);
	free(c->anchors);
	if (rc == 0 && !c->root)
		c->root = ynode_new(YNODE_NULL, file, fixed_line >= 0 ? fixed_line : 1,
				    fixed_line == 0 ? 0 : 1);
	if (rc == 0 && !c->root)
		rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	if (rc) {
		ynode_free(c->root);
		c->root = NULL;
	}
	*out = c->root;
	free(c);
	return rc;
}

int ynode_parse_fragment(const char *text, const char *name, int line, ynode **out, fs_error *err)
{
	*out = NULL;
	return parse_text(text, strlen(text), name, line, out, err);
}

/* ---- files and includes ---------------------------------------------------- */

typedef struct chain {
	const char *name; /* as shown */
	char *real;       /* realpath */
	const struct chain *up;
	int depth;
} chain;

static int read_file(const char *path, char **text, size_t *len, int code, const char *efile,
		     int eline, int ecol, const char *ekey, fs_error *err)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fs_error_set(err, code, efile, eline, ecol, ekey, "cannot read '%s': %s",
				    path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return fs_error_set(err, code, efile, eline, ecol, ekey,
				    "cannot read '%s': not a regular file", path);
	}
	if ((unsigned long long)st.st_size > YT_MAX_FILE_SIZE) {
		fclose(f);
		return fs_error_set(err, FS_ERR_INPUT, efile, eline, ecol, ekey,
				    "'%s' is larger than %u MiB; expected a scenario file", path,
				    YT_MAX_FILE_SIZE >> 20);
	}
	size_t n = (size_t)st.st_size;
	char *buf = malloc(n + 1);
	if (!buf) {
		fclose(f);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory reading '%s'", path);
	}
	size_t got = fread(buf, 1, n, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || got != n) {
		free(buf);
		return fs_error_set(err, code, efile, eline, ecol, ekey,
				    "cannot read '%s': read error", path);
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int process_includes(ydoc *d, ynode *n, const chain *ch, char *path, size_t plen,
			    fs_error *err);

/* Merge src's pairs into dst where dst lacks them; mappings merge deeply.
 * Moves what it takes out of src. */
static void merge_defaults(ynode *dst, ynode *src)
{
	for (size_t i = 0; i < src->npairs; i++) {
		ypair *sp = &src->pairs[i];
		ypair *dp = ynode_find(dst, sp->key);
		if (dp) {
			if (dp->value && sp->value && dp->value->kind == YNODE_MAP &&
			    sp->value->kind == YNODE_MAP)
				merge_defaults(dp->value, sp->value);
			continue;
		}
		/* ynode_add takes the value even when it fails (out of memory). */
		(void)ynode_add(dst, sp->key, sp->file, sp->line, sp->col, sp->value);
		sp->value = NULL;
	}
}

/* Load (and fully process) one file into *out.  top: the main file. */
static int load_one(ydoc *d, const char *path, const chain *up, const ynode *from, ynode **out,
		    fs_error *err)
{
	*out = NULL;
	const char *efile = from ? from->file : NULL;
	int eline = from ? from->line : 0, ecol = from ? from->col : 0;
	const char *ekey = from ? "include" : NULL;
	/* a scenario that cannot be read is bad input (exit 2), like a bad one */
	int code = FS_ERR_INPUT;
	if (up && up->depth >= YT_MAX_INCLUDE_DEPTH)
		return fs_error_set(err, FS_ERR_INPUT, efile, eline, ecol, ekey,
				    "includes nested deeper than %d files; expected fewer levels",
				    YT_MAX_INCLUDE_DEPTH);
	char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len, code, efile, eline, ecol, ekey, err);
	if (rc)
		return rc;
	chain me = {path, realpath(path, NULL), up, up ? up->depth + 1 : 0};
	for (const chain *c = up; c && me.real; c = c->up) {
		if (c->real && strcmp(c->real, me.real) == 0) {
			char msg[600];
			size_t used = 0;
			const chain *list[YT_MAX_INCLUDE_DEPTH + 2];
			int k = 0;
			for (const chain *q = up; q && k < YT_MAX_INCLUDE_DEPTH + 1; q = q->up)
				list[k++] = q;
			msg[0] = '\0';
			for (int i = k; i-- > 0 && used < sizeof msg;) {
				int w = snprintf(msg + used, sizeof msg - used, "%s -> ",
						 list[i]->name);
				if (w > 0)
					used += (size_t)w;
			}
			if (used < sizeof msg)
				snprintf(msg + used, sizeof msg - used, "%s", path);
			free(text);
			free(me.real);
			return fs_error_set(err, FS_ERR_INPUT, efile, eline, ecol, ekey,
					    "include cycle: %s; expected each file included once "
					    "per chain",
					    msg);
		}
	}
	char *dir = dir_of(path);
	const char *name = dir ? intern_file(d, path, dir) : NULL;
	free(dir);
	if (!name) {
		free(text);
		free(me.real);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	}
	me.name = name;
	if (from) {
		const char *sep = "# --- include: ";
		if ((d->text_len && d->text[d->text_len - 1] != '\n' && text_append(d, "\n", 1)) ||
		    text_append(d, sep, strlen(sep)) || text_append(d, path, strlen(path)) ||
		    text_append(d, "\n", 1))
			rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	}
	if (!rc && text_append(d, text, len))
		rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	ynode *root = NULL;
	if (!rc)
		rc = parse_text(text, len, name, -1, &root, err);
	free(text);
	if (!rc) {
		char kpath[256] = "";
		rc = process_includes(d, root, &me, kpath, sizeof kpath, err);
	}
	free(me.real);
	if (rc) {
		ynode_free(root);
		return rc;
	}
	*out = root;
	return 0;
}

static int include_name_ok(const ynode *v)
{
	return v && v->kind == YNODE_SCALAR && v->text[0];
}

static int process_includes(ydoc *d, ynode *n, const chain *ch, char *path, size_t plen,
			    fs_error *err)
{
	if (!n)
		return 0;
	size_t base = strlen(path);
	if (n->kind == YNODE_SEQ) {
		for (size_t i = 0; i < n->nitems; i++) {
			snprintf(path + base, plen - base, "[%zu]", i);
			int rc = process_includes(d, n->items[i], ch, path, plen, err);
			path[base] = '\0';
			if (rc)
				return rc;
		}
		return 0;
	}
	if (n->kind != YNODE_MAP)
		return 0;
	for (size_t i = 0; i < n->npairs; i++) {
		if (strcmp(n->pairs[i].key, "include") == 0)
			continue;
		snprintf(path + base, plen - base, "%s%s", base ? "." : "", n->pairs[i].key);
		int rc = process_includes(d, n->pairs[i].value, ch, path, plen, err);
		path[base] = '\0';
		if (rc)
			return rc;
	}
	ypair *inc = ynode_find(n, "include");
	if (!inc)
		return 0;
	char ikey[300];
	snprintf(ikey, sizeof ikey, "%s%sinclude", path, base ? "." : "");
	/* Take the include entry out of the mapping. */
	ynode *list = inc->value;
	size_t idx = (size_t)(inc - n->pairs);
	int kline = inc->line, kcol = inc->col;
	const char *kfile = inc->file;
	free(inc->key);
	memmove(&n->pairs[idx], &n->pairs[idx + 1], (n->npairs - idx - 1) * sizeof *n->pairs);
	n->npairs--;

	const ynode *single[1] = {list};
	const ynode *const *names = single;
	size_t count = 1;
	if (list && list->kind == YNODE_SEQ) {
		names = (const ynode *const *)list->items;
		count = list->nitems;
	}
	int rc = 0;
	for (size_t i = 0; i < count && !rc; i++)
		if (!include_name_ok(names[i])) {
			const ynode *bad = names[i] ? names[i] : list;
			rc = fs_error_set(err, FS_ERR_INPUT, bad ? bad->file : kfile,
					  bad ? bad->line : kline, bad ? bad->col : kcol, ikey,
					  "expected a file name or a list of file names, found %s",
					  ynode_kind_name(bad));
		}
	/* Apply the last include first: earlier ones only fill what is still
	 * missing, so later includes win over earlier ones. */
	for (size_t i = count; i-- > 0 && !rc;) {
		const ynode *nm = names[i];
		char full[PATH_MAX];
		const char *dir = file_dir(d, nm->file);
		if (nm->text[0] == '/' || strcmp(dir, ".") == 0)
			snprintf(full, sizeof full, "%s", nm->text);
		else
			snprintf(full, sizeof full, "%s/%s", dir, nm->text);
		ynode *inc_root = NULL;
		rc = load_one(d, full, ch, nm, &inc_root, err);
		if (rc)
			break;
		if (inc_root->kind == YNODE_MAP) {
			merge_defaults(n, inc_root);
		} else if (inc_root->kind != YNODE_NULL) {
			rc = fs_error_set(err, FS_ERR_INPUT, inc_root->file, inc_root->line,
					  inc_root->col, NULL,
					  "an included file must hold a mapping, found %s",
					  ynode_kind_name(inc_root));
		}
		ynode_free(inc_root);
	}
	ynode_free(list);
	return rc;
}

int ydoc_load_file(const char *path, ydoc **out, fs_error *err)
{
	*out = NULL;
	ydoc *d = ydoc_new();
	if (!d)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	int rc = load_one(d, path, NULL, NULL, &d->root, err);
	if (rc) {
		ydoc_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int ydoc_load_string(const char *text, const char *name, ydoc **out, fs_error *err)
{
	*out = NULL;
	size_t len = strlen(text);
	if (len > YT_MAX_FILE_SIZE)
		return fs_error_set(err, FS_ERR_INPUT, name, 0, 0, NULL,
				    "text larger than %u MiB; expected a scenario",
				    YT_MAX_FILE_SIZE >> 20);
	ydoc *d = ydoc_new();
	if (!d)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	const char *iname = intern_file(d, name, ".");
	int rc = iname ? 0 : fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	if (!rc && text_append(d, text, len))
		rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = parse_text(text, len, iname, -1, &d->root, err);
	if (!rc) {
		chain me = {iname, NULL, NULL, 0};
		char kpath[256] = "";
		rc = process_includes(d, d->root, &me, kpath, sizeof kpath, err);
	}
	if (rc) {
		ydoc_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* ---- emission -------------------------------------------------------------- */

typedef struct outbuf {
	char *s;
	size_t len, cap;
	int failed;
} outbuf;

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	outbuf *o = data;
	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (cap < o->len + size + 1)
			cap *= 2;
		char *s = realloc(o->s, cap);
		if (!s) {
			o->failed = 1;
			return 0;
		}
		o->s = s;
		o->cap = cap;
	}
	memcpy(o->s + o->len, buffer, size);
	o->len += size;
	o->s[o->len] = '\0';
	return 1;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, int quoted)
{
	yaml_event_t ev;
	yaml_scalar_style_t style =
	    quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, -1, 1, 1, style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit_node(yaml_emitter_t *em, const ynode *n)
{
	yaml_event_t ev;
	if (!n || n->kind == YNODE_NULL)
		return emit_scalar(em, "null", 0);
	if (n->kind == YNODE_SCALAR)
		return emit_scalar(em, n->text, n->quoted);
	if (n->kind == YNODE_SEQ) {
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		for (size_t i = 0; i < n->nitems; i++)
			if (emit_node(em, n->items[i]))
				return -1;
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	}
	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -1;
	for (size_t i = 0; i < n->npairs; i++)
		if (emit_scalar(em, n->pairs[i].key, 0) || emit_node(em, n->pairs[i].value))
			return -1;
	if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -1;
	return 0;
}

int ynode_emit(const ynode *n, char **text, fs_error *err)
{
	*text = NULL;
	yaml_emitter_t em;
	outbuf o = {0};
	if (!yaml_emitter_initialize(&em))
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	yaml_emitter_set_output(&em, write_handler, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 4096);
	yaml_emitter_set_indent(&em, 2);
	yaml_event_t ev;
	int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
		 yaml_emitter_emit(&em, &ev) &&
		 yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
		 yaml_emitter_emit(&em, &ev) && emit_node(&em, n) == 0 &&
		 yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
		 yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
		 yaml_emitter_flush(&em);
	const char *problem = em.problem;
	yaml_emitter_delete(&em);
	if (!ok || o.failed) {
		free(o.s);
		return fs_error_msg(err, o.failed ? FS_ERR_NOMEM : FS_ERR_INTERNAL,
				    "cannot write YAML: %s", problem ? problem : "out of memory");
	}
	*text = o.s ? o.s : strdup("");
	return *text ? 0 : fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
}
