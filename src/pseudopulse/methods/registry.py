"""Registry of the training-free rPPG methods, looked up by name.

``Method.uniform_wave(stmap)`` is how the rest of the package runs a method on an STMap: it fills short face-loss
gaps, feeds the method the input it reads (``skin_mean`` (T, 3) for rgb methods, ``skin_corr`` (T, 3, 3) for 2SR)
and returns the wave on a uniform time grid at the STMap's mean rate (variable-frame-rate maps are resampled
first). ``Method.apply(stmap)`` gives the same wave at the STMap's own timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.methods.chrom import chrom
from pseudopulse.methods.green import green
from pseudopulse.methods.ica import ica
from pseudopulse.methods.lgi import lgi
from pseudopulse.methods.pbv import pbv
from pseudopulse.methods.pos import pos
from pseudopulse.methods.ssr import ssr
from pseudopulse.signal.filters import uniform_times


@dataclass(frozen=True)
class Method:
    name: str
    fn: Callable[..., np.ndarray]
    input: Literal["rgb", "skin_corr"]
    description: str
    paper: str

    def __call__(self, x: np.ndarray, *, fs: float, **kwargs) -> np.ndarray:
        return self.fn(x, fs=fs, **kwargs)

    def uniform_wave(self, stmap, **kwargs) -> tuple[np.ndarray, np.ndarray]:
        """(t_s (N,), raw pulse wave (N,)) on a uniform grid at ``stmap.fs`` Hz (rises with blood volume; band-pass
        before HR)."""
        t, wave, fs, own_frames = self._run(stmap, **kwargs)
        if not own_frames:  # already on the uniform grid
            return t, wave
        grid = uniform_times(t, fs)
        return grid, np.interp(grid, t, wave)

    def apply(self, stmap, **kwargs) -> np.ndarray:
        """Raw pulse wave (T,) at ``stmap.timestamps_s``."""
        t, wave, _, own_frames = self._run(stmap, **kwargs)
        return wave if own_frames else np.interp(stmap.timestamps_s, t, wave)

    def _run(self, stmap, **kwargs) -> tuple[np.ndarray, np.ndarray, float, bool]:
        """(times the method ran at (s), its wave, the rate (Hz), whether those are the STMap's own frames). Short face-loss gaps
        are filled; a map whose frame intervals vary by more than ``UNIFORM_TOLERANCE`` is resampled first."""
        if stmap.n_frames < 2:
            raise SignalError(f"{self.name}: STMap has {stmap.n_frames} frame(s); need a clip of several seconds")
        filled = stmap.fill_gaps()
        if not np.all(np.diff(filled.timestamps_s) > 0):
            raise SignalError(f"{self.name}: STMap timestamps must be strictly increasing")
        fs = filled.fs
        if filled.is_uniform():
            return filled.timestamps_s, self.fn(self._input(filled), fs=fs, **kwargs), fs, True
        uniform = filled.resample(fs)
        return uniform.timestamps_s, self.fn(self._input(uniform), fs=fs, **kwargs), fs, False

    def _input(self, stmap) -> np.ndarray:
        return np.asarray(stmap.skin_corr if self.input == "skin_corr" else stmap.skin_mean, dtype=np.float64)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("green", green, "rgb", "inverted green-channel trace", "Verkruysse et al., Opt. Express 2008"),
        Method("ica", ica, "rgb", "FastICA of detrended RGB, source with the strongest in-band peak", "Poh et al., Opt. Express 2010"),
        Method("chrom", chrom, "rgb", "chrominance X − αY, 1.6-s Hann windows, in-window band-pass", "de Haan & Jeanne, IEEE TBME 2013"),
        Method("pos", pos, "rgb", "plane orthogonal to skin, 1.6-s windows overlap-added", "Wang et al., IEEE TBME 2017"),
        Method("pbv", pbv, "rgb", "blood-volume-pulse signature projection, 1.6-s windows", "de Haan & van Leest, Physiol. Meas. 2014"),
        Method("lgi", lgi, "rgb", "local group invariance: project out the SVD skin axis, 1.6-s windows", "Pilz et al., CVPR-W 2018"),
        Method("2sr", ssr, "skin_corr", "spatial subspace rotation of skin-pixel correlation, 1-s stride", "Wang et al., IEEE TBME 2016"),
    )
}


METHOD_ALIASES: dict[str, str] = {"ssr": "2sr"}


def get_method(name: str) -> Method:
    """The registered method called ``name`` (case-insensitive, aliases allowed); ValueError listing the valid names
    otherwise."""
    key = str(name).strip().lower()
    key = METHOD_ALIASES.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown rPPG method {name!r}; valid names: {', '.join(METHODS)}")
    return METHODS[key]
