"""The experiment scripts are lab code on top of `pseudopulse.eval`: they import without path tricks and run from
the repo root; their shared scoring helpers live in `pseudopulse.eval.compare`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*(REPO / "experiments").glob("*.py"), *(REPO / "experiments" / "live").glob("*.py")])


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_runs_help_from_the_repo_root(script):
    assert "sys.path" not in script.read_text(), f"{script.name}: import shared helpers from pseudopulse.eval.compare"
    proc = _run(str(script.relative_to(REPO)), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


def test_a_folder_that_is_not_a_suite_is_a_usage_error(tmp_path):
    proc = _run("experiments/breakdown_suites.py", "--suite", str(tmp_path))
    assert proc.returncode == 2
    assert f"{tmp_path} is not a UBFC-layout folder" in proc.stderr


def test_crossval_needs_an_explicit_ubfc_folder(tmp_path):
    proc = _run("experiments/crossval_ubfc.py", "--fold", "m.pt", "s.json", "--ubfc", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "nope: no such folder" in proc.stderr
