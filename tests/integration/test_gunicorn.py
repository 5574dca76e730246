"""Gunicorn workers reading warmth through the Python binding.

2 models at a 1 s interval, warmd against the test upstream, and the WSGI
app of lib/python/examples under Gunicorn (8 sync workers) loaded with
requests for 6 s: once with preload_app (the table opened in the master
before the fork: every worker uses the inherited handle) and once without
(each worker opens its own).  The upstream must count one warmup per model
per second of the time that really passed between its reset and the count
(+/- 1) each time, and every request must have seen a consistent record.
Then warmd is stopped: the app must keep answering, every model cold.
Then the same app with a per-process warmer (no warmd: every worker warms
each model on its own timer) is counted the same way: at least twice
warmd's count of the same run (about 8x on a quiet machine).

Run by lib/python/run-gunicorn.sh (make check), from the build directory.
Bounded: 90 s in all; Gunicorn is stopped by pid on every path.
"""
import os
import signal
import sys
import threading
import time

from harness import (SRCDIR, Procs, app_get, bound, check,
                     check_one_per_interval, check_per_process_more,
                     free_port, http, main, run_clients, stop_proc,
                     upstream_warmups, wait_for)

MODELS = ["g1", "g2"]
WORKERS = 8
SECONDS = 6
CLIENT_THREADS = 8
MIN_REQUESTS = 1000  # per phase; about 10000 here on 2 busy cores
EXAMPLES = os.path.abspath(os.path.join(SRCDIR, "lib", "python", "examples"))



class Gunicorn:
    """One Gunicorn master and its workers, stopped by pid."""

    def __init__(self, P, name, env, preload):
        self.port = free_port()
        self.log = P.path(f"gunicorn-{name}.log")
        argv = [sys.executable, "-m", "gunicorn",
                "-c", os.path.join(EXAMPLES, "gunicorn_conf.py"),
                "--chdir", EXAMPLES, "-w", str(WORKERS),
                "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        if preload:
            argv.append("--preload")
        argv.append("wsgi_app:app")
        with open(self.log, "w") as log:
            self.proc = P.spawn(argv, env=env, stdout=log, stderr=log)
        self.pid = self.proc.pid
        self.worker_pids = set()
        try:
            wait_for(self.answers, 30, "gunicorn to answer")
        except BaseException:
            self.stop()
            raise

    def answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n"
                               + open(self.log).read()[-3000:])
        try:
            return app_get(self.port, MODELS[0]) is not None
        except OSError:
            return False

    def stop(self):
        """SIGTERM, wait, then SIGKILL: the master, then any worker left."""
        stop_proc(self.proc, 10)
        for pid in self.worker_pids:  # orphans of a killed master
            if is_ours(pid):
                os.kill(pid, signal.SIGKILL)


