#!/bin/sh
# t_examples.sh - every example runs, and its summary passes its checks.
# An example is a directory under examples/ with one scenario *.yaml and an
# `expected` file of checks (see tests/check_summary.py); `args` may hold
# extra command-line arguments.
set -u
BIN=${FS_BIN:-build/factorysim}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; n=0
for dir in examples/*/; do
	name=$(basename "$dir")
	[ -f "$dir/expected" ] || continue
	for y in "$dir"*.yaml; do
		n=$((n + 1))
		args=""; [ -f "$dir/args" ] && args=$(cat "$dir/args")
		echo "== $name: $y $args"
		# shellcheck disable=SC2086
		if ! "$BIN" run "$y" $args -o "$tmp/$name.h5" --summary json >"$tmp/$name.json"; then
			echo "FAIL  $name: the run failed"; fails=$((fails + 1)); continue
		fi
		python3 tests/check_summary.py "$tmp/$name.json" "$dir/expected" || fails=$((fails + 1))
	done
done
echo "$n example(s), $fails failure(s)"
[ "$n" -gt 0 ] && [ "$fails" = 0 ]
