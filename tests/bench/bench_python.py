"""bench_python.py - what a Python worker pays to ask "is my model warm?".

ns per call of the warmth binding (Table.is_warm, Table.lookup, touch, and
the bare ctypes call under them) next to redis-py GET of one key over a Unix
socket and over TCP loopback, the way workers share state without warmth,
with time.monotonic_ns() (a vDSO clock read through Python) as the floor.

The table is made by tests/helpers/fill-table; redis-server is started here on
loopback and a Unix socket in a temporary directory (no persistence) and
stopped by pid.  The benchmark pins itself to one CPU and moves the server
to the same CPU, then to another, since a Unix-socket round trip costs very
differently in the two cases (DESIGN.md: "Numbers to hold").

Run from the build directory, through `make bench-python`, or:
    WARMTH_LIB=lib/.libs/libwarmth.so PYTHONPATH=$srcdir/lib/python \\
        python3 $srcdir/tests/bench/bench_python.py [--quick]
Needs python3-redis and redis-server.  Prints figures; judges nothing.
"""
import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPEATS = 7


def fill_table():
    path = os.environ.get("WARMTH_FILL_TABLE", "./tests/helpers/fill-table")
    if not os.access(path, os.X_OK):
        sys.exit(f"bench_python: {path} not found: run from the build "
                 "directory after make, or set WARMTH_FILL_TABLE")
    return path


class Server:
    """A process started here, stopped by pid."""

    def __init__(self, argv, **kw):
        self.proc = subprocess.Popen(argv, **kw)
        self.pid = self.proc.pid

    def stop(self):
        p = self.proc
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_table(tmp):
    name = f"/warmth-bench-py-{os.getpid()}"
    models = [f"model-{i:03d}" for i in range(64)]
    s = Server([fill_table(), "--shm", name, "--models", ",".join(models),
                "--warm", ",".join(models[::2]), "--hold", "600",
                "--verbose"], stderr=subprocess.PIPE, text=True)
    line = s.proc.stderr.readline()  # printed once the table is published
    if "models" not in line:
        s.stop()
        sys.exit(f"bench_python: fill-table did not start: {line!r}")
    return s, name, models


def start_redis(tmp):
    exe = shutil.which("redis-server")
    if not exe:
        sys.exit("bench_python: redis-server not found (Debian: redis-server)")
    import socket

    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    sock = os.path.join(tmp, "redis.sock")
    s = Server([exe, "--port", str(port), "--bind", "127.0.0.1",
                "--unixsocket", sock, "--unixsocketperm", "700",
                "--save", "", "--appendonly", "no", "--dir", tmp,
                "--daemonize", "no", "--loglevel", "warning"],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while not os.path.exists(sock):
        if s.proc.poll() is not None or time.monotonic() > end:
            s.stop()
            sys.exit("bench_python: redis-server did not start")
        time.sleep(0.02)
    return s, port, sock


def measure(fn, n):
    """ns per call of fn() over n calls: (best, median) of REPEATS runs.
    The loop is unrolled by 10 so its own cost stays small next to a
    ~100 ns call."""
    runs = []
    for _ in range(REPEATS):
        loops = range(n // 10)
        t0 = time.perf_counter_ns()
        for _ in loops:
            fn(); fn(); fn(); fn(); fn(); fn(); fn(); fn(); fn(); fn()  # noqa
        runs.append((time.perf_counter_ns() - t0) / (len(loops) * 10))
    return min(runs), statistics.median(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer calls (a smoke run; figures are noisier)")
    args = ap.parse_args()
    fast_n, redis_n = (20_000, 1_000) if args.quick else (200_000, 10_000)

    import redis
    import warmth
    from warmth import _lib

    cpus = sorted(os.sched_getaffinity(0))
    here = cpus[0]
    other = cpus[1] if len(cpus) > 1 else None
    os.sched_setaffinity(0, {here})

    tmp = tempfile.mkdtemp(prefix="warmth-bench-py-")
    servers = []
    rows = []
    try:
        table_srv, shm, models = start_table(tmp)
        servers.append(table_srv)
        rsrv, port, sock = start_redis(tmp)
        servers.append(rsrv)

        t = warmth.Table(shm, lazy=False)
        model = models[10]  # warm
        bmodel = model.encode()
        assert t.is_warm(model) and t.lookup(model).name == model
        lib = _lib.get()
        h = t._h
        raw_is_warm = lib.is_warm

        ru = redis.Redis(unix_socket_path=sock)
        rt = redis.Redis(host="127.0.0.1", port=port)
        key = f"warmth:{model}"
        ru.set(key, "warm")
        assert ru.get(key) == b"warm" and rt.get(key) == b"warm"

        def row(label, fn, n):
            best, med = measure(fn, n)
            rows.append((label, best, med))

        row("time.monotonic_ns()  (floor)", time.monotonic_ns, fast_n)
        row("libwarmth is_warm, bare ctypes call",
            lambda: raw_is_warm(h, bmodel), fast_n)
        row("Table.is_warm(model)", lambda: t.is_warm(model), fast_n)
        row("Table.touch(model)", lambda: t.touch(model), fast_n)
        row("Table.lookup(model) -> ModelInfo", lambda: t.lookup(model),
            fast_n // 4)
        placements = [("same CPU", here)]
        if other is not None:
            placements.append(("other CPU", other))
        for where, cpu in placements:
            os.sched_setaffinity(rsrv.pid, {cpu})
            ru.get(key), rt.get(key)  # settle on the new CPU
            row(f"redis-py GET, Unix socket, {where}", lambda: ru.get(key),
                redis_n)
            row(f"redis-py GET, TCP loopback, {where}", lambda: rt.get(key),
                redis_n)
        t.close()
        ru.close()
        rt.close()
    finally:
        for s in reversed(servers):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    floor = rows[0][1]
    is_warm = next(b for label, b, _ in rows if label.startswith("Table.is"))
    print(f"python {platform.python_version()}, libwarmth "
          f"{warmth.library_version()[1]}, redis-py {redis.__version__}; "
          f"bench on CPU {here} of {len(cpus)}; load average "
          f"{os.getloadavg()[0]:.2f}; best (median) of {REPEATS} runs")
    print(f"{'call':42} {'ns/call':>9} {'median':>9} {'x floor':>8} "
          f"{'x is_warm':>9}")
    for label, best, med in rows:
        print(f"{label:42} {best:9.0f} {med:9.0f} {best / floor:8.1f} "
              f"{best / is_warm:9.2f}")
    lookup = next(b for label, b, _ in rows if label.startswith("Table.lo"))
    print("\nratios (best figures)  redis_unix/is_warm  redis_tcp/is_warm  "
          "redis_unix/lookup  is_warm/clock")
    for where in ("same CPU", "other CPU"):
        got = {label.split(",")[1].strip(): b for label, b, _ in rows
               if label.startswith("redis-py") and label.endswith(where)}
        if got:
            unix, tcp = got["Unix socket"], got["TCP loopback"]
            print(f"{where:22} {unix / is_warm:18.0f} {tcp / is_warm:18.0f} "
                  f"{unix / lookup:18.1f} {is_warm / floor:14.1f}")


if __name__ == "__main__":
    main()
