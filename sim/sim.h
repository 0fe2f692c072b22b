/*
 * sim.h - the discrete-event core.  It knows nothing of GPUs.
 *
 * Time is int64_t nanoseconds.  Events are totally ordered by (time, priority,
 * sequence): the sequence number is assigned at scheduling, so ties resolve in
 * the order events were posted and a run is deterministic.
 *
 * The pending set is a 4-ary heap of 16-byte keys {time, arena slot}, so four
 * children share one cache line; the payload, priority and sequence live in an
 * arena of fixed-size event records recycled through a free list, read only to
 * break ties of equal time.  Nothing is malloc'd per event once the arena has
 * grown to the peak pending count.
 * Cancellation is lazy: sim_cancel() bumps the slot's generation, and the stale
 * key is dropped when it reaches the top of the heap.
 *
 * Models plug in as tables of handlers (sim_model): an event names its model
 * and a handler index within it.  The core also runs a periodic control tick,
 * at which every model's tick function advances its continuous physics, and
 * then the owner's tick hook (recording).  The tick runs after all other
 * events of the same instant (priority SIM_PRIO_TICK).
 */
#ifndef FS_SIM_H
#define FS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef int64_t sim_time; /* nanoseconds */

#define SIM_NS_PER_S 1000000000LL
#define SIM_TIME_MAX INT64_MAX
#define SIM_PRIO_DEFAULT 128
#define SIM_PRIO_TICK 255
#define SIM_MAX_MODELS 64

/* Seconds <-> nanoseconds.  Rounds to the nearest ns; saturates. */
sim_time sim_from_s(double s);
static inline double sim_to_s(sim_time t)
{
	return (double)t * 1e-9;
}

typedef struct sim sim;

/* What a handler receives.  u and d are free for the model's use. */
typedef struct sim_event {
	sim_time time;    /* when it fires [ns] */
	uint32_t lp;      /* logical process / entity index within the model */
	uint16_t model;   /* index returned by sim_add_model */
	uint8_t kind;     /* handler index within the model */
	uint8_t prio;     /* smaller first among equal times */
	uint64_t u;       /* integer payload */
	double d;         /* real payload */
} sim_event;

/* A reference to a scheduled event, for cancellation. */
typedef struct sim_handle {
	uint32_t slot;
	uint32_t gen;
} sim_handle;

typedef void (*sim_handler)(sim *s, void *ctx, const sim_event *ev);

typedef struct sim_model {
	const char *name;
	void *ctx;
	const sim_handler *handlers; /* handlers[kind] */
	size_t n_handlers;
	/* Optional: advance continuous state to `now` at each control tick. */
	void (*tick)(sim *s, void *ctx, sim_time now);
} sim_model;

/* Create an engine.  expected_pending sizes the arena and heap up front
 * (they grow by doubling when exceeded).  NULL on allocation failure. */
sim *sim_create(size_t expected_pending);
void sim_destroy(sim *s);

/* Register a model; returns its index (>= 0) or a negative fs_code. The model
 * struct is copied; handlers and ctx must outlive the engine. */
int sim_add_model(sim *s, const sim_model *m, fs_error *err);

/* Schedule an event at absolute time ev->time (>= now).  Returns a handle;
 * on allocation failure the engine records FS_ERR_NOMEM and stops. */
sim_handle sim_post(sim *s, const sim_event *ev);

/* Shorthand: at absolute time t, for model/kind, with default priority. */
sim_handle sim_schedule(sim *s, sim_time t, int model, int kind, uint32_t lp, uint64_t u,
			double d);

/* Cancel a pending event; false if it already fired or was cancelled. */
bool sim_cancel(sim *s, sim_handle h);
bool sim_pending(const sim *s, sim_handle h);

/* Periodic control tick every period ns starting at `first` (0 = off). The
 * hook, if any, runs after the models' tick functions. */
typedef int (*sim_tick_hook)(sim *s, void *ctx, sim_time now, fs_error *err);
void sim_set_tick(sim *s, sim_time period, sim_time first, sim_tick_hook hook, void *ctx);

/* Run until the next event lies beyond `end` (events at exactly end run),
 * the queue is empty, sim_stop() is called or a hook fails.  The clock is
 * left at `end` when the run reaches it.  Returns FS_OK, the hook's error, or
 * FS_ERR_INTERRUPTED after sim_stop(). */
int sim_run(sim *s, sim_time end, fs_error *err);

/* Ask a running engine to return after the current event (signal-safe: it
 * only stores to a volatile sig_atomic_t). */
void sim_stop(sim *s);

/* Process one event; false when none is left.  For tests and stepping. */
bool sim_step(sim *s);

sim_time sim_now(const sim *s);
uint64_t sim_events_processed(const sim *s); /* handler calls, excluding ticks */
size_t sim_pending_count(const sim *s);      /* live + cancelled keys in the heap */

#endif
