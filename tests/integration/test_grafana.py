"""doc/grafana/warmth.json against a running warmd: every metric that one
of the dashboard's PromQL expressions (panels and template variables)
queries must be in warmd's /metrics, so the dashboard cannot drift from
what warmd exports.

The fleet metrics (warmd_fleet_*) exist only with a [fleet] section (and
a Redis): they are checked against the source instead (tools/warmd/*.c
must define each).  While the tree has no fleet mode at all (no
tools/warmd/fleet.c) a missing one is reported as expected later, not as a
failure; once fleet mode is in, a missing one fails."""
import glob
import json
import os
import re
import urllib.request

from harness import SRCDIR, Procs, bound, check, main, wait_for, free_port

DASH = os.path.join(SRCDIR, "doc", "grafana", "warmth.json")

FUNCS_OR_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
    "bool", "and", "or", "unless", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # strings
    e = re.sub(r"\{[^}]*\}", "", e)                     # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                    # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*"
               r"\([^)]*\)", "", e)                     # label lists
    e = re.sub(r"\$\w+", "", e)                         # $__rate_interval
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        tail = e[m.end():].lstrip()
        if tail.startswith("("):
            continue  # a function
        if m.group(0).lower() in FUNCS_OR_WORDS:
            continue
        if m.start() > 0 and (e[m.start() - 1].isdigit() or
                              e[m.start() - 1] == "."):
            continue  # 1e6
        names.add(m.group(0))
    return names


def dashboard_queries():
    with open(DASH) as f:
        d = json.load(f)
    out = []
    ids = set()
    for p in d["panels"]:
        check(p["id"] not in ids, f"panel id {p['id']} is unique")
        ids.add(p["id"])
        check(p.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}",
              f"panel '{p['title']}' uses the DS_PROMETHEUS input")
        for t in p["targets"]:
            out.append((p["title"], t["expr"]))
    for v in d["templating"]["list"]:
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
        check(m is not None, f"variable ${v['name']}: {q}")
        out.append((f"variable ${v['name']}", m.group(1)))
    check(any(i["name"] == "DS_PROMETHEUS" for i in d["__inputs"]),
          "the dashboard asks for its Prometheus data source on import")
    return out


def families(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                timeout=10) as r:
        text = r.read().decode()
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def in_source(name):
    for path in glob.glob(os.path.join(SRCDIR, "tools", "warmd", "*.c")):
        with open(path) as f:
            if f'"{name}' in f.read():
                return True
    return False


def knows_fleet():
    """Fleet mode is in the tree (tools/warmd/fleet.c, DESIGN.md)."""
    return os.path.exists(os.path.join(SRCDIR, "tools", "warmd", "fleet.c"))


def run():
    bound(120)
    queries = dashboard_queries()
    wanted = {}
    for title, expr in queries:
        names = metric_names(expr)
        check(names, f"'{title}' queries a metric: {expr}")
        for n in names:
            wanted.setdefault(n, title)
    check(len(wanted) >= 10, f"{len(wanted)} metrics queried")
    with Procs() as p:
        _, port = p.upstream()
        hp = free_port()
        cfg = p.config(port, {"m1": {"interval": "1s"}},
                       warmd={"http_listen": f"127.0.0.1:{hp}"})
        p.warmd(cfg)

        def up():
            try:
                return "warmd_model_warm" in families(hp)
            except OSError:
                return False
        wait_for(up, 20, "warmd's /metrics")
        have = families(hp)
    for name, title in sorted(wanted.items()):
        if name in have:
            check(True, f"{name} ('{title}') is in /metrics")
        elif name.startswith("warmd_fleet_"):
            if in_source(name):
                check(True, f"{name} ('{title}'): fleet mode only; "
                      "tools/warmd defines it")
            elif knows_fleet():
                check(False, f"{name} ('{title}'): fleet mode is in the "
                      "tree, so tools/warmd defines it")
            else:
                print(f"# expected later: {name} ('{title}'): fleet mode "
                      "is not in this tree yet")
        else:
            check(False, f"{name} ('{title}') is in warmd's /metrics")


if __name__ == "__main__":
    main(run)
