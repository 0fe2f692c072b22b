/*
 * cooling.c - the liquid-cooling plant (see cooling.h): rack loops, CDUs, the
 * facility water loop, heat rejection (dry coolers or towers, optional trim
 * chiller), the air side, the GPUs' thermal lag, throttling and trips, and the
 * ambient weather the plant rejects its heat into.
 *
 * Purpose.  The facility asks, tick by tick, what it costs to remove the heat
 * its racks make and how hot their GPUs get.  The plant is a chain of lumped
 * thermal masses, each a well-mixed tank, integrated with GSL's rk8pd over
 * the tick with the tick's heat inputs (and the ambient, taken at the tick's
 * midpoint) held constant; the controls (CDU valves, dry-cooler fans, trim
 * chiller) are static functions of the state, so they act inside the tick.
 *
 * Heat path and states (temperatures in degC throughout).
 *   Secondary loop (TCS) of CDU k: one tank at T_tcs,k, the mixed return of
 *   its racks, which is what enters the CDU's heat exchanger.
 *     C_tcs dT_tcs,k/dt = Q_k + P_pump,k - Q_x,k
 *   with Q_k the liquid heat of its racks and the pump's power taken to end
 *   up in the coolant (all of it: motor losses are not split off).
 *   The exchanger is counterflow with a constant UA (film coefficients'
 *   dependence on flow neglected), sized so that at design (CDU heat =
 *   cdu_capacity_w, secondary flow for rack_dt_k, primary flow for fac_dt_k,
 *   primary inlet at supply_c) it delivers secondary supply = supply_c +
 *   cdu_approach_k: effectiveness eps_d = max(rack_dt, fac_dt) /
 *   (cdu_approach + rack_dt), NTU from the counterflow eps-NTU relation, UA =
 *   NTU x C_min.  Off design (a pump on backup flow) the same UA gives the new
 *   eps.  The CDU's primary valve holds the secondary supply at its setpoint
 *   supply_c + cdu_approach_k while it can:
 *     Q_x = max(0, min(m c_p (T_tcs - T_set), eps C_min (T_tcs - T_fac)))
 *   (it only cools; it never warms the secondary).  Secondary supply =
 *   T_tcs - Q_x / (m c_p); a rack's outlet = supply + its heat / (its share of
 *   the flow x c_p).  With no flow (pump failed, no backup) nothing is
 *   transferred, the stagnant loop's temperature is the racks' inlet, and it
 *   rises at Q_k / C_tcs (so at the moment of failure the inlet steps from the
 *   supply up to the mixed return: the cold plates now sit in the loop's warm
 *   coolant).  Each CDU's primary side gets its design flow cdu_capacity /
 *   (c_p fac_dt) when its valve is open (ASSUMES the facility pumps can
 *   deliver it, i.e. design_heat_w covers the CDUs).
 *   Facility loop: one tank at T_fac, the supply side (what the CDUs get).
 *     C_fac dT_fac/dt = sum Q_x + P_fac_pump - Q_dc - Q_ch
 *   Return = T_fac + (sum Q_x + P_fac_pump) / (m_fac c_p) (the mixed return
 *   over the whole loop flow m_fac = design_heat / (c_p fac_dt); CDU valves'
 *   partial flows mix with the bypass to the same enthalpy).
 *   Heat rejection brings the return down to supply_c if it can: needed =
 *   m_fac c_p (T_ret - supply_c); the dry cooler (tower) can at best cool the
 *   water to T_sink = dry bulb (wet bulb) + rej_approach_k at full fans, so
 *   Q_dc = min(needed, m_fac c_p max(0, T_ret - T_sink)).  Fan speed x =
 *   Q_dc / Q_dc,max (fans off when the cooler cannot help at all: Q_dc,max = 0
 *   means it is bypassed), fan power = rej_fan_share x design_heat x x^3 (cube
 *   law; ASSUMES the air flow, hence the fan speed, is proportional to the
 *   share of the cooler's present capacity in use).  The trim chiller, in
 *   series after the cooler, takes the rest up to its capacity; whatever the
 *   plant cannot remove warms the water, so a hot day without a chiller lets
 *   the supply drift up to T_sink (steady state) and the CDUs, then the GPUs,
 *   follow.
 *   Chillers: COP = eta x T_evap / (T_cond - T_evap) in kelvin, with a lift
 *   of at least 10 K (head-pressure control keeps condensing pressure up on
 *   cold days; also keeps the Carnot figure finite).  Trim chiller: T_evap =
 *   supply_c - 2 K, T_cond = T_sink + 5 K (condenser on the same medium as the
 *   cooler: air for dry coolers, tower water for towers, whose water use then
 *   includes the condenser heat; condenser fans are folded into the COP).
 *   Part load: compressor power = full-load power x (0.2 + 0.8 PLR), PLR =
 *   Q_ch / capacity, i.e. COP(PLR) = COP_full x PLR / (0.2 + 0.8 PLR): a
 *   running compressor draws 20 % of its full-load power with no load, so
 *   the COP drops at low part load (a typical fixed-speed curve; assumption).
 *   Towers: evaporation = Q / 2.45e6 J/kg (latent heat at ~20 degC), plus
 *   blowdown evaporation / (cycles - 1).
 *   Air side (no thermal mass): Q_air = sum air_w + chain losses; CRAH fans
 *   = crah_fan_share x Q_air and their heat goes into the same air; a
 *   chilled-water chiller (full-load COP, T_evap = chw_supply_c - 2 K, T_cond
 *   = dry bulb + 10 K, air-cooled; no part-load curve since the header gives
 *   it no capacity) removes Q_air + CRAH fans and rejects that plus its
 *   compressor power.
 *   Pumps: CDU pump = cdu_pump_w x flow_share^3 (affinity law); facility
 *   pump = fac_pump_share x design_heat_w, constant (constant-speed pump sized
 *   for the design heat).  Rejection fans' power goes into the outdoor air,
 *   never into the water, so it is a cooling power but not part of the heat
 *   balance (as the header states the balance).
 *
 * Energy books.  The ODE carries, besides the temperatures, the energies the
 * cooler (E_dc) and the trim chiller's evaporator (E_ch) take out of the water
 * during the tick, and the compressor and fan energies.  Any Runge-Kutta
 * method reproduces linear invariants exactly, and
 *   d/dt (C_fac T_fac + sum C_tcs T_tcs + E_dc + E_ch) = sum Q_k + pumps,
 * a constant over the tick, so the books close to rounding whatever the
 * solver's tolerance.  Heat rejected = (E_dc + E_ch + E_comp) / dt + air side
 * (Q_air + CRAH fans + chw compressor).
 *
 * GPUs.  One representative GPU per rack relaxes toward T_inlet + R_th x
 * P_gpu with time constant gpu_tau_s, updated exactly over the tick
 * (exponential) from the inlet at the end of the tick.  It is a temperature
 * indicator only: the cold plate's small heat capacity is not part of the
 * stored heat (the rack heat goes into the loop as the caller gives it).
 * Clock factor: 1 up to throttle_c, falling linearly to clock_min at throttle_c
 * + throttle_band_k, clock_min above (a tripped rack reports the clock of its
 * temperature).  Trip above shutdown_c, cleared below throttle_c.
 *
 * Coolant properties (approximate, common engineering tables near 30-40
 * degC): water c_p 4186 J/(kg K), density 997 kg/m^3; 25 % propylene glycol
 * c_p 3900 J/(kg K), density 1020 kg/m^3.  The facility loop is water; the
 * coolant setting applies to the secondary loops.
 */
