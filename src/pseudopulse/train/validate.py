"""Held-out monitoring: per-clip HR error of a network (and of the 2SR teacher) against ground truth.

Used only to *report* progress on recordings that are not trained on; the label-free trainer never uses
these numbers to choose anything.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from pseudopulse.errors import SignalError
from pseudopulse.signal import estimate_hr
from pseudopulse.train.data import TrainRecording


def clip_errors(
    recordings: Sequence[TrainRecording], wave_fn: Callable[[TrainRecording], np.ndarray], *, clip_s: float = 10.0
) -> np.ndarray:
    """Signed HR errors (bpm) over non-overlapping ``clip_s`` clips; ``wave_fn(rec) -> wave (T,)`` at rec.fs.
    Both waves go through ``estimate_hr``."""
    errs = []
    for rec in recordings:
        if rec.gt is None:
            raise ValueError(f"{rec.name}: validation recording without ground truth")
        wave = wave_fn(rec)
        n = int(round(clip_s * rec.fs))
        for s in range(0, rec.n_frames - n + 1, n):
            try:
                hr_p = estimate_hr(wave[s : s + n], rec.fs).hr_bpm
                hr_g = estimate_hr(rec.gt[s : s + n], rec.fs).hr_bpm
            except SignalError:
                continue
            errs.append(hr_p - hr_g)
    return np.asarray(errs, dtype=np.float64)


def model_errors(net: torch.nn.Module, recordings: Sequence[TrainRecording], *, fs: float, clip_s: float = 10.0) -> np.ndarray:
    """Per-clip signed HR errors of ``net`` (evaluated in eval mode, restored afterwards)."""
    from pseudopulse.model.predictor import ModelPredictor

    was_training = net.training
    pred = ModelPredictor(net, fs=fs, window_s=clip_s)
    try:
        return clip_errors(recordings, lambda r: pred.predict_values(r.values), clip_s=clip_s)
    finally:
        net.train(was_training)


def summarize(errors: np.ndarray) -> dict:
    """MAE, RMSE, Std (SD of signed errors) in bpm and the number of clips."""
    e = np.asarray(errors, dtype=np.float64)
    if e.size == 0:
        return {"mae_bpm": float("nan"), "rmse_bpm": float("nan"), "std_bpm": float("nan"), "n_clips": 0}
    return {"mae_bpm": float(np.mean(np.abs(e))), "rmse_bpm": float(np.sqrt(np.mean(e**2))),
            "std_bpm": float(np.std(e)), "n_clips": int(e.size)}  # fmt: skip
