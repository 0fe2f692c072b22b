/*
 * station.c - the multi-server FIFO station (see station.h).
 *
 * Three handlers: an arrival (which schedules the next one, so exactly one
 * arrival is pending at any time), a departure, and the end of warm-up (which
 * restarts the time averages).  Waiting requests are kept as arrival times in
 * a ring buffer that grows by doubling; nothing else is allocated per request.
 * Statistics count requests that arrive after warm-up; the confidence interval
 * of the mean wait uses batch means, because successive waits in a queue are
 * strongly correlated and a naive t interval would be far too narrow.
 */
#include "station.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>

#include "rng.h"

enum { EV_ARRIVAL, EV_DEPARTURE, EV_WARMUP, EV_COUNT };

/* A hard ceiling on the waiting line when the scenario sets none, so an
 * overloaded station degrades into drops instead of exhausting memory. */
#define STATION_QUEUE_CEILING (1u << 26)

struct station {
	station_params p;
	sim *s;
	int model;
	gsl_rng *arrivals, *service;
	rec_sink *sink;
	sim_time warmup;

	sim_time *queue; /* arrival times of waiting requests, ring buffer */
	size_t qcap, qhead, qlen;
	int busy;

	uint64_t arrived, served, dropped, arrivals_this_tick;
	stats_acc wait, sojourn;
	stats_batch wait_batches;
	stats_qhist wait_q;
	stats_tavg busy_avg, queue_avg;
	sim_time measure_from;

	int id_queue, id_busy, id_rate, id_wait_mean;
	sim_time last_tick;
};

static const char *station_key(int field)
{
	static const char *names[] = { "station.servers", "station.arrival.rate",
				       "station.arrival.cv", "station.service.mean",
				       "station.service.cv" };
	return names[field];
}

int station_params_check(const station_params *p, fs_error *err)
{
	if (p->servers < 1)
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, station_key(0),
				    "must be at least 1");
	if (!(p->arrival_rate > 0) || !isfinite(p->arrival_rate))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, station_key(1),
				    "must be a positive rate");
	if (p->arrival_kind == STATION_GAMMA && !(p->arrival_cv > 0 && p->arrival_cv <= 100))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, station_key(2),
				    "must be in (0, 100] for a gamma process");
	if (!(p->service_mean_s > 0) || !isfinite(p->service_mean_s))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, station_key(3),
				    "must be a positive time");
	if (p->service_dist == STATION_LOGNORMAL && !(p->service_cv > 0 && p->service_cv <= 100))
		return fs_error_set(err, FS_ERR_INPUT, NULL, 0, 0, station_key(4),
				    "must be in (0, 100] for a lognormal service time");
	return FS_OK;
}

static double draw_gap(station *st)
{
	const station_params *p = &st->p;
	double mean = 1.0 / p->arrival_rate;
	if (p->arrival_kind == STATION_GAMMA) {
		double k = 1.0 / (p->arrival_cv * p->arrival_cv);
		return gsl_ran_gamma(st->arrivals, k, mean / k);
	}
	return gsl_ran_exponential(st->arrivals, mean);
}

static double draw_service(station *st)
{
	const station_params *p = &st->p;
	switch (p->service_dist) {
	case STATION_DETERMINISTIC:
		return p->service_mean_s;
	case STATION_LOGNORMAL: {
		double s2 = log1p(p->service_cv * p->service_cv);
		return gsl_ran_lognormal(st->service, log(p->service_mean_s) - s2 / 2, sqrt(s2));
	}
	default:
		return gsl_ran_exponential(st->service, p->service_mean_s);
	}
}

static void note_queue(station *st)
{
	if (st->s && sim_now(st->s) >= st->measure_from) {
		double t = sim_to_s(sim_now(st->s));
		stats_tavg_set(&st->queue_avg, t, (double)st->qlen);
		stats_tavg_set(&st->busy_avg, t, (double)st->busy);
	}
}

static void start_service(station *st, sim_time arrived_at)
{
	sim_time now = sim_now(st->s);
	double svc = draw_service(st);
	st->busy++;
	if (arrived_at >= st->warmup) {
		double w = sim_to_s(now - arrived_at);
		stats_acc_add(&st->wait, w);
		stats_acc_add(&st->sojourn, w + svc);
		stats_batch_add(&st->wait_batches, w);
		stats_qhist_add(&st->wait_q, w);
	}
	/* the arrival time travels with the departure in the real payload */
	sim_schedule(st->s, now + sim_from_s(svc), st->model, EV_DEPARTURE, 0,
		     (uint64_t)arrived_at, 0);
}

