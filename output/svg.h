/*
 * svg.h - charts as inline SVG, for the HTML report (report.c).
 *
 * No charting library and no script: a chart is written as plain SVG text
 * with its axes, ticks, legend and title, so the report opens anywhere,
 * offline, and stays readable in ten years.  The pieces:
 *
 *  - Ticks: "nice" steps of 1, 2 or 5 x 10^k (svg_nice_step/svg_nice_ticks),
 *    decades with 2 and 5 between them on a log axis, and hour/minute steps
 *    on a time axis.
 *  - Labels: SI prefixes shared by all the ticks of an axis ("1.5 MW",
 *    "200 ms"); counts get k/M/G ("150k"); degC prints as "°C".
 *  - Decimation: a series is drawn with at most two points (its minimum and
 *    maximum) per horizontal pixel, so a day at a 1 s tick costs what the
 *    chart is wide, not what the run is long, and no spike disappears.
 *    Stacked areas use the mean per pixel instead, which keeps their area
 *    (energy) right; envelopes (confidence bands) use the lowest low and the
 *    highest high.
 *  - Heatmaps of a [time x rack] dataset, binned to a few pixels per cell and
 *    written as one path per colour level, so 1,000 racks x 1,440 ticks fit
 *    in a few hundred kB.
 *
 * A chart is drawn in three steps: svg_chart_init (size, title, axes),
 * then any number of marks, then svg_chart_end, which writes the whole <svg>
 * element (marks are buffered so the legend, whose size is known only at the
 * end, can go below the plot).  Every mark carries class "d" so a test can
 * count what was drawn.
 */
#ifndef FS_SVG_H
#define FS_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SVG_MAX_TICKS  40
#define SVG_MAX_LEGEND 24

/* --- ticks and labels ------------------------------------------------------ */

/* The smallest step of the form {1, 2, 5} x 10^k that divides range into at
 * most target intervals.  range > 0, target >= 1. */
double svg_nice_step(double range, int target);

/* Multiples of the nice step inside [lo, hi] (hi > lo), at most cap of them;
 * returns the count and sets *step.  With expand, lo and hi are first widened
 * to the nearest multiples of the step (an axis range), and written back. */
size_t svg_nice_ticks(double *lo, double *hi, int target, bool expand, double *ticks, size_t cap,
		      double *step);

/* Ticks of a log axis over [lo, hi] (0 < lo < hi): every decade, with 2 and
 * 5 in between when the range spans at most three decades. */
size_t svg_log_ticks(double lo, double hi, double *ticks, size_t cap);

/* A value for a table: about `digits` significant digits with an SI prefix
 * where the unit takes one ("1.5 MW", "200 ms", "6.22k"), "–" for NaN. */
void svg_format_value(char *buf, size_t n, double v, const char *units, int digits);

/* How a unit is written after a number ("degC" -> "°C", "1" -> ""). */
const char *svg_unit_display(const char *units);

/* --- axes ----------------------------------------------------------------------- */

enum svg_axis_kind { SVG_AXIS_LINEAR, SVG_AXIS_LOG, SVG_AXIS_TIME, SVG_AXIS_CATEGORY };

typedef struct svg_axis {
	int kind;                  /* enum svg_axis_kind */
	double lo, hi;             /* the range shown, in data units */
	double ticks[SVG_MAX_TICKS];
	size_t nticks;
	double step;               /* linear tick step, data units */
	char title[160];           /* axis title, units appended in brackets */
	char units[32];            /* the data's units as stored ("W", "s", "1") */
	char prefix[8];            /* shared SI prefix of the tick labels, e.g. "M" */
	double scale;              /* tick label = value x scale */
	int decimals;              /* decimals of the tick labels */
	char suffix[24];           /* written after each tick number ("MW", "k", " h") */
	const char *const *cats;   /* category names (not owned) */
	size_t ncats;
} svg_axis;

/* A linear axis over the data range [lo, hi]; nice widens it to whole ticks
 * (and, with from_zero, down to 0 when lo >= 0).  A degenerate range (lo == hi,
 * NaN) becomes a small one around the value. */
void svg_axis_linear(svg_axis *a, double lo, double hi, const char *title, const char *units,
		     bool nice, bool from_zero);
void svg_axis_log(svg_axis *a, double lo, double hi, const char *title, const char *units);
/* Simulated time in seconds, labelled in s, min or h by the span. */
void svg_axis_time(svg_axis *a, double lo_s, double hi_s, const char *title);
/* Categories at 0 .. n-1 (string-valued sweep parameters). */
void svg_axis_category(svg_axis *a, const char *const *cats, size_t n, const char *title);
/* The label of tick value v. */
void svg_axis_label(const svg_axis *a, double v, char *buf, size_t n);
/* Ticks at exactly these values (those inside the axis range), e.g. the few
 * values a sweep parameter takes, with enough decimals to tell them apart. */
void svg_axis_set_ticks(svg_axis *a, const double *v, size_t n);

