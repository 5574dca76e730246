"""One warmup per model per interval per host, whatever the workers.

3 models at a 1 s interval, 8 worker processes reading and touching for
6 s: the upstream must count 6 (+/- 1) warmups per model.  The same 8
workers each warming on their own timer (the per-process warmer people run
today) are counted the same way; both are printed side by side."""
import time

from harness import (Procs, bound, check, http, main, stats, worker_results)

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
        ws = P.workers(WORKERS, MODELS, SECONDS)
        res = worker_results(ws)
        with_warmd = {m: stats(port)["models"].get(m, {}).get("requests", 0)
                      for m in MODELS}
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
    for m in MODELS:
        check(SECONDS - 1 <= with_warmd[m] <= SECONDS + 1,
              f"{m}: {with_warmd[m]} warmups with warmd, want {SECONDS}+/-1")
        check(per_process[m] >= (WORKERS - 2) * (SECONDS - 1),
              f"{m}: {per_process[m]} warmups from {WORKERS} per-process "
              f"warmers, about {WORKERS}x as many")
    check(all(r["inconsistent"] == 0 for r in res),
          "every record the workers copied was consistent")
    check(all(r["warm"] > 0 for r in res), "every worker saw its models warm")
    check(sum(r["own_warmups"] for r in own) == sum(per_process.values()),
          "the upstream counted every per-process warmup")


if __name__ == "__main__":
    main(test)
