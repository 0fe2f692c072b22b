/*
 * main.c - the factorysim command line.
 *
 *   factorysim run SCENARIO [-o FILE] [--seed N] [--set PATH=VALUE]... [--summary text|json]
 *                           [--quiet] [--keep-partial] [--memory-limit SIZE] [--force]
 *   factorysim validate SCENARIO [--set PATH=VALUE]... [--resolved]
 *   factorysim version
 *   factorysim help [VERB]
 *
 * This is the only place that prints errors and chooses exit codes: 0 success,
 * 1 the run failed (or was interrupted), 2 bad usage or bad input.  Everything
 * below returns an fs_code and fills an fs_error.
 *
 * A run: load and validate the scenario (nothing runs on any error), estimate
 * its peak memory and refuse it above the limit (run/memest.h), open the
 * HDF5 recorder under a temporary name, build the models on the engine, run
 * warm-up + duration with a control tick that commits one row of every series,
 * write the summary, and only then rename the file into place.  SIGINT and
 * SIGTERM stop the engine after the current event; the temporary file is then
 * removed and an earlier file under the output name is left as it was, or,
 * with --keep-partial, closed and renamed as a file marked partial.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "cli.h"
#include "catalog.h"
#include "commands.h"
#include "error.h"
#include "facility.h"
#include "memest.h"
#include "recorder.h"
#include "runner.h"
#include "sweep_cli.h"
#include "scenario.h"
#include "sim.h"
#include "serving.h"
#include "station.h"
#include "threads.h"
#include "version.h"
#include "workload.h" /* generated: FS_GIT_REV */

#ifndef FS_VERSION
#define FS_VERSION "0.0.0"
#endif
#ifndef FS_GIT_REV
#define FS_GIT_REV "unknown"
#endif

#define MAX_SETS 256

static sim *volatile g_running; /* the engine a signal should stop */
static volatile sig_atomic_t g_stop; /* a signal came, maybe before the engine ran */

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_running)
		sim_stop(g_running);
}

/* --- help ----------------------------------------------------------------------- */

typedef struct verb_help {
	const char *name, *usage, *text;
} verb_help;

static const verb_help HELP[] = {
	{ "run",
	  "factorysim run SCENARIO [-o FILE] [--seed N] [--set PATH=VALUE]... "
	  "[--summary text|json] [--quiet] [--keep-partial] [--memory-limit SIZE] [--force]",
	  "Run a scenario and write its HDF5 file.\n"
	  "  -o FILE            output file (default: the scenario's output.file, else NAME.h5)\n"
	  "  --seed N           override the scenario's seed\n"
	  "  --set PATH=VALUE   override any scenario key, e.g. --set duration=30min\n"
	  "                     or --set station.servers=8; validated like the file\n"
	  "  --summary FORMAT   print the summary as text (default) or one JSON object\n"
	  "  --quiet            no progress and no summary table\n"
	  "  --keep-partial     on SIGINT/SIGTERM, keep the file so far, marked partial\n"
	  "                     (root attributes complete = 0, partial = 1, stopped_at_s)\n"
	  "  --memory-limit SIZE  refuse a run whose estimated peak memory is above SIZE\n"
	  "                     (e.g. 8GB, 512MiB; default 75 % of physical memory)\n"
	  "  --force            run whatever the memory estimate says\n"
	  "The file is written under a temporary name (FILE.tmp.PID) and renamed when the\n"
	  "run succeeds; an interrupted run leaves an earlier FILE untouched (unless\n"
	  "--keep-partial), and a killed one at most a stray FILE.tmp.PID, which the next\n"
	  "run to FILE removes when its process is gone.\n"
	  "Exit status: 0 ok, 1 the run failed or was interrupted, 2 bad usage or input.\n" },
	{ "validate", "factorysim validate SCENARIO [--set PATH=VALUE]... [--resolved]",
	  "Check a scenario without running it.  With --resolved, print the scenario with\n"
	  "every default filled in and every quantity in SI units.\n" },
	{ "calibrate", "factorysim calibrate TRACE.csv... --gpu NAME -o CALIBRATED.yaml [--report FILE]",
	  "Fit the iteration-time and power models of one catalog GPU to microbenchmark\n"
	  "traces (calibration/README.md) with GSL's nonlinear least squares, and write a\n"
	  "YAML that a scenario can `include:` to use the fitted figures.\n"
	  "  --gpu NAME         the catalog GPU the traces were measured on (e.g. h200)\n"
	  "  -o FILE            the calibrated GPU entry (YAML)\n"
	  "  --report FILE      the fit report: parameters with uncertainties, R^2, worst\n"
	  "                     rows (default: printed to stdout)\n" },
	{ "sweep",
	  "factorysim sweep SWEEP.yaml [-o OUT.h5] [-j THREADS] [--shard I/N] [--plan] [--quiet]",
	  "Run every design point x replication of a sweep file (examples/sweep/README.md)\n"
	  "and write one HDF5 file with the /sweep table, per-point means and 95 %\n"
	  "confidence intervals, and each run's series if the sweep keeps them.\n"
	  "  -o OUT.h5          the result (default NAME.h5); runs go to OUT.h5.d/\n"
	  "  -j THREADS         runs at once on this node (0: every core; default 1)\n"
	  "  --shard I/N        run the I-th of N shares (default from Slurm's\n"
	  "                     SLURM_ARRAY_TASK_ID/COUNT); join with `factorysim merge`\n"
	  "  --plan             print the points, run count and a time estimate; run nothing\n"
	  "Under mpirun (a build with MPI=1), rank 0 hands out runs and writes OUT.\n"
	  "An interrupted sweep resumes: the same command skips the runs already done.\n" },
	{ "merge", "factorysim merge SHARD.h5... -o OUT.h5",
	  "Join the shard files of one sweep (from --shard) into one result file.\n" },
	{ "catalog", "factorysim catalog [gpus|racks|models]",
	  "List the built-in hardware and LLM catalog with its figures.  Every entry can\n"
	  "be overridden, and new ones added, under a scenario's `catalog:` key.\n" },
	{ "compare", COMPARE_USAGE, COMPARE_HELP },
	{ "report", REPORT_USAGE, REPORT_HELP },
	{ "export", EXPORT_USAGE, EXPORT_HELP },
	{ "version", "factorysim version", "Print the version and git revision.\n" },
	{ "help", "factorysim help [VERB]", "Show the verbs, or one verb's options.\n" },
};

