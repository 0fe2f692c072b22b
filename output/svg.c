/*
 * svg.c - charts as inline SVG (see svg.h for what and why).
 *
 * Coordinates are written with one decimal (a tenth of a pixel is below what
 * any screen shows) and paths use implicit line-to after the first "L", which
 * roughly halves the bytes of a long series.  Values far outside the plot are
 * clamped to a band around it before they are written, so a stray 1e300 does
 * not become a number the browser cannot parse; the clip path hides the rest.
 */
#include "svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int next_chart_id = 1;

/* --- units and numbers ------------------------------------------------------- */

enum unit_class { U_PLAIN, U_SI, U_SECONDS, U_COUNT };

static int unit_class(const char *u)
{
	static const char *const si[] = { "W", "J", "Wh", "B", "B/s", "FLOP", "FLOP/s", "Hz",
					  "W/K", "Pa", "V", "A", NULL };
	if (!u || !*u || !strcmp(u, "1") || !strncmp(u, "1/", 2) || !strncmp(u, "tokens", 6) ||
	    !strncmp(u, "requests", 8))
		return U_COUNT;
	if (!strcmp(u, "s"))
		return U_SECONDS;
	for (size_t i = 0; si[i]; i++)
		if (!strcmp(u, si[i]))
			return U_SI;
	return U_PLAIN;
}

const char *svg_unit_display(const char *u)
{
	if (!u || !strcmp(u, "1"))
		return "";
	if (!strcmp(u, "degC"))
		return "°C";
	return u;
}

/* SI prefix of 10^e3 (e3 a multiple of 3 in [-12, 15]). */
static const char *prefix_of(int e3)
{
	static const char *const p[] = { "p", "n", "µ", "m", "", "k", "M", "G", "T", "P" };
	int i = e3 / 3 + 4;
	return i >= 0 && i < 10 ? p[i] : "";
}

static int e3_of(double v)
{
	if (!(fabs(v) > 0) || !isfinite(v))
		return 0;
	int e = (int)floor(log10(fabs(v)) / 3.0) * 3;
	return e < -12 ? -12 : e > 15 ? 15 : e;
}

/* "-0" and "-0.0" print as "0". */
static void fix_negative_zero(char *buf)
{
	if (buf[0] != '-')
		return;
	for (const char *p = buf + 1; *p; p++)
		if (*p != '0' && *p != '.')
			return;
	memmove(buf, buf + 1, strlen(buf));
}

void svg_format_value(char *buf, size_t n, double v, const char *units, int digits)
{
	if (!n)
		return;
	if (!isfinite(v)) {
		snprintf(buf, n, "%s", isnan(v) ? "–" : v > 0 ? "∞" : "−∞");
		return;
	}
	if (digits < 1)
		digits = 1;
	int cls = unit_class(units);
	int e3 = 0;
	if (cls == U_SI || cls == U_COUNT)
		e3 = e3_of(v);
	else if (cls == U_SECONDS && fabs(v) < 1)
		e3 = e3_of(v);
	/* counts below 10,000 read better in full: 6218, not 6.22k */
	if (cls == U_COUNT && (e3 < 0 || fabs(v) < 1e4))
		e3 = 0;
	char num[64];
	for (int tries = 0; tries < 2; tries++) {
		snprintf(num, sizeof num, "%.*g", digits, v / pow(10, e3));
		/* rounding may carry into the next prefix: 999.96 k -> 1 M */
		if (!strchr(num, 'e') || (cls != U_SI && cls != U_COUNT && cls != U_SECONDS))
			break;
		e3 += 3;
	}
	fix_negative_zero(num);
	const char *p = prefix_of(e3);
	switch (cls) {
	case U_SI:
	case U_SECONDS: snprintf(buf, n, "%s %s%s", num, p, units); break;
	case U_COUNT: snprintf(buf, n, "%s%s", num, p); break;
	default: {
		const char *d = svg_unit_display(units);
		snprintf(buf, n, "%s%s%s", num, *d ? " " : "", d);
	}
	}
}

/* --- ticks ---------------------------------------------------------------------- */

double svg_nice_step(double range, int target)
{
	if (!(range > 0) || !isfinite(range))
		return 1;
	if (target < 1)
		target = 1;
	double raw = range / target;
	double mag = pow(10, floor(log10(raw)));
	static const double m[] = { 1, 2, 5, 10 };
	for (size_t i = 0; i < 4; i++)
		if (m[i] * mag >= raw * (1 - 1e-9))
			return m[i] * mag;
	return 10 * mag;
}

/* Multiples of step in [lo, hi], zero made exact. */
static size_t multiples(double lo, double hi, double step, double *ticks, size_t cap)
{
	size_t n = 0;
	double k0 = ceil(lo / step - 1e-9);
	for (double k = k0; n < cap; k++) {
		double t = k * step;
		if (t > hi + step * 1e-9)
			break;
		ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
	}
	return n;
}

size_t svg_nice_ticks(double *lo, double *hi, int target, bool expand, double *ticks, size_t cap,
		      double *step)
{
	double s = svg_nice_step(*hi - *lo, target);
	if (expand) {
		*lo = floor(*lo / s + 1e-9) * s;
		*hi = ceil(*hi / s - 1e-9) * s;
	}
	if (step)
		*step = s;
	return multiples(*lo, *hi, s, ticks, cap);
}

