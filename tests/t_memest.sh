#!/bin/sh
# t_memest.sh - the memory estimate (run/memest.h): `validate` prints it; it is
# within a factor of 2 of the measured peak RSS (getrusage of the child) on
# scenarios of different sizes; `run` refuses a scenario above the limit
# (exit 2, nothing written) unless --force; --memory-limit is checked.
# Under sanitizers (ASan inflates the RSS) the accuracy checks are skipped.
set -u
BIN=${FS_BIN:-build/factorysim}
Q=examples/quickstart/quickstart.yaml
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then echo "ok    $d"; else echo "FAIL  $d"; fails=$((fails + 1)); fi
}
status() { "$@" >/dev/null 2>&1; echo $?; }
short="--set duration=2min --set warmup=0s"

# the estimate in bytes, as `validate` prints it: "memory: about X (N B) at peak"
estimate() { "$BIN" validate "$@" | sed -n 's/^memory: about [^(]*(\([0-9]*\) B).*/\1/p'; }

check "validate prints the estimate" sh -c "'$BIN' validate $Q | grep -q '^memory: about .* at peak'"

if grep -q __asan_init "$BIN" 2>/dev/null; then
	echo "skip  estimate vs peak RSS: $BIN is built with AddressSanitizer"
else
	# small; 2000 racks (per-rack series dominate); far over capacity (backlog)
	for case in "small|$short" \
		"racks|$short --set racks.0.count=2000" \
		"backlog|--set duration=5min --set warmup=0s --set workload.1.arrival.rate=3000/s"; do
		name=${case%%|*}; args=${case#*|}
		# shellcheck disable=SC2086
		est=$(estimate $Q $args)
		# shellcheck disable=SC2086
		rss=$(python3 tests/peak_rss.py "$BIN" run $Q $args -o "$tmp/$name.h5" --quiet)
		echo "      $name: estimate $est B, peak RSS $rss B"
		check "$name: estimate within a factor of 2 of the peak RSS" \
			python3 -c "import sys; e, r = $est, $rss; sys.exit(0 if r / 2 <= e <= 2 * r else 1)"
	done
fi

# refusal above the limit, and --force
rm -f "$tmp/big.h5"
"$BIN" run $Q $short -o "$tmp/big.h5" --quiet --memory-limit 1MiB 2>"$tmp/err"; rc=$?
check "over --memory-limit: exit status 2 (got $rc)" [ "$rc" = 2 ]
check "over --memory-limit: the message gives the estimate and the way out" \
	grep -q "would need about .* above the limit of 1.00 MiB; largest terms: program and HDF5 .*--force" "$tmp/err"
check "over --memory-limit: no file written" sh -c "! ls '$tmp' | grep -q big.h5"
check "--force runs anyway" "$BIN" run $Q $short -o "$tmp/big.h5" --quiet --memory-limit 1MB --force
check "--force: the file is there" [ -f "$tmp/big.h5" ]
check "a generous --memory-limit runs" "$BIN" run $Q $short -o "$tmp/ok.h5" --quiet --memory-limit 4GiB
check "--memory-limit takes a size -> 2" [ "$(status "$BIN" run $Q --memory-limit lots)" = 2 ]
check "--memory-limit needs a value -> 2" [ "$(status "$BIN" run $Q --memory-limit)" = 2 ]

echo "$fails failure(s)"
[ "$fails" = 0 ]
