/*
 * test_sim.c - unit tests of the discrete-event core (sim/sim.h).
 *
 * Every expected order is computed independently of the engine: by a
 * brute-force sort of the posted events, by a linear-scan reference scheduler,
 * or written out by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A fixed integer mixer for test decisions (not the engine's RNG). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* --- a trace of fired events ----------------------------------------------- */

typedef struct fired {
	sim_time time;
	uint64_t u;
	double d;
	uint32_t lp;
	int model, kind, prio;
	char tag; /* 'E' event, 'a'/'b' model tick, 'H' hook */
} fired;

typedef struct trace {
	fired *v;
	size_t n, cap;
} trace;

static void trace_push(trace *t, fired f)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->v = realloc(t->v, t->cap * sizeof *t->v);
		assert_non_null(t->v);
	}
	t->v[t->n++] = f;
}

static void trace_free(trace *t)
{
	free(t->v);
	memset(t, 0, sizeof *t);
}

static void record_handler(sim *s, void *ctx, const sim_event *ev)
{
	(void)s;
	fired f = { .time = ev->time,
		    .u = ev->u,
		    .d = ev->d,
		    .lp = ev->lp,
		    .model = ev->model,
		    .kind = ev->kind,
		    .prio = ev->prio,
		    .tag = 'E' };
	trace_push(ctx, f);
}

static const sim_handler record_handlers[] = { record_handler };

static int add_recorder(sim *s, trace *t)
{
	sim_model m = { .name = "rec", .ctx = t, .handlers = record_handlers, .n_handlers = 1 };
	fs_error err;
	int id = sim_add_model(s, &m, &err);
	assert_true(id >= 0);
	return id;
}

static sim_handle post_at(sim *s, sim_time t, int model, int kind, int prio, uint64_t u)
{
	sim_event ev = { .time = t,
			 .model = (uint16_t)model,
			 .kind = (uint8_t)kind,
			 .prio = (uint8_t)prio,
			 .u = u };
	return sim_post(s, &ev);
}

/* --- total order vs a brute-force sort ---------------------------------------- */

typedef struct posted {
	sim_time time;
	int prio;
	uint64_t idx;
} posted;

static int posted_cmp(const void *pa, const void *pb)
{
	const posted *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

static void test_total_order_brute_force(void **state)
{
	(void)state;
	enum { N = 5000 };
	static const int prios[] = { 0, 1, 2, 128, 200, 255 };
	sim *s = sim_create(4); /* small, so the arena and heap grow several times */
	assert_non_null(s);
	trace t = { 0 };
	int m = add_recorder(s, &t);
	posted *ref = malloc(N * sizeof *ref);
	assert_non_null(ref);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t r = mix64(i + 12345);
		ref[i].time = (sim_time)(r % 16); /* 16 distinct times: many ties */
		ref[i].prio = prios[(r >> 16) % 6];
		ref[i].idx = i;
		post_at(s, ref[i].time, m, 0, ref[i].prio, i);
	}
	assert_int_equal(sim_pending_count(s), N);
	qsort(ref, N, sizeof *ref, posted_cmp);
	fs_error err;
	assert_int_equal(sim_run(s, 1000, &err), FS_OK);
	assert_int_equal(t.n, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(t.v[i].u, ref[i].idx);
		assert_int_equal(t.v[i].time, ref[i].time);
		assert_int_equal(t.v[i].prio, ref[i].prio);
	}
	assert_int_equal(sim_events_processed(s), N);
	assert_int_equal(sim_pending_count(s), 0);
	free(ref);
	trace_free(&t);
	sim_destroy(s);
}

static void test_fifo_same_time_same_prio(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	trace t = { 0 };
	int m = add_recorder(s, &t);
	/* 200 events at t=5, prio 7, interleaved with events at other times and
	 * priorities, so the heap reorders a lot between them */
	for (uint64_t i = 0; i < 200; i++) {
		post_at(s, 5, m, 0, 7, i);
		post_at(s, (sim_time)(mix64(i) % 11), m, 0, (int)(mix64(i + 99) % 256), 1000 + i);
	}
	assert_true(sim_run(s, 100, NULL) == FS_OK);
	uint64_t expect = 0;
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i].u < 1000) {
			assert_int_equal(t.v[i].u, expect);
			expect++;
		}
	assert_int_equal(expect, 200);
	trace_free(&t);
	sim_destroy(s);
}

/* --- dynamic run against a linear-scan reference scheduler --------------------- */

enum { DYN_MAX = 12000, DYN_INIT = 40 };

/* What the event with this id does when it fires: children and a cancel.
 * Shared by the engine's handler and by the reference, so both make the same
 * decisions provided they fire the same events in the same order. */
typedef struct dyn_plan {
	int nchild;
	sim_time dt[2];
	int prio[2];
	int cancel;          /* 0/1 */
	uint64_t cancel_pick; /* target = cancel_pick % next_id */
} dyn_plan;

