"""warmd's status page at / and its data at /status.json, against the test
upstream: one model warm, one failing (500s), one whose key is refused
(401), one whose name is HTML (`<script>...`, config text that must come
out escaped).  The page must pass `tidy -q -e` with no message, show every
model with its state, and hold its bound with more models than it shows.
Then a real browser (headless Chromium) loads it with JavaScript off and
on: the DOM has the rows and states either way, the script refreshes the
page from /status.json, no script but ours runs, and a screenshot is saved
in the build directory (status-page.png).  Without chromium the browser
part is skipped (exit 77) after the rest passed."""
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request

from harness import (BUILD, Procs, bound, check, free_port, main, stats,
                     unlink_shm, wait_for)

WEIRD = '<script>alert("x&y")</script>'
MODELS = ["gpt-a", WEIRD, "broken", "locked"]
SHOT = os.path.join(BUILD, "status-page.png")


def get(port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def status(port):
    st, hdr, body = get(port, "/status.json")
    check(st == 200 and hdr["Content-Type"] == "application/json",
          f"/status.json answers 200 application/json ({st})")
    return json.loads(body)


def fault(up, model, kind):
    body = json.dumps({"model": model, "kind": kind, "arg": None}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{up}/_fault", data=body,
                                 method="POST")
    urllib.request.urlopen(req, timeout=10).read()


class Dom(html.parser.HTMLParser):
    """Rows (data-model -> state text), <script> elements, body attributes."""

    def __init__(self):
        super().__init__()
        self.rows, self.scripts, self.body = {}, 0, {}
        self._row = self._in_state = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        elif tag == "body":
            self.body = a
        elif tag == "tr" and "data-model" in a:
            self._row = a["data-model"]
            self.rows[self._row] = None
        elif tag == "span" and self._row and "st" in a.get("class", "").split():
            self._in_state = True

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_state = False
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._in_state and self._row:
            self.rows[self._row] = data


def parse(text):
    d = Dom()
    d.feed(text)
    return d


def tidy(page):
    if not shutil.which("tidy"):
        raise AssertionError("tidy is missing (tools/deps.sh installs it)")
    with tempfile.NamedTemporaryFile("w", suffix=".html") as f:
        f.write(page)
        f.flush()
        r = subprocess.run(["tidy", "-q", "-e", f.name], capture_output=True,
                           text=True, timeout=60)
    check(r.returncode == 0 and not r.stderr.strip(),
          f"tidy -q -e finds nothing in the page (exit {r.returncode}) "
          f"{r.stderr.strip()[:500]}")


def chromium(*args, javascript=True):
    profile = tempfile.mkdtemp(prefix="warmth-chromium-")
    if not javascript:
        # Chromium 156's --disable-javascript is not honoured in headless
        # mode, and --blink-settings=scriptEnabled=false leaves --dump-dom
        # empty; the profile's content setting (2 = block) does both.
        os.mkdir(os.path.join(profile, "Default"))
        with open(os.path.join(profile, "Default", "Preferences"), "w") as f:
            json.dump({"profile": {"default_content_setting_values":
                                   {"javascript": 2}}}, f)
    argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + profile, *args]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if r.returncode != 0:
        raise AssertionError(f"chromium exited {r.returncode}: "
                             f"{r.stderr[-1000:]}")
    return r.stdout


def many_warmd(p, cfg, hp):
    """A second warmd with 1005 models: the page shows 1000."""
    w = p.warmd(cfg)

    def up():
        try:
            return get(hp, "/health/startup")[0] == 200
        except OSError:
            return False
    wait_for(up, 20, "the second warmd's HTTP endpoint")
    st, _, big = get(hp, "/")
    jb = status(hp)
    check(st == 200 and len(parse(big).rows) == 1000
          and "Showing the first 1000 of 1005" in big
          and len(big) < 1536 * 1024,
          f"1005 models: 1000 rows shown, {len(big)} bytes")
    check(jb["totals"]["models"] == 1005 and jb["models_shown"] == 1000
          and len(jb["models"]) == 1000, "status.json: bounded as well")
    w.terminate()
    w.wait(timeout=10)


