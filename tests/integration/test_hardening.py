"""A hostile worker against warmd, and two coordinators after a stall
(issue 12, items 1 and 5).

1. warmd runs with `group` set; a pre-fork master (worker-sim --prefork)
   has opened the table and touched, so it maps the demand segment.  A
   member of the group (a user and group this test creates, and removes
   after) then shrinks whatever workers can write: the named
   /NAME.demand of the old design, and the memfd it gets from warmd like
   any worker.  warmd must keep running (before: SIGBUS at its next demand
   scan), the resize must fail, and a user outside the group gets no
   descriptor at all.  Then warmd restarts (adopting the table), the
   master forks its children, and they must live and their touches reach
   the new warmd (before: children of a master that mapped the truncated
   segment died at their first touch until the master restarted).
2. warmd A is stopped (SIGSTOP) past stale_after; warmd B (another pidfile
   and control socket, the same table) must refuse to start, naming A's pid
   and how to clear it (before: B adopted the table and both wrote it).
   After kill -9 A, B starts and adopts.

Needs root and setpriv for the users; without them, part 1's hostile user
is skipped (said on stdout) and the rest runs.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from harness import Procs, binary, bound, check, main, wait_for

FAST = {"interval": "300ms", "jitter": "0%", "warm_ttl": "3s"}
TAG = f"wt{os.getpid() % 100000}"
USER, GROUP, OUTSIDER = f"{TAG}h", f"{TAG}g", f"{TAG}o"

# lib/layout.h and lib/dsock.h, as conftest.py of the Python binding reads
# them: where the state header names its demand segment, and the message.
DEMAND_ID_OFF = 128
DS_MSG = struct.Struct("=IHHQ")

# Run as the hostile user: tries to resize what a worker can write, prints
# one line "named=<result> memfd=<result> shrink=<r> grow=<r>".  argv: the
# table, and the demand id (a group member reads it in the state header; an
# outsider cannot, so the test tells it, to show the server refuses it).
HOSTILE = r"""
import os, socket, struct, sys
shm, did, out = sys.argv[1], int(sys.argv[2]), []
try:
    fd = os.open("/dev/shm" + shm + ".demand", os.O_RDWR)
    try:
        os.ftruncate(fd, 0); out.append("named=resized")
    except OSError as e:
        out.append("named=" + e.strerror.replace(" ", "_"))
except OSError as e:
    out.append("named=" + e.strerror.replace(" ", "_"))
if did == 0:
    with open("/dev/shm" + shm, "rb") as f:
        f.seek(128)
        (did,) = struct.unpack("=Q", f.read(8))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(b"\0warmth-demand-%016x" % did)
msg, fds, _, _ = socket.recv_fds(s, 16, 4)
if not fds:
    out.append("memfd=refused")
else:
    out.append("memfd=got")
    for what, size in (("shrink", 0), ("grow", 1 << 24)):
        try:
            os.ftruncate(fds[0], size); out.append(what + "=resized")
        except OSError as e:
            out.append(what + "=" + e.strerror.replace(" ", "_"))
print(" ".join(out))
"""


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def as_user(user, group, code, *args):
    r = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={group}",
                        "--clear-groups", sys.executable, "-c", code, *args],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def demand_id(shm):
    with open("/dev/shm" + shm, "rb") as f:
        f.seek(DEMAND_ID_OFF)
        return struct.unpack("=Q", f.read(8))[0]


def demand_fds(shm):
    """The running warmd's demand segment, fetched as root like a worker
    (lib/dsock.h).  A warmd that just started names its pid in the header
    a moment before its demand segment: retried for a few seconds."""
    end = time.time() + 5
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(b"\0warmth-demand-%016x" % demand_id(shm))
                _, fds, _, _ = socket.recv_fds(s, DS_MSG.size, 1)
            if fds:
                return fds
        except OSError:
            if time.time() > end:
                raise
        time.sleep(0.05)


def demand_touches(shm, slot):
    """Touches of `slot` in the running warmd's demand segment."""
    fds = demand_fds(shm)
    try:
        data = os.pread(fds[0], 1 << 20, 0)
    finally:
        for fd in fds:
            os.close(fd)
    off = struct.unpack_from("=Q", data, 32)[0]  # dhdr.off_slots
    return struct.unpack_from("=Q", data, off + slot * 64 + 8)[0]


def table(P):
    """warmctl's JSON list: {"coordinator": {...}, "models": [...]}."""
    r = subprocess.run([binary("tools/warmctl/warmctl"), "--shm", P.shm,
                        "--json", "list"], capture_output=True, text=True,
                       timeout=20)
    return json.loads(r.stdout)


def warm(P, model):
    return P.warmctl("check", model)[0] == 0


def model_slot(P, model):
    for m in table(P)["models"]:
        if m["name"] == model:
            return m["slot"]
    raise AssertionError(f"{model} not in warmctl list")


def last_start(P):
    lines = [x for x in P.log("warmd.log").splitlines() if " started: " in x]
    return lines[-1] if lines else ""