static dyn_plan dyn_decide(uint64_t id)
{
	static const int prios[] = { 0, 3, 128, 255 };
	uint64_t r = mix64(id ^ 0xabcdef);
	dyn_plan p;
	p.nchild = (r % 3 == 0) ? 2 : 1;
	for (int c = 0; c < 2; c++) {
		uint64_t rc = mix64(r + (uint64_t)c + 1);
		p.dt[c] = (sim_time)(rc % 3); /* 0, 1 or 2 ns: same-instant posts */
		p.prio[c] = prios[(rc >> 8) % 4];
	}
	p.cancel = ((r >> 20) % 3) == 0;
	p.cancel_pick = r >> 32;
	return p;
}

typedef struct dyn_state {
	sim_handle h[DYN_MAX];
	uint64_t next_id;
	uint64_t fired[DYN_MAX];
	size_t nfired;
	unsigned char cancel_result[DYN_MAX]; /* per firing: 0 none, 1 false, 2 true */
	int model;
} dyn_state;

static void dyn_handler(sim *s, void *ctx, const sim_event *ev)
{
	dyn_state *d = ctx;
	uint64_t id = ev->u;
	size_t k = d->nfired++;
	d->fired[k] = id;
	dyn_plan p = dyn_decide(id);
	for (int c = 0; c < p.nchild && d->next_id < DYN_MAX; c++) {
		uint64_t nid = d->next_id++;
		d->h[nid] = post_at(s, sim_now(s) + p.dt[c], d->model, 0, p.prio[c], nid);
	}
	d->cancel_result[k] = 0;
	if (p.cancel)
		d->cancel_result[k] = sim_cancel(s, d->h[p.cancel_pick % d->next_id]) ? 2 : 1;
}

static const sim_handler dyn_handlers[] = { dyn_handler };

static void test_dynamic_vs_reference(void **state)
{
	(void)state;
	dyn_state *d = calloc(1, sizeof *d);
	assert_non_null(d);
	sim *s = sim_create(8);
	sim_model m = { .name = "dyn", .ctx = d, .handlers = dyn_handlers, .n_handlers = 1 };
	d->model = sim_add_model(s, &m, NULL);
	assert_int_equal(d->model, 0);

	/* reference: pending ids in an unsorted list, minimum by linear scan */
	sim_time *rt = calloc(DYN_MAX, sizeof *rt);
	int *rp = calloc(DYN_MAX, sizeof *rp);
	unsigned char *alive = calloc(DYN_MAX, 1);
	uint64_t *pend = calloc(DYN_MAX, sizeof *pend);
	assert_true(rt && rp && alive && pend);
	size_t npend = 0;
	uint64_t ref_next = 0;

	for (uint64_t i = 0; i < DYN_INIT; i++) {
		sim_time t0 = (sim_time)(mix64(i + 777) % 5);
		int p0 = (int)(mix64(i + 778) % 3);
		d->h[d->next_id++] = post_at(s, t0, d->model, 0, p0, i);
		rt[ref_next] = t0;
		rp[ref_next] = p0;
		alive[ref_next] = 1;
		pend[npend++] = ref_next++;
	}
	assert_int_equal(sim_run(s, SIM_TIME_MAX, NULL), FS_OK);

	size_t k = 0;
	while (npend > 0) {
		size_t best = 0;
		for (size_t j = 1; j < npend; j++) {
			uint64_t a = pend[j], b = pend[best];
			if (rt[a] < rt[b] || (rt[a] == rt[b] && (rp[a] < rp[b] ||
								 (rp[a] == rp[b] && a < b))))
				best = j;
		}
		uint64_t id = pend[best];
		pend[best] = pend[--npend];
		if (!alive[id])
			continue; /* cancelled */
		alive[id] = 0;
		assert_true(k < d->nfired);
		assert_int_equal(d->fired[k], id);
		dyn_plan p = dyn_decide(id);
		for (int c = 0; c < p.nchild && ref_next < DYN_MAX; c++) {
			rt[ref_next] = rt[id] + p.dt[c];
			rp[ref_next] = p.prio[c];
			alive[ref_next] = 1;
			pend[npend++] = ref_next++;
		}
		if (p.cancel) {
			uint64_t target = p.cancel_pick % ref_next;
			int expect = alive[target] ? 2 : 1;
			assert_int_equal(d->cancel_result[k], expect);
			alive[target] = 0;
		} else {
			assert_int_equal(d->cancel_result[k], 0);
		}
		k++;
	}
	assert_int_equal(k, d->nfired);
	assert_int_equal(ref_next, DYN_MAX); /* the run really did post them all */
	assert_true(d->nfired > DYN_MAX / 2);
	assert_int_equal(sim_pending_count(s), 0);
	free(rt);
	free(rp);
	free(alive);
	free(pend);
	sim_destroy(s);
	free(d);
}

/* --- cancellation ------------------------------------------------------------- */

