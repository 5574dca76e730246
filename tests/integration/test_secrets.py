"""Keys in what warmd writes, and --check-config against warmd (issue 12,
items 9 and 10).

- An upstream that echoes 18 of a 30-character key's characters (the test
  upstream's echokey fault), or 20 of a `header =` value's: warmd's log,
  its event log and warmctl's
  output hold no run of 8 or more of the key's characters, while the
  provider's message around it does arrive ("Incorrect API key provided:
  ***"), so the test sees the echo go through.
- The event log is created 0640 (even under umask 0), and warmd refuses
  an event_log path that is a symbolic link, saying so, without touching
  the target.
- --check-config runs warmd's own checks on keys: a key file every user
  may read and a key sent over http:// to a host that is not loopback give
  the warnings warmd logs, word for word; a key with a CR/LF inside makes
  both refuse with the same message.
- Leftovers of issue 12: an existing event log that every user may read
  is made 0640 when warmd owns it (with a notice) and refused, in one line,
  when another user does; an event log that cannot be opened is one line
  of log, not two.
- A fake Redis that quotes the [fleet] password in its AUTH error: no run
  of 8+ of its characters in the log, the event log, warmctl status,
  /metrics, the status page or --check-config --online.
- header_env = Name: VARIABLE: the value from the environment, sent and
  redacted like a `header =` value; unset, empty or CR/LF refused naming
  the line, by --check-config and warmd alike."""
import os
import re
import signal
import stat
import subprocess
import urllib.request

from fleetlib import FakeServer
from harness import Procs, binary, bound, check, free_port, main, wait_for

KEY = "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ0"  # 30 characters
RUN = 8  # wd_redact's rule (tools/warmd/reply.h): runs of 8+ go


def key_runs(text, key=KEY):
    """Every run of RUN or more characters of key found in text."""
    found = set()
    for i in range(len(key) - RUN + 1):
        if key[i:i + RUN] in text:
            found.add(key[i:i + RUN])
    return sorted(found)


def check_config(cfg, env):
    r = subprocess.run([binary("tools/warmd/warmd"), "--check-config", "-c",
                        cfg], capture_output=True, text=True, timeout=20,
                       env=env)
    return r.returncode, r.stdout, r.stderr


def echo_config(P, chars, endpoint, warmd=None):
    """An upstream that quotes `chars` characters of the key (or header
    value) it is sent in its 401, and a config probing it every second
    with an event log: (config path, event log path)."""
    _, port = P.upstream("--warm-ms", "2", "--cold-ms", "2",
                         "--fault", f"m=echokey:{chars}")
    events = P.path("events.jsonl")
    cfg = P.config(port, {"m": {"interval": "1s", "fall": "1"}},
                   warmd=dict(warmd or {}, event_log=events),
                   endpoint=endpoint)
    return cfg, events


def wait_echoed(P, events, in_log="Incorrect API key provided",
                what="the echoed key in the log and the event log"):
    """Until the log holds in_log and the event log the upstream's 401."""
    wait_for(lambda: in_log in P.log("warmd.log") and
             os.path.exists(events) and
             "Incorrect API key provided" in open(events).read(), 30, what)


def test_echoed_key():
    with Procs() as P:
        cfg, events = echo_config(P, 18, {"api_key_env": "WARMTH_IT_KEY"})
        env = dict(os.environ, WARMTH_IT_KEY=KEY)
        old = os.umask(0)  # the mode must not depend on the caller's umask
        try:
            P.warmd(cfg, env=env)
        finally:
            os.umask(old)
        wait_echoed(P, events)
        _, shown = P.warmctl("show", "m")
        log, ev = P.log("warmd.log"), open(events).read()
        print(log[-600:])
        print(ev[-600:])
        middle = KEY[6:24]  # what the upstream quoted: 18 of 30
        check(middle not in log and key_runs(log) == [],
              f"the log holds no run of {RUN}+ key characters "
              f"({key_runs(log)})")
        check(middle not in ev and key_runs(ev) == [],
              f"the event log holds none ({key_runs(ev)})")
        check(key_runs(shown) == [], f"warmctl show holds none ({shown!r})")
        check("Incorrect API key provided: ***" in log,
              "the provider's message arrives, the key redacted")
        mode = stat.S_IMODE(os.stat(events).st_mode)
        check(mode == 0o640, f"event log created 0640 under umask 0 "
              f"({mode:04o})")


