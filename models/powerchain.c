/*
 * powerchain.c - the electrical side of the site (see powerchain.h): the
 * distribution chain with its losses and protection, the battery's energy
 * books, and the grid's budget, demand-response events and prices.
 *
 * Chain.  A stage's installed units (N, N+1 or 2N) share its load equally and
 * each has no-load, proportional and quadratic losses; the capacity checked
 * for alarms and trips is the design capacity N x rating (redundant units are
 * there for failures, not for extra load).  Every evaluation covers the
 * interval (t - dt, t]: it first decides which stages are dead (a stage
 * tripped before the call and everything downstream of it carries nothing and
 * loses nothing, while the stages above it keep their no-load losses), then
 * computes loads from the racks upwards, and last updates the protection at
 * the end of the interval, at t: the alarm follows load_share > alarm_share,
 * a stage trips above trip_share at once or after more than trip_after_s
 * above its capacity, and a tripped stage recloses at the end of the first
 * interval that ends at or after tripped_until.  So the racks lose exactly the
 * intervals (t_trip, t_trip + reset_after_s] when that is a multiple of the
 * tick.  Utility input = IT power + the sum of the stage losses, by
 * construction (each stage's input is its load plus its loss).
 *
 * Battery.  One-way efficiency sqrt(round_trip): a discharge of P for dt
 * takes P dt / eta out of the store, a charge of P stores P dt eta.  Limits by
 * power and by the state-of-charge bounds; a bound reached within the step
 * ends the transfer exactly at the bound, and the power returned is the
 * average over the step.  lost_j is recomputed after every call as
 * charged - discharged - (stored now - stored initially), so the books close
 * exactly.
 *
 * Grid.  The budget is the base times the lowest factor of all events (1
 * outside them): the event's level during [start, start + duration], linear
 * ramps from 1 to the level over ramp_s before the start and back over ramp_s
 * after the end.  Prices are piecewise constant; the CSV reader takes $/MWh.
 */
#include "powerchain.h"
#include "textfield.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_DEFAULT_ALARM 0.9
#define PC_DEFAULT_TRIP 1.25
#define PC_DEFAULT_RESET_S 3600.0
#define PC_MAX_UNITS 100000
#define PC_J_PER_MWH 3.6e9
#define PC_CSV_LINE_MAX 1024

/* --- chain ---------------------------------------------------------------------- */

int pc_stage_installed(const pc_stage_params *p)
{
	switch (p->redundancy) {
	case PC_N1: return p->units + 1;
	case PC_2N: return 2 * p->units;
	default: return p->units;
	}
}

double pc_stage_loss(const pc_stage_params *p, double load_w)
{
	int m = pc_stage_installed(p);
	if (m <= 0 || !(p->rating_w > 0))
		return 0.0;
	double load = load_w > 0 ? load_w : 0.0; /* NaN and negative: nothing carried */
	double pu = load / m;
	double per_unit = p->noload_share * p->rating_w + p->k_linear * pu +
			  p->r_quadratic * pu * pu / p->rating_w;
	return m * per_unit;
}

static double stage_capacity(const pc_stage_params *p)
{
	return p->units * p->rating_w;
}

static int bad_stage(fs_error *err, size_t i, const char *key, const char *fmt, double v,
		     const char *expected)
{
	char k[64];
	char what[96];
	snprintf(k, sizeof k, "power.chain[%zu].%s", i, key);
	snprintf(what, sizeof what, fmt, v);
	return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, k, "%s; expected %s", what, expected);
}