static void test_cancel(void **state)
{
	(void)state;
	enum { N = 1000 };
	sim *s = sim_create(16);
	trace t = { 0 };
	int m = add_recorder(s, &t);
	sim_handle h[N];
	for (uint64_t i = 0; i < N; i++)
		h[i] = post_at(s, (sim_time)(mix64(i) % 50), m, 0, 128, i);
	for (int i = 0; i < N; i++)
		assert_true(sim_pending(s, h[i]));
	for (int i = 0; i < N; i += 2) {
		assert_true(sim_cancel(s, h[i]));
		assert_false(sim_cancel(s, h[i]));
		assert_false(sim_pending(s, h[i]));
	}
	for (int i = 1; i < N; i += 2)
		assert_true(sim_pending(s, h[i]));
	assert_int_equal(sim_run(s, 100, NULL), FS_OK);
	assert_int_equal(t.n, N / 2);
	assert_int_equal(sim_events_processed(s), N / 2);
	unsigned char seen[N] = { 0 };
	for (size_t i = 0; i < t.n; i++) {
		assert_true(t.v[i].u % 2 == 1);
		assert_int_equal(seen[t.v[i].u], 0);
		seen[t.v[i].u] = 1;
	}
	/* stale handles after firing or cancellation */
	for (int i = 0; i < N; i++) {
		assert_false(sim_pending(s, h[i]));
		assert_false(sim_cancel(s, h[i]));
	}
	/* a handle that was never valid */
	sim_handle bogus = { UINT32_MAX, 0 };
	assert_false(sim_pending(s, bogus));
	assert_false(sim_cancel(s, bogus));
	assert_int_equal(sim_pending_count(s), 0);
	trace_free(&t);
	sim_destroy(s);
}

static void test_cancel_slot_recycled(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	trace t = { 0 };
	int m = add_recorder(s, &t);
	uint32_t max_slot = 0;
	sim_time now = 0;
	/* post-cancel-drop many times: the slots must come back, never grow */
	for (uint64_t i = 0; i < 100000; i++) {
		sim_handle h = post_at(s, now + 1, m, 0, 128, i);
		if (h.slot > max_slot)
			max_slot = h.slot;
		assert_true(sim_cancel(s, h));
		now += 2;
		assert_int_equal(sim_run(s, now, NULL), FS_OK);
		assert_int_equal(sim_pending_count(s), 0);
	}
	assert_true(max_slot < 16);
	assert_int_equal(t.n, 0);

	/* ABA: a stale handle must not cancel the event now in its slot */
	sim_handle old = post_at(s, now + 1, m, 0, 128, 1);
	assert_true(sim_cancel(s, old));
	assert_int_equal(sim_run(s, now + 2, NULL), FS_OK);
	int reused = 0;
	sim_handle fresh[16];
	for (int i = 0; i < 16; i++) {
		fresh[i] = post_at(s, now + 5, m, 0, 128, 100 + (uint64_t)i);
		reused |= fresh[i].slot == old.slot;
	}
	assert_true(reused); /* all 16 slots are in use, so old's slot is one */
	assert_false(sim_pending(s, old));
	assert_false(sim_cancel(s, old));
	for (int i = 0; i < 16; i++)
		assert_true(sim_pending(s, fresh[i]));
	assert_int_equal(sim_run(s, now + 5, NULL), FS_OK);
	assert_int_equal(t.n, 16);

	/* the same through firing instead of cancellation */
	sim_handle fired_h = post_at(s, now + 6, m, 0, 128, 7);
	assert_true(sim_step(s));
	assert_false(sim_pending(s, fired_h));
	sim_handle again = post_at(s, now + 7, m, 0, 128, 8);
	assert_false(sim_cancel(s, fired_h));
	assert_true(sim_pending(s, again));
	assert_true(sim_step(s));
	assert_false(sim_step(s));
	assert_int_equal(t.n, 18);
	trace_free(&t);
	sim_destroy(s);
}

/* --- steady state: a million pop/push with constant pending --------------------- */

typedef struct steady {
	uint64_t fired, limit;
	size_t pending_expect;
	int bad_pending;
	uint32_t max_slot;
	int model;
} steady;

static void steady_handler(sim *s, void *ctx, const sim_event *ev)
{
	steady *st = ctx;
	/* every earlier handler reposted while (fired + P <= limit) */
	if (st->fired + st->pending_expect <= st->limit &&
	    sim_pending_count(s) != st->pending_expect - 1)
		st->bad_pending++;
	st->fired++;
	if (st->fired + st->pending_expect > st->limit)
		return; /* drain */
	uint64_t r = mix64(ev->u);
	sim_handle h = post_at(s, sim_now(s) + 1 + (sim_time)(r % 1000), st->model, 0,
			       (int)(r >> 40) % 256, r);
	if (h.slot > st->max_slot)
		st->max_slot = h.slot;
	if (sim_pending_count(s) != st->pending_expect)
		st->bad_pending++;
}

static const sim_handler steady_handlers[] = { steady_handler };

