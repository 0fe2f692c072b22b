/*
 * cmd_sweep.c - the `sweep` and `merge` verbs.
 *
 *   factorysim sweep SWEEP.yaml [-o OUT.h5] [-j THREADS] [--shard I/N] [--plan] [--quiet]
 *   factorysim merge SHARD.h5... -o OUT.h5
 *
 * Exit status: 0 ok, 1 a run failed or the sweep was interrupted (rerun to
 * resume), 2 bad usage or bad input.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "par.h"
#include "sweep.h"
#include "sweep_cli.h"
#include "sweepio.h"

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "factorysim: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nusage: factorysim sweep SWEEP.yaml [-o OUT.h5] [-j THREADS] "
			"[--shard I/N] [--plan] [--quiet]\n"
			"       factorysim merge SHARD.h5... -o OUT.h5\n");
	return 2;
}

static void on_signal(int sig)
{
	(void)sig;
	sweep_request_stop();
}

static bool parse_shard(const char *s, uint32_t *i, uint32_t *n)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s || *end != '/')
		return false;
	const char *b0 = end + 1;
	unsigned long b = strtoul(b0, &end, 10);
	if (end == b0 || *end || b == 0 || a >= b || b > 1000000)
		return false;
	*i = (uint32_t)a;
	*n = (uint32_t)b;
	return true;
}

static void print_plan(const sweep_plan *p, const sweep_opts *o)
{
	const sweep_spec *s = p->spec;
	static const char *const design[] = { "grid", "Latin hypercube", "Sobol" };
	uint32_t nsh = o->n_shards ? o->n_shards : 1;
	uint64_t mine = p->n_slots / nsh + (o->shard < p->n_slots % nsh ? 1 : 0), done = 0;
	char dir[1100];
	snprintf(dir, sizeof dir, "%s.d", o->output);
	for (uint64_t i = 0; i < mine; i++) {
		char path[1200];
		struct stat st;
		sweep_slot_path(p, dir, i * nsh + o->shard, path, sizeof path);
		if (stat(path, &st) == 0)
			done++;
	}
	int threads = o->threads > 0 ? o->threads : 1;
	printf("sweep         %s (%s)\n", s->name, s->file);
	printf("base          %s\n", s->base);
	printf("design        %s: %u points, %u feasible (%u ruled out by %zu constraint%s)\n",
	       design[s->design], p->n_design, p->n_points, p->n_design - p->n_points,
	       s->n_constraints, s->n_constraints == 1 ? "" : "s");
	printf("replications  %u (common random numbers: replication r of every point shares "
	       "its workload stream)\n",
	       s->replications);
	printf("runs          %llu", (unsigned long long)p->n_slots);
	if (nsh > 1)
		printf(", %llu in shard %u/%u", (unsigned long long)mine, o->shard, nsh);
	printf("; %llu already complete in %s, %llu to run\n", (unsigned long long)done, dir,
	       (unsigned long long)(mine - done));
	double total = p->est_run_s * (double)(mine - done);
	printf("estimate      ~%.2g s per run on one core; ~%.0f s of CPU, ~%.0f s wall with %d "
	       "thread%s (rough: from request and tick counts)\n",
	       p->est_run_s, total, total / threads, threads, threads == 1 ? "" : "s");
	printf("metrics       ");
	for (size_t k = 0; k < s->n_metrics; k++)
		printf("%s%s", k ? ", " : "", s->metrics[k].name);
	printf("\npoints\n  %8s", "point");
	for (size_t k = 0; k < s->n_params; k++)
		printf("  %-14s", s->params[k].name);
	printf("\n");
	for (uint32_t i = 0; i < p->n_points && i < 20; i++) {
		printf("  %8u", p->points[i].index);
		for (size_t k = 0; k < s->n_params; k++)
			printf("  %-14s", p->points[i].text[k]);
		printf("\n");
	}
	if (p->n_points > 20)
		printf("  ... %u more\n", p->n_points - 20);
}

int cmd_sweep(int argc, char **argv)
{
	const char *file = NULL, *out = NULL;
	sweep_opts o = { .threads = 1, .shard = 0, .n_shards = 1 };
	bool plan_only = false, shard_given = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool attached = !strncmp(a, "-j", 2) && a[2]; /* -j4 as make takes it */
		if (attached) {
			v = a + 2;
			a = "-j";
		}
		if (!strcmp(a, "-o") || !strcmp(a, "-j") || !strcmp(a, "--shard")) {
			if (!v)
				return usage("option %s needs a value", a);
			if (!attached)
				i++;
			if (!strcmp(a, "-o")) {
				out = v;
			} else if (!strcmp(a, "-j")) {
				char *end;
				long j = strtol(v, &end, 10);
				if (end == v || *end || j < 0 || j > 256)
					return usage("-j takes 0 (all cores) to 256 threads, got '%s'", v);
#ifdef _OPENMP
				o.threads = j ? (int)j : omp_get_num_procs();
#else
				o.threads = 1;
#endif
			} else {
				if (!parse_shard(v, &o.shard, &o.n_shards))
					return usage("--shard takes I/N with 0 <= I < N, got '%s'", v);
				shard_given = true;
			}
		} else if (!strcmp(a, "--plan")) {
			plan_only = true;
		} else if (!strcmp(a, "--quiet")) {
			o.quiet = true;
		} else if (a[0] == '-' && a[1]) {
			return usage("unknown option '%s'", a);
		} else if (!file) {
			file = a;
		} else {
			return usage("unexpected argument '%s'", a);
		}
	}
	if (!file)
		return usage("no sweep file given%s", "");
	/* a Slurm array task runs its share unless told otherwise */
	const char *tid = getenv("SLURM_ARRAY_TASK_ID"), *tcnt = getenv("SLURM_ARRAY_TASK_COUNT");
	if (!shard_given && tid && tcnt && *tid && *tcnt) {
		char buf[64];
		const char *tmin = getenv("SLURM_ARRAY_TASK_MIN");
		long id = strtol(tid, NULL, 10) - (tmin ? strtol(tmin, NULL, 10) : 0);
		snprintf(buf, sizeof buf, "%ld/%s", id, tcnt);
		if (!parse_shard(buf, &o.shard, &o.n_shards))
			return usage("cannot use SLURM_ARRAY_TASK_ID/COUNT as a shard (%s)", buf);
	}

	par_init(&argc, &argv);
	int rank = par_rank();
	o.use_mpi = par_size() > 1;
	fs_error err;
	fs_error_clear(&err);
	static sweep_spec spec;
	sweep_plan plan;
	memset(&plan, 0, sizeof plan);
	int rc = sweep_load(file, &spec, &err);
	if (!rc)
		rc = sweep_plan_make(&spec, &plan, &err);
	char def_out[SWEEP_NAME_LEN + 64];
	if (o.n_shards > 1)
		snprintf(def_out, sizeof def_out, "%s.shard%uof%u.h5", spec.name, o.shard, o.n_shards);
	else
		snprintf(def_out, sizeof def_out, "%s.h5", spec.name);
	o.output = out ? out : def_out;
	int status = 0;
	if (rc) {
		status = rank == 0 ? cli_report(&err) : 2;
	} else if (plan_only) {
		if (rank == 0)
			print_plan(&plan, &o);
	} else if (plan.n_points == 0) {
		if (rank == 0)
			fprintf(stderr, "factorysim: %s: every point is ruled out by the constraints; "
					"nothing to run\n",
				file);
		status = 2;
	} else {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sweep_stats st;
		rc = sweep_run(&plan, &o, &st, &err);
		if (rc) {
			status = rank == 0 ? cli_report(&err) : 1;
			if (status == 2)
				status = 1;
		} else if (rank == 0 && !o.quiet) {
			fprintf(stderr,
				"factorysim: sweep %s: %llu runs (%llu run now, %llu already complete) "
				"in %.1f s; wrote %s\n",
				spec.name, (unsigned long long)st.total, (unsigned long long)st.ran,
				(unsigned long long)st.skipped, st.wall_s, o.output);
		}
	}
	sweep_plan_clear(&plan);
	sweep_spec_clear(&spec);
	par_finalize();
	return status;
}

