#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The production broker's access control, exercised on the real files: the
# production config (only its ports, paths and log destination rewritten for a
# temp dir), the real mosquitto/acl, and a password file made by
# scripts/broker-passwd.sh. Checks that clients without or with wrong
# credentials are refused, and that each account can publish and read what
# the ACL grants and nothing it does not.
#
# Mosquitto 2.0 does not refuse a forbidden PUBLISH or SUBSCRIBE: it accepts
# the subscription and never delivers what the account may not read, and
# drops a publish the account may not write (MQTT v5 QoS 1 gets a PUBACK
# "not authorised", v3 nothing). So "not delivered" is shown by ordering: the
# forbidden message is published first, then a control message the same
# subscriber may receive; once the control has arrived, a delivered forbidden
# message would already be in the output before it (one broker thread,
# per-subscriber order). That bounds every wait without sleeping.
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd python3
lib_init

port=$(free_port)
mkdir -p "$TMP/data"

# ---- password file, from the real script ----------------------------------
accounts="ingest scorer archiver alerter headset operator"
for a in $accounts; do
	v=ANOMESH_PASSWORD_$(echo "$a" | tr '[:lower:]' '[:upper:]')
	export "$v=pw-$a-$RANDOM$RANDOM"
done
# shellcheck disable=SC2086 # a list of names
if "$REPO/scripts/broker-passwd.sh" "$TMP/passwd" $accounts 2>"$TMP/passwd.err"; then
	ok "broker-passwd.sh writes a password file for: $accounts"
else
	bad "broker-passwd.sh writes a password file ($(cat "$TMP/passwd.err"))"
	lib_done
fi
# shellcheck disable=SC2016 # a literal $7$
hashed() { ! grep -qF "$ANOMESH_PASSWORD_SCORER" "$TMP/passwd" && grep -q '^scorer:\$7\$' "$TMP/passwd"; }
check "password file holds hashes, not the passwords" hashed
pw() { v=ANOMESH_PASSWORD_$(echo "$1" | tr '[:lower:]' '[:upper:]'); echo "${!v}"; }

# ---- the production config, adapted -------------------------------------------
# production_conf (lib.sh) rewrites the listeners, paths and log destination;
# the console's listener serves a stand-in page from $TMP/www.
conf=$TMP/production.conf
wsport=$(free_port)
mkdir -p "$TMP/www"
echo '<!doctype html><title>acl-test-page</title>' >"$TMP/www/index.html"
production_conf "$conf" "$port" "$wsport" "$TMP/www" "$TMP/data" "$TMP/passwd"
# Debug lines record each denied publish (read when a check fails).
printf 'log_type debug\n' >>"$conf"
rewritten() {
	! grep -q " /mosquitto/" "$conf" && [ "$(grep -c "^listener " "$conf")" = 3 ] &&
		grep -qx "listener $port 127.0.0.1" "$conf" && grep -qx "listener $wsport 127.0.0.1" "$conf" &&
		grep -qx "listener $PROD_TLS_PORT 127.0.0.1" "$conf"
}
check "every path and all three ports (MQTT, MQTT/TLS, console) of production.conf were rewritten" rewritten
closed() { grep -qx "allow_anonymous false" "$conf" && grep -qx "persistence true" "$conf"; }
check "production config keeps anonymous access off and persistence on" closed

if broker_start "$conf" "$port"; then
	ok "mosquitto starts with the production config on 127.0.0.1:$port"
else
	bad "mosquitto starts with the production config on 127.0.0.1:$port"
	lib_done
fi

