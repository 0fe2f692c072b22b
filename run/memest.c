/*
 * memest.c - see memest.h.
 *
 * The constants below are the sizes of this build's structs (gcc/clang,
 * x86-64) and the process's measured baseline, rounded up; a term that grows
 * by doubling (realloc) is counted at 1.5 x its content, the mean slack.
 * Where a model's struct changes, tests/t_memest.sh (estimate vs peak RSS)
 * is the check that these still hold.
 */
#include "memest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf.h"

#define MIB (1024.0 * 1024.0)

/* measured: `factorysim validate` of a small scenario peaks near 10 MiB, and
 * opening an HDF5 file with a handful of datasets adds about 4 MiB */
#define BASE_PROCESS_B (10.0 * MIB)
#define BASE_HDF5_B (4.0 * MIB)
#define HDF5_PER_DATASET_B 8192.0   /* object header, metadata cache share */
#define HDF5_CHUNK_CACHE_B (1.0 * MIB) /* the default chunk cache per dataset */
#define REC_CHUNK_ROWS 1024.0       /* runner.c opens the recorder with this */
#define REC_CHUNK_BYTES (1.0 * MIB) /* recorder.c: target size of a 2-D chunk */
#define EV_ROW_B 288.0              /* recorder.c: one buffered /events row */
#define RQ_ROW_B 61.0               /* recorder.c: one packed /requests row */

#define REPLICA_B 512.0             /* serving.c: struct replica + its pcache */
#define PC_TABLE_B 256.0            /* initial prefix-cache hash table */
#define PC_ENTRY_B 40.0             /* one prefix-cache entry and its table slot */
#define DENT_B 24.0                 /* one decoder in a replica's heap */
#define RQ_B 160.0                  /* serving.c: struct rq (a request in flight) */
#define QHIST_B (4 * 22.0 * 1024)   /* a class's four latency histograms */
#define RACK_B 640.0                /* facility + cooling state per rack */
#define RACK_LIST_B 40.0            /* the scenario's rack list and GPU table */
#define EVENT_B 64.0                /* sim.c: arena slot + heap key */
#define STATION_WAIT_B 8.0          /* station.c: one waiting request's arrival */
#define TRACE_ROW_B 100.0           /* workload.c: a row, its columns, read slack */
#define TRACE_LINE_B 30.0           /* bytes per line of a trace, for a row count */
#define COMPONENT_B 72.0            /* faults.c: a GPU, tray or switch and its indexes */

typedef struct term {
	const char *name;
	double bytes;
	char why[160];
} term;

enum { T_BASE, T_SERIES, T_TABLES, T_REPLICAS, T_INFLIGHT, T_RACKS, T_EVENTS, T_TRACES,
       T_STATS, T_STATION, T_FAULTS, T_COUNT };

static const char *const term_names[T_COUNT] = {
	"program and HDF5",   "time series buffers", "event and request tables",
	"serving replicas",   "requests in flight",  "racks",
	"event engine",       "traces in memory",    "statistics",
	"station queue",      "failure model",
};

void memest_format(size_t bytes, char *buf, size_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%zu B", bytes);
	else
		snprintf(buf, n, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, unit[u]);
}

/* Rows a trace file will hold: the measured count for arrival traces, else
 * the file size over a typical line. */
static double file_rows(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || st.st_size <= 0)
		return 0;
	return (double)st.st_size / TRACE_LINE_B;
}

/* Mean tokens of a length distribution; empirical files: a typical chat
 * request (the Azure traces' means are about 1000-2000 in, 200-300 out). */
static double mean_tokens(const wl_length_params *l, double empirical)
{
	double m = l->kind == WL_EMPIRICAL ? empirical : l->mean;
	if (m < l->min)
		m = l->min;
	if (l->max > 0 && m > l->max)
		m = l->max;
	return m;
}

/* Load of one pool, from the classes that enter it. */
typedef struct pool_load {
	double rate;          /* requests/s */
	double in_tok, out_tok; /* rate-weighted sums of the means */
	double think;         /* sessions in think time (each holds an event) */
} pool_load;

