/*
 * sim.c - the discrete-event core (see sim.h for the contract).
 *
 * Data layout, chosen for the PHOLD-style hot path (pop one, push one):
 *  - heap[]: 4-ary min-heap of 16-byte keys {time, slot, prio}.  Four children
 *    of a node fill one 64-byte cache line, so a sift-down touches one line per
 *    level, and the tree is half as deep as a binary heap.
 *  - arena[]: event records indexed by slot, recycled through an intrusive free
 *    list.  A record holds the payload, the sequence number that breaks ties,
 *    and a generation counter that makes stale handles and cancelled keys
 *    recognisable.
 * Both arrays grow by doubling (realloc), never shrink, and are never touched
 * by malloc on the per-event path once they have reached the peak size.
 */
#include "sim.h"

#include <assert.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_PENDING = 1, SLOT_CANCELLED = 2 };

#define TICK_MODEL 0xFFFFu
#define NO_SLOT UINT32_MAX

typedef struct heap_key {
	sim_time time;
	uint32_t slot;
	uint32_t prio;
} heap_key;

typedef struct ev_rec {
	sim_event ev;
	uint64_t seq;       /* tie-breaker: order of posting */
	uint32_t gen;       /* bumped every time the slot is freed */
	uint32_t state;     /* SLOT_* */
	uint32_t next_free; /* free-list link while SLOT_FREE */
} ev_rec;

struct sim {
	heap_key *heap;
	size_t n, cap;
	ev_rec *arena;
	uint32_t arena_cap, free_head;
	uint64_t seq;
	sim_time now;
	uint64_t processed;
	volatile sig_atomic_t stop;
	int failure; /* an fs_code recorded on the hot path (allocation) */

	sim_model models[SIM_MAX_MODELS];
	int n_models;

	sim_time tick_period, tick_first;
	sim_tick_hook tick_hook;
	void *tick_ctx;
	sim_handle tick_pending; /* the scheduled tick, cancelled on re-configuration */
};

sim_time sim_from_s(double s)
{
	if (isnan(s))
		return 0;
	double ns = s * 1e9;
	/* every double below 2^63 converts safely through llround */
	if (ns >= 0x1p63)
		return SIM_TIME_MAX;
	if (ns <= -0x1p63)
		return -SIM_TIME_MAX;
	return (sim_time)llround(ns);
}

/* Thread the free list through slots [from, to). */
static void arena_link(sim *s, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		s->arena[i].state = SLOT_FREE;
		s->arena[i].gen = 1;
		s->arena[i].next_free = i + 1 < to ? i + 1 : s->free_head;
	}
	if (from < to)
		s->free_head = from;
}

sim *sim_create(size_t expected_pending)
{
	sim *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	size_t cap = expected_pending < 16 ? 16 : expected_pending;
	if (cap > UINT32_MAX / 2)
		cap = UINT32_MAX / 2;
	s->heap = malloc(cap * sizeof *s->heap);
	s->arena = malloc(cap * sizeof *s->arena);
	if (!s->heap || !s->arena) {
		sim_destroy(s);
		return NULL;
	}
	s->cap = cap;
	s->arena_cap = (uint32_t)cap;
	s->free_head = NO_SLOT;
	s->tick_pending = (sim_handle){ NO_SLOT, 0 };
	arena_link(s, 0, s->arena_cap);
	return s;
}

void sim_destroy(sim *s)
{
	if (!s)
		return;
	free(s->heap);
	free(s->arena);
	free(s);
}

int sim_add_model(sim *s, const sim_model *m, fs_error *err)
{
	if (s->n_models >= SIM_MAX_MODELS)
		return -fs_error_msg(err, FS_ERR_INTERNAL, "too many models (limit %d)",
				     SIM_MAX_MODELS);
	if (m->n_handlers > 256)
		return -fs_error_msg(err, FS_ERR_INTERNAL, "model %s has more than 256 handlers",
				     m->name ? m->name : "?");
	s->models[s->n_models] = *m;
	return s->n_models++;
}

