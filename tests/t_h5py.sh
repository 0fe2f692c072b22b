#!/bin/sh
# t_h5py.sh - the run file as outside tools see it.  A file written by the
# recorder unit test (FS_RECORDER_KEEP) and, once the CLI exists, a quickstart
# run are read with h5py (tests/h5check.py: units and description on every
# dataset, root attributes, complete == 1), listed with h5dump -H, and two
# identical recordings are compared with h5diff (no differences allowed).
# Skips when h5py is missing; run from the repository root by tests/run.sh
# with FS_BUILD and FS_BIN set.
BUILD=${FS_BUILD:-build}
BIN=${FS_BIN:-$BUILD/factorysim}
HERE=$(dirname "$0")

# pyenv or a venv may shadow the system python that has python3-h5py
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import h5py' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "SKIP t_h5py: python3 cannot import h5py"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_h5py.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL t_h5py: $*"
	exit 1
}

# check FILE: h5py walk, then the header listing
check() {
	"$PY" "$HERE/h5check.py" "$1" || fail "h5check.py rejected $1"
	if command -v h5dump >/dev/null 2>&1; then
		h5dump -H "$1" >"$tmp/dump.txt" 2>&1 || { cat "$tmp/dump.txt"; fail "h5dump -H $1"; }
		grep -q 'DATASET "time"' "$tmp/dump.txt" || fail "h5dump -H $1 lists no /timeseries/time"
		echo "h5dump -H $1: $(grep -c 'DATASET "' "$tmp/dump.txt") datasets"
	fi
}

# same FILE1 FILE2: h5diff finds nothing (datasets and attributes)
same() {
	command -v h5diff >/dev/null 2>&1 || return 0
	h5diff "$1" "$2" >"$tmp/diff.txt" 2>&1 || { head -40 "$tmp/diff.txt"; fail "h5diff $1 $2"; }
	echo "h5diff $1 $2: identical"
}

unit="$BUILD/tests/test_recorder"
[ -x "$unit" ] || fail "$unit is not built"
FS_RECORDER_KEEP="$tmp/x.h5" "$unit" >"$tmp/unit.log" 2>&1 || { cat "$tmp/unit.log"; fail "$unit"; }
[ -f "$tmp/x.h5" ] || fail "$unit did not leave $tmp/x.h5"
check "$tmp/x.h5"
FS_RECORDER_KEEP="$tmp/y.h5" "$unit" >"$tmp/unit.log" 2>&1 || { cat "$tmp/unit.log"; fail "$unit"; }
same "$tmp/x.h5" "$tmp/y.h5"

yaml=examples/quickstart/quickstart.yaml
if [ -x "$BIN" ] && [ -f "$yaml" ]; then
	"$BIN" run "$yaml" -o "$tmp/q.h5" --quiet || fail "$BIN run $yaml"
	check "$tmp/q.h5"
	"$BIN" run "$yaml" -o "$tmp/q2.h5" --quiet || fail "$BIN run $yaml (second run)"
	same "$tmp/q.h5" "$tmp/q2.h5"
else
	echo "t_h5py: no $BIN or $yaml yet; CLI part skipped"
fi
echo "PASS t_h5py"
