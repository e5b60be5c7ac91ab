"""`benchmark peer`: the model file it measures, and a bad one refused before any video is read."""

from types import SimpleNamespace

import numpy as np
from typer.testing import CliRunner

import pseudopulse.api
from pseudopulse.bench.peer import benchmark_peer
from pseudopulse.cli import app


def test_model_file_reaches_the_model_only(tmp_path, monkeypatch):
    t = np.arange(0, 20, 1 / 30.0)
    gt = SimpleNamespace(timestamps_s=t, ppg=np.sin(2 * np.pi * 1.2 * t), hr_bpm=None)
    recs = [SimpleNamespace(name="s1", video_path=tmp_path / "s1.avi", ground_truth=lambda: gt)]
    calls = []

    def fake_predict(path, method, model=None):
        calls.append((method, model))
        return SimpleNamespace(hr_bpm=72.0 if method == "model" else 60.0, duration_s=20.0)

    monkeypatch.setattr(pseudopulse.api, "predict", fake_predict)
    out = benchmark_peer(SimpleNamespace(root=tmp_path, recordings=lambda: recs), ["model", "pos"], None, model="m.pt")
    assert calls == [("model", "m.pt"), ("pos", None)]
    assert abs(out["summary"]["model"]["mae"]) < 0.5 and abs(out["summary"]["pos"]["mae"] - 12.0) < 0.5


def test_cli_refuses_a_bad_model_file_up_front(tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("not a model")
    result = CliRunner().invoke(app, ["benchmark", "peer", "--root", str(tmp_path / "nope"), "-m", "model", "--model", str(bad)])
    assert result.exit_code == 2
    assert "not a readable pseudopulse model file" in result.output
