/*
 * test_recorder.c - the HDF5 run file (output/recorder.c), checked from the
 * outside: each test writes through the public API and the rec_sink table,
 * then reads the file back with its own HDF5 C code (nothing shared with the
 * recorder), so a mistake on one side cannot hide behind the same mistake on
 * the other.  Covered: shapes and exact values over more rows than a chunk,
 * repeat-last semantics of sparse sets, a series declared after the first
 * commit, events and summaries, units/description on every dataset, root
 * attributes, scenario texts, chunking and filters, no time stamps, the
 * /requests table (every field of every row over more rows than a chunk, NaN,
 * its attributes and class names; empty when no row came; misuse), the
 * temporary file and its rename, abort, error paths, and that two identical
 * recordings give identical files.  No HDF5 id may be left open afterwards.
 *
 * If FS_RECORDER_KEEP names a path, a copy of the main test file is left
 * there for tests/t_h5py.sh to inspect with h5py and h5dump.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "recorder.h"

#define NROWS 2500
#define LATE_ROW 1500
#define NREQ 3000 /* request rows: two full chunks of 1024 and a partial one */

static char g_dir[64];

static const char *GIVEN = "name: test\nseed: 7\nsite: { power_budget: 50 MW }\n"
			   "# non-ASCII survives: 45 \xc2\xb0" "C, \xce\xbc" "s\n";
static const char *RESOLVED = "name: test\nseed: 7\nduration: 3600 s\n";

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", g_dir, name);
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void assert_no_open_ids(void)
{
	assert_int_equal(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(g_dir, sizeof g_dir, "%s/fs_rec_XXXXXX", t && strlen(t) < 40 ? t : "/tmp");
	return mkdtemp(g_dir) ? 0 : -1;
}

/* The test directory is flat: remove its files, then it. */
static int teardown(void **state)
{
	(void)state;
	DIR *d = opendir(g_dir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
				if (unlink(p) < 0)
					rmdir(p);
			}
		closedir(d);
	}
	rmdir(g_dir);
	return 0;
}

/* --- the standard recording -------------------------------------------- */

static recorder_meta test_meta(void)
{
	recorder_meta m = { 0 };
	m.version = "0.1.0";
	m.git_revision = "abc123";
	m.scenario_name = "test";
	m.scenario_file = "scenarios/test.yaml";
	m.seed = UINT64_C(0xfedcba9876543210);
	m.replication = 3;
	m.tick_s = 0.5;
	m.scenario_given = GIVEN;
	m.scenario_resolved = RESOLVED;
	return m;
}

/* 158 ASCII bytes then two-byte characters: a 160-byte field (159 + NUL)
 * would cut the first of them in half, so the recorder must stop at 158. */
static void long_detail(char *buf, size_t n)
{
	size_t i = 0;
	for (; i < 158; i++)
		buf[i] = 'x';
	while (i + 2 < n && i < 300) {
		buf[i++] = (char)0xc3;
		buf[i++] = (char)0xa9;
	}
	buf[i] = '\0';
}

static const char *const CLASSES[] = { "chat", "batch", "code \xc3\xa9" "dition" };
#define NCLASSES (sizeof CLASSES / sizeof CLASSES[0])

/* Request row i of the standard recording; ids above 2^32 check the 64 bits.
 * The struct is filled field by field, so its padding stays uninitialised
 * (valgrind would flag padding bytes reaching the file). */
static rec_request want_request(size_t i)
{
	rec_request q;
	q.id = UINT64_C(5000000000) + 7 * (uint64_t)i;
	q.cls = (uint32_t)(i % NCLASSES);
	q.replica = (int32_t)(i % 5) - 1;
	q.prefill_replica = (int32_t)(i % 7) - 1;
	q.arrival_s = (double)i * 0.01;
	q.first_token_s = i % 4 == 0 ? NAN : q.arrival_s + 0.125;
	q.finish_s = i % 10 == 9 ? NAN : q.arrival_s + 1.0 + (double)i * 1e-3;
	q.input_tokens = 100 + (uint32_t)i;
	q.output_tokens = 4000000000u - (uint32_t)i;
	q.cached_tokens = (uint32_t)i / 2;
	q.preemptions = (uint32_t)(i % 3);
	q.slo_met = (uint8_t)(i % 2);
	return q;
}

static double want_sparse(size_t i)
{
	return i < 5 ? NAN : i < 2000 ? 5.0 : 2000.0;
}

/* Everything the read-back checks expect; also used twice for determinism. */
static void write_standard(const char *path)
{
	recorder_meta m = test_meta();
	recorder_opts o = { 4, 1024 };
	recorder *r = NULL;
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	assert_non_null(r);
	rec_sink *s = recorder_sink(r);
	int p = rec_declare(s, "site/it_power", "W", "IT power of the site", 1, &err);
	int k = rec_declare(s, "racks/power", "W", "electrical power per rack", 3, &err);
	int sp = rec_declare(s, "site/sparse", "1", "set only twice, repeats otherwise", 1, &err);
	int late = -1;
	assert_true(p >= 0 && k >= 0 && sp >= 0);
	for (size_t i = 0; i < NROWS; i++) {
		if (i == LATE_ROW) {
			late = rec_declare(s, "late/x", "K", "declared after 1500 commits", 1, &err);
			assert_true(late >= 0);
		}
		rec_set(s, p, 0, (double)i * 1.5);
		rec_set(s, k, 0, (double)i);
		if (i % 2 == 0)
			rec_set(s, k, 1, (double)i * 10.0);
		rec_set(s, k, 2, -(double)i);
		if (i == 5 || i == 2000)
			rec_set(s, sp, 0, (double)i);
		if (late >= 0)
			rec_set(s, late, 0, (double)i + 0.25);
		assert_int_equal(rec_commit(s, (double)i * 0.5, &err), FS_OK);
	}
	char detail[400];
	long_detail(detail, sizeof detail);
	assert_int_equal(rec_event(s, 12.0, "grid_event", "site", 0.7, "1", "budget to 70 %", &err),
			 FS_OK);
	assert_int_equal(rec_event(s, 30.5, "trip", "rack 12", 1.2e6, "W", detail, &err), FS_OK);
	assert_int_equal(rec_event(s, 31.0, "throttle", NULL, NAN, NULL, NULL, &err), FS_OK);
	assert_int_equal(rec_summary(s, "tokens_per_mw", 12345.5, "1/(s*MW)",
				     "output tokens per second per MW of facility power", &err),
			 FS_OK);
	assert_int_equal(rec_summary(s, "energy/total", 3.6e9, "J", "facility energy", &err),
			 FS_OK);
	assert_int_equal(rec_classes(s, CLASSES, NCLASSES, &err), FS_OK);
	for (size_t i = 0; i < NREQ; i++) {
		rec_request q = want_request(i);
		assert_int_equal(rec_request_row(s, &q, &err), FS_OK);
	}
	assert_int_equal(recorder_close(r, &err), FS_OK);
}