#include "cooling.h"
#include "textfield.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>

#define COOL_KELVIN 273.15
#define COOL_WATER_CP 4186.0     /* J/(kg K), approximate */
#define COOL_WATER_RHO 997.0     /* kg/m^3, approximate */
#define COOL_PG25_CP 3900.0      /* J/(kg K), approximate */
#define COOL_PG25_RHO 1020.0     /* kg/m^3, approximate */
#define COOL_LATENT_J_KG 2.45e6  /* latent heat of evaporation near 20 degC */
#define COOL_SETPOINT_TOL_K 0.5  /* a CDU misses its setpoint above this */
#define COOL_EVAP_BELOW_K 2.0    /* chiller evaporator below the water it makes */
#define COOL_TRIM_COND_OVER_K 5.0 /* trim chiller condenser over the cooler's sink */
#define COOL_CHW_COND_OVER_K 10.0 /* chw chiller condenser over the dry bulb */
#define COOL_MIN_LIFT_K 10.0     /* head-pressure control: least lift */
#define COOL_PLR_IDLE 0.2        /* compressor power at no load / full-load power */
#define COOL_WB_DEFAULT_DEP_K 8.0 /* wet bulb = dry bulb - this when not given */
#define COOL_DAY_S 86400.0
#define COOL_ODE_EPSABS 1e-9
#define COOL_ODE_EPSREL 1e-10
#define COOL_ODE_NMAX 1000000
#define COOL_CSV_LINE_MAX 1024

/* --- weather -------------------------------------------------------------- */

struct weather {
	bool synthetic;
	double mean_c, swing_k, peak_s, dep_k; /* synthetic day */
	size_t n;                              /* CSV series */
	double *t, *dry, *wet;
};

void weather_free(weather *w)
{
	if (!w)
		return;
	free(w->t);
	free(w->dry);
	free(w->wet);
	free(w);
}

int weather_synthetic(double mean_c, double swing_k, double peak_s, double wb_depression_k,
		      weather **out, fs_error *err)
{
	*out = NULL;
	if (!(mean_c >= -80 && mean_c <= 70))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "weather",
				    "mean %g degC is out of range; expected -80 to 70", mean_c);
	if (!(swing_k >= 0 && swing_k <= 60))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "weather",
				    "daily swing %g K is out of range; expected 0 to 60", swing_k);
	if (!isfinite(peak_s))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "weather",
				    "peak time %g s is not finite; expected seconds", peak_s);
	if (!(wb_depression_k >= 0 && wb_depression_k <= 40))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "weather",
				    "wet-bulb depression %g K is out of range; expected 0 to 40",
				    wb_depression_k);
	weather *w = calloc(1, sizeof *w);
	if (!w)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory for the weather");
	w->synthetic = true;
	w->mean_c = mean_c;
	w->swing_k = swing_k;
	w->peak_s = peak_s;
	w->dep_k = wb_depression_k;
	*out = w;
	return FS_OK;
}

void weather_at(const weather *w, double t_s, double *dry_c, double *wet_c)
{
	double dry = 20.0, wet = 20.0 - COOL_WB_DEFAULT_DEP_K;
	if (!isfinite(t_s))
		t_s = 0.0;
	if (w && w->synthetic) {
		double ph = fmod(t_s - w->peak_s, COOL_DAY_S); /* keeps cos() accurate */
		dry = w->mean_c + 0.5 * w->swing_k * cos(2.0 * M_PI * ph / COOL_DAY_S);
		wet = dry - w->dep_k;
	} else if (w && w->n == 1) {
		dry = w->dry[0];
		wet = w->wet[0];
	} else if (w && w->n > 1) {
		/* looped over [t_0, t_last): a closed day repeats its first row last */
		double t0 = w->t[0], span = w->t[w->n - 1] - t0;
		double u = fmod(t_s - t0, span);
		if (u < 0)
			u += span;
		u += t0;
		size_t lo = 0, hi = w->n - 1; /* t[lo] <= u < t[hi] */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (w->t[mid] <= u)
				lo = mid;
			else
				hi = mid;
		}
		double f = (u - w->t[lo]) / (w->t[hi] - w->t[lo]);
		if (f < 0)
			f = 0;
		if (f > 1)
			f = 1;
		dry = w->dry[lo] + f * (w->dry[hi] - w->dry[lo]);
		wet = w->wet[lo] + f * (w->wet[hi] - w->wet[lo]);
	}
	if (dry_c)
		*dry_c = dry;
	if (wet_c)
		*wet_c = wet;
}

