"""Evaluation: metrics against hand-computed values, clips, the runner (workers, failures), tables, figures,
`pseudopulse evaluate` end to end on semi-synthetic UBFC-layout data, compression robustness."""

import json
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from fixtures_layouts import vfr_times, write_pulse_video, write_ubfc_subject
from pseudopulse.cli import app
from pseudopulse.datasets import get_dataset
from pseudopulse.errors import ModelError, SignalError
from pseudopulse.eval.clips import clip_bounds
from pseudopulse.eval.metrics import hr_metrics, paired_mae_difference
from pseudopulse.predictors import resolve_predictor
from pseudopulse.eval.robustness import reencode, robustness, seed_offset_s
from pseudopulse.eval.runner import EvalConfig, evaluate
from pseudopulse.eval.tables import to_markdown, write_tables
from pseudopulse.io import open_video

FULL = EvalConfig(roi="full-frame", keep_pseudo=False)


# ------------------------------------------------------------------------------------------------ metrics
def test_metrics_match_hand_computed_values():
    m = hr_metrics([70, 80, 90, 100], [72, 78, 95, 100], snr_db=[1.0, 3.0, np.inf, 2.0])
    # errors -2, +2, -5, 0
    assert m.n == 4
    assert m.mae == pytest.approx(9 / 4)
    assert m.rmse == pytest.approx(np.sqrt(33 / 4))
    assert m.mean_error == pytest.approx(-1.25)
    assert m.std == pytest.approx(np.sqrt(33 / 4 - 1.25**2))  # SD of the signed error, ddof 0
    assert m.mape == pytest.approx(100 * (2 / 72 + 2 / 78 + 5 / 95 + 0) / 4)
    assert m.pearson_r == pytest.approx(505 / np.sqrt(500 * 536.75))
    assert m.snr_db == pytest.approx(2.0)  # mean of the finite SNRs
    assert m.rmse**2 == pytest.approx(m.std**2 + m.mean_error**2)


def test_metrics_reject_bad_input():
    with pytest.raises(SignalError, match="no clips to score"):
        hr_metrics([], [])
    with pytest.raises(SignalError, match="differ in length"):
        hr_metrics([1, 2], [1])
    assert np.isnan(hr_metrics([70], [72]).pearson_r)


def test_paired_mae_difference_tells_better_from_equal_predictors():
    rng = np.random.default_rng(3)
    rec = np.repeat(np.arange(40), 3)  # 40 recordings of 3 clips
    good, bad = rng.normal(0, 2, 120), rng.normal(0, 8, 120)
    d = paired_mae_difference(good, bad, rec)
    assert d.diff == pytest.approx(np.abs(good).mean() - np.abs(bad).mean())
    assert d.low < d.diff < d.high < 0  # clearly better: the whole interval is below 0
    assert (d.n_clips, d.n_groups) == (120, 40)
    other = rng.normal(0, 2, 120)  # same error distribution: the interval straddles 0
    same = paired_mae_difference(good, other, rec)
    assert same.low < 0 < same.high
    assert "95 % CI" in str(same)


def test_paired_mae_difference_resamples_whole_recordings():
    # one recording of 20 clips fails for predictor a only: clustered, that is one draw of 11, not 20 of 30
    a = np.r_[np.full(20, 40.0), np.zeros(10)]
    b = np.zeros(30)
    rec = np.r_[np.zeros(20), np.arange(1, 11)]
    clustered = paired_mae_difference(a, b, rec)
    per_clip = paired_mae_difference(a, b)
    assert clustered.diff == per_clip.diff == pytest.approx(800 / 30)
    assert clustered.low < 1.0 < per_clip.low  # the recording may be left out of a resample; the clips never all are
    with pytest.raises(SignalError, match="same clips"):
        paired_mae_difference(a, b[:-1])
    with pytest.raises(SignalError, match="at least 2 recordings"):
        paired_mae_difference(a, b, np.zeros(30))
    with pytest.raises(SignalError, match="label every clip"):
        paired_mae_difference(a, b, np.zeros(29))


def test_clip_bounds_non_overlapping_and_offset():
    assert clip_bounds(25 * 30, fs=30, clip_s=10) == [(0, 300), (300, 600)]
    assert clip_bounds(25 * 25, fs=25, clip_s=5) == [(i, i + 125) for i in range(0, 625, 125)]
    assert clip_bounds(25 * 30, fs=30, clip_s=10, offset_s=4.0) == [(120, 420), (420, 720)]
    assert clip_bounds(200, fs=30, clip_s=10) == []


def test_unknown_predictor_lists_valid_names():
    with pytest.raises(ModelError, match="valid names: .*pos.*2sr.*model"):
        resolve_predictor("posx")


