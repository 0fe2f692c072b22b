/*
 * test_units.c - unit conversion checked against hand-computed values, and
 * each kind of error (missing, unknown, wrong unit, bad number) with its text.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"

static void conv(const char *text, const char *unit, double want)
{
	double got = NAN;
	char why[512];
	int rc = units_parse(text, unit, &got, why, sizeof why);
	if (rc != UNITS_OK)
		fail_msg("'%s' as %s: error %d: %s", text, unit, rc, why);
	double tol = 1e-12 * fabs(want) + 1e-300;
	if (!(fabs(got - want) <= tol))
		fail_msg("'%s' as %s: got %.17g, want %.17g", text, unit, got, want);
}

static void conv_err(const char *text, const char *unit, int code, const char *why_want)
{
	double got = 12345;
	char why[512];
	int rc = units_parse(text, unit, &got, why, sizeof why);
	if (rc != code)
		fail_msg("'%s' as %s: code %d (%s), want %d", text, unit, rc, why, code);
	assert_true(got == 12345); /* untouched */
	if (why_want && strcmp(why, why_want) != 0)
		fail_msg("'%s' as %s:\n got  '%s'\n want '%s'", text, unit, why, why_want);
}

static void test_power_energy(void **state)
{
	(void)state;
	conv("50 MW", "W", 50e6);
	conv("50MW", "W", 50e6);
	conv("  700 W  ", "W", 700);
	conv("1.5 kWh", "J", 1.5 * 3.6e6);
	conv("2 MWh", "J", 7.2e9);
	conv("-3 kW", "W", -3000);
	conv("1e-3 W", "W", 1e-3);
	conv("2.5e3 W", "W", 2500);
	conv("1 J/s", "W", 1);
	conv("1 V*A", "W", 1);
	conv("1 kg*m^2/s^3", "W", 1);
}

static void test_time(void **state)
{
	(void)state;
	conv("10 min", "s", 600);
	conv("2 h", "s", 7200);
	conv("1 d", "s", 86400);
	conv("100 ms", "s", 0.1);
	conv("1e-3 s", "s", 1e-3);
	conv("250 us", "s", 250e-6);
	conv("250 \xc2\xb5s", "s", 250e-6);
	conv("3 ns", "s", 3e-9);
	conv("1 yr", "s", 365.25 * 86400);
	/* the expected unit only fixes the dimension: results are SI */
	conv("2 h", "min", 7200);
}

static void test_temperature(void **state)
{
	(void)state;
	conv("45 C", "degC", 45);
	conv("45 \xc2\xb0"
	     "C",
	     "degC", 45);
	conv("45 degC", "degC", 45);
	conv("318.15 K", "degC", 45);
	conv("113 F", "degC", 45);
	conv("-40 F", "degC", -40);
	conv("0 K", "degC", -273.15);
	conv("3 K", "K", 3);
	conv("300 mK", "K", 0.3);
	conv("0.02 K/W", "K/W", 0.02);
	conv("4186 J/(kg K)", "J/(kg K)", 4186);
	conv("4.186 kJ/(kg*K)", "J/(kg K)", 4186);
	conv("4.186 J/g/K", "J/(kg K)", 4186);
	conv("50 W/K", "W/K", 50);
}

static void test_rates_and_counts(void **state)
{
	(void)state;
	conv("2000 /s", "1/s", 2000);
	conv("2000 1/s", "1/s", 2000);
	conv("2000 req/s", "1/s", 2000);
	conv("3 kHz", "1/s", 3000);
	conv("120 req/min", "1/s", 2);
	conv("1.2 Mtoken/s", "1/s", 1.2e6);
	conv("85 %", "1", 0.85);
	conv("0.85", "1", 0.85);
	conv("85 %", "%", 0.85);
	conv("3", "1", 3);
}

