"""Helpers of the operations tests (reload, restart, service, init script):
reader processes that verify every record they copy (tests/helpers/table-watch),
one-shot samples of the table, and waiting for log lines."""
import json
import os
import re
import signal
import subprocess
import time

from harness import binary, wait_for

NOTFOUND = -13  # WARMTH_ENOTFOUND


class Watch:
    """A table-watch process: reads the models until its time is up, then
    its samples and summary are in .samples / .summary."""

    n = 0

    def __init__(self, P, models, seconds, sample_ms=50):
        self.models = list(models)
        # A file, not a pipe: a full pipe would stop the reader mid-test.
        Watch.n += 1
        self.out = P.path(f"watch-{Watch.n}.jsonl")
        self.p = P.spawn([binary("tests/helpers/table-watch"), "--shm", P.shm,
                          "--models", ",".join(self.models), "--seconds",
                          str(seconds), "--sample-ms", str(sample_ms)],
                         stdout=open(self.out, "w"))
        self.samples = []
        self.summary = None

    def stop(self):
        """Ends the reading now (SIGTERM: table-watch prints its summary
        and exits) and collects it, as finish() does: for a test whose
        events take as long as they take, given a generous --seconds."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.finish()

    def finish(self, timeout=60):
        self.p.wait(timeout=timeout)
        with open(self.out) as f:
            out = f.read()
        for line in out.splitlines():
            o = json.loads(line)
            if o.get("done"):
                self.summary = o
            else:
                self.samples.append(o)
        if self.summary is None:
            raise AssertionError(f"table-watch printed no summary: {out[-500:]!r}")
        self.rc = self.p.returncode
        return self

    def model(self, name):
        """Per sample: dict of the fields for one model (and the header)."""
        keys = ("rc", "state", "successes", "warm", "left_ms", "interval_ms",
                "slot", "generation")
        return [dict(zip(keys, s["m"][name]), t=s["t"], pid=s["pid"],
                     stale=s["stale"], retired=s["retired"])
                for s in self.samples]


def sample(P, models):
    """One consistent look at the table now: {model: fields} plus header."""
    w = Watch(P, models, 0.03, sample_ms=1).finish()
    if not w.samples:
        raise AssertionError("table-watch took no sample")
    last = w.samples[-1]
    return {m: w.model(m)[-1] for m in models}, last


def wait_sample(P, models, pred, timeout, what):
    """Waits until pred(fields_by_model, header) holds for a sample."""
    end = time.time() + timeout
    while time.time() < end:
        by_model, hdr = sample(P, models)
        if pred(by_model, hdr):
            return by_model, hdr
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def count(path, pattern):
    try:
        with open(path) as f:
            return len(re.findall(pattern, f.read()))
    except FileNotFoundError:
        return 0


def wait_log(path, pattern, n, timeout, what):
    wait_for(lambda: count(path, pattern) >= n, timeout, what)
    with open(path) as f:
        return re.findall(pattern, f.read())


def write(path, text):
    """Replaces a file atomically, as an operator's editor would."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (our child, not reaped) is not alive for this purpose
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
