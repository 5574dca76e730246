#!/usr/bin/env python3
"""Smoke test of warmth-upstream, the fake LLM API (run by test-upstream.sh).

Starts servers on port 0, talks to them with http.client only (curl may be
missing on a fresh machine), checks every documented behaviour, and stops
them by the pid in their pidfile.  Bounded: a 30 s alarm, and every server
exits by itself after --max-seconds.  Every check compares a value, so each
one can fail; all failures are listed before the exit status says so.
"""
import email.utils
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1]
failures = []
servers = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def tokens(text):
    return math.ceil(len(text) / 4)


class Reply:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body = status, headers, body
        self.elapsed = elapsed

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def h(self, name):
        return self.headers.get(name.lower())


class Server:
    def __init__(self, tmp, name, *args):
        self.pidfile = os.path.join(tmp, name + ".pid")
        self.portfile = os.path.join(tmp, name + ".port")
        self.logfile = os.path.join(tmp, name + ".log")
        with open(self.logfile, "wb") as log:
            self.proc = subprocess.Popen(
                [BIN, "--listen", "127.0.0.1:0", "--pidfile", self.pidfile,
                 "--port-file", self.portfile, "--max-seconds", "40"]
                + list(args), stdout=subprocess.PIPE, stderr=log)
        servers.append(self)
        line = self.proc.stdout.readline().decode()
        m = re.fullmatch(r"port=(\d+)\n", line)
        if not m:
            raise SystemExit("%s: no port line, got %r" % (name, line))
        self.port = int(m.group(1))
        # both files are written before the port line
        with open(self.portfile) as f:
            check(f.read() == "%d\n" % self.port, name + ": port file")
        with open(self.pidfile) as f:
            check(int(f.read()) == self.proc.pid, name + ": pidfile")

    def conn(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=5,
                conn=None):
        c = conn or self.conn(timeout)
        data = body if isinstance(body, (bytes, type(None))) \
            else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        t0 = time.monotonic()
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            payload = r.read()
        finally:
            if conn is None:
                c.close()  # at once: a held request ends when we go
        elapsed = time.monotonic() - t0
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()},
                     payload, elapsed)

    def chat(self, model, user="hello there", system=None, **kw):
        msgs = ([{"role": "system", "content": system}] if system else []) \
            + [{"role": "user", "content": user}]
        return self.request("POST", "/v1/chat/completions",
                            {"model": model, "messages": msgs,
                             "max_tokens": 1}, **kw)

    def messages(self, model, user="hello there", system=None, key="k",
                 version="2023-06-01", max_tokens=5, **kw):
        body = {"model": model, "messages": [{"role": "user",
                                              "content": user}]}
        if system is not None:
            body["system"] = system
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        hdrs = {"x-api-key": key}
        if version:
            hdrs["anthropic-version"] = version
        return self.request("POST", "/v1/messages", body, headers=hdrs, **kw)

    def stats(self):
        return self.request("GET", "/_stats").json()

    def stop(self, name):
        with open(self.pidfile) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        rc = self.proc.wait(timeout=5)
        check(rc == 0, name + ": exit status %r after SIGTERM" % rc)
        check(not os.path.exists(self.pidfile), name + ": pidfile removed")
        check(not os.path.exists(self.portfile), name + ": port file removed")


def expect_status(r, status, what):
    return check(r.status == status,
                 "%s: status %d, want %d (%r)" % (what, r.status, status,
                                                  r.body[:200]))


# ---------------------------------------------------------------- checks

def test_cli(tmp):
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    check(out.returncode == 0, "--help exit status")
    for opt in ("listen", "port-file", "pidfile", "max-seconds", "config",
                "models", "require-key", "cold-after", "cold-ms", "warm-ms",
                "rpm", "tpm", "headroom", "window", "cache-ttl", "fault",
                "verbose", "help", "version"):
        check("--" + opt in out.stdout, "--help documents --" + opt)
    for bad in (["--listen", "10.1.2.3:0"], ["--fault", "m=explode"],
                ["--cold-ms", "x"], ["--no-such-option"],
                ["--config", os.path.join(tmp, "missing.conf")]):
        rc = subprocess.run([BIN] + bad, capture_output=True).returncode
        check(rc == 2, "%s refused with status 2, got %d" % (bad, rc))


