/*
 * test_cooling.c - the liquid-cooling plant against hand arithmetic: the
 * energy books over hundreds of ticks with random loads, a weather day, a
 * pump failure and a trim chiller (dry cooler and tower); the steady state of
 * one rack and one CDU (supplies, outlet, GPU temperature, fan cube law,
 * air side, cooling power); a hot day with and without the trim chiller; the
 * tower's limit and water use; a CDU pump failure (slope Q / C_tcs, the
 * throttle band, the trip and its hysteresis); the weather CSV reader with
 * its located errors, the synthetic day and the two climate files; parameter
 * validation.  The expected figures are computed here from the model's stated
 * equations and constants, not taken from the code.  Runs with cwd =
 * repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cooling.h"
#include "error.h"

#define CP_W 4186.0
#define RHO_W 997.0
#define CP_PG 3900.0
#define RHO_PG 1020.0
#define K0 273.15

static void near(double got, double want, double tol_abs)
{
	if (!(fabs(got - want) <= tol_abs))
		fail_msg("got %.17g, want %.17g (tol %g)", got, want, tol_abs);
}

static void near_rel(double got, double want, double rel)
{
	double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
	if (!(fabs(got - want) <= rel * scale))
		fail_msg("got %.17g, want %.17g (rel %g)", got, want, rel);
}

static double uniform(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*x >> 11) * 0x1.0p-53;
}

/* One 100 kW CDU per rack, 30 degC W32-class supply, 10 K rises. */
static cool_params base(void)
{
	cool_params p;
	memset(&p, 0, sizeof p);
	p.coolant = COOL_WATER;
	p.supply_c = 30;
	p.rack_dt_k = 10;
	p.racks_per_cdu = 1;
	p.cdu_capacity_w = 1e5;
	p.cdu_approach_k = 3;
	p.cdu_pump_w = 1000;
	p.tcs_volume_m3 = 0.1;
	p.fac_dt_k = 10;
	p.fac_volume_m3 = 1;
	p.fac_pump_share = 0.01;
	p.design_heat_w = 1e5;
	p.rejection = COOL_DRY_COOLER;
	p.rej_approach_k = 5;
	p.rej_fan_share = 0.02;
	p.tower_cycles = 4;
	p.trim_chiller = false;
	p.chiller_eta = 0.5;
	p.chiller_capacity_w = 1e5;
	p.crah_fan_share = 0.05;
	p.chw_supply_c = 14;
	p.gpu_tau_s = 30;
	p.throttle_band_k = 5;
	return p;
}

static cool_rack_spec rack(void)
{
	cool_rack_spec r = { .r_th_k_per_w = 0.03, .throttle_c = 80, .shutdown_c = 90,
			     .clock_min = 0.5 };
	return r;
}

static weather *flat(double dry, double depression)
{
	weather *w = NULL;
	fs_error err;
	assert_int_equal(weather_synthetic(dry, 0, 0, depression, &w, &err), FS_OK);
	return w;
}

static cooling *make(const cool_params *p, uint32_t n, const weather *w)
{
	cool_rack_spec r[16];
	for (uint32_t i = 0; i < n; i++)
		r[i] = rack();
	cooling *c = NULL;
	fs_error err;
	int rc = cooling_create(p, r, n, w, &c, &err);
	if (rc)
		fail_msg("cooling_create: %s: %s", err.key, err.message);
	return c;
}

/* Run one rack at a constant load for n ticks of dt; the last outputs. */
static cool_outputs run_const(cooling *c, double *t, int n, double dt, double liquid,
			      double air, double gpu, double chain)
{
	cool_inputs in = { &liquid, &air, &gpu, chain };
	cool_outputs o;
	memset(&o, 0, sizeof o);
	fs_error err;
	for (int i = 0; i < n; i++) {
		*t += dt;
		int rc = cooling_step(c, *t, dt, &in, &o, &err);
		if (rc)
			fail_msg("cooling_step: %s", err.message);
	}
	return o;
}

/* The chw chiller's figures by hand: T_evap = chw - 2, T_cond = dry + 10,
 * lift at least 10 K. */
