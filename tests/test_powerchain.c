/*
 * test_powerchain.c - the electrical models against hand arithmetic: stage
 * losses for N, N+1 and 2N (and the higher no-load loss of 2N at the same
 * load), energy conservation through the chain for random loads, the alarm /
 * sustained-overload trip / reset sequence and the instant trip with their
 * change events, the battery's limits, partial steps at the state-of-charge
 * bounds and closed energy books, the grid budget with events, ramps,
 * overlaps and notice, price look-up, and the price CSV reader with its
 * located error messages (including junk files).  Runs with cwd = repository
 * root.
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

#include "error.h"
#include "powerchain.h"

static void near(double got, double want, double rel)
{
	double d = fabs(got - want);
	double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
	if (!(d <= rel * scale))
		fail_msg("got %.17g, want %.17g (rel %g)", got, want, rel);
}

/* A deterministic uniform [0, 1) stream for the random-load tests. */
static double uniform(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*x >> 11) * 0x1.0p-53;
}

static pc_stage_params stage(const char *name, double rating, int units, int redundancy,
			     double noload, double k, double r)
{
	pc_stage_params p;
	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "%s", name);
	p.rating_w = rating;
	p.units = units;
	p.redundancy = redundancy;
	p.noload_share = noload;
	p.k_linear = k;
	p.r_quadratic = r;
	return p;
}

/* --- stage losses ------------------------------------------------------------- */

static void test_stage_loss_redundancy(void **state)
{
	(void)state;
	/* 1 MW units, no-load 1 %, k 0.5 %, r 2 %, 600 kW over 2 installed units:
	 * 300 kW each -> 10 kW + 1.5 kW + 0.02 x 0.09 MW^2 / 1 MW = 1.8 kW = 13.3 kW */
	pc_stage_params n2 = stage("ups", 1e6, 2, PC_N, 0.01, 0.005, 0.02);
	pc_stage_params n1 = stage("ups", 1e6, 1, PC_N1, 0.01, 0.005, 0.02);
	pc_stage_params two1 = stage("ups", 1e6, 1, PC_2N, 0.01, 0.005, 0.02);
	assert_int_equal(pc_stage_installed(&n2), 2);
	assert_int_equal(pc_stage_installed(&n1), 2);
	assert_int_equal(pc_stage_installed(&two1), 2);
	near(pc_stage_loss(&n2, 600e3), 2 * 13.3e3, 1e-12);
	near(pc_stage_loss(&n1, 600e3), 2 * 13.3e3, 1e-12);
	near(pc_stage_loss(&two1, 600e3), 2 * 13.3e3, 1e-12);

	/* 2N of two units: four installed at 150 kW each:
	 * 10 kW + 0.75 kW + 0.02 x 0.0225 MW^2 / 1 MW = 0.45 kW = 11.2 kW each */
	pc_stage_params two2 = stage("ups", 1e6, 2, PC_2N, 0.01, 0.005, 0.02);
	pc_stage_params n3 = stage("ups", 1e6, 2, PC_N1, 0.01, 0.005, 0.02);
	assert_int_equal(pc_stage_installed(&two2), 4);
	assert_int_equal(pc_stage_installed(&n3), 3);
	near(pc_stage_loss(&two2, 600e3), 4 * 11.2e3, 1e-12);
	/* N+1 of two: three at 200 kW: 10 + 1 + 0.02 x 0.04 MW = 0.8 -> 11.8 kW each */
	near(pc_stage_loss(&n3, 600e3), 3 * 11.8e3, 1e-12);

	/* the low-load effect: 2N loses more than N at the same load, and more
	 * still at no load (twice the idle units) */
	assert_true(pc_stage_loss(&two2, 600e3) > pc_stage_loss(&n2, 600e3));
	near(pc_stage_loss(&n2, 0), 20e3, 1e-12);
	near(pc_stage_loss(&two2, 0), 40e3, 1e-12);
	/* at full design load the quadratic term makes N's fewer units worse per
	 * unit, but 2N's extra no-load losses still dominate at 30 % */
	double eff_n = 600e3 / (600e3 + pc_stage_loss(&n2, 600e3));
	double eff_2n = 600e3 / (600e3 + pc_stage_loss(&two2, 600e3));
	assert_true(eff_2n < eff_n);

	/* the share reported by the chain is against N x rating, not installed */
	pc_chain c;
	fs_error err;
	assert_int_equal(pc_chain_init(&c, &two2, 1, &err), FS_OK);
	double in = pc_chain_eval(&c, 600e3, 10, 10, NULL, 0, NULL);
	near(c.s[0].load_share, 0.3, 1e-15);
	near(in, 600e3 + 44.8e3, 1e-12);
	near(pc_chain_loss(&c), 44.8e3, 1e-12);
}

