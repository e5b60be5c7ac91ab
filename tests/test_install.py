"""Install anywhere: the runtime dependencies resolve to wheels on new Pythons; nothing imports mediapipe or OpenCV.

The resolution checks ask PyPI (``pip install --dry-run``, nothing is downloaded but metadata) and skip when PyPI
cannot be reached. They ignore this machine's pip configuration (local wheel folders and mirrors), so they say
what a user on PyPI alone gets.

torch: the Makefile installs the CPU build of ``torch==2.13.0`` first (PyTorch's CPU index, which is not reachable
here). PyPI's Linux torch wheel is the CUDA build, whose extra requirements (``nvidia-*``, ``cuda-*``, ``triton``)
the CPU build does not have. So torch 2.13.0 is resolved from PyPI without its dependencies (a wheel for the target
Python exists), and its remaining requirements — those the CPU build has too — are resolved with the project's
other dependencies; that resolution must not pull torch or any CUDA package by itself.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPI = "https://pypi.org/simple"
TORCH_PIN = "2.13.0"  # what the Makefile installs (CPU build)
TARGET_PYTHONS = ("3.13", "3.14")
CUDA_ONLY = re.compile(r"^(nvidia-|cuda-|triton$)")  # requirements only PyPI's CUDA build of torch has
PIP_TIMEOUT_S = 50


def _project() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


# ---------------------------------------------------------------------------------------- offline checks
def test_declared_dependencies_allow_new_pythons_and_numpy_2():
    p = _project()
    deps = {_name(d): d for d in p["dependencies"]}
    assert "mediapipe" not in deps
    assert not [d for d in deps if d.startswith("opencv")], "OpenCV is no runtime dependency (face/warp.py replaces it)"
    assert "<2" not in deps["numpy"].replace(" ", ""), deps["numpy"]
    assert p["requires-python"].replace(" ", "") == ">=3.10"
    for v in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        assert f"Programming Language :: Python :: {v}" in p["classifiers"]
    from packaging.requirements import Requirement

    assert TORCH_PIN in Requirement(deps["torch"]).specifier, "the Makefile's torch pin must satisfy the torch range"


def test_no_mediapipe_import_in_the_package_source():
    """Only the detector benchmark may import mediapipe, inside a function, guarded by ImportError."""
    offenders = []
    for f in sorted((ROOT / "src").rglob("*.py")):
        tree = ast.parse(f.read_text(), str(f))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "mediapipe" or n.startswith("mediapipe.") for n in names):
                offenders.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert all(o.startswith("src/pseudopulse/bench/detectors.py:") for o in offenders), offenders


def test_no_cv2_import_in_the_package_source():
    """No module under src/ imports OpenCV (cv2), not even lazily inside a function."""
    offenders = []
    for f in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(n == "cv2" or n.startswith("cv2.") for n in names):
                offenders.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_package_imports_and_finds_a_face_with_mediapipe_blocked():
    """Every module imports, and the default detector works, in an interpreter where ``import mediapipe`` and
    ``import cv2`` fail."""
    code = r"""
import importlib, pkgutil, sys
sys.modules["mediapipe"] = sys.modules["cv2"] = None  # any import of mediapipe or cv2 raises ImportError
import pseudopulse
for m in pkgutil.walk_packages(pseudopulse.__path__, "pseudopulse."):
    if not m.name.endswith("__main__"):  # runs the CLI
        importlib.import_module(m.name)
from pseudopulse.face import FaceMeshDetector
from pseudopulse.synth import SynthConfig
from pseudopulse.synth.render import iter_frames
rgb = next(iter_frames(SynthConfig(duration_s=0.2, width=320, height=240)))
with FaceMeshDetector(tracking=False) as det:
    lm = det.detect(rgb)
assert lm is not None and lm.shape == (468, 2), lm
print("ok", det.name)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("ok"), r.stderr[-3000:]


# ---------------------------------------------------------------------------------------- PyPI resolution
@pytest.fixture(scope="module")
def pypi():
    try:
        urllib.request.urlopen(f"{PYPI}/pip/", timeout=5).close()
    except Exception as e:  # offline, DNS, proxy, TLS: nothing to check against
        pytest.skip(f"PyPI unreachable ({type(e).__name__}: {e})")
    try:
        import pip  # noqa: F401
    except ImportError:
        pytest.skip("pip is not installed in this interpreter")
    return PYPI


