"""ICA (Poh, McDuff & Picard, Opt. Express 2010): blind source separation of the three colour traces.

Steps (as published): detrend each channel (smoothness priors, λ = 100 at 30 fps, scaled with ``fs``),
z-normalise, 3-source ICA, keep the source whose normalised power spectrum has the highest peak inside
``band_hz``. The paper used JADE; this uses symmetric FastICA (Hyvärinen 1999, log-cosh contrast) written in
numpy, which estimates the same model (sklearn is not a dependency). Band-passing is left to the caller.

Polarity: ICA sources have arbitrary sign; the chosen source is signed to correlate positively with the
inverted green trace (green falls as blood volume rises), so the wave rises with blood volume.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.methods._checks import prepare_rgb
from pseudopulse.signal import DEFAULT_BAND_HZ, detrend, psd

MIN_CLIP_S = 2.0


def _sym_decorrelate(w: np.ndarray) -> np.ndarray:
    """W <- (W Wᵀ)^(-1/2) W."""
    s, u = np.linalg.eigh(w @ w.T)
    return (u * (1.0 / np.sqrt(np.maximum(s, 1e-12)))) @ u.T @ w


def fastica(x: np.ndarray, *, max_iter: int = 400, tol: float = 1e-7, seed: int = 0) -> np.ndarray:
    """Symmetric FastICA with the log-cosh contrast. ``x`` (C, T) -> independent sources (C, T), unit variance."""
    x = x - x.mean(axis=1, keepdims=True)
    d, e = np.linalg.eigh(np.cov(x))
    keep = d > 1e-12 * d.max()
    z = (e[:, keep] / np.sqrt(d[keep])).T @ x  # whitened (k, T)
    k, n = z.shape
    w = _sym_decorrelate(np.random.default_rng(seed).standard_normal((k, k)))
    for _ in range(max_iter):
        y = w @ z
        g = np.tanh(y)
        w_new = _sym_decorrelate(g @ z.T / n - np.diag((1.0 - g**2).mean(axis=1)) @ w)
        converged = np.max(np.abs(np.abs(np.einsum("ij,ij->i", w_new, w)) - 1.0)) < tol
        w = w_new
        if converged:
            break
    return w @ z


def ica(
    rgb: np.ndarray, *, fs: float, band_hz: tuple[float, float] = DEFAULT_BAND_HZ, min_clip_s: float = MIN_CLIP_S
) -> np.ndarray:
    """Pulse wave (T,) from a (T, 3) RGB-mean trace (0..255) at ``fs`` Hz; the source is picked in ``band_hz`` (Hz)."""
    rgb, fs = prepare_rgb(rgb, fs, method="ica", window_s=min_clip_s, positive=False, window_name="min_clip_s")
    x = detrend(rgb, 100.0 * (fs / 30.0) ** 2)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-12)
    sources = fastica(x.T)
    best, best_peak = 0, -np.inf
    for i, s in enumerate(sources):
        freqs, power = psd(s, fs, resolution_bpm=0.5)
        power = power / (power.sum() + 1e-30)
        inside = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
        peak = power[inside].max()
        if peak > best_peak:
            best, best_peak = i, peak
    wave = sources[best]
    if np.dot(wave, -x[:, 1]) < 0:
        wave = -wave
    return wave