def test_chat(a):
    r = a.chat("m1")
    expect_status(r, 200, "chat")
    j = r.json() or {}
    check(j.get("object") == "chat.completion", "chat: object")
    check(j.get("model") == "m1", "chat: model echoed")
    check(str(j.get("id", "")).startswith("chatcmpl-"), "chat: id")
    msg = (j.get("choices") or [{}])[0].get("message", {})
    check(msg.get("content") == "hi", "chat: content is hi")
    u = j.get("usage", {})
    check(u.get("prompt_tokens") == tokens("hello there"),
          "chat: prompt_tokens %r" % u.get("prompt_tokens"))
    check(u.get("completion_tokens") == 1, "chat: completion_tokens")
    check(u.get("total_tokens") == tokens("hello there") + 1,
          "chat: total_tokens")
    check(u.get("prompt_tokens_details", {}).get("cached_tokens") == 0,
          "chat: cached_tokens 0 without a system prompt")
    check(r.h("x-ratelimit-limit-requests") == "600", "chat: limit-requests")
    check(r.h("x-ratelimit-remaining-requests") == "599",
          "chat: remaining-requests %r" % r.h("x-ratelimit-remaining-requests"))
    check(re.fullmatch(r"(\d+m)?\d+(\.\d+)?s|\d+ms",
                       r.h("x-ratelimit-reset-requests") or "") is not None,
          "chat: reset-requests %r" % r.h("x-ratelimit-reset-requests"))
    check(r.h("x-ratelimit-limit-tokens") == "1000000", "chat: limit-tokens")
    check(r.h("x-ratelimit-remaining-tokens")
          == str(1000000 - tokens("hello there") - 1),
          "chat: remaining-tokens %r" % r.h("x-ratelimit-remaining-tokens"))
    # keep-alive: two requests over one connection
    c = a.conn()
    r1 = a.chat("m1", conn=c)
    sock = c.sock
    r2 = a.chat("m1", conn=c)
    check(r1.status == 200 and r2.status == 200, "keep-alive: both answered")
    check(sock is not None and c.sock is sock, "keep-alive: same socket")
    c.close()
    # the /v1 prefix is optional
    r = a.request("POST", "/chat/completions",
                  {"model": "m1", "messages": [{"role": "user",
                                                "content": "x"}]})
    expect_status(r, 200, "chat without /v1")


def test_cold_warm(a):
    first, second = a.chat("cw"), a.chat("cw")
    check(first.elapsed >= 0.3, "cold reply took %.3fs, want >= 0.3"
          % first.elapsed)
    check(second.elapsed < 0.3, "warm reply took %.3fs, want < 0.3"
          % second.elapsed)
    r = a.chat("slowcold")
    check(r.elapsed >= 0.7, "per-model --cold-ms: %.3fs, want >= 0.7"
          % r.elapsed)
    a.chat("quickcold")
    time.sleep(0.4)
    r = a.chat("quickcold")
    check(r.elapsed >= 0.3, "cold again after --cold-after 200ms: %.3fs"
          % r.elapsed)


def test_cache(a):
    sysp = "You are a terse assistant for tests."
    want = tokens(sysp)
    got = []
    for s in (sysp, sysp, "Another system prompt.", sysp):
        j = a.chat("cache", system=s).json() or {}
        got.append(j.get("usage", {}).get("prompt_tokens_details", {})
                   .get("cached_tokens"))
    check(got == [0, want, 0, 0], "openai cached_tokens %r, want %r"
          % (got, [0, want, 0, 0]))
    j = a.chat("cache", system=sysp).json() or {}
    check(j.get("usage", {}).get("prompt_tokens")
          == tokens(sysp + "hello there"), "prompt_tokens counts the system")


