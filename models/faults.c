/*
 * faults.c - component failures, their remediation, maintenance windows and
 * rolling upgrades (see faults.h for the model and its rules).
 *
 * State.  Components live in one array, rack by rack: the rack itself, its
 * switch trays, its trays, its GPUs (group 0 then group 1).  Each replica of
 * the serving model keeps counters of what holds it: components failed
 * (and how many of those are still undetected), drains and holds (a tray
 * pulled, a rack in maintenance).  After every change, sync() derives what
 * the serving model must know (stopped? routable? share of GPUs powered) and
 * tells it only what changed; availability integrals are flushed before any
 * change, so they are exact (piecewise constant between events).
 *
 * Events fire after the serving model's iteration ends of the same
 * nanosecond (priority), so a stopped replica has no iteration end pending at
 * that instant.  Drains are checked at the control tick (the first tick at
 * which the drained replicas are empty pulls the part) and cut off by an
 * event at their deadline.
 */
#include "faults.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

#include "rng.h"

#define NIL UINT32_MAX
#define PRIO_FAULT 192

enum { EV_FAIL, EV_DETECT, EV_DRAIN_END, EV_RESTORE, EV_SPARE_BACK, EV_WIN_START, EV_WIN_DRAIN_END,
       EV_WIN_END, EV_COUNT };
enum { C_UP, C_FAILED, C_DRAINING, C_REPLACING, C_REPAIRING };
enum { W_PENDING, W_DRAINING, W_DOWN, W_DONE };

static const char *const class_label[HW_FAIL_CLASSES] = { "GPU", "tray", "switch tray", "rack" };

typedef struct comp {
	uint8_t cls, state;
	bool spare;              /* the current remediation swaps in a spare */
	uint32_t rack, index;    /* index within its class in the rack (GPU: slot) */
	uint32_t tray;           /* GPU and tray: global tray index; else NIL */
	uint32_t lives, fixes;   /* draws made: keys of its random numbers */
	sim_time t_fail;
	sim_handle ev;           /* its pending random failure */
	sim_handle drain_ev;     /* its drain deadline */
} comp;

typedef struct frep {
	uint32_t gpus;
	uint16_t failed, undetected, draining, held;
	bool up, stopped, routable;
	double powered;
} frep;

typedef struct fwin {
	double at_s, for_s;
	uint32_t first, n;
	int state;
	bool upgrade;
	sim_handle drain_ev;
	sim_time start;
} fwin;

struct faults {
	flt_params p;
	sim *s;
	int model;
	serving *sv;
	facility *fac;
	rec_sink *sink;
	sim_time warmup;
	uint32_t n_racks;
	const rack_spec *const *racks;

	comp *c;
	uint32_t n_comp;
	uint32_t *base;          /* [rack]: its first component (the rack itself) */
	uint32_t *tray_base;     /* [rack]: its first global tray index */
	uint32_t *tray_comp;     /* [global tray]: the tray's component */
	uint32_t *tray_pulled;   /* [global tray]: remediations that pulled it */
	uint32_t *rack_out;      /* [rack]: reasons it is out of service */
	uint32_t *rack_healthy;  /* [rack]: GPUs healthy and powered */
	uint32_t site_gpus, healthy;
	/* replicas: their GPUs' components, and the replicas of each GPU, tray, rack */
	frep *reps;
	uint32_t n_reps, rep_gpus, up_gpus, up_reps;
	uint32_t *rep_first, *rep_gpu;     /* CSR: replica -> GPU components */
	uint32_t *gpu_rep;                 /* [component]: the replica of a GPU, or NIL */
	uint32_t *tray_first, *tray_reps;  /* CSR: global tray -> replicas */
	uint32_t *rack_first, *rack_reps;  /* CSR: rack -> replicas */

	int spares[HW_FAIL_CLASSES];
	uint64_t seed_life, seed_fix, seed_shop;
	gsl_rng *g;
	uint32_t *draining;      /* components draining (checked at ticks) */
	uint32_t n_draining;
	fwin *win;
	uint32_t n_win;

	/* metrics */
	sim_time last;
	double int_up, int_healthy, degraded_s;
	uint64_t failures[HW_FAIL_CLASSES], retries, rerouted, remediations, spares_used, windows;
	double ttr_sum;
	uint64_t tok0, disc0;
	bool measuring;          /* the warm-up's tick has passed */
	bool degraded;
	uint64_t mark_fin, mark_met, fin[2], met[2]; /* [0] healthy, [1] degraded */
	uint32_t failed_now;     /* components failed, not yet restored */
	int id_reps, id_gpus, id_down, id_spares;
};

/* --- random numbers ---------------------------------------------------------------- */

double faults_weibull_scale(double mtbf_s, double shape)
{
	return mtbf_s / gsl_sf_gamma(1.0 + 1.0 / shape);
}

double faults_lifetime(const hw_lifetime *l, gsl_rng *g, bool residual)
{
	if (l->distribution == HW_LIFE_EXPONENTIAL)
		return gsl_ran_exponential(g, l->mtbf_s); /* memoryless: residual alike */
	double k = l->shape, lambda = faults_weibull_scale(l->mtbf_s, k);
	if (!residual)
		return gsl_ran_weibull(g, lambda, k);
	/* length-biased Weibull: (L / lambda)^k ~ Gamma(1 + 1/k, 1); the residual
	 * is a uniform share of it */
	double len = lambda * pow(gsl_ran_gamma(g, 1.0 + 1.0 / k, 1.0), 1.0 / k);
	return gsl_rng_uniform(g) * len;
}

