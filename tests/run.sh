#!/bin/bash
# Run test executables one by one, each under a time limit, and print one
# closing line "N passed, N failed" over all of them. A test binary is a
# cmocka program (its own lines show each case) or a shell script; it passes
# when it exits 0. Output of each goes to the terminal as it runs.
set -u
limit=${ANOMESH_TEST_TIMEOUT:-300}
pass=0; fail=0; failed=()
for t in "$@"; do
	echo "=== $t"
	start=$(date +%s)
	timeout --kill-after=10 "$limit" "$t"
	rc=$?
	dur=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "--- ok   $t (${dur}s)"
	else
		fail=$((fail + 1)); failed+=("$t")
		[ $rc -eq 124 ] && echo "--- FAIL $t: timed out after ${limit}s" || echo "--- FAIL $t (exit $rc, ${dur}s)"
	fi
done
for f in "${failed[@]+"${failed[@]}"}"; do echo "failed: $f"; done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
