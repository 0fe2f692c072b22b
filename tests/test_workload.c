/*
 * test_workload.c - unit tests of the request stream (models/workload.h).
 *
 * Every expectation is computed independently of the module: arrival counts
 * and gap statistics against the closed-form moments of the processes (Poisson
 * count within 4 sigma, gap CV of exponential and gamma gaps, the integrated
 * diurnal rate over a peak and a trough quarter), length moments against the
 * lognormal targets, trace replay against the row count and column sums of
 * the Azure CSV read here with plain sscanf, calendar arithmetic against
 * hand-computed differences, and error messages against literal strings.
 * Sessions are checked for the geometric turn count, the think time, context
 * growth and independence from the order in which turns complete.
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
#include <unistd.h>

#include "rng.h"
#include "workload.h"

#define CONV "data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"

/* ---------------------------------------------------------------- helpers */

static wl_class_params base_class(const char *name, double rate)
{
	wl_class_params c;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	snprintf(c.model, sizeof c.model, "m");
	c.arrival = WL_POISSON;
	c.rate = rate;
	c.input.kind = WL_FIXED;
	c.input.mean = 100;
	c.output.kind = WL_FIXED;
	c.output.mean = 10;
	return c;
}

static wl_class_params trace_class(const char *name, const char *path, int format)
{
	wl_class_params c = base_class(name, 1);
	c.arrival = WL_TRACE;
	snprintf(c.trace.path, sizeof c.trace.path, "%s", path);
	c.trace.format = format;
	c.trace.time_scale = 1;
	c.trace.rate_multiplier = 1;
	return c;
}

static workload *make(const wl_class_params *c, size_t n, uint64_t seed)
{
	workload *w = NULL;
	fs_error err;
	fs_error_clear(&err);
	int rc = workload_create(c, n, seed, 0, &w, &err);
	if (rc != FS_OK) {
		char buf[2048];
		fs_error_format(&err, buf, sizeof buf);
		fail_msg("workload_create: %s", buf);
	}
	return w;
}

typedef struct moments {
	double n, sum, sum2;
} moments;

static void mom_add(moments *m, double x)
{
	m->n++;
	m->sum += x;
	m->sum2 += x * x;
}

static double mom_mean(const moments *m)
{
	return m->sum / m->n;
}

static double mom_var(const moments *m)
{
	double mu = mom_mean(m);
	return (m->sum2 - m->n * mu * mu) / (m->n - 1);
}

static double mom_cv(const moments *m)
{
	return sqrt(mom_var(m)) / mom_mean(m);
}

/* The CSV read independently: row count and column sums and sums of squares. */
typedef struct csv_facts {
	size_t n;
	double in_sum, in_sum2, out_sum;
	double last_s; /* seconds of the last row after the first (same day) */
} csv_facts;

static csv_facts read_facts(const char *path)
{
	csv_facts f = {0};
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char line[256];
	assert_non_null(fgets(line, sizeof line, fp)); /* header */
	double first = -1;
	while (fgets(line, sizeof line, fp)) {
		int hh, mm;
		double ss;
		unsigned long in, out;
		if (sscanf(line, "%*d-%*d-%*d %d:%d:%lf,%lu,%lu", &hh, &mm, &ss, &in, &out) != 5)
			continue;
		double t = hh * 3600.0 + mm * 60.0 + ss;
		if (first < 0)
			first = t;
		f.last_s = t - first;
		f.n++;
		f.in_sum += (double)in;
		f.in_sum2 += (double)in * (double)in;
		f.out_sum += (double)out;
	}
	fclose(fp);
	return f;
}

static void expect_error(const char *path, int format, const char *want)
{
	wl_trace_row *rows = (wl_trace_row *)1;
	size_t n = 99;
	fs_error err;
	fs_error_clear(&err);
	int rc = wl_trace_read(path, format, &rows, &n, &err);
	assert_int_equal(rc, FS_ERR_INPUT);
	assert_null(rows);
	assert_int_equal(n, 0);
	char buf[2048];
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, want);
}

