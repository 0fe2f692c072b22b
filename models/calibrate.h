/*
 * calibrate.h - fitting the GPU catalog's efficiency curves and power figures
 * to a calibration trace (calibration/TRACE_FORMAT.md).
 *
 * calib_trace_read() reads one trace strictly (every error names
 * file:line:col and the column); calib_trace_append() pools several traces of
 * one device.  calib_fit_gpu() fits, by nonlinear least squares on the
 * logarithms (GSL gsl_multifit_nlinear, trust region):
 *
 *   compute  gemm rows, per precision:
 *            achieved FLOP/s = peak[prec] x e_c x m / (m + h_c) x f / f_max
 *   memory   read rows (and stream rows, reported separately):
 *            achieved B/s = mem_bw x e_m x b / (b + h_m)
 *   power    P = P_idle + (TDP - P_idle) x a x (f / f_max)^gamma,
 *            a = 1 for gemm rows with m >= 1024, memory_activity for
 *            read/stream rows; P_idle the mean of the idle rows
 *
 * (f is the row's sm_clock_mhz, f_max the catalog's max clock; rows without a
 * clock count as f = f_max.)  Each parameter comes with its 1-sigma
 * uncertainty from the covariance scaled by the residual variance.
 * calib_write_yaml() writes the result as a catalog override a scenario can
 * `include:`; calib_write_report() writes the figures for a person.
 * calib_synthetic() writes a trace generated from known parameters (tests
 * only; it says SYNTHETIC in its header).
 */
#ifndef FS_CALIBRATE_H
#define FS_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "hw.h"

enum calib_kind {
	CALIB_GEMM = 0,
	CALIB_STREAM,
	CALIB_READ,
	CALIB_ATTENTION,
	CALIB_IDLE,
	CALIB_NKIND
};

#define CALIB_LINE_MAX 4096    /* bytes in one trace line */
#define CALIB_ROWS_MAX 1000000 /* rows in one trace (pooled traces too) */
#define CALIB_WORST    5       /* worst rows kept per fit */
#define CALIB_MIN_ROWS 4       /* rows a two-parameter curve needs */

/* One measurement.  Absent fields (empty in the CSV) are NAN; precision is an
 * enum hw_precision (fp16 and bf16 are both HW_FP16), -1 when empty. */
typedef struct calib_row {
	int kind;      /* enum calib_kind */
	int precision; /* enum hw_precision, -1 = none */
	double m, n, k, bytes, time_s, achieved, sm_clock_mhz, power_w, temp_c;
	int line; /* 1-based line in its file */
	int file; /* index into calib_trace.files */
} calib_row;

typedef struct calib_trace {
	calib_row *rows;
	size_t n;
	/* provenance (`# key: value` lines); with several files, the first's */
	char device[128];
	char driver[64];
	char date[64];
	char compute_capability[32];
	char cuda[32];
	char tool[128];
	char sm_clock_mhz[32];
	char mem_clock_mhz[32];
	char power_limit_w[32];
	bool synthetic;  /* any file says `synthetic: yes` */
	char path[1024]; /* the file names, ", "-joined (cut with "...") */
	char **files;    /* each file name; rows refer to them by index */
	size_t n_files;
} calib_trace;

/* Read a trace; t is emptied first and left empty on error. */
int calib_trace_read(const char *path, calib_trace *t, fs_error *err);

/* The same from an open stream; name is used in messages and as the file name. */
int calib_trace_read_stream(FILE *f, const char *name, calib_trace *t, fs_error *err);

/* Append src's rows and file names to dst (an empty dst takes src's
 * provenance).  Traces of different devices are an error. */
int calib_trace_append(calib_trace *dst, const calib_trace *src, fs_error *err);

/* Free everything; t is left empty. */
void calib_trace_clear(calib_trace *t);

typedef struct calib_fit {
	double value, sigma; /* sigma: 1 standard deviation; 0 when exact or not fitted */
} calib_fit;

