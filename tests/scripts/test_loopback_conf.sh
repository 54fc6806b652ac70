#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The loopback broker config that `make run` and the tests use: rendered by
# scripts/broker-conf.sh for a free port, it must start mosquitto listening on
# that port at 127.0.0.1 and let anonymous clients publish and subscribe.
# With a console port it also has the console's websockets listener, on
# 127.0.0.1 only, serving the page folder.
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
no_placeholder() { ! grep -q "@[A-Z_]*@" "$conf"; }
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

# ---- with the console's listener (make run) -----------------------------------------
www=$TMP/www
mkdir -p "$www"
refuses_no_page() { ! "$REPO/scripts/broker-conf.sh" "$port" "$TMP" "$(free_port)" "$www" >/dev/null 2>&1; }
check "broker-conf.sh refuses a console folder without index.html" refuses_no_page
echo '<!doctype html><title>loopback-test-page</title>' >"$www/index.html"
refuses_same_port() { ! "$REPO/scripts/broker-conf.sh" "$port" "$TMP" "$port" "$www" >/dev/null 2>&1; }
check "broker-conf.sh refuses a console port equal to the MQTT port" refuses_same_port
wsport=$(free_port)
if "$REPO/scripts/broker-conf.sh" "$port" "$TMP" "$wsport" "$www" >"$conf"; then
	ok "broker-conf.sh renders the template with a console listener on $wsport"
else
	bad "broker-conf.sh renders the template with a console listener on $wsport"
	lib_done
fi
check "no @PLACEHOLDER@ or console marker left" no_placeholder
console_listener() {
	grep -qx "listener $wsport 127.0.0.1" "$conf" && grep -qx "protocol websockets" "$conf" &&
		grep -qx "http_dir $www" "$conf"
}
check "a websockets listener on 127.0.0.1:$wsport serving $www" console_listener
if broker_start "$conf" "$port" && wait_for "console listener" "$WAIT_S" port_open "$wsport"; then
	ok "mosquitto starts with both listeners"
else
	bad "mosquitto starts with both listeners"
	lib_done
fi
# listening_on PORT: the local addresses listening on TCP PORT, from /proc.
listening_on() {
	python3 - "$1" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
for f, fam in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        local, st = line.split()[1], line.split()[3]
        addr, p = local.split(":")
        if st != "0A" or int(p, 16) != port:
            continue
        raw = bytes.fromhex(addr)
        # /proc prints each 32-bit word in host order
        raw = b"".join(struct.pack("<I", w) for w in struct.unpack(">%dI" % (len(raw) // 4), raw))
        print(socket.inet_ntop(fam, raw))
PY
}
check "the console listener is bound to 127.0.0.1 only (got: $(listening_on "$wsport" | xargs))" \
	test "$(listening_on "$wsport" | xargs)" = "127.0.0.1"
page_served() {
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$wsport/" 2>/dev/null |
		grep -q loopback-test-page
}
check "it serves the console page over HTTP" page_served
broker_stop
lib_done
