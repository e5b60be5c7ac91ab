"""PBV — blood-volume-pulse signature method (de Haan & van Leest, Physiol. Meas. 2014).

For every window of ``ceil(window_s * fs)`` frames (step one frame, overlap-added like POS): normalise each
channel by its window mean, ``Cn`` (3×l, zero-mean), ``Q = Cn Cnᵀ``, ``W = Q⁻¹ Pbv``,
``S = Cnᵀ W / (Pbvᵀ W)`` — the minimum-energy projection with unit gain along the pulse signature ``Pbv``.
``signature`` = the normalised blood-volume-pulse vector (R, G, B); ``None`` estimates it per window from the
channel standard deviations (the rPPG-Toolbox / pyVHR shortcut).

Polarity: colour falls along ``Pbv`` as blood volume rises, so ``S`` falls; the wave returned is ``−S``.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.methods._checks import prepare_rgb, safe_mean, sliding_ola, window_samples

PBV_SIGNATURE = (0.33, 0.77, 0.53)  # de Haan & Jeanne 2013 / de Haan & van Leest 2014, standardised skin


def _make_segments(signature):
    def segments(win: np.ndarray) -> np.ndarray:
        cn = win / safe_mean(win) - 1.0  # (W, l, 3)
        if signature is None:
            sd = cn.std(axis=1)
            pbv = sd / (np.linalg.norm(sd, axis=1, keepdims=True) + 1e-12)
        else:
            sig = np.asarray(signature, dtype=np.float64)
            pbv = np.broadcast_to(sig / np.linalg.norm(sig), (len(win), 3))
        q = np.einsum("wlc,wld->wcd", cn, cn)
        q += np.eye(3)[None] * (1e-9 * np.einsum("wii->w", q)[:, None, None] + 1e-15)
        w = np.linalg.solve(q, pbv[..., None])[..., 0]  # (W, 3)
        s = np.einsum("wlc,wc->wl", cn, w) / (np.einsum("wc,wc->w", pbv, w)[:, None] + 1e-15)
        return s - s.mean(axis=1, keepdims=True)

    return segments


def pbv(rgb: np.ndarray, *, fs: float, window_s: float = 1.6, signature: tuple[float, float, float] | None = PBV_SIGNATURE) -> np.ndarray:
    """Pulse wave (T,) from a (T, 3) RGB-mean trace (0..255) at ``fs`` Hz; ``window_s`` (s); ``signature`` (R, G, B)."""
    rgb, fs = prepare_rgb(rgb, fs, method="pbv", window_s=window_s)
    length = window_samples(window_s, fs, method="pbv")
    return -sliding_ola(rgb, length, _make_segments(signature))
