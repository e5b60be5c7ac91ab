"""LGI — Local Group Invariance (Pilz, Zaunseder, Krajewski & Blazek, CVPR-W 2018).

For every window of ``ceil(window_s * fs)`` frames (step one frame): SVD of the raw 3×l colour matrix X,
``s`` = first left singular vector (the dominant skin-colour direction), projection ``Y = (I − s sᵀ) X``, pulse
= the green row ``Y[1]``; mean removal and overlap-add of the windows.

Polarity: the green row of the projection falls as blood volume rises (the pulse signature is strongest in
green); the wave returned is ``−Y[1]`` so that it rises with blood volume.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.methods._checks import prepare_rgb, sliding_ola, window_samples


def _lgi_segments(win: np.ndarray) -> np.ndarray:
    gram = np.einsum("wlc,wld->wcd", win, win)  # X Xᵀ (W, 3, 3): its top eigenvector = first left singular vector
    _, vecs = np.linalg.eigh(gram)
    s = vecs[:, :, -1]  # (W, 3)
    y_green = win[..., 1] - s[:, None, 1] * np.einsum("wlc,wc->wl", win, s)
    return y_green - y_green.mean(axis=1, keepdims=True)


def lgi(rgb: np.ndarray, *, fs: float, window_s: float = 1.6) -> np.ndarray:
    """Pulse wave (T,) from a (T, 3) RGB-mean trace (0..255) at ``fs`` Hz; ``window_s`` = SVD window (s)."""
    rgb, fs = prepare_rgb(rgb, fs, method="lgi", window_s=window_s, positive=False)
    length = window_samples(window_s, fs, method="lgi")
    return -sliding_ola(rgb, length, _lgi_segments)