static const verb_help *find_help(const char *verb)
{
	for (size_t i = 0; i < sizeof HELP / sizeof HELP[0]; i++)
		if (!strcmp(HELP[i].name, verb))
			return &HELP[i];
	return NULL;
}

static void print_usage(FILE *f)
{
	fprintf(f, "factorysim %s - a discrete-event digital twin of an AI factory\n\nusage:\n",
		FS_VERSION);
	for (size_t i = 0; i < sizeof HELP / sizeof HELP[0]; i++)
		fprintf(f, "  %s\n", HELP[i].usage);
	fprintf(f, "\nRun 'factorysim help VERB' for a verb's options.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 1) {
		print_usage(stdout);
		return 0;
	}
	const verb_help *h = find_help(argv[0]);
	if (!h) {
		fprintf(stderr, "factorysim: unknown verb '%s'\n", argv[0]);
		print_usage(stderr);
		return 2;
	}
	printf("usage: %s\n\n%s", h->usage, h->text);
	return 0;
}

/* --- errors --------------------------------------------------------------------- */

static int usage_error(const char *verb, const char *fmt, const char *arg)
{
	fprintf(stderr, "factorysim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	const verb_help *h = find_help(verb);
	if (h)
		fprintf(stderr, "usage: %s\n", h->usage);
	return 2;
}

/* --- option parsing shared by run and validate ------------------------------------ */

typedef struct run_opts {
	const char *scenario;
	const char *output;
	const char *sets[MAX_SETS];
	size_t nsets;
	char seed_set[64];
	bool json, quiet, resolved;
	size_t memory_limit;  /* --memory-limit [B]; 0 = 75 % of physical memory */
	bool force;           /* --force: run whatever the memory estimate says */
	bool keep_partial;    /* --keep-partial: an interrupted run keeps its file */
} run_opts;

static int parse_opts(const char *verb, int argc, char **argv, run_opts *o)
{
	memset(o, 0, sizeof *o);
	bool is_run = !strcmp(verb, "run");
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--set") || (is_run && (!strcmp(a, "-o") || !strcmp(a, "--seed") ||
						       !strcmp(a, "--summary")))) {
			if (!v)
				return usage_error(verb, "option %s needs a value", a);
			i++;
			if (!strcmp(a, "--set")) {
				if (o->nsets >= MAX_SETS)
					return usage_error(verb, "too many --set options (%s)", v);
				if (!strchr(v, '='))
					return usage_error(verb, "--set takes PATH=VALUE, got '%s'", v);
				o->sets[o->nsets++] = v;
			} else if (!strcmp(a, "-o")) {
				if (!*v)
					return usage_error(verb, "-o needs a file name%s", "");
				o->output = v;
			} else if (!strcmp(a, "--seed")) {
				char *end;
				strtoull(v, &end, 10);
				if (!*v || *end || v[0] == '-')
					return usage_error(verb, "--seed takes a non-negative integer, "
								 "got '%s'",
							   v);
				snprintf(o->seed_set, sizeof o->seed_set, "seed=%s", v);
			} else {
				if (!strcmp(v, "json"))
					o->json = true;
				else if (strcmp(v, "text"))
					return usage_error(verb, "--summary takes text or json, got '%s'",
							   v);
			}
		} else if (is_run && !strcmp(a, "--memory-limit")) {
			if (!v || memest_parse_size(v, &o->memory_limit))
				return usage_error(verb, "--memory-limit takes a size such as 8GB or "
							 "512MiB, got '%s'",
						   v ? v : "");
			i++;
		} else if (is_run && !strcmp(a, "--force")) {
			o->force = true;
		} else if (is_run && !strcmp(a, "--keep-partial")) {
			o->keep_partial = true;
		} else if (is_run && !strcmp(a, "--quiet")) {
			o->quiet = true;
		} else if (!is_run && !strcmp(a, "--resolved")) {
			o->resolved = true;
		} else if (a[0] == '-' && a[1]) {
			return usage_error(verb, "unknown option '%s'", a);
		} else if (!o->scenario) {
			o->scenario = a;
		} else {
			return usage_error(verb, "unexpected argument '%s'", a);
		}
	}
	if (!o->scenario)
		return usage_error(verb, "no scenario file given%s", "");
	/* --seed is an override like any other, so it is validated the same way */
	if (o->seed_set[0]) {
		if (o->nsets >= MAX_SETS)
			return usage_error(verb, "too many --set options%s", "");
		o->sets[o->nsets++] = o->seed_set;
	}
	return 0;
}