def test_echoed_header_value():
    """The same for a gateway's token in a `header =` line (no api key: the
    upstream echoes the cf-aig-authorization token it was sent)."""
    token = "gw-0123456789abcdefghijklmnopqrs"  # 31 characters
    with Procs() as P:
        cfg, events = echo_config(
            P, 20, {"header": f"cf-aig-authorization: Bearer {token}"})
        P.warmd(cfg)
        wait_echoed(P, events, what="the echoed header value in the log and "
                    "the event log")
        log, ev = P.log("warmd.log"), open(events).read()
        check(key_runs(log, token) == [] and key_runs(ev, token) == [],
              f"no run of {RUN}+ characters of a header value in the log or "
              f"the event log ({key_runs(log + ev, token)})")
        check("Incorrect API key provided: ***" in log,
              "the provider's message arrives, the value redacted")


def test_event_log_symlink():
    with Procs() as P:
        _, port = P.upstream()
        target = P.path("target")
        with open(target, "w") as f:
            f.write("precious\n")
        link = P.path("events.jsonl")
        os.symlink(target, link)
        cfg = P.config(port, {"m": {}}, warmd={"event_log": link})
        p = subprocess.Popen([binary("tools/warmd/warmd"), "-f", "-c", cfg],
                             stderr=subprocess.PIPE, text=True)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # it started: the bug
            p.kill()
            _, err = p.communicate()
        check(p.returncode not in (0, -signal.SIGKILL),
              f"warmd refuses to start ({p.returncode})")
        check(re.search(r"event log.*events\.jsonl: it is a symbolic link",
                        err), f"and says why: {err.strip()[-300:]}")
        lines = startup_lines(err, link)
        check(len(lines) == 1, f"in one line ({len(lines)}: {lines})")
        with open(target) as f:
            check(f.read() == "precious\n", "the link's target is untouched")


def warmd_warnings(P, cfg, env):
    """warmd's own warnings at start (it runs, then stops on SIGTERM)."""
    p = P.warmd(cfg, env=env)
    wait_for(lambda: "started" in P.log("warmd.log"), 20, "warmd started")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)
    return re.findall(r"warmd\[warning\]: (.*)", P.log("warmd.log"))


def test_check_config_matches_warmd():
    with Procs() as P:
        _, port = P.upstream()
        keyfile = P.path("key")
        with open(keyfile, "w") as f:
            f.write(KEY + "\n")
        os.chmod(keyfile, 0o644)
        cfg = P.config(port, {"m": {"interval": "1h"}},
                       endpoint={"api_key_file": keyfile})
        # A second endpoint, unused by any model (so nothing is sent to it),
        # whose key would go in clear text to a host that is not loopback.
        with open(cfg, "a") as f:
            f.write("\n[endpoint remote]\nkind = openai\n"
                    "base_url = http://warmth-test.invalid:8080/v1\n"
                    "api_key_env = WARMTH_IT_KEY\n")
        env = dict(os.environ, WARMTH_IT_KEY=KEY)
        rc, out, err = check_config(cfg, env)
        print(out + err)
        checked = re.findall(r"^warmd: (warning: .*)$", err, re.M)
        check(rc == 0 and " ok " in out,
              f"--check-config: valid with warnings (exit {rc})")
        logged = warmd_warnings(P, cfg, env)
        check(any("readable by every user" in w for w in checked) and
              any("clear text" in w and "endpoint remote" in w
                  for w in checked),
              f"--check-config warns of both ({checked})")
        check(sorted(checked) == sorted(logged),
              f"word for word the warnings warmd logs ({logged})")
        check(key_runs(out + err) == [], "no key in --check-config's output")

        # A key with a CR/LF inside (it would go into an HTTP header).
        os.chmod(keyfile, 0o600)
        env = dict(os.environ, WARMTH_IT_KEY="sk-abc\r\nX-Injected: 1")
        rc, out, err = check_config(cfg, env)
        check(rc == 2 and "not one word of printable ASCII" in err and
              "endpoint remote" in err,
              f"--check-config refuses a key with CR/LF: exit {rc}, {err!r}")
        r = subprocess.run([binary("tools/warmd/warmd"), "-f", "-c", cfg],
                           capture_output=True, text=True, timeout=30,
                           env=env)
        check(r.returncode != 0 and err.strip() in r.stderr,
              f"warmd refuses it with the same message: exit "
              f"{r.returncode}, {r.stderr.strip()!r}")
        check("X-Injected" not in out + err + r.stderr,
              "neither echoes the key")


