"""Node workers read warmth through the addon (lib/node): node:cluster and
PM2's cluster mode, each with 8 workers, against the per-process warmer.

2 models at a 1 s interval, warmd against the test upstream, and
tests/integration/node/app.js: an HTTP server in each of 8 workers, loaded
with requests (a new connection each, so every worker serves) for 6 s:
  - node:cluster (app.js forks its workers), warmd: the upstream counts one
    warmup per model per second of the run, +/- 1, however many workers;
  - PM2 cluster mode (pm2-runtime -i 8, from npm, PM2_HOME in the temp
    dir), warmd: the same;
  - node:cluster, then PM2, warmd stopped, each worker's own timer warming
    each model every second (the per-process warmer): about 8x as many.
Counts are judged against the time that really passed between the
upstream's reset and its count.  Every request must see a consistent
record of its own model, warm.

Skips (77) when the addon was not built (no node: lib/node-build/SKIP);
the PM2 run is left out, said so, when pm2 is not in lib/node-build.
Bounded: 180 s; every server stopped by pid (its own session, so a PM2
daemon's workers go with it).
"""
import json
import os
import signal
import sys
import threading
import time

from harness import (BUILD, SRCDIR, Procs, app_get, bound, check, free_port,
                     http, main, run_clients, stop_proc, upstream_warmups,
                     wait_for)

MODELS = ["n1", "n2"]
WORKERS = 8
SECONDS = 6
CLIENT_THREADS = 8
INTERVAL_MS = 1000
WARM_TTL_MS = 3000
NODE_BUILD = os.path.join(BUILD, "lib", "node-build")
APP = os.path.abspath(os.path.join(SRCDIR, "tests", "integration", "node", "app.js"))




