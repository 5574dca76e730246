"""Shared helpers of the integration tests: start the test upstream, warmd
and worker processes on loopback, bounded in time, stopped by pid.

Tests run from the build directory (automake's test harness sets cwd there
and exports srcdir); binaries are found relative to it.
"""
import http.client as httpclient
import json
import os
import re
import shutil
import signal
import subprocess
import socket
import sys
import tempfile
import threading
import time
import urllib.request

BUILD = os.getcwd()
SRCDIR = os.environ.get("srcdir", ".")


def binary(rel):
    path = os.path.join(BUILD, rel)
    if not os.path.exists(path):
        raise SystemExit(f"missing {rel}: build first")
    return path


def bound(seconds):
    """Kills the whole test (and, through Procs, its servers) after seconds."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"test ran past its bound of {seconds}s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)


def stop_all(procs, timeout):
    """Stops every process of procs that still runs, by pid: SIGCONT (a
    stopped process would hold the SIGTERM) and SIGTERM, last started
    first; waits for all of them, timeout seconds in all, then SIGKILLs
    any left.  Shared by the integration tests (Procs), the benchmarks and
    the soak test."""
    for p in reversed(procs):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGTERM)
            except OSError:  # exited in between
                pass
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def unlink_shm(name):
    """Removes the table /dev/shm/NAME (name starts with "/") and the files
    a coordinator makes beside it (its .lock, an older ABI's .demand),
    whichever exist."""
    for suffix in ("", ".lock", ".demand"):
        try:
            os.unlink("/dev/shm" + name + suffix)
        except FileNotFoundError:
            pass


class Procs:
    """Every process a test starts; all stopped by pid on exit."""

    def __init__(self, name="warmth-it"):
        """name: of the temp dir (NAME-XXXXXX) and the table (/NAME-PID)."""
        self.procs = []
        self.warmds = []
        self.tmp = tempfile.mkdtemp(prefix=f"{name}-")
        self.shm = f"/{name}-{os.getpid()}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        stop_all(self.procs, 5)
        # Every warmd a test started must have stopped cleanly: exit 0
        # (after SIGTERM, from the test or from here), or SIGKILL when a
        # test killed it on purpose.  A crash, a hang past the bound or a
        # sanitizer's report at exit (ASan build) fails the test here.
        bad = [p for p in self.warmds
               if p.returncode not in (0, -signal.SIGKILL)]
        failed = exc[0] is not None or bad
        self.cleanup(keep_tmp=failed)
        if bad and exc[0] is None:
            raise AssertionError(
                f"warmd exited {bad[0].returncode} after SIGTERM (log in "
                f"{self.tmp}):\n{self.tail('warmd.log')}")

    def tail(self, name, n=2000):
        path = self.path(name)
        return open(path).read()[-n:] if os.path.exists(path) else ""

    def cleanup(self, keep_tmp):
        unlink_shm(self.shm)
        if keep_tmp:
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ---- the test upstream ------------------------------------------------
    def upstream(self, *args):
        p = self.spawn(
            [binary("tests/upstream/warmth-upstream"), "--listen",
             "127.0.0.1:0", "--max-seconds", "300", *args],
            stdout=subprocess.PIPE, stderr=open(self.path("upstream.log"), "w"),
            text=True)
        line = p.stdout.readline()
        m = re.match(r"port=(\d+)", line)
        if not m:
            raise SystemExit(f"upstream did not report its port: {line!r}")
        return p, int(m.group(1))

    # ---- warmd --------------------------------------------------------------
    def config(self, port, models, warmd=None, endpoint=None, name="warmd.conf"):
        """models: {name: {key: value}}; returns the config path."""
        w = {"shm": self.shm, "tick": "20ms", "max_concurrency": "16",
             "stale_after": "2s", "http_listen": "",
             "control_socket": self.path("warmd.sock")}
        w.update(warmd or {})
        ep = {"kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1",
              "timeout": "2s"}
        ep.update(endpoint or {})
        lines = ["[warmd]"] + [f"{k} = {v}" for k, v in w.items()]
        lines += ["", "[endpoint local]"] + [f"{k} = {v}" for k, v in ep.items()]
        for mname, keys in models.items():
            lines += ["", f"[model {mname}]", "endpoint = local"]
            lines += [f"{k} = {v}" for k, v in keys.items()]
        path = self.path(name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def warmd(self, cfg, *args, env=None, valgrind=False):
        log = open(self.path("warmd.log"), "a")
        argv = [binary("tools/warmd/warmd"), "-f", "-c", cfg, *args]
        if valgrind:
            argv = ["valgrind", "--error-exitcode=99", "--leak-check=full",
                    "--errors-for-leak-kinds=definite", "-q"] + argv
        p = self.spawn(argv, stdout=log, stderr=log, env=env)
        self.warmds.append(p)
        wait_for(lambda: os.path.exists("/dev/shm" + self.shm) or p.poll() is not None,
                 30 if valgrind else 10, "warmd to create its table")
        if p.poll() is not None:
            raise SystemExit("warmd exited at start:\n" + self.log("warmd.log"))
        return p

    def log(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def workers(self, n, models, seconds, *args):
        return [self.spawn([binary("tests/helpers/worker-sim"), "--shm", self.shm,
                            "--models", ",".join(models), "--seconds",
                            str(seconds), *args],
                           stdout=subprocess.PIPE, text=True)
                for _ in range(n)]

    def warmctl(self, *args):
        r = subprocess.run([binary("tools/warmctl/warmctl"), "--shm", self.shm,
                            *args], capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout + r.stderr


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def http(port, path, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def stats(port):
    return http(port, "/_stats")


def model_requests(port, model):
    return stats(port).get("models", {}).get(model, {}).get("requests", 0)


def worker_results(procs):
    out = []
    for p in procs:
        text, _ = p.communicate(timeout=60)
        m = re.search(r"lookups=(\d+) warm=(\d+) inconsistent=(\d+) "
                      r"own_warmups=(\d+) errors=(\d+)", text)
        if not m:
            raise AssertionError(f"worker printed {text!r}")
        out.append(dict(zip(("lookups", "warm", "inconsistent", "own_warmups",
                             "errors"), map(int, m.groups()))))
    return out


# ---- test apps with many worker processes (Gunicorn, Node cluster, PM2) ----
def free_port():
    """A free TCP port on loopback, for a server that cannot report the one
    it got for :0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_get(port, model):
    """GET /?model=MODEL of a test app on a new connection (so every worker
    serves in turn): its JSON answer; RuntimeError on a status but 200."""
    c = httpclient.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", f"/?model={model}", headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        c.close()


def stop_proc(p, timeout):
    """SIGTERM, then SIGKILL after timeout seconds."""
    stop_all([p], timeout)


def run_clients(n, seconds, client):
    """client(k, deadline) in n threads, k = 0..n-1, each until deadline
    (time.monotonic()); returns when all are done (or 30 s past it)."""
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(k, deadline),
                                daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)


