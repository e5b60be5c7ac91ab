"""Views of an STMap clip for self-supervision: time shifts (positives) and time resampling (negatives).

Tensors are raw (un-normalised) STMap windows (B, C, R, W) holding more frames than the clip: the anchor clip
is ``raw[..., a : a + t]``. Each view is normalised by the caller after it is made.

Resampling semantics (the paper's ratio r = output frames / source frames):
- x_down, r < 1: ``speed = 1/r > 1`` source clip-lengths are squeezed into t frames -> HR multiplied by speed.
- x_up,   r > 1: ``t/r`` source frames are interpolated up to t frames -> HR divided by r.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def window_layout(t: int, *, shift_max: int, speed_max: float) -> tuple[int, int]:
    """(anchor offset a, total window length W) a raw window needs for shifts up to ±``shift_max`` frames and
    resampling reading up to ``speed_max``·t source frames from the anchor start."""
    a = int(shift_max)
    right = max(source_frames(t, speed_max), t + int(shift_max))
    return a, a + right


def source_frames(t: int, speed: float) -> int:
    """Number of source frames read to make a t-frame view at ``speed`` (rounded; >= 2)."""
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a positive number; got {speed}")
    return max(2, int(round(t * speed)))


def crop(raw: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """``raw[..., start : start + length]`` with a bounds check."""
    if start < 0 or start + length > raw.shape[-1]:
        raise ValueError(f"crop [{start}, {start + length}) is outside the {raw.shape[-1]}-frame window")
    return raw[..., start : start + length]


def shifted_view(raw: torch.Tensor, a: int, t: int, shift: int, *, reverse: bool = False) -> torch.Tensor:
    """Positive: the t-frame window starting ``shift`` frames after the anchor (time-reversed if ``reverse``)."""
    v = crop(raw, a + int(shift), t)
    return torch.flip(v, dims=[-1]) if reverse else v


def resampled_view(raw: torch.Tensor, a: int, t: int, speed: float) -> tuple[torch.Tensor, float]:
    """Negative: ``source_frames(t, speed)`` frames from the anchor start linearly resampled to t frames.

    Returns (view (B, C, R, t), effective speed = source frames / t; the view's HR = anchor HR × speed).
    """
    n_src = source_frames(t, speed)
    seg = crop(raw, a, n_src)
    lead = seg.shape[:-1]
    out = F.interpolate(seg.reshape(1, -1, n_src).float(), size=t, mode="linear", align_corners=False)
    return out.reshape(*lead, t), n_src / t
