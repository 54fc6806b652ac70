#!/bin/bash
# make run-fleet: the fleet tier on one machine (issue 12, fleet/README.md):
# a NATS JetStream cluster of three nodes, two gateways of plant1 (gw1, gw2)
# -- each a Mosquitto with the fleet bridge and the whole mesh: emulated
# arms (arm1 and arm2 on both: the same names, kept apart centrally),
# ingest-bt, scorer, archiver, alerter -- the central archiver, and the
# fleet view: bin/fleet-view feeding a Mosquitto that serves the console
# with every gateway's machines, grouped by plant and gateway. Ctrl-C stops
# every process this script started, by pid, newest first.
#
# Ports (environment): ANOMESH_FLEET_NATS (4222: clients 4222-4224, routes
# 4322-, MQTT 4422-, monitoring 4522-), ANOMESH_PORT (1883: gw1, +1 gw2,
# +2 the fleet view), ANOMESH_CONSOLE_PORT (8080: the fleet view's console).
set -u
cd "$(dirname "$0")/.." || exit 1
nats=${ANOMESH_FLEET_NATS:-4222}
port=${ANOMESH_PORT:-1883}
console_port=${ANOMESH_CONSOLE_PORT:-8080}
plant=plant1
dir=$(mktemp -d /tmp/anomesh-fleet.XXXXXX)
say_tag=fleet
start_quiet=1
# shellcheck source=scripts/procs.sh
source scripts/procs.sh
trap stop_all EXIT
trap 'exit 0' INT TERM
for p in $nats $((nats + 1)) $((nats + 2)) $((nats + 200)) $((nats + 201)) $((nats + 202)) \
	$port $((port + 1)) $((port + 2)) $console_port; do
	busy "$p" && { say "port $p is in use; choose others: ANOMESH_FLEET_NATS=14222 ANOMESH_PORT=18830 ANOMESH_CONSOLE_PORT=18080 make run-fleet"; exit 1; }
done

# ---- the cluster -------------------------------------------------------------
servers="" mqtt=""
for i in 1 2 3; do
	scripts/fleet-nats-conf.sh "n$i" "$i" "$dir/js$i" "$nats" >"$dir/n$i.conf" || exit 1
	start "nats-n$i" setsid nats-server -c "$dir/n$i.conf"
	servers="$servers${servers:+,}nats://127.0.0.1:$((nats + i - 1))"
	mqtt="$mqtt${mqtt:+,}127.0.0.1:$((nats + 199 + i))"
done
for i in 0 1 2; do
	wait_port $((nats + 200 + i)) 20 || { say "NATS node $((i + 1)) did not come up; see $dir/nats-n$((i + 1)).log"; exit 1; }
done
# The MQTT listener makes its streams on the first connection, and the
# central archiver's consumers must exist before any gateway streams.
for _ in $(seq 40); do
	mosquitto_pub -V mqttv311 -p $((nats + 200)) -q 1 -t fleet/_setup -n -i fleet-setup 2>/dev/null && break
	sleep 0.5
done
say "NATS cluster up: $servers (MQTT for bridges: $mqtt)"
start fleet-archiver setsid bin/fleet-archiver --servers "$servers" --dir "$dir/central"
for _ in $(seq 100); do grep -q consuming "$dir/fleet-archiver.log" && break; sleep 0.3; done
grep -q consuming "$dir/fleet-archiver.log" || { say "fleet-archiver did not start; see $dir/fleet-archiver.log"; exit 1; }

# ---- the gateways ------------------------------------------------------------
gateway() { # name port seed...
	local gw=$1 p=$2 g="$dir/$1"; shift 2
	mkdir -p "$g"
	{ scripts/broker-conf.sh "$p" "$g" &&
		scripts/fleet-bridge.sh --plant $plant --gateway "$gw" --cluster "$mqtt"; } >"$g/mosquitto.conf" || exit 1
	start "$gw-mosquitto" setsid mosquitto -c "$g/mosquitto.conf"
	wait_port "$p" 10 || { say "$gw's broker did not come up; see $dir/$gw-mosquitto.log"; exit 1; }
	local sources=() arm=1
	for seed in "$@"; do
		start "$gw-emu-arm$arm" bin/lpms-emu --listen-port 0 --port-file "$g/arm$arm.port" \
			--arm-seed "$seed" $([ "$gw$arm" = gw11 ] && echo --faults)
		for _ in $(seq 100); do [ -s "$g/arm$arm.port" ] && break; sleep 0.1; done
		sources+=("tcp:127.0.0.1:$(cat "$g/arm$arm.port")#arm$arm")
		arm=$((arm + 1))
	done
	export ANOMESH_BROKER=tcp://127.0.0.1:$p ANOMESH_ROOT=factory
	start "$gw-ingest-bt" bin/ingest-bt --instance "$gw" "${sources[@]}"
	start "$gw-scorer" bin/scorer --instance "$gw" --model "*=models/arm-linacc.aem"
	start "$gw-archiver" bin/archiver --instance "$gw" --db "$g/archive.db"
	start "$gw-alerter" bin/alerter --instance "$gw"
	unset ANOMESH_BROKER ANOMESH_ROOT
	say "$gw: broker 127.0.0.1:$p, arms arm1 and arm2, bridged to the cluster as fleet/$plant/$gw/"
}
gateway gw1 "$port" 2 3
gateway gw2 $((port + 1)) 5 6

# ---- the fleet view ----------------------------------------------------------
view=$((port + 2))
mkdir -p "$dir/view"
if [ -r build/console/index.html ]; then
	scripts/broker-conf.sh "$view" "$dir/view" "$console_port" build/console >"$dir/view/mosquitto.conf"
else
	scripts/broker-conf.sh "$view" "$dir/view" >"$dir/view/mosquitto.conf"
	say "no console built (make console): the fleet view has MQTT only"
fi
start view-mosquitto setsid mosquitto -c "$dir/view/mosquitto.conf"
wait_port "$view" 10 || { say "the fleet view's broker did not come up; see $dir/view-mosquitto.log"; exit 1; }
start fleet-view bin/fleet-view --servers "$servers" --broker "tcp://127.0.0.1:$view" --instance fleet

say "fleet up. Where to look:"
echo "  console, every gateway grouped: http://127.0.0.1:$console_port/  (sign in: broker ws://127.0.0.1:$console_port, topic root fleet/+/+)"
echo "  the fleet's topics:             mosquitto_sub -p $view -t 'fleet/#' -v"
echo "  one gateway as it always was:   mosquitto_sub -p $port -t 'factory/#' -v"
echo "  the central archive:            $dir/central/$plant/<gateway>/p<NN>.db  (bin/archiver export --db FILE --sensor arm1 ...)"
echo "  the cluster:                    curl -s http://127.0.0.1:$((nats + 300))/jsz?consumers=1 ; log: $dir/fleet-archiver.log"
wait -n -p gone "${pids[@]}"
for i in "${!pids[@]}"; do
	[ "${pids[$i]}" = "${gone:-}" ] && say "${names[$i]} (pid $gone) exited; stopping. Its log: $dir/${names[$i]}.log"
done
exit 1