def upstream_warmups(port, models):
    """Requests the upstream counted per model since its last /_reset."""
    st = stats(port)["models"]
    return {m: st.get(m, {}).get("requests", 0) for m in models}


def check_one_per_interval(name, counts, elapsed, interval=1.0):
    """warmd's warmups of each model, counted at the upstream between its
    /_reset and the count: one per interval of the time that really passed
    in between (elapsed, measured by the test around the reset and the
    count, not the time it planned to wait), +/- 1."""
    n = elapsed / interval
    lo, hi = round(n) - 1, round(n) + 1
    for m, c in counts.items():
        check(lo <= c <= hi,
              f"{name}: {m}: {c} warmups in {elapsed:.1f} s with warmd, "
              f"want {lo}..{hi} (one per {interval:g} s)")


def check_per_process_more(name, counts, ref, workers):
    """The per-process warmers' warmups of each model against warmd's in
    the same run (ref): at least twice as many.  Not judged against the
    clock: on a loaded machine a worker's timer fires late and does not
    catch up (22 instead of ~48 in 6 s was seen), while warmd keeps one
    per interval; about `workers` times warmd's on a quiet machine, and
    warmd's own count when the per-process warmers send no more than it."""
    for m, c in counts.items():
        check(c >= 2 * max(ref[m], 1),
              f"{name}: {m}: {c} warmups from {workers} per-process "
              f"warmers against warmd's {ref[m]} in the same run (want at "
              f"least twice as many; {workers}x on a quiet machine)")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("ok -", msg)


def main(fn):
    try:
        fn()
    except Exception as e:  # report, then fail the test
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
