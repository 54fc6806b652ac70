#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The loopback broker config that `make run` and the tests use: rendered by
# scripts/broker-conf.sh for a free port, it must start mosquitto listening on
# that port at 127.0.0.1 and let anonymous clients publish and subscribe.
set -u
# shellcheck source=tests/scripts/lib.sh
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
no_placeholder() { ! grep -q "@[A-Z]*@" "$conf"; }
check "no @PLACEHOLDER@ left in the rendered config" no_placeholder
check "listener is port $port on 127.0.0.1 only" \
	grep -qx "listener $port 127.0.0.1" "$conf"
loopback_settings() {
	grep -qx "allow_anonymous true" "$conf" && grep -qx "persistence false" "$conf" &&
		grep -Eqx "max_queued_messages [0-9]{5,}" "$conf"
}
check "anonymous access, persistence off, a deep queue" loopback_settings
refuses_bad_port() {
	! "$REPO/scripts/broker-conf.sh" 70000 "$TMP" >/dev/null 2>&1 &&
		! "$REPO/scripts/broker-conf.sh" x1 "$TMP" >/dev/null 2>&1
}
check "broker-conf.sh refuses a bad port" refuses_bad_port

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
