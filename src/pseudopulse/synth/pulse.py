"""A realistic photoplethysmogram (PPG) with a known heart rate.

Model: the instantaneous heart rate is ``hr_bpm * (1 + m(t))`` where ``m`` is heart-rate variability — respiratory
sinus arrhythmia at the breathing rate, a Mayer wave near 0.1 Hz and band-limited noise, scaled so the beat-to-beat
intervals have the requested SDNN — plus an optional linear drift. ``m`` and the drift are made exactly zero-mean
over the clip, so the clip holds exactly ``hr_bpm * duration / 60`` beats and the spectral peak sits at ``hr_bpm``.
Each beat is a wrapped two-Gaussian template (systolic peak, dicrotic notch, diastolic wave) evaluated at the beat
phase, so beats stretch with the interval. Respiration also modulates the beat amplitude and the baseline.

The wave is normalised to zero mean and a median beat peak-to-peak of 1, positive = systolic peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pseudopulse.synth.config import SynthConfigError

GRID_HZ = 200.0  # internal rate at which the heart rate is integrated into a beat phase

# Beat template over one cycle (phase 0..1): (centre, width, amplitude) of each Gaussian.
_TEMPLATE = ((0.22, 0.075, 1.0), (0.52, 0.11, 0.42))


@dataclass(frozen=True)
class PulseWave:
    ppg: np.ndarray  # (T,) float64 PPG at the requested timestamps, median beat peak-to-peak ~1
    hr_bpm: np.ndarray  # (T,) instantaneous heart rate (bpm) at the timestamps
    beat_times_s: np.ndarray  # (B,) times of the systolic peaks inside the clip


def default_sdnn_ms(hr_bpm: float) -> float:
    """Physiological short-term SDNN (ms) for a heart rate: 30 ms at 60 bpm, falling as (60/HR)^2, clamped to 4..60 ms.

    HRV falls steeply as the heart rate rises (Sacha 2013, "Interaction between heart rate and heart rate
    variability"); this scaling also keeps the phase wander, hence a 10-s spectrum's peak error, the same at any HR.
    """
    return float(np.clip(30.0 * (60.0 / hr_bpm) ** 2, 4.0, 60.0))


def beat_template(phase: np.ndarray) -> np.ndarray:
    """One PPG beat at ``phase`` (cycles, any real; only the fractional part matters). Peak ~1 at phase 0.22."""
    u = np.mod(phase, 1.0)
    out = np.zeros_like(u, dtype=np.float64)
    for c, w, a in _TEMPLATE:
        for k in (-1.0, 0.0, 1.0):  # wrap so the template is periodic and smooth at the cycle edges
            out += a * np.exp(-0.5 * ((u - c - k) / w) ** 2)
    return out


def _band_noise(rng: np.random.Generator, n: int, fs: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Unit-variance Gaussian noise band-limited to ``band_hz`` (FFT brick-wall), length n."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec[(f < band_hz[0]) | (f > band_hz[1])] = 0.0
    x = np.fft.irfft(spec, n)
    sd = x.std()
    return x / sd if sd > 0 else x


def pulse_wave(
    timestamps_s: np.ndarray,
    *,
    hr_bpm: float,
    rng: np.random.Generator,
    hrv_sdnn_ms: float | None = None,
    hr_drift_bpm: float = 0.0,
    resp_rate_hz: float = 0.25,
    resp_amp: float = 0.15,
) -> PulseWave:
    """PPG samples and instantaneous heart rate at ``timestamps_s`` (s, increasing).

    hr_bpm: mean heart rate over ``[t[0], t[-1]]``. hrv_sdnn_ms: target SDNN of the beat intervals (ms, 0 = none,
    None = ``default_sdnn_ms(hr_bpm)``).
    hr_drift_bpm: total linear heart-rate change over the clip (bpm, centred so the mean stays ``hr_bpm``).
    resp_rate_hz: breathing rate (Hz, 0 = no respiration); resp_amp: relative amplitude modulation by breathing
    (the baseline wander is half of it, in beat peak-to-peak units). ``rng`` makes it reproducible.
    """
    t = np.asarray(timestamps_s, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise SynthConfigError(
            f"pulse_wave: timestamps_s (shape {t.shape}) must be a 1-D, strictly increasing array of >= 2 finite times"
        )
    if not hr_bpm > 0:
        raise SynthConfigError(f"pulse_wave: hr_bpm={hr_bpm!r} must be > 0 bpm")
    if hrv_sdnn_ms is None:
        hrv_sdnn_ms = default_sdnn_ms(hr_bpm)
    if hrv_sdnn_ms < 0 or resp_rate_hz < 0 or resp_amp < 0:
        raise SynthConfigError(
            f"pulse_wave: hrv_sdnn_ms={hrv_sdnn_ms!r}, resp_rate_hz={resp_rate_hz!r}, resp_amp={resp_amp!r} must be >= 0"
        )
    t0, t1 = float(t[0]), float(t[-1])
    n = int(np.ceil((t1 - t0) * GRID_HZ)) + 2
    g = t0 + np.arange(n) / GRID_HZ  # fine grid covering the clip
    f0 = hr_bpm / 60.0
    dur = max(t1 - t0, 1.0 / GRID_HZ)

    # Heart-rate variability: RSA (at the breathing rate) + Mayer wave + band-limited noise, zero-mean, scaled to SDNN.
    resp = resp_rate_hz if resp_rate_hz > 0 else 0.25
    rsa = np.sin(2 * np.pi * resp * g + rng.uniform(0, 2 * np.pi))
    mayer = np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * g + rng.uniform(0, 2 * np.pi))
    noise = _band_noise(rng, n, GRID_HZ, (0.15, 0.5))
    m = 0.7 * rsa + 0.2 * mayer + 0.5 * noise
    m -= m.mean()
    # SDNN ~ RR0 * std(relative rate) -> std(m) = SDNN * f0
    sd = m.std()
    m = m * (hrv_sdnn_ms / 1000.0 * f0 / sd) if sd > 0 else m
    drift = (hr_drift_bpm / 60.0) * ((g - t0) / dur - 0.5)
    drift -= drift.mean()
    f = f0 * (1.0 + m) + drift
    f = np.maximum(f, 0.2 * f0)  # never stop the heart; keeps the phase increasing
    f += f0 - f.mean()  # exact mean rate after the clamp

    phase0 = rng.uniform(0.0, 1.0)
    phase = phase0 + np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) / GRID_HZ)])

    # Beat amplitude: slow random per-beat variation + respiration; baseline: respiration.
    amp = 1.0 + 0.04 * _band_noise(rng, n, GRID_HZ, (0.02, 0.3))
    base = np.zeros(n)
    if resp_rate_hz > 0:
        resp_phase = 2 * np.pi * resp_rate_hz * g + rng.uniform(0, 2 * np.pi)
        amp += resp_amp * np.sin(resp_phase)
        base = 0.5 * resp_amp * np.sin(resp_phase + 0.6)

    tpl = beat_template(phase)
    # normalise the template to zero mean and unit peak-to-peak before modulating
    u = np.linspace(0.0, 1.0, 512, endpoint=False)
    ref = beat_template(u)
    tpl = (tpl - ref.mean()) / (ref.max() - ref.min())
    wave = amp * tpl + base

    ppg = np.interp(t, g, wave)
    hr = 60.0 * np.interp(t, g, f)
    # systolic peaks: phase crosses k + template peak phase
    peak_u = _TEMPLATE[0][0]
    ks = np.arange(np.ceil(phase[0] - peak_u), np.floor(phase[-1] - peak_u) + 1)
    beats = np.interp(ks + peak_u, phase, g)
    beats = beats[(beats >= t0) & (beats <= t1)]
    return PulseWave(ppg=ppg, hr_bpm=hr, beat_times_s=beats)
