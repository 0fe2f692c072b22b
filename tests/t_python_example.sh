#!/bin/sh
# t_python_example.sh - examples/python/read_results.py runs on a short
# quickstart run and a test sweep file, and writes its PNG.  Skips when no
# python3 has h5py, pandas and matplotlib (make test installs them as root).
set -u
BIN=${FS_BIN:-build/factorysim}
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import h5py, pandas, matplotlib' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
	echo "SKIP t_python_example: no python3 with h5py, pandas and matplotlib"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_py.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$BIN" run examples/quickstart/quickstart.yaml --set duration=3min -o "$tmp/q.h5" --quiet || exit 1
"$PY" tests/make_sweep.py "$tmp/sweep.h5" || exit 1
MPLCONFIGDIR="$tmp/mpl" "$PY" examples/python/read_results.py "$tmp/q.h5" --sweep "$tmp/sweep.h5" \
	-o "$tmp/power.png" >"$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; echo "FAIL read_results.py"; exit 1; }
cat "$tmp/out.txt"
grep -q 'power/tokens_per_s_per_mw_it = ' "$tmp/out.txt" || { echo "FAIL no summary line"; exit 1; }
grep -q 'sweep: 8 points' "$tmp/out.txt" || { echo "FAIL sweep not read"; exit 1; }
# a PNG: the signature and some size
[ "$(head -c 4 "$tmp/power.png" | od -An -c | tr -d ' ')" = "211PNG" ] &&
	[ "$(wc -c <"$tmp/power.png")" -gt 10000 ] || { echo "FAIL no PNG written"; exit 1; }
echo "PASS t_python_example"