size_t svg_log_ticks(double lo, double hi, double *ticks, size_t cap)
{
	size_t n = 0;
	if (!(lo > 0) || !(hi > lo))
		return 0;
	bool fine = hi / lo <= 1000.0 * (1 + 1e-9);
	int d0 = (int)floor(log10(lo)), d1 = (int)ceil(log10(hi));
	for (int d = d0; d <= d1 && n < cap; d++) {
		static const double m[] = { 1, 2, 5 };
		for (size_t i = 0; i < 3 && n < cap; i++) {
			if (i && !fine)
				break;
			double t = m[i] * pow(10, d);
			if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9))
				ticks[n++] = t;
		}
	}
	return n;
}

/* Decimals that show every multiple of step (in label units) exactly. */
static int decimals_for(double step)
{
	int dec = 0;
	if (!(step > 0) || !isfinite(step))
		return 0;
	while (dec < 9) {
		double s = step * pow(10, dec);
		if (fabs(s - round(s)) < 1e-6 * fmax(1, s))
			break;
		dec++;
	}
	return dec;
}

/* Prefix, scale and suffix shared by all the ticks of a value axis. */
static void axis_labels(svg_axis *a)
{
	int cls = unit_class(a->units);
	double m = fmax(fabs(a->lo), fabs(a->hi));
	for (size_t i = 0; i < a->nticks; i++)
		m = fmax(m, fabs(a->ticks[i]));
	int e3 = 0;
	if (cls == U_SI || cls == U_COUNT)
		e3 = e3_of(m);
	else if (cls == U_SECONDS && m < 1)
		e3 = e3_of(m);
	if (cls == U_COUNT && (e3 < 0 || m < 1e4))
		e3 = 0;
	a->scale = pow(10, -e3);
	snprintf(a->prefix, sizeof a->prefix, "%s", prefix_of(e3));
	a->decimals = a->kind == SVG_AXIS_LOG ? -1 : decimals_for(a->step * a->scale);
	const char *d = svg_unit_display(a->units);
	switch (cls) {
	case U_SI:
	case U_SECONDS: snprintf(a->suffix, sizeof a->suffix, " %s%s", a->prefix, a->units); break;
	case U_COUNT: snprintf(a->suffix, sizeof a->suffix, "%s", a->prefix); break;
	default:
		/* short units go on every tick; long ones ("$/J") in the title */
		if (strlen(d) <= 3)
			snprintf(a->suffix, sizeof a->suffix, "%s%s", *d ? " " : "", d);
		else
			a->suffix[0] = '\0';
	}
	/* the title names a unit the ticks do not show */
	bool in_ticks = cls == U_SI || cls == U_SECONDS || (cls == U_PLAIN && strlen(d) <= 3);
	if (!in_ticks && *d) {
		size_t len = strlen(a->title);
		snprintf(a->title + len, sizeof a->title - len, " [%s]", d);
	}
}

static void axis_reset(svg_axis *a, int kind, const char *title, const char *units)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
	a->scale = 1;
	snprintf(a->title, sizeof a->title, "%s", title ? title : "");
	snprintf(a->units, sizeof a->units, "%s", units ? units : "");
}

void svg_axis_linear(svg_axis *a, double lo, double hi, const char *title, const char *units,
		     bool nice, bool from_zero)
{
	axis_reset(a, SVG_AXIS_LINEAR, title, units);
	if (!isfinite(lo) || !isfinite(hi)) {
		lo = 0;
		hi = 1;
	}
	if (from_zero && lo >= 0)
		lo = 0;
	if (from_zero && hi <= 0)
		hi = hi < 0 ? hi : 0;
	if (hi - lo <= fabs(hi) * 1e-12) {
		double d = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
		lo -= from_zero && lo == 0 ? 0 : d;
		hi += d;
	}
	a->lo = lo;
	a->hi = hi;
	a->nticks = svg_nice_ticks(&a->lo, &a->hi, 6, nice, a->ticks, SVG_MAX_TICKS, &a->step);
	axis_labels(a);
}

void svg_axis_log(svg_axis *a, double lo, double hi, const char *title, const char *units)
{
	axis_reset(a, SVG_AXIS_LOG, title, units);
	if (!(lo > 0) || !isfinite(lo))
		lo = hi > 0 ? hi / 100 : 1e-3;
	if (!(hi > lo) || !isfinite(hi))
		hi = lo * 100;
	/* widen to 1-2-5 values so the axis ends on labelled ticks */
	double dl = pow(10, floor(log10(lo))), dh = pow(10, floor(log10(hi)));
	static const double m[] = { 1, 2, 5, 10 };
	double nlo = dl, nhi = 10 * dh;
	for (size_t i = 0; i < 4; i++)
		if (m[i] * dl <= lo * (1 + 1e-9))
			nlo = m[i] * dl;
	for (int i = 3; i >= 0; i--)
		if (m[i] * dh >= hi * (1 - 1e-9))
			nhi = m[i] * dh;
	a->lo = nlo;
	a->hi = nhi;
	a->nticks = svg_log_ticks(a->lo, a->hi, a->ticks, SVG_MAX_TICKS);
	a->step = 0;
	axis_labels(a);
}

