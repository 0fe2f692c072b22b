#!/bin/sh
# t_interrupt.sh - what an interrupted or killed run leaves under its output
# name.  Each run is long (8000 simulated hours) and is signalled only once its
# temporary file FILE.tmp.PID exists, i.e. once the recorder is open and the
# signal handlers are in place, so the test does not depend on timing.
#   - SIGINT / SIGTERM: exit 1; the earlier FILE byte-identical; no .tmp left.
#   - the same with --keep-partial: exit 1; FILE is a valid HDF5 file with root
#     attributes complete = 0, partial = 1, stopped_at_s > 0, its rows so far
#     and the summary so far (h5dump; h5py where available).
#   - SIGKILL: the earlier FILE byte-identical; a stray FILE.tmp.PID, which the
#     next run to FILE removes (its process is gone), while the .tmp of a live
#     process is left alone.
set -u
BIN=${FS_BIN:-build/factorysim}
Q=examples/queueing/mm4.yaml
LONG="--set duration=8000h"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then echo "ok    $d"; else echo "FAIL  $d"; fails=$((fails + 1)); fi
}
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done

# start_run OUT ARGS...: start a long run in the background, wait (at most
# 30 s) until its temporary file exists; the pid is in $pid
start_run() {
	out=$1; shift
	"$BIN" run $Q $LONG -o "$out" --quiet "$@" 2>"$tmp/err" &
	pid=$!
	n=0
	while [ ! -e "$out.tmp.$pid" ] && [ $n -lt 600 ]; do
		sleep 0.05; n=$((n + 1))
	done
	[ -e "$out.tmp.$pid" ] || echo "      (no $out.tmp.$pid after 30 s)"
	sleep 0.3 # let it simulate a little
}

# an earlier, complete file under the output name
"$BIN" run $Q --set duration=10min -o "$tmp/out.h5" --quiet || exit 1
cp "$tmp/out.h5" "$tmp/earlier.h5"

for sig in INT TERM; do
	start_run "$tmp/out.h5"
	kill -$sig $pid; wait $pid; rc=$?
	check "SIG$sig: exit status 1 (got $rc)" [ "$rc" = 1 ]
	check "SIG$sig: the earlier file is byte-identical" cmp -s "$tmp/out.h5" "$tmp/earlier.h5"
	check "SIG$sig: no temporary file left" sh -c "! ls '$tmp' | grep -q 'out.h5.tmp'"
	check "SIG$sig: the message says where it stopped" grep -q "stopped at simulated time" "$tmp/err"
done

for sig in INT TERM; do
	rm -f "$tmp/part.h5"
	start_run "$tmp/part.h5" --keep-partial
	kill -$sig $pid; wait $pid; rc=$?
	check "SIG$sig --keep-partial: exit status 1 (got $rc)" [ "$rc" = 1 ]
	check "SIG$sig --keep-partial: the message names the partial file" \
		grep -q "results so far are in $tmp/part.h5, marked partial" "$tmp/err"
	check "SIG$sig --keep-partial: no temporary file left" sh -c "! ls '$tmp' | grep -q 'part.h5.tmp'"
	check "SIG$sig --keep-partial: h5dump reads the file" sh -c "h5dump -A '$tmp/part.h5' >'$tmp/attrs.txt'"
	for a in "complete|0" "partial|1"; do
		check "SIG$sig --keep-partial: ${a%|*} = ${a#*|}" \
			sh -c "h5dump -a /${a%|*} '$tmp/part.h5' | grep -q '(0): ${a#*|}\$'"
	done
	if [ -n "$PY" ]; then
		check "SIG$sig --keep-partial: h5py sees partial = 1, stopped_at_s > 0, rows and a summary" \
			"$PY" -c "
import h5py, sys
f = h5py.File('$tmp/part.h5', 'r')
a = f.attrs
t = f['timeseries/time']
ok = (a['partial'] == 1 and a['complete'] == 0 and a['stopped_at_s'] > 0 and t.shape[0] > 0
      and t[-1] <= a['stopped_at_s'] and f['timeseries/station/queue_length'].shape[0] == t.shape[0]
      and 'station_arrived' in f['summary'])
sys.exit(0 if ok else 1)"
	else
		echo "skip  h5py checks of the partial file: no python3 with h5py"
	fi
done

# SIGKILL cannot be caught: the earlier file stays, a stray .tmp.PID remains
start_run "$tmp/out.h5"
kill -9 $pid; wait $pid 2>/dev/null
stray="$tmp/out.h5.tmp.$pid"
check "SIGKILL: the earlier file is byte-identical" cmp -s "$tmp/out.h5" "$tmp/earlier.h5"
check "SIGKILL: a stray $(basename "$stray") is left" [ -e "$stray" ]
# a .tmp whose process is alive (this shell) must survive the next run
: >"$tmp/out.h5.tmp.$$"
check "the next run to the same file succeeds" \
	"$BIN" run $Q --set duration=10min -o "$tmp/out.h5" --quiet
check "... and removes the dead process's stray file" [ ! -e "$stray" ]
check "... but not a live process's" [ -e "$tmp/out.h5.tmp.$$" ]

echo "$fails failure(s)"
[ "$fails" = 0 ]
