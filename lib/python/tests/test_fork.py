"""Fork safety: a Table opened before fork() is used in the children (the
Gunicorn preload_app and PHP-FPM pattern), and by threads."""
import json
import os
import threading

import warmth
from conftest import demand, eventually, shm_name


def run_child(fn):
    """Runs fn() in a forked child; returns what it returned (JSON)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        try:
            os.close(r)
            out = json.dumps(fn()).encode()
        except BaseException as e:  # report it to the parent
            out = json.dumps({"error": f"{type(e).__name__}: {e}"}).encode()
            code = 1
        try:
            os.write(w, out)
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    res = json.loads(b"".join(chunks) or b"null")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, res
    return res


def test_read_in_child(table3):
    t, f = table3
    assert t.is_warm("a")  # used in the parent before the fork too

    def child():
        return {"warm": [t.is_warm(m) for m in "abc"],
                "names": t.names(), "state": str(t.lookup("c").state),
                "pid": t.status().pid, "me": os.getpid()}

    before = demand(f.name, 0)["touches"]
    results = [run_child(child) for _ in range(4)]
    for res in results:
        assert res["warm"] == [True, False, False]
        assert res["names"] == ["a", "b", "c"]
        assert res["state"] == "failing"
        assert res["pid"] == f.pid and res["me"] != os.getpid()
    # children's touches land in the shared demand segment
    run_child(lambda: [t.touch("a") for _ in range(3)] and None)
    assert demand(f.name, 0)["touches"] == before + 3
    assert t.is_warm("a")  # the parent's handle still works


def test_lazy_handle_attaches_in_child(fill):
    name = shm_name()
    t = warmth.Table(name)  # pre-fork master, before the coordinator
    fill(["a"], "--warm", "a", name=name)

    def child():
        eventually(lambda: t.is_warm("a", default=False), 3, "attach")
        return t.lookup("a").name

    assert run_child(child) == "a"
    assert t.is_warm("a", default=False) in (True, False)  # parent unharmed
    eventually(lambda: t.is_warm("a", default=False), 3, "parent attach")
    t.close()


def test_close_in_child_keeps_parent(table3):
    t, _ = table3
    assert run_child(lambda: t.close()) is None
    assert t.is_warm("a")


def test_threads_share_a_handle(table3):
    t, _ = table3
    errors = []

    def reader():
        try:
            for _ in range(2000):
                assert t.is_warm("a") and not t.is_warm("b")
                r = t.lookup("c")
                assert r.name == "c" and r.slot == 2
                t.touch("b")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
