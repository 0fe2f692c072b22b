/*
 * units.c - parsing "number unit" quantities into SI by dimensional analysis
 * (see units.h).
 *
 * A small recursive-descent parser reads the unit expression into a scale and
 * a vector of integer exponents over the base dimensions.  Symbols come from
 * one table; a symbol not found as written is tried as prefix + symbol (SI
 * prefixes for every symbol that allows them, binary prefixes Ki..Ei for bytes
 * and bits only).  Affine temperature units (C, F) are only meaningful on
 * their own, as an absolute temperature, and are refused anywhere else.  The
 * expected unit goes through the same parser, so the dimension check is a
 * comparison of two vectors, and messages name the dimension found and give an
 * example of the one expected.
 */
#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D_MASS, D_LEN, D_TIME, D_TEMP, D_CURR, D_BYTE, D_FLOP, D_MONEY, ND };

static const char *const dim_symbol[ND] = {"kg", "m", "s", "K", "A", "B", "FLOP", "$"};

enum { PFX_NONE = 0, PFX_SI = 1, PFX_BIN = 2 };
enum { AFF_NONE = 0, AFF_C = 1, AFF_F = 2 };

typedef struct unit_def {
	const char *sym;
	double scale;
	signed char e[ND]; /* kg m s K A B FLOP $ */
	unsigned char prefixes;
	unsigned char affine;
	const char *what; /* for messages about affine units */
} unit_def;

#define PFXSB (PFX_SI | PFX_BIN)
static const unit_def unit_table[] = {
    /* time */
    {"s", 1, {0, 0, 1}, PFX_SI, 0, NULL},
    {"min", 60, {0, 0, 1}, 0, 0, NULL},
    {"h", 3600, {0, 0, 1}, 0, 0, NULL},
    {"d", 86400, {0, 0, 1}, 0, 0, NULL},
    {"wk", 604800, {0, 0, 1}, 0, 0, NULL},
    {"yr", 31557600, {0, 0, 1}, 0, 0, NULL},
    {"Hz", 1, {0, 0, -1}, PFX_SI, 0, NULL},
    /* length, volume, mass */
    {"m", 1, {0, 1}, PFX_SI, 0, NULL},
    {"L", 1e-3, {0, 3}, PFX_SI, 0, NULL},
    {"l", 1e-3, {0, 3}, PFX_SI, 0, NULL},
    {"g", 1e-3, {1}, PFX_SI, 0, NULL},
    /* temperature */
    {"K", 1, {0, 0, 0, 1}, PFX_SI, 0, NULL},
    {"C", 1, {0, 0, 0, 1}, 0, AFF_C, "degree Celsius"},
    {"degC", 1, {0, 0, 0, 1}, 0, AFF_C, "degree Celsius"},
    {"\xc2\xb0"
     "C",
     1,
     {0, 0, 0, 1},
     0,
     AFF_C,
     "degree Celsius"},
    {"F", 5.0 / 9.0, {0, 0, 0, 1}, 0, AFF_F, "degree Fahrenheit"},
    {"degF", 5.0 / 9.0, {0, 0, 0, 1}, 0, AFF_F, "degree Fahrenheit"},
    {"\xc2\xb0"
     "F",
     5.0 / 9.0,
     {0, 0, 0, 1},
     0,
     AFF_F,
     "degree Fahrenheit"},
    /* mechanics and electricity */
    {"N", 1, {1, 1, -2}, PFX_SI, 0, NULL},
    {"Pa", 1, {1, -1, -2}, PFX_SI, 0, NULL},
    {"bar", 1e5, {1, -1, -2}, PFX_SI, 0, NULL},
    {"J", 1, {1, 2, -2}, PFX_SI, 0, NULL},
    {"Wh", 3600, {1, 2, -2}, PFX_SI, 0, NULL},
    {"W", 1, {1, 2, -3}, PFX_SI, 0, NULL},
    {"A", 1, {0, 0, 0, 0, 1}, PFX_SI, 0, NULL},
    {"V", 1, {1, 2, -3, 0, -1}, PFX_SI, 0, NULL},
    /* information and compute */
    {"B", 1, {0, 0, 0, 0, 0, 1}, PFXSB, 0, NULL},
    {"bit", 0.125, {0, 0, 0, 0, 0, 1}, PFXSB, 0, NULL},
    {"FLOP", 1, {0, 0, 0, 0, 0, 0, 1}, PFX_SI, 0, NULL},
    {"flop", 1, {0, 0, 0, 0, 0, 0, 1}, PFX_SI, 0, NULL},
    /* money */
    {"$", 1, {0, 0, 0, 0, 0, 0, 0, 1}, PFX_SI, 0, NULL},
    {"USD", 1, {0, 0, 0, 0, 0, 0, 0, 1}, PFX_SI, 0, NULL},
    /* counts: dimensionless */
    {"token", 1, {0}, PFX_SI, 0, NULL},
    {"tokens", 1, {0}, PFX_SI, 0, NULL},
    {"tok", 1, {0}, PFX_SI, 0, NULL},
    {"req", 1, {0}, PFX_SI, 0, NULL},
    {"request", 1, {0}, PFX_SI, 0, NULL},
    {"requests", 1, {0}, PFX_SI, 0, NULL},
    {"%", 0.01, {0}, 0, 0, NULL},
};