/* --- validate ------------------------------------------------------------------- */

/* Options, then the scenario; on failure *status is the exit status. */
static bool load_for(const char *verb, int argc, char **argv, run_opts *o, scenario *sc,
		     int *status)
{
	*status = parse_opts(verb, argc, argv, o);
	if (*status)
		return false;
	fs_error err;
	fs_error_clear(&err);
	if (scenario_load(o->scenario, o->sets, o->nsets, sc, &err)) {
		*status = cli_report(&err);
		return false;
	}
	return true;
}

static int cmd_validate(int argc, char **argv)
{
	run_opts o;
	static scenario sc; /* large: keep it off the stack */
	int status;
	if (!load_for("validate", argc, argv, &o, &sc, &status))
		return status;
	if (o.resolved)
		fputs(sc.text_resolved ? sc.text_resolved : "", stdout);
	else {
		printf("%s: ok (scenario '%s', %.6g s after %.6g s warm-up)\n", o.scenario, sc.name,
		       sc.duration_s, sc.warmup_s);
		size_t est, lim = memest_default_limit();
		char terms[400], e[32], l[32];
		runner_estimate_memory(&sc, &est, terms, sizeof terms);
		memest_format(est, e, sizeof e);
		memest_format(lim, l, sizeof l);
		printf("memory: about %s (%zu B) at peak, estimated; run refuses above %s (75 %% of "
		       "physical memory) unless --force: %s\n",
		       e, est, l, terms);
	}
	scenario_clear(&sc);
	return 0;
}

/* --- catalog ---------------------------------------------------------------------- */

static int cmd_catalog(int argc, char **argv)
{
	if (argc > 1)
		return usage_error("catalog", "unexpected argument '%s'", argv[1]);
	const char *which = argc == 1 ? argv[0] : NULL;
	if (which && strcmp(which, "gpus") && strcmp(which, "racks") && strcmp(which, "models"))
		return usage_error("catalog", "unknown table '%s'; expected gpus, racks or models",
				   which);
	catalog c = { 0 };
	fs_error err;
	fs_error_clear(&err);
	if (catalog_load_builtin(&c, &err))
		return cli_report(&err);
	int rc = catalog_print(stdout, &c, which);
	catalog_clear(&c);
	return rc ? 1 : 0;
}

/* --- calibrate ------------------------------------------------------------------ */

