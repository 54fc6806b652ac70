#!/bin/bash
# bench-ingest: figures for ingest-bt (run by scripts/bench.sh / make bench).
#  1. LPBUS parser + data-frame decoder throughput on one core (lpbus-bench).
#  2. CPU share of one ingest-bt process serving 10 lpms-emu sensors at
#     400 Hz (full default mask, float mode) into a real mosquitto on a free
#     loopback port, measured from /proc/<pid>/stat over BENCH_SECONDS (20).
# Every process started here is stopped by pid (tests/scripts/lib.sh).
set -u
cd "$(dirname "$0")/.."
BIN=${ANOMESH_BIN:-bin}
SECS=${BENCH_SECONDS:-20}
N=${BENCH_SENSORS:-10}

echo "-- parser: $BIN/lpbus-bench 3"
"$BIN/lpbus-bench" 3 || exit 1

# shellcheck source=../tests/scripts/lib.sh
source tests/scripts/lib.sh
lib_init
need mosquitto
port=$(free_port)
scripts/broker-conf.sh "$port" "$TMP" >"$TMP/broker.conf"
broker_start "$TMP/broker.conf" "$port" || exit 1
srcs=()
for i in $(seq "$N"); do
	lib_spawn "$TMP/emu$i.log" "$BIN/lpms-emu" --listen-port 0 --port-file "$TMP/emu$i.port" --rate 400
done
for i in $(seq "$N"); do
	wait_for "emulator $i" 10 test -s "$TMP/emu$i.port" || exit 1
	srcs+=("tcp:127.0.0.1:$(cat "$TMP/emu$i.port")#bench$i")
done
lib_spawn "$TMP/ingest.log" "$BIN/ingest-bt" --broker "tcp://127.0.0.1:$port" --rate 400 \
	--metrics-interval 0 "${srcs[@]}"
ingest=$SPAWNED_PID
streaming() { [ "$(grep -c 'streaming 400 Hz' "$TMP/ingest.log")" -ge "$N" ]; }
wait_for "$N sensors streaming" 20 streaming || { cat "$TMP/ingest.log"; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$ingest")
s0=$(date +%s.%N)
sleep "$SECS" # the measurement window, not a synchronisation
t1=$(cpu_ticks "$ingest")
s1=$(date +%s.%N)
kill -TERM "$ingest"
lib_wait_exit "$ingest" 10
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v w0="$s0" -v w1="$s1" -v n="$N" 'BEGIN {
	cpu = (b - a) / hz; wall = w1 - w0;
	printf "ingest-bt, %d sensors x 400 Hz (%d samples/s) over tcp: %.1f%% of one core (%.2f s CPU in %.1f s)\n",
	       n, n * 400, 100 * cpu / wall, cpu, wall }'
grep -E 'stopping:' "$TMP/ingest.log" | sed 's/^.*INFO: /ingest-bt /'
