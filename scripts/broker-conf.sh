#!/bin/sh
# Render mosquitto/loopback.conf.in for a broker on 127.0.0.1:PORT that may
# write under DIR, on stdout. Mosquitto reads no environment variables in its
# config, so `make run` and the tests render a file instead.
#
# Usage: scripts/broker-conf.sh PORT DIR > broker.conf
#   PORT  1..65535 (make run passes $ANOMESH_PORT, tests a free port)
#   DIR   an existing directory, made absolute (the broker may chdir)
set -eu
usage() {
	echo "usage: $0 PORT DIR > broker.conf" >&2
	exit 2
}
[ $# -eq 2 ] || usage
port=$1
dir=$2
case "$port" in
'' | *[!0-9]*) echo "$0: port '$port' is not a number" >&2; exit 2 ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	echo "$0: port $port is outside 1..65535" >&2
	exit 2
fi
[ -d "$dir" ] || { echo "$0: $dir is not a directory" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
case "$dir" in
*[\|\&\\]* | *'
'*) echo "$0: directory name '$dir' has characters the template cannot take" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$here/mosquitto/loopback.conf.in"