/* Where a class's requests enter (serving.c: the named pool, else the first
 * pool of the model with role both or prefill). */
static int entry_pool(const scenario *sc, const wl_class_params *c)
{
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		const srv_pool_params *pl = &sc->pools[p];
		if (strcmp(pl->model, c->model) || pl->role == SRV_ROLE_DECODE)
			continue;
		if (!c->pool[0] || !strcmp(pl->name, c->pool))
			return (int)p;
	}
	return -1;
}

/* Requests per second a pool completes at the given mean lengths (its share
 * of the work: prefill, decode or both), and the latency of one request. */
static double pool_capacity(const srv_pool_params *p, const srv_pool_hw *hw, int replicas,
			    double in_tok, double out_tok, double *latency_s)
{
	perf_model pm;
	*latency_s = 0;
	if (replicas <= 0 || perf_init(&pm, hw->gpu, hw->llm, p->tp, p->pp, p->ep, p->dp_attention,
				       p->tp * p->pp > hw->rack->nvlink_domain, NULL))
		return 0;
	double kv = perf_kv_capacity_tokens(&pm, p->kv_reserve) * (1 - p->prefix_share);
	double ctx = in_tok + out_tok / 2;
	double batch = p->max_seqs;
	if (ctx > 0 && kv > 0 && batch * ctx > kv)
		batch = floor(kv / ctx);
	if (batch < 1)
		batch = 1;
	double per_req = 0, lat = 0;
	if (p->role != SRV_ROLE_DECODE && in_tok > 0) {
		perf_batch pf = { .prefill_tokens = p->max_batch_tokens,
				  .prefill_pairs = (uint64_t)((double)p->max_batch_tokens *
							      (in_tok / 2 + 1)),
				  .prefill_seqs = 1 };
		double t = perf_iteration(&pm, &pf, 1.0, NULL) / p->max_batch_tokens * in_tok;
		per_req += t;
		lat += t;
	}
	if (p->role != SRV_ROLE_PREFILL && out_tok > 0) {
		perf_batch dec = { .decode_seqs = (uint32_t)batch,
				   .decode_ctx = (uint64_t)(batch * ctx) };
		double t = perf_iteration(&pm, &dec, 1.0, NULL);
		per_req += out_tok * t / batch;
		lat += out_tok * t;
	}
	*latency_s = lat;
	return per_req > 0 && isfinite(per_req) ? replicas / per_req : 0;
}

static void add(term *t, int i, double bytes)
{
	t[i].bytes += bytes > 0 && isfinite(bytes) ? bytes : 0;
}

/* One time series of width w: its row buffer and current row, and HDF5's
 * chunk cache and header (a chunk holds at most REC_CHUNK_BYTES). */
static double series_bytes(double w)
{
	double chunk = REC_CHUNK_ROWS * w * 8;
	return chunk + w * 8 + HDF5_PER_DATASET_B +
	       (w > 1 ? fmin(chunk, REC_CHUNK_BYTES) : REC_CHUNK_ROWS * 8);
}

