"""The STMap: the one intermediate every method and model reads.

Shape contract (written once, here):
- ``values``      (T, R, 3) float32 — mean colour of each of R ROI blocks per frame, 0..255 scale,
                   channel order RGB (or YUV when ``colorspace == "yuv"``). NaN where the face was lost. For a
                   long recording, a read-only array mapped from a temporary file (``stmap.spill``): read it a
                   slice of frames at a time (``resampled_values``, ``roi_values``) to keep memory flat.
- ``timestamps_s`` (T,) float64   — presentation time of each frame in seconds, strictly increasing.
- ``skin_mean``   (T, 3) float32  — mean RGB (0..255) over all skin pixels of the frame (the trace GREEN,
                   POS, CHROM, ... read).
- ``skin_corr``   (T, 3, 3) float32 — correlation matrix VᵀV/N of the frame's skin pixels, V (N, 3) RGB
                   scaled to [0, 1] (what 2SR reads).
- ``skin_count``  (T,) int32       — N, the number of skin pixels behind ``skin_mean``/``skin_corr``.
- ``valid``       (T,) bool        — a face (or the full-frame ROI) was available for this frame.
Time is always axis 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from pseudopulse.errors import SignalError
from pseudopulse.signal.filters import uniform_times
from pseudopulse.stmap.spill import release, row_blocks

MAX_FACE_GAP_S = 1.0  # longest stretch without a face (s) that is bridged by interpolation; longer is refused
UNIFORM_TOLERANCE = 0.05  # frame intervals within this relative deviation of 1/fs count as a uniform rate


@dataclass(frozen=True)
class STMap:
    values: np.ndarray
    timestamps_s: np.ndarray
    skin_mean: np.ndarray
    skin_corr: np.ndarray
    skin_count: np.ndarray
    valid: np.ndarray
    grid: tuple[int, int] = (5, 5)
    colorspace: str = "rgb"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        t = len(self.timestamps_s)
        for name, arr, tail in (
            ("values", self.values, None),
            ("skin_mean", self.skin_mean, (3,)),
            ("skin_corr", self.skin_corr, (3, 3)),
            ("skin_count", self.skin_count, ()),
            ("valid", self.valid, ()),
        ):
            if arr.shape[0] != t or (tail is not None and arr.shape[1:] != tail):
                raise ValueError(f"STMap.{name} has shape {arr.shape}; expected ({t}, ...) matching timestamps_s")
        if self.values.ndim != 3 or self.values.shape[2] != 3:
            raise ValueError(f"STMap.values must be (T, R, 3); got {self.values.shape}")

    # ------------------------------------------------------------------ basic facts
    @property
    def n_frames(self) -> int:
        return int(len(self.timestamps_s))

    @property
    def n_rois(self) -> int:
        return int(self.values.shape[1])

    @property
    def duration_s(self) -> float:
        if self.n_frames < 2:
            return 0.0
        ts = self.timestamps_s
        return float((ts[-1] - ts[0]) * self.n_frames / (self.n_frames - 1))

    @property
    def fs(self) -> float | None:
        """Mean frame rate in Hz, (T − 1) / (t_last − t_first); None with < 2 frames.

        The mean, not the median interval: timestamps logged with ms resolution (UBFC) make every interval
        33 or 34 ms, and a median of 33 ms would read 30 fps as 30.3 fps (and every heart rate 1 % high)."""
        if self.n_frames < 2:
            return None
        ts = self.timestamps_s
        span, n = float(ts[-1] - ts[0]), self.n_frames - 1
        for a, _ in self.time_gaps_s():  # gaps the reader found (frames missing): not part of the frame rate
            j = min(int(np.searchsorted(ts, a - 1e-3)), len(ts) - 2)  # the interval that starts at the gap
            span -= float(ts[j + 1] - ts[j])
            n -= 1
        if n < 1 or span <= 0:
            span, n = float(ts[-1] - ts[0]), self.n_frames - 1
        return float(n / span)

    def time_gaps_s(self) -> list[tuple[float, float]]:
        """[(before_s, after_s)] of the time gaps (missing frames) found when the video was read, inside this map's
        time range; empty when the map was not read from a stream (``meta["read_loss"]``)."""
        loss = self.meta.get("read_loss") if isinstance(self.meta, dict) else None
        if not isinstance(loss, dict) or not self.n_frames:
            return []
        lo, hi = float(self.timestamps_s[0]), float(self.timestamps_s[-1])
        return [(float(a), float(b)) for a, b in loss.get("gaps_s") or [] if a >= lo - 1e-6 and b <= hi + 1e-6]

    def is_uniform(self, tolerance: float = UNIFORM_TOLERANCE) -> bool:
        """True when every frame interval is within ``tolerance`` (relative) of the mean interval 1/fs.

        Uniform maps are used at ``fs`` as they are; others (variable frame rate, capture gaps) are resampled."""
        if self.n_frames < 2:
            return False
        dt = np.diff(self.timestamps_s)
        mean = 1.0 / self.fs
        return bool(np.all(dt > 0) and np.max(np.abs(dt - mean)) <= tolerance * mean)

    @property
    def lost_s(self) -> float:
        """Seconds of video in which no face was available."""
        if self.n_frames == 0:
            return 0.0
        return float((~self.valid).sum() / (self.fs or 1.0))

    # ------------------------------------------------------------------ transforms
    def slice(self, start: int, stop: int) -> "STMap":
        """Frames [start, stop) as a new STMap."""
        sl = np.s_[start:stop]
        return dataclasses.replace(
            self,
            values=self.values[sl],
            timestamps_s=self.timestamps_s[sl],
            skin_mean=self.skin_mean[sl],
            skin_corr=self.skin_corr[sl],
            skin_count=self.skin_count[sl],
            valid=self.valid[sl],
        )

    def fill_gaps(self, max_gap_s: float = MAX_FACE_GAP_S) -> "STMap":
        """Linearly interpolate frames with ``valid == False`` over gaps up to ``max_gap_s`` seconds.

        Leading/trailing gaps are held at the nearest valid value. Raises SignalError when a gap is longer
        than ``max_gap_s`` or no frame is valid.
        """
        valid = self.valid & np.isfinite(self.skin_mean).all(axis=1)
        source = f"{self.meta.get('source')}: " if isinstance(self.meta, dict) and self.meta.get("source") else ""
        gaps = self.time_gaps_s()
        if gaps:
            a, b = max(gaps, key=lambda g: g[1] - g[0])
            if b - a > max_gap_s:
                raise SignalError(
                    f"{source}{b - a:.1f} s of video missing between {a:.2f} s and {b:.2f} s (frames lost or a "
                    f"timestamp jump; longest gap bridged {max_gap_s:.1f} s); cut the clip around it or repair the file"
                )
        if valid.all():
            return self
        if not valid.any():
            raise SignalError(f"{source}no frame has a face: nothing to measure (try --roi full-frame for skin crops)")
        ts = self.timestamps_s
        longest, run_start = 0.0, None
        for i, ok in enumerate(np.append(valid, True)):
            if not ok and run_start is None:
                run_start = i
            elif ok and run_start is not None:
                lo = ts[run_start - 1] if run_start > 0 else ts[0]
                hi = ts[i] if i < len(ts) else ts[-1]
                longest = max(longest, hi - lo)
                run_start = None
        if longest > max_gap_s:
            raise SignalError(
                f"{source}face lost for {longest:.1f} s in one stretch (longest allowed gap {max_gap_s:.1f} s); "
                "cut the clip around it or raise max_gap_s"
            )
        good = np.flatnonzero(valid)

        def interp(a):
            flat = a.reshape(len(a), -1)
            out = np.empty_like(flat)
            for j in range(flat.shape[1]):
                out[:, j] = np.interp(ts, ts[good], flat[good, j].astype(np.float64))
            return out.reshape(a.shape)

        return dataclasses.replace(
            self,
            values=interp(self.values),
            skin_mean=interp(self.skin_mean),
            skin_corr=interp(self.skin_corr),
            skin_count=np.where(valid, self.skin_count, 0).astype(np.int32),
            valid=np.ones_like(self.valid),
        )

    def resample(self, fs: float) -> "STMap":
        """Resample every series onto a uniform time grid at ``fs`` Hz (linear interpolation in time).

        Use for variable-frame-rate video and to bring datasets to a common rate. Gaps must be filled first.
        """
        if fs <= 0:
            raise ValueError(f"fs must be > 0 Hz; got {fs}")
        ts = self.timestamps_s
        if len(ts) < 2:
            raise SignalError(f"cannot resample an STMap of {len(ts)} frame(s)")
        new_ts = uniform_times(ts, fs)
        at = np.clip(new_ts, ts[0], ts[-1])  # the grid's last point may round past the last frame

        def interp(a):
            return _interp_rows(a, ts, at)

        idx = np.clip(np.searchsorted(ts, new_ts), 0, len(ts) - 1)
        return dataclasses.replace(
            self,
            values=interp(self.values),
            timestamps_s=new_ts,
            skin_mean=interp(self.skin_mean),
            skin_corr=interp(self.skin_corr),
            skin_count=self.skin_count[idx],
            valid=self.valid[idx],
            meta={**self.meta, "resampled_fs": fs},
        )

    def resampled_values(self, fs: float) -> "ResampledValues":
        """``resample(fs).values`` read lazily, a slice of frames at a time (for a long map: not held twice)."""
        if fs <= 0:
            raise ValueError(f"fs must be > 0 Hz; got {fs}")
        if self.n_frames < 2:
            raise SignalError(f"cannot resample an STMap of {self.n_frames} frame(s)")
        return ResampledValues(self.values, self.timestamps_s, uniform_times(self.timestamps_s, fs))

    def roi_values(self, r: int, block: int = 8192) -> np.ndarray:
        """(T, 3) float64 colour of ROI block ``r`` in every frame (``values[:, r]``), read ``block`` frames at a time
        (a map spilled to a file is not brought into memory whole: its pages are released after each slice)."""
        out = np.empty((self.n_frames, 3), dtype=np.float64)
        a = 0
        for rows in row_blocks(self.values, block):  # run to its end: the last slice's pages are released too
            out[a : a + len(rows)] = rows[:, r]
            a += len(rows)
        return out

    # ------------------------------------------------------------------ persistence
    def to_npz_dict(self) -> dict:
        return {
            "values": self.values,
            "timestamps_s": self.timestamps_s,
            "skin_mean": self.skin_mean,
            "skin_corr": self.skin_corr,
            "skin_count": self.skin_count,
            "valid": self.valid,
            "grid": np.asarray(self.grid, dtype=np.int32),
            "colorspace": np.asarray(self.colorspace),
        }

    @classmethod
    def from_npz_dict(cls, d) -> "STMap":
        return cls(
            values=np.asarray(d["values"]),
            timestamps_s=np.asarray(d["timestamps_s"]),
            skin_mean=np.asarray(d["skin_mean"]),
            skin_corr=np.asarray(d["skin_corr"]),
            skin_count=np.asarray(d["skin_count"]),
            valid=np.asarray(d["valid"]).astype(bool),
            grid=tuple(int(g) for g in np.asarray(d["grid"])),
            colorspace=str(np.asarray(d["colorspace"])),
        )


def _interp_rows(a: np.ndarray, ts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``a`` (T, ...) sampled at ``ts`` (T,) s, linearly interpolated at ``at`` (N,) s (increasing, inside ``ts``)
    -> (N, ...) in ``a``'s dtype: column by column in float64 from only the rows around ``at`` (no float64 copy of
    the whole map; ``np.interp`` gives the same numbers on those rows as on all of them)."""
    i0 = max(int(np.searchsorted(ts, at[0], side="right")) - 1, 0)
    i1 = min(int(np.searchsorted(ts, at[-1], side="right")) + 1, len(ts))
    xp, flat = ts[i0:i1], a[i0:i1].reshape(i1 - i0, -1)
    out = np.empty((len(at), flat.shape[1]), dtype=a.dtype)
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(at, xp, flat[:, j].astype(np.float64))
    release(a)  # a map spilled to a file: hand back the pages just read
    return out.reshape((len(at),) + a.shape[1:])


class ResampledValues:
    """STMap values (T, R, 3) read at the uniform times ``timestamps_s`` (N,) s on demand: ``len()`` is N and a
    slice ``[a:b]`` is the (b - a, R, 3) array ``STMap.resample`` would hold there (``STMap.resampled_values``)."""

    def __init__(self, values: np.ndarray, ts: np.ndarray, new_ts: np.ndarray):
        self._values, self._ts, self.timestamps_s = values, ts, new_ts
        self._at = np.clip(new_ts, ts[0], ts[-1])  # the grid's last point may round past the last frame

    def __len__(self) -> int:
        return len(self.timestamps_s)

    def __getitem__(self, sl: slice) -> np.ndarray:
        at = self._at[sl]
        return _interp_rows(self._values, self._ts, at) if len(at) else self._values[:0]
