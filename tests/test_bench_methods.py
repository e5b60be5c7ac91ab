"""`benchmark methods` scores through `pseudopulse.eval`: the same per-clip HR as `evaluate` on the same recording,
the same whole-recording read-out as `predict`, and no default data path (a missing --root is one clear line)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fixtures_layouts import write_ubfc_subject
from pseudopulse.api import predict_stmap
from pseudopulse.bench.methods import MethodsBenchConfig, run_methods_benchmark, write_results
from pseudopulse.cli import app
from pseudopulse.datasets import get_dataset
from pseudopulse.eval.recording import EvalConfig, load_stmap
from pseudopulse.eval.runner import evaluate
from pseudopulse.eval.whole import recording_hr, true_recording_hr
from pseudopulse.predictors import resolve_predictor

FULL = EvalConfig(roi="full-frame", keep_pseudo=False)


@pytest.fixture(scope="module")
def real_root(tmp_path_factory):
    """A `--root` folder with a tiny UBFC-rPPG copy: three subjects of uniform pulsing frames (full-frame ROI),
    the last with a GT file that stops after 12 s."""
    root = tmp_path_factory.mktemp("real")
    for i, hr in enumerate((60.0, 84.0, 105.0)):
        write_ubfc_subject(root / "ubfc_rppg_h264", f"subject{i + 1}", hr_bpm=hr, duration_s=21.0, t0_s=3.0 * i, seed=i,
                           gt_len_s=12.0 if i == 2 else None)  # fmt: skip
    return root


def test_benchmark_clips_are_evaluate_clips(real_root, tmp_path):
    cfg = MethodsBenchConfig(out_dir=tmp_path, synth_n=0, real_root=real_root, methods=("pos", "green"), roi="full-frame")
    res = run_methods_benchmark(cfg)
    ds = get_dataset("ubfc", real_root / "ubfc_rppg_h264")
    for method in ("pos", "green"):
        ev = evaluate(ds, method, config=FULL, workers=1)
        per_rec = {}
        for c in ev.clips:
            per_rec.setdefault(c.recording, []).append(c)
        bench = {r["recording"]: r for r in res["recordings"]}
        assert set(bench) == set(per_rec) == {"subject1", "subject2", "subject3"}
        for name, clips in per_rec.items():
            assert bench[name]["pred"][method]["clips_bpm"] == [round(c.hr_pred_bpm, 2) for c in clips]
            assert bench[name]["gt_clips_bpm"] == [round(c.hr_true_bpm, 2) for c in clips]
        row = res["tables"]["UBFC-rPPG-clips"]["methods"][method]
        assert row["n"] == ev.metrics.n == 5  # 2 + 2 + 1 (the short GT)
        assert row["mae"] == ev.metrics.mae and row["rmse"] == ev.metrics.rmse and row["pearson_r"] == ev.metrics.pearson_r
    assert res["tables"]["UBFC-rPPG-whole"]["methods"]["pos"]["n"] == 3
    assert res["config"]["real_root"] == str(real_root)
    assert any("bias_eval_rppg skipped" in n for n in res["notes"])
    md, js = write_results(res, tmp_path)
    assert "UBFC-rPPG, 10-s clips" in md.read_text() and json.loads(js.read_text())["benchmark"] == "methods"


def test_whole_recording_readout_is_the_products(real_root):
    rec = get_dataset("ubfc", real_root / "ubfc_rppg_h264").recording("subject2")
    stmap = load_stmap(rec, FULL)
    for method in ("pos", "chrom"):
        assert recording_hr(stmap, resolve_predictor(method)).hr_bpm == predict_stmap(stmap, method).hr_bpm
    assert abs(true_recording_hr(rec.ground_truth()) - 84.0) < 1.0


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_cli_needs_an_explicit_root(tmp_path):
    run = CliRunner().invoke
    r = run(app, ["benchmark", "methods", "--synth-n", "0", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--root DIR" in r.output and "--no-real" in r.output
    assert len(_error_lines(r.output)) == 1
    r = run(app, ["benchmark", "methods", "--synth-n", "1", "--root", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "nope: real-data folder does not exist" in r.output
    assert len(_error_lines(r.output)) == 1 and not (tmp_path / "cache").exists()  # refused before any rendering
    (tmp_path / "empty").mkdir()
    r = run(app, ["benchmark", "methods", "--synth-n", "0", "--root", str(tmp_path / "empty"), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "holds neither ubfc_rppg_h264/ nor bias_eval_rppg/" in r.output


def test_true_recording_hr_of_hr_only_ground_truth():
    from pseudopulse.datasets import GroundTruth

    gt = GroundTruth(timestamps_s=np.arange(10.0), hr_bpm=np.full(10, 70.0), source="hr.csv")
    assert true_recording_hr(gt) == 70.0
