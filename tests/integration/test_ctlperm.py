"""Who may do what on warmd's control socket (issue 12, item 4).

Reading and controlling are two permissions: [warmd] group (the workers)
reaches the socket and may run status and stats; warm, pause, resume and
reload need root, warmd's user or [warmd] control_group.  warm is
rate-limited per model (one forced warmup per min(interval, 60 s)), and one
uid cannot take every client slot.

Runs as root: it creates two groups (readers, controllers) and two users
(a worker in the readers' group; an operator in both) with unique names and
removes them afterwards, also on failure; warmctl runs as those users
through setpriv.  Without root (or setpriv, useradd, groupadd): SKIP, exit
77."""
import os
import re
import shutil
import subprocess
import sys
import time

from harness import Procs, binary, bound, check, main, model_requests, wait_for

TAG = f"{os.getpid() % 100000}"
READERS, CONTROLLERS = f"wtr{TAG}", f"wtc{TAG}"
WORKER, OPERATOR = f"wtw{TAG}", f"wto{TAG}"

# Run as the worker: opens N connections to the socket and sends a status
# request on each, reports how many warmd accepted (the status reply) and
# how many it refused at once (a BUSY reply), then keeps the accepted ones
# busy (a status request every 2 s, so the idle timeout does not free them)
# until its stdin closes.  Every connection gets an answer, waited for
# (bounded): a fixed sleep before looking was too short on a loaded machine.
HOLDER = r"""
import select, socket, struct, sys, time
path, n = sys.argv[1], int(sys.argv[2])
STATUS = struct.pack(">I", 5) + bytes([0x94, 1, 1, 1, 0x80])
BUSY = 12  # WCTL_BUSY (tools/common/ctlproto.h), the reply's third item
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conns.append(s)
for s in conns:
    try:
        s.sendall(STATUS)
    except OSError:  # refused and closed already: its BUSY reply waits
        pass
held, busy, why = [], 0, ""
end = time.monotonic() + 20
for s in conns:
    r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
    try:
        data = s.recv(4096) if r else b""
    except OSError:
        data = b""
    if len(data) > 7 and data[7] == BUSY:
        busy += 1
        why = data[4:].decode("latin-1", "replace")
        s.close()
    elif data:
        held.append(s)
print(f"held={len(held)} busy={busy} why={why!r}", flush=True)
while True:
    r, _, _ = select.select([sys.stdin], [], [], 2.0)
    if r:
        break
    for s in held:
        s.sendall(STATUS)
        s.recv(65536)
"""


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def ctl(sock, *args, user=None, group=None, extra=None, init=False):
    """warmctl as user:group with the supplementary groups extra (a
    comma-separated list), the user's own from the group database (init),
    or none.  (exit, stdout, stderr)"""
    argv = [binary("tools/warmctl/warmctl"), "--socket", sock, *args]
    if user:
        pre = ["setpriv", f"--reuid={user}", f"--regid={group}"]
        if init:
            pre.append("--init-groups")
        elif extra:
            pre.append(f"--groups={extra}")
        else:
            pre.append("--clear-groups")
        argv = pre + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def gid(name):
    import grp
    return grp.getgrnam(name).gr_gid


