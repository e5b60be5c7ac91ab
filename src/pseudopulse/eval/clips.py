"""Non-overlapping evaluation clips and the heart rate of each clip (predicted and ground truth).

The paper scores non-overlapping 10-s clips (5-s for V4V); a trailing remainder shorter than a clip is dropped.
Predicted HR and, for UBFC/PURE, GT HR both come from ``pseudopulse.signal.estimate_hr`` on the clip's samples
(the one post-processing routine); for VIPL-HR / V4V the GT HR is the mean of the dataset's HR over the clip.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.datasets.base import Clip
from pseudopulse.errors import SignalError
from pseudopulse.signal import DEFAULT_BAND_HZ, estimate_hr


def clip_bounds(n_samples: int, *, fs: float, clip_s: float, offset_s: float = 0.0) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` sample ranges of consecutive non-overlapping ``clip_s``-second clips of a uniform
    series of ``n_samples`` at ``fs`` Hz, the first starting ``offset_s`` seconds in."""
    if clip_s <= 0:
        raise SignalError(f"clip length must be > 0 s; got {clip_s}")
    if fs <= 0:
        raise SignalError(f"fs must be > 0 Hz; got {fs}")
    n = int(round(clip_s * fs))
    if n < 8:
        raise SignalError(f"a {clip_s}-s clip at {fs:.2f} Hz has {n} samples; need >= 8")
    start = int(round(max(0.0, offset_s) * fs))
    out = []
    while start + n <= n_samples:
        out.append((start, start + n))
        start += n
    return out


def cut_clips(
    recording: str, subject_id: str, t_s: np.ndarray, *, fs: float, clip_s: float, offset_s: float = 0.0, first: int = 0
) -> list[Clip]:
    """Clips over the uniform times ``t_s`` (s); indices are offset by ``first`` (position of ``t_s[0]`` in the
    recording's evaluation grid)."""
    dt = 1.0 / fs
    return [
        Clip(recording, subject_id, k, float(t_s[a]), float(t_s[b - 1] + dt), first + a, first + b)
        for k, (a, b) in enumerate(clip_bounds(len(t_s), fs=fs, clip_s=clip_s, offset_s=offset_s))
    ]


def true_clip_hr(
    *, ppg: np.ndarray | None, hr_bpm: np.ndarray | None, fs: float, source: str, band_hz=DEFAULT_BAND_HZ
) -> float:
    """GT HR (bpm) of one clip: ``source`` "ppg" -> PSD peak of the GT PPG via ``estimate_hr``; "hr" -> mean of
    the dataset's HR samples over the clip."""
    if source == "ppg":
        if ppg is None:
            raise SignalError("GT heart rate from PPG was requested but the recording has no PPG")
        return float(estimate_hr(ppg, fs, band_hz).hr_bpm)
    if source == "hr":
        if hr_bpm is None:
            raise SignalError("GT heart rate from dataset HR was requested but the recording has no HR values")
        return float(np.mean(hr_bpm))
    raise ValueError(f"GT HR source must be 'ppg' or 'hr'; got {source!r}")
