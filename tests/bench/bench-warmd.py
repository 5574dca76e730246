#!/usr/bin/env python3
"""bench-warmd - warmd with 10,000 models at a 60 s interval, for 2+ minutes.

Starts the test upstream (tests/upstream/warmth-upstream) and warmd in the
foreground with a generated config (10,000 models, interval 60s, jitter 10%,
first round spread over the interval, shm and control socket private to this
run, no HTTP listener), plus one reader process (tests/bench/
bench-warmd-reader) that polls a sample of the models through libwarmth.
After --seconds (default 130) it sends warmd SIGTERM, stops everything by
pid and prints what it measured:

  cpu        warmd's utime+stime (/proc/PID/stat) over the wall time from its
             start to SIGTERM, as % of one core (start-up included); also the
             same over the last part of the run, after the first round
  rss        warmd's VmHWM (/proc/PID/status), read just before SIGTERM
  lateness   warmd's own histogram: time from a warmup's due time to the
             moment the scheduler hands it to libcurl (bucket upper bounds,
             within 12.5%), logged by warmd at exit
  visibility warmd's own histogram: from the main loop receiving a reply to
             the record being stored in the shared table, i.e. readable by
             every reader (logged at exit); and, from a separate reader
             process, reply end (the record's last_probe) to the reader's
             poll that first saw it, which includes the poll period
  warmups    sent by warmd, and requests counted by the upstream (GET
             /_stats), next to 10,000 * duration / 60

The goals of issue 3 (CPU < 10% of one core, p99 lateness < 20 ms, p99
visibility < 1 ms) are shown next to the figures as met / NOT met.  The
benchmark never fails on a missed goal, only when it could not run.  The
last lines are key=value, for scripts.

Run from the build directory (`make bench` does):
    ./tests/bench/bench-warmd [--seconds N] [--models N] [--interval S]
"""
import argparse
import json
import os
import re
import shutil
import signal
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

GOAL_CPU_PCT = 10.0
GOAL_LATE_P99_MS = 20.0
GOAL_VIS_P99_US = 1000.0
PREFIX = "bench-"


def die(msg):
    print(f"bench-warmd: {msg}", file=sys.stderr)
    sys.exit(1)


def binary(rel):
    path = os.path.join(os.getcwd(), rel)
    if not os.access(path, os.X_OK):
        die(f"{rel} not found: run from the build directory after make")
    return path