/* --- independent read-back helpers -------------------------------------- */

/* A string attribute as a malloc'd C string; the recorder writes them
 * variable-length, but fixed-length ones are read too. */
static char *read_str_attr(hid_t obj, const char *name)
{
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	assert_true(a >= 0);
	hid_t ft = H5Aget_type(a);
	assert_int_equal(H5Tget_class(ft), H5T_STRING);
	assert_int_equal(H5Tget_cset(ft), H5T_CSET_UTF8);
	hid_t mt = H5Tcopy(H5T_C_S1);
	H5Tset_cset(mt, H5T_CSET_UTF8); /* HDF5 does not convert between csets */
	char *buf;
	if (H5Tis_variable_str(ft)) {
		H5Tset_size(mt, H5T_VARIABLE);
		char *p = NULL;
		assert_true(H5Aread(a, mt, &p) >= 0);
		assert_non_null(p);
		size_t n = strlen(p) + 1;
		buf = malloc(n);
		assert_non_null(buf);
		memcpy(buf, p, n);
		H5free_memory(p);
	} else {
		size_t n = H5Tget_size(ft);
		H5Tset_size(mt, n + 1);
		buf = calloc(1, n + 1);
		assert_non_null(buf);
		assert_true(H5Aread(a, mt, buf) >= 0);
	}
	H5Tclose(mt);
	H5Tclose(ft);
	H5Aclose(a);
	return buf;
}

/* A 1-D attribute of strings as n malloc'd C strings (free with free_strs). */
static char **read_str_array_attr(hid_t obj, const char *name, size_t *n)
{
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	assert_true(a >= 0);
	hid_t ft = H5Aget_type(a);
	assert_int_equal(H5Tget_class(ft), H5T_STRING);
	assert_true(H5Tis_variable_str(ft) > 0);
	assert_int_equal(H5Tget_cset(ft), H5T_CSET_UTF8);
	hid_t sp = H5Aget_space(a);
	assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
	hsize_t dims[1];
	H5Sget_simple_extent_dims(sp, dims, NULL);
	*n = (size_t)dims[0];
	hid_t mt = H5Tcopy(H5T_C_S1);
	H5Tset_size(mt, H5T_VARIABLE);
	H5Tset_cset(mt, H5T_CSET_UTF8);
	char **p = calloc(*n + 1, sizeof *p);
	char **out = calloc(*n + 1, sizeof *out);
	assert_true(p && out);
	if (*n > 0) {
		assert_true(H5Aread(a, mt, p) >= 0);
		for (size_t i = 0; i < *n; i++) {
			assert_non_null(p[i]);
			size_t len = strlen(p[i]) + 1;
			out[i] = malloc(len);
			assert_non_null(out[i]);
			memcpy(out[i], p[i], len);
		}
		assert_true(H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, p) >= 0);
	}
	free(p);
	H5Tclose(mt);
	H5Sclose(sp);
	H5Tclose(ft);
	H5Aclose(a);
	return out;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void read_num_attr(hid_t obj, const char *name, hid_t mtype, void *out)
{
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	assert_true(a >= 0);
	assert_true(H5Aread(a, mtype, out) >= 0);
	H5Aclose(a);
}

/* Read a whole double dataset; dims[] gets its shape, rank is checked. */
static double *read_doubles(hid_t f, const char *name, int rank, hsize_t *dims)
{
	hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
	assert_true(d >= 0);
	hid_t sp = H5Dget_space(d);
	assert_int_equal(H5Sget_simple_extent_ndims(sp), rank);
	H5Sget_simple_extent_dims(sp, dims, NULL);
	size_t n = (size_t)H5Sget_simple_extent_npoints(sp);
	double *v = malloc((n ? n : 1) * sizeof *v);
	assert_non_null(v);
	assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
	H5Sclose(sp);
	H5Dclose(d);
	return v;
}

static void assert_same(double want, double got)
{
	if (isnan(want))
		assert_true(isnan(got));
	else
		assert_true(want == got);
}

/* What the visitor saw of the file. */
typedef struct walk {
	int datasets;
	int with_time_stamps;
	char names[32][64];
} walk;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
	walk *w = data;
	if (info->ctime || info->mtime || info->atime || info->btime)
		w->with_time_stamps++;
	if (info->type != H5O_TYPE_DATASET)
		return 0;
	hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
	assert_true(d >= 0);
	char *u = read_str_attr(d, "units");
	char *desc = read_str_attr(d, "description");
	if (!u[0] || !desc[0])
		fail_msg("%s: empty units or description", name);
	free(u);
	free(desc);
	H5Dclose(d);
	if (w->datasets < 32)
		snprintf(w->names[w->datasets], sizeof w->names[0], "%s", name);
	w->datasets++;
	return 0;
}

static int saw(const walk *w, const char *name)
{
	for (int i = 0; i < w->datasets && i < 32; i++)
		if (strcmp(w->names[i], name) == 0)
			return 1;
	return 0;
}

