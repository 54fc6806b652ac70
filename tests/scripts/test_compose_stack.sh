#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# The compose stack, run for real, as a new user would: dockerd (started
# here when it is not running, as root), the base image debian:12 from
# debootstrap (scripts/docker-base.sh; the tarball is cached in build/docker),
# both images built from a copy of this tree (docker-compose build: layers
# are cached between runs), certificates and accounts from the project's
# scripts with `-o 1883`, then `docker-compose up` over TLS. An emulated
# sensor (lpms-emu on the host, the synthetic arm with faults) streams
# through ingest-bt (host network) to the scorer, alerter and archiver in
# containers; the scorer is restarted mid-stream; the alerter must raise
# FAILURE with an alert and the archiver must have stored samples; the
# console answers over https. Everything is torn down at the end (volumes
# too), and dockerd stopped if this test started it.
#
# Where dockerd cannot start (not root, no docker.io, no cgroups...) it
# prints "SKIP: reason" and exits 77; CI (ANOMESH_NO_SKIP=1) has Docker.
#
# Time: about a minute with the images cached; from nothing (debootstrap
# about 75 s, both images about 3 min on 2 cores) about 5 minutes, hence:
# run.sh: timeout 600
# run.sh: alone (builds Docker images and runs the stack)
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
lib_init
BIN=${ANOMESH_BIN:-$REPO/bin}
STACK_S=${ANOMESH_STACK_S:-180} # FAILURE and an archived sample within this
project=anomesh-test-$$
stack=$TMP/stack
dockerd_pid=""

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "Docker needs root here (dockerd, and -o 1883 for the broker's files)"
command -v docker >/dev/null 2>&1 || skip "no docker client (Debian package docker.io)"
need docker-compose openssl mosquitto_sub mosquitto_passwd python3 curl

# ---- dockerd ----------------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
	command -v dockerd >/dev/null 2>&1 || skip "no dockerd and none running (Debian package docker.io)"
	lib_spawn "$TMP/dockerd.log" dockerd
	dockerd_pid=$SPAWNED_PID
	wait_for "dockerd" 60 docker info >/dev/null 2>&1 ||
		skip "dockerd does not start here: $(grep -m1 -iE 'level=(fatal|error)' "$TMP/dockerd.log" | cut -c1-200)"
	ok "dockerd started (pid $dockerd_pid)"
fi

# Whatever happens, the stack goes down (volumes too), then lib's cleanup
# stops dockerd (if ours) and the emulator by pid.
stack_down() {
	local rc=$?
	if [ -f "$stack/docker-compose.yml" ]; then
		(cd "$stack" && docker-compose -p "$project" down -v --remove-orphans) >"$TMP/down.log" 2>&1
	fi
	return $rc
}
trap 'stack_down; lib_cleanup' EXIT

# ---- images -------------------------------------------------------------------------------------
t0=$SECONDS
if "$REPO/scripts/docker-base.sh" "$REPO/build/docker" >"$TMP/base.log" 2>&1; then
	ok "base image debian:12 ($(docker image inspect -f '{{.Id}}' debian:12 | cut -c1-19); $((SECONDS - t0)) s)"
else
	bad "scripts/docker-base.sh: $(tail -n 3 "$TMP/base.log")"
	lib_done
