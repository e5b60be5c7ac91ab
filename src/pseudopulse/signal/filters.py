"""Detrending and band-pass filtering of pulse signals. Time is axis 0; ``fs`` is the sampling rate in Hz."""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal as sps
from scipy import sparse
from scipy.linalg import solveh_banded

from pseudopulse.errors import SignalError

DEFAULT_BAND_HZ = (0.7, 3.0)  # 42–180 bpm


def check_fs(fs: float) -> float:
    """Validate a sampling rate in Hz (must be finite and > 0)."""
    if fs is None or not np.isfinite(fs) or fs <= 0:
        raise SignalError(f"sampling rate fs must be a positive number of Hz; got {fs!r}")
    return float(fs)


def detrend(x: np.ndarray, lambda_: float = 100.0) -> np.ndarray:
    """Smoothness-priors detrending (Tarvainen et al. 2002) along axis 0.

    ``lambda_`` is the regularisation (100 at 30 fps removes trends slower than ~0.3 Hz).
    Returns x minus its smooth trend, same shape.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 3:
        return x - x.mean(axis=0)
    trend = solveh_banded(_detrend_bands(n, float(lambda_)), x.reshape(n, -1))  # memory linear in n
    return x - trend.reshape(x.shape)


@functools.lru_cache(maxsize=16)
def _detrend_bands(n: int, lambda_: float) -> np.ndarray:
    """(3, n) upper banded form of I + λ²·D2ᵀD2 (symmetric positive definite, 5 diagonals) for ``solveh_banded``;
    cached, since a stream reads many windows of one length."""
    d2 = sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n))
    a = sparse.identity(n) + lambda_**2 * (d2.T @ d2)
    bands = np.zeros((3, n))  # bands[2 + i - j, j] = a[i, j]
    bands[2] = a.diagonal(0)
    bands[1, 1:] = a.diagonal(1)
    bands[0, 2:] = a.diagonal(2)
    bands.setflags(write=False)
    return bands


def bandpass(x: np.ndarray, fs: float, band_hz: tuple[float, float] = DEFAULT_BAND_HZ, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass along axis 0 (``sosfiltfilt``).

    ``band_hz`` = (low, high) in Hz, 0 < low < high < fs/2. ``order`` is the Butterworth order of each pass.
    """
    fs = check_fs(fs)
    low, high = band_hz
    if not 0 < low < high < fs / 2:
        raise SignalError(f"band-pass edges must satisfy 0 < low < high < fs/2 = {fs / 2:.2f} Hz; got {band_hz}")
    x = np.asarray(x, dtype=np.float64)
    sos = _butter_sos(int(order), float(low), float(high), fs).copy()  # scipy's sosfilt writes to it
    padlen = min(x.shape[0] - 1, 3 * (2 * len(sos) + 1) * 2)
    if x.shape[0] < 8:
        raise SignalError(f"signal of {x.shape[0]} samples is too short to band-pass")
    return sps.sosfiltfilt(sos, x, axis=0, padlen=padlen)


@functools.lru_cache(maxsize=32)
def _butter_sos(order: int, low_hz: float, high_hz: float, fs: float) -> np.ndarray:
    return sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")


def uniform_times(t_s: np.ndarray, fs: float) -> np.ndarray:
    """A uniform time grid at ``fs`` Hz from ``t_s[0]`` up to ``t_s[-1]`` (s), for resampling irregular series."""
    fs = check_fs(fs)
    return t_s[0] + np.arange(int(np.floor((t_s[-1] - t_s[0]) * fs)) + 1) / fs


def standardize(x: np.ndarray, axis: int = 0, eps: float = 1e-12) -> np.ndarray:
    """Zero-mean, unit-variance along ``axis``."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=axis, keepdims=True)) / (x.std(axis=axis, keepdims=True) + eps)