static double cop_of(double eta, double te_c, double tc_c)
{
	double lift = tc_c - te_c < 10 ? 10 : tc_c - te_c;
	return eta * (te_c + K0) / lift;
}

/* --- 1. energy books ------------------------------------------------------ */

static void balance_run(cool_params *p, const weather *w, double t0, double *in_j, double *rej_j,
			bool *chiller_ran, bool *chiller_off)
{
	enum { N = 5, TICKS = 600 };
	cool_rack_spec r[N];
	for (int i = 0; i < N; i++)
		r[i] = rack();
	cooling *c = NULL;
	fs_error err;
	assert_int_equal(cooling_create(p, r, N, w, &c, &err), FS_OK);
	assert_int_equal(cooling_cdu_count(c), 3);
	assert_int_equal(cooling_cdu_of(c, 4), 2);
	double liquid[N], air[N], gpu[N];
	cool_inputs in = { liquid, air, gpu, 0 };
	cool_outputs o;
	uint64_t seed = 42;
	double t = t0, dt = 60, stored0 = 0, sum_in = 0, sum_rej = 0;
	*chiller_ran = *chiller_off = false;
	bool fans = false;
	for (int k = 0; k <= TICKS; k++) {
		for (int i = 0; i < N; i++) {
			liquid[i] = 90000 * uniform(&seed);
			air[i] = 10000 * uniform(&seed);
			gpu[i] = 1000 * uniform(&seed);
		}
		in.chain_loss_w = 1000 + 7000 * uniform(&seed);
		if (k == 200)
			cooling_fail_cdu(c, 1, true, 0.3);
		if (k == 260)
			cooling_fail_cdu(c, 2, true, 0.0);
		if (k == 300) {
			cooling_fail_cdu(c, 1, false, 0);
			cooling_fail_cdu(c, 2, false, 0);
		}
		t += dt;
		assert_int_equal(cooling_step(c, t, dt, &in, &o, &err), FS_OK);
		double dry, wet; /* the tick's ambient is the weather at its midpoint */
		weather_at(w, t - dt / 2, &dry, &wet);
		near(o.dry_c, dry, 1e-12);
		near(o.wet_c, wet, 1e-12);
		if (k == 0) { /* the window starts after the first tick */
			stored0 = o.stored_j;
			continue;
		}
		double heat = in.chain_loss_w;
		for (int i = 0; i < N; i++)
			heat += liquid[i] + air[i];
		/* independent sum: heat + pumps + CRAH fans + compressors (not the
		 * rejection fans, whose power goes straight into the outdoor air) */
		double inputs = heat + o.cdu_pump_w + o.fac_pump_w + o.crah_fan_w + o.chiller_w +
				o.chw_chiller_w;
		sum_in += inputs * dt;
		sum_rej += o.heat_rejected_w * dt;
		near_rel(o.power_w, o.cdu_pump_w + o.fac_pump_w + o.rej_fan_w + o.chiller_w +
					    o.crah_fan_w + o.chw_chiller_w,
			 1e-12);
		if (o.compressor_on)
			*chiller_ran = true;
		else
			*chiller_off = true;
		if (o.rej_fan_w > 0)
			fans = true;
	}
	assert_true(fans);
	*in_j = sum_in - (o.stored_j - stored0);
	*rej_j = sum_rej;
	cooling_destroy(c);
}

static void test_energy_balance_dry(void **state)
{
	(void)state;
	cool_params p = base();
	p.racks_per_cdu = 2;
	p.design_heat_w = 3e5;
	p.trim_chiller = true;
	p.chiller_capacity_w = 6e4;
	weather *w = NULL;
	fs_error err;
	/* a hot day: 22-38 degC, peak at 15:00; the window runs 04:00-14:00, so
	 * the trim chiller starts when dry bulb + 5 K passes 30 degC */
	assert_int_equal(weather_synthetic(30, 16, 15 * 3600.0, 9, &w, &err), FS_OK);
	double in_j, rej_j;
	bool ran, off;
	balance_run(&p, w, 4 * 3600.0, &in_j, &rej_j, &ran, &off);
	assert_true(ran);
	assert_true(off);
	near_rel(rej_j, in_j, 1e-6);
	near_rel(rej_j, in_j, 1e-9); /* in fact to rounding */
	weather_free(w);
}

