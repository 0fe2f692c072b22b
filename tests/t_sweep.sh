#!/bin/sh
# t_sweep.sh - sweeps: the plan, bad sweep files, identical /sweep tables for
# -j 1 and -j 2, for a 4-shard array run merged, and for 3 MPI ranks (when
# mpicc and mpirun are installed); resume after kill -9 and SIGTERM with no
# run done twice; and the examples/sweep MaxQ sweep with its finding.
set -u
BIN=${FS_BIN:-build/factorysim}
BUILD=${FS_BUILD:-build}
SMALL=tests/data/sweep-small.yaml
RESUME=tests/data/sweep-resume.yaml
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	if "$@"; then echo "ok    $d"; else echo "FAIL  $d"; fails=$((fails + 1)); fi
}
status() { "$@" >/dev/null 2>&1; echo $?; }
same_table() { # same_table A B: /sweep/table and /sweep/points identical
	h5diff -q "$1" "$2" /sweep/table && h5diff -q "$1" "$2" /sweep/points
}
count_runs() { ls "$1" 2>/dev/null | grep -c '^p[0-9]*_r[0-9]*\.h5$'; }

# --- the plan and bad input ---------------------------------------------------
check "--plan counts 12 runs" sh -c "'$BIN' sweep $SMALL --plan -o '$tmp/p.h5' | grep -q '^runs          12;'"
check "--plan runs nothing" [ ! -e "$tmp/p.h5" ] && [ ! -e "$tmp/p.h5.d" ]
bad() { # bad NAME EXPECTED-TEXT YAML: a bad sweep file is refused with a message
	printf '%s\n' "$3" > "$tmp/$1.yaml"
	out=$("$BIN" sweep "$tmp/$1.yaml" -o "$tmp/$1.h5" 2>&1); rc=$?
	if [ $rc -eq 2 ] && printf '%s' "$out" | grep -qF -- "$2" && [ ! -e "$tmp/$1.h5" ]; then
		echo "ok    bad sweep: $1"
	else
		echo "FAIL  bad sweep: $1 (exit $rc): $out"; fails=$((fails + 1))
	fi
}
base="base: $PWD/examples/quickstart/quickstart.yaml"
bad no-params "no-params.yaml:1:1: parameters:" "$base
metrics: [power/pue]"
bad bad-range ":3:83: parameters[0].range.step: expected step > 0" "$base
parameters:
  - { name: r, key: workload.0.arrival.rate, range: { from: 4 /s, to: 8 /s, step: 0 /s } }
metrics: [power/pue]"
bad mixed-units "from, to and step are in different units" "$base
parameters:
  - { name: r, key: duration, range: { from: 4 min, to: 8 s, step: 1 s } }
metrics: [power/pue]"
bad grid-interval "a grid design needs values or range" "$base
parameters:
  - { name: r, key: duration, min: 1 min, max: 2 min }
metrics: [power/pue]"
bad bad-value "sweep point 1 (r=fast)" "$base
parameters:
  - { name: r, key: serving.pools.0.router, values: [least_work, fast] }
metrics: [power/pue]"
bad bad-constraint ":5:5: constraints: unknown name 'nope'" "$base
parameters:
  - { name: r, key: duration, values: [1 min] }
constraints:
  - nope <= 3
metrics: [power/pue]"
bad tied-count "2 values, but 'a' has 3" "$base
parameters:
  - { name: a, key: duration, values: [1 min, 2 min, 3 min] }
  - { name: b, key: warmup, values: [1 s, 2 s], with: a }
metrics: [power/pue]"
printf '%s\n' "$base" "parameters:" "  - { name: r, key: duration, values: [1 min] }" \
	"metrics: [power/no_such_metric]" > "$tmp/badmetric.yaml"
out=$("$BIN" sweep "$tmp/badmetric.yaml" -o "$tmp/bm.h5" --quiet 2>&1)
check "an unknown metric stops the sweep after its first run" \
	sh -c "printf '%s' \"\$1\" | grep -q \"no summary value 'power/no_such_metric'\" && [ ! -e '$tmp/bm.h5' ]" _ "$out"
check "usage: --shard 4/4 -> 2" [ "$(status "$BIN" sweep $SMALL --shard 4/4)" = 2 ]
check "usage: merge without -o -> 2" [ "$(status "$BIN" merge "$tmp/x.h5")" = 2 ]
check "merge of a run file -> 2" sh -c "'$BIN' run examples/queueing/mm4.yaml --set duration=1min -o '$tmp/run.h5' --quiet; '$BIN' merge '$tmp/run.h5' -o '$tmp/mm.h5' 2>&1 | grep -q 'not a sweep file'"

# --- identity: threads, shards, ranks -------------------------------------------
check "sweep -j 1" "$BIN" sweep $SMALL -o "$tmp/j1.h5" -j 1 --quiet
check "sweep -j 2" "$BIN" sweep $SMALL -o "$tmp/j2.h5" -j 2 --quiet
check "identity: -j 1 and -j 2 give the same /sweep table" same_table "$tmp/j1.h5" "$tmp/j2.h5"
rows=$(h5dump -H -d /sweep/table "$tmp/j1.h5" | sed -n 's/.*SIMPLE { ( \([0-9]*\) ) \/ ( H5S_UNLIMITED.*/\1/p')
check "the table has 12 rows (6 points x 2 replications)" [ "$rows" = 12 ]
check "series kept: a run's series is in the sweep file" h5diff -q "$tmp/j1.h5" "$tmp/j2.h5" \
	/runs/p000003_r001/timeseries/site/it_power
