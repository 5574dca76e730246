"""warmd's state file across restarts: counters continue from the saved
values after a SIGTERM and a start on a fresh table (as after a reboot, so
the restored counters must come from the file and be published to the
table), and a corrupt file is kept aside, logged, and warmd starts fresh."""
import glob
import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

from harness import (Procs, bound, check, free_port, main, stats,
                     unlink_shm, wait_for)

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    raise SystemExit("FAIL: python3-prometheus-client is missing "
                     "(tools/deps.sh installs it)")


def started(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/startup",
                                    timeout=5) as r:
            return r.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def count(port, model, result):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                timeout=10) as r:
        text = r.read().decode()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if (s.name == "warmd_warmups_total" and
                    s.labels == {"model": model, "result": result}):
                return int(s.value)
    raise AssertionError(f"no warmd_warmups_total for {model}")


def ok_count(port, model):
    """A process counter: zero at start unless the state file restored it."""
    return count(port, model, "ok")


def fault(up, model, kind, arg=None):
    body = json.dumps({"model": model, "kind": kind, "arg": arg}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{up}/_fault", data=body,
                                 method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def requests(up):
    return stats(up)["models"].get("m", {}).get("requests", 0)


def stop(p):
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=20)


def drop_table(P):
    """What a reboot does to /dev/shm."""
    unlink_shm(P.shm)


def test():
    bound(90)
    with Procs() as P:
        _, up = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        state = P.path("state.msgpack")
        hp = free_port()
        cfg = P.config(up, {"m": {"interval": "300ms", "jitter": "0%"}},
                       warmd={"http_listen": f"127.0.0.1:{hp}",
                              "state_file": state})

        def run(seconds):
            p = P.warmd(cfg)
            wait_for(lambda: started(hp), 10, "/health/startup 200")
            time.sleep(seconds)
            return p

        # 1: warm for a while, then the provider says "retry after 30 s";
        # stop: the state is written at exit.
        p = run(2)
        fault(up, "m", "429", 30)
        # Stopped once warmd has taken the 429 in (its own counter), not a
        # fixed 0.3 s after the upstream answered it: on a loaded machine
        # the result may not be in yet, and then the state file lacks the
        # hold and run 2 sends a warmup.
        wait_for(lambda: count(hp, "m", "rate") >= 1, 20,
                 "warmd to count a 429 with Retry-After")
        check(stop(p) == 0, "first warmd: SIGTERM, exit 0")
        u1 = requests(up)
        check(os.path.getsize(state) > 0 and u1 >= 4,
              f"state file written at exit ({os.path.getsize(state)} bytes) "
              f"after {u1} warmups, the last one a 429")
        drop_table(P)

        # 2: a fresh table, as after a reboot: the counters can only come
        # from the file, and the hold keeps warmd from sending anything, so
        # nothing but the restore publishes the record.
        p = run(1.5)
        n2, rate2 = ok_count(hp, "m"), count(hp, "m", "rate")
        u2 = requests(up)
        rc, out = P.warmctl("show", "m", "--json")
        rec = json.loads(out[out.index("{"):])
        print(f"run 2: metrics ok={n2} rate={rate2}, record successes="
              f"{rec['successes']} failures={rec['failures']}, upstream "
              f"requests={u2} (run 1: {u1})")
        check(u2 == u1, "Retry-After honoured across the restart: no request")
        check(n2 == u1 - 1 and rate2 == 1,
              f"metrics continue from the saved counts: {n2} ok, 1 rate")
        check(rec["successes"] == u1 - 1 and rec["failures"] == 1,
              "the table's record shows them too (published at load)")
        log = P.log("warmd.log")
        starts = re.findall(r"warmd \S+ started: .*", log)
        check(re.search(r"state file .*: restored 1 models \(0 no longer "
                        r"configured", log) and "(new)" in starts[-1],
              "log: restored 1 model, on a new table")
        check(stop(p) == 0, "second warmd: exit 0")
        fault(up, "m", "none")

        # 3: a corrupt file is kept aside, and warmd starts fresh.
        with open(state, "rb") as f:
            good = f.read()
        bad = good[: len(good) // 2]
        with open(state, "wb") as f:
            f.write(bad)
        drop_table(P)
        u3 = requests(up)
        p = run(1)
        n3 = ok_count(hp, "m")
        u4 = requests(up)
        aside = glob.glob(state + ".bad-*")
        check(len(aside) == 1 and open(aside[0], "rb").read() == bad,
              f"corrupt file kept aside as {os.path.basename(aside[0])}"
              if aside else "corrupt file kept aside")
        check(n3 <= u4 - u3, f"fresh start: {n3} ok, only this run's "
              f"{u4 - u3} warmups")
        log = P.log("warmd.log")
        check(re.search(r"state file .*: not a valid msgpack file: truncated; "
                        r"kept aside as .*\.bad-\d+, starting fresh", log),
              "log names the file, the reason and where it went")
        check(stop(p) == 0, "third warmd: exit 0")
        check(os.path.getsize(state) > 0, "a new state file written at exit")


if __name__ == "__main__":
    main(test)