static bool queue_push(station *st, sim_time t)
{
	size_t limit = st->p.queue_limit ? st->p.queue_limit : STATION_QUEUE_CEILING;
	if (st->qlen >= limit)
		return false;
	if (st->qlen == st->qcap) {
		size_t ncap = st->qcap ? 2 * st->qcap : 1024;
		sim_time *q = malloc(ncap * sizeof *q);
		if (!q)
			return false;
		for (size_t i = 0; i < st->qlen; i++)
			q[i] = st->queue[(st->qhead + i) % st->qcap];
		free(st->queue);
		st->queue = q;
		st->qcap = ncap;
		st->qhead = 0;
	}
	st->queue[(st->qhead + st->qlen) % st->qcap] = t;
	st->qlen++;
	return true;
}

static sim_time queue_pop(station *st)
{
	sim_time t = st->queue[st->qhead];
	st->qhead = (st->qhead + 1) % st->qcap;
	st->qlen--;
	return t;
}

static void on_arrival(sim *s, void *ctx, const sim_event *ev)
{
	station *st = ctx;
	bool counted = ev->time >= st->warmup;
	st->arrived += counted;
	st->arrivals_this_tick++;
	if (st->busy < st->p.servers)
		start_service(st, ev->time);
	else if (!queue_push(st, ev->time))
		st->dropped += counted;
	note_queue(st);
	sim_schedule(s, ev->time + sim_from_s(draw_gap(st)), st->model, EV_ARRIVAL, 0, 0, 0);
}

static void on_departure(sim *s, void *ctx, const sim_event *ev)
{
	station *st = ctx;
	(void)s;
	st->busy--;
	if ((sim_time)ev->u >= st->warmup)
		st->served++;
	if (st->qlen > 0)
		start_service(st, queue_pop(st));
	note_queue(st);
}

static void on_warmup(sim *s, void *ctx, const sim_event *ev)
{
	station *st = ctx;
	(void)s;
	double t = sim_to_s(ev->time);
	st->measure_from = ev->time;
	stats_tavg_start(&st->queue_avg, t, (double)st->qlen);
	stats_tavg_start(&st->busy_avg, t, (double)st->busy);
}

static void on_tick(sim *s, void *ctx, sim_time now)
{
	station *st = ctx;
	double dt = sim_to_s(now - st->last_tick);
	rec_set(st->sink, st->id_queue, 0, (double)st->qlen);
	rec_set(st->sink, st->id_busy, 0, (double)st->busy);
	rec_set(st->sink, st->id_rate, 0, dt > 0 ? (double)st->arrivals_this_tick / dt : 0);
	rec_set(st->sink, st->id_wait_mean, 0, stats_acc_mean(&st->wait));
	st->arrivals_this_tick = 0;
	st->last_tick = now;
	(void)s;
}

static const sim_handler station_handlers[EV_COUNT] = { on_arrival, on_departure, on_warmup };

int station_create(sim *s, const station_params *p, uint64_t seed, uint32_t replication,
		   double warmup_s, double duration_s, rec_sink *sink, station **out, fs_error *err)
{
	/* Batch means want a few dozen batches: size them from the expected count. */
	double expected = p->arrival_rate * duration_s;
	size_t batch = expected > 60 ? (size_t)(expected / 30) : 1;
	*out = NULL;
	int rc = station_params_check(p, err);
	if (rc)
		return rc;
	station *st = calloc(1, sizeof *st);
	if (!st)
		return fs_error_msg(err, FS_ERR_NOMEM, "station: out of memory");
	st->p = *p;
	st->s = s;
	st->sink = sink;
	st->warmup = sim_from_s(warmup_s);
	st->arrivals = rng_stream_alloc(NULL, seed, replication, "station.arrivals");
	st->service = rng_stream_alloc(NULL, seed, replication, "station.service");
	if (!st->arrivals || !st->service || stats_acc_init(&st->wait) ||
	    stats_acc_init(&st->sojourn) || stats_batch_init(&st->wait_batches, batch) ||
	    stats_qhist_init(&st->wait_q, 1e-6, 1e7, 0.005)) {
		station_destroy(st);
		return fs_error_msg(err, FS_ERR_NOMEM, "station: out of memory");
	}
	stats_tavg_start(&st->queue_avg, 0, 0);
	stats_tavg_start(&st->busy_avg, 0, 0);

	sim_model m = { .name = "station", .ctx = st, .handlers = station_handlers,
			.n_handlers = EV_COUNT, .tick = on_tick };
	st->model = sim_add_model(s, &m, err);
	if (st->model < 0) {
		station_destroy(st);
		return -st->model;
	}
	struct {
		int *id;
		const char *path, *units, *desc;
	} series[] = {
		{ &st->id_queue, "station/queue_length", "1", "requests waiting at the tick" },
		{ &st->id_busy, "station/busy_servers", "1", "servers busy at the tick" },
		{ &st->id_rate, "station/arrival_rate", "1/s", "arrivals per second over the last tick" },
		{ &st->id_wait_mean, "station/wait_mean", "s",
		  "running mean queueing delay of requests arrived after warm-up" },
	};
	for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
		*series[i].id = rec_declare(sink, series[i].path, series[i].units, series[i].desc, 1,
					    err);
		if (*series[i].id < 0) {
			station_destroy(st);
			return -*series[i].id;
		}
	}
	sim_schedule(s, sim_from_s(draw_gap(st)), st->model, EV_ARRIVAL, 0, 0, 0);
	if (st->warmup > 0)
		sim_schedule(s, st->warmup, st->model, EV_WARMUP, 0, 0, 0);
	*out = st;
	return FS_OK;
}

