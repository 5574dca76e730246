"""Apache httpd (prefork MPM, 8 children) with mod_php runs the PHP extension.

The same worker script as test_phpfpm.py (tests/integration/php/worker.php),
here under mod_php with the same setup (PHPINIDir: a php.ini of the test's
loading lib/php/ext's warmth.so; WARMTH_PHP_IMPL=ffi: the FFI binding): wrk sends a few thousand keep-alive requests for 6 s
while warmd keeps 2 models warm at a 1 s interval must give the upstream
6 (+/- 1) warmups per model and a consistent record in every reply; the
per-process warmer in the same children counts about 8x as many.  With the
extension, warmth.open_at_start: the Apache parent opens the table when it
loads mod_php, as root, and every child (www-data when the test runs as
root) reads through that inherited handle."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "php"))

from harness import BUILD, Procs, bound, check, main  # noqa: E402
import phpit  # noqa: E402

MODELS = ["m1", "m2"]
SECONDS = 6
WORKERS = 8
CONNS = 8  # keep-alive: one connection holds one prefork child


def test():
    bound(120)
    with Procs() as P:
        warmer_dir, port, warmd = phpit.start_warmd(P, MODELS)
        ext = phpit.IMPL != "ffi"
        httpd, hport = phpit.start_apache(P, BUILD, WORKERS, {
            "WARMTH_SHM": P.shm, "WARMER_DIR": warmer_dir,
            "WARMTH_UPSTREAM": f"http://127.0.0.1:{port}/v1"},
            ["warmth.open_at_start=1", f"warmth.shm={P.shm}"] if ext else [])

        def run_load(mode, seconds):
            return phpit.wrk_load(hport, MODELS, mode, seconds, CONNS)

        res = phpit.compare(P, port, warmd, run_load, MODELS, SECONDS, WORKERS,
                            "Apache prefork + mod_php, wrk", 1000, 3000)
        if ext:
            check(res.openers == {str(httpd.pid)},
                  f"every child read through the table the Apache parent "
                  f"{httpd.pid} opened at start ({sorted(res.openers)})")
        check(res.impl == {phpit.expected_impl()},
              f"every child read through {phpit.expected_impl()} ({res.impl})")
        errlog = P.path("php-errors.log")
        text = open(errlog).read() if os.path.exists(errlog) else ""
        check(text == "", "PHP logged no error" + (f": {text[:300]}" if text else ""))


if __name__ == "__main__":
    main(test)