static int cmd_calibrate(int argc, char **argv)
{
	const char *gpu_name = NULL, *out = NULL, *report_path = NULL;
	const char *traces[256];
	size_t ntr = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--gpu") || !strcmp(a, "-o") || !strcmp(a, "--report")) {
			if (!v)
				return usage_error("calibrate", "option %s needs a value", a);
			*(!strcmp(a, "--gpu") ? &gpu_name : !strcmp(a, "-o") ? &out : &report_path) = v;
			i++;
		} else if (a[0] == '-' && a[1]) {
			return usage_error("calibrate", "unknown option '%s'", a);
		} else if (ntr < 256) {
			traces[ntr++] = a;
		} else {
			return usage_error("calibrate", "too many trace files (%s)", a);
		}
	}
	if (!ntr)
		return usage_error("calibrate", "no trace file given%s", "");
	if (!gpu_name)
		return usage_error("calibrate", "--gpu NAME is required%s", "");
	if (!out)
		return usage_error("calibrate", "-o FILE is required%s", "");
	fs_error err;
	fs_error_clear(&err);
	catalog c = { 0 };
	if (catalog_load_builtin(&c, &err))
		return cli_report(&err);
	const gpu_spec *gpu = catalog_gpu(&c, gpu_name);
	if (!gpu) {
		fs_error_set(&err, FS_ERR_INPUT, NULL, 0, 0, "--gpu",
			     "unknown GPU '%s'; expected one of the catalog's GPUs (factorysim catalog "
			     "gpus)",
			     gpu_name);
		catalog_clear(&c);
		return cli_report(&err);
	}
	calib_trace all = { 0 };
	int rc = FS_OK;
	for (size_t i = 0; i < ntr && !rc; i++) {
		calib_trace t = { 0 };
		rc = calib_trace_read(traces[i], &t, &err);
		if (!rc)
			rc = calib_trace_append(&all, &t, &err);
		calib_trace_clear(&t);
	}
	calib_result res;
	if (!rc)
		rc = calib_fit_gpu(&all, gpu, &res, &err);
	if (!rc) {
		/* the YAML under a temporary name, renamed when complete */
		char tmp[1100];
		snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
		FILE *f = fopen(tmp, "w");
		if (!f)
			rc = fs_error_msg(&err, FS_ERR_IO, "%s: cannot create: %s", out, strerror(errno));
		else {
			int w = calib_write_yaml(f, &res, gpu, &all);
			if (fclose(f) || w)
				rc = fs_error_msg(&err, FS_ERR_IO, "%s: cannot write", out);
			else if (rename(tmp, out))
				rc = fs_error_msg(&err, FS_ERR_IO, "%s: cannot rename: %s", out,
						  strerror(errno));
			if (rc)
				remove(tmp);
		}
	}
	if (!rc) {
		FILE *rf = report_path ? fopen(report_path, "w") : stdout;
		if (!rf)
			rc = fs_error_msg(&err, FS_ERR_IO, "%s: cannot create: %s", report_path,
					  strerror(errno));
		else {
			calib_write_report(rf, &res, &all);
			if (report_path)
				fclose(rf);
			fprintf(stderr, "factorysim: wrote %s%s%s\n", out, report_path ? " and " : "",
				report_path ? report_path : "");
		}
	}
	calib_trace_clear(&all);
	catalog_clear(&c);
	return rc ? cli_report(&err) : 0;
}

/* --- run ------------------------------------------------------------------------ */

/* JSON string with escapes; scenario names are restricted, but be safe. */
static void json_class(FILE *f, const srv_class_result *c)
{
	fprintf(f, "{\"arrived\":%" PRIu64 ",\"finished\":%" PRIu64 ",\"late_unfinished\":%" PRIu64
		   ",\"slo_met\":%" PRIu64
		   ",\"preemptions\":%" PRIu64 ",\"cached_tokens\":%" PRIu64
		   ",\"input_tokens\":%" PRIu64 ",\"output_tokens\":%" PRIu64,
		c->arrived, c->finished, c->late_unfinished, c->slo_met, c->preemptions, c->cached_tokens,
		c->input_tokens,
		c->output_tokens);
	struct {
		const char *k;
		double v;
	} kv[] = { { "output_tokens_per_s", c->output_tokens_per_s },
		   { "input_tokens_per_s", c->input_tokens_per_s },
		   { "goodput_tokens_per_s", c->goodput_tokens_per_s },
		   { "slo_attainment", c->slo_attainment },
		   { "ttft_mean_s", c->ttft_mean_s },
		   { "ttft_p50_s", c->ttft_p50_s },
		   { "ttft_p90_s", c->ttft_p90_s },
		   { "ttft_p99_s", c->ttft_p99_s },
		   { "tpot_mean_s", c->tpot_mean_s },
		   { "tpot_p50_s", c->tpot_p50_s },
		   { "tpot_p90_s", c->tpot_p90_s },
		   { "tpot_p99_s", c->tpot_p99_s },
		   { "e2e_mean_s", c->e2e_mean_s },
		   { "e2e_p50_s", c->e2e_p50_s },
		   { "e2e_p99_s", c->e2e_p99_s },
		   { "queue_mean_s", c->queue_mean_s },
		   { "queue_p99_s", c->queue_p99_s } };
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		fprintf(f, ",\"%s\":", kv[i].k);
		cli_json_num(f, kv[i].v);
	}
	fputc('}', f);
}