/* The generator, keyed on (purpose, component, draw index). */
static gsl_rng *keyed(faults *f, uint64_t purpose, uint32_t ci, uint32_t n)
{
	uint64_t st = purpose ^ ((uint64_t)ci << 32 | n);
	uint64_t k = rng_splitmix64(&st);
	k ^= rng_splitmix64(&st);
	gsl_rng_set(f->g, (unsigned long)(k ? k : 1));
	return f->g;
}

static double repair_time(faults *f, double mean, uint64_t purpose, uint32_t ci, uint32_t n)
{
	if (f->p.rel.repair_distribution == HW_REPAIR_FIXED || !(mean > 0))
		return mean;
	return gsl_ran_exponential(keyed(f, purpose, ci, n), mean);
}

/* --- bookkeeping ---------------------------------------------------------------------- */

static double now_s(const faults *f)
{
	return sim_to_s(sim_now(f->s));
}

/* The time dt_s from now [ns], saturating far in the future. */
static sim_time later(const faults *f, double dt_s)
{
	sim_time now = sim_now(f->s);
	double left = sim_to_s(SIM_TIME_MAX - now);
	return dt_s < left ? now + sim_from_s(dt_s) : SIM_TIME_MAX;
}

/* Integrate up to now (after warm-up only). */
static void flush(faults *f)
{
	sim_time now = sim_now(f->s);
	sim_time a = f->last > f->warmup ? f->last : f->warmup;
	if (now > a) {
		double dt = sim_to_s(now - a);
		f->int_up += (double)f->up_gpus * dt;
		f->int_healthy += (double)f->healthy * dt;
		if (f->degraded)
			f->degraded_s += dt;
	}
	f->last = now;
}

/* Attribute the requests finished since the last mark to the fleet's state
 * (healthy or degraded) over that span. */
static void mark_slo(faults *f)
{
	uint64_t fin = 0, met = 0;
	if (f->sv)
		serving_finished_counts(f->sv, &fin, &met);
	f->fin[f->degraded] += fin - f->mark_fin;
	f->met[f->degraded] += met - f->mark_met;
	f->mark_fin = fin;
	f->mark_met = met;
}

static bool gpu_powered(const faults *f, uint32_t ci)
{
	const comp *c = &f->c[ci];
	return c->state == C_UP && f->c[f->tray_comp[c->tray]].state == C_UP &&
	       f->tray_pulled[c->tray] == 0 && f->c[f->base[c->rack]].state == C_UP &&
	       f->rack_out[c->rack] == 0;
}

static void recount_rack(faults *f, uint32_t k)
{
	const rack_spec *rs = f->racks[k];
	uint32_t first = f->base[k] + 1 + (uint32_t)rs->switch_trays + (uint32_t)rs->trays;
	uint32_t n = 0, g = 0;
	for (int gr = 0; gr < rs->n_groups; gr++)
		g += (uint32_t)rs->groups[gr].count;
	for (uint32_t i = 0; i < g; i++)
		n += gpu_powered(f, first + i);
	flush(f);
	f->healthy += n - f->rack_healthy[k];
	f->rack_healthy[k] = n;
}

static void sync(faults *f, uint32_t j)
{
	frep *r = &f->reps[j];
	bool stopped = r->failed > 0 || r->held > 0;
	bool routable = r->failed == r->undetected && r->held == 0 && r->draining == 0;
	bool up = r->failed == 0 && r->held == 0 && r->draining == 0;
	double powered = 1;
	if (stopped) {
		uint32_t n = 0;
		for (uint32_t i = f->rep_first[j]; i < f->rep_first[j + 1]; i++)
			n += gpu_powered(f, f->rep_gpu[i]);
		powered = r->gpus ? (double)n / r->gpus : 0;
	}
	if (up != r->up) {
		flush(f);
		r->up = up;
		if (up) {
			f->up_gpus += r->gpus;
			f->up_reps++;
		} else {
			f->up_gpus -= r->gpus;
			f->up_reps--;
		}
		bool degraded = f->up_gpus < f->rep_gpus;
		if (degraded != f->degraded) {
			mark_slo(f);
			f->degraded = degraded;
		}
	}
	if (routable != r->routable) {
		r->routable = routable;
		serving_replica_routable(f->sv, j, routable);
	}
	if (stopped != r->stopped || (stopped && powered != r->powered)) {
		r->stopped = stopped;
		r->powered = powered;
		serving_replica_stop(f->sv, j, stopped, powered);
	}
}

static void rack_out(faults *f, uint32_t k, bool out)
{
	if (out ? f->rack_out[k]++ == 0 : --f->rack_out[k] == 0)
		facility_set_rack_out(f->fac, k, out);
}

/* The replicas a failed component stops, as a CSR slice [*a, *b) of *list;
 * switch trays stop only the multi-GPU replicas of theirs (filtered by the
 * caller through multi_only). */
static void affected(const faults *f, const comp *c, const uint32_t **list, uint32_t *a,
		     uint32_t *b, bool *multi_only)
{
	static const uint32_t none = NIL;
	*multi_only = false;
	switch (c->cls) {
	case HW_FAIL_GPU: {
		uint32_t ci = (uint32_t)(c - f->c);
		*list = &f->gpu_rep[ci];
		*a = 0;
		*b = f->gpu_rep[ci] == NIL ? 0 : 1;
		if (!*b)
			*list = &none;
		return;
	}
	case HW_FAIL_TRAY:
		*list = f->tray_reps;
		*a = f->tray_first[c->tray];
		*b = f->tray_first[c->tray + 1];
		return;
	case HW_FAIL_SWITCH_TRAY:
		*multi_only = true;
		/* fall through */
	default:
		*list = f->rack_reps;
		*a = f->rack_first[c->rack];
		*b = f->rack_first[c->rack + 1];
	}
}