static bool same_but_id(const wl_request *a, const wl_request *b)
{
	return a->arrival == b->arrival && a->cls == b->cls && a->input_tokens == b->input_tokens &&
	       a->output_tokens == b->output_tokens && a->prefix_id == b->prefix_id &&
	       a->prefix_tokens == b->prefix_tokens && a->session == b->session &&
	       a->turn == b->turn;
}

/* ---------------------------------------------------------------- arrivals */

static void test_poisson(void **state)
{
	(void)state;
	const double rate = 1000, T = 1000;
	wl_class_params c = base_class("p", rate);
	workload *w = make(&c, 1, 1);
	wl_request r;
	moments gaps = {0};
	sim_time prev = 0, end = sim_from_s(T);
	uint64_t count = 0, last_id = 0;
	for (;;) {
		assert_int_equal(workload_next(w, &r), 0);
		if (r.arrival > end)
			break;
		assert_true(r.arrival >= prev);
		assert_true(r.id == last_id + 1);
		last_id = r.id;
		mom_add(&gaps, sim_to_s(r.arrival - prev));
		prev = r.arrival;
		count++;
	}
	double mean = rate * T;
	assert_true(fabs((double)count - mean) < 4 * sqrt(mean));
	assert_true(fabs(mom_cv(&gaps) - 1) < 0.02);
	assert_true(fabs(mom_mean(&gaps) * rate - 1) < 0.01);
	workload_destroy(w);
}

static void test_gamma_cv(void **state)
{
	(void)state;
	wl_class_params c = base_class("g", 500);
	c.arrival = WL_GAMMA;
	c.cv = 2;
	workload *w = make(&c, 1, 7);
	wl_request r;
	moments gaps = {0};
	sim_time prev = 0;
	for (int i = 0; i < 1000000; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		mom_add(&gaps, sim_to_s(r.arrival - prev));
		prev = r.arrival;
	}
	assert_true(fabs(mom_cv(&gaps) / 2 - 1) < 0.05);
	assert_true(fabs(mom_mean(&gaps) * 500 - 1) < 0.02);
	workload_destroy(w);

	/* cv 0: deterministic gaps of 1/rate */
	c.cv = 0;
	w = make(&c, 1, 7);
	for (int i = 1; i <= 10; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		assert_true(llabs(r.arrival - (sim_time)i * 2000000) <= 1);
	}
	workload_destroy(w);
}

static void test_diurnal(void **state)
{
	(void)state;
	const double rate = 100, A = 0.8, P = 100, phase = 10;
	const int periods = 100;
	wl_class_params c = base_class("d", rate);
	c.arrival = WL_DIURNAL;
	c.diurnal_amplitude = A;
	c.diurnal_period_s = P;
	c.diurnal_phase_s = phase;
	workload *w = make(&c, 1, 3);
	wl_request r;
	double peak = 0, trough = 0, total = 0;
	for (;;) {
		assert_int_equal(workload_next(w, &r), 0);
		double t = sim_to_s(r.arrival);
		if (t >= periods * P)
			break;
		double x = fmod(t - phase + 10 * P, P) / P; /* phase within the period */
		if (x >= 0.125 && x < 0.375)
			peak++;
		else if (x >= 0.625 && x < 0.875)
			trough++;
		total++;
	}
	/* integral of rate (1 + A sin(2 pi x)) over a quarter centred on the
	 * maximum (minimum): rate P (1/4 +- A sqrt(2) / (2 pi)) */
	double q = rate * P * periods;
	double want_peak = q * (0.25 + A * sqrt(2) / (2 * M_PI));
	double want_trough = q * (0.25 - A * sqrt(2) / (2 * M_PI));
	assert_true(fabs(peak - want_peak) < 4 * sqrt(want_peak));
	assert_true(fabs(trough - want_trough) < 4 * sqrt(want_trough));
	assert_true(fabs(total - q) < 4 * sqrt(q) + 1);
	workload_destroy(w);
}

/* ---------------------------------------------------------------- lengths */

