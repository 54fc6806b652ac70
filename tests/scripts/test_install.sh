#!/bin/bash
# (check helpers are called through check/wait_for, which shellcheck cannot see)
# shellcheck disable=SC2317
# Installing without Docker (packaging/install.mk): `make deb` installs
# into a scratch root with `dpkg --root` (maintainer scripts without chroot,
# DPKG_ROOT set), its files are where the systemd units expect them,
# `systemd-analyze verify` passes on every unit in that root, `make install
# DESTDIR=` (same PREFIX) gives the very same tree, and the package removes
# and purges cleanly. anomesh-setup, run on an install under a temp prefix,
# makes the certificates, the broker's password file (mode 0600, owned by
# mosquitto) and puts each service's password in its env file (0600) and
# nowhere in its own command lines. The fleet tier's programs, units, env
# files and generators are in the package too.
# run.sh: alone (runs make deb in the tree and dpkg)
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need dpkg dpkg-deb systemd-analyze make openssl mosquitto_passwd
lib_init
[ "$(id -u)" = 0 ] || { echo "SKIP: dpkg --root and chown to mosquitto need root"; exit 77; }
cd "$REPO" || exit 1

# ---- the package ---------------------------------------------------------------------
rm -f build/anomesh_*.deb
if make -s deb >"$TMP/deb.log" 2>&1; then
	ok "make deb builds $(basename build/anomesh_*.deb)"
else
	bad "make deb ($(tail -n 5 "$TMP/deb.log"))"
	lib_done
fi
deb=$(ls build/anomesh_*.deb)
root=$TMP/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
: >"$root/var/lib/dpkg/status"
# dependencies are the host's business here (the scratch root is empty)
dpkgr() { dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null "$@"; }
dpkgr -i "$deb" >"$TMP/dpkg-i.log" 2>&1
check "dpkg --root installs it ($(grep -m1 -i error "$TMP/dpkg-i.log"))" \
	bash -c "dpkg --root='$root' -s anomesh 2>/dev/null | grep -q '^Status: install ok installed'"

# ---- files where the units expect them -------------------------------------------------
units=$(cd "$root/lib/systemd/system" && ls anomesh*)
check "nine units: $(echo $units)" test "$(echo "$units" | wc -w)" = 9
for u in $units; do
	f=$root/lib/systemd/system/$u
	for exe in $(sed -n 's/^Exec\(Start\|Reload\)=\([^ ]*\).*/\2/p' "$f"); do
		case "$exe" in
		/usr/bin/stunnel4 | /usr/sbin/mosquitto | /bin/kill) continue ;; # dependencies
		esac
		check "$u: $exe installed, executable" test -x "$root$exe"
	done
	for env in $(sed -n 's/^EnvironmentFile=//p' "$f"); do
		check "$u: $env installed, mode 0600" test "$(stat -c %a "$root$env" 2>/dev/null)" = 600
	done
	for conf in $(sed -n 's/^ExecStart=.* \(\/etc\/[^ ]*\)$/\1/p; s/^ExecStart=.* -c \([^ ]*\)$/\1/p' "$f" | sort -u); do
		check "$u: its config $conf installed" test -f "$root$conf"
	done
done
pc=$root/etc/anomesh/mosquitto/production.conf
for p in $(sed -n 's/^\(acl_file\|http_dir\) //p' "$pc"); do
	check "production.conf names $p: installed" test -e "$root$p"
done
check "production.conf: no container path left" bash -c "! grep -q ' /mosquitto/' '$pc'"
check "scorer.env's default model installed" \
	test -f "$root$(sed -n 's/^ANOMESH_MODEL=\*=//p' "$root/etc/anomesh/scorer.env")"
check "LICENSE and NOTICE in the documentation" \
	test -f "$root/usr/share/doc/anomesh/LICENSE" -a -f "$root/usr/share/doc/anomesh/NOTICE"
# the fleet tier: its programs, units, env files and the cluster's generators
for p in fleet-archiver fleet-view; do
	check "$p installed, executable, a unit of its own, not in anomesh.target" bash -c \
		"test -x '$root/usr/bin/$p' && test -f '$root/lib/systemd/system/anomesh-$p.service' &&
		 ! grep -q 'anomesh-$p' '$root/lib/systemd/system/anomesh.target'"
	check "$p --help runs (its libraries found)" bash -c "'$root/usr/bin/$p' --help >/dev/null"
done
check "the package depends on libnats (the fleet programs link it)" \
	bash -c "dpkg-deb -f '$deb' Depends | grep -q libnats"
renders() { # the installed generator finds its installed template
	"$root/usr/share/anomesh/scripts/fleet-nats-conf.sh" --certfile /c --keyfile /k n1 1 /js |
		grep -q 'cert_file: "/c"' &&
		"$root/usr/share/anomesh/scripts/fleet-bridge.sh" --plant p --gateway g --cluster h:1 \
			--cafile /ca | grep -q '^bridge_cafile /ca$'
}
check "fleet-nats-conf.sh and fleet-bridge.sh installed, rendering from the installed template" renders
check "fleet-archiver.env: TLS to the cluster by default" \
	grep -qx 'ANOMESH_CAFILE=/etc/anomesh/tls/ca.crt' "$root/etc/anomesh/fleet-archiver.env"

