#!/bin/bash
# Shared helpers for the shell-level tests (tests/scripts/test_*.sh): a temp
# dir, a free loopback port, a mosquitto started and stopped by pid, bounded
# waits by polling, and pass/fail reporting. Sourced, never run.
#
# Every process started through lib_spawn/broker_start is recorded and
# stopped by its pid in the EXIT trap, along with removing the temp dir; a
# test only has to `source lib.sh`, call lib_init, and finish with lib_done.
# Waits poll with a deadline (WAIT_S, default 10 s): nothing here sleeps to
# synchronise.

# shellcheck disable=SC2034 # used by the tests that source this
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WAIT_S=${WAIT_S:-10}
LIB_PIDS=()
LIB_FAILS=0
LIB_CHECKS=0
TMP=""

# lib_init: make $TMP and install the cleanup trap (also on SIGINT/SIGTERM,
# which tests/run.sh's timeout sends).
lib_init() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/anomesh-test.XXXXXX")
	trap lib_cleanup EXIT
	trap 'exit 130' INT TERM
}

lib_cleanup() {
	local rc=$? pid
	for pid in "${LIB_PIDS[@]+"${LIB_PIDS[@]}"}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			lib_wait_exit "$pid" 5 || kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	# 77 is a SKIP (the test said why): no logs to look at.
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "$TMP" ] && [ -f "$TMP/broker.log" ]; then
		echo "--- broker log (last 30 lines):"
		tail -n 30 "$TMP/broker.log"
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit $rc
}

# need CMD...: fail the test at once when a command is missing (the package
# list provides them all, so a missing one is a setup error to see).
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || {
			echo "FAIL: required command '$c' not found (scripts/packages.txt; make deps)"
			exit 1
		}
	done
}

# ok MSG / bad MSG: record one check. check DESC CMD...: run CMD, pass on 0.
ok() {
	LIB_CHECKS=$((LIB_CHECKS + 1))
	echo "ok   - $*"
}
bad() {
	LIB_CHECKS=$((LIB_CHECKS + 1))
	LIB_FAILS=$((LIB_FAILS + 1))
	echo "FAIL - $*"
}
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}

# lib_done: summary line; exit status 0 only when every check passed.
lib_done() {
	echo "$((LIB_CHECKS - LIB_FAILS))/$LIB_CHECKS checks passed"
	[ "$LIB_FAILS" -eq 0 ] && [ "$LIB_CHECKS" -gt 0 ]
	exit $?
}

# free_port: print a TCP port that nothing listens on at 127.0.0.1, chosen by
# the kernel (bind to port 0). Another process may take it before the broker
# does; broker_start then fails loudly rather than talking to a stranger.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# port_open PORT: 0 when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# lib_wait_exit PID SECS: poll until PID is gone; 1 on timeout.
lib_wait_exit() {
	local pid=$1 end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
	return 0
}

# wait_for DESC SECS CMD...: poll CMD until it succeeds; 1 (and a note) when
# SECS pass first.
wait_for() {
	local desc=$1 secs=$2 end=$((SECONDS + $2))
	shift 2
	until "$@"; do
		if [ $SECONDS -ge $end ]; then
			echo "     (timed out after $secs s waiting for $desc)" >&2
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# lib_spawn OUTFILE CMD...: start CMD in the background, stdout+stderr to
# OUTFILE; its pid in SPAWNED_PID and in the cleanup list.
lib_spawn() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	SPAWNED_PID=$!
	LIB_PIDS+=("$SPAWNED_PID")
}