static void test_energy_balance_tower(void **state)
{
	(void)state;
	cool_params p = base();
	p.racks_per_cdu = 2;
	p.design_heat_w = 3e5;
	p.rejection = COOL_TOWER;
	p.rej_approach_k = 8;
	p.trim_chiller = true;
	p.chiller_capacity_w = 6e4;
	p.coolant = COOL_PG25;
	weather *w = NULL;
	fs_error err;
	int rc = weather_load_csv("data/climate/phoenix_az_july_synthetic.csv", &w, &err);
	if (rc)
		fail_msg("%s:%d: %s", err.file, err.line, err.message);
	double in_j, rej_j;
	bool ran, off;
	balance_run(&p, w, 6 * 3600.0, &in_j, &rej_j, &ran, &off);
	assert_true(ran); /* wet bulb ~22.6 + 8 K > 30 degC in the afternoon */
	near_rel(rej_j, in_j, 1e-6);
	weather_free(w);
}

/* --- 2. steady state by hand ------------------------------------------------ */

static void test_steady_state(void **state)
{
	(void)state;
	cool_params p = base();
	weather *w = flat(15, 5);
	cooling *c = make(&p, 1, w);
	/* at creation: no load, at the setpoints */
	near(cooling_rack_inlet(c, 0), 33, 1e-12);
	assert_false(cooling_tripped(c, 0));
	near(cooling_clock(c, 0), 1, 0);

	double t = 0, Q = 80000, air = 10000, gpu = 700, chain = 5000;
	cool_outputs o = run_const(c, &t, 240, 60, Q, air, gpu, chain);
	double mcp = p.cdu_capacity_w / p.rack_dt_k;       /* m c_p of the rack loop */
	near(p.cdu_capacity_w / (CP_W * p.rack_dt_k) * CP_W, mcp, 1e-9);
	double mcp_fac = p.design_heat_w / p.fac_dt_k;     /* 1e4 W/K */
	near(o.fac_supply_c, 30, 1e-7);
	near(cooling_rack_inlet(c, 0), 33, 1e-7);          /* supply + approach */
	near(o.tcs_supply_c, 33, 1e-7);
	near(cooling_rack_outlet(c, 0), 33 + Q / mcp, 1e-7); /* 41 degC */
	near(cooling_tcs_temp(c, 0), 33 + (Q + 1000) / mcp, 1e-7); /* + pump heat */
	near(cooling_gpu_temp(c, 0), 33 + 0.03 * 700, 1e-6);      /* 54 degC */
	near(cooling_clock(c, 0), 1, 0);
	/* facility: return = supply + (rack heat + both pumps) / (m c_p) */
	double q_water = Q + 1000 + 0.01 * 1e5;
	double t_ret = 30 + q_water / mcp_fac; /* 38.2 */
	near(o.fac_return_c, t_ret, 1e-7);
	near_rel(o.fac_flow_kg_s, 1e5 / (CP_W * 10), 1e-12);
	/* fans: x = needed / most, cube law */
	double x = q_water / (mcp_fac * (t_ret - (15 + 5)));
	near(o.rej_fan_w, 0.02 * 1e5 * x * x * x, 1e-4);
	near(o.cdu_pump_w, 1000, 1e-9);
	near(o.fac_pump_w, 1000, 1e-9);
	/* air side */
	double q_air = air + chain, crah = 0.05 * q_air;
	double cop = 0.5 * (12 + K0) / 13.0; /* T_evap 12, T_cond 15 + 10 */
	near_rel(cop_of(0.5, 14 - 2, 15 + 10), cop, 1e-15);
	near_rel(cop_of(0.5, 12, 15), 0.5 * (12 + K0) / 10.0, 1e-15); /* least lift */
	near(o.crah_fan_w, crah, 1e-9);
	near_rel(o.chw_chiller_w, (q_air + crah) / cop, 1e-12);
	near(o.chiller_w, 0, 0);
	assert_false(o.compressor_on);
	assert_false(o.setpoint_missed);
	near(o.water_kg, 0, 0);
	near(o.power_w, 1000 + 1000 + 0.02 * 1e5 * x * x * x + crah + (q_air + crah) / cop, 1e-4);
	/* steady: everything that goes in comes out */
	near(o.heat_rejected_w, q_water + q_air + crah + (q_air + crah) / cop, 1e-3);
	near(o.dry_c, 15, 1e-12);
	near(o.wet_c, 10, 1e-12);
	cooling_destroy(c);
	weather_free(w);
}

