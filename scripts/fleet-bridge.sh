#!/bin/sh
# Render the Mosquitto bridge that joins a gateway to the fleet's NATS
# cluster (issue 12; fleet/README.md): append it to the gateway broker's
# config (or drop it into an include_dir). The gateway stays as it is; its
# broker forwards raw, state and alert at QoS 1 and predictions at QoS 0,
# under fleet/{plant}/{gateway}/, to the first cluster node that answers.
#
# Usage: scripts/fleet-bridge.sh --plant P --gateway G --cluster HOST:PORT[,HOST:PORT...]
#                                [--root factory] [--cafile F [--certfile F --keyfile F]]
#   --plant, --gateway  ids, [A-Za-z0-9_-]{1,32}: they become topic levels
#                       and NATS tokens (no '.': NATS' separator)
#   --cluster           the nodes' MQTT listeners (fleet-nats-conf.sh: BASE+200...)
#   --root              the gateway's topic root (default factory)
#   --cafile            TLS to the cluster, trusting this CA (the nodes then
#                       have `tls {}`: fleet-nats-conf.sh --certfile);
#                       --certfile/--keyfile: the gateway's client
#                       certificate, if the cluster asks (--verify); the
#                       broker reads the key as its user (mosquitto)
#
# Store-and-forward: the bridge keeps a persistent session at both ends
# (cleansession false, local_cleansession false): while no node answers,
# the gateway broker queues the bridge's QoS 1 messages, up to its
# max_queued_messages (100000 in mosquitto/loopback.conf.in and
# production.conf) and max_queued_bytes, and sends them when a node
# answers again. Beyond the bound the broker drops the new ones (the
# oldest are kept; Mosquitto 2.0.11 does not count them in $SYS: a dropped
# raw message shows centrally as a gap); predictions (QoS 0) are not
# queued at all. The bridge's state (1 up, 0 down) is the retained
# local topic $SYS/broker/connection/fleet-P-G/state.
set -eu
plant="" gw="" cluster="" root=factory cafile="" certfile="" keyfile=""
usage() { sed -n '2,/^set/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--plant) plant=$2 ;;
	--gateway) gw=$2 ;;
	--cluster) cluster=$2 ;;
	--root) root=$2 ;;
	--cafile) cafile=$2 ;;
	--certfile) certfile=$2 ;;
	--keyfile) keyfile=$2 ;;
	*) usage ;;
	esac
	shift 2
done
id_ok() { printf '%s' "$1" | grep -Eq '^[A-Za-z0-9_-]{1,32}$'; }
id_ok "$plant" || { echo "fleet-bridge: --plant '$plant': [A-Za-z0-9_-]{1,32}" >&2; exit 2; }
id_ok "$gw" || { echo "fleet-bridge: --gateway '$gw': [A-Za-z0-9_-]{1,32}" >&2; exit 2; }
[ -n "$cluster" ] || { echo "fleet-bridge: --cluster HOST:PORT[,...] is required" >&2; exit 2; }
case $root in "" | /* | */ | *+* | *'#'*) echo "fleet-bridge: bad --root '$root'" >&2; exit 2 ;; esac
if [ -n "$certfile$keyfile" ] && { [ -z "$cafile" ] || [ -z "$certfile" ] || [ -z "$keyfile" ]; }; then
	echo "fleet-bridge: --certfile and --keyfile go together, with --cafile" >&2
	exit 2
fi
name=fleet-$plant-$gw
cat <<CONF
# The fleet bridge of gateway '$gw' in plant '$plant' (scripts/fleet-bridge.sh).
connection $name
address $(printf '%s' "$cluster" | tr ',' ' ')
round_robin false
# NATS 2.9's MQTT listener speaks 3.1.1 only and knows no bridge flag.
bridge_protocol_version mqttv311
try_private false
# Persistent at both ends: queued here while no node answers, and the
# cluster keeps the session's in-flight state.
clientid $name
cleansession false
local_cleansession false
restart_timeout 1 15
keepalive_interval 15
# The state topic stays local: its name holds the client id, and NATS
# refuses '.' in topics, closing the connection (fleet/README.md).
notifications true
notifications_local_only true
topic +/raw out 1 $root/ fleet/$plant/$gw/
topic +/state out 1 $root/ fleet/$plant/$gw/
topic +/alert out 1 $root/ fleet/$plant/$gw/
topic +/prediction out 0 $root/ fleet/$plant/$gw/
CONF
if [ -n "$cafile" ]; then
	echo "bridge_cafile $cafile"
	echo "bridge_insecure false"
	[ -z "$certfile" ] || printf 'bridge_certfile %s\nbridge_keyfile %s\n' "$certfile" "$keyfile"
fi
