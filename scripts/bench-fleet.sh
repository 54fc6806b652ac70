#!/bin/bash
# Fleet tier bench (issue 12; fleet/README.md): on this machine, in one run,
#   single gateway  bin/scorer-load publishes raw messages (QoS 1, 10
#                   samples each) into one gateway broker whose own
#                   bin/archiver stores them: the archiver's samples/s;
#   into the cluster  the same load into N gateway brokers at once, each
#                   bridged (scripts/fleet-bridge.sh) into a three-node NATS
#                   cluster; messages/s until the central archiver's
#                   consumers hold all of them, and the NATS nodes' CPU per
#                   1,000 messages (the cost of a gateway's traffic);
#   central archiver  bin/fleet-archiver started on that backlog: samples/s
#                   until every message is stored and acknowledged.
# The machine is shared and noisy: read the ratios within one run (printed
# at the end), not the absolute figures across runs.
#
# Usage: scripts/bench-fleet.sh [N ...]   (gateways, default 1 2 3)
# Env: BENCH_FLEET_SENSORS (per gateway, default 200: 1,000 messages/s),
#      BENCH_FLEET_S (seconds of load, default 6), BENCH_FLEET_INFLIGHT (the
#      gateway brokers' max_inflight_messages, which bounds each bridge:
#      default Mosquitto's 20), BENCH_KEEP=1 keeps the dir.
set -u
cd "$(dirname "$0")/.." || exit 1
bin=${ANOMESH_BIN:-bin}
for p in scorer-load archiver fleet-archiver; do
	[ -x "$bin/$p" ] || { echo "no $bin/$p (run make)"; exit 1; }
done
command -v nats-server >/dev/null || { echo "no nats-server (make deps)"; exit 1; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 2 3)
sensors=${BENCH_FLEET_SENSORS:-200}
inflight=${BENCH_FLEET_INFLIGHT:-20}
dur=${BENCH_FLEET_S:-6}
per_gw=$((sensors * 5 * dur)) # 50 Hz / 10 samples per message
dir=$(mktemp -d /tmp/bench-fleet.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 200); do port_open "$1" && return 0; sleep 0.1; done; return 1; }
now() { date +%s.%N; }
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
broker() { # name port [extra conf file]
	mkdir -p "$dir/$1"
	{ scripts/broker-conf.sh "$2" "$dir/$1" && { [ -z "${3:-}" ] || cat "$3"; }; } >"$dir/$1.conf"
	mosquitto -c "$dir/$1.conf" >"$dir/$1.log" 2>&1 &
	pids+=($!)
	broker_pid=$!
	wait_port "$2" || { echo "broker $1 did not start"; exit 1; }
}
load() { # port name: the generator, in the background; its pid in $!
	"$bin/scorer-load" --mode count --broker "tcp://127.0.0.1:$1" --sensors "$sensors" \
		--duration-s "$dur" --grace-s 2 --metrics-interval 0 --instance "load-$2" >"$dir/load-$2.log" 2>&1 &
}

echo "bridges: max_inflight_messages $inflight"
echo "load: $sensors sensors x 50 Hz per gateway, 10 samples/message (= $((sensors * 5)) messages/s), ${dur} s: $per_gw messages per gateway"

# ---- one gateway, as today ------------------------------------------------------------
# The archiver's persistent session exists, then the load queues on the
# broker while it is down (killed: a clean stop would end the session), then
# it stores the backlog: its capacity, measured as the central archiver's is
# below.
gp=$(free_port)
broker single "$gp"
arch() {
	"$bin/archiver" --broker "tcp://127.0.0.1:$gp" --db "$dir/single.db" --instance bench >>"$dir/archiver.log" 2>&1 &
	apid=$!
	pids+=($apid)
}
arch
count() { sqlite3 "$dir/single.db" 'SELECT count(*) FROM messages' 2>/dev/null || echo 0; }
# one message through proves the subscription is in place
probe='{"v":1,"sensor":"probe","run":"r","seq":0,"t0":1,"rate_hz":50,"channels":["x"],"samples":[[0]]}'
for _ in $(seq 100); do
	mosquitto_pub -p "$gp" -q 1 -t factory/probe/raw -m "$probe"
	[ "$(count)" -ge 1 ] && break
	sleep 0.2
done
kill -KILL "$apid"; wait "$apid" 2>/dev/null # its session stays: the broker queues
load "$gp" single
wait $!
t0=$(now)
arch
until [ "$(count)" -ge $((per_gw + 1)) ]; do
	sleep 0.1
	(($(echo "$(now) - $t0 > 120" | bc))) && { echo "single gateway: archiver did not finish"; break; }
done
t1=$(now)
single=$(echo "$per_gw * 10 / ($t1 - $t0)" | bc)
echo "single gateway: archiver stored a backlog of $per_gw messages in $(printf %.1f "$(echo "$t1 - $t0" | bc)") s: $single samples/s"
kill "$apid"; wait "$apid" 2>/dev/null

