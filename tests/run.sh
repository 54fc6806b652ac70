#!/bin/bash
# Run test executables one by one, each under a time limit, and print one
# closing line "N passed, N failed, N skipped" over all of them.
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
# The closing lines also repeat why each failed program failed (cmocka's
# ERROR/LINE/FAILED lines, a script's "not ok" lines, a sanitizer's report
# line, else its last lines): CI hands back only the tail of its output.
set -u
limit=${ANOMESH_TEST_TIMEOUT:-300}
pass=0; fail=0; skipped=0; failed=(); skips=(); why=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
	echo "=== $t"
	start=$(date +%s)
	# A script may ask for a longer limit with a line "# run.sh: timeout N"
	# (the compose stack test, which may build its images from scratch).
	own=$(sed -n 's/^# run\.sh: timeout \([0-9][0-9]*\)$/\1/p' "$t" 2>/dev/null | head -n 1)
	timeout --kill-after=10 "${own:-$limit}" "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	dur=$(( $(date +%s) - start ))
	reasons=$(grep -E '^SKIP: ' "$out" | sed 's/^SKIP: //' | sort -u | paste -sd ';' -)
	cases=$(grep -E '^\[  SKIPPED \] [A-Za-z_]' "$out" | awk '{print $4}' | sort -u)
	if [ $rc -eq 77 ]; then
		skipped=$((skipped + 1)); skips+=("$t (whole program): ${reasons:-no reason given}")
		echo "--- skip $t (${dur}s)"
		[ -n "$reasons" ] || { fail=$((fail + 1)); failed+=("$t (skipped without a SKIP: reason)"); }
		continue
	fi
	for c in $cases; do
		skipped=$((skipped + 1)); skips+=("$t: $c: ${reasons:-no reason given}")
	done
	if [ $rc -eq 0 ] && [ -n "$cases" ] && [ -z "$reasons" ]; then
		rc=1; echo "--- $t skipped cases without a SKIP: reason"
	fi
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "--- ok   $t (${dur}s)"
	else
		fail=$((fail + 1)); failed+=("$t")
		[ $rc -eq 124 ] && echo "--- FAIL $t: timed out after ${own:-$limit}s" || echo "--- FAIL $t (exit $rc, ${dur}s)"
		lines=$(grep -E '^\[ +(ERROR|LINE|FAILED) +\]|^not ok|ERROR: [A-Za-z]+Sanitizer|runtime error:' "$out" | head -n 20)
		[ -n "$lines" ] || lines=$(tail -n 8 "$out")
		why+=("$t (exit $rc, ${dur}s):" "$lines")
	fi
done
for w in "${why[@]+"${why[@]}"}"; do echo "$w"; done
for f in "${failed[@]+"${failed[@]}"}"; do echo "failed: $f"; done
for s in "${skips[@]+"${skips[@]}"}"; do echo "skipped: $s"; done
echo "$pass passed, $fail failed, $skipped skipped"
if [ "${ANOMESH_NO_SKIP:-0}" = 1 ] && [ $skipped -gt 0 ]; then
	echo "ANOMESH_NO_SKIP=1: every optional input should be here, yet $skipped test(s) skipped" >&2
	exit 1
fi
[ $fail -eq 0 ]
