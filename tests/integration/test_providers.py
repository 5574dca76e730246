"""One adapter per provider: warmd against the test upstream speaking Azure
OpenAI, Gemini, OpenAI with reasoning and Anthropic with a cached prefix.

The upstream requires the key, and only in each protocol's own header
(api-key, x-goog-api-key, Authorization: Bearer, x-api-key): a warmup that
succeeds proves the adapter sent it right; the upstream's per-protocol
counts ("via") prove the paths.  Then the cost warmd reports (reasoning
tokens priced as output, cache writes at price_cache_write) must equal the
cost computed here from the upstream's own token counts, and the reasoning
and cache-write counts must match too.  A missing model is error class
model; a max_tokens too small for a reasoning model says which key to
raise; a wrong key on an azure endpoint is class auth.
"""
import json
import os
import signal
import subprocess
import time
import urllib.request

from harness import (Procs, binary, free_port, bound, check, main, stats, wait_for)

KEY = "sk-prov-0123456789abcdef"
PRICES = {  # model: (price_in, price_out, price_cached, price_cache_write)
    "az-dep": (1.0, 2.0, 0.5, 1.25),
    "gem-1": (0.3, 2.5, 0.075, 0.375),
    "gem-nothink": (0.3, 2.5, 0.3, 0.375),
    "o-reason": (2.0, 8.0, 0.5, 2.5),
    "claude-p": (3.0, 15.0, 0.3, 3.75),  # price_cache_write: the default
}
GOOD = list(PRICES)
ALL = GOOD + ["o-small", "gem-nope", "az-badkey", "o-absurd"]