# pub ACCOUNT TOPIC PAYLOAD [mosquitto_pub args]: one MQTT v5 QoS 1 publish
# (waits for the broker's PUBACK); its stderr in $TMP/pub.err.
pub() {
	local who=$1 topic=$2 msg=$3
	shift 3
	mosquitto_pub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -u "$who" -P "$(pw "$who")" \
		-t "$topic" -m "$msg" "$@" 2>"$TMP/pub.err"
}
# sub NAME ACCOUNT TOPIC...: a long-lived subscriber writing "topic payload"
# lines to $TMP/NAME.out; stopped by pid at exit.
sub() {
	local name=$1 who=$2 args=() t
	shift 2
	for t in "$@"; do args+=(-t "$t"); done
	lib_spawn "$TMP/$name.out" mosquitto_sub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 \
		-u "$who" -P "$(pw "$who")" -i "test-$name" -v -W 120 "${args[@]}"
}
# sub_once ACCOUNT TOPIC: print the first message (retained ones come at
# once) as "topic payload"; gives up after 5 s.
sub_once() {
	mosquitto_sub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -u "$1" -P "$(pw "$1")" \
		-t "$2" -v -C 1 -W 5 2>/dev/null
}
got() { file_has "$TMP/$1.out" "^$2 $3\$"; }
# delivered NAME TOPIC PAYLOAD: wait (bounded) until subscriber NAME has it.
delivered() { wait_for "$1 to receive $3 on $2" "$WAIT_S" got "$1" "$2" "$3"; }
# not_before NAME TOPIC PAYLOAD CTL_TOPIC CTL: once NAME has received the
# control message CTL, PAYLOAD on TOPIC is not among the lines before it.
not_before() {
	delivered "$1" "$4" "$5" || return 1
	! sed -n "1,/^${4//\//\\/} $5\$/p" "$TMP/$1.out" | grep -q "^$2 $3\$"
}
pub_refused() { grep -qi "not author" "$TMP/pub.err"; }

# ---- authentication -----------------------------------------------------------
out=$(mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t factory/s1/raw -m anon 2>&1)
rc=$?
check "a client without credentials is refused (rc $rc: ${out//$'\n'/ })" \
	test $rc -ne 0 -a -n "$(grep -i "not author" <<<"$out")"
out=$(mosquitto_pub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -u ingest -P wrong-password \
	-t factory/s1/raw -m badpw 2>&1)
rc=$?
check "a wrong password is refused (rc $rc: ${out//$'\n'/ })" \
	test $rc -ne 0 -a -n "$(grep -i "not author" <<<"$out")"
mosquitto_pub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -u nobody -P x \
	-t factory/s1/raw -m nouser >/dev/null 2>&1
check "an unknown user is refused" test $? -ne 0

# ---- subscribers: each on what its account reads plus topics it may not read ----
sub scorer scorer 'factory/+/raw' 'factory/+/ack'
sub archiver archiver 'factory/+/raw' 'factory/+/prediction'
sub alerter alerter 'factory/+/ack' 'factory/+/prediction'
sub headset headset 'factory/+/prediction' 'factory/+/ack' 'factory/+/raw'
# Subscriptions become active some time after the processes start: publish
# probes until every subscriber has seen one.
n=0
probes_seen() {
	n=$((n + 1))
	pub ingest factory/probe/raw "p$n"
	pub operator factory/probe/ack "p$n"
	pub scorer factory/probe/prediction "p$n"
	file_has "$TMP/scorer.out" '^factory/probe/raw p[0-9]+$' &&
		file_has "$TMP/archiver.out" '^factory/probe/raw p[0-9]+$' &&
		file_has "$TMP/alerter.out" '^factory/probe/ack p[0-9]+$' &&
		file_has "$TMP/headset.out" '^factory/probe/prediction p[0-9]+$'
}
if wait_for "subscriptions" "$WAIT_S" probes_seen; then
	ok "all four subscribers connected and subscribed"
else
	bad "all four subscribers connected and subscribed"
	lib_done
fi

# ---- ingest ---------------------------------------------------------------------
pub ingest factory/s1/raw raw-1
check "ingest publishes factory/s1/raw; the scorer receives it" \
	delivered scorer factory/s1/raw raw-1
check "the archiver receives it too" delivered archiver factory/s1/raw raw-1

pub ingest factory/s1/prediction forged-pred
check "the broker answers ingest's publish to factory/s1/prediction 'not authorised'" pub_refused
pub ingest factory/s1/raw ctl-2
check "ingest's factory/s1/prediction is not delivered (archiver got the raw sent after it)" \
	not_before archiver factory/s1/prediction forged-pred factory/s1/raw ctl-2

# ---- acks, predictions, who reads what ----------------------------------------------
pub operator factory/s1/ack ack-1
pub ingest factory/s1/raw ctl-3
pub scorer factory/s1/prediction pred-1
check "operator publishes factory/s1/ack; the alerter receives it" \
	delivered alerter factory/s1/ack ack-1
check "scorer cannot read factory/+/ack (got the raw sent after the ack, not the ack)" \
	not_before scorer factory/s1/ack ack-1 factory/s1/raw ctl-3
