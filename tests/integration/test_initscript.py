"""The LSB init script tools/init/warmd: start, status, reload, restart,
stop, as root (CI runs as root; skipped, exit 77, otherwise).

The script is pointed at this build's warmd, a temporary config and pidfile
through the variables it documents (DAEMON, CONFIG, PIDFILE,
WARMD_DEFAULTS), and uses start-stop-daemon like on a real host."""
import os
import shutil
import signal
import subprocess
import sys

from harness import SRCDIR, Procs, binary, bound, check, main, wait_for
from ops import NOTFOUND, pid_alive, sample, wait_sample

SCRIPT = os.path.join(SRCDIR, "tools/init/warmd")


def test():
    if os.geteuid() != 0:
        print("SKIP: the init script test runs as root only")
        sys.exit(77)
    if not shutil.which("start-stop-daemon"):
        print("SKIP: no start-stop-daemon")
        sys.exit(77)
    bound(120)
    started = []
    with Procs() as P:
        _, port = P.upstream("--warm-ms", "5", "--cold-ms", "5")
        cfg = P.config(port, {"m1": {"interval": "300ms", "warm_ttl": "3s"}})
        pidfile = P.path("run/warmd.pid")  # the script makes run/
        env = dict(os.environ, DAEMON=binary("tools/warmd/warmd"), CONFIG=cfg,
                   PIDFILE=pidfile, WARMD_DEFAULTS="/dev/null")

        def init(cmd):
            r = subprocess.run(["sh", SCRIPT, cmd], env=env, capture_output=True,
                               text=True, timeout=30)
            out = (r.stdout + r.stderr).strip()
            print(f"$ warmd {cmd}  -> {r.returncode}: {out}")
            if os.path.exists(pidfile):
                started.append(int(open(pidfile).read()))
            return r.returncode, out

        try:
            rc, _ = init("status")
            check(rc == 3, "status before start: 3 (not running)")
            rc, _ = init("start")
            check(rc == 0 and os.path.exists(pidfile), "start: 0, pidfile written")
            pid = int(open(pidfile).read())
            rc, out = init("status")
            check(rc == 0 and str(pid) in out, f"status: 0, names pid {pid}")
            wait_sample(P, ["m1"], lambda m, h: h["pid"] == pid and
                        m["m1"]["warm"], 10, "m1 warm under the started warmd")
            rc, _ = init("start")
            check(rc == 0 and int(open(pidfile).read()) == pid,
                  "start when running: 0, same warmd")

            with open(cfg, "a") as f:
                f.write("\n[model m2]\nendpoint = local\ninterval = 300ms\n")
            rc, _ = init("reload")
            check(rc == 0, "reload: 0")
            wait_sample(P, ["m2"], lambda m, h: m["m2"]["rc"] == 0, 10,
                        "the reload to add m2")
            check(int(open(pidfile).read()) == pid, "reload kept the same warmd")
            good = open(cfg).read()
            with open(cfg, "a") as f:
                f.write("\n[model m3]\nendpoint = nowhere\n")
            rc, _ = init("reload")
            check(rc != 0 and pid_alive(pid), "reload of a broken config fails "
                  "and warmd keeps running")
            with open(cfg, "w") as f:
                f.write(good)
            rc, _ = init("force-reload")
            check(rc == 0, "force-reload: 0")

            rc, _ = init("restart")
            new = int(open(pidfile).read())
            check(rc == 0 and new != pid and not pid_alive(pid),
                  f"restart: 0, a new warmd ({pid} -> {new})")
            wait_sample(P, ["m1", "m2"], lambda m, h: h["pid"] == new and
                        m["m1"]["warm"] and m["m2"]["warm"], 10,
                        "the restarted warmd to warm m1 and m2")

            rc, _ = init("stop")
            check(rc == 0 and not pid_alive(new) and not os.path.exists(pidfile),
                  "stop: 0, warmd gone, pidfile removed")
            _, hdr = sample(P, ["m1"])
            check(hdr["retired"] == 1, "the table is left retired")
            rc, _ = init("status")
            check(rc == 3, "status after stop: 3")
            rc, _ = init("stop")
            check(rc == 0, "stop when stopped: 0")

            with open(cfg, "a") as f:
                f.write("\n[model m3]\nendpoint = nowhere\n")
            rc, out = init("start")
            check(rc != 0 and "nowhere" in out,
                  f"start with a broken config fails and says why")
            rc, _ = init("bogus")
            check(rc != 0, "an unknown command fails")
        finally:
            for pid in started:
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main(test)