def is_ours(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"gunicorn" in f.read()
    except OSError:
        return False


INTERVAL_MS = 1000
WARM_TTL_MS = 3000


def consistent(r, model, last):
    """Whether one answer carries a record that is one coordinator write:
    the app's own checks, then the raw fields against the config and each
    other.  Only warmups succeed here (no report()), so a warm record's
    warm_until is exactly its last success plus warm_ttl; a copy mixing two
    writes would break that.  `last` holds this client's previous record
    per model: requests of one thread are sequential, so the counters of a
    later answer can never be lower."""
    rec = r.get("record")
    if not r["consistent"] or r["model"] != model or rec is None:
        return False
    if rec["name"] != model or rec["failures"] != 0 or \
            (rec["interval_ms"], rec["warm_ttl_ms"]) != (INTERVAL_MS,
                                                         WARM_TTL_MS):
        return False
    if rec["state"] == 2 and not (
            rec["successes"] >= 1 and rec["last_ok"] == rec["last_probe"] > 0
            and rec["warm_until"] == rec["last_ok"] + WARM_TTL_MS * 10**6):
        return False
    prev = last.get(model)
    last[model] = rec
    return prev is None or (rec["successes"] >= prev["successes"] and
                            rec["last_ok"] >= prev["last_ok"])


def load(port, seconds, records):
    """CLIENT_THREADS threads requesting the models in turn for `seconds`
    (sync workers close every connection: one connection per request).
    records: check every answer's record (False: the per-process warmer,
    whose answers carry none, and a stopped coordinator)."""
    totals = {"requests": 0, "warm": 0, "inconsistent": 0, "errors": 0}
    pids = {}  # worker pid -> pid of the process that opened its table
    backends = set()  # warmth.backend of the workers that answered
    lock = threading.Lock()

    def client(k, deadline):
        mine = dict.fromkeys(totals, 0)
        my_pids = {}
        last = {}
        i = k
        while time.monotonic() < deadline:
            model = MODELS[i % len(MODELS)]
            i += 1
            try:
                r = app_get(port, model)
            except (OSError, RuntimeError, ValueError):
                mine["errors"] += 1
                continue
            mine["requests"] += 1
            mine["warm"] += bool(r["warm"])
            if records:
                mine["inconsistent"] += not consistent(r, model, last)
            else:  # nothing but the echo to check
                mine["inconsistent"] += r["model"] != model
            my_pids[r["pid"]] = r["opened_in"]
            if "backend" in r:
                backends.add(r["backend"])
        with lock:
            for key, v in mine.items():
                totals[key] += v
            pids.update(my_pids)

    run_clients(CLIENT_THREADS, seconds, client)
    totals["pids"] = pids
    totals["backends"] = backends
    return totals


def run_phase(P, name, upstream_port, env, preload, seconds=SECONDS,
              records=True):
    g = Gunicorn(P, name, env, preload)
    try:
        http(upstream_port, "/_reset", {})
        t0 = time.monotonic()
        res = load(g.port, seconds, records)
        warmups = upstream_warmups(upstream_port, MODELS)
        res["elapsed"] = time.monotonic() - t0
        g.worker_pids = set(res["pids"])
    finally:
        g.stop()
    res["warmups"] = warmups
    res["master"] = g.pid
    print(f"{name}: {res['requests']} requests from {len(res['pids'])} "
          f"workers in {res['elapsed']:.1f} s, warm {res['warm']}, "
          f"inconsistent {res['inconsistent']}, errors {res['errors']}, "
          f"warmups {warmups}")
    return res


def test():
    bound(90)
    import warmth  # from PYTHONPATH: the build's package (pyrun.sh)

    # run-gunicorn.sh asks for the C extension (WARMTH_BACKEND=native): the
    # workers must answer through it, not through the ctypes fallback.
    want_backend = os.environ.get("WARMTH_BACKEND") or warmth.backend

    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        cfg = P.config(port, {m: {"interval": f"{INTERVAL_MS}ms",
                                  "jitter": "0%",
                                  "warm_ttl": f"{WARM_TTL_MS}ms"}
                              for m in MODELS})
        warmd = P.warmd(cfg)
        with warmth.Table(P.shm) as t:
            for m in MODELS:  # warmd publishes its models just after start
                wait_for(lambda: t.get(m) is not None, 10, f"{m} in the table")
                check(t.wait_warm(m, 10), f"{m} warm before the load")

        env = dict(os.environ, WARMTH_SHM=P.shm,
                   WARMTH_APP_MODELS=",".join(MODELS), WARMTH_APP_MODE="warmth")
        pre = run_phase(P, "warmd, preload_app", port, env, preload=True)
        nopre = run_phase(P, "warmd, no preload", port, env, preload=False)

        # Coordinator down: the same app keeps answering at once, and says
        # cold (a retired table's warmth is never trusted).
        warmd.terminate()
        warmd.wait(timeout=10)
        down = run_phase(P, "warmd stopped", port, env, preload=True,
                         seconds=2, records=False)
        own_env = dict(env, WARMTH_APP_MODE="own", WARMTH_APP_INTERVAL="1",
                       WARMTH_APP_UPSTREAM=f"http://127.0.0.1:{port}/v1")
        own = run_phase(P, "per-process warmer", port, own_env, preload=False,
                        records=False)

    print(f"\n{'model':6} {'warmd+preload':>14} {'warmd':>6} "
          f"{'per-process':>12} {'ratio':>6}")
    for m in MODELS:
        w = max(1, (pre["warmups"][m] + nopre["warmups"][m]) / 2)
        print(f"{m:6} {pre['warmups'][m]:14d} {nopre['warmups'][m]:6d} "
              f"{own['warmups'][m]:12d} {own['warmups'][m] / w:6.1f}")
    print()

    for name, r in (("preload", pre), ("no preload", nopre)):
        check_one_per_interval(f"{name}, {WORKERS} workers", r["warmups"],
                               r["elapsed"])
        check(r["requests"] >= MIN_REQUESTS and r["errors"] == 0,
              f"{name}: {r['requests']} requests, {r['errors']} errors")
        check(r["inconsistent"] == 0,
              f"{name}: every request saw a consistent record")
        check(r["warm"] >= 0.99 * r["requests"],
              f"{name}: {r['warm']} of {r['requests']} requests saw the "
              f"model warm")
        check(len(r["pids"]) >= 2,
              f"{name}: {len(r['pids'])} workers served requests")
        check(r["backends"] == {want_backend},
              f"{name}: workers answered through {sorted(r['backends'])}, "
              f"want {want_backend}")
    check(all(o == pre["master"] != pid for pid, o in pre["pids"].items()),
          "preload: every worker used the table the master opened before "
          "the fork")
    check(all(o == pid for pid, o in nopre["pids"].items()),
          "no preload: every worker opened its own table")
    # Against warmd's count of the same run (the run without preload: the
    # same app, each worker on its own), not the clock.
    check_per_process_more("per-process warmer", own["warmups"],
                           nopre["warmups"], WORKERS)
    check(own["errors"] == 0, "per-process warmer: no request failed")
    check(down["requests"] >= MIN_REQUESTS // 3 and down["errors"] == 0,
          f"warmd stopped: {down['requests']} requests, {down['errors']} "
          f"errors: workers keep serving without the coordinator")
    check(down["warm"] == 0 and all(v == 0 for v in down["warmups"].values()),
          f"warmd stopped: {down['warm']} requests saw a model warm, "
          f"warmups {down['warmups']}: treated as cold, nobody warms")


if __name__ == "__main__":
    main(test)
