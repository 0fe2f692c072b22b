#!/bin/sh
# t_report.sh - `factorysim report` in a real browser.  A report is written for
# a short quickstart run and for sweep files made by tests/make_sweep.py, then
# each is loaded in headless Chromium with a small script appended that
# measures every chart: the bounding box of its plot area (getBBox forces
# layout, so an SVG the browser could not parse or lay out measures 0 x 0)
# and the number of data marks (class "d").  A chart that is empty or
# degenerate fails the test, and so does a chart count below what the file
# holds.  The reports must also be self-contained (no script, no external URL)
# and a screenshot is taken (kept in $FS_BUILD/test-logs for a person to look
# at).  Skips when Chromium is missing and we are not root (as root, `make
# test` installs it).
set -u
BIN=${FS_BIN:-build/factorysim}
BUILD=${FS_BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_report.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*"; fails=$((fails + 1)); }

CHROME=
for c in chromium chromium-browser google-chrome; do
	if command -v "$c" >/dev/null 2>&1; then CHROME=$(command -v "$c"); break; fi
done
if [ -z "$CHROME" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP t_report: no chromium (install it, or run make test as root to have it installed)"
		exit 0
	fi
	echo "FAIL t_report: no chromium although we are root; make test installs it (TEST_PKGS)"
	exit 1
fi
PY=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py' >/dev/null 2>&1; then PY=$p; break; fi
done

# chrome DUMP|SHOT HTML [OUT]: headless Chromium on a local file
chrome() {
	mode=$1 html=$2 png=${3:-}
	# a private profile: parallel tests and a user's own browser do not collide
	set -- --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$tmp/profile" --virtual-time-budget=10000
	if [ "$mode" = DUMP ]; then
		timeout 120 "$CHROME" "$@" --dump-dom "file://$html" 2>"$tmp/chrome.err"
	else
		timeout 120 "$CHROME" "$@" --window-size=1400,4000 --screenshot="$png" "file://$html" \
			>/dev/null 2>"$tmp/chrome.err"
	fi
}

# check NAME HTML MIN_CHARTS: every chart measured and non-empty
check() {
	name=$1 html=$2 want=$3
	# self-contained: nothing fetched, no script of ours
	if grep -Eo '(src|href)="[^"#]' "$html" | grep -q . ||
		grep -Eo 'https?://[^" ]*' "$html" | grep -v '^http://www.w3.org/2000/svg$' | grep -q . ||
		grep -qi '<script' "$html"; then
		bad "$name: the report refers to something outside itself or has a script"
	else
		ok "$name: self-contained ($(wc -c <"$html") bytes)"
	fi
	# the probe: measure each chart after layout, write the result into the DOM
	sed 's#</body>#<script>(function(){var n=0,good=0;document.querySelectorAll("svg.chart").forEach(function(s){n++;var p=s.querySelector("g.plot"),b=p?p.getBBox():{width:0,height:0},m=s.querySelectorAll(".d").length,ok=b.width>20\&\&b.height>20\&\&m>0;if(ok)good++;s.setAttribute("data-probe",(ok?"ok ":"EMPTY ")+Math.round(b.width)+"x"+Math.round(b.height)+" marks="+m);});document.body.setAttribute("data-probe","charts="+n+" good="+good);})();</script></body>#' \
		"$html" >"$tmp/probe.html"
	t0=$(date +%s.%N)
	chrome DUMP "$tmp/probe.html" >"$tmp/dom.html"
	t1=$(date +%s.%N)
	summary=$(grep -o 'data-probe="charts=[0-9]* good=[0-9]*"' "$tmp/dom.html" | head -1)
	n=$(echo "$summary" | sed -n 's/.*charts=\([0-9]*\).*/\1/p')
	g=$(echo "$summary" | sed -n 's/.*good=\([0-9]*\).*/\1/p')
	echo "      $name: chromium load + layout $(echo "$t1 - $t0" | bc) s; $summary"
	grep -o 'data-probe="[A-Z]*[a-z]* [0-9]*x[0-9]* marks=[0-9]*"' "$tmp/dom.html" | sed 's/^/      /'
	if [ -z "$n" ]; then
		cat "$tmp/chrome.err" | tail -5
		bad "$name: the probe did not run (no result in the DOM)"
	elif [ "$n" -lt "$want" ]; then
		bad "$name: $n charts, expected at least $want"
	elif [ "$g" != "$n" ]; then
		bad "$name: $((n - g)) of $n charts rendered empty"
	else
		ok "$name: all $n charts rendered with data"
	fi
	shot="$BUILD/test-logs/report-$name.png"
	mkdir -p "$BUILD/test-logs"
	chrome SHOT "$html" "$shot"
	if [ -s "$shot" ] && [ "$(wc -c <"$shot")" -gt 20000 ]; then
		ok "$name: screenshot $shot"
	else
		bad "$name: no screenshot"
	fi
}

# a run: quickstart, a bit shorter
"$BIN" run examples/quickstart/quickstart.yaml --set duration=10min -o "$tmp/q.h5" --quiet ||
	bad "quickstart run"
if "$BIN" report "$tmp/q.h5" -o "$tmp/q.html" 2>"$tmp/err"; then
	ok "report of a run: $(cat "$tmp/err")"
	# power, throughput, temperatures, 2 heatmaps, 3 latency CDFs
	check run "$tmp/q.html" 8
	grep -q 'GPU throttle' "$tmp/q.html" && ok "run: GPU throttle limit drawn" ||
		bad "run: no GPU throttle line (catalog lookup)"
else
	cat "$tmp/err"
	bad "report of a run"
fi
# same input, same bytes
"$BIN" report "$tmp/q.h5" -o "$tmp/q2.html" 2>/dev/null
cmp -s "$tmp/q.html" "$tmp/q2.html" && ok "report is reproducible byte for byte" ||
	bad "two reports of one file differ"

# sweeps (written with h5py by the layout in docs/hdf5-layout.md)
if [ -n "$PY" ]; then
	"$PY" tests/make_sweep.py "$tmp/sweep.h5" || bad "make_sweep.py"
	if "$BIN" report "$tmp/sweep.h5" -o "$tmp/sweep.html" 2>"$tmp/err"; then
		ok "report of a sweep: $(cat "$tmp/err")"
		# one chart per parameter (2) and the frontier
		check sweep "$tmp/sweep.html" 3
		grep -q 'Pareto frontier' "$tmp/sweep.html" && ok "sweep: frontier drawn" ||
			bad "sweep: no frontier"
		grep -q 'Best points' "$tmp/sweep.html" && ok "sweep: best points table" ||
			bad "sweep: no best points table"
	else
		cat "$tmp/err"
		bad "report of a sweep"
	fi
	"$PY" tests/make_sweep.py "$tmp/sweep2.h5" --no-frontier || bad "make_sweep.py --no-frontier"
	if "$BIN" report "$tmp/sweep2.h5" -o "$tmp/sweep2.html" 2>"$tmp/err"; then
		check sweep-no-frontier "$tmp/sweep2.html" 2
		grep -q 'No frontier: the sweep has no tokens_per_s_per_gpu' "$tmp/sweep2.html" &&
			ok "sweep without per-GPU metrics: the page says why there is no frontier" ||
			bad "sweep without per-GPU metrics: no explanation"
	else
		cat "$tmp/err"
		bad "report of a sweep without frontier metrics"
	fi
else
	echo "t_report: no python3 with h5py; sweep reports skipped"
fi

echo "$fails failure(s)"
[ "$fails" = 0 ]
