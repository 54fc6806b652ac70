#!/bin/bash
# make run: start a broker on 127.0.0.1:$ANOMESH_PORT and every anomesh
# service that exists so far, fed by lpms-emu replaying the pre-fail
# recording in a loop; print live states (or, before the alerter exists,
# the newest stage of the pipeline) in the terminal. Ctrl-C stops every
# process this script started, by pid, and waits for them.
set -u
cd "$(dirname "$0")/.."
port=${ANOMESH_PORT:-1883}
console_port=${ANOMESH_CONSOLE_PORT:-8080}
shared=${ANOMESH_SHARED:-$(cd .. && pwd)/shared}
recording=${ANOMESH_RECORDING:-$shared/data/lpms-b2/pre-fail_20170202_2234.csv}
root=factory
sensor=arm1-lpms
dir=$(mktemp -d /tmp/anomesh-run.XXXXXX)
pids=()
names=()

say() { printf '\033[1m[run]\033[0m %s\n' "$*" >&2; }

# alive PID: running (a zombie, already dead but not yet reaped, is not).
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stop_all() {
	trap - INT TERM EXIT
	say "stopping ${#pids[@]} processes"
	# Newest first, one at a time: services shut down cleanly (final status,
	# last commits) while the broker they talk to is still up.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		p=${pids[$i]}
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 150); do alive "$p" || break; sleep 0.1; done
		if alive "$p"; then
			say "${names[$i]} (pid $p) did not stop within 15 s; killing it"
			kill -KILL "$p" 2>/dev/null
		fi
		# No `wait` here: inside a trap that interrupted `wait -n`, bash's
		# wait for a reaped pid can block forever. Zombies left over are
		# reaped by init once this script exits.
	done
	say "logs kept in $dir"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

start() { # name cmd...: start in the background, log to $dir/name.log
	local name=$1; shift
	"$@" >"$dir/$name.log" 2>&1 &
	pids+=($!)
	names+=("$name")
	say "started $name (pid $!): $*"
}

wait_port() { # port seconds
	local deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
	say "port $port is already in use; choose another: ANOMESH_PORT=18830 make run"
	exit 1
fi
if (exec 3<>/dev/tcp/127.0.0.1/"$console_port") 2>/dev/null; then
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

watch="$root/+/raw"
if [ -x bin/lpms-emu ] && [ -x bin/ingest-bt ]; then
	[ -r "$recording" ] || { say "recording $recording not found (set ANOMESH_SHARED or ANOMESH_RECORDING)"; exit 1; }
	start lpms-emu bin/lpms-emu --listen-port 0 --port-file "$dir/emu.port" --replay "$recording" --loop
	for _ in $(seq 100); do [ -s "$dir/emu.port" ] && break; sleep 0.1; done
	[ -s "$dir/emu.port" ] || { say "lpms-emu did not start; see $dir/lpms-emu.log"; exit 1; }
	start ingest-bt bin/ingest-bt "tcp:127.0.0.1:$(cat "$dir/emu.port")#$sensor"
fi
if [ -x bin/scorer ]; then
	start scorer bin/scorer --model "*=models/lpms-linacc.aem"
	watch="$root/+/prediction"
fi
if [ -x bin/archiver ]; then
	start archiver bin/archiver --db "$dir/archive.db"
fi
if [ -x bin/alerter ]; then
	start alerter bin/alerter
	watch="$root/+/state"
fi
say "mesh up on 127.0.0.1:$port (root '$root'); showing $watch and alerts. Ctrl-C stops everything."
say "tail any topic yourself:  mosquitto_sub -p $port -t '$root/#' -v"
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