def run():
    bound(240)
    with Procs() as p:
        up, port = p.upstream()
        fault(port, "broken", "500")
        fault(port, "locked", "401")
        hp = free_port()
        models = {"gpt-a": {"interval": "1s", "required": "yes",
                            "price_in": "2", "price_out": "8"},
                  WEIRD: {"interval": "1s"},
                  "broken": {"interval": "1s", "fall": "1"},
                  "locked": {"interval": "1s"}}
        cfg = p.config(port, models, warmd={
            "http_listen": f"127.0.0.1:{hp}", "budget_per_day": "1"})
        p.warmd(cfg)

        def settled():
            try:
                s = {m["name"]: m for m in status(hp)["models"]}
            except OSError:  # not listening yet
                return False
            return (s["gpt-a"]["state"] == "warm" and
                    s[WEIRD]["state"] == "warm" and
                    s["broken"]["state"] == "failing" and
                    len(s["broken"]["latency_last_hour"]) >= 2 and
                    len(s["gpt-a"]["latency_last_hour"]) >= 3 and
                    s["locked"]["state"] == "disabled")
        wait_for(settled, 30, "the four models to settle")

        # ---- /status.json ---------------------------------------------
        j = status(hp)
        names = [m["name"] for m in j["models"]]
        check(names == MODELS, f"rows in config order: {names}")
        by = {m["name"]: m for m in j["models"]}
        check(j["coordinator"]["fleet"]["state"] == "off"
              and not j["coordinator"]["stale"]
              and j["coordinator"]["pid"] == p.warmds[0].pid,
              "coordinator: warmd's pid, heartbeat fresh, fleet off")
        a = by["gpt-a"]
        check(a["warm"] and 0 < a["warm_for_s"] <= 300,
              f"gpt-a warm for {a['warm_for_s']} s (warm_ttl 300 s)")
        served = stats(port)["models"]["gpt-a"]["requests"]
        check(0 < a["warmups_ok"] <= served,
              f"gpt-a: {a['warmups_ok']} warmups ok, the upstream served "
              f"{served}")
        pts = a["latency_last_hour"]
        check(3 <= len(pts) <= 64 and all(pt[2] for pt in pts)
              and all(pt[1] > 0 for pt in pts),
              f"gpt-a sparkline: {len(pts)} successful samples")
        # The record and the ring are read a few microseconds apart: a
        # warmup may end in between.
        check(any(abs(a["last_latency_ms"] - pt[1]) < 0.01 for pt in pts[-2:]),
              f"the newest samples hold the last latency "
              f"({a['last_latency_ms']} ms)")
        check(a["cost_today_usd"] > 0 and a["tokens_in"] > 0
              and "required" in a["flags"],
              f"gpt-a: cost today ${a['cost_today_usd']}, flags {a['flags']}")
        b = by["broken"]
        check(b["warmups_failed"] >= 2 and b["warmups_ok"] == 0
              and not any(pt[2] for pt in b["latency_last_hour"]),
              f"broken: {b['warmups_failed']} failed warmups, all failed "
              "in the sparkline")
        check("API key refused" in by["locked"]["flags"],
              f"locked: flags in words {by['locked']['flags']}")
        # A reload (SIGHUP, same config) keeps each model's history.
        before = len(a["latency_last_hour"])
        p.warmds[0].send_signal(signal.SIGHUP)
        wait_for(lambda: "kept" in p.log("warmd.log"), 10, "the reload")
        after = {m["name"]: m for m in status(hp)["models"]}["gpt-a"]
        check(len(after["latency_last_hour"]) >= min(before, 64)
              and after["cost_today_usd"] >= a["cost_today_usd"],
              f"after a reload the sparkline keeps its {before} samples "
              f"({len(after['latency_last_hour'])}) and today's cost")
        t = j["totals"]
        check(t["models"] == 4 and t["warm"] == 2
              and t["warmups_failed"] >= b["warmups_failed"],
              f"totals: {t}")

        # ---- the page, as served -----------------------------------------
        st, hdr, page = get(hp, "/")
        check(st == 200 and hdr["Content-Type"] == "text/html; charset=utf-8",
              "/ answers 200 text/html")
        check(WEIRD not in page and "alert(" in page
              and "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;"
              in page, "the HTML model name is escaped")
        d = parse(page)
        check(list(d.rows) == MODELS, f"one row per model: {list(d.rows)}")
        check(d.rows["gpt-a"] == "warm" and d.rows["broken"] == "failing"
              and d.rows["locked"] == "disabled",
              f"states in the rows: {d.rows}")
        check(d.scripts == 1, "one <script> element: ours")
        check("<circle" in page and "<polyline" in page,
              "sparklines drawn: a line, and dots for failed warmups")
        check("API key refused" in page, "flags in words")
        check(re.search(r'<span id="b-text">\$0\.0000\d+ of \$1\.00 \(0%\)'
                        r'</span> <span class="bar"><span id="b-fill" '
                        r'class="ok" style="width:0\.0%">', page),
              "the budget line and its bar")
        tidy(page)

        # ---- the bound: more models than the page shows ------------------
        many = {f"m{i:04d}": {"interval": "1h"} for i in range(1005)}
        hp2 = free_port()
        cfg2 = p.config(port, many, name="many.conf", warmd={
            "http_listen": f"127.0.0.1:{hp2}", "shm": p.shm + "-many",
            "control_socket": p.path("many.sock")})
        try:
            many_warmd(p, cfg2, hp2)
        finally:
            unlink_shm(p.shm + "-many")

        # ---- a real browser ---------------------------------------------
        if not shutil.which("chromium"):
            print("SKIP: chromium is not installed: no browser test "
                  "(tools/deps.sh installs it)")
            raise SystemExit(77)
        url = f"http://127.0.0.1:{hp}/"
        # No --virtual-time-budget here: with scripts off the <noscript>
        # refresh would reload the page for ever in virtual time.
        off = parse(chromium("--dump-dom", url, javascript=False))
        check(list(off.rows) == MODELS and off.rows["gpt-a"] == "warm"
              and off.rows["broken"] == "failing",
              f"JavaScript off: rows and states in the DOM {off.rows}")
        check("data-js" not in off.body and "data-refreshed" not in off.body,
              "JavaScript off: our script did not run")
        on = parse(chromium("--virtual-time-budget=12000", "--dump-dom", url))
        check(list(on.rows) == MODELS and on.rows["gpt-a"] == "warm"
              and on.rows["locked"] == "disabled",
              f"JavaScript on: rows and states in the DOM {on.rows}")
        check(on.body.get("data-js") == "on"
              and int(on.body.get("data-refreshed", 0)) >= j["generated_unix"],
              "JavaScript on: the page refreshed itself from /status.json")
        check(on.scripts == 1, "JavaScript on: still only our <script>")
        if os.path.exists(SHOT):
            os.unlink(SHOT)
        chromium(f"--screenshot={SHOT}", "--window-size=1200,800", url)
        with open(SHOT, "rb") as f:
            png = f.read()
        check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000,
              f"screenshot saved: {SHOT} ({len(png)} bytes)")


if __name__ == "__main__":
    main(run)
