"""The event log ([warmd] event_log): one JSON object per line for every
state change of a model, and for a warm model turning slow.

Three models against the test upstream: "good" warms; "bad" answers 500,
with fall = 2, so it goes warming -> failing; "slow" answers after 60 ms
against a latency_alert of 10 ms, so a "slow" event follows its warm one.
Every line must parse, carry the documented keys, and say what changed."""
import json
import os

from harness import Procs, bound, check, main, wait_for

KEYS = {"ts", "model", "from", "to", "why", "http_status", "error_class",
        "latency_us", "ewma_latency_us", "fails_in_row", "slow"}


def events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test():
    bound(60)
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "2", "--cold-ms", "2",
                             "--fault", "bad=500",
                             "--warm-ms", "slow=60", "--cold-ms", "slow=60")
        log = P.path("events.jsonl")
        cfg = P.config(port, {
            "good": {"interval": "1s"},
            "bad": {"interval": "1s", "fall": "2"},
            "slow": {"interval": "1s", "latency_alert": "10ms"},
        }, warmd={"event_log": log})
        P.warmd(cfg)

        def seen(model, pred):
            return any(e["model"] == model and pred(e) for e in events(log))

        wait_for(lambda: seen("good", lambda e: e["to"] == "warm")
                 and seen("bad", lambda e: e["to"] == "failing")
                 and seen("slow", lambda e: e["why"] == "slow"),
                 30, "the three kinds of event")
        ev = events(log)
        for e in ev:
            print(json.dumps(e, sort_keys=True))
        check(all(KEYS <= set(e) for e in ev),
              f"every line has the documented keys ({len(ev)} lines)")
        check(all(e["from"] != e["to"] or e["why"] in ("slow", "no longer slow")
                  for e in ev), "a state event names a change")
        good = [e for e in ev if e["model"] == "good" and e["to"] == "warm"]
        check(good[0]["http_status"] == 200 and good[0]["latency_us"] > 0,
              "good: warm after a 200, with its latency")
        bad = [e for e in ev if e["model"] == "bad" and e["to"] == "failing"]
        check(bad[0]["http_status"] == 500 and bad[0]["error_class"] == "server"
              and bad[0]["fails_in_row"] == 2,
              f"bad: failing after 2 failures in a row of 500 ({bad[0]})")
        slow = [e for e in ev if e["model"] == "slow" and e["why"] == "slow"]
        check(slow[0]["slow"] is True and slow[0]["ewma_latency_us"] > 10000,
              "slow: flagged slow with its EWMA latency above the alert")
        check(slow[0]["from"] == slow[0]["to"] == "warm",
              "slow: a flag event, not a state change (from = to = warm)")
        check(all(e["ts"] > 1.6e9 for e in ev), "timestamps are Unix time")
        text = open(log).read()
        check("Bearer" not in text and "api_key" not in text,
              "no secret in the event log")


if __name__ == "__main__":
    main(test)
