/*
 * commands.h - the command-line verbs that read run and sweep files back.
 *
 *   factorysim compare RUN.h5 RUN.h5 [...] [--format text|json|csv|markdown]
 *   factorysim report RUN.h5|SWEEP.h5 -o REPORT.html
 *   factorysim export RUN.h5|SWEEP.h5 --csv DIR
 *
 * Each takes the arguments after its verb, prints its own errors in the CLI's
 * form ("factorysim: FILE: what is wrong") and returns the exit status:
 * 0 success, 1 failure (I/O, the HDF5 library), 2 bad usage or bad input (a
 * missing file, a file that is not HDF5, a run file without /summary).
 * The verbs' help texts are in COMPARE_USAGE etc. so sim/main.c's help table
 * and the verbs agree.
 */
#ifndef FS_COMMANDS_H
#define FS_COMMANDS_H

#define COMPARE_USAGE                                                                         \
	"factorysim compare A.h5 B.h5 [...] [-- C1.h5 C2.h5 ...] [--group] "                  \
	"[--format text|json|csv|markdown]"
#define COMPARE_HELP                                                                          \
	"Compare the headline metrics of runs side by side: tokens/s, goodput, tokens/s per\n" \
	"MW (IT, facility, provisioned), J/token, PUE, TTFT and TPOT (p50, p99), SLO\n"         \
	"attainment, cost per million tokens, peak power, throttled time.  Each design\n"      \
	"after the first (A) shows its difference from A in per cent.\n"                      \
	"  --format F   text (default), json, csv (one row per metric and design) or markdown\n" \
	"  --           separates designs given as several replications each:\n"              \
	"               compare a_r*.h5 -- b_r*.h5   (A = a_r*, B = b_r*)\n"                  \
	"  --group      group the files into designs by their resolved scenario (every key\n" \
	"               but seed, replication and output)\n"                                  \
	"A sweep file contributes one design per point, its replications from /sweep/table.\n" \
	"Designs with several replications show the mean +/- a 95 % t interval; runs of two\n" \
	"designs with the same seed and replication see the same requests (common random\n"   \
	"numbers), and their differences get a paired 95 % interval.  Runs whose workload\n"   \
	"or seed differ are flagged, and their differences are not paired.\n"

#define REPORT_USAGE "factorysim report RUN.h5|SWEEP.h5 -o REPORT.html"
#define REPORT_HELP                                                                           \
	"Write one self-contained HTML file (inline SVG charts, no script, no network).\n"      \
	"A run: site power (IT, losses, cooling) against the budget and grid events, tokens/s\n" \
	"and goodput, temperatures against their limits, a per-rack heatmap, latency CDFs per\n" \
	"class and the summary.  A sweep: tokens per MW against each swept parameter with 95 %\n" \
	"bands, the throughput-interactivity frontier and the best points.\n"                  \
	"  -o FILE      the HTML file to write (required)\n"

#define EXPORT_USAGE "factorysim export RUN.h5|SWEEP.h5 --csv DIR"
#define EXPORT_HELP                                                                           \
	"Write the file's contents as CSV under DIR (created if needed): one file per group\n"  \
	"of time series (time first; a [time x rack] dataset becomes one column per rack),\n"   \
	"requests.csv, events.csv, summary.csv (name, value, units, description) and, for a\n"  \
	"sweep, sweep_table.csv and sweep_points.csv.  Headers carry units: it_power [W].\n"

int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
