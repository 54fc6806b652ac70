#!/bin/bash
# The whole mesh as deployed, against the broker-only ceiling of the same
# topology, for growing N, in one run on this machine.
#
# Load: bin/scorer-load publishes N sensors at 50 Hz, 10 samples per raw
# message (5 messages per sensor per second, evenly phased), at raw QoS
# $BENCH_RAW_QOS (1, as ingest-bt publishes), and meters every prediction:
# received vs expected (one per window: 200 samples, hop 10), and the lag
# from the window's last sample (the scheduled publish of the raw message
# holding it) to the prediction's arrival.
#
# For each N, each on a fresh broker (the loopback config `make run` uses):
#   ceiling  the same flows with nothing but the wire: bin/mesh-standin in
#            the scorer's place (subscribes raw, publishes one prediction-
#            sized message per window at the scorer's QoS), in the
#            archiver's (raw, prediction, alert: QoS 1, persistent session)
#            and in the alerter's (prediction); the archiver's stand-in
#            at the archiver's --cpu-class (batch)
#   mesh     bin/scorer --qos $BENCH_PRED_QOS, bin/archiver (SQLite on this
#            machine's disk), bin/alerter; the archive is counted in the
#            database after the archiver's clean stop
# Per process: CPU (% of one core over the metered run) and peak RSS; for
# the machine, the share of its time idle and stolen by the host for other
# guests (a steal above a few % means a noisy neighbour: rerun that row).
# "ok" = every prediction arrived, the archive (or the archiver's stand-in)
# holds every raw message sent, lag p99 <= $BENCH_P99_MS ms, and the
# generator kept its schedule (behind < 50 ms) and published every raw
# message (N-gen-refused: its outbound queue refused N at QoS 1; each is a
# sequence gap that restarts the sensor's window at the scorer, so
# predictions go missing because of the generator).
#
# Near the knee one run's p99 swings by a few milliseconds from run to run,
# enough to move a verdict, so the whole sweep can be repeated
# (BENCH_ROUNDS; mesh and ceiling swap order every other round). Per round,
# "sustained" is the largest N such that it and every smaller N tried were
# ok; the summary prints each round's mesh and ceiling, their ratio, and the
# median ratio over the rounds.
#
# Usage: scripts/bench-mesh.sh [N ...]   (default 250 400 450 500 550 750 1000 2000 3000:
#        50-sensor steps around the 2-core knee, then the issue's scale)
# Env: BENCH_DURATION_S (10), BENCH_RAW_QOS (1), BENCH_PRED_QOS (1),
#      BENCH_P99_MS (10), BENCH_MODES ("ceiling mesh"; also scorer, archiver
#      or alerter: that service real, the other two stand-ins, to see what
#      each adds to the ceiling), BENCH_ROUNDS (1), BENCH_SCORERS (1: in
#      the rows with the real scorer, that many scorers in one group,
#      splitting the sensors (services/scorer/SCALING.md); the CPU column
#      shows each, "a+b"; the ceiling keeps its one stand-in),
#      BENCH_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/.." || exit 1
# BENCH_PREBUILT=1: bin/ holds the programs already (another machine's run
# of scripts/bench-bundle.sh, with no compiler or headers there)
[ "${BENCH_PREBUILT:-0}" = 1 ] || make --no-print-directory -s bin/scorer bin/archiver bin/alerter \
	bin/scorer-load bin/mesh-standin >/dev/null || exit 1
[ -f models/lpms-linacc.aem ] || { echo "models/lpms-linacc.aem missing: make models"; exit 1; }

dur=${BENCH_DURATION_S:-10}
rqos=${BENCH_RAW_QOS:-1}
pqos=${BENCH_PRED_QOS:-1}
p99max=${BENCH_P99_MS:-10}
modes=${BENCH_MODES:-ceiling mesh}
rounds=${BENCH_ROUNDS:-1}
nscorers=${BENCH_SCORERS:-1}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(250 400 450 500 550 750 1000 2000 3000)
. scripts/bench-lib.sh
bench_init bench-mesh
hz=$(getconf CLK_TCK)
export ANOMESH_ROOT=bench ANOMESH_LOG_LEVEL=warn

