# console.mk — the operator console (console/), included by the Makefile.
#
# `make console`: npm ci installs the pinned packages (console/package-lock.json)
# into console/node_modules, esbuild bundles console/src into one
# build/console/index.html, which the broker serves (http_dir). No CDN at
# run time: the page carries everything it needs.
#
# The console is not part of `all`: the service image (Dockerfile) builds
# with plain `make` and has no Node. run, check (and so test) and bench build
# it; check and bench also install Chromium for the browser test and the
# benchmark (scripts/packages-test.txt).

CONSOLE_OUT := build/console
CONSOLE_SRC := $(wildcard console/src/*) console/build.mjs
# npm ci writes this file last; newer than the lock file = installed.
CONSOLE_NPM := console/node_modules/.package-lock.json

.PHONY: console deps-test

console: $(CONSOLE_OUT)/index.html

$(CONSOLE_NPM): console/package.json console/package-lock.json | build/.deps-ok
	@command -v npm >/dev/null || { echo "console: npm not found (scripts/packages-console.txt; make deps)" >&2; exit 1; }
	cd console && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_OUT)/index.html: $(CONSOLE_SRC) $(CONSOLE_NPM)
	node console/build.mjs $(CONSOLE_OUT)

# deps.sh reads the console's package list too: re-check when it changes.
build/.deps-ok: scripts/packages-console.txt

build/.deps-test-ok: scripts/packages-test.txt scripts/deps.sh
	@scripts/deps.sh scripts/packages-test.txt
	@mkdir -p build && touch $@

deps-test: build/.deps-test-ok

deps: build/.deps-test-ok
run: console
check bench: console | build/.deps-test-ok
