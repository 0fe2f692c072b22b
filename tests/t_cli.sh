#!/bin/sh
# t_cli.sh - the command line: verbs, exit codes, JSON summary, overrides,
# determinism of the HDF5 datasets (h5diff), and what an interrupted or killed
# run leaves behind.
set -u
BIN=${FS_BIN:-build/factorysim}
Q=examples/queueing/mm4.yaml
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
	d=$1; shift
	if "$@"; then echo "ok    $d"; else echo "FAIL  $d"; fails=$((fails + 1)); fi
}
status() { "$@" >/dev/null 2>&1; echo $?; }

check "no arguments -> 2" [ "$(status "$BIN")" = 2 ]
check "help -> 0" [ "$(status "$BIN" help)" = 0 ]
check "help run -> 0" [ "$(status "$BIN" help run)" = 0 ]
check "help of an unknown verb -> 2" [ "$(status "$BIN" help nope)" = 2 ]
check "unknown verb -> 2" [ "$(status "$BIN" frobnicate)" = 2 ]
check "version prints the version" sh -c "'$BIN' version | grep -q '^factorysim [0-9]'"
check "run with an unknown option -> 2" [ "$(status "$BIN" run $Q --bogus)" = 2 ]
check "run with no scenario -> 2" [ "$(status "$BIN" run)" = 2 ]
check "--seed must be an integer -> 2" [ "$(status "$BIN" run $Q --seed x)" = 2 ]
check "--summary must be text or json -> 2" [ "$(status "$BIN" run $Q --summary xml)" = 2 ]
check "missing scenario file -> 2" [ "$(status "$BIN" run "$tmp/none.yaml" -o "$tmp/n.h5")" = 2 ]
check "validate the M/M/4 example" "$BIN" validate $Q
check "validate --resolved prints YAML with the seed" sh -c "'$BIN' validate $Q --resolved | grep -q '^seed:'"

short="--set duration=20min --set warmup=2min"
check "run writes the file" "$BIN" run $Q $short -o "$tmp/a.h5" --quiet
check "no temporary file is left" [ -z "$(ls "$tmp" | grep tmp)" ]
check "json summary parses" sh -c "'$BIN' run $Q $short -o '$tmp/j.h5' --summary json > '$tmp/s.json' && python3 -m json.tool '$tmp/s.json' >/dev/null"
check "--seed lands in the summary" sh -c "'$BIN' run $Q $short --seed 99 -o '$tmp/k.h5' --summary json | grep -q '\"seed\":99'"

# determinism: same seed -> identical datasets; another seed -> different ones
"$BIN" run $Q $short -o "$tmp/b.h5" --quiet
check "same seed: h5diff finds no difference" h5diff -q "$tmp/a.h5" "$tmp/b.h5"
"$BIN" run $Q $short --seed 7 -o "$tmp/c.h5" --quiet
check "other seed: h5diff finds a difference" sh -c "! h5diff -q '$tmp/a.h5' '$tmp/c.h5' /timeseries/station/queue_length"

# interruption: SIGINT and SIGTERM leave the earlier file untouched and no temporary file
for sig in INT TERM; do
	echo "precious" > "$tmp/out.h5"
	"$BIN" run $Q --set duration=8000h -o "$tmp/out.h5" --quiet 2>"$tmp/err" &
	pid=$!
	sleep 1
	kill -$sig $pid
	wait $pid; rc=$?
	check "SIG$sig: exit status 1 (got $rc)" [ "$rc" = 1 ]
	check "SIG$sig: earlier file untouched" sh -c "[ \"\$(cat '$tmp/out.h5')\" = precious ]"
	check "SIG$sig: no temporary file left" [ -z "$(ls "$tmp" | grep 'out.h5.tmp')" ]
	check "SIG$sig: message says interrupted" grep -q "stopped at simulated time" "$tmp/err"
done
# kill -9 cannot be caught: nothing may appear under the output name
rm -f "$tmp/out.h5"
"$BIN" run $Q --set duration=8000h -o "$tmp/out.h5" --quiet &
pid=$!
sleep 1
kill -9 $pid; wait $pid 2>/dev/null
check "SIGKILL: no file under the output name" [ ! -e "$tmp/out.h5" ]

echo "$fails failure(s)"
[ "$fails" = 0 ]
