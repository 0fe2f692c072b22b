#!/bin/sh
# t_examples.sh - every example runs, and its summaries pass their checks.
# An example is a directory under examples/ whose scenarios NAME.yaml each
# have checks in NAME.expected (or one `expected` for all); see
# tests/check_summary.py.  `args` may hold extra command-line arguments, and
# `compare` checks across the example's runs (r[NAME] is NAME's summary).
# YAML files without checks (shared includes) are not run on their own.
set -u
BIN=${FS_BIN:-build/factorysim}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; n=0
for dir in examples/*/; do
	name=$(basename "$dir")
	mkdir -p "$tmp/$name"
	for y in "$dir"*.yaml; do
		base=$(basename "$y" .yaml)
		checks="$dir$base.expected"
		[ -f "$checks" ] || checks="$dir/expected"
		[ -f "$checks" ] || continue
		n=$((n + 1))
		args=""; [ -f "$dir/args" ] && args=$(cat "$dir/args")
		echo "== $name: $y $args"
		# shellcheck disable=SC2086
		if ! "$BIN" run "$y" $args -o "$tmp/$name/$base.h5" --summary json >"$tmp/$name/$base.json"; then
			echo "FAIL  $name: the run failed"; fails=$((fails + 1)); continue
		fi
		python3 tests/check_summary.py "$tmp/$name/$base.json" "$checks" || fails=$((fails + 1))
	done
	if [ -f "$dir/compare" ]; then
		echo "== $name: compare"
		python3 tests/check_summary.py --dir "$tmp/$name" "$dir/compare" || fails=$((fails + 1))
	fi
done
echo "$n example(s), $fails failure(s)"
[ "$n" -gt 0 ] && [ "$fails" = 0 ]
