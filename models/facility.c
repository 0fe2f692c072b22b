/*
 * facility.c - racks, power chain, cooling overhead, battery, grid and the
 * budget controller, at the control tick (see facility.h).
 *
 * Per tick, in order: read each rack's GPU energy since the last tick from
 * the serving model; add idle power of unused GPUs and the rack's other
 * equipment (CPUs and switches constant; fans from 30 % at idle to 100 % at
 * full GPU power); divide by the PSU efficiency: that is the IT meter.  The
 * chain turns IT power into utility input; cooling adds its fixed share;
 * the battery covers what exceeds the budget or charges from the headroom;
 * the grid draw is what is left.  Meters integrate each term; then the
 * controller sets caps (and sheds classes) for the next tick, and grid-event
 * bookkeeping records compliance, tokens lost and SLO impact.
 */
#include "facility.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAC_MAX_DR 64 /* grid events tracked for the summary */

enum { RACK_ON, RACK_OFF, RACK_BOOTING };

typedef struct fac_rack {
	const rack_spec *spec;
	const gpu_spec *gpu[RACK_MAX_GPU_GROUPS];
	double idle_unused_w;  /* idle power of GPUs no replica uses */
	double idle_all_w;     /* idle power of every GPU */
	double tdp_all_w;      /* TDP of every GPU */
	double fixed_w;        /* CPUs and switches */
	int state;
	double boot_until_s;
	double share;          /* cap as a share of TDP */
	double gpu_e_last;     /* cumulative GPU energy at the last tick [J] */
	int priority;          /* lowest priority of the classes served; INT_MAX = none */
	int level;             /* index into the facility's priority levels */
	double sens;           /* compute-bound share of its work (clock sensitivity), smoothed */
	int gpus;              /* all its GPUs */
	double heat_w;         /* mean IT power of the last tick (all of it becomes heat) */
	double gpu_w;          /* mean power of one GPU over the last tick */
	bool thermal_trip;     /* over shutdown temperature: off until it cools */
	double target;         /* the cap share the priority policy wants for it */
	bool out;              /* out of service (failed, or down for maintenance): no power */
	sim_time out_since;    /* when it went out */
	sim_time out_ns;       /* time out during the current tick, closed spells [ns] */
} fac_rack;

typedef struct dr_record {
	double start_s, end_s, asked_w, baseline_w, grid_sum, t_sum;
	double baseline_tok_rate;
	uint64_t tok_start, fin_start, met_start;
	double slo_before;
	bool open;
	/* results */
	double compliance, reduced_w, tokens_lost, slo_during;
} dr_record;

struct facility {
	fac_params p;
	sim *s;
	serving *sv;
	rec_sink *sink;
	fac_rack *racks;
	uint32_t n;
	double *e_buf;
	pc_chain chain;
	bool has_chain;
	pc_battery bat;
	pc_grid grid;
	sim_time last;
	sim_time warmup;
	double tick_s;

	/* meters (after warm-up) */
	double e_it, e_loss, e_cool, e_fac, e_grid, e_gpu, bat_in, bat_out, t_meas;
	double cost_energy;    /* grid energy x the price in force, tick by tick */
	double it_peak, fac_peak, grid_peak, over_s, max_over;
	uint64_t tok0, trips, alarms;
	bool measuring;

	/* controller */
	int n_levels;
	int levels[64];        /* distinct priorities, ascending */
	double level_share[64];
	int shed_levels;       /* the lowest shed_levels levels are shed */
	double last_grid_w;
	double last_fac_w;     /* facility power of the previous tick */
	bool deferring;        /* price above defer_price */
	double deferring_s;
	double jump;           /* decaying maximum of relative tick-to-tick rises */

	/* grid-event bookkeeping: baselines are one-hour exponential means of the
	 * grid draw and the token rate (and SLO counts since the last event) */
	double ema_grid_w, ema_tok_rate, ema_t;
	uint64_t last_tok, pre_fin0, pre_met0;
	int cur_event;
	dr_record dr[FAC_MAX_DR];
	int n_dr;

	int id_it, id_fac, id_grid, id_loss, id_cool, id_budget, id_soc, id_price, id_share,
		id_rpow, id_rcap, id_rclock, id_rstate, id_stage_load, id_stage_loss;
	double e_stage[PC_MAX_STAGES]; /* per-stage loss energy after warm-up */
	/* cooling */
	cooling *cool;
	double *liq, *air, *gpuw; /* per rack inputs to the plant */
	double e_cdu_pump, e_fac_pump, e_rej_fan, e_chiller, e_crah, e_chw, water, comp_s;
	double throttled_s, throttle_lost, gpu_tmax;
	double site_tok_rate;  /* the site's token rate while nothing throttles, smoothed */
	uint64_t site_tok_last;
	uint64_t thermal_trips;
	int id_cool_sup, id_cool_ret, id_cool_tcs, id_cool_flow, id_cool_rej, id_cool_chiller,
		id_cool_fans, id_cool_pumps, id_cool_crah, id_cool_water, id_amb_dry, id_amb_wet,
		id_gpu_temp, id_inlet, id_tclock, id_setpoint;
	bool setpoint_missed;
	double setpoint_missed_s;
};

/* PSU efficiency against load (share of the rack's nameplate DC power).  The
 * shape is the 80 PLUS Titanium requirement at 230 V (90 % at 10 % load, 94 %
 * at 20 %, 96 % at 50 %, 91 % at 100 %), scaled so that its peak is the
 * catalog's psu_efficiency; linear in between, flat beyond the ends. */
static double psu_efficiency(double peak, double load)
{
	static const double u[] = { 0.0, 0.10, 0.20, 0.50, 1.00 };
	static const double e[] = { 0.80, 0.90, 0.94, 0.96, 0.91 };
	double x = load < 0 ? 0 : load > 1 ? 1 : load;
	int i = 0;
	while (i < 3 && x > u[i + 1])
		i++;
	double eff = e[i] + (e[i + 1] - e[i]) * (x - u[i]) / (u[i + 1] - u[i]);
	return (peak > 0 ? peak : 0.96) * eff / 0.96;
}

/* --- set-up ------------------------------------------------------------------------ */

void facility_tick(facility *f, sim_time now);
static void fac_model_tick(sim *s, void *ctx, sim_time now)
{
	(void)s;
	facility_tick(ctx, now);
}

