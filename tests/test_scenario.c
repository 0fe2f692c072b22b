/*
 * test_scenario.c - the scenario loader end to end: defaults, the station
 * section, --set overrides, includes (merge order, cycles, missing files),
 * anchors, the resolved text loading back to the same struct, exact error
 * texts with locations, and hostile inputs that must fail cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "scenario.h"
#include "yamltree.h"

static const char *const minimal = "name: t1\nduration: 10 min\n";

static const char *const with_station = "name: st\n"
					"seed: 42\n"
					"duration: 2 h\n"
					"warmup: 10 min\n"
					"control_tick: 10 s\n"
					"station:\n"
					"  servers: 4\n"
					"  arrival:\n"
					"    rate: 3.2 /s\n"
					"  service:\n"
					"    mean: 1 s\n";

/* Load text; on failure put the formatted error in msg. */
static int load(const char *text, const char *const *sets, size_t nsets, scenario *sc, char *msg,
		size_t n)
{
	fs_error err;
	fs_error_clear(&err);
	int rc = scenario_load_string(text, "t.yaml", sets, nsets, sc, &err);
	fs_error_format(&err, msg, n);
	return rc;
}

/* Expect load to fail with exactly this formatted message. */
static void expect_fail(const char *text, const char *const *sets, size_t nsets, const char *want)
{
	scenario sc;
	char msg[1024];
	int rc = load(text, sets, nsets, &sc, msg, sizeof msg);
	if (rc == 0)
		fail_msg("loaded, expected: %s", want);
	assert_int_equal(rc, FS_ERR_INPUT);
	if (want && strcmp(msg, want) != 0)
		fail_msg("\n got  '%s'\n want '%s'", msg, want);
	assert_null(sc.text_given);
	assert_null(sc.text_resolved);
}

static void test_defaults(void **state)
{
	(void)state;
	scenario sc;
	char msg[1024];
	assert_int_equal(load(minimal, NULL, 0, &sc, msg, sizeof msg), 0);
	assert_string_equal(sc.name, "t1");
	assert_string_equal(sc.path, "t.yaml");
	assert_true(sc.seed == 1);
	assert_true(sc.replication == 0);
	assert_true(sc.duration_s == 600);
	assert_true(sc.warmup_s == 0);
	assert_true(sc.tick_s == 1);
	assert_string_equal(sc.output.file, "t1.h5");
	assert_true(sc.output.requests_fraction == 1);
	assert_int_equal(sc.output.compression, 4);
	assert_false(sc.has_station);
	assert_string_equal(sc.text_given, minimal);
	assert_non_null(strstr(sc.text_resolved, "seed: 1\n"));
	assert_non_null(strstr(sc.text_resolved, "duration: 600 s\n"));
	assert_non_null(strstr(sc.text_resolved, "requests: 100 %\n"));
	assert_null(strstr(sc.text_resolved, "station"));
	scenario_clear(&sc);
	scenario_clear(&sc); /* idempotent */
	scenario_clear(NULL);
}

static void test_station(void **state)
{
	(void)state;
	scenario sc;
	char msg[1024];
	assert_int_equal(load(with_station, NULL, 0, &sc, msg, sizeof msg), 0);
	assert_true(sc.has_station);
	assert_true(sc.seed == 42);
	assert_true(sc.duration_s == 7200 && sc.warmup_s == 600 && sc.tick_s == 10);
	assert_int_equal(sc.station.servers, 4);
	assert_true(sc.station.arrival_rate == 3.2);
	assert_int_equal(sc.station.arrival_kind, STATION_POISSON);
	assert_true(sc.station.service_mean_s == 1);
	assert_int_equal(sc.station.service_dist, STATION_EXPONENTIAL);
	assert_true(sc.station.queue_limit == 0);
	scenario_clear(&sc);

	const char *g = "name: g\nduration: 1 h\nstation:\n  servers: 2\n  queue_limit: 50\n"
			"  arrival: {rate: 120 req/min, process: gamma, cv: 0.5}\n"
			"  service: {mean: 800 ms, distribution: lognormal, cv: 2}\n";
	assert_int_equal(load(g, NULL, 0, &sc, msg, sizeof msg), 0);
	assert_int_equal(sc.station.arrival_kind, STATION_GAMMA);
	assert_true(sc.station.arrival_rate == 2);
	assert_true(sc.station.arrival_cv == 0.5);
	assert_int_equal(sc.station.service_dist, STATION_LOGNORMAL);
	assert_true(sc.station.service_mean_s == 0.8);
	assert_true(sc.station.service_cv == 2);
	assert_true(sc.station.queue_limit == 50);
	scenario_clear(&sc);
}