void svg_axis_time(svg_axis *a, double lo_s, double hi_s, const char *title)
{
	axis_reset(a, SVG_AXIS_TIME, title ? title : "simulated time", "s");
	if (!isfinite(lo_s) || !isfinite(hi_s) || !(hi_s > lo_s)) {
		hi_s = (isfinite(lo_s) ? lo_s : 0) + 1;
		lo_s = hi_s - 1;
	}
	double span = hi_s - lo_s, unit;
	const char *name;
	static const double hours[] = { 0.25, 0.5, 1, 2, 3, 4, 6, 12, 24, 48, 0 };
	static const double mins[] = { 1, 2, 5, 10, 15, 20, 30, 0 };
	const double *cand;
	if (span >= 3 * 3600.0) {
		unit = 3600, name = "h", cand = hours;
	} else if (span >= 180.0) {
		unit = 60, name = "min", cand = mins;
	} else {
		unit = 1, name = "s", cand = NULL;
	}
	double su = span / unit, step = 0;
	for (size_t i = 0; cand && cand[i] > 0; i++)
		if (su / cand[i] <= 8.2) { /* 24 h and one tick still in 3 h steps */
			step = cand[i];
			break;
		}
	if (step == 0)
		step = svg_nice_step(su, 8);
	a->lo = lo_s;
	a->hi = hi_s;
	a->step = step * unit;
	a->nticks = multiples(lo_s, hi_s, a->step, a->ticks, SVG_MAX_TICKS);
	a->scale = 1.0 / unit;
	a->decimals = decimals_for(step);
	snprintf(a->suffix, sizeof a->suffix, " %s", name);
}

void svg_axis_category(svg_axis *a, const char *const *cats, size_t n, const char *title)
{
	axis_reset(a, SVG_AXIS_CATEGORY, title, "");
	a->cats = cats;
	a->ncats = n;
	a->lo = -0.5;
	a->hi = n ? (double)n - 0.5 : 0.5;
	for (size_t i = 0; i < n && i < SVG_MAX_TICKS; i++)
		a->ticks[a->nticks++] = (double)i;
	a->step = 1;
}

void svg_axis_label(const svg_axis *a, double v, char *buf, size_t n)
{
	if (a->kind == SVG_AXIS_CATEGORY) {
		long i = lround(v);
		snprintf(buf, n, "%s", i >= 0 && (size_t)i < a->ncats ? a->cats[i] : "");
		return;
	}
	char num[64];
	if (a->kind == SVG_AXIS_LOG) {
		/* each decade tick may need its own prefix: 10 ms, 100 ms, 1 s */
		svg_format_value(buf, n, v, a->units, 3);
		return;
	}
	snprintf(num, sizeof num, "%.*f", a->decimals, v * a->scale);
	fix_negative_zero(num);
	/* a bare zero needs no prefix: "0", not "0k" */
	if (unit_class(a->units) == U_COUNT && a->kind != SVG_AXIS_TIME && v == 0)
		snprintf(buf, n, "0");
	else
		snprintf(buf, n, "%s%s", num, a->suffix);
}

void svg_axis_set_ticks(svg_axis *a, const double *v, size_t n)
{
	if (a->kind != SVG_AXIS_LINEAR || !v)
		return;
	double lo = fmin(a->lo, a->hi), hi = fmax(a->lo, a->hi), eps = (hi - lo) * 1e-9;
	size_t k = 0;
	int dec = 0;
	for (size_t i = 0; i < n && k < SVG_MAX_TICKS; i++) {
		if (!isfinite(v[i]) || v[i] < lo - eps || v[i] > hi + eps)
			continue;
		a->ticks[k++] = v[i];
		int d = decimals_for(fabs(v[i]) * a->scale);
		dec = d > dec ? d : dec;
	}
	if (!k)
		return;
	a->nticks = k;
	a->decimals = dec > 4 ? 4 : dec;
}

/* --- escaping and colours ---------------------------------------------------------- */

void svg_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