static void test_lognormal_lengths(void **state)
{
	(void)state;
	wl_class_params c = base_class("l", 1000);
	c.input.kind = WL_LOGNORMAL;
	c.input.mean = 1000;
	c.input.cv = 0.5;
	c.output.kind = WL_LOGNORMAL;
	c.output.mean = 200;
	c.output.cv = 1.5;
	workload *w = make(&c, 1, 11);
	moments in = {0}, out = {0};
	wl_request r;
	for (int i = 0; i < 1000000; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		assert_true(r.input_tokens >= 1 && r.output_tokens >= 1);
		assert_true(r.prefix_id == 0 && r.prefix_tokens == 0 && r.session == 0);
		mom_add(&in, r.input_tokens);
		mom_add(&out, r.output_tokens);
	}
	assert_true(fabs(mom_mean(&in) / 1000 - 1) < 0.01);
	assert_true(fabs(mom_cv(&in) / 0.5 - 1) < 0.02);
	assert_true(fabs(mom_mean(&out) / 200 - 1) < 0.02);
	assert_true(fabs(mom_cv(&out) / 1.5 - 1) < 0.05);
	workload_destroy(w);

	/* clamping */
	c.input.min = 900;
	c.input.max = 1100;
	w = make(&c, 1, 11);
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		assert_true(r.input_tokens >= 900 && r.input_tokens <= 1100);
	}
	workload_destroy(w);
}

static void test_fixed_and_system_prompt(void **state)
{
	(void)state;
	wl_class_params c = base_class("f", 100);
	c.input.mean = 512;
	c.output.mean = 127.6; /* rounds to 128 */
	c.system_prompt_tokens = 100;
	workload *w = make(&c, 1, 5);
	wl_request r;
	uint64_t pid = 0;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		assert_int_equal(r.input_tokens, 612);
		assert_int_equal(r.output_tokens, 128);
		assert_int_equal(r.prefix_tokens, 100);
		assert_true(r.prefix_id != 0 && (r.prefix_id >> 63) == 1);
		if (i == 0)
			pid = r.prefix_id;
		assert_true(r.prefix_id == pid);
		assert_true(r.session == 0 && r.turn == 0);
	}
	workload_destroy(w);
}

static void test_empirical(void **state)
{
	(void)state;
	csv_facts f = read_facts(CONV);
	wl_class_params c = base_class("e", 1000);
	c.input.kind = WL_EMPIRICAL;
	snprintf(c.input.empirical, sizeof c.input.empirical, "%s", CONV);
	c.input.empirical_column = 0;
	c.output.kind = WL_EMPIRICAL;
	snprintf(c.output.empirical, sizeof c.output.empirical, "%s", CONV);
	c.output.empirical_column = 1;
	workload *w = make(&c, 1, 9);
	moments in = {0}, out = {0};
	wl_request r;
	const int N = 400000;
	for (int i = 0; i < N; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		mom_add(&in, r.input_tokens);
		mom_add(&out, r.output_tokens);
	}
	double mu = f.in_sum / (double)f.n;
	double sd = sqrt(f.in_sum2 / (double)f.n - mu * mu);
	assert_true(fabs(mom_mean(&in) - mu) < 4 * sd / sqrt(N));
	assert_true(fabs(mom_mean(&out) / (f.out_sum / (double)f.n) - 1) < 0.02);
	workload_destroy(w);
}

/* ---------------------------------------------------------------- determinism */

static void test_determinism_and_crn(void **state)
{
	(void)state;
	wl_class_params cs[2] = {base_class("A", 50), base_class("B", 80)};
	cs[0].input.kind = WL_LOGNORMAL;
	cs[0].input.cv = 1;
	cs[0].session.enabled = true;
	cs[0].session.turns_mean = 3;
	cs[0].session.think_mean_s = 1;
	cs[0].session.turn_input.kind = WL_FIXED;
	cs[0].session.turn_input.mean = 20;
	cs[1].arrival = WL_GAMMA;
	cs[1].cv = 3;
	enum { N = 20000 };
	wl_request *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b);
	assert_non_null(a);
	assert_non_null(b);

	workload *w1 = make(cs, 2, 42), *w2 = make(cs, 2, 42);
	for (int i = 0; i < N; i++) {
		assert_int_equal(workload_next(w1, &a[i]), 0);
		assert_int_equal(workload_next(w2, &b[i]), 0);
		assert_memory_equal(&a[i], &b[i], sizeof a[i]);
	}
	workload_destroy(w1);
	workload_destroy(w2);

	/* class A alone sees exactly the A requests of the pair */
	workload *solo = make(cs, 1, 42);
	int k = 0;
	for (int i = 0; i < N; i++) {
		if (a[i].cls != 0)
			continue;
		wl_request r;
		assert_int_equal(workload_next(solo, &r), 0);
		assert_true(same_but_id(&r, &a[i]));
		k++;
	}
	assert_true(k > N / 4);
	workload_destroy(solo);

	/* a different seed gives a different stream */
	workload *w3 = make(cs, 2, 43);
	int same = 0;
	for (int i = 0; i < 100; i++) {
		wl_request r;
		assert_int_equal(workload_next(w3, &r), 0);
		same += r.arrival == a[i].arrival;
	}
	assert_true(same < 5);
	workload_destroy(w3);
	free(a);
	free(b);
}

