/*
 * faults.h - failures inside the factory, and the work that puts them right.
 *
 * Components.  Every rack holds one rack-level component (power shelf,
 * manifold, rack management: a failure takes the whole rack), its NVLink
 * switch trays, its compute trays (nodes) and their GPUs (the catalog's
 * `trays` and `switch_trays`; a group's GPUs split evenly over the trays).
 * Each component fails after a lifetime drawn from its class's distribution
 * (exponential, or Weibull with a shape), is repaired or replaced, and starts
 * a new lifetime: an alternating renewal process per component, independent
 * of the others.  By default the fleet starts in steady state (a component's
 * first failure comes after a residual lifetime, drawn from the equilibrium
 * distribution); `start: new` starts every part new.
 *
 * Remediation of one failure:
 *   failure     the component stops; replicas that depend on it stop at once
 *               (their iteration in progress is lost), but the routers keep
 *               sending them requests until
 *   detection   (detect later): their requests are retried on other replicas
 *               through the router (counted), and the routers avoid them.
 *               A GPU or tray failure needs its tray pulled: the other
 *               replicas on the tray are drained (no new requests; waiting
 *               ones re-routed; running ones may finish for up to `drain`).
 *   pull        the tray (or switch tray, or rack) comes out.  With a spare in
 *               the pool it is swapped in `replace`, and the failed part goes
 *               to repair and returns to the pool `repair` later; without one
 *               the component is repaired in place (`repair`).
 *   restore     replicas restart (empty prefix caches); a new lifetime begins.
 * What a failure takes down (a replica is one TP x PP group, see serving.h):
 *   GPU          the replica holding it (then its tray's other replicas, drained)
 *   tray         every replica with a GPU on it
 *   switch tray  every replica of more than one GPU on the rack (NVLink domain)
 *   rack         every replica with a GPU on it; the rack draws no power
 * Failed GPUs, GPUs of failed or pulled trays and racks out of service draw
 * no power; the other GPUs of a stopped replica draw idle power.
 *
 * Maintenance windows and rolling upgrades take racks out on a schedule:
 * drain (stop routing to their replicas, re-route the waiting requests, let
 * the running ones finish for up to `drain`; what is left is retried), then
 * out of service (no power) until the window ends.
 *
 * Metrics (after warm-up): availability = GPU-time weighted share of the
 * replicas' capacity up (serving, not failed, drained or held); failures per
 * class; retries; mean time to remediate (failure to restore); tokens lost =
 * output tokens discarded with lost KV caches + an estimate of the capacity
 * lost (useful tokens per up GPU-second x down GPU-seconds); SLO attainment of
 * requests finished while the fleet was healthy and while it was degraded.
 *
 * Random numbers: each draw is keyed on (seed, replication, purpose,
 * component, draw index) through SplitMix64 into a GSL generator, so a
 * component's k-th lifetime is the same in two designs run with the same
 * seed (a fleet with spares and one without see the same failures).
 */
#ifndef FS_FAULTS_H
#define FS_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "error.h"
#include "facility.h"
#include "hw.h"
#include "record.h"
#include "serving.h"
#include "sim.h"

#define FLT_MAX_INJECT 64
#define FLT_MAX_MAINT 64

/* A failure at a fixed time (tests, what-if studies). */
typedef struct flt_inject {
	double at_s;
	int cls;                 /* enum hw_fail_class */
	uint32_t rack, index;    /* index within the rack: GPU (groups in order), tray, switch tray */
} flt_inject;

/* A maintenance window: racks [first, first + n) drain from at_s and are
 * out of service until at_s + for_s. */
typedef struct flt_window {
	double at_s, for_s;
	double share;            /* of the site's racks, 0..1 */
	uint32_t first;
} flt_window;

typedef struct flt_params {
	bool enabled;            /* random failures (scheduled events happen regardless) */
	hw_reliability rel;      /* lifetimes and remediation per class */
	int spares[HW_FAIL_CLASSES]; /* spare pool: [HW_FAIL_TRAY] trays (GPU failures swap
				      * the tray), [HW_FAIL_SWITCH_TRAY], [HW_FAIL_RACK] */
	bool kv_recovered;       /* decoders of a failed replica keep their KV (migrated) */
	bool new_fleet;          /* every part new at t = 0 (else steady state) */
	flt_inject inject[FLT_MAX_INJECT];
	size_t n_inject;
	flt_window maint[FLT_MAX_MAINT];
	size_t n_maint;
	bool has_rolling;        /* a rolling upgrade: batches of racks, one after another */
	double roll_start_s, roll_batch, roll_per_batch_s;
} flt_params;

typedef struct faults faults;

typedef struct flt_result {
	double measured_s;
	double availability;     /* GPU-time weighted share of replica capacity up */
	double gpu_availability; /* share of GPU-time healthy and powered (all GPUs) */
	uint64_t failures[HW_FAIL_CLASSES], failures_total;
	uint64_t retries;        /* requests moved off a replica while in flight */
	uint64_t rerouted;       /* waiting requests moved off a draining replica */
	uint64_t remediations;   /* of failures after warm-up, completed */
	double mttr_s;           /* their mean time from failure to restore */
	uint64_t open;           /* failures after warm-up still being remediated at the end */
	uint64_t spares_used;
	double tokens_discarded; /* output tokens generated and then lost with the KV */
	double capacity_lost_tokens; /* useful tokens per up GPU-second x down GPU-seconds */
	double tokens_lost;      /* the two above */
	double slo_healthy, slo_degraded; /* SLO attainment of requests finished ... */
	uint64_t finished_healthy, finished_degraded;
	double degraded_s;       /* time with some replica not up */
	uint64_t maintenance;    /* windows begun (rolling-upgrade batches included) */
	uint32_t replicas, gpus; /* replicas and their GPUs; all GPUs of the site */
	uint32_t site_gpus;
} flt_result;

/* Build on the site's racks (the scenario's order, as the serving model's)
 * and the serving model; fac may be NULL (no site), sv may be NULL (nothing
 * served).  Registers a model with the engine: create it after serving and
 * facility so that its tick runs after theirs. */
int faults_create(sim *s, const flt_params *p, const rack_spec *const *racks, uint32_t n_racks,
		  serving *sv, facility *fac, uint64_t seed, uint32_t replication, double warmup_s,
		  rec_sink *sink, faults **out, fs_error *err);
void faults_destroy(faults *f);

void faults_result(faults *f, flt_result *out);
int faults_result_record(const flt_result *r, rec_sink *sink, fs_error *err);

/* Weibull scale lambda for a mean: mtbf / Gamma(1 + 1/shape). */
double faults_weibull_scale(double mtbf_s, double shape);
/* One lifetime of a class [s]; residual: the time to the next failure of a
 * component found running in steady state (the equilibrium distribution:
 * U x a length-biased lifetime). */
double faults_lifetime(const hw_lifetime *l, gsl_rng *g, bool residual);

#endif