int facility_create(sim *s, const fac_params *p, const rack_spec *const *racks, uint32_t n_racks,
		    const gpu_spec *(*gpus)[RACK_MAX_GPU_GROUPS], serving *sv, double warmup_s,
		    rec_sink *sink, facility **out, fs_error *err)
{
	*out = NULL;
	if (!(p->budget_w > 0))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "site.power_budget",
				    "must be positive");
	facility *f = calloc(1, sizeof *f);
	if (!f)
		return fs_error_msg(err, FS_ERR_NOMEM, "facility: out of memory");
	f->p = *p;
	f->s = s;
	f->sv = sv;
	f->sink = sink;
	f->n = n_racks;
	f->warmup = sim_from_s(warmup_s);
	f->measuring = warmup_s <= 0;
	f->cur_event = -1;
	f->racks = calloc(n_racks ? n_racks : 1, sizeof *f->racks);
	f->e_buf = calloc(n_racks ? n_racks : 1, sizeof *f->e_buf);
	int rc = FS_OK;
	if (!f->racks || !f->e_buf) {
		facility_destroy(f);
		return fs_error_msg(err, FS_ERR_NOMEM, "facility: out of memory");
	}
	if (p->n_chain) {
		rc = pc_chain_init(&f->chain, p->chain, p->n_chain, err);
		f->has_chain = true;
	}
	if (!rc && p->has_battery)
		rc = pc_battery_init(&f->bat, &p->battery, err);
	if (!rc)
		rc = pc_grid_init(&f->grid, p->budget_w, p->events, p->n_events, p->prices,
				  p->n_prices, p->flat_price, err);
	if (rc) {
		facility_destroy(f);
		return rc;
	}
	/* racks: their GPUs, what is unused, their fixed equipment */
	for (uint32_t k = 0; k < n_racks; k++) {
		fac_rack *r = &f->racks[k];
		r->spec = racks[k];
		r->share = p->gpu_cap;
		r->state = RACK_ON;
		r->priority = INT_MAX;
		for (int g = 0; g < r->spec->n_groups; g++) {
			const gpu_spec *gs = gpus[k][g];
			r->gpu[g] = gs;
			int count = r->spec->groups[g].count;
			uint32_t used = sv ? serving_rack_gpus_used(sv, k, g) : 0;
			r->idle_unused_w += (count - (int)used) * gs->idle_w;
			r->idle_all_w += count * gs->idle_w;
			r->tdp_all_w += count * gs->tdp_w;
		}
		r->fixed_w = r->spec->cpus * r->spec->cpu_w + r->spec->switch_w;
		for (int g = 0; g < r->spec->n_groups; g++)
			r->gpus += r->spec->groups[g].count;
		if (sv)
			r->priority = serving_rack_priority(sv, k);
		if (sv && p->gpu_cap < 1)
			serving_set_rack_cap(sv, k, p->gpu_cap * r->gpu[0]->tdp_w);
	}
	/* the distinct priority levels, ascending */
	for (uint32_t k = 0; k < n_racks; k++) {
		int pr = f->racks[k].priority;
		int at = 0;
		while (at < f->n_levels && f->levels[at] < pr)
			at++;
		if (at < f->n_levels && f->levels[at] == pr)
			continue;
		if (f->n_levels == 64)
			continue;
		memmove(&f->levels[at + 1], &f->levels[at], (size_t)(f->n_levels - at) * sizeof(int));
		f->levels[at] = pr;
		f->n_levels++;
	}
	for (int l = 0; l < f->n_levels; l++)
		f->level_share[l] = p->gpu_cap;
	for (uint32_t k = 0; k < n_racks; k++)
		f->racks[k].target = p->gpu_cap;
	for (uint32_t k = 0; k < n_racks; k++)
		for (int l = 0; l < f->n_levels; l++)
			if (f->levels[l] == f->racks[k].priority)
				f->racks[k].level = l;

	if (p->has_cooling) {
		cool_rack_spec *cr = calloc(n_racks ? n_racks : 1, sizeof *cr);
		f->liq = calloc(n_racks ? n_racks : 1, sizeof *f->liq);
		f->air = calloc(n_racks ? n_racks : 1, sizeof *f->air);
		f->gpuw = calloc(n_racks ? n_racks : 1, sizeof *f->gpuw);
		if (!cr || !f->liq || !f->air || !f->gpuw) {
			free(cr);
			facility_destroy(f);
			return fs_error_msg(err, FS_ERR_NOMEM, "facility: out of memory");
		}
		for (uint32_t k = 0; k < n_racks; k++) {
			/* the hottest group decides: the first (the rack's main GPUs) */
			const gpu_spec *g = f->racks[k].gpu[0];
			cr[k].r_th_k_per_w = g->r_th_k_per_w;
			cr[k].throttle_c = g->throttle_c;
			cr[k].shutdown_c = g->shutdown_c;
			cr[k].clock_min = g->clock_max_hz > 0 ? g->clock_min_hz / g->clock_max_hz : 0.3;
		}
		rc = cooling_create(&p->cooling, cr, n_racks, p->weather, &f->cool, err);
		free(cr);
		if (rc) {
			facility_destroy(f);
			return rc;
		}
	}

	sim_model m = { .name = "facility", .ctx = f, .handlers = NULL, .n_handlers = 0,
			.tick = fac_model_tick };
	rc = sim_add_model(s, &m, err);
	if (rc < 0) {
		facility_destroy(f);
		return -rc;
	}
	rc = FS_OK;
	struct {
		int *id;
		const char *path, *units, *desc;
		size_t width;
	} series[] = {
		{ &f->id_it, "site/it_power", "W", "IT power: racks at their inputs (PSU losses included)", 1 },
		{ &f->id_loss, "site/losses", "W", "power-chain losses (transformer, UPS, PDU)", 1 },
		{ &f->id_cool, "site/cooling_power", "W",
		  "cooling power: the plant's pumps, fans and compressors (a FIXED share of IT without a plant)", 1 },
		{ &f->id_fac, "site/facility_power", "W", "IT + chain losses + cooling", 1 },
		{ &f->id_grid, "site/grid_power", "W", "drawn from the grid: facility - battery discharge + charge", 1 },
		{ &f->id_budget, "site/budget", "W", "site power budget in force (grid events included)", 1 },
		{ &f->id_soc, "site/battery_soc", "1", "battery state of charge (NaN: no battery)", 1 },
		{ &f->id_price, "site/price", "$/J", "energy price", 1 },
		{ &f->id_share, "site/cap_share", "1", "mean GPU power cap as a share of TDP", 1 },
		{ &f->id_rpow, "racks/power", "W", "rack input power, mean over the tick", n_racks },
		{ &f->id_rcap, "racks/cap", "W", "per-GPU power cap (TDP when uncapped)", n_racks },
		{ &f->id_rclock, "racks/clock", "1", "GPU clock factor f / f_max", n_racks },
		{ &f->id_rstate, "racks/state", "1",
		  "0 on, 1 off (no power), 2 booting, 3 out of service (failed or in maintenance)",
		  n_racks },
		{ &f->id_stage_load, "site/stage_load", "1",
		  "load of each power-chain stage (racks side first) as a share of its capacity",
		  p->n_chain },
		{ &f->id_stage_loss, "site/stage_losses", "W",
		  "losses of each power-chain stage (racks side first)", p->n_chain },
		{ &f->id_cool_sup, "cooling/facility_supply", "degC", "facility water supply temperature",
		  p->has_cooling },
		{ &f->id_cool_ret, "cooling/facility_return", "degC", "facility water return temperature",
		  p->has_cooling },
		{ &f->id_cool_tcs, "cooling/tcs_supply", "degC",
		  "mean secondary (rack loop) supply temperature", p->has_cooling },
		{ &f->id_cool_flow, "cooling/facility_flow", "kg/s", "facility water flow", p->has_cooling },
		{ &f->id_cool_rej, "cooling/heat_rejected", "W", "heat rejected to ambient, all paths",
		  p->has_cooling },
		{ &f->id_cool_chiller, "cooling/chiller_power", "W",
		  "compressor power: trim chiller and air-side chiller", p->has_cooling },
		{ &f->id_cool_fans, "cooling/rejection_fan_power", "W", "dry cooler or tower fan power",
		  p->has_cooling },
		{ &f->id_cool_pumps, "cooling/pump_power", "W", "CDU and facility pumps", p->has_cooling },
		{ &f->id_cool_crah, "cooling/crah_fan_power", "W", "air-side CRAH fans", p->has_cooling },
		{ &f->id_cool_water, "cooling/water_rate", "kg/s", "water evaporated and blown down",
		  p->has_cooling },
		{ &f->id_amb_dry, "site/ambient_dry_bulb", "degC", "ambient dry-bulb temperature",
		  p->has_cooling },
		{ &f->id_amb_wet, "site/ambient_wet_bulb", "degC", "ambient wet-bulb temperature",
		  p->has_cooling },
		{ &f->id_setpoint, "cooling/setpoint_missed", "1",
		  "1 while a CDU cannot hold its secondary supply setpoint", p->has_cooling },
		{ &f->id_gpu_temp, "racks/gpu_temperature", "degC",
		  "temperature of a rack's representative GPU", p->has_cooling ? n_racks : 0 },
		{ &f->id_inlet, "racks/coolant_inlet", "degC", "rack loop supply temperature",
		  p->has_cooling ? n_racks : 0 },
		{ &f->id_tclock, "racks/thermal_clock", "1",
		  "highest clock factor the GPU temperature allows (1 = no throttling)",
		  p->has_cooling ? n_racks : 0 },
	};
	for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
		if (series[i].width == 0) {
			*series[i].id = -1;
			continue;
		}
		*series[i].id = rec_declare(sink, series[i].path, series[i].units, series[i].desc,
					    series[i].width, err);
		if (*series[i].id < 0) {
			rc = -*series[i].id;
			facility_destroy(f);
			return rc;
		}
	}
	*out = f;
	return FS_OK;
}