# ------------------------------------------------------------------------------------------------ runner
@pytest.fixture(scope="module")
def tiny_ubfc(tmp_path_factory):
    """Four UBFC-layout subjects with uniform pulsing frames (full-frame ROI), one with a short GT."""
    root = tmp_path_factory.mktemp("tiny_ubfc")
    for i, hr in enumerate((60.0, 75.0, 90.0, 105.0)):
        write_ubfc_subject(root, f"subject{i + 1}", hr_bpm=hr, duration_s=21.0, t0_s=5.0 * i, seed=i,
                           gt_len_s=12.0 if i == 3 else None)  # fmt: skip
    return root


def test_runner_round_trip_with_workers_and_a_broken_video(tiny_ubfc, tmp_path):
    root = tmp_path / "ds"
    import shutil

    shutil.copytree(tiny_ubfc, root)
    (root / "subject2" / "vid.avi").write_bytes(b"RIFF....not a video")
    ds = get_dataset("ubfc", root)
    events = []
    res = evaluate(ds, "green", config=FULL, workers=2, progress=events.append)
    assert res.failures and res.failures[0][0] == "subject2" and "VideoError" in res.failures[0][1]
    by_rec = {}
    for c in res.clips:
        by_rec.setdefault(c.recording, []).append(c)
    assert set(by_rec) == {"subject1", "subject3", "subject4"}
    assert len(by_rec["subject1"]) == 2 and len(by_rec["subject4"]) == 1  # GT of 12 s: cut to the overlap
    # UBFC frame times come from the GT file: frames past its end have no time and are cut, with a warning
    assert any("360 timestamps given for a video of 630 frames" in w for w in res.warnings), res.warnings
    assert not any("lost" in w for w in res.warnings), res.warnings
    for c, hr in ((by_rec["subject1"][0], 60.0), (by_rec["subject3"][1], 90.0)):
        assert abs(c.hr_pred_bpm - hr) < 1.5 and abs(c.hr_true_bpm - hr) < 1.0
    assert events[-1].recordings_done == 4 and events[-1].failed == 1 and events[-1].clips_done == 5
    assert events[-1].frames_done == 2 * 630 + 360  # subject4: only the frames its GT file times


def test_per_clip_prediction_and_tables(tiny_ubfc, tmp_path):
    ds = get_dataset("ubfc", tiny_ubfc)
    res = evaluate(ds, "pos", recordings=ds.recordings()[:2], config=EvalConfig(roi="full-frame", per_clip=True), workers=1)
    assert [round(c.hr_true_bpm) for c in res.clips] == [60, 60, 75, 75]
    assert all(abs(c.error_bpm) < 1.5 for c in res.clips)
    md = to_markdown(res)
    assert "| pos | ours (measured) |" in md
    assert "| Li & Yin 2023 | paper (published) | — | 0.48 | 0.64 | 0.998 |" in md
    assert "| POS | paper (cited baseline) | — | 4.05 | 8.75 | 0.780 |" in md
    paths = write_tables(res, tmp_path)
    d = json.loads(paths["json"].read_text())
    assert set(d["metrics"]) >= {"mae", "rmse", "pearson_r", "std", "mape"}
    assert len(d["clips"]) == 4 and d["published"]["rows"][0]["mae"] == 0.48


# ------------------------------------------------------------------------------------------------ CLI end to end
def _synth_ubfc(root: Path, n: int, duration_s: float = 10.5) -> dict:
    from pseudopulse.synth import SynthConfig
    from pseudopulse.synth import write_ubfc_subject as synth_subject

    truth = {}
    for i in range(n):
        hr = 55.0 + (70.0 * i) / max(1, n - 1)
        cfg = SynthConfig(hr_bpm=hr, duration_s=duration_s, fps=30, width=160, height=120, seed=i, hrv_sdnn_ms=5.0)
        synth_subject(root, f"subject{i + 30}", cfg)
        truth[f"subject{i + 30}"] = hr
    return truth


def _check_cli_run(root: Path, out: Path, truth: dict, extra=()):
    result = CliRunner().invoke(app, ["evaluate", "--dataset", str(root), "--method", "pos", "--out", str(out),
                                      "--cache-dir", str(out / "cache"), "--no-progress", *extra])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ours (measured)" in result.output and "paper (published)" in result.output
    for f in ("results.md", "results.csv", "clips.csv", "results.json", "split.json",
              "figures/waves.png", "figures/bland_altman.png", "figures/scatter.png"):  # fmt: skip
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    d = json.loads((out / "results.json").read_text())
    pred = np.array([c["hr_pred_bpm"] for c in d["clips"]])
    true = np.array([c["hr_true_bpm"] for c in d["clips"]])
    e = pred - true
    assert len(d["clips"]) == len(truth) and not d["failures"]
    assert d["metrics"]["mae"] == pytest.approx(np.mean(np.abs(e)))
    assert d["metrics"]["rmse"] == pytest.approx(np.sqrt(np.mean(e**2)))
    assert d["metrics"]["std"] == pytest.approx(np.std(e))
    assert d["metrics"]["mape"] == pytest.approx(100 * np.mean(np.abs(e) / true))
    if len(truth) > 2:
        assert d["metrics"]["pearson_r"] == pytest.approx(np.corrcoef(pred, true)[0, 1])
    for c in d["clips"]:  # GT PPG HR is the synthetic truth; POS on a clean face recovers it
        assert abs(c["hr_true_bpm"] - truth[c["recording"]]) < 2.0
        assert abs(c["hr_pred_bpm"] - truth[c["recording"]]) < 3.0
    return d


