# Installing anomesh without Docker: `make install` and `make deb`.
# Included by the Makefile. The same tree goes to both: `make deb` is
# `make install` into a staging root, plus Debian's control files.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMDDIR=...]
#     $(PREFIX)/bin         ingest-bt scorer archiver alerter lpms-emu ae-train ae-eval,
#                           and the fleet tier's fleet-archiver fleet-view
#     $(PREFIX)/sbin        anomesh-setup (certificates, accounts: run once as root)
#     $(PREFIX)/share/anomesh  models/ (default models), console/ (the page the
#                           broker serves), scripts/ (broker-certs.sh, broker-passwd.sh,
#                           fleet-bridge.sh, fleet-nats-conf.sh), fleet/nats-node.conf.in
#     $(PREFIX)/share/doc/anomesh  README.md LICENSE NOTICE fleet/README.md
#     $(SYSCONFDIR)/anomesh  mosquitto/ (production.conf, acl, console-tls.conf,
#                           paths made absolute), tls/ (certificates, by
#                           anomesh-setup), <service>.env (mode 0600; fleet-archiver,
#                           fleet-view too)
#     $(SYSTEMDDIR)         anomesh-*.service, anomesh.target (the gateway's; the
#                           fleet units are enabled on their own, centrally)
#   Files under $(SYSCONFDIR) that exist already are kept (they hold the
#   operator's options and passwords); everything else is replaced.
#
#   make deb  -> build/anomesh_<version>_<arch>.deb (PREFIX=/usr, units in
#                /lib/systemd/system); installs and purges cleanly
#                (tests/scripts/test_install.sh).

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
I_BINDIR := $(PREFIX)/bin
I_SBINDIR := $(PREFIX)/sbin
I_DATADIR := $(PREFIX)/share/anomesh
I_DOCDIR := $(PREFIX)/share/doc/anomesh
I_CONF := $(SYSCONFDIR)/anomesh
INSTALL_PROGS := ingest-bt scorer archiver alerter lpms-emu ae-train ae-eval fleet-archiver \
  fleet-view
# every program with a unit and an env file
INSTALL_SVCS := ingest-bt scorer archiver alerter fleet-archiver fleet-view
DEB_VERSION ?= 0.1.0$(shell git rev-parse --short HEAD 2>/dev/null | sed 's/^/+git/')
DEB_ARCH ?= $(shell dpkg --print-architecture 2>/dev/null || echo amd64)

# @NAME@ in the templates (units, env files, anomesh-setup) and the
# container paths of mosquitto/*.conf, as installed.
I_SUBST := -e 's|@BINDIR@|$(I_BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
  -e 's|@DATADIR@|$(I_DATADIR)|g' -e 's|@DOCDIR@|$(I_DOCDIR)|g'
I_CONF_PATHS := -e 's|/mosquitto/config/certs/|$(I_CONF)/tls/|g' \
  -e 's|/mosquitto/config/|$(I_CONF)/mosquitto/|g' \
  -e 's|^persistence_location /mosquitto/data/|persistence_location /var/lib/anomesh/broker/|' \
  -e 's|^http_dir /mosquitto/console|http_dir $(I_DATADIR)/console|'

.PHONY: install deb
install: $(INSTALL_PROGS:%=$(BIN)/%) console
	@set -e; d='$(DESTDIR)'; \
	install -d -m 0755 $$d$(I_BINDIR) $$d$(I_SBINDIR) $$d$(I_DATADIR)/models \
	  $$d$(I_DATADIR)/scripts $$d$(I_DATADIR)/fleet $$d$(I_DOCDIR)/fleet $$d$(SYSTEMDDIR) \
	  $$d$(I_CONF)/mosquitto; \
	install -d -m 0755 $$d$(I_CONF)/tls; \
	install -m 0755 $(INSTALL_PROGS:%=$(BIN)/%) $$d$(I_BINDIR)/; \
	install -m 0644 models/*.aem $$d$(I_DATADIR)/models/; \
	rm -rf $$d$(I_DATADIR)/console && cp -R build/console $$d$(I_DATADIR)/console && \
	  chmod -R u=rwX,go=rX $$d$(I_DATADIR)/console; \
	install -m 0755 scripts/broker-certs.sh scripts/broker-passwd.sh scripts/fleet-bridge.sh \
	  scripts/fleet-nats-conf.sh $$d$(I_DATADIR)/scripts/; \
	install -m 0644 fleet/nats-node.conf.in $$d$(I_DATADIR)/fleet/; \
	sed $(I_SUBST) packaging/anomesh-setup.in >$$d$(I_SBINDIR)/anomesh-setup; \
	chmod 0755 $$d$(I_SBINDIR)/anomesh-setup; \
	install -m 0644 README.md LICENSE NOTICE $$d$(I_DOCDIR)/; \
	install -m 0644 fleet/README.md $$d$(I_DOCDIR)/fleet/; \
	for u in packaging/systemd/*; do \
	  sed $(I_SUBST) $$u >$$d$(SYSTEMDDIR)/$${u##*/}; chmod 0644 $$d$(SYSTEMDDIR)/$${u##*/}; \
	done; \
	keep() { if [ -e "$$1" ]; then echo "install: kept $$1"; return 1; fi; return 0; }; \
	for f in production.conf console-tls.conf acl; do \
	  t=$$d$(I_CONF)/mosquitto/$$f; keep $$t && { sed $(I_CONF_PATHS) mosquitto/$$f >$$t; chmod 0644 $$t; }; \
	done; \
	for s in $(INSTALL_SVCS); do \
	  t=$$d$(I_CONF)/$$s.env; keep $$t && { sed $(I_SUBST) packaging/env/$$s.env >$$t; chmod 0600 $$t; }; \
	done; \
	echo "installed under $${d:-/} (PREFIX $(PREFIX)); next, as root: anomesh-setup HOSTNAME..."

deb: $(INSTALL_PROGS:%=$(BIN)/%) console
	rm -rf build/deb && mkdir -p build/deb/root/DEBIAN
	$(MAKE) --no-print-directory install DESTDIR=$(abspath build/deb/root) PREFIX=/usr \
	  SYSCONFDIR=/etc SYSTEMDDIR=/lib/systemd/system
	cd build/deb/root && find etc -type f | sed 's|^|/|' | sort >DEBIAN/conffiles
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	  -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN build/deb/root | cut -f1)|" \
	  packaging/deb/control.in >build/deb/root/DEBIAN/control
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm build/deb/root/DEBIAN/
	dpkg-deb --root-owner-group -Zxz --build build/deb/root build/anomesh_$(DEB_VERSION)_$(DEB_ARCH).deb
