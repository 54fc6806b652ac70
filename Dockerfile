# The one anomesh image: every service (ingest-bt, scorer, archiver,
# alerter) runs from it, chosen by the compose `command`.
#
# It installs exactly scripts/packages.txt (the list make deps, CI and
# developers use; comments and blank lines stripped) and builds with the same
# plain `make` as a developer checkout, so a container runs what the test
# suite tested (the programs only: `make progs`, no tests). Build:
# docker-compose build (or docker build -t anomesh .).
FROM debian:12

ARG DEBIAN_FRONTEND=noninteractive
COPY scripts/packages.txt /tmp/packages.txt
# Two steps instead of a pipe: /bin/sh has no pipefail, and an empty list
# must fail the build rather than install nothing.
RUN sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/packages.txt >/tmp/packages.list \
 && test -s /tmp/packages.list \
 && apt-get update \
 && xargs -a /tmp/packages.list apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/packages.txt /tmp/packages.list

WORKDIR /opt/anomesh
COPY . .
# The stamp says the packages are here (the step above installed the list):
# make would otherwise also install the console's build tools (Node, npm),
# which the services have no use for.
RUN mkdir -p build && touch build/.deps-ok
RUN make -j"$(nproc)" progs

# Services run unprivileged; the archive directory is created owned by that
# user so that a fresh named volume mounted there inherits the ownership.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent \
        --shell /usr/sbin/nologin anomesh \
 && install -d -o anomesh -g anomesh /var/lib/anomesh/archive /var/lib/anomesh/journal
USER anomesh

# Each compose service sets its own command (bin/<service>).
CMD ["bin/scorer", "--help"]