def test_anthropic(a):
    sysp = "You are a terse assistant for tests."
    r1 = a.messages("claude-t", system=sysp)
    r2 = a.messages("claude-t", system=sysp)
    expect_status(r1, 200, "messages")
    j = r1.json() or {}
    check(j.get("type") == "message", "messages: type")
    check(j.get("model") == "claude-t", "messages: model")
    check(j.get("content") == [{"type": "text", "text": "hi"}],
          "messages: content %r" % j.get("content"))
    total = tokens(sysp + "hello there")
    u1 = j.get("usage", {})
    u2 = (r2.json() or {}).get("usage", {})
    check(u1 == {"input_tokens": total - tokens(sysp), "output_tokens": 1,
                 "cache_read_input_tokens": 0,
                 "cache_creation_input_tokens": tokens(sysp)},
          "messages: first usage %r" % u1)
    check(u2 == {"input_tokens": total - tokens(sysp), "output_tokens": 1,
                 "cache_read_input_tokens": tokens(sysp),
                 "cache_creation_input_tokens": 0},
          "messages: second usage %r" % u2)
    check(r2.h("anthropic-ratelimit-requests-limit") == "600",
          "messages: anthropic requests-limit")
    check(r2.h("anthropic-ratelimit-requests-remaining") == "598",
          "messages: anthropic requests-remaining %r"
          % r2.h("anthropic-ratelimit-requests-remaining"))
    rfc3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    for h in ("requests-reset", "tokens-reset"):
        check(re.fullmatch(rfc3339, r2.h("anthropic-ratelimit-" + h) or "")
              is not None, "messages: %s is RFC 3339" % h)
    for h in ("tokens-limit", "tokens-remaining"):
        check((r2.h("anthropic-ratelimit-" + h) or "").isdigit(),
              "messages: anthropic " + h)
    check(r2.h("x-ratelimit-remaining-requests") == "598",
          "messages: x-ratelimit headers too")
    # content blocks count like strings
    r = a.request("POST", "/v1/messages",
                  {"model": "claude-blocks", "max_tokens": 1,
                   "messages": [{"role": "user", "content": [
                       {"type": "text", "text": "hello there"}]}]},
                  headers={"anthropic-version": "2023-06-01"})
    check(((r.json() or {}).get("usage") or {}).get("input_tokens")
          == tokens("hello there"), "messages: content blocks counted")
    r = a.messages("claude-bad", version=None)
    expect_status(r, 400, "messages without anthropic-version")
    check((r.json() or {}).get("type") == "error", "anthropic error shape")
    expect_status(a.messages("claude-bad", max_tokens=None), 400,
                  "messages without max_tokens")


def test_models(a):
    r = a.request("GET", "/v1/models")
    expect_status(r, 200, "GET /v1/models")
    j = r.json() or {}
    ids = [d.get("id") for d in j.get("data", [])]
    check(j.get("object") == "list", "models: object list")
    check({"m1", "cw", "claude-t"} <= set(ids), "models: ids %r" % ids)
    r = a.request("GET", "/v1/models/m1")
    check(r.status == 200 and (r.json() or {}).get("id") == "m1",
          "GET /v1/models/m1")