void station_destroy(station *st)
{
	if (!st)
		return;
	gsl_rng_free(st->arrivals);
	gsl_rng_free(st->service);
	stats_acc_clear(&st->wait);
	stats_acc_clear(&st->sojourn);
	stats_batch_clear(&st->wait_batches);
	stats_qhist_clear(&st->wait_q);
	free(st->queue);
	free(st);
}

double station_erlang_c_wait(int c, double lambda, double mu)
{
	double a = lambda / mu, rho = a / c;
	if (!(rho < 1) || c < 1)
		return INFINITY;
	/* Erlang B by its stable recursion, then C from B. */
	double b = 1;
	for (int k = 1; k <= c; k++)
		b = a * b / (k + a * b);
	double pw = b / (1 - rho * (1 - b));
	return pw / (c * mu - lambda);
}

double station_md1_wait(double lambda, double service_s)
{
	double rho = lambda * service_s;
	if (!(rho < 1))
		return INFINITY;
	return rho * service_s / (2 * (1 - rho));
}

void station_result_get(station *st, station_result *r)
{
	double now = sim_to_s(sim_now(st->s));
	r->arrived = st->arrived;
	r->served = st->served;
	r->dropped = st->dropped;
	r->wait_mean_s = stats_acc_mean(&st->wait);
	r->wait_ci95_s = stats_batch_ci(&st->wait_batches, 0.95);
	r->wait_p50_s = stats_qhist_quantile(&st->wait_q, 0.50);
	r->wait_p99_s = stats_qhist_quantile(&st->wait_q, 0.99);
	r->sojourn_mean_s = stats_acc_mean(&st->sojourn);
	r->utilization = stats_tavg_mean(&st->busy_avg, now) / st->p.servers;
	r->queue_mean = stats_tavg_mean(&st->queue_avg, now);
	r->erlang_c_wait_s = NAN;
	if (st->p.arrival_kind == STATION_POISSON && st->p.service_dist == STATION_EXPONENTIAL &&
	    !st->p.queue_limit)
		r->erlang_c_wait_s = station_erlang_c_wait(st->p.servers, st->p.arrival_rate,
							   1.0 / st->p.service_mean_s);
	else if (st->p.arrival_kind == STATION_POISSON &&
		 st->p.service_dist == STATION_DETERMINISTIC && st->p.servers == 1 &&
		 !st->p.queue_limit)
		r->erlang_c_wait_s = station_md1_wait(st->p.arrival_rate, st->p.service_mean_s);
}

int station_result_record(const station_result *r, rec_sink *sink, fs_error *err)
{
	struct {
		const char *name;
		double v;
		const char *units, *desc;
	} rows[] = {
		{ "station_arrived", (double)r->arrived, "1", "requests arrived after warm-up" },
		{ "station_served", (double)r->served, "1", "requests completed (arrived after warm-up)" },
		{ "station_dropped", (double)r->dropped, "1", "arrivals refused by a full queue" },
		{ "station_wait_mean", r->wait_mean_s, "s", "mean queueing delay" },
		{ "station_wait_ci95", r->wait_ci95_s, "s",
		  "95 % confidence half width of the mean queueing delay (batch means)" },
		{ "station_wait_p50", r->wait_p50_s, "s", "median queueing delay (log histogram, 0.5 %)" },
		{ "station_wait_p99", r->wait_p99_s, "s", "99th percentile queueing delay (0.5 %)" },
		{ "station_sojourn_mean", r->sojourn_mean_s, "s", "mean time in system" },
		{ "station_utilization", r->utilization, "1", "mean share of servers busy" },
		{ "station_queue_mean", r->queue_mean, "1", "time-average number waiting" },
		{ "station_wait_theory", r->erlang_c_wait_s, "s",
		  "closed-form mean wait (Erlang C for M/M/c, Pollaczek-Khinchine for M/D/1); NaN "
		  "where none applies" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int rc = rec_summary(sink, rows[i].name, rows[i].v, rows[i].units, rows[i].desc, err);
		if (rc)
			return rc;
	}
	return FS_OK;
}