static void estimate_serving(const scenario *sc, term *t, double span_s)
{
	pool_load load[SC_MAX_POOLS];
	memset(load, 0, sizeof load);
	double traces = 0;
	/* traces: each distinct file once (workload.c shares them) */
	const char *seen[3 * SC_MAX_CLASSES];
	size_t nseen = 0;
	for (size_t i = 0; i < sc->n_classes; i++) {
		const wl_class_params *c = &sc->classes[i];
		const char *files[3] = { c->arrival == WL_TRACE ? c->trace.path : NULL,
					 c->input.kind == WL_EMPIRICAL ? c->input.empirical : NULL,
					 c->output.kind == WL_EMPIRICAL ? c->output.empirical : NULL };
		for (int k = 0; k < 3; k++) {
			if (!files[k] || (c->arrival == WL_TRACE && k > 0))
				continue;
			bool dup = false;
			for (size_t j = 0; j < nseen; j++)
				dup |= !strcmp(seen[j], files[k]);
			if (dup)
				continue;
			seen[nseen++] = files[k];
			double rows = k == 0 && sc->trace_requests[i] > 0
					      ? sc->trace_requests[i] / c->trace.rate_multiplier
					      : file_rows(files[k]);
			traces += rows;
		}
		double rate, in, out, turns = 1;
		if (c->arrival == WL_TRACE) {
			rate = sc->trace_rate[i];
			if (!c->trace.loop && span_s > 0 && rate * span_s > sc->trace_requests[i])
				rate = sc->trace_requests[i] / span_s;
			in = 1000, out = 250; /* a trace's own lengths: typical */
		} else {
			in = c->system_prompt_tokens + mean_tokens(&c->input, 1000);
			out = mean_tokens(&c->output, 250);
			rate = c->rate;
			if (c->session.enabled) {
				turns = c->session.turns_mean;
				/* later turns carry the context so far: on average half */
				in += (turns - 1) / 2 *
				      (mean_tokens(&c->session.turn_input, 200) + out);
			}
		}
		int p = entry_pool(sc, c);
		if (p < 0)
			continue;
		double r = rate * turns;
		load[p].rate += r;
		load[p].in_tok += r * in;
		load[p].out_tok += r * out;
		if (c->session.enabled)
			load[p].think += rate * (turns - 1) * c->session.think_mean_s;
	}
	add(t, T_TRACES, traces * TRACE_ROW_B);
	if (traces > 0)
		snprintf(t[T_TRACES].why, sizeof t[T_TRACES].why, "about %.3g rows", traces);

	/* replicas, and the capacity of each model's pools */
	double replicas = 0, events = 0, inflight = 0, backlog = 0;
	int reps[SC_MAX_POOLS] = { 0 };
	double dheap = 0;
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		const srv_pool_params *pl = &sc->pools[p];
		const srv_pool_hw *hw = &sc->pool_hw[p];
		reps[p] = hw->rack ? serving_pool_replicas(pl, hw, NULL) : 0;
		if (reps[p] < 0)
			reps[p] = 0;
		replicas += reps[p];
		add(t, T_REPLICAS, reps[p] * (REPLICA_B + PC_TABLE_B + 4.0 * pl->block_tokens));
	}
	/* per model: the load entering its pools, against their capacity */
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		bool first = true;
		for (size_t q = 0; q < p; q++)
			first &= strcmp(sc->pools[q].model, sc->pools[p].model) != 0;
		if (!first)
			continue;
		double rate = 0, in = 0, out = 0, think = 0;
		for (size_t q = p; q < sc->serving.n_pools; q++)
			if (!strcmp(sc->pools[q].model, sc->pools[p].model)) {
				rate += load[q].rate;
				in += load[q].in_tok;
				out += load[q].out_tok;
				think += load[q].think;
			}
		if (!(rate > 0))
			continue;
		in /= rate;
		out /= rate;
		/* disaggregated pools serve a request in turn: prefill then decode */
		double both = 0, pf = 0, dec = 0, latency = 0, lat_pf = 0, lat_dec = 0;
		for (size_t q = p; q < sc->serving.n_pools; q++) {
			const srv_pool_params *pl = &sc->pools[q];
			if (strcmp(pl->model, sc->pools[p].model))
				continue;
			double l = 0;
			double c = pool_capacity(pl, &sc->pool_hw[q], reps[q], in, out, &l);
			if (pl->role == SRV_ROLE_BOTH) {
				both += c;
				latency = fmax(latency, l);
			} else if (pl->role == SRV_ROLE_PREFILL) {
				pf += c;
				lat_pf = fmax(lat_pf, l);
			} else {
				dec += c;
				lat_dec = fmax(lat_dec, l);
			}
		}
		latency = fmax(latency, lat_pf + lat_dec);
		double mu = both + fmin(pf, dec);
		double served = fmin(rate, mu);
		double queued = rate > mu ? (rate - mu) * span_s : 0;
		double running = served * latency;
		/* a replica's decode heap holds its running requests */
		dheap += running * DENT_B * 1.5;
		inflight += running;
		backlog += queued;
		events += think;
	}
	add(t, T_REPLICAS, dheap);
	snprintf(t[T_REPLICAS].why, sizeof t[T_REPLICAS].why, "%.0f replicas", replicas);
	/* the prefix cache holds an entry per cached prefix (sessions, system
	 * prompts): bounded by the share of the KV capacity it may use */
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		const srv_pool_params *pl = &sc->pools[p];
		if (!(load[p].rate > 0) || reps[p] <= 0)
			continue;
		double per_rep = fmin(load[p].think + load[p].rate * 60, 1e6) / reps[p];
		add(t, T_REPLICAS, reps[p] * fmin(per_rep, 65536) * PC_ENTRY_B *
					   (pl->prefix_share > 0 || pl->offload_bytes > 0 ? 1.5 : 0.5));
	}
	add(t, T_INFLIGHT, (inflight + backlog) * RQ_B * 1.5);
	if (backlog > 0)
		snprintf(t[T_INFLIGHT].why, sizeof t[T_INFLIGHT].why,
			 "about %.3g waiting by the end: arrivals exceed the estimated capacity",
			 backlog);
	else
		snprintf(t[T_INFLIGHT].why, sizeof t[T_INFLIGHT].why, "about %.3g at a time",
			 inflight);
	add(t, T_EVENTS, (replicas + (double)sc->n_classes + events + 64) * EVENT_B * 1.5);
	add(t, T_STATS, ((double)sc->n_classes + 2) * QHIST_B);
}