static int check_stage(pc_stage_params *q, size_t i, fs_error *err)
{
	if (!(q->rating_w > 0) || !isfinite(q->rating_w))
		return bad_stage(err, i, "rating", "%g W is not a positive finite power",
				 q->rating_w, "a unit rating > 0 W");
	if (q->units < 1 || q->units > PC_MAX_UNITS)
		return bad_stage(err, i, "units", "%g units is out of range", (double)q->units,
				 "1 to 100000 units");
	if (q->redundancy != PC_N && q->redundancy != PC_N1 && q->redundancy != PC_2N)
		return bad_stage(err, i, "redundancy", "%g is not a redundancy",
				 (double)q->redundancy, "N, N+1 or 2N");
	if (!(q->noload_share >= 0) || !isfinite(q->noload_share))
		return bad_stage(err, i, "noload", "%g is not a share >= 0", q->noload_share,
				 "a no-load loss share of the unit rating >= 0");
	if (!(q->k_linear >= 0) || !isfinite(q->k_linear))
		return bad_stage(err, i, "k", "%g is not a coefficient >= 0", q->k_linear,
				 "a proportional loss coefficient >= 0");
	if (!(q->r_quadratic >= 0) || !isfinite(q->r_quadratic))
		return bad_stage(err, i, "r", "%g is not a coefficient >= 0", q->r_quadratic,
				 "a quadratic loss coefficient >= 0");
	if (q->trip_share == 0)
		q->trip_share = PC_DEFAULT_TRIP;
	if (q->alarm_share == 0)
		q->alarm_share = PC_DEFAULT_ALARM;
	if (q->reset_after_s == 0)
		q->reset_after_s = PC_DEFAULT_RESET_S;
	if (!(q->trip_share >= 1) || !isfinite(q->trip_share))
		return bad_stage(err, i, "trip", "%g is below 1", q->trip_share,
				 "an instant-trip share of capacity >= 1 (default 1.25)");
	if (!(q->alarm_share > 0) || !(q->alarm_share <= q->trip_share))
		return bad_stage(err, i, "alarm", "%g is out of range", q->alarm_share,
				 "an alarm share of capacity > 0 and <= the trip share (default 0.9)");
	if (!(q->trip_after_s >= 0) || !isfinite(q->trip_after_s))
		return bad_stage(err, i, "trip_after", "%g s is not a time >= 0", q->trip_after_s,
				 "a sustained-overload time >= 0 s");
	if (!(q->reset_after_s > 0) || !isfinite(q->reset_after_s))
		return bad_stage(err, i, "reset_after", "%g s is not a time > 0",
				 q->reset_after_s, "a reset time > 0 s (default 3600 s)");
	return FS_OK;
}

int pc_chain_init(pc_chain *c, const pc_stage_params *stages, size_t n, fs_error *err)
{
	memset(c, 0, sizeof *c);
	if (n > PC_MAX_STAGES)
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "power.chain",
				    "%zu stages are too many; expected at most %d", n,
				    PC_MAX_STAGES);
	if (n > 0 && !stages)
		return fs_error_msg(err, FS_ERR_INTERNAL, "pc_chain_init: no stages given");
	for (size_t i = 0; i < n; i++) {
		pc_stage_params q = stages[i];
		q.name[PC_NAME_LEN - 1] = '\0';
		int rc = check_stage(&q, i, err);
		if (rc) {
			memset(c, 0, sizeof *c);
			return rc;
		}
		c->p[i] = q;
	}
	c->n = n;
	return FS_OK;
}

static void note_change(pc_change *changes, size_t max_changes, size_t *used, size_t i, int kind,
			double share)
{
	if (changes && *used < max_changes) {
		changes[*used].stage = (int)i;
		changes[*used].kind = kind;
		changes[*used].load_share = share;
		(*used)++;
	}
}

