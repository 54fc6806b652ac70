#!/bin/bash
# The loopback broker config that `make run` and the tests use: rendered by
# scripts/broker-conf.sh for a free port, it must start mosquitto listening on
# that port at 127.0.0.1 and let anonymous clients publish and subscribe.
set -u
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_pub mosquitto_sub python3
lib_init

port=$(free_port)
conf=$TMP/loopback.conf
if "$REPO/scripts/broker-conf.sh" "$port" "$TMP" >"$conf"; then
	ok "broker-conf.sh renders the template for port $port"
else
	bad "broker-conf.sh renders the template for port $port"
	lib_done
fi
check "no @PLACEHOLDER@ left in the rendered config" \
	bash -c '! grep -q "@[A-Z]*@" "$1"' _ "$conf"
check "listener is port $port on 127.0.0.1 only" \
	grep -qx "listener $port 127.0.0.1" "$conf"
check "anonymous access, persistence off, a deep queue" \
	bash -c 'grep -qx "allow_anonymous true" "$1" && grep -qx "persistence false" "$1" &&
		grep -Eqx "max_queued_messages [0-9]{5,}" "$1"' _ "$conf"
check "broker-conf.sh refuses a bad port" \
	bash -c '! "$1" 70000 "$2" >/dev/null 2>&1 && ! "$1" x1 "$2" >/dev/null 2>&1' _ \
	"$REPO/scripts/broker-conf.sh" "$TMP"

if broker_start "$conf" "$port"; then
	ok "mosquitto starts with the rendered config and listens on 127.0.0.1:$port"
else
	bad "mosquitto starts with the rendered config and listens on 127.0.0.1:$port"
	lib_done
fi

# Anonymous round trip: a subscriber waiting for one message (bounded by -W)
# and a publisher that repeats until the subscriber has it, because the
# subscription may not be active yet when the first publish arrives.
sub_out=$TMP/sub.out
lib_spawn "$sub_out" mosquitto_sub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 \
	-t 'factory/+/raw' -v -C 1 -W "$WAIT_S"
sub_pid=$SPAWNED_PID
probe() {
	mosquitto_pub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -t factory/loop1/raw -m "hello-$port" &&
		file_has "$sub_out" "^factory/loop1/raw hello-$port\$"
}
check "anonymous publish on 127.0.0.1:$port reaches an anonymous subscriber" \
	wait_for "anonymous round trip" "$WAIT_S" probe
check "subscriber exits 0 after its one message" wait "$sub_pid"
broker_stop
check "broker stops cleanly on SIGTERM" test -z "${BROKER_PID:-}"
lib_done
