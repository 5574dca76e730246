"""'Warm' means the model answered (issues 10 and 12):
- a `models` probe publishes `reachable`, never `warm` (warmctl check exits 1);
  an id the provider does not list, and a chat warmup answered 404
  model_not_found, give `disabled` + model_problem, not retried, with a
  message naming the closest listed ids;
- during an outage, a worker touching in a loop does not bring warmups
  forward past the failure backoff;
- a worker reporting real successes while the upstream answers 500 does not
  make the model warm (warmd confirms first)."""
import datetime
import json
import re
import time
import urllib.error
import urllib.request

from harness import (Procs, free_port, bound, check, http, main, stats, wait_for,
                     worker_results)


def show(P, model):
    rc, out = P.warmctl("show", model, "--json")
    return json.loads(out[out.index("{"):])


def health_warmup(port):
    try:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/health/warmup", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_reachable_and_model_problem():
    with Procs() as P:
        # Only these exist: anything else is 404 model_not_found, and the
        # list holds exactly these.
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                             "--models", "listed,listed-mini,chatty")
        common = {"interval": "500ms", "jitter": "0%"}
        hp = free_port()
        cfg = P.config(port, {
            "listed": dict(common, probe="models", required="yes"),
            "ghost": dict(common, probe="models", id="listd"),
            "chatty": dict(common),
            "gone": dict(common),
        }, warmd={"http_listen": f"127.0.0.1:{hp}"})
        P.warmd(cfg)
        wait_for(lambda: show(P, "listed")["state"] == "reachable", 10,
                 "listed to be reachable")
        wait_for(lambda: show(P, "chatty")["state"] == "warm", 10,
                 "chatty to be warm")
        wait_for(lambda: show(P, "ghost")["state"] == "disabled" and
                 show(P, "gone")["state"] == "disabled", 10,
                 "ghost and gone to be disabled")
        t0 = time.monotonic()
        time.sleep(2.5)  # five intervals: a retry would show
        elapsed = time.monotonic() - t0
        recs = {m: show(P, m) for m in ("listed", "ghost", "chatty", "gone")}
        up = stats(port)
        rc_listed, _ = P.warmctl("check", "listed")
        health = health_warmup(hp)
        rc_chatty, _ = P.warmctl("check", "chatty")
        _, listing = P.warmctl("list")
        rc_warm, warm_out = P.warmctl("--socket", P.path("warmd.sock"),
                                      "warm", "gone")
        # Real traffic on a reachable model: the model answered a real
        # request, and warmd's own probe found the endpoint up: warm, flag r.
        ws = P.workers(1, ["listed"], 3, "--report-ms", "100")
        wait_for(lambda: show(P, "listed")["state"] == "warm", 10,
                 "listed to be warm from real traffic")
        r_real = show(P, "listed")
        rc_real, _ = P.warmctl("check", "listed")
        worker_results(ws)
        log = P.log("warmd.log")
    for m, r in recs.items():
        print(f"{m:7} state={r['state']:9} flags={r['flags']} "
              f"class={r['error_class']} ok={r['successes']} "
              f"fail={r['failures']}")
    r = recs["listed"]
    check(r["state"] == "reachable" and r["successes"] >= 3,
          f"models probe on a listed id: reachable ({r['successes']} probes)")
    check(rc_listed == 1 and rc_chatty == 0,
          f"warmctl check: 1 for reachable, 0 for warm ({rc_listed}, "
          f"{rc_chatty})")
    check(re.search(r"^listed\s.*reachable", listing, re.M),
          "warmctl list shows reachable")
    check(health == 200, f"/health/warmup: a required models-probe model "
          f"counts once reachable ({health})")
    check(r_real["state"] == "warm" and
          "real_traffic" in json.dumps(r_real["flags"]) and rc_real == 0,
          "real traffic reported on a reachable model: warm (flag r), "
          "warmctl check exits 0")
    for m, what in (("ghost", "an unlisted id"),
                    ("gone", "a chat 404 model_not_found")):
        r = recs[m]
        check(r["state"] == "disabled" and "model_problem" in
              json.dumps(r["flags"]) and r["error_class"] == "model",
              f"{what}: disabled, model_problem, class model")
        check(r["failures"] == 1,
              f"{what}: not retried ({r['failures']} failure in "
              f"{elapsed:.1f} s past the first, interval 500 ms)")
    n404 = up["status_counts"].get("404", 0)
    check(n404 == 1, f"the upstream answered 404 once ({n404})")
    line = re.search(r"model ghost: warmup failed: .*", log)
    check(line and re.search(r"model id listd is not listed \(closest: "
                             r"listed", line.group(0)),
          f"the log names the closest listed ids "
          f"({line.group(0) if line else 'no line'})")
    check(rc_warm != 0 and "does not have this model" in warm_out,
          f"warmctl warm refuses a model problem: {warm_out.strip()}")


