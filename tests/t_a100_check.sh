#!/bin/sh
# t_a100_check.sh - the iteration-time model (models/perf.c) against the
# measured Splitwise DGX-A100 profile, through build/a100_check.
#
# The prediction is the uncalibrated datasheet roofline (A100 SXM 80GB peak
# FLOP/s, HBM and NVLink bandwidth, efficiencies 1, no overhead).  A roofline
# at 100 % efficiency leaves out kernel efficiency (real prefill reaches ~50-70
# % of peak FLOP/s, decode ~60-80 % of HBM bandwidth) and the serving
# framework's per-iteration overhead (the measured decode step stays at ~45 ms
# from TP 4 to TP 8, where the weight read falls from 17 to 8.5 ms), so it must
# UNDERpredict, the more so the smaller the per-GPU work.  Observed when this
# test was written (mean signed error per class, predicted / measured - 1):
#   llama2-70b TP2 prompt -40 %, token -42 %;  TP4 prompt -53 %, token -63 %;
#   TP8 prompt -62 %, token -82 %;  bloom-176b TP8 prompt -51 %, token -56 %;
#   every row underpredicted (the largest signed error is -30 %).
# The bounds are those figures plus margin: mean |error| <= 70 % for prompt
# classes (worst 62 %) and <= 88 % for token classes (worst 82 %), and no row
# overpredicted.  They have teeth: the same check with the datasheet bandwidth
# or peak FLOP/s off by 2x in either direction must fail (x2: a class drops
# below -70 / -88 %; x0.5: rows are overpredicted), and so it is run here.
# Five llama2-70b TP2 batch-64 prompt rows report 0.8 s for work that takes
# 7.3 s at peak FLOP/s; the tool counts them as impossible and leaves them out.
set -u
BUILD=${FS_BUILD:-build}
BIN="$BUILD/a100_check"
BOUNDS="--bound-prompt 70 --bound-token 88"
fails=0

"$BIN" $BOUNDS
rc=$?
if [ "$rc" -eq 0 ]; then
	echo "ok    datasheet roofline within the bounds, underpredicting every row"
else
	echo "FAIL  datasheet roofline outside the bounds (exit $rc)"
	fails=$((fails + 1))
fi

for p in "--bw-scale 2" "--bw-scale 0.5" "--flops-scale 2" "--flops-scale 0.5"; do
	"$BIN" $BOUNDS $p >/dev/null 2>&1
	rc=$?
	if [ "$rc" -eq 1 ]; then
		echo "ok    a model with $p fails the check"
	else
		echo "FAIL  a model with $p passes the check (exit $rc): the bounds have no teeth"
		fails=$((fails + 1))
	fi
done

"$BIN" --csv /nonexistent.csv >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then echo "ok    missing CSV -> 2"; else echo "FAIL  missing CSV -> $rc"; fails=$((fails + 1)); fi

[ "$fails" -eq 0 ]