#define WEATHER_FORMAT "time_s,dry_bulb_c[,wet_bulb_c]"




/* Does the field equal name (blanks around allowed)? */
static bool field_is(const char *s, size_t n, const char *name)
{
	while (n > 0 && textfield_blank(*s))
		s++, n--;
	while (n > 0 && textfield_blank(s[n - 1]))
		n--;
	return n == strlen(name) && memcmp(s, name, n) == 0;
}


typedef struct wx_vec {
	double *t, *dry, *wet;
	size_t n, cap;
} wx_vec;

static int wx_push(wx_vec *v, double t, double dry, double wet)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		double *a = realloc(v->t, cap * sizeof *a);
		if (!a)
			return -1;
		v->t = a;
		a = realloc(v->dry, cap * sizeof *a);
		if (!a)
			return -1;
		v->dry = a;
		a = realloc(v->wet, cap * sizeof *a);
		if (!a)
			return -1;
		v->wet = a;
		v->cap = cap;
	}
	v->t[v->n] = t;
	v->dry[v->n] = dry;
	v->wet[v->n] = wet;
	v->n++;
	return 0;
}

static const char *const wx_names[3] = { "time_s", "dry_bulb_c", "wet_bulb_c" };

/* One non-blank, non-comment line.  *ncols is 0 until the header or the first
 * data line fixes it at 2 or 3. */
static int wx_line(const char *path, int lineno, const char *s, size_t n, size_t off,
		   bool first, int *ncols, wx_vec *v, fs_error *err)
{
	char q[64];
	size_t start[4], len[4];
	int nf = 0;
	size_t i = 0;
	for (;;) { /* split at commas, up to 4 fields (a 4th is an error) */
		const char *comma = memchr(s + i, ',', n - i);
		size_t e = comma ? (size_t)(comma - s) : n;
		start[nf] = i;
		len[nf] = e - i;
		nf++;
		if (!comma || nf == 4)
			break;
		i = e + 1;
	}
	double val[3];
	bool num0 = textfield_number(s + start[0], len[0], &val[0]);
	if (!num0 && first) {
		/* the header: exactly the documented names */
		if (nf < 2 || nf > 3)
			return fs_error_set(err, FS_ERR_INPUT, path, lineno,
					    (int)(off + (nf > 3 ? start[3] : n) + 1), "weather",
					    "the header has %s columns; expected %s",
					    nf > 3 ? "too many" : "too few", WEATHER_FORMAT);
		for (int k = 0; k < nf; k++)
			if (!field_is(s + start[k], len[k], wx_names[k])) {
				textfield_quote(q, sizeof q, s + start[k], len[k]);
				return fs_error_set(err, FS_ERR_INPUT, path, lineno,
						    (int)(off + start[k] + 1), "weather",
						    "header column '%s' is not %s; expected %s", q,
						    wx_names[k], WEATHER_FORMAT);
			}
		*ncols = nf;
		return FS_OK;
	}
	int want = *ncols ? *ncols : (nf >= 3 ? 3 : 2);
	for (int k = 0; k < nf && k < want; k++) {
		if (k > 0 && !textfield_number(s + start[k], len[k], &val[k])) {
			textfield_quote(q, sizeof q, s + start[k], len[k]);
			return fs_error_set(err, FS_ERR_INPUT, path, lineno,
					    (int)(off + start[k] + 1), "weather",
					    "%s '%s' is not a number; expected %s", wx_names[k], q,
					    WEATHER_FORMAT);
		}
		if (k == 0 && !num0) {
			textfield_quote(q, sizeof q, s + start[0], len[0]);
			return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + 1),
					    "weather",
					    "time_s '%s' is not a number; expected %s with the time in "
					    "seconds",
					    q, WEATHER_FORMAT);
		}
	}
	if (nf < want)
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + n + 1), "weather",
				    "missing the %s column; expected %s", wx_names[nf],
				    WEATHER_FORMAT);
	if (nf > want) {
		textfield_quote(q, sizeof q, s + start[want], n - start[want]);
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + start[want] + 1),
				    "weather", "'%s' is an extra field; expected %s", q,
				    *ncols ? (*ncols == 3 ? "time_s,dry_bulb_c,wet_bulb_c"
							  : "time_s,dry_bulb_c")
					   : WEATHER_FORMAT);
	}
	*ncols = want;
	if (val[0] < 0)
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + 1), "weather",
				    "time %g s is negative; expected times >= 0 s", val[0]);
	if (v->n > 0 && !(val[0] > v->t[v->n - 1]))
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + 1), "weather",
				    "time %.17g s is not after the previous time %.17g s; expected "
				    "strictly increasing times",
				    val[0], v->t[v->n - 1]);
	if (!(val[1] >= -90 && val[1] <= 70))
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + start[1] + 1),
				    "weather", "dry bulb %g degC is out of range; expected -90 to 70",
				    val[1]);
	double wet = want == 3 ? val[2] : val[1] - COOL_WB_DEFAULT_DEP_K;
	if (want == 3 && !(wet <= val[1] && wet >= val[1] - 60))
		return fs_error_set(err, FS_ERR_INPUT, path, lineno, (int)(off + start[2] + 1),
				    "weather",
				    "wet bulb %g degC is not within 60 K below the dry bulb %g degC; "
				    "expected wet bulb <= dry bulb",
				    wet, val[1]);
	if (wx_push(v, val[0], val[1], wet))
		return fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory reading the weather",
				    path);
	return FS_OK;
}

