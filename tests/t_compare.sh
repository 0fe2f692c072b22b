#!/bin/sh
# t_compare.sh - `factorysim compare` against numbers read independently
# (tests/readback_check.py, h5py): two short quickstart runs that differ in the
# GPU power cap (same requests: paired), a third whose chat arrival rate
# differs (flagged as not paired), replications of two designs given with
# `--` (means and paired 95 % intervals recomputed by hand), --group, a sweep
# file; then bad input for compare, report and export: a missing file, a
# directory, a file that is not HDF5, a truncated HDF5 file, a file without
# /summary - each a clear message and exit status 2, never a crash.
set -u
BIN=${FS_BIN:-build/factorysim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_compare.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*"; fails=$((fails + 1)); }
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py, numpy' >/dev/null 2>&1; then PY=$p; break; fi
done

Q=examples/quickstart/quickstart.yaml
short="--set duration=4min --set warmup=1min"
run() { # run NAME ARGS...
	name=$1; shift
	"$BIN" run $Q $short "$@" -o "$tmp/$name.h5" --quiet || bad "run $name"
}
run a
run b --set power.gpu_cap=70%
run c --set workload.0.arrival.rate=8/s

# --- two runs ---------------------------------------------------------------------
"$BIN" compare "$tmp/a.h5" "$tmp/b.h5" >"$tmp/ab.txt" 2>"$tmp/err" && ok "compare A B (text)" ||
	{ cat "$tmp/err"; bad "compare A B"; }
cat "$tmp/ab.txt"
grep -q '^tokens/s per MW (provisioned)' "$tmp/ab.txt" && ok "text table has the metric rows" ||
	bad "no tokens/s per MW row"
grep -q 'not paired' "$tmp/ab.txt" && bad "A and B share seed and workload but are flagged" ||
	ok "A and B (same requests) are not flagged"
"$BIN" compare "$tmp/a.h5" "$tmp/b.h5" --format csv >"$tmp/ab.csv" 2>/dev/null || bad "--format csv"
"$BIN" compare "$tmp/a.h5" "$tmp/b.h5" --format json >"$tmp/ab.json" 2>/dev/null || bad "--format json"
"$BIN" compare "$tmp/a.h5" "$tmp/b.h5" --format markdown >"$tmp/ab.md" 2>/dev/null || bad "--format markdown"
grep -q '^| metric | units | A | B | B vs A |' "$tmp/ab.md" && ok "markdown table header" ||
	bad "markdown header"
python3 -m json.tool "$tmp/ab.json" >/dev/null 2>&1 && ok "json parses" || bad "json does not parse"
if [ -n "$PY" ]; then
	"$PY" tests/readback_check.py compare-csv "$tmp/ab.csv" "$tmp/a.h5" "$tmp/b.h5" &&
		ok "CSV values and % differences match h5py" || bad "CSV against h5py"
	"$PY" tests/readback_check.py compare-text "$tmp/ab.txt" "$tmp/a.h5" "$tmp/b.h5" &&
		ok "text table matches h5py" || bad "text table against h5py"
fi

# --- a different workload is flagged ------------------------------------------------
"$BIN" compare "$tmp/a.h5" "$tmp/c.h5" >"$tmp/ac.txt" 2>&1 || bad "compare A C"
want="note: B: workload differs from A (workload[0].arrival.rate: 6 /s in A, 8 /s in B); differences are not paired"
grep -qF "$want" "$tmp/ac.txt" && ok "workload difference flagged: $want" ||
	{ cat "$tmp/ac.txt"; bad "workload difference not flagged"; }
"$BIN" compare "$tmp/a.h5" "$tmp/c.h5" --format json | grep -q '"paired":false' &&
	ok "json: paired false" || bad "json: paired should be false"
# another seed: different requests
run s --seed 7
"$BIN" compare "$tmp/a.h5" "$tmp/s.h5" 2>&1 | grep -q 'B: seed 7 vs 42 of A' &&
	ok "seed difference flagged" || bad "seed difference not flagged"

# --- replications ---------------------------------------------------------------------
for r in 0 1 2; do
	run ra$r --set replication=$r
	run rb$r --set replication=$r --set power.gpu_cap=70%
done
"$BIN" compare "$tmp"/ra?.h5 -- "$tmp"/rb?.h5 >"$tmp/reps.txt" 2>&1 || bad "compare with --"
cat "$tmp/reps.txt"
grep -q '± ' "$tmp/reps.txt" && grep -q '\[[-+][0-9.]*, [-+][0-9.]*\]' "$tmp/reps.txt" &&
	ok "replications: means with ± and paired intervals" || bad "replications: no intervals"
"$BIN" compare "$tmp"/ra?.h5 -- "$tmp"/rb?.h5 --format json >"$tmp/reps.json" 2>/dev/null
if [ -n "$PY" ]; then
	"$PY" tests/readback_check.py compare-reps "$tmp/reps.json" "$tmp"/ra?.h5 -- "$tmp"/rb?.h5 &&
		ok "paired intervals match a hand computation" || bad "paired intervals"
fi
n=$("$BIN" compare --group "$tmp"/ra?.h5 "$tmp"/rb?.h5 | grep -c ' 3 runs: ')
[ "$n" = 2 ] && ok "--group forms two designs of 3 runs" || bad "--group: $n designs of 3 runs"

# --- a sweep file: one design per point --------------------------------------------------
if [ -n "$PY" ]; then
	"$PY" tests/make_sweep.py "$tmp/sweep.h5"
	"$BIN" compare "$tmp/sweep.h5" >"$tmp/sw.txt" 2>&1 && ok "compare a sweep file" ||
		{ cat "$tmp/sw.txt"; bad "compare a sweep file"; }
	grep -q '^H .*sweep.h5 p7 (gpu_cap=1, rack=gb200-nvl72)' "$tmp/sw.txt" &&
		ok "sweep points become designs A..H" || { head -12 "$tmp/sw.txt"; bad "sweep designs"; }
	grep -q 'tokens/s per MW (IT) .*\[' "$tmp/sw.txt" &&
		ok "sweep points compared with paired intervals" || bad "sweep intervals"
fi

# --- bad input, for the three verbs ----------------------------------------------------------
printf 'not hdf5\n' >"$tmp/text.h5"
mkdir "$tmp/dir.h5"
head -c 3000 "$tmp/a.h5" >"$tmp/cut.h5"
if [ -n "$PY" ]; then
	"$PY" -c "import h5py; f = h5py.File('$tmp/nosum.h5', 'w'); f.create_group('timeseries'); f.attrs['program'] = 'factorysim'"
fi
expect() { # expect STATUS PATTERN DESCRIPTION COMMAND...
	st=$1 pat=$2 d=$3; shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$st" ] && grep -q -e "$pat" "$tmp/err"; then
		ok "$d: exit $rc, $(head -1 "$tmp/err")"
	else
		bad "$d: exit $rc (want $st), stderr: $(head -2 "$tmp/err")"
	fi
}
for verb in compare report export; do
	case $verb in
	compare) args="$tmp/a.h5" ;;
	report) args="-o $tmp/r.html" ;;
	export) args="--csv $tmp/csv" ;;
	esac
	expect 2 "none.h5: cannot open: No such file or directory" "$verb: missing file" \
		"$BIN" $verb "$tmp/none.h5" $args
	expect 2 "text.h5: not an HDF5 file" "$verb: not HDF5" "$BIN" $verb "$tmp/text.h5" $args
	expect 2 "dir.h5: is a directory" "$verb: a directory" "$BIN" $verb "$tmp/dir.h5" $args
	expect 2 "cut.h5: " "$verb: a truncated HDF5 file" "$BIN" $verb "$tmp/cut.h5" $args
	if [ -n "$PY" ]; then
		case $verb in
		export) expect 2 "nosum.h5: nothing to export" "$verb: no /summary" \
			"$BIN" $verb "$tmp/nosum.h5" $args ;;
		*) expect 2 "nosum.h5: no /summary group; not a complete factorysim run file" \
			"$verb: no /summary" "$BIN" $verb "$tmp/nosum.h5" $args ;;
		esac
	fi
done
expect 2 "no run files given" "compare without files" "$BIN" compare
expect 2 "--format takes text, json, csv or markdown" "compare --format xml" \
	"$BIN" compare "$tmp/a.h5" --format xml
expect 2 "-o REPORT.html is required" "report without -o" "$BIN" report "$tmp/a.h5"
expect 2 "--csv DIR is required" "export without --csv" "$BIN" export "$tmp/a.h5"
expect 1 "cannot create" "report into a missing directory" \
	"$BIN" report "$tmp/a.h5" -o "$tmp/no/such/dir/r.html"
[ -z "$(ls "$tmp" | grep '\.tmp\.')" ] && ok "no temporary report left behind" ||
	bad "a temporary file was left"

echo "$fails failure(s)"
[ "$fails" = 0 ]