double pc_chain_eval(pc_chain *c, double it_w, double t_s, double dt_s, pc_change *changes,
		     size_t max_changes, size_t *n_changes)
{
	size_t used = 0;
	double dt = dt_s > 0 ? dt_s : 0.0;
	/* stages 0 .. dead-1 are without power for this interval */
	size_t dead = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->s[i].tripped)
			dead = i + 1;
	double below = dead > 0 ? 0.0 : (it_w > 0 ? it_w : 0.0);
	for (size_t i = 0; i < c->n; i++) {
		const pc_stage_params *p = &c->p[i];
		pc_stage_state *s = &c->s[i];
		if (i < dead) {
			s->load_w = 0;
			s->loss_w = 0;
			s->input_w = 0;
		} else {
			s->load_w = below;
			s->loss_w = pc_stage_loss(p, below);
			s->input_w = s->load_w + s->loss_w;
		}
		below = s->input_w;
		s->load_share = s->load_w / stage_capacity(p);

		/* protection, at the end of the interval */
		bool alarm = s->load_share > p->alarm_share;
		if (alarm != s->alarm) {
			s->alarm = alarm;
			note_change(changes, max_changes, &used, i, alarm ? 1 : 2, s->load_share);
		}
		if (s->tripped) {
			if (t_s >= s->tripped_until_s) {
				s->tripped = false;
				s->overload_s = 0;
				note_change(changes, max_changes, &used, i, 4, s->load_share);
			}
			continue;
		}
		if (s->load_share > 1)
			s->overload_s += dt;
		else
			s->overload_s = 0;
		if (s->load_share > p->trip_share || s->overload_s > p->trip_after_s) {
			s->tripped = true;
			s->tripped_until_s = t_s + p->reset_after_s;
			note_change(changes, max_changes, &used, i, 3, s->load_share);
		}
	}
	if (n_changes)
		*n_changes = used;
	return c->n > 0 ? below : (it_w > 0 ? it_w : 0.0);
}

bool pc_chain_down(const pc_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->s[i].tripped)
			return true;
	return false;
}

double pc_chain_loss(const pc_chain *c)
{
	double sum = 0;
	for (size_t i = 0; i < c->n; i++)
		sum += c->s[i].loss_w;
	return sum;
}

/* --- battery -------------------------------------------------------------------- */

static int bad_battery(fs_error *err, const char *key, double v, const char *expected)
{
	char k[64];
	snprintf(k, sizeof k, "power.battery.%s", key);
	return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, k, "%g is out of range; expected %s", v,
			    expected);
}

int pc_battery_init(pc_battery *b, const pc_battery_params *p, fs_error *err)
{
	memset(b, 0, sizeof *b);
	if (!(p->capacity_j > 0) || !isfinite(p->capacity_j))
		return bad_battery(err, "capacity", p->capacity_j, "an energy > 0 J");
	if (!(p->power_w > 0) || !isfinite(p->power_w))
		return bad_battery(err, "power", p->power_w, "a power > 0 W");
	if (!(p->round_trip > 0 && p->round_trip <= 1))
		return bad_battery(err, "round_trip", p->round_trip,
				   "a round-trip efficiency > 0 and <= 1");
	if (!(p->soc_min >= 0 && p->soc_min < 1))
		return bad_battery(err, "soc_min", p->soc_min, "a share >= 0 and < 1");
	if (!(p->soc_max > p->soc_min && p->soc_max <= 1))
		return bad_battery(err, "soc_max", p->soc_max,
				   "a share above soc_min and <= 1");
	if (!(p->soc_initial >= p->soc_min && p->soc_initial <= p->soc_max))
		return bad_battery(err, "soc_initial", p->soc_initial,
				   "a share between soc_min and soc_max");
	b->p = *p;
	b->energy_j = p->soc_initial * p->capacity_j;
	return FS_OK;
}

static void battery_books(pc_battery *b)
{
	double initial = b->p.soc_initial * b->p.capacity_j;
	b->lost_j = b->charged_j - b->discharged_j - (b->energy_j - initial);
}

double pc_battery_discharge(pc_battery *b, double want_w, double dt_s)
{
	if (!(want_w > 0) || !(dt_s > 0) || !isfinite(dt_s))
		return 0.0;
	double p = want_w < b->p.power_w ? want_w : b->p.power_w;
	double eta = sqrt(b->p.round_trip);
	double floor_j = b->p.soc_min * b->p.capacity_j;
	double avail = b->energy_j - floor_j;
	if (!(avail > 0))
		return 0.0;
	double out = p * dt_s; /* delivered to the load */
	double drop = out / eta;
	if (drop >= avail) {
		out = avail * eta;
		p = out / dt_s;
		b->energy_j = floor_j;
	} else {
		b->energy_j -= drop;
	}
	b->discharged_j += out;
	battery_books(b);
	return p;
}