const char *svg_color(size_t i)
{
	/* Tableau 10: distinct in colour and in lightness */
	static const char *const pal[] = { "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
					   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
	return pal[i % 10];
}

/* Viridis at t in [0, 1], as #rrggbb. */
static void viridis(double t, char out[8])
{
	static const unsigned char stops[9][3] = {
		{ 68, 1, 84 },	  { 71, 44, 122 },  { 59, 81, 139 },  { 44, 113, 142 }, { 33, 144, 141 },
		{ 39, 173, 129 }, { 92, 200, 99 },  { 170, 220, 50 }, { 253, 231, 37 }
	};
	if (!(t >= 0))
		t = 0;
	if (t > 1)
		t = 1;
	double p = t * 8;
	int i = (int)floor(p);
	if (i >= 8)
		i = 7;
	double u = p - i;
	int rgb[3];
	for (int k = 0; k < 3; k++)
		rgb[k] = (int)lround(stops[i][k] + u * (stops[i + 1][k] - stops[i][k]));
	snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* --- charts ------------------------------------------------------------------------ */

int svg_chart_init(svg_chart *c, FILE *out, double w, double h, const char *title,
		   const char *subtitle)
{
	memset(c, 0, sizeof *c);
	c->out = out;
	c->w = w;
	c->h = h;
	c->ml = 84;
	c->mr = 24;
	c->mt = subtitle && *subtitle ? 50 : 34;
	c->mb = 46;
	c->id = next_chart_id++;
	snprintf(c->title, sizeof c->title, "%s", title ? title : "");
	snprintf(c->subtitle, sizeof c->subtitle, "%s", subtitle ? subtitle : "");
	svg_axis_linear(&c->x, 0, 1, "", "", true, false);
	svg_axis_linear(&c->y, 0, 1, "", "", true, false);
	c->body = open_memstream(&c->body_buf, &c->body_len);
	return c->body ? 0 : -1;
}

void svg_chart_discard(svg_chart *c)
{
	if (c->body)
		fclose(c->body);
	free(c->body_buf);
	c->body = NULL;
	c->body_buf = NULL;
}

static double ax_frac(const svg_axis *a, double v)
{
	if (a->kind == SVG_AXIS_LOG) {
		if (!(v > 0))
			return -1e3;
		return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	}
	return (v - a->lo) / (a->hi - a->lo);
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

double svg_px(const svg_chart *c, double x)
{
	double x0 = c->ml, x1 = c->w - c->mr;
	return clampd(x0 + ax_frac(&c->x, x) * (x1 - x0), -2 * c->w, 3 * c->w);
}

double svg_py(const svg_chart *c, double y)
{
	double y0 = c->mt, y1 = c->h - c->mb;
	return clampd(y1 - ax_frac(&c->y, y) * (y1 - y0), -2 * c->h, 3 * c->h);
}

void svg_legend(svg_chart *c, const char *label, const char *color, int kind)
{
	if (!label || !*label || c->nlegend >= SVG_MAX_LEGEND)
		return;
	for (size_t i = 0; i < c->nlegend; i++)
		if (!strcmp(c->legend[i].label, label))
			return;
	snprintf(c->legend[c->nlegend].label, sizeof c->legend[0].label, "%s", label);
	snprintf(c->legend[c->nlegend].color, sizeof c->legend[0].color, "%s", color);
	c->legend[c->nlegend].kind = kind;
	c->nlegend++;
}

/* Approximate width of text at 12 px sans-serif (for layout only). */
static double text_w(const char *s)
{
	double w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80) /* count characters, not UTF-8 bytes */
			w += 6.6;
	return w;
}

/* The line of the legend rows below the plot. */
static double legend_height(const svg_chart *c, double *rows_out)
{
	double x = c->ml, rows = c->nlegend ? 1 : 0;
	for (size_t i = 0; i < c->nlegend; i++) {
		double iw = 26 + text_w(c->legend[i].label) + 18;
		if (x + iw > c->w - 8 && x > c->ml) {
			rows++;
			x = c->ml;
		}
		x += iw;
	}
	if (rows_out)
		*rows_out = rows;
	return rows * 18 + (rows ? 6 : 0);
}

static void write_axes(const svg_chart *c, FILE *f)
{
	double x0 = c->ml, x1 = c->w - c->mr, y0 = c->mt, y1 = c->h - c->mb;
	char lab[96];
	/* grid and ticks of y */
	fprintf(f, "<g class=\"axis y\" font-size=\"11\" fill=\"#333\">\n");
	for (size_t i = 0; i < c->y.nticks; i++) {
		double py = svg_py(c, c->y.ticks[i]);
		if (py < y0 - 0.5 || py > y1 + 0.5)
			continue;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>",
			x0, py, x1, py);
		svg_axis_label(&c->y, c->y.ticks[i], lab, sizeof lab);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" dy=\"0.32em\">", x0 - 6,
			py);
		svg_escape(f, lab);
		fputs("</text>\n", f);
	}
	fputs("</g>\n", f);
	/* x: ticks; thin out labels that would collide */
	fprintf(f, "<g class=\"axis x\" font-size=\"11\" fill=\"#333\">\n");
	double last_end = -1e9;
	for (size_t i = 0; i < c->x.nticks; i++) {
		double px = svg_px(c, c->x.ticks[i]);
		if (px < x0 - 0.5 || px > x1 + 0.5)
			continue;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>",
			px, y0, px, y1);
		svg_axis_label(&c->x, c->x.ticks[i], lab, sizeof lab);
		double tw = text_w(lab) * 11 / 12;
		if (px - tw / 2 < last_end + 6)
			continue;
		last_end = px + tw / 2;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px, y1 + 16);
		svg_escape(f, lab);
		fputs("</text>\n", f);
	}
	fputs("</g>\n", f);
	fprintf(f, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#555\"/>\n", x0, y0, y1,
		x1);
	if (c->x.title[0]) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#222\">",
			(x0 + x1) / 2, y1 + 36);
		svg_escape(f, c->x.title);
		fputs("</text>\n", f);
	}
	if (c->y.title[0]) {
		fprintf(f,
			"<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
			"fill=\"#222\">",
			(y0 + y1) / 2);
		svg_escape(f, c->y.title);
		fputs("</text>\n", f);
	}
}

static void write_colorbar(const svg_chart *c, FILE *f)
{
	double y0 = c->mt, y1 = c->h - c->mb;
	double bx = c->w - c->mr + 14, bw = 14;
	int n = 48;
	fprintf(f, "<g class=\"colorbar\" font-size=\"11\" fill=\"#333\">\n");
	for (int i = 0; i < n; i++) {
		char col[8];
		viridis((i + 0.5) / n, col);
		double ya = y1 - (y1 - y0) * (i + 1) / n, yb = y1 - (y1 - y0) * i / n;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
			bx, ya, bw, yb - ya + 0.6, col);
	}
	svg_axis a;
	svg_axis_linear(&a, c->cb_lo, c->cb_hi, "", c->cb_units, false, false);
	char lab[64];
	for (size_t i = 0; i < a.nticks; i++) {
		double fr = (a.ticks[i] - c->cb_lo) / (c->cb_hi - c->cb_lo);
		if (!(fr >= -1e-9 && fr <= 1 + 1e-9))
			continue;
		double py = y1 - fr * (y1 - y0);
		svg_axis_label(&a, a.ticks[i], lab, sizeof lab);
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>",
			bx + bw, bx + bw + 4, py, py);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" dy=\"0.32em\">", bx + bw + 6, py);
		svg_escape(f, lab);
		fputs("</text>\n", f);
	}
	if (c->cb_title[0]) {
		fprintf(f,
			"<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
			"fill=\"#222\" font-size=\"12\">",
			c->w - 8, (y0 + y1) / 2);
		svg_escape(f, c->cb_title);
		fputs("</text>\n", f);
	}
	fputs("</g>\n", f);
}

