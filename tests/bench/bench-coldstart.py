#!/usr/bin/env python3
"""bench-coldstart - the first real request after an idle spell, with and
without warmd, for every provider kind and probe kind the test upstream
speaks (issue 10's closing table).  Not run by CI; prints a table.

For each row it starts the test upstream (tests/upstream/warmth-upstream)
with a lazily unloading model: idle for --unload-after (default 2 s), the
model is cold, and the next request pays --load-ms (default 800 ms) before
it is answered, as llama.cpp or Ollama pay a model load.  Ollama's side is
the same with keep_alive = --unload-after.  Then:

  with warmd     warmd runs with one model of that kind and probe, interval
                 --interval (default 500 ms); a client request loads the
                 model, the client stays away for --idle (default 3 s, past
                 the unload time) while warmd goes on, then the client's
                 next request is timed
  without warmd  the same, no warmd: the timed request finds the model
                 unloaded (measured once per provider kind)

and prints provider, probe, what "warm" means for that probe, warmd's state
of the model just before the timed request, and the two latencies.  A run
takes about 70 s (bounded by --max-seconds, default 170).  Run from the
build directory:
    make bench-coldstart
    ./tests/bench/bench-coldstart [--idle S] [--load-ms MS] [--only KIND]
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
import urllib.error
import urllib.request

# The process stop and /dev/shm clean-up of the integration tests: in the
# source tree (make's copy in the build directory names it on this line).
TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import stop_all, unlink_shm  # noqa: E402

MEANS = {
    ("openai", "chat"): "the model answered a 3-token chat",
    ("openai", "models"): "endpoint up, id listed (not loaded)",
    ("anthropic", "chat"): "the model answered a 3-token message",
    ("anthropic", "models"): "endpoint up, id listed (not loaded)",
    ("azure", "chat"): "the deployment answered a 3-token chat",
    ("gemini", "chat"): "the model answered generateContent",
    ("gemini", "models"): "endpoint up, id listed (not loaded)",
    ("ollama", "load"): "loaded until /api/ps expires_at (0 tokens)",
    ("ollama", "chat"): "the model answered /api/generate",
    ("ollama", "models"): "id in /api/tags (not loaded)",
    ("vllm", "chat"): "engine awake (/is_sleeping), model answered",
    ("vllm", "models"): "engine up, id listed (not loaded)",
}
ROWS = [("openai", "chat"), ("openai", "models"), ("anthropic", "chat"),
        ("anthropic", "models"), ("azure", "chat"), ("gemini", "chat"),
        ("gemini", "models"),
        ("ollama", "load"), ("ollama", "chat"), ("ollama", "models"),
        ("vllm", "chat"), ("vllm", "models")]
MODEL = "bench-model"


def binary(rel):
    path = os.path.join(os.getcwd(), rel)
    if not os.access(path, os.X_OK):
        sys.exit(f"bench-coldstart: missing {rel}: run from the build "
                 "directory after make")
    return path


class Run:
    """The processes of one row, stopped by pid."""

    def __init__(self, tmp, args):
        self.tmp, self.args, self.procs = tmp, args, []
        self.shm = f"/warmth-bench-cs-{os.getpid()}"

    def upstream(self):
        a = self.args
        p = subprocess.Popen(
            [binary("tests/upstream/warmth-upstream"), "--listen",
             "127.0.0.1:0", "--max-seconds", "60",
             "--cold-after", f"{a.unload_after}s", "--cold-ms",
             str(a.load_ms), "--warm-ms", str(a.warm_ms), "--keep-alive",
             f"{a.unload_after}s", "--models", MODEL],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        m = re.match(r"port=(\d+)", p.stdout.readline())
        if not m:
            sys.exit("bench-coldstart: the upstream did not start")
        self.port = int(m.group(1))

    def warmd(self, kind, probe):
        base = f"http://127.0.0.1:{self.port}"
        base += {"ollama": "", "azure": "/openai", "gemini": "/v1beta"}.get(
            kind, "/v1")
        ep = [f"kind = {kind}", f"base_url = {base}", "timeout = 5s"]
        if kind == "azure":
            ep.append("api_version = 2024-10-21")
        model = [f"endpoint = e", f"probe = {probe}",
                 f"interval = {self.args.interval}ms", "jitter = 0%",
                 f"warm_ttl = {self.args.unload_after}s"]
        if kind == "ollama" and probe != "models":
            model.append(f"keep_alive = {self.args.unload_after}s")
        cfg = os.path.join(self.tmp, "warmd.conf")
        with open(cfg, "w") as f:
            f.write("\n".join(
                ["[warmd]", f"shm = {self.shm}", "tick = 20ms",
                 "http_listen =", "stale_after = 2s",
                 f"control_socket = {self.tmp}/warmd.sock", "",
                 "[endpoint e]"] + ep + ["", f"[model {MODEL}]"] + model)
                    + "\n")
        r = subprocess.run([binary("tools/warmd/warmd"), "--check-config",
                            "-c", cfg], capture_output=True, text=True)
        if r.returncode != 0:
            return (r.stdout + r.stderr).strip().splitlines()[-1][:60]
        log = open(os.path.join(self.tmp, "warmd.log"), "a")
        self.procs.append(subprocess.Popen(
            [binary("tools/warmd/warmd"), "-f", "-c", cfg], stdout=log,
            stderr=log))
        end = time.monotonic() + 10
        while not os.path.exists("/dev/shm" + self.shm):
            if time.monotonic() > end:
                sys.exit("bench-coldstart: warmd did not start")
            time.sleep(0.02)
        return None

    def state(self):
        r = subprocess.run([binary("tools/warmctl/warmctl"), "--shm",
                            self.shm, "show", MODEL, "--json"],
                           capture_output=True, text=True, timeout=10)
        try:
            return json.loads(r.stdout[r.stdout.index("{"):]).get("state", "?")
        except ValueError:
            return "?"

    def stop(self):
        stop_all(self.procs, 5)
        unlink_shm(self.shm)


def client_request(port, kind):
    """One real request of the kind's own protocol; returns ms, or None."""
    path, body, hdr = "/v1/chat/completions", {
        "model": MODEL, "max_tokens": 16,
        "messages": [{"role": "user", "content": "a real question"}]}, {}
    if kind == "anthropic":
        path, hdr = "/v1/messages", {"anthropic-version": "2023-06-01"}
    elif kind == "ollama":
        path, body = "/api/generate", {"model": MODEL, "stream": False,
                                       "prompt": "a real question"}
    elif kind == "azure":
        path = (f"/openai/deployments/{MODEL}/chat/completions"
                "?api-version=2024-10-21")
    elif kind == "gemini":
        path, body = f"/v1beta/models/{MODEL}:generateContent", {
            "contents": [{"parts": [{"text": "a real question"}]}]}
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **hdr})
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
    except (urllib.error.URLError, OSError):
        return None
    return (time.monotonic() - t) * 1000


