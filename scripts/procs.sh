#!/bin/bash
# The processes of `make run` and `make run-fleet` (scripts/run-mesh.sh,
# scripts/run-fleet.sh): started in the background with a log each in
# $dir, remembered by pid, and stopped by pid, newest first, when the
# script ends (Ctrl-C included). Sourced, never run; the sourcing script
# sets `dir` (the logs' folder) and `say_tag` (its name in messages) first.

pids=()
names=()

say() { printf '\033[1m[%s]\033[0m %s\n' "$say_tag" "$*" >&2; }

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

start() { # name cmd...: start in the background, log to $dir/name.log
	local name=$1
	shift
	"$@" >"$dir/$name.log" 2>&1 &
	pids+=($!)
	names+=("$name")
	[ -n "${start_quiet:-}" ] || say "started $name (pid $!): $*"
}

# busy PORT: something listens on 127.0.0.1:PORT.
busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

wait_port() { # port seconds
	local deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		busy "$1" && return 0
		sleep 0.1
	done
	return 1
}