void facility_destroy(facility *f)
{
	if (!f)
		return;
	pc_grid_clear(&f->grid);
	cooling_destroy(f->cool);
	free(f->liq);
	free(f->air);
	free(f->gpuw);
	free(f->racks);
	free(f->e_buf);
	free(f);
}

/* --- the controller ----------------------------------------------------------------- */

static void apply_cap(facility *f, uint32_t k, double share)
{
	fac_rack *r = &f->racks[k];
	if (share == r->share)
		return;
	r->share = share;
	if (f->sv)
		serving_set_rack_cap(f->sv, k, share >= 1 ? 0 : share * r->gpu[0]->tdp_w);
}

static void shed_levels(facility *f, int n)
{
	if (!f->sv || n == f->shed_levels)
		return;
	f->shed_levels = n;
	size_t nc = serving_class_count(f->sv);
	for (size_t c = 0; c < nc; c++) {
		int pr = serving_class_priority(f->sv, (uint32_t)c);
		bool shed = false;
		for (int l = 0; l < n && l < f->n_levels; l++)
			shed |= f->levels[l] == pr;
		serving_shed_class(f->sv, (uint32_t)c, shed);
	}
}

/* Scale the caps of one band of level l's racks by factor: dir -1 lowers the
 * least clock-sensitive racks still above `bound`, dir +1 raises the most
 * sensitive still below it.  A band is the racks within 0.1 of the extreme
 * sensitivity.  Returns whether any rack moved. */
static bool cap_band(facility *f, int l, double bound, int dir, double factor)
{
	double extreme = dir < 0 ? INFINITY : -INFINITY;
	for (uint32_t k = 0; k < f->n; k++) {
		const fac_rack *r = &f->racks[k];
		if (r->level != l || (dir < 0 ? r->target <= bound : r->target >= bound))
			continue;
		if (dir < 0 ? r->sens < extreme : r->sens > extreme)
			extreme = r->sens;
	}
	if (!isfinite(extreme))
		return false;
	for (uint32_t k = 0; k < f->n; k++) {
		fac_rack *r = &f->racks[k];
		if (r->level != l || (dir < 0 ? r->target <= bound : r->target >= bound))
			continue;
		if (fabs(r->sens - extreme) > 0.1)
			continue;
		double s = r->target * factor;
		r->target = dir < 0 ? (s < bound ? bound : s) : (s > bound ? bound : s);
	}
	return true;
}

/* Keep the grid draw of the next tick under the budget then in force. */
static void control(facility *f, double t_s, double fac_w)
{
	if (f->p.policy == FAC_STATIC || !(fac_w > 0))
		return;
	double target = pc_grid_budget(&f->grid, t_s + f->tick_s);
	double now_budget = pc_grid_budget(&f->grid, t_s);
	if (now_budget < target)
		target = now_budget;
	/* during a grid event the battery covers what it can, and the controller
	 * throttles only for the rest; outside events it plans on the grid alone
	 * (the battery is kept for the events it exists to ride through) */
	bool announced;
	int ev = pc_grid_event_at(&f->grid, t_s, &announced);
	if (f->p.has_battery && ev >= 0 && !announced) {
		double avail = (f->bat.energy_j - f->p.battery.soc_min * f->p.battery.capacity_j) /
			       f->tick_s;
		if (avail > f->p.battery.power_w)
			avail = f->p.battery.power_w;
		if (avail > 0)
			target += avail;
	}
	/* aim below the budget by half the tolerance plus the largest recent rise
	 * of the load from one tick to the next (a decaying maximum, bounded by the
	 * tolerance so that a start-up ramp does not throttle for long), so that a
	 * burst under unchanged caps stays within the tolerance */
	double margin = f->p.tolerance / 2 + (f->jump < f->p.tolerance ? f->jump : f->p.tolerance);
	double desired = target * (1 - margin);
	double err = (desired - fac_w) / fac_w; /* > 0: room to spare */
	double lo = f->p.cap_min, hi = f->p.gpu_cap;
	if (f->p.policy == FAC_PROPORTIONAL) {
		double s = f->level_share[0] * (1 + err);
		s = s < lo ? lo : s > hi ? hi : s;
		for (int l = 0; l < f->n_levels; l++)
			f->level_share[l] = s;
	} else if (err < 0) {
		/* priority, lowest level first; within a level, a greedy allocation
		 * for tokens: the racks whose work depends least on the clock (memory-
		 * bound decode) give power first, since a lower cap costs them the
		 * fewest tokens per watt saved.  A level at the floor is shed, then
		 * the next is capped; the highest level is capped but never shed. */
		for (int l = 0; l < f->n_levels; l++) {
			if (cap_band(f, l, lo, -1, 1 + 2 * err))
				break;
			if (l < f->n_levels - 1 && f->shed_levels <= l) {
				shed_levels(f, l + 1);
				break;
			}
		}
	} else if (err > f->p.tolerance) {
		/* room, highest level first, its most clock-sensitive racks first;
		 * then serve the highest shed level again, then raise its caps */
		for (int l = f->n_levels - 1; l >= 0; l--) {
			if (l >= f->shed_levels && cap_band(f, l, hi, +1, 1 + err))
				break;
			if (l < f->shed_levels) {
				shed_levels(f, l);
				break;
			}
		}
	}
	for (uint32_t k = 0; k < f->n; k++)
		apply_cap(f, k, f->p.policy == FAC_PRIORITY ? f->racks[k].target
							    : f->level_share[f->racks[k].level]);
}

