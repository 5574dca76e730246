"""warmd's HTTP endpoint under slow and idle clients (issue 12, item 6).

With 2,000 models (/metrics about 4 MB), the test opens, from many
loopback addresses (127.0.0.2, 127.0.0.3, ...: as many hosts would reach
http_listen = 0.0.0.0) and from 127.0.0.1 itself (local users share it with
the probe):

1. SLOW connections that send half a request line and stop;
2. READERS connections that request /metrics and never read the answer
   (a small receive buffer, so the kernel cannot take it for them);

and checks after each that /health/startup and /health/warmup still answer
within DEADLINE (generous: the test also runs beside stress-ng), and that
warmd's resident memory (VmRSS) grew by less than RSS_GROWTH_MAX: a copy of
/metrics per client would be READERS x 4 MB.  Then every client goes away
and /metrics answers in full again; last, alone, a connection that sends its
request head a byte a second (MHD's idle timeout restarts at every byte)
must be closed by warmd HEAD_LIMIT after it started.
"""
import socket
import threading
import time
import urllib.request

from harness import Procs, bound, check, main, wait_for, free_port

MODELS = 2000
SLOW = 200
READERS = 64
DEADLINE = 2.0            # seconds, for each health request
RSS_GROWTH_MAX = 48 << 20  # bytes: shared snapshots, not one per client
# Under ASan freed buffers wait in its quarantine (every rebuild of /metrics
# adds its ~16 MB of growing buffers), so resident memory follows the
# number of builds: a looser bound, still half of one copy per client.
RSS_GROWTH_MAX_ASAN = 128 << 20
HEAD_LIMIT = 10.0          # http.c HTTP_HEAD_NS: a request head's time


def asan(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def get(port, path, timeout):
    """(status, body bytes, seconds) of one GET; errors count as status."""
    t0 = time.monotonic()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            return r.status, body, time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.monotonic() - t0
    except OSError as e:
        return repr(e), b"", time.monotonic() - t0


def source(i):
    """Every fourth client from 127.0.0.1 (local users), the rest from 50
    other loopback addresses (other hosts)."""
    return "127.0.0.1" if i % 4 == 0 else f"127.0.0.{2 + i % 50}"


def connect(port, i, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.bind((source(i), 0))
    s.connect(("127.0.0.1", port))
    return s


def trickle(port, result):
    """Sends a request head a byte a second; result gets the seconds until
    warmd closed the connection (or None if it never did in 25 s)."""
    s = connect(port, 1)
    t0 = time.monotonic()
    head = b"GET /health/startup HTTP/1.1\r\nX-Slow: " + b"a" * 100
    try:
        for c in head:
            s.sendall(bytes([c]))
            s.settimeout(1.0)
            try:
                if s.recv(1) == b"":
                    break
            except socket.timeout:
                pass
            if time.monotonic() - t0 > 25:
                result.append(None)
                return
    except OSError:
        pass  # reset: closed as well
    result.append(time.monotonic() - t0)
    s.close()


def health_ok(port, what):
    """Both health endpoints, three times each, every answer in time."""
    worst = 0.0
    for _ in range(3):
        for path in ("/health/startup", "/health/warmup"):
            st, _, dt = get(port, path, DEADLINE + 1)
            worst = max(worst, dt)
            check(st in (200, 503) and dt <= DEADLINE,
                  f"{what}: {path} answered {st} in {dt:.3f}s "
                  f"(deadline {DEADLINE}s)")
    return worst


def test():
    bound(90)
    with Procs() as P:
        _, up = P.upstream("--warm-ms", "1", "--cold-ms", "1")
        hp = free_port()
        models = {f"model-{i:05d}": {"interval": "1h"}
                  for i in range(MODELS)}
        models["model-00000"]["required"] = "yes"
        cfg = P.config(up, models, warmd={"http_listen": f"127.0.0.1:{hp}",
                                          "max_concurrency": "64"})
        w = P.warmd(cfg)
        wait_for(lambda: get(hp, "/health/startup", 5)[0] == 200, 20,
                 "/health/startup 200")
        st, body, dt = get(hp, "/metrics", 20)
        size = len(body)
        check(st == 200 and body.count(b"warmd_model_warm{") == MODELS,
              f"/metrics: {MODELS} models, {size / 1e6:.1f} MB in {dt:.2f}s")
        time.sleep(1.5)
        base = rss(w.pid)
        print(f"warmd VmRSS at rest: {base / 2**20:.1f} MiB")

        # 1. Slow clients: half a request line, then nothing.
        slow = []
        for i in range(SLOW):
            try:
                s = connect(hp, i)
                s.sendall(b"GET /metr")
                slow.append(s)
            except OSError:
                pass  # refused or reset: not held, fine
        time.sleep(0.5)
        print(f"{len(slow)} slow connections open")
        worst = health_ok(hp, f"{SLOW} slow clients")
        print(f"slowest health answer beside {SLOW} slow clients: "
              f"{worst:.3f}s")

        # 2. Clients that ask for /metrics and never read it.
        readers = []
        for i in range(READERS):
            try:
                s = connect(hp, i, rcvbuf=4096)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                readers.append(s)
            except OSError:
                pass
        time.sleep(2.0)  # time to build and queue what they asked for
        grown = rss(w.pid) - base
        print(f"{len(readers)} non-reading /metrics clients: VmRSS "
              f"{rss(w.pid) / 2**20:.1f} MiB (+{grown / 2**20:.1f} MiB; "
              f"one copy each would be +{READERS * size / 2**20:.0f} MiB)")
        worst = health_ok(hp, f"{SLOW} slow + {READERS} non-reading clients")
        grown = rss(w.pid) - base
        limit = RSS_GROWTH_MAX_ASAN if asan(w.pid) else RSS_GROWTH_MAX
        check(grown < limit,
              f"warmd grew by {grown / 2**20:.1f} MiB (< {limit >> 20} MiB"
              f"{', ASan' if limit != RSS_GROWTH_MAX else ''}) with "
              f"{READERS} clients holding /metrics")

        for s in slow + readers:
            s.close()
        st, body, dt = get(hp, "/metrics", 20)
        check(st == 200 and body.count(b"warmd_model_warm{") == MODELS,
              f"once they are gone /metrics answers in full ({dt:.2f}s)")
        # 3. Alone (no pressure to evict it): a head trickling in.
        closed_after = []
        trickler = threading.Thread(target=trickle, args=(hp, closed_after),
                                    daemon=True)
        trickler.start()
        trickler.join(30)
        t = closed_after[0] if closed_after else None
        check(t is not None and HEAD_LIMIT - 1 <= t <= HEAD_LIMIT + 3,
              f"a request head trickling a byte a second was cut off after "
              f"{t and round(t, 1)}s (limit {HEAD_LIMIT}s)")
        check(w.poll() is None, "warmd ran through it")


if __name__ == "__main__":
    main(test)
