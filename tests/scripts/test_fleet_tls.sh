#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# TLS between the fleet's gateways and its NATS cluster (fleet/README.md):
# three nodes rendered by scripts/fleet-nats-conf.sh with TLS on the client
# port and the MQTT listener, client certificates required (--verify),
# certificates from scripts/broker-certs.sh. Checks that neither port
# offers plain text, that a gateway's bridge from scripts/fleet-bridge.sh
# --cafile/--certfile/--keyfile delivers QoS 1 raw messages through TLS and
# bin/fleet-archiver --cafile/--certfile/--keyfile stores every one of them,
# that bin/fleet-view --nats-cafile... shows a state, and that a wrong CA,
# a wrong name and a missing client certificate are refused, each with a
# log line that says why.
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_pub mosquitto_sub nats-server openssl python3
lib_init
bin=${ANOMESH_BIN:-$REPO/bin}
nc=$REPO/scripts/fleet-nats-conf.sh
fb=$REPO/scripts/fleet-bridge.sh

# ---- the node config generator --------------------------------------------------------
refuses() { ! "$nc" "$@" >/dev/null 2>&1; }
check "fleet-nats-conf refuses a certificate without its key" refuses --certfile c n1 1 "$TMP/x"
check "fleet-nats-conf refuses --verify without a CA" refuses --certfile c --keyfile k --verify n1 1 "$TMP/x"
"$nc" n1 1 "$TMP/x" >"$TMP/plain.conf"
check "without a certificate: no tls block" bash -c "! grep -q '^ *tls {$' '$TMP/plain.conf'"

# ---- the certificates: the cluster's, the clients', and a stranger CA -------------------
pki=$TMP/pki
if ! "$REPO/scripts/broker-certs.sh" -d "$pki" -c gw1 -c central localhost 127.0.0.1 2>/dev/null ||
	! "$REPO/scripts/broker-certs.sh" -d "$TMP/wrong" -c central localhost 127.0.0.1 2>/dev/null; then
	bad "broker-certs.sh"
	lib_done
fi