static void test_low_load_holds_setpoint(void **state)
{
	(void)state;
	/* at 20 % load the CDU valve still holds 33 degC, the rack rise shrinks */
	cool_params p = base();
	weather *w = flat(10, 5);
	cooling *c = make(&p, 1, w);
	double t = 0;
	cool_outputs o = run_const(c, &t, 240, 60, 20000, 0, 300, 0);
	near(cooling_rack_inlet(c, 0), 33, 1e-7);
	near(cooling_rack_outlet(c, 0), 35, 1e-7);
	near(o.fac_supply_c, 30, 1e-7);
	near(cooling_gpu_temp(c, 0), 33 + 9, 1e-6);
	cooling_destroy(c);
	weather_free(w);
}

/* --- 3. hot day ------------------------------------------------------------- */

static void test_hot_day(void **state)
{
	(void)state;
	double Q = 80000, q_water = Q + 2000, mcp_fac = 1e4, amb = 30;
	double t_ret = 30 + q_water / mcp_fac, t_sink = amb + 5;
	weather *w = flat(amb, 8);

	/* no chiller: the supply settles at dry bulb + approach = 35 degC */
	cool_params p = base();
	cooling *c = make(&p, 1, w);
	double t = 0;
	cool_outputs o = run_const(c, &t, 300, 60, Q, 0, 700, 0);
	near(o.fac_supply_c, t_sink, 1e-6);
	near(o.fac_supply_c - p.supply_c, amb + 5 - 30, 1e-6);
	near(o.rej_fan_w, 0.02 * 1e5, 1e-6); /* fans flat out */
	assert_false(o.compressor_on);
	assert_true(o.setpoint_missed);
	/* the CDU wide open: eps C_min = capacity / (approach + rack rise) */
	double epsc = 1e5 / 13.0, t_tcs = t_sink + (Q + 1000) / epsc;
	near(cooling_tcs_temp(c, 0), t_tcs, 1e-6);
	double inlet = t_tcs - (Q + 1000) / 1e4;
	near(cooling_rack_inlet(c, 0), inlet, 1e-6);
	near(cooling_gpu_temp(c, 0), inlet + 21, 1e-5);
	cooling_destroy(c);

	/* with the trim chiller in series: supply held, the chiller takes the rest */
	p.trim_chiller = true;
	c = make(&p, 1, w);
	t = 0;
	o = run_const(c, &t, 300, 60, Q, 0, 700, 0);
	near(o.fac_supply_c, 30, 1e-6);
	near(cooling_rack_inlet(c, 0), 33, 1e-6);
	assert_false(o.setpoint_missed);
	assert_true(o.compressor_on);
	double q_dc = mcp_fac * (t_ret - t_sink); /* 32 kW */
	double q_ch = q_water - q_dc;             /* 50 kW */
	/* T_evap = 30 - 2, T_cond = sink + 5 = 40: lift 12 K */
	double cop_full = 0.5 * (28 + K0) / ((t_sink + 5) - 28.0);
	double plr = q_ch / 1e5;
	double cop = cop_full * plr / (0.2 + 0.8 * plr);
	near_rel(o.chiller_w, q_ch / cop, 1e-6);
	near(o.rej_fan_w, 0.02 * 1e5, 1e-3);
	near(o.heat_rejected_w, q_water + q_ch / cop, 1e-2);
	cooling_destroy(c);

	/* chiller too small: it runs flat out and the supply drifts up by what is
	 * left over the cooler's capacity rate */
	p.chiller_capacity_w = 10000;
	c = make(&p, 1, w);
	t = 0;
	o = run_const(c, &t, 300, 60, Q, 0, 700, 0);
	/* steady: q_water = m c_p (T_ret - sink) + 10 kW with T_ret = T_f + 8.2 */
	near(o.fac_supply_c, t_sink - 10000 / mcp_fac, 1e-6);
	near_rel(o.chiller_w, 1e4 * 1.0 / cop_full, 1e-6);
	cooling_destroy(c);
	weather_free(w);
}

