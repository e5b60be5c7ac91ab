"""CHROM — chrominance-based rPPG (de Haan & Jeanne, IEEE TBME 2013).

Windows of ``ceil(window_s * fs)`` frames (rounded up to even), 50 % overlap. Per window: ``RGBn = RGB / mean``,
``X = 3Rn − 2Gn``, ``Y = 1.5Rn + Gn − 1.5Bn``, zero-phase Butterworth band-pass of X and Y (order 3,
``band_hz`` = 0.7–2.5 Hz as published), ``S = Xf − (std Xf / std Yf)·Yf``, Hann taper, overlap-add.
The last window is aligned to the clip end so every sample is covered.

Polarity: S rises with blood volume as published (X gains, Y loses when blood absorbs green) — returned as is.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from pseudopulse.errors import SignalError
from pseudopulse.methods._checks import overlap_add, prepare_rgb, safe_mean, window_samples

EPS = 1e-9


def chrom(rgb: np.ndarray, *, fs: float, window_s: float = 1.6, band_hz: tuple[float, float] = (0.7, 2.5),
          chunk: int = 1024) -> np.ndarray:  # fmt: skip
    """Pulse wave (T,) from a (T, 3) RGB-mean trace (0..255) at ``fs`` Hz; ``window_s`` (s), in-window ``band_hz`` (Hz);
    ``chunk`` windows processed at a time (memory only: each window is filtered on its own)."""
    rgb, fs = prepare_rgb(rgb, fs, method="chrom", window_s=window_s)
    length = window_samples(window_s, fs, method="chrom")
    length += length % 2
    n = len(rgb)
    if n < length:  # rounding to even may add one sample
        raise SignalError(f"chrom: clip of {n} samples is shorter than one window (window_s={window_s:g} s = {length} samples)")
    low, high = band_hz
    if not 0 < low < high < fs / 2:
        raise SignalError(f"chrom: band_hz must satisfy 0 < low < high < fs/2 = {fs / 2:g} Hz; got {band_hz}")
    b, a = sps.butter(3, [low, high], btype="bandpass", fs=fs)
    if length <= 3 * max(len(a), len(b)):
        raise SignalError(
            f"chrom: window of {length} samples (window_s={window_s:g} s at fs={fs:g} Hz) is too short for the "
            f"order-3 in-window band-pass (needs > {3 * max(len(a), len(b))} samples); raise window_s or fs"
        )
    hop = length // 2
    starts = np.arange(0, n - length + 1, hop)
    if starts[-1] + length < n:
        starts = np.append(starts, n - length)
    taper = np.hanning(length)[None, :]
    out = np.zeros(n)
    for i in range(0, len(starts), chunk):  # windows `chunk` at a time: a long trace's windows are never all held
        part = starts[i : i + chunk]
        win = rgb[part[:, None] + np.arange(length)[None, :]]  # (W, l, 3)
        cn = win / safe_mean(win)
        x = 3.0 * cn[..., 0] - 2.0 * cn[..., 1]
        y = 1.5 * cn[..., 0] + cn[..., 1] - 1.5 * cn[..., 2]
        xf = sps.filtfilt(b, a, x, axis=1)
        yf = sps.filtfilt(b, a, y, axis=1)
        alpha = xf.std(axis=1) / (yf.std(axis=1) + EPS)
        out += overlap_add((xf - alpha[:, None] * yf) * taper, part, n)
    return out
