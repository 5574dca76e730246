"""warmd's control socket: every warmctl control command against a real
warmd and the test upstream, malformed messages sent as raw bytes, a hung
client, and (as root) unprivileged peers run as user nobody.

msgpack is encoded and decoded here by hand (the few types the protocol
uses; Python's stdlib has none), which also checks the wire format
independently of warmd's and warmctl's codec (tools/common/ctlproto.h)."""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time

from harness import (Procs, binary, bound, check, http, main, stats,
                     unlink_shm, wait_for)

VERSION = 1
CMD = {"status": 1, "stats": 2, "warm": 3, "pause": 4, "resume": 5,
       "reload": 6}
OK, BAD_FRAME, BAD_VERSION, BAD_COMMAND, BAD_FIELD = 0, 1, 2, 3, 4
NOBODY = 65534


# ---- msgpack, by hand -------------------------------------------------------
def mp(v):
    if v is None:
        return b"\xc0"
    if v is True or v is False:
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32
                else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x)
                                                 for k, x in v.items())
    raise TypeError(v)


def unmp(b, i=0):
    """Decodes one object at b[i:]; returns (value, next index)."""
    t = b[i]
    i += 1
    if t < 0x80:
        return t, i
    if t >= 0xe0:
        return t - 256, i
    if 0xa0 <= t <= 0xbf:
        n = t & 0x1f
        return b[i:i + n].decode(), i + n
    if 0x90 <= t <= 0x9f or t in (0xdc, 0xdd):
        n = t & 0x0f
        if t == 0xdc:
            n, i = struct.unpack_from(">H", b, i)[0], i + 2
        elif t == 0xdd:
            n, i = struct.unpack_from(">I", b, i)[0], i + 4
        out = []
        for _ in range(n):
            v, i = unmp(b, i)
            out.append(v)
        return out, i
    if 0x80 <= t <= 0x8f or t in (0xde, 0xdf):
        n = t & 0x0f
        if t == 0xde:
            n, i = struct.unpack_from(">H", b, i)[0], i + 2
        elif t == 0xdf:
            n, i = struct.unpack_from(">I", b, i)[0], i + 4
        out = {}
        for _ in range(n):
            k, i = unmp(b, i)
            out[k], i = unmp(b, i)
        return out, i
    if t == 0xc0:
        return None, i
    if t in (0xc2, 0xc3):
        return t == 0xc3, i
    if t in (0xd9, 0xda, 0xdb):
        w = {0xd9: 1, 0xda: 2, 0xdb: 4}[t]
        n = int.from_bytes(b[i:i + w], "big")
        i += w
        return b[i:i + n].decode(), i + n
    fmt = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b",
           0xd1: ">h", 0xd2: ">i", 0xd3: ">q", 0xca: ">f", 0xcb: ">d"}[t]
    return struct.unpack_from(fmt, b, i)[0], i + struct.calcsize(fmt)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


class Raw:
    """A raw connection to the control socket."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """The next reply as (version, seq, status, fields), or None at EOF."""
        hdr = self.recv(4)
        if hdr is None:
            return None
        n = struct.unpack(">I", hdr)[0]
        body = self.recv(n)
        v, end = unmp(body)
        assert end == n, f"{n - end} bytes after the reply"
        return tuple(v)

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                return None if not buf else buf
            buf += chunk
        return buf

    def closed(self):
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def request(path, payload):
    c = Raw(path)
    c.send(frame(payload))
    r = c.reply()
    c.close()
    return r


# ---- warmctl ------------------------------------------------------------------
def warmctl(sock, *args, user=None, gid=None, groups=None):
    argv = [binary("tools/warmctl/warmctl"), "--socket", sock, *args]
    if user is not None:
        pre = ["setpriv", f"--reuid={user}", f"--regid={gid}"]
        pre += [f"--groups={groups}"] if groups else ["--clear-groups"]
        argv = pre + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def jctl(sock, *args, **kw):
    rc, out, err = warmctl(sock, *args, "--json", **kw)
    try:
        return rc, json.loads(out) if out.strip() else None, err
    except ValueError:
        raise AssertionError(f"warmctl {args} printed no JSON: {out!r} {err!r}")


def stale_socket(path):
    """A socket file nobody listens on, as a killed warmd leaves it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