/* --- 4. tower --------------------------------------------------------------- */

static void test_tower(void **state)
{
	(void)state;
	cool_params p = base();
	p.rejection = COOL_TOWER;
	p.rej_approach_k = 4;
	double Q = 80000, q_water = Q + 2000, mcp_fac = 1e4, dt = 60;

	/* wet bulb 20: sink 24 degC, below the setpoint: held */
	weather *w = flat(30, 10);
	cooling *c = make(&p, 1, w);
	double t = 0;
	cool_outputs o = run_const(c, &t, 300, dt, Q, 0, 700, 0);
	near(o.fac_supply_c, 30, 1e-7);
	near(o.wet_c, 20, 1e-12);
	near_rel(o.water_kg, q_water * dt / 2.45e6 * 4.0 / 3.0, 1e-7);
	double x = q_water / (mcp_fac * (30 + q_water / mcp_fac - 24));
	near(o.rej_fan_w, 0.02 * 1e5 * x * x * x, 1e-4);
	cooling_destroy(c);
	weather_free(w);

	/* wet bulb 28: sink 32 degC: the supply settles at wet bulb + approach */
	w = flat(34, 6);
	c = make(&p, 1, w);
	t = 0;
	o = run_const(c, &t, 300, dt, Q, 0, 700, 0);
	near(o.fac_supply_c, 28 + 4, 1e-6);
	near_rel(o.water_kg, q_water * dt / 2.45e6 * 4.0 / 3.0, 1e-6);
	assert_true(o.setpoint_missed);
	cooling_destroy(c);
	weather_free(w);
}

/* --- 5. CDU pump failure ----------------------------------------------------- */

static void test_pump_failure(void **state)
{
	(void)state;
	cool_params p = base();
	p.coolant = COOL_PG25;
	weather *w = flat(15, 5);
	cooling *c = make(&p, 1, w);
	double t = 0, Q = 80000, zero = 0, gpu = 700;
	run_const(c, &t, 240, 60, Q, 0, gpu, 0);
	near(cooling_rack_inlet(c, 0), 33, 1e-7);
	double T0 = cooling_tcs_temp(c, 0);
	near(T0, 33 + 81000 / 1e4, 1e-7); /* m c_p from rack_dt whatever the coolant */

	/* backup pump at half flow: affinity law */
	cooling_fail_cdu(c, 0, true, 0.5);
	cool_outputs o = run_const(c, &t, 1, 1, Q, 0, gpu, 0);
	near(o.cdu_pump_w, 1000 * 0.125, 1e-9);
	cooling_fail_cdu(c, 0, false, 0);
	o = run_const(c, &t, 200, 60, Q, 0, gpu, 0);
	near(o.cdu_pump_w, 1000, 1e-9);
	near(cooling_tcs_temp(c, 0), T0, 1e-6);

	/* no flow at all: the loop heats at Q / C_tcs */
	double C_tcs = RHO_PG * 0.1 * CP_PG;
	cooling_fail_cdu(c, 0, true, 0.0);
	double Ta = cooling_tcs_temp(c, 0);
	o = run_const(c, &t, 1, 1, Q, 0, gpu, 0);
	near(o.cdu_pump_w, 0, 0);
	near_rel(cooling_tcs_temp(c, 0) - Ta, Q * 1.0 / C_tcs, 1e-9);
	near(cooling_rack_inlet(c, 0), cooling_tcs_temp(c, 0), 0); /* stagnant */
	Ta = cooling_tcs_temp(c, 0);
	o = run_const(c, &t, 1, 10, Q, 0, gpu, 0);
	near_rel(cooling_tcs_temp(c, 0) - Ta, Q * 10.0 / C_tcs, 1e-9);

	/* the GPU follows, throttles through the band, then trips */
	bool throttled = false, tripped = false;
	double above90 = 0;
	for (int i = 0; i < 3600 && !tripped; i++) {
		run_const(c, &t, 1, 1, Q, 0, gpu, 0);
		double T = cooling_gpu_temp(c, 0), clk = cooling_clock(c, 0);
		if (T <= 80)
			near(clk, 1, 0);
		else if (T < 85) {
			near(clk, 1 - 0.5 * (T - 80) / 5, 1e-12);
			throttled = true;
		} else
			near(clk, 0.5, 0);
		assert_true(cooling_tripped(c, 0) == (T > 90));
		tripped = cooling_tripped(c, 0);
		if (tripped)
			above90 = T;
	}
	assert_true(throttled);
	assert_true(tripped);
	assert_true(above90 > 90);

	/* the facility cuts the rack and the pump is repaired: it cools, the trip
	 * holds until the GPU is below throttle */
	cooling_fail_cdu(c, 0, false, 0);
	bool cleared = false;
	for (int i = 0; i < 36000 && !cleared; i++) { /* 0.1 s ticks: ~0.15 K apart */
		run_const(c, &t, 1, 0.1, zero, 0, zero, 0);
		double T = cooling_gpu_temp(c, 0);
		if (T >= 80) {
			assert_true(cooling_tripped(c, 0));
		} else {
			assert_false(cooling_tripped(c, 0)); /* the first tick below */
			cleared = true;
		}
	}
	assert_true(cleared);
	near(cooling_clock(c, 0), 1, 0);
	o = run_const(c, &t, 120, 60, zero, 0, zero, 0);
	near(cooling_gpu_temp(c, 0), 33, 1e-6); /* no load: inlet held at 33 */
	cooling_destroy(c);
	weather_free(w);
}