def test_cli_evaluate_semisynthetic_small(tmp_path):
    root = tmp_path / "ubfc_like"
    truth = _synth_ubfc(root, 3)
    _check_cli_run(root, tmp_path / "out", truth, extra=["--workers", "1"])


@pytest.mark.slow
def test_cli_evaluate_semisynthetic_20_subjects(tmp_path):
    root = tmp_path / "ubfc_like"
    truth = _synth_ubfc(root, 20)
    d = _check_cli_run(root, tmp_path / "out", truth)
    assert d["metrics"]["pearson_r"] > 0.99 and d["metrics"]["mae"] < 1.5


def test_cli_evaluate_reports_bad_dataset_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--dataset", "ubfc", "--root", str(tmp_path / "nope"), "--no-progress"])
    assert result.exit_code == 2
    assert "dataset root folder does not exist" in result.output


# ------------------------------------------------------------------------------------------------ robustness
def test_reencode_keeps_frames_and_vfr_timestamps(tmp_path):
    t = vfr_times(3.0, slow_s=1.5)
    src = write_pulse_video(tmp_path / "v.mkv", t, 72, container_times=True, size=(32, 24))
    sizes = []
    for crf in (6, 30):
        dst = reencode(src, tmp_path / f"crf{crf}.mp4", crf=crf, preset="ultrafast")
        with open_video(dst) as r:
            got = np.array([f.t_s for f in r])
        np.testing.assert_allclose(got, t - t[0], atol=2e-3)
        with av.open(str(dst)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
        sizes.append(dst.stat().st_size)
    assert sizes[0] > sizes[1]  # lower CRF = higher quality = more bytes
    assert seed_offset_s(0, 10.0) == 0.0
    assert seed_offset_s(3, 10.0) == seed_offset_s(3, 10.0) != seed_offset_s(4, 10.0)
    assert 0.0 <= seed_offset_s(7, 10.0) < 10.0


def test_robustness_curve_over_crfs_and_seeds(tiny_ubfc, tmp_path):
    from pseudopulse.eval.figures import plot_robustness

    ds = get_dataset("ubfc", tiny_ubfc)
    recs = ds.recordings()[:2]
    res = robustness(ds, "green", recs, crfs=[10, 40], seeds=2, work_dir=tmp_path / "videos",
                     config=EvalConfig(roi="full-frame", cache_dir=str(tmp_path / "cache")), workers=1, preset="ultrafast")  # fmt: skip
    assert res.rmse.shape == (2, 2) and np.all(np.isfinite(res.rmse))
    assert (tmp_path / "videos" / "crf40" / "subject1.mp4").is_file()
    assert res.rmse_mean[0] < 2.0  # mild compression keeps the pulse
    # seed 1 shifts the clip grid: its clips start later than seed 0's
    assert res.results[(10, 1)].clips[0].start_s > res.results[(10, 0)].clips[0].start_s
    png = plot_robustness(res.crfs, res.rmse_mean, res.rmse_std, tmp_path / "rob.png", label="green")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_any_callable_plugs_in_as_predictor(tiny_ubfc):
    from pseudopulse.predictors import Predictor

    ds = get_dataset("ubfc", tiny_ubfc)
    # a stand-in for a trained network: the green trace of each clip (per-clip, like the paper's model)
    fake = Predictor("fake-model", lambda st: st.skin_mean[:, 1].astype(float), per_clip=True, kind="model")
    res = evaluate(ds, fake, recordings=ds.recordings()[2:3], config=FULL, workers=1)
    assert res.method == "fake-model" and len(res.clips) == 2
    assert all(abs(c.error_bpm) < 1.5 for c in res.clips)
    bad = Predictor("short", lambda st: np.zeros(3))
    res = evaluate(ds, bad, recordings=ds.recordings()[:1], config=FULL, workers=1)
    assert res.failures[0][0] == "subject1" and res.metrics is None
    assert "ModelError" in res.failures[0][1] and "returned shape (3,)" in res.failures[0][1]


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="nope.pt"):
        resolve_predictor("model", str(tmp_path / "nope.pt"))


def test_cli_robustness_parses_crf_list(tiny_ubfc, tmp_path):
    out = tmp_path / "rob"
    result = CliRunner().invoke(app, ["robustness", "--dataset", str(tiny_ubfc), "--method", "green", "--roi", "full-frame",
                                      "--crf", "8", "30", "--seeds", "2", "--limit", "1", "--preset", "ultrafast",
                                      "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--workers", "1",
                                      "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    d = json.loads((out / "robustness.json").read_text())
    assert d["crfs"] == [8, 30] and d["seeds"] == [0, 1] and len(d["rmse"]) == 2
    assert (out / "figures" / "robustness.png").is_file() and "| 8 |" in result.output
