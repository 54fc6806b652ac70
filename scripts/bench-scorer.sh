#!/bin/bash
# Scorer throughput and latency on this machine: N sensors at 50 Hz (raw
# messages of 10 samples, i.e. 5 messages per sensor per second), scored
# with the default model (200-sample windows, hop 10: 5 windows per sensor
# per second), for growing N until the scorer no longer keeps up.
#
# For each N, in the same run and on the same broker configuration (the
# loopback one `make run` uses):
#   broker-only  bin/scorer-load --mode count: the generator publishes the
#                raw stream and a subscriber only counts it (the ceiling:
#                what the broker and the generator manage without a scorer)
#   scorer       a fresh bin/scorer; bin/scorer-load --mode score publishes
#                the same stream and meters every prediction: received vs
#                expected, the scorer's latency_ms (p50/p99), the end-to-end
#                lag (arrival of the prediction minus the time of the
#                window's last sample), the scorer's CPU (% of one core,
#                over the run) and RSS.
# "Sustained" = every expected prediction arrived, lag p99 under 1 s (no
# backlog building up) and the generator kept its schedule (behind < 200
# ms, else the figure is the generator's limit, flagged "gen-bound").
#
# Usage: scripts/bench-scorer.sh [N ...]   (default 100 250 500 1000 1500 2000 3000)
# Env: BENCH_DURATION_S (default 8); BENCH_RAW_QOS (default 1, as ingest
# publishes; the generator itself tops out near 11,700 QoS 1 messages/s on 2
# cores, BENCH_RAW_QOS=0 lifts that to measure the scorer further);
# BENCH_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/.." || exit 1
make --no-print-directory -s bin/scorer bin/scorer-load >/dev/null || exit 1
[ -f models/lpms-linacc.aem ] || { echo "models/lpms-linacc.aem missing: make models"; exit 1; }

dur=${BENCH_DURATION_S:-8}
qos=${BENCH_RAW_QOS:-1}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 250 500 1000 1500 2000 3000)
. scripts/bench-lib.sh
bench_init bench-scorer
start_broker
export ANOMESH_ROOT=bench ANOMESH_LOG_LEVEL=warn

echo "model: $(bin/ae-train --describe models/lpms-linacc.aem 2>/dev/null | grep -m1 -i 'layers' || echo models/lpms-linacc.aem)"
echo "load: N sensors x 50 Hz, 10 samples/message (raw QoS $qos), ${dur}s each; broker mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on loopback"
printf '%-6s | %-22s | %-9s %-9s %-9s %-9s %-9s %-7s %-8s %s\n' \
	N "broker-only msgs/s" "pred ok" "lat p50" "lat p99" "lag p50" "lag p99" "CPU %" "RSS MiB" verdict
printf '%s\n' "-------+------------------------+-----------------------------------------------------------------------------------"
best=0
best_broker=0
hz=$(getconf CLK_TCK)
for n in "${sizes[@]}"; do
	# broker-only ceiling for this N
	c=$(bin/scorer-load --mode count --qos "$qos" --sensors "$n" --duration-s "$dur" --grace-s 3 2>>"$dir/load.log")
	c_ratio=$(echo "$c" | field ratio)
	c_rate=$(echo "$c" | field msgs_per_s)
	c_behind=$(echo "$c" | field behind_max_ms)
	bro="$c_rate (${c_ratio})"
	if awk -v b="$c_behind" 'BEGIN{exit !(b > 200)}'; then
		bro="$bro gen-bound"
	elif awk -v r="$c_ratio" 'BEGIN{exit !(r >= 0.999)}'; then
		best_broker=$n
	fi

	# the scorer
	bin/scorer --instance "bench-$n" --metrics-interval 0 >"$dir/scorer-$n.log" 2>&1 &
	sp=$!
	pids+=("$sp")
	sleep 0.5 # start-up (model load, subscribe) before the clock starts
	t0=$(cpu_ticks "$sp")
	s0=$(date +%s.%N)
	out=$(bin/scorer-load --mode score --qos "$qos" --sensors "$n" --duration-s "$dur" --grace-s 3 2>>"$dir/load.log")
	s1=$(date +%s.%N)
	t1=$(cpu_ticks "$sp")
	rss=$(awk '/VmHWM/{printf "%.1f", $2/1024}' "/proc/$sp/status" 2>/dev/null)
	kill "$sp"
	wait "$sp" 2>/dev/null
	cpu=$(awk -v a="$t0" -v b="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" 'BEGIN{printf "%.1f", 100 * (b - a) / hz / (s1 - s0)}')
	ratio=$(echo "$out" | field ratio)
	lat50=$(echo "$out" | field lat_p50_ms)
	lat99=$(echo "$out" | field lat_p99_ms)
	lag50=$(echo "$out" | field lag_p50_ms)
	lag99=$(echo "$out" | field lag_p99_ms)
	behind=$(echo "$out" | field behind_max_ms)
	verdict=$(awk -v r="$ratio" -v l="$lag99" -v b="$behind" 'BEGIN{
		if (b > 200) print "gen-bound";
		else if (r >= 0.999 && l < 1000) print "sustained";
		else print "BACKLOG"}')
	printf '%-6s | %-22s | %-9s %-9s %-9s %-9s %-9s %-7s %-8s %s\n' \
		"$n" "$bro" "$ratio" "${lat50}ms" "${lat99}ms" "${lag50}ms" "${lag99}ms" "$cpu" "$rss" "$verdict"
	echo "  \$ bin/scorer-load --mode score --qos $qos --sensors $n --duration-s $dur   -> $out" >>"$dir/details.txt"
	if [ "$verdict" = sustained ]; then best=$n; else break; fi
done
echo
echo "largest N sustained by one scorer: $best sensors at 50 Hz ($((best * 5)) windows/s, $((best * 5)) raw msgs/s in)"
echo "largest N the broker alone delivered in full (same run): $best_broker (tried up to the scorer's limit only)"
echo "(lat = latency_ms inside the scorer, from the dispatch of the completing message to the publish;"
echo " lag = prediction arrival at the meter minus the window's last sample time; CPU = % of one core)"
cat "$dir/details.txt"