/* --- chain --------------------------------------------------------------------- */

static void three_stages(pc_stage_params *st)
{
	st[0] = stage("pdu", 250e3, 4, PC_2N, 0.005, 0.004, 0.01);
	st[1] = stage("ups", 500e3, 2, PC_N1, 0.02, 0.01, 0.03);
	st[2] = stage("transformer", 2.5e6, 1, PC_N, 0.002, 0.001, 0.008);
}

static void test_chain_conservation(void **state)
{
	(void)state;
	pc_stage_params st[3];
	three_stages(st);
	pc_chain c;
	fs_error err;
	assert_int_equal(pc_chain_init(&c, st, 3, &err), FS_OK);
	uint64_t x = 12345;
	for (int i = 1; i <= 2000; i++) {
		double it = 0.95 * 1e6 * uniform(&x);
		size_t nch = 99;
		pc_change ch[8];
		double in = pc_chain_eval(&c, it, 10.0 * i, 10, ch, 8, &nch);
		double losses = pc_chain_loss(&c);
		near(in, it + losses, 1e-12);
		assert_true(c.s[0].load_w == it);
		for (size_t k = 0; k < 3; k++) {
			const pc_stage_state *s = &c.s[k];
			if (k > 0)
				assert_true(s->load_w == c.s[k - 1].input_w);
			assert_true(s->input_w == s->load_w + s->loss_w);
			near(s->loss_w, pc_stage_loss(&c.p[k], s->load_w), 1e-15);
			assert_true(s->loss_w > 0);
		}
		assert_true(in == c.s[2].input_w);
		assert_false(pc_chain_down(&c));
		for (size_t k = 0; k < nch; k++)
			assert_true(ch[k].kind == 1 || ch[k].kind == 2);
	}
	/* no chain at all: the utility sees the racks */
	pc_chain none;
	assert_int_equal(pc_chain_init(&none, NULL, 0, &err), FS_OK);
	assert_true(pc_chain_eval(&none, 123.5, 1, 1, NULL, 0, NULL) == 123.5);
	assert_true(pc_chain_loss(&none) == 0);
}

static void test_chain_overload_tracking(void **state)
{
	(void)state;
	/* loads up to 140 % of the bottom stage; no trip possible (trip share 10,
	 * trip after 1e9 s): every share above 1 must come with overload time */
	pc_stage_params st[3];
	three_stages(st);
	for (int k = 0; k < 3; k++) {
		st[k].trip_share = 10;
		st[k].trip_after_s = 1e9;
	}
	pc_chain c;
	fs_error err;
	assert_int_equal(pc_chain_init(&c, st, 3, &err), FS_OK);
	uint64_t x = 777;
	int over = 0;
	for (int i = 1; i <= 3000; i++) {
		double it = 1.4 * 1e6 * uniform(&x);
		double in = pc_chain_eval(&c, it, 5.0 * i, 5, NULL, 0, NULL);
		near(in, it + pc_chain_loss(&c), 1e-12);
		for (size_t k = 0; k < 3; k++) {
			const pc_stage_state *s = &c.s[k];
			assert_false(s->tripped);
			near(s->load_share, s->load_w / (c.p[k].units * c.p[k].rating_w), 1e-15);
			if (s->load_share > 1) {
				assert_true(s->overload_s >= 5);
				over++;
			} else {
				assert_true(s->overload_s == 0);
			}
			assert_true(s->alarm == (s->load_share > 0.9));
		}
	}
	assert_true(over > 100);
}

static void expect_change(const pc_change *ch, int stage_i, int kind, double share)
{
	assert_int_equal(ch->stage, stage_i);
	assert_int_equal(ch->kind, kind);
	near(ch->load_share, share, 1e-12);
}