def backoff_max_requests(elapsed, interval, cap_intervals=8):
    """Most failures the backoff allows in `elapsed` seconds: delays of 1,
    2, 4 ... s (capped at cap_intervals intervals), each possibly 20% short
    (jitter), the first at 0."""
    n, t, k = 1, 0.0, 0
    while True:
        d = min(2 ** k, cap_intervals * interval) * 0.8
        if t + d > elapsed:
            return n
        t += d
        n += 1
        k += 1


def warmd_on_500(P, model, interval):
    """An upstream that answers `model` with 500 and warmd probing it every
    `interval`, without jitter, stale only after 30 s: the upstream's port."""
    _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5",
                         "--fault", f"{model}=500")
    cfg = P.config(port, {model: {"interval": interval, "jitter": "0%"}},
                   warmd={"stale_after": "30s"})
    P.warmd(cfg)
    return port


def test_touch_outage():
    with Procs() as P:
        port = warmd_on_500(P, "down", "2s")
        ws = P.workers(1, ["down"], 12, "--period-ms", "20")
        worker_results(ws)
        s = stats(port)["models"]["down"]
        n = s["requests"]
        # The upstream's own clock: the time from the first request to now.
        t = s["first_request_ms_ago"] / 1000
        r = show(P, "down")
    allowed = backoff_max_requests(t, 2) + 1  # +1: a request in flight
    print(f"outage with a worker touching every 20 ms: {n} requests in "
          f"{t:.1f} s (backoff allows {allowed}); state {r['state']}")
    check(n <= allowed, f"touches do not bypass the backoff: {n} requests "
          f"in {t:.1f} s of outage (at most {allowed})")
    check(n >= 3 and r["state"] == "failing",
          f"the model was warmed and fails ({n} requests, {r['state']})")


def test_report_does_not_fake_warmth():
    with Procs() as P:
        port = warmd_on_500(P, "fake", "1s")
        ws = P.workers(2, ["fake"], 4, "--report-ms", "100")
        res = worker_results(ws)
        r = show(P, "fake")
        up = stats(port)["models"]["fake"]
        # The upstream recovers: warmd's own warmup confirms, and then the
        # reports keep the model warm with flag r.
        http(port, "/_fault", {"model": "fake", "kind": "none"})
        ws = P.workers(1, ["fake"], 20, "--report-ms", "100")
        wait_for(lambda: show(P, "fake")["state"] == "warm", 20,
                 "fake to be warm once the upstream answers")
        wait_for(lambda: "real_traffic" in json.dumps(show(P, "fake")["flags"]),
                 10, "the reports to be believed")
        after = show(P, "fake")
        for w in ws:
            w.terminate()
            w.wait()
    warm = sum(x["warm"] for x in res)
    print(f"upstream answering 500, workers reporting ok for 4 s: state "
          f"{r['state']}, flags {r['flags']}, warm lookups {warm}, "
          f"{up['requests']} warmups")
    check(r["state"] != "warm" and "real_traffic" not in json.dumps(r["flags"]),
          f"reports do not turn a failing model warm ({r['state']})")
    check(warm == 0, f"no worker ever saw it warm ({warm} warm lookups)")
    check(up["requests"] >= 2, f"warmd kept sending its own warmups "
          f"({up['requests']})")
    check(after["state"] == "warm" and after["successes"] >= 1 and
          "real_traffic" in json.dumps(after["flags"]),
          f"after recovery: warm, confirmed by warmd ({after['successes']} "
          f"warmup ok), then kept by reports (flag r)")


