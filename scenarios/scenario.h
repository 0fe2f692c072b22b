/*
 * scenario.h - a scenario file turned into validated structs.
 *
 * scenario_load() reads the YAML (with libyaml), follows `include:` lines,
 * applies --set overrides, and fills a `scenario` through typed getters that
 * convert quantities with units to SI, check ranges, and reject unknown keys,
 * duplicate keys and wrong types.  Every problem is reported as
 *     file:line:col: key.path: what is wrong; expected ...
 * through fs_error, and nothing runs.  The text as given and the resolved
 * scenario (every default filled in, units normalised) are kept for the HDF5
 * file.  The schema grows with the model issues; today it covers the run itself
 * and the reference queueing station.
 */
#ifndef FS_SCENARIO_H
#define FS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "error.h"
#include "facility.h"
#include "faults.h"
#include "serving.h"
#include "station.h"
#include "workload.h"

#define SC_MAX_RACKS 32
#define SC_MAX_POOLS 32
#define SC_MAX_CLASSES 32

typedef struct scenario_racks {
	char type[HW_NAME_LEN];  /* rack_spec name */
	int count;
} scenario_racks;

typedef struct scenario_output {
	char file[1024];          /* HDF5 output path; "" = <name>.h5 */
	double requests_fraction; /* share of requests kept in /requests, 0..1 */
	int compression;          /* deflate level 0..9 */
} scenario_output;

typedef struct scenario {
	char name[128];
	char path[1024];         /* the file it was loaded from */
	uint64_t seed;
	uint32_t replication;
	double duration_s;       /* simulated time after warm-up [s] */
	double warmup_s;         /* discarded from statistics [s] */
	double tick_s;           /* control tick [s] */
	scenario_output output;
	bool has_station;
	station_params station;
	/* the factory: racks, serving pools on them, and the request classes */
	scenario_racks racks[SC_MAX_RACKS];
	size_t n_racks;
	const rack_spec **rack_list; /* every rack of the site, in order (owned array) */
	uint32_t n_rack_list;
	bool has_serving;
	srv_params serving;              /* .pools points at pools[] */
	srv_pool_params pools[SC_MAX_POOLS];
	srv_pool_hw pool_hw[SC_MAX_POOLS]; /* into cat */
	wl_class_params classes[SC_MAX_CLASSES];
	size_t n_classes;
	catalog cat;             /* built-in catalog + the scenario's overrides (owned) */
	/* the site: budget, grid, power chain, controller, costs */
	bool has_site;
	fac_params site;         /* events/prices point into the arrays below */
	pc_grid_event grid_events[64];
	pc_price_point *prices;  /* owned */
	const gpu_spec *(*rack_gpus)[RACK_MAX_GPU_GROUPS]; /* per rack of rack_list (owned) */
	weather *weather;        /* the cooling plant's ambient (owned) */
	/* failures, remediation and maintenance (`reliability:`) */
	bool has_faults;
	flt_params faults;
	char *text_given;        /* the main file as given, includes appended (owned) */
	char *text_resolved;     /* resolved YAML (owned) */
} scenario;

/* Load path, apply nsets overrides of the form "a.b.c=value" (validated like
 * the file itself; an override of an unknown key is an error), and fill out.
 * On failure out is cleared and err names the place. */
int scenario_load(const char *path, const char *const *sets, size_t nsets, scenario *out,
		  fs_error *err);

/* The same from a string (name is used in messages); includes resolve
 * relative to the current directory. */
int scenario_load_string(const char *text, const char *name, const char *const *sets,
			 size_t nsets, scenario *out, fs_error *err);

/* Free the owned texts and zero the struct.  NULL is a no-op. */
void scenario_clear(scenario *sc);

#endif