static void test_alarm_trip_reset(void **state)
{
	(void)state;
	/* stage 0: 100 kW, lossless; stage 1: 1 MW with 10 kW no-load losses */
	pc_stage_params st[2] = {stage("pdu", 100e3, 1, PC_N, 0, 0, 0),
				 stage("transformer", 1e6, 1, PC_N, 0.01, 0, 0)};
	st[0].trip_after_s = 60;
	st[0].reset_after_s = 600;
	pc_chain c;
	fs_error err;
	assert_int_equal(pc_chain_init(&c, st, 2, &err), FS_OK);
	/* the defaults */
	near(c.p[0].alarm_share, 0.9, 0);
	near(c.p[0].trip_share, 1.25, 0);
	near(c.p[1].reset_after_s, 3600, 0);
	near(c.p[0].reset_after_s, 600, 0);

	pc_change ch[8];
	size_t n;
	near(pc_chain_eval(&c, 50e3, 10, 10, ch, 8, &n), 60e3, 1e-15);
	assert_int_equal(n, 0);
	/* 95 %: alarm on */
	near(pc_chain_eval(&c, 95e3, 20, 10, ch, 8, &n), 105e3, 1e-15);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 1, 0.95);
	assert_true(c.s[0].alarm && !c.s[1].alarm);
	/* 110 % from t = 30: overload 10, 20, ... 60 s without a trip ... */
	double t = 20;
	for (int k = 1; k <= 6; k++) {
		t += 10;
		near(pc_chain_eval(&c, 110e3, t, 10, ch, 8, &n), 120e3, 1e-15);
		assert_int_equal(n, 0);
		near(c.s[0].overload_s, 10.0 * k, 1e-12);
		assert_false(pc_chain_down(&c));
	}
	/* ... and the trip at 70 s > 60 s, at t = 90; the power of the interval
	 * was still delivered */
	t += 10;
	near(t, 90, 0);
	near(pc_chain_eval(&c, 110e3, t, 10, ch, 8, &n), 120e3, 1e-15);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 3, 1.1);
	assert_true(pc_chain_down(&c));
	assert_true(c.s[0].tripped && !c.s[1].tripped);
	near(c.s[0].tripped_until_s, 690, 0);

	/* down: the racks get nothing, the tripped stage carries and loses
	 * nothing, the transformer above keeps its no-load loss; the alarm goes */
	t += 10;
	near(pc_chain_eval(&c, 0, t, 10, ch, 8, &n), 10e3, 1e-15);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 2, 0);
	assert_true(c.s[0].load_w == 0 && c.s[0].loss_w == 0 && c.s[0].input_w == 0);
	near(c.s[1].loss_w, 10e3, 1e-15);
	while (t < 680) {
		t += 10;
		near(pc_chain_eval(&c, 0, t, 10, ch, 8, &n), 10e3, 1e-15);
		assert_int_equal(n, 0);
		assert_true(pc_chain_down(&c));
	}
	/* the interval ending at 690 is still dark; the breaker closes at 690 */
	t += 10;
	near(t, 690, 0);
	near(pc_chain_eval(&c, 0, t, 10, ch, 8, &n), 10e3, 1e-15);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 4, 0);
	assert_false(pc_chain_down(&c));
	near(c.s[0].overload_s, 0, 0);
	/* back to normal */
	t += 10;
	near(pc_chain_eval(&c, 50e3, t, 10, ch, 8, &n), 60e3, 1e-15);
	assert_int_equal(n, 0);

	/* overload interrupted: the timer starts again */
	pc_chain_eval(&c, 110e3, t += 10, 10, ch, 8, &n);
	pc_chain_eval(&c, 110e3, t += 10, 10, ch, 8, &n);
	near(c.s[0].overload_s, 20, 0);
	pc_chain_eval(&c, 100e3, t += 10, 10, ch, 8, &n); /* exactly at capacity */
	near(c.s[0].overload_s, 0, 0);
	assert_false(pc_chain_down(&c));

	/* the change list is cut at max_changes */
	pc_chain d;
	assert_int_equal(pc_chain_init(&d, st, 2, &err), FS_OK);
	n = 99;
	pc_chain_eval(&d, 200e3, 10, 10, ch, 1, &n);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 1, 2.0);
	assert_true(pc_chain_down(&d));
}

