"""Fleet mode: one warmup per model per interval for a whole fleet.

4 warmd "hosts" on one machine (own shm, socket, state file, host_id) share
one real redis-server on loopback.  The upstream counts the warmups of the
fleet over a run, judged against the time that really passed (one per model
per interval, +/- 1 per model); the same 4 hosts without [fleet] are
counted the same way, and both are printed side by side.  Then: every
Redis key has a TTL (SCAN + PTTL), the other hosts show the models warm
with flag f, and a Retry-After seen by one host holds the whole fleet."""
import json
import time

import urllib.request

from fleetlib import (Redis, cleanup_shm, count, free_port, now, start_host,
                      stop_host, write_config)
from harness import Procs, bound, check, http, main, stats, wait_for

HOSTS = 4
MODELS = ["m1", "m2", "m3"]
INTERVAL = 1.0
RUN = 8.0


def run_fleet(P, port, fleet):
    """Starts HOSTS hosts, lets them settle, counts RUN seconds of
    warmups at the upstream; returns (counts, seconds really measured)."""
    models = {m: {"interval": "1s", "jitter": "10%", "warm_ttl": "3s"}
              for m in MODELS}
    metrics = free_port()
    hosts = [start_host(P, i, write_config(
        P, i, port, models, fleet,
        warmd={"http_listen": f"127.0.0.1:{metrics}"} if i == 0 else None))
        for i in range(HOSTS)]
    hosts[0].metrics = metrics
    time.sleep(1.5)  # the first round, with its lease contention
    http(port, "/_reset", {})
    t0 = now()
    time.sleep(RUN)
    c = count(stats(port), MODELS)
    elapsed = now() - t0
    return hosts, c, elapsed


def test():
    bound(150)
    with Procs() as P:
        try:
            body(P)
        finally:
            cleanup_shm(P, HOSTS)


def body(P):
    r = Redis(P)
    _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
    fleet = {"redis": f"redis://127.0.0.1:{r.port}/0", "name": "t1"}

    hosts, with_fleet, el1 = run_fleet(P, port, fleet)
    # Other hosts publish the fleet's warmups as their own: warm, flag f.
    flagged = 0
    for h in hosts:
        rc, out = h.warmctl("list", "--json")
        for m in json.loads(out)["models"]:
            check(m["state"] == "warm", f"h{h.i}: {m['name']} is warm")
            flagged += "fleet" in m["flags"]
    check(flagged >= (HOSTS - 1) * len(MODELS) - 2,
          f"{flagged} of {HOSTS * len(MODELS)} host records carry flag f "
          f"(warmed by another host)")
    rc, out = hosts[0].warmctl("status")
    check("fleet t1 via redis://127.0.0.1:" in out and ": ok," in out,
          f"warmctl status shows the fleet ok: "
          f"{[l for l in out.splitlines() if l.startswith('fleet')]}")
    with urllib.request.urlopen(
            f"http://127.0.0.1:{hosts[0].metrics}/metrics", timeout=10) as u:
        text = u.read().decode()
    metric = {l.split(" ")[0]: float(l.split(" ")[1])
              for l in text.splitlines() if l.startswith("warmd_fleet")}
    check(metric.get('warmd_fleet_state{fleet="t1",state="ok"}') == 1,
          "/metrics: warmd_fleet_state ok")
    won = sum(metric.get(f"warmd_fleet_{k}_total", 0)
              for k in ("leases_won", "leases_lost", "skipped"))
    check(won > 0 and metric.get("warmd_fleet_redis_seconds_count", 0) > 0,
          f"/metrics: leases won/lost, skipped, Redis round trips "
          f"({ {k: v for k, v in metric.items() if k.endswith('_total')} })")
    for h in hosts:
        stop_host(h)
    keys, no_ttl = r.keys_without_ttl()
    check(keys and not no_ttl,
          f"every key has a TTL ({len(keys)} keys, without: {no_ttl})")
    cleanup_shm(P, HOSTS)

    hosts, per_host, el2 = run_fleet(P, port, None)
    for h in hosts:
        stop_host(h)

    want1 = el1 / INTERVAL
    want2 = HOSTS * el2 / INTERVAL
    print(f"{HOSTS} hosts, {len(MODELS)} models at {INTERVAL:g}s")
    print(f"{'model':6} {'fleet':>6} {'want':>6} {'per-host':>9} {'want':>6}")
    for m in MODELS:
        print(f"{m:6} {with_fleet[m]:6d} {want1:6.1f} {per_host[m]:9d} "
              f"{want2:6.1f}")
    for m in MODELS:
        check(abs(with_fleet[m] - want1) <= 1,
              f"{m}: {with_fleet[m]} warmups for the fleet in {el1:.2f}s, "
              f"want {want1:.1f} +/- 1")
        check(per_host[m] >= 0.8 * want2,
              f"{m}: {per_host[m]} warmups without [fleet] in {el2:.2f}s, "
              f"about {HOSTS}x ({want2:.1f})")


if __name__ == "__main__":
    main(test)