static void write_legend(const svg_chart *c, FILE *f)
{
	if (!c->nlegend)
		return;
	double x = c->ml, y = c->h + 4;
	fprintf(f, "<g class=\"legend\" font-size=\"12\" fill=\"#222\">\n");
	for (size_t i = 0; i < c->nlegend; i++) {
		double iw = 26 + text_w(c->legend[i].label) + 18;
		if (x + iw > c->w - 8 && x > c->ml) {
			y += 18;
			x = c->ml;
		}
		const char *col = c->legend[i].color;
		switch (c->legend[i].kind) {
		case SVG_KEY_AREA:
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" height=\"10\" fill=\"%s\" "
				   "fill-opacity=\"0.6\"/>",
				x, y + 3, col);
			break;
		case SVG_KEY_DOT:
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>", x + 10, y + 8,
				col);
			break;
		default:
			fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
				   "stroke-width=\"2.5\"%s%s%s/>",
				x, x + 20, y + 8, y + 8, col,
				c->legend[i].kind == SVG_KEY_DASH ? " stroke-dasharray=\"" : "",
				c->legend[i].kind == SVG_KEY_DASH ? c->legend[i].dash : "",
				c->legend[i].kind == SVG_KEY_DASH ? "\"" : "");
		}
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 26, y + 12);
		svg_escape(f, c->legend[i].label);
		fputs("</text>\n", f);
		x += iw;
	}
	fputs("</g>\n", f);
}

void svg_chart_end(svg_chart *c)
{
	if (!c->body)
		return;
	fclose(c->body);
	c->body = NULL;
	FILE *f = c->out;
	double total = c->h + legend_height(c, NULL);
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" font-family=\"Helvetica, "
		"Arial, sans-serif\" font-size=\"12\" data-marks=\"%zu\">\n<title>",
		c->w, total, c->w, total, c->marks);
	svg_escape(f, c->title);
	fputs("</title>\n", f);
	double x0 = c->ml, x1 = c->w - c->mr, y0 = c->mt, y1 = c->h - c->mb;
	fprintf(f,
		"<defs><clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/></clipPath></defs>\n",
		c->id, x0, y0 - 1, x1 - x0, y1 - y0 + 2);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
	fprintf(f, "<text x=\"%.1f\" y=\"20\" font-size=\"15\" font-weight=\"bold\" fill=\"#111\">",
		x0);
	svg_escape(f, c->title);
	fputs("</text>\n", f);
	if (c->subtitle[0]) {
		fprintf(f, "<text x=\"%.1f\" y=\"37\" font-size=\"11.5\" fill=\"#555\">", x0);
		svg_escape(f, c->subtitle);
		fputs("</text>\n", f);
	}
	write_axes(c, f);
	fprintf(f, "<g class=\"plot\" clip-path=\"url(#clip%d)\">\n", c->id);
	if (c->body_len)
		fwrite(c->body_buf, 1, c->body_len, f);
	fputs("</g>\n", f);
	if (c->colorbar)
		write_colorbar(c, f);
	write_legend(c, f);
	fputs("</svg>\n", f);
	free(c->body_buf);
	c->body_buf = NULL;
}

/* --- marks ------------------------------------------------------------------------- */

typedef struct pen {
	FILE *f;
	size_t pts; /* points of the current sub-path */
} pen;

static void pen_to(pen *p, double x, double y)
{
	if (p->pts == 0)
		fprintf(p->f, "M%.1f %.1f", x, y);
	else if (p->pts == 1)
		fprintf(p->f, "L%.1f %.1f", x, y);
	else
		fprintf(p->f, " %.1f %.1f", x, y);
	p->pts++;
}

/* Column of pixel x: the unit of decimation. */
static long column_of(double px)
{
	return (long)floor(px);
}

