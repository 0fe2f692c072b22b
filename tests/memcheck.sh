#!/bin/sh
# memcheck.sh [BUILD] - `make memcheck`: valgrind memcheck on the CLI.
#   1. every example scenario, as tests/t_examples.sh runs it (the example's
#      args included), shortened with --set duration=$MC_DURATION (default
#      2min) and --set warmup=$MC_WARMUP (default 30s): under valgrind a run is
#      20-50x slower, and the code paths do not depend on the length;
#   2. the bad-input path: `validate` and `run` of every tests/bad/*.yaml;
#   3. usage errors, `validate --resolved`, and a run interrupted by SIGINT
#      with --keep-partial (the partial close).
# valgrind --leak-check=full --errors-for-leak-kinds=definite: any memory
# error or definite leak fails (exit code 99, told apart from the program's
# own 0/1/2).  Needs a build without sanitizers.
set -u
BUILD=${1:-build}
BIN=$BUILD/factorysim
MC_DURATION=${MC_DURATION:-2min}
MC_WARMUP=${MC_WARMUP:-30s}
command -v valgrind >/dev/null 2>&1 || { echo "memcheck: valgrind not found (Debian: valgrind)"; exit 1; }
if grep -q __asan_init "$BIN" 2>/dev/null; then
	echo "memcheck: $BIN is built with sanitizers; run make memcheck without SAN=1"
	exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
runs=0; fails=0

# vg NAME EXPECTED_STATUS COMMAND...: the command under valgrind
vg() {
	vg_name=$1; vg_want=$2; shift 2
	runs=$((runs + 1))
	$VG "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ "$rc" = 99 ] || [ "$rc" != "$vg_want" ]; then
		fails=$((fails + 1))
		echo "FAIL  $vg_name (exit $rc, expected $vg_want)"
		sed 's/^/      /' "$tmp/err" | head -n 40
	else
		echo "ok    $vg_name"
	fi
}

short="--set duration=$MC_DURATION --set warmup=$MC_WARMUP"
for dir in examples/*/; do
	name=$(basename "$dir")
	for y in "$dir"*.yaml; do
		base=$(basename "$y" .yaml)
		[ -f "$dir$base.expected" ] || [ -f "$dir/expected" ] || continue
		args=""; [ -f "$dir/args" ] && args=$(cat "$dir/args")
		# shellcheck disable=SC2086
		vg "example $name/$base" 0 "$BIN" run "$y" $args $short -o "$tmp/x.h5" --quiet
	done
done

for yaml in tests/bad/*.yaml; do
	case=$(basename "$yaml" .yaml)
	args=""; [ -f "tests/bad/$case.args" ] && args=$(cat "tests/bad/$case.args")
	# shellcheck disable=SC2086
	vg "bad input $case: validate" 2 "$BIN" validate "$yaml" $args
	# shellcheck disable=SC2086
	vg "bad input $case: run" 2 "$BIN" run "$yaml" $args -o "$tmp/bad.h5"
done

Q=examples/queueing/mm4.yaml
vg "usage: no arguments" 2 "$BIN"
vg "usage: unknown option" 2 "$BIN" run $Q --bogus
vg "usage: bad --memory-limit" 2 "$BIN" run $Q --memory-limit lots
vg "memory limit refusal" 2 "$BIN" run $Q --memory-limit 1MiB -o "$tmp/m.h5"
vg "validate --resolved" 0 "$BIN" validate examples/quickstart/quickstart.yaml --resolved
vg "catalog" 0 "$BIN" catalog

# interrupted with --keep-partial: SIGINT once the temporary file exists
runs=$((runs + 1))
$VG "$BIN" run $Q --set duration=8000h -o "$tmp/p.h5" --quiet --keep-partial >/dev/null 2>"$tmp/err" &
pid=$!
n=0
while ! ls "$tmp"/p.h5.tmp.* >/dev/null 2>&1 && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
sleep 1
kill -INT $pid; wait $pid; rc=$?
if [ "$rc" = 1 ] && [ -f "$tmp/p.h5" ]; then
	echo "ok    SIGINT --keep-partial"
else
	fails=$((fails + 1))
	echo "FAIL  SIGINT --keep-partial (exit $rc)"
	sed 's/^/      /' "$tmp/err" | head -n 40
fi

echo "memcheck: $runs runs under valgrind, $fails with errors or definite leaks"
[ "$fails" = 0 ]
