#!/bin/bash
# docker-compose.yml: docker-compose accepts it (`config -q`), and the
# rendered config has the broker and the console's TLS from the broker
# image built here, and the four services from the one image, each with
# its account, broker address over TLS (ssl://, the CA mounted), restart
# policy and volumes; only TLS ports published; and it refuses to render
# without the service passwords. Also that every service account has a
# block in mosquitto/acl, and the Dockerfiles' and .dockerignore basics.
# Needs no Docker daemon (tests/scripts/test_compose_stack.sh runs it).
set -u
# shellcheck source=tests/scripts/lib.sh
source "$(dirname "$0")/lib.sh"
need docker-compose
lib_init

# A python3 with PyYAML (docker-compose's own dependency on Debian).
py=""
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import yaml' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "FAIL: no python3 with yaml (python3-yaml, a docker-compose dependency)"; exit 1; }

cd "$REPO" || exit 1
# Only the env files below count: no .env of a developer, no exported secrets.
unset ANOMESH_PASSWORD_INGEST ANOMESH_PASSWORD_SCORER ANOMESH_PASSWORD_ARCHIVER \
	ANOMESH_PASSWORD_ALERTER ANOMESH_BROKER_PORT ANOMESH_INSTANCE ANOMESH_TAG
cat >"$TMP/full.env" <<'ENV'
ANOMESH_PASSWORD_INGEST=pw-ingest
ANOMESH_PASSWORD_SCORER=pw-scorer
ANOMESH_PASSWORD_ARCHIVER=pw-archiver
ANOMESH_PASSWORD_ALERTER=pw-alerter
ENV
: >"$TMP/empty.env"
dc() { docker-compose --env-file "$1" -f docker-compose.yml "${@:2}"; }

check "docker-compose config -q accepts docker-compose.yml" dc "$TMP/full.env" config -q
dc "$TMP/full.env" config >"$TMP/rendered.yml" 2>"$TMP/config.err"
check "docker-compose config renders it" test -s "$TMP/rendered.yml"

dc "$TMP/empty.env" config -q >"$TMP/nopw.out" 2>&1
rc=$?
check "without the passwords it refuses to render, naming broker-passwd.sh" \
	test $rc -ne 0 -a -n "$(grep broker-passwd.sh "$TMP/nopw.out")"

# The rendered config, checked in Python: one line "ok - ..." or
# "FAIL - ..." per property.
"$py" - "$TMP/rendered.yml" "$REPO" "$REPO/mosquitto/acl" >"$TMP/props.out" 2>&1 <<'PY'
import sys, yaml

cfg = yaml.safe_load(open(sys.argv[1]))
repo = sys.argv[2]
acl_users = {l.split()[1] for l in open(sys.argv[3]) if l.startswith("user ")}
svcs = cfg.get("services", {})
app = {"ingest-bt": "ingest", "scorer": "scorer", "archiver": "archiver", "alerter": "alerter"}
pw = {"ingest": "pw-ingest", "scorer": "pw-scorer", "archiver": "pw-archiver", "alerter": "pw-alerter"}

def check(desc, cond):
    print(("ok   - " if cond else "FAIL - ") + desc)

def vols(svc):
    out = []
    for v in svcs.get(svc, {}).get("volumes", []):
        if isinstance(v, dict):
            out.append((v.get("source"), v.get("target"), "ro" if v.get("read_only") else "rw"))
        else:
            p = v.split(":")
            out.append((p[0], p[1], p[2] if len(p) > 2 else "rw"))
    return out

check("6 services: broker, console-tls, ingest-bt, scorer, archiver, alerter (got %s)" % sorted(svcs),
      set(svcs) == {"broker", "console-tls", *app})
check("named volumes broker-data, archive and journal (got %s)" % sorted(cfg.get("volumes") or {}),
      set(cfg.get("volumes") or {}) == {"broker-data", "archive", "journal"})
for name, s in svcs.items():
    check("%s: restart unless-stopped" % name, s.get("restart") == "unless-stopped")

b = svcs.get("broker", {})
check("broker: anomesh-broker image built here from Dockerfile.broker",
      str(b.get("image", "")).startswith("anomesh-broker:")
      and (b.get("build") or {}).get("dockerfile") == "Dockerfile.broker"
      and (b.get("build") or {}).get("context") == repo)
check("broker: runs mosquitto/production.conf",
      "/mosquitto/config/production.conf" in " ".join(b.get("command") or []))
check("broker: mosquitto/ mounted read-only on /mosquitto/config",
      (repo + "/mosquitto", "/mosquitto/config", "ro") in vols("broker"))
check("broker: volume broker-data on /mosquitto/data (persistence_location)",
      ("broker-data", "/mosquitto/data", "rw") in vols("broker"))
targets = sorted(str(p.get("target") if isinstance(p, dict) else p.rsplit(":", 1)[-1]).split("/")[0]
                 for p in b.get("ports", []))
check("broker: only TLS published: 8883 (MQTT) and 8443 (console) (got %s)" % targets,
      targets == ["8443", "8883"])