/* Chunked, with shuffle then deflate level 4; chunk rows as given. */
static void assert_chunked(hid_t f, const char *name, int rank, hsize_t rows, hsize_t cols)
{
	hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
	assert_true(d >= 0);
	hid_t p = H5Dget_create_plist(d);
	assert_int_equal(H5Pget_layout(p), H5D_CHUNKED);
	hsize_t c[2] = { 0, 0 };
	assert_int_equal(H5Pget_chunk(p, 2, c), rank);
	assert_int_equal(c[0], rows);
	if (rank == 2)
		assert_int_equal(c[1], cols);
	assert_int_equal(H5Pget_nfilters(p), 2);
	unsigned flags, cd[4];
	size_t ncd = 4;
	assert_int_equal(H5Pget_filter2(p, 0, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_SHUFFLE);
	ncd = 4;
	assert_int_equal(H5Pget_filter2(p, 1, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
	assert_true(ncd >= 1);
	assert_int_equal(cd[0], 4);
	hid_t sp = H5Dget_space(d);
	hsize_t dims[2], maxd[2];
	H5Sget_simple_extent_dims(sp, dims, maxd);
	assert_true(maxd[0] == H5S_UNLIMITED);
	H5Sclose(sp);
	H5Pclose(p);
	H5Dclose(d);
}

static char *read_text(hid_t f, const char *name)
{
	hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
	assert_true(d >= 0);
	hid_t ft = H5Dget_type(d);
	assert_int_equal(H5Tget_class(ft), H5T_STRING);
	assert_int_equal(H5Tget_cset(ft), H5T_CSET_UTF8);
	size_t n = H5Tget_size(ft);
	hid_t mt = H5Tcopy(H5T_C_S1);
	H5Tset_size(mt, n + 1);
	H5Tset_cset(mt, H5T_CSET_UTF8);
	char *buf = calloc(1, n + 1);
	assert_non_null(buf);
	assert_true(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
	H5Tclose(mt);
	H5Tclose(ft);
	H5Dclose(d);
	return buf;
}

/* Our own view of an event row, deliberately in another order: HDF5 matches
 * compound members by name. */
typedef struct my_event {
	double value;
	double time;
	char detail[200];
	char units[20];
	char subject[70];
	char kind[40];
} my_event;

static hid_t my_event_type(void)
{
	hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(my_event));
	hid_t s[4];
	size_t sz[4] = { sizeof((my_event *)0)->detail, sizeof((my_event *)0)->units,
			 sizeof((my_event *)0)->subject, sizeof((my_event *)0)->kind };
	for (int i = 0; i < 4; i++) {
		s[i] = H5Tcopy(H5T_C_S1);
		H5Tset_size(s[i], sz[i]);
		H5Tset_cset(s[i], H5T_CSET_UTF8); /* the file's strings are UTF-8 */
	}
	H5Tinsert(t, "value", HOFFSET(my_event, value), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "time", HOFFSET(my_event, time), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "detail", HOFFSET(my_event, detail), s[0]);
	H5Tinsert(t, "units", HOFFSET(my_event, units), s[1]);
	H5Tinsert(t, "subject", HOFFSET(my_event, subject), s[2]);
	H5Tinsert(t, "kind", HOFFSET(my_event, kind), s[3]);
	for (int i = 0; i < 4; i++)
		H5Tclose(s[i]);
	return t;
}

/* Our own view of a request row: another order, wider integer types where
 * they are harmless (HDF5 converts), a char for slo_met. */
typedef struct my_request {
	double finish;
	unsigned char slo_met;
	uint64_t input_tokens;
	double arrival;
	int64_t replica;
	uint32_t output_tokens;
	uint64_t id;
	int32_t prefill_replica;
	double first_token;
	uint32_t cls;
	uint32_t cached_tokens;
	uint32_t preemptions;
} my_request;

static hid_t my_request_type(void)
{
	hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(my_request));
	H5Tinsert(t, "finish", HOFFSET(my_request, finish), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "slo_met", HOFFSET(my_request, slo_met), H5T_NATIVE_UCHAR);
	H5Tinsert(t, "input_tokens", HOFFSET(my_request, input_tokens), H5T_NATIVE_UINT64);
	H5Tinsert(t, "arrival", HOFFSET(my_request, arrival), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "replica", HOFFSET(my_request, replica), H5T_NATIVE_INT64);
	H5Tinsert(t, "output_tokens", HOFFSET(my_request, output_tokens), H5T_NATIVE_UINT32);
	H5Tinsert(t, "id", HOFFSET(my_request, id), H5T_NATIVE_UINT64);
	H5Tinsert(t, "prefill_replica", HOFFSET(my_request, prefill_replica), H5T_NATIVE_INT32);
	H5Tinsert(t, "first_token", HOFFSET(my_request, first_token), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "class", HOFFSET(my_request, cls), H5T_NATIVE_UINT32);
	H5Tinsert(t, "cached_tokens", HOFFSET(my_request, cached_tokens), H5T_NATIVE_UINT32);
	H5Tinsert(t, "preemptions", HOFFSET(my_request, preemptions), H5T_NATIVE_UINT32);
	return t;
}

/* Read all of /requests; *n gets the row count. */
static my_request *read_requests(hid_t f, size_t *n)
{
	hid_t d = H5Dopen2(f, "/requests", H5P_DEFAULT);
	assert_true(d >= 0);
	hid_t sp = H5Dget_space(d);
	assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
	hsize_t dims[1], maxd[1];
	H5Sget_simple_extent_dims(sp, dims, maxd);
	assert_true(maxd[0] == H5S_UNLIMITED);
	*n = (size_t)dims[0];
	my_request *v = calloc(*n ? *n : 1, sizeof *v);
	assert_non_null(v);
	hid_t t = my_request_type();
	assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
	H5Tclose(t);
	H5Sclose(sp);
	H5Dclose(d);
	return v;
}

static void assert_request(const my_request *got, const rec_request *want)
{
	assert_true(got->id == want->id);
	assert_int_equal(got->cls, want->cls);
	assert_true(got->replica == want->replica);
	assert_int_equal(got->prefill_replica, want->prefill_replica);
	assert_same(want->arrival_s, got->arrival);
	assert_same(want->first_token_s, got->first_token);
	assert_same(want->finish_s, got->finish);
	assert_true(got->input_tokens == want->input_tokens);
	assert_int_equal(got->output_tokens, want->output_tokens);
	assert_int_equal(got->cached_tokens, want->cached_tokens);
	assert_int_equal(got->preemptions, want->preemptions);
	assert_int_equal(got->slo_met, want->slo_met);
}

/* The file layout of /requests: the fields, packed, little-endian, with one
 * unit per field in field_units. */
static void check_requests_layout(hid_t f)
{
	static const struct { const char *name; H5T_class_t cls; size_t size; H5T_sign_t sign;
			      const char *units; } want[] = {
		{ "id", H5T_INTEGER, 8, H5T_SGN_NONE, "1" },
		{ "class", H5T_INTEGER, 4, H5T_SGN_NONE, "1" },
		{ "replica", H5T_INTEGER, 4, H5T_SGN_2, "1" },
		{ "prefill_replica", H5T_INTEGER, 4, H5T_SGN_2, "1" },
		{ "arrival", H5T_FLOAT, 8, H5T_SGN_ERROR, "s" },
		{ "first_token", H5T_FLOAT, 8, H5T_SGN_ERROR, "s" },
		{ "finish", H5T_FLOAT, 8, H5T_SGN_ERROR, "s" },
		{ "input_tokens", H5T_INTEGER, 4, H5T_SGN_NONE, "tokens" },
		{ "output_tokens", H5T_INTEGER, 4, H5T_SGN_NONE, "tokens" },
		{ "cached_tokens", H5T_INTEGER, 4, H5T_SGN_NONE, "tokens" },
		{ "preemptions", H5T_INTEGER, 4, H5T_SGN_NONE, "1" },
		{ "slo_met", H5T_INTEGER, 1, H5T_SGN_NONE, "1" },
	};
	const int nf = (int)(sizeof want / sizeof want[0]);
	hid_t d = H5Dopen2(f, "/requests", H5P_DEFAULT);
	assert_true(d >= 0);
	hid_t ft = H5Dget_type(d);
	assert_int_equal(H5Tget_class(ft), H5T_COMPOUND);
	assert_int_equal(H5Tget_nmembers(ft), nf);
	size_t off = 0;
	for (int i = 0; i < nf; i++) {
		char *name = H5Tget_member_name(ft, (unsigned)i);
		assert_string_equal(name, want[i].name);
		H5free_memory(name);
		assert_int_equal(H5Tget_member_offset(ft, (unsigned)i), off);
		hid_t mt = H5Tget_member_type(ft, (unsigned)i);
		assert_int_equal(H5Tget_class(mt), want[i].cls);
		assert_int_equal(H5Tget_size(mt), want[i].size);
		assert_int_equal(H5Tget_order(mt), H5T_ORDER_LE);
		if (want[i].cls == H5T_INTEGER)
			assert_int_equal(H5Tget_sign(mt), want[i].sign);
		H5Tclose(mt);
		off += want[i].size;
	}
	assert_int_equal(H5Tget_size(ft), off); /* packed: no padding in the file */
	H5Tclose(ft);
	size_t n;
	char **u = read_str_array_attr(d, "field_units", &n);
	assert_int_equal(n, nf);
	for (int i = 0; i < nf; i++)
		assert_string_equal(u[i], want[i].units);
	free_strs(u, n);
	char **fd = read_str_array_attr(d, "field_descriptions", &n);
	assert_int_equal(n, nf);
	for (int i = 0; i < nf; i++)
		assert_true(fd[i][0] != '\0');
	free_strs(fd, n);
	char *s = read_str_attr(d, "units");
	assert_non_null(strstr(s, "s for arrival"));
	free(s);
	H5Dclose(d);
}

static void check_standard(const char *path)
{
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);

	/* root attributes */
	char *s = read_str_attr(f, "program");
	assert_string_equal(s, "factorysim");
	free(s);
	s = read_str_attr(f, "version");
	assert_string_equal(s, "0.1.0");
	free(s);
	s = read_str_attr(f, "git_revision");
	assert_string_equal(s, "abc123");
	free(s);
	s = read_str_attr(f, "scenario_name");
	assert_string_equal(s, "test");
	free(s);
	s = read_str_attr(f, "scenario_file");
	assert_string_equal(s, "scenarios/test.yaml");
	free(s);
	uint64_t seed = 0;
	uint32_t rep = 0;
	int complete = 0;
	double tick = 0;
	read_num_attr(f, "seed", H5T_NATIVE_UINT64, &seed);
	read_num_attr(f, "replication", H5T_NATIVE_UINT32, &rep);
	read_num_attr(f, "complete", H5T_NATIVE_INT, &complete);
	read_num_attr(f, "tick_s", H5T_NATIVE_DOUBLE, &tick);
	assert_true(seed == UINT64_C(0xfedcba9876543210));
	assert_int_equal(rep, 3);
	assert_int_equal(complete, 1);
	assert_true(tick == 0.5);

	/* scenario texts, byte for byte */
	s = read_text(f, "/scenario/given");
	assert_string_equal(s, GIVEN);
	free(s);
	s = read_text(f, "/scenario/resolved");
	assert_string_equal(s, RESOLVED);
	free(s);

	/* every dataset has units and description; no object has time stamps */
	walk w;
	memset(&w, 0, sizeof w);
	assert_true(H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit, &w,
			      H5O_INFO_BASIC | H5O_INFO_TIME) >= 0);
	static const char *const expect[] = {
		"scenario/given", "scenario/resolved", "timeseries/time", "timeseries/site/it_power",
		"timeseries/site/sparse", "timeseries/racks/power", "timeseries/late/x",
		"summary/tokens_per_mw", "summary/energy/total", "events", "requests",
	};
	assert_int_equal(w.datasets, (int)(sizeof expect / sizeof expect[0]));
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
		if (!saw(&w, expect[i]))
			fail_msg("dataset %s missing", expect[i]);
	assert_int_equal(w.with_time_stamps, 0);

	/* series: shapes and exact values */
	hsize_t dims[2];
	double *t = read_doubles(f, "/timeseries/time", 1, dims);
	assert_int_equal(dims[0], NROWS);
	for (size_t i = 0; i < NROWS; i++)
		assert_true(t[i] == (double)i * 0.5);
	free(t);
	double *v = read_doubles(f, "/timeseries/site/it_power", 1, dims);
	assert_int_equal(dims[0], NROWS);
	for (size_t i = 0; i < NROWS; i++)
		assert_true(v[i] == (double)i * 1.5);
	free(v);
	v = read_doubles(f, "/timeseries/racks/power", 2, dims);
	assert_int_equal(dims[0], NROWS);
	assert_int_equal(dims[1], 3);
	for (size_t i = 0; i < NROWS; i++) {
		assert_true(v[3 * i] == (double)i);
		/* column 1 is set on even rows only and repeats on odd ones */
		assert_true(v[3 * i + 1] == (double)(i - i % 2) * 10.0);
		assert_true(v[3 * i + 2] == -(double)i);
	}
	free(v);
	v = read_doubles(f, "/timeseries/site/sparse", 1, dims);
	assert_int_equal(dims[0], NROWS);
	for (size_t i = 0; i < NROWS; i++)
		assert_same(want_sparse(i), v[i]);
	free(v);
	v = read_doubles(f, "/timeseries/late/x", 1, dims);
	assert_int_equal(dims[0], NROWS);
	for (size_t i = 0; i < NROWS; i++)
		assert_same(i < LATE_ROW ? NAN : (double)i + 0.25, v[i]);
	free(v);

	/* series units */
	hid_t d = H5Dopen2(f, "/timeseries/time", H5P_DEFAULT);
	s = read_str_attr(d, "units");
	assert_string_equal(s, "s");
	free(s);
	H5Dclose(d);
	d = H5Dopen2(f, "/timeseries/racks/power", H5P_DEFAULT);
	s = read_str_attr(d, "units");
	assert_string_equal(s, "W");
	free(s);
	H5Dclose(d);

	/* storage */
	assert_chunked(f, "/timeseries/time", 1, 1024, 0);
	assert_chunked(f, "/timeseries/site/it_power", 1, 1024, 0);
	assert_chunked(f, "/timeseries/late/x", 1, 1024, 0);
	assert_chunked(f, "/timeseries/racks/power", 2, 1024, 3);
	assert_chunked(f, "/events", 1, 1024, 0);

	/* summaries */
	v = read_doubles(f, "/summary/tokens_per_mw", 0, dims);
	assert_true(v[0] == 12345.5);
	free(v);
	v = read_doubles(f, "/summary/energy/total", 0, dims);
	assert_true(v[0] == 3.6e9);
	free(v);
	d = H5Dopen2(f, "/summary/energy/total", H5P_DEFAULT);
	s = read_str_attr(d, "units");
	assert_string_equal(s, "J");
	free(s);
	H5Dclose(d);

	/* events */
	d = H5Dopen2(f, "/events", H5P_DEFAULT);
	assert_true(d >= 0);
	hid_t sp = H5Dget_space(d);
	H5Sget_simple_extent_dims(sp, dims, NULL);
	assert_int_equal(dims[0], 3);
	my_event ev[3];
	hid_t et = my_event_type();
	assert_true(H5Dread(d, et, H5S_ALL, H5S_ALL, H5P_DEFAULT, ev) >= 0);
	H5Tclose(et);
	H5Sclose(sp);
	H5Dclose(d);
	assert_true(ev[0].time == 12.0 && ev[0].value == 0.7);
	assert_string_equal(ev[0].kind, "grid_event");
	assert_string_equal(ev[0].subject, "site");
	assert_string_equal(ev[0].units, "1");
	assert_string_equal(ev[0].detail, "budget to 70 %");
	assert_true(ev[1].time == 30.5 && ev[1].value == 1.2e6);
	assert_string_equal(ev[1].kind, "trip");
	char want[400];
	long_detail(want, sizeof want);
	want[158] = '\0'; /* cut before the character that would not fit whole */
	assert_string_equal(ev[1].detail, want);
	assert_true(ev[2].time == 31.0 && isnan(ev[2].value));
	assert_string_equal(ev[2].kind, "throttle");
	assert_string_equal(ev[2].subject, "");
	assert_string_equal(ev[2].units, "");
	assert_string_equal(ev[2].detail, "");

	/* requests: every field of every row, NaN included, and the class names */
	assert_chunked(f, "/requests", 1, 1024, 0);
	check_requests_layout(f);
	size_t nrq;
	my_request *rq = read_requests(f, &nrq);
	assert_int_equal(nrq, NREQ);
	for (size_t i = 0; i < NREQ; i++) {
		rec_request q = want_request(i);
		assert_request(&rq[i], &q);
	}
	assert_true(isnan(rq[0].first_token) && isnan(rq[2999].finish) && !isnan(rq[1].first_token));
	assert_true(rq[1024].id == UINT64_C(5000000000) + 7 * 1024);
	assert_true(rq[0].replica == -1 && rq[2999].output_tokens == 4000000000u - 2999);
	free(rq);
	d = H5Dopen2(f, "/requests", H5P_DEFAULT);
	size_t ncl;
	char **cl = read_str_array_attr(d, "classes", &ncl);
	assert_int_equal(ncl, NCLASSES);
	for (size_t i = 0; i < NCLASSES; i++)
		assert_string_equal(cl[i], CLASSES[i]);
	free_strs(cl, ncl);
	H5Dclose(d);

	H5Fclose(f);
	assert_no_open_ids();
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Whole file in memory (test files are small). */
static unsigned char *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_true(len >= 0);
	unsigned char *b = malloc((size_t)len + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return b;
}

/* --- tests -------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "run.h5");
	/* an older file under the final name is replaced only by close */
	FILE *old = fopen(path, "w");
	assert_non_null(old);
	fputs("old run\n", old);
	fclose(old);

	write_standard(path);
	assert_no_open_ids();
	assert_true(exists(path));
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	assert_false(exists(tmp));
	assert_true(H5Fis_hdf5(path) > 0);
	check_standard(path);

	const char *keep = getenv("FS_RECORDER_KEEP");
	if (keep && keep[0])
		copy_file(path, keep);
}