def test_faults(a):
    r = a.chat("f429")
    expect_status(r, 429, "fault 429")
    check(r.h("retry-after") == "3", "429 Retry-After %r" % r.h("retry-after"))
    check(((r.json() or {}).get("error") or {}).get("code")
          == "rate_limit_exceeded", "429 error code")
    r = a.chat("f429d")
    expect_status(r, 429, "fault 429date")
    try:
        ahead = email.utils.parsedate_to_datetime(
            r.h("retry-after")).timestamp() - time.time()
    except (TypeError, ValueError):
        ahead = None
    check(ahead is not None and 2 <= ahead <= 6,
          "429date Retry-After %r" % r.h("retry-after"))
    expect_status(a.chat("f500"), 500, "fault 500")
    r = a.chat("f503")
    expect_status(r, 503, "fault 503")
    check(r.h("retry-after") == "5", "503 Retry-After %r" % r.h("retry-after"))
    r = a.chat("f401")
    expect_status(r, 401, "fault 401")
    check(((r.json() or {}).get("error") or {}).get("code")
          == "invalid_api_key", "401 error code")
    expect_status(a.chat("fconf"), 503, "fault from the config file")
    check(a.chat("fconf").h("retry-after") == "7", "config file fault arg")

    # timeout: the client gives up after 1 s; meanwhile others are served
    result = {}

    def hang():
        t0 = time.monotonic()
        try:
            a.chat("ftimeout", timeout=1.0)
            result["outcome"] = "answered"
        except (socket.timeout, TimeoutError):
            result["outcome"] = "timeout"
        except Exception as e:  # noqa: BLE001 - reported below
            result["outcome"] = repr(e)
        result["elapsed"] = time.monotonic() - t0
    a.chat("m1")  # warm, so its reply below is quick unless blocked
    t = threading.Thread(target=hang)
    t.start()
    time.sleep(0.2)
    r = a.chat("m1")
    check(r.status == 200 and r.elapsed < 0.5,
          "a held request blocks others: %d in %.3fs" % (r.status, r.elapsed))
    t.join(5)
    check(result.get("outcome") == "timeout",
          "fault timeout: %r" % result.get("outcome"))
    check(1.0 <= result.get("elapsed", 0) < 2.5,
          "fault timeout elapsed %r" % result.get("elapsed"))

    r = a.chat("fslow")
    expect_status(r, 200, "fault slow")
    check(r.json() is not None, "slow body is JSON")
    check(r.elapsed >= 0.5, "slow:100 took %.3fs, want >= 0.5" % r.elapsed)
    r = a.chat("fbig")
    expect_status(r, 200, "fault big")
    check(len(r.body) == 8 << 20, "big body %d bytes" % len(r.body))
    r = a.chat("fbad")
    expect_status(r, 200, "fault badjson")
    check(r.json() is None, "badjson body does not parse")
    try:
        a.chat("freset")
        outcome = "answered"
    except ConnectionError:
        outcome = "reset"
    except Exception as e:  # noqa: BLE001 - reported below
        outcome = repr(e)
    check(outcome == "reset", "fault reset: %s" % outcome)
    got = [a.chat("fflaky").status for _ in range(6)]
    check(got == [200, 200, 500, 200, 200, 500], "flaky:3 gave %r" % got)

    rem = [a.chat("lim").h("x-ratelimit-remaining-requests")
           for _ in range(3)]
    check(rem == ["2", "1", "0"], "--rpm lim=3 remaining %r" % rem)
    r = a.chat("lim")
    expect_status(r, 429, "rate window spent")
    check((r.h("retry-after") or "").isdigit()
          and 1 <= int(r.h("retry-after")) <= 60,
          "rate 429 Retry-After %r" % r.h("retry-after"))
    rem = [a.chat("hr").h("x-ratelimit-remaining-requests") for _ in range(2)]
    check(rem == ["2", "2"], "--headroom hr=2 gave %r" % rem)


def test_runtime_faults(a):
    faults = (a.request("GET", "/_fault").json() or {}).get("faults", {})
    check(faults.get("f429") == "429:3" and faults.get("fconf") == "503:7",
          "GET /_fault %r" % faults)
    r = a.request("POST", "/_fault", {"model": "m1", "kind": "503",
                                      "arg": "2"})
    check(r.status == 200 and (r.json() or {}).get("fault") == "503:2",
          "POST /_fault 503: %r" % r.body)
    r = a.chat("m1")
    expect_status(r, 503, "m1 after /_fault 503")
    check(r.h("retry-after") == "2", "runtime fault arg")
    expect_status(a.request("POST", "/_fault", {"model": "m1",
                                                "kind": "none"}),
                  200, "POST /_fault none")
    expect_status(a.chat("m1"), 200, "m1 healed")
    r = a.request("POST", "/_fault", {"model": "m1", "kind": "flaky:2"})
    expect_status(r, 200, "POST /_fault flaky:2")
    got = [a.chat("m1").status for _ in range(2)]
    check(got == [200, 500], "runtime flaky:2 %r" % got)
    a.request("POST", "/_fault", {"model": "m1", "kind": "none"})
    # echokey:N quotes N characters from the middle of the key presented
    # (Bearer or x-api-key), as a provider echoing a key would.
    key = "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ0"
    expect_status(a.request("POST", "/_fault", {"model": "m1",
                                                "kind": "echokey:18"}),
                  200, "POST /_fault echokey:18")
    r = a.chat("m1", headers={"Authorization": "Bearer " + key})
    msg = ((r.json() or {}).get("error") or {}).get("message", "")
    check(r.status == 401 and key[6:24] in msg and key not in msg,
          "echokey:18 quotes 18 of the key's 30 characters: %r" % msg)
    r = a.messages("m1", key=key)
    msg = ((r.json() or {}).get("error") or {}).get("message", "")
    check(r.status == 401 and key[6:24] in msg, "echokey, x-api-key: %r" % msg)
    a.request("POST", "/_fault", {"model": "m1", "kind": "none"})
    for bad in ({"model": "m1", "kind": "explode"}, {"kind": "500"},
                {"model": "m1", "kind": "503", "arg": "x"}, b"{nope"):
        expect_status(a.request("POST", "/_fault", bad), 400,
                      "POST /_fault %r" % (bad,))