double pc_battery_charge(pc_battery *b, double offer_w, double dt_s)
{
	if (!(offer_w > 0) || !(dt_s > 0) || !isfinite(dt_s))
		return 0.0;
	double p = offer_w < b->p.power_w ? offer_w : b->p.power_w;
	double eta = sqrt(b->p.round_trip);
	double ceil_j = b->p.soc_max * b->p.capacity_j;
	double room = ceil_j - b->energy_j;
	if (!(room > 0))
		return 0.0;
	double in = p * dt_s; /* drawn from the grid */
	double gain = in * eta;
	if (gain >= room) {
		in = room / eta;
		p = in / dt_s;
		b->energy_j = ceil_j;
	} else {
		b->energy_j += gain;
	}
	b->charged_j += in;
	battery_books(b);
	return p;
}

double pc_battery_soc(const pc_battery *b)
{
	return b->p.capacity_j > 0 ? b->energy_j / b->p.capacity_j : 0.0;
}

/* --- grid ----------------------------------------------------------------------- */

static int bad_event(fs_error *err, size_t i, const char *key, double v, const char *expected)
{
	char k[64];
	snprintf(k, sizeof k, "power.grid.events[%zu].%s", i, key);
	return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, k, "%g is out of range; expected %s", v,
			    expected);
}

int pc_grid_init(pc_grid *g, double base_budget_w, const pc_grid_event *events, size_t n_events,
		 const pc_price_point *prices, size_t n_prices, double flat_price, fs_error *err)
{
	memset(g, 0, sizeof *g);
	if (!(base_budget_w > 0) || !isfinite(base_budget_w))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "power.grid.budget",
				    "%g W is out of range; expected a power > 0 W", base_budget_w);
	if (!isfinite(flat_price))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "power.grid.price",
				    "%g is not a finite price; expected a price in $/MWh",
				    flat_price * PC_J_PER_MWH);
	if ((n_events && !events) || (n_prices && !prices))
		return fs_error_msg(err, FS_ERR_INTERNAL, "pc_grid_init: missing arrays");
	for (size_t i = 0; i < n_events; i++) {
		const pc_grid_event *e = &events[i];
		if (!isfinite(e->start_s))
			return bad_event(err, i, "start", e->start_s, "a finite time");
		if (!(e->duration_s >= 0) || !isfinite(e->duration_s))
			return bad_event(err, i, "duration", e->duration_s, "a time >= 0 s");
		if (!(e->level >= 0 && e->level <= 1))
			return bad_event(err, i, "level", e->level,
					 "a share of the base budget between 0 and 1");
		if (!(e->notice_s >= 0) || !isfinite(e->notice_s))
			return bad_event(err, i, "notice", e->notice_s, "a time >= 0 s");
		if (!(e->ramp_s >= 0) || !isfinite(e->ramp_s))
			return bad_event(err, i, "ramp", e->ramp_s, "a time >= 0 s");
	}
	for (size_t i = 0; i < n_prices; i++)
		if (!isfinite(prices[i].t_s) || !isfinite(prices[i].price))
			return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "price",
					    "point %zu (%g s, %g $/MWh) is not finite; expected "
					    "finite times and prices",
					    i, prices[i].t_s, prices[i].price * PC_J_PER_MWH);
	if (n_events) {
		g->events = malloc(n_events * sizeof *g->events);
		if (!g->events)
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory for grid events");
		/* insertion sort by start: stable, and the lists are short */
		for (size_t i = 0; i < n_events; i++) {
			size_t j = i;
			while (j > 0 && g->events[j - 1].start_s > events[i].start_s) {
				g->events[j] = g->events[j - 1];
				j--;
			}
			g->events[j] = events[i];
		}
		g->n_events = n_events;
	}
	if (n_prices) {
		g->prices = malloc(n_prices * sizeof *g->prices);
		if (!g->prices) {
			pc_grid_clear(g);
			return fs_error_msg(err, FS_ERR_NOMEM, "out of memory for prices");
		}
		for (size_t i = 0; i < n_prices; i++) {
			size_t j = i;
			while (j > 0 && g->prices[j - 1].t_s > prices[i].t_s) {
				g->prices[j] = g->prices[j - 1];
				j--;
			}
			g->prices[j] = prices[i];
		}
		g->n_prices = n_prices;
		for (size_t i = 1; i < n_prices; i++)
			if (g->prices[i].t_s == g->prices[i - 1].t_s) {
				double t = g->prices[i].t_s;
				pc_grid_clear(g);
				return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "price",
						    "two prices at %g s; expected one price per "
						    "time",
						    t);
			}
	}
	g->base_budget_w = base_budget_w;
	g->flat_price = flat_price;
	return FS_OK;
}

