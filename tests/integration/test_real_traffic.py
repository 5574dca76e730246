"""What real traffic and the provider tell us: a model workers report using
gets no warmups; rate-limit headroom under min_headroom pauses warmups; a
prompt prefix shows cached tokens."""
import json
import time

from harness import (Procs, bound, check, http, main, model_requests,
                     wait_for, worker_results)

WORKER_S = 8  # how long the workers report busy's real traffic


def show(P, model):
    rc, out = P.warmctl("show", model, "--json")
    return json.loads(out[out.index("{"):])


def test():
    bound(90)
    with Procs() as P:
        prefix = P.path("prefix.txt")
        with open(prefix, "w") as f:
            f.write("You are a careful assistant. " * 80)
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                             "--headroom", "throttled=5", "--rpm", "600")
        common = {"interval": "1s", "jitter": "0%", "warm_ttl": "3s"}
        cfg = P.config(port, {
            "busy": dict(common),
            "throttled": dict(common, min_headroom="10%"),
            "control": dict(common, min_headroom="10%"),
            "cached": dict(common, probe_prefix_file=prefix),
        })
        P.warmd(cfg)
        wait_for(lambda: P.warmctl("check", "busy")[0] == 0, 10, "busy warm")
        http(port, "/_reset", {})
        t_reset = time.monotonic()
        # 8 s: the wait below for warmd to see the reports may take its 5 s
        # on a loaded machine, and the window after it must still hold two
        # of busy's intervals.
        ws = P.workers(4, ["busy"], WORKER_S, "--report-ms", "200")
        started = time.monotonic()
        # Judged from the moment warmd has seen the workers' reports (the
        # record's real_traffic flag): on a busy machine the workers can
        # take longer to start than the 1 s until busy's next warmup, and
        # a warmup sent before any report existed is not what is checked.
        wait_for(lambda: "real_traffic" in json.dumps(show(P, "busy")["flags"]),
                 5, "warmd to see busy's real traffic")
        seen = time.monotonic()
        before = model_requests(port, "busy")
        res = worker_results(ws)
        window = time.monotonic() - seen
        busy = model_requests(port, "busy") - before
        throttled = model_requests(port, "throttled")
        control = model_requests(port, "control")
        since = time.monotonic() - t_reset
        rb, rt, rc_ = show(P, "busy"), show(P, "throttled"), show(P, "cached")
    print(f"{since:.1f} s at a 1 s interval: busy={before}+{busy} "
          f"throttled={throttled} control={control} warmups; warmd saw the reports "
          f"{seen - started:.2f} s after the workers started")
    # At least two of busy's intervals must remain, or the check says little.
    check(busy == 0 and window >= 2, f"real traffic: a model reported every "
          f"200 ms got {busy} warmups in the {window:.1f} s after warmd saw "
          f"the reports")
    check(rb["state"] == "warm" and "real_traffic" in json.dumps(rb["flags"]),
          "real traffic: warm, flagged as kept warm by real traffic")
    check(all(r["inconsistent"] == 0 for r in res), "workers read consistently")
    check(control >= 4, f"headroom: a model with headroom warms ({control})")
    # Under the floor each warmup waits one more interval: at most one per
    # two intervals of the time that really passed since the reset (the
    # test counted 5 s of it before; a slow machine counts more).
    most = since / 2 + 1
    check(throttled <= most, f"headroom: under the 10% floor, warmups pause "
          f"({throttled} in {since:.1f} s, at most {most:.1f})")
    check(rt["headroom_requests"] == 5 and "throttled" in json.dumps(rt["flags"]),
          "headroom: the record shows 5 left and throttled")
    check(rc_["tokens_cached"] > 0 and "prefix_cached" in json.dumps(rc_["flags"]),
          f"prefix: cached tokens confirmed ({rc_['tokens_cached']})")


if __name__ == "__main__":
    main(test)
