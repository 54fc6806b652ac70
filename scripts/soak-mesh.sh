#!/bin/bash
# Soak: the whole mesh (scorer + archiver + alerter on the loopback broker)
# under N sensors at 50 Hz for M minutes; the memory of every process over
# time, every prediction and every archived message counted at the end.
#
# Load: bin/scorer-load as in scripts/bench-mesh.sh (N sensors, 10 samples
# per raw message, evenly phased; it meters every prediction and its lag).
# Every 10 s the RSS of the broker, scorer, archiver and alerter is written
# to rss.csv in the temp dir, and once a minute a progress line is printed.
# At the end: RSS per process, mean and max over the first and the last
# 10 minutes (a third of the run each when it is shorter than 30 minutes),
# predictions received vs expected, archived vs sent (the archiver is
# stopped once its archive stops growing), lag p50/p99/max, and the drop
# and gap counters of each service's last metrics message. "ok" = nothing missing in either count and
# every process's last-window mean RSS within 10 % (or 2 MiB) of its
# first-window mean.
#
# Usage: scripts/soak-mesh.sh [N [MINUTES]]   (default 1000 30), or make soak
# Env: SOAK_RAW_QOS (1, as ingest-bt publishes), SOAK_PRED_QOS (1),
#      BENCH_KEEP=1 keeps the temp dir (rss.csv, the services' logs).
set -u
cd "$(dirname "$0")/.." || exit 1
n=${1:-1000}
minutes=${2:-30}
rqos=${SOAK_RAW_QOS:-1}
pqos=${SOAK_PRED_QOS:-1}
case "$n$minutes" in *[!0-9]*) echo "usage: $0 [N [MINUTES]] (whole numbers)" >&2; exit 2 ;; esac
make --no-print-directory -s bin/scorer bin/archiver bin/alerter bin/scorer-load >/dev/null || exit 1
. scripts/bench-lib.sh
bench_init soak-mesh
export ANOMESH_ROOT=soak ANOMESH_LOG_LEVEL=warn

echo "soak: $n sensors x 50 Hz (raw QoS $rqos, predictions QoS $pqos) through the whole mesh for $minutes min on $(uname -n) ($(nproc) cores), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
start_broker
db="$dir/archive.db"
# every service's metrics, kept for the counters printed at the end
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'soak/_svc/+/+/metrics' -v >"$dir/metrics.log" 2>&1 &
pids+=("$!")
export ANOMESH_METRICS_INTERVAL=2000
bin/scorer --instance soak --qos "$pqos" >"$dir/scorer.log" 2>&1 &
s1=$!
bin/archiver --instance soak --db "$db" >"$dir/archiver.log" 2>&1 &
s2=$!
bin/alerter --instance soak --max-sensors $((n + 100)) >"$dir/alerter.log" 2>&1 &
s3=$!
pids+=("$s1" "$s2" "$s3")
names=(broker scorer archiver alerter)
procs=("$broker" "$s1" "$s2" "$s3")
bin/scorer-load --mode score --qos "$rqos" --sensors "$n" --duration-s $((minutes * 60)) \
	--grace-s 10 --wait-online 3 >"$dir/load.out" 2>"$dir/load.err" &
lp=$!
pids+=("$lp")
echo "t_s,broker_kib,scorer_kib,archiver_kib,alerter_kib" >"$dir/rss.csv"
t0=$(date +%s)
while kill -0 "$lp" 2>/dev/null; do
	sleep 10
	t=$(($(date +%s) - t0))
	row="$t"
	for p in "${procs[@]}"; do row="$row,$(rss_kib "$p")"; done
	echo "$row" >>"$dir/rss.csv"
	if [ $((t / 60)) -gt "${last_min:--1}" ]; then
		last_min=$((t / 60))
		echo "  minute $last_min/$minutes: RSS MiB broker/scorer/archiver/alerter $(echo "$row" | awk -F, '{printf "%.1f/%.1f/%.1f/%.1f", $2/1024, $3/1024, $4/1024, $5/1024}'), load $(cut -d' ' -f1 /proc/loadavg)"
	fi