void svg_line(svg_chart *c, const double *x, const double *y, size_t n, const char *color,
	      double width, const char *dash, const char *label)
{
	if (!c->body || n == 0)
		return;
	FILE *f = c->body;
	fprintf(f, "<path class=\"d\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.3g\" "
		   "stroke-linejoin=\"round\"%s%s%s d=\"",
		color, width, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
	pen p = { .f = f };
	/* the bucket of the current pixel column: first, min, max and last point */
	long col = 0;
	size_t first = 0, imin = 0, imax = 0, last = 0;
	bool open = false;
	size_t drawn = 0;
	for (size_t i = 0; i <= n; i++) {
		bool ok = i < n && isfinite(x[i]) && isfinite(y[i]) &&
			  (c->x.kind != SVG_AXIS_LOG || x[i] > 0) &&
			  (c->y.kind != SVG_AXIS_LOG || y[i] > 0);
		long k = ok ? column_of(svg_px(c, x[i])) : 0;
		if (open && (!ok || k != col)) {
			/* flush the bucket, its points in the order they came */
			size_t idx[4] = { first, imin, imax, last };
			for (int a = 1; a < 4; a++)
				for (int b = a; b > 0 && idx[b] < idx[b - 1]; b--) {
					size_t t = idx[b];
					idx[b] = idx[b - 1];
					idx[b - 1] = t;
				}
			for (int a = 0; a < 4; a++) {
				if (a && idx[a] == idx[a - 1])
					continue;
				pen_to(&p, svg_px(c, x[idx[a]]), svg_py(c, y[idx[a]]));
				drawn++;
			}
			open = false;
		}
		if (i == n)
			break;
		if (!ok) {
			p.pts = 0; /* NaN: lift the pen */
			continue;
		}
		if (!open) {
			open = true;
			col = k;
			first = imin = imax = last = i;
		} else {
			if (y[i] < y[imin])
				imin = i;
			if (y[i] > y[imax])
				imax = i;
			last = i;
		}
	}
	fputs("\"/>\n", f);
	if (drawn)
		c->marks++;
	size_t before = c->nlegend;
	svg_legend(c, label, color, dash ? SVG_KEY_DASH : SVG_KEY_LINE);
	if (dash && c->nlegend > before)
		snprintf(c->legend[before].dash, sizeof c->legend[0].dash, "%s", dash);
}

void svg_band(svg_chart *c, const double *x, const double *lo, const double *hi, size_t n,
	      const char *color, double opacity, int mode, const char *label)
{
	if (!c->body || n == 0)
		return;
	/* bins: x (pixel), lo, hi; one per pixel column at most */
	double *bx = malloc(3 * n * sizeof *bx);
	if (!bx)
		return;
	double *bl = bx + n, *bh = bx + 2 * n;
	FILE *f = c->body;
	fprintf(f, "<path class=\"d\" fill=\"%s\" fill-opacity=\"%.3g\" stroke=\"none\" d=\"", color,
		opacity);
	size_t nb = 0, cnt = 0, drawn = 0;
	long col = 0;
	double sx = 0, sl = 0, sh = 0;
	double base = c->y.kind == SVG_AXIS_LOG ? c->y.lo : fmax(c->y.lo, fmin(0, c->y.hi));
	for (size_t i = 0; i <= n; i++) {
		double l = i < n ? (lo ? lo[i] : base) : NAN, h = i < n ? hi[i] : NAN;
		bool ok = i < n && isfinite(x[i]) && isfinite(l) && isfinite(h);
		long k = ok ? column_of(svg_px(c, x[i])) : 0;
		if (cnt && (!ok || k != col)) {
			bx[nb] = sx / (double)cnt;
			bl[nb] = mode == SVG_BAND_MEAN ? sl / (double)cnt : sl;
			bh[nb] = mode == SVG_BAND_MEAN ? sh / (double)cnt : sh;
			nb++;
			cnt = 0;
		}
		if ((!ok || i == n) && nb) {
			/* close this piece of band: along hi, back along lo */
			pen p = { .f = f };
			for (size_t b = 0; b < nb; b++)
				pen_to(&p, bx[b], svg_py(c, bh[b]));
			for (size_t b = nb; b-- > 0;)
				pen_to(&p, bx[b], svg_py(c, bl[b]));
			fputc('Z', f);
			drawn++;
			nb = 0;
		}
		if (!ok)
			continue;
		double px = svg_px(c, x[i]);
		if (!cnt) {
			col = k;
			sx = px;
			sl = l;
			sh = h;
		} else if (mode == SVG_BAND_MEAN) {
			sx += px;
			sl += l;
			sh += h;
		} else {
			sx += px;
			sl = fmin(sl, l);
			sh = fmax(sh, h);
		}
		cnt++;
	}
	fputs("\"/>\n", f);
	free(bx);
	if (drawn)
		c->marks++;
	svg_legend(c, label, color, SVG_KEY_AREA);
}

void svg_dots(svg_chart *c, const double *x, const double *y, size_t n, const char *color,
	      double r, bool hollow, const char *label)
{
	if (!c->body)
		return;
	size_t drawn = 0;
	fprintf(c->body, "<g class=\"d\" %s=\"%s\"%s>", hollow ? "stroke" : "fill", color,
		hollow ? " fill=\"#fff\" stroke-width=\"1.5\"" : "");
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		fprintf(c->body, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.3g\"/>", svg_px(c, x[i]),
			svg_py(c, y[i]), r);
		drawn++;
	}
	fputs("</g>\n", c->body);
	if (drawn)
		c->marks++;
	svg_legend(c, label, color, SVG_KEY_DOT);
}

void svg_errorbars(svg_chart *c, const double *x, const double *lo, const double *hi, size_t n,
		   const char *color)
{
	if (!c->body)
		return;
	fprintf(c->body, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" d=\"", color);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(lo[i]) || !isfinite(hi[i]))
			continue;
		double px = svg_px(c, x[i]), a = svg_py(c, lo[i]), b = svg_py(c, hi[i]);
		fprintf(c->body, "M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8", px, a, b, px - 4, a,
			px - 4, b);
	}
	fputs("\"/>\n", c->body);
}

