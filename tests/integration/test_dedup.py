"""One warmup per model per interval per host, whatever the workers.

3 models at a 1 s interval, 8 worker processes reading and touching for
6 s: the upstream must count one warmup per model per second of the time
that really passed between its reset and the count (+/- 1).  The same 8
workers each warming on their own timer (the per-process warmer people run
today) are counted the same way and must send at least twice warmd's count
of the same run (8x on a quiet machine); both are printed side by side."""
import time

from harness import (Procs, bound, check, check_one_per_interval,
                     check_per_process_more, http, main, stats,
                     worker_results)

MODELS = ["m1", "m2", "m3"]
SECONDS = 6
WORKERS = 8


def test():
    bound(120)
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        cfg = P.config(port, {m: {"interval": "1s", "jitter": "0%",
                                  "warm_ttl": "3s"} for m in MODELS})
        warmd = P.warmd(cfg)
        http(port, "/_reset", {})
        t0 = time.monotonic()
        ws = P.workers(WORKERS, MODELS, SECONDS)
        res = worker_results(ws)
        st = stats(port)["models"]
        elapsed = time.monotonic() - t0
        with_warmd = {m: st.get(m, {}).get("requests", 0) for m in MODELS}
        warmd.terminate()
        warmd.wait(timeout=10)

        http(port, "/_reset", {})
        ws = P.workers(WORKERS, MODELS, SECONDS, "--no-touch", "--own-warmup",
                       f"http://127.0.0.1:{port}/v1", "--interval-ms", "1000")
        own = worker_results(ws)
        per_process = {m: stats(port)["models"].get(m, {}).get("requests", 0)
                       for m in MODELS}

    print(f"{'model':8} {'warmd':>6} {'per-process':>12} {'ratio':>6}")
    for m in MODELS:
        print(f"{m:8} {with_warmd[m]:6d} {per_process[m]:12d} "
              f"{per_process[m] / max(1, with_warmd[m]):6.1f}")
    print(f"warmd counted over {elapsed:.1f} s")
    check_one_per_interval(f"{WORKERS} workers", with_warmd, elapsed)
    check_per_process_more("per-process", per_process, with_warmd, WORKERS)
    check(all(r["inconsistent"] == 0 for r in res),
          "every record the workers copied was consistent")
    check(all(r["warm"] > 0 for r in res), "every worker saw its models warm")
    check(sum(r["own_warmups"] for r in own) == sum(per_process.values()),
          "the upstream counted every per-process warmup")


if __name__ == "__main__":
    main(test)