def test_bad_requests(a):
    for body, what in ((b"{bad", "bad JSON"), (b"[1]", "JSON array"),
                       ({"model": "m1"}, "no messages"),
                       ({"messages": [{"role": "user", "content": "x"}]},
                        "no model")):
        r = a.request("POST", "/v1/chat/completions", body)
        expect_status(r, 400, what)
        check(((r.json() or {}).get("error") or {}).get("message"),
              what + ": JSON error with a message")
    expect_status(a.request("POST", "/v1/chat/completions",
                            b"x" * ((1 << 20) + 1)), 413, "oversized body")
    expect_status(a.request("GET", "/v1/nope"), 404, "unknown path")
    expect_status(a.request("GET", "/v1/chat/completions"), 405, "GET chat")
    with socket.create_connection(("127.0.0.1", a.port), timeout=2) as s:
        s.sendall(b"GARBAGE\r\n\r\n")
        try:
            head = s.recv(64)
        except OSError:
            head = b""
    check(head == b"" or head.startswith(b"HTTP/1.1 400"),
          "garbage request line: %r" % head)
    expect_status(a.chat("m1"), 200, "alive after malformed requests")


def test_stats(a):
    s = a.stats()
    m = s["models"]

    def model(name):
        return m.get(name, {})
    f = model("fflaky")
    check((f.get("requests"), f.get("chat"), f.get("status_counts"))
          == (6, 6, {"200": 4, "500": 2}), "stats fflaky %r" % f)
    check((f.get("cold_served"), f.get("warm_served")) == (1, 3),
          "stats fflaky cold/warm %r" % f)
    cw = model("cw")
    check((cw.get("requests"), cw.get("cold_served"), cw.get("warm_served"))
          == (2, 1, 1), "stats cw %r" % cw)
    check(model("lim").get("status_counts") == {"200": 3, "429": 1},
          "stats lim %r" % model("lim"))
    check(model("freset").get("status_counts") == {"reset": 1},
          "stats freset %r" % model("freset"))
    check(model("ftimeout").get("status_counts") == {"timeout": 1},
          "stats ftimeout %r" % model("ftimeout"))
    ct = model("claude-t")
    check((ct.get("messages"), ct.get("chat"), ct.get("cached_tokens"))
          == (2, 0, tokens("You are a terse assistant for tests.")),
          "stats claude-t %r" % ct)
    check(model("claude-bad").get("status_counts") == {"400": 2},
          "stats claude-bad %r" % model("claude-bad"))
    check(model("m1").get("models_list") == 1, "stats m1 models_list")
    check(isinstance(model("m1").get("last_request_ms_ago"), int),
          "stats last_request_ms_ago")
    m1 = model("m1")
    check(isinstance(m1.get("first_request_ms_ago"), int) and
          m1["first_request_ms_ago"] >= m1["last_request_ms_ago"],
          "stats first_request_ms_ago, not after the last %r" % m1)
    check("never" in m and m["never"]["requests"] == 0
          and m["never"]["last_request_ms_ago"] is None
          and m["never"]["first_request_ms_ago"] is None,
          "stats of a configured, never asked model %r" % m.get("never"))
    for name, v in m.items():
        check(sum(v["status_counts"].values()) == v["requests"],
              "stats %s: status counts add up to requests" % name)

    # exact under concurrency: 8 threads x 10 requests, one socket each
    before = s["total"]

    def worker():
        c = a.conn()
        for _ in range(10):
            a.chat("par", conn=c)
        c.close()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    s = a.stats()
    p = s["models"].get("par", {})
    check(p.get("requests") == 80 and p.get("status_counts") == {"200": 80},
          "stats par after 80 concurrent requests %r" % p)
    check(p.get("cold_served", 0) + p.get("warm_served", 0) == 80,
          "stats par cold+warm")
    check(s["total"] - before == 80, "stats total grew by %d, want 80"
          % (s["total"] - before))

    # /_reset zeroes counters and keeps warmth; ?all=1 forgets warmth too
    expect_status(a.request("POST", "/_reset"), 200, "POST /_reset")
    s = a.stats()
    check(s["total"] == 0 and all(v["requests"] == 0
                                  for v in s["models"].values()),
          "counters zero after /_reset")
    check(a.chat("cw").elapsed < 0.3, "warm after a plain /_reset")
    a.request("POST", "/_reset?all=1")
    check(a.chat("cw").elapsed >= 0.3, "cold after /_reset?all=1")
    s = a.stats()
    check(s["total"] == 1 and s["models"]["cw"]["cold_served"] == 1,
          "stats after /_reset?all=1: %r" % s["models"]["cw"])