static void test_tmp_then_rename(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "tmpcheck.h5");
	recorder_meta m = test_meta();
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, NULL, &r, &err), FS_OK);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", recorder_tmp_path(r));
	assert_non_null(strstr(tmp, ".tmp."));
	assert_true(exists(tmp));
	assert_false(exists(path));
	assert_int_equal(rec_commit(recorder_sink(r), 0.0, &err), FS_OK);
	assert_int_equal(recorder_close(r, &err), FS_OK);
	assert_false(exists(tmp));
	assert_true(exists(path));
	assert_no_open_ids();
}

static void test_abort_keeps_existing_file(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "precious.h5");
	static const char sentinel[] = "an earlier result, not to be touched\n";
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fwrite(sentinel, 1, sizeof sentinel - 1, fp);
	fclose(fp);

	recorder_meta m = test_meta();
	recorder_opts o = { 1, 16 };
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);
	int id = rec_declare(s, "a", "W", "something", 2, &err);
	assert_true(id >= 0);
	for (int i = 0; i < 100; i++) { /* several chunks reach the temporary file */
		rec_set(s, id, 1, i);
		assert_int_equal(rec_commit(s, i, &err), FS_OK);
	}
	assert_int_equal(rec_event(s, 1.0, "k", "s", 1.0, "W", "d", &err), FS_OK);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", recorder_tmp_path(r));
	assert_true(exists(tmp));
	recorder_abort(r);
	recorder_abort(NULL);
	assert_false(exists(tmp));
	size_t n;
	unsigned char *b = slurp(path, &n);
	assert_int_equal(n, sizeof sentinel - 1);
	assert_memory_equal(b, sentinel, n);
	free(b);
	assert_no_open_ids();
}