class App:
    """app.js under node:cluster or pm2-runtime, in its own session, stopped
    by pid (SIGTERM, then SIGKILL to the session's processes we started)."""

    def __init__(self, P, name, env, pm2):
        self.port = free_port()
        self.log = P.path(f"node-{name}.log")
        env = dict(env, PORT=str(self.port), WARMTH_APP_WORKERS=str(WORKERS),
                   WARMTH_NODE=NODE_BUILD, WARMTH_APP_MODELS=",".join(MODELS))
        if pm2:
            env["PM2_HOME"] = P.path(f"pm2-{name}")
            argv = [pm2, "start", APP, "-i", str(WORKERS), "--no-autorestart"]
        else:
            argv = ["node", APP]
        with open(self.log, "w") as log:
            self.proc = P.spawn(argv, env=env, stdout=log, stderr=log,
                                start_new_session=True)
        # Every worker up before a phase starts: pm2 starts them one after
        # another, and on a loaded machine the last ones came up after the
        # measured seconds had begun (5 of 8 served in one run).
        self.seen = set()
        try:
            wait_for(self.answers, 40, f"{name} to answer")
            wait_for(self.all_up, 60, f"{name}: all {WORKERS} workers to answer")
        except BaseException:
            self.stop()
            raise

    def all_up(self):
        for _ in range(WORKERS):
            try:
                self.seen.add(app_get(self.port, MODELS[0])["pid"])
            except (OSError, RuntimeError, ValueError, KeyError):
                pass
        return len(self.seen) >= WORKERS

    def answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"node exited ({self.proc.returncode}):\n"
                               + open(self.log).read()[-3000:])
        try:
            return app_get(self.port, MODELS[0]) is not None
        except (OSError, RuntimeError):
            return False

    def stop(self):
        p = self.proc
        stop_proc(p, 15)
        # Workers left behind by a killed primary: our session, by pid.
        for pid in session_pids(p.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def session_pids(sid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getsid(int(d)) == sid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def load(port, seconds):
    tot = {"requests": 0, "warm": 0, "bad": 0, "errors": 0, "touched": 0}
    pids, intervals, own_sent = set(), set(), {}
    first_bad = []
    lock = threading.Lock()

    def client(k, deadline):
        mine = dict.fromkeys(tot, 0)
        i = k
        while time.monotonic() < deadline:
            model = MODELS[i % len(MODELS)]
            i += 1
            try:
                r = app_get(port, model)
            except (OSError, RuntimeError, ValueError) as e:
                mine["errors"] += 1
                first_bad.append(repr(e))
                continue
            mine["requests"] += 1
            mine["warm"] += bool(r.get("warm"))
            mine["touched"] += bool(r.get("touched"))
            good = r.get("model") == model and r.get("consistent") is True
            if not good:
                mine["bad"] += 1
                first_bad.append(json.dumps(r)[:300])
            with lock:
                pids.add(r["pid"])
                if "interval_ms" in r:
                    intervals.add((r["interval_ms"], r["warm_ttl_ms"]))
                if "own_sent" in r:
                    own_sent[r["pid"]] = max(own_sent.get(r["pid"], 0), r["own_sent"])
        with lock:
            for key, v in mine.items():
                tot[key] += v

    run_clients(CLIENT_THREADS, seconds, client)
    tot.update(pids=pids, intervals=intervals, first_bad=first_bad[:1],
               own_sent=own_sent)
    return tot


def run_phase(P, name, upstream_port, env, pm2=None):
    app = App(P, name, env, pm2)
    try:
        app_get(app.port, MODELS[1])  # every worker's table opens on its first request
        http(upstream_port, "/_reset", {})
        t0 = time.monotonic()
        res = load(app.port, SECONDS)
        warmups = upstream_warmups(upstream_port, MODELS)
        res["elapsed"] = time.monotonic() - t0
        res["warmups"] = warmups
    finally:
        app.stop()
    print(f"{name}: {res['requests']} requests from {len(res['pids'])} "
          f"workers in {res['elapsed']:.1f} s, warm {res['warm']}, bad "
          f"{res['bad']}, errors {res['errors']}, warmups {res['warmups']}")
    sys.stdout.flush()
    return res


def pm2_bin():
    p = os.path.join(NODE_BUILD, "node_modules", ".bin", "pm2-runtime")
    return p if os.path.exists(p) else None


def test():
    bound(180)
    if os.path.exists(os.path.join(NODE_BUILD, "SKIP")):
        print("SKIP:", open(os.path.join(NODE_BUILD, "SKIP")).read().strip())
        sys.exit(77)
    if not os.path.exists(os.path.join(NODE_BUILD, "build", "Release", "warmth.node")):
        raise SystemExit(f"FAIL: no addon in {NODE_BUILD}: make check builds it")
    pm2 = pm2_bin()

    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        cfg = P.config(port, {m: {"interval": f"{INTERVAL_MS}ms", "jitter": "0%",
                                  "warm_ttl": f"{WARM_TTL_MS}ms"} for m in MODELS})
        warmd = P.warmd(cfg)
        wait_for(lambda: all(P.warmctl("check", m)[0] == 0 for m in MODELS),
                 10, "warmd to warm the models")
        env = dict(os.environ, WARMTH_SHM=P.shm, WARMTH_APP_MODE="warmth")
        phases = [("node:cluster, warmd", run_phase(P, "cluster", port, env))]
        if pm2:
            phases.append(("PM2 cluster, warmd", run_phase(P, "pm2", port, env, pm2)))
        else:
            print("PM2 run left out: no pm2-runtime in lib/node-build/node_modules")
        warmd.terminate()
        warmd.wait(timeout=10)
        own_env = dict(env, WARMTH_APP_MODE="own", WARMTH_APP_INTERVAL_MS=str(INTERVAL_MS),
                       WARMTH_APP_UPSTREAM=f"http://127.0.0.1:{port}/v1")
        owns = [("node:cluster, per-process warmer",
                 run_phase(P, "own-cluster", port, own_env))]
        if pm2:
            owns.append(("PM2 cluster, per-process warmer",
                         run_phase(P, "own-pm2", port, own_env, pm2)))

    print(f"\n{WORKERS} workers, {SECONDS} s of load, {INTERVAL_MS} ms interval: "
          "warmups counted at the upstream")
    cols = phases + owns
    print(f"  {'model':7} " + " ".join(f"{n:>33}" for n, _ in cols))
    for m in MODELS:
        print(f"  {m:7} " + " ".join(f"{r['warmups'][m]:33d}" for _, r in cols))
    print(f"  {'seconds':7} " + " ".join(f"{r['elapsed']:33.1f}" for _, r in cols) + "\n")

    for name, r in phases:
        lo, hi = round(r["elapsed"]) - 1, round(r["elapsed"]) + 1
        for m in MODELS:
            check(lo <= r["warmups"][m] <= hi,
                  f"{name}: {m}: {r['warmups'][m]} warmups in {r['elapsed']:.1f} s "
                  f"with {WORKERS} workers, want {lo}..{hi}")
        check(r["requests"] >= 500 and r["errors"] == 0,
              f"{name}: {r['requests']} requests, {r['errors']} errors "
              f"{r['first_bad']}")
        check(r["bad"] == 0, f"{name}: every request saw a consistent record of "
              f"its own model ({r['bad']} bad {r['first_bad']})")
        check(r["touched"] == r["requests"], f"{name}: every request touched its model")
        check(r["warm"] >= 0.95 * r["requests"],
              f"{name}: {r['warm']} of {r['requests']} requests saw the model warm")
        check(len(r["pids"]) == WORKERS, f"{name}: all {WORKERS} workers served "
              f"({len(r['pids'])})")
        check(r["intervals"] == {(INTERVAL_MS, WARM_TTL_MS)},
              f"{name}: records carry warmd's interval and warm_ttl {r['intervals']}")
    # The per-process warmers' count is judged against warmd's, measured side
    # by side in this run, not against the clock: on a loaded machine a
    # worker's setInterval fires late and never catches up (22 instead of
    # ~48 in 6 s was seen beside a soak run), while warmd's count stays at
    # one per interval.  At least twice warmd's (8x on a quiet machine), at
    # most one per worker per interval.
    ref = phases[0][1]["warmups"]
    for name, own in owns:
        t = own["elapsed"]
        for m in MODELS:
            check(2 * max(ref[m], 1) <= own["warmups"][m] <= WORKERS * (t + 2),
                  f"{name}: {m}: {own['warmups'][m]} warmups in {t:.1f} s from "
                  f"{WORKERS} workers' timers against warmd's {ref[m]} "
                  f"(want at least twice as many, at most one per worker per interval)")
        check(own["errors"] == 0 and own["bad"] == 0, f"{name}: every request answered")
        check(len(own["pids"]) == WORKERS, f"{name}: all {WORKERS} workers served")


if __name__ == "__main__":
    main(test)