# ---- the tests -------------------------------------------------------------------
def commands(P, port, sock, cfg, warmd):
    rc, st, err = jctl(sock, "status")
    check(rc == 0 and st["pid"] == warmd.pid,
          f"status: warmd's pid {warmd.pid} (exit {rc}, {err.strip()})")
    check(st["models"] == 2 and st["config"] == cfg and st["protocol"] == 1
          and st["version"] and st["uptime_ms"] >= 0 and st["running"],
          f"status: models, config, protocol, version, uptime: {st}")
    check("budget_spent_nusd" in st and "warm" in st and "failing" in st,
          "status: warm/failing counts and budget used")
    rc, out, _ = warmctl(sock, "status")
    check(rc == 0 and f"pid {warmd.pid}" in out and cfg in out,
          "status (text) names pid and config")
    rc, out, _ = subprocess.run(
        [binary("tools/warmctl/warmctl"), "-c", cfg, "status"],
        capture_output=True, text=True, timeout=20).returncode, None, None
    check(rc == 0, "warmctl -c CONFIG finds the socket through the config")

    before = stats(port)["models"].get("m1", {}).get("requests", 0)
    rc, w, err = jctl(sock, "warm", "m1")
    after = stats(port)["models"].get("m1", {}).get("requests", 0)
    check(rc == 0 and w["result"] == "ok" and w["http_status"] == 200 and
          w["warm"] and w["state"] == "warm",
          f"warm m1: waited for a successful warmup ({w}, {err.strip()})")
    check(after == before + 1, f"warm m1 sent one warmup ({before} -> {after})")
    # One forced warmup of a model per min(interval, 60 s): m1's interval
    # is 1 h, so the next one is refused, with the time to wait.
    rc, out, err = warmctl(sock, "warm", "m1")
    check(rc == 1 and "rate limited: next allowed in" in err,
          f"a second warm of m1 at once: rate limited, exit 1 "
          f"({err.strip()})")
    check(stats(port)["models"]["m1"]["requests"] == after,
          "the rate-limited warm sent nothing")
    rc, w, err = jctl(sock, "warm", "m2")
    check(rc == 1 and w["result"] == "failed" and w["http_status"] == 500,
          f"warm m2 (upstream answers 500): exit 1, result failed ({w})")
    rc, w, err = jctl(sock, "warm", "nope")
    check(rc == 1 and w is None and "no such model" in err,
          f"warm of an unknown model: exit 1, says so ({err.strip()})")

    rc, p, err = jctl(sock, "pause", "m1")
    check(rc == 0 and p["paused"] and p["state"] == "disabled",
          f"pause m1: paused, state disabled ({p})")
    rc, out = P.warmctl("show", "m1", "--json")
    check(rc in (0, 1) and "paused" in json.loads(out)["flags"],
          "pause is visible in the table (show m1 flags)")
    rc, w, err = jctl(sock, "warm", "m1")
    check(rc == 1 and "paused" in err, f"warm of a paused model refused: "
          f"{err.strip()}")
    rc, p, err = jctl(sock, "resume", "m1")
    check(rc == 0 and not p["paused"], f"resume m1 ({p})")
    rc, _, err = jctl(sock, "pause", "nope")
    check(rc == 1 and "no such model" in err, "pause of an unknown model")

    rc, s, err = jctl(sock, "stats")
    rows = {m["model"]: m for m in s["models"]}
    check(rc == 0 and sorted(rows) == ["m1", "m2"],
          f"stats lists every model ({sorted(rows)})")
    check(rows["m1"]["warmups_ok"] >= 2 and rows["m2"]["warmups_failed"] >= 1
          and rows["m1"]["tokens_in"] > 0,
          f"stats counts warmups per model (m1 ok {rows['m1']['warmups_ok']},"
          f" m2 failed {rows['m2']['warmups_failed']})")
    rc, s, _ = jctl(sock, "stats", "m2")
    check(rc == 0 and [m["model"] for m in s["models"]] == ["m2"],
          "stats MODEL: that model only")
    rc, out, _ = warmctl(sock, "stats")
    check(rc == 0 and out.startswith("MODEL") and "\nm1 " in out,
          "stats (text): a table")
    rc, _, _ = jctl(sock, "stats", "nope")
    check(rc == 1, "stats of an unknown model: exit 1")

    good = open(cfg).read()
    with open(cfg, "a") as f:
        f.write("\n[model m3]\nendpoint = local\nid = m1\nprobe = models\n"
                "interval = 1h\n")
    rc, r, err = jctl(sock, "reload")
    check(rc == 0 and r["models"] == 3, f"reload adds m3 ({r}, {err.strip()})")
    # m3 reads reachable, the longest state name: the text table of stats
    # keeps its columns (each right-aligned number ends under its header).
    wait_for(lambda: {m["model"]: m for m in jctl(sock, "stats")[1]["models"]}
             ["m3"].get("state") == "reachable", 10, "m3 to be reachable")
    rc, out, _ = warmctl(sock, "stats")
    lines = out.splitlines()
    ends = {ln.split()[0]: [m.end() for m in re.finditer(r"\S+", ln)]
            for ln in lines}
    check(rc == 0 and len(lines) == 4 and
          all(ends[n][2:] == ends["MODEL"][2:] for n in ("m1", "m2", "m3")),
          "stats (text): columns aligned whatever the state name:\n" + out)
    rc, st, _ = jctl(sock, "status")
    check(rc == 0 and st["reachable"] == 1 and st["warm"] + st["failing"] +
          st["reachable"] == 3, f"status counts m3 as reachable ({st})")
    rc, out, _ = warmctl(sock, "status")
    check(rc == 0 and re.search(r"^models +3: \d+ warm, 1 reachable, ", out,
                                re.M), "status (text): 1 reachable\n" + out)
    with open(cfg, "w") as f:
        f.write(good + "\n[model broken]\nendpoint = nowhere\n")
    rc, r, err = jctl(sock, "reload")
    check(rc == 2 and "reload failed" in err and "nowhere" in err,
          f"reload of a broken config: exit 2, says why ({err.strip()})")
    rc, st, _ = jctl(sock, "status")
    check(st["models"] == 3 and st["reload_failures"] == 1,
          "the running config stayed after the broken reload")
    with open(cfg, "w") as f:
        f.write(good)
    rc, r, _ = jctl(sock, "reload")
    check(rc == 0 and r["models"] == 2, "reload removes m3 again")


