"""What warmd says when it starts, when it cannot, and at level debug
(issue 12, items 11, 13 and 15).

1. Start-up failures (item 15): an HTTP address that cannot be bound, a
   pidfile in a missing directory, a state file in a missing directory, an
   event log in a missing directory.  Each must exit 1 with one line
   "start-up failed: STEP: REASON" naming the step, with a non-empty
   reason carrying the system's error text (before: the publisher and the
   prober could fail with "start-up failed: " and nothing after it).
2. A squatted table name (item 11): /dev/shm/NAME made by another user
   (chowned to a user this test creates and removes after; nobody without
   useradd) and held open by a process.  warmd must refuse to start (it
   did), and say whose it is (uid and user name), its mode, the pid that
   holds it, and how to clear it (rm /dev/shm/NAME).  Needs root (chown);
   skipped with a message otherwise.
3. Debug logging (item 13): warmd -v against the test upstream logs debug
   lines: a warmup sent and finished (model, endpoint, status, latency), a
   skip with its reason (a model nobody touches, idle), a control request
   (pause), the reload diff; so does log_level = debug without -v; without
   either, none of them.  No key reaches the log.
4. Bad input (before all that): a bad command line, and a config with a bad
   value, an unknown key or provider, a missing key file or variable, or a
   model name too long: exit 2 and one line that names what was wrong,
   with --check-config and at a real start alike.
"""
import os
import pwd
import re
import shutil
import subprocess
import time

from harness import (Procs, binary, bound, check, main, model_requests,
                     unlink_shm, wait_for)

KEY = "sk-startup-test-0123456789abcdef"


def run_failing(P, cfg, *args):
    """warmd must exit by itself (1) within its bound; returns its output."""
    r = subprocess.run([binary("tools/warmd/warmd"), "-f", "-c", cfg, *args],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def startup_failures(P, port):
    cases = [
        ("HTTP (health and metrics)", {"http_listen": "192.0.2.1:9464"}, (),
         "Cannot assign requested address"),
        ("pidfile", {}, ("-p", P.path("missing/warmd.pid")),
         "No such file or directory"),
        ("state file", {"state_file": P.path("missing/state")}, (),
         "No such file or directory"),
        ("event log", {"event_log": P.path("missing/events.jsonl")}, (),
         "No such file or directory"),
    ]
    for i, (step, keys, args, why) in enumerate(cases):
        w = {"shm": f"{P.shm}-f{i}"}
        w.update(keys)
        cfg = P.config(port, {"m": {}}, warmd=w, name=f"fail{i}.conf")
        try:
            rc, out = run_failing(P, cfg, *args)
        finally:
            unlink_shm(w["shm"])
        m = re.search(r"start-up failed: ([^:]+(?: \([^)]*\))?): (.*)", out)
        check(rc == 1 and m is not None,
              f"{step}: warmd exits 1 with a 'start-up failed' line "
              f"(rc {rc}: {out.strip()[-300:]!r})")
        check(m.group(1) == step and m.group(2).strip() and why in m.group(2),
              f"{step}: the line names the step and says why "
              f"({m.group(0).strip()!r})")


def make_user(name):
    if os.geteuid() != 0 or not shutil.which("useradd"):
        return None
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", name], check=True,
                   capture_output=True)
    return name


def squatted(P, port):
    if os.geteuid() != 0:
        print("skip - squatted segment: needs root to chown it")
        return
    user = make_user(f"wsq{os.getpid() % 100000}")
    holder = None
    shm = f"{P.shm}-squat"
    path = "/dev/shm" + shm
    try:
        pw = pwd.getpwnam(user or "nobody")
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        os.ftruncate(fd, 4096)
        os.fchmod(fd, 0o644)
        os.fchown(fd, pw.pw_uid, pw.pw_gid)
        os.close(fd)
        holder = P.spawn(["python3", "-c",
                          "import os, sys, time\n"
                          "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
                          "print('open', flush=True)\n"
                          "time.sleep(60)\n", path],
                         stdout=subprocess.PIPE, text=True)
        check(holder.stdout.readline().strip() == "open",
              f"a process (pid {holder.pid}) holds {path} open")
        cfg = P.config(port, {"m": {}}, warmd={"shm": shm}, name="squat.conf")
        rc, out = run_failing(P, cfg)
        check(rc == 1 and "refusing to touch it" in out,
              "warmd refuses a table name another user holds")
        for what, needle in (
                ("the owner's uid", f"uid {pw.pw_uid} ({pw.pw_name})"),
                ("the mode", "mode 0644"),
                ("the pid that holds it", f"pid {holder.pid} (python3)"),
                ("the remedy", f"rm {path}")):
            check(needle in out, f"the message names {what}: {needle!r}")
        check(os.stat(path).st_uid == pw.pw_uid,
              "the squatted file is left as it was")
    finally:
        if holder:
            holder.kill()
            holder.wait()
        unlink_shm(shm)
        if user:
            subprocess.run(["userdel", user], capture_output=True)


