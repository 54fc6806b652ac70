#!/bin/bash
# make bench: run every scripts/bench-*.sh in turn. Each prints its own
# figures with the command that produced them; this prints the machine they
# ran on, so a quoted number always comes with its context.
set -u
cd "$(dirname "$0")/.."
echo "== anomesh bench on $(uname -n): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
rc=0
found=0
for b in scripts/bench-*.sh; do
	[ -e "$b" ] || continue
	found=1
	echo
	echo "== $b"
	bash "$b" || { echo "!! $b failed (exit $?)"; rc=1; }
done
[ $found = 1 ] || echo "no benchmarks yet (scripts/bench-*.sh)"
exit $rc
