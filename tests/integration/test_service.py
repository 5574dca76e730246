"""warmd as a service: detaching, the pidfile, start-up errors, log levels,
and the man pages against --help and warmth.h.

Without -f, `warmd` must return 0 only once the daemon runs (detached: no
terminal, cwd /, stdio on /dev/null, pidfile written), refuse a second
start on the same pidfile or table with a non-zero exit and the reason,
report a start-up error after detaching with exit 1, take over a stale
pidfile, remove its pidfile at exit, and find its config again on SIGHUP
after the chdir("/") (a relative -c path)."""
import os
import re
import signal
import subprocess
import time

from harness import (SRCDIR, Procs, binary, bound, check, main, unlink_shm,
                     wait_for)
from ops import pid_alive, sample, wait_sample

WARMD = binary("tools/warmd/warmd")


def run(*args, cwd=None, timeout=20):
    r = subprocess.run([WARMD, *args], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


STARTED = []  # daemons this test started: killed at the end, whatever happens


def read_pid(path):
    with open(path) as f:
        pid = int(f.read().strip())
    if pid != os.getpid():
        STARTED.append(pid)
    return pid


def stop(pid, pidfile):
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), 10, f"warmd {pid} to stop")
    check(not os.path.exists(pidfile), "the pidfile is removed at exit")


def man_options(path):
    text = open(path).read()
    sect = text.split(".SH OPTIONS", 1)[1].split("\n.SH", 1)[0]
    sect = sect.replace("\\-", "-")
    return sorted(set(re.findall(r"--([a-z][a-z-]*)", sect))), \
        sorted(set(re.findall(r"^\.BR? -([a-zA-Z])\b", sect, re.M)))


def test_daemon(P, port):
    cfg = P.config(port, {"m1": {"interval": "300ms", "warm_ttl": "3s"}})
    pidfile = P.path("warmd.pid")

    # A relative -c path, started from the config's directory: after the
    # chdir("/") a reload must still find the file.
    rc, out, err = run("-c", "warmd.conf", "-p", pidfile, cwd=P.tmp)
    check(rc == 0 and out == "" and err == "",
          f"warmd detached and returned 0 with nothing printed ({rc}, {err!r})")
    pid = read_pid(pidfile)
    check(pid_alive(pid), f"the pidfile names a live process ({pid})")
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ppid, sid = int(stat[1]), int(stat[3])
    check(ppid != os.getpid() and sid != os.getsid(0) and sid != pid,
          f"the daemon is in a new session and no session leader "
          f"(ppid {ppid}, sid {sid})")
    check(os.readlink(f"/proc/{pid}/cwd") == "/", "its working directory is /")
    check(all(os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
              for fd in (0, 1, 2)), "its stdin, stdout and stderr are /dev/null")
    wait_sample(P, ["m1"], lambda m, h: h["pid"] == pid and m["m1"]["warm"], 10,
                "the daemon to warm m1")

    rc, _, err = run("-c", cfg, "-p", pidfile)
    check(rc == 1 and f"already running (pid {pid})" in err,
          f"a second start on the same pidfile fails: {rc} {err.strip()!r}")
    rc, _, err = run("-c", cfg, "-p", P.path("other.pid"))
    check(rc == 1 and "held by another coordinator" in err and
          f"(pid {pid} " in err,
          f"a second start on the same table fails: {rc} {err.strip()!r}")
    check(not os.path.exists(P.path("other.pid")),
          "the failed start left no pidfile")
    check(read_pid(pidfile) == pid, "the running daemon's pidfile is intact")

    with open(cfg, "a") as f:
        f.write("\n[model m2]\nendpoint = local\ninterval = 300ms\n")
    os.kill(pid, signal.SIGHUP)
    wait_sample(P, ["m2"], lambda m, h: m["m2"]["rc"] == 0, 10,
                "the reload (relative config path, after chdir /) to add m2")
    check(True, "SIGHUP reloaded the config named by a relative path")
    stop(pid, pidfile)

    # A pidfile left by a killed warmd names a dead (or recycled) pid and
    # holds no lock: it is taken over.
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")  # a live pid, but not a warmd
    rc, _, err = run("-c", cfg, "-p", pidfile)
    check(rc == 0, f"a stale pidfile is taken over ({rc} {err!r})")
    pid = read_pid(pidfile)
    check(pid != os.getpid() and pid_alive(pid), "and rewritten with the new pid")
    stop(pid, pidfile)

    # Start-up errors after detaching reach the caller.
    rc, _, err = run("-c", cfg, "-p", P.path("no/such/dir/warmd.pid"))
    check(rc == 1 and "cannot open pidfile" in err,
          f"a pidfile that cannot be written: exit 1, {err.strip()!r}")
    bad = P.config(port, {"m1": {}}, warmd={"shm": "/no/slash"}, name="bad.conf")
    rc, _, err = run("-c", bad)
    check(rc == 2 and "shm" in err, f"a bad config: exit 2, {err.strip()!r}")
    # The table owned by a foreign magic: refused after detaching.
    fake = f"/warmth-it-foreign-{os.getpid()}"
    with open("/dev/shm" + fake, "wb") as f:
        f.write(b"NOTWARMTH" * 1000)
    try:
        other = P.config(port, {"m1": {}}, warmd={"shm": fake}, name="o.conf")
        rc, _, err = run("-c", other, "-p", P.path("o.pid"))
        check(rc == 1 and "not a warmth segment" in err,
              f"a foreign segment: exit 1, {err.strip()!r}")
        check(not os.path.exists(P.path("o.pid")),
              "and the pidfile is gone again")
    finally:
        unlink_shm(fake)  # and the .lock warmd made beside it