typedef struct prefix_def {
	const char *sym;
	double scale;
	unsigned char kind;
} prefix_def;

static const prefix_def prefix_table[] = {
    {"Ki", 1024.0, PFX_BIN},
    {"Mi", 1048576.0, PFX_BIN},
    {"Gi", 1073741824.0, PFX_BIN},
    {"Ti", 1099511627776.0, PFX_BIN},
    {"Pi", 1125899906842624.0, PFX_BIN},
    {"Ei", 1152921504606846976.0, PFX_BIN},
    {"\xc2\xb5", 1e-6, PFX_SI}, /* micro sign */
    {"\xce\xbc", 1e-6, PFX_SI}, /* Greek mu */
    {"u", 1e-6, PFX_SI},
    {"p", 1e-12, PFX_SI},
    {"n", 1e-9, PFX_SI},
    {"m", 1e-3, PFX_SI},
    {"c", 1e-2, PFX_SI},
    {"k", 1e3, PFX_SI},
    {"M", 1e6, PFX_SI},
    {"G", 1e9, PFX_SI},
    {"T", 1e12, PFX_SI},
    {"P", 1e15, PFX_SI},
    {"E", 1e18, PFX_SI},
};

#define NUNITS          (sizeof unit_table / sizeof unit_table[0])
#define NPREFIXES       (sizeof prefix_table / sizeof prefix_table[0])
#define MAX_UNIT_TEXT   128
#define MAX_PAREN_DEPTH 8
#define MAX_POWER       12

/* A parsed unit expression. */
typedef struct uexpr {
	double scale;
	int e[ND];
	int natoms;             /* atoms multiplied in */
	const unit_def *affine; /* the first affine atom seen, if any */
	int affine_power;       /* its power; 1 when used alone */
} uexpr;

typedef struct uparser {
	const char *s;
	size_t pos;
	int depth;
	char bad[MAX_UNIT_TEXT]; /* the symbol or spot that failed */
	int syntax;              /* 1 when the failure is malformed syntax */
} uparser;

/* ---- symbol lookup --------------------------------------------------------- */

static const unit_def *find_exact(const char *sym, size_t len)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (strlen(unit_table[i].sym) == len && memcmp(unit_table[i].sym, sym, len) == 0)
			return &unit_table[i];
	return NULL;
}

/* Find sym (len bytes) as a symbol or prefix + symbol; returns the unit and
 * the prefix factor, or NULL. */
static const unit_def *find_unit(const char *sym, size_t len, double *pscale)
{
	const unit_def *u = find_exact(sym, len);
	if (u) {
		*pscale = 1;
		return u;
	}
	for (size_t i = 0; i < NPREFIXES; i++) {
		size_t pl = strlen(prefix_table[i].sym);
		if (pl >= len || memcmp(prefix_table[i].sym, sym, pl) != 0)
			continue;
		u = find_exact(sym + pl, len - pl);
		if (u && (u->prefixes & prefix_table[i].kind)) {
			*pscale = prefix_table[i].scale;
			return u;
		}
	}
	return NULL;
}

/* ---- expression parser ----------------------------------------------------- */