void svg_vspan(svg_chart *c, double x0, double x1, const char *color, double opacity,
	       const char *text, const char *label)
{
	if (!c->body)
		return;
	double a = svg_px(c, x0), b = svg_px(c, x1);
	if (b < a) {
		double t = a;
		a = b;
		b = t;
	}
	if (b - a < 1)
		b = a + 1;
	double y0 = c->mt, y1 = c->h - c->mb;
	fprintf(c->body,
		"<rect class=\"span\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"%s\" fill-opacity=\"%.3g\"/>\n",
		a, y0, b - a, y1 - y0, color, opacity);
	if (text && *text) {
		fprintf(c->body, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#333\">",
			a + 3, y0 + 12);
		svg_escape(c->body, text);
		fputs("</text>\n", c->body);
	}
	svg_legend(c, label, color, SVG_KEY_AREA);
}

void svg_hline(svg_chart *c, double y, const char *color, const char *dash, const char *text)
{
	if (!c->body || !isfinite(y))
		return;
	double py = svg_py(c, y), x0 = c->ml, x1 = c->w - c->mr;
	fprintf(c->body,
		"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		"stroke-width=\"1.5\"%s%s%s/>\n",
		x0, x1, py, py, color, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
		dash ? "\"" : "");
	if (text && *text) {
		fprintf(c->body,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" "
			"fill=\"%s\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
			x1 - 4, py - 4, color);
		svg_escape(c->body, text);
		fputs("</text>\n", c->body);
	}
}

void svg_text(svg_chart *c, double x, double y, double dx, double dy, const char *anchor,
	      const char *color, const char *text)
{
	if (!c->body || !text)
		return;
	fprintf(c->body,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"11\" fill=\"%s\" "
		"stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
		svg_px(c, x) + dx, svg_py(c, y) + dy, anchor ? anchor : "start", color ? color : "#333");
	svg_escape(c->body, text);
	fputs("</text>\n", c->body);
}

typedef struct lbox {
	double x0, y0, x1, y1;
} lbox;

/* Area of the overlap of two boxes (0 when apart). */
static double lbox_overlap(const lbox *a, const lbox *b)
{
	double w = fmin(a->x1, b->x1) - fmax(a->x0, b->x0),
	       h = fmin(a->y1, b->y1) - fmax(a->y0, b->y0);
	return w > 0 && h > 0 ? w * h : 0;
}

size_t svg_labels(svg_chart *c, const double *x, const double *y, const char *const *text, size_t n,
		  const double *ox, const double *oy, size_t no, double r, const char *color)
{
	if (!c->body || !n)
		return 0;
	/* obstacles: the labelled points, the other points, then the labels placed */
	lbox *ob = malloc((2 * n + no) * sizeof *ob);
	if (!ob)
		return 0;
	size_t nob = 0;
	for (size_t i = 0; i < n + no; i++) {
		double px = i < n ? x[i] : ox[i - n], py = i < n ? y[i] : oy[i - n];
		if (!isfinite(px) || !isfinite(py))
			continue;
		px = svg_px(c, px);
		py = svg_py(c, py);
		ob[nob++] = (lbox){ px - r, py - r, px + r, py + r };
	}
	/* where to try, as (dx, dy) from the point to the text's anchor corner and
	 * the side the text extends to: +1 right of dx, -1 left, 0 centred */
	static const struct {
		double dx, dy;
		int side;
	} cand[] = {
		{ 7, -7, 1 },     { 7, 15, 1 },     { -7, -7, -1 },  { -7, 15, -1 },
		{ 0, -11, 0 },    { 0, 21, 0 },     { 12, 4, 1 },    { -12, 4, -1 },
		/* the far places, with a leader line */
		{ 10, -22, 1 },   { 10, 30, 1 },    { -10, -22, -1 }, { -10, 30, -1 },
		{ 0, -34, 0 },    { 0, 44, 0 },     { 14, -40, 1 },   { 14, 48, 1 },
		{ -14, -40, -1 }, { -14, 48, -1 },  { 0, -58, 0 },    { 0, 66, 0 },
	};
	const size_t ncand = sizeof cand / sizeof cand[0];
	double x0 = c->ml, x1 = c->w - c->mr, y0 = c->mt, y1 = c->h - c->mb;
	size_t crowded = 0;
	for (size_t i = 0; i < n; i++) {
		if (!text[i] || !*text[i] || !isfinite(x[i]) || !isfinite(y[i]))
			continue;
		double px = svg_px(c, x[i]), py = svg_py(c, y[i]),
		       tw = text_w(text[i]) * 11 / 12 + 2;
		size_t pick = 0;
		double least = INFINITY;
		lbox best = { 0, 0, 0, 0 };
		for (size_t k = 0; k < ncand; k++) {
			double ax = px + cand[k].dx, ay = py + cand[k].dy;
			lbox b = { ax, ay - 10, ax + tw, ay + 3 };
			if (cand[k].side < 0)
				b.x0 = ax - tw;
			else if (cand[k].side == 0)
				b.x0 = ax - tw / 2;
			b.x1 = b.x0 + tw;
			/* outside the plot counts as a large overlap */
			double bad = 0;
			if (b.x0 < x0 || b.x1 > x1 || b.y0 < y0 || b.y1 > y1)
				bad += 1e6;
			for (size_t j = 0; j < nob; j++)
				bad += lbox_overlap(&b, &ob[j]);
			if (bad < least) {
				least = bad;
				pick = k;
				best = b;
			}
			if (bad == 0)
				break;
		}
		if (least > 0)
			crowded++;
		const char *anchor = "middle";
		if (cand[pick].side)
			anchor = cand[pick].side > 0 ? "start" : "end";
		double ax = px + cand[pick].dx, ay = py + cand[pick].dy;
		if (pick >= 8) {
			/* a leader from the dot's edge to the nearest point of the label */
			double tx = fmin(fmax(px, best.x0), best.x1),
			       ty = fmin(fmax(py, best.y0), best.y1);
			double d = hypot(tx - px, ty - py);
			if (d > r + 2)
				fprintf(c->body,
					"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
					"stroke=\"%s\" stroke-opacity=\"0.6\" stroke-width=\"0.8\"/>\n",
					px + (tx - px) * r / d, py + (ty - py) * r / d, tx, ty, color);
		}
		fprintf(c->body,
			"<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
			"font-size=\"11\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"3\" "
			"paint-order=\"stroke\">",
			ax, ay, anchor, color);
		svg_escape(c->body, text[i]);
		fputs("</text>\n", c->body);
		ob[nob++] = best;
	}
	free(ob);
	return crowded;
}