static void test_steady_state_million(void **state)
{
	(void)state;
	enum { PENDING = 64 };
	steady st = { .limit = 1000000, .pending_expect = PENDING };
	sim *s = sim_create(PENDING);
	sim_model m = { .name = "steady", .ctx = &st, .handlers = steady_handlers, .n_handlers = 1 };
	st.model = sim_add_model(s, &m, NULL);
	for (uint64_t i = 0; i < PENDING; i++) {
		sim_handle h = post_at(s, (sim_time)i, st.model, 0, 128, i);
		if (h.slot > st.max_slot)
			st.max_slot = h.slot;
	}
	assert_int_equal(sim_pending_count(s), PENDING);
	/* run in chunks: the pending count is constant between chunks too */
	sim_time end = 0;
	while (st.fired + PENDING <= st.limit) {
		end += 100000;
		assert_int_equal(sim_run(s, end, NULL), FS_OK);
		if (st.fired + PENDING <= st.limit)
			assert_int_equal(sim_pending_count(s), PENDING);
	}
	assert_int_equal(sim_run(s, SIM_TIME_MAX, NULL), FS_OK);
	assert_int_equal(st.fired, st.limit);
	assert_int_equal(sim_events_processed(s), st.limit);
	/* checked in the handler during the steady part only */
	assert_int_equal(st.bad_pending, 0);
	/* the arena was sized for 64 and never needed more */
	assert_true(st.max_slot < PENDING);
	assert_int_equal(sim_pending_count(s), 0);
	sim_destroy(s);
}

/* --- same-instant posting and sim_run(end) --------------------------------------- */

typedef struct chain {
	trace t;
	int model;
	int depth;
} chain;

static void chain_handler(sim *s, void *ctx, const sim_event *ev)
{
	chain *c = ctx;
	fired f = { .time = sim_now(s), .u = ev->u, .prio = ev->prio, .tag = 'E' };
	trace_push(&c->t, f);
	if (ev->u < (uint64_t)c->depth) {
		/* at the current time: one more urgent than anything pending, one
		 * less urgent */
		post_at(s, sim_now(s), c->model, 0, 10, ev->u + 1);
		post_at(s, sim_now(s), c->model, 0, 250, 100 + ev->u);
	}
}

static const sim_handler chain_handlers[] = { chain_handler };

static void test_same_time_posts_run(void **state)
{
	(void)state;
	chain c = { .depth = 4 };
	sim *s = sim_create(16);
	sim_model m = { .name = "chain", .ctx = &c, .handlers = chain_handlers, .n_handlers = 1 };
	c.model = sim_add_model(s, &m, NULL);
	post_at(s, 10, c.model, 0, 128, 0);
	post_at(s, 10, c.model, 0, 200, 50); /* pending at 10 when the chain starts */
	post_at(s, 11, c.model, 0, 0, 60);
	assert_int_equal(sim_run(s, 10, NULL), FS_OK);
	/* hand-derived: 0 (prio 128) posts 1 (10) and 100 (250); 1 runs before 50
	 * (prio 200); ... ; then 50, then the 250s in posting order */
	static const uint64_t expect[] = { 0, 1, 2, 3, 4, 50, 100, 101, 102, 103 };
	assert_int_equal(c.t.n, sizeof expect / sizeof expect[0]);
	for (size_t i = 0; i < c.t.n; i++) {
		assert_int_equal(c.t.v[i].u, expect[i]);
		assert_int_equal(c.t.v[i].time, 10);
	}
	assert_int_equal(sim_now(s), 10);
	assert_int_equal(sim_pending_count(s), 1);
	trace_free(&c.t);
	sim_destroy(s);
}

static void test_run_end_semantics(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	trace t = { 0 };
	int m = add_recorder(s, &t);
	fs_error err;
	/* empty queue: the clock still reaches end */
	assert_int_equal(sim_run(s, 50, &err), FS_OK);
	assert_int_equal(sim_now(s), 50);
	post_at(s, 100, m, 0, 128, 1);
	post_at(s, 200, m, 0, 255, 2);
	sim_handle late = post_at(s, 201, m, 0, 0, 3);
	sim_handle far = post_at(s, 5000, m, 0, 0, 4);
	/* end before the next event: nothing fires, clock moves to end */
	assert_int_equal(sim_run(s, 99, &err), FS_OK);
	assert_int_equal(t.n, 0);
	assert_int_equal(sim_now(s), 99);
	assert_int_equal(sim_run(s, 200, &err), FS_OK);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[0].u, 1);
	assert_int_equal(t.v[1].u, 2); /* exactly at end: runs */
	assert_int_equal(sim_now(s), 200);
	assert_true(sim_pending(s, late)); /* 1 ns after end: stays */
	assert_int_equal(sim_pending_count(s), 2);
	/* a second run continues where the first stopped */
	assert_int_equal(sim_run(s, 1000, &err), FS_OK);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.v[2].u, 3);
	assert_int_equal(t.v[2].time, 201);
	assert_int_equal(sim_now(s), 1000);
	assert_true(sim_pending(s, far));
	/* a cancelled event beyond end neither fires nor blocks the clock */
	assert_true(sim_cancel(s, far));
	assert_int_equal(sim_run(s, 6000, &err), FS_OK);
	assert_int_equal(t.n, 3);
	assert_int_equal(sim_now(s), 6000);
	assert_int_equal(sim_pending_count(s), 0);
	assert_int_equal(sim_events_processed(s), 3);
	trace_free(&t);
	sim_destroy(s);
}

