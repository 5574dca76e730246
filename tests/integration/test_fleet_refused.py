"""Fleet mode against a Redis that refuses, and what the fleet shares
besides warmups.  Each case with its expected count, state and message:

- wrong password (requirepass): degraded, "WRONGPASS" in status, per-host
  warming; the password is in no log, status or --check-config output;
- an ACL user without rights on the scripts: degraded, "NOPERM";
- a fake Redis on loopback answering garbage: degraded, per-host warming;
- warmd --check-config --online: connects, authenticates, prints the
  version, or says why not (exit 2);
- a Retry-After seen by one host holds the whole fleet;
- [fleet] budget = fleet: the daily budget counts the fleet's spend;
- fleet = auto keeps an endpoint on loopback per host."""
import json
import os
import subprocess
import time

from fleetlib import (Garbage, Redis, cleanup_shm, count, now, per_host_min,
                      start_host, stop_host, write_config)
from harness import Procs, binary, bound, check, http, main, stats, wait_for

HOSTS = 3
SECRET = "s3cret-fleet-pw"
MODELS = {"m": {"interval": "1s", "jitter": "10%", "warm_ttl": "3s"}}


def status(h):
    rc, out = h.warmctl("status", "--json")
    return json.loads(out)["fleet"] if rc == 0 else {"state": out}


def per_host_run(P, port, fleet, env, what, message):
    """HOSTS hosts against a refusing Redis: degraded with `message`,
    warming per host.  Returns their logs and status texts (to look for
    the password)."""
    hosts = [start_host(P, i, write_config(P, i, port, MODELS, fleet), env=env)
             for i in range(HOSTS)]
    wait_for(lambda: all(status(h)["state"] == "degraded" for h in hosts), 5,
             f"{what}: every host degraded")
    time.sleep(1)
    http(port, "/_reset", {})
    t0 = now()
    time.sleep(4)
    c = count(stats(port), ["m"])["m"]
    el = now() - t0
    st = status(hosts[0])
    check(st["state"] == "degraded" and message in st["error"],
          f"{what}: degraded, error {st['error']!r}")
    check(c >= per_host_min(el, 1.0, HOSTS),
          f"{what}: {c} warmups in {el:.2f}s, per host (at least "
          f"{per_host_min(el, 1.0, HOSTS)})")
    texts = [h.warmctl("status")[1] + h.warmctl("status", "--json")[1]
             for h in hosts]
    for h in hosts:
        stop_host(h)
    texts += [h.logtext() for h in hosts]
    cleanup_shm(P, HOSTS)
    for i in range(HOSTS):
        os.unlink(P.path(f"h{i}.log"))
    return texts


def check_config(P, cfg, env):
    r = subprocess.run([binary("tools/warmd/warmd"), "--check-config",
                        "--online", "-c", cfg], capture_output=True,
                       text=True, timeout=30, env=env)
    return r.returncode, r.stdout + r.stderr


def test():
    bound(170)
    with Procs() as P:
        try:
            body(P)
        finally:
            cleanup_shm(P, HOSTS)


