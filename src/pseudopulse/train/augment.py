"""Views of an STMap clip for self-supervision: time shifts (positives) and time resampling (negatives); and a
training augmentation, brightness flicker, that the pulse must be read through.

Tensors are raw (un-normalised) STMap windows (B, C, R, W) holding more frames than the clip: the anchor clip
is ``raw[..., a : a + t]``. Each view is normalised by the caller after it is made.

Resampling semantics (the paper's ratio r = output frames / source frames):
- x_down, r < 1: ``speed = 1/r > 1`` source clip-lengths are squeezed into t frames -> HR multiplied by speed.
- x_up,   r > 1: ``t/r`` source frames are interpolated up to t frames -> HR divided by r.
"""

from __future__ import annotations

import math

import numpy as np
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


def flicker(
    raw: torch.Tensor,
    fs: float,
    rng: np.random.Generator,
    *,
    prob: float,
    hz: tuple[float, float],
    amp: tuple[float, float],
) -> torch.Tensor:
    """Raw windows (B, C, R, W) with, for each row independently with probability ``prob``, a colour-neutral
    brightness gain ``1 + a·sin(2π·f·t + φ)`` on every block and channel (f uniform in ``hz`` Hz, a uniform in
    ``amp`` as a fraction of the DC level). Lamps, screens and auto-exposure modulate brightness like this; a
    pulse reader must look through it (POS and CHROM project it out). The pseudo label is not changed."""
    b, w = raw.shape[0], raw.shape[-1]
    on = rng.random(b) < prob
    f = rng.uniform(*hz, b)
    a = np.where(on, rng.uniform(*amp, b), 0.0)
    phase = rng.uniform(0.0, 2 * np.pi, b)
    t = np.arange(w) / float(fs)
    gain = 1.0 + a[:, None] * np.sin(2 * np.pi * f[:, None] * t[None] + phase[:, None])
    return raw * torch.from_numpy(gain.astype(np.float32)).to(raw.dtype)[:, None, None, :]
