"""The product core stays apart from the research lab: predicting, by the API or the CLI, with a training-free
method or a model file, and streaming, import nothing from training, evaluation, datasets, generation or benchmarks."""

import json
import subprocess
import sys

import pytest

from pseudopulse.synth import SynthConfig, render

LAB = ("pseudopulse.train", "pseudopulse.eval", "pseudopulse.datasets", "pseudopulse.synth", "pseudopulse.bench",
       "pseudopulse.scale")

PROBE = r"""
import json, sys
{body}
lab = sorted(m for m in sys.modules if m.startswith({lab!r}))
print(json.dumps(lab))
"""


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("boundary") / "face.mp4"
    render(SynthConfig(hr_bpm=75.0, duration_s=6.0, fps=30.0, width=320, height=240, seed=3, crf=10), path)
    return path


def lab_modules_after(body: str) -> list[str]:
    code = PROBE.format(body=body, lab=LAB)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("method", ["pos", "2sr", "model"])
def test_api_predict_imports_no_lab_module(face_clip, method):
    body = f"import pseudopulse\nr = pseudopulse.predict({str(face_clip)!r}, method={method!r})\nassert r.hr_bpm > 0"
    assert lab_modules_after(body) == []


def test_cli_predict_imports_no_lab_module(face_clip):
    body = (
        "from typer.testing import CliRunner\nfrom pseudopulse.cli import app\n"
        f"res = CliRunner().invoke(app, ['predict', {str(face_clip)!r}, '--json', '--no-progress'])\n"
        "assert res.exit_code == 0, res.output"
    )
    assert lab_modules_after(body) == []


def test_stream_imports_no_lab_module(face_clip):
    body = (f"import pseudopulse\nups = list(pseudopulse.stream({str(face_clip)!r}, pace='fast'))\n"
            "assert ups and ups[-1].status == 'warming up'")  # a 6-s clip: no full window yet
    assert lab_modules_after(body) == []


def test_loading_a_model_file_imports_no_training_code(tmp_path):
    from pseudopulse.model import STMapNet
    from pseudopulse.model.file import export_model

    export_model(tmp_path / "m.pt", STMapNet(), fs=30.0, clip_s=10.0)
    body = f"from pseudopulse.predictors import resolve_predictor\nresolve_predictor('model', {str(tmp_path / 'm.pt')!r})"
    assert lab_modules_after(body) == []


def test_probe_can_fail():
    """The probe sees a lab import when there is one (so the tests above can fail)."""
    assert "pseudopulse.train.config" in lab_modules_after("import pseudopulse.train.config")