static void test_data_and_compute(void **state)
{
	(void)state;
	conv("141 GB", "B", 141e9);
	conv("80 GiB", "B", 80.0 * 1073741824.0);
	conv("4.8 TB/s", "B/s", 4.8e12);
	conv("900 GB/s", "B/s", 900e9);
	conv("400 Gbit/s", "B/s", 50e9);
	conv("1 KiB", "B", 1024);
	conv("1979 TFLOP/s", "FLOP/s", 1979e12);
	conv("2 PFLOP", "FLOP", 2e15);
}

static void test_flow_and_money(void **state)
{
	(void)state;
	conv("1.2 L/min", "m^3/s", 2e-5);
	conv("1 m^3/h", "m^3/s", 1.0 / 3600);
	conv("0.12 $/kWh", "$/J", 0.12 / 3.6e6);
	conv("120 $/MWh", "$/J", 120 / 3.6e9);
	conv("2 bar", "Pa", 2e5);
	conv("1000 USD", "$", 1000);
	conv("3 W\xc2\xb7h", "J", 3 * 3600);
}

static void test_missing_unit(void **state)
{
	(void)state;
	conv_err("50", "W", UNITS_ERR_MISSING,
		 "missing unit in '50'; expected a power such as '50 MW'");
	conv_err("10", "s", UNITS_ERR_MISSING,
		 "missing unit in '10'; expected a time such as '10 min'");
	conv_err("45", "degC", UNITS_ERR_MISSING,
		 "missing unit in '45'; expected a temperature such as '45 degC'");
	conv_err("3", "K", UNITS_ERR_MISSING, NULL);
	conv_err("2000", "1/s", UNITS_ERR_MISSING, NULL);
}

static void test_unknown_unit(void **state)
{
	(void)state;
	conv_err("50 MWW", "W", UNITS_ERR_UNKNOWN,
		 "unknown unit 'MWW' in '50 MWW'; expected a power such as '50 MW'");
	conv_err("5 furlongs", "m", UNITS_ERR_UNKNOWN, NULL);
	conv_err("5 m3", "m^3", UNITS_ERR_UNKNOWN, NULL);
	conv_err("5 KiW", "W", UNITS_ERR_UNKNOWN, NULL); /* binary prefix on watts */
	conv_err("5 J/(kg", "J/kg", UNITS_ERR_UNKNOWN,
		 "cannot read unit 'J/(kg'; expected a quantity in J/kg such as '1 J/kg'");
	conv_err("5 m^", "m", UNITS_ERR_UNKNOWN, NULL);
	conv_err("5 m^99", "m", UNITS_ERR_UNKNOWN, NULL);
	conv_err("5 /", "1/s", UNITS_ERR_UNKNOWN, NULL);
	conv_err("5 ((((((((((s))))))))))", "s", UNITS_ERR_UNKNOWN, NULL);
}

static void test_wrong_unit(void **state)
{
	(void)state;
	conv_err("50 MWh", "W", UNITS_ERR_WRONG,
		 "wrong unit 'MWh' (energy); expected a power such as '50 MW'");
	conv_err("10 m", "s", UNITS_ERR_WRONG,
		 "wrong unit 'm' (length); expected a time such as '10 min'");
	conv_err("85 %", "W", UNITS_ERR_WRONG,
		 "wrong unit '%' (dimensionless); expected a power such as '50 MW'");
	conv_err("3 C", "K", UNITS_ERR_WRONG,
		 "'3 C' is an absolute temperature in degree Celsius; a temperature "
		 "difference is written in K, e.g. '3 K'");
	conv_err("3 F", "K", UNITS_ERR_WRONG, NULL);
	conv_err("3 W/C", "W/K", UNITS_ERR_WRONG, NULL);
	conv_err("45 W", "degC", UNITS_ERR_WRONG,
		 "wrong unit 'W' (power); expected a temperature such as '45 degC'");
	conv_err("1 GB", "B/s", UNITS_ERR_WRONG,
		 "wrong unit 'GB' (data size); expected a bandwidth such as '900 GB/s'");
	conv_err("1 kg m", "W", UNITS_ERR_WRONG,
		 "wrong unit 'kg m' (kg m); expected a power such as '50 MW'");
}

