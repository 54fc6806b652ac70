#!/bin/sh
# Create the broker's password file (mosquitto_passwd format: salted
# PBKDF2-SHA512 hashes) for anomesh's accounts, from passwords given in the
# environment or generated here. No password is ever read from or written
# to the repository; the generated ones go to an env file for docker-compose.
#
# Usage: scripts/broker-passwd.sh [-a] [-e ENVFILE] [-o UID] PASSWD_FILE [ACCOUNT...]
#   ACCOUNT      default: ingest scorer archiver alerter (add headset,
#                operator or any name that has a `user` block in mosquitto/acl)
#   password     of ACCOUNT, first found: $ANOMESH_PASSWORD_<ACCOUNT> (upper
#                case, '-' as '_'); that line in ENVFILE; 24 random characters
#                appended to ENVFILE (created mode 0600); none: error
#   -e ENVFILE   docker-compose reads ./.env (services get their passwords
#                from it, see docker-compose.yml)
#   -a           add/update these accounts in the existing PASSWD_FILE
#                instead of writing a new file with only these accounts
#   -o OWNER     chown PASSWD_FILE to OWNER, a user name or a uid (needs
#                root). Mosquitto reads the file after dropping root, as its
#                own user, and again on SIGHUP: that user must own it. In
#                anomesh's broker image (Dockerfile.broker) and in
#                eclipse-mosquitto that is uid 1883; for the broker installed
#                by `make install`/the .deb, the user `mosquitto`. A file
#                the broker cannot read makes it exit at start (the image
#                says so in its log).
# PASSWD_FILE is replaced atomically (mode 0600). Exit 0 done, 2 usage, 1 failure.
#
# Examples:
#   scripts/broker-passwd.sh -e .env -o 1883 mosquitto/passwd
#   scripts/broker-passwd.sh -a -e .env -o 1883 mosquitto/passwd headset
#   scripts/broker-passwd.sh -e /etc/anomesh/passwords.env -o mosquitto /etc/anomesh/mosquitto/passwd
set -eu
usage() {
	sed -n '/^# Usage:/,/^# PASSWD_FILE/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
envfile=""
owner=""
add=0
while getopts ae:o:h opt; do
	case $opt in
	a) add=1 ;;
	e) envfile=$OPTARG ;;
	o) owner=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
out=$1
shift
[ $# -gt 0 ] || set -- ingest scorer archiver alerter
command -v mosquitto_passwd >/dev/null 2>&1 || {
	echo "$0: mosquitto_passwd not found (Debian package mosquitto)" >&2
	exit 1
}

umask 077
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM
if [ "$add" = 1 ]; then
	[ -f "$out" ] || { echo "$0: -a: $out does not exist" >&2; exit 1; }
	cat "$out" >"$tmp"
fi
generated=""
for acct in "$@"; do
	case "$acct" in
	'' | *[!A-Za-z0-9_-]*) echo "$0: account name '$acct': use [A-Za-z0-9_-]" >&2; exit 2 ;;
	esac
	var=ANOMESH_PASSWORD_$(printf '%s' "$acct" | tr 'a-z-' 'A-Z_')
	eval "pw=\${$var-}"
	if [ -z "$pw" ] && [ -n "$envfile" ] && [ -f "$envfile" ]; then
		pw=$(sed -n "s/^$var=//p" "$envfile" | tail -n 1)
	fi
	if [ -z "$pw" ]; then
		if [ -z "$envfile" ]; then
			echo "$0: no password for '$acct': set $var or pass -e ENVFILE to generate one" >&2
			exit 1
		fi
		pw=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24)
		generated="$generated$var=$pw
"
	fi
	# On standard input (twice: it asks to confirm), never on a command
	# line, where every user of the machine could read it with ps; printf
	# is a shell builtin, so no process carries it as an argument either.
	printf '%s\n%s\n' "$pw" "$pw" | mosquitto_passwd "$tmp" "$acct" >/dev/null 2>&1 || {
		echo "$0: mosquitto_passwd failed for '$acct'" >&2
		exit 1
	}
done
if [ -n "$owner" ]; then
	case "$owner" in
	*[!0-9]*) chown "$owner:" "$tmp" ;; # a name: with its login group
	*) chown "$owner:$owner" "$tmp" ;;
	esac
fi
mv -f "$tmp" "$out"
trap - EXIT INT TERM
if [ -n "$generated" ]; then
	[ -e "$envfile" ] || : >"$envfile"
	chmod 600 "$envfile"
	printf '%s' "$generated" >>"$envfile"
	echo "$0: generated passwords appended to $envfile" >&2
fi
echo "$0: wrote $out for: $*" >&2
