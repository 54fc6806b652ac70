#!/bin/sh
# Render mosquitto/loopback.conf.in for a broker on 127.0.0.1:PORT that may
# write under DIR, on stdout. Mosquitto reads no environment variables in its
# config, so `make run` and the tests render a file instead. With a console
# port and folder it also gets the console's listener: MQTT over WebSockets
# on 127.0.0.1:CONSOLE_PORT, serving the built page from CONSOLE_DIR.
#
# Usage: scripts/broker-conf.sh PORT DIR [CONSOLE_PORT CONSOLE_DIR] > broker.conf
#   PORT          1..65535 (make run passes $ANOMESH_PORT, tests a free port)
#   DIR           an existing directory, made absolute (the broker may chdir)
#   CONSOLE_PORT  1..65535, not PORT ($ANOMESH_CONSOLE_PORT, default 8080, in make run)
#   CONSOLE_DIR   an existing directory holding index.html (build/console)
set -eu
usage() {
	echo "usage: $0 PORT DIR [CONSOLE_PORT CONSOLE_DIR] > broker.conf" >&2
	exit 2
}
[ $# -eq 2 ] || [ $# -eq 4 ] || usage
check_port() {
	case "$1" in
	'' | *[!0-9]*) echo "$0: port '$1' is not a number" >&2; exit 2 ;;
	esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
		echo "$0: port $1 is outside 1..65535" >&2
		exit 2
	fi
}
# abs_dir DIR: DIR made absolute, refused when the template cannot take it.
abs_dir() {
	[ -d "$1" ] || { echo "$0: $1 is not a directory" >&2; exit 2; }
	d=$(cd "$1" && pwd)
	case "$d" in
	*[\|\&\\]* | *'
'*) echo "$0: directory name '$d' has characters the template cannot take" >&2; exit 2 ;;
	esac
	echo "$d"
}
port=$1
check_port "$port"
dir=$(abs_dir "$2")
if [ $# -eq 4 ]; then
	cport=$3
	check_port "$cport"
	[ "$cport" != "$port" ] || { echo "$0: the console port must differ from the MQTT port $port" >&2; exit 2; }
	cdir=$(abs_dir "$4")
	[ -f "$cdir/index.html" ] || { echo "$0: $cdir/index.html missing: build the console (make console)" >&2; exit 2; }
	console="s|^#@CONSOLE@||"
else
	cport="" cdir=""
	console="/^#@CONSOLE@/d"
fi
here=$(cd "$(dirname "$0")/.." && pwd)
sed -e "$console" -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" \
	-e "s|@CONSOLE_PORT@|$cport|g" -e "s|@CONSOLE_DIR@|$cdir|g" -e "s|@USER@|$(id -un)|g" \
	"$here/mosquitto/loopback.conf.in"
