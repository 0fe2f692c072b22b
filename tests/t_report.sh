#!/bin/sh
# t_report.sh - `factorysim report` in a real browser.  A report is written for
# a short quickstart run, for sweep files made by tests/make_sweep.py, and for
# real sweeps made by `factorysim sweep` (tests/data/sweep-small.yaml and
# examples/sweep/maxq-sweep.yaml); then each is loaded in headless Chromium
# with a small script appended that measures every chart: the bounding box of
# its plot area (getBBox forces layout, so an SVG the browser could not parse
# or lay out measures 0 x 0), the number of data marks (class "d"), the
# legend entries, and whether any two point labels overlap.  A chart that is
# empty or degenerate fails the test, and so do overlapping labels and a chart
# count below what the file holds.  For the sweeps, the number of lines in
# each tokens-per-MW chart (its legend entries) must be what the grouping rule
# of report.c predicts: one line per combination of the other parameters,
# except those tied to the charted one.  The reports must also be
# self-contained (no script, no external URL) and a screenshot is taken (kept
# in $FS_BUILD/test-logs for a person to look at).  Skips when Chromium is
# missing and we are not root (as root, `make test` installs it).
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
	cat >"$tmp/probe.js" <<'JS'
<script>(function(){
var n=0,good=0,clash=0;
function over(a,b){return a.x<b.x+b.width&&b.x<a.x+a.width&&a.y<b.y+b.height&&b.y<a.y+a.height;}
document.querySelectorAll("svg.chart").forEach(function(s){
n++;var p=s.querySelector("g.plot"),b=p?p.getBBox():{width:0,height:0},
m=s.querySelectorAll(".d").length,ok=b.width>20&&b.height>20&&m>0,
lg=s.querySelectorAll("g.legend text").length,t=s.querySelector("title"),
lb=[].slice.call(s.querySelectorAll("text.label")).map(function(e){return e.getBBox();}),ov=0;
for(var i=0;i<lb.length;i++)for(var j=i+1;j<lb.length;j++)if(over(lb[i],lb[j]))ov++;
clash+=ov;if(ok)good++;
s.setAttribute("data-probe",(ok?"ok ":"EMPTY ")+Math.round(b.width)+"x"+Math.round(b.height)+" marks="+m+" legend="+lg+" labels="+lb.length+" overlaps="+ov+" | "+(t?t.textContent:""));});
document.body.setAttribute("data-probe","charts="+n+" good="+good+" overlaps="+clash);})();</script>
JS
	awk -v f="$tmp/probe.js" '/<\/body>/{while((getline l < f)>0) print l} {print}' "$html" >"$tmp/probe.html"
	t0=$(date +%s.%N)
	chrome DUMP "$tmp/probe.html" >"$tmp/dom.html"
	t1=$(date +%s.%N)
	summary=$(grep -o 'data-probe="charts=[0-9]* good=[0-9]* overlaps=[0-9]*"' "$tmp/dom.html" | head -1)
	n=$(echo "$summary" | sed -n 's/.*charts=\([0-9]*\).*/\1/p')
	g=$(echo "$summary" | sed -n 's/.*good=\([0-9]*\).*/\1/p')
	o=$(echo "$summary" | sed -n 's/.*overlaps=\([0-9]*\).*/\1/p')
	echo "      $name: chromium load + layout $(echo "$t1 - $t0" | bc) s; $summary"
	grep -o 'data-probe="[A-Z]*[a-z]* [0-9]*x[0-9]* [^"]*"' "$tmp/dom.html" | sed 's/^/      /'
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
	[ -z "$n" ] || [ "$o" = 0 ] && ok "$name: no two point labels overlap" ||
		bad "$name: $o pairs of point labels overlap"
	shot="$BUILD/test-logs/report-$name.png"
	mkdir -p "$BUILD/test-logs"
	chrome SHOT "$html" "$shot"
	if [ -s "$shot" ] && [ "$(wc -c <"$shot")" -gt 20000 ]; then
		ok "$name: screenshot $shot"
	else
		bad "$name: no screenshot"
	fi
}

