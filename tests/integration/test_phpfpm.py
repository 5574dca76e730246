"""PHP-FPM workers read the table through the PHP extension (lib/php/ext).

A static pool of 8 PHP-FPM children (extension=warmth.so, opcache: the
production setup of doc/php.md; WARMTH_PHP_IMPL=ffi: the FFI binding's
ffi.preload + opcache.preload setup instead) runs
tests/integration/php/worker.php; a FastCGI client (here, in Python) sends
a few thousand requests for 6 s while warmd keeps 2 models warm at a 1 s
interval: the upstream must count 6 (+/- 1) warmups per model, and every
request must see a consistent record of its model.  Then the same pool runs
the per-process warmer people use today (no warmd), which counts about 8x
as many; both are printed side by side."""
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
        _, sock = phpit.start_fpm(P, BUILD, WORKERS, {})
        params = {"WARMTH_SHM": P.shm, "WARMER_DIR": warmer_dir,
                  "WARMTH_UPSTREAM": f"http://127.0.0.1:{port}/v1"}

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


if __name__ == "__main__":
    main(test)
