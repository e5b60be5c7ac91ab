"""Inference: a trained STMap network as a method: ``load_predictor().apply(stmap) -> wave (T,)``.

The recording is resampled to the network's rate, cut into ``window_s`` windows with 50 % overlap, each window
is normalised (normalize.normalize_clip), predicted, z-scored and overlap-added with a Hann weight.
``uniform_wave`` reads it onto a uniform grid at the STMap's own rate, ``apply`` onto the STMap's timestamps (the same
contract as ``Method.uniform_wave`` / ``Method.apply``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pseudopulse.errors import ModelError, SignalError
from pseudopulse.model.file import load_model_file
from pseudopulse.model.normalize import normalize_clip, stmap_to_tensor, zscore
from pseudopulse.signal.filters import uniform_times

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
SHIPPED_WEIGHTS = WEIGHTS_DIR / "pseudopulse_stmap.pt"
MIN_SECONDS = 2.0


class ModelPredictor:
    """A trained ``STMapNet`` with its sampling rate ``fs`` (Hz) and window length ``window_s`` (s)."""

    name = "model"

    def __init__(self, net: torch.nn.Module, *, fs: float, window_s: float = 10.0, hop_frac: float = 0.5, info: dict | None = None):
        self.net = net.eval()
        self.fs = float(fs)
        self.window = int(round(window_s * self.fs))
        self.hop = max(1, int(round(self.window * hop_frac)))
        self.info = dict(info or {})

    def predict_values(self, values, *, batch: int = 16) -> np.ndarray:
        """Wave (T,) float64 for STMap values (T, R, 3) sampled at ``self.fs``: an array, or a ``ResampledValues``
        (anything with ``len()`` whose slices are such arrays). The windows are read and run ``batch`` at a time."""
        n = len(values)
        if n < MIN_SECONDS * self.fs:
            raise SignalError(f"recording of {n / self.fs:.1f} s is too short for the model (need >= {MIN_SECONDS:.0f} s)")
        w = min(self.window, n)
        starts = list(range(0, n - w + 1, self.hop))
        if starts[-1] != n - w:
            starts.append(n - w)
        weight = np.hanning(w + 2)[1:-1]
        acc = np.zeros(n)
        norm = np.zeros(n)
        with torch.inference_mode():
            for i in range(0, len(starts), batch):
                part = starts[i : i + batch]
                x = stmap_to_tensor(np.stack([np.asarray(values[s : s + w], dtype=np.float32) for s in part]))
                y = zscore(self.net(normalize_clip(x))).double().numpy()
                for s, seg in zip(part, y):
                    acc[s : s + w] += weight * seg
                    norm[s : s + w] += weight
        return acc / np.maximum(norm, 1e-12)

    def _at_model_rate(self, stmap) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (M,), wave (M,)) at the network's rate ``self.fs``: short face-loss gaps filled, the map read at that
        rate window by window (``STMap.resampled_values``; never held twice)."""
        if stmap.n_frames < 2:
            raise SignalError(f"model: STMap has {stmap.n_frames} frame(s); need a clip of several seconds")
        values = stmap.fill_gaps().resampled_values(self.fs)
        return values.timestamps_s, self.predict_values(values)

    def uniform_wave(self, stmap) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (N,), pulse wave (N,)) on a uniform grid at the STMap's mean frame rate (Hz): short face-loss gaps
        filled, the map resampled to the network's rate ``self.fs``, the wave read back onto the grid."""
        t_model, wave = self._at_model_rate(stmap)
        grid = uniform_times(stmap.timestamps_s, stmap.fs)  # filling gaps keeps the times (and so the rate)
        return grid, np.interp(grid, t_model, wave)

    def apply(self, stmap) -> np.ndarray:
        """Pulse wave (T,) at ``stmap.timestamps_s`` (short face-loss gaps filled; network run at ``self.fs``)."""
        t_model, wave = self._at_model_rate(stmap)
        return np.interp(stmap.timestamps_s, t_model, wave)

    __call__ = apply


def load_predictor(path: str | Path | None = None, *, threads: int | None = None) -> ModelPredictor:
    """The predictor of a model file (default: the weights shipped in ``pseudopulse/weights``)."""
    p = Path(path) if path is not None else SHIPPED_WEIGHTS
    if path is None and not p.is_file():
        raise ModelError(
            f"no shipped model weights at {p}; train one with `pseudopulse train --data DIR --out RUN` "
            "and pass --model RUN/model.pt (or adapt: `pseudopulse adapt VIDEOS... --out model.pt`)"
        )
    if threads is not None:
        torch.set_num_threads(int(threads))
    net, payload = load_model_file(p)
    return ModelPredictor(net, fs=payload["fs"], window_s=payload["clip_s"], info=payload.get("info", {}))
