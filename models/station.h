/*
 * station.h - a multi-server FIFO queueing station.
 *
 * The first model on the event core, and the one the engine is validated with:
 * requests arrive (Poisson, or gamma renewal with a coefficient of variation),
 * wait in one FIFO queue, and are served by c identical servers with an
 * exponential, deterministic or lognormal service time.  With Poisson arrivals
 * and exponential service it is M/M/c, whose mean wait is known in closed form
 * (Erlang C); with c = 1 and deterministic service it is M/D/1
 * (Pollaczek-Khinchine).  The serving models replace it in the quickstart as
 * they land; it stays as the engine's reference model.
 */
#ifndef FS_STATION_H
#define FS_STATION_H

#include <stdint.h>

#include "error.h"
#include "record.h"
#include "sim.h"
#include "stats.h"

enum station_dist { STATION_EXPONENTIAL, STATION_DETERMINISTIC, STATION_LOGNORMAL };
enum station_arrival { STATION_POISSON, STATION_GAMMA };

typedef struct station_params {
	int servers;              /* c >= 1 */
	double arrival_rate;      /* lambda [1/s] */
	int arrival_kind;         /* enum station_arrival */
	double arrival_cv;        /* coefficient of variation of gaps (gamma only) */
	double service_mean_s;    /* mean service time [s] */
	int service_dist;         /* enum station_dist */
	double service_cv;        /* lognormal only */
	uint32_t queue_limit;     /* 0 = unlimited; arrivals beyond it are dropped */
} station_params;

typedef struct station station;

/* Validate params; fills err with a key path under `station.` on failure. */
int station_params_check(const station_params *p, fs_error *err);

/* Create the station and register it with the engine.  Random streams are
 * drawn from (seed, replication, "station.arrivals") and "station.service",
 * so arrivals do not depend on the number of servers (common random numbers).
 * Statistics discard requests that arrive before warmup_s; duration_s (the
 * measured span after warm-up) sizes the batches of the batch-means interval.
 * sink may be NULL. */
int station_create(sim *s, const station_params *p, uint64_t seed, uint32_t replication,
		   double warmup_s, double duration_s, rec_sink *sink, station **out,
		   fs_error *err);
void station_destroy(station *st);

typedef struct station_result {
	uint64_t arrived, served, dropped;   /* after warm-up */
	double wait_mean_s, wait_ci95_s;     /* mean queueing delay and its 95 % half width
					      * (batch means) [s] */
	double wait_p50_s, wait_p99_s;       /* quantiles of the queueing delay [s] */
	double sojourn_mean_s;               /* wait + service [s] */
	double utilization;                  /* busy server time / (c x measured time) */
	double queue_mean;                   /* time-average number waiting */
	double erlang_c_wait_s;              /* closed form where it applies, else NaN */
} station_result;

/* Fill res at simulated time now (end of run). */
void station_result_get(station *st, station_result *res);

/* Write the result to the sink's summary. */
int station_result_record(const station_result *res, rec_sink *sink, fs_error *err);

/* Closed forms used by tests and by the summary. */
double station_erlang_c_wait(int c, double lambda, double mu);   /* M/M/c mean wait [s] */
double station_md1_wait(double lambda, double service_s);         /* M/D/1 mean wait [s] */

#endif