static void test_ties_lower_class_first(void **state)
{
	(void)state;
	wl_class_params cs[2] = {trace_class("x", "tests/data/wl_dates.csv", WL_TRACE_AZURE_CSV),
				 trace_class("y", "tests/data/wl_dates.csv", WL_TRACE_AZURE_CSV)};
	workload *w = make(cs, 2, 1);
	wl_request r;
	/* the first two rows of each share t = 0: x's both come first */
	static const unsigned want[10] = {0, 0, 1, 1, 0, 1, 0, 1, 0, 1};
	for (int i = 0; i < 10; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		assert_int_equal(r.cls, want[i]);
		assert_int_equal(r.id, (unsigned)(i + 1));
	}
	assert_int_equal(workload_next(w, &r), 1);
	assert_int_equal(workload_next(w, &r), 1);
	workload_destroy(w);
}

/* ---------------------------------------------------------------- traces */

static void test_trace_replay(void **state)
{
	(void)state;
	csv_facts f = read_facts(CONV);
	assert_int_equal(f.n, 19366); /* the file's data rows (header excluded) */
	wl_class_params c = trace_class("conv", CONV, WL_TRACE_AZURE_CSV);
	workload *w = make(&c, 1, 1);
	wl_request r;
	size_t n = 0;
	double in = 0, out = 0;
	sim_time prev = 0, last = 0;
	while (workload_next(w, &r) == 0) {
		if (n == 0)
			assert_true(r.arrival == 0);
		assert_true(r.arrival >= prev);
		prev = last = r.arrival;
		in += r.input_tokens;
		out += r.output_tokens;
		n++;
	}
	assert_int_equal(n, f.n);
	assert_true(in == f.in_sum);
	assert_true(out == f.out_sum);
	assert_true(fabs(sim_to_s(last) - f.last_s) < 1e-6);
	workload_destroy(w);

	/* time_scale 0.5 halves the span */
	c.trace.time_scale = 0.5;
	w = make(&c, 1, 1);
	n = 0;
	while (workload_next(w, &r) == 0)
		last = r.arrival, n++;
	assert_int_equal(n, f.n);
	assert_true(fabs(sim_to_s(last) - f.last_s / 2) < 1e-6);
	workload_destroy(w);

	/* rate_multiplier 2 doubles the count; copies stay within the trace */
	c.trace.time_scale = 1;
	c.trace.rate_multiplier = 2;
	w = make(&c, 1, 1);
	n = 0;
	in = 0;
	prev = 0;
	while (workload_next(w, &r) == 0) {
		assert_true(r.arrival >= prev);
		prev = r.arrival;
		in += r.input_tokens;
		n++;
	}
	assert_int_equal(n, 2 * f.n);
	assert_true(in == 2 * f.in_sum);
	workload_destroy(w);

	/* 1.5: each row once, plus once more with probability 1/2 */
	c.trace.rate_multiplier = 1.5;
	w = make(&c, 1, 1);
	n = 0;
	while (workload_next(w, &r) == 0)
		n++;
	assert_true(fabs((double)n - 1.5 * (double)f.n) < 4 * sqrt(0.25 * (double)f.n));
	workload_destroy(w);

	/* loop: the second pass starts one mean gap after the last row */
	c.trace.rate_multiplier = 1;
	c.trace.loop = true;
	w = make(&c, 1, 1);
	double period = f.last_s + f.last_s / (double)(f.n - 1);
	for (size_t i = 0; i < 3 * f.n; i++) {
		assert_int_equal(workload_next(w, &r), 0);
		if (i == f.n)
			assert_true(fabs(sim_to_s(r.arrival) - period) < 1e-6);
		if (i == 2 * f.n + 1)
			assert_true(sim_to_s(r.arrival) > 2 * period);
	}
	workload_destroy(w);
}

