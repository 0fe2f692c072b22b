/*
 * cooling.h - the liquid-cooling plant and its coupling to the GPUs.
 *
 * Heat path (the boundary of the PUE is the site: everything below draws
 * from the facility meter):
 *   GPU cold plates -> rack loop (TCS) -> CDU (counterflow heat exchanger,
 *   pump) -> facility water loop (lumped thermal mass) -> heat rejection:
 *   dry coolers (supply >= ambient dry bulb + approach, fans by the cube law)
 *   or cooling towers (supply >= wet bulb + approach, water evaporated), with
 *   an optional trim chiller for what they cannot reach (COP a Carnot
 *   fraction of the lift, with a part-load curve).
 *   The air-cooled share of rack heat, and the power-chain losses, go to the
 *   air side: CRAH fans and a chilled-water chiller.
 *
 * The facility model calls cooling_step() at each control tick with the
 * tick's mean heat per rack; the loop temperatures are lumped capacitances
 * integrated over the tick with GSL's ODE solver (gsl_odeiv2), heat flows held
 * constant over the tick.  Each rack has one representative GPU whose
 * temperature follows T_inlet + R_th x P_gpu with a first-order lag; above
 * the GPU's throttle temperature its clock falls linearly to the minimum at
 * throttle + band, and above its shutdown temperature the rack trips until
 * it has cooled below throttle.
 *
 * Energy balance, which a test checks to 1e-6 over any window:
 *   heat rejected to ambient = IT heat + chain losses + pump and CRAH fan
 *   power + compressor power - change in stored heat,
 * where stored heat is sum(C_i x T_i) over the lumped masses (J).
 */
#ifndef FS_COOLING_H
#define FS_COOLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum cool_coolant { COOL_WATER, COOL_PG25 };
enum cool_rejection { COOL_DRY_COOLER, COOL_TOWER };

typedef struct cool_params {
	int coolant;               /* enum cool_coolant: c_p and density */
	double supply_c;           /* facility water supply setpoint [degC] (ASHRAE W class) */
	/* rack loops and CDUs */
	double rack_dt_k;          /* design temperature rise across a rack [K] */
	int racks_per_cdu;         /* racks served by one CDU */
	double cdu_capacity_w;     /* heat one CDU can move */
	double cdu_approach_k;     /* secondary supply - facility supply at design */
	double cdu_pump_w;         /* pump power at design flow (affinity law: ~ flow^3) */
	double tcs_volume_m3;      /* coolant in one CDU's secondary loop (thermal mass) */
	/* facility loop */
	double fac_dt_k;           /* design temperature rise of the facility water [K] */
	double fac_volume_m3;      /* water in the facility loop (thermal mass) */
	double fac_pump_share;     /* facility pump power as a share of the heat carried */
	double design_heat_w;      /* the plant's design heat load (sizes fans and chiller) */
	/* heat rejection */
	int rejection;             /* enum cool_rejection */
	double rej_approach_k;     /* dry cooler: over dry bulb; tower: over wet bulb */
	double rej_fan_share;      /* fan power at full speed / design heat */
	double tower_cycles;       /* cycles of concentration: blowdown = evaporation / (cycles-1) */
	bool trim_chiller;
	double chiller_eta;        /* COP = eta x T_evap / (T_cond - T_evap) at full load */
	double chiller_capacity_w;
	/* air side */
	double crah_fan_share;     /* CRAH fan power / air-side heat */
	double chw_supply_c;       /* chilled water for the air side [degC] */
	/* GPUs */
	double gpu_tau_s;          /* cold-plate first-order lag */
	double throttle_band_k;    /* clock from 1 at throttle to min at throttle + band */
} cool_params;

/* Per rack: its GPUs' thermal figures (from the catalog). */
typedef struct cool_rack_spec {
	double r_th_k_per_w;       /* cold plate: junction over inlet per W of one GPU */
	double throttle_c, shutdown_c;
	double clock_min;          /* lowest clock factor */
} cool_rack_spec;