c = svcs.get("console-tls", {})
check("console-tls: the broker image, in the broker's network namespace",
      c.get("image") == b.get("image") and c.get("network_mode") == "service:broker")
check("console-tls: stunnel with mosquitto/console-tls.conf",
      " ".join(c.get("command") or []) == "/usr/bin/stunnel4 /mosquitto/config/console-tls.conf"
      and (repo + "/mosquitto", "/mosquitto/config", "ro") in vols("console-tls"))
check("broker: the built console (build/console) mounted read-only on its http_dir",
      (repo + "/build/console", "/mosquitto/console", "ro") in vols("broker"))

images = set()
for name, user in app.items():
    s = svcs.get(name, {})
    env = s.get("environment") or {}
    bld = s.get("build") or {}
    images.add(s.get("image"))
    check("%s: built from ./Dockerfile" % name,
          bld.get("context") == repo and bld.get("dockerfile", "Dockerfile") == "Dockerfile")
    cmd = s.get("command")
    cmd = cmd if isinstance(cmd, str) else " ".join(cmd or [])
    check("%s: runs bin/%s (command: %r)" % (name, name, cmd),
          cmd.split()[0] in ("bin/" + name, "/opt/anomesh/bin/" + name))
    check("%s: account %s with the password from the env file" % (name, user),
          env.get("ANOMESH_USERNAME") == user and env.get("ANOMESH_PASSWORD") == pw[user])
    check("%s: account %s has a user block in mosquitto/acl" % (name, user), user in acl_users)
    check("%s: root factory (what the ACL is written for)" % name, env.get("ANOMESH_ROOT") == "factory")
    want = "ssl://localhost:8883" if name == "ingest-bt" else "ssl://broker:8883"
    check("%s: ANOMESH_BROKER=%s" % (name, want), env.get("ANOMESH_BROKER") == want)
    check("%s: trusts the CA mounted read-only" % name,
          env.get("ANOMESH_CAFILE") == "/run/anomesh/ca.crt"
          and (repo + "/mosquitto/certs/ca.crt", "/run/anomesh/ca.crt", "ro") in vols(name))
check("the four services share one image (%s)" % sorted(map(str, images)),
      len(images) == 1 and None not in images)
check("ingest-bt: host network (Bluetooth sockets)",
      svcs.get("ingest-bt", {}).get("network_mode") == "host")
check("scorer: models/ mounted read-only",
      any(src == repo + "/models" and mode == "ro" for src, _, mode in vols("scorer")))
check("ingest-bt: journal volume mounted read-write where ANOMESH_JOURNAL_DIR points",
      any(src == "journal" and dst == "/var/lib/anomesh/journal" and mode == "rw"
          for src, dst, mode in vols("ingest-bt"))
      and (svcs.get("ingest-bt", {}).get("environment") or {}).get("ANOMESH_JOURNAL_DIR")
      == "/var/lib/anomesh/journal")
check("archiver: archive volume mounted read-write",
      any(src == "archive" and mode == "rw" for src, _, mode in vols("archiver")))
PY
cat "$TMP/props.out"
nprops=$(grep -c '^ok   - ' "$TMP/props.out")
nfail=$(grep -c '^FAIL - ' "$TMP/props.out")
LIB_CHECKS=$((LIB_CHECKS + nprops + nfail))
LIB_FAILS=$((LIB_FAILS + nfail))
[ "$nprops" -gt 0 ] || bad "the Python checks ran ($(tail -n 3 "$TMP/props.out"))"

# ---- Dockerfile and build context ------------------------------------------------
check "Dockerfile starts FROM debian:12" grep -q '^FROM debian:12$' Dockerfile
check "Dockerfile installs the list in scripts/packages.txt" \
	grep -q '^COPY scripts/packages.txt ' Dockerfile
# The Dockerfile's own filter must yield the same packages as scripts/deps.sh.
filter=$(sed -n "s/^RUN sed \\(.*\\) \\/tmp\\/packages.txt .*/\\1/p" Dockerfile)
mine=$(eval "sed $filter scripts/packages.txt" | xargs)
theirs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/packages.txt | xargs)
check "its filter gives the packages deps.sh installs (${mine:0:40}...)" \
	test -n "$mine" -a "$mine" = "$theirs"
check "Dockerfile builds with plain make" grep -Eq '^RUN make( |$)' Dockerfile
check ".dockerignore keeps secrets out of the image (.env, mosquitto/passwd)" \
	grep -qx '.env' .dockerignore
check ".dockerignore keeps mosquitto/passwd out" grep -qx 'mosquitto/passwd' .dockerignore
check ".dockerignore keeps mosquitto/certs (the keys) out" grep -qx 'mosquitto/certs' .dockerignore
check "Dockerfile.broker starts FROM debian:12" grep -q '^FROM debian:12$' Dockerfile.broker
check "Dockerfile.broker runs as uid 1883 (the files broker-passwd.sh -o 1883 makes)" \
	grep -q '^USER 1883:1883$' Dockerfile.broker
lib_done
