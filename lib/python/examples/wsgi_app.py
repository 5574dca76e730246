"""A WSGI app that uses warmth the way a real one would, for the Gunicorn
integration test and as an example (doc/python.md).

GET /?model=NAME (default: the first of WARMTH_APP_MODELS) answers JSON:
  {"pid", "model", "warm", "consistent", "state", "warm_for_s", "opened_in",
   "record"}   (record: every field of the ModelInfo, or null)

Environment:
  WARMTH_SHM           the table (libwarmth reads it; default /warmth)
  WARMTH_APP_MODELS    comma-separated models this app uses
  WARMTH_APP_MODE      "warmth" (default): ask the table, touch the model;
                       "own": no table; every worker warms each model on its
                       own timer (the per-process warmer warmth replaces)
  WARMTH_APP_UPSTREAM  own mode: the API base URL (".../v1")
  WARMTH_APP_INTERVAL  own mode: seconds between a worker's warmups (1)

The table is opened at import.  Under Gunicorn with preload_app the import
happens in the master, before the workers are forked, and every worker
uses that one handle (a handle survives fork); without preload each worker
imports, and opens, its own.  Either way: once per process, never per
request.  "opened_in" tells which process opened it.
"""
import json
import os
import threading
import time
import urllib.request
from urllib.parse import parse_qs

MODE = os.environ.get("WARMTH_APP_MODE", "warmth")
MODELS = [m for m in os.environ.get("WARMTH_APP_MODELS", "").split(",") if m]

if MODE == "warmth":
    import warmth

    # Lazy (the default): a worker started before warmd still starts; until
    # the table appears every model reads as cold.
    TABLE = warmth.Table()
    OPENED_IN = os.getpid()
elif MODE == "own":
    TABLE = None
    OPENED_IN = None
    UPSTREAM = os.environ.get("WARMTH_APP_UPSTREAM", "")
    INTERVAL = float(os.environ.get("WARMTH_APP_INTERVAL", "1"))
    _own_ok = {}  # model -> time.monotonic() of this worker's last success
else:
    raise SystemExit(f"WARMTH_APP_MODE must be warmth or own, not {MODE!r}")


def _answer(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    models = q.get("model") or MODELS[:1]
    if not models:
        return _answer(start_response, "400 Bad Request",
                       {"error": "no model"})
    model = models[0]
    if MODE == "own":
        ok = _own_ok.get(model)
        return _answer(start_response, "200 OK", {
            "pid": os.getpid(), "model": model, "consistent": True,
            "warm": ok is not None and time.monotonic() - ok < 3 * INTERVAL,
            "state": None, "warm_for_s": None, "opened_in": None,
            "record": None})

    # The request path: never blocks, never raises for warmth's sake.
    warm = TABLE.is_warm(model, default=False)
    try:
        TABLE.touch(model)
    except warmth.WarmthError:
        pass  # no coordinator (yet): nothing to tell
    rec = TABLE.get(model)  # ModelInfo, or None
    # A record is one consistent copy: it is the model asked for, and its
    # derived fields agree with its raw ones.
    consistent = rec is not None and rec.name == model and \
        rec.state_name == str(rec.state) and \
        (rec.warm_for_s > 0) == (rec.state == warmth.State.WARM and
                                 rec.warm_until > rec.now_ns)
    return _answer(start_response, "200 OK", {
        "pid": os.getpid(), "model": model, "warm": warm,
        "consistent": consistent, "backend": warmth.backend,
        "state": rec.state_name if rec else None,
        "warm_for_s": rec.warm_for_s if rec else None,
        "opened_in": OPENED_IN,
        # The raw copy, so a client can check it against what the
        # coordinator was configured with (enums serialise as ints).
        "record": rec._asdict() if rec else None})


# ---- own mode: the per-process warmer ---------------------------------------
def _warm_once(model):
    body = json.dumps({"model": model, "max_tokens": 3,
                       "messages": [{"role": "user", "content": "hi"}]})
    req = urllib.request.Request(f"{UPSTREAM}/chat/completions",
                                 data=body.encode(), headers={
                                     "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()
        _own_ok[model] = time.monotonic()
    except OSError:
        pass


def _warmer():
    next_due = time.monotonic()
    while True:
        for m in MODELS:
            _warm_once(m)
        next_due += INTERVAL
        time.sleep(max(0.0, next_due - time.monotonic()))


def worker_started():
    """Gunicorn's post_fork hook calls this in every worker.  Own mode
    starts its warmer here: a thread started in the master would not
    survive the fork."""
    if MODE == "own":
        threading.Thread(target=_warmer, name="own-warmer",
                         daemon=True).start()