int weather_load_csv(const char *path, weather **out, fs_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fs_error_set(err, FS_ERR_IO, path, 0, 0, "weather",
				    "cannot open the weather series; expected a readable file");
	char line[COOL_CSV_LINE_MAX + 1];
	int lineno = 0, r, rc = FS_OK, ncols = 0;
	bool first = true;
	wx_vec v = { 0 };
	const char *s;
	size_t m, off;
	while ((r = textfield_content_line(f, line, sizeof line, &lineno, &s, &m, &off)) == 1) {
		rc = wx_line(path, lineno, s, m, off, first, &ncols, &v, err);
		first = false;
		if (rc)
			break;
	}
	if (r == -1)
		rc = fs_error_set(err, FS_ERR_INPUT, path, lineno + 1, 1, "weather",
				  "line longer than %d bytes; expected one %s per line",
				  COOL_CSV_LINE_MAX, WEATHER_FORMAT);
	else if (rc == FS_OK && ferror(f))
		rc = fs_error_set(err, FS_ERR_IO, path, 0, 0, "weather", "read error");
	else if (rc == FS_OK && v.n == 0)
		rc = fs_error_set(err, FS_ERR_INPUT, path, 0, 0, "weather",
				  "no data; expected at least one line %s", WEATHER_FORMAT);
	fclose(f);
	weather *w = rc ? NULL : calloc(1, sizeof *w);
	if (!rc && !w)
		rc = fs_error_msg(err, FS_ERR_NOMEM, "%s: out of memory reading the weather", path);
	if (rc) {
		free(v.t);
		free(v.dry);
		free(v.wet);
		return rc;
	}
	w->n = v.n;
	w->t = v.t;
	w->dry = v.dry;
	w->wet = v.wet;
	*out = w;
	return FS_OK;
}

/* --- the plant ------------------------------------------------------------ */

struct cooling {
	cool_params p;
	uint32_t n_racks;
	int n_cdu;
	cool_rack_spec *racks;
	const weather *w;
	/* derived design figures */
	double cp_tcs;      /* secondary coolant c_p [J/(kg K)] */
	double c_tcs;       /* thermal mass of one secondary loop [J/K] */
	double c_fac;       /* thermal mass of the facility loop [J/K] */
	double mcp_tcs_d;   /* secondary capacity rate at design flow [W/K] */
	double mcp_prim;    /* one CDU's primary capacity rate at design [W/K] */
	double mcp_fac;     /* facility loop capacity rate [W/K] */
	double ua;          /* CDU exchanger [W/K] */
	double t_sec_set;   /* CDU secondary supply setpoint [degC] */
	double fac_pump_w;
	/* per CDU */
	double *share;      /* pump flow share */
	double *epsc;       /* eps x C_min of the exchanger at that flow [W/K] */
	double *q_k, *pump_k; /* this tick's rack heat and pump power [W] */
	double *t_tcs;      /* state */
	/* per rack */
	double *gpu_t, *clock, *liquid;
	bool *tripped;
	double t_fac;       /* state */
	double rej_avail;   /* share of the heat-rejection units working (faults) */
	/* this tick's constants for the right-hand side */
	double t_sink, cop_trim;
	/* solver */
	int dim;
	double *y;
	gsl_odeiv2_system sys;
	gsl_odeiv2_driver *drv;
};

static int bad_param(fs_error *err, const char *field, double v, const char *expected)
{
	char key[96];
	snprintf(key, sizeof key, "cooling.%s", field);
	return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key, "%g is out of range; expected %s",
			    v, expected);
}

static bool in_range(double v, double lo, double hi)
{
	return v >= lo && v <= hi; /* false for NaN */
}

static int check_params(const cool_params *p, fs_error *err)
{
	if (p->coolant != COOL_WATER && p->coolant != COOL_PG25)
		return bad_param(err, "coolant", p->coolant, "water (0) or pg25 (1)");
	if (!in_range(p->supply_c, 5, 70))
		return bad_param(err, "supply_c", p->supply_c, "5 to 70 degC");
	if (!in_range(p->rack_dt_k, 0.5, 50))
		return bad_param(err, "rack_dt_k", p->rack_dt_k, "0.5 to 50 K");
	if (p->racks_per_cdu < 1)
		return bad_param(err, "racks_per_cdu", p->racks_per_cdu, "at least 1");
	if (!in_range(p->cdu_capacity_w, 1, 1e9))
		return bad_param(err, "cdu_capacity_w", p->cdu_capacity_w, "1 W to 1 GW");
	if (!in_range(p->cdu_approach_k, 0.1, 30))
		return bad_param(err, "cdu_approach_k", p->cdu_approach_k, "0.1 to 30 K");
	if (!in_range(p->cdu_pump_w, 0, p->cdu_capacity_w))
		return bad_param(err, "cdu_pump_w", p->cdu_pump_w,
				 ">= 0 W and not above the CDU's capacity");
	if (!in_range(p->tcs_volume_m3, 1e-4, 1e3))
		return bad_param(err, "tcs_volume_m3", p->tcs_volume_m3, "1e-4 to 1000 m^3");
	if (!in_range(p->fac_dt_k, 0.5, 50))
		return bad_param(err, "fac_dt_k", p->fac_dt_k, "0.5 to 50 K");
	if (!(p->fac_dt_k < p->rack_dt_k + p->cdu_approach_k))
		return bad_param(err, "fac_dt_k", p->fac_dt_k,
				 "below rack_dt_k + cdu_approach_k (a counterflow CDU cannot "
				 "heat the facility water above the secondary return)");
	if (!in_range(p->fac_volume_m3, 1e-3, 1e6))
		return bad_param(err, "fac_volume_m3", p->fac_volume_m3, "1e-3 to 1e6 m^3");
	if (!in_range(p->fac_pump_share, 0, 0.5))
		return bad_param(err, "fac_pump_share", p->fac_pump_share, "0 to 0.5");
	if (!in_range(p->design_heat_w, 1, 1e11))
		return bad_param(err, "design_heat_w", p->design_heat_w, "1 W to 100 GW");
	if (p->rejection != COOL_DRY_COOLER && p->rejection != COOL_TOWER)
		return bad_param(err, "rejection", p->rejection, "dry cooler (0) or tower (1)");
	if (!in_range(p->rej_approach_k, 0.1, 30))
		return bad_param(err, "rej_approach_k", p->rej_approach_k, "0.1 to 30 K");
	if (!in_range(p->rej_fan_share, 0, 0.5))
		return bad_param(err, "rej_fan_share", p->rej_fan_share, "0 to 0.5");
	if (p->rejection == COOL_TOWER && !in_range(p->tower_cycles, 1.01, 100))
		return bad_param(err, "tower_cycles", p->tower_cycles,
				 "more than 1 (1.01 to 100) for a cooling tower");
	if (!(p->chiller_eta > 0 && p->chiller_eta <= 1))
		return bad_param(err, "chiller_eta", p->chiller_eta, "a Carnot fraction in (0, 1]");
	if (p->trim_chiller && !in_range(p->chiller_capacity_w, 1, 1e11))
		return bad_param(err, "chiller_capacity_w", p->chiller_capacity_w,
				 "1 W to 100 GW with a trim chiller");
	if (!in_range(p->crah_fan_share, 0, 0.5))
		return bad_param(err, "crah_fan_share", p->crah_fan_share, "0 to 0.5");
	if (!in_range(p->chw_supply_c, 2, 30))
		return bad_param(err, "chw_supply_c", p->chw_supply_c, "2 to 30 degC");
	if (!in_range(p->gpu_tau_s, 0, 1e5))
		return bad_param(err, "gpu_tau_s", p->gpu_tau_s, "0 to 1e5 s");
	if (!in_range(p->throttle_band_k, 0.01, 100))
		return bad_param(err, "throttle_band_k", p->throttle_band_k, "0.01 to 100 K");
	return FS_OK;
}

