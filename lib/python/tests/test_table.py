"""Opening and closing, lazy attach, a replaced segment, status."""
import os
import time

import pytest

import warmth
from warmth import Liveness, State
from conftest import eventually, remove_segments, shm_name


def test_open_missing_segment():
    name = shm_name()
    with pytest.raises(warmth.NoSegment) as ei:
        warmth.Table(name, lazy=False)
    e = ei.value
    assert e.code == -3 and e.name == "WARMTH_ENOENT"
    assert e.model is None
    assert str(e) == f"{name}: no such segment (is warmd running?)"
    with pytest.raises(warmth.NoSegment):
        warmth.Table.open(name, lazy=False)


@pytest.mark.parametrize("bad", ["no-slash", "/", "/a/b", "/" + "x" * 300])
def test_open_bad_name(bad):
    with pytest.raises(warmth.InvalidArgument) as ei:
        warmth.Table(bad)
    assert ei.value.code == -1 and ei.value.name == "WARMTH_EINVAL"


def test_open_foreign_segment():
    name = shm_name()
    with open("/dev/shm" + name, "wb") as f:  # shm_open's files on Linux
        f.write(b"not a warmth table".ljust(8192, b"\0"))
    os.chmod("/dev/shm" + name, 0o600)
    try:
        with pytest.raises(warmth.BadSegment) as ei:
            warmth.Table(name, lazy=False)
        assert ei.value.name == "WARMTH_EBADMAGIC"
        assert "foreign magic" in str(ei.value)
    finally:
        remove_segments(name)


def test_open_insecure_segment(fill):
    f = fill(["a"], "--warm", "a")
    os.chmod("/dev/shm" + f.name, 0o666)  # anyone could forge warmth
    with pytest.raises(warmth.Untrusted) as ei:
        warmth.Table(f.name, lazy=False)
    assert ei.value.name == "WARMTH_EINSECURE"


def test_lazy_then_attach(fill):
    name = shm_name()
    t = warmth.Table(name)  # lazy is the default
    assert not t.closed and t.shm == name
    with pytest.raises(warmth.NoSegment):
        t.is_warm("a")
    assert t.is_warm("a", default=False) is False
    with pytest.raises(warmth.NoSegment):
        t.status()
    with pytest.raises(warmth.NoSegment):
        t.models()
    fill(["a", "b"], "--warm", "a", name=name)
    # re-attach is tried at most every 100 ms
    eventually(lambda: t.is_warm("a", default=False), 3, "lazy attach")
    assert t.lookup("b").state == State.UNKNOWN
    t.close()


def test_follows_replaced_segment(fill):
    name = shm_name()
    first = fill(["a", "b"], "--warm", "a", name=name)
    t = warmth.Table(name, lazy=False)
    assert t.is_warm("a")
    pid1 = t.status().pid
    first.stop()  # retires and unlinks, as a stopping coordinator does
    assert t.is_warm("a") is False  # retired: old warmth is not trusted
    second = fill(["x", "a"], "--warm", "x", name=name)
    eventually(lambda: t.get("x") is not None, 3, "the new segment")
    assert t.is_warm("x") is True and t.is_warm("a") is False
    assert t.lookup("a").slot == 1
    assert "b" not in t
    st = t.status()
    assert st.pid == second.pid != pid1 and st.alive
    t.close()


def test_env_shm(fill, monkeypatch):
    f = fill(["envmodel"], "--warm", "envmodel")
    monkeypatch.setenv("WARMTH_SHM", f.name)
    with warmth.Table(lazy=False) as t:
        assert t.shm is None
        assert t.is_warm("envmodel")


def test_close(table3):
    t, f = table3
    with warmth.Table(f.name, lazy=False) as t2:
        assert t2.is_warm("a")
    assert t2.closed
    for call in (lambda: t2.is_warm("a"), lambda: t2.lookup("a"),
                 lambda: t2.touch("a"), lambda: t2.status(),
                 lambda: t2.models(), lambda: t2.wait_warm("a", 0),
                 lambda: t2.report("a", 0.1, True)):
        with pytest.raises(warmth.InvalidArgument) as ei:
            call()
        assert "closed" in str(ei.value)
    t2.close()  # idempotent
    assert "closed" in repr(t2)
    assert t.is_warm("a")  # another handle is not affected


def test_not_picklable(table3):
    import pickle

    t, _ = table3
    with pytest.raises(TypeError):
        pickle.dumps(t)
    # errors and records are
    e = pickle.loads(pickle.dumps(warmth.errors.error(-13, model="m")))
    assert isinstance(e, warmth.NotFound) and e.code == -13 and \
        str(e) == "m: model not in the table"
    r = pickle.loads(pickle.dumps(t.lookup("a")))
    assert r.name == "a" and r.state is State.WARM


def test_status(table3):
    t, f = table3
    st = t.status()
    assert isinstance(st, warmth.Status)
    assert st.pid == f.pid
    assert st.alive and not st.stale and st.retired is Liveness.LIVE
    assert st.models == 3 and st.capacity == 16
    assert st.index_generation >= 1
    assert 0 <= st.heartbeat_age_s < 1.5  # fill-table beats every 100 ms
    assert st.stale_after_ns > 0
    assert abs(st.created_s - time.time()) < 120


def test_status_stale(fill):
    f = fill(["a", "b"], "--warm", "a", "--stale")  # no heartbeat, 100 ms
    with warmth.Table(f.name, lazy=False) as t:
        eventually(lambda: t.status().stale, 3, "a stale heartbeat")
        st = t.status()
        assert st.stale and not st.alive and st.retired is Liveness.LIVE
        assert st.heartbeat_age_ns > st.stale_after_ns == 100_000_000
        # The record still says warm; is_warm() does not trust it.
        assert t.lookup("a").state is State.WARM
        assert t.is_warm("a") is False


def test_status_retired(fill):
    f = fill(["a"], "--warm", "a", "--retire", hold=0.3)
    with warmth.Table(f.name, lazy=False) as t:
        assert t.is_warm("a")
        assert f.wait() == 0
        st = t.status()
        assert st.retired is Liveness.RETIRED and str(st.retired) == "retired"
        assert st.stale and not st.alive
        assert t.is_warm("a") is False
