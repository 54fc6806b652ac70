#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The fleet tier's configs and its view (fleet/README.md): the bridge
# generator refuses ids NATS or MQTT would misread and renders the
# persistent bridge; and end to end on one NATS node with JetStream and its
# MQTT listener: gateway brokers with scripts/fleet-bridge.sh publish their
# machines' retained states, bin/fleet-view puts them into the view broker
# (where the console connects) under fleet/{plant}/{gateway}/, the same
# sensor name on two gateways apart, and a console that connects later sees
# each machine's latest state, not the one of the view's start. Prints the
# view's latency (median of 20 states) as a figure. Last, the bound of a
# gateway's store-and-forward: with max_queued_messages 50 and the cluster
# away, 100 messages sent, the first 50 arrive afterwards, once.
# The console's handling of such a root: tests/browser/fleetroot.check.mjs.
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_pub mosquitto_sub nats-server node python3
lib_init
bin=${ANOMESH_BIN:-$REPO/bin}

# ---- the console's fleet root -------------------------------------------------
check "the console keys sensors by plant/gateway under a fleet root" \
	node "$REPO/tests/browser/fleetroot.check.mjs"

# ---- the bridge generator -------------------------------------------------------
fb=$REPO/scripts/fleet-bridge.sh
refuses() { ! "$fb" "$@" >/dev/null 2>&1; }
check "refuses a plant id with a dot (a NATS separator)" refuses --plant p.1 --gateway g --cluster h:1
check "refuses a gateway id with a slash" refuses --plant p --gateway g/1 --cluster h:1
check "refuses a missing cluster" refuses --plant p --gateway g
check "refuses a client certificate without its key" refuses --plant p --gateway g --cluster h:1 --cafile c --certfile x
"$fb" --plant p1 --gateway gw1 --cluster 10.0.0.1:1883,10.0.0.2:1883 --cafile /etc/ca.crt >"$TMP/bridge.conf"
has() { grep -qx -- "$1" "$TMP/bridge.conf"; }
check "every node an address" has "address 10.0.0.1:1883 10.0.0.2:1883"
check "persistent at both ends" has "local_cleansession false"
check "raw at QoS 1 under fleet/p1/gw1/" has "topic +/raw out 1 factory/ fleet/p1/gw1/"
check "TLS when given a CA" has "bridge_cafile /etc/ca.crt"
check "its state topic stays local" has "notifications_local_only true"

# ---- end to end on one node -------------------------------------------------------
nport=$(free_port)
mport=$(free_port)
cat >"$TMP/nats.conf" <<CONF
server_name: t1
listen: 127.0.0.1:$nport
jetstream { store_dir: "$TMP/js" }
mqtt { listen: 127.0.0.1:$mport }
CONF
lib_spawn "$TMP/nats.log" nats-server -c "$TMP/nats.conf"
nats_pid=$SPAWNED_PID
wait_for "the MQTT listener" 20 port_open "$mport" || { bad "nats-server up"; lib_done; }
gateway() { # name port
	mkdir -p "$TMP/$1"
	{ "$REPO/scripts/broker-conf.sh" "$2" "$TMP/$1" &&
		"$fb" --plant p1 --gateway "$1" --cluster "127.0.0.1:$mport"; } >"$TMP/$1.conf"
	lib_spawn "$TMP/$1.log" mosquitto -c "$TMP/$1.conf"
	wait_for "$1's broker" 10 port_open "$2"
}
g1=$(free_port)
g2=$(free_port)
view=$(free_port)
gateway gw1 "$g1"
gateway gw2 "$g2"
mkdir -p "$TMP/view"
"$REPO/scripts/broker-conf.sh" "$view" "$TMP/view" >"$TMP/view.conf"
lib_spawn "$TMP/view.log" mosquitto -c "$TMP/view.conf"
wait_for "the view's broker" 10 port_open "$view"
bridged() { grep -q "Connecting bridge" "$TMP/$1.log"; }
wait_for "the bridges" 10 bridged gw1 && wait_for "" 10 bridged gw2

# states before the view starts: the gateways' bridges are up once a QoS 1
# publish is through; retried until the view has them (the first state may
# precede the bridge's connection: a gateway broker queues only for a
# session it has seen)
state() { printf '{"v":1,"sensor":"arm1","state":"%s","since":%s,"t":%s,"rate":0.1}' "$1" "$2" "$2"; }
lib_spawn "$TMP/fleet-view.log" "$bin/fleet-view" --servers "nats://127.0.0.1:$nport" \
	--replicas 1 --broker "tcp://127.0.0.1:$view" --instance t
