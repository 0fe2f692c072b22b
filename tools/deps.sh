#!/bin/sh
# deps.sh PKG... - make sure the Debian packages the build needs are installed.
#
# Run by `make run`, `make test` and `make bench` before anything is compiled, so
# that on a fresh Debian machine with only gcc and make either command works as
# the first one typed.  As root it installs what is missing with apt-get; as
# anyone else it prints the exact command to type and fails.
missing=""
for p in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "factorysim needs these packages, and this is not a Debian-like system:$missing" >&2
	echo "Install their equivalents (GSL, libyaml, HDF5 + tools, cmocka, pkg-config) and run make again." >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "factorysim needs these Debian packages:$missing" >&2
	echo "Install them with:" >&2
	echo "    sudo apt-get install -y$missing" >&2
	echo "then run make again." >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# An out-of-date or empty package list is the usual reason an install fails on a
# fresh machine; refresh it once, then install.
apt-get update -qq || exit 1
apt-get install -y -qq --no-install-recommends $missing || exit 1
