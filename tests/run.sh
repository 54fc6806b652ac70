#!/bin/bash
# Run test executables, each under a time limit, and print one closing
# line "N passed, N failed, N skipped" over all of them.
#
# A test program is a cmocka binary (its own lines show each case) or a
# shell script. It passes when it exits 0 — unless it skipped cases: a
# cmocka case that calls skip() prints "[  SKIPPED ] name", and a program
# that skips as a whole exits 77 (automake's convention). Every skip must
# say why on a line starting "SKIP: "; the summary lists each skipped
# case with the reasons its program printed, so a green run can never hide
# an untested guarantee. With ANOMESH_NO_SKIP=1 (CI, where every optional
# input exists) any skip fails the run.
#
# ANOMESH_TEST_JOBS=N (default 1) runs up to N programs at once, each on
# its own brokers and ports and temp dirs (the harness picks free ones);
# a program's output is then printed whole when it ends. Most tests wait
# on the clock (replays at set speeds, outages, timeouts), not the CPU, so
# two at once take about half the time. A script with the line
# "# run.sh: alone" runs with nothing beside it (Docker builds, the
# browser, `make run`, the package install: heavy, or global to the host).
#
# The closing lines also repeat why each failed program failed (cmocka's
# ERROR/LINE/FAILED lines, a script's "not ok" lines, a sanitizer's report
# line, else its last lines): CI hands back only the tail of its output.
set -u
limit=${ANOMESH_TEST_TIMEOUT:-300}
jobs=${ANOMESH_TEST_JOBS:-1}
case $jobs in '' | *[!0-9]* | 0) echo "ANOMESH_TEST_JOBS=$jobs: want a number >= 1" >&2; exit 2 ;; esac
pass=0; fail=0; skipped=0; failed=(); skips=(); why=()
outs=$(mktemp -d)
trap 'rm -rf "$outs"' EXIT
declare -A running=() # pid -> index into tests
tests=("$@")

# alone I: test I has the line "# run.sh: alone" (a reason may follow)
alone() { grep -q '^# run\.sh: alone\( \|$\)' "${tests[$1]}" 2>/dev/null; }

# start I: run test I in the background, its output in $outs/I, its exit
# status in $outs/I.rc and its duration in $outs/I.dur
start() {
	local i=$1 t=${tests[$1]} own
	# A script may ask for a longer limit with a line "# run.sh: timeout N"
	# (the compose stack test, which may build its images from scratch).
	own=$(sed -n 's/^# run\.sh: timeout \([0-9][0-9]*\)$/\1/p' "$t" 2>/dev/null | head -n 1)
	[ "$jobs" = 1 ] && echo "=== $t"
	(
		s=$(date +%s)
		if [ "$jobs" = 1 ]; then
			timeout --kill-after=10 "${own:-$limit}" "$t" 2>&1 | tee "$outs/$i"
			rc=${PIPESTATUS[0]}
		else
			timeout --kill-after=10 "${own:-$limit}" "$t" >"$outs/$i" 2>&1
			rc=$?
		fi
		echo "$rc" >"$outs/$i.rc"
		echo "${own:-$limit} $(($(date +%s) - s))" >"$outs/$i.dur"
	) &
	running[$!]=$i
}

# finish I: account for test I, which has ended
finish() {
	local i=$1 t=${tests[$1]} rc lim dur reasons cases c lines out=$outs/$1
	rc=$(cat "$out.rc" 2>/dev/null || echo 1)
	read -r lim dur <"$out.dur" || { lim=$limit; dur=0; }
	[ "$jobs" = 1 ] || { echo "=== $t"; cat "$out"; }
	reasons=$(grep -E '^SKIP: ' "$out" | sed 's/^SKIP: //' | sort -u | paste -sd ';' -)
	cases=$(grep -E '^\[  SKIPPED \] [A-Za-z_]' "$out" | awk '{print $4}' | sort -u)
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1)); skips+=("$t (whole program): ${reasons:-no reason given}")
		echo "--- skip $t (${dur}s)"
		[ -n "$reasons" ] || { fail=$((fail + 1)); failed+=("$t (skipped without a SKIP: reason)"); }
		return
	fi
	for c in $cases; do
		skipped=$((skipped + 1)); skips+=("$t: $c: ${reasons:-no reason given}")
	done
	if [ "$rc" -eq 0 ] && [ -n "$cases" ] && [ -z "$reasons" ]; then
		rc=1; echo "--- $t skipped cases without a SKIP: reason"
	fi
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); echo "--- ok   $t (${dur}s)"
	else
		fail=$((fail + 1)); failed+=("$t")
		[ "$rc" -eq 124 ] && echo "--- FAIL $t: timed out after ${lim}s" || echo "--- FAIL $t (exit $rc, ${dur}s)"
		lines=$(grep -E '^\[ +(ERROR|LINE|FAILED) +\]|^not ok|ERROR: [A-Za-z]+Sanitizer|runtime error:' "$out" | head -n 20)
		[ -n "$lines" ] || lines=$(tail -n 8 "$out")
		why+=("$t (exit $rc, ${dur}s):" "$lines")
	fi
}

# reap [N]: wait until at most N (default 0) tests are running, finishing
# each that ends
reap() {
	local pid
	while [ ${#running[@]} -gt "${1:-0}" ]; do
		pid=""
		wait -n -p pid "${!running[@]}"
		if [ -n "$pid" ] && [ -n "${running[$pid]+x}" ]; then
			finish "${running[$pid]}"
			unset "running[$pid]"
			continue
		fi
		# wait said nothing of ours (a signal, or a status already
		# collected): finish whichever has ended, without spinning
		for pid in "${!running[@]}"; do
			kill -0 "$pid" 2>/dev/null && continue
			wait "$pid" 2>/dev/null
			finish "${running[$pid]}"
			unset "running[$pid]"
		done
		sleep 0.1
	done
}

for i in "${!tests[@]}"; do
	if alone "$i"; then
		reap 0
		start "$i"
		reap 0
	else
		reap $((jobs - 1))
		start "$i"
	fi
done
reap 0
for w in "${why[@]+"${why[@]}"}"; do echo "$w"; done
for f in "${failed[@]+"${failed[@]}"}"; do echo "failed: $f"; done
for s in "${skips[@]+"${skips[@]}"}"; do echo "skipped: $s"; done
echo "$pass passed, $fail failed, $skipped skipped"
if [ "${ANOMESH_NO_SKIP:-0}" = 1 ] && [ $skipped -gt 0 ]; then
	echo "ANOMESH_NO_SKIP=1: every optional input should be here, yet $skipped test(s) skipped" >&2
	exit 1
fi
[ $fail -eq 0 ]