check "scorer publishes factory/s1/prediction; the archiver receives it" \
	delivered archiver factory/s1/prediction pred-1
check "headset reads predictions" delivered headset factory/s1/prediction pred-1
check "headset does not receive acks" \
	not_before headset factory/s1/ack ack-1 factory/s1/prediction pred-1
check "headset does not receive raw" \
	not_before headset factory/s1/raw ctl-3 factory/s1/prediction pred-1

pub headset factory/s1/ack headset-ack
check "the broker answers headset's ack 'not authorised'" pub_refused
pub operator factory/s1/ack ack-2
check "headset cannot publish factory/s1/ack (alerter got the operator's next ack, not it)" \
	not_before alerter factory/s1/ack headset-ack factory/s1/ack ack-2

pub scorer factory/s1/raw forged-raw
pub ingest factory/s1/raw ctl-4
check "scorer cannot publish factory/s1/raw" \
	not_before archiver factory/s1/raw forged-raw factory/s1/raw ctl-4

# ---- retained state and service status ----------------------------------------------
pub alerter factory/s1/state state-1 -r
check "alerter reads back its retained factory/s1/state (state restore)" \
	test "$(sub_once alerter 'factory/+/state')" = "factory/s1/state state-1"
check "headset reads the retained state" \
	test "$(sub_once headset factory/s1/state)" = "factory/s1/state state-1"
pub archiver factory/s1/state forged-state -r
check "archiver cannot overwrite the retained state" \
	test "$(sub_once archiver factory/s1/state)" = "factory/s1/state state-1"

# the broker's drop count: the alerter reports it (broker_dropped), no one else reads $SYS
check "alerter reads the broker's count of dropped messages" \
	test "$(sub_once alerter '$SYS/broker/publish/messages/dropped')" = '$SYS/broker/publish/messages/dropped 0'
check "headset cannot read the broker's \$SYS topics" \
	test -z "$(sub_once headset '$SYS/broker/publish/messages/dropped')"

pub scorer factory/_svc/scorer/t1/status online -r
check "alerter reads the scorer's retained service status" \
	test "$(sub_once alerter 'factory/_svc/+/+/status')" = "factory/_svc/scorer/t1/status online"
check "a scorer reads another scorer's status and group (scale-out membership)" \
	test "$(sub_once scorer 'factory/_svc/scorer/+/status')" = "factory/_svc/scorer/t1/status online"
pub scorer factory/_svc/scorer/t1/group g1 -r
check "a scorer reads the retained group announcement" \
	test "$(sub_once scorer 'factory/_svc/scorer/+/group')" = "factory/_svc/scorer/t1/group g1"
pub ingest factory/_svc/scorer/t1/status forged-offline -r
check "ingest cannot publish another service's status" \
	test "$(sub_once alerter 'factory/_svc/+/+/status')" = "factory/_svc/scorer/t1/status online"

# Screens (the console's Services view) read service status and metrics; the
# read-only account still writes none of it.
check "headset reads service status" \
	test "$(sub_once headset 'factory/_svc/+/+/status')" = "factory/_svc/scorer/t1/status online"
pub scorer factory/_svc/scorer/t1/metrics metrics-1 -r
check "headset reads service metrics" \
	test "$(sub_once headset 'factory/_svc/+/+/metrics')" = "factory/_svc/scorer/t1/metrics metrics-1"
check "operator reads service metrics" \
	test "$(sub_once operator 'factory/_svc/+/+/metrics')" = "factory/_svc/scorer/t1/metrics metrics-1"
pub headset factory/_svc/scorer/t1/status forged-by-headset -r
check "the broker answers headset's status publish 'not authorised'" pub_refused
check "headset cannot publish a service status" \
	test "$(sub_once alerter 'factory/_svc/+/+/status')" = "factory/_svc/scorer/t1/status online"

# ---- the console's listener -----------------------------------------------------------
# http_get PATH: the body the console listener serves for PATH.
http_get() {
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$wsport$1" 2>/dev/null
}
check "the websockets listener serves the console page (http_dir) without an account" \
	grep -q acl-test-page <<<"$(http_get /)"
check "... and nothing outside http_dir" test -z "$(http_get /../production.conf)"