static void test_step(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	trace t = { 0 };
	int m = add_recorder(s, &t);
	assert_false(sim_step(s));
	post_at(s, 30, m, 0, 128, 3);
	post_at(s, 10, m, 0, 128, 1);
	sim_handle h = post_at(s, 20, m, 0, 128, 2);
	assert_true(sim_cancel(s, h));
	assert_true(sim_step(s));
	assert_int_equal(sim_now(s), 10);
	assert_true(sim_step(s)); /* skips the cancelled one */
	assert_int_equal(sim_now(s), 30);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[1].u, 3);
	assert_false(sim_step(s));
	trace_free(&t);
	sim_destroy(s);
}

/* --- control tick ----------------------------------------------------------------- */

typedef struct tickctx {
	trace t;
	int model;
	sim_time fail_at; /* hook fails at this time; -1 never */
} tickctx;

static void tick_event(sim *s, void *ctx, const sim_event *ev)
{
	tickctx *c = ctx;
	fired f = { .time = sim_now(s), .u = ev->u, .tag = 'E' };
	trace_push(&c->t, f);
	if (ev->u == 5) /* posts at the current instant: still before the tick */
		post_at(s, sim_now(s), c->model, 0, 128, 6);
}

static void tick_a(sim *s, void *ctx, sim_time now)
{
	tickctx *c = ctx;
	fired f = { .time = now, .tag = 'a' };
	assert_int_equal(now, sim_now(s));
	trace_push(&c->t, f);
}

static void tick_b(sim *s, void *ctx, sim_time now)
{
	(void)s;
	tickctx *c = ctx;
	fired f = { .time = now, .tag = 'b' };
	trace_push(&c->t, f);
}

static int tick_hook(sim *s, void *ctx, sim_time now, fs_error *err)
{
	tickctx *c = ctx;
	fired f = { .time = now, .tag = 'H' };
	assert_int_equal(now, sim_now(s));
	trace_push(&c->t, f);
	if (now == c->fail_at)
		return fs_error_msg(err, FS_ERR_RUN, "hook failed at %lld", (long long)now);
	return FS_OK;
}

static const sim_handler tick_handlers[] = { tick_event };

static void tick_setup(sim *s, tickctx *c)
{
	sim_model ma = { .name = "a", .ctx = c, .handlers = tick_handlers, .n_handlers = 1,
			 .tick = tick_a };
	sim_model mb = { .name = "b", .ctx = c, .tick = tick_b };
	c->model = sim_add_model(s, &ma, NULL);
	assert_int_equal(c->model, 0);
	assert_int_equal(sim_add_model(s, &mb, NULL), 1);
}

static void expect_trace(const trace *t, const char *tags, const sim_time *times,
			 const uint64_t *us)
{
	size_t n = strlen(tags);
	assert_int_equal(t->n, n);
	for (size_t i = 0; i < n; i++) {
		if (t->v[i].tag != tags[i] || t->v[i].time != times[i] ||
		    (tags[i] == 'E' && t->v[i].u != us[i]))
			fail_msg("trace entry %zu: got %c@%lld u=%llu, expected %c@%lld", i,
				 t->v[i].tag, (long long)t->v[i].time,
				 (unsigned long long)t->v[i].u, tags[i], (long long)times[i]);
	}
}

static void test_tick_order(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	tickctx c = { .fail_at = -1 };
	tick_setup(s, &c);
	sim_set_tick(s, 100, 0, tick_hook, &c);
	/* posted after the tick was armed, so only the priority puts them first */
	post_at(s, 0, c.model, 0, 128, 1);
	post_at(s, 100, c.model, 0, 254, 2);
	post_at(s, 200, c.model, 0, 0, 3);
	post_at(s, 250, c.model, 0, 128, 4);
	post_at(s, 300, c.model, 0, 128, 5); /* posts 6 at 300 */
	fs_error err;
	assert_int_equal(sim_run(s, 400, &err), FS_OK);
	static const char tags[] = "EabH" "EabH" "EabH" "E" "EEabH" "abH";
	static const sim_time times[] = { 0,   0,   0,   0,   100, 100, 100, 100, 200,
					  200, 200, 200, 250, 300, 300, 300, 300, 300,
					  400, 400, 400 };
	static const uint64_t us[] = { 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0,
				       0, 4, 5, 6, 0, 0, 0, 0, 0, 0 };
	expect_trace(&c.t, tags, times, us);
	assert_int_equal(sim_now(s), 400);
	assert_int_equal(sim_events_processed(s), 6); /* ticks are not counted */
	/* the run continues: ticks at 500, 600 */
	c.t.n = 0;
	assert_int_equal(sim_run(s, 650, &err), FS_OK);
	static const sim_time times2[] = { 500, 500, 500, 600, 600, 600 };
	expect_trace(&c.t, "abHabH", times2, us);
	assert_int_equal(sim_now(s), 650);
	trace_free(&c.t);
	sim_destroy(s);
}

