"""2SR — Spatial Subspace Rotation (Wang, Stuijk & de Haan, IEEE TBME 63(9) 2016, Algorithm 1).

Input: per-frame skin correlation matrices ``C_k = V_kᵀ V_k / N_k`` (T, 3, 3), V_k the frame's N_k skin pixels
as RGB in [0, 1] (not mean-centred). For each frame: eigen-decomposition, eigenvalues sorted descending
(λ1 ≥ λ2 ≥ λ3), eigenvectors u1, u2, u3, with u1 signed to have a positive component sum (the Perron vector of
a positive-pixel correlation matrix; fixes the per-frame sign ambiguity — u2/u3 signs cancel in the
back-projection). With stride ``l = round(stride_s · fs)`` frames, for every window of l frames ``[τ, τ + l)``
(the paper's k ≥ l, τ = k − l + 1 in 1-based indexing; every window, step one frame):

    SR'_t  = [ sqrt(λ1(t)/λ2(τ)) · u1(t)ᵀu2(τ),  sqrt(λ1(t)/λ3(τ)) · u1(t)ᵀu3(τ) ]   (scale ∘ rotation)
    SR''_t = SR'_t[0] · u2(τ)ᵀ + SR'_t[1] · u3(τ)ᵀ                                   (back-projection, 3-vector)
    σ1, σ2 = rows 0, 1 of the 3×l matrix [SR''_τ … SR''_{τ+l−1}]
    p = σ1 − (std σ1 / std σ2) · σ2 ;  p −= mean(p) ;  P[τ : τ + l] += p                (overlap-add)

No filter inside. ``ssr`` is the vectorised implementation; ``ssr_reference`` is the same algorithm written with
explicit per-frame loops straight from the paper, kept to test ``ssr`` against.

Polarity: with skin whose red reflectance is highest and whose pulse is strongest in green (every skin tone),
P rises with blood volume as published — returned as is (PPG polarity, like every method in this package).
"""

from __future__ import annotations

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.methods._checks import overlap_add, prepare_corr

EPS = 1e-9  # guards λ2, λ3 and std(σ2) against division by ~0 (few or saturated skin pixels)


def _eig_desc(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched eigen-decomposition of symmetric (T, 3, 3): eigenvalues (T, 3) descending (clipped at 0),
    eigenvectors (T, 3, 3) as columns, u1 signed to have a positive component sum."""
    lam, u = np.linalg.eigh(c)
    lam = np.ascontiguousarray(np.clip(lam[:, ::-1], 0.0, None))
    u = np.ascontiguousarray(u[:, :, ::-1])
    flip = np.where(u[:, :, 0].sum(axis=1) < 0, -1.0, 1.0)
    u[:, :, 0] *= flip[:, None]
    return lam, u


def _stride(stride_s: float, fs: float) -> int:
    if not np.isfinite(stride_s) or stride_s <= 0:
        raise SignalError(f"2sr: stride_s must be a positive number of seconds; got {stride_s!r}")
    length = int(round(stride_s * fs))
    if length < 2:
        raise SignalError(f"2sr: stride_s={stride_s:g} s at fs={fs:g} Hz is {length} frame(s); it needs >= 2")
    return length


def ssr(skin_corr: np.ndarray, *, fs: float, stride_s: float = 1.0, chunk: int = 2048) -> np.ndarray:
    """Pulse wave (T,) from per-frame skin correlation matrices (T, 3, 3) at ``fs`` Hz; stride ``stride_s`` (s).
    ``chunk`` windows (and the eigen-decompositions of their frames) at a time: memory only, same numbers."""
    c, fs = prepare_corr(skin_corr, fs, method="2sr", window_s=stride_s, window_name="stride_s")
    length = _stride(stride_s, fs)
    n = len(c)
    out = np.zeros(n)
    offsets = np.arange(length)
    for a in range(0, n - length + 1, chunk):
        tau = np.arange(0, min(chunk, n - length + 1 - a))  # window starts = reference frames, from frame a
        lam, u = _eig_desc(c[a : a + len(tau) + length - 1])  # the frames of this chunk's windows only
        t = tau[:, None] + offsets[None, :]  # (W, l) frames of each window
        u1t = u[t, :, 0]  # (W, l, 3)
        u2r, u3r = u[tau, :, 1], u[tau, :, 2]  # (W, 3)
        sr2 = np.sqrt(lam[t, 0] / (lam[tau, 1] + EPS)[:, None]) * np.einsum("wlc,wc->wl", u1t, u2r)
        sr3 = np.sqrt(lam[t, 0] / (lam[tau, 2] + EPS)[:, None]) * np.einsum("wlc,wc->wl", u1t, u3r)
        sigma1 = sr2 * u2r[:, None, 0] + sr3 * u3r[:, None, 0]  # row 0 of SR'' (W, l)
        sigma2 = sr2 * u2r[:, None, 1] + sr3 * u3r[:, None, 1]  # row 1 of SR''
        p = sigma1 - (sigma1.std(axis=1) / (sigma2.std(axis=1) + EPS))[:, None] * sigma2
        p -= p.mean(axis=1, keepdims=True)
        out += overlap_add(p, a + tau, n)
    return out


def ssr_reference(skin_corr: np.ndarray, *, fs: float, stride_s: float = 1.0) -> np.ndarray:
    """Slow reference 2SR: the paper's Algorithm 1 with explicit loops over frames (for testing ``ssr``)."""
    c, fs = prepare_corr(skin_corr, fs, method="2sr", window_s=stride_s, window_name="stride_s")
    length = _stride(stride_s, fs)
    n = len(c)
    lams, us = np.zeros((n, 3)), np.zeros((n, 3, 3))
    out = np.zeros(n)
    for k in range(n):
        # eigen-decomposition of frame k, sorted descending, u1 with positive sum
        w, v = np.linalg.eigh(c[k])
        order = np.argsort(w)[::-1]
        w, v = np.maximum(w[order], 0.0), v[:, order]
        if v[:, 0].sum() < 0:
            v[:, 0] = -v[:, 0]
        lams[k], us[k] = w, v
        if k + 1 >= length:  # the paper's k >= l (1-based)
            tau = k - length + 1
            sr = np.zeros((3, length))
            for j, ti in enumerate(range(tau, k + 1)):
                rot = np.array([us[ti][:, 0] @ us[tau][:, 1], us[ti][:, 0] @ us[tau][:, 2]])
                scale = np.array([np.sqrt(lams[ti][0] / (lams[tau][1] + EPS)), np.sqrt(lams[ti][0] / (lams[tau][2] + EPS))])
                srp = scale * rot
                sr[:, j] = srp[0] * us[tau][:, 1] + srp[1] * us[tau][:, 2]
            s1, s2 = sr[0], sr[1]
            p = s1 - (np.std(s1) / (np.std(s2) + EPS)) * s2
            out[tau : k + 1] += p - np.mean(p)
    return out