done
wait "$lp"
out=$(cat "$dir/load.out")
# the archiver may still be behind: stop it once its archive stops growing
# (two reads 2 s apart agree), at most 120 s
prev=-1
for _ in $(seq 60); do
	cur=$(sqlite3 "$db" 'select (select count(*) from messages) || "/" || (select count(*) from predictions)' 2>/dev/null || echo 0)
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 2
done
sleep 3 # one more metrics message from each service
stop "$s1"
stop "$s3"
stop "$s2"
archived=$(sqlite3 "$db" 'select count(*) from messages' 2>/dev/null || echo 0)
stop "$broker"
[ -n "$out" ] || { echo "the load generator printed nothing: $(tail -3 "$dir/load.err")"; exit 1; }

win=600
[ "$minutes" -ge 30 ] || win=$((minutes * 20))
echo
echo "RSS (MiB), first vs last $([ "$win" -ge 60 ] && echo "$((win / 60)) min" || echo "$win s"): mean (max)"
rss=$(awk -F, -v w="$win" -v names="${names[*]}" 'NR > 1 { t[NR] = $1; for (i = 2; i <= 5; i++) v[NR, i] = $i; last = NR; end = $1 }
	END {
		split(names, nm, " "); ok = last > 2;
		for (i = 2; i <= 5; i++) {
			a = b = na = nb = ma = mb = 0;
			for (r = 2; r <= last; r++) {
				if (t[r] <= w) { a += v[r, i]; na++; if (v[r, i] > ma) ma = v[r, i] }
				if (t[r] > end - w) { b += v[r, i]; nb++; if (v[r, i] > mb) mb = v[r, i] }
			}
			if (!na || !nb || a <= 0) { ok = 0; continue }
			a /= na; b /= nb;
			flat = (b <= a * 1.10 || b - a <= 2048);
			if (!flat) ok = 0;
			printf "  %-8s %7.1f (%.1f)  ->  %7.1f (%.1f)  %+.1f %%%s\n", nm[i - 1], a / 1024, ma / 1024,
				b / 1024, mb / 1024, 100 * (b - a) / a, flat ? "" : "  GROWING";
		}
		print "flat=" ok }' "$dir/rss.csv")
echo "$rss" | grep -v '^flat='
flat=$(echo "$rss" | sed -n 's/^flat=//p')
echo "counters (each service's last metrics message):"
python3 - "$dir/metrics.log" <<'PY'
import json, sys
keep = {"scorer": ["raw_in", "windows_scored", "predictions_out", "stale_skipped", "gaps_seq",
                   "window_restarts", "overflow_dropped", "publish_failed", "inbox_full"],
        "archiver": ["messages_stored", "predictions_stored", "gaps", "gaps_open", "backlog_bytes",
                     "db_errors", "overflow_dropped", "inbox_full"],
        "alerter": ["predictions_in", "broker_dropped", "sensors", "transitions", "inbox_full"]}
last = {}
for line in open(sys.argv[1], errors="replace"):
    topic, _, payload = line.partition(" ")
    parts = topic.split("/")
    if len(parts) == 5 and parts[2] in keep:
        try:
            last[parts[2]] = json.loads(payload)
        except ValueError:
            pass
for svc, names in keep.items():
    m = last.get(svc)
    print("  %-8s %s" % (svc, " ".join("%s=%s" % (k, m.get(k, "?")) for k in names) if m else "no metrics seen"))
PY
sent=$(echo "$out" | field sent)
pred=$(echo "$out" | field predictions)
exp=$(echo "$out" | field expected)
echo "predictions $pred/$exp, archived $archived/$sent, lag p50/p99/max $(echo "$out" | field lag_p50_ms)/$(echo "$out" | field lag_p99_ms)/$(echo "$out" | field lag_max_ms) ms, generator refused $(echo "$out" | field pub_failed)"
echo "machine load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bin/scorer-load -> $out"
verdict=$(awk -v p="${pred:-0}" -v e="${exp:-1}" -v a="${archived:-0}" -v s="${sent:-1}" -v f="${flat:-0}" 'BEGIN{
	v = "";
	if (p < e) v = v sprintf(" %d-predictions-missing", e - p);
	if (a < s) v = v sprintf(" %d-not-archived", s - a);
	if (f != 1) v = v " rss-not-flat";
	print v == "" ? "ok" : substr(v, 2)}')
echo "verdict: $verdict"