#define FOR_AFFECTED(f, c, j)                                                               \
	const uint32_t *j##_l;                                                              \
	uint32_t j##_a, j##_b;                                                              \
	bool j##_m;                                                                         \
	affected((f), (c), &j##_l, &j##_a, &j##_b, &j##_m);                                 \
	for (uint32_t j##_i = j##_a, j = 0; j##_i < j##_b; j##_i++)                         \
		if ((j = j##_l[j##_i]), !j##_m || (f)->reps[j].gpus > 1)

static void subject(const faults *f, const comp *c, char *buf, size_t n)
{
	if (c->cls == HW_FAIL_RACK)
		snprintf(buf, n, "rack %u", c->rack);
	else
		snprintf(buf, n, "rack %u %s %u", c->rack, class_label[c->cls], c->index);
	(void)f;
}

static void post(faults *f, sim_time t, int kind, uint64_t u, sim_handle *h)
{
	sim_event e = { .time = t, .model = (uint16_t)f->model, .kind = (uint8_t)kind,
			.prio = PRIO_FAULT, .u = u };
	sim_handle hh = sim_post(f->s, &e);
	if (h)
		*h = hh;
}

static uint64_t evict(faults *f, uint32_t j, bool running, bool kv_recovered)
{
	if (!f->sv)
		return 0;
	return serving_replica_evict(f->sv, j, running, kv_recovered);
}

static bool measuring(const faults *f)
{
	return sim_now(f->s) >= f->warmup;
}

static bool drained(const faults *f, const uint32_t *list, uint32_t a, uint32_t b)
{
	for (uint32_t k = a; k < b; k++)
		if (f->sv && serving_replica_requests(f->sv, list[k]) > 0)
			return false;
	return true;
}

static bool tray_drained(const faults *f, const comp *c)
{
	return drained(f, f->tray_reps, f->tray_first[c->tray], f->tray_first[c->tray + 1]);
}

static bool win_drained(const faults *f, const fwin *w)
{
	for (uint32_t k = w->first; k < w->first + w->n; k++)
		if (!drained(f, f->rack_reps, f->rack_first[k], f->rack_first[k + 1]))
			return false;
	return true;
}

/* --- the life of a component -------------------------------------------------------- */

static void schedule_life(faults *f, uint32_t ci, bool first)
{
	comp *c = &f->c[ci];
	const hw_lifetime *l = &f->p.rel.cls[c->cls];
	if (!f->p.enabled || !l->enabled)
		return;
	double t = faults_lifetime(l, keyed(f, f->seed_life, ci, c->lives++),
				   first && !f->p.new_fleet);
	sim_time at = later(f, t);
	if (at < SIM_TIME_MAX)
		post(f, at, EV_FAIL, ci, &c->ev);
}

static void pull(faults *f, uint32_t ci);

static bool tray_drained(const faults *f, const comp *c);

/* Detected: the affected replicas' requests are retried elsewhere and the
 * routers avoid them; a GPU or tray then waits for its tray to drain (its
 * other replicas take no new requests) before it is pulled. */
static void detect(faults *f, uint32_t ci)
{
	comp *c = &f->c[ci];
	if (c->state != C_FAILED)
		return;
	FOR_AFFECTED(f, c, j) {
		f->reps[j].undetected--;
		sync(f, j);
		uint64_t n = evict(f, j, true, f->p.kv_recovered);
		if (measuring(f))
			f->retries += n;
	}
	if ((c->cls == HW_FAIL_GPU || c->cls == HW_FAIL_TRAY) && f->p.rel.drain_s > 0) {
		c->state = C_DRAINING;
		for (uint32_t k = f->tray_first[c->tray]; k < f->tray_first[c->tray + 1]; k++) {
			uint32_t j = f->tray_reps[k];
			f->reps[j].draining++;
			sync(f, j);
			uint64_t n = evict(f, j, false, true);
			if (measuring(f))
				f->rerouted += n;
		}
		if (!tray_drained(f, c)) {
			f->draining[f->n_draining++] = ci;
			post(f, later(f, f->p.rel.drain_s), EV_DRAIN_END, ci, &c->drain_ev);
			return;
		}
	}
	pull(f, ci);
}

static void fail(faults *f, uint32_t ci)
{
	comp *c = &f->c[ci];
	if (c->state != C_UP)
		return;
	sim_cancel(f->s, c->ev);
	c->state = C_FAILED;
	c->t_fail = sim_now(f->s);
	f->failed_now++;
	if (measuring(f))
		f->failures[c->cls]++;
	if (c->cls == HW_FAIL_RACK)
		rack_out(f, c->rack, true);
	uint32_t down = 0;
	FOR_AFFECTED(f, c, j) {
		down += f->reps[j].up;
		f->reps[j].failed++;
		f->reps[j].undetected++;
		sync(f, j);
	}
	recount_rack(f, c->rack);
	char subj[64], d[160];
	subject(f, c, subj, sizeof subj);
	snprintf(d, sizeof d, "%s failure: %u replica(s) down, detected after %.0f s",
		 class_label[c->cls], down, f->p.rel.detect_s);
	fs_error err;
	rec_event(f->sink, now_s(f), "failure", subj, (double)down, "1", d, &err);
	if (f->p.rel.detect_s > 0)
		post(f, later(f, f->p.rel.detect_s), EV_DETECT, ci, NULL);
	else
		detect(f, ci);
}

/* Which spare pool a class draws on: GPUs come out with their tray. */
static int pool_of(int cls)
{
	return cls == HW_FAIL_GPU ? HW_FAIL_TRAY : cls;
}

static void pull(faults *f, uint32_t ci)
{
	comp *c = &f->c[ci];
	bool tray = c->cls == HW_FAIL_GPU || c->cls == HW_FAIL_TRAY;
	if (c->state == C_DRAINING) {
		sim_cancel(f->s, c->drain_ev);
		for (uint32_t k = 0; k < f->n_draining; k++)
			if (f->draining[k] == ci) {
				f->draining[k] = f->draining[--f->n_draining];
				break;
			}
	}
	if (tray) {
		f->tray_pulled[c->tray]++;
		for (uint32_t k = f->tray_first[c->tray]; k < f->tray_first[c->tray + 1]; k++) {
			uint32_t j = f->tray_reps[k];
			if (c->state == C_DRAINING)
				f->reps[j].draining--;
			f->reps[j].held++;
			sync(f, j);
			/* what did not finish within the drain is retried */
			uint64_t n = evict(f, j, true, f->p.kv_recovered);
			if (measuring(f))
				f->retries += n;
		}
		recount_rack(f, c->rack);
	}
	const hw_lifetime *l = &f->p.rel.cls[c->cls];
	int pool = pool_of(c->cls);
	double t;
	if (f->spares[pool] > 0) {
		f->spares[pool]--;
		if (measuring(f))
			f->spares_used++;
		c->spare = true;
		c->state = C_REPLACING;
		t = repair_time(f, l->replace_s, f->seed_fix, ci, c->fixes++);
		/* the failed part goes to the shop and back to the pool */
		double shop = repair_time(f, l->repair_s, f->seed_shop, ci, c->fixes);
		post(f, later(f, shop), EV_SPARE_BACK, (uint64_t)pool, NULL);
	} else {
		c->spare = false;
		c->state = C_REPAIRING;
		t = repair_time(f, l->repair_s, f->seed_fix, ci, c->fixes++);
	}
	post(f, later(f, t), EV_RESTORE, ci, NULL);
}

static void restore(faults *f, uint32_t ci)
{
	comp *c = &f->c[ci];
	bool tray = c->cls == HW_FAIL_GPU || c->cls == HW_FAIL_TRAY;
	c->state = C_UP;
	f->failed_now--;
	if (c->cls == HW_FAIL_RACK)
		rack_out(f, c->rack, false);
	if (tray)
		f->tray_pulled[c->tray]--;
	recount_rack(f, c->rack);
	FOR_AFFECTED(f, c, j) {
		f->reps[j].failed--;
		if (!tray)
			sync(f, j);
	}
	if (tray)
		for (uint32_t k = f->tray_first[c->tray]; k < f->tray_first[c->tray + 1]; k++) {
			f->reps[f->tray_reps[k]].held--;
			sync(f, f->tray_reps[k]);
		}
	double ttr = sim_to_s(sim_now(f->s) - c->t_fail);
	if (c->t_fail >= f->warmup) {
		f->remediations++;
		f->ttr_sum += ttr;
	}
	char subj[64], d[160];
	subject(f, c, subj, sizeof subj);
	snprintf(d, sizeof d, "%s back in service %.0f s after its failure (%s)",
		 class_label[c->cls], ttr, c->spare ? "spare swapped in" : "repaired in place");
	fs_error err;
	rec_event(f->sink, now_s(f), "repair", subj, ttr, "s", d, &err);
	schedule_life(f, ci, false);
}

/* --- maintenance windows ------------------------------------------------------------- */

static void win_subject(const fwin *w, char *buf, size_t n)
{
	if (w->n == 1)
		snprintf(buf, n, "rack %u", w->first);
	else
		snprintf(buf, n, "racks %u-%u", w->first, w->first + w->n - 1);
}

static void win_down(faults *f, uint32_t wi)
{
	fwin *w = &f->win[wi];
	sim_cancel(f->s, w->drain_ev);
	for (uint32_t k = w->first; k < w->first + w->n; k++)
		rack_out(f, k, true);
	for (uint32_t k = w->first; k < w->first + w->n; k++) {
		recount_rack(f, k);
		for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++) {
			uint32_t j = f->rack_reps[x];
			f->reps[j].draining--;
			f->reps[j].held++;
		}
	}
	for (uint32_t k = w->first; k < w->first + w->n; k++)
		for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++) {
			uint32_t j = f->rack_reps[x];
			sync(f, j);
			uint64_t n = evict(f, j, true, f->p.kv_recovered);
			if (measuring(f))
				f->retries += n;
		}
	w->state = W_DOWN;
	char subj[64], d[160];
	win_subject(w, subj, sizeof subj);
	snprintf(d, sizeof d, "%s: drained in %.0f s, out of service until t = %.0f s",
		 w->upgrade ? "rolling upgrade" : "maintenance", sim_to_s(sim_now(f->s) - w->start),
		 w->at_s + w->for_s);
	fs_error err;
	rec_event(f->sink, now_s(f), "maintenance_down", subj, (double)w->n, "1", d, &err);
}

static void win_start(faults *f, uint32_t wi)
{
	fwin *w = &f->win[wi];
	w->state = W_DRAINING;
	w->start = sim_now(f->s);
	if (measuring(f))
		f->windows++;
	for (uint32_t k = w->first; k < w->first + w->n; k++)
		for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++)
			f->reps[f->rack_reps[x]].draining++;
	for (uint32_t k = w->first; k < w->first + w->n; k++)
		for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++) {
			uint32_t j = f->rack_reps[x];
			sync(f, j);
			uint64_t n = evict(f, j, false, true);
			if (measuring(f))
				f->rerouted += n;
		}
	char subj[64], d[160];
	win_subject(w, subj, sizeof subj);
	snprintf(d, sizeof d, "%s: draining (at most %.0f s), back at t = %.0f s",
		 w->upgrade ? "rolling upgrade" : "maintenance", f->p.rel.drain_s, w->at_s + w->for_s);
	fs_error err;
	rec_event(f->sink, now_s(f), "maintenance", subj, (double)w->n, "1", d, &err);
	if (f->p.rel.drain_s > 0 && !win_drained(f, w))
		post(f, later(f, f->p.rel.drain_s), EV_WIN_DRAIN_END, wi, &w->drain_ev);
	else
		win_down(f, wi);
}

