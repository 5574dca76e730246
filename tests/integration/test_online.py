"""warmd --check-config --online: each endpoint's key and models, asked of
the provider (here the test upstream, which requires a key and lists a fixed
set of models).

- the right key: "key accepted", and a configured model the provider lacks
  is named with the closest ids it does have;
- a wrong key: the provider refuses it (401), and the endpoint is named;
- a placeholder key ("YOUR_API_KEY"): caught before any request is sent;
- a key variable that is not set: said so.
The exit status is 2 when anything is wrong, 0 when all is well, and the
key itself is never printed."""
import os
import subprocess

from harness import Procs, binary, bound, check, main, stats

KEY = "sk-test-0123456789abcdef"


def online(cfg, env):
    r = subprocess.run([binary("tools/warmd/warmd"), "--check-config",
                        "--online", "-c", cfg], capture_output=True,
                       text=True, timeout=30, env=env)
    return r.returncode, r.stdout + r.stderr


def test():
    bound(60)
    with Procs() as P:
        _, port = P.upstream("--require-key", KEY,
                             "--models", "gpt-4.1,gpt-4.1-mini,o4-mini")
        base = f"http://127.0.0.1:{port}/v1"
        env = dict(os.environ, GOOD_KEY=KEY, BAD_KEY="sk-wrong-key-000000",
                   PLACEHOLDER="YOUR_API_KEY")
        env.pop("UNSET_KEY", None)

        good = P.config(port, {"gpt-4.1": {}, "o4-mini": {}},
                        endpoint={"api_key_env": "GOOD_KEY"}, name="good.conf")
        rc, out = online(good, env)
        print(out)
        check(rc == 0 and "online check: ok" in out,
              f"all well: exit 0 ({rc})")
        check("endpoint local: key accepted, 3 models listed" in out,
              "the key is accepted and the models listed")

        typo = P.config(port, {"gpt-4.1": {}, "gpt-4.2-mini": {}},
                        endpoint={"api_key_env": "GOOD_KEY"}, name="typo.conf")
        rc, out = online(typo, env)
        print(out)
        check(rc == 2, f"a missing model: exit 2 ({rc})")
        check("model gpt-4.2-mini: endpoint local has no model 'gpt-4.2-mini'; "
              "closest: gpt-4.1-mini" in out,
              "the missing model is named with the closest id first")

        bad = P.config(port, {"gpt-4.1": {}},
                       endpoint={"api_key_env": "BAD_KEY"}, name="bad.conf")
        rc, out = online(bad, env)
        print(out)
        check(rc == 2 and "endpoint local: the provider refused the key "
              "(HTTP 401)" in out, "a wrong key: the endpoint is named, 401")

        ph = P.config(port, {"gpt-4.1": {}},
                      endpoint={"api_key_env": "PLACEHOLDER"}, name="ph.conf")
        before = stats(port)["total"]
        rc, out = online(ph, env)
        print(out)
        check(rc == 2 and "looks like a placeholder; no request sent" in out,
              "a placeholder key is caught")
        check(stats(port)["total"] == before,
              f"... before any request reached the provider ({before} before and after)")

        unset = P.config(port, {"gpt-4.1": {}},
                         endpoint={"api_key_env": "UNSET_KEY"},
                         name="unset.conf")
        rc, out = online(unset, env)
        print(out)
        check(rc == 2 and "endpoint local: environment variable UNSET_KEY is "
              "not set" in out, "an unset key variable is named")
        check(out.count("endpoint local:") == 1, "... once")

        outs = [online(c, env)[1] for c in (good, typo, bad, ph, unset)]
        check(all(KEY not in o and "sk-wrong" not in o and "YOUR_API_KEY"
                  not in o for o in outs), "no key is ever printed")


if __name__ == "__main__":
    main(test)