class EchoRedis(FakeServer):
    """A fake Redis on loopback that answers AUTH with an error quoting the
    password it was sent (as a proxy in front of Redis might), and every
    other command with an error.  Records the passwords it saw."""

    def __init__(self):
        self.auths = []
        super().__init__()

    def serve(self, c):
        c.settimeout(5)
        f = c.makefile("rb")
        try:
            while not self.stop:
                line = f.readline()
                if not line.startswith(b"*"):
                    break
                args = []
                for _ in range(int(line[1:])):
                    n = int(f.readline()[1:])
                    args.append(f.read(n + 2)[:-2].decode(errors="replace"))
                if args and args[0].upper() == "AUTH":
                    self.auths.append(args[-1])
                    c.sendall(f"-ERR invalid password '{args[-1]}' for "
                              f"this proxy\r\n".encode())
                else:
                    c.sendall(b"-ERR unknown command\r\n")
        except (OSError, ValueError):
            pass
        c.close()


def test_echoed_fleet_password():
    """[fleet] password_env: a Redis (here a fake) whose AUTH error quotes
    the password.  No run of 8+ of its characters in warmd's log, the event
    log, warmctl status (text and JSON), /metrics, the status page or
    --check-config --online; the error itself does arrive."""
    pw = "rp-ZYXWVUTSRQPONMLKJIHGFEDCBA98"  # 30 characters
    fake = EchoRedis()
    try:
        with Procs() as P:
            hport = free_port()
            sock = P.path("warmd.sock")
            cfg, events = echo_config(
                P, 18, {"api_key_env": "WARMTH_IT_KEY", "fleet": "yes"},
                warmd={"http_listen": f"127.0.0.1:{hport}"})
            with open(cfg, "a") as f:
                f.write(f"\n[fleet]\nredis = redis://127.0.0.1:{fake.port}/0"
                        "\nname = sec\nhost_id = h0\n"
                        "password_env = WARMTH_IT_REDIS_PW\n")
            env = dict(os.environ, WARMTH_IT_KEY=KEY, WARMTH_IT_REDIS_PW=pw)
            P.warmd(cfg, env=env)
            wait_echoed(P, events, in_log="AUTH refused",
                        what="the refused AUTH in the log, a change in the "
                        "event log")
            check(pw in fake.auths, "warmd sent the password to the fake "
                  "Redis, which echoed it")
            outs = {}
            for args in (("status",), ("status", "--json")):
                rc, out = P.warmctl("--socket", sock, *args)
                outs["warmctl " + " ".join(args)] = out
            check("AUTH refused" in outs["warmctl status --json"],
                  "warmctl status shows the fleet's error")
            for path in ("/metrics", "/", "/status.json"):
                with urllib.request.urlopen(f"http://127.0.0.1:{hport}{path}",
                                            timeout=10) as r:
                    outs[path] = r.read().decode(errors="replace")
            outs["--check-config --online"] = subprocess.run(
                [binary("tools/warmd/warmd"), "--check-config", "--online",
                 "-c", cfg], capture_output=True, text=True, timeout=30,
                env=env).stdout
            check("AUTH refused" in outs["--check-config --online"],
                  "--check-config --online says AUTH was refused")
            outs["log"] = P.log("warmd.log")
            outs["event log"] = open(events).read()
            print(outs["log"][-800:])
            for what, text in outs.items():
                check(key_runs(text, pw) == [],
                      f"{what}: no run of {RUN}+ characters of the fleet "
                      f"password ({key_runs(text, pw)})")
            check("AUTH refused: ERR invalid password '***' for this proxy"
                  in outs["log"], "the fake's error arrives, redacted")
    finally:
        fake.close()