# ---- the cluster -------------------------------------------------------------------------
base=$(python3 -c '
import socket, random
for _ in range(200):
    b = random.randrange(20000, 50000)
    ok = True
    for k in range(4):
        for i in range(3):
            s = socket.socket()
            try: s.bind(("127.0.0.1", b + 100 * k + i))
            except OSError: ok = False
            s.close()
    if ok: print(b); break')
servers="" mqtt="" npids=()
for i in 1 2 3; do
	scripts/fleet-nats-conf.sh "n$i" "$i" "$dir/js$i" "$base" >"$dir/n$i.conf"
	nats-server -c "$dir/n$i.conf" >"$dir/n$i.log" 2>&1 &
	pids+=($!)
	npids+=($!)
	servers="$servers${servers:+,}nats://127.0.0.1:$((base + i - 1))"
	mqtt="$mqtt${mqtt:+,}127.0.0.1:$((base + 199 + i))"
done
for i in 0 1 2; do wait_port $((base + 200 + i)) || { echo "NATS node $((i + 1)) did not start"; exit 1; }; done
for _ in $(seq 60); do mosquitto_pub -V mqttv311 -p $((base + 200)) -q 1 -t fleet/_setup -n -i bench-setup 2>/dev/null && break; sleep 0.5; done
"$bin/fleet-archiver" --servers "$servers" --dir "$dir/central" --setup >"$dir/setup.log" 2>&1 || { echo "fleet-archiver --setup failed"; cat "$dir/setup.log"; exit 1; }
pending() { # messages the central archiver's consumers have not had acknowledged
	curl -s "http://127.0.0.1:$((base + 300))/jsz?consumers=true" | python3 -c '
import json, sys
d = json.load(sys.stdin); n = 0
for a in d.get("account_details", []):
    for s in a.get("stream_detail", []):
        for c in s.get("consumer_detail", []) or []:
            if c["name"].startswith("archive-p"): n += c["num_pending"] + c["num_ack_pending"]
print(n)'
}
declare -A into arch cost
for n in "${sizes[@]}"; do
	gws=() gwpids=()
	for g in $(seq "$n"); do
		p=$(free_port)
		{ echo "max_inflight_messages $inflight"
			scripts/fleet-bridge.sh --plant bench --gateway "n${n}g$g" --cluster "$mqtt"; } >"$dir/bridge-$n-$g.conf"
		broker "gw-$n-$g" "$p" "$dir/bridge-$n-$g.conf"
		gws+=("$p")
		gwpids+=("$broker_pid")
	done
	sleep 2 # the bridges connect
	want=$((n * per_gw))
	c0=$(cpu_ticks "${npids[@]}")
	t0=$(now)
	lp=()
	for g in $(seq "$n"); do load "${gws[$((g - 1))]}" "$n-$g"; lp+=($!); done
	last=-1 tlast=$t0
	while :; do
		got=$(pending)
		[ "$got" != "$last" ] && { last=$got; tlast=$(now); }
		[ "$got" -ge "$want" ] && break
		(($(echo "$(now) - $tlast > 15" | bc))) && { echo "N=$n: the cluster stopped at $got of $want"; break; }
		sleep 0.2
	done
	c1=$(cpu_ticks "${npids[@]}")
	wait "${lp[@]}"
	into[$n]=$(echo "$last / ($tlast - $t0)" | bc)
	cost[$n]=$(echo "scale=1; ($c1 - $c0) * 1000 / $(getconf CLK_TCK) * 1000 / $last" | bc)
	echo "N=$n gateways: $last messages into the cluster in $(printf %.1f "$(echo "$tlast - $t0" | bc)") s: ${into[$n]} messages/s; NATS nodes' CPU ${cost[$n]} ms per 1,000 messages"
	# the central archiver on that backlog
	t0=$(now)
	"$bin/fleet-archiver" --servers "$servers" --dir "$dir/central-$n" --stats-interval 0 >"$dir/central-$n.log" 2>&1 &
	fpid=$!
	pids+=($fpid)
	until [ "$(pending)" -eq 0 ]; do
		sleep 0.2
		(($(echo "$(now) - $t0 > 180" | bc))) && { echo "N=$n: central archiver did not finish"; break; }
	done
	t1=$(now)
	kill "$fpid"; wait "$fpid" 2>/dev/null
	stored=$(for f in "$dir/central-$n"/bench/*/p*.db; do sqlite3 "$f" 'SELECT count(*) FROM messages'; done | paste -sd+ | bc)
	arch[$n]=$(echo "$stored * 10 / ($t1 - $t0)" | bc)
	echo "N=$n gateways: central archiver stored $stored messages in $(printf %.1f "$(echo "$t1 - $t0" | bc)") s: ${arch[$n]} samples/s"
	for p in "${gwpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
done
echo
echo "ratios (this run):"
for n in "${sizes[@]}"; do
	echo "  N=$n: into the cluster ${into[$n]} msg/s = $(echo "scale=2; ${into[$n]} / (${sensors} * 5 * $n)" | bc) of the offered load;" \
		"central archiver ${arch[$n]} samples/s = $(echo "scale=2; ${arch[$n]} / $single" | bc) x the single gateway's archiver"
done
f=${sizes[0]}
for n in "${sizes[@]:1}"; do
	echo "  cost per extra gateway (N=$f -> N=$n): intake x$(echo "scale=2; ${into[$n]} / ${into[$f]}" | bc)," \
		"NATS CPU per message x$(echo "scale=2; ${cost[$n]} / ${cost[$f]}" | bc)"
done
