#!/bin/bash
# Shared by the mesh benchmark and the soak (scripts/bench-mesh.sh,
# scripts/soak-mesh.sh): a temp dir with the processes to stop on exit, a
# loopback broker on a free port (the config `make run` uses), and readers
# of /proc and of the key=value lines the load generator prints.
# Source it after `cd` to the repository root; set BENCH_KEEP=1 to keep the
# temp dir.

# bench_init NAME: $dir (a fresh temp dir), pids=() stopped on exit.
bench_init() {
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	pids=()
	trap bench_cleanup EXIT
}
bench_cleanup() {
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
}

# CPU ticks (user + system, all threads) and peak / current RSS of a pid.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_mib() { awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# The machine's cpu line of /proc/stat; machine_pct A B: what of the time
# between two such lines went to idle and to steal (another guest of the
# host running on our cores: a noisy neighbour), as "idle/steal" %.
machine_ticks() { head -1 /proc/stat; }
machine_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN{
		n = split(a, x, " "); split(b, y, " "); t = 0
		for (i = 2; i <= n; i++) t += y[i] - x[i]
		if (t <= 0) t = 1
		printf "%.0f/%.0f", 100 * (y[5] - x[5]) / t, 100 * (y[9] - x[9]) / t}'
}
# field KEY: the value of KEY=value on stdin.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# start_broker: a mosquitto on a free 127.0.0.1 port with the loopback
# config, under $dir -> $port, $broker (its pid, in pids), ANOMESH_BROKER.
start_broker() {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$dir/broker-$port"
	scripts/broker-conf.sh "$port" "$dir/broker-$port" >"$dir/broker-$port/mosquitto.conf"
	mosquitto -c "$dir/broker-$port/mosquitto.conf" >"$dir/broker-$port/log" 2>&1 &
	broker=$!
	pids+=("$broker")
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
		sleep 0.1
	done
	export ANOMESH_BROKER=tcp://127.0.0.1:$port
}