static void test_tick_first_offset(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	tickctx c = { .fail_at = -1 };
	sim_set_tick(s, 100, 50, tick_hook, &c);
	assert_int_equal(sim_run(s, 360, NULL), FS_OK);
	static const sim_time times[] = { 50, 150, 250, 350 };
	expect_trace(&c.t, "HHHH", times, NULL);
	assert_int_equal(sim_now(s), 360);
	trace_free(&c.t);
	sim_destroy(s);
}

static void test_tick_hook_error(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	tickctx c = { .fail_at = 200 };
	tick_setup(s, &c);
	sim_set_tick(s, 100, 0, tick_hook, &c);
	post_at(s, 150, c.model, 0, 128, 1);
	post_at(s, 200, c.model, 0, 128, 2);
	sim_handle late = post_at(s, 250, c.model, 0, 128, 3);
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(sim_run(s, 1000, &err), FS_ERR_RUN);
	assert_int_equal(err.code, FS_ERR_RUN);
	assert_string_equal(err.message, "hook failed at 200");
	assert_int_equal(sim_now(s), 200);
	assert_true(sim_pending(s, late));
	static const char tags[] = "abH" "abH" "E" "EabH";
	static const sim_time times[] = { 0, 0, 0, 100, 100, 100, 150, 200, 200, 200, 200 };
	static const uint64_t us[] = { 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0 };
	expect_trace(&c.t, tags, times, us);
	trace_free(&c.t);
	sim_destroy(s);
}

/* --- sim_stop ---------------------------------------------------------------------- */

typedef struct stopctx {
	trace t;
	uint64_t stop_at_u;
} stopctx;

static void stop_handler(sim *s, void *ctx, const sim_event *ev)
{
	stopctx *c = ctx;
	fired f = { .time = sim_now(s), .u = ev->u, .tag = 'E' };
	trace_push(&c->t, f);
	if (ev->u == c->stop_at_u)
		sim_stop(s);
}

static const sim_handler stop_handlers[] = { stop_handler };

static void test_stop_interrupts(void **state)
{
	(void)state;
	stopctx c = { .stop_at_u = 5 };
	sim *s = sim_create(16);
	sim_model m = { .name = "stop", .ctx = &c, .handlers = stop_handlers, .n_handlers = 1 };
	int id = sim_add_model(s, &m, NULL);
	for (uint64_t i = 1; i <= 10; i++)
		post_at(s, (sim_time)i * 10, id, 0, 128, i);
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(sim_run(s, 1000, &err), FS_ERR_INTERRUPTED);
	assert_int_equal(err.code, FS_ERR_INTERRUPTED);
	assert_int_equal(c.t.n, 5); /* returns after the current event */
	assert_int_equal(sim_now(s), 50);
	assert_int_equal(sim_pending_count(s), 5);
	/* the next run starts afresh and finishes */
	assert_int_equal(sim_run(s, 1000, &err), FS_OK);
	assert_int_equal(c.t.n, 10);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(c.t.v[i].u, i + 1);
	assert_int_equal(sim_now(s), 1000);
	trace_free(&c.t);
	sim_destroy(s);
}

/* --- sim_from_s ---------------------------------------------------------------------- */

static void test_from_s(void **state)
{
	(void)state;
	assert_int_equal(sim_from_s(0.0), 0);
	assert_int_equal(sim_from_s(1e-9), 1);
	assert_int_equal(sim_from_s(1.0), SIM_NS_PER_S);
	assert_int_equal(sim_from_s(2.5), 2500000000LL);
	assert_int_equal(sim_from_s(-3.0), -3000000000LL);
	assert_int_equal(sim_from_s(0.4999e-9), 0);
	assert_int_equal(sim_from_s(0.5e-9), 1); /* 0.5 ns: to nearest, ties away */
	assert_int_equal(sim_from_s(0.5001e-9), 1);
	assert_int_equal(sim_from_s(1.4999e-9), 1);
	assert_int_equal(sim_from_s(1.5001e-9), 2);
	assert_int_equal(sim_from_s(-0.4999e-9), 0);
	assert_int_equal(sim_from_s(-0.6e-9), -1);
	assert_int_equal(sim_from_s(0.1), 100000000LL);
	assert_int_equal(sim_from_s(123.456789012), 123456789012LL);
	assert_int_equal(sim_from_s(3600.0 * 24 * 365), 31536000000000000LL);
	/* saturation */
	assert_int_equal(sim_from_s(1e300), SIM_TIME_MAX);
	assert_int_equal(sim_from_s(INFINITY), SIM_TIME_MAX);
	assert_int_equal(sim_from_s(1e10), SIM_TIME_MAX); /* 1e19 ns > INT64_MAX */
	assert_true(sim_from_s(-1e300) <= -SIM_TIME_MAX);
	assert_true(sim_from_s(-INFINITY) <= -SIM_TIME_MAX);
	/* large but representable values are converted, not saturated */
	assert_int_equal(sim_from_s(9.0e9), 9000000000000000000LL);
	assert_int_equal(sim_from_s(NAN), 0);
	assert_int_equal(sim_from_s(-NAN), 0);
	/* round trip with sim_to_s */
	assert_true(fabs(sim_to_s(sim_from_s(1.25)) - 1.25) < 1e-15);
}