# Forged scorer group members (services/scorer/SCALING.md): only the scorer
# account may write under factory/_svc/scorer/, live or retained.
sub scorersvc scorer 'factory/_svc/scorer/+/group'
svc_probe() {
	n=$((n + 1))
	pub scorer factory/_svc/scorer/probe/group "p$n"
	file_has "$TMP/scorersvc.out" '^factory/_svc/scorer/probe/group p[0-9]+$'
}
check "a scorer subscribes to the group heartbeats" wait_for "group subscription" "$WAIT_S" svc_probe
forgers="ingest archiver alerter operator headset"
for who in $forgers; do
	pub "$who" factory/_svc/scorer/evil/group "forged-$who" -r
	check "the broker answers $who's publish of a scorer group 'not authorised'" pub_refused
	pub "$who" factory/_svc/scorer/evil/status "online-$who" -r
done
pub scorer factory/_svc/scorer/t1/group ctl-group
for who in $forgers; do
	check "$who cannot forge a scorer heartbeat (the scorer got the real one sent after it)" \
		not_before scorersvc factory/_svc/scorer/evil/group "forged-$who" \
		factory/_svc/scorer/t1/group ctl-group
done
check "no forged retained group or status is left under factory/_svc/scorer/evil" \
	test -z "$(sub_once scorer 'factory/_svc/scorer/evil/+')"

# ---- repair requests: only the archiver asks, only ingest reads -------------------
sub ingestrep ingest 'factory/+/repair'
rep_probe() {
	n=$((n + 1))
	pub archiver factory/probe/repair "p$n"
	file_has "$TMP/ingestrep.out" '^factory/probe/repair p[0-9]+$'
}
check "ingest subscribes to the repair requests; the archiver's arrive" 	wait_for "repair subscription" "$WAIT_S" rep_probe
askers="ingest scorer alerter operator headset"
for who in $askers; do
	pub "$who" factory/s1/repair "forged-$who"
	check "the broker answers $who's repair request 'not authorised'" pub_refused
done
pub archiver factory/s1/repair ctl-repair
for who in $askers; do
	check "$who cannot ask for a repair (ingest got the archiver's request sent after it)" \
		not_before ingestrep factory/s1/repair "forged-$who" factory/s1/repair ctl-repair
done

# ---- adding an account: password file + SIGHUP, as mosquitto/README.md says -------
export ANOMESH_PASSWORD_HEADSET2=pw-headset2-$RANDOM
hs2() {
	mosquitto_pub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -u headset2 \
		-P "$ANOMESH_PASSWORD_HEADSET2" -t factory/s1/ack -m x >/dev/null 2>&1
}
check "broker-passwd.sh -a adds headset2 to the password file" \
	"$REPO/scripts/broker-passwd.sh" -a "$TMP/passwd" headset2 2>/dev/null
hs2
check "headset2 is refused before the broker reloads" test $? -ne 0
kill -HUP "$BROKER_PID"
check "after SIGHUP headset2 can connect" wait_for "reload" "$WAIT_S" hs2
check "the other accounts still work after the reload" pub ingest factory/s1/raw after-hup

# ---- packet size: production.conf's 1 MiB limit (mosquitto/README.md) ----------------
# One payload just under the limit and one just over it, then a control
# message: once the control has arrived, the small one is there and the big
# one is not (mosquitto_pub itself exits 0 either way).
head -c 1000000 /dev/zero | tr '\0' x >"$TMP/under"
head -c 1100000 /dev/zero | tr '\0' x >"$TMP/over"
for f in under over; do
	mosquitto_pub -h 127.0.0.1 -p "$port" -V mqttv5 -q 1 -u ingest -P "$(pw ingest)" \
		-t "factory/$f/raw" -f "$TMP/$f" 2>"$TMP/pub.err"
done
pub ingest factory/s1/raw after-big
size_limit() {
	delivered archiver factory/s1/raw after-big &&
		grep -q '^factory/under/raw x' "$TMP/archiver.out" &&
		! grep -q '^factory/over/raw ' "$TMP/archiver.out"
}
check "a 1,000,000-byte publish is delivered, a 1,100,000-byte one is not" size_limit

# ---- persistence ------------------------------------------------------------------
check "broker stops on SIGTERM" broker_stop
check "persistence wrote mosquitto.db to the data dir" test -s "$TMP/data/mosquitto.db"
lib_done