def test_auth(tmp):
    b = Server(tmp, "auth", "--require-key", "sekrit", "--models", "a,b",
               "--cold-ms", "0", "--verbose")
    good = {"Authorization": "Bearer sekrit"}
    r = b.chat("a")
    expect_status(r, 401, "no key")
    err = (r.json() or {}).get("error") or {}
    check((err.get("type"), err.get("code"))
          == ("invalid_request_error", "invalid_api_key"),
          "401 error JSON %r" % err)
    expect_status(b.chat("a", headers={"Authorization": "Bearer nope"}), 401,
                  "wrong bearer")
    expect_status(b.chat("a", headers=good), 200, "right bearer")
    expect_status(b.messages("a", key="sekrit"), 200, "right x-api-key")
    r = b.messages("a", key="sekri")
    expect_status(r, 401, "wrong x-api-key")
    check((r.json() or {}).get("type") == "error", "anthropic 401 shape")
    r = b.chat("c", headers=good)
    expect_status(r, 404, "unknown model under --models")
    check(((r.json() or {}).get("error") or {}).get("code")
          == "model_not_found", "404 code model_not_found")
    r = b.request("GET", "/v1/models", headers=good)
    ids = [d["id"] for d in (r.json() or {}).get("data", [])]
    check(ids == ["a", "b"], "--models listing %r" % ids)
    expect_status(b.request("GET", "/v1/models"), 401, "models without key")
    b.stop("auth server")
    with open(b.logfile) as f:
        log = f.read()
    check("model=a status=401" in log and "model=a status=200" in log,
          "--verbose logs requests")
    check("sekrit" not in log, "the key never reaches the log")


def test_ollama(tmp):
    """Ollama: load-only costs the load once and no tokens, /api/ps lists
    loaded models with expires_at, idle unload after keep_alive, LRU
    eviction past --max-loaded, keep_alive 0 unloads, unknown model 404."""
    o = Server(tmp, "ollama", "--cold-ms", "300", "--warm-ms", "5",
               "--keep-alive", "1s", "--max-loaded", "2",
               "--models", "a,b,c")
    gen = lambda body: o.request("POST", "/api/generate", body)
    r = gen({"model": "a", "keep_alive": "5s"})
    expect_status(r, 200, "ollama load")
    check(r.json().get("done_reason") == "load" and r.elapsed >= 0.3,
          "ollama: a load-only request loads (%.3f s)" % r.elapsed)
    r = gen({"model": "a"})
    check(r.elapsed < 0.2, "ollama: loaded already, no load (%.3f s)"
          % r.elapsed)
    ps = o.request("GET", "/api/ps").json()["models"]
    check([m["name"] for m in ps] == ["a"], "ollama: /api/ps lists a")
    exp = ps[0]["expires_at"]
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", exp)
          is not None, "ollama: expires_at is RFC 3339 (%s)" % exp)
    r = gen({"model": "b", "prompt": "hello", "keep_alive": 30})
    j = r.json()
    check(j.get("response") == "hi" and j.get("eval_count") == 1 and
          r.elapsed >= 0.3, "ollama: generate loads b and answers")
    gen({"model": "c", "keep_alive": "30s"})  # third: evicts a (LRU)
    names = sorted(m["name"] for m in o.request("GET", "/api/ps")
                   .json()["models"])
    check(names == ["b", "c"], "ollama: LRU eviction past --max-loaded (%s)"
          % names)
    st = o.request("GET", "/_ollama").json()
    check(st["evictions"] == 1 and st["evictions_by_load_only"] == 1 and
          st["peak_loaded"] == 2, "ollama: eviction counters %r" % st)
    gen({"model": "c", "keep_alive": 0})
    names = [m["name"] for m in o.request("GET", "/api/ps").json()["models"]]
    check(names == ["b"], "ollama: keep_alive 0 unloads (%s)" % names)
    expect_status(gen({"model": "zz"}), 404, "ollama: unknown model")
    tags = [m["name"] for m in o.request("GET", "/api/tags")
            .json()["models"]]
    check(tags == ["a", "b", "c"], "ollama: /api/tags (%s)" % tags)
    gen({"model": "a", "keep_alive": "1s"})
    time.sleep(1.3)
    names = [m["name"] for m in o.request("GET", "/api/ps").json()["models"]]
    check(names == ["b"], "ollama: a unloaded after its keep_alive (%s)"
          % names)
    o.stop("ollama server")