static void test_instant_trip(void **state)
{
	(void)state;
	pc_stage_params st[2] = {stage("pdu", 100e3, 1, PC_N, 0, 0, 0),
				 stage("ups", 200e3, 1, PC_N1, 0.05, 0, 0)};
	st[0].trip_after_s = 1000;
	st[0].reset_after_s = 30;
	pc_chain c;
	fs_error err;
	assert_int_equal(pc_chain_init(&c, st, 2, &err), FS_OK);
	pc_change ch[8];
	size_t n;
	/* 120 %: over capacity, alarm, but no instant trip */
	pc_chain_eval(&c, 120e3, 10, 10, ch, 8, &n);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 1, 1.2);
	assert_false(pc_chain_down(&c));
	/* 130 % > 125 %: trips at once, long before trip_after_s */
	double in = pc_chain_eval(&c, 130e3, 20, 10, ch, 8, &n);
	assert_int_equal(n, 1);
	expect_change(&ch[0], 0, 3, 1.3);
	assert_true(pc_chain_down(&c));
	/* ups: 2 installed x 5 % x 200 kW = 20 kW no-load, k = r = 0 */
	near(in, 150e3, 1e-15);
	near(c.s[0].tripped_until_s, 50, 0);

	/* a trip straight from normal load: alarm on and trip in one evaluation */
	pc_chain d;
	assert_int_equal(pc_chain_init(&d, st, 2, &err), FS_OK);
	pc_chain_eval(&d, 130e3, 10, 10, ch, 8, &n);
	assert_int_equal(n, 2);
	expect_change(&ch[0], 0, 1, 1.3);
	expect_change(&ch[1], 0, 3, 1.3);
	/* a trip higher up takes the lower stage down too */
	pc_stage_params up[2] = {stage("pdu", 1e6, 1, PC_N, 0, 0, 0),
				 stage("ups", 100e3, 1, PC_N, 0, 0, 0)};
	pc_chain e;
	assert_int_equal(pc_chain_init(&e, up, 2, &err), FS_OK);
	pc_chain_eval(&e, 200e3, 10, 10, ch, 8, &n);
	assert_int_equal(n, 2);
	expect_change(&ch[0], 1, 1, 2.0);
	expect_change(&ch[1], 1, 3, 2.0);
	near(pc_chain_eval(&e, 0, 20, 10, ch, 8, &n), 0, 0);
	assert_true(e.s[0].load_w == 0 && e.s[1].load_w == 0);
	assert_true(pc_chain_down(&e));
}

static void expect_chain_error(const pc_stage_params *st, size_t n, const char *want)
{
	pc_chain c;
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(pc_chain_init(&c, st, n, &err), FS_ERR_INPUT);
	char buf[1024];
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, want);
	assert_int_equal(c.n, 0);
}

static void test_chain_init_errors(void **state)
{
	(void)state;
	pc_stage_params st[3];
	three_stages(st);
	st[1].rating_w = 0;
	expect_chain_error(st, 3,
			   "power.chain[1].rating: 0 W is not a positive finite power; expected "
			   "a unit rating > 0 W");
	three_stages(st);
	st[0].units = 0;
	expect_chain_error(st, 3,
			   "power.chain[0].units: 0 units is out of range; expected 1 to 100000 "
			   "units");
	three_stages(st);
	st[2].redundancy = 3;
	expect_chain_error(st, 3,
			   "power.chain[2].redundancy: 3 is not a redundancy; expected N, N+1 or "
			   "2N");
	three_stages(st);
	st[2].r_quadratic = -0.1;
	expect_chain_error(st, 3,
			   "power.chain[2].r: -0.1 is not a coefficient >= 0; expected a quadratic "
			   "loss coefficient >= 0");
	three_stages(st);
	st[1].alarm_share = 1.3;
	expect_chain_error(st, 3,
			   "power.chain[1].alarm: 1.3 is out of range; expected an alarm share of "
			   "capacity > 0 and <= the trip share (default 0.9)");
	three_stages(st);
	st[1].trip_share = 0.95;
	expect_chain_error(st, 3,
			   "power.chain[1].trip: 0.95 is below 1; expected an instant-trip share "
			   "of capacity >= 1 (default 1.25)");
	three_stages(st);
	st[0].trip_after_s = NAN;
	expect_chain_error(st, 3,
			   "power.chain[0].trip_after: nan s is not a time >= 0; expected a "
			   "sustained-overload time >= 0 s");
	three_stages(st);
	st[0].reset_after_s = -1;
	expect_chain_error(st, 3,
			   "power.chain[0].reset_after: -1 s is not a time > 0; expected a reset "
			   "time > 0 s (default 3600 s)");
	pc_stage_params many[PC_MAX_STAGES + 1];
	for (int i = 0; i <= PC_MAX_STAGES; i++)
		many[i] = stage("x", 1e6, 1, PC_N, 0, 0, 0);
	expect_chain_error(many, PC_MAX_STAGES + 1,
			   "power.chain: 9 stages are too many; expected at most 8");
	/* an over-long name is cut, not overrun */
	pc_stage_params one = stage("x", 1e6, 1, PC_N, 0, 0, 0);
	memset(one.name, 'a', sizeof one.name);
	pc_chain c;
	fs_error err;
	assert_int_equal(pc_chain_init(&c, &one, 1, &err), FS_OK);
	assert_int_equal(strlen(c.p[0].name), PC_NAME_LEN - 1);
}

/* --- battery ------------------------------------------------------------------- */

static pc_battery_params battery(double soc_initial, double round_trip)
{
	pc_battery_params p = {.capacity_j = 3.6e9, /* 1 MWh */
			       .power_w = 100e3,
			       .round_trip = round_trip,
			       .soc_min = 0.1,
			       .soc_max = 0.9,
			       .soc_initial = soc_initial};
	return p;
}

