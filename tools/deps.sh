#!/usr/bin/env bash
# Installs the Debian 12 packages warmth builds and tests with, when any is
# missing (needs root then).  Used by .ci/run, tools/demo.sh and
# tests/run-all.sh, so the list lives in one place.
set -euo pipefail
pkgs=(build-essential autoconf automake libtool pkg-config
      liburcu-dev libmsgpack-dev check libcurl4-openssl-dev libjansson-dev
      libinih-dev libmicrohttpd-dev python3 valgrind binutils procps curl
      python3-pytest python3-pip python3-setuptools gunicorn python3-redis
      redis-server libhiredis-dev clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Server packages (redis-server, ...) start their system service on install
# unless policy-rc.d forbids it (101, invoke-rc.d's "action forbidden"):
# tests start their own servers on free ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