/* --- 6. weather --------------------------------------------------------------- */

static char tmp_path[64];

static const char *write_tmp(const char *text)
{
	snprintf(tmp_path, sizeof tmp_path, "/tmp/fs_wx_XXXXXX");
	int fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return tmp_path;
}

static void expect_error(const char *text, int line, int col, const char *what)
{
	weather *w = (weather *)1;
	fs_error err;
	const char *path = write_tmp(text);
	int rc = weather_load_csv(path, &w, &err);
	unlink(path);
	assert_int_equal(rc, FS_ERR_INPUT);
	assert_null(w);
	assert_string_equal(err.key, "weather");
	if (err.line != line || err.column != col || !strstr(err.message, what))
		fail_msg("got %d:%d: %s; want %d:%d: ...%s...", err.line, err.column, err.message,
			 line, col, what);
}

static void test_weather_csv(void **state)
{
	(void)state;
	weather *w = NULL;
	fs_error err;
	const char *path = write_tmp("# a test day\n"
				     "time_s,dry_bulb_c,wet_bulb_c\r\n"
				     "0,10,5\n"
				     "\n"
				     "3600, 20 ,15\n"
				     "7200,10,5\n");
	int rc = weather_load_csv(path, &w, &err);
	unlink(path);
	if (rc)
		fail_msg("%d:%d: %s", err.line, err.column, err.message);
	double d, wb;
	weather_at(w, 1800, &d, &wb);
	near(d, 15, 1e-12);
	near(wb, 10, 1e-12);
	weather_at(w, 3600, &d, &wb);
	near(d, 20, 1e-12);
	weather_at(w, 2700, &d, &wb);
	near(d, 17.5, 1e-12);
	weather_at(w, 7200 * 5 + 1800, &d, &wb); /* looped */
	near(d, 15, 1e-12);
	weather_at(w, -1800, &d, &wb);
	near(d, 15, 1e-12);
	weather_free(w);

	/* two columns: wet bulb = dry bulb - 8 K */
	path = write_tmp("0,10\n100,20\n");
	assert_int_equal(weather_load_csv(path, &w, &err), FS_OK);
	unlink(path);
	weather_at(w, 50, &d, &wb);
	near(d, 15, 1e-12);
	near(wb, 7, 1e-12);
	weather_free(w);

	/* one row: constant */
	path = write_tmp("time_s,dry_bulb_c\n0,12.5\n");
	assert_int_equal(weather_load_csv(path, &w, &err), FS_OK);
	unlink(path);
	weather_at(w, 1e6, &d, &wb);
	near(d, 12.5, 0);
	near(wb, 4.5, 1e-12);
	weather_free(w);

	expect_error("time_s,dry_bulb_c\n0,10\n60,1O\n", 3, 4, "not a number");
	expect_error("0,10\n60,11\n60,12\n", 3, 1, "not after the previous time");
	expect_error("0,10\n60,11\n30,12\n", 3, 1, "strictly increasing");
	expect_error("time_s,dry_bulb_c,wet_bulb_c\n0,10,5\n60,11\n", 3, 6,
		     "missing the wet_bulb_c column");
	expect_error("0,10,5\n60\n", 2, 3, "missing the dry_bulb_c column");
	expect_error("time,dry_bulb_c\n0,10\n", 1, 1, "header column 'time'");
	expect_error("0,10,5,1\n", 1, 8, "extra field");
	expect_error("0,10,12\n", 1, 6, "wet bulb");
	expect_error("0,nan\n", 1, 3, "not a number");
	expect_error("# only a comment\n", 0, 0, "no data");
	expect_error("", 0, 0, "no data");
	expect_error("0,10\nx\x01\xff,3\n", 2, 1, "not a number");

	assert_int_equal(weather_load_csv("/nonexistent/wx.csv", &w, &err), FS_ERR_IO);
	assert_null(w);
}