# broker_start CONF PORT: run mosquitto -c CONF (it must log to stderr; the
# log goes to $TMP/broker.log), wait until it says it is running and PORT
# accepts connections. Sets BROKER_PID. Returns 1 when it exits or is not
# ready within WAIT_S. Waiting for "running" too means a stranger that took
# the port first is not mistaken for our broker (ours then fails to bind).
broker_start() {
	local conf=$1 port=$2 end=$((SECONDS + WAIT_S))
	lib_spawn "$TMP/broker.log" mosquitto -c "$conf"
	BROKER_PID=$SPAWNED_PID
	until file_has "$TMP/broker.log" ' running$' && kill -0 "$BROKER_PID" 2>/dev/null &&
		port_open "$port"; do
		if ! kill -0 "$BROKER_PID" 2>/dev/null; then
			echo "broker exited before listening on $port:" >&2
			cat "$TMP/broker.log" >&2
			return 1
		fi
		if [ $SECONDS -ge $end ]; then
			echo "broker not listening on $port after $WAIT_S s" >&2
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# broker_stop: SIGTERM the broker, wait for it; 0 when it exited by itself.
broker_stop() {
	[ -n "${BROKER_PID:-}" ] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null
	lib_wait_exit "$BROKER_PID" "$WAIT_S" || { kill -KILL "$BROKER_PID"; return 1; }
	wait "$BROKER_PID" 2>/dev/null
	BROKER_PID=""
	return 0
}

# file_has FILE REGEX: grep -Eq, quietly false when FILE is missing.
file_has() {
	grep -Eq -- "$2" "$1" 2>/dev/null
}

# production_conf OUT PORT WSPORT HTTPDIR DATADIR PASSWD: mosquitto/production.conf
# made runnable by a test, written to OUT: its plain MQTT listener on
# 127.0.0.1:PORT, the console's plain websockets listener on 127.0.0.1:WSPORT
# serving HTTPDIR, its MQTT TLS listener on 127.0.0.1:$PROD_TLS_PORT (a free
# port picked here unless set) with the certificates in $PROD_CERTS (default $TMP/certs,
# made by scripts/broker-certs.sh for localhost and 127.0.0.1 when missing),
# persistence in DATADIR, the password file PASSWD, the real mosquitto/acl,
# the log on stderr. PROD_KEEP_ADDR=1 keeps the bind addresses of the real
# file (TLS on every interface, plain on the loopback only) and changes only
# the ports. As root mosquitto would switch to the `mosquitto` user, which
# cannot read a temp dir: it stays the invoking user.
# The rewritten lines are the ones production.conf's header names.
production_conf() {
	local out=$1 port=$2 wsport=$3 http=$4 data=$5 passwd=$6 tlsaddr=" 127.0.0.1"
	PROD_TLS_PORT=${PROD_TLS_PORT:-$(free_port)}
	PROD_CERTS=${PROD_CERTS:-$TMP/certs}
	[ "${PROD_KEEP_ADDR:-0}" = 1 ] && tlsaddr=""
	if [ ! -f "$PROD_CERTS/broker.crt" ]; then
		"$REPO/scripts/broker-certs.sh" -d "$PROD_CERTS" localhost 127.0.0.1 2>/dev/null ||
			{ echo "production_conf: broker-certs.sh failed" >&2; return 1; }
	fi
	sed -e "s|^listener 1883 127.0.0.1\$|listener $port 127.0.0.1|" \
		-e "s|^listener 8883\$|listener $PROD_TLS_PORT$tlsaddr|" \
		-e "s|^listener 8080 127.0.0.1\$|listener $wsport 127.0.0.1|" \
		-e "s|^http_dir .*|http_dir $http|" \
		-e "s#^\\(cafile\\|certfile\\|keyfile\\) /mosquitto/config/certs/#\\1 $PROD_CERTS/#" \
		-e "s|^persistence_location .*|persistence_location $data/|" \
		-e "s|^password_file .*|password_file $passwd|" \
		-e "s|^acl_file .*|acl_file $REPO/mosquitto/acl|" \
		-e "s|^log_dest .*|log_dest stderr|" \
		"$REPO/mosquitto/production.conf" >"$out" &&
		printf 'user %s\n' "$(id -un)" >>"$out"
}

# console_tls_conf OUT ACCEPT_PORT CONNECT_PORT: mosquitto/console-tls.conf
# (stunnel) made runnable by a test: TLS on ACCEPT_PORT (every interface
# when PROD_KEEP_ADDR=1, else 127.0.0.1) in front of 127.0.0.1:CONNECT_PORT,
# the certificate from $PROD_CERTS (production_conf first).
console_tls_conf() {
	local addr="127.0.0.1:"
	[ "${PROD_KEEP_ADDR:-0}" = 1 ] && addr=""
	sed -e "s|^accept = 8443\$|accept = $addr$2|" \
		-e "s|^connect = 127.0.0.1:8080\$|connect = 127.0.0.1:$3|" \
		-e "s|^cert = /mosquitto/config/certs/|cert = $PROD_CERTS/|" \
		-e "s|^key = /mosquitto/config/certs/|key = $PROD_CERTS/|" \
		"$REPO/mosquitto/console-tls.conf" >"$1"
}