#define HEAT_LEVELS 32

void svg_heatmap(svg_chart *c, const double *t, const double *z, size_t rows, size_t cols,
		 double zlo, double zhi, bool use_max, const char *zunits, const char *ztitle)
{
	if (!c->body || rows == 0 || cols == 0)
		return;
	if (!(zhi > zlo)) {
		zhi = zlo + (fabs(zlo) > 0 ? fabs(zlo) * 0.01 : 1);
	}
	double x0 = c->ml, x1 = c->w - c->mr, y0 = c->mt, y1 = c->h - c->mb;
	size_t nt = (size_t)((x1 - x0) / 3), nr = (size_t)((y1 - y0) / 2);
	if (nt < 1)
		nt = 1;
	if (nr < 1)
		nr = 1;
	if (nt > rows)
		nt = rows;
	if (nr > cols)
		nr = cols;
	double *acc = calloc(nt * nr, sizeof *acc);
	size_t *cnt = calloc(nt * nr, sizeof *cnt);
	double *edge = malloc((nt + 1) * sizeof *edge);
	if (!acc || !cnt || !edge) {
		free(acc);
		free(cnt);
		free(edge);
		return;
	}
	for (size_t i = 0; i < rows; i++) {
		size_t bt = i * nt / rows;
		const double *row = z + i * cols;
		for (size_t j = 0; j < cols; j++) {
			double v = row[j];
			if (!isfinite(v))
				continue;
			size_t b = bt * nr + j * nr / cols;
			if (!cnt[b])
				acc[b] = v;
			else if (use_max)
				acc[b] = fmax(acc[b], v);
			else
				acc[b] += v;
			cnt[b]++;
		}
	}
	/* time edges of the bins: a row at t covers [t, next t) */
	double dt = rows > 1 ? t[rows - 1] - t[rows - 2] : 1;
	for (size_t b = 0; b <= nt; b++) {
		size_t i = (b * rows + nt - 1) / nt; /* first row of bin b */
		double tv = i < rows ? t[i] : t[rows - 1] + dt;
		edge[b] = svg_px(c, tv);
	}
	/* one path per colour level; runs of equal level in a row merge */
	for (int lev = 0; lev < HEAT_LEVELS; lev++) {
		bool any = false;
		/* on a category axis column j is centred on j, else it spans [j, j+1) */
		double off = c->y.kind == SVG_AXIS_CATEGORY ? -0.5 : 0;
		for (size_t r = 0; r < nr; r++) {
			double ya = svg_py(c, (double)((r + 1) * cols) / (double)nr + off),
			       yb = svg_py(c, (double)(r * cols) / (double)nr + off);
			size_t b = 0;
			while (b < nt) {
				size_t k = b * nr + r;
				int l = -1;
				if (cnt[k]) {
					double v = use_max ? acc[k] : acc[k] / (double)cnt[k];
					l = (int)floor((v - zlo) / (zhi - zlo) * HEAT_LEVELS);
					l = l < 0 ? 0 : l >= HEAT_LEVELS ? HEAT_LEVELS - 1 : l;
				}
				if (l != lev) {
					b++;
					continue;
				}
				size_t e = b + 1;
				while (e < nt) {
					size_t k2 = e * nr + r;
					if (!cnt[k2])
						break;
					double v2 = use_max ? acc[k2] : acc[k2] / (double)cnt[k2];
					int l2 = (int)floor((v2 - zlo) / (zhi - zlo) * HEAT_LEVELS);
					l2 = l2 < 0 ? 0 : l2 >= HEAT_LEVELS ? HEAT_LEVELS - 1 : l2;
					if (l2 != lev)
						break;
					e++;
				}
				if (!any) {
					char col[8];
					viridis((lev + 0.5) / HEAT_LEVELS, col);
					fprintf(c->body, "<path class=\"d\" fill=\"%s\" d=\"", col);
					any = true;
				}
				/* a hair of overlap hides the seams between cells */
				fprintf(c->body, "M%.1f %.1fh%.1fv%.1fh%.1fz", edge[b], ya,
					edge[e] - edge[b] + 0.3, yb - ya + 0.3, -(edge[e] - edge[b] + 0.3));
				b = e;
			}
		}
		if (any) {
			fputs("\"/>\n", c->body);
			c->marks++;
		}
	}
	free(acc);
	free(cnt);
	free(edge);
	c->colorbar = true;
	c->cb_lo = zlo;
	c->cb_hi = zhi;
	snprintf(c->cb_units, sizeof c->cb_units, "%s", zunits ? zunits : "");
	snprintf(c->cb_title, sizeof c->cb_title, "%s", ztitle ? ztitle : "");
}