def run_warmd(cfg, env=None):
    """warmd -f that is expected to refuse to start: (exit status, stderr);
    a warmd that started anyway is killed (the bug) and reported."""
    p = subprocess.Popen([binary("tools/warmd/warmd"), "-f", "-c", cfg],
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        _, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    return p.returncode, err


def test_header_env():
    """header_env = Name: VARIABLE: a header whose value comes from the
    environment, sent and redacted like a `header =` value; an unset or
    empty variable (or one with a CR/LF) is refused naming the line, by
    --check-config and by warmd alike."""
    token = "gw-9876543210zyxwvutsrqponmlkj"  # 30 characters
    with Procs() as P:
        cfg, events = echo_config(
            P, 20, {"header_env": "cf-aig-authorization: WARMTH_IT_HDR"})
        lines = open(cfg).read().splitlines()
        lno = next(i + 1 for i, l in enumerate(lines)
                   if l.startswith("header_env"))
        env = dict(os.environ, WARMTH_IT_HDR="Bearer " + token)
        rc, out, err = check_config(cfg, env)
        check(rc == 0 and " ok " in out, f"--check-config accepts "
              f"header_env (exit {rc}, {(out + err).strip()!r})")
        P.warmd(cfg, env=env)
        wait_echoed(P, events, what="the echoed header value in the log and "
                    "the event log")
        _, shown = P.warmctl("show", "m")
        log, ev = P.log("warmd.log"), open(events).read()
        check("Incorrect API key provided: ***" in log,
              "the upstream got the variable's value as the header (it "
              "echoed it) and the echo arrives redacted")
        check(key_runs(log + ev + shown, token) == [],
              f"no run of {RUN}+ characters of it in the log, the event "
              f"log or warmctl show ({key_runs(log + ev + shown, token)})")

        for what, val in (("unset", None), ("empty", ""),
                          ("with CR/LF", "Bearer x\r\nX-Injected: 1")):
            env = dict(os.environ)
            env.pop("WARMTH_IT_HDR", None)
            if val is not None:
                env["WARMTH_IT_HDR"] = val
            rc, out, err = check_config(cfg, env)
            want = f"{cfg}:{lno}: [endpoint local] header_env: "
            check(rc == 2 and want in err and "WARMTH_IT_HDR" in err,
                  f"--check-config refuses a variable {what}, naming the "
                  f"line: exit {rc}, {err.strip()!r}")
            wrc, werr = run_warmd(cfg, env)
            check(wrc == 2 and err.strip() in werr,
                  f"warmd refuses it with the same message: exit {wrc}, "
                  f"{werr.strip()!r}")
            check("X-Injected" not in out + err + werr,
                  "neither shows the value")


def startup_lines(err, path):
    """The lines of warmd's stderr that are about the event log `path`."""
    return [l for l in err.splitlines() if path in l]


def test_event_log_mode():
    """An existing event log every user may read: warmd makes it 0640 when
    it owns it (and says so), refuses to start when it does not, in one
    line (warmd.8: every start-up failure is one line)."""
    with Procs() as P:
        _, port = P.upstream()
        events = P.path("events.jsonl")
        with open(events, "w") as f:
            f.write("{}\n")
        os.chmod(events, 0o644)
        cfg = P.config(port, {"m": {"interval": "1h"}},
                       warmd={"event_log": events})
        p = P.warmd(cfg)
        wait_for(lambda: "started" in P.log("warmd.log"), 20, "warmd started")
        mode = stat.S_IMODE(os.stat(events).st_mode)
        check(mode == 0o640, f"warmd made its own 0644 event log 0640 "
              f"({mode:04o})")
        check(re.search(r"event log .*events\.jsonl: .*0644 .*0640",
                        P.log("warmd.log")),
              "and says so: " + "".join(
                  l for l in P.log("warmd.log").splitlines(True)
                  if "event log" in l).strip())
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)

        if os.geteuid() != 0:
            print("skip - another user's event log: needs root (chown)")
            return
        other = 54321  # no such user needed: chown takes a number
        os.chmod(events, 0o644)
        os.chown(events, other, -1)
        rc, err = run_warmd(cfg)
        print(err)
        check(rc == 1, f"warmd refuses another user's 0644 event log "
              f"(exit {rc})")
        lines = startup_lines(err, events)
        check(len(lines) == 1 and "start-up failed: event log" in lines[0]
              and str(other) in lines[0] and "0644" in lines[0],
              f"in one line naming the owner and the mode ({lines})")
        mode = stat.S_IMODE(os.stat(events).st_mode)
        check(mode == 0o644 and os.stat(events).st_uid == other,
              f"and leaves the file alone ({mode:04o})")


def test_event_log_failure_once():
    """An event log that cannot be opened is one line, not two."""
    with Procs() as P:
        _, port = P.upstream()
        events = P.path("nodir/events.jsonl")
        cfg = P.config(port, {"m": {}}, warmd={"event_log": events})
        rc, err = run_warmd(cfg)
        lines = startup_lines(err, events)
        check(rc == 1 and len(lines) == 1 and
              "start-up failed: event log" in lines[0] and
              "No such file or directory" in lines[0],
              f"a missing directory: exit {rc}, one line ({lines})")


if __name__ == "__main__":
    bound(240)
    main(lambda: (test_echoed_key(), test_echoed_header_value(),
                  test_event_log_symlink(), test_event_log_mode(),
                  test_event_log_failure_once(), test_header_env(),
                  test_echoed_fleet_password(),
                  test_check_config_matches_warmd()))