/* A row the fit explains worst: rel = achieved / model - 1 (power: measured). */
typedef struct calib_worst {
	int file, line, kind;
	double observed, model, rel;
} calib_worst;

/* One fitted curve (compute at a precision, read, stream) or the power fit. */
typedef struct calib_curve {
	bool fitted;
	size_t n;                /* rows used */
	calib_fit plateau, half; /* e, h (h in tokens or bytes) */
	bool plateau_at_bound;   /* the free fit went above 1: held at 1 */
	bool half_at_bound;      /* the free fit went below 0: held at 0 */
	double r2;               /* of log(achieved) */
	double rms_rel;          /* RMS of achieved / model - 1 */
	int iterations;
	calib_worst worst[CALIB_WORST];
	size_t n_worst;
} calib_curve;

enum calib_idle_source { CALIB_IDLE_PRIOR = 0, CALIB_IDLE_ROWS, CALIB_IDLE_FITTED };

typedef struct calib_result {
	char gpu[HW_NAME_LEN];
	char gpu_label[HW_LABEL_LEN];
	double peak[HW_NPREC], mem_bw, tdp_w, clock_max_hz;
	/* What the YAML gets: the fp16/bf16 compute fit, the read (else stream) fit. */
	calib_fit eff_compute, compute_half, eff_memory, memory_half, idle_w, memory_activity,
	    gamma;
	bool gamma_fitted; /* the SM clock varied > 5 % over the power rows */
	bool power_fitted; /* any power figure came from the trace */
	bool memory_activity_fitted;
	int idle_source;     /* enum calib_idle_source */
	double clock_spread; /* (max - min) / max SM clock over the power rows */
	double r2_compute, r2_memory, r2_power;
	double rms_compute, rms_memory, rms_power;
	size_t n_compute, n_memory, n_power, n_idle;
	int memory_kind;               /* CALIB_READ or CALIB_STREAM */
	calib_curve compute[HW_NPREC]; /* per precision (fp16 = fp16/bf16) */
	calib_curve read, stream;
	calib_curve power;     /* plateau/half unused */
	double gemm_clock_min; /* lowest f/f_max over the fp16 gemm rows */
	/* attention rows against the memory fit: median and worst achieved/model - 1 */
	size_t n_attention;
	double attention_median_rel, attention_worst_rel;
} calib_result;

/* Fit t for gpu (peaks, bandwidth, TDP, max clock, priors for gamma, memory
 * activity and idle power).  Errors: too few rows of a kind (named), a gemm
 * precision the GPU has no peak for, a fit that does not converge. */
int calib_fit_gpu(const calib_trace *t, const gpu_spec *gpu, calib_result *r, fs_error *err);

/* The catalog override as YAML (top level `catalog:`), with a comment header
 * (sources, device, driver, date, synthetic, the fits with sigma).  Returns 0
 * or FS_ERR_IO. */
int calib_write_yaml(FILE *f, const calib_result *r, const gpu_spec *gpu, const calib_trace *t);

/* The fits for a person: parameters with sigma, R^2, RMS residual, worst rows. */
int calib_write_report(FILE *f, const calib_result *r, const calib_trace *t);

/* Write a synthetic trace generated from the model above with the given
 * parameters and multiplicative lognormal noise exp(noise_rel x N(0,1))
 * (GSL mt19937 seeded by seed): gemm at every precision the GPU has
 * (m = 1..16384, three n x k shapes), read and stream from 1 MiB to 8 GiB
 * (stream's plateau 0.92 x e_m), attention rows, idle rows, and power rows at
 * clock factors 1.0, 0.9, 0.8, 0.7.  Its header says `synthetic: yes` and
 * SYNTHETIC.  Returns 0, FS_ERR_USAGE for bad parameters, FS_ERR_IO. */
int calib_synthetic(const gpu_spec *gpu, double e_c, double h_c, double e_m, double h_m,
		    double idle_w, double mem_act, double gamma, double noise_rel, uint64_t seed,
		    FILE *out);

const char *calib_kind_name(int kind);

#endif