DEBUG_PATTERNS = {
    "warmup sent": r"debug\]: model fast: due, warmup sent \(endpoint local",
    "warmup finished": r"debug\]: model fast: warmup finished \(endpoint "
                       r"local\): ok, http 200, \w+, \d+ ms",
    "skip with its reason": r"debug\]: model idler: due, skipped: idle",
    "control request": r"debug\]: control: model paused: pause requested",
    "control command": r"debug\]: control: status\n",
    "reload diff": r"debug\]: reload: model added1 added",
}


def debug_run(P, port, verbose, level=None):
    """verbose: -v; level: log_level in the config (else the default)."""
    log = P.path("warmd.log")
    if os.path.exists(log):
        os.unlink(log)
    models = {"fast": {"interval": "300ms", "jitter": "0%", "warm_ttl": "3s"},
              "paused": {"interval": "300ms", "jitter": "0%"},
              # never touched: skipped as idle once idle_after has passed
              "idler": {"interval": "300ms", "jitter": "0%",
                        "idle_after": "1s"}}
    env = dict(os.environ, STARTUP_TEST_KEY=KEY)
    w_keys = {"log_level": level} if level else None
    cfg = P.config(port, models, warmd=w_keys,
                   endpoint={"api_key_env": "STARTUP_TEST_KEY"},
                   name="debug.conf")
    seen = model_requests(port, "fast")
    w = P.warmd(cfg, *(["-v"] if verbose else []), env=env)
    wait_for(lambda: "control socket" in P.log("warmd.log") or
             w.poll() is not None, 20, "warmd's control socket")
    rc, out = P.warmctl("pause", "paused", "--socket", P.path("warmd.sock"))
    rc2, out2 = P.warmctl("status", "--socket", P.path("warmd.sock"))
    check(rc2 == 0, f"warmctl status answered ({out2.strip()[-200:]!r})")
    check(rc == 0, f"warmctl pause answered ({out.strip()[-200:]!r})")
    # Wait on what warmd did, not on the clock: two finished warmups of
    # fast (its own counter through the upstream) and a skip of paused.
    wait_for(lambda: model_requests(port, "fast") >= seen + 2, 30,
             "two warmups of fast at the upstream")
    models["added1"] = {"interval": "60s"}
    P.config(port, models, warmd=w_keys,
             endpoint={"api_key_env": "STARTUP_TEST_KEY"}, name="debug.conf")
    w.send_signal(1)  # SIGHUP: reload
    wait_for(lambda: "reloaded" in P.log("warmd.log"), 20, "the reload")
    if verbose or level == "debug":  # every line expected, bounded (a busy machine is slow)
        try:
            wait_for(lambda: all(re.search(p, P.log("warmd.log"))
                                 for p in DEBUG_PATTERNS.values()), 20,
                     "the debug lines")
        except TimeoutError:
            pass  # debug_logging() says which one is missing
    else:  # as long as the -v run needed to show them all
        time.sleep(1.0)
    w.terminate()
    w.wait(timeout=20)
    return P.log("warmd.log")


def debug_logging(P, port):
    text = debug_run(P, port, verbose=True)
    for what, pat in DEBUG_PATTERNS.items():
        check(re.search(pat, text) is not None,
              f"warmd -v logs {what} ({pat!r})")
    check(KEY not in text and KEY[:12] not in text,
          "the key never reaches the debug log")
    text = debug_run(P, port, verbose=False, level="debug")
    check(all(re.search(p, text) for p in DEBUG_PATTERNS.values()),
          "log_level = debug (no -v) logs the same debug lines")
    text = debug_run(P, port, verbose=False)
    check("debug]" not in text and "reloaded" in text,
          "without -v no debug line is logged (the run logged its reload)")