/* Ambient conditions over time. */
typedef struct weather weather;

/* A CSV "time_s,dry_bulb_c[,wet_bulb_c]" (header and # comments allowed; the
 * wet bulb defaults to dry bulb - 8 K when absent); looped over its span.
 * Errors name file:line:col. */
int weather_load_csv(const char *path, weather **out, fs_error *err);
/* A synthetic day: mean + swing/2 x cos(2 pi (t - peak) / 24 h), wet bulb
 * dry bulb - depression. */
int weather_synthetic(double mean_c, double swing_k, double peak_s, double wb_depression_k,
		      weather **out, fs_error *err);
void weather_free(weather *w);
void weather_at(const weather *w, double t_s, double *dry_c, double *wet_c);

typedef struct cooling cooling;

/* The plant for n_racks racks (racks[i] their GPU figures); w is borrowed.
 * Starts in steady state at the supply setpoint with no load. */
int cooling_create(const cool_params *p, const cool_rack_spec *racks, uint32_t n_racks,
		   const weather *w, cooling **out, fs_error *err);
void cooling_destroy(cooling *c);

/* One tick's mean inputs per rack: heat into the liquid loop and into the
 * air [W], and the mean power of one GPU [W]; plus the chain losses [W]
 * (heat in the electrical rooms, on the air side). */
typedef struct cool_inputs {
	const double *liquid_w;
	const double *air_w;
	const double *gpu_w;
	double chain_loss_w;
} cool_inputs;

/* What one tick produced (means over the tick, energies over it). */
typedef struct cool_outputs {
	double power_w;            /* all cooling power: pumps + fans + compressors */
	double cdu_pump_w, fac_pump_w, rej_fan_w, chiller_w, crah_fan_w, chw_chiller_w;
	double heat_rejected_w;    /* to ambient, all paths */
	double stored_j;           /* sum C_i T_i at the end of the tick */
	double water_kg;           /* evaporated + blowdown over the tick */
	double fac_supply_c, fac_return_c;
	double tcs_supply_c;       /* mean secondary supply to the racks */
	double fac_flow_kg_s;
	double dry_c, wet_c;       /* ambient */
	bool compressor_on;        /* the trim chiller ran */
	bool setpoint_missed;      /* a CDU could not hold its secondary supply */
} cool_outputs;

/* Advance from t_s - dt_s to t_s. */
int cooling_step(cooling *c, double t_s, double dt_s, const cool_inputs *in, cool_outputs *out,
		 fs_error *err);

/* Per rack after the last step: GPU temperature [degC], the thermal clock
 * factor (1 = none), and whether its GPUs are over shutdown (the rack trips;
 * it stays tripped until the GPU has cooled below throttle). */
double cooling_gpu_temp(const cooling *c, uint32_t rack);
double cooling_clock(const cooling *c, uint32_t rack);
bool cooling_tripped(const cooling *c, uint32_t rack);
/* The rack's secondary (TCS) supply temperature [degC]. */
double cooling_rack_inlet(const cooling *c, uint32_t rack);

/* Faults: a CDU's pumps fail (flow falls to backup_share of design, e.g. 0)
 * until repaired (failed = false). */
void cooling_fail_cdu(cooling *c, int cdu, bool failed, double backup_share);
int cooling_cdu_count(const cooling *c);
/* Heat-rejection units (dry coolers or towers) fail: only available_share of
 * the capacity (and of the fans) is left, until set back to 1. */
void cooling_fail_rejection(cooling *c, double available_share);
int cooling_cdu_of(const cooling *c, uint32_t rack);

/* Added with the implementation: the rack's coolant outlet temperature
 * [degC] (inlet + liquid heat / (rack flow x c_p); the loop's mixed
 * temperature when its CDU has no flow), and CDU k's lumped secondary-loop
 * (TCS) temperature [degC], the mixed return that enters its heat exchanger. */
double cooling_rack_outlet(const cooling *c, uint32_t rack);
double cooling_tcs_temp(const cooling *c, int cdu);

#endif
