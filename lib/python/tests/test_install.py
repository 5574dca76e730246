"""The binding installs with pip from the source tree, offline, with its C
extension (warmth._native) built by setuptools.

pip runs with --no-build-isolation --no-index (no PyPI: Debian's setuptools
builds it) on a copy of lib/python, since setuptools builds in the tree and
the source tree may be read-only (make distcheck).  The installed package,
alone on sys.path, must then read a table like the source tree's does.
"""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import header_path

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING = os.path.dirname(HERE)


def test_pip_install_offline(tmp_path, fill):
    src = tmp_path / "src"
    shutil.copytree(BINDING, src, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "tests"))
    os.chmod(src, 0o755)  # copied from a read-only tree: let pip build here
    for root, dirs, files in os.walk(src):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    target = tmp_path / "site"
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", PIP_NO_CACHE_DIR="1")
    env.pop("PYTHONPATH", None)
    # The copy is out of the source tree: tell setup.py where warmth.h is.
    env["WARMTH_INCLUDE"] = os.path.dirname(os.path.abspath(header_path()))
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
         "--no-index", "--no-deps", "--target", str(target), str(src)],
        env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"pip install failed:\n{r.stdout}{r.stderr}"
    assert (target / "warmth" / "table.py").is_file()
    assert (target / "warmth" / "py.typed").is_file()
    assert list(target.glob("warmth-0.1.0.dist-info"))
    assert list((target / "warmth").glob("_native*.so")), \
        "pip did not build the C extension (gcc and python3-dev installed?)"

    f = fill(["m1", "m2"], "--warm", "m1")
    probe = (
        "import sys, warmth\n"
        "assert warmth.__file__.startswith(sys.argv[1]), warmth.__file__\n"
        "t = warmth.Table(sys.argv[2], lazy=False)\n"
        "print(warmth.__version__, t.is_warm('m1'), t.is_warm('m2'),"
        " sorted(m.name for m in t), warmth.backend)\n")
    env["PYTHONPATH"] = str(target)
    r = subprocess.run([sys.executable, "-c", probe, str(target), f.name],
                       env=env, capture_output=True, text=True, timeout=30,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    want = ("ctypes" if os.environ.get("WARMTH_BACKEND") == "ctypes"
            else "native")
    assert r.stdout.split("\n")[0] == \
        f"0.1.0 True False ['m1', 'm2'] {want}"
