/*
 * units.h - quantities with units ("50 MW", "1.2 L/min", "0.12 $/kWh") turned
 * into SI numbers by dimensional analysis.
 *
 * A unit expression is a product of unit symbols with optional SI or binary
 * prefixes and integer powers, joined by '*', '·', a space, or '/', with
 * parentheses for grouped denominators ("J/(kg K)").  Each symbol has a scale
 * to SI and a dimension vector over the base dimensions (mass, length, time,
 * temperature, current, bytes, FLOP, money; counts such as token and req are
 * dimensionless).  The caller names the unit it expects ("W", "s", "1/s",
 * "B/s", "m^3/s", "1" for a ratio); a value of another dimension is an error.
 *
 * Temperature is special: the expected unit "degC" means an absolute
 * temperature, accepted in C / °C / degC, K or F and returned in degC; the
 * expected unit "K" means a temperature difference and only accepts K-based
 * units (a difference in C is rejected with advice to write K).
 */
#ifndef FS_UNITS_H
#define FS_UNITS_H

#include <stddef.h>

enum units_status {
	UNITS_OK = 0,
	UNITS_ERR_NUMBER,  /* no number, NaN/inf, overflow, trailing garbage */
	UNITS_ERR_MISSING, /* a bare number where a unit is required */
	UNITS_ERR_UNKNOWN, /* a unit symbol or expression that is not understood */
	UNITS_ERR_WRONG,   /* a known unit of another dimension */
	UNITS_ERR_EXPECTED /* the expected_unit itself is invalid (a bug) */
};

/* Parse text ("number unit") into SI (kg, m, s, B, FLOP, $; degC for an
 * absolute temperature).  expected_unit, a valid unit expression or "degC",
 * only fixes the dimension: "10 min" gives 600 whether "s" or "min" is
 * expected, and "85 %" gives 0.85.  Returns UNITS_OK and sets *si_out, or
 * an enum units_status and writes a sentence to why (may be NULL) such as
 *   missing unit in '50'; expected a power such as '50 MW'
 * A bare number is accepted only when expected_unit is dimensionless. */
int units_parse(const char *text, const char *expected_unit, double *si_out, char *why,
		size_t why_len);

/* The scale of expected_unit relative to SI (e.g. "%" -> 0.01, "min" -> 60);
 * 1 for "degC".  Returns 0 if the unit is invalid. */
double units_scale(const char *unit);

/* "a power such as '50 MW'": the phrase used in messages for a quantity of
 * expected_unit's dimension, written to buf. */
void units_describe(const char *expected_unit, char *buf, size_t n);

/* Format si (in SI units) in expected_unit as the shortest text that reads
 * back exactly, e.g. 600 with "s" -> "600 s", 0.85 with "%" -> "85 %", 3.2
 * with "1/s" -> "3.2 /s", 0.5 with "1" -> "0.5". */
void units_format(double si, const char *expected_unit, char *buf, size_t n);

/* Shortest "%.*g" text of x that parses back to the same double. */
void units_format_number(double x, char *buf, size_t n);

#endif