static void test_bad_numbers(void **state)
{
	(void)state;
	conv_err("nan W", "W", UNITS_ERR_NUMBER, NULL);
	conv_err("inf W", "W", UNITS_ERR_NUMBER, NULL);
	conv_err("-inf", "1", UNITS_ERR_NUMBER, NULL);
	conv_err("0x10 W", "W", UNITS_ERR_UNKNOWN, NULL); /* 0 then unit 'x10' */
	conv_err("1e999 W", "W", UNITS_ERR_NUMBER, NULL);
	conv_err("1e300 EW", "W", UNITS_ERR_NUMBER, NULL);
	conv_err("", "W", UNITS_ERR_NUMBER, NULL);
	conv_err("W", "W", UNITS_ERR_NUMBER,
		 "'W' is not a number with a unit; expected a power such as '50 MW'");
	conv_err("abc", "1", UNITS_ERR_NUMBER, NULL);
	conv_err("1.5.2 W", "W", UNITS_ERR_UNKNOWN, NULL);
	conv_err("5 W extra", "W", UNITS_ERR_UNKNOWN, NULL);
	conv_err("-300 C", "degC", UNITS_ERR_NUMBER, NULL);
	conv_err("5 W", "furlong", UNITS_ERR_EXPECTED, NULL);
	/* a very long unit and binary junk do not crash */
	char junk[600];
	memset(junk, 'W', sizeof junk - 1);
	junk[0] = '1';
	junk[sizeof junk - 1] = '\0';
	conv_err(junk, "W", UNITS_ERR_UNKNOWN, NULL);
	conv_err("1 \xff\xfe\x01", "W", UNITS_ERR_UNKNOWN, NULL);
}

static void test_format(void **state)
{
	(void)state;
	char buf[64];
	units_format(600, "s", buf, sizeof buf);
	assert_string_equal(buf, "600 s");
	units_format(0.85, "%", buf, sizeof buf);
	assert_string_equal(buf, "85 %");
	units_format(3.2, "1/s", buf, sizeof buf);
	assert_string_equal(buf, "3.2 /s");
	units_format(0.5, "1", buf, sizeof buf);
	assert_string_equal(buf, "0.5");
	units_format(45, "degC", buf, sizeof buf);
	assert_string_equal(buf, "45 degC");
	units_format(7200, "s", buf, sizeof buf);
	assert_string_equal(buf, "7200 s");
	units_format(0.07, "%", buf, sizeof buf);
	assert_string_equal(buf, "7 %");
	units_format(1e-7, "s", buf, sizeof buf);
	assert_string_equal(buf, "1e-07 s");
	/* formatted values read back exactly */
	const double xs[] = {0.1, 1.0 / 3, 3.15576e8, 1e-7, 123456789.123, 0.07};
	for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
		double back = 0;
		units_format(xs[i], "%", buf, sizeof buf);
		assert_int_equal(units_parse(buf, "1", &back, NULL, 0), UNITS_OK);
		assert_true(back == xs[i]);
		units_format(xs[i], "s", buf, sizeof buf);
		assert_int_equal(units_parse(buf, "s", &back, NULL, 0), UNITS_OK);
		assert_true(back == xs[i]);
	}
	char d[160];
	units_describe("W", d, sizeof d);
	assert_string_equal(d, "a power such as '50 MW'");
	assert_true(units_scale("min") == 60);
	assert_true(units_scale("bogus") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_energy),     cmocka_unit_test(test_time),
	    cmocka_unit_test(test_temperature),      cmocka_unit_test(test_rates_and_counts),
	    cmocka_unit_test(test_data_and_compute), cmocka_unit_test(test_flow_and_money),
	    cmocka_unit_test(test_missing_unit),     cmocka_unit_test(test_unknown_unit),
	    cmocka_unit_test(test_wrong_unit),       cmocka_unit_test(test_bad_numbers),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
