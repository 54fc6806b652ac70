#!/bin/sh
# Make the base image `debian:12` that the Dockerfiles build on, without a
# registry: a minimal Debian 12 (bookworm) made by debootstrap from the
# machine's Debian mirror and imported into the local Docker daemon. For
# machines that reach a Debian mirror but no image registry; where `docker
# pull debian:12` works, that does the same.
#
# Usage: scripts/docker-base.sh [CACHE_DIR]
#   CACHE_DIR  where the root file system tarball is kept between runs
#              (default build/docker): debootstrap runs once, later runs
#              only import the tarball. Needs root (debootstrap, docker).
# Does nothing when the daemon already has debian:12. Exit 0 done, 1 failure.
set -eu
cache=${1:-build/docker}
tag=debian:12
if docker image inspect "$tag" >/dev/null 2>&1; then
	exit 0
fi
tar=$cache/debian-12-minbase.tar
mkdir -p "$cache"
if [ ! -s "$tar" ]; then
	command -v debootstrap >/dev/null 2>&1 || {
		echo "$0: debootstrap not found (Debian package debootstrap)" >&2
		exit 1
	}
	# The mirror apt already uses (first deb.debian.org-style URI), else Debian's.
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	mirror=${mirror:-http://deb.debian.org/debian}
	root=$(mktemp -d "$cache/rootfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT INT TERM
	echo "$0: debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)" >&2
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
		echo "$0: debootstrap failed, see $cache/debootstrap.log" >&2
		exit 1
	}
	# What the official image trims: apt caches and lists.
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar -C "$root" -cf "$tar.tmp" .
	mv -f "$tar.tmp" "$tar"
fi
docker import "$tar" "$tag" >/dev/null
echo "$0: imported $tar as $tag" >&2
