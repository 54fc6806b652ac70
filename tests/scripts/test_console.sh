#!/bin/bash
# (helpers are called through wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The operator console (console/) in headless Chromium: sets up what
# tests/browser/console.test.mjs drives — two brokers serving the built page
# on their websockets listener, each with the real bin/alerter — and runs it.
#   loopback:   scripts/broker-conf.sh with a console port (make run's broker)
#   production: mosquitto/production.conf with the real acl and a password
#               file from scripts/broker-passwd.sh (production_conf, lib.sh),
#               its page and websockets over TLS (https, wss) through stunnel
#               with mosquitto/console-tls.conf; Chromium trusts the test
#               certificate by its key pin (--ignore-certificate-errors-spki-list)
# The alerters run with a short --stale-s and window so that FAILURE and
# STALE come within seconds. Screenshots: build/test-artifacts/console/.
#
# Exit 0 pass, 1 fail, 77 SKIP: only when Chromium cannot be started (the
# reason is printed); a missing build or tool is a failure.
# run.sh: alone (a browser)
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_sub node python3 stunnel openssl
lib_init

bin=${ANOMESH_BIN:-$REPO/bin}
page=$REPO/build/console
[ -x "$bin/alerter" ] || { echo "FAIL: $bin/alerter not built (make)"; exit 1; }
[ -s "$page/index.html" ] || { echo "FAIL: $page/index.html not built (make console)"; exit 1; }
[ -d "$REPO/console/node_modules/playwright-core" ] ||
	{ echo "FAIL: console/node_modules missing (make console runs npm ci)"; exit 1; }
chromium=${ANOMESH_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "SKIP: $chromium not found: Chromium cannot be started (scripts/packages-test.txt: make deps-test)"
	exit 77
fi

# alerter_start NAME PORT [ENV=VALUE...]: bin/alerter on 127.0.0.1:PORT with
# the environment given (its account), quick verdicts (3 s window, 5
# windows) and STALE after 4 s without predictions; log in $TMP/NAME.log.
alerter_start() {
	local name=$1 port=$2
	shift 2
	lib_spawn "$TMP/$name.log" env "$@" "$bin/alerter" --broker "tcp://127.0.0.1:$port" \
		--instance "$name" --window-s 3 --min-windows 5 --stale-s 4 --restore-ms 200 \
		--metrics-interval 1000 --log-level debug
}
# online PORT [mosquitto_sub args]: the alerter's retained status says online.
online() {
	local port=$1
	shift
	mosquitto_sub -h 127.0.0.1 -p "$port" "$@" -t 'factory/_svc/alerter/+/status' -C 1 -W 2 \
		2>/dev/null | grep -q '"state":"online"'
}

# ---- loopback broker -------------------------------------------------------
lport=$(free_port)
lws=$(free_port)
mkdir -p "$TMP/loop"
"$REPO/scripts/broker-conf.sh" "$lport" "$TMP/loop" "$lws" "$page" >"$TMP/loop.conf" ||
	{ echo "FAIL: broker-conf.sh with a console port"; exit 1; }
broker_start "$TMP/loop.conf" "$lport" || { echo "FAIL: loopback broker did not start"; exit 1; }
wait_for "the console listener on $lws" "$WAIT_S" port_open "$lws" ||
	{ echo "FAIL: no websockets listener on $lws"; exit 1; }
alerter_start alerter-loop "$lport"
wait_for "the loopback alerter online" 20 online "$lport" ||
	{ echo "FAIL: alerter not online"; tail -n 20 "$TMP/alerter-loop.log"; exit 1; }

# ---- production broker (accounts, ACL) -------------------------------------------
pport=$(free_port)
pws=$(free_port)
mkdir -p "$TMP/pdata"
for a in alerter scorer headset operator; do
	v=ANOMESH_PASSWORD_$(echo "$a" | tr '[:lower:]' '[:upper:]')
	export "$v=pw-$a-$RANDOM$RANDOM"
done
"$REPO/scripts/broker-passwd.sh" "$TMP/passwd" alerter scorer headset operator 2>"$TMP/passwd.err" ||
	{ echo "FAIL: broker-passwd.sh: $(cat "$TMP/passwd.err")"; exit 1; }
production_conf "$TMP/prod.conf" "$pport" "$pws" "$page" "$TMP/pdata" "$TMP/passwd"
# A second broker: broker_start logs to $TMP/broker.log, so keep the first's.
mv "$TMP/broker.log" "$TMP/broker-loop.log"
loop_pid=$BROKER_PID
broker_start "$TMP/prod.conf" "$pport" || { echo "FAIL: production broker did not start"; exit 1; }
wait_for "the console listener on $pws" "$WAIT_S" port_open "$pws" ||
	{ echo "FAIL: no websockets listener on $pws"; exit 1; }
alerter_start alerter-prod "$pport" ANOMESH_USERNAME=alerter ANOMESH_PASSWORD="$ANOMESH_PASSWORD_ALERTER"
wait_for "the production alerter online" 20 online "$pport" -u operator -P "$ANOMESH_PASSWORD_OPERATOR" ||
	{ echo "FAIL: alerter not online on the production broker"; tail -n 20 "$TMP/alerter-prod.log"; exit 1; }

# ---- the browser ----------------------------------------------------------------
# The production console over TLS, as the network sees it: stunnel with
# mosquitto/console-tls.conf in front of the websockets listener; Chromium
# trusts the test broker certificate by the pin of its key only.
tport=$(free_port)
console_tls_conf "$TMP/console-tls.conf" "$tport" "$pws"
lib_spawn "$TMP/stunnel.log" stunnel "$TMP/console-tls.conf"
wait_for "stunnel on $tport" "$WAIT_S" port_open "$tport" || { echo "FAIL: stunnel did not start"; exit 1; }
spki=$(openssl x509 -in "$PROD_CERTS/broker.crt" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
CT_LOOP_MQTT=$lport CT_LOOP_WS=$lws CT_PROD_MQTT=$pport CT_PROD_WS=$pws \
	CT_PROD_WEB="https://localhost:$tport/" ANOMESH_CHROMIUM_SPKI=$spki \
	CT_PW_HEADSET=$ANOMESH_PASSWORD_HEADSET CT_PW_OPERATOR=$ANOMESH_PASSWORD_OPERATOR \
	CT_PW_SCORER=$ANOMESH_PASSWORD_SCORER CT_ARTIFACTS=$REPO/build/test-artifacts/console \
	ANOMESH_CHROMIUM=$chromium node "$REPO/tests/browser/console.test.mjs"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
	for f in alerter-loop alerter-prod broker-loop; do
		echo "--- $f log (last 15 lines):"
		tail -n 15 "$TMP/$f.log"
	done
fi
[ -n "$loop_pid" ] && kill -0 "$loop_pid" 2>/dev/null || echo "note: the loopback broker had exited"
exit $rc