def body(P):
    _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                         "--models", "m,ra,b")
    r = Redis(P, password=SECRET)
    url = f"redis://127.0.0.1:{r.port}/0"
    good = dict(os.environ, REDIS_PW=SECRET)
    bad = dict(os.environ, REDIS_PW="not-the-password")
    fleet = {"redis": url, "name": "ref", "password_env": "REDIS_PW"}

    # ---- --check-config --online ---------------------------------------------
    cfg = write_config(P, 0, port, MODELS, fleet)
    rc, out = check_config(P, cfg, good)
    check(rc == 0 and "fleet ref: redis " + url + ": ok, Redis 7" in out,
          f"--check-config --online: exit {rc}, {out.strip()!r}")
    rc, out = check_config(P, cfg, bad)
    check(rc == 2 and "WRONGPASS" in out and SECRET not in out,
          f"--check-config --online, wrong password: exit {rc}, "
          f"{out.strip().splitlines()[-1]!r}")

    # ---- wrong password ------------------------------------------------------
    texts = per_host_run(P, port, fleet, bad, "wrong password", "WRONGPASS")
    check(not any("not-the-password" in t or SECRET in t for t in texts),
          "no password in any log or status output")

    # ---- an ACL user without rights ---------------------------------------------
    acl = Redis(P)  # a server of its own, with an ACL user
    acl.cmd("ACL", "SETUSER", "weak", "on", ">weakpw", "~*", "-@all", "+auth",
            "+hello", "+ping", "+select", "+info")
    texts = per_host_run(P, port, {"redis": f"redis://weak@127.0.0.1:"
                                   f"{acl.port}/0", "name": "ref",
                                   "password_env": "REDIS_PW"},
                         dict(os.environ, REDIS_PW="weakpw"),
                         "ACL user without rights", "NOPERM")
    check(not any("weakpw" in t for t in texts), "no ACL password in output")

    # ---- a fake Redis answering garbage -------------------------------------------
    g = Garbage()
    try:
        per_host_run(P, port, {"redis": f"redis://127.0.0.1:{g.port}/0",
                               "name": "ref"}, None, "garbage server", "")
        check(g.conns >= HOSTS, f"the garbage server saw {g.conns} "
              f"connections (hosts retried)")
    finally:
        g.close()

    # ---- Retry-After holds the fleet -------------------------------------------------
    sock = P.path("redis.sock")
    plain = Redis(P, "--unixsocket", sock, "--unixsocketperm", "700")
    rc, out = check_config(P, write_config(
        P, 0, port, MODELS, {"redis": f"unix:{sock}?db=2", "name": "u"}),
        None)
    check(rc == 0 and f"redis unix:{sock}?db=2: ok, Redis 7" in out,
          f"--check-config --online through a Unix socket: "
          f"{out.strip().splitlines()[-1]!r}")
    fleet = {"redis": f"redis://127.0.0.1:{plain.port}/0", "name": "ra"}
    models = {"ra": {"interval": "1s", "jitter": "10%", "warm_ttl": "3s"}}
    http(port, "/_fault", {"model": "ra", "kind": "429", "arg": 3})
    http(port, "/_reset", {})
    t0 = now()
    hosts = [start_host(P, i, write_config(P, i, port, models, fleet))
             for i in range(HOSTS)]
    time.sleep(7)
    c = count(stats(port), ["ra"])["ra"]
    el = now() - t0
    flags = [json.loads(h.warmctl("list", "--json")[1])["models"][0]["flags"]
             for h in hosts]
    for h in hosts:
        stop_host(h)
    cleanup_shm(P, HOSTS)
    http(port, "/_fault", {"model": "ra", "kind": "none"})
    want = el / 3 + 1
    check(c <= want + 1,
          f"Retry-After 3s: {c} warmups in {el:.1f}s for the fleet (at most "
          f"{want:.1f}; per host it would be {HOSTS * want:.0f})")
    check(all("throttled" in f for f in flags),
          f"every host shows the model throttled ({flags})")

    # ---- budget = fleet -------------------------------------------------------------
    # $1 a warmup (1 output token at $1M per million), $3 a day for the fleet.
    fleet = {"redis": f"redis://127.0.0.1:{plain.port}/0", "name": "bud",
             "budget": "fleet"}
    models = {"b": {"interval": "500ms", "jitter": "10%", "warm_ttl": "3s",
                    "price_out": "1000000"}}
    http(port, "/_reset", {})
    hosts = [start_host(P, i, write_config(P, i, port, models, fleet,
                                           warmd={"budget_per_day": "3"}))
             for i in range(HOSTS)]
    time.sleep(5)
    c = count(stats(port), ["b"])["b"]
    spent = float(plain.cmd("GET", "warmth:{bud}:v1:budget:%d"
                            % (int(plain.cmd("TIME")[0]) // 86400)) or 0)
    for h in hosts:
        stop_host(h)
    check(3 <= c <= 3 + HOSTS - 1,
          f"budget = fleet: {c} warmups at $1 for a $3 fleet budget (per "
          f"host it would be {3 * HOSTS}); Redis counted ${spent:g}")
    cleanup_shm(P, HOSTS)

    # ---- fleet = auto: a loopback endpoint stays per host -------------------
    # (a local llama.cpp or Ollama is warm per host), even with [fleet] ok.
    fleet = {"redis": f"redis://127.0.0.1:{plain.port}/0", "name": "auto"}
    hosts = [start_host(P, i, write_config(P, i, port, MODELS, fleet,
                                           endpoint={"fleet": "auto"}))
             for i in range(HOSTS)]
    wait_for(lambda: all(status(h)["state"] == "ok" for h in hosts), 10,
             "fleet = auto: every host in fleet mode")
    time.sleep(1)
    http(port, "/_reset", {})
    t0 = now()
    time.sleep(4)
    c = count(stats(port), ["m"])["m"]
    el = now() - t0
    for h in hosts:
        stop_host(h)
    check(c >= per_host_min(el, 1.0, HOSTS),
          f"fleet = auto, base_url on 127.0.0.1: {c} warmups in {el:.2f}s, "
          f"per host (at least {per_host_min(el, 1.0, HOSTS)})")
    check(not plain.cmd("KEYS", "warmth:{auto:*"),
          "fleet = auto, loopback: no model keys in Redis")
    for srv in (plain, acl):
        keys, no_ttl = srv.keys_without_ttl()
        check(not no_ttl, f"every key has a TTL ({len(keys)} keys)")


if __name__ == "__main__":
    main(test)
