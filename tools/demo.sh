#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine, without any API key:
# builds warmth, starts the bundled test upstream (a fake OpenAI/Anthropic
# API on loopback whose models answer slowly when cold), warmd with
# tools/warmd.demo.conf against it, four worker processes that read the
# table and touch their models, and `warmctl watch`, so models are seen
# going from cold to warm.  Then it prints what the workers saw and what
# the upstream counted, and stops everything it started, by pid.
#
# Usage: tools/demo.sh [SECONDS]   (default 20; the upstream also exits by
# itself after SECONDS + 60 s, so nothing lingers).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
secs=${1:-20}
case $secs in '' | *[!0-9]*) echo "demo: SECONDS must be a number" >&2; exit 2 ;; esac

tools/deps.sh
# autoreconf lists each file it installs on stderr: shown only if it fails.
if [ ! -x configure ]; then
  log=$(autoreconf -fi 2>&1) || { printf '%s\n' "$log" >&2; exit 1; }
fi
mkdir -p _build/demo
(cd _build/demo && { [ -f Makefile ] || "$top/configure" -q; } &&
   make -s -j"$(nproc)" >/dev/null)
b=$top/_build/demo

dir=$(mktemp -d /tmp/warmth-demo.XXXXXX)
shm=/warmth-demo-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -f "/dev/shm$shm" "/dev/shm$shm.lock"
  rm -rf "$dir"
}
trap cleanup EXIT

# The upstream: cold models answer after 800 ms, warm ones after 20 ms.
# --models: what it lists, so local-llama's `models` probe finds its id
# (and reads reachable: listed, not proven loaded).
"$b/tests/upstream/warmth-upstream" --listen 127.0.0.1:0 \
  --port-file "$dir/port" --max-seconds $((secs + 60)) \
  --models gpt-4.1,o4-mini,claude-sonnet-4-20250514,local-llama \
  --cold-after 10s --cold-ms 800 --warm-ms 20 >/dev/null 2>"$dir/upstream.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
port=$(cat "$dir/port")
sed -e "s|@PORT@|$port|g" -e "s|@SHM@|$shm|g" -e "s|@DIR@|$dir|g" \
  tools/warmd.demo.conf >"$dir/warmd.conf"
echo "== test upstream on 127.0.0.1:$port; warmd.conf from tools/warmd.demo.conf"

"$b/tools/warmd/warmd" -f -c "$dir/warmd.conf" 2>"$dir/warmd.log" &
pids+=($!)
for _ in $(seq 100); do [ -e "/dev/shm$shm" ] && break; sleep 0.05; done
[ -e "/dev/shm$shm" ] || { echo "demo: warmd did not start:" >&2; cat "$dir/warmd.log" >&2; exit 1; }

# Four workers: each looks its models up and touches them every 10 ms.
models=gpt-4.1,o4-mini,claude-sonnet,local-llama
for i in 1 2 3 4; do
  "$b/tests/helpers/worker-sim" --shm "$shm" --models "$models" --seconds "$secs" \
    --period-ms 10 >"$dir/worker-$i.out" &
  pids+=($!)
done

echo "== warmctl watch (every 2 s, $secs s): cold -> warming -> warm"
"$b/tools/warmctl/warmctl" watch --shm "$shm" --interval 2s \
  --count $((secs / 2 + 1)) || true

echo "== warmctl show gpt-4.1"
"$b/tools/warmctl/warmctl" show gpt-4.1 --shm "$shm" || true
echo "== warmctl cost: what the warmups cost, projected at this schedule"
"$b/tools/warmctl/warmctl" cost --shm "$shm" || true
echo "== warmctl status and stats (over warmd's control socket)"
"$b/tools/warmctl/warmctl" status --socket "$dir/warmd.sock" || true
"$b/tools/warmctl/warmctl" stats --socket "$dir/warmd.sock" || true
for i in 1 2 3 4; do wait "${pids[$((i + 1))]}" 2>/dev/null || true; done
echo "== what the workers saw"
cat "$dir"/worker-*.out
echo "== what the upstream counted (GET /_stats): warmups per model, from 4 workers"
curl -s "http://127.0.0.1:$port/_stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for name, m in sorted(d["models"].items()):
    print("%-26s requests=%-3d cold_served=%d warm_served=%d"
          % (name, m["requests"], m["cold_served"], m["warm_served"]))
# local-llama (probe = models) asks GET /v1/models, not the model itself.
print("%-26s requests=%d (local-llama: probe = models, every 5 s)"
      % ("GET /v1/models", d["models_list"]))'
echo "(one warmup per model per interval for the host; a per-process warmer in"
echo " each of the 4 workers would have sent 4 times as many)"
echo "== warmd log"
cat "$dir/warmd.log"
