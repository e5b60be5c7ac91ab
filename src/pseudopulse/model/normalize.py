"""Input and output normalisation for the STMap network.

Choice (docs/design.md, "Input normalisation"): temporal normalisation per ROI and channel, x / mean_t(x) − 1 (the AC/DC ratio POS and
CHROM start from), then one scale per ROI shared by its three channels (the std over channels and time). Unlike a
per-channel z-score or min–max (NEST/RhythmNet), this keeps the *relative* pulse amplitude of R, G and B — the
blood-volume signature the network must project onto — and it is not dominated by one outlier frame the way
min–max is. Non-finite samples (face lost) become 0 after normalisation.
"""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-6


def normalize_clip(x: torch.Tensor) -> torch.Tensor:
    """Normalise a raw STMap clip ``x`` (B, C, R, T) (0..255 colour means) -> same shape, float32:
    x / mean_t − 1 per ROI and channel, divided by the ROI's std over channels and time."""
    x = torch.nan_to_num(x.float(), nan=0.0, posinf=0.0, neginf=0.0)
    mean = x.mean(dim=-1, keepdim=True)
    ac = torch.where(mean.abs() > EPS, x / mean.clamp_min(EPS) - 1.0, torch.zeros_like(x))
    ac = ac - ac.mean(dim=-1, keepdim=True)
    scale = ac.pow(2).mean(dim=(1, 3), keepdim=True).sqrt()
    return ac / (scale + EPS)


def zscore(y: torch.Tensor) -> torch.Tensor:
    """Zero-mean, unit-std along the last axis (waves (B, T) before MSE)."""
    y = y - y.mean(dim=-1, keepdim=True)
    return y / (y.std(dim=-1, keepdim=True, unbiased=False) + EPS)


def stmap_to_tensor(values: np.ndarray) -> torch.Tensor:
    """STMap values (T, R, 3) or a batch (B, T, R, 3) -> network layout (B, 3, R, T) float32 (not normalised)."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim == 3:
        v = v[None]
    if v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(f"STMap values must be (T, R, 3) or (B, T, R, 3); got shape {v.shape}")
    return torch.from_numpy(np.ascontiguousarray(v.transpose(0, 3, 2, 1)))
