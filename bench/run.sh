#!/bin/sh
# run.sh BUILD - the benchmarks behind `make bench`.  They print figures; none
# of them asserts a time.
#
# PHOLD at pending-set sizes 16 .. 1,048,576 (one starting event per LP), each
# run long enough for about 20 M events.  The ROSS figures are the sequential
# engine on a 2-core machine like ours, at the same settings (DESIGN.md).
BUILD=${1:-build}
echo "== PHOLD (25 % remote, lookahead 0.1 s, exp(0.9 s) increments), sequential =="
for n in 16 1024 16384 131072 1048576; do
	end=$((20000000 / n))
	[ "$end" -lt 20 ] && end=20
	line=$("$BUILD/phold" --lps "$n" --start 1 --end "$end" --seed 1) || exit 1
	echo "$line"
	rate=$(echo "$line" | sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p')
	case $n in
	16) ross=3300000 ;;
	131072) ross=310000 ;;
	*) ross="" ;;
	esac
	if [ -n "$ross" ]; then
		awk -v r="$rate" -v b="$ross" -v n="$n" \
			'BEGIN { printf "  pending %d: %.2f M events/s = %.1fx ROSS sequential (%.2f M)\n", n, r/1e6, r/b, b/1e6 }'
	fi
done

echo
echo "== serving-bench: 512 Llama-3.1-8B replicas on 64 HGX H100, Azure-shaped requests near saturation =="
"$BUILD/serving_bench" || exit 1
echo "== the same in naive per-iteration mode (the fast-forward's reference) =="
"$BUILD/serving_bench" --naive --set duration=30s || exit 1

echo
echo "== sweep throughput: bench/sweep-bench.yaml (24 runs of the quickstart factory), -j 1 and -j 2 =="
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
for j in 1 2; do
	t0=$(now)
	"$BUILD/factorysim" sweep bench/sweep-bench.yaml -o "$tmp/j$j.h5" -j $j --quiet || exit 1
	t1=$(now)
	eval "wall$j=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
done
h5diff -q "$tmp/j1.h5" "$tmp/j2.h5" /sweep/table || { echo "sweep-bench: -j 1 and -j 2 tables differ"; exit 1; }
awk -v a="$wall1" -v b="$wall2" 'BEGIN {
	printf "  -j 1: %.2f s wall, %.2f runs/s\n", a, 24 / a
	printf "  -j 2: %.2f s wall, %.2f runs/s, speed-up %.2fx, parallel efficiency %.0f %%\n", b, 24 / b, a / b, 50 * a / b
	printf "sweep_runs=24 j1_runs_per_s=%.3f j2_runs_per_s=%.3f efficiency=%.3f\n", 24 / a, 24 / b, a / b / 2 }'

echo
echo "== report: a day of 1,000 racks (bench/report-1000-racks.yaml) =="
sh bench/report_bench.sh "$BUILD" || exit 1

echo
echo "== facility-bench: the 100 MW campus (examples/campus-100mw) at 10 %, one simulated hour, 1 and 2 threads =="
echo "   (the full campus: build/facility-bench -j 2; see examples/campus-100mw/README.md)"
"$BUILD/facility-bench" --fraction 0.1 -j 1 || exit 1
"$BUILD/facility-bench" --fraction 0.1 -j 2 || exit 1