/* a fires before b? */
static inline bool key_less(const sim *s, heap_key a, heap_key b)
{
	if (a.time != b.time)
		return a.time < b.time;
	if (a.prio != b.prio)
		return a.prio < b.prio;
	return s->arena[a.slot].seq < s->arena[b.slot].seq;
}

static void sift_up(sim *s, size_t i, heap_key k)
{
	heap_key *h = s->heap;
	while (i > 0) {
		size_t p = (i - 1) >> 2;
		if (!key_less(s, k, h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = k;
}

/* Place k at the hole i, moving smaller children up. */
static void sift_down(sim *s, size_t i, heap_key k)
{
	heap_key *h = s->heap;
	size_t n = s->n;
	for (;;) {
		size_t c = 4 * i + 1;
		if (c >= n)
			break;
		size_t best = c;
		size_t last = c + 4 < n ? c + 4 : n;
		for (size_t j = c + 1; j < last; j++)
			if (key_less(s, h[j], h[best]))
				best = j;
		if (!key_less(s, h[best], k))
			break;
		h[i] = h[best];
		i = best;
	}
	h[i] = k;
}

static heap_key heap_pop(sim *s)
{
	heap_key top = s->heap[0];
	s->n--;
	if (s->n > 0)
		sift_down(s, 0, s->heap[s->n]);
	return top;
}

static bool grow(sim *s)
{
	if (s->arena_cap >= UINT32_MAX / 2)
		return false;
	uint32_t ncap = s->arena_cap * 2;
	ev_rec *a = realloc(s->arena, (size_t)ncap * sizeof *a);
	if (!a)
		return false;
	s->arena = a;
	heap_key *h = realloc(s->heap, (size_t)ncap * sizeof *h);
	if (!h)
		return false;
	s->heap = h;
	s->cap = ncap;
	uint32_t old = s->arena_cap;
	s->arena_cap = ncap;
	arena_link(s, old, ncap);
	return true;
}

static inline void slot_free(sim *s, uint32_t slot)
{
	ev_rec *r = &s->arena[slot];
	r->state = SLOT_FREE;
	r->gen++;
	r->next_free = s->free_head;
	s->free_head = slot;
}

sim_handle sim_post(sim *s, const sim_event *ev)
{
	sim_handle none = { NO_SLOT, 0 };
	assert(ev->time >= s->now);
	assert(ev->model == TICK_MODEL || ev->model < s->n_models);
	assert(ev->model == TICK_MODEL || ev->kind < s->models[ev->model].n_handlers);
	if (s->free_head == NO_SLOT && !grow(s)) {
		s->failure = FS_ERR_NOMEM;
		s->stop = 1;
		return none;
	}
	uint32_t slot = s->free_head;
	ev_rec *r = &s->arena[slot];
	s->free_head = r->next_free;
	r->ev = *ev;
	r->seq = s->seq++;
	r->state = SLOT_PENDING;
	heap_key k = { ev->time, slot, ev->prio };
	s->n++;
	sift_up(s, s->n - 1, k);
	return (sim_handle){ slot, r->gen };
}

sim_handle sim_schedule(sim *s, sim_time t, int model, int kind, uint32_t lp, uint64_t u,
			double d)
{
	sim_event ev = { .time = t,
			 .lp = lp,
			 .model = (uint16_t)model,
			 .kind = (uint8_t)kind,
			 .prio = SIM_PRIO_DEFAULT,
			 .u = u,
			 .d = d };
	return sim_post(s, &ev);
}

bool sim_pending(const sim *s, sim_handle h)
{
	return h.slot < s->arena_cap && s->arena[h.slot].gen == h.gen &&
	       s->arena[h.slot].state == SLOT_PENDING;
}

bool sim_cancel(sim *s, sim_handle h)
{
	if (!sim_pending(s, h))
		return false;
	/* The key stays in the heap; it is dropped, and the slot freed, when it
	 * reaches the top.  Bumping gen now makes the handle stale at once. */
	s->arena[h.slot].state = SLOT_CANCELLED;
	s->arena[h.slot].gen++;
	return true;
}

static void arm_tick(sim *s, sim_time at)
{
	sim_event ev = { .time = at, .model = TICK_MODEL, .prio = SIM_PRIO_TICK };
	s->tick_pending = sim_post(s, &ev);
}

void sim_set_tick(sim *s, sim_time period, sim_time first, sim_tick_hook hook, void *ctx)
{
	s->tick_period = period;
	s->tick_first = first;
	s->tick_hook = hook;
	s->tick_ctx = ctx;
	sim_cancel(s, s->tick_pending);
	s->tick_pending = (sim_handle){ NO_SLOT, 0 };
	if (period > 0)
		arm_tick(s, first < s->now ? s->now : first);
}

static int run_tick(sim *s, fs_error *err)
{
	for (int i = 0; i < s->n_models; i++)
		if (s->models[i].tick)
			s->models[i].tick(s, s->models[i].ctx, s->now);
	int rc = FS_OK;
	if (s->tick_hook)
		rc = s->tick_hook(s, s->tick_ctx, s->now, err);
	s->tick_pending = (sim_handle){ NO_SLOT, 0 };
	if (s->tick_period > 0 && s->now <= SIM_TIME_MAX - s->tick_period)
		arm_tick(s, s->now + s->tick_period);
	return rc;
}

/* Pop until a live event; returns its slot, or NO_SLOT if none before end. */
static uint32_t next_live(sim *s, sim_time end)
{
	while (s->n > 0) {
		if (s->heap[0].time > end)
			return NO_SLOT;
		heap_key k = heap_pop(s);
		if (s->arena[k.slot].state == SLOT_PENDING)
			return k.slot;
		/* cancelled: its gen was bumped at cancel; free without a second bump
		 * being observable to anyone */
		slot_free(s, k.slot);
	}
	return NO_SLOT;
}

/* Fire the event in slot; returns an fs_code from a tick hook. */
static int fire(sim *s, uint32_t slot, fs_error *err)
{
	sim_event ev = s->arena[slot].ev;
	slot_free(s, slot); /* before the handler, so it can reuse the slot */
	s->now = ev.time;
	if (ev.model == TICK_MODEL)
		return run_tick(s, err);
	s->processed++;
	const sim_model *m = &s->models[ev.model];
	m->handlers[ev.kind](s, m->ctx, &ev);
	return FS_OK;
}

bool sim_step(sim *s)
{
	uint32_t slot = next_live(s, SIM_TIME_MAX);
	if (slot == NO_SLOT)
		return false;
	fire(s, slot, NULL);
	return true;
}

int sim_run(sim *s, sim_time end, fs_error *err)
{
	while (!s->stop) {
		uint32_t slot = next_live(s, end);
		if (slot == NO_SLOT) {
			if (s->now < end)
				s->now = end;
			break;
		}
		int rc = fire(s, slot, err);
		if (rc != FS_OK)
			return rc;
	}
	/* The flag is cleared on the way out, not on entry, so that a signal that
	 * arrives just before sim_run starts is not lost. */
	bool stopped = s->stop;
	s->stop = 0;
	if (s->failure)
		return fs_error_msg(err, s->failure, "event engine: cannot grow the event arena "
						     "beyond %u events",
				    s->arena_cap);
	if (stopped && s->now < end)
		return fs_error_msg(err, FS_ERR_INTERRUPTED, "stopped at simulated time %.3f s",
				    sim_to_s(s->now));
	return FS_OK;
}

void sim_stop(sim *s)
{
	s->stop = 1;
}

sim_time sim_now(const sim *s)
{
	return s->now;
}

uint64_t sim_events_processed(const sim *s)
{
	return s->processed;
}

size_t sim_pending_count(const sim *s)
{
	return s->n;
}