static void test_csv_dates_sort_crlf(void **state)
{
	(void)state;
	wl_trace_row *rows;
	size_t n;
	fs_error err;
	assert_int_equal(
	    wl_trace_read("tests/data/wl_dates.csv", WL_TRACE_AZURE_CSV, &rows, &n, &err), FS_OK);
	assert_int_equal(n, 5);
	/* sorted stably; times from 2023-12-31 23:59:59.0 across a leap day */
	static const double t[5] = {0, 0, 2, 5097600.5, 5184001.25};
	static const unsigned in[5] = {20, 50, 40, 10, 30}, out[5] = {2, 5, 4, 1, 0};
	for (size_t i = 0; i < n; i++) {
		assert_true(fabs(rows[i].t_s - t[i]) < 1e-9);
		assert_int_equal(rows[i].input_tokens, in[i]);
		assert_int_equal(rows[i].output_tokens, out[i]);
		assert_true(rows[i].session == 0 && rows[i].prefix_id == 0);
	}
	free(rows);

	/* 0 output tokens in the trace become 1 in the request */
	wl_class_params c = trace_class("d", "tests/data/wl_dates.csv", WL_TRACE_AZURE_CSV);
	workload *w = make(&c, 1, 1);
	wl_request r;
	for (int i = 0; i < 5; i++)
		assert_int_equal(workload_next(w, &r), 0);
	assert_int_equal(r.input_tokens, 30);
	assert_int_equal(r.output_tokens, 1);
	assert_int_equal(workload_next(w, &r), 1);
	workload_destroy(w);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void test_jsonl(void **state)
{
	(void)state;
	wl_trace_row *rows;
	size_t n;
	fs_error err;
	assert_int_equal(wl_trace_read("tests/data/wl_good.jsonl", WL_TRACE_JSONL, &rows, &n, &err),
			 FS_OK);
	assert_int_equal(n, 4);
	assert_true(rows[0].t_s == 0.25 && rows[0].input_tokens == 1200 &&
		    rows[0].output_tokens == 300 && rows[0].session == 42 &&
		    rows[0].prefix_id == 7 && rows[0].prefix_tokens == 800);
	assert_true(rows[1].t_s == 0.25 && rows[1].input_tokens == 2 &&
		    rows[1].output_tokens == 1 && rows[1].session == 0 && rows[1].prefix_id == 0);
	assert_true(rows[2].t_s == 0.5 && rows[2].session == fnv("s-17") &&
		    rows[2].prefix_id == fnv("sys-a") && rows[2].prefix_tokens == 80);
	assert_true(rows[3].t_s == 1.0 && rows[3].session == fnv("s-17"));
	free(rows);

	/* replayed as written: JSONL times are seconds since the start */
	wl_class_params c = trace_class("j", "tests/data/wl_good.jsonl", WL_TRACE_JSONL);
	c.system_prompt_tokens = 50;
	workload *w = make(&c, 1, 1);
	wl_request r;
	assert_int_equal(workload_next(w, &r), 0);
	assert_true(r.arrival == 250000000 && r.prefix_id == 7 && r.prefix_tokens == 800);
	assert_int_equal(workload_next(w, &r), 0);
	/* no prefix of its own: the class's system prompt */
	assert_true(r.input_tokens == 2 && r.prefix_tokens == 2 && (r.prefix_id >> 63) == 1);
	workload_destroy(w);
}

static void test_trace_errors(void **state)
{
	(void)state;
	expect_error(
	    "tests/data/wl_bad_number.csv", WL_TRACE_AZURE_CSV,
	    "tests/data/wl_bad_number.csv:3:33: GeneratedTokens: 'abc' is not a token count; "
	    "expected a non-negative integer");
	expect_error(
	    "tests/data/wl_bad_timestamp.csv", WL_TRACE_AZURE_CSV,
	    "tests/data/wl_bad_timestamp.csv:2:1: TIMESTAMP: '2023-13-16 18:15:46.6805900' "
	    "is not a timestamp; expected YYYY-MM-DD HH:MM:SS.fffffff");
	expect_error(
	    "tests/data/wl_bad_header.csv", WL_TRACE_AZURE_CSV,
	    "tests/data/wl_bad_header.csv:1:1: 'time,input,output' is not an Azure LLM trace "
	    "header; expected TIMESTAMP,ContextTokens,GeneratedTokens");
	expect_error(
	    "tests/data/wl_unknown_key.jsonl", WL_TRACE_JSONL,
	    "tests/data/wl_unknown_key.jsonl:2:41: user: unknown key; expected time, input, "
	    "output, session, prefix or prefix_tokens");
	expect_error(
	    "tests/data/wl_truncated.jsonl", WL_TRACE_JSONL,
	    "tests/data/wl_truncated.jsonl:3:26: input: unexpected end of line; expected ',' "
	    "or '}'");
	expect_error(
	    "tests/data/wl_nested.jsonl", WL_TRACE_JSONL,
	    "tests/data/wl_nested.jsonl:1:22: input: nested object; expected a number or a "
	    "string (the object must be flat)");

	/* the same errors surface through workload_create */
	wl_class_params c = trace_class("bad", "tests/data/wl_bad_number.csv", WL_TRACE_AZURE_CSV);
	workload *w = (workload *)1;
	fs_error err;
	assert_int_equal(workload_create(&c, 1, 1, 0, &w, &err), FS_ERR_INPUT);
	assert_null(w);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 33);
}

