/*
 * facility.h - the site around the serving twin: racks and their power
 * states, the power chain to the utility, cooling (a fixed overhead until the
 * cooling model lands), an optional battery, the grid's budget and prices,
 * and the site budget controller.  It produces the energy meters and the
 * headline figure, tokens per megawatt.
 *
 * It runs at the control tick (after the serving model's tick).  GPU energy
 * comes from the serving model, integrated exactly between replica events;
 * each rack adds its CPUs, switches and fans and divides by its PSU
 * efficiency, which gives the IT meter.  The chain, cooling and battery are
 * evaluated on the tick's mean IT power (their losses are smooth functions of
 * load; the tick is their time step).  Facility energy is defined as IT +
 * chain losses + cooling, accumulated term by term, so the balance closes to
 * rounding, and the grid draw is facility minus battery discharge plus
 * charge.
 *
 * Controller policies (applied for the next tick):
 *   static        every GPU capped at gpu_cap (a share of TDP); nothing else
 *   proportional  one cap share for all GPUs, adjusted by feedback so that the
 *                 grid draw stays under the budget in force one tick ahead
 *   priority      as proportional, but racks serving the lowest-priority
 *                 classes are capped first and, at the lowest cap, those
 *                 classes are shed (refused) until there is room again
 * Independently, with defer_price set, classes at or below defer_priority
 * are held while the energy price is above it and served when it falls.
 * A battery, if present, covers the grid draw above the budget first; the
 * controller throttles only for what the battery cannot cover.
 */
#ifndef FS_FACILITY_H
#define FS_FACILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "cooling.h"
#include "hw.h"
#include "powerchain.h"
#include "record.h"
#include "serving.h"
#include "sim.h"

enum fac_policy { FAC_STATIC, FAC_PROPORTIONAL, FAC_PRIORITY };

typedef struct fac_params {
	double budget_w;              /* provisioned site power (the interconnect) */
	pc_grid_event *events;        /* demand-response events (borrowed) */
	size_t n_events;
	pc_price_point *prices;       /* energy price series (borrowed); empty = flat */
	size_t n_prices;
	double flat_price;            /* [$/J] */
	double cooling_overhead;      /* cooling power as a share of IT power (fixed) */
	int policy;                   /* enum fac_policy */
	double gpu_cap;               /* static cap, share of TDP (1 = none) */
	double cap_min;               /* lowest cap the controller sets, share of TDP */
	double tolerance;             /* the controller keeps the grid draw under
				       * budget x (1 + tolerance) (measured per tick) */
	pc_stage_params chain[PC_MAX_STAGES];
	size_t n_chain;
	bool has_battery;
	pc_battery_params battery;
	double boot_s;                /* a rack that regains power boots this long */
	double boot_power_share;      /* ... drawing this share of its idle power */
	double defer_price;           /* defer classes of priority <= defer_priority while
				       * the energy price is above this [$/J]; 0 = never */
	int defer_priority;
	/* the cooling plant; without it, cooling is cooling_overhead x IT */
	bool has_cooling;
	cool_params cooling;
	const weather *weather;       /* borrowed */
	double weather_start_s;       /* the weather's time of day at the run's t = 0 */
	struct fac_cool_fault {
		int kind;             /* 0 a CDU's pumps, 1 heat-rejection units */
		int cdu;              /* which CDU's pumps fail */
		double at_s, repair_s;/* when, and how long until repaired */
		double backup_share;  /* flow (pumps) or capacity (rejection) left, 0..1 */
	} faults[16];
	size_t n_faults;
	double capex_per_s;           /* capital amortised per second [$/s] */
	double opex_per_s;            /* other operating cost [$/s] */
} fac_params;

typedef struct facility facility;

/* The racks are the scenario's rack list (the same ids as the serving
 * model's); gpus[r][g] is the gpu_spec of rack r's group g.  sv may be NULL
 * (a site with no serving: racks idle). */
int facility_create(sim *s, const fac_params *p, const rack_spec *const *racks, uint32_t n_racks,
		    const gpu_spec *(*gpus)[RACK_MAX_GPU_GROUPS], serving *sv, double warmup_s,
		    rec_sink *sink, facility **out, fs_error *err);
void facility_destroy(facility *f);

#define FAC_RESULT_EVENTS 16

typedef struct fac_event_result {
	double start_s, end_s;
	double asked_w, reduced_w, compliance;
	double tokens_lost;
	double slo_before, slo_during;
	bool complete;                     /* ended within the run */
} fac_event_result;

typedef struct fac_result {
	double measured_s;
	double e_it_j, e_loss_j, e_cool_j, e_facility_j, e_grid_j; /* meters after warm-up */
	double e_gpu_j;                    /* GPUs alone (inside IT) */
	double battery_in_j, battery_out_j;
	double it_mean_w, it_peak_w, facility_mean_w, facility_peak_w, grid_peak_w;
	double budget_w;                   /* provisioned */
	double stranded_mean_w;            /* provisioned - mean facility power */
	double stranded_peak_w;            /* provisioned - peak facility power */
	double pue;                        /* facility / IT energy */
	uint64_t tokens;                   /* output tokens generated after warm-up */
	double tokens_per_s;
	double tokens_per_s_per_mw_it, tokens_per_s_per_mw_facility, tokens_per_s_per_mw_provisioned;
	double tokens_per_mwh;             /* per facility MWh */
	double j_per_token;                /* facility energy per output token */
	double energy_cost, capex_cost, opex_cost; /* [$] over the measured window */
	double cost_per_mtok;              /* [$ per million output tokens] */
	double over_budget_s;              /* ticks with grid draw above budget x (1 + tol) */
	double max_over_budget;            /* worst grid draw / budget - 1 */
	uint64_t trips, alarms;
	double deferring_s;                /* time spent deferring for price */
	/* cooling (zero without a plant) */
	double e_cdu_pump_j, e_fac_pump_j, e_rej_fan_j, e_chiller_j, e_crah_j, e_chw_j;
	double water_kg, compressor_s;
	double throttled_rack_s;           /* rack-seconds with a thermal clock below 1 */
	double throttle_tokens_lost;       /* the site's token rate before throttling minus during */
	double gpu_temp_max_c;
	uint64_t thermal_trips;
	double setpoint_missed_s;          /* time some CDU missed its supply setpoint */
	bool has_cooling;
	double cooling_overhead;           /* echoed: the fixed share used */
	fac_event_result events[FAC_RESULT_EVENTS]; /* grid events, in order */
	size_t n_events;
	double e_stage_j[PC_MAX_STAGES];   /* per-stage loss energy */
	char stage_name[PC_MAX_STAGES][PC_NAME_LEN];
	size_t n_stages;
} fac_result;

void facility_result(facility *f, fac_result *out);

/* A rack out of service (a failure, or maintenance; models/faults.c): from now
 * on it draws no power, its CPUs, switches and fans included (the serving
 * model stops its GPUs).  Ticks count the share of their time it was out. */
void facility_set_rack_out(facility *f, uint32_t rack, bool out);
int facility_result_record(const fac_result *r, rec_sink *sink, fs_error *err);

#endif