static int check_rack(const cool_rack_spec *r, uint32_t i, fs_error *err)
{
	char key[96];
	const char *what = NULL, *expected = NULL;
	double v = 0;
	if (!in_range(r->r_th_k_per_w, 0, 10)) {
		what = "r_th_k_per_w", v = r->r_th_k_per_w, expected = "0 to 10 K/W";
	} else if (!in_range(r->throttle_c, 0, 200)) {
		what = "throttle_c", v = r->throttle_c, expected = "0 to 200 degC";
	} else if (!in_range(r->shutdown_c, 0, 250) || !(r->shutdown_c > r->throttle_c)) {
		what = "shutdown_c", v = r->shutdown_c, expected = "above throttle_c, up to 250 degC";
	} else if (!(r->clock_min > 0 && r->clock_min <= 1)) {
		what = "clock_min", v = r->clock_min, expected = "a clock factor in (0, 1]";
	}
	if (!what)
		return FS_OK;
	snprintf(key, sizeof key, "cooling.racks[%u].%s", (unsigned)i, what);
	return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, key, "%g is out of range; expected %s", v,
			    expected);
}

/* eps x C_min of CDU exchanger at a secondary flow share (constant UA). */
static double hx_eps_cmin(const cooling *c, double share)
{
	double ch = c->mcp_tcs_d * share, cc = c->mcp_prim;
	if (!(ch > 0))
		return 0.0;
	double cmin = ch < cc ? ch : cc, cmax = ch < cc ? cc : ch, cr = cmin / cmax;
	double ntu = c->ua / cmin, eps;
	if (fabs(1.0 - cr) < 1e-9) {
		eps = ntu / (1.0 + ntu);
	} else {
		double e = exp(-ntu * (1.0 - cr));
		eps = (1.0 - e) / (1.0 - cr * e);
	}
	return eps * cmin;
}

/* Heat CDU k moves from its secondary loop to the facility water [W]. */
static double cdu_transfer(const cooling *c, int k, double t_tcs, double t_fac)
{
	double mcp = c->mcp_tcs_d * c->share[k];
	if (!(mcp > 0))
		return 0.0;
	double hold = mcp * (t_tcs - c->t_sec_set);  /* valve: hold the setpoint */
	double most = c->epsc[k] * (t_tcs - t_fac);  /* valve wide open */
	double q = hold < most ? hold : most;
	return q > 0 ? q : 0.0;
}

static double cdu_supply(const cooling *c, int k, double t_tcs, double t_fac)
{
	double mcp = c->mcp_tcs_d * c->share[k];
	if (!(mcp > 0))
		return t_tcs; /* stagnant loop */
	return t_tcs - cdu_transfer(c, k, t_tcs, t_fac) / mcp;
}

typedef struct rejection {
	double t_ret, q_dc, q_ch, w_comp, fan_w;
} rejection;

/* Heat rejection for the facility water at t_fac carrying q_in [W]. */
static void reject(const cooling *c, double t_fac, double q_in, rejection *r)
{
	double mcp = c->mcp_fac;
	r->t_ret = t_fac + q_in / mcp;
	double need = mcp * (r->t_ret - c->p.supply_c);
	if (need < 0)
		need = 0;
	/* failed units carry nothing: capacity and fans scale with those working */
	double most = mcp * (r->t_ret - c->t_sink) * c->rej_avail;
	if (most < 0)
		most = 0;
	r->q_dc = need < most ? need : most;
	double x = most > 0 ? r->q_dc / most : 0.0;
	r->fan_w = c->p.rej_fan_share * c->p.design_heat_w * c->rej_avail * x * x * x;
	r->q_ch = 0.0;
	r->w_comp = 0.0;
	double rest = need - r->q_dc;
	if (c->p.trim_chiller && rest > 0) {
		double cap = c->p.chiller_capacity_w;
		r->q_ch = rest < cap ? rest : cap;
		double plr = r->q_ch / cap;
		/* Q / COP with COP = COP_full x PLR / (idle + (1 - idle) PLR) */
		r->w_comp = cap * (COOL_PLR_IDLE + (1.0 - COOL_PLR_IDLE) * plr) / c->cop_trim;
	}
}