/* Write `text` to a temporary file and parse it; returns the code. */
static int parse_text(const char *text, size_t len, int format, size_t *nrows)
{
	char path[] = "/tmp/fs_wl_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	wl_trace_row *rows;
	fs_error err;
	int rc = wl_trace_read(path, format, &rows, nrows, &err);
	free(rows);
	unlink(path);
	return rc;
}

static void test_jsonl_strictness_and_junk(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{\"time\": 1, \"input\": 1, \"output\": 1, \"time\": 2}",
	    "{\"time\": 1, \"input\": 1}",
	    "{\"time\": -1, \"input\": 1, \"output\": 1}",
	    "{\"time\": 1, \"input\": 1.5, \"output\": 1}",
	    "{\"time\": 1, \"input\": 01, \"output\": 1}",
	    "{\"time\": 1, \"input\": 1, \"output\": true}",
	    "{\"time\": 1, \"input\": 1, \"output\": [1]}",
	    "{\"time\": 1, \"input\": 1, \"output\": 1} x",
	    "{\"time\": 1, \"input\": 1, \"output\": 1,}",
	    "{\"time\": 1, \"input\": 1, \"output\": 1, \"session\": \"\\ud800\"}",
	    "{\"time\": 1, \"input\": 5, \"output\": 1, \"prefix\": 3, \"prefix_tokens\": 6}",
	    "{\"time\": 1e999, \"input\": 1, \"output\": 1}",
	    "{\"time\": 1, \"input\": 99999999999999999999999, \"output\": 1}",
	    "[1, 2]",
	    "{\"ti\\u006de\": 1, \"input\": 1, \"output\": 1, \"x\\u0000\": 1}",
	};
	size_t n;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse_text(bad[i], strlen(bad[i]), WL_TRACE_JSONL, &n) != FS_ERR_INPUT)
			fail_msg("accepted: %s", bad[i]);
	const char *ok = "{\"ti\\u006de\": 1.5e-1, \"input\": 1, \"output\": 2, \"prefix\": "
			 "\"\\ud83d\\ude00\", \"prefix_tokens\": 1}\n\n";
	assert_int_equal(parse_text(ok, strlen(ok), WL_TRACE_JSONL, &n), FS_OK);
	assert_int_equal(n, 1);

	/* random mutations of valid lines: never a crash, only OK or bad input */
	const char *seed_csv =
	    "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
	    "2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:50.9951690,3,1";
	const char *seeds[2] = {ok, seed_csv};
	uint64_t st = 12345;
	char buf[256];
	for (int it = 0; it < 4000; it++) {
		int fmt = it & 1;
		size_t len = strlen(seeds[fmt]);
		memcpy(buf, seeds[fmt], len);
		int muts = 1 + (int)(rng_splitmix64(&st) % 4);
		for (int m = 0; m < muts; m++) {
			uint64_t x = rng_splitmix64(&st);
			size_t pos = (size_t)(x % len);
			switch ((x >> 32) % 3) {
			case 0:
				buf[pos] = (char)(x >> 40);
				break;
			case 1:
				len = pos; /* truncate */
				break;
			default:
				if (len < sizeof buf - 1) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = "{}[]\",:\\0e-\n"[(x >> 40) % 12];
					len++;
				}
			}
			if (len == 0)
				break;
		}
		int rc = parse_text(buf, len, fmt ? WL_TRACE_AZURE_CSV : WL_TRACE_JSONL, &n);
		assert_true(rc == FS_OK || rc == FS_ERR_INPUT);
	}
}

