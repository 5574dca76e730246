#!/bin/sh
# build.sh - builds the Node addon against the libwarmth of a build tree,
# for make (lib/node/local.mk).
#
#   build.sh SRCDIR OUTDIR INCLUDEDIR LIBDIR
#
# Copies the package (package.json, package-lock.json, index.js, src/) to
# OUTDIR, installs its npm dependencies there from the lock file (`npm ci`:
# node-addon-api's headers, and pm2 and ioredis for the tests and the
# bench; from npm's cache when it has them; --ignore-scripts: no node-gyp
# run by npm for binding.gyp, no postinstall of a dependency), and compiles
# OUTDIR/build/Release/warmth.node with the C++ compiler against Node's
# headers (/usr/include/node: Debian's nodejs, libnode-dev) and LIBDIR's
# libwarmth.so, with an rpath there.  node-gyp is not needed (and would
# fetch Node's headers from the network): an addon is one shared object
# whose N-API symbols the node binary provides at load time.
#
# Without node or its headers, writes OUTDIR/SKIP with the reason and exits
# 0: the Node tests then skip (exit 77), nothing else depends on Node.
set -eu
src=$1 out=$2 inc=$3 libdir=$4
CXX=${CXX:-c++}
nodeinc=${NODE_INCLUDE:-/usr/include/node}

mkdir -p "$out"
rm -f "$out/SKIP"
skip() {
  echo "$*" >"$out/SKIP"
  echo "build.sh: skipping the Node addon: $*" >&2
  exit 0
}
command -v node >/dev/null 2>&1 || skip "node not found (nodejs)"
[ -f "$nodeinc/node_api.h" ] || skip "no $nodeinc/node_api.h (libnode-dev, or nodejs from NodeSource)"
command -v npm >/dev/null 2>&1 || skip "npm not found"

cp "$src/package.json" "$src/package-lock.json" "$src/index.js" "$out/"
mkdir -p "$out/src" "$out/build/Release"
cp "$src/src/warmth.cc" "$out/src/"
cd "$out"
# npm ci empties node_modules each time: only when the lock file changed.
if ! cmp -s package-lock.json node_modules/.warmth-lock 2>/dev/null; then
  npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error \
    >npm.log 2>&1 ||
    { cat npm.log >&2; exit 1; }
  cp package-lock.json node_modules/.warmth-lock
fi
# NAPI_VERSION 8 (Node >= 12.22, 14.17, 16): the addon loads in every Node
# that node-addon-api supports; C++ exceptions off, errors are thrown into
# JS explicitly.
$CXX -std=c++17 -O2 -g -fPIC -shared -Wall -Wextra -Werror \
  -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS \
  -I"$nodeinc" -Inode_modules/node-addon-api -I"$inc" \
  src/warmth.cc -o build/Release/warmth.node.tmp \
  -L"$libdir" -lwarmth -Wl,-rpath,"$libdir"
mv build/Release/warmth.node.tmp build/Release/warmth.node