retained() { # the view's retained states, as a console connecting now gets them
	mosquitto_sub -p "$view" -t 'fleet/+/+/+/state' -v -W 1 --retained-only 2>/dev/null >"$TMP/seen.txt"
	grep -q "^fleet/p1/gw1/arm1/state .*\"$1\"" "$TMP/seen.txt" &&
		grep -q "^fleet/p1/gw2/arm1/state .*\"$2\"" "$TMP/seen.txt"
}
seen() {
	mosquitto_pub -p "$g1" -q 1 -r -t factory/arm1/state -m "$(state OK 1)"
	mosquitto_pub -p "$g2" -q 1 -r -t factory/arm1/state -m "$(state FAILURE 2)"
	retained OK FAILURE
}
check "the view shows both gateways' arm1 apart, retained" wait_for "the states in the view" 30 seen
# a state changes after: a console connecting later gets the new one
mosquitto_pub -p "$g1" -q 1 -r -t factory/arm1/state -m "$(state FAILURE 3)"
check "a console connecting later sees the latest state" wait_for "the new state" 10 retained FAILURE FAILURE
# the view restarts: it starts from the last state of every machine
view_pid=$SPAWNED_PID
kill -TERM "$view_pid"
lib_wait_exit "$view_pid" 10
wait "$view_pid"
view_rc=$?
check "fleet-view stops cleanly on SIGTERM (exit 0; under SAN=1: no leak)" test "$view_rc" = 0
mosquitto_pub -p "$view" -q 1 -r -t fleet/p1/gw1/arm1/state -n # cleared in the view
lib_spawn "$TMP/fleet-view2.log" "$bin/fleet-view" --servers "nats://127.0.0.1:$nport" \
	--replicas 1 --broker "tcp://127.0.0.1:$view" --instance t
check "a restarted view starts from the last state of every machine" \
	wait_for "the states again" 20 retained FAILURE FAILURE

# latency: gateway broker -> bridge -> NATS -> bridge -> view, 20 states
lat=$(python3 - "$g1" "$view" <<'PY'
import subprocess, sys, time, json
g, v = sys.argv[1], sys.argv[2]
sub = subprocess.Popen(["mosquitto_sub", "-p", v, "-t", "fleet/p1/gw1/arm9/state", "-C", "20", "-W", "30",
                        "-F", "%U %p"],
                       stdout=subprocess.PIPE, text=True)
time.sleep(1)
sent = {}
for i in range(20):
    sent[i] = time.time()
    subprocess.run(["mosquitto_pub", "-p", g, "-q", "1", "-t", "factory/arm9/state", "-m",
                    json.dumps({"v": 1, "sensor": "arm9", "state": "OK", "since": i, "t": i, "rate": 0})])
    time.sleep(0.05)
d = []
for line in sub.stdout:  # received at: mosquitto_sub's own clock (%U)
    at, payload = line.split(" ", 1)
    d.append((float(at) - sent[int(json.loads(payload)["since"])]) * 1000)
print("%.1f" % sorted(d)[len(d) // 2] if len(d) == 20 else "")
PY
)
if [ -n "$lat" ]; then
	ok "20 states through the cluster to the view"
	echo "FIGURE fleet view latency (gateway -> cluster -> view): median $lat ms (received-at stamped by mosquitto_sub)"
else
	bad "20 states through the cluster to the view"
fi

# ---- the bound of store-and-forward ------------------------------------------------
# A gateway whose broker queues at most 50 messages for the bridge, while the
# cluster is away, gets 100 QoS 1 messages: the first 50 arrive once the
# cluster is back, the rest were dropped at the gateway (fleet/README.md).
g3=$(free_port)
mkdir -p "$TMP/gw3"
{ "$REPO/scripts/broker-conf.sh" "$g3" "$TMP/gw3" | grep -v '^max_queued_messages'
	echo "max_queued_messages 50"
	"$fb" --plant p1 --gateway gw3 --cluster "127.0.0.1:$mport"; } >"$TMP/gw3.conf"
lib_spawn "$TMP/gw3.log" mosquitto -c "$TMP/gw3.conf"
wait_for "gw3's broker" 10 port_open "$g3" && wait_for "its bridge" 10 bridged gw3
# the central side: a persistent QoS 1 session on the cluster
lib_spawn "$TMP/central.txt" mosquitto_sub -V mqttv311 -p "$mport" -c -i bound-central -q 1 \
	-t fleet/p1/gw3/+/alert
# one message through proves the bridge and the session are in place
probed() { mosquitto_pub -p "$g3" -q 1 -t factory/s1/alert -m m0; grep -q '^m0$' "$TMP/central.txt"; }
wait_for "a first message through" 20 probed
kill -TERM "$nats_pid"
lib_wait_exit "$nats_pid" 10
seq 1 100 | sed 's/^/m/' | mosquitto_pub -p "$g3" -q 1 -t factory/s1/alert -l
lib_spawn "$TMP/nats2.log" nats-server -c "$TMP/nats.conf"
arrived() { grep -q '^m50$' "$TMP/central.txt"; }
wait_for "the queued messages" 30 arrived
sleep 2 # (nothing more may come: a bounded look for extras)
check "after the cut, the bound's 50 messages arrive, the first 50, once" \
	test "$(grep -v '^m0$' "$TMP/central.txt" | tr '\n' ' ')" = "$(seq 1 50 | sed 's/^/m/' | tr '\n' ' ')"
lib_done
