"""`benchmark peer`: the model file it measures, the eval read-out it uses, and a bad one refused before any video
is read."""

from types import SimpleNamespace

import numpy as np
from typer.testing import CliRunner

import pseudopulse.bench.peer as peer
from pseudopulse.cli import app
from pseudopulse.datasets import GroundTruth


def test_model_file_reaches_the_model_only(tmp_path, monkeypatch):
    t = np.arange(0, 20, 1 / 30.0)
    gt = GroundTruth(timestamps_s=t, ppg=np.sin(2 * np.pi * 1.2 * t), source="gt.txt")  # 72 bpm
    recs = [SimpleNamespace(name="s1", video_path=tmp_path / "s1.avi", ground_truth=lambda: gt)]
    resolved, read = [], []

    def fake_resolve(name, model=None):
        resolved.append((name, model))
        return SimpleNamespace(name=name)

    monkeypatch.setattr(peer, "resolve_predictor", fake_resolve)
    monkeypatch.setattr(peer, "load_stmap", lambda rec, config: SimpleNamespace(duration_s=20.0))
    monkeypatch.setattr(peer, "recording_hr", lambda stmap, pred: read.append(pred.name) or
                        SimpleNamespace(hr_bpm=72.0 if pred.name == "model" else 60.0))  # fmt: skip
    out = peer.benchmark_peer(SimpleNamespace(root=tmp_path, recordings=lambda: recs), ["model", "pos"], None, model="m.pt")
    assert resolved == [("model", "m.pt"), ("pos", None)] and read == ["model", "pos"]
    assert abs(out["summary"]["model"]["mae"]) < 0.5 and abs(out["summary"]["pos"]["mae"] - 12.0) < 0.5
    assert out["summary"]["pos"]["n"] == 1 and out["rows"][0]["duration_s"] == 20.0


def test_cli_refuses_a_bad_model_file_up_front(tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("not a model")
    result = CliRunner().invoke(app, ["benchmark", "peer", "--root", str(tmp_path / "nope"), "-m", "model", "--model", str(bad)])
    assert result.exit_code == 2
    assert "not a readable pseudopulse model file" in result.output


def test_cli_missing_root_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "peer", "--root", str(tmp_path / "nope"), "-m", "pos"])
    assert result.exit_code == 2
    assert "dataset root folder does not exist" in result.output
