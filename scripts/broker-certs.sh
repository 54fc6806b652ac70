#!/bin/sh
# Make a small certificate authority and the broker's TLS certificate with
# openssl, for a plant that has no PKI of its own: the services, the console
# and the headsets then trust ca.crt, and the broker presents broker.crt.
# Keys are EC P-256, written mode 0600; certificates are public (0644).
# An existing CA in DIR is reused (re-issuing the broker's certificate, e.g.
# for a new host name, needs no change on the clients); a new one is made
# otherwise.
#
# Usage: scripts/broker-certs.sh [-d DIR] [-D DAYS] [-o OWNER] [-c CLIENT]... NAME...
#   NAME       the broker's host names and addresses, as clients will dial
#              them (the first is the certificate's CN); each becomes a
#              subjectAltName, IP: when it is an IPv4/IPv6 address, DNS:
#              otherwise. Clients check the name they connect to against
#              these: in docker-compose the services dial "broker".
#   -d DIR     output directory (default mosquitto/certs): ca.crt, ca.key,
#              broker.crt, broker.key, and CLIENT.crt/CLIENT.key
#   -D DAYS    validity of the certificates made now (default 825; the CA:
#              3650). Renew before it ends: clients refuse an expired one.
#   -o OWNER   chown broker.key to OWNER (user name or uid; needs root): the
#              broker reads its key after dropping root, as `mosquitto`
#              (uid 1883 in anomesh's broker image and in eclipse-mosquitto)
#   -c CLIENT  also issue a client certificate CLIENT.crt/CLIENT.key (for
#              brokers that ask clients for certificates: --certfile and
#              --keyfile of every service)
# Exit 0 done, 2 usage, 1 failure.
#
# Bringing your own PKI: skip this script and give the broker
# cafile/certfile/keyfile of your own (mosquitto/production.conf) and the
# services --cafile with your CA (or the chain that signed the broker's
# certificate); the broker's certificate must name, in subjectAltName, every
# host name or address clients use to reach it.
#
# Examples:
#   scripts/broker-certs.sh -o 1883 broker localhost 127.0.0.1    # docker-compose
#   scripts/broker-certs.sh -d /etc/anomesh/tls -o mosquitto gw1.plant.example 10.0.4.7
set -eu
usage() {
	sed -n '/^# Usage:/,/^# Exit 0/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
dir=mosquitto/certs
days=825
owner=""
clients=""
while getopts d:D:o:c:h opt; do
	case $opt in
	d) dir=$OPTARG ;;
	D) days=$OPTARG ;;
	o) owner=$OPTARG ;;
	c) clients="$clients $OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
case "$days" in '' | *[!0-9]*) echo "$0: -D: '$days' is not a number of days" >&2; exit 2 ;; esac
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found (Debian package openssl)" >&2; exit 1; }

# san NAME...: the subjectAltName value for these names.
san=""
for n in "$@"; do
	case "$n" in
	'' | *[!A-Za-z0-9.:_-]*) echo "$0: '$n' is not a host name or address" >&2; exit 2 ;;
	esac
	if printf '%s' "$n" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$|:'; then
		san="$san,IP:$n"
	else
		san="$san,DNS:$n"
	fi
done
san=${san#,}
for c in $clients; do
	case "$c" in '' | *[!A-Za-z0-9_-]*) echo "$0: -c: '$c': use [A-Za-z0-9_-]" >&2; exit 2 ;; esac
done

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d "$dir/.certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# key FILE: a new EC P-256 private key, mode 0600.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# issue NAME CN DAYS EXTFILE: NAME.key and NAME.crt signed by the CA, into $tmp.
issue() {
	key "$tmp/$1.key"
	openssl req -new -key "$tmp/$1.key" -subj "/O=anomesh/CN=$2" -out "$tmp/$1.csr"
	openssl x509 -req -in "$tmp/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -CAserial "$tmp/ca.srl" -days "$3" -sha256 \
		-extfile "$4" -out "$tmp/$1.crt" 2>/dev/null
}

if [ -f "$dir/ca.crt" ] && [ -f "$dir/ca.key" ]; then
	echo "$0: reusing the CA in $dir" >&2
else
	key "$tmp/ca.key"
	openssl req -x509 -new -key "$tmp/ca.key" -subj "/O=anomesh/CN=anomesh broker CA" \
		-days 3650 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tmp/ca.crt"
	mv -f "$tmp/ca.key" "$dir/ca.key"
	chmod 644 "$tmp/ca.crt"
	mv -f "$tmp/ca.crt" "$dir/ca.crt"
	echo "$0: made a new CA: $dir/ca.crt (give it to every client), $dir/ca.key (keep it offline)" >&2
fi

printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=serverAuth" "subjectAltName=$san" >"$tmp/server.ext"
issue broker "$1" "$days" "$tmp/server.ext"
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=clientAuth" >"$tmp/client.ext"
for c in $clients; do
	issue "$c" "$c" "$days" "$tmp/client.ext"
done

if [ -n "$owner" ]; then
	chown "$owner" "$tmp/broker.key"
fi
for n in broker $clients; do
	chmod 644 "$tmp/$n.crt"
	mv -f "$tmp/$n.key" "$dir/$n.key"
	mv -f "$tmp/$n.crt" "$dir/$n.crt"
done
echo "$0: wrote $dir/broker.crt for $san (valid $days days)${clients:+; clients:$clients}" >&2