static void books_close(const pc_battery *b)
{
	double initial = b->p.soc_initial * b->p.capacity_j;
	assert_true(b->lost_j == b->charged_j - b->discharged_j - (b->energy_j - initial));
	assert_true(b->lost_j >= -1e-6 * b->p.capacity_j);
}

static void test_battery_limits(void **state)
{
	(void)state;
	pc_battery b;
	fs_error err;
	pc_battery_params p = battery(0.5, 0.81); /* 90 % each way */
	assert_int_equal(pc_battery_init(&b, &p, &err), FS_OK);
	near(pc_battery_soc(&b), 0.5, 1e-15);
	/* asks 200 kW, gets the 100 kW limit; 6 MJ delivered take 6/0.9 MJ */
	near(pc_battery_discharge(&b, 200e3, 60), 100e3, 1e-15);
	near(b.discharged_j, 6e6, 1e-15);
	near(b.energy_j, 1.8e9 - 6e6 / 0.9, 1e-14);
	near(b.lost_j, 6e6 / 0.9 - 6e6, 1e-6);
	books_close(&b);
	/* below the limit: what is asked */
	near(pc_battery_discharge(&b, 40e3, 60), 40e3, 1e-15);
	/* charging at the limit: 100 kW for 60 s stores 5.4 MJ */
	double e0 = b.energy_j;
	near(pc_battery_charge(&b, 500e3, 60), 100e3, 1e-15);
	near(b.energy_j - e0, 6e6 * 0.9, 1e-9);
	near(b.charged_j, 6e6, 1e-15);
	books_close(&b);
	/* nothing asked, no time, junk: nothing happens */
	assert_true(pc_battery_discharge(&b, 0, 60) == 0);
	assert_true(pc_battery_discharge(&b, 10e3, 0) == 0);
	assert_true(pc_battery_discharge(&b, NAN, 60) == 0);
	assert_true(pc_battery_charge(&b, -5, 60) == 0);
	assert_true(pc_battery_charge(&b, 5, NAN) == 0);
	books_close(&b);
}

static void test_battery_floor_mid_step(void **state)
{
	(void)state;
	pc_battery b;
	fs_error err;
	/* 0.9 MJ above the 10 % floor; round trip 0.81 -> 0.9 one way */
	pc_battery_params p = battery(0.10025, 0.81);
	assert_int_equal(pc_battery_init(&b, &p, &err), FS_OK);
	near(b.energy_j - 0.1 * 3.6e9, 0.9e6, 1e-6);
	/* 100 kW for 60 s would take 6.67 MJ; only 0.9 MJ is there: 0.81 MJ reach
	 * the load, 13.5 kW on average over the minute */
	double got = pc_battery_discharge(&b, 100e3, 60);
	near(got, 13.5e3, 1e-6);
	near(b.discharged_j, 0.81e6, 1e-6);
	assert_true(b.energy_j == 0.1 * 3.6e9); /* exactly at the floor, not below */
	near(pc_battery_soc(&b), 0.1, 1e-15);
	near(b.lost_j, 0.09e6, 1e-5);
	books_close(&b);
	/* empty: nothing more */
	assert_true(pc_battery_discharge(&b, 100e3, 60) == 0);
	/* the ceiling: 0.9 MJ of room below 90 % takes 1 MJ from the grid */
	p = battery(0.89975, 0.81);
	assert_int_equal(pc_battery_init(&b, &p, &err), FS_OK);
	got = pc_battery_charge(&b, 100e3, 60);
	near(got, 1e6 / 60, 1e-6);
	assert_true(b.energy_j == 0.9 * 3.6e9);
	near(b.charged_j, 1e6, 1e-6);
	books_close(&b);
	assert_true(pc_battery_charge(&b, 100e3, 60) == 0);
}

