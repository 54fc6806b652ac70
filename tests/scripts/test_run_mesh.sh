#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# `make run` (scripts/run-mesh.sh) as the root README describes it, on a free
# port: the broker, lpms-emu replaying the pre-fail recording and the four
# services come up; the terminal shows the arm going to FAILURE, state and
# alert; Ctrl-C (SIGINT to the script's process group, as a terminal sends
# it) stops every process it started, the script exits 0 and names the
# directory that keeps the logs and the archive database. Back to OK after a
# stretch is test_e2e's (same binaries and model, replayed faster). A port
# already taken is refused, with the hint the README gives.
# run.sh: alone (runs make run in the tree)
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need mosquitto mosquitto_sub python3
lib_init
cd "$REPO" || exit 1

# make run uses the release build in bin/ (make builds it; make test does
# before the sanitizer pass)
for b in lpms-emu ingest-bt scorer archiver alerter; do
	if [ ! -x "bin/$b" ]; then
		echo "SKIP: bin/$b is not built (make run runs the release build in bin/: make)"
		exit 77
	fi
done
if grep -q 'build/console' scripts/run-mesh.sh && [ ! -f build/console/index.html ]; then
	echo "SKIP: build/console is not built (make run builds it first: make console)"
	exit 77
fi

export ANOMESH_PORT ANOMESH_CONSOLE_PORT
ANOMESH_PORT=$(free_port)
ANOMESH_CONSOLE_PORT=$(free_port)
out=$TMP/run.out
# A process group of its own with SIGINT at its default: a background job of
# a script starts with SIGINT ignored, and bash could not trap it then.
lib_spawn "$out" python3 -c 'import os, signal, sys
os.setpgrp()
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' scripts/run-mesh.sh
run_pid=$SPAWNED_PID

if wait_for "the mesh" 30 file_has "$out" "mesh up on 127.0.0.1:$ANOMESH_PORT"; then
	ok "the mesh comes up on 127.0.0.1:$ANOMESH_PORT"
else
	bad "the mesh comes up on 127.0.0.1:$ANOMESH_PORT; it said:"
	cat "$out"
	dir=$(sed -n 's/.*logs kept in \(\/tmp\/anomesh-run\.[A-Za-z0-9]*\)$/\1/p' "$out")
	[ -n "$dir" ] && rm -rf "$dir"
	lib_done
fi
started=" $(sed -n 's/.*started \([a-z0-9_-]*\) (pid [0-9]*).*/\1/p' "$out" | paste -sd ' ' -) "
all_started() {
	local n
	for n in mosquitto ingest-bt scorer archiver alerter; do
		[[ $started == *" $n "* ]] || return 1
	done
	[[ $started == *" lpms-emu "* || $started == *" emu-"* ]]
}
check "it started the broker, an emulator and the four services ($started)" all_started
dir=$(sed -n 's/.*mosquitto -c \(.*\)\/mosquitto.conf$/\1/p' "$out" | head -n 1)
failure_shown() {
	file_has "$out" '^factory/[^/ ]+/state .*"state":"FAILURE"' &&
		file_has "$out" '^factory/[^/ ]+/alert .*"to":"FAILURE"'
}
check "the terminal shows an arm's FAILURE state and alert" \
	wait_for "FAILURE" 120 failure_shown

pids=$(sed -n 's/.*started [a-z_-]* (pid \([0-9]*\)).*/\1/p' "$out")
kill -INT -- "-$run_pid"
lib_wait_exit "$run_pid" 60
wait "$run_pid"
rc=$?
check "after Ctrl-C the script exits 0 (rc $rc)" test $rc -eq 0
all_gone() {
	local p
	for p in $pids; do
		[ -r "/proc/$p/stat" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" && return 1
	done
	return 0
}
check "every process it started is gone" wait_for "the processes" 10 all_gone
check "it names the directory with the logs ($dir)" file_has "$out" "logs kept in $dir\$"
check "the archive database is kept there" test -s "$dir/archive.db"
case $dir in /tmp/anomesh-run.*) rm -rf "$dir" ;; esac

# a port that is taken: it says so and how to pick another, and starts nothing
lib_spawn "$TMP/holder.out" python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)'
wait_for "the port holder" 10 file_has "$TMP/holder.out" '^[0-9]+$'
ANOMESH_PORT=$(head -n 1 "$TMP/holder.out")
before=$(ls -d /tmp/anomesh-run.* 2>/dev/null)
scripts/run-mesh.sh >"$TMP/taken.out" 2>&1
rc=$?
# it made its (empty) log directory before looking at the port: remove it
for d in /tmp/anomesh-run.*; do
	grep -qxF "$d" <<<"$before" || rmdir "$d" 2>/dev/null
done
check "a taken port: exit 1 and 'ANOMESH_PORT=18830 make run' (rc $rc)" \
	test $rc -eq 1 -a -n "$(grep 'already in use; choose another: ANOMESH_PORT=18830 make run' "$TMP/taken.out")"
check "... and nothing started" test -z "$(grep 'started ' "$TMP/taken.out")"
lib_done