int cmd_merge(int argc, char **argv)
{
	const char *out = NULL;
	const char **in = calloc((size_t)argc + 1, sizeof *in);
	size_t n = 0;
	if (!in)
		return 1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o")) {
			if (i + 1 >= argc) {
				free(in);
				return usage("option %s needs a value", "-o");
			}
			out = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(in);
			return usage("unknown option '%s'", argv[i]);
		} else {
			in[n++] = argv[i];
		}
	}
	if (!n || !out) {
		free(in);
		return usage("merge needs shard files and -o OUT.h5%s", "");
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(in[i], out)) {
			free(in);
			return usage("the output %s is also an input", out);
		}
	fs_error err;
	fs_error_clear(&err);
	uint64_t rows = 0, expected = 0;
	int rc = sweepio_merge(in, n, out, &rows, &expected, &err);
	free(in);
	if (rc)
		return cli_report(&err);
	fprintf(stderr, "factorysim: merged %zu shard%s: %llu of %llu rows; wrote %s\n", n,
		n == 1 ? "" : "s", (unsigned long long)rows, (unsigned long long)expected, out);
	if (rows < expected)
		fprintf(stderr, "factorysim: warning: %llu rows are missing; merge again when the "
				"missing shards have run\n",
			(unsigned long long)(expected - rows));
	return 0;
}