def test_vllm(tmp):
    """vLLM: starts asleep with --sleeping; chat asleep is 500 and counted;
    /wake_up and /sleep flip /is_sleeping."""
    v = Server(tmp, "vllm", "--sleeping", "--warm-ms", "1", "--cold-ms", "1")
    check(v.request("GET", "/is_sleeping").json() == {"is_sleeping": True},
          "vllm: --sleeping starts asleep")
    expect_status(v.chat("m"), 500, "vllm: chat while asleep")
    expect_status(v.request("POST", "/wake_up", b""), 200, "vllm: wake_up")
    check(v.request("GET", "/is_sleeping").json() == {"is_sleeping": False},
          "vllm: awake")
    expect_status(v.chat("m"), 200, "vllm: chat awake")
    v.request("POST", "/sleep", b"")
    st = v.request("GET", "/_vllm").json()
    check(st["sleeping"] is True and st["refused_while_sleeping"] == 1 and
          st["sleeps"] == 1 and st["wakes"] == 1, "vllm: counters %r" % st)
    v.stop("vllm server")


def test_protocols(tmp):
    """Azure and Gemini (azure.c, gemini.c), reasoning tokens, cache writes."""
    s = Server(tmp, "protocols", "--require-key", "sekrit", "--models",
               "dep,g1,o1,c1", "--cold-ms", "0")
    az = "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    body = {"messages": [{"role": "user", "content": "hi"}],
            "max_completion_tokens": 64, "reasoning_effort": "low"}
    r = s.request("POST", az, body, headers={"api-key": "sekrit"})
    expect_status(r, 200, "azure with api-key")
    u = (r.json() or {}).get("usage", {})
    check(u.get("completion_tokens_details", {}).get("reasoning_tokens") == 8
          and u.get("completion_tokens") == 9,
          "azure: reasoning tokens in the usage %r" % u)
    expect_status(s.request("POST", az, body,
                            headers={"Authorization": "Bearer sekrit"}),
                  401, "azure wants api-key, not a Bearer header")
    expect_status(s.request("POST", az.split("?")[0], body,
                            headers={"api-key": "sekrit"}),
                  404, "azure without api-version")
    r = s.request("POST", az.replace("/dep/", "/nodep/"), body,
                  headers={"api-key": "sekrit"})
    expect_status(r, 404, "azure: an unknown deployment")
    small = dict(body, max_completion_tokens=3, reasoning_effort="high")
    r = s.request("POST", az, small, headers={"api-key": "sekrit"})
    expect_status(r, 400, "reasoning over max_completion_tokens")
    check("max_tokens" in r.body.decode(), "the 400 names max_tokens")

    g = {"x-goog-api-key": "sekrit"}
    gen = "/v1beta/models/g1:generateContent"
    gbody = {"systemInstruction": {"parts": [{"text": "be terse " * 20}]},
             "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
             "generationConfig": {"maxOutputTokens": 3}}
    r = s.request("POST", gen, gbody, headers=g)
    expect_status(r, 200, "gemini generateContent")
    m = (r.json() or {}).get("usageMetadata", {})
    check(m.get("thoughtsTokenCount") == 16 and
          m.get("candidatesTokenCount") == 1 and
          "cachedContentTokenCount" not in m,
          "gemini: thoughts, no cache the first time %r" % m)
    gbody["generationConfig"]["thinkingConfig"] = {"thinkingBudget": 0}
    m = (s.request("POST", gen, gbody, headers=g).json() or {}).get(
        "usageMetadata", {})
    check("thoughtsTokenCount" not in m and
          m.get("cachedContentTokenCount", 0) > 0,
          "gemini: thinkingBudget 0, the prefix cached %r" % m)
    r = s.request("POST", gen, gbody, headers={"x-goog-api-key": "nope"})
    expect_status(r, 400, "gemini: a wrong key is a 400")
    check(((r.json() or {}).get("error") or {}).get("status")
          == "INVALID_ARGUMENT", "gemini: INVALID_ARGUMENT")
    r = s.request("POST", gen.replace("g1", "g9"), gbody, headers=g)
    expect_status(r, 404, "gemini: an unknown model")
    check(((r.json() or {}).get("error") or {}).get("status") == "NOT_FOUND",
          "gemini: NOT_FOUND")
    r = s.request("GET", "/v1beta/models", headers=g)
    names = [x["name"] for x in (r.json() or {}).get("models", [])]
    check(names == ["models/dep", "models/g1", "models/o1", "models/c1"],
          "gemini listing %r" % names)

    r = s.messages("c1", key="sekrit", system="a cached prefix " * 20)
    u1 = (r.json() or {}).get("usage", {})
    r = s.messages("c1", key="sekrit", system="a cached prefix " * 20)
    u2 = (r.json() or {}).get("usage", {})
    check(u1.get("cache_creation_input_tokens", 0) > 0 and
          u2.get("cache_read_input_tokens", 0) ==
          u1.get("cache_creation_input_tokens"),
          "anthropic: the prefix written, then read")
    st = s.stats()["models"]
    check(st["dep"]["via"]["azure"] == 2 and st["g1"]["via"]["gemini"] == 2,
          "stats: requests per protocol (the 200 and the 400) %r %r" % (st["dep"]["via"],
                                                   st["g1"]["via"]))
    check(st["dep"]["reasoning_tokens"] == 8 and
          st["g1"]["reasoning_tokens"] == 16,
          "stats: reasoning tokens")
    check(st["c1"]["cache_write_tokens"] == u1["cache_creation_input_tokens"]
          and st["g1"]["cache_write_tokens"] == 0,
          "stats: cache writes (Anthropic's only)")
    s.stop("protocols server")