static void win_end(faults *f, uint32_t wi)
{
	fwin *w = &f->win[wi];
	if (w->state == W_DRAINING) {
		/* the window closed before the drain did */
		sim_cancel(f->s, w->drain_ev);
		for (uint32_t k = w->first; k < w->first + w->n; k++)
			for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++)
				f->reps[f->rack_reps[x]].draining--;
	} else if (w->state == W_DOWN) {
		for (uint32_t k = w->first; k < w->first + w->n; k++) {
			rack_out(f, k, false);
			for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++)
				f->reps[f->rack_reps[x]].held--;
		}
		for (uint32_t k = w->first; k < w->first + w->n; k++)
			recount_rack(f, k);
	}
	for (uint32_t k = w->first; k < w->first + w->n; k++)
		for (uint32_t x = f->rack_first[k]; x < f->rack_first[k + 1]; x++)
			sync(f, f->rack_reps[x]);
	w->state = W_DONE;
	char subj[64];
	win_subject(w, subj, sizeof subj);
	fs_error err;
	rec_event(f->sink, now_s(f), "maintenance_end", subj, (double)w->n, "1",
		  w->upgrade ? "rolling upgrade batch back in service" : "back in service", &err);
}

/* --- handlers ------------------------------------------------------------------------ */

static void on_fail(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	fail(ctx, (uint32_t)ev->u);
}