int runner_estimate_memory(const scenario *sc, size_t *bytes, char *breakdown, size_t n)
{
	term t[T_COUNT];
	memset(t, 0, sizeof t);
	for (int i = 0; i < T_COUNT; i++)
		t[i].name = term_names[i];
	double span = sc->warmup_s + sc->duration_s;

	add(t, T_BASE, BASE_PROCESS_B + BASE_HDF5_B);
	add(t, T_BASE, 3.0 * ((sc->text_given ? strlen(sc->text_given) : 0) +
			      (sc->text_resolved ? strlen(sc->text_resolved) : 0)));

	/* the recorder: /timeseries/time, the models' series, /events, /requests */
	double racks = sc->n_rack_list, series_1d = 1, per_rack = 0, width_chain = 0;
	if (sc->has_station)
		series_1d += 4;
	if (sc->has_serving)
		series_1d += 10;
	if (sc->has_site) {
		series_1d += 9;
		per_rack += 4;
		width_chain = sc->site.n_chain;
		if (sc->site.has_cooling) {
			series_1d += 13;
			per_rack += 3;
		}
	}
	add(t, T_SERIES, series_1d * series_bytes(1));
	if (racks > 0)
		add(t, T_SERIES, per_rack * series_bytes(racks));
	if (width_chain > 0)
		add(t, T_SERIES, 2 * series_bytes(width_chain));
	if (per_rack > 0)
		snprintf(t[T_SERIES].why, sizeof t[T_SERIES].why,
			 "%.0f per-rack series x %.0f racks x %.0f rows x 8 B", per_rack, racks,
			 REC_CHUNK_ROWS);
	add(t, T_TABLES, REC_CHUNK_ROWS * (EV_ROW_B + RQ_ROW_B) + 2 * HDF5_CHUNK_CACHE_B);

	add(t, T_RACKS, racks * (RACK_LIST_B + (sc->has_site ? RACK_B : 0)));
	if (racks > 0)
		snprintf(t[T_RACKS].why, sizeof t[T_RACKS].why, "%.0f racks", racks);

	if (sc->has_serving)
		estimate_serving(sc, t, span);

	if (sc->has_faults) {
		/* every GPU, compute tray, switch tray and rack is a component with
		 * a pending failure event */
		double comps = 0;
		for (uint32_t k = 0; k < sc->n_rack_list; k++) {
			const rack_spec *r = sc->rack_list[k];
			comps += 1 + r->switch_trays + r->trays;
			for (int g = 0; g < r->n_groups; g++)
				comps += r->groups[g].count;
		}
		add(t, T_FAULTS, comps * (COMPONENT_B + EVENT_B * 1.5));
		add(t, T_SERIES, 4 * series_bytes(1));
		snprintf(t[T_FAULTS].why, sizeof t[T_FAULTS].why, "%.3g components", comps);
	}

	if (sc->has_station) {
		const station_params *p = &sc->station;
		double mu = p->servers / p->service_mean_s;
		double waiting = p->arrival_rate > mu ? (p->arrival_rate - mu) * span : 0;
		if (p->queue_limit > 0 && waiting > p->queue_limit)
			waiting = p->queue_limit;
		add(t, T_STATION, waiting * STATION_WAIT_B * 1.5 + QHIST_B);
		if (waiting > 0)
			snprintf(t[T_STATION].why, sizeof t[T_STATION].why,
				 "about %.3g waiting by the end: arrivals exceed the servers", waiting);
		add(t, T_EVENTS, ((double)p->servers + 64) * EVENT_B * 1.5);
	}

	double total = 0;
	for (int i = 0; i < T_COUNT; i++)
		total += t[i].bytes;
	*bytes = total >= 0x1p63 ? (size_t)INT64_MAX : (size_t)total;

	if (breakdown && n) {
		/* the terms, largest first (insertion sort of indices) */
		int order[T_COUNT];
		for (int i = 0; i < T_COUNT; i++) {
			int j = i;
			while (j > 0 && t[order[j - 1]].bytes < t[i].bytes) {
				order[j] = order[j - 1];
				j--;
			}
			order[j] = i;
		}
		size_t used = 0;
		breakdown[0] = '\0';
		for (int k = 0; k < T_COUNT && used + 1 < n; k++) {
			const term *x = &t[order[k]];
			if (x->bytes < 0.5 * MIB && k > 0)
				break;
			char sz[32];
			memest_format((size_t)x->bytes, sz, sizeof sz);
			int w = snprintf(breakdown + used, n - used, "%s%s %s%s%s%s", k ? ", " : "",
					 x->name, sz, x->why[0] ? " (" : "", x->why, x->why[0] ? ")" : "");
			if (w < 0)
				break;
			used += (size_t)w < n - used ? (size_t)w : n - used - 1;
		}
	}
	return FS_OK;
}

