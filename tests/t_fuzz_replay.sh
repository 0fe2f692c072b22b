#!/bin/sh
# t_fuzz_replay.sh - replay every fuzz target's crash reproducers
# (tests/fuzz/regressions/TARGET/) and seed corpus (tests/fuzz/corpus/TARGET/)
# through the same entry point as the fuzzer, built without libFuzzer by the
# ordinary compiler (BUILD/fuzz-replay/TARGET, tests/fuzz/replay_main.c).  A
# reproducer that crashes, asserts or trips a sanitizer again fails the test.
set -u
BUILD=${FS_BUILD:-build}
fails=0; n=0
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	bin=$BUILD/fuzz-replay/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL  $t: $bin not built"; fails=$((fails + 1)); continue
	fi
	for kind in regressions corpus; do
		d=tests/fuzz/$kind/$t
		[ -d "$d" ] || continue
		n=$((n + 1))
		if out=$("$bin" "$d" 2>&1); then
			echo "ok    $t $kind: $out"
		else
			echo "FAIL  $t $kind"; echo "$out" | tail -n 30; fails=$((fails + 1))
		fi
	done
done
echo "$n replay(s), $fails failure(s)"
[ "$n" -gt 0 ] && [ "$fails" = 0 ]