static int is_middle_dot(const char *p)
{
	return (unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xb7;
}

static void skip_space(uparser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
		p->pos++;
}

static int is_atom_char(const char *p)
{
	char c = *p;
	if (c == '\0' || c == ' ' || c == '\t' || c == '/' || c == '*' || c == '(' || c == ')' ||
	    c == '^' || is_middle_dot(p))
		return 0;
	return 1;
}

static void mul_expr(uexpr *a, const uexpr *b, int sign)
{
	a->scale = sign > 0 ? a->scale * b->scale : a->scale / b->scale;
	for (int i = 0; i < ND; i++)
		a->e[i] += sign * b->e[i];
	a->natoms += b->natoms;
	if (b->affine && !a->affine) {
		a->affine = b->affine;
		a->affine_power = sign * b->affine_power;
	}
}

static void unit_one(uexpr *u)
{
	memset(u, 0, sizeof *u);
	u->scale = 1;
}

static int parse_expr(uparser *p, uexpr *out);

static int fail_syntax(uparser *p)
{
	p->syntax = 1;
	return -1;
}

static int parse_primary(uparser *p, uexpr *out)
{
	skip_space(p);
	unit_one(out);
	if (p->s[p->pos] == '(') {
		if (++p->depth > MAX_PAREN_DEPTH)
			return fail_syntax(p);
		p->pos++;
		if (parse_expr(p, out) != 0)
			return -1;
		skip_space(p);
		if (p->s[p->pos] != ')')
			return fail_syntax(p);
		p->pos++;
		p->depth--;
		return 0;
	}
	size_t start = p->pos;
	while (is_atom_char(p->s + p->pos))
		p->pos++;
	size_t len = p->pos - start;
	if (len == 0)
		return fail_syntax(p);
	if (len == 1 && p->s[start] == '1')
		return 0;
	double pscale = 1;
	const unit_def *u = find_unit(p->s + start, len, &pscale);
	if (!u) {
		snprintf(p->bad, sizeof p->bad, "%.*s", (int)len, p->s + start);
		return -1;
	}
	out->scale = u->scale * pscale;
	for (int i = 0; i < ND; i++)
		out->e[i] = u->e[i];
	out->natoms = 1;
	if (u->affine) {
		out->affine = u;
		out->affine_power = 1;
	}
	return 0;
}

static int parse_power(uparser *p, uexpr *out)
{
	if (parse_primary(p, out) != 0)
		return -1;
	if (p->s[p->pos] != '^')
		return 0;
	p->pos++;
	int sign = 1;
	if (p->s[p->pos] == '-' || p->s[p->pos] == '+')
		sign = p->s[p->pos++] == '-' ? -1 : 1;
	if (!isdigit((unsigned char)p->s[p->pos]))
		return fail_syntax(p);
	int n = 0;
	while (isdigit((unsigned char)p->s[p->pos])) {
		n = n * 10 + (p->s[p->pos++] - '0');
		if (n > MAX_POWER)
			return fail_syntax(p);
	}
	n *= sign;
	out->scale = pow(out->scale, n);
	for (int i = 0; i < ND; i++)
		out->e[i] *= n;
	out->affine_power *= n;
	return 0;
}

/* product := power { SPACE power } -- juxtaposition binds tighter than '/'. */
static int parse_product(uparser *p, uexpr *out)
{
	if (parse_power(p, out) != 0)
		return -1;
	for (;;) {
		size_t save = p->pos;
		skip_space(p);
		if (p->pos == save || !(is_atom_char(p->s + p->pos) || p->s[p->pos] == '(')) {
			p->pos = save;
			return 0;
		}
		uexpr b;
		if (parse_power(p, &b) != 0)
			return -1;
		mul_expr(out, &b, 1);
	}
}

/* expr := ['/'] product { ('/' | '*' | '·') product } */
static int parse_expr(uparser *p, uexpr *out)
{
	skip_space(p);
	unit_one(out);
	int sign = 1;
	if (p->s[p->pos] == '/') {
		p->pos++;
		sign = -1;
	} else if (p->s[p->pos] == '\0' || p->s[p->pos] == ')') {
		return fail_syntax(p);
	}
	for (;;) {
		uexpr b;
		if (parse_product(p, &b) != 0)
			return -1;
		mul_expr(out, &b, sign);
		skip_space(p);
		char c = p->s[p->pos];
		if (c == '/') {
			sign = -1;
			p->pos++;
		} else if (c == '*') {
			sign = 1;
			p->pos++;
		} else if (is_middle_dot(p->s + p->pos)) {
			sign = 1;
			p->pos += 2;
		} else {
			return 0;
		}
	}
}

/* Parse a whole unit string; returns 0, or -1 with p->bad / p->syntax set. */
static int parse_unit(const char *s, uexpr *out, uparser *p)
{
	memset(p, 0, sizeof *p);
	p->s = s;
	if (strlen(s) >= MAX_UNIT_TEXT)
		return fail_syntax(p);
	if (parse_expr(p, out) != 0)
		return -1;
	skip_space(p);
	if (p->s[p->pos] != '\0')
		return fail_syntax(p);
	return 0;
}

/* ---- dimension names and examples ------------------------------------------ */

typedef struct dim_name {
	signed char e[ND];
	const char *name;    /* "power" */
	const char *article; /* "a" / "an" */
	const char *example; /* "50 MW" */
} dim_name;

static const dim_name dim_names[] = {
    {{0}, "fraction or ratio", "a", "85 %"},
    {{0, 0, 1}, "time", "a", "10 min"},
    {{0, 0, -1}, "rate", "a", "2000 /s"},
    {{0, 0, 0, 1}, "temperature difference", "a", "3 K"},
    {{1, 2, -3}, "power", "a", "50 MW"},
    {{1, 2, -2}, "energy", "an", "1.5 kWh"},
    {{0, 0, 0, 0, 0, 1}, "data size", "a", "80 GiB"},
    {{0, 0, -1, 0, 0, 1}, "bandwidth", "a", "900 GB/s"},
    {{0, 0, 0, 0, 0, 0, 1}, "amount of compute", "an", "1 PFLOP"},
    {{0, 0, -1, 0, 0, 0, 1}, "compute rate", "a", "1979 TFLOP/s"},
    {{0, 3, -1}, "flow", "a", "1.2 L/min"},
    {{0, 3}, "volume", "a", "20 L"},
    {{0, 1}, "length", "a", "2 m"},
    {{1}, "mass", "a", "10 kg"},
    {{1, 0, -1}, "mass flow", "a", "0.5 kg/s"},
    {{-1, -2, 3, 1}, "thermal resistance", "a", "0.02 K/W"},
    {{1, 2, -3, -1}, "thermal conductance", "a", "50 W/K"},
    {{0, 2, -2, -1}, "specific heat capacity", "a", "4186 J/(kg K)"},
    {{1, -1, -2}, "pressure", "a", "2 bar"},
    {{1, 1, -2}, "force", "a", "10 N"},
    {{0, 0, 0, 0, 1}, "current", "a", "16 A"},
    {{1, 2, -3, 0, -1}, "voltage", "a", "400 V"},
    {{0, 0, 0, 0, 0, 0, 0, 1}, "amount of money", "an", "1000 $"},
    {{-1, -2, 2, 0, 0, 0, 0, 1}, "price of energy", "a", "0.12 $/kWh"},
    {{0, 0, -1, 0, 0, 0, 0, 1}, "cost rate", "a", "10 $/h"},
};

static const dim_name *lookup_dim(const int *e)
{
	for (size_t i = 0; i < sizeof dim_names / sizeof dim_names[0]; i++) {
		int same = 1;
		for (int k = 0; k < ND; k++)
			if (dim_names[i].e[k] != e[k])
				same = 0;
		if (same)
			return &dim_names[i];
	}
	return NULL;
}

/* "kg m^2 s^-3" for an unnamed dimension vector. */
static void dim_vector_text(const int *e, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int k = 0; k < ND && used < n; k++) {
		if (e[k] == 0)
			continue;
		int w = e[k] == 1
			    ? snprintf(buf + used, n - used, "%s%s", used ? " " : "", dim_symbol[k])
			    : snprintf(buf + used, n - used, "%s%s^%d", used ? " " : "",
				       dim_symbol[k], e[k]);
		if (w > 0)
			used += (size_t)w;
	}
}