/* --- grid events ---------------------------------------------------------------------- */

static void serving_counts(const facility *f, uint64_t *tok, uint64_t *fin, uint64_t *met)
{
	*tok = *fin = *met = 0;
	if (f->sv) {
		*tok = serving_tokens_out(f->sv);
		serving_finished_counts(f->sv, fin, met);
	}
}

static void events_step(facility *f, double t, double dt, double grid_w)
{
	bool announced;
	int e = pc_grid_event_at(&f->grid, t, &announced);
	bool in_force = e >= 0 && !announced && t <= f->grid.events[e].start_s +
						       f->grid.events[e].duration_s + 1e-9;
	if (e >= 0 && (announced || in_force) && f->cur_event != e && f->n_dr < FAC_MAX_DR) {
		/* a new event is announced (or starts without notice): close the
		 * baseline and open its record */
		const pc_grid_event *ev = &f->grid.events[e];
		dr_record *d = &f->dr[f->n_dr++];
		memset(d, 0, sizeof *d);
		d->start_s = ev->start_s;
		d->end_s = ev->start_s + ev->duration_s;
		d->baseline_w = f->ema_t > 0 ? f->ema_grid_w : grid_w;
		d->asked_w = d->baseline_w - ev->level * f->grid.base_budget_w;
		uint64_t tok, fin, met;
		serving_counts(f, &tok, &fin, &met);
		d->baseline_tok_rate = f->ema_tok_rate;
		d->slo_before = fin > f->pre_fin0 ? (double)(met - f->pre_met0) / (double)(fin - f->pre_fin0)
						  : NAN;
		d->open = true;
		f->cur_event = e;
		char detail[160];
		snprintf(detail, sizeof detail, "budget to %.0f %% for %.0f s from t = %.0f s (notice %.0f s)",
			 100 * ev->level, ev->duration_s, ev->start_s, ev->notice_s);
		fs_error err;
		rec_event(f->sink, t, "grid_event_notice", "site", ev->level * f->grid.base_budget_w, "W",
			  detail, &err);
	}
	dr_record *d = f->n_dr ? &f->dr[f->n_dr - 1] : NULL;
	if (d && d->open) {
		if (t > d->start_s && t - dt < d->end_s) {
			/* the part of this tick inside the event */
			double a = t - dt > d->start_s ? t - dt : d->start_s;
			double b = t < d->end_s ? t : d->end_s;
			if (d->t_sum == 0) {
				serving_counts(f, &d->tok_start, &d->fin_start, &d->met_start);
			}
			d->grid_sum += grid_w * (b - a);
			d->t_sum += b - a;
		}
		if (t >= d->end_s) {
			uint64_t tok, fin, met;
			serving_counts(f, &tok, &fin, &met);
			double mean = d->t_sum > 0 ? d->grid_sum / d->t_sum : NAN;
			d->reduced_w = d->baseline_w - mean;
			d->compliance = d->asked_w > 0 ? d->reduced_w / d->asked_w : NAN;
			double expect = d->baseline_tok_rate * d->t_sum;
			double got = (double)(tok - d->tok_start);
			d->tokens_lost = expect > got ? expect - got : 0;
			d->slo_during = fin > d->fin_start ? (double)(met - d->met_start) /
								(double)(fin - d->fin_start)
							   : NAN;
			d->open = false;
			f->cur_event = -1;
			char detail[160];
			snprintf(detail, sizeof detail,
				 "asked %.3f MW, reduced %.3f MW (compliance %.1f %%), tokens lost %.0f, "
				 "SLO %.1f %% during vs %.1f %% before",
				 d->asked_w / 1e6, d->reduced_w / 1e6, 100 * d->compliance,
				 d->tokens_lost, 100 * d->slo_during, 100 * d->slo_before);
			fs_error err;
			rec_event(f->sink, t, "grid_event_end", "site", d->compliance, "1", detail, &err);
			/* SLO counts restart for the next event's "before" */
			uint64_t t0;
			serving_counts(f, &t0, &f->pre_fin0, &f->pre_met0);
		}
	} else {
		/* baselines follow the site outside events, over about an hour */
		uint64_t tok, fin, met;
		serving_counts(f, &tok, &fin, &met);
		double rate = (double)(tok - f->last_tok) / dt;
		/* a plain mean over the first hour, an exponential one after it */
		double a = 1 - exp(-dt / 3600.0);
		double plain = dt / (f->ema_t + dt);
		if (plain > a)
			a = plain;
		f->ema_grid_w += a * (grid_w - f->ema_grid_w);
		f->ema_tok_rate += a * (rate - f->ema_tok_rate);
		f->ema_t += dt;
	}
	uint64_t tok_now, fin_now, met_now;
	serving_counts(f, &tok_now, &fin_now, &met_now);
	f->last_tok = tok_now;
}

/* --- the tick ------------------------------------------------------------------------- */

static double cool_step(facility *f, double t, double dt, double chain_loss, bool measure);

static void set_rack_state(facility *f, uint32_t k, int state, double t)
{
	fac_rack *r = &f->racks[k];
	if (r->state == state)
		return;
	r->state = state;
	if (state == RACK_BOOTING)
		r->boot_until_s = t + f->p.boot_s;
	if (f->sv)
		serving_set_rack_down(f->sv, k, state != RACK_ON);
}

