#!/bin/sh
# Install the Debian packages of anomesh's package lists that are missing.
# As root it runs apt-get directly, otherwise through sudo when sudo works
# without a password; where neither works it stops and prints the exact
# command to run.
#
# Usage: scripts/deps.sh [--check] [LIST...]   (--check: only report)
#   LIST  package lists; default scripts/packages.txt (build, run, the image)
#         and scripts/packages-console.txt (the console's build: Node, npm).
#         scripts/packages-test.txt (Chromium for the browser tests) is
#         passed by make when tests or benchmarks need it.
# A list has one package per line, '#' starts a comment. A line may name a
# command after the package: the need is then met when that command is on
# PATH, whichever package brought it (nodesource's nodejs bundles npm and
# conflicts with Debian's npm package, which must then not be installed).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	shift
fi
[ $# -gt 0 ] || set -- "$here/packages.txt" "$here/packages-console.txt"
missing=""
for list in "$@"; do
	[ -r "$list" ] || { echo "deps: cannot read package list $list" >&2; exit 1; }
	# Each line: PACKAGE [COMMAND]. Read as words, two at a time.
	lines=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
	while read -r p cmd; do
		[ -n "$p" ] || continue
		if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
			continue
		fi
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*"install ok installed"*) ;;
		*) missing="$missing $p" ;;
		esac
	done <<LINES
$lines
LINES
done
[ -z "$missing" ] && exit 0
if [ $check = 1 ]; then
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
