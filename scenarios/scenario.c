/*
 * scenario.c - the scenario schema (see scenario.h).
 *
 * Loading is three steps: yamltree reads the file and its includes into one
 * located tree; each --set override replaces or adds a key in that tree; and
 * read_schema() walks the tree with the typed getters of cfg.h, which convert
 * and check every value, fill defaults, report unknown keys, and build the
 * resolved document as they go.  The schema below is the single place that
 * says which keys exist, their units, defaults and ranges.
 */
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "yamltree.h"

#define YEAR_S (365.25 * 86400.0)

static const char *const arrival_kinds[] = {"poisson", "gamma", NULL};
static const char *const service_dists[] = {"exponential", "deterministic", "lognormal", NULL};

static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

static void read_output(cfg_map *root, scenario *sc)
{
	cfg_map *m = cfg_map_get(root, "output", false);
	char def_file[sizeof sc->name + 8];
	snprintf(def_file, sizeof def_file, "%s.h5", sc->name);
	const int64_t def_compression = 4;
	int64_t compression = def_compression;
	if (cfg_string(m, "file", def_file, sc->output.file, sizeof sc->output.file) == 0 &&
	    !sc->output.file[0])
		cfg_fail(m, "file", "empty file name; expected a path such as 'run.h5'");
	const double all = 1.0;
	cfg_quantity(m, "requests", "%", &all, CFG_BETWEEN(0, 1), &sc->output.requests_fraction);
	cfg_int(m, "compression", &def_compression, 0, 9, &compression);
	sc->output.compression = (int)compression;
	cfg_close(m);
}

static void read_station(cfg_map *root, scenario *sc)
{
	station_params *p = &sc->station;
	cfg_map *st = cfg_map_get(root, "station", true);
	int64_t servers = 1, queue_limit = 0;
	const int64_t zero = 0;
	const int def_poisson = STATION_POISSON, def_exp = STATION_EXPONENTIAL;
	const double one = 1.0;

	cfg_int(st, "servers", NULL, 1, 1000000, &servers);

	cfg_map *arr = cfg_map_get(st, "arrival", true);
	cfg_quantity(arr, "rate", "1/s", NULL, CFG_GT(0), &p->arrival_rate);
	cfg_enum(arr, "process", arrival_kinds, &def_poisson, &p->arrival_kind);
	p->arrival_cv = 1.0;
	if (p->arrival_kind == STATION_GAMMA)
		cfg_quantity(arr, "cv", "1", &one, CFG_GT_LE(0, 100), &p->arrival_cv);
	else if (cfg_has(arr, "cv"))
		cfg_fail(arr, "cv",
			 "cv is used only with process gamma; expected no cv for "
			 "process poisson");
	cfg_close(arr);

	cfg_map *svc = cfg_map_get(st, "service", true);
	cfg_quantity(svc, "mean", "s", NULL, CFG_GT(0), &p->service_mean_s);
	cfg_enum(svc, "distribution", service_dists, &def_exp, &p->service_dist);
	p->service_cv = 1.0;
	if (p->service_dist == STATION_LOGNORMAL)
		cfg_quantity(svc, "cv", "1", &one, CFG_GT_LE(0, 100), &p->service_cv);
	else if (cfg_has(svc, "cv"))
		cfg_fail(svc, "cv",
			 "cv is used only with distribution lognormal; expected no cv "
			 "for distribution %s",
			 service_dists[p->service_dist]);
	cfg_close(svc);

	cfg_int(st, "queue_limit", &zero, 0, UINT32_MAX, &queue_limit);
	cfg_close(st);
	p->servers = (int)servers;
	p->queue_limit = (uint32_t)queue_limit;
	sc->has_station = true;
}

/* Read every key of the schema; the first problem stops the reading. */
static int read_schema(cfg *c, scenario *sc, fs_error *err)
{
	cfg_map *root = cfg_root(c);
	const uint64_t one = 1, zero = 0;
	const double no_warmup = 0, one_second = 1;
	uint64_t replication = 0;

	cfg_string(root, "name", NULL, sc->name, sizeof sc->name);
	if (!cfg_status(c) && !name_ok(sc->name))
		cfg_fail(root, "name",
			 "'%s' is not a valid name; expected 1 to 127 characters from "
			 "A-Z a-z 0-9 _ . -",
			 sc->name);
	cfg_uint64(root, "seed", &one, 0, UINT64_MAX, &sc->seed);
	cfg_uint64(root, "replication", &zero, 0, UINT32_MAX, &replication);
	sc->replication = (uint32_t)replication;
	cfg_quantity(root, "duration", "s", NULL, CFG_GT_LE(0, 10 * YEAR_S), &sc->duration_s);
	cfg_quantity(root, "warmup", "s", &no_warmup, CFG_GE(0), &sc->warmup_s);
	cfg_quantity(root, "control_tick", "s", &one_second, CFG_BETWEEN(1e-3, 3600), &sc->tick_s);
	if (!cfg_status(c))
		read_output(root, sc);
	if (!cfg_status(c) && cfg_has(root, "station"))
		read_station(root, sc);
	cfg_close(root);
	int rc = cfg_status(c);
	if (rc)
		return rc;
	if (sc->has_station)
		rc = station_params_check(&sc->station, err);
	return rc;
}

/* Apply overrides, read the schema, keep the texts.  Takes d. */
static int load_doc(ydoc *d, const char *path, const char *const *sets, size_t nsets, scenario *out,
		    fs_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < nsets && !rc; i++) {
		ynode *root = ydoc_root(d);
		rc = cfg_apply_set(&root, sets[i], err);
		ydoc_set_root(d, root);
	}
	cfg *c = rc ? NULL : cfg_new(ydoc_root(d), err);
	if (!rc && !c)
		rc = FS_ERR_NOMEM;
	if (!rc)
		rc = read_schema(c, out, err);
	if (!rc)
		rc = cfg_resolved(c, &out->text_resolved);
	if (!rc && !(out->text_given = strdup(ydoc_text(d))))
		rc = fs_error_msg(err, FS_ERR_NOMEM, "out of memory");
	if (!rc)
		snprintf(out->path, sizeof out->path, "%s", path);
	cfg_free(c);
	ydoc_free(d);
	if (rc)
		scenario_clear(out);
	return rc;
}

int scenario_load(const char *path, const char *const *sets, size_t nsets, scenario *out,
		  fs_error *err)
{
	memset(out, 0, sizeof *out);
	ydoc *d = NULL;
	int rc = ydoc_load_file(path, &d, err);
	if (rc)
		return rc;
	return load_doc(d, path, sets, nsets, out, err);
}

int scenario_load_string(const char *text, const char *name, const char *const *sets, size_t nsets,
			 scenario *out, fs_error *err)
{
	memset(out, 0, sizeof *out);
	ydoc *d = NULL;
	int rc = ydoc_load_string(text ? text : "", name ? name : "<string>", &d, err);
	if (rc)
		return rc;
	return load_doc(d, name ? name : "<string>", sets, nsets, out, err);
}

void scenario_clear(scenario *sc)
{
	if (!sc)
		return;
	free(sc->text_given);
	free(sc->text_resolved);
	memset(sc, 0, sizeof *sc);
}
