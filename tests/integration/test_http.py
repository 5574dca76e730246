"""warmd's HTTP endpoint: /health/startup, /health/warmup following a
required model (503 until it is warm, 200 once it is, 503 again when it
fails), and /metrics parsed with prometheus_client's own text parser,
checked against what the test upstream counted."""
import json
import time
import urllib.error
import urllib.request

from harness import Procs, bound, check, main, stats, wait_for, free_port

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    raise SystemExit("FAIL: python3-prometheus-client is missing "
                     "(tools/deps.sh installs it)")

WEIRD = 'we"ird\\name'  # a quote and a backslash: label escaping


def get(port, path, method="GET"):
    """(status, headers, body) of one request; errors are answers too."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def warmup(port):
    st, _, body = get(port, "/health/warmup")
    return st, json.loads(body)


def fault(up, model, kind, arg=None):
    body = json.dumps({"model": model, "kind": kind, "arg": arg}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{up}/_fault", data=body,
                                 method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def metrics(port):
    """{(sample name, frozenset(labels)): value} and the families' types."""
    st, hdr, text = get(port, "/metrics")
    check(st == 200, "/metrics answers 200")
    check(hdr["Content-Type"].startswith("text/plain; version=0.0.4"),
          f"/metrics content type {hdr['Content-Type']}")
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def val(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def test():
    bound(120)
    with Procs() as P:
        _, up = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                           "--fault", "req=503:1")
        hp = free_port()
        models = {
            # required, failing until healed; fall = 2 so it fails fast
            "req": {"interval": "1s", "jitter": "0%", "fall": "2",
                    "required": "yes"},
            # quiet after its first warmup: exact counts
            "quiet": {"interval": "1h", "price_in": "2.5",
                      "price_out": "10"},
            WEIRD: {"id": "plain", "interval": "1h"},
        }
        cfg = P.config(up, models, warmd={"http_listen": f"127.0.0.1:{hp}"})
        P.warmd(cfg)
        wait_for(lambda: get_or_none(hp, "/health/startup") == 200, 10,
                 "/health/startup 200")
        check(True, "/health/startup: 200 once running")

        wait_for(lambda: stats(up)["models"].get("quiet", {}).get("requests")
                 and warmup(hp)[1]["models"]["quiet"]["warm"], 10,
                 "quiet to be warm")
        st, body = warmup(hp)
        print("warmup while req fails:", json.dumps(body))
        check(st == 503 and not body["ready"],
              "/health/warmup: 503 while the required model is not warm")
        r = body["models"]["req"]
        check(r["required"] and not r["warm"] and r["state"] != "warm",
              f"JSON names req as required, not warm ({r['state']})")
        check(body["models"]["quiet"]["state"] == "warm" and
              not body["models"]["quiet"]["required"],
              "JSON names quiet as warm, not required")

        fault(up, "req", "none")
        wait_for(lambda: warmup(hp)[0] == 200, 10, "/health/warmup 200")
        st, body = warmup(hp)
        check(st == 200 and body["ready"] and
              body["models"]["req"]["state"] == "warm",
              "/health/warmup: 200 once the required model is warm")

        # /metrics, against the upstream's counts.  warmd counts a result
        # after the upstream counted its request: read metrics first.
        m, types = metrics(hp)
        s = stats(up)["models"]
        q = s["quiet"]
        check(val(m, "warmd_warmups_total", model="quiet", result="ok") ==
              q["requests"] == 1, "quiet: 1 warmup ok, 1 request upstream")
        check(val(m, "warmd_tokens_total", model="quiet", type="input") ==
              q["prompt_tokens"] and
              val(m, "warmd_tokens_total", model="quiet", type="output") ==
              q["completion_tokens"],
              f"quiet: tokens in/out {q['prompt_tokens']}/"
              f"{q['completion_tokens']} as the upstream counted")
        cost = (q["prompt_tokens"] * 2.5 + q["completion_tokens"] * 10) / 1e6
        check(abs(val(m, "warmd_cost_usd_total", model="quiet") - cost) < 1e-9,
              f"quiet: cost ${cost:.6f} from the prices")
        check(val(m, "warmd_warmups_total", model=WEIRD, result="ok") ==
              s["plain"]["requests"] == 1,
              "a model named with a quote and a backslash: label escaped")
        ok = val(m, "warmd_warmups_total", model="req", result="ok")
        server = val(m, "warmd_warmups_total", model="req", result="server")
        st_counts = s["req"]["status_counts"]
        print(f"req: metrics ok={ok} server={server}; upstream "
              f"{s['req']['requests']} requests {st_counts}")
        check(server == st_counts.get("503", 0) and server >= 1,
              f"req: {server} warmups failed 'server' = the upstream's 503s")
        check(ok <= st_counts.get("200", 0) <= ok + 2,
              "req: ok warmups match the upstream's 200s (+ in flight)")
        for model in ("req", "quiet"):
            buckets = sorted(
                (float(dict(k[1])["le"]), v) for k, v in m.items()
                if k[0] == "warmd_warmup_latency_seconds_bucket" and
                dict(k[1])["model"] == model)
            counts = [v for _, v in buckets]
            total = sum(v for k, v in m.items()
                        if k[0] == "warmd_warmups_total" and
                        dict(k[1])["model"] == model)
            cnt = val(m, "warmd_warmup_latency_seconds_count", model=model)
            check(counts == sorted(counts) and buckets[-1][0] == float("inf")
                  and counts[-1] == cnt == total and
                  val(m, "warmd_warmup_latency_seconds_sum", model=model) > 0,
                  f"{model}: histogram cumulative, +Inf = _count = {cnt} "
                  "warmups")
        check(types["warmd_warmup_latency_seconds"] == "histogram" and
              types["warmd_warmups"] == "counter", "families typed")
        check(val(m, "warmd_model_warm", model="quiet") == 1 and
              0 < val(m, "warmd_seconds_until_cold", model="quiet") <= 300,
              "quiet: warm, seconds until cold within warm_ttl")
        check(0 <= val(m, "warmd_heartbeat_age_seconds") < 2,
              "heartbeat age under stale_after")
        check(val(m, "warmd_models") == 3 and
              val(m, "process_resident_memory_bytes") > 0, "process metrics")

        # Methods and paths.
        st, hdr, body = get(hp, "/metrics", "HEAD")
        check(st == 200 and body == "", "HEAD /metrics: 200, no body")
        st, hdr, _ = get(hp, "/health/warmup", "POST")
        check(st == 405 and "GET" in hdr.get("Allow", ""),
              "POST: 405 with Allow")
        check(get(hp, "/nope")[0] == 404, "unknown path: 404")

        # The required model fails: not ready any more.
        fault(up, "req", "500")
        wait_for(lambda: warmup(hp)[0] == 503, 15, "/health/warmup 503")
        st, body = warmup(hp)
        check(st == 503 and body["models"]["req"]["state"] == "failing",
              "/health/warmup: 503 once the required model is failing")


def get_or_none(port, path):
    try:
        return get(port, path)[0]
    except OSError:
        return None


if __name__ == "__main__":
    main(test)
