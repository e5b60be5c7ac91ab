"""Predictors: anything that turns an STMap into a pulse wave at its timestamps, looked up by name.

``resolve_predictor("pos")`` -> a training-free method from ``pseudopulse.methods.METHODS``;
``resolve_predictor("model", checkpoint=PATH)`` -> ``pseudopulse.model.load_predictor(PATH)`` (a trained network;
the shipped weights when PATH is None). Any callable ``stmap -> wave (T,)`` can be wrapped with ``Predictor``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.errors import ModelError, SignalError

MODEL_NAMES = ("model",)


@dataclass(frozen=True)
class Predictor:
    """``fn(stmap) -> wave (T,)`` at ``stmap.timestamps_s``. ``per_clip``: the predictor's natural mode (the
    network runs on clips; the training-free methods on the whole recording). ``kind``: "method" or "model"."""

    name: str
    fn: Callable
    per_clip: bool = False
    kind: str = "method"

    def __call__(self, stmap) -> np.ndarray:
        wave = np.asarray(self.fn(stmap), dtype=np.float64)
        if wave.shape != (stmap.n_frames,):
            raise ModelError(
                f"predictor {self.name!r} returned shape {wave.shape} for an STMap of {stmap.n_frames} frames; "
                f"it must return one sample per frame, shape ({stmap.n_frames},)"
            )
        if not np.all(np.isfinite(wave)):
            raise SignalError(f"predictor {self.name!r} returned {int((~np.isfinite(wave)).sum())} non-finite samples")
        return wave


def predictor_names() -> list[str]:
    from pseudopulse.methods import METHODS

    return [*METHODS, *MODEL_NAMES]


@functools.lru_cache(maxsize=8)
def resolve_predictor(name: str, checkpoint: str | None = None) -> Predictor:
    """The predictor called ``name``: a training-free method (``pseudopulse.methods``) or ``model``."""
    key = str(name).strip().lower()
    if key in MODEL_NAMES:
        from pseudopulse.model import load_predictor

        model = load_predictor(Path(checkpoint) if checkpoint else None)
        return Predictor("model", model.apply, per_clip=True, kind="model")
    from pseudopulse.methods import get_method

    try:
        method = get_method(key)
    except ValueError as e:
        raise ModelError(f"{e}; or 'model' for a trained network (--checkpoint PATH)") from None
    return Predictor(method.name, method.apply, per_clip=False, kind="method")
