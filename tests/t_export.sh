#!/bin/sh
# t_export.sh - `factorysim export FILE --csv DIR`: every CSV column and row is
# compared with the HDF5 file read by h5py (tests/readback_check.py): the time
# series of each group with units in the headers and one column per rack,
# /requests with class names, /events, /summary as name,value,units,description,
# and a sweep file's tables.  Skips the comparison when h5py is missing.
set -u
BIN=${FS_BIN:-build/factorysim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_export.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*"; fails=$((fails + 1)); }
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py, numpy' >/dev/null 2>&1; then PY=$p; break; fi
done

# the demand-response battery day would take seconds; the quickstart has every group
"$BIN" run examples/quickstart/quickstart.yaml --set duration=5min -o "$tmp/q.h5" --quiet ||
	bad "quickstart run"
"$BIN" export "$tmp/q.h5" --csv "$tmp/out/run" 2>"$tmp/err" && ok "export: $(cat "$tmp/err")" ||
	{ cat "$tmp/err"; bad "export of a run"; }
for f in timeseries_site.csv timeseries_serving.csv timeseries_cooling.csv timeseries_racks.csv \
	requests.csv events.csv summary.csv scenario_resolved.yaml; do
	[ -s "$tmp/out/run/$f" ] && ok "wrote $f" || bad "no $f"
done
head -1 "$tmp/out/run/timeseries_racks.csv" | grep -q '^time \[s\],cap\[0\] \[W\],' &&
	ok "2-D datasets: one column per rack, units in the header" || bad "racks header"
if [ -n "$PY" ]; then
	"$PY" tests/readback_check.py export "$tmp/out/run" "$tmp/q.h5" && ok "CSV matches HDF5" ||
		bad "CSV differs from HDF5"
	"$PY" tests/make_sweep.py "$tmp/sweep.h5"
	"$BIN" export "$tmp/sweep.h5" --csv "$tmp/out/sweep" 2>/dev/null || bad "export of a sweep"
	"$PY" tests/readback_check.py export-sweep "$tmp/out/sweep" "$tmp/sweep.h5" &&
		ok "sweep CSV matches HDF5" || bad "sweep CSV differs"
else
	echo "t_export: no python3 with h5py; values not compared"
fi
# an existing file where the directory should go
touch "$tmp/file"
"$BIN" export "$tmp/q.h5" --csv "$tmp/file" 2>"$tmp/err"; rc=$?
[ "$rc" != 0 ] && [ "$rc" -lt 128 ] && ok "export into a file: exit $rc, $(cat "$tmp/err")" ||
	bad "export into a file: exit $rc"
echo "$fails failure(s)"
[ "$fails" = 0 ]
