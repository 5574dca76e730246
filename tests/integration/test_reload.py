"""SIGHUP reload while reader processes verify every record they copy.

A config with models keep, change and gone is replaced by one where keep is
the same, change has a new interval, gone is removed and added is new; then
broken configs are sent (each must be rejected, the reason logged and the
running config kept); then a burst of reloads adds and removes ten models
while the readers look them up.  Readers (tests/helpers/table-watch) must never
copy a torn or foreign record, keep must stay warm throughout with its
warm_until and successes never going back, added must appear and warm,
gone must disappear from lookups."""
import os
import re
import signal
import time

from harness import Procs, bound, check, main
from ops import NOTFOUND, Watch, count, sample, wait_log, wait_sample

FAST = {"interval": "300ms", "jitter": "0%", "warm_ttl": "3s"}
EXTRA = [f"x{i}" for i in range(10)]
ALL = ["keep", "change", "gone", "added"] + EXTRA
WARMD = {"capacity": "256", "stale_after": "2s"}
RELOADED = r"reloaded .*: (\d+) added, (\d+) removed, (\d+) changed, (\d+) kept"
REJECTED = r"reload failed, keeping the running config: (.*)"


def test():
    bound(150)
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")

        def conf(models, name):
            return P.config(port, models, warmd=WARMD, name=name)

        a = {"keep": FAST, "change": FAST, "gone": FAST}
        b = {"keep": FAST, "change": dict(FAST, interval="600ms"),
             "added": FAST}
        cfg = conf(a, "warmd.conf")
        log = P.path("warmd.log")
        warmd = P.warmd(cfg)

        def reload_to(path, pattern, n, what):
            os.replace(path, cfg)
            warmd.send_signal(signal.SIGHUP)
            return wait_log(log, pattern, n, 10, what)

        # Readers for as long as the test takes (stopped after the burst),
        # not a fixed time a loaded machine may outrun.
        watchers = [Watch(P, ALL, 120) for _ in range(3)]
        wait_sample(P, ["keep", "change", "gone"],
                    lambda m, h: all(x["warm"] for x in m.values()), 10,
                    "keep, change and gone to be warm")
        before, _ = sample(P, ["keep", "change"])

        # 1. added / removed / changed / kept
        got = reload_to(conf(b, "b.conf"), RELOADED, 1, "the reload")
        check(got[-1] == ("1", "1", "1", "1"),
              f"reload counted 1 added, 1 removed, 1 changed, 1 kept: {got[-1]}")
        after, _ = wait_sample(P, ["added", "gone", "change"],
                               lambda m, h: m["added"]["warm"] and
                               m["gone"]["rc"] == NOTFOUND and
                               m["change"]["interval_ms"] == 600, 10,
                               "added warm, gone gone, change at 600ms")
        check(True, "added is warm, gone is not found, change has its new "
              "interval")
        now, _ = sample(P, ["keep", "change"])
        for m in ("keep", "change"):
            check(now[m]["slot"] == before[m]["slot"] and
                  now[m]["generation"] == before[m]["generation"],
                  f"{m} kept its slot and generation")

        # 2. broken configs: each rejected with its reason, nothing changes
        good = open(cfg).read()
        broken = {
            "syntax error": (good + "\n[model unclosed\n",
                             r"line|section|\]"),
            "unknown key": (good.replace("[model keep]",
                                         "[model keep]\nintervall = 5s"),
                            r"intervall"),
            "unknown endpoint": (good.replace("[model added]\nendpoint = local",
                                              "[model added]\nendpoint = nope"),
                                 r"nope"),
            "bad duration": (good.replace("interval = 600ms",
                                          "interval = soon"), r"soon"),
            "unset key variable": (good.replace(
                "[endpoint local]",
                "[endpoint local]\napi_key_env = WARMTH_TEST_UNSET_KEY_VAR"),
                r"WARMTH_TEST_UNSET_KEY_VAR"),
        }
        n = 0
        for what, (text, reason) in broken.items():
            n += 1
            path = P.path("broken.conf")
            with open(path, "w") as f:
                f.write(text)
            got = reload_to(path, REJECTED, n, f"rejecting {what}")
            check(re.search(reason, got[-1]),
                  f"{what}: rejected, reason logged: {got[-1]}")
        with open(cfg, "w") as f:
            f.write(good)
        m, _ = sample(P, ["keep", "change", "added", "gone"])
        check(m["keep"]["warm"] and m["added"]["warm"] and
              m["change"]["interval_ms"] == 600 and m["gone"]["rc"] == NOTFOUND,
              "after the broken configs the running config is unchanged")

        # 3. a burst: ten models join and leave, six times over
        with_x = dict(b, **{x: FAST for x in EXTRA})
        done = count(log, RELOADED)
        for i in range(12):
            done += 1
            got = reload_to(conf(with_x if i % 2 == 0 else b, "burst.conf"),
                            RELOADED, done, f"burst reload {i}")
            want = ("10", "0", "0", "3") if i % 2 == 0 else ("0", "10", "0", "3")
            check(got[-1] == want, f"burst reload {i}: {got[-1]}")
            time.sleep(0.1)  # let the readers look the ten up meanwhile
        res = [w.stop() for w in watchers]
        warmd.terminate()
        check(warmd.wait(timeout=10) == 0, "warmd exited 0 on SIGTERM")

    lookups = sum(w.summary["lookups"] for w in res)
    print(f"readers: {len(res)}, lookups: {lookups}, samples: "
          f"{sum(len(w.samples) for w in res)}")
    for w in res:
        check(w.summary["garbage"] == 0 and w.summary["regressions"] == 0,
              f"reader: no torn or foreign record, nothing went back "
              f"({w.summary['lookups']} lookups; {w.summary['first_bad']})")
        check(all(w.summary["misses"][m] == 0 for m in
                  ("keep", "change", "added")),
              f"every lookup of keep, change and added once found found "
              f"them: {w.summary['misses']} (first miss: "
              f"{w.summary.get('miss_rc')})")
        keep = w.model("keep")
        first = next(i for i, s in enumerate(keep) if s["warm"])
        cold = [s["t"] for s in keep[first:] if not s["warm"]]
        check(not cold, f"keep stayed warm in all {len(keep) - first} samples "
              f"after it first was (cold at {cold[:5]} ms)")
        check(len({(s["slot"], s["generation"]) for s in keep}) == 1,
              "keep never changed slot or generation")
        check(keep[-1]["successes"] > before["keep"]["successes"],
              f"keep's successes kept counting: {before['keep']['successes']}"
              f" -> {keep[-1]['successes']}")
        gone = [s["rc"] for s in w.model("gone")]
        check(gone[0] == 0 and gone[-1] == NOTFOUND and
              0 not in gone[gone.index(NOTFOUND):],
              "gone was found, then never again once it was not")
        added = w.model("added")
        check(added[0]["rc"] == NOTFOUND and added[-1]["warm"],
              "added was not there at first and is warm at the end")
        ch = [s["interval_ms"] for s in w.model("change") if s["rc"] == 0]
        check(ch[0] == 300 and ch[-1] == 600, "change went from 300 to 600 ms")
        seen_x = sum(1 for s in w.model("x0") if s["rc"] == 0)
        check(seen_x > 0, f"x0 was seen during the burst ({seen_x} samples)")


if __name__ == "__main__":
    main(test)