static void json_faults(FILE *f, const flt_result *x)
{
	fprintf(f, ",\"reliability\":{\"failures\":{\"gpu\":%" PRIu64 ",\"tray\":%" PRIu64
		   ",\"switch_tray\":%" PRIu64 ",\"rack\":%" PRIu64 ",\"total\":%" PRIu64 "}"
		   ",\"retries\":%" PRIu64 ",\"rerouted\":%" PRIu64 ",\"remediations\":%" PRIu64
		   ",\"open\":%" PRIu64 ",\"spares_used\":%" PRIu64 ",\"maintenance_windows\":%" PRIu64,
		x->failures[HW_FAIL_GPU], x->failures[HW_FAIL_TRAY], x->failures[HW_FAIL_SWITCH_TRAY],
		x->failures[HW_FAIL_RACK], x->failures_total, x->retries, x->rerouted, x->remediations,
		x->open, x->spares_used, x->maintenance);
	struct {
		const char *k;
		double v;
	} kv[] = { { "availability", x->availability },
		   { "gpu_availability", x->gpu_availability },
		   { "mttr_s", x->mttr_s },
		   { "tokens_discarded", x->tokens_discarded },
		   { "capacity_lost_tokens", x->capacity_lost_tokens },
		   { "tokens_lost", x->tokens_lost },
		   { "slo_attainment_healthy", x->slo_healthy },
		   { "slo_attainment_degraded", x->slo_degraded },
		   { "finished_healthy", (double)x->finished_healthy },
		   { "finished_degraded", (double)x->finished_degraded },
		   { "degraded_s", x->degraded_s } };
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		fprintf(f, ",\"%s\":", kv[i].k);
		cli_json_num(f, kv[i].v);
	}
	fputc('}', f);
}