for i in 0 1 2 3; do
	"$BIN" sweep $SMALL --shard $i/4 -o "$tmp/shard-$i.h5" --quiet || fails=$((fails + 1))
done
check "shards have 3 rows each" sh -c "h5dump -H -d /sweep/table '$tmp/shard-2.h5' | grep -q 'SIMPLE { ( 3 )'"
check "merge 4 shards" "$BIN" merge "$tmp"/shard-*.h5 -o "$tmp/merged.h5"
check "identity: 4 shards merged give the same table" same_table "$tmp/j1.h5" "$tmp/merged.h5"
check "merged file keeps every run's series" h5diff -q "$tmp/j1.h5" "$tmp/merged.h5" \
	/runs/p000005_r000/timeseries/serving/output_tokens_per_s
check "merge of 3 of 4 shards warns about missing rows" sh -c "'$BIN' merge '$tmp/shard-0.h5' '$tmp/shard-1.h5' '$tmp/shard-3.h5' -o '$tmp/part.h5' 2>&1 | grep -q '3 rows are missing'"
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 "$BIN" sweep $SMALL -o "$tmp/slurm1.h5" --quiet
check "Slurm array variables choose the shard" h5diff -q "$tmp/shard-1.h5" "$tmp/slurm1.h5" /sweep/table

MPIBIN="$BUILD/mpi/factorysim"
if command -v mpirun >/dev/null 2>&1 && [ -x "$MPIBIN" ]; then
	check "MPI: mpirun -n 3 sweep" mpirun --allow-run-as-root --oversubscribe -n 3 \
		"$MPIBIN" sweep $SMALL -o "$tmp/mpi.h5" --quiet
	check "identity: 3 MPI ranks give the same table" same_table "$tmp/j1.h5" "$tmp/mpi.h5"
else
	echo "SKIP  MPI test: mpirun or $MPIBIN missing (make test builds it when mpicc exists)"
fi

# --- resume --------------------------------------------------------------------------
R="$tmp/resume.h5"
wait_runs() { # wait_runs N: until N run files exist (at most 60 s)
	i=0
	while [ "$(count_runs "$R.d")" -lt "$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
}
"$BIN" sweep $RESUME -o "$R" -j 1 --quiet & pid=$!
wait_runs 3; kill -9 $pid; wait $pid 2>/dev/null
n1=$(count_runs "$R.d")
check "kill -9: no result file, some runs complete ($n1 of 12)" sh -c "[ ! -e '$R' ] && [ $n1 -ge 3 ] && [ $n1 -lt 12 ]"
"$BIN" sweep $RESUME -o "$R" -j 1 --quiet & pid=$!
wait_runs $((n1 + 2)); kill -TERM $pid; wait $pid; st=$?
n2=$(count_runs "$R.d")
check "SIGTERM: exit 1, no result file, more runs complete ($n2)" sh -c "[ $st -eq 1 ] && [ ! -e '$R' ] && [ $n2 -gt $n1 ] && [ $n2 -lt 12 ]"
check "no temporary run files are left after SIGTERM" sh -c "! ls '$R.d' | grep -q tmp"
out=$("$BIN" sweep $RESUME -o "$R" -j 2 2>&1)
check "resume completes: $(printf '%s' "$out" | tail -n 1)" sh -c "[ -e '$R' ] && printf '%s' \"\$1\" | grep -q '12 runs ($((12 - n2)) run now, $n2 already complete)'" _ "$out"
check "no run ran twice (runs.log has no duplicate)" sh -c "[ -z \"\$(sort '$R.d/runs.log' | uniq -d)\" ]"
"$BIN" sweep $RESUME -o "$tmp/fresh.h5" -j 2 --quiet
check "identity: the resumed sweep equals a fresh one" same_table "$R" "$tmp/fresh.h5"
check "a changed sweep refuses the old run directory" sh -c "sed 's/replications: 2/replications: 3/' $RESUME > '$tmp/changed.yaml'; sed -i 's|base: ../../|base: $PWD/|' '$tmp/changed.yaml'; '$BIN' sweep '$tmp/changed.yaml' -o '$R' 2>&1 | grep -q 'holds the runs of a different sweep'"

# --- the example: MaxQ cap x racks ----------------------------------------------------
E="$tmp/maxq.h5"
check "examples/sweep/maxq-sweep.yaml runs" "$BIN" sweep examples/sweep/maxq-sweep.yaml -o "$E" -j 2 --quiet
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
	check "MaxQ: the capped fleet (more racks) serves the most tokens per provisioned MW, with CIs" \
		"$PY" tests/check_sweep.py "$E"
else
	echo "SKIP  MaxQ check: no python3 with h5py"
fi

[ $fails -eq 0 ]
