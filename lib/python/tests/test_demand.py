"""touch, report and wait_warm: what workers tell the coordinator."""
import threading
import time

import pytest

import warmth
from conftest import demand


def test_touch(table3):
    t, f = table3
    before = demand(f.name, 0)["touches"]
    for _ in range(5):
        assert t.touch("a") is None
    d = demand(f.name, 0)
    assert d["touches"] == before + 5
    assert d["last_touch_s"] > 0
    assert demand(f.name, 1)["touches"] == 0  # b untouched
    t.touch("b")
    assert demand(f.name, 1)["touches"] == 1


def test_touch_errors(table3):
    t, _ = table3
    with pytest.raises(warmth.NotFound):
        t.touch("zz")
    with pytest.raises(warmth.InvalidName):
        t.touch("bad name")


def test_report(table3):
    t, f = table3
    t.report("b", 0.2345, True)
    d = demand(f.name, 1)
    assert (d["real_ok"], d["real_fail"]) == (1, 0)
    assert d["real_latency_us"] == 234500
    assert abs(d["real_ok_ns"] - time.monotonic_ns()) < 5 * 10**9
    assert d["touches"] == 1  # a report touches too
    t.report("b", 3.0, False)
    d = demand(f.name, 1)
    assert (d["real_ok"], d["real_fail"]) == (1, 1)
    assert d["real_latency_us"] == 234500  # a failure keeps the last ok
    t.report("b", 1e9, True)  # clamped to the C type, not wrapped
    assert demand(f.name, 1)["real_latency_us"] == 0xFFFFFFFF
    t.report("b", 0, 1)
    assert demand(f.name, 1)["real_latency_us"] == 0


def test_report_errors(table3):
    t, _ = table3
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError):
            t.report("a", bad, True)
    with pytest.raises(warmth.NotFound):
        t.report("zz", 0.1, True)


def test_wait_warm_already(table3):
    t, f = table3
    start = time.monotonic()
    assert t.wait_warm("a", 5) is True
    assert time.monotonic() - start < 1
    assert demand(f.name, 0)["touches"] >= 1  # waiting is demand


def test_wait_warm_times_out(table3):
    t, f = table3
    for timeout in (0, 0.3, 0.6):
        start = time.monotonic()
        assert t.wait_warm("b", timeout) is False
        took = time.monotonic() - start
        assert timeout <= took < timeout + 1.0
    assert demand(f.name, 1)["touches"] >= 3
    assert demand(f.name, 1)["waiters"] == 0  # every waiter left


def test_wait_warm_errors(table3):
    t, _ = table3
    with pytest.raises(warmth.NotFound):
        t.wait_warm("zz", 0.1)
    with pytest.raises(ValueError):
        t.wait_warm("a", -1)
    with pytest.raises(warmth.InvalidName):
        t.wait_warm("bad name", 0.1)


def test_wait_warm_releases_gil(table3):
    t, _ = table3
    spins = 0
    done = threading.Event()
    result = []

    def waiter():
        result.append(t.wait_warm("b", 0.6))
        done.set()

    th = threading.Thread(target=waiter)
    th.start()
    while not done.is_set():
        spins += 1  # only runs if the waiter sleeps without the GIL
    th.join()
    assert result == [False]
    assert spins > 1000, f"main thread starved while waiting: {spins}"


def test_wait_warm_wakes_on_lazy_attach(fill):
    from conftest import shm_name

    name = shm_name()
    t = warmth.Table(name)
    with pytest.raises(warmth.NoSegment):
        t.wait_warm("a", 0.1)
    fill(["a"], "--warm", "a", name=name)
    start = time.monotonic()
    while True:
        try:
            assert t.wait_warm("a", 2)
            break
        except warmth.NoSegment:
            assert time.monotonic() - start < 3
            time.sleep(0.05)
    t.close()
