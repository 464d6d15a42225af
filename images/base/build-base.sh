#!/bin/sh
# Build the default base image offline: debootstrap a minimal Debian from a mirror and
# `docker import` it. No registry (Docker Hub) is needed, only the Debian mirror.
#
#   images/base/build-base.sh TAG [MIRROR] [SUITE]
#
# TAG     image to create, e.g. hdss/base:0123abcd4567 (images/build.py passes a hash tag)
# MIRROR  Debian mirror URL (default http://deb.debian.org/debian)
# SUITE   Debian release (default bookworm: its Python 3.11 matches the hub's)
#
# Idempotent: if TAG exists nothing is done. Resumable: downloaded packages are kept in
# $HDSS_BASE_CACHE (default /var/cache/hdss-base) so a re-run after an interruption does
# not download them again; the root filesystem is built in a temporary directory that is
# removed on exit, success or not (debootstrap's output stays in $CACHE.debootstrap.log).
# Needs root (debootstrap) and a running Docker engine.
set -eu

TAG=${1:?usage: build-base.sh TAG [MIRROR] [SUITE]}
MIRROR=${2:-http://deb.debian.org/debian}
SUITE=${3:-bookworm}
DOCKER=${DOCKER:-/usr/bin/docker}
CACHE=${HDSS_BASE_CACHE:-/var/cache/hdss-base}/$SUITE
LOG=$CACHE.debootstrap.log  # the last run's output, kept for diagnosis
# What a Jupyter server needs from the OS: TLS roots, Python with venv, an init (tini)
# that reaps zombies and forwards signals.
PACKAGES=ca-certificates,python3,python3-venv,tini

if [ "$(id -u)" != 0 ]; then
    echo "build-base.sh: debootstrap needs root; run it as root (sudo)" >&2
    exit 1
fi
if "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
    echo "base: $TAG exists, nothing to do"
    exit 0
fi

mkdir -p "$CACHE"
ROOTFS=$(mktemp -d /var/tmp/hdss-base.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
trap 'exit 130' INT TERM

echo "base: debootstrap $SUITE from $MIRROR (packages cached in $CACHE)"
debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE" \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$LOG" 2>&1 || {
    tail -n 30 "$LOG" >&2
    echo "base: debootstrap failed (full log: $LOG)" >&2
    exit 1
}

# Keep the image small and free of this host's details: no package lists or .debs, no
# documentation (also not for packages installed later), no host resolver or machine id.
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/01-hdss-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
cat >"$ROOTFS/etc/apt/apt.conf.d/01-hdss-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
find "$ROOTFS/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
    "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
    "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/*.log
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/machine-id"
echo "hdss" >"$ROOTFS/etc/hostname"

echo "base: importing as $TAG"
tar --numeric-owner -C "$ROOTFS" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --message "debootstrap --variant=minbase $SUITE $MIRROR (+$PACKAGES)" \
    - "$TAG" >/dev/null
echo "base: built $TAG"
