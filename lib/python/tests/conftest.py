"""Fixtures of the binding's tests: a table made by tests/helpers/fill-table.

run-tests.sh sets WARMTH_LIB (the libwarmth.so of the build), PYTHONPATH
(the binding's source) and WARMTH_FILL_TABLE (the helper that plays the
coordinator); the tests refuse to run without the helper rather than skip.
"""
import itertools
import os
import select
import signal
import struct
import subprocess
import time

import pytest

TEST_BOUND_S = 30  # per test; the wrapper bounds the whole run as well
_seq = itertools.count()


def fill_table_path():
    path = os.environ.get("WARMTH_FILL_TABLE")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("WARMTH_FILL_TABLE must name the fill-table helper "
                    "(built by make; run the tests through run-tests.sh)",
                    pytrace=False)
    return path


def shm_name():
    return f"/warmth-py-{os.getpid()}-{next(_seq)}"


def remove_segments(name):
    for suffix in ("", ".demand"):
        try:
            os.unlink("/dev/shm" + name + suffix)
        except FileNotFoundError:
            pass


class Filler:
    """One fill-table process, stopped by pid."""

    def __init__(self, name, models, *args, hold=60):
        self.name = name
        argv = [fill_table_path(), "--shm", name, "--models", ",".join(models),
                "--hold", str(hold), "--verbose", *args]
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        # With --verbose it prints one line once the table is published.
        ready, _, _ = select.select([self.proc.stderr], [], [], 10)
        line = self.proc.stderr.readline() if ready else ""
        if "models" not in line:
            self.stop()
            raise RuntimeError(f"fill-table did not start: {line!r}")

    def stop(self):
        p = self.proc
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.stderr.close()

    def wait(self, timeout=10):
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def fill():
    """fill(models, *fill_table_args, name=None, hold=60) -> Filler."""
    started = []

    def start(models, *args, name=None, hold=60):
        f = Filler(name or shm_name(), models, *args, hold=hold)
        started.append(f)
        return f

    yield start
    for f in reversed(started):
        f.stop()
        remove_segments(f.name)


@pytest.fixture
def table3(fill):
    """Models a (warm), b (never probed), c (failing), and an open Table."""
    import warmth

    f = fill(["a", "b", "c"], "--warm", "a", "--failing", "c")
    t = warmth.Table(f.name, lazy=False)
    yield t, f
    t.close()


@pytest.fixture(autouse=True)
def bounded():
    """A test that hangs fails after TEST_BOUND_S instead of blocking CI."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"test ran past {TEST_BOUND_S}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_BOUND_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def eventually(pred, timeout=5.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ---- the demand segment, read behind the library's back -------------------
# The binding has (on purpose) no API to read demand; to check that touch()
# and report() reach it, the tests decode struct warmth__dhdr / warmth__dslot
# (lib/layout.h).  A layout change makes these tests fail loudly here.
DHDR = struct.Struct("=QIIIIQQQ")  # magic abi hdr_size slot_size cap size off
DSLOT = struct.Struct("=IIQqIIQQQ")
DMAGIC = 0x316448544D524157  # WARMTH__DMAGIC


def demand(name, slot):
    with open("/dev/shm" + name + ".demand", "rb") as f:
        data = f.read()
    magic, abi, hdr_size, slot_size, cap, size, off, inst = \
        DHDR.unpack_from(data)
    assert magic == DMAGIC and slot_size == 64, \
        "demand segment layout changed (lib/layout.h): update conftest.py"
    (last_touch_s, waiters, touches, real_ok_ns, real_latency_us, _pad,
     real_ok, real_fail, gen) = DSLOT.unpack_from(data, off + slot * slot_size)
    return dict(last_touch_s=last_touch_s, waiters=waiters, touches=touches,
                real_ok_ns=real_ok_ns, real_latency_us=real_latency_us,
                real_ok=real_ok, real_fail=real_fail, generation=gen)


def header_path():
    """include/warmth.h of the source tree (the tests live in lib/python)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "..", "include", "warmth.h")