/* An interrupted run's file: flushed, renamed into place, complete = 0,
 * partial = 1, stopped_at_s; every committed row is there.  A complete file
 * has partial = 0. */
static void test_close_partial(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "partial.h5");
	recorder_meta m = test_meta();
	recorder_opts o = { 1, 16 };
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);
	int id = rec_declare(s, "a", "W", "something", 3, &err);
	assert_true(id >= 0);
	for (int i = 0; i < 37; i++) { /* two chunks written, five rows buffered */
		rec_set(s, id, 2, i);
		assert_int_equal(rec_commit(s, i, &err), FS_OK);
	}
	assert_int_equal(rec_summary(s, "so_far", 1.5, "1", "a summary so far", &err), FS_OK);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", recorder_tmp_path(r));
	assert_int_equal(recorder_close_partial(r, 36.5, &err), FS_OK);
	assert_false(exists(tmp));
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);
	int complete = -1, partial = -1;
	double stopped = 0;
	read_num_attr(f, "complete", H5T_NATIVE_INT, &complete);
	read_num_attr(f, "partial", H5T_NATIVE_INT, &partial);
	read_num_attr(f, "stopped_at_s", H5T_NATIVE_DOUBLE, &stopped);
	assert_int_equal(complete, 0);
	assert_int_equal(partial, 1);
	assert_true(stopped == 36.5);
	hsize_t dims[2] = { 0, 0 };
	double *v = read_doubles(f, "/timeseries/a", 2, dims);
	assert_int_equal((int)dims[0], 37);
	assert_true(v[36 * 3 + 2] == 36);
	free(v);
	H5Fclose(f);

	/* a complete file says partial = 0 */
	path_in(path, sizeof path, "whole.h5");
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	assert_int_equal(rec_commit(recorder_sink(r), 0.0, &err), FS_OK);
	assert_int_equal(recorder_close(r, &err), FS_OK);
	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);
	read_num_attr(f, "complete", H5T_NATIVE_INT, &complete);
	read_num_attr(f, "partial", H5T_NATIVE_INT, &partial);
	assert_int_equal(complete, 1);
	assert_int_equal(partial, 0);
	assert_false(H5Aexists(f, "stopped_at_s") > 0);
	H5Fclose(f);
	assert_no_open_ids();
}