void facility_tick(facility *f, sim_time now)
{
	double t = sim_to_s(now);
	double dt = sim_to_s(now - f->last);
	if (f->tick_s <= 0 && dt > 0)
		f->tick_s = dt;
	/* the meters count ticks that end after warm-up; the tick ending at the
	 * warm-up still belongs to it */
	bool measure = f->measuring;
	if (!f->measuring && now >= f->warmup) {
		f->measuring = true;
		f->tok0 = f->sv ? serving_tokens_out(f->sv) : 0;
	}
	if (f->sv)
		serving_rack_energy(f->sv, now, f->e_buf);
	double it = 0, gpu = 0, capsum = 0;
	for (uint32_t k = 0; k < f->n; k++) {
		fac_rack *r = &f->racks[k];
		double egpu = f->e_buf[k] - r->gpu_e_last;
		r->gpu_e_last = f->e_buf[k];
		double pg = dt > 0 ? egpu / dt : 0, rack_w = 0;
		if (r->state == RACK_BOOTING && t >= r->boot_until_s)
			set_rack_state(f, k, RACK_ON, t);
		/* the share of the tick the rack was out of service (failed or in
		 * maintenance): its GPUs' energy already shows it (the serving model
		 * stops them); its other equipment is off for that share */
		sim_time out_ns = r->out_ns + (r->out ? now - r->out_since : 0);
		r->out_ns = 0;
		if (r->out)
			r->out_since = now;
		double on = dt > 0 && out_ns > 0 ? 1 - sim_to_s(out_ns) / dt : 1;
		if (r->state == RACK_ON && on < 1) {
			pg += r->idle_unused_w * on;
			double span = r->tdp_all_w - r->idle_all_w;
			double u = span > 0 && on > 0 ? (pg / on - r->idle_all_w) / span : 0;
			u = u > 1 ? 1 : u < 0 ? 0 : u;
			rack_w = pg + on * (r->fixed_w + r->spec->fan_pump_w * (0.3 + 0.7 * u));
		} else if (r->state == RACK_ON) {
			pg += r->idle_unused_w;
			/* fans follow the GPUs' power above idle */
			double span = r->tdp_all_w - r->idle_all_w;
			double u = span > 0 ? (pg - r->idle_all_w) / span : 0;
			u = u > 1 ? 1 : u < 0 ? 0 : u;
			rack_w = pg + r->fixed_w + r->spec->fan_pump_w * (0.3 + 0.7 * u);
		} else if (r->state == RACK_BOOTING) {
			pg = f->p.boot_power_share * r->idle_all_w;
			rack_w = pg + r->fixed_w + 0.3 * r->spec->fan_pump_w;
		} else {
			pg = 0;
		}
		/* through the PSUs, whose efficiency depends on their load */
		double nameplate = r->tdp_all_w + r->fixed_w + r->spec->fan_pump_w;
		if (rack_w > 0)
			rack_w /= psu_efficiency(r->spec->psu_efficiency,
						 nameplate > 0 ? rack_w / nameplate : 1);
		it += rack_w;
		gpu += pg;
		capsum += r->share;
		r->heat_w = rack_w;
		r->gpu_w = r->gpus ? pg / r->gpus : 0;
		rec_set(f->sink, f->id_rpow, k, rack_w);
		rec_set(f->sink, f->id_rcap, k, r->share * r->gpu[0]->tdp_w);
		rec_set(f->sink, f->id_rclock, k, f->sv ? serving_rack_clock(f->sv, k) : 1);
		rec_set(f->sink, f->id_rstate, k, r->out ? 3 : r->state);
	}
	/* the chain, its alarms and trips */
	double utility = it;
	if (f->has_chain) {
		pc_change ch[16];
		size_t nch = 0;
		bool was_down = pc_chain_down(&f->chain);
		utility = pc_chain_eval(&f->chain, it, t, dt, ch, 16, &nch);
		for (size_t i = 0; i < nch; i++) {
			static const char *const kinds[] = { "", "alarm", "alarm_clear", "trip", "reset" };
			const char *kind = ch[i].kind >= 1 && ch[i].kind <= 4 ? kinds[ch[i].kind] : "?";
			char detail[128];
			snprintf(detail, sizeof detail, "%s at %.1f %% of its capacity",
				 f->chain.p[ch[i].stage].name, 100 * ch[i].load_share);
			fs_error err;
			rec_event(f->sink, t, kind, f->chain.p[ch[i].stage].name, ch[i].load_share, "1",
				  detail, &err);
			f->alarms += ch[i].kind == 1;
			f->trips += ch[i].kind == 3;
		}
		for (size_t i = 0; i < f->chain.n; i++) {
			rec_set(f->sink, f->id_stage_load, i, f->chain.s[i].load_share);
			rec_set(f->sink, f->id_stage_loss, i, f->chain.s[i].loss_w);
			if (measure)
				f->e_stage[i] += f->chain.s[i].loss_w * dt;
		}
		bool down = pc_chain_down(&f->chain);
		if (down != was_down)
			for (uint32_t k = 0; k < f->n; k++)
				set_rack_state(f, k, down ? RACK_OFF : RACK_BOOTING, t);
	}
	double loss = utility - it;
	double cool = f->cool ? cool_step(f, t, dt, loss, measure) : f->p.cooling_overhead * it;
	double fac = it + loss + cool;
	double budget = pc_grid_budget(&f->grid, t);
	double dis = 0, chg = 0;
	if (f->p.has_battery && dt > 0) {
		bool announced;
		int e = pc_grid_event_at(&f->grid, t, &announced);
		if (fac > budget)
			dis = pc_battery_discharge(&f->bat, fac - budget, dt);
		else if (e < 0) /* keep it full for announced events */
			chg = pc_battery_charge(&f->bat, budget - fac, dt);
	}
	double grid_w = fac - dis + chg;

	if (measure && dt > 0) {
		f->e_it += it * dt;
		f->e_loss += loss * dt;
		f->e_cool += cool * dt;
		f->e_fac += (it + loss + cool) * dt;
		f->e_grid += grid_w * dt;
		f->cost_energy += grid_w * dt * pc_grid_price(&f->grid, t - dt / 2);
		f->e_gpu += gpu * dt;
		f->bat_in += chg * dt;
		f->bat_out += dis * dt;
		f->t_meas += dt;
		if (it > f->it_peak)
			f->it_peak = it;
		if (fac > f->fac_peak)
			f->fac_peak = fac;
		if (grid_w > f->grid_peak)
			f->grid_peak = grid_w;
		double over = grid_w / budget - 1;
		if (over > f->p.tolerance)
			f->over_s += dt;
		if (over > f->max_over)
			f->max_over = over;
	}
	rec_set(f->sink, f->id_it, 0, it);
	rec_set(f->sink, f->id_loss, 0, loss);
	rec_set(f->sink, f->id_cool, 0, cool);
	rec_set(f->sink, f->id_fac, 0, fac);
	rec_set(f->sink, f->id_grid, 0, grid_w);
	rec_set(f->sink, f->id_budget, 0, budget);
	rec_set(f->sink, f->id_soc, 0, f->p.has_battery ? pc_battery_soc(&f->bat) : NAN);
	rec_set(f->sink, f->id_price, 0, pc_grid_price(&f->grid, t));
	rec_set(f->sink, f->id_share, 0, f->n ? capsum / f->n : 1);

	/* price: hold the low-priority classes while energy is expensive */
	if (f->sv && f->p.defer_price > 0) {
		bool dear = pc_grid_price(&f->grid, t) > f->p.defer_price;
		if (measure && f->deferring)
			f->deferring_s += dt;
		if (dear != f->deferring) {
			f->deferring = dear;
			uint64_t released = 0;
			size_t nc = serving_class_count(f->sv);
			for (size_t c = 0; c < nc; c++)
				if (serving_class_priority(f->sv, (uint32_t)c) <= f->p.defer_priority)
					released += serving_defer_class(f->sv, (uint32_t)c, dear);
			char detail[128];
			if (dear)
				snprintf(detail, sizeof detail,
					 "price above %.0f $/MWh: deferring classes of priority <= %d",
					 f->p.defer_price * 3.6e9, f->p.defer_priority);
			else
				snprintf(detail, sizeof detail,
					 "price back under %.0f $/MWh: released %llu deferred requests",
					 f->p.defer_price * 3.6e9, (unsigned long long)released);
			fs_error err;
			rec_event(f->sink, t, dear ? "defer_start" : "defer_end", "site",
				  pc_grid_price(&f->grid, t), "$/J", detail, &err);
		}
	}
	if (f->sv && f->p.policy == FAC_PRIORITY)
		for (uint32_t k = 0; k < f->n; k++) {
			fac_rack *r = &f->racks[k];
			r->sens += 0.2 * (serving_rack_compute_share(f->sv, k) - r->sens);
		}
	if (dt > 0) {
		double rise = f->last_fac_w > 0 ? fac / f->last_fac_w - 1 : 0;
		f->jump *= 0.95;
		if (rise > f->jump)
			f->jump = rise;
		events_step(f, t, dt, grid_w);
		control(f, t, fac);
	}
	f->last_fac_w = fac;
	f->last_grid_w = grid_w;
	f->last = now;
}

