#!/bin/sh
# run.sh BUILD - run every test: the cmocka binaries in BUILD/tests, then the
# shell tests tests/t_*.sh (CLI, bad-input corpus, HDF5, determinism, examples).
# Prints one line per test and a closing "N passed, N failed" line.
BUILD=${1:-build}
export FS_BIN="$BUILD/factorysim" FS_BUILD="$BUILD"
pass=0; fail=0; failed=""
log_dir="$BUILD/test-logs"; mkdir -p "$log_dir"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if "$t" >"$log_dir/$name.log" 2>&1; then
		pass=$((pass + 1)); echo "PASS $name"
	else
		fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name"; cat "$log_dir/$name.log"
	fi
done
for t in tests/t_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	if sh "$t" >"$log_dir/$name.log" 2>&1; then
		pass=$((pass + 1)); echo "PASS $name"
	else
		fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name"; cat "$log_dir/$name.log"
	fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
