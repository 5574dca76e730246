"""PHP servers for the integration tests: PHP-FPM and Apache httpd
(prefork + mod_php) on loopback, each in a temp dir with its own config,
started in the foreground and stopped by pid (through harness.Procs), a
small FastCGI client (PHP-FPM) or wrk with load.lua (Apache) for the load,
and the comparison of warmd with the per-process warmer people run today.

Used by tests/integration/test_phpfpm.py and test_apache.py.
"""
import grp
import json
import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
WORKER = os.path.join(HERE, "worker.php")

# When the tests run as root, the servers' children run as this user (Apache
# refuses to serve as root) and warmd gives the segment to its group, as in
# production (DESIGN.md: mode 0640, group: the workers').
RUN_AS = "www-data"


def need(prog, pkg):
    path = shutil.which(prog) or (os.path.exists(prog) and prog)
    if not path:
        raise SystemExit(f"FAIL: {prog} not found: install {pkg} (tools/deps.sh)")
    return path


def worker_user():
    """(user, group) the servers' children run as, or None (run as us)."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(RUN_AS)
    except KeyError:
        pw = pwd.getpwnam("nobody")
    return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name


def start_warmd(P, models):
    """The upstream and warmd for a server test: models at a 1 s interval,
    the segments in the workers' group, all warm before the load.  Returns
    (warmer_dir, upstream port, warmd process)."""
    from harness import wait_for  # noqa: E402 - harness is on sys.path

    warmer_dir = share(P)
    _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
    user = worker_user()
    cfg = P.config(port, {m: {"interval": "1s", "jitter": "0%",
                              "warm_ttl": "3s"} for m in models},
                   warmd={"group": user[1]} if user else None)
    warmd = P.warmd(cfg)
    wait_for(lambda: all(P.warmctl("check", m)[0] == 0 for m in models),
             10, "warmd to warm the models")
    return warmer_dir, port, warmd


def share(P):
    """Lets the children (another user when we are root) read the temp dir."""
    os.chmod(P.tmp, 0o755)
    d = P.path("warmer")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o1777)
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ffi_header(P, lib):
    """lib/php/src/warmth.ffi.h for ffi.preload, naming the built library."""
    with open(os.path.join(SRC, "lib", "php", "src", "warmth.ffi.h")) as f:
        text = f.read()
    text = text.replace('#define FFI_LIB "libwarmth.so.0"', f'#define FFI_LIB "{lib}"')
    path = P.path("warmth.ffi.h")
    with open(path, "w") as f:
        f.write(text)
    return path


# Which binding the servers load: the extension (doc/php.md's first choice),
# or with WARMTH_PHP_IMPL=ffi the FFI binding it falls back to.
IMPL = os.environ.get("WARMTH_PHP_IMPL", "ext")


def php_ini(P, build):
    """The php.ini lines of the production setup (doc/php.md) of IMPL."""
    if IMPL == "ffi":
        return preload_ini(P, build)
    ext = os.path.join(build, "lib", "php", "ext-build", "modules", "warmth.so")
    if not os.path.exists(ext):
        raise SystemExit(f"missing {ext}: make check builds it (php8.2-dev)")
    return [f"extension={ext}", "opcache.enable=1"]


def expected_impl():
    """What worker.php says of the binding every child must have used."""
    return "ffi:scope" if IMPL == "ffi" else "extension"


def preload_ini(P, build):
    """The php.ini lines of the FFI binding's production setup (doc/php.md):
    FFI only for preloaded code, libwarmth declared once per process
    (ffi.preload), the binding compiled once into opcache (opcache.preload)."""
    ini = ["ffi.enable=preload",
           f"ffi.preload={ffi_header(P, libwarmth(build))}",
           "opcache.enable=1",
           f"opcache.preload={os.path.join(SRC, 'lib', 'php', 'preload.php')}"]
    user = worker_user()
    if user:  # the server starts as root: preloading needs a user
        ini.append(f"opcache.preload_user={user[0]}")
    return ini


def libwarmth(build):
    lib = os.path.join(build, "lib", ".libs", "libwarmth.so.0")
    if not os.path.exists(lib):
        raise SystemExit(f"missing {lib}: build first (shared libraries needed)")
    return lib


# ---- PHP-FPM -----------------------------------------------------------------

def start_fpm(P, build, children, server_env, extra_ini=(), tag="fpm"):
    """php-fpm8.2 -F with a static pool of `children` on a unix socket, with
    php_ini()'s setup and extra_ini; its files are named after `tag`.
    Returns (proc, socket path)."""
    fpm = need(os.environ.get("PHP_FPM", "php-fpm8.2"), "php8.2-fpm")
    sock = P.path(f"{tag}.sock")
    user = worker_user()
    lines = ["[global]", f"pid = {P.path(tag + '.pid')}",
             f"error_log = {P.path(tag + '.log')}", "daemonize = no",
             "[warmth]", f"listen = {sock}", "listen.mode = 0600",
             "pm = static", f"pm.max_children = {children}",
             "pm.max_requests = 0", "catch_workers_output = yes",
             "php_admin_flag[log_errors] = on",
             f"php_admin_value[error_log] = {P.path('php-errors.log')}"]
    if user:
        lines += [f"user = {user[0]}", f"group = {user[1]}"]
    for k, v in server_env.items():
        lines.append(f"env[{k}] = {v}")
    conf = P.path(f"{tag}.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    argv = [fpm, "-F", "-y", conf, "-p", P.tmp]
    for d in [*php_ini(P, build), *extra_ini]:
        argv += ["-d", d]
    log = open(P.path(f"{tag}.out"), "w")
    p = P.spawn(argv, stdout=log, stderr=log, start_new_session=True)
    deadline = time.time() + 15
    while not os.path.exists(sock):
        if p.poll() is not None or time.time() > deadline:
            raise SystemExit("php-fpm did not start:\n" + P.log(f"{tag}.out")
                             + (P.log(f"{tag}.log") if os.path.exists(P.path(f"{tag}.log")) else ""))
        time.sleep(0.05)
    return p, sock


def fcgi_get(sock, script, query, params=None, timeout=10):
    """One FastCGI request (role responder, no keep-conn) over a unix
    socket: BEGIN_REQUEST, PARAMS, an empty PARAMS, an empty STDIN, then
    read STDOUT until END_REQUEST.  Returns (status, body)."""
    def record(rtype, content):
        return struct.pack("!BBHHBx", 1, rtype, 1, len(content), 0) + content

    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)

    env = {"SCRIPT_FILENAME": script, "SCRIPT_NAME": "/" + os.path.basename(script),
           "REQUEST_URI": "/" + os.path.basename(script) + "?" + query,
           "QUERY_STRING": query, "REQUEST_METHOD": "GET",
           "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
           "SERVER_NAME": "localhost", "REMOTE_ADDR": "127.0.0.1"}
    env.update(params or {})
    pairs = b"".join(length(len(k.encode())) + length(len(v.encode())) + k.encode() + v.encode()
                     for k, v in env.items())
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, pairs)
                  + record(4, b"") + record(5, b""))
        buf = b""
        out = b""
        ended = False
        while not ended:
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
                if len(buf) < 8 + clen + plen:
                    break
                content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
                if rtype == 6:
                    out += content
                elif rtype == 3:
                    ended = True
                    break
            if ended:
                break
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    if not ended:
        raise ConnectionError("FastCGI: no END_REQUEST")
    head, _, body = out.partition(b"\r\n\r\n")
    status = 200
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"status:"):
            status = int(line.split()[1])
    return status, body


# ---- Apache httpd + mod_php ------------------------------------------------------

APACHE_MODULES = "/usr/lib/apache2/modules"


def start_apache(P, build, children, server_env, extra_ini=()):
    """/usr/sbin/apache2 -DFOREGROUND with a full config of our own: the
    prefork MPM with `children` processes, mod_php reading a php.ini of ours
    (PHPINIDir) with php_ini()'s setup.  Returns (proc, port)."""
    httpd = need(os.environ.get("APACHE2", "/usr/sbin/apache2"), "apache2")
    for mod in ("mod_mpm_prefork.so", "libphp8.2.so"):
        need(os.path.join(APACHE_MODULES, mod), "apache2 libapache2-mod-php8.2")
    port = free_port()
    user = worker_user()
    phpdir = P.path("php")
    os.makedirs(phpdir, exist_ok=True)
    with open(os.path.join(phpdir, "php.ini"), "w") as f:
        f.write("\n".join([*php_ini(P, build), *extra_ini]) + "\n")
    lines = [
        f"ServerRoot {P.tmp}", "ServerName 127.0.0.1",
        f"Listen 127.0.0.1:{port}",
        f"PidFile {P.path('httpd.pid')}", f"ErrorLog {P.path('httpd-error.log')}",
        "LogLevel warn", f"DefaultRuntimeDir {P.tmp}",
        f"Mutex file:{P.tmp} default",
        f"LoadModule mpm_prefork_module {APACHE_MODULES}/mod_mpm_prefork.so",
        f"LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so",
        f"LoadModule env_module {APACHE_MODULES}/mod_env.so",
        f"LoadModule php_module {APACHE_MODULES}/libphp8.2.so",
        f"PHPINIDir {phpdir}",
        f"StartServers {children}", f"MinSpareServers {children}",
        f"MaxSpareServers {children}", f"ServerLimit {children}",
        f"MaxRequestWorkers {children}", "MaxConnectionsPerChild 0",
        "KeepAlive On", "MaxKeepAliveRequests 0", "KeepAliveTimeout 10",
        f"DocumentRoot {HERE}",
        f"<Directory {HERE}>", "  Require all granted", "</Directory>",
        '<FilesMatch "\\.php$">', "  SetHandler application/x-httpd-php", "</FilesMatch>",
        "php_admin_flag log_errors on",
        f"php_admin_value error_log {P.path('php-errors.log')}",
    ]
    if user:
        lines += [f"User {user[0]}", f"Group {user[1]}"]
    for k, v in server_env.items():
        lines.append(f"SetEnv {k} {v}")
    conf = P.path("httpd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = open(P.path("httpd.out"), "w")
    # Its own session: at shutdown the prefork parent sends SIGTERM to its
    # whole process group, which would otherwise be the test's and make's.
    p = P.spawn([httpd, "-f", conf, "-DFOREGROUND"], stdout=log, stderr=log,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"},
                start_new_session=True)
    deadline = time.time() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if p.poll() is not None or time.time() > deadline:
                err = P.log("httpd-error.log") if os.path.exists(P.path("httpd-error.log")) else ""
                raise SystemExit("apache2 did not start:\n" + P.log("httpd.out") + err)
            time.sleep(0.05)
    return p, port


# ---- load ----------------------------------------------------------------------

class Summary:
    """What a load run saw, whichever client sent it (Python or wrk)."""

    def __init__(self):
        self.requests = self.good = self.warm = self.touched = 0
        self.own_warmups = 0
        self.opened = 0  # requests that opened their process's table
        self.bad = 0
        self.first_bad = ""
        self.pids, self.intervals, self.ttls, self.impl = set(), set(), set(), set()
        self.openers = set()  # pids that opened the tables read (extension)
        self.seconds = 0.0
        self.client = ""


def judge(r, mode):
    """A worker.php reply is good when it is its model's consistent record
    (own mode: when it answered for its model)."""
    if mode == "own":
        return bool(r.get("model"))
    return bool(r.get("consistent")) and r.get("name") == r.get("model")


def load(make_client, models, mode, seconds, threads, max_requests):
    """`threads` Python clients send requests for `seconds` (at most
    max_requests in all), alternating models.  Returns a Summary."""
    s = Summary()
    s.client = f"{threads} Python client threads"
    lock = threading.Lock()
    t0 = time.monotonic()
    deadline = t0 + seconds
    count = [0]

    def run(i):
        get = make_client()
        k = i
        try:
            while time.monotonic() < deadline:
                with lock:
                    if count[0] >= max_requests:
                        break
                    count[0] += 1
                m = models[k % len(models)]
                k += 1
                q = f"model={m}" + ("&mode=own" if mode == "own" else "")
                try:
                    status, body = get(q)
                    r = json.loads(body)
                    ok = status == 200 and judge(r, mode)
                except Exception as e:  # noqa: BLE001 - counted, reported
                    r, ok = {}, False
                    body = f"{type(e).__name__}: {e}".encode()
                with lock:
                    s.requests += 1
                    s.good += ok
                    if not ok:
                        s.bad += 1
                        s.first_bad = s.first_bad or body[:200].decode(errors="replace")
                    s.warm += bool(r.get("warm"))
                    s.touched += bool(r.get("touched"))
                    s.own_warmups += bool(r.get("own_warmup"))
                    s.opened += r.get("reused") is False
                    for key, dst in (("pid", s.pids), ("interval_ms", s.intervals),
                                     ("warm_ttl_ms", s.ttls), ("impl", s.impl),
                                     ("opened_pid", s.openers)):
                        if key in r:
                            dst.add(str(r[key]))
        finally:
            close = getattr(get, "close", None)
            if close:
                close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    s.seconds = time.monotonic() - t0
    return s


def wrk_load(port, models, mode, seconds, conns, threads=2):
    """wrk against Apache with load.lua judging every reply.  Returns a
    Summary."""
    wrk = need("wrk", "wrk")
    argv = [wrk, f"-t{min(threads, conns)}", f"-c{conns}", f"-d{seconds}s",
            "--timeout", "10s", "-s", os.path.join(HERE, "load.lua"),
            f"http://127.0.0.1:{port}/worker.php", "--", mode, ",".join(models)]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    took = time.monotonic() - t0
    m = re.search(r"^wrk-result (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise AssertionError(f"wrk failed ({r.returncode}): {r.stdout}{r.stderr}")
    fields = dict(kv.split("=", 1) for kv in
                  re.findall(r"(\w+=\S*)", m.group(1).split(" first_bad=")[0]))
    s = Summary()
    s.client = f"wrk, {conns} connections"
    s.seconds = took
    for k in ("requests", "good", "bad", "warm", "touched", "own_warmups", "opened"):
        setattr(s, k, int(fields[k]))
    s.pids = set(filter(None, fields["pids"].split(",")))
    s.intervals = set(filter(None, fields["intervals"].split(",")))
    s.ttls = set(filter(None, fields["ttls"].split(",")))
    s.impl = set(filter(None, fields["impl"].split("|")))
    s.openers = set(filter(None, fields["openers"].split(",")))
    s.first_bad = m.group(1).partition(" first_bad=")[2]
    # wrk's own count: socket errors and non-2xx replies are bad as well.
    errs = re.search(r"Socket errors: (.*)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    s.socket_errors = errs.group(1) if errs else ""
    s.non2xx = int(non2xx.group(1)) if non2xx else 0
    return s


def compare(P, port, warmd, run_load, models, seconds, workers, label,
            interval_ms, warm_ttl_ms):
    """Runs the load with warmd, then with the per-process warmer (warmd
    stopped); prints the counts side by side and checks them.
    run_load(mode, seconds) -> Summary.  Returns the warmd run's Summary."""
    from harness import (check, check_one_per_interval,  # noqa: E402 - on sys.path
                         check_per_process_more, http, stats)

    def counts():
        st = stats(port)["models"]
        return {m: st.get(m, {}).get("requests", 0) for m in models}

    # Wake every child (its first request opens the table) before counting.
    run_load("warmd", 1)
    http(port, "/_reset", {})
    w = run_load("warmd", seconds)
    with_warmd = counts()
    warmd.terminate()
    warmd.wait(timeout=10)

    http(port, "/_reset", {})
    own = run_load("own", seconds)
    per_process = counts()

    print(f"{label}: {workers} worker processes, load by {w.client}, {seconds} s "
          f"per run, 1 s interval")
    print(f"  with warmd:             {w.requests} requests ({w.requests / w.seconds:.0f}/s)")
    print(f"  per-process warmer:     {own.requests} requests "
          f"({own.requests / own.seconds:.0f}/s)")
    print(f"  {'model':8} {'warmd':>6} {'per-process':>12} {'ratio':>6}")
    for m in models:
        print(f"  {m:8} {with_warmd[m]:6d} {per_process[m]:12d} "
              f"{per_process[m] / max(1, with_warmd[m]):6.1f}")
    total_w, total_p = sum(with_warmd.values()), sum(per_process.values())
    print(f"  {'total':8} {total_w:6d} {total_p:12d} {total_p / max(1, total_w):6.1f}")
    sys.stdout.flush()

    for name, s in (("with warmd", w), ("with the per-process warmer", own)):
        check(s.bad == 0 and getattr(s, "non2xx", 0) == 0
              and not getattr(s, "socket_errors", ""),
              f"every request {name} answered well ({s.bad} bad"
              + (f", first: {s.first_bad}" if s.bad else "")
              + (f", wrk: {s.non2xx} non-2xx, socket errors {s.socket_errors}"
                 if getattr(s, "non2xx", 0) or getattr(s, "socket_errors", "") else "")
              + ")")
    check(w.requests >= 1000, f"a few thousand requests ({w.requests})")
    check(len(w.pids) == workers, f"all {workers} worker processes served ({len(w.pids)})")
    check(w.good == w.requests, f"every request saw a consistent record of its own "
          f"model ({w.good} of {w.requests})")
    check(w.touched == w.requests, f"every request touched its model ({w.touched})")
    check(w.opened <= workers, f"the table was opened once per worker process, not per "
          f"request ({w.opened} opens in {w.requests} requests)")
    check(w.warm >= 0.95 * w.requests, f"requests saw their model warm ({w.warm} of {w.requests})")
    check(w.intervals == {str(interval_ms)} and w.ttls == {str(warm_ttl_ms)},
          f"records carry warmd's interval {sorted(w.intervals)} ms and warm_ttl "
          f"{sorted(w.ttls)} ms")
    # warmd: judged against how long its load really ran (a request cap or
    # a slow start can make it shorter than asked): one warmup per model
    # per second of it, +/- 1.  The per-process warmers: against warmd's
    # count of the same run, not the clock (their timers fire late on a
    # loaded machine).
    check_one_per_interval(f"{workers} workers", with_warmd, w.seconds)
    check_per_process_more("per-process", per_process, with_warmd, workers)
    # wrk stops at its deadline without reading the replies in flight: up
    # to one per connection (one per child) may have warmed unseen.
    check(own.own_warmups <= total_p <= own.own_warmups + workers,
          f"the upstream counted the per-process warmups the workers said they "
          f"sent ({total_p} counted, {own.own_warmups} replies said so)")
    return w