# lines NAME EXPECTED: the legend entries of the tokens-per-MW charts (one per
# line drawn), in page order, from the last check's DOM, against EXPECTED
lines() {
	got=$(grep -o 'data-probe="[A-Za-z]* [^"]*legend=[0-9]*[^"]*| Tokens [^"]*"' "$tmp/dom.html" |
		sed 's/.*legend=\([0-9]*\).*/\1/' | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$2" ]; then
		ok "$1: lines per tokens-per-MW chart: $got"
	else
		bad "$1: lines per tokens-per-MW chart: '$got', expected '$2'"
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
		# gpu_cap (4 values) x rack (2 levels), 3 meters of tokens per MW: against
		# gpu_cap one line per rack, against rack one per gpu_cap, one chart per
		# meter (6), and the frontier
		check sweep "$tmp/sweep.html" 7
		lines sweep "2 2 2 4 4 4"
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
	# with a third parameter, batch (3 values): against gpu_cap rack x batch =
	# 6 lines; against rack gpu_cap x batch = 12 > 8 combinations, so the slice
	# through the best point, one chart with the 3 meters; against batch
	# gpu_cap x rack = 8 lines
	"$PY" tests/make_sweep.py "$tmp/sweep3.h5" --batch || bad "make_sweep.py --batch"
	if "$BIN" report "$tmp/sweep3.h5" -o "$tmp/sweep3.html" 2>"$tmp/err"; then
		check sweep-3-parameters "$tmp/sweep3.html" 8
		lines sweep-3-parameters "6 6 6 3 8 8 8"
		grep -q '12 combinations of the other parameters, too many lines: the slice through the best point' \
			"$tmp/sweep3.html" && ok "sweep-3-parameters: too many lines, the slice is said" ||
			bad "sweep-3-parameters: no word of the slice"
	else
		cat "$tmp/err"
		bad "report of a sweep of 3 parameters"
	fi
else
	echo "t_report: no python3 with h5py; sweeps made by make_sweep.py skipped"
fi

# real sweeps, made by `factorysim sweep`
# sweep-small: router (2 levels) x chat_rate (3 values): against router one set
# of dots per chat_rate (3), against chat_rate one line per router (2)
if "$BIN" sweep tests/data/sweep-small.yaml -o "$tmp/small.h5" -j 2 --quiet &&
	"$BIN" report "$tmp/small.h5" -o "$tmp/small.html" 2>"$tmp/err"; then
	ok "report of sweep-small: $(cat "$tmp/err")"
	check sweep-small "$tmp/small.html" 3
	lines sweep-small "3 2"
	grep -q '>prefix_aware</text>' "$tmp/small.html" && ok "sweep-small: router levels on the axis" ||
		bad "sweep-small: no level names on the router axis"
	grep -q 'class="label"' "$tmp/small.html" && ok "sweep-small: Pareto points labelled" ||
		bad "sweep-small: no Pareto labels"
else
	cat "$tmp/err"
	bad "sweep and report of tests/data/sweep-small.yaml"
fi
# maxq: gpu_cap (3) x racks (4), rate tied to racks, 9 points after the
# constraint: against gpu_cap one line per racks (4; rate follows racks),
# against racks one per gpu_cap (3; rate varies with racks), none against rate
if "$BIN" sweep examples/sweep/maxq-sweep.yaml -o "$tmp/maxq.h5" -j 2 --quiet &&
	"$BIN" report "$tmp/maxq.h5" -o "$tmp/maxq.html" 2>"$tmp/err"; then
	ok "report of maxq-sweep: $(cat "$tmp/err")"
	check maxq-sweep "$tmp/maxq.html" 3
	lines maxq-sweep "4 3"
	grep -q 'one line per value of gpu_cap; rate varies with racks' "$tmp/maxq.html" &&
		grep -q 'one line per value of racks (rate follows racks)' "$tmp/maxq.html" &&
		grep -q 'No chart against rate: it follows racks' "$tmp/maxq.html" &&
		ok "maxq-sweep: rate is seen to follow racks" || bad "maxq-sweep: rate not seen as tied to racks"
	# the frontier from the metrics named by their summaries
	grep -q 'Pareto frontier' "$tmp/maxq.html" && grep -q 'gpu_cap=1, racks=12' "$tmp/maxq.html" &&
		ok "maxq-sweep: frontier with labelled Pareto points" ||
		bad "maxq-sweep: no frontier, or its points unlabelled"
else
	cat "$tmp/err"
	bad "sweep and report of examples/sweep/maxq-sweep.yaml"
fi

echo "$fails failure(s)"
[ "$fails" = 0 ]
