#!/bin/sh
# report_bench.sh BUILD - the size and speed of `factorysim report` on a day of
# a 1,000-server factory (bench/report-1000-racks.yaml: 1,441 ticks x 1,000
# racks in each /timeseries/racks dataset).  Prints: the run's wall time and
# file size, the report's generation time, peak memory and size, and how long
# Chromium takes to load it (process start to DOM, and the page's own parse +
# layout time measured inside it).  Figures only; nothing is asserted.
BUILD=${1:-build}
BIN=$BUILD/factorysim
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_rbench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
t0=$(now)
"$BIN" run bench/report-1000-racks.yaml -o "$tmp/big.h5" --quiet || exit 1
t1=$(now)
echo "run:     $(echo "$t1 - $t0" | bc) s wall, $(wc -c <"$tmp/big.h5") bytes of HDF5"
t0=$(now)
if command -v /usr/bin/time >/dev/null 2>&1; then
	/usr/bin/time -f "%M" -o "$tmp/mem" "$BIN" report "$tmp/big.h5" -o "$tmp/big.html" 2>/dev/null || exit 1
else
	"$BIN" report "$tmp/big.h5" -o "$tmp/big.html" 2>/dev/null || exit 1
fi
t1=$(now)
echo "report:  $(echo "$t1 - $t0" | bc) s wall, $(cat "$tmp/mem" 2>/dev/null || echo '?') kB peak RSS," \
	"$(wc -c <"$tmp/big.html") bytes of HTML, $(grep -c 'class="chart"' "$tmp/big.html") charts"
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
if [ -z "$CHROME" ]; then
	echo "chromium: not installed; load time not measured"
	exit 0
fi
sed 's#</body>#<script>var t=performance.now();document.querySelectorAll("svg.chart").forEach(function(s){s.querySelector("g.plot").getBBox();});document.body.setAttribute("data-t",Math.round(t)+" ms to parse and lay out, "+Math.round(performance.now()-t)+" ms more to measure every chart");</script></body>#' \
	"$tmp/big.html" >"$tmp/probe.html"
flags="--headless --no-sandbox --disable-gpu --user-data-dir=$tmp/profile"
t0=$(now)
"$CHROME" $flags --dump-dom about:blank >/dev/null 2>&1
t1=$(now)
# shellcheck disable=SC2086
"$CHROME" $flags --dump-dom "file://$tmp/probe.html" 2>/dev/null >"$tmp/dom.html"
t2=$(now)
echo "chromium: $(echo "$t2 - $t1" | bc) s from start to DOM (an empty page: $(echo "$t1 - $t0" | bc) s);" \
	"in the page: $(grep -o 'data-t="[^"]*"' "$tmp/dom.html" | sed 's/data-t="//; s/"$//')"
