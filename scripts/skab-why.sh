#!/bin/bash
# skab-why.sh: why the SKAB target is not met (models/README.md, "SKAB"),
# measured on the output of `make eval-skab` and on the data. Run it after
# `make eval-skab`; it chooses nothing. Per file:
#  - the model's score over its threshold (median) before the anomaly,
#    during it and after it (the windows straddling either edge left out),
#    and the share of windows over the threshold in each part;
#  - the lag from the labelled onset to the first anomalous window and to
#    FAILURE, in rows (~seconds): how much of the time to a verdict is the
#    state logic's, how much the data's;
#  - model-free: the median |z| of each channel during the anomaly and
#    after it, z against the mean and std of the file's first 400 rows
#    (what the model trains on).
# usage: scripts/skab-why.sh [EVAL_OUT [SKAB_DIR]]
#        (defaults build/eval-skab, ../shared/data/skab)
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/eval-skab}
data=${2:-../shared/data/skab}
[ -d "$out" ] || { echo "skab-why: no $out: run make eval-skab first" >&2; exit 2; }
awk_median='
function median(a, n,   i, k, t) {
	for (i = 2; i <= n; i++)
		for (k = i; k > 1 && a[k - 1] > a[k]; k--) { t = a[k]; a[k] = a[k - 1]; a[k - 1] = t }
	if (n == 0) return -1
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}'
echo "score/threshold (median) and windows over it: before | during | after the anomaly; lag from the onset, rows"
(cd "$out" && find . -name '*.csv' | sed 's|^\./||' | sort) | while read -r f; do
	awk -F, -v F="$f" "$awk_median"'
	NR == 1 { next }
	{ s[++n] = $2 / $5; lab[n] = $3; st[n] = $4; tr[n] = $6 }
	END {
		for (i = 1; i <= n; i++) if (tr[i]) { if (!on) on = i; off = i }
		for (i = 11; i < on; i++) { a[++na] = s[i]; ca += lab[i] }
		for (i = on; i <= off; i++) { b[++nb] = s[i]; cb += lab[i] }
		for (i = off + 11; i <= n; i++) { c[++nc] = s[i]; cc += lab[i] }
		for (i = on; i <= n && !lab[i]; i++); fa = i - on
		for (i = on; i <= n && !st[i]; i++); fs = i - on
		printf "%-16s %7.2f %7.2f %7.2f | over %3.0f%% %3.0f%% %3.0f%% | first anomalous window %3d, FAILURE %3d\n",
		    F, median(a, na), median(b, nb), nc ? median(c, nc) : -1,
		    na ? 100 * ca / na : 0, nb ? 100 * cb / nb : 0, nc ? 100 * cc / nc : 0, fa, fs
	}' "$out/$f"
done
echo
echo "median |z| per channel (z vs the first 400 rows), during the anomaly | after it"
(cd "$out" && find . -name '*.csv' | sed 's|^\./||' | sort) | while read -r f; do
	awk -F';' -v F="$f" "$awk_median"'
	BEGIN { split("Accelerometer1RMS|Accelerometer2RMS|Current|Pressure|Voltage|Volume Flow RateRMS", names, "|") }
	NR == 1 { for (i = 1; i <= NF; i++) { for (c = 1; c <= 6; c++) if ($i == names[c]) col[c] = i; if ($i == "anomaly") ca = i }; next }
	{ r++; an[r] = $ca + 0; for (c = 1; c <= 6; c++) x[r, c] = $col[c] + 0 }
	END {
		for (c = 1; c <= 6; c++) {
			m = 0; for (i = 1; i <= 400; i++) m += x[i, c] / 400
			v = 0; for (i = 1; i <= 400; i++) v += (x[i, c] - m) ^ 2 / 400
			sd = v > 0 ? sqrt(v) : 1
			for (i = 401; i <= r; i++) if (an[i]) { if (!on) on = i; off = i }
			nd = na = 0; split("", d); split("", a)
			for (i = on; i <= off; i++) { z = (x[i, c] - m) / sd; d[++nd] = z < 0 ? -z : z }
			for (i = off + 1; i <= r; i++) { z = (x[i, c] - m) / sd; a[++na] = z < 0 ? -z : z }
			dur = dur sprintf(" %6.1f", median(d, nd)); aft = aft sprintf(" %6.1f", na ? median(a, na) : -1)
		}
		printf "%-16s%s |%s\n", F, dur, aft
	}' "$data/$f"
done
echo "(channels: acc1 acc2 current pressure voltage flow; -1: no rows after the anomaly)"
