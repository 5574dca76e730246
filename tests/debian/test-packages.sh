#!/bin/sh
# test-packages.sh - the Debian packages, as an admin meets them: built
# from a clean copy of the tree (git archive of HEAD) with
# `dpkg-buildpackage -us -uc -b`, checked by lintian (no error, no warning
# that is not overridden with its reason), installed with
# `apt-get install ./*.deb`, warmd started through `service warmd start`
# (the LSB init script) with a config pointing at the test upstream on
# loopback, then:
#   - `warmctl list` works for a member of the group warmth and is refused,
#     with a clear message, for a user outside it (both users made and
#     removed here);
#   - a C program builds with `pkg-config libwarmth` and reads the table;
#   - the Python module imports from the package and reads the table;
#   - a PHP script runs, when the PHP package exists;
#   - `service warmd stop`, then `apt-get purge` leaves no segment, socket,
#     pidfile, run or state directory, or config.
#
#   tests/debian/test-packages.sh [BUILD_DIR]
#
# BUILD_DIR: a configured and built tree (for the test upstream); default
# the current directory.  Root only (it installs packages and makes users):
# exit 77 (skip) otherwise, or when the tools are missing, or when a warmth
# package is already installed (never purge an admin's install).  Every
# server it starts is on 127.0.0.1, bounded in time, stopped by pid.
set -u

BUILD=$(cd "${1:-.}" && pwd)
srcdir=${srcdir:-$(dirname "$0")/../..}
SRC=$(cd "$srcdir" && pwd)
UPSTREAM=$BUILD/tests/upstream/warmth-upstream
PKGS="libwarmth0 libwarmth-dev warmd python3-warmth"
PHP_PKG=php8.2-warmth
T=20 # seconds any one command may take (the build has its own bound)

skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "root only (installs packages, makes users)"
for t in dpkg-buildpackage dh lintian apt-get git runuser useradd python3 \
  cc pkg-config timeout; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is missing (tools/deps.sh)"
done
[ -x "$UPSTREAM" ] || skip "$UPSTREAM not built"
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 ||
  skip "$SRC is not a git checkout (the packages build from git archive)"
for p in $PKGS $PHP_PKG; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
    skip "$p is already installed: not touching an admin's install"
  fi
done

start_s=$(date +%s)
tmp=$(mktemp -d /tmp/warmth-pkg.XXXXXX) || exit 99
chmod 755 "$tmp" # lintian runs as nobody and reads the packages here
RUN=$$
SHM=/warmth-pkgtest-$RUN
MEMBER=wt-member-$RUN
OUTSIDER=wt-outsider-$RUN
had_warmth_user=0
getent passwd warmth >/dev/null && had_warmth_user=1
up_pid=
pid=
failed=0
n=0

