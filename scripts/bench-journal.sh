#!/bin/bash
# bench-journal: the two ways to close issue 17's losses, measured at plant
# scale (run by scripts/bench.sh / make bench).
#  1. ingest-bt's journal (journal-bench): 1,000 and 3,000 sensors at 50 Hz,
#     10 samples a message, the LPMS-B2's 19 channels, BENCH_JOURNAL_S (10)
#     seconds of data, fsync every second of data: CPU share of one core,
#     journal and disk bytes per sample, write amplification against the
#     float32 payload and against the published JSON, fdatasync latency,
#     the restart (index rebuild) and a repair read.
#  2. The broker's autosave instead (mosquitto persistence): 3,000 sensors
#     (scorer-load, 3 channels, BENCH_BROKER_S (10) seconds) into a broker
#     with autosave_interval 1, 10 and 300 (production.conf), while a
#     persistent consumer is away (its queue grows to max_queued_messages,
#     as in the archiver's absence) and one is connected: the broker's CPU,
#     the bytes it writes, the saves and the size of one. A save writes the
#     whole in-memory database, so what a short interval costs grows with
#     the queue it protects.
# Every process started here is stopped by pid (tests/scripts/lib.sh).
set -u
cd "$(dirname "$0")/.."
BIN=${ANOMESH_BIN:-bin}
JS=${BENCH_JOURNAL_S:-10}
BS=${BENCH_BROKER_S:-10}
# shellcheck source=../tests/scripts/lib.sh
source tests/scripts/lib.sh
lib_init

echo "-- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in 1000 3000; do
	mkdir -p "$TMP/j$n"
	echo "\$ journal-bench --sensors $n --seconds $JS --channels 19 --fsync-ms 1000 --max-mb 1024 (dir on $(df --output=fstype "$TMP" | tail -1))"
	"$BIN/journal-bench" --dir "$TMP/j$n" --sensors "$n" --seconds "$JS" --channels 19 \
		--fsync-ms 1000 --max-mb 1024 || exit 1
	rm -rf "$TMP/j$n"
done

need mosquitto mosquitto_sub
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wbytes() { awk '/^write_bytes:/{print $2}' "/proc/$1/io"; }
hz=$(getconf CLK_TCK)
for every in 1 10 300; do
	port=$(free_port)
	data=$TMP/broker$every
	mkdir -p "$data"
	cat >"$TMP/broker$every.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $data/
autosave_interval $every
autosave_on_changes false
max_queued_messages 100000
max_queued_bytes 0
max_inflight_messages 20
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
EOF
	[ "$(id -u)" = 0 ] && echo "user root" >>"$TMP/broker$every.conf"
	broker_start "$TMP/broker$every.conf" "$port" || exit 1
	# the consumer that is away: a persistent session, then gone
	mosquitto_sub -h 127.0.0.1 -p "$port" -V mqttv5 -c -i bench-away -x 86400 -q 1 \
		-t 'factory/+/raw' -E >/dev/null 2>&1
	t0=$(cpu_ticks "$BROKER_PID")
	w0=$(wbytes "$BROKER_PID")
	s0=$(date +%s.%N)
	"$BIN/scorer-load" --broker "tcp://127.0.0.1:$port" --mode count --sensors 3000 \
		--rate-hz 50 --per-msg 10 --duration-s "$BS" --grace-s 1 \
		--metrics-interval 0 >"$TMP/load$every.out" 2>&1
	t1=$(cpu_ticks "$BROKER_PID")
	w1=$(wbytes "$BROKER_PID")
	s1=$(date +%s.%N)
	saves=$(grep -c 'Saving in-memory database' "$TMP/broker.log")
	broker_stop
	db=$(stat -c %s "$data/mosquitto.db" 2>/dev/null || echo 0)
	awk -v a="$t0" -v b="$t1" -v hz="$hz" -v w0="$w0" -v w1="$w1" -v s0="$s0" \
		-v s1="$s1" -v every="$every" -v saves="$saves" -v db="$db" \
		-v load="$(grep -o 'sent=[0-9]*\|received=[0-9]*\|msgs_per_s=[0-9]*' "$TMP/load$every.out" | paste -sd' ')" 'BEGIN {
		cpu = (b - a) / hz; wall = s1 - s0;
		printf "broker, 3000 sensors x 50 Hz (3 ch), autosave_interval %s s: %.0f%% of one core, %.1f MB/s written (%d saves in %.0f s), the final save %.1f MB [%s]\n",
		       every, 100 * cpu / wall, (w1 - w0) / 1e6 / wall, saves, wall, db / 1e6, load }'
	rm -f "$TMP/broker.log"
	rm -rf "$data"
done
echo "-- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