/* --- the cooling plant ------------------------------------------------------------------ */

/* Feed the plant this tick's heat, apply what it says back to the racks
 * (thermal clocks, trips), apply scheduled faults, record; returns the
 * cooling power. */
static double cool_step(facility *f, double t, double dt, double chain_loss, bool measure)
{
	/* scheduled CDU pump failures and their repairs */
	for (size_t i = 0; i < f->p.n_faults; i++) {
		const struct fac_cool_fault *x = &f->p.faults[i];
		fs_error err;
		if (x->at_s > t - dt && x->at_s <= t) {
			char d[128];
			if (x->kind == 1) {
				cooling_fail_rejection(f->cool, x->backup_share);
				snprintf(d, sizeof d, "heat rejection failed (%.0f %% of capacity left), "
						      "repair in %.0f s",
					 100 * x->backup_share, x->repair_s);
			} else {
				cooling_fail_cdu(f->cool, x->cdu, true, x->backup_share);
				snprintf(d, sizeof d, "CDU %d pumps failed (%.0f %% flow left), repair in "
						      "%.0f s",
					 x->cdu, 100 * x->backup_share, x->repair_s);
			}
			rec_event(f->sink, t, x->kind == 1 ? "rejection_failure" : "cdu_failure", "cooling",
				  x->backup_share, "1", d, &err);
		}
		if (x->at_s + x->repair_s > t - dt && x->at_s + x->repair_s <= t) {
			if (x->kind == 1)
				cooling_fail_rejection(f->cool, 1);
			else
				cooling_fail_cdu(f->cool, x->cdu, false, 1);
			rec_event(f->sink, t, x->kind == 1 ? "rejection_repaired" : "cdu_repaired",
				  "cooling", 1, "1", "repaired", &err);
		}
	}
	for (uint32_t k = 0; k < f->n; k++) {
		const fac_rack *r = &f->racks[k];
		f->liq[k] = r->heat_w * r->spec->liquid_share;
		f->air[k] = r->heat_w - f->liq[k];
		f->gpuw[k] = r->gpu_w;
	}
	cool_inputs in = { f->liq, f->air, f->gpuw, chain_loss };
	cool_outputs o;
	fs_error err;
	if (dt <= 0 || cooling_step(f->cool, t + f->p.weather_start_s, dt, &in, &o, &err) != FS_OK) {
		memset(&o, 0, sizeof o);
		return 0;
	}
	if (measure) {
		f->e_cdu_pump += o.cdu_pump_w * dt;
		f->e_fac_pump += o.fac_pump_w * dt;
		f->e_rej_fan += o.rej_fan_w * dt;
		f->e_chiller += o.chiller_w * dt;
		f->e_crah += o.crah_fan_w * dt;
		f->e_chw += o.chw_chiller_w * dt;
		f->water += o.water_kg;
		if (o.compressor_on)
			f->comp_s += dt;
	}
	rec_set(f->sink, f->id_cool_sup, 0, o.fac_supply_c);
	rec_set(f->sink, f->id_cool_ret, 0, o.fac_return_c);
	rec_set(f->sink, f->id_cool_tcs, 0, o.tcs_supply_c);
	rec_set(f->sink, f->id_cool_flow, 0, o.fac_flow_kg_s);
	rec_set(f->sink, f->id_cool_rej, 0, o.heat_rejected_w);
	rec_set(f->sink, f->id_cool_chiller, 0, o.chiller_w + o.chw_chiller_w);
	rec_set(f->sink, f->id_cool_fans, 0, o.rej_fan_w);
	rec_set(f->sink, f->id_cool_pumps, 0, o.cdu_pump_w + o.fac_pump_w);
	rec_set(f->sink, f->id_cool_crah, 0, o.crah_fan_w);
	rec_set(f->sink, f->id_cool_water, 0, dt > 0 ? o.water_kg / dt : 0);
	rec_set(f->sink, f->id_amb_dry, 0, o.dry_c);
	rec_set(f->sink, f->id_amb_wet, 0, o.wet_c);
	rec_set(f->sink, f->id_setpoint, 0, o.setpoint_missed ? 1 : 0);
	if (o.setpoint_missed != f->setpoint_missed) {
		f->setpoint_missed = o.setpoint_missed;
		char d[128];
		snprintf(d, sizeof d, o.setpoint_missed
					      ? "a CDU cannot hold its secondary supply (%.1f degC)"
					      : "CDUs hold their secondary supply again (%.1f degC)",
			 o.tcs_supply_c);
		rec_event(f->sink, t, o.setpoint_missed ? "setpoint_missed" : "setpoint_held", "cooling",
			  o.tcs_supply_c, "degC", d, &err);
	}
	if (measure && o.setpoint_missed)
		f->setpoint_missed_s += dt;

	/* back to the racks: thermal clocks and trips.  The tokens throttling
	 * cost are counted at the site, not per rack: other racks may take over a
	 * throttled rack's load, and then little is lost. */
	bool any_throttled = false;
	for (uint32_t k = 0; k < f->n; k++) {
		fac_rack *r = &f->racks[k];
		double temp = cooling_gpu_temp(f->cool, k);
		double clk = cooling_clock(f->cool, k);
		rec_set(f->sink, f->id_gpu_temp, k, temp);
		rec_set(f->sink, f->id_inlet, k, cooling_rack_inlet(f->cool, k));
		rec_set(f->sink, f->id_tclock, k, clk);
		if (measure && temp > f->gpu_tmax)
			f->gpu_tmax = temp;
		bool throttled = clk < 1 || r->thermal_trip;
		any_throttled |= throttled;
		if (throttled && measure)
			f->throttled_s += dt;
		if (f->sv)
			serving_set_rack_thermal_clock(f->sv, k, clk > 0 ? clk : 1e-3);
		bool trip = cooling_tripped(f->cool, k);
		if (trip != r->thermal_trip) {
			r->thermal_trip = trip;
			char d[128];
			snprintf(d, sizeof d, "GPU at %.1f degC: rack %s", temp,
				 trip ? "trips (over shutdown)" : "cooled below throttle, boots");
			rec_event(f->sink, t, trip ? "thermal_trip" : "thermal_recover", "rack", temp,
				  "degC", d, &err);
			f->thermal_trips += trip;
			if (!pc_chain_down(&f->chain) || !f->has_chain)
				set_rack_state(f, k, trip ? RACK_OFF : RACK_BOOTING, t);
		}
	}
	uint64_t tok = f->sv ? serving_tokens_out(f->sv) : 0;
	double rate = dt > 0 ? (double)(tok - f->site_tok_last) / dt : 0;
	f->site_tok_last = tok;
	if (any_throttled) {
		if (measure && f->site_tok_rate > rate)
			f->throttle_lost += (f->site_tok_rate - rate) * dt;
	} else {
		/* about a ten-minute memory at a 10 s tick */
		f->site_tok_rate += (f->site_tok_rate > 0 ? 0.02 : 1.0) * (rate - f->site_tok_rate);
	}
	return o.power_w;
}