# ---- systemd-analyze verify on every unit, in a root holding the package --------------------
# and what the units need from the system (systemd's own units, the
# dependencies' programs): copied, never the host's running state.
vroot=$TMP/vroot
mkdir -p "$vroot"
cp -a "$root/." "$vroot/"
mkdir -p "$vroot/lib/systemd/system" "$vroot/usr/sbin" "$vroot/usr/bin" "$vroot/bin"
cp -an /lib/systemd/system/. "$vroot/lib/systemd/system/" 2>/dev/null
cp /usr/sbin/mosquitto "$vroot/usr/sbin/" && cp "$(command -v stunnel4)" "$vroot/usr/bin/" &&
	cp /bin/kill "$vroot/bin/"
for u in $units; do
	if systemd-analyze verify --root="$vroot" "/lib/systemd/system/$u" >"$TMP/verify.out" 2>&1; then
		ok "systemd-analyze verify $u"
	else
		bad "systemd-analyze verify $u: $(head -c 300 "$TMP/verify.out")"
	fi
done
hardened() {
	local f=$root/lib/systemd/system/$1 k
	for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes Restart=on-failure; do
		grep -qx "$k" "$f" || return 1
	done
	grep -Eqx 'DynamicUser=yes|User=mosquitto' "$f"
}
for u in $units; do
	[ "$u" = anomesh.target ] && continue
	check "$u: own unprivileged user, NoNewPrivileges, ProtectSystem=strict, PrivateTmp, Restart=on-failure" hardened "$u"
done
check "archiver: only its archive writable (StateDirectory=anomesh/archive)" \
	grep -qx 'StateDirectory=anomesh/archive' "$root/lib/systemd/system/anomesh-archiver.service"
check "fleet-archiver: only its archive writable (StateDirectory=anomesh/fleet-archive)" \
	grep -qx 'StateDirectory=anomesh/fleet-archive' "$root/lib/systemd/system/anomesh-fleet-archiver.service"

# ---- make install DESTDIR= gives the same tree --------------------------------------------------
inst=$TMP/inst
make -s install DESTDIR="$inst" PREFIX=/usr SYSCONFDIR=/etc SYSTEMDDIR=/lib/systemd/system \
	>"$TMP/install.log" 2>&1
tree() { (cd "$1" && find . -path ./var -prune -o -printf '%y %m %p\n' | sort); }
tree "$inst" >"$TMP/inst.tree"
tree "$root" >"$TMP/deb.tree"
check "make install DESTDIR= matches the .deb's tree ($(wc -l <"$TMP/inst.tree") entries; diff: $(diff "$TMP/inst.tree" "$TMP/deb.tree" | head -n 4 | tr '\n' ' '))" \
	diff -q "$TMP/inst.tree" "$TMP/deb.tree"
same_bytes() { diff -r -q "$inst/usr" "$root/usr" && diff -r -q "$inst/etc" "$root/etc"; }
check "... byte for byte" same_bytes

# ---- remove, purge ----------------------------------------------------------------------------
dpkgr -r anomesh >"$TMP/dpkg-r.log" 2>&1
left() { (cd "$root" && find . -path ./var/lib/dpkg -prune -o -type f -print | sort); }
only_conf() { [ -z "$(left | grep -v '^./etc/anomesh/')" ] && [ -n "$(left)" ]; }
check "dpkg -r removes all but the conffiles under /etc/anomesh" only_conf
mkdir -p "$root/etc/anomesh/tls" "$root/var/lib/anomesh/archive"
echo secret >"$root/etc/anomesh/passwords.env" && echo x >"$root/var/lib/anomesh/archive/archive.db"
dpkgr -P anomesh >"$TMP/dpkg-p.log" 2>&1
check "dpkg -P purges everything, with what anomesh-setup made and the state ($(left | head -n 3 | tr '\n' ' '))" \
	test -z "$(left)"

# ---- anomesh-setup on an install under a temp prefix ---------------------------------------------
p=$TMP/p
make -s install DESTDIR= PREFIX="$p" SYSCONFDIR="$p/etc" SYSTEMDDIR="$p/units" >"$TMP/install2.log" 2>&1
if "$p/sbin/anomesh-setup" gw1.plant.example 10.0.4.7 >"$TMP/setup.log" 2>&1; then
	ok "anomesh-setup gw1.plant.example 10.0.4.7"
else
	bad "anomesh-setup ($(tail -n 3 "$TMP/setup.log"))"
fi
c=$p/etc/anomesh
check "the broker certificate names gw1.plant.example, 10.0.4.7, localhost" bash -c \
	"openssl x509 -in '$c/tls/broker.crt' -noout -ext subjectAltName | grep -q 'DNS:localhost, IP Address:127.0.0.1, DNS:gw1.plant.example, IP Address:10.0.4.7'"
check "broker.key and passwd: mode 0600, owned by mosquitto" bash -c \
	"[ \"\$(stat -c '%a %U' '$c/tls/broker.key' '$c/mosquitto/passwd' | sort -u)\" = '600 mosquitto' ]"
filled() {
	local s pw
	for s in ingest-bt scorer archiver alerter; do
		pw=$(sed -n 's/^ANOMESH_PASSWORD=//p' "$c/$s.env")
		[ ${#pw} -ge 16 ] && [ "$(stat -c %a "$c/$s.env")" = 600 ] || return 1
	done
}
check "each service's env file (0600) holds its generated password" filled
check "the passwords are hashed in the broker's file" \
	bash -c "! grep -qF \"\$(sed -n 's/^ANOMESH_PASSWORD=//p' '$c/scorer.env')\" '$c/mosquitto/passwd'"
check "passwords.env is mode 0600" test "$(stat -c %a "$c/passwords.env")" = 600
lib_done