static void test_battery_round_trip(void **state)
{
	(void)state;
	pc_battery b;
	fs_error err;
	pc_battery_params p = {.capacity_j = 3.6e9,
			       .power_w = 1e6,
			       .round_trip = 0.9,
			       .soc_min = 0,
			       .soc_max = 1,
			       .soc_initial = 0};
	assert_int_equal(pc_battery_init(&b, &p, &err), FS_OK);
	/* charge 1 GJ from the grid in 100 steps, then discharge everything */
	for (int i = 0; i < 100; i++)
		near(pc_battery_charge(&b, 1e6, 10), 1e6, 0);
	near(b.charged_j, 1e9, 1e-15);
	double delivered = 0;
	for (int i = 0; i < 200; i++)
		delivered += pc_battery_discharge(&b, 1e6, 10) * 10;
	near(delivered, 0.9e9, 1e-12);
	near(b.discharged_j, 0.9e9, 1e-12);
	assert_true(b.energy_j == 0);
	near(b.lost_j, 0.1e9, 1e-9);
	books_close(&b);

	/* bad parameters name their key */
	p.round_trip = 1.2;
	assert_int_equal(pc_battery_init(&b, &p, &err), FS_ERR_INPUT);
	char buf[512];
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, "power.battery.round_trip: 1.2 is out of range; expected a "
				 "round-trip efficiency > 0 and <= 1");
	p.round_trip = 0.9;
	p.soc_min = 0.5;
	p.soc_initial = 0.2;
	p.soc_max = 0.8;
	assert_int_equal(pc_battery_init(&b, &p, &err), FS_ERR_INPUT);
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, "power.battery.soc_initial: 0.2 is out of range; expected a "
				 "share between soc_min and soc_max");
}

/* --- grid ---------------------------------------------------------------------- */

static void test_grid_budget(void **state)
{
	(void)state;
	/* given out of order: B (short, deeper) before A */
	pc_grid_event ev[2] = {
	    {.start_s = 1200, .duration_s = 200, .level = 0.3, .notice_s = 0, .ramp_s = 0},
	    {.start_s = 1000, .duration_s = 600, .level = 0.5, .notice_s = 300, .ramp_s = 100},
	};
	pc_grid g;
	fs_error err;
	assert_int_equal(pc_grid_init(&g, 1e6, ev, 2, NULL, 0, 40 / 3.6e9, &err), FS_OK);
	assert_int_equal(g.n_events, 2);
	near(g.events[0].start_s, 1000, 0); /* sorted: A is 0, B is 1 */
	near(pc_grid_budget(&g, 0), 1e6, 0);
	near(pc_grid_budget(&g, 900), 1e6, 0);
	near(pc_grid_budget(&g, 950), 0.75e6, 1e-15); /* ramp down midpoint */
	near(pc_grid_budget(&g, 975), 0.625e6, 1e-15);
	near(pc_grid_budget(&g, 1000), 0.5e6, 0);
	near(pc_grid_budget(&g, 1100), 0.5e6, 0);
	near(pc_grid_budget(&g, 1200), 0.3e6, 0); /* overlap: the lower level */
	near(pc_grid_budget(&g, 1300), 0.3e6, 0);
	near(pc_grid_budget(&g, 1400), 0.3e6, 0);
	near(pc_grid_budget(&g, 1450), 0.5e6, 0);
	near(pc_grid_budget(&g, 1600), 0.5e6, 0);
	near(pc_grid_budget(&g, 1650), 0.75e6, 1e-15); /* ramp up midpoint */
	near(pc_grid_budget(&g, 1700), 1e6, 0);
	near(pc_grid_budget(&g, 5000), 1e6, 0);

	bool ann = true;
	assert_int_equal(pc_grid_event_at(&g, 650, &ann), -1);
	assert_false(ann);
	assert_int_equal(pc_grid_event_at(&g, 700, &ann), 0); /* announced 300 s ahead */
	assert_true(ann);
	assert_int_equal(pc_grid_event_at(&g, 950, &ann), 0);
	assert_true(ann);
	assert_int_equal(pc_grid_event_at(&g, 1100, &ann), 0);
	assert_false(ann);
	assert_int_equal(pc_grid_event_at(&g, 1300, &ann), 1); /* the deeper one */
	assert_false(ann);
	assert_int_equal(pc_grid_event_at(&g, 1650, &ann), 0); /* ramping back */
	assert_false(ann);
	assert_int_equal(pc_grid_event_at(&g, 1750, &ann), -1);
	assert_false(ann);
	assert_int_equal(pc_grid_event_at(&g, 1100, NULL), 0);

	near(pc_grid_price(&g, 123), 40 / 3.6e9, 0); /* flat */
	pc_grid_clear(&g);
	pc_grid_clear(&g);

	/* a fully shed event with a ramp of its own inside another */
	pc_grid_event shed = {.start_s = 100, .duration_s = 10, .level = 0, .ramp_s = 20};
	assert_int_equal(pc_grid_init(&g, 2e6, &shed, 1, NULL, 0, 0, &err), FS_OK);
	near(pc_grid_budget(&g, 90), 1e6, 1e-15);
	near(pc_grid_budget(&g, 105), 0, 0);
	near(pc_grid_budget(&g, 125), 1.5e6, 1e-15);
	assert_int_equal(pc_grid_event_at(&g, 85, &ann), 0); /* in its ramp, before notice */
	assert_true(ann);
	pc_grid_clear(&g);

	pc_grid_event bad = {.start_s = 0, .duration_s = 10, .level = 1.5};
	assert_int_equal(pc_grid_init(&g, 1e6, ev, 2, NULL, 0, 0, &err), FS_OK);
	pc_grid_clear(&g);
	pc_grid_event two[2] = {ev[0], bad};
	assert_int_equal(pc_grid_init(&g, 1e6, two, 2, NULL, 0, 0, &err), FS_ERR_INPUT);
	char buf[512];
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, "power.grid.events[1].level: 1.5 is out of range; expected a "
				 "share of the base budget between 0 and 1");
	assert_null(g.events);
	assert_int_equal(pc_grid_init(&g, 0, NULL, 0, NULL, 0, 0, &err), FS_ERR_INPUT);
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf,
			    "power.grid.budget: 0 W is out of range; expected a power > 0 W");
}

