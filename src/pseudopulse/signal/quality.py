"""Signal quality of a pulse wave."""

from __future__ import annotations

import numpy as np

from pseudopulse.signal.spectrum import WELCH_SEGMENT_S, psd


def snr_db(
    x: np.ndarray, fs: float, hr_bpm: float, band_hz: tuple[float, float] = (0.7, 4.0), tol_bpm: float = 6.0
) -> float:
    """SNR (dB) after de Haan & Jeanne 2013: PSD power within ±``tol_bpm`` of the heart rate and of its first
    harmonic, over the remaining power inside ``band_hz`` (Hz), on the spectrum ``heart_rate`` reads (Welch
    average of 10-s segments for a longer wave)."""
    freqs, power = psd(x, fs, segment_s=WELCH_SEGMENT_S)
    bpm = 60.0 * freqs
    in_band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    signal_mask = (np.abs(bpm - hr_bpm) <= tol_bpm) | (np.abs(bpm - 2 * hr_bpm) <= tol_bpm)
    sig = power[in_band & signal_mask].sum()
    noise = power[in_band & ~signal_mask].sum()
    if sig <= 0:
        return float("-inf")
    if noise <= 0:
        return float("inf")
    return float(10.0 * np.log10(sig / noise))


def irrelevant_power_ratio(x: np.ndarray, fs: float, band_hz: tuple[float, float] = (40 / 60, 250 / 60)) -> float:
    """Fraction of spectral power outside ``band_hz`` (Hz) — the label-free quality signal of Contrast-Phys."""
    freqs, power = psd(x, fs)
    total = power[freqs > 0].sum()
    if total <= 0:
        return 1.0
    inside = power[(freqs >= band_hz[0]) & (freqs <= band_hz[1])].sum()
    return float(1.0 - inside / total)
