#!/bin/bash
# The console with 1,000 simulated sensors: time to the first painted fleet
# and the frame rate while updates stream, in headless Chromium (Debian's,
# driven by playwright-core). A loopback broker serves the built page as in
# `make run`; tests/browser/console.bench.mjs is the load generator (retained
# states for every sensor, then state changes at several rates, then one
# sensor's predictions) and reads the figures from the page.
#
# Usage: scripts/bench-console.sh   (make bench runs it; make console first)
# Env: BENCH_SENSORS (1000), BENCH_LOADS (3 page loads), BENCH_WINDOW_S (10 s
# per frame-rate figure), BENCH_RATES ("0 20 100 500" state changes/s),
# ANOMESH_CHROMIUM (/usr/bin/chromium), BENCH_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/.." || exit 1
[ -s build/console/index.html ] || { echo "build/console/index.html missing: make console"; exit 1; }
[ -d console/node_modules/playwright-core ] || { echo "console/node_modules missing: make console"; exit 1; }
chromium=${ANOMESH_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "$chromium not found (scripts/packages-test.txt: make deps-test)"; exit 1; }

dir=$(mktemp -d /tmp/bench-console.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
ws=$(free_port)
scripts/broker-conf.sh "$port" "$dir" "$ws" build/console >"$dir/mosquitto.conf" || exit 1
mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/"$ws") 2>/dev/null && break
	sleep 0.1
done
(exec 3<>/dev/tcp/127.0.0.1/"$ws") 2>/dev/null || { echo "broker did not start:"; cat "$dir/mosquitto.log"; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
echo "broker: mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on loopback (the make run config); page $(du -k build/console/index.html | cut -f1) KiB"
BENCH_MQTT=$port BENCH_WS=$ws ANOMESH_CHROMIUM=$chromium node tests/browser/console.bench.mjs