# ---- three nodes with TLS, client certificates required --------------------------------
# a base port whose 12 ports (client, route, MQTT, monitoring x 3) are free
base=$(python3 -c 'import random, socket
for _ in range(200):
    b = random.randrange(20000, 60000 - 400)
    try:
        for k in range(4):
            for i in range(3):
                s = socket.socket(); s.bind(("127.0.0.1", b + 100 * k + i)); s.close()
    except OSError:
        continue
    print(b); break')
for i in 1 2 3; do
	"$nc" --certfile "$pki/broker.crt" --keyfile "$pki/broker.key" --cafile "$pki/ca.crt" --verify \
		"n$i" "$i" "$TMP/js$i" "$base" >"$TMP/n$i.conf"
done
check "the client port and the MQTT listener each get a tls block" \
	test "$(grep -c 'cert_file:' "$TMP/n1.conf")" = 2
for i in 1 2 3; do
	lib_spawn "$TMP/n$i.log" nats-server -c "$TMP/n$i.conf"
done
c1=$base m1=$((base + 200))
for i in 0 1 2; do
	wait_for "node $((i + 1))" 20 port_open $((base + 200 + i)) || { bad "nats-server up"; lib_done; }
done
servers="nats://localhost:$base,nats://localhost:$((base + 1)),nats://localhost:$((base + 2))"
mqtt="localhost:$m1,localhost:$((m1 + 1)),localhost:$((m1 + 2))"
tlsopt=(--cafile "$pki/ca.crt" --cert "$pki/central.crt" --key "$pki/central.key")

# nothing in plain text: MQTT refused, and the NATS port's INFO demands TLS
check "the MQTT listener refuses a plain connection" \
	bash -c "! mosquitto_pub -V mqttv311 -p $m1 -q 1 -t t/x -m x 2>/dev/null"
info_tls() {
	timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$c1; head -n 1 <&3" | grep -q '"tls_required":true'
}
check "the client port requires TLS (tls_required in its INFO)" info_tls
# the MQTT listener makes its streams on its first connection: over TLS,
# retried until the cluster has formed
first() { mosquitto_pub -V mqttv311 -h localhost -p "$m1" "${tlsopt[@]}" -q 1 -t first/x -m x 2>/dev/null; }
check "MQTT over TLS with a client certificate" wait_for "the cluster's MQTT listener" 40 first

# ---- the central archiver over TLS --------------------------------------------------------
arch=(--servers "$servers" --dir "$TMP/central" --stats-interval 1)
lib_spawn "$TMP/arch.log" "$bin/fleet-archiver" "${arch[@]}" \
	--cafile "$pki/ca.crt" --certfile "$pki/central.crt" --keyfile "$pki/central.key"
arch_pid=$SPAWNED_PID
consuming() { grep -qs "consuming" "$TMP/arch.log"; }
check "fleet-archiver --cafile/--certfile/--keyfile connects" wait_for "the archiver" 30 consuming

# ---- a gateway bridged over TLS; 100 raw messages at QoS 1 ------------------------------------
# (the gateway broker stays this user: started as root, Mosquitto would
# become `mosquitto`, who cannot read the bridge's key, mode 0600)
gw=$(free_port)
mkdir -p "$TMP/gw1"
{ "$REPO/scripts/broker-conf.sh" "$gw" "$TMP/gw1" &&
	"$fb" --plant p1 --gateway gw1 --cluster "$mqtt" \
		--cafile "$pki/ca.crt" --certfile "$pki/gw1.crt" --keyfile "$pki/gw1.key"
	echo "user $(id -un)"; } >"$TMP/gw1.conf"
lib_spawn "$TMP/gw1.log" mosquitto -c "$TMP/gw1.conf"
wait_for "gw1's broker" 10 port_open "$gw"
# shellcheck disable=SC2016 # $SYS is a topic
up() { [ "$(mosquitto_sub -p "$gw" -t '$SYS/broker/connection/fleet-p1-gw1/state' -C 1 -W 2 2>/dev/null)" = 1 ]; }
check "the bridge is up over TLS" wait_for "the bridge" 30 up ||
	echo "     (gw1.log: $(grep -i 'error' "$TMP/gw1.log" | tail -n 3))" >&2
python3 -c 'import json
for i in range(100):
    print(json.dumps({"v": 1, "sensor": "arm1", "run": "tls1", "seq": i, "t0": 1764151200 + i / 10,
                      "rate_hz": 10, "channels": ["acc_x", "acc_y"], "samples": [[i / 100, -i / 100]]}))' |
	mosquitto_pub -p "$gw" -q 1 -t factory/arm1/raw -l
rows() { # the central archive's rows of gw1's arm1
	local f n=0
	for f in "$TMP"/central/p1/gw1/p*.db; do
		[ -f "$f" ] || continue
		n=$((n + $("$bin/archiver" export --db "$f" --sensor arm1 2>/dev/null | tail -n +2 | wc -l)))
	done
	echo "$n"
}
all_in() { [ "$(rows)" = 100 ]; }
wait_for "the central archive" 30 all_in
check "fleet-archiver stored all 100 messages that came through TLS (got $(rows))" all_in

# ---- the fleet view over TLS ---------------------------------------------------------------
view=$(free_port)
mkdir -p "$TMP/view"
"$REPO/scripts/broker-conf.sh" "$view" "$TMP/view" >"$TMP/view.conf"
lib_spawn "$TMP/view.log" mosquitto -c "$TMP/view.conf"
wait_for "the view's broker" 10 port_open "$view"
lib_spawn "$TMP/fleet-view.log" "$bin/fleet-view" --servers "$servers" --broker "tcp://127.0.0.1:$view" \
	--instance t --nats-cafile "$pki/ca.crt" --nats-certfile "$pki/central.crt" \
	--nats-keyfile "$pki/central.key"
view_pid=$SPAWNED_PID
shown() {
	mosquitto_pub -p "$gw" -q 1 -r -t factory/arm1/state \
		-m '{"v":1,"sensor":"arm1","state":"FAILURE","since":1,"t":1,"rate":0.5}'
	mosquitto_sub -p "$view" -t fleet/p1/gw1/arm1/state -C 1 -W 1 2>/dev/null | grep -q FAILURE
}
check "fleet-view --nats-cafile... shows a gateway's state" wait_for "the view" 30 shown
# stop_ok PID: SIGTERM, then its exit status is 0
stop_ok() {
	kill -TERM "$1"
	lib_wait_exit "$1" 10
	wait "$1"
}
check "fleet-archiver over TLS stops cleanly on SIGTERM (exit 0)" stop_ok "$arch_pid"
check "fleet-view over TLS stops cleanly on SIGTERM (exit 0)" stop_ok "$view_pid"

# ---- refusals, each with its reason in the log ---------------------------------------------------
# refused NAME REASON ARGS...: a fleet-archiver with ARGS logs REASON
refused() {
	local name=$1 reason=$2 pid
	shift 2
	lib_spawn "$TMP/$name.log" "$bin/fleet-archiver" --servers "$servers" --dir "$TMP/$name" \
		--durable-prefix "$name" --retry-ms 500 "$@"
	pid=$SPAWNED_PID
	logged() { grep -qs "$reason" "$TMP/$name.log"; }
	wait_for "$name's reason" 15 logged
	local rc=$?
	kill -TERM "$pid"
	lib_wait_exit "$pid" 10
	wait "$pid"
	local xrc=$?
	[ "$xrc" -lt 128 ] || { echo "     ($name: killed by signal $((xrc - 128)) on SIGTERM)" >&2; rc=1; }
	if [ "$rc" -ne 0 ]; then
		echo "     ($name.log: $(head -c 400 "$TMP/$name.log"))" >&2
	fi
	! grep -q "consuming" "$TMP/$name.log" && [ "$rc" -eq 0 ]
}
check "a CA that did not sign the cluster's certificate: refused, 'unable to get local issuer certificate'" \
	refused wrongca "TLS refused.*unable to get local issuer certificate" \
	--cafile "$TMP/wrong/ca.crt" --certfile "$pki/central.crt" --keyfile "$pki/central.key"
check "a name the certificate does not carry: refused, 'hostname mismatch'" \
	refused wrongname "TLS refused.*hostname mismatch" --tls-hostname nats.example \
	--cafile "$pki/ca.crt" --certfile "$pki/central.crt" --keyfile "$pki/central.key"
check "no client certificate: refused, the log says it probably wants one" \
	refused nocert "wants a client certificate" --cafile "$pki/ca.crt"
check "plain NATS: refused, the log says the server requires TLS" \
	refused plain "the server requires TLS"
# a gateway whose bridge trusts another CA gets nowhere, and its broker says why
gw2=$(free_port)
mkdir -p "$TMP/gw2"
{ "$REPO/scripts/broker-conf.sh" "$gw2" "$TMP/gw2" &&
	"$fb" --plant p1 --gateway gw2 --cluster "$mqtt" --cafile "$TMP/wrong/ca.crt" \
		--certfile "$TMP/wrong/central.crt" --keyfile "$TMP/wrong/central.key"
	echo "user $(id -un)"; } >"$TMP/gw2.conf"
lib_spawn "$TMP/gw2.log" mosquitto -c "$TMP/gw2.conf"
gw2_pid=$SPAWNED_PID
verify_failed() { grep -qs "certificate verify failed" "$TMP/gw2.log"; }
check "a bridge trusting another CA is refused: 'certificate verify failed' in its broker's log" \
	wait_for "gw2's bridge" 20 verify_failed
# (Mosquitto 2.0.11 now and then aborts on SIGTERM while such a bridge
# retries its handshake: seen 1 in 3 runs; not the code under test)
{
	kill -TERM "$gw2_pid"
	lib_wait_exit "$gw2_pid" 10
	wait "$gw2_pid"
} 2>/dev/null
lib_done
