"""Every fault of the test upstream leads to the documented state, retry
timing and log line; warmd runs under valgrind (no errors, no definite
leaks) and survives all of them."""
import json
import re
import time

from harness import Procs, bound, check, main, stats

FAULTS = {  # model: (upstream fault, extra model keys)
    "m429": ("429:3", {}),
    "m503": ("503:1", {}),
    "m500": ("500", {"fall": "2"}),
    "m401": ("401", {}),
    "mtimeout": ("timeout", {"timeout": "400ms"}),
    "mslow": ("slow:100", {}),
    "mbig": ("big", {}),
    "mbadjson": ("badjson", {}),
    "mreset": ("reset", {}),
}


def show(P, model):
    rc, out = P.warmctl("show", model, "--json")
    return json.loads(out[out.index("{"):])


def test():
    bound(150)
    with Procs() as P:
        args = []
        for m, (fault, _) in FAULTS.items():
            args += ["--fault", f"{m}={fault}"]
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5", *args)
        models = {m: dict({"interval": "1s", "jitter": "0%"}, **extra)
                  for m, (_, extra) in FAULTS.items()}
        cfg = P.config(port, models, warmd={"stale_after": "30s"})
        warmd = P.warmd(cfg, valgrind=True)
        time.sleep(8)
        # The counts first, in one read, with the upstream's own clock: the
        # nine `warmctl show` calls below take seconds on a busy machine.
        st = stats(port)["models"]
        counts = {m: st.get(m, {}).get("requests", 0) for m in FAULTS}
        recs = {m: show(P, m) for m in FAULTS}
        warmd.terminate()
        rc = warmd.wait(timeout=60)
        log = P.log("warmd.log")

    for m in FAULTS:
        r = recs[m]
        print(f"{m:9} state={r['state']:8} http={r['http_status']} "
              f"class={r['error_class']:8} fails={r['fails_in_row']} "
              f"requests={counts[m]}")

    def failed_line(m, cls, http):
        return re.search(rf"model {m}: warmup failed: .*\(http {http}, {cls}\)",
                         log)

    r = recs["m429"]
    check(r["error_class"] == "rate" and r["http_status"] == 429, "429: rate")
    check(re.search(r"model m429: warmup failed: .*\(http 429, rate\).*"
                    r"next in 3\.0s", log), "429: log says next in 3.0s")
    # Retry-After 3 s, judged on the upstream's clock over the time that
    # really passed since m429's first request (~8 s on a quiet machine):
    # never two requests less than 3 s apart, so at most T // 3 + 1 of them
    # in T s (attempts at 0, 3, 6 s in 8 s; the backoff alone, 1 s then 2 s
    # then 4 s, would have sent 4 and spaced the first two by 1 s).
    s = st.get("m429") or {}
    n = counts["m429"]
    t = (s.get("first_request_ms_ago") or 0) / 1000
    span = t - (s.get("last_request_ms_ago") or 0) / 1000
    check(2 <= n <= t // 3 + 1 and span >= 3 * (n - 1) - 0.05,
          f"429: Retry-After obeyed ({n} requests in {t:.1f} s, the first "
          f"and last {span:.1f} s apart)")
    check(re.search(r"model m503: warmup failed: .*\(http 503, server\).*"
                    r"next in 1\.0s", log), "503: Retry-After 1 s obeyed")
    check(recs["m500"]["state"] == "failing" and failed_line("m500", "server", 500),
          "500: failing after fall=2, logged as server")
    r = recs["m401"]
    check(r["state"] == "disabled" and "key_problem" in json.dumps(r["flags"]),
          "401: disabled with the key problem flag")
    check(counts["m401"] == 1, "401: never retried")
    check(re.search(r"model m401: warmup failed: .*\(http 401, auth\).*"
                    r"not retried until a reload or resume", log),
          "401: the log says it is not retried (not a negative wait)")
    check(recs["mtimeout"]["error_class"] == "timeout" and
          failed_line("mtimeout", "timeout", 0), "timeout: timeout class")
    r = recs["mslow"]
    check(r["state"] == "warm" and r["last_latency_us"] >= 400000,
          f"slow body: warm, latency {r['last_latency_us']} us")
    check(recs["mbig"]["error_class"] == "body" and
          "over 65536" in log, "big body: capped, body class")
    check(recs["mbadjson"]["error_class"] == "body", "invalid JSON: body class")
    check(recs["mreset"]["error_class"] == "connect", "reset: connect class")
    check(rc == 0, f"warmd under valgrind exited {rc} (99 = valgrind errors)")
    check("definitely lost" not in log and "Invalid read" not in log,
          "valgrind: no invalid access, no definite leak")


if __name__ == "__main__":
    main(test)