/* A stray PATH.tmp.PID of a process that is gone (kill -9) is removed when
 * PATH is opened again; a live process's is not, nor other names. */
static void test_stale_tmp_removed(void **state)
{
	(void)state;
	char path[256], dead[320], live[320], other[320];
	path_in(path, sizeof path, "stale.h5");
	/* a pid that is not running: a child that has exited and been reaped */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(dead, sizeof dead, "%s.tmp.%ld", path, (long)pid);
	snprintf(live, sizeof live, "%s.tmp.%ld", path, (long)getppid());
	snprintf(other, sizeof other, "%s.tmp.12x", path);
	const char *files[] = { dead, live, other };
	for (int i = 0; i < 3; i++) {
		FILE *fp = fopen(files[i], "wb");
		assert_non_null(fp);
		fclose(fp);
	}
	recorder_meta m = test_meta();
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, NULL, &r, &err), FS_OK);
	assert_false(exists(dead));
	assert_true(exists(live));
	assert_true(exists(other));
	recorder_abort(r);
	unlink(live);
	unlink(other);
	assert_no_open_ids();
}

/* Compare one double dataset of two files bit for bit (NaN included). */
static void same_dataset(hid_t a, hid_t b, const char *name, int rank)
{
	hsize_t da[2] = { 0, 0 }, db[2] = { 0, 0 };
	double *va = read_doubles(a, name, rank, da);
	double *vb = read_doubles(b, name, rank, db);
	assert_memory_equal(da, db, sizeof da);
	size_t n = rank == 0 ? 1 : rank == 1 ? (size_t)da[0] : (size_t)(da[0] * da[1]);
	assert_memory_equal(va, vb, n * sizeof *va);
	free(va);
	free(vb);
}

static void test_identical_runs(void **state)
{
	(void)state;
	char pa[256], pb[256];
	path_in(pa, sizeof pa, "a.h5");
	path_in(pb, sizeof pb, "b.h5");
	write_standard(pa);
	write_standard(pb);
	hid_t a = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT);
	hid_t b = H5Fopen(pb, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(a >= 0 && b >= 0);
	same_dataset(a, b, "/timeseries/time", 1);
	same_dataset(a, b, "/timeseries/site/it_power", 1);
	same_dataset(a, b, "/timeseries/site/sparse", 1);
	same_dataset(a, b, "/timeseries/late/x", 1);
	same_dataset(a, b, "/timeseries/racks/power", 2);
	same_dataset(a, b, "/summary/tokens_per_mw", 0);
	same_dataset(a, b, "/summary/energy/total", 0);
	H5Fclose(a);
	H5Fclose(b);
	/* with time stamps off and strings zero-padded, the files are the same
	 * bytes, which is stronger than h5diff's verdict */
	size_t na, nb;
	unsigned char *ba = slurp(pa, &na), *bb = slurp(pb, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(ba, bb, na);
	free(ba);
	free(bb);
	assert_no_open_ids();
}

static void test_no_series_and_defaults(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "bare.h5");
	recorder_meta m = { 0 }; /* every string NULL */
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, NULL, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rec_commit(s, i, &err), FS_OK);
	assert_int_equal(recorder_close(r, &err), FS_OK);
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);
	hsize_t dims[2];
	double *t = read_doubles(f, "/timeseries/time", 1, dims);
	assert_int_equal(dims[0], 3);
	assert_true(t[2] == 2.0);
	free(t);
	char *txt = read_text(f, "/scenario/given");
	assert_string_equal(txt, "");
	free(txt);
	hid_t d = H5Dopen2(f, "/events", H5P_DEFAULT);
	hid_t sp = H5Dget_space(d);
	H5Sget_simple_extent_dims(sp, dims, NULL);
	assert_int_equal(dims[0], 0);
	H5Sclose(sp);
	H5Dclose(d);
	/* no request rows and no classes: an empty table with the same layout */
	size_t nrq, ncl;
	my_request *rq = read_requests(f, &nrq);
	assert_int_equal(nrq, 0);
	free(rq);
	check_requests_layout(f);
	d = H5Dopen2(f, "/requests", H5P_DEFAULT);
	char **cl = read_str_array_attr(d, "classes", &ncl);
	assert_int_equal(ncl, 0);
	free_strs(cl, ncl);
	H5Dclose(d);
	/* default chunking: 1024 rows, deflate 4 */
	assert_chunked(f, "/timeseries/time", 1, 1024, 0);
	assert_chunked(f, "/requests", 1, 1024, 0);
	H5Fclose(f);
	assert_no_open_ids();
	assert_null(recorder_sink(NULL));
	assert_int_equal(recorder_close(NULL, &err), FS_OK);
}

