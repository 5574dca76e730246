#!/usr/bin/env bash
# Installs the Debian 12 packages warmth builds and tests with, when any is
# missing (needs root then).  Used by .ci/run, tools/demo.sh and
# tests/run-all.sh, so the list lives in one place.
set -euo pipefail
pkgs=(build-essential autoconf automake libtool pkg-config
      liburcu-dev libmsgpack-dev check libcurl4-openssl-dev libjansson-dev
      libinih-dev libmicrohttpd-dev python3 valgrind binutils procps curl
      python3-pytest python3-pip python3-setuptools gunicorn python3-redis
      redis-server libhiredis-dev clang clang-format libclang-rt-14-dev
      php8.2-cli php8.2-fpm apache2 libapache2-mod-php8.2 php8.2-redis
      php8.2-apcu wrk python3-prometheus-client chromium tidy stress-ng
      debhelper dh-python dh-php php8.2-dev python3-all-dev lintian dpkg-dev python3-dev
      tzdata)
# Node (lib/node): Debian's nodejs, its headers (libnode-dev) and npm.
# NodeSource's nodejs package ships all three, and conflicts with Debian's
# npm: ask for them only when one is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 ||
   [ ! -f /usr/include/node/node_api.h ]; then
  pkgs+=(nodejs libnode-dev npm)
fi
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
# apache2, php8.2-fpm and redis-server start their system services when
# installed: a policy-rc.d answering 101 ("not allowed") stops that (the
# tests start their own servers on loopback); removed afterwards.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