static void on_detect(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	detect(ctx, (uint32_t)ev->u);
}

static void on_drain_end(sim *s, void *ctx, const sim_event *ev)
{
	faults *f = ctx;
	(void)s;
	if (f->c[ev->u].state == C_DRAINING)
		pull(f, (uint32_t)ev->u);
}

static void on_restore(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	restore(ctx, (uint32_t)ev->u);
}

static void on_spare_back(sim *s, void *ctx, const sim_event *ev)
{
	faults *f = ctx;
	(void)s;
	f->spares[ev->u]++;
}

static void on_win_start(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	win_start(ctx, (uint32_t)ev->u);
}

static void on_win_drain_end(sim *s, void *ctx, const sim_event *ev)
{
	faults *f = ctx;
	(void)s;
	if (f->win[ev->u].state == W_DRAINING)
		win_down(f, (uint32_t)ev->u);
}

static void on_win_end(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	win_end(ctx, (uint32_t)ev->u);
}

static const sim_handler handlers[EV_COUNT] = { on_fail,      on_detect,     on_drain_end,
						on_restore,   on_spare_back, on_win_start,
						on_win_drain_end, on_win_end };


/* At the tick: pull the parts whose trays are drained, take down the windows
 * whose racks are, and record the series. */
static void on_tick(sim *s, void *ctx, sim_time now)
{
	faults *f = ctx;
	(void)s;
	/* token counts from the first tick at or after the warm-up, as the
	 * facility's meters (serving's tick has just counted the stretches in
	 * progress) */
	if (!f->measuring && now >= f->warmup) {
		f->measuring = true;
		if (f->sv) {
			f->tok0 = serving_tokens_out(f->sv);
			f->disc0 = serving_tokens_discarded(f->sv);
		}
	}
	for (uint32_t k = 0; k < f->n_draining;) {
		uint32_t ci = f->draining[k];
		const comp *c = &f->c[ci];
		if (tray_drained(f, c))
			pull(f, ci); /* removes it from the list */
		else
			k++;
	}
	for (uint32_t wi = 0; wi < f->n_win; wi++) {
		const fwin *w = &f->win[wi];
		if (w->state != W_DRAINING)
			continue;
		if (win_drained(f, w))
			win_down(f, wi);
	}
	rec_set(f->sink, f->id_reps, 0, (double)f->up_reps);
	rec_set(f->sink, f->id_gpus, 0, (double)f->healthy);
	rec_set(f->sink, f->id_down, 0, (double)f->failed_now);
	rec_set(f->sink, f->id_spares, 0, (double)f->spares[HW_FAIL_TRAY]);
}

/* --- construction ------------------------------------------------------------------ */

static int oom(faults *f, fs_error *err)
{
	faults_destroy(f);
	return fs_error_msg(err, FS_ERR_NOMEM, "faults: out of memory");
}