static int is_abs_temp_unit(const char *unit)
{
	return strcmp(unit, "degC") == 0 || strcmp(unit, "C") == 0 ||
	       strcmp(unit, "\xc2\xb0"
			    "C") == 0;
}

void units_describe(const char *expected_unit, char *buf, size_t n)
{
	if (!n)
		return;
	if (is_abs_temp_unit(expected_unit)) {
		snprintf(buf, n, "a temperature such as '45 degC'");
		return;
	}
	uexpr u;
	uparser p;
	if (parse_unit(expected_unit, &u, &p) != 0) {
		snprintf(buf, n, "a quantity in %s", expected_unit);
		return;
	}
	const dim_name *d = lookup_dim(u.e);
	if (d)
		snprintf(buf, n, "%s %s such as '%s'", d->article, d->name, d->example);
	else
		snprintf(buf, n, "a quantity in %s such as '1 %s'", expected_unit, expected_unit);
}

/* Short name of a found dimension for "wrong unit 'X' (name)". */
static void dim_short_name(const uexpr *u, char *buf, size_t n)
{
	if (u->affine && u->natoms == 1 && u->affine_power == 1) {
		snprintf(buf, n, "temperature");
		return;
	}
	const dim_name *d = lookup_dim(u->e);
	if (d == &dim_names[0])
		snprintf(buf, n, "dimensionless");
	else if (d)
		snprintf(buf, n, "%s", d->name);
	else
		dim_vector_text(u->e, buf, n);
}

