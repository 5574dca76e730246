#!/usr/bin/env python3
"""bench-fleet - fleet mode at scale: 20 warmd hosts x 1,000 models at a
60 s interval against one local Redis, for 2 minutes.

Starts one redis-server (loopback, free port, no persistence), the test
upstream (tests/upstream/warmth-upstream) and --hosts warmd processes on
this machine, each with its own shm, control socket and host_id, one
[fleet] between them.  After the first round (one interval, when every
host claims every model at once) it measures, over the rest of the run:

  redis      commands per second and per model-interval (INFO
             commandstats; a model-interval is one model for one interval
             of the fleet); the same per host per model per interval (each
             command of a claim, a result or a heartbeat is at most one
             round trip: the fleet thread pipelines them); Redis CPU (INFO
             cpu, user + sys) as % of one core
  warmd      each host's CPU (/proc/PID/stat) as % of one core: max, mean
  warmups    counted at the upstream next to models * duration / interval
  lateness   each host's p99 from due to sent, logged at exit (max, median)

Goals of issue 9, shown as met / NOT met (the benchmark never fails on a
missed goal, only when it could not run): <= 3 Redis round trips per host
per model per interval, fleet warmups within 1% of one per model per
interval, warmd CPU under 10% of a core.  The last lines are key=value.

Run from the build directory (`make bench` does):
    ./tests/bench/bench-fleet [--hosts N] [--models N] [--interval S]
                              [--seconds N]
The issue's figures: the defaults (--seconds 120).  A shorter run for a busy
machine: e.g. --seconds 60 --interval 20.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
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

GOAL_RT = 3.0
GOAL_WARMUPS_PCT = 1.0
GOAL_CPU_PCT = 10.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def redis_cmd(port, *args):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    f = s.makefile("rb")
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:-2])
        data = f.read(n + 2)[:-2].decode()
    elif line[:1] in (b"+", b":"):
        data = line[1:-2].decode()
    else:
        data = None
    f.close()
    s.close()
    return data


def info(port, section):
    out = {}
    for line in (redis_cmd(port, "INFO", section) or "").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def commands(port):
    """{command: calls} from INFO commandstats."""
    calls = {}
    for k, v in info(port, "commandstats").items():
        m = re.search(r"calls=(\d+)", v)
        if k.startswith("cmdstat_") and m:
            calls[k[8:]] = int(m.group(1))
    return calls


def redis_cpu(port):
    i = info(port, "cpu")
    return float(i["used_cpu_user"]) + float(i["used_cpu_sys"])


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upstream_total(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats",
                                timeout=30) as r:
        st = json.loads(r.read())
    return sum(m.get("requests", 0) for m in st.get("models", {}).values())


def upstream_reset(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/_reset", data=b"{}",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=60)
    ap.add_argument("--seconds", type=float, default=120)
    a = ap.parse_args()
    if a.seconds <= a.interval:
        sys.exit("bench-fleet: --seconds must be more than --interval (the "
                 "first round is not measured)")
    build = os.getcwd()
    warmd = os.path.join(build, "tools/warmd/warmd")
    upstream = os.path.join(build, "tests/upstream/warmth-upstream")
    for p in (warmd, upstream):
        if not os.path.exists(p):
            sys.exit(f"bench-fleet: missing {p}: build first")
    if not shutil.which("redis-server"):
        sys.exit("bench-fleet: redis-server not found (tools/deps.sh)")
    tmp = tempfile.mkdtemp(prefix="bench-fleet-")
    procs, hosts = [], []
    shm = f"/bench-fleet-{os.getpid()}"
    try:
        rport = free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(rport),
             "--save", "", "--appendonly", "no", "--dir", tmp, "--logfile",
             os.path.join(tmp, "redis.log")]))
        for _ in range(100):
            try:
                if redis_cmd(rport, "PING") == "PONG":
                    break
            except OSError:
                time.sleep(0.05)
        up = subprocess.Popen(
            [upstream, "--listen", "127.0.0.1:0", "--max-seconds",
             str(int(a.seconds + 120)), "--warm-ms", "5", "--cold-ms", "5"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(up)
        uport = int(re.match(r"port=(\d+)", up.stdout.readline()).group(1))
        iv = f"{int(a.interval * 1000)}ms"
        for i in range(a.hosts):
            lines = ["[warmd]", f"shm = {shm}-h{i}", "tick = 50ms",
                     "max_concurrency = 64", "http_listen = ",
                     f"control_socket = {tmp}/h{i}.sock", "",
                     "[fleet]", f"redis = redis://127.0.0.1:{rport}/0",
                     "name = bench", f"host_id = h{i}", "",
                     "[endpoint up]", "kind = openai",
                     f"base_url = http://127.0.0.1:{uport}/v1",
                     "timeout = 5s", "fleet = yes"]
            for m in range(a.models):
                lines += ["", f"[model m{m:05d}]", f"interval = {iv}",
                          "jitter = 10%", f"warm_ttl = {iv}"]
            cfg = os.path.join(tmp, f"h{i}.conf")
            with open(cfg, "w") as f:
                f.write("\n".join(lines) + "\n")
            log = open(os.path.join(tmp, f"h{i}.log"), "w")
            p = subprocess.Popen([warmd, "-f", "-c", cfg], stdout=log,
                                 stderr=log)
            procs.append(p)
            hosts.append(p)
        t_start = time.monotonic()
        time.sleep(a.interval)  # the first round: every host claims at once
        for p in hosts:
            if p.poll() is not None:
                sys.exit(f"bench-fleet: a warmd exited early (logs in {tmp})")
        upstream_reset(uport)
        c0, rc0 = commands(rport), redis_cpu(rport)
        w0 = [proc_cpu(p.pid) for p in hosts]
        t0 = time.monotonic()
        time.sleep(a.seconds - a.interval)
        el = time.monotonic() - t0
        c1, rc1 = commands(rport), redis_cpu(rport)
        w1 = [proc_cpu(p.pid) for p in hosts]
        sent = upstream_total(uport)
        for p in hosts:
            p.send_signal(signal.SIGTERM)
        for p in hosts:
            p.wait(timeout=60)
        p99s = []
        for i in range(a.hosts):
            with open(os.path.join(tmp, f"h{i}.log")) as f:
                m = re.search(r"lateness p50=(-?\d+)us p99=(-?\d+)us", f.read())
            if m:
                p99s.append(int(m.group(2)) / 1000)
    finally:
        stop_all(procs, 10)
        for i in range(a.hosts):
            unlink_shm(f"{shm}-h{i}")
    dc = {k: c1.get(k, 0) - c0.get(k, 0) for k in c1}
    # commandstats counts the commands scripts run too; what a host sends
    # (each at most one round trip) is the scripts' calls and the
    # handshake's commands (no budget = fleet here, so no GET/INCRBYFLOAT).
    total = sum(dc.values()) - dc.get("info", 0)  # our own INFO calls
    sent_cmds = sum(dc.get(k, 0) for k in ("evalsha", "eval", "script",
                                           "auth", "select", "hello"))
    intervals = el / a.interval
    mi = a.models * intervals
    per_host = sent_cmds / (a.hosts * mi)
    want = mi
    off_pct = 100.0 * (sent - want) / want
    cpu = [(y - x) / el * 100 for x, y in zip(w0, w1)]
    rcpu = (rc1 - rc0) / el * 100
    p99s.sort()

    def verdict(ok):
        return "met" if ok else "NOT met"

    print(f"bench-fleet: {a.hosts} hosts x {a.models} models at "
          f"{a.interval:g}s, measured {el:.1f}s after a first round of "
          f"{a.interval:g}s (logs in {tmp})")
    print(f"redis      {sent_cmds / el:.0f} commands/s sent by the hosts, "
          f"{sent_cmds / mi:.2f} per model-interval, {per_host:.3f} per host "
          f"per model per interval (goal <= {GOAL_RT:g}: "
          f"{verdict(per_host <= GOAL_RT)})")
    print(f"           {total / el:.0f} commands/s executed counting those "
          f"the scripts run ({total / mi:.2f} per model-interval): " +
          ", ".join(f"{k}={v}" for k, v in sorted(dc.items()) if v))
    print(f"redis cpu  {rcpu:.1f}% of a core")
    print(f"warmd cpu  max {max(cpu):.1f}%, mean {sum(cpu) / len(cpu):.1f}% "
          f"of a core (goal < {GOAL_CPU_PCT:g}%: "
          f"{verdict(max(cpu) < GOAL_CPU_PCT)})")
    print(f"warmups    {sent} sent by the fleet, {want:.0f} = one per model "
          f"per interval: {off_pct:+.2f}% (goal within {GOAL_WARMUPS_PCT:g}%: "
          f"{verdict(abs(off_pct) <= GOAL_WARMUPS_PCT)})")
    if p99s:
        print(f"lateness   p99 per host: max {p99s[-1]:.1f} ms, median "
              f"{p99s[len(p99s) // 2]:.1f} ms")
    print(f"hosts={a.hosts} models={a.models} interval={a.interval:g} "
          f"seconds={el:.1f}")
    print(f"redis_cmds_per_s={sent_cmds / el:.1f} "
          f"redis_executed_per_s={total / el:.1f} "
          f"redis_cmds_per_host_model_interval={per_host:.4f} "
          f"redis_cpu_pct={rcpu:.2f}")
    print(f"warmd_cpu_max_pct={max(cpu):.2f} "
          f"warmd_cpu_mean_pct={sum(cpu) / len(cpu):.2f}")
    print(f"warmups={sent} warmups_want={want:.1f} warmups_off_pct={off_pct:.2f}")
    if p99s:
        print(f"lateness_p99_max_ms={p99s[-1]:.2f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
