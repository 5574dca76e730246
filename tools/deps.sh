#!/usr/bin/env bash
# Installs the Debian 12 packages warmth builds and tests with, when any is
# missing (needs root then).  Used by .ci/run, tools/demo.sh and
# tests/run-all.sh, so the list lives in one place.
set -euo pipefail
pkgs=(build-essential autoconf automake libtool pkg-config
      liburcu-dev libmsgpack-dev check libcurl4-openssl-dev libjansson-dev
      libinih-dev libmicrohttpd-dev python3 valgrind binutils procps
      python3-prometheus-client)
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
