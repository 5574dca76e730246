"""Local model servers (issue 10): Ollama's load probe and max_loaded, and
vLLM's sleep mode, against the test upstream's Ollama and vLLM endpoints.

- Ollama, probe = load: the model stays loaded, warmd's warm_until follows
  /api/ps expires_at, the load costs no tokens; after an idle spell longer
  than the server's keep_alive a client request to the warmed model is
  fast, and to a model nobody warms slow (the load delay is 40x the warm
  latency, judged with a margin of 4x either way).
- Ollama, a client's longer keep_alive: no load cuts it short; warm for
  as long as /api/ps says.
- Ollama, max_loaded: while a client holds two models loaded, warmups of two
  more never make the server hold more than max_loaded = 3 models, and never
  push a model out (the upstream counts evictions caused by load-only
  requests).
- vLLM: /sleep makes the model `sleeping` and no warmup reaches the upstream
  while it sleeps (the upstream counts inference requests refused asleep,
  and chat requests per model); /wake_up makes it warm again.
"""
import calendar
import json
import re
import signal
import time
import urllib.request

from harness import Procs, bound, check, http, main, stats, wait_for

LOAD_MS, WARM_MS = 800, 20
KEEP = 2  # the server's default keep_alive, s: its idle unload


def show(P, model):
    rc, out = P.warmctl("show", model, "--json")
    return json.loads(out[out.index("{"):])


def warm_for_ms(P, model):
    rc, out = P.warmctl("check", model, "--json")
    j = json.loads(out[out.index("{"):])
    for v in (j.get("models") or j).values():
        if isinstance(v, dict) and "warm_for_ms" in v:
            return v["warm_for_ms"] if v.get("warm") else None
    raise AssertionError(f"warmctl check --json: {out!r}")


def generate_ms(port, model, keep_alive=None):
    body = {"model": model, "prompt": "a real question", "stream": False}
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/generate",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    t = time.monotonic()
    with urllib.request.urlopen(req, timeout=10) as r:
        j = json.loads(r.read())
    if j.get("done") is not True:
        raise AssertionError(f"{model}: client generate answered {j!r}")
    return (time.monotonic() - t) * 1000


def unix_of(rfc3339):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", rfc3339)
    return (calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
            + float(m.group(2) or 0))


def ollama_config(P, port, models, max_loaded=0):
    return P.config(port, models, endpoint={
        "kind": "ollama", "base_url": f"http://127.0.0.1:{port}",
        "max_loaded": str(max_loaded)})


def test_load_probe():
    with Procs() as P:
        _, port = P.upstream("--cold-ms", str(LOAD_MS), "--warm-ms",
                             str(WARM_MS), "--keep-alive", f"{KEEP}s",
                             "--max-loaded", "4")
        P.warmd(ollama_config(P, port, {
            "kept": {"probe": "load", "interval": "500ms",
                     "keep_alive": "3s"}}))
        wait_for(lambda: P.warmctl("check", "kept")[0] == 0, 10,
                 "kept to be warm")
        # The client loads a model nobody warms, then everyone stays away.
        generate_ms(port, "unwarmed")
        time.sleep(KEEP + 1.5)
        ps = http(port, "/api/ps")["models"]
        names = [m["name"] for m in ps]
        check("kept" in names and "unwarmed" not in names,
              f"after {KEEP + 1.5:g} s idle the server holds {names}: the "
              "warmed model only")
        # warm_until follows /api/ps: both say when the model unloads, up
        # to one interval (a load in between) and the time that really
        # passed between the two reads (warmctl is slow on a busy machine).
        exp = unix_of(next(m for m in ps if m["name"] == "kept")["expires_at"])
        t_ps = time.time()
        ps_left = (exp - t_ps) * 1000
        wd_left = warm_for_ms(P, "kept")
        gap = (time.time() - t_ps) * 1000
        check(wd_left is not None and abs(wd_left - ps_left) < 800 + gap,
              f"warmd's warm_for ({wd_left} ms) follows /api/ps expires_at "
              f"({ps_left:.0f} ms, read {gap:.0f} ms before); keep_alive "
              f"3 s, interval 500 ms")
        check(show(P, "kept").get("state") == "warm", "state warm")
        o = http(port, "/_ollama")
        s = stats(port)["models"]["kept"]
        check(o["load_only"] >= 3 and s["completion_tokens"] == 0,
              f"{o['load_only']} load-only requests, 0 tokens generated "
              "for the warmed model")
        warm_ms = generate_ms(port, "kept")
        cold_ms = generate_ms(port, "unwarmed")
    print(f"first request after the idle spell: warmed {warm_ms:.0f} ms, "
          f"unwarmed {cold_ms:.0f} ms (load {LOAD_MS} ms, warm {WARM_MS} ms)")
    check(warm_ms < LOAD_MS / 4, f"warmed model fast ({warm_ms:.0f} ms)")
    check(cold_ms >= LOAD_MS, f"unwarmed model slow ({cold_ms:.0f} ms)")


