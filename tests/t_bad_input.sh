#!/bin/sh
# t_bad_input.sh - the bad-scenario corpus: every tests/bad/NAME.yaml must be
# refused by `factorysim validate` and by `factorysim run` with exit status 2,
# without crashing, with the exact line PREFIX + NAME.expected on stderr, and
# without creating an output file.  NAME.args, if present, holds extra
# arguments (e.g. --set overrides).  Helper files for includes live in
# tests/bad/inc/ and are not cases themselves.
#
# Run from anywhere; FS_BIN names the program (default build/factorysim).

PREFIX='factorysim: '

cd "$(dirname "$0")/.." || exit 1
FS_BIN=${FS_BIN:-build/factorysim}
case $FS_BIN in
/*) ;;
*) FS_BIN="$(pwd)/$FS_BIN" ;;
esac
if [ ! -x "$FS_BIN" ]; then
	echo "t_bad_input: $FS_BIN not found or not executable"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fs_bad.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
ncases=0

# check CASE VERB STATUS STDERR_FILE EXPECTED_LINE
check() {
	if [ "$3" -ge 128 ]; then
		echo "FAIL $1 ($2): crashed with status $3"
		return 1
	fi
	if [ "$3" -ne 2 ]; then
		echo "FAIL $1 ($2): exit status $3, expected 2"
		sed 's/^/    /' "$4"
		return 1
	fi
	if ! grep -F -x -q -e "$5" "$4"; then
		echo "FAIL $1 ($2): stderr lacks the expected line"
		echo "    expected: $5"
		sed 's/^/    got:      /' "$4"
		return 1
	fi
	return 0
}

for yaml in tests/bad/*.yaml; do
	[ -f "$yaml" ] || continue
	name=$(basename "$yaml" .yaml)
	dir=$(dirname "$yaml")
	ncases=$((ncases + 1))
	if [ ! -f "$dir/$name.expected" ]; then
		echo "FAIL $name: no $name.expected"
		fail=$((fail + 1))
		continue
	fi
	expected="$PREFIX$(cat "$dir/$name.expected")"
	args=""
	[ -f "$dir/$name.args" ] && args=$(cat "$dir/$name.args")
	ok=1

	# shellcheck disable=SC2086 # args is a word list on purpose
	"$FS_BIN" validate "$yaml" $args >"$tmp/out" 2>"$tmp/err"
	check "$name" validate $? "$tmp/err" "$expected" || ok=0

	rm -f "$tmp/out.h5"
	# shellcheck disable=SC2086
	"$FS_BIN" run "$yaml" $args -o "$tmp/out.h5" >"$tmp/out" 2>"$tmp/err"
	check "$name" run $? "$tmp/err" "$expected" || ok=0
	if [ -e "$tmp/out.h5" ] || ls "$tmp"/out.h5.* >/dev/null 2>&1; then
		echo "FAIL $name (run): an output file was created"
		ok=0
	fi

	if [ $ok -eq 1 ]; then
		echo "ok   $name"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done

if [ "$ncases" -lt 14 ]; then
	echo "FAIL: only $ncases cases in tests/bad (expected at least 14)"
	fail=$((fail + 1))
fi
echo "t_bad_input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