static void test_grid_prices(void **state)
{
	(void)state;
	pc_price_point pts[3] = {{3600, 80 / 3.6e9}, {0, 50 / 3.6e9}, {7200, 20 / 3.6e9}};
	pc_grid g;
	fs_error err;
	assert_int_equal(pc_grid_init(&g, 1e6, NULL, 0, pts, 3, 99, &err), FS_OK);
	near(pc_grid_price(&g, -5), 50 / 3.6e9, 0); /* before the first: the first */
	near(pc_grid_price(&g, 0), 50 / 3.6e9, 0);
	near(pc_grid_price(&g, 3599.9), 50 / 3.6e9, 0);
	near(pc_grid_price(&g, 3600), 80 / 3.6e9, 0);
	near(pc_grid_price(&g, 7199), 80 / 3.6e9, 0);
	near(pc_grid_price(&g, 7200), 20 / 3.6e9, 0);
	near(pc_grid_price(&g, 1e9), 20 / 3.6e9, 0);
	near(pc_grid_budget(&g, 10), 1e6, 0);
	pc_grid_clear(&g);
	/* one point: flat at that price */
	assert_int_equal(pc_grid_init(&g, 1e6, NULL, 0, pts, 1, 99, &err), FS_OK);
	near(pc_grid_price(&g, 0), 80 / 3.6e9, 0);
	near(pc_grid_price(&g, 1e6), 80 / 3.6e9, 0);
	pc_grid_clear(&g);
	/* two prices at one time */
	pc_price_point dup[2] = {{10, 1}, {10, 2}};
	assert_int_equal(pc_grid_init(&g, 1e6, NULL, 0, dup, 2, 0, &err), FS_ERR_INPUT);
	char buf[512];
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, "price: two prices at 10 s; expected one price per time");
	assert_null(g.prices);
}

/* --- price CSV ----------------------------------------------------------------- */

static void test_price_csv(void **state)
{
	(void)state;
	pc_price_point *pts = NULL;
	size_t n = 0;
	fs_error err;
	assert_int_equal(pc_price_read_csv("tests/data/prices_good.csv", &pts, &n, &err), FS_OK);
	assert_int_equal(n, 3);
	near(pts[0].t_s, 0, 0);
	near(pts[0].price, 42.5 / 3.6e9, 1e-15);
	near(pts[1].t_s, 3600, 0);
	near(pts[1].price, 80 / 3.6e9, 1e-15);
	near(pts[2].t_s, 7200, 0);
	near(pts[2].price, -5.25 / 3.6e9, 1e-15);
	pc_grid g;
	assert_int_equal(pc_grid_init(&g, 1e6, NULL, 0, pts, n, 0, &err), FS_OK);
	near(pc_grid_price(&g, 4000) * 3.6e9, 80, 1e-12);
	pc_grid_clear(&g);
	free(pts);
}

static void expect_csv_error(const char *path, int code, const char *want)
{
	pc_price_point *pts = (pc_price_point *)&pts; /* must be reset */
	size_t n = 7;
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(pc_price_read_csv(path, &pts, &n, &err), code);
	assert_null(pts);
	assert_int_equal(n, 0);
	char buf[1024];
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, want);
}

static void test_price_csv_errors(void **state)
{
	(void)state;
	expect_csv_error("tests/data/prices_nonincreasing.csv", FS_ERR_INPUT,
			 "tests/data/prices_nonincreasing.csv:4:1: price: time '3600' is not after "
			 "the previous time 3600 s; expected strictly increasing times");
	expect_csv_error("tests/data/prices_bad_number.csv", FS_ERR_INPUT,
			 "tests/data/prices_bad_number.csv:3:6: price: 'abc' is not a number; "
			 "expected time_s,price_per_mwh with the price in $/MWh");
	expect_csv_error("tests/data/prices_missing.csv", FS_ERR_INPUT,
			 "tests/data/prices_missing.csv:2:5: price: missing the price column; "
			 "expected time_s,price_per_mwh");
	expect_csv_error("tests/data/no_such_prices.csv", FS_ERR_IO,
			 "tests/data/no_such_prices.csv: price: cannot open the price series; "
			 "expected a readable file");
}

