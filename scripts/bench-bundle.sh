#!/bin/bash
# Pack the mesh benchmark for a bigger machine that has neither our build
# tools nor our Debian packages (the 16-core device machine: Ubuntu, no
# package registry): the five programs bench-mesh.sh runs, mosquitto and
# sqlite3, every shared library they load (glibc and its loader included,
# so the host's libraries do not matter), in DIR/bundle.tar.xz, and
# DIR/run.sh, which unpacks it there, puts wrappers that start each program
# through the carried loader in bin/ and on PATH, and runs
# `BENCH_PREBUILT=1 scripts/bench-mesh.sh` from the repository root.
#
# Usage: scripts/bench-bundle.sh DIR     (e.g. .devb, listed in .git/info/exclude)
# then, on the other machine, in a copy of the repository with DIR beside:
#   [BENCH_SCORERS=2 BENCH_ROUNDS=3 ...] bash DIR/run.sh [N ...]
# run.sh writes bench.txt, machine.txt and logs.tgz (the last round's
# logs) to $OUT (default /tmp/bench-out).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=$1
progs=(scorer archiver alerter scorer-load mesh-standin)
make --no-print-directory -s "${progs[@]/#/bin/}" >/dev/null
[ -f models/lpms-linacc.aem ] || { echo "models/lpms-linacc.aem missing: make models" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/b/real" "$stage/b/lib" "$out"
for p in "${progs[@]}"; do cp "bin/$p" "$stage/b/real/"; done
cp "$(command -v mosquitto)" "$(command -v sqlite3)" "$stage/b/real/"
for f in "$stage"/b/real/*; do ldd "$f" | awk '$3 ~ /^\// {print $3}'; done | sort -u |
	while read -r l; do cp -L "$l" "$stage/b/lib/"; done
cp -L /lib64/ld-linux-x86-64.so.2 "$stage/b/lib/"
echo "packing $(du -sh "$stage/b" | cut -f1) into $out/bundle.tar.xz (about a minute)"
tar -cJf "$out/bundle.tar.xz" -C "$stage" b
cat >"$out/run.sh" <<'RUN'
#!/bin/bash
# Made by scripts/bench-bundle.sh: the mesh benchmark with carried programs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/bench-out}
B=/tmp/anomesh-bundle
mkdir -p "$OUT" && rm -rf "$B" && mkdir -p "$B" && tar -xJf "$here/bundle.tar.xz" -C "$B" --strip-components 1 || exit 1
wrap() {
	printf '#!/bin/sh\nexec %s/lib/ld-linux-x86-64.so.2 --library-path %s/lib %s/real/%s "$@"\n' "$B" "$B" "$B" "$1" >"$2/$1"
	chmod +x "$2/$1"
}
cd "$here/.." || exit 1
mkdir -p bin "$B/path"
for f in "$B"/real/*; do # ours in bin/, as bench-mesh calls them; the rest on PATH
	case ${f##*/} in mosquitto | sqlite3) wrap "${f##*/}" "$B/path" ;; *) wrap "${f##*/}" bin ;; esac
done
export PATH=$B/path:$PATH
{
	echo "cores $(nproc), kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
	grep PRETTY /etc/os-release; free -g | sed -n 2p
	mosquitto -h | head -1; bin/scorer --help 2>&1 | head -1
} 2>&1 | tee "$OUT/machine.txt"
BENCH_KEEP=1 BENCH_PREBUILT=1 timeout "${BUNDLE_LIMIT_S:-540}" scripts/bench-mesh.sh "$@" 2>&1 | tee "$OUT/bench.txt"
d=$(ls -dt /tmp/bench-mesh.* 2>/dev/null | head -1)
[ -z "$d" ] || tar -czf "$OUT/logs.tgz" --exclude='*.db*' -C "$d" .
RUN
chmod +x "$out/run.sh"
echo "made $out/run.sh and $out/bundle.tar.xz"
