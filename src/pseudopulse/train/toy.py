"""Synthetic STMaps with a known pulse, built directly in numpy (no video): for tests and the training benchmark.

Each of R ROIs has its own skin colour; the pulse modulates every ROI along the blood-volume signature
(PBV-like RGB weights), plus a slow illumination drift and sensor noise. ``skin_corr`` is VᵀV/N over the R
ROI colours scaled to [0, 1], so 2SR runs on it.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.stmap import STMap

PULSE_SIGNATURE = np.array([0.33, 0.77, 0.53])


def pulse(t_s: np.ndarray, hr_bpm: float, *, harmonic: float = 0.3) -> np.ndarray:
    """Unit-amplitude pulse wave at ``hr_bpm`` with a second harmonic."""
    ph = 2 * np.pi * hr_bpm / 60.0 * t_s
    return np.sin(ph) + harmonic * np.sin(2 * ph + 0.8)


def toy_stmap(
    hr_bpm: float,
    *,
    duration_s: float = 20.0,
    fs: float = 30.0,
    n_rois: int = 25,
    amplitude: float = 0.01,
    noise: float = 0.3,
    drift: float = 0.02,
    harmonic: float = 0.3,
    seed: int = 0,
) -> tuple[STMap, np.ndarray]:
    """(STMap at ``fs`` Hz with a pulse at ``hr_bpm``, the clean pulse wave (T,)).

    ``amplitude``: relative colour modulation of the pulse; ``noise``: sensor noise std in 0..255 levels;
    ``drift``: relative amplitude of a 0.1-Hz illumination change; ``harmonic``: amplitude of the pulse's second
    harmonic relative to its fundamental.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    p = pulse(t, hr_bpm, harmonic=harmonic)
    base = np.array([185.0, 130.0, 105.0]) * (1 + 0.08 * rng.standard_normal((n_rois, 3)))
    gain = 0.5 + rng.random(n_rois)
    illum = 1 + drift * np.sin(2 * np.pi * 0.1 * t + rng.random() * 6.28)
    mod = 1 + amplitude * gain[None, :, None] * PULSE_SIGNATURE[None, None, :] * p[:, None, None]
    values = base[None] * mod * illum[:, None, None] + noise * rng.standard_normal((n, n_rois, 3))
    values = np.clip(values, 0, 255).astype(np.float32)
    v = values.astype(np.float64) / 255.0
    corr = np.einsum("tri,trj->tij", v, v) / n_rois
    st = STMap(
        values=values,
        timestamps_s=t,
        skin_mean=values.mean(axis=1),
        skin_corr=corr.astype(np.float32),
        skin_count=np.full(n, n_rois, dtype=np.int32),
        valid=np.ones(n, dtype=bool),
        grid=(5, n_rois // 5) if n_rois % 5 == 0 else (1, n_rois),
    )
    return st, p