echo "load: N sensors x 50 Hz, 10 samples/message (raw QoS $rqos), predictions at QoS $pqos, ${dur}s each; mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on loopback"
[ "$nscorers" -gt 1 ] && echo "real scorer: $nscorers scorers in one group"
echo "machine load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-3s %-5s %-8s | %-15s | %-20s | %-13s | %-34s | %-24s | %-10s | %s\n' rnd N run "predictions" "lag p50/p99/max ms" "archived" \
	"CPU % broker/scorer/arch/alert/load" "RSS MiB b/s/ar/al/load" "idle/steal" verdict
# real SERVICE: the row's mode runs SERVICE itself (mesh: all three), not
# its stand-in
real() { [ "$mode" = mesh ] || [ "$mode" = "$1" ]; }

# start_row N: a fresh broker, then the row's scorer, archiver and alerter
# (or their stand-ins); sets procs (broker, scorer, archiver, alerter),
# more (the group's other scorers), log (the row's log prefix) and db
start_row() {
	local n=$1 s1 s2 s3 k
	start_broker
	log="$dir/$mode-$n"
	db="$dir/archive-$mode-$round-$n.db"
	more=()
	if real scorer; then
		for k in $(seq 2 "$nscorers"); do
			bin/scorer --instance "s$n-$k" --qos "$pqos" >"$log.scorer$k" 2>&1 &
			more+=("$!")
		done
		bin/scorer --instance "s$n" --qos "$pqos" >"$log.scorer" 2>&1 &
	else
		bin/mesh-standin --instance "s$n" --role relay --qos "$pqos" >"$log.scorer" 2>&1 &
	fi
	s1=$!
	if real archiver; then
		bin/archiver --instance "a$n" --db "$db" >"$log.archiver" 2>&1 &
	else
		bin/mesh-standin --instance "a$n" --role sink --kinds raw --kinds prediction --kinds alert \
			--persistent 1 --cpu-class batch >"$log.archiver" 2>&1 &
	fi
	s2=$!
	if real alerter; then
		bin/alerter --instance "l$n" --max-sensors $((n + 100)) >"$log.alerter" 2>&1 &
	else
		bin/mesh-standin --instance "l$n" --role sink --kinds prediction >"$log.alerter" 2>&1 &
	fi
	s3=$!
	pids+=("$s1" "$s2" "$s3" "${more[@]+"${more[@]}"}")
	procs=("$broker" "$s1" "$s2" "$s3")
}

# cpu_pct T0 T1 S0 S1: CPU ticks T0 -> T1 over the seconds S0 -> S1, as
# % of one core
cpu_pct() {
	awk -v a="$1" -v b="$2" -v s0="$3" -v s1="$4" -v hz="$hz" \
		'BEGIN{printf "%.0f", 100 * (b - a) / hz / (s1 - s0)}'
}

# load_row N: the generator's run, metering the row's processes; sets out
# (the generator's report) and its fields (sent pred exp p50 p99 pmax
# behind refused), cpu (per process, the group's other scorers after the
# first, "a+b"), rss (per process, the generator's last) and mpct (the
# machine's idle/steal over the run)
load_row() {
	local n=$1 w0 w1 m0 lp lt=0 lh="" x p q
	local -A t0=()
	for p in "${procs[@]}" "${more[@]+"${more[@]}"}"; do t0[$p]=$(cpu_ticks "$p"); done
	w0=$(date +%s.%N)
	m0=$(machine_ticks)
	bin/scorer-load --mode score --qos "$rqos" --sensors "$n" --duration-s "$dur" \
		--grace-s 3 --wait-online 3 >"$log.load" 2>"$log.load.err" &
	lp=$!
	# the generator's own CPU, read just before it exits
	while kill -0 "$lp" 2>/dev/null; do
		x=$(cpu_ticks "$lp")
		[ "$x" != 0 ] && lt=$x && lh=$(hwm_mib "$lp")
		sleep 0.2
	done
	wait "$lp"
	w1=$(date +%s.%N)
	mpct=$(machine_pct "$m0" "$(machine_ticks)")
	cpu=""
	rss=""
	for p in "${procs[@]}"; do
		cpu="$cpu$(cpu_pct "${t0[$p]}" "$(cpu_ticks "$p")" "$w0" "$w1")"
		if [ "$p" = "${procs[1]}" ]; then
			for q in "${more[@]+"${more[@]}"}"; do
				cpu="$cpu+$(cpu_pct "${t0[$q]}" "$(cpu_ticks "$q")" "$w0" "$w1")"
			done
		fi
		cpu="$cpu/"
		rss="$rss$(hwm_mib "$p")/"
	done
	cpu="$cpu$(cpu_pct 0 "$lt" "$w0" "$w1")"
	rss="$rss${lh:-?}"
	out=$(cat "$log.load")
	sent=$(echo "$out" | field sent)
	pred=$(echo "$out" | field predictions)
	exp=$(echo "$out" | field expected)
	p50=$(echo "$out" | field lag_p50_ms)
	p99=$(echo "$out" | field lag_p99_ms)
	pmax=$(echo "$out" | field lag_max_ms)
	behind=$(echo "$out" | field behind_max_ms)
	refused=$(echo "$out" | field pub_failed)
}

