/*
 * powerchain.h - the electrical side of the site: the distribution chain from
 * the utility to the racks, an optional battery, and the grid's constraints
 * (the power budget over time, demand-response events, energy prices).
 *
 * Pure models with no events of their own: the facility model evaluates them
 * at every control tick with that tick's average IT power, and integrates
 * their outputs.  All quantities SI (W, J, s); prices in $/J internally.
 *
 * Chain: stages in order from the racks up to the utility meter, e.g.
 * PDU/busway -> UPS -> MV transformer.  A stage of N units of `rating_w` each
 * carries the power leaving it plus its own losses; with N+1 one spare unit
 * shares the load, with 2N two independent sides each carry half.  Every
 * installed unit has losses
 *     L_unit = noload x rating + k x P_unit + r x P_unit^2 / rating
 * (no-load losses dominate at the 20-40 % load 2N systems run at).  A stage
 * whose load exceeds `alarm_share` of its capacity raises an alarm; above its
 * capacity for longer than `trip_after_s`, or above `trip_share` at once, it
 * trips and everything downstream loses power until `reset_after_s`.
 */
#ifndef FS_POWERCHAIN_H
#define FS_POWERCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PC_NAME_LEN 32
#define PC_MAX_STAGES 8

enum pc_redundancy { PC_N = 0, PC_N1 = 1, PC_2N = 2 };

typedef struct pc_stage_params {
	char name[PC_NAME_LEN];   /* "pdu", "ups", "transformer" */
	double rating_w;          /* per unit */
	int units;                /* N: units needed for the design load */
	int redundancy;           /* enum pc_redundancy */
	double noload_share;      /* no-load loss as a share of one unit's rating */
	double k_linear;          /* proportional loss coefficient, 1 */
	double r_quadratic;       /* quadratic loss coefficient, 1 */
	double alarm_share;       /* alarm above this share of capacity (default 0.9) */
	double trip_share;        /* instant trip above this share (default 1.25) */
	double trip_after_s;      /* sustained overload (> capacity) trips after this */
	double reset_after_s;     /* a tripped stage is back after this */
} pc_stage_params;

/* State of one stage after an evaluation. */
typedef struct pc_stage_state {
	double load_w;            /* power delivered downstream by the stage */
	double input_w;           /* load + losses */
	double loss_w;
	double load_share;        /* load / capacity (N x rating) */
	bool alarm, tripped;
	double overload_s;        /* time spent above capacity so far */
	double tripped_until_s;   /* when a trip clears */
} pc_stage_state;

typedef struct pc_chain {
	pc_stage_params p[PC_MAX_STAGES]; /* [0] next to the racks ... [n-1] at the utility */
	pc_stage_state s[PC_MAX_STAGES];
	size_t n;
} pc_chain;

/* What happened at one evaluation, for /events. */
typedef struct pc_change {
	int stage;                /* index */
	int kind;                 /* 1 alarm on, 2 alarm off, 3 trip, 4 reset */
	double load_share;
} pc_change;

/* Check parameters; err names `power.chain[i].key`. */
int pc_chain_init(pc_chain *c, const pc_stage_params *stages, size_t n, fs_error *err);

/* Losses of a stage carrying load_w (all installed units, redundancy
 * included), without touching any state. */
double pc_stage_loss(const pc_stage_params *p, double load_w);
/* Installed units: N, N+1 or 2N. */
int pc_stage_installed(const pc_stage_params *p);

/* Evaluate the chain for IT power it_w held for dt_s ending at t_s: fill the
 * stage states (loads, losses, alarm/trip timers) and return the utility
 * input power.  Up to max_changes alarm/trip/reset changes are written to
 * changes (*n_changes set).  When a stage is tripped the racks get no power:
 * the caller must pass it_w = 0 while pc_chain_down() is true. */
double pc_chain_eval(pc_chain *c, double it_w, double t_s, double dt_s, pc_change *changes,
		     size_t max_changes, size_t *n_changes);

/* Whether any stage is tripped (the racks are without power). */
bool pc_chain_down(const pc_chain *c);

/* Total chain losses at the last evaluation. */
double pc_chain_loss(const pc_chain *c);

/* --- battery ------------------------------------------------------------------- */

typedef struct pc_battery_params {
	double capacity_j;        /* usable energy at 100 % state of charge */
	double power_w;           /* charge and discharge limit */
	double round_trip;        /* round-trip efficiency, 0..1 (split evenly: sqrt each way) */
	double soc_min, soc_max;  /* bounds, 0..1 */
	double soc_initial;
} pc_battery_params;

typedef struct pc_battery {
	pc_battery_params p;
	double energy_j;          /* stored now */
	double charged_j, discharged_j, lost_j; /* totals: from the grid, to the load, lost */
} pc_battery;

int pc_battery_init(pc_battery *b, const pc_battery_params *p, fs_error *err);

/* Over dt_s, deliver up to want_w to the load (discharge); returns the power
 * delivered, limited by power_w and soc_min. */
double pc_battery_discharge(pc_battery *b, double want_w, double dt_s);
/* Over dt_s, take up to offer_w from the grid (charge); returns the power
 * drawn, limited by power_w and soc_max. */
double pc_battery_charge(pc_battery *b, double offer_w, double dt_s);
double pc_battery_soc(const pc_battery *b);

/* --- grid: budget over time, demand response, prices ----------------------------- */

typedef struct pc_grid_event {
	double start_s;           /* when the reduced budget is in force */
	double duration_s;
	double level;             /* budget during the event as a share of the base, 0..1 */
	double notice_s;          /* announced this long before start (for policies) */
	double ramp_s;            /* linear ramp down before start and up after the end */
} pc_grid_event;

typedef struct pc_price_point {
	double t_s;               /* from this time on ... */
	double price;             /* ... the energy price [$/J] */
} pc_price_point;

typedef struct pc_grid {
	double base_budget_w;
	pc_grid_event *events;    /* owned, sorted by start */
	size_t n_events;
	pc_price_point *prices;   /* owned, sorted by time; empty = flat `flat_price` */
	size_t n_prices;
	double flat_price;        /* [$/J] */
} pc_grid;

/* Copy events and prices (sorted; overlapping events: the lower level wins). */
int pc_grid_init(pc_grid *g, double base_budget_w, const pc_grid_event *events, size_t n_events,
		 const pc_price_point *prices, size_t n_prices, double flat_price, fs_error *err);
void pc_grid_clear(pc_grid *g);

/* The budget in force at t (ramps included). */
double pc_grid_budget(const pc_grid *g, double t_s);
/* The event in force or announced at t (index), or -1; *announced says
 * whether t is within notice before its start. */
int pc_grid_event_at(const pc_grid *g, double t_s, bool *announced);
/* The energy price at t [$/J]. */
double pc_grid_price(const pc_grid *g, double t_s);
/* Read a price series CSV "time_s,price_per_mwh" (header line allowed);
 * errors name file:line:col. */
int pc_price_read_csv(const char *path, pc_price_point **out, size_t *n, fs_error *err);

#endif