/* Full-load chiller COP, a Carnot fraction of the lift (at least the minimum). */
static double chiller_cop(double eta, double t_evap_c, double t_cond_c)
{
	double lift = t_cond_c - t_evap_c;
	if (lift < COOL_MIN_LIFT_K)
		lift = COOL_MIN_LIFT_K;
	return eta * (t_evap_c + COOL_KELVIN) / lift;
}

/* State: y[0] T_fac, y[1..K] T_tcs, then E_dc, E_ch, E_comp, E_fan. */
static int rhs(double t, const double y[], double f[], void *params)
{
	(void)t;
	const cooling *c = params;
	int K = c->n_cdu;
	double t_fac = y[0], qx_sum = 0.0;
	for (int k = 0; k < K; k++) {
		double qx = cdu_transfer(c, k, y[1 + k], t_fac);
		f[1 + k] = (c->q_k[k] + c->pump_k[k] - qx) / c->c_tcs;
		qx_sum += qx;
	}
	rejection r;
	reject(c, t_fac, qx_sum + c->fac_pump_w, &r);
	f[0] = (qx_sum + c->fac_pump_w - r.q_dc - r.q_ch) / c->c_fac;
	f[K + 1] = r.q_dc;
	f[K + 2] = r.q_ch;
	f[K + 3] = r.w_comp;
	f[K + 4] = r.fan_w;
	return GSL_SUCCESS;
}

static void update_clock(cooling *c, uint32_t i)
{
	const cool_rack_spec *s = &c->racks[i];
	double T = c->gpu_t[i], band = c->p.throttle_band_k;
	if (T <= s->throttle_c)
		c->clock[i] = 1.0;
	else if (T >= s->throttle_c + band)
		c->clock[i] = s->clock_min;
	else
		c->clock[i] = 1.0 - (1.0 - s->clock_min) * (T - s->throttle_c) / band;
	if (T > s->shutdown_c)
		c->tripped[i] = true;
	else if (T < s->throttle_c)
		c->tripped[i] = false;
}

void cooling_destroy(cooling *c)
{
	if (!c)
		return;
	if (c->drv)
		gsl_odeiv2_driver_free(c->drv);
	free(c->racks);
	free(c->share);
	free(c->epsc);
	free(c->q_k);
	free(c->pump_k);
	free(c->t_tcs);
	free(c->gpu_t);
	free(c->clock);
	free(c->liquid);
	free(c->tripped);
	free(c->y);
	free(c);
}

int cooling_create(const cool_params *p, const cool_rack_spec *racks, uint32_t n_racks,
		   const weather *w, cooling **out, fs_error *err)
{
	*out = NULL;
	int rc = check_params(p, err);
	if (rc)
		return rc;
	if (n_racks == 0 || !racks)
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "cooling.racks",
				    "no racks; expected at least one rack to cool");
	if (!w)
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, "cooling.weather",
				    "no weather; expected a weather series or a synthetic day");
	for (uint32_t i = 0; i < n_racks; i++)
		if ((rc = check_rack(&racks[i], i, err)))
			return rc;
	uint32_t rpc = (uint32_t)p->racks_per_cdu;
	uint32_t ncdu = n_racks / rpc + (n_racks % rpc ? 1 : 0);
	if (ncdu > 10000000)
		return bad_param(err, "racks_per_cdu", p->racks_per_cdu,
				 "few enough CDUs (at most 1e7)");
	cooling *c = calloc(1, sizeof *c);
	if (!c)
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory for the cooling plant");
	c->p = *p;
	c->n_racks = n_racks;
	c->n_cdu = (int)ncdu;
	c->w = w;
	c->dim = c->n_cdu + 5;
	c->racks = malloc(n_racks * sizeof *c->racks);
	c->share = malloc(ncdu * sizeof *c->share);
	c->epsc = malloc(ncdu * sizeof *c->epsc);
	c->q_k = calloc(ncdu, sizeof *c->q_k);
	c->pump_k = calloc(ncdu, sizeof *c->pump_k);
	c->t_tcs = malloc(ncdu * sizeof *c->t_tcs);
	c->gpu_t = malloc(n_racks * sizeof *c->gpu_t);
	c->clock = malloc(n_racks * sizeof *c->clock);
	c->liquid = calloc(n_racks, sizeof *c->liquid);
	c->tripped = calloc(n_racks, sizeof *c->tripped);
	c->y = malloc((size_t)c->dim * sizeof *c->y);
	if (!c->racks || !c->share || !c->epsc || !c->q_k || !c->pump_k || !c->t_tcs ||
	    !c->gpu_t || !c->clock || !c->liquid || !c->tripped || !c->y) {
		cooling_destroy(c);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory for the cooling plant");
	}
	memcpy(c->racks, racks, n_racks * sizeof *racks);

	double rho_tcs = p->coolant == COOL_PG25 ? COOL_PG25_RHO : COOL_WATER_RHO;
	c->cp_tcs = p->coolant == COOL_PG25 ? COOL_PG25_CP : COOL_WATER_CP;
	c->c_tcs = rho_tcs * p->tcs_volume_m3 * c->cp_tcs;
	c->c_fac = COOL_WATER_RHO * p->fac_volume_m3 * COOL_WATER_CP;
	c->mcp_tcs_d = p->cdu_capacity_w / p->rack_dt_k;
	c->mcp_prim = p->cdu_capacity_w / p->fac_dt_k;
	c->mcp_fac = p->design_heat_w / p->fac_dt_k;
	c->t_sec_set = p->supply_c + p->cdu_approach_k;
	c->fac_pump_w = p->fac_pump_share * p->design_heat_w;

	/* exchanger: effectiveness at design, then UA from counterflow eps-NTU */
	double big = p->rack_dt_k > p->fac_dt_k ? p->rack_dt_k : p->fac_dt_k;
	double small = p->rack_dt_k > p->fac_dt_k ? p->fac_dt_k : p->rack_dt_k;
	double eps = big / (p->cdu_approach_k + p->rack_dt_k);
	double cr = small / big, cmin = p->cdu_capacity_w / big, ntu;
	if (fabs(1.0 - cr) < 1e-9)
		ntu = eps / (1.0 - eps);
	else
		ntu = log((1.0 - eps * cr) / (1.0 - eps)) / (1.0 - cr);
	c->ua = ntu * cmin;

	/* steady state at no load: CDUs carry only their pumps' heat */
	c->t_fac = p->supply_c;
	c->rej_avail = 1.0;
	for (uint32_t k = 0; k < ncdu; k++) {
		c->share[k] = 1.0;
		c->epsc[k] = hx_eps_cmin(c, 1.0);
		c->t_tcs[k] = c->t_sec_set + p->cdu_pump_w / c->mcp_tcs_d;
	}
	for (uint32_t i = 0; i < n_racks; i++) {
		c->gpu_t[i] = c->t_sec_set;
		update_clock(c, i);
	}

	c->sys.function = rhs;
	c->sys.jacobian = NULL;
	c->sys.dimension = (size_t)c->dim;
	c->sys.params = c;
	double *scale = malloc((size_t)c->dim * sizeof *scale);
	if (!scale) {
		cooling_destroy(c);
		return fs_error_msg(err, FS_ERR_NOMEM, "out of memory for the cooling plant");
	}
	/* temperatures to ~1e-9 K; the energy accumulators relative to the plant
	 * (their accuracy does not affect the books, see the top) */
	for (int j = 0; j < c->dim; j++)
		scale[j] = j <= c->n_cdu ? 1.0 : p->design_heat_w;
	c->drv = gsl_odeiv2_driver_alloc_scaled_new(&c->sys, gsl_odeiv2_step_rk8pd, 1.0,
						    COOL_ODE_EPSABS, COOL_ODE_EPSREL, 1.0, 0.0,
						    scale);
	free(scale);
	if (!c->drv) {
		cooling_destroy(c);
		return fs_error_msg(err, FS_ERR_NOMEM, "cannot allocate the cooling ODE solver");
	}
	gsl_odeiv2_driver_set_nmax(c->drv, COOL_ODE_NMAX);
	*out = c;
	return FS_OK;
}