class Run:
    """Every process started here, stopped by pid; the temp dir and shm."""

    def __init__(self, keep):
        self.tmp = tempfile.mkdtemp(prefix="warmth-bench-")
        self.shm = f"/warmth-bench-warmd-{os.getpid()}"
        self.procs = []
        self.keep = keep

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def path(self, name):
        return os.path.join(self.tmp, name)

    def close(self):
        stop_all(self.procs, 10)
        unlink_shm(self.shm)
        if self.keep:
            print(f"# logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def proc_cpu_s(pid):
    """utime + stime of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_wait(pid):
    """(seconds, times): how long pid's threads were runnable but waiting
    for a CPU (run-queue delay, /proc/PID/task/*/schedstat field 2) and how
    many times they were put on a CPU (field 3); None if the kernel does
    not keep it.  On a shared machine this is what makes warmups late and
    results slow to show while warmd itself has nothing to do."""
    total = runs = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                fields = f.read().split()
            total += int(fields[1])
            runs += int(fields[2])
    except (OSError, IndexError, ValueError):
        return None
    return total / 1e9, runs


def proc_wait_s(pid):
    w = proc_wait(pid)
    return None if w is None else w[0]


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def upstream_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats",
                                timeout=30) as r:
        return json.loads(r.read())


def write_config(run, port, args):
    lines = [
        "; generated by bench-warmd",
        "[warmd]",
        f"shm = {run.shm}",
        f"tick = {args.tick}",
        f"max_concurrency = {args.max_concurrency}",
        f"capacity = {max(64, 2 * args.models)}",
        "stale_after = 5s",
        "budget_per_day = 0",
        "http_listen =",
        f"control_socket = {run.path('warmd.sock')}",
        "",
        "[endpoint up]",
        "kind = openai",
        f"base_url = http://127.0.0.1:{port}/v1",
        "timeout = 5s",
    ]
    for i in range(args.models):
        lines += ["", f"[model {PREFIX}{i:05d}]", "endpoint = up",
                  f"interval = {args.interval}s", "jitter = 10%"]
    path = run.path("warmd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    die(f"timed out after {timeout}s waiting for {what}")


STOP_RE = re.compile(
    r"stopping: (\d+) warmups sent, (\d+) ok, (\d+) failed; lateness "
    r"p50=(\d+)us p99=(\d+)us max=(\d+)us; visibility p50=(\d+)us "
    r"p99=(\d+)us max=(\d+)us")
READER_RE = re.compile(
    r"reader samples=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+) "
    r"polls=(\d+) scan_us=([\d.]+) period_us=(\d+) models=(\d+) errors=(\d+)")


def verdict(value, goal):
    return "met" if value < goal else "NOT met"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=130,
                    help="how long warmd runs (default 130; the issue asks "
                         "for at least 120)")
    ap.add_argument("--models", type=int, default=10000)
    ap.add_argument("--interval", type=int, default=60,
                    help="warmup interval in seconds (default 60)")
    ap.add_argument("--tick", default="50ms", help="warmd tick (default "
                    "50ms, warmd's own default)")
    ap.add_argument("--max-concurrency", type=int, default=64)
    ap.add_argument("--upstream-ms", type=int, default=20,
                    help="the upstream's reply delay, cold or warm "
                         "(default 20)")
    ap.add_argument("--sample", type=int, default=200,
                    help="models the reader process watches (default 200)")
    ap.add_argument("--period-us", type=int, default=250,
                    help="the reader's poll period (default 250)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir with config and logs")
    args = ap.parse_args()
    if args.seconds < 1 or args.models < 1 or args.models > 99999 or \
            args.interval < 1:
        die("--seconds, --interval must be >= 1; --models 1..99999")

    upstream_bin = binary("tests/upstream/warmth-upstream")
    warmd_bin = binary("tools/warmd/warmd")
    reader_bin = binary("tests/bench/bench-warmd-reader")
    run = Run(args.keep)
    # A SIGTERM (timeout, make interrupted) still stops what we started.
    signal.signal(signal.SIGTERM, lambda *_: die("stopped by SIGTERM"))
    try:
        return bench(run, args, upstream_bin, warmd_bin, reader_bin)
    finally:
        run.close()


def bench(run, args, upstream_bin, warmd_bin, reader_bin):
    load0 = os.getloadavg()
    ms = str(args.upstream_ms)
    up = run.spawn([upstream_bin, "--listen", "127.0.0.1:0", "--max-seconds",
                    str(args.seconds + 120), "--cold-ms", ms, "--warm-ms", ms],
                   stdout=subprocess.PIPE,
                   stderr=open(run.path("upstream.log"), "w"), text=True)
    m = re.match(r"port=(\d+)", up.stdout.readline())
    if not m:
        die("the upstream did not report its port")
    port = int(m.group(1))
    cfg = write_config(run, port, args)

    log_path = run.path("warmd.log")
    log = open(log_path, "w")
    t_start = time.monotonic()
    warmd = run.spawn([warmd_bin, "-f", "-c", cfg], stdout=log, stderr=log)
    wait_for(lambda: os.path.exists("/dev/shm" + run.shm) or
             warmd.poll() is not None, 60, "warmd to create its table")
    if warmd.poll() is not None:
        die("warmd exited at start:\n" + open(log_path).read()[-2000:])
    t_table = time.monotonic()
    reader = run.spawn([reader_bin, "--shm", run.shm, "--prefix", PREFIX,
                        "--count", str(args.models), "--sample",
                        str(args.sample), "--period-us", str(args.period_us),
                        "--seconds", str(args.seconds + 60)],
                       stdout=subprocess.PIPE, text=True)

    # Progress every 10 s; the CPU after the first round is taken from the
    # sample nearest the end of the first interval.
    samples = []  # (wall since start, cpu s)
    t_end = t_start + args.seconds
    while True:
        now = time.monotonic()
        if warmd.poll() is not None:
            die("warmd exited during the run:\n" +
                open(log_path).read()[-2000:])
        samples.append((now - t_start, proc_cpu_s(warmd.pid)))
        if now >= t_end:
            break
        w, c = samples[-1]
        q = proc_wait_s(warmd.pid)
        print(f"# t={w:5.1f}s warmd cpu={c:6.2f}s" +
              ("" if q is None else f" waited for a CPU {q:6.2f}s"),
              flush=True)
        time.sleep(min(10.0, t_end - now))
    wall, cpu = samples[-1]
    wait = proc_wait(warmd.pid)
    wait_s = None if wait is None else wait[0]
    up_wait_s = proc_wait_s(up.pid)
    hwm_kb = proc_status_kb(warmd.pid, "VmHWM")
    rss_kb = proc_status_kb(warmd.pid, "VmRSS")
    steady = [s for s in samples if s[0] >= args.interval + 1]
    cpu_steady = None
    if steady and wall - steady[0][0] >= 5:
        cpu_steady = 100 * (cpu - steady[0][1]) / (wall - steady[0][0])

    reader.send_signal(signal.SIGTERM)
    reader_out, _ = reader.communicate(timeout=30)
    warmd.send_signal(signal.SIGTERM)
    try:
        warmd.wait(timeout=30)
    except subprocess.TimeoutExpired:
        die("warmd did not stop within 30 s of SIGTERM")
    try:
        st = upstream_stats(port)
    except OSError as e:
        die(f"GET /_stats on the upstream failed: {e}")
    load1 = os.getloadavg()
    log.close()
    text = open(log_path).read()
    m = STOP_RE.search(text)
    if not m:
        die("warmd's stopping line is missing from its log:\n" + text[-2000:])
    sent, ok, failed, lp50, lp99, lmax, vp50, vp99, vmax = map(int, m.groups())
    rm = READER_RE.search(reader_out or "")
    if not rm:
        die(f"the reader printed {reader_out!r}")
    (r_n, r_p50, r_p99, r_max, r_polls, r_scan, r_period, r_models,
     r_err) = rm.groups()
    r_n, r_p50, r_p99, r_max = int(r_n), int(r_p50), int(r_p99), int(r_max)
    warn_lines = sum(1 for line in text.splitlines() if "warning" in line
                     or "warmup failed" in line)
    up_total = st.get("total", {})
    up_requests = up_total.get("requests", up_total) \
        if isinstance(up_total, dict) else up_total
    expect = args.models * wall / args.interval
    cpu_pct = 100 * cpu / wall

    print(f"bench-warmd: {args.models} models, interval {args.interval}s "
          f"(jitter 10%), tick {args.tick}, max_concurrency "
          f"{args.max_concurrency}, upstream reply {args.upstream_ms} ms")
    print(f"ran {wall:.1f} s (table after {t_table - t_start:.2f} s); "
          f"nice {os.nice(0)}; {os.cpu_count()} CPUs; load average "
          f"{load0[0]:.2f} at start, {load1[0]:.2f} at end")
    print()
    print(f"{'figure':<34}{'value':>14}  {'goal':<12}{'':<8}")
    rows = [
        ("warmd CPU, whole run (% of 1 core)", f"{cpu_pct:.2f}",
         f"< {GOAL_CPU_PCT:g}%", verdict(cpu_pct, GOAL_CPU_PCT)),
        ("warmd CPU, after first round", "-" if cpu_steady is None else
         f"{cpu_steady:.2f}", "", ""),
        ("warmd peak RSS (VmHWM, kB)", str(hwm_kb), "", ""),
        ("lateness p50 (ms)", f"{lp50 / 1000:.3f}", "", ""),
        ("lateness p99 (ms)", f"{lp99 / 1000:.3f}", f"< {GOAL_LATE_P99_MS:g} ms",
         verdict(lp99 / 1000, GOAL_LATE_P99_MS)),
        ("lateness max (ms)", f"{lmax / 1000:.3f}", "", ""),
        ("visibility in warmd p50 (us)", str(vp50), "", ""),
        ("visibility in warmd p99 (us)", str(vp99), f"< {GOAL_VIS_P99_US:g} us",
         verdict(vp99, GOAL_VIS_P99_US)),
        ("visibility in warmd max (us)", str(vmax), "", ""),
        ("visibility at reader p50 (us)", str(r_p50), "", ""),
        ("visibility at reader p99 (us)", str(r_p99), f"< {GOAL_VIS_P99_US:g} us",
         verdict(r_p99, GOAL_VIS_P99_US)),
        ("visibility at reader max (us)", str(r_max), "", ""),
        ("warmups sent by warmd", str(sent), f"~{expect:.0f}", ""),
        ("  ok / failed", f"{ok}/{failed}", "", ""),
        ("requests at the upstream", str(up_requests), "", ""),
    ]
    for name, val, goal, v in rows:
        print(f"{name:<34}{val:>14}  {goal:<12}{v}")
    print()
    print(f"reader: {r_n} results seen on {r_models} models, poll every "
          f"{r_period} us, {r_polls} polls, {r_scan} us a scan, {r_err} "
          "lookup errors; its figure includes the poll delay")
    if wait_s is not None:
        print(f"machine load: warmd's threads waited {wait_s:.2f} s for a "
              f"CPU (run queue) during the {wall:.0f} s run, "
              f"{1e6 * wait_s / max(1, wait[1]):.0f} us on average each of "
              f"the {wait[1]} times they ran; the upstream's "
              f"{up_wait_s or 0:.2f} s")
    print(f"warmd log: {warn_lines} warning/failure lines; VmRSS at the end "
          f"{rss_kb} kB")
    print(f"cpu_pct={cpu_pct:.2f}")
    print(f"rss_kb={hwm_kb}")
    print(f"late_p50_ms={lp50 / 1000:.3f}")
    print(f"late_p99_ms={lp99 / 1000:.3f}")
    print(f"late_max_ms={lmax / 1000:.3f}")
    print(f"vis_p50_us={vp50}")
    print(f"vis_p99_us={vp99}")
    print(f"reader_vis_p50_us={r_p50}")
    print(f"reader_vis_p99_us={r_p99}")
    print(f"upstream_requests={up_requests}")
    if wait_s is not None:
        print(f"runqueue_wait_s={wait_s:.2f}")
    print(f"warmups={sent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