/* --- determinism ------------------------------------------------------------------- */

typedef struct phold {
	uint64_t rng; /* the model's own state: a SplitMix64 counter */
	uint64_t fired, limit;
	int model;
	sim_handle last[32];
	trace t;
} phold;

static uint64_t phold_next(phold *p)
{
	p->rng += 0x9e3779b97f4a7c15ULL;
	return mix64(p->rng);
}

static void phold_handler(sim *s, void *ctx, const sim_event *ev)
{
	phold *p = ctx;
	fired f = { .time = sim_now(s), .u = ev->u, .lp = ev->lp, .prio = ev->prio, .tag = 'E' };
	trace_push(&p->t, f);
	if (++p->fired >= p->limit)
		return;
	uint64_t r = phold_next(p);
	uint32_t dst = (uint32_t)(r % 32);
	sim_event ne = { .time = sim_now(s) + (sim_time)((r >> 8) % 4),
			 .lp = dst,
			 .model = (uint16_t)p->model,
			 .prio = (uint8_t)((r >> 16) % 3),
			 .u = r };
	p->last[dst] = sim_post(s, &ne);
	if ((r >> 24) % 7 == 0) {
		(void)sim_cancel(s, p->last[(r >> 32) % 32]);
		/* keep the population alive */
		ne.time = sim_now(s) + 1;
		p->last[ev->lp] = sim_post(s, &ne);
	}
}

static const sim_handler phold_handlers[] = { phold_handler };

static void phold_run(phold *p, uint64_t seed)
{
	memset(p, 0, sizeof *p);
	p->rng = seed;
	p->limit = 50000;
	sim *s = sim_create(8);
	sim_model m = { .name = "phold", .ctx = p, .handlers = phold_handlers, .n_handlers = 1 };
	p->model = sim_add_model(s, &m, NULL);
	for (uint32_t lp = 0; lp < 32; lp++) {
		sim_event ev = { .time = 0, .lp = lp, .model = (uint16_t)p->model, .prio = 1, .u = lp };
		p->last[lp] = sim_post(s, &ev);
	}
	assert_int_equal(sim_run(s, 1000000000LL, NULL), FS_OK);
	sim_destroy(s);
}

static void test_determinism(void **state)
{
	(void)state;
	phold a, b, c;
	phold_run(&a, 42);
	phold_run(&b, 42);
	phold_run(&c, 43);
	assert_true(a.t.n >= 50000);
	assert_int_equal(a.t.n, b.t.n);
	for (size_t i = 0; i < a.t.n; i++) {
		assert_int_equal(a.t.v[i].time, b.t.v[i].time);
		assert_int_equal(a.t.v[i].u, b.t.v[i].u);
		assert_int_equal(a.t.v[i].lp, b.t.v[i].lp);
	}
	/* the trace is time ordered, and a different seed gives a different one
	 * (so the comparison above can fail) */
	int differ = a.t.n != c.t.n;
	for (size_t i = 0; i < a.t.n; i++) {
		if (i > 0)
			assert_true(a.t.v[i].time >= a.t.v[i - 1].time);
		if (!differ && i < c.t.n && a.t.v[i].u != c.t.v[i].u)
			differ = 1;
	}
	assert_true(differ);
	trace_free(&a.t);
	trace_free(&b.t);
	trace_free(&c.t);
}

/* --- several models, several handler kinds ----------------------------------------- */

typedef struct mm_ctx {
	int id; /* which model this ctx belongs to */
	trace *t;
} mm_ctx;

#define MM_HANDLER(name, k)                                                        \
	static void name(sim *s, void *ctx, const sim_event *ev)                   \
	{                                                                          \
		mm_ctx *c = ctx;                                                   \
		fired f = { .time = sim_now(s),                                    \
			    .u = ev->u,                                            \
			    .d = ev->d,                                            \
			    .lp = ev->lp,                                          \
			    .model = c->id * 100 + ev->model,                      \
			    .kind = (k) * 100 + ev->kind,                          \
			    .prio = ev->prio,                                      \
			    .tag = 'E' };                                          \
		assert_int_equal(ev->time, sim_now(s));                            \
		trace_push(c->t, f);                                               \
	}

MM_HANDLER(mm_h0, 0)
MM_HANDLER(mm_h1, 1)
MM_HANDLER(mm_h2, 2)