static double stored(const cooling *c)
{
	double s = c->c_fac * c->t_fac;
	for (int k = 0; k < c->n_cdu; k++)
		s += c->c_tcs * c->t_tcs[k];
	return s;
}

static bool bad_input(double v)
{
	return !(v >= 0 && v < 1e12);
}

int cooling_step(cooling *c, double t_s, double dt_s, const cool_inputs *in, cool_outputs *out,
		 fs_error *err)
{
	if (!c || !in || !in->liquid_w || !out)
		return fs_error_msg(err, FS_ERR_INTERNAL, "cooling_step: missing argument");
	if (!(dt_s > 0 && dt_s < 1e9) || !isfinite(t_s))
		return fs_error_set(err, FS_ERR_RUN, NULL, 0, 0, "cooling.step",
				    "tick %g s at %g s is not valid; expected a positive finite tick",
				    dt_s, t_s);
	for (uint32_t i = 0; i < c->n_racks; i++) {
		double v[3] = { in->liquid_w[i], in->air_w ? in->air_w[i] : 0.0,
				in->gpu_w ? in->gpu_w[i] : 0.0 };
		for (int j = 0; j < 3; j++)
			if (bad_input(v[j]))
				return fs_error_set(err, FS_ERR_RUN, NULL, 0, 0, "cooling.inputs",
						    "rack %u: %s %g W is not valid; expected a "
						    "finite power >= 0",
						    (unsigned)i,
						    j == 0 ? "liquid heat" : j == 1 ? "air heat" : "GPU power",
						    v[j]);
	}
	if (bad_input(in->chain_loss_w))
		return fs_error_set(err, FS_ERR_RUN, NULL, 0, 0, "cooling.inputs",
				    "chain loss %g W is not valid; expected a finite power >= 0",
				    in->chain_loss_w);
	const cool_params *p = &c->p;
	int K = c->n_cdu;

	/* this tick's constants: ambient at the midpoint, heat per CDU, pumps */
	double dry, wet;
	weather_at(c->w, t_s - 0.5 * dt_s, &dry, &wet);
	c->t_sink = (p->rejection == COOL_TOWER ? wet : dry) + p->rej_approach_k;
	c->cop_trim = chiller_cop(p->chiller_eta, p->supply_c - COOL_EVAP_BELOW_K,
				  c->t_sink + COOL_TRIM_COND_OVER_K);
	double q_air = in->chain_loss_w, cdu_pump = 0.0;
	for (int k = 0; k < K; k++)
		c->q_k[k] = 0.0;
	for (uint32_t i = 0; i < c->n_racks; i++) {
		c->q_k[i / (uint32_t)p->racks_per_cdu] += in->liquid_w[i];
		q_air += in->air_w ? in->air_w[i] : 0.0;
	}
	for (int k = 0; k < K; k++) {
		double s = c->share[k];
		c->pump_k[k] = p->cdu_pump_w * s * s * s;
		cdu_pump += c->pump_k[k];
	}

	/* the loops over the tick */
	c->y[0] = c->t_fac;
	for (int k = 0; k < K; k++)
		c->y[1 + k] = c->t_tcs[k];
	for (int j = K + 1; j < c->dim; j++)
		c->y[j] = 0.0;
	gsl_odeiv2_driver_reset(c->drv);
	gsl_odeiv2_driver_reset_hstart(c->drv, dt_s);
	double t = 0.0;
	int st = gsl_odeiv2_driver_apply(c->drv, &t, dt_s, c->y);
	if (st != GSL_SUCCESS)
		return fs_error_set(err, FS_ERR_RUN, NULL, 0, 0, "cooling.step",
				    "the loop ODE failed at %g s (%s); expected a solvable plant",
				    t_s, gsl_strerror(st));
	for (int j = 0; j < c->dim; j++)
		if (!isfinite(c->y[j]))
			return fs_error_set(err, FS_ERR_RUN, NULL, 0, 0, "cooling.step",
					    "the loop ODE diverged at %g s; expected finite "
					    "temperatures",
					    t_s);
	c->t_fac = c->y[0];
	for (int k = 0; k < K; k++)
		c->t_tcs[k] = c->y[1 + k];
	double e_dc = c->y[K + 1], e_ch = c->y[K + 2], e_comp = c->y[K + 3], e_fan = c->y[K + 4];

	/* air side, constant over the tick */
	double crah = p->crah_fan_share * q_air;
	double cop_chw = chiller_cop(p->chiller_eta, p->chw_supply_c - COOL_EVAP_BELOW_K,
				     dry + COOL_CHW_COND_OVER_K);
	double chw = (q_air + crah) / cop_chw;

	/* GPUs and racks at the end of the tick */
	bool missed = false;
	double sup_sum = 0.0;
	for (int k = 0; k < K; k++)
		if (cdu_supply(c, k, c->t_tcs[k], c->t_fac) > c->t_sec_set + COOL_SETPOINT_TOL_K)
			missed = true;
	for (uint32_t i = 0; i < c->n_racks; i++) {
		c->liquid[i] = in->liquid_w[i];
		double inlet = cooling_rack_inlet(c, i);
		sup_sum += inlet;
		double target = inlet + c->racks[i].r_th_k_per_w * (in->gpu_w ? in->gpu_w[i] : 0.0);
		double decay = p->gpu_tau_s > 0 ? exp(-dt_s / p->gpu_tau_s) : 0.0;
		c->gpu_t[i] = target + (c->gpu_t[i] - target) * decay;
		update_clock(c, i);
	}

	double qx_end = 0.0;
	for (int k = 0; k < K; k++)
		qx_end += cdu_transfer(c, k, c->t_tcs[k], c->t_fac);
	rejection r_end;
	reject(c, c->t_fac, qx_end + c->fac_pump_w, &r_end);

	memset(out, 0, sizeof *out);
	out->cdu_pump_w = cdu_pump;
	out->fac_pump_w = c->fac_pump_w;
	out->rej_fan_w = e_fan / dt_s;
	out->chiller_w = e_comp / dt_s;
	out->crah_fan_w = crah;
	out->chw_chiller_w = chw;
	out->power_w = out->cdu_pump_w + out->fac_pump_w + out->rej_fan_w + out->chiller_w +
		       out->crah_fan_w + out->chw_chiller_w;
	out->heat_rejected_w = (e_dc + e_ch + e_comp) / dt_s + q_air + crah + chw;
	out->stored_j = stored(c);
	if (p->rejection == COOL_TOWER) {
		/* the tower takes the cooler's heat and the trim chiller's condenser heat */
		double evap = (e_dc + e_ch + e_comp) / COOL_LATENT_J_KG;
		out->water_kg = evap * p->tower_cycles / (p->tower_cycles - 1.0);
	}
	out->fac_supply_c = c->t_fac;
	out->fac_return_c = r_end.t_ret;
	out->tcs_supply_c = sup_sum / c->n_racks;
	out->fac_flow_kg_s = c->mcp_fac / COOL_WATER_CP;
	out->dry_c = dry;
	out->wet_c = wet;
	out->compressor_on = e_ch > 0.0;
	out->setpoint_missed = missed;
	return FS_OK;
}

