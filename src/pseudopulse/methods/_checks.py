"""Input checks shared by the methods: shapes, sampling rate, NaN gaps and minimum clip length.

Every method calls one of these first, so a bad trace fails the same way everywhere with a ``SignalError``
that names the method, the rule and the fix.
"""

from __future__ import annotations

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.signal import check_fs
from pseudopulse.stmap.types import MAX_FACE_GAP_S


def window_samples(window_s: float, fs: float, *, method: str, name: str = "window_s") -> int:
    """``window_s`` seconds -> a whole number of samples (>= 2) at ``fs`` Hz."""
    if not np.isfinite(window_s) or window_s <= 0:
        raise SignalError(f"{method}: {name} must be a positive number of seconds; got {window_s!r}")
    return max(2, int(np.ceil(window_s * fs - 1e-9)))


def fill_nan_gaps(x: np.ndarray, fs: float, *, method: str, max_gap_s: float = MAX_FACE_GAP_S) -> np.ndarray:
    """Linearly interpolate NaN/inf samples (rows with any non-finite value) over gaps up to ``max_gap_s``.

    ``x`` is (T, ...) with time on axis 0. Leading/trailing gaps are held at the nearest finite row.
    Raises SignalError when a gap is longer than ``max_gap_s`` seconds or nothing is finite.
    """
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    ok = np.isfinite(flat).all(axis=1)
    if ok.all():
        return flat.reshape(x.shape)
    if not ok.any():
        raise SignalError(f"{method}: every sample of the {len(x)}-sample trace is NaN; nothing to measure")
    bad = ~ok
    edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int((stops - starts).max())
    if longest / fs > max_gap_s:
        raise SignalError(
            f"{method}: trace has a gap of {longest} missing samples ({longest / fs:.2f} s at fs={fs:g} Hz); "
            f"gaps longer than {max_gap_s:g} s are not interpolated — cut the clip around the gap"
        )
    t = np.arange(len(x))
    good = np.flatnonzero(ok)
    out = np.empty_like(flat)
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(t, good, flat[good, j])
    return out.reshape(x.shape)


def check_length(n: int, fs: float, *, method: str, window_s: float, name: str = "window_s") -> None:
    """Refuse a clip shorter than one method window (``name`` = the method's parameter holding it)."""
    need = window_samples(window_s, fs, method=method, name=name)
    if n < need:
        raise SignalError(
            f"{method}: clip of {n} samples ({n / fs:.2f} s at fs={fs:g} Hz) is shorter than one method window "
            f"({name}={window_s:g} s = {need} samples); use a longer clip"
        )


def prepare_rgb(
    rgb: np.ndarray, fs: float, *, method: str, window_s: float, positive: bool = True, window_name: str = "window_s"
) -> tuple[np.ndarray, float]:
    """Validate a (T, 3) RGB-mean trace (0..255) sampled at ``fs`` Hz; returns (float64 copy with gaps filled, fs).

    ``positive`` requires raw colour: no negative value and every channel's mean > 0 (methods that divide by
    channel means; single 0 samples of a very dark channel are fine, windows guard their own means).
    """
    fs = check_fs(fs)
    rgb = np.asarray(rgb)
    if rgb.ndim != 2 or rgb.shape[1] != 3:
        raise SignalError(f"{method}: expected an RGB trace of shape (T, 3); got {rgb.shape}")
    rgb = fill_nan_gaps(rgb, fs, method=method)
    check_length(len(rgb), fs, method=method, window_s=window_s, name=window_name)
    if positive:
        if (rgb < 0).any():
            ch = "RGB"[int(np.argwhere(rgb < 0)[0, 1])]
            raise SignalError(
                f"{method}: channel {ch} of the RGB trace has negative values; the method divides by channel means "
                "and needs raw colour means in 0..255 (not zero-mean or normalised traces)"
            )
        if (rgb.mean(axis=0) <= 0).any():
            ch = "RGB"[int(np.argmin(rgb.mean(axis=0)))]
            raise SignalError(f"{method}: channel {ch} of the RGB trace is 0 throughout; the method divides by channel means")
    return rgb, fs


def prepare_corr(
    skin_corr: np.ndarray, fs: float, *, method: str, window_s: float, window_name: str = "window_s"
) -> tuple[np.ndarray, float]:
    """Validate a (T, 3, 3) per-frame skin correlation series sampled at ``fs`` Hz; returns (float64, symmetrised)."""
    fs = check_fs(fs)
    c = np.asarray(skin_corr)
    if c.ndim != 3 or c.shape[1:] != (3, 3):
        raise SignalError(f"{method}: expected skin correlation matrices of shape (T, 3, 3); got {c.shape}")
    c = fill_nan_gaps(c, fs, method=method)
    check_length(len(c), fs, method=method, window_s=window_s, name=window_name)
    c = c + np.swapaxes(c, 1, 2)
    c *= 0.5  # in place: a long series is held twice at most, not three times
    if (np.einsum("tii->t", c) <= 0).any():
        raise SignalError(
            f"{method}: some skin correlation matrices have a non-positive trace (no skin pixels?); "
            "expected VᵀV/N of skin pixels scaled to [0, 1]"
        )
    return c, fs


def safe_mean(win: np.ndarray) -> np.ndarray:
    """Per-window channel means of (W, L, C) windows, floored at 1e-6 so an all-zero (dark) channel window
    normalises to 0 instead of dividing by zero."""
    return np.maximum(win.mean(axis=1, keepdims=True), 1e-6)


def overlap_add(segments: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Sum (W, L) ``segments`` into a length-``n`` wave at sample offsets ``starts`` (W,)."""
    w, length = segments.shape
    idx = (starts[:, None] + np.arange(length)[None, :]).ravel()
    return np.bincount(idx, weights=segments.ravel(), minlength=n)[:n]


def sliding_windows(x: np.ndarray, length: int) -> np.ndarray:
    """All windows of ``length`` samples, step 1: (T, C) -> (T - length + 1, length, C) (a read-only view)."""
    return np.lib.stride_tricks.sliding_window_view(x, length, axis=0).swapaxes(1, 2)


def sliding_ola(x: np.ndarray, length: int, segment_fn, *, chunk: int = 2048) -> np.ndarray:
    """Overlap-add ``segment_fn`` over every window of ``length`` samples (step 1 sample).

    ``x`` is (T, C); ``segment_fn`` maps windows (W, length, C) -> segments (W, length). Windows are processed
    ``chunk`` at a time so memory stays bounded on long recordings. Returns the (T,) overlap-added wave.
    """
    n = len(x)
    win = sliding_windows(x, length)
    out = np.zeros(n)
    for a in range(0, len(win), chunk):
        seg = segment_fn(np.asarray(win[a : a + chunk], dtype=np.float64))
        out += overlap_add(seg, np.arange(a, a + len(seg)), n)
    return out
