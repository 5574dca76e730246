#!/usr/bin/env python3
"""soak.py - warmd for a long time under everything at once (not in CI).

Runs warmd against the test upstream for --duration seconds (default 1 h)
while, at random moments:
  - workers (tests/helpers/worker-sim) look up, touch and report, live a
    random while and are replaced; some are killed (-9) or stopped
    (SIGSTOP, then SIGCONT) on purpose;
  - the upstream fails a random model for a while (its POST /_fault: 500,
    503, 429, timeout, reset, slow, flaky, bad JSON);
  - warmd is reloaded (SIGHUP; an extra model comes and goes), stopped and
    continued, and killed with -9 (then started again, adopting its table);
  - a hostile member of warmd's group tries to resize the demand segment
    (the memfd it gets like any worker), writes garbage to the control
    socket and holds connections open, and floods touches.
It samples warmd's RSS, open fds and CPU, and at the end prints a table:
those at start and end, warmups sent against the schedule (the upstream's
/_stats against models x duration / interval), torn reads (worker-sim's
and table-watch's checks of every record they copy) and crashes (exits
nobody asked for, sanitizer reports, core files).

As root, the hostile member is a real one: a user and a group made for the
run (removed after) with setpriv; otherwise it runs as the caller's own
user (said in the table).  Everything listens on 127.0.0.1 only, and
every process started is stopped by pid.

Run from a build directory (or give --build):
    tests/soak/soak.py --duration 120        # a quick run
    tests/soak/soak.py                       # one hour
Exit status: 0 when nothing crashed and no read was torn, 1 otherwise.
"""
import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

# The process stop and /dev/shm clean-up of the integration tests: in the
# source tree (make's copy in the build directory names it on this line).
TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import stop_all, unlink_shm  # noqa: E402

FAULTS = ["500", "503:1", "429:1", "timeout", "reset", "slow:100", "flaky:3",
          "badjson"]
SAN = re.compile(r"ERROR: (Address|Thread|Leak|Memory|UndefinedBehavior)"
                 r"Sanitizer|runtime error:")
DEMAND_ID_OFF = 128  # lib/layout.h: the state header's demand_id

# The hostile group member (run as that user): resize the demand memfd it
# gets like any worker, garbage on the control socket, connections held.
HOSTILE = r"""
import os, random, socket, struct, sys, time
shm, ctl = sys.argv[1], sys.argv[2]
out = {}
try:
    with open("/dev/shm" + shm, "rb") as f:
        f.seek(128)
        (did,) = struct.unpack("=Q", f.read(8))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(b"\0warmth-demand-%016x" % did)
    _, fds, _, _ = socket.recv_fds(s, 16, 4)
    s.close()
    for fd in fds:
        for size in (0, 1 << 24):
            try:
                os.ftruncate(fd, size)
                out["resized"] = out.get("resized", 0) + 1
            except OSError:
                out["refused"] = out.get("refused", 0) + 1
        os.close(fd)
    if not fds:
        out["no_memfd"] = 1
except OSError as e:
    out["demand_error"] = e.strerror
held = []
for i in range(12):
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(2)
        c.connect(ctl)
        c.send(os.urandom(random.randint(1, 300)))
        held.append(c)
    except OSError:
        out["ctl_refused"] = out.get("ctl_refused", 0) + 1
time.sleep(random.uniform(0.5, 3))
for c in held:
    c.close()
out["ctl_garbage"] = len(held)
print(" ".join(f"{k}={v}" for k, v in out.items()))
"""


def now():
    return time.monotonic()


