"""Cold start: after warmd's warmup, a worker's first request is served at
the upstream's warm latency, while a model nobody warms answers cold."""
import json
import time
import urllib.request

from harness import Procs, bound, check, main, wait_for

COLD_MS, WARM_MS = 600, 10


def first_request_ms(port, model):
    body = json.dumps({"model": model, "max_tokens": 3, "messages": [
        {"role": "user", "content": "a real question"}]}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
        headers={"Content-Type": "application/json"})
    t = time.monotonic()
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()
    return (time.monotonic() - t) * 1000


def test():
    bound(60)
    with Procs() as P:
        _, port = P.upstream("--cold-after", "3s", "--cold-ms", str(COLD_MS),
                             "--warm-ms", str(WARM_MS))
        cfg = P.config(port, {"kept-warm": {"interval": "1s",
                                            "warm_ttl": "3s"}})
        P.warmd(cfg)
        wait_for(lambda: P.warmctl("check", "kept-warm")[0] == 0, 10,
                 "kept-warm to be warm")
        time.sleep(1.5)  # past one more interval: warmth is being kept
        warm_ms = first_request_ms(port, "kept-warm")
        cold_ms = first_request_ms(port, "nobody-warms-me")
    print(f"first request: warmed model {warm_ms:.0f} ms, "
          f"unwarmed model {cold_ms:.0f} ms")
    check(warm_ms < COLD_MS / 2, f"warmed model answered in {warm_ms:.0f} ms, "
          f"not cold ({COLD_MS} ms)")
    check(cold_ms >= COLD_MS, f"unwarmed model answered cold ({cold_ms:.0f} ms)")


if __name__ == "__main__":
    main(test)
