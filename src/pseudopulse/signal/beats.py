"""Beat detection and heart-rate variability from a pulse wave."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from pseudopulse.signal.filters import check_fs
from pseudopulse.signal.spectrum import heart_rate


@dataclass(frozen=True)
class Beats:
    peak_times_s: np.ndarray  # (K,) time of each systolic peak, seconds from the wave's start
    ibi_ms: np.ndarray  # (K-1,) inter-beat intervals in milliseconds

    @property
    def sdnn_ms(self) -> float:
        return float(np.std(self.ibi_ms, ddof=1)) if len(self.ibi_ms) > 1 else float("nan")

    @property
    def rmssd_ms(self) -> float:
        return float(np.sqrt(np.mean(np.diff(self.ibi_ms) ** 2))) if len(self.ibi_ms) > 2 else float("nan")

    @property
    def mean_hr_bpm(self) -> float:
        return float(60000.0 / np.mean(self.ibi_ms)) if len(self.ibi_ms) else float("nan")


def detect_beats(x: np.ndarray, fs: float, hr_bpm: float | None = None) -> Beats:
    """Systolic peaks of a band-passed pulse wave (``fs`` Hz).

    Peaks must be at least 60 % of a beat period apart, the period taken from ``hr_bpm`` (or the PSD peak).
    Peak times are refined by parabolic interpolation to sub-sample precision.
    """
    fs = check_fs(fs)
    x = np.asarray(x, dtype=np.float64)
    if hr_bpm is None:
        hr_bpm = heart_rate(x, fs)
    distance = max(1, int(0.6 * fs * 60.0 / hr_bpm))
    peaks, _ = sps.find_peaks(x, distance=distance, prominence=0.2 * np.std(x))
    times = peaks.astype(np.float64)
    inner = (peaks > 0) & (peaks < len(x) - 1)
    p = peaks[inner]
    y0, y1, y2 = x[p - 1], x[p], x[p + 1]
    denom = y0 - 2 * y1 + y2
    offset = np.where(np.abs(denom) > 1e-12, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0.0)
    times[inner] += np.clip(offset, -0.5, 0.5)
    times /= fs
    return Beats(peak_times_s=times, ibi_ms=np.diff(times) * 1000.0)