static void print_json(const run_summary *r)
{
	FILE *f = stdout;
	fputs("{\"scenario\":", f);
	cli_json_str(f, r->sc->name);
	fprintf(f, ",\"seed\":%" PRIu64 ",\"replication\":%" PRIu32, r->sc->seed, r->sc->replication);
	fputs(",\"duration_s\":", f);
	cli_json_num(f, r->sc->duration_s);
	fputs(",\"warmup_s\":", f);
	cli_json_num(f, r->sc->warmup_s);
	fputs(",\"output\":", f);
	cli_json_str(f, r->output);
	fprintf(f, ",\"events\":%" PRIu64 ",\"wall_s\":", r->events);
	cli_json_num(f, r->wall_s);
	fputs(",\"events_per_s\":", f);
	cli_json_num(f, r->wall_s > 0 ? (double)r->events / r->wall_s : NAN);
	if (r->has_station) {
		const station_result *s = &r->st;
		fprintf(f, ",\"station\":{\"arrived\":%" PRIu64 ",\"served\":%" PRIu64
			   ",\"dropped\":%" PRIu64,
			s->arrived, s->served, s->dropped);
		struct {
			const char *k;
			double v;
		} kv[] = { { "wait_mean_s", s->wait_mean_s },	  { "wait_ci95_s", s->wait_ci95_s },
			   { "wait_p50_s", s->wait_p50_s },	  { "wait_p99_s", s->wait_p99_s },
			   { "sojourn_mean_s", s->sojourn_mean_s }, { "utilization", s->utilization },
			   { "queue_mean", s->queue_mean },	  { "wait_theory_s", s->erlang_c_wait_s } };
		for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
			fprintf(f, ",\"%s\":", kv[i].k);
			cli_json_num(f, kv[i].v);
		}
		fputc('}', f);
	}
	if (r->has_serving) {
		const srv_result *v = &r->sv;
		fprintf(f, ",\"serving\":{\"replicas\":%" PRIu64 ",\"gpus\":%" PRIu64
			   ",\"iterations\":%" PRIu64 ",\"stretches\":%" PRIu64 ",\"dropped\":%" PRIu64
			   ",\"shed\":%" PRIu64 ",\"deferred\":%" PRIu64
			   ",\"perf_model\":\"%s\",\"kv_occupancy_mean\":",
			v->replicas, v->gpus, v->iterations, v->stretches, v->dropped, v->shed, v->deferred,
			v->calibrated ? "calibrated" : "datasheet roofline (uncalibrated)");
		cli_json_num(f, v->kv_occupancy_mean);
		char figures[1024];
		runner_gpu_figures(r->sc, figures, sizeof figures);
		fputs(",\"gpu_figures\":", f);
		cli_json_str(f, figures);
		fputs(",\"overall\":", f);
		json_class(f, &v->overall);
		fputs(",\"classes\":{", f);
		for (size_t i = 0; i < v->n_classes; i++) {
			if (i)
				fputc(',', f);
			cli_json_str(f, v->classes[i].name);
			fputc(':', f);
			json_class(f, &v->classes[i]);
		}
		fputs("}}", f);
	}
	if (r->has_site) {
		const fac_result *p = &r->fac;
		struct {
			const char *k;
			double v;
		} kv[] = { { "tokens_per_s", p->tokens_per_s },
			   { "tokens_per_s_per_mw_it", p->tokens_per_s_per_mw_it },
			   { "tokens_per_s_per_mw_facility", p->tokens_per_s_per_mw_facility },
			   { "tokens_per_s_per_mw_provisioned", p->tokens_per_s_per_mw_provisioned },
			   { "tokens_per_mwh", p->tokens_per_mwh },
			   { "j_per_token", p->j_per_token },
			   { "it_power_mean_w", p->it_mean_w },
			   { "it_power_peak_w", p->it_peak_w },
			   { "facility_power_mean_w", p->facility_mean_w },
			   { "facility_power_peak_w", p->facility_peak_w },
			   { "grid_power_peak_w", p->grid_peak_w },
			   { "provisioned_w", p->budget_w },
			   { "stranded_power_mean_w", p->stranded_mean_w },
			   { "stranded_power_peak_w", p->stranded_peak_w },
			   { "pue", p->pue },
			   { "cooling_overhead_fixed", p->cooling_overhead },
			   { "energy_it_j", p->e_it_j },
			   { "energy_gpu_j", p->e_gpu_j },
			   { "energy_losses_j", p->e_loss_j },
			   { "energy_cooling_j", p->e_cool_j },
			   { "energy_facility_j", p->e_facility_j },
			   { "energy_grid_j", p->e_grid_j },
			   { "battery_out_j", p->battery_out_j },
			   { "battery_in_j", p->battery_in_j },
			   { "cost_energy", p->energy_cost },
			   { "cost_capex", p->capex_cost },
			   { "cost_opex", p->opex_cost },
			   { "cost_per_million_tokens", p->cost_per_mtok },
			   { "over_budget_s", p->over_budget_s },
			   { "deferring_s", p->deferring_s },
			   { "max_over_budget", p->max_over_budget } };
		fprintf(f, ",\"power\":{\"tokens\":%" PRIu64 ",\"trips\":%" PRIu64 ",\"alarms\":%" PRIu64,
			p->tokens, p->trips, p->alarms);
		for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
			fprintf(f, ",\"%s\":", kv[i].k);
			cli_json_num(f, kv[i].v);
		}
		if (p->has_cooling) {
			struct {
				const char *k;
				double v;
			} ck[] = { { "energy_cdu_pumps_j", p->e_cdu_pump_j },
				   { "energy_facility_pumps_j", p->e_fac_pump_j },
				   { "energy_rejection_fans_j", p->e_rej_fan_j },
				   { "energy_trim_chiller_j", p->e_chiller_j },
				   { "energy_crah_fans_j", p->e_crah_j },
				   { "energy_air_chiller_j", p->e_chw_j },
				   { "water_kg", p->water_kg },
				   { "compressor_hours", p->compressor_s / 3600 },
				   { "throttled_rack_hours", p->throttled_rack_s / 3600 },
				   { "throttle_tokens_lost", p->throttle_tokens_lost },
				   { "gpu_temperature_max_c", p->gpu_temp_max_c } };
			fprintf(f, ",\"cooling\":{\"thermal_trips\":%" PRIu64, p->thermal_trips);
			for (size_t i = 0; i < sizeof ck / sizeof ck[0]; i++) {
				fprintf(f, ",\"%s\":", ck[i].k);
				cli_json_num(f, ck[i].v);
			}
			fputc('}', f);
		}
		fputs(",\"grid_events\":[", f);
		for (size_t i = 0; i < p->n_events && i < FAC_RESULT_EVENTS; i++) {
			const fac_event_result *e = &p->events[i];
			fprintf(f, "%s{\"start_s\":", i ? "," : "");
			cli_json_num(f, e->start_s);
			fputs(",\"end_s\":", f);
			cli_json_num(f, e->end_s);
			fputs(",\"asked_w\":", f);
			cli_json_num(f, e->asked_w);
			fputs(",\"reduced_w\":", f);
			cli_json_num(f, e->reduced_w);
			fputs(",\"compliance\":", f);
			cli_json_num(f, e->compliance);
			fputs(",\"tokens_lost\":", f);
			cli_json_num(f, e->tokens_lost);
			fputs(",\"slo_before\":", f);
			cli_json_num(f, e->slo_before);
			fputs(",\"slo_during\":", f);
			cli_json_num(f, e->slo_during);
			fprintf(f, ",\"complete\":%s}", e->complete ? "true" : "false");
		}
		fputs("]}", f);
	}
	if (r->has_faults)
		json_faults(f, &r->flt);
	fputs("}\n", f);
}

static void text_class(const srv_class_result *c)
{
	printf("  %-14s %9" PRIu64 " %11.1f %11.1f %8.3f %8.3f %8.1f %8.1f %6.1f %%\n", c->name,
	       c->finished, c->output_tokens_per_s, c->goodput_tokens_per_s, c->ttft_p50_s,
	       c->ttft_p99_s, 1e3 * c->tpot_p50_s, 1e3 * c->tpot_p99_s, 100 * c->slo_attainment);
}

