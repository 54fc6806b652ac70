#!/bin/bash
# eval-plots.sh: the PNGs of `make eval-skab` and `make eval-lpms`, drawn with
# gnuplot (scripts/packages.txt) from the CSVs ae-eval writes
# (docs/contract.md, "Offline evaluation output"):
#   skab DIR: DIR/<file>.csv -> DIR/<file>.png: the window score (log scale)
#             and the model's threshold over time, the labelled anomaly
#             shaded red, the stretches the state logic called FAILURE
#             shaded blue (lower half);
#   lpms DIR: DIR/prefail.csv, DIR/normal-tail.csv -> .png: the same over
#             recording time (red: the failure stretches found from linacc_x
#             energy), and below it each channel's share of the score.
# Without gnuplot it says so and exits 0 (the figures are printed anyway).
set -u
mode=${1:-}
dir=${2:-}
if [ -z "$mode" ] || [ ! -d "$dir" ]; then
	echo "usage: $0 skab|lpms DIR" >&2
	exit 2
fi
if ! command -v gnuplot >/dev/null; then
	echo "plots: gnuplot not found (make deps installs it): no PNGs" >&2
	exit 0
fi

# The shading and the score/threshold lines, shared by both modes.
# $1 csv, $2 title, $3 x column expression (gnuplot), $4 x label.
score_panel() {
	cat <<EOF
set title "$2" noenhanced
set xlabel "$4"
set ylabel "window score (log)"
set logscale y
set y2range [0:1]
unset y2tics
set key outside top center horizontal
plot "$1" using $3:(column("truth")) axes x1y2 with filledcurves x1 \
       fs transparent solid 0.18 noborder lc rgb "#d62728" title "labelled anomaly", \
     "$1" using $3:(0.5 * column("state")) axes x1y2 with filledcurves x1 \
       fs transparent solid 0.30 noborder lc rgb "#1f77b4" title "FAILURE (state)", \
     "$1" using $3:(column("score") > 0 ? column("score") : NaN) with lines \
       lw 1 lc rgb "black" title "score", \
     "$1" using $3:(column("threshold")) with lines dt 2 lw 2 \
       lc rgb "#ff7f0e" title "threshold"
EOF
}

n=0
case $mode in
skab)
	while IFS= read -r csv; do
		png=${csv%.csv}.png
		rel=${csv#"$dir"/}
		{
			echo 'set terminal pngcairo size 1100,420 font ",9"'
			echo "set output \"$png\""
			echo 'set datafile separator ","'
			echo 'set xdata time'
			echo 'set timefmt "%Y-%m-%d %H:%M:%S"'
			echo 'set format x "%H:%M"'
			score_panel "$csv" "SKAB $rel" 1 "time"
		} | gnuplot || exit 1
		n=$((n + 1))
	done < <(find "$dir" -name '*.csv' | sort)
	;;
lpms)
	for name in prefail normal-tail; do
		csv=$dir/$name.csv
		[ -r "$csv" ] || continue
		{
			echo 'set terminal pngcairo size 1100,640 font ",9"'
			echo "set output \"$dir/$name.png\""
			echo 'set datafile separator ","'
			echo 'set multiplot layout 2,1'
			score_panel "$csv" "LPMS-B2 $name (window end, recording time)" 1 \
				"recording time, s"
			echo "unset logscale y"
			echo "set key top left opaque"
			echo 'set title "each channel'"'"'s share of the score" noenhanced'
			echo 'set ylabel "share"'
			echo 'set yrange [0:1]'
			echo 'plot "'"$csv"'" using 1:7 with lines lc rgb "#d62728" title "linacc_x" noenhanced, \'
			echo '     "'"$csv"'" using 1:8 with lines lc rgb "#2ca02c" title "linacc_y" noenhanced, \'
			echo '     "'"$csv"'" using 1:9 with lines lc rgb "#1f77b4" title "linacc_z" noenhanced'
			echo 'unset multiplot'
		} | gnuplot || exit 1
		n=$((n + 1))
	done
	;;
*)
	echo "usage: $0 skab|lpms DIR" >&2
	exit 2
	;;
esac
echo "plots: $n PNG(s) in $dir"
