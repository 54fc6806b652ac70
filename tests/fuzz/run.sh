#!/bin/bash
# Run the libFuzzer targets that `make fuzz` builds (build/fuzz/fuzz_<name>).
# Usage: tests/fuzz/run.sh NAME...    (make fuzz and make fuzz-smoke call it)
# Environment: FUZZ_BIN (build/fuzz), FUZZ_SECONDS (60; 0: no limit),
# FUZZ_RUNS (executions; empty: no limit), ANOMESH_SHARED (../shared).
#
# For each target, in turn:
#  1. replay tests/fuzz/regressions/<name>/*: inputs that once failed;
#  2. gather seeds: tests/fuzz/corpus/<name>/ (committed), and, made now in
#     build/fuzz/seeds/<name>/, the repo's models/*.aem for aefile and,
#     when $ANOMESH_SHARED exists, the first 50 lines of each of its CSVs
#     for csv and raw messages built from its LPMS recordings for msg
#     (never committed: that data is unlicensed, for tests only);
#  3. fuzz (with tests/fuzz/<name>.dict, the format's tokens, if there is
#     one); new inputs go to build/fuzz/corpus/<name>/, a failing one to
#     build/fuzz/artifacts/<name>/ (keep it in tests/fuzz/regressions/<name>/
#     with a unit test beside the module's tests once fixed).
# Exit status 1 when any target failed any step; every target still runs.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
shopt -s nullglob

bin=${FUZZ_BIN:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
shared=${ANOMESH_SHARED:-../shared}
failed=()

# Raw messages (selector byte 0, see fuzz_msg.c) of ten rows of the linear
# acceleration columns, from two places in an LpmsControl log.
msg_seeds_from_lpms() { # csv outdir
	local f=$1 out=$2 b
	b=$(basename "$f" .csv)
	for start in 2 1000; do
		{
			printf '\0'
			awk -F', *' -v s="$start" -v b="$b" '
			NR == s { printf "{\"v\":1,\"sensor\":\"lpms-%s\",\"run\":\"seed\",\"seq\":%d,", b, s
				  printf "\"t0\":%.4f,\"rate_hz\":50,\"frame0\":%d,", 1764151200 + $2, $3
				  printf "\"channels\":[\"linacc_x\",\"linacc_y\",\"linacc_z\"],\"samples\":[" }
			NR >= s && NR < s + 10 { printf "%s[%s,%s,%s]", (NR > s ? "," : ""), $20, $21, $22 }
			NR == s + 10 { printf "]}"; exit }' "$f"
		} >"$out/raw-$b-$start" || return 1
	done
}

gather_seeds() { # name outdir
	local name=$1 out=$2 f rel
	case $name in
	aefile)
		for f in models/*.aem; do cp "$f" "$out/" || return 1; done
		;;
	csv)
		[ -d "$shared/data" ] || return 0
		while IFS= read -r f; do
			rel=${f#"$shared"/data/}
			head -n 50 "$f" >"$out/${rel//\//_}" || return 1
		done < <(find "$shared/data" -name '*.csv' | sort)
		;;
	msg)
		for f in "$shared"/data/lpms-b2/*.csv; do
			msg_seeds_from_lpms "$f" "$out" || return 1
		done
		;;
	esac
}

max_len() {
	case $1 in
	csv) echo 16384 ;;
	aefile) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

for name in "$@"; do
	exe=$bin/fuzz_$name
	work=$bin/corpus/$name
	seeds=$bin/seeds/$name
	art=$bin/artifacts/$name
	echo "== fuzz_$name"
	if [ ! -x "$exe" ]; then
		echo "fuzz: $exe not built (make fuzz builds it)" >&2
		failed+=("$name")
		continue
	fi
	rm -rf "$seeds"
	mkdir -p "$work" "$seeds" "$art"
	regs=(tests/fuzz/regressions/"$name"/*)
	if ((${#regs[@]})); then
		if ! "$exe" "${regs[@]}" >"$art/replay.log" 2>&1; then
			tail -n 40 "$art/replay.log" >&2
			echo "fuzz: fuzz_$name fails on an input in tests/fuzz/regressions/$name" >&2
			failed+=("$name")
			continue
		fi
		echo "fuzz: fuzz_$name passes its ${#regs[@]} regression inputs"
	fi
	if ! gather_seeds "$name" "$seeds"; then
		echo "fuzz: cannot make the seeds of fuzz_$name" >&2
		failed+=("$name")
		continue
	fi
	dirs=("$work" "$seeds")
	[ -d "tests/fuzz/corpus/$name" ] && dirs+=("tests/fuzz/corpus/$name")
	opts=(-max_len="$(max_len "$name")" -timeout=10 -print_final_stats=1 -artifact_prefix="$art/")
	[ -f "tests/fuzz/$name.dict" ] && opts+=(-dict="tests/fuzz/$name.dict")
	if ! "$exe" -max_total_time="$secs" ${runs:+-runs="$runs"} "${opts[@]}" "${dirs[@]}"; then
		echo "fuzz: fuzz_$name failed; the input is in $art/" >&2
		failed+=("$name")
	fi
done
if ((${#failed[@]})); then
	echo "fuzz: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: all passed: $*"
