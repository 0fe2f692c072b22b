/*
 * workload.h - the request stream: classes (tenants), arrival processes,
 * length distributions, multi-turn sessions and trace replay.
 *
 * Each class draws from its own random streams, named after the class
 * ("workload.<class>.arrivals", ".input", ".output", ...), seeded from
 * (seed, replication, name).  The stream therefore does not depend on the
 * design being simulated, so two designs run with the same seed see the same
 * requests (common random numbers).  Arrivals are generated lazily: each class
 * holds exactly one pending arrival, and workload_next() returns the earliest
 * across classes (ties broken by class index), so memory does not grow with
 * the length of the run.
 *
 * Sessions are closed-loop: the next turn of a session arrives a think time
 * after the previous turn finished, and its prompt is the previous context
 * (prompt + answer) plus new user tokens, shared as a prefix.  Its draws are
 * keyed on (seed, replication, class, session id, turn), not on the order in
 * which turns finish, so they too are common to designs.
 */
#ifndef FS_WORKLOAD_H
#define FS_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sim.h"

#define WL_NAME_LEN 64
#define WL_PATH_LEN 1024

enum wl_arrival { WL_POISSON, WL_GAMMA, WL_DIURNAL, WL_TRACE };
enum wl_length { WL_FIXED, WL_LOGNORMAL, WL_EMPIRICAL };
enum wl_trace_format { WL_TRACE_AZURE_CSV, WL_TRACE_JSONL };

typedef struct wl_length_params {
	int kind;                  /* enum wl_length */
	double mean;               /* tokens (fixed: the value) */
	double cv;                 /* lognormal coefficient of variation */
	double min, max;           /* clamp after drawing [tokens]; max 0 = none */
	char empirical[WL_PATH_LEN]; /* trace file whose column is resampled */
	int empirical_column;      /* 0 = input (ContextTokens), 1 = output (GeneratedTokens) */
} wl_length_params;

typedef struct wl_trace_params {
	char path[WL_PATH_LEN];
	int format;                /* enum wl_trace_format */
	double time_scale;         /* multiplies trace times (0.5 = twice as fast) */
	double rate_multiplier;    /* replays each request floor(m) times, one more with
				    * probability frac(m); copies jittered within the gap */
	bool loop;                 /* start again when the trace ends */
} wl_trace_params;

typedef struct wl_session_params {
	bool enabled;
	double turns_mean;         /* turns per session, geometric, >= 1 */
	double think_mean_s;       /* think/tool time between turns, exponential [s] */
	wl_length_params turn_input; /* new user tokens per follow-up turn */
} wl_session_params;

typedef struct wl_class_params {
	char name[WL_NAME_LEN];
	char model[WL_NAME_LEN];   /* llm_spec name */
	char pool[WL_NAME_LEN];    /* serving pool to use; "" = the first serving the model */
	int arrival;               /* enum wl_arrival */
	double rate;               /* mean arrival rate [1/s] (sessions: of new sessions) */
	double cv;                 /* gamma: coefficient of variation of the gaps */
	double diurnal_amplitude;  /* diurnal: rate (1 + A sin(2 pi (t - phase) / period)), 0..1 */
	double diurnal_period_s;
	double diurnal_phase_s;
	wl_trace_params trace;
	wl_length_params input, output;
	uint32_t system_prompt_tokens; /* shared prefix of every request of the class */
	wl_session_params session;
	double slo_ttft_s;         /* time to first token target [s]; 0 = none */
	double slo_tpot_s;         /* time per output token target [s]; 0 = none */
	int priority;              /* larger = more important (shedding, later issues) */
} wl_class_params;

typedef struct wl_request {
	uint64_t id;               /* unique, in order of generation */
	sim_time arrival;          /* [ns] */
	uint32_t cls;              /* class index */
	uint32_t input_tokens;     /* prompt, including any prefix */
	uint32_t output_tokens;    /* >= 1 */
	uint64_t prefix_id;        /* 0 = none: system prompt or previous turn's context */
	uint32_t prefix_tokens;    /* leading input tokens covered by prefix_id */
	uint64_t session;          /* 0 = not part of a session */
	uint32_t turn;             /* 0-based */
} wl_request;

typedef struct workload workload;

/* Check one class's parameters; err names `workload[i].key`. */
int workload_class_check(const wl_class_params *c, size_t index, fs_error *err);

/* Create the generator; trace files are read here (errors name file:line:col).
 * The class array is copied. */
int workload_create(const wl_class_params *classes, size_t n, uint64_t seed, uint32_t replication,
		    workload **out, fs_error *err);
void workload_destroy(workload *w);

/* The earliest pending open-loop arrival.  Returns 0 and fills *out, or 1 when
 * every class is exhausted (a trace that does not loop). */
int workload_next(workload *w, wl_request *out);

/* Closed-loop sessions: given a finished request, the next turn (arrival =
 * finish + think time).  Returns 1 and fills *out, or 0 when the session ends. */
int workload_next_turn(workload *w, const wl_request *done, sim_time finish, wl_request *out);

size_t workload_class_count(const workload *w);
const wl_class_params *workload_class(const workload *w, size_t i);

/* Trace readers, also used by tests and fuzzers.  A trace row: */
typedef struct wl_trace_row {
	double t_s;                /* seconds since the first row */
	uint32_t input_tokens, output_tokens;
	uint64_t session, prefix_id; /* JSONL only; 0 = none */
	uint32_t prefix_tokens;
} wl_trace_row;

/* Read a whole trace into a malloc'd array sorted by time (stable). */
int wl_trace_read(const char *path, int format, wl_trace_row **rows, size_t *n, fs_error *err);

#endif