def config(P, port, http_port):
    base = f"http://127.0.0.1:{port}"
    with open(P.path("prefix.txt"), "w") as f:
        f.write("You are a terse assistant who answers in one word. " * 8)
    text = f"""[warmd]
shm = {P.shm}
tick = 20ms
stale_after = 2s
http_listen = 127.0.0.1:{http_port}
control_socket = {P.path("warmd.sock")}

[endpoint az]
kind = azure
base_url = {base}/openai
api_version = 2024-10-21
api_key_env = WT_PROV_KEY
header = X-Title: warmth-it
timeout = 2s

[endpoint azbad]
kind = azure
base_url = {base}/openai
api_version = 2024-10-21
api_key_env = WT_PROV_BAD
timeout = 2s

[endpoint gm]
kind = gemini
base_url = {base}/v1beta
api_key_env = WT_PROV_KEY
timeout = 2s

[endpoint oa]
kind = openai
base_url = {base}/v1
api_key_env = WT_PROV_KEY
timeout = 2s

[endpoint an]
kind = anthropic
base_url = {base}/v1
api_key_env = WT_PROV_KEY
timeout = 2s

[model az-dep]
endpoint = az
reasoning_effort = low
max_tokens = 64
max_tokens_param = max_completion_tokens
price_in = 1
price_out = 2
price_cached = 0.5

[model az-badkey]
endpoint = azbad

[model gem-1]
endpoint = gm
probe_prefix_file = prefix.txt
price_in = 0.3
price_out = 2.5
price_cached = 0.075

[model gem-nothink]
endpoint = gm
thinking = off
price_in = 0.3
price_out = 2.5

[model gem-nope]
endpoint = gm

[model o-reason]
endpoint = oa
reasoning_effort = medium
max_tokens = 64
price_in = 2
price_out = 8
price_cached = 0.5

[model o-small]
endpoint = oa
reasoning_effort = high
max_tokens = 3

[model o-absurd]
endpoint = oa
price_in = 10
price_out = 10

[model claude-p]
endpoint = an
probe_prefix_file = prefix.txt
price_in = 3
price_out = 15
price_cached = 0.3
"""
    common = "interval = 1s\njitter = 0%\nwarm_ttl = 5s\n"
    text = text.replace("endpoint = ", common + "endpoint = ")
    path = P.path("warmd.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def ctl(P, *args):
    r = subprocess.run([binary("tools/warmctl/warmctl"), "--shm", P.shm,
                        "--socket", P.path("warmd.sock"), *args],
                       capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout, r.stderr


def jctl(P, *args):
    rc, out, err = ctl(P, *args, "--json")
    if rc not in (0, 1):
        raise AssertionError(f"warmctl {args} exited {rc}: {out} {err}")
    return json.loads(out)


def test():
    bound(240)
    with Procs() as P:
        up, port = P.upstream("--require-key", KEY, "--cold-ms", "0",
                              "--warm-ms", "0", "--verbose",
                              "--fault", "o-absurd=absurd", "--models",
                              ",".join(m for m in ALL if m != "gem-nope"))
        hp = free_port()
        cfg = config(P, port, hp)
        env = dict(os.environ, WT_PROV_KEY=KEY, WT_PROV_BAD="sk-wrong-key-000")

        # --check-config --online lists each endpoint's models its own way.
        r = subprocess.run([binary("tools/warmd/warmd"), "--check-config",
                            "--online", "-c", cfg], capture_output=True,
                           text=True, timeout=60, env=env)
        out = r.stdout + r.stderr
        print(out)
        check(r.returncode != 0 and "online check: problems found" in out,
              "online check: problems found (a wrong key, a missing model)")
        check("endpoint azbad: the provider refused the key (HTTP 401)" in out,
              "online: azure with a wrong key refused")
        check("endpoint az: kind = azure lists no deployments" in out,
              "online: azure deployments are not looked up in its model list")
        check("model gem-nope: endpoint gm has no model 'gem-nope'" in out
              and "model gem-1:" not in out,
              "online: gemini's list (models/ID) read as ids")
        check(KEY not in out, "online: no key in the output")

        wd_proc = P.warmd(cfg, env=env)

        def by_model():
            return {r["model"]: r for r in jctl(P, "cost")["models"]}

        # Three successful warmups each: the first writes the prefixes to
        # the cache, the later ones read them.
        wait_for(lambda: all(by_model()[m]["warmups"] >= 3 for m in GOOD), 40,
                 "3 warmups of every provider's model")
        # Freeze: pause every model, then wait until nothing moves (a warmup
        # in flight when paused still lands in both counts).
        for m in ALL:
            ctl(P, "pause", m)
        last = None
        end = time.time() + 20
        while time.time() < end:
            now = (json.dumps(stats(port)["models"], sort_keys=True),
                   json.dumps(jctl(P, "stats")["models"], sort_keys=True))
            if now == last:
                break
            last = now
            time.sleep(1.0)
        check(last is not None and now == last, "counts settle after pause")

        up_m = stats(port)["models"]
        rows = by_model()
        wd = {r["model"]: r for r in jctl(P, "stats")["models"]}
        print(json.dumps({m: up_m.get(m) for m in GOOD}, indent=1))

        # Paths and headers: every warmup reached the upstream by its own
        # protocol, and the key was accepted in that protocol's header.
        check(up_m["az-dep"]["via"]["azure"] == up_m["az-dep"]["requests"] > 0,
              "azure warmups took /openai/deployments/az-dep/chat/completions")
        for m in ("gem-1", "gem-nothink"):
            check(up_m[m]["via"]["gemini"] == up_m[m]["requests"] > 0,
                  f"{m}: gemini warmups took /v1beta/models/{m}:generateContent")
        for m in ("o-reason", "claude-p"):
            check(up_m[m]["via"]["native"] == up_m[m]["requests"] > 0,
                  f"{m}: native OpenAI / Anthropic paths")
        for m in GOOD:
            check(up_m[m]["status_counts"] == {"200": up_m[m]["requests"]},
                  f"{m}: every request answered 200 (key in the right header)")
            check(rows[m]["warmups"] == up_m[m]["requests"],
                  f"{m}: warmd counted {rows[m]['warmups']} warmups, the "
                  f"upstream {up_m[m]['requests']}")

        # Tokens: warmd's counts are the upstream's.
        for m in GOOD:
            u, r, w = up_m[m], rows[m], wd[m]
            check((r["tokens_in"], r["tokens_out"], r["tokens_cached"]) ==
                  (u["prompt_tokens"], u["completion_tokens"],
                   u["cached_tokens"]),
                  f"{m}: tokens in/out/cached {r['tokens_in']}/"
                  f"{r['tokens_out']}/{r['tokens_cached']} = upstream's")
            check(w["tokens_reasoning"] == u["reasoning_tokens"] ==
                  r["tokens_reasoning"],
                  f"{m}: reasoning tokens {w['tokens_reasoning']} = "
                  f"upstream's {u['reasoning_tokens']}")
            check(w["tokens_cache_write"] == u["cache_write_tokens"],
                  f"{m}: cache-write tokens {w['tokens_cache_write']} = "
                  f"upstream's {u['cache_write_tokens']}")
        check(up_m["az-dep"]["reasoning_tokens"] > 0 and
              up_m["o-reason"]["reasoning_tokens"] > 0 and
              up_m["gem-1"]["reasoning_tokens"] > 0,
              "reasoning tokens came from azure, openai and gemini")
        check(up_m["gem-nothink"]["reasoning_tokens"] == 0,
              "thinking = off: no thoughts on gemini")
        check(up_m["claude-p"]["cache_write_tokens"] > 0 and
              up_m["claude-p"]["cached_tokens"] > 0,
              "anthropic wrote the prefix to the cache, then read it")
        check(up_m["gem-1"]["cached_tokens"] > 0,
              "gemini's cachedContentTokenCount counted")

        # Cost from the upstream's own counts.
        total = 0
        for m in GOOD:
            pin, pout, pcached, pcw = PRICES[m]
            u = up_m[m]
            fresh = (u["prompt_tokens"] - u["cached_tokens"] -
                     u["cache_write_tokens"])
            want = (fresh * pin + u["cached_tokens"] * pcached +
                    u["cache_write_tokens"] * pcw +
                    u["completion_tokens"] * pout) * 1000
            got = rows[m]["cost_nusd"]
            # warmd rounds each warmup's cost to a nano-USD
            check(abs(got - want) <= rows[m]["warmups"],
                  f"{m}: cost {got} nUSD = upstream's tokens x prices "
                  f"({want:.0f})")
            total += got
        check(jctl(P, "cost")["total"]["tokens_reasoning"] ==
              sum(up_m[m]["reasoning_tokens"] for m in GOOD),
              "warmctl cost's total reasoning tokens")
        rc, text, _ = ctl(P, "cost")
        check("REASONING" in text and "CACHE WRITE" in text,
              "warmctl cost shows reasoning and cache-write columns")
        with urllib.request.urlopen(f"http://127.0.0.1:{hp}/metrics",
                                    timeout=10) as r:
            metrics = r.read().decode()
        for m in GOOD:
            for fam, key in (("warmd_reasoning_tokens_total",
                              "reasoning_tokens"),
                             ("warmd_cache_write_tokens_total",
                              "cache_write_tokens")):
                line = f'{fam}{{model="{m}"}} {up_m[m][key]}'
                check(line in metrics, f"/metrics: {line}")

        # The failures, each of its class.
        show = {m: jctl(P, "show", m) for m in ("o-small", "gem-nope",
                                                 "az-badkey")}
        check(show["gem-nope"]["error_class"] == "model",
              f"a model gemini does not have: class "
              f"{show['gem-nope']['error_class']}")
        check(show["az-badkey"]["error_class"] == "auth",
              f"a wrong key on azure: class {show['az-badkey']['error_class']}")
        check(show["o-small"]["error_class"] == "http",
              f"max_tokens too small: class {show['o-small']['error_class']}")
        # Issue 12: a relay that bills 1e30 tokens costs nothing.
        ab = jctl(P, "show", "o-absurd")
        check(ab["error_class"] == "body" and ab["cost_nusd"] == 0 and
              ab["tokens_in"] == 0 and up_m["o-absurd"]["requests"] > 0,
              f"absurd usage: class {ab['error_class']}, cost "
              f"{ab['cost_nusd']} nUSD after "
              f"{up_m['o-absurd']['requests']} replies")
        log = P.log("warmd.log")
        check("raise max_tokens in warmd.conf" in log,
              "the reasoning model's 400 names the key to raise")
        check("usage impossible" in log, "the absurd bill is logged as such")
        check(KEY not in log and "sk-wrong-key-000" not in log,
              "no key in warmd's log")

        # A reload that changes only provider keys (a header, an effort)
        # counts those models as changed (a new header may fix a refused
        # key), the rest as kept.
        with open(cfg) as f:
            text = f.read()
        text = text.replace("header = X-Title: warmth-it",
                            "header = X-Title: warmth-it-2")
        text = text.replace("reasoning_effort = medium",
                            "reasoning_effort = high")
        with open(cfg, "w") as f:
            f.write(text)
        wd_proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in P.log("warmd.log"), 10, "the reload")
        check("0 added, 0 removed, 2 changed, 7 kept" in P.log("warmd.log"),
              "reload: header and reasoning_effort changes count as changed")


if __name__ == "__main__":
    main(test)
