#!/bin/sh
# t_windowed.sh - the windowed serving engine (serving.window > 0, serving.c
# "Windows"):
#  1. identical results for 1 and 2 threads (h5diff of /summary, /requests and
#     /timeseries: no difference at all) on a small site with a power
#     controller, on the quickstart (sessions, prefix-aware routing) and on a
#     disaggregated prefill/decode pair (KV transfers across shards);
#  2. windowed against the exact sequential engine (serving.window = 0) on the
#     small site: the round-robin pool, whose routing needs no replica state,
#     gives the same requests the same latencies; the least-work pool, whose
#     router sees finishes up to one window late, stays within bounds that
#     grow with the window (examples/campus-100mw/README.md; measured here: 50 ms ->
#     p50 TTFT -4.9 %, 250 ms -> -15.6 %, 1 s -> -22 %; tokens/s within 0.05 %).
# Run from the repository root by tests/run.sh with FS_BIN set.
set -u
BIN=${FS_BIN:-build/factorysim}
SITE=tests/data/windowed/site.yaml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_windowed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fails=0

run() { # NAME THREADS SCENARIO ARGS...
	name=$1 th=$2 sc=$3
	shift 3
	if ! OMP_NUM_THREADS=$th "$BIN" run "$sc" "$@" -o "$tmp/$name.h5" --summary json --quiet \
		>"$tmp/$name.json" 2>"$tmp/$name.err"; then
		cat "$tmp/$name.err"
		echo "FAIL: $name: the run failed"
		fails=$((fails + 1))
	fi
}

same() { # A B OBJECT...
	a=$1 b=$2
	shift 2
	for obj in "$@"; do
		if h5diff "$tmp/$a.h5" "$tmp/$b.h5" "$obj" "$obj" >"$tmp/diff.txt" 2>&1; then
			echo "ok: $a = $b in $obj"
		else
			head -20 "$tmp/diff.txt"
			echo "FAIL: $a and $b differ in $obj"
			fails=$((fails + 1))
		fi
	done
}

# 1. thread-count identity
run site1 1 "$SITE" --set serving.window=250ms
run site2 2 "$SITE" --set serving.window=250ms
same site1 site2 /summary /requests /timeseries
run qs1 1 examples/quickstart/quickstart.yaml --set serving.window=1s --set duration=5min \
	--set output.requests=100%
run qs2 2 examples/quickstart/quickstart.yaml --set serving.window=1s --set duration=5min \
	--set output.requests=100%
same qs1 qs2 /summary /requests /timeseries
run cpx1 1 examples/nvl72-vs-cpx/nvl144-cpx.yaml --set serving.window=1s --set duration=3min \
	--set output.requests=100%
run cpx2 2 examples/nvl72-vs-cpx/nvl144-cpx.yaml --set serving.window=1s --set duration=3min \
	--set output.requests=100%
same cpx1 cpx2 /summary /requests /timeseries

# 2. windowed against sequential
run seq 2 "$SITE" --set serving.window=0s
run win 2 "$SITE" --set serving.window=50ms
python3 - "$tmp/seq.json" "$tmp/win.json" <<'PY' || fails=$((fails + 1))
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
bad = 0
def rel(x, y):
    return abs(y - x) / abs(x) if x else abs(y)
def check(what, x, y, tol):
    global bad
    r = rel(x, y)
    ok = r <= tol
    print("%s: %s sequential %.6g windowed %.6g (%+.3g %%, bound %g %%)"
          % ("ok" if ok else "FAIL", what, x, y, 100 * (y - x) / x if x else 0, 100 * tol))
    if not ok:
        bad += 1
sa, sb = a["serving"]["classes"], b["serving"]["classes"]
# round robin: routing needs no replica state, so every request is served alike
for k in ["finished", "output_tokens", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s",
          "e2e_p50_s", "e2e_p99_s"]:
    check("agents (round robin) " + k, sa["agents"][k], sb["agents"][k], 0)
# least work: finishes reach the router up to one window (50 ms) late
check("chat output tokens/s", sa["chat"]["output_tokens_per_s"], sb["chat"]["output_tokens_per_s"], 0.01)
check("chat TTFT p50", sa["chat"]["ttft_p50_s"], sb["chat"]["ttft_p50_s"], 0.08)
check("chat TTFT p99", sa["chat"]["ttft_p99_s"], sb["chat"]["ttft_p99_s"], 0.10)
check("chat TPOT p50", sa["chat"]["tpot_p50_s"], sb["chat"]["tpot_p50_s"], 0.02)
check("chat TPOT p99", sa["chat"]["tpot_p99_s"], sb["chat"]["tpot_p99_s"], 0.03)
check("site tokens/s", a["power"]["tokens_per_s"], b["power"]["tokens_per_s"], 0.01)
check("IT energy", a["power"]["energy_it_j"], b["power"]["energy_it_j"], 0.01)
check("facility energy", a["power"]["energy_facility_j"], b["power"]["energy_facility_j"], 0.01)
sys.exit(1 if bad else 0)
PY

# a window that does not divide the control tick is refused
if "$BIN" validate "$SITE" --set serving.window=300ms >"$tmp/bad.txt" 2>&1; then
	echo "FAIL: a 300 ms window with a 1 s tick was accepted"
	fails=$((fails + 1))
elif grep -q "serving.window" "$tmp/bad.txt"; then
	echo "ok: $(cat "$tmp/bad.txt")"
else
	cat "$tmp/bad.txt"
	echo "FAIL: the message does not name serving.window"
	fails=$((fails + 1))
fi
# failures are not modelled between barriers: refused
if "$BIN" validate examples/failures/spares.yaml --set serving.window=1s >"$tmp/flt.txt" 2>&1; then
	echo "FAIL: a windowed scenario with failures was accepted"
	fails=$((fails + 1))
elif grep -q "serving.window" "$tmp/flt.txt"; then
	echo "ok: $(cat "$tmp/flt.txt")"
else
	cat "$tmp/flt.txt"
	echo "FAIL: the message does not name serving.window"
	fails=$((fails + 1))
fi

# the campus through facility-bench at 1 % for a minute: the last line's keys
FB=${FS_BUILD:-build}/facility-bench
if [ -x "$FB" ]; then
	if "$FB" --fraction 0.01 --set duration=1min -j 2 -o "$tmp/fb.h5" >"$tmp/fb.txt" 2>&1; then
		last=$(tail -n 1 "$tmp/fb.txt")
		for key in wall_s simulated_requests simulated_requests_per_s peak_rss_mb racks gpus; do
			echo "$last" | grep -q " $key=[0-9.]" || {
				echo "FAIL: facility-bench's last line has no $key=: $last"
				fails=$((fails + 1))
			}
		done
		echo "$last" | grep -q " racks=7 gpus=504" || {
			echo "FAIL: 1 % of the campus is not 7 racks, 504 GPUs: $last"
			fails=$((fails + 1))
		}
		echo "ok: $last"
	else
		cat "$tmp/fb.txt"
		echo "FAIL: facility-bench --fraction 0.01 failed"
		fails=$((fails + 1))
	fi
fi
echo "$fails failure(s)"
[ "$fails" = 0 ]
