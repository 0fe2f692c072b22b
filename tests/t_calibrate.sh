#!/bin/sh
# t_calibrate.sh - the calibrate verb from the command line: the example's
# trace fits to the committed calibrated YAML byte for byte (the documented
# path works and is reproducible); bad inputs exit 2 with a located message.
set -u
BIN=${FS_BIN:-build/factorysim}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
check() { d=$1; shift; if "$@"; then echo "ok    $d"; else echo "FAIL  $d"; fails=$((fails + 1)); fi; }
( cd examples/calibrate && "../../$BIN" calibrate h200_SYNTHETIC_subpeak.csv --gpu h200 \
	-o "$tmp/cal.yaml" --report "$tmp/report.txt" 2>/dev/null )
check "calibrate reproduces examples/calibrate/calibrated-h200.yaml" cmp -s "$tmp/cal.yaml" examples/calibrate/calibrated-h200.yaml
check "the report gives R^2 and the worst rows" grep -q "worst 1:" "$tmp/report.txt"
"$BIN" calibrate examples/calibrate/h200_SYNTHETIC_subpeak.csv --gpu no-such-gpu -o "$tmp/x.yaml" 2>"$tmp/err"
check "unknown GPU -> exit 2" [ $? = 2 ]
check "unknown GPU is named" grep -q "unknown GPU 'no-such-gpu'" "$tmp/err"
check "nothing written for a bad run" [ ! -e "$tmp/x.yaml" ]
for bad in tests/data/calib/*.csv; do
	"$BIN" calibrate "$bad" --gpu h200 -o "$tmp/y.yaml" 2>"$tmp/err"
	rc=$?
	check "$(basename "$bad"): exit 2 with file:line:col" sh -c "[ $rc = 2 ] && grep -q '$bad:[0-9]*:[0-9]*:' '$tmp/err'"
done
check "no output from bad traces" [ ! -e "$tmp/y.yaml" ]
echo "$fails failure(s)"
[ "$fails" = 0 ]
