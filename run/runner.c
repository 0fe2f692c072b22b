/*
 * runner.c - see runner.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recorder.h"
#include "runner.h"
#include "version.h" /* generated: FS_GIT_REV */
#include "workload.h"

#ifndef FS_VERSION
#define FS_VERSION "0.0.0"
#endif
#ifndef FS_GIT_REV
#define FS_GIT_REV "unknown"
#endif

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void runner_gpu_figures(const scenario *sc, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		const gpu_spec *g = sc->pool_hw[p].gpu;
		char item[HW_NAME_LEN + 16];
		snprintf(item, sizeof item, "%s: ", g->name);
		if (strstr(buf, item))
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, n - used, "%s%s%s", used ? "; " : "", item,
			 g->calibrated ? "calibrated" : "datasheet");
	}
}

/* --- a sink that passes everything through and taps the summary ------------- */

typedef struct tap {
	rec_sink sink;
	rec_sink *inner;
	const runner_opts *o;
} tap;

static int tap_declare(void *c, const char *p, const char *u, const char *d, size_t w,
		       fs_error *err)
{
	tap *t = c;
	return t->inner->declare(t->inner->ctx, p, u, d, w, err);
}
static void tap_set(void *c, int id, size_t col, double v)
{
	tap *t = c;
	t->inner->set(t->inner->ctx, id, col, v);
}
static int tap_commit(void *c, double t_s, fs_error *err)
{
	tap *t = c;
	return t->inner->commit(t->inner->ctx, t_s, err);
}
static int tap_event(void *c, double t_s, const char *k, const char *s, double v, const char *u,
		     const char *d, fs_error *err)
{
	tap *t = c;
	return t->inner->event(t->inner->ctx, t_s, k, s, v, u, d, err);
}
static int tap_summary(void *c, const char *name, double v, const char *u, const char *d,
		       fs_error *err)
{
	tap *t = c;
	int rc = t->inner->summary(t->inner->ctx, name, v, u, d, err);
	if (!rc)
		t->o->on_summary(t->o->summary_ctx, name, v, u);
	return rc;
}
static int tap_request(void *c, const rec_request *row, fs_error *err)
{
	tap *t = c;
	return rec_request_row(t->inner, row, err);
}
static int tap_classes(void *c, const char *const *names, size_t n, fs_error *err)
{
	tap *t = c;
	return rec_classes(t->inner, names, n, err);
}

/* --- the run ------------------------------------------------------------------ */

typedef struct tick_ctx {
	rec_sink *sink;
	bool progress;
	double wall0, last_print;
	sim_time end;
} tick_ctx;

static int on_tick(sim *s, void *ctx, sim_time now, fs_error *err)
{
	tick_ctx *tc = ctx;
	int r = rec_commit(tc->sink, sim_to_s(now), err);
	if (r)
		return r;
	if (tc->progress) {
		double w = wall_now();
		if (w - tc->last_print >= 0.5) {
			double el = w - tc->wall0;
			fprintf(stderr, "\r  simulated %9.1f / %.1f s   wall %7.1f s   %6.2f M events/s ",
				sim_to_s(now), sim_to_s(tc->end), el,
				el > 0 ? (double)sim_events_processed(s) / el / 1e6 : 0.0);
			tc->last_print = w;
		}
	}
	return FS_OK;
}