def warmd_says(*args, env=None):
    r = subprocess.run([binary("tools/warmd/warmd"), *args],
                       capture_output=True, text=True, timeout=30, env=env)
    return r.returncode, r.stdout, r.stderr


def one_error(what, rc, out, err, want):
    """A bad invocation or value: exit 2 (warmd(8)), nothing on stdout, and
    one line on stderr that names what was wrong (plus, for the command
    line, where to look), never the whole usage."""
    lines = err.splitlines()
    extra = lines[1:] in ([], ["Try 'warmd --help'."])
    check(rc == 2 and out == "" and len(lines) >= 1 and extra and
          lines[0].startswith("warmd: ") and want in lines[0],
          f"{what}: exit 2 and one line naming it (rc {rc}, stderr {err!r})")


def bad_input(P, port):
    good = P.config(port, {"m": {}}, name="good.conf")
    for args, want in (
            (["--bogus"], "unknown option '--bogus'"),
            (["-x"], "unknown option '-x'"),
            (["-c"], "option '-c' needs an argument"),
            (["-fc"], "option '-c' needs an argument"),
            (["--pidfile"], "option '--pidfile' needs an argument"),
            (["--check-config=yes", "-c", good],
             "option '--check-config' takes no argument"),
            (["--online", "-c", good], "--online goes with --check-config"),
            (["-v", "-q", "-c", good], "-v and -q"),
            (["extra", "-c", good], "unexpected argument 'extra'"),
            (["-c", P.path("missing.conf")], "missing.conf: cannot open")):
        one_error("warmd " + " ".join(a.replace(P.tmp, "TMP") for a in args),
                  *warmd_says(*args), want)
    long_name = "m" * 70
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_KEY_VAR"}
    for i, (model, ep, want) in enumerate((
            ({"interval": "5 minutes"}, {},
             "interval: '5 minutes' is not a duration"),
            ({"price_in": "-1"}, {}, "price_in: -1 is negative"),
            ({"jitter": "150%"}, {}, "jitter: 150% is out of range"),
            ({"intervall": "5s"}, {}, "did you mean 'interval'"),
            ({}, {"kind": "openia"}, "kind: 'openia' is not one of"),
            ({}, {"api_key_file": P.path("no-such.key")},
             "no-such.key: No such file or directory"),
            ({}, {"api_key_env": "NO_SUCH_KEY_VAR"},
             "NO_SUCH_KEY_VAR is not set"),
            (None, {}, "[model " + long_name))):
        models = {long_name: {}} if model is None else {"m": model}
        cfg = P.config(port, models, endpoint=ep, name=f"bad{i}.conf",
                       warmd={"shm": f"{P.shm}-bad{i}"})
        for args in (["--check-config", "-c", cfg], ["-f", "-c", cfg]):
            one_error(f"warmd {args[0]} with {model or ep or 'a long name'}",
                      *warmd_says(*args, env=env), want)
        check(not os.path.exists(f"/dev/shm{P.shm}-bad{i}"),
              "a refused config made no table")
    # A group that does not exist: warmd refuses to start (exit 1, after
    # the config was read), so --check-config refuses it too; a
    # control_group that does not exist costs warmd its control socket (a
    # warning at start): a warning here, exit 0.
    grp = f"no-such-group-{os.getpid()}"
    cfg = P.config(port, {"m": {}}, name="grp.conf", warmd={"group": grp})
    one_error("--check-config with a group that does not exist",
              *warmd_says("--check-config", "-c", cfg),
              f"group {grp} does not exist")
    cfg = P.config(port, {"m": {}}, name="cgrp.conf",
                   warmd={"control_group": grp})
    rc, out, err = warmd_says("--check-config", "-c", cfg)
    check(rc == 0 and "warnings above" in out and
          f"control_group: group {grp} does not exist" in err and
          len(err.splitlines()) == 1,
          f"--check-config with a control_group that does not exist: exit 0, "
          f"one warning ({rc}, {err!r})")


def test():
    bound(240)
    with Procs() as P:
        _, port = P.upstream()
        bad_input(P, port)
        startup_failures(P, port)
        squatted(P, port)
        debug_logging(P, port)


if __name__ == "__main__":
    main(test)
