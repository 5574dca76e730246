"""Restart warmd under running readers, which are never restarted.

Readers (tests/helpers/table-watch) run throughout while warmd is:
  1. stopped with SIGTERM while a warmup is in flight (it must exit 0
     within its stop bound and leave the segment retired), then started
     again: it adopts the segment and the readers see the new pid;
  2. killed with -9: the readers see the coordinator stale (not warm)
     while none runs, and the next warmd starts cleanly (adopts);
  3. started with another capacity, so it must replace the segment: the
     old one is marked superseded and the readers follow to the new one.
They must never copy a torn or foreign record, and see every coordinator
in turn by its pid."""
import os
import signal
import time

from harness import Procs, bound, check, main
from ops import Watch, sample, wait_sample

MODELS = ["a", "b"]
FAST = {"interval": "300ms", "jitter": "0%", "warm_ttl": "3s"}
STALE_S = 1


def test():
    bound(150)
    with Procs() as P:
        # "slow" answers after 8 s: at each stop a warmup is in flight.
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                             "--warm-ms", "slow=8000", "--cold-ms", "slow=8000")
        models = {m: FAST for m in MODELS}
        models["slow"] = dict(FAST, timeout="10s")
        w = {"stale_after": f"{STALE_S}s", "capacity": "64"}
        cfg = P.config(port, models, warmd=w)
        cfg2 = P.config(port, models, warmd=dict(w, capacity="128"),
                        name="bigger.conf")
        log = P.path("warmd.log")

        def warm_under(pid, what):
            return wait_sample(P, MODELS, lambda m, h: h["pid"] == pid and all(
                x["warm"] for x in m.values()), 10, what)

        # Readers for as long as the four coordinators take (stopped after
        # the last is seen warm), not a fixed 22 s that a loaded machine
        # could outrun; 120 s is only their bound.
        watchers = [Watch(P, MODELS + ["slow"], 120) for _ in range(3)]
        marks = {}  # event -> CLOCK_MONOTONIC ms, as table-watch's "t"

        def mark(name):
            marks[name] = time.monotonic() * 1000

        d1 = P.warmd(cfg)
        warm_under(d1.pid, "the first warmd to warm a and b")
        mark("d1_warm")

        # 1. SIGTERM with a warmup in flight, then a clean start.
        t = time.time()
        d1.send_signal(signal.SIGTERM)
        rc = d1.wait(timeout=10)
        took = time.time() - t
        check(rc == 0, f"SIGTERM: warmd exited {rc}")
        check(took < 4, f"SIGTERM: stopped in {took:.2f}s with a warmup in "
              "flight (bound: 2 s grace + a tick)")
        _, hdr = sample(P, MODELS)
        check(hdr["retired"] == 1 and hdr["stale"] == 1,
              "after SIGTERM the segment reads retired and stale")
        mark("d1_gone")
        time.sleep(1.0)
        mark("d2_start")
        d2 = P.warmd(cfg)
        warm_under(d2.pid, "the second warmd (adopting) to be seen warm")
        mark("d2_warm")
        time.sleep(0.5)

        # 2. kill -9: stale while none runs, then a clean start.
        d2.send_signal(signal.SIGKILL)
        d2.wait(timeout=10)
        mark("d2_killed")
        by, hdr = wait_sample(P, MODELS, lambda m, h: h["stale"] == 1, 5,
                              "readers to see the killed warmd stale")
        check(hdr["pid"] == d2.pid and hdr["retired"] == 0 and
              not any(x["warm"] for x in by.values()),
              "after kill -9: same pid, not retired, stale, nothing warm")
        time.sleep(STALE_S + 0.5)
        mark("d3_start")
        d3 = P.warmd(cfg)
        warm_under(d3.pid, "the warmd after kill -9 to be seen warm")
        mark("d3_warm")
        time.sleep(0.5)

        # 3. a restart that must replace the segment.
        d3.send_signal(signal.SIGTERM)
        check(d3.wait(timeout=10) == 0, "third warmd exited 0")
        d4 = P.warmd(cfg2)
        warm_under(d4.pid, "readers to follow the replaced segment")
        mark("d4_warm")
        time.sleep(0.5)  # a few samples under the fourth
        res = [w.stop() for w in watchers]
        d4.send_signal(signal.SIGTERM)
        check(d4.wait(timeout=10) == 0, "fourth warmd exited 0")
        text = open(log).read()

    starts = [l for l in text.splitlines() if " started: " in l]
    print("\n".join(starts))
    check(len(starts) == 4 and "(new)" in starts[0] and
          "(adopted)" in starts[1] and "(adopted)" in starts[2] and
          "(new)" in starts[3],
          "warmd 2 and 3 adopted the segment, 4 made a new one")
    pids = [d1.pid, d2.pid, d3.pid, d4.pid]
    t0 = marks["d1_warm"]
    print("marks (ms):", {k: round(v - t0) for k, v in marks.items()})
    for w in res:
        s = w.summary
        check(s["garbage"] == 0 and s["regressions"] == 0,
              f"reader: {s['lookups']} lookups, no torn or foreign record, "
              f"nothing went back {s['first_bad']}")
        check(w.rc == 0, "reader ran to its end")
        seq = []
        for x in w.samples:
            if x["pid"] and (not seq or seq[-1] != x["pid"]):
                seq.append(x["pid"])
        check(seq == pids, f"reader saw the coordinators in turn: {seq}")
        a = w.model("a")
        for pid in pids:
            check(any(x["pid"] == pid and x["warm"] for x in a),
                  f"reader saw a warm under pid {pid}")
        # A sample is taken a little after its clock read: keep 100 ms off
        # both ends of each window.
        gap1 = [x for x in a if marks["d1_gone"] + 100 <= x["t"]
                <= marks["d2_start"] - 100]
        odd = [x for x in gap1 if not x["retired"] or not x["stale"] or x["warm"]]
        check(gap1 and not odd,
              f"between SIGTERM and the next start: retired, stale, not warm "
              f"({len(gap1)} samples; {odd[:3]})")
        gap2 = [x for x in a
                if marks["d2_killed"] + STALE_S * 1000 + 200 <= x["t"]
                <= marks["d3_start"] - 100]
        check(gap2 and all(x["stale"] and not x["retired"] and not x["warm"]
                           and x["pid"] == d2.pid for x in gap2),
              f"after kill -9: stale, not warm ({len(gap2)} samples)")
        check(s["misses"]["a"] == 0 and s["misses"]["b"] == 0,
              "once found, every lookup of a and b found them, across all "
              f"four coordinators ({s['misses']}; first miss: "
              f"{s.get('miss_rc')})")
        last2 = max(x["successes"] for x in a if x["pid"] == d2.pid)
        first3 = min(x["successes"] for x in a if x["pid"] == d3.pid)
        check(first3 >= last2, f"adopted after kill -9, a's successes went "
              f"on: {last2} -> {first3}")


if __name__ == "__main__":
    main(test)