int runner_run(const scenario *sc, const runner_opts *o, run_summary *sum, fs_error *err)
{
	memset(sum, 0, sizeof *sum);
	sum->sc = sc;
	sum->output = o->output;
	char figures[1024];
	runner_gpu_figures(sc, figures, sizeof figures);
	recorder_meta meta = { .gpu_figures = figures,
			       .version = FS_VERSION,
			       .git_revision = FS_GIT_REV,
			       .scenario_name = sc->name,
			       .scenario_file = o->scenario_file ? o->scenario_file : "",
			       .seed = sc->seed,
			       .replication = sc->replication,
			       .tick_s = sc->tick_s,
			       .scenario_given = sc->text_given,
			       .scenario_resolved = sc->text_resolved };
	recorder_opts ropts = { .compression = sc->output.compression, .chunk_rows = 1024 };
	recorder *rec = NULL;
	/* the workload reads its traces first: a bad trace stops the run before any
	 * file is created */
	workload *wl = NULL;
	int rc = sc->has_serving ? workload_create(sc->classes, sc->n_classes, sc->seed,
						   sc->replication, &wl, err)
				 : FS_OK;
	if (!rc && o->output)
		rc = recorder_open(o->output, &meta, &ropts, &rec, err);
	if (rc) {
		workload_destroy(wl);
		return rc;
	}
	rec_sink *sink = rec ? recorder_sink(rec) : rec_null();
	tap tp = { .sink = { &tp, tap_declare, tap_set, tap_commit, tap_event, tap_summary,
			     tap_request, tap_classes },
		   .inner = sink,
		   .o = o };
	if (o->on_summary)
		sink = &tp.sink;

	sim *s = sim_create(1024);
	station *st = NULL;
	serving *sv = NULL;
	facility *fac = NULL;
	faults *flt = NULL;
	if (!s) {
		workload_destroy(wl);
		recorder_abort(rec);
		return fs_error_msg(err, FS_ERR_NOMEM, "cannot create the event engine");
	}
	if (sc->has_station)
		rc = station_create(s, &sc->station, sc->seed, sc->replication, sc->warmup_s,
				    sc->duration_s, sink, &st, err);
	if (!rc && sc->has_serving)
		rc = serving_create(s, &sc->serving, sc->pool_hw, wl, sc->seed, sc->replication,
				    sc->warmup_s, sink, &sv, err);
	/* the facility ticks after the serving model (registration order) */
	if (!rc && sc->has_site)
		rc = facility_create(s, &sc->site, sc->rack_list, sc->n_rack_list, sc->rack_gpus, sv,
				     sc->warmup_s, sink, &fac, err);
	/* failures drive both (and tick after them) */
	if (!rc && sc->has_faults)
		rc = faults_create(s, &sc->faults, sc->rack_list, sc->n_rack_list, sv, fac, sc->seed,
				   sc->replication, sc->warmup_s, sink, &flt, err);
	tick_ctx ctx = { .sink = sink,
			 .progress = o->progress,
			 .end = sim_from_s(sc->warmup_s + sc->duration_s) };
	if (!rc) {
		sim_set_tick(s, sim_from_s(sc->tick_s), 0, on_tick, &ctx);
		if (o->running)
			o->running(s, o->running_ctx);
		ctx.wall0 = ctx.last_print = wall_now();
		rc = sim_run(s, ctx.end, err);
		if (o->running)
			o->running(NULL, o->running_ctx);
		sum->wall_s = wall_now() - ctx.wall0;
		sum->events = sim_events_processed(s);
		if (ctx.progress)
			fputc('\n', stderr);
	}
	if (!rc && st) {
		station_result_get(st, &sum->st);
		sum->has_station = true;
		rc = station_result_record(&sum->st, sink, err);
	}
	if (!rc && sv) {
		serving_result(sv, &sum->sv);
		sum->has_serving = true;
		rc = serving_result_record(&sum->sv, sink, err);
	}
	if (!rc && fac) {
		facility_result(fac, &sum->fac);
		sum->has_site = true;
		rc = facility_result_record(&sum->fac, sink, err);
	}
	if (!rc && flt) {
		faults_result(flt, &sum->flt);
		sum->has_faults = true;
		rc = faults_result_record(&sum->flt, sink, err);
	}
	faults_destroy(flt);
	facility_destroy(fac);
	if (rc || !sv) {
		serving_destroy(sv);
		sv = NULL;
	}
	sum->sv_model = sv; /* owns the class results until runner_summary_free */
	workload_destroy(wl);
	station_destroy(st);
	sim_destroy(s);
	if (rc) {
		recorder_abort(rec);
		return rc;
	}
	rc = recorder_close(rec, err);
	if (rc)
		runner_summary_free(sum);
	return rc;
}

void runner_summary_free(run_summary *sum)
{
	serving_destroy(sum->sv_model);
	sum->sv_model = NULL;
}
