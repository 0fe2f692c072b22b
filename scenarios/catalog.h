/*
 * catalog.h - the built-in hardware and LLM catalog (GPUs, racks, models).
 *
 * The catalog lives in scenarios/catalog/{gpus,racks,models}.yaml, each
 * figure with its source in a comment.  catalog_load_builtin() finds and reads
 * those files (each with its own cfg, so they never enter a scenario's
 * resolved text); catalog_apply() then lets a scenario's `catalog:` section
 * override fields of existing entries or add new ones:
 *
 *     catalog:
 *       gpus:   { h100: { tdp: 600 W } }          # only tdp changes
 *       models: { my-model: { ...every required key... } }
 *
 * All reads go through cfg.h, so errors read
 *     file:line:col: catalog.gpus.h100.tdp: what; expected ...
 * A failed load or apply leaves the catalog as it was.
 */
#ifndef FS_CATALOG_H
#define FS_CATALOG_H

#include <stdio.h>

#include "cfg.h"
#include "error.h"
#include "hw.h"
#include "yamltree.h"

typedef struct catalog {
	gpu_spec *gpus;
	size_t n_gpus;
	rack_spec *racks;
	size_t n_racks;
	llm_spec *llms;
	size_t n_llms;
	/* failure and remediation defaults per component class (reliability.yaml) */
	hw_reliability reliability;
	bool has_reliability;
} catalog;

/* The directory holding gpus.yaml, racks.yaml and models.yaml, first of:
 * $FACTORYSIM_CATALOG (an error if set but lacking the files); FS_CATALOG_DIR
 * if compiled in; <exe dir>/../scenarios/catalog and <exe dir>/../../
 * scenarios/catalog (from /proc/self/exe); ./scenarios/catalog. */
int catalog_find_dir(char *dir, size_t n, fs_error *err);

/* Read gpus.yaml, racks.yaml, models.yaml and, when present, reliability.yaml
 * from dir into c (emptied first). */
int catalog_load_dir(catalog *c, const char *dir, fs_error *err);

/* catalog_find_dir + catalog_load_dir. */
int catalog_load_builtin(catalog *c, fs_error *err);

/* Apply a scenario's `catalog:` mapping (the value node; keys gpus, racks,
 * models; null or absent sections are fine).  Existing names: only the given
 * fields change (a rack's `gpus` list is replaced whole); new names must give
 * every required field.  Error key paths start with "catalog.".  The nodes'
 * `used` flags are set.  On error c is unchanged. */
int catalog_apply(catalog *c, ynode *section, fs_error *err);

/* Same, for a YAML text whose top level is {gpus, racks, models} (key paths
 * then start there), e.g. a user catalog file. */
int catalog_apply_string(catalog *c, const char *text, const char *name, fs_error *err);

/* Read the reliability keys of m: per class {enabled, mtbf, distribution,
 * shape, repair, replace} under gpu, tray, switch_tray, rack, and detect,
 * drain, repair_distribution.  Every key defaults to base's value; with base
 * NULL the classes and their mtbf, repair and replace are required.  Used for
 * reliability.yaml, a `catalog: {reliability: ...}` override and a scenario's
 * top-level `reliability:`.  Errors are cfg's (sticky); m is not closed. */
void catalog_read_reliability(cfg_map *m, const hw_reliability *base, hw_reliability *out);

/* Look-ups by name; NULL when absent. */
const gpu_spec *catalog_gpu(const catalog *c, const char *name);
const rack_spec *catalog_rack(const catalog *c, const char *name);
const llm_spec *catalog_llm(const catalog *c, const char *name);

/* Totals of a rack: GPUs, and the power at TDP of everything but the GPUs
 * (CPUs, switches, fans; before PSU losses) [W].  GPU power needs c. */
int rack_gpu_count(const rack_spec *r);
double rack_non_gpu_w(const rack_spec *r);
/* GPUs x TDP [W]; GPU types missing from c count 0. */
double rack_gpu_w(const catalog *c, const rack_spec *r);

/* Free everything; c is left empty (and may be reused). */
void catalog_clear(catalog *c);

/* Aligned tables with units.  which: "gpus", "racks", "models", or NULL for
 * all three.  Returns 0, FS_ERR_USAGE for another which, FS_ERR_IO when the
 * write fails. */
int catalog_print(FILE *f, const catalog *c, const char *which);

#endif