int faults_create(sim *s, const flt_params *p, const rack_spec *const *racks, uint32_t n_racks,
		  serving *sv, facility *fac, uint64_t seed, uint32_t replication, double warmup_s,
		  rec_sink *sink, faults **out, fs_error *err)
{
	*out = NULL;
	faults *f = calloc(1, sizeof *f);
	if (!f)
		return fs_error_msg(err, FS_ERR_NOMEM, "faults: out of memory");
	f->p = *p;
	f->s = s;
	f->sv = sv;
	f->fac = fac;
	f->sink = sink;
	f->warmup = sim_from_s(warmup_s);
	f->n_racks = n_racks;
	f->racks = racks;
	for (int k = 0; k < HW_FAIL_CLASSES; k++)
		f->spares[k] = p->spares[k];
	f->seed_life = rng_stream_seed(seed, replication, "faults.lifetime");
	f->seed_fix = rng_stream_seed(seed, replication, "faults.remediation");
	f->seed_shop = rng_stream_seed(seed, replication, "faults.shop");
	f->g = gsl_rng_alloc(gsl_rng_taus2);

	/* components, rack by rack */
	f->base = calloc((size_t)n_racks + 1, sizeof *f->base);
	f->tray_base = calloc((size_t)n_racks + 1, sizeof *f->tray_base);
	f->rack_out = calloc(n_racks ? n_racks : 1, sizeof *f->rack_out);
	f->rack_healthy = calloc(n_racks ? n_racks : 1, sizeof *f->rack_healthy);
	if (!f->g || !f->base || !f->tray_base || !f->rack_out || !f->rack_healthy)
		return oom(f, err);
	uint64_t nc = 0, nt = 0;
	for (uint32_t k = 0; k < n_racks; k++) {
		const rack_spec *r = racks[k];
		int gpus = 0;
		for (int g = 0; g < r->n_groups; g++)
			gpus += r->groups[g].count;
		f->base[k] = (uint32_t)nc;
		f->tray_base[k] = (uint32_t)nt;
		nc += 1 + (uint64_t)r->switch_trays + (uint64_t)r->trays + (uint64_t)gpus;
		nt += (uint64_t)r->trays;
		f->site_gpus += (uint32_t)gpus;
		f->rack_healthy[k] = (uint32_t)gpus;
	}
	if (nc >= NIL || nt >= NIL) {
		faults_destroy(f);
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "reliability",
				    "%llu components; expected fewer than 4 billion",
				    (unsigned long long)nc);
	}
	f->healthy = f->site_gpus;
	f->n_comp = (uint32_t)nc;
	f->base[n_racks] = f->n_comp;
	f->tray_base[n_racks] = (uint32_t)nt;
	f->c = calloc(nc ? nc : 1, sizeof *f->c);
	f->gpu_rep = malloc((nc ? nc : 1) * sizeof *f->gpu_rep);
	f->tray_comp = calloc(nt ? nt : 1, sizeof *f->tray_comp);
	f->tray_pulled = calloc(nt ? nt : 1, sizeof *f->tray_pulled);
	f->draining = calloc(nc ? nc : 1, sizeof *f->draining);
	if (!f->c || !f->gpu_rep || !f->tray_comp || !f->tray_pulled || !f->draining)
		return oom(f, err);
	for (uint32_t i = 0; i < f->n_comp; i++)
		f->gpu_rep[i] = NIL;
	for (uint32_t k = 0; k < n_racks; k++) {
		const rack_spec *r = racks[k];
		uint32_t ci = f->base[k];
		f->c[ci] = (comp){ .cls = HW_FAIL_RACK, .rack = k, .tray = NIL };
		ci++;
		for (int i = 0; i < r->switch_trays; i++)
			f->c[ci++] = (comp){ .cls = HW_FAIL_SWITCH_TRAY, .rack = k, .index = (uint32_t)i,
					     .tray = NIL };
		for (int i = 0; i < r->trays; i++) {
			uint32_t t = f->tray_base[k] + (uint32_t)i;
			f->tray_comp[t] = ci;
			f->c[ci++] = (comp){ .cls = HW_FAIL_TRAY, .rack = k, .index = (uint32_t)i,
					     .tray = t };
		}
		uint32_t slot = 0;
		for (int g = 0; g < r->n_groups; g++)
			for (int i = 0; i < r->groups[g].count; i++) {
				uint32_t t = (uint32_t)((int64_t)i * r->trays / r->groups[g].count);
				f->c[ci++] = (comp){ .cls = HW_FAIL_GPU, .rack = k, .index = slot++,
						     .tray = f->tray_base[k] + t };
			}
	}

	/* replicas: their GPUs, and the replicas of each tray and rack */
	f->n_reps = sv ? serving_replica_count(sv) : 0;
	f->reps = calloc(f->n_reps ? f->n_reps : 1, sizeof *f->reps);
	f->rep_first = calloc((size_t)f->n_reps + 1, sizeof *f->rep_first);
	if (!f->reps || !f->rep_first)
		return oom(f, err);
	for (uint32_t j = 0; j < f->n_reps; j++)
		f->rep_first[j + 1] = f->rep_first[j] + serving_replica_gpus(sv, j);
	f->rep_gpu = malloc((f->rep_first[f->n_reps] ? f->rep_first[f->n_reps] : 1) *
			    sizeof *f->rep_gpu);
	if (!f->rep_gpu)
		return oom(f, err);
	for (uint32_t j = 0; j < f->n_reps; j++) {
		frep *r = &f->reps[j];
		r->gpus = serving_replica_gpus(sv, j);
		r->up = r->routable = true;
		r->powered = 1;
		f->rep_gpus += r->gpus;
		for (uint32_t i = 0; i < r->gpus; i++) {
			uint32_t rack, idx;
			int group;
			serving_replica_gpu(sv, j, i, &rack, &group, &idx);
			const rack_spec *rs = racks[rack];
			uint32_t slot = idx;
			for (int g = 0; g < group; g++)
				slot += (uint32_t)rs->groups[g].count;
			uint32_t ci = f->base[rack] + 1 + (uint32_t)rs->switch_trays +
				      (uint32_t)rs->trays + slot;
			f->rep_gpu[f->rep_first[j] + i] = ci;
			f->gpu_rep[ci] = j;
		}
	}
	f->up_gpus = f->rep_gpus;
	f->up_reps = f->n_reps;
	/* CSR of replicas per tray and per rack (each replica once per tray/rack) */
	f->tray_first = calloc((size_t)nt + 2, sizeof *f->tray_first);
	f->rack_first = calloc((size_t)n_racks + 2, sizeof *f->rack_first);
	if (!f->tray_first || !f->rack_first)
		return oom(f, err);
	for (int pass = 0; pass < 2; pass++) {
		uint32_t *tfill = NULL, *rfill = NULL;
		if (pass == 1) {
			for (uint32_t t = 0; t < nt; t++)
				f->tray_first[t + 1] += f->tray_first[t];
			for (uint32_t k = 0; k < n_racks; k++)
				f->rack_first[k + 1] += f->rack_first[k];
			f->tray_reps = malloc((f->tray_first[nt] ? f->tray_first[nt] : 1) *
					      sizeof *f->tray_reps);
			f->rack_reps = malloc((f->rack_first[n_racks] ? f->rack_first[n_racks] : 1) *
					      sizeof *f->rack_reps);
			tfill = calloc(nt ? nt : 1, sizeof *tfill);
			rfill = calloc(n_racks ? n_racks : 1, sizeof *rfill);
			if (!f->tray_reps || !f->rack_reps || !tfill || !rfill) {
				free(tfill);
				free(rfill);
				return oom(f, err);
			}
		}
		for (uint32_t j = 0; j < f->n_reps; j++) {
			uint32_t last_t = NIL, last_r = NIL;
			for (uint32_t i = f->rep_first[j]; i < f->rep_first[j + 1]; i++) {
				const comp *c = &f->c[f->rep_gpu[i]];
				/* a replica's GPUs are contiguous: a tray or rack repeats
				 * only in a run */
				if (c->tray != last_t) {
					if (pass == 0)
						f->tray_first[c->tray + 1]++;
					else
						f->tray_reps[f->tray_first[c->tray] + tfill[c->tray]++] = j;
					last_t = c->tray;
				}
				if (c->rack != last_r) {
					if (pass == 0)
						f->rack_first[c->rack + 1]++;
					else
						f->rack_reps[f->rack_first[c->rack] + rfill[c->rack]++] = j;
					last_r = c->rack;
				}
			}
		}
		free(tfill);
		free(rfill);
	}

	/* maintenance windows: the scenario's, then the rolling upgrade's batches */
	size_t nw = p->n_maint;
	uint32_t batch = 0, batches = 0;
	if (p->has_rolling && n_racks > 0) {
		batch = (uint32_t)ceil(p->roll_batch * n_racks - 1e-9);
		if (batch < 1)
			batch = 1;
		batches = (n_racks + batch - 1) / batch;
		nw += batches;
	}
	f->win = calloc(nw ? nw : 1, sizeof *f->win);
	if (!f->win)
		return oom(f, err);
	for (size_t i = 0; i < p->n_maint; i++) {
		const flt_window *m = &p->maint[i];
		fwin *w = &f->win[f->n_win++];
		w->at_s = m->at_s;
		w->for_s = m->for_s;
		w->first = m->first < n_racks ? m->first : n_racks;
		uint32_t n = (uint32_t)ceil(m->share * n_racks - 1e-9);
		w->n = n < n_racks - w->first ? n : n_racks - w->first;
	}
	for (uint32_t b = 0; b < batches; b++) {
		fwin *w = &f->win[f->n_win++];
		w->at_s = p->roll_start_s + b * p->roll_per_batch_s;
		w->for_s = p->roll_per_batch_s;
		w->first = b * batch;
		w->n = batch < n_racks - w->first ? batch : n_racks - w->first;
		w->upgrade = true;
	}

	sim_model m = { .name = "faults", .ctx = f, .handlers = handlers, .n_handlers = EV_COUNT,
			.tick = on_tick };
	f->model = sim_add_model(s, &m, err);
	if (f->model < 0) {
		int rc = -f->model;
		faults_destroy(f);
		return rc;
	}
	struct {
		int *id;
		const char *path, *units, *desc;
	} series[] = {
		{ &f->id_reps, "reliability/replicas_up", "1",
		  "replicas serving: not failed, drained or held for maintenance" },
		{ &f->id_gpus, "reliability/gpus_up", "1", "GPUs healthy and powered, all racks" },
		{ &f->id_down, "reliability/components_down", "1",
		  "components failed and not yet back in service" },
		{ &f->id_spares, "reliability/spare_trays", "1", "trays in the spare pool" },
	};
	for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
		*series[i].id = rec_declare(sink, series[i].path, series[i].units, series[i].desc, 1,
					    err);
		if (*series[i].id < 0) {
			int rc = -*series[i].id;
			faults_destroy(f);
			return rc;
		}
	}
	/* first failures, injections, windows */
	for (uint32_t ci = 0; ci < f->n_comp; ci++)
		schedule_life(f, ci, true);
	for (size_t i = 0; i < p->n_inject; i++) {
		const flt_inject *x = &p->inject[i];
		if (x->rack >= n_racks)
			continue;
		const rack_spec *rs = racks[x->rack];
		uint32_t ci = f->base[x->rack];
		if (x->cls == HW_FAIL_SWITCH_TRAY)
			ci += 1 + x->index;
		else if (x->cls == HW_FAIL_TRAY)
			ci += 1 + (uint32_t)rs->switch_trays + x->index;
		else if (x->cls == HW_FAIL_GPU)
			ci += 1 + (uint32_t)rs->switch_trays + (uint32_t)rs->trays + x->index;
		if (ci >= f->base[x->rack + 1])
			continue;
		post(f, sim_from_s(x->at_s), EV_FAIL, ci, NULL);
	}
	for (uint32_t wi = 0; wi < f->n_win; wi++) {
		if (f->win[wi].n == 0)
			continue;
		post(f, sim_from_s(f->win[wi].at_s), EV_WIN_START, wi, NULL);
		post(f, sim_from_s(f->win[wi].at_s + f->win[wi].for_s), EV_WIN_END, wi, NULL);
	}
	*out = f;
	return FS_OK;
}