def spell(run, kind, args):
    """Client request (loads), idle spell, timed request."""
    client_request(run.port, kind)
    time.sleep(args.idle)
    state = run.state() if len(run.procs) > 1 else "-"
    return client_request(run.port, kind), state


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--unload-after", type=float, default=2.0)
    ap.add_argument("--load-ms", type=int, default=800)
    ap.add_argument("--warm-ms", type=int, default=20)
    ap.add_argument("--interval", type=int, default=500)
    ap.add_argument("--max-seconds", type=int, default=170)
    ap.add_argument("--only", action="append", metavar="KIND",
                    help="only these provider kinds (repeatable)")
    args = ap.parse_args()
    if args.idle <= args.unload_after:
        sys.exit("bench-coldstart: --idle must be longer than --unload-after")

    def on_alarm(signum, frame):
        raise TimeoutError("run past --max-seconds")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.max_seconds)
    tmp = tempfile.mkdtemp(prefix="warmth-bench-cs-")
    without, rows, t0 = {}, [], time.monotonic()
    try:
        for kind, probe in ROWS:
            if args.only and kind not in args.only:
                continue
            run = Run(tmp, args)
            try:
                run.upstream()
                if client_request(run.port, kind) is None:
                    rows.append((kind, probe, None, None, None,
                                 "upstream does not speak it"))
                    continue
                skip = run.warmd(kind, probe)
                if skip:
                    rows.append((kind, probe, None, None, None, skip))
                    continue
                with_ms, state = spell(run, kind, args)
            finally:
                run.stop()
            if kind not in without:
                run = Run(tmp, args)
                try:
                    run.upstream()
                    without[kind] = spell(run, kind, args)[0]
                finally:
                    run.stop()
            rows.append((kind, probe, state, with_ms, without[kind], None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"first real request after {args.idle:g} s idle; the upstream "
          f"unloads after {args.unload_after:g} s, a load costs "
          f"{args.load_ms} ms, a loaded model answers in {args.warm_ms} ms; "
          f"warmd interval {args.interval} ms")
    fmt = "| {:<9} | {:<6} | {:<44} | {:<8} | {:>10} | {:>13} |"
    print(fmt.format("provider", "probe", 'what "warm" means',
                     "state", "with warmd", "without warmd"))
    print("|" + "|".join("-" * (w + 2) for w in (9, 6, 44, 8, 10, 13)) + "|")
    ms = lambda v: "-" if v is None else f"{v:.0f} ms"
    for kind, probe, state, w, wo, note in rows:
        if note:
            print(fmt.format(kind, probe, f"(skipped: {note})"[:44], "-", "-",
                             "-"))
        else:
            print(fmt.format(kind, probe, MEANS[(kind, probe)], state, ms(w),
                             ms(wo)))
    print(f"run took {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
