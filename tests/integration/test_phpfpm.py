"""PHP-FPM workers read the table through the PHP extension (lib/php/ext).

A static pool of 8 PHP-FPM children (extension=warmth.so, opcache: the
production setup of doc/php.md; WARMTH_PHP_IMPL=ffi: the FFI binding's
ffi.preload + opcache.preload setup instead) runs
tests/integration/php/worker.php; a FastCGI client (here, in Python) sends
a few thousand requests for 6 s while warmd keeps 2 models warm at a 1 s
interval: the upstream must count 6 (+/- 1) warmups per model, and every
request must see a consistent record of its model.  Then the same pool runs
the per-process warmer people use today (no warmd), which counts about 8x
as many; both are printed side by side.  First (extension only), a pool with
warmth.open_at_start, whose master opens the table before it forks: every
child must read through that inherited handle, never open its own."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "php"))

from harness import BUILD, Procs, bound, check, main  # noqa: E402
import phpit  # noqa: E402

MODELS = ["m1", "m2"]
SECONDS = 6
WORKERS = 8
THREADS = 12


def test():
    bound(120)
    with Procs() as P:
        warmer_dir, port, warmd = phpit.start_warmd(P, MODELS)
        params = {"WARMTH_SHM": P.shm, "WARMER_DIR": warmer_dir,
                  "WARMTH_UPSTREAM": f"http://127.0.0.1:{port}/v1"}
        if phpit.IMPL != "ffi":
            opened_in_master(P, params)
        _, sock = phpit.start_fpm(P, BUILD, WORKERS, {})

        def run_load(mode, seconds):
            return phpit.load(lambda: lambda q: phpit.fcgi_get(sock, phpit.WORKER, q, params),
                              MODELS, mode, seconds, THREADS, 1000000)

        res = phpit.compare(P, port, warmd, run_load, MODELS, SECONDS, WORKERS,
                            "PHP-FPM (pm static) + FastCGI client", 1000, 3000)
        check(res.impl == {phpit.expected_impl()},
              f"every child read through {phpit.expected_impl()} ({res.impl})")
        errlog = P.path("php-errors.log")
        text = open(errlog).read() if os.path.exists(errlog) else ""
        check(text == "", "PHP logged no error" + (f": {text[:300]}" if text else ""))


def opened_in_master(P, params):
    """The extension's handle opened before the fork: warmth.open_at_start
    opens the table of ini warmth.shm when the master loads the module; the
    children inherit that handle (libwarmth's are fork-safe) and
    Table::shared() of the same segment is it.  (An opcache.preload script
    would not do here: as root, PHP runs it in a forked process as
    opcache.preload_user.)"""
    ini = ["warmth.open_at_start=1", f"warmth.shm={P.shm}"]
    proc, sock = phpit.start_fpm(P, BUILD, WORKERS, {}, ini, tag="fpm-prefork")
    try:
        s = phpit.load(lambda: lambda q: phpit.fcgi_get(sock, phpit.WORKER, q, params),
                       MODELS, "warmd", 1, THREADS, 2000)
        replies = []
        for m in MODELS * 50:
            _, body = phpit.fcgi_get(sock, phpit.WORKER, f"model={m}", params)
            replies.append(json.loads(body))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    opened = {r.get("opened_pid") for r in replies}
    pids = {r["pid"] for r in replies} | {int(p) for p in s.pids}
    print(f"pre-fork: {s.requests + len(replies)} requests from {len(pids)} children, "
          f"tables opened by {opened}, master {proc.pid}")
    check(opened == {proc.pid} and proc.pid not in pids,
          f"pre-fork: every child read through the handle the master opened "
          f"(opened by {opened}, master {proc.pid})")
    check(len(pids) >= 2, f"pre-fork: {len(pids)} children served")
    check(s.bad == 0 and all(r.get("consistent") and r.get("warm") for r in replies),
          f"pre-fork: every request saw its model warm and consistent ({s.bad} bad)")
    check(s.touched == s.requests and all(r.get("touched") for r in replies),
          "pre-fork: every request's touch went through the inherited handle")


if __name__ == "__main__":
    main(test)