def hostile_and_prefork(P, port, privileged):
    cfg = P.config(port, {"m1": FAST, "m2": FAST},
                   warmd={"group": GROUP if privileged else "root",
                          "stale_after": "2s"})
    d1 = P.warmd(cfg)
    wait_for(lambda: warm(P, "m1"), 10, "m1 warm")
    master = P.spawn([binary("tests/worker-sim"), "--shm", P.shm, "--models",
                      "m1,m2", "--seconds", "1.5", "--period-ms", "5",
                      "--prefork", "3"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    check(master.stdout.readline().strip() == "ready",
          "the pre-fork master opened the table and touched (demand mapped)")

    if privileged:
        rc, out, err = as_user(USER, GROUP, HOSTILE, P.shm, "0")
        check(rc == 0, f"the hostile group member ran: {out} {err[-200:]}")
        check("named=No_such_file_or_directory" in out,
              f"no named demand segment to resize ({out})")
        check("memfd=got" in out and "shrink=Operation_not_permitted" in out
              and "grow=Operation_not_permitted" in out,
              f"a group member gets the demand memfd but cannot resize it "
              f"({out})")
        rc, out, err = as_user(OUTSIDER, OUTSIDER, HOSTILE, P.shm,
                               str(demand_id(P.shm)))
        check(rc == 0 and "memfd=refused" in out,
              f"a user outside the group is refused the demand segment "
              f"({out or err[-200:]})")
    else:
        print("SKIP: hostile user (needs root and setpriv)")
    time.sleep(0.5)  # several demand scans (tick 20 ms)
    check(d1.poll() is None, "warmd still runs after the resize attempts")
    check(table(P)["coordinator"]["pid"] == d1.pid and
          not table(P)["coordinator"]["stale"], "and keeps its heartbeat")

    # warmd restarts (adopts the table, serves a new demand segment); the
    # master forks only now, as a prefork server does on its own schedule.
    d1.send_signal(signal.SIGTERM)
    check(d1.wait(timeout=10) == 0, "the first warmd stopped cleanly")
    d2 = P.warmd(cfg)
    wait_for(lambda: warm(P, "m1") and
             table(P)["coordinator"]["pid"] == d2.pid, 10,
             "m1 warm under the second warmd")
    slot = model_slot(P, "m1")
    before = demand_touches(P.shm, slot)
    master.stdin.write("go\n")
    master.stdin.flush()
    out, _ = master.communicate(timeout=30)
    check(master.returncode == 0 and "killed=0 failed=0" in out,
          f"the master's children lived through the restart: {out.strip()}")
    after = demand_touches(P.shm, slot)
    check(after - before >= 3,
          f"their touches reached the new warmd ({after - before} touches)")
    d2.send_signal(signal.SIGTERM)
    check(d2.wait(timeout=10) == 0, "the second warmd stopped cleanly")


def stalled_coordinator(P, port):
    cfg_a = P.config(port, {"m1": FAST},
                     warmd={"stale_after": "1s", "pidfile": P.path("a.pid")},
                     name="a.conf")
    cfg_b = P.config(port, {"m1": FAST},
                     warmd={"stale_after": "1s", "pidfile": P.path("b.pid"),
                            "control_socket": P.path("b.sock")},
                     name="b.conf")
    a = P.warmd(cfg_a)
    wait_for(lambda: warm(P, "m1") and
             table(P)["coordinator"]["pid"] == a.pid, 10, "m1 warm under A")
    a.send_signal(signal.SIGSTOP)
    try:
        time.sleep(1.5)  # past stale_after: the heartbeat says "dead"
        check(table(P)["coordinator"]["stale"], "A's heartbeat reads stale")
        blog = open(P.path("b.log"), "w")
        b = P.spawn([binary("tools/warmd/warmd"), "-f", "-c", cfg_b],
                    stdout=blog, stderr=blog)
        try:
            rc = b.wait(timeout=20)
        except subprocess.TimeoutExpired:
            b.kill()
            b.wait()
            rc = "still running"
        text = P.log("b.log")
        check(rc == 1, f"warmd B refused to start while A is stopped "
              f"(exit {rc}): {text[-300:]}")
        check(f"pid {a.pid}" in text and "kill -CONT" in text,
              f"B names A's pid and how to clear it: {text[-300:]}")
    finally:
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=10)
    b = P.warmd(cfg_b)
    wait_for(lambda: table(P)["coordinator"]["pid"] == b.pid or
             b.poll() is not None, 10, "B to start")
    check(b.poll() is None, "after kill -9 A, warmd B starts")
    check(f"pid {b.pid}" in last_start(P) and "(adopted)" in last_start(P),
          f"B adopted the table: {last_start(P)}")
    b.send_signal(signal.SIGTERM)
    check(b.wait(timeout=10) == 0, "B stopped cleanly")


def test():
    bound(150)
    privileged = os.geteuid() == 0 and shutil.which("setpriv") and \
        shutil.which("groupadd") and shutil.which("useradd")
    made = []
    try:
        if privileged:
            for g in (GROUP, OUTSIDER):
                sh("groupadd", g)
                made.append(("groupdel", g))
            for u, g in ((USER, GROUP), (OUTSIDER, OUTSIDER)):
                sh("useradd", "-M", "-N", "-g", g, "-s", "/usr/sbin/nologin",
                   u)
                made.insert(0, ("userdel", u))
        with Procs() as P:
            _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
            hostile_and_prefork(P, port, privileged)
            stalled_coordinator(P, port)
    finally:
        for cmd, name in made:
            subprocess.run([cmd, name], capture_output=True, timeout=30)


if __name__ == "__main__":
    main(test)
