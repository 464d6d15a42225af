#!/bin/sh
# Build the converge test host image, tagged by a hash of its inputs, and print its tag.
# A warm machine has both images already and this returns in well under a second.
#   base: debootstrap --variant=minbase of Debian bookworm, `docker import`ed
#   host: ./Dockerfile on top of it (systemd as PID 1, sshd, python3, the host's CAs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-/usr/bin/docker}
suite=${HDSS_TEST_SUITE:-bookworm}
mirror=${HDSS_TEST_MIRROR:-http://deb.debian.org/debian}

base_key=$(printf '%s\n%s\nminbase+ca-certificates\n' "$suite" "$mirror" | sha256sum | cut -c1-12)
base=hdsstest-ansible-base:$suite-$base_key
if ! "$docker" image inspect "$base" >/dev/null 2>&1; then
    root=$(mktemp -d /tmp/hdsstest-ansible-rootfs.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    echo "building $base with debootstrap (about a minute)" >&2
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >&2
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | "$docker" import - "$base" >&2
fi

ctx=$(mktemp -d /tmp/hdsstest-ansible-ctx.XXXXXX)
trap 'rm -rf "$ctx" ${root:-}' EXIT
cp "$here/Dockerfile" "$ctx/"
mkdir "$ctx/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ctx/ca-certificates/" 2>/dev/null || true
host_key=$( (echo "$base"; cd "$ctx" && find . -type f | LC_ALL=C sort | xargs sha256sum) \
    | sha256sum | cut -c1-12)
host=hdsstest-ansible-host:$host_key
if ! "$docker" image inspect "$host" >/dev/null 2>&1; then
    echo "building $host" >&2
    "$docker" build -q --build-arg "BASE_IMAGE=$base" -t "$host" "$ctx" >&2
fi
echo "$host"