/* --- results --------------------------------------------------------------------------- */

void facility_result(facility *f, fac_result *o)
{
	memset(o, 0, sizeof *o);
	double T = f->t_meas;
	o->measured_s = T;
	o->e_it_j = f->e_it;
	o->e_loss_j = f->e_loss;
	o->e_cool_j = f->e_cool;
	o->e_facility_j = f->e_fac;
	o->e_grid_j = f->e_grid;
	o->e_gpu_j = f->e_gpu;
	o->battery_in_j = f->bat_in;
	o->battery_out_j = f->bat_out;
	o->it_mean_w = T > 0 ? f->e_it / T : NAN;
	o->facility_mean_w = T > 0 ? f->e_fac / T : NAN;
	o->it_peak_w = f->it_peak;
	o->facility_peak_w = f->fac_peak;
	o->grid_peak_w = f->grid_peak;
	o->budget_w = f->p.budget_w;
	o->stranded_mean_w = f->p.budget_w - o->facility_mean_w;
	o->stranded_peak_w = f->p.budget_w - f->fac_peak;
	o->pue = f->e_it > 0 ? f->e_fac / f->e_it : NAN;
	o->tokens = f->sv ? serving_tokens_out(f->sv) - f->tok0 : 0;
	o->tokens_per_s = T > 0 ? (double)o->tokens / T : NAN;
	o->tokens_per_s_per_mw_it = o->tokens_per_s / (o->it_mean_w / 1e6);
	o->tokens_per_s_per_mw_facility = o->tokens_per_s / (o->facility_mean_w / 1e6);
	o->tokens_per_s_per_mw_provisioned = o->tokens_per_s / (f->p.budget_w / 1e6);
	o->tokens_per_mwh = f->e_fac > 0 ? (double)o->tokens / (f->e_fac / 3.6e9) : NAN;
	o->j_per_token = o->tokens ? f->e_fac / (double)o->tokens : NAN;
	/* energy is bought at the grid meter at the price in force at each tick */
	o->energy_cost = f->cost_energy;
	o->capex_cost = f->p.capex_per_s * T;
	o->opex_cost = f->p.opex_per_s * T;
	o->cost_per_mtok = o->tokens ? (o->energy_cost + o->capex_cost + o->opex_cost) /
					       ((double)o->tokens / 1e6)
				     : NAN;
	o->over_budget_s = f->over_s;
	o->max_over_budget = f->max_over;
	o->trips = f->trips;
	o->deferring_s = f->deferring_s;
	o->has_cooling = f->cool != NULL;
	o->e_cdu_pump_j = f->e_cdu_pump;
	o->e_fac_pump_j = f->e_fac_pump;
	o->e_rej_fan_j = f->e_rej_fan;
	o->e_chiller_j = f->e_chiller;
	o->e_crah_j = f->e_crah;
	o->e_chw_j = f->e_chw;
	o->water_kg = f->water;
	o->compressor_s = f->comp_s;
	o->throttled_rack_s = f->throttled_s;
	o->throttle_tokens_lost = f->throttle_lost;
	o->gpu_temp_max_c = f->gpu_tmax;
	o->thermal_trips = f->thermal_trips;
	o->setpoint_missed_s = f->setpoint_missed_s;
	o->alarms = f->alarms;
	o->cooling_overhead = f->p.cooling_overhead;
	o->n_stages = f->chain.n;
	for (size_t i = 0; i < f->chain.n; i++) {
		o->e_stage_j[i] = f->e_stage[i];
		snprintf(o->stage_name[i], sizeof o->stage_name[i], "%s", f->chain.p[i].name);
	}
	o->n_events = (size_t)f->n_dr;
	for (int i = 0; i < f->n_dr && i < FAC_RESULT_EVENTS; i++) {
		const dr_record *d = &f->dr[i];
		fac_event_result *e = &o->events[i];
		e->start_s = d->start_s;
		e->end_s = d->end_s;
		e->asked_w = d->asked_w;
		e->reduced_w = d->reduced_w;
		e->compliance = d->compliance;
		e->tokens_lost = d->tokens_lost;
		e->slo_before = d->slo_before;
		e->slo_during = d->slo_during;
		e->complete = !d->open;
	}
}