def test_as_root():
    with Procs() as P:
        os.chmod(P.tmp, 0o711)  # the users must reach the socket in it
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        sock = P.path("warmd.sock")
        cfg = P.config(port, {"m1": {"interval": "1h"},
                              "m2": {"interval": "2s", "jitter": "0%"}},
                       warmd={"control_socket": sock, "group": READERS,
                              "control_group": CONTROLLERS})
        P.warmd(cfg)
        wait_for(lambda: os.path.exists(sock) and
                 model_requests(port, "m1") == 1, 10,
                 "the socket and m1's first warmup")
        st = os.stat(sock)
        check(st.st_gid == gid(READERS) and st.st_mode & 0o777 == 0o660,
              "the socket is mode 0660 in the readers' group")

        # A worker (the readers' group only) reads, and changes nothing.
        w = dict(user=WORKER, group=READERS)
        rc, out, err = ctl(sock, "status", **w)
        check(rc == 0 and "models    2" in out,
              f"a worker may run status (exit {rc} {err.strip()})")
        rc, out, err = ctl(sock, "stats", **w)
        check(rc == 0 and "\nm1 " in out, f"a worker may run stats ({rc})")
        before = model_requests(port, "m1")
        for args in (("warm", "m1"), ("pause", "m1"), ("resume", "m1"),
                     ("reload",)):
            rc, out, err = ctl(sock, *args, **w)
            check(rc == 2 and "permission denied" in err and
                  f"control_group {CONTROLLERS}" in err and not out,
                  f"a worker may not {args[0]}: exit 2, {err.strip()}")
        for _ in range(10):  # what a hostile worker did: buy warmups
            ctl(sock, "warm", "m1", **w)
        time.sleep(0.3)
        check(model_requests(port, "m1") == before,
              f"11 refused warms sent no warmup ({before} requests, still)")
        rc, out, _ = ctl(sock, "stats", "m1", "--json")
        check('"paused": false' in out, "the refused pause changed nothing")

        # control_group as a supplementary group the process holds (the
        # kernel's SO_PEERGROUPS), and as the user's group in the group
        # database (setpriv --init-groups, as at login).
        rc, out, err = ctl(sock, "pause", "m1", extra=CONTROLLERS, **w)
        check(rc == 0 and "paused" in out,
              f"with control_group as a supplementary group: pause ({rc} "
              f"{err.strip()})")
        resumed_from = model_requests(port, "m1")
        rc, out, err = ctl(sock, "resume", "m1", extra=CONTROLLERS, **w)
        check(rc == 0 and "resumed" in out, f"... and resume ({rc})")
        o = dict(user=OPERATOR, group=READERS)
        rc, out, err = ctl(sock, "pause", "m1", **o)
        check(rc == 2 and "permission denied" in err,
              "an operator who dropped control_group from its process "
              "(setpriv --clear-groups) is refused: the peer's real "
              "groups count, not the group database")
        # resume sends a warmup of its own: wait for it to reach the
        # upstream (on what happened, not a fixed 0.5 s), then count.
        wait_for(lambda: model_requests(port, "m1") > resumed_from, 20,
                 "the resume's own warmup of m1")
        before = model_requests(port, "m1")
        rc, out, err = ctl(sock, "warm", "m1", init=True, **o)
        check(rc == 0 and out.startswith("m1: warmed, warm for"),
              f"an operator (control_group from the group database) may "
              f"warm: {out.strip()} {err.strip()}")
        check(model_requests(port, "m1") == before + 1,
              "that warm sent one warmup")

        # Rate limit: one forced warmup per model per min(interval, 60 s).
        rc, out, err = ctl(sock, "warm", "m1", init=True, **o)
        m = re.search(r"rate limited: next allowed in (\d+) s", err)
        check(rc == 1 and m and 30 <= int(m.group(1)) <= 60,
              f"a second warm of m1 (interval 1 h) within 60 s: exit 1, "
              f"{err.strip()}")
        rc, out, err = ctl(sock, "warm", "m1")
        check(rc == 1 and "rate limited" in err, "root is rate-limited too")
        check(model_requests(port, "m1") == before + 1,
              "the rate-limited warms sent nothing")
        rc, out, err = ctl(sock, "warm", "m2")
        check(rc == 0, f"warm m2 (interval 2 s): {out.strip()} {err.strip()}")
        t0 = time.monotonic()
        rc, out, err = ctl(sock, "warm", "m2")
        if time.monotonic() - t0 < 1.5:  # else the window may have passed
            check(rc == 1 and "rate limited" in err,
                  f"a second warm of m2 at once: {err.strip()}")
        wait_for(lambda: ctl(sock, "warm", "m2")[0] == 0, 10,
                 "warm m2 allowed again after its 2 s interval")
        check(True, "warm m2 allowed again once its interval passed")

        # Client slots: a worker opening 8 connections gets 4; root and the
        # operator still get in.
        holder = P.spawn(["setpriv", f"--reuid={WORKER}", f"--regid={READERS}",
                          "--clear-groups", sys.executable, "-c", HOLDER,
                          sock, "8"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
        line = holder.stdout.readline().strip()
        print("holder:", line)
        check(line.startswith("held=4 busy=4") and "at most 4 per user" in line,
              f"one worker uid gets at most 4 of the slots: {line}")
        t0 = time.monotonic()
        rc, out, err = ctl(sock, "status")
        check(rc == 0 and holder.poll() is None,
              f"root's status is served while the worker holds its slots "
              f"({time.monotonic() - t0:.2f}s, {err.strip()})")
        rc, out, err = ctl(sock, "stats", "m1", init=True, **o)
        check(rc == 0, f"the operator too ({err.strip()})")
        rc, out, err = ctl(sock, "status", **w)
        check(rc == 2 and "busy" in err and "per user" in err,
              f"a fifth connection of the worker: refused ({err.strip()})")
        holder.stdin.close()
        holder.wait(timeout=10)
        wait_for(lambda: ctl(sock, "status", **w)[0] == 0, 10,
                 "the worker's slots to come back")
        check(True, "the worker's slots come back when it closes them")


def test():
    bound(110)
    need = ("setpriv", "useradd", "groupadd", "userdel", "groupdel")
    if os.geteuid() != 0 or not all(shutil.which(c) for c in need):
        print("SKIP: needs root and setpriv, useradd, groupadd (creates "
              "users and groups)")
        sys.exit(77)
    made = []
    try:
        for g in (READERS, CONTROLLERS):
            sh("groupadd", g)
            made.append(("groupdel", g))
        sh("useradd", "-M", "-N", "-g", READERS, "-s", "/usr/sbin/nologin",
           WORKER)
        made.insert(0, ("userdel", WORKER))
        sh("useradd", "-M", "-N", "-g", READERS, "-G", CONTROLLERS, "-s",
           "/usr/sbin/nologin", OPERATOR)
        made.insert(0, ("userdel", OPERATOR))
        test_as_root()
    finally:
        for cmd, name in made:
            subprocess.run([cmd, name], capture_output=True, timeout=30)


if __name__ == "__main__":
    main(test)
