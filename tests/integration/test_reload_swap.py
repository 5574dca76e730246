"""A reload that swaps the whole model set, then reloads that add models
(issue 12, item 7).

warmd runs 32 models in a table of 64 slots.  A SIGHUP swaps them for 32
others (every old slot freed, every never-used slot taken).  Once the freed
slots' grace period is over (2 s after that reload, judged by the time the
test saw the reload logged, not a fixed sleep from the signal), two more
reloads each add a model: both must succeed, and the models must be in the
table that workers read.  Before the fix every reload that added a model
failed with "table is full" at 32/64 slots until a restart: the freed
slots waited for a second index publication that no later change brought.
"""
import re
import signal
import time

from harness import Procs, bound, check, main
from ops import wait_log

N = 32
FAST = {"interval": "1s", "jitter": "0%", "warm_ttl": "5s"}
WARMD = {"capacity": str(2 * N), "stale_after": "2s"}
RELOADED = r"reloaded .*: (\d+) added, (\d+) removed, (\d+) changed, (\d+) kept"
GRACE_S = 2.0  # WARMTH__SLOT_GRACE_NS (lib/layout.h)


def test():
    bound(120)
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")

        def conf(names):
            return P.config(port, {n: FAST for n in names}, warmd=WARMD)

        a = [f"a{i:02d}" for i in range(N)]
        b = [f"b{i:02d}" for i in range(N)]
        warmd = P.warmd(conf(a))
        log = P.path("warmd.log")

        def reload(names, nth):
            """SIGHUP; waits for the nth reload outcome; returns the last
            summary (None when this one failed) and every failure."""
            conf(names)
            warmd.send_signal(signal.SIGHUP)
            wait_log(log, r"reloaded |reload failed", nth, 20,
                     f"reload {nth} to be logged")
            with open(log) as f:
                text = f.read()
            done = re.findall(RELOADED, text)
            failed = re.findall(r"reload failed, keeping the running config: "
                                r"(.*)", text)
            return (done[-1] if len(done) + len(failed) == nth and
                    len(done) == nth - len(failed) and
                    text.rfind("reloaded ") > text.rfind("reload failed")
                    else None), failed

        got, failed = reload(b, 1)
        swapped = time.monotonic()
        check(got == (str(N), str(N), "0", "0") and not failed,
              f"the swap: {N} added, {N} removed ({got}, {failed})")
        wait = GRACE_S + 0.5 - (time.monotonic() - swapped)
        if wait > 0:
            time.sleep(wait)
        names = list(b)
        for k in range(2):
            names.append(f"c{k}")
            got, failed = reload(names, 2 + k)
            check(not failed and got == ("1", "0", "0", str(N + k)),
                  f"reload {k + 1} after the swap adds c{k} "
                  f"({got}; failures: {failed})")
            rc, out = P.warmctl("show", f"c{k}")
            check(rc in (0, 1) and f"c{k}" in out,
                  f"c{k} is in the table workers read")
        warmd.send_signal(signal.SIGTERM)
        warmd.wait(timeout=20)


if __name__ == "__main__":
    main(test)
