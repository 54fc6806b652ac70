#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The production broker over TLS, on the real mosquitto/production.conf with
# its bind addresses kept (only ports and paths rewritten: PROD_KEEP_ADDR),
# certificates from scripts/broker-certs.sh and passwords from
# scripts/broker-passwd.sh. The test runs in a network namespace of its own
# (unshare, as root) with an "external" interface ext0 (192.0.2.10, a veth
# that leads nowhere), so "plain MQTT on the external interface is refused"
# is shown on a real non-loopback address without touching the machine's.
#
# Shows: a client trusting the right CA connects over TLS by a name in the
# certificate and is held to its ACL; one trusting another CA, one dialling
# a name the certificate does not have, and one facing an expired
# certificate all fail, and an anomesh service says which of the three in
# its log; plain MQTT and plain websockets on the external address are
# refused, and plain MQTT on the TLS port gets nothing; the console's page
# is served over https by mosquitto/console-tls.conf (stunnel), and a
# websocket opens through it (wss). Secrets: --help prints no password, a service's log
# (debug) holds none, --password-file refuses a file open to others,
# --password on the command line is warned about and wiped from ps.
set -u
if [ "${ANOMESH_IN_NETNS:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ] || ! unshare --net true 2>/dev/null; then
		echo "SKIP: needs root and unshare --net for its own network namespace"
		exit 77
	fi
	ANOMESH_IN_NETNS=1 exec unshare --net "$0" "$@"
fi
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd openssl curl ip python3 stunnel
lib_init
BIN=${ANOMESH_BIN:-$REPO/bin}
EXT=192.0.2.10 # TEST-NET-1, on a veth inside this namespace only

ip link set lo up && ip link add ext0 type veth peer name ext1 &&
	ip addr add "$EXT/24" dev ext0 && ip link set ext0 up && ip link set ext1 up ||
	{ echo "FAIL: cannot make the test interface"; exit 1; }

# ---- certificates ------------------------------------------------------------------
certs=$TMP/certs
if "$REPO/scripts/broker-certs.sh" -d "$certs" -c probe localhost 127.0.0.1 "$EXT" 2>"$TMP/certs.err"; then
	ok "broker-certs.sh makes a CA and a broker certificate for localhost, 127.0.0.1, $EXT"
else
	bad "broker-certs.sh ($(cat "$TMP/certs.err"))"
	lib_done
fi
keys_private() { [ "$(stat -c %a "$certs/broker.key")" = 600 ] && [ "$(stat -c %a "$certs/ca.key")" = 600 ]; }
check "private keys are mode 0600" keys_private
sans() { openssl x509 -in "$certs/broker.crt" -noout -ext subjectAltName | grep -q "IP Address:$EXT"; }
check "the broker certificate names $EXT in subjectAltName" sans
"$REPO/scripts/broker-certs.sh" -d "$TMP/other" localhost 127.0.0.1 "$EXT" 2>/dev/null
# An expired certificate from the same CA (openssl ca can backdate).
mkdir -p "$TMP/exp" && (
	cd "$TMP/exp" || exit 1
	: >index.txt && echo 01 >serial
	printf '%s\n' '[ca]' 'default_ca=d' '[d]' 'database=index.txt' 'new_certs_dir=.' \
		'serial=serial' 'default_md=sha256' 'policy=p' '[p]' 'commonName=supplied' \
		'[ext]' "subjectAltName=DNS:localhost,IP:127.0.0.1" >ca.cnf
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out broker.key &&
		openssl req -new -key broker.key -subj /CN=localhost -out b.csr &&
		openssl ca -batch -config ca.cnf -cert "$certs/ca.crt" -keyfile "$certs/ca.key" \
			-in b.csr -out broker.crt -startdate 20200101000000Z -enddate 20200201000000Z \
			-extensions ext -notext
) >"$TMP/exp.log" 2>&1
check "an expired broker certificate signed by the same CA" test -s "$TMP/exp/broker.crt"

# ---- the production broker ------------------------------------------------------------
accounts="ingest scorer archiver alerter headset operator"
for a in $accounts; do
	v=ANOMESH_PASSWORD_$(echo "$a" | tr '[:lower:]' '[:upper:]')
	export "$v=pw-$a-$RANDOM$RANDOM"
done
# shellcheck disable=SC2086 # a list of names
"$REPO/scripts/broker-passwd.sh" "$TMP/passwd" $accounts 2>/dev/null
check "password file is mode 0600" test "$(stat -c %a "$TMP/passwd")" = 600
pw() { v=ANOMESH_PASSWORD_$(echo "$1" | tr '[:lower:]' '[:upper:]'); echo "${!v}"; }

port=$(free_port) wsport=$(free_port)
mkdir -p "$TMP/data" "$TMP/www"
echo '<!doctype html><title>tls-test-page</title>' >"$TMP/www/index.html"
PROD_CERTS=$certs
PROD_KEEP_ADDR=1 production_conf "$TMP/prod.conf" "$port" "$wsport" \
	"$TMP/www" "$TMP/data" "$TMP/passwd"
tls=$PROD_TLS_PORT wss=$(free_port)
addrs() {
	[ "$(grep -c '^listener ' "$TMP/prod.conf")" = 3 ] &&
		grep -qx "listener $port 127.0.0.1" "$TMP/prod.conf" && grep -qx "listener $tls" "$TMP/prod.conf" &&
		grep -qx "listener $wsport 127.0.0.1" "$TMP/prod.conf"
}
check "production.conf: the TLS listener on every interface, the plain ones on 127.0.0.1" addrs
if broker_start "$TMP/prod.conf" "$port"; then
	ok "mosquitto runs the production config (plain :$port, TLS :$tls, console :$wsport)"
else
	bad "mosquitto runs the production config"
	lib_done
fi

# tpub HOST CAFILE ACCOUNT TOPIC MSG: one QoS 1 publish over TLS; stderr in $TMP/tpub.err.
tpub() {
	mosquitto_pub -h "$1" -p "$tls" --cafile "$2" -V mqttv5 -q 1 -u "$3" -P "$(pw "$3")" \
		-t "$4" -m "$5" 2>"$TMP/tpub.err"
}
# ---- the right CA, by a name in the certificate: connects, held to its ACL ----------
lib_spawn "$TMP/headset.out" mosquitto_sub -h "$EXT" -p "$tls" --cafile "$certs/ca.crt" \
	-V mqttv5 -q 1 -u headset -P "$(pw headset)" -i test-headset -v -W 60 -t 'factory/#'
n=0
probe_seen() {
	n=$((n + 1))
	tpub "$EXT" "$certs/ca.crt" scorer factory/probe/prediction "p$n" &&
		file_has "$TMP/headset.out" '^factory/probe/prediction p[0-9]+$'
}
check "right CA, by address $EXT: scorer publishes, headset receives, both over TLS" \
	wait_for "a probe over TLS" "$WAIT_S" probe_seen
tpub localhost "$certs/ca.crt" scorer factory/m1/prediction by-name
check "right CA, by name localhost: connects" test $? -eq 0
tpub "$EXT" "$certs/ca.crt" scorer factory/m1/state forbidden
tpub "$EXT" "$certs/ca.crt" scorer factory/m1/prediction control
acl_held() {
	wait_for "the control message" "$WAIT_S" file_has "$TMP/headset.out" '^factory/m1/prediction control$' &&
		! file_has "$TMP/headset.out" '^factory/m1/state forbidden$'
}
check "over TLS the ACL holds: scorer's publish on state is dropped, its prediction delivered" acl_held
mosquitto_pub -h "$EXT" -p "$tls" --cafile "$certs/ca.crt" -V mqttv5 -q 1 -u scorer -P wrong \
	-t factory/m1/prediction -m x >/dev/null 2>&1
check "over TLS a wrong password is refused" test $? -ne 0

# ---- refusals -------------------------------------------------------------------------
tpub "$EXT" "$TMP/other/ca.crt" scorer factory/m1/prediction other-ca
rc=$?
check "another CA: refused with a TLS error (rc $rc: $(head -c 120 "$TMP/tpub.err"))" \
	bash -c "[ $rc -ne 0 ] && grep -q 'TLS error' '$TMP/tpub.err'"
tpub 127.0.0.2 "$certs/ca.crt" scorer factory/m1/prediction bad-name
rc=$?
check "a name not in the certificate (127.0.0.2): refused (rc $rc: $(head -c 120 "$TMP/tpub.err"))" \
	test $rc -ne 0
plain_refused() { ! mosquitto_pub -h "$EXT" -p "$port" -q 1 -u scorer -P "$(pw scorer)" -t factory/m1/prediction -m plain 2>"$TMP/plain.err"; }
check "plain MQTT on the external address is refused ($(head -c 80 "$TMP/plain.err" 2>/dev/null))" plain_refused
check "... and its port is closed there" bash -c "! (exec 3<>/dev/tcp/$EXT/$port) 2>/dev/null"
check "plain websockets (console) on the external address: closed" \
	bash -c "! (exec 3<>/dev/tcp/$EXT/$wsport) 2>/dev/null"
plain_on_tls() { ! timeout 10 mosquitto_pub -h "$EXT" -p "$tls" -q 1 -u scorer -P "$(pw scorer)" -t factory/m1/prediction -m plain-on-tls 2>/dev/null; }
check "plain MQTT on the TLS port gets no session" plain_on_tls
check "nothing refused was delivered" bash -c "! grep -Eq ' (other-ca|bad-name|plain|plain-on-tls|x)\$' '$TMP/headset.out'"
PROD_KEEP_ADDR=1 console_tls_conf "$TMP/console-tls.conf" "$wss" "$wsport"
lib_spawn "$TMP/stunnel.log" stunnel "$TMP/console-tls.conf"
check "stunnel runs mosquitto/console-tls.conf (TLS :$wss in front of the console)" \
	wait_for "stunnel" "$WAIT_S" port_open "$wss"
https_page() { curl -sS --max-time 10 --cacert "$certs/ca.crt" "https://$EXT:$wss/" | grep -q tls-test-page; }
check "the console's page over https on $EXT:$wss (right CA)" https_page
check "... refused with another CA" bash -c "! curl -sS --max-time 10 --cacert '$TMP/other/ca.crt' 'https://$EXT:$wss/' >/dev/null 2>&1"
# A websocket upgrade (subprotocol mqtt) over TLS: 101 from the broker.
ws_upgrade() {
	curl -sS --max-time 5 --http1.1 --cacert "$certs/ca.crt" -o /dev/null -w '%{http_code}' \
		-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: mqtt' \
		"https://$EXT:$wss/" 2>/dev/null | grep -q 101
}
check "a wss upgrade (subprotocol mqtt) through it gets 101 from the broker" ws_upgrade

# ---- what an anomesh service says ---------------------------------------------------------
# svc_log NAME URI CAFILE: run the alerter against URI until its log has a
# "not connected" line (or 20 s); the log in $TMP/NAME.log.
svc_log() {
	lib_spawn "$TMP/$1.log" env ANOMESH_PASSWORD="$(pw alerter)" "$BIN/alerter" --broker "$2" \
		--cafile "$3" --username alerter --instance "$1"
	local pid=$SPAWNED_PID
	wait_for "$1's log to say why" 20 file_has "$TMP/$1.log" "not connected to"
	kill -TERM "$pid" 2>/dev/null
	lib_wait_exit "$pid" 10
}
exp_port=$(free_port)
printf '%s\n' "listener $exp_port 127.0.0.1" "allow_anonymous true" "certfile $TMP/exp/broker.crt" \
	"keyfile $TMP/exp/broker.key" "log_dest stderr" "user $(id -un)" >"$TMP/exp.conf"
lib_spawn "$TMP/exp-broker.log" mosquitto -c "$TMP/exp.conf"
wait_for "the expired broker" "$WAIT_S" port_open "$exp_port"
svc_log other-ca "ssl://$EXT:$tls" "$TMP/other/ca.crt"
svc_log bad-name "ssl://127.0.0.2:$tls" "$certs/ca.crt"
svc_log expired "ssl://127.0.0.1:$exp_port" "$certs/ca.crt"
svc_log plain "ssl://127.0.0.1:$port" "$certs/ca.crt"
says() { grep "not connected" "$TMP/$1.log" | head -n 1 | sed 's/^.*not connected/not connected/' | cut -c1-150; }
check "another CA: the service logs 'unknown CA' ($(says other-ca))" \
	file_has "$TMP/other-ca.log" "ERROR: not connected to ssl://$EXT:$tls \\(retrying\\): TLS: unknown CA"
check "wrong name: the service logs 'name mismatch', listing the names ($(says bad-name))" \
	file_has "$TMP/bad-name.log" "TLS: name mismatch: .*IP:$EXT, not '127.0.0.2'"
check "expired: the service logs 'expired' with the date ($(says expired))" \
	file_has "$TMP/expired.log" "TLS: expired: .* expired on 2020-02-01"
check "TLS to a plain port: the service says it is not a TLS port ($(says plain))" \
	file_has "$TMP/plain.log" "a plain MQTT port\\?"

# ---- secrets ----------------------------------------------------------------------------
secret=$(pw alerter)
ANOMESH_PASSWORD=$secret "$BIN/alerter" --help >"$TMP/help.out" 2>&1
check "--help with ANOMESH_PASSWORD set: exit 0, no password in it" \
	bash -c "grep -q -- '--password-file' '$TMP/help.out' && ! grep -qF -- '$secret' '$TMP/help.out'"
umask 077
printf '%s\n' "$secret" >"$TMP/alerter.pw"
umask 022
lib_spawn "$TMP/good.log" "$BIN/alerter" --broker "ssl://localhost:$tls" --cafile "$certs/ca.crt" \
	--username alerter --password-file "$TMP/alerter.pw" --instance good --log-level debug
good=$SPAWNED_PID
online() { mosquitto_sub -h 127.0.0.1 -p "$port" -u headset -P "$(pw headset)" -t 'factory/_svc/alerter/good/status' -C 1 -W 2 2>/dev/null | grep -q online; }
check "the alerter with --password-file (0600) connects over TLS: status online" \
	wait_for "the alerter's online status" 20 online
check "... its process list shows no password" bash -c "! tr '\\0' ' ' </proc/$good/cmdline | grep -qF -- '$secret'"
kill -TERM "$good" && lib_wait_exit "$good" 10
check "... and its debug log holds none" bash -c "! grep -qF -- '$secret' '$TMP/good.log'"
chmod 644 "$TMP/alerter.pw"
"$BIN/alerter" --broker "ssl://localhost:$tls" --cafile "$certs/ca.crt" --username alerter \
	--password-file "$TMP/alerter.pw" >"$TMP/open.log" 2>&1
rc=$?
check "a password file open to others is refused (exit $rc), naming chmod 600" \
	bash -c "[ $rc -eq 2 ] && grep -q 'chmod 600' '$TMP/open.log' && ! grep -qF -- '$secret' '$TMP/open.log'"
lib_spawn "$TMP/argv.log" "$BIN/alerter" --broker "ssl://localhost:$tls" --cafile "$certs/ca.crt" \
	--username alerter --password "$secret" --instance argv
argv=$SPAWNED_PID
check "--password on the command line: online all the same" \
	wait_for "status" 20 bash -c "mosquitto_sub -h 127.0.0.1 -p $port -u headset -P '$(pw headset)' -t factory/_svc/alerter/argv/status -C 1 -W 2 2>/dev/null | grep -q online"
check "... with a warning that ps shows it" file_has "$TMP/argv.log" "WARN: --password on the command line is visible"
check "... and it is wiped from the process list" bash -c "! tr '\\0' ' ' </proc/$argv/cmdline | grep -qF -- '$secret'"
lib_done