static void test_weather_synthetic(void **state)
{
	(void)state;
	weather *w = NULL;
	fs_error err;
	assert_int_equal(weather_synthetic(25, 10, 15 * 3600.0, 6, &w, &err), FS_OK);
	double d, wb;
	weather_at(w, 15 * 3600.0, &d, &wb); /* the peak: mean + swing / 2 */
	near(d, 30, 1e-12);
	near(wb, 24, 1e-12);
	weather_at(w, 3 * 3600.0, &d, &wb); /* 12 h later: mean - swing / 2 */
	near(d, 20, 1e-12);
	near(wb, 14, 1e-12);
	weather_at(w, 9 * 3600.0, &d, &wb); /* a quarter day off: the mean */
	near(d, 25, 1e-9);
	weather_at(w, 11 * 3600.0, &d, &wb); /* cos(-pi/3) = 1/2 */
	near(d, 27.5, 1e-9);
	weather_at(w, 15 * 3600.0 + 3 * 86400.0, &d, &wb);
	near(d, 30, 1e-9);
	weather_free(w);
	assert_int_equal(weather_synthetic(25, -1, 0, 6, &w, &err), FS_ERR_INPUT);
	assert_string_equal(err.key, "weather");
	assert_int_equal(weather_synthetic(NAN, 1, 0, 6, &w, &err), FS_ERR_INPUT);
	assert_int_equal(weather_synthetic(25, 1, 0, -2, &w, &err), FS_ERR_INPUT);
}

static void test_climate_files(void **state)
{
	(void)state;
	weather *w = NULL;
	fs_error err;
	double d, wb, dmax = -100, dmin = 100;
	int rc = weather_load_csv("data/climate/phoenix_az_july_synthetic.csv", &w, &err);
	if (rc)
		fail_msg("%s:%d:%d: %s", err.file, err.line, err.column, err.message);
	for (int h = 0; h < 48; h++) {
		weather_at(w, h * 3600.0, &d, &wb);
		dmax = fmax(dmax, d), dmin = fmin(dmin, d);
		assert_true(wb <= d);
	}
	near(dmax, 41, 0.05);
	near(dmin, 29, 0.05);
	weather_at(w, 16 * 3600.0, &d, &wb);
	near(wb, 22.6, 0.05);
	weather_free(w);
	rc = weather_load_csv("data/climate/lulea_se_july_synthetic.csv", &w, &err);
	if (rc)
		fail_msg("%s:%d:%d: %s", err.file, err.line, err.column, err.message);
	dmax = -100, dmin = 100;
	for (int h = 0; h < 24; h++) {
		weather_at(w, h * 3600.0, &d, &wb);
		dmax = fmax(dmax, d), dmin = fmin(dmin, d);
		assert_true(d - wb >= 1.95 && d - wb <= 3.05);
	}
	near(dmax, 20, 0.05);
	near(dmin, 11, 0.05);
	weather_free(w);
}