static void test_multi_model_dispatch(void **state)
{
	(void)state;
	sim *s = sim_create(16);
	trace t = { 0 };
	mm_ctx ca = { 0, &t }, cb = { 1, &t }, cc = { 2, &t };
	static const sim_handler ha[] = { mm_h0, mm_h1, mm_h2 };
	static const sim_handler hb[] = { mm_h2, mm_h0 }; /* kind 0 -> h2, kind 1 -> h0 */
	static const sim_handler hc[] = { mm_h1 };
	sim_model a = { .name = "A", .ctx = &ca, .handlers = ha, .n_handlers = 3 };
	sim_model b = { .name = "B", .ctx = &cb, .handlers = hb, .n_handlers = 2 };
	sim_model c = { .name = "C", .ctx = &cc, .handlers = hc, .n_handlers = 1 };
	fs_error err;
	assert_int_equal(sim_add_model(s, &a, &err), 0);
	assert_int_equal(sim_add_model(s, &b, &err), 1);
	assert_int_equal(sim_add_model(s, &c, &err), 2);

	struct {
		int model, kind;
		uint32_t lp;
		uint64_t u;
		double d;
		int expect_ctx, expect_fn;
	} cases[] = {
		{ 0, 0, 7, 0xdeadbeefcafef00dULL, -1.5e300, 0, 0 },
		{ 0, 1, UINT32_MAX, UINT64_MAX, 3.141592653589793, 0, 1 },
		{ 0, 2, 0, 0, 0.0, 0, 2 },
		{ 1, 0, 123456, 42, -0.0, 1, 2 },
		{ 1, 1, 1, 1ULL << 63, 5e-324, 1, 0 },
		{ 2, 0, 99, 12345678901234ULL, 1e308, 2, 1 },
	};
	size_t n = sizeof cases / sizeof cases[0];
	for (size_t i = 0; i < n; i++) {
		sim_event ev = { .time = 10 * (sim_time)(n - i), /* reverse order */
				 .lp = cases[i].lp,
				 .model = (uint16_t)cases[i].model,
				 .kind = (uint8_t)cases[i].kind,
				 .prio = (uint8_t)(i * 40),
				 .u = cases[i].u,
				 .d = cases[i].d };
		sim_post(s, &ev);
	}
	/* sim_schedule: default priority */
	sim_schedule(s, 100, 1, 1, 5, 77, 2.5);
	assert_int_equal(sim_run(s, 100, &err), FS_OK);
	assert_int_equal(t.n, n + 1);
	for (size_t j = 0; j < n; j++) {
		size_t i = n - 1 - j;
		const fired *f = &t.v[j];
		assert_int_equal(f->time, 10 * (sim_time)(n - i));
		assert_int_equal(f->model, cases[i].expect_ctx * 100 + cases[i].model);
		assert_int_equal(f->kind, cases[i].expect_fn * 100 + cases[i].kind);
		assert_int_equal(f->lp, cases[i].lp);
		assert_int_equal(f->u, cases[i].u);
		assert_memory_equal(&f->d, &cases[i].d, sizeof(double));
		assert_int_equal(f->prio, (int)(i * 40));
	}
	const fired *f = &t.v[n];
	assert_int_equal(f->model, 101);
	assert_int_equal(f->kind, 1);
	assert_int_equal(f->prio, SIM_PRIO_DEFAULT);
	assert_int_equal(f->lp, 5);
	assert_int_equal(f->u, 77);
	assert_true(f->d == 2.5);
	trace_free(&t);
	sim_destroy(s);
}

static void test_add_model_limits(void **state)
{
	(void)state;
	sim *s = sim_create(0);
	assert_non_null(s);
	static sim_handler many[257];
	for (int i = 0; i < 257; i++)
		many[i] = record_handler;
	fs_error err;
	sim_model big = { .name = "big", .handlers = many, .n_handlers = 257 };
	fs_error_clear(&err);
	assert_true(sim_add_model(s, &big, &err) < 0);
	assert_int_not_equal(err.code, FS_OK);
	big.n_handlers = 256;
	assert_int_equal(sim_add_model(s, &big, &err), 0);
	for (int i = 1; i < SIM_MAX_MODELS; i++)
		assert_int_equal(sim_add_model(s, &big, &err), i);
	fs_error_clear(&err);
	assert_true(sim_add_model(s, &big, &err) < 0);
	assert_int_not_equal(err.code, FS_OK);
	sim_destroy(s);
	sim_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_total_order_brute_force),
		cmocka_unit_test(test_fifo_same_time_same_prio),
		cmocka_unit_test(test_dynamic_vs_reference),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_cancel_slot_recycled),
		cmocka_unit_test(test_steady_state_million),
		cmocka_unit_test(test_same_time_posts_run),
		cmocka_unit_test(test_run_end_semantics),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_tick_order),
		cmocka_unit_test(test_tick_first_offset),
		cmocka_unit_test(test_tick_hook_error),
		cmocka_unit_test(test_stop_interrupts),
		cmocka_unit_test(test_from_s),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_multi_model_dispatch),
		cmocka_unit_test(test_add_model_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