def main():
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        SystemExit("FAIL: test-upstream took over 30 s")))
    signal.alarm(30)
    tmp = tempfile.mkdtemp(prefix="warmth-upstream-test.")
    try:
        conf = os.path.join(tmp, "upstream.conf")
        with open(conf, "w") as f:
            f.write("# per-model faults from a file\n"
                    "cold-after = 60s\n"  # warm all test long
                    "[fconf]\n"
                    "fault = 503:7\n")
        short = Server(tmp, "short", "--max-seconds", "1")
        test_cli(tmp)
        a = Server(tmp, "main", "--config", conf, "--verbose",
                   "--cold-ms", "300", "--warm-ms", "5",
                   "--cold-ms", "slowcold=700",
                   "--cold-after", "quickcold=200ms",
                   "--fault", "f429=429:3", "--fault", "f429d=429date:4",
                   "--fault", "f500=500", "--fault", "f503=503:5",
                   "--fault", "f401=401", "--fault", "ftimeout=timeout",
                   "--fault", "fslow=slow:100", "--fault", "fbig=big",
                   "--fault", "fbad=badjson", "--fault", "freset=reset",
                   "--fault", "fflaky=flaky:3", "--fault", "never=500",
                   "--rpm", "lim=3", "--headroom", "hr=2")
        for t in (test_chat, test_cold_warm, test_cache, test_anthropic,
                  test_models, test_faults, test_runtime_faults,
                  test_bad_requests, test_stats):
            t(a)
        a.stop("main server")
        test_auth(tmp)
        test_ollama(tmp)
        test_vllm(tmp)
        test_protocols(tmp)
        try:
            rc = short.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "--max-seconds 1: exit status %r" % rc)
    finally:
        signal.alarm(0)
        for s in servers:  # only our own children, by their handle
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
            s.proc.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