static void print_text(const run_summary *r)
{
	printf("scenario      %s (seed %" PRIu64 ", replication %" PRIu32 ")\n", r->sc->name,
	       r->sc->seed, r->sc->replication);
	printf("simulated     %.6g s after %.6g s warm-up, %" PRIu64 " events in %.3f s wall "
	       "(%.2f M events/s)\n",
	       r->sc->duration_s, r->sc->warmup_s, r->events, r->wall_s,
	       r->wall_s > 0 ? (double)r->events / r->wall_s / 1e6 : 0.0);
	if (r->has_station) {
		const station_result *s = &r->st;
		printf("station       %d servers, arrivals %.6g /s, mean service %.6g s\n",
		       r->sc->station.servers, r->sc->station.arrival_rate,
		       r->sc->station.service_mean_s);
		printf("  requests    %" PRIu64 " arrived, %" PRIu64 " served, %" PRIu64 " dropped\n",
		       s->arrived, s->served, s->dropped);
		printf("  wait        mean %.4g s +/- %.2g (95 %%), p50 %.4g s, p99 %.4g s\n",
		       s->wait_mean_s, s->wait_ci95_s, s->wait_p50_s, s->wait_p99_s);
		if (isfinite(s->erlang_c_wait_s))
			printf("  theory      mean wait %.4g s (%s)\n", s->erlang_c_wait_s,
			       r->sc->station.servers == 1 &&
					       r->sc->station.service_dist == STATION_DETERMINISTIC
				       ? "M/D/1, Pollaczek-Khinchine"
				       : "M/M/c, Erlang C");
		printf("  utilization %.2f %%, mean queue %.4g\n", 100 * s->utilization,
		       s->queue_mean);
	}
	if (r->has_serving) {
		const srv_result *v = &r->sv;
		printf("serving       %" PRIu64 " replicas on %" PRIu64 " GPUs; perf model: %s\n",
		       v->replicas, v->gpus,
		       v->calibrated ? "calibrated" : "datasheet roofline (uncalibrated)");
		printf("  %-14s %9s %11s %11s %8s %8s %8s %8s %8s\n", "class", "finished", "out tok/s",
		       "goodput/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "SLO");
		printf("  %-14s %9s %11s %11s %8s %8s %8s %8s %8s\n", "", "", "", "", "s", "s", "ms",
		       "ms", "");
		for (size_t i = 0; i < v->n_classes; i++)
			text_class(&v->classes[i]);
		if (v->n_classes > 1)
			text_class(&v->overall);
		printf("  KV occupancy %.1f %% (mean), %" PRIu64 " iterations in %" PRIu64
		       " events of the engine\n",
		       100 * v->kv_occupancy_mean, v->iterations, v->stretches);
	}
	if (r->has_site) {
		const fac_result *p = &r->fac;
		printf("power         IT %.3f MW mean (%.3f peak), facility %.3f MW (%.3f peak), "
		       "provisioned %.3f MW\n",
		       p->it_mean_w / 1e6, p->it_peak_w / 1e6, p->facility_mean_w / 1e6,
		       p->facility_peak_w / 1e6, p->budget_w / 1e6);
		printf("  tokens/s per MW   %.0f IT, %.0f facility, %.0f provisioned;  %.4g tokens/MWh, "
		       "%.3g J/token\n",
		       p->tokens_per_s_per_mw_it, p->tokens_per_s_per_mw_facility,
		       p->tokens_per_s_per_mw_provisioned, p->tokens_per_mwh, p->j_per_token);
		if (p->has_cooling)
			printf("  PUE %.3f (boundary: the site), chain losses %.2f %% of IT\n", p->pue,
			       p->e_it_j > 0 ? 100 * p->e_loss_j / p->e_it_j : 0);
		else
			printf("  PUE %.3f (cooling a fixed %.0f %% of IT: no plant model), "
			       "chain losses %.2f %% of IT\n",
			       p->pue, 100 * p->cooling_overhead,
			       p->e_it_j > 0 ? 100 * p->e_loss_j / p->e_it_j : 0);
		if (p->has_cooling) {
			double mwh = 3.6e9;
			printf("cooling       pumps %.3f MWh, rejection fans %.3f MWh, trim chiller %.3f MWh "
			       "(%.1f compressor hours), air side %.3f MWh, water %.1f m^3\n",
			       (p->e_cdu_pump_j + p->e_fac_pump_j) / mwh, p->e_rej_fan_j / mwh,
			       p->e_chiller_j / mwh, p->compressor_s / 3600,
			       (p->e_crah_j + p->e_chw_j) / mwh, p->water_kg / 1000);
			printf("  hottest GPU %.1f degC; throttled %.2f rack-hours, %" PRIu64
			       " thermal trips, about %.3g tokens lost to throttling\n",
			       p->gpu_temp_max_c, p->throttled_rack_s / 3600, p->thermal_trips,
			       p->throttle_tokens_lost);
		}
		printf("  stranded %.3f MW (mean), cost $%.3f per million tokens (energy $%.0f, "
		       "capital $%.0f, opex $%.0f)\n",
		       p->stranded_mean_w / 1e6, p->cost_per_mtok, p->energy_cost, p->capex_cost,
		       p->opex_cost);
		if (p->trips || p->over_budget_s > 0)
			printf("  %" PRIu64 " trips, %.0f s over budget (worst %.1f %%)\n", p->trips,
			       p->over_budget_s, 100 * p->max_over_budget);
		for (size_t i = 0; i < p->n_events && i < FAC_RESULT_EVENTS; i++) {
			const fac_event_result *e = &p->events[i];
			printf("  grid event %zu  %.0f-%.0f s: asked %.3f MW, reduced %.3f MW (%.0f %%), "
			       "tokens lost %.3g, SLO %.1f %% during vs %.1f %% before\n",
			       i, e->start_s, e->end_s, e->asked_w / 1e6, e->reduced_w / 1e6,
			       100 * e->compliance, e->tokens_lost, 100 * e->slo_during,
			       100 * e->slo_before);
		}
	}
	if (r->has_faults) {
		const flt_result *x = &r->flt;
		printf("reliability   availability %.4f %% (GPU-time of replicas up), GPUs healthy %.4f %%\n",
		       100 * x->availability, 100 * x->gpu_availability);
		printf("  failures    %" PRIu64 " (GPU %" PRIu64 ", tray %" PRIu64 ", switch tray %" PRIu64
		       ", rack %" PRIu64 "); MTTR %.2f h over %" PRIu64 " remediations (%" PRIu64
		       " still open), %" PRIu64 " spares used\n",
		       x->failures_total, x->failures[HW_FAIL_GPU], x->failures[HW_FAIL_TRAY],
		       x->failures[HW_FAIL_SWITCH_TRAY], x->failures[HW_FAIL_RACK], x->mttr_s / 3600,
		       x->remediations, x->open, x->spares_used);
		printf("  tokens lost %.4g (%.4g discarded with lost KV + %.4g capacity estimate); %" PRIu64
		       " retries, %" PRIu64 " re-routed\n",
		       x->tokens_lost, x->tokens_discarded, x->capacity_lost_tokens, x->retries,
		       x->rerouted);
		printf("  SLO         %.2f %% healthy vs %.2f %% degraded (%.2f h degraded)\n",
		       100 * x->slo_healthy, 100 * x->slo_degraded, x->degraded_s / 3600);
	}
	printf("output        %s\n", r->output);
}

static void set_running(sim *s, void *ctx)
{
	(void)ctx;
	g_running = s;
	if (s && g_stop) /* the signal came while the run was being set up */
		sim_stop(s);
}

static int cmd_run(int argc, char **argv)
{
	run_opts o;
	static scenario sc; /* large: keep it off the stack */
	int rc;
	if (!load_for("run", argc, argv, &o, &sc, &rc))
		return rc;
	fs_error err;
	fs_error_clear(&err);
	if (memest_check(&sc, o.memory_limit, o.force, &err)) {
		int status = cli_report(&err);
		scenario_clear(&sc);
		return status;
	}

	char def_out[sizeof sc.name + 8];
	snprintf(def_out, sizeof def_out, "%s.h5", sc.name);
	const char *out = o.output ? o.output : sc.output.file[0] ? sc.output.file : def_out;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	run_summary sum;
	runner_opts ro = { .scenario_file = o.scenario,
			   .output = out,
			   .progress = !o.quiet && isatty(STDERR_FILENO),
			   .running = set_running,
			   .keep_partial = o.keep_partial };
	rc = runner_run(&sc, &ro, &sum, &err);
	if (rc) {
		int status = cli_report(&err);
		scenario_clear(&sc);
		return status;
	}
	if (o.json)
		print_json(&sum);
	else if (!o.quiet)
		print_text(&sum);
	runner_summary_free(&sum);
	scenario_clear(&sc);
	return 0;
}

int main(int argc, char **argv)
{
	threads_prefer_passive(argv); /* sleeping barrier waits (threads.h) */
	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(verb, "validate"))
		return cmd_validate(argc - 2, argv + 2);
	if (!strcmp(verb, "catalog"))
		return cmd_catalog(argc - 2, argv + 2);
	if (!strcmp(verb, "calibrate"))
		return cmd_calibrate(argc - 2, argv + 2);
	if (!strcmp(verb, "sweep"))
		return cmd_sweep(argc - 2, argv + 2);
	if (!strcmp(verb, "merge"))
		return cmd_merge(argc - 2, argv + 2);
	if (!strcmp(verb, "compare"))
		return cmd_compare(argc - 2, argv + 2);
	if (!strcmp(verb, "report"))
		return cmd_report(argc - 2, argv + 2);
	if (!strcmp(verb, "export"))
		return cmd_export(argc - 2, argv + 2);
	if (!strcmp(verb, "version") || !strcmp(verb, "--version")) {
		printf("factorysim %s (git %s)\n", FS_VERSION, FS_GIT_REV);
		return 0;
	}
	if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h"))
		return cmd_help(argc - 2, argv + 2);
	fprintf(stderr, "factorysim: unknown verb '%s'\n", verb);
	print_usage(stderr);
	return 2;
}
