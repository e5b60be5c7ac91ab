"""Time courses of the nuisances: head motion (affine per frame), global illumination, a moving specular highlight.

All are smooth, seeded functions of the frame timestamps ``t_s`` (T,), vectorised over time.
"""

from __future__ import annotations

import numpy as np

# Blood-volume-pulse signature: relative pulsatile amplitude per channel (de Haan & van Leest 2014, PBV),
# divided by green so ``pulse_amplitude`` is the green channel's relative peak-to-peak change.
PBV_SIGNATURE = np.array([0.33, 0.77, 0.53], dtype=np.float64) / 0.77


def smooth_trajectory(t_s: np.ndarray, rng: np.random.Generator, centre_hz: float, n_terms: int = 3) -> np.ndarray:
    """Sum of ``n_terms`` sinusoids with frequencies in [0.4, 1.6] x ``centre_hz`` and random phases, max |x| = 1."""
    t = np.asarray(t_s, dtype=np.float64)
    freqs = centre_hz * rng.uniform(0.4, 1.6, n_terms)
    phases = rng.uniform(0.0, 2 * np.pi, n_terms)
    weights = rng.uniform(0.5, 1.0, n_terms)
    x = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(axis=0)
    peak = np.abs(x).max()
    return x / peak if peak > 0 else x


def head_motion(
    t_s: np.ndarray, rng: np.random.Generator, *, centre_xy: tuple[float, float], motion_px: float, rotation_deg: float,
    scale_amp: float, motion_hz: float,
) -> np.ndarray:
    """(T, 2, 3) float64 forward affine maps (unmoved px -> frame px) moving the whole frame about ``centre_xy`` (px)."""
    tx = motion_px * smooth_trajectory(t_s, rng, motion_hz)
    ty = 0.6 * motion_px * smooth_trajectory(t_s, rng, motion_hz)
    ang = np.deg2rad(rotation_deg * smooth_trajectory(t_s, rng, motion_hz))
    sc = 1.0 + scale_amp * smooth_trajectory(t_s, rng, 0.5 * motion_hz)
    cx, cy = centre_xy
    a, b = sc * np.cos(ang), sc * np.sin(ang)
    m = np.empty((len(tx), 2, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = a, b, -b, a
    m[:, 0, 2] = (1 - a) * cx - b * cy + tx
    m[:, 1, 2] = b * cx + (1 - a) * cy + ty
    return m


def illumination(
    t_s: np.ndarray, rng: np.random.Generator, *, illumination_amp: float, flicker_hz: float, flicker_amp: float
) -> np.ndarray:
    """(T,) global brightness gain: 1 + slow change (ramp + sinusoid, max |.| = illumination_amp) + flicker."""
    t = np.asarray(t_s, dtype=np.float64)
    span = max(float(t[-1] - t[0]), 1e-6)
    ramp = (t - t[0]) / span - 0.5
    wave = np.sin(2 * np.pi * rng.uniform(0.03, 0.08) * t + rng.uniform(0, 2 * np.pi))
    slow = rng.choice([-1.0, 1.0]) * ramp + 0.5 * wave
    slow /= max(np.abs(slow).max(), 1e-12)
    flick = np.sin(2 * np.pi * flicker_hz * t + rng.uniform(0, 2 * np.pi)) if flicker_hz > 0 else np.zeros_like(t)
    return 1.0 + illumination_amp * slow + flicker_amp * flick


def specular_track(
    t_s: np.ndarray, rng: np.random.Generator, *, face_box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre x, y (px, (T,) each) and strength (T,) in 0.6..1 of a highlight wandering over the upper face."""
    x0, y0, x1, y1 = face_box
    w, h = x1 - x0, y1 - y0
    cx = x0 + w * (0.5 + 0.25 * smooth_trajectory(t_s, rng, 0.15))
    cy = y0 + h * (0.35 + 0.15 * smooth_trajectory(t_s, rng, 0.12))
    strength = 0.8 + 0.2 * smooth_trajectory(t_s, rng, 0.3)
    return cx, cy, strength