def malformed(P, sock, warmd):
    def status_of(payload):
        r = request(sock, payload)
        return r[2], r[1], r[3]

    st, seq, f = status_of(mp([VERSION, 41, CMD["status"], {}]))
    check(st == OK and seq == 41 and f["pid"] == warmd.pid,
          "a hand-encoded status request is answered, seq echoed")
    st, seq, f = status_of(mp([99, 42, CMD["status"], {}]))
    check(st == BAD_VERSION and seq == 42 and f["version"] == VERSION and
          "version" in f["error"], f"wrong version: {f}")
    st, seq, f = status_of(mp([VERSION, 43, 99, {}]))
    check(st == BAD_COMMAND and seq == 43, f"unknown command: {f}")
    st, _, f = status_of(mp([VERSION, 44, 0, {}]))
    check(st == BAD_COMMAND, "command 0")
    for fields, what in (({"model": 5}, "model as an integer"),
                         ({}, "model missing"),
                         ({"model": "m1", "force": True}, "an unknown field"),
                         ({"model": "a b"}, "model with a space"),
                         ({"model": "x" * 200}, "model too long")):
        st, seq, f = status_of(mp([VERSION, 45, CMD["warm"], fields]))
        check(st == BAD_FIELD and seq == 45, f"warm with {what}: "
              f"{f.get('error')}")
    st, _, f = status_of(mp([VERSION, "x", CMD["status"], {}]))
    check(st == BAD_FRAME, f"seq as a string: {f['error']}")
    st, _, f = status_of(mp([VERSION, 1, CMD["status"]]))
    check(st == BAD_FRAME, "a 3-element request")
    st, _, f = status_of(b"\xdd\xff\xff\xff\xff")
    check(st == BAD_FRAME, f"array of 4G elements in 5 bytes: {f['error']}")
    st, _, f = status_of(mp([VERSION, 1, 1, {}]) + b"\x00")
    check(st == BAD_FRAME, "a byte after the message")

    # Garbage in a valid frame: answered, and the connection goes on.
    c = Raw(sock)
    c.send(frame(b"\xc1\xc1garbage"))
    r = c.reply()
    c.send(frame(mp([VERSION, 46, CMD["status"], {}])))
    r2 = c.reply()
    c.close()
    check(r[2] == BAD_FRAME and r2[2] == OK and r2[1] == 46,
          "garbage payload: error reply, then the next request is served")

    # Framing errors: answered, then the connection is closed.
    c = Raw(sock)
    c.send(b"hello warmd, this is not a frame\n")
    r = c.reply()
    check(r[2] == BAD_FRAME and "frame length" in r[3]["error"] and c.closed(),
          f"garbage bytes: {r[3]['error']}, connection closed")
    c.close()
    for length, what in ((1 << 20, "oversized length"), (0, "zero length")):
        c = Raw(sock)
        c.send(struct.pack(">I", length))
        r = c.reply()
        check(r[2] == BAD_FRAME and c.closed(), f"{what}: {r[3]['error']}")
        c.close()
    c = Raw(sock)
    c.send(struct.pack(">I", 20) + b"\x94\x01\x01")
    c.s.shutdown(socket.SHUT_WR)
    r = c.reply()
    check(r[2] == BAD_FRAME and "truncated" in r[3]["error"],
          f"truncated frame: {r[3]['error']}")
    c.close()
    c = Raw(sock)
    c.send(b"\x00\x00")
    c.s.shutdown(socket.SHUT_WR)
    r = c.reply()
    check(r[2] == BAD_FRAME and "truncated" in r[3]["error"],
          f"truncated header: {r[3]['error']}")
    c.close()

    # A hung client (half a frame, then nothing) holds only its own thread.
    hung = Raw(sock)
    hung.send(struct.pack(">I", 30) + b"\x94")
    idle = Raw(sock)  # and one that never sends at all
    t0 = time.time()
    rc, st, _ = jctl(sock, "status")
    took = time.time() - t0
    check(rc == 0 and took < 2, f"status served in {took:.2f}s beside two "
          "hung clients")
    rc, out = P.warmctl("list")
    check(rc in (0, 1) and "STALE" not in out,
          "the main loop kept its heartbeat meanwhile")
    r = hung.reply()
    check(r is not None and r[2] == BAD_FRAME,
          f"the hung client got a timeout reply: {r and r[3]['error']}")
    hung.close()
    idle.close()
    check(warmd.poll() is None, "warmd survived every malformed message")


