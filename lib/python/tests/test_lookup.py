"""is_warm, lookup and its record, iteration, and the errors of a read."""
import time

import pytest

import warmth
from warmth import ErrorClass, Flags, State

NS = 1_000_000_000


def test_is_warm(table3):
    t, _ = table3
    assert t.is_warm("a") is True
    assert t.is_warm("b") is False  # never probed
    assert t.is_warm("c") is False  # failing, warmth expired


def test_warm_record(table3):
    t, f = table3
    before = time.monotonic_ns()
    r = t.lookup("a")
    after = time.monotonic_ns()
    assert isinstance(r, warmth.ModelInfo)
    assert r.name == "a" and r.slot == 0 and r.generation >= 1
    assert r.state is State.WARM and r.state == 2
    assert r.state_name == "warm" and str(r.state) == "warm"
    # fill-table: 40 warmups of 150 ms at gpt-4o-mini prices (fill-table.c)
    assert (r.successes, r.failures, r.fails_in_row) == (40, 0, 0)
    assert (r.tokens_in, r.tokens_out, r.tokens_cached) == (480, 40, 320)
    assert r.cost_nusd == 72000 and r.cost_usd == pytest.approx(72e-6)
    assert (r.last_latency_us, r.ewma_latency_us) == (150000, 150000)
    assert (r.dns_us, r.connect_us, r.tls_us, r.ttfb_us) == \
        (1700, 4750, 13000, 127550)
    assert r.http_status == 200
    assert r.error_class is ErrorClass.NONE and r.error_class_name == "none"
    assert r.flags == Flags.PREFIX_CACHED and isinstance(r.flags, Flags)
    assert (r.headroom_requests, r.headroom_tokens) == (4990, 79000)
    assert (r.requests_left, r.tokens_left) == (4990, 79000)
    assert r.endpoint == 0 and r.retry_after_until == 0
    assert r.retry_after_s == 0.0
    # Times: raw CLOCK_MONOTONIC ns of fill-table, the clock of
    # time.monotonic_ns(); warm for 300 s from its start.
    assert before <= r.now_ns <= after
    assert 250 * NS < r.warm_until - r.now_ns <= 300 * NS
    assert r.warm_for_s == pytest.approx((r.warm_until - r.now_ns) / NS)
    assert 250 < r.warm_for_s <= 300
    assert 0.9 < r.last_ok_age_s < 60 and r.last_ok == r.last_probe
    assert r.last_probe_age_s == r.last_ok_age_s


def test_unknown_record(table3):
    t, _ = table3
    r = t.lookup("b")
    assert (r.name, r.slot, r.state, r.state_name) == \
        ("b", 1, State.UNKNOWN, "unknown")
    assert r.warm_until == r.last_ok == r.last_probe == 0
    assert r.successes == r.failures == r.cost_nusd == 0
    assert r.warm_for_s == 0.0
    assert r.last_ok_age_s is None and r.last_probe_age_s is None


def test_failing_record(table3):
    t, _ = table3
    r = t.lookup("c")
    assert (r.name, r.slot, r.state, r.state_name) == \
        ("c", 2, State.FAILING, "failing")
    assert (r.http_status, r.fails_in_row, r.failures) == (503, 3, 3)
    assert r.error_class is ErrorClass.SERVER
    assert r.error_class_name == "server" and str(r.error_class) == "server"
    assert r.flags == Flags.THROTTLED
    assert r.warm_for_s == 0.0  # expired: warm_until in the past
    assert r.warm_until < r.now_ns
    assert 20 < r.retry_after_s <= 30  # Retry-After of 30 s (fill-table.c)
    assert 500 < r.last_ok_age_s < 700


def test_record_is_read_only(table3):
    t, _ = table3
    r = t.lookup("a")
    with pytest.raises(AttributeError):
        r.state = State.IDLE
    with pytest.raises(TypeError):
        r[0] = "b"
    assert r == t.lookup("a")._replace(now_ns=r.now_ns,
                                       warm_for_s=r.warm_for_s)
    assert r._asdict()["name"] == "a"


def test_mapping_helpers(table3):
    t, _ = table3
    assert t["a"].name == "a"
    assert "a" in t and "zz" not in t
    assert t.get("zz") is None and t.get("zz", 5) == 5
    assert t.get("b").name == "b"
    with pytest.raises(KeyError):
        t["zz"]


def test_bytes_names(table3):
    t, _ = table3
    assert t.lookup(b"a").name == "a"
    assert t.is_warm(b"a") is True


def test_not_found(table3):
    t, _ = table3
    with pytest.raises(warmth.NotFound) as ei:
        t.lookup("zz")
    e = ei.value
    assert isinstance(e, warmth.WarmthError) and isinstance(e, KeyError)
    assert e.code == -13 and e.name == "WARMTH_ENOTFOUND"
    assert e.model == "zz"
    assert str(e) == "zz: model not in the table"
    with pytest.raises(warmth.NotFound):
        t.is_warm("zz")
    assert t.is_warm("zz", default=False) is False
    assert t.is_warm("zz", default=None) is None
    # 63 characters is a valid name, just not in the table
    with pytest.raises(warmth.NotFound):
        t.lookup("x" * 63)


@pytest.mark.parametrize("name", ["has space", "x" * 64, "", "caf\u00e9",
                                  "tab\there", "a\0b", b"a\0", "\x7f"])
def test_bad_names(table3, name):
    t, _ = table3
    for call in (t.lookup, t.is_warm, t.touch):
        with pytest.raises(warmth.InvalidName) as ei:
            call(name)
        e = ei.value
        assert isinstance(e, ValueError)
        assert e.code == -15 and e.name == "WARMTH_ENAMETOOLONG"
        assert "printable ASCII" in str(e)
    # the "cold" form swallows it too
    assert t.is_warm(name, default=False) is False


def test_name_types(table3):
    t, _ = table3
    for bad in (None, 5, 1.5, ["a"]):
        with pytest.raises(TypeError):
            t.lookup(bad)


def test_iteration(table3):
    t, _ = table3
    recs = t.models()
    assert [r.name for r in recs] == ["a", "b", "c"]
    assert [r.slot for r in recs] == [0, 1, 2]
    assert [r.state for r in recs] == [State.WARM, State.UNKNOWN,
                                       State.FAILING]
    assert [r.name for r in t] == ["a", "b", "c"]
    assert t.names() == ["a", "b", "c"]
    for r in t:
        one = t.lookup(r.name)
        assert one._replace(now_ns=0, warm_for_s=0) == \
            r._replace(now_ns=0, warm_for_s=0)
    assert abs(recs[0].warm_for_s - t.lookup("a").warm_for_s) < 5


def test_iteration_many(fill):
    names = [f"model-{i:03d}" for i in range(200)]
    f = fill(names, "--warm", ",".join(names[::2]))
    with warmth.Table(f.name) as t:
        recs = list(t)
        assert [r.name for r in recs] == names
        assert [r.state for r in recs] == \
            [State.WARM if i % 2 == 0 else State.UNKNOWN
             for i in range(200)]
        assert t.status().models == 200
        assert all(t.is_warm(n) == (i % 2 == 0) for i, n in enumerate(names))