static void expect_declare_error(rec_sink *s, const char *path, const char *units,
				 const char *desc, size_t width, const char *words)
{
	fs_error err;
	fs_error_clear(&err);
	int id = rec_declare(s, path, units, desc, width, &err);
	assert_true(id < 0);
	assert_int_equal(-id, err.code);
	if (!strstr(err.message, words))
		fail_msg("declare '%.40s': message '%s' lacks '%s'", path ? path : "(null)",
			 err.message, words);
}

static void test_misuse(void **state)
{
	(void)state;
	char path[256], long_path[2100], long_text[10000];
	path_in(path, sizeof path, "misuse.h5");
	recorder_meta m = test_meta();
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, NULL, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);

	memset(long_path, 'p', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	expect_declare_error(s, "x", "W", "d", 0, "width");
	expect_declare_error(s, NULL, "W", "d", 1, "empty");
	expect_declare_error(s, "", "W", "d", 1, "empty");
	expect_declare_error(s, "/abs", "W", "d", 1, "relative");
	expect_declare_error(s, "a//b", "W", "d", 1, "empty component");
	expect_declare_error(s, "a/", "W", "d", 1, "empty component");
	expect_declare_error(s, "../x", "W", "d", 1, "'..'");
	expect_declare_error(s, long_path, "W", "d", 1, "longer");
	expect_declare_error(s, "x", NULL, "d", 1, "units");
	expect_declare_error(s, "x", "", "d", 1, "units");
	expect_declare_error(s, "x", "W", "", 1, "description");
	expect_declare_error(s, "time", "s", "d", 1, "reserved");
	int ab = rec_declare(s, "a/b", "W", "d", 1, &err);
	assert_true(ab >= 0);
	expect_declare_error(s, "a/b", "W", "d", 1, "clashes");
	expect_declare_error(s, "a", "W", "d", 1, "clashes");
	expect_declare_error(s, "a/b/c", "W", "d", 1, "clashes");
	/* very long attribute text and a sibling in the same group are fine */
	memset(long_text, 'u', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	int ac = rec_declare(s, "a/c", long_text, long_text, 2, &err);
	assert_true(ac >= 0);

	/* bad set() calls are reported by the next commit, then forgotten */
	rec_set(s, 99, 0, 1.0);
	rec_set(s, ac, 2, 1.0);
	fs_error_clear(&err);
	assert_int_equal(rec_commit(s, 0.0, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "unknown series id 99"));
	rec_set(s, ac, 2, 1.0);
	assert_int_equal(rec_commit(s, 0.0, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "column 2"));
	assert_int_equal(rec_commit(s, 1.0, &err), FS_OK);
	assert_int_equal(rec_commit(s, 0.5, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "non-decreasing"));
	assert_int_equal(rec_commit(s, NAN, &err), FS_ERR_INTERNAL);
	assert_int_equal(rec_commit(s, 1.0, &err), FS_OK); /* equal times are fine */

	assert_int_equal(rec_summary(s, "x", 1.0, "W", "d", &err), FS_OK);
	assert_int_equal(rec_summary(s, "x", 2.0, "W", "d", &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "clashes"));
	assert_int_equal(rec_summary(s, NULL, 2.0, "W", "d", &err), FS_ERR_INTERNAL);
	assert_int_equal(rec_summary(s, "y", 2.0, "", "d", &err), FS_ERR_INTERNAL);
	assert_int_equal(rec_event(s, 2.0, long_text, long_text, 1.0, long_text, long_text, &err),
			 FS_OK);
	assert_int_equal(rec_event(s, NAN, "k", "s", 1.0, "W", "d", &err), FS_ERR_INTERNAL);
	assert_int_equal(recorder_close(r, &err), FS_OK);

	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);
	hsize_t dims[2];
	double *v = read_doubles(f, "/timeseries/a/c", 2, dims);
	assert_int_equal(dims[0], 2);
	assert_int_equal(dims[1], 2);
	free(v);
	hid_t d = H5Dopen2(f, "/timeseries/a/c", H5P_DEFAULT);
	char *u = read_str_attr(d, "units");
	assert_int_equal(strlen(u), 4095);
	free(u);
	H5Dclose(d);
	H5Fclose(f);
	assert_no_open_ids();
}

static void test_open_and_close_failures(void **state)
{
	(void)state;
	recorder_meta m = test_meta();
	recorder *r = (recorder *)&m; /* must be reset to NULL on failure */
	fs_error err;
	char path[256];
	path_in(path, sizeof path, "no/such/dir/x.h5");
	assert_int_equal(recorder_open(path, &m, NULL, &r, &err), FS_ERR_IO);
	assert_null(r);
	assert_non_null(strstr(err.message, path));
	recorder_opts bad = { 12, 0 };
	path_in(path, sizeof path, "x.h5");
	assert_int_equal(recorder_open(path, &m, &bad, &r, &err), FS_ERR_USAGE);
	assert_int_equal(recorder_open("", &m, NULL, &r, &err), FS_ERR_USAGE);
	assert_int_equal(recorder_open(path, NULL, NULL, &r, &err), FS_ERR_INTERNAL);
	assert_false(exists(path));

	/* close cannot rename onto a directory: error, and no temporary left */
	path_in(path, sizeof path, "a_directory");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(recorder_open(path, &m, NULL, &r, &err), FS_OK);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", recorder_tmp_path(r));
	assert_int_equal(rec_commit(recorder_sink(r), 0.0, &err), FS_OK);
	assert_int_equal(recorder_close(r, &err), FS_ERR_IO);
	assert_non_null(strstr(err.message, "rename"));
	assert_false(exists(tmp));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_no_open_ids();
}

/* /requests with tiny chunks, classes named after the first rows, and the
 * calls that are refused (they leave the recorder usable). */