static void test_overrides(void **state)
{
	(void)state;
	scenario sc;
	char msg[1024];
	const char *sets[] = {"duration=30min",
			      "station.servers=8",
			      "seed=7",
			      "output={compression: 9}",
			      "station.arrival.process=gamma",
			      "station.arrival.cv=2"};
	assert_int_equal(load(with_station, sets, 6, &sc, msg, sizeof msg), 0);
	assert_true(sc.duration_s == 1800);
	assert_int_equal(sc.station.servers, 8);
	assert_true(sc.seed == 7);
	assert_int_equal(sc.output.compression, 9);
	assert_string_equal(sc.output.file, "st.h5");
	assert_int_equal(sc.station.arrival_kind, STATION_GAMMA);
	assert_true(sc.station.arrival_cv == 2);
	scenario_clear(&sc);

	/* a new section from nothing */
	const char *add[] = {"station.servers=1", "station.arrival.rate=1/s",
			     "station.service.mean=0.5 s"};
	assert_int_equal(load(minimal, add, 3, &sc, msg, sizeof msg), 0);
	assert_true(sc.has_station && sc.station.service_mean_s == 0.5);
	scenario_clear(&sc);

	const char *s1[] = {"station.servers=0"};
	expect_fail(with_station, s1, 1,
		    "--set: station.servers: value 0 is out of range; expected between 1 and "
		    "1000000");
	const char *s2[] = {"station.sevrers=3"};
	expect_fail(with_station, s2, 1,
		    "--set: station.sevrers: unknown key 'sevrers'; expected one of: servers, "
		    "arrival, service, queue_limit");
	const char *s3[] = {"duration.unit=s"};
	expect_fail(with_station, s3, 1,
		    "--set: duration.unit: cannot set a key inside 'duration', which is a "
		    "scalar; expected a mapping there");
	const char *s4[] = {"duration=ten"};
	expect_fail(with_station, s4, 1,
		    "--set: duration: 'ten' is not a number with a unit; expected a time such "
		    "as '10 min'");
	const char *s5[] = {"nonsense"};
	expect_fail(minimal, s5, 1, "--set: cannot read 'nonsense'; expected key.path=value");
	const char *s6[] = {"a..b=1"};
	expect_fail(minimal, s6, 1, "--set: a..b: empty key in 'a..b'; expected key.path=value");
	const char *s7[] = {"duration=[1"};
	expect_fail(minimal, s7, 1, NULL);
	const char *s8[] = {"seed=1.5"};
	expect_fail(minimal, s8, 1, "--set: seed: expected an integer such as '42', found '1.5'");
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load_file(const char *name, const char *const *sets, size_t nsets, scenario *sc,
		     char *msg, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	fs_error err;
	fs_error_clear(&err);
	int rc = scenario_load(path, sets, nsets, sc, &err);
	fs_error_format(&err, msg, n);
	return rc;
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/fs_test_scenario.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	char sub[128];
	snprintf(sub, sizeof sub, "%s/common", tmpdir);
	return mkdir(sub, 0700) == 0 ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_include(void **state)
{
	(void)state;
	write_file("common/base.yaml", "seed: 5\n"
				       "warmup: 1 min\n"
				       "output: {compression: 2, requests: 50 %}\n"
				       "station:\n"
				       "  include: station.yaml\n"
				       "  servers: 3\n");
	write_file("common/station.yaml", "servers: 9\n"
					  "arrival: {rate: 2 /s}\n"
					  "service: {mean: 1 s}\n");
	write_file("common/later.yaml", "warmup: 2 min\n");
	write_file("main.yaml", "include: [common/base.yaml, common/later.yaml]\n"
				"name: inc\n"
				"seed: 6\n"
				"duration: 1 h\n"
				"output:\n"
				"  compression: 7\n");
	scenario sc;
	char msg[1024];
	if (load_file("main.yaml", NULL, 0, &sc, msg, sizeof msg))
		fail_msg("%s", msg);
	assert_true(sc.seed == 6);                       /* including file wins */
	assert_true(sc.warmup_s == 120);                 /* later include wins */
	assert_int_equal(sc.output.compression, 7);      /* deep merge: own key */
	assert_true(sc.output.requests_fraction == 0.5); /* deep merge: default */
	assert_int_equal(sc.station.servers, 3);         /* nested include, own key wins */
	assert_true(sc.station.arrival_rate == 2);       /* relative to base.yaml */
	assert_non_null(strstr(sc.text_given, "# --- include: "));
	assert_non_null(strstr(sc.text_given, "servers: 9"));
	scenario_clear(&sc);

	/* --set applies after the merge */
	const char *sets[] = {"station.servers=11"};
	assert_int_equal(load_file("main.yaml", sets, 1, &sc, msg, sizeof msg), 0);
	assert_int_equal(sc.station.servers, 11);
	scenario_clear(&sc);

	/* cycle */
	write_file("a.yaml", "include: b.yaml\nname: a\nduration: 1 h\n");
	write_file("b.yaml", "include: a.yaml\n");
	assert_int_equal(load_file("a.yaml", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
	assert_non_null(strstr(msg, "include cycle: "));
	assert_non_null(strstr(msg, "b.yaml:1:10: include: "));
	write_file("self.yaml", "include: self.yaml\n");
	assert_int_equal(load_file("self.yaml", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
	assert_non_null(strstr(msg, "include cycle"));

	/* missing file, bad include value, non-mapping include */
	write_file("m.yaml", "name: m\nduration: 1 h\ninclude: nothere.yaml\n");
	assert_int_equal(load_file("m.yaml", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
	assert_non_null(strstr(msg, "m.yaml:3:10: include: cannot read '"));
	assert_non_null(strstr(msg, "nothere.yaml': No such file or directory"));
	write_file("n.yaml", "include: {a: 1}\n");
	assert_int_equal(load_file("n.yaml", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
	assert_non_null(strstr(msg, "n.yaml:1:10: include: expected a file name or a list of "
				    "file names, found a mapping"));
	write_file("l.yaml", "- 1\n");
	write_file("k.yaml", "include: l.yaml\n");
	assert_int_equal(load_file("k.yaml", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
	assert_non_null(strstr(msg, "l.yaml:1:1: an included file must hold a mapping"));

	/* a missing main file is bad input (exit status 2), like a bad one */
	assert_int_equal(load_file("absent.yaml", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
	/* a directory is not a scenario */
	assert_int_equal(load_file("common", NULL, 0, &sc, msg, sizeof msg), FS_ERR_INPUT);
}

static void assert_same(const scenario *a, const scenario *b)
{
	assert_string_equal(a->name, b->name);
	assert_true(a->seed == b->seed);
	assert_true(a->replication == b->replication);
	assert_true(a->duration_s == b->duration_s);
	assert_true(a->warmup_s == b->warmup_s);
	assert_true(a->tick_s == b->tick_s);
	assert_string_equal(a->output.file, b->output.file);
	assert_true(a->output.requests_fraction == b->output.requests_fraction);
	assert_int_equal(a->output.compression, b->output.compression);
	assert_int_equal(a->has_station, b->has_station);
	assert_memory_equal(&a->station, &b->station, sizeof a->station);
}

static void round_trip(const char *text)
{
	scenario a, b;
	char msg[1024];
	if (load(text, NULL, 0, &a, msg, sizeof msg))
		fail_msg("%s", msg);
	if (load(a.text_resolved, NULL, 0, &b, msg, sizeof msg))
		fail_msg("resolved text does not load: %s\n%s", msg, a.text_resolved);
	assert_same(&a, &b);
	assert_string_equal(a.text_resolved, b.text_resolved); /* a fixed point */
	scenario_clear(&a);
	scenario_clear(&b);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(minimal);
	round_trip(with_station);
	round_trip("name: r\nduration: 0.1 d\nwarmup: 0.3 s\n");
}

static void test_round_trip_values(void **state)
{
	(void)state;
	round_trip("name: \"123\"\nseed: 18446744073709551615\nreplication: 4294967295\n"
		   "duration: 1.1 h\nwarmup: 0.1 s\ncontrol_tick: 7 ms\n"
		   "output: {file: \"out dir/x: y.h5\", requests: 7 %, compression: 0}\n"
		   "station:\n  servers: 1000000\n  queue_limit: 3\n"
		   "  arrival: {rate: 0.3333 /s, process: gamma, cv: 0.1}\n"
		   "  service: {mean: 1e-7 s, distribution: deterministic}\n");
	round_trip("name: x\nduration: 10 yr\n");
}

static void test_errors(void **state)
{
	(void)state;
	expect_fail("name: t\n", NULL, 0,
		    "t.yaml:1:1: duration: missing required key 'duration'; expected a time "
		    "such as '10 min'");
	expect_fail("name: t\nduraton: 1 h\n", NULL, 0,
		    "t.yaml:2:1: duraton: unknown key 'duraton'; did you mean 'duration'?");
	expect_fail("name: t\nduration: 1 h\nfoo: 1\n", NULL, 0,
		    "t.yaml:3:1: foo: unknown key 'foo'; expected one of: name, seed, "
		    "replication, duration, warmup, control_tick, output, station, racks, serving, workload, catalog, site, power, cost, cooling, reliability");
	expect_fail("name: t\nduration: 50\n", NULL, 0,
		    "t.yaml:2:11: duration: missing unit in '50'; expected a time such as '10 "
		    "min'");
	expect_fail("name: t\nduration: 5 MW\n", NULL, 0,
		    "t.yaml:2:11: duration: wrong unit 'MW' (power); expected a time such as '10 "
		    "min'");
	expect_fail("name: t\nduration: -1 h\n", NULL, 0,
		    "t.yaml:2:11: duration: value -3600 s is out of range; expected > 0 s and "
		    "<= 315576000 s");
	expect_fail("name: t\nduration: {a: 1}\n", NULL, 0,
		    "t.yaml:2:11: duration: expected a time such as '10 min', found a mapping");
	expect_fail("name: t\nduration: 1 h\nseed: abc\n", NULL, 0,
		    "t.yaml:3:7: seed: expected an integer such as '42', found 'abc'");
	expect_fail("name: t\nduration: 1 h\nseed: -1\n", NULL, 0,
		    "t.yaml:3:7: seed: value -1 is out of range; expected >= 0");
	expect_fail("name: t\nduration: 1 h\nseed: 99999999999999999999\n", NULL, 0, NULL);
	expect_fail("name: t\nduration: 1 h\noutput: {requests: 150 %}\n", NULL, 0,
		    "t.yaml:3:20: output.requests: value 150 % is out of range; expected "
		    "between 0 and 100 %");
	expect_fail("name: t\nduration: 1 h\ncontrol_tick: 0 s\n", NULL, 0,
		    "t.yaml:3:15: control_tick: value 0 s is out of range; expected between "
		    "0.001 and 3600 s");
	expect_fail("name: t\nduration: 1 h\noutput: [a]\n", NULL, 0,
		    "t.yaml:3:9: output: expected a mapping, found a list");
	expect_fail("name: t\nduration: 1 h\nseed: 1\nseed: 2\n", NULL, 0,
		    "t.yaml:4:1: seed: duplicate key 'seed'; first given at line 3");
	expect_fail("name: t\nduration: 1 h\nstation:\n  servers: 1\n  arrival: {rate: 1 /s, "
		    "process: poison}\n",
		    NULL, 0,
		    "t.yaml:5:34: station.arrival.process: unknown choice 'poison'; expected one "
		    "of: poisson, gamma");
	expect_fail("name: t\nduration: 1 h\nstation:\n  servers: 1\n  arrival: {rate: 1 /s, "
		    "cv: 2}\n  service: {mean: 1 s}\n",
		    NULL, 0,
		    "t.yaml:5:29: station.arrival.cv: cv is used only with process gamma; "
		    "expected no cv for process poisson");
	expect_fail("name: t\nduration: 1 h\nstation:\n  servers: 1\n  arrival: {rate: 1 /s}\n",
		    NULL, 0,
		    "t.yaml:4:3: station.service: missing required key 'service'; expected a "
		    "mapping");
	expect_fail("name: a b\nduration: 1 h\n", NULL, 0,
		    "t.yaml:1:7: name: 'a b' is not a valid name; expected 1 to 127 characters "
		    "from A-Z a-z 0-9 _ . -");
	expect_fail("name: t\nduration: 1 h\n  bad: indent\n", NULL, 0, NULL);
	expect_fail("name: [t\nduration: 1 h\n", NULL, 0, NULL);
	expect_fail("", NULL, 0,
		    "t.yaml:1:1: expected a mapping of keys at the top level, found nothing "
		    "(null)");
	expect_fail("- a\n- b\n", NULL, 0,
		    "t.yaml:1:1: expected a mapping of keys at the top level, found a list");
	expect_fail("a: 1\n---\nb: 2\n", NULL, 0,
		    "t.yaml:2:1: a second YAML document; expected one document per file");
}

static void test_anchors(void **state)
{
	(void)state;
	scenario sc;
	char msg[1024];
	const char *t = "name: an\nduration: &d 1 h\nwarmup: *d\n";
	assert_int_equal(load(t, NULL, 0, &sc, msg, sizeof msg), 0);
	assert_true(sc.warmup_s == 3600);
	scenario_clear(&sc);
	expect_fail("name: an\nduration: *nope\n", NULL, 0,
		    "t.yaml:2:11: duration: unknown alias '*nope'; expected an anchor '&nope' "
		    "defined on an earlier, complete node");
	/* an alias of its own ancestor is refused, not looped on */
	expect_fail("a: &x {b: *x}\n", NULL, 0, NULL);
	/* the billion laughs stop at the node limit */
	char bomb[4096] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
	for (int i = 1; i < 10; i++) {
		char line[128];
		snprintf(line, sizeof line,
			 "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
			 "*a%d, *a%d, *a%d]\n",
			 i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
			 i - 1);
		strcat(bomb, line);
	}
	expect_fail(bomb, NULL, 0, NULL);
}

static void test_hostile(void **state)
{
	(void)state;
	/* deep nesting, flow and block */
	size_t n = 200000;
	char *deep = malloc(2 * n + 1);
	assert_non_null(deep);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	expect_fail(deep, NULL, 0, NULL);
	for (size_t i = 0; i < n; i++)
		deep[i] = "{a: "[i % 4];
	deep[n] = '\0';
	expect_fail(deep, NULL, 0, NULL);
	free(deep);
	char block[8192] = "";
	for (int i = 0; i < 70; i++) {
		char line[100];
		snprintf(line, sizeof line, "%*sk%d:\n", i, "", i);
		strcat(block, line);
	}
	expect_fail(block, NULL, 0, NULL);
	/* binary junk, huge numbers, odd scalars */
	const char junk[] = "\x01\x02\xff\xfe name: \x80\x81";
	expect_fail(junk, NULL, 0, NULL);
	expect_fail("\t\t\n", NULL, 0, NULL);
	expect_fail("name: t\nduration: 1e308 yr\n", NULL, 0, NULL);
	expect_fail("name: t\nduration: 1 h\nstation:\n  servers: 1e400\n", NULL, 0, NULL);
	expect_fail("name: t\nduration: 1 h\n? [a]\n: b\n", NULL, 0, NULL);
	expect_fail("name:\nduration: 1 h\n", NULL, 0,
		    "t.yaml:1:6: name: 'name' has no value; expected a string");
	/* an empty station is treated as absent (null) and loads */
	scenario sc;
	char msg[1024];
	assert_int_equal(load("name: t\nduration: 1 h\nstation:\n", NULL, 0, &sc, msg, sizeof msg),
			 0);
	assert_false(sc.has_station);
	scenario_clear(&sc);
	/* a NULL text is an empty document */
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(scenario_load_string(NULL, NULL, NULL, 0, &sc, &err), FS_ERR_INPUT);
}

/* The getters the schema does not use yet: bool, lists, items. */
static void test_cfg_getters(void **state)
{
	(void)state;
	ynode *root = NULL;
	fs_error err;
	fs_error_clear(&err);
	assert_int_equal(ynode_parse_fragment("on: true\nracks: [{p: 5 kW}, {p: 7 kW}]\n"
					      "temps: [20 C, 293.15 K]\nnames: [a, b]\n",
					      "f.yaml", -1, &root, &err),
			 0);
	cfg *c = cfg_new(root, &err);
	cfg_map *m = cfg_root(c);
	bool on = false, off = true;
	assert_int_equal(cfg_bool(m, "on", NULL, &on), 0);
	assert_int_equal(cfg_bool(m, "off", &(bool){false}, &off), 0);
	assert_true(on && !off);
	cfg_map *racks = cfg_list(m, "racks", true);
	assert_int_equal(cfg_len(racks), 2);
	double p[2] = {0, 0};
	for (size_t i = 0; i < cfg_len(racks); i++) {
		cfg_map *r = cfg_item_map(racks, i);
		assert_int_equal(cfg_quantity(r, "p", "W", NULL, CFG_GE(0), &p[i]), 0);
		assert_int_equal(cfg_close(r), 0);
	}
	assert_true(p[0] == 5000 && p[1] == 7000);
	cfg_map *temps = cfg_list(m, "temps", true);
	double t = 0;
	assert_int_equal(cfg_item_quantity(temps, 1, "degC", CFG_ANY, &t), 0);
	assert_true(t == 20);
	cfg_map *names = cfg_list(m, "names", true);
	char name[8];
	assert_int_equal(cfg_item_string(names, 1, name, sizeof name), 0);
	assert_string_equal(name, "b");
	cfg_map *none = cfg_list(m, "absent", false);
	assert_int_equal(cfg_len(none), 0);
	assert_int_equal(cfg_close(m), 0);
	char *text = NULL;
	assert_int_equal(cfg_resolved(c, &text), 0);
	assert_string_equal(text, "on: true\noff: false\nracks:\n- p: 5000 W\n- p: 7000 W\n"
				  "temps:\n- 20 degC\nnames:\n- b\n");
	free(text);
	/* an item of the wrong type, then everything is a no-op (sticky) */
	assert_int_equal(cfg_item_quantity(names, 0, "W", CFG_ANY, &t), FS_ERR_INPUT);
	char msg[512];
	fs_error_format(&err, msg, sizeof msg);
	assert_string_equal(msg, "f.yaml:4:9: names[0]: 'a' is not a number with a unit; "
				 "expected a power such as '50 MW'");
	assert_int_equal(cfg_bool(m, "on", NULL, &on), FS_ERR_INPUT);
	assert_int_equal(cfg_close(m), FS_ERR_INPUT);
	cfg_free(c);
	ynode_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_station),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test_setup_teardown(test_include, setup_dir, teardown_dir),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_round_trip_values),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_anchors),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_cfg_getters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