void pc_grid_clear(pc_grid *g)
{
	if (!g)
		return;
	free(g->events);
	free(g->prices);
	memset(g, 0, sizeof *g);
}

/* The budget factor of one event at t: 1 outside, the level inside, linear
 * ramps on both sides. */
static double event_factor(const pc_grid_event *e, double t)
{
	double start = e->start_s, end = e->start_s + e->duration_s;
	if (t >= start && t <= end)
		return e->level;
	if (e->ramp_s > 0) {
		if (t < start && t >= start - e->ramp_s)
			return 1.0 + (e->level - 1.0) * (t - (start - e->ramp_s)) / e->ramp_s;
		if (t > end && t <= end + e->ramp_s)
			return e->level + (1.0 - e->level) * (t - end) / e->ramp_s;
	}
	return 1.0;
}

double pc_grid_budget(const pc_grid *g, double t_s)
{
	double f = 1.0;
	for (size_t i = 0; i < g->n_events; i++) {
		double fi = event_factor(&g->events[i], t_s);
		if (fi < f)
			f = fi;
	}
	return g->base_budget_w * f;
}

int pc_grid_event_at(const pc_grid *g, double t_s, bool *announced)
{
	/* An event is "at" t from its announcement (or the start of its ramp,
	 * whichever is earlier) to the end of its ramp back up.  In force beats
	 * announced; among events in force the lowest factor at t wins (the
	 * earliest on ties); among announced ones the earliest start. */
	int best = -1;
	bool best_ann = false;
	double best_f = 2.0;
	for (size_t i = 0; i < g->n_events; i++) {
		const pc_grid_event *e = &g->events[i];
		double lead = e->notice_s > e->ramp_s ? e->notice_s : e->ramp_s;
		double from = e->start_s - lead;
		double to = e->start_s + e->duration_s + e->ramp_s;
		if (!(t_s >= from && t_s <= to))
			continue;
		bool ann = t_s < e->start_s;
		if (ann) {
			if (best < 0) {
				best = (int)i;
				best_ann = true;
			}
			continue;
		}
		double f = event_factor(e, t_s);
		if (best < 0 || best_ann || f < best_f) {
			best = (int)i;
			best_ann = false;
			best_f = f;
		}
	}
	if (announced)
		*announced = best >= 0 && best_ann;
	return best;
}

double pc_grid_price(const pc_grid *g, double t_s)
{
	if (g->n_prices == 0)
		return g->flat_price;
	if (!(t_s >= g->prices[0].t_s))
		return g->prices[0].price;
	/* the last point with t <= t_s */
	size_t lo = 0, hi = g->n_prices; /* prices[lo].t_s <= t_s < prices[hi].t_s */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->prices[mid].t_s <= t_s)
			lo = mid;
		else
			hi = mid;
	}
	return g->prices[lo].price;
}

/* --- price CSV ------------------------------------------------------------------ */

#define PRICE_FORMAT "time_s,price_per_mwh"




typedef struct price_vec {
	pc_price_point *v;
	size_t n, cap;
} price_vec;

static int price_push(price_vec *pv, double t, double price)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? 2 * pv->cap : 64;
		pc_price_point *v = realloc(pv->v, cap * sizeof *v);
		if (!v)
			return -1;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n].t_s = t;
	pv->v[pv->n].price = price;
	pv->n++;
	return 0;
}