/* Write content to a fresh temporary file; returns its path (static). */
static const char *temp_file(const char *content, size_t len)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/fs_prices_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	return path;
}

static void junk(const char *content, size_t len, const char *want_tail)
{
	const char *path = temp_file(content, len);
	pc_price_point *pts = NULL;
	size_t n = 0;
	fs_error err;
	fs_error_clear(&err);
	int rc = pc_price_read_csv(path, &pts, &n, &err);
	remove(path);
	assert_int_equal(rc, FS_ERR_INPUT);
	assert_null(pts);
	char buf[1024];
	fs_error_format(&err, buf, sizeof buf);
	/* the path is random: compare what follows it */
	size_t lp = strlen(path);
	assert_memory_equal(buf, path, lp);
	assert_string_equal(buf + lp, want_tail);
}

static void test_price_csv_junk(void **state)
{
	(void)state;
	junk("", 0, ": price: no prices; expected at least one line time_s,price_per_mwh");
	junk("# only a comment\n\n", 18,
	     ": price: no prices; expected at least one line time_s,price_per_mwh");
	junk("time_s,price_per_mwh\n", 21,
	     ": price: no prices; expected at least one line time_s,price_per_mwh");
	junk("0,1,2\n", 6, ":1:5: price: '2' is an extra field; expected time_s,price_per_mwh");
	junk("0,nan\n", 6,
	     ":1:3: price: 'nan' is not a number; expected time_s,price_per_mwh with the price "
	     "in $/MWh");
	junk("0,1e999\n", 8,
	     ":1:3: price: '1e999' is not a number; expected time_s,price_per_mwh with the "
	     "price in $/MWh");
	junk("0,5\n1x,4\n", 9,
	     ":2:1: price: '1x' is not a time; expected time_s,price_per_mwh with the time in "
	     "seconds");
	junk("0,5\ntime,price\n", 15,
	     ":2:1: price: 'time' is not a time; expected time_s,price_per_mwh with the time "
	     "in seconds");
	junk("-1,5\n", 5, ":1:1: price: time '-1' is negative; expected times >= 0 s");
	junk("0,5\n10,\n", 8,
	     ":2:4: price: '' is not a number; expected time_s,price_per_mwh with the price in "
	     "$/MWh");
	junk("0,5\n1\0,4\n", 9,
	     ":2:1: price: '1\\x00' is not a time; expected time_s,price_per_mwh with the time "
	     "in seconds");
	junk("\xff\xfe\x01,\x02\n", 6,
	     ":1:1: price: '\\xff\\xfe\\x01' is not a time; expected time_s,price_per_mwh with "
	     "the time in seconds");
	char big[3000];
	memset(big, '7', sizeof big);
	junk(big, sizeof big,
	     ":1:1: price: line longer than 1024 bytes; expected one time_s,price_per_mwh per "
	     "line");
	/* a BOM, CRLF and no final newline are fine */
	const char *ok = "\xef\xbb\xbftime_s,price_per_mwh\r\n0,1\r\n60,2";
	const char *path = temp_file(ok, strlen(ok));
	pc_price_point *pts = NULL;
	size_t n = 0;
	fs_error err;
	int rc = pc_price_read_csv(path, &pts, &n, &err);
	remove(path);
	assert_int_equal(rc, FS_OK);
	assert_int_equal(n, 2);
	near(pts[1].t_s, 60, 0);
	near(pts[1].price, 2 / 3.6e9, 1e-15);
	free(pts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stage_loss_redundancy),
	    cmocka_unit_test(test_chain_conservation),
	    cmocka_unit_test(test_chain_overload_tracking),
	    cmocka_unit_test(test_alarm_trip_reset),
	    cmocka_unit_test(test_instant_trip),
	    cmocka_unit_test(test_chain_init_errors),
	    cmocka_unit_test(test_battery_limits),
	    cmocka_unit_test(test_battery_floor_mid_step),
	    cmocka_unit_test(test_battery_round_trip),
	    cmocka_unit_test(test_grid_budget),
	    cmocka_unit_test(test_grid_prices),
	    cmocka_unit_test(test_price_csv),
	    cmocka_unit_test(test_price_csv_errors),
	    cmocka_unit_test(test_price_csv_junk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