/* ---------------------------------------------------------------- sessions */

static wl_class_params session_class(double turns_mean)
{
	wl_class_params c = base_class("chat", 10);
	c.input.mean = 200;
	c.output.mean = 100;
	c.system_prompt_tokens = 30;
	c.session.enabled = true;
	c.session.turns_mean = turns_mean;
	c.session.think_mean_s = 2;
	c.session.turn_input.kind = WL_FIXED;
	c.session.turn_input.mean = 50;
	return c;
}

static void test_sessions(void **state)
{
	(void)state;
	wl_class_params c = session_class(4);
	workload *w = make(&c, 1, 21);
	const int S = 20000;
	moments turns = {0}, think = {0};
	uint64_t prev_session = 0, last_id = 0;
	for (int s = 0; s < S; s++) {
		wl_request r, nx;
		assert_int_equal(workload_next(w, &r), 0);
		assert_true(r.id > last_id);
		last_id = r.id;
		assert_true(r.session != 0 && r.session != prev_session && (r.session >> 63) == 0);
		prev_session = r.session;
		assert_int_equal(r.turn, 0);
		assert_int_equal(r.input_tokens, 230);
		assert_int_equal(r.prefix_tokens, 30);
		assert_true((r.prefix_id >> 63) == 1);
		int k = 1;
		sim_time finish = r.arrival + 1000000000;
		while (workload_next_turn(w, &r, finish, &nx)) {
			assert_true(nx.id == last_id + 1);
			last_id = nx.id;
			assert_true(nx.session == r.session && nx.cls == r.cls);
			assert_int_equal(nx.turn, r.turn + 1);
			assert_true(nx.arrival >= finish);
			mom_add(&think, sim_to_s(nx.arrival - finish));
			assert_int_equal(nx.input_tokens, r.input_tokens + r.output_tokens + 50);
			assert_int_equal(nx.prefix_tokens, r.input_tokens + r.output_tokens);
			assert_int_equal(nx.output_tokens, 100);
			assert_true(nx.prefix_id != 0 && (nx.prefix_id >> 63) == 0 &&
				    nx.prefix_id != r.prefix_id);
			r = nx;
			finish = r.arrival + 500000000;
			k++;
		}
		mom_add(&turns, k);
	}
	/* geometric with mean 4: sd sqrt(12) */
	assert_true(fabs(mom_mean(&turns) - 4) < 4 * sqrt(12.0 / S));
	assert_true(fabs(mom_mean(&think) / 2 - 1) < 4 / sqrt(think.n));
	workload_destroy(w);

	/* no sessions: next_turn ends at once */
	wl_class_params plain = base_class("p", 1);
	w = make(&plain, 1, 1);
	wl_request r, nx;
	assert_int_equal(workload_next(w, &r), 0);
	assert_int_equal(r.session, 0);
	assert_int_equal(workload_next_turn(w, &r, r.arrival, &nx), 0);
	workload_destroy(w);
}