static void test_requests_misuse(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "requests.h5");
	recorder_meta m = test_meta();
	recorder_opts o = { 9, 4 };
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);
	rec_request q = want_request(0);
	q.cls = 7; /* no classes named yet: any index is taken */
	assert_int_equal(rec_request_row(s, &q, &err), FS_OK);
	for (size_t i = 1; i < 10; i++) {
		rec_request w = want_request(i);
		assert_int_equal(rec_request_row(s, &w, &err), FS_OK);
	}
	const char *bad[] = { "a", NULL };
	fs_error_clear(&err);
	assert_int_equal(rec_classes(s, bad, 2, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "class 1 has no name"));
	bad[1] = "";
	assert_int_equal(rec_classes(s, bad, 2, &err), FS_ERR_INTERNAL);
	assert_int_equal(rec_classes(s, NULL, 2, &err), FS_ERR_INTERNAL);
	assert_int_equal(rec_classes(s, CLASSES, 1025, &err), FS_ERR_INTERNAL); /* n checked first */
	assert_non_null(strstr(err.message, "at most 1024"));
	assert_int_equal(rec_classes(s, CLASSES, NCLASSES, &err), FS_OK);
	assert_int_equal(rec_classes(s, CLASSES, NCLASSES, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "twice"));
	q = want_request(10);
	q.cls = NCLASSES; /* now out of range: refused */
	assert_int_equal(rec_request_row(s, &q, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "class 3"));
	q = want_request(10);
	q.arrival_s = NAN;
	assert_int_equal(rec_request_row(s, &q, &err), FS_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "arrival"));
	assert_int_equal(rec_request_row(s, NULL, &err), FS_ERR_INTERNAL);
	for (size_t i = 10; i < 13; i++) {
		rec_request w = want_request(i);
		assert_int_equal(rec_request_row(s, &w, &err), FS_OK);
	}
	/* the null sink and a NULL sink take rows too */
	assert_int_equal(rec_request_row(rec_null(), &q, &err), FS_OK);
	assert_int_equal(rec_classes(rec_null(), CLASSES, NCLASSES, &err), FS_OK);
	assert_int_equal(rec_request_row(NULL, &q, &err), FS_OK);
	assert_int_equal(recorder_close(r, &err), FS_OK);

	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(f >= 0);
	size_t n;
	my_request *rq = read_requests(f, &n);
	assert_int_equal(n, 13);
	for (size_t i = 0; i < n; i++) {
		rec_request w = want_request(i);
		if (i == 0)
			w.cls = 7;
		assert_request(&rq[i], &w);
	}
	free(rq);
	hid_t d = H5Dopen2(f, "/requests", H5P_DEFAULT);
	hid_t p = H5Dget_create_plist(d);
	hsize_t c[1];
	assert_int_equal(H5Pget_chunk(p, 1, c), 1);
	assert_int_equal(c[0], 4);
	H5Pclose(p);
	char **cl = read_str_array_attr(d, "classes", &n);
	assert_int_equal(n, NCLASSES);
	assert_string_equal(cl[2], CLASSES[2]);
	free_strs(cl, n);
	H5Dclose(d);
	H5Fclose(f);
	assert_no_open_ids();
}

/* A failed /requests write is sticky like any other and names the table. */
static void test_requests_failure_is_sticky(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "broken_rq.h5");
	recorder_meta m = test_meta();
	recorder_opts o = { 4, 4 };
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", recorder_tmp_path(r));
	hid_t ids[16];
	ssize_t n = H5Fget_obj_ids((hid_t)H5F_OBJ_ALL, H5F_OBJ_DATASET, 16, ids);
	assert_true(n >= 3);
	for (ssize_t i = 0; i < n; i++)
		H5Dclose(ids[i]);
	rec_request q = want_request(0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rec_request_row(s, &q, &err), FS_OK); /* still buffered */
	fs_error_clear(&err);
	assert_int_equal(rec_request_row(s, &q, &err), FS_ERR_HDF5);
	assert_non_null(strstr(err.message, "/requests"));
	assert_non_null(strstr(err.message, path));
	assert_int_equal(rec_request_row(s, &q, &err), FS_ERR_HDF5);
	assert_non_null(strstr(err.message, "earlier error"));
	assert_int_equal(rec_classes(s, CLASSES, NCLASSES, &err), FS_ERR_HDF5);
	assert_int_equal(recorder_close(r, &err), FS_ERR_HDF5);
	assert_non_null(strstr(err.message, "/requests"));
	assert_false(exists(tmp));
	assert_false(exists(path));
	assert_no_open_ids();
}

/* Pull the datasets out from under the recorder (closing its ids behind its
 * back) to see a library failure turn into a sticky error that names the file
 * and dataset, and close() refuse to publish the file. */
static void test_hdf5_failure_is_sticky(void **state)
{
	(void)state;
	char path[256];
	path_in(path, sizeof path, "broken.h5");
	recorder_meta m = test_meta();
	recorder_opts o = { 4, 4 };
	recorder *r = NULL;
	fs_error err;
	assert_int_equal(recorder_open(path, &m, &o, &r, &err), FS_OK);
	rec_sink *s = recorder_sink(r);
	assert_true(rec_declare(s, "site/p", "W", "d", 1, &err) >= 0);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", recorder_tmp_path(r));

	hid_t ids[16];
	ssize_t n = H5Fget_obj_ids((hid_t)H5F_OBJ_ALL, H5F_OBJ_DATASET, 16, ids);
	assert_true(n >= 2);
	for (ssize_t i = 0; i < n; i++)
		H5Dclose(ids[i]);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rec_commit(s, i, &err), FS_OK); /* still buffered */
	fs_error_clear(&err);
	assert_int_equal(rec_commit(s, 3, &err), FS_ERR_HDF5);
	assert_non_null(strstr(err.message, path));
	assert_non_null(strstr(err.message, "/timeseries/time"));
	assert_non_null(strstr(err.message, "HDF5:"));
	assert_int_equal(rec_commit(s, 4, &err), FS_ERR_HDF5);
	assert_non_null(strstr(err.message, "earlier error"));
	assert_true(rec_declare(s, "x", "W", "d", 1, &err) < 0);
	assert_int_equal(rec_summary(s, "x", 1, "W", "d", &err), FS_ERR_HDF5);
	assert_int_equal(recorder_close(r, &err), FS_ERR_HDF5);
	assert_non_null(strstr(err.message, "/timeseries/time"));
	assert_false(exists(tmp));
	assert_false(exists(path));
	assert_no_open_ids();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tmp_then_rename),
		cmocka_unit_test(test_abort_keeps_existing_file),
		cmocka_unit_test(test_identical_runs),
		cmocka_unit_test(test_no_series_and_defaults),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_open_and_close_failures),
		cmocka_unit_test(test_hdf5_failure_is_sticky),
		cmocka_unit_test(test_requests_misuse),
		cmocka_unit_test(test_requests_failure_is_sticky),
		cmocka_unit_test(test_close_partial),
		cmocka_unit_test(test_stale_tmp_removed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
