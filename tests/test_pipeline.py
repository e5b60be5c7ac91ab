"""The whole chain — decode -> face -> STMap -> method -> HR — on semi-synthetic clips with a known pulse,
and the CLI front door."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pseudopulse import predict
from pseudopulse.errors import PseudopulseError
from pseudopulse.synth import SynthConfig, render


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    out = {}
    for hr in (54.0, 72.0, 110.0):
        cfg = SynthConfig(hr_bpm=hr, duration_s=10.0, fps=30.0, width=640, height=480, seed=int(hr), crf=10)
        out[hr] = (render(cfg, root / f"hr{int(hr)}.mp4"), root / f"hr{int(hr)}.mp4")
    return out


@pytest.mark.parametrize("hr", [54.0, 72.0, 110.0])
def test_whole_chain_recovers_known_rate(clips, hr):
    truth, path = clips[hr]
    result = predict(path, method="pos")
    assert result.hr_bpm == pytest.approx(truth.mean_hr_bpm, abs=2.0)
    assert result.face_lost_s == 0.0
    assert result.n_frames == 300
    assert result.fps == pytest.approx(30.0, abs=0.01)
    assert np.isfinite(result.snr_db)


def test_predict_json_prints_exactly_one_object(clips, tmp_path):
    truth, path = clips[72.0]
    proc = subprocess.run(
        [sys.executable, "-m", "pseudopulse", "predict", str(path), "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(proc.stdout)  # the whole stdout is one JSON object
    for key in ("hr_bpm", "snr_db", "method", "fps", "n_frames", "duration_s", "face_lost_s"):
        assert key in doc
    assert doc["hr_bpm"] == pytest.approx(truth.mean_hr_bpm, abs=2.0)
    saved = json.loads((tmp_path / "hr72.json").read_text())
    assert len(saved["wave"]) == len(saved["timestamps_s"]) == doc["n_frames"]
    table = np.loadtxt(tmp_path / "hr72.csv", delimiter=",", skiprows=1)
    assert table.shape == (doc["n_frames"], 2)
    assert (tmp_path / "hr72.png").stat().st_size > 10_000


def test_cli_reports_bad_input_in_one_line(tmp_path):
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("not a video")
    proc = subprocess.run([sys.executable, "-m", "pseudopulse", "predict", str(bogus)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "bogus.mp4" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_method_is_refused_before_decoding(clips):
    _, path = clips[72.0]
    with pytest.raises((PseudopulseError, ValueError), match="pos"):
        predict(path, method="nonsense")


@pytest.mark.parametrize("hr", [54.0, 110.0])
def test_default_predictor_is_the_shipped_label_free_model(clips, hr):
    truth, path = clips[hr]
    result = predict(path)
    assert result.method == "model"
    assert result.hr_bpm == pytest.approx(truth.mean_hr_bpm, abs=2.0)


def test_bad_checkpoint_is_refused_before_decoding(clips, tmp_path):
    _, path = clips[72.0]
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(PseudopulseError, match="model.pt"):
        predict(path, method="model", model=bad)


def test_synth_command_writes_a_ubfc_layout_test_set_with_its_manifest(tmp_path):
    from pseudopulse.datasets import get_dataset
    from pseudopulse.signal import estimate_hr

    out = tmp_path / "synth"
    cmd = [sys.executable, "-m", "pseudopulse", "synth", str(out), "--n", "2", "--seed", "3", "--duration-s", "8",
           "--width", "160", "--height", "120"]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    manifest = json.loads((out / "suite.json").read_text())
    assert manifest["seed"] == 3 and [c["subject"] for c in manifest["clips"]] == ["subject1", "subject2"]
    recs = get_dataset("ubfc", out).recordings()
    assert [r.name for r in recs] == ["subject1", "subject2"]
    for rec, clip in zip(recs, manifest["clips"]):
        gt = rec.ground_truth()
        fs = (len(gt.timestamps_s) - 1) / gt.timestamps_s[-1]
        assert estimate_hr(gt.ppg, fs).hr_bpm == pytest.approx(clip["hr_bpm"], abs=3.0)
    proc = subprocess.run(cmd[:4] + ["--n", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["predict", "x.mp4", "--min-confidence", "2"], ["predict", "--bogus", "x"], ["predict"]])
def test_a_usage_error_is_one_line_and_exit_2(args):
    proc = subprocess.run([sys.executable, "-m", "pseudopulse", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pseudopulse predict:" in lines[0] and "--help" in lines[0]
