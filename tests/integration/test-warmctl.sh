#!/bin/sh
# test-warmctl.sh - warmctl list/show/watch/check against tables that
# tests/helpers/fill-table makes (no warmd needed).
#
# Run by `make check` with the build directory as the working directory, so
# the binaries are found relative to it (override with $WARMCTL and
# $FILL_TABLE); $srcdir (exported by automake) locates the man page.  Every
# shared-memory name is unique to this run, every command runs under
# `timeout`, and every helper started in the background is stopped by pid.
set -u

WARMCTL=${WARMCTL:-./tools/warmctl/warmctl}
FILL=${FILL_TABLE:-./tests/helpers/fill-table}
srcdir=${srcdir:-$(dirname "$0")/../..}
MAN=$srcdir/tools/warmctl/warmctl.1
T=10 # seconds any one command may take

for b in "$WARMCTL" "$FILL"; do
  if [ ! -x "$b" ]; then
    echo "$b not built (run from the build directory)" >&2
    exit 99
  fi
done
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: python3 is needed to check the JSON output"
  exit 77
fi

RUN=wctest-$$-$(date +%s%N)
SHM=/$RUN
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-warmctl.XXXXXX") || exit 99
pids=
failed=0
n=0

# ---- helpers -------------------------------------------------------------

ok() {
  n=$((n + 1))
  echo "ok $n - $1"
}

not_ok() {
  n=$((n + 1))
  failed=$((failed + 1))
  echo "not ok $n - $1"
  for f in out err; do
    if [ -s "$tmp/$f" ]; then
      echo "# std$f was:"
      sed 's/^/#   /' "$tmp/$f" | head -40
    fi
  done
}

check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
  d=$1
  shift
  if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# run ARGS...: warmctl with a time bound; stdout, stderr in $tmp, status $rc