/* --- charts ------------------------------------------------------------------------ */

enum svg_legend_kind { SVG_KEY_LINE, SVG_KEY_AREA, SVG_KEY_DOT, SVG_KEY_DASH };

typedef struct svg_chart {
	FILE *out;                 /* where svg_chart_end writes */
	FILE *body;                /* the marks, buffered (open_memstream) */
	char *body_buf;
	size_t body_len;
	int id;                    /* unique within a document (clip paths) */
	double w, h;               /* size without the legend [px] */
	double ml, mr, mt, mb;     /* margins [px] */
	char title[200];
	char subtitle[300];
	svg_axis x, y;
	struct {
		char label[120];
		char color[24];
		char dash[24];     /* SVG_KEY_DASH: the line's dash pattern */
		int kind;
	} legend[SVG_MAX_LEGEND];
	size_t nlegend;
	size_t marks;              /* marks drawn (class "d") */
	bool colorbar;             /* a heatmap's colour scale in the right margin */
	double cb_lo, cb_hi;
	char cb_units[32], cb_title[80];
} svg_chart;

/* Start a chart of w x h pixels (legend rows are added below).  The axes are
 * set afterwards with the svg_axis_* functions on c->x and c->y.  0 or -1 when
 * out of memory. */
int svg_chart_init(svg_chart *c, FILE *out, double w, double h, const char *title,
		   const char *subtitle);
/* Write the chart to c->out and free its buffers. */
void svg_chart_end(svg_chart *c);
/* Discard a chart that was initialised but will not be written. */
void svg_chart_discard(svg_chart *c);

/* Data to pixels. */
double svg_px(const svg_chart *c, double x);
double svg_py(const svg_chart *c, double y);

/* Add a legend entry without drawing anything. */
void svg_legend(svg_chart *c, const char *label, const char *color, int kind);

/* A polyline through (x[i], y[i]), x ascending; NaN breaks the line.  At most
 * two points (min and max) per pixel column are drawn.  dash may be NULL;
 * label NULL adds no legend entry. */
void svg_line(svg_chart *c, const double *x, const double *y, size_t n, const char *color,
	      double width, const char *dash, const char *label);

enum svg_band_mode { SVG_BAND_ENVELOPE, SVG_BAND_MEAN };
/* The area between lo[i] and hi[i] (lo NULL: the x axis), x ascending, NaN
 * breaks the band.  Binned per pixel column by mode. */
void svg_band(svg_chart *c, const double *x, const double *lo, const double *hi, size_t n,
	      const char *color, double opacity, int mode, const char *label);

/* Dots of radius r; hollow draws rings. */
void svg_dots(svg_chart *c, const double *x, const double *y, size_t n, const char *color,
	      double r, bool hollow, const char *label);
/* Vertical error bars from lo[i] to hi[i] at x[i] (NaN skipped). */
void svg_errorbars(svg_chart *c, const double *x, const double *lo, const double *hi, size_t n,
		   const char *color);
/* A shaded vertical span [x0, x1] with an optional label at its top. */
void svg_vspan(svg_chart *c, double x0, double x1, const char *color, double opacity,
	       const char *text, const char *label);
/* A horizontal reference line across the plot, with text at its right end. */
void svg_hline(svg_chart *c, double y, const char *color, const char *dash, const char *text);

/* A heatmap of z [rows x cols] (row i at time t[i], column j = rack j) on the
 * chart's x axis (time) and y axis (column index 0 .. cols; or, on a category
 * axis, column j centred on category j).  Cells are binned
 * to about 3 px wide and 2 px high; a bin shows the mean of its cells, or their
 * maximum with use_max.  Colours run from zlo to zhi (viridis); a colour bar
 * with zunits goes in the right margin (make c->mr at least 90). */
void svg_heatmap(svg_chart *c, const double *t, const double *z, size_t rows, size_t cols,
		 double zlo, double zhi, bool use_max, const char *zunits, const char *ztitle);

/* A free text at data coordinates, moved by (dx, dy) pixels. */
void svg_text(svg_chart *c, double x, double y, double dx, double dy, const char *anchor,
	      const char *color, const char *text);

/* Labels text[i] next to the points (x[i], y[i]), placed one after the other
 * where they overlap neither a label already placed, nor a dot of radius r at
 * any of the obstacle points (ox[j], oy[j]) (the labelled points themselves
 * are always obstacles), nor the plot's edge: to the upper right of the point
 * first, then the other corners, above and below, then further away with a
 * thin leader line back to the point.  Where every place collides, the one
 * that overlaps least.  Returns how many labels had to overlap something. */
size_t svg_labels(svg_chart *c, const double *x, const double *y, const char *const *text,
		  size_t n, const double *ox, const double *oy, size_t no, double r,
		  const char *color);

/* The i-th colour of the palette (10 colours, cycled). */
const char *svg_color(size_t i);

/* Write s with &, <, >, " escaped (HTML and SVG text). */
void svg_escape(FILE *f, const char *s);

#endif
