"""Registry of the training-free rPPG methods, looked up by name.

``Method.apply(stmap)`` is how the rest of the package runs a method on an STMap: it fills short face-loss gaps,
brings variable-frame-rate timestamps onto a uniform grid (and the wave back onto the original timestamps),
and feeds the method the input it reads (``skin_mean`` (T, 3) for rgb methods, ``skin_corr`` (T, 3, 3) for 2SR).
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

MAX_GAP_S = 1.0
VFR_TOLERANCE = 0.05  # relative deviation of frame intervals from the mean above which we resample


@dataclass(frozen=True)
class Method:
    name: str
    fn: Callable[..., np.ndarray]
    input: Literal["rgb", "skin_corr"]
    description: str
    paper: str

    def __call__(self, x: np.ndarray, *, fs: float, **kwargs) -> np.ndarray:
        return self.fn(x, fs=fs, **kwargs)

    def apply(self, stmap, **kwargs) -> np.ndarray:
        """Raw pulse wave (T,) at ``stmap.timestamps_s`` (rises with blood volume; band-pass before HR)."""
        if stmap.n_frames < 2:
            raise SignalError(f"{self.name}: STMap has {stmap.n_frames} frame(s); need a clip of several seconds")
        filled = stmap.fill_gaps(max_gap_s=MAX_GAP_S)
        ts = filled.timestamps_s
        if not np.all(np.diff(ts) > 0):
            raise SignalError(f"{self.name}: STMap timestamps must be strictly increasing")
        fs = filled.fs
        if filled.is_uniform(VFR_TOLERANCE):
            return self.fn(self._input(filled), fs=fs, **kwargs)
        uniform = filled.resample(fs)
        wave = self.fn(self._input(uniform), fs=fs, **kwargs)
        return np.interp(ts, uniform.timestamps_s, wave)

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


def get_method(name: str) -> Method:
    """The registered method called ``name`` (case-insensitive); ValueError listing the valid names otherwise."""
    key = str(name).strip().lower()
    if key == "ssr":
        key = "2sr"
    if key not in METHODS:
        raise ValueError(f"unknown rPPG method {name!r}; valid names: {', '.join(METHODS)}")
    return METHODS[key]
