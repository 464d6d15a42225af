#!/usr/bin/env bash
# Install the Debian packages the host lacks. Usage: host-deps.sh PACKAGE...
# Installs only what is missing, so a warm machine does nothing.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "hdss: these Debian packages are missing: ${missing[*]}; run as root or install them." >&2
  exit 1
fi
echo "hdss: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
