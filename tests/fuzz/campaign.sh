#!/bin/sh
# campaign.sh TARGET SECONDS [BUILD] - a long fuzzing campaign of one target.
#
# Unlike `make fuzz` (a smoke run that stops at the first crash), this keeps a
# persistent corpus in BUILD/fuzz/campaign/TARGET/corpus (seeded from
# tests/fuzz/corpus/TARGET), restarts after a crash until SECONDS of wall time
# are spent (at most 5 crashing runs), and sums libFuzzer's final stats over
# the runs into BUILD/fuzz/campaign/TARGET/summary.  Crashing inputs land in
# BUILD/fuzz/campaign/TARGET/artifacts/.  Build the target first
# (`make build/fuzz/TARGET`); run it on one core, e.g. under `nice -n 10`.
# Afterwards, to fold new coverage into the committed seeds:
#   build/fuzz/TARGET -merge=1 tests/fuzz/corpus/TARGET BUILD/fuzz/campaign/TARGET/corpus
set -u
t=$1
total=$2
B=${3:-build}
bin=$B/fuzz/$t
d=$B/fuzz/campaign/$t
[ -x "$bin" ] || { echo "campaign: $bin not built (make $bin)"; exit 1; }
mkdir -p "$d/corpus" "$d/artifacts"
cp -n tests/fuzz/corpus/"$t"/* "$d/corpus/" 2>/dev/null
dict=
[ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
left=$total
execs=0
crashes=0
run=0
echo "$(date -u +%FT%TZ) $t start: $total s, $(clang --version | head -n 1)" >>"$d/summary"
while [ "$left" -gt 0 ] && [ "$crashes" -lt 5 ]; do
	run=$((run + 1))
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" $dict -max_total_time="$left" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$d/artifacts/" "$d/corpus" >"$d/run$run.log" 2>&1
	rc=$?
	end=$(date +%s)
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/run$run.log" | tail -n 1)
	execs=$((execs + ${n:-0}))
	left=$((left - (end - start)))
	[ "$rc" -ne 0 ] && crashes=$((crashes + 1))
	echo "$t run $run: exit $rc, $((end - start)) s, ${n:-?} execs" >>"$d/summary"
done
echo "$(date -u +%FT%TZ) $t total: $((total - left)) s, $execs execs, $crashes crashing runs, corpus $(ls "$d/corpus" | wc -l) files" >>"$d/summary"
