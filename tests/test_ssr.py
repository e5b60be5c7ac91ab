"""2SR (spatial subspace rotation): the vectorised implementation against the paper-literal reference, and
pulse recovery from per-frame skin-pixel correlation matrices."""

from __future__ import annotations

import numpy as np
import pytest

from pseudopulse.errors import SignalError
from pseudopulse.methods import ssr, ssr_reference
from pseudopulse.methods.ssr import _eig_desc
from pseudopulse.signal import clean_wave, estimate_hr

PBV = np.array([0.33, 0.77, 0.53])


def random_corr(n_frames: int, n_pixels: int, seed: int) -> np.ndarray:
    """Correlation matrices VᵀV/N (T, 3, 3) of random pixel sets V (N, 3) in [0, 1] — positive definite."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.0, 1.0, size=(n_frames, n_pixels, 3)) * rng.uniform(0.3, 1.0, size=(1, 1, 3))
    return np.einsum("tnc,tnd->tcd", v, v) / n_pixels


def rotating_skin_corr(hr_bpm: float, fs: float, duration_s: float = 20.0, seed: int = 0):
    """Skin pixels (N=120 per frame) whose colour vector is darkened along Pbv by the pulse (rotating it in RGB),
    with per-pixel shading/tint and noise. Returns (C (T, 3, 3), blood volume (T,))."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration_s * fs))) / fs
    bv = np.sin(2 * np.pi * hr_bpm / 60 * t) + 0.3 * np.sin(4 * np.pi * hr_bpm / 60 * t - 1.0)
    colour = np.array([0.72, 0.52, 0.42])[None, :] * (1 - 0.011 / 0.77 * PBV[None, :] * bv[:, None])
    shade = rng.uniform(0.7, 1.1, size=(1, 120, 1)) * (1 + rng.normal(0, 0.04, size=(1, 120, 3)))
    v = np.clip(shade * colour[:, None, :] + rng.normal(0, 0.008, size=(len(t), 120, 3)), 0, 1)
    return np.einsum("tnc,tnd->tcd", v, v) / v.shape[1], bv


@pytest.mark.parametrize(("fs", "stride_s", "n_frames"), [(30.0, 1.0, 120), (25.0, 0.6, 90), (60.0, 0.5, 150)])
def test_fast_matches_paper_reference_on_random_pixel_sets(fs, stride_s, n_frames):
    c = random_corr(n_frames, n_pixels=40, seed=int(fs))
    fast = ssr(c, fs=fs, stride_s=stride_s)
    ref = ssr_reference(c, fs=fs, stride_s=stride_s)
    assert np.abs(ref).max() > 0
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-6 * np.abs(ref).max())
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-9)


def test_fast_matches_reference_on_skin_and_chunking_changes_nothing():
    c, _ = rotating_skin_corr(80.0, 30.0, duration_s=8.0, seed=1)
    ref = ssr_reference(c, fs=30.0)
    np.testing.assert_allclose(ssr(c, fs=30.0), ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ssr(c, fs=30.0, chunk=7), ref, rtol=1e-6, atol=1e-9)


def test_eigendecomposition_is_sorted_and_signed():
    c = random_corr(50, 30, seed=3)
    lam, u = _eig_desc(c)
    assert (np.diff(lam, axis=1) <= 0).all()
    assert (u[:, :, 0].sum(axis=1) > 0).all()
    np.testing.assert_allclose(np.einsum("tij,tj,tkj->tik", u, lam, u), c, atol=1e-12)


@pytest.mark.parametrize("hr_bpm", [54.0, 72.0, 110.0])
def test_recovers_heart_rate_with_positive_polarity(hr_bpm):
    fs = 30.0
    c, bv = rotating_skin_corr(hr_bpm, fs, seed=int(hr_bpm))
    wave = ssr(c, fs=fs)
    assert abs(estimate_hr(wave, fs).hr_bpm - hr_bpm) <= 2.0
    r = np.corrcoef(clean_wave(wave, fs), clean_wave(bv, fs))[0, 1]
    assert r > 0.8  # 2SR rises with blood volume as published (no flip needed)


def test_degenerate_single_colour_frames_stay_finite():
    """All pixels one colour -> λ2 = λ3 = 0: the eps guards keep the output finite (and flat)."""
    colour = np.array([0.7, 0.5, 0.4])
    c = np.repeat((np.outer(colour, colour))[None], 90, axis=0)
    out = ssr(c, fs=30.0)
    assert np.isfinite(out).all()


def test_bad_input_is_refused_with_specific_errors():
    c = random_corr(60, 20, seed=0)
    with pytest.raises(SignalError, match=r"2sr: expected skin correlation matrices of shape \(T, 3, 3\); got \(60, 9\)"):
        ssr(c.reshape(60, 9), fs=30.0)
    with pytest.raises(SignalError, match=r"2sr: clip of 20 samples \(0.67 s at fs=30 Hz\) is shorter than one method window \(stride_s=1 s"):
        ssr(c[:20], fs=30.0)
    with pytest.raises(SignalError, match="2sr: stride_s=0.03 s at fs=30 Hz is 1 frame"):
        ssr(c, fs=30.0, stride_s=0.03)
    with pytest.raises(SignalError, match="non-positive trace"):
        ssr(np.zeros((60, 3, 3)), fs=30.0)
