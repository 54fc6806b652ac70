#!/bin/sh
# Render one node of the fleet's NATS cluster from fleet/nats-node.conf.in.
#
# Usage: scripts/fleet-nats-conf.sh [--certfile F --keyfile F [--cafile F [--verify]]]
#                                   NAME INDEX DIR [BASE] [HOST] [NODES] [PARTITIONS]
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
#   --certfile, --keyfile  TLS on the client port and the MQTT listener
#               (both then speak only TLS), with this certificate and key
#               (scripts/broker-certs.sh: it must name every host and
#               address the bridges and archivers dial; one certificate
#               with every node's name serves the whole cluster,
#               fleet/README.md)
#   --cafile    the CA that signs client certificates; with --verify both
#               listeners ask every client for one (fleet-bridge.sh
#               --certfile, fleet-archiver --certfile)
#   The routes between the nodes and the monitoring port stay plain.
# Prints the config on stdout.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,/^set/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
certfile="" keyfile="" cafile="" verify=""
while [ $# -gt 0 ]; do
	case $1 in
	--certfile) [ $# -ge 2 ] || usage; certfile=$2; shift 2 ;;
	--keyfile) [ $# -ge 2 ] || usage; keyfile=$2; shift 2 ;;
	--cafile) [ $# -ge 2 ] || usage; cafile=$2; shift 2 ;;
	--verify) verify=1; shift ;;
	--*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 3 ] || usage
if [ -n "$certfile$keyfile" ] && { [ -z "$certfile" ] || [ -z "$keyfile" ]; }; then
	echo "fleet-nats-conf: --certfile and --keyfile go together" >&2
	exit 2
fi
if [ -n "$cafile$verify" ] && [ -z "$certfile" ]; then
	echo "fleet-nats-conf: --cafile and --verify need --certfile and --keyfile" >&2
	exit 2
fi
if [ -n "$verify" ] && [ -z "$cafile" ]; then
	echo "fleet-nats-conf: --verify needs --cafile (the CA of the client certificates)" >&2
	exit 2
fi
for f in "$certfile" "$keyfile" "$cafile"; do
	case $f in *'"'* | *"\\"*) printf 'fleet-nats-conf: %s: no quotes or backslashes\n' "$f" >&2; exit 2 ;; esac
done
name=$1 idx=$2 dir=$3 base=${4:-4222} host=${5:-127.0.0.1} nodes=${6:-3} parts=${7:-7}
routes=""
i=1
while [ "$i" -le "$nodes" ]; do
	routes="$routes${routes:+, }nats-route://$host:$((base + 100 + i - 1))"
	i=$((i + 1))
done
# tls INDENT: the tls {} block, or nothing
tls() {
	[ -n "$certfile" ] || return 0
	printf '%stls {\n' "$1"
	printf '%s  cert_file: "%s"\n' "$1" "$certfile"
	printf '%s  key_file: "%s"\n' "$1" "$keyfile"
	[ -z "$cafile" ] || printf '%s  ca_file: "%s"\n' "$1" "$cafile"
	[ -z "$verify" ] || printf '%s  verify: true\n' "$1"
	printf '%s  timeout: 2\n' "$1"
	printf '%s}\n' "$1"
}
CLIENT_TLS=$(tls "") MQTT_TLS=$(tls "  ")
export CLIENT_TLS MQTT_TLS
sed -e "s|@NAME@|$name|g" -e "s|@HOST@|$host|g" -e "s|@STORE@|$dir|g" \
	-e "s|@CLIENT@|$((base + idx - 1))|g" -e "s|@CLUSTER@|$((base + 100 + idx - 1))|g" \
	-e "s|@MQTT@|$((base + 200 + idx - 1))|g" -e "s|@HTTP@|$((base + 300 + idx - 1))|g" \
	-e "s|@ROUTES@|$routes|g" -e "s|@PARTITIONS@|$parts|g" "$here/fleet/nats-node.conf.in" |
	awk '$1 == "@CLIENT_TLS@" { if (ENVIRON["CLIENT_TLS"] != "") print ENVIRON["CLIENT_TLS"]; next }
	     $1 == "@MQTT_TLS@" { if (ENVIRON["MQTT_TLS"] != "") print ENVIRON["MQTT_TLS"]; next }
	     { print }'
