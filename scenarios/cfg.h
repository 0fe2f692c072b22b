/*
 * cfg.h - typed, located, self-documenting reads from a YAML tree.
 *
 * In the spirit of SWIFT's parser_get_param / parser_get_opt_param: the schema
 * is code.  A reader opens a mapping (cfg_root, cfg_map), asks for each key
 * with a typed getter (quantity with unit and range, integer, bool, string,
 * enumeration, sub-mapping, list) giving either a default or none (required),
 * and finally closes the mapping, which reports any key nobody asked for:
 *     unknown key 'foo'; expected one of: a, b, c
 * Every getter checks the node's type, converts units (units.h), checks the
 * range and reports at the node's file:line:col with the dotted key path.
 *
 * Errors are sticky: the first one is kept in the fs_error given to cfg_new,
 * and every later call is a no-op returning the same code, so a schema reads
 * as a straight list of getters with one check at the end.  Views returned by
 * cfg_map / cfg_list / cfg_item_map are never NULL (they may stand for an
 * absent mapping, whose getters then give defaults) and are freed with the cfg.
 *
 * While reading, the getters build the resolved document: every value read or
 * defaulted, in its canonical unit, in the order asked.  cfg_resolved() writes
 * it out as YAML, which loads back to the same values.
 */
#ifndef FS_CFG_H
#define FS_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "yamltree.h"

typedef struct cfg cfg;
typedef struct cfg_map cfg_map; /* a view on a mapping or a list */

/* A range for quantities, in SI units. */
typedef struct cfg_range {
	unsigned flags;
	double min, max;
} cfg_range;

#define CFG_HAS_MIN  1u
#define CFG_MIN_EXCL 2u
#define CFG_HAS_MAX  4u
#define CFG_MAX_EXCL 8u

#define CFG_ANY           ((cfg_range){0, 0, 0})
#define CFG_GT(a)         ((cfg_range){CFG_HAS_MIN | CFG_MIN_EXCL, (a), 0})
#define CFG_GE(a)         ((cfg_range){CFG_HAS_MIN, (a), 0})
#define CFG_BETWEEN(a, b) ((cfg_range){CFG_HAS_MIN | CFG_HAS_MAX, (a), (b)})
#define CFG_GT_LE(a, b)   ((cfg_range){CFG_HAS_MIN | CFG_MIN_EXCL | CFG_HAS_MAX, (a), (b)})

/* Read from root (not owned; must outlive the cfg).  Errors go to err. */
cfg *cfg_new(ynode *root, fs_error *err);
void cfg_free(cfg *c);

/* 0, or the code of the first error. */
int cfg_status(const cfg *c);

/* The top-level mapping; an error if the document is not a mapping. */
cfg_map *cfg_root(cfg *c);

/* A sub-mapping.  Absent or null: an error if required, else an empty view
 * (cfg_present false) whose getters give defaults. */
cfg_map *cfg_map_get(cfg_map *m, const char *key, bool required);
bool cfg_present(const cfg_map *m);

/* Whether key is given (not null) in m.  Counts as asking for it. */
bool cfg_has(cfg_map *m, const char *key);

/* Getters.  def == NULL: required.  Return 0 or the (sticky) error code; *out
 * is written only on success. */
int cfg_quantity(cfg_map *m, const char *key, const char *unit, const double *def, cfg_range range,
		 double *out);
int cfg_int(cfg_map *m, const char *key, const int64_t *def, int64_t min, int64_t max,
	    int64_t *out);
int cfg_uint64(cfg_map *m, const char *key, const uint64_t *def, uint64_t min, uint64_t max,
	       uint64_t *out);
int cfg_bool(cfg_map *m, const char *key, const bool *def, bool *out);
/* A string of at most n - 1 bytes. */
int cfg_string(cfg_map *m, const char *key, const char *def, char *out, size_t n);
/* choices: NULL-terminated; *out is the index chosen; def is an index. */
int cfg_enum(cfg_map *m, const char *key, const char *const *choices, const int *def, int *out);

/* A list.  Absent or null: an error if required, else an empty list. */
cfg_map *cfg_list(cfg_map *m, const char *key, bool required);
size_t cfg_len(const cfg_map *list);
cfg_map *cfg_item_map(cfg_map *list, size_t i);
int cfg_item_quantity(cfg_map *list, size_t i, const char *unit, cfg_range range, double *out);
int cfg_item_string(cfg_map *list, size_t i, char *out, size_t n);

/* Report an error at key's value in m (or at m itself if key is NULL or
 * absent); message is "what is wrong; expected ...".  Sticky like the rest. */
int cfg_fail(cfg_map *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The sticky status of the cfg a view belongs to (0 or the first error). */
int cfg_status_of(const cfg_map *m);

/* The YAML node behind a view (NULL when absent), for readers with a schema of
 * their own such as the catalog overrides. */
ynode *cfg_node_of(const cfg_map *m);

/* A name for a scenario, class or catalog entry: 1 to max_len characters from
 * A-Z a-z 0-9 _ . - */
bool cfg_name_ok(const char *s, size_t max_len);

/* Report the first key of m that no getter asked for. */
int cfg_close(cfg_map *m);

/* The resolved document as YAML (malloc'ed). */
int cfg_resolved(cfg *c, char **text);

/* Apply "a.b.c=value" to the tree under *root (a mapping, or null which is
 * replaced by a new mapping; the replaced node is not freed, its owner keeps
 * it, e.g. the document whose ydoc_set_root() frees it).  value is read as YAML (a scalar, or flow
 * YAML such as {a: 1}); nodes it creates are located in file "--set", line 0.
 * Errors name "--set" as the file. */
int cfg_apply_set(ynode **root, const char *assignment, fs_error *err);

#endif
