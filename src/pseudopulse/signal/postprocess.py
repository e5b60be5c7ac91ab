"""The one post-processing routine applied to every predicted wave AND every ground-truth PPG before HR."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pseudopulse.signal.filters import DEFAULT_BAND_HZ, bandpass, check_fs, detrend
from pseudopulse.signal.quality import snr_db
from pseudopulse.signal.spectrum import heart_rate


@dataclass(frozen=True)
class HREstimate:
    hr_bpm: float
    snr_db: float
    wave: np.ndarray  # (T,) detrended, band-passed wave the HR was read from
    fs: float
    band_hz: tuple[float, float]


def clean_wave(
    x: np.ndarray, fs: float, band_hz: tuple[float, float] = DEFAULT_BAND_HZ, detrend_lambda: float = 100.0
) -> np.ndarray:
    """Detrend (smoothness priors; ``detrend_lambda`` is λ at 30 Hz, scaled so the cut-off is the same at any
    ``fs``) then zero-phase band-pass. Every read-out uses the defaults."""
    fs = check_fs(fs)
    lam = detrend_lambda * (fs / 30.0) ** 2  # the trend cut-off scales as fs/sqrt(λ)
    return bandpass(detrend(np.asarray(x, dtype=np.float64), lam), fs, band_hz)


def estimate_hr(
    x: np.ndarray, fs: float, band_hz: tuple[float, float] = DEFAULT_BAND_HZ, subharmonic_ratio: float | None = None
) -> HREstimate:
    """Heart rate (bpm, PSD peak in ``band_hz``) and SNR (dB) of a raw pulse wave sampled at ``fs`` Hz.

    ``subharmonic_ratio``: the harmonic check of ``spectrum.peak_frequency`` (None = plain highest peak)."""
    wave = clean_wave(x, fs, band_hz)
    hr = heart_rate(wave, fs, band_hz, subharmonic_ratio=subharmonic_ratio)
    return HREstimate(hr_bpm=hr, snr_db=snr_db(wave, fs, hr), wave=wave, fs=float(fs), band_hz=tuple(band_hz))


@lru_cache(maxsize=16)
def _response(freqs_bpm: tuple[float, ...], fs: float, band_hz: tuple[float, float]) -> np.ndarray:
    t = np.arange(int(round(60 * fs))) / fs  # 60 s: edges trimmed, the steady-state gain remains
    edge = int(round(10 * fs))
    return np.array([np.mean(clean_wave(np.sin(2 * np.pi * f / 60.0 * t), fs, band_hz)[edge:-edge] ** 2) / 0.5 for f in freqs_bpm])


def readout_power_response(freqs_bpm, fs: float, band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> np.ndarray:
    """Power gain of ``clean_wave`` (detrend + band-pass) at each frequency in bpm, measured on 60-s sinusoids.
    E.g. ~0.28 at 45 bpm and ~0.98 at 90 bpm at 30 Hz: the weight a read-out puts on each PSD bin."""
    return _response(tuple(float(f) for f in np.asarray(freqs_bpm).ravel()), float(check_fs(fs)), tuple(band_hz)).copy()