def unprivileged(P, sock, cfg_port):
    """Run as root: warmctl as user nobody."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("SKIP: unprivileged peers need root and setpriv")
        return
    # Socket root:root 0660, no [warmd] group: nobody with primary group
    # root can connect (read-only) but may not change anything.
    rc, st, err = jctl(sock, "status", user=NOBODY, gid=0)
    check(rc == 0 and st["models"] == 2,
          f"nobody (group root) may run status ({err.strip()[-80:]})")
    rc, _, err = jctl(sock, "stats", user=NOBODY, gid=0)
    check(rc == 0, "nobody (group root) may run stats")
    for args in (("pause", "m1"), ("warm", "m1"), ("reload",)):
        rc, out, err = jctl(sock, *args, user=NOBODY, gid=0)
        check(rc == 2 and out is None and "permission denied" in err,
              f"nobody may not {args[0]}: exit 2 ({err.strip()[-90:]})")
    rc, p, _ = jctl(sock, "stats", "m1")
    check(not p["models"][0]["paused"], "the refused pause changed nothing")
    rc, _, err = jctl(sock, "status", user=NOBODY, gid=NOBODY)
    check(rc == 2 and "permission denied" in err,
          "nobody outside the socket's group cannot even connect")

    # With [warmd] control_group = nogroup: its members may change things,
    # as primary or as supplementary group (test_ctlperm.py: the socket's
    # group alone may only read).
    port, sock2 = cfg_port, P.path("run2/warmd.sock")
    os.makedirs(os.path.dirname(sock2), mode=0o711)
    stale_socket(sock2)
    cfg2 = P.config(port, {"g1": {"interval": "1h"}},
                    warmd={"control_socket": sock2, "group": "nogroup",
                           "control_group": "nogroup",
                           "shm": P.shm + "-g"}, name="group.conf")
    w2 = P.warmd(cfg2)
    try:
        wait_for(lambda: os.path.exists(sock2) and
                 warmctl(sock2, "status")[0] == 0, 10, "the second warmd")
        check("removed stale control socket" in P.log("warmd.log"),
              "a stale socket file from a dead warmd is replaced")
        mode = os.stat(sock2)
        check(mode.st_mode & 0o777 == 0o660 and mode.st_gid == NOBODY,
              f"socket mode {oct(mode.st_mode & 0o777)}, group {mode.st_gid}")
        rc, p, err = jctl(sock2, "pause", "g1", user=NOBODY, gid=NOBODY)
        check(rc == 0 and p["paused"], f"a member (primary group) may pause "
              f"({err.strip()[-80:]})")
        rc, p, err = jctl(sock2, "resume", "g1", user=NOBODY, gid=1,
                          groups=str(NOBODY))
        check(rc == 0 and not p["paused"],
              f"a member (supplementary group) may resume ({err.strip()[-80:]})")
    finally:
        w2.terminate()
        w2.wait(timeout=10)
        unlink_shm(P.shm + "-g")


def test():
    bound(240)
    with Procs() as P:
        os.chmod(P.tmp, 0o711)  # nobody must reach the socket below it
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                             "--fault", "m2=500")
        sock = P.path("run/warmd.sock")  # run/ does not exist: warmd makes it
        cfg = P.config(port, {"m1": {"interval": "1h"},
                              "m2": {"interval": "1h", "fall": "1"}},
                       warmd={"control_socket": sock})
        warmd = P.warmd(cfg)
        wait_for(lambda: os.path.exists(sock), 10, "the control socket")
        check(os.stat(sock).st_mode & 0o777 == 0o660, "socket mode 0660")
        http(port, "/_reset", {})
        # A second warmd on the same socket leaves the running one alone.
        other = P.config(port, {"x": {}}, warmd={"control_socket": sock,
                                                 "shm": P.shm + "-o"},
                         name="other.conf")
        p2 = subprocess.Popen([binary("tools/warmd/warmd"), "-f", "-c", other],
                              stdout=subprocess.DEVNULL,
                              stderr=open(P.path("other.log"), "w"))
        P.procs.append(p2)
        wait_for(lambda: "in use by a running warmd" in P.log("other.log"),
                 10, "the second warmd to notice the socket is in use")
        p2.terminate()
        p2.wait(timeout=10)
        unlink_shm(P.shm + "-o")
        check(warmctl(sock, "status")[0] == 0,
              "a second warmd did not take the socket of the running one")

        commands(P, port, sock, cfg, warmd)
        malformed(P, sock, warmd)
        unprivileged(P, sock, port)
        warmd.terminate()
        check(warmd.wait(timeout=15) == 0, "warmd exits 0")
        check(not os.path.exists(sock), "warmd removed its socket at exit")
        rc, _, err = warmctl(sock, "status")
        check(rc == 2 and "no control socket" in err,
              "with warmd gone: exit 2, no control socket")


if __name__ == "__main__":
    main(test)