# stop_row: the services (the archiver last: it drains), what was archived
# (the database after the archiver's clean stop, or its stand-in's count),
# then the broker; sets archived
stop_row() {
	stop "${procs[1]}"
	for p in "${more[@]+"${more[@]}"}"; do stop "$p"; done
	stop "${procs[3]}"
	stop "${procs[2]}"
	if real archiver; then
		archived=$(sqlite3 "$db" 'select count(*) from messages' 2>/dev/null || echo 0)
	else
		archived=$(field raw <"$log.archiver")
	fi
	stop "$broker"
}

# row_verdict: "ok", or what went wrong, from the generator's fields and
# the archive count
row_verdict() {
	awk -v p="${pred:-0}" -v e="${exp:-1}" -v a="${archived:-0}" -v s="${sent:-1}" \
		-v l="${p99:-1e9}" -v m="$p99max" -v b="${behind:-1e9}" -v r="${refused:-0}" 'BEGIN{
		v = "";
		if (b > 50) v = v " gen-behind";
		if (r > 0) v = v sprintf(" %d-gen-refused", r);
		if (p < e) v = v sprintf(" %.1f%%-pred-missing", 100 * (e - p) / e);
		if (a < s) v = v sprintf(" %d-not-archived", s - a);
		if (l > m) v = v " p99>" m "ms";
		print v == "" ? "ok" : substr(v, 2)}'
}

summary=()
for round in $(seq "$rounds"); do
	order=$modes
	[ $((round % 2)) = 0 ] && order=$(echo "$modes" | tr ' ' '\n' | tac | tr '\n' ' ')
	declare -A best=() broken=()
	for n in "${sizes[@]}"; do
		for mode in $order; do
			start_row "$n"
			load_row "$n"
			stop_row
			verdict=$(row_verdict)
			printf '%-3s %-5s %-8s | %-15s | %-20s | %-13s | %-34s | %-24s | %-10s | %s\n' "r$round" "$n" \
				"$mode" "$pred/$exp" "$p50/$p99/$pmax" "$archived/$sent" "$cpu" "$rss" "$mpct" "$verdict"
			echo "  r$round $mode N=$n: bin/scorer-load ... -> $out" >>"$dir/details.txt"
			if [ "$verdict" = ok ] && [ "${broken[$mode]:-0}" = 0 ]; then
				best[$mode]=$n
			else
				broken[$mode]=1
			fi
		done
	done
	summary+=("${best[mesh]:-0} ${best[ceiling]:-0}")
done
echo "machine load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "largest N sustained (it and every smaller N tried ok), sensors at 50 Hz:"
printf '%s\n' "${summary[@]}" | awk -v top="${sizes[${#sizes[@]}-1]}" '{
	printf "  round %d: whole mesh %d, broker-only ceiling (same topology, same run) %d", NR, $1, $2
	if ($2 > 0) printf ", mesh / ceiling %.0f %%", 100 * $1 / $2
	if ($2 == top) printf " (the ceiling reached the largest N tried: a lower bound of it)"
	printf "\n"}'
printf '%s\n' "${summary[@]}" | awk '$2 > 0 {print 100 * $1 / $2}' | sort -n | awk '{q[NR] = $1}
	END { if (NR == 0) exit
	  m = NR % 2 ? q[(NR + 1) / 2] : (q[NR / 2] + q[NR / 2 + 1]) / 2
	  printf "mesh / ceiling over %d round(s): median %.0f %%, lowest %.0f %%, highest %.0f %%\n", NR, m, q[1], q[NR] }'
cat "$dir/details.txt"
