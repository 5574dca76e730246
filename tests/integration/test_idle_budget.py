"""idle_after stops warming a model nobody touches, a touch warms it within
a tick; the daily budget stops chat warmups (never models probes) and says
so; config errors name the file, line and key."""
import json
import math
import re
import subprocess
import time

from harness import (Procs, binary, bound, check, main, model_requests,
                     stats, wait_for)


def state(P, model):
    rc, out = P.warmctl("show", model, "--json")
    return json.loads(out[out.index("{"):])["state"] if rc in (0, 1) else None


def test_idle():
    bound(90)
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        cfg = P.config(port, {
            "idle": {"interval": "300ms", "idle_after": "1s",
                     "warm_ttl": "400ms", "jitter": "0%"}}, warmd={"tick": "20ms"})
        P.warmd(cfg)
        wait_for(lambda: state(P, "idle") == "idle", 10,
                 "model idle to turn idle")
        before = model_requests(port, "idle")
        time.sleep(1.0)
        check(model_requests(port, "idle") == before,
              f"idle: no warmups while idle ({before} before, same after 1 s)")
        subprocess.run([binary("tests/helpers/worker-sim"), "--shm", P.shm, "--models",
                        "idle", "--seconds", "0.05", "--period-ms", "0"],
                       check=True, capture_output=True, timeout=10)
        t0 = time.monotonic()  # the touches happened in the last 50 ms
        # Without the touch an idle model is never warmed again, so any
        # warmup here is the touch's; the delay is printed, not asserted
        # tightly (a loaded CI machine is no stopwatch).
        wait_for(lambda: model_requests(port, "idle") > before, 5,
                 "a warmup after the touch")
        dt = (time.monotonic() - t0) * 1000
    print(f"touch to warmup seen at the upstream: {dt:.0f} ms (tick 20 ms, "
          f"polled every 20 ms)")
    check(dt < 2000, f"idle: a touch warmed it ({dt:.0f} ms)")


def test_budget():
    with Procs() as P:
        # --models: a models probe checks that its id is listed (issue 10).
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                             "--models", "costly,free")
        cfg = P.config(port, {
            # $1 a token: a warmup costs a few dollars
            "costly": {"interval": "300ms", "price_in": "1000000",
                       "price_out": "1000000", "jitter": "0%"},
            "free": {"interval": "300ms", "probe": "models", "jitter": "0%"},
        }, warmd={"budget_per_day": "10"})
        P.warmd(cfg)
        # Judged on what warmd did, not on 2.5 s of the clock: once the
        # log says the budget is reached, the models probes must go on (four
        # more: three of their intervals, as many as the chat model's), and
        # no chat warmup with them.
        reached = r"daily budget of \$10\.00 reached"
        try:
            wait_for(lambda: re.search(reached, P.log("warmd.log")), 20,
                     "the budget to be reached")
        except TimeoutError:
            pass  # checked below
        free0 = stats(port).get("models_list", 0)
        t0 = time.monotonic()
        try:
            wait_for(lambda: stats(port).get("models_list", 0) >= free0 + 4,
                     20, "four more models probes")
        except TimeoutError:
            pass  # checked below
        waited = time.monotonic() - t0
        st = stats(port)
        costly = st["models"]["costly"]["requests"]
        tokens = (st["models"]["costly"]["prompt_tokens"] +
                  st["models"]["costly"]["completion_tokens"])
        free = st.get("models_list", 0)
        rc, out = P.warmctl("show", "costly", "--json")
        log = P.log("warmd.log")
    per = tokens / max(1, costly)
    want = math.ceil(10 / per) if per else -1
    print(f"budget $10 at ${per:.0f} a warmup: costly={costly} requests "
          f"(want {want}), models probes={free} ({free - free0} in the "
          f"{waited:.1f} s after the budget was reached)")
    check(re.search(reached, log), "budget: the log says so")
    check(costly == want, f"budget: chat warmups stop once $10 is spent "
          f"({costly} sent at ${per:.0f} each, none while {free - free0} "
          f"models probes went on)")
    check(free >= free0 + 4, f"budget: models probes go on ({free - free0} "
          f"sent in the {waited:.1f} s after the budget was reached)")
    check('"budget"' in out, "budget: the record carries the budget flag")


def test_config_errors():
    with Procs() as P:
        bad = P.path("bad.conf")
        with open(bad, "w") as f:
            f.write("[warmd]\ntick = 50ms\n\n[endpoint e]\nkind = openai\n"
                    "base_url = http://127.0.0.1:1/v1\n\n[model m]\n"
                    "interval = 5x\n")
        r = subprocess.run([binary("tools/warmd/warmd"), "--check-config",
                            "-c", bad], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode == 2, f"--check-config exits 2 ({r.returncode})")
        check(re.search(r"bad\.conf:9: \[model m\] interval: '5x'", r.stderr),
              f"error names file, line and key: {r.stderr.strip()}")
        good = P.config(1, {"m": {}})
        r = subprocess.run([binary("tools/warmd/warmd"), "--check-config",
                            "-c", good], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode == 0, "--check-config exits 0 on a valid config")


if __name__ == "__main__":
    main(lambda: (test_idle(), test_budget(), test_config_errors()))