run() {
  timeout "$T" "$WARMCTL" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# run_env VAR=VALUE ARGS...: run, with VAR set in warmctl's environment
run_env() {
  e=$1
  shift
  env "$e" timeout "$T" "$WARMCTL" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

rc_is() { # rc_is WANT DESCRIPTION
  if [ "$rc" -eq "$1" ]; then ok "$2 (exit $1)"; else
    not_ok "$2: exit $rc, want $1"
  fi
}

out_has() { grep -E -q -- "$1" "$tmp/out"; }
err_has() { grep -E -q -- "$1" "$tmp/err"; }

# json EXPR: EXPR, in Python, holds for d = the JSON document on stdout
# (and M = its models by name, when it lists models)
json() {
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
M = {m["name"]: m for m in d["models"]} if isinstance(d, dict) and \
    isinstance(d.get("models"), list) else {}
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$tmp/out" "$1" \
    2>>"$tmp/err"
}

# start NAME FILL-ARGS...: fill-table in the background; waits (bounded)
# until warmctl can open the table; sets $pid.
start() {
  name=$1
  shift
  "$FILL" --shm "$name" --hold 60 "$@" &
  pid=$!
  pids="$pids $pid"
  i=0
  while [ $i -lt 100 ]; do
    timeout "$T" "$WARMCTL" --shm "$name" list >/dev/null 2>&1
    [ $? -ne 2 ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  echo "# fill-table $* did not make $name within 5 s"
  return 1
}

# stop PID: SIGTERM, then wait at most 5 s (SIGKILL after that).
stop() {
  kill "$1" 2>/dev/null
  i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

cleanup() {
  for p in $pids; do stop "$p"; done
  for s in "$SHM" "$SHM-stale" "$SHM-retired" "$SHM-demo" "$SHM-short" \
    "$SHM-bad"; do
    "$FILL" --shm "$s" --remove 2>/dev/null
  done
  rm -f "/dev/shm/$RUN-bad" # made by hand below, not by fill-table
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# ---- help, version, man page ----------------------------------------------

run --help
rc_is 0 "--help"
for c in list show watch check; do
  check "--help mentions command $c" out_has "^  $c( |$)"
done
for o in json shm interval count help version; do
  check "--help mentions --$o" out_has "--$o"
done
for e in 0 1 2 3; do
  check "--help documents exit status $e" out_has "^  $e  "
done
cp "$tmp/out" "$tmp/help"

# The man page must match --help in commands, options and exit codes, both
# ways: what one lists, the other lists too.
help_cmds=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p' "$tmp/help")
man_cmds=$(sed -n '/^\.SH COMMANDS/,/^\.SH/{/^\.TP/{n;s/^\.BI\{0,1\} "\{0,1\}\([a-z][a-z-]*\).*/\1/p}}' "$MAN")
check "man page lists the commands of --help" \
  test "$(echo $help_cmds)" = "$(echo $man_cmds)"
# ... and each command's arguments (show MODEL, check MODEL..., stats [MODEL]).
help_syn=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)\( [][A-Z.]\{1,\}\)\{0,1\} .*/\1\2/p' \
  "$tmp/help" | tr '\n' ';')
man_syn=$(python3 -c '
import re, sys
sect = open(sys.argv[1]).read().split(".SH COMMANDS", 1)[1].split("\n.SH", 1)[0]
for m in re.finditer(r"^\.TP\n\.BI? (.*)$", sect, re.M):
    print(" ".join(m.group(1).replace("\"", " ").split()), end=";")' "$MAN")
check "man page gives each command the arguments of --help ($help_syn)" \
  test -n "$help_syn" -a "$help_syn" = "$man_syn"
help_opts=$(grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u)
man_opts=$(sed -n '/^\.SH OPTIONS/,/^\.SH/p' "$MAN" | grep -o -- '\\-\\-[a-z][a-z-]*' |
  sed 's/\\//g' | sort -u)
check "man page lists the options of --help" \
  test "$(echo $help_opts)" = "$(echo $man_opts)"
help_short=$(grep -o -- '^  -[a-zA-Z],' "$tmp/help" | tr -d ' ,' | sort)
man_short=$(sed -n '/^\.SH OPTIONS/,/^\.SH/s/^\.BR \\\(-[a-zA-Z]\) .*/\1/p' "$MAN" | sort)
check "man page lists the short options of --help" \
  test "$(echo $help_short)" = "$(echo $man_short)"
help_exits=$(sed -n '/^Exit status:/,/^$/s/^  \([0-9]\)  .*/\1/p' "$tmp/help")
man_exits=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH/{/^\.TP/{n;s/^\.B \([0-9]\)$/\1/p}}' "$MAN")
check "man page lists the exit codes of --help" \
  test "$(echo $help_exits)" = "$(echo $man_exits)"
# Flag letters: --help's legend and the man page's FLAGS, both ways, and
# each letter a flag that warmctl really shows (format.c's table): a flag
# appended to warmth.h must reach both.
help_flags=$(sed -n '/^Flags in list:/,/^$/p' "$tmp/help" |
  grep -o '\(^\|, \) *[A-Za-z?] ' | tr -d ' ,' | sort)
man_flags=$(sed -n '/^\.SH FLAGS/,/^\.SH/{/^\.TP/{n;s/^\.B \(.\)$/\1/p}}' "$MAN" |
  sort)
check "--help's flag legend lists the man page's flags ($(echo $help_flags))" \
  test -n "$man_flags" -a "$(echo $help_flags)" = "$(echo $man_flags)"
check "the flag legend has the letters of warmth.h's flags (M, o)" \
  sh -c "echo '$help_flags' | grep -q M && echo '$help_flags' | grep -q o"
check "help found commands, options and exit codes to compare" \
  test -n "$help_cmds" -a -n "$help_opts" -a -n "$help_short" -a \
  "$(echo $help_exits)" = "0 1 2 3"

run --version
rc_is 0 "--version"
check "--version names warmctl and a version" out_has '^warmctl .*[0-9]+\.[0-9]+\.[0-9]+'

# ---- bad arguments: exit 2 --------------------------------------------------

run
rc_is 2 "no command"
check "no command: one line that says so, and where to look" \
  sh -c "test \"\$(head -1 '$tmp/err')\" = \"warmctl: missing command (list, show, watch, check, cost, status, warm, pause, resume, reload, stats)\" && test \$(wc -l <'$tmp/err') -eq 2"
run frobnicate
rc_is 2 "unknown command"
check "unknown command is named" err_has "unknown command 'frobnicate'"
run --bogus list
rc_is 2 "unknown option"
check "unknown option is named" err_has "'--bogus'"
run list --shm
rc_is 2 "--shm without its argument"
run show
rc_is 2 "show without MODEL"
run show a b
rc_is 2 "show with two models"
run check
rc_is 2 "check without MODEL"
run list extra
rc_is 2 "list with an argument"
run watch --count 0
rc_is 2 "--count 0"
run watch --interval soon
rc_is 2 "--interval soon"
run watch --interval 1ms
rc_is 2 "--interval below 10ms"
# A bad model name is a bad argument (exit 2) for every command that takes
# one, said in the same words as warmd's config check, before any segment
# or socket is opened.
long=$(printf 'm%.0s' $(seq 70))
for args in "show $long" "check ok $long" "warm $long" "pause bad/name\ x" \
  "resume ''" "stats $long" "show ''"; do
  eval "run $args --shm $SHM-missing --socket $tmp/no.sock"
  rc_is 2 "warmctl $(echo "$args" | cut -c1-24): bad model name"
  check "warmctl $(echo "$args" | cut -c1-24): one line naming the rule" \
    sh -c "grep -q \"is not a model name (1..63 printable ASCII characters, no spaces)\$\" '$tmp/err' && test \$(wc -l <'$tmp/err') -eq 1"
done
run list --count 2
rc_is 2 "--count with list"
check "--count with list is explained" err_has "does not apply to list"
check "bad arguments print nothing on stdout" test ! -s "$tmp/out"

# ---- no segment, bad segment: exit 2 -----------------------------------------

run --shm "$SHM-missing" list
rc_is 2 "missing segment"
check "missing segment: clear message" \
  err_has "^warmctl: $SHM-missing: no such segment \(is warmd running\?\)$"
run_env WARMTH_SHM="$SHM-envmissing" list
rc_is 2 "missing segment named by \$WARMTH_SHM"
check "\$WARMTH_SHM is the segment used" err_has "$SHM-envmissing: no such segment"
run --shm "$SHM-missing" check a --json
rc_is 2 "check on a missing segment"
check "no JSON on stdout after an error" test ! -s "$tmp/out"
run --shm "" list
rc_is 2 "empty --shm"
run_env WARMTH_OWNER=no-such-user-$$ --shm "$SHM-missing" list
rc_is 2 "\$WARMTH_OWNER naming no user"
check "\$WARMTH_OWNER naming no user is explained" err_has "is \\\$WARMTH_OWNER 'no-such-user-$$' a user"
run --shm "no-slash" list
rc_is 2 "segment name without /"
check "bad segment name explained" err_has "no-slash: bad segment name"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  # A foreign file of the right size: the reader must refuse its magic.
  python3 -c 'import sys; open(sys.argv[1], "wb").write(b"NOTWARMT" * 4096)' \
    "/dev/shm/$RUN-bad" && chmod 600 "/dev/shm/$RUN-bad"
  run --shm "$SHM-bad" list
  rc_is 2 "foreign segment"
  check "foreign segment explained" err_has "$SHM-bad: segment is not a warmth table"
fi

# ---- control commands without warmd: exit 2, or 3 for a dead warmd's socket ----

run status --socket "$tmp/no.sock"
rc_is 2 "status, no socket file"
check "no socket file: clear message" \
  err_has "^warmctl: $tmp/no.sock: no control socket \(is warmd running\?\)$"
: >"$tmp/plain"
run stats --socket "$tmp/plain"
rc_is 2 "stats on a file that is not a socket"
check "not a socket: said so, in one line" \
  sh -c "grep -E -q '^warmctl: $tmp/plain: not a socket' '$tmp/err' && test \$(wc -l <'$tmp/err') -eq 1"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
  "$tmp/dead.sock"
run status --socket "$tmp/dead.sock"
rc_is 3 "status on a socket nobody listens on (warmd killed)"
check "dead socket: clear message" \
  err_has "^warmctl: $tmp/dead.sock: nobody listens \(warmd is gone: stale socket\)$"

# ---- a live table -------------------------------------------------------------

if ! start "$SHM" --models alpha,beta,gamma,delta --warm alpha,beta \
  --failing gamma; then
  not_ok "fill-table made a table"
  exit 1
fi
live=$pid

run --shm "$SHM" list
rc_is 0 "list"
check "list header: pid of the coordinator" out_has "^shm $SHM  coordinator pid $live  heartbeat [0-9]+ms ago  models 4/16$"
check "list has the column names" \
  out_has '^MODEL +STATE +WARM FOR +LAST +EWMA +OK +FAILS +HTTP +TOKENS +COST +FLAGS$'
check "list: alpha warm for ~5m, 200, cached flag" \
  out_has '^alpha +warm +4m[0-5][0-9]s +[0-9.]+ms +[0-9.]+ms +4[0-9] +0 +200 +[0-9]+\+[0-9]+ +\$0\.[0-9]{6} +c$'
check "list: gamma failing, 3 in a row, 503, throttled" \
  out_has '^gamma +failing +- +.* 3 +503 .* T$'
check "list: delta unknown, never probed" \
  out_has '^delta +unknown +- +- +- +0 +0 +- +0\+0 +\$0 +-$'
check "list is sorted by name" \
  test "$(sed -n '3,$s/ .*//p' "$tmp/out" | tr '\n' ' ')" = "alpha beta delta gamma "
check "list: no STALE or RETIRED on a live table" sh -c "! grep -E -q 'STALE|RETIRED' '$tmp/out'"

# Options before or after the command, short or long, = or not, env.
for args in "--shm $SHM list --json" "list --json --shm $SHM" \
  "--json list --shm=$SHM" "-s $SHM -j list" "list -j -s$SHM"; do
  # shellcheck disable=SC2086 # word splitting wanted
  run $args
  rc_is 0 "warmctl $args"
  check "warmctl $args gives the JSON list" \
    json '[m["name"] for m in d["models"]] == ["alpha","beta","delta","gamma"]'
done
run_env WARMTH_SHM="$SHM" list
rc_is 0 "list on the segment named by \$WARMTH_SHM"

run --shm "$SHM" list --json
check "list --json: coordinator" json "d['coordinator']['pid'] == $live and d['coordinator']['state'] == 'live' and d['coordinator']['stale'] is False and d['coordinator']['retired'] is False and d['coordinator']['capacity'] == 16 and d['coordinator']['models'] == 4 and 0 <= d['coordinator']['heartbeat_age_ms'] < 5000"
check "list --json: alpha warm, ms left, latencies, cost" json "
M['alpha']['warm'] is True and
250000 < M['alpha']['warm_for_ms'] <= 300000 and
M['alpha']['last_latency_us'] > 0 and
M['alpha']['cost_nusd'] > 0 and
M['alpha']['http_status'] == 200"
check "list --json: gamma failing" json "
M['gamma']['warm'] is False and
M['gamma']['state'] == 'failing' and
M['gamma']['error_class'] == 'server' and
M['gamma']['fails_in_row'] == 3 and
M['gamma']['flags'] == ['throttled'] and
M['gamma']['retry_after_ms'] > 0"
check "list --json: delta never probed (null ages and headroom)" json "
M['delta']['last_probe_age_ms'] is None and
M['delta']['headroom_requests'] is None and
M['delta']['state'] == 'unknown'"

run --shm "$SHM" show alpha
rc_is 0 "show alpha"
for kv in 'name: +alpha' 'state: +warm' 'warm: +yes, for 4m[0-5][0-9]s' \
  'warm_until: +in 4m[0-5][0-9]s' 'last_probe: +[0-9]+s ago' 'http_status: +200' \
  'error_class: +none' '  dns: +[0-9.]+(us|ms)' '  connect: +[0-9.]+ms' \
  '  tls: +[0-9.]+ms' '  ttfb: +[0-9.]+ms' 'ewma_latency: +[0-9.]+ms' \
  'tokens_cached: +[1-9][0-9]*' 'cost: +\$0\.[0-9]{6} \([0-9]+ nUSD\)' \
  'flags: +prefix_cached$' 'headroom_requests: +4990$' 'retry_after: +-$' \
  'slot: +0$' 'generation: +1$'; do
  check "show alpha: $kv" out_has "^$kv"
done
run --shm "$SHM" show gamma
rc_is 0 "show gamma (failing is still a successful show)"
for kv in 'state: +failing' 'warm: +no$' 'http_status: +503' \
  'error_class: +server' 'fails_in_row: +3' 'flags: +throttled$' \
  'retry_after: +in [0-9]+s' 'last_ok: +1[0-9]m[0-9]+s ago'; do
  check "show gamma: $kv" out_has "^$kv"
done
run show --json delta --shm "$SHM"
rc_is 0 "show --json delta"
check "show --json: one model object" json "d['name'] == 'delta' and d['state'] == 'unknown' and d['warm'] is False and d['warm_for_ms'] == 0 and d['flags'] == [] and 'models' not in d"
run --shm "$SHM" show --json alpha
check "show --json alpha: latency parts and tokens" json "d['dns_us'] > 0 and d['connect_us'] > 0 and d['tls_us'] > 0 and d['ttfb_us'] > 0 and d['tokens_cached'] > 0 and d['tokens_in'] > d['tokens_cached'] and abs(d['cost_usd'] - d['cost_nusd'] / 1e9) < 1e-12"
run --shm "$SHM" show nope
rc_is 1 "show of a model not in the table"
check "show nope: message" err_has '^warmctl: nope: model not in the table$'
run --shm "$SHM" show 'bad name'
rc_is 2 "show of an invalid model name"

run --shm "$SHM" check alpha beta
rc_is 0 "check of two warm models"
check "check: one line per model" test "$(grep -c ' warm ' "$tmp/out")" -eq 2
run --shm "$SHM" check alpha gamma
rc_is 1 "check with a failing model"
check "check names the failing one" out_has '^gamma +not warm +failing$'
run --shm "$SHM" check alpha nope
rc_is 1 "check with a missing model"
check "check says not found" out_has '^nope +not found$'
run --shm "$SHM" check delta
rc_is 1 "check of a never-probed model"
run check --json alpha gamma nope --shm "$SHM"
rc_is 1 "check --json with failing and missing"
check "check --json: shape and verdicts" json "d['ok'] is False and d['models']['alpha']['warm'] is True and d['models']['alpha']['state'] == 'warm' and d['models']['gamma']['warm'] is False and d['models']['gamma']['state'] == 'failing' and d['models']['nope']['state'] is None and d['models']['nope']['warm'] is False"
run check --json alpha beta --shm "$SHM"
rc_is 0 "check --json of warm models"
check "check --json: ok true" json "d['ok'] is True and len(d['models']) == 2 and d['models']['beta']['warm_for_ms'] > 0"
run --shm "$SHM" check alpha -- -dash
rc_is 1 "check after -- takes a dash name as a model"
check "-- ends options" out_has '^-dash +not found$'

run --shm "$SHM" watch --count 2 --interval 100ms
rc_is 0 "watch --count 2"
check "watch --count 2: two frames" test "$(grep -c '^shm ' "$tmp/out")" -eq 2
check "watch into a pipe: no ANSI escapes" sh -c "! grep -q \"$(printf '\033')\" '$tmp/out'"
check "watch: frames separated by one blank line" test "$(grep -c '^$' "$tmp/out")" -eq 1
# On a terminal the screen is cleared before each frame (util-linux
# script(1) provides the terminal; skipped without it).
if script --version 2>/dev/null | grep -q util-linux; then
  timeout "$T" script -qec "$WARMCTL --shm $SHM watch --count 2 -i 50ms" \
    /dev/null >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  rc_is 0 "watch on a terminal"
  check "watch on a terminal clears the screen per frame" \
    test "$(grep -c "$(printf '\033')\[H$(printf '\033')\[2J" "$tmp/out")" -eq 2
fi
run --shm "$SHM" watch --json --count 3 -i 50ms
rc_is 0 "watch --json --count 3"
check "watch --json: three JSON lines" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
for l in lines:
    assert len(json.loads(l)["models"]) == 4' "$tmp/out"

# watch without --count stops on SIGTERM, with status 0.  SIGTERM once it
# has shown two frames (waited for, at most 10 s), not after a fixed 0.3 s:
# on a loaded machine it may not have started by then.
timeout "$T" "$WARMCTL" --shm "$SHM" watch --interval 50ms >"$tmp/out" 2>"$tmp/err" &
w=$!
i=0
while [ "$(grep -c '^shm ' "$tmp/out")" -lt 2 ] && [ $i -lt 200 ]; do
  sleep 0.05
  i=$((i + 1))
done
kill "$w"
wait "$w"
rc=$?
rc_is 0 "watch stopped by SIGTERM"
check "watch showed frames before SIGTERM" test "$(grep -c '^shm ' "$tmp/out")" -ge 2

# -c CONFIG: the table commands read the segment the config's shm names
# (warmd's own parser reads it), ahead of $WARMTH_SHM; --shm still wins.
cat >"$tmp/warmd.conf" <<EOF
[warmd]
shm = $SHM
control_socket = $tmp/no-warmd.sock
http_listen =

[endpoint local]
kind = openai
base_url = http://127.0.0.1:9/v1

[model alpha]
endpoint = local
EOF
run_env WARMTH_SHM="/$RUN-not-this" -c "$tmp/warmd.conf" list
rc_is 0 "-c CONFIG list, with \$WARMTH_SHM naming another segment"
check "-c CONFIG list reads the config's shm" out_has "^shm $SHM  coordinator pid $live "
run list --json --config "$tmp/warmd.conf"
check "list --json --config: the config's table" \
  json '[m["name"] for m in d["models"]] == ["alpha","beta","delta","gamma"]'
run -c "$tmp/warmd.conf" show alpha
rc_is 0 "-c CONFIG show alpha"
check "-c CONFIG show: alpha's record" out_has '^ *state: +warm'
run -c "$tmp/warmd.conf" check alpha beta
rc_is 0 "-c CONFIG check alpha beta: warm"
run -c "$tmp/warmd.conf" check gamma
rc_is 1 "-c CONFIG check gamma: failing"
run -c "$tmp/warmd.conf" watch --count 1
rc_is 0 "-c CONFIG watch --count 1"
check "-c CONFIG watch shows the config's table" out_has "^shm $SHM "
run -c "$tmp/warmd.conf" cost
rc_is 0 "-c CONFIG cost"
check "-c CONFIG cost: the config's models" \
  test "$(sed -n 's/^\([a-z]*\) .*/\1/p' "$tmp/out" | tr '\n' ' ')" = "alpha beta delta gamma "
run -c "$tmp/warmd.conf" --shm "/$RUN-not-this" list
rc_is 2 "--shm beats -c CONFIG's shm"
check "--shm beats -c: the --shm segment is named" err_has "/$RUN-not-this"
run -c "$tmp/missing.conf" list
rc_is 2 "-c with a missing config"
check "-c with a missing config: named" err_has "missing.conf"
run -c "$tmp/warmd.conf" status
rc_is 2 "-c CONFIG status: control commands still use its control_socket"
check "-c CONFIG status names the config's socket" err_has "no-warmd.sock"

# The helper unlinks the table when it is stopped.
stop "$live"
run --shm "$SHM" list
rc_is 2 "list after fill-table was stopped"
check "the stopped table is gone" err_has 'no such segment'

# ---- a stale coordinator: exit 3 ------------------------------------------------

if start "$SHM-stale" --models a,b --warm a --stale; then
  stale=$pid
  sleep 0.3 # --stale: bound 100 ms, no heartbeat
  run --shm "$SHM-stale" list
  rc_is 3 "list on a stale table"
  check "stale header says STALE" out_has "^shm $SHM-stale  coordinator pid $stale .*  STALE$"
  check "stale: said on stderr" err_has 'coordinator heartbeat is stale'
  run --shm "$SHM-stale" check a
  rc_is 3 "check of a warm model, coordinator stale"
  check "check: stale model is not warm" out_has '^a +not warm +warm \(coordinator stale\)$'
  run --shm "$SHM-stale" check nope
  rc_is 3 "stale takes precedence over not found"
  run --shm "$SHM-stale" show a
  rc_is 3 "show on a stale table"
  check "show: warm no (coordinator stale)" out_has '^warm: +no \(coordinator stale\)$'
  run --shm "$SHM-stale" check --json a
  check "check --json on a stale table" json "d['ok'] is False and d['models']['a']['warm'] is False and d['coordinator']['stale'] is True and d['coordinator']['state'] == 'stale'"
  run --shm "$SHM-stale" watch --count 1 --json
  rc_is 3 "watch on a stale table"
  stop "$stale"
else
  not_ok "fill-table --stale made a table"
fi

# ---- a retired segment: exit 3 --------------------------------------------------

timeout "$T" "$FILL" --shm "$SHM-retired" --models a --warm a --hold 0.2 \
  --retire >"$tmp/out" 2>"$tmp/err"
rc=$?
rc_is 0 "fill-table --retire"
check "fill-table prints nothing on success" test ! -s "$tmp/out" -a ! -s "$tmp/err"
run --shm "$SHM-retired" list
rc_is 3 "list on a retired segment"
check "retired header says RETIRED" out_has '  RETIRED$'
check "retired: said on stderr" err_has 'segment retired by its coordinator'
run --shm "$SHM-retired" check a
rc_is 3 "check on a retired segment"
run --shm "$SHM-retired" list --json
check "list --json on a retired segment" json "d['coordinator']['retired'] is True and d['coordinator']['state'] == 'retired'"
timeout "$T" "$FILL" --shm "$SHM-retired" --remove
run --shm "$SHM-retired" list
rc_is 2 "fill-table --remove removed the retired segment"

# ---- fill-table on its own: default hold, --demo ---------------------------------

timeout "$T" "$FILL" --shm "$SHM-short" --models a >"$tmp/out" 2>"$tmp/err"
rc=$?
rc_is 0 "fill-table with the default hold ends by itself"
run --shm "$SHM-short" list
rc_is 2 "fill-table unlinked its table at the end"
timeout "$T" "$FILL" --shm "$SHM-short" --warm a >"$tmp/out" 2>"$tmp/err"
rc=$?
rc_is 2 "fill-table --warm of a model not in --models"

if start "$SHM-demo" --models d1,d2 --demo; then
  demo=$pid
  run --shm "$SHM-demo" check d2
  rc_is 1 "--demo: d2 starts not warm"
  i=0
  while [ $i -lt 100 ]; do
    run --shm "$SHM-demo" check d1 d2
    [ "$rc" -eq 0 ] && break
    sleep 0.05
    i=$((i + 1))
  done
  rc_is 0 "--demo: d1 and d2 turn warm within 5 s"
  stop "$demo"
else
  not_ok "fill-table --demo made a table"
fi

echo "1..$n"
[ "$failed" -eq 0 ] || {
  echo "# $failed of $n checks failed"
  exit 1
}
exit 0