def test_windows():
    """Warm windows at their edge, on the wall clock: a window two minutes
    ahead, opened by warm_before OPEN_S s from now; another far away."""
    OPEN_S = 6
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        now = datetime.datetime.now(datetime.timezone.utc)
        start = (now + datetime.timedelta(minutes=2)).replace(second=0,
                                                              microsecond=0)
        end = start + datetime.timedelta(minutes=1)
        lead = (start - now).total_seconds() - OPEN_S
        far = now + datetime.timedelta(hours=6)
        hm = lambda t: t.strftime("%H:%M")
        common = {"interval": "1s", "jitter": "0%", "timezone": "UTC"}
        cfg = P.config(port, {
            "win": dict(common, active=f"daily {hm(start)}-{hm(end)}",
                        warm_before=f"{lead * 1000:.0f}ms"),
            "off": dict(common,
                        active=f"daily {hm(far)}-"
                        f"{hm(far + datetime.timedelta(minutes=1))}"),
            "always": {"interval": "1s", "jitter": "0%"},
        })
        t_start = time.monotonic()
        P.warmd(cfg)
        ws = P.workers(1, ["win", "off"], OPEN_S + 3, "--period-ms", "50")
        wait_for(lambda: "off_hours" in json.dumps(show(P, "win")["flags"]),
                 5, "win to be off hours")
        before = show(P, "win")
        n_before = stats(port)["models"].get("win", {}).get("requests", 0)
        t_before = time.monotonic()
        wait_for(lambda: show(P, "win")["state"] == "warm", 15,
                 "win to be warm once its window opens")
        t_warm = time.monotonic()
        worker_results(ws)
        st = stats(port)["models"]
        r_off, r_win = show(P, "off"), show(P, "win")
        _, listing = P.warmctl("list")
    print(f"window opening {OPEN_S} s after start (warm_before {lead:.1f} s): "
          f"off-hours state {before['state']} {before['flags']}, "
          f"{n_before} requests before; warm {t_warm - t_start:.1f} s after "
          f"start; 'off' got {st.get('off', {}).get('requests', 0)} requests")
    check(before["state"] == "idle" and n_before == 0 and
          t_before - t_start < OPEN_S,
          "before the window: idle, off_hours, no warmup")
    check(t_warm - t_start >= OPEN_S - 0.5,
          f"warm only once the window opened ({t_warm - t_start:.1f} s after "
          f"start, opening at {OPEN_S} s)")
    check(not r_win["flags"] or "off_hours" not in json.dumps(r_win["flags"]),
          "inside the window: no off_hours flag")
    check(st.get("off", {}).get("requests", 0) == 0 and
          r_off["state"] == "idle" and
          "off_hours" in json.dumps(r_off["flags"]),
          "a window 6 h away: no warmup in spite of touches, idle, off_hours")
    check(st.get("always", {}).get("requests", 0) >= 3,
          "a model without windows warms as before")
    check(re.search(r"^off\s.*idle.*o", listing, re.M),
          "warmctl list shows the o flag")


def test():
    bound(150)
    test_reachable_and_model_problem()
    test_touch_outage()
    test_report_does_not_fake_warmth()
    test_windows()


if __name__ == "__main__":
    main(test)
