"""Fixed (weight-free) input features the STMap network can add to its normalised RGB channels.

``pos_channel`` is POS's alpha-tuned projection (Wang et al. 2017) computed per ROI inside the graph: the chrominance
pair ``S0 = G − B`` and ``S1 = G + B − 2R`` of the normalised clip, each centred on its sliding ``window_s`` mean, and
``h = S0 + (σ(S0)/σ(S1))·S1`` with the two standard deviations taken over the same sliding window. The ratio of two
local deviations is a multiplicative interaction a small conv net does not learn from a few hundred clips; handing it
over lets the network spend its weights on choosing ROIs and shaping the wave. The clip is already divided by its
temporal mean (``normalize_clip``), so the local centring stands in for POS's per-window division (equal to first
order for the ~1 % colour variations of skin).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-6
FEATURES = ("rgb", "rgb+pos")
_PROJECTION = ((0.0, 1.0, -1.0), (-2.0, 1.0, 1.0))  # POS rows over (R, G, B)


def _sliding_mean(x: torch.Tensor, length: int) -> torch.Tensor:
    """Centred moving average of ``length`` frames along the last axis of (N, T), replicate-padded at the ends."""
    n, t = x.shape
    left = (length - 1) // 2
    padded = F.pad(x[:, None, :], (left, length - 1 - left), mode="replicate")
    return F.avg_pool1d(padded, kernel_size=length, stride=1)[:, 0, :t]


def pos_channel(x: torch.Tensor, fs: float, window_s: float = 1.6) -> torch.Tensor:
    """POS wave per ROI of a normalised clip ``x`` (B, 3, R, T) at ``fs`` Hz -> (B, 1, R, T), unit RMS per ROI.

    ``window_s`` is POS's window (s; the paper's 1.6). ROIs without signal (all zeros) stay zero."""
    b, c, r, t = x.shape
    if c != 3:
        raise ValueError(f"pos_channel needs the 3 colour channels; got {c}")
    length = max(2, min(t, int(round(window_s * fs))))
    proj = torch.tensor(_PROJECTION, dtype=x.dtype, device=x.device)
    s = torch.einsum("pc,bcrt->bprt", proj, x).reshape(b * 2 * r, t)
    centred = s - _sliding_mean(s, length)
    sd = _sliding_mean(centred.pow(2), length).clamp_min(0.0).sqrt().reshape(b, 2, r, t)
    centred = centred.reshape(b, 2, r, t)
    h = centred[:, 0] + sd[:, 0] / (sd[:, 1] + EPS) * centred[:, 1]
    h = h - h.mean(dim=-1, keepdim=True)
    rms = h.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return (h / (rms + EPS))[:, None]


def extra_channels(features: str) -> int:
    """Derived channels a feature set adds to the 3 colour channels."""
    if features not in FEATURES:
        raise ValueError(f"unknown input features {features!r}; valid: {', '.join(FEATURES)}")
    return 1 if features == "rgb+pos" else 0


def add_features(x: torch.Tensor, features: str, fs: float) -> torch.Tensor:
    """Normalised clip (B, 3, R, T) -> the network's input (B, 3 + extra_channels(features), R, T)."""
    if features == "rgb":
        return x
    return torch.cat([x, pos_channel(x, fs)], dim=1)