ok() {
  n=$((n + 1))
  echo "ok $n - $1"
}
not_ok() {
  n=$((n + 1))
  failed=$((failed + 1))
  echo "not ok $n - $1"
  for f in out err; do
    [ -s "$tmp/$f" ] && sed 's/^/#   /' "$tmp/$f" | head -30
  done
}
check() { # check DESCRIPTION COMMAND...
  d=$1
  shift
  if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# as USER COMMAND...: runs as USER, output in $tmp/out and $tmp/err, $rc
as() {
  u=$1
  shift
  timeout "$T" runuser -u "$u" -- "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
bail() {
  not_ok "$1"
  echo "1..$n"
  exit 1
}

cleanup() {
  timeout "$T" service warmd stop >/dev/null 2>&1
  # If the init script could not stop it, the warmd this test started goes
  # by its pid (SIGTERM, then SIGKILL after 5 s).
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    kill -9 "$pid" 2>/dev/null
  fi
  if [ -n "$up_pid" ]; then
    kill "$up_pid" 2>/dev/null
    wait "$up_pid" 2>/dev/null
  fi
  installed=
  for p in $PKGS $PHP_PKG; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed &&
      installed="$installed $p"
  done
  # shellcheck disable=SC2086
  [ -n "$installed" ] && DEBIAN_FRONTEND=noninteractive \
    apt-get purge -y -qq $installed >/dev/null 2>&1
  for u in "$MEMBER" "$OUTSIDER"; do
    getent passwd "$u" >/dev/null && userdel "$u"
    getent group "$u" >/dev/null && groupdel "$u"
  done
  # The package keeps its system user on purge (Debian never reuses a
  # uid files may belong to); the test removes it if it made it.
  if [ $had_warmth_user = 0 ] && getent passwd warmth >/dev/null; then
    userdel warmth
    getent group warmth >/dev/null && groupdel warmth
  fi
  rm -f "/dev/shm$SHM" "/dev/shm$SHM.demand" "/dev/shm$SHM.lock"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# ---- build from a clean copy ---------------------------------------------

mkdir "$tmp/src"
git -C "$SRC" archive --format=tar HEAD | tar -x -C "$tmp/src" ||
  bail "git archive HEAD"
t0=$(date +%s)
(cd "$tmp/src" && timeout 600 dpkg-buildpackage -us -uc -b -j2) \
  >"$tmp/build.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  tail -40 "$tmp/build.log" | sed 's/^/#   /'
  bail "dpkg-buildpackage -us -uc -b (exit $rc)"
fi
ok "dpkg-buildpackage -us -uc -b from git archive HEAD ($(($(date +%s) - t0)) s)"
for p in $PKGS; do
  check "built $p" sh -c "ls '$tmp'/${p}_*.deb >/dev/null 2>&1"
done
debs=$(for p in $PKGS $PHP_PKG; do ls "$tmp"/"${p}"_*.deb 2>/dev/null; done)
for d in $debs; do
  echo "# $(basename "$d"):"
  dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print "#   " $6 ($7 ? " " $7 " " $8 : "")}'
done

# ---- lintian ---------------------------------------------------------------

# The source package too, from another clean copy (the build dirtied the
# first): debian/copyright, debian/control, the rules.
mkdir "$tmp/dsc" "$tmp/dsc/warmth"
git -C "$SRC" archive --format=tar HEAD | tar -x -C "$tmp/dsc/warmth" &&
  (cd "$tmp/dsc" && dpkg-source -b warmth >/dev/null 2>&1)
check "dpkg-source -b (native source package)" \
  sh -c "ls '$tmp'/dsc/warmth_*.dsc >/dev/null 2>&1"
chmod -R a+rX "$tmp"
# As nobody: lintian warns against root.  -I --pedantic: everything but
# the experimental tags; E: and W: fail, I: and P: are shown.
timeout 300 runuser -u nobody -- env HOME="$tmp" lintian -I --pedantic \
  "$tmp"/warmth_*.changes "$tmp"/dsc/warmth_*.dsc >"$tmp/lintian" 2>&1
sed 's/^/# lintian: /' "$tmp/lintian"
[ -s "$tmp/lintian" ] ||
  echo "# lintian: no tag at all (-I --pedantic: info and pedantic included)"
check "lintian: no error" sh -c "! grep -q '^E: ' '$tmp/lintian'"
check "lintian: no warning" sh -c "! grep -q '^W: ' '$tmp/lintian'"

# ---- install -----------------------------------------------------------------

# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq \
  --no-install-recommends $debs >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || bail "apt-get install ./*.deb (exit $rc)"
ok "apt-get install of the packages"
check "the system user and group warmth exist" \
  sh -c "getent passwd warmth >/dev/null && getent group warmth >/dev/null"
check "/etc/warmth/warmd.conf is a conffile of warmd" \
  sh -c "dpkg-query -W -f='\${Conffiles}' warmd | grep -q ' /etc/warmth/warmd.conf '"
check "/var/lib/warmth belongs to warmth" \
  test "$(stat -c %U:%G:%a /var/lib/warmth)" = "warmth:warmth:750"
check "/run/warmth made by tmpfiles.d, group warmth" \
  test "$(stat -c %U:%G:%a /run/warmth 2>/dev/null)" = "warmth:warmth:750"
# The unit as systemd would load it (this test starts warmd through the
# init script: systemd may not be PID 1 here).
if command -v systemd-analyze >/dev/null 2>&1; then
  timeout "$T" systemd-analyze verify /lib/systemd/system/warmd.service \
    >"$tmp/out" 2>"$tmp/err"
  check "systemd-analyze verify warmd.service (exit $?)" \
    sh -c "! grep -q warmd.service '$tmp/err'"
fi
check "warmd not started on install (no models configured yet)" \
  sh -c "! service warmd status >/dev/null 2>&1"

# ---- the service, against the test upstream ---------------------------------

"$UPSTREAM" --listen 127.0.0.1:0 --max-seconds 300 >"$tmp/up.port" \
  2>"$tmp/up.log" &
up_pid=$!
i=0
while ! grep -q '^port=' "$tmp/up.port" && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$tmp/up.port")
[ -n "$port" ] || bail "the test upstream reported its port"
cat >/etc/warmth/warmd.conf <<EOF
[warmd]
shm = $SHM
control_socket = /run/warmth/warmd.sock
state_file = /var/lib/warmth/state.msgpack
http_listen =
group = warmth

[endpoint local]
kind = openai
base_url = http://127.0.0.1:$port/v1
timeout = 2s

[model m1]
endpoint = local
interval = 1s
EOF
timeout "$T" service warmd start >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || bail "service warmd start (exit $rc)"
ok "service warmd start"
pid=$(cat /run/warmth/warmd.pid 2>/dev/null)
check "warmd runs as warmth (pid ${pid:-none})" \
  test "$(ps -o user= -p "${pid:-0}" 2>/dev/null)" = warmth
check "service warmd status: running" service warmd status
check "the table: owner warmth, group warmth, mode 0640" \
  test "$(stat -c %U:%G:%a "/dev/shm$SHM" 2>/dev/null)" = "warmth:warmth:640"

useradd -M -N -G warmth -s /usr/sbin/nologin "$MEMBER" &&
  useradd -M -U -s /usr/sbin/nologin "$OUTSIDER" || bail "useradd"
i=0
while [ $i -lt 100 ]; do
  as "$MEMBER" warmctl -c /etc/warmth/warmd.conf check m1
  [ $rc -eq 0 ] && break
  sleep 0.1
  i=$((i + 1))
done
check "warmctl check m1 as a member of warmth: warm within 10 s" test $rc -eq 0
as "$MEMBER" warmctl -c /etc/warmth/warmd.conf list
check "warmctl list as a member of warmth (exit $rc)" \
  sh -c "[ $rc -eq 0 ] && grep -q '^m1 *warm ' '$tmp/out'"
as "$MEMBER" warmctl -c /etc/warmth/warmd.conf status
check "warmctl status (control socket) as a member (exit $rc)" \
  sh -c "[ $rc -eq 0 ] && grep -q 'pid *$pid' '$tmp/out'"
as "$MEMBER" warmctl -c /etc/warmth/warmd.conf pause m1
check "warmctl pause as a member of warmth: refused, no control_group (exit $rc, want 2)" \
  sh -c "[ $rc -eq 2 ] && grep -q 'permission denied' '$tmp/err'"
as "$OUTSIDER" warmctl -c /etc/warmth/warmd.conf list
check "warmctl list outside the group: refused (exit $rc, want 2)" test $rc -eq 2
check "... with a clear message: $(head -c 200 "$tmp/err")" \
  grep -q "$SHM: permission denied" "$tmp/err"
as "$OUTSIDER" warmctl -c /etc/warmth/warmd.conf status
check "warmctl status outside the group: refused (exit $rc, want 2)" \
  sh -c "[ $rc -eq 2 ] && grep -qi 'permission denied' '$tmp/err'"

# ---- C through pkg-config ------------------------------------------------------

cat >"$tmp/t.c" <<'EOF'
#include <stdio.h>
#include <warmth.h>
int main(int argc, char **argv) {
  warmth_t *h;
  int rc = warmth_open(&h, argv[1], 0);
  if (rc) {
    printf("open: %s\n", warmth_strerror(rc));
    return 1;
  }
  printf("libwarmth %s: %s %s\n", warmth_version_string(), argv[2],
         warmth_is_warm(h, argv[2]) == 1 ? "warm" : "cold");
  warmth_close(h);
  return argc != 3;
}
EOF
# shellcheck disable=SC2046
cc -o "$tmp/t" "$tmp/t.c" $(pkg-config --cflags --libs libwarmth) \
  2>"$tmp/err"
check "cc with pkg-config libwarmth" test $? -eq 0
chmod 755 "$tmp/t"
as "$MEMBER" "$tmp/t" "$SHM" m1
check "the C program reads the table: $(cat "$tmp/out")" \
  sh -c "[ $rc -eq 0 ] && grep -q 'm1 warm' '$tmp/out'"
check "... linked against the packaged library" \
  sh -c "ldd '$tmp/t' | grep -q '=> /\(usr/\)\{0,1\}lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libwarmth.so.0 '"

# ---- Python ------------------------------------------------------------------

as "$MEMBER" env -u WARMTH_LIB -u PYTHONPATH /usr/bin/python3 -c "
import sys, warmth
print(warmth.__file__)
t = warmth.Table('$SHM', lazy=False)
print('m1', 'warm' if t.is_warm('m1') else 'cold')
sys.exit(0 if warmth.__file__.startswith('/usr/lib/python3/dist-packages/')
         else 1)"
check "python3: import warmth (the package's) and read m1: $(tr '\n' ' ' <"$tmp/out")" \
  sh -c "[ $rc -eq 0 ] && grep -q 'm1 warm' '$tmp/out'"

# The C extension, when the package has one: Python imports it.
if dpkg -L python3-warmth | grep -q '/warmth/_native\..*\.so$'; then
  as "$MEMBER" env -u PYTHONPATH /usr/bin/python3 -c "import warmth._native"
  check "python3: the package's C extension warmth._native imports" \
    test $rc -eq 0
fi

# ---- PHP -----------------------------------------------------------------------

if ls "$tmp"/${PHP_PKG}_*.deb >/dev/null 2>&1; then
  # Every SAPI gets it through phpenmod: the CLI's conf.d links it.
  check "phpenmod enabled the extension for the CLI" \
    test -L /etc/php/8.2/cli/conf.d/20-warmth.ini
  as "$MEMBER" php -r "
\$t = Warmth\\Table::open('$SHM', false);
echo 'm1 ', \$t->isWarm('m1') ? 'warm' : 'cold', PHP_EOL;"
  check "php: the extension reads m1: $(cat "$tmp/out")" \
    sh -c "[ $rc -eq 0 ] && grep -q 'm1 warm' '$tmp/out'"
else
  echo "# no $PHP_PKG package in this tree yet: PHP not checked"
fi

# ---- stop, purge ---------------------------------------------------------------

timeout "$T" service warmd stop >"$tmp/out" 2>"$tmp/err"
check "service warmd stop (exit $?)" test $? -eq 0
check "warmd is gone" sh -c "! kill -0 ${pid:-0} 2>/dev/null"
check "pidfile removed by stop" test ! -e /run/warmth/warmd.pid
php_installed=
dpkg-query -W -f='${Status}' $PHP_PKG 2>/dev/null | grep -q installed &&
  php_installed=$PHP_PKG
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -qq $PKGS $php_installed \
  >"$tmp/out" 2>"$tmp/err"
check "apt-get purge" test $? -eq 0
for p in $PKGS; do
  check "$p is purged" \
    sh -c "! dpkg-query -W -f='\${Status}' $p 2>/dev/null | grep -q installed"
done
for f in "/dev/shm$SHM" "/dev/shm$SHM.demand" "/dev/shm$SHM.lock" \
  /run/warmth/warmd.sock \
  /run/warmth/warmd.pid /run/warmth /var/lib/warmth /etc/warmth \
  /etc/default/warmd /etc/init.d/warmd /usr/sbin/warmd \
  /etc/php/8.2/mods-available/warmth.ini /etc/php/8.2/cli/conf.d/20-warmth.ini; do
  check "purge left nothing: $f" test ! -e "$f"
done

echo "# test-packages.sh took $(($(date +%s) - start_s)) s"
echo "1..$n"
[ $failed -eq 0 ] || {
  echo "# $failed of $n checks failed"
  exit 1
}
exit 0