def test_foreground(P, port):
    sock = P.path("fg.sock")
    cfg = P.config(port, {"m1": {"interval": "300ms"}}, name="fg.conf",
                   warmd={"control_socket": sock})
    for args, want in ((["-q"], False), ([], True)):
        log = P.path("fg.log")
        with open(log, "w") as f:
            p = subprocess.Popen([WARMD, "-f", "-c", cfg, *args], stdout=f,
                                 stderr=f)
        try:
            # Started, on what warmd did rather than a fixed sleep (0.8 s
            # was too short for a loaded machine): its control socket
            # exists once its signal handlers are in and just before the
            # start notice, which it logs whenever SIGINT comes after.
            wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                     20, "warmd -f to open its control socket")
        finally:
            p.send_signal(signal.SIGINT)
            rc = p.wait(timeout=10)
        text = open(log).read()
        check(rc == 0, f"-f {' '.join(args)}: SIGINT stops it with 0")
        check(("[notice]: warmd" in text and " started: " in text) == want,
              f"-f {' '.join(args) or '(default)'}: the start notice is "
              f"{'logged' if want else 'not logged'} on stderr")
    rc, _, err = run("-f", "-v", "-q", "-c", cfg)
    check(rc == 2, "-v and -q together are refused")


def test_docs():
    rc, out, _ = run("--help")
    check(rc == 0, "warmd --help exits 0")
    help_long = sorted(set(re.findall(r"--([a-z][a-z-]*)", out)))
    help_short = sorted(set(re.findall(r"^  -([a-zA-Z]),", out, re.M)))
    man_long, man_short = man_options(os.path.join(SRCDIR, "tools/warmd/warmd.8"))
    check(help_long == man_long,
          f"warmd(8) lists the long options of --help: {help_long} / {man_long}")
    check(help_short == man_short,
          f"warmd(8) lists the short options of --help: {help_short} / "
          f"{man_short}")
    # Which options take a value (-c FILE, -p PIDFILE), in both.
    help_arg = sorted(re.findall(r"^ +(?:-[a-zA-Z], )?--([a-z-]+) [A-Z]", out,
                                 re.M))
    sect = open(os.path.join(SRCDIR, "tools/warmd/warmd.8")).read().split(
        ".SH OPTIONS", 1)[1].split("\n.SH", 1)[0]
    man_arg = sorted(re.findall(r'^\.BR? .*\\-\\-([a-z-]+) " ?\\fI', sect,
                                re.M))
    check(help_arg and help_arg == man_arg,
          f"warmd(8) and --help agree on the options that take a value: "
          f"{help_arg} / {man_arg}")
    header = open(os.path.join(SRCDIR, "include/warmth.h")).read()
    funcs = sorted(set(re.findall(r"WARMTH_EXPORT [^;(]*?\b(warmth_[a-z_]+)\(",
                                  header)))
    man3 = open(os.path.join(SRCDIR, "doc/libwarmth.3")).read()
    missing = [f for f in funcs if not re.search(
        rf"\.BR {f} \(\)|\b{f}\(", man3)]
    check(len(funcs) >= 15 and not missing,
          f"libwarmth(3) describes all {len(funcs)} functions of warmth.h "
          f"(missing: {missing})")
    # Every flag, state, error class and error code warmth.h defines: the
    # flags and codes by their macro, states and classes by the name
    # warmth_state_name() and warmth_error_class_name() give them.
    plain = man3.replace("\\-", "-").replace("\\_", "_")
    flags = re.findall(r"#define (WARMTH_F_[A-Z_]+) ", header)
    states = [n.lower() for n in re.findall(
        r"^\s+WARMTH_([A-Z]+) = \d+,", header, re.M)]
    classes = [n.lower() for n in re.findall(
        r"^\s+WARMTH_ERR_([A-Z]+) = \d+,", header, re.M)]
    codes = ["WARMTH_E" + n for n in re.findall(r"XX\((\w+),", header)]
    missing = ([f for f in flags + codes if f not in plain] +
               [f'"{n}"' for n in states + classes if f'"{n}"' not in plain])
    check(len(flags) >= 10 and len(states) >= 8 and len(classes) >= 10 and
          len(codes) >= 20 and not missing,
          f"libwarmth(3) names warmth.h's {len(flags)} flags, {len(states)} "
          f"states, {len(classes)} error classes and {len(codes)} error "
          f"codes (missing: {missing})")


def test():
    bound(120)
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        try:
            test_docs()
            test_foreground(P, port)
            test_daemon(P, port)
        finally:
            for pid in STARTED:
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main(test)
