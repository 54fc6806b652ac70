#!/bin/sh
# Entry point of anomesh's broker image (Dockerfile.broker): before the
# broker or stunnel starts, check that the files only they may read are
# there and readable by this uid, and say how to fix it if not, instead of
# the broker failing on them (and a restart policy repeating that forever).
# Then run the command.
conf=/mosquitto/config
need() {
	if [ ! -e "$1" ]; then
		echo "broker: $1 is missing: $2" >&2
		exit 1
	fi
	if [ ! -r "$1" ]; then
		echo "broker: $1 is not readable by uid $(id -u), which the broker runs as: $2" >&2
		exit 1
	fi
}
certs="scripts/broker-certs.sh -o $(id -u) broker localhost 127.0.0.1 (on the host, as root)"
need "$conf/certs/broker.key" "$certs"
need "$conf/certs/broker.crt" "$certs"
case "$1" in
*mosquitto)
	need "$conf/passwd" "scripts/broker-passwd.sh -e .env -o $(id -u) mosquitto/passwd (on the host, as root)"
	need "$conf/certs/ca.crt" "$certs"
	;;
esac
exec "$@"
