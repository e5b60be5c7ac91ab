"""Power spectra and heart rate from a pulse wave. Frequencies in Hz, rates in bpm."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from pseudopulse.errors import SignalError
from pseudopulse.signal.filters import DEFAULT_BAND_HZ, check_fs


WELCH_SEGMENT_S = 10.0  # waves longer than one segment (+ one hop) get a Welch average of 10-s spectra
WELCH_HOP_S = 2.0
WELCH_BLOCK = 32  # Welch segments transformed at once: memory bounded in the wave's length, not grown with it


def psd(
    x: np.ndarray, fs: float, resolution_bpm: float = 0.1, segment_s: float | None = None, hop_s: float = WELCH_HOP_S
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided power spectral density of a 1-D wave (Hann window, zero-padded FFT).

    The FFT length is chosen so that bins are at most ``resolution_bpm`` apart (0.1 bpm by default).
    ``segment_s`` (s): when the wave spans at least one segment plus one ``hop_s`` hop, the PSD is Welch's
    average over ``segment_s`` segments ``hop_s`` apart (``scipy.signal.welch``) instead of one periodogram of the
    whole wave. A heart rate drifts over a minute-long recording and capture gaps break the pulse's phase;
    both smear one long periodogram's peak until a noise peak wins, while every 10-s spectrum keeps a
    sharp peak. ``None``: always one periodogram. Returns ``(freqs_hz, power)``.
    """
    fs = check_fs(fs)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise SignalError(f"psd expects a 1-D wave (T,); got shape {x.shape}")
    if len(x) < 4 or not np.all(np.isfinite(x)):
        raise SignalError(f"psd needs >= 4 finite samples; got {len(x)} samples, {int((~np.isfinite(x)).sum())} non-finite")
    fine = int(np.ceil(fs * 60.0 / resolution_bpm))  # FFT length whose bins are resolution_bpm apart
    if segment_s is not None:
        seg = int(round(segment_s * fs))
        hop = max(1, int(round(hop_s * fs)))
        if seg >= 4 and len(x) >= seg + hop:  # each segment padded to the bin spacing, not to the recording's length
            return _welch(x, fs, seg, hop, nfft=max(seg, fine))
    nfft = max(len(x), fine)
    freqs, power = sps.periodogram(x - x.mean(), fs=fs, window="hann", nfft=nfft, detrend=False, scaling="density")
    return freqs, power


def _welch(x: np.ndarray, fs: float, seg: int, hop: int, *, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.welch`` (Hann, constant detrend, mean of the segment spectra) of ``x`` with ``seg``-sample
    segments ``hop`` apart, run on ``WELCH_BLOCK`` segments at a time and averaged: one call (the same numbers) for
    a wave of up to ``WELCH_BLOCK`` segments, a count-weighted mean of the block means (equal to float rounding)
    for a longer one, whose (segments, nfft) spectra would otherwise grow with its length."""
    n_seg = (len(x) - seg) // hop + 1
    total = None
    for a in range(0, n_seg, WELCH_BLOCK):
        m = min(WELCH_BLOCK, n_seg - a)
        freqs, p = sps.welch(x[a * hop : (a + m - 1) * hop + seg], fs=fs, window="hann", nperseg=seg, noverlap=seg - hop,
                             nfft=nfft, detrend="constant")  # fmt: skip
        if m == n_seg:
            return freqs, p
        total = p * m if total is None else total + p * m
    return freqs, total / n_seg


SUBHARMONIC_RATIO = 0.3  # a peak at half the top frequency with >= 30 % of its power is the fundamental
SUBHARMONIC_TOL_HZ = 8.0 / 60.0  # |f_top − 2·f_low| tolerance (8 bpm), as Contrast-Phys's harmonic check (10 bpm)


def peak_frequency(
    freqs_hz: np.ndarray,
    power: np.ndarray,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    subharmonic_ratio: float | None = None,
) -> float:
    """Frequency (Hz) of the highest PSD peak inside ``band_hz``, optionally with a harmonic check.

    A pulse wave with a sharp systolic upstroke or a dicrotic notch can put more power in its first harmonic
    than in its fundamental (seen at heart rates below ~60 bpm). When a local PSD peak sits at half the top
    frequency (within 8 bpm of f_top/2) and holds at least ``subharmonic_ratio`` of the top peak's power, that
    lower peak is returned (after Contrast-Phys's ``hr_fft`` harmonic removal). ``None`` (default) disables it.
    Off in every pseudopulse pipeline: on real compressed video (UBFC-rPPG H.264) artefacts near half the heart
    rate are common, and the check cost POS/CHROM/2SR 2–5 bpm MAE and turned two correct whole-recording model
    readings (112 bpm) into 56–60; it helps only where the wave's harmonic dominates (synthetic pulses < 50 bpm).
    """
    mask = (freqs_hz >= band_hz[0]) & (freqs_hz <= band_hz[1])
    if not mask.any():
        raise SignalError(f"no PSD bin inside the band {band_hz} Hz")
    f, p = freqs_hz[mask], power[mask]
    top = int(np.argmax(p))
    if subharmonic_ratio is None:
        return float(f[top])
    peaks, _ = sps.find_peaks(p)
    low = peaks[(np.abs(f[top] - 2.0 * f[peaks]) < SUBHARMONIC_TOL_HZ) & (p[peaks] >= subharmonic_ratio * p[top])]
    if len(low):
        return float(f[low[np.argmax(p[low])]])
    return float(f[top])


def heart_rate(
    x: np.ndarray,
    fs: float,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    resolution_bpm: float = 0.1,
    subharmonic_ratio: float | None = None,
    segment_s: float | None = WELCH_SEGMENT_S,
) -> float:
    """Heart rate in bpm = peak of the wave's PSD inside ``band_hz`` (Hz); see ``peak_frequency``. A wave longer
    than ``segment_s`` seconds is read from its Welch spectrum (see ``psd``): the recording's typical rate."""
    freqs, power = psd(x, fs, resolution_bpm=resolution_bpm, segment_s=segment_s)
    return 60.0 * peak_frequency(freqs, power, band_hz, subharmonic_ratio)