def _pip_env() -> dict:
    """This machine's pip settings minus everything that adds packages beyond PyPI (config files, find-links,
    extra indexes, constraints); certificates and proxies stay."""
    env = {k: v for k, v in os.environ.items()
           if not re.match(r"PIP_(CONFIG_FILE|FIND_LINKS|INDEX_URL|EXTRA_INDEX_URL|CONSTRAINT|REQUIREMENT|NO_INDEX)", k)}
    env["PIP_CONFIG_FILE"] = os.devnull  # pip reads no configuration file at all
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _dry_run(python: str, reqs: list[str], *, no_deps: bool, tmp: Path) -> list[dict]:
    """``pip install --dry-run`` of ``reqs`` for CPython ``python`` (this platform), wheels only, from PyPI alone;
    the install report's entries (name, version, wheel URL, requires_dist)."""
    report = tmp / f"report-{python}-{'nodeps' if no_deps else 'deps'}.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--only-binary=:all:",
           "--python-version", python, "--index-url", PYPI, "--report", str(report)]
    cmd += ["--no-deps"] if no_deps else []
    r = subprocess.run(cmd + reqs, capture_output=True, text=True, env=_pip_env(), timeout=PIP_TIMEOUT_S)
    assert r.returncode == 0, f"Python {python}: {' '.join(reqs)} does not resolve to wheels on PyPI:\n{r.stderr[-3000:]}"
    out = []
    for item in json.loads(report.read_text())["install"]:
        md = item["metadata"]
        out.append({"name": md["name"].lower().replace("_", "-"), "version": md["version"],
                    "url": item["download_info"]["url"], "requires_dist": md.get("requires_dist") or []})
    return out


@pytest.mark.network
def test_runtime_dependencies_resolve_to_wheels_on_python_313_and_314(pypi, tmp_path):
    # with the optional litert extra (the face networks on LiteRT): it too must have wheels on the new Pythons
    deps = [d for d in _project()["dependencies"] if _name(d) != "torch"] + _project()["optional-dependencies"]["litert"]
    with ThreadPoolExecutor(len(TARGET_PYTHONS)) as ex:
        torch_items = dict(zip(TARGET_PYTHONS, ex.map(
            lambda v: _dry_run(v, [f"torch=={TORCH_PIN}"], no_deps=True, tmp=tmp_path), TARGET_PYTHONS)))
    cpu_torch_reqs = {}
    for v, items in torch_items.items():
        (t,) = items
        tag = "cp" + v.replace(".", "")
        assert t["name"] == "torch" and t["version"] == TORCH_PIN and f"-{tag}-" in t["url"], (v, t["url"])
        cpu_torch_reqs[v] = [r for r in t["requires_dist"] if "extra ==" not in r and not CUDA_ONLY.match(_name(r))]
        assert {"filelock", "sympy", "networkx"} <= {_name(r) for r in cpu_torch_reqs[v]}, cpu_torch_reqs[v]
    with ThreadPoolExecutor(len(TARGET_PYTHONS)) as ex:
        resolved = dict(zip(TARGET_PYTHONS, ex.map(
            lambda v: _dry_run(v, deps + cpu_torch_reqs[v], no_deps=False, tmp=tmp_path), TARGET_PYTHONS)))
    for v, items in resolved.items():
        names = {i["name"]: i["version"] for i in items}
        assert {"numpy", "scipy", "av", "matplotlib", "pillow"} <= set(names), (v, names)
        assert sys.platform == "darwin" or "ai-edge-litert" in names, (v, names)  # the extra has no macOS wheels
        bad = sorted(n for n in names if n in ("torch", "mediapipe") or n.startswith("opencv") or CUDA_ONLY.match(n))
        assert not bad, f"Python {v}: the non-torch dependencies pull {bad}"
        assert int(names["numpy"].split(".")[0]) >= 2, f"Python {v}: numpy {names['numpy']} (numpy 2 expected)"
        assert all(i["url"].endswith(".whl") for i in items), [i["url"] for i in items if not i["url"].endswith(".whl")]