int facility_result_record(const fac_result *r, rec_sink *sink, fs_error *err)
{
	struct {
		const char *k;
		double v;
		const char *u, *d;
	} rows[] = {
		{ "energy_it", r->e_it_j, "J", "IT energy after warm-up (rack inputs)" },
		{ "energy_gpu", r->e_gpu_j, "J", "GPU energy after warm-up (inside IT)" },
		{ "energy_losses", r->e_loss_j, "J", "power-chain losses after warm-up" },
		{ "energy_cooling", r->e_cool_j, "J",
		  "cooling energy: the plant's, or a FIXED share of IT without a plant" },
		{ "energy_facility", r->e_facility_j, "J", "IT + losses + cooling" },
		{ "energy_grid", r->e_grid_j, "J", "from the grid (battery included)" },
		{ "it_power_mean", r->it_mean_w, "W", "mean IT power" },
		{ "it_power_peak", r->it_peak_w, "W", "peak tick-mean IT power" },
		{ "facility_power_mean", r->facility_mean_w, "W", "mean facility power" },
		{ "facility_power_peak", r->facility_peak_w, "W", "peak tick-mean facility power" },
		{ "provisioned_power", r->budget_w, "W", "site power budget (interconnect)" },
		{ "stranded_power_mean", r->stranded_mean_w, "W", "provisioned - mean facility power" },
		{ "stranded_power_peak", r->stranded_peak_w, "W", "provisioned - peak facility power" },
		{ "pue", r->pue, "1",
		  r->has_cooling ? "facility / IT energy; boundary: the site (IT, power chain, pumps, "
				   "fans, chillers, CRAHs)"
				 : "facility / IT energy; cooling is a FIXED share of IT (no plant model)" },
		{ "tokens", (double)r->tokens, "1", "output tokens generated after warm-up" },
		{ "tokens_per_s", r->tokens_per_s, "1/s", "output tokens per second" },
		{ "tokens_per_s_per_mw_it", r->tokens_per_s_per_mw_it, "1/(s MW)",
		  "output tokens per second per MW of IT power" },
		{ "tokens_per_s_per_mw_facility", r->tokens_per_s_per_mw_facility, "1/(s MW)",
		  "output tokens per second per MW at the facility meter" },
		{ "tokens_per_s_per_mw_provisioned", r->tokens_per_s_per_mw_provisioned, "1/(s MW)",
		  "output tokens per second per provisioned MW" },
		{ "tokens_per_mwh", r->tokens_per_mwh, "1/MWh", "output tokens per facility MWh" },
		{ "j_per_token", r->j_per_token, "J", "facility energy per output token" },
		{ "cost_energy", r->energy_cost, "$", "energy bought" },
		{ "cost_capex", r->capex_cost, "$", "capital amortised over the window" },
		{ "cost_opex", r->opex_cost, "$", "other operating cost over the window" },
		{ "cost_per_million_tokens", r->cost_per_mtok, "$", "total cost per million output tokens" },
		{ "over_budget_time", r->over_budget_s, "s", "time with grid draw above budget x (1 + tolerance)" },
		{ "trips", (double)r->trips, "1", "power-chain trips" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "power/%s", rows[i].k);
		int rc = rec_summary(sink, name, rows[i].v, rows[i].u, rows[i].d, err);
		if (rc)
			return rc;
	}
	if (r->has_cooling) {
		struct {
			const char *k;
			double v;
			const char *u, *d;
		} c[] = {
			{ "cooling/energy_cdu_pumps", r->e_cdu_pump_j, "J", "CDU pumps" },
			{ "cooling/energy_facility_pumps", r->e_fac_pump_j, "J", "facility water pumps" },
			{ "cooling/energy_rejection_fans", r->e_rej_fan_j, "J", "dry cooler or tower fans" },
			{ "cooling/energy_trim_chiller", r->e_chiller_j, "J", "trim chiller compressors" },
			{ "cooling/energy_crah_fans", r->e_crah_j, "J", "air-side CRAH fans" },
			{ "cooling/energy_air_chiller", r->e_chw_j, "J", "air-side chilled-water compressors" },
			{ "cooling/water", r->water_kg, "kg", "water evaporated and blown down" },
			{ "cooling/compressor_hours", r->compressor_s / 3600, "h",
			  "hours the trim chiller ran" },
			{ "cooling/throttled_rack_hours", r->throttled_rack_s / 3600, "h",
			  "rack-hours with GPUs thermally throttled or tripped" },
			{ "cooling/throttle_tokens_lost", r->throttle_tokens_lost, "1",
			  "tokens throttled racks did not produce, against their rate before" },
			{ "cooling/gpu_temperature_max", r->gpu_temp_max_c, "degC", "hottest GPU" },
			{ "cooling/thermal_trips", (double)r->thermal_trips, "1", "racks tripped on temperature" },
			{ "cooling/setpoint_missed_hours", r->setpoint_missed_s / 3600, "h",
			  "hours some CDU could not hold its secondary supply setpoint" },
		};
		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
			char name[96];
			snprintf(name, sizeof name, "power/%s", c[i].k);
			int rc = rec_summary(sink, name, c[i].v, c[i].u, c[i].d, err);
			if (rc)
				return rc;
		}
	}
	for (size_t i = 0; i < r->n_stages; i++) {
		char name[96], desc[128];
		snprintf(name, sizeof name, "power/stage_%zu_%s_losses", i, r->stage_name[i]);
		snprintf(desc, sizeof desc, "losses of chain stage %zu (%s) after warm-up", i,
			 r->stage_name[i]);
		int rc = rec_summary(sink, name, r->e_stage_j[i], "J", desc, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < r->n_events && i < FAC_RESULT_EVENTS; i++) {
		const fac_event_result *e = &r->events[i];
		struct {
			const char *k;
			double v;
			const char *u, *d;
		} ev[] = {
			{ "asked", e->asked_w, "W", "reduction asked: baseline grid draw - event budget" },
			{ "reduced", e->reduced_w, "W", "baseline - mean grid draw during the event" },
			{ "compliance", e->compliance, "1", "reduced / asked" },
			{ "tokens_lost", e->tokens_lost, "1", "output tokens below the baseline rate" },
			{ "slo_before", e->slo_before, "1", "SLO attainment before the event" },
			{ "slo_during", e->slo_during, "1", "SLO attainment of requests finished during it" },
		};
		for (size_t j = 0; j < sizeof ev / sizeof ev[0]; j++) {
			char name[96];
			snprintf(name, sizeof name, "power/grid_event_%zu/%s", i, ev[j].k);
			int rc = rec_summary(sink, name, ev[j].v, ev[j].u, ev[j].d, err);
			if (rc)
				return rc;
		}
	}
	return FS_OK;
}

/* --- faults ----------------------------------------------------------------------------- */

void facility_set_rack_out(facility *f, uint32_t rack, bool out)
{
	if (!f || rack >= f->n || f->racks[rack].out == out)
		return;
	fac_rack *r = &f->racks[rack];
	sim_time now = sim_now(f->s);
	if (out)
		r->out_since = now;
	else
		r->out_ns += now - r->out_since;
	r->out = out;
}