class Soak:
    def __init__(self, a):
        self.a = a
        self.b = os.path.abspath(a.build)
        self.tmp = tempfile.mkdtemp(prefix="warmth-soak-")
        os.chmod(self.tmp, 0o711)  # the hostile user reaches the socket
        self.shm = f"/warmth-soak-{os.getpid()}"
        self.rng = random.Random(a.seed)
        self.models = [f"m{i}" for i in range(a.models)]
        # Reported models get no warmups while reports keep them warm, so
        # the schedule is judged on the others.
        nrep = max(1, a.models // 4)
        self.reported, self.scheduled = self.models[:nrep], self.models[nrep:]
        self.procs = []  # everything, stopped by pid at the end
        self.workers = []  # (Popen, kind, started)
        self.warmd = None
        self.warmd_runs = []  # per incarnation: figures
        self.made = []  # users and groups to remove
        self.user = self.group = None
        self.n = dict(warmd_kill9=0, warmd_stop=0, warmd_restart=0, reload=0,
                      faults=0, worker_kill9=0, worker_stop=0,
                      workers_started=0, workers_ok=0, torn_worker=0,
                      torn_procs=0, worker_crash=0, warmd_crash=0,
                      sanitizer=0, cores=0, hostile_runs=0, resized=0,
                      resize_refused=0, ctl_garbage=0, floods=0,
                      watch_garbage=0, watch_regressions=0, lookups=0,
                      flood_touch_errors=0, worker_failed=0,
                      hostile_warm_ok=0, hostile_warm_refused=0)
        self.crash_notes = []
        self.cpu_ticks = 0  # of warmds that have exited
        self.samples = []

    # ---- processes -------------------------------------------------------
    def bin(self, rel):
        p = os.path.join(self.b, rel)
        if not os.path.exists(p):
            sys.exit(f"soak: missing {p}: build first (or --build DIR)")
        return p

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def upstream(self):
        p = self.spawn([self.bin("tests/upstream/warmth-upstream"), "--listen",
                        "127.0.0.1:0", "--max-seconds",
                        str(int(self.a.duration) + 300), "--warm-ms", "5",
                        "--cold-ms", "30"], stdout=subprocess.PIPE,
                       stderr=open(self.path("upstream.log"), "w"), text=True)
        m = re.match(r"port=(\d+)", p.stdout.readline())
        if not m:
            sys.exit("soak: the upstream did not start")
        self.port = int(m.group(1))

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write_config(self, extra=False):
        lines = ["[warmd]", f"shm = {self.shm}", "tick = 50ms",
                 "stale_after = 2s", "http_listen =",
                 f"control_socket = {self.path('warmd.sock')}",
                 f"state_file = {self.path('state.msgpack')}",
                 f"event_log = {self.path('events.jsonl')}"]
        if self.group:
            lines.append(f"group = {self.group}")
        lines += ["", "[endpoint local]", "kind = openai",
                  f"base_url = http://127.0.0.1:{self.port}/v1",
                  "timeout = 2s"]
        for m in self.models + (["extra"] if extra else []):
            lines += ["", f"[model {m}]", "endpoint = local",
                      f"interval = {self.a.interval}s", "jitter = 10%",
                      f"warm_ttl = {self.a.interval * 2}s"]
        with open(self.path("warmd.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def start_warmd(self):
        p = self.spawn([self.bin("tools/warmd/warmd"), "-f", "-c",
                        self.path("warmd.conf")], cwd=self.tmp,
                       stdout=open(self.path("warmd.log"), "a"),
                       stderr=subprocess.STDOUT)
        self.warmd = p
        self.warmd_runs.append({"pid": p.pid, "start": now()})
        end = now() + 20
        while now() < end and p.poll() is None:
            if os.path.exists("/dev/shm" + self.shm) and \
                    os.path.exists(self.path("warmd.sock")):
                break
            time.sleep(0.05)
        self.expect_exit = False

    def proc_figures(self, pid):
        """RSS (kB), open fds, CPU ticks of pid, or None when it is gone."""
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            return rss, fds, int(st[11]) + int(st[12])
        except (OSError, AttributeError, IndexError, ValueError):
            return None

    def sample(self):
        f = self.warmd and self.proc_figures(self.warmd.pid)
        if f:
            run = self.warmd_runs[-1]
            run.setdefault("first", f)
            run["last"] = f
            run["last_t"] = now()
            self.samples.append((round(now() - self.t0, 1), *f))

    def check_warmd(self):
        """Restarts warmd after an exit; counts it as a crash unless we
        killed it."""
        rc = self.warmd.poll()
        if rc is None:
            return
        run = self.warmd_runs[-1]
        if run.get("last"):
            self.cpu_ticks += run["last"][2]
        if not self.expect_exit:
            self.n["warmd_crash"] += 1
            self.crash_notes.append(f"warmd pid {self.warmd.pid} exited {rc} "
                                    f"at {now() - self.t0:.0f}s")
        self.n["warmd_restart"] += 1
        self.start_warmd()

    def worker(self, kind):
        life = self.rng.uniform(10, 90)
        if kind == "flood":  # a touch flood: no pause between rounds
            args, models, life = ["--period-ms", "0"], self.models, 5
        elif kind == "report":
            args, models = ["--period-ms", "5", "--report-ms", "200"], \
                self.reported
        else:
            args, models = ["--period-ms", "5"], self.scheduled
        argv = [self.bin("tests/helpers/worker-sim"), "--shm", self.shm,
                "--models", ",".join(models), "--seconds", f"{life:.1f}",
                *args]
        if kind == "flood" and self.user:  # the hostile member floods
            argv = ["setpriv", f"--reuid={self.user}",
                    f"--regid={self.group}", "--clear-groups"] + argv
        p = self.spawn(argv, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
        self.workers.append([p, kind, False])  # killed on purpose?
        self.n["workers_started"] += 1

    def reap_workers(self):
        for w in list(self.workers):
            p, kind, killed = w
            if p.poll() is None:
                continue
            self.workers.remove(w)
            out = p.stdout.read()
            m = re.search(r"lookups=(\d+) warm=\d+ inconsistent=(\d+) .*"
                          r"touch_errors=(\d+)", out)
            if m:
                self.n["lookups"] += int(m.group(1))
                self.n["torn_worker"] += int(m.group(2))
                if int(m.group(2)):
                    self.n["torn_procs"] += 1
                if kind == "flood":
                    self.n["flood_touch_errors"] += int(m.group(3))
            if p.returncode == 0:
                self.n["workers_ok"] += 1
            elif killed and p.returncode == -signal.SIGKILL:
                pass
            elif p.returncode < 0:  # a signal nobody sent
                self.n["worker_crash"] += 1
                self.crash_notes.append(f"worker ({kind}) exited "
                                        f"{p.returncode}")
            elif not m:  # could not start (e.g. the hostile user)
                self.n["worker_failed"] += 1
            if kind != "flood":
                self.worker(kind)

    # ---- the hostile member ------------------------------------------------
    def make_hostile_user(self):
        if os.geteuid() != 0 or not shutil.which("setpriv") or \
                not shutil.which("useradd"):
            return
        tag = f"sk{os.getpid() % 100000}"
        g, u = f"{tag}g", f"{tag}h"
        subprocess.run(["groupadd", g], check=True, capture_output=True)
        self.made.append(["groupdel", g])
        subprocess.run(["useradd", "-M", "-N", "-g", g, "-s",
                        "/usr/sbin/nologin", u], check=True,
                       capture_output=True)
        self.made.insert(0, ["userdel", u])
        self.user, self.group = u, g

    def hostile(self):
        as_user = ["setpriv", f"--reuid={self.user}", f"--regid={self.group}",
                   "--clear-groups"] if self.user else []
        argv = as_user + [sys.executable, "-c", HOSTILE, self.shm,
                          self.path("warmd.sock")]
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=20)
        except subprocess.TimeoutExpired:
            return
        self.n["hostile_runs"] += 1
        # Buying warmups: a mutating command from a member of the workers'
        # group (no control_group configured) must be refused.
        try:
            w = subprocess.run(as_user + [
                self.bin("tools/warmctl/warmctl"), "--socket",
                self.path("warmd.sock"), "warm", self.rng.choice(self.models)],
                capture_output=True, text=True, timeout=20)
            self.n["hostile_warm_ok" if w.returncode == 0 else
                   "hostile_warm_refused"] += 1
        except subprocess.TimeoutExpired:
            pass
        kv = dict(x.split("=", 1) for x in r.stdout.split() if "=" in x)
        self.n["resized"] += int(kv.get("resized", 0))
        self.n["resize_refused"] += int(kv.get("refused", 0))
        self.n["ctl_garbage"] += int(kv.get("ctl_garbage", 0))

    # ---- the upstream ------------------------------------------------------
    def http(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                     data=data, headers={
                                         "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def fault(self, model, kind):
        self.http("/_fault", {"model": model, "kind": kind})

    # ---- the run -----------------------------------------------------------
    def run(self):
        a = self.a
        self.make_hostile_user()
        self.upstream()
        self.write_config()
        self.t0 = now()
        self.start_warmd()
        if self.warmd.poll() is not None:
            sys.exit("soak: warmd did not start:\n" +
                     open(self.path("warmd.log")).read()[-2000:])
        watch_out = open(self.path("watch.jsonl"), "w")
        watch = self.spawn([self.bin("tests/helpers/table-watch"), "--shm",
                            self.shm, "--models", ",".join(self.models),
                            "--seconds", str(a.duration), "--sample-ms",
                            "1000"], stdout=watch_out)
        for i in range(a.workers):
            self.worker("report" if i % 4 == 3 else "touch")
        end = self.t0 + a.duration
        due = {k: self.t0 + self.rng.uniform(0.3, 1) * v for k, v in (
            ("reload", a.reload_every), ("fault", a.fault_every),
            ("kill", a.kill_every), ("stop", a.stop_every),
            ("wkill", a.worker_kill_every), ("wstop", a.worker_stop_every),
            ("hostile", a.hostile_every), ("sample", 5))}
        faulted = {}  # model -> when to clear
        extra = False
        last_print = now()
        while now() < end:
            t = now()
            self.check_warmd()
            self.reap_workers()
            if t >= due["sample"]:
                self.sample()
                due["sample"] = t + 5
            for m, until in list(faulted.items()):
                if t >= until:
                    self.fault(m, "none")
                    del faulted[m]
            if t >= due["fault"]:
                m = self.rng.choice(self.models)
                self.fault(m, self.rng.choice(FAULTS))
                faulted[m] = t + self.rng.uniform(2, 10)
                self.n["faults"] += 1
                due["fault"] = t + self.rng.expovariate(1 / a.fault_every)
            if t >= due["reload"]:
                extra = not extra
                self.write_config(extra)
                self.warmd.send_signal(signal.SIGHUP)
                self.n["reload"] += 1
                due["reload"] = t + a.reload_every
            if t >= due["stop"]:
                self.warmd.send_signal(signal.SIGSTOP)
                time.sleep(self.rng.uniform(0.5, 4))
                self.warmd.send_signal(signal.SIGCONT)
                self.n["warmd_stop"] += 1
                due["stop"] = t + self.rng.expovariate(1 / a.stop_every)
            if t >= due["kill"]:
                self.sample()  # its CPU time up to the kill
                self.expect_exit = True
                self.warmd.kill()
                self.warmd.wait()
                self.n["warmd_kill9"] += 1
                self.check_warmd()
                due["kill"] = t + self.rng.expovariate(1 / a.kill_every)
            live = [w for w in self.workers if w[0].poll() is None]
            if t >= due["wkill"] and live:
                w = self.rng.choice(live)
                w[2] = True
                w[0].kill()
                self.n["worker_kill9"] += 1
                due["wkill"] = t + self.rng.expovariate(
                    1 / a.worker_kill_every)
            if t >= due["wstop"] and live:
                p = self.rng.choice(live)[0]
                p.send_signal(signal.SIGSTOP)
                time.sleep(self.rng.uniform(0.2, 3))
                p.send_signal(signal.SIGCONT)
                self.n["worker_stop"] += 1
                due["wstop"] = t + self.rng.expovariate(
                    1 / a.worker_stop_every)
            if t >= due["hostile"]:
                self.hostile()
                self.worker("flood")
                self.n["floods"] += 1
                due["hostile"] = t + self.rng.expovariate(1 / a.hostile_every)
            if now() - last_print >= 60:
                last_print = now()
                print(f"soak: {now() - self.t0:.0f}/{a.duration:.0f}s "
                      f"{json.dumps(self.n)}", flush=True)
            time.sleep(0.1)

        # ---- the end: figures, then stop everything by pid ----------------
        for m in faulted:
            self.fault(m, "none")
        self.check_warmd()
        self.sample()
        elapsed = now() - self.t0
        stats = self.http("/_stats")
        self.expect_exit = True
        self.warmd.send_signal(signal.SIGTERM)
        try:
            rc = self.warmd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.warmd.kill()
            rc = "hung"
        if rc != 0:
            self.n["warmd_crash"] += 1
            self.crash_notes.append(f"warmd exited {rc} after SIGTERM")
        run = self.warmd_runs[-1]
        if run.get("last"):
            self.cpu_ticks += run["last"][2]
        try:
            watch.wait(timeout=max(5, a.duration - elapsed + 30))
        except subprocess.TimeoutExpired:
            watch.kill()
        for w in self.workers:
            if w[0].poll() is None:
                w[2] = True
                w[0].kill()
                w[0].wait()
        self.reap_workers()
        return self.report(elapsed, stats, watch)

    def report(self, elapsed, stats, watch):
        a, n = self.a, self.n
        summary = None
        try:
            for line in open(self.path("watch.jsonl")):
                if '"done"' in line:
                    summary = json.loads(line)
        except (OSError, ValueError):
            pass
        if summary:
            n["watch_garbage"] = summary.get("garbage", 0)
            n["watch_regressions"] = summary.get("regressions", 0)
        elif watch.returncode is not None and watch.returncode < 0:
            n["worker_crash"] += 1
            self.crash_notes.append(f"table-watch exited {watch.returncode}")
        log = open(self.path("warmd.log"), errors="replace").read()
        n["sanitizer"] = len(SAN.findall(log))
        n["cores"] = len(glob.glob(self.path("core*")))
        ms = stats.get("models", {})

        def reqs(models, key="chat"):
            return sum(ms.get(m, {}).get(key, 0) for m in models)

        def ok(models):
            return sum(ms.get(m, {}).get("status_counts", {}).get("200", 0)
                       for m in models)
        sched = len(self.scheduled) * elapsed / a.interval
        first = self.warmd_runs[0].get("first") or (0, 0, 0)
        last = self.warmd_runs[-1].get("last") or (0, 0, 0)
        rss_max = max((s[1] for s in self.samples), default=0)
        fds_max = max((s[2] for s in self.samples), default=0)
        hz = os.sysconf("SC_CLK_TCK")
        longest = max(self.warmd_runs,
                      key=lambda r: r.get("last_t", r["start"]) - r["start"])
        rows = [
            ("duration", f"{elapsed:.0f} s (asked {a.duration:.0f} s)"),
            ("models", f"{a.models} ({len(self.scheduled)} scheduled, "
             f"{len(self.reported)} kept warm by reports), interval "
             f"{a.interval} s"),
            ("warmd RSS start / end / max",
             f"{first[0]} / {last[0]} / {rss_max} kB"),
            ("warmd open fds start / end / max",
             f"{first[1]} / {last[1]} / {fds_max}"),
            ("warmd CPU (all runs)",
             f"{self.cpu_ticks / hz:.1f} s over {elapsed:.0f} s "
             f"= {100 * self.cpu_ticks / hz / elapsed:.1f}% of one CPU"),
            ("longest warmd run (RSS, fds first -> last)",
             f"{longest.get('last_t', longest['start']) - longest['start']:.0f}"
             f" s: {longest.get('first', (0,))[0]} -> "
             f"{longest.get('last', (0,))[0]} kB, "
             f"{longest.get('first', (0, 0))[1]} -> "
             f"{longest.get('last', (0, 0))[1]} fds"),
            ("warmups, scheduled models (sent / 200 / schedule)",
             f"{reqs(self.scheduled)} / {ok(self.scheduled)} / {sched:.0f} "
             f"({100 * reqs(self.scheduled) / max(sched, 1):.0f}%)"),
            ("warmups, reported models (sent)", f"{reqs(self.reported)}"),
            ("warmd kill -9 / SIGSTOP / reloads",
             f"{n['warmd_kill9']} / {n['warmd_stop']} / {n['reload']}"),
            ("upstream faults injected", n["faults"]),
            ("workers started / ok / kill -9 / SIGSTOP / failed to start",
             f"{n['workers_started']} / {n['workers_ok']} / "
             f"{n['worker_kill9']} / {n['worker_stop']} / "
             f"{n['worker_failed']}"),
            ("lookups by workers that finished", n["lookups"]),
            ("hostile: runs / resized / refused / control garbage / "
             "floods (touch errors)",
             f"{n['hostile_runs']} / {n['resized']} / {n['resize_refused']} / "
             f"{n['ctl_garbage']} / {n['floods']} "
             f"({n['flood_touch_errors']})"
             + ("" if self.user else " (same uid as warmd: not root)")),
            ("hostile warmctl warm: accepted / refused",
             f"{n['hostile_warm_ok']} / {n['hostile_warm_refused']}"
             + ("" if self.user else " (same uid as warmd: not root)")),
            ("torn reads (worker-sim, table-watch garbage, regressions)",
             f"{n['torn_worker']}, {n['watch_garbage']}, "
             f"{n['watch_regressions']}"),
            ("crashes (warmd, workers, sanitizer reports, cores)",
             f"{n['warmd_crash']}, {n['worker_crash']}, {n['sanitizer']}, "
             f"{n['cores']}"),
        ]
        w = max(len(r[0]) for r in rows)
        print()
        for k, v in rows:
            print(f"{k:<{w}}  {v}")
        for note in self.crash_notes[:20]:
            print("  crash:", note)
        with open(self.path("summary.json"), "w") as f:
            json.dump({"counts": n, "samples": self.samples,
                       "elapsed": elapsed, "stats": stats}, f)
        print(f"\nlogs and samples in {self.tmp}")
        bad = (n["warmd_crash"] + n["worker_crash"] + n["sanitizer"] +
               n["cores"] + n["torn_worker"] + n["watch_garbage"] +
               n["watch_regressions"] + n["resized"] +
               (n["hostile_warm_ok"] if self.user else 0))
        return 1 if bad else 0

    def cleanup(self):
        stop_all(self.procs, 5)  # SIGCONT first: warmd may be stopped
        unlink_shm(self.shm)
        for cmd in self.made:
            subprocess.run(cmd, capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=3600,
                    help="seconds (default 3600)")
    ap.add_argument("--build", default=".", help="build directory")
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--interval", type=int, default=2,
                    help="warmup interval of every model, s (default 2)")
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--reload-every", type=float, default=5)
    ap.add_argument("--fault-every", type=float, default=8)
    ap.add_argument("--kill-every", type=float, default=90)
    ap.add_argument("--stop-every", type=float, default=45)
    ap.add_argument("--worker-kill-every", type=float, default=20)
    ap.add_argument("--worker-stop-every", type=float, default=15)
    ap.add_argument("--hostile-every", type=float, default=30)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    s = Soak(a)
    rc = 1
    try:
        rc = s.run()
    finally:
        s.cleanup()
    sys.exit(rc)


if __name__ == "__main__":
    main()