void faults_destroy(faults *f)
{
	if (!f)
		return;
	if (f->g)
		gsl_rng_free(f->g);
	free(f->base);
	free(f->tray_base);
	free(f->tray_comp);
	free(f->tray_pulled);
	free(f->rack_out);
	free(f->rack_healthy);
	free(f->c);
	free(f->gpu_rep);
	free(f->reps);
	free(f->rep_first);
	free(f->rep_gpu);
	free(f->tray_first);
	free(f->tray_reps);
	free(f->rack_first);
	free(f->rack_reps);
	free(f->draining);
	free(f->win);
	free(f);
}

/* --- results ---------------------------------------------------------------------- */

void faults_result(faults *f, flt_result *o)
{
	memset(o, 0, sizeof *o);
	flush(f);
	mark_slo(f);
	double T = sim_to_s(sim_now(f->s) - f->warmup);
	o->measured_s = T;
	o->replicas = f->n_reps;
	o->gpus = f->rep_gpus;
	o->site_gpus = f->site_gpus;
	o->availability = f->rep_gpus && T > 0 ? f->int_up / ((double)f->rep_gpus * T) : NAN;
	o->gpu_availability = f->site_gpus && T > 0 ? f->int_healthy / ((double)f->site_gpus * T) : NAN;
	for (int k = 0; k < HW_FAIL_CLASSES; k++) {
		o->failures[k] = f->failures[k];
		o->failures_total += f->failures[k];
	}
	o->retries = f->retries;
	o->rerouted = f->rerouted;
	o->remediations = f->remediations;
	o->mttr_s = f->remediations ? f->ttr_sum / (double)f->remediations : NAN;
	for (uint32_t ci = 0; ci < f->n_comp; ci++)
		o->open += f->c[ci].state != C_UP && f->c[ci].t_fail >= f->warmup;
	o->spares_used = f->spares_used;
	uint64_t tok = 0, disc = 0;
	if (f->sv && f->measuring) {
		tok = serving_tokens_out(f->sv) - f->tok0;
		disc = serving_tokens_discarded(f->sv) - f->disc0;
	}
	o->tokens_discarded = (double)disc;
	double useful = (double)tok - (double)disc;
	double a = o->availability;
	o->capacity_lost_tokens = a > 0 && useful > 0 ? useful * (1 - a) / a : 0;
	o->tokens_lost = o->tokens_discarded + o->capacity_lost_tokens;
	o->finished_healthy = f->fin[0];
	o->finished_degraded = f->fin[1];
	o->slo_healthy = f->fin[0] ? (double)f->met[0] / (double)f->fin[0] : NAN;
	o->slo_degraded = f->fin[1] ? (double)f->met[1] / (double)f->fin[1] : NAN;
	o->degraded_s = f->degraded_s;
	o->maintenance = f->windows;
}

