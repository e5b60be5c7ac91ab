"""Training-free rPPG methods: physiological round trips on synthetic skin-pixel recordings (no video needed).

The synthetic "camera" (``skin_pixels``) draws N skin pixels per frame whose colour is a skin tone
(R > G > B) darkened by blood along the pulse signature Pbv = (0.33, 0.77, 0.53) (green modulation ~1 %),
with per-pixel shading, optional common-mode illumination change, an optional white specular component whose
strength follows a motion signal, and sensor noise. Each frame gives the skin mean RGB (T, 3) the rgb methods
read and the correlation VᵀV/N (T, 3, 3) 2SR reads.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pseudopulse.errors import SignalError
from pseudopulse.methods import METHODS, get_method
from pseudopulse.signal import clean_wave, estimate_hr
from pseudopulse.stmap import STMap

PBV = np.array([0.33, 0.77, 0.53])
SKIN_RGB = np.array([185.0, 130.0, 105.0])
RGB_METHODS = [n for n, m in METHODS.items() if m.input == "rgb"]
ROBUST = ["pos", "chrom", "2sr"]


def blood_volume(t: np.ndarray, hr_bpm: float) -> np.ndarray:
    """Unit-amplitude PPG-like wave (fundamental + 2nd harmonic), positive = more blood."""
    ph = 2 * np.pi * hr_bpm / 60.0 * t
    return np.sin(ph) + 0.35 * np.sin(2 * ph - 0.9)


def skin_pixels(
    hr_bpm: float,
    *,
    fs: float,
    duration_s: float = 20.0,
    n_pixels: int = 150,
    seed: int = 0,
    illumination: float = 0.0,
    specular: float = 0.0,
    noise: float = 2.0,
    t: np.ndarray | None = None,
):
    """Synthetic recording -> (skin_mean (T, 3) 0..255, skin_corr (T, 3, 3) in [0, 1] units, bv (T,), t (T,)).

    ``illumination``: relative amplitude of a common-mode intensity change (slow drift + 0.4 Hz flicker + steps).
    ``specular``: strength (0..255 units) of a white specular reflection modulated by head motion at 1.5 Hz
    and 0.55 Hz (inside the heart-rate band). ``noise``: per-pixel sensor noise (0..255 units).
    """
    rng = np.random.default_rng(seed)
    if t is None:
        t = np.arange(int(round(duration_s * fs))) / fs
    bv = blood_volume(t, hr_bpm)
    amp = 0.011 / PBV[1] * PBV  # ~1.1 % green modulation per unit bv
    colour = SKIN_RGB[None, :] * (1.0 - amp[None, :] * bv[:, None])  # (T, 3)
    intensity = 1.0 + illumination * (
        0.6 * np.sin(2 * np.pi * 0.05 * t) + 0.4 * np.sin(2 * np.pi * 0.4 * t) + 0.5 * (t > t[len(t) // 2])
    )
    motion = np.sin(2 * np.pi * 1.5 * t + 0.3) + 0.8 * np.sin(2 * np.pi * 0.55 * t)
    shade = rng.uniform(0.75, 1.1, size=n_pixels)  # per-pixel shading
    tint = 1.0 + rng.normal(0.0, 0.03, size=(n_pixels, 3))  # per-pixel colour variation
    gloss = rng.uniform(0.0, 1.0, size=n_pixels) ** 3  # a few shiny pixels
    pix = (
        intensity[:, None, None] * shade[None, :, None] * tint[None, :, :] * colour[:, None, :]
        + specular * (1.0 + 0.5 * motion)[:, None, None] * gloss[None, :, None]
        + rng.normal(0.0, noise, size=(len(t), n_pixels, 3))
    )
    v = np.clip(pix, 1.0, 254.0) / 255.0
    skin_mean = v.mean(axis=1) * 255.0
    skin_corr = np.einsum("tnc,tnd->tcd", v, v) / n_pixels
    return skin_mean, skin_corr, bv, t


def method_input(name: str, rgb: np.ndarray, corr: np.ndarray) -> np.ndarray:
    return corr if METHODS[name].input == "skin_corr" else rgb


def hr_of(name: str, rgb, corr, fs: float) -> float:
    wave = METHODS[name](method_input(name, rgb, corr), fs=fs)
    assert wave.shape == (len(rgb),)
    assert np.isfinite(wave).all()
    return estimate_hr(wave, fs).hr_bpm


# ---------------------------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("hr_bpm", [54.0, 72.0, 110.0])
@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_recovers_heart_rate(name, hr_bpm):
    fs = 30.0
    rgb, corr, _, _ = skin_pixels(hr_bpm, fs=fs, seed=int(hr_bpm))
    assert abs(hr_of(name, rgb, corr, fs) - hr_bpm) <= 2.0


@pytest.mark.parametrize("fs", [25.0, 30.0, 60.0])
@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_works_at_common_frame_rates(name, fs):
    rgb, corr, _, _ = skin_pixels(84.0, fs=fs, duration_s=15.0, seed=3)
    assert abs(hr_of(name, rgb, corr, fs) - 84.0) <= 2.0


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_rises_with_blood_volume(name):
    """Polarity convention: each wave correlates positively with blood volume (contact-PPG polarity)."""
    fs = 30.0
    rgb, corr, bv, _ = skin_pixels(72.0, fs=fs, seed=5)
    wave = clean_wave(METHODS[name](method_input(name, rgb, corr), fs=fs), fs)
    r = np.corrcoef(wave, clean_wave(bv, fs))[0, 1]
    assert r > 0.8, f"{name}: correlation with blood volume {r:.2f}"


def test_robust_methods_survive_illumination_and_specular_motion_while_green_fails():
    fs, hr = 30.0, 72.0
    rgb, corr, _, _ = skin_pixels(hr, fs=fs, duration_s=20.0, seed=11, illumination=0.3, specular=12.0)
    errors = {name: abs(hr_of(name, rgb, corr, fs) - hr) for name in [*ROBUST, "green"]}
    for name in ROBUST:
        assert errors[name] <= 3.0, errors
    assert errors["green"] > 10.0, errors  # green locks onto the 90-bpm (1.5 Hz) head motion


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", list(METHODS))
def test_short_nan_gap_is_interpolated(name):
    fs = 30.0
    rgb, corr, _, _ = skin_pixels(72.0, fs=fs, seed=7)
    rgb, corr = rgb.copy(), corr.copy()
    rgb[200:215] = np.nan  # 0.5 s
    corr[200:215] = np.nan
    assert abs(hr_of(name, rgb, corr, fs) - 72.0) <= 2.0


@pytest.mark.parametrize("name", list(METHODS))
def test_long_nan_gap_is_refused(name):
    fs = 30.0
    rgb, corr, _, _ = skin_pixels(72.0, fs=fs, seed=7)
    rgb, corr = rgb.copy(), corr.copy()
    rgb[200:260] = np.nan  # 2 s
    corr[200:260] = np.nan
    with pytest.raises(SignalError, match=rf"{name}: .*gap of 60 missing samples \(2.00 s"):
        METHODS[name](method_input(name, rgb, corr), fs=fs)


@pytest.mark.parametrize(
    ("name", "param"),
    [("pos", "window_s=1.6"), ("chrom", "window_s=1.6"), ("lgi", "window_s=1.6"), ("pbv", "window_s=1.6"),
     ("2sr", "stride_s=1"), ("green", "min_clip_s=2"), ("ica", "min_clip_s=2")],
)
def test_clip_shorter_than_one_window_is_refused(name, param):
    fs = 30.0
    rgb, corr, _, _ = skin_pixels(72.0, fs=fs, duration_s=0.8, seed=1)
    with pytest.raises(SignalError, match=rf"{name}: clip of 24 samples \(0.80 s at fs=30 Hz\) .*\({param} s"):
        METHODS[name](method_input(name, rgb, corr), fs=fs)


def test_rgb_methods_refuse_wrong_shape_and_zero_mean_traces():
    with pytest.raises(SignalError, match=r"pos: expected an RGB trace of shape \(T, 3\); got \(100, 4\)"):
        get_method("pos")(np.ones((100, 4)), fs=30.0)
    rgb, _, _, _ = skin_pixels(72.0, fs=30.0, seed=1)
    with pytest.raises(SignalError, match="chrom: channel R of the RGB trace has negative values"):
        get_method("chrom")(rgb - rgb.mean(axis=0), fs=30.0)
    with pytest.raises(SignalError, match="sampling rate fs"):
        get_method("pos")(rgb, fs=0.0)


@pytest.mark.parametrize("name", RGB_METHODS)
def test_dark_skin_with_zero_blue_samples_still_works(name):
    """Very dark skin crops can hit 0 in blue for single frames: that is raw colour, not a normalised trace."""
    fs = 30.0
    rgb, corr, _, _ = skin_pixels(78.0, fs=fs, seed=8, noise=0.5)
    dark = rgb * np.array([0.25, 0.08, 0.012])  # blue mean ~1.3 grey levels
    dark[::37, 2] = 0.0
    assert abs(hr_of(name, dark, corr, fs) - 78.0) <= 2.0
    if name in ("pos", "chrom", "pbv"):  # the methods that divide by channel means
        dark[:, 2] = 0.0
        with pytest.raises(SignalError, match=f"{name}: channel B of the RGB trace is 0 throughout"):
            METHODS[name](dark, fs=fs)


def test_unknown_method_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown rPPG method 'omit'; valid names: green, ica, chrom, pos, pbv, lgi, 2sr"):
        get_method("omit")
    assert get_method("POS") is METHODS["pos"]
    assert get_method("ssr") is METHODS["2sr"]


# ---------------------------------------------------------------------------------------------- Method.apply
def make_stmap(rgb, corr, t, valid=None) -> STMap:
    n = len(t)
    return STMap(
        values=np.repeat(rgb[:, None, :], 4, axis=1).astype(np.float32),
        timestamps_s=np.asarray(t, dtype=np.float64),
        skin_mean=rgb.astype(np.float32),
        skin_corr=corr.astype(np.float32),
        skin_count=np.full(n, 150, np.int32),
        valid=np.ones(n, bool) if valid is None else valid,
        grid=(2, 2),
    )


@pytest.mark.parametrize("name", ["green", "pos", "chrom", "2sr"])
def test_apply_handles_variable_frame_rate(name):
    """Frame intervals jitter by up to ±30 %: the wave is computed on a uniform grid and mapped back."""
    rng = np.random.default_rng(2)
    t = np.cumsum(rng.uniform(0.7, 1.3, size=600) / 30.0)
    t -= t[0]
    rgb, corr, _, _ = skin_pixels(96.0, fs=30.0, t=t, seed=2)
    wave = get_method(name).apply(make_stmap(rgb, corr, t))
    assert wave.shape == t.shape and np.isfinite(wave).all()
    fs = 30.0
    uniform = np.interp(np.arange(0, t[-1], 1 / fs), t, wave)
    assert abs(estimate_hr(uniform, fs).hr_bpm - 96.0) <= 2.0


@pytest.mark.parametrize("name", ["pos", "2sr"])
def test_apply_fills_short_face_loss_and_refuses_long(name):
    fs = 30.0
    rgb, corr, _, t = skin_pixels(66.0, fs=fs, seed=4)
    valid = np.ones(len(t), bool)
    valid[100:118] = False  # 0.6 s without a face
    rgb_lost = rgb.copy()
    rgb_lost[~valid] = np.nan
    wave = get_method(name).apply(make_stmap(rgb_lost, corr, t, valid))
    assert abs(estimate_hr(wave, fs).hr_bpm - 66.0) <= 2.0
    valid[100:160] = False  # 2 s
    with pytest.raises(SignalError, match="face lost for"):
        get_method(name).apply(make_stmap(rgb, corr, t, valid))


def test_apply_uses_stmap_rate_and_matches_direct_call():
    rgb, corr, _, t = skin_pixels(72.0, fs=25.0, seed=9)
    stmap = make_stmap(rgb, corr, t)
    direct = METHODS["pos"](stmap.skin_mean, fs=25.0)
    np.testing.assert_allclose(METHODS["pos"].apply(stmap), direct, rtol=1e-9, atol=1e-12)
    assert dataclasses.is_dataclass(METHODS["pos"]) and METHODS["pos"].paper


# ---------------------------------------------------------------------------------------------- benchmark
def test_benchmark_scores_a_recording_and_writes_tables(tmp_path):
    from pseudopulse.bench.methods import MethodsBenchConfig, _results, _Run, score_ppg_recording, write_results
    from pseudopulse.datasets import GroundTruth

    fs = 30.0
    run = _Run(MethodsBenchConfig(out_dir=tmp_path, synth_n=0, real_root=None, methods=("green", "pos", "2sr")))
    for i, hr in enumerate((62.0, 95.0)):
        rgb, corr, bv, t = skin_pixels(hr, fs=fs, duration_s=30.0, seed=i)
        gt = GroundTruth(timestamps_s=t, ppg=bv, source="synthetic")
        score_ppg_recording(run, "toy", f"rec{i}", make_stmap(rgb, corr, t), gt)
    res = _results(run, wall_s=1.0)
    clips = res["tables"]["toy-clips"]["methods"]
    assert clips["pos"]["n"] == 6 and clips["pos"]["mae"] < 1.5 and clips["2sr"]["mae"] < 1.5
    assert res["tables"]["toy-whole"]["methods"]["green"]["n"] == 2
    assert res["cpu_s_per_video_min"]["pos"] > 0 and res["video_min"] == pytest.approx(1.0, abs=0.01)
    md, js = write_results(res, tmp_path)
    text = md.read_text()
    assert "| pos | 6 |" in text and "toy, 10-s clips" in text
    import json

    assert json.loads(js.read_text())["tables"]["toy-clips"]["methods"]["2sr"]["n"] == 6


def test_bias_eval_gt_reader_names_bad_rows(tmp_path):
    from pseudopulse.bench.methods import read_bias_eval_gt
    from pseudopulse.errors import DatasetError

    f = tmp_path / "India_GT.csv"
    f.write_text("Subject ,Heart_Rate(BPM) \nvideo1,85.413\nvideo2,76.170\n")
    assert read_bias_eval_gt(f) == {"video1": 85.413, "video2": 76.17}
    f.write_text("Subject ,Heart_Rate(BPM) \nvideo1,fast\n")
    with pytest.raises(DatasetError, match=r"India_GT.csv, line 2: expected 'video<N>,<heart rate bpm>'"):
        read_bias_eval_gt(f)


def test_benchmark_cli_with_nothing_to_do_is_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    r = CliRunner().invoke(app, ["benchmark", "methods", "--no-real", "--synth-n", "0", "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "nothing to benchmark" in r.output
