"""Predictors: every way to turn an STMap into a pulse wave, looked up by name — the one registry of names.

A predictor is a training-free method (``pseudopulse.methods.METHODS``, aliases in ``METHOD_ALIASES``) or
``model``: a trained network read from a model file (the shipped weights when none is given). This module owns
the names, their aliases and the help text the CLI shows; ``resolve_predictor`` is the one way from a name (and an
optional model file) to a ``Predictor``, and ``Predictor`` applies the one set of output checks.

Contract: ``predictor.uniform_wave(stmap)`` -> ``(t_s (N,), wave (N,))`` on a uniform grid (for spectra and HR);
``predictor(stmap)`` -> wave (T,) at ``stmap.timestamps_s`` (for clips cut by frame time). Both are checked: one
sample per grid point or frame, all finite.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pseudopulse.errors import ModelError, SignalError
from pseudopulse.methods import METHOD_ALIASES, METHODS, get_method
from pseudopulse.signal import uniform_times

MODEL = "model"
MODEL_HELP = "the label-free STMap network (shipped weights, or a model file given with --model)"


@dataclass(frozen=True)
class Predictor:
    """A named wave source. ``at_frames(stmap)`` -> wave at the frame times; ``on_grid(stmap)`` -> (t_s, wave) on a
    uniform grid. ``per_clip``: its natural evaluation mode (the network runs on clips; the methods on the whole
    recording). ``kind``: "method" or "model"."""

    name: str
    at_frames: Callable
    on_grid: Callable | None = None  # None: the frame-time wave read onto a uniform grid at the STMap's rate
    per_clip: bool = False
    kind: str = "method"

    def __call__(self, stmap) -> np.ndarray:
        """Pulse wave (T,) at ``stmap.timestamps_s``, checked."""
        return self._checked(np.asarray(self.at_frames(stmap), dtype=np.float64), stmap.n_frames)

    def uniform_wave(self, stmap) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (N,), pulse wave (N,)) on a uniform grid, checked."""
        if self.on_grid is None:
            t = uniform_times(stmap.timestamps_s, stmap.fs)
            wave = np.interp(t, stmap.timestamps_s, self(stmap))
        else:
            t, wave = self.on_grid(stmap)
            t = np.asarray(t, dtype=np.float64)
        return t, self._checked(np.asarray(wave, dtype=np.float64), len(t))

    def _checked(self, wave: np.ndarray, n: int) -> np.ndarray:
        if wave.shape != (n,):
            raise ModelError(
                f"predictor {self.name!r} returned shape {wave.shape} where {n} samples were expected; "
                f"it must return one sample per frame, shape ({n},)"
            )
        if not np.all(np.isfinite(wave)):
            raise SignalError(f"predictor {self.name!r} returned {int((~np.isfinite(wave)).sum())} non-finite samples")
        return wave


def predictor_names() -> list[str]:
    """Every predictor name: the training-free methods, then ``model``."""
    return [*METHODS, MODEL]


def predictor_help() -> str:
    """One line for a ``--method`` option: every name, the default first."""
    aliases = ", ".join(f"{a} = {b}" for a, b in METHOD_ALIASES.items())
    return f"{MODEL} ({MODEL_HELP}), or a training-free method: {', '.join(METHODS)} ({aliases})."


def describe_predictors() -> list[tuple[str, str]]:
    """(name, one-line description with its paper) for every predictor."""
    return [(MODEL, MODEL_HELP)] + [(m.name, f"{m.description} ({m.paper})") for m in METHODS.values()]


def canonical_name(name: str) -> str:
    """The registered name for ``name`` (case, spaces and aliases resolved); ModelError listing the valid ones."""
    key = str(name).strip().lower()
    key = METHOD_ALIASES.get(key, key)
    if key != MODEL and key not in METHODS:
        raise ModelError(f"unknown method {name!r}; valid names: {', '.join(predictor_names())}")
    return key


@functools.lru_cache(maxsize=8)
def _resolve(key: str, model: str | None) -> Predictor:
    if key == MODEL:
        from pseudopulse.model import load_predictor

        net = load_predictor(Path(model) if model else None)
        return Predictor(MODEL, net.apply, net.uniform_wave, per_clip=True, kind="model")
    method = get_method(key)
    return Predictor(method.name, method.apply, method.uniform_wave, per_clip=False, kind="method")


def resolve_predictor(name: str, model: str | Path | None = None) -> Predictor:
    """The predictor called ``name``; for ``model``, the network in the model file ``model`` (default: shipped).

    Raises ModelError for an unknown name, a model file given with a training-free method, or a bad model file."""
    key = canonical_name(name)
    if model is not None and key != MODEL:
        raise ModelError(f"--model {model} was given with method {key!r}; a model file is read only by --method {MODEL}")
    return _resolve(key, None if model is None else str(model))