double units_scale(const char *unit)
{
	if (is_abs_temp_unit(unit))
		return 1;
	uexpr u;
	uparser p;
	if (parse_unit(unit, &u, &p) != 0 || u.affine)
		return 0;
	return u.scale;
}

/* ---- numbers --------------------------------------------------------------- */

/* Scan a decimal floating-point number at s (sign, digits, point, exponent);
 * returns its length or 0.  Rejects hex, nan, inf, which strtod would take. */
static size_t scan_number(const char *s)
{
	size_t i = 0, digits = 0;
	if (s[i] == '+' || s[i] == '-')
		i++;
	while (isdigit((unsigned char)s[i])) {
		i++;
		digits++;
	}
	if (s[i] == '.') {
		i++;
		while (isdigit((unsigned char)s[i])) {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;
		if (s[j] == '+' || s[j] == '-')
			j++;
		if (isdigit((unsigned char)s[j])) {
			while (isdigit((unsigned char)s[j]))
				j++;
			i = j;
		}
	}
	return i;
}

/* The shortest "%.*g" text t of si / scale such that strtod(t) * scale reads
 * back as si exactly (when some precision achieves it), written in full for
 * moderate magnitudes ("7200", not "7.2e+03"). */
static void format_scaled(double si, double scale, char *buf, size_t n)
{
	double x = si / scale;
	if (x == 0) {
		snprintf(buf, n, "0");
		return;
	}
	int prec = 1;
	for (; prec < 17; prec++) {
		snprintf(buf, n, "%.*g", prec, x);
		double back = strtod(buf, NULL);
		if (back * scale == si || (scale == 1 && back == x))
			break;
	}
	double ax = fabs(x);
	if (ax >= 1 && ax < 1e16) {
		int digits = (int)floor(log10(ax)) + 1;
		if (prec < digits)
			prec = digits;
	}
	snprintf(buf, n, "%.*g", prec, x);
}

void units_format_number(double x, char *buf, size_t n)
{
	format_scaled(x, 1, buf, n);
}

void units_format(double si, const char *expected_unit, char *buf, size_t n)
{
	char num[64];
	double scale = units_scale(expected_unit);
	format_scaled(si, scale != 0 ? scale : 1, num, sizeof num);
	if (strcmp(expected_unit, "1") == 0)
		snprintf(buf, n, "%s", num);
	else if (strncmp(expected_unit, "1/", 2) == 0)
		snprintf(buf, n, "%s /%s", num, expected_unit + 2);
	else
		snprintf(buf, n, "%s %s", num, expected_unit);
}

/* ---- the entry point ------------------------------------------------------- */

static int set_why(char *why, size_t why_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_why(char *why, size_t why_len, int code, const char *fmt, ...)
{
	if (why && why_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Copy at most n bytes of s for quoting in a message, trimming whitespace. */
static void quote_text(const char *s, char *buf, size_t n)
{
	while (*s == ' ' || *s == '\t')
		s++;
	snprintf(buf, n, "%s", s);
	size_t len = strlen(buf);
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n'))
		buf[--len] = '\0';
	if (len > 60)
		snprintf(buf + 57, n - 57, "...");
}

int units_parse(const char *text, const char *expected_unit, double *si_out, char *why,
		size_t why_len)
{
	char want[160], shown[96], unit_text[MAX_UNIT_TEXT + 1];
	if (why && why_len)
		why[0] = '\0';
	if (!text || !expected_unit)
		return set_why(why, why_len, UNITS_ERR_EXPECTED, "no text or unit given");

	int want_abs_temp = is_abs_temp_unit(expected_unit);
	uexpr exp_u;
	uparser p;
	if (want_abs_temp) {
		unit_one(&exp_u);
		exp_u.e[D_TEMP] = 1;
	} else if (parse_unit(expected_unit, &exp_u, &p) != 0 || exp_u.affine) {
		return set_why(why, why_len, UNITS_ERR_EXPECTED, "invalid expected unit '%s'",
			       expected_unit);
	}
	units_describe(expected_unit, want, sizeof want);
	quote_text(text, shown, sizeof shown);

	const char *s = text;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t nl = scan_number(s);
	if (nl == 0)
		return set_why(why, why_len, UNITS_ERR_NUMBER,
			       "'%s' is not a number with a unit; expected %s", shown, want);
	char numbuf[64];
	if (nl >= sizeof numbuf)
		return set_why(why, why_len, UNITS_ERR_NUMBER,
			       "the number in '%s' is too long; expected %s", shown, want);
	memcpy(numbuf, s, nl);
	numbuf[nl] = '\0';
	double v = strtod(numbuf, NULL);
	if (!isfinite(v))
		return set_why(why, why_len, UNITS_ERR_NUMBER,
			       "the number in '%s' is out of range; expected %s", shown, want);

	/* The unit: the rest, trimmed. */
	const char *u = s + nl;
	while (*u == ' ' || *u == '\t')
		u++;
	size_t ul = strlen(u);
	while (ul &&
	       (u[ul - 1] == ' ' || u[ul - 1] == '\t' || u[ul - 1] == '\n' || u[ul - 1] == '\r'))
		ul--;
	if (ul > MAX_UNIT_TEXT - 1)
		return set_why(why, why_len, UNITS_ERR_UNKNOWN,
			       "unit in '%s' is too long; expected %s", shown, want);
	memcpy(unit_text, u, ul);
	unit_text[ul] = '\0';

	int exp_dimless = 1;
	for (int k = 0; k < ND; k++)
		if (exp_u.e[k])
			exp_dimless = 0;
	if (ul == 0) {
		if (exp_dimless && !want_abs_temp) {
			*si_out = v;
			return UNITS_OK;
		}
		return set_why(why, why_len, UNITS_ERR_MISSING, "missing unit in '%s'; expected %s",
			       shown, want);
	}

	uexpr got;
	if (parse_unit(unit_text, &got, &p) != 0) {
		if (p.syntax)
			return set_why(why, why_len, UNITS_ERR_UNKNOWN,
				       "cannot read unit '%s'; expected %s", unit_text, want);
		return set_why(why, why_len, UNITS_ERR_UNKNOWN,
			       "unknown unit '%s' in '%s'; expected %s", p.bad, shown, want);
	}

	int same = 1;
	for (int k = 0; k < ND; k++)
		if (got.e[k] != exp_u.e[k])
			same = 0;
	if (!same) {
		char found[80];
		dim_short_name(&got, found, sizeof found);
		return set_why(why, why_len, UNITS_ERR_WRONG, "wrong unit '%s' (%s); expected %s",
			       unit_text, found, want);
	}

	double si;
	if (got.affine) {
		int alone = got.natoms == 1 && got.affine_power == 1;
		if (!want_abs_temp || !alone) {
			if (!want_abs_temp && alone)
				return set_why(why, why_len, UNITS_ERR_WRONG,
					       "'%s' is an absolute temperature in %s; a "
					       "temperature difference is written in K, e.g. '3 K'",
					       shown, got.affine->what);
			return set_why(why, why_len, UNITS_ERR_WRONG,
				       "unit '%s' uses %s, which only works alone for an absolute "
				       "temperature; write K instead; expected %s",
				       unit_text, got.affine->what, want);
		}
		/* got.scale includes any power-free prefix (none allowed). */
		si = got.affine->affine == AFF_C ? v : (v - 32.0) * 5.0 / 9.0;
	} else if (want_abs_temp) {
		si = v * got.scale - 273.15;
	} else {
		si = v * got.scale;
	}
	if (!isfinite(si))
		return set_why(why, why_len, UNITS_ERR_NUMBER,
			       "'%s' is out of the floating-point range; expected %s", shown, want);
	if (want_abs_temp && si < -273.15 - 1e-9)
		return set_why(why, why_len, UNITS_ERR_NUMBER,
			       "'%s' is below absolute zero; expected %s", shown, want);
	*si_out = si;
	return UNITS_OK;
}
