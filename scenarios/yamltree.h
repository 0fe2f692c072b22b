/*
 * yamltree.h - YAML files as a tree of located nodes.
 *
 * libyaml's event parser builds a tree of scalars, mappings, sequences and
 * nulls in which every node and every mapping key remembers its file, line and
 * column (1-based; line 0 for values that came from the command line).  The
 * loader rejects duplicate keys (at the second occurrence, naming the first),
 * non-scalar keys and multi-document streams, expands aliases into copies of
 * their anchored node, and bounds nesting depth, node count and file size so
 * that no input can crash it or exhaust memory.
 *
 * `include: other.yaml` (or a list of names) in any mapping merges the named
 * files' mappings into that mapping as defaults: keys present in the including
 * mapping win, nested mappings merge key by key, and a later include wins over
 * an earlier one.  Names resolve relative to the including file; cycles and a
 * depth beyond YT_MAX_INCLUDE_DEPTH are errors.
 *
 * A ydoc owns the tree, the file names the nodes point to, and the texts read
 * (the main file first, each include appended after a "# --- include: NAME"
 * line).  ynode_emit() writes a tree back out as block YAML.
 */
#ifndef FS_YAMLTREE_H
#define FS_YAMLTREE_H

#include <stddef.h>

#include "error.h"

#define YT_MAX_DEPTH         64          /* nesting levels in one document */
#define YT_MAX_NODES         500000      /* nodes in a document, aliases expanded */
#define YT_MAX_FILE_SIZE     (16u << 20) /* bytes per file */
#define YT_MAX_INCLUDE_DEPTH 16          /* nested includes */

enum ynode_kind { YNODE_NULL, YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

typedef struct ynode ynode;

typedef struct ypair {
	char *key;
	const char *file; /* where the key is written */
	int line, col;
	ynode *value;
	int used; /* set by readers (cfg) */
} ypair;

struct ynode {
	int kind;         /* enum ynode_kind */
	const char *file; /* interned in the ydoc, or a static string */
	int line, col;
	int height;   /* 1 for a leaf, else 1 + tallest child (as parsed) */
	size_t count; /* nodes in this subtree (as parsed) */
	char *text;   /* YNODE_SCALAR: the value; NULL otherwise */
	int quoted;   /* scalar was (or, when emitted, must be) quoted */
	ypair *pairs; /* YNODE_MAP */
	size_t npairs, cap_pairs;
	ynode **items; /* YNODE_SEQ */
	size_t nitems, cap_items;
};

typedef struct ydoc ydoc;

/* Read and parse a file, following includes.  I/O failure on path itself is
 * FS_ERR_IO; everything else FS_ERR_INPUT. */
int ydoc_load_file(const char *path, ydoc **out, fs_error *err);

/* Parse text (name used in messages); includes resolve relative to the
 * current directory. */
int ydoc_load_string(const char *text, const char *name, ydoc **out, fs_error *err);

/* Parse a stand-alone YAML fragment (no includes) into a new tree located in
 * file `name` (a string that must outlive the tree), every line set to `line`
 * and column to 0 when line is 0.  Used for --set values. */
int ynode_parse_fragment(const char *text, const char *name, int line, ynode **out, fs_error *err);

ynode *ydoc_root(ydoc *d);
void ydoc_set_root(ydoc *d, ynode *root); /* takes ownership; frees the old */
const char *ydoc_text(const ydoc *d);     /* the texts read, includes appended */
void ydoc_free(ydoc *d);

/* Tree helpers.  Constructors return NULL when out of memory. */
ynode *ynode_new(int kind, const char *file, int line, int col);
ynode *ynode_new_scalar(const char *text, const char *file, int line, int col);
void ynode_free(ynode *n);
ynode *ynode_copy(const ynode *n);
ypair *ynode_find(const ynode *map, const char *key);
/* Append key -> value (no duplicate check; takes value).  Returns the pair or
 * NULL when out of memory (value is then freed). */
ypair *ynode_add(ynode *map, const char *key, const char *file, int line, int col, ynode *value);
/* Append an item to a sequence (takes it).  Returns 0 or -1 (freed). */
int ynode_append(ynode *seq, ynode *item);
/* "a scalar", "a mapping", "a list", "nothing (null)" - for messages. */
const char *ynode_kind_name(const ynode *n);

/* Emit n as block YAML into a malloc'ed string. */
int ynode_emit(const ynode *n, char **text, fs_error *err);

#endif
