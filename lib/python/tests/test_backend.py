"""The two backends of warmth.Table: the C extension (warmth._native) and
the ctypes fallback give the same answers; the extension's cached
per-name handles follow a coordinator that replaced the table and a model
that appeared after it was first asked about, and survive fork()."""
import os

import pytest

import warmth
from warmth import table as _table
from conftest import eventually

native = pytest.mark.skipif(warmth.backend != "native",
                            reason="the C extension is not the backend")


def test_backend_is_the_one_asked_for():
    want = os.environ.get("WARMTH_BACKEND")
    if want in ("native", "ctypes"):
        assert warmth.backend == want
    assert warmth.backend in ("native", "ctypes")
    assert warmth.Table.__name__ == "Table"


def _same(a, b):
    # now_ns and warm_for_s depend on when each copy was made.
    assert a._replace(now_ns=0, warm_for_s=0.0) == \
        b._replace(now_ns=0, warm_for_s=0.0)
    assert type(a) is type(b) is warmth.ModelInfo
    assert [type(x) for x in a] == [type(x) for x in b]


@native
def test_same_records_as_ctypes(fill):
    f = fill(["warm-one", "never", "bad"], "--warm", "warm-one",
             "--failing", "bad")
    n = warmth.Table(f.name, lazy=False)
    c = _table.CtypesTable(f.name, lazy=False)
    for m in ("warm-one", "never", "bad"):
        assert n.is_warm(m) == c.is_warm(m)
        _same(n.lookup(m), c.lookup(m))
        _same(n.lookup(m.encode()), c.lookup(m.encode()))
    for a, b in zip(n.models(), c.models(), strict=True):
        _same(a, b)
    assert n.status()._replace(heartbeat_age_ns=0) == \
        c.status()._replace(heartbeat_age_ns=0)
    assert n.is_warm("absent", default=None) is None
    with pytest.raises(warmth.NotFound):
        n.lookup("absent")
    n.close()
    c.close()


@native
def test_handles_follow_a_new_table(fill):
    """Asked about before it exists, in a table that is then replaced by one
    that has it (a coordinator restart): found, without a new Table."""
    f1 = fill(["first"], "--warm", "first")
    t = warmth.Table(f1.name)
    assert t.is_warm("first") is True
    with pytest.raises(warmth.NotFound):
        t.is_warm("later")
    assert t.is_warm("later", default=False) is False
    f1.stop()
    fill(["later", "first"], "--warm", "later", name=f1.name)
    eventually(lambda: t.is_warm("later", default=False), what="new table")
    assert t.lookup("later").name == "later"
    assert t.lookup("first").name == "first"
    assert t.is_warm("first") is False  # the new table did not warm it
    assert t._cached() >= 2
    t.close()
    assert t._cached() == 0


@native
def test_handles_resolved_before_fork(fill):
    f = fill(["m0", "m1"], "--warm", "m0")
    t = warmth.Table(f.name, lazy=False)
    assert t.is_warm("m0") and not t.is_warm("m1")  # resolved in the parent
    pid = os.fork()
    if pid == 0:
        ok = (t.is_warm("m0") is True and t.is_warm("m1") is False
              and t.lookup("m0").name == "m0")
        t.touch("m0")
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    t.close()


@native
def test_name_cache_is_bounded(fill):
    f = fill(["m"])
    t = warmth.Table(f.name, lazy=False)
    for i in range(5000):
        t.is_warm(f"n{i}", default=None)
    assert 0 < t._cached() <= 4096
    assert t.is_warm("m") is False
    t.close()


def test_no_leak_per_call(fill):
    """A reference lost per call (an int, a record, a name) would grow the
    traced memory by tens of bytes a call: 20,000 rounds must not."""
    import gc
    import tracemalloc

    f = fill(["leak-a", "leak-b"], "--warm", "leak-a")
    t = warmth.Table(f.name, lazy=False)

    def rounds(n):
        for _ in range(n):
            t.is_warm("leak-a")
            t.is_warm("absent", default=False)
            t.lookup("leak-a")
            t.lookup(b"leak-b")
            t.touch("leak-a")
            t.report("leak-a", 0.01, True)
            t.get("absent")
            "leak-b" in t

    rounds(200)  # caches (names, flags) filled before the measure
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rounds(20000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes more after 20,000 rounds"
    t.close()