int faults_result_record(const flt_result *r, rec_sink *sink, fs_error *err)
{
	struct {
		const char *k;
		double v;
		const char *u, *d;
	} rows[] = {
		{ "availability", r->availability, "1",
		  "GPU-time weighted share of the replicas' capacity up (not failed, drained or "
		  "held for maintenance), after warm-up" },
		{ "gpu_availability", r->gpu_availability, "1",
		  "share of GPU-time with the GPU healthy and powered, all GPUs of the site" },
		{ "failures/total", (double)r->failures_total, "1", "component failures after warm-up" },
		{ "failures/gpu", (double)r->failures[HW_FAIL_GPU], "1", "GPU failures" },
		{ "failures/tray", (double)r->failures[HW_FAIL_TRAY], "1", "compute tray failures" },
		{ "failures/switch_tray", (double)r->failures[HW_FAIL_SWITCH_TRAY], "1",
		  "NVLink switch tray failures" },
		{ "failures/rack", (double)r->failures[HW_FAIL_RACK], "1", "whole-rack failures" },
		{ "retries", (double)r->retries, "1",
		  "requests moved off a replica while in flight (failures, drains cut off) and "
		  "retried through the router" },
		{ "rerouted", (double)r->rerouted, "1",
		  "waiting requests moved off a replica being drained" },
		{ "remediations", (double)r->remediations, "1",
		  "failures after warm-up put right within the run" },
		{ "mttr", r->mttr_s, "s",
		  "mean time to remediate (failure to back in service) of the remediations completed" },
		{ "open", (double)r->open, "1",
		  "failures after warm-up still being remediated at the end (not in mttr)" },
		{ "spares_used", (double)r->spares_used, "1", "spare parts swapped in" },
		{ "tokens_discarded", r->tokens_discarded, "1",
		  "output tokens generated and then discarded with a failed replica's KV cache" },
		{ "capacity_lost_tokens", r->capacity_lost_tokens, "1",
		  "estimate: useful output tokens per up GPU-second x GPU-seconds of replicas down" },
		{ "tokens_lost", r->tokens_lost, "1", "tokens_discarded + capacity_lost_tokens" },
		{ "slo_attainment_healthy", r->slo_healthy, "1",
		  "SLO attainment of requests finished while every replica was up" },
		{ "slo_attainment_degraded", r->slo_degraded, "1",
		  "SLO attainment of requests finished while some replica was down" },
		{ "degraded_time", r->degraded_s, "s", "time with some replica down" },
		{ "maintenance_windows", (double)r->maintenance, "1",
		  "maintenance windows and rolling-upgrade batches begun" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "reliability/%s", rows[i].k);
		int rc = rec_summary(sink, name, rows[i].v, rows[i].u, rows[i].d, err);
		if (rc)
			return rc;
	}
	return FS_OK;
}