size_t memest_default_limit(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || page <= 0)
		return 0;
	return (size_t)((double)pages * (double)page * 0.75);
}

int memest_parse_size(const char *text, size_t *bytes)
{
	if (!text)
		return -1;
	char *end;
	double v = strtod(text, &end);
	if (end == text || !isfinite(v) || v <= 0)
		return -1;
	while (*end == ' ')
		end++;
	static const struct {
		const char *u;
		double f;
	} units[] = { { "", 1 },	   { "B", 1 },	       { "kB", 1e3 },	    { "KB", 1e3 },
		      { "MB", 1e6 },	   { "GB", 1e9 },      { "TB", 1e12 },	    { "KiB", 1024.0 },
		      { "MiB", MIB },	   { "GiB", MIB * 1024 }, { "TiB", MIB * MIB },
		      { "K", 1024.0 },	   { "M", MIB },       { "G", MIB * 1024 }, { "T", MIB * MIB } };
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(end, units[i].u)) {
			double b = v * units[i].f;
			if (!(b >= 1) || b >= 0x1p63)
				return -1;
			*bytes = (size_t)b;
			return 0;
		}
	return -1;
}

int memest_check(const scenario *sc, size_t limit, bool force, fs_error *err)
{
	if (force)
		return FS_OK;
	bool def = limit == 0;
	if (def)
		limit = memest_default_limit();
	if (limit == 0)
		return FS_OK;
	size_t est;
	char terms[400];
	runner_estimate_memory(sc, &est, terms, sizeof terms);
	if (est <= limit)
		return FS_OK;
	char e[32], l[32];
	memest_format(est, e, sizeof e);
	memest_format(limit, l, sizeof l);
	return fs_error_set(err, FS_ERR_INPUT, sc->path, 0, 0, NULL,
			    "the run would need about %s of memory (estimate), above the limit of "
			    "%s%s; largest terms: %s; expected a smaller scenario, or "
			    "--memory-limit SIZE to raise the limit, or --force to run anyway",
			    e, l, def ? " (75 % of physical memory)" : "", terms);
}
