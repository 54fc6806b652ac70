#!/bin/bash
# Archiver bench: sustained samples/s into the SQLite store on this machine
# for 3-channel data at the contract's message size (10 samples/message,
# and 50 for comparison), bytes on disk per sample and CPU; then the same
# with every message decoded from its contract JSON first (the archiver's
# per-message work minus spool and MQTT); then 100 and 3,000 sensors
# interleaved (the store's per-sensor lookups). Target: >= 200,000 samples/s.
set -u
cd "$(dirname "$0")/.."
bench=${ANOMESH_BIN:-bin}/archiver-bench
[ -x "$bench" ] || { echo "no $bench (run make)"; exit 1; }
db=$(mktemp -d /tmp/anomesh-bench-archiver.XXXXXX)/bench.db
trap 'rm -rf "$(dirname "$db")"' EXIT
run() {
	echo "\$ archiver-bench $*"
	"$bench" --db "$db" "$@" || exit 1
}
run --messages 200000 --samples-per-msg 10 --channels 3 --commit-max 1000
run --messages 200000 --samples-per-msg 10 --channels 3 --commit-max 100
run --messages 40000 --samples-per-msg 50 --channels 3 --commit-max 1000
run --messages 100000 --samples-per-msg 10 --channels 3 --commit-max 1000 --json
run --messages 200000 --samples-per-msg 10 --channels 3 --commit-max 1000 --sensors 100
run --messages 300000 --samples-per-msg 10 --channels 3 --commit-max 1000 --sensors 3000
