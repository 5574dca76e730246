"""Fleet mode: one warmup per model per interval for a whole fleet.

4 warmd "hosts" on one machine (own shm, socket, state file, host_id) share
one real redis-server on loopback.  The upstream counts the warmups of the
fleet over a run, judged against the time that really passed (one per model
per interval, +/- 1 per model); the same 4 hosts without [fleet] are
counted the same way, and both are printed side by side.  Then: every
Redis key has a TTL (SCAN + PTTL), the other hosts show the models warm
with flag f, /metrics shows the fleet, and real traffic reported on one
host keeps every host from warming that model."""
import json
import subprocess
import time
import urllib.request

from fleetlib import (Redis, cleanup_shm, count, fleet_want, free_port, now,
                      start_host, stop_host, worker_sim, write_config)
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
    # A generous timeout: on a loaded machine (the ASan run) a claim
    # answered late is a local warmup, one more than the fleet needs.
    fleet = {"redis": f"redis://127.0.0.1:{r.port}/0", "name": "t1",
             "timeout": "1s"}

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
    skipped = sum(m.get("skipped_fleet", 0) for h in hosts
                  for m in json.loads(h.warmctl("stats", "--json")[1])
                  ["models"])
    check(skipped >= (HOSTS - 1) * len(MODELS),
          f"warmctl stats: {skipped} warmups skipped because the fleet had "
          f"one")
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
    # An operator's warm on a host whose fleet just warmed the model: sent
    # anyway (warmctl warm means now), and the result is the fleet's.
    before = count(stats(port), ["m1"])["m1"]
    rc, out = hosts[2].warmctl("warm", "m1")
    after = count(stats(port), ["m1"])["m1"]
    check(rc == 0 and "warmed" in out and after > before,
          f"warmctl warm on h2 sends a warmup despite the fleet ({out.strip()})")
    for h in hosts:
        stop_host(h)
    keys, no_ttl = r.keys_without_ttl()
    check(keys and not no_ttl,
          f"every key has a TTL ({len(keys)} keys, without: {no_ttl})")
    cleanup_shm(P, HOSTS)

    hosts, per_host, el2 = run_fleet(P, port, None)
    for h in hosts:
        stop_host(h)

    # ---- real traffic on one host holds the whole fleet --------------------
    # Workers on h0 report a real success every 200 ms for "busy": h0 skips
    # its warmups (as without a fleet), and so must h1..h3, through the
    # record's real-traffic time.  "idle" (no traffic) is the control.
    models = {m: {"interval": "1s", "jitter": "10%", "warm_ttl": "3s"}
              for m in ("busy", "idle")}
    hosts = [start_host(P, i, write_config(P, i, port, models, fleet))
             for i in range(HOSTS)]
    workers = [P.spawn([worker_sim(), "--shm", hosts[0].shm,
                        "--models", "busy", "--seconds", "7", "--report-ms",
                        "200"], stdout=subprocess.PIPE, text=True)]
    time.sleep(2)
    http(port, "/_reset", {})
    t0 = now()
    time.sleep(4)
    real = count(stats(port), ["busy", "idle"])
    el3 = now() - t0
    flags = [[m["flags"] for m in json.loads(h.warmctl("list", "--json")[1])
              ["models"] if m["name"] == "busy"][0] for h in hosts]
    for w in workers:
        w.communicate(timeout=30)
    for h in hosts:
        stop_host(h)
    cleanup_shm(P, HOSTS)
    check(real["busy"] <= 1,
          f"real traffic on h0 only: {real['busy']} warmups of busy in "
          f"{el3:.2f}s from the whole fleet")
    check(abs(real["idle"] - fleet_want(el3, INTERVAL, HOSTS)) <= 1,
          f"control: {real['idle']} warmups of idle in {el3:.2f}s")
    check(all(f for f in flags[1:]) and all("fleet" in f for f in flags[1:]),
          f"busy is flagged f on the other hosts ({flags})")

    want1 = fleet_want(el1, INTERVAL, HOSTS)
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