/* --- validation ---------------------------------------------------------------- */

static void expect_bad(const cool_params *p, const cool_rack_spec *r, const weather *w,
		       const char *key)
{
	cooling *c = (cooling *)1;
	fs_error err;
	cool_rack_spec def = rack();
	assert_int_equal(cooling_create(p, r ? r : &def, 1, w, &c, &err), FS_ERR_INPUT);
	assert_null(c);
	assert_string_equal(err.key, key);
}

static void test_validation(void **state)
{
	(void)state;
	weather *w = flat(20, 5);
	cool_params p = base();
	p.supply_c = 80;
	expect_bad(&p, NULL, w, "cooling.supply_c");
	p = base();
	p.supply_c = NAN;
	expect_bad(&p, NULL, w, "cooling.supply_c");
	p = base();
	p.coolant = 7;
	expect_bad(&p, NULL, w, "cooling.coolant");
	p = base();
	p.fac_dt_k = 13; /* = rack_dt + approach: the CDU cannot do it */
	expect_bad(&p, NULL, w, "cooling.fac_dt_k");
	p = base();
	p.rejection = COOL_TOWER;
	p.tower_cycles = 1;
	expect_bad(&p, NULL, w, "cooling.tower_cycles");
	p = base();
	p.chiller_eta = 0;
	expect_bad(&p, NULL, w, "cooling.chiller_eta");
	p = base();
	p.trim_chiller = true;
	p.chiller_capacity_w = 0;
	expect_bad(&p, NULL, w, "cooling.chiller_capacity_w");
	p = base();
	p.racks_per_cdu = 0;
	expect_bad(&p, NULL, w, "cooling.racks_per_cdu");
	p = base();
	p.design_heat_w = -1;
	expect_bad(&p, NULL, w, "cooling.design_heat_w");
	p = base();
	p.tcs_volume_m3 = 0;
	expect_bad(&p, NULL, w, "cooling.tcs_volume_m3");
	p = base();
	expect_bad(&p, NULL, NULL, "cooling.weather");
	cool_rack_spec r = rack();
	r.shutdown_c = 70;
	expect_bad(&p, &r, w, "cooling.racks[0].shutdown_c");
	r = rack();
	r.clock_min = 0;
	expect_bad(&p, &r, w, "cooling.racks[0].clock_min");

	/* step inputs */
	cooling *c = make(&p, 1, w);
	double neg = -5, ok = 0;
	cool_inputs in = { &neg, &ok, &ok, 0 };
	cool_outputs o;
	fs_error err;
	assert_int_equal(cooling_step(c, 60, 60, &in, &o, &err), FS_ERR_RUN);
	assert_string_equal(err.key, "cooling.inputs");
	in.liquid_w = &ok;
	assert_int_equal(cooling_step(c, 60, 0, &in, &o, &err), FS_ERR_RUN);
	in.chain_loss_w = NAN;
	assert_int_equal(cooling_step(c, 60, 60, &in, &o, &err), FS_ERR_RUN);
	cooling_destroy(c);
	weather_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_energy_balance_dry),
	    cmocka_unit_test(test_energy_balance_tower),
	    cmocka_unit_test(test_steady_state),
	    cmocka_unit_test(test_low_load_holds_setpoint),
	    cmocka_unit_test(test_hot_day),
	    cmocka_unit_test(test_tower),
	    cmocka_unit_test(test_pump_failure),
	    cmocka_unit_test(test_weather_csv),
	    cmocka_unit_test(test_weather_synthetic),
	    cmocka_unit_test(test_climate_files),
	    cmocka_unit_test(test_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