def test_max_loaded():
    with Procs() as P:
        _, port = P.upstream("--cold-ms", "300", "--warm-ms", "5",
                             "--keep-alive", "60s", "--max-loaded", "3")
        # The client holds two models loaded before warmd starts ...
        generate_ms(port, "client-a", "60s")
        generate_ms(port, "client-b", "60s")
        P.warmd(ollama_config(P, port, {
            "w1": {"probe": "load", "interval": "300ms", "keep_alive": "10s"},
            "w2": {"probe": "load", "interval": "300ms", "keep_alive": "10s"}},
            max_loaded=3))
        t0 = time.monotonic()
        wait_for(lambda: (P.warmctl("check", "w1")[0] == 0 or
                          P.warmctl("check", "w2")[0] == 0), 10,
                 "one of w1, w2 to be warm")
        # ... and keeps using them while warmd goes on for 3 s.
        end = time.monotonic() + 3
        while time.monotonic() < end:
            generate_ms(port, "client-a", "60s")
            generate_ms(port, "client-b", "60s")
            time.sleep(0.2)
        span = time.monotonic() - t0
        o = http(port, "/_ollama")
        warm = [m for m in ("w1", "w2") if P.warmctl("check", m)[0] == 0]
        names = [m["name"] for m in http(port, "/api/ps")["models"]]
    print(f"over {span:.1f} s: {o['load_only']} load-only requests, "
          f"{o['evictions']} evictions, peak {o['peak_loaded']} loaded")
    check(o["load_only"] >= 3, f"warmd kept sending load probes "
          f"({o['load_only']} in {span:.1f} s)")
    check(o["evictions_by_load_only"] == 0 and o["evictions"] == 0,
          "no warmup pushed a model out")
    check(o["peak_loaded"] <= 3, f"never more than 3 loaded "
          f"(peak {o['peak_loaded']})")
    check("client-a" in names and "client-b" in names,
          f"the client's models are still loaded ({names})")
    check(len(warm) == 1, f"exactly one of w1, w2 warm ({warm}): the other "
          "had no room")


def test_client_keep_alive():
    """A client loaded the model for 60 s; warmd's keep_alive is 3 s.  A
    load would cut the client's 60 s down to 3 s (Ollama sets expires_at
    anew at every request): warmd sends none and calls it warm for the
    client's 60 s, as /api/ps says."""
    with Procs() as P:
        _, port = P.upstream("--cold-ms", "300", "--warm-ms", "5",
                             "--keep-alive", f"{KEEP}s")
        generate_ms(port, "long", "60s")
        wd = P.warmd(ollama_config(P, port, {
            "long": {"probe": "load", "interval": "300ms",
                     "keep_alive": "3s"}}))
        wait_for(lambda: P.warmctl("check", "long")[0] == 0, 10,
                 "long to be warm")
        t0 = time.monotonic()
        time.sleep(1.5)
        o = http(port, "/_ollama")
        left = warm_for_ms(P, "long")
        ps = http(port, "/api/ps")["models"]
        span = time.monotonic() - t0
        # A new keep_alive, then a new max_loaded, count as changed on
        # reload (the next load sends them).
        for n, ka, ml in ((1, "4s", 0), (2, "4s", 2)):
            ollama_config(P, port, {"long": {
                "probe": "load", "interval": "300ms", "keep_alive": ka}},
                max_loaded=ml)
            wd.send_signal(signal.SIGHUP)
            wait_for(lambda: P.log("warmd.log").count(
                "0 added, 0 removed, 1 changed, 0 kept") == n, 10,
                f"reload {n} to count the model as changed")
    check(o["load_only"] == 0, f"no load sent in {span:.1f} s "
          f"({o['load_only']} load-only requests)")
    check(o["ps"] >= 3, f"warmd kept reading /api/ps ({o['ps']})")
    exp = unix_of(ps[0]["expires_at"]) - time.time()
    check(left is not None and left > 50000 and exp > 50,
          f"warm for the client's keep_alive: warmd {left} ms, /api/ps "
          f"{exp:.0f} s")


def chat_count(port, model):
    return stats(port).get("models", {}).get(model, {}).get("chat", 0)


def test_vllm_sleep():
    with Procs() as P:
        _, port = P.upstream("--cold-ms", "200", "--warm-ms", "5")
        P.warmd(P.config(port, {"v": {"probe": "chat",
                                      "interval": "300ms"}},
                         endpoint={"kind": "vllm"}))
        wait_for(lambda: P.warmctl("check", "v")[0] == 0, 10, "v to be warm")
        http(port, "/sleep", {})
        wait_for(lambda: show(P, "v").get("state") == "sleeping", 10,
                 "state sleeping")
        check(P.warmctl("check", "v")[0] != 0, "a sleeping model is not warm")
        before, checks0 = chat_count(port, "v"), http(port, "/_vllm")
        t0 = time.monotonic()
        time.sleep(2)
        v = http(port, "/_vllm")
        span = time.monotonic() - t0
        after = chat_count(port, "v")
        check(after == before, f"no chat reached the upstream in {span:.1f} s "
              f"asleep ({after - before})")
        check(v["refused_while_sleeping"] == checks0["refused_while_sleeping"]
              and v["refused_while_sleeping"] <= 1,
              f"inference refused while asleep: "
              f"{v['refused_while_sleeping']} (at most 1, a warmup already "
              "past its check when the engine fell asleep)")
        check(v["is_sleeping_checks"] > checks0["is_sleeping_checks"],
              "warmd kept asking /is_sleeping")
        check(show(P, "v").get("state") == "sleeping", "still sleeping")
        log = P.log("warmd.log")
        check("model v: warm -> sleeping" in log and
              "warmup failed" not in log,
              "the log says sleeping once, and no warmup failed")
        http(port, "/wake_up", {})
        wait_for(lambda: P.warmctl("check", "v")[0] == 0, 10,
                 "v to be warm again after /wake_up")
        check(chat_count(port, "v") > after, "warmups again once awake")


def test():
    bound(90)
    test_load_probe()
    test_max_loaded()
    test_client_keep_alive()
    test_vllm_sleep()


if __name__ == "__main__":
    main(test)