static void test_session_order_independent(void **state)
{
	(void)state;
	wl_class_params c = session_class(30);
	c.session.turn_input.kind = WL_LOGNORMAL;
	c.session.turn_input.cv = 1;
	c.output.kind = WL_LOGNORMAL;
	c.output.cv = 1;
	workload *w1 = make(&c, 1, 77), *w2 = make(&c, 1, 77);
	enum { K = 50 };
	wl_request a[K], b[K];
	for (int i = 0; i < K; i++) {
		assert_int_equal(workload_next(w1, &a[i]), 0);
		assert_int_equal(workload_next(w2, &b[i]), 0);
	}
	/* w1 completes the sessions in order, w2 in reverse, at other times */
	int live = 0;
	for (int round = 0; round < 5; round++) {
		wl_request na[K], nb[K];
		int ra[K], rb[K];
		for (int i = 0; i < K; i++)
			ra[i] = a[i].session
				    ? workload_next_turn(w1, &a[i], a[i].arrival + 7, &na[i])
				    : 0;
		for (int i = K; i-- > 0;)
			rb[i] = b[i].session
				    ? workload_next_turn(w2, &b[i], b[i].arrival + 7, &nb[i])
				    : 0;
		for (int i = 0; i < K; i++) {
			assert_int_equal(ra[i], rb[i]);
			if (ra[i]) {
				assert_true(same_but_id(&na[i], &nb[i]));
				live++;
				a[i] = na[i];
				b[i] = nb[i];
			} else {
				a[i].session = b[i].session = 0;
			}
		}
	}
	assert_true(live > 100);
	workload_destroy(w1);
	workload_destroy(w2);
}

static void test_class_check(void **state)
{
	(void)state;
	fs_error err;
	char buf[1024];
	wl_class_params c = base_class("x", -1);
	assert_int_equal(workload_class_check(&c, 3, &err), FS_ERR_INPUT);
	assert_string_equal(err.key, "workload[3].arrival.rate");
	c = base_class("x", 1);
	c.input.kind = WL_LOGNORMAL;
	c.input.cv = -2;
	assert_int_equal(workload_class_check(&c, 0, &err), FS_ERR_INPUT);
	assert_string_equal(err.key, "workload[0].input.cv");
	c = trace_class("t", CONV, WL_TRACE_AZURE_CSV);
	c.trace.rate_multiplier = 0;
	assert_int_equal(workload_class_check(&c, 1, &err), FS_ERR_INPUT);
	fs_error_format(&err, buf, sizeof buf);
	assert_string_equal(buf, "workload[1].arrival.rate_multiplier: 0 is out of range; expected "
				 "(0, 1000]");
	c = session_class(0.5);
	assert_int_equal(workload_class_check(&c, 0, &err), FS_ERR_INPUT);
	assert_string_equal(err.key, "workload[0].session.turns");
	wl_class_params two[2] = {base_class("same", 1), base_class("same", 2)};
	workload *w;
	assert_int_equal(workload_create(two, 2, 1, 0, &w, &err), FS_ERR_INPUT);
	assert_string_equal(err.key, "workload[1].name");
	/* a missing trace file is an I/O error naming the file */
	c = trace_class("t", "tests/data/no-such-trace.csv", WL_TRACE_AZURE_CSV);
	assert_int_equal(workload_create(&c, 1, 1, 0, &w, &err), FS_ERR_IO);
	assert_string_equal(err.file, "tests/data/no-such-trace.csv");
	/* an empty workload is exhausted at once */
	assert_int_equal(workload_create(NULL, 0, 1, 0, &w, &err), FS_OK);
	wl_request r;
	assert_int_equal(workload_next(w, &r), 1);
	assert_int_equal(workload_class_count(w), 0);
	workload_destroy(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_poisson),
	    cmocka_unit_test(test_gamma_cv),
	    cmocka_unit_test(test_diurnal),
	    cmocka_unit_test(test_lognormal_lengths),
	    cmocka_unit_test(test_fixed_and_system_prompt),
	    cmocka_unit_test(test_empirical),
	    cmocka_unit_test(test_determinism_and_crn),
	    cmocka_unit_test(test_ties_lower_class_first),
	    cmocka_unit_test(test_trace_replay),
	    cmocka_unit_test(test_csv_dates_sort_crlf),
	    cmocka_unit_test(test_jsonl),
	    cmocka_unit_test(test_trace_errors),
	    cmocka_unit_test(test_jsonl_strictness_and_junk),
	    cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_session_order_independent),
	    cmocka_unit_test(test_class_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