fi
[ -f "$REPO/build/console/index.html" ] || { bad "build/console missing: make console"; lib_done; }
mkdir -p "$stack"
(cd "$REPO" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -C "$stack" -xf -
mkdir -p "$stack/build" && cp -R "$REPO/build/console" "$stack/build/console"
cd "$stack" || exit 1
# ---- certificates, accounts ------------------------------------------------------------------------
"$REPO/scripts/broker-certs.sh" -d mosquitto/certs -o 1883 broker localhost 127.0.0.1 2>"$TMP/certs.log"
check "broker-certs.sh -o 1883: broker.key owned by uid 1883, mode 0600" \
	test "$(stat -c '%u %a' mosquitto/certs/broker.key)" = "1883 600"
unset ANOMESH_PASSWORD_INGEST ANOMESH_PASSWORD_SCORER ANOMESH_PASSWORD_ARCHIVER ANOMESH_PASSWORD_ALERTER \
	ANOMESH_PASSWORD_HEADSET
"$REPO/scripts/broker-passwd.sh" -e .env -o 1883 mosquitto/passwd ingest scorer archiver alerter headset \
	2>"$TMP/passwd.log"
check "broker-passwd.sh -o 1883: passwd owned by uid 1883, mode 0600; .env 0600" \
	test "$(stat -c '%u %a' mosquitto/passwd) $(stat -c %a .env)" = "1883 600 600"
pw_headset=$(sed -n 's/^ANOMESH_PASSWORD_HEADSET=//p' .env)

export ANOMESH_TAG=test
t0=$SECONDS
if docker-compose -p "$project" build >"$TMP/build.log" 2>&1; then
	ok "docker-compose build: anomesh:test and anomesh-broker:test ($((SECONDS - t0)) s)"
else
	bad "docker-compose build: $(tail -n 5 "$TMP/build.log")"
	lib_done
fi

# ---- up, with an emulated sensor --------------------------------------------------------------------
bport=$(free_port) cport=$(free_port)
export ANOMESH_BROKER_PORT=$bport ANOMESH_CONSOLE_PORT=$cport ANOMESH_PUBLISH_ADDR=127.0.0.1
lib_spawn "$TMP/emu.log" "$BIN/lpms-emu" --listen-port 0 --port-file "$TMP/emu.port" \
	--arm-seed 2 --faults --fault-first-s 20
wait_for "the emulator's port" "$WAIT_S" test -s "$TMP/emu.port"
export ANOMESH_INGEST_ARGS="tcp:127.0.0.1:$(cat "$TMP/emu.port")#arm1"
export ANOMESH_ARCHIVER_ARGS="--db archive.db --commit-ms 200" ANOMESH_ALERTER_ARGS="--metrics-interval 1000"
t0=$SECONDS
docker-compose -p "$project" up -d >"$TMP/up.log" 2>&1
check "docker-compose up -d ($(tail -n 1 "$TMP/up.log"))" test $? -eq 0

# The host side reads through the published TLS port as the read-only
# headset account, trusting the test CA by the name localhost.
lib_spawn "$TMP/seen.out" mosquitto_sub -h localhost -p "$bport" --cafile mosquitto/certs/ca.crt \
	-u headset -P "$pw_headset" -V mqttv5 -q 1 -v -t 'factory/_svc/+/+/status' \
	-t 'factory/_svc/archiver/+/metrics' -t 'factory/+/state' -t 'factory/+/alert' -t 'factory/+/prediction'
online() { for s in ingest-bt scorer archiver alerter; do file_has "$TMP/seen.out" "^factory/_svc/$s/compose/status .*\"online\"" || return 1; done; }
wait_for "four services online" 90 online
check "all four services online over TLS ($((SECONDS - t0)) s after up)" test $? -eq 0
check "the broker's password file and key are read as uid 1883 (no restart loop)" \
	bash -c "[ \"\$(docker inspect -f '{{.RestartCount}}' ${project}_broker_1)\" = 0 ]"
check "predictions for arm1 arrive" wait_for "a prediction" 60 file_has "$TMP/seen.out" '^factory/arm1/prediction '
https_ok() { curl -sS --max-time 5 --cacert mosquitto/certs/ca.crt "https://localhost:$cport/" 2>/dev/null | grep -qi '<html'; }
check "the console over https (console-tls, port $cport)" wait_for "https" 30 https_ok

# ---- a restart mid-stream -------------------------------------------------------------------------------
n_before=$(grep -c '^factory/arm1/prediction ' "$TMP/seen.out")
docker-compose -p "$project" restart scorer >"$TMP/restart.log" 2>&1
check "docker-compose restart scorer, mid-stream" test $? -eq 0
more() { [ "$(grep -c '^factory/arm1/prediction ' "$TMP/seen.out")" -gt $((n_before + 20)) ]; }
check "predictions resume after the restart" wait_for "predictions after the restart" 60 more

# ---- to a FAILURE and an archived sample ------------------------------------------------------------------
wait_for "FAILURE" "$STACK_S" file_has "$TMP/seen.out" '^factory/arm1/state .*"FAILURE"'
check "the alerter raises FAILURE for arm1 ($((SECONDS - t0)) s after up; faults from 20 s)" test $? -eq 0
check "... with an alert" wait_for "an alert" 30 file_has "$TMP/seen.out" '^factory/arm1/alert .*FAILURE'
stored() { grep '^factory/_svc/archiver/compose/metrics ' "$TMP/seen.out" | tail -n 1 | grep -Eq '"samples_stored":[1-9]'; }
check "the archiver stored samples (its metrics)" wait_for "samples_stored" 60 stored
rows=$(docker-compose -p "$project" exec -T archiver sqlite3 archive.db \
	"select coalesce(sum(m.n), 0) from messages m join sensors s on s.id = m.sensor_id where s.name = 'arm1'" \
	2>"$TMP/sqlite.err" | tr -d '\r')
check "... in the archive volume's database ($rows samples of arm1)" test "${rows:-0}" -gt 0 2>/dev/null

# ---- down ---------------------------------------------------------------------------------------------------
docker-compose -p "$project" down -v >"$TMP/down.log" 2>&1
check "docker-compose down -v" test $? -eq 0
gone() { [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" ] &&
	[ -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$project")" ]; }
check "no container or volume of the stack left" gone
lib_done
