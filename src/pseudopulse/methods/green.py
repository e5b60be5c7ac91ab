"""GREEN (Verkruysse, Svaasand & Nelson, Opt. Express 2008): the green-channel trace is the pulse.

Polarity: blood absorbs green light, so the green intensity *falls* as blood volume rises; the wave returned is
``-(G / mean(G) - 1)`` so that, like every method here, it rises with blood volume (PPG polarity).
"""

from __future__ import annotations

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.methods._checks import prepare_rgb

MIN_CLIP_S = 2.0  # GREEN has no window; shorter clips hold under two beats at 60 bpm


def green(rgb: np.ndarray, *, fs: float, min_clip_s: float = MIN_CLIP_S) -> np.ndarray:
    """Pulse wave (T,) from a (T, 3) RGB-mean trace (0..255) sampled at ``fs`` Hz: the inverted, mean-normalised green."""
    rgb, fs = prepare_rgb(rgb, fs, method="green", window_s=min_clip_s, positive=False, window_name="min_clip_s")
    g = rgb[:, 1]
    if (g < 0).any() or g.mean() <= 0:
        raise SignalError("green: the green trace must be raw colour means in 0..255 (>= 0, not all 0)")
    return -(g / g.mean() - 1.0)
