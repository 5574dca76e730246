"""Fleet mode test helpers: a real redis-server on loopback (started and
stopped by pid), a minimal RESP client (PyPI's redis-py is not needed), fake
TCP servers (one that answers garbage where Redis should be), and N warmd "hosts" on one machine, each
with its own shm, control socket, state file, log and host_id."""
import os
import signal
import socket
import subprocess
import threading
import time

from harness import binary, wait_for, free_port


def worker_sim():
    """tests/helpers/worker-sim (tests/worker-sim before the tests were
    sorted by kind)."""
    for rel in ("tests/helpers/worker-sim", "tests/worker-sim"):
        if os.path.exists(rel):
            return binary(rel)
    return binary("tests/helpers/worker-sim")  # says what is missing


class RespError(Exception):
    pass


class Resp:
    """One connection, one command at a time."""

    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def close(self):
        self.f.close()
        self.s.close()

    def __call__(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RespError(f"bad reply {line!r}")


class Redis:
    """redis-server on 127.0.0.1 and a free port, no persistence."""

    def __init__(self, P, *extra, password=None):
        self.P = P
        self.password = password
        self.extra = extra + (("--requirepass", password) if password else ())
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = self.P.spawn(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", self.P.tmp,
             "--logfile", self.P.path(f"redis-{self.port}.log"),
             *self.extra])
        wait_for(self.up, 10, "redis-server to answer PING")

    def up(self):
        try:
            c = Resp(self.port, timeout=1)
            try:
                return c("PING") == "PONG"
            except RespError as e:
                return str(e).startswith("NOAUTH")  # up, wants AUTH
            finally:
                c.close()
        except OSError:
            return False

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def cmd(self, *args):
        c = Resp(self.port)
        try:
            if self.password:
                c("AUTH", self.password)
            return c(*args)
        finally:
            c.close()

    def keys_without_ttl(self, pattern="warmth:*"):
        """Every key SCAN finds, and those with no TTL (PTTL -1)."""
        cursor, keys = "0", []
        while True:
            cursor, batch = self.cmd("SCAN", cursor, "MATCH", pattern,
                                     "COUNT", 1000)
            keys += batch
            if cursor == "0":
                break
        return keys, [k for k in keys if self.cmd("PTTL", k) < 0]


class FakeServer:
    """A TCP server on loopback (a free port: self.port) that hands every
    connection to self.serve(c) in a thread of its own and counts them
    (self.conns); close() stops it.  A subclass writes serve()."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)  # accept() wakes up to see self.stop
        self.port = self.sock.getsockname()[1]
        self.conns = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.close()

    def close(self):
        self.stop = True
        self.t.join(timeout=2)
        self.sock.close()


class Garbage(FakeServer):
    """Answers every read with bytes that are not RESP, as a wrong service
    on Redis's port would."""

    def serve(self, c):
        c.settimeout(2)
        try:
            while not self.stop and c.recv(65536):
                c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff garbage\r\n")
        except OSError:
            pass
        c.close()


class Host:
    def __init__(self, P, i, cfg, log):
        self.P, self.i, self.cfg, self.log = P, i, cfg, log
        self.shm = f"{P.shm}-h{i}"
        self.proc = None

    def warmctl(self, *args):
        r = subprocess.run([binary("tools/warmctl/warmctl"), "--shm", self.shm,
                            "--socket", self.P.path(f"h{self.i}.sock"),
                            *args], capture_output=True, text=True,
                           timeout=20)
        return r.returncode, r.stdout + r.stderr

    def logtext(self):
        with open(self.log) as f:
            return f.read()


def write_config(P, i, port, models, fleet=None, endpoint=None, warmd=None):
    """Host i's config: its own shm, socket, state file; [fleet] when given
    (a dict of keys, host_id defaulting to h<i>)."""
    w = {"shm": f"{P.shm}-h{i}", "tick": "20ms", "max_concurrency": "16",
         "stale_after": "2s", "http_listen": "",
         "control_socket": P.path(f"h{i}.sock"),
         "state_file": P.path(f"h{i}.state")}
    w.update(warmd or {})
    ep = {"kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1",
          "timeout": "2s", "fleet": "yes"}
    ep.update(endpoint or {})
    lines = ["[warmd]"] + [f"{k} = {v}" for k, v in w.items()]
    if fleet is not None:
        fl = {"host_id": f"h{i}"}
        fl.update(fleet)
        lines += ["", "[fleet]"] + [f"{k} = {v}" for k, v in fl.items()]
    lines += ["", "[endpoint up]"] + [f"{k} = {v}" for k, v in ep.items()]
    for name, keys in models.items():
        lines += ["", f"[model {name}]", "endpoint = up"]
        lines += [f"{k} = {v}" for k, v in keys.items()]
    path = P.path(f"h{i}.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start_host(P, i, cfg, env=None):
    h = Host(P, i, cfg, P.path(f"h{i}.log"))
    log = open(h.log, "a")
    h.proc = P.spawn([binary("tools/warmd/warmd"), "-f", "-c", cfg],
                     stdout=log, stderr=log, env=env)
    P.warmds.append(h.proc)
    wait_for(lambda: os.path.exists("/dev/shm" + h.shm)
             or h.proc.poll() is not None, 10, f"host {i} to create its table")
    if h.proc.poll() is not None:
        raise SystemExit(f"host {i} exited at start:\n" + h.logtext())
    return h


def stop_host(h):
    if h.proc.poll() is None:
        h.proc.send_signal(signal.SIGTERM)
        h.proc.wait(timeout=10)


def cleanup_shm(P, n):
    for i in range(n):
        for suffix in ("", ".demand"):
            try:
                os.unlink(f"/dev/shm{P.shm}-h{i}{suffix}")
            except FileNotFoundError:
                pass


def count(stats, models):
    return {m: stats.get("models", {}).get(m, {}).get("requests", 0)
            for m in models}


def now():
    return time.monotonic()


def fleet_want(seconds, interval, hosts, jitter=0.10):
    """Warmups one model gets from a fleet in `seconds`: hosts align one
    interval after the fleet's last warmup plus an offset in [0, jitter *
    interval], and the smallest of N offsets wins (doc/fleet.md), so the
    period is interval * (1 + jitter / (N + 1))."""
    return seconds / (interval * (1 + jitter / (hosts + 1)))


def per_host_min(seconds, interval, hosts):
    """The fewest warmups of one model `hosts` hosts warming on their own
    send in `seconds`: each at least floor(seconds / longest period), the
    longest period being interval * 1.1 (jitter, or the fleet's one-sided
    offset) with a little slack for a loaded machine.  Hosts started
    together share a phase, so their counts are not independent."""
    return hosts * int(seconds / (interval * 1.15))