/* One data or header line; returns FS_OK, an error code, or -1 for "header". */
static int price_line(const char *path, int lineno, const char *line, size_t n, size_t off,
		      bool header_ok, price_vec *pv, fs_error *err)
{
	char q[64];
	const char *comma = memchr(line, ',', n);
	size_t len0 = comma ? (size_t)(comma - line) : n;
	double t, price;
	if (!textfield_number(line, len0, &t)) {
		/* a header: the first line whose first field is not a number */
		if (header_ok) {
			size_t i = 0;
			while (i < len0 && textfield_blank(line[i]))
				i++;
			if (i < len0 && (isalpha((unsigned char)line[i]) || line[i] == '_' ||
					 line[i] == '"'))
				return -1;
		}
		textfield_quote(q, sizeof q, line, len0);
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + 1), "price",
				    "'%s' is not a time; expected %s with the time in seconds",
				    q, PRICE_FORMAT);
	}
	if (!comma)
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + n + 1), "price",
				    "missing the price column; expected %s", PRICE_FORMAT);
	size_t at = len0 + 1;
	const char *comma2 = memchr(line + at, ',', n - at);
	size_t len1 = comma2 ? (size_t)(comma2 - (line + at)) : n - at;
	if (comma2) {
		size_t x = at + len1 + 1;
		textfield_quote(q, sizeof q, line + x, n - x);
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + x + 1), "price",
				    "'%s' is an extra field; expected %s", q, PRICE_FORMAT);
	}
	if (!textfield_number(line + at, len1, &price)) {
		textfield_quote(q, sizeof q, line + at, len1);
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + at + 1), "price",
				    "'%s' is not a number; expected %s with the price in $/MWh",
				    q, PRICE_FORMAT);
	}
	if (t < 0) {
		textfield_quote(q, sizeof q, line, len0);
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + 1), "price",
				    "time '%s' is negative; expected times >= 0 s", q);
	}
	if (pv->n > 0 && !(t > pv->v[pv->n - 1].t_s)) {
		textfield_quote(q, sizeof q, line, len0);
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + 1), "price",
				    "time '%s' is not after the previous time %.17g s; expected "
				    "strictly increasing times",
				    q, pv->v[pv->n - 1].t_s);
	}
	if (price_push(pv, t, price / PC_J_PER_MWH))
		return fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory reading prices", path);
	return FS_OK;
}

int pc_price_read_csv(const char *path, pc_price_point **out, size_t *n, fs_error *err)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fs_error_set(err, FS_ERR_IO, path, 0, 0, "price",
				    "cannot open the price series; expected a readable file");
	char line[PC_CSV_LINE_MAX + 1];
	int lineno = 0, r, rc = FS_OK;
	bool header_ok = true;
	price_vec pv = {0};
	const char *s;
	size_t m, off;
	while ((r = textfield_content_line(f, line, sizeof line, &lineno, &s, &m, &off)) == 1) {
		rc = price_line(path, lineno, s, m, off, header_ok, &pv, err);
		header_ok = false;
		if (rc == -1)
			rc = FS_OK;
		else if (rc)
			break;
	}
	if (r == -1)
		rc = fs_error_set(err, FS_ERR_INPUT, path, lineno + 1, 1, "price",
				  "line longer than %d bytes; expected one %s per line",
				  PC_CSV_LINE_MAX, PRICE_FORMAT);
	else if (rc == FS_OK && ferror(f))
		rc = fs_error_set(err, FS_ERR_IO, path, 0, 0, "price", "read error");
	else if (rc == FS_OK && pv.n == 0)
		rc = fs_error_set(err, FS_ERR_INPUT, path, 0, 0, "price",
				  "no prices; expected at least one line %s", PRICE_FORMAT);
	fclose(f);
	if (rc) {
		free(pv.v);
		return rc;
	}
	*out = pv.v;
	*n = pv.n;
	return FS_OK;
}
