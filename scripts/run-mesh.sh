#!/bin/bash
# make run: start a broker on 127.0.0.1:$ANOMESH_PORT and every anomesh
# service, fed by emulated LPMS-B2 sensors: three synthetic robot arms
# (arm1 develops faults on a schedule, arm2 and arm3 stay healthy), scored
# with models/arm-linacc.aem, and, where the real recordings exist
# (../shared or ANOMESH_RECORDING), a fourth arm replaying the real
# pre-fail recording with models/lpms-linacc.aem. Live states and alerts
# show in the terminal. Ctrl-C stops every process this script started, by
# pid, and waits for them. Needs nothing outside the repository.
set -u
cd "$(dirname "$0")/.." || exit 1
port=${ANOMESH_PORT:-1883}
console_port=${ANOMESH_CONSOLE_PORT:-8080}
shared=${ANOMESH_SHARED:-$(cd .. && pwd)/shared}
recording=${ANOMESH_RECORDING:-$shared/data/lpms-b2/pre-fail_20170202_2234.csv}
root=factory
dir=$(mktemp -d /tmp/anomesh-run.XXXXXX)
say_tag=run
# shellcheck source=scripts/procs.sh
source scripts/procs.sh
trap stop_all EXIT
trap 'exit 0' INT TERM

if busy "$port"; then
	say "port $port is already in use; choose another: ANOMESH_PORT=18830 make run"
	exit 1
fi
if busy "$console_port"; then
	say "console port $console_port is already in use; choose another: ANOMESH_CONSOLE_PORT=18080 make run"
	exit 1
fi
scripts/broker-conf.sh "$port" "$dir" "$console_port" build/console >"$dir/mosquitto.conf" || exit 1
# The broker runs in a session of its own, so that Ctrl-C (SIGINT to the
# terminal's process group) reaches the services but not the broker: they
# shut down cleanly — final status, last commits — while it is still up, and
# stop_all ends it last.
start mosquitto setsid mosquitto -c "$dir/mosquitto.conf"
wait_port "$port" 10 || { say "mosquitto did not come up; see $dir/mosquitto.log"; cat "$dir/mosquitto.log"; exit 1; }
export ANOMESH_BROKER=tcp://127.0.0.1:$port ANOMESH_ROOT=$root

# Each arm: an emulator on a free port (its port in $dir/NAME.port) and a
# source for the one ingest-bt process. $1 name, the rest lpms-emu options.
sources=()
emulate() {
	local name=$1; shift
	start "emu-$name" bin/lpms-emu --listen-port 0 --port-file "$dir/$name.port" "$@"
	for _ in $(seq 100); do [ -s "$dir/$name.port" ] && break; sleep 0.1; done
	[ -s "$dir/$name.port" ] || { say "lpms-emu for $name did not start; see $dir/emu-$name.log"; exit 1; }
	sources+=("tcp:127.0.0.1:$(cat "$dir/$name.port")#$name")
}
emulate arm1 --arm-seed 2 --faults
emulate arm2 --arm-seed 3
emulate arm3 --arm-seed 4
models=(--model "*=models/arm-linacc.aem")
if [ -r "$recording" ]; then
	emulate arm4-recorded --replay "$recording" --loop
	models=(--model "arm4-recorded=models/lpms-linacc.aem" "${models[@]}")
	say "arm4-recorded replays $recording (the real LPMS-B2 recording, in a loop)"
else
	say "no real recording at $recording: the three synthetic arms only (set ANOMESH_SHARED or ANOMESH_RECORDING to add it)"
fi
say "arm1 develops faults (loose mount, worn joint) 40 s after start and every 120 s; arm2 and arm3 stay healthy"
# ingest journals what it publishes, so the archive can be repaired from it
# after a crash of the broker or a power cut (services/archiver/README.md)
start ingest-bt bin/ingest-bt --journal-dir "$dir/journal" "${sources[@]}"
mkdir -p "$dir/models"
start scorer bin/scorer "${models[@]}" --models-dir "$dir/models"
start archiver bin/archiver --db "$dir/archive.db"
start alerter bin/alerter
watch="$root/+/state"
say "mesh up on 127.0.0.1:$port (root '$root'); showing $watch and alerts. Ctrl-C stops everything."
say "tail any topic yourself:  mosquitto_sub -p $port -t '$root/#' -v"
say "teach it arm2 (10 min of its data): bin/anomesh-learn --sensor arm2 --minutes 10 --models-dir $dir/models"
echo "console: http://127.0.0.1:$console_port/"
mosquitto_sub -p "$port" -t "$watch" -t "$root/+/alert" -v &
pids+=($!)
names+=(mosquitto_sub)
# Run until Ctrl-C, or until any process of the mesh ends by itself: then
# say which, and stop the rest rather than run a mesh with a hole in it.
wait -n -p gone "${pids[@]}"
for i in "${!pids[@]}"; do
	if [ "${pids[$i]}" = "${gone:-}" ]; then
		say "${names[$i]} (pid $gone) exited; stopping the mesh. Its log: $dir/${names[$i]}.log"
		[ -f "$dir/${names[$i]}.log" ] && tail -n 5 "$dir/${names[$i]}.log" >&2
	fi
done
exit 1