double cooling_gpu_temp(const cooling *c, uint32_t rack)
{
	return rack < c->n_racks ? c->gpu_t[rack] : NAN;
}

double cooling_clock(const cooling *c, uint32_t rack)
{
	return rack < c->n_racks ? c->clock[rack] : 1.0;
}

bool cooling_tripped(const cooling *c, uint32_t rack)
{
	return rack < c->n_racks && c->tripped[rack];
}

int cooling_cdu_of(const cooling *c, uint32_t rack)
{
	return rack < c->n_racks ? (int)(rack / (uint32_t)c->p.racks_per_cdu) : -1;
}

int cooling_cdu_count(const cooling *c)
{
	return c->n_cdu;
}

double cooling_rack_inlet(const cooling *c, uint32_t rack)
{
	int k = cooling_cdu_of(c, rack);
	if (k < 0)
		return NAN;
	return cdu_supply(c, k, c->t_tcs[k], c->t_fac);
}

double cooling_rack_outlet(const cooling *c, uint32_t rack)
{
	int k = cooling_cdu_of(c, rack);
	if (k < 0)
		return NAN;
	/* each rack gets an equal share of the CDU's flow */
	double mcp = c->mcp_tcs_d * c->share[k] / c->p.racks_per_cdu;
	if (!(mcp > 0))
		return c->t_tcs[k];
	return cooling_rack_inlet(c, rack) + c->liquid[rack] / mcp;
}

double cooling_tcs_temp(const cooling *c, int cdu)
{
	return cdu >= 0 && cdu < c->n_cdu ? c->t_tcs[cdu] : NAN;
}

void cooling_fail_cdu(cooling *c, int cdu, bool failed, double backup_share)
{
	if (!c || cdu < 0 || cdu >= c->n_cdu)
		return;
	double s = 1.0;
	if (failed)
		s = backup_share >= 0 && backup_share <= 1 ? backup_share : 0.0;
	c->share[cdu] = s;
	c->epsc[cdu] = hx_eps_cmin(c, s);
}

void cooling_fail_rejection(cooling *c, double available_share)
{
	c->rej_avail = available_share < 0 ? 0 : available_share > 1 ? 1 : available_share;
}
