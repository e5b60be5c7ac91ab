"""POS — Plane-Orthogonal-to-Skin (Wang, den Brinker, Stuijk & de Haan, IEEE TBME 2017, Algorithm 1).

For every window of ``l = ceil(window_s * fs)`` frames (step one frame): temporal normalisation
``Cn = C / mean(C)``, projection ``S = P·Cn`` with ``P = [[0, 1, -1], [-2, 1, 1]]``, alpha tuning
``h = S0 + (std S0 / std S1)·S1``, mean removal, overlap-add. No filter inside (as published).

Polarity: the published ``h`` falls as blood volume rises (green absorbs); the wave returned is ``-H`` so that
it rises with blood volume (PPG polarity), like every method in this package.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.methods._checks import prepare_rgb, safe_mean, sliding_ola, window_samples

EPS = 1e-9
PROJECTION = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])


def _pos_segments(win: np.ndarray) -> np.ndarray:
    cn = win / safe_mean(win)  # (W, l, 3)
    s = cn @ PROJECTION.T  # (W, l, 2)
    s0, s1 = s[..., 0], s[..., 1]
    alpha = s0.std(axis=1) / (s1.std(axis=1) + EPS)
    h = s0 + alpha[:, None] * s1
    return h - h.mean(axis=1, keepdims=True)


def pos(rgb: np.ndarray, *, fs: float, window_s: float = 1.6) -> np.ndarray:
    """Pulse wave (T,) from a (T, 3) RGB-mean trace (0..255) at ``fs`` Hz; ``window_s`` = POS window (s, paper 1.6)."""
    rgb, fs = prepare_rgb(rgb, fs, method="pos", window_s=window_s)
    length = window_samples(window_s, fs, method="pos")
    return -sliding_ola(rgb, length, _pos_segments)
