"""warmctl cost: what warmups cost so far, and the projection per day.

Two chat models with known prices and a models-probe model (no tokens) at
known intervals against the test upstream; after a few warmups, the cost
in the table must equal the upstream's token counts times the configured
prices, and the projection must be the mean cost per warmup times the
warmups per day at the interval.  A paused model (state disabled) would
project 0; here an idle one does (idle_after with no worker touching)."""
import json

from harness import Procs, bound, check, main, stats, wait_for

PRICES = {"c1": (2.0, 8.0), "c2": (3.0, 15.0)}  # USD per million in, out


def test():
    bound(60)
    with Procs() as P:
        # --models: a models probe checks that its id is listed (issue 10).
        _, port = P.upstream("--warm-ms", "2", "--cold-ms", "2", "--models",
                             ",".join(list(PRICES) + ["conn", "idle"]))
        models = {m: {"interval": "1s", "jitter": "0%", "warm_ttl": "3s",
                      "max_tokens": "2", "price_in": str(pin),
                      "price_out": str(pout)}
                  for m, (pin, pout) in PRICES.items()}
        models["conn"] = {"probe": "models", "interval": "2s"}
        models["idle"] = {"interval": "1s", "idle_after": "100ms",
                          "warm_ttl": "500ms",
                          "price_in": "1", "price_out": "1"}
        cfg = P.config(port, models)
        P.warmd(cfg)

        def rows():
            rc, out = P.warmctl("cost", "--json")
            check_rc = rc in (0,)
            if not check_rc:
                raise AssertionError(f"warmctl cost exited {rc}: {out}")
            return json.loads(out)

        wait_for(lambda: all(r["warmups"] >= 3 for r in rows()["models"]
                             if r["model"] in PRICES), 20, "3 warmups each")
        doc = rows()
        rc, text = P.warmctl("cost")
        print(text)
        check(rc == 0, "warmctl cost exits 0 with a live coordinator")
        up = stats(port)["models"]
        by = {r["model"]: r for r in doc["models"]}
        for m, (pin, pout) in PRICES.items():
            r = by[m]
            # The table may have counted one more or one fewer warmup than
            # the upstream when read: compare per warmup, from the table.
            want = (r["tokens_in"] * pin + r["tokens_out"] * pout) * 1000
            check(abs(r["cost_nusd"] - want) <= 1,
                  f"{m}: cost {r['cost_nusd']} nUSD = tokens x prices ({want:.0f})")
            check(r["tokens_in"] > 0 and r["tokens_out"] > 0,
                  f"{m}: tokens counted ({r['tokens_in']}+{r['tokens_out']})")
            check(up[m]["prompt_tokens"] >= r["tokens_in"],
                  f"{m}: the upstream saw at least the tokens in the table")
            per = r["cost_nusd"] / r["warmups"]
            check(abs(r["nusd_per_warmup"] - per) <= 1,
                  f"{m}: mean cost per warmup {r['nusd_per_warmup']}")
            check(r["interval_ms"] == 1000 and r["warmups_per_day"] == 86400,
                  f"{m}: 86400 warmups a day at a 1 s interval")
            check(abs(r["nusd_per_day"] - per * 86400) <= 86400,
                  f"{m}: per day = per warmup x 86400 ({r['nusd_per_day']})")
            check(abs(r["nusd_per_month"] - r["nusd_per_day"] * 30) <= 30,
                  f"{m}: per month = 30 days")
        check(by["conn"]["cost_nusd"] == 0 and by["conn"]["nusd_per_day"] in (0, None),
              "a models probe costs nothing")
        check(by["idle"]["warmups_per_day"] == 0,
              f"an idle model projects no warmups (state {by['idle']['state']})")
        t = doc["total"]
        check(t["cost_nusd"] == sum(r["cost_nusd"] for r in doc["models"]),
              "the total is the sum of the models")
        check(abs(t["nusd_per_day"] - sum(r["nusd_per_day"] or 0
                                          for r in doc["models"])) <= 4,
              "the daily total is the sum of the models")
        check("TOTAL" in text and "PER DAY" in text, "text output has a total")


if __name__ == "__main__":
    main(test)
