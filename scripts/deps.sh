#!/bin/sh
# Install the Debian packages in scripts/packages.txt that are missing.
# As root it runs apt-get directly, otherwise through sudo when sudo works
# without a password; where neither works it stops and prints the exact
# command to run. Usage: scripts/deps.sh [--check]  (--check: only report)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages.txt")
missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--check" ]; then
	echo "missing packages:$missing" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "deps: need root to install:$missing" >&2
	echo "deps: run:  sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; a stale one may name old versions.
$sudo apt-get update -qq || { echo "deps: apt-get update failed; check the network or the apt sources" >&2; exit 1; }
$sudo $cmd || { echo "deps: '$cmd' failed" >&2; exit 1; }
