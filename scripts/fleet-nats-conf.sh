#!/bin/sh
# Render one node of the fleet's NATS cluster from fleet/nats-node.conf.in.
#
# Usage: scripts/fleet-nats-conf.sh NAME INDEX DIR [BASE] [HOST] [NODES] [PARTITIONS]
#   NAME        the node's name (n1)
#   INDEX       1..NODES: its ports are BASE+INDEX-1 (clients), +100
#               (routes), +200 (MQTT), +300 (monitoring)
#   DIR         its JetStream directory
#   BASE        the first node's client port (default 4222: 4222, 4322,
#               4422, 4522 for node 1)
#   HOST        the address the listeners bind (default 127.0.0.1)
#   NODES       nodes in the cluster (default 3)
#   PARTITIONS  raw partitions (default 7, not a power of two: fleet/README.md;
#               the same as fleet-archiver --partition-count)
# Prints the config on stdout.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 3 ] || { sed -n '2,/^set/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
name=$1 idx=$2 dir=$3 base=${4:-4222} host=${5:-127.0.0.1} nodes=${6:-3} parts=${7:-7}
routes=""
i=1
while [ "$i" -le "$nodes" ]; do
	routes="$routes${routes:+, }nats-route://$host:$((base + 100 + i - 1))"
	i=$((i + 1))
done
sed -e "s|@NAME@|$name|g" -e "s|@HOST@|$host|g" -e "s|@STORE@|$dir|g" \
	-e "s|@CLIENT@|$((base + idx - 1))|g" -e "s|@CLUSTER@|$((base + 100 + idx - 1))|g" \
	-e "s|@MQTT@|$((base + 200 + idx - 1))|g" -e "s|@HTTP@|$((base + 300 + idx - 1))|g" \
	-e "s|@ROUTES@|$routes|g" -e "s|@PARTITIONS@|$parts|g" "$here/fleet/nats-node.conf.in"
